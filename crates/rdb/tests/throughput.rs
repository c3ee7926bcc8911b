//! Rough throughput figures (run with `--release -- --ignored --nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// A measurement helper, ignored by default: it reads the clock the library
// itself may not.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use rdb::{read_all, RdbEntry, RdbValue, RdbWriter, WriterOptions};

fn data_set() -> Vec<RdbEntry> {
    let b = |s: String| Bytes::from(s);
    let mut v = Vec::new();
    for i in 0..20_000 {
        v.push(RdbEntry::new(
            b(format!("str:{i}")),
            RdbValue::String(b(format!("value number {i} {}", "x".repeat(i % 100)))),
        ));
    }
    for i in 0..200 {
        v.push(RdbEntry::new(
            b(format!("list:{i}")),
            RdbValue::List((0..500).map(|j| b(format!("el{j}"))).collect()),
        ));
        v.push(RdbEntry::new(
            b(format!("hash:{i}")),
            RdbValue::Hash(
                (0..1000)
                    .map(|j| (b(format!("f{j}")), b(format!("v{j}"))))
                    .collect(),
            ),
        ));
        v.push(RdbEntry::new(
            b(format!("zset:{i}")),
            RdbValue::SortedSet(
                (0..300)
                    .map(|j| (b(format!("m{j}")), f64::from(j) * 0.5))
                    .collect(),
            ),
        ));
        v.push(RdbEntry::new(
            b(format!("set:{i}")),
            RdbValue::Set((0..100).map(|j| b(format!("{j}"))).collect()),
        ));
    }
    v
}

#[test]
#[ignore]
fn throughput() {
    let entries = data_set();
    for compression in [false, true] {
        let t = Instant::now();
        let mut w = RdbWriter::new(WriterOptions {
            compression,
            ..WriterOptions::default()
        });
        let mut out = BytesMut::new();
        let mut total = 0;
        w.write_header(&mut out);
        for e in &entries {
            w.write_entry(e, &mut out).unwrap();
            if out.len() > 64 * 1024 {
                total += out.split().len();
            }
        }
        w.write_eof(&mut out);
        total += out.len();
        let dt = t.elapsed();
        assert!(total > 0);
        // Build the file for reading.
        let mut w = RdbWriter::new(WriterOptions {
            compression,
            ..WriterOptions::default()
        });
        let mut out = BytesMut::new();
        w.write_header(&mut out);
        for e in &entries {
            w.write_entry(e, &mut out).unwrap();
        }
        w.write_eof(&mut out);
        let size = out.len();
        println!(
            "write compression={compression}: {size} bytes in {dt:?} ({:.0} MB/s)",
            size as f64 / dt.as_secs_f64() / 1e6
        );
        let t = Instant::now();
        let ev = read_all(&out).unwrap();
        let dt = t.elapsed();
        println!(
            "read  compression={compression}: {} events in {dt:?} ({:.0} MB/s)",
            ev.len(),
            size as f64 / dt.as_secs_f64() / 1e6
        );
        let t = Instant::now();
        let mut r = rdb::RdbReader::new(rdb::ReaderOptions {
            reject_duplicates: false,
            verify_checksum: false,
            ..Default::default()
        });
        let mut n = 0;
        for c in out.chunks(64 * 1024) {
            r.feed(c);
            while let Some(_e) = r.next_event().unwrap() {
                n += 1;
            }
        }
        let dt = t.elapsed();
        println!(
            "read (no dup check, no crc): {n} events in {dt:?} ({:.0} MB/s)",
            size as f64 / dt.as_secs_f64() / 1e6
        );
    }
}
