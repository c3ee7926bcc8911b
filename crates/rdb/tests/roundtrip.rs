//! Property tests: random data sets of every type go through the writer and
//! come back identical through the reader, however the stream is chunked;
//! DUMP payloads round-trip too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Black-box tests drive files and sockets; only the library is sans-IO.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Bytes, BytesMut};
use common::{normalized, read_chunked};
use proptest::prelude::*;
use rdb::{
    dump_payload, parse_dump_payload, EncodingLimits, RdbEntry, RdbEvent, RdbValue, RdbWriter,
    ReaderOptions, WriterOptions,
};

/// Strings that exercise every string encoding: short binary, canonical
/// and non-canonical integers, long compressible and incompressible runs.
/// One flat strategy (not a union) keeps generation fast.
fn blob() -> impl Strategy<Value = Bytes> {
    (
        0u8..11,
        any::<i64>(),
        proptest::collection::vec(any::<u8>(), 0..24),
    )
        .prop_map(|(kind, i, bytes)| blob_of(kind, i, &bytes))
}

fn blob_of(kind: u8, i: i64, bytes: &[u8]) -> Bytes {
    match kind {
        0..=3 => Bytes::copy_from_slice(bytes),
        4 | 5 => Bytes::from(i.to_string()),
        6 | 7 => Bytes::from((i % 300).to_string()),
        8 => Bytes::from(format!("{}{}", "0".repeat(bytes.len() % 3), i % 4)),
        9 => Bytes::from(vec![i as u8; 20 + (i.unsigned_abs() % 380) as usize]),
        _ => Bytes::from(bytes.repeat(3 + (i.unsigned_abs() % 10) as usize)),
    }
}

fn score_of(kind: u8, i: i64, bits: u64) -> f64 {
    match kind % 8 {
        0 => f64::INFINITY,
        1 => f64::NEG_INFINITY,
        2 => -0.0,
        3 => (i % 1000) as f64,
        4 => (i % 1000) as f64 / 7.0,
        5 => i as f64,
        _ => {
            let d = f64::from_bits(bits);
            if d.is_nan() {
                0.5
            } else {
                d
            }
        }
    }
}

fn score() -> impl Strategy<Value = f64> {
    (any::<u8>(), any::<i64>(), any::<u64>()).prop_map(|(k, i, b)| score_of(k, i, b))
}

/// A small deterministic generator for the large collections, which would
/// be slow to draw element by element.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn blob(&mut self) -> Bytes {
        let (k, i, n) = (self.next(), self.next(), self.next());
        let bytes: Vec<u8> = (0..n % 24).map(|j| (n >> (j % 8 * 8)) as u8).collect();
        blob_of((k % 11) as u8, i as i64, &bytes)
    }
}

/// A collection of `n` elements of kind `kind`, unique where required.
fn collection(kind: u8, n: usize, seed: u64) -> RdbValue {
    let mut g = Gen(seed | 1);
    match kind {
        0 => RdbValue::List((0..n).map(|_| g.blob()).collect()),
        1 => {
            let s: BTreeSet<i64> = (0..n).map(|_| g.next() as i64 >> (g.next() % 60)).collect();
            RdbValue::Set(s.into_iter().map(|i| Bytes::from(i.to_string())).collect())
        }
        2 => RdbValue::Set(
            (0..n)
                .map(|_| g.blob())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        ),
        3 => {
            let m: BTreeMap<Bytes, f64> = (0..n)
                .map(|_| {
                    let (k, i, b) = (g.next(), g.next(), g.next());
                    (g.blob(), score_of(k as u8, i as i64, b))
                })
                .collect();
            RdbValue::SortedSet(m.into_iter().collect())
        }
        _ => {
            let m: BTreeMap<Bytes, Bytes> = (0..n).map(|_| (g.blob(), g.blob())).collect();
            RdbValue::Hash(m.into_iter().collect())
        }
    }
}

fn value() -> impl Strategy<Value = RdbValue> {
    prop_oneof![
        3 => blob().prop_map(RdbValue::String),
        3 => proptest::collection::vec(blob(), 1..10).prop_map(RdbValue::List),
        2 => proptest::collection::btree_set(any::<i64>(), 1..10)
            .prop_map(|s| RdbValue::Set(s.into_iter().map(|i| Bytes::from(i.to_string())).collect())),
        2 => proptest::collection::btree_set(blob(), 1..10)
            .prop_map(|s: BTreeSet<Bytes>| RdbValue::Set(s.into_iter().collect())),
        2 => proptest::collection::btree_map(blob(), score(), 1..10)
            .prop_map(|m: BTreeMap<Bytes, f64>| RdbValue::SortedSet(m.into_iter().collect())),
        2 => proptest::collection::btree_map(blob(), blob(), 1..10)
            .prop_map(|m: BTreeMap<Bytes, Bytes>| RdbValue::Hash(m.into_iter().collect())),
        // Large ones, across the encoding thresholds (512 set entries,
        // 512/128 hash/zset entries, 8 KiB list nodes).
        2 => (0u8..5, 100usize..700, any::<u64>()).prop_map(|(k, n, seed)| collection(k, n, seed)),
    ]
}

fn entry_meta() -> impl Strategy<Value = (Option<i64>, Option<u64>, Option<u8>)> {
    (
        proptest::option::of(any::<i64>()),
        proptest::option::of(0u64..1 << 40),
        proptest::option::of(any::<u8>()),
    )
}

/// Databases, each with keys (unique within the database) and values.
fn data_set() -> impl Strategy<Value = BTreeMap<u64, Vec<RdbEntry>>> {
    proptest::collection::btree_map(
        prop_oneof![Just(0u64), 1u64..16, 16u64..100_000],
        proptest::collection::btree_map(blob(), (value(), entry_meta()), 0..6),
        0..4,
    )
    .prop_map(|dbs| {
        dbs.into_iter()
            .map(|(db, keys)| {
                let entries = keys
                    .into_iter()
                    .map(|(key, (value, (expire_ms, idle_secs, freq)))| RdbEntry {
                        key,
                        value,
                        expire_ms,
                        idle_secs,
                        freq,
                    })
                    .collect();
                (db, entries)
            })
            .collect()
    })
}

fn write(dbs: &BTreeMap<u64, Vec<RdbEntry>>, opts: WriterOptions, drain_at: usize) -> Vec<u8> {
    let mut w = RdbWriter::new(opts);
    let mut out = BytesMut::new();
    let mut file = Vec::new();
    w.write_header(&mut out);
    w.write_aux(b"redis-ver", b"7.0.15", &mut out);
    for (db, entries) in dbs {
        w.write_select_db(*db, &mut out);
        let expiring = entries.iter().filter(|e| e.expire_ms.is_some()).count();
        w.write_resize_db(entries.len() as u64, expiring as u64, &mut out);
        for e in entries {
            w.write_entry(e, &mut out).unwrap();
            if out.len() >= drain_at {
                file.extend_from_slice(&out.split());
            }
        }
    }
    w.write_eof(&mut out);
    file.extend_from_slice(&out);
    file
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn written_data_reads_back_identically(
        dbs in data_set(),
        compression in any::<bool>(),
        checksum in any::<bool>(),
        chunks in proptest::collection::vec(prop_oneof![1usize..64, 64usize..5000], 1..8),
        drain_at in 1usize..10_000,
    ) {
        let opts = WriterOptions { compression, checksum, ..WriterOptions::default() };
        let file = write(&dbs, opts, drain_at);
        let events = read_chunked(&file, &chunks, ReaderOptions::default()).unwrap();
        let mut got: BTreeMap<u64, Vec<RdbEntry>> = BTreeMap::new();
        let mut db = None;
        for (ev, _) in &events {
            match ev {
                RdbEvent::SelectDb(n) => {
                    db = Some(*n);
                    got.entry(*n).or_default();
                }
                RdbEvent::Entry(e) => got.get_mut(&db.unwrap()).unwrap().push(e.clone()),
                RdbEvent::Eof { checksum: c } => prop_assert_eq!(c.is_some(), checksum),
                _ => {}
            }
        }
        prop_assert_eq!(got.len(), dbs.len());
        for (n, want) in &dbs {
            let have = &got[n];
            prop_assert_eq!(have.len(), want.len());
            for (h, w) in have.iter().zip(want) {
                prop_assert_eq!(&h.key, &w.key);
                prop_assert_eq!(normalized(&h.value), normalized(&w.value));
                prop_assert_eq!((h.expire_ms, h.idle_secs, h.freq), (w.expire_ms, w.idle_secs, w.freq));
            }
        }
        // The same data set always produces the same bytes.
        prop_assert_eq!(write(&dbs, WriterOptions { compression, checksum, ..WriterOptions::default() }, 1 << 20), file);
    }

    #[test]
    fn dump_payloads_round_trip(v in value()) {
        let payload = dump_payload(&v);
        prop_assert_eq!(normalized(&parse_dump_payload(&payload).unwrap()), normalized(&v));
    }

    #[test]
    fn non_default_limits_still_round_trip(
        v in value(),
        fill in prop_oneof![-6i64..0, 0i64..20],
        entries in 0usize..20,
        len in 0usize..100,
    ) {
        let limits = EncodingLimits {
            set_max_intset_entries: entries,
            hash_max_listpack_entries: entries,
            hash_max_listpack_value: len,
            zset_max_listpack_entries: entries,
            zset_max_listpack_value: len,
            list_max_listpack_size: fill,
        };
        let mut w = RdbWriter::new(WriterOptions { limits, ..WriterOptions::default() });
        let payload = w.dump_payload(&v);
        prop_assert_eq!(normalized(&parse_dump_payload(&payload).unwrap()), normalized(&v));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..400),
        version in 6u32..=12,
        chunk in 1usize..64,
    ) {
        let mut data = format!("REDIS{version:04}").into_bytes();
        data.extend_from_slice(&body);
        let _ = read_chunked(&data, &[chunk], ReaderOptions::default());
        let _ = parse_dump_payload(&body);
    }
}
