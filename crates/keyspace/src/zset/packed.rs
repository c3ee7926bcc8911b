//! The compact encoding of a small sorted set (Redis's listpack): (member,
//! score) entries in rank order in one [`PackedBuf`], searched linearly.

use std::cmp::Ordering;

use crate::packed::{Entries, PackedBuf};

use super::cmp_entry;

/// The score a compact (listpack) sorted set keeps: Redis stores integral
/// scores as integers there, so `-0` loses its sign.
pub(super) fn listpack_score(s: f64) -> f64 {
    if s == 0.0 {
        0.0
    } else {
        s
    }
}

/// Integral scores of magnitude below this are stored as integers.
pub(super) const SCORE_INT_LIMIT: f64 = (1u64 << 55) as f64;

/// A packed score: integral scores (other than `-0`) below 2^55 in
/// magnitude as the fewest little-endian two's-complement bytes (0 to 7;
/// none for 0), anything else as the 8 bytes of the `f64`. Returns the
/// buffer and the number of bytes used. Decoding is exact.
pub fn encode_score(s: f64) -> ([u8; 8], usize) {
    if s.fract() == 0.0 && s.abs() < SCORE_INT_LIMIT && !(s == 0.0 && s.is_sign_negative()) {
        let i = s as i64;
        let mut n = 0;
        while n < 7 {
            let bits = 8 * n as u32;
            let fits = if n == 0 {
                i == 0
            } else {
                let lim = 1i64 << (bits - 1);
                (-lim..lim).contains(&i)
            };
            if fits {
                break;
            }
            n += 1;
        }
        (i.to_le_bytes(), n)
    } else {
        (s.to_le_bytes(), 8)
    }
}

/// Reads a score written by [`encode_score`].
pub fn decode_score(b: &[u8]) -> f64 {
    if let Ok(a) = <[u8; 8]>::try_from(b) {
        return f64::from_le_bytes(a);
    }
    let neg = b.last().is_some_and(|&x| x & 0x80 != 0);
    let mut a = [if neg { 0xff } else { 0 }; 8];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    i64::from_le_bytes(a) as f64
}

/// (member, score) entries of a packed sorted set, in order.
#[derive(Debug, Clone)]
pub struct PackedPairs<'a>(Entries<'a>);

impl<'a> Iterator for PackedPairs<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        let m = self.0.next()?;
        let s = self.0.next()?;
        Some((m, decode_score(s)))
    }
}

pub(super) fn zpairs(p: &PackedBuf) -> PackedPairs<'_> {
    PackedPairs(p.iter())
}

/// A packed (member, score) pair with its byte span.
pub(super) struct Located {
    pub(super) rank: usize,
    pub(super) score: f64,
    pub(super) start: usize,
    pub(super) end: usize,
}

/// Finds a member of a packed set.
pub(super) fn packed_find(p: &PackedBuf, member: &[u8]) -> Option<Located> {
    let mut it = p.iter();
    let mut rank = 0;
    loop {
        let start = it.pos();
        let m = it.next()?;
        let s = it.next()?;
        if m == member {
            return Some(Located {
                rank,
                score: decode_score(s),
                start,
                end: it.pos(),
            });
        }
        rank += 1;
    }
}

/// The byte offset where (member, score) belongs in a packed set, ignoring
/// the bytes `skip` (an entry being moved), and the number of pairs.
pub(super) fn packed_insert_pos(
    p: &PackedBuf,
    member: &[u8],
    score: f64,
    skip: Option<(usize, usize)>,
) -> (usize, usize) {
    let mut it = p.iter();
    let mut pos = None;
    let mut n = 0;
    loop {
        let start = it.pos();
        let (Some(m), Some(s)) = (it.next(), it.next()) else {
            return (pos.unwrap_or(start), n);
        };
        n += 1;
        if pos.is_none()
            && skip.is_none_or(|(a, _)| a != start)
            && cmp_entry(decode_score(s), m, score, member) != Ordering::Less
        {
            pos = Some(start);
        }
    }
}

/// The encoded (member, score) pair.
pub(super) fn packed_pair(member: &[u8], score: f64) -> Vec<u8> {
    let (b, n) = encode_score(score);
    let mut out = Vec::with_capacity(member.len() + 11);
    PackedBuf::encode_into(&mut out, member);
    PackedBuf::encode_into(&mut out, b.get(..n).unwrap_or_default());
    out
}

/// Inserts (member, score) into a packed set at its sorted position.
pub(super) fn packed_insert(p: &mut PackedBuf, member: &[u8], score: f64) {
    let (at, _) = packed_insert_pos(p, member, score, None);
    p.splice_bytes(at, at, &packed_pair(member, score));
}
