//! Hash values. Redis keeps small hashes in a compact encoding
//! (`listpack`) that preserves insertion order and switches, for good, to a
//! hash table when a field or value grows past `hash-max-listpack-value`
//! bytes or the hash past `hash-max-listpack-entries` fields. The order is
//! visible (HGETALL, HKEYS, HSCAN, HRANDFIELD), so [`HashValue`] keeps it
//! the same way: insertion order with order-preserving deletes while
//! compact (field and value entries in one [`PackedBuf`]), arbitrary order
//! afterwards (a boxed [`Dict`], the key table's compact chained hash table:
//! fields up to 22 bytes inline in the node, values in exact-size boxes,
//! both copied rather than kept as slices of a request buffer).

use bytes::Bytes;
use rand::Rng;

use crate::dict::{Dict, DictKey};
use crate::packed::{Elem, Entries, PackedBuf};
use crate::value::EncodingLimits;

/// The general encoding's table.
pub type HashTable = Dict<Box<[u8]>, PackedBuf>;

/// Sets `field` in a table; returns whether it already existed.
fn table_set(t: &mut HashTable, field: &[u8], value: &[u8]) -> bool {
    let h = t.hash(field);
    if let Some(n) = t.get_mut_hashed(h, field) {
        n.val = Box::from(value);
        return true;
    }
    t.insert_new_hashed(h, PackedBuf::from_bytes(field), Box::from(value));
    false
}

/// A hash value.
#[derive(Debug, Clone)]
pub enum HashValue {
    /// The compact encoding (`listpack`): field and value entries
    /// alternating, in insertion order.
    Packed(PackedBuf),
    /// The general encoding (`hashtable`).
    Table(Box<HashTable>),
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue::Packed(PackedBuf::new())
    }
}

impl PartialEq for HashValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(&k) == Some(v))
    }
}

/// (field, value) pairs of a packed hash.
#[derive(Debug, Clone)]
pub struct Pairs<'a>(Entries<'a>);

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let f = self.0.next()?;
        let v = self.0.next()?;
        Some((f, v))
    }
}

fn pairs(p: &PackedBuf) -> Pairs<'_> {
    Pairs(p.iter())
}

/// Where `field`'s entries are: (field start, value start, value end) in
/// bytes, or the number of fields when it is absent.
fn packed_find(p: &PackedBuf, field: &[u8]) -> Result<(usize, usize, usize), usize> {
    let mut it = p.iter();
    let mut n = 0;
    loop {
        let fstart = it.pos();
        let Some(f) = it.next() else { break };
        let start = it.pos();
        if it.next().is_none() {
            break;
        }
        if f == field {
            return Ok((fstart, start, it.pos()));
        }
        n += 1;
    }
    Err(n)
}

impl HashValue {
    /// An empty hash in the compact encoding (how Redis creates one).
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a hash from pairs (later duplicates win), converting as Redis
    /// would while adding them one by one.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (Bytes, Bytes)>,
        lim: &EncodingLimits,
    ) -> Self {
        let mut h = HashValue::new();
        for (f, v) in pairs {
            h.set(f, v, lim);
        }
        h
    }

    /// Whether Redis would keep this hash in the compact encoding.
    pub fn is_listpack(&self) -> bool {
        matches!(self, HashValue::Packed(_))
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            HashValue::Packed(_) => "listpack",
            HashValue::Table(_) => "hashtable",
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match self {
            HashValue::Packed(p) => p.count() / 2,
            HashValue::Table(t) => t.len(),
        }
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        match self {
            HashValue::Packed(p) => p.is_empty(),
            HashValue::Table(t) => t.is_empty(),
        }
    }

    /// A field's value.
    pub fn get(&self, field: &[u8]) -> Option<Elem<'_>> {
        match self {
            HashValue::Packed(p) => pairs(p).find(|(f, _)| *f == field).map(|(_, v)| Elem(v)),
            HashValue::Table(t) => t.get(field).map(|n| Elem(&n.val)),
        }
    }

    /// Whether a field exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        match self {
            HashValue::Packed(p) => pairs(p).any(|(f, _)| f == field),
            HashValue::Table(t) => t.get(field).is_some(),
        }
    }

    /// Switches to the hash-table encoding (never reverted), keeping the
    /// current order.
    fn convert(&mut self) {
        if let HashValue::Packed(p) = self {
            let mut t = HashTable::new();
            for (f, v) in pairs(p) {
                table_set(&mut t, f, v);
            }
            *self = HashValue::Table(Box::new(t));
        }
    }

    /// Converts to a hash table if any of the given argument lengths is too
    /// long for the compact encoding (Redis checks a command's arguments
    /// before adding them).
    pub fn convert_for_lengths(
        &mut self,
        lens: impl IntoIterator<Item = usize>,
        lim: &EncodingLimits,
    ) {
        if self.is_listpack() && lens.into_iter().any(|l| l > lim.hash_max_listpack_value) {
            self.convert();
        }
    }

    /// Sets a field; returns whether it already existed (an update).
    pub fn set(&mut self, field: Bytes, value: Bytes, lim: &EncodingLimits) -> bool {
        if self.is_listpack()
            && (field.len() > lim.hash_max_listpack_value
                || value.len() > lim.hash_max_listpack_value)
        {
            self.convert();
        }
        match self {
            HashValue::Table(t) => table_set(t, &field, &value),
            HashValue::Packed(p) => match packed_find(p, &field) {
                Ok((_, start, end)) => {
                    let mut enc = Vec::with_capacity(value.len() + 2);
                    PackedBuf::encode_into(&mut enc, &value);
                    p.splice_bytes(start, end, &enc);
                    true
                }
                Err(n) => {
                    p.push(&[&field, &value]);
                    if n + 1 > lim.hash_max_listpack_entries {
                        self.convert();
                    }
                    false
                }
            },
        }
    }

    /// Removes a field; returns whether it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            HashValue::Table(t) => t.remove(field).is_some(),
            HashValue::Packed(p) => match packed_find(p, field) {
                Ok((fstart, _, end)) => {
                    p.splice_bytes(fstart, end, &[]);
                    true
                }
                Err(_) => false,
            },
        }
    }

    /// Iterates over (field, value) in the order Redis would (insertion
    /// order while compact).
    pub fn iter(&self) -> HashIter<'_> {
        match self {
            HashValue::Packed(p) => HashIter::Packed(pairs(p)),
            HashValue::Table(t) => HashIter::Table(t.iter()),
        }
    }

    /// A pair chosen at random: uniformly from a packed hash; from a
    /// table by random bucket and then chain position, as Redis picks.
    pub fn random_pair(&self, rng: &mut impl Rng) -> Option<(Elem<'_>, Elem<'_>)> {
        match self {
            HashValue::Packed(p) => {
                let n = p.count() / 2;
                if n == 0 {
                    return None;
                }
                pairs(p)
                    .nth(rng.gen_range(0..n))
                    .map(|(f, v)| (Elem(f), Elem(v)))
            }
            HashValue::Table(t) => t.random(rng).map(|n| (Elem(n.key.bytes()), Elem(&n.val))),
        }
    }

    /// `count` distinct pairs chosen at random (all when `count` reaches
    /// the length), in random order.
    pub fn random_distinct(&self, rng: &mut impl Rng, count: usize) -> Vec<(Elem<'_>, Elem<'_>)> {
        match self {
            HashValue::Packed(p) => {
                let all: Vec<(&[u8], &[u8])> = pairs(p).collect();
                rand::seq::index::sample(rng, all.len(), count.min(all.len()))
                    .into_iter()
                    .filter_map(|i| all.get(i))
                    .map(|&(f, v)| (Elem(f), Elem(v)))
                    .collect()
            }
            HashValue::Table(t) => t
                .sample_distinct(rng, count)
                .into_iter()
                .map(|n| (Elem(n.key.bytes()), Elem(&n.val)))
                .collect(),
        }
    }

    /// One `HSCAN` step over a table (Redis's cursor over buckets; a packed
    /// hash is returned whole); returns the next cursor.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(Elem<'_>, Elem<'_>),
    ) -> u64 {
        let HashValue::Table(t) = self else {
            self.iter().for_each(|(f, v)| visit(f, v));
            return 0;
        };
        t.scan(cursor, count, |n| {
            visit(Elem(n.key.bytes()), Elem(&n.val));
        })
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        match self {
            HashValue::Packed(p) => p.heap_size(),
            HashValue::Table(t) => t
                .iter()
                .map(|n| n.key.bytes().len() + n.val.len() + 48)
                .sum(),
        }
    }
}

/// Iterator over a hash's (field, value) pairs.
pub enum HashIter<'a> {
    /// Over the compact encoding.
    Packed(Pairs<'a>),
    /// Over the hash table.
    Table(crate::dict::Iter<'a, Box<[u8]>, PackedBuf>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (Elem<'a>, Elem<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HashIter::Packed(p) => p.next().map(|(f, v)| (Elem(f), Elem(v))),
            HashIter::Table(t) => t.next().map(|n| (Elem(n.key.bytes()), Elem(&n.val))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[derive(Debug, Clone)]
    enum Op {
        Set(u8, u8),
        SetLong(u8),
        Remove(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (any::<u8>(), any::<u8>()).prop_map(|(f, v)| Op::Set(f % 12, v)),
            1 => any::<u8>().prop_map(|f| Op::SetLong(f % 12)),
            3 => any::<u8>().prop_map(|f| Op::Remove(f % 12)),
        ]
    }

    proptest! {
        /// The two encodings agree with an IndexMap model (the previous
        /// representation): contents, insertion order while compact, and
        /// the one-way conversion rules.
        #[test]
        fn matches_indexmap_model(
            ops in proptest::collection::vec(op(), 0..80),
            entries in 0usize..8,
            value in 1usize..12,
        ) {
            let lim = EncodingLimits {
                hash_max_listpack_entries: entries,
                hash_max_listpack_value: value,
                ..EncodingLimits::default()
            };
            let mut h = HashValue::new();
            let mut model: indexmap::IndexMap<Vec<u8>, Vec<u8>> = indexmap::IndexMap::new();
            let mut table = false;
            for op in ops {
                match op {
                    Op::Set(..) | Op::SetLong(_) => {
                        let (field, val) = match op {
                            Op::Set(f, v) => (format!("f{f}").into_bytes(), format!("{v}").into_bytes()),
                            Op::SetLong(f) | Op::Remove(f) => (format!("f{f}").into_bytes(), vec![b'x'; 200]),
                        };
                        if field.len() > value || val.len() > value {
                            table = true;
                        }
                        let old = model.insert(field.clone(), val.clone()).is_some();
                        if model.len() > entries {
                            table = true;
                        }
                        prop_assert_eq!(h.set(Bytes::from(field), Bytes::from(val), &lim), old);
                    }
                    Op::Remove(f) => {
                        let field = format!("f{f}").into_bytes();
                        let had = if table {
                            model.swap_remove(&field).is_some()
                        } else {
                            model.shift_remove(&field).is_some()
                        };
                        prop_assert_eq!(h.remove(&field), had);
                    }
                }
                prop_assert_eq!(h.encoding(), if table { "hashtable" } else { "listpack" });
                prop_assert_eq!(h.len(), model.len());
                prop_assert_eq!(h.is_empty(), model.is_empty());
                let got: Vec<(Vec<u8>, Vec<u8>)> =
                    h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
                if table {
                    let mut got = got.clone();
                    got.sort();
                    let mut want: Vec<_> = model.clone().into_iter().collect();
                    want.sort();
                    prop_assert_eq!(got, want);
                } else {
                    let want: Vec<_> = model.clone().into_iter().collect();
                    prop_assert_eq!(&got, &want);
                }
                let mut rng = rand::rngs::SmallRng::seed_from_u64(got.len() as u64);
                let n = got.len().saturating_sub(1);
                let mut picked: Vec<(Vec<u8>, Vec<u8>)> = h
                    .random_distinct(&mut rng, n)
                    .into_iter()
                    .map(|(f, v)| (f.to_vec(), v.to_vec()))
                    .collect();
                prop_assert_eq!(picked.len(), n);
                picked.sort();
                picked.dedup();
                prop_assert_eq!(picked.len(), n);
                for pair in &picked {
                    prop_assert!(got.contains(pair));
                }
                if let Some((f, v)) = h.random_pair(&mut rng) {
                    prop_assert!(got.contains(&(f.to_vec(), v.to_vec())));
                }
                for f in 0..12u8 {
                    let field = format!("f{f}").into_bytes();
                    prop_assert_eq!(h.get(&field).map(|v| v.to_vec()), model.get(&field).cloned());
                    prop_assert_eq!(h.contains(&field), model.contains_key(&field));
                }
            }
        }
    }

    #[test]
    fn compact_encoding_keeps_order_until_converted() {
        let lim = EncodingLimits {
            hash_max_listpack_entries: 3,
            ..EncodingLimits::default()
        };
        let mut h = HashValue::new();
        for f in ["a", "b", "c"] {
            h.set(Bytes::from(f), Bytes::from("v"), &lim);
        }
        h.remove(b"a");
        h.set(Bytes::from("a"), Bytes::from("v"), &lim);
        let order: Vec<Vec<u8>> = h.iter().map(|(k, _)| k.to_vec()).collect();
        assert_eq!(order, vec![b"b".to_vec(), b"c".to_vec(), b"a".to_vec()]);
        assert_eq!(h.encoding(), "listpack");
        h.set(Bytes::from("d"), Bytes::from("v"), &lim);
        assert_eq!(h.encoding(), "hashtable");
        h.remove(b"d");
        assert_eq!(h.encoding(), "hashtable");
        let mut h = HashValue::new();
        h.set(Bytes::from("f"), Bytes::from(vec![b'x'; 65]), &lim);
        assert_eq!(h.encoding(), "hashtable");
    }
}
