//! Numeric constants of the RDB format: versions, opcodes and value types.
//!
//! The names follow the roles the bytes play in the file; the numbers are
//! fixed by the format and shared by every Redis release that knows them.

/// RDB version this crate writes by default, and the one Redis 7.0 writes.
/// Redis 7.0 refuses files and DUMP payloads with a higher version.
pub const RDB_VERSION: u16 = 10;

/// Oldest RDB version the reader accepts, as Redis 7.0 does (Redis 2.0's
/// files; versions below [`FIRST_CHECKSUM_VERSION`] end at the EOF opcode).
pub const MIN_READ_VERSION: u32 = 1;

/// First RDB version whose files end with a CRC64 trailer (Redis 2.6).
pub const FIRST_CHECKSUM_VERSION: u32 = 5;

/// Newest RDB version the reader accepts (Redis 7.4).
pub const MAX_READ_VERSION: u32 = 12;

/// Highest RDB version a DUMP payload may carry for Redis 7.0's RESTORE.
pub const DUMP_MAX_VERSION: u16 = 10;

/// Opcode bytes that may appear where a value type is expected.
pub mod opcode {
    /// Cluster slot size hint (RDB 12): slot id, keys, expiring keys.
    pub const SLOT_INFO: u8 = 0xF4;
    /// Function library source (Redis 7.0 GA and later).
    pub const FUNCTION2: u8 = 0xF5;
    /// Function library in the 7.0 release-candidate layout.
    pub const FUNCTION_PRE_GA: u8 = 0xF6;
    /// Module auxiliary data.
    pub const MODULE_AUX: u8 = 0xF7;
    /// LRU idle time of the next key, in seconds.
    pub const IDLE: u8 = 0xF8;
    /// LFU frequency counter of the next key.
    pub const FREQ: u8 = 0xF9;
    /// Auxiliary key/value field.
    pub const AUX: u8 = 0xFA;
    /// Hash table size hints for the current database.
    pub const RESIZEDB: u8 = 0xFB;
    /// Absolute expire time of the next key, milliseconds.
    pub const EXPIRETIME_MS: u8 = 0xFC;
    /// Absolute expire time of the next key, seconds (old files).
    pub const EXPIRETIME: u8 = 0xFD;
    /// Switch to another database.
    pub const SELECTDB: u8 = 0xFE;
    /// End of the data; the 8-byte checksum follows.
    pub const EOF: u8 = 0xFF;
}

/// Value type bytes.
pub mod rdb_type {
    /// String.
    pub const STRING: u8 = 0;
    /// List as a plain sequence of strings.
    pub const LIST: u8 = 1;
    /// Set as a plain sequence of strings.
    pub const SET: u8 = 2;
    /// Sorted set with scores as length-prefixed text.
    pub const ZSET: u8 = 3;
    /// Hash as a plain sequence of field/value strings.
    pub const HASH: u8 = 4;
    /// Sorted set with binary double scores.
    pub const ZSET_2: u8 = 5;
    /// Module value (Redis 4.0 release candidates).
    pub const MODULE: u8 = 6;
    /// Module value with parsing annotations.
    pub const MODULE_2: u8 = 7;
    /// Hash as a zipmap blob (Redis 2.4 and older).
    pub const HASH_ZIPMAP: u8 = 9;
    /// List as a ziplist blob.
    pub const LIST_ZIPLIST: u8 = 10;
    /// Integer set blob.
    pub const SET_INTSET: u8 = 11;
    /// Sorted set as a ziplist blob.
    pub const ZSET_ZIPLIST: u8 = 12;
    /// Hash as a ziplist blob.
    pub const HASH_ZIPLIST: u8 = 13;
    /// List as a quicklist of ziplists.
    pub const LIST_QUICKLIST: u8 = 14;
    /// Stream (Redis 5.0).
    pub const STREAM_LISTPACKS: u8 = 15;
    /// Hash as a listpack blob.
    pub const HASH_LISTPACK: u8 = 16;
    /// Sorted set as a listpack blob.
    pub const ZSET_LISTPACK: u8 = 17;
    /// List as a quicklist of listpacks or plain nodes.
    pub const LIST_QUICKLIST_2: u8 = 18;
    /// Stream (Redis 7.0).
    pub const STREAM_LISTPACKS_2: u8 = 19;
    /// Set as a listpack blob (Redis 7.2).
    pub const SET_LISTPACK: u8 = 20;
    /// Stream (Redis 7.2).
    pub const STREAM_LISTPACKS_3: u8 = 21;
    /// Hash with field expirations, 7.4 release candidates.
    pub const HASH_METADATA_PRE_GA: u8 = 22;
    /// Listpack hash with field expirations, 7.4 release candidates.
    pub const HASH_LISTPACK_EX_PRE_GA: u8 = 23;
    /// Hash with field expirations (Redis 7.4).
    pub const HASH_METADATA: u8 = 24;
    /// Listpack hash with field expirations (Redis 7.4).
    pub const HASH_LISTPACK_EX: u8 = 25;

    /// A short human-readable name for a value type byte, for messages.
    pub fn name(t: u8) -> &'static str {
        match t {
            STRING => "string",
            LIST => "list",
            SET => "set",
            ZSET => "zset",
            HASH => "hash",
            ZSET_2 => "zset-2",
            MODULE => "module",
            MODULE_2 => "module-2",
            HASH_ZIPMAP => "hash-zipmap",
            LIST_ZIPLIST => "list-ziplist",
            SET_INTSET => "set-intset",
            ZSET_ZIPLIST => "zset-ziplist",
            HASH_ZIPLIST => "hash-ziplist",
            LIST_QUICKLIST => "list-quicklist",
            STREAM_LISTPACKS => "stream",
            HASH_LISTPACK => "hash-listpack",
            ZSET_LISTPACK => "zset-listpack",
            LIST_QUICKLIST_2 => "list-quicklist-2",
            STREAM_LISTPACKS_2 => "stream-2",
            SET_LISTPACK => "set-listpack",
            STREAM_LISTPACKS_3 => "stream-3",
            HASH_METADATA_PRE_GA | HASH_METADATA => "hash-with-field-ttl",
            HASH_LISTPACK_EX_PRE_GA | HASH_LISTPACK_EX => "hash-listpack-with-field-ttl",
            _ => "unknown",
        }
    }

    /// Whether the byte names a value type of some Redis release (as
    /// opposed to an opcode or garbage).
    pub fn is_known(t: u8) -> bool {
        matches!(t, 0..=7 | 9..=25)
    }

    /// Whether this crate can decode values of this type. The others are
    /// modules, streams and hashes with per-field expiry.
    pub fn is_supported(t: u8) -> bool {
        matches!(t, 0..=5 | 9..=14 | 16..=18 | 20)
    }
}

/// Quicklist node container kinds (RDB type 18).
pub(crate) mod container {
    /// A node holding one large element as raw bytes.
    pub const PLAIN: u64 = 1;
    /// A node holding a listpack.
    pub const PACKED: u64 = 2;
}
