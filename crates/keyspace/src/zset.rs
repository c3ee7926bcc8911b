//! Sorted sets: a member index plus an order-statistic tree keyed by
//! (score, member), so lookups by member are O(1) and rank, select and range
//! searches are O(log n).
//!
//! The tree is a treap (a binary search tree whose nodes also carry random
//! priorities, kept in heap order) with subtree sizes, stored densely in a
//! vector of nodes addressed by position: no `unsafe`, no reference
//! counting. Each node owns a copy of its member; the index
//! (`hashbrown::HashTable<u32>`) holds only positions and finds members by
//! hashing the bytes in the nodes, so a member is stored once: a big set of
//! ~13-byte members costs about 82 bytes each in `used_memory` (Redis's
//! skip list: about 127).
//!
//! Redis keeps small sorted sets in a compact encoding (`listpack`) and
//! reports it in `OBJECT ENCODING`; the encoding is visible in a few replies
//! (`ZSCAN` returns everything at once, scores of `-0` lose their sign, lex
//! range searches scan linearly), so [`ZSetValue`] remembers which encoding
//! Redis would use and follows the same conversion rules. Only the general
//! encoding uses the index and tree; a compact set is a [`PackedBuf`] of
//! (member, score) entries in rank order, searched linearly as Redis
//! searches its listpack.

use std::cmp::Ordering;
use std::hash::BuildHasher;

use bytes::Bytes;
use foldhash::fast::RandomState;
use hashbrown::HashTable;

use crate::packed::{Elem, Entries, PackedBuf};
use crate::value::EncodingLimits;

const NIL: u32 = u32::MAX;

/// Compares two (score, member) entries in sorted-set order: by score, then
/// by member bytes (shorter first when one is a prefix of the other).
pub fn cmp_entry(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => m1.cmp(m2),
        Some(o) => o,
    }
}

/// One entry of the general encoding. Kept to 40 bytes (checked by a test):
/// the node is most of the per-member cost of a big sorted set.
#[derive(Debug, Clone)]
struct Node {
    score: f64,
    /// The member's own copy of its bytes: a view into a request buffer
    /// would keep that whole buffer alive.
    member: Box<[u8]>,
    left: u32,
    right: u32,
    /// Entries in the subtree rooted here (for rank and select).
    size: u32,
    /// A keyed hash of the member. It is both the treap priority (random
    /// to a client who does not know the key, so no insertion order can
    /// unbalance the tree) and the hash-table hash, so growing the table or
    /// moving a node never re-reads member bytes.
    hash: u32,
}

/// The 64-bit hash the member index files a node under: the node's 32-bit
/// hash spread by an odd multiplier (a bijection), so the high bits the
/// table uses as tags depend on all of it.
fn table_hash(h: u32) -> u64 {
    u64::from(h).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn to_u32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// The general encoding (`skiplist`): an order-statistic treap of
/// (score, member) entries plus a member index.
///
/// The nodes live densely in one vector; a node's position there is also
/// its place in the "hash order" that `ZRANDMEMBER` and `ZSCAN` walk.
/// Removal moves the last node into the hole, so a member only ever moves
/// to a lower position, which is what [`scan_positions`] relies on. Tree
/// links and the index hold positions (`u32`), so a member's bytes are
/// stored exactly once, in its node.
#[derive(Debug, Clone)]
pub struct BigZSet {
    nodes: Vec<Node>,
    /// Member -> position in `nodes`, filed under [`table_hash`] of the
    /// node's hash: 4 bytes plus a control byte per bucket.
    index: HashTable<u32>,
    root: u32,
    hasher: RandomState,
}

impl Default for BigZSet {
    fn default() -> Self {
        Self::new()
    }
}

impl BigZSet {
    /// An empty set. The hash key is random per set, as it was for the
    /// standard maps this replaces.
    pub fn new() -> Self {
        BigZSet {
            nodes: Vec::new(),
            index: HashTable::new(),
            root: NIL,
            hasher: RandomState::default(),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn hash_member(&self, member: &[u8]) -> u32 {
        let h = self.hasher.hash_one(member);
        // Fold so both halves of the 64-bit hash count.
        (h ^ (h >> 32)) as u32
    }

    fn node(&self, t: u32) -> Option<&Node> {
        self.nodes.get(t as usize)
    }

    fn left(&self, t: u32) -> u32 {
        self.node(t).map_or(NIL, |n| n.left)
    }

    fn right(&self, t: u32) -> u32 {
        self.node(t).map_or(NIL, |n| n.right)
    }

    fn size(&self, t: u32) -> u32 {
        self.node(t).map_or(0, |n| n.size)
    }

    fn prio(&self, t: u32) -> u32 {
        self.node(t).map_or(0, |n| n.hash)
    }

    fn set_left(&mut self, t: u32, c: u32) {
        if let Some(n) = self.nodes.get_mut(t as usize) {
            n.left = c;
        }
    }

    fn set_right(&mut self, t: u32, c: u32) {
        if let Some(n) = self.nodes.get_mut(t as usize) {
            n.right = c;
        }
    }

    fn fix(&mut self, t: u32) {
        let s = 1 + self.size(self.left(t)) + self.size(self.right(t));
        if let Some(n) = self.nodes.get_mut(t as usize) {
            n.size = s;
        }
    }

    /// Orders node `a` against node `b` by (score, member).
    fn cmp_nodes(&self, a: u32, b: u32) -> Ordering {
        match (self.node(a), self.node(b)) {
            (Some(x), Some(y)) => cmp_entry(x.score, &x.member, y.score, &y.member),
            _ => Ordering::Equal,
        }
    }

    /// The position of `member`'s node.
    fn find(&self, member: &[u8]) -> Option<u32> {
        let h = self.hash_member(member);
        let nodes = &self.nodes;
        self.index
            .find(table_hash(h), |&i| {
                nodes
                    .get(i as usize)
                    .is_some_and(|n| n.hash == h && *n.member == *member)
            })
            .copied()
    }

    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.prio(a) > self.prio(b) {
            let m = self.merge(self.right(a), b);
            self.set_right(a, m);
            self.fix(a);
            a
        } else {
            let m = self.merge(a, self.left(b));
            self.set_left(b, m);
            self.fix(b);
            b
        }
    }

    /// Splits `t` into the entries ordered before node `x` and the rest.
    fn split_before(&mut self, t: u32, x: u32) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        if self.cmp_nodes(t, x) == Ordering::Less {
            let (a, b) = self.split_before(self.right(t), x);
            self.set_right(t, a);
            self.fix(t);
            (t, b)
        } else {
            let (a, b) = self.split_before(self.left(t), x);
            self.set_left(t, b);
            self.fix(t);
            (a, t)
        }
    }

    /// Splits `t` into its first `k` entries and the rest.
    fn split_rank(&mut self, t: u32, k: u32) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        let ls = self.size(self.left(t));
        if k <= ls {
            let (a, b) = self.split_rank(self.left(t), k);
            self.set_left(t, b);
            self.fix(t);
            (a, t)
        } else {
            let (a, b) = self.split_rank(self.right(t), k - ls - 1);
            self.set_right(t, a);
            self.fix(t);
            (t, b)
        }
    }

    /// Links the lone node `x` into subtree `t`; returns the new root. One
    /// descent, splitting only below the point where `x` belongs.
    fn link(&mut self, t: u32, x: u32) -> u32 {
        if t == NIL {
            return x;
        }
        if self.prio(x) > self.prio(t) {
            let (l, r) = self.split_before(t, x);
            self.set_left(x, l);
            self.set_right(x, r);
            self.fix(x);
            return x;
        }
        if self.cmp_nodes(x, t) == Ordering::Less {
            let c = self.link(self.left(t), x);
            self.set_left(t, c);
        } else {
            let c = self.link(self.right(t), x);
            self.set_right(t, c);
        }
        self.fix(t);
        t
    }

    /// Unlinks node `x` from subtree `t`; returns the new root.
    fn unlink(&mut self, t: u32, x: u32) -> u32 {
        if t == NIL {
            return NIL;
        }
        if t == x {
            return self.merge(self.left(t), self.right(t));
        }
        if self.cmp_nodes(x, t) == Ordering::Less {
            let c = self.unlink(self.left(t), x);
            self.set_left(t, c);
        } else {
            let c = self.unlink(self.right(t), x);
            self.set_right(t, c);
        }
        self.fix(t);
        t
    }

    /// Points the tree link that leads to node `from` at `to` instead
    /// (found by searching for `from`'s entry; nodes keep no parent link,
    /// which would cost 4 bytes each).
    fn relink(&mut self, from: u32, to: u32) {
        if self.root == from {
            self.root = to;
            return;
        }
        let mut t = self.root;
        while t != NIL {
            let go_left = self.cmp_nodes(from, t) == Ordering::Less;
            let c = if go_left { self.left(t) } else { self.right(t) };
            if c == from {
                if go_left {
                    self.set_left(t, to);
                } else {
                    self.set_right(t, to);
                }
                return;
            }
            t = c;
        }
    }

    /// Drops node `i`'s index entry.
    fn unindex(&mut self, i: u32) {
        let h = self.prio(i);
        if let Ok(e) = self.index.find_entry(table_hash(h), |&v| v == i) {
            e.remove();
        }
    }

    /// Frees position `i`, whose node is already out of the tree and the
    /// index, by moving the last node into it.
    fn drop_slot(&mut self, i: u32) {
        let Some(last) = self.nodes.len().checked_sub(1) else {
            return;
        };
        let last = to_u32(last);
        if i != last {
            self.relink(last, i);
            let h = self.prio(last);
            if let Some(v) = self.index.find_mut(table_hash(h), |&v| v == last) {
                *v = i;
            }
        }
        if (i as usize) < self.nodes.len() {
            self.nodes.swap_remove(i as usize);
        }
    }

    /// Gives memory back after large deletions, as Redis frees its skip
    /// list nodes; the factor of 4 keeps alternating adds and removes from
    /// reallocating.
    fn maybe_shrink(&mut self) {
        let len = self.nodes.len();
        if self.nodes.capacity() > 16 && len < self.nodes.capacity() / 4 {
            self.nodes.shrink_to(len * 2);
        }
        if self.index.capacity() > 16 && len < self.index.capacity() / 4 {
            let nodes = &self.nodes;
            self.index.shrink_to(len, |&v| {
                table_hash(nodes.get(v as usize).map_or(0, |n| n.hash))
            });
        }
    }

    /// Makes room for `additional` more entries.
    pub fn reserve(&mut self, additional: usize) {
        self.nodes.reserve_exact(additional);
        let nodes = &self.nodes;
        self.index.reserve(additional, |&v| {
            table_hash(nodes.get(v as usize).map_or(0, |n| n.hash))
        });
    }

    /// Inserts a member that is not present yet, copying its bytes.
    pub fn insert(&mut self, member: &[u8], score: f64) {
        let x = to_u32(self.nodes.len());
        if x == NIL {
            // Positions are u32 (NIL reserved): far beyond any memory.
            return;
        }
        let hash = self.hash_member(member);
        self.nodes.push(Node {
            score,
            member: member.into(),
            left: NIL,
            right: NIL,
            size: 1,
            hash,
        });
        let nodes = &self.nodes;
        self.index.insert_unique(table_hash(hash), x, |&v| {
            table_hash(nodes.get(v as usize).map_or(0, |n| n.hash))
        });
        self.root = self.link(self.root, x);
    }

    /// A member's score.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member)
            .and_then(|i| self.node(i))
            .map(|n| n.score)
    }

    /// Changes a present member's score; returns whether it was present.
    pub fn set_score(&mut self, member: &[u8], score: f64) -> bool {
        let Some(x) = self.find(member) else {
            return false;
        };
        self.root = self.unlink(self.root, x);
        if let Some(n) = self.nodes.get_mut(x as usize) {
            n.score = score;
            n.left = NIL;
            n.right = NIL;
            n.size = 1;
        }
        self.root = self.link(self.root, x);
        true
    }

    /// Removes a member; returns its score if it was present.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let x = self.find(member)?;
        let score = self.node(x)?.score;
        self.root = self.unlink(self.root, x);
        self.unindex(x);
        self.drop_slot(x);
        self.maybe_shrink();
        Some(score)
    }

    /// Removes the entries with ranks `start..start + count`; returns how
    /// many were removed.
    pub fn remove_rank_range(&mut self, start: usize, count: usize) -> usize {
        let (l, r) = self.split_rank(self.root, to_u32(start));
        let (m, rest) = self.split_rank(r, to_u32(count));
        self.root = self.merge(l, rest);
        if self.root == NIL {
            let n = self.nodes.len();
            *self = BigZSet {
                hasher: self.hasher,
                ..BigZSet::new()
            };
            return n;
        }
        let mut gone = Vec::with_capacity(self.size(m) as usize);
        let mut stack = Vec::new();
        if m != NIL {
            stack.push(m);
        }
        while let Some(t) = stack.pop() {
            gone.push(t);
            for c in [self.left(t), self.right(t)] {
                if c != NIL {
                    stack.push(c);
                }
            }
        }
        // Highest position first: then every node moved into a hole is one
        // that stays (all higher positions are already settled), so it is
        // in the tree where `relink` can find it.
        gone.sort_unstable_by(|a, b| b.cmp(a));
        for &i in &gone {
            self.unindex(i);
            self.drop_slot(i);
        }
        self.maybe_shrink();
        gone.len()
    }

    /// The 0-based rank of a member, if present.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let x = self.find(member)?;
        let mut t = self.root;
        let mut r = 0usize;
        while t != NIL {
            if t == x {
                return Some(r + self.size(self.left(t)) as usize);
            }
            if self.cmp_nodes(x, t) == Ordering::Less {
                t = self.left(t);
            } else {
                r += self.size(self.left(t)) as usize + 1;
                t = self.right(t);
            }
        }
        None
    }

    /// How many leading entries satisfy `pred`, which must hold for a
    /// prefix of the order (true, ..., true, false, ..., false).
    pub fn count_prefix(&self, mut pred: impl FnMut(f64, &[u8]) -> bool) -> usize {
        let mut t = self.root;
        let mut r = 0usize;
        while let Some(n) = self.node(t) {
            if pred(n.score, &n.member) {
                r += self.size(n.left) as usize + 1;
                t = n.right;
            } else {
                t = n.left;
            }
        }
        r
    }

    /// The entry of 0-based rank `rank`.
    pub fn select(&self, rank: usize) -> Option<(f64, &[u8])> {
        let mut t = self.root;
        let mut r = rank;
        while let Some(n) = self.node(t) {
            let ls = self.size(n.left) as usize;
            match r.cmp(&ls) {
                Ordering::Less => t = n.left,
                Ordering::Equal => return Some((n.score, &n.member)),
                Ordering::Greater => {
                    r -= ls + 1;
                    t = n.right;
                }
            }
        }
        None
    }

    /// The entry at position `i` of the hash order: (member, score).
    pub fn at(&self, i: usize) -> Option<(&[u8], f64)> {
        self.nodes.get(i).map(|n| (&*n.member, n.score))
    }

    /// Iterates (member, score) in hash order.
    pub fn iter_unordered(&self) -> impl Iterator<Item = (&[u8], f64)> {
        self.nodes.iter().map(|n| (&*n.member, n.score))
    }

    /// Iterates from the entry of rank `rank` towards higher ranks, or
    /// towards lower ranks when `rev` is set.
    pub fn iter_from(&self, rank: usize, rev: bool) -> TreeIter<'_> {
        let mut it = TreeIter {
            set: self,
            stack: Vec::new(),
            rev,
        };
        if rank >= self.len() {
            return it;
        }
        let mut t = self.root;
        let mut r = rank;
        while let Some(n) = self.node(t) {
            let ls = self.size(n.left) as usize;
            match (r.cmp(&ls), rev) {
                (Ordering::Equal, _) => {
                    it.stack.push(t);
                    break;
                }
                (Ordering::Less, false) => {
                    it.stack.push(t);
                    t = n.left;
                }
                (Ordering::Less, true) => t = n.left,
                (Ordering::Greater, false) => {
                    r -= ls + 1;
                    t = n.right;
                }
                (Ordering::Greater, true) => {
                    it.stack.push(t);
                    r -= ls + 1;
                    t = n.right;
                }
            }
        }
        it
    }

    /// Iterates over all entries in order.
    pub fn iter(&self) -> TreeIter<'_> {
        self.iter_from(0, false)
    }

    /// The longest member's length.
    pub fn max_member_len(&self) -> usize {
        self.nodes.iter().map(|n| n.member.len()).max().unwrap_or(0)
    }

    /// Heap bytes: the node vector, the index and the member copies.
    pub fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.index.allocation_size()
            + self.nodes.iter().map(|n| n.member.len()).sum::<usize>()
    }
}

/// An in-order iterator over a [`BigZSet`], forwards or backwards.
#[derive(Debug)]
pub struct TreeIter<'a> {
    set: &'a BigZSet,
    stack: Vec<u32>,
    rev: bool,
}

impl<'a> Iterator for TreeIter<'a> {
    type Item = (f64, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let t = self.stack.pop()?;
        let set = self.set;
        let n = set.node(t)?;
        let mut c = if self.rev { n.left } else { n.right };
        while let Some(cn) = set.node(c) {
            self.stack.push(c);
            c = if self.rev { cn.right } else { cn.left };
        }
        Some((n.score, &n.member))
    }
}

/// A score interval as `ZRANGEBYSCORE` takes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    /// Lower bound.
    pub min: f64,
    /// Upper bound.
    pub max: f64,
    /// Whether the lower bound is excluded.
    pub minex: bool,
    /// Whether the upper bound is excluded.
    pub maxex: bool,
}

impl ScoreRange {
    /// Whether `v` is at or above the lower bound.
    pub fn gte_min(&self, v: f64) -> bool {
        if self.minex {
            v > self.min
        } else {
            v >= self.min
        }
    }

    /// Whether `v` is at or below the upper bound.
    pub fn lte_max(&self, v: f64) -> bool {
        if self.maxex {
            v < self.max
        } else {
            v <= self.max
        }
    }

    /// Whether no value can be in the range.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One end of a lexicographic range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexValue {
    /// `-`: below every string.
    Min,
    /// `+`: above every string.
    Max,
    /// A string bound.
    Str(Bytes),
}

/// A member interval as `ZRANGEBYLEX` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    /// Lower bound.
    pub min: LexValue,
    /// Upper bound.
    pub max: LexValue,
    /// Whether the lower bound is excluded.
    pub minex: bool,
    /// Whether the upper bound is excluded.
    pub maxex: bool,
}

fn cmp_lex(a: &LexValue, b: &LexValue) -> Ordering {
    match (a, b) {
        (LexValue::Min, LexValue::Min) | (LexValue::Max, LexValue::Max) => Ordering::Equal,
        (LexValue::Min, _) | (_, LexValue::Max) => Ordering::Less,
        (LexValue::Max, _) | (_, LexValue::Min) => Ordering::Greater,
        (LexValue::Str(x), LexValue::Str(y)) => x.cmp(y),
    }
}

fn cmp_member(m: &[u8], b: &LexValue) -> Ordering {
    match b {
        LexValue::Min => Ordering::Greater,
        LexValue::Max => Ordering::Less,
        LexValue::Str(s) => m.cmp(s),
    }
}

impl LexRange {
    /// Parses one bound: `-`, `+`, `[value` or `(value`.
    pub fn parse_item(item: &[u8]) -> Option<(LexValue, bool)> {
        match item.split_first() {
            Some((b'+', [])) => Some((LexValue::Max, true)),
            Some((b'-', [])) => Some((LexValue::Min, true)),
            Some((b'(', rest)) => Some((LexValue::Str(Bytes::copy_from_slice(rest)), true)),
            Some((b'[', rest)) => Some((LexValue::Str(Bytes::copy_from_slice(rest)), false)),
            _ => None,
        }
    }

    /// Parses a `min max` pair.
    pub fn parse(min: &[u8], max: &[u8]) -> Option<LexRange> {
        let (min, minex) = Self::parse_item(min)?;
        let (max, maxex) = Self::parse_item(max)?;
        Some(LexRange {
            min,
            max,
            minex,
            maxex,
        })
    }

    /// Whether `m` is at or above the lower bound.
    pub fn gte_min(&self, m: &[u8]) -> bool {
        let c = cmp_member(m, &self.min);
        if self.minex {
            c == Ordering::Greater
        } else {
            c != Ordering::Less
        }
    }

    /// Whether `m` is at or below the upper bound.
    pub fn lte_max(&self, m: &[u8]) -> bool {
        let c = cmp_member(m, &self.max);
        if self.maxex {
            c == Ordering::Less
        } else {
            c != Ordering::Greater
        }
    }

    /// Whether no string can be in the range.
    pub fn is_empty(&self) -> bool {
        match cmp_lex(&self.min, &self.max) {
            Ordering::Greater => true,
            Ordering::Equal => self.minex || self.maxex,
            Ordering::Less => false,
        }
    }
}

/// A sorted set value.
#[derive(Debug, Clone)]
pub enum ZSetValue {
    /// The compact encoding (`listpack`): member and score entries
    /// alternating, in (score, member) order. Scores are stored as
    /// [`encode_score`] writes them.
    Packed(PackedBuf),
    /// The general encoding (`skiplist`).
    Big(Box<BigZSet>),
}

impl PartialEq for ZSetValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter_unordered()
                .all(|(m, s)| other.score(&m).is_some_and(|o| o.to_bits() == s.to_bits()))
    }
}

/// The score a compact (listpack) sorted set keeps: Redis stores integral
/// scores as integers there, so `-0` loses its sign.
fn listpack_score(s: f64) -> f64 {
    if s == 0.0 {
        0.0
    } else {
        s
    }
}

/// Integral scores of magnitude below this are stored as integers.
const SCORE_INT_LIMIT: f64 = (1u64 << 55) as f64;

/// A packed score: integral scores (other than `-0`) below 2^55 in
/// magnitude as the fewest little-endian two's-complement bytes (0 to 7;
/// none for 0), anything else as the 8 bytes of the `f64`. Returns the
/// buffer and the number of bytes used. Decoding is exact.
pub fn encode_score(s: f64) -> ([u8; 8], usize) {
    if s.fract() == 0.0 && s.abs() < SCORE_INT_LIMIT && !(s == 0.0 && s.is_sign_negative()) {
        let i = s as i64;
        let mut n = 0;
        while n < 7 {
            let bits = 8 * n as u32;
            let fits = if n == 0 {
                i == 0
            } else {
                let lim = 1i64 << (bits - 1);
                (-lim..lim).contains(&i)
            };
            if fits {
                break;
            }
            n += 1;
        }
        (i.to_le_bytes(), n)
    } else {
        (s.to_le_bytes(), 8)
    }
}

/// Reads a score written by [`encode_score`].
pub fn decode_score(b: &[u8]) -> f64 {
    if let Ok(a) = <[u8; 8]>::try_from(b) {
        return f64::from_le_bytes(a);
    }
    let neg = b.last().is_some_and(|&x| x & 0x80 != 0);
    let mut a = [if neg { 0xff } else { 0 }; 8];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    i64::from_le_bytes(a) as f64
}

/// (member, score) entries of a packed sorted set, in order.
#[derive(Debug, Clone)]
pub struct PackedPairs<'a>(Entries<'a>);

impl<'a> Iterator for PackedPairs<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        let m = self.0.next()?;
        let s = self.0.next()?;
        Some((m, decode_score(s)))
    }
}

fn zpairs(p: &PackedBuf) -> PackedPairs<'_> {
    PackedPairs(p.iter())
}

/// A packed (member, score) pair with its byte span.
struct Located {
    rank: usize,
    score: f64,
    start: usize,
    end: usize,
}

/// Finds a member of a packed set.
fn packed_find(p: &PackedBuf, member: &[u8]) -> Option<Located> {
    let mut it = p.iter();
    let mut rank = 0;
    loop {
        let start = it.pos();
        let m = it.next()?;
        let s = it.next()?;
        if m == member {
            return Some(Located {
                rank,
                score: decode_score(s),
                start,
                end: it.pos(),
            });
        }
        rank += 1;
    }
}

/// The byte offset where (member, score) belongs in a packed set, ignoring
/// the bytes `skip` (an entry being moved), and the number of pairs.
fn packed_insert_pos(
    p: &PackedBuf,
    member: &[u8],
    score: f64,
    skip: Option<(usize, usize)>,
) -> (usize, usize) {
    let mut it = p.iter();
    let mut pos = None;
    let mut n = 0;
    loop {
        let start = it.pos();
        let (Some(m), Some(s)) = (it.next(), it.next()) else {
            return (pos.unwrap_or(start), n);
        };
        n += 1;
        if pos.is_none()
            && skip.is_none_or(|(a, _)| a != start)
            && cmp_entry(decode_score(s), m, score, member) != Ordering::Less
        {
            pos = Some(start);
        }
    }
}

/// The encoded (member, score) pair.
fn packed_pair(member: &[u8], score: f64) -> Vec<u8> {
    let (b, n) = encode_score(score);
    let mut out = Vec::with_capacity(member.len() + 11);
    PackedBuf::encode_into(&mut out, member);
    PackedBuf::encode_into(&mut out, b.get(..n).unwrap_or_default());
    out
}

/// Inserts (member, score) into a packed set at its sorted position.
fn packed_insert(p: &mut PackedBuf, member: &[u8], score: f64) {
    let (at, _) = packed_insert_pos(p, member, score, None);
    p.splice_bytes(at, at, &packed_pair(member, score));
}

/// Iterator over a sorted set's (score, member) entries, by rank.
#[derive(Debug)]
pub enum ZIter<'a> {
    /// Forwards over the compact encoding.
    Packed(PackedPairs<'a>),
    /// Backwards over the compact encoding (entries collected first).
    PackedRev(Vec<(f64, &'a [u8])>),
    /// Over the tree.
    Tree(TreeIter<'a>),
}

impl<'a> Iterator for ZIter<'a> {
    type Item = (f64, Elem<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ZIter::Packed(p) => p.next().map(|(m, s)| (s, Elem(m))),
            ZIter::PackedRev(v) => v.pop().map(|(s, m)| (s, Elem(m))),
            ZIter::Tree(t) => t.next().map(|(s, m)| (s, Elem(m))),
        }
    }
}

impl ZSetValue {
    /// An empty sorted set in the compact encoding (`listpack`) or not.
    pub fn new(listpack: bool) -> Self {
        if listpack {
            ZSetValue::Packed(PackedBuf::new())
        } else {
            ZSetValue::Big(Box::default())
        }
    }

    /// An empty sorted set with the encoding Redis gives a new set whose
    /// first member has length `first_len` (ZADD's rule).
    pub fn for_first_member(first_len: usize, lim: &EncodingLimits) -> Self {
        Self::new(lim.zset_max_listpack_entries != 0 && first_len <= lim.zset_max_listpack_value)
    }

    /// Builds a sorted set from (member, score) pairs (later duplicates
    /// win), choosing the encoding from its final size as Redis does when
    /// it stores a computed result.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Bytes, f64)>, lim: &EncodingLimits) -> Self {
        let mut z = BigZSet::default();
        for (m, s) in pairs {
            match z.score(&m) {
                Some(old) => {
                    if old.to_bits() != s.to_bits() {
                        z.set_score(&m, s);
                    }
                }
                None => z.insert(&m, s),
            }
        }
        let mut z = ZSetValue::Big(Box::new(z));
        z.convert_to_listpack_if_fits(lim);
        z
    }

    /// Whether Redis would keep this set in the compact encoding.
    pub fn is_listpack(&self) -> bool {
        matches!(self, ZSetValue::Packed(_))
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            ZSetValue::Packed(_) => "listpack",
            ZSetValue::Big(_) => "skiplist",
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            ZSetValue::Packed(p) => p.count() / 2,
            ZSetValue::Big(z) => z.len(),
        }
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        match self {
            ZSetValue::Packed(p) => p.is_empty(),
            ZSetValue::Big(z) => z.is_empty(),
        }
    }

    /// A member's score.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSetValue::Packed(p) => packed_find(p, member).map(|l| l.score),
            ZSetValue::Big(z) => z.score(member),
        }
    }

    /// Switches to the hash table + skip list encoding (never reverted).
    pub fn convert_to_skiplist(&mut self) {
        if let ZSetValue::Packed(p) = self {
            let mut z = BigZSet::default();
            z.reserve(p.count() / 2);
            for (m, s) in zpairs(p) {
                z.insert(m, s);
            }
            *self = ZSetValue::Big(Box::new(z));
        }
    }

    /// Switches to the compact encoding if the set is small enough (what
    /// Redis does for the results of ZUNIONSTORE and friends). Scores of
    /// `-0` become `0`, as the compact encoding stores them.
    pub fn convert_to_listpack_if_fits(&mut self, lim: &EncodingLimits) {
        let ZSetValue::Big(z) = self else {
            return;
        };
        if z.len() <= lim.zset_max_listpack_entries
            && z.max_member_len() <= lim.zset_max_listpack_value
        {
            let mut out = Vec::new();
            for (s, m) in z.iter() {
                let (b, n) = encode_score(listpack_score(s));
                PackedBuf::encode_into(&mut out, m);
                PackedBuf::encode_into(&mut out, b.get(..n).unwrap_or_default());
            }
            *self = ZSetValue::Packed(PackedBuf::from_bytes(&out));
        }
    }

    /// Adds a member that is not present yet, converting the encoding
    /// first if the set would outgrow the compact one.
    pub fn insert_new(&mut self, member: Bytes, score: f64, lim: &EncodingLimits) {
        if let ZSetValue::Packed(p) = self {
            let score = listpack_score(score);
            if member.len() <= lim.zset_max_listpack_value {
                let (at, n) = packed_insert_pos(p, &member, score, None);
                if n < lim.zset_max_listpack_entries {
                    p.splice_bytes(at, at, &packed_pair(&member, score));
                    return;
                }
            }
            self.convert_to_skiplist();
        }
        match self {
            ZSetValue::Packed(p) => packed_insert(p, &member, listpack_score(score)),
            ZSetValue::Big(z) => z.insert(&member, score),
        }
    }

    /// Changes an existing member's score.
    pub fn update_score(&mut self, member: &[u8], score: f64) {
        match self {
            ZSetValue::Packed(p) => {
                let Some(old) = packed_find(p, member) else {
                    return;
                };
                let score = listpack_score(score);
                let (at, _) = packed_insert_pos(p, member, score, Some((old.start, old.end)));
                let pair = packed_pair(member, score);
                if at == old.start || at == old.end {
                    // Same position: replace the pair where it is.
                    p.splice_bytes(old.start, old.end, &pair);
                } else {
                    let data = p.as_bytes();
                    let mut out =
                        Vec::with_capacity(data.len() + pair.len() - (old.end - old.start));
                    let (lo, hi) = (at.min(old.start), at.max(old.end));
                    out.extend_from_slice(data.get(..lo).unwrap_or_default());
                    if at < old.start {
                        out.extend_from_slice(&pair);
                        out.extend_from_slice(data.get(at..old.start).unwrap_or_default());
                    } else {
                        out.extend_from_slice(data.get(old.end..at).unwrap_or_default());
                        out.extend_from_slice(&pair);
                    }
                    out.extend_from_slice(data.get(hi..).unwrap_or_default());
                    *p = PackedBuf::from_vec(out);
                }
            }
            ZSetValue::Big(z) => {
                z.set_score(member, score);
            }
        }
    }

    /// Removes a member; returns whether it was present.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            ZSetValue::Packed(p) => match packed_find(p, member) {
                Some(l) => {
                    p.splice_bytes(l.start, l.end, &[]);
                    true
                }
                None => false,
            },
            ZSetValue::Big(z) => z.remove(member).is_some(),
        }
    }

    /// The 0-based rank of a member.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match self {
            ZSetValue::Packed(p) => packed_find(p, member).map(|l| l.rank),
            ZSetValue::Big(z) => z.rank(member),
        }
    }

    /// The entry of 0-based rank `rank`: (member, score).
    pub fn by_rank(&self, rank: usize) -> Option<(Elem<'_>, f64)> {
        match self {
            ZSetValue::Packed(p) => zpairs(p).nth(rank).map(|(m, s)| (Elem(m), s)),
            ZSetValue::Big(z) => z.select(rank).map(|(s, m)| (Elem(m), s)),
        }
    }

    /// Iterates (score, member) from rank `rank`, forwards or backwards.
    pub fn iter_from(&self, rank: usize, rev: bool) -> ZIter<'_> {
        match self {
            ZSetValue::Packed(p) if rev => ZIter::PackedRev(
                zpairs(p)
                    .take(rank.saturating_add(1))
                    .map(|(m, s)| (s, m))
                    .collect(),
            ),
            ZSetValue::Packed(p) => {
                let mut it = zpairs(p);
                if rank > 0 {
                    it.nth(rank - 1);
                }
                ZIter::Packed(it)
            }
            ZSetValue::Big(z) => ZIter::Tree(z.iter_from(rank, rev)),
        }
    }

    /// Iterates (score, member) in order.
    pub fn iter(&self) -> ZIter<'_> {
        self.iter_from(0, false)
    }

    /// Iterates (member, score) in hash order, or rank order while compact
    /// (what the digest needs).
    pub fn iter_unordered(&self) -> impl Iterator<Item = (Elem<'_>, f64)> {
        let (packed, dict) = match self {
            ZSetValue::Packed(p) => (Some(zpairs(p)), None),
            ZSetValue::Big(z) => (None, Some(z.iter_unordered())),
        };
        packed
            .into_iter()
            .flatten()
            .map(|(m, s)| (Elem(m), s))
            .chain(dict.into_iter().flatten().map(|(m, s)| (Elem(m), s)))
    }

    /// Removes ranks `start..=end` (valid, inclusive); returns how many.
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> usize {
        match self {
            ZSetValue::Packed(p) => {
                let n = end + 1 - start;
                if p.remove(2 * start, 2 * n) {
                    n
                } else {
                    0
                }
            }
            ZSetValue::Big(z) => z.remove_rank_range(start, end + 1 - start),
        }
    }

    /// Rank of the first entry within the score range.
    pub fn first_in_score_range(&self, r: &ScoreRange) -> Option<usize> {
        if r.is_empty() || self.is_empty() {
            return None;
        }
        let (i, s) = match self {
            ZSetValue::Packed(p) => zpairs(p)
                .enumerate()
                .find(|(_, (_, s))| r.gte_min(*s))
                .map(|(i, (_, s))| (i, s))?,
            ZSetValue::Big(z) => {
                let i = z.count_prefix(|s, _| !r.gte_min(s));
                (i, z.select(i)?.0)
            }
        };
        r.lte_max(s).then_some(i)
    }

    /// Rank of the last entry within the score range.
    pub fn last_in_score_range(&self, r: &ScoreRange) -> Option<usize> {
        if r.is_empty() || self.is_empty() {
            return None;
        }
        let n = match self {
            ZSetValue::Packed(p) => zpairs(p).take_while(|(_, s)| r.lte_max(*s)).count(),
            ZSetValue::Big(z) => z.count_prefix(|s, _| r.lte_max(s)),
        };
        let i = n.checked_sub(1)?;
        let (_, s) = self.by_rank(i)?;
        r.gte_min(s).then_some(i)
    }

    fn lex_in_range(&self, r: &LexRange) -> bool {
        if r.is_empty() {
            return false;
        }
        let (Some((last, _)), Some((first, _))) =
            (self.by_rank(self.len().wrapping_sub(1)), self.by_rank(0))
        else {
            return false;
        };
        r.gte_min(&last) && r.lte_max(&first)
    }

    /// Rank of the first entry within the lex range. Like Redis, the
    /// compact encoding scans from the head, the other one searches the
    /// tree (the results only differ when scores differ, where Redis's
    /// answer is not specified).
    pub fn first_in_lex_range(&self, r: &LexRange) -> Option<usize> {
        if !self.lex_in_range(r) {
            return None;
        }
        let (i, m) = match self {
            ZSetValue::Packed(p) => zpairs(p)
                .enumerate()
                .find(|(_, (m, _))| r.gte_min(m))
                .map(|(i, (m, _))| (i, m))?,
            ZSetValue::Big(z) => {
                let i = z.count_prefix(|_, m| !r.gte_min(m));
                (i, z.select(i)?.1)
            }
        };
        r.lte_max(m).then_some(i)
    }

    /// Rank of the last entry within the lex range (see
    /// [`ZSetValue::first_in_lex_range`]).
    pub fn last_in_lex_range(&self, r: &LexRange) -> Option<usize> {
        if !self.lex_in_range(r) {
            return None;
        }
        let len = self.len();
        let (i, m) = match self {
            ZSetValue::Packed(_) => self
                .iter_from(len - 1, true)
                .enumerate()
                .find(|(_, (_, m))| r.lte_max(m))
                .map(|(k, (_, m))| (len - 1 - k, m.as_slice()))?,
            ZSetValue::Big(z) => {
                let n = z.count_prefix(|_, m| r.lte_max(m));
                let i = n.checked_sub(1)?;
                (i, z.select(i)?.1)
            }
        };
        r.gte_min(m).then_some(i)
    }

    /// The rank of the first member at or above the lex range's minimum,
    /// found by descending the tree (as a skip list walk does; meaningful
    /// when all scores are equal).
    pub fn lex_rank_first_gte_min(&self, r: &LexRange) -> usize {
        match self {
            ZSetValue::Packed(p) => zpairs(p).take_while(|(m, _)| !r.gte_min(m)).count(),
            ZSetValue::Big(z) => z.count_prefix(|_, m| !r.gte_min(m)),
        }
    }

    /// The member at position `index` of the hash order (rank order while
    /// compact), with its score (for random picks).
    pub fn member_at(&self, index: usize) -> Option<(Elem<'_>, f64)> {
        match self {
            ZSetValue::Packed(_) => self.by_rank(index),
            ZSetValue::Big(z) => z.at(index).map(|(m, s)| (Elem(m), s)),
        }
    }

    /// One `ZSCAN` step over the hash-table encoding: visits up to `count`
    /// members walking down from `cursor` (0 starts at the end) and returns
    /// the next cursor (0 when done). Members present for a whole scan are
    /// always returned.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(Elem<'_>, f64)) -> u64 {
        scan_positions(self.len(), cursor, count, |i| {
            if let Some((m, s)) = self.member_at(i) {
                visit(m, s);
            }
        })
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        match self {
            ZSetValue::Packed(p) => p.heap_size(),
            ZSetValue::Big(z) => z.heap_size(),
        }
    }
}

/// The positional scan shared by the hash-table encodings: positions are
/// visited from the end towards the start, so an entry present for a whole
/// scan is never skipped when others are swap-removed (it only ever moves to
/// a lower position) and entries added later (at the end) may be missed.
pub fn scan_positions(len: usize, cursor: u64, count: usize, mut visit: impl FnMut(usize)) -> u64 {
    let len = len as u64;
    let mut pos = if cursor == 0 || cursor > len {
        len
    } else {
        cursor
    };
    let mut visited = 0;
    while pos > 0 && visited < count {
        pos -= 1;
        visit(pos as usize);
        visited += 1;
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn model_sorted(model: &[(f64, Vec<u8>)]) -> Vec<(f64, Vec<u8>)> {
        let mut v = model.to_vec();
        v.sort_by(|a, b| cmp_entry(a.0, &a.1, b.0, &b.1));
        v
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(i8, u8),
        Remove(u8),
        RemoveRange(u8, u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<i8>(), any::<u8>()).prop_map(|(s, m)| Op::Insert(s % 8, m % 40)),
            2 => any::<u8>().prop_map(|m| Op::Remove(m % 40)),
            1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::RemoveRange(a % 20, b % 6)),
        ]
    }

    /// Checks every query of the big form against a sorted model, and that
    /// the hash order holds each member exactly once.
    fn check(set: &BigZSet, model: &[(f64, Vec<u8>)]) -> Result<(), TestCaseError> {
        let sorted = model_sorted(model);
        prop_assert_eq!(set.len(), sorted.len());
        let got: Vec<(f64, Vec<u8>)> = set.iter().map(|(s, m)| (s, m.to_vec())).collect();
        prop_assert_eq!(&got, &sorted);
        let back: Vec<(f64, Vec<u8>)> = if sorted.is_empty() {
            Vec::new()
        } else {
            set.iter_from(sorted.len() - 1, true)
                .map(|(s, m)| (s, m.to_vec()))
                .collect()
        };
        let mut rev = sorted.clone();
        rev.reverse();
        prop_assert_eq!(&back, &rev);
        for (i, (s, m)) in sorted.iter().enumerate() {
            prop_assert_eq!(set.rank(m), Some(i));
            prop_assert_eq!(set.score(m), Some(*s));
            let sel = set.select(i).map(|(s, m)| (s, m.to_vec()));
            prop_assert_eq!(sel, Some((*s, m.clone())));
            let fwd: Vec<Vec<u8>> = set.iter_from(i, false).map(|(_, m)| m.to_vec()).collect();
            let want: Vec<Vec<u8>> = sorted[i..].iter().map(|(_, m)| m.clone()).collect();
            prop_assert_eq!(fwd, want);
            let bwd: Vec<Vec<u8>> = set.iter_from(i, true).map(|(_, m)| m.to_vec()).collect();
            let want: Vec<Vec<u8>> = sorted[..=i].iter().rev().map(|(_, m)| m.clone()).collect();
            prop_assert_eq!(bwd, want);
        }
        prop_assert!(set.select(sorted.len()).is_none());
        prop_assert!(set.at(sorted.len()).is_none());
        for bound in -9i32..9 {
            let b = f64::from(bound);
            let n = set.count_prefix(|s, _| s < b);
            prop_assert_eq!(n, sorted.iter().filter(|(s, _)| *s < b).count());
        }
        let mut hashed: Vec<(f64, Vec<u8>)> = (0..set.len())
            .filter_map(|i| set.at(i))
            .map(|(m, s)| (s, m.to_vec()))
            .collect();
        hashed.sort_by(|a, b| cmp_entry(a.0, &a.1, b.0, &b.1));
        prop_assert_eq!(&hashed, &sorted);
        for m in 0..40u8 {
            let member = vec![b'm', m];
            if model.iter().all(|(_, x)| *x != member) {
                prop_assert_eq!(set.score(&member), None);
                prop_assert_eq!(set.rank(&member), None);
            }
        }
        Ok(())
    }

    proptest! {
        /// The big form's tree and index agree with a sorted Vec model on
        /// insert, score update, remove, range removal, rank, select,
        /// iteration, prefix counts and hash-order positions.
        #[test]
        fn tree_matches_sorted_vec_model(ops in proptest::collection::vec(op(), 0..200)) {
            let mut set = BigZSet::new();
            let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(s, m) => {
                        let member = vec![b'm', m];
                        let s = f64::from(s);
                        match model.iter_mut().find(|(_, x)| *x == member) {
                            Some(e) => {
                                prop_assert!(set.set_score(&member, s));
                                e.0 = s;
                            }
                            None => {
                                set.insert(&member, s);
                                model.push((s, member));
                            }
                        }
                    }
                    Op::Remove(m) => {
                        let member = vec![b'm', m];
                        let pos = model.iter().position(|(_, y)| *y == member);
                        let removed = set.remove(&member);
                        prop_assert_eq!(removed, pos.and_then(|p| model.get(p)).map(|e| e.0));
                        if let Some(p) = pos { model.remove(p); }
                    }
                    Op::RemoveRange(start, count) => {
                        let sorted = model_sorted(&model);
                        let start = usize::from(start).min(sorted.len());
                        let count = usize::from(count).min(sorted.len() - start);
                        prop_assert_eq!(set.remove_rank_range(start, count), count);
                        let want: Vec<Vec<u8>> = sorted[start..start + count].iter().map(|(_, m)| m.clone()).collect();
                        model.retain(|(_, m)| !want.contains(m));
                    }
                }
                check(&set, &model)?;
            }
        }
    }

    #[derive(Debug, Clone)]
    enum BigOp {
        Add(u16, u8),
        Remove(u16),
        RemoveRanks(u16, u8),
        Query(u8, u8, u16, u16),
    }

    fn big_op() -> impl Strategy<Value = BigOp> {
        prop_oneof![
            8 => (any::<u16>(), any::<u8>()).prop_map(|(m, s)| BigOp::Add(m % 300, s)),
            3 => any::<u16>().prop_map(|m| BigOp::Remove(m % 300)),
            1 => (any::<u16>(), any::<u8>()).prop_map(|(a, n)| BigOp::RemoveRanks(a % 300, n % 12)),
            2 => (any::<u8>(), any::<u8>(), any::<u16>(), any::<u16>())
                .prop_map(|(a, b, c, d)| BigOp::Query(a, b, c % 300, d % 300)),
        ]
    }

    fn big_member(m: u16) -> Vec<u8> {
        // Lengths 9 to 21, across the 16-byte size class of the copies.
        let mut v = format!("element:{m}").into_bytes();
        v.extend(std::iter::repeat_n(b'x', usize::from(m % 9)));
        v
    }

    fn big_score(s: u8) -> f64 {
        // Few distinct scores, so ties ordered by member are common.
        match s % 16 {
            0 => -0.0,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3 => 0.5,
            k => f64::from(k % 6) - 2.0,
        }
    }

    proptest! {
        /// The big encoding of [`ZSetValue`] against a `BTreeMap` model:
        /// inserts, updates, removes, rank-range removal, ranks, score and
        /// lex range searches, and the hash-order positions ZSCAN walks.
        #[test]
        fn big_zset_matches_btreemap_model(ops in proptest::collection::vec(big_op(), 0..400)) {
            let lim = EncodingLimits {
                zset_max_listpack_entries: 0,
                ..EncodingLimits::default()
            };
            let mut z = ZSetValue::new(false);
            let mut model: std::collections::BTreeMap<Vec<u8>, f64> = Default::default();
            for op in ops {
                let sorted = |model: &std::collections::BTreeMap<Vec<u8>, f64>| {
                    let v: Vec<(f64, Vec<u8>)> = model.iter().map(|(m, s)| (*s, m.clone())).collect();
                    model_sorted(&v)
                };
                match op {
                    BigOp::Add(m, s) => {
                        let member = big_member(m);
                        let score = big_score(s);
                        if model.contains_key(&member) {
                            z.update_score(&member, score);
                        } else {
                            z.insert_new(Bytes::from(member.clone()), score, &lim);
                        }
                        model.insert(member, score);
                    }
                    BigOp::Remove(m) => {
                        let member = big_member(m);
                        prop_assert_eq!(z.remove(&member), model.remove(&member).is_some());
                    }
                    BigOp::RemoveRanks(a, n) => {
                        let s = sorted(&model);
                        let a = usize::from(a);
                        let n = usize::from(n);
                        if n > 0 && a + n <= s.len() {
                            prop_assert_eq!(z.remove_rank_range(a, a + n - 1), n);
                            for (_, m) in &s[a..a + n] {
                                model.remove(m);
                            }
                        }
                    }
                    BigOp::Query(a, b, c, d) => {
                        let s = sorted(&model);
                        let r = ScoreRange {
                            min: big_score(a),
                            max: big_score(b),
                            minex: a & 0x10 != 0,
                            maxex: b & 0x10 != 0,
                        };
                        let idx: Vec<usize> = s.iter().enumerate()
                            .filter(|(_, (v, _))| r.gte_min(*v) && r.lte_max(*v))
                            .map(|(i, _)| i).collect();
                        prop_assert_eq!(z.first_in_score_range(&r), idx.first().copied());
                        prop_assert_eq!(z.last_in_score_range(&r), idx.last().copied());
                        let lex = LexRange {
                            min: LexValue::Str(Bytes::from(big_member(c))),
                            max: LexValue::Str(Bytes::from(big_member(d))),
                            minex: a & 0x20 != 0,
                            maxex: b & 0x20 != 0,
                        };
                        // Lex searches are only defined when the bounds
                        // split the order into a prefix and a suffix (as
                        // when all scores are equal), as Redis's are.
                        let lo = s.iter().take_while(|(_, m)| !lex.gte_min(m)).count();
                        let hi = s.iter().take_while(|(_, m)| lex.lte_max(m)).count();
                        let monotone = s.iter().skip(lo).all(|(_, m)| lex.gte_min(m))
                            && s.iter().skip(hi).all(|(_, m)| !lex.lte_max(m));
                        if monotone {
                            prop_assert_eq!(z.lex_rank_first_gte_min(&lex), lo);
                            let want = (lo < hi).then(|| (lo, hi - 1));
                            let got = z.first_in_lex_range(&lex).zip(z.last_in_lex_range(&lex));
                            prop_assert_eq!(got, want);
                        }
                    }
                }
                let s = sorted(&model);
                prop_assert_eq!(z.encoding(), "skiplist");
                prop_assert_eq!(z.len(), s.len());
                let got: Vec<(u64, Vec<u8>)> = z.iter().map(|(v, m)| (v.to_bits(), m.to_vec())).collect();
                let want: Vec<(u64, Vec<u8>)> = s.iter().map(|(v, m)| (v.to_bits(), m.clone())).collect();
                prop_assert_eq!(got, want);
                for (i, (v, m)) in s.iter().enumerate().step_by(7) {
                    prop_assert_eq!(z.rank(m), Some(i));
                    prop_assert_eq!(z.score(m).map(f64::to_bits), Some(v.to_bits()));
                    let at = z.by_rank(i).map(|(m, v)| (v.to_bits(), m.to_vec()));
                    prop_assert_eq!(at, Some((v.to_bits(), m.clone())));
                }
                let mut hashed: Vec<Vec<u8>> = (0..z.len())
                    .filter_map(|i| z.member_at(i))
                    .map(|(m, _)| m.to_vec())
                    .collect();
                hashed.sort();
                let keys: Vec<Vec<u8>> = model.keys().cloned().collect();
                prop_assert_eq!(hashed, keys);
            }
        }
    }

    #[test]
    fn big_lex_ranges_with_equal_scores() {
        let lim = EncodingLimits::default();
        let mut z = ZSetValue::new(false);
        let mut members: Vec<Vec<u8>> = (0..300u16).map(big_member).collect();
        for m in &members {
            z.insert_new(Bytes::from(m.clone()), 0.0, &lim);
        }
        members.sort();
        for (a, b) in [(0u16, 299u16), (17, 18), (150, 40), (5, 250), (99, 99)] {
            for (minex, maxex) in [(false, false), (true, false), (false, true), (true, true)] {
                let r = LexRange {
                    min: LexValue::Str(Bytes::from(big_member(a))),
                    max: LexValue::Str(Bytes::from(big_member(b))),
                    minex,
                    maxex,
                };
                let idx: Vec<usize> = members
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| r.gte_min(m) && r.lte_max(m))
                    .map(|(i, _)| i)
                    .collect();
                assert_eq!(z.first_in_lex_range(&r), idx.first().copied());
                assert_eq!(z.last_in_lex_range(&r), idx.last().copied());
            }
        }
    }

    #[test]
    fn node_is_40_bytes() {
        assert_eq!(std::mem::size_of::<Node>(), 40);
        assert!(std::mem::size_of::<ZSetValue>() <= 24);
    }

    #[test]
    fn members_are_copied() {
        // A member must not keep the request buffer it came from alive.
        let lim = EncodingLimits::default();
        let buf = Bytes::from(vec![b'x'; 4096]);
        let mut z = ZSetValue::new(false);
        z.insert_new(buf.slice(0..10), 1.0, &lim);
        let stored = z.by_rank(0).map(|(m, _)| m.as_slice().as_ptr());
        assert!(stored.is_some_and(|p| !std::ptr::eq(p, buf.as_ptr())));
        assert!(buf.is_unique());
    }

    #[test]
    fn scan_returns_members_present_throughout() {
        // Removing members mid-scan moves others to lower positions only,
        // so every member present for the whole scan is still returned.
        let lim = EncodingLimits::default();
        let mut z = ZSetValue::new(false);
        for i in 0..1000u32 {
            z.insert_new(Bytes::from(format!("m{i}")), f64::from(i % 17), &lim);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut victim = 0u32;
        loop {
            cursor = z.scan(cursor, 10, |m, _| {
                seen.insert(m.to_vec());
            });
            for _ in 0..3 {
                z.remove(format!("m{victim}").as_bytes());
                victim += 7;
            }
            if cursor == 0 {
                break;
            }
        }
        for (_, m) in z.iter() {
            assert!(seen.contains(m.as_slice()), "{:?}", m.as_slice());
        }
    }

    #[test]
    fn shrinks_after_mass_removal() {
        let lim = EncodingLimits::default();
        let mut z = ZSetValue::new(false);
        for i in 0..10_000u32 {
            z.insert_new(Bytes::from(format!("element:{i}")), f64::from(i), &lim);
        }
        let full = z.heap_size();
        assert_eq!(z.remove_rank_range(0, 9_899), 9_900);
        assert!(z.heap_size() < full / 10, "{} vs {full}", z.heap_size());
        let left: Vec<Vec<u8>> = z.iter().map(|(_, m)| m.to_vec()).collect();
        let want: Vec<Vec<u8>> = (9_900..10_000u32)
            .map(|i| format!("element:{i}").into_bytes())
            .collect();
        assert_eq!(left, want);
    }

    #[test]
    fn scores_round_trip() {
        let edge = (1u64 << 55) as f64;
        for s in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            127.0,
            128.0,
            -128.0,
            -129.0,
            32767.0,
            1e15,
            edge - 1.0,
            edge,
            -edge,
            -edge + 1.0,
            0.1,
            -2.5,
            1e300,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            i64::MAX as f64,
            i64::MIN as f64,
        ] {
            let (b, n) = encode_score(s);
            let back = decode_score(b.get(..n).unwrap_or_default());
            assert_eq!(back.to_bits(), s.to_bits(), "{s}");
        }
        assert_eq!(encode_score(0.0).1, 0);
        assert_eq!(encode_score(1.0).1, 1);
        assert_eq!(encode_score(-128.0).1, 1);
        assert_eq!(encode_score(128.0).1, 2);
        assert_eq!(encode_score(-0.0).1, 8);
    }

    #[derive(Debug, Clone)]
    enum ZOp {
        Add(u8, u8),
        Remove(u8),
        RemoveRanks(u8, u8),
        Shrink,
    }

    const SCORES: [f64; 12] = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        2.5,
        300.0,
        -70000.0,
        1e300,
        f64::INFINITY,
        f64::NEG_INFINITY,
        36028797018963968.0,
        1.0,
    ];

    fn zop() -> impl Strategy<Value = ZOp> {
        prop_oneof![
            6 => (any::<u8>(), any::<u8>()).prop_map(|(m, s)| ZOp::Add(m % 10, s % 12)),
            3 => any::<u8>().prop_map(|m| ZOp::Remove(m % 10)),
            1 => (any::<u8>(), any::<u8>()).prop_map(|(a, n)| ZOp::RemoveRanks(a % 8, n % 3)),
            1 => Just(ZOp::Shrink),
        ]
    }

    fn zmember(m: u8) -> Vec<u8> {
        // Lengths 1 to 4, so small value limits convert some members.
        let mut v = vec![b'a' + m];
        v.extend(std::iter::repeat_n(b'x', usize::from(m % 4)));
        v
    }

    proptest! {
        /// Both encodings agree with a sorted-Vec model of (score, member)
        /// and with the conversion rules: one way while growing, back to
        /// compact only through `convert_to_listpack_if_fits`, `-0`
        /// dropping its sign in the compact encoding only.
        #[test]
        fn zset_matches_model(
            ops in proptest::collection::vec(zop(), 0..80),
            entries in 0usize..7,
            value in 1usize..5,
            start_packed in any::<bool>(),
        ) {
            let lim = EncodingLimits {
                zset_max_listpack_entries: entries,
                zset_max_listpack_value: value,
                ..EncodingLimits::default()
            };
            let mut z = ZSetValue::new(start_packed);
            let mut listpack = start_packed;
            let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
            for op in ops {
                match op {
                    ZOp::Add(m, s) => {
                        let member = zmember(m);
                        let score = SCORES.get(usize::from(s)).copied().unwrap_or(0.0);
                        match model.iter().position(|(_, x)| *x == member) {
                            Some(i) => {
                                prop_assert!(z.score(&member).is_some());
                                z.update_score(&member, score);
                                let stored = if listpack { listpack_score(score) } else { score };
                                if let Some(e) = model.get_mut(i) { e.0 = stored; }
                            }
                            None => {
                                prop_assert!(z.score(&member).is_none());
                                if listpack && (model.len() + 1 > entries || member.len() > value) {
                                    listpack = false;
                                }
                                let stored = if listpack { listpack_score(score) } else { score };
                                z.insert_new(Bytes::from(member.clone()), score, &lim);
                                model.push((stored, member));
                            }
                        }
                    }
                    ZOp::Remove(m) => {
                        let member = zmember(m);
                        let pos = model.iter().position(|(_, x)| *x == member);
                        prop_assert_eq!(z.remove(&member), pos.is_some());
                        if let Some(p) = pos { model.remove(p); }
                    }
                    ZOp::RemoveRanks(a, n) => {
                        let sorted = model_sorted(&model);
                        let a = usize::from(a);
                        let n = usize::from(n);
                        if n > 0 && a + n <= sorted.len() {
                            prop_assert_eq!(z.remove_rank_range(a, a + n - 1), n);
                            let gone: Vec<Vec<u8>> =
                                sorted[a..a + n].iter().map(|(_, m)| m.clone()).collect();
                            model.retain(|(_, m)| !gone.contains(m));
                        }
                    }
                    ZOp::Shrink => {
                        z.convert_to_listpack_if_fits(&lim);
                        let maxlen = model.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
                        if model.len() <= entries && maxlen <= value {
                            listpack = true;
                            for e in model.iter_mut() { e.0 = listpack_score(e.0); }
                        }
                    }
                }
                prop_assert_eq!(z.encoding(), if listpack { "listpack" } else { "skiplist" });
                let sorted = model_sorted(&model);
                prop_assert_eq!(z.len(), sorted.len());
                prop_assert_eq!(z.is_empty(), sorted.is_empty());
                let bits = |v: &[(f64, Vec<u8>)]| -> Vec<(u64, Vec<u8>)> {
                    v.iter().map(|(s, m)| (s.to_bits(), m.clone())).collect()
                };
                let got: Vec<(f64, Vec<u8>)> = z.iter().map(|(s, m)| (s, m.to_vec())).collect();
                prop_assert_eq!(bits(&got), bits(&sorted));
                for (i, (s, m)) in sorted.iter().enumerate() {
                    prop_assert_eq!(z.rank(m), Some(i));
                    prop_assert_eq!(z.score(m).map(f64::to_bits), Some(s.to_bits()));
                    let at = z.by_rank(i).map(|(m, s)| (s.to_bits(), m.to_vec()));
                    prop_assert_eq!(at, Some((s.to_bits(), m.clone())));
                    let back: Vec<Vec<u8>> = z.iter_from(i, true).map(|(_, m)| m.to_vec()).collect();
                    let want: Vec<Vec<u8>> = sorted[..=i].iter().rev().map(|(_, m)| m.clone()).collect();
                    prop_assert_eq!(back, want);
                    let fwd: Vec<Vec<u8>> = z.iter_from(i, false).map(|(_, m)| m.to_vec()).collect();
                    let want: Vec<Vec<u8>> = sorted[i..].iter().map(|(_, m)| m.clone()).collect();
                    prop_assert_eq!(fwd, want);
                }
                let mut unordered: Vec<(u64, Vec<u8>)> =
                    z.iter_unordered().map(|(m, s)| (s.to_bits(), m.to_vec())).collect();
                unordered.sort();
                let mut want = bits(&sorted);
                want.sort();
                prop_assert_eq!(unordered, want);
                for (lo, hi) in [(-1.0, 1.0), (0.0, 0.0), (2.0, f64::INFINITY), (f64::NEG_INFINITY, -1.0)] {
                    for (minex, maxex) in [(false, false), (true, false), (false, true)] {
                        let r = ScoreRange { min: lo, max: hi, minex, maxex };
                        let idx: Vec<usize> = sorted.iter().enumerate()
                            .filter(|(_, (s, _))| r.gte_min(*s) && r.lte_max(*s))
                            .map(|(i, _)| i).collect();
                        prop_assert_eq!(z.first_in_score_range(&r), idx.first().copied());
                        prop_assert_eq!(z.last_in_score_range(&r), idx.last().copied());
                    }
                }
            }
        }
    }

    #[test]
    fn ranges_follow_redis_rules() {
        let lim = EncodingLimits::default();
        let mut z = ZSetValue::new(true);
        for (m, s) in [("a", 1.0), ("b", 2.0), ("c", 2.0), ("d", 3.0)] {
            z.insert_new(Bytes::from(m), s, &lim);
        }
        let r = |min, max, minex, maxex| ScoreRange {
            min,
            max,
            minex,
            maxex,
        };
        assert_eq!(z.first_in_score_range(&r(2.0, 3.0, false, false)), Some(1));
        assert_eq!(z.last_in_score_range(&r(2.0, 3.0, false, true)), Some(2));
        assert_eq!(z.first_in_score_range(&r(2.0, 2.0, true, false)), None);
        assert_eq!(z.first_in_score_range(&r(3.5, 9.0, false, false)), None);
        let lex = |a: &str, b: &str| {
            LexRange::parse(a.as_bytes(), b.as_bytes()).unwrap_or(LexRange {
                min: LexValue::Max,
                max: LexValue::Min,
                minex: true,
                maxex: true,
            })
        };
        assert_eq!(z.first_in_lex_range(&lex("[b", "+")), Some(1));
        assert_eq!(z.last_in_lex_range(&lex("-", "(d")), Some(2));
        assert_eq!(z.first_in_lex_range(&lex("+", "-")), None);
        assert!(LexRange::parse(b"b", b"+").is_none());
        assert!(LexRange::parse(b"[b", b"+x").is_none());
    }

    #[test]
    fn listpack_drops_negative_zero() {
        let lim = EncodingLimits::default();
        let mut z = ZSetValue::new(true);
        z.insert_new(Bytes::from("a"), -0.0, &lim);
        assert!(z.score(b"a").is_some_and(|s| s.is_sign_positive()));
        let mut z = ZSetValue::new(false);
        z.insert_new(Bytes::from("a"), -0.0, &lim);
        assert!(z.score(b"a").is_some_and(|s| s.is_sign_negative()));
        z.convert_to_listpack_if_fits(&lim);
        assert!(z.is_listpack());
        assert!(z.score(b"a").is_some_and(|s| s.is_sign_positive()));
    }
}
