//! The crate's own value model. It is deliberately independent of the
//! keyspace crate: the server converts in both directions.

use bytes::Bytes;

/// A value of one of the five core Redis types, as read from or written to
/// an RDB stream. Collections are plain vectors in file order; the reader
/// rejects duplicate members and fields, and the writer expects none.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbValue {
    /// A string (integers are given in decimal form).
    String(Bytes),
    /// A list, head first.
    List(Vec<Bytes>),
    /// A set's members, in no particular order.
    Set(Vec<Bytes>),
    /// A sorted set's members with their scores, in no particular order.
    SortedSet(Vec<(Bytes, f64)>),
    /// A hash's field/value pairs, in no particular order.
    Hash(Vec<(Bytes, Bytes)>),
}

impl RdbValue {
    /// The name `TYPE` gives for values of this kind.
    pub fn type_name(&self) -> &'static str {
        match self {
            RdbValue::String(_) => "string",
            RdbValue::List(_) => "list",
            RdbValue::Set(_) => "set",
            RdbValue::SortedSet(_) => "zset",
            RdbValue::Hash(_) => "hash",
        }
    }

    /// Number of elements (pairs for hashes and sorted sets); 1 for strings.
    pub fn len(&self) -> usize {
        match self {
            RdbValue::String(_) => 1,
            RdbValue::List(v) | RdbValue::Set(v) => v.len(),
            RdbValue::SortedSet(v) => v.len(),
            RdbValue::Hash(v) => v.len(),
        }
    }

    /// Whether this is a collection without elements (Redis never stores
    /// those; the reader skips them and the writer refuses them).
    pub fn is_empty(&self) -> bool {
        !matches!(self, RdbValue::String(_)) && self.len() == 0
    }
}

/// One key with its value and metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct RdbEntry {
    /// The key.
    pub key: Bytes,
    /// The value.
    pub value: RdbValue,
    /// Absolute expire time in Unix milliseconds, if the key has a TTL.
    pub expire_ms: Option<i64>,
    /// Seconds since last access (saved under an LRU `maxmemory-policy`).
    pub idle_secs: Option<u64>,
    /// LFU logarithmic access counter (saved under an LFU policy).
    pub freq: Option<u8>,
}

impl RdbEntry {
    /// An entry without expiry or eviction metadata.
    pub fn new(key: impl Into<Bytes>, value: RdbValue) -> Self {
        Self {
            key: key.into(),
            value,
            expire_ms: None,
            idle_secs: None,
            freq: None,
        }
    }
}

/// One item of an RDB stream, in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbEvent {
    /// An auxiliary field such as `redis-ver`, `ctime` or `repl-id`.
    /// Integer values are given in decimal form.
    Aux {
        /// Field name.
        key: Bytes,
        /// Field value.
        value: Bytes,
    },
    /// The following keys belong to this database.
    SelectDb(u64),
    /// Size hints for the current database.
    ResizeDb {
        /// Number of keys.
        db_size: u64,
        /// Number of keys with an expire time.
        expires_size: u64,
    },
    /// A key and its value.
    Entry(RdbEntry),
    /// Module auxiliary data, which was skipped.
    ModuleAux,
    /// A function library's source code (`#!<engine> name=<lib>` and the
    /// code), as `FUNCTION LOAD` takes it.
    Function(Bytes),
    /// End of the stream; `checksum` is `None` when the file was written
    /// without one (a zero trailer), otherwise the verified CRC-64.
    Eof {
        /// The CRC-64 from the trailer, if it was computed by the writer.
        checksum: Option<u64>,
    },
}
