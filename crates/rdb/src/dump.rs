//! DUMP / RESTORE payloads: one value in RDB encoding plus a footer.
//!
//! Layout: type byte, value, RDB version (u16 LE), CRC-64 (u64 LE) of
//! everything before it.

use bytes::Bytes;

use crate::decode::{Parsed, ValueParser};
use crate::error::{RdbError, RdbErrorKind};
use crate::format::{opcode, rdb_type, DUMP_MAX_VERSION};
use crate::input::{Input, StrRead, CRC64};
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

/// Checks a payload's footer like Redis 7.0 (RDB version at most 10,
/// CRC-64 over everything before the checksum); gives what precedes it.
fn check_footer(data: &[u8]) -> Result<&[u8], RdbError> {
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
    Ok(body)
}

/// The payload `FUNCTION DUMP` returns for these libraries (each given by
/// its full code, as `FUNCTION LOAD` takes it), as Redis 7.0 writes it.
pub fn functions_dump_payload<'a>(codes: impl IntoIterator<Item = &'a [u8]>) -> Bytes {
    RdbWriter::new(WriterOptions::default()).functions_dump_payload(codes)
}

/// Why a `FUNCTION RESTORE` payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FunctionsPayloadError {
    /// The footer's version or checksum is wrong.
    #[error("DUMP payload version or checksum are wrong")]
    Footer,
    /// A record other than a function library.
    #[error("given type is not a function")]
    NotAFunction,
    /// A library record that ends early or is malformed.
    #[error("failed loading the given functions payload")]
    Malformed,
}

/// Decodes a `FUNCTION RESTORE` payload into each library's code, in
/// order. Records of the 7.0 release candidates (name, engine and code
/// apart) come back as the code with its shebang line, as later releases
/// store it.
pub fn parse_functions_payload(data: &[u8]) -> Result<Vec<Bytes>, FunctionsPayloadError> {
    let body = check_footer(data).map_err(|_| FunctionsPayloadError::Footer)?;
    let mut input = Input::from_slice_at(body, 0);
    let max = ReaderOptions::default().max_string_len;
    let string = |input: &mut Input| -> Result<Bytes, FunctionsPayloadError> {
        StrRead::Start
            .poll(input, max)
            .ok()
            .flatten()
            .ok_or(FunctionsPayloadError::Malformed)
    };
    let mut codes = Vec::new();
    while let Some(&t) = input.avail().first() {
        input.consume(1);
        match t {
            opcode::FUNCTION2 => codes.push(string(&mut input)?),
            opcode::FUNCTION_PRE_GA => {
                let name = string(&mut input)?;
                let engine = string(&mut input)?;
                let has_desc = input
                    .take_len()
                    .ok()
                    .flatten()
                    .ok_or(FunctionsPayloadError::Malformed)?;
                if has_desc != 0 {
                    string(&mut input)?;
                }
                let code = string(&mut input)?;
                let mut full = Vec::with_capacity(code.len() + name.len() + engine.len() + 9);
                full.extend_from_slice(b"#!");
                full.extend_from_slice(&engine);
                full.extend_from_slice(b" name=");
                full.extend_from_slice(&name);
                full.push(b'\n');
                full.extend_from_slice(&code);
                codes.push(Bytes::from(full));
            }
            _ => return Err(FunctionsPayloadError::NotAFunction),
        }
    }
    Ok(codes)
}

/// Decodes a `RESTORE` payload: checks the footer like Redis 7.0 (RDB
/// version at most 10, CRC-64 over everything before the checksum) and
/// decodes the value.
///
/// On error, [`RdbError::restore_reply`] gives the reply Redis sends.
/// Bytes between the value and the footer are ignored, as Redis does.
pub fn parse_dump_payload(data: &[u8]) -> Result<RdbValue, RdbError> {
    let body = check_footer(data)?;
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
