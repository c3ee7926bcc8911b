//! Receiving a full sync: the `$<len>` or `$EOF:<mark>` preamble and the
//! payload handed to the server.

use super::*;

impl Replica {
    pub(super) fn start_transfer(&mut self, now_ms: u64) {
        self.state = ReplState::Transfer;
        self.phase = Phase::Preamble;
        self.transfer_size = -1;
        self.transfer_read = 0;
        self.transfer_lastio_ms = now_ms;
    }

    pub(super) fn on_preamble(&mut self, now_ms: u64) -> bool {
        let Some(line) = take_line(&mut self.inbuf, PREAMBLE_LINE_BUF) else {
            return false;
        };
        match parse_bulk_preamble(&line) {
            Ok(BulkPreamble::KeepAlive) => {
                self.transfer_lastio_ms = now_ms;
                true
            }
            Err(e) => {
                self.log(Level::Warning, e.to_string());
                self.cancel_handshake(now_ms, true);
                false
            }
            Ok(BulkPreamble::EofMark(mark)) => {
                self.usemark = true;
                self.transfer_size = 0;
                self.transfer_read = self.inbuf.len() as u64;
                let target = self.load_target();
                self.log(
                    Level::Notice,
                    format!(
                        "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF {target}"
                    ),
                );
                self.actions.push_back(Action::SnapshotStart {
                    size: None,
                    replid: self.sync_replid,
                });
                self.phase = Phase::Eof { mark };
                true
            }
            Ok(BulkPreamble::Length(size)) => {
                self.usemark = false;
                self.transfer_size = i64::try_from(size).unwrap_or(i64::MAX);
                let target = self.load_target();
                self.log(
                    Level::Notice,
                    format!("MASTER <-> REPLICA sync: receiving {size} bytes from master {target}"),
                );
                self.actions.push_back(Action::SnapshotStart {
                    size: Some(size),
                    replid: self.sync_replid,
                });
                self.phase = Phase::Length { size };
                true
            }
        }
    }

    /// Where the payload goes, as Redis's transfer log line says it.
    pub(super) fn load_target(&self) -> &'static str {
        if self.config.load_to_parser {
            "to parser"
        } else {
            "to disk"
        }
    }

    pub(super) fn on_length_payload(&mut self, now_ms: u64, size: u64) -> bool {
        let remaining = size.saturating_sub(self.transfer_read);
        if remaining > 0 {
            if self.inbuf.is_empty() {
                return false;
            }
            let n = usize::try_from(remaining)
                .unwrap_or(usize::MAX)
                .min(self.inbuf.len());
            let chunk = self.inbuf.split_to(n).freeze();
            self.transfer_read += n as u64;
            self.transfer_lastio_ms = now_ms;
            self.actions.push_back(Action::SnapshotChunk(chunk));
        }
        if self.transfer_read >= size {
            self.finish_transfer();
        }
        false
    }

    pub(super) fn on_eof_payload(&mut self, now_ms: u64, mark: [u8; REPLID_LEN]) -> bool {
        if self.inbuf.is_empty() {
            return false;
        }
        self.transfer_lastio_ms = now_ms;
        if let Some(p) = memchr::memmem::find(&self.inbuf, &mark) {
            if p > 0 {
                let chunk = self.inbuf.split_to(p).freeze();
                self.actions.push_back(Action::SnapshotChunk(chunk));
            }
            self.inbuf.advance(REPLID_LEN);
            // Whatever follows the mark is stream, not transfer.
            self.transfer_read = self.transfer_read.saturating_sub(self.inbuf.len() as u64);
            self.finish_transfer();
        } else if self.inbuf.len() > REPLID_LEN - 1 {
            // Keep the last 39 bytes: they may be the start of the mark.
            let n = self.inbuf.len() - (REPLID_LEN - 1);
            let chunk = self.inbuf.split_to(n).freeze();
            self.actions.push_back(Action::SnapshotChunk(chunk));
        }
        false
    }

    /// The payload is complete (the part of `readSyncBulkPayload` after
    /// the transfer loop, up to loading).
    pub(super) fn finish_transfer(&mut self) {
        self.phase = Phase::Loading;
        self.lost_during_load = false;
        self.discard_cached_master();
        self.actions.push_back(Action::DiscardHistory);
        self.log(Level::Notice, "MASTER <-> REPLICA sync: Flushing old data");
        self.log(
            Level::Notice,
            "MASTER <-> REPLICA sync: Loading DB in memory",
        );
        self.actions.push_back(Action::SnapshotDone);
    }
}
