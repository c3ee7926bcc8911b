//! The command stream after a sync: exact offsets, ACKs, protocol errors.

use super::*;

impl Replica {
    /// `replicationSendAck`.
    pub(super) fn send_ack(&mut self) {
        let Some(link) = self.link.as_ref() else {
            return;
        };
        let off = link.reploff.to_string();
        self.send(command(&[b"REPLCONF", b"ACK", off.as_bytes()]));
    }

    /// Advances the applied offset over the decoded bytes and forwards
    /// them (`commandProcessed` for the master client).
    pub(super) fn advance(&mut self) {
        let Some(link) = self.link.as_mut() else {
            return;
        };
        let n = std::mem::take(&mut link.unapplied);
        if n == 0 {
            return;
        }
        link.reploff += n as u64;
        let bytes = link.raw.split_to(n.min(link.raw.len())).freeze();
        self.node.offset += n as u64;
        self.actions.push_back(Action::Forward(bytes));
    }

    /// Decodes and applies the command stream (`processInputBuffer` for
    /// the master client).
    pub(super) fn process_stream(&mut self, now_ms: u64) {
        loop {
            if self.link.is_none() {
                return;
            }
            let Some(&first) = self.inbuf.first() else {
                return;
            };
            let mut args = std::mem::take(&mut self.args);
            let decoded = self.decoder.decode(&mut self.inbuf, &mut args);
            let wire_len = match decoded {
                Ok(None) => {
                    self.args = args;
                    return;
                }
                Ok(Some(n)) => n,
                Err(e) => {
                    self.args = args;
                    self.protocol_error(now_ms, &protocol_error_reason(&e));
                    return;
                }
            };
            if let Some(link) = self.link.as_mut() {
                link.unapplied += wire_len;
            }
            if first != b'*' {
                // Inline: only an empty line (keepalive) is legitimate.
                let empty = wire_len == 1 || (wire_len == 2 && first == b'\r');
                self.args = args;
                if !empty {
                    self.log(
                        Level::Warning,
                        "WARNING: Receiving inline protocol from master, master stream \
                         corruption? Closing the master connection and discarding the cached \
                         master.",
                    );
                    self.protocol_error(now_ms, "Master using the inline protocol. Desync?");
                    return;
                }
                continue;
            }
            let Some(name) = args.first().cloned() else {
                // `*0` / `*-1`: counted with the next command, like Redis.
                self.args = args;
                continue;
            };
            let in_multi = self.link.as_ref().is_some_and(|l| l.in_multi);
            if eq_ic(&name, "replconf") {
                if is_getack(&args) {
                    if in_multi {
                        if let Some(link) = self.link.as_mut() {
                            link.queued_getacks += 1;
                        }
                    } else {
                        self.send_ack();
                    }
                }
                self.args = args;
            } else {
                self.actions.push_back(Action::Apply { args, wire_len });
            }
            if eq_ic(&name, "multi") {
                if let Some(link) = self.link.as_mut() {
                    link.in_multi = true;
                }
            } else if in_multi && (eq_ic(&name, "exec") || eq_ic(&name, "discard")) {
                let queued = self.link.as_mut().map_or(0, |l| {
                    l.in_multi = false;
                    std::mem::take(&mut l.queued_getacks)
                });
                if eq_ic(&name, "exec") {
                    for _ in 0..queued {
                        self.send_ack();
                    }
                }
            }
            if self.link.as_ref().is_some_and(|l| !l.in_multi) {
                self.advance();
            }
        }
    }

    /// `setProtocolError` on the master client, then `freeClient`: the
    /// link is dropped without caching the master.
    pub(super) fn protocol_error(&mut self, now_ms: u64, reason: &str) {
        let sample = query_buffer_sample(&self.inbuf);
        let name = self.master_name();
        self.log(
            Level::Warning,
            format!("Protocol error ({reason}) from client: master {name}. {sample}"),
        );
        self.free_master_link(now_ms, false);
    }
}
