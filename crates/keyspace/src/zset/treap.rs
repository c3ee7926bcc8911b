//! The general encoding of a big sorted set: a treap (a binary search tree
//! whose nodes also carry random priorities, kept in heap order) with
//! subtree sizes, stored densely in a vector of nodes addressed by
//! position, plus a member index of node positions.

use std::cmp::Ordering;
use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use super::cmp_entry;

pub(super) const NIL: u32 = u32::MAX;

/// One entry of the general encoding. Kept to 40 bytes (checked by a test):
/// the node is most of the per-member cost of a big sorted set.
#[derive(Debug, Clone)]
pub(super) struct Node {
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
pub(super) fn table_hash(h: u32) -> u64 {
    u64::from(h).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

pub(super) fn to_u32(v: usize) -> u32 {
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
