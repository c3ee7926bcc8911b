//! Set values. Redis keeps sets made only of integers in a sorted array
//! (`intset`, which SMEMBERS returns in numeric order) until a non-integer
//! member arrives or the set outgrows `set-max-intset-entries`; then it
//! switches, for good, to a hash table. [`SetValue`] mirrors both, and also
//! keeps a small set of short strings packed (still reported `hashtable`,
//! the name Redis 7.0 gives it): a table per ten-member set of tags costs
//! several times what the members do.

use bytes::Bytes;
use rand::Rng;

use crate::dict::{Dict, DictKey};
use crate::numeric::parse_i64;
use crate::packed::PackedBuf;
use crate::value::EncodingLimits;

/// Most members a set of strings keeps packed. Redis 7.0 reports such a
/// set as `hashtable` and so does replikv: the packed form is invisible to
/// clients (members come back in insertion order, as from the table).
pub const SMALL_STRS_MAX_ENTRIES: usize = 128;
/// Longest member a packed set of strings holds.
pub const SMALL_STRS_MAX_MEMBER: usize = 64;

/// A small set in one [`PackedBuf`], in one of two layouts told apart by
/// the first byte:
/// - an intset (as Redis's): a width byte (2, 4 or 8, the smallest that
///   holds every member), then sorted distinct integers of that width,
///   little-endian; an empty buffer is an empty intset;
/// - strings: an empty entry (a single 0 byte) as the marker, then the
///   members as length-prefixed entries in insertion order.
///
/// Small sets need one short allocation or none at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmallSet(PackedBuf);

/// The narrowest intset width that holds `n`.
fn width_for(n: i64) -> usize {
    if i16::try_from(n).is_ok() {
        2
    } else if i32::try_from(n).is_ok() {
        4
    } else {
        8
    }
}

/// `n` as `width` little-endian bytes (`n` must fit).
fn encode_int(n: i64, width: usize) -> [u8; 8] {
    let mut out = [0u8; 8];
    let b = n.to_le_bytes();
    for (o, b) in out.iter_mut().zip(b.iter()).take(width) {
        *o = *b;
    }
    out
}

fn decode_int(b: &[u8]) -> Option<i64> {
    Some(match b.len() {
        2 => i64::from(i16::from_le_bytes(b.try_into().ok()?)),
        4 => i64::from(i32::from_le_bytes(b.try_into().ok()?)),
        8 => i64::from_le_bytes(b.try_into().ok()?),
        _ => return None,
    })
}

/// What an add to a [`SmallSet`] did.
enum Added {
    /// Added (`true`) or already present (`false`).
    Done(bool),
    /// The member does not fit this layout; the set must change form.
    Convert,
}

impl SmallSet {
    /// An empty intset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the set uses the string layout.
    pub fn is_strs(&self) -> bool {
        self.0.as_bytes().first() == Some(&0)
    }

    fn width(&self) -> usize {
        self.0
            .as_bytes()
            .first()
            .map_or(2, |&w| usize::from(w).max(1))
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        if self.is_strs() {
            self.0.count().saturating_sub(1)
        } else {
            self.0.byte_len().saturating_sub(1) / self.width()
        }
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The integer at position `i` of an intset (ascending order).
    fn int_at(&self, i: usize) -> Option<i64> {
        let w = self.width();
        let start = 1 + i.checked_mul(w)?;
        decode_int(self.0.as_bytes().get(start..start + w)?)
    }

    /// Binary search of an intset: `Ok(position)` or `Err(insertion point)`.
    fn search(&self, n: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.int_at(mid) {
                Some(v) if v < n => lo = mid + 1,
                Some(v) if v > n => hi = mid,
                Some(_) => return Ok(mid),
                None => return Err(lo),
            }
        }
        Err(lo)
    }

    /// Position of a member of a string-layout set.
    fn str_position(&self, member: &[u8]) -> Option<usize> {
        self.0.iter().skip(1).position(|m| m == member)
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        if self.is_strs() {
            self.str_position(member).is_some()
        } else {
            parse_i64(member).is_some_and(|n| self.search(n).is_ok())
        }
    }

    /// The member at position `i` of [`SmallSet::iter`]'s order.
    pub fn get(&self, i: usize) -> Option<Bytes> {
        if self.is_strs() {
            self.0.get(i + 1).map(Bytes::copy_from_slice)
        } else {
            self.int_at(i).map(|n| Bytes::from(n.to_string()))
        }
    }

    fn insert_int(&mut self, n: i64) -> bool {
        let at = match self.search(n) {
            Ok(_) => return false,
            Err(at) => at,
        };
        let w = self.width();
        let need = width_for(n);
        if self.is_empty() || need > w {
            let w = need.max(if self.is_empty() { 2 } else { w });
            let mut out = Vec::with_capacity(1 + (self.len() + 1) * w);
            out.push(w as u8);
            let mut pushed = false;
            for v in self.ints() {
                if !pushed && n < v {
                    out.extend_from_slice(encode_int(n, w).get(..w).unwrap_or_default());
                    pushed = true;
                }
                out.extend_from_slice(encode_int(v, w).get(..w).unwrap_or_default());
            }
            if !pushed {
                out.extend_from_slice(encode_int(n, w).get(..w).unwrap_or_default());
            }
            self.0 = PackedBuf::from_bytes(&out);
        } else {
            let pos = 1 + at * w;
            let b = encode_int(n, w);
            self.0
                .splice_bytes(pos, pos, b.get(..w).unwrap_or_default());
        }
        true
    }

    /// Adds a member if this layout can take it under the limits.
    fn add(&mut self, member: &[u8], lim: &EncodingLimits) -> Added {
        if self.is_strs() {
            if self.str_position(member).is_some() {
                return Added::Done(false);
            }
            if member.len() > SMALL_STRS_MAX_MEMBER || self.len() >= SMALL_STRS_MAX_ENTRIES {
                return Added::Convert;
            }
            self.0.push(&[member]);
            return Added::Done(true);
        }
        let Some(n) = parse_i64(member) else {
            return Added::Convert;
        };
        if self.search(n).is_ok() {
            return Added::Done(false);
        }
        if self.len() >= lim.set_max_intset_entries.min(INTSET_HARD_MAX) {
            return Added::Convert;
        }
        Added::Done(self.insert_int(n))
    }

    /// Removes a member; returns whether it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        if self.is_strs() {
            let Some(i) = self.str_position(member) else {
                return false;
            };
            self.0.remove(i + 1, 1);
            return true;
        }
        let Some(at) = parse_i64(member).and_then(|n| self.search(n).ok()) else {
            return false;
        };
        if self.len() == 1 {
            self.0 = PackedBuf::new();
        } else {
            let w = self.width();
            let pos = 1 + at * w;
            self.0.splice_bytes(pos, pos + w, &[]);
        }
        true
    }

    /// The integers of an intset in ascending order (nothing for the
    /// string layout).
    fn ints(&self) -> impl Iterator<Item = i64> + '_ {
        let w = self.width();
        let data = if self.is_strs() {
            &[][..]
        } else {
            self.0.as_bytes().get(1..).unwrap_or_default()
        };
        data.chunks_exact(w).filter_map(decode_int)
    }

    /// Every member as bytes, in this set's order (ascending for an
    /// intset, insertion order for strings).
    fn members(&self) -> Vec<Bytes> {
        if self.is_strs() {
            self.0.iter().skip(1).map(Bytes::copy_from_slice).collect()
        } else {
            self.ints().map(|n| Bytes::from(n.to_string())).collect()
        }
    }

    /// The same members in the string layout, if they fit it.
    fn to_strs(&self, extra: &[u8]) -> Option<SmallSet> {
        let members = self.members();
        if members.len() + 1 > SMALL_STRS_MAX_ENTRIES || extra.len() > SMALL_STRS_MAX_MEMBER {
            return None;
        }
        let mut out = Vec::new();
        PackedBuf::encode_into(&mut out, b"");
        for m in &members {
            PackedBuf::encode_into(&mut out, m);
        }
        PackedBuf::encode_into(&mut out, extra);
        Some(SmallSet(PackedBuf::from_vec(out)))
    }

    /// Heap bytes owned.
    pub fn heap_size(&self) -> usize {
        self.0.heap_size()
    }
}

/// The general set representation: the key table's compact chained hash
/// table with no payload, so a member of up to 22 bytes costs one 32-byte
/// node and a bucket pointer (members are copied, never kept as slices of
/// a request buffer).
pub type SetTable = Dict<(), PackedBuf>;

/// Adds `m` to a table; returns whether it was new.
fn table_insert(t: &mut SetTable, m: &[u8]) -> bool {
    let h = t.hash(m);
    if t.get_hashed(h, m).is_some() {
        return false;
    }
    t.insert_new_hashed(h, PackedBuf::from_bytes(m), ());
    true
}

/// A set value.
#[derive(Debug, Clone)]
pub enum SetValue {
    /// A small set packed in one buffer: an intset (encoding `intset`) or
    /// a few short strings (encoding `hashtable`, as Redis 7.0 names it).
    Small(SmallSet),
    /// A hash table (encoding `hashtable`).
    Hash(Box<SetTable>),
}

impl PartialEq for SetValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains(&m))
    }
}

/// Redis's hard ceiling on intset size, whatever the configuration says.
const INTSET_HARD_MAX: usize = 1 << 30;

impl SetValue {
    /// The empty set Redis creates for a first member: an intset when the
    /// member is an integer, a hash table otherwise.
    pub fn for_first_member(first: &[u8]) -> Self {
        if parse_i64(first).is_some() {
            SetValue::Small(SmallSet::new())
        } else {
            SetValue::Small(SmallSet(PackedBuf::from_entries([&b""[..]])))
        }
    }

    /// An empty intset.
    pub fn new_intset() -> Self {
        SetValue::Small(SmallSet::new())
    }

    /// Builds a set adding members one by one, converting as Redis would.
    pub fn from_members(members: impl IntoIterator<Item = Bytes>, lim: &EncodingLimits) -> Self {
        let mut s = SetValue::new_intset();
        for m in members {
            s.add(m, lim);
        }
        s
    }

    /// Whether the set lives in one packed buffer.
    pub fn is_packed(&self) -> bool {
        matches!(self, SetValue::Small(_))
    }

    /// Whether Redis would report the `intset` encoding.
    pub fn is_intset(&self) -> bool {
        matches!(self, SetValue::Small(s) if !s.is_strs())
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        if self.is_intset() {
            "intset"
        } else {
            "hashtable"
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            SetValue::Small(v) => v.len(),
            SetValue::Hash(h) => h.len(),
        }
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn to_table(small: &SmallSet, extra: Bytes) -> SetValue {
        let mut h = SetTable::new();
        for m in small.members() {
            table_insert(&mut h, &m);
        }
        table_insert(&mut h, &extra);
        SetValue::Hash(Box::new(h))
    }

    /// Adds a member; returns whether it was new.
    pub fn add(&mut self, member: Bytes, lim: &EncodingLimits) -> bool {
        let small = match self {
            SetValue::Hash(h) => return table_insert(h, &member),
            SetValue::Small(v) => v,
        };
        match small.add(&member, lim) {
            Added::Done(new) => new,
            Added::Convert => {
                // An intset that met a string becomes a string set while
                // small; anything that outgrows the packed limits becomes a
                // table for good, as in Redis.
                let outgrew_intset = !small.is_strs() && parse_i64(&member).is_some();
                *self = match (outgrew_intset, small.is_strs()) {
                    (false, false) => match small.to_strs(&member) {
                        Some(strs) => SetValue::Small(strs),
                        None => Self::to_table(small, member),
                    },
                    _ => Self::to_table(small, member),
                };
                true
            }
        }
    }

    /// Removes a member; returns whether it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            SetValue::Hash(h) => h.remove(member).is_some(),
            SetValue::Small(v) => v.remove(member),
        }
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            SetValue::Hash(h) => h.get(member).is_some(),
            SetValue::Small(v) => v.contains(member),
        }
    }

    /// A member chosen at random: uniformly from a packed set; from a
    /// table by random bucket and then chain position, as Redis picks.
    pub fn random_member(&self, rng: &mut impl Rng) -> Option<Bytes> {
        match self {
            SetValue::Small(v) => {
                let n = v.len();
                if n == 0 {
                    return None;
                }
                v.get(rng.gen_range(0..n))
            }
            SetValue::Hash(h) => h.random(rng).map(|n| Bytes::copy_from_slice(n.key.bytes())),
        }
    }

    /// `count` distinct members chosen at random (`count < len`), in
    /// random order.
    pub fn random_distinct(&self, rng: &mut impl Rng, count: usize) -> Vec<Bytes> {
        match self {
            SetValue::Hash(h) => h
                .sample_distinct(rng, count)
                .into_iter()
                .map(|n| Bytes::copy_from_slice(n.key.bytes()))
                .collect(),
            SetValue::Small(v) => rand::seq::index::sample(rng, v.len(), count.min(v.len()))
                .into_iter()
                .filter_map(|i| v.get(i))
                .collect(),
        }
    }

    /// Iterates over the members (ascending for an intset).
    pub fn iter(&self) -> SetIter<'_> {
        match self {
            SetValue::Small(v) => SetIter::Small(v.members().into_iter()),
            SetValue::Hash(h) => SetIter::Table(h.iter()),
        }
    }

    /// One `SSCAN` step over a table (Redis's cursor over buckets; a
    /// packed set is returned whole by the caller); returns the next cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(Bytes)) -> u64 {
        let SetValue::Hash(h) = self else {
            self.iter().for_each(visit);
            return 0;
        };
        h.scan(cursor, count, |n| {
            visit(Bytes::copy_from_slice(n.key.bytes()))
        })
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        match self {
            SetValue::Small(v) => v.heap_size(),
            SetValue::Hash(h) => h.iter().map(|n| n.key.bytes().len() + 40).sum(),
        }
    }
}

/// Iterator over a set's members.
pub enum SetIter<'a> {
    /// A packed set's members, decoded once (walking a packed buffer by
    /// index would be quadratic).
    Small(std::vec::IntoIter<Bytes>),
    /// A table's nodes.
    Table(crate::dict::Iter<'a, (), PackedBuf>),
}

impl Iterator for SetIter<'_> {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        match self {
            SetIter::Small(it) => it.next(),
            SetIter::Table(it) => it.next().map(|n| Bytes::copy_from_slice(n.key.bytes())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn member() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => (-20i64..20).prop_map(|n| n.to_string()),
            2 => prop_oneof![
                Just(i64::MIN), Just(i64::MAX), Just(-32768), Just(32767), Just(32768),
                Just(-32769), Just(i64::from(i32::MIN)), Just(i64::from(i32::MAX)),
                Just(i64::from(i32::MAX) + 1), Just(-70000), Just(1 << 40),
            ].prop_map(|n| n.to_string()),
            1 => prop_oneof![Just("a".to_string()), Just("07".to_string()), Just("+1".to_string())],
        ]
    }

    proptest! {
        /// Adds and removes agree with a BTreeSet of integers while the set
        /// is an intset (ascending order), and with plain membership after
        /// conversion; conversion happens exactly where Redis converts.
        #[test]
        fn matches_btreeset_model(
            ops in proptest::collection::vec((any::<bool>(), member()), 0..80),
            max in 0usize..10,
        ) {
            let lim = EncodingLimits { set_max_intset_entries: max, ..EncodingLimits::default() };
            let mut s = SetValue::new_intset();
            let mut ints: BTreeSet<i64> = BTreeSet::new();
            let mut all: BTreeSet<Vec<u8>> = BTreeSet::new();
            let mut table = false;
            for (add, m) in ops {
                if add {
                    let new = all.insert(m.clone().into_bytes());
                    match parse_i64(m.as_bytes()) {
                        Some(n) if !table => {
                            ints.insert(n);
                            if ints.len() > max { table = true; }
                        }
                        Some(_) => {}
                        None => table = true,
                    }
                    prop_assert_eq!(s.add(Bytes::from(m), &lim), new);
                } else {
                    let had = all.remove(m.as_bytes());
                    if let Some(n) = parse_i64(m.as_bytes()) { ints.remove(&n); }
                    prop_assert_eq!(s.remove(m.as_bytes()), had);
                }
                prop_assert_eq!(s.encoding(), if table { "hashtable" } else { "intset" });
                prop_assert_eq!(s.len(), all.len());
                let got: Vec<Bytes> = s.iter().collect();
                if table {
                    let got: BTreeSet<Vec<u8>> = got.iter().map(|b| b.to_vec()).collect();
                    prop_assert_eq!(&got, &all);
                } else {
                    let want: Vec<Bytes> = ints.iter().map(|n| Bytes::from(n.to_string())).collect();
                    prop_assert_eq!(&got, &want);
                    if let SetValue::Small(i) = &s {
                        let fits = i.len() * i.width() < crate::packed::INLINE_CAP;
                        prop_assert_eq!(fits, i.heap_size() == 0);
                        prop_assert!(ints.iter().all(|&n| width_for(n) <= i.width()));
                    }
                }
                for m in &all {
                    prop_assert!(s.contains(m));
                }
            }
        }
    }

    proptest! {
        /// Sets of strings stay packed (reported `hashtable`, as Redis 7.0
        /// does) in insertion order until a member or the count outgrows
        /// the packed limits, then become a table for good; membership
        /// always matches a model.
        #[test]
        fn string_sets_match_a_model(
            ops in proptest::collection::vec(
                (0u8..4, 0usize..160, prop_oneof![8 => Just(4usize), 1 => Just(70usize)]),
                0..400,
            ),
        ) {
            let lim = EncodingLimits::default();
            let mut s = SetValue::for_first_member(b"x");
            let mut model: indexmap::IndexSet<Vec<u8>> = indexmap::IndexSet::new();
            let mut table = false;
            for (op, i, pad) in ops {
                let m = format!("m{i:0>pad$}").into_bytes();
                if op == 0 {
                    prop_assert_eq!(s.remove(&m), model.shift_remove(&m));
                } else {
                    let new = model.insert(m.clone());
                    if new && (m.len() > SMALL_STRS_MAX_MEMBER || model.len() > SMALL_STRS_MAX_ENTRIES) {
                        table = true;
                    }
                    prop_assert_eq!(s.add(Bytes::from(m), &lim), new);
                }
                prop_assert_eq!(s.encoding(), "hashtable");
                prop_assert_eq!(matches!(s, SetValue::Hash(_)), table);
                prop_assert_eq!(s.len(), model.len());
                let got: Vec<Vec<u8>> = s.iter().map(|b| b.to_vec()).collect();
                if table {
                    let got: BTreeSet<Vec<u8>> = got.into_iter().collect();
                    prop_assert_eq!(got, model.iter().cloned().collect::<BTreeSet<_>>());
                } else {
                    prop_assert_eq!(&got, &model.iter().cloned().collect::<Vec<_>>());
                }
                for m in &model {
                    prop_assert!(s.contains(m));
                }
            }
        }
    }

    #[test]
    fn an_intset_meeting_a_string_stays_packed_while_small() {
        let lim = EncodingLimits::default();
        let mut s = SetValue::new_intset();
        for m in ["3", "1", "2"] {
            s.add(Bytes::from(m), &lim);
        }
        assert_eq!(s.encoding(), "intset");
        assert!(s.add(Bytes::from("a"), &lim));
        assert_eq!(s.encoding(), "hashtable");
        assert!(matches!(s, SetValue::Small(_)));
        let got: Vec<Bytes> = s.iter().collect();
        assert_eq!(got, ["1", "2", "3", "a"].map(Bytes::from).to_vec());
        assert!(s.contains(b"2") && !s.add(Bytes::from("2"), &lim));
        assert_eq!(std::mem::size_of::<SetValue>(), 24);
    }

    #[test]
    fn intset_converts_like_redis() {
        let lim = EncodingLimits {
            set_max_intset_entries: 3,
            ..EncodingLimits::default()
        };
        let mut s = SetValue::for_first_member(b"5");
        for m in ["5", "-1", "3"] {
            s.add(Bytes::from(m), &lim);
        }
        assert_eq!(s.encoding(), "intset");
        let members: Vec<Bytes> = s.iter().collect();
        assert_eq!(
            members,
            vec![Bytes::from("-1"), Bytes::from("3"), Bytes::from("5")]
        );
        assert!(s.contains(b"3") && !s.contains(b"03"));
        assert!(!s.remove(b"03"));
        s.add(Bytes::from("7"), &lim);
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"7") && s.contains(b"-1"));
        let mut s = SetValue::for_first_member(b"x");
        assert_eq!(s.encoding(), "hashtable");
        s.add(Bytes::from("1"), &lim);
        assert_eq!(s.encoding(), "hashtable");
        let mut s = SetValue::new_intset();
        s.add(Bytes::from("1"), &lim);
        s.add(Bytes::from("a"), &lim);
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 2);
    }
}
