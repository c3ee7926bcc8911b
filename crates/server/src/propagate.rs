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
//! A script may restrict where its next writes go (`redis.set_repl`): each
//! effect carries the consumers it may reach. A request whose effects do
//! not all go to the same consumers is encoded once per consumer, each
//! piece starting with its own `SELECT`.
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
    /// Both consumers.
    pub const ALL: Targets = Targets {
        repl: true,
        aof: true,
    };

    /// The consumers in both sets.
    pub fn and(self, other: Targets) -> Targets {
        Targets {
            repl: self.repl && other.repl,
            aof: self.aof && other.aof,
        }
    }

    /// Whether anyone listens.
    pub fn any(self) -> bool {
        self.repl || self.aof
    }
}

/// Pending effects and the encoded stream not yet handed out.
#[derive(Debug)]
pub struct Propagation {
    /// Effects of the running request: (database, command, who may get it).
    pending: Vec<(usize, Vec<Bytes>, Targets)>,
    /// Who the next effects may reach (a script's `redis.set_repl`).
    mask: Targets,
    /// The database the encoded stream last selected; `None` forces a
    /// `SELECT` before the next command.
    db: Option<usize>,
    /// Encoded effects waiting for the end of the batch.
    out: BytesMut,
    /// The consumers `out` was encoded for.
    targets: Targets,
}

impl Default for Propagation {
    fn default() -> Self {
        Propagation {
            pending: Vec::new(),
            mask: Targets::ALL,
            db: None,
            out: BytesMut::new(),
            targets: Targets::default(),
        }
    }
}

impl Propagation {
    /// Adds one effect of the running request.
    pub fn push(&mut self, db: usize, cmd: Vec<Bytes>) {
        if self.mask.any() {
            self.pending.push((db, cmd, self.mask));
        }
    }

    /// Restricts the consumers of the effects pushed from now on (a
    /// script's `redis.set_repl`; scripts put back [`Targets::ALL`] when
    /// they end).
    pub fn set_mask(&mut self, mask: Targets) {
        self.mask = mask;
    }

    /// Who the next effects may reach.
    pub fn mask(&self) -> Targets {
        self.mask
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

    /// Ends the request: encodes its effects for `targets`. Gives what must
    /// be delivered now, in order: bytes waiting from before when the
    /// listeners changed since they were encoded, and the pieces of a
    /// request whose effects go to different consumers. What it does not
    /// give waits for [`take`](Self::take).
    pub fn end_request(&mut self, targets: Targets) -> Vec<(Bytes, Targets)> {
        let mut now = Vec::new();
        if self.pending.is_empty() {
            return now;
        }
        let ops = std::mem::take(&mut self.pending);
        let mask = ops.first().map_or(Targets::ALL, |o| o.2);
        let uniform = ops.iter().all(|o| o.2 == mask);
        let to = if uniform { targets.and(mask) } else { targets };
        if to != self.targets && !self.out.is_empty() {
            now.push(self.take());
        }
        self.targets = to;
        if !to.any() {
            return now;
        }
        if uniform {
            self.encode_all(ops.iter().map(|o| (o.0, &o.1[..])));
            return now;
        }
        // Each consumer gets its own view, selected from scratch: the
        // shared SELECT state cannot follow two different streams.
        for only in [
            Targets {
                repl: true,
                aof: false,
            },
            Targets {
                repl: false,
                aof: true,
            },
        ] {
            if !to.and(only).any() {
                continue;
            }
            let mut view = ops
                .iter()
                .filter(|o| o.2.and(only).any())
                .map(|o| (o.0, &o.1[..]))
                .peekable();
            if view.peek().is_none() {
                continue;
            }
            self.db = None;
            self.targets = only;
            self.encode_all(view);
            now.push(self.take());
        }
        self.db = None;
        now
    }

    /// Encodes one request's effects, in a transaction when there are
    /// several.
    fn encode_all<'a>(&mut self, ops: impl Iterator<Item = (usize, &'a [Bytes])>) {
        let ops: Vec<(usize, &[Bytes])> = ops.collect();
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
        assert!(p.end_request(BOTH).is_empty());
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
        let mut now = p.end_request(BOTH);
        assert_eq!(now.len(), 1);
        let (early, t) = now.remove(0);
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
        assert!(p.end_request(Targets::default()).is_empty());
        assert!(p.is_empty() && !p.has_pending());
    }

    #[test]
    fn restricted_effects_reach_only_their_consumers() {
        let mut p = Propagation::default();
        p.push(0, cmd(&["SET", "a", "1"]));
        p.set_mask(Targets::default());
        p.push(0, cmd(&["SET", "b", "2"]));
        p.set_mask(AOF);
        p.push(0, cmd(&["SET", "c", "3"]));
        p.set_mask(Targets::ALL);
        p.push(0, cmd(&["SET", "d", "4"]));
        let now = p.end_request(BOTH);
        assert_eq!(now.len(), 2);
        let (repl, t) = &now[0];
        assert_eq!(
            *t,
            Targets {
                repl: true,
                aof: false
            }
        );
        assert_eq!(
            text(repl),
            "*2 $6 SELECT $1 0 *1 $5 MULTI *3 $3 SET $1 a $1 1 *3 $3 SET $1 d $1 4 *1 $4 EXEC "
        );
        let (aof, t) = &now[1];
        assert_eq!(*t, AOF);
        assert!(text(aof).contains("$1 c") && !text(aof).contains("$1 b"));
        assert_eq!(text(aof).matches("$3 SET").count(), 3);
        // The next request selects again for both.
        p.push(0, cmd(&["DEL", "a"]));
        assert!(p.end_request(BOTH).is_empty());
        assert!(text(&p.take().0).starts_with("*2 $6 SELECT"));
    }

    #[test]
    fn a_request_restricted_as_a_whole_goes_to_its_consumer() {
        let mut p = Propagation::default();
        p.set_mask(AOF);
        p.push(2, cmd(&["SET", "a", "1"]));
        assert!(p.end_request(BOTH).is_empty());
        assert_eq!(p.unflushed_repl_bytes(), 0);
        assert_eq!(p.take().1, AOF);
        p.set_mask(Targets::default());
        p.push(2, cmd(&["SET", "b", "1"]));
        assert!(p.end_request(BOTH).is_empty());
        assert!(p.is_empty());
    }
}
