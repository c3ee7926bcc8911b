//! The state of a running server, owned by the one event-loop thread.

use crate::config::key;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use bytes::Bytes;
use keyspace::{Call, Keyspace, KeyspaceConfig, Propagate};
use resp_codec::DecoderLimits;

use crate::commands::CommandTable;
use crate::config::Config;
use crate::repl::Repl;
use crate::session::ClientHandle;

/// A client watching a key: its id and the flag EXEC checks.
#[derive(Debug, Clone)]
pub struct Watcher {
    /// The watching client.
    pub id: u64,
    /// The flag EXEC checks.
    pub dirty: Rc<Cell<bool>>,
    /// Whether the key was alive when WATCH ran.
    pub existed: bool,
    /// Whether the key is there but logically expired, as at WATCH time
    /// (Redis's `watchedKey.expired`): deleting such a key changes nothing
    /// the client could have seen.
    pub stale: Cell<bool>,
}

pub use crate::clients::Pause;

pub use crate::process::ShutdownRequest;

/// Counters for INFO stats, commandstats and errorstats.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub total_connections_received: u64,
    /// Commands run.
    pub total_commands_processed: u64,
    /// Connections refused (maxclients).
    pub rejected_connections: u64,
    /// Bytes read from clients.
    pub net_input_bytes: u64,
    /// Bytes written to clients.
    pub net_output_bytes: u64,
    /// Bytes received from this node's master.
    pub net_repl_input_bytes: u64,
    /// Socket reads that returned data.
    pub total_reads: u64,
    /// Socket writes.
    pub total_writes: u64,
    /// Calls per command name.
    pub calls: HashMap<&'static str, u64, foldhash::fast::RandomState>,
    /// Error replies per error code.
    pub errors: BTreeMap<String, u64>,
    /// Total error replies.
    pub total_error_replies: u64,
    /// Recent (time ms, commands processed) samples for ops/sec.
    pub ops_samples: Vec<(i64, u64)>,
    /// Recent (time ms, input bytes, output bytes) samples for kbps.
    pub net_samples: Vec<(i64, u64, u64)>,
}

impl Stats {
    /// Counts one call of `name`.
    pub fn count_command(&mut self, name: &'static str) {
        self.total_commands_processed += 1;
        *self.calls.entry(name).or_insert(0) += 1;
    }

    /// Counts an error reply by its code (the first word).
    pub fn count_error(&mut self, msg: &[u8]) {
        self.total_error_replies += 1;
        let code = msg.split(|b| *b == b' ').next().unwrap_or(b"ERR");
        let code = String::from_utf8_lossy(code).into_owned();
        if self.errors.len() < 128 || self.errors.contains_key(&code) {
            *self.errors.entry(code).or_insert(0) += 1;
        }
    }

    /// Records a sample for the instantaneous rates (called by the cron).
    pub fn sample(&mut self, now_ms: i64) {
        self.ops_samples
            .push((now_ms, self.total_commands_processed));
        self.net_samples
            .push((now_ms, self.net_input_bytes, self.net_output_bytes));
        const KEEP: usize = 16;
        if self.ops_samples.len() > KEEP {
            self.ops_samples.remove(0);
        }
        if self.net_samples.len() > KEEP {
            self.net_samples.remove(0);
        }
    }

    /// Commands per second over the recent samples.
    pub fn instantaneous_ops(&self) -> u64 {
        match (self.ops_samples.first(), self.ops_samples.last()) {
            (Some(a), Some(b)) if b.0 > a.0 => (b.1 - a.1) * 1000 / (b.0 - a.0) as u64,
            _ => 0,
        }
    }

    /// Input and output kilobytes per second over the recent samples.
    pub fn instantaneous_kbps(&self) -> (f64, f64) {
        match (self.net_samples.first(), self.net_samples.last()) {
            (Some(a), Some(b)) if b.0 > a.0 => {
                let secs = (b.0 - a.0) as f64 / 1000.0;
                (
                    (b.1 - a.1) as f64 / 1024.0 / secs,
                    (b.2 - a.2) as f64 / 1024.0 / secs,
                )
            }
            _ => (0.0, 0.0),
        }
    }
}

/// Everything the event loop owns.
#[derive(Debug)]
pub struct Server {
    /// Configuration.
    pub config: Config,
    /// Frees big deleted values and flushed databases off the event loop.
    pub lazyfree: crate::lazyfree::LazyFreer,
    /// The data.
    pub ks: Keyspace,
    /// Statistics.
    pub stats: Stats,
    /// The command table index.
    pub commands: CommandTable,
    /// Connected clients, the pause in force, clients in WAIT.
    pub clients: crate::clients::Clients,
    /// This run's identity and shutdown request.
    pub process: crate::process::Process,
    /// Replication: both roles' state machines.
    pub repl: Repl,
    /// Cached `requirepass` (None when empty).
    requirepass: Option<Bytes>,
    /// Cached request decoder limits.
    pub limits: DecoderLimits,
    /// Whether the cron expires keys actively (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire: bool,
    /// The append-only file, when `appendonly yes`.
    pub aof: Option<crate::aof::Aof>,
    /// Clients blocked on keys (BLPOP and friends).
    pub blocking: crate::commands::blocking::Blocking,
    /// Snapshot and load state.
    pub saving: crate::commands::persistence::SaveState,
    /// Pub/sub subscribers of each channel and pattern.
    pub subscribers: crate::commands::pubsub::Subscribers,
    /// Clients watching each (database, key).
    pub watchers: HashMap<(usize, Bytes), Vec<Watcher>>,
    /// The propagation stream's owner: effects, SELECTs, encoding.
    pub prop: crate::propagate::Propagation,
    /// Reused buffer for the keyspace's modified-key log.
    modified_keys: Vec<(usize, Bytes)>,
    /// Listening sockets and early connections for busy scripts.
    pub busy: crate::commands::busy::BusyDoor,
    /// Lua scripting: the interpreter and the script client.
    pub scripting: crate::commands::scripting::Scripting,
    /// A writable replica's own keys with an expiry, which it expires
    /// itself.
    pub replica_own: crate::replica_own_keys::ReplicaOwnKeys,
}

/// Current Unix time in milliseconds.
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// 20 random bytes from the operating system's generator.
pub fn random_bytes() -> [u8; 20] {
    use rand::RngCore;
    let mut b = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Server {
    /// A server with the given configuration and an empty data set.
    pub fn new(config: Config) -> Self {
        let ks = Keyspace::new(
            KeyspaceConfig {
                databases: usize::try_from(config.int(key::DATABASES)).unwrap_or(16),
                max_string_len: u64::try_from(config.int(key::PROTO_MAX_BULK_LEN))
                    .unwrap_or(u64::MAX),
            },
            u64::from_le_bytes([1, 2, 3, 4, 5, 6, 7, 8]) ^ unix_ms() as u64,
        );
        let mut s = Server {
            ks,
            stats: Stats::default(),
            commands: CommandTable::default(),
            clients: Default::default(),
            process: crate::process::Process::new(
                hex(&random_bytes()),
                u16::try_from(config.int(key::PORT)).unwrap_or(6379),
            ),
            repl: Repl::new(
                &config,
                u16::try_from(config.int(key::PORT)).unwrap_or(6379),
            ),
            requirepass: None,
            limits: DecoderLimits::default(),
            active_expire: true,
            saving: Default::default(),
            blocking: Default::default(),
            aof: None,
            watchers: HashMap::new(),
            subscribers: Default::default(),
            prop: Default::default(),
            modified_keys: Vec::new(),
            replica_own: Default::default(),
            scripting: Default::default(),
            busy: Default::default(),
            lazyfree: crate::lazyfree::LazyFreer::start(),
            config,
        };
        s.config_changed();
        s
    }

    /// Refreshes values cached from the configuration.
    pub fn config_changed(&mut self) {
        let pass = self.config.str(key::REQUIREPASS);
        self.requirepass = (!pass.is_empty()).then(|| Bytes::from(pass));
        let max_bulk = u64::try_from(self.config.int(key::PROTO_MAX_BULK_LEN)).unwrap_or(u64::MAX);
        self.limits.max_bulk_len = max_bulk;
        self.ks.set_max_string_len(max_bulk);
        if let Some(aof) = self.aof.as_mut() {
            aof.set_fsync(crate::aof::Fsync::parse(&self.config.str(key::APPENDFSYNC)));
        }
        // Replication settings apply at once, as CONFIG SET does in Redis.
        let mcfg = crate::repl::master_config(&self.config);
        let backlog = mcfg.backlog_size;
        *self.repl.node.master.config_mut() = mcfg;
        let _ = self.repl.node.master.set_backlog_size(backlog);
        let rcfg = crate::repl::replica_config(&self.config, self.process.port);
        *self.repl.node.replica.config_mut() = rcfg;
        let lim = |name: key::Number| usize::try_from(self.config.int(name)).unwrap_or(0);
        self.ks.set_limits(keyspace::value::EncodingLimits {
            hash_max_listpack_entries: lim(key::HASH_MAX_LISTPACK_ENTRIES),
            hash_max_listpack_value: lim(key::HASH_MAX_LISTPACK_VALUE),
            set_max_intset_entries: lim(key::SET_MAX_INTSET_ENTRIES),
            zset_max_listpack_entries: lim(key::ZSET_MAX_LISTPACK_ENTRIES),
            zset_max_listpack_value: lim(key::ZSET_MAX_LISTPACK_VALUE),
        });
        self.ks.set_lazy_free(keyspace::keyspace::LazyFree {
            user_del: self.config.bool(key::LAZYFREE_LAZY_USER_DEL),
            user_flush: self.config.bool(key::LAZYFREE_LAZY_USER_FLUSH),
        });
        if let Some(level) = crate::logging::LogLevel::parse(&self.config.str(key::LOGLEVEL)) {
            crate::logging::set_level(level);
        }
    }

    /// Whether clients must authenticate.
    pub fn auth_required(&self) -> bool {
        self.requirepass.is_some()
    }

    /// Checks a password in constant time with respect to its content.
    pub fn check_password(&self, given: &[u8]) -> bool {
        match &self.requirepass {
            None => false,
            Some(p) => constant_time_eq(p, given),
        }
    }

    /// Registers a new client and returns its handle.
    pub fn register_client(
        &mut self,
        addr: std::net::SocketAddr,
        laddr: std::net::SocketAddr,
    ) -> Rc<ClientHandle> {
        let id = self.clients.take_id();
        self.stats.total_connections_received += 1;
        let h = Rc::new(ClientHandle::new(id, addr, laddr, unix_ms()));
        self.clients.insert(h.clone());
        h
    }

    /// Hands whatever the last commands deleted lazily to the freeing
    /// thread.
    pub fn collect_garbage(&mut self) {
        if self.ks.has_garbage() {
            self.lazyfree.free(self.ks.take_garbage());
        }
    }

    /// Forgets a client.
    pub fn unregister_client(&mut self, id: u64) {
        self.clients.remove(id);
    }

    /// Records what a finished call changed: every key event is handled
    /// (see [`Server::process_key_events`]) and the call's effects queue up
    /// for the propagation stream until the request ends.
    pub fn record(&mut self, db: usize, call: &Call<'_>) {
        self.process_key_events();
        if call.propagate == Propagate::Nothing || !self.wants_propagation() {
            return;
        }
        match &call.propagate {
            Propagate::Nothing => {}
            Propagate::Verbatim => self.prop.push(db, call.args.to_vec()),
            Propagate::Rewritten(cmds) => {
                for c in cmds {
                    self.prop.push(db, c.clone());
                }
            }
        }
    }

    /// Handles what the keyspace logged since the last call: keys that
    /// expired (each also reaches replicas and the AOF as a DEL, ahead of
    /// the effects of the command that found it) and keys that were
    /// modified. Both touch WATCHers and wake clients blocked on the key.
    pub fn process_key_events(&mut self) {
        if self.ks.has_expired() {
            for (db, key) in self.ks.take_expired() {
                self.key_changed(db, &key);
                if self.wants_propagation() {
                    self.prop.push(db, vec![Bytes::from_static(b"DEL"), key]);
                }
            }
        }
        if self.ks.has_modified() {
            let mut keys = std::mem::take(&mut self.modified_keys);
            self.ks.take_modified(&mut keys);
            for (db, key) in keys.drain(..) {
                self.key_changed(db, &key);
            }
            self.modified_keys = keys;
        }
    }

    /// Keys the expiry cycle deleted, handled as a command's would be, but
    /// each DEL its own entry in the stream rather than one transaction,
    /// as Redis propagates them.
    pub fn process_expired_alone(&mut self) {
        for (db, key) in self.ks.take_expired() {
            self.expired_alone(db, key);
        }
    }

    /// One key deleted because its time ran out, outside any command:
    /// watchers and blocked clients hear of it, and it reaches the stream
    /// (the AOF only, on a replica) as its own DEL.
    fn expired_alone(&mut self, db: usize, key: Bytes) {
        self.key_changed(db, &key);
        self.propagate(db, vec![Bytes::from_static(b"DEL"), key]);
        self.flush_propagation();
    }

    /// One changed key: WATCH and blocked clients hear of it.
    fn key_changed(&mut self, db: usize, key: &Bytes) {
        if self.replica_own.running()
            && self
                .ks
                .db(db)
                .is_some_and(|d| d.expire_of(key) != keyspace::db::NO_EXPIRE)
        {
            self.replica_own.note(db, key);
        }
        if !self.watchers.is_empty() {
            self.touch(db, key);
        }
        if !self.blocking.is_empty() {
            self.blocking.signal(db, key);
        }
    }

    /// Expires the keys a writable replica's own clients gave a TTL (see
    /// [`crate::replica_own_keys`]); forgets those that lost their TTL or
    /// are gone, and everything once the node is no longer a replica. At
    /// most `budget` keys are looked at per call.
    pub fn expire_replica_own_keys(&mut self, now_ms: i64, budget: usize) {
        use crate::replica_own_keys::KeyTtl;
        if self.replica_own.is_empty() {
            return;
        }
        if !self.repl.is_replica {
            self.replica_own.clear();
            return;
        }
        let ks = &self.ks;
        let due = self.replica_own.sweep(budget, |db, key| {
            // A missing key has no expiry either.
            let at = ks
                .db(db)
                .map_or(keyspace::db::NO_EXPIRE, |d| d.expire_of(key));
            if at == keyspace::db::NO_EXPIRE {
                KeyTtl::None
            } else if keyspace::db::expired_at(at, now_ms) {
                KeyTtl::Due
            } else {
                KeyTtl::Later
            }
        });
        for (db, key) in due {
            if let Some(d) = self.ks.db_mut(db) {
                d.remove(&key);
            }
            self.ks.stats.expired_keys += 1;
            self.expired_alone(db, key);
        }
    }

    /// Records the effect of serving a blocked client (the non-blocking
    /// form of its command); the keys it changed are in the keyspace's log.
    pub fn record_served(&mut self, db: usize, cmd: Vec<Bytes>) {
        self.process_key_events();
        if self.wants_propagation() {
            self.prop.push(db, cmd);
        }
    }

    /// Queues an effect that no command produced (DEBUG REPLICATE, keys
    /// the expiry cycle deleted); it goes out with the request's others.
    pub fn propagate(&mut self, db: usize, cmd: Vec<Bytes>) {
        if self.wants_propagation() {
            self.prop.push(db, cmd);
        }
    }

    /// Ends the current request's effects: they are encoded once for the
    /// listeners of the moment (see [`crate::propagate`]).
    pub fn flush_propagation(&mut self) {
        if !self.prop.has_pending() {
            return;
        }
        let targets = self.propagation_targets();
        for (bytes, to) in self.prop.end_request(targets) {
            self.deliver(bytes, to);
        }
    }

    /// Hands the encoded stream to the AOF's buffer and the replication
    /// master, the same bytes to both. Called at the end of every
    /// connection batch and before anything that depends on the master
    /// offset.
    pub fn deliver_stream(&mut self) -> bool {
        if self.prop.is_empty() {
            return false;
        }
        let (bytes, to) = self.prop.take();
        self.deliver(bytes, to)
    }

    /// Delivers encoded bytes to the listeners they were encoded for;
    /// returns whether the replication master got some.
    pub fn deliver(&mut self, bytes: Bytes, to: crate::propagate::Targets) -> bool {
        if to.aof {
            if let Some(aof) = self.aof.as_mut() {
                aof.append(&bytes);
            }
        }
        if to.repl {
            self.repl.node.master.feed_bytes(unix_ms() as u64, bytes);
        }
        to.repl
    }

    /// Who listens to the propagation stream now.
    pub fn propagation_targets(&self) -> crate::propagate::Targets {
        crate::propagate::Targets {
            repl: self.repl.active(),
            aof: self.aof.is_some(),
        }
    }

    /// Whether writes must be recorded: replicas or an AOF listen.
    pub fn wants_propagation(&self) -> bool {
        self.repl.active() || self.aof.is_some()
    }

    /// The master replication offset, counting writes still batched.
    pub fn repl_offset(&self) -> u64 {
        self.repl.node.master.master_offset() + self.prop.unflushed_repl_bytes() as u64
    }

    /// Marks every client watching `key` in `db`.
    pub fn touch(&mut self, db: usize, key: &Bytes) {
        let Some(list) = self.watchers.get(&(db, key.clone())) else {
            return;
        };
        let d = self.ks.db(db);
        let present = d.is_some_and(|d| d.get_raw(key).is_some());
        let stale = present && d.is_some_and(|d| d.is_expired(key, unix_ms()));
        for w in list {
            // Redis's rules for keys that are there but expired: a stale key
            // deleted, or replaced by another stale one, is no change; a
            // missing key replaced by a stale one (SWAPDB) becomes stale.
            if w.stale.get() {
                if !present {
                    w.stale.set(false);
                    continue;
                }
                if stale {
                    continue;
                }
            } else if !w.existed && stale {
                w.stale.set(true);
                continue;
            }
            w.dirty.set(true);
        }
    }

    /// Replication history to store in a snapshot: only a node with a
    /// backlog has a stream others could continue from.
    pub fn repl_aux(&self) -> Option<rdb::ReplAux> {
        if !self.repl.is_replica && self.repl.node.master.backlog().is_none() {
            return None;
        }
        let h = self.repl.node.master.history();
        // A replica records the database its master's stream is in; a
        // master the one its own stream selected, 0 when none was (its next
        // write starts with SELECT anyway). -1 would make Redis ignore the
        // replication fields.
        let db = if self.repl.is_replica {
            self.repl.master_db()
        } else {
            self.prop.selected_db().unwrap_or(0)
        };
        Some(rdb::ReplAux {
            stream_db: db as i64,
            repl_id: h.ids.replid().to_string(),
            repl_offset: h.offset as i64,
        })
    }

    /// Whether a request from `sess` must wait for a CLIENT PAUSE to end.
    /// Replicas and the master link are never paused.
    pub fn paused_for(&self, sess: &crate::session::Session, args: &[Bytes], now_ms: i64) -> bool {
        let Some(p) = self.clients.pause_set() else {
            return false;
        };
        if p.until_ms <= now_ms
            || sess.is_master
            || sess.handle.kind.get() != crate::session::ClientKind::Normal
        {
            return false;
        }
        let Some(spec) = args.first().and_then(|n| self.commands.lookup(n)) else {
            return false;
        };
        use crate::commands::table::flag;
        // ALL holds every command, CLIENT UNPAUSE included, as Redis 7.0
        // does; WRITE only those that may change data.
        p.all || spec.has(flag::WRITE) || spec.has(flag::MAY_REPLICATE)
    }
}

/// Compares two byte strings without an early exit on the first difference.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn password_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret1"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}
