//! One logical database: keys, values, expiry times and access times.
//!
//! Keys live in a [`Dict`], a chained hash table whose nodes hold the key
//! inline, so a small key costs one 64-byte allocation. Expiry times live
//! beside it in `expires` (as in Redis): only keys with a time pay for one,
//! a flag bit in the key says whether to look, and active expiry samples
//! that map directly.

use bytes::Bytes;
use rand::Rng;

use crate::dict::{Dict, KeyCell, Node};
use crate::value::Value;

/// Expiry time meaning "no expiry".
pub const NO_EXPIRE: i64 = -1;

/// Key flag: the value is a COPY's duplicate. Redis copies small integers
/// into a private object, so `OBJECT REFCOUNT` no longer reports them
/// shared.
const FLAG_PRIVATE_COPY: u8 = 1;
/// Key flag: the key has an entry in `expires`.
const FLAG_VOLATILE: u8 = 2;

/// A stored key's value, as lookups hand it out. The expiry is kept apart
/// (see [`Db::expire_of`]) so that keys without one do not pay for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The value.
    pub value: Value,
}

/// A key's value together with its expiry, as it moves in and out of a
/// database (loading, MOVE, RENAME, COPY, RESTORE).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The value.
    pub value: Value,
    /// Absolute expiry in Unix milliseconds, or [`NO_EXPIRE`].
    pub expire_at: i64,
}

/// Whether an expiry time has passed at `now_ms`.
pub fn expired_at(expire_at: i64, now_ms: i64) -> bool {
    expire_at != NO_EXPIRE && expire_at <= now_ms
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
    /// Expiry times of the keys that have one: a second table of the same
    /// compact kind (a 40-byte node per volatile key, short keys inline).
    expires: Dict<i64>,
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
        self.expires.len()
    }

    /// Advances an in-progress resize of the key table by up to `buckets`
    /// buckets; returns whether one is still in progress.
    pub fn rehash_steps(&mut self, buckets: usize) -> bool {
        let keys = self.map.rehash_steps(buckets);
        self.expires.rehash_steps(buckets) || keys
    }

    fn node_expire(&self, node: &Node<Entry>) -> i64 {
        if node.key.flags() & FLAG_VOLATILE == 0 {
            return NO_EXPIRE;
        }
        self.expires
            .get(node.key.bytes())
            .map_or(NO_EXPIRE, |n| n.val)
    }

    /// A key's expiry time ([`NO_EXPIRE`] if it has none or is absent),
    /// whether or not it has passed.
    pub fn expire_of(&self, key: &[u8]) -> i64 {
        self.map.get(key).map_or(NO_EXPIRE, |n| self.node_expire(n))
    }

    /// Whether `key` is present and its expiry time has passed.
    pub fn is_expired(&self, key: &[u8], now_ms: i64) -> bool {
        self.map
            .get(key)
            .is_some_and(|n| expired_at(self.node_expire(n), now_ms))
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
        let node = self.map.get_hashed(h, key)?;
        if expired_at(self.node_expire(node), now_ms) {
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
        self.peek_meta(key, now_ms).map(|(e, _)| e)
    }

    /// Like [`Db::peek`], with the key's access time and flags.
    pub fn peek_meta(&self, key: &[u8], now_ms: i64) -> Option<(&Entry, KeyMeta)> {
        let node = self.map.get(key)?;
        if expired_at(self.node_expire(node), now_ms) {
            return None;
        }
        let meta = KeyMeta {
            lru: node.key.lru(),
            private_copy: node.key.flags() & FLAG_PRIVATE_COPY != 0,
        };
        Some((&node.val, meta))
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
        let volatile = expire_at != NO_EXPIRE;
        let flags = if volatile { FLAG_VOLATILE } else { 0 };
        let h = self.map.hash(key);
        if let Some(node) = self.map.get_mut_hashed(h, key) {
            let was_volatile = node.key.flags() & FLAG_VOLATILE != 0;
            node.key.set_lru(lru);
            node.key.set_flags(flags);
            node.val = Entry { value };
            if volatile {
                self.put_expire(key, expire_at, lru);
            } else if was_volatile {
                self.expires.remove(key);
            }
            return;
        }
        let mut cell = KeyCell::new(key, lru);
        cell.set_flags(flags);
        self.map.insert_new_hashed(h, cell, Entry { value });
        if volatile {
            self.put_expire(key, expire_at, lru);
        }
    }

    fn put_expire(&mut self, key: &[u8], expire_at: i64, lru: u32) {
        let h = self.expires.hash(key);
        match self.expires.get_mut_hashed(h, key) {
            Some(node) => node.val = expire_at,
            None => self
                .expires
                .insert_new_hashed(h, KeyCell::new(key, lru), expire_at),
        }
    }

    /// Inserts (or replaces) a key with its expiry, as a load or a move
    /// between databases does; the access time is `now_ms`.
    pub fn insert_record(&mut self, key: &[u8], record: Record, now_ms: i64) {
        self.set(key, record.value, record.expire_at, now_ms);
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
        let flags = node.key.flags();
        if expire_at == NO_EXPIRE {
            node.key.set_flags(flags & !FLAG_VOLATILE);
            if flags & FLAG_VOLATILE != 0 {
                self.expires.remove(key);
            }
        } else {
            node.key.set_flags(flags | FLAG_VOLATILE);
            let lru = node.key.lru();
            self.put_expire(key, expire_at, lru);
        }
        true
    }

    /// Removes a key; returns its value and expiry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Record> {
        let (cell, e) = self.map.remove(key)?;
        let expire_at = if cell.flags() & FLAG_VOLATILE != 0 {
            self.expires.remove(key).map_or(NO_EXPIRE, |(_, at)| at)
        } else {
            NO_EXPIRE
        };
        Some(Record {
            value: e.value,
            expire_at,
        })
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.map.clear();
        self.expires.clear();
    }

    /// Iterates over every stored key with its entry and expiry, expired
    /// or not.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Entry, i64)> {
        self.map
            .iter()
            .map(|n| (n.key.bytes(), &n.val, self.node_expire(n)))
    }

    /// One `SCAN` call: walks table buckets from `cursor` (0 starts) until
    /// about `count` entries were visited, calling `visit` with each key,
    /// entry and expiry, and returns the next cursor (0 when done). As in
    /// Redis, every key present for the whole scan is returned at least
    /// once, some maybe twice.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&[u8], &Entry, i64),
    ) -> u64 {
        self.map.scan(cursor, count, |n| {
            visit(n.key.bytes(), &n.val, self.node_expire(n));
        })
    }

    /// A uniformly chosen key that is not expired, if any, trying a bounded
    /// number of times (as Redis does) before giving back an expired one.
    pub fn random_key(&self, rng: &mut impl Rng, now_ms: i64) -> Option<Bytes> {
        let mut last = None;
        for _ in 0..100 {
            let node = self.map.random(rng)?;
            let key = Bytes::copy_from_slice(node.key.bytes());
            if !expired_at(self.node_expire(node), now_ms) {
                return Some(key);
            }
            last = Some(key);
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
        while checked < samples && !self.expires.is_empty() {
            checked += 1;
            let Some(node) = self.expires.random(rng) else {
                break;
            };
            if expired_at(node.val, now_ms) {
                let key = Bytes::copy_from_slice(node.key.bytes());
                if self.remove(&key).is_none() {
                    // An expiry without a key cannot be left behind.
                    self.expires.remove(&key);
                }
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
    fn a_stored_key_is_one_64_byte_node() {
        // 64 is a jemalloc size class; one byte more costs 16.
        assert_eq!(std::mem::size_of::<Node<Entry>>(), 64);
    }

    #[test]
    fn expiry_lives_beside_the_key_and_follows_it() {
        let mut db = Db::new();
        db.set(b"k", sv("v"), 500, 0);
        assert_eq!((db.expire_of(b"k"), db.volatile_len()), (500, 1));
        assert!(db.set_expire(b"k", NO_EXPIRE));
        assert_eq!((db.expire_of(b"k"), db.volatile_len()), (NO_EXPIRE, 0));
        db.set(b"k", sv("v"), 700, 0);
        let rec = db.remove(b"k");
        assert_eq!(rec.map(|r| r.expire_at), Some(700));
        assert_eq!(db.volatile_len(), 0);
        db.set(b"k", sv("v"), 900, 0);
        db.set(b"k", sv("w"), NO_EXPIRE, 0);
        assert_eq!((db.expire_of(b"k"), db.volatile_len()), (NO_EXPIRE, 0));
        assert!(!db.is_expired(b"k", i64::MAX));
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
                cursor = db.scan(cursor, count, |k, _, _| { seen.insert(k.to_vec()); });
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
