//! Reader tests on hand-built streams: the old encodings Redis 7.0 no
//! longer writes, every opcode, and the error paths.
// Test code: panicking on a broken expectation is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::{Bytes, BytesMut};

use crate::encode::put_len;
use crate::format::{opcode, rdb_type};
use crate::listpack::{self, Item};
use crate::{
    crc64, dump_payload, intset, parse_dump_payload, read_all, ziplist, zipmap, RdbEntry,
    RdbErrorKind, RdbEvent, RdbReader, RdbValue, ReaderOptions,
};

/// Builds RDB streams byte by byte.
struct Rdb(Vec<u8>);

impl Rdb {
    fn new(version: u32) -> Self {
        Rdb(format!("REDIS{version:04}").into_bytes())
    }
    fn op(mut self, b: u8) -> Self {
        self.0.push(b);
        self
    }
    fn len(mut self, n: u64) -> Self {
        let mut out = BytesMut::new();
        put_len(&mut out, n);
        self.0.extend_from_slice(&out);
        self
    }
    fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    fn str(self, s: &[u8]) -> Self {
        self.len(s.len() as u64).raw(s)
    }
    fn key(self, t: u8, k: &str) -> Self {
        self.op(t).str(k.as_bytes())
    }
    fn finish(self) -> Vec<u8> {
        let mut v = self.op(opcode::EOF).0;
        let sum = crc64(&v);
        v.extend_from_slice(&sum.to_le_bytes());
        v
    }
}

fn lp(items: &[&[u8]]) -> Vec<u8> {
    let mut b = listpack::Builder::default();
    b.start();
    for i in items {
        b.push(i);
    }
    b.finish().to_vec()
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn entry(key: &str, value: RdbValue) -> RdbEvent {
    RdbEvent::Entry(RdbEntry::new(b(key), value))
}

fn strs(v: &[&str]) -> Vec<Bytes> {
    v.iter().map(|s| b(s)).collect()
}

/// Reads `data` whole and byte by byte; both must agree.
fn read_both(data: &[u8]) -> Result<Vec<RdbEvent>, crate::RdbError> {
    let whole = read_all(data);
    let mut r = RdbReader::default();
    let mut events = Vec::new();
    let mut split = Ok(());
    'outer: for &byte in data {
        r.feed(&[byte]);
        loop {
            match r.next_event() {
                Ok(Some(e)) => events.push(e),
                Ok(None) => break,
                Err(e) => {
                    split = Err(e);
                    break 'outer;
                }
            }
        }
    }
    let split = split.and_then(|()| r.finish()).map(|()| events);
    assert_eq!(whole, split);
    whole
}

fn kind(r: Result<Vec<RdbEvent>, crate::RdbError>) -> RdbErrorKind {
    r.expect_err("should fail").kind().clone()
}

#[test]
fn every_supported_version_is_read() {
    for v in 5..=12 {
        let events = read_both(&Rdb::new(v).finish()).unwrap();
        assert!(matches!(events[..], [RdbEvent::Eof { checksum: Some(_) }]));
    }
    // Before RDB 5 the file ends at the EOF opcode.
    for v in 1..=4 {
        let mut file = format!("REDIS{v:04}").into_bytes();
        file.push(0xff);
        let events = read_all(&file).unwrap();
        assert!(matches!(events[..], [RdbEvent::Eof { checksum: None }]));
    }
    for v in [0, 13, 9999] {
        let err = read_all(&Rdb::new(v).finish()).unwrap_err();
        assert_eq!(err.kind(), &RdbErrorKind::UnsupportedVersion(v));
        assert_eq!(err.offset(), 5);
    }
    assert_eq!(kind(read_all(b"REDIX0010\xff")), RdbErrorKind::BadMagic);
    assert_eq!(kind(read_all(b"REDIS00a1\xff")), RdbErrorKind::BadMagic);
    // Garbage is refused as soon as the first bytes arrive.
    let mut r = RdbReader::default();
    r.feed(b"GET");
    assert_eq!(r.next_event().unwrap_err().kind(), &RdbErrorKind::BadMagic);
}

#[test]
fn plain_types_of_old_versions() {
    let data = Rdb::new(6)
        .op(opcode::SELECTDB)
        .len(0)
        .key(rdb_type::LIST, "list")
        .len(3)
        .str(b"a")
        .raw(&[0xc0, 12])
        .str(b"bb")
        .key(rdb_type::SET, "set")
        .len(2)
        .str(b"x")
        .str(b"y")
        .key(rdb_type::ZSET, "zset")
        .len(4)
        .str(b"a")
        .raw(b"\x031.5")
        .str(b"b")
        .raw(&[254])
        .str(b"c")
        .raw(&[255])
        .str(b"d")
        .raw(b"\x051e-05")
        .key(rdb_type::HASH, "hash")
        .len(2)
        .str(b"f")
        .str(b"v")
        .str(b"n")
        .raw(&[0xc2, 0x40, 0x42, 0x0f, 0])
        .key(rdb_type::ZSET_2, "zset2")
        .len(1)
        .str(b"m")
        .raw(&2.5f64.to_le_bytes())
        .finish();
    let events = read_both(&data).unwrap();
    assert_eq!(
        events,
        vec![
            RdbEvent::SelectDb(0),
            entry("list", RdbValue::List(strs(&["a", "12", "bb"]))),
            entry("set", RdbValue::Set(strs(&["x", "y"]))),
            entry(
                "zset",
                RdbValue::SortedSet(vec![
                    (b("a"), 1.5),
                    (b("b"), f64::INFINITY),
                    (b("c"), f64::NEG_INFINITY),
                    (b("d"), 1e-5),
                ])
            ),
            entry(
                "hash",
                RdbValue::Hash(vec![(b("f"), b("v")), (b("n"), b("1000000"))])
            ),
            entry("zset2", RdbValue::SortedSet(vec![(b("m"), 2.5)])),
            RdbEvent::Eof {
                checksum: Some(crc64(&data[..data.len() - 8]))
            },
        ]
    );
}

#[test]
fn ziplist_zipmap_intset_and_quicklist_encodings() {
    let zl_list = ziplist::build(&[Item::Str(b"a"), Item::Int(-7), Item::Int(5)]);
    let zl_zset = ziplist::build(&[
        Item::Str(b"m1"),
        Item::Int(3),
        Item::Str(b"m2"),
        Item::Str(b"2.5"),
        Item::Str(b"m3"),
        Item::Str(b"-inf"),
    ]);
    let zl_hash = ziplist::build(&[
        Item::Str(b"f"),
        Item::Int(1),
        Item::Str(b"g"),
        Item::Str(b"w"),
    ]);
    let zm = zipmap::build(&[(b"k1", b"v1"), (b"k2", b"")], 2);
    let mut is = Vec::new();
    intset::encode(&[-3, 1, 70000], &mut is);
    let node1 = ziplist::build(&[Item::Str(b"q1"), Item::Str(b"q2")]);
    let node2 = ziplist::build(&[Item::Int(3)]);
    let set_lp = lp(&[b"a", b"1"]);
    let ql2_node = lp(&[b"p1", b"42"]);
    let data = Rdb::new(9)
        .key(rdb_type::LIST_ZIPLIST, "zl")
        .str(&zl_list)
        .key(rdb_type::ZSET_ZIPLIST, "zz")
        .str(&zl_zset)
        .key(rdb_type::HASH_ZIPLIST, "zh")
        .str(&zl_hash)
        .key(rdb_type::HASH_ZIPMAP, "zm")
        .str(&zm)
        .key(rdb_type::SET_INTSET, "is")
        .str(&is)
        .key(rdb_type::LIST_QUICKLIST, "ql")
        .len(2)
        .str(&node1)
        .str(&node2)
        .key(rdb_type::SET_LISTPACK, "sl")
        .str(&set_lp)
        .key(rdb_type::LIST_QUICKLIST_2, "ql2")
        .len(3)
        .len(1)
        .str(b"a plain node")
        .len(2)
        .str(&ql2_node)
        .len(1)
        .str(b"last")
        .finish();
    let events = read_both(&data).unwrap();
    let values: Vec<_> = events
        .into_iter()
        .filter_map(|e| match e {
            RdbEvent::Entry(e) => Some(e.value),
            _ => None,
        })
        .collect();
    assert_eq!(
        values,
        vec![
            RdbValue::List(strs(&["a", "-7", "5"])),
            RdbValue::SortedSet(vec![
                (b("m1"), 3.0),
                (b("m2"), 2.5),
                (b("m3"), f64::NEG_INFINITY)
            ]),
            RdbValue::Hash(vec![(b("f"), b("1")), (b("g"), b("w"))]),
            RdbValue::Hash(vec![(b("k1"), b("v1")), (b("k2"), b(""))]),
            RdbValue::Set(strs(&["-3", "1", "70000"])),
            RdbValue::List(strs(&["q1", "q2", "3"])),
            RdbValue::Set(strs(&["a", "1"])),
            RdbValue::List(strs(&["a plain node", "p1", "42", "last"])),
        ]
    );
}

#[test]
fn opcodes_set_metadata_and_side_records_are_read() {
    let data = Rdb::new(10)
        .op(opcode::AUX)
        .str(b"redis-ver")
        .str(b"7.0.0")
        .op(opcode::AUX)
        .str(b"redis-bits")
        .raw(&[0xc0, 64])
        .op(opcode::MODULE_AUX)
        .len(12345)
        .len(2)
        .len(1)
        .len(1)
        .len(77)
        .len(2)
        .len(1 << 40)
        .len(3)
        .raw(&1.5f32.to_le_bytes())
        .len(4)
        .raw(&2.5f64.to_le_bytes())
        .len(5)
        .str(b"module string")
        .len(0)
        .op(opcode::FUNCTION_PRE_GA)
        .str(b"mylib")
        .str(b"LUA")
        .len(1)
        .str(b"a description")
        .str(b"return 1")
        .op(opcode::FUNCTION2)
        .str(b"#!lua name=lib2\nreturn 2")
        .op(opcode::SELECTDB)
        .len(3)
        .op(opcode::RESIZEDB)
        .len(4)
        .len(2)
        .op(opcode::SLOT_INFO)
        .len(100)
        .len(4)
        .len(2)
        .op(opcode::EXPIRETIME)
        .raw(&2_000_000_000i32.to_le_bytes())
        .key(rdb_type::STRING, "secs")
        .str(b"v")
        .op(opcode::EXPIRETIME_MS)
        .raw(&4_102_444_800_123i64.to_le_bytes())
        .op(opcode::IDLE)
        .len(300)
        .op(opcode::FREQ)
        .op(17)
        .key(rdb_type::STRING, "ms")
        .str(b"w")
        .key(rdb_type::STRING, "plain")
        .str(b"x")
        .finish();
    let events = read_both(&data).unwrap();
    let mut secs = RdbEntry::new(b("secs"), RdbValue::String(b("v")));
    secs.expire_ms = Some(2_000_000_000_000);
    let mut ms = RdbEntry::new(b("ms"), RdbValue::String(b("w")));
    ms.expire_ms = Some(4_102_444_800_123);
    ms.idle_secs = Some(300);
    ms.freq = Some(17);
    assert_eq!(
        events[..events.len() - 1],
        vec![
            RdbEvent::Aux {
                key: b("redis-ver"),
                value: b("7.0.0")
            },
            RdbEvent::Aux {
                key: b("redis-bits"),
                value: b("64")
            },
            RdbEvent::ModuleAux,
            RdbEvent::Function(b("#!LUA name=mylib\nreturn 1")),
            RdbEvent::Function(b("#!lua name=lib2\nreturn 2")),
            RdbEvent::SelectDb(3),
            RdbEvent::ResizeDb {
                db_size: 4,
                expires_size: 2
            },
            RdbEvent::Entry(secs),
            RdbEvent::Entry(ms),
            entry("plain", RdbValue::String(b("x"))),
        ][..]
    );
}

#[test]
fn strings_in_every_encoding() {
    let text = b"compress me, compress me, compress me, compress me, please!".repeat(20);
    let reference = lzf::compress(&text).unwrap();
    let mut lzf_str = vec![0xc3];
    let mut lens = BytesMut::new();
    put_len(&mut lens, reference.len() as u64);
    put_len(&mut lens, text.len() as u64);
    lzf_str.extend_from_slice(&lens);
    lzf_str.extend_from_slice(&reference);
    let data = Rdb::new(10)
        .key(rdb_type::STRING, "i8")
        .raw(&[0xc0, 0x80])
        .key(rdb_type::STRING, "i16")
        .raw(&[0xc1, 0x00, 0x80])
        .key(rdb_type::STRING, "i32")
        .raw(&[0xc2, 0xff, 0xff, 0xff, 0x7f])
        .key(rdb_type::STRING, "lzf")
        .raw(&lzf_str)
        .key(rdb_type::STRING, "len32")
        .raw(&[0x80, 0, 0, 0, 3])
        .raw(b"abc")
        .key(rdb_type::STRING, "len64")
        .raw(&[0x81, 0, 0, 0, 0, 0, 0, 0, 2])
        .raw(b"de")
        .finish();
    let events = read_both(&data).unwrap();
    let values: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RdbEvent::Entry(e) => Some(e.value.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        values,
        vec![
            RdbValue::String(b("-128")),
            RdbValue::String(b("-32768")),
            RdbValue::String(b("2147483647")),
            RdbValue::String(Bytes::from(text)),
            RdbValue::String(b("abc")),
            RdbValue::String(b("de")),
        ]
    );
}

#[test]
fn empty_collections_are_skipped_like_redis_does() {
    let empty_lp = lp(&[]);
    let data = Rdb::new(10)
        .key(rdb_type::LIST, "l")
        .len(0)
        .key(rdb_type::HASH_LISTPACK, "h")
        .str(&empty_lp)
        .key(rdb_type::LIST_QUICKLIST_2, "q")
        .len(1)
        .len(2)
        .str(&empty_lp)
        .key(rdb_type::STRING, "kept")
        .str(b"")
        .finish();
    let mut r = RdbReader::default();
    r.feed(&data);
    let mut events = Vec::new();
    while let Some(e) = r.next_event().unwrap() {
        events.push(e);
    }
    assert_eq!(r.skipped_empty_keys(), 3);
    assert_eq!(events[0], entry("kept", RdbValue::String(Bytes::new())));
    assert_eq!(r.last_value_type(), Some(rdb_type::STRING));
}

#[test]
fn unsupported_and_unknown_types_are_typed_errors() {
    for t in [
        rdb_type::MODULE,
        rdb_type::MODULE_2,
        rdb_type::STREAM_LISTPACKS,
        rdb_type::STREAM_LISTPACKS_2,
        rdb_type::STREAM_LISTPACKS_3,
        rdb_type::HASH_LISTPACK_EX,
    ] {
        let data = Rdb::new(12).key(t, "the-key").raw(&[0; 16]).finish();
        let err = read_both(&data).unwrap_err();
        assert_eq!(err.kind(), &RdbErrorKind::UnsupportedType(t));
        assert_eq!(err.key().map(|k| &k[..]), Some(&b"the-key"[..]));
        assert_eq!(err.offset(), 9 + 1 + 8);
        assert!(err.to_string().contains("the-key"), "{err}");
    }
    for t in [8u8, 26, 0xf0, 0xf3] {
        let err = read_both(&Rdb::new(10).op(t).raw(b"xx").finish()).unwrap_err();
        assert_eq!(err.kind(), &RdbErrorKind::UnknownOpcode(t));
        assert_eq!(err.offset(), 9);
    }
}

#[test]
fn corrupt_values_name_their_key() {
    let mut bad_lp = lp(&[b"a", b"b"]);
    bad_lp[4] = 3; // element count
    let data = Rdb::new(10)
        .key(rdb_type::STRING, "ok")
        .str(b"v")
        .key(rdb_type::HASH_LISTPACK, "broken")
        .str(&bad_lp)
        .finish();
    let err = read_both(&data).unwrap_err();
    assert!(matches!(
        err.kind(),
        RdbErrorKind::Corrupt {
            what: "listpack",
            ..
        }
    ));
    assert_eq!(err.key().map(|k| &k[..]), Some(&b"broken"[..]));
    assert_eq!(err.offset(), 9 + 6 + 8);
}

#[test]
fn duplicates_and_nan_scores_are_rejected() {
    let dup_set = Rdb::new(10)
        .key(rdb_type::SET, "s")
        .len(2)
        .str(b"x")
        .str(b"x")
        .finish();
    assert!(matches!(
        kind(read_both(&dup_set)),
        RdbErrorKind::Duplicate {
            what: "set member",
            ..
        }
    ));
    let dup_hash = Rdb::new(10)
        .key(rdb_type::HASH_LISTPACK, "h")
        .str(&lp(&[b"f", b"1", b"f", b"2"]))
        .finish();
    assert!(matches!(
        kind(read_both(&dup_hash)),
        RdbErrorKind::Duplicate {
            what: "hash field",
            ..
        }
    ));
    let mut lenient = RdbReader::new(ReaderOptions {
        reject_duplicates: false,
        ..ReaderOptions::default()
    });
    lenient.feed(&dup_hash);
    assert!(lenient.next_event().unwrap().is_some());

    let nan2 = Rdb::new(10)
        .key(rdb_type::ZSET_2, "z")
        .len(1)
        .str(b"m")
        .raw(&f64::NAN.to_le_bytes())
        .finish();
    assert_eq!(kind(read_both(&nan2)), RdbErrorKind::NanScore);
    let nan_text = Rdb::new(10)
        .key(rdb_type::ZSET, "z")
        .len(1)
        .str(b"m")
        .raw(&[253])
        .finish();
    assert_eq!(kind(read_both(&nan_text)), RdbErrorKind::NanScore);
    let bad_score = Rdb::new(10)
        .key(rdb_type::ZSET, "z")
        .len(1)
        .str(b"m")
        .raw(b"\x03abc")
        .finish();
    assert!(matches!(
        kind(read_both(&bad_score)),
        RdbErrorKind::BadScore(_)
    ));
}

#[test]
fn checksums() {
    let data = Rdb::new(10).key(rdb_type::STRING, "k").str(b"v").finish();
    let n = data.len();
    // A zero trailer means "not computed".
    let mut zero = data.clone();
    zero[n - 8..].fill(0);
    assert_eq!(
        read_both(&zero).unwrap().last(),
        Some(&RdbEvent::Eof { checksum: None })
    );
    let mut wrong = data.clone();
    wrong[n - 8] ^= 1;
    let err = read_both(&wrong).unwrap_err();
    assert_eq!(err.offset(), (n - 8) as u64);
    match err.kind() {
        RdbErrorKind::ChecksumMismatch { stored, computed } => {
            assert_eq!(*computed, crc64(&data[..n - 8]));
            assert_eq!(*stored, computed ^ 1);
        }
        k => panic!("{k:?}"),
    }
    let mut unchecked = RdbReader::new(ReaderOptions {
        verify_checksum: false,
        ..ReaderOptions::default()
    });
    unchecked.feed(&wrong);
    while unchecked.next_event().unwrap().is_some() {}
    assert!(unchecked.is_done());
}

#[test]
fn absurd_lengths_fail_without_allocating() {
    let huge_string = Rdb::new(10)
        .key(rdb_type::STRING, "k")
        .raw(&[0x81, 0, 0, 1, 0, 0, 0, 0, 0])
        .finish();
    assert!(matches!(
        kind(read_both(&huge_string)),
        RdbErrorKind::LengthTooLarge { what: "string", .. }
    ));
    let huge_list = Rdb::new(10)
        .key(rdb_type::LIST, "k")
        .raw(&[0x81, 0, 0, 0, 2, 0, 0, 0, 0])
        .finish();
    assert!(matches!(
        kind(read_both(&huge_list)),
        RdbErrorKind::LengthTooLarge { what: "list", .. }
    ));
    // Just under the element limit: accepted as a length, then the data
    // simply runs out (nothing was reserved for 4 billion elements).
    let mut r = RdbReader::default();
    r.feed(
        &Rdb::new(10)
            .key(rdb_type::SET, "k")
            .raw(&[0x80, 0xff, 0xff, 0xff, 0xff])
            .0,
    );
    assert_eq!(r.next_event().unwrap(), None);
    assert!(r.finish().unwrap_err().is_truncated());
    // Configurable limits.
    let mut strict = RdbReader::new(ReaderOptions {
        max_string_len: 4,
        max_elements: 2,
        ..ReaderOptions::default()
    });
    strict.feed(
        &Rdb::new(10)
            .key(rdb_type::STRING, "k")
            .str(b"12345")
            .finish(),
    );
    assert!(matches!(
        strict.next_event().unwrap_err().kind(),
        RdbErrorKind::LengthTooLarge { len: 5, max: 4, .. }
    ));
}

#[test]
fn stream_positions_and_trailing_bytes() {
    let data = Rdb::new(10).key(rdb_type::STRING, "k").str(b"v").finish();
    let mut r = RdbReader::default();
    r.feed(&data);
    r.feed(b"+PING\r\n");
    assert_eq!(r.rdb_version(), None);
    while r.next_event().unwrap().is_some() {}
    assert!(r.is_done());
    assert_eq!(r.rdb_version(), Some(10));
    assert_eq!(r.bytes_consumed(), data.len() as u64);
    assert_eq!(r.take_unconsumed(), b("+PING\r\n"));
    assert_eq!(r.next_event().unwrap(), None);
    // Truncation errors give the end of the input.
    let err = read_all(&data[..12]).unwrap_err();
    assert!(err.is_truncated());
    assert_eq!(err.offset(), 12);
}

#[test]
fn dump_payloads() {
    let value = RdbValue::Hash(vec![(b("a"), b("1")), (b("b"), b("two"))]);
    let payload = dump_payload(&value);
    assert_eq!(parse_dump_payload(&payload).unwrap(), value);
    // Footer: version 10, little-endian CRC-64 of the rest.
    let n = payload.len();
    assert_eq!(&payload[n - 10..n - 8], &[10, 0]);
    assert_eq!(
        &payload[n - 8..],
        &crc64(&payload[..n - 8]).to_le_bytes()[..]
    );

    let mut bad_crc = payload.to_vec();
    bad_crc[0] ^= 0x01;
    let e = parse_dump_payload(&bad_crc).unwrap_err();
    assert!(matches!(e.kind(), RdbErrorKind::DumpChecksum { .. }));
    assert_eq!(
        e.restore_reply(),
        "ERR DUMP payload version or checksum are wrong"
    );

    let mut v11 = payload[..n - 8].to_vec();
    v11[n - 10] = 11;
    let sum = crc64(&v11);
    v11.extend_from_slice(&sum.to_le_bytes());
    let e = parse_dump_payload(&v11).unwrap_err();
    assert_eq!(e.kind(), &RdbErrorKind::DumpVersion(11));
    assert_eq!(
        e.restore_reply(),
        "ERR DUMP payload version or checksum are wrong"
    );

    let e = parse_dump_payload(b"short").unwrap_err();
    assert_eq!(
        e.restore_reply(),
        "ERR DUMP payload version or checksum are wrong"
    );

    // A well-formed footer around a bad value.
    let sealed = |body: &[u8]| {
        let mut v = body.to_vec();
        v.extend_from_slice(&[10, 0]);
        let sum = crc64(&v);
        v.extend_from_slice(&sum.to_le_bytes());
        v
    };
    for body in [
        &[rdb_type::LIST, 0][..],
        &[rdb_type::STRING, 5, b'a'][..],
        &[0x30, 0][..],
        &[rdb_type::STREAM_LISTPACKS_2, 0][..],
        &[][..],
    ] {
        let e = parse_dump_payload(&sealed(body)).unwrap_err();
        assert_eq!(e.restore_reply(), "ERR Bad data format", "{e}");
    }
    // Older versions are accepted.
    let mut v9 = sealed(&[rdb_type::STRING, 1, b'x']);
    let m = v9.len();
    v9[m - 10] = 9;
    let sum = crc64(&v9[..m - 8]);
    v9[m - 8..].copy_from_slice(&sum.to_le_bytes());
    assert_eq!(parse_dump_payload(&v9).unwrap(), RdbValue::String(b("x")));
}

#[test]
fn borrowed_string_entries_match_owned_ones() {
    use crate::{RdbWriter, WriterOptions};
    let long = "abc".repeat(100);
    let cases: [(&str, &str, Option<i64>); 6] = [
        ("k", "v", None),
        ("n", "12345", None),
        ("neg", "-7", Some(1_700_000_000_000)),
        ("big", "99999999999999999999", None),
        ("long", &long, Some(5)),
        ("empty", "", None),
    ];
    for (key, value, expire_ms) in cases {
        let mut owned = RdbWriter::new(WriterOptions::default());
        let mut borrowed = RdbWriter::new(WriterOptions::default());
        let (mut a, mut c) = (BytesMut::new(), BytesMut::new());
        let mut e = RdbEntry::new(key, RdbValue::String(b(value)));
        e.expire_ms = expire_ms;
        assert!(owned.write_entry(&e, &mut a).is_ok());
        borrowed.write_string_entry(key.as_bytes(), value.as_bytes(), expire_ms, &mut c);
        assert_eq!(a, c, "{key}");
        assert_eq!(owned.bytes_written(), borrowed.bytes_written());
    }
}

/// Seals a body with the DUMP footer (version 10, CRC-64).
fn with_footer(mut body: Vec<u8>) -> Vec<u8> {
    body.extend_from_slice(&[10, 0]);
    let sum = crc64(&body);
    body.extend_from_slice(&sum.to_le_bytes());
    body
}

#[test]
fn functions_payloads() {
    use crate::{functions_dump_payload, parse_functions_payload, FunctionsPayloadError};
    let a = b"#!lua name=a\nredis.register_function('f', function() return 1 end)";
    let b2 = vec![b'x'; 300];
    let payload = functions_dump_payload([&a[..], &b2[..]]);
    assert_eq!(payload[0], opcode::FUNCTION2);
    assert_eq!(
        parse_functions_payload(&payload).unwrap(),
        vec![Bytes::from_static(a), Bytes::from(b2)]
    );
    // No library: just the footer.
    let empty = functions_dump_payload(std::iter::empty());
    assert_eq!(empty.len(), 10);
    assert!(parse_functions_payload(&empty).unwrap().is_empty());

    assert_eq!(
        parse_functions_payload(b"bad_payload"),
        Err(FunctionsPayloadError::Footer)
    );
    let mut flipped = payload.to_vec();
    flipped[3] ^= 1;
    assert_eq!(
        parse_functions_payload(&flipped),
        Err(FunctionsPayloadError::Footer)
    );
    // A key's DUMP payload is not a function.
    let key = dump_payload(&RdbValue::String(b("v")));
    assert_eq!(
        parse_functions_payload(&key),
        Err(FunctionsPayloadError::NotAFunction)
    );
    // A library record cut short.
    let mut cut = BytesMut::from(&[opcode::FUNCTION2][..]);
    put_len(&mut cut, 50);
    cut.extend_from_slice(b"short");
    assert_eq!(
        parse_functions_payload(&with_footer(cut.to_vec())),
        Err(FunctionsPayloadError::Malformed)
    );
    // The 7.0 release candidates' record: name, engine, description, code.
    let mut old = BytesMut::from(&[opcode::FUNCTION_PRE_GA][..]);
    for s in [&b"lib"[..], b"LUA"] {
        put_len(&mut old, s.len() as u64);
        old.extend_from_slice(s);
    }
    put_len(&mut old, 1);
    for s in [&b"desc"[..], b"return 1"] {
        put_len(&mut old, s.len() as u64);
        old.extend_from_slice(s);
    }
    assert_eq!(
        parse_functions_payload(&with_footer(old.to_vec())).unwrap(),
        vec![Bytes::from_static(b"#!LUA name=lib\nreturn 1")]
    );
}
