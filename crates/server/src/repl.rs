//! Replication in the server: drives the sans-IO `replication` machines.
//!
//! Every node has one [`Master`] (its replication IDs, offset, backlog and
//! sub-replicas) and one [`Replica`] (its link to its own master, idle on
//! a master). The server feeds them what happens (commands, socket data,
//! time) and carries out their actions: bytes to sockets, snapshots by
//! fork, commands applied to the keyspace, the data set swapped after a
//! full sync. Replica actions pass through `Master::handle_upstream` first,
//! which is how a replica serves its own replicas the exact stream it
//! receives (chained replication).

use crate::config::key;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use replication::master::{self, Master, MasterConfig, OutputBufferLimit, ReplicaId, SnapshotId};
use replication::repl_backlog::{ReplId, ReplicationIds};
use replication::replica::{self, Replica, ReplicaConfig};
use replication::{Event, Level, Node, NodeHistory};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::config::{Config, Val};
use crate::server::{unix_ms, Server};
use crate::session::{ClientHandle, ClientKind, Session};

/// Replication state owned by the server.
pub struct Repl {
    /// Both replication machines (the master side: IDs, offset, backlog,
    /// sub-replicas; the replica side: the link to this node's master),
    /// routed by [`Node::poll`] as in the simulator.
    pub node: Node,
    /// Whether a master is configured (role `slave`).
    pub is_replica: bool,
    /// Whether the link to the master is up.
    pub link_up: bool,
    /// Generation of the master link; a link task whose generation is not
    /// current closes its socket.
    link_gen: u64,
    /// Bytes waiting to be written to the master socket.
    link_out: BytesMut,
    /// Wakes the master link task.
    link_wake: Rc<Notify>,
    /// A full sync being received (see [`crate::sync_load`]).
    pub incoming: Option<crate::sync_load::Incoming>,
    /// Why the full sync being received cannot be loaded.
    pub incoming_error: Option<String>,
    /// The session that applies the master's commands (Redis's master
    /// client): it exists while the link is up after a sync.
    master_session: Option<Session>,
    /// The database the master's stream has selected. It outlives the
    /// master session, as Redis's cached master does: a master continuing
    /// with `+CONTINUE` does not send SELECT again.
    master_db: usize,
    /// Peer and local addresses of the master socket, for CLIENT LIST.
    link_addrs: Option<(std::net::SocketAddr, std::net::SocketAddr)>,
    /// Snapshot children by snapshot.
    snapshots: HashMap<SnapshotId, i32>,
    /// Notified when a replica acknowledges (WAIT).
    pub acks: Rc<Notify>,
    /// The server itself, for spawning tasks.
    me: Weak<RefCell<Server>>,
}

impl std::fmt::Debug for Repl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repl")
            .field("is_replica", &self.is_replica)
            .field("link_up", &self.link_up)
            .finish_non_exhaustive()
    }
}

fn seed() -> u64 {
    let b = crate::server::random_bytes();
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// Master-side settings from the configuration.
pub fn master_config(cfg: &Config) -> MasterConfig {
    let u = |name: key::Number| u64::try_from(cfg.int(name)).unwrap_or(0);
    let obl = match cfg.value(key::CLIENT_OUTPUT_BUFFER_LIMIT) {
        Some(Val::Obl(l)) => OutputBufferLimit {
            hard_bytes: l[1].0,
            soft_bytes: l[1].1,
            soft_seconds: l[1].2,
        },
        _ => OutputBufferLimit::default(),
    };
    MasterConfig {
        backlog_size: usize::try_from(cfg.int(key::REPL_BACKLOG_SIZE))
            .unwrap_or(1 << 20)
            .max(16 * 1024),
        backlog_ttl_secs: u(key::REPL_BACKLOG_TTL),
        repl_timeout_secs: u(key::REPL_TIMEOUT).max(1),
        ping_replica_period_secs: u(key::REPL_PING_REPLICA_PERIOD).max(1),
        diskless_sync: cfg.bool(key::REPL_DISKLESS_SYNC),
        diskless_sync_delay_secs: u(key::REPL_DISKLESS_SYNC_DELAY),
        diskless_sync_max_replicas: usize::try_from(cfg.int(key::REPL_DISKLESS_SYNC_MAX_REPLICAS))
            .unwrap_or(0),
        output_buffer_limit: obl,
        min_replicas_to_write: usize::try_from(cfg.int(key::MIN_REPLICAS_TO_WRITE)).unwrap_or(0),
        min_replicas_max_lag_secs: u(key::MIN_REPLICAS_MAX_LAG),
    }
}

/// Replica-side settings from the configuration.
pub fn replica_config(cfg: &Config, port: u16) -> ReplicaConfig {
    let opt = |name: key::Setting| {
        let v = cfg.str(name);
        (!v.is_empty()).then(|| Bytes::from(v))
    };
    let announce_port = u16::try_from(cfg.int(key::REPLICA_ANNOUNCE_PORT)).unwrap_or(0);
    ReplicaConfig {
        listening_port: if announce_port != 0 {
            announce_port
        } else {
            port
        },
        announce_ip: {
            let v = cfg.str(key::REPLICA_ANNOUNCE_IP);
            (!v.is_empty()).then_some(v)
        },
        master_user: opt(key::MASTERUSER),
        master_auth: opt(key::MASTERAUTH),
        repl_timeout_secs: u64::try_from(cfg.int(key::REPL_TIMEOUT))
            .unwrap_or(60)
            .max(1),
        load_to_parser: false,
    }
}

impl Repl {
    /// Fresh replication state with a new random ID.
    pub fn new(cfg: &Config, port: u16) -> Self {
        let now = unix_ms() as u64;
        Repl {
            node: Node::new(
                Master::new(master_config(cfg), seed(), now),
                Replica::new(replica_config(cfg, port), seed()),
            ),
            is_replica: false,
            link_up: false,
            link_gen: 0,
            link_out: BytesMut::new(),
            link_wake: Rc::new(Notify::new()),
            incoming: None,
            incoming_error: None,
            master_session: None,
            master_db: 0,
            link_addrs: None,
            snapshots: HashMap::new(),
            acks: Rc::new(Notify::new()),
            me: Weak::new(),
        }
    }

    /// The server, for tasks that outlive a borrow of it.
    pub fn server(&self) -> Option<Rc<RefCell<Server>>> {
        self.me.upgrade()
    }

    /// Gives the state a handle on the server, for spawning its tasks.
    pub fn set_server(&mut self, me: Weak<RefCell<Server>>) {
        self.me = me;
    }

    /// Continues the replication history stored in a dump file (a clean
    /// restart keeps partial resynchronization possible).
    ///
    /// A replica takes the file's ID and offset as its cached master. A
    /// master starts a fresh ID and keeps the file's as its secondary ID,
    /// valid up to the file's offset, as Redis 7.0 does: a replica that
    /// was ahead of the snapshot holds history this master no longer has,
    /// so it must not continue under the old ID.
    pub fn restore_history(&mut self, cfg: &Config, replid: &str, offset: i64, as_replica: bool) {
        let Ok(id) = ReplId::parse_bytes(replid.as_bytes()) else {
            return;
        };
        let Ok(offset) = u64::try_from(offset) else {
            return;
        };
        let ids = if as_replica {
            ReplicationIds::from_parts(id, ReplId::NONE, -1)
        } else {
            let fresh = ReplId::from_random(crate::server::random_bytes());
            ReplicationIds::from_parts(fresh, id, offset as i64 + 1)
        };
        let history = NodeHistory { ids, offset };
        let mcfg = master_config(cfg);
        // A master keeps serving its history: an empty backlog starting at
        // the stored offset lets its replicas continue with "+CONTINUE"
        // and zero bytes to send, as Redis does after a restart.
        let backlog = if as_replica {
            None
        } else {
            replication::repl_backlog::Backlog::new(mcfg.backlog_size, offset).ok()
        };
        if let Ok(m) = Master::from_history(mcfg, seed(), unix_ms() as u64, history, backlog) {
            self.node.master = m;
        }
        if as_replica {
            let _ = self.node.replica.set_cached_master(id, offset);
        }
    }

    /// The database the master's stream has selected, as a snapshot's
    /// `repl-stream-db` records it on a replica.
    pub fn master_db(&self) -> usize {
        self.master_session
            .as_ref()
            .map_or(self.master_db, |s| s.db())
    }

    /// Sets the database the master's stream continues in (from a dump
    /// file's `repl-stream-db` at start-up).
    pub fn set_master_db(&mut self, db: usize) {
        self.master_db = db;
    }

    /// Whether a snapshot child for replicas is running.
    pub fn snapshot_running(&self) -> bool {
        !self.snapshots.is_empty()
    }

    /// Whether this node's own writes make its stream: a master with a
    /// backlog (a replica forwards its master's bytes instead, and without
    /// a backlog nobody can read the stream).
    pub fn active(&self) -> bool {
        !self.is_replica && self.node.master.backlog().is_some()
    }
}

fn log(level: Level, msg: String) {
    match level {
        Level::Warning => tracing::warn!("{msg}"),
        Level::Notice => tracing::info!("{msg}"),
        Level::Verbose => tracing::debug!("{msg}"),
        Level::Debug => tracing::trace!("{msg}"),
    }
}

fn client(s: &Server, id: ReplicaId) -> Option<Rc<ClientHandle>> {
    s.clients.get(id.0).cloned()
}

/// Hands the batched writes to the AOF buffer and the master machine
/// (backlog and replica streams). Called at the end of every connection
/// batch, and before anything that reads or depends on the master offset
/// (replication commands, WAIT, snapshots), so the stream and the data
/// never disagree.
pub fn flush_stream(s: &mut Server) {
    if s.deliver_stream() {
        drive(s);
    }
}

/// Carries out every pending action of both machines, until none is left.
pub fn drive(s: &mut Server) {
    let now = unix_ms() as u64;
    let mut pending_report: Vec<ReplicaId> = Vec::new();
    loop {
        let mut progressed = false;
        let mut wrote = false;
        while let Some(event) = s.repl.node.poll(now) {
            match event {
                Event::Log(level, msg) => log(level, msg),
                Event::Replica(a) => {
                    progressed = true;
                    replica_action(s, a, now);
                }
                Event::Master(a) => {
                    progressed = true;
                    master_action(s, a, now, &mut pending_report);
                }
                Event::Transmit(b) => {
                    s.repl.link_out.extend_from_slice(&b);
                    wrote = true;
                }
            }
        }
        if wrote {
            s.repl.link_wake.notify_one();
        }
        // Bytes queued for replicas' sockets: the master side learns how
        // much each one has pending (output-buffer limits).
        for id in pending_report.drain(..) {
            if let Some(h) = client(s, id) {
                let pending = h.pushes.borrow().len() as u64;
                s.repl.node.master.handle_replica_pending(id, now, pending);
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
}

fn master_action(s: &mut Server, a: master::Action, now: u64, report: &mut Vec<ReplicaId>) {
    match a {
        master::Action::SendToReplica { id, bytes } => {
            if let Some(h) = client(s, id) {
                h.pushes.borrow_mut().extend_from_slice(&bytes);
                h.wake.notify_one();
                if !report.contains(&id) {
                    report.push(id);
                }
            }
        }
        master::Action::CloseReplica { id } => {
            if let Some(h) = client(s, id) {
                h.close_after_flush.set(true);
                h.wake.notify_one();
            }
        }
        master::Action::StartSnapshot {
            id, diskless: true, ..
        } => start_snapshot(s, id, now),
        master::Action::StartSnapshot { id, .. } => start_disk_snapshot(s, id, now),
        master::Action::SendSnapshotFile { id, snapshot: _ } => {
            // The snapshot is the dump file the child just renamed into
            // place; opened now, before anything can replace it.
            let path = crate::persist::dump_path(&s.config.str(key::DBFILENAME));
            match std::fs::File::open(&path) {
                Ok(file) => {
                    if let Some(me) = s.repl.me.upgrade() {
                        tokio::task::spawn_local(send_snapshot_file(me, id, file));
                    }
                }
                Err(e) => {
                    tracing::warn!("SYNC failed. Can't open/stat DB after BGSAVE: {e}");
                    if let Some(h) = client(s, id) {
                        h.close_after_flush.set(true);
                        h.wake.notify_one();
                    }
                }
            }
        }
        master::Action::AbortSnapshot { id } => {
            if let Some(pid) = s.repl.snapshots.remove(&id) {
                crate::fork::kill_child(pid);
                let _ = std::fs::remove_file(format!("temp-{pid}.rdb"));
            }
        }
        master::Action::ForceSelect => s.prop.force_select(),
    }
}

/// Forks a child that writes the snapshot into a pipe; a task relays the
/// pipe to the master machine, which relays it to the replicas.
fn start_snapshot(s: &mut Server, id: SnapshotId, now: u64) {
    let (rd, wr) = match crate::fork::pipe() {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("Can't create the pipe for the replication snapshot: {e}");
            s.repl
                .node
                .master
                .handle_snapshot_end(id, now, Err(e.to_string()));
            return;
        }
    };
    let info = crate::commands::persistence::snapshot_info(s);
    let ks = &s.ks;
    let result = crate::fork::fork_child(move || {
        let file = std::fs::File::from(wr);
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, file);
        match crate::persist::write_snapshot(ks, &info, &mut out) {
            Ok(_) => 0,
            Err(_) => 1,
        }
    });
    match result {
        Ok(pid) => {
            tracing::info!("Background RDB transfer started by pid {pid}");
            s.repl.snapshots.insert(id, pid);
            if let Some(me) = s.repl.me.upgrade() {
                tokio::task::spawn_local(relay_snapshot(me, id, pid, rd));
            }
        }
        Err(e) => {
            tracing::warn!("Can't fork for the replication snapshot: {e}");
            s.repl
                .node
                .master
                .handle_snapshot_end(id, now, Err(e.to_string()));
        }
    }
}

/// Disk-mode full sync: a background save of the dump file, as Redis's
/// BGSAVE for replication; the file is then sent to each waiting replica
/// from disk ([`send_snapshot_file`]), so the snapshot is never held in
/// memory nor counted against a replica's output buffer.
fn start_disk_snapshot(s: &mut Server, id: SnapshotId, now: u64) {
    let info = crate::commands::persistence::snapshot_info(s);
    let path = crate::persist::dump_path(&s.config.str(key::DBFILENAME));
    let ks = &s.ks;
    let started = std::time::Instant::now();
    let dirty_at_start = s.ks.dirty();
    s.saving.last_try = unix_ms() / 1000;
    match crate::fork::fork_child(|| match crate::persist::save_to_file(ks, &info, &path) {
        Ok(_) => 0,
        Err(_) => 1,
    }) {
        Ok(pid) => {
            tracing::info!("Background saving started by pid {pid}");
            s.repl.snapshots.insert(id, pid);
            let child = crate::commands::persistence::BgSave {
                pid,
                started,
                dirty_at_start,
            };
            if let Some(me) = s.repl.me.upgrade() {
                tokio::task::spawn_local(watch_disk_snapshot(me, id, child));
            }
        }
        Err(e) => {
            tracing::warn!("Can't save in background: fork: {e}");
            s.repl
                .node
                .master
                .handle_snapshot_end(id, now, Err(e.to_string()));
        }
    }
}

/// Waits for a disk-mode snapshot child and reports its end.
async fn watch_disk_snapshot(
    server: Rc<RefCell<Server>>,
    id: SnapshotId,
    child: crate::commands::persistence::BgSave,
) {
    let exit = loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if !server.borrow().repl.snapshots.contains_key(&id) {
            // Aborted: AbortSnapshot killed it; reap it here.
            let _ = crate::fork::try_reap(child.pid);
            return;
        }
        if let Some(x) = crate::fork::try_reap(child.pid) {
            break x;
        }
    };
    let mut s = server.borrow_mut();
    s.repl.snapshots.remove(&id);
    crate::commands::persistence::record_bgsave_end(&mut s, &child, exit.ok());
    let result = if exit.ok() {
        Ok(())
    } else {
        Err("child failed".to_string())
    };
    s.repl
        .node
        .master
        .handle_snapshot_end(id, unix_ms() as u64, result);
    drive(&mut s);
}

/// Bytes of the snapshot file queued on a replica's connection above which
/// reading the file pauses: the socket sets the pace.
const FILE_SEND_LOW_WATER: usize = 256 * 1024;
/// Bytes read from the snapshot file at a time.
const FILE_SEND_CHUNK: usize = 1024 * 1024;

/// Sends `$<len>\r\n` and the snapshot file to replica `id`, a chunk at a
/// time as its socket drains, then tells the master machine.
async fn send_snapshot_file(server: Rc<RefCell<Server>>, id: ReplicaId, mut file: std::fs::File) {
    use std::io::Read;
    let len = file.metadata().map(|m| m.len());
    let mut buf = vec![0u8; FILE_SEND_CHUNK];
    let mut first = true;
    loop {
        loop {
            let pending = {
                let s = server.borrow();
                match client(&s, id) {
                    Some(h) if !h.killed.get() && !h.close_after_flush.get() => {
                        h.pushes.borrow().len()
                    }
                    _ => return,
                }
            };
            if pending < FILE_SEND_LOW_WATER {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let s = server.borrow();
        let Some(h) = client(&s, id) else {
            return;
        };
        if first {
            first = false;
            match &len {
                Ok(n) => h
                    .pushes
                    .borrow_mut()
                    .extend_from_slice(format!("${n}\r\n").as_bytes()),
                Err(e) => {
                    tracing::warn!("SYNC failed. Can't open/stat DB after BGSAVE: {e}");
                    h.close_after_flush.set(true);
                    h.wake.notify_one();
                    return;
                }
            }
        }
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                h.pushes.borrow_mut().extend_from_slice(&buf[..n]);
                h.wake.notify_one();
            }
            Err(e) => {
                tracing::warn!("Read error sending DB to replica: {e}");
                h.close_after_flush.set(true);
                h.wake.notify_one();
                return;
            }
        }
    }
    let mut s = server.borrow_mut();
    s.repl
        .node
        .master
        .handle_snapshot_sent(id, unix_ms() as u64);
    drive(&mut s);
}

/// Bytes queued to the replicas of a snapshot above which relaying pauses,
/// so a slow replica slows the child instead of growing memory.
const RELAY_HIGH_WATER: usize = 8 * 1024 * 1024;

async fn relay_snapshot(
    server: Rc<RefCell<Server>>,
    id: SnapshotId,
    pid: i32,
    fd: std::os::fd::OwnedFd,
) {
    let mut rx = match tokio::net::unix::pipe::Receiver::from_owned_fd(fd) {
        Ok(rx) => rx,
        Err(e) => {
            let mut s = server.borrow_mut();
            s.repl
                .node
                .master
                .handle_snapshot_end(id, unix_ms() as u64, Err(e.to_string()));
            drive(&mut s);
            return;
        }
    };
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut failed = None;
    loop {
        loop {
            let busy = {
                let s = server.borrow();
                s.clients.values().any(|c| {
                    c.kind.get() == ClientKind::Replica
                        && c.pushes.borrow().len() > RELAY_HIGH_WATER
                })
            };
            if !busy {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        buf.reserve(64 * 1024);
        match rx.read_buf(&mut buf).await {
            Ok(0) => break,
            Ok(_) => {
                let chunk = buf.split().freeze();
                let mut s = server.borrow_mut();
                if !s.repl.snapshots.contains_key(&id) {
                    return;
                }
                s.repl
                    .node
                    .master
                    .handle_snapshot_chunk(id, unix_ms() as u64, chunk);
                drive(&mut s);
            }
            Err(e) => {
                failed = Some(e.to_string());
                break;
            }
        }
    }
    // The pipe closed: the child is exiting; collect its status.
    let mut exit = None;
    for _ in 0..2000 {
        if let Some(x) = crate::fork::try_reap(pid) {
            exit = Some(x);
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut s = server.borrow_mut();
    if s.repl.snapshots.remove(&id).is_none() {
        return;
    }
    let result = match (failed, exit) {
        (None, Some(x)) if x.ok() => {
            tracing::info!("Background RDB transfer terminated with success");
            Ok(())
        }
        (Some(e), _) => Err(e),
        _ => Err("child failed".to_string()),
    };
    if result.is_err() {
        tracing::warn!("Background transfer error");
    }
    s.repl
        .node
        .master
        .handle_snapshot_end(id, unix_ms() as u64, result);
    drive(&mut s);
}

fn replica_action(s: &mut Server, a: replica::Action, now: u64) {
    match a {
        replica::Action::Connect { host, port } => {
            s.repl.link_gen += 1;
            s.repl.link_out.clear();
            if let Some(me) = s.repl.me.upgrade() {
                tokio::task::spawn_local(master_link(me, s.repl.link_gen, host, port));
            }
        }
        replica::Action::Disconnect => {
            s.repl.link_gen += 1;
            s.repl.link_out.clear();
            s.repl.link_wake.notify_one();
            cache_master_session(s);
        }
        replica::Action::SnapshotStart { size, replid } => {
            crate::sync_load::start(s, size, replid, now)
        }
        replica::Action::SnapshotChunk(b) => crate::sync_load::chunk(s, &b),
        replica::Action::SnapshotDone => crate::sync_load::done(s, now),
        replica::Action::SnapshotFailed => {
            crate::sync_load::discard(s);
            s.repl.incoming_error = None;
        }
        replica::Action::Apply { args, .. } => apply_from_master(s, &args, now),
        replica::Action::DiscardTransaction => {
            if let Some(sess) = s.repl.master_session.as_mut() {
                sess.multi = None;
            }
        }
        replica::Action::Role { replica, link_up } => {
            s.repl.is_replica = replica;
            s.repl.link_up = link_up;
            if !replica {
                // A promoted node's own stream starts with SELECT; a
                // later master will too.
                s.repl.master_db = 0;
            }
            if replica && link_up && s.repl.master_session.is_none() {
                // Redis creates the master client when the sync completes.
                let sess = new_master_session(s);
                s.repl.master_session = Some(sess);
            }
            s.ks.set_reclaim_expired(!replica);
            crate::logging::set_role(if replica { b'S' } else { b'M' });
        }
        replica::Action::Forward(_)
        | replica::Action::DiscardHistory
        | replica::Action::AdoptHistory { .. } => {}
    }
}

/// After a full sync: the master's stream continues in the database the
/// snapshot names (`repl-stream-db`), as Redis's new master client does.
pub fn continue_in_db(s: &mut Server, repl_stream_db: Option<i64>) {
    let db = repl_stream_db
        .and_then(|d| usize::try_from(d).ok())
        .filter(|&d| d < s.ks.db_count())
        .unwrap_or(0);
    s.repl.master_db = db;
    if let Some(sess) = s.repl.master_session.as_mut() {
        sess.set_db(db);
        sess.multi = None;
    }
}

/// Runs one command from the master through the normal dispatch, as the
/// master client: no reply, no read-only check.
fn apply_from_master(s: &mut Server, args: &[Bytes], now: u64) {
    let mut sess = match s.repl.master_session.take() {
        Some(sess) => sess,
        None => new_master_session(s),
    };
    s.ks.set_see_expired(true);
    let _ = crate::commands::dispatch(s, &mut sess, args, now as i64);
    s.ks.set_see_expired(false);
    sess.extra_replies.clear();
    s.repl.master_session = Some(sess);
}

/// Creates the master client: registered under the master socket's
/// addresses, in the database the stream last selected.
fn new_master_session(s: &mut Server) -> Session {
    let unknown = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let (peer, local) = s.repl.link_addrs.unwrap_or_else(|| {
        let peer = s
            .repl
            .node
            .replica
            .master_addr()
            .and_then(|(h, p)| format!("{h}:{p}").parse().ok())
            .unwrap_or(unknown);
        (peer, unknown)
    });
    let h = s.register_client(peer, local);
    h.kind.set(ClientKind::Master);
    let mut sess = Session::new(h, true);
    sess.is_master = true;
    sess.set_db(s.repl.master_db);
    sess
}

/// The link is gone: the master client goes, but its selected database
/// is kept for a partial resync (an open MULTI is dropped: the master
/// sends the whole transaction again).
fn cache_master_session(s: &mut Server) {
    if let Some(sess) = s.repl.master_session.take() {
        s.repl.master_db = sess.db();
        s.unregister_client(sess.handle.id);
    }
    s.repl.link_addrs = None;
}

/// The connection to this node's master: connects, then relays bytes both
/// ways until the machine says to disconnect.
async fn master_link(server: Rc<RefCell<Server>>, gen: u64, host: String, port: u16) {
    let timeout = Duration::from_secs(
        u64::try_from(server.borrow().config.int(key::REPL_TIMEOUT))
            .unwrap_or(60)
            .max(1),
    );
    let conn = tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port))).await;
    let mut stream = {
        let mut s = server.borrow_mut();
        if s.repl.link_gen != gen {
            return;
        }
        let now = unix_ms() as u64;
        let stream = match conn {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                s.repl.link_addrs = stream.peer_addr().ok().zip(stream.local_addr().ok());
                let _ = s.repl.node.replica.handle_connected(now);
                Some(stream)
            }
            Ok(Err(e)) => {
                let _ = s
                    .repl
                    .node
                    .replica
                    .handle_connect_failed(now, &io_error_text(&e));
                None
            }
            Err(_) => {
                let _ = s
                    .repl
                    .node
                    .replica
                    .handle_connect_failed(now, "Connection timed out");
                None
            }
        };
        drive(&mut s);
        match stream {
            Some(st) => st,
            None => return,
        }
    };
    let wake = server.borrow().repl.link_wake.clone();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        let out = {
            let mut s = server.borrow_mut();
            if s.repl.link_gen != gen {
                break;
            }
            s.repl.link_out.split()
        };
        if !out.is_empty() && stream.write_all(&out).await.is_err() {
            lost(&server, gen);
            break;
        }
        buf.reserve(64 * 1024);
        tokio::select! {
            r = stream.read_buf(&mut buf) => match r {
                Ok(0) | Err(_) => {
                    lost(&server, gen);
                    break;
                }
                Ok(_) => {
                    let mut s = server.borrow_mut();
                    if s.repl.link_gen != gen {
                        break;
                    }
                    let now = unix_ms() as u64;
                    s.stats.net_repl_input_bytes += buf.len() as u64;
                    // Decided when the payload starts, as Redis does.
                    let parse = crate::sync_load::load_to_parser(&s);
                    s.repl.node.replica.config_mut().load_to_parser = parse;
                    let _ = s.repl.node.replica.handle_data(now, &buf);
                    buf.clear();
                    drive(&mut s);
                }
            },
            _ = wake.notified() => {}
        }
    }
    let _ = stream.shutdown().await;
}

fn lost(server: &Rc<RefCell<Server>>, gen: u64) {
    let mut s = server.borrow_mut();
    if s.repl.link_gen != gen {
        return;
    }
    let _ = s.repl.node.replica.handle_disconnected(unix_ms() as u64);
    drive(&mut s);
}

/// An I/O error as Redis prints it (`strerror`, without Rust's suffix).
pub fn io_error_text(e: &std::io::Error) -> String {
    let t = e.to_string();
    match t.find(" (os error") {
        Some(i) => t[..i].to_string(),
        None => t,
    }
}

/// Periodic work (called from the server cron).
pub fn cron(s: &mut Server) {
    flush_stream(s);
    let now = unix_ms() as u64;
    if s.repl.node.next_timeout().is_some_and(|due| now >= due) {
        s.repl.node.handle_timeout(now);
    }
    // A snapshot for replicas waits for a BGSAVE or AOF rewrite to end.
    let other_child =
        s.saving.child.is_some() || s.aof.as_ref().is_some_and(|a| a.rewrite.is_some());
    s.repl.node.master.set_other_child_active(now, other_child);
    drive(s);
}

/// Called when a replica's connection closes.
pub fn replica_gone(s: &mut Server, id: u64) {
    s.repl
        .node
        .master
        .handle_disconnected(ReplicaId(id), unix_ms() as u64);
    drive(s);
}

/// Drops the link to the master as if the connection broke (CLIENT KILL
/// TYPE master); the replica reconnects and asks for a partial resync.
pub fn drop_master_link(s: &mut Server) {
    s.repl.link_gen += 1;
    s.repl.link_out.clear();
    s.repl.link_wake.notify_one();
    let _ = s.repl.node.replica.handle_disconnected(unix_ms() as u64);
    cache_master_session(s);
    drive(s);
}
