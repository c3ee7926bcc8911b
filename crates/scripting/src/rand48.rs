//! The 48-bit linear congruential generator behind `math.random` in Redis's
//! scripts (the POSIX `lrand48` recurrence), so seeded sequences match
//! Redis's exactly.

const A: u64 = 0x5_DEEC_E66D;
const C: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;

/// Generator state.
#[derive(Debug, Clone, Copy)]
pub struct Rand48 {
    x: u64,
}

impl Default for Rand48 {
    fn default() -> Self {
        // lrand48's state before any seeding.
        Rand48 {
            x: 0x1234_ABCD_330E,
        }
    }
}

impl Rand48 {
    /// Reseeds as `srand48(seed)`.
    pub fn seed(&mut self, seed: i32) {
        self.x = ((u64::from(seed as u32)) << 16 | 0x330E) & MASK;
    }

    /// The next value in 0..2^31, as `lrand48()`.
    pub fn next(&mut self) -> i32 {
        self.x = (A.wrapping_mul(self.x).wrapping_add(C)) & MASK;
        (self.x >> 17) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::Rand48;

    /// glibc's lrand48 after srand48(0) starts 366850414, 1610402240; after
    /// srand48(42), 1598855263.
    #[test]
    fn matches_lrand48() {
        let mut r = Rand48::default();
        r.seed(0);
        assert_eq!(r.next(), 366_850_414);
        assert_eq!(r.next(), 1_610_402_240);
        r.seed(42);
        assert_eq!(r.next(), 1_598_855_263);
    }
}
