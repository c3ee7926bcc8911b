//! The Redis RDB snapshot format for replikv: a resumable reader, a
//! streaming writer and DUMP/RESTORE payloads.
//!
//! Sans-IO: bytes in, events out; bytes out into caller-provided buffers.
//! Nothing here touches files, sockets or clocks.
//!
//! - [`RdbReader`]: fed chunks as they arrive, yields [`RdbEvent`]s. Reads
//!   RDB versions 6 to 12 (Redis 2.6 to 7.4) and every encoding of strings,
//!   lists, sets, sorted sets and hashes; modules, streams and hashes with
//!   field expiry are reported as typed errors. [`read_all`] reads a file
//!   held in memory.
//! - [`RdbWriter`]: writes RDB version 10 (Redis 7.0) with the encodings
//!   Redis 7.0 picks for each value, optional LZF compression and CRC-64.
//! - [`dump_payload`] / [`parse_dump_payload`]: the `DUMP` / `RESTORE`
//!   payload format.
//!
//! The value model ([`RdbValue`], [`RdbEntry`]) is this crate's own; the
//! server converts to and from its keyspace types.

mod decode;
mod dump;
mod encode;
mod error;
pub mod format;
mod input;
mod intset;
mod listpack;
mod lzf;
mod num;
mod reader;
mod value;
mod writer;
mod ziplist;
mod zipmap;

pub use dump::{
    dump_payload, functions_dump_payload, parse_dump_payload, parse_functions_payload,
    FunctionsPayloadError,
};
pub use encode::EncodingLimits;
pub use error::{RdbError, RdbErrorKind};
pub use reader::{read_all, RdbReader, ReaderOptions};
pub use value::{RdbEntry, RdbEvent, RdbValue};
pub use writer::{RdbWriter, ReplAux, StandardAux, WriteError, WriterOptions};

/// CRC-64 as Redis computes it (Jones polynomial, reflected), for callers
/// that need to checksum RDB data themselves.
pub fn crc64(data: &[u8]) -> u64 {
    input::CRC64.checksum(data)
}

#[cfg(test)]
mod tests;
