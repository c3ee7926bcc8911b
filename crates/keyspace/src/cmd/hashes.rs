//! Hash commands: HSET HSETNX HGET HMGET HMSET HDEL HLEN HEXISTS HGETALL
//! HKEYS HVALS HINCRBY HINCRBYFLOAT HSTRLEN HRANDFIELD HSCAN.

use crate::cmd::spec::{c, flag::*, Spec};
use bytes::Bytes;
use resp_codec::Frame;

use crate::call::{reply, Call, Propagate};
use crate::cmd::common::{
    self, as_hash, bulk, delete, done, empty_scan, get_long, get_range_long, pairs_reply,
    parse_cursor, parse_scan_opts, peek, read, scan_reply, store, to_usize, word, write, Res,
};
use crate::hash::HashValue;
use crate::keyspace::Keyspace;
use crate::long_double::{incr_by_float, IncrFloatError};
use crate::numeric::parse_i64;
use crate::packed::Elem;
use crate::value::Value;

/// Looks the hash up for writing, creating an empty one if the key is
/// missing (Redis's `hashTypeLookupWriteOrCreate`; the caller always adds
/// a field before returning, so no empty hash is left behind).
fn hash_or_create<'a>(
    ks: &'a mut Keyspace,
    c: &Call<'_>,
    key: &[u8],
) -> Result<&'a mut HashValue, Frame> {
    if as_hash(write(ks, c, key))?.is_none() {
        store(ks, c, key, Value::Hash(HashValue::new()));
    }
    as_hash(write(ks, c, key))?.ok_or_else(reply::nil)
}

fn hset_generic(ks: &mut Keyspace, c: &mut Call<'_>, hmset: bool) -> Res {
    if c.argc() % 2 == 1 {
        return Err(reply::wrong_args(&c.name_lower()));
    }
    let lim = *ks.limits();
    let h = hash_or_create(ks, c, c.arg(1))?;
    let args = c.args.get(2..).unwrap_or_default();
    h.convert_for_lengths(args.iter().map(|a| a.len()), &lim);
    let mut created = 0;
    for pair in args.chunks_exact(2) {
        if !h.set(pair[0].clone(), pair[1].clone(), &lim) {
            created += 1;
        }
    }
    ks.add_dirty((args.len() / 2) as u64);
    c.verbatim();
    common::modified(ks, c, 1);
    Ok(if hmset {
        reply::ok()
    } else {
        reply::int(created)
    })
}

/// HSET key field value [field value ...]
pub fn hset(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(hset_generic(ks, c, false))
}

/// HMSET key field value [field value ...]
pub fn hmset(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(hset_generic(ks, c, true))
}

/// HSETNX key field value
pub fn hsetnx(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let lim = *ks.limits();
        let h = hash_or_create(ks, c, c.arg(1))?;
        if h.contains(c.arg(2)) {
            return Ok(reply::int(0));
        }
        h.convert_for_lengths([c.arg(2).len(), c.arg(3).len()], &lim);
        h.set(c.arg_bytes(2), c.arg_bytes(3), &lim);
        ks.add_dirty(1);
        c.verbatim();
        common::modified(ks, c, 1);
        Ok(reply::int(1))
    })())
}

/// HGET key field
pub fn hget(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(as_hash(read(ks, c, c.arg(1))).map(|h| {
        h.and_then(|h| h.get(c.arg(2)))
            .map_or_else(reply::nil, |v| bulk(&v))
    }))
}

/// HMGET key field [field ...]
pub fn hmget(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(as_hash(read(ks, c, c.arg(1))).map(|h| {
        let fields = c.args.get(2..).unwrap_or_default();
        Frame::Array(
            fields
                .iter()
                .map(|f| {
                    h.as_ref()
                        .and_then(|h| h.get(f))
                        .map_or_else(reply::nil, |v| bulk(&v))
                })
                .collect(),
        )
    }))
}

/// HDEL key field [field ...]
pub fn hdel(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let key = c.arg(1);
        let Some(h) = as_hash(write(ks, c, key))? else {
            return Ok(reply::int(0));
        };
        let mut deleted = 0;
        for f in c.args.get(2..).unwrap_or_default() {
            if h.remove(f) {
                deleted += 1;
                if h.is_empty() {
                    break;
                }
            }
        }
        if h.is_empty() {
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

/// HLEN key
pub fn hlen(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(as_hash(read(ks, c, c.arg(1))).map(|h| reply::count(h.map_or(0, |h| h.len()))))
}

/// HSTRLEN key field
pub fn hstrlen(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(
        as_hash(read(ks, c, c.arg(1)))
            .map(|h| reply::count(h.and_then(|h| h.get(c.arg(2))).map_or(0, |v| v.len()))),
    )
}

/// HEXISTS key field
pub fn hexists(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(
        as_hash(read(ks, c, c.arg(1)))
            .map(|h| reply::int(i64::from(h.is_some_and(|h| h.contains(c.arg(2)))))),
    )
}

/// HGETALL key
pub fn hgetall(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(as_hash(read(ks, c, c.arg(1))).map(|h| {
        Frame::Map(
            h.map(|h| h.iter().map(|(f, v)| (bulk(&f), bulk(&v))).collect())
                .unwrap_or_default(),
        )
    }))
}

/// HKEYS key
pub fn hkeys(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(as_hash(read(ks, c, c.arg(1))).map(|h| {
        Frame::Array(
            h.map(|h| h.iter().map(|(f, _)| bulk(&f)).collect())
                .unwrap_or_default(),
        )
    }))
}

/// HVALS key
pub fn hvals(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done(as_hash(read(ks, c, c.arg(1))).map(|h| {
        Frame::Array(
            h.map(|h| h.iter().map(|(_, v)| bulk(&v)).collect())
                .unwrap_or_default(),
        )
    }))
}

/// HINCRBY key field increment
pub fn hincrby(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let incr = get_long(c.arg(3))?;
        let lim = *ks.limits();
        let h = hash_or_create(ks, c, c.arg(1))?;
        let cur = match h.get(c.arg(2)) {
            None => 0,
            Some(v) => parse_i64(&v)
                .ok_or_else(|| reply::err_static("ERR hash value is not an integer"))?,
        };
        let new = cur
            .checked_add(incr)
            .ok_or_else(|| reply::err_static("ERR increment or decrement would overflow"))?;
        h.set(c.arg_bytes(2), Bytes::from(new.to_string()), &lim);
        ks.add_dirty(1);
        c.verbatim();
        common::modified(ks, c, 1);
        Ok(reply::int(new))
    })())
}

/// HINCRBYFLOAT key field increment (propagated as HSET with the result)
pub fn hincrbyfloat(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        match incr_by_float(None, c.arg(3)) {
            Err(IncrFloatError::NotFinite) => {
                return Err(reply::err_static("ERR value is NaN or Infinity"))
            }
            Err(_) => return Err(reply::not_float()),
            Ok(_) => {}
        }
        let lim = *ks.limits();
        let h = hash_or_create(ks, c, c.arg(1))?;
        let text = match incr_by_float(h.get(c.arg(2)).map(|v| v.as_slice()), c.arg(3)) {
            Ok(t) => Bytes::from(t),
            Err(IncrFloatError::CurrentNotFloat) => {
                return Err(reply::err_static("ERR hash value is not a float"))
            }
            Err(IncrFloatError::NotFinite) => {
                return Err(reply::err_static(
                    "ERR increment would produce NaN or Infinity",
                ))
            }
            Err(IncrFloatError::IncrementNotFloat) => return Err(reply::not_float()),
        };
        h.set(c.arg_bytes(2), text.clone(), &lim);
        ks.add_dirty(1);
        common::modified(ks, c, 1);
        c.propagate = Propagate::Rewritten(vec![vec![
            word("HSET"),
            c.arg_bytes(1),
            c.arg_bytes(2),
            text.clone(),
        ]]);
        Ok(Frame::Bulk(text))
    })())
}

/// HRANDFIELD key [count [WITHVALUES]]
pub fn hrandfield(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let key = c.arg(1);
        let mut rng = ks.rng().clone();
        if c.argc() < 3 {
            let field = match as_hash(read(ks, c, key))? {
                None => return Ok(reply::nil()),
                Some(h) => h.random_pair(&mut rng).map(|(f, _)| f.to_bytes()),
            };
            *ks.rng() = rng;
            return Ok(field.map_or_else(reply::nil, Frame::Bulk));
        }
        let l = get_range_long(c.arg(2), -i64::MAX, i64::MAX, None)?;
        let withvalues = c.argc() == 4;
        if c.argc() > 4 || (withvalues && !c.arg(3).eq_ignore_ascii_case(b"withvalues")) {
            return Err(reply::syntax());
        }
        if withvalues && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
            return Err(reply::err_static("ERR value is out of range"));
        }
        let len = match as_hash(read(ks, c, key))? {
            None => return Ok(Frame::Array(Vec::new())),
            Some(h) => h.len(),
        };
        let count = to_usize(i64::try_from(l.unsigned_abs()).unwrap_or(i64::MAX));
        if count == 0 {
            return Ok(Frame::Array(Vec::new()));
        }
        let Some(Value::Hash(h)) = peek(ks, c, key) else {
            return Ok(Frame::Array(Vec::new()));
        };
        let picked: Vec<(Frame, Frame)> = if l < 0 || count == 1 {
            // No preallocation: an absurd count grows the reply as
            // Redis's does.
            let mut out = Vec::new();
            for _ in 0..count {
                match h.random_pair(&mut rng) {
                    Some((f, v)) => out.push((bulk(&f), bulk(&v))),
                    None => break,
                }
            }
            out
        } else if count >= len {
            h.iter().map(|(f, v)| (bulk(&f), bulk(&v))).collect()
        } else {
            h.random_distinct(&mut rng, count)
                .into_iter()
                .map(|(f, v)| (bulk(&f), bulk(&v)))
                .collect()
        };
        *ks.rng() = rng;
        Ok(if withvalues {
            pairs_reply(c, picked)
        } else {
            Frame::Array(picked.into_iter().map(|(f, _)| f).collect())
        })
    })())
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]
pub fn hscan(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    done((|| -> Res {
        let cursor = parse_cursor(c.arg(2))?;
        let Some(h) = as_hash(read(ks, c, c.arg(1)))? else {
            return Ok(empty_scan());
        };
        let o = parse_scan_opts(c, 3)?;
        let mut items = Vec::new();
        let mut push = |f: Elem<'_>, v: Elem<'_>| {
            if o.matches(&f) {
                items.push(bulk(&f));
                items.push(bulk(&v));
            }
        };
        let next = if h.is_listpack() {
            for (f, v) in h.iter() {
                push(f, v);
            }
            0
        } else {
            h.scan(cursor, o.count, push)
        };
        Ok(scan_reply(next, items))
    })())
}

/// The hash commands' table rows (see [`super::spec`]).
#[rustfmt::skip]
pub const SPECS: &[Spec] = &[
    c("hset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "hash", "fast"], "hash", "2.0.0", "Set the string value of a hash field", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", hset),
    c("hsetnx", 4, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "hash", "fast"], "hash", "2.0.0", "Set the value of a hash field, only if the field does not exist", "O(1)", hsetnx),
    c("hget", 3, READONLY | FAST, (1, 1, 1), &["read", "hash", "fast"], "hash", "2.0.0", "Get the value of a hash field", "O(1)", hget),
    c("hmget", -3, READONLY | FAST, (1, 1, 1), &["read", "hash", "fast"], "hash", "2.0.0", "Get the values of all the given hash fields", "O(N) where N is the number of fields being requested.", hmget),
    c("hmset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "hash", "fast"], "hash", "2.0.0", "Set multiple hash fields to multiple values", "O(N) where N is the number of fields being set.", hmset),
    c("hdel", -3, WRITE | FAST, (1, 1, 1), &["write", "hash", "fast"], "hash", "2.0.0", "Delete one or more hash fields", "O(N) where N is the number of fields to be removed.", hdel),
    c("hlen", 2, READONLY | FAST, (1, 1, 1), &["read", "hash", "fast"], "hash", "2.0.0", "Get the number of fields in a hash", "O(1)", hlen),
    c("hexists", 3, READONLY | FAST, (1, 1, 1), &["read", "hash", "fast"], "hash", "2.0.0", "Determine if a hash field exists", "O(1)", hexists),
    c("hgetall", 2, READONLY, (1, 1, 1), &["read", "hash", "slow"], "hash", "2.0.0", "Get all the fields and values in a hash", "O(N) where N is the size of the hash.", hgetall),
    c("hkeys", 2, READONLY, (1, 1, 1), &["read", "hash", "slow"], "hash", "2.0.0", "Get all the fields in a hash", "O(N) where N is the size of the hash.", hkeys),
    c("hvals", 2, READONLY, (1, 1, 1), &["read", "hash", "slow"], "hash", "2.0.0", "Get all the values in a hash", "O(N) where N is the size of the hash.", hvals),
    c("hincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "hash", "fast"], "hash", "2.0.0", "Increment the integer value of a hash field by the given number", "O(1)", hincrby),
    c("hincrbyfloat", 4, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "hash", "fast"], "hash", "2.6.0", "Increment the float value of a hash field by the given amount", "O(1)", hincrbyfloat),
    c("hstrlen", 3, READONLY | FAST, (1, 1, 1), &["read", "hash", "fast"], "hash", "3.2.0", "Get the length of the value of a hash field", "O(1)", hstrlen),
    c("hrandfield", -2, READONLY, (1, 1, 1), &["read", "hash", "slow"], "hash", "6.2.0", "Get one or multiple random fields from a hash", "O(N) where N is the number of fields returned", hrandfield),
    c("hscan", -3, READONLY, (1, 1, 1), &["read", "hash", "slow"], "hash", "2.8.0", "Incrementally iterate hash fields and associated values", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", hscan),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::common::testing::{b, cmd, encoding, keyspace, run};

    #[test]
    fn hincrbyfloat_propagates_as_hset() {
        let mut ks = keyspace();
        let (r, p) = run(&mut ks, hincrbyfloat, &["HINCRBYFLOAT", "h", "f", "10.5"]);
        assert_eq!(r, b("10.5"));
        assert_eq!(
            p,
            Propagate::Rewritten(vec![cmd(&["HSET", "h", "f", "10.5"])])
        );
        let (r, _) = run(&mut ks, hincrbyfloat, &["HINCRBYFLOAT", "h", "f", "0.1"]);
        assert_eq!(r, b("10.6"));
        let (r, p) = run(&mut ks, hincrbyfloat, &["HINCRBYFLOAT", "h", "f", "inf"]);
        assert_eq!(r, reply::err("ERR value is NaN or Infinity"));
        assert_eq!(p, Propagate::Nothing);
    }

    #[test]
    fn deletes_and_encodings() {
        let mut ks = keyspace();
        assert_eq!(
            run(&mut ks, hset, &["HSET", "h", "a", "1", "b", "2"]).1,
            Propagate::Verbatim
        );
        assert_eq!(encoding(&ks, "h"), Some("listpack"));
        assert_eq!(
            run(&mut ks, hdel, &["HDEL", "h", "zz"]).1,
            Propagate::Nothing
        );
        assert_eq!(
            run(&mut ks, hdel, &["HDEL", "h", "a", "b", "c"]).0,
            reply::int(2)
        );
        assert!(!ks.exists(0, b"h", 1000));
        let long = "x".repeat(65);
        run(&mut ks, hset, &["HSET", "h", "a", &long]);
        assert_eq!(encoding(&ks, "h"), Some("hashtable"));
        assert_eq!(
            run(&mut ks, hsetnx, &["HSETNX", "h", "a", "x"]).1,
            Propagate::Nothing
        );
    }
}
