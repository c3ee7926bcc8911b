//! Replication backlog and PSYNC2 replication IDs for replikv.
//!
//! Sans-IO: nothing here reads a clock, touches a socket or draws random
//! numbers; time and randomness are passed in by the caller.
//!
//! - [`Backlog`]: ring buffer of the last `size` bytes of the replication
//!   stream, addressed by Redis's 1-based absolute offsets.
//! - [`ReplicationIds`]: the `replid` / `replid2` / `second_replid_offset`
//!   triple used by PSYNC2.
//! - [`decide_psync`]: the master's `+CONTINUE` vs `+FULLRESYNC` decision,
//!   with the exact log lines Redis 7.0 emits.
//! - [`BacklogTtl`]: the `repl-backlog-ttl` rule.

mod backlog;
mod ids;
mod psync;
mod ttl;

pub use backlog::{
    Backlog, BacklogError, BacklogRead, ZeroSizeError, REDIS_DEFAULT_BACKLOG_SIZE,
    REDIS_MIN_BACKLOG_SIZE,
};
pub use ids::{ContinueDecision, ReplId, ReplIdError, ReplicationIds, REPLID_LEN};
pub use psync::{decide_psync, FullResyncReason, PsyncDecision};
pub use ttl::BacklogTtl;

#[cfg(test)]
mod tests;
