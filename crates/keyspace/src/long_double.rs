//! INCRBYFLOAT's arithmetic. Redis adds in C's `long double` and prints with
//! `%.17Lf`; doing the same through the C library gives identical digits on
//! the same platform, which `f64` cannot (10.5 + 0.1 would print as
//! 10.59999999999999964 instead of 10.6).

#![allow(unsafe_code)]

use std::os::raw::{c_char, c_int, c_long};

extern "C" {
    fn rk_incrbyfloat(
        cur: *const c_char,
        cur_len: usize,
        has_cur: c_int,
        incr: *const c_char,
        incr_len: usize,
        out: *mut c_char,
        out_cap: usize,
    ) -> c_long;
}

/// Why an increment was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrFloatError {
    /// The stored value does not parse as a float.
    CurrentNotFloat,
    /// The increment does not parse as a float.
    IncrementNotFloat,
    /// The sum is NaN or infinite.
    NotFinite,
}

/// Adds `incr` to `current` (absent means 0) and returns the result as
/// Redis prints it.
pub fn incr_by_float(current: Option<&[u8]>, incr: &[u8]) -> Result<String, IncrFloatError> {
    let mut out = vec![0u8; 5 * 1024 + 64];
    let (cur_ptr, cur_len) = current.map_or((std::ptr::null(), 0), |c| (c.as_ptr(), c.len()));
    // SAFETY: every pointer is valid for the length passed with it; the C
    // side copies the inputs and writes at most `out.len()` bytes to `out`.
    let n = unsafe {
        rk_incrbyfloat(
            cur_ptr.cast(),
            cur_len,
            c_int::from(current.is_some()),
            incr.as_ptr().cast(),
            incr.len(),
            out.as_mut_ptr().cast(),
            out.len(),
        )
    };
    match n {
        -1 => Err(IncrFloatError::CurrentNotFloat),
        -2 => Err(IncrFloatError::IncrementNotFloat),
        n if n < 0 => Err(IncrFloatError::NotFinite),
        n => {
            out.truncate(usize::try_from(n).unwrap_or(0));
            Ok(String::from_utf8_lossy(&out).into_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_redis_digits() {
        assert_eq!(incr_by_float(Some(b"10.5"), b"0.1").unwrap(), "10.6");
        assert_eq!(incr_by_float(Some(b"0.1"), b"0.2").unwrap(), "0.3");
        assert_eq!(incr_by_float(None, b"5.0e3").unwrap(), "5000");
        assert_eq!(incr_by_float(Some(b"3"), b"-3").unwrap(), "0");
        assert_eq!(incr_by_float(Some(b"0x10"), b"1").unwrap(), "17");
        assert_eq!(
            incr_by_float(Some(b"abc"), b"1"),
            Err(IncrFloatError::CurrentNotFloat)
        );
        assert_eq!(
            incr_by_float(Some(b"1"), b" 1"),
            Err(IncrFloatError::IncrementNotFloat)
        );
        assert_eq!(
            incr_by_float(Some(b"1"), b"nan"),
            Err(IncrFloatError::IncrementNotFloat)
        );
        assert_eq!(
            incr_by_float(Some(b"1"), b"1e5000"),
            Err(IncrFloatError::IncrementNotFloat)
        );
        assert_eq!(
            incr_by_float(Some(b"1"), b"inf"),
            Err(IncrFloatError::NotFinite)
        );
        assert_eq!(incr_by_float(Some(b"1e308"), b"1e308").unwrap().len(), 309);
        assert_eq!(
            incr_by_float(Some(b"5\0\0"), b"1"),
            Err(IncrFloatError::CurrentNotFloat)
        );
    }
}
