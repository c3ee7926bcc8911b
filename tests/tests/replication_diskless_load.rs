//! `repl-diskless-load` on the replica, each mode also run with Redis on
//! both sides as a check of the test itself:
//!
//! - `disabled`: the payload goes to a file, then the old data is flushed
//!   and the file loaded with `loading:1` (clients told `-LOADING`); the
//!   file stays as the replica's dump;
//! - `swapdb` with a new replication ID: `loading:1` during the transfer;
//! - `swapdb` with the replica's own ID (a resync of the same history):
//!   `async_loading:1`, and the old data is still served meanwhile.

mod repl_common;

use redis::Value;
use repl_common::*;
use replikv_tests::{error_text, show_value, wait_until, Server, ServerKind};

use ServerKind::{Redis, Replikv};

/// A loading server answers between chunks of this many bytes (Redis's
/// default, 2 MB, would hide a short load from the test).
const EVENTS: &str = "--loading-process-events-interval-bytes";

/// Waits until INFO persistence on `port` shows `field:1`.
fn wait_flag(server: &Server, field: &str) {
    let ok = wait_until(EVENTUAL, || {
        try_cmd(server.port(), &["INFO", "persistence"])
            .map(|v| text(&v).contains(&format!("{field}:1")))
            .unwrap_or(false)
    });
    assert!(ok, "{field} never became 1\n{}", describe(server));
}

fn disk_load(kind: ServerKind) {
    let master = start(kind, &[]);
    assert_ok(
        &cmd(master.port(), &["DEBUG", "POPULATE", "20000", "m", "100"]),
        "POPULATE",
    );
    let replica = start(kind, &["--key-load-delay", "100", EVENTS, "1024"]);
    assert_ok(&cmd(replica.port(), &["SET", "mine", "1"]), "SET");
    let port = master.port().to_string();
    assert_ok(
        &cmd(replica.port(), &["REPLICAOF", "127.0.0.1", &port]),
        "REPLICAOF",
    );
    wait_flag(&replica, "loading");
    let reply = cmd(replica.port(), &["GET", "mine"]);
    assert!(
        error_text(&reply).is_some_and(|e| e.starts_with("LOADING")),
        "reads during the load: {}",
        show_value(&reply)
    );
    assert_ok(
        &cmd(replica.port(), &["CONFIG", "SET", "key-load-delay", "0"]),
        "CONFIG SET",
    );
    wait_link_up(&replica);
    wait_in_sync(&master, &[&replica]);
    assert_eq!(cmd(replica.port(), &["EXISTS", "mine"]), Value::Int(0));
    assert!(
        replica.dir().join("dump.rdb").exists(),
        "the received file becomes the replica's dump"
    );
}

#[test]
fn disk_load_replikv() {
    disk_load(Replikv);
}

#[test]
fn reference_disk_load_redis() {
    disk_load(Redis);
}

/// A master whose snapshots, once slowed with [`SLOW_SAVE`], stream 3 MB
/// over about three seconds (Redis buffers a few KB before sending any).
fn slow_master(kind: ServerKind) -> Server {
    let master = start(
        kind,
        &["--repl-backlog-size", "16384", "--rdbcompression", "no"],
    );
    assert_ok(
        &cmd(master.port(), &["DEBUG", "POPULATE", "3000", "m", "1000"]),
        "POPULATE",
    );
    master
}

/// `rdb-key-save-delay` (µs per key) that makes [`slow_master`] slow.
const SLOW_SAVE: &str = "1000";

fn swapdb_new_history(kind: ServerKind) {
    let master = slow_master(kind);
    assert_ok(
        &cmd(
            master.port(),
            &["CONFIG", "SET", "rdb-key-save-delay", SLOW_SAVE],
        ),
        "CONFIG SET",
    );
    let replica = start(kind, &["--repl-diskless-load", "swapdb", EVENTS, "1024"]);
    assert_ok(&cmd(replica.port(), &["SET", "mine", "1"]), "SET");
    let port = master.port().to_string();
    assert_ok(
        &cmd(replica.port(), &["REPLICAOF", "127.0.0.1", &port]),
        "REPLICAOF",
    );
    wait_flag(&replica, "loading");
    assert_eq!(
        info_field(replica.port(), "persistence", "async_loading"),
        "0"
    );
    assert_ok(
        &cmd(master.port(), &["CONFIG", "SET", "rdb-key-save-delay", "0"]),
        "CONFIG SET",
    );
    wait_link_up(&replica);
    wait_in_sync(&master, &[&replica]);
    assert_eq!(cmd(replica.port(), &["EXISTS", "mine"]), Value::Int(0));
}

#[test]
fn swapdb_new_history_replikv() {
    swapdb_new_history(Replikv);
}

#[test]
fn reference_swapdb_new_history_redis() {
    swapdb_new_history(Redis);
}

fn swapdb_same_history(kind: ServerKind) {
    let master = slow_master(kind);
    let replica = start_replica(
        kind,
        &master,
        &["--repl-diskless-load", "swapdb", EVENTS, "1024"],
    );
    wait_link_up(&replica);
    wait_in_sync(&master, &[&replica]);
    assert_ok(
        &cmd(
            master.port(),
            &["CONFIG", "SET", "rdb-key-save-delay", SLOW_SAVE],
        ),
        "CONFIG SET",
    );
    assert_ok(
        &cmd(
            replica.port(),
            &["CONFIG", "SET", "repl-diskless-load", "swapdb"],
        ),
        "CONFIG SET",
    );
    // The replica comes back after the backlog lost its place: a full
    // sync of the same history.
    kill_replica_then_write(master.port(), "overflow", 100, 500);
    wait_flag(&replica, "async_loading");
    assert_eq!(info_field(replica.port(), "persistence", "loading"), "0");
    assert!(
        matches!(cmd(replica.port(), &["GET", "m:1"]), Value::BulkString(_)),
        "the old data is served during an async load"
    );
    assert_ok(
        &cmd(master.port(), &["CONFIG", "SET", "rdb-key-save-delay", "0"]),
        "CONFIG SET",
    );
    wait_link_up(&replica);
    wait_in_sync(&master, &[&replica]);
    assert_eq!(
        info_field(replica.port(), "persistence", "async_loading"),
        "0"
    );
}

#[test]
fn swapdb_same_history_replikv() {
    swapdb_same_history(Replikv);
}

#[test]
fn reference_swapdb_same_history_redis() {
    swapdb_same_history(Redis);
}
