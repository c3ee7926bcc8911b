//! The replica side: this node's link to its master.
//!
//! [`Replica`] reproduces Redis 7.0's `repl_state` machine
//! (`syncWithMaster`, `slaveTryPartialResynchronization`,
//! `readSyncBulkPayload`, `replicationCron`, the master client's part of
//! `processInputBuffer`), with the same replies accepted, the same
//! fallbacks, the same offsets and the same log lines.
//!
//! # States
//!
//! ```text
//!  None ──set_master──▶ Connect ──(cron / at once)──▶ Connecting
//!                          ▲   Action::Connect          │ handle_connected
//!     error: drop the      │                            ▼   send PING
//!     link, retry at the   ├──────────────────── ReceivePingReply
//!     next cron tick       │                            │ +.. / -NOAUTH / -NOPERM
//!                          │                            ▼   send [AUTH] REPLCONF
//!                          │  (AUTH configured) ReceiveAuthReply   listening-port
//!                          │                            ▼          [ip-address]
//!                          │                     ReceivePortReply  capa eof psync2
//!                          │  (announce-ip set)  ReceiveIpReply
//!                          │                     ReceiveCapaReply
//!                          │                            │ send PSYNC <id> <off+1> | ? -1
//!                          │                            ▼
//!                          ├─ -NOMASTERLINK/-LOADING ReceivePsyncReply ─ +CONTINUE ──┐
//!                          │                            │ +FULLRESYNC, or -ERR/other │
//!                          │                            │ → SYNC                     │
//!      cancel: drop, retry ├─────────────────────── Transfer                          │
//!      at once ("after     │     $<len> | $EOF:<mark>, payload → Snapshot* actions    │
//!      failure")           │     then Loading until handle_snapshot_loaded           │
//!                          │                            ▼                            │
//!                          └── link lost: cache ─── Connected ◀──────────────────────┘
//!                              master, reconnect      command stream → Apply/Forward
//!                              at once                REPLCONF ACK every second
//! ```
//!
//! Any state except `None` goes back to `None` on [`Replica::set_no_master`]
//! (promotion). Handshake states and `Transfer` time out after
//! `repl-timeout` seconds without data; so does `Connected`.
//!
//! # Driving it
//!
//! Call the `handle_*` methods as things happen, then drain, in this order:
//! [`poll_action`](Replica::poll_action) (which may close the socket and
//! open a new one), then [`poll_transmit`](Replica::poll_transmit) (bytes
//! for the *current* master socket), and [`poll_log`](Replica::poll_log)
//! whenever convenient. Call [`handle_timeout`](Replica::handle_timeout)
//! when [`next_timeout`](Replica::next_timeout) is reached. Contract: after
//! [`Action::Disconnect`] the server reports nothing more about that
//! socket; after [`Action::Connect`] it reports exactly one of
//! `handle_connected` / `handle_connect_failed` for the new one.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};
use repl_backlog::{ReplId, ReplicationIds, REPLID_LEN};
use resp_codec::{encode, DecoderLimits, ProtocolError, RequestDecoder};
use thiserror::Error;

use crate::replies::{
    is_error_line, parse_bulk_preamble, parse_ping_reply, parse_psync_reply, take_line,
    BulkPreamble, PingReply, PsyncReply, ReplyError, HANDSHAKE_LINE_BUF, PREAMBLE_LINE_BUF,
};
use crate::rng::Rng;
use crate::{secs_between, Level, NodeHistory};

mod handshake;
mod info;
mod stream;
mod transfer;

pub use info::{ReplicaInfo, TransferInfo};

/// Replica-side settings (`replicaof`'s companions in redis.conf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaConfig {
    /// Port announced with `REPLCONF listening-port` (Redis:
    /// `replica-announce-port`, else the TLS port for TLS replication,
    /// else `port`).
    pub listening_port: u16,
    /// `replica-announce-ip`: when set, sent with `REPLCONF ip-address`.
    pub announce_ip: Option<String>,
    /// `masteruser`: when set together with `masterauth`, AUTH sends both.
    pub master_user: Option<Bytes>,
    /// `masterauth`: when set, the handshake authenticates.
    pub master_auth: Option<Bytes>,
    /// `repl-timeout` in seconds (Redis default 60).
    pub repl_timeout_secs: u64,
    /// Whether the next snapshot is parsed as it arrives (`repl-diskless-load`
    /// `swapdb`, or `on-empty-db` with an empty data set) rather than
    /// written to a file first; only the log lines depend on it here, the
    /// server decides where the bytes go.
    pub load_to_parser: bool,
}

impl Default for ReplicaConfig {
    /// Redis's defaults, with port 6379.
    fn default() -> Self {
        ReplicaConfig {
            listening_port: 6379,
            announce_ip: None,
            master_user: None,
            master_auth: None,
            repl_timeout_secs: 60,
            load_to_parser: false,
        }
    }
}

/// Redis's `repl_state` values that can be observed between calls. (Redis's
/// `SEND_HANDSHAKE` and `SEND_PSYNC` are passed through within one call.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplState {
    /// No master configured: this node is a master.
    None,
    /// A master is configured but no connection is under way; the next
    /// cron tick connects.
    Connect,
    /// [`Action::Connect`] was emitted; waiting for the TCP connection.
    Connecting,
    /// `PING` sent.
    ReceivePingReply,
    /// `AUTH` sent (only when `masterauth` is set).
    ReceiveAuthReply,
    /// `REPLCONF listening-port` sent.
    ReceivePortReply,
    /// `REPLCONF ip-address` sent (only when `replica-announce-ip` is set).
    ReceiveIpReply,
    /// `REPLCONF capa eof capa psync2` sent.
    ReceiveCapaReply,
    /// `PSYNC` sent.
    ReceivePsyncReply,
    /// Receiving the snapshot, or (after [`Action::SnapshotDone`]) waiting
    /// for the server to load it.
    Transfer,
    /// Streaming commands from the master.
    Connected,
}

impl ReplState {
    /// True for the handshake states (Redis's `slaveIsInHandshakeState`).
    pub fn is_handshake(self) -> bool {
        matches!(
            self,
            ReplState::ReceivePingReply
                | ReplState::ReceiveAuthReply
                | ReplState::ReceivePortReply
                | ReplState::ReceiveIpReply
                | ReplState::ReceiveCapaReply
                | ReplState::ReceivePsyncReply
        )
    }

    /// The state word of the `ROLE` reply: `none`, `connect`, `connecting`,
    /// `handshake`, `sync` or `connected`.
    pub fn role_word(self) -> &'static str {
        match self {
            s if s.is_handshake() => "handshake",
            ReplState::None => "none",
            ReplState::Connect => "connect",
            ReplState::Connecting => "connecting",
            ReplState::Transfer => "sync",
            _ => "connected",
        }
    }
}

/// `master_link_status` in INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkStatus {
    /// Streaming from the master (`Connected`).
    Up,
    /// Any other state.
    Down,
}

impl LinkStatus {
    /// `up` or `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Up => "up",
            LinkStatus::Down => "down",
        }
    }
}

/// What the server must do for the replica side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a TCP connection to the master, then report
    /// [`Replica::handle_connected`] or [`Replica::handle_connect_failed`].
    /// Any previous master socket has been closed by an earlier
    /// [`Action::Disconnect`].
    Connect {
        /// Master host, as configured.
        host: String,
        /// Master port.
        port: u16,
    },
    /// Close the master socket and forget it. It may follow a loss the
    /// server itself reported (then there is nothing left to close).
    Disconnect,
    /// A snapshot payload begins; `size` is known for `$<len>` transfers
    /// and `None` for `$EOF:` (diskless) ones. The server may open its
    /// temporary file.
    SnapshotStart {
        /// Payload length when announced up front.
        size: Option<u64>,
        /// The master's replication ID for this sync: when it is this
        /// node's own ID, the old data set is an earlier point of the same
        /// history (Redis then serves it while loading, `async_loading`).
        replid: ReplId,
    },
    /// Next bytes of the snapshot payload (framing and EOF mark removed).
    SnapshotChunk(Bytes),
    /// The payload is complete: flush the old dataset, load the snapshot,
    /// then call [`Replica::handle_snapshot_loaded`] or
    /// [`Replica::handle_snapshot_failed`]. Stream bytes arriving meanwhile
    /// are buffered.
    SnapshotDone,
    /// The transfer was aborted before [`Action::SnapshotDone`]; discard
    /// what was received.
    SnapshotFailed,
    /// Execute a command from the master (replies suppressed). `REPLCONF`
    /// is handled here and never emitted. `MULTI` ... `EXEC` arrive as
    /// separate commands; queue them like a client in a transaction would.
    Apply {
        /// The command and its arguments.
        args: Vec<Bytes>,
        /// Bytes this command took on the wire.
        wire_len: usize,
    },
    /// The link was lost inside a `MULTI`: discard the queued transaction
    /// (its commands will be received again), as Redis does when caching
    /// the master.
    DiscardTransaction,
    /// Raw stream bytes just applied, to append verbatim to this node's
    /// backlog and sub-replicas ([`crate::master::Master::handle_upstream`]
    /// does it). Emitted when the replication offset advances, so a
    /// transaction is forwarded whole at its `EXEC`.
    Forward(Bytes),
    /// A full sync is about to replace the dataset: disconnect the
    /// sub-replicas and free the backlog (Redis's
    /// `replicationAttachToNewMaster`).
    DiscardHistory,
    /// The node's replication IDs and offset are now `history`; the master
    /// side creates its backlog if it has none and, when
    /// `disconnect_replicas`, drops its sub-replicas so they learn the new
    /// ID.
    AdoptHistory {
        /// The node's new IDs and offset.
        history: NodeHistory,
        /// Whether sub-replicas must reconnect.
        disconnect_replicas: bool,
    },
    /// The node's role or master link changed.
    Role {
        /// True while a master is configured.
        replica: bool,
        /// True while the link is `Connected`.
        link_up: bool,
    },
}

/// Misuse of the control API, or an event that makes no sense in the
/// current state. The machine is unchanged when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplicaError {
    /// Redis answers `-LOADING` to REPLICAOF while loading a snapshot.
    #[error("LOADING the replica is loading the dataset received from its master")]
    Loading,
    /// No master is configured.
    #[error("no master is configured")]
    NoMaster,
    /// A cached master can only be installed while not linked to a master.
    #[error("cannot install a cached master while a master link is active")]
    LinkActive,
    /// An event arrived in a state where it cannot happen.
    #[error("{event} is not expected in state {state:?}")]
    UnexpectedEvent {
        /// The handler that was called.
        event: &'static str,
        /// The state the machine was in.
        state: ReplState,
    },
}

/// Outcome of [`Replica::set_master`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetMasterOutcome {
    /// The new master is configured and a connection is under way.
    Connecting,
    /// Already replicating from that host and port; nothing changed (Redis
    /// replies `+OK Already connected to specified master`).
    AlreadyConnected,
}

/// Where a transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the `$...` line (newlines are keepalives).
    Preamble,
    /// Reading exactly `size` bytes.
    Length { size: u64 },
    /// Reading until the 40-byte mark.
    Eof { mark: [u8; REPLID_LEN] },
    /// Payload handed over; the server is loading it.
    Loading,
}

/// The connected master (Redis's `server.master` client).
#[derive(Debug)]
struct MasterLink {
    /// The master's replication ID.
    replid: ReplId,
    /// Applied offset (`reploff`).
    reploff: u64,
    /// The master does not do PSYNC offsets (SYNC fallback): no periodic
    /// ACKs and nothing to cache.
    pre_psync: bool,
    /// Last time any byte came from the master (`lastinteraction`).
    last_interaction_ms: u64,
    /// Bytes read and not yet applied, verbatim, for forwarding.
    raw: BytesMut,
    /// How many bytes at the front of `raw` belong to commands already
    /// decoded but not yet counted (inside MULTI, or empty lines).
    unapplied: usize,
    /// Inside MULTI: the offset only advances at EXEC/DISCARD.
    in_multi: bool,
    /// GETACKs queued inside MULTI, answered at EXEC.
    queued_getacks: usize,
}

/// Redis's `server.cached_master`: what a PSYNC can ask to continue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CachedMaster {
    replid: ReplId,
    reploff: u64,
}

/// The replica state machine. See the [module docs](self).
#[derive(Debug)]
pub struct Replica {
    config: ReplicaConfig,
    rng: Rng,
    master: Option<(String, u16)>,
    state: ReplState,
    phase: Phase,
    /// Unconsumed bytes from the master socket.
    inbuf: BytesMut,
    /// `repl_transfer_lastio`.
    transfer_lastio_ms: u64,
    /// `repl_transfer_size` (-1 until the preamble).
    transfer_size: i64,
    /// `repl_transfer_read`.
    transfer_read: u64,
    /// `usemark`: the last transfer used an EOF mark.
    usemark: bool,
    /// `master_replid` learnt from +FULLRESYNC (NONE if unknown).
    sync_replid: ReplId,
    /// `master_initial_offset` (None = -1, unknown).
    sync_offset: Option<u64>,
    link: Option<MasterLink>,
    cached: Option<CachedMaster>,
    /// The node's IDs and `master_repl_offset` as this side tracks them.
    node: NodeHistory,
    /// `repl_down_since`.
    down_since_ms: Option<u64>,
    /// The socket went away while the server was loading.
    lost_during_load: bool,
    cron_due_ms: u64,
    decoder: RequestDecoder,
    args: Vec<Bytes>,
    transmit: VecDeque<Bytes>,
    actions: VecDeque<Action>,
    logs: VecDeque<(Level, String)>,
}

/// Limits for the master link: Redis exempts its master from
/// `proto-max-bulk-len`.
fn master_link_limits() -> DecoderLimits {
    DecoderLimits {
        max_bulk_len: i64::MAX.unsigned_abs(),
        ..DecoderLimits::default()
    }
}

/// Encodes a command the way Redis's `sendCommand` does.
fn command(args: &[&[u8]]) -> Bytes {
    let mut out = BytesMut::new();
    encode::command(&mut out, args);
    out.freeze()
}

fn eq_ic(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// The `setProtocolError` reason Redis logs for a decoder error.
fn protocol_error_reason(e: &ProtocolError) -> String {
    match e {
        ProtocolError::TooBigInlineRequest => "too big inline request".into(),
        ProtocolError::UnbalancedQuotes => "unbalanced quotes in inline request".into(),
        ProtocolError::TooBigMultibulkCount => "too big mbulk count string".into(),
        ProtocolError::InvalidMultibulkLength => "invalid mbulk count".into(),
        ProtocolError::UnauthenticatedMultibulkLength => "unauth mbulk count".into(),
        ProtocolError::TooBigBulkCount => "too big bulk count string".into(),
        ProtocolError::ExpectedDollar(_) => "expected $ but got something else".into(),
        ProtocolError::InvalidBulkLength => "invalid bulk length".into(),
        ProtocolError::UnauthenticatedBulkLength => "unauth bulk length".into(),
        other => other.to_string(),
    }
}

/// Redis's sample of the query buffer in a protocol-error log line.
fn query_buffer_sample(buf: &[u8]) -> String {
    const DUMP: usize = 128;
    let show = |b: &[u8]| -> String {
        b.iter()
            .map(|&c| {
                if (0x20..0x7f).contains(&c) {
                    char::from(c)
                } else {
                    '.'
                }
            })
            .collect()
    };
    if buf.len() < DUMP {
        format!("Query buffer during protocol error: '{}'", show(buf))
    } else {
        let head = buf.get(..DUMP / 2).unwrap_or(&[]);
        let tail = buf.get(buf.len() - DUMP / 2..).unwrap_or(&[]);
        format!(
            "Query buffer during protocol error: '{}' (... more {} bytes ...) '{}'",
            show(head),
            buf.len() - DUMP,
            show(tail)
        )
    }
}

/// True for `REPLCONF ... GETACK <x> ...` as Redis's `replconfCommand`
/// would reach it (odd argument count, known options before it).
fn is_getack(args: &[Bytes]) -> bool {
    if args.len() % 2 == 0 {
        return false;
    }
    for pair in args.get(1..).unwrap_or(&[]).chunks(2) {
        let Some(opt) = pair.first() else { break };
        if eq_ic(opt, "getack") {
            return true;
        }
        let known = [
            "listening-port",
            "ip-address",
            "capa",
            "rdb-only",
            "rdb-filter-only",
        ];
        if !known.iter().any(|k| eq_ic(opt, k)) {
            return false;
        }
    }
    false
}

impl Replica {
    /// A replica-side machine with no master configured (state `None`).
    /// `rng_seed` feeds the replication ID created on promotion.
    pub fn new(config: ReplicaConfig, rng_seed: u64) -> Self {
        let mut rng = Rng::new(rng_seed);
        let ids = ReplicationIds::from_parts(rng.replid(), ReplId::NONE, -1);
        Replica {
            config,
            rng,
            master: None,
            state: ReplState::None,
            phase: Phase::Preamble,
            inbuf: BytesMut::new(),
            transfer_lastio_ms: 0,
            transfer_size: -1,
            transfer_read: 0,
            usemark: false,
            sync_replid: ReplId::NONE,
            sync_offset: None,
            link: None,
            cached: None,
            node: NodeHistory { ids, offset: 0 },
            down_since_ms: None,
            lost_during_load: false,
            cron_due_ms: 0,
            decoder: RequestDecoder::new(master_link_limits()),
            args: Vec::new(),
            transmit: VecDeque::new(),
            actions: VecDeque::new(),
            logs: VecDeque::new(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &ReplicaConfig {
        &self.config
    }

    /// Changes the configuration (e.g. `CONFIG SET masterauth`); takes
    /// effect at the next handshake or timeout check.
    pub fn config_mut(&mut self) -> &mut ReplicaConfig {
        &mut self.config
    }

    // ----------------------------------------------------------------
    // Output queues
    // ----------------------------------------------------------------

    /// Next bytes to write to the current master socket.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmit.pop_front()
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
    /// (the 1 Hz replication cron), or `None` while no master is set.
    pub fn next_timeout(&self) -> Option<u64> {
        self.master.as_ref().map(|_| self.cron_due_ms)
    }

    // ----------------------------------------------------------------
    // Observers
    // ----------------------------------------------------------------

    /// The current `repl_state`.
    pub fn state(&self) -> ReplState {
        self.state
    }

    /// The configured master, if any.
    pub fn master_addr(&self) -> Option<(&str, u16)> {
        self.master.as_ref().map(|(h, p)| (h.as_str(), *p))
    }

    /// `master_link_status`.
    pub fn link_status(&self) -> LinkStatus {
        if self.state == ReplState::Connected {
            LinkStatus::Up
        } else {
            LinkStatus::Down
        }
    }

    /// The node's replication IDs and offset as the replica side knows
    /// them (equal to the master side's once history has been adopted).
    pub fn history(&self) -> NodeHistory {
        self.node
    }

    /// The node's replication IDs.
    pub fn ids(&self) -> ReplicationIds {
        self.node.ids
    }

    /// Offset of the master stream processed so far (Redis's
    /// `replicationGetSlaveOffset`: the link's, else the cached master's,
    /// else 0).
    pub fn offset(&self) -> u64 {
        match (&self.link, &self.cached) {
            (Some(l), _) => l.reploff,
            (None, Some(c)) => c.reploff,
            _ => 0,
        }
    }

    /// Offset of the master stream read so far, applied or not
    /// (`read_reploff`).
    pub fn read_offset(&self) -> u64 {
        match (&self.link, &self.cached) {
            (Some(l), _) => l.reploff + l.raw.len() as u64,
            (None, Some(c)) => c.reploff,
            _ => 0,
        }
    }

    /// The offset in the `ROLE` reply (-1 without a master link).
    pub fn role_offset(&self) -> i64 {
        self.link
            .as_ref()
            .map_or(-1, |l| i64::try_from(l.reploff).unwrap_or(i64::MAX))
    }

    /// The replication ID of the cached master and the offset a PSYNC
    /// would continue from, if a partial resync can be attempted.
    pub fn cached_master(&self) -> Option<(ReplId, u64)> {
        self.cached.map(|c| (c.replid, c.reploff))
    }

    // ----------------------------------------------------------------
    // Control
    // ----------------------------------------------------------------

    /// `REPLICAOF host port` (Redis's `replicationSetMaster`).
    ///
    /// When the node was a master, `own_history` (its current IDs and
    /// offset, from [`crate::master::Master::history`]) becomes a cached
    /// master so the new master may accept a partial resync; pass `None`
    /// at start-up when [`set_cached_master`](Self::set_cached_master)
    /// already installed the persisted history. An existing master link is
    /// cached too (PSYNC2 lets the new master continue it).
    pub fn set_master(
        &mut self,
        now_ms: u64,
        host: &str,
        port: u16,
        own_history: Option<NodeHistory>,
    ) -> Result<SetMasterOutcome, ReplicaError> {
        if self.is_loading() {
            return Err(ReplicaError::Loading);
        }
        if let Some((h, p)) = &self.master {
            if h.eq_ignore_ascii_case(host) && *p == port {
                self.log(
                    Level::Notice,
                    "REPLICAOF would result into synchronization with the master we are already \
                     connected with. No operation performed.",
                );
                return Ok(SetMasterOutcome::AlreadyConnected);
            }
        }
        let was_master = self.master.is_none();
        // Clear the address first so losing the current link does not
        // reconnect to the old master.
        self.master = None;
        if self.link.is_some() {
            self.free_master_link(now_ms, true);
        }
        self.master = Some((host.to_owned(), port));
        self.cancel_handshake(now_ms, false);
        if was_master {
            if let Some(h) = own_history {
                self.discard_cached_master();
                self.node = h;
                self.cache_master_using_myself();
            }
        }
        self.actions.push_back(Action::Role {
            replica: true,
            link_up: false,
        });
        // The cron runs once a second from now on.
        if self.cron_due_ms <= now_ms {
            self.cron_due_ms = now_ms.saturating_add(1000);
        }
        self.state = ReplState::Connect;
        self.log(Level::Notice, format!("Connecting to MASTER {host}:{port}"));
        self.connect_with_master(now_ms);
        Ok(SetMasterOutcome::Connecting)
    }

    /// `REPLICAOF NO ONE` (Redis's `replicationUnsetMaster`): drop the
    /// link, forget the cached master, and start a new history — the
    /// current ID becomes the secondary one valid up to `offset + 1`, a new
    /// random ID becomes primary — so former siblings can partially resync
    /// with this node. Returns the resulting history; the same is emitted as
    /// [`Action::AdoptHistory`] (with sub-replicas disconnected).
    pub fn set_no_master(&mut self, now_ms: u64) -> Result<NodeHistory, ReplicaError> {
        if self.master.is_none() {
            return Err(ReplicaError::NoMaster);
        }
        if self.is_loading() {
            return Err(ReplicaError::Loading);
        }
        self.master = None;
        if self.link.is_some() {
            self.free_master_link(now_ms, true);
        }
        self.discard_cached_master();
        self.cancel_handshake(now_ms, false);
        let new_id = self.rng.replid();
        self.node.ids.shift(new_id, self.node.offset);
        self.log(Level::Warning, self.node.ids.shift_log_line());
        self.state = ReplState::None;
        self.down_since_ms = None;
        self.actions.push_back(Action::AdoptHistory {
            history: self.node,
            disconnect_replicas: true,
        });
        self.actions.push_back(Action::Role {
            replica: false,
            link_up: false,
        });
        Ok(self.node)
    }

    /// Installs the history persisted in an RDB file (`repl-id`,
    /// `repl-offset` aux fields) as a cached master, so that after a restart
    /// the first PSYNC asks to continue from `offset + 1`. Redis does this
    /// when a node configured as a replica loads its RDB at start-up.
    pub fn set_cached_master(&mut self, replid: ReplId, offset: u64) -> Result<(), ReplicaError> {
        if self.link.is_some() || self.is_loading() {
            return Err(ReplicaError::LinkActive);
        }
        self.node = NodeHistory {
            ids: ReplicationIds::from_parts(replid, ReplId::NONE, -1),
            offset,
        };
        self.cache_master_using_myself();
        Ok(())
    }

    // ----------------------------------------------------------------
    // Socket events
    // ----------------------------------------------------------------

    /// The connection requested by [`Action::Connect`] is established:
    /// the handshake starts with `PING`.
    pub fn handle_connected(&mut self, _now_ms: u64) -> Result<(), ReplicaError> {
        if self.state != ReplState::Connecting {
            return Err(self.unexpected("handle_connected"));
        }
        self.log(
            Level::Notice,
            "Non blocking connect for SYNC fired the event.",
        );
        self.state = ReplState::ReceivePingReply;
        self.send(command(&[b"PING"]));
        Ok(())
    }

    /// The connection requested by [`Action::Connect`] failed; `error` is
    /// the system's text (e.g. `Connection refused`). The next cron tick
    /// retries.
    pub fn handle_connect_failed(&mut self, _now_ms: u64, error: &str) -> Result<(), ReplicaError> {
        if self.state != ReplState::Connecting {
            return Err(self.unexpected("handle_connect_failed"));
        }
        self.log(
            Level::Warning,
            format!("Error condition on socket for SYNC: {error}"),
        );
        self.sync_error();
        Ok(())
    }

    /// The master socket was closed by the peer or failed.
    pub fn handle_disconnected(&mut self, now_ms: u64) -> Result<(), ReplicaError> {
        match self.state {
            ReplState::Connecting => {
                self.log(
                    Level::Warning,
                    "Error condition on socket for SYNC: connection lost",
                );
                self.sync_error();
            }
            ReplState::ReceivePsyncReply => {
                self.log(
                    Level::Warning,
                    "Failed to read response from the server: connection lost",
                );
                self.log(
                    Level::Warning,
                    "Master did not reply to PSYNC, will try later",
                );
                self.sync_error();
            }
            s if s.is_handshake() => {
                self.log(
                    Level::Warning,
                    "Failed to read response from the server: connection lost",
                );
                self.log(
                    Level::Warning,
                    "Master did not respond to command during SYNC handshake",
                );
                self.sync_error();
            }
            ReplState::Transfer => match self.phase {
                Phase::Loading => self.lost_during_load = true,
                Phase::Preamble => {
                    self.log(
                        Level::Warning,
                        "I/O error reading bulk count from MASTER: connection lost",
                    );
                    self.cancel_handshake(now_ms, true);
                }
                Phase::Length { .. } | Phase::Eof { .. } => {
                    self.log(
                        Level::Warning,
                        "I/O error trying to sync with MASTER: connection lost",
                    );
                    self.cancel_handshake(now_ms, true);
                }
            },
            ReplState::Connected => self.free_master_link(now_ms, true),
            ReplState::None | ReplState::Connect => {
                return Err(self.unexpected("handle_disconnected"))
            }
            _ => {}
        }
        Ok(())
    }

    /// Bytes received from the master socket.
    pub fn handle_data(&mut self, now_ms: u64, data: &[u8]) -> Result<(), ReplicaError> {
        match self.state {
            ReplState::None | ReplState::Connect | ReplState::Connecting => {
                return Err(self.unexpected("handle_data"));
            }
            ReplState::Connected => {
                if let Some(link) = self.link.as_mut() {
                    link.last_interaction_ms = now_ms;
                    link.raw.extend_from_slice(data);
                }
                self.inbuf.extend_from_slice(data);
            }
            ReplState::Transfer => {
                if matches!(self.phase, Phase::Eof { .. }) {
                    self.transfer_read += data.len() as u64;
                }
                self.inbuf.extend_from_slice(data);
            }
            _ => self.inbuf.extend_from_slice(data),
        }
        self.process_input(now_ms);
        Ok(())
    }

    /// The server finished loading the snapshot announced by
    /// [`Action::SnapshotDone`]: the link goes up, the node adopts the
    /// master's ID and offset, and buffered stream bytes are processed.
    pub fn handle_snapshot_loaded(&mut self, now_ms: u64) -> Result<(), ReplicaError> {
        if !self.is_loading() {
            return Err(self.unexpected("handle_snapshot_loaded"));
        }
        let reploff = self.sync_offset.unwrap_or(0);
        self.link = Some(MasterLink {
            replid: self.sync_replid,
            reploff,
            pre_psync: self.sync_offset.is_none(),
            last_interaction_ms: now_ms,
            raw: self.inbuf.clone(),
            unapplied: 0,
            in_multi: false,
            queued_getacks: 0,
        });
        self.decoder.reset();
        self.state = ReplState::Connected;
        self.phase = Phase::Preamble;
        self.down_since_ms = None;
        self.actions.push_back(Action::Role {
            replica: true,
            link_up: true,
        });
        self.node = NodeHistory {
            ids: ReplicationIds::from_parts(self.sync_replid, ReplId::NONE, -1),
            offset: reploff,
        };
        self.actions.push_back(Action::AdoptHistory {
            history: self.node,
            disconnect_replicas: false,
        });
        self.log(
            Level::Notice,
            "MASTER <-> REPLICA sync: Finished with success",
        );
        if self.usemark {
            self.send_ack();
        }
        self.process_stream(now_ms);
        if std::mem::take(&mut self.lost_during_load) && self.link.is_some() {
            self.free_master_link(now_ms, true);
        }
        Ok(())
    }

    /// The server could not load the snapshot; `reason` goes into the log
    /// line. The link is dropped and a new sync starts at once.
    pub fn handle_snapshot_failed(
        &mut self,
        now_ms: u64,
        reason: &str,
    ) -> Result<(), ReplicaError> {
        if !self.is_loading() {
            return Err(self.unexpected("handle_snapshot_failed"));
        }
        self.log(
            Level::Warning,
            format!("Failed trying to load the MASTER synchronization DB from disk: {reason}"),
        );
        self.lost_during_load = false;
        self.cancel_handshake(now_ms, true);
        Ok(())
    }

    /// The replication cron (Redis's `replicationCron`, once a second):
    /// handshake/transfer/link timeouts, reconnection, `REPLCONF ACK`, and
    /// a newline to the master every second while loading.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if now_ms < self.cron_due_ms {
            return;
        }
        self.cron_due_ms = now_ms.saturating_add(1000);
        let Some((host, port)) = self.master.clone() else {
            return;
        };
        let timeout = self.config.repl_timeout_secs;
        if (self.state == ReplState::Connecting || self.state.is_handshake())
            && secs_between(self.transfer_lastio_ms, now_ms) > timeout
        {
            self.log(Level::Warning, "Timeout connecting to the MASTER...");
            self.cancel_handshake(now_ms, true);
        }
        if self.state == ReplState::Transfer
            && self.phase != Phase::Loading
            && secs_between(self.transfer_lastio_ms, now_ms) > timeout
        {
            self.log(
                Level::Warning,
                "Timeout receiving bulk data from MASTER... If the problem persists try to set \
                 the 'repl-timeout' parameter in redis.conf to a larger value.",
            );
            self.cancel_handshake(now_ms, true);
        }
        if self.state == ReplState::Connected
            && self
                .link
                .as_ref()
                .is_some_and(|l| secs_between(l.last_interaction_ms, now_ms) > timeout)
        {
            self.log(
                Level::Warning,
                "MASTER timeout: no data nor PING received...",
            );
            self.free_master_link(now_ms, true);
        }
        if self.state == ReplState::Connect {
            self.log(Level::Notice, format!("Connecting to MASTER {host}:{port}"));
            self.connect_with_master(now_ms);
        }
        if self.link.as_ref().is_some_and(|l| !l.pre_psync) {
            self.send_ack();
        }
        if self.is_loading() {
            self.send(Bytes::from_static(b"\n"));
        }
    }

    // ----------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------

    fn log(&mut self, level: Level, text: impl Into<String>) {
        self.logs.push_back((level, text.into()));
    }

    fn send(&mut self, bytes: Bytes) {
        self.transmit.push_back(bytes);
    }

    fn unexpected(&self, event: &'static str) -> ReplicaError {
        ReplicaError::UnexpectedEvent {
            event,
            state: self.state,
        }
    }

    /// True between [`Action::SnapshotDone`] and the server's
    /// `handle_snapshot_loaded` / `handle_snapshot_failed` (Redis answers
    /// `-LOADING` meanwhile; `REPLICAOF` is refused).
    pub fn is_loading(&self) -> bool {
        self.state == ReplState::Transfer && self.phase == Phase::Loading
    }

    fn master_name(&self) -> String {
        self.master
            .as_ref()
            .map_or_else(String::new, |(h, p)| crate::format_addr(h, i64::from(*p)))
    }

    /// `connectWithMaster`.
    fn connect_with_master(&mut self, now_ms: u64) {
        let Some((host, port)) = self.master.clone() else {
            return;
        };
        self.inbuf.clear();
        self.transmit.clear();
        self.actions.push_back(Action::Connect { host, port });
        self.transfer_lastio_ms = now_ms;
        self.state = ReplState::Connecting;
        self.log(Level::Notice, "MASTER <-> REPLICA sync started");
    }

    /// The `error:` path of `syncWithMaster`: close, retry at the next
    /// cron tick.
    fn sync_error(&mut self) {
        self.actions.push_back(Action::Disconnect);
        self.inbuf.clear();
        self.transmit.clear();
        self.state = ReplState::Connect;
    }

    /// `cancelReplicationHandshake`: abort a connection attempt, handshake
    /// or transfer; with `reconnect`, start over at once.
    fn cancel_handshake(&mut self, now_ms: u64, reconnect: bool) -> bool {
        match self.state {
            ReplState::Transfer => {
                if matches!(self.phase, Phase::Length { .. } | Phase::Eof { .. }) {
                    self.actions.push_back(Action::SnapshotFailed);
                }
                self.phase = Phase::Preamble;
                self.transfer_size = -1;
                self.transfer_read = 0;
            }
            s if s == ReplState::Connecting || s.is_handshake() => {}
            _ => return false,
        }
        self.actions.push_back(Action::Disconnect);
        self.inbuf.clear();
        self.transmit.clear();
        self.state = ReplState::Connect;
        if reconnect {
            let name = self.master_name();
            self.log(
                Level::Notice,
                format!("Reconnecting to MASTER {name} after failure"),
            );
            self.connect_with_master(now_ms);
        }
        true
    }

    /// `freeClient(server.master)`: the connected link is gone. With
    /// `cache`, the master is kept for a later PSYNC; then, if a master is
    /// still configured, reconnect at once.
    fn free_master_link(&mut self, now_ms: u64, cache: bool) {
        let Some(link) = self.link.take() else {
            return;
        };
        self.log(Level::Warning, "Connection with master lost.");
        self.actions.push_back(Action::Disconnect);
        if link.in_multi {
            self.actions.push_back(Action::DiscardTransaction);
        }
        if cache && !link.pre_psync {
            self.log(Level::Notice, "Caching the disconnected master state.");
            self.cached = Some(CachedMaster {
                replid: link.replid,
                reploff: link.reploff,
            });
        }
        self.inbuf.clear();
        self.transmit.clear();
        self.decoder.reset();
        self.state = ReplState::Connect;
        self.down_since_ms = Some(now_ms);
        if self.master.is_some() {
            self.actions.push_back(Action::Role {
                replica: true,
                link_up: false,
            });
            let name = self.master_name();
            self.log(Level::Notice, format!("Reconnecting to MASTER {name}"));
            self.connect_with_master(now_ms);
        }
    }

    /// `replicationDiscardCachedMaster`.
    fn discard_cached_master(&mut self) {
        if self.cached.take().is_some() {
            self.log(Level::Notice, "Discarding previously cached master state.");
        }
    }

    /// `replicationCacheMasterUsingMyself`.
    fn cache_master_using_myself(&mut self) {
        self.log(
            Level::Notice,
            "Before turning into a replica, using my own master parameters to synthesize a \
             cached master: I may be able to synchronize with the new master with just a \
             partial transfer.",
        );
        self.cached = Some(CachedMaster {
            replid: *self.node.ids.replid(),
            reploff: self.node.offset,
        });
    }

    /// Runs the state machine over buffered input until it needs more.
    fn process_input(&mut self, now_ms: u64) {
        loop {
            let progressed = match self.state {
                ReplState::ReceivePingReply => self.on_ping_reply(now_ms),
                ReplState::ReceiveAuthReply => self.on_auth_reply(now_ms),
                ReplState::ReceivePortReply => self.on_port_reply(now_ms),
                ReplState::ReceiveIpReply => self.on_ip_reply(now_ms),
                ReplState::ReceiveCapaReply => self.on_capa_reply(now_ms),
                ReplState::ReceivePsyncReply => self.on_psync_reply(now_ms),
                ReplState::Transfer => match self.phase {
                    Phase::Preamble => self.on_preamble(now_ms),
                    Phase::Length { size } => self.on_length_payload(now_ms, size),
                    Phase::Eof { mark } => self.on_eof_payload(now_ms, mark),
                    Phase::Loading => false,
                },
                ReplState::Connected => {
                    self.process_stream(now_ms);
                    false
                }
                ReplState::None | ReplState::Connect | ReplState::Connecting => {
                    self.inbuf.clear();
                    false
                }
            };
            if !progressed {
                break;
            }
        }
    }
}
