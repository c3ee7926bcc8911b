//! Zipmaps (read only): the hash encoding of Redis 2.4 and older, RDB
//! type 9.
//!
//! Layout: a count byte (254 or more means "count the entries"), then for
//! each pair: field length, field, value length, a byte of free space
//! count, the value, the free bytes; then 0xFF. Lengths are one byte below
//! 254, or 254 followed by a u32 LE.

type Result<T> = std::result::Result<T, &'static str>;

const BIGLEN: u8 = 254;
const END: u8 = 0xFF;

/// Reads a length at `p`, returning it and the position after it.
fn read_len(blob: &[u8], p: usize) -> Result<(usize, usize)> {
    match blob.get(p).copied() {
        Some(b) if b < BIGLEN => Ok((usize::from(b), p + 1)),
        Some(BIGLEN) => {
            let raw: [u8; 4] = blob
                .get(p + 1..p + 5)
                .and_then(|s| s.try_into().ok())
                .ok_or("length past the end")?;
            Ok((u32::from_le_bytes(raw) as usize, p + 5))
        }
        _ => Err("invalid length byte"),
    }
}

/// Decodes and validates a zipmap, calling `f` for each field/value pair.
pub(crate) fn for_each<'a>(
    blob: &'a [u8],
    mut f: impl FnMut(&'a [u8], &'a [u8]) -> Result<()>,
) -> Result<()> {
    if blob.len() < 2 {
        return Err("shorter than the header");
    }
    if blob.last() != Some(&END) {
        return Err("missing terminator");
    }
    let declared = blob.first().copied().unwrap_or(0);
    let end = blob.len() - 1;
    let mut p = 1;
    let mut count = 0usize;
    while p < end {
        let (flen, q) = read_len(blob, p)?;
        let field = blob
            .get(q..q.saturating_add(flen))
            .ok_or("field past the end")?;
        let (vlen, q) = read_len(blob, q + flen)?;
        let free = usize::from(blob.get(q).copied().ok_or("value past the end")?);
        let value = blob
            .get(q + 1..(q + 1).saturating_add(vlen))
            .ok_or("value past the end")?;
        p = q + 1 + vlen + free;
        if p > end {
            return Err("pair overlaps the terminator");
        }
        count += 1;
        f(field, value)?;
    }
    if count == 0 {
        return Err("empty zipmap");
    }
    if declared < BIGLEN && usize::from(declared) != count {
        return Err("header count does not match the pairs");
    }
    Ok(())
}

/// Builds a zipmap (tests only: nothing writes zipmaps any more). `free`
/// bytes of slack follow every value, as after in-place updates.
#[cfg(test)]
pub(crate) fn build(pairs: &[(&[u8], &[u8])], free: u8) -> Vec<u8> {
    let push_len = |out: &mut Vec<u8>, n: usize| {
        if n < usize::from(BIGLEN) {
            out.push(n as u8);
        } else {
            out.push(BIGLEN);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
    };
    let mut out = vec![u8::try_from(pairs.len()).unwrap_or(BIGLEN).min(BIGLEN)];
    for (k, v) in pairs {
        push_len(&mut out, k.len());
        out.extend_from_slice(k);
        push_len(&mut out, v.len());
        out.push(free);
        out.extend_from_slice(v);
        out.extend(std::iter::repeat_n(0, usize::from(free)));
    }
    out.push(END);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(blob: &[u8]) -> Result<Vec<(&[u8], &[u8])>> {
        let mut v = Vec::new();
        for_each(blob, |k, val| {
            v.push((k, val));
            Ok(())
        })?;
        Ok(v)
    }

    #[test]
    fn decodes_the_documented_example() {
        let zm = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff";
        assert_eq!(
            decode(zm),
            Ok(vec![
                (&b"foo"[..], &b"bar"[..]),
                (&b"hello"[..], &b"world"[..])
            ])
        );
    }

    #[test]
    fn roundtrips_with_free_space_and_long_values() {
        let long = vec![b'v'; 300];
        let pairs: Vec<(&[u8], &[u8])> = vec![(b"a", b"1"), (b"long", &long)];
        let zm = build(&pairs, 3);
        assert_eq!(decode(&zm), Ok(pairs));
        assert!(decode(b"\x00\xff").is_err());
        assert!(decode(b"\x02\x01a\x01\x00b\xff").is_err());
        for i in 0..zm.len() {
            let _ = decode(&zm[..i]);
        }
    }
}
