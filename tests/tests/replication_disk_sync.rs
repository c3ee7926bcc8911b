//! Disk-mode full sync (`repl-diskless-sync no`) of a data set larger than
//! the replica output-buffer limit, to a replica that loads slowly: the
//! master sends the snapshot file from disk, so the sync succeeds once,
//! without holding the snapshot in memory. Also run with Redis on both
//! sides, as a check of the test itself.

mod repl_common;

use repl_common::*;
use replikv_tests::{Server, ServerKind};

use ServerKind::{Redis, Replikv};

/// 100,000 keys of 1,000 bytes, uncompressed: a ~100 MB snapshot against
/// a 64 MB hard output-buffer limit.
const KEYS: &str = "100000";
const VALUE_SIZE: &str = "1000";

fn disk_sync_over_output_buffer_limit(kind: ServerKind) {
    let master = start(
        kind,
        &[
            "--repl-diskless-sync",
            "no",
            "--rdbcompression",
            "no",
            "--client-output-buffer-limit",
            "replica 64mb 32mb 60",
        ],
    );
    assert_ok(
        &cmd(
            master.port(),
            &["DEBUG", "POPULATE", KEYS, "key", VALUE_SIZE],
        ),
        "DEBUG POPULATE",
    );
    let before = info_int(master.port(), "memory", "used_memory");
    let replica: Server = start_replica(kind, &master, &["--key-load-delay", "-5"]);
    wait_link_up(&replica);
    wait_in_sync(&master, &[&replica]);
    assert_eq!(
        cmd(replica.port(), &["DBSIZE"]),
        redis::Value::Int(KEYS.parse().unwrap_or(0))
    );
    let stats = sync_stats(master.port());
    assert_eq!(
        stats.full,
        1,
        "one full sync, not a loop of dropped attempts\n{}",
        describe(&master)
    );
    let peak = info_int(master.port(), "memory", "used_memory_peak");
    assert!(
        peak - before < 48 << 20,
        "the master's memory peaked {} MB over the data set during the sync",
        (peak - before) >> 20
    );
    assert!(
        !master
            .log()
            .contains("scheduled to be closed ASAP for overcoming of output buffer"),
        "{}",
        master.log_tail()
    );
}

#[test]
fn disk_sync_over_output_buffer_limit_replikv() {
    disk_sync_over_output_buffer_limit(Replikv);
}

#[test]
fn reference_disk_sync_over_output_buffer_limit_redis() {
    disk_sync_over_output_buffer_limit(Redis);
}
