//! The values a key can hold, one variant per Redis type.

use bytes::Bytes;

use crate::hash::HashValue;
use crate::list::ListValue;
use crate::numeric::parse_i64;
use crate::set::SetValue;
use crate::zset::ZSetValue;

/// A Redis string value, kept in the representation Redis would report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrValue {
    /// A canonical integer (`OBJECT ENCODING` says `int`).
    Int(i64),
    /// A short string stored inside the entry itself: no allocation, which
    /// is what keeps small keys compact (`embstr` for `OBJECT ENCODING`).
    Inline {
        /// Bytes used in `buf`.
        len: u8,
        /// The content, `len` bytes of it.
        buf: [u8; INLINE_MAX],
    },
    /// Bytes in their own exact-size allocation; `raw` is set once the
    /// string was modified in place (APPEND, SETRANGE) or is longer than
    /// Redis's embedded-string limit. A boxed slice rather than `Bytes`
    /// keeps the variant at 24 bytes, which is what lets a stored key's
    /// whole node fit in 72 bytes.
    Heap {
        /// The content.
        data: Box<[u8]>,
        /// Whether Redis would call this encoding `raw` rather than `embstr`.
        raw: bool,
    },
}

/// Longest string Redis stores in the `embstr` encoding.
pub const EMBSTR_MAX: usize = 44;

/// Longest string kept inline: the room the `Heap` variant's handle and
/// flag take anyway.
pub const INLINE_MAX: usize = 22;

fn inline(bytes: &[u8]) -> Option<StrValue> {
    let (len, buf) = crate::packed::inline_copy::<INLINE_MAX>(bytes)?;
    Some(StrValue::Inline { len, buf })
}

impl StrValue {
    /// Builds a value from client bytes the way Redis's `tryObjectEncoding`
    /// does: canonical integers become `Int`, the rest keeps its bytes.
    /// The bytes are copied so the value does not pin a network buffer.
    pub fn from_client(bytes: &[u8]) -> Self {
        if bytes.len() <= 20 {
            if let Some(n) = parse_i64(bytes) {
                return StrValue::Int(n);
            }
        }
        if let Some(v) = inline(bytes) {
            return v;
        }
        StrValue::Heap {
            data: Box::from(bytes),
            raw: bytes.len() > EMBSTR_MAX,
        }
    }

    /// A string Redis marks `raw` because it was built by modifying another
    /// (APPEND, SETRANGE).
    pub fn modified(data: Vec<u8>) -> Self {
        StrValue::Heap {
            data: data.into_boxed_slice(),
            raw: true,
        }
    }

    /// Builds a value that Redis creates without trying an integer encoding
    /// (for instance INCRBYFLOAT's result).
    pub fn plain(data: &[u8]) -> Self {
        if let Some(v) = inline(data) {
            return v;
        }
        StrValue::Heap {
            data: Box::from(data),
            raw: data.len() > EMBSTR_MAX,
        }
    }

    /// The string's bytes without formatting an integer: `None` for `Int`.
    pub fn as_slice(&self) -> Option<&[u8]> {
        match self {
            StrValue::Int(_) => None,
            StrValue::Inline { len, buf } => buf.get(..usize::from(*len)),
            StrValue::Heap { data, .. } => Some(data),
        }
    }

    /// The string's bytes (integers are formatted).
    pub fn to_bytes(&self) -> Bytes {
        match self {
            StrValue::Int(n) => Bytes::from(n.to_string()),
            StrValue::Inline { len, buf } => {
                Bytes::copy_from_slice(buf.get(..usize::from(*len)).unwrap_or_default())
            }
            StrValue::Heap { data, .. } => Bytes::copy_from_slice(data),
        }
    }

    /// Length in bytes of the string form.
    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(n) => int_len(*n),
            StrValue::Inline { len, .. } => usize::from(*len),
            StrValue::Heap { data, .. } => data.len(),
        }
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            StrValue::Int(_) => "int",
            StrValue::Inline { .. } => "embstr",
            StrValue::Heap { raw: true, .. } => "raw",
            StrValue::Heap { raw: false, .. } => "embstr",
        }
    }

    /// Heap bytes owned by this value, for memory accounting estimates.
    pub fn heap_size(&self) -> usize {
        match self {
            StrValue::Int(_) | StrValue::Inline { .. } => 0,
            StrValue::Heap { data, .. } => data.len(),
        }
    }
}

/// Number of decimal characters in `n`.
fn int_len(n: i64) -> usize {
    let mut len = if n < 0 { 2 } else { 1 };
    let mut v = n.unsigned_abs();
    while v >= 10 {
        v /= 10;
        len += 1;
    }
    len
}

/// The thresholds that decide when Redis switches a collection from its
/// compact encoding to the general one (the `*-max-listpack-*` and
/// `set-max-intset-entries` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodingLimits {
    /// `hash-max-listpack-entries`
    pub hash_max_listpack_entries: usize,
    /// `hash-max-listpack-value`
    pub hash_max_listpack_value: usize,
    /// `set-max-intset-entries`
    pub set_max_intset_entries: usize,
    /// `zset-max-listpack-entries`
    pub zset_max_listpack_entries: usize,
    /// `zset-max-listpack-value`
    pub zset_max_listpack_value: usize,
}

impl Default for EncodingLimits {
    /// Redis 7.0's defaults.
    fn default() -> Self {
        EncodingLimits {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
        }
    }
}

/// A value of any Redis type. Empty collections are never stored: commands
/// delete a key whose collection becomes empty, as Redis does.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `string`
    Str(StrValue),
    /// `list` (Redis 7.0 always reports the `quicklist` encoding).
    List(ListValue),
    /// `hash`
    Hash(HashValue),
    /// `set`
    Set(SetValue),
    /// `zset`
    ZSet(ZSetValue),
}

/// The type names `TYPE` and `SCAN ... TYPE` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// string
    Str,
    /// list
    List,
    /// hash
    Hash,
    /// set
    Set,
    /// zset
    ZSet,
}

impl ValueType {
    /// Redis's name for the type.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Str => "string",
            ValueType::List => "list",
            ValueType::Hash => "hash",
            ValueType::Set => "set",
            ValueType::ZSet => "zset",
        }
    }

    /// Parses a type name as `SCAN ... TYPE` accepts it (case-insensitive).
    pub fn from_name(name: &[u8]) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        Some(match lower.as_slice() {
            b"string" => ValueType::Str,
            b"list" => ValueType::List,
            b"hash" => ValueType::Hash,
            b"set" => ValueType::Set,
            b"zset" => ValueType::ZSet,
            _ => return None,
        })
    }
}

impl Value {
    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Str(_) => ValueType::Str,
            Value::List(_) => ValueType::List,
            Value::Hash(_) => ValueType::Hash,
            Value::Set(_) => ValueType::Set,
            Value::ZSet(_) => ValueType::ZSet,
        }
    }

    /// The name `OBJECT ENCODING` reports, as Redis 7.0 would.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(_) => "quicklist",
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }

    /// Roughly how many allocations freeing the value returns: 1 for
    /// strings and packed collections, the element count (or node count,
    /// for lists) otherwise. Decides whether a free is worth deferring.
    pub fn free_effort(&self) -> usize {
        match self {
            Value::Str(_) => 1,
            Value::List(l) => l.free_effort(),
            Value::Hash(h) if h.is_listpack() => 1,
            Value::Hash(h) => h.len(),
            Value::Set(s) if s.is_packed() => 1,
            Value::Set(s) => s.len(),
            Value::ZSet(z) if z.is_listpack() => 1,
            Value::ZSet(z) => z.len(),
        }
    }

    /// Approximate heap bytes held by the value (for `MEMORY USAGE`-style
    /// estimates; the server's `used_memory` comes from the allocator).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
            Value::List(l) => l.heap_size(),
            Value::Hash(h) => h.heap_size(),
            Value::Set(s) => s.heap_size(),
            Value::ZSet(z) => z.heap_size(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_strings_get_redis_encodings() {
        assert_eq!(StrValue::from_client(b"12345").encoding(), "int");
        assert_eq!(StrValue::from_client(b"-7").encoding(), "int");
        assert_eq!(StrValue::from_client(b"007").encoding(), "embstr");
        assert_eq!(StrValue::from_client(b"1 ").encoding(), "embstr");
        assert_eq!(StrValue::from_client(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(StrValue::from_client(&[b'a'; 45]).encoding(), "raw");
        assert_eq!(
            StrValue::from_client(b"99999999999999999999").encoding(),
            "embstr"
        );
    }

    #[test]
    fn collection_payloads_fit_in_24_bytes() {
        use std::mem::size_of;
        assert!(size_of::<HashValue>() <= 24);
        assert!(size_of::<SetValue>() <= 24);
        assert!(size_of::<ZSetValue>() <= 24);
        assert!(size_of::<ListValue>() <= 24);
    }

    #[test]
    fn int_len_counts_sign_and_digits() {
        for n in [0i64, 9, 10, -1, -10, i64::MAX, i64::MIN, 123456] {
            assert_eq!(int_len(n), n.to_string().len(), "{n}");
        }
    }
}
