//! List values. Redis 7.0 reports every list as a `quicklist`, so the
//! representation here is invisible to clients: a list is kept packed in
//! one [`PackedBuf`] (no allocation at all for a few short elements) while
//! it has at most [`PACKED_MAX_ENTRIES`] elements in at most
//! [`PACKED_MAX_BYTES`] bytes of packed data, and as a [`QuickList`]
//! otherwise. A quicklist shrinking to a quarter of both limits is packed
//! again (the gap keeps a list at the boundary from flipping back and
//! forth).
//!
//! A [`QuickList`] is what Redis's quicklist is: a deque of packed nodes,
//! each a [`PackedBuf`] of at most [`NODE_MAX_BYTES`] bytes (Redis's default
//! `list-max-listpack-size -2`) plus its entry count. Elements are copied
//! into the nodes, so a stored list never pins the network buffers its
//! arguments arrived in, and a short element costs its length plus a
//! one-byte prefix instead of a 32-byte `Bytes` handle. An element too big
//! for a node lives alone in a node of its own. Pushes and pops rewrite
//! only the end node (at most [`NODE_MAX_BYTES`] bytes), and positions are
//! found by walking node counts, from whichever end is nearer.

use std::collections::{vec_deque, VecDeque};

use bytes::Bytes;

use crate::packed::{encoded_len, Elem, Entries, PackedBuf};

/// Most elements a packed list holds.
pub const PACKED_MAX_ENTRIES: usize = 128;

/// Most bytes (length prefixes included) a packed list holds.
pub const PACKED_MAX_BYTES: usize = 4096;

/// Most bytes (length prefixes included) a quicklist node holds, unless it
/// holds a single element that is bigger on its own. 8 KiB, as Redis's
/// default `list-max-listpack-size -2`; there is no entry-count limit
/// (Redis has none for negative sizes either), since a walk within a node
/// is bounded by its bytes.
pub const NODE_MAX_BYTES: usize = 8192;

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The head (`LEFT`).
    Left,
    /// The tail (`RIGHT`).
    Right,
}

/// A list value.
#[derive(Debug, Clone)]
pub enum ListValue {
    /// A small list: its elements as packed entries, head first.
    Packed(PackedBuf),
    /// A general list. Boxed so a list takes 24 bytes like the other
    /// collections.
    Big(Box<QuickList>),
}

/// A general list: packed nodes, head first (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct QuickList {
    /// The nodes, none empty, each within [`NODE_MAX_BYTES`] unless it
    /// holds a single entry.
    nodes: VecDeque<Node>,
    /// Total entries over all nodes (so `LLEN` does not walk).
    len: usize,
}

/// One quicklist node.
#[derive(Debug, Clone)]
struct Node {
    /// The entries, packed.
    buf: PackedBuf,
    /// How many entries `buf` holds (counting them means walking it).
    count: usize,
}

impl Node {
    /// A node of `entries`, in order.
    fn from_entries<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Node {
        let mut raw = Vec::new();
        let mut count = 0;
        for e in entries {
            PackedBuf::encode_into(&mut raw, e);
            count += 1;
        }
        Node {
            buf: PackedBuf::from_vec(raw),
            count,
        }
    }

    /// Bytes of packed data.
    fn bytes(&self) -> usize {
        self.buf.byte_len()
    }
}

/// Splits `items` into runs that each fit a node (an item too big for a
/// node gets a run of its own). A run is closed once it reaches `target`
/// bytes, so a target below [`NODE_MAX_BYTES`] spreads items over nodes
/// evenly instead of filling each.
fn runs<'a>(items: impl IntoIterator<Item = &'a [u8]>, target: usize) -> Vec<Vec<&'a [u8]>> {
    let mut out = Vec::new();
    let mut cur: Vec<&[u8]> = Vec::new();
    let mut bytes = 0;
    for e in items {
        let n = encoded_len(e.len());
        if !cur.is_empty() && (bytes + n > NODE_MAX_BYTES || bytes >= target) {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        cur.push(e);
        bytes += n;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The run target spreading `total` bytes evenly over as few nodes as
/// hold them (a node split in two halves rather than into a full node and
/// a nearly empty one, so the next insert there does not split again).
fn even_target(total: usize) -> usize {
    let nodes = total.div_ceil(NODE_MAX_BYTES).max(1);
    total.div_ceil(nodes)
}

impl QuickList {
    /// Number of elements.
    fn len(&self) -> usize {
        self.len
    }

    /// Bytes of packed data over all nodes.
    fn bytes(&self) -> usize {
        self.nodes.iter().map(Node::bytes).sum()
    }

    /// The node holding position `i` and `i`'s offset in it, walking node
    /// counts from the nearer end.
    fn locate(&self, i: usize) -> Option<(usize, usize)> {
        if i >= self.len {
            return None;
        }
        if i < self.len / 2 {
            let mut i = i;
            for (k, n) in self.nodes.iter().enumerate() {
                if i < n.count {
                    return Some((k, i));
                }
                i -= n.count;
            }
        } else {
            // Position counted from the tail.
            let mut back = self.len - 1 - i;
            for (k, n) in self.nodes.iter().enumerate().rev() {
                if back < n.count {
                    return Some((k, n.count - 1 - back));
                }
                back -= n.count;
            }
        }
        None
    }

    /// Pushes `values` one by one at `end`: as many as fit go into the end
    /// node (one rewrite), the rest into new full nodes.
    fn push(&mut self, end: End, values: &[Bytes]) {
        let node = match end {
            End::Left => self.nodes.front_mut(),
            End::Right => self.nodes.back_mut(),
        };
        let mut k = 0;
        if let Some(node) = node {
            let mut bytes = node.bytes();
            while let Some(v) = values.get(k) {
                let n = encoded_len(v.len());
                if bytes + n > NODE_MAX_BYTES {
                    break;
                }
                bytes += n;
                k += 1;
            }
            let fill = values.get(..k).unwrap_or_default();
            if !fill.is_empty() {
                match end {
                    End::Left => {
                        let refs: Vec<&[u8]> = fill.iter().rev().map(|v| v.as_ref()).collect();
                        node.buf.insert(0, &refs);
                    }
                    End::Right => {
                        let refs: Vec<&[u8]> = fill.iter().map(|v| v.as_ref()).collect();
                        node.buf.push(&refs);
                    }
                }
                node.count += fill.len();
            }
        }
        let rest = values.get(k..).unwrap_or_default();
        for run in runs(rest.iter().map(|v| v.as_ref()), NODE_MAX_BYTES) {
            match end {
                End::Left => self
                    .nodes
                    .push_front(Node::from_entries(run.into_iter().rev())),
                End::Right => self.nodes.push_back(Node::from_entries(run)),
            }
        }
        self.len += values.len();
    }

    /// Removes up to `n` elements from `end`, handing them (in pop order)
    /// to `out` when given. Whole nodes are dropped; only a partly popped
    /// end node is rewritten.
    fn take(&mut self, end: End, n: usize, mut out: Option<&mut Vec<Bytes>>) {
        let mut left = n.min(self.len);
        while left > 0 {
            let node = match end {
                End::Left => self.nodes.front_mut(),
                End::Right => self.nodes.back_mut(),
            };
            let Some(node) = node else { break };
            let k = left.min(node.count);
            if let Some(out) = out.as_deref_mut() {
                match end {
                    End::Left => out.extend(node.buf.iter().take(k).map(Bytes::copy_from_slice)),
                    End::Right => {
                        let tail: Vec<&[u8]> = node.buf.iter().skip(node.count - k).collect();
                        out.extend(tail.into_iter().rev().map(Bytes::copy_from_slice));
                    }
                }
            }
            let whole = k == node.count;
            if !whole {
                match end {
                    End::Left => node.buf.remove(0, k),
                    End::Right => node.buf.remove(node.count - k, k),
                };
                node.count -= k;
            }
            if whole {
                match end {
                    End::Left => self.nodes.pop_front(),
                    End::Right => self.nodes.pop_back(),
                };
            }
            left -= k;
            self.len -= k;
        }
    }

    /// Merges node `k + 1` into node `k` when together they fit a node.
    fn try_merge(&mut self, k: usize) -> bool {
        let (Some(a), Some(b)) = (self.nodes.get(k), self.nodes.get(k + 1)) else {
            return false;
        };
        if a.bytes() + b.bytes() > NODE_MAX_BYTES {
            return false;
        }
        // Packed entries are self-delimiting, so two nodes' bytes
        // concatenated are the merged node.
        let mut raw = Vec::with_capacity(a.bytes() + b.bytes());
        raw.extend_from_slice(a.buf.as_bytes());
        raw.extend_from_slice(b.buf.as_bytes());
        let merged = Node {
            buf: PackedBuf::from_vec(raw),
            count: a.count + b.count,
        };
        self.nodes.remove(k + 1);
        if let Some(a) = self.nodes.get_mut(k) {
            *a = merged;
        }
        true
    }

    /// Restores the node limits around node `k` after an edit in the
    /// middle: an oversized node of several entries is split evenly, a
    /// node that now fits together with a neighbour is merged into it.
    fn rebalance(&mut self, k: usize) {
        let Some(node) = self.nodes.get(k) else {
            return;
        };
        if node.count == 0 {
            self.nodes.remove(k);
            return;
        }
        if node.bytes() > NODE_MAX_BYTES && node.count > 1 {
            let parts: Vec<Node> = runs(node.buf.iter(), even_target(node.bytes()))
                .into_iter()
                .map(Node::from_entries)
                .collect();
            self.nodes.remove(k);
            for (j, part) in parts.into_iter().enumerate() {
                self.nodes.insert(k + j, part);
            }
            return;
        }
        self.try_merge(k);
        if k > 0 {
            self.try_merge(k - 1);
        }
    }

    /// Replaces the element at position `i`; returns whether it existed.
    fn set(&mut self, i: usize, v: &[u8]) -> bool {
        let Some((k, off)) = self.locate(i) else {
            return false;
        };
        let Some(node) = self.nodes.get_mut(k) else {
            return false;
        };
        node.buf.splice(off, 1, &[v]);
        self.rebalance(k);
        true
    }

    /// Inserts `v` before position `i` (`i == len` appends).
    fn insert(&mut self, i: usize, v: &[u8]) {
        if i >= self.len {
            if i == self.len {
                self.push(End::Right, &[Bytes::copy_from_slice(v)]);
            }
            return;
        }
        let Some((k, off)) = self.locate(i) else {
            return;
        };
        let n = encoded_len(v.len());
        // At a node's head with no room there, the previous node's tail is
        // the same position; using it saves a split.
        if off == 0 && k > 0 {
            let fits = |node: &Node| node.bytes() + n <= NODE_MAX_BYTES;
            let here = self.nodes.get(k).is_some_and(fits);
            if let Some(prev) = self.nodes.get_mut(k - 1).filter(|p| !here && fits(p)) {
                prev.buf.push(&[v]);
                prev.count += 1;
                self.len += 1;
                return;
            }
        }
        if let Some(node) = self.nodes.get_mut(k) {
            node.buf.insert(off, &[v]);
            node.count += 1;
            self.len += 1;
        }
        self.rebalance(k);
    }

    /// Removes up to `limit` elements equal to `target`, scanning from the
    /// head (or from the tail when `from_tail`); returns how many.
    fn remove_matching(&mut self, target: &[u8], limit: usize, from_tail: bool) -> usize {
        let mut removed = 0;
        let total = self.nodes.len();
        for step in 0..total {
            if removed >= limit {
                break;
            }
            let k = if from_tail { total - 1 - step } else { step };
            let Some(node) = self.nodes.get_mut(k) else {
                continue;
            };
            if !node.buf.iter().any(|e| e == target) {
                continue;
            }
            let mut hits: Vec<usize> = Vec::new();
            if from_tail {
                let entries: Vec<&[u8]> = node.buf.iter().collect();
                for (j, e) in entries.iter().enumerate().rev() {
                    if removed + hits.len() >= limit {
                        break;
                    }
                    if *e == target {
                        hits.push(j);
                    }
                }
                hits.reverse();
            } else {
                for (j, e) in node.buf.iter().enumerate() {
                    if removed + hits.len() >= limit {
                        break;
                    }
                    if e == target {
                        hits.push(j);
                    }
                }
            }
            let mut next = hits.iter().peekable();
            let kept = Node::from_entries(node.buf.iter().enumerate().filter_map(|(j, e)| {
                if next.peek() == Some(&&j) {
                    next.next();
                    None
                } else {
                    Some(e)
                }
            }));
            *node = kept;
            removed += hits.len();
        }
        if removed > 0 {
            self.len -= removed;
            self.compact();
        }
        removed
    }

    /// Drops empty nodes and merges runs of neighbours that fit in one
    /// node (each node's bytes are copied at most once).
    fn compact(&mut self) {
        let old = std::mem::take(&mut self.nodes);
        let mut group: Vec<Node> = Vec::new();
        let mut group_bytes = 0;
        for node in old {
            if node.count == 0 {
                continue;
            }
            if !group.is_empty() && group_bytes + node.bytes() > NODE_MAX_BYTES {
                self.flush_group(&mut group);
                group_bytes = 0;
            }
            group_bytes += node.bytes();
            group.push(node);
        }
        self.flush_group(&mut group);
    }

    /// Appends `group` (neighbouring nodes that fit together) as one node.
    fn flush_group(&mut self, group: &mut Vec<Node>) {
        if group.len() <= 1 {
            self.nodes.extend(group.drain(..));
            return;
        }
        let mut raw = Vec::with_capacity(group.iter().map(Node::bytes).sum());
        let mut count = 0;
        for n in group.drain(..) {
            raw.extend_from_slice(n.buf.as_bytes());
            count += n.count;
        }
        self.nodes.push_back(Node {
            buf: PackedBuf::from_vec(raw),
            count,
        });
    }

    /// Approximate heap bytes: the nodes' blocks, the deque and the box.
    fn heap_size(&self) -> usize {
        std::mem::size_of::<QuickList>()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.nodes.iter().map(|n| n.buf.heap_size()).sum::<usize>()
    }
}

impl Default for ListValue {
    fn default() -> Self {
        ListValue::Packed(PackedBuf::new())
    }
}

impl PartialEq for ListValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl ListValue {
    /// Allocations freeing the list returns: one per quicklist node.
    pub fn free_effort(&self) -> usize {
        match self {
            ListValue::Packed(_) => 1,
            ListValue::Big(q) => q.nodes.len() + 1,
        }
    }

    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// A list of `items`, head first.
    pub fn from_items(items: impl IntoIterator<Item = Bytes>) -> Self {
        let mut l = ListValue::new();
        let items: Vec<Bytes> = items.into_iter().collect();
        l.push(End::Right, &items);
        l
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            ListValue::Packed(p) => p.count(),
            ListValue::Big(q) => q.len(),
        }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        match self {
            ListValue::Packed(p) => p.is_empty(),
            ListValue::Big(q) => q.len() == 0,
        }
    }

    /// Turns a packed list into a quicklist of one node (the packed bytes
    /// are already a valid node: no copy).
    fn unpack(&mut self) {
        if let ListValue::Packed(p) = self {
            let buf = std::mem::take(p);
            let count = buf.count();
            let mut q = QuickList::default();
            if count > 0 {
                q.nodes.push_back(Node { buf, count });
                q.len = count;
            }
            *self = ListValue::Big(Box::new(q));
        }
    }

    /// Packs a general list again once it is small enough.
    fn maybe_pack(&mut self) {
        if let ListValue::Big(q) = self {
            if q.len() <= PACKED_MAX_ENTRIES / 4 && q.bytes() <= PACKED_MAX_BYTES / 4 {
                let mut raw = Vec::with_capacity(q.bytes());
                for n in &q.nodes {
                    raw.extend_from_slice(n.buf.as_bytes());
                }
                *self = ListValue::Packed(PackedBuf::from_vec(raw));
            }
        }
    }

    /// Whether a packed list of `count` entries in `bytes` bytes may grow
    /// by `values`.
    fn fits(count: usize, bytes: usize, values: &[Bytes]) -> bool {
        count + values.len() <= PACKED_MAX_ENTRIES
            && bytes + values.iter().map(|v| encoded_len(v.len())).sum::<usize>()
                <= PACKED_MAX_BYTES
    }

    /// Pushes `values` one by one at `end` (so `LPUSH l a b` leaves `b`
    /// first). The bytes are copied: the list keeps no reference to them.
    pub fn push(&mut self, end: End, values: &[Bytes]) {
        if let ListValue::Packed(p) = self {
            if !Self::fits(p.count(), p.byte_len(), values) {
                self.unpack();
            }
        }
        match self {
            ListValue::Packed(p) => match end {
                End::Left => {
                    let refs: Vec<&[u8]> = values.iter().rev().map(|v| v.as_ref()).collect();
                    p.insert(0, &refs);
                }
                End::Right => {
                    let refs: Vec<&[u8]> = values.iter().map(|v| v.as_ref()).collect();
                    p.push(&refs);
                }
            },
            ListValue::Big(q) => q.push(end, values),
        }
    }

    /// Pops up to `n` elements from `end`, in pop order.
    pub fn pop(&mut self, end: End, n: usize) -> Vec<Bytes> {
        let len = self.len();
        let n = n.min(len);
        let out = match self {
            ListValue::Packed(p) => {
                let from = match end {
                    End::Left => 0,
                    End::Right => len - n,
                };
                let mut out: Vec<Bytes> = p
                    .iter()
                    .skip(from)
                    .take(n)
                    .map(Bytes::copy_from_slice)
                    .collect();
                if end == End::Right {
                    out.reverse();
                }
                p.remove(from, n);
                out
            }
            ListValue::Big(q) => {
                let mut out = Vec::with_capacity(n);
                q.take(end, n, Some(&mut out));
                out
            }
        };
        self.maybe_pack();
        out
    }

    /// Pops one element from `end`.
    pub fn pop_one(&mut self, end: End) -> Option<Bytes> {
        self.pop(end, 1).into_iter().next()
    }

    /// The element at position `i`.
    pub fn get(&self, i: usize) -> Option<Elem<'_>> {
        match self {
            ListValue::Packed(p) => p.get(i).map(Elem),
            ListValue::Big(q) => {
                let (k, off) = q.locate(i)?;
                q.nodes.get(k)?.buf.get(off).map(Elem)
            }
        }
    }

    /// Replaces the element at position `i`; returns whether it existed.
    pub fn set(&mut self, i: usize, v: Bytes) -> bool {
        if let ListValue::Packed(p) = self {
            let old = p.get(i).map_or(0, |e| encoded_len(e.len()));
            let grow = encoded_len(v.len()).saturating_sub(old);
            if i < p.count() && p.byte_len() + grow > PACKED_MAX_BYTES {
                self.unpack();
            }
        }
        match self {
            ListValue::Packed(p) => p.splice(i, 1, &[&v]),
            ListValue::Big(q) => q.set(i, &v),
        }
    }

    /// Inserts `v` before position `i` (`i == len` appends).
    pub fn insert(&mut self, i: usize, v: Bytes) {
        if let ListValue::Packed(p) = self {
            if !Self::fits(p.count(), p.byte_len(), std::slice::from_ref(&v)) {
                self.unpack();
            }
        }
        match self {
            ListValue::Packed(p) => {
                p.insert(i, &[&v]);
            }
            ListValue::Big(q) => q.insert(i, &v),
        }
    }

    /// The position of the first element equal to `target`.
    pub fn position(&self, target: &[u8]) -> Option<usize> {
        self.iter().position(|e| *e == *target)
    }

    /// Removes up to `limit` elements equal to `target`, scanning from the
    /// head (or from the tail when `from_tail`); returns how many.
    pub fn remove_matching(&mut self, target: &[u8], limit: usize, from_tail: bool) -> usize {
        let removed = match self {
            ListValue::Packed(p) => {
                let mut hits: Vec<usize> = Vec::new();
                if from_tail {
                    let entries: Vec<&[u8]> = p.iter().collect();
                    for (i, e) in entries.iter().enumerate().rev() {
                        if hits.len() >= limit {
                            break;
                        }
                        if *e == target {
                            hits.push(i);
                        }
                    }
                    hits.reverse();
                } else {
                    for (i, e) in p.iter().enumerate() {
                        if hits.len() >= limit {
                            break;
                        }
                        if e == target {
                            hits.push(i);
                        }
                    }
                }
                if !hits.is_empty() {
                    let mut next = hits.iter().peekable();
                    let kept =
                        PackedBuf::from_entries(p.iter().enumerate().filter_map(|(i, e)| {
                            if next.peek() == Some(&&i) {
                                next.next();
                                None
                            } else {
                                Some(e)
                            }
                        }));
                    *p = kept;
                }
                hits.len()
            }
            ListValue::Big(q) => q.remove_matching(target, limit, from_tail),
        };
        if removed > 0 {
            self.maybe_pack();
        }
        removed
    }

    /// Removes `head` elements from the head and `tail` from the tail.
    pub fn trim(&mut self, head: usize, tail: usize) {
        let len = self.len();
        let head = head.min(len);
        let tail = tail.min(len - head);
        match self {
            ListValue::Packed(p) => {
                p.remove(len - tail, tail);
                p.remove(0, head);
            }
            ListValue::Big(q) => {
                q.take(End::Right, tail, None);
                q.take(End::Left, head, None);
            }
        }
        self.maybe_pack();
    }

    /// Iterates from the head.
    pub fn iter(&self) -> ListIter<'_> {
        match self {
            ListValue::Packed(p) => ListIter::over(p.iter(), None, p.count()),
            ListValue::Big(q) => ListIter::over(EMPTY.iter(), Some(q.nodes.iter()), q.len()),
        }
    }

    /// Iterates from the tail.
    pub fn iter_rev(&self) -> ListIter<'_> {
        let (back, nodes, left) = match self {
            ListValue::Packed(p) => (p.iter().collect(), None, p.count()),
            ListValue::Big(q) => (Vec::new(), Some(q.nodes.iter()), q.len()),
        };
        ListIter {
            fwd: EMPTY.iter(),
            back,
            nodes,
            reverse: true,
            left,
        }
    }

    /// Iterates over positions `start..=end` (valid, inclusive).
    pub fn range(&self, start: usize, end: usize) -> ListIter<'_> {
        let n = (end + 1).saturating_sub(start);
        match self {
            ListValue::Packed(p) => {
                let mut it = p.iter();
                if start > 0 {
                    it.nth(start - 1);
                }
                ListIter::over(it, None, n)
            }
            ListValue::Big(q) => {
                let Some((k, off)) = q.locate(start) else {
                    return ListIter::over(EMPTY.iter(), None, 0);
                };
                // Skipping to node `k` leaves `rest` at the nodes after it.
                let mut rest = q.nodes.iter();
                let mut it = rest.nth(k).map_or(EMPTY.iter(), |node| node.buf.iter());
                if off > 0 {
                    it.nth(off - 1);
                }
                ListIter::over(it, Some(rest), n)
            }
        }
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        match self {
            ListValue::Packed(p) => p.heap_size(),
            ListValue::Big(q) => q.heap_size(),
        }
    }
}

/// An empty buffer, for iterators that start between nodes.
static EMPTY: PackedBuf = PackedBuf::new();

/// Iterator over a list's elements (forwards or backwards), borrowing
/// them from the list's packed buffers.
#[derive(Debug)]
pub struct ListIter<'a> {
    /// Forwards: the current node's entries still to yield.
    fwd: Entries<'a>,
    /// Backwards: the current node's entries still to yield, last on top.
    back: Vec<&'a [u8]>,
    /// Nodes not started yet (`None` for a packed list).
    nodes: Option<vec_deque::Iter<'a, Node>>,
    /// Whether iterating from the tail.
    reverse: bool,
    /// Elements still to yield.
    left: usize,
}

impl<'a> ListIter<'a> {
    /// A forward iterator yielding `left` elements from `fwd`, then from
    /// `nodes`.
    fn over(fwd: Entries<'a>, nodes: Option<vec_deque::Iter<'a, Node>>, left: usize) -> Self {
        ListIter {
            fwd,
            back: Vec::new(),
            nodes,
            reverse: false,
            left,
        }
    }
}

impl<'a> Iterator for ListIter<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        if self.left == 0 {
            return None;
        }
        loop {
            let e = if self.reverse {
                self.back.pop()
            } else {
                self.fwd.next()
            };
            if let Some(e) = e {
                self.left -= 1;
                return Some(Elem(e));
            }
            let nodes = self.nodes.as_mut()?;
            if self.reverse {
                // Entries are only readable forwards: a node's are
                // collected (at most a node's worth) and handed out last
                // first.
                self.back.extend(nodes.next_back()?.buf.iter());
            } else {
                self.fwd = nodes.next()?.buf.iter();
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Push(bool, Vec<Vec<u8>>),
        /// Pushes `n` copies of a short element (to build multi-node lists
        /// quickly).
        PushMany(bool, u16, Vec<u8>),
        Pop(bool, u16),
        Get(u16),
        Set(u16, Vec<u8>),
        Insert(u16, Vec<u8>),
        Rem(Vec<u8>, u8, bool),
        Trim(u16, u16),
        Range(u16, u16),
        Position(Vec<u8>),
    }

    fn elem() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            16 => proptest::collection::vec(b'a'..b'd', 0..3),
            3 => proptest::collection::vec(b'a'..b'd', 100..400),
            1 => proptest::collection::vec(b'a'..b'b', 2000..3000),
            1 => proptest::collection::vec(b'a'..b'b', NODE_MAX_BYTES - 4..NODE_MAX_BYTES + 300),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<bool>(), proptest::collection::vec(elem(), 1..40))
                .prop_map(|(l, v)| Op::Push(l, v)),
            2 => (any::<bool>(), 0..6000u16, proptest::collection::vec(b'a'..b'd', 0..4))
                .prop_map(|(l, n, e)| Op::PushMany(l, n, e)),
            3 => (any::<bool>(), prop_oneof![0..5u16, 0..3000u16]).prop_map(|(l, n)| Op::Pop(l, n)),
            1 => any::<u16>().prop_map(Op::Get),
            2 => (any::<u16>(), elem()).prop_map(|(i, e)| Op::Set(i, e)),
            2 => (any::<u16>(), elem()).prop_map(|(i, e)| Op::Insert(i, e)),
            1 => (elem(), any::<u8>(), any::<bool>()).prop_map(|(e, n, t)| Op::Rem(e, n % 4, t)),
            1 => (any::<u16>(), any::<u16>()).prop_map(|(h, t)| Op::Trim(h % 3000, t % 3000)),
            1 => (any::<u16>(), any::<u16>()).prop_map(|(s, e)| Op::Range(s, e)),
            1 => elem().prop_map(Op::Position),
        ]
    }

    fn end(left: bool) -> End {
        if left {
            End::Left
        } else {
            End::Right
        }
    }

    /// Checks the representation's invariants: packed within its limits,
    /// every node non-empty, counted right and within the byte limit
    /// unless it holds a single element.
    fn check_shape(l: &ListValue) -> Result<(), TestCaseError> {
        match l {
            ListValue::Packed(p) => {
                prop_assert!(p.count() <= PACKED_MAX_ENTRIES);
                prop_assert!(p.byte_len() <= PACKED_MAX_BYTES);
            }
            ListValue::Big(q) => {
                let mut total = 0;
                for n in &q.nodes {
                    prop_assert!(n.count > 0, "empty node");
                    prop_assert_eq!(n.count, n.buf.count());
                    prop_assert!(
                        n.bytes() <= NODE_MAX_BYTES || n.count == 1,
                        "node of {} entries in {} bytes",
                        n.count,
                        n.bytes()
                    );
                    total += n.count;
                }
                prop_assert_eq!(total, q.len);
            }
        }
        Ok(())
    }

    /// The model's positions as a Redis-style index pair, positive or
    /// negative (callers resolve negatives before reaching the list).
    fn resolve(i: u16, len: usize) -> usize {
        // The low bit picks counting from the tail, as a negative index
        // would; from the head, positions up to len + 1 test the bounds.
        let from_tail = i & 1 == 1;
        let i = usize::from(i >> 1);
        if from_tail {
            len.saturating_sub(1 + i % len.max(1))
        } else {
            i % (len + 2)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Every operation agrees with a VecDeque model, across the
        /// packed/general boundary in both directions and across node
        /// limits.
        #[test]
        fn matches_vecdeque_model(ops in proptest::collection::vec(op(), 0..50)) {
            let mut l = ListValue::new();
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for op in ops {
                match op {
                    Op::Push(left, vs) => {
                        let bs: Vec<Bytes> = vs.iter().map(|v| Bytes::from(v.clone())).collect();
                        l.push(end(left), &bs);
                        for v in vs {
                            if left { m.push_front(v) } else { m.push_back(v) }
                        }
                    }
                    Op::PushMany(left, n, v) => {
                        let bs = vec![Bytes::from(v.clone()); usize::from(n)];
                        // Half the time one element per call, as LPUSH
                        // benchmarks do.
                        if n % 2 == 0 {
                            l.push(end(left), &bs);
                        } else {
                            for b in &bs {
                                l.push(end(left), std::slice::from_ref(b));
                            }
                        }
                        for _ in 0..n {
                            if left { m.push_front(v.clone()) } else { m.push_back(v.clone()) }
                        }
                    }
                    Op::Pop(left, n) => {
                        let n = usize::from(n);
                        let got: Vec<Vec<u8>> = if n == 1 {
                            l.pop_one(end(left)).iter().map(|b| b.to_vec()).collect()
                        } else {
                            l.pop(end(left), n).iter().map(|b| b.to_vec()).collect()
                        };
                        let mut want = Vec::new();
                        for _ in 0..n {
                            want.extend(if left { m.pop_front() } else { m.pop_back() });
                        }
                        prop_assert_eq!(got, want);
                    }
                    Op::Get(i) => {
                        let i = resolve(i, m.len());
                        prop_assert_eq!(l.get(i).map(|e| e.to_vec()), m.get(i).cloned());
                    }
                    Op::Set(i, v) => {
                        let i = resolve(i, m.len());
                        prop_assert_eq!(l.set(i, Bytes::from(v.clone())), i < m.len());
                        if let Some(slot) = m.get_mut(i) { *slot = v; }
                    }
                    Op::Insert(i, v) => {
                        let i = resolve(i, m.len());
                        if i <= m.len() {
                            l.insert(i, Bytes::from(v.clone()));
                            m.insert(i, v);
                        }
                    }
                    Op::Rem(v, n, tail) => {
                        let limit = if n == 0 { usize::MAX } else { usize::from(n) };
                        let got = l.remove_matching(&v, limit, tail);
                        let mut removed = 0;
                        let mut kept = VecDeque::new();
                        if tail {
                            for e in m.drain(..).rev() {
                                if removed < limit && e == v { removed += 1 } else { kept.push_front(e) }
                            }
                        } else {
                            for e in m.drain(..) {
                                if removed < limit && e == v { removed += 1 } else { kept.push_back(e) }
                            }
                        }
                        m = kept;
                        prop_assert_eq!(got, removed);
                    }
                    Op::Trim(h, t) => {
                        let (h, t) = (usize::from(h), usize::from(t));
                        l.trim(h, t);
                        let h = h.min(m.len());
                        m.drain(..h);
                        let t = t.min(m.len());
                        m.truncate(m.len() - t);
                    }
                    Op::Range(s, e) => {
                        if !m.is_empty() {
                            let s = resolve(s, m.len()).min(m.len() - 1);
                            let e = resolve(e, m.len()).min(m.len() - 1).max(s);
                            let got: Vec<Vec<u8>> = l.range(s, e).map(|e| e.to_vec()).collect();
                            let want: Vec<Vec<u8>> = m.range(s..=e).cloned().collect();
                            prop_assert_eq!(got, want);
                        }
                    }
                    Op::Position(v) => {
                        prop_assert_eq!(l.position(&v), m.iter().position(|e| *e == v));
                    }
                }
                prop_assert_eq!(l.len(), m.len());
                prop_assert_eq!(l.is_empty(), m.is_empty());
                check_shape(&l)?;
                let got: Vec<Vec<u8>> = l.iter().map(|e| e.to_vec()).collect();
                let want: Vec<Vec<u8>> = m.iter().cloned().collect();
                prop_assert_eq!(&got, &want);
                let rev: Vec<Vec<u8>> = l.iter_rev().map(|e| e.to_vec()).collect();
                let want_rev: Vec<Vec<u8>> = m.iter().rev().cloned().collect();
                prop_assert_eq!(rev, want_rev);
                if !m.is_empty() {
                    let s = m.len() / 3;
                    let e = m.len() - 1 - m.len() / 4;
                    let got: Vec<Vec<u8>> = l.range(s, e).map(|e| e.to_vec()).collect();
                    let want: Vec<Vec<u8>> = m.range(s..=e).cloned().collect();
                    prop_assert_eq!(got, want);
                    prop_assert_eq!(l.get(s).map(|e| e.to_vec()), m.get(s).cloned());
                    prop_assert_eq!(l.get(m.len() - 1).map(|e| e.to_vec()), m.back().cloned());
                }
                prop_assert!(l.get(m.len()).is_none());
            }
        }
    }

    #[test]
    fn small_lists_do_not_allocate() {
        let mut l = ListValue::new();
        l.push(
            End::Right,
            &[Bytes::from("a"), Bytes::from("b"), Bytes::from("c")],
        );
        assert_eq!(l.heap_size(), 0);
        assert!(matches!(l, ListValue::Packed(_)));
    }

    #[test]
    fn big_lists_pack_short_elements_into_full_nodes() -> Result<(), String> {
        let mut l = ListValue::new();
        for i in 0..100_000u32 {
            l.push(End::Left, &[Bytes::from(format!("{:03}", i % 1000))]);
        }
        let ListValue::Big(q) = &l else {
            return Err("a list of 100000 elements stayed packed".into());
        };
        // 4 bytes an element: 2048 to a node, so 49 nodes.
        assert_eq!(q.nodes.len(), 100_000usize.div_ceil(NODE_MAX_BYTES / 4));
        assert!(l.heap_size() < 100_000 * 4 + 8 * 1024);
        assert_eq!(l.get(0).map(|e| e.to_vec()), Some(b"999".to_vec()));
        assert_eq!(l.get(99_999).map(|e| e.to_vec()), Some(b"000".to_vec()));
        Ok(())
    }

    #[test]
    fn oversized_elements_live_alone() -> Result<(), String> {
        let big = Bytes::from(vec![b'x'; NODE_MAX_BYTES * 2]);
        let mut l = ListValue::from_items((0..200).map(|i| Bytes::from(i.to_string())));
        l.insert(100, big.clone());
        l.push(End::Right, &[big.clone(), Bytes::from("tail")]);
        let ListValue::Big(q) = &l else {
            return Err("a list of 200 elements stayed packed".into());
        };
        let alone = q
            .nodes
            .iter()
            .filter(|n| n.bytes() > NODE_MAX_BYTES)
            .count();
        assert_eq!(alone, 2);
        assert!(q
            .nodes
            .iter()
            .all(|n| n.bytes() <= NODE_MAX_BYTES || n.count == 1));
        assert_eq!(l.get(100).map(|e| e.len()), Some(NODE_MAX_BYTES * 2));
        assert_eq!(l.get(202).map(|e| e.to_vec()), Some(b"tail".to_vec()));
        Ok(())
    }
}
