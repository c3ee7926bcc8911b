//! The key table: a chained hash table whose nodes carry their key inline.
//!
//! Memory per key is what this layout is for. A node is one allocation
//! holding the chain link, the key (inline up to [`KEY_INLINE`] bytes) with
//! its access time and flags, and the caller's payload; the bucket array is
//! one pointer per bucket, sized to a power of two at load factor <= 1.
//!
//! Growing or shrinking never stops the world: a resize allocates the new
//! bucket array and then moves the old buckets over a few at a time, on
//! every write and from [`Dict::rehash_steps`], while lookups look in both
//! arrays. `SCAN` uses a cursor that counts in reversed bit order over the
//! bucket index, so a key present for a whole scan is returned at least
//! once even if the table is resized between calls.

use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use rand::Rng;

use crate::packed::{inline_copy, PackedBuf};

/// Longest key stored inside the node itself.
pub const KEY_INLINE: usize = 16;

/// A key's bytes plus the per-key metadata that fits beside them: last
/// access time and flag bits. Keeping the metadata here rather than in the
/// payload saves a word per node.
#[derive(Debug, Clone)]
pub enum KeyCell {
    /// A short key stored in place.
    Inline {
        /// Bytes used in `buf`.
        len: u8,
        /// Flag bits (see [`KeyCell::flags`]).
        flags: u8,
        /// Last access, in Unix seconds.
        lru: u32,
        /// The key, `len` bytes of it.
        buf: [u8; KEY_INLINE],
    },
    /// A longer key in its own exact-size allocation.
    Heap {
        /// Flag bits (see [`KeyCell::flags`]).
        flags: u8,
        /// Last access, in Unix seconds.
        lru: u32,
        /// The key.
        data: Box<[u8]>,
    },
}

impl KeyCell {
    /// A cell for `key` with the given access time and no flags.
    pub fn new(key: &[u8], lru: u32) -> Self {
        match inline_copy(key) {
            Some((len, buf)) => KeyCell::Inline {
                len,
                flags: 0,
                lru,
                buf,
            },
            None => KeyCell::Heap {
                flags: 0,
                lru,
                data: Box::from(key),
            },
        }
    }

    /// The key's bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            KeyCell::Inline { len, buf, .. } => buf.get(..usize::from(*len)).unwrap_or_default(),
            KeyCell::Heap { data, .. } => data,
        }
    }

    /// Last access time in Unix seconds.
    pub fn lru(&self) -> u32 {
        match self {
            KeyCell::Inline { lru, .. } | KeyCell::Heap { lru, .. } => *lru,
        }
    }

    /// Records an access.
    pub fn set_lru(&mut self, v: u32) {
        match self {
            KeyCell::Inline { lru, .. } | KeyCell::Heap { lru, .. } => *lru = v,
        }
    }

    /// The flag bits; their meaning belongs to the table's user.
    pub fn flags(&self) -> u8 {
        match self {
            KeyCell::Inline { flags, .. } | KeyCell::Heap { flags, .. } => *flags,
        }
    }

    /// Replaces the flag bits.
    pub fn set_flags(&mut self, v: u8) {
        match self {
            KeyCell::Inline { flags, .. } | KeyCell::Heap { flags, .. } => *flags = v,
        }
    }
}

/// What a [`Dict`] needs of its keys: their bytes.
pub trait DictKey {
    /// The key's bytes.
    fn bytes(&self) -> &[u8];
}

impl DictKey for KeyCell {
    fn bytes(&self) -> &[u8] {
        KeyCell::bytes(self)
    }
}

/// Set members and hash fields are keyed by a [`PackedBuf`] holding just
/// their bytes: no metadata, so all of its 24 bytes go to inline storage
/// and members of up to [`crate::packed::INLINE_CAP`] bytes need no
/// allocation.
impl DictKey for PackedBuf {
    fn bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

type Link<V, K> = Option<Box<Node<V, K>>>;

/// One stored key with its payload.
#[derive(Debug)]
pub struct Node<V, K = KeyCell> {
    next: Link<V, K>,
    /// The key (and, for a [`KeyCell`], its metadata).
    pub key: K,
    /// The caller's payload.
    pub val: V,
}

/// A bucket array; empty (no allocation) or a power of two long.
#[derive(Debug)]
struct Table<V, K> {
    buckets: Vec<Link<V, K>>,
    used: usize,
}

impl<V, K: DictKey> Table<V, K> {
    fn empty() -> Self {
        Table {
            buckets: Vec::new(),
            used: 0,
        }
    }

    fn with_buckets(n: usize) -> Self {
        let mut buckets = Vec::with_capacity(n);
        buckets.resize_with(n, || None);
        Table { buckets, used: 0 }
    }

    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    fn find(&self, h: u64, key: &[u8]) -> Option<&Node<V, K>> {
        let mut cur = self.buckets.get(h as usize & self.mask())?.as_deref();
        while let Some(node) = cur {
            if node.key.bytes() == key {
                return Some(node);
            }
            cur = node.next.as_deref();
        }
        None
    }

    fn find_mut(&mut self, h: u64, key: &[u8]) -> Option<&mut Node<V, K>> {
        let i = h as usize & self.mask();
        let mut cur = self.buckets.get_mut(i)?.as_deref_mut();
        while let Some(node) = cur {
            if node.key.bytes() == key {
                return Some(node);
            }
            cur = node.next.as_deref_mut();
        }
        None
    }

    fn push(&mut self, h: u64, mut node: Box<Node<V, K>>) {
        if self.buckets.is_empty() {
            self.buckets.resize_with(MIN_BUCKETS, || None);
        }
        // The array is a non-empty power of two long, so the masked index
        // is always in range.
        let i = h as usize & self.mask();
        let slot = &mut self.buckets[i];
        node.next = slot.take();
        *slot = Some(node);
        self.used += 1;
    }

    fn unlink(&mut self, h: u64, key: &[u8]) -> Option<Box<Node<V, K>>> {
        let i = h as usize & self.mask();
        let mut link = self.buckets.get_mut(i)?;
        loop {
            let here = link.as_ref().map(|n| n.key.bytes() == key)?;
            if here {
                let mut node = link.take()?;
                *link = node.next.take();
                self.used -= 1;
                return Some(node);
            }
            link = &mut link.as_mut()?.next;
        }
    }
}

impl<V, K> Drop for Table<V, K> {
    /// Unlinks chains iteratively so that dropping a long chain cannot
    /// recurse deeply.
    fn drop(&mut self) {
        for slot in &mut self.buckets {
            let mut cur = slot.take();
            while let Some(mut node) = cur {
                cur = node.next.take();
            }
        }
    }
}

/// Buckets moved per write while a resize is in progress.
const STEP_BUCKETS: usize = 1;
/// Smallest non-empty bucket array.
const MIN_BUCKETS: usize = 4;

/// A hash table from byte-string keys to `V`, resized incrementally.
#[derive(Debug)]
pub struct Dict<V, K = KeyCell> {
    /// `tables[0]` is the current table; while resizing, `tables[1]` is the
    /// new one and buckets below `rehash_at` of `tables[0]` are already empty.
    tables: [Table<V, K>; 2],
    rehash_at: Option<usize>,
    hasher: RandomState,
}

impl<V, K: DictKey> Default for Dict<V, K> {
    fn default() -> Self {
        Dict {
            tables: [Table::empty(), Table::empty()],
            rehash_at: None,
            hasher: RandomState::default(),
        }
    }
}

impl<V: Clone, K: DictKey + Clone> Clone for Dict<V, K> {
    /// A copy laid out afresh in one array sized for its keys.
    fn clone(&self) -> Self {
        let mut out = Dict {
            tables: [Table::empty(), Table::empty()],
            rehash_at: None,
            hasher: self.hasher,
        };
        if !self.is_empty() {
            out.tables[0] = Table::with_buckets(self.len().next_power_of_two().max(MIN_BUCKETS));
        }
        for n in self.iter() {
            let h = out.hash(n.key.bytes());
            out.tables[0].push(
                h,
                Box::new(Node {
                    next: None,
                    key: n.key.clone(),
                    val: n.val.clone(),
                }),
            );
        }
        out
    }
}

impl<V, K: DictKey> Dict<V, K> {
    /// An empty table (no allocation until the first insert).
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.tables[0].used + self.tables[1].used
    }

    /// Whether the table holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total buckets across both arrays (for memory reports and tests).
    pub fn buckets(&self) -> usize {
        self.tables[0].buckets.len() + self.tables[1].buckets.len()
    }

    /// Whether a resize is in progress.
    pub fn is_rehashing(&self) -> bool {
        self.rehash_at.is_some()
    }

    /// The hash [`Dict::get_mut_hashed`] and [`Dict::insert_new_hashed`]
    /// take, so a lookup followed by an insert hashes the key once.
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The node stored under `key`.
    pub fn get(&self, key: &[u8]) -> Option<&Node<V, K>> {
        self.get_hashed(self.hash(key), key)
    }

    /// [`Dict::get`] with the key's [`Dict::hash`] already computed.
    pub fn get_hashed(&self, h: u64, key: &[u8]) -> Option<&Node<V, K>> {
        let [t0, t1] = &self.tables;
        if let Some(n) = t0.find(h, key) {
            return Some(n);
        }
        if self.rehash_at.is_some() {
            return t1.find(h, key);
        }
        None
    }

    /// The node stored under `key`, mutably.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Node<V, K>> {
        self.get_mut_hashed(self.hash(key), key)
    }

    /// [`Dict::get_mut`] with the key's [`Dict::hash`] already computed.
    pub fn get_mut_hashed(&mut self, h: u64, key: &[u8]) -> Option<&mut Node<V, K>> {
        let rehashing = self.rehash_at.is_some();
        let [t0, t1] = &mut self.tables;
        if let Some(n) = t0.find_mut(h, key) {
            return Some(n);
        }
        if rehashing {
            return t1.find_mut(h, key);
        }
        None
    }

    /// Inserts a key known to be absent (the caller checked with
    /// [`Dict::get`]).
    pub fn insert_new(&mut self, key: K, val: V) {
        let h = self.hash(key.bytes());
        self.insert_new_hashed(h, key, val);
    }

    /// [`Dict::insert_new`] with the key's [`Dict::hash`] already computed.
    pub fn insert_new_hashed(&mut self, h: u64, key: K, val: V) {
        self.rehash_steps(STEP_BUCKETS);
        self.grow_if_needed();
        let node = Box::new(Node {
            next: None,
            key,
            val,
        });
        // While resizing, new keys go to the new array only.
        let t = usize::from(self.rehash_at.is_some());
        self.tables[t].push(h, node);
    }

    /// Removes `key`; returns its cell and payload.
    pub fn remove(&mut self, key: &[u8]) -> Option<(K, V)> {
        self.rehash_steps(STEP_BUCKETS);
        let h = self.hash(key);
        let rehashing = self.rehash_at.is_some();
        let [t0, t1] = &mut self.tables;
        let node = match t0.unlink(h, key) {
            Some(n) => Some(n),
            None if rehashing => t1.unlink(h, key),
            None => None,
        }?;
        self.shrink_if_sparse();
        let Node { key, val, .. } = *node;
        Some((key, val))
    }

    /// Drops every key.
    pub fn clear(&mut self) {
        self.tables = [Table::empty(), Table::empty()];
        self.rehash_at = None;
    }

    fn grow_if_needed(&mut self) {
        if self.rehash_at.is_some() {
            return;
        }
        let size = self.tables[0].buckets.len();
        if size == 0 {
            self.tables[0] = Table::with_buckets(MIN_BUCKETS);
        } else if self.tables[0].used >= size {
            self.start_resize((self.tables[0].used + 1).next_power_of_two());
        }
    }

    fn shrink_if_sparse(&mut self) {
        if self.rehash_at.is_some() {
            return;
        }
        let size = self.tables[0].buckets.len();
        let used = self.tables[0].used;
        // Below 1/8 full: halve at least, down to the smallest power of two
        // that holds every key.
        if size > MIN_BUCKETS && used * 8 < size {
            self.start_resize(used.next_power_of_two().max(MIN_BUCKETS));
        }
    }

    fn start_resize(&mut self, buckets: usize) {
        self.tables[1] = Table::with_buckets(buckets);
        self.rehash_at = Some(0);
    }

    /// Moves up to `n` non-empty buckets (visiting at most `10 * n` empty
    /// ones) from the old array to the new one; returns whether a resize is
    /// still in progress. The server calls this from its cron so an idle
    /// table finishes resizing.
    pub fn rehash_steps(&mut self, n: usize) -> bool {
        let Some(mut at) = self.rehash_at else {
            return false;
        };
        let mut moved = 0;
        let mut empty_budget = n.saturating_mul(10);
        let [t0, t1] = &mut self.tables;
        while moved < n && t0.used > 0 {
            let Some(slot) = t0.buckets.get_mut(at) else {
                break;
            };
            let mut cur = slot.take();
            if cur.is_none() {
                at += 1;
                empty_budget = empty_budget.saturating_sub(1);
                if empty_budget == 0 {
                    break;
                }
                continue;
            }
            while let Some(mut node) = cur {
                cur = node.next.take();
                t0.used -= 1;
                t1.push(self.hasher.hash_one(node.key.bytes()), node);
            }
            at += 1;
            moved += 1;
        }
        if t0.used == 0 {
            self.tables[0] = std::mem::replace(&mut self.tables[1], Table::empty());
            self.rehash_at = None;
            // Deletes during the resize may have left the new array sparse.
            self.shrink_if_sparse();
            self.rehash_at.is_some()
        } else {
            self.rehash_at = Some(at);
            true
        }
    }

    /// Iterates over every node.
    pub fn iter(&self) -> Iter<'_, V, K> {
        Iter {
            dict: self,
            table: 0,
            bucket: 0,
            node: None,
        }
    }

    /// One `SCAN` step: visits every node of the bucket(s) the cursor names
    /// and returns the next cursor (0 when the scan is complete).
    pub fn scan_step(&self, cursor: u64, mut visit: impl FnMut(&Node<V, K>)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut v = cursor as usize;
        let visit_bucket = |t: &Table<V, K>, i: usize, visit: &mut dyn FnMut(&Node<V, K>)| {
            let mut cur = t.buckets.get(i & t.mask()).and_then(|s| s.as_deref());
            while let Some(n) = cur {
                visit(n);
                cur = n.next.as_deref();
            }
        };
        if self.rehash_at.is_none() {
            let t = &self.tables[0];
            let m = t.mask();
            visit_bucket(t, v, &mut visit);
            v = next_cursor(v, m);
        } else {
            let (small, big) = if self.tables[0].buckets.len() <= self.tables[1].buckets.len() {
                (&self.tables[0], &self.tables[1])
            } else {
                (&self.tables[1], &self.tables[0])
            };
            let m0 = small.mask();
            let m1 = big.mask();
            visit_bucket(small, v, &mut visit);
            // Then every bucket of the big table that the small bucket
            // expands to.
            loop {
                visit_bucket(big, v, &mut visit);
                v = next_cursor(v, m1);
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v as u64
    }

    /// One `SCAN`-style call: bucket steps from `cursor` until about
    /// `count` nodes were visited (at most `10 * count` steps, as Redis
    /// bounds empty buckets), calling `visit` for each; returns the next
    /// cursor (0 when the scan is complete).
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&Node<V, K>)) -> u64 {
        let mut cursor = cursor;
        let mut visited = 0;
        for _ in 0..count.saturating_mul(10).max(1) {
            cursor = self.scan_step(cursor, |n| {
                visited += 1;
                visit(n);
            });
            if cursor == 0 || visited >= count {
                break;
            }
        }
        cursor
    }

    /// `count` distinct nodes chosen at random (all of them when `count`
    /// reaches the length), in random order. A large share is sampled from
    /// a listing; a small one is drawn node by node until enough distinct
    /// ones turned up, as Redis does for SRANDMEMBER and HRANDFIELD.
    pub fn sample_distinct(&self, rng: &mut impl Rng, count: usize) -> Vec<&Node<V, K>> {
        let count = count.min(self.len());
        let listing = |rng: &mut dyn rand::RngCore| {
            let all: Vec<&Node<V, K>> = self.iter().collect();
            rand::seq::index::sample(rng, all.len(), count)
                .into_iter()
                .filter_map(|i| all.get(i).copied())
                .collect()
        };
        if count * 3 > self.len() {
            return listing(rng);
        }
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::with_capacity(count);
        // The bound only guards against a broken table.
        for _ in 0..count.saturating_mul(64).max(1024) {
            if out.len() >= count {
                return out;
            }
            if let Some(n) = self.random(rng) {
                if seen.insert(std::ptr::from_ref(n) as usize) {
                    out.push(n);
                }
            }
        }
        listing(rng)
    }

    /// A node chosen at random: a random non-empty bucket, then a random
    /// node of its chain (as Redis does; chains are short).
    pub fn random(&self, rng: &mut impl Rng) -> Option<&Node<V, K>> {
        if self.is_empty() {
            return None;
        }
        let s0 = self.tables[0].buckets.len();
        let s1 = self.tables[1].buckets.len();
        let start = self.rehash_at.unwrap_or(0).min(s0);
        let span = s0 - start + if self.rehash_at.is_some() { s1 } else { 0 };
        // Load factor is kept >= 1/8, so a non-empty bucket turns up fast;
        // the bound only guards against a broken count.
        for _ in 0..(span.saturating_mul(4)).max(64) {
            let i = start + rng.gen_range(0..span.max(1));
            let head = if i < s0 {
                self.tables[0].buckets.get(i)
            } else {
                self.tables[1].buckets.get(i - s0)
            };
            let Some(Some(head)) = head else { continue };
            let mut len = 0;
            let mut cur = Some(&**head);
            while let Some(n) = cur {
                len += 1;
                cur = n.next.as_deref();
            }
            let mut pick = rng.gen_range(0..len);
            let mut cur = Some(&**head);
            while let Some(n) = cur {
                if pick == 0 {
                    return Some(n);
                }
                pick -= 1;
                cur = n.next.as_deref();
            }
        }
        self.iter().next()
    }
}

/// The cursor after `v` for a table with mask `m`: increments the masked
/// bits in reversed order, so that growing or shrinking the table between
/// steps never skips a bucket that was not visited.
fn next_cursor(v: usize, m: usize) -> usize {
    let v = v | !m;
    let v = v.reverse_bits().wrapping_add(1);
    v.reverse_bits()
}

/// Iterator over a [`Dict`]'s nodes.
pub struct Iter<'a, V, K = KeyCell> {
    dict: &'a Dict<V, K>,
    table: usize,
    bucket: usize,
    node: Option<&'a Node<V, K>>,
}

impl<'a, V, K> Iterator for Iter<'a, V, K> {
    type Item = &'a Node<V, K>;

    fn next(&mut self) -> Option<&'a Node<V, K>> {
        loop {
            if let Some(n) = self.node {
                self.node = n.next.as_deref();
                return Some(n);
            }
            let table = self.dict.tables.get(self.table)?;
            match table.buckets.get(self.bucket) {
                Some(slot) => {
                    self.node = slot.as_deref();
                    self.bucket += 1;
                }
                None => {
                    self.table += 1;
                    self.bucket = 0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{rngs::SmallRng, SeedableRng};
    use std::collections::{BTreeMap, HashSet};

    fn key(i: u32) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    #[test]
    fn node_layout_stays_compact() {
        // The per-key memory budget depends on this: a node is the chain
        // link, the key cell and the payload, with nothing else.
        assert_eq!(std::mem::size_of::<KeyCell>(), 24);
        assert_eq!(std::mem::size_of::<Node<[u64; 4]>>(), 64);
        assert_eq!(std::mem::size_of::<Node<(), PackedBuf>>(), 32);
    }

    #[test]
    fn key_cells_keep_bytes_and_metadata() {
        for k in [
            &b""[..],
            b"short",
            &[7u8; KEY_INLINE],
            &[9u8; KEY_INLINE + 1],
        ] {
            let mut c = KeyCell::new(k, 5);
            c.set_flags(3);
            c.set_lru(77);
            assert_eq!(c.bytes(), k);
            assert_eq!((c.flags(), c.lru()), (3, 77));
        }
    }

    #[test]
    fn grows_and_shrinks_incrementally() {
        let mut d = Dict::new();
        for i in 0..10_000 {
            d.insert_new(KeyCell::new(&key(i), 0), i);
        }
        while d.rehash_steps(100) {}
        assert_eq!(d.len(), 10_000);
        assert_eq!(d.buckets(), 16_384);
        for i in 0..10_000 {
            assert_eq!(d.get(&key(i)).map(|n| n.val), Some(i));
        }
        for i in 0..9_990 {
            assert_eq!(d.remove(&key(i)).map(|(_, v)| v), Some(i));
        }
        while d.rehash_steps(100) {}
        assert!(d.buckets() <= 64, "{} buckets for 10 keys", d.buckets());
        assert_eq!(d.iter().count(), 10);
    }

    #[test]
    fn random_returns_every_key_eventually() {
        let mut d = Dict::new();
        for i in 0..20 {
            d.insert_new(KeyCell::new(&key(i), 0), i);
        }
        let mut rng = SmallRng::seed_from_u64(7);
        let seen: HashSet<u32> = (0..2000)
            .filter_map(|_| d.random(&mut rng).map(|n| n.val))
            .collect();
        assert_eq!(seen.len(), 20);
    }

    proptest! {
        /// The table behaves like a map for any sequence of inserts,
        /// removes and rehash steps.
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec((0u8..3, 0u32..300), 0..2000)) {
            let mut d = Dict::new();
            let mut model = BTreeMap::new();
            for (op, k) in ops {
                let kb = key(k);
                match op {
                    0 => {
                        if d.get(&kb).is_none() {
                            d.insert_new(KeyCell::new(&kb, 0), k);
                        }
                        model.insert(k, k);
                    }
                    1 => prop_assert_eq!(d.remove(&kb).map(|(_, v)| v), model.remove(&k)),
                    _ => { d.rehash_steps(1); }
                }
                prop_assert_eq!(d.len(), model.len());
            }
            let mut got: Vec<u32> = d.iter().map(|n| n.val).collect();
            got.sort_unstable();
            prop_assert_eq!(got, model.keys().copied().collect::<Vec<_>>());
            let copy = d.clone();
            prop_assert_eq!(copy.len(), model.len());
            for k in model.keys() {
                prop_assert_eq!(copy.get(&key(*k)).map(|n| n.val), Some(*k));
            }
        }

        /// A key present for a whole scan is returned, whatever is added or
        /// removed (and however the table resizes) between steps.
        #[test]
        fn scan_never_misses_stable_keys(
            n in 1u32..300,
            ops in proptest::collection::vec((any::<bool>(), 0u32..2000), 0..300),
        ) {
            let mut d = Dict::new();
            for i in 0..n {
                d.insert_new(KeyCell::new(&key(i), 0), i);
            }
            let mut seen = HashSet::new();
            let mut removed = HashSet::new();
            let mut cursor = 0;
            let mut ops = ops.into_iter();
            loop {
                cursor = d.scan_step(cursor, |node| { seen.insert(node.val); });
                if cursor == 0 { break; }
                if let Some((add, i)) = ops.next() {
                    if add {
                        let k = key(10_000 + i);
                        if d.get(&k).is_none() { d.insert_new(KeyCell::new(&k, 0), 10_000 + i); }
                    } else if i < n && d.remove(&key(i)).is_some() {
                        removed.insert(i);
                    }
                }
            }
            for i in 0..n {
                if !removed.contains(&i) {
                    prop_assert!(seen.contains(&i), "missed {}", i);
                }
            }
        }
    }
}
