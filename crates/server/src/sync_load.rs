//! How a replica takes in a full sync, by `repl-diskless-load`, as Redis
//! does:
//!
//! - `disabled` (and `on-empty-db` when the data set has keys): the payload
//!   goes to a temporary file while the old data is still served; then the
//!   old data is flushed, the file becomes the dump file and is loaded, with
//!   clients answered `-LOADING` meanwhile. One data set in memory at a time.
//! - `swapdb`: the payload is parsed as it arrives into fresh databases and
//!   swapped in at the end; the old data is kept until then. When the
//!   master's ID is this node's own (the same history, later), reads keep
//!   being served from the old data (`async_loading`); otherwise clients get
//!   `-LOADING` for the whole transfer.
//! - `on-empty-db` with an empty data set: parsed as it arrives, `-LOADING`
//!   meanwhile.

use crate::config::key;
use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::rc::Rc;

use replication::repl_backlog::ReplId;

use crate::persist::{LoadReport, Loader};
use crate::server::{unix_ms, Server};

/// Where the payload being received goes.
#[derive(Debug)]
pub enum Incoming {
    /// Written to a temporary file, loaded when complete.
    File {
        /// The open temporary file.
        out: BufWriter<File>,
        /// Its path (renamed over the dump file before loading).
        path: PathBuf,
    },
    /// Parsed as it arrives into fresh databases.
    Parse(Box<Loader>),
}

/// Whether the next payload is parsed as it arrives (Redis's
/// `useDisklessLoad`).
pub fn load_to_parser(s: &Server) -> bool {
    match s.config.str(key::REPL_DISKLESS_LOAD).as_str() {
        "swapdb" => true,
        "on-empty-db" => s.ks.total_keys() == 0,
        _ => false,
    }
}

fn new_loader(s: &Server, now: u64) -> Loader {
    Loader::new(s.ks.db_count(), now as i64, false, u64::MAX, *s.ks.limits())
        .with_key_load_delay(s.config.int(key::KEY_LOAD_DELAY))
}

/// A payload begins (`size` when announced, `replid` of the master).
pub fn start(s: &mut Server, size: Option<u64>, replid: ReplId, now: u64) {
    s.repl.incoming_error = None;
    s.saving.loading_total = size.unwrap_or(0);
    s.saving.loading_read = 0;
    if load_to_parser(s) {
        let same_history = s.repl.node.master.history().ids.replid() == &replid;
        if s.config.str(key::REPL_DISKLESS_LOAD) == "swapdb" && same_history {
            s.saving.async_loading = true;
        } else {
            s.saving.loading = true;
        }
        s.repl.incoming = Some(Incoming::Parse(Box::new(new_loader(s, now))));
        return;
    }
    let path = PathBuf::from(format!(
        "temp-{}.{}.rdb",
        unix_ms() / 1000,
        std::process::id()
    ));
    match File::create(&path) {
        Ok(f) => {
            s.repl.incoming = Some(Incoming::File {
                out: BufWriter::with_capacity(256 * 1024, f),
                path,
            });
        }
        Err(e) => {
            let why = crate::repl::io_error_text(&e);
            tracing::warn!(
                "Opening the temp file needed for MASTER <-> REPLICA synchronization: {why}"
            );
            s.repl.incoming_error = Some(why);
        }
    }
}

/// Next bytes of the payload.
pub fn chunk(s: &mut Server, bytes: &[u8]) {
    s.saving.loading_read += bytes.len() as u64;
    let failed = match s.repl.incoming.as_mut() {
        Some(Incoming::Parse(l)) => l.feed(bytes).err().map(|e| e.to_string()),
        Some(Incoming::File { out, .. }) => out
            .write_all(bytes)
            .err()
            .map(|e| format!("Write error writing to the DB file: {e}")),
        None => None,
    };
    if let Some(e) = failed {
        discard(s);
        s.repl.incoming_error = Some(e);
    }
}

/// The transfer was aborted: drop what was received.
pub fn discard(s: &mut Server) {
    if let Some(Incoming::File { path, .. }) = s.repl.incoming.take() {
        let _ = std::fs::remove_file(path);
    }
    s.saving.loading = false;
    s.saving.async_loading = false;
}

/// The payload is complete: swap in what was parsed, or flush the old data
/// and load the file.
pub fn done(s: &mut Server, now: u64) {
    let incoming = s.repl.incoming.take();
    if let Some(e) = s.repl.incoming_error.take() {
        discard(s);
        fail(s, now, &e);
        return;
    }
    match incoming {
        Some(Incoming::Parse(l)) => {
            let result = l.finish().map_err(|e| e.to_string());
            s.saving.loading = false;
            s.saving.async_loading = false;
            match result {
                Ok((dbs, report)) => install(s, dbs, &report, now),
                Err(e) => {
                    tracing::warn!(
                        "Failed trying to load the MASTER synchronization DB from socket: {e}"
                    );
                    fail(s, now, &e);
                }
            }
        }
        Some(Incoming::File { out, path }) => {
            let synced = out
                .into_inner()
                .map_err(|e| e.into_error())
                .and_then(|f| f.sync_all());
            if let Err(e) = synced {
                let _ = std::fs::remove_file(&path);
                fail(
                    s,
                    now,
                    &format!("Failed trying to sync the temp DB to disk in MASTER <-> REPLICA synchronization: {e}"),
                );
                return;
            }
            // A save running now would overwrite the file with old data.
            if let Some(child) = s.saving.child.take() {
                tracing::info!("Replica is about to load the RDB file received from the master, but there is a pending RDB child running. Killing process {} and removing its temp file to avoid any race", child.pid);
                crate::fork::kill_child(child.pid);
                let _ = std::fs::remove_file(format!("temp-{}.rdb", child.pid));
            }
            let dump = crate::persist::dump_path(&s.config.str(key::DBFILENAME));
            if let Err(e) = std::fs::rename(&path, &dump) {
                let _ = std::fs::remove_file(&path);
                fail(
                    s,
                    now,
                    &format!("Failed trying to rename the temp DB into {} in MASTER <-> REPLICA synchronization: {e}", dump.display()),
                );
                return;
            }
            // Flushing old data: the file is loaded into an empty server.
            let old = s.ks.take_dbs();
            s.replica_own.clear();
            free_old(s, old);
            s.saving.loading = true;
            match s.repl.server() {
                Some(me) => {
                    tokio::task::spawn_local(load_file(me, dump));
                }
                None => fail(s, now, "the server is shutting down"),
            }
        }
        None => fail(s, now, "no snapshot was received"),
    }
}

/// Hands the replaced data set to the freeing thread, uncounted: Redis
/// (with `replica-lazy-flush no`) frees it synchronously and counts
/// nothing, and replikv's event loop must not stall on it either.
fn free_old(s: &mut Server, old: Vec<keyspace::Db>) {
    s.lazyfree.free(vec![keyspace::keyspace::Garbage {
        objects: 0,
        payload: Box::new(old),
    }]);
}

fn fail(s: &mut Server, now: u64, why: &str) {
    s.saving.loading = false;
    s.saving.async_loading = false;
    let _ = s.repl.node.replica.handle_snapshot_failed(now, why);
}

/// Puts the loaded databases in place and tells the replica machine.
fn install(s: &mut Server, dbs: Vec<keyspace::Db>, report: &LoadReport, now: u64) {
    let old = s.ks.take_dbs();
    s.ks.replace_dbs(dbs);
    // The master's data replaces the replica's own keys, and its function
    // libraries the replica's.
    s.replica_own.clear();
    s.scripting.restore_libraries(&report.functions);
    // Freeing millions of old values is the freeing thread's work.
    free_old(s, old);
    s.ks.add_dirty(report.loaded.max(1));
    tracing::info!(
        "Done loading RDB, keys loaded: {}, keys expired: {}.",
        report.loaded,
        report.expired
    );
    crate::repl::continue_in_db(s, report.repl_stream_db);
    let _ = s.repl.node.replica.handle_snapshot_loaded(now);
}

/// Loads the received dump file a chunk at a time, letting clients (told
/// `-LOADING`) and the replication cron (newlines to the master) run in
/// between.
async fn load_file(server: Rc<RefCell<Server>>, path: PathBuf) {
    let (mut loader, chunk_len) = {
        let s = server.borrow();
        let len = usize::try_from(s.config.int(key::LOADING_PROCESS_EVENTS_INTERVAL_BYTES))
            .unwrap_or(2 << 20)
            .clamp(1024, 2 << 20);
        (new_loader(&s, unix_ms() as u64), len)
    };
    let result: Result<_, String> = async {
        let mut f = File::open(&path).map_err(|e| e.to_string())?;
        server.borrow_mut().saving.loading_total = f.metadata().map_or(0, |m| m.len());
        server.borrow_mut().saving.loading_read = 0;
        let mut buf = vec![0u8; chunk_len];
        loop {
            let n = f.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            loader.feed(&buf[..n]).map_err(|e| e.to_string())?;
            server.borrow_mut().saving.loading_read += n as u64;
            tokio::task::yield_now().await;
        }
        loader.finish().map_err(|e| e.to_string())
    }
    .await;
    let mut s = server.borrow_mut();
    let s = &mut *s;
    s.saving.loading = false;
    let now = unix_ms() as u64;
    match result {
        Ok((dbs, report)) => {
            s.saving.loaded_keys = report.loaded;
            s.saving.loaded_expired = report.expired;
            install(s, dbs, &report, now);
        }
        Err(e) => {
            tracing::warn!("Failed trying to load the MASTER synchronization DB from disk: {e}");
            fail(s, now, &e);
        }
    }
    crate::repl::drive(s);
}
