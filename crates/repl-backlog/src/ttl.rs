//! `repl-backlog-ttl`: when a master with no replicas may free its backlog.

/// The `repl-backlog-ttl` policy.
///
/// Meant to be polled from the once-a-second replication cron, only while
/// a backlog exists. When [`should_free`](Self::should_free) says yes, the
/// caller does what Redis does: give the node a new random replication ID
/// ([`crate::ReplicationIds::change_id`]), clear the secondary ID
/// ([`crate::ReplicationIds::clear_secondary`]), drop the [`crate::Backlog`]
/// and log [`freed_log_line`](Self::freed_log_line). The ID change matters:
/// without a backlog the offset stops advancing, so keeping the old ID
/// would let a former replica later accept this node with diverged data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacklogTtl {
    ttl_secs: u64,
}

impl BacklogTtl {
    /// Redis's default `repl-backlog-ttl`, one hour.
    pub const REDIS_DEFAULT_SECS: u64 = 3600;

    /// A policy freeing the backlog after `ttl_secs` seconds without
    /// replicas; 0 means never free it.
    pub fn new(ttl_secs: u64) -> Self {
        Self { ttl_secs }
    }

    /// The configured TTL in seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// Whether the backlog should be freed now.
    ///
    /// - `connected_replicas`: replicas currently attached; any keeps it.
    /// - `no_replicas_since_ms`: when the last replica disconnected (or the
    ///   server started, if none ever connected).
    /// - `node_is_replica`: a node that is itself a replica never frees its
    ///   backlog, because it needs it to serve PSYNC (PSYNC2) if promoted.
    ///
    /// Like Redis, the idle time is counted in whole seconds of a
    /// second-resolution clock and must strictly exceed the TTL.
    pub fn should_free(
        &self,
        connected_replicas: usize,
        no_replicas_since_ms: u64,
        now_ms: u64,
        node_is_replica: bool,
    ) -> bool {
        if self.ttl_secs == 0 || connected_replicas > 0 || node_is_replica {
            return false;
        }
        let idle_secs = (now_ms / 1000).saturating_sub(no_replicas_since_ms / 1000);
        idle_secs > self.ttl_secs
    }

    /// The NOTICE line Redis logs when it frees the backlog.
    pub fn freed_log_line(&self) -> String {
        format!(
            "Replication backlog freed after {} seconds without connected replicas.",
            self.ttl_secs
        )
    }
}

impl Default for BacklogTtl {
    /// Redis's default of one hour.
    fn default() -> Self {
        Self::new(Self::REDIS_DEFAULT_SECS)
    }
}
