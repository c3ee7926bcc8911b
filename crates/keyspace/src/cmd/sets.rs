//! Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP
//! SRANDMEMBER SMOVE SINTER SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE
//! SINTERCARD SSCAN.

use crate::cmd::spec::{c, flag::*, Spec};
use bytes::Bytes;
use resp_codec::Frame;

use crate::call::{reply, Call, Propagate};
use crate::cmd::common::{
    self, as_set, delete, done, empty_scan, get_positive_long, get_range_long, parse_cursor,
    parse_scan_opts, peek, read, scan_reply, store, to_usize, word, write, Res,
};
use crate::keyspace::Keyspace;
use crate::set::SetValue;
use crate::value::Value;

/// SADD key member [member ...]
pub fn sadd(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let key = c.arg(1);
        let lim = *ks.limits();
        let members = c.args.get(2..).unwrap_or_default();
        let added = match as_set(write(ks, c, key))? {
            Some(s) => members.iter().filter(|m| s.add((*m).clone(), &lim)).count(),
            None => {
                let mut s = SetValue::for_first_member(c.arg(2));
                let n = members.iter().filter(|m| s.add((*m).clone(), &lim)).count();
                store(ks, c, key, Value::Set(s));
                n
            }
        };
        if added > 0 {
            ks.add_dirty(added as u64);
            c.verbatim();
            common::modified(ks, c, 1);
        }
        Ok(reply::count(added))
    })())
}

/// SREM key member [member ...]
pub fn srem(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let key = c.arg(1);
        let Some(s) = as_set(write(ks, c, key))? else {
            return Ok(reply::int(0));
        };
        let mut deleted = 0;
        for m in c.args.get(2..).unwrap_or_default() {
            if s.remove(m) {
                deleted += 1;
                if s.is_empty() {
                    break;
                }
            }
        }
        if s.is_empty() {
            delete(ks, c, key);
        }
        if deleted > 0 {
            ks.add_dirty(deleted);
            c.verbatim();
            common::modified(ks, c, 1);
        }
        Ok(reply::int(deleted as i64))
    })())
}

/// SISMEMBER key member
pub fn sismember(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(
        as_set(read(ks, c, c.arg(1)))
            .map(|s| reply::int(i64::from(s.is_some_and(|s| s.contains(c.arg(2)))))),
    )
}

/// SMISMEMBER key member [member ...]
pub fn smismember(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(as_set(read(ks, c, c.arg(1))).map(|s| {
        let members = c.args.get(2..).unwrap_or_default();
        Frame::Array(
            members
                .iter()
                .map(|m| reply::int(i64::from(s.as_ref().is_some_and(|s| s.contains(m)))))
                .collect(),
        )
    }))
}

/// SCARD key
pub fn scard(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(as_set(read(ks, c, c.arg(1))).map(|s| reply::count(s.map_or(0, |s| s.len()))))
}

/// SMOVE source destination member
pub fn smove(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let (src, dst, member) = (c.arg(1), c.arg(2), c.arg(3));
        let lim = *ks.limits();
        let src_kind = write(ks, c, src).map(|v| matches!(v, Value::Set(_)));
        let dst_kind = write(ks, c, dst).map(|v| matches!(v, Value::Set(_)));
        let Some(src_is_set) = src_kind else {
            return Ok(reply::int(0));
        };
        if !src_is_set || dst_kind == Some(false) {
            return Err(reply::wrongtype());
        }
        let Some(s) = as_set(write(ks, c, src))? else {
            return Ok(reply::int(0));
        };
        if src == dst {
            return Ok(reply::int(i64::from(s.contains(member))));
        }
        if !s.remove(member) {
            return Ok(reply::int(0));
        }
        if s.is_empty() {
            delete(ks, c, src);
        }
        let member = c.arg_bytes(3);
        let added = match as_set(write(ks, c, dst))? {
            Some(d) => d.add(member, &lim),
            None => {
                let mut d = SetValue::for_first_member(&member);
                d.add(member, &lim);
                store(ks, c, dst, Value::Set(d));
                true
            }
        };
        ks.add_dirty(1 + u64::from(added));
        c.verbatim();
        common::modified(ks, c, 1);
        common::modified(ks, c, 2);
        Ok(reply::int(1))
    })())
}

/// Looks up every key as a read, failing on the first of another type.
/// Returns which keys exist.
fn lookup_sets(ks: &mut Keyspace, c: &Call<'_>, keys: &[Bytes]) -> Result<Vec<bool>, Frame> {
    keys.iter()
        .map(|k| as_set(read(ks, c, k)).map(|s| s.is_some()))
        .collect()
}

/// The sets under `keys` (after [`lookup_sets`]), `None` for missing keys.
fn peek_sets<'a>(ks: &'a Keyspace, c: &Call<'_>, keys: &[Bytes]) -> Vec<Option<&'a SetValue>> {
    keys.iter()
        .map(|k| match peek(ks, c, k) {
            Some(Value::Set(s)) => Some(s),
            _ => None,
        })
        .collect()
}

/// What an intersection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InterMode {
    Reply,
    Store,
    Card(usize),
}

fn sinter_generic(
    ks: &mut Keyspace,
    c: &mut Call<'_>,
    keys: &[Bytes],
    dst: Option<&[u8]>,
    mode: InterMode,
) -> Res {
    let present = lookup_sets(ks, c, keys)?;
    let lim = *ks.limits();
    let result: Option<Vec<Bytes>> = if present.iter().any(|p| !p) {
        None
    } else {
        let mut sets = peek_sets(ks, c, keys);
        sets.sort_by_key(|s| s.map_or(0, |s| s.len()));
        let first = sets.first().copied().flatten();
        let mut out = Vec::new();
        if let Some(first) = first {
            for m in first.iter() {
                if sets[1..].iter().all(|s| s.is_some_and(|s| s.contains(&m))) {
                    out.push(m);
                    if let InterMode::Card(limit) = mode {
                        if limit != 0 && out.len() >= limit {
                            break;
                        }
                    }
                }
            }
        }
        Some(out)
    };
    match mode {
        InterMode::Card(_) => Ok(reply::count(result.map_or(0, |r| r.len()))),
        InterMode::Reply => Ok(Frame::Set(
            result
                .unwrap_or_default()
                .into_iter()
                .map(Frame::Bulk)
                .collect(),
        )),
        InterMode::Store => {
            let dst = dst.unwrap_or_default();
            let members = result.unwrap_or_default();
            store_result(ks, c, dst, SetValue::from_members(members, &lim))
        }
    }
}

/// Stores a computed set (or deletes the destination if it is empty).
fn store_result(ks: &mut Keyspace, c: &mut Call<'_>, dst: &[u8], set: SetValue) -> Res {
    if set.is_empty() {
        if delete(ks, c, dst) {
            ks.add_dirty(1);
            c.verbatim();
            common::modified(ks, c, 1);
        }
        return Ok(reply::int(0));
    }
    let n = set.len();
    store(ks, c, dst, Value::Set(set));
    ks.add_dirty(1);
    c.verbatim();
    common::modified(ks, c, 1);
    Ok(reply::count(n))
}

/// SINTER key [key ...] (also SMEMBERS key)
pub fn sinter(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let keys = c.args.get(1..).unwrap_or_default();
    done(sinter_generic(ks, c, keys, None, InterMode::Reply))
}

/// SMEMBERS key
pub fn smembers(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    sinter(ks, c)
}

/// SINTERSTORE destination key [key ...]
pub fn sinterstore(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let keys = c.args.get(2..).unwrap_or_default();
    let dst = c.arg(1);
    done(sinter_generic(ks, c, keys, Some(dst), InterMode::Store))
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
pub fn sintercard(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let numkeys = get_range_long(
            c.arg(1),
            1,
            i64::MAX,
            Some("numkeys should be greater than 0"),
        )?;
        let numkeys = to_usize(numkeys);
        if numkeys > c.argc() - 2 {
            return Err(reply::err_static(
                "ERR Number of keys can't be greater than number of args",
            ));
        }
        let mut limit = 0;
        let mut j = 2 + numkeys;
        while j < c.argc() {
            if c.arg(j).eq_ignore_ascii_case(b"limit") && j + 1 < c.argc() {
                j += 1;
                limit = to_usize(get_positive_long(
                    c.arg(j),
                    Some("LIMIT can't be negative"),
                )?);
            } else {
                return Err(reply::syntax());
            }
            j += 1;
        }
        let keys = c.args.get(2..2 + numkeys).unwrap_or_default();
        sinter_generic(ks, c, keys, None, InterMode::Card(limit))
    })())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Diff,
}

/// Computes SUNION / SDIFF as Redis does, including the choice of
/// algorithm for SDIFF (which decides the result's encoding).
fn union_diff(
    ks: &mut Keyspace,
    c: &Call<'_>,
    keys: &[Bytes],
    op: SetOp,
) -> Result<SetValue, Frame> {
    lookup_sets(ks, c, keys)?;
    let lim = *ks.limits();
    let sets = peek_sets(ks, c, keys);
    let mut dst = SetValue::new_intset();
    match op {
        SetOp::Union => {
            for s in sets.iter().flatten() {
                for m in s.iter() {
                    dst.add(m, &lim);
                }
            }
        }
        SetOp::Diff => {
            let Some(first) = sets.first().copied().flatten() else {
                return Ok(dst);
            };
            let sameset = keys
                .iter()
                .skip(1)
                .zip(sets.iter().skip(1))
                .any(|(k, s)| s.is_some() && *k == keys[0]);
            if sameset {
                return Ok(dst);
            }
            let mut one: u64 = 0;
            let mut two: u64 = 0;
            for s in sets.iter().flatten() {
                one += first.len() as u64;
                two += s.len() as u64;
            }
            if one / 2 <= two {
                for m in first.iter() {
                    if !sets[1..].iter().flatten().any(|s| s.contains(&m)) {
                        dst.add(m, &lim);
                    }
                }
            } else {
                let mut card = 0usize;
                for (j, s) in sets.iter().enumerate() {
                    let Some(s) = s else { continue };
                    for m in s.iter() {
                        if j == 0 {
                            if dst.add(m, &lim) {
                                card += 1;
                            }
                        } else if dst.remove(&m) {
                            card -= 1;
                        }
                    }
                    if card == 0 {
                        break;
                    }
                }
            }
        }
    }
    Ok(dst)
}

fn union_diff_reply(ks: &mut Keyspace, c: &mut Call<'_>, op: SetOp) -> Frame {
    let keys = c.args.get(1..).unwrap_or_default();
    done(union_diff(ks, c, keys, op).map(|s| Frame::Set(s.iter().map(Frame::Bulk).collect())))
}

fn union_diff_store(ks: &mut Keyspace, c: &mut Call<'_>, op: SetOp) -> Frame {
    let keys = c.args.get(2..).unwrap_or_default();
    let dst = c.arg(1);
    done(union_diff(ks, c, keys, op).and_then(|s| store_result(ks, c, dst, s)))
}

/// SUNION key [key ...]
pub fn sunion(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    union_diff_reply(ks, c, SetOp::Union)
}

/// SDIFF key [key ...]
pub fn sdiff(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    union_diff_reply(ks, c, SetOp::Diff)
}

/// SUNIONSTORE destination key [key ...]
pub fn sunionstore(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    union_diff_store(ks, c, SetOp::Union)
}

/// SDIFFSTORE destination key [key ...]
pub fn sdiffstore(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    union_diff_store(ks, c, SetOp::Diff)
}

/// SPOP key [count] (propagated as SREM of the popped members, or as DEL
/// when the whole set is popped)
pub fn spop(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let key = c.arg(1);
        match c.argc() {
            3 => return spop_count(ks, c),
            n if n > 3 => return Err(reply::syntax()),
            _ => {}
        }
        let mut rng = ks.rng().clone();
        let picked = match as_set(write(ks, c, key))? {
            None => None,
            Some(s) => s.random_member(&mut rng).map(|m| {
                s.remove(&m);
                (m, s.is_empty())
            }),
        };
        *ks.rng() = rng;
        let Some((m, emptied)) = picked else {
            return Ok(reply::nil());
        };
        if emptied {
            delete(ks, c, key);
        }
        ks.add_dirty(1);
        common::modified(ks, c, 1);
        c.propagate = Propagate::Rewritten(vec![vec![word("SREM"), c.arg_bytes(1), m.clone()]]);
        Ok(Frame::Bulk(m))
    })())
}

/// SPOP's strategy threshold: above this ratio of remaining to popped
/// elements, members are popped one by one, otherwise the kept ones are
/// picked and the set rebuilt.
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

fn spop_count(ks: &mut Keyspace, c: &mut Call<'_>) -> Res {
    let count = to_usize(get_positive_long(c.arg(2), None)?);
    let key = c.arg(1);
    let lim = *ks.limits();
    let size = match as_set(write(ks, c, key))? {
        None => return Ok(Frame::Set(Vec::new())),
        Some(s) => s.len(),
    };
    if count == 0 {
        return Ok(Frame::Set(Vec::new()));
    }
    ks.add_dirty(count.min(size) as u64);
    if count >= size {
        let Some(Value::Set(s)) = peek(ks, c, key) else {
            return Ok(Frame::Set(Vec::new()));
        };
        let all = SetValue::from_members(s.iter(), &lim);
        let reply = Frame::Set(all.iter().map(Frame::Bulk).collect());
        delete(ks, c, key);
        common::modified(ks, c, 1);
        c.propagate = Propagate::Rewritten(vec![vec![word("DEL"), c.arg_bytes(1)]]);
        return Ok(reply);
    }
    let remaining = size - count;
    let srem = |m: &Bytes| vec![word("SREM"), c.arg_bytes(1), m.clone()];
    let mut popped = Vec::with_capacity(count);
    let mut rng = ks.rng().clone();
    if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        if let Some(s) = as_set(write(ks, c, key))? {
            for _ in 0..count {
                let Some(m) = s.random_member(&mut rng) else {
                    break;
                };
                s.remove(&m);
                popped.push(m);
            }
        }
        *ks.rng() = rng;
    } else {
        let Some(Value::Set(s)) = peek(ks, c, key) else {
            return Ok(Frame::Set(Vec::new()));
        };
        let kept = s.random_distinct(&mut rng, remaining);
        let mut old = s.clone();
        let mut fresh: Option<SetValue> = None;
        for m in kept {
            old.remove(&m);
            fresh
                .get_or_insert_with(|| SetValue::for_first_member(&m))
                .add(m, &lim);
        }
        popped.extend(old.iter());
        *ks.rng() = rng;
        if let Some(fresh) = fresh {
            store_keep_ttl(ks, c, key, fresh);
        }
    }
    common::modified(ks, c, 1);
    c.propagate = Propagate::Rewritten(popped.iter().map(srem).collect());
    Ok(Frame::Set(popped.into_iter().map(Frame::Bulk).collect()))
}

/// Replaces a key's value, keeping its expiry (Redis's `dbOverwrite`).
fn store_keep_ttl(ks: &mut Keyspace, c: &Call<'_>, key: &[u8], set: SetValue) {
    if let Some(e) = ks.lookup_write(c.db, key, c.now_ms) {
        e.value = Value::Set(set);
    }
}

/// SRANDMEMBER key [count]
pub fn srandmember(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let key = c.arg(1);
        if c.argc() > 3 {
            return Err(reply::syntax());
        }
        let mut rng = ks.rng().clone();
        if c.argc() == 2 {
            let m = match as_set(read(ks, c, key))? {
                None => return Ok(reply::nil()),
                Some(s) => s.random_member(&mut rng),
            };
            *ks.rng() = rng;
            return Ok(m.map_or_else(reply::nil, Frame::Bulk));
        }
        let l = get_range_long(c.arg(2), -i64::MAX, i64::MAX, None)?;
        let size = match as_set(read(ks, c, key))? {
            None => return Ok(Frame::Array(Vec::new())),
            Some(s) => s.len(),
        };
        let count = to_usize(i64::try_from(l.unsigned_abs()).unwrap_or(i64::MAX));
        if count == 0 {
            return Ok(Frame::Array(Vec::new()));
        }
        let Some(Value::Set(s)) = peek(ks, c, key) else {
            return Ok(Frame::Array(Vec::new()));
        };
        let members: Vec<Bytes> = if l < 0 || count == 1 {
            // No preallocation: an absurd count grows the reply as
            // Redis's does.
            let mut out = Vec::new();
            for _ in 0..count {
                match s.random_member(&mut rng) {
                    Some(m) => out.push(m),
                    None => break,
                }
            }
            out
        } else if count >= size {
            s.iter().collect()
        } else {
            s.random_distinct(&mut rng, count)
        };
        *ks.rng() = rng;
        Ok(Frame::Array(members.into_iter().map(Frame::Bulk).collect()))
    })())
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
pub fn sscan(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let cursor = parse_cursor(c.arg(2))?;
        let Some(s) = as_set(read(ks, c, c.arg(1)))? else {
            return Ok(empty_scan());
        };
        let o = parse_scan_opts(c, 3)?;
        let mut items = Vec::new();
        let mut push = |m: Bytes| {
            if o.matches(&m) {
                items.push(Frame::Bulk(m));
            }
        };
        let next = match s {
            SetValue::Small(_) => {
                for m in s.iter() {
                    push(m);
                }
                0
            }
            SetValue::Hash(_) => s.scan(cursor, o.count, push),
        };
        Ok(scan_reply(next, items))
    })())
}

/// The set commands' table rows (see [`super::spec`]).
#[rustfmt::skip]
pub const SPECS: &[Spec] = &[
    c("sadd", -3, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "set", "fast"], "set", "1.0.0", "Add one or more members to a set", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", sadd),
    c("srem", -3, WRITE | FAST, (1, 1, 1), &["write", "set", "fast"], "set", "1.0.0", "Remove one or more members from a set", "O(N) where N is the number of members to be removed.", srem),
    c("smembers", 2, READONLY, (1, 1, 1), &["read", "set", "slow"], "set", "1.0.0", "Get all the members in a set", "O(N) where N is the set cardinality.", smembers),
    c("sismember", 3, READONLY | FAST, (1, 1, 1), &["read", "set", "fast"], "set", "1.0.0", "Determine if a given value is a member of a set", "O(1)", sismember),
    c("smismember", -3, READONLY | FAST, (1, 1, 1), &["read", "set", "fast"], "set", "6.2.0", "Returns the membership associated with the given elements for a set", "O(N) where N is the number of elements being checked for membership", smismember),
    c("scard", 2, READONLY | FAST, (1, 1, 1), &["read", "set", "fast"], "set", "1.0.0", "Get the number of members in a set", "O(1)", scard),
    c("spop", -2, WRITE | FAST, (1, 1, 1), &["write", "set", "fast"], "set", "1.0.0", "Remove and return one or multiple random members from a set", "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", spop),
    c("srandmember", -2, READONLY, (1, 1, 1), &["read", "set", "slow"], "set", "1.0.0", "Get one or multiple random members from a set", "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", srandmember),
    c("smove", 4, WRITE | FAST, (1, 2, 1), &["write", "set", "fast"], "set", "1.0.0", "Move a member from one set to another", "O(1)", smove),
    c("sinter", -2, READONLY, (1, -1, 1), &["read", "set", "slow"], "set", "1.0.0", "Intersect multiple sets", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", sinter),
    c("sunion", -2, READONLY, (1, -1, 1), &["read", "set", "slow"], "set", "1.0.0", "Add multiple sets", "O(N) where N is the total number of elements in all given sets.", sunion),
    c("sdiff", -2, READONLY, (1, -1, 1), &["read", "set", "slow"], "set", "1.0.0", "Subtract multiple sets", "O(N) where N is the total number of elements in all given sets.", sdiff),
    c("sinterstore", -3, WRITE | DENYOOM, (1, -1, 1), &["write", "set", "slow"], "set", "1.0.0", "Intersect multiple sets and store the resulting set in a key", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", sinterstore),
    c("sunionstore", -3, WRITE | DENYOOM, (1, -1, 1), &["write", "set", "slow"], "set", "1.0.0", "Add multiple sets and store the resulting set in a key", "O(N) where N is the total number of elements in all given sets.", sunionstore),
    c("sdiffstore", -3, WRITE | DENYOOM, (1, -1, 1), &["write", "set", "slow"], "set", "1.0.0", "Subtract multiple sets and store the resulting set in a key", "O(N) where N is the total number of elements in all given sets.", sdiffstore),
    c("sintercard", -3, READONLY, (0, 0, 0), &["read", "set", "slow"], "set", "7.0.0", "Intersect multiple sets and return the cardinality of the result", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", sintercard),
    c("sscan", -3, READONLY, (1, 1, 1), &["read", "set", "slow"], "set", "2.8.0", "Incrementally iterate Set elements", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", sscan),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::common::testing::{b, cmd, encoding, keyspace, run};

    fn members(f: &Frame) -> Vec<Frame> {
        match f {
            Frame::Set(v) | Frame::Array(v) => v.clone(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn spop_propagates_srem_or_del() {
        let mut ks = keyspace();
        run(&mut ks, sadd, &["SADD", "s", "a"]);
        let (r, p) = run(&mut ks, spop, &["SPOP", "s"]);
        assert_eq!(r, b("a"));
        assert_eq!(p, Propagate::Rewritten(vec![cmd(&["SREM", "s", "a"])]));
        assert!(!ks.exists(0, b"s", 1000));

        run(&mut ks, sadd, &["SADD", "s", "3", "1", "2"]);
        let (r, p) = run(&mut ks, spop, &["SPOP", "s", "10"]);
        assert_eq!(r, Frame::Set(vec![b("1"), b("2"), b("3")]));
        assert_eq!(p, Propagate::Rewritten(vec![cmd(&["DEL", "s"])]));
        assert!(!ks.exists(0, b"s", 1000));

        let (r, p) = run(&mut ks, spop, &["SPOP", "s", "0"]);
        assert_eq!(r, Frame::Set(Vec::new()));
        assert_eq!(p, Propagate::Nothing);
    }

    #[test]
    fn spop_with_count_pops_and_propagates_each_member() {
        for count in ["2", "8"] {
            let mut ks = keyspace();
            let mut args = vec!["SADD", "s", "x", "y"];
            let nums: Vec<String> = (0..8).map(|i| i.to_string()).collect();
            args.extend(nums.iter().map(|s| s.as_str()));
            run(&mut ks, sadd, &args);
            let (r, p) = run(&mut ks, spop, &["SPOP", "s", count]);
            let popped = members(&r);
            assert_eq!(popped.len().to_string(), count);
            let Propagate::Rewritten(cmds) = p else {
                panic!("SPOP with a count must be rewritten")
            };
            assert_eq!(cmds.len(), popped.len());
            for (c, m) in cmds.iter().zip(&popped) {
                assert_eq!(c[0], Bytes::from("SREM"));
                assert_eq!(Frame::Bulk(c[2].clone()), *m);
            }
            let (card, _) = run(&mut ks, scard, &["SCARD", "s"]);
            assert_eq!(card, reply::count(10 - popped.len()));
        }
    }

    #[test]
    fn writes_that_change_nothing_are_not_propagated() {
        let mut ks = keyspace();
        assert_eq!(
            run(&mut ks, sadd, &["SADD", "s", "a"]).1,
            Propagate::Verbatim
        );
        assert_eq!(
            run(&mut ks, sadd, &["SADD", "s", "a"]).1,
            Propagate::Nothing
        );
        assert_eq!(
            run(&mut ks, srem, &["SREM", "s", "zz"]).1,
            Propagate::Nothing
        );
        assert_eq!(
            run(&mut ks, sinterstore, &["SINTERSTORE", "d", "s", "none"]).1,
            Propagate::Nothing
        );
        run(&mut ks, sadd, &["SADD", "d", "1"]);
        let (r, p) = run(&mut ks, sinterstore, &["SINTERSTORE", "d", "s", "none"]);
        assert_eq!((r, p), (reply::int(0), Propagate::Verbatim));
        assert!(!ks.exists(0, b"d", 1000));
        assert_eq!(
            run(&mut ks, smove, &["SMOVE", "s", "t", "zz"]).1,
            Propagate::Nothing
        );
    }

    #[test]
    fn stored_results_get_redis_encodings() {
        let mut ks = keyspace();
        run(&mut ks, sadd, &["SADD", "a", "1", "2", "x"]);
        run(&mut ks, sadd, &["SADD", "b", "x"]);
        assert_eq!(encoding(&ks, "a"), Some("hashtable"));
        run(&mut ks, sdiffstore, &["SDIFFSTORE", "d", "a", "b"]);
        assert_eq!(encoding(&ks, "d"), Some("intset"));
        run(&mut ks, smove, &["SMOVE", "b", "d", "x"]);
        assert_eq!(encoding(&ks, "d"), Some("hashtable"));
        assert!(!ks.exists(0, b"b", 1000));
    }
}
