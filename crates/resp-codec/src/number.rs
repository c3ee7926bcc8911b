//! Integer parsing and double formatting with Redis's exact rules.

use std::fmt::Write as _;

use bytes::BufMut;

/// Parses an `i64` with Redis's strict `string2ll` rules: optional `-`, then
/// digits with no leading zero (except a lone `0`), no `+`, no spaces, and
/// no `-0`. Anything else, including overflow, is `None`. Lengths on the wire
/// must use this, not `str::parse`, or `*+1`/`*01` would be accepted.
///
/// This is the workspace's one integer parser: the keyspace, the RDB
/// codec and the replication handshake all use it.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    // 20 chars already hold every i64 ("-9223372036854775808").
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let (&first, rest) = digits.split_first()?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    let mut v = u64::from(first - b'0');
    for &c in rest {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if negative {
        // i64::MIN has no positive counterpart, so go through i128.
        i64::try_from(-i128::from(v)).ok()
    } else {
        i64::try_from(v).ok()
    }
}

/// Fixed-size stack buffer so formatting a double never allocates.
struct StackBuf {
    buf: [u8; 48],
    len: usize,
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Significant digits of C's `%.17g`, enough to round-trip any double.
const PRECISION: i32 = 17;

/// Appends a finite double formatted like C's `printf("%.17g")`, which is what
/// Redis 7.0 sends for doubles (e.g. `1.1` -> `1.1000000000000001`,
/// `1e-5` -> `1.0000000000000001e-05`). Non-finite values are the caller's job
/// because Redis spells them `inf`/`-inf`/`nan` itself.
pub(crate) fn write_g17(value: f64, out: &mut impl BufMut) {
    // Rust's `{:.16e}` is exact and rounds half to even like glibc, giving the
    // same 17 significant digits; only the layout differs from `%g`.
    let mut sci = StackBuf {
        buf: [0; 48],
        len: 0,
    };
    if write!(sci, "{value:.16e}").is_err() {
        // Cannot happen (at most 25 bytes), but never panic on the reply path.
        out.put_slice(value.to_string().as_bytes());
        return;
    }
    let text = sci.buf.get(..sci.len).unwrap_or(&[]);
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let mut digits = [b'0'; PRECISION as usize];
    let mut nd = 0;
    let mut exp_text: &[u8] = b"0";
    for (i, &c) in text.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                if let Some(d) = digits.get_mut(nd) {
                    *d = c;
                    nd += 1;
                }
            }
            b'e' => {
                exp_text = text.get(i + 1..).unwrap_or(b"0");
                break;
            }
            _ => {}
        }
    }
    let exp = i32::try_from(parse_i64(exp_text).unwrap_or(0)).unwrap_or(0);
    // %g drops trailing zeros of the significand (no '#' flag).
    let mut sig = nd.max(1);
    while sig > 1 && digits.get(sig - 1) == Some(&b'0') {
        sig -= 1;
    }
    let digits = digits.get(..sig).unwrap_or(b"0");

    if negative {
        out.put_u8(b'-');
    }
    if !(-4..PRECISION).contains(&exp) {
        // Scientific: d[.ddd]e±XX with at least two exponent digits.
        let (first, rest) = digits.split_first().unwrap_or((&b'0', &[]));
        out.put_u8(*first);
        if !rest.is_empty() {
            out.put_u8(b'.');
            out.put_slice(rest);
        }
        out.put_u8(b'e');
        out.put_u8(if exp < 0 { b'-' } else { b'+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            out.put_u8(b'0');
        }
        let mut ib = itoa::Buffer::new();
        out.put_slice(ib.format(abs).as_bytes());
    } else if exp >= 0 {
        // Fixed with the decimal point after exp+1 digits (padding with zeros
        // when the significand was shortened below that).
        let int_len = exp as usize + 1;
        for i in 0..int_len {
            out.put_u8(digits.get(i).copied().unwrap_or(b'0'));
        }
        if let Some(frac) = digits.get(int_len..) {
            if !frac.is_empty() {
                out.put_u8(b'.');
                out.put_slice(frac);
            }
        }
    } else {
        // -4 <= exp < 0: 0.000ddd
        out.put_slice(b"0.");
        for _ in 0..(-exp - 1) {
            out.put_u8(b'0');
        }
        out.put_slice(digits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"12"), Some(12));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b"01",
            b"-0",
            b"00",
            b" 1",
            b"1 ",
            b"1a",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"99999999999999999999",
            b"000000000000000000001",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    fn g17(v: f64) -> String {
        let mut out = BytesMut::new();
        write_g17(v, &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn g17_matches_redis_samples() {
        // Captured from redis-server 7.0.15 ZSCORE replies.
        assert_eq!(g17(1.1), "1.1000000000000001");
        assert_eq!(g17(1e300), "1.0000000000000001e+300");
        assert_eq!(g17(0.1), "0.10000000000000001");
        assert_eq!(g17(100.0), "100");
        assert_eq!(g17(1e-5), "1.0000000000000001e-05");
        assert_eq!(g17(123456789012345678.0), "1.2345678901234568e+17");
        assert_eq!(g17(0.0), "0");
        assert_eq!(g17(-0.0), "-0");
        assert_eq!(g17(-2.5), "-2.5");
        assert_eq!(g17(1e16), "10000000000000000");
        assert_eq!(g17(1e17), "1e+17");
        assert_eq!(g17(0.0001), "0.0001");
        assert_eq!(g17(5e-324), "4.9406564584124654e-324");
        assert_eq!(g17(f64::MAX), "1.7976931348623157e+308");
    }

    /// Compares against the C library's own `%.17g`, the reference Redis uses.
    #[allow(unsafe_code)]
    fn libc_g17(v: f64) -> String {
        let mut buf = [0u8; 64];
        // SAFETY: the buffer is large enough for any %.17g output and the
        // format string is NUL-terminated and takes exactly one double.
        let n = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), c"%.17g".as_ptr(), v) };
        String::from_utf8(buf[..n as usize].to_vec()).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn g17_matches_libc(bits in proptest::num::u64::ANY) {
            let v = f64::from_bits(bits);
            if v.is_finite() {
                proptest::prop_assert_eq!(g17(v), libc_g17(v));
            }
        }

        #[test]
        fn g17_matches_libc_human_values(m in -1_000_000i64..1_000_000, e in -30i32..30) {
            let v = m as f64 * 10f64.powi(e);
            proptest::prop_assert_eq!(g17(v), libc_g17(v));
        }

        #[test]
        fn parse_i64_agrees_with_formatting(v in proptest::num::i64::ANY) {
            proptest::prop_assert_eq!(parse_i64(v.to_string().as_bytes()), Some(v));
        }
    }
}
