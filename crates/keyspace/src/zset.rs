//! Sorted sets: a member-to-score map plus an order-statistic tree keyed by
//! (score, member), so lookups by member are O(1) and rank, select and range
//! searches are O(log n).
//!
//! The tree is a treap (a binary search tree whose nodes also carry random
//! priorities, kept in heap order) with subtree sizes, stored in an arena of
//! nodes addressed by index: no `unsafe`, no reference counting, freed slots
//! are reused.
//!
//! Redis keeps small sorted sets in a compact encoding (`listpack`) and
//! reports it in `OBJECT ENCODING`; the encoding is visible in a few replies
//! (`ZSCAN` returns everything at once, scores of `-0` lose their sign, lex
//! range searches scan linearly), so [`ZSetValue`] remembers which encoding
//! Redis would use and follows the same conversion rules. Only the general
//! encoding uses the map and tree; a compact set is a [`PackedBuf`] of
//! (member, score) entries in rank order, searched linearly as Redis
//! searches its listpack.

use std::cmp::Ordering;
use std::hash::BuildHasher;

use bytes::Bytes;
use foldhash::fast::RandomState;
use indexmap::IndexMap;

use crate::packed::{Elem, Entries, PackedBuf};
use crate::value::EncodingLimits;

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Node {
    score: f64,
    member: Bytes,
    left: u32,
    right: u32,
    size: u32,
    prio: u64,
}

/// Compares two (score, member) entries in sorted-set order: by score, then
/// by member bytes (shorter first when one is a prefix of the other).
pub fn cmp_entry(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => m1.cmp(m2),
        Some(o) => o,
    }
}

/// An order-statistic tree of (score, member) entries with unique members.
#[derive(Debug, Clone)]
pub struct ZTree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    seed: u64,
    counter: u64,
}

impl Default for ZTree {
    fn default() -> Self {
        Self::new()
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl ZTree {
    /// An empty tree.
    pub fn new() -> Self {
        ZTree {
            nodes: Vec::new(),
            free: Vec::new(),
            root: NIL,
            // A per-process random seed: priorities must not be predictable
            // from the insertion order, or a client could degrade the tree.
            seed: RandomState::default().hash_one(0x5eed_u64),
            counter: 0,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.size(self.root) as usize
    }

    /// Whether the tree is empty.
    pub fn is_empty(&self) -> bool {
        self.root == NIL
    }

    fn node(&self, t: u32) -> &Node {
        &self.nodes[t as usize]
    }

    fn node_mut(&mut self, t: u32) -> &mut Node {
        &mut self.nodes[t as usize]
    }

    fn size(&self, t: u32) -> u32 {
        if t == NIL {
            0
        } else {
            self.node(t).size
        }
    }

    fn fix(&mut self, t: u32) {
        let n = self.node(t);
        let s = 1 + self.size(n.left) + self.size(n.right);
        self.node_mut(t).size = s;
    }

    fn alloc(&mut self, score: f64, member: Bytes) -> u32 {
        self.counter = self.counter.wrapping_add(1);
        let node = Node {
            score,
            member,
            left: NIL,
            right: NIL,
            size: 1,
            prio: splitmix64(self.seed ^ self.counter),
        };
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                u32::try_from(self.nodes.len() - 1).unwrap_or(NIL - 1)
            }
        }
    }

    fn release(&mut self, t: u32) {
        let n = self.node_mut(t);
        n.member = Bytes::new();
        n.left = NIL;
        n.right = NIL;
        self.free.push(t);
    }

    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.node(a).prio > self.node(b).prio {
            let r = self.node(a).right;
            let m = self.merge(r, b);
            self.node_mut(a).right = m;
            self.fix(a);
            a
        } else {
            let l = self.node(b).left;
            let m = self.merge(a, l);
            self.node_mut(b).left = m;
            self.fix(b);
            b
        }
    }

    /// Splits `t` into the entries ordered before (score, member) and the rest.
    fn split_before(&mut self, t: u32, score: f64, member: &[u8]) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        let n = self.node(t);
        if cmp_entry(n.score, &n.member, score, member) == Ordering::Less {
            let r = n.right;
            let (a, b) = self.split_before(r, score, member);
            self.node_mut(t).right = a;
            self.fix(t);
            (t, b)
        } else {
            let l = n.left;
            let (a, b) = self.split_before(l, score, member);
            self.node_mut(t).left = b;
            self.fix(t);
            (a, t)
        }
    }

    /// Splits `t` into its first `k` entries and the rest.
    fn split_rank(&mut self, t: u32, k: u32) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        let n = self.node(t);
        let ls = self.size(n.left);
        if k <= ls {
            let l = n.left;
            let (a, b) = self.split_rank(l, k);
            self.node_mut(t).left = b;
            self.fix(t);
            (a, t)
        } else {
            let r = n.right;
            let (a, b) = self.split_rank(r, k - ls - 1);
            self.node_mut(t).right = a;
            self.fix(t);
            (t, b)
        }
    }

    /// Inserts an entry; the member must not be present already.
    pub fn insert(&mut self, score: f64, member: Bytes) {
        let (l, r) = self.split_before(self.root, score, &member);
        let n = self.alloc(score, member);
        let left = self.merge(l, n);
        self.root = self.merge(left, r);
    }

    /// Removes the entry (score, member); returns whether it was present.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        let (l, r) = self.split_before(self.root, score, member);
        let (m, rest) = self.split_rank(r, 1);
        let found = m != NIL && {
            let n = self.node(m);
            cmp_entry(n.score, &n.member, score, member) == Ordering::Equal
        };
        if found {
            self.release(m);
            self.root = self.merge(l, rest);
        } else {
            let right = self.merge(m, rest);
            self.root = self.merge(l, right);
        }
        found
    }

    /// Removes the entries with ranks `start..start + count` and returns
    /// their members in order.
    pub fn remove_rank_range(&mut self, start: usize, count: usize) -> Vec<Bytes> {
        let to_u32 = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        let (l, r) = self.split_rank(self.root, to_u32(start));
        let (m, rest) = self.split_rank(r, to_u32(count));
        let mut out = Vec::with_capacity(self.size(m) as usize);
        // In-order walk of the detached subtree, releasing its nodes.
        let mut stack = Vec::new();
        let mut t = m;
        loop {
            while t != NIL {
                stack.push(t);
                t = self.node(t).left;
            }
            let Some(x) = stack.pop() else { break };
            t = self.node(x).right;
            out.push(std::mem::take(&mut self.node_mut(x).member));
            self.release(x);
        }
        self.root = self.merge(l, rest);
        out
    }

    /// The 0-based rank of (score, member), if present.
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let mut t = self.root;
        let mut r = 0usize;
        while t != NIL {
            let n = self.node(t);
            match cmp_entry(score, member, n.score, &n.member) {
                Ordering::Less => t = n.left,
                Ordering::Greater => {
                    r += self.size(n.left) as usize + 1;
                    t = n.right;
                }
                Ordering::Equal => return Some(r + self.size(n.left) as usize),
            }
        }
        None
    }

    /// How many leading entries satisfy `pred`, which must hold for a
    /// prefix of the order (true, ..., true, false, ..., false).
    pub fn count_prefix(&self, mut pred: impl FnMut(f64, &Bytes) -> bool) -> usize {
        let mut t = self.root;
        let mut r = 0usize;
        while t != NIL {
            let n = self.node(t);
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
    pub fn select(&self, rank: usize) -> Option<(f64, &Bytes)> {
        let mut t = self.root;
        let mut r = rank;
        while t != NIL {
            let n = self.node(t);
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

    /// Iterates from the entry of rank `rank` towards higher ranks, or
    /// towards lower ranks when `rev` is set.
    pub fn iter_from(&self, rank: usize, rev: bool) -> TreeIter<'_> {
        let mut it = TreeIter {
            tree: self,
            stack: Vec::new(),
            rev,
        };
        if rank >= self.len() {
            return it;
        }
        let mut t = self.root;
        let mut r = rank;
        while t != NIL {
            let n = self.node(t);
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
}

/// An in-order iterator over a [`ZTree`], forwards or backwards.
#[derive(Debug)]
pub struct TreeIter<'a> {
    tree: &'a ZTree,
    stack: Vec<u32>,
    rev: bool,
}

impl<'a> Iterator for TreeIter<'a> {
    type Item = (f64, &'a Bytes);

    fn next(&mut self) -> Option<Self::Item> {
        let t = self.stack.pop()?;
        let tree = self.tree;
        let n = tree.node(t);
        let mut c = if self.rev { n.left } else { n.right };
        while c != NIL {
            self.stack.push(c);
            let cn = tree.node(c);
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

/// The general encoding: a member-to-score map (hash order, for random
/// picks and `ZSCAN`) plus the order-statistic tree.
#[derive(Debug, Clone, Default)]
pub struct BigZSet {
    dict: IndexMap<Bytes, f64, RandomState>,
    tree: ZTree,
}

impl BigZSet {
    fn insert(&mut self, member: Bytes, score: f64) {
        self.tree.insert(score, member.clone());
        self.dict.insert(member, score);
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
            ZIter::Packed(p) => p.next().map(|(m, s)| (s, Elem::Slice(m))),
            ZIter::PackedRev(v) => v.pop().map(|(s, m)| (s, Elem::Slice(m))),
            ZIter::Tree(t) => t.next().map(|(s, m)| (s, Elem::Shared(m))),
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
            match z.dict.get(&m).copied() {
                Some(old) => {
                    if old.to_bits() != s.to_bits() {
                        z.tree.remove(old, &m);
                        z.insert(m, s);
                    }
                }
                None => z.insert(m, s),
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
            ZSetValue::Big(z) => z.dict.len(),
        }
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        match self {
            ZSetValue::Packed(p) => p.is_empty(),
            ZSetValue::Big(z) => z.dict.is_empty(),
        }
    }

    /// A member's score.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSetValue::Packed(p) => packed_find(p, member).map(|l| l.score),
            ZSetValue::Big(z) => z.dict.get(member).copied(),
        }
    }

    /// Switches to the hash table + skip list encoding (never reverted).
    pub fn convert_to_skiplist(&mut self) {
        if let ZSetValue::Packed(p) = self {
            let mut z = BigZSet::default();
            z.dict.reserve(p.count() / 2);
            for (m, s) in zpairs(p) {
                z.insert(Bytes::copy_from_slice(m), s);
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
        let maxlen = z.dict.keys().map(|m| m.len()).max().unwrap_or(0);
        if z.dict.len() <= lim.zset_max_listpack_entries && maxlen <= lim.zset_max_listpack_value {
            let mut out = Vec::new();
            for (s, m) in z.tree.iter() {
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
            ZSetValue::Big(z) => z.insert(member, score),
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
                if let Some((_, m, s)) = z.dict.get_full_mut(member) {
                    let old = *s;
                    *s = score;
                    let m = m.clone();
                    z.tree.remove(old, &m);
                    z.tree.insert(score, m);
                }
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
            ZSetValue::Big(z) => match z.dict.swap_remove(member) {
                Some(s) => {
                    z.tree.remove(s, member);
                    true
                }
                None => false,
            },
        }
    }

    /// The 0-based rank of a member.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match self {
            ZSetValue::Packed(p) => packed_find(p, member).map(|l| l.rank),
            ZSetValue::Big(z) => {
                let s = z.dict.get(member).copied()?;
                z.tree.rank(s, member)
            }
        }
    }

    /// The entry of 0-based rank `rank`: (member, score).
    pub fn by_rank(&self, rank: usize) -> Option<(Elem<'_>, f64)> {
        match self {
            ZSetValue::Packed(p) => zpairs(p).nth(rank).map(|(m, s)| (Elem::Slice(m), s)),
            ZSetValue::Big(z) => z.tree.select(rank).map(|(s, m)| (Elem::Shared(m), s)),
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
            ZSetValue::Big(z) => ZIter::Tree(z.tree.iter_from(rank, rev)),
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
            ZSetValue::Big(z) => (None, Some(z.dict.iter())),
        };
        packed
            .into_iter()
            .flatten()
            .map(|(m, s)| (Elem::Slice(m), s))
            .chain(
                dict.into_iter()
                    .flatten()
                    .map(|(m, s)| (Elem::Shared(m), *s)),
            )
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
            ZSetValue::Big(z) => {
                let removed = z.tree.remove_rank_range(start, end + 1 - start);
                for m in &removed {
                    z.dict.swap_remove(m);
                }
                removed.len()
            }
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
                let i = z.tree.count_prefix(|s, _| !r.gte_min(s));
                (i, z.tree.select(i)?.0)
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
            ZSetValue::Big(z) => z.tree.count_prefix(|s, _| r.lte_max(s)),
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
                let i = z.tree.count_prefix(|_, m| !r.gte_min(m));
                (i, z.tree.select(i)?.1.as_ref())
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
                let n = z.tree.count_prefix(|_, m| r.lte_max(m));
                let i = n.checked_sub(1)?;
                (i, z.tree.select(i)?.1.as_ref())
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
            ZSetValue::Big(z) => z.tree.count_prefix(|_, m| !r.gte_min(m)),
        }
    }

    /// The member at position `index` of the hash order (rank order while
    /// compact), with its score (for random picks).
    pub fn member_at(&self, index: usize) -> Option<(Elem<'_>, f64)> {
        match self {
            ZSetValue::Packed(_) => self.by_rank(index),
            ZSetValue::Big(z) => z.dict.get_index(index).map(|(m, s)| (Elem::Shared(m), *s)),
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
            ZSetValue::Big(z) => z.dict.keys().map(|m| m.len() + 64).sum(),
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
        Remove(i8, u8),
        RemoveRange(u8, u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<i8>(), any::<u8>()).prop_map(|(s, m)| Op::Insert(s % 8, m % 40)),
            2 => (any::<i8>(), any::<u8>()).prop_map(|(s, m)| Op::Remove(s % 8, m % 40)),
            1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::RemoveRange(a % 20, b % 6)),
        ]
    }

    fn check(tree: &ZTree, model: &[(f64, Vec<u8>)]) -> Result<(), TestCaseError> {
        let sorted = model_sorted(model);
        prop_assert_eq!(tree.len(), sorted.len());
        let got: Vec<(f64, Vec<u8>)> = tree.iter().map(|(s, m)| (s, m.to_vec())).collect();
        prop_assert_eq!(&got, &sorted);
        let back: Vec<(f64, Vec<u8>)> = if sorted.is_empty() {
            Vec::new()
        } else {
            tree.iter_from(sorted.len() - 1, true)
                .map(|(s, m)| (s, m.to_vec()))
                .collect()
        };
        let mut rev = sorted.clone();
        rev.reverse();
        prop_assert_eq!(&back, &rev);
        for (i, (s, m)) in sorted.iter().enumerate() {
            prop_assert_eq!(tree.rank(*s, m), Some(i));
            let sel = tree.select(i).map(|(s, m)| (s, m.to_vec()));
            prop_assert_eq!(sel, Some((*s, m.clone())));
            let fwd: Vec<Vec<u8>> = tree.iter_from(i, false).map(|(_, m)| m.to_vec()).collect();
            let want: Vec<Vec<u8>> = sorted[i..].iter().map(|(_, m)| m.clone()).collect();
            prop_assert_eq!(fwd, want);
            let bwd: Vec<Vec<u8>> = tree.iter_from(i, true).map(|(_, m)| m.to_vec()).collect();
            let want: Vec<Vec<u8>> = sorted[..=i].iter().rev().map(|(_, m)| m.clone()).collect();
            prop_assert_eq!(bwd, want);
        }
        prop_assert!(tree.select(sorted.len()).is_none());
        for bound in -9i32..9 {
            let b = f64::from(bound);
            let n = tree.count_prefix(|s, _| s < b);
            prop_assert_eq!(n, sorted.iter().filter(|(s, _)| *s < b).count());
        }
        Ok(())
    }

    proptest! {
        /// The tree agrees with a sorted Vec model on insert, remove,
        /// range removal, rank, select, iteration and prefix counts.
        #[test]
        fn tree_matches_sorted_vec_model(ops in proptest::collection::vec(op(), 0..200)) {
            let mut tree = ZTree::new();
            let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(s, m) => {
                        let member = vec![b'm', m];
                        if model.iter().all(|(_, x)| *x != member) {
                            tree.insert(f64::from(s), Bytes::from(member.clone()));
                            model.push((f64::from(s), member));
                        }
                    }
                    Op::Remove(s, m) => {
                        let member = vec![b'm', m];
                        let pos = model.iter().position(|(x, y)| *x == f64::from(s) && *y == member);
                        let removed = tree.remove(f64::from(s), &member);
                        prop_assert_eq!(removed, pos.is_some());
                        if let Some(p) = pos { model.remove(p); }
                    }
                    Op::RemoveRange(start, count) => {
                        let sorted = model_sorted(&model);
                        let start = usize::from(start).min(sorted.len());
                        let count = usize::from(count).min(sorted.len() - start);
                        let got = tree.remove_rank_range(start, count);
                        let want: Vec<Vec<u8>> = sorted[start..start + count].iter().map(|(_, m)| m.clone()).collect();
                        prop_assert_eq!(got.iter().map(|b| b.to_vec()).collect::<Vec<_>>(), want.clone());
                        model.retain(|(_, m)| !want.contains(m));
                    }
                }
                check(&tree, &model)?;
            }
        }
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
