//! Sorted set commands: ZADD ZINCRBY ZREM ZSCORE ZMSCORE ZCARD ZCOUNT
//! ZLEXCOUNT ZRANK ZREVRANK ZRANGE ZREVRANGE ZRANGESTORE ZRANGEBYSCORE
//! ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZREMRANGEBYRANK
//! ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN ZPOPMAX ZMPOP ZUNION ZINTER ZDIFF
//! ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZINTERCARD ZRANDMEMBER ZSCAN.
//!
//! The blocking variants live in the server; they serve a client through
//! [`pop_for_blocked`].

use crate::cmd::spec::{c, flag::*, Spec};
use bytes::Bytes;
use indexmap::IndexMap;
use resp_codec::Frame;

use crate::call::{reply, Call, Propagate};
use crate::cmd::common::{
    self, as_zset, bulk, delete, distinct_indexes, done, empty_scan, get_long, get_positive_long,
    get_range_long, pairs_reply, parse_cursor, parse_scan_opts, peek, random_indexes, read,
    scan_reply, store, to_usize, word, write, Res,
};
use crate::cmd::lists::{resolve_range, Served};
use crate::float::{d2string, fmt_g17, parse_score_bound, string2d};
use crate::keyspace::Keyspace;
use crate::set::SetValue;
use crate::value::Value;
use crate::zset::{cmp_entry, LexRange, ScoreRange, ZSetValue};

fn score(s: f64) -> Frame {
    Frame::Double(s)
}

/// Parses a `min max` score range (`(` exclusive, `-inf`, `+inf`).
pub fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, Frame> {
    let err = || reply::err_static("ERR min or max is not a float");
    let (min, minex) = parse_score_bound(min).ok_or_else(err)?;
    let (max, maxex) = parse_score_bound(max).ok_or_else(err)?;
    Ok(ScoreRange {
        min,
        max,
        minex,
        maxex,
    })
}

/// Parses a `min max` lex range (`[`, `(`, `-`, `+`).
pub fn parse_lex_range(min: &[u8], max: &[u8]) -> Result<LexRange, Frame> {
    LexRange::parse(min, max)
        .ok_or_else(|| reply::err_static("ERR min or max not valid string range item"))
}

// ---------------------------------------------------------------------------
// ZADD / ZINCRBY
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default)]
struct AddFlags {
    incr: bool,
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// What adding one member did.
#[derive(Debug, Clone, Copy, PartialEq)]
enum AddOutcome {
    Nan,
    Nop,
    Added(f64),
    Updated(f64),
    Same(f64),
}

/// Redis's `zsetAdd`.
fn zset_add(
    z: &mut ZSetValue,
    member: &Bytes,
    mut s: f64,
    f: AddFlags,
    lim: &crate::value::EncodingLimits,
) -> AddOutcome {
    if s.is_nan() {
        return AddOutcome::Nan;
    }
    match z.score(member) {
        Some(cur) => {
            if f.nx {
                return AddOutcome::Nop;
            }
            if f.incr {
                s += cur;
                if s.is_nan() {
                    return AddOutcome::Nan;
                }
            }
            if (f.lt && s >= cur) || (f.gt && s <= cur) {
                return AddOutcome::Nop;
            }
            if s != cur {
                z.update_score(member, s);
                AddOutcome::Updated(s)
            } else {
                AddOutcome::Same(s)
            }
        }
        None if f.xx => AddOutcome::Nop,
        None => {
            z.insert_new(member.clone(), s, lim);
            AddOutcome::Added(s)
        }
    }
}

fn zadd_generic(ks: &mut Keyspace, c: &mut Call<'_>, mut f: AddFlags) -> Res {
    let mut ch = false;
    let mut idx = 2;
    while idx < c.argc() {
        let o = c.arg(idx);
        if o.eq_ignore_ascii_case(b"nx") {
            f.nx = true;
        } else if o.eq_ignore_ascii_case(b"xx") {
            f.xx = true;
        } else if o.eq_ignore_ascii_case(b"ch") {
            ch = true;
        } else if o.eq_ignore_ascii_case(b"incr") {
            f.incr = true;
        } else if o.eq_ignore_ascii_case(b"gt") {
            f.gt = true;
        } else if o.eq_ignore_ascii_case(b"lt") {
            f.lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let elements = c.argc() - idx;
    if elements % 2 == 1 || elements == 0 {
        return Err(reply::syntax());
    }
    let elements = elements / 2;
    if f.nx && f.xx {
        return Err(reply::err_static(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if ((f.gt || f.lt) && f.nx) || (f.gt && f.lt) {
        return Err(reply::err_static(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && elements > 1 {
        return Err(reply::err_static(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let mut scores = Vec::with_capacity(elements);
    for j in 0..elements {
        scores.push(string2d(c.arg(idx + j * 2)).ok_or_else(reply::not_float)?);
    }
    let key = c.arg(1);
    let lim = *ks.limits();
    let exists = as_zset(write(ks, c, key))?.is_some();
    let nil_or_zero = if f.incr { reply::nil() } else { reply::int(0) };
    if !exists {
        if f.xx {
            return Ok(nil_or_zero);
        }
        let z = ZSetValue::for_first_member(c.arg(idx + 1).len(), &lim);
        store(ks, c, key, Value::ZSet(z));
    }
    let Some(z) = as_zset(write(ks, c, key))? else {
        return Ok(nil_or_zero);
    };
    let (mut added, mut updated, mut processed) = (0u64, 0u64, 0u64);
    let mut last = 0.0;
    let mut outcome = Ok(());
    for (j, s) in scores.into_iter().enumerate() {
        let member = &c.args[idx + 1 + j * 2];
        match zset_add(z, member, s, f, &lim) {
            AddOutcome::Nan => {
                outcome = Err(reply::err_static(
                    "ERR resulting score is not a number (NaN)",
                ));
                break;
            }
            AddOutcome::Nop => {}
            AddOutcome::Added(s) => {
                added += 1;
                processed += 1;
                last = s;
            }
            AddOutcome::Updated(s) => {
                updated += 1;
                processed += 1;
                last = s;
            }
            AddOutcome::Same(s) => {
                processed += 1;
                last = s;
            }
        }
    }
    if added + updated > 0 {
        ks.add_dirty(added + updated);
        c.verbatim();
        common::modified(ks, c, 1);
    }
    outcome?;
    Ok(if f.incr {
        if processed > 0 {
            score(last)
        } else {
            reply::nil()
        }
    } else {
        reply::int(if ch { added + updated } else { added } as i64)
    })
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
pub fn zadd(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zadd_generic(ks, c, AddFlags::default()))
}

/// ZINCRBY key increment member
pub fn zincrby(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zadd_generic(
        ks,
        c,
        AddFlags {
            incr: true,
            ..AddFlags::default()
        },
    ))
}

// ---------------------------------------------------------------------------
// Simple reads and removals
// ---------------------------------------------------------------------------

/// ZREM key member [member ...]
pub fn zrem(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let key = c.arg(1);
        let Some(z) = as_zset(write(ks, c, key))? else {
            return Ok(reply::int(0));
        };
        let mut deleted = 0u64;
        for m in c.args.get(2..).unwrap_or_default() {
            if z.remove(m) {
                deleted += 1;
            }
            if z.is_empty() {
                break;
            }
        }
        if z.is_empty() {
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

/// ZCARD key
pub fn zcard(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(as_zset(read(ks, c, c.arg(1))).map(|z| reply::count(z.map_or(0, |z| z.len()))))
}

/// ZSCORE key member
pub fn zscore(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(as_zset(read(ks, c, c.arg(1))).map(|z| {
        z.and_then(|z| z.score(c.arg(2)))
            .map_or_else(reply::nil, score)
    }))
}

/// ZMSCORE key member [member ...]
pub fn zmscore(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(as_zset(read(ks, c, c.arg(1))).map(|z| {
        let members = c.args.get(2..).unwrap_or_default();
        Frame::Array(
            members
                .iter()
                .map(|m| {
                    z.as_ref()
                        .and_then(|z| z.score(m))
                        .map_or_else(reply::nil, score)
                })
                .collect(),
        )
    }))
}

fn zrank_generic(ks: &mut Keyspace, c: &mut Call<'_>, rev: bool) -> Frame {
    done(as_zset(read(ks, c, c.arg(1))).map(|z| {
        let Some(z) = z else { return reply::nil() };
        match z.rank(c.arg(2)) {
            Some(r) if rev => reply::count(z.len() - 1 - r),
            Some(r) => reply::count(r),
            None => reply::nil(),
        }
    }))
}

/// ZRANK key member
pub fn zrank(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    zrank_generic(ks, c, false)
}

/// ZREVRANK key member
pub fn zrevrank(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    zrank_generic(ks, c, true)
}

/// ZCOUNT key min max
pub fn zcount(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let r = parse_score_range(c.arg(2), c.arg(3))?;
        let Some(z) = as_zset(read(ks, c, c.arg(1)))? else {
            return Ok(reply::int(0));
        };
        let n = match (z.first_in_score_range(&r), z.last_in_score_range(&r)) {
            (Some(f), Some(l)) => l + 1 - f,
            _ => 0,
        };
        Ok(reply::count(n))
    })())
}

/// ZLEXCOUNT key min max
pub fn zlexcount(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let r = parse_lex_range(c.arg(2), c.arg(3))?;
        let Some(z) = as_zset(read(ks, c, c.arg(1)))? else {
            return Ok(reply::int(0));
        };
        let Some(first) = z.first_in_lex_range(&r) else {
            return Ok(reply::int(0));
        };
        let n = if z.is_listpack() {
            z.iter_from(first, false)
                .take_while(|(_, m)| r.lte_max(m))
                .count()
        } else {
            let len = z.len();
            let mut n = len - first;
            if let Some(last) = z.last_in_lex_range(&r) {
                n = n.saturating_sub(len - (last + 1));
            }
            n
        };
        Ok(reply::count(n))
    })())
}

// ---------------------------------------------------------------------------
// ZRANGE family
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Auto,
    Forward,
    Reverse,
}

/// The parsed range of a ZRANGE-family call.
enum Range {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// Selects the entries of a ZRANGE-family call: (member, score) in reply
/// order, following Redis's walk (offset skips without checks, then
/// entries while in range, up to `limit`; a negative limit is unlimited,
/// a negative offset yields nothing).
fn select_range(
    z: &ZSetValue,
    range: &Range,
    rev: bool,
    offset: i64,
    limit: i64,
) -> Vec<(Bytes, f64)> {
    let limit = if limit < 0 {
        usize::MAX
    } else {
        to_usize(limit)
    };
    match range {
        Range::Rank(start, end) => {
            let Some((s, e)) = resolve_range(*start, *end, z.len()) else {
                return Vec::new();
            };
            let n = e - s + 1;
            let from = if rev { z.len() - 1 - s } else { s };
            z.iter_from(from, rev)
                .take(n)
                .map(|(sc, m)| (m.to_bytes(), sc))
                .collect()
        }
        Range::Score(r) => {
            if offset > 0 && to_usize(offset) >= z.len() {
                return Vec::new();
            }
            if offset < 0 {
                return Vec::new();
            }
            let start = if rev {
                z.last_in_score_range(r)
            } else {
                z.first_in_score_range(r)
            };
            let Some(start) = start else {
                return Vec::new();
            };
            z.iter_from(start, rev)
                .skip(to_usize(offset))
                .take_while(|(sc, _)| if rev { r.gte_min(*sc) } else { r.lte_max(*sc) })
                .take(limit)
                .map(|(sc, m)| (m.to_bytes(), sc))
                .collect()
        }
        Range::Lex(r) => {
            if offset < 0 {
                return Vec::new();
            }
            let start = if rev {
                z.last_in_lex_range(r)
            } else {
                z.first_in_lex_range(r)
            };
            let Some(start) = start else {
                return Vec::new();
            };
            z.iter_from(start, rev)
                .skip(to_usize(offset))
                .take_while(|(_, m)| if rev { r.gte_min(m) } else { r.lte_max(m) })
                .take(limit)
                .map(|(sc, m)| (m.to_bytes(), sc))
                .collect()
        }
    }
}

/// Redis's `zrangeGenericCommand`: `start` is the source key's position.
fn zrange_generic(
    ks: &mut Keyspace,
    c: &mut Call<'_>,
    start: usize,
    store_dst: Option<&[u8]>,
    mut rtype: RangeType,
    mut dir: Direction,
) -> Res {
    let key = c.arg(start);
    let (mut minidx, mut maxidx) = (start + 1, start + 2);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = start + 3;
    while j < c.argc() {
        let left = c.argc() - j - 1;
        let o = c.arg(j);
        if store_dst.is_none() && o.eq_ignore_ascii_case(b"withscores") {
            withscores = true;
        } else if o.eq_ignore_ascii_case(b"limit") && left >= 2 {
            offset = get_long(c.arg(j + 1))?;
            limit = get_long(c.arg(j + 2))?;
            j += 2;
        } else if dir == Direction::Auto && o.eq_ignore_ascii_case(b"rev") {
            dir = Direction::Reverse;
        } else if rtype == RangeType::Auto && o.eq_ignore_ascii_case(b"bylex") {
            rtype = RangeType::Lex;
        } else if rtype == RangeType::Auto && o.eq_ignore_ascii_case(b"byscore") {
            rtype = RangeType::Score;
        } else {
            return Err(reply::syntax());
        }
        j += 1;
    }
    if dir == Direction::Auto {
        dir = Direction::Forward;
    }
    if rtype == RangeType::Auto {
        rtype = RangeType::Rank;
    }
    if limit != -1 && rtype == RangeType::Rank {
        return Err(reply::err_static(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && rtype == RangeType::Lex {
        return Err(reply::err_static(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let rev = dir == Direction::Reverse;
    if rev && rtype != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let range = match rtype {
        RangeType::Score => Range::Score(parse_score_range(c.arg(minidx), c.arg(maxidx))?),
        RangeType::Lex => Range::Lex(parse_lex_range(c.arg(minidx), c.arg(maxidx))?),
        _ => Range::Rank(get_long(c.arg(minidx))?, get_long(c.arg(maxidx))?),
    };
    let lim = *ks.limits();
    // A missing source gives an empty result (ZRANGESTORE then deletes
    // the destination); a source of another type is WRONGTYPE.
    let result = as_zset(read(ks, c, key))?.map(|z| select_range(z, &range, rev, offset, limit));
    match store_dst {
        None => {
            let items = result.unwrap_or_default();
            Ok(if withscores {
                pairs_reply(
                    c,
                    items
                        .into_iter()
                        .map(|(m, s)| (Frame::Bulk(m), score(s)))
                        .collect(),
                )
            } else {
                Frame::Array(items.into_iter().map(|(m, _)| Frame::Bulk(m)).collect())
            })
        }
        Some(dst) => {
            let items = result.unwrap_or_default();
            // The destination starts compact unless the rank range is
            // known to be too long, then grows as ZADD would.
            let listpack = match range {
                Range::Rank(..) => items.len() <= lim.zset_max_listpack_entries,
                _ => true,
            };
            let mut z = ZSetValue::new(listpack);
            for (m, s) in items {
                z.insert_new(m, s, &lim);
            }
            store_zset_result(ks, c, dst, z)
        }
    }
}

/// Stores a computed sorted set (or deletes the destination when empty).
fn store_zset_result(ks: &mut Keyspace, c: &mut Call<'_>, dst: &[u8], z: ZSetValue) -> Res {
    if z.is_empty() {
        if delete(ks, c, dst) {
            ks.add_dirty(1);
            c.verbatim();
            common::modified(ks, c, 1);
        }
        return Ok(reply::int(0));
    }
    let n = z.len();
    store(ks, c, dst, Value::ZSet(z));
    ks.add_dirty(1);
    c.verbatim();
    common::modified(ks, c, 1);
    Ok(reply::count(n))
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
pub fn zrange(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zrange_generic(
        ks,
        c,
        1,
        None,
        RangeType::Auto,
        Direction::Auto,
    ))
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
pub fn zrangestore(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let dst = c.arg(1);
    done(zrange_generic(
        ks,
        c,
        2,
        Some(dst),
        RangeType::Auto,
        Direction::Auto,
    ))
}

/// ZREVRANGE key start stop [WITHSCORES]
pub fn zrevrange(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zrange_generic(
        ks,
        c,
        1,
        None,
        RangeType::Rank,
        Direction::Reverse,
    ))
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
pub fn zrangebyscore(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zrange_generic(
        ks,
        c,
        1,
        None,
        RangeType::Score,
        Direction::Forward,
    ))
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
pub fn zrevrangebyscore(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zrange_generic(
        ks,
        c,
        1,
        None,
        RangeType::Score,
        Direction::Reverse,
    ))
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
pub fn zrangebylex(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zrange_generic(
        ks,
        c,
        1,
        None,
        RangeType::Lex,
        Direction::Forward,
    ))
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
pub fn zrevrangebylex(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zrange_generic(
        ks,
        c,
        1,
        None,
        RangeType::Lex,
        Direction::Reverse,
    ))
}

fn zremrange_generic(ks: &mut Keyspace, c: &mut Call<'_>, rtype: RangeType) -> Res {
    let range = match rtype {
        RangeType::Score => Range::Score(parse_score_range(c.arg(2), c.arg(3))?),
        RangeType::Lex => Range::Lex(parse_lex_range(c.arg(2), c.arg(3))?),
        _ => Range::Rank(get_long(c.arg(2))?, get_long(c.arg(3))?),
    };
    let key = c.arg(1);
    let Some(z) = as_zset(write(ks, c, key))? else {
        return Ok(reply::int(0));
    };
    // The first rank to delete and how many.
    let span = match &range {
        Range::Rank(s, e) => resolve_range(*s, *e, z.len()).map(|(s, e)| (s, e - s + 1)),
        Range::Score(r) => {
            let first = z.first_in_score_range(r);
            first.map(|f| {
                (
                    f,
                    z.iter_from(f, false)
                        .take_while(|(s, _)| r.lte_max(*s))
                        .count(),
                )
            })
        }
        Range::Lex(r) => {
            let first = if z.is_listpack() {
                z.first_in_lex_range(r)
            } else {
                // The skip list walk has no "anything in range" pre-check.
                Some(z.lex_rank_first_gte_min(r)).filter(|&f| f < z.len())
            };
            first.map(|f| {
                (
                    f,
                    z.iter_from(f, false)
                        .take_while(|(_, m)| r.lte_max(m))
                        .count(),
                )
            })
        }
    };
    let deleted = match span {
        Some((f, n)) if n > 0 => z.remove_rank_range(f, f + n - 1),
        _ => 0,
    };
    if z.is_empty() {
        delete(ks, c, key);
    }
    if deleted > 0 {
        ks.add_dirty(deleted as u64);
        c.verbatim();
        common::modified(ks, c, 1);
    }
    Ok(reply::count(deleted))
}

/// ZREMRANGEBYRANK key start stop
pub fn zremrangebyrank(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zremrange_generic(ks, c, RangeType::Rank))
}

/// ZREMRANGEBYSCORE key min max
pub fn zremrangebyscore(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zremrange_generic(ks, c, RangeType::Score))
}

/// ZREMRANGEBYLEX key min max
pub fn zremrangebylex(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zremrange_generic(ks, c, RangeType::Lex))
}

// ---------------------------------------------------------------------------
// Pops
// ---------------------------------------------------------------------------

/// Which end of a sorted set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZEnd {
    /// Lowest scores.
    Min,
    /// Highest scores.
    Max,
}

impl ZEnd {
    fn pop_cmd(self) -> Bytes {
        match self {
            ZEnd::Min => word("ZPOPMIN"),
            ZEnd::Max => word("ZPOPMAX"),
        }
    }
}

/// Pops up to `count` entries from `end` of the sorted set at `key` (which
/// must exist), deleting the key when it empties.
fn pop_entries(
    ks: &mut Keyspace,
    c: &Call<'_>,
    key: &Bytes,
    end: ZEnd,
    count: usize,
) -> Vec<(Bytes, f64)> {
    let mut out = Vec::new();
    let mut empty = false;
    if let Ok(Some(z)) = as_zset(write(ks, c, key)) {
        let n = count.min(z.len());
        out.reserve(n);
        let from = match end {
            ZEnd::Min => 0,
            ZEnd::Max => z.len() - n,
        };
        if n > 0 {
            let mut entries: Vec<(Bytes, f64)> = z
                .iter_from(from, false)
                .take(n)
                .map(|(s, m)| (m.to_bytes(), s))
                .collect();
            z.remove_rank_range(from, from + n - 1);
            if end == ZEnd::Max {
                entries.reverse();
            }
            out = entries;
        }
        empty = z.is_empty();
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

fn zpop_generic(ks: &mut Keyspace, c: &mut Call<'_>, end: ZEnd) -> Res {
    if c.argc() > 3 {
        return Err(reply::syntax());
    }
    let count = if c.argc() == 3 {
        Some(to_usize(get_positive_long(c.arg(2), None)?))
    } else {
        None
    };
    let key = &c.args[1];
    if as_zset(write(ks, c, key))?.is_none() {
        return Ok(Frame::Array(Vec::new()));
    }
    if count == Some(0) {
        return Ok(Frame::Array(Vec::new()));
    }
    let popped = pop_entries(ks, c, key, end, count.unwrap_or(1));
    c.verbatim();
    let pairs = popped
        .into_iter()
        .map(|(m, s)| (Frame::Bulk(m), score(s)))
        .collect();
    Ok(if count.is_some() {
        pairs_reply(c, pairs)
    } else {
        let mut flat = Vec::new();
        for (m, s) in pairs {
            flat.push(m);
            flat.push(s);
        }
        Frame::Array(flat)
    })
}

/// ZPOPMIN key [count]
pub fn zpopmin(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zpop_generic(ks, c, ZEnd::Min))
}

/// ZPOPMAX key [count]
pub fn zpopmax(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zpop_generic(ks, c, ZEnd::Max))
}

/// Pops from the first of `keys` that exists, as ZMPOP, BZPOPMIN/MAX and
/// BZMPOP do. `count: None` is the BZPOPMIN form (reply `[key, member,
/// score]`, propagated as `ZPOPMIN key`); `Some(n)` the ZMPOP form (reply
/// `[key, [[member, score], ...]]`, propagated as `ZPOPMIN key n'` with
/// `n'` the number popped). `Ok(None)`: none of the keys exists. The first
/// existing key of another type is WRONGTYPE.
pub fn zpop_first(
    ks: &mut Keyspace,
    c: &Call<'_>,
    keys: &[Bytes],
    end: ZEnd,
    count: Option<usize>,
) -> Result<Option<Served>, Frame> {
    for key in keys {
        let len = match as_zset(write(ks, c, key))? {
            None => continue,
            Some(z) => z.len(),
        };
        let n = count.unwrap_or(1).min(len);
        let popped = pop_entries(ks, c, key, end, n);
        let (reply, propagate) = match count {
            None => {
                let mut items = vec![bulk(key)];
                for (m, s) in popped {
                    items.push(Frame::Bulk(m));
                    items.push(score(s));
                }
                (Frame::Array(items), vec![end.pop_cmd(), key.clone()])
            }
            Some(_) => (
                Frame::Array(vec![
                    bulk(key),
                    Frame::Array(
                        popped
                            .into_iter()
                            .map(|(m, s)| Frame::Array(vec![Frame::Bulk(m), score(s)]))
                            .collect(),
                    ),
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

/// Serves a client blocked in BZPOPMIN / BZPOPMAX (`count: None`) or BZMPOP
/// on `key` in database `db`, or `None` if `key` holds no sorted set.
pub fn pop_for_blocked(
    ks: &mut Keyspace,
    db: usize,
    now_ms: i64,
    key: &Bytes,
    end: ZEnd,
    count: Option<usize>,
) -> Option<Served> {
    let c = Call::new(&[], db, now_ms);
    zpop_first(ks, &c, std::slice::from_ref(key), end, count)
        .ok()
        .flatten()
}

/// Parses `numkeys key... MIN|MAX [COUNT n]` from argument `numkeys_idx`
/// (ZMPOP: 1, BZMPOP: 2).
pub fn parse_zmpop<'a>(
    c: &Call<'a>,
    numkeys_idx: usize,
) -> Result<(&'a [Bytes], ZEnd, usize), Frame> {
    crate::cmd::common::parse_multi_pop(c, numkeys_idx, |w| {
        if w.eq_ignore_ascii_case(b"min") {
            Ok(ZEnd::Min)
        } else if w.eq_ignore_ascii_case(b"max") {
            Ok(ZEnd::Max)
        } else {
            Err(reply::syntax())
        }
    })
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
pub fn zmpop(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let (keys, end, count) = parse_zmpop(c, 1)?;
        match zpop_first(ks, c, keys, end, Some(count))? {
            None => Ok(Frame::NullArray),
            Some(s) => {
                c.propagate = Propagate::Rewritten(vec![s.propagate]);
                Ok(s.reply)
            }
        }
    })())
}

// ---------------------------------------------------------------------------
// Union, intersection, difference
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn aggregate(target: &mut f64, v: f64, a: Aggregate) {
    match a {
        Aggregate::Sum => {
            *target += v;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *target {
                *target = v;
            }
        }
        Aggregate::Max => {
            if v > *target {
                *target = v;
            }
        }
    }
}

/// One input of ZUNION and friends: a sorted set or a set (scores of 1).
enum Src<'a> {
    Missing,
    Z(&'a ZSetValue),
    S(&'a SetValue),
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
        }
    }

    fn entries(&self) -> Vec<(Bytes, f64)> {
        match self {
            Src::Missing => Vec::new(),
            Src::Z(z) => z.iter().map(|(s, m)| (m.to_bytes(), s)).collect(),
            Src::S(s) => s.iter().map(|m| (m, 1.0)).collect(),
        }
    }

    fn find(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Z(z) => z.score(m),
            Src::S(s) => s.contains(m).then_some(1.0),
        }
    }
}

/// What a ZUNION-family call produces.
enum SetOpOut {
    Entries(Vec<(Bytes, f64)>),
    Card(usize),
}

/// Redis's `zunionInterDiffGenericCommand`. `numkeys_idx` is 1 (ZUNION...)
/// or 2 (the STORE forms, whose destination is argument 1).
fn zsetop_generic(
    ks: &mut Keyspace,
    c: &mut Call<'_>,
    numkeys_idx: usize,
    dst: Option<&[u8]>,
    op: SetOp,
    card_only: bool,
) -> Res {
    let setnum = get_long(c.arg(numkeys_idx))?;
    if setnum < 1 {
        return Err(reply::err(&format!(
            "ERR at least 1 input key is needed for '{}' command",
            c.name_lower()
        )));
    }
    let setnum = to_usize(setnum);
    if setnum > c.argc() - (numkeys_idx + 1) {
        return Err(reply::syntax());
    }
    let keys = c
        .args
        .get(numkeys_idx + 1..numkeys_idx + 1 + setnum)
        .unwrap_or_default();
    for k in keys {
        match read(ks, c, k) {
            None | Some(Value::ZSet(_)) | Some(Value::Set(_)) => {}
            Some(_) => return Err(reply::wrongtype()),
        }
    }
    let mut weights = vec![1.0f64; setnum];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = numkeys_idx + 1 + setnum;
    while j < c.argc() {
        let remaining = c.argc() - j;
        let o = c.arg(j);
        if op != SetOp::Diff
            && !card_only
            && remaining > setnum
            && o.eq_ignore_ascii_case(b"weights")
        {
            j += 1;
            for w in weights.iter_mut() {
                *w = string2d(c.arg(j))
                    .ok_or_else(|| reply::err_static("ERR weight value is not a float"))?;
                j += 1;
            }
        } else if op != SetOp::Diff
            && !card_only
            && remaining >= 2
            && o.eq_ignore_ascii_case(b"aggregate")
        {
            let a = c.arg(j + 1);
            agg = if a.eq_ignore_ascii_case(b"sum") {
                Aggregate::Sum
            } else if a.eq_ignore_ascii_case(b"min") {
                Aggregate::Min
            } else if a.eq_ignore_ascii_case(b"max") {
                Aggregate::Max
            } else {
                return Err(reply::syntax());
            };
            j += 2;
        } else if dst.is_none() && !card_only && o.eq_ignore_ascii_case(b"withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && o.eq_ignore_ascii_case(b"limit") {
            limit = to_usize(get_positive_long(
                c.arg(j + 1),
                Some("LIMIT can't be negative"),
            )?);
            j += 2;
        } else {
            return Err(reply::syntax());
        }
    }
    let lim = *ks.limits();
    let out = {
        let mut srcs: Vec<(Src<'_>, f64, &Bytes)> = keys
            .iter()
            .zip(weights.iter())
            .map(|(k, w)| {
                let s = match peek(ks, c, k) {
                    Some(Value::ZSet(z)) => Src::Z(z),
                    Some(Value::Set(s)) => Src::S(s),
                    _ => Src::Missing,
                };
                (s, *w, k)
            })
            .collect();
        if op != SetOp::Diff {
            srcs.sort_by_key(|(s, _, _)| s.len());
        }
        compute_setop(&srcs, op, agg, card_only, limit)
    };
    match out {
        SetOpOut::Card(n) => Ok(reply::count(n)),
        SetOpOut::Entries(entries) => match dst {
            Some(dst) => {
                let z = ZSetValue::from_pairs(entries, &lim);
                store_zset_result(ks, c, dst, z)
            }
            None => {
                // Reply in sorted order from the skip list Redis builds (never
                // converted, so a -0 score keeps its sign).
                let mut items = entries;
                items.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
                Ok(if withscores {
                    pairs_reply(
                        c,
                        items
                            .into_iter()
                            .map(|(m, s)| (Frame::Bulk(m), score(s)))
                            .collect(),
                    )
                } else {
                    Frame::Array(items.into_iter().map(|(m, _)| Frame::Bulk(m)).collect())
                })
            }
        },
    }
}

fn compute_setop(
    srcs: &[(Src<'_>, f64, &Bytes)],
    op: SetOp,
    agg: Aggregate,
    card_only: bool,
    limit: usize,
) -> SetOpOut {
    match op {
        SetOp::Inter => {
            let mut out = Vec::new();
            let mut card = 0usize;
            let Some((first, w0, _)) = srcs.first() else {
                return SetOpOut::Entries(out);
            };
            if first.len() == 0 {
                return if card_only {
                    SetOpOut::Card(0)
                } else {
                    SetOpOut::Entries(out)
                };
            }
            for (m, s) in first.entries() {
                let mut sc = w0 * s;
                if sc.is_nan() {
                    sc = 0.0;
                }
                let mut all = true;
                for (src, w, _) in &srcs[1..] {
                    match src.find(&m) {
                        Some(v) => aggregate(&mut sc, v * w, agg),
                        None => {
                            all = false;
                            break;
                        }
                    }
                }
                if !all {
                    continue;
                }
                if card_only {
                    card += 1;
                    if limit != 0 && card >= limit {
                        break;
                    }
                } else {
                    out.push((m, sc));
                }
            }
            if card_only {
                SetOpOut::Card(card)
            } else {
                SetOpOut::Entries(out)
            }
        }
        SetOp::Union => {
            let mut acc: IndexMap<Bytes, f64> = IndexMap::new();
            for (src, w, _) in srcs {
                for (m, s) in src.entries() {
                    let mut sc = w * s;
                    if sc.is_nan() {
                        sc = 0.0;
                    }
                    match acc.get_mut(&m) {
                        Some(t) => aggregate(t, sc, agg),
                        None => {
                            acc.insert(m, sc);
                        }
                    }
                }
            }
            SetOpOut::Entries(acc.into_iter().collect())
        }
        SetOp::Diff => {
            let Some((first, _, first_key)) = srcs.first() else {
                return SetOpOut::Entries(Vec::new());
            };
            if first.len() == 0 || srcs[1..].iter().any(|(_, _, k)| *k == *first_key) {
                return SetOpOut::Entries(Vec::new());
            }
            let out = first
                .entries()
                .into_iter()
                .filter(|(m, _)| !srcs[1..].iter().any(|(s, _, _)| s.find(m).is_some()))
                .collect();
            SetOpOut::Entries(out)
        }
    }
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE SUM|MIN|MAX]
pub fn zunionstore(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let dst = c.arg(1);
    done(zsetop_generic(ks, c, 2, Some(dst), SetOp::Union, false))
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE SUM|MIN|MAX]
pub fn zinterstore(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let dst = c.arg(1);
    done(zsetop_generic(ks, c, 2, Some(dst), SetOp::Inter, false))
}

/// ZDIFFSTORE destination numkeys key [key ...]
pub fn zdiffstore(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let dst = c.arg(1);
    done(zsetop_generic(ks, c, 2, Some(dst), SetOp::Diff, false))
}

/// ZUNION numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...] [WITHSCORES]
pub fn zunion(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zsetop_generic(ks, c, 1, None, SetOp::Union, false))
}

/// ZINTER numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...] [WITHSCORES]
pub fn zinter(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zsetop_generic(ks, c, 1, None, SetOp::Inter, false))
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]
pub fn zdiff(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zsetop_generic(ks, c, 1, None, SetOp::Diff, false))
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
pub fn zintercard(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(zsetop_generic(ks, c, 1, None, SetOp::Inter, true))
}

// ---------------------------------------------------------------------------
// ZRANDMEMBER, ZSCAN
// ---------------------------------------------------------------------------

/// ZRANDMEMBER key [count [WITHSCORES]]
pub fn zrandmember(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let key = c.arg(1);
        if c.argc() < 3 {
            let len = match as_zset(read(ks, c, key))? {
                None => return Ok(reply::nil()),
                Some(z) => z.len(),
            };
            let i = random_indexes(ks, len, 1);
            let m = match peek(ks, c, key) {
                Some(Value::ZSet(z)) => i
                    .first()
                    .and_then(|&i| z.member_at(i))
                    .map(|(m, _)| m.to_bytes()),
                _ => None,
            };
            return Ok(m.map_or_else(reply::nil, Frame::Bulk));
        }
        let l = get_range_long(c.arg(2), -i64::MAX, i64::MAX, None)?;
        let withscores = c.argc() == 4;
        if c.argc() > 4 || (withscores && !c.arg(3).eq_ignore_ascii_case(b"withscores")) {
            return Err(reply::syntax());
        }
        if withscores && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
            return Err(reply::err_static("ERR value is out of range"));
        }
        let len = match as_zset(read(ks, c, key))? {
            None => return Ok(Frame::Array(Vec::new())),
            Some(z) => z.len(),
        };
        let count = to_usize(i64::try_from(l.unsigned_abs()).unwrap_or(i64::MAX));
        if count == 0 {
            return Ok(Frame::Array(Vec::new()));
        }
        let whole = l >= 0 && count != 1 && count >= len;
        let indexes = if l < 0 || count == 1 {
            random_indexes(ks, len, count)
        } else if whole {
            Vec::new()
        } else {
            distinct_indexes(ks, len, count)
        };
        let Some(Value::ZSet(z)) = peek(ks, c, key) else {
            return Ok(Frame::Array(Vec::new()));
        };
        let picked: Vec<(Bytes, f64)> = if whole {
            // The whole set, walked from the highest score as Redis's
            // set-operation iterator does.
            let last = z.len().saturating_sub(1);
            z.iter_from(last, true)
                .map(|(s, m)| (m.to_bytes(), s))
                .collect()
        } else {
            indexes
                .into_iter()
                .filter_map(|i| z.member_at(i))
                .map(|(m, s)| (m.to_bytes(), s))
                .collect()
        };
        Ok(if withscores {
            pairs_reply(
                c,
                picked
                    .into_iter()
                    .map(|(m, s)| (Frame::Bulk(m), score(s)))
                    .collect(),
            )
        } else {
            Frame::Array(picked.into_iter().map(|(m, _)| Frame::Bulk(m)).collect())
        })
    })())
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]
pub fn zscan(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let cursor = parse_cursor(c.arg(2))?;
        let Some(z) = as_zset(read(ks, c, c.arg(1)))? else {
            return Ok(empty_scan());
        };
        let o = parse_scan_opts(c, 3)?;
        let mut items = Vec::new();
        let next = if z.is_listpack() {
            // The compact encoding stores scores as `d2string` text.
            for (s, m) in z.iter() {
                if o.matches(&m) {
                    items.push(bulk(&m));
                    items.push(Frame::Bulk(Bytes::from(d2string(s))));
                }
            }
            0
        } else {
            z.scan(cursor, o.count, |m, s| {
                if o.matches(&m) {
                    items.push(bulk(&m));
                    items.push(Frame::Bulk(Bytes::from(fmt_g17(s))));
                }
            })
        };
        Ok(scan_reply(next, items))
    })())
}

/// The sorted set commands' table rows (see [`super::spec`]).
#[rustfmt::skip]
pub const SPECS: &[Spec] = &[
    c("zadd", -4, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "sortedset", "fast"], "sorted-set", "1.2.0", "Add one or more members to a sorted set, or update its score if it already exists", "O(log(N)) for each item added, where N is the number of elements in the sorted set.", zadd),
    c("zrem", -3, WRITE | FAST, (1, 1, 1), &["write", "sortedset", "fast"], "sorted-set", "1.2.0", "Remove one or more members from a sorted set", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", zrem),
    c("zscore", 3, READONLY | FAST, (1, 1, 1), &["read", "sortedset", "fast"], "sorted-set", "1.2.0", "Get the score associated with the given member in a sorted set", "O(1)", zscore),
    c("zmscore", -3, READONLY | FAST, (1, 1, 1), &["read", "sortedset", "fast"], "sorted-set", "6.2.0", "Get the score associated with the given members in a sorted set", "O(N) where N is the number of members being requested.", zmscore),
    c("zincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "sortedset", "fast"], "sorted-set", "1.2.0", "Increment the score of a member in a sorted set", "O(log(N)) where N is the number of elements in the sorted set.", zincrby),
    c("zcard", 2, READONLY | FAST, (1, 1, 1), &["read", "sortedset", "fast"], "sorted-set", "1.2.0", "Get the number of members in a sorted set", "O(1)", zcard),
    c("zcount", 4, READONLY | FAST, (1, 1, 1), &["read", "sortedset", "fast"], "sorted-set", "2.0.0", "Count the members in a sorted set with scores within the given values", "O(log(N)) with N being the number of elements in the sorted set.", zcount),
    c("zlexcount", 4, READONLY | FAST, (1, 1, 1), &["read", "sortedset", "fast"], "sorted-set", "2.8.9", "Count the number of members in a sorted set between a given lexicographical range", "O(log(N)) with N being the number of elements in the sorted set.", zlexcount),
    c("zrank", 3, READONLY | FAST, (1, 1, 1), &["read", "sortedset", "fast"], "sorted-set", "2.0.0", "Determine the index of a member in a sorted set", "O(log(N))", zrank),
    c("zrevrank", 3, READONLY | FAST, (1, 1, 1), &["read", "sortedset", "fast"], "sorted-set", "2.0.0", "Determine the index of a member in a sorted set, with scores ordered from high to low", "O(log(N))", zrevrank),
    c("zrange", -4, READONLY, (1, 1, 1), &["read", "sortedset", "slow"], "sorted-set", "1.2.0", "Return a range of members in a sorted set", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", zrange),
    c("zrangestore", -5, WRITE | DENYOOM, (1, 2, 1), &["write", "sortedset", "slow"], "sorted-set", "6.2.0", "Store a range of members from sorted set into another key", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.", zrangestore),
    c("zrangebyscore", -4, READONLY, (1, 1, 1), &["read", "sortedset", "slow"], "sorted-set", "1.0.5", "Return a range of members in a sorted set, by score", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", zrangebyscore),
    c("zrevrangebyscore", -4, READONLY, (1, 1, 1), &["read", "sortedset", "slow"], "sorted-set", "2.2.0", "Return a range of members in a sorted set, by score, with scores ordered from high to low", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", zrevrangebyscore),
    c("zrangebylex", -4, READONLY, (1, 1, 1), &["read", "sortedset", "slow"], "sorted-set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", zrangebylex),
    c("zrevrangebylex", -4, READONLY, (1, 1, 1), &["read", "sortedset", "slow"], "sorted-set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", zrevrangebylex),
    c("zrevrange", -4, READONLY, (1, 1, 1), &["read", "sortedset", "slow"], "sorted-set", "1.2.0", "Return a range of members in a sorted set, by index, with scores ordered from high to low", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", zrevrange),
    c("zremrangebyrank", 4, WRITE, (1, 1, 1), &["write", "sortedset", "slow"], "sorted-set", "2.0.0", "Remove all members in a sorted set within the given indexes", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", zremrangebyrank),
    c("zremrangebyscore", 4, WRITE, (1, 1, 1), &["write", "sortedset", "slow"], "sorted-set", "1.2.0", "Remove all members in a sorted set within the given scores", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", zremrangebyscore),
    c("zremrangebylex", 4, WRITE, (1, 1, 1), &["write", "sortedset", "slow"], "sorted-set", "2.8.9", "Remove all members in a sorted set between the given lexicographical range", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", zremrangebylex),
    c("zpopmin", -2, WRITE | FAST, (1, 1, 1), &["write", "sortedset", "fast"], "sorted-set", "5.0.0", "Remove and return members with the lowest scores in a sorted set", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", zpopmin),
    c("zpopmax", -2, WRITE | FAST, (1, 1, 1), &["write", "sortedset", "fast"], "sorted-set", "5.0.0", "Remove and return members with the highest scores in a sorted set", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", zpopmax),
    c("zunionstore", -4, WRITE | DENYOOM, (1, 1, 1), &["write", "sortedset", "slow"], "sorted-set", "2.0.0", "Add multiple sorted sets and store the resulting sorted set in a new key", "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", zunionstore),
    c("zinterstore", -4, WRITE | DENYOOM, (1, 1, 1), &["write", "sortedset", "slow"], "sorted-set", "2.0.0", "Intersect multiple sorted sets and store the resulting sorted set in a new key", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", zinterstore),
    c("zdiffstore", -4, WRITE | DENYOOM, (1, 1, 1), &["write", "sortedset", "slow"], "sorted-set", "6.2.0", "Subtract multiple sorted sets and store the resulting sorted set in a new key", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", zdiffstore),
    c("zunion", -3, READONLY, (0, 0, 0), &["read", "sortedset", "slow"], "sorted-set", "6.2.0", "Add multiple sorted sets", "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", zunion),
    c("zinter", -3, READONLY, (0, 0, 0), &["read", "sortedset", "slow"], "sorted-set", "6.2.0", "Intersect multiple sorted sets", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", zinter),
    c("zdiff", -3, READONLY, (0, 0, 0), &["read", "sortedset", "slow"], "sorted-set", "6.2.0", "Subtract multiple sorted sets", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", zdiff),
    c("zintercard", -3, READONLY, (0, 0, 0), &["read", "sortedset", "slow"], "sorted-set", "7.0.0", "Intersect multiple sorted sets and return the cardinality of the result", "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.", zintercard),
    c("zrandmember", -2, READONLY, (1, 1, 1), &["read", "sortedset", "slow"], "sorted-set", "6.2.0", "Get one or multiple random elements from a sorted set", "O(N) where N is the number of elements returned", zrandmember),
    c("zscan", -3, READONLY, (1, 1, 1), &["read", "sortedset", "slow"], "sorted-set", "2.8.0", "Incrementally iterate sorted sets elements and associated scores", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", zscan),
    c("zmpop", -4, WRITE, (0, 0, 0), &["write", "sortedset", "slow"], "sorted-set", "7.0.0", "Remove and return members with scores in a sorted set", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", zmpop),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::common::testing::{b, cmd, encoding, keyspace, run};

    #[test]
    fn zmpop_and_pops_propagate_as_redis_does() {
        let mut ks = keyspace();
        run(&mut ks, zadd, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
        let (r, p) = run(
            &mut ks,
            zmpop,
            &["ZMPOP", "2", "none", "z", "MAX", "COUNT", "2"],
        );
        assert_eq!(
            r,
            Frame::Array(vec![
                b("z"),
                Frame::Array(vec![
                    Frame::Array(vec![b("c"), Frame::Double(3.0)]),
                    Frame::Array(vec![b("b"), Frame::Double(2.0)]),
                ]),
            ])
        );
        assert_eq!(p, Propagate::Rewritten(vec![cmd(&["ZPOPMAX", "z", "2"])]));
        assert_eq!(
            run(&mut ks, zpopmin, &["ZPOPMIN", "z", "0"]).1,
            Propagate::Nothing
        );
        let (r, p) = run(&mut ks, zpopmin, &["ZPOPMIN", "z", "5"]);
        assert_eq!(r, Frame::Array(vec![b("a"), Frame::Double(1.0)]));
        assert_eq!(p, Propagate::Verbatim);
        assert!(!ks.exists(0, b"z", 1000));
    }

    #[test]
    fn zadd_propagates_only_changes() {
        let mut ks = keyspace();
        assert_eq!(
            run(&mut ks, zadd, &["ZADD", "z", "1", "a"]).1,
            Propagate::Verbatim
        );
        assert_eq!(
            run(&mut ks, zadd, &["ZADD", "z", "1", "a"]).1,
            Propagate::Nothing
        );
        assert_eq!(
            run(&mut ks, zadd, &["ZADD", "z", "GT", "0", "a"]).1,
            Propagate::Nothing
        );
        let (r, p) = run(&mut ks, zincrby, &["ZINCRBY", "z", "+inf", "a"]);
        assert_eq!((r, p), (Frame::Double(f64::INFINITY), Propagate::Verbatim));
        let (r, p) = run(&mut ks, zincrby, &["ZINCRBY", "z", "-inf", "a"]);
        assert_eq!(r, reply::err("ERR resulting score is not a number (NaN)"));
        assert_eq!(p, Propagate::Nothing);
    }

    #[test]
    fn encodings_follow_redis_thresholds() {
        let mut ks = keyspace();
        let mut args = vec!["ZADD".to_string(), "z".to_string()];
        for i in 0..128 {
            args.push(i.to_string());
            args.push(format!("m{i}"));
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&mut ks, zadd, &refs);
        assert_eq!(encoding(&ks, "z"), Some("listpack"));
        run(&mut ks, zadd, &["ZADD", "z", "1000", "one-more"]);
        assert_eq!(encoding(&ks, "z"), Some("skiplist"));
        run(
            &mut ks,
            zremrangebyrank,
            &["ZREMRANGEBYRANK", "z", "0", "99"],
        );
        assert_eq!(encoding(&ks, "z"), Some("skiplist"));
        run(&mut ks, zunionstore, &["ZUNIONSTORE", "u", "1", "z"]);
        assert_eq!(encoding(&ks, "u"), Some("listpack"));
        let (r, _) = run(&mut ks, zrange, &["ZRANGE", "u", "0", "0", "WITHSCORES"]);
        assert_eq!(r, Frame::Array(vec![b("m100"), Frame::Double(100.0)]));
    }

    #[test]
    fn blocked_pop_hook_serves_and_propagates() {
        let mut ks = keyspace();
        run(&mut ks, zadd, &["ZADD", "z", "1", "a"]);
        let s = pop_for_blocked(&mut ks, 0, 1000, &Bytes::from("z"), ZEnd::Min, None);
        let s = s.expect("served");
        assert_eq!(
            s.reply,
            Frame::Array(vec![b("z"), b("a"), Frame::Double(1.0)])
        );
        assert_eq!(s.propagate, cmd(&["ZPOPMIN", "z"]));
        assert!(pop_for_blocked(&mut ks, 0, 1000, &Bytes::from("z"), ZEnd::Min, None).is_none());
    }
}
