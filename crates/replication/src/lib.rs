//! Sans-IO master–replica replication for replikv, following Redis 7.0.
//!
//! Two state machines, in the style of quinn-proto or raft-rs: they never
//! touch a socket, a clock, a file or the keyspace. Time arrives as
//! `now_ms: u64` (any monotonic millisecond clock; Redis's second-resolution
//! rules are applied to `now_ms / 1000`), bytes and events arrive through
//! `handle_*` methods, and everything the server must do comes out of
//! `poll_*` queues.
//!
//! - [`replica::Replica`]: the link from this node to its master — the
//!   `repl_state` sequence of Redis's `syncWithMaster`, the snapshot
//!   transfer, the command stream with exact offsets, `REPLCONF ACK`,
//!   timeouts, reconnection and promotion.
//! - [`master::Master`]: the node's replication source — `SYNC`/`PSYNC`/
//!   `REPLCONF` from replicas, the backlog and replication IDs (through
//!   `repl-backlog`), snapshots shared by waiting replicas, diskless
//!   transfers, PINGs, timeouts, output-buffer limits, `WAIT` counts, and
//!   INFO fields.
//! - [`replies`]: the parsers of what a master says to a replica outside
//!   the command stream (fuzz-friendly: any bytes in, never a panic).
//!
//! # How a server wires them
//!
//! A node owns one [`master::Master`] whatever its role (a replica serves
//! its own sub-replicas from it) and one [`replica::Replica`]. Every
//! [`replica::Action`] is first offered to
//! [`master::Master::handle_upstream`], which applies the history-related
//! ones (forwarded stream bytes, new replication IDs, role changes); the
//! server handles the rest (connect, apply a command, load a snapshot...).
//!
//! ```text
//!            bytes/events                         bytes/events
//!  master ───────────────▶ Replica ──Action──▶ server ◀─────── sub-replicas
//!  socket ◀── poll_transmit ─┘          │  │       │                ▲
//!                                       │  └─Apply─▶ keyspace        │
//!                                       └─handle_upstream─▶ Master ──┘
//!                                          (Forward, AdoptHistory,  SendToReplica
//!                                           DiscardHistory, Role)
//! ```
//!
//! Both machines draw replication IDs and EOF marks from a generator seeded
//! by the caller, so a run is reproducible.

pub mod master;
pub mod node;
pub mod replica;
pub mod replies;
mod rng;

use repl_backlog::ReplicationIds;

pub use node::{Event, Node};
pub use repl_backlog;

/// Severity of a log line, Redis's levels (`LL_DEBUG` .. `LL_WARNING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `LL_DEBUG` (`.` in Redis's log).
    Debug,
    /// `LL_VERBOSE` (`-`).
    Verbose,
    /// `LL_NOTICE` (`*`).
    Notice,
    /// `LL_WARNING` (`#`).
    Warning,
}

/// A node's position in replication history: its replication IDs and its
/// replication offset (`master_repl_offset`). Passed between the replica
/// and master sides when the history changes hands (promotion, demotion,
/// full sync, restart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeHistory {
    /// `master_replid`, `master_replid2` and `second_repl_offset`.
    pub ids: ReplicationIds,
    /// `master_repl_offset`.
    pub offset: u64,
}

/// Formats `ip:port` like Redis's `anetFormatAddr` (IPv6 in brackets).
pub(crate) fn format_addr(ip: &str, port: i64) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// Whole seconds elapsed between two millisecond instants, counted the
/// way Redis subtracts second-resolution timestamps.
pub(crate) fn secs_between(earlier_ms: u64, now_ms: u64) -> u64 {
    (now_ms / 1000).saturating_sub(earlier_ms / 1000)
}

#[cfg(test)]
mod tests;
