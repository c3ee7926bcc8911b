//! The replication link under stress (walkthroughs.md, "How replication
//! behaves"): the master keeps taking writes during a full sync and the
//! replica ends up with all of them; disk-based (not diskless) full syncs;
//! dead links detected by `repl-timeout` on both sides (a process frozen
//! with SIGSTOP keeps its sockets open, so only the timeout can tell) and
//! healed by a partial resync once the process runs again.
//!
//! Runs with redis-server on both sides (`reference_*`) check the tests.

mod repl_common;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use repl_common::*;
use replikv_tests::{wait_until, RawConn, ServerKind};

use ServerKind::{Redis, Replikv};

/// `n` string keys of about 100 bytes in database 0 (a data set whose
/// snapshot takes a moment to stream).
fn fill_many(port: u16, n: usize) {
    let mut conn = RawConn::connect(port);
    let value = "d".repeat(100);
    let cmds: Vec<Vec<Vec<u8>>> = (0..n)
        .map(|i| {
            vec![
                b"SET".to_vec(),
                format!("bulk:{i}").into_bytes(),
                value.clone().into_bytes(),
            ]
        })
        .collect();
    let replies = pipeline(&mut conn, &cmds);
    assert_eq!(replies.len(), n);
}

/// Writes keep coming while the replica does its full sync: they are
/// buffered by the master and applied after the snapshot.
fn writes_during_full_sync(master_kind: ServerKind, replica_kind: ServerKind, diskless: bool) {
    let master = start(
        master_kind,
        &[
            "--repl-diskless-sync",
            if diskless { "yes" } else { "no" },
            "--repl-ping-replica-period",
            "1",
        ],
    );
    fill_all_types(master.port());
    fill_many(master.port(), 10_000);

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        let port = master.port();
        std::thread::spawn(move || {
            let mut batches = 0u64;
            while !stop.load(Ordering::Relaxed) {
                random_writes(port, 100 + batches, 50);
                batches += 1;
            }
            batches
        })
    };
    let replica = start_replica(replica_kind, &master, &[]);
    wait_link_up(&replica);
    // A few more batches after the link is up, then stop writing.
    let before = sync_stats(master.port());
    random_writes(master.port(), 99, 200);
    stop.store(true, Ordering::Relaxed);
    let batches = writer
        .join()
        .unwrap_or_else(|_| panic!("the writer thread panicked"));
    assert!(batches > 0, "the writer never ran");
    wait_in_sync(&master, &[&replica]);
    assert_same_data(&master, &replica);
    check_filled_values(replica.port());
    assert_eq!(before.full, 1, "one full sync");
    if !diskless {
        let log = master.log();
        assert!(
            log.contains("Starting BGSAVE for SYNC with target: disk"),
            "a disk-based sync was configured:\n{}",
            master.log_tail()
        );
    }
}

#[test]
fn writes_during_full_sync_replikv_to_replikv() {
    writes_during_full_sync(Replikv, Replikv, true);
}

#[test]
fn writes_during_full_sync_replikv_to_redis() {
    writes_during_full_sync(Replikv, Redis, true);
}

#[test]
fn writes_during_full_sync_redis_to_replikv() {
    writes_during_full_sync(Redis, Replikv, true);
}

#[test]
fn disk_based_full_sync_replikv_to_replikv() {
    writes_during_full_sync(Replikv, Replikv, false);
}

#[test]
fn disk_based_full_sync_replikv_to_redis() {
    writes_during_full_sync(Replikv, Redis, false);
}

#[test]
fn disk_based_full_sync_redis_to_replikv() {
    writes_during_full_sync(Redis, Replikv, false);
}

#[test]
fn reference_disk_based_full_sync_redis_to_redis() {
    writes_during_full_sync(Redis, Redis, false);
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{sig} {pid} failed");
}

/// Sends SIGCONT when dropped, so a failed test never leaves a process
/// frozen (the harness kills it with SIGKILL, which works anyway).
struct Thaw(u32);

impl Drop for Thaw {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(self.0.to_string())
            .status();
    }
}

/// A frozen master: the replica's `repl-timeout` (2 s) notices, the link
/// goes down; thawed, the master is joined again with a partial resync.
fn replica_times_out_a_frozen_master(master_kind: ServerKind, replica_kind: ServerKind) {
    let master = start(master_kind, &["--repl-ping-replica-period", "1"]);
    fill_all_types(master.port());
    let replica = start_replica(replica_kind, &master, &["--repl-timeout", "2"]);
    wait_link_up(&replica);
    wait_in_sync(&master, &[&replica]);
    let before = sync_stats(master.port());

    signal(master.pid(), "STOP");
    let thaw = Thaw(master.pid());
    let ok = wait_until(EVENTUAL, || {
        info_field(replica.port(), "replication", "master_link_status") == "down"
    });
    assert!(
        ok,
        "the replica never timed out its frozen master\n{}",
        describe(&replica)
    );
    assert!(
        replica
            .log()
            .contains("MASTER timeout: no data nor PING received..."),
        "{}",
        replica.log_tail()
    );
    drop(thaw);

    wait_link_up(&replica);
    assert_ok(&cmd(master.port(), &["SET", "after", "thaw"]), "SET");
    wait_in_sync(&master, &[&replica]);
    let now = sync_stats(master.port());
    assert_eq!(
        (now.full, now.partial_ok),
        (before.full, before.partial_ok + 1),
        "the link must heal with a partial resync\n{}{}",
        describe(&master),
        describe(&replica)
    );
    assert_same_data(&master, &replica);
}

#[test]
fn replikv_replica_times_out_frozen_replikv_master() {
    replica_times_out_a_frozen_master(Replikv, Replikv);
}

#[test]
fn replikv_replica_times_out_frozen_redis_master() {
    replica_times_out_a_frozen_master(Redis, Replikv);
}

#[test]
fn reference_redis_replica_times_out_frozen_redis_master() {
    replica_times_out_a_frozen_master(Redis, Redis);
}

/// A frozen replica: the master's `repl-timeout` (2 s) drops it; thawed,
/// the replica comes back with a partial resync.
fn master_times_out_a_frozen_replica(master_kind: ServerKind, replica_kind: ServerKind) {
    let master = start(
        master_kind,
        &["--repl-timeout", "2", "--repl-ping-replica-period", "1"],
    );
    fill_all_types(master.port());
    let replica = start_replica(replica_kind, &master, &[]);
    wait_link_up(&replica);
    wait_online_replicas(&master, 1);
    wait_in_sync(&master, &[&replica]);
    let before = sync_stats(master.port());

    signal(replica.pid(), "STOP");
    let thaw = Thaw(replica.pid());
    let ok = wait_until(EVENTUAL, || {
        info_field(master.port(), "replication", "connected_slaves") == "0"
    });
    assert!(
        ok,
        "the master never dropped its frozen replica\n{}",
        describe(&master)
    );
    assert!(
        master.log().contains("Disconnecting timedout replica"),
        "{}",
        master.log_tail()
    );
    assert_ok(&cmd(master.port(), &["SET", "while", "frozen"]), "SET");
    drop(thaw);

    wait_online_replicas(&master, 1);
    wait_link_up(&replica);
    wait_in_sync(&master, &[&replica]);
    let now = sync_stats(master.port());
    assert_eq!(
        (now.full, now.partial_ok),
        (before.full, before.partial_ok + 1),
        "the link must heal with a partial resync\n{}{}",
        describe(&master),
        describe(&replica)
    );
    assert_same_data(&master, &replica);
    assert_eq!(text(&cmd(replica.port(), &["GET", "while"])), "frozen");
}

#[test]
fn replikv_master_times_out_frozen_replikv_replica() {
    master_times_out_a_frozen_replica(Replikv, Replikv);
}

#[test]
fn replikv_master_times_out_frozen_redis_replica() {
    master_times_out_a_frozen_replica(Replikv, Redis);
}

#[test]
fn reference_redis_master_times_out_frozen_redis_replica() {
    master_times_out_a_frozen_replica(Redis, Redis);
}
