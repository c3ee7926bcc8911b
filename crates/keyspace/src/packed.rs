//! A compact byte buffer for small collections.
//!
//! [`PackedBuf`] takes 24 bytes: up to [`INLINE_CAP`] bytes live inside the
//! value itself (no allocation at all), longer contents in one exactly sized
//! heap block. It mostly holds a sequence of entries, each a length prefix
//! (LEB128 varint, one byte below 128) followed by the entry's bytes; the
//! small hash, sorted-set and list encodings are built on it, the way
//! Redis's listpack is. Edits rebuild the buffer (O(n), as Redis's memmoves
//! are), which is fine for the small sizes these encodings are kept for.
//!
//! [`Elem`] is how collections hand out members: bytes borrowed from
//! wherever the collection stores them (every representation owns its own
//! copies, so none pins a request buffer).

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// Bytes a [`PackedBuf`] holds without allocating.
pub const INLINE_CAP: usize = 22;

/// `bytes` copied into a fixed array, with its length, when it fits: the
/// shared step of every "inline when short" representation (packed
/// buffers, stored keys, short strings).
pub fn inline_copy<const N: usize>(bytes: &[u8]) -> Option<(u8, [u8; N])> {
    let mut buf = [0u8; N];
    let len = u8::try_from(bytes.len()).ok()?;
    buf.get_mut(..bytes.len())?.copy_from_slice(bytes);
    Some((len, buf))
}

/// A compact byte buffer: inline when short, one boxed slice otherwise.
#[derive(Clone, PartialEq, Eq)]
pub enum PackedBuf {
    /// Contents stored in the value itself.
    Inline {
        /// Bytes used in `buf`.
        len: u8,
        /// The contents, `len` bytes of it.
        buf: [u8; INLINE_CAP],
    },
    /// Contents longer than [`INLINE_CAP`].
    Heap(Box<[u8]>),
}

impl Default for PackedBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for PackedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Appends the varint length prefix of an entry of `len` bytes.
fn put_len(out: &mut Vec<u8>, mut len: usize) {
    loop {
        let low = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// Bytes an entry of `len` bytes takes, prefix included.
pub fn encoded_len(len: usize) -> usize {
    let mut n = 1;
    let mut l = len >> 7;
    while l != 0 {
        n += 1;
        l >>= 7;
    }
    n + len
}

/// Reads one entry at the start of `data`: (entry, rest).
fn split_entry(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len = 0usize;
    let mut shift = 0u32;
    let mut i = 0usize;
    loop {
        let b = *data.get(i)?;
        i += 1;
        len |= usize::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift >= usize::BITS {
            return None;
        }
    }
    let rest = data.get(i..)?;
    if rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

impl PackedBuf {
    /// An empty buffer.
    pub const fn new() -> Self {
        PackedBuf::Inline {
            len: 0,
            buf: [0; INLINE_CAP],
        }
    }

    /// A buffer holding exactly `data` (inline when it fits).
    pub fn from_bytes(data: &[u8]) -> Self {
        match inline_copy(data) {
            Some((len, buf)) => PackedBuf::Inline { len, buf },
            None => PackedBuf::Heap(data.into()),
        }
    }

    /// A buffer holding the given entries, in order.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut out = Vec::new();
        for e in entries {
            Self::encode_into(&mut out, e);
        }
        Self::from_bytes(&out)
    }

    /// Appends `entry`, length prefix and bytes, to `out` (for building a
    /// buffer with [`PackedBuf::from_bytes`]).
    pub fn encode_into(out: &mut Vec<u8>, entry: &[u8]) {
        put_len(out, entry.len());
        out.extend_from_slice(entry);
    }

    /// The raw contents.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            PackedBuf::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or_default(),
            PackedBuf::Heap(b) => b,
        }
    }

    /// Number of raw bytes held.
    pub fn byte_len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Heap bytes owned (0 while inline).
    pub fn heap_size(&self) -> usize {
        match self {
            PackedBuf::Inline { .. } => 0,
            PackedBuf::Heap(b) => b.len(),
        }
    }

    /// Replaces the raw bytes `start..end` with `with` (positions are
    /// clamped to the contents).
    pub fn splice_bytes(&mut self, start: usize, end: usize, with: &[u8]) {
        let cur = self.as_bytes();
        let end = end.min(cur.len());
        let start = start.min(end);
        if end - start == with.len() {
            if let Some(dst) = self.as_bytes_mut().get_mut(start..end) {
                dst.copy_from_slice(with);
            }
            return;
        }
        let (head, tail) = cur.split_at(start);
        let tail = tail.get(end - start..).unwrap_or_default();
        let new_len = head.len() + with.len() + tail.len();
        if new_len <= INLINE_CAP {
            let mut buf = [0u8; INLINE_CAP];
            let mut w = 0;
            for part in [head, with, tail] {
                if let Some(dst) = buf.get_mut(w..w + part.len()) {
                    dst.copy_from_slice(part);
                }
                w += part.len();
            }
            *self = PackedBuf::Inline {
                len: new_len as u8,
                buf,
            };
        } else {
            let mut v = Vec::with_capacity(new_len);
            v.extend_from_slice(head);
            v.extend_from_slice(with);
            v.extend_from_slice(tail);
            *self = PackedBuf::Heap(v.into_boxed_slice());
        }
    }

    /// Whether there are no entries (no bytes).
    pub fn is_empty(&self) -> bool {
        self.byte_len() == 0
    }

    /// Iterates over the entries.
    pub fn iter(&self) -> Entries<'_> {
        let data = self.as_bytes();
        Entries {
            rest: data,
            total: data.len(),
        }
    }

    /// A buffer owning `data` (inline when it fits).
    pub fn from_vec(data: Vec<u8>) -> Self {
        if data.len() <= INLINE_CAP {
            Self::from_bytes(&data)
        } else {
            PackedBuf::Heap(data.into_boxed_slice())
        }
    }

    fn as_bytes_mut(&mut self) -> &mut [u8] {
        match self {
            PackedBuf::Inline { len, buf } => buf.get_mut(..usize::from(*len)).unwrap_or_default(),
            PackedBuf::Heap(b) => b,
        }
    }

    /// Number of entries (a walk over the buffer).
    pub fn count(&self) -> usize {
        self.iter().count()
    }

    /// Entry `i`.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.iter().nth(i)
    }

    /// The byte range covered by entries `i..i + n` (`i` may be the entry
    /// count, for an empty range at the end).
    pub fn span(&self, i: usize, n: usize) -> Option<(usize, usize)> {
        let mut it = self.iter();
        for _ in 0..i {
            it.next()?;
        }
        let start = it.pos();
        for _ in 0..n {
            it.next()?;
        }
        Some((start, it.pos()))
    }

    /// Inserts `entries` before entry `i` (`i` = count appends); returns
    /// whether `i` was valid.
    pub fn insert(&mut self, i: usize, entries: &[&[u8]]) -> bool {
        self.splice(i, 0, entries)
    }

    /// Replaces `n` entries from entry `i` with `entries`; returns whether
    /// the range was valid (nothing changes otherwise).
    pub fn splice(&mut self, i: usize, n: usize, entries: &[&[u8]]) -> bool {
        let Some((start, end)) = self.span(i, n) else {
            return false;
        };
        let mut with = Vec::with_capacity(entries.iter().map(|e| encoded_len(e.len())).sum());
        for e in entries {
            Self::encode_into(&mut with, e);
        }
        self.splice_bytes(start, end, &with);
        true
    }

    /// Removes `n` entries from entry `i`; returns whether the range was
    /// valid.
    pub fn remove(&mut self, i: usize, n: usize) -> bool {
        self.splice(i, n, &[])
    }

    /// Appends entries at the end.
    pub fn push(&mut self, entries: &[&[u8]]) {
        let len = self.byte_len();
        let mut with = Vec::new();
        for e in entries {
            Self::encode_into(&mut with, e);
        }
        self.splice_bytes(len, len, &with);
    }
}

/// Iterator over a [`PackedBuf`]'s entries.
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    rest: &'a [u8],
    total: usize,
}

impl Entries<'_> {
    /// Byte offset of the next entry (the buffer's length at the end).
    pub fn pos(&self) -> usize {
        self.total - self.rest.len()
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (e, rest) = split_entry(self.rest)?;
        self.rest = rest;
        Some(e)
    }
}

/// A member handed out by a collection, borrowed from where it is stored
/// (a packed buffer or a general structure's own copy); callers that need
/// an owned value copy it with [`Elem::to_bytes`].
#[derive(Debug, Clone, Copy)]
pub struct Elem<'a>(pub &'a [u8]);

impl<'a> Elem<'a> {
    /// The bytes, borrowed for the collection's lifetime.
    pub fn as_slice(&self) -> &'a [u8] {
        self.0
    }

    /// An owned copy.
    pub fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self.0)
    }
}

impl Deref for Elem<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Elem<'_> {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for Elem<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Elem<'_> {}

/// Types that can hand out an owned [`Bytes`] (for building replies).
pub trait ToBytes {
    /// An owned handle on the bytes.
    fn to_bytes(&self) -> Bytes;
}

impl ToBytes for Bytes {
    fn to_bytes(&self) -> Bytes {
        self.clone()
    }
}

impl ToBytes for Elem<'_> {
    fn to_bytes(&self) -> Bytes {
        Elem::to_bytes(self)
    }
}

impl ToBytes for [u8] {
    fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes() {
        assert_eq!(std::mem::size_of::<PackedBuf>(), 24);
        enum Outer {
            _Packed(PackedBuf),
            _Big(Box<[u64; 4]>),
        }
        assert_eq!(std::mem::size_of::<Outer>(), 24);
    }

    #[test]
    fn varint_prefixes() {
        for len in [0usize, 1, 127, 128, 300, 16383, 16384, 70000] {
            let e = vec![7u8; len];
            let mut out = Vec::new();
            PackedBuf::encode_into(&mut out, &e);
            assert_eq!(out.len(), encoded_len(len));
            let b = PackedBuf::from_bytes(&out);
            assert_eq!(b.iter().collect::<Vec<_>>(), vec![&e[..]]);
        }
        assert!(PackedBuf::from_bytes(&[5, 1, 2]).get(0).is_none());
        assert!(PackedBuf::from_bytes(&[0xff; 12]).get(0).is_none());
    }

    #[test]
    fn inline_until_full() {
        let mut b = PackedBuf::new();
        b.push(&[b"0123456789", b"0123456789"]);
        assert!(matches!(b, PackedBuf::Inline { len: 22, .. }));
        b.push(&[b""]);
        assert!(matches!(b, PackedBuf::Heap(_)));
        b.remove(2, 1);
        assert!(matches!(b, PackedBuf::Inline { .. }));
        assert_eq!(b.count(), 2);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, Vec<u8>),
        Splice(u8, u8, Vec<Vec<u8>>),
        Remove(u8, u8),
        Push(Vec<u8>),
    }

    fn entry() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => proptest::collection::vec(any::<u8>(), 0..6),
            1 => proptest::collection::vec(any::<u8>(), 100..300),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (any::<u8>(), entry()).prop_map(|(i, e)| Op::Insert(i % 12, e)),
            (
                any::<u8>(),
                any::<u8>(),
                proptest::collection::vec(entry(), 0..3)
            )
                .prop_map(|(i, n, e)| Op::Splice(i % 12, n % 3, e)),
            (any::<u8>(), any::<u8>()).prop_map(|(i, n)| Op::Remove(i % 12, n % 3)),
            entry().prop_map(Op::Push),
        ]
    }

    proptest! {
        /// Entry edits agree with a Vec of entries.
        #[test]
        fn matches_vec_model(ops in proptest::collection::vec(op(), 0..60)) {
            let mut b = PackedBuf::new();
            let mut model: Vec<Vec<u8>> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(i, e) => {
                        let i = usize::from(i);
                        let ok = b.insert(i, &[&e]);
                        prop_assert_eq!(ok, i <= model.len());
                        if ok { model.insert(i, e); }
                    }
                    Op::Splice(i, n, es) => {
                        let (i, n) = (usize::from(i), usize::from(n));
                        let refs: Vec<&[u8]> = es.iter().map(|e| e.as_slice()).collect();
                        let ok = b.splice(i, n, &refs);
                        prop_assert_eq!(ok, i + n <= model.len());
                        if ok { model.splice(i..i + n, es); }
                    }
                    Op::Remove(i, n) => {
                        let (i, n) = (usize::from(i), usize::from(n));
                        let ok = b.remove(i, n);
                        prop_assert_eq!(ok, i + n <= model.len());
                        if ok { model.drain(i..i + n); }
                    }
                    Op::Push(e) => {
                        b.push(&[&e]);
                        model.push(e);
                    }
                }
                let got: Vec<Vec<u8>> = b.iter().map(|e| e.to_vec()).collect();
                prop_assert_eq!(&got, &model);
                prop_assert_eq!(b.count(), model.len());
                prop_assert_eq!(b.byte_len() <= INLINE_CAP, matches!(b, PackedBuf::Inline { .. }));
                for (i, e) in model.iter().enumerate() {
                    prop_assert_eq!(b.get(i), Some(e.as_slice()));
                }
            }
        }
    }
}
