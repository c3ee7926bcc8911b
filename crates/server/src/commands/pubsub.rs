//! Pub/sub: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH PUBSUB.
//!
//! Subscriptions live on each client's shared handle; PUBLISH encodes the
//! message once per subscriber protocol into the subscriber's push buffer
//! and wakes its connection task. A subscriber that lets its push buffer
//! grow past the pubsub output-buffer hard limit is disconnected, so a
//! slow reader cannot make the server's memory grow without bound.

use crate::config::key;
use bytes::{Bytes, BytesMut};
use keyspace::call::reply;
use keyspace::glob::glob_match;
use keyspace::Call;
use resp_codec::Frame;
use std::collections::HashMap;

use super::table::{c_srv, flag, CommandSpec};
use crate::config::Val;
use crate::server::Server;
use crate::session::{ClientHandle, Session};

fn bulk(b: &[u8]) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(b))
}

/// A subscription confirmation (`subscribe`, `unsubscribe`, ...).
fn confirm(kind: &'static str, name: Option<&[u8]>, count: usize) -> Frame {
    Frame::Push(vec![
        Frame::Bulk(Bytes::from_static(kind.as_bytes())),
        name.map_or(Frame::Null, bulk),
        reply::count(count),
    ])
}

/// Emits a list of confirmations as the reply plus extra replies.
fn confirmations(sess: &mut Session, mut frames: Vec<Frame>) -> Frame {
    if frames.is_empty() {
        return Frame::Null;
    }
    let first = frames.remove(0);
    sess.extra_replies.extend(frames);
    first
}

/// Who listens where: the server-wide side of SUBSCRIBE and PSUBSCRIBE
/// (each client's own side is in its handle).
#[derive(Debug, Default)]
pub struct Subscribers {
    /// Client ids subscribed to each channel, in subscription order.
    pub channels: HashMap<Bytes, Vec<u64>>,
    /// Client ids subscribed to each pattern, in subscription order.
    pub patterns: HashMap<Bytes, Vec<u64>>,
}

/// SUBSCRIBE channel [channel ...]
pub fn subscribe(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    if sess.multi.is_some() {
        return reply::err_static("ERR SUBSCRIBE isn't allowed for a DENY BLOCKING client");
    }
    let mut out = Vec::new();
    for i in 1..c.argc() {
        let ch = Bytes::copy_from_slice(c.arg(i));
        if sess.handle.channels.borrow_mut().insert(ch.clone()) {
            s.subscribers
                .channels
                .entry(ch.clone())
                .or_default()
                .push(sess.handle.id);
        }
        out.push(confirm(
            "subscribe",
            Some(&ch),
            sess.handle.subscription_count(),
        ));
    }
    confirmations(sess, out)
}

/// PSUBSCRIBE pattern [pattern ...]
pub fn psubscribe(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    if sess.multi.is_some() {
        return reply::err_static("ERR PSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    }
    let mut out = Vec::new();
    for i in 1..c.argc() {
        let p = Bytes::copy_from_slice(c.arg(i));
        if sess.handle.patterns.borrow_mut().insert(p.clone()) {
            s.subscribers
                .patterns
                .entry(p.clone())
                .or_default()
                .push(sess.handle.id);
        }
        out.push(confirm(
            "psubscribe",
            Some(&p),
            sess.handle.subscription_count(),
        ));
    }
    confirmations(sess, out)
}

fn forget(map: &mut std::collections::HashMap<Bytes, Vec<u64>>, name: &Bytes, id: u64) {
    if let Some(list) = map.get_mut(name) {
        list.retain(|x| *x != id);
        if list.is_empty() {
            map.remove(name);
        }
    }
}

/// UNSUBSCRIBE [channel ...]
pub fn unsubscribe(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let names: Vec<Bytes> = if c.argc() > 1 {
        (1..c.argc())
            .map(|i| Bytes::copy_from_slice(c.arg(i)))
            .collect()
    } else {
        sess.handle.channels.borrow().iter().cloned().collect()
    };
    if names.is_empty() {
        return confirm("unsubscribe", None, sess.handle.subscription_count());
    }
    let mut out = Vec::new();
    for ch in names {
        if sess.handle.channels.borrow_mut().shift_remove(&ch) {
            forget(&mut s.subscribers.channels, &ch, sess.handle.id);
        }
        out.push(confirm(
            "unsubscribe",
            Some(&ch),
            sess.handle.subscription_count(),
        ));
    }
    confirmations(sess, out)
}

/// PUNSUBSCRIBE [pattern ...]
pub fn punsubscribe(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let names: Vec<Bytes> = if c.argc() > 1 {
        (1..c.argc())
            .map(|i| Bytes::copy_from_slice(c.arg(i)))
            .collect()
    } else {
        sess.handle.patterns.borrow().iter().cloned().collect()
    };
    if names.is_empty() {
        return confirm("punsubscribe", None, sess.handle.subscription_count());
    }
    let mut out = Vec::new();
    for p in names {
        if sess.handle.patterns.borrow_mut().shift_remove(&p) {
            forget(&mut s.subscribers.patterns, &p, sess.handle.id);
        }
        out.push(confirm(
            "punsubscribe",
            Some(&p),
            sess.handle.subscription_count(),
        ));
    }
    confirmations(sess, out)
}

/// Drops every subscription of a disconnecting client.
pub fn forget_client(s: &mut Server, handle: &ClientHandle) {
    for ch in std::mem::take(&mut *handle.channels.borrow_mut()) {
        forget(&mut s.subscribers.channels, &ch, handle.id);
    }
    for p in std::mem::take(&mut *handle.patterns.borrow_mut()) {
        forget(&mut s.subscribers.patterns, &p, handle.id);
    }
}

fn deliver(s: &Server, id: u64, frame: &Frame, limit: u64) -> bool {
    let Some(h) = s.clients.get(id) else {
        return false;
    };
    let proto = h.proto.get();
    let mut buf = h.pushes.borrow_mut();
    frame.encode(proto, &mut buf);
    if limit > 0 && buf.len() as u64 > limit {
        tracing::warn!(
            "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
            h.id,
            h.addr
        );
        *buf = BytesMut::new();
        h.kill();
    } else {
        h.wake.notify_one();
    }
    true
}

/// PUBLISH channel message
pub fn publish(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let (ch, msg) = (c.arg_bytes(1), c.arg_bytes(2));
    let limit = match s.config.value(key::CLIENT_OUTPUT_BUFFER_LIMIT) {
        Some(Val::Obl(l)) => l[2].0,
        _ => 0,
    };
    let mut receivers = 0;
    if let Some(ids) = s.subscribers.channels.get(&ch) {
        let frame = Frame::Push(vec![
            Frame::Bulk(Bytes::from_static(b"message")),
            Frame::Bulk(ch.clone()),
            Frame::Bulk(msg.clone()),
        ]);
        for id in ids {
            if deliver(s, *id, &frame, limit) {
                receivers += 1;
            }
        }
    }
    for (pattern, ids) in &s.subscribers.patterns {
        if !glob_match(pattern, &ch, false) {
            continue;
        }
        let frame = Frame::Push(vec![
            Frame::Bulk(Bytes::from_static(b"pmessage")),
            Frame::Bulk(pattern.clone()),
            Frame::Bulk(ch.clone()),
            Frame::Bulk(msg.clone()),
        ]);
        for id in ids {
            if deliver(s, *id, &frame, limit) {
                receivers += 1;
            }
        }
    }
    reply::int(receivers)
}

/// PUBSUB CHANNELS [pattern]
pub fn channels(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    if c.argc() > 3 {
        return super::subcommand_syntax_error(c, "PUBSUB");
    }
    let pattern = (c.argc() > 2).then(|| c.arg(2));
    let mut names: Vec<&Bytes> = s
        .subscribers
        .channels
        .keys()
        .filter(|ch| pattern.is_none_or(|p| glob_match(p, ch, false)))
        .collect();
    names.sort();
    Frame::Array(names.into_iter().map(|n| Frame::Bulk(n.clone())).collect())
}

/// PUBSUB NUMSUB [channel ...]
pub fn numsub(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    // A flat array even in RESP3, as Redis 7.0 replies.
    let mut out = Vec::new();
    for i in 2..c.argc() {
        out.push(Frame::Bulk(c.arg_bytes(i)));
        out.push(reply::count(
            s.subscribers.channels.get(c.arg(i)).map_or(0, Vec::len),
        ));
    }
    Frame::Array(out)
}

/// PUBSUB NUMPAT
pub fn numpat(s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    reply::count(s.subscribers.patterns.len())
}

/// PUBSUB SHARDCHANNELS / SHARDNUMSUB: no sharded channels outside a cluster.
pub fn shard_empty(_s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    if c.arg(1).eq_ignore_ascii_case(b"shardnumsub") {
        Frame::Array(
            (2..c.argc())
                .flat_map(|i| [Frame::Bulk(c.arg_bytes(i)), reply::int(0)])
                .collect(),
        )
    } else {
        Frame::Array(Vec::new())
    }
}

/// PUBSUB HELP
pub fn help(_s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    super::generic::help_lines(&[
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Print this help.",
    ])
}

const PS: u32 = flag::PUBSUB | flag::NOSCRIPT | flag::LOADING | flag::STALE;
const ACL: &[&str] = &["pubsub", "slow"];
const SUB: u32 = flag::PUBSUB | flag::LOADING | flag::STALE;

/// PUBSUB's subcommands.
pub const PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    c_srv(
        "channels",
        -2,
        SUB,
        ACL,
        "pubsub",
        "2.8.0",
        "Returns the active channels.",
        channels,
    ),
    c_srv(
        "help",
        2,
        flag::LOADING | flag::STALE,
        &["slow"],
        "pubsub",
        "6.2.0",
        "Returns helpful text about the different subcommands.",
        help,
    ),
    c_srv(
        "numpat",
        2,
        SUB,
        ACL,
        "pubsub",
        "2.8.0",
        "Returns a count of unique pattern subscriptions.",
        numpat,
    ),
    c_srv(
        "numsub",
        -2,
        SUB,
        ACL,
        "pubsub",
        "2.8.0",
        "Returns a count of subscribers to channels.",
        numsub,
    ),
    c_srv(
        "shardchannels",
        -2,
        SUB,
        ACL,
        "pubsub",
        "7.0.0",
        "Returns the active shard channels.",
        shard_empty,
    ),
    c_srv(
        "shardnumsub",
        -2,
        SUB,
        ACL,
        "pubsub",
        "7.0.0",
        "Returns the count of subscribers of shard channels.",
        shard_empty,
    ),
];

/// The pub/sub commands.
pub const PUBSUB_COMMANDS: &[CommandSpec] = &[
    c_srv(
        "subscribe",
        -2,
        PS,
        ACL,
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels.",
        subscribe,
    ),
    c_srv(
        "unsubscribe",
        -1,
        PS,
        ACL,
        "pubsub",
        "2.0.0",
        "Stops listening to messages posted to channels.",
        unsubscribe,
    ),
    c_srv(
        "psubscribe",
        -2,
        PS,
        ACL,
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels that match one or more patterns.",
        psubscribe,
    ),
    c_srv(
        "punsubscribe",
        -1,
        PS,
        ACL,
        "pubsub",
        "2.0.0",
        "Stops listening to messages published to channels that match one or more patterns.",
        punsubscribe,
    ),
    c_srv(
        "publish",
        3,
        flag::PUBSUB | flag::LOADING | flag::STALE | flag::FAST | flag::MAY_REPLICATE,
        &["pubsub", "fast"],
        "pubsub",
        "2.0.0",
        "Posts a message to a channel.",
        publish,
    ),
    super::table::c_container(
        "pubsub",
        -2,
        "pubsub",
        "2.8.0",
        "A container for Pub/Sub commands.",
        PUBSUB_SUBCOMMANDS,
    ),
];
