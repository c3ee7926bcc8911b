//! Files written by the reference redis-server 7.0 (see
//! `fixtures/make_fixtures.sh`): read value by value against the server's
//! own listing, DUMP payloads parsed and reproduced, and whole files
//! rewritten byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Black-box tests drive files and sockets; only the library is sans-IO.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use common::{expected, fixture, normalized, rdb_type_for, read_chunked, Expected};
use rdb::{
    dump_payload, parse_dump_payload, read_all, RdbEvent, RdbValue, RdbWriter, ReaderOptions,
    WriterOptions,
};

const FIXTURES: &[&str] = &[
    "types",
    "types-nocompress",
    "types-nochecksum",
    "lfu",
    "lru",
    "empty",
];

/// Checks the events of `name.rdb` against `name.expected`.
fn check_against_listing(name: &str, events: &[(RdbEvent, Option<u8>)], exp: &Expected) {
    let mut aux = BTreeMap::new();
    let mut functions = Vec::new();
    let mut dbs: BTreeMap<u64, Vec<(rdb::RdbEntry, u8)>> = BTreeMap::new();
    let mut db = 0;
    let mut resize = BTreeMap::new();
    for (ev, t) in events {
        match ev {
            RdbEvent::Aux { key, value } => {
                aux.insert(key.clone(), value.clone());
            }
            RdbEvent::Function(code) => functions.push(code.clone()),
            RdbEvent::SelectDb(n) => db = *n,
            RdbEvent::ResizeDb {
                db_size,
                expires_size,
            } => {
                resize.insert(db, (*db_size, *expires_size));
            }
            RdbEvent::Entry(e) => dbs.entry(db).or_default().push((e.clone(), t.unwrap())),
            RdbEvent::ModuleAux => panic!("{name}: unexpected module aux"),
            RdbEvent::Eof { checksum } => {
                assert_eq!(checksum.is_none(), name == "types-nochecksum", "{name}")
            }
        }
    }
    assert_eq!(
        aux.get(&b"redis-ver"[..]),
        Some(&Bytes::from("7.0.15")),
        "{name}"
    );
    assert_eq!(
        aux.get(&b"redis-bits"[..]),
        Some(&Bytes::from("64")),
        "{name}"
    );
    for k in ["ctime", "used-mem", "aof-base"] {
        assert!(aux.contains_key(k.as_bytes()), "{name}: aux {k}");
    }
    assert_eq!(functions, exp.functions, "{name}");
    assert_eq!(
        dbs.keys().collect::<Vec<_>>(),
        exp.dbs.keys().collect::<Vec<_>>(),
        "{name}"
    );
    for (n, want) in &exp.dbs {
        let got: BTreeMap<Bytes, (rdb::RdbEntry, u8)> = dbs[n]
            .iter()
            .map(|(e, t)| (e.key.clone(), (e.clone(), *t)))
            .collect();
        assert_eq!(got.len(), want.len(), "{name} db {n}");
        let expiring = want.iter().filter(|k| k.expire_ms.is_some()).count() as u64;
        assert_eq!(resize[n], (want.len() as u64, expiring), "{name} db {n}");
        for k in want {
            let (e, t) = &got[&k.key];
            let what = format!("{name} db {n} key {:?}", k.key);
            assert_eq!(normalized(&e.value), normalized(&k.value), "{what}");
            // Ordered encodings must come back in the server's order.
            if matches!(e.value, RdbValue::List(_)) || k.encoding == "listpack" {
                assert_eq!(e.value, k.value, "{what}");
            }
            assert_eq!(*t, rdb_type_for(&k.type_name, &k.encoding), "{what}");
            assert_eq!(e.expire_ms, k.expire_ms, "{what}");
            assert_eq!(e.freq, k.freq, "{what}");
            assert_eq!(e.idle_secs.is_some(), k.idle, "{what}");
        }
    }
}

#[test]
fn fixtures_match_the_server_listing() {
    for name in FIXTURES {
        let data = fixture(&format!("{name}.rdb"));
        let exp = expected(name);
        let whole = read_chunked(&data, &[data.len()], ReaderOptions::default()).unwrap();
        check_against_listing(name, &whole, &exp);
        let mut r = rdb::RdbReader::default();
        r.feed(&data);
        while r.next_event().unwrap().is_some() {}
        assert!(r.is_done());
        assert_eq!(r.bytes_consumed(), data.len() as u64, "{name}");
        // Chunking must not change anything.
        for sizes in [&[1usize][..], &[7, 3, 1000], &[4096]] {
            let split = read_chunked(&data, sizes, ReaderOptions::default()).unwrap();
            assert_eq!(split, whole, "{name} chunks {sizes:?}");
        }
    }
}

#[test]
fn every_encoding_redis_writes_is_covered() {
    let exp = expected("types");
    let mut seen: Vec<u8> = exp
        .dbs
        .values()
        .flatten()
        .map(|k| rdb_type_for(&k.type_name, &k.encoding))
        .collect();
    seen.sort_unstable();
    seen.dedup();
    use rdb::format::rdb_type::*;
    assert_eq!(
        seen,
        vec![
            STRING,
            SET,
            HASH,
            ZSET_2,
            SET_INTSET,
            HASH_LISTPACK,
            ZSET_LISTPACK,
            LIST_QUICKLIST_2
        ]
    );
    let scores: Vec<f64> = exp
        .dbs
        .values()
        .flatten()
        .filter_map(|k| match &k.value {
            RdbValue::SortedSet(z) => Some(z.iter().map(|(_, s)| *s)),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(scores.contains(&f64::INFINITY) && scores.contains(&f64::NEG_INFINITY));
}

#[test]
fn dump_payloads_of_the_server_parse_and_reproduce() {
    for name in FIXTURES {
        let exp = expected(name);
        for k in exp.dbs.values().flatten() {
            let what = format!("{name} key {:?}", k.key);
            let parsed = parse_dump_payload(&k.dump).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(normalized(&parsed), normalized(&k.value), "{what}");
            // Same encoding choices: without compression (whose output
            // depends on the LZF implementation) the bytes are identical.
            if *name == "types-nocompress" {
                let mut w = RdbWriter::new(WriterOptions {
                    compression: false,
                    ..WriterOptions::default()
                });
                assert_eq!(w.dump_payload(&parsed).to_vec(), k.dump, "{what}");
            }
            // With compression, ours must at least read back identically.
            let ours = dump_payload(&parsed);
            assert_eq!(parse_dump_payload(&ours).unwrap(), parsed, "{what}");
        }
    }
}

/// Writes the events back with our writer.
fn rewrite(events: &[(RdbEvent, Option<u8>)], opts: WriterOptions) -> Vec<u8> {
    let mut w = RdbWriter::new(opts);
    let mut out = BytesMut::new();
    let mut file = Vec::new();
    w.write_header(&mut out);
    for (ev, _) in events {
        match ev {
            RdbEvent::Aux { key, value } => w.write_aux(key, value, &mut out),
            RdbEvent::Function(code) => w.write_function(code, &mut out),
            RdbEvent::SelectDb(n) => w.write_select_db(*n, &mut out),
            RdbEvent::ResizeDb {
                db_size,
                expires_size,
            } => w.write_resize_db(*db_size, *expires_size, &mut out),
            RdbEvent::Entry(e) => w.write_entry(e, &mut out).unwrap(),
            RdbEvent::ModuleAux => panic!("module aux"),
            RdbEvent::Eof { .. } => w.write_eof(&mut out),
        }
        // Drain as a streaming caller would.
        if out.len() > 1024 {
            file.extend_from_slice(&out.split());
        }
    }
    file.extend_from_slice(&out);
    assert_eq!(w.bytes_written(), file.len() as u64);
    file
}

#[test]
fn uncompressed_files_are_rewritten_byte_for_byte() {
    {
        let name = "types-nocompress";
        let data = fixture(&format!("{name}.rdb"));
        let events = read_chunked(&data, &[data.len()], ReaderOptions::default()).unwrap();
        let ours = rewrite(
            &events,
            WriterOptions {
                compression: false,
                ..WriterOptions::default()
            },
        );
        if ours != data {
            let at = ours.iter().zip(&data).position(|(a, b)| a != b);
            panic!(
                "{name}: first difference at {at:?} (lengths {} vs {})",
                ours.len(),
                data.len()
            );
        }
    }
}

#[test]
fn compressed_and_unchecked_files_survive_a_rewrite() {
    for name in FIXTURES {
        let data = fixture(&format!("{name}.rdb"));
        let events = read_chunked(&data, &[data.len()], ReaderOptions::default()).unwrap();
        for (compression, checksum) in [(true, true), (false, false), (true, false)] {
            let ours = rewrite(
                &events,
                WriterOptions {
                    compression,
                    checksum,
                    ..WriterOptions::default()
                },
            );
            let again = read_all(&ours).unwrap();
            let strip = |evs: Vec<RdbEvent>| -> Vec<RdbEvent> {
                evs.into_iter()
                    .filter(|e| !matches!(e, RdbEvent::Eof { .. }))
                    .collect()
            };
            assert_eq!(
                strip(again),
                strip(events.iter().map(|(e, _)| e.clone()).collect()),
                "{name} compression={compression} checksum={checksum}"
            );
            if name == &"types" && compression {
                // Compression must actually have happened.
                assert!(ours.len() < fixture("types-nocompress.rdb").len() / 2);
            }
        }
    }
}

#[test]
fn lzf_compatibility_census() {
    // How many compressed DUMP payloads our LZF reproduces exactly (not
    // required: any valid LZF stream is fine), printed for information.
    let exp = expected("types");
    let (mut same, mut total) = (0, 0);
    for k in exp.dbs.values().flatten() {
        let parsed = parse_dump_payload(&k.dump).unwrap();
        total += 1;
        same += usize::from(dump_payload(&parsed).to_vec() == k.dump);
    }
    println!("{same} of {total} compressed DUMP payloads are byte-identical");
}
