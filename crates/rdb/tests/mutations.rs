//! Mutation smoke test: fixtures damaged at random (flips, insertions,
//! deletions, overwritten lengths), read with checksum verification off so
//! that the structure parsers see the damage. The reader must never panic
//! and must agree with itself however the input is chunked.
//! `RDB_MUTATIONS=<n>` runs more iterations (e.g. in release mode).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Black-box tests drive files and sockets; only the library is sans-IO.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use common::{fixture, read_chunked};
use rdb::{parse_dump_payload, ReaderOptions};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(3) {
        let at = 9 + rng.below(data.len().saturating_sub(9));
        match rng.below(5) {
            0 => {
                if let Some(b) = data.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
            }
            1 => {
                if let Some(b) = data.get_mut(at) {
                    *b =
                        [0x00, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0xc0, 0xc3, 0xfe, 0xff][rng.below(10)];
                }
            }
            2 => data.insert(at.min(data.len()), rng.next() as u8),
            3 => {
                if at < data.len() {
                    data.remove(at);
                }
            }
            _ => {
                // A 32-bit length with a random value.
                let len = (rng.next() as u32).to_be_bytes();
                let at = at.min(data.len());
                data.splice(at..at, [0x80, len[0], len[1], len[2], len[3]]);
            }
        }
    }
}

#[test]
fn mutated_fixtures_never_panic() {
    let iterations: usize = std::env::var("RDB_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let opts = ReaderOptions {
        verify_checksum: false,
        max_string_len: 1 << 24,
        max_elements: 1 << 20,
        ..ReaderOptions::default()
    };
    let sources: Vec<Vec<u8>> = ["lfu.rdb", "types.rdb", "types-nocompress.rdb"]
        .iter()
        .map(|n| fixture(n))
        .collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..iterations {
        let mut data = sources[i % sources.len()].clone();
        mutate(&mut rng, &mut data);
        let whole = read_chunked(&data, &[data.len()], opts.clone());
        let chunk = 1 + rng.below(3000);
        let split = read_chunked(&data, &[chunk], opts.clone());
        assert_eq!(whole, split, "iteration {i}, chunk {chunk}");
        let _ = parse_dump_payload(&data[9..data.len().min(2000)]);
    }
}
