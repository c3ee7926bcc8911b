//! Damaged input: truncation at every offset, flipped bytes, bad headers,
//! absurd lengths. The reader must report an error (or wait for more
//! bytes), never panic, never allocate from an unchecked length.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Black-box tests drive files and sockets; only the library is sans-IO.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use bytes::BytesMut;
use common::fixture;
use rdb::{read_all, RdbEntry, RdbErrorKind, RdbReader, RdbValue, RdbWriter, WriterOptions};

/// A small file with one key of every type and encoding our writer makes.
fn small_file() -> Vec<u8> {
    let b = |s: &str| bytes::Bytes::copy_from_slice(s.as_bytes());
    let mut w = RdbWriter::new(WriterOptions::default());
    let mut out = BytesMut::new();
    w.write_header(&mut out);
    w.write_aux(b"redis-ver", b"7.0.15", &mut out);
    w.write_select_db(0, &mut out);
    let values = vec![
        RdbValue::String(b("12")),
        RdbValue::String(b(&"abc".repeat(30))),
        RdbValue::List((0..40).map(|i| b(&format!("e{i}"))).collect()),
        RdbValue::Set(vec![b("1"), b("2")]),
        RdbValue::Set(vec![b("a"), b("b")]),
        RdbValue::SortedSet(vec![(b("m"), 1.5), (b("n"), f64::INFINITY)]),
        RdbValue::SortedSet(
            (0..130)
                .map(|i| (b(&i.to_string()), f64::from(i)))
                .collect(),
        ),
        RdbValue::Hash(vec![(b("f"), b("v"))]),
        RdbValue::Hash(vec![(b("f"), b(&"v".repeat(70)))]),
    ];
    for (i, v) in values.into_iter().enumerate() {
        let mut e = RdbEntry::new(b(&format!("k{i}")), v);
        e.expire_ms = (i % 2 == 0).then_some(4_102_444_800_000);
        w.write_entry(&e, &mut out).unwrap();
    }
    w.write_eof(&mut out);
    out.to_vec()
}

/// Every prefix of `data` shorter than the whole must fail to read, and
/// the failure must be a truncation reported at the end of the prefix.
fn check_prefixes(name: &str, data: &[u8], offsets: impl Iterator<Item = usize>) {
    for n in offsets {
        match read_all(&data[..n]) {
            Ok(_) => panic!("{name}: prefix of {n} bytes read as complete"),
            Err(e) => {
                assert!(e.is_truncated(), "{name}[..{n}]: {e}");
                assert_eq!(e.offset(), n as u64, "{name}[..{n}]");
            }
        }
    }
}

#[test]
fn truncation_at_every_offset() {
    let small = small_file();
    assert!(read_all(&small).is_ok());
    check_prefixes("small", &small, 0..small.len());
    for name in ["lfu", "lru", "empty"] {
        let data = fixture(&format!("{name}.rdb"));
        check_prefixes(name, &data, 0..data.len());
    }
    // The big fixture: every offset would be quadratic, so the first 4 KiB
    // and then a stride that still lands in every kind of item.
    let types = fixture("types.rdb");
    check_prefixes(
        "types",
        &types,
        (0..4096).chain((4096..types.len()).step_by(127)),
    );
}

#[test]
fn byte_by_byte_feeding_never_finishes_early() {
    let data = fixture("types.rdb");
    let mut r = RdbReader::default();
    let mut count = 0;
    for (i, b) in data.iter().enumerate() {
        r.feed(&[*b]);
        while r.next_event().unwrap().is_some() {
            count += 1;
        }
        assert_eq!(r.is_done(), i + 1 == data.len());
    }
    assert!(count > 40);
}

#[test]
fn flipped_bytes_are_caught() {
    for (name, data) in [("small", small_file()), ("types", fixture("types.rdb"))] {
        let step = if data.len() > 5000 { 199 } else { 1 };
        for i in (9..data.len()).step_by(step) {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut bad = data.clone();
                bad[i] ^= mask;
                // The CRC-64 catches any damage the structure checks miss.
                assert!(
                    read_all(&bad).is_err(),
                    "{name}: flip {mask:#x} at {i} unnoticed"
                );
            }
        }
    }
    // Without a checksum, damage may go unnoticed but must never panic.
    let data = fixture("types-nochecksum.rdb");
    for i in (9..data.len()).step_by(97) {
        let mut bad = data.clone();
        bad[i] ^= 0x55;
        let _ = read_all(&bad);
    }
}

#[test]
fn damage_inside_a_value_is_a_checksum_mismatch_at_the_trailer() {
    let data = fixture("types.rdb");
    let at = data
        .windows(5)
        .position(|w| w == b"hello")
        .expect("str:short value");
    let mut bad = data.clone();
    bad[at] = b'j';
    let err = read_all(&bad).unwrap_err();
    assert!(
        matches!(err.kind(), RdbErrorKind::ChecksumMismatch { .. }),
        "{err}"
    );
    assert_eq!(err.offset(), (data.len() - 8) as u64);
    assert!(err.to_string().contains("checksum mismatch"));
}

#[test]
fn bad_headers() {
    let data = fixture("types.rdb");
    let mut magic = data.clone();
    magic[0] = b'X';
    let e = read_all(&magic).unwrap_err();
    assert_eq!(e.kind(), &RdbErrorKind::BadMagic);
    assert_eq!(e.offset(), 0);
    let mut v13 = data.clone();
    v13[5..9].copy_from_slice(b"0013");
    let e = read_all(&v13).unwrap_err();
    assert_eq!(e.kind(), &RdbErrorKind::UnsupportedVersion(13));
    assert!(e.to_string().contains("unsupported RDB version 13"));
    assert!(read_all(b"").unwrap_err().is_truncated());
}

#[test]
fn absurd_lengths_are_refused_before_allocation() {
    // A key announcing a 2^62-byte string, a list of 2^40 elements, an LZF
    // string expanding 1000-fold: each refused at its length.
    for (body, what) in [
        (&b"\x00\x01k\x81\x40\0\0\0\0\0\0\0"[..], "string"),
        (&b"\x01\x01k\x81\0\0\x01\0\0\0\0\0"[..], "list"),
        (&b"\x12\x01k\x81\0\0\x01\0\0\0\0\0"[..], "quicklist"),
        (&b"\x05\x01k\x81\0\0\x01\0\0\0\0\0"[..], "sorted set"),
        (&b"\x04\x01k\x81\0\0\x01\0\0\0\0\0"[..], "hash"),
    ] {
        let mut file = b"REDIS0010".to_vec();
        file.extend_from_slice(body);
        let e = read_all(&file).unwrap_err();
        match e.kind() {
            RdbErrorKind::LengthTooLarge { what: w, .. } => assert_eq!(*w, what),
            k => panic!("{what}: {k:?}"),
        }
        assert_eq!(e.offset(), 12);
        assert_eq!(e.key().map(|k| &k[..]), Some(&b"k"[..]));
    }
    let mut lzf = b"REDIS0010\x00\x01k\xc3\x02\x80\x00\x10\x00\x00".to_vec();
    lzf.extend_from_slice(&[0x00, b'a']);
    assert!(matches!(
        read_all(&lzf).unwrap_err().kind(),
        RdbErrorKind::BadLzf(_)
    ));
}
