//! Errors reported by the reader and by [`parse_dump_payload`](crate::parse_dump_payload).

use std::fmt;

use bytes::Bytes;
use thiserror::Error;

use crate::format::rdb_type;

/// What was wrong with the input. Carried by [`RdbError`] together with the
/// byte offset and, when known, the key being read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RdbErrorKind {
    /// The stream does not start with `REDIS` followed by four digits.
    #[error("bad magic: not an RDB file (expected \"REDIS\" and a 4-digit version)")]
    BadMagic,
    /// The version number is outside the supported range.
    #[error("unsupported RDB version {0} (this reader handles 6 to 12)")]
    UnsupportedVersion(u32),
    /// A byte that is neither an opcode nor a value type of any release.
    #[error("unknown opcode or value type {0:#04x}")]
    UnknownOpcode(u8),
    /// A value type that exists in Redis but that this crate cannot decode
    /// (modules, streams, hashes with field expiry).
    #[error("unsupported value type {0} ({name})", name = rdb_type::name(*.0))]
    UnsupportedType(u8),
    /// The input ended inside an item; `0` says which.
    #[error("truncated input: the data ends inside {0}")]
    Truncated(&'static str),
    /// The CRC-64 trailer does not match the data.
    #[error(
        "checksum mismatch: the file says {stored:#018x}, the data hashes to {computed:#018x}"
    )]
    ChecksumMismatch {
        /// Checksum stored in the trailer.
        stored: u64,
        /// Checksum computed over the data read.
        computed: u64,
    },
    /// A length (of a string, a collection or a blob) over the configured
    /// limit; nothing was allocated for it.
    #[error("{what} length {len} exceeds the limit of {max}")]
    LengthTooLarge {
        /// What the length was for.
        what: &'static str,
        /// The length found.
        len: u64,
        /// The configured maximum.
        max: u64,
    },
    /// A length prefix whose first byte matches no length encoding.
    #[error("invalid length encoding byte {0:#04x}")]
    BadLengthEncoding(u8),
    /// A special string encoding other than int8/16/32 and LZF.
    #[error("unknown string encoding {0}")]
    BadStringEncoding(u8),
    /// An encoded integer where a plain length was required.
    #[error("an encoded value appears where a plain length is required")]
    UnexpectedEncodedLength,
    /// LZF data that does not decompress to the announced length.
    #[error("invalid LZF-compressed string: {0}")]
    BadLzf(&'static str),
    /// A ziplist, listpack, intset, zipmap or quicklist that breaks its
    /// format rules.
    #[error("corrupt {what}: {reason}")]
    Corrupt {
        /// The structure.
        what: &'static str,
        /// The rule broken.
        reason: &'static str,
    },
    /// The same member or field twice in a set, sorted set or hash.
    #[error("duplicate {what} {}", Shown(.member))]
    Duplicate {
        /// "set member", "sorted set member" or "hash field".
        what: &'static str,
        /// The repeated member or field.
        member: Bytes,
    },
    /// A sorted-set score that is NaN.
    #[error("sorted set score is NaN")]
    NanScore,
    /// A sorted-set score that is not a number.
    #[error("invalid sorted set score {}", Shown(.0))]
    BadScore(Bytes),
    /// A DUMP payload shorter than its 10-byte footer.
    #[error("DUMP payload too short ({0} bytes)")]
    DumpTooShort(usize),
    /// A DUMP payload from a newer RDB version than Redis 7.0 accepts.
    #[error("DUMP payload has RDB version {0}, newer than 10")]
    DumpVersion(u16),
    /// A DUMP payload whose CRC-64 footer does not match.
    #[error("DUMP payload checksum mismatch: the payload says {stored:#018x}, the data hashes to {computed:#018x}")]
    DumpChecksum {
        /// Checksum stored in the payload.
        stored: u64,
        /// Checksum computed over the payload.
        computed: u64,
    },
    /// A sorted set, set, list or hash with no elements in a DUMP payload
    /// (in a file such keys are skipped, as Redis does).
    #[error("empty collection")]
    EmptyValue,
}

/// An error reading RDB data: what was wrong, where, and for which key.
///
/// Reader errors are sticky: once [`RdbReader::next_event`](crate::RdbReader::next_event)
/// has returned one, it returns the same error again.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind}{} at byte offset {offset}", KeyNote(.key.as_ref()))]
pub struct RdbError {
    kind: RdbErrorKind,
    offset: u64,
    key: Option<Bytes>,
}

impl RdbError {
    /// An error of `kind` found at stream offset `offset`.
    pub fn new(kind: RdbErrorKind, offset: u64) -> Self {
        Self {
            kind,
            offset,
            key: None,
        }
    }

    /// Attaches the key being read, unless one is already attached.
    pub(crate) fn with_key(mut self, key: &Bytes) -> Self {
        if self.key.is_none() {
            self.key = Some(key.clone());
        }
        self
    }

    /// What was wrong.
    pub fn kind(&self) -> &RdbErrorKind {
        &self.kind
    }

    /// Offset, from the start of the stream (or DUMP payload), of the item
    /// that was wrong, or of the end of the input for truncation.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The key whose type or value was being read, if any.
    pub fn key(&self) -> Option<&Bytes> {
        self.key.as_ref()
    }

    /// Whether the input simply stopped too early (more bytes might have
    /// made it valid).
    pub fn is_truncated(&self) -> bool {
        matches!(self.kind, RdbErrorKind::Truncated(_))
    }

    /// The error reply Redis 7.0's RESTORE sends for this error from
    /// [`parse_dump_payload`](crate::parse_dump_payload): a bad footer
    /// (length, version or checksum) gets one text, anything wrong inside
    /// the value another.
    pub fn restore_reply(&self) -> &'static str {
        match self.kind {
            RdbErrorKind::DumpTooShort(_)
            | RdbErrorKind::DumpVersion(_)
            | RdbErrorKind::DumpChecksum { .. } => "ERR DUMP payload version or checksum are wrong",
            _ => "ERR Bad data format",
        }
    }
}

/// Shows a byte string in messages: printable ASCII as is, other bytes
/// escaped, cut after 64 bytes so a huge key cannot flood a log.
pub(crate) struct Shown<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 64;
        f.write_str("\"")?;
        for &b in self.0.iter().take(MAX) {
            match b {
                b'"' => f.write_str("\\\"")?,
                b'\\' => f.write_str("\\\\")?,
                0x20..=0x7e => write!(f, "{}", char::from(b))?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        f.write_str("\"")?;
        if self.0.len() > MAX {
            write!(f, "... ({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

/// The " in key ..." part of an error message, empty without a key.
struct KeyNote<'a>(Option<&'a Bytes>);

impl fmt::Display for KeyNote<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(k) => write!(f, " in key {}", Shown(k)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_offset_and_key() {
        let e = RdbError::new(RdbErrorKind::UnsupportedType(15), 42).with_key(&Bytes::from("s\n1"));
        assert_eq!(
            e.to_string(),
            "unsupported value type 15 (stream) in key \"s\\x0a1\" at byte offset 42"
        );
        let e = RdbError::new(
            RdbErrorKind::ChecksumMismatch {
                stored: 1,
                computed: 2,
            },
            7,
        );
        assert!(e.to_string().contains("0x0000000000000001"));
        assert_eq!(e.restore_reply(), "ERR Bad data format");
        let e = RdbError::new(RdbErrorKind::DumpVersion(11), 0);
        assert_eq!(
            e.restore_reply(),
            "ERR DUMP payload version or checksum are wrong"
        );
    }

    #[test]
    fn long_keys_are_cut_in_messages() {
        let long = vec![b'a'; 100];
        let s = Shown(&long).to_string();
        assert!(s.ends_with("... (100 bytes)"));
    }
}
