//! The values a key can hold, one variant per Redis type.

use std::collections::{HashMap, HashSet, VecDeque};

use bytes::Bytes;

use crate::numeric::parse_i64;

/// A Redis string value, kept in the representation Redis would report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrValue {
    /// A canonical integer (`OBJECT ENCODING` says `int`).
    Int(i64),
    /// Bytes; `raw` is set once the string was modified in place (APPEND,
    /// SETRANGE) or is longer than Redis's embedded-string limit.
    Bytes {
        /// The content.
        data: Bytes,
        /// Whether Redis would call this encoding `raw` rather than `embstr`.
        raw: bool,
    },
}

/// Longest string Redis stores in the `embstr` encoding.
pub const EMBSTR_MAX: usize = 44;

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
        StrValue::Bytes {
            data: Bytes::copy_from_slice(bytes),
            raw: bytes.len() > EMBSTR_MAX,
        }
    }

    /// Builds a value that Redis creates without trying an integer encoding
    /// (for instance INCRBYFLOAT's result).
    pub fn plain(data: Bytes) -> Self {
        let raw = data.len() > EMBSTR_MAX;
        StrValue::Bytes { data, raw }
    }

    /// The string's bytes (integers are formatted).
    pub fn to_bytes(&self) -> Bytes {
        match self {
            StrValue::Int(n) => Bytes::from(n.to_string()),
            StrValue::Bytes { data, .. } => data.clone(),
        }
    }

    /// Length in bytes of the string form.
    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(n) => int_len(*n),
            StrValue::Bytes { data, .. } => data.len(),
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
            StrValue::Bytes { raw: true, .. } => "raw",
            StrValue::Bytes { raw: false, .. } => "embstr",
        }
    }

    /// Heap bytes owned by this value, for memory accounting estimates.
    pub fn heap_size(&self) -> usize {
        match self {
            StrValue::Int(_) => 0,
            StrValue::Bytes { data, .. } => data.len(),
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

/// A value of any Redis type.
///
/// Strings carry their full command set in this crate; the collection types
/// are held so data sets can be stored, typed and deleted, and their commands
/// live in their own modules.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `string`
    Str(StrValue),
    /// `list`
    List(VecDeque<Bytes>),
    /// `hash`
    Hash(HashMap<Bytes, Bytes>),
    /// `set`
    Set(HashSet<Bytes>),
    /// `zset`: member to score; ordering structures come with the sorted-set commands.
    ZSet(HashMap<Bytes, f64>),
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

    /// The name `OBJECT ENCODING` reports, following Redis 7.0's defaults
    /// for when small collections use a compact encoding.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(_) => "quicklist",
            Value::Hash(h) => {
                if h.len() <= 128 && h.iter().all(|(k, v)| k.len() <= 64 && v.len() <= 64) {
                    "listpack"
                } else {
                    "hashtable"
                }
            }
            Value::Set(s) => {
                if s.len() <= 512 && s.iter().all(|m| parse_i64(m).is_some()) {
                    "intset"
                } else {
                    "hashtable"
                }
            }
            Value::ZSet(z) => {
                if z.len() <= 128 && z.keys().all(|m| m.len() <= 64) {
                    "listpack"
                } else {
                    "skiplist"
                }
            }
        }
    }

    /// Approximate heap bytes held by the value (for `MEMORY USAGE`-style
    /// estimates; the server's `used_memory` comes from the allocator).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
            Value::List(l) => l.iter().map(|e| e.len() + 16).sum(),
            Value::Hash(h) => h.iter().map(|(k, v)| k.len() + v.len() + 32).sum(),
            Value::Set(s) => s.iter().map(|m| m.len() + 16).sum(),
            Value::ZSet(z) => z.keys().map(|m| m.len() + 24).sum(),
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
    fn int_len_counts_sign_and_digits() {
        for n in [0i64, 9, 10, -1, -10, i64::MAX, i64::MIN, 123456] {
            assert_eq!(int_len(n), n.to_string().len(), "{n}");
        }
    }
}
