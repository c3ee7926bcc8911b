//! The one owner of the propagation stream: what commands changed, as the
//! AOF and replicas must apply it.
//!
//! Handlers (and the expiry cycle, and served blocked clients) push
//! effects while a request runs; at the end of the request the effects are
//! encoded once, with a `SELECT` whenever the database changes and a
//! `MULTI`/`EXEC` around a request that produced more than one (so
//! replicas apply it atomically, as Redis 7.0 does). The encoded bytes
//! wait here until the connection's batch ends, then the same bytes go to
//! the AOF and to the replication master (backlog and replicas) in one
//! piece.
//!
//! Both consumers share one `SELECT` state: whenever either starts a fresh
//! stream (a replica's full sync, a promotion, a new AOF file) the next
//! batch selects again, which the other applies harmlessly. Bytes go only
//! to the consumers that were listening when they were encoded, so a
//! write made before a snapshot never reaches a consumer starting from it.

use bytes::{Bytes, BytesMut};

/// Who listens to the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Targets {
    /// The replication master (this node's backlog and its replicas).
    pub repl: bool,
    /// The append-only file.
    pub aof: bool,
}

impl Targets {
    /// Whether anyone listens.
    pub fn any(self) -> bool {
        self.repl || self.aof
    }
}

/// Pending effects and the encoded stream not yet handed out.
#[derive(Debug, Default)]
pub struct Propagation {
    /// Effects of the running request: (database, command).
    pending: Vec<(usize, Vec<Bytes>)>,
    /// The database the encoded stream last selected; `None` forces a
    /// `SELECT` before the next command.
    db: Option<usize>,
    /// Encoded effects waiting for the end of the batch.
    out: BytesMut,
    /// The consumers `out` was encoded for.
    targets: Targets,
}

impl Propagation {
    /// Adds one effect of the running request.
    pub fn push(&mut self, db: usize, cmd: Vec<Bytes>) {
        self.pending.push((db, cmd));
    }

    /// Whether the running request has effects not yet encoded.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Makes the next encoded command start with a `SELECT` (a consumer
    /// starts a fresh stream: Redis's `slaveseldb = -1` and
    /// `aof_selected_db = -1`).
    pub fn force_select(&mut self) {
        self.db = None;
    }

    /// The database the stream last selected.
    pub fn selected_db(&self) -> Option<usize> {
        self.db
    }

    /// Encoded bytes not yet handed to the replication master: the master
    /// offset counts them already.
    pub fn unflushed_repl_bytes(&self) -> usize {
        if self.targets.repl {
            self.out.len()
        } else {
            0
        }
    }

    /// Ends the request: encodes its effects for `targets`. When the
    /// listeners changed since the bytes waiting were encoded, those are
    /// returned first, to be delivered to their own listeners.
    pub fn end_request(&mut self, targets: Targets) -> Option<(Bytes, Targets)> {
        if self.pending.is_empty() {
            return None;
        }
        let earlier = (targets != self.targets && !self.out.is_empty()).then(|| self.take());
        self.targets = targets;
        let ops = std::mem::take(&mut self.pending);
        if !targets.any() {
            return earlier;
        }
        let wrap = ops.len() > 1;
        if wrap {
            let db = ops.first().map_or(0, |o| o.0);
            self.encode(db, &[Bytes::from_static(b"MULTI")]);
        }
        for (db, cmd) in &ops {
            self.encode(*db, cmd);
        }
        if wrap {
            let db = ops.last().map_or(0, |o| o.0);
            self.encode(db, &[Bytes::from_static(b"EXEC")]);
        }
        earlier
    }

    /// Hands out everything encoded, with the consumers it was meant for.
    pub fn take(&mut self) -> (Bytes, Targets) {
        (self.out.split().freeze(), self.targets)
    }

    /// Whether encoded bytes are waiting.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    fn encode(&mut self, db: usize, cmd: &[Bytes]) {
        if self.db != Some(db) {
            let d = db.to_string();
            resp_codec::encode::command(&mut self.out, &[&b"SELECT"[..], d.as_bytes()]);
            self.db = Some(db);
        }
        resp_codec::encode::command(&mut self.out, cmd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: Targets = Targets {
        repl: true,
        aof: true,
    };
    const AOF: Targets = Targets {
        repl: false,
        aof: true,
    };

    fn cmd(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    fn text(b: &Bytes) -> String {
        String::from_utf8_lossy(b).replace("\r\n", " ")
    }

    #[test]
    fn one_effect_is_selected_once_and_not_wrapped() {
        let mut p = Propagation::default();
        p.push(3, cmd(&["SET", "k", "v"]));
        assert!(p.end_request(BOTH).is_none());
        p.push(3, cmd(&["DEL", "k"]));
        p.end_request(BOTH);
        let (b, t) = p.take();
        assert_eq!(t, BOTH);
        assert_eq!(
            text(&b),
            "*2 $6 SELECT $1 3 *3 $3 SET $1 k $1 v *2 $3 DEL $1 k "
        );
        assert!(p.is_empty());
    }

    #[test]
    fn several_effects_are_one_transaction() {
        let mut p = Propagation::default();
        p.push(0, cmd(&["DEL", "a"]));
        p.push(0, cmd(&["SET", "b", "1"]));
        p.end_request(BOTH);
        let (b, _) = p.take();
        assert_eq!(
            text(&b),
            "*2 $6 SELECT $1 0 *1 $5 MULTI *2 $3 DEL $1 a *3 $3 SET $1 b $1 1 *1 $4 EXEC "
        );
    }

    #[test]
    fn forced_select_and_database_changes() {
        let mut p = Propagation::default();
        p.push(1, cmd(&["INCR", "x"]));
        p.end_request(BOTH);
        p.force_select();
        p.push(1, cmd(&["INCR", "x"]));
        p.end_request(BOTH);
        p.push(2, cmd(&["INCR", "x"]));
        p.end_request(BOTH);
        let (b, _) = p.take();
        assert_eq!(text(&b).matches("SELECT").count(), 3);
        assert_eq!(p.selected_db(), Some(2));
    }

    #[test]
    fn bytes_go_only_to_the_listeners_they_were_encoded_for() {
        let mut p = Propagation::default();
        p.push(0, cmd(&["SET", "a", "1"]));
        p.end_request(AOF);
        assert_eq!(p.unflushed_repl_bytes(), 0);
        // A backlog appears: what was encoded for the AOF alone comes out
        // first, with its own listeners.
        p.push(0, cmd(&["SET", "b", "2"]));
        let (early, t) = p.end_request(BOTH).expect("earlier batch");
        assert_eq!(t, AOF);
        assert!(text(&early).contains("$1 a"));
        let (rest, t) = p.take();
        assert_eq!(t, BOTH);
        assert!(text(&rest).contains("$1 b") && !text(&rest).contains("$1 a"));
    }

    #[test]
    fn nobody_listening_encodes_nothing() {
        let mut p = Propagation::default();
        p.push(0, cmd(&["SET", "a", "1"]));
        assert!(p.end_request(Targets::default()).is_none());
        assert!(p.is_empty() && !p.has_pending());
    }
}
