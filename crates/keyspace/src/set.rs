//! Set values. Redis keeps sets made only of integers in a sorted array
//! (`intset`, which SMEMBERS returns in numeric order) until a non-integer
//! member arrives or the set outgrows `set-max-intset-entries`; then it
//! switches, for good, to a hash table. [`SetValue`] mirrors both.

use bytes::Bytes;
use foldhash::fast::RandomState;
use indexmap::IndexSet;

use crate::numeric::parse_i64;
use crate::value::EncodingLimits;
use crate::zset::scan_positions;

/// A set value.
#[derive(Debug, Clone)]
pub enum SetValue {
    /// Sorted integers (`OBJECT ENCODING` says `intset`).
    Ints(Vec<i64>),
    /// Any members (`hashtable`).
    Hash(IndexSet<Bytes, RandomState>),
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
            SetValue::Ints(Vec::new())
        } else {
            SetValue::Hash(IndexSet::default())
        }
    }

    /// An empty intset (what Redis starts computed results from).
    pub fn new_intset() -> Self {
        SetValue::Ints(Vec::new())
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
            let h: IndexSet<Bytes, RandomState> =
                v.iter().map(|n| Bytes::from(n.to_string())).collect();
            *self = SetValue::Hash(h);
        }
    }

    /// Adds a member; returns whether it was new.
    pub fn add(&mut self, member: Bytes, lim: &EncodingLimits) -> bool {
        match self {
            SetValue::Hash(h) => h.insert(member),
            SetValue::Ints(v) => match parse_i64(&member) {
                Some(n) => match v.binary_search(&n) {
                    Ok(_) => false,
                    Err(at) => {
                        v.insert(at, n);
                        if v.len() > lim.set_max_intset_entries.min(INTSET_HARD_MAX) {
                            self.convert();
                        }
                        true
                    }
                },
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
            SetValue::Ints(v) => match parse_i64(member).map(|n| v.binary_search(&n)) {
                Some(Ok(at)) => {
                    v.remove(at);
                    true
                }
                _ => false,
            },
        }
    }

    /// Whether a member is present.
    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            SetValue::Hash(h) => h.contains(member),
            SetValue::Ints(v) => parse_i64(member).is_some_and(|n| v.binary_search(&n).is_ok()),
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
            SetValue::Ints(v) => v.len() * 8,
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
