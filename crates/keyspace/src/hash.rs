//! Hash values. Redis keeps small hashes in a compact encoding
//! (`listpack`) that preserves insertion order and switches, for good, to a
//! hash table when a field or value grows past `hash-max-listpack-value`
//! bytes or the hash past `hash-max-listpack-entries` fields. The order is
//! visible (HGETALL, HKEYS, HSCAN, HRANDFIELD), so [`HashValue`] keeps it
//! the same way: insertion order with order-preserving deletes while
//! compact, arbitrary order afterwards.

use bytes::Bytes;
use foldhash::fast::RandomState;
use indexmap::IndexMap;

use crate::value::EncodingLimits;
use crate::zset::scan_positions;

/// A hash value.
#[derive(Debug, Clone, Default)]
pub struct HashValue {
    map: IndexMap<Bytes, Bytes, RandomState>,
    hashtable: bool,
}

impl PartialEq for HashValue {
    fn eq(&self, other: &Self) -> bool {
        self.map.len() == other.map.len()
            && self.map.iter().all(|(k, v)| other.map.get(k) == Some(v))
    }
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
        !self.hashtable
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        if self.hashtable {
            "hashtable"
        } else {
            "listpack"
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// A field's value.
    pub fn get(&self, field: &[u8]) -> Option<&Bytes> {
        self.map.get(field)
    }

    /// Whether a field exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.map.contains_key(field)
    }

    /// Converts to a hash table if any of the given argument lengths is too
    /// long for the compact encoding (Redis checks a command's arguments
    /// before adding them).
    pub fn convert_for_lengths(
        &mut self,
        lens: impl IntoIterator<Item = usize>,
        lim: &EncodingLimits,
    ) {
        if !self.hashtable && lens.into_iter().any(|l| l > lim.hash_max_listpack_value) {
            self.hashtable = true;
        }
    }

    /// Sets a field; returns whether it already existed (an update).
    pub fn set(&mut self, field: Bytes, value: Bytes, lim: &EncodingLimits) -> bool {
        if !self.hashtable
            && (field.len() > lim.hash_max_listpack_value
                || value.len() > lim.hash_max_listpack_value)
        {
            self.hashtable = true;
        }
        let updated = self.map.insert(field, value).is_some();
        if !self.hashtable && self.map.len() > lim.hash_max_listpack_entries {
            self.hashtable = true;
        }
        updated
    }

    /// Removes a field; returns whether it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        if self.hashtable {
            self.map.swap_remove(field).is_some()
        } else {
            self.map.shift_remove(field).is_some()
        }
    }

    /// Iterates over (field, value) in the order Redis would (insertion
    /// order while compact).
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> {
        self.map.iter()
    }

    /// The pair at position `i` of [`HashValue::iter`]'s order.
    pub fn get_index(&self, i: usize) -> Option<(&Bytes, &Bytes)> {
        self.map.get_index(i)
    }

    /// One `HSCAN` step over the hash-table encoding (see
    /// [`scan_positions`]); returns the next cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&Bytes, &Bytes)) -> u64 {
        scan_positions(self.map.len(), cursor, count, |i| {
            if let Some((k, v)) = self.map.get_index(i) {
                visit(k, v);
            }
        })
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        self.map.iter().map(|(k, v)| k.len() + v.len() + 32).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let order: Vec<&[u8]> = h.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(order, vec![&b"b"[..], b"c", b"a"]);
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
