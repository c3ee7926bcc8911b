//! Number <-> text conversions with Redis's exact rules: which strings count
//! as integers, and how sorted-set scores are printed into listpacks.

use bytes::Bytes;

/// Parses a canonical decimal `i64`: optional `-`, no leading zeros (except
/// "0" itself), no `+`, no spaces. These are the strings Redis stores as
/// integers, and the only ones that format back to themselves (Redis's
/// `string2ll`, shared with the wire codec).
pub(crate) use resp_codec::parse_i64 as parse_canonical_i64;

/// Decimal form of `v` as `Bytes`.
pub(crate) fn i64_bytes(v: i64) -> Bytes {
    let mut buf = [0u8; 20];
    Bytes::copy_from_slice(fmt_i64(v, &mut buf))
}

/// Writes the decimal form of `v` into the end of `buf` and returns it.
pub(crate) fn fmt_i64(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'-';
        }
    }
    buf.get(i..).unwrap_or_default()
}

/// The integer a double equals, when Redis would store it as one: integral
/// and within +-2^62 (beyond that the cast is not trusted to be exact).
pub(crate) fn double_as_i64(d: f64) -> Option<i64> {
    const LIMIT: f64 = (i64::MAX / 2) as f64;
    if !(-LIMIT..=LIMIT).contains(&d) {
        return None;
    }
    let i = d as i64;
    (i as f64 == d).then_some(i)
}

/// Redis's text form of a score that is not stored as an integer: `inf`,
/// `-inf`, `nan`, or C's `%.17g`.
pub(crate) fn score_text(d: f64) -> String {
    if d.is_nan() {
        "nan".to_owned()
    } else if d.is_infinite() {
        if d < 0.0 { "-inf" } else { "inf" }.to_owned()
    } else if d == 0.0 {
        if d.is_sign_negative() { "-0" } else { "0" }.to_owned()
    } else if let Some(i) = double_as_i64(d) {
        i.to_string()
    } else {
        format_g17(d)
    }
}

/// C's `printf("%.17g", d)` for a finite `d`: 17 significant digits, fixed
/// notation when the decimal exponent is in -4..17, exponent notation
/// (`e+XX`, at least two exponent digits) otherwise, trailing zeros removed.
pub(crate) fn format_g17(d: f64) -> String {
    // Rust's `{:.16e}` is correctly rounded to 17 significant digits, which
    // is exactly the digit string and exponent %g starts from.
    let sci = format!("{d:.16e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::with_capacity(26);
    if neg {
        out.push('-');
    }
    if (-4..17).contains(&exp) {
        if exp >= 0 {
            let split = (exp + 1) as usize;
            let (int_part, frac) = digits.split_at(split.min(digits.len()));
            out.push_str(int_part);
            let frac = frac.trim_end_matches('0');
            if !frac.is_empty() {
                out.push('.');
                out.push_str(frac);
            }
        } else {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(digits.trim_end_matches('0'));
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.push_str(first);
        let rest = rest.trim_end_matches('0');
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    }
    out
}

/// Parses a score written as text (listpack/ziplist entries, the old
/// string-score sorted-set type). Accepts what `strtod` accepts for numbers
/// Redis writes: decimal and exponent forms, `inf`/`-inf`/`infinity`, `nan`.
pub(crate) fn parse_score(s: &[u8]) -> Option<f64> {
    // Redis only looks at the first 127 bytes of a score.
    let s = s.get(..s.len().min(127)).unwrap_or(s);
    let text = std::str::from_utf8(s).ok()?;
    text.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_integers() {
        for (s, v) in [
            ("0", Some(0)),
            ("-1", Some(-1)),
            ("123", Some(123)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-0", None),
            ("01", None),
            ("+1", None),
            (" 1", None),
            ("1 ", None),
            ("", None),
            ("-", None),
            ("1a", None),
        ] {
            assert_eq!(parse_canonical_i64(s.as_bytes()), v, "{s}");
        }
        let mut buf = [0u8; 20];
        for v in [0, 7, -7, i64::MAX, i64::MIN, 1234567890] {
            assert_eq!(fmt_i64(v, &mut buf), v.to_string().as_bytes());
        }
    }

    #[test]
    fn g17_matches_c() {
        // Expected strings are what glibc prints for "%.17g".
        for (d, s) in [
            (0.1, "0.10000000000000001"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (1e20, "1e+20"),
            (1.5e-7, "1.4999999999999999e-07"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (123456789.125, "123456789.125"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (1e300, "1.0000000000000001e+300"),
            (std::f64::consts::PI, "3.1415926535897931"),
            (9.223_372_036_854_776e18, "9.2233720368547758e+18"),
            (-1e-300, "-1e-300"),
        ] {
            assert_eq!(format_g17(d), s, "{d}");
            assert_eq!(parse_score(s.as_bytes()), Some(d));
        }
    }

    #[test]
    fn score_text_uses_integers_when_exact() {
        assert_eq!(score_text(3.0), "3");
        assert_eq!(score_text(-0.0), "-0");
        assert_eq!(score_text(f64::INFINITY), "inf");
        assert_eq!(score_text(f64::NEG_INFINITY), "-inf");
        assert_eq!(score_text(2.5), "2.5");
        assert_eq!(double_as_i64(-0.0), Some(0));
        assert_eq!(double_as_i64(1e19), None);
        assert_eq!(parse_score(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"abc"), None);
    }
}
