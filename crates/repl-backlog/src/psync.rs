//! The master-side PSYNC decision, combining the replication-ID check with
//! the backlog-range check.

use bytes::Bytes;

use crate::backlog::Backlog;
use crate::ids::{ContinueDecision, ReplId, ReplicationIds};

/// Why a PSYNC request must fall back to a full resynchronization. Each
/// variant maps to one of Redis's log lines, see
/// [`log_line`](Self::log_line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FullResyncReason {
    /// The replica sent `PSYNC ? ...`.
    Requested,
    /// The requested ID is neither our current nor our previous ID.
    IdMismatch {
        /// The ID the replica asked for, verbatim.
        requested: String,
        /// Our current ID at decision time.
        replid: ReplId,
        /// Our previous ID at decision time.
        replid2: ReplId,
    },
    /// The request names our previous ID but an offset beyond where that
    /// history ended.
    SecondaryOffsetTooLarge {
        /// The offset the replica asked for.
        requested_offset: i64,
        /// The last offset valid for the previous ID.
        second_replid_offset: i64,
    },
    /// The IDs matched but this node has no backlog.
    NoBacklog {
        /// The offset the replica asked for.
        psync_offset: i64,
    },
    /// The IDs matched but the offset is outside what the backlog holds.
    OutOfRange {
        /// The offset the replica asked for.
        psync_offset: i64,
        /// Oldest offset the backlog holds.
        first_byte_offset: u64,
        /// The master replication offset.
        master_offset: u64,
    },
}

impl FullResyncReason {
    /// The NOTICE line Redis 7.0 logs for this reason, for the server to log
    /// verbatim. `replica_name` is how the server names the replica
    /// (Redis uses `ip:port`).
    pub fn log_line(&self, replica_name: &str) -> String {
        match self {
            Self::Requested => format!("Full resync requested by replica {replica_name}"),
            Self::IdMismatch {
                requested,
                replid,
                replid2,
            } => format!(
                "Partial resynchronization not accepted: Replication ID mismatch \
                 (Replica asked for '{requested}', my replication IDs are '{replid}' and '{replid2}')"
            ),
            Self::SecondaryOffsetTooLarge {
                requested_offset,
                second_replid_offset,
            } => format!(
                "Partial resynchronization not accepted: Requested offset for second ID \
                 was {requested_offset}, but I can reply up to {second_replid_offset}"
            ),
            Self::NoBacklog { psync_offset } | Self::OutOfRange { psync_offset, .. } => format!(
                "Unable to partial resync with replica {replica_name} for lack of backlog \
                 (Replica request was: {psync_offset})."
            ),
        }
    }

    /// The extra WARNING line Redis logs when a replica asks for an offset
    /// beyond the master offset, if it applies. Without a backlog this
    /// crate does not know the master offset, so no warning is produced
    /// for [`FullResyncReason::NoBacklog`].
    pub fn warning_line(&self, replica_name: &str) -> Option<String> {
        match self {
            Self::OutOfRange {
                psync_offset,
                master_offset,
                ..
            } if i128::from(*psync_offset) > i128::from(*master_offset) => Some(format!(
                "Warning: replica {replica_name} tried to PSYNC with an offset that is \
                 greater than the master replication offset."
            )),
            _ => None,
        }
    }
}

/// What the master should do with a `PSYNC <id> <offset>` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PsyncDecision {
    /// Partial resync: write `reply`, then the backlog from `psync_offset`
    /// (via [`Backlog::read_from`]), then keep streaming.
    Continue {
        /// Validated offset to read the backlog from.
        psync_offset: u64,
        /// Whether `reply` carries our replication ID (replica has
        /// `capa psync2`).
        send_replid_in_reply: bool,
        /// Bytes of backlog that will be sent, for the log line.
        backlog_len: usize,
        /// `+CONTINUE <replid>\r\n` or `+CONTINUE\r\n`.
        reply: Bytes,
    },
    /// Full resync: the `+FULLRESYNC` reply must wait until the snapshot
    /// starts, since it carries the offset at that moment (build it with
    /// [`ReplicationIds::fullresync_reply`]).
    FullResync {
        /// Why a partial resync was refused.
        reason: FullResyncReason,
    },
}

impl PsyncDecision {
    /// The NOTICE line Redis logs for this outcome.
    pub fn log_line(&self, replica_name: &str) -> String {
        match self {
            Self::Continue {
                psync_offset,
                backlog_len,
                ..
            } => format!(
                "Partial resynchronization request from {replica_name} accepted. \
                 Sending {backlog_len} bytes of backlog starting from offset {psync_offset}."
            ),
            Self::FullResync { reason } => reason.log_line(replica_name),
        }
    }

    /// The extra WARNING line, if Redis would log one.
    pub fn warning_line(&self, replica_name: &str) -> Option<String> {
        match self {
            Self::Continue { .. } => None,
            Self::FullResync { reason } => reason.warning_line(replica_name),
        }
    }

    /// True for [`PsyncDecision::Continue`].
    pub fn is_continue(&self) -> bool {
        matches!(self, Self::Continue { .. })
    }
}

/// Decides a `PSYNC requested_id psync_offset` request the way Redis 7.0's
/// master does, in two steps:
///
/// 1. [`ReplicationIds::can_continue`]: the ID must be our current one, or
///    our previous one with `psync_offset <= second_replid_offset`;
///    otherwise (including `?`) a full resync is needed.
/// 2. The backlog must exist and satisfy
///    `first_byte_offset <= psync_offset <= master_offset + 1`
///    ([`Backlog::can_serve`]).
///
/// Callers doing the steps by hand must keep this order, since only the
/// first failing step determines the logged reason. `psync_offset` is the
/// signed wire value; a negative one fails step 2. `capa_psync2` is whether
/// the replica sent `REPLCONF capa psync2`.
///
/// On a full resync Redis also creates the backlog if it has none (with a
/// new replication ID and cleared secondary ID); that is the caller's job.
pub fn decide_psync(
    ids: &ReplicationIds,
    backlog: Option<&Backlog>,
    requested_id: &str,
    psync_offset: i64,
    capa_psync2: bool,
) -> PsyncDecision {
    let full = |reason| PsyncDecision::FullResync { reason };
    match ids.can_continue(requested_id, psync_offset) {
        ContinueDecision::PrimaryId | ContinueDecision::SecondaryId => {}
        ContinueDecision::FullResyncRequested => return full(FullResyncReason::Requested),
        ContinueDecision::IdMismatch => {
            return full(FullResyncReason::IdMismatch {
                requested: requested_id.to_owned(),
                replid: *ids.replid(),
                replid2: *ids.replid2(),
            })
        }
        ContinueDecision::SecondaryOffsetTooLarge => {
            return full(FullResyncReason::SecondaryOffsetTooLarge {
                requested_offset: psync_offset,
                second_replid_offset: ids.second_replid_offset(),
            })
        }
    }
    let Some(backlog) = backlog else {
        return full(FullResyncReason::NoBacklog { psync_offset });
    };
    let read = u64::try_from(psync_offset)
        .ok()
        .and_then(|off| backlog.read_from(off).ok());
    match read {
        Some(read) => PsyncDecision::Continue {
            psync_offset: read.offset(),
            send_replid_in_reply: capa_psync2,
            backlog_len: read.len(),
            reply: ids.continue_reply(capa_psync2),
        },
        None => full(FullResyncReason::OutOfRange {
            psync_offset,
            first_byte_offset: backlog.first_byte_offset(),
            master_offset: backlog.master_offset(),
        }),
    }
}
