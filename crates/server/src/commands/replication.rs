//! REPLICAOF / SLAVEOF, SYNC, PSYNC, REPLCONF, ROLE and WAIT.

use bytes::Bytes;
use keyspace::call::reply;
use keyspace::numeric::parse_i64;
use keyspace::Call;
use replication::master::ReplicaId;
use resp_codec::Frame;

use super::table::{c_srv, flag, CommandSpec};
use crate::repl::{self, drive};
use crate::server::{unix_ms, Server};
use crate::session::{ClientKind, Session};

fn client_info(sess: &Session) -> String {
    sess.handle.describe(unix_ms())
}

/// REPLICAOF host port | REPLICAOF NO ONE (also SLAVEOF)
pub fn replicaof(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    repl::flush_stream(s);
    let now = unix_ms() as u64;
    if c.arg(1).eq_ignore_ascii_case(b"no") && c.arg(2).eq_ignore_ascii_case(b"one") {
        if s.repl.is_replica {
            match s.repl.node.replica.set_no_master(now) {
                Ok(_) => {
                    drive(s);
                    tracing::info!(
                        "MASTER MODE enabled (user request from '{}')",
                        client_info(sess)
                    );
                    let _ = s.config.set("replicaof", &["no one".to_string()]);
                }
                Err(e) => return reply::err(&format!("ERR {e}")),
            }
        }
        return reply::ok();
    }
    if sess.handle.kind.get() == ClientKind::Replica {
        return reply::err_static("ERR Command is not valid when client is a replica.");
    }
    let Some(port) = parse_i64(c.arg(2)) else {
        return reply::not_int();
    };
    let Ok(port) = u16::try_from(port) else {
        return reply::err_static("ERR Invalid master port");
    };
    let host = String::from_utf8_lossy(c.arg(1)).into_owned();
    let history = s.repl.node.master.history();
    match s
        .repl
        .node
        .replica
        .set_master(now, &host, port, Some(history))
    {
        Ok(replication::replica::SetMasterOutcome::AlreadyConnected) => {
            drive(s);
            Frame::Simple(Bytes::from_static(
                b"OK Already connected to specified master",
            ))
        }
        Ok(_) => {
            drive(s);
            // Data served to blocked clients from now on is the new
            // master's: they are answered and closed, as Redis does.
            super::blocking::disconnect_all_blocked(s);
            tracing::info!(
                "REPLICAOF {host}:{port} enabled (user request from '{}')",
                client_info(sess)
            );
            let _ = s.config.set("replicaof", &[format!("{host} {port}")]);
            reply::ok()
        }
        Err(e) => reply::err(&format!("ERR {e}")),
    }
}

/// SYNC, PSYNC and REPLCONF: handed to the master machine, which answers
/// on the connection itself.
pub fn replication_command(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    repl::flush_stream(s);
    let now = unix_ms() as u64;
    let id = ReplicaId(sess.handle.id);
    s.repl.node.master.set_peer_ip(
        id,
        crate::server::unix_ms() as u64,
        &sess.handle.addr.ip().to_string(),
    );
    let is_ack =
        c.arg(0).eq_ignore_ascii_case(b"replconf") && c.arg(1).eq_ignore_ascii_case(b"ack");
    if let Err(e) = s.repl.node.master.handle_command(id, now, c.args) {
        return reply::err(&format!("ERR {e}"));
    }
    if s.repl.node.master.is_replica(id) {
        sess.handle.kind.set(ClientKind::Replica);
    }
    drive(s);
    if is_ack {
        s.repl.acks.notify_waiters();
    }
    sess.skip_reply = true;
    Frame::Null
}

/// ROLE
pub fn role(s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    repl::flush_stream(s);
    let bulk = |t: String| Frame::Bulk(Bytes::from(t));
    if s.repl.is_replica {
        let (host, port) = s
            .repl
            .node
            .replica
            .master_addr()
            .map(|(h, p)| (h.to_string(), p))
            .unwrap_or_default();
        return Frame::Array(vec![
            bulk("slave".to_string()),
            bulk(host),
            Frame::Integer(i64::from(port)),
            bulk(s.repl.node.replica.state().role_word().to_string()),
            Frame::Integer(s.repl.node.replica.role_offset()),
        ]);
    }
    let now = unix_ms() as u64;
    let replicas = s
        .repl
        .node
        .master
        .replicas(now)
        .into_iter()
        .filter(|r| r.state == replication::master::ReplicaState::Online)
        .map(|r| {
            Frame::Array(vec![
                bulk(r.ip.unwrap_or_default()),
                bulk(r.port.to_string()),
                bulk(r.ack_offset.to_string()),
            ])
        })
        .collect();
    Frame::Array(vec![
        bulk("master".to_string()),
        Frame::Integer(s.repl_offset() as i64),
        Frame::Array(replicas),
    ])
}

/// WAIT numreplicas timeout: answered at once when enough replicas have
/// acknowledged the client's writes, otherwise the connection blocks until
/// they do or the timeout passes.
pub fn wait(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    if s.repl.is_replica {
        return reply::err_static("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
    }
    let Some(numreplicas) = parse_i64(c.arg(1)) else {
        return reply::not_int();
    };
    let Some(timeout) = parse_i64(c.arg(2)) else {
        return reply::err_static("ERR timeout is not an integer or out of range");
    };
    if timeout < 0 {
        return reply::err_static("ERR timeout is negative");
    }
    repl::flush_stream(s);
    let target = sess.write_offset;
    let acked = s.repl.node.master.wait_target(target) as i64;
    if acked >= numreplicas || sess.multi_exec {
        return reply::int(acked);
    }
    s.repl
        .node
        .master
        .send_getack(crate::server::unix_ms() as u64);
    repl::drive(s);
    sess.blocked = Some(crate::session::Blocked::Wait {
        offset: target,
        numreplicas,
        deadline_ms: if timeout == 0 {
            None
        } else {
            Some(c.now_ms + timeout)
        },
    });
    Frame::Null
}

const ADMIN: u32 = flag::ADMIN | flag::NOSCRIPT | flag::STALE;

/// The replication commands.
pub const REPLICATION_COMMANDS: &[CommandSpec] = &[
    c_srv("replicaof", 3, ADMIN | flag::NO_ASYNC_LOADING, &["admin", "slow", "dangerous"], "server", "5.0.0", "Configures a server as replica of another, or promotes it to a master.", replicaof),
    c_srv("slaveof", 3, ADMIN | flag::NO_ASYNC_LOADING, &["admin", "slow", "dangerous"], "server", "1.0.0", "Sets a Redis server as a replica of another, or promotes it to being a master.", replicaof),
    c_srv("sync", 1, flag::ADMIN | flag::NOSCRIPT | flag::NO_ASYNC_LOADING | flag::NO_MULTI, &["admin", "slow", "dangerous"], "server", "1.0.0", "An internal command used in replication.", replication_command),
    c_srv("psync", -3, flag::ADMIN | flag::NOSCRIPT | flag::NO_ASYNC_LOADING | flag::NO_MULTI, &["admin", "slow", "dangerous"], "server", "2.8.0", "An internal command used in replication.", replication_command),
    c_srv("replconf", -1, flag::ADMIN | flag::NOSCRIPT | flag::LOADING | flag::STALE | flag::ALLOW_BUSY, &["admin", "slow", "dangerous"], "server", "3.0.0", "An internal command for configuring the replication stream.", replication_command),
    c_srv("role", 1, flag::NOSCRIPT | flag::LOADING | flag::STALE | flag::FAST, &["admin", "fast", "dangerous"], "server", "2.8.12", "Returns the replication role.", role),
    c_srv("wait", 3, flag::NOSCRIPT, &["slow", "connection"], "generic", "3.0.0", "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.", wait),
];
