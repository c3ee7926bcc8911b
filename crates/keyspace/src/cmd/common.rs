//! Helpers shared by the collection commands: typed key lookups, Redis's
//! integer-argument parsers with their exact error texts, SCAN-family
//! option parsing, and reply shapes that depend on the protocol.

use bytes::Bytes;
use resp_codec::Frame;

use crate::call::{reply, Call};
use crate::db::NO_EXPIRE;
use crate::hash::HashValue;
use crate::keyspace::Keyspace;
use crate::list::ListValue;
use crate::numeric::parse_i64;
use crate::packed::ToBytes;
use crate::set::SetValue;
use crate::value::Value;
use crate::zset::ZSetValue;

/// A handler's result: `Err` carries an error reply (or an early reply).
pub type Res = Result<Frame, Frame>;

/// Collapses a [`Res`] into the reply.
pub fn done(r: Res) -> Frame {
    match r {
        Ok(f) | Err(f) => f,
    }
}

/// Looks a key up for reading (counts keyspace hits and misses).
pub fn read<'a>(ks: &'a mut Keyspace, c: &Call<'_>, key: &[u8]) -> Option<&'a mut Value> {
    ks.lookup_read(c.db, key, c.now_ms).map(|e| &mut e.value)
}

/// Looks a key up for writing.
pub fn write<'a>(ks: &'a mut Keyspace, c: &Call<'_>, key: &[u8]) -> Option<&'a mut Value> {
    ks.lookup_write(c.db, key, c.now_ms).map(|e| &mut e.value)
}

/// Looks a key up without statistics or access-time updates (a second
/// look at a key the command already looked up).
pub fn peek<'a>(ks: &'a Keyspace, c: &Call<'_>, key: &[u8]) -> Option<&'a Value> {
    ks.db(c.db)
        .and_then(|d| d.peek(key, c.now_ms))
        .map(|e| &e.value)
}

/// `count` indexes below `len` drawn with replacement.
pub fn random_indexes(ks: &mut Keyspace, len: usize, count: usize) -> Vec<usize> {
    use rand::Rng;
    let rng = ks.rng();
    // No preallocation: an absurd count grows the reply as Redis's does.
    let mut out = Vec::new();
    for _ in 0..count {
        out.push(rng.gen_range(0..len.max(1)));
    }
    out
}

/// `count` distinct indexes below `len` (`count <= len`), in random order.
pub fn distinct_indexes(ks: &mut Keyspace, len: usize, count: usize) -> Vec<usize> {
    rand::seq::index::sample(ks.rng(), len, count.min(len)).into_vec()
}

/// The list in `v`, `None` when absent, WRONGTYPE for another type.
pub fn as_list(v: Option<&mut Value>) -> Result<Option<&mut ListValue>, Frame> {
    match v {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(reply::wrongtype()),
    }
}

/// The hash in `v`, `None` when absent, WRONGTYPE for another type.
pub fn as_hash(v: Option<&mut Value>) -> Result<Option<&mut HashValue>, Frame> {
    match v {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(reply::wrongtype()),
    }
}

/// The set in `v`, `None` when absent, WRONGTYPE for another type.
pub fn as_set(v: Option<&mut Value>) -> Result<Option<&mut SetValue>, Frame> {
    match v {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s)),
        Some(_) => Err(reply::wrongtype()),
    }
}

/// The sorted set in `v`, `None` when absent, WRONGTYPE for another type.
pub fn as_zset(v: Option<&mut Value>) -> Result<Option<&mut ZSetValue>, Frame> {
    match v {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(reply::wrongtype()),
    }
}

/// Records that the key in argument `i` (in the call's database) changed.
pub fn modified(ks: &mut Keyspace, c: &Call<'_>, i: usize) {
    ks.signal_modified(c.db, c.arg_bytes(i));
}

/// Stores a new value under `key` (replacing anything and its expiry, as
/// Redis's `setKey` does for computed results). Like every helper here it
/// leaves recording the change to the handler, which records each key it
/// changed where it decides what to propagate.
pub fn store(ks: &mut Keyspace, c: &Call<'_>, key: &[u8], value: Value) {
    if let Some(db) = ks.db_mut(c.db) {
        db.set(key, value, NO_EXPIRE, c.now_ms);
    }
}

/// Deletes `key`; returns whether it existed.
pub fn delete(ks: &mut Keyspace, c: &Call<'_>, key: &[u8]) -> bool {
    ks.db_mut(c.db).is_some_and(|db| db.remove(key).is_some())
}

/// `getLongFromObjectOrReply`: any 64-bit integer.
pub fn get_long(arg: &[u8]) -> Result<i64, Frame> {
    parse_i64(arg).ok_or_else(reply::not_int)
}

/// `getRangeLongFromObjectOrReply`: an integer within `min..=max`; `msg`
/// (without the `ERR ` prefix) replaces both default errors when given.
pub fn get_range_long(arg: &[u8], min: i64, max: i64, msg: Option<&str>) -> Result<i64, Frame> {
    let custom = || reply::err(&format!("ERR {}", msg.unwrap_or_default()));
    let Some(n) = parse_i64(arg) else {
        return Err(if msg.is_some() {
            custom()
        } else {
            reply::not_int()
        });
    };
    if n < min || n > max {
        return Err(if msg.is_some() {
            custom()
        } else {
            reply::err(&format!(
                "ERR value is out of range, value must between {min} and {max}"
            ))
        });
    }
    Ok(n)
}

/// `getPositiveLongFromObjectOrReply`: a non-negative integer.
pub fn get_positive_long(arg: &[u8], msg: Option<&str>) -> Result<i64, Frame> {
    get_range_long(
        arg,
        0,
        i64::MAX,
        Some(msg.unwrap_or("value is out of range, must be positive")),
    )
}

/// A count as a `usize` (saturating; counts are never negative here).
pub fn to_usize(n: i64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Parses a SCAN-family cursor the way Redis's `strtoul` use does: no
/// leading space, optional sign (a negative cursor wraps), decimal digits,
/// nothing after them, no overflow. An empty string is cursor 0.
pub fn parse_cursor(arg: &[u8]) -> Result<u64, Frame> {
    let invalid = || reply::err_static("ERR invalid cursor");
    let (neg, digits) = match arg.split_first() {
        None => return Ok(0),
        Some((b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r', _)) => return Err(invalid()),
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        Some(_) => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or_else(invalid)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// Options of HSCAN / SSCAN / ZSCAN.
#[derive(Debug, Clone, Copy)]
pub struct ScanOpts<'a> {
    /// MATCH pattern (`None` when absent or `*`).
    pub pattern: Option<&'a [u8]>,
    /// COUNT (default 10).
    pub count: usize,
}

impl ScanOpts<'_> {
    /// Whether `item` passes the MATCH filter.
    pub fn matches(&self, item: &[u8]) -> bool {
        self.pattern
            .is_none_or(|p| crate::glob::glob_match(p, item, false))
    }
}

/// Parses the options after a SCAN-family cursor (argument `from` on).
pub fn parse_scan_opts<'a>(c: &Call<'a>, from: usize) -> Result<ScanOpts<'a>, Frame> {
    let mut o = ScanOpts {
        pattern: None,
        count: 10,
    };
    let mut i = from;
    while i < c.argc() {
        let has_value = c.argc() - i >= 2;
        let opt = c.arg(i);
        if opt.eq_ignore_ascii_case(b"count") && has_value {
            let n = get_long(c.arg(i + 1))?;
            if n < 1 {
                return Err(reply::syntax());
            }
            o.count = to_usize(n);
        } else if opt.eq_ignore_ascii_case(b"match") && has_value {
            let p = c.arg(i + 1);
            o.pattern = (p != b"*").then_some(p);
        } else {
            return Err(reply::syntax());
        }
        i += 2;
    }
    Ok(o)
}

/// A SCAN-family reply: the next cursor and the items.
pub fn scan_reply(cursor: u64, items: Vec<Frame>) -> Frame {
    Frame::Array(vec![
        Frame::Bulk(Bytes::from(cursor.to_string())),
        Frame::Array(items),
    ])
}

/// The reply to a SCAN-family command on a missing key.
pub fn empty_scan() -> Frame {
    scan_reply(0, Vec::new())
}

/// Element-plus-companion pairs (member and score, field and value): a
/// flat array in RESP2, an array of two-element arrays in RESP3.
pub fn pairs_reply(c: &Call<'_>, pairs: Vec<(Frame, Frame)>) -> Frame {
    if c.resp3 {
        Frame::Array(
            pairs
                .into_iter()
                .map(|(a, b)| Frame::Array(vec![a, b]))
                .collect(),
        )
    } else {
        let mut out = Vec::with_capacity(pairs.len() * 2);
        for (a, b) in pairs {
            out.push(a);
            out.push(b);
        }
        Frame::Array(out)
    }
}

/// A bulk reply from shared bytes.
pub fn bulk<T: ToBytes + ?Sized>(b: &T) -> Frame {
    Frame::Bulk(b.to_bytes())
}

/// The command name as an owned argument (for rewritten propagation).
pub fn word(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

/// Helpers for the command modules' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::call::Propagate;
    use crate::keyspace::KeyspaceConfig;

    /// A fresh keyspace.
    pub fn keyspace() -> Keyspace {
        Keyspace::new(KeyspaceConfig::default(), 7)
    }

    /// Runs a handler on database 0; returns the reply and the propagation.
    pub fn run(
        ks: &mut Keyspace,
        h: fn(&mut Keyspace, &mut Call<'_>) -> Frame,
        args: &[&str],
    ) -> (Frame, Propagate) {
        let a: Vec<Bytes> = args
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect();
        let mut c = Call::new(&a, 0, 1000);
        let f = h(ks, &mut c);
        (f, c.propagate)
    }

    /// A bulk reply.
    pub fn b(s: &str) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// A command as propagated.
    pub fn cmd(args: &[&str]) -> Vec<Bytes> {
        args.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    /// The value's `OBJECT ENCODING`, if the key exists.
    pub fn encoding(ks: &Keyspace, key: &str) -> Option<&'static str> {
        ks.db(0)
            .and_then(|d| d.peek(key.as_bytes(), 1000))
            .map(|e| e.value.encoding())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Ok(0));
        assert_eq!(parse_cursor(b""), Ok(0));
        assert_eq!(parse_cursor(b"0012"), Ok(12));
        assert_eq!(parse_cursor(b"+5"), Ok(5));
        assert_eq!(parse_cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Ok(u64::MAX));
        assert!(parse_cursor(b"18446744073709551616").is_err());
        assert!(parse_cursor(b" 1").is_err());
        assert!(parse_cursor(b"1 ").is_err());
        assert!(parse_cursor(b"-").is_err());
        assert!(parse_cursor(b"0x1").is_err());
    }

    #[test]
    fn range_errors() {
        assert_eq!(
            get_positive_long(b"-1", None),
            Err(reply::err("ERR value is out of range, must be positive"))
        );
        assert_eq!(
            get_positive_long(b"x", None),
            Err(reply::err("ERR value is out of range, must be positive"))
        );
        assert_eq!(get_range_long(b"x", 1, 5, None), Err(reply::not_int()));
        assert_eq!(
            get_range_long(b"9", 1, 5, None),
            Err(reply::err(
                "ERR value is out of range, value must between 1 and 5"
            ))
        );
    }
}

/// Parses `numkeys key... <end> [COUNT count]` starting at argument
/// `numkeys_idx`, as LMPOP, BLMPOP, ZMPOP and BZMPOP take it: returns the
/// keys, the end (read by `parse_end`, before the count, as Redis checks
/// them) and the count (1 when absent).
pub fn parse_multi_pop<'a, E>(
    c: &Call<'a>,
    numkeys_idx: usize,
    parse_end: impl FnOnce(&[u8]) -> Result<E, Frame>,
) -> Result<(&'a [Bytes], E, usize), Frame> {
    let numkeys = get_range_long(
        c.arg(numkeys_idx),
        1,
        i64::MAX,
        Some("numkeys should be greater than 0"),
    )?;
    let first = numkeys_idx + 1;
    let where_idx = first
        .checked_add(to_usize(numkeys))
        .filter(|&w| w < c.argc())
        .ok_or_else(reply::syntax)?;
    let end = parse_end(c.arg(where_idx))?;
    let mut count: Option<i64> = None;
    let mut j = where_idx + 1;
    while j < c.argc() {
        if count.is_none() && c.arg(j).eq_ignore_ascii_case(b"count") && j + 1 < c.argc() {
            j += 1;
            count = Some(get_range_long(
                c.arg(j),
                1,
                i64::MAX,
                Some("count should be greater than 0"),
            )?);
        } else {
            return Err(reply::syntax());
        }
        j += 1;
    }
    let keys = c.args.get(first..where_idx).unwrap_or_default();
    Ok((keys, end, to_usize(count.unwrap_or(1))))
}
