//! The append-only file, in Redis 7's multi-part layout: a directory
//! (`appenddirname`) holding a base snapshot (`<name>.N.base.rdb`), an
//! incremental command log (`<name>.N.incr.aof`) and a manifest naming
//! them. Every write is appended to the incremental file, with the fsync
//! policy of `appendfsync`; a rewrite forks a child that writes a new base
//! while the parent switches to a new incremental file at the fork, as
//! Redis does, so no write is ever lost between the two.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{mpsc, Arc};

use bytes::{Buf, Bytes, BytesMut};

/// When the file is flushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// After every write batch, before replies go out.
    Always,
    /// Once per second.
    EverySec,
    /// Left to the kernel.
    No,
}

impl Fsync {
    /// Parses `appendfsync`.
    pub fn parse(s: &str) -> Fsync {
        match s {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
}

/// One file listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// File name inside the AOF directory.
    pub name: String,
    /// Sequence number.
    pub seq: u64,
    /// `b` base, `i` incremental, `h` history.
    pub kind: char,
}

/// Parses a manifest (`file <name> seq <n> type <b|i|h>` lines).
pub fn parse_manifest(text: &str) -> Result<Vec<ManifestEntry>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = resp_codec::split_args(line.as_bytes())
            .ok_or_else(|| format!("Invalid AOF manifest file format at line {}", n + 1))?;
        let words: Vec<String> = words
            .into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned())
            .collect();
        let mut name = None;
        let mut seq = None;
        let mut kind = None;
        for pair in words.chunks(2) {
            match (pair.first().map(String::as_str), pair.get(1)) {
                (Some("file"), Some(v)) => name = Some(v.clone()),
                (Some("seq"), Some(v)) => seq = v.parse::<u64>().ok(),
                (Some("type"), Some(v)) => kind = v.chars().next(),
                _ => {}
            }
        }
        match (name, seq, kind) {
            (Some(name), Some(seq), Some(kind)) if !name.contains('/') => {
                out.push(ManifestEntry { name, seq, kind })
            }
            _ => {
                return Err(format!(
                    "Invalid AOF manifest file format at line {}",
                    n + 1
                ))
            }
        }
    }
    Ok(out)
}

/// Renders a manifest.
pub fn render_manifest(entries: &[ManifestEntry]) -> String {
    entries
        .iter()
        .map(|e| format!("file {} seq {} type {}\n", e.name, e.seq, e.kind))
        .collect()
}

/// The open append-only file.
#[derive(Debug)]
pub struct Aof {
    dir: PathBuf,
    base_name: String,
    manifest: Vec<ManifestEntry>,
    file: File,
    /// Encoded commands not yet written. After a failed write they stay
    /// here and are written again by the next call (the writes were
    /// acknowledged: they must reach the file once space returns).
    buf: BytesMut,
    fsync: Fsync,
    unsynced: bool,
    /// Bytes in the current incremental file: a short write is cut back
    /// to it, so the file never holds half a command followed by the
    /// whole command written again.
    incr_size: u64,
    /// Total size of the AOF files after the last rewrite (or at open):
    /// the reference for `auto-aof-rewrite-percentage`.
    base_size: u64,
    /// The last write failed with this error; writes are refused with
    /// `-MISCONF` until a write succeeds.
    write_error: Option<String>,
    /// Unix seconds of the last write error logged (Redis logs one every
    /// 30 s).
    last_error_log: i64,
    /// The `everysec` fsync, done off the event loop.
    fsyncer: Fsyncer,
    /// Sequence of the incremental file a running rewrite switched to.
    pub rewrite: Option<(i32, u64)>,
}

/// Seconds between two logs of the same AOF write error.
const WRITE_ERROR_LOG_RATE: i64 = 30;

/// Why the AOF could not take the latest writes.
#[derive(Debug, thiserror::Error)]
pub enum AofError {
    /// The write failed; the bytes are kept for the next attempt.
    #[error("{0}")]
    Write(io::Error),
    /// `appendfsync always` and the write or its fsync failed: replies are
    /// already built, so the only safe answer is to stop (as Redis does).
    #[error("{0}")]
    Fatal(String),
}

/// Carries out a failed write's consequence: under `appendfsync always`
/// the process stops, as Redis does, because the replies for writes that
/// are not on disk are already built; otherwise the error is recorded and
/// writes are refused until a retry succeeds.
pub fn exit_if_fatal(result: Result<(), AofError>) {
    if let Err(AofError::Fatal(msg)) = result {
        tracing::warn!("{msg}");
        std::process::exit(1);
    }
}

/// A thread that runs the `everysec` fsync, so a slow disk stalls it and
/// not the clients (Redis's bio fsync job).
#[derive(Debug)]
struct Fsyncer {
    jobs: mpsc::Sender<File>,
    busy: Arc<AtomicBool>,
    /// errno of the last failed fsync, 0 after a successful one.
    errno: Arc<AtomicI32>,
}

impl Fsyncer {
    fn start() -> io::Result<Fsyncer> {
        let (jobs, rx) = mpsc::channel::<File>();
        let busy = Arc::new(AtomicBool::new(false));
        let errno = Arc::new(AtomicI32::new(0));
        let (b, e) = (busy.clone(), errno.clone());
        std::thread::Builder::new()
            .name("aof-fsync".to_string())
            .spawn(move || {
                // Ends when the Aof (the sender) is dropped.
                while let Ok(file) = rx.recv() {
                    match file.sync_data() {
                        Ok(()) => e.store(0, Ordering::Release),
                        Err(err) => e.store(err.raw_os_error().unwrap_or(5), Ordering::Release),
                    }
                    b.store(false, Ordering::Release);
                }
            })?;
        Ok(Fsyncer { jobs, busy, errno })
    }

    /// Starts an fsync of `file` unless one is still running.
    fn request(&self, file: &File) -> io::Result<()> {
        if self.busy.load(Ordering::Acquire) {
            return Ok(());
        }
        let dup = file.try_clone()?;
        self.busy.store(true, Ordering::Release);
        if self.jobs.send(dup).is_err() {
            self.busy.store(false, Ordering::Release);
            return Err(io::Error::other("the AOF fsync thread is gone"));
        }
        Ok(())
    }

    fn error(&self) -> Option<io::Error> {
        match self.errno.load(Ordering::Acquire) {
            0 => None,
            n => Some(io::Error::from_raw_os_error(n)),
        }
    }
}

/// An I/O error as Redis prints it (`strerror`).
fn strerror(e: &io::Error) -> String {
    crate::repl::io_error_text(e)
}

fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

impl Aof {
    /// The manifest path for a directory and `appendfilename`.
    pub fn manifest_path(dir: &Path, base_name: &str) -> PathBuf {
        dir.join(format!("{base_name}.manifest"))
    }

    /// Reads the manifest if the AOF exists.
    pub fn existing(dir: &Path, base_name: &str) -> Result<Option<Vec<ManifestEntry>>, String> {
        match std::fs::read_to_string(Self::manifest_path(dir, base_name)) {
            Ok(text) => parse_manifest(&text).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Opens the last incremental file of an existing AOF for appending.
    pub fn open(
        dir: &Path,
        base_name: &str,
        manifest: Vec<ManifestEntry>,
        fsync: Fsync,
    ) -> io::Result<Aof> {
        let incr = manifest
            .iter()
            .rev()
            .find(|e| e.kind == 'i')
            .map(|e| e.name.clone())
            .ok_or_else(|| io::Error::other("the AOF manifest lists no incremental file"))?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(incr))?;
        let incr_size = file.metadata()?.len();
        let mut aof = Aof {
            dir: dir.to_path_buf(),
            base_name: base_name.to_string(),
            manifest,
            file,
            buf: BytesMut::new(),
            fsync,
            unsynced: false,
            incr_size,
            base_size: 0,
            write_error: None,
            last_error_log: 0,
            fsyncer: Fsyncer::start()?,
            rewrite: None,
        };
        aof.base_size = aof.current_size();
        Ok(aof)
    }

    /// Total bytes of the files the manifest lists (base and incremental).
    pub fn current_size(&self) -> u64 {
        let current = self.manifest.iter().rev().find(|e| e.kind == 'i');
        self.manifest
            .iter()
            .filter(|e| e.kind != 'h')
            .map(|e| {
                if Some(e) == current {
                    self.incr_size
                } else {
                    std::fs::metadata(self.dir.join(&e.name)).map_or(0, |m| m.len())
                }
            })
            .sum()
    }

    /// The size after the last rewrite (`aof_rewrite_base_size`).
    pub fn base_size(&self) -> u64 {
        self.base_size
    }

    /// Why writes must be refused, if the last write or fsync failed: the
    /// text after `-MISCONF Errors writing to the AOF file: `.
    pub fn error(&self) -> Option<String> {
        self.write_error
            .clone()
            .or_else(|| self.fsyncer.error().map(|e| strerror(&e)))
    }

    /// Creates a new AOF whose base is `base` (an RDB snapshot written by
    /// the caller through `write_base`).
    pub fn create(
        dir: &Path,
        base_name: &str,
        fsync: Fsync,
        write_base: impl FnOnce(&Path) -> io::Result<()>,
    ) -> io::Result<Aof> {
        std::fs::create_dir_all(dir)?;
        let base = format!("{base_name}.1.base.rdb");
        let incr = format!("{base_name}.1.incr.aof");
        write_base(&dir.join(&base))?;
        File::create(dir.join(&incr))?.sync_all()?;
        let manifest = vec![
            ManifestEntry {
                name: base,
                seq: 1,
                kind: 'b',
            },
            ManifestEntry {
                name: incr,
                seq: 1,
                kind: 'i',
            },
        ];
        write_atomic(
            &Self::manifest_path(dir, base_name),
            &render_manifest(&manifest),
        )?;
        Self::open(dir, base_name, manifest, fsync)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Changes the fsync policy (CONFIG SET appendfsync).
    pub fn set_fsync(&mut self, fsync: Fsync) {
        self.fsync = fsync;
    }

    /// Appends encoded commands (from the propagation stream, which owns
    /// the SELECTs; see [`crate::propagate`]).
    pub fn append(&mut self, encoded: &[u8]) {
        self.buf.extend_from_slice(encoded);
    }

    /// Writes what was fed; with `always`, also syncs before returning,
    /// so replies to the writes go out only once they are on disk.
    ///
    /// A failed write keeps the unwritten bytes for the next call and cuts
    /// any partial write back off the file (Redis's `ftruncate`), so a
    /// retry never duplicates half a command. Under `always` a failure is
    /// [`AofError::Fatal`].
    pub fn write(&mut self) -> Result<(), AofError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut written = 0;
        let failure = loop {
            if written == self.buf.len() {
                break None;
            }
            match self.file.write(&self.buf[written..]) {
                Ok(0) => break Some(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Some(e),
            }
        };
        if let Some(e) = failure {
            let now = crate::server::unix_ms() / 1000;
            let log = now - self.last_error_log > WRITE_ERROR_LOG_RATE;
            if log {
                self.last_error_log = now;
            }
            if written == 0 {
                if log {
                    tracing::warn!("Error writing to the AOF file: {}", strerror(&e));
                }
            } else {
                if log {
                    tracing::warn!(
                        "Short write while writing to the AOF file: (nwritten={written}, expected={})",
                        self.buf.len()
                    );
                }
                match self.file.set_len(self.incr_size) {
                    Ok(()) => written = 0,
                    Err(te) => {
                        if log {
                            tracing::warn!("Could not remove short write from the append-only file.  Redis may refuse to load the AOF the next time it starts.  ftruncate: {}", strerror(&te));
                        }
                    }
                }
            }
            if self.fsync == Fsync::Always {
                return Err(AofError::Fatal(
                    "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting..."
                        .to_string(),
                ));
            }
            self.incr_size += written as u64;
            self.buf.advance(written);
            self.write_error = Some(strerror(&e));
            return Err(AofError::Write(e));
        }
        if self.write_error.take().is_some() {
            tracing::warn!("AOF write error looks solved, Redis can write again.");
        }
        self.incr_size += written as u64;
        self.buf.clear();
        self.unsynced = true;
        if self.fsync == Fsync::Always {
            if let Err(e) = self.file.sync_data() {
                return Err(AofError::Fatal(format!(
                    "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. Exiting...",
                    strerror(&e)
                )));
            }
            self.unsynced = false;
        }
        Ok(())
    }

    /// The once-per-second work: retries a failed write, and starts the
    /// `everysec` fsync on its thread.
    pub fn tick(&mut self) -> Result<(), AofError> {
        self.write()?;
        if self.unsynced && self.fsync == Fsync::EverySec {
            self.fsyncer.request(&self.file).map_err(AofError::Write)?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Writes and syncs everything, on the caller's thread (shutdown, and
    /// turning the AOF off).
    pub fn flush_and_sync(&mut self) -> Result<(), AofError> {
        self.write()?;
        self.file.sync_data().map_err(AofError::Write)?;
        self.unsynced = false;
        Ok(())
    }

    fn next_seq(&self) -> u64 {
        self.manifest.iter().map(|e| e.seq).max().unwrap_or(0) + 1
    }

    /// Starts a rewrite: from now on writes go to a new incremental file;
    /// returns the path the child must write the new base to.
    pub fn begin_rewrite(&mut self, child_pid: i32) -> io::Result<PathBuf> {
        self.write().map_err(|e| io::Error::other(e.to_string()))?;
        let _ = self.file.sync_data();
        let seq = self.next_seq();
        let incr = format!("{}.{seq}.incr.aof", self.base_name);
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(&incr))?;
        self.incr_size = 0;
        // The old files stay listed until the new base exists.
        self.manifest.push(ManifestEntry {
            name: incr,
            seq,
            kind: 'i',
        });
        write_atomic(
            &Self::manifest_path(&self.dir, &self.base_name),
            &render_manifest(&self.manifest),
        )?;
        self.rewrite = Some((child_pid, seq));
        Ok(self.dir.join(format!("temp-rewriteaof-bg-{child_pid}.aof")))
    }

    /// Ends a rewrite: on success the new base and the incremental file
    /// opened at the fork replace everything before them.
    pub fn finish_rewrite(&mut self, ok: bool) -> io::Result<()> {
        let Some((pid, seq)) = self.rewrite.take() else {
            return Ok(());
        };
        let tmp = self.dir.join(format!("temp-rewriteaof-bg-{pid}.aof"));
        if !ok {
            let _ = std::fs::remove_file(&tmp);
            return Ok(());
        }
        let base = format!("{}.{seq}.base.rdb", self.base_name);
        std::fs::rename(&tmp, self.dir.join(&base))?;
        let old: Vec<ManifestEntry> = self
            .manifest
            .iter()
            .filter(|e| e.seq < seq || e.kind == 'b')
            .cloned()
            .collect();
        let incr = self
            .manifest
            .iter()
            .find(|e| e.kind == 'i' && e.seq == seq)
            .cloned();
        let mut manifest = vec![ManifestEntry {
            name: base,
            seq,
            kind: 'b',
        }];
        manifest.extend(incr);
        write_atomic(
            &Self::manifest_path(&self.dir, &self.base_name),
            &render_manifest(&manifest),
        )?;
        self.manifest = manifest;
        for e in old {
            if !self.manifest.contains(&e) {
                let _ = std::fs::remove_file(self.dir.join(&e.name));
            }
        }
        self.base_size = self.current_size();
        Ok(())
    }
}

/// Reads a command log, giving each complete command to `apply`. A
/// truncated last command (a crash mid-write) is cut off when
/// `allow_truncated` (`aof-load-truncated yes`, for the last file only),
/// and refuses the load otherwise, as Redis does; returns the number of
/// commands.
pub fn replay(
    path: &Path,
    allow_truncated: bool,
    mut apply: impl FnMut(&[Bytes]),
) -> Result<u64, String> {
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    let mut decoder = resp_codec::RequestDecoder::new(resp_codec::DecoderLimits {
        max_bulk_len: u64::MAX,
        ..resp_codec::DecoderLimits::default()
    });
    let mut buf = BytesMut::with_capacity(256 * 1024);
    let mut chunk = vec![0u8; 256 * 1024];
    let mut args = Vec::new();
    let mut count = 0u64;
    let mut good: u64 = 0;
    loop {
        let n = file.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        loop {
            match decoder.decode(&mut buf, &mut args) {
                Ok(Some(len)) => {
                    good += len as u64;
                    if !args.is_empty() {
                        apply(&args);
                        count += 1;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(format!(
                        "Bad file format reading the append only file {}: {e}",
                        path.display()
                    ))
                }
            }
        }
    }
    if !buf.is_empty() && !allow_truncated {
        return Err(format!(
            "Unexpected end of file reading the append only file {}. You can: \
             1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. \
             2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.",
            path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        ));
    }
    if !buf.is_empty() {
        tracing::warn!(
            "!!! Warning: short read while loading the AOF file {}!!! AOF loaded anyway because aof-load-truncated is enabled",
            path.display()
        );
        if let Ok(f) = OpenOptions::new().write(true).open(path) {
            let _ = f.set_len(good);
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trip() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";
        let m = parse_manifest(text).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].kind, 'i');
        assert_eq!(render_manifest(&m), text);
        assert!(parse_manifest("file x seq\n").is_err());
        assert!(parse_manifest("file ../x seq 1 type b\n").is_err());
    }

    #[test]
    fn replay_cuts_a_truncated_tail() {
        let dir = std::env::temp_dir().join(format!("aof-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.aof");
        std::fs::write(&p, b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*3\r\n$3\r\nSET\r\n$1\r\nk").unwrap();
        let mut seen = Vec::new();
        let err = replay(&p, false, |_| {}).unwrap_err();
        assert!(err.starts_with("Unexpected end of file reading the append only file x.aof. You can: 1) Make a backup"), "{err}");
        assert_eq!(
            std::fs::metadata(&p).unwrap().len(),
            68,
            "refusing leaves the file alone"
        );
        let n = replay(&p, true, |a| seen.push(a.to_vec())).unwrap();
        assert_eq!(n, 2);
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 50);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
