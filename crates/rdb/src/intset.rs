//! Intsets: sorted arrays of integers, RDB type 11.
//!
//! Layout: element width in bytes (u32 LE: 2, 4 or 8), element count (u32
//! LE), then the elements, little-endian, strictly increasing.

type Result<T> = std::result::Result<T, &'static str>;

/// Decodes and validates an intset.
pub(crate) fn decode(blob: &[u8]) -> Result<Vec<i64>> {
    let header: [u8; 8] = blob
        .get(..8)
        .and_then(|s| s.try_into().ok())
        .ok_or("shorter than the header")?;
    let [w0, w1, w2, w3, c0, c1, c2, c3] = header;
    let width = u32::from_le_bytes([w0, w1, w2, w3]) as usize;
    let count = u32::from_le_bytes([c0, c1, c2, c3]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err("invalid element width");
    }
    let body = blob.get(8..).unwrap_or_default();
    if count.checked_mul(width) != Some(body.len()) {
        return Err("element count does not match the blob length");
    }
    if count == 0 {
        return Err("empty intset");
    }
    let mut out = Vec::with_capacity(count);
    for chunk in body.chunks_exact(width) {
        let v = match *chunk {
            [a, b] => i64::from(i16::from_le_bytes([a, b])),
            [a, b, c, d] => i64::from(i32::from_le_bytes([a, b, c, d])),
            [a, b, c, d, e, f, g, h] => i64::from_le_bytes([a, b, c, d, e, f, g, h]),
            _ => return Err("invalid element width"),
        };
        if out.last().is_some_and(|&prev| prev >= v) {
            return Err("elements not strictly increasing");
        }
        out.push(v);
    }
    Ok(out)
}

/// Appends the intset holding `sorted` (strictly increasing) to `out`,
/// with the narrowest width that holds every element.
pub(crate) fn encode(sorted: &[i64], out: &mut Vec<u8>) {
    let (lo, hi) = (
        sorted.first().copied().unwrap_or(0),
        sorted.last().copied().unwrap_or(0),
    );
    let fits = |min: i64, max: i64| lo >= min && hi <= max;
    let width: usize = if fits(i16::MIN.into(), i16::MAX.into()) {
        2
    } else if fits(i32::MIN.into(), i32::MAX.into()) {
        4
    } else {
        8
    };
    out.reserve(8 + width * sorted.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
    for v in sorted {
        out.extend_from_slice(v.to_le_bytes().get(..width).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrips_each_width() {
        for set in [
            vec![1, 2, 3],
            vec![-5, 40000],
            vec![i64::MIN, 0, i64::MAX],
            vec![-32768, 32767],
        ] {
            let mut blob = Vec::new();
            encode(&set, &mut blob);
            assert_eq!(decode(&blob), Ok(set));
        }
        let mut blob = Vec::new();
        encode(&[1, 2], &mut blob);
        assert_eq!(blob, [2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0]);
    }

    #[test]
    fn rejects_bad_sets() {
        assert!(decode(&[2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0]).is_err());
        assert!(decode(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 1, 0]).is_err());
        assert!(decode(&[3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]).is_err());
        assert!(decode(&[2, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(decode(&[2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0]).is_err());
        assert!(decode(&[2, 0, 0]).is_err());
    }
}
