//! SYNC, PSYNC and REPLCONF from a replica: the handshake, the partial or
//! full resync decision.

use super::*;

impl Master {
    pub(super) fn replconf(&mut self, id: ReplicaId, now_ms: u64, args: &[Bytes]) {
        if args.len() % 2 == 0 {
            self.reply(id, error_reply("syntax error"));
            return;
        }
        let mut pairs = args.get(1..).unwrap_or(&[]).chunks_exact(2);
        for pair in pairs.by_ref() {
            let (Some(opt), Some(val)) = (pair.first(), pair.get(1)) else {
                break;
            };
            let Some(c) = self.conns.get_mut(&id) else {
                return;
            };
            if eq_ic(opt, "listening-port") {
                match resp_codec::parse_i64(val) {
                    Some(port) => c.listening_port = port,
                    None => {
                        self.reply(id, error_reply("value is not an integer or out of range"));
                        return;
                    }
                }
            } else if eq_ic(opt, "ip-address") {
                if val.len() < 256 {
                    c.announced_ip = Some(lossy(val));
                } else {
                    let msg = format!(
                        "REPLCONF ip-address provided by replica instance is too long: {} bytes",
                        val.len()
                    );
                    self.reply(id, error_reply(&msg));
                    return;
                }
            } else if eq_ic(opt, "capa") {
                if eq_ic(val, "eof") {
                    c.capa_eof = true;
                } else if eq_ic(val, "psync2") {
                    c.capa_psync2 = true;
                }
            } else if eq_ic(opt, "ack") {
                if c.state.is_none() {
                    return;
                }
                let Some(offset) = resp_codec::parse_i64(val) else {
                    return;
                };
                if offset > c.ack_off {
                    c.ack_off = offset;
                }
                c.ack_time_ms = now_ms;
                if c.start_stream_on_ack && c.state == Some(ReplicaState::Online) {
                    self.start_command_stream(id);
                }
                return;
            } else if eq_ic(opt, "getack") {
                // Only meaningful on a replica, for its own master link.
                return;
            } else if eq_ic(opt, "rdb-only") {
                match resp_codec::parse_i64(val) {
                    Some(v @ (0 | 1)) => c.rdb_only = v == 1,
                    Some(_) => {
                        self.reply(
                            id,
                            error_reply("value is out of range, value must between 0 and 1"),
                        );
                        return;
                    }
                    None => {
                        self.reply(id, error_reply("value is not an integer or out of range"));
                        return;
                    }
                }
            } else if eq_ic(opt, "rdb-filter-only") {
                let Some(filters) = resp_codec::split_args(val) else {
                    self.reply(id, error_reply("Missing rdb-filter-only values"));
                    return;
                };
                c.req.exclude_data = true;
                c.req.exclude_functions = true;
                for f in filters {
                    if eq_ic(&f, "functions") {
                        c.req.exclude_functions = false;
                    } else {
                        let msg = format!("Unsupported rdb-filter-only option: {}", lossy(&f));
                        self.reply(id, error_reply(&msg));
                        return;
                    }
                }
            } else {
                let msg = format!("Unrecognized REPLCONF option: {}", lossy(opt));
                self.reply(id, error_reply(&msg));
                return;
            }
        }
        self.reply(id, Bytes::from_static(b"+OK\r\n"));
    }

    /// `syncCommand`.
    pub(super) fn sync(&mut self, id: ReplicaId, now_ms: u64, args: &[Bytes], psync: bool) {
        let Some(c) = self.conns.get(&id) else {
            return;
        };
        if c.state.is_some() {
            return;
        }
        if self.node_is_replica && !self.upstream_link_up {
            self.reply(
                id,
                error_reply("-NOMASTERLINK Can't SYNC while not connected with my master"),
            );
            return;
        }
        if c.req.any() && !c.capa_eof {
            self.reply(id, error_reply("Filtered replica requires EOF capability"));
            return;
        }
        let name = c.name(id);
        let capa_psync2 = c.capa_psync2;
        self.log(
            Level::Notice,
            format!("Replica {name} asks for synchronization"),
        );
        if psync {
            let (Some(req_id), Some(off)) = (args.get(1), args.get(2)) else {
                return;
            };
            let Some(psync_offset) = resp_codec::parse_i64(off) else {
                self.reply(id, error_reply("value is not an integer or out of range"));
                self.log(
                    Level::Warning,
                    format!("Replica {name} asks for synchronization but with a wrong offset"),
                );
                return;
            };
            let requested = lossy(req_id);
            let decision = decide_psync(
                &self.ids,
                self.backlog.as_ref(),
                &requested,
                psync_offset,
                capa_psync2,
            );
            match decision {
                PsyncDecision::Continue {
                    psync_offset,
                    ref reply,
                    ..
                } => {
                    let data = self
                        .backlog
                        .as_ref()
                        .and_then(|b| b.read_from(psync_offset).ok())
                        .map(|r| r.to_bytes())
                        .unwrap_or_default();
                    if let Some(c) = self.conns.get_mut(&id) {
                        c.state = Some(ReplicaState::Online);
                        c.ack_time_ms = now_ms;
                        c.start_stream_on_ack = false;
                    }
                    self.slaves.push(id);
                    self.reply(id, reply.clone());
                    if !data.is_empty() {
                        self.reply(id, data);
                    }
                    self.log(Level::Notice, decision.log_line(&name));
                    self.stats.sync_partial_ok += 1;
                    return;
                }
                PsyncDecision::FullResync { ref reason } => {
                    self.log(Level::Notice, decision.log_line(&name));
                    let beyond_offset =
                        i128::from(psync_offset) > i128::from(self.master_repl_offset);
                    // repl-backlog only knows the master offset when it has
                    // a backlog; Redis warns without one too.
                    let warning = decision.warning_line(&name).or_else(|| {
                        (matches!(reason, FullResyncReason::NoBacklog { .. }) && beyond_offset)
                            .then(|| {
                                format!(
                                    "Warning: replica {name} tried to PSYNC with an offset that \
                                     is greater than the master replication offset."
                                )
                            })
                    });
                    if let Some(w) = warning {
                        self.log(Level::Warning, w);
                    }
                    if !requested.starts_with('?') {
                        self.stats.sync_partial_err += 1;
                    }
                }
            }
        } else if let Some(c) = self.conns.get_mut(&id) {
            c.pre_psync = true;
        }

        // Full resynchronization.
        self.stats.sync_full += 1;
        if let Some(c) = self.conns.get_mut(&id) {
            c.state = Some(ReplicaState::WaitBgsaveStart);
        }
        self.slaves.push(id);
        if self.slaves.len() == 1 && self.backlog.is_none() {
            self.ids.change_id(self.rng.replid());
            self.ids.clear_secondary();
            self.create_backlog();
            let line = format!(
                "Replication backlog created, my new replication IDs are '{}' and '{}'",
                self.ids.replid(),
                self.ids.replid2()
            );
            self.log(Level::Notice, line);
        }
        let (capa_eof, req) = self
            .conns
            .get(&id)
            .map_or((false, RdbFilter::default()), |c| (c.capa_eof, c.req));
        match self.snapshot.as_ref().map(|s| (s.id, s.diskless)) {
            Some((sid, false)) => self.attach_to_disk_snapshot(id, sid),
            Some((_, true)) => self.log(
                Level::Notice,
                "Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC",
            ),
            None => {
                if self.config.diskless_sync && capa_eof && self.config.diskless_sync_delay_secs > 0
                {
                    self.log(Level::Notice, "Delay next BGSAVE for diskless SYNC");
                } else if self.other_child_active {
                    self.log(
                        Level::Notice,
                        "No BGSAVE in progress, but another BG operation is active. BGSAVE for \
                         replication delayed",
                    );
                } else {
                    self.start_snapshot(capa_eof, req);
                }
            }
        }
    }
}
