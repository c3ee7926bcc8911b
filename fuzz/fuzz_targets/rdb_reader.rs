//! Feeds arbitrary bytes (behind a valid RDB header, so the fuzzer spends
//! its time past the magic check) to `RdbReader`, whole and split at a
//! fuzzer-chosen point: it must never panic, both feedings must give the
//! same events and error, and any entry read must survive a write/read
//! round trip. The same bytes also go through `parse_dump_payload`.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rdb::{RdbError, RdbEvent, RdbReader, RdbWriter, ReaderOptions, WriterOptions};

fn run(input: &[u8], cut: usize) -> (Vec<RdbEvent>, Result<(), RdbError>) {
    // Small limits keep the fuzzer from spending time on huge allocations
    // that the default limits would (rightly) allow.
    let mut r = RdbReader::new(ReaderOptions {
        max_string_len: 1 << 20,
        max_elements: 1 << 16,
        ..ReaderOptions::default()
    });
    let mut events = Vec::new();
    let (a, b) = input.split_at(cut.min(input.len()));
    for part in [a, b] {
        r.feed(part);
        loop {
            match r.next_event() {
                Ok(Some(ev)) => events.push(ev),
                Ok(None) => break,
                Err(e) => return (events, Err(e)),
            }
        }
    }
    let end = r.finish();
    (events, end)
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, body)) = data.split_first() else {
        return;
    };
    let version = 6 + u32::from(control % 7);
    let mut input = format!("REDIS{version:04}").into_bytes();
    input.extend_from_slice(body);
    let cut = usize::from(control) * input.len() / 255;
    let whole = run(&input, input.len());
    let split = run(&input, cut);
    assert_eq!(whole, split);

    let mut w = RdbWriter::new(WriterOptions::default());
    for ev in &whole.0 {
        if let RdbEvent::Entry(e) = ev {
            let mut out = BytesMut::new();
            w.write_header(&mut out);
            if w.write_entry(e, &mut out).is_ok() {
                w.write_eof(&mut out);
            }
            let _ = rdb::read_all(&out);
            let payload = w.dump_payload(&e.value);
            assert!(rdb::parse_dump_payload(&payload).is_ok());
        }
    }
    let _ = rdb::parse_dump_payload(body);
});
