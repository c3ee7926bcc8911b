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
//!
//! The rooms: `treap.rs` (the general encoding), `packed.rs` (the compact
//! one and the listpack score format), `range.rs` (score and lex ranges
//! parsed from client arguments); this module holds the value that picks
//! between the encodings.

mod packed;
mod range;
mod treap;

use std::cmp::Ordering;

use bytes::Bytes;

use crate::packed::{Elem, PackedBuf};
use crate::value::EncodingLimits;

use packed::*;
pub use packed::{decode_score, encode_score, PackedPairs};
pub use range::{LexRange, LexValue, ScoreRange};
pub use treap::{BigZSet, TreeIter};

/// Compares two (score, member) entries in sorted-set order: by score, then
/// by member bytes (shorter first when one is a prefix of the other).
pub fn cmp_entry(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => m1.cmp(m2),
        Some(o) => o,
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
    use super::treap::Node;
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
