//! The streaming RDB writer.

use bytes::{BufMut, Bytes, BytesMut};
use thiserror::Error;

use crate::encode::{put_len, Encoder, EncodingLimits};
use crate::error::Shown;
use crate::format::{opcode, rdb_type, DUMP_MAX_VERSION, RDB_VERSION};
use crate::input::{Crc64Digest, CRC64};
use crate::value::{RdbEntry, RdbValue};

/// Settings of [`RdbWriter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterOptions {
    /// Version number written in the header. The encodings are always the
    /// ones Redis 7.0 writes (RDB 10), so lowering this does not make the
    /// file readable by older releases.
    pub rdb_version: u16,
    /// `rdbcompression`: LZF-compress strings longer than 20 bytes when it
    /// saves space.
    pub compression: bool,
    /// `rdbchecksum`: write a CRC-64 trailer (otherwise zero).
    pub checksum: bool,
    /// Size thresholds deciding each value's encoding.
    pub limits: EncodingLimits,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            rdb_version: RDB_VERSION,
            compression: true,
            checksum: true,
            limits: EncodingLimits::default(),
        }
    }
}

/// The aux fields Redis writes at the start of every RDB file, in its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandardAux {
    /// `redis-ver`: the server version string.
    pub redis_ver: String,
    /// `redis-bits`: 64 or 32.
    pub redis_bits: u32,
    /// `ctime`: creation time, Unix seconds.
    pub ctime: i64,
    /// `used-mem`: bytes of memory in use when saving.
    pub used_mem: u64,
    /// Replication fields, written when the file is for (or from) replication.
    pub repl: Option<ReplAux>,
    /// `aof-base`: whether the file is the base of an AOF.
    pub aof_base: bool,
}

/// Replication aux fields (`repl-stream-db`, `repl-id`, `repl-offset`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplAux {
    /// Database the replication stream had selected.
    pub stream_db: i64,
    /// The 40-character replication ID.
    pub repl_id: String,
    /// The master replication offset.
    pub repl_offset: i64,
}

/// A value the writer refuses, because Redis would refuse to load it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A list, set, sorted set or hash with no elements.
    #[error("key {} holds an empty collection", Shown(.0))]
    EmptyCollection(Bytes),
    /// A sorted set with a NaN score.
    #[error("key {} holds a sorted set with a NaN score", Shown(.0))]
    NanScore(Bytes),
}

/// Writes an RDB stream into caller-provided buffers.
///
/// Each `write_*` call appends to `out`; the caller drains `out` whenever it
/// likes (typically once it passes a chunk size), so the whole file never
/// needs to be in memory. The writer keeps a running CRC-64 of everything
/// it produced for the trailer written by [`write_eof`](Self::write_eof).
///
/// ```
/// use bytes::BytesMut;
/// use rdb::{RdbEntry, RdbValue, RdbWriter, WriterOptions};
/// let mut w = RdbWriter::new(WriterOptions::default());
/// let mut out = BytesMut::new();
/// w.write_header(&mut out);
/// w.write_select_db(0, &mut out);
/// w.write_resize_db(1, 0, &mut out);
/// w.write_entry(&RdbEntry::new("k", RdbValue::String("v".into())), &mut out)
///     .expect("not empty");
/// w.write_eof(&mut out);
/// let events = rdb::read_all(&out).expect("valid");
/// assert_eq!(events.len(), 4);
/// ```
#[derive(Debug)]
pub struct RdbWriter {
    opts: WriterOptions,
    enc: Encoder,
    crc: Option<CrcState>,
    written: u64,
}

/// `Digest` has no `Debug`; this wrapper gives it one.
struct CrcState(Crc64Digest);

impl std::fmt::Debug for CrcState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CrcState")
    }
}

impl Default for RdbWriter {
    fn default() -> Self {
        Self::new(WriterOptions::default())
    }
}

impl RdbWriter {
    /// A writer with the given options.
    pub fn new(opts: WriterOptions) -> Self {
        Self {
            enc: Encoder::new(opts.compression, opts.limits.clone()),
            crc: opts.checksum.then(|| CrcState(CRC64.digest())),
            written: 0,
            opts,
        }
    }

    /// The options in use.
    pub fn options(&self) -> &WriterOptions {
        &self.opts
    }

    /// Total bytes produced so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Accounts for (and checksums) what was appended to `out` since `start`.
    fn track(&mut self, out: &BytesMut, start: usize) {
        let new = out.get(start..).unwrap_or_default();
        self.written += new.len() as u64;
        if let Some(crc) = self.crc.as_mut() {
            crc.0.update(new);
        }
    }

    /// Writes `REDIS` and the 4-digit version.
    pub fn write_header(&mut self, out: &mut BytesMut) {
        let start = out.len();
        out.put_slice(format!("REDIS{:04}", self.opts.rdb_version.min(9999)).as_bytes());
        self.track(out, start);
    }

    /// Writes an aux field.
    pub fn write_aux(&mut self, key: &[u8], value: &[u8], out: &mut BytesMut) {
        let start = out.len();
        out.put_u8(opcode::AUX);
        self.enc.strings.put(out, key);
        self.enc.strings.put(out, value);
        self.track(out, start);
    }

    /// Writes the aux fields Redis 7.0 puts at the start of a file:
    /// `redis-ver`, `redis-bits`, `ctime`, `used-mem`, the replication
    /// fields if given, and `aof-base`.
    pub fn write_standard_aux(&mut self, aux: &StandardAux, out: &mut BytesMut) {
        self.write_aux(b"redis-ver", aux.redis_ver.as_bytes(), out);
        self.write_aux(b"redis-bits", aux.redis_bits.to_string().as_bytes(), out);
        self.write_aux(b"ctime", aux.ctime.to_string().as_bytes(), out);
        self.write_aux(b"used-mem", aux.used_mem.to_string().as_bytes(), out);
        if let Some(r) = &aux.repl {
            self.write_aux(b"repl-stream-db", r.stream_db.to_string().as_bytes(), out);
            self.write_aux(b"repl-id", r.repl_id.as_bytes(), out);
            self.write_aux(b"repl-offset", r.repl_offset.to_string().as_bytes(), out);
        }
        self.write_aux(b"aof-base", if aux.aof_base { b"1" } else { b"0" }, out);
    }

    /// Writes a function library (its full source, as `FUNCTION LOAD`
    /// takes it).
    pub fn write_function(&mut self, code: &[u8], out: &mut BytesMut) {
        let start = out.len();
        out.put_u8(opcode::FUNCTION2);
        self.enc.strings.put(out, code);
        self.track(out, start);
    }

    /// Switches to database `db`.
    pub fn write_select_db(&mut self, db: u64, out: &mut BytesMut) {
        let start = out.len();
        out.put_u8(opcode::SELECTDB);
        put_len(out, db);
        self.track(out, start);
    }

    /// Writes the size hints of the current database.
    pub fn write_resize_db(&mut self, db_size: u64, expires_size: u64, out: &mut BytesMut) {
        let start = out.len();
        out.put_u8(opcode::RESIZEDB);
        put_len(out, db_size);
        put_len(out, expires_size);
        self.track(out, start);
    }

    /// Writes a key: its expire time, idle time and frequency when set,
    /// then type, key and value, encoded as Redis 7.0 would for a value of
    /// that size (see [`EncodingLimits`]): canonical integers that fit 32
    /// bits as integers; sets of integers as intsets; small hashes and
    /// sorted sets as listpacks; lists as quicklists of listpacks; larger
    /// collections as plain sequences. Collections must not hold duplicate members or fields.
    /// Nothing is written when the value is refused.
    pub fn write_entry(&mut self, entry: &RdbEntry, out: &mut BytesMut) -> Result<(), WriteError> {
        if entry.value.is_empty() {
            return Err(WriteError::EmptyCollection(entry.key.clone()));
        }
        if let RdbValue::SortedSet(z) = &entry.value {
            if z.iter().any(|(_, s)| s.is_nan()) {
                return Err(WriteError::NanScore(entry.key.clone()));
            }
        }
        let start = out.len();
        if let Some(ms) = entry.expire_ms {
            out.put_u8(opcode::EXPIRETIME_MS);
            out.put_i64_le(ms);
        }
        if let Some(idle) = entry.idle_secs {
            out.put_u8(opcode::IDLE);
            put_len(out, idle);
        }
        if let Some(freq) = entry.freq {
            out.put_u8(opcode::FREQ);
            out.put_u8(freq);
        }
        let t = self.enc.value_type(&entry.value);
        out.put_u8(t);
        self.enc.strings.put(out, &entry.key);
        self.enc.put_value(out, &entry.value, t);
        self.track(out, start);
        Ok(())
    }

    /// Writes a string key from borrowed bytes, exactly as
    /// [`RdbWriter::write_entry`] would write it with an
    /// [`RdbValue::String`], without building one: snapshots of many
    /// string keys skip two copies per key.
    pub fn write_string_entry(
        &mut self,
        key: &[u8],
        value: &[u8],
        expire_ms: Option<i64>,
        out: &mut BytesMut,
    ) {
        let start = out.len();
        if let Some(ms) = expire_ms {
            out.put_u8(opcode::EXPIRETIME_MS);
            out.put_i64_le(ms);
        }
        out.put_u8(rdb_type::STRING);
        self.enc.strings.put(out, key);
        self.enc.strings.put(out, value);
        self.track(out, start);
    }

    /// Writes the EOF opcode and the checksum trailer (zero when checksums
    /// are off). Nothing should be written after this.
    pub fn write_eof(&mut self, out: &mut BytesMut) {
        let start = out.len();
        out.put_u8(opcode::EOF);
        self.track(out, start);
        let sum = self.crc.as_ref().map_or(0, |c| c.0.clone().finalize());
        out.put_u64_le(sum);
        self.written += 8;
    }

    /// A DUMP payload for `value`, compressed according to this writer's
    /// options. See [`dump_payload`](crate::dump_payload).
    pub fn dump_payload(&mut self, value: &RdbValue) -> Bytes {
        let mut out = BytesMut::new();
        let t = self.enc.value_type(value);
        out.put_u8(t);
        self.enc.put_value(&mut out, value, t);
        out.put_u16_le(DUMP_MAX_VERSION);
        let crc = CRC64.checksum(&out);
        out.put_u64_le(crc);
        out.freeze()
    }

    /// The payload FUNCTION DUMP returns: each library's code as a
    /// function record of the snapshot, then the DUMP footer. See
    /// [`functions_dump_payload`](crate::functions_dump_payload).
    pub fn functions_dump_payload<'a>(
        &mut self,
        codes: impl IntoIterator<Item = &'a [u8]>,
    ) -> Bytes {
        let mut out = BytesMut::new();
        for code in codes {
            out.put_u8(opcode::FUNCTION2);
            self.enc.strings.put(&mut out, code);
        }
        out.put_u16_le(DUMP_MAX_VERSION);
        let crc = CRC64.checksum(&out);
        out.put_u64_le(crc);
        out.freeze()
    }
}
