//! Ziplists (read only): the compact sequence of Redis 2.6 to 6.2, found in
//! RDB types 10, 12, 13 and in quicklist nodes of type 14.
//!
//! Layout: total bytes (u32 LE), offset of the last entry (u32 LE), entry
//! count (u16 LE, 65535 when it does not fit), entries, 0xFF. Each entry is
//! the previous entry's size (1 byte, or 0xFE and a u32 LE), an encoding
//! (string lengths in 1, 2 or 5 bytes, big-endian; or an integer kind), and
//! the payload.

use crate::listpack::Item;

type Result<T> = std::result::Result<T, &'static str>;

const HEADER: usize = 10;
const EOF: u8 = 0xFF;
const BIG_PREVLEN: u8 = 0xFE;

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
}

/// Sign-extends the little-endian integer in `raw` (1 to 8 bytes).
fn le_signed(raw: &[u8]) -> i64 {
    let mut le = [0u8; 8];
    for (d, s) in le.iter_mut().zip(raw) {
        *d = *s;
    }
    let shift = 64 - 8 * raw.len().clamp(1, 8) as u32;
    (i64::from_le_bytes(le) << shift) >> shift
}

/// Decodes and fully validates a ziplist, calling `f` for each entry.
pub(crate) fn for_each<'a>(
    blob: &'a [u8],
    mut f: impl FnMut(Item<'a>) -> Result<()>,
) -> Result<()> {
    if blob.len() < HEADER + 1 {
        return Err("shorter than the header");
    }
    if le_u32(blob, 0).map(|n| n as usize) != Some(blob.len()) {
        return Err("header byte count does not match the blob length");
    }
    if blob.last() != Some(&EOF) {
        return Err("missing terminator");
    }
    let end = blob.len() - 1;
    let tail = le_u32(blob, 4).map(|n| n as usize).unwrap_or(usize::MAX);
    if tail > end {
        return Err("tail offset outside the blob");
    }
    let declared = blob
        .get(8..10)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_le_bytes)
        .unwrap_or(0);
    let mut p = HEADER;
    let mut prev_size = 0usize;
    let mut last_start = None;
    let mut count = 0usize;
    while p < end {
        let at = |i: usize| blob.get(i).copied().ok_or("entry header past the end");
        let start = p;
        let first = at(p)?;
        let prevlen = if first == BIG_PREVLEN {
            let v = le_u32(blob, p + 1).ok_or("entry header past the end")? as usize;
            p += 5;
            v
        } else {
            p += 1;
            usize::from(first)
        };
        if prevlen != prev_size {
            return Err("previous-entry length does not match");
        }
        let enc = at(p)?;
        let item = match enc >> 6 {
            0b00..=0b10 => {
                let (len, head) = match enc >> 6 {
                    0b00 => (usize::from(enc & 0x3f), 1),
                    0b01 => ((usize::from(enc & 0x3f) << 8) | usize::from(at(p + 1)?), 2),
                    _ => {
                        let raw: [u8; 4] = blob
                            .get(p + 1..p + 5)
                            .and_then(|s| s.try_into().ok())
                            .ok_or("entry header past the end")?;
                        (u32::from_be_bytes(raw) as usize, 5)
                    }
                };
                let s = blob
                    .get(p + head..(p + head).saturating_add(len))
                    .ok_or("string past the end")?;
                p += head + len;
                Item::Str(s)
            }
            _ => {
                let width = match enc {
                    0xc0 => 2,
                    0xd0 => 4,
                    0xe0 => 8,
                    0xf0 => 3,
                    0xfe => 1,
                    0xf1..=0xfd => 0,
                    _ => return Err("invalid entry encoding"),
                };
                let v = if width == 0 {
                    i64::from(enc & 0x0f) - 1
                } else {
                    le_signed(
                        blob.get(p + 1..p + 1 + width)
                            .ok_or("integer past the end")?,
                    )
                };
                p += 1 + width;
                Item::Int(v)
            }
        };
        if p > end {
            return Err("entry overlaps the terminator");
        }
        prev_size = p - start;
        last_start = Some(start);
        count += 1;
        f(item)?;
    }
    if let Some(last) = last_start {
        if last != tail {
            return Err("tail offset does not point at the last entry");
        }
    }
    if declared != u16::MAX && usize::from(declared) != count {
        return Err("header entry count does not match the entries");
    }
    Ok(())
}

/// Builds ziplists; only the tests need to write them (Redis 7 never does).
#[cfg(test)]
pub(crate) fn build(items: &[Item<'_>]) -> Vec<u8> {
    let mut out = vec![0u8; HEADER];
    let mut prev = 0usize;
    let mut tail = HEADER;
    for item in items {
        let start = out.len();
        tail = start;
        if prev < 254 {
            out.push(prev as u8);
        } else {
            out.push(BIG_PREVLEN);
            out.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        match *item {
            Item::Str(s) => {
                if s.len() < 64 {
                    out.push(s.len() as u8);
                } else if s.len() < 16384 {
                    out.push(0x40 | (s.len() >> 8) as u8);
                    out.push((s.len() & 0xff) as u8);
                } else {
                    out.push(0x80);
                    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
                }
                out.extend_from_slice(s);
            }
            Item::Int(v) => {
                if (0..=12).contains(&v) {
                    out.push(0xf1 + v as u8);
                } else if let Ok(x) = i8::try_from(v) {
                    out.push(0xfe);
                    out.extend_from_slice(&x.to_le_bytes());
                } else if let Ok(x) = i16::try_from(v) {
                    out.push(0xc0);
                    out.extend_from_slice(&x.to_le_bytes());
                } else if (-(1 << 23)..(1 << 23)).contains(&v) {
                    out.push(0xf0);
                    out.extend_from_slice(&v.to_le_bytes()[..3]);
                } else if let Ok(x) = i32::try_from(v) {
                    out.push(0xd0);
                    out.extend_from_slice(&x.to_le_bytes());
                } else {
                    out.push(0xe0);
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        prev = out.len() - start;
    }
    out.push(EOF);
    let total = out.len() as u32;
    out[0..4].copy_from_slice(&total.to_le_bytes());
    out[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
    let count = u16::try_from(items.len()).unwrap_or(u16::MAX);
    out[8..10].copy_from_slice(&count.to_le_bytes());
    out
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
    fn decodes_the_documented_example() {
        // Two entries, 2 and 5, as immediate integers.
        let zl = [
            0x0f, 0, 0, 0, 0x0c, 0, 0, 0, 2, 0, 0x00, 0xf3, 0x02, 0xf6, 0xff,
        ];
        assert_eq!(decode(&zl), Ok(vec![Item::Int(2), Item::Int(5)]));
    }

    #[test]
    fn roundtrips() {
        let big = vec![b'q'; 300];
        let huge = vec![b'h'; 17000];
        let items = [
            Item::Int(0),
            Item::Int(12),
            Item::Int(13),
            Item::Int(-128),
            Item::Int(1000),
            Item::Int(-(1 << 23)),
            Item::Int(1 << 23),
            Item::Int(i64::MIN),
            Item::Str(b""),
            Item::Str(&big),
            Item::Str(b"after a big one"),
            Item::Str(&huge),
            Item::Int(7),
        ];
        let zl = build(&items);
        assert_eq!(decode(&zl), Ok(items.to_vec()));
        assert_eq!(decode(&build(&[])), Ok(vec![]));
    }

    #[test]
    fn rejects_corruption_without_panicking() {
        let zl = build(&[Item::Str(b"abc"), Item::Int(300), Item::Str(b"x")]);
        for i in 0..zl.len() {
            for d in [1u8, 0x40, 0x80, 0xff] {
                let mut bad = zl.clone();
                bad[i] = bad[i].wrapping_add(d);
                let _ = decode(&bad);
            }
            let _ = decode(&zl[..i]);
        }
        let mut bad = zl.clone();
        bad[4] = 11; // tail offset
        assert!(decode(&bad).is_err());
    }
}
