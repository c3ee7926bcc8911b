//! DUMP / RESTORE payloads: one value in RDB encoding plus a footer.
//!
//! Layout: type byte, value, RDB version (u16 LE), CRC-64 (u64 LE) of
//! everything before it.

use bytes::Bytes;

use crate::decode::{Parsed, ValueParser};
use crate::error::{RdbError, RdbErrorKind};
use crate::format::{rdb_type, DUMP_MAX_VERSION};
use crate::input::{Input, CRC64};
use crate::reader::ReaderOptions;
use crate::value::RdbValue;
use crate::writer::{RdbWriter, WriterOptions};

/// Footer size: version and checksum.
const FOOTER: usize = 10;

/// The payload `DUMP` returns for `value`, as Redis 7.0 produces it with
/// its default `rdbcompression yes`: RDB version 10 in the footer.
///
/// The value is encoded as given; empty collections and NaN scores (which
/// RESTORE would refuse) are not checked here.
pub fn dump_payload(value: &RdbValue) -> Bytes {
    RdbWriter::new(WriterOptions::default()).dump_payload(value)
}

/// Decodes a `RESTORE` payload: checks the footer like Redis 7.0 (RDB
/// version at most 10, CRC-64 over everything before the checksum) and
/// decodes the value.
///
/// On error, [`RdbError::restore_reply`] gives the reply Redis sends.
/// Bytes between the value and the footer are ignored, as Redis does.
pub fn parse_dump_payload(data: &[u8]) -> Result<RdbValue, RdbError> {
    let n = data.len();
    if n < FOOTER {
        return Err(RdbError::new(RdbErrorKind::DumpTooShort(n), 0));
    }
    let (body, footer) = data.split_at(n - FOOTER);
    let (version, crc) = footer.split_at(2);
    let version = u16::from_le_bytes([
        version.first().copied().unwrap_or(0),
        version.get(1).copied().unwrap_or(0),
    ]);
    if version > DUMP_MAX_VERSION {
        return Err(RdbError::new(
            RdbErrorKind::DumpVersion(version),
            (n - FOOTER) as u64,
        ));
    }
    let stored = <[u8; 8]>::try_from(crc)
        .map(u64::from_le_bytes)
        .unwrap_or(0);
    let computed = CRC64.checksum(data.get(..n - 8).unwrap_or_default());
    if stored != computed {
        return Err(RdbError::new(
            RdbErrorKind::DumpChecksum { stored, computed },
            (n - 8) as u64,
        ));
    }
    let Some((&t, value)) = body.split_first() else {
        return Err(RdbError::new(RdbErrorKind::Truncated("the value type"), 0));
    };
    if !rdb_type::is_known(t) {
        return Err(RdbError::new(RdbErrorKind::UnknownOpcode(t), 0));
    }
    let Some(mut parser) = ValueParser::new(t, 1) else {
        return Err(RdbError::new(RdbErrorKind::UnsupportedType(t), 0));
    };
    let mut input = Input::from_slice_at(value, 1);
    match parser.poll(&mut input, &ReaderOptions::default())? {
        Some(Parsed::Value(v)) => Ok(v),
        Some(Parsed::Empty) => Err(RdbError::new(RdbErrorKind::EmptyValue, 1)),
        None => Err(RdbError::new(
            RdbErrorKind::Truncated("the value"),
            body.len() as u64,
        )),
    }
}
