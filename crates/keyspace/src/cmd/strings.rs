//! String commands: GET SET SETNX SETEX PSETEX MGET MSET MSETNX GETSET GETDEL
//! GETEX APPEND STRLEN GETRANGE SETRANGE INCR DECR INCRBY DECRBY INCRBYFLOAT.

use crate::cmd::spec::{acl::*, c, flag::*, Spec, K1, KALL, KPAIRS};
use bytes::Bytes;
use resp_codec::Frame;

use crate::call::{reply, Call, Propagate};
use crate::cmd::options::{self, ExpireUnit, Grammar};
use crate::db::NO_EXPIRE;
use crate::keyspace::Keyspace;
use crate::long_double::{incr_by_float, IncrFloatError};
use crate::numeric::parse_i64;
use crate::value::{StrValue, Value};

/// What a string lookup found.
enum Found {
    Missing,
    /// Another type, with the key's expiry (SET KEEPTTL keeps it).
    WrongType(i64),
    Str(StrValue, i64),
}

fn read_str(ks: &mut Keyspace, c: &Call<'_>, key: &[u8]) -> Found {
    let found = ks.lookup_read(c.db, key, c.now_ms).map(|e| match &e.value {
        Value::Str(s) => Some(s.clone()),
        _ => None,
    });
    with_expiry(ks, c, key, found)
}

fn write_str(ks: &mut Keyspace, c: &Call<'_>, key: &[u8]) -> Found {
    let found = ks
        .lookup_write(c.db, key, c.now_ms)
        .map(|e| match &e.value {
            Value::Str(s) => Some(s.clone()),
            _ => None,
        });
    with_expiry(ks, c, key, found)
}

fn with_expiry(ks: &Keyspace, c: &Call<'_>, key: &[u8], found: Option<Option<StrValue>>) -> Found {
    let ttl = || ks.db(c.db).map_or(NO_EXPIRE, |d| d.expire_of(key));
    match found {
        None => Found::Missing,
        Some(Some(s)) => Found::Str(s, ttl()),
        Some(None) => Found::WrongType(ttl()),
    }
}

/// Stores argument `i`'s key and records it as modified.
fn store(ks: &mut Keyspace, c: &Call<'_>, i: usize, v: StrValue, expire_at: i64) {
    if let Some(db) = ks.db_mut(c.db) {
        db.set(c.arg(i), Value::Str(v), expire_at, c.now_ms);
    }
    ks.add_dirty(1);
    ks.signal_modified(c.db, c.arg_bytes(i));
}

/// GET key
pub fn get(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    match ks.lookup_read(c.db, c.arg(1), c.now_ms) {
        None => reply::nil(),
        Some(e) => match &e.value {
            Value::Str(s) => Frame::Bulk(s.to_bytes()),
            _ => reply::wrongtype(),
        },
    }
}

/// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL]
pub fn set(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    if c.argc() == 3 {
        // Plain SET: no option can make the old value matter, so skip the
        // lookup and overwrite in one hash probe.
        store(ks, c, 1, StrValue::from_client(c.arg(2)), NO_EXPIRE);
        c.verbatim();
        return reply::ok();
    }
    let o = match options::parse(c, 3, Grammar::Set) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let expire_at = match o.expire {
        None => None,
        Some((unit, raw)) => match options::absolute_ms(unit, raw, c.now_ms, "set") {
            Ok(ms) => Some(ms),
            Err(e) => return e,
        },
    };
    set_generic(ks, c, o.nx, o.xx, o.get, o.keepttl, expire_at, c.arg(2))
}

#[allow(clippy::too_many_arguments)]
fn set_generic(
    ks: &mut Keyspace,
    c: &mut Call<'_>,
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    expire_at: Option<i64>,
    value: &[u8],
) -> Frame {
    let key = c.arg(1);
    let (found, old, old_ttl) = match write_str(ks, c, key) {
        Found::WrongType(_) if get => return reply::wrongtype(),
        Found::WrongType(ttl) => (true, None, ttl),
        Found::Missing => (false, None, NO_EXPIRE),
        Found::Str(s, t) => (true, Some(s), t),
    };
    let old_reply = || match &old {
        Some(s) => Frame::Bulk(s.to_bytes()),
        None => reply::nil(),
    };
    if (nx && found) || (xx && !found) {
        return if get { old_reply() } else { reply::nil() };
    }
    let ttl = match expire_at {
        Some(ms) => ms,
        None if keepttl => old_ttl,
        None => NO_EXPIRE,
    };
    store(ks, c, 1, StrValue::from_client(value), ttl);
    match expire_at {
        Some(ms) => {
            c.propagate = Propagate::Rewritten(vec![vec![
                Bytes::from_static(b"SET"),
                c.arg_bytes(1),
                Bytes::copy_from_slice(value),
                Bytes::from_static(b"PXAT"),
                Bytes::from(ms.to_string()),
            ]])
        }
        None if get => {
            // Replicas need the write, not the read half of the command.
            let cmd: Vec<Bytes> = c
                .args
                .iter()
                .enumerate()
                .filter(|(i, a)| *i < 3 || !a.eq_ignore_ascii_case(b"GET"))
                .map(|(_, a)| a.clone())
                .collect();
            c.propagate = Propagate::Rewritten(vec![cmd]);
        }
        None => c.verbatim(),
    }
    if get {
        old_reply()
    } else {
        reply::ok()
    }
}

/// SETNX key value
pub fn setnx(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    if ks.exists(c.db, c.arg(1), c.now_ms) {
        return reply::int(0);
    }
    store(ks, c, 1, StrValue::from_client(c.arg(2)), NO_EXPIRE);
    c.verbatim();
    reply::int(1)
}

fn setex_generic(ks: &mut Keyspace, c: &mut Call<'_>, unit: ExpireUnit, name: &str) -> Frame {
    match options::absolute_ms(unit, c.arg(2), c.now_ms, name) {
        Ok(ms) => set_generic(ks, c, false, false, false, false, Some(ms), c.arg(3)),
        Err(e) => e,
    }
}

/// SETEX key seconds value
pub fn setex(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    setex_generic(ks, c, ExpireUnit::Ex, "setex")
}

/// PSETEX key milliseconds value
pub fn psetex(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    setex_generic(ks, c, ExpireUnit::Px, "psetex")
}

/// MGET key [key ...]
pub fn mget(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let mut out = Vec::with_capacity(c.argc().saturating_sub(1));
    for i in 1..c.argc() {
        out.push(match read_str(ks, c, c.arg(i)) {
            Found::Str(s, _) => Frame::Bulk(s.to_bytes()),
            _ => reply::nil(),
        });
    }
    Frame::Array(out)
}

/// MSET key value [key value ...]
pub fn mset(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    if c.argc() % 2 == 0 {
        return reply::wrong_args(&c.name_lower());
    }
    for i in (1..c.argc()).step_by(2) {
        store(ks, c, i, StrValue::from_client(c.arg(i + 1)), NO_EXPIRE);
    }
    c.verbatim();
    reply::ok()
}

/// MSETNX key value [key value ...]
pub fn msetnx(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    if c.argc() % 2 == 0 {
        return reply::wrong_args(&c.name_lower());
    }
    for i in (1..c.argc()).step_by(2) {
        if ks.exists(c.db, c.arg(i), c.now_ms) {
            return reply::int(0);
        }
    }
    for i in (1..c.argc()).step_by(2) {
        store(ks, c, i, StrValue::from_client(c.arg(i + 1)), NO_EXPIRE);
    }
    c.verbatim();
    reply::int(1)
}

/// GETSET key value
pub fn getset(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let old = match write_str(ks, c, c.arg(1)) {
        Found::WrongType(_) => return reply::wrongtype(),
        Found::Missing => reply::nil(),
        Found::Str(s, _) => Frame::Bulk(s.to_bytes()),
    };
    store(ks, c, 1, StrValue::from_client(c.arg(2)), NO_EXPIRE);
    c.propagate = Propagate::Rewritten(vec![vec![
        Bytes::from_static(b"SET"),
        c.arg_bytes(1),
        c.arg_bytes(2),
    ]]);
    old
}

/// GETDEL key
pub fn getdel(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    match read_str(ks, c, c.arg(1)) {
        Found::WrongType(_) => reply::wrongtype(),
        Found::Missing => reply::nil(),
        Found::Str(s, _) => {
            if let Some(db) = ks.db_mut(c.db) {
                db.remove(c.arg(1));
            }
            ks.add_dirty(1);
            ks.signal_modified(c.db, c.arg_bytes(1));
            c.propagate =
                Propagate::Rewritten(vec![vec![Bytes::from_static(b"DEL"), c.arg_bytes(1)]]);
            Frame::Bulk(s.to_bytes())
        }
    }
}

/// GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST]
pub fn getex(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let o = match options::parse(c, 2, Grammar::GetEx) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let (value, ttl) = match read_str(ks, c, c.arg(1)) {
        Found::WrongType(_) => return reply::wrongtype(),
        Found::Missing => return reply::nil(),
        Found::Str(s, t) => (s, t),
    };
    let expire_at = match o.expire {
        None => None,
        Some((unit, raw)) => match options::absolute_ms(unit, raw, c.now_ms, "getex") {
            Ok(ms) => Some((unit, ms)),
            Err(e) => return e,
        },
    };
    let key = c.arg_bytes(1);
    if expire_at.is_some() || (o.persist && ttl != NO_EXPIRE) {
        ks.signal_modified(c.db, key.clone());
    }
    if let Some((unit, ms)) = expire_at {
        let absolute = matches!(unit, ExpireUnit::ExAt | ExpireUnit::PxAt);
        if absolute && ms <= c.now_ms && ks.reclaims_expired() {
            if let Some(db) = ks.db_mut(c.db) {
                db.remove(&key);
            }
            c.propagate = Propagate::Rewritten(vec![vec![Bytes::from_static(b"DEL"), key]]);
        } else {
            if let Some(db) = ks.db_mut(c.db) {
                db.set_expire(&key, ms);
            }
            c.propagate = Propagate::Rewritten(vec![vec![
                Bytes::from_static(b"PEXPIREAT"),
                key,
                Bytes::from(ms.to_string()),
            ]]);
        }
        ks.add_dirty(1);
    } else if o.persist && ttl != NO_EXPIRE {
        if let Some(db) = ks.db_mut(c.db) {
            db.set_expire(&key, NO_EXPIRE);
        }
        ks.add_dirty(1);
        c.propagate = Propagate::Rewritten(vec![vec![Bytes::from_static(b"PERSIST"), key]]);
    }
    Frame::Bulk(value.to_bytes())
}

fn too_big(ks: &Keyspace, len: u64) -> Option<Frame> {
    (len > ks.config().max_string_len)
        .then(|| reply::err_static("ERR string exceeds maximum allowed size (proto-max-bulk-len)"))
}

/// APPEND key value
pub fn append(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let add = c.arg(2);
    let (new, ttl) = match write_str(ks, c, c.arg(1)) {
        Found::WrongType(_) => return reply::wrongtype(),
        Found::Missing => (StrValue::from_client(add), NO_EXPIRE),
        Found::Str(s, ttl) => {
            if let Some(e) = too_big(ks, (s.len() + add.len()) as u64) {
                return e;
            }
            let mut buf = Vec::with_capacity(s.len() + add.len());
            match s.as_slice() {
                Some(cur) => buf.extend_from_slice(cur),
                None => buf.extend_from_slice(&s.to_bytes()),
            }
            buf.extend_from_slice(add);
            (StrValue::modified(buf), ttl)
        }
    };
    let len = new.len();
    store(ks, c, 1, new, ttl);
    c.verbatim();
    reply::count(len)
}

/// STRLEN key
pub fn strlen(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    match read_str(ks, c, c.arg(1)) {
        Found::WrongType(_) => reply::wrongtype(),
        Found::Missing => reply::int(0),
        Found::Str(s, _) => reply::count(s.len()),
    }
}

/// GETRANGE key start end
pub fn getrange(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let (Some(mut start), Some(mut end)) = (parse_i64(c.arg(2)), parse_i64(c.arg(3))) else {
        return reply::not_int();
    };
    let s = match read_str(ks, c, c.arg(1)) {
        Found::WrongType(_) => return reply::wrongtype(),
        Found::Missing => return Frame::Bulk(Bytes::new()),
        Found::Str(s, _) => s.to_bytes(),
    };
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Frame::Bulk(Bytes::new());
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Frame::Bulk(Bytes::new());
    }
    Frame::Bulk(s.slice(start as usize..=end as usize))
}

/// SETRANGE key offset value
pub fn setrange(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let Some(offset) = parse_i64(c.arg(2)) else {
        return reply::not_int();
    };
    if offset < 0 {
        return reply::err_static("ERR offset is out of range");
    }
    let value = c.arg(3);
    let (cur, ttl) = match write_str(ks, c, c.arg(1)) {
        Found::WrongType(_) => return reply::wrongtype(),
        Found::Missing => {
            if value.is_empty() {
                return reply::int(0);
            }
            (Bytes::new(), NO_EXPIRE)
        }
        Found::Str(s, ttl) => {
            if value.is_empty() {
                return reply::count(s.len());
            }
            (s.to_bytes(), ttl)
        }
    };
    let offset = offset as u64;
    if let Some(e) = too_big(ks, offset + value.len() as u64) {
        return e;
    }
    let offset = offset as usize;
    let new_len = cur.len().max(offset + value.len());
    let mut buf = vec![0u8; new_len];
    buf[..cur.len()].copy_from_slice(&cur);
    buf[offset..offset + value.len()].copy_from_slice(value);
    store(ks, c, 1, StrValue::modified(buf), ttl);
    c.verbatim();
    reply::count(new_len)
}

/// A bit offset as SETBIT and GETBIT take it: a non-negative integer
/// whose byte fits in `proto-max-bulk-len`.
fn bit_offset(ks: &Keyspace, raw: &[u8]) -> Result<u64, Frame> {
    parse_i64(raw)
        .and_then(|n| u64::try_from(n).ok())
        .filter(|n| (n >> 3) < ks.config().max_string_len)
        .ok_or_else(|| reply::err_static("ERR bit offset is not an integer or out of range"))
}

/// SETBIT key offset value: the one byte changes in place when the string
/// already holds it, so a large bitmap is never copied for one bit.
pub fn setbit(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let offset = match bit_offset(ks, c.arg(2)) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let on = match c.arg(3) {
        b"1" => true,
        b"0" => false,
        _ => return reply::err_static("ERR bit is not an integer or out of range"),
    };
    let byte = usize::try_from(offset >> 3).unwrap_or(usize::MAX);
    let mask = 1u8 << (7 - (offset & 7));
    let flip = |b: &mut u8| {
        let old = *b & mask != 0;
        if on {
            *b |= mask;
        } else {
            *b &= !mask;
        }
        old
    };
    let in_place = match ks.lookup_write(c.db, c.arg(1), c.now_ms) {
        None => None,
        Some(e) => match &mut e.value {
            Value::Str(StrValue::Heap { data, raw }) if byte < data.len() => {
                *raw = true;
                data.get_mut(byte).map(flip)
            }
            Value::Str(_) => None,
            _ => return reply::wrongtype(),
        },
    };
    let old = match in_place {
        Some(old) => {
            ks.add_dirty(1);
            ks.signal_modified(c.db, c.arg_bytes(1));
            old
        }
        None => {
            // Missing, too short, or held compactly: rebuilt once as a
            // plain byte string, as Redis unshares it.
            let (mut buf, ttl) = match write_str(ks, c, c.arg(1)) {
                Found::WrongType(_) => return reply::wrongtype(),
                Found::Missing => (Vec::new(), NO_EXPIRE),
                Found::Str(s, ttl) => (s.to_bytes().to_vec(), ttl),
            };
            if buf.len() <= byte {
                buf.resize(byte + 1, 0);
            }
            let old = buf.get_mut(byte).is_some_and(flip);
            store(ks, c, 1, StrValue::modified(buf), ttl);
            old
        }
    };
    c.verbatim();
    reply::int(i64::from(old))
}

/// GETBIT key offset
pub fn getbit(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let offset = match bit_offset(ks, c.arg(2)) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let byte = usize::try_from(offset >> 3).unwrap_or(usize::MAX);
    let mask = 1u8 << (7 - (offset & 7));
    match read_str(ks, c, c.arg(1)) {
        Found::WrongType(_) => reply::wrongtype(),
        Found::Missing => reply::int(0),
        Found::Str(s, _) => {
            let set = match s.as_slice() {
                Some(b) => b.get(byte).is_some_and(|x| x & mask != 0),
                None => s.to_bytes().get(byte).is_some_and(|x| x & mask != 0),
            };
            reply::int(i64::from(set))
        }
    }
}

fn incr_generic(ks: &mut Keyspace, c: &mut Call<'_>, by: i64) -> Frame {
    let (cur, ttl) = match write_str(ks, c, c.arg(1)) {
        Found::WrongType(_) => return reply::wrongtype(),
        Found::Missing => (0, NO_EXPIRE),
        Found::Str(StrValue::Int(n), ttl) => (n, ttl),
        Found::Str(s, ttl) => match parse_i64(&s.to_bytes()) {
            Some(n) => (n, ttl),
            None => return reply::not_int(),
        },
    };
    let Some(new) = cur.checked_add(by) else {
        return reply::err_static("ERR increment or decrement would overflow");
    };
    store(ks, c, 1, StrValue::Int(new), ttl);
    c.verbatim();
    reply::int(new)
}

/// INCR key
pub fn incr(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    incr_generic(ks, c, 1)
}

/// DECR key
pub fn decr(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    incr_generic(ks, c, -1)
}

/// INCRBY key increment
pub fn incrby(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    match parse_i64(c.arg(2)) {
        Some(n) => incr_generic(ks, c, n),
        None => reply::not_int(),
    }
}

/// DECRBY key decrement
pub fn decrby(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    match parse_i64(c.arg(2)) {
        Some(i64::MIN) => reply::err_static("ERR decrement would overflow"),
        Some(n) => incr_generic(ks, c, -n),
        None => reply::not_int(),
    }
}

/// INCRBYFLOAT key increment
pub fn incrbyfloat(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let (cur, ttl) = match write_str(ks, c, c.arg(1)) {
        Found::WrongType(_) => return reply::wrongtype(),
        Found::Missing => (None, NO_EXPIRE),
        Found::Str(s, ttl) => (Some(s.to_bytes()), ttl),
    };
    let text = match incr_by_float(cur.as_deref(), c.arg(2)) {
        Ok(t) => Bytes::from(t),
        Err(IncrFloatError::NotFinite) => {
            return reply::err_static("ERR increment would produce NaN or Infinity")
        }
        Err(_) => return reply::not_float(),
    };
    store(ks, c, 1, StrValue::plain(&text), ttl);
    c.propagate = Propagate::Rewritten(vec![vec![
        Bytes::from_static(b"SET"),
        c.arg_bytes(1),
        text.clone(),
        Bytes::from_static(b"KEEPTTL"),
    ]]);
    Frame::Bulk(text)
}

/// The string commands' table rows (see [`super::spec`]).
#[rustfmt::skip]
pub const SPECS: &[Spec] = &[
    c("get", 2, READONLY | FAST, K1, R_STR, "string", "1.0.0", "Returns the string value of a key.", "O(1)", get),
    c("set", -3, WRITE | DENYOOM, K1, W_STR, "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", "O(1)", set),
    c("setnx", 3, WRITE | DENYOOM | FAST, K1, WF_STR, "string", "1.0.0", "Set the string value of a key only when the key doesn't exist.", "O(1)", setnx),
    c("setex", 4, WRITE | DENYOOM, K1, W_STR, "string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", "O(1)", setex),
    c("psetex", 4, WRITE | DENYOOM, K1, W_STR, "string", "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", "O(1)", psetex),
    c("mget", -2, READONLY | FAST, KALL, R_STR, "string", "1.0.0", "Atomically returns the string values of one or more keys.", "O(N) where N is the number of keys to retrieve.", mget),
    c("mset", -3, WRITE | DENYOOM, KPAIRS, W_STR, "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys.", "O(N) where N is the number of keys to set.", mset),
    c("msetnx", -3, WRITE | DENYOOM, KPAIRS, W_STR, "string", "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist.", "O(N) where N is the number of keys to set.", msetnx),
    c("getset", 3, WRITE | DENYOOM | FAST, K1, WF_STR, "string", "1.0.0", "Returns the previous string value of a key after setting it to a new value.", "O(1)", getset),
    c("getdel", 2, WRITE | FAST, K1, WF_STR, "string", "6.2.0", "Returns the string value of a key after deleting the key.", "O(1)", getdel),
    c("getex", -2, WRITE | FAST, K1, WF_STR, "string", "6.2.0", "Returns the string value of a key after setting its expiration time.", "O(1)", getex),
    c("append", 3, WRITE | DENYOOM | FAST, K1, WF_STR, "string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist.", "O(1)", append),
    c("strlen", 2, READONLY | FAST, K1, R_STR, "string", "2.2.0", "Returns the length of a string value.", "O(1)", strlen),
    c("getrange", 4, READONLY, K1, &["read", "string", "slow"], "string", "2.4.0", "Returns a substring of the string stored at a key.", "O(N) where N is the length of the returned string.", getrange),
    c("substr", 4, READONLY, K1, &["read", "string", "slow"], "string", "1.0.0", "Returns a substring from a string value.", "O(N) where N is the length of the returned string.", getrange),
    c("setrange", 4, WRITE | DENYOOM, K1, W_STR, "string", "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", "O(1)", setrange),
    c("setbit", 4, WRITE | DENYOOM, K1, &["write", "bitmap", "slow"], "bitmap", "2.2.0", "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", "O(1)", setbit),
    c("getbit", 3, READONLY | FAST, K1, &["read", "bitmap", "fast"], "bitmap", "2.2.0", "Returns a bit value by offset.", "O(1)", getbit),
    c("incr", 2, WRITE | DENYOOM | FAST, K1, WF_STR, "string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "O(1)", incr),
    c("decr", 2, WRITE | DENYOOM | FAST, K1, WF_STR, "string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "O(1)", decr),
    c("incrby", 3, WRITE | DENYOOM | FAST, K1, WF_STR, "string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "O(1)", incrby),
    c("decrby", 3, WRITE | DENYOOM | FAST, K1, WF_STR, "string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", "O(1)", decrby),
    c("incrbyfloat", 3, WRITE | DENYOOM | FAST, K1, WF_STR, "string", "2.6.0", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "O(1)", incrbyfloat),
];
