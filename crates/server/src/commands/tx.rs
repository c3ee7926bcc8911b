//! Transactions: MULTI EXEC DISCARD WATCH UNWATCH.
//!
//! Requests between MULTI and EXEC are checked (command, arity) and queued;
//! a request refused while queueing makes EXEC fail with EXECABORT. WATCH
//! registers the client under each key; any change to a watched key (a
//! write, an expiry, a FLUSH) sets the client's flag and EXEC then returns
//! a null array. EXEC's effects reach replicas as one MULTI/EXEC block.

use std::cell::Cell;

use bytes::Bytes;
use keyspace::call::reply;
use keyspace::Call;
use resp_codec::Frame;

use super::table::{c_srv, flag, CommandSpec};
use crate::server::Server;
use crate::session::{Multi, Session};

/// MULTI
pub fn multi(_s: &mut Server, sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    if sess.multi.is_some() {
        return reply::err_static("ERR MULTI calls can not be nested");
    }
    sess.multi = Some(Multi::default());
    reply::ok()
}

/// Forgets every watched key of the session.
pub fn unwatch_all(s: &mut Server, sess: &mut Session) {
    let id = sess.handle.id;
    for (db, key, _) in sess.watched.drain(..) {
        s.ks.unwatch_key(db, &key);
        let k = (db, key);
        if let Some(list) = s.watchers.get_mut(&k) {
            list.retain(|w| w.id != id);
            if list.is_empty() {
                s.watchers.remove(&k);
            }
        }
    }
    sess.watch_dirty.set(false);
}

/// EXEC
pub fn exec(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let Some(multi) = sess.multi.take() else {
        return reply::err_static("ERR EXEC without MULTI");
    };
    // A watched key that existed at WATCH time and has since expired counts
    // as modified, as in Redis 7.
    let expired = sess.watched.iter().any(|(db, key, existed)| {
        *existed && s.ks.db(*db).is_some_and(|d| d.is_expired(key, c.now_ms))
    });
    let dirty = sess.watch_dirty.get() || expired;
    unwatch_all(s, sess);
    if multi.refused {
        return reply::err_static("EXECABORT Transaction discarded because of previous errors.");
    }
    if dirty {
        return Frame::NullArray;
    }
    let mut replies = Vec::with_capacity(multi.queue.len());
    sess.multi_exec = true;
    for args in &multi.queue {
        let r = match super::resolve_queued(s, args) {
            Some(spec) => super::run(s, sess, spec, args, c.now_ms),
            None => super::unknown_command(args),
        };
        if let Frame::Error(msg) = &r {
            s.stats.count_error(msg);
        }
        replies.push(r);
    }
    sess.multi_exec = false;
    Frame::Array(replies)
}

/// DISCARD
pub fn discard(s: &mut Server, sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    if sess.multi.take().is_none() {
        return reply::err_static("ERR DISCARD without MULTI");
    }
    unwatch_all(s, sess);
    reply::ok()
}

/// WATCH key [key ...]
pub fn watch(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    if sess.multi.is_some() {
        return reply::err_static("ERR WATCH inside MULTI is not allowed");
    }
    for i in 1..c.argc() {
        let key = Bytes::copy_from_slice(c.arg(i));
        if sess
            .watched
            .iter()
            .any(|(db, k, _)| *db == sess.db() && *k == key)
        {
            continue;
        }
        let db = s.ks.db(sess.db());
        let existed = db.and_then(|d| d.peek(&key, c.now_ms)).is_some();
        let stale = !existed && db.is_some_and(|d| d.get_raw(&key).is_some());
        s.ks.watch_key(sess.db(), key.clone());
        s.watchers
            .entry((sess.db(), key.clone()))
            .or_default()
            .push(crate::server::Watcher {
                id: sess.handle.id,
                dirty: sess.watch_dirty.clone(),
                existed,
                stale: Cell::new(stale),
            });
        sess.watched.push((sess.db(), key, existed));
    }
    reply::ok()
}

/// UNWATCH
pub fn unwatch(s: &mut Server, sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    unwatch_all(s, sess);
    reply::ok()
}

const TX: &[&str] = &["fast", "transaction"];
const F: u32 = flag::NOSCRIPT | flag::LOADING | flag::STALE | flag::FAST | flag::ALLOW_BUSY;

/// The transaction commands.
pub const TX_COMMANDS: &[CommandSpec] = &[
    c_srv(
        "multi",
        1,
        F,
        TX,
        "transactions",
        "1.2.0",
        "Starts a transaction.",
        multi,
    ),
    c_srv(
        "exec",
        1,
        flag::NOSCRIPT | flag::LOADING | flag::STALE | flag::SKIP_SLOWLOG,
        &["slow", "transaction"],
        "transactions",
        "1.2.0",
        "Executes all commands in a transaction.",
        exec,
    ),
    c_srv(
        "discard",
        1,
        F,
        TX,
        "transactions",
        "2.0.0",
        "Discards a transaction.",
        discard,
    ),
    c_srv(
        "watch",
        -2,
        F,
        TX,
        "transactions",
        "2.2.0",
        "Monitors changes to keys to determine the execution of a transaction.",
        watch,
    ),
    c_srv(
        "unwatch",
        1,
        F,
        TX,
        "transactions",
        "2.2.0",
        "Forgets about watched keys of a transaction.",
        unwatch,
    ),
];
