//! Generic key commands: DEL UNLINK EXISTS TYPE KEYS SCAN RANDOMKEY RENAME
//! RENAMENX DBSIZE FLUSHDB FLUSHALL SELECT SWAPDB MOVE COPY OBJECT.

use crate::cmd::spec::{acl::*, c, flag::*, Spec, K1, K12, KALL, NOKEY};
use bytes::Bytes;
use resp_codec::Frame;

use crate::call::{reply, Call};
use crate::db::{expired_at, Record, NO_EXPIRE};
use crate::glob::glob_match;
use crate::keyspace::Keyspace;
use crate::numeric::parse_i64;
use crate::value::{StrValue, Value, ValueType};

/// DEL key [key ...] (frees lazily under `lazyfree-lazy-user-del`)
pub fn del(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let lazy = ks.lazy_free().user_del;
    del_generic(ks, c, lazy)
}

/// UNLINK key [key ...]: big values are freed off the command path.
pub fn unlink(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    del_generic(ks, c, true)
}

fn del_generic(ks: &mut Keyspace, c: &mut Call<'_>, lazy: bool) -> Frame {
    let mut n = 0;
    for i in 1..c.argc() {
        if ks.exists(c.db, c.arg(i), c.now_ms) {
            if let Some(rec) = ks.db_mut(c.db).and_then(|db| db.remove(c.arg(i))) {
                ks.dispose(rec.value, lazy);
            }
            ks.signal_modified(c.db, c.arg_bytes(i));
            n += 1;
        }
    }
    if n > 0 {
        ks.add_dirty(n);
        c.verbatim();
    }
    reply::int(n as i64)
}

/// EXISTS key [key ...]
pub fn exists(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let mut n = 0;
    for i in 1..c.argc() {
        if ks.lookup_read(c.db, c.arg(i), c.now_ms).is_some() {
            n += 1;
        }
    }
    reply::int(n)
}

/// TYPE key
pub fn type_(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let name = match ks.lookup_read(c.db, c.arg(1), c.now_ms) {
        None => "none",
        Some(e) => e.value.value_type().name(),
    };
    Frame::Simple(Bytes::from_static(name.as_bytes()))
}

/// KEYS pattern
pub fn keys(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let pattern = c.arg(1);
    let all = pattern == b"*";
    let Some(db) = ks.db(c.db) else {
        return Frame::Array(Vec::new());
    };
    let out = db
        .iter()
        .filter(|(k, _, at)| !expired_at(*at, c.now_ms) && (all || glob_match(pattern, k, false)))
        .map(|(k, _, _)| Frame::Bulk(Bytes::copy_from_slice(k)))
        .collect();
    Frame::Array(out)
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
pub fn scan(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let Some(cursor) = std::str::from_utf8(c.arg(1))
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    else {
        return reply::err_static("ERR invalid cursor");
    };
    let mut pattern: Option<&[u8]> = None;
    let mut count = 10usize;
    let mut type_filter: Option<Option<ValueType>> = None;
    let mut i = 2;
    while i < c.argc() {
        let has_next = i + 1 < c.argc();
        match c.arg(i).to_ascii_uppercase().as_slice() {
            b"COUNT" if has_next => match parse_i64(c.arg(i + 1)) {
                None => return reply::not_int(),
                Some(n) if n < 1 => return reply::syntax(),
                Some(n) => count = usize::try_from(n).unwrap_or(usize::MAX),
            },
            b"MATCH" if has_next => pattern = Some(c.arg(i + 1)),
            b"TYPE" if has_next => type_filter = Some(ValueType::from_name(c.arg(i + 1))),
            _ => return reply::syntax(),
        }
        i += 2;
    }
    let mut out = Vec::new();
    let now = c.now_ms;
    let next = match ks.db(c.db) {
        None => 0,
        Some(db) => db.scan(cursor, count, |k, e, at| {
            if expired_at(at, now) {
                return;
            }
            if let Some(p) = pattern {
                if p != b"*" && !glob_match(p, k, false) {
                    return;
                }
            }
            if let Some(t) = type_filter {
                if t != Some(e.value.value_type()) {
                    return;
                }
            }
            out.push(Frame::Bulk(Bytes::copy_from_slice(k)));
        }),
    };
    Frame::Array(vec![
        Frame::Bulk(Bytes::from(next.to_string())),
        Frame::Array(out),
    ])
}

/// RANDOMKEY
pub fn randomkey(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let now = c.now_ms;
    let db = c.db;
    let mut rng = ks.rng().clone();
    let key = ks.db(db).and_then(|d| d.random_key(&mut rng, now));
    *ks.rng() = rng;
    match key {
        Some(k) => Frame::Bulk(k),
        None => reply::nil(),
    }
}

fn rename_generic(ks: &mut Keyspace, c: &mut Call<'_>, nx: bool) -> Frame {
    let (src, dst) = (c.arg(1), c.arg(2));
    if !ks.exists(c.db, src, c.now_ms) {
        return reply::no_such_key();
    }
    if src == dst {
        return if nx { reply::int(0) } else { reply::ok() };
    }
    let dst_exists = ks.exists(c.db, dst, c.now_ms);
    if nx && dst_exists {
        return reply::int(0);
    }
    let Some(db) = ks.db_mut(c.db) else {
        return reply::no_such_key();
    };
    if let Some(entry) = db.remove(src) {
        db.insert_record(dst, entry, c.now_ms);
    }
    ks.add_dirty(1);
    c.verbatim();
    ks.signal_modified(c.db, c.arg_bytes(1));
    ks.signal_modified(c.db, c.arg_bytes(2));
    if nx {
        reply::int(1)
    } else {
        reply::ok()
    }
}

/// RENAME key newkey
pub fn rename(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    rename_generic(ks, c, false)
}

/// RENAMENX key newkey
pub fn renamenx(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    rename_generic(ks, c, true)
}

/// DBSIZE
pub fn dbsize(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    reply::count(ks.db(c.db).map_or(0, |d| d.len()))
}

/// Whether a FLUSHDB/FLUSHALL frees lazily (`Some(true)`), in place
/// (`Some(false)`), or has a bad argument (`None`).
fn flush_mode(ks: &Keyspace, c: &Call<'_>) -> Option<bool> {
    match c.argc() {
        1 => Some(ks.lazy_free().user_flush),
        2 if c.arg(1).eq_ignore_ascii_case(b"async") => Some(true),
        2 if c.arg(1).eq_ignore_ascii_case(b"sync") => Some(false),
        _ => None,
    }
}

/// FLUSHDB [ASYNC|SYNC] (the keyspace reports the watched keys it empties)
pub fn flushdb(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let Some(lazy) = flush_mode(ks, c) else {
        return reply::syntax();
    };
    let n = ks.flush(Some(c.db), lazy);
    ks.add_dirty(n as u64);
    c.verbatim();
    reply::ok()
}

/// FLUSHALL [ASYNC|SYNC]
pub fn flushall(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let Some(lazy) = flush_mode(ks, c) else {
        return reply::syntax();
    };
    let n = ks.flush(None, lazy);
    ks.add_dirty(n as u64 + 1);
    c.verbatim();
    reply::ok()
}

/// Parses an `int` argument with Redis's `getIntFromObjectOrReply` errors.
fn parse_int(raw: &[u8]) -> Result<i32, Frame> {
    let n = parse_i64(raw).ok_or_else(reply::not_int)?;
    i32::try_from(n).map_err(|_| {
        reply::err_static(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        )
    })
}

fn db_index(ks: &Keyspace, raw: &[u8]) -> Result<usize, Frame> {
    let n = parse_int(raw)?;
    usize::try_from(n)
        .ok()
        .filter(|&n| n < ks.db_count())
        .ok_or_else(reply::db_out_of_range)
}

/// SELECT index
pub fn select(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    match db_index(ks, c.arg(1)) {
        Ok(i) => {
            c.db = i;
            reply::ok()
        }
        Err(e) => e,
    }
}

/// SWAPDB index1 index2
pub fn swapdb(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let Some(a) = parse_i64(c.arg(1)).and_then(|n| i32::try_from(n).ok()) else {
        return reply::err_static("ERR invalid first DB index");
    };
    let Some(b) = parse_i64(c.arg(2)).and_then(|n| i32::try_from(n).ok()) else {
        return reply::err_static("ERR invalid second DB index");
    };
    let n = ks.db_count() as i64;
    if !(0..n).contains(&i64::from(a)) || !(0..n).contains(&i64::from(b)) {
        return reply::db_out_of_range();
    }
    ks.swap_dbs(a as usize, b as usize);
    ks.add_dirty(1);
    c.verbatim();
    reply::ok()
}

/// MOVE key db
pub fn move_(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let dst = match db_index(ks, c.arg(2)) {
        Ok(d) => d,
        Err(e) => return e,
    };
    if dst == c.db {
        return reply::err_static("ERR source and destination objects are the same");
    }
    if !ks.exists(c.db, c.arg(1), c.now_ms) || ks.exists(dst, c.arg(1), c.now_ms) {
        return reply::int(0);
    }
    let Some(entry) = ks.db_mut(c.db).and_then(|d| d.remove(c.arg(1))) else {
        return reply::int(0);
    };
    if let Some(d) = ks.db_mut(dst) {
        d.insert_record(c.arg(1), entry, c.now_ms);
    }
    ks.add_dirty(1);
    c.verbatim();
    ks.signal_modified(c.db, c.arg_bytes(1));
    ks.signal_modified(dst, c.arg_bytes(1));
    reply::int(1)
}

/// COPY source destination [DB destination-db] [REPLACE]
pub fn copy(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let mut dst_db = c.db;
    let mut replace = false;
    let mut i = 3;
    while i < c.argc() {
        let opt = c.arg(i).to_ascii_uppercase();
        if opt == b"REPLACE" {
            replace = true;
        } else if opt == b"DB" && i + 1 < c.argc() {
            dst_db = match db_index(ks, c.arg(i + 1)) {
                Ok(d) => d,
                Err(e) => return e,
            };
            i += 1;
        } else {
            return reply::syntax();
        }
        i += 1;
    }
    let (src, dst) = (c.arg(1), c.arg(2));
    if src == dst && dst_db == c.db {
        return reply::err_static("ERR source and destination objects are the same");
    }
    let Some(value) = ks
        .lookup_write(c.db, src, c.now_ms)
        .map(|e| e.value.clone())
    else {
        return reply::int(0);
    };
    let entry = Record {
        value,
        expire_at: ks.db(c.db).map_or(NO_EXPIRE, |d| d.expire_of(src)),
    };
    if ks.exists(dst_db, dst, c.now_ms) {
        if !replace {
            return reply::int(0);
        }
        if let Some(d) = ks.db_mut(dst_db) {
            d.remove(dst);
        }
    }
    if let Some(d) = ks.db_mut(dst_db) {
        d.insert_record(dst, entry, c.now_ms);
        d.mark_private_copy(dst);
    }
    ks.add_dirty(1);
    c.verbatim();
    ks.signal_modified(dst_db, c.arg_bytes(2));
    reply::int(1)
}

/// Integers Redis keeps as shared objects, whose refcount it reports as
/// `INT_MAX`.
const SHARED_INTEGERS: i64 = 10_000;

/// OBJECT ENCODING key
pub fn object_encoding(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    match ks.db(c.db).and_then(|d| d.peek(c.arg(2), c.now_ms)) {
        None => reply::nil(),
        Some(e) => Frame::Bulk(Bytes::from_static(e.value.encoding().as_bytes())),
    }
}

/// OBJECT REFCOUNT key
pub fn object_refcount(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    match ks.db(c.db).and_then(|d| d.peek_meta(c.arg(2), c.now_ms)) {
        None => reply::nil(),
        Some((e, meta)) => match e.value {
            Value::Str(StrValue::Int(n))
                if !meta.private_copy && (0..SHARED_INTEGERS).contains(&n) =>
            {
                reply::int(i64::from(i32::MAX))
            }
            _ => reply::int(1),
        },
    }
}

/// OBJECT IDLETIME key
pub fn object_idletime(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    match ks.db(c.db).and_then(|d| d.peek_meta(c.arg(2), c.now_ms)) {
        None => reply::nil(),
        Some((_, meta)) => {
            let now_s = c.now_ms.max(0) / 1000;
            reply::int((now_s - i64::from(meta.lru)).max(0))
        }
    }
}

/// OBJECT FREQ key (access frequency is only tracked under an LFU policy,
/// which replikv does not implement; Redis answers this error then).
pub fn object_freq(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    match ks.db(c.db).and_then(|d| d.peek(c.arg(2), c.now_ms)) {
        None => reply::nil(),
        Some(_) => reply::err_static(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. \
             Please note that when switching between policies at runtime LRU and LFU data \
             will take some time to adjust.",
        ),
    }
}

/// The generic key commands' table rows (see [`super::spec`]).
#[rustfmt::skip]
pub const SPECS: &[Spec] = &[
    c("del", -2, WRITE, KALL, &["keyspace", "write", "slow"], "generic", "1.0.0", "Deletes one or more keys.", "O(N) where N is the number of keys that will be removed.", del),
    c("unlink", -2, WRITE | FAST, KALL, W_KS, "generic", "4.0.0", "Asynchronously deletes one or more keys.", "O(1) for each key removed regardless of its size.", unlink),
    c("exists", -2, READONLY | FAST, KALL, R_KS, "generic", "1.0.0", "Determines whether one or more keys exist.", "O(N) where N is the number of keys to check.", exists),
    c("type", 2, READONLY | FAST, K1, R_KS, "generic", "1.0.0", "Determines the type of value stored at a key.", "O(1)", type_),
    c("keys", 2, READONLY, NOKEY, &["keyspace", "read", "slow", "dangerous"], "generic", "1.0.0", "Returns all key names that match a pattern.", "O(N) with N being the number of keys in the database.", keys),
    c("scan", -2, READONLY, NOKEY, &["keyspace", "read", "slow"], "generic", "2.8.0", "Iterates over the key names in the database.", "O(1) for every call. O(N) for a complete iteration.", scan),
    c("randomkey", 1, READONLY, NOKEY, &["keyspace", "read", "slow"], "generic", "1.0.0", "Returns a random key name from the database.", "O(1)", randomkey),
    c("rename", 3, WRITE, K12, &["keyspace", "write", "slow"], "generic", "1.0.0", "Renames a key and overwrites the destination.", "O(1)", rename),
    c("renamenx", 3, WRITE | FAST, K12, W_KS, "generic", "1.0.0", "Renames a key only when the target key name doesn't exist.", "O(1)", renamenx),
    c("dbsize", 1, READONLY | FAST, NOKEY, &["keyspace", "read", "fast"], "server", "1.0.0", "Returns the number of keys in the database.", "O(1)", dbsize),
    c("flushdb", -1, WRITE, NOKEY, &["keyspace", "write", "slow", "dangerous"], "server", "1.0.0", "Removes all keys from the current database.", "O(N) where N is the number of keys in the selected database", flushdb),
    c("select", 2, LOADING | STALE | FAST, NOKEY, &["fast", "connection"], "connection", "1.0.0", "Changes the selected database.", "O(1)", select),
    c("swapdb", 3, WRITE | FAST, NOKEY, &["keyspace", "write", "fast", "dangerous"], "server", "4.0.0", "Swaps two Redis databases.", "O(N) where N is the count of clients watching or blocking on keys from both databases.", swapdb),
    c("move", 3, WRITE | FAST, K1, W_KS, "generic", "1.0.0", "Moves a key to another database.", "O(1)", move_),
    c("copy", -3, WRITE | DENYOOM, K12, &["keyspace", "write", "slow"], "generic", "6.2.0", "Copies the value of a key to a new key.", "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", copy),
];
