//! Parsing of the expiry options shared by SET, GETEX, SETEX and PSETEX.

use crate::call::{reply, Call};
use crate::numeric::parse_i64;
use resp_codec::Frame;

/// Which command's option grammar applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grammar {
    /// SET: NX XX GET KEEPTTL EX PX EXAT PXAT.
    Set,
    /// GETEX: PERSIST EX PX EXAT PXAT.
    GetEx,
}

/// How an expiry argument is expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireUnit {
    /// EX: seconds from now.
    Ex,
    /// PX: milliseconds from now.
    Px,
    /// EXAT: Unix seconds.
    ExAt,
    /// PXAT: Unix milliseconds.
    PxAt,
}

/// Parsed options.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExtOptions<'a> {
    /// NX
    pub nx: bool,
    /// XX
    pub xx: bool,
    /// GET
    pub get: bool,
    /// KEEPTTL
    pub keepttl: bool,
    /// PERSIST
    pub persist: bool,
    /// The expiry option and its raw argument.
    pub expire: Option<(ExpireUnit, &'a [u8])>,
}

/// Parses options starting at argument `from`, with Redis's rules for
/// which combinations are a syntax error (repeating the same option is not).
pub fn parse<'a>(c: &Call<'a>, from: usize, grammar: Grammar) -> Result<ExtOptions<'a>, Frame> {
    let mut o = ExtOptions::default();
    let mut i = from;
    let set = grammar == Grammar::Set;
    while i < c.argc() {
        let opt = c.arg(i).to_ascii_uppercase();
        let has_next = i + 1 < c.argc();
        let unit_other = |u: ExpireUnit| matches!(o.expire, Some((x, _)) if x != u);
        match opt.as_slice() {
            b"NX" if set && !o.xx => o.nx = true,
            b"XX" if set && !o.nx => o.xx = true,
            b"GET" if set => o.get = true,
            b"KEEPTTL" if set && !o.persist && o.expire.is_none() => o.keepttl = true,
            b"PERSIST" if !set && !o.keepttl && o.expire.is_none() => o.persist = true,
            b"EX" | b"PX" | b"EXAT" | b"PXAT" if has_next && !o.keepttl && !o.persist => {
                let unit = match opt.as_slice() {
                    b"EX" => ExpireUnit::Ex,
                    b"PX" => ExpireUnit::Px,
                    b"EXAT" => ExpireUnit::ExAt,
                    _ => ExpireUnit::PxAt,
                };
                if unit_other(unit) {
                    return Err(reply::syntax());
                }
                o.expire = Some((unit, c.arg(i + 1)));
                i += 1;
            }
            _ => return Err(reply::syntax()),
        }
        i += 1;
    }
    Ok(o)
}

/// Turns an expiry argument into absolute Unix milliseconds, with Redis's
/// errors: not an integer, not positive, or overflowing.
pub fn absolute_ms(unit: ExpireUnit, raw: &[u8], now_ms: i64, cmd: &str) -> Result<i64, Frame> {
    let v = parse_i64(raw).ok_or_else(reply::not_int)?;
    let seconds = matches!(unit, ExpireUnit::Ex | ExpireUnit::ExAt);
    if v <= 0 || (seconds && v > i64::MAX / 1000) {
        return Err(reply::invalid_expire(cmd));
    }
    let mut ms = if seconds { v * 1000 } else { v };
    if matches!(unit, ExpireUnit::Ex | ExpireUnit::Px) {
        ms = ms
            .checked_add(now_ms)
            .ok_or_else(|| reply::invalid_expire(cmd))?;
    }
    if ms <= 0 {
        return Err(reply::invalid_expire(cmd));
    }
    Ok(ms)
}
