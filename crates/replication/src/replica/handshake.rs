//! The handshake with the master (Redis's `syncWithMaster` states): PING,
//! AUTH, REPLCONF, PSYNC, and what each reply leads to.

use super::*;

impl Replica {
    pub(super) fn handshake_line(&mut self, now_ms: u64) -> Option<Vec<u8>> {
        let line = take_line(&mut self.inbuf, HANDSHAKE_LINE_BUF)?;
        self.transfer_lastio_ms = now_ms;
        Some(line)
    }

    pub(super) fn on_ping_reply(&mut self, now_ms: u64) -> bool {
        let Some(line) = self.handshake_line(now_ms) else {
            return false;
        };
        if parse_ping_reply(&line) == PingReply::Rejected {
            self.log(
                Level::Warning,
                format!(
                    "Error reply to PING from master: '{}'",
                    crate::replies::lossy(&line)
                ),
            );
            self.sync_error();
            return false;
        }
        self.log(
            Level::Notice,
            "Master replied to PING, replication can continue...",
        );
        // SEND_HANDSHAKE: everything goes out at once, replies are read
        // one by one.
        if let Some(pass) = self.config.master_auth.clone() {
            let cmd = match self.config.master_user.clone() {
                Some(user) => command(&[b"AUTH", &user, &pass]),
                None => command(&[b"AUTH", &pass]),
            };
            self.send(cmd);
        }
        let port = self.config.listening_port.to_string();
        self.send(command(&[b"REPLCONF", b"listening-port", port.as_bytes()]));
        if let Some(ip) = self.config.announce_ip.clone() {
            self.send(command(&[b"REPLCONF", b"ip-address", ip.as_bytes()]));
        }
        self.send(command(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]));
        self.state = if self.config.master_auth.is_some() {
            ReplState::ReceiveAuthReply
        } else {
            ReplState::ReceivePortReply
        };
        true
    }

    pub(super) fn on_auth_reply(&mut self, now_ms: u64) -> bool {
        let Some(line) = self.handshake_line(now_ms) else {
            return false;
        };
        if is_error_line(&line) {
            self.log(
                Level::Warning,
                format!("Unable to AUTH to MASTER: {}", crate::replies::lossy(&line)),
            );
            self.sync_error();
            return false;
        }
        self.state = ReplState::ReceivePortReply;
        true
    }

    pub(super) fn on_port_reply(&mut self, now_ms: u64) -> bool {
        let Some(line) = self.handshake_line(now_ms) else {
            return false;
        };
        if is_error_line(&line) {
            self.log(
                Level::Notice,
                format!(
                    "(Non critical) Master does not understand REPLCONF listening-port: {}",
                    crate::replies::lossy(&line)
                ),
            );
        }
        self.state = if self.config.announce_ip.is_some() {
            ReplState::ReceiveIpReply
        } else {
            ReplState::ReceiveCapaReply
        };
        true
    }

    pub(super) fn on_ip_reply(&mut self, now_ms: u64) -> bool {
        let Some(line) = self.handshake_line(now_ms) else {
            return false;
        };
        if is_error_line(&line) {
            self.log(
                Level::Notice,
                format!(
                    "(Non critical) Master does not understand REPLCONF ip-address: {}",
                    crate::replies::lossy(&line)
                ),
            );
        }
        self.state = ReplState::ReceiveCapaReply;
        true
    }

    pub(super) fn on_capa_reply(&mut self, now_ms: u64) -> bool {
        let Some(line) = self.handshake_line(now_ms) else {
            return false;
        };
        if is_error_line(&line) {
            self.log(
                Level::Notice,
                format!(
                    "(Non critical) Master does not understand REPLCONF capa: {}",
                    crate::replies::lossy(&line)
                ),
            );
        }
        // SEND_PSYNC
        self.sync_offset = None;
        match self.cached {
            Some(c) => {
                let off = (c.reploff + 1).to_string();
                self.log(
                    Level::Notice,
                    format!(
                        "Trying a partial resynchronization (request {}:{off}).",
                        c.replid
                    ),
                );
                self.send(command(&[b"PSYNC", c.replid.as_bytes(), off.as_bytes()]));
            }
            None => {
                self.log(
                    Level::Notice,
                    "Partial resynchronization not possible (no cached master)",
                );
                self.send(command(&[b"PSYNC", b"?", b"-1"]));
            }
        }
        self.state = ReplState::ReceivePsyncReply;
        true
    }

    pub(super) fn on_psync_reply(&mut self, now_ms: u64) -> bool {
        let Some(line) = self.handshake_line(now_ms) else {
            return false;
        };
        let text = crate::replies::lossy(&line);
        match parse_psync_reply(&line) {
            Ok(PsyncReply::KeepAlive) => true,
            Err(e @ ReplyError::BadFullResync) => {
                self.log(Level::Warning, e.to_string());
                self.sync_replid = ReplId::NONE;
                self.sync_offset = None;
                self.start_transfer(now_ms);
                true
            }
            Err(other) => {
                // parse_psync_reply only fails with BadFullResync.
                self.log(Level::Warning, other.to_string());
                self.sync_error();
                false
            }
            Ok(PsyncReply::FullResync { replid, offset }) => {
                self.log(
                    Level::Notice,
                    format!("Full resync from master: {replid}:{offset}"),
                );
                self.sync_replid = replid;
                self.sync_offset = Some(offset);
                self.start_transfer(now_ms);
                true
            }
            Ok(PsyncReply::Continue { replid }) => self.on_continue(now_ms, replid, &text),
            Ok(PsyncReply::TryLater) => {
                self.log(
                    Level::Notice,
                    format!(
                        "Master is currently unable to PSYNC but should be in the future: {text}"
                    ),
                );
                self.sync_error();
                false
            }
            Ok(r @ (PsyncReply::NotSupported | PsyncReply::Unexpected)) => {
                if r == PsyncReply::NotSupported {
                    self.log(
                        Level::Notice,
                        format!(
                            "Master does not support PSYNC or is in error state (reply: {text})"
                        ),
                    );
                } else {
                    self.log(
                        Level::Warning,
                        format!("Unexpected reply to PSYNC from master: {text}"),
                    );
                }
                self.log(Level::Notice, "Retrying with SYNC...");
                self.send(Bytes::from_static(b"SYNC\r\n"));
                self.sync_replid = ReplId::NONE;
                self.sync_offset = None;
                self.start_transfer(now_ms);
                true
            }
        }
    }

    /// `+CONTINUE [<id>]`: resurrect the cached master.
    pub(super) fn on_continue(&mut self, now_ms: u64, new_id: Option<ReplId>, text: &str) -> bool {
        let Some(mut cached) = self.cached.take() else {
            // We asked "PSYNC ? -1"; a master cannot continue that. Redis
            // would crash here; drop the link instead.
            self.log(
                Level::Warning,
                format!("Unexpected reply to PSYNC from master: {text}"),
            );
            self.sync_error();
            return false;
        };
        self.log(
            Level::Notice,
            "Successful partial resynchronization with master.",
        );
        let mut changed = false;
        if let Some(new_id) = new_id {
            if new_id != cached.replid {
                self.log(
                    Level::Warning,
                    format!("Master replication ID changed to {new_id}"),
                );
                let second = i64::try_from(self.node.offset.saturating_add(1)).unwrap_or(i64::MAX);
                self.node.ids = ReplicationIds::from_parts(new_id, cached.replid, second);
                cached.replid = new_id;
                changed = true;
            }
        }
        self.link = Some(MasterLink {
            replid: cached.replid,
            reploff: cached.reploff,
            pre_psync: false,
            last_interaction_ms: now_ms,
            raw: self.inbuf.clone(),
            unapplied: 0,
            in_multi: false,
            queued_getacks: 0,
        });
        self.decoder.reset();
        self.state = ReplState::Connected;
        self.down_since_ms = None;
        self.actions.push_back(Action::Role {
            replica: true,
            link_up: true,
        });
        self.actions.push_back(Action::AdoptHistory {
            history: self.node,
            disconnect_replicas: changed,
        });
        self.log(
            Level::Notice,
            "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.",
        );
        true
    }
}
