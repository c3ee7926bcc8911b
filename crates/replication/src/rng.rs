//! A tiny deterministic generator for replication IDs and EOF marks.
//!
//! Redis draws these from `getRandomHexChars`; here the caller seeds the
//! machine so runs are reproducible in tests. SplitMix64 is plenty: the
//! values only need to be unpredictable enough not to collide.

use repl_backlog::{ReplId, REPLID_LEN};

/// SplitMix64 state.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded by the caller.
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// Next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A fresh 40-hex-character replication ID.
    pub(crate) fn replid(&mut self) -> ReplId {
        let mut raw = [0u8; 20];
        for chunk in raw.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        ReplId::from_random(raw)
    }

    /// A fresh 40-character EOF mark for diskless transfers (hex, like
    /// Redis's).
    pub(crate) fn eof_mark(&mut self) -> [u8; REPLID_LEN] {
        *self.replid().as_bytes()
    }
}
