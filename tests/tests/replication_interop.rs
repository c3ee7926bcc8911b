//! Replication between replikv and the reference redis-server, both ways:
//! full sync of every type in several databases with expiries, a random
//! write stream, a dropped link healed by a *partial* resync (CLIENT KILL
//! TYPE master on the replica, CLIENT KILL TYPE replica on the master),
//! and a backlog overflow that forces a full resync.
//!
//! Each scenario also runs replikv → replikv, and redis → redis as a check
//! of the test itself (a failure there means the test is wrong).
//! Data is compared with DEBUG DIGEST and key by key.

mod repl_common;

use repl_common::*;
use replikv_tests::{wait_until, Server, ServerKind};

use ServerKind::{Redis, Replikv};

/// `CLIENT KILL TYPE <kind>` on `port`; asserts one client was killed.
/// Waits until the master counted `n` more partial resyncs than `before`,
/// then checks it did no full sync meanwhile.
fn expect_partial_resyncs(master: &Server, replica: &Server, before: SyncStats, n: i64) {
    let ok = wait_until(EVENTUAL, || {
        sync_stats(master.port()).partial_ok >= before.partial_ok + n
    });
    assert!(
        ok,
        "expected {n} partial resync(s) on the master: before {before:?}, now {:?}\n{}{}",
        sync_stats(master.port()),
        describe(master),
        describe(replica)
    );
    wait_link_up(replica);
    wait_in_sync(master, &[replica]);
    let now = sync_stats(master.port());
    assert_eq!(
        (now.full, now.partial_ok),
        (before.full, before.partial_ok + n),
        "a dropped link must heal with a partial resync only (before {before:?}, now {now:?})\n{}{}",
        describe(master),
        describe(replica)
    );
}

/// Full sync of every type, a random stream, then the link dropped from
/// the replica's side and from the master's side: each time the replica
/// comes back with a partial resync, writes made meanwhile included.
fn full_sync_stream_and_partial_resyncs(master_kind: ServerKind, replica_kind: ServerKind) {
    let master = start(master_kind, &["--repl-ping-replica-period", "1"]);
    fill_all_types(master.port());
    let replica = start_replica(replica_kind, &master, &[]);
    wait_link_up(&replica);
    wait_online_replicas(&master, 1);
    wait_in_sync(&master, &[&replica]);
    check_filled_values(replica.port());
    assert_same_data(&master, &replica);
    let before = sync_stats(master.port());
    assert_eq!(before.full, 1, "one full sync for the first attach");

    random_writes(master.port(), 1, 1500);
    wait_in_sync(&master, &[&replica]);
    assert_same_data(&master, &replica);

    // The link cut by the replica: partial resync, with the writes made
    // while it was reconnecting.
    kill_one_client_of_type(replica.port(), "master");
    random_writes(master.port(), 2, 300);
    expect_partial_resyncs(&master, &replica, before, 1);
    assert_same_data(&master, &replica);

    // The link cut by the master.
    kill_one_client_of_type(master.port(), "replica");
    random_writes(master.port(), 3, 300);
    expect_partial_resyncs(&master, &replica, before, 2);
    assert_same_data(&master, &replica);
    check_filled_values(replica.port());
}

#[test]
fn redis_replica_of_replikv_master() {
    full_sync_stream_and_partial_resyncs(Replikv, Redis);
}

#[test]
fn replikv_replica_of_redis_master() {
    full_sync_stream_and_partial_resyncs(Redis, Replikv);
}

#[test]
fn replikv_replica_of_replikv_master() {
    full_sync_stream_and_partial_resyncs(Replikv, Replikv);
}

#[test]
fn reference_redis_replica_of_redis_master() {
    full_sync_stream_and_partial_resyncs(Redis, Redis);
}

/// The replica saved its replication state, died (SIGKILL), and the master
/// wrote more than its 16 KB backlog meanwhile: on restart the replica asks
/// for a partial resync, the master refuses (`sync_partial_err`) and does a
/// full one (`sync_full`).
fn backlog_overflow_forces_full_resync(master_kind: ServerKind, replica_kind: ServerKind) {
    let master = start(
        master_kind,
        &[
            "--repl-backlog-size",
            "16384",
            "--repl-ping-replica-period",
            "1",
        ],
    );
    fill_all_types(master.port());
    let mut replica = start_replica(replica_kind, &master, &[]);
    wait_link_up(&replica);
    wait_in_sync(&master, &[&replica]);
    assert_ok(&cmd(replica.port(), &["SAVE"]), "SAVE on the replica");
    let before = sync_stats(master.port());

    replica.kill9();
    // Far more than the backlog: 200 × 1 KB.
    write_volume(master.port(), "overflow", 200, 1000);
    random_writes(master.port(), 11, 200);
    replica.restart();

    let ok = wait_until(EVENTUAL, || sync_stats(master.port()).full > before.full);
    assert!(
        ok,
        "no full resync after the backlog overflowed: before {before:?}, now {:?}\n{}{}",
        sync_stats(master.port()),
        describe(&master),
        describe(&replica)
    );
    wait_link_up(&replica);
    wait_in_sync(&master, &[&replica]);
    let now = sync_stats(master.port());
    assert_eq!(
        now,
        SyncStats {
            full: before.full + 1,
            partial_ok: before.partial_ok,
            partial_err: before.partial_err + 1,
        },
        "the restarted replica must ask for a partial resync (it has the replication ID \
         in its dump) and get a full one\n{}{}",
        describe(&master),
        describe(&replica)
    );
    assert_same_data(&master, &replica);
    assert_eq!(
        text(&cmd(replica.port(), &["GET", "overflow:199"])),
        "v".repeat(1000)
    );
}

#[test]
fn backlog_overflow_redis_replica_of_replikv_master() {
    backlog_overflow_forces_full_resync(Replikv, Redis);
}

#[test]
fn backlog_overflow_replikv_replica_of_redis_master() {
    backlog_overflow_forces_full_resync(Redis, Replikv);
}

#[test]
fn backlog_overflow_replikv_replica_of_replikv_master() {
    backlog_overflow_forces_full_resync(Replikv, Replikv);
}

#[test]
fn reference_backlog_overflow_redis_replica_of_redis_master() {
    backlog_overflow_forces_full_resync(Redis, Redis);
}
