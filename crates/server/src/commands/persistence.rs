//! SAVE, BGSAVE, DUMP, RESTORE and the snapshot bookkeeping the cron uses.

use crate::config::key;
use std::time::Instant;

use bytes::Bytes;
use keyspace::call::reply;
use keyspace::numeric::parse_i64;
use keyspace::{Call, Record, NO_EXPIRE};
use resp_codec::Frame;

use super::error_text;
use super::table::{c_srv, flag, CommandSpec};
use crate::convert;
use crate::fork;
use crate::persist::{self, SnapshotInfo};
use crate::server::{unix_ms, Server};
use crate::session::Session;

/// A background save in progress.
#[derive(Debug, Clone, Copy)]
pub struct BgSave {
    /// The child's pid.
    pub pid: i32,
    /// When it started.
    pub started: Instant,
    /// The dirty counter when it started.
    pub dirty_at_start: u64,
}

/// The state of snapshotting shown by INFO persistence.
#[derive(Debug)]
pub struct SaveState {
    /// The running BGSAVE, if any.
    pub child: Option<BgSave>,
    /// BGSAVE SCHEDULE was asked while another child ran.
    pub scheduled: bool,
    /// BGREWRITEAOF was asked while another child ran.
    pub aof_rewrite_scheduled: bool,
    /// Unix seconds of the last successful save (start time if none).
    pub lastsave: i64,
    /// Whether the last background save succeeded.
    pub last_ok: bool,
    /// Unix seconds of the last background save attempt.
    pub last_try: i64,
    /// Duration of the last background save, seconds (-1: none yet).
    pub last_secs: i64,
    /// Successful saves since start.
    pub saves: u64,
    /// Keys loaded from disk at start-up.
    pub loaded_keys: u64,
    /// Keys found expired while loading.
    pub loaded_expired: u64,
    /// A load is running (clients get -LOADING).
    pub loading: bool,
    /// A replica parses a full sync while serving its old data (Redis's
    /// `async_loading`).
    pub async_loading: bool,
    /// Bytes of the file being loaded and bytes read so far.
    pub loading_total: u64,
    /// Bytes read so far of the file being loaded.
    pub loading_read: u64,
}

impl Default for SaveState {
    fn default() -> Self {
        SaveState {
            child: None,
            scheduled: false,
            aof_rewrite_scheduled: false,
            lastsave: crate::server::unix_ms() / 1000,
            last_ok: true,
            last_try: 0,
            last_secs: -1,
            saves: 0,
            loaded_keys: 0,
            loaded_expired: 0,
            loading: false,
            async_loading: false,
            loading_total: 0,
            loading_read: 0,
        }
    }
}

/// The settings and aux fields of a snapshot of this server.
pub fn snapshot_info(s: &Server) -> SnapshotInfo {
    SnapshotInfo {
        options: rdb::WriterOptions {
            compression: s.config.bool(key::RDBCOMPRESSION),
            checksum: s.config.bool(key::RDBCHECKSUM),
            ..rdb::WriterOptions::default()
        },
        used_mem: crate::alloc::allocated() as u64,
        repl: s.repl_aux(),
        key_save_delay_us: s.config.int(key::RDB_KEY_SAVE_DELAY),
        functions: s.scripting.library_codes(),
    }
}

/// Saves in the foreground; returns an error text on failure.
pub fn save_now(s: &mut Server) -> Result<u64, String> {
    let info = snapshot_info(s);
    let path = persist::dump_path(&s.config.str(key::DBFILENAME));
    match persist::save_to_file(&s.ks, &info, &path) {
        Ok(keys) => {
            tracing::info!("DB saved on disk");
            s.ks.reset_dirty(0);
            s.saving.lastsave = unix_ms() / 1000;
            s.saving.saves += 1;
            s.saving.last_ok = true;
            Ok(keys)
        }
        Err(e) => {
            tracing::warn!("Failed opening the temp RDB file temp-{}.rdb (in server root dir {}) for saving: {e}", std::process::id(), std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default());
            s.saving.last_ok = false;
            Err(e.to_string())
        }
    }
}

/// Starts a background save in a forked child.
pub fn start_bgsave(s: &mut Server) -> Result<(), String> {
    let info = snapshot_info(s);
    let path = persist::dump_path(&s.config.str(key::DBFILENAME));
    s.saving.last_try = unix_ms() / 1000;
    let ks = &s.ks;
    let started = Instant::now();
    match fork::fork_child(|| match persist::save_to_file(ks, &info, &path) {
        Ok(_) => 0,
        Err(_) => 1,
    }) {
        Ok(pid) => {
            tracing::info!("Background saving started by pid {pid}");
            s.saving.child = Some(BgSave {
                pid,
                started,
                dirty_at_start: s.ks.dirty(),
            });
            Ok(())
        }
        Err(e) => {
            tracing::warn!("Can't save in background: fork: {e}");
            s.saving.last_ok = false;
            Err(e.to_string())
        }
    }
}

/// Books the end of a background save (a BGSAVE, or the snapshot a disk
/// full sync writes): its time, and on success the changes it covered.
pub fn record_bgsave_end(s: &mut Server, child: &BgSave, ok: bool) {
    s.saving.last_secs = child.started.elapsed().as_secs() as i64;
    if ok {
        tracing::info!("Background saving terminated with success");
        let dirty = s.ks.dirty().saturating_sub(child.dirty_at_start);
        s.ks.reset_dirty(dirty);
        s.saving.lastsave = unix_ms() / 1000;
        s.saving.saves += 1;
        s.saving.last_ok = true;
    } else {
        tracing::warn!("Background saving error");
        s.saving.last_ok = false;
    }
}

/// The kind of forked child running. Redis runs one child at a time, so a
/// save, an AOF rewrite and a replication snapshot never compete for the
/// disk and copy-on-write memory; whatever is asked meanwhile waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKind {
    /// BGSAVE, or a snapshot for replicas.
    Rdb,
    /// BGREWRITEAOF.
    Aof,
}

/// The child running now, if any.
pub fn active_child(s: &Server) -> Option<ChildKind> {
    if s.saving.child.is_some() || s.repl.snapshot_running() {
        Some(ChildKind::Rdb)
    } else if s.aof.as_ref().is_some_and(|a| a.rewrite.is_some()) {
        Some(ChildKind::Aof)
    } else {
        None
    }
}

/// Called by the cron: reaps a finished child, then starts what waited
/// for it (a scheduled AOF rewrite or BGSAVE) and applies the `save`
/// rules and `auto-aof-rewrite-percentage`.
pub fn cron(s: &mut Server) {
    if let Some(child) = s.saving.child {
        if let Some(exit) = fork::try_reap(child.pid) {
            s.saving.child = None;
            record_bgsave_end(s, &child, exit.ok());
        }
    }
    if active_child(s).is_some() {
        return;
    }
    if s.saving.aof_rewrite_scheduled {
        s.saving.aof_rewrite_scheduled = false;
        if let Err(e) = start_aof_rewrite(s) {
            tracing::warn!("{e}");
        }
        return;
    }
    if auto_aof_rewrite_due(s) {
        if let Err(e) = start_aof_rewrite(s) {
            tracing::warn!("{e}");
        }
        return;
    }
    if s.saving.scheduled {
        s.saving.scheduled = false;
        let _ = start_bgsave(s);
        return;
    }
    let now = unix_ms() / 1000;
    let rules = match s.config.value(key::SAVE) {
        Some(crate::config::Val::Save(r)) => r.clone(),
        _ => Vec::new(),
    };
    for (secs, changes) in rules {
        let due = s.ks.dirty() >= changes && now - s.saving.lastsave > secs as i64;
        // After a failure, retry only every few seconds, as Redis does.
        let retry_ok = s.saving.last_ok || now - s.saving.last_try > 5;
        if due && retry_ok {
            tracing::info!("{changes} changes in {secs} seconds. Saving...");
            let _ = start_bgsave(s);
            break;
        }
    }
}

/// Whether the AOF has grown past `auto-aof-rewrite-percentage` of its
/// size after the last rewrite (and over `auto-aof-rewrite-min-size`).
fn auto_aof_rewrite_due(s: &Server) -> bool {
    let Some(aof) = s.aof.as_ref() else {
        return false;
    };
    let perc = s.config.int(key::AUTO_AOF_REWRITE_PERCENTAGE);
    let min = u64::try_from(s.config.int(key::AUTO_AOF_REWRITE_MIN_SIZE)).unwrap_or(0);
    let size = aof.current_size();
    if perc <= 0 || size <= min {
        return false;
    }
    let base = aof.base_size().max(1);
    let growth = (size.saturating_mul(100) / base) as i64 - 100;
    if growth < perc {
        return false;
    }
    tracing::info!("Starting automatic rewriting of AOF on {growth}% growth");
    true
}

/// Why writes (and PING) must be refused with `-MISCONF`: snapshots are
/// failing under `stop-writes-on-bgsave-error`, or the AOF cannot be
/// written or synced.
pub fn writes_refused(s: &Server) -> Option<Bytes> {
    if !s.saving.last_ok
        && s.config.bool(key::STOP_WRITES_ON_BGSAVE_ERROR)
        && !s.config.str(key::SAVE).is_empty()
    {
        return Some(Bytes::from_static(b"MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."));
    }
    let why = s.aof.as_ref().and_then(|a| a.error())?;
    Some(Bytes::from(format!(
        "MISCONF Errors writing to the AOF file: {why}"
    )))
}

/// FLUSHALL [ASYNC|SYNC]: empties every database; a running BGSAVE would
/// write data that no longer exists, so it is killed, and with `save`
/// rules the empty data set is saved at once (Redis's
/// `flushAllDataAndResetRDB`).
pub fn flushall(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let reply = keyspace::cmd::keys::flushall(&mut s.ks, c);
    if matches!(reply, Frame::Error(_)) {
        return reply;
    }
    if let Some(child) = s.saving.child.take() {
        fork::kill_child(child.pid);
        let _ = std::fs::remove_file(format!("temp-{}.rdb", child.pid));
        tracing::warn!("Background saving terminated by signal 10");
    }
    if !s.config.str(key::SAVE).is_empty() {
        let _ = save_now(s);
        s.ks.add_dirty(1);
    }
    reply
}

/// SAVE
pub fn save(s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    if s.saving.child.is_some() {
        return reply::err_static("ERR Background save already in progress");
    }
    match save_now(s) {
        Ok(_) => reply::ok(),
        Err(_) => reply::err_static("ERR"),
    }
}

/// BGSAVE [SCHEDULE]
pub fn bgsave(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let schedule = match c.argc() {
        1 => false,
        2 if c.arg(1).eq_ignore_ascii_case(b"schedule") => true,
        _ => return reply::syntax(),
    };
    match active_child(s) {
        Some(ChildKind::Rdb) => {
            return reply::err_static("ERR Background save already in progress");
        }
        Some(ChildKind::Aof) if !(schedule || sess.multi_exec) => {
            return reply::err_static("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        }
        None if !sess.multi_exec => {}
        _ => {
            s.saving.scheduled = true;
            return Frame::Simple(Bytes::from_static(b"Background saving scheduled"));
        }
    }
    match start_bgsave(s) {
        Ok(()) => Frame::Simple(Bytes::from_static(b"Background saving started")),
        Err(_) => reply::err_static("ERR"),
    }
}

/// DUMP key
pub fn dump(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    match s.ks.lookup_read(c.db, c.arg(1), c.now_ms) {
        None => reply::nil(),
        Some(e) => Frame::Bulk(rdb::dump_payload(&convert::to_rdb(&e.value))),
    }
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
pub fn restore(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let (mut replace, mut absttl) = (false, false);
    let mut i = 4;
    while i < c.argc() {
        let opt = c.arg(i).to_ascii_uppercase();
        let more = i + 1 < c.argc();
        match opt.as_slice() {
            b"REPLACE" => replace = true,
            b"ABSTTL" => absttl = true,
            b"IDLETIME" if more => {
                match parse_i64(c.arg(i + 1)) {
                    Some(n) if n >= 0 => {}
                    Some(_) => {
                        return reply::err_static("ERR Invalid IDLETIME value, must be >= 0")
                    }
                    None => return reply::not_int(),
                }
                i += 1;
            }
            b"FREQ" if more => {
                match parse_i64(c.arg(i + 1)) {
                    Some(n) if (0..=255).contains(&n) => {}
                    Some(_) => {
                        return reply::err_static("ERR Invalid FREQ value, must be >= 0 and <= 255")
                    }
                    None => return reply::not_int(),
                }
                i += 1;
            }
            _ => return reply::syntax(),
        }
        i += 1;
    }
    let Some(ttl) = parse_i64(c.arg(2)) else {
        return reply::not_int();
    };
    if ttl < 0 {
        return reply::err_static("ERR Invalid TTL value, must be >= 0");
    }
    if !replace && s.ks.exists(c.db, c.arg(1), c.now_ms) {
        return reply::err_static("BUSYKEY Target key name already exists.");
    }
    let value = match rdb::parse_dump_payload(c.arg(3)) {
        Ok(v) => v,
        Err(e) => {
            return error_text(&format!(
                "ERR {}",
                e.restore_reply().trim_start_matches("ERR ")
            ))
        }
    };
    let expire_at = match ttl {
        0 => NO_EXPIRE,
        t if absttl => t,
        t => c.now_ms.saturating_add(t),
    };
    let key = c.arg(1);
    let limits = *s.ks.limits();
    s.ks.signal_modified(c.db, c.arg_bytes(1));
    if let Some(db) = s.ks.db_mut(c.db) {
        db.remove(key);
        if expire_at != NO_EXPIRE && expire_at <= c.now_ms && ttl != 0 {
            // Already expired: Redis deletes rather than stores it.
            c.propagate = keyspace::Propagate::Rewritten(vec![vec![
                Bytes::from_static(b"DEL"),
                c.arg_bytes(1),
            ]]);
            s.ks.add_dirty(1);
            return reply::ok();
        }
        db.insert_record(
            key,
            Record {
                value: convert::from_rdb(value, &limits),
                expire_at,
            },
            c.now_ms,
        );
    }
    s.ks.add_dirty(1);
    c.verbatim();
    reply::ok()
}

const ADMIN: u32 = flag::ADMIN | flag::NOSCRIPT | flag::NO_ASYNC_LOADING | flag::NO_MULTI;
const ACL: &[&str] = &["admin", "slow", "dangerous"];

/// The persistence commands.
pub const PERSISTENCE_COMMANDS: &[CommandSpec] = &[
    c_srv(
        "bgrewriteaof",
        1,
        flag::ADMIN | flag::NOSCRIPT | flag::NO_ASYNC_LOADING,
        ACL,
        "server",
        "1.0.0",
        "Asynchronously rewrites the append-only file to disk.",
        bgrewriteaof,
    ),
    c_srv(
        "save",
        1,
        ADMIN,
        ACL,
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk.",
        save,
    ),
    c_srv(
        "bgsave",
        -1,
        flag::ADMIN | flag::NOSCRIPT | flag::NO_ASYNC_LOADING,
        ACL,
        "server",
        "1.0.0",
        "Asynchronously saves the database(s) to disk.",
        bgsave,
    ),
    super::table::c_keys(
        "dump",
        2,
        flag::READONLY,
        (1, 1, 1),
        &["keyspace", "read", "slow"],
        "generic",
        "2.6.0",
        "Returns a serialized representation of the value stored at a key.",
        dump,
    ),
    super::table::c_keys(
        "restore",
        -4,
        flag::WRITE | flag::DENYOOM,
        (1, 1, 1),
        &["keyspace", "write", "slow", "dangerous"],
        "generic",
        "2.6.0",
        "Creates a key from the serialized representation of a value.",
        restore,
    ),
];

/// Turns the AOF on: its base is a snapshot of the data set as it is now.
pub fn aof_enable(s: &mut Server) -> Result<(), String> {
    if s.aof.is_some() {
        return Ok(());
    }
    let dir = std::path::PathBuf::from(s.config.str(key::APPENDDIRNAME));
    let name = s.config.str(key::APPENDFILENAME);
    let fsync = crate::aof::Fsync::parse(&s.config.str(key::APPENDFSYNC));
    let info = snapshot_info(s);
    let ks = &s.ks;
    let aof = crate::aof::Aof::create(&dir, &name, fsync, |path| {
        persist::save_to_file(ks, &info, path).map(|_| ())
    })
    .map_err(|e| format!("Can't open the append-only file: {e}"))?;
    tracing::info!("Creating AOF base file {name}.1.base.rdb on server start");
    s.aof = Some(aof);
    // The new incremental file starts with no database selected.
    s.prop.force_select();
    Ok(())
}

/// The AOF's part of the cron: the `everysec` fsync and the end of a
/// rewrite.
pub fn aof_cron(s: &mut Server, second: bool) {
    let Some(aof) = s.aof.as_mut() else {
        return;
    };
    if second || aof.error().is_some() {
        // A failed write is retried here until the disk takes it.
        crate::aof::exit_if_fatal(aof.tick());
    }
    if let Some((pid, _)) = aof.rewrite {
        if let Some(exit) = fork::try_reap(pid) {
            match aof.finish_rewrite(exit.ok()) {
                Ok(()) if exit.ok() => {
                    tracing::info!("Background AOF rewrite finished successfully")
                }
                Ok(()) => tracing::warn!("Background AOF rewrite terminated with error"),
                Err(e) => {
                    tracing::warn!("Background AOF rewrite failed to install the new base: {e}")
                }
            }
        }
    }
}

/// BGREWRITEAOF: a child writes a new base while writes go to a new
/// incremental file. Asked while another child runs, it is scheduled.
pub fn bgrewriteaof(s: &mut Server, sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    match active_child(s) {
        Some(ChildKind::Aof) => {
            return reply::err_static(
                "ERR Background append only file rewriting already in progress",
            );
        }
        Some(ChildKind::Rdb) => {
            s.saving.aof_rewrite_scheduled = true;
            return Frame::Simple(Bytes::from_static(
                b"Background append only file rewriting scheduled",
            ));
        }
        None if sess.multi_exec => {
            s.saving.aof_rewrite_scheduled = true;
            return Frame::Simple(Bytes::from_static(
                b"Background append only file rewriting scheduled",
            ));
        }
        None => {}
    }
    match start_aof_rewrite(s) {
        Ok(()) => Frame::Simple(Bytes::from_static(
            b"Background append only file rewriting started",
        )),
        Err(e) => error_text(&format!("ERR {e}")),
    }
}

/// Forks the AOF rewrite child (or creates the AOF when it is off).
pub fn start_aof_rewrite(s: &mut Server) -> Result<(), String> {
    if s.aof.is_none() {
        return aof_enable(s);
    }
    // Writes already applied are in the child's snapshot: they must reach
    // the old incremental file, not the one opened at the fork.
    crate::repl::flush_stream(s);
    let info = snapshot_info(s);
    let dir = s
        .aof
        .as_ref()
        .map(|a| a.dir().to_path_buf())
        .unwrap_or_default();
    let ks = &s.ks;
    // The child learns its target from its own pid, which the parent
    // names the same way.
    let pid = fork::fork_child(move || {
        let path = dir.join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
        match persist::save_to_file(ks, &info, &path) {
            Ok(_) => 0,
            Err(_) => 1,
        }
    })
    .map_err(|e| format!("Can't rewrite append only file in background: fork: {e}"))?;
    if let Some(aof) = s.aof.as_mut() {
        if let Err(e) = aof.begin_rewrite(pid) {
            fork::kill_child(pid);
            return Err(format!("Can't rewrite append only file: {e}"));
        }
        s.prop.force_select();
    }
    tracing::info!("Background append only file rewriting started by pid {pid}");
    Ok(())
}
