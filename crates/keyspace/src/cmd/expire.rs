//! Expiry commands: EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME
//! PEXPIRETIME PERSIST.

use crate::cmd::spec::{acl::*, c, flag::*, Spec, K1};
use bytes::Bytes;
use resp_codec::Frame;

use crate::call::{reply, Call, Propagate};
use crate::db::NO_EXPIRE;
use crate::keyspace::Keyspace;
use crate::numeric::parse_i64;

#[derive(Default)]
struct Flags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_flags(c: &Call<'_>) -> Result<Flags, Frame> {
    let mut f = Flags::default();
    for i in 3..c.argc() {
        match c.arg(i).to_ascii_uppercase().as_slice() {
            b"NX" => f.nx = true,
            b"XX" => f.xx = true,
            b"GT" => f.gt = true,
            b"LT" => f.lt = true,
            _ => {
                return Err(reply::err(&format!(
                    "ERR Unsupported option {}",
                    String::from_utf8_lossy(c.arg(i))
                )))
            }
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(reply::err_static(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f.gt && f.lt {
        return Err(reply::err_static(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

fn expire_generic(ks: &mut Keyspace, c: &mut Call<'_>, relative: bool, seconds: bool) -> Frame {
    let flags = match parse_flags(c) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let Some(mut when) = parse_i64(c.arg(2)) else {
        return reply::not_int();
    };
    let name = c.name_lower();
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return reply::invalid_expire(&name);
        }
        when *= 1000;
    }
    let base = if relative { c.now_ms } else { 0 };
    let Some(abs) = when.checked_add(base) else {
        return reply::invalid_expire(&name);
    };
    if ks.lookup_write(c.db, c.arg(1), c.now_ms).is_none() {
        return reply::int(0);
    }
    let current = ks.db(c.db).map_or(NO_EXPIRE, |d| d.expire_of(c.arg(1)));
    let refused = (flags.nx && current != NO_EXPIRE)
        || (flags.xx && current == NO_EXPIRE)
        || (flags.gt && (current == NO_EXPIRE || abs <= current))
        || (flags.lt && current != NO_EXPIRE && abs >= current);
    if refused {
        return reply::int(0);
    }
    let key = c.arg_bytes(1);
    ks.add_dirty(1);
    ks.signal_modified(c.db, key.clone());
    if abs <= c.now_ms && ks.reclaims_expired() {
        if let Some(db) = ks.db_mut(c.db) {
            db.remove(&key);
        }
        c.propagate = Propagate::Rewritten(vec![vec![Bytes::from_static(b"DEL"), key]]);
        return reply::int(1);
    }
    if let Some(db) = ks.db_mut(c.db) {
        db.set_expire(&key, abs);
    }
    let mut cmd: Vec<Bytes> = c.args.to_vec();
    cmd[0] = Bytes::from_static(b"PEXPIREAT");
    cmd[2] = Bytes::from(abs.to_string());
    c.propagate = Propagate::Rewritten(vec![cmd]);
    reply::int(1)
}

/// EXPIRE key seconds [NX|XX|GT|LT]
pub fn expire(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    expire_generic(ks, c, true, true)
}

/// PEXPIRE key milliseconds [NX|XX|GT|LT]
pub fn pexpire(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    expire_generic(ks, c, true, false)
}

/// EXPIREAT key unix-seconds [NX|XX|GT|LT]
pub fn expireat(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    expire_generic(ks, c, false, true)
}

/// PEXPIREAT key unix-milliseconds [NX|XX|GT|LT]
pub fn pexpireat(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    expire_generic(ks, c, false, false)
}

fn ttl_generic(ks: &mut Keyspace, c: &mut Call<'_>, ms: bool, absolute: bool) -> Frame {
    if ks.lookup_read(c.db, c.arg(1), c.now_ms).is_none() {
        return reply::int(-2);
    }
    let expire = ks.db(c.db).map_or(NO_EXPIRE, |d| d.expire_of(c.arg(1)));
    if expire == NO_EXPIRE {
        return reply::int(-1);
    }
    let ttl = if absolute { expire } else { expire - c.now_ms }.max(0);
    reply::int(if ms { ttl } else { (ttl + 500) / 1000 })
}

/// TTL key
pub fn ttl(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    ttl_generic(ks, c, false, false)
}

/// PTTL key
pub fn pttl(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    ttl_generic(ks, c, true, false)
}

/// EXPIRETIME key
pub fn expiretime(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    ttl_generic(ks, c, false, true)
}

/// PEXPIRETIME key
pub fn pexpiretime(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    ttl_generic(ks, c, true, true)
}

/// PERSIST key
pub fn persist(ks: &mut Keyspace, c: &mut Call<'_>) -> Frame {
    let had = ks.lookup_write(c.db, c.arg(1), c.now_ms).is_some()
        && ks
            .db(c.db)
            .is_some_and(|d| d.expire_of(c.arg(1)) != NO_EXPIRE);
    if !had {
        return reply::int(0);
    }
    if let Some(db) = ks.db_mut(c.db) {
        db.set_expire(c.arg(1), NO_EXPIRE);
    }
    ks.add_dirty(1);
    c.verbatim();
    ks.signal_modified(c.db, c.arg_bytes(1));
    reply::int(1)
}

/// The expiry commands' table rows (see [`super::spec`]).
#[rustfmt::skip]
pub const SPECS: &[Spec] = &[
    c("expire", -3, WRITE | FAST, K1, W_KS, "generic", "1.0.0", "Sets the expiration time of a key in seconds.", "O(1)", expire),
    c("pexpire", -3, WRITE | FAST, K1, W_KS, "generic", "2.6.0", "Sets the expiration time of a key in milliseconds.", "O(1)", pexpire),
    c("expireat", -3, WRITE | FAST, K1, W_KS, "generic", "1.2.0", "Sets the expiration time of a key to a Unix timestamp.", "O(1)", expireat),
    c("pexpireat", -3, WRITE | FAST, K1, W_KS, "generic", "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp.", "O(1)", pexpireat),
    c("ttl", 2, READONLY | FAST, K1, R_KS, "generic", "1.0.0", "Returns the expiration time in seconds of a key.", "O(1)", ttl),
    c("pttl", 2, READONLY | FAST, K1, R_KS, "generic", "2.6.0", "Returns the expiration time in milliseconds of a key.", "O(1)", pttl),
    c("expiretime", 2, READONLY | FAST, K1, R_KS, "generic", "7.0.0", "Returns the expiration time of a key as a Unix timestamp.", "O(1)", expiretime),
    c("pexpiretime", 2, READONLY | FAST, K1, R_KS, "generic", "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp.", "O(1)", pexpiretime),
    c("persist", 2, WRITE | FAST, K1, W_KS, "generic", "2.2.0", "Removes the expiration time of a key.", "O(1)", persist),
];
