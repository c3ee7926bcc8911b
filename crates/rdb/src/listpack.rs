//! Listpacks: the compact sequence Redis 7 uses for small hashes, sorted
//! sets and list nodes.
//!
//! Layout: total byte count (u32 LE), element count (u16 LE, 65535 when it
//! does not fit), the entries, and a 0xFF terminator. Each entry is an
//! encoding byte (which also says whether it is an integer or a string and
//! how long), the payload, then the entry's own length (encoding + payload)
//! written so it can be read backwards: big-endian 7-bit groups where every
//! byte but the first has its high bit set.

use crate::num::{i64_bytes, parse_canonical_i64};
use bytes::Bytes;

/// Bytes before the first entry.
const HEADER: usize = 6;
/// Terminator byte.
const EOF: u8 = 0xFF;
/// Element count meaning "count the entries".
const COUNT_UNKNOWN: u16 = u16::MAX;

/// One decoded entry, borrowing from the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Item<'a> {
    /// A string entry.
    Str(&'a [u8]),
    /// An integer entry.
    Int(i64),
}

impl Item<'_> {
    /// The entry as a string, integers in decimal.
    pub(crate) fn to_bytes(self) -> Bytes {
        match self {
            Item::Str(s) => Bytes::copy_from_slice(s),
            Item::Int(i) => i64_bytes(i),
        }
    }
}

type Result<T> = std::result::Result<T, &'static str>;

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
}

/// Size of the back-length field for an entry of `len` bytes.
fn backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The back-length field for an entry of `len` bytes, in a fixed buffer
/// of which the first [`backlen_size`] bytes are used.
fn backlen(len: usize) -> [u8; 5] {
    let n = backlen_size(len);
    let mut out = [0u8; 5];
    for (slot, i) in out.iter_mut().zip((0..n).rev()) {
        let group = ((len >> (7 * i)) & 127) as u8;
        // Every byte except the first carries the high bit.
        *slot = if i == n - 1 { group } else { group | 128 };
    }
    out
}

/// Appends the back-length field for an entry of `len` bytes.
fn push_backlen(out: &mut Vec<u8>, len: usize) {
    let field = backlen(len);
    out.extend_from_slice(field.get(..backlen_size(len)).unwrap_or_default());
}

/// Bytes an element takes in a listpack (encoding, payload, back-length),
/// with the integer conversion [`Builder::push`] applies.
pub(crate) fn entry_size(s: &[u8]) -> usize {
    let size = match parse_canonical_i64(s) {
        Some(v) if (0..=127).contains(&v) => 1,
        Some(v) if (-4096..=4095).contains(&v) => 2,
        Some(v) if (-32768..=32767).contains(&v) => 3,
        Some(v) if (-8388608..=8388607).contains(&v) => 4,
        Some(v) if (-2147483648..=2147483647).contains(&v) => 5,
        Some(_) => 9,
        None if s.len() < 64 => 1 + s.len(),
        None if s.len() < 4096 => 2 + s.len(),
        None => 5 + s.len(),
    };
    size + backlen_size(size)
}

/// Decodes and fully validates a listpack, calling `f` for each entry.
pub(crate) fn for_each<'a>(
    blob: &'a [u8],
    mut f: impl FnMut(Item<'a>) -> Result<()>,
) -> Result<()> {
    if blob.len() < HEADER + 1 {
        return Err("shorter than the header");
    }
    if le_u32(blob, 0) != Some(blob.len() as u32) || blob.len() > u32::MAX as usize {
        return Err("header byte count does not match the blob length");
    }
    if blob.last() != Some(&EOF) {
        return Err("missing terminator");
    }
    let declared = blob
        .get(4..6)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_le_bytes)
        .unwrap_or(0);
    let end = blob.len() - 1;
    let mut p = HEADER;
    let mut count: usize = 0;
    while p < end {
        let b = blob.get(p).copied().ok_or("entry past the end")?;
        // (encoding+payload size, item) for each encoding.
        let byte = |i: usize| blob.get(p + i).copied().ok_or("entry header past the end");
        let (size, item) = match b {
            0x00..=0x7f => (1, Item::Int(i64::from(b))),
            0x80..=0xbf => {
                let len = usize::from(b & 0x3f);
                let s = blob.get(p + 1..p + 1 + len).ok_or("string past the end")?;
                (1 + len, Item::Str(s))
            }
            0xc0..=0xdf => {
                let v = (i64::from(b & 0x1f) << 8) | i64::from(byte(1)?);
                (2, Item::Int(if v >= 1 << 12 { v - (1 << 13) } else { v }))
            }
            0xe0..=0xef => {
                let len = (usize::from(b & 0x0f) << 8) | usize::from(byte(1)?);
                let s = blob.get(p + 2..p + 2 + len).ok_or("string past the end")?;
                (2 + len, Item::Str(s))
            }
            0xf0 => {
                let len = le_u32(blob, p + 1).ok_or("entry header past the end")? as usize;
                let s = blob
                    .get(p + 5..(p + 5).saturating_add(len))
                    .ok_or("string past the end")?;
                (5 + len, Item::Str(s))
            }
            0xf1..=0xf4 => {
                let width = match b {
                    0xf1 => 2,
                    0xf2 => 3,
                    0xf3 => 4,
                    _ => 8,
                };
                let raw = blob
                    .get(p + 1..p + 1 + width)
                    .ok_or("integer past the end")?;
                let mut le = [0u8; 8];
                for (d, s) in le.iter_mut().zip(raw) {
                    *d = *s;
                }
                // Sign-extend from `width` bytes.
                let shift = 64 - 8 * width as u32;
                let v = (i64::from_le_bytes(le) << shift) >> shift;
                (1 + width, Item::Int(v))
            }
            _ => return Err("invalid entry encoding"),
        };
        let bl = backlen_size(size);
        let back = blob
            .get(p + size..p + size + bl)
            .ok_or("entry back-length past the end")?;
        if Some(back) != backlen(size).get(..bl) {
            return Err("entry back-length does not match its size");
        }
        p += size + bl;
        if p > end {
            return Err("entry overlaps the terminator");
        }
        count += 1;
        f(item)?;
    }
    if declared != COUNT_UNKNOWN && usize::from(declared) != count {
        return Err("header element count does not match the entries");
    }
    Ok(())
}

/// Builds a listpack in a reusable buffer.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    buf: Vec<u8>,
    count: usize,
}

impl Builder {
    /// Starts a new, empty listpack (reusing the buffer).
    pub(crate) fn start(&mut self) {
        self.buf.clear();
        self.buf.extend_from_slice(&[0; HEADER]);
        self.count = 0;
    }

    /// Size the finished listpack would have now (Redis's `lpBytes`).
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// Appends a string, stored as an integer when it is a canonical one
    /// (as Redis's `lpAppend` does).
    pub(crate) fn push(&mut self, s: &[u8]) {
        match parse_canonical_i64(s) {
            Some(v) => self.push_int(v),
            None => self.push_str(s),
        }
    }

    fn push_str(&mut self, s: &[u8]) {
        let len = s.len();
        let head = if len < 64 {
            self.buf.push(0x80 | len as u8);
            1
        } else if len < 4096 {
            self.buf.push(0xe0 | (len >> 8) as u8);
            self.buf.push((len & 0xff) as u8);
            2
        } else {
            self.buf.push(0xf0);
            self.buf.extend_from_slice(&(len as u32).to_le_bytes());
            5
        };
        self.buf.extend_from_slice(s);
        push_backlen(&mut self.buf, head + len);
        self.count += 1;
    }

    /// Appends an integer with the smallest encoding that holds it.
    pub(crate) fn push_int(&mut self, v: i64) {
        let size = if (0..=127).contains(&v) {
            self.buf.push(v as u8);
            1
        } else if (-4096..=4095).contains(&v) {
            let u = (v & 0x1fff) as u16;
            self.buf.push(0xc0 | (u >> 8) as u8);
            self.buf.push((u & 0xff) as u8);
            2
        } else {
            let (tag, width) = if (-32768..=32767).contains(&v) {
                (0xf1, 2)
            } else if (-8388608..=8388607).contains(&v) {
                (0xf2, 3)
            } else if (-2147483648..=2147483647).contains(&v) {
                (0xf3, 4)
            } else {
                (0xf4, 8)
            };
            self.buf.push(tag);
            self.buf
                .extend_from_slice(v.to_le_bytes().get(..width).unwrap_or_default());
            1 + width
        };
        push_backlen(&mut self.buf, size);
        self.count += 1;
    }

    /// Terminates the listpack, fills in the header and returns it. The
    /// builder must be [`start`](Self::start)ed again before reuse.
    pub(crate) fn finish(&mut self) -> &[u8] {
        self.buf.push(EOF);
        let total = (self.buf.len() as u32).to_le_bytes();
        let count = u16::try_from(self.count)
            .unwrap_or(COUNT_UNKNOWN)
            .to_le_bytes();
        let header = [total[0], total[1], total[2], total[3], count[0], count[1]];
        if let Some(h) = self.buf.get_mut(..HEADER) {
            h.copy_from_slice(&header);
        }
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(blob: &[u8]) -> Result<Vec<Item<'_>>> {
        let mut v = Vec::new();
        for_each(blob, |i| {
            v.push(i);
            Ok(())
        })?;
        Ok(v)
    }

    #[test]
    fn roundtrips_every_encoding() {
        let ints = [
            0,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            32767,
            -32768,
            32768,
            8388607,
            -8388608,
            8388608,
            i32::MAX as i64,
            i32::MIN as i64,
            i32::MAX as i64 + 1,
            i64::MAX,
            i64::MIN,
        ];
        let strs: Vec<Vec<u8>> = vec![
            vec![],
            b"a".to_vec(),
            vec![b'x'; 63],
            vec![b'x'; 64],
            vec![b'y'; 4095],
            vec![b'z'; 4096],
            vec![b'w'; 20000],
            b"007".to_vec(),
        ];
        let mut b = Builder::default();
        b.start();
        for &i in &ints {
            b.push_int(i);
        }
        for s in &strs {
            b.push(s);
        }
        let expected_size: usize = 7
            + ints
                .iter()
                .map(|i| entry_size(i.to_string().as_bytes()))
                .sum::<usize>()
            + strs.iter().map(|s| entry_size(s)).sum::<usize>();
        assert_eq!(b.bytes(), expected_size);
        let blob = b.finish().to_vec();
        assert_eq!(blob.len(), expected_size);
        let items = decode(&blob).unwrap_or_default();
        assert_eq!(items.len(), ints.len() + strs.len());
        for (item, &i) in items.iter().zip(&ints) {
            assert_eq!(*item, Item::Int(i));
        }
        for (item, s) in items[ints.len()..].iter().zip(&strs) {
            assert_eq!(*item, Item::Str(s));
        }
    }

    #[test]
    fn known_bytes() {
        // "a", 1, -1 as Redis writes them.
        let mut b = Builder::default();
        b.start();
        b.push(b"a");
        b.push(b"1");
        b.push(b"-1");
        assert_eq!(
            b.finish(),
            &[0x0f, 0, 0, 0, 3, 0, 0x81, b'a', 2, 0x01, 1, 0xdf, 0xff, 2, 0xff][..]
        );
    }

    #[test]
    fn rejects_corruption() {
        let mut b = Builder::default();
        b.start();
        b.push(b"hello");
        b.push(b"12345");
        let good = b.finish().to_vec();
        assert!(decode(&good).is_ok());
        for i in 0..good.len() {
            for delta in [1u8, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] = bad[i].wrapping_add(delta);
                // Must not panic; most flips are detected.
                let _ = decode(&bad);
            }
        }
        let mut bad = good.clone();
        bad[4] = 5;
        assert!(decode(&bad).is_err());
        assert!(decode(&good[..good.len() - 1]).is_err());
        assert!(decode(&[7, 0, 0, 0, 0, 0, 0xff]).is_ok());
    }
}
