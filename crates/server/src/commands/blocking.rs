//! Blocking pops: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX
//! BZMPOP.
//!
//! A command that finds nothing to pop registers the client under each of
//! its keys (first come, first served) and the connection waits. When a
//! write touches such a key, the server serves the waiting clients in
//! order right after that command, exactly once each, and propagates what
//! it did as the non-blocking form (LPOP, LMOVE, ZPOPMIN...), so replicas
//! never see a blocking command. Inside MULTI the commands never block.

use std::collections::VecDeque;

use bytes::Bytes;
use keyspace::call::reply;
use keyspace::cmd::lists::{self, End};
use keyspace::cmd::zsets::{self, ZEnd};
use keyspace::{Call, Propagate};
use resp_codec::Frame;

use super::table::{c_keys, flag, CommandSpec};
use crate::server::{unix_ms, Server};
use crate::session::{Blocked, Session};

/// What a blocked client will do once one of its keys has data.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockOp {
    /// BLPOP / BRPOP / BLMPOP: pop `count` (None: the one-element form).
    ListPop {
        /// Which end.
        end: End,
        /// BLMPOP's count.
        count: Option<usize>,
    },
    /// BLMOVE / BRPOPLPUSH from the key to `dst`.
    ListMove {
        /// Destination list.
        dst: Bytes,
        /// Ends (from, to).
        ends: (End, End),
        /// Propagate as RPOPLPUSH.
        rpoplpush: bool,
    },
    /// BZPOPMIN / BZPOPMAX / BZMPOP.
    ZPop {
        /// Which end.
        end: ZEnd,
        /// BZMPOP's count.
        count: Option<usize>,
    },
}

/// A blocked client's registration.
#[derive(Debug, Clone)]
pub struct BlockedClient {
    /// Database of the keys.
    pub db: usize,
    /// Keys it waits on.
    pub keys: Vec<Bytes>,
    /// What to do when served.
    pub op: BlockOp,
}

/// Clients blocked on keys.
#[derive(Debug, Default)]
pub struct Blocking {
    /// Clients waiting on each (database, key), oldest first.
    pub by_key: std::collections::HashMap<(usize, Bytes), VecDeque<u64>>,
    /// Registration of each blocked client.
    pub clients: std::collections::HashMap<u64, BlockedClient>,
    /// Keys written since the last serving pass.
    pub ready: Vec<(usize, Bytes)>,
}

impl Blocking {
    /// Whether anyone is blocked.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Notes that a key was written, if anyone waits on it.
    pub fn signal(&mut self, db: usize, key: &Bytes) {
        let k = (db, key.clone());
        if self.by_key.contains_key(&k) && !self.ready.contains(&k) {
            self.ready.push(k);
        }
    }

    /// Removes a client from every key it waits on.
    pub fn unblock(&mut self, id: u64) -> Option<BlockedClient> {
        let b = self.clients.remove(&id)?;
        for key in &b.keys {
            let k = (b.db, key.clone());
            if let Some(q) = self.by_key.get_mut(&k) {
                q.retain(|x| *x != id);
                if q.is_empty() {
                    self.by_key.remove(&k);
                }
            }
        }
        Some(b)
    }
}

/// Parses a timeout in seconds (decimals allowed) into an absolute
/// deadline; 0 means forever.
fn deadline(raw: &[u8], now_ms: i64) -> Result<Option<i64>, Frame> {
    let secs: f64 = std::str::from_utf8(raw)
        .ok()
        .and_then(|t| t.parse().ok())
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| reply::err_static("ERR timeout is not a float or out of range"))?;
    if secs < 0.0 {
        return Err(reply::err_static("ERR timeout is negative"));
    }
    if secs == 0.0 {
        return Ok(None);
    }
    Ok(Some(now_ms.saturating_add((secs * 1000.0) as i64)))
}

/// The reply a client gets when its timeout passes.
pub fn timeout_reply(op: &BlockOp) -> Frame {
    match op {
        BlockOp::ListMove { .. } => Frame::Null,
        _ => Frame::NullArray,
    }
}

/// Tries to serve `op` from `key` now.
fn try_serve(
    s: &mut Server,
    db: usize,
    key: &Bytes,
    op: &BlockOp,
    now: i64,
) -> Option<Result<lists::Served, Frame>> {
    match op {
        BlockOp::ListPop { end, count } => {
            lists::pop_for_blocked(&mut s.ks, db, now, key, *end, *count).map(Ok)
        }
        BlockOp::ListMove {
            dst,
            ends,
            rpoplpush,
        } => match lists::move_for_blocked(&mut s.ks, db, now, key, dst, *ends, *rpoplpush) {
            Ok(Some(x)) => Some(Ok(x)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        },
        BlockOp::ZPop { end, count } => {
            zsets::pop_for_blocked(&mut s.ks, db, now, key, *end, *count).map(Ok)
        }
    }
}

/// Serves clients blocked on keys written since the last pass, oldest
/// first, and propagates what they took. Called after every request.
pub fn serve_ready(s: &mut Server) {
    let now = unix_ms();
    while !s.blocking.ready.is_empty() {
        let ready = std::mem::take(&mut s.blocking.ready);
        for (db, key) in ready {
            loop {
                let Some(&id) = s
                    .blocking
                    .by_key
                    .get(&(db, key.clone()))
                    .and_then(|q| q.front())
                else {
                    break;
                };
                let Some(op) = s.blocking.clients.get(&id).map(|b| b.op.clone()) else {
                    break;
                };
                let Some(result) = try_serve(s, db, &key, &op, now) else {
                    break;
                };
                s.blocking.unblock(id);
                let reply = match result {
                    Ok(served) => {
                        s.ks.add_dirty(1);
                        s.record_served(db, served.propagate);
                        served.reply
                    }
                    Err(e) => e,
                };
                if let Some(h) = s.clients.get(id) {
                    *h.unblocked.borrow_mut() = Some(reply);
                    h.wake.notify_one();
                }
            }
        }
        s.flush_propagation();
    }
}

fn block_or_serve(
    s: &mut Server,
    sess: &mut Session,
    c: &mut Call<'_>,
    keys: Vec<Bytes>,
    op: BlockOp,
    deadline: Option<i64>,
) -> Frame {
    for key in &keys {
        match try_serve(s, c.db, key, &op, c.now_ms) {
            Some(Ok(served)) => {
                c.propagate = Propagate::Rewritten(vec![served.propagate]);
                return served.reply;
            }
            Some(Err(e)) => return e,
            None => {}
        }
    }
    // A key of the wrong type is an error even when nothing can be served.
    for key in &keys {
        let wrong = match (&op, s.ks.db(c.db).and_then(|d| d.peek(key, c.now_ms))) {
            (BlockOp::ZPop { .. }, Some(e)) => e.value.value_type() != keyspace::ValueType::ZSet,
            (_, Some(e)) => e.value.value_type() != keyspace::ValueType::List,
            _ => false,
        };
        if wrong {
            return reply::wrongtype();
        }
    }
    if sess.multi_exec {
        return timeout_reply(&op);
    }
    let id = sess.handle.id;
    for key in &keys {
        let q = s.blocking.by_key.entry((c.db, key.clone())).or_default();
        if !q.contains(&id) {
            q.push_back(id);
        }
    }
    s.blocking
        .clients
        .insert(id, BlockedClient { db: c.db, keys, op });
    sess.blocked = Some(Blocked::Keys {
        deadline_ms: deadline,
    });
    Frame::Null
}

fn owned(args: &[Bytes]) -> Vec<Bytes> {
    args.iter().map(|a| Bytes::copy_from_slice(a)).collect()
}

fn bpop(s: &mut Server, sess: &mut Session, c: &mut Call<'_>, end: End) -> Frame {
    let d = match deadline(c.arg(c.argc() - 1), c.now_ms) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let keys = owned(&c.args[1..c.argc() - 1]);
    block_or_serve(s, sess, c, keys, BlockOp::ListPop { end, count: None }, d)
}

/// BLPOP key [key ...] timeout
pub fn blpop(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    bpop(s, sess, c, End::Left)
}

/// BRPOP key [key ...] timeout
pub fn brpop(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    bpop(s, sess, c, End::Right)
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
pub fn blmove(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let (from, to) = match (End::parse(c.arg(3)), End::parse(c.arg(4))) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let d = match deadline(c.arg(5), c.now_ms) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let op = BlockOp::ListMove {
        dst: c.arg_bytes(2),
        ends: (from, to),
        rpoplpush: false,
    };
    block_or_serve(s, sess, c, owned(&c.args[1..2]), op, d)
}

/// BRPOPLPUSH source destination timeout
pub fn brpoplpush(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let d = match deadline(c.arg(3), c.now_ms) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let op = BlockOp::ListMove {
        dst: c.arg_bytes(2),
        ends: (End::Right, End::Left),
        rpoplpush: true,
    };
    block_or_serve(s, sess, c, owned(&c.args[1..2]), op, d)
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
pub fn blmpop(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let d = match deadline(c.arg(1), c.now_ms) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let (keys, end, count) = match lists::parse_mpop(c, 2) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let keys = owned(keys);
    block_or_serve(
        s,
        sess,
        c,
        keys,
        BlockOp::ListPop {
            end,
            count: Some(count),
        },
        d,
    )
}

fn bzpop(s: &mut Server, sess: &mut Session, c: &mut Call<'_>, end: ZEnd) -> Frame {
    let d = match deadline(c.arg(c.argc() - 1), c.now_ms) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let keys = owned(&c.args[1..c.argc() - 1]);
    block_or_serve(s, sess, c, keys, BlockOp::ZPop { end, count: None }, d)
}

/// BZPOPMIN key [key ...] timeout
pub fn bzpopmin(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    bzpop(s, sess, c, ZEnd::Min)
}

/// BZPOPMAX key [key ...] timeout
pub fn bzpopmax(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    bzpop(s, sess, c, ZEnd::Max)
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
pub fn bzmpop(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let d = match deadline(c.arg(1), c.now_ms) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let (keys, end, count) = match zsets::parse_zmpop(c, 2) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let keys = owned(keys);
    block_or_serve(
        s,
        sess,
        c,
        keys,
        BlockOp::ZPop {
            end,
            count: Some(count),
        },
        d,
    )
}

const W: u32 = flag::WRITE | flag::NOSCRIPT | flag::BLOCKING;
const LIST: &[&str] = &["write", "list", "slow", "blocking"];
const ZSET: &[&str] = &["write", "sortedset", "fast", "blocking"];

/// The blocking commands.
pub const BLOCKING_COMMANDS: &[CommandSpec] = &[
    c_keys("blpop", -3, W, (1, -2, 1), LIST, "list", "2.0.0", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", blpop),
    c_keys("brpop", -3, W, (1, -2, 1), LIST, "list", "2.0.0", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", brpop),
    c_keys("blmove", 6, W | flag::DENYOOM, (1, 2, 1), LIST, "list", "6.2.0", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", blmove),
    c_keys("brpoplpush", 4, W | flag::DENYOOM, (1, 2, 1), LIST, "list", "2.2.0", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", brpoplpush),
    c_keys("blmpop", -5, W, (0, 0, 0), LIST, "list", "7.0.0", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", blmpop),
    c_keys("bzpopmin", -3, W | flag::FAST, (1, -2, 1), ZSET, "sorted-set", "5.0.0", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.", bzpopmin),
    c_keys("bzpopmax", -3, W | flag::FAST, (1, -2, 1), ZSET, "sorted-set", "5.0.0", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.", bzpopmax),
    c_keys("bzmpop", -5, W, (0, 0, 0), ZSET, "sorted-set", "7.0.0", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", bzmpop),
];

/// Answers every client blocked in a pop or in WAIT with `-UNBLOCKED` and
/// closes it: the node just became a replica (Redis's
/// `disconnectAllBlockedClients`). Clients held by CLIENT PAUSE are left
/// alone; their command has not started.
pub fn disconnect_all_blocked(s: &mut Server) {
    let reply = Frame::Error(Bytes::from_static(
        b"UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)",
    ));
    let ids: Vec<u64> = s.blocking.clients.keys().copied().collect();
    for id in &ids {
        s.blocking.unblock(*id);
    }
    for h in s.clients.values() {
        if ids.contains(&h.id) || h.in_wait.get() {
            *h.unblocked.borrow_mut() = Some(reply.clone());
            h.close_after_flush.set(true);
            h.wake.notify_one();
        }
    }
}
