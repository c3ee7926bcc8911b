//! Double parsing and formatting with Redis's exact rules: `string2d`
//! (strict, for scores and weights), the looser `strtod` use of score range
//! bounds, and the `d2string` form sorted sets store in their compact
//! encoding. Parsing goes through the C library's `strtod` so hexadecimal
//! floats, overflow and underflow behave exactly as on a Redis server built
//! for the same platform.

#![allow(unsafe_code)]

use std::os::raw::{c_char, c_int, c_long};

extern "C" {
    fn rk_strtod(s: *const c_char, len: usize, consumed: *mut c_long, erange: *mut c_int) -> f64;
}

/// What `strtod` made of a byte string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Strtod {
    /// The parsed value (0 when nothing was parsed).
    pub value: f64,
    /// Bytes consumed; parsing stops at an embedded NUL.
    pub consumed: usize,
    /// Whether `errno` reported `ERANGE` (overflow or underflow).
    pub erange: bool,
}

/// Runs the C library's `strtod` over `s` (as a NUL-terminated copy).
pub fn strtod(s: &[u8]) -> Strtod {
    let mut consumed: c_long = 0;
    let mut erange: c_int = 0;
    // SAFETY: the pointer is valid for `s.len()` bytes; the C side copies
    // the input before parsing and writes only to the two out-parameters.
    let value = unsafe { rk_strtod(s.as_ptr().cast(), s.len(), &mut consumed, &mut erange) };
    Strtod {
        value,
        consumed: usize::try_from(consumed).unwrap_or(usize::MAX),
        erange: erange != 0,
    }
}

/// C's `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Redis's `string2d`: the whole input must be a float, without leading
/// space, not NaN, and neither overflowing nor underflowing to zero.
pub fn string2d(s: &[u8]) -> Option<f64> {
    let first = *s.first()?;
    if is_c_space(first) {
        return None;
    }
    let r = strtod(s);
    if r.consumed != s.len() || r.value.is_nan() {
        return None;
    }
    if r.erange && (r.value.is_infinite() || r.value == 0.0) {
        return None;
    }
    Some(r.value)
}

/// One bound of a score range as `ZRANGEBYSCORE` parses it: an optional
/// `(` for an exclusive bound, then whatever `strtod` accepts up to the end
/// of the string (or an embedded NUL); leading spaces, overflow to infinity
/// and even an empty string (zero) are accepted, NaN is not.
pub fn parse_score_bound(s: &[u8]) -> Option<(f64, bool)> {
    let (exclusive, body) = match s.split_first() {
        Some((b'(', rest)) => (true, rest),
        _ => (false, s),
    };
    let r = strtod(body);
    let stop = body.get(r.consumed).copied();
    if !(stop.is_none() || stop == Some(0)) || r.value.is_nan() {
        return None;
    }
    Some((r.value, exclusive))
}

/// Whether `d` converts to an `i64` without loss, within the range Redis
/// checks (half of `i64`'s range), as Redis's `double2ll` decides.
pub fn double_to_i64(d: f64) -> Option<i64> {
    let half = (i64::MAX / 2) as f64;
    if !(-half..=half).contains(&d) {
        return None;
    }
    let n = d as i64;
    (n as f64 == d).then_some(n)
}

/// `%.17g`, with Redis's spellings of the infinities.
pub fn fmt_g17(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if d.is_nan() {
        return "nan".to_string();
    }
    resp_codec::format_g17(d)
}

/// Redis's `d2string`: integers print as integers, `-0` keeps its sign,
/// other values use `%.17g`.
pub fn d2string(d: f64) -> String {
    if d.is_nan() {
        return "nan".to_string();
    }
    if d.is_infinite() {
        return fmt_g17(d);
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    match double_to_i64(d) {
        Some(n) => n.to_string(),
        None => fmt_g17(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parse_matches_redis_string2d() {
        assert_eq!(string2d(b"1.5"), Some(1.5));
        assert_eq!(string2d(b"-3"), Some(-3.0));
        assert_eq!(string2d(b"+3"), Some(3.0));
        assert_eq!(string2d(b".5"), Some(0.5));
        assert_eq!(string2d(b"5."), Some(5.0));
        assert_eq!(string2d(b"0x10"), Some(16.0));
        assert_eq!(string2d(b"1e3"), Some(1000.0));
        assert_eq!(string2d(b"inf"), Some(f64::INFINITY));
        assert_eq!(string2d(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(string2d(b"+inf"), Some(f64::INFINITY));
        assert_eq!(string2d(b"nan"), None);
        assert_eq!(string2d(b""), None);
        assert_eq!(string2d(b" 1"), None);
        assert_eq!(string2d(b"1 "), None);
        assert_eq!(string2d(b"1e400"), None);
        assert_eq!(string2d(b"1e-400"), None);
        assert_eq!(string2d(b"1\x002"), None);
        assert_eq!(string2d(b"abc"), None);
        assert!(string2d(b"4e-320").is_some_and(|v| v > 0.0));
    }

    #[test]
    fn range_bounds_are_looser() {
        assert_eq!(parse_score_bound(b"(1.5"), Some((1.5, true)));
        assert_eq!(parse_score_bound(b"-inf"), Some((f64::NEG_INFINITY, false)));
        assert_eq!(parse_score_bound(b"(+inf"), Some((f64::INFINITY, true)));
        assert_eq!(parse_score_bound(b""), Some((0.0, false)));
        assert_eq!(parse_score_bound(b"("), Some((0.0, true)));
        assert_eq!(parse_score_bound(b" 5"), Some((5.0, false)));
        assert_eq!(parse_score_bound(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(parse_score_bound(b"5\x00x"), Some((5.0, false)));
        assert_eq!(parse_score_bound(b"5 "), None);
        assert_eq!(parse_score_bound(b"nan"), None);
        assert_eq!(parse_score_bound(b"[1"), None);
        assert_eq!(parse_score_bound(b"((1"), None);
    }

    #[test]
    fn formats() {
        assert_eq!(d2string(1.0), "1");
        assert_eq!(d2string(-0.0), "-0");
        assert_eq!(d2string(1e17), "100000000000000000");
        assert_eq!(d2string(1e19), "1e+19");
        assert_eq!(d2string(1.5), "1.5");
        assert_eq!(d2string(0.1), "0.10000000000000001");
        assert_eq!(d2string(f64::NEG_INFINITY), "-inf");
        assert_eq!(fmt_g17(1e17), "1e+17");
        assert_eq!(fmt_g17(-0.0), "-0");
        assert_eq!(fmt_g17(f64::INFINITY), "inf");
    }
}
