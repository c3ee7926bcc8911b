//! One replication node: its [`Master`] side and its [`Replica`] side, and
//! the routing between them that every host needs.
//!
//! Whatever its role, a node serves its own replicas from its `Master`, and
//! its `Replica` follows its master (idle on a master). What the replica
//! side reports about history (stream bytes applied, new replication IDs,
//! role and link changes) must reach the master side before the host acts
//! on it, or sub-replicas would see offsets the node does not have. [`Node::poll`]
//! does that routing, so the server and the test simulator drive the very
//! same code.

use bytes::Bytes;

use crate::master::{self, Master};
use crate::replica::{self, Replica};
use crate::Level;

/// Something the host must do, in the order it happened.
#[derive(Debug)]
pub enum Event {
    /// A log line (Redis's wording and level).
    Log(Level, String),
    /// A replica-side action; the master side has already taken what
    /// concerns it (see [`Master::handle_upstream`]).
    Replica(replica::Action),
    /// A master-side action.
    Master(master::Action),
    /// Bytes to write on the link to this node's own master.
    Transmit(Bytes),
}

/// Both sides of a node.
#[derive(Debug)]
pub struct Node {
    /// The source of this node's replicas (IDs, offset, backlog).
    pub master: Master,
    /// The link to this node's master.
    pub replica: Replica,
}

impl Node {
    /// A node from its two sides.
    pub fn new(master: Master, replica: Replica) -> Self {
        Node { master, replica }
    }

    /// When [`Node::handle_timeout`] is next due, if either side has a
    /// timer.
    pub fn next_timeout(&self) -> Option<u64> {
        match (self.replica.next_timeout(), self.master.next_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs both sides' timers (Redis's `replicationCron`): the link to the
    /// master first (its timeout, its ACK), then the replicas.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.replica.handle_timeout(now_ms);
        self.master.handle_timeout(now_ms);
    }

    /// The next event, or `None` when both sides are idle. Log lines come
    /// first (so they read in the order things happened), then replica
    /// actions, then master actions (a replica action may cause some), then
    /// bytes for the master link.
    pub fn poll(&mut self, now_ms: u64) -> Option<Event> {
        if let Some((level, line)) = self.replica.poll_log() {
            return Some(Event::Log(level, line));
        }
        if let Some((level, line)) = self.master.poll_log() {
            return Some(Event::Log(level, line));
        }
        if let Some(action) = self.replica.poll_action() {
            self.master.handle_upstream(now_ms, &action);
            return Some(Event::Replica(action));
        }
        if let Some(action) = self.master.poll_action() {
            return Some(Event::Master(action));
        }
        self.replica.poll_transmit().map(Event::Transmit)
    }
}
