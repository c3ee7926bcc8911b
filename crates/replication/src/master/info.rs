//! What the master side reports: INFO replication fields, the replica
//! list, sync statistics.

use super::*;

/// Redis's `sync_full`, `sync_partial_ok` and `sync_partial_err` counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Full resynchronizations served (`sync_full`).
    pub sync_full: u64,
    /// PSYNCs accepted (`sync_partial_ok`).
    pub sync_partial_ok: u64,
    /// PSYNCs refused, not counting `PSYNC ? ...` (`sync_partial_err`).
    pub sync_partial_err: u64,
}

/// One replica as INFO and ROLE describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaSummary {
    /// The connection.
    pub id: ReplicaId,
    /// `ip-address` announced, else the peer address given with
    /// [`Master::set_peer_ip`].
    pub ip: Option<String>,
    /// `listening-port` announced (0 if none).
    pub port: i64,
    /// Its state.
    pub state: ReplicaState,
    /// Last offset it acknowledged.
    pub ack_offset: i64,
    /// Seconds since its last ACK (0 unless online).
    pub lag_secs: u64,
}

/// The master part of INFO replication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterInfo {
    /// Every replica, in the order they became replicas.
    pub replicas: Vec<ReplicaSummary>,
    /// `min_slaves_good_slaves`, when min-replicas-to-write is configured.
    pub good_replicas: Option<usize>,
    /// `master_replid`, `master_replid2`, `second_repl_offset`.
    pub ids: ReplicationIds,
    /// `master_repl_offset`.
    pub master_repl_offset: u64,
    /// `repl_backlog_active`.
    pub backlog_active: bool,
    /// `repl_backlog_size` (the configured size).
    pub backlog_size: usize,
    /// `repl_backlog_first_byte_offset` (0 without a backlog).
    pub backlog_first_byte_offset: u64,
    /// `repl_backlog_histlen` (0 without a backlog).
    pub backlog_histlen: usize,
}

impl MasterInfo {
    /// The lines Redis prints from `connected_slaves` to
    /// `repl_backlog_histlen`, each ending in `\r\n`.
    pub fn to_info_string(&self) -> String {
        let mut s = format!("connected_slaves:{}\r\n", self.replicas.len());
        if let Some(good) = self.good_replicas {
            s.push_str(&format!("min_slaves_good_slaves:{good}\r\n"));
        }
        let mut n = 0;
        for r in &self.replicas {
            let (Some(ip), state) = (&r.ip, r.state.as_str()) else {
                continue;
            };
            if state.is_empty() {
                continue;
            }
            s.push_str(&format!(
                "slave{n}:ip={ip},port={},state={state},offset={},lag={}\r\n",
                r.port, r.ack_offset, r.lag_secs
            ));
            n += 1;
        }
        s.push_str(&format!(
            "master_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\n\
             master_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{}\r\n\
             repl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{}\r\n\
             repl_backlog_histlen:{}\r\n",
            self.ids.replid(),
            self.ids.replid2(),
            self.master_repl_offset,
            self.ids.second_replid_offset(),
            u8::from(self.backlog_active),
            self.backlog_size,
            self.backlog_first_byte_offset,
            self.backlog_histlen
        ));
        s
    }
}

impl Master {
    /// Every replica, in the order they became replicas.
    pub fn replicas(&self, now_ms: u64) -> Vec<ReplicaSummary> {
        self.slaves
            .iter()
            .filter_map(|id| {
                let c = self.conns.get(id)?;
                let state = c.state?;
                Some(ReplicaSummary {
                    id: *id,
                    ip: c.ip().map(str::to_owned),
                    port: c.listening_port,
                    state,
                    ack_offset: c.ack_off,
                    lag_secs: if state == ReplicaState::Online {
                        secs_between(c.ack_time_ms, now_ms)
                    } else {
                        0
                    },
                })
            })
            .collect()
    }

    /// The master part of INFO replication.
    pub fn info(&self, now_ms: u64) -> MasterInfo {
        let configured =
            self.config.min_replicas_to_write > 0 && self.config.min_replicas_max_lag_secs > 0;
        MasterInfo {
            replicas: self.replicas(now_ms),
            good_replicas: configured.then(|| self.good_replicas(now_ms)),
            ids: self.ids,
            master_repl_offset: self.master_repl_offset,
            backlog_active: self.backlog.is_some(),
            backlog_size: self.config.backlog_size,
            backlog_first_byte_offset: self.backlog.as_ref().map_or(0, Backlog::first_byte_offset),
            backlog_histlen: self.backlog.as_ref().map_or(0, Backlog::histlen),
        }
    }
}
