//! List values. Redis 7.0 reports every list as a `quicklist`, so the
//! representation here is invisible to clients: a list is kept packed in
//! one [`PackedBuf`] (no allocation at all for a few short elements) while
//! it has at most [`PACKED_MAX_ENTRIES`] elements in at most
//! [`PACKED_MAX_BYTES`] bytes of packed data, and in a boxed `VecDeque`
//! otherwise. A general list shrinking to a quarter of both limits is
//! packed again (the gap keeps a list at the boundary from flipping back
//! and forth).

use std::collections::VecDeque;

use bytes::Bytes;

use crate::packed::{encoded_len, Elem, Entries, PackedBuf};

/// Most elements a packed list holds.
pub const PACKED_MAX_ENTRIES: usize = 128;

/// Most bytes (length prefixes included) a packed list holds.
pub const PACKED_MAX_BYTES: usize = 4096;

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
    Big(Box<VecDeque<Bytes>>),
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
            ListValue::Big(d) => d.len(),
        }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        match self {
            ListValue::Packed(p) => p.is_empty(),
            ListValue::Big(d) => d.is_empty(),
        }
    }

    fn unpack(&mut self) {
        if let ListValue::Packed(p) = self {
            let d: VecDeque<Bytes> = p.iter().map(Bytes::copy_from_slice).collect();
            *self = ListValue::Big(Box::new(d));
        }
    }

    /// Packs a general list again once it is small enough.
    fn maybe_pack(&mut self) {
        if let ListValue::Big(d) = self {
            if d.len() <= PACKED_MAX_ENTRIES / 4
                && d.iter().map(|e| encoded_len(e.len())).sum::<usize>() <= PACKED_MAX_BYTES / 4
            {
                *self = ListValue::Packed(PackedBuf::from_entries(d.iter().map(|e| e.as_ref())));
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
    /// first).
    pub fn push(&mut self, end: End, values: &[Bytes]) {
        if let ListValue::Packed(p) = self {
            if !Self::fits(p.count(), p.byte_len(), values) {
                self.unpack();
            }
        }
        match self {
            ListValue::Packed(p) => {
                let refs: Vec<&[u8]> = match end {
                    End::Left => values.iter().rev().map(|v| v.as_ref()).collect(),
                    End::Right => values.iter().map(|v| v.as_ref()).collect(),
                };
                match end {
                    End::Left => {
                        p.insert(0, &refs);
                    }
                    End::Right => p.push(&refs),
                }
            }
            ListValue::Big(d) => {
                for v in values {
                    match end {
                        End::Left => d.push_front(v.clone()),
                        End::Right => d.push_back(v.clone()),
                    }
                }
            }
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
            ListValue::Big(d) => {
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    let v = match end {
                        End::Left => d.pop_front(),
                        End::Right => d.pop_back(),
                    };
                    out.extend(v);
                }
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
            ListValue::Packed(p) => p.get(i).map(Elem::Slice),
            ListValue::Big(d) => d.get(i).map(Elem::Shared),
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
            ListValue::Big(d) => match d.get_mut(i) {
                Some(slot) => {
                    *slot = v;
                    true
                }
                None => false,
            },
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
            ListValue::Big(d) => {
                if i <= d.len() {
                    d.insert(i, v);
                }
            }
        }
    }

    /// The position of the first element equal to `target`.
    pub fn position(&self, target: &[u8]) -> Option<usize> {
        self.iter().position(|e| *e == *target)
    }

    /// Removes up to `limit` elements equal to `target`, scanning from the
    /// head (or from the tail when `from_tail`); returns how many.
    pub fn remove_matching(&mut self, target: &[u8], limit: usize, from_tail: bool) -> usize {
        let len = self.len();
        let mut hits: Vec<usize> = Vec::new();
        if from_tail {
            for (k, e) in self.iter_rev().enumerate() {
                if hits.len() >= limit {
                    break;
                }
                if *e == *target {
                    hits.push(len - 1 - k);
                }
            }
            hits.reverse();
        } else {
            for (i, e) in self.iter().enumerate() {
                if hits.len() >= limit {
                    break;
                }
                if *e == *target {
                    hits.push(i);
                }
            }
        }
        if hits.is_empty() {
            return 0;
        }
        match self {
            ListValue::Packed(p) => {
                let mut next = hits.iter().peekable();
                let kept = PackedBuf::from_entries(p.iter().enumerate().filter_map(|(i, e)| {
                    if next.peek() == Some(&&i) {
                        next.next();
                        None
                    } else {
                        Some(e)
                    }
                }));
                *p = kept;
            }
            ListValue::Big(d) => {
                let mut next = hits.iter().peekable();
                let mut i = 0;
                d.retain(|_| {
                    let drop = next.peek() == Some(&&i);
                    if drop {
                        next.next();
                    }
                    i += 1;
                    !drop
                });
            }
        }
        self.maybe_pack();
        hits.len()
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
            ListValue::Big(d) => {
                d.truncate(len - tail);
                d.drain(..head);
            }
        }
        self.maybe_pack();
    }

    /// Iterates from the head.
    pub fn iter(&self) -> ListIter<'_> {
        match self {
            ListValue::Packed(p) => ListIter::Packed(p.iter()),
            ListValue::Big(d) => ListIter::Big(d.iter()),
        }
    }

    /// Iterates from the tail.
    pub fn iter_rev(&self) -> ListIter<'_> {
        match self {
            ListValue::Packed(p) => ListIter::PackedRev(p.iter().collect()),
            ListValue::Big(d) => ListIter::BigRev(d.iter().rev()),
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
                ListIter::PackedTake(it, n)
            }
            ListValue::Big(d) => {
                let end = (end + 1).min(d.len());
                ListIter::Big(d.range(start.min(end)..end))
            }
        }
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        match self {
            ListValue::Packed(p) => p.heap_size(),
            ListValue::Big(d) => d.iter().map(|e| e.len() + 16).sum(),
        }
    }
}

/// Iterator over a list's elements.
#[derive(Debug)]
pub enum ListIter<'a> {
    /// Forwards over a packed list.
    Packed(Entries<'a>),
    /// Forwards over a packed list, at most this many elements.
    PackedTake(Entries<'a>, usize),
    /// Backwards over a packed list (entries collected first).
    PackedRev(Vec<&'a [u8]>),
    /// Forwards over a general list.
    Big(std::collections::vec_deque::Iter<'a, Bytes>),
    /// Backwards over a general list.
    BigRev(std::iter::Rev<std::collections::vec_deque::Iter<'a, Bytes>>),
}

impl<'a> Iterator for ListIter<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        match self {
            ListIter::Packed(it) => it.next().map(Elem::Slice),
            ListIter::PackedTake(it, n) => {
                if *n == 0 {
                    return None;
                }
                *n -= 1;
                it.next().map(Elem::Slice)
            }
            ListIter::PackedRev(v) => v.pop().map(Elem::Slice),
            ListIter::Big(it) => it.next().map(Elem::Shared),
            ListIter::BigRev(it) => it.next().map(Elem::Shared),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Push(bool, Vec<Vec<u8>>),
        Pop(bool, u8),
        Set(u8, Vec<u8>),
        Insert(u8, Vec<u8>),
        Rem(Vec<u8>, u8, bool),
        Trim(u8, u8),
    }

    fn elem() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            8 => proptest::collection::vec(b'a'..b'd', 0..3),
            1 => proptest::collection::vec(b'a'..b'd', 100..400),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<bool>(), proptest::collection::vec(elem(), 1..40))
                .prop_map(|(l, v)| Op::Push(l, v)),
            3 => (any::<bool>(), any::<u8>()).prop_map(|(l, n)| Op::Pop(l, n % 50)),
            1 => (any::<u8>(), elem()).prop_map(|(i, e)| Op::Set(i, e)),
            1 => (any::<u8>(), elem()).prop_map(|(i, e)| Op::Insert(i, e)),
            1 => (elem(), any::<u8>(), any::<bool>()).prop_map(|(e, n, t)| Op::Rem(e, n % 4, t)),
            1 => (any::<u8>(), any::<u8>()).prop_map(|(h, t)| Op::Trim(h % 30, t % 30)),
        ]
    }

    fn end(left: bool) -> End {
        if left {
            End::Left
        } else {
            End::Right
        }
    }

    proptest! {
        /// Every operation agrees with a VecDeque model, across the
        /// packed/general boundary in both directions.
        #[test]
        fn matches_vecdeque_model(ops in proptest::collection::vec(op(), 0..60)) {
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
                    Op::Pop(left, n) => {
                        let got: Vec<Vec<u8>> =
                            l.pop(end(left), usize::from(n)).iter().map(|b| b.to_vec()).collect();
                        let mut want = Vec::new();
                        for _ in 0..n {
                            want.extend(if left { m.pop_front() } else { m.pop_back() });
                        }
                        prop_assert_eq!(got, want);
                    }
                    Op::Set(i, v) => {
                        let i = usize::from(i);
                        prop_assert_eq!(l.set(i, Bytes::from(v.clone())), i < m.len());
                        if let Some(slot) = m.get_mut(i) { *slot = v; }
                    }
                    Op::Insert(i, v) => {
                        let i = usize::from(i);
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
                }
                prop_assert_eq!(l.len(), m.len());
                prop_assert_eq!(l.is_empty(), m.is_empty());
                let got: Vec<Vec<u8>> = l.iter().map(|e| e.to_vec()).collect();
                let want: Vec<Vec<u8>> = m.iter().cloned().collect();
                prop_assert_eq!(&got, &want);
                let rev: Vec<Vec<u8>> = l.iter_rev().map(|e| e.to_vec()).collect();
                let want_rev: Vec<Vec<u8>> = m.iter().rev().cloned().collect();
                prop_assert_eq!(rev, want_rev);
                if let ListValue::Packed(p) = &l {
                    prop_assert!(m.len() <= PACKED_MAX_ENTRIES && p.byte_len() <= PACKED_MAX_BYTES);
                }
                if !m.is_empty() {
                    let s = m.len() / 3;
                    let e = m.len() - 1 - m.len() / 4;
                    let got: Vec<Vec<u8>> = l.range(s, e).map(|e| e.to_vec()).collect();
                    let want: Vec<Vec<u8>> = m.range(s..=e).cloned().collect();
                    prop_assert_eq!(got, want);
                    prop_assert_eq!(l.get(s).map(|e| e.to_vec()), m.get(s).cloned());
                }
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
}
