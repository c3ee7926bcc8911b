//! Output-buffer limits on replicas (`client-output-buffer-limit replica`).

use super::*;

impl Master {
    /// `checkClientOutputBufferLimits` + `closeClientOnOutputBufferLimitReached`.
    pub(super) fn check_output_limits(&mut self, id: ReplicaId, now_ms: u64) {
        let limit = self.config.output_buffer_limit;
        let backlog_size = self.config.backlog_size as u64;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let used = c
            .socket_pending
            .saturating_add(c.sent_since_report)
            .saturating_add(c.held_len);
        let hard_limit = if limit.hard_bytes != 0 && limit.hard_bytes < backlog_size {
            backlog_size
        } else {
            limit.hard_bytes
        };
        let hard = limit.hard_bytes != 0 && used >= hard_limit;
        let mut soft = limit.soft_bytes != 0 && used >= limit.soft_bytes;
        if soft {
            match c.obuf_soft_since_ms {
                None => {
                    c.obuf_soft_since_ms = Some(now_ms);
                    soft = false;
                }
                Some(since) => {
                    if secs_between(since, now_ms) <= limit.soft_seconds {
                        soft = false;
                    }
                }
            }
        } else {
            c.obuf_soft_since_ms = None;
        }
        if soft || hard {
            let name = c.name(id);
            self.log(
                Level::Warning,
                format!(
                    "Client {name} scheduled to be closed ASAP for overcoming of output buffer \
                     limits."
                ),
            );
            self.close_replica(id, now_ms);
        }
    }
}
