//! The master side: this node serving its replicas.
//!
//! [`Master`] owns the node's replication IDs, its `master_repl_offset` and
//! its [`Backlog`], and answers `SYNC`, `PSYNC` and `REPLCONF` the way Redis
//! 7.0 does (`syncCommand`, `masterTryPartialResynchronization`,
//! `replconfCommand`, `startBgsaveForReplication`,
//! `updateSlavesWaitingBgsave`, `replicationCron`). It is used whatever the
//! node's role: a replica serves its sub-replicas from it, fed with the
//! exact bytes its own master sent (see [`Master::handle_upstream`]).
//!
//! # Per-replica states
//!
//! ```text
//!   connection ──SYNC / PSYNC──┬── partial (+CONTINUE, backlog) ────────────────┐
//!   (REPLCONF only)            │                                                │
//!                              └─▶ WaitBgsaveStart ── snapshot starts ─▶ WaitBgsaveEnd
//!                                   (newline every     +FULLRESYNC <id> <off>    │ stream buffered
//!                                    second; waits     [$EOF:<mark>]             │ in the machine
//!                                    for a snapshot)                             │
//!   disk: SendBulk (server sends $<len> + file), then buffered stream ◀───────┤
//!                   diskless: payload streamed live, mark, then buffered         │
//!                             stream sent at the first REPLCONF ACK ◀────────────┘
//!                                           ▼
//!                                        Online ◀──────────────────────────────────┘
//!                    (stream sent as fed; PING every repl-ping-replica-period;
//!                     dropped after repl-timeout without ACK, or on
//!                     output-buffer limits)
//! ```
//!
//! `rdb-only` replicas end in `RdbTransmitted` and are closed.
//!
//! # Snapshots
//!
//! One snapshot serves every replica waiting for it.
//! [`Action::StartSnapshot`] asks the server to produce an RDB stream *of the
//! dataset at this very point of the replication stream* (fork before
//! propagating anything else); the server feeds it back with
//! [`Master::handle_snapshot_chunk`] and [`Master::handle_snapshot_end`].
//! Disk-style snapshots are sent as `$<len>\r\n` + payload once complete;
//! diskless ones (replicas with `capa eof` and `repl-diskless-sync`) are
//! relayed as they come, framed by `$EOF:<mark>\r\n` ... `<mark>`.
//!
//! # Driving it
//!
//! Drain [`poll_action`](Master::poll_action) after every call (actions for
//! one replica are in order) and [`poll_log`](Master::poll_log) whenever
//! convenient; call [`handle_timeout`](Master::handle_timeout) at
//! [`next_timeout`](Master::next_timeout). After [`Action::CloseReplica`]
//! the machine has forgotten the connection.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use repl_backlog::{
    decide_psync, Backlog, BacklogTtl, FullResyncReason, PsyncDecision, ReplId, ReplicationIds,
    ZeroSizeError, REPLID_LEN,
};
use thiserror::Error;

use crate::replica;
use crate::replies::lossy;
use crate::rng::Rng;
use crate::{format_addr, secs_between, Level, NodeHistory};

mod handshake;
mod info;
mod limits;
mod transfer;

pub use info::{MasterInfo, ReplicaSummary, SyncStats};

/// A replica (or any client connection issuing replication commands),
/// named by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplicaId(pub u64);

/// Identifies one snapshot request, so late chunks of an aborted snapshot
/// are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapshotId(pub u64);

/// `client-output-buffer-limit replica <hard> <soft> <seconds>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputBufferLimit {
    /// Close as soon as this many bytes are pending (0 = no limit). Raised
    /// to `repl-backlog-size` when smaller, as Redis does.
    pub hard_bytes: u64,
    /// Close when at least this many bytes stay pending (0 = no limit) ...
    pub soft_bytes: u64,
    /// ... for more than this many seconds.
    pub soft_seconds: u64,
}

impl Default for OutputBufferLimit {
    /// Redis's default for replicas: 256mb 64mb 60.
    fn default() -> Self {
        OutputBufferLimit {
            hard_bytes: 256 * 1024 * 1024,
            soft_bytes: 64 * 1024 * 1024,
            soft_seconds: 60,
        }
    }
}

/// Master-side settings (the redis.conf replication directives).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterConfig {
    /// `repl-backlog-size` in bytes (Redis default 1 MiB).
    pub backlog_size: usize,
    /// `repl-backlog-ttl` in seconds; 0 keeps the backlog forever.
    pub backlog_ttl_secs: u64,
    /// `repl-timeout` in seconds.
    pub repl_timeout_secs: u64,
    /// `repl-ping-replica-period` in seconds.
    pub ping_replica_period_secs: u64,
    /// `repl-diskless-sync` (Redis 7.0 default: yes).
    pub diskless_sync: bool,
    /// `repl-diskless-sync-delay` in seconds.
    pub diskless_sync_delay_secs: u64,
    /// `repl-diskless-sync-max-replicas` (0 = no early start).
    pub diskless_sync_max_replicas: usize,
    /// `client-output-buffer-limit replica ...`.
    pub output_buffer_limit: OutputBufferLimit,
    /// `min-replicas-to-write` (0 = disabled).
    pub min_replicas_to_write: usize,
    /// `min-replicas-max-lag` in seconds.
    pub min_replicas_max_lag_secs: u64,
}

impl Default for MasterConfig {
    /// Redis 7.0's defaults.
    fn default() -> Self {
        MasterConfig {
            backlog_size: repl_backlog::REDIS_DEFAULT_BACKLOG_SIZE,
            backlog_ttl_secs: BacklogTtl::REDIS_DEFAULT_SECS,
            repl_timeout_secs: 60,
            ping_replica_period_secs: 10,
            diskless_sync: true,
            diskless_sync_delay_secs: 5,
            diskless_sync_max_replicas: 0,
            output_buffer_limit: OutputBufferLimit::default(),
            min_replicas_to_write: 0,
            min_replicas_max_lag_secs: 10,
        }
    }
}

/// What a replica asked to leave out of its snapshot
/// (`REPLCONF rdb-filter-only`, Redis's `SLAVE_REQ_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RdbFilter {
    /// Leave out the keys.
    pub exclude_data: bool,
    /// Leave out the functions.
    pub exclude_functions: bool,
}

impl RdbFilter {
    /// True when anything is filtered out.
    pub fn any(&self) -> bool {
        self.exclude_data || self.exclude_functions
    }
}

/// Redis's `SLAVE_STATE_*` for a connection that issued SYNC or PSYNC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplicaState {
    /// Waiting for a snapshot to start.
    WaitBgsaveStart,
    /// Attached to a running snapshot; the stream is buffered meanwhile.
    WaitBgsaveEnd,
    /// The finished disk snapshot is being sent by the server (see
    /// [`Action::SendSnapshotFile`]); the stream is still buffered.
    SendBulk,
    /// Receiving the stream.
    Online,
    /// An `rdb-only` replica that got its snapshot (closed right away).
    RdbTransmitted,
}

impl ReplicaState {
    /// The `state=` word of INFO (`wait_bgsave`, `online`; empty for
    /// `RdbTransmitted`, which INFO skips).
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsaveStart | ReplicaState::WaitBgsaveEnd => "wait_bgsave",
            ReplicaState::SendBulk => "send_bulk",
            ReplicaState::Online => "online",
            ReplicaState::RdbTransmitted => "",
        }
    }
}

/// What the server must do for the master side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write `bytes` to the connection `id` (replies and stream alike).
    SendToReplica {
        /// The connection.
        id: ReplicaId,
        /// What to write, after everything sent to it before.
        bytes: Bytes,
    },
    /// Close the connection `id` once what was sent to it is written.
    CloseReplica {
        /// The connection.
        id: ReplicaId,
    },
    /// Produce an RDB snapshot of the dataset as of now (before any further
    /// write is propagated). A diskless one is fed back with
    /// [`Master::handle_snapshot_chunk`], then
    /// [`Master::handle_snapshot_end`]; a disk one is kept by the server
    /// (a file) and only its end is reported, after which the machine asks
    /// for it to be sent with [`Action::SendSnapshotFile`].
    StartSnapshot {
        /// Name to use when feeding it back.
        id: SnapshotId,
        /// True for a diskless (socket) transfer: chunks are relayed to
        /// replicas as they arrive.
        diskless: bool,
        /// What the waiting replicas want left out.
        filter: RdbFilter,
    },
    /// Send the finished disk snapshot `snapshot` to replica `id`:
    /// `$<len>\r\n` then the payload, read from where the server stored it
    /// at the pace the socket takes it. These bytes do not count against
    /// the replica's output-buffer limit (as in Redis, which sends the file
    /// from disk); report the end with [`Master::handle_snapshot_sent`].
    SendSnapshotFile {
        /// The replica.
        id: ReplicaId,
        /// The snapshot to send.
        snapshot: SnapshotId,
    },
    /// Nobody waits for this snapshot any more: stop producing it. (Redis
    /// always kills a diskless child here; for a disk save it only does so
    /// when no `save` points are configured, so the server may let a disk
    /// save finish for its own sake.) Later chunks for it are ignored.
    AbortSnapshot {
        /// The snapshot.
        id: SnapshotId,
    },
    /// The next command propagated must be preceded by `SELECT <db>`
    /// (Redis's `server.slaveseldb = -1`).
    ForceSelect,
}

/// Misuse of the API. Replication errors that Redis answers on the wire
/// are sent as replies, not returned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MasterError {
    /// [`Master::handle_command`] got no arguments.
    #[error("empty command")]
    EmptyCommand,
    /// [`Master::handle_command`] got something other than SYNC, PSYNC or
    /// REPLCONF.
    #[error("'{0}' is not a replication command")]
    NotReplicationCommand(String),
    /// A backlog handed to [`Master::from_history`] does not end at the
    /// history's offset.
    #[error("backlog ends at offset {backlog} but the history is at offset {history}")]
    BacklogMismatch {
        /// The backlog's master offset.
        backlog: u64,
        /// The history's offset.
        history: u64,
    },
}

/// A connection that issued replication commands.
#[derive(Debug)]
struct Conn {
    /// `None` until SYNC/PSYNC (Redis's `CLIENT_SLAVE` flag).
    state: Option<ReplicaState>,
    /// Came with plain SYNC: no +FULLRESYNC, no ACKs expected.
    pre_psync: bool,
    capa_eof: bool,
    capa_psync2: bool,
    req: RdbFilter,
    rdb_only: bool,
    listening_port: i64,
    announced_ip: Option<String>,
    peer_ip: Option<String>,
    ack_off: i64,
    ack_time_ms: u64,
    last_interaction_ms: u64,
    psync_initial_offset: u64,
    /// The snapshot this replica waits for.
    snapshot: Option<SnapshotId>,
    /// Stream held back until the snapshot is through.
    held: Vec<Bytes>,
    held_len: u64,
    start_stream_on_ack: bool,
    socket_pending: u64,
    /// Bytes handed to the server for this connection since its last
    /// [`Master::handle_replica_pending`] report.
    sent_since_report: u64,
    obuf_soft_since_ms: Option<u64>,
    last_partial_write_ms: Option<u64>,
}

impl Conn {
    fn new(now_ms: u64) -> Self {
        Conn {
            state: None,
            pre_psync: false,
            capa_eof: false,
            capa_psync2: false,
            req: RdbFilter::default(),
            rdb_only: false,
            listening_port: 0,
            announced_ip: None,
            peer_ip: None,
            ack_off: 0,
            ack_time_ms: 0,
            last_interaction_ms: now_ms,
            psync_initial_offset: 0,
            snapshot: None,
            held: Vec::new(),
            held_len: 0,
            start_stream_on_ack: false,
            socket_pending: 0,
            sent_since_report: 0,
            obuf_soft_since_ms: None,
            last_partial_write_ms: None,
        }
    }

    fn ip(&self) -> Option<&str> {
        self.announced_ip.as_deref().or(self.peer_ip.as_deref())
    }

    /// Redis's `replicationGetSlaveName`.
    fn name(&self, id: ReplicaId) -> String {
        match self.ip() {
            Some(ip) if self.listening_port != 0 => format_addr(ip, self.listening_port),
            Some(ip) => format!("{ip}:<unknown-replica-port>"),
            None => format!("client id #{}", id.0),
        }
    }

    fn hold(&mut self, bytes: Bytes) {
        self.held_len += bytes.len() as u64;
        self.held.push(bytes);
    }
}

/// A snapshot being produced.
#[derive(Debug)]
struct Snapshot {
    id: SnapshotId,
    diskless: bool,
    mark: [u8; REPLID_LEN],
}

/// The master state machine. See the [module docs](self).
#[derive(Debug)]
pub struct Master {
    config: MasterConfig,
    rng: Rng,
    ids: ReplicationIds,
    master_repl_offset: u64,
    backlog: Option<Backlog>,
    conns: HashMap<ReplicaId, Conn>,
    /// Replicas in the order they became replicas (`server.slaves`).
    slaves: Vec<ReplicaId>,
    snapshot: Option<Snapshot>,
    next_snapshot: u64,
    other_child_active: bool,
    node_is_replica: bool,
    upstream_link_up: bool,
    no_replicas_since_ms: u64,
    cron_due_ms: u64,
    cron_loops: u64,

    stats: SyncStats,
    actions: VecDeque<Action>,
    logs: VecDeque<(Level, String)>,
}

const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
const GETACK: &[u8] = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";

fn eq_ic(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

fn error_reply(msg: &str) -> Bytes {
    // Like addReplyError: a message starting with '-' carries its own code.
    if msg.starts_with('-') {
        Bytes::from(format!("{msg}\r\n"))
    } else {
        Bytes::from(format!("-ERR {msg}\r\n"))
    }
}

impl Master {
    /// A master with a fresh random replication ID, offset 0 and no backlog
    /// (it is created when the first replica arrives), as at start-up.
    pub fn new(config: MasterConfig, rng_seed: u64, now_ms: u64) -> Self {
        let mut rng = Rng::new(rng_seed);
        let ids = ReplicationIds::from_parts(rng.replid(), ReplId::NONE, -1);
        Master {
            config,
            rng,
            ids,
            master_repl_offset: 0,
            backlog: None,
            conns: HashMap::new(),
            slaves: Vec::new(),
            snapshot: None,
            next_snapshot: 1,
            other_child_active: false,
            node_is_replica: false,
            upstream_link_up: false,
            no_replicas_since_ms: now_ms,
            cron_due_ms: 0,
            cron_loops: 0,
            stats: SyncStats::default(),
            actions: VecDeque::new(),
            logs: VecDeque::new(),
        }
    }

    /// A master continuing an existing history: after a restart (IDs and
    /// offset from the RDB file) or when a replica's state is handed over
    /// on promotion (then pass its backlog so former siblings can partially
    /// resync). A node built once and kept across roles gets the same
    /// through [`handle_upstream`](Self::handle_upstream).
    pub fn from_history(
        config: MasterConfig,
        rng_seed: u64,
        now_ms: u64,
        history: NodeHistory,
        backlog: Option<Backlog>,
    ) -> Result<Self, MasterError> {
        if let Some(b) = &backlog {
            if b.master_offset() != history.offset {
                return Err(MasterError::BacklogMismatch {
                    backlog: b.master_offset(),
                    history: history.offset,
                });
            }
        }
        let mut m = Master::new(config, rng_seed, now_ms);
        m.ids = history.ids;
        m.master_repl_offset = history.offset;
        m.backlog = backlog;
        Ok(m)
    }

    /// The configuration in force.
    pub fn config(&self) -> &MasterConfig {
        &self.config
    }

    /// Changes the configuration; for the backlog size use
    /// [`set_backlog_size`](Self::set_backlog_size).
    pub fn config_mut(&mut self) -> &mut MasterConfig {
        &mut self.config
    }

    /// `CONFIG SET repl-backlog-size`: resizes the backlog keeping the most
    /// recent history.
    pub fn set_backlog_size(&mut self, size: usize) -> Result<(), ZeroSizeError> {
        if size == 0 {
            return Err(ZeroSizeError);
        }
        if let Some(b) = self.backlog.as_mut() {
            b.resize(size)?;
        }
        self.config.backlog_size = size;
        Ok(())
    }

    /// Next action for the server.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Next log line, with Redis's level and text.
    pub fn poll_log(&mut self) -> Option<(Level, String)> {
        self.logs.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called
    /// (the 1 Hz replication cron; 0 before its first run).
    pub fn next_timeout(&self) -> Option<u64> {
        Some(self.cron_due_ms)
    }

    // ----------------------------------------------------------------
    // Observers
    // ----------------------------------------------------------------

    /// The node's replication IDs.
    pub fn ids(&self) -> ReplicationIds {
        self.ids
    }

    /// `master_repl_offset`.
    pub fn master_offset(&self) -> u64 {
        self.master_repl_offset
    }

    /// The node's IDs and offset, e.g. for
    /// [`crate::replica::Replica::set_master`] or to persist in an RDB.
    pub fn history(&self) -> NodeHistory {
        NodeHistory {
            ids: self.ids,
            offset: self.master_repl_offset,
        }
    }

    /// The backlog, if one exists.
    pub fn backlog(&self) -> Option<&Backlog> {
        self.backlog.as_ref()
    }

    /// The sync counters.
    pub fn stats(&self) -> SyncStats {
        self.stats
    }

    /// Zeroes the sync counters (CONFIG RESETSTAT).
    pub fn reset_stats(&mut self) {
        self.stats = SyncStats::default();
    }

    /// Whether the machine holds a record for connection `id` (it sent a
    /// replication command, perhaps only REPLCONF): the server must report
    /// its close with [`handle_disconnected`](Self::handle_disconnected).
    pub fn knows(&self, id: ReplicaId) -> bool {
        self.conns.contains_key(&id)
    }

    /// Whether connection `id` has become a replica (SYNC or PSYNC).
    pub fn is_replica(&self, id: ReplicaId) -> bool {
        self.conns.get(&id).is_some_and(|c| c.state.is_some())
    }

    /// The state of replica `id`.
    pub fn replica_state(&self, id: ReplicaId) -> Option<ReplicaState> {
        self.conns.get(&id).and_then(|c| c.state)
    }

    /// Number of replicas (`connected_slaves`).
    pub fn replica_count(&self) -> usize {
        self.slaves.len()
    }

    /// `WAIT`: how many online replicas acknowledged at least `offset`
    /// (Redis's `replicationCountAcksByOffset`).
    pub fn wait_target(&self, offset: u64) -> usize {
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        self.online().filter(|c| c.ack_off >= offset).count()
    }

    /// Online replicas whose last ACK is at most `min-replicas-max-lag`
    /// seconds old (Redis's `refreshGoodSlavesCount`).
    pub fn good_replicas(&self, now_ms: u64) -> usize {
        let max_lag = self.config.min_replicas_max_lag_secs;
        self.online()
            .filter(|c| secs_between(c.ack_time_ms, now_ms) <= max_lag)
            .count()
    }

    /// Whether writes are allowed under `min-replicas-to-write` (Redis's
    /// `checkGoodReplicasStatus`; always true on a replica or when not
    /// configured).
    pub fn min_replicas_ok(&self, now_ms: u64) -> bool {
        self.node_is_replica
            || self.config.min_replicas_max_lag_secs == 0
            || self.config.min_replicas_to_write == 0
            || self.good_replicas(now_ms) >= self.config.min_replicas_to_write
    }

    fn online(&self) -> impl Iterator<Item = &Conn> + '_ {
        self.slaves
            .iter()
            .filter_map(|id| self.conns.get(id))
            .filter(|c| c.state == Some(ReplicaState::Online))
    }

    // ----------------------------------------------------------------
    // Inputs
    // ----------------------------------------------------------------

    /// The peer IP of connection `id`, used to name it in logs and INFO
    /// when it does not announce one (without it Redis names it
    /// `client id #<id>`).
    pub fn set_peer_ip(&mut self, id: ReplicaId, now_ms: u64, ip: &str) {
        let now = now_ms;
        self.conns
            .entry(id)
            .or_insert_with(|| Conn::new(now))
            .peer_ip = Some(ip.to_owned());
    }

    /// `SYNC`, `PSYNC <replid> <offset>` or `REPLCONF ...` received on
    /// connection `id` (any client; it becomes a replica with SYNC/PSYNC).
    /// Replies go out as [`Action::SendToReplica`]. The server checks
    /// authentication and ACLs before calling.
    pub fn handle_command(
        &mut self,
        id: ReplicaId,
        now_ms: u64,
        args: &[Bytes],
    ) -> Result<(), MasterError> {
        let name = args.first().ok_or(MasterError::EmptyCommand)?;
        let which = if eq_ic(name, "replconf") {
            0
        } else if eq_ic(name, "sync") {
            1
        } else if eq_ic(name, "psync") {
            2
        } else {
            return Err(MasterError::NotReplicationCommand(lossy(name)));
        };
        self.conns
            .entry(id)
            .or_insert_with(|| Conn::new(now_ms))
            .last_interaction_ms = now_ms;
        let arity_ok = match which {
            0 => true,
            1 => args.len() == 1,
            _ => args.len() >= 3,
        };
        if !arity_ok {
            let cmd = ["replconf", "sync", "psync"]
                .get(which)
                .copied()
                .unwrap_or("");
            self.reply(
                id,
                error_reply(&format!("wrong number of arguments for '{cmd}' command")),
            );
            return Ok(());
        }
        match which {
            0 => self.replconf(id, now_ms, args),
            _ => self.sync(id, now_ms, args, which == 2),
        }
        Ok(())
    }

    /// A bare newline from connection `id`: replicas send them while
    /// loading, and it counts as an ACK for the timeout.
    pub fn handle_replica_newline(&mut self, id: ReplicaId, now_ms: u64) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.last_interaction_ms = now_ms;
            if c.state.is_some() {
                c.ack_time_ms = now_ms;
            }
        }
    }

    /// Connection `id` was closed by the peer or failed.
    pub fn handle_disconnected(&mut self, id: ReplicaId, now_ms: u64) {
        self.remove_conn(id, now_ms);
    }

    /// After a socket write to replica `id` that made progress: `pending`
    /// bytes are still queued on it (everything handed over with
    /// [`Action::SendToReplica`] and not yet written). Used for the
    /// output-buffer limits (with the stream the machine itself holds back
    /// and what was handed over since this report) and the diskless
    /// transfer timeout.
    pub fn handle_replica_pending(&mut self, id: ReplicaId, now_ms: u64, pending: u64) {
        let diskless = self.snapshot.as_ref().is_some_and(|s| s.diskless);
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        c.socket_pending = pending;
        c.sent_since_report = 0;
        if c.state == Some(ReplicaState::WaitBgsaveEnd) && diskless {
            c.last_partial_write_ms = (pending > 0).then_some(now_ms);
        }
        if c.state.is_some() {
            self.check_output_limits(id, now_ms);
        }
    }

    /// Next bytes of snapshot `snapshot` (an opaque RDB stream). Takes
    /// `now` like every entry point, though nothing here depends on time.
    pub fn handle_snapshot_chunk(&mut self, snapshot: SnapshotId, _now_ms: u64, bytes: Bytes) {
        let Some(snap) = self.snapshot.as_mut().filter(|s| s.id == snapshot) else {
            return;
        };
        // A disk snapshot stays with the server (Action::SendSnapshotFile).
        if bytes.is_empty() || !snap.diskless {
            return;
        }
        for id in self.members(snapshot) {
            self.reply(id, bytes.clone());
        }
    }

    /// Snapshot `snapshot` is complete (`Ok`) or failed (`Err` with the
    /// reason). Waiting replicas get it, or are dropped.
    pub fn handle_snapshot_end(
        &mut self,
        snapshot: SnapshotId,
        now_ms: u64,
        result: Result<(), String>,
    ) {
        let Some(snap) = self.snapshot.take_if(|s| s.id == snapshot) else {
            return;
        };
        let members = self.members(snapshot);
        match result {
            Err(_) => {
                for id in members {
                    self.log(
                        Level::Warning,
                        "SYNC failed. BGSAVE child returned an error",
                    );
                    self.close_replica(id, now_ms);
                }
            }
            Ok(()) if snap.diskless => {
                let mark = Bytes::copy_from_slice(&snap.mark);
                for id in members {
                    self.reply(id, mark.clone());
                    let name = self.name(id);
                    self.log(
                        Level::Notice,
                        format!(
                            "Streamed RDB transfer with replica {name} succeeded (socket). \
                             Waiting for REPLCONF ACK from slave to enable streaming"
                        ),
                    );
                    if self.put_online(id, now_ms) {
                        if let Some(c) = self.conns.get_mut(&id) {
                            c.start_stream_on_ack = true;
                        }
                    } else {
                        self.close_replica(id, now_ms);
                    }
                }
            }
            Ok(()) => {
                for id in members {
                    if let Some(c) = self.conns.get_mut(&id) {
                        c.state = Some(ReplicaState::SendBulk);
                    }
                    self.actions
                        .push_back(Action::SendSnapshotFile { id, snapshot });
                }
            }
        }
        self.start_pending_snapshot(now_ms);
    }

    /// The disk snapshot asked for with [`Action::SendSnapshotFile`] is
    /// fully handed to replica `id`'s socket: the replica goes online and
    /// gets the stream buffered meanwhile.
    pub fn handle_snapshot_sent(&mut self, id: ReplicaId, now_ms: u64) {
        if self.replica_state(id) != Some(ReplicaState::SendBulk) {
            return;
        }
        if self.put_online(id, now_ms) {
            self.start_command_stream(id);
        } else {
            self.close_replica(id, now_ms);
        }
    }

    /// Another background process (a user BGSAVE, an AOF rewrite) started
    /// or stopped; replication snapshots wait while one runs.
    pub fn set_other_child_active(&mut self, now_ms: u64, active: bool) {
        self.other_child_active = active;
        if !active {
            self.start_pending_snapshot(now_ms);
        }
    }

    /// Appends an encoded chunk of the replication stream (the server calls
    /// it once per propagated batch, SELECTs included) to the backlog and to
    /// every replica that takes the stream. Without a backlog (no replica
    /// ever attached) nothing is recorded and the offset does not move, as
    /// in Redis.
    pub fn feed(&mut self, now_ms: u64, data: &[u8]) {
        if !data.is_empty() && self.backlog.is_some() {
            self.feed_bytes(now_ms, Bytes::copy_from_slice(data));
        }
    }

    /// [`Master::feed`] for bytes the caller already owns: the replicas'
    /// streams share them instead of copying.
    pub fn feed_bytes(&mut self, now_ms: u64, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        let Some(backlog) = self.backlog.as_mut() else {
            return;
        };
        backlog.append(&bytes);
        self.master_repl_offset = backlog.master_offset();
        let now = now_ms;
        for id in self.slaves.clone() {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            if c.rdb_only {
                continue;
            }
            match c.state {
                Some(ReplicaState::WaitBgsaveEnd | ReplicaState::SendBulk) => c.hold(bytes.clone()),
                Some(ReplicaState::Online) if c.start_stream_on_ack => c.hold(bytes.clone()),
                Some(ReplicaState::Online) => self.reply(id, bytes.clone()),
                _ => continue,
            }
            self.check_output_limits(id, now);
        }
    }

    /// `WAIT` support: asks every replica for an ACK by propagating
    /// `REPLCONF GETACK *` (Redis groups these per event-loop iteration;
    /// call it once per iteration that has WAITing clients). Ignored on a
    /// replica, whose stream is its master's.
    pub fn send_getack(&mut self, now_ms: u64) {
        if !self.node_is_replica {
            self.feed(now_ms, GETACK);
        }
    }

    /// Applies what the node's replica side reports about history (forwarded
    /// stream, full syncs, new IDs, role and link changes); other actions
    /// are ignored, so every [`replica::Action`] can be passed through.
    pub fn handle_upstream(&mut self, now_ms: u64, action: &replica::Action) {
        match action {
            replica::Action::Forward(bytes) => self.feed(now_ms, bytes),
            replica::Action::DiscardHistory => {
                self.disconnect_replicas(now_ms);
                self.backlog = None;
            }
            replica::Action::AdoptHistory {
                history,
                disconnect_replicas,
            } => {
                if *disconnect_replicas {
                    self.disconnect_replicas(now_ms);
                }
                self.ids = history.ids;
                if self
                    .backlog
                    .as_ref()
                    .is_some_and(|b| b.master_offset() != history.offset)
                {
                    self.backlog = None;
                }
                self.master_repl_offset = history.offset;
                if self.backlog.is_none() {
                    self.create_backlog();
                }
            }
            replica::Action::Role { replica, link_up } => {
                if self.node_is_replica && !*replica {
                    // Promoted: count the TTL from now, and restart the
                    // stream with a SELECT.
                    self.no_replicas_since_ms = now_ms;
                    self.actions.push_back(Action::ForceSelect);
                }
                self.node_is_replica = *replica;
                self.upstream_link_up = *link_up;
            }
            _ => {}
        }
    }

    /// The replication cron (once a second): PING replicas every
    /// `repl-ping-replica-period` runs, newlines to replicas waiting for a
    /// snapshot, replica timeouts, backlog TTL, delayed diskless snapshots.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if now_ms < self.cron_due_ms {
            return;
        }
        self.cron_due_ms = now_ms.saturating_add(1000);
        let period = self.config.ping_replica_period_secs.max(1);
        if self.cron_loops % period == 0 && !self.slaves.is_empty() && !self.node_is_replica {
            self.feed(now_ms, PING);
        }
        let socket_snapshot = self.snapshot.as_ref().is_some_and(|s| s.diskless);
        for id in self.slaves.clone() {
            let presync = self.conns.get(&id).is_some_and(|c| {
                c.state == Some(ReplicaState::WaitBgsaveStart)
                    || (c.state == Some(ReplicaState::WaitBgsaveEnd) && !socket_snapshot)
            });
            if presync {
                self.reply(id, Bytes::from_static(b"\n"));
            }
        }
        let timeout = self.config.repl_timeout_secs;
        for id in self.slaves.clone() {
            let Some(c) = self.conns.get(&id) else {
                continue;
            };
            let what = match c.state {
                Some(ReplicaState::Online)
                    if !c.pre_psync && secs_between(c.ack_time_ms, now_ms) > timeout =>
                {
                    "streaming sync"
                }
                Some(ReplicaState::WaitBgsaveEnd)
                    if socket_snapshot
                        && c.last_partial_write_ms
                            .is_some_and(|t| secs_between(t, now_ms) > timeout) =>
                {
                    "full sync"
                }
                _ => continue,
            };
            let name = c.name(id);
            self.log(
                Level::Warning,
                format!("Disconnecting timedout replica ({what}): {name}"),
            );
            self.close_replica(id, now_ms);
        }
        let ttl = BacklogTtl::new(self.config.backlog_ttl_secs);
        if self.backlog.is_some()
            && ttl.should_free(
                self.slaves.len(),
                self.no_replicas_since_ms,
                now_ms,
                self.node_is_replica,
            )
        {
            self.ids.change_id(self.rng.replid());
            self.ids.clear_secondary();
            self.backlog = None;
            self.log(Level::Notice, ttl.freed_log_line());
        }
        self.start_pending_snapshot(now_ms);
        self.cron_loops += 1;
    }

    // ----------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------

    fn log(&mut self, level: Level, text: impl Into<String>) {
        self.logs.push_back((level, text.into()));
    }

    fn reply(&mut self, id: ReplicaId, bytes: Bytes) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.sent_since_report = c.sent_since_report.saturating_add(bytes.len() as u64);
        }
        self.actions.push_back(Action::SendToReplica { id, bytes });
    }

    fn name(&self, id: ReplicaId) -> String {
        self.conns
            .get(&id)
            .map_or_else(|| format!("client id #{}", id.0), |c| c.name(id))
    }

    /// Replicas waiting for snapshot `snapshot`, in order.
    fn members(&self, snapshot: SnapshotId) -> Vec<ReplicaId> {
        self.slaves
            .iter()
            .copied()
            .filter(|id| {
                self.conns.get(id).is_some_and(|c| {
                    c.state == Some(ReplicaState::WaitBgsaveEnd) && c.snapshot == Some(snapshot)
                })
            })
            .collect()
    }

    fn create_backlog(&mut self) {
        let size = self.config.backlog_size.max(1);
        self.backlog = Backlog::new(size, self.master_repl_offset).ok();
    }

    /// `freeClient` for a connection the machine drops.
    fn close_replica(&mut self, id: ReplicaId, now_ms: u64) {
        if self.conns.contains_key(&id) {
            self.actions.push_back(Action::CloseReplica { id });
            self.remove_conn(id, now_ms);
        }
    }

    /// Forgets a connection; logs and bookkeeping as `freeClient` does.
    fn remove_conn(&mut self, id: ReplicaId, now_ms: u64) {
        let Some(c) = self.conns.remove(&id) else {
            return;
        };
        let Some(state) = c.state else {
            return;
        };
        self.log(
            Level::Warning,
            format!("Connection with replica {} lost.", c.name(id)),
        );
        self.slaves.retain(|s| *s != id);
        if self.slaves.is_empty() {
            self.no_replicas_since_ms = now_ms;
        }
        if state == ReplicaState::WaitBgsaveEnd {
            if let Some((sid, diskless)) = self.snapshot.as_ref().map(|s| (s.id, s.diskless)) {
                if self.members(sid).is_empty() {
                    if diskless {
                        self.log(
                            Level::Warning,
                            "Diskless rdb transfer, last replica dropped, killing fork child.",
                        );
                    }
                    self.snapshot = None;
                    self.actions.push_back(Action::AbortSnapshot { id: sid });
                    self.start_pending_snapshot(now_ms);
                }
            }
        }
    }

    /// `disconnectSlaves`.
    fn disconnect_replicas(&mut self, now_ms: u64) {
        for id in self.slaves.clone() {
            self.close_replica(id, now_ms);
        }
    }
}
