//! Full resynchronization: snapshots shared by waiting replicas, the
//! transfer, and the move to the online state.

use super::*;

impl Master {
    /// CASE 1 of `syncCommand`: a disk snapshot is running; join it if
    /// another replica already records the stream since it started.
    pub(super) fn attach_to_disk_snapshot(&mut self, id: ReplicaId, sid: SnapshotId) {
        let Some(me) = self.conns.get(&id) else {
            return;
        };
        let (my_capa, my_req, my_rdb_only) = ((me.capa_eof, me.capa_psync2), me.req, me.rdb_only);
        let donor = self.slaves.iter().copied().find(|other| {
            *other != id
                && self.conns.get(other).is_some_and(|o| {
                    o.state == Some(ReplicaState::WaitBgsaveEnd)
                        && o.snapshot == Some(sid)
                        && (!o.rdb_only || my_rdb_only)
                })
        });
        let compatible = donor.and_then(|d| self.conns.get(&d)).and_then(|o| {
            let capa_ok = (!o.capa_eof || my_capa.0) && (!o.capa_psync2 || my_capa.1);
            (capa_ok && o.req == my_req)
                .then(|| (o.held.clone(), o.held_len, o.psync_initial_offset))
        });
        match compatible {
            Some((held, held_len, offset)) => {
                if let Some(c) = self.conns.get_mut(&id) {
                    if !c.rdb_only {
                        c.held = held;
                        c.held_len = held_len;
                    }
                }
                self.setup_full_resync(id, offset, sid);
                self.log(Level::Notice, "Waiting for end of BGSAVE for SYNC");
            }
            None => self.log(
                Level::Notice,
                "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC",
            ),
        }
    }

    /// `replicationSetupSlaveForFullResync`.
    pub(super) fn setup_full_resync(&mut self, id: ReplicaId, offset: u64, sid: SnapshotId) {
        let reply = self.ids.fullresync_reply(offset);
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        c.psync_initial_offset = offset;
        c.state = Some(ReplicaState::WaitBgsaveEnd);
        c.snapshot = Some(sid);
        let pre_psync = c.pre_psync;
        self.actions.push_back(Action::ForceSelect);
        if !pre_psync {
            self.reply(id, reply);
        }
    }

    /// `startBgsaveForReplication`.
    pub(super) fn start_snapshot(&mut self, mincapa_eof: bool, req: RdbFilter) {
        let diskless = (self.config.diskless_sync || req.any()) && mincapa_eof;
        self.log(
            Level::Notice,
            format!(
                "Starting BGSAVE for SYNC with target: {}",
                if diskless { "replicas sockets" } else { "disk" }
            ),
        );
        let sid = SnapshotId(self.next_snapshot);
        self.next_snapshot += 1;
        let mark = self.rng.eof_mark();
        self.snapshot = Some(Snapshot {
            id: sid,
            diskless,
            mark,
        });
        self.actions.push_back(Action::StartSnapshot {
            id: sid,
            diskless,
            filter: req,
        });
        let offset = self.master_repl_offset;
        let mut preamble = b"$EOF:".to_vec();
        preamble.extend_from_slice(&mark);
        preamble.extend_from_slice(b"\r\n");
        let preamble = Bytes::from(preamble);
        for id in self.slaves.clone() {
            let waiting = self
                .conns
                .get(&id)
                .is_some_and(|c| c.state == Some(ReplicaState::WaitBgsaveStart) && c.req == req);
            if waiting {
                self.setup_full_resync(id, offset, sid);
                if diskless {
                    self.reply(id, preamble.clone());
                }
            }
        }
    }

    /// `shouldStartChildReplication` + `replicationStartPendingFork`.
    pub(super) fn start_pending_snapshot(&mut self, now_ms: u64) {
        if self.snapshot.is_some() || self.other_child_active {
            return;
        }
        let mut req = None;
        let mut waiting = 0usize;
        let mut max_idle = 0u64;
        let mut mincapa_eof = true;
        for id in &self.slaves {
            let Some(c) = self.conns.get(id) else {
                continue;
            };
            if c.state != Some(ReplicaState::WaitBgsaveStart) {
                continue;
            }
            match req {
                None => req = Some(c.req),
                Some(r) if r != c.req => continue,
                Some(_) => {}
            }
            max_idle = max_idle.max(secs_between(c.last_interaction_ms, now_ms));
            waiting += 1;
            mincapa_eof &= c.capa_eof;
        }
        let Some(req) = req else {
            return;
        };
        let max = self.config.diskless_sync_max_replicas;
        if !self.config.diskless_sync
            || (max > 0 && waiting >= max)
            || max_idle >= self.config.diskless_sync_delay_secs
        {
            self.start_snapshot(mincapa_eof, req);
        }
    }

    /// `replicaPutOnline`; false when the replica must be closed
    /// (`rdb-only`).
    pub(super) fn put_online(&mut self, id: ReplicaId, now_ms: u64) -> bool {
        let name = self.name(id);
        let Some(c) = self.conns.get_mut(&id) else {
            return false;
        };
        if c.rdb_only {
            c.state = Some(ReplicaState::RdbTransmitted);
            self.log(
                Level::Notice,
                format!(
                    "RDB transfer completed, rdb only replica ({name}) should be disconnected asap"
                ),
            );
            return false;
        }
        c.state = Some(ReplicaState::Online);
        c.ack_time_ms = now_ms;
        self.log(
            Level::Notice,
            format!("Synchronization with replica {name} succeeded"),
        );
        true
    }

    /// `replicaStartCommandStream`: send what was held back.
    pub(super) fn start_command_stream(&mut self, id: ReplicaId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        c.start_stream_on_ack = false;
        let held = std::mem::take(&mut c.held);
        c.held_len = 0;
        for bytes in held {
            self.reply(id, bytes);
        }
    }
}
