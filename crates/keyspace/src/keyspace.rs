//! All logical databases of a server plus the state commands share:
//! statistics, the dirty counter, and the log of what changed (keys
//! modified, keys expired) that the server reads after every command.

use std::collections::HashMap;

use bytes::Bytes;
use rand::{rngs::SmallRng, SeedableRng};

use crate::db::{Db, Entry};
use crate::value::{EncodingLimits, Value};

/// Settings the command semantics depend on.
#[derive(Debug, Clone, Copy)]
pub struct KeyspaceConfig {
    /// Number of logical databases (`databases`).
    pub databases: usize,
    /// Largest string a command may build (`proto-max-bulk-len`).
    pub max_string_len: u64,
}

impl Default for KeyspaceConfig {
    fn default() -> Self {
        KeyspaceConfig {
            databases: 16,
            max_string_len: 512 * 1024 * 1024,
        }
    }
}

/// Counters reported in `INFO stats`.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyspaceStats {
    /// Successful key lookups by reads.
    pub keyspace_hits: u64,
    /// Failed key lookups by reads.
    pub keyspace_misses: u64,
    /// Keys removed because their time ran out.
    pub expired_keys: u64,
    /// Keys examined by the active expiry cycle.
    pub expire_cycle_sampled: u64,
}

/// Something whose freeing was deferred (UNLINK of a big value, FLUSHALL
/// ASYNC): the caller frees it off the command path, e.g. on another
/// thread, so the server does not stall while millions of allocations are
/// returned.
pub struct Garbage {
    /// How many objects Redis would count in `lazyfreed_objects`: one per
    /// value, one per key of a flushed database.
    pub objects: u64,
    /// The value or databases; dropping it frees them.
    pub payload: Box<dyn Send>,
}

impl std::fmt::Debug for Garbage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Garbage({} objects)", self.objects)
    }
}

/// Values that take more allocations than this to free are freed lazily
/// when asked (Redis's `LAZYFREE_THRESHOLD`).
pub const LAZYFREE_THRESHOLD: usize = 64;

/// When deletes and flushes free lazily without being asked (Redis's
/// `lazyfree-lazy-user-del` and `lazyfree-lazy-user-flush`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LazyFree {
    /// DEL behaves as UNLINK.
    pub user_del: bool,
    /// FLUSHALL/FLUSHDB without a mode behave as ASYNC.
    pub user_flush: bool,
}

/// Every database plus shared command state.
#[derive(Debug)]
pub struct Keyspace {
    dbs: Vec<Db>,
    config: KeyspaceConfig,
    /// Statistics.
    pub stats: KeyspaceStats,
    dirty: u64,
    reclaim_expired: bool,
    see_expired: bool,
    rng: SmallRng,
    expired: Vec<(usize, Bytes)>,
    /// Keys changed since the server last read the log (Redis's
    /// `signalModifiedKey`), in order, with their database.
    modified: Vec<(usize, Bytes)>,
    /// How many clients WATCH each (database, key): a flush or swap must
    /// report the watched keys it changes while they still exist.
    watched: HashMap<(usize, Bytes), usize>,
    limits: EncodingLimits,
    lazy: LazyFree,
    garbage: Vec<Garbage>,
}

impl Keyspace {
    /// A keyspace of empty databases; `seed` drives RANDOMKEY and sampling.
    pub fn new(config: KeyspaceConfig, seed: u64) -> Self {
        let databases = config.databases.max(1);
        Keyspace {
            dbs: (0..databases).map(|_| Db::new()).collect(),
            config,
            stats: KeyspaceStats::default(),
            dirty: 0,
            reclaim_expired: true,
            see_expired: false,
            rng: SmallRng::seed_from_u64(seed),
            expired: Vec::new(),
            modified: Vec::new(),
            watched: HashMap::new(),
            limits: EncodingLimits::default(),
            lazy: LazyFree::default(),
            garbage: Vec::new(),
        }
    }

    /// The lazy-free settings.
    pub fn lazy_free(&self) -> LazyFree {
        self.lazy
    }

    /// Changes the lazy-free settings.
    pub fn set_lazy_free(&mut self, lazy: LazyFree) {
        self.lazy = lazy;
    }

    /// Frees a removed value now, or defers it when `lazy` and the value
    /// is big enough for freeing to take a noticeable time.
    pub fn dispose(&mut self, value: Value, lazy: bool) {
        if lazy && value.free_effort() > LAZYFREE_THRESHOLD {
            self.garbage.push(Garbage {
                objects: 1,
                payload: Box::new(value),
            });
        }
    }

    /// Empties database `i` (or every database when `None`); with `lazy`
    /// the old contents are deferred rather than freed here. Returns how
    /// many keys there were.
    pub fn flush(&mut self, db: Option<usize>, lazy: bool) -> usize {
        // Emptying every database goes through `take_dbs`, which reports.
        if let Some(i) = db {
            self.signal_watched(&[i], false);
        }
        let old: Vec<Db> = match db {
            Some(i) => match self.dbs.get_mut(i) {
                Some(d) => vec![std::mem::take(d)],
                None => Vec::new(),
            },
            None => self.take_dbs(),
        };
        let n: usize = old.iter().map(Db::len).sum();
        if lazy && n > 0 {
            self.garbage.push(Garbage {
                objects: n as u64,
                payload: Box::new(old),
            });
        }
        n
    }

    /// Whether deferred frees are waiting for [`Keyspace::take_garbage`].
    pub fn has_garbage(&self) -> bool {
        !self.garbage.is_empty()
    }

    /// Hands over the deferred frees.
    pub fn take_garbage(&mut self) -> Vec<Garbage> {
        std::mem::take(&mut self.garbage)
    }

    /// The configuration.
    pub fn config(&self) -> &KeyspaceConfig {
        &self.config
    }

    /// Changes the largest string commands may build.
    pub fn set_max_string_len(&mut self, len: u64) {
        self.config.max_string_len = len;
    }

    /// The thresholds for compact collection encodings.
    pub fn limits(&self) -> &EncodingLimits {
        &self.limits
    }

    /// Changes the thresholds for compact collection encodings (the
    /// `*-max-listpack-*` and `set-max-intset-entries` settings); existing
    /// values keep their encoding, as in Redis.
    pub fn set_limits(&mut self, limits: EncodingLimits) {
        self.limits = limits;
    }

    /// Number of databases.
    pub fn db_count(&self) -> usize {
        self.dbs.len()
    }

    /// Database `i`, if it exists.
    pub fn db(&self, i: usize) -> Option<&Db> {
        self.dbs.get(i)
    }

    /// Database `i` mutably, if it exists.
    pub fn db_mut(&mut self, i: usize) -> Option<&mut Db> {
        self.dbs.get_mut(i)
    }

    /// Replaces database `i` wholesale (used when a snapshot is swapped in).
    pub fn replace_dbs(&mut self, dbs: Vec<Db>) {
        let n = self.dbs.len();
        self.signal_watched_everywhere();
        self.dbs = dbs;
        // Keys the new data set has are changed too.
        self.signal_watched_everywhere();
        self.dbs.resize_with(n.max(1), Db::new);
    }

    /// Takes all databases out, leaving empty ones.
    pub fn take_dbs(&mut self) -> Vec<Db> {
        let n = self.dbs.len();
        self.signal_watched_everywhere();
        std::mem::replace(&mut self.dbs, (0..n).map(|_| Db::new()).collect())
    }

    /// Whether lookups delete expired keys (a master) or only hide them
    /// (a replica, which waits for its master's DEL).
    pub fn set_reclaim_expired(&mut self, yes: bool) {
        self.reclaim_expired = yes;
    }

    /// While set, lookups see logically expired keys as present: a
    /// replica applying its master's stream must find the keys the master
    /// still has (the master's DEL decides when they go).
    pub fn set_see_expired(&mut self, yes: bool) {
        self.see_expired = yes;
    }

    /// Whether lookups delete expired keys.
    pub fn reclaims_expired(&self) -> bool {
        self.reclaim_expired
    }

    /// The write counter since the last snapshot.
    pub fn dirty(&self) -> u64 {
        self.dirty
    }

    /// Adds to the write counter.
    pub fn add_dirty(&mut self, n: u64) {
        self.dirty += n;
    }

    /// Resets the write counter (after a snapshot).
    pub fn reset_dirty(&mut self, to: u64) {
        self.dirty = to;
    }

    /// The random generator commands use.
    pub fn rng(&mut self) -> &mut SmallRng {
        &mut self.rng
    }

    /// Keys deleted because they had expired since the last call, with
    /// their database, in deletion order. Each must reach replicas as a DEL.
    pub fn take_expired(&mut self) -> Vec<(usize, Bytes)> {
        std::mem::take(&mut self.expired)
    }

    /// Whether keys await propagation as expired.
    pub fn has_expired(&self) -> bool {
        !self.expired.is_empty()
    }

    /// Records that `key` in database `db` changed. Every write handler
    /// calls it for each key it actually changed (not for no-op writes),
    /// as Redis's `signalModifiedKey`: WATCH, blocked clients and any later
    /// listener are driven from this one log.
    pub fn signal_modified(&mut self, db: usize, key: Bytes) {
        self.modified.push((db, key));
    }

    /// Whether modified keys await [`Keyspace::take_modified`].
    pub fn has_modified(&self) -> bool {
        !self.modified.is_empty()
    }

    /// Moves the modified-key log into `out` (appending, in order), so the
    /// caller can reuse one buffer and the log keeps its capacity.
    pub fn take_modified(&mut self, out: &mut Vec<(usize, Bytes)>) {
        out.append(&mut self.modified);
    }

    /// Notes one more WATCH of `key` in `db`.
    pub fn watch_key(&mut self, db: usize, key: Bytes) {
        *self.watched.entry((db, key)).or_insert(0) += 1;
    }

    /// Drops one WATCH of `key` in `db`.
    pub fn unwatch_key(&mut self, db: usize, key: &Bytes) {
        let k = (db, key.clone());
        if let Some(n) = self.watched.get_mut(&k) {
            *n -= 1;
            if *n == 0 {
                self.watched.remove(&k);
            }
        }
    }

    /// Before databases are emptied, swapped or replaced: reports each
    /// watched key of `dbs` that exists there (with `across`, that exists in
    /// any of `dbs`, as a swap exchanges them), as Redis's
    /// `touchAllWatchedKeysInDb` does. Watchers of missing keys are left
    /// alone.
    fn signal_watched(&mut self, dbs: &[usize], across: bool) {
        if self.watched.is_empty() {
            return;
        }
        let exists =
            |x: usize, key: &[u8]| self.dbs.get(x).is_some_and(|d| d.get_raw(key).is_some());
        let hit: Vec<(usize, Bytes)> = self
            .watched
            .keys()
            .filter(|(d, key)| {
                dbs.contains(d)
                    && if across {
                        dbs.iter().any(|&x| exists(x, key))
                    } else {
                        exists(*d, key)
                    }
            })
            .cloned()
            .collect();
        self.modified.extend(hit);
    }

    fn signal_watched_everywhere(&mut self) {
        if self.watched.is_empty() {
            return;
        }
        let all: Vec<usize> = (0..self.dbs.len()).collect();
        self.signal_watched(&all, false);
    }

    /// Looks up a key for reading, counting hits and misses.
    pub fn lookup_read(&mut self, db: usize, key: &[u8], now_ms: i64) -> Option<&mut Entry> {
        if self.see_expired {
            return self.dbs.get_mut(db)?.get_raw_mut(key);
        }
        let Keyspace {
            dbs,
            expired,
            stats,
            reclaim_expired,
            ..
        } = self;
        let found = lookup_in(dbs, expired, stats, *reclaim_expired, db, key, now_ms);
        if found.is_some() {
            stats.keyspace_hits += 1;
        } else {
            stats.keyspace_misses += 1;
        }
        found
    }

    /// Looks up a key for writing.
    pub fn lookup_write(&mut self, db: usize, key: &[u8], now_ms: i64) -> Option<&mut Entry> {
        if self.see_expired {
            return self.dbs.get_mut(db)?.get_raw_mut(key);
        }
        let Keyspace {
            dbs,
            expired,
            stats,
            reclaim_expired,
            ..
        } = self;
        lookup_in(dbs, expired, stats, *reclaim_expired, db, key, now_ms)
    }

    /// Whether a live key exists (no statistics, no access-time update).
    pub fn exists(&mut self, db: usize, key: &[u8], now_ms: i64) -> bool {
        self.lookup_write(db, key, now_ms).is_some()
    }

    /// Advances every database's in-progress key-table resize by up to
    /// `buckets` buckets (Redis's `activerehashing`).
    pub fn rehash_steps(&mut self, buckets: usize) {
        for db in &mut self.dbs {
            db.rehash_steps(buckets);
        }
    }

    /// Runs one budgeted active-expiry step over every database: samples
    /// keys with an expiry, deletes the expired ones, and repeats on a
    /// database while more than a quarter of a sample had expired, at most
    /// `budget` samples in all. Returns how many keys were deleted.
    pub fn active_expire(&mut self, now_ms: i64, budget: usize) -> usize {
        if !self.reclaim_expired {
            return 0;
        }
        const SAMPLE: usize = 20;
        let mut spent = 0;
        let mut deleted = 0;
        let mut out = Vec::new();
        for (i, db) in self.dbs.iter_mut().enumerate() {
            loop {
                if spent >= budget || db.volatile_len() == 0 {
                    break;
                }
                out.clear();
                let sampled = db.expire_sample(&mut self.rng, now_ms, SAMPLE, &mut out);
                spent += sampled;
                self.stats.expire_cycle_sampled += sampled as u64;
                deleted += out.len();
                self.stats.expired_keys += out.len() as u64;
                let ratio_high = out.len() * 4 > sampled;
                self.expired.extend(out.drain(..).map(|k| (i, k)));
                if !ratio_high {
                    break;
                }
            }
        }
        deleted
    }

    /// Swaps two databases.
    pub fn swap_dbs(&mut self, a: usize, b: usize) -> bool {
        if a >= self.dbs.len() || b >= self.dbs.len() {
            return false;
        }
        self.signal_watched(&[a, b], true);
        self.dbs.swap(a, b);
        true
    }

    /// Total number of keys in all databases.
    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(Db::len).sum()
    }
}

/// A lookup over disjoint borrows of the keyspace's fields, so the entry can
/// be returned while an expired key is recorded.
fn lookup_in<'a>(
    dbs: &'a mut [Db],
    expired: &mut Vec<(usize, Bytes)>,
    stats: &mut KeyspaceStats,
    reclaim: bool,
    db: usize,
    key: &[u8],
    now_ms: i64,
) -> Option<&'a mut Entry> {
    let d = dbs.get_mut(db)?;
    let mut gone = None;
    let found = d.lookup(key, now_ms, reclaim, &mut gone);
    if let Some(k) = gone {
        stats.expired_keys += 1;
        expired.push((db, k));
    }
    found
}
