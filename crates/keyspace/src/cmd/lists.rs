//! List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX
//! LSET LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH LMPOP.
//!
//! The blocking variants live in the server, which owns client state; they
//! serve a client through [`pop_for_blocked`] and [`move_for_blocked`],
//! which pop exactly as the non-blocking commands do and say what to
//! propagate.

use crate::cmd::spec::{c, flag::*, Spec};
use bytes::Bytes;
use resp_codec::Frame;

use crate::call::{reply, Call, Propagate};
use crate::cmd::common::{
    self, as_list, bulk, delete, done, get_long, get_positive_long, read, store, to_usize, word,
    write, Res,
};
use crate::keyspace::Keyspace;
pub use crate::list::End;
use crate::list::ListValue;
use crate::value::Value;

impl End {
    /// Parses `LEFT` / `RIGHT` (any case), or the syntax error.
    pub fn parse(arg: &[u8]) -> Result<End, Frame> {
        if arg.eq_ignore_ascii_case(b"left") {
            Ok(End::Left)
        } else if arg.eq_ignore_ascii_case(b"right") {
            Ok(End::Right)
        } else {
            Err(reply::syntax())
        }
    }

    fn word(self) -> Bytes {
        match self {
            End::Left => word("LEFT"),
            End::Right => word("RIGHT"),
        }
    }

    fn pop_cmd(self) -> Bytes {
        match self {
            End::Left => word("LPOP"),
            End::Right => word("RPOP"),
        }
    }
}

fn push_generic(ks: &mut Keyspace, c: &mut Call<'_>, end: End, only_existing: bool) -> Res {
    let key = c.arg(1);
    let values = c.args.get(2..).unwrap_or_default();
    let len = match as_list(write(ks, c, key))? {
        Some(l) => {
            l.push(end, values);
            l.len()
        }
        None if only_existing => return Ok(reply::int(0)),
        None => {
            let mut l = ListValue::new();
            l.push(end, values);
            let n = values.len();
            store(ks, c, key, Value::List(l));
            n
        }
    };
    ks.add_dirty(values.len() as u64);
    c.verbatim();
    common::modified(ks, c, 1);
    Ok(reply::count(len))
}

/// LPUSH key element [element ...]
pub fn lpush(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(push_generic(ks, c, End::Left, false))
}

/// RPUSH key element [element ...]
pub fn rpush(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(push_generic(ks, c, End::Right, false))
}

/// LPUSHX key element [element ...]
pub fn lpushx(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(push_generic(ks, c, End::Left, true))
}

/// RPUSHX key element [element ...]
pub fn rpushx(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(push_generic(ks, c, End::Right, true))
}

/// Pops up to `count` elements from `end` of the list at `key` (which must
/// exist), deleting the key when it empties. Returns the elements in pop
/// order.
fn pop_range(ks: &mut Keyspace, c: &Call<'_>, key: &Bytes, end: End, count: usize) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut empty = false;
    if let Ok(Some(l)) = as_list(write(ks, c, key)) {
        out = l.pop(end, count);
        empty = l.is_empty();
    }
    if empty {
        delete(ks, c, key);
    }
    if !out.is_empty() {
        ks.signal_modified(c.db, key.clone());
    }
    ks.add_dirty(out.len() as u64);
    out
}

fn pop_generic(ks: &mut Keyspace, c: &mut Call<'_>, end: End) -> Res {
    if c.argc() > 3 {
        return Err(reply::wrong_args(&c.name_lower()));
    }
    let count = if c.argc() == 3 {
        Some(to_usize(get_positive_long(c.arg(2), None)?))
    } else {
        None
    };
    let key = &c.args[1];
    if as_list(write(ks, c, key))?.is_none() {
        return Ok(if count.is_some() {
            Frame::NullArray
        } else {
            reply::nil()
        });
    }
    match count {
        Some(0) => Ok(Frame::Array(Vec::new())),
        None => {
            let v = pop_range(ks, c, key, end, 1);
            c.verbatim();
            Ok(v.into_iter().next().map_or_else(reply::nil, Frame::Bulk))
        }
        Some(n) => {
            let v = pop_range(ks, c, key, end, n);
            c.verbatim();
            Ok(Frame::Array(v.into_iter().map(Frame::Bulk).collect()))
        }
    }
}

/// LPOP key [count]
pub fn lpop(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(pop_generic(ks, c, End::Left))
}

/// RPOP key [count]
pub fn rpop(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(pop_generic(ks, c, End::Right))
}

/// LLEN key
pub fn llen(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(as_list(read(ks, c, c.arg(1))).map(|l| reply::count(l.map_or(0, |l| l.len()))))
}

/// Resolves Redis's inclusive `start..=end` range with negative indexes
/// over a length; `None` when empty.
pub(crate) fn resolve_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = i64::try_from(len).unwrap_or(i64::MAX);
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((to_usize(start), to_usize(end)))
}

/// LRANGE key start stop
pub fn lrange(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let start = get_long(c.arg(2))?;
        let end = get_long(c.arg(3))?;
        let Some(l) = as_list(read(ks, c, c.arg(1)))? else {
            return Ok(Frame::Array(Vec::new()));
        };
        let items = match resolve_range(start, end, l.len()) {
            None => Vec::new(),
            Some((s, e)) => l.range(s, e).map(|e| bulk(&e)).collect(),
        };
        Ok(Frame::Array(items))
    })())
}

/// The position of Redis list index `index` (negative from the tail).
fn list_pos(index: i64, len: usize) -> Option<usize> {
    let llen = i64::try_from(len).ok()?;
    let i = if index < 0 { llen + index } else { index };
    (0..llen).contains(&i).then(|| to_usize(i))
}

/// LINDEX key index
pub fn lindex(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let Some(l) = as_list(read(ks, c, c.arg(1)))? else {
            return Ok(reply::nil());
        };
        let index = get_long(c.arg(2))?;
        Ok(list_pos(index, l.len())
            .and_then(|i| l.get(i))
            .map_or_else(reply::nil, |e| bulk(&e)))
    })())
}

/// LSET key index element
pub fn lset(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let Some(l) = as_list(write(ks, c, c.arg(1)))? else {
            return Err(reply::no_such_key());
        };
        let index = get_long(c.arg(2))?;
        let set = list_pos(index, l.len()).is_some_and(|i| l.set(i, c.arg_bytes(3)));
        if !set {
            return Err(reply::err_static("ERR index out of range"));
        }
        ks.add_dirty(1);
        c.verbatim();
        common::modified(ks, c, 1);
        Ok(reply::ok())
    })())
}

/// LINSERT key BEFORE|AFTER pivot element
pub fn linsert(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let after = if c.arg(2).eq_ignore_ascii_case(b"after") {
            true
        } else if c.arg(2).eq_ignore_ascii_case(b"before") {
            false
        } else {
            return Err(reply::syntax());
        };
        let Some(l) = as_list(write(ks, c, c.arg(1)))? else {
            return Ok(reply::int(0));
        };
        let pivot = c.arg(3);
        let Some(at) = l.position(pivot) else {
            return Ok(reply::int(-1));
        };
        l.insert(if after { at + 1 } else { at }, c.arg_bytes(4));
        let len = l.len();
        ks.add_dirty(1);
        c.verbatim();
        common::modified(ks, c, 1);
        Ok(reply::count(len))
    })())
}

/// LREM key count element
pub fn lrem(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let count = get_long(c.arg(2))?;
        let key = c.arg(1);
        let Some(l) = as_list(write(ks, c, key))? else {
            return Ok(reply::int(0));
        };
        let target = c.arg(3);
        let limit = if count == 0 {
            usize::MAX
        } else {
            to_usize(i64::try_from(count.unsigned_abs()).unwrap_or(i64::MAX))
        };
        let removed = l.remove_matching(target, limit, count < 0);
        let empty = l.is_empty();
        if empty {
            delete(ks, c, key);
        }
        if removed > 0 {
            ks.add_dirty(removed as u64);
            c.verbatim();
            common::modified(ks, c, 1);
        }
        Ok(reply::count(removed))
    })())
}

/// LTRIM key start stop
pub fn ltrim(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let start = get_long(c.arg(2))?;
        let end = get_long(c.arg(3))?;
        let key = c.arg(1);
        let Some(l) = as_list(write(ks, c, key))? else {
            return Ok(reply::ok());
        };
        let len = l.len();
        let (ltrim, rtrim) = match resolve_range(start, end, len) {
            None => (len, 0),
            Some((s, e)) => (s, len - e - 1),
        };
        l.trim(ltrim, rtrim);
        let empty = l.is_empty();
        if empty {
            delete(ks, c, key);
        }
        let removed = (ltrim + rtrim) as u64;
        // Redis counts LTRIM as a change to the key even when it removes
        // nothing (only the propagation depends on the count).
        common::modified(ks, c, 1);
        if removed > 0 {
            ks.add_dirty(removed);
            c.verbatim();
        }
        Ok(reply::ok())
    })())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
pub fn lpos(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let mut rank: i64 = 1;
        let mut count: Option<i64> = None;
        let mut maxlen: i64 = 0;
        let mut j = 3;
        while j < c.argc() {
            let opt = c.arg(j);
            let more = j + 1 < c.argc();
            if opt.eq_ignore_ascii_case(b"rank") && more {
                j += 1;
                rank = get_long(c.arg(j))?;
                if rank == 0 {
                    return Err(reply::err_static(
                        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                    ));
                }
            } else if opt.eq_ignore_ascii_case(b"count") && more {
                j += 1;
                count = Some(get_positive_long(
                    c.arg(j),
                    Some("COUNT can't be negative"),
                )?);
            } else if opt.eq_ignore_ascii_case(b"maxlen") && more {
                j += 1;
                maxlen = get_positive_long(c.arg(j), Some("MAXLEN can't be negative"))?;
            } else {
                return Err(reply::syntax());
            }
            j += 1;
        }
        let reverse = rank < 0;
        // Redis negates with C's wrapping arithmetic: a rank of i64::MIN
        // stays negative, so every match qualifies.
        let rank = if reverse { rank.wrapping_neg() } else { rank };
        let Some(l) = as_list(read(ks, c, c.arg(1)))? else {
            return Ok(if count.is_some() {
                Frame::Array(Vec::new())
            } else {
                reply::nil()
            });
        };
        let ele = c.arg(2);
        let len = l.len();
        let maxlen = to_usize(maxlen);
        let mut matches: i64 = 0;
        let mut found = Vec::new();
        let iter = if reverse { l.iter_rev() } else { l.iter() };
        for (index, e) in iter.enumerate() {
            if maxlen != 0 && index >= maxlen {
                break;
            }
            if *e != *ele {
                continue;
            }
            matches += 1;
            if matches < rank {
                continue;
            }
            let pos = if reverse { len - index - 1 } else { index };
            found.push(reply::count(pos));
            match count {
                None => break,
                Some(0) => {}
                Some(n) if matches.wrapping_sub(rank).wrapping_add(1) >= n => break,
                Some(_) => {}
            }
        }
        Ok(match count {
            Some(_) => Frame::Array(found),
            None => found.into_iter().next().unwrap_or(Frame::Null),
        })
    })())
}

/// Moves one element from `src`'s `from` end to `dst`'s `to` end, with
/// Redis's checks in Redis's order. `Ok(None)`: `src` is missing.
fn move_one(
    ks: &mut Keyspace,
    c: &Call<'_>,
    src: &Bytes,
    dst: &Bytes,
    from: End,
    to: End,
) -> Result<Option<Bytes>, Frame> {
    if as_list(write(ks, c, src))?.is_none() {
        return Ok(None);
    }
    as_list(write(ks, c, dst))?;
    let mut value = None;
    let mut empty = false;
    if let Ok(Some(l)) = as_list(write(ks, c, src)) {
        value = l.pop_one(from);
        empty = l.is_empty();
    }
    let Some(value) = value else { return Ok(None) };
    if empty && src != dst {
        delete(ks, c, src);
    }
    match as_list(write(ks, c, dst))? {
        Some(l) => l.push(to, std::slice::from_ref(&value)),
        None => store(
            ks,
            c,
            dst,
            Value::List(ListValue::from_items([value.clone()])),
        ),
    }
    ks.add_dirty(1);
    ks.signal_modified(c.db, src.clone());
    if src != dst {
        ks.signal_modified(c.db, dst.clone());
    }
    Ok(Some(value))
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
pub fn lmove(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let from = End::parse(c.arg(3))?;
        let to = End::parse(c.arg(4))?;
        let v = move_one(ks, c, &c.args[1], &c.args[2], from, to)?;
        Ok(match v {
            Some(v) => {
                c.verbatim();
                Frame::Bulk(v)
            }
            None => reply::nil(),
        })
    })())
}

/// RPOPLPUSH source destination
pub fn rpoplpush(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let v = move_one(ks, c, &c.args[1], &c.args[2], End::Right, End::Left)?;
        Ok(match v {
            Some(v) => {
                c.verbatim();
                Frame::Bulk(v)
            }
            None => reply::nil(),
        })
    })())
}

/// What serving a (possibly blocked) pop produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    /// The reply for the client.
    pub reply: Frame,
    /// The key that was served.
    pub key: Bytes,
    /// The command replicas must apply (LPOP/RPOP [count], LMOVE...).
    pub propagate: Vec<Bytes>,
}

/// Pops from the first of `keys` holding a list, as LMPOP, BLPOP, BRPOP and
/// BLMPOP do. `count: None` is the single-element form (reply `[key,
/// element]`, propagated as `LPOP key`); `Some(n)` the multi-element form
/// (reply `[key, [elements]]`, propagated as `LPOP key n'` with `n'` the
/// number actually popped). `Ok(None)`: no key holds a list. A key of
/// another type met before a list is WRONGTYPE.
pub fn pop_first(
    ks: &mut Keyspace,
    c: &Call<'_>,
    keys: &[Bytes],
    end: End,
    count: Option<usize>,
) -> Result<Option<Served>, Frame> {
    for key in keys {
        let len = match as_list(write(ks, c, key))? {
            None => continue,
            Some(l) if l.is_empty() => continue,
            Some(l) => l.len(),
        };
        let n = count.unwrap_or(1).min(len);
        let popped = pop_range(ks, c, key, end, n);
        let (reply, propagate) = match count {
            None => (
                Frame::Array(vec![
                    bulk(key),
                    popped.into_iter().next().map_or(Frame::Null, Frame::Bulk),
                ]),
                vec![end.pop_cmd(), key.clone()],
            ),
            Some(_) => (
                Frame::Array(vec![
                    bulk(key),
                    Frame::Array(popped.into_iter().map(Frame::Bulk).collect()),
                ]),
                vec![end.pop_cmd(), key.clone(), Bytes::from(n.to_string())],
            ),
        };
        return Ok(Some(Served {
            reply,
            key: key.clone(),
            propagate,
        }));
    }
    Ok(None)
}

/// Serves a client blocked in BLPOP / BRPOP (`count: None`) or BLMPOP on
/// `key` in database `db`: pops and returns the reply and the command to
/// propagate, or `None` if `key` holds no list (any more).
pub fn pop_for_blocked(
    ks: &mut Keyspace,
    db: usize,
    now_ms: i64,
    key: &Bytes,
    end: End,
    count: Option<usize>,
) -> Option<Served> {
    let c = Call::new(&[], db, now_ms);
    pop_first(ks, &c, std::slice::from_ref(key), end, count)
        .ok()
        .flatten()
}

/// Serves a client blocked in BLMOVE (`rpoplpush: false`) or BRPOPLPUSH:
/// moves one element, returning the reply (the element) and the command to
/// propagate (LMOVE or RPOPLPUSH). `Ok(None)`: `src` holds no list;
/// `Err`: `dst` holds another type (nothing was popped).
pub fn move_for_blocked(
    ks: &mut Keyspace,
    db: usize,
    now_ms: i64,
    src: &Bytes,
    dst: &Bytes,
    (from, to): (End, End),
    rpoplpush: bool,
) -> Result<Option<Served>, Frame> {
    let c = Call::new(&[], db, now_ms);
    let Some(v) = move_one(ks, &c, src, dst, from, to)? else {
        return Ok(None);
    };
    let propagate = if rpoplpush {
        vec![word("RPOPLPUSH"), src.clone(), dst.clone()]
    } else {
        vec![
            word("LMOVE"),
            src.clone(),
            dst.clone(),
            from.word(),
            to.word(),
        ]
    };
    Ok(Some(Served {
        reply: Frame::Bulk(v),
        key: src.clone(),
        propagate,
    }))
}

/// Parses `numkeys key... LEFT|RIGHT [COUNT n]` starting at argument
/// `numkeys_idx` (LMPOP: 1, BLMPOP: 2): returns the keys, the end and the
/// count (1 when absent).
pub fn parse_mpop<'a>(
    c: &Call<'a>,
    numkeys_idx: usize,
) -> Result<(&'a [Bytes], End, usize), Frame> {
    crate::cmd::common::parse_multi_pop(c, numkeys_idx, End::parse)
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
pub fn lmpop(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let (keys, end, count) = parse_mpop(c, 1)?;
        match pop_first(ks, c, keys, end, Some(count))? {
            None => Ok(Frame::NullArray),
            Some(s) => {
                c.propagate = Propagate::Rewritten(vec![s.propagate]);
                Ok(s.reply)
            }
        }
    })())
}

/// The list commands' table rows (see [`super::spec`]).
#[rustfmt::skip]
pub const SPECS: &[Spec] = &[
    c("lpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "list", "fast"], "list", "1.0.0", "Prepend one or multiple elements to a list", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", lpush),
    c("rpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "list", "fast"], "list", "1.0.0", "Append one or multiple elements to a list", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", rpush),
    c("lpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "list", "fast"], "list", "2.2.0", "Prepend an element to a list, only if the list exists", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", lpushx),
    c("rpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "list", "fast"], "list", "2.2.0", "Append an element to a list, only if the list exists", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", rpushx),
    c("lpop", -2, WRITE | FAST, (1, 1, 1), &["write", "list", "fast"], "list", "1.0.0", "Remove and get the first elements in a list", "O(N) where N is the number of elements returned", lpop),
    c("rpop", -2, WRITE | FAST, (1, 1, 1), &["write", "list", "fast"], "list", "1.0.0", "Remove and get the last elements in a list", "O(N) where N is the number of elements returned", rpop),
    c("llen", 2, READONLY | FAST, (1, 1, 1), &["read", "list", "fast"], "list", "1.0.0", "Get the length of a list", "O(1)", llen),
    c("lrange", 4, READONLY, (1, 1, 1), &["read", "list", "slow"], "list", "1.0.0", "Get a range of elements from a list", "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.", lrange),
    c("lindex", 3, READONLY, (1, 1, 1), &["read", "list", "slow"], "list", "1.0.0", "Get an element from a list by its index", "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).", lindex),
    c("lset", 4, WRITE | DENYOOM, (1, 1, 1), &["write", "list", "slow"], "list", "1.0.0", "Set the value of an element in a list by its index", "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).", lset),
    c("linsert", 5, WRITE | DENYOOM, (1, 1, 1), &["write", "list", "slow"], "list", "2.2.0", "Insert an element before or after another element in a list", "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).", linsert),
    c("lrem", 4, WRITE, (1, 1, 1), &["write", "list", "slow"], "list", "1.0.0", "Remove elements from a list", "O(N+M) where N is the length of the list and M is the number of elements removed.", lrem),
    c("ltrim", 4, WRITE, (1, 1, 1), &["write", "list", "slow"], "list", "1.0.0", "Trim a list to the specified range", "O(N) where N is the number of elements to be removed by the operation.", ltrim),
    c("lpos", -3, READONLY, (1, 1, 1), &["read", "list", "slow"], "list", "6.0.6", "Return the index of matching elements on a list", "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.", lpos),
    c("lmove", 5, WRITE | DENYOOM, (1, 2, 1), &["write", "list", "slow"], "list", "6.2.0", "Pop an element from a list, push it to another list and return it", "O(1)", lmove),
    c("rpoplpush", 3, WRITE | DENYOOM, (1, 2, 1), &["write", "list", "slow"], "list", "1.2.0", "Remove the last element in a list, prepend it to another list and return it", "O(1)", rpoplpush),
    c("lmpop", -4, WRITE, (0, 0, 0), &["write", "list", "slow"], "list", "7.0.0", "Pop elements from a list", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", lmpop),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::KeyspaceConfig;

    fn run(
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

    fn b(s: &str) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn push_pop_and_delete_when_empty() {
        let mut ks = Keyspace::new(KeyspaceConfig::default(), 1);
        assert_eq!(
            run(&mut ks, lpush, &["LPUSH", "l", "a", "b", "c"]).0,
            reply::int(3)
        );
        assert_eq!(
            run(&mut ks, lrange, &["LRANGE", "l", "0", "-1"]).0,
            Frame::Array(vec![b("c"), b("b"), b("a")])
        );
        assert_eq!(
            run(&mut ks, rpop, &["RPOP", "l", "5"]).0,
            Frame::Array(vec![b("a"), b("b"), b("c")])
        );
        assert!(!ks.exists(0, b"l", 1000));
        assert_eq!(run(&mut ks, lpop, &["LPOP", "l", "5"]).0, Frame::NullArray);
        assert_eq!(run(&mut ks, lpushx, &["LPUSHX", "l", "a"]).0, reply::int(0));
    }

    #[test]
    fn lmpop_rewrites_to_pop_with_count() {
        let mut ks = Keyspace::new(KeyspaceConfig::default(), 1);
        run(&mut ks, rpush, &["RPUSH", "b", "1", "2"]);
        let (f, p) = run(
            &mut ks,
            lmpop,
            &["LMPOP", "2", "a", "b", "RIGHT", "COUNT", "5"],
        );
        assert_eq!(
            f,
            Frame::Array(vec![b("b"), Frame::Array(vec![b("2"), b("1")])])
        );
        assert_eq!(
            p,
            Propagate::Rewritten(vec![vec![
                Bytes::from("RPOP"),
                Bytes::from("b"),
                Bytes::from("2")
            ]])
        );
    }

    #[test]
    fn no_op_writes_are_not_propagated() {
        let mut ks = Keyspace::new(KeyspaceConfig::default(), 1);
        run(&mut ks, rpush, &["RPUSH", "l", "a", "b"]);
        assert_eq!(
            run(&mut ks, ltrim, &["LTRIM", "l", "0", "-1"]).1,
            Propagate::Nothing
        );
        assert_eq!(
            run(&mut ks, lrem, &["LREM", "l", "0", "zz"]).1,
            Propagate::Nothing
        );
        assert_eq!(
            run(&mut ks, lpop, &["LPOP", "l", "0"]).1,
            Propagate::Nothing
        );
        assert_eq!(
            run(&mut ks, linsert, &["LINSERT", "l", "BEFORE", "zz", "x"]).0,
            reply::int(-1)
        );
        assert_eq!(
            run(&mut ks, lmove, &["LMOVE", "l", "m", "LEFT", "RIGHT"]).1,
            Propagate::Verbatim
        );
        assert_eq!(
            run(&mut ks, ltrim, &["LTRIM", "l", "1", "0"]).1,
            Propagate::Verbatim
        );
        assert!(!ks.exists(0, b"l", 1000));
    }

    #[test]
    fn blocked_hooks_pop_and_move() {
        let mut ks = Keyspace::new(KeyspaceConfig::default(), 1);
        run(&mut ks, rpush, &["RPUSH", "l", "a", "b"]);
        let key = Bytes::from("l");
        let s = pop_for_blocked(&mut ks, 0, 1000, &key, End::Left, None).expect("served");
        assert_eq!(s.reply, Frame::Array(vec![b("l"), b("a")]));
        assert_eq!(s.propagate, vec![Bytes::from("LPOP"), key.clone()]);
        let s = move_for_blocked(
            &mut ks,
            0,
            1000,
            &key,
            &Bytes::from("d"),
            (End::Right, End::Left),
            false,
        )
        .expect("no error")
        .expect("served");
        assert_eq!(s.reply, b("b"));
        assert_eq!(
            s.propagate,
            vec![
                Bytes::from("LMOVE"),
                key.clone(),
                Bytes::from("d"),
                Bytes::from("RIGHT"),
                Bytes::from("LEFT")
            ]
        );
        assert!(!ks.exists(0, b"l", 1000));
        assert!(pop_for_blocked(&mut ks, 0, 1000, &key, End::Left, Some(2)).is_none());
    }

    #[test]
    fn lpos_options() {
        let mut ks = Keyspace::new(KeyspaceConfig::default(), 1);
        run(&mut ks, rpush, &["RPUSH", "l", "a", "b", "a", "c", "a"]);
        assert_eq!(run(&mut ks, lpos, &["LPOS", "l", "a"]).0, reply::int(0));
        assert_eq!(
            run(&mut ks, lpos, &["LPOS", "l", "a", "RANK", "-1"]).0,
            reply::int(4)
        );
        assert_eq!(
            run(
                &mut ks,
                lpos,
                &["LPOS", "l", "a", "RANK", "2", "COUNT", "0"]
            )
            .0,
            Frame::Array(vec![reply::int(2), reply::int(4)])
        );
        assert_eq!(
            run(
                &mut ks,
                lpos,
                &["LPOS", "l", "a", "COUNT", "0", "MAXLEN", "3"]
            )
            .0,
            Frame::Array(vec![reply::int(0), reply::int(2)])
        );
    }
}
