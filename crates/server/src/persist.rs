//! RDB persistence: writing a snapshot of the keyspace (in the foreground,
//! or in a forked child for BGSAVE and full resyncs) and loading one.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use keyspace::value::EncodingLimits;
use keyspace::{Db, Keyspace, Record, NO_EXPIRE};
use rdb::{
    RdbEntry, RdbEvent, RdbReader, RdbWriter, ReaderOptions, ReplAux, StandardAux, WriterOptions,
};

use crate::convert;

/// Output is handed to the sink in chunks of about this size, so a
/// snapshot never sits whole in memory.
const CHUNK: usize = 64 * 1024;

/// What a snapshot carries besides the data.
#[derive(Debug, Clone)]
pub struct SnapshotInfo {
    /// Writer settings (`rdbcompression`, `rdbchecksum`).
    pub options: WriterOptions,
    /// Bytes in use (the `used-mem` aux field).
    pub used_mem: u64,
    /// Replication history to store (PSYNC after a restart).
    pub repl: Option<ReplAux>,
    /// `rdb-key-save-delay`: microseconds to sleep after each key (a test
    /// hook that makes a save slow; negative: sleep 1 µs once in -n keys).
    pub key_save_delay_us: i64,
    /// The code of every function library (saved before the data, as
    /// Redis 7.0 does).
    pub functions: Vec<bytes::Bytes>,
}

/// Sleeps `us` microseconds (Redis's `debugDelay`): a negative value
/// sleeps one microsecond with probability 1/-us, so tiny average delays
/// cost no system call per key.
pub fn debug_delay(us: i64) {
    let us = if us < 0 {
        u64::from(rand::random::<u64>() % us.unsigned_abs() == 0)
    } else {
        us.unsigned_abs()
    };
    if us > 0 {
        std::thread::sleep(std::time::Duration::from_micros(us));
    }
}

/// Serialises every database into `sink`; returns the number of keys.
pub fn write_snapshot(ks: &Keyspace, info: &SnapshotInfo, sink: &mut dyn Write) -> io::Result<u64> {
    let mut w = RdbWriter::new(info.options.clone());
    let mut out = BytesMut::with_capacity(CHUNK * 2);
    w.write_header(&mut out);
    w.write_standard_aux(
        &StandardAux {
            redis_ver: crate::VERSION.to_string(),
            redis_bits: 64,
            ctime: crate::server::unix_ms() / 1000,
            used_mem: info.used_mem,
            repl: info.repl.clone(),
            aof_base: false,
        },
        &mut out,
    );
    for code in &info.functions {
        w.write_function(code, &mut out);
    }
    let mut keys = 0u64;
    for i in 0..ks.db_count() {
        let Some(db) = ks.db(i) else { continue };
        if db.is_empty() {
            continue;
        }
        w.write_select_db(i as u64, &mut out);
        w.write_resize_db(db.len() as u64, db.volatile_len() as u64, &mut out);
        for (k, e, expire_at) in db.iter() {
            let expire_ms = (expire_at != NO_EXPIRE).then_some(expire_at);
            if let keyspace::value::Value::Str(s) = &e.value {
                // Most keys are strings: written from borrowed bytes.
                let mut digits = itoa::Buffer::new();
                let bytes = match s {
                    keyspace::value::StrValue::Int(n) => digits.format(*n).as_bytes(),
                    _ => s.as_slice().unwrap_or_default(),
                };
                w.write_string_entry(k, bytes, expire_ms, &mut out);
                keys += 1;
            } else {
                write_collection(&mut w, k, &e.value, expire_ms, &mut out, &mut keys);
            }
            if out.len() >= CHUNK {
                sink.write_all(&out)?;
                out.clear();
            }
            if info.key_save_delay_us != 0 {
                // Flushed first, so a slow save still streams what it has.
                sink.write_all(&out)?;
                out.clear();
                debug_delay(info.key_save_delay_us);
            }
        }
    }
    w.write_eof(&mut out);
    sink.write_all(&out)?;
    sink.flush()?;
    Ok(keys)
}

/// Writes a non-string key through an [`RdbEntry`].
fn write_collection(
    w: &mut RdbWriter,
    k: &[u8],
    value: &keyspace::value::Value,
    expire_ms: Option<i64>,
    out: &mut bytes::BytesMut,
    keys: &mut u64,
) {
    let entry = RdbEntry {
        key: bytes::Bytes::copy_from_slice(k),
        value: convert::to_rdb(value),
        expire_ms,
        idle_secs: None,
        freq: None,
    };
    // Empty collections cannot exist in the keyspace; if one did, Redis
    // could not load it, so it is left out.
    if w.write_entry(&entry, out).is_ok() {
        *keys += 1;
    }
}

/// Writes a snapshot to `dir/temp-<pid>.rdb`, syncs it, and renames it over
/// `path`, so a crash never leaves a half-written dump behind.
pub fn save_to_file(ks: &Keyspace, info: &SnapshotInfo, path: &Path) -> io::Result<u64> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut bw = BufWriter::with_capacity(CHUNK, file);
        let keys = write_snapshot(ks, info, &mut bw)?;
        let file = bw.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &dir
        }) {
            let _ = d.sync_all();
        }
        Ok(keys)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// What a load found besides the keys.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    /// Keys stored.
    pub loaded: u64,
    /// Keys skipped because they had already expired (masters only).
    pub expired: u64,
    /// `redis-ver` of the writer.
    pub version: Option<String>,
    /// `ctime` of the file.
    pub ctime: Option<i64>,
    /// `used-mem` when written.
    pub used_mem: Option<u64>,
    /// `repl-id` stored in the file.
    pub repl_id: Option<String>,
    /// `repl-offset` stored in the file.
    pub repl_offset: Option<i64>,
    /// `repl-stream-db` stored in the file.
    pub repl_stream_db: Option<i64>,
    /// The keys skipped as expired, by database, when asked for
    /// ([`Loader::collect_expired`]): a master propagates their deletion.
    pub expired_keys: Vec<(usize, bytes::Bytes)>,
    /// The function libraries' code found in the file.
    pub functions: Vec<bytes::Bytes>,
}

/// Builds databases from RDB bytes fed in chunks.
#[derive(Debug)]
pub struct Loader {
    reader: RdbReader,
    dbs: Vec<Db>,
    db: usize,
    now_ms: i64,
    drop_expired: bool,
    limits: EncodingLimits,
    /// `key-load-delay` in microseconds (a test hook; see [`debug_delay`]).
    key_load_delay_us: i64,
    /// Keep the names of keys skipped as expired.
    collect_expired: bool,
    /// Counters and aux fields seen so far.
    pub report: LoadReport,
}

impl Loader {
    /// A loader for `databases` databases; a master drops keys that have
    /// already expired, a replica keeps them for its master to delete.
    pub fn new(
        databases: usize,
        now_ms: i64,
        drop_expired: bool,
        max_string_len: u64,
        limits: EncodingLimits,
    ) -> Self {
        let opts = ReaderOptions {
            max_string_len,
            ..ReaderOptions::default()
        };
        Loader {
            reader: RdbReader::new(opts),
            dbs: (0..databases.max(1)).map(|_| Db::new()).collect(),
            db: 0,
            now_ms,
            drop_expired,
            limits,
            key_load_delay_us: 0,
            collect_expired: false,
            report: LoadReport::default(),
        }
    }

    /// Records the keys skipped as expired in [`LoadReport::expired_keys`].
    pub fn collect_expired(mut self) -> Self {
        self.collect_expired = true;
        self
    }

    /// Sleeps this long after each key loaded (`key-load-delay`).
    pub fn with_key_load_delay(mut self, us: i64) -> Self {
        self.key_load_delay_us = us;
        self
    }

    /// Feeds bytes and stores every complete key.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), FeedError> {
        self.reader.feed(data);
        while let Some(ev) = self.reader.next_event()? {
            self.apply(ev)?;
        }
        Ok(())
    }

    fn apply(&mut self, ev: RdbEvent) -> Result<(), FeedError> {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match ev {
            RdbEvent::Aux { key, value } => match &key[..] {
                b"redis-ver" => self.report.version = Some(text(&value)),
                b"ctime" => self.report.ctime = text(&value).parse().ok(),
                b"used-mem" => self.report.used_mem = text(&value).parse().ok(),
                b"repl-id" => self.report.repl_id = Some(text(&value)),
                b"repl-offset" => self.report.repl_offset = text(&value).parse().ok(),
                b"repl-stream-db" => self.report.repl_stream_db = text(&value).parse().ok(),
                _ => {}
            },
            RdbEvent::SelectDb(n) => {
                // Keys of a database this server does not have would be
                // lost, and a master's later `SELECT n` would fail here and
                // send its writes to the wrong database: refuse the file.
                match usize::try_from(n) {
                    Ok(db) if db < self.dbs.len() => self.db = db,
                    _ => {
                        return Err(FeedError::TooManyDatabases {
                            databases: self.dbs.len(),
                        })
                    }
                }
            }
            RdbEvent::Entry(e) => {
                let expire = e.expire_ms.unwrap_or(NO_EXPIRE);
                if self.drop_expired && expire != NO_EXPIRE && expire <= self.now_ms {
                    self.report.expired += 1;
                    if self.collect_expired {
                        self.report.expired_keys.push((self.db, e.key));
                    }
                    return Ok(());
                }
                let Some(db) = self.dbs.get_mut(self.db) else {
                    return Ok(());
                };
                db.insert_record(
                    &e.key,
                    Record {
                        value: convert::from_rdb(e.value, &self.limits),
                        expire_at: expire,
                    },
                    self.now_ms,
                );
                self.report.loaded += 1;
                if self.key_load_delay_us != 0 {
                    debug_delay(self.key_load_delay_us);
                }
            }
            RdbEvent::Function(code) => self.report.functions.push(code),
            RdbEvent::ResizeDb { .. } | RdbEvent::ModuleAux | RdbEvent::Eof { .. } => {}
        }
        Ok(())
    }

    /// Ends the load, checking the stream was complete; gives the databases.
    pub fn finish(mut self) -> Result<(Vec<Db>, LoadReport), rdb::RdbError> {
        self.reader.finish()?;
        Ok((self.dbs, self.report))
    }
}

/// Loads an RDB file completely (start-up and DEBUG RELOAD).
pub fn load_file(path: &Path, mut loader: Loader) -> Result<(Vec<Db>, LoadReport), LoadError> {
    let mut f = File::open(path).map_err(LoadError::Io)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = f.read(&mut buf).map_err(LoadError::Io)?;
        if n == 0 {
            break;
        }
        loader.feed(&buf[..n]).map_err(LoadError::Format)?;
    }
    loader
        .finish()
        .map_err(|e| LoadError::Format(FeedError::Rdb(e)))
}

/// Why fed RDB bytes could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The bytes are not a valid RDB stream.
    #[error("{0}")]
    Rdb(#[from] rdb::RdbError),
    /// The file selects a database number this server does not have.
    #[error("Data file was created with a Redis server configured to handle more than {databases} databases")]
    TooManyDatabases {
        /// The configured `databases`.
        databases: usize,
    },
}

impl FeedError {
    /// The line Redis logs before exiting when a file at start-up is bad.
    pub fn fatal_line(&self) -> String {
        match self {
            FeedError::Rdb(e) => match e.kind() {
                // Redis's two lines for a bad checksum.
                rdb::RdbErrorKind::ChecksumMismatch { stored, computed } => format!(
                    "Wrong RDB checksum expected: ({computed:x}) got ({stored:x}). Aborting now.\n\
                     Internal error in RDB reading offset {} -> RDB CRC error",
                    e.offset()
                ),
                _ => format!(
                    "Error loading the RDB file at offset {}: {e}. Unrecoverable error, aborting now.",
                    e.offset()
                ),
            },
            FeedError::TooManyDatabases { .. } => format!("FATAL: {self}. Exiting"),
        }
    }
}

/// Why a load failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{0}")]
    Io(io::Error),
    /// The file is not a valid RDB stream, or does not fit this server.
    #[error("{0}")]
    Format(FeedError),
}

/// The path of the dump file: `dir` is the working directory already.
pub fn dump_path(dbfilename: &str) -> PathBuf {
    PathBuf::from(dbfilename)
}
