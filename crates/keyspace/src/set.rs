//! Set values. Redis keeps sets made only of integers in a sorted array
//! (`intset`, which SMEMBERS returns in numeric order) until a non-integer
//! member arrives or the set outgrows `set-max-intset-entries`; then it
//! switches, for good, to a hash table. [`SetValue`] mirrors both.

use bytes::Bytes;
use foldhash::fast::RandomState;
use indexmap::IndexSet;

use crate::numeric::parse_i64;
use crate::packed::PackedBuf;
use crate::value::EncodingLimits;
use crate::zset::scan_positions;

/// Sorted distinct integers packed like Redis's intset: a width byte (2, 4
/// or 8, the smallest that holds every member) followed by the members as
/// little-endian integers of that width. Small sets need no allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntSet(PackedBuf);

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

impl IntSet {
    /// An empty intset.
    pub fn new() -> Self {
        Self::default()
    }

    fn width(&self) -> usize {
        self.0
            .as_bytes()
            .first()
            .map_or(2, |&w| usize::from(w).max(1))
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.0.byte_len().saturating_sub(1) / self.width()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The member at position `i` (ascending order).
    pub fn get(&self, i: usize) -> Option<i64> {
        let w = self.width();
        let start = 1 + i.checked_mul(w)?;
        decode_int(self.0.as_bytes().get(start..start + w)?)
    }

    /// Binary search, as [`slice::binary_search`].
    pub fn search(&self, n: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid) {
                Some(v) if v < n => lo = mid + 1,
                Some(v) if v > n => hi = mid,
                Some(_) => return Ok(mid),
                None => return Err(lo),
            }
        }
        Err(lo)
    }

    /// Adds `n`; returns whether it was new.
    pub fn insert(&mut self, n: i64) -> bool {
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
            for v in self.iter() {
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

    /// Removes `n`; returns whether it was present.
    pub fn remove(&mut self, n: i64) -> bool {
        let Ok(at) = self.search(n) else {
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

    /// Iterates in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        let w = self.width();
        self.0
            .as_bytes()
            .get(1..)
            .unwrap_or_default()
            .chunks_exact(w)
            .filter_map(decode_int)
    }

    /// Heap bytes owned.
    pub fn heap_size(&self) -> usize {
        self.0.heap_size()
    }
}

/// The general encoding's table.
pub type SetTable = IndexSet<Bytes, RandomState>;

/// A set value.
#[derive(Debug, Clone)]
pub enum SetValue {
    /// Sorted integers (`OBJECT ENCODING` says `intset`).
    Ints(IntSet),
    /// Any members (`hashtable`).
    Hash(Box<SetTable>),
}

impl PartialEq for SetValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains(&m))
    }
}

/// Redis's limit on intset sizes, whatever the configuration says.
const INTSET_HARD_MAX: usize = 1 << 30;

impl SetValue {
    /// An empty set in the encoding Redis picks for a set whose first member
    /// is `first` (`setTypeCreate`).
    pub fn for_first_member(first: &[u8]) -> Self {
        if parse_i64(first).is_some() {
            SetValue::Ints(IntSet::new())
        } else {
            SetValue::Hash(Box::default())
        }
    }

    /// An empty intset (what Redis starts computed results from).
    pub fn new_intset() -> Self {
        SetValue::Ints(IntSet::new())
    }

    /// Builds a set by adding members one by one, as Redis would.
    pub fn from_members(members: impl IntoIterator<Item = Bytes>, lim: &EncodingLimits) -> Self {
        let mut s = SetValue::new_intset();
        for m in members {
            s.add(m, lim);
        }
        s
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            SetValue::Ints(_) => "intset",
            SetValue::Hash(_) => "hashtable",
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            SetValue::Ints(v) => v.len(),
            SetValue::Hash(h) => h.len(),
        }
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn convert(&mut self) {
        if let SetValue::Ints(v) = self {
            let mut h = SetTable::with_capacity_and_hasher(v.len(), RandomState::default());
            h.extend(v.iter().map(|n| Bytes::from(n.to_string())));
            *self = SetValue::Hash(Box::new(h));
        }
    }

    /// Adds a member; returns whether it was new.
    pub fn add(&mut self, member: Bytes, lim: &EncodingLimits) -> bool {
        match self {
            SetValue::Hash(h) => h.insert(member),
            SetValue::Ints(v) => match parse_i64(&member) {
                Some(n) => {
                    if !v.insert(n) {
                        return false;
                    }
                    if v.len() > lim.set_max_intset_entries.min(INTSET_HARD_MAX) {
                        self.convert();
                    }
                    true
                }
                None => {
                    self.convert();
                    if let SetValue::Hash(h) = self {
                        h.insert(member);
                    }
                    true
                }
            },
        }
    }

    /// Removes a member; returns whether it was present.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            SetValue::Hash(h) => h.swap_remove(member),
            SetValue::Ints(v) => parse_i64(member).is_some_and(|n| v.remove(n)),
        }
    }

    /// Whether a member is present.
    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            SetValue::Hash(h) => h.contains(member),
            SetValue::Ints(v) => parse_i64(member).is_some_and(|n| v.search(n).is_ok()),
        }
    }

    /// The member at position `i` of [`SetValue::iter`]'s order.
    pub fn get_index(&self, i: usize) -> Option<Bytes> {
        match self {
            SetValue::Hash(h) => h.get_index(i).cloned(),
            SetValue::Ints(v) => v.get(i).map(|n| Bytes::from(n.to_string())),
        }
    }

    /// Iterates over the members (numeric order for an intset).
    pub fn iter(&self) -> SetIter<'_> {
        SetIter { set: self, pos: 0 }
    }

    /// One `SSCAN` step over the hash-table encoding (see
    /// [`scan_positions`]); returns the next cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(Bytes)) -> u64 {
        scan_positions(self.len(), cursor, count, |i| {
            if let Some(m) = self.get_index(i) {
                visit(m);
            }
        })
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        match self {
            SetValue::Ints(v) => v.heap_size(),
            SetValue::Hash(h) => h.iter().map(|m| m.len() + 24).sum(),
        }
    }
}

/// Iterator over a set's members.
#[derive(Debug)]
pub struct SetIter<'a> {
    set: &'a SetValue,
    pos: usize,
}

impl Iterator for SetIter<'_> {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        let m = self.set.get_index(self.pos)?;
        self.pos += 1;
        Some(m)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.set.len().saturating_sub(self.pos);
        (n, Some(n))
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
                    if let SetValue::Ints(i) = &s {
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
