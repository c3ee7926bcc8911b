//! The append-only file when things go wrong, each case also run against
//! the reference `redis-server` (a failure there means the test is wrong):
//!
//! - the disk fills up: writes (and PING) are refused with `-MISCONF`,
//!   nothing acknowledged is lost, a partial write never corrupts the file,
//!   and writes resume by themselves when space returns;
//! - `aof-load-truncated no` refuses a file cut mid-command;
//! - `auto-aof-rewrite-percentage` rewrites a growing AOF;
//! - one child at a time: BGREWRITEAOF during a BGSAVE is scheduled.

mod repl_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use redis::Value;
use repl_common::*;
use replikv_tests::{
    error_text, new_temp_dir, pick_free_port, run_with_timeout, show_value, wait_until, RawConn,
    Server, ServerKind,
};

use ServerKind::{Redis, Replikv};

/// A small tmpfs mounted for one test, unmounted when dropped.
struct SmallFs {
    path: PathBuf,
    _parent: tempfile::TempDir,
}

impl SmallFs {
    /// Mounts a tmpfs of `size` (e.g. `4m`); None (with a message) when the
    /// test cannot mount, e.g. without root.
    fn mount(size: &str) -> Option<SmallFs> {
        let parent = new_temp_dir();
        let path = parent.path().join("fs");
        std::fs::create_dir(&path).ok()?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "SKIPPED: cannot mount a tmpfs (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(SmallFs {
            path,
            _parent: parent,
        })
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn on(conn: &mut RawConn, args: &[&str]) -> Value {
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    conn.send(&replikv_tests::encode_command(&bytes));
    conn.read_value()
}

fn is_ok(v: &Value) -> bool {
    matches!(v, Value::Okay) || matches!(v, Value::SimpleString(s) if s == "OK")
}

/// Fills the AOF's disk until a write is refused, frees space, and checks
/// that every acknowledged write survives a `kill -9`.
fn full_disk_refuses_writes_and_loses_nothing(kind: ServerKind) {
    let Some(fs) = SmallFs::mount("3m") else {
        return;
    };
    let filler = fs.path.join("filler");
    std::fs::write(&filler, vec![7u8; 1024 * 1024]).expect("write the filler file");
    let dir = fs.path.to_string_lossy().into_owned();
    let mut server = Server::start(
        kind,
        None,
        &[
            "--dir",
            &dir,
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
        ],
    );
    let port = server.port();
    let mut c = RawConn::connect(port);
    let value = "x".repeat(7000);
    let mut acked = Vec::new();
    let mut refused = None;
    for i in 0..2000 {
        let key = format!("k{i}");
        let r = on(&mut c, &["SET", &key, &value]);
        if is_ok(&r) {
            acked.push(key);
        } else {
            refused = Some(r);
            break;
        }
    }
    let refused = refused.expect("the disk never filled up");
    let text = error_text(&refused).unwrap_or_default();
    assert!(
        text.starts_with("MISCONF Errors writing to the AOF file: No space left on device"),
        "{}",
        show_value(&refused)
    );
    let ping = on(&mut c, &["PING"]);
    assert!(
        error_text(&ping).is_some_and(|t| t.starts_with("MISCONF")),
        "PING during a disk error: {}",
        show_value(&ping)
    );
    assert_eq!(
        info_field(port, "persistence", "aof_last_write_status"),
        "err"
    );
    assert!(
        matches!(on(&mut c, &["GET", &acked[0]]), Value::BulkString(_)),
        "reads still work"
    );

    std::fs::remove_file(&filler).expect("free space");
    let recovered = wait_until(EVENTUAL, || is_ok(&on(&mut c, &["SET", "after", "1"])));
    assert!(recovered, "writes never resumed\n{}", server.log_tail());
    assert_eq!(
        info_field(port, "persistence", "aof_last_write_status"),
        "ok"
    );
    // Let the everysec write and fsync run, then crash.
    std::thread::sleep(Duration::from_millis(1500));
    drop(c);
    server.kill9();
    server.restart();
    let mut c = RawConn::connect(port);
    for key in acked.iter().chain(std::iter::once(&"after".to_string())) {
        let v = on(&mut c, &["STRLEN", key]);
        assert!(
            v != Value::Int(0),
            "{key} was acknowledged and is lost after the restart"
        );
    }
    assert_eq!(on(&mut c, &["DBSIZE"]), Value::Int(acked.len() as i64 + 1));
}

#[test]
fn full_disk_refuses_writes_and_loses_nothing_replikv() {
    full_disk_refuses_writes_and_loses_nothing(Replikv);
}

#[test]
fn reference_full_disk_refuses_writes_and_loses_nothing_redis() {
    full_disk_refuses_writes_and_loses_nothing(Redis);
}

/// The last incremental file of the AOF directory in `dir`.
fn last_incr(dir: &Path) -> PathBuf {
    let mut incr: Vec<PathBuf> = std::fs::read_dir(dir.join("appendonlydir"))
        .expect("the AOF directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .collect();
    incr.sort();
    incr.pop().expect("an incremental file")
}

/// An AOF cut in the middle of a command: refused with
/// `aof-load-truncated no`, loaded (without the cut command) with `yes`.
fn truncated_aof(kind: ServerKind) {
    let server = Server::start(
        kind,
        None,
        &["--appendonly", "yes", "--appendfsync", "always"],
    );
    assert_ok(&cmd(server.port(), &["SET", "a", "1"]), "SET");
    let dir = server.dir().to_path_buf();
    server.kill9();
    let incr = last_incr(&dir);
    let mut bytes = std::fs::read(&incr).expect("read the AOF");
    bytes.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nb");
    std::fs::write(&incr, &bytes).expect("cut the AOF");

    let run = |truncated: &str| {
        let port = pick_free_port().to_string();
        let mut command = Command::new(kind.bin());
        command
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "yes", "--aof-load-truncated", truncated])
            .arg("--dir")
            .arg(&dir)
            .current_dir(&dir);
        (port, command)
    };
    let (_, mut refuse) = run("no");
    let out = run_with_timeout(&mut refuse, Duration::from_secs(20));
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "must refuse to start\n{log}");
    assert!(
        log.contains("Unexpected end of file reading the append only file"),
        "{log}"
    );
    assert_eq!(
        std::fs::read(&incr).expect("read the AOF"),
        bytes,
        "refusing must leave the file as it was"
    );
    drop(server);
}

#[test]
fn truncated_aof_is_refused_without_aof_load_truncated_replikv() {
    truncated_aof(Replikv);
}

#[test]
fn reference_truncated_aof_is_refused_without_aof_load_truncated_redis() {
    truncated_aof(Redis);
}

/// Overwriting one key grows the AOF; past 100% growth over the minimum
/// size a rewrite starts by itself and the base file is replaced.
fn auto_rewrite(kind: ServerKind) {
    let server = Server::start(
        kind,
        None,
        &[
            "--appendonly",
            "yes",
            "--auto-aof-rewrite-percentage",
            "0",
            "--auto-aof-rewrite-min-size",
            "200kb",
        ],
    );
    let port = server.port();
    let value = "v".repeat(1000);
    let mut c = RawConn::connect(port);
    for _ in 0..400 {
        assert!(is_ok(&on(&mut c, &["SET", "same", &value])));
    }
    // Turned on once every write is in: a rewrite that started midway
    // would carry the later writes into its new file.
    assert!(is_ok(&on(
        &mut c,
        &["CONFIG", "SET", "auto-aof-rewrite-percentage", "100"]
    )));
    let base2 = server.dir().join("appendonlydir/appendonly.aof.2.base.rdb");
    let rewritten = wait_until(EVENTUAL, || base2.exists());
    assert!(
        rewritten,
        "no automatic rewrite: {:?}\n{}",
        info(port, "persistence"),
        server.log_tail()
    );
    let ok = wait_until(EVENTUAL, || {
        let i = info(port, "persistence");
        i["aof_rewrite_in_progress"] == "0"
            && i["aof_base_size"].parse::<u64>().unwrap_or(u64::MAX) < 200 * 1024
    });
    assert!(ok, "{:?}", info(port, "persistence"));
    assert!(server
        .log()
        .contains("Starting automatic rewriting of AOF on"));
}

#[test]
fn auto_aof_rewrite_replikv() {
    auto_rewrite(Replikv);
}

#[test]
fn reference_auto_aof_rewrite_redis() {
    auto_rewrite(Redis);
}

/// A slow BGSAVE (`rdb-key-save-delay`) is running: BGREWRITEAOF is
/// scheduled, a second BGSAVE refused, and the rewrite runs once the save
/// is over.
fn one_child_at_a_time(kind: ServerKind) {
    let server = Server::start(
        kind,
        None,
        &["--appendonly", "yes", "--enable-debug-command", "yes"],
    );
    let port = server.port();
    let mut c = RawConn::connect(port);
    assert!(is_ok(&on(&mut c, &["DEBUG", "POPULATE", "100"])));
    assert!(is_ok(&on(
        &mut c,
        &["CONFIG", "SET", "rdb-key-save-delay", "10000"]
    )));
    assert_eq!(
        on(&mut c, &["BGSAVE"]),
        Value::SimpleString("Background saving started".into())
    );
    assert_eq!(
        on(&mut c, &["BGREWRITEAOF"]),
        Value::SimpleString("Background append only file rewriting scheduled".into())
    );
    assert_eq!(
        info_field(port, "persistence", "aof_rewrite_scheduled"),
        "1"
    );
    assert_eq!(
        error_text(&on(&mut c, &["BGSAVE"])).as_deref(),
        Some("ERR Background save already in progress")
    );
    assert_eq!(
        info_field(port, "persistence", "aof_rewrite_in_progress"),
        "0"
    );
    assert!(is_ok(&on(
        &mut c,
        &["CONFIG", "SET", "rdb-key-save-delay", "0"]
    )));
    let done = wait_until(EVENTUAL, || {
        let i = info(port, "persistence");
        i["rdb_bgsave_in_progress"] == "0"
            && i["aof_rewrite_scheduled"] == "0"
            && i["aof_rewrite_in_progress"] == "0"
    });
    assert!(done, "{:?}", info(port, "persistence"));
    assert!(server
        .dir()
        .join("appendonlydir/appendonly.aof.2.base.rdb")
        .exists());
}

#[test]
fn one_child_at_a_time_replikv() {
    one_child_at_a_time(Replikv);
}

#[test]
fn reference_one_child_at_a_time_redis() {
    one_child_at_a_time(Redis);
}
