//! LZF, the compression Redis applies to RDB strings.
//!
//! The stream is a sequence of items, each introduced by a control byte:
//! below 32 it is a run of `ctrl + 1` literal bytes; otherwise its top three
//! bits hold a match length (7 means "add the next byte"), its low five bits
//! and the following byte a distance, and the item copies `length + 2`
//! bytes starting `distance + 1` bytes back in the output (the copy may
//! overlap what it produces).
//!
//! Our own codec rather than the `lzf` crate: that one allocates a 512 KiB
//! hash table on every call, which dominates the cost of compressing the
//! many small strings of an RDB file. Its output is still read here (and
//! ours by it) in the tests.

/// Longest literal run one control byte can announce.
const MAX_LITERAL: usize = 32;
/// Farthest back a match can reach.
const MAX_DISTANCE: usize = 1 << 13;
/// Longest match one item can copy: 7 + 255 + 2.
const MAX_MATCH: usize = 264;
/// Most output bytes a single input byte can produce: a 3-byte item that
/// copies `MAX_MATCH` bytes. Bounds the plausible uncompressed length.
pub(crate) const MAX_EXPANSION: u64 = 88;

/// Largest uncompressed length that `clen` compressed bytes can decode to.
pub(crate) fn max_decompressed_len(clen: u64) -> u64 {
    clen.saturating_mul(MAX_EXPANSION)
        .saturating_add(MAX_MATCH as u64)
}

/// Decompresses `input`, which must produce exactly `ulen` bytes. The
/// output buffer is sized from `ulen`, so callers bound it first (see
/// [`max_decompressed_len`]).
pub(crate) fn decompress(input: &[u8], ulen: usize) -> Result<Vec<u8>, &'static str> {
    let mut out: Vec<u8> = Vec::with_capacity(ulen);
    let mut i = 0;
    while let Some(&ctrl) = input.get(i) {
        i += 1;
        if usize::from(ctrl) < MAX_LITERAL {
            let run = usize::from(ctrl) + 1;
            let lit = input
                .get(i..i + run)
                .ok_or("literal run goes past the end of the data")?;
            if out.len() + run > ulen {
                return Err("data decompresses to more than the announced length");
            }
            out.extend_from_slice(lit);
            i += run;
        } else {
            let mut len = usize::from(ctrl >> 5);
            if len == 7 {
                len += usize::from(*input.get(i).ok_or("match cut short")?);
                i += 1;
            }
            let low = usize::from(*input.get(i).ok_or("match cut short")?);
            i += 1;
            let distance = ((usize::from(ctrl) & 0x1f) << 8) + low + 1;
            let len = len + 2;
            let Some(start) = out.len().checked_sub(distance) else {
                return Err("match refers to before the start of the output");
            };
            if out.len() + len > ulen {
                return Err("data decompresses to more than the announced length");
            }
            if distance == 1 {
                // A run of one repeated byte.
                let b = out.last().copied().unwrap_or_default();
                out.resize(out.len() + len, b);
            } else {
                // The copy may overlap what it produces: the source repeats
                // with period `distance`, so copy at most that much at once.
                let mut from = start;
                let mut left = len;
                while left > 0 {
                    let n = left.min(distance);
                    out.extend_from_within(from..from + n);
                    from += n;
                    left -= n;
                }
            }
        }
    }
    if out.len() != ulen {
        return Err("data decompresses to less than the announced length");
    }
    Ok(out)
}

/// An LZF compressor that keeps its hash table between calls, so that
/// compressing many small strings costs no allocation.
#[derive(Debug, Default)]
pub(crate) struct LzfCompressor {
    /// Last position + 1 (0 = empty) seen for each hash of 3 bytes.
    table: Vec<u32>,
}

impl LzfCompressor {
    /// Compresses `input` into `out` (cleared first). Returns false, with
    /// `out` in an unspecified state, when the result would be longer than
    /// `max_len` bytes.
    pub(crate) fn compress(&mut self, input: &[u8], out: &mut Vec<u8>, max_len: usize) -> bool {
        out.clear();
        let n = input.len();
        // Positions are stored as u32 + 1; longer inputs are never
        // compressed (Redis strings stop at 512 MiB anyway).
        if n == 0 || n >= u32::MAX as usize {
            return false;
        }
        // Table size follows the input so small strings clear a small table;
        // it is cleared every call so output depends on the input only.
        let bits = (usize::BITS - n.leading_zeros()).clamp(8, 16);
        let size = 1usize << bits;
        if self.table.len() < size {
            self.table.resize(size, 0);
        }
        let Some(table) = self.table.get_mut(..size) else {
            return false;
        };
        table.fill(0);
        let hash = |p: usize| -> usize {
            match input.get(p..p + 3) {
                Some(&[a, b, c]) => {
                    let v = u32::from_le_bytes([a, b, c, 0]);
                    (v.wrapping_mul(0x9E37_79B1) >> (32 - bits)) as usize
                }
                _ => 0,
            }
        };

        // Index in `out` of the control byte of the open literal run.
        let mut run_ctrl = 0;
        let mut run_len = 0usize;
        out.push(0);
        let mut i = 0;
        while i < n {
            let mut matched = 0;
            let mut distance = 0;
            if i + 2 < n {
                let h = hash(i);
                let candidate = table.get(h).copied().unwrap_or(0) as usize;
                if let Some(slot) = table.get_mut(h) {
                    *slot = i as u32 + 1;
                }
                if candidate != 0 {
                    let r = candidate - 1;
                    distance = i - r;
                    if distance <= MAX_DISTANCE {
                        let limit = MAX_MATCH.min(n - i);
                        matched = input
                            .get(r..r + limit)
                            .zip(input.get(i..i + limit))
                            .map(|(a, b)| a.iter().zip(b).take_while(|(x, y)| x == y).count())
                            .unwrap_or(0);
                    }
                }
            }
            if matched >= 3 {
                // Close the literal run, or drop its unused control byte.
                if run_len > 0 {
                    if let Some(c) = out.get_mut(run_ctrl) {
                        *c = (run_len - 1) as u8;
                    }
                } else {
                    out.pop();
                }
                let code = matched - 2;
                let d = distance - 1;
                if code < 7 {
                    out.push(((code << 5) | (d >> 8)) as u8);
                } else {
                    out.push(((7 << 5) | (d >> 8)) as u8);
                    out.push((code - 7) as u8);
                }
                out.push((d & 0xff) as u8);
                // Remember the positions inside the match for later matches.
                for p in i + 1..(i + matched).min(n.saturating_sub(2)) {
                    if let Some(slot) = table.get_mut(hash(p)) {
                        *slot = p as u32 + 1;
                    }
                }
                i += matched;
                run_ctrl = out.len();
                run_len = 0;
                out.push(0);
            } else {
                out.push(input.get(i).copied().unwrap_or_default());
                run_len += 1;
                i += 1;
                if run_len == MAX_LITERAL {
                    if let Some(c) = out.get_mut(run_ctrl) {
                        *c = (MAX_LITERAL - 1) as u8;
                    }
                    run_ctrl = out.len();
                    run_len = 0;
                    out.push(0);
                }
            }
            if out.len() > max_len + 1 {
                return false;
            }
        }
        if run_len > 0 {
            if let Some(c) = out.get_mut(run_ctrl) {
                *c = (run_len - 1) as u8;
            }
        } else {
            out.pop();
        }
        out.len() <= max_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(data: &[u8]) -> Option<Vec<u8>> {
        let mut c = LzfCompressor::default();
        let mut out = Vec::new();
        if !c.compress(data, &mut out, data.len()) {
            return None;
        }
        assert_eq!(decompress(&out, data.len()).as_deref(), Ok(data));
        Some(out)
    }

    #[test]
    fn compresses_repetitive_data() {
        let data = vec![b'a'; 1000];
        let c = roundtrip(&data).unwrap_or_default();
        assert!(c.len() < 20, "{}", c.len());
        let text = b"hello world, hello world, hello world, hello world!".repeat(40);
        assert!(roundtrip(&text).is_some());
    }

    #[test]
    fn gives_up_on_random_data() {
        let mut x = 0x1234_5678_u32;
        let data: Vec<u8> = (0..500)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let mut c = LzfCompressor::default();
        let mut out = Vec::new();
        assert!(!c.compress(&data, &mut out, data.len() - 4));
    }

    #[test]
    fn decompress_rejects_bad_streams() {
        assert!(decompress(&[], 1).is_err());
        assert!(decompress(&[5, b'a'], 6).is_err());
        // A match before any output.
        assert!(decompress(&[0x20, 0x00], 3).is_err());
        // Output longer than announced.
        assert!(decompress(&[1, b'a', b'b'], 1).is_err());
        // Overlapping match: "a" then copy 8 bytes from distance 1.
        assert_eq!(
            decompress(&[0, b'a', 0xc0, 0x00], 9).as_deref(),
            Ok(&b"aaaaaaaaa"[..])
        );
    }

    #[test]
    fn matches_the_reference_implementation() {
        let samples: Vec<Vec<u8>> = vec![
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            b"abcabcabcabcabcabcabcabcabcabcabcabcxyzxyzxyzxyz".repeat(100),
            (0..5000u32).map(|i| (i % 251) as u8).collect(),
            (0..20000u32).map(|i| (i * i % 7) as u8).collect(),
        ];
        for s in samples {
            let ours = roundtrip(&s).unwrap_or_default();
            assert_eq!(lzf::decompress(&ours, s.len()).as_deref(), Ok(&s[..]));
            if let Ok(theirs) = lzf::compress(&s) {
                assert_eq!(decompress(&theirs, s.len()).as_deref(), Ok(&s[..]));
            }
        }
    }
}
