//! What the replica side reports: INFO replication fields, the transfer.

use super::*;

/// The INFO replication fields a replica reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaInfo {
    /// `master_host`.
    pub master_host: String,
    /// `master_port`.
    pub master_port: u16,
    /// `master_link_status`.
    pub link_status: LinkStatus,
    /// `master_last_io_seconds_ago` (-1 without a master link).
    pub last_io_seconds_ago: i64,
    /// `master_sync_in_progress`.
    pub sync_in_progress: bool,
    /// `slave_read_repl_offset`.
    pub read_repl_offset: i64,
    /// `slave_repl_offset`.
    pub repl_offset: i64,
    /// The `master_sync_*` fields, present during a transfer.
    pub transfer: Option<TransferInfo>,
    /// `master_link_down_since_seconds`, present while the link is down
    /// (-1 if it never went down since the last sync).
    pub link_down_since_seconds: Option<i64>,
}

/// The `master_sync_*` INFO fields.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferInfo {
    /// `master_sync_total_bytes` (-1 before the preamble, 0 for `$EOF:`).
    pub total_bytes: i64,
    /// `master_sync_read_bytes`.
    pub read_bytes: i64,
    /// `master_sync_left_bytes`.
    pub left_bytes: i64,
    /// `master_sync_perc`.
    pub perc: f64,
    /// `master_sync_last_io_seconds_ago`.
    pub last_io_seconds_ago: i64,
}

impl ReplicaInfo {
    /// The lines Redis prints for these fields, in Redis's order, each
    /// ending in `\r\n` (`slave_priority` and the following lines are the
    /// server's).
    pub fn to_info_string(&self) -> String {
        let mut s = format!(
            "master_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\n\
             master_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\n\
             slave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
            self.master_host,
            self.master_port,
            self.link_status.as_str(),
            self.last_io_seconds_ago,
            u8::from(self.sync_in_progress),
            self.read_repl_offset,
            self.repl_offset
        );
        if let Some(t) = &self.transfer {
            s.push_str(&format!(
                "master_sync_total_bytes:{}\r\nmaster_sync_read_bytes:{}\r\n\
                 master_sync_left_bytes:{}\r\nmaster_sync_perc:{:.2}\r\n\
                 master_sync_last_io_seconds_ago:{}\r\n",
                t.total_bytes, t.read_bytes, t.left_bytes, t.perc, t.last_io_seconds_ago
            ));
        }
        if let Some(d) = self.link_down_since_seconds {
            s.push_str(&format!("master_link_down_since_seconds:{d}\r\n"));
        }
        s
    }
}

impl Replica {
    /// The INFO replication fields of a replica, or `None` when no master
    /// is configured.
    pub fn info(&self, now_ms: u64) -> Option<ReplicaInfo> {
        let (host, port) = self.master.clone()?;
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let (repl_offset, read_offset) = match (&self.link, &self.cached) {
            (Some(l), _) => (l.reploff, l.reploff + l.raw.len() as u64),
            (None, Some(c)) => (c.reploff, c.reploff),
            _ => (1, 1),
        };
        let transfer = (self.state == ReplState::Transfer).then(|| {
            let read = as_i64(self.transfer_read);
            let perc = if self.transfer_size != 0 {
                read as f64 / self.transfer_size as f64 * 100.0
            } else {
                0.0
            };
            TransferInfo {
                total_bytes: self.transfer_size,
                read_bytes: read,
                left_bytes: self.transfer_size.saturating_sub(read),
                perc,
                last_io_seconds_ago: as_i64(secs_between(self.transfer_lastio_ms, now_ms)),
            }
        });
        Some(ReplicaInfo {
            master_host: host,
            master_port: port,
            link_status: self.link_status(),
            last_io_seconds_ago: self
                .link
                .as_ref()
                .map_or(-1, |l| as_i64(secs_between(l.last_interaction_ms, now_ms))),
            sync_in_progress: self.state == ReplState::Transfer,
            read_repl_offset: as_i64(read_offset),
            repl_offset: as_i64(repl_offset),
            transfer,
            link_down_since_seconds: (self.state != ReplState::Connected).then(|| {
                self.down_since_ms
                    .map_or(-1, |d| as_i64(secs_between(d, now_ms)))
            }),
        })
    }
}
