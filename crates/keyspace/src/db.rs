//! One logical database: keys, values, expiry times and access times.
//!
//! The map is an insertion-ordered hash map so that `SCAN` can walk it by
//! position. Deletions swap the last entry into the hole, so `SCAN` walks
//! positions from the end towards the start: an entry only ever moves to a
//! lower position, which means an entry present for a whole scan is never
//! skipped (it may be returned twice, which Redis's contract allows).

use bytes::Bytes;
use foldhash::fast::RandomState;
use indexmap::{IndexMap, IndexSet};
use rand::Rng;

use crate::value::Value;

/// Expiry time meaning "no expiry".
pub const NO_EXPIRE: i64 = -1;

/// A stored key's value with its metadata.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Absolute expiry in Unix milliseconds, or [`NO_EXPIRE`].
    pub expire_at: i64,
    /// Last access, in Unix seconds (for `OBJECT IDLETIME`).
    pub lru: u32,
    /// Set on a COPY's duplicate: Redis copies small integers into a
    /// private object, so `OBJECT REFCOUNT` no longer reports them shared.
    pub private_copy: bool,
}

impl Entry {
    /// Whether the entry is logically expired at `now_ms`.
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expire_at != NO_EXPIRE && self.expire_at <= now_ms
    }
}

/// What an expiry check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Liveness {
    Missing,
    Live(usize),
    Expired(usize),
}

/// A single-owner database: no locks, every method takes `&mut self` or `&self`.
#[derive(Debug, Default)]
pub struct Db {
    map: IndexMap<Bytes, Entry, RandomState>,
    volatile: IndexSet<Bytes, RandomState>,
}

fn lru_of(now_ms: i64) -> u32 {
    u32::try_from(now_ms.max(0) / 1000).unwrap_or(u32::MAX)
}

impl Db {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys, including logically expired ones not yet reclaimed.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the database holds no keys at all.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of keys with an expiry time.
    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    fn liveness(&self, key: &[u8], now_ms: i64) -> Liveness {
        match self.map.get_index_of(key) {
            None => Liveness::Missing,
            Some(i) => match self.map.get_index(i) {
                Some((_, e)) if e.is_expired(now_ms) => Liveness::Expired(i),
                Some(_) => Liveness::Live(i),
                None => Liveness::Missing,
            },
        }
    }

    /// Looks a key up, treating an expired key as missing. When `reclaim`
    /// is set the expired key is removed and returned in `expired` so the
    /// caller can propagate its deletion; a replica passes `false` because
    /// only its master decides when keys die.
    pub fn lookup(
        &mut self,
        key: &[u8],
        now_ms: i64,
        reclaim: bool,
        expired: &mut Option<Bytes>,
    ) -> Option<&mut Entry> {
        match self.liveness(key, now_ms) {
            Liveness::Missing => None,
            Liveness::Expired(i) => {
                if reclaim {
                    if let Some((k, _)) = self.remove_index(i) {
                        *expired = Some(k);
                    }
                }
                None
            }
            Liveness::Live(i) => {
                let (_, e) = self.map.get_index_mut(i)?;
                e.lru = lru_of(now_ms);
                Some(e)
            }
        }
    }

    /// Looks a key up without touching its access time or reclaiming it.
    pub fn peek(&self, key: &[u8], now_ms: i64) -> Option<&Entry> {
        self.map.get(key).filter(|e| !e.is_expired(now_ms))
    }

    /// Looks a key up regardless of expiry (used to apply a master's stream).
    pub fn get_raw(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(key)
    }

    /// Looks a key up mutably regardless of expiry.
    pub fn get_raw_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.map.get_mut(key)
    }

    /// Inserts or replaces a value. `expire_at` replaces the old expiry.
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: i64, now_ms: i64) {
        let lru = lru_of(now_ms);
        if let Some(e) = self.map.get_mut(key) {
            e.value = value;
            e.lru = lru;
            e.private_copy = false;
            let was = e.expire_at;
            e.expire_at = expire_at;
            self.sync_volatile(key, was, expire_at);
            return;
        }
        let k = Bytes::copy_from_slice(key);
        if expire_at != NO_EXPIRE {
            self.volatile.insert(k.clone());
        }
        self.map.insert(
            k,
            Entry {
                value,
                expire_at,
                lru,
                private_copy: false,
            },
        );
    }

    /// Inserts an entry under an already-owned key (moves between databases).
    pub fn insert_entry(&mut self, key: Bytes, entry: Entry) {
        if entry.expire_at != NO_EXPIRE {
            self.volatile.insert(key.clone());
        } else {
            self.volatile.swap_remove(&key);
        }
        self.map.insert(key, entry);
    }

    /// Changes the expiry of an existing key; returns false if it is absent.
    pub fn set_expire(&mut self, key: &[u8], expire_at: i64) -> bool {
        let Some(e) = self.map.get_mut(key) else {
            return false;
        };
        let was = e.expire_at;
        e.expire_at = expire_at;
        self.sync_volatile(key, was, expire_at);
        true
    }

    fn sync_volatile(&mut self, key: &[u8], was: i64, now: i64) {
        match (was == NO_EXPIRE, now == NO_EXPIRE) {
            (true, false) => {
                self.volatile.insert(Bytes::copy_from_slice(key));
            }
            (false, true) => {
                self.volatile.swap_remove(key);
            }
            _ => {}
        }
    }

    /// Removes a key; returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let (_, k, e) = self.map.swap_remove_full(key)?;
        if e.expire_at != NO_EXPIRE {
            self.volatile.swap_remove(&k);
        }
        Some(e)
    }

    fn remove_index(&mut self, i: usize) -> Option<(Bytes, Entry)> {
        let (k, e) = self.map.swap_remove_index(i)?;
        if e.expire_at != NO_EXPIRE {
            self.volatile.swap_remove(&k);
        }
        Some((k, e))
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.map = IndexMap::default();
        self.volatile = IndexSet::default();
    }

    /// Iterates over every stored entry, expired or not.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Entry)> {
        self.map.iter()
    }

    /// One `SCAN` step: visits up to `count` positions walking down from
    /// `cursor` (0 starts at the end), calling `visit` for each entry, and
    /// returns the next cursor (0 when done).
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&Bytes, &Entry)) -> u64 {
        let len = self.map.len() as u64;
        let mut pos = if cursor == 0 || cursor > len {
            len
        } else {
            cursor
        };
        let mut visited = 0;
        while pos > 0 && visited < count {
            pos -= 1;
            if let Some((k, e)) = self.map.get_index(pos as usize) {
                visit(k, e);
            }
            visited += 1;
        }
        pos
    }

    /// A uniformly chosen key that is not expired, if any, trying a bounded
    /// number of times (as Redis does) before giving back an expired one.
    pub fn random_key(&self, rng: &mut impl Rng, now_ms: i64) -> Option<Bytes> {
        if self.map.is_empty() {
            return None;
        }
        let mut last = None;
        for _ in 0..100 {
            let i = rng.gen_range(0..self.map.len());
            let (k, e) = self.map.get_index(i)?;
            if !e.is_expired(now_ms) {
                return Some(k.clone());
            }
            last = Some(k.clone());
        }
        last
    }

    /// Samples up to `samples` keys that have an expiry and removes those
    /// already expired, appending them to `out`. Returns how many were
    /// sampled, so the caller can decide whether another round is worth it.
    pub fn expire_sample(
        &mut self,
        rng: &mut impl Rng,
        now_ms: i64,
        samples: usize,
        out: &mut Vec<Bytes>,
    ) -> usize {
        let mut checked = 0;
        while checked < samples && !self.volatile.is_empty() {
            checked += 1;
            let i = rng.gen_range(0..self.volatile.len());
            let Some(key) = self.volatile.get_index(i).cloned() else {
                break;
            };
            let expired = self.map.get(&key).is_none_or(|e| e.is_expired(now_ms));
            if expired {
                self.remove(&key);
                self.volatile.swap_remove(&key);
                out.push(key);
            }
        }
        checked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::StrValue;
    use proptest::prelude::*;
    use rand::{rngs::SmallRng, SeedableRng};
    use std::collections::HashSet;

    fn sv(s: &str) -> Value {
        Value::Str(StrValue::from_client(s.as_bytes()))
    }

    #[test]
    fn lazy_expiry_reclaims_only_when_asked() {
        let mut db = Db::new();
        db.set(b"k", sv("v"), 100, 0);
        let mut gone = None;
        assert!(db.lookup(b"k", 50, true, &mut gone).is_some());
        assert!(db.lookup(b"k", 100, false, &mut gone).is_none());
        assert_eq!(db.len(), 1);
        assert!(gone.is_none());
        assert!(db.lookup(b"k", 100, true, &mut gone).is_none());
        assert_eq!(db.len(), 0);
        assert_eq!(db.volatile_len(), 0);
        assert_eq!(gone.as_deref(), Some(&b"k"[..]));
    }

    #[test]
    fn active_expiry_removes_expired_keys() {
        let mut db = Db::new();
        let mut rng = SmallRng::seed_from_u64(1);
        for i in 0..50 {
            db.set(format!("k{i}").as_bytes(), sv("v"), 10, 0);
        }
        db.set(b"keep", sv("v"), NO_EXPIRE, 0);
        let mut out = Vec::new();
        while db.volatile_len() > 0 {
            db.expire_sample(&mut rng, 20, 20, &mut out);
        }
        assert_eq!(out.len(), 50);
        assert_eq!(db.len(), 1);
    }

    proptest! {
        /// Keys present for a whole scan are always returned, whatever is
        /// deleted or added between steps.
        #[test]
        fn scan_never_misses_stable_keys(
            n in 1usize..200,
            ops in proptest::collection::vec((any::<bool>(), 0usize..400), 0..200),
            count in 1usize..20,
        ) {
            let mut db = Db::new();
            for i in 0..n {
                db.set(format!("s{i}").as_bytes(), sv("v"), NO_EXPIRE, 0);
            }
            let mut seen = HashSet::new();
            let mut cursor = 0;
            let mut ops = ops.into_iter();
            let mut removed = HashSet::new();
            loop {
                cursor = db.scan(cursor, count, |k, _| { seen.insert(k.clone()); });
                if cursor == 0 { break; }
                if let Some((add, i)) = ops.next() {
                    let key = format!("s{i}");
                    if add { db.set(format!("x{i}").as_bytes(), sv("v"), NO_EXPIRE, 0); }
                    else if db.remove(key.as_bytes()).is_some() { removed.insert(key); }
                }
            }
            for i in 0..n {
                let key = format!("s{i}");
                if !removed.contains(&key) {
                    prop_assert!(seen.contains(key.as_bytes()), "missed {}", key);
                }
            }
        }
    }
}
