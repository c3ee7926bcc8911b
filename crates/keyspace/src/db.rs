//! One logical database: keys, values, expiry times and access times.
//!
//! Keys live in a [`Dict`], a chained hash table whose nodes hold the key
//! inline, so a small key costs one allocation. Keys with an expiry are
//! also listed in a side set that active expiry samples from (as Redis's
//! `expires` dict); only volatile keys pay for it.

use bytes::Bytes;
use foldhash::fast::RandomState;
use indexmap::IndexSet;
use rand::Rng;

use crate::dict::{Dict, KeyCell, Node};
use crate::value::Value;

/// Expiry time meaning "no expiry".
pub const NO_EXPIRE: i64 = -1;

/// Key flag: the value is a COPY's duplicate. Redis copies small integers
/// into a private object, so `OBJECT REFCOUNT` no longer reports them
/// shared.
const FLAG_PRIVATE_COPY: u8 = 1;

/// A stored key's value with its expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Absolute expiry in Unix milliseconds, or [`NO_EXPIRE`].
    pub expire_at: i64,
}

impl Entry {
    /// An entry without expiry.
    pub fn new(value: Value) -> Self {
        Entry {
            value,
            expire_at: NO_EXPIRE,
        }
    }

    /// Whether the entry is logically expired at `now_ms`.
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expire_at != NO_EXPIRE && self.expire_at <= now_ms
    }
}

/// What `OBJECT` reports about a key besides its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyMeta {
    /// Last access, in Unix seconds.
    pub lru: u32,
    /// Whether the value is a COPY's private duplicate.
    pub private_copy: bool,
}

/// A single-owner database: no locks, every method takes `&mut self` or `&self`.
#[derive(Debug, Default)]
pub struct Db {
    map: Dict<Entry>,
    /// Keys with an expiry, for active expiry to sample; boxed slices are
    /// half the size of `Bytes` handles.
    volatile: IndexSet<Box<[u8]>, RandomState>,
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

    /// Advances an in-progress resize of the key table by up to `buckets`
    /// buckets; returns whether one is still in progress.
    pub fn rehash_steps(&mut self, buckets: usize) -> bool {
        self.map.rehash_steps(buckets)
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
        let h = self.map.hash(key);
        // Checked through a shared borrow first: returning the mutable
        // borrow on one path and removing on the other does not borrow-check
        // in a single lookup. The chain walk is cheap; the hash is reused.
        let expired_now = self.map.get_hashed(h, key)?.val.is_expired(now_ms);
        if expired_now {
            if reclaim && self.remove(key).is_some() {
                *expired = Some(Bytes::copy_from_slice(key));
            }
            return None;
        }
        let node = self.map.get_mut_hashed(h, key)?;
        node.key.set_lru(lru_of(now_ms));
        Some(&mut node.val)
    }

    /// Looks a key up without touching its access time or reclaiming it.
    pub fn peek(&self, key: &[u8], now_ms: i64) -> Option<&Entry> {
        self.map
            .get(key)
            .map(|n| &n.val)
            .filter(|e| !e.is_expired(now_ms))
    }

    /// Like [`Db::peek`], with the key's access time and flags.
    pub fn peek_meta(&self, key: &[u8], now_ms: i64) -> Option<(&Entry, KeyMeta)> {
        let node = self.map.get(key)?;
        if node.val.is_expired(now_ms) {
            return None;
        }
        Some((&node.val, meta_of(node)))
    }

    /// Looks a key up regardless of expiry (used to apply a master's stream).
    pub fn get_raw(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(key).map(|n| &n.val)
    }

    /// Looks a key up mutably regardless of expiry.
    pub fn get_raw_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.map.get_mut(key).map(|n| &mut n.val)
    }

    /// Inserts or replaces a value. `expire_at` replaces the old expiry.
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: i64, now_ms: i64) {
        let lru = lru_of(now_ms);
        let h = self.map.hash(key);
        if let Some(node) = self.map.get_mut_hashed(h, key) {
            node.key.set_lru(lru);
            node.key.set_flags(0);
            let was = node.val.expire_at;
            node.val = Entry { value, expire_at };
            self.sync_volatile(key, was, expire_at);
            return;
        }
        if expire_at != NO_EXPIRE {
            self.volatile.insert(Box::from(key));
        }
        self.map
            .insert_new_hashed(h, KeyCell::new(key, lru), Entry { value, expire_at });
    }

    /// Inserts (or replaces) an entry, as a load or a move between
    /// databases does; the access time is `now_ms`.
    pub fn insert_entry(&mut self, key: &[u8], entry: Entry, now_ms: i64) {
        let Entry { value, expire_at } = entry;
        self.set(key, value, expire_at, now_ms);
    }

    /// Marks a key's value as a COPY's private duplicate.
    pub fn mark_private_copy(&mut self, key: &[u8]) {
        if let Some(node) = self.map.get_mut(key) {
            node.key.set_flags(node.key.flags() | FLAG_PRIVATE_COPY);
        }
    }

    /// Changes the expiry of an existing key; returns false if it is absent.
    pub fn set_expire(&mut self, key: &[u8], expire_at: i64) -> bool {
        let Some(node) = self.map.get_mut(key) else {
            return false;
        };
        let was = node.val.expire_at;
        node.val.expire_at = expire_at;
        self.sync_volatile(key, was, expire_at);
        true
    }

    fn sync_volatile(&mut self, key: &[u8], was: i64, now: i64) {
        match (was == NO_EXPIRE, now == NO_EXPIRE) {
            (true, false) => {
                self.volatile.insert(Box::from(key));
            }
            (false, true) => {
                self.volatile.swap_remove(key);
            }
            _ => {}
        }
    }

    /// Removes a key; returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let (_, e) = self.map.remove(key)?;
        if e.expire_at != NO_EXPIRE {
            self.volatile.swap_remove(key);
        }
        Some(e)
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.map.clear();
        self.volatile = IndexSet::default();
    }

    /// Iterates over every stored entry, expired or not.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.map.iter().map(|n| (n.key.bytes(), &n.val))
    }

    /// One `SCAN` call: walks table buckets from `cursor` (0 starts) until
    /// about `count` entries were visited, calling `visit` for each, and
    /// returns the next cursor (0 when done). As in Redis, every key present
    /// for the whole scan is returned at least once, some maybe twice.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &Entry)) -> u64 {
        let mut cursor = cursor;
        let mut visited = 0;
        let mut steps = count.saturating_mul(10).max(1);
        loop {
            cursor = self.map.scan_step(cursor, |n| {
                visited += 1;
                visit(n.key.bytes(), &n.val);
            });
            steps -= 1;
            if cursor == 0 || visited >= count || steps == 0 {
                return cursor;
            }
        }
    }

    /// A uniformly chosen key that is not expired, if any, trying a bounded
    /// number of times (as Redis does) before giving back an expired one.
    pub fn random_key(&self, rng: &mut impl Rng, now_ms: i64) -> Option<Bytes> {
        let mut last = None;
        for _ in 0..100 {
            let node = self.map.random(rng)?;
            if !node.val.is_expired(now_ms) {
                return Some(Bytes::copy_from_slice(node.key.bytes()));
            }
            last = Some(Bytes::copy_from_slice(node.key.bytes()));
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
            let Some(key) = self
                .volatile
                .get_index(i)
                .map(|k| Bytes::copy_from_slice(k))
            else {
                break;
            };
            let expired = self.map.get(&key).is_none_or(|n| n.val.is_expired(now_ms));
            if expired {
                self.remove(&key);
                self.volatile.swap_remove(&key[..]);
                out.push(key);
            }
        }
        checked
    }
}

fn meta_of(node: &Node<Entry>) -> KeyMeta {
    KeyMeta {
        lru: node.key.lru(),
        private_copy: node.key.flags() & FLAG_PRIVATE_COPY != 0,
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
                cursor = db.scan(cursor, count, |k, _| { seen.insert(k.to_vec()); });
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
