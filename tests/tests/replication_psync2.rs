//! PSYNC2: replication histories that survive role changes and restarts.
//!
//! * Promotion with re-pointing: master A with replicas B and C; B is
//!   promoted (`REPLICAOF NO ONE`), C and then A are pointed at B, and both
//!   continue with a *partial* resync (B's `sync_partial_ok` counts them,
//!   `sync_full` stays 0); also with a real redis-server as the old master.
//! * Restart of a replica (SHUTDOWN that saves because save rules exist,
//!   or SAVE then SHUTDOWN NOSAVE; then started again on the same dir with
//!   `--replicaof`) ends in a partial resync on the master.
//! * Chains A → B → C (replikv only, and mixed redis/replikv): writes on A
//!   reach C, offsets converge, digests equal, and a cut link anywhere in
//!   the chain heals with a partial resync.
//!
//! Runs that have only redis-server nodes check the test itself.

mod repl_common;

use repl_common::*;
use replikv_tests::{redis_cli, wait_until, Server, ServerKind};

use ServerKind::{Redis, Replikv};

/// A master's ping period long enough that no PING lands in the stream
/// while roles change (a PING from the old master after the promotion would
/// move its replicas past the new master's history).
const QUIET: &[&str] = &["--repl-ping-replica-period", "3600"];

fn repl_field(server: &Server, field: &str) -> String {
    info_field(server.port(), "replication", field)
}

fn promotion_with_repointing(old_master_kind: ServerKind) {
    let a = start(old_master_kind, QUIET);
    fill_all_types(a.port());
    let b = start_replica(Replikv, &a, QUIET);
    let c = start_replica(Replikv, &a, QUIET);
    wait_link_up(&b);
    wait_link_up(&c);
    random_writes(a.port(), 31, 800);
    wait_in_sync(&a, &[&b, &c]);
    let a_replid = repl_field(&a, "master_replid");
    let a_offset: i64 = repl_field(&a, "master_repl_offset").parse().unwrap_or(-1);
    assert_eq!(
        sync_stats(b.port()),
        SyncStats {
            full: 0,
            partial_ok: 0,
            partial_err: 0
        },
        "B served no sync yet"
    );

    // B is promoted: new replication ID, the old one kept as replid2 up to
    // the offset where the histories part.
    assert_ok(
        &cmd(b.port(), &["REPLICAOF", "NO", "ONE"]),
        "REPLICAOF NO ONE on B",
    );
    let info = info(b.port(), "replication");
    assert_eq!(
        info.get("role").map(String::as_str),
        Some("master"),
        "{info:?}"
    );
    assert_eq!(info.get("master_replid2"), Some(&a_replid), "{info:?}");
    assert_ne!(info.get("master_replid"), Some(&a_replid), "{info:?}");
    assert_eq!(
        info.get("second_repl_offset"),
        Some(&(a_offset + 1).to_string()),
        "{info:?}"
    );

    // C, then the old master A, follow B.
    let bport = b.port().to_string();
    assert_ok(
        &cmd(c.port(), &["REPLICAOF", "127.0.0.1", &bport]),
        "REPLICAOF on C",
    );
    assert_ok(
        &cmd(a.port(), &["REPLICAOF", "127.0.0.1", &bport]),
        "REPLICAOF on A",
    );
    wait_link_up(&c);
    wait_link_up(&a);
    wait_online_replicas(&b, 2);
    wait_in_sync(&b, &[&a, &c]);
    assert_eq!(
        sync_stats(b.port()),
        SyncStats {
            full: 0,
            partial_ok: 2,
            partial_err: 0
        },
        "both must continue from B with a partial resync\n{}{}{}",
        describe(&b),
        describe(&a),
        describe(&c)
    );
    assert_same_data(&b, &a);
    assert_same_data(&b, &c);
    check_filled_values(a.port());

    // The new master's writes reach both, and both took its history.
    random_writes(b.port(), 32, 300);
    assert_ok(&cmd(b.port(), &["SET", "new-master", "B"]), "SET on B");
    wait_in_sync(&b, &[&a, &c]);
    assert_same_data(&b, &a);
    assert_same_data(&b, &c);
    let b_replid = repl_field(&b, "master_replid");
    assert_eq!(repl_field(&a, "master_replid"), b_replid);
    assert_eq!(repl_field(&c, "master_replid"), b_replid);
    assert_eq!(text(&cmd(a.port(), &["GET", "new-master"])), "B");
    assert_eq!(sync_stats(b.port()).full, 0);
}

#[test]
fn promotion_and_repointing_continue_with_partial_resyncs() {
    promotion_with_repointing(Replikv);
}

#[test]
fn promotion_and_repointing_with_redis_as_old_master() {
    promotion_with_repointing(Redis);
}

/// How a replica is stopped before its restart.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// `SHUTDOWN`, which saves because save rules exist.
    ShutdownSaves,
    /// `SAVE`, then `SHUTDOWN NOSAVE`.
    SaveThenNosave,
}

fn restarted_replica_resyncs_partially(
    master_kind: ServerKind,
    replica_kind: ServerKind,
    stop: Stop,
) {
    let master = start(master_kind, &["--repl-ping-replica-period", "1"]);
    fill_all_types(master.port());
    let mut replica = start_replica(replica_kind, &master, &["--save", "900 1"]);
    wait_link_up(&replica);
    random_writes(master.port(), 41, 500);
    wait_in_sync(&master, &[&replica]);
    let before = sync_stats(master.port());

    match stop {
        Stop::ShutdownSaves => {
            let o = redis_cli(replica.port(), &["shutdown"]);
            assert!(o.stdout.is_empty(), "SHUTDOWN: {o:?}");
            assert!(
                replica.wait_for_exit(EVENTUAL).is_some(),
                "replica still running after SHUTDOWN\n{}",
                replica.log_tail()
            );
        }
        Stop::SaveThenNosave => {
            assert_ok(&cmd(replica.port(), &["SAVE"]), "SAVE on the replica");
            replica.stop();
        }
    }
    assert!(
        replica.dir().join("dump.rdb").is_file(),
        "{stop:?}: no dump.rdb in the replica's dir\n{}",
        replica.log_tail()
    );
    // Writes while the replica is down (well within the 1 MB backlog).
    random_writes(master.port(), 42, 200);
    assert_ok(&cmd(master.port(), &["SET", "while-down", "yes"]), "SET");
    replica.restart();

    let ok = wait_until(EVENTUAL, || {
        sync_stats(master.port()).partial_ok > before.partial_ok
    });
    assert!(
        ok,
        "{stop:?}: the restarted replica did not resync partially: before {before:?}, now {:?}\n{}{}",
        sync_stats(master.port()),
        describe(&master),
        describe(&replica)
    );
    wait_link_up(&replica);
    wait_in_sync(&master, &[&replica]);
    let now = sync_stats(master.port());
    assert_eq!(
        (now.full, now.partial_ok),
        (before.full, before.partial_ok + 1),
        "{stop:?}: restart must need no full sync\n{}{}",
        describe(&master),
        describe(&replica)
    );
    assert_same_data(&master, &replica);
    assert_eq!(text(&cmd(replica.port(), &["GET", "while-down"])), "yes");
}

#[test]
fn replica_restart_after_shutdown_with_save_rules_resyncs_partially() {
    restarted_replica_resyncs_partially(Replikv, Replikv, Stop::ShutdownSaves);
}

#[test]
fn replica_restart_after_save_and_shutdown_nosave_resyncs_partially() {
    restarted_replica_resyncs_partially(Replikv, Replikv, Stop::SaveThenNosave);
}

#[test]
fn replikv_replica_restart_with_redis_master_resyncs_partially() {
    restarted_replica_resyncs_partially(Redis, Replikv, Stop::ShutdownSaves);
}

#[test]
fn redis_replica_restart_with_replikv_master_resyncs_partially() {
    restarted_replica_resyncs_partially(Replikv, Redis, Stop::SaveThenNosave);
}

#[test]
fn reference_redis_replica_restart_resyncs_partially() {
    restarted_replica_resyncs_partially(Redis, Redis, Stop::ShutdownSaves);
}

/// A → B → C: writes on A reach C, B's and C's offsets converge to A's,
/// digests are equal; the B–C link and then the A–B link are cut and heal
/// with partial resyncs.
fn chain_of_three(kinds: [ServerKind; 3]) {
    let a = start(kinds[0], &["--repl-ping-replica-period", "1"]);
    fill_all_types(a.port());
    let b = start_replica(kinds[1], &a, &["--repl-ping-replica-period", "1"]);
    let c = start_replica(kinds[2], &b, &[]);
    wait_link_up(&b);
    wait_link_up(&c);
    wait_in_sync(&a, &[&b, &c]);
    check_filled_values(c.port());

    random_writes(a.port(), 51, 1000);
    assert_ok(&cmd(a.port(), &["SET", "chain", "end to end"]), "SET on A");
    wait_in_sync(&a, &[&b, &c]);
    assert_same_data(&a, &c);
    assert_eq!(text(&cmd(c.port(), &["GET", "chain"])), "end to end");
    let bi = info(b.port(), "replication");
    assert_eq!(bi.get("role").map(String::as_str), Some("slave"), "{bi:?}");
    assert_eq!(
        bi.get("connected_slaves").map(String::as_str),
        Some("1"),
        "{bi:?}"
    );
    assert_eq!(
        repl_field(&c, "master_port"),
        b.port().to_string(),
        "C replicates B"
    );
    // One history along the chain.
    let replid = repl_field(&a, "master_replid");
    assert_eq!(repl_field(&b, "master_replid"), replid);
    assert_eq!(repl_field(&c, "master_replid"), replid);

    // Cut B–C (from C's side): C continues partially from B.
    let b_before = sync_stats(b.port());
    let reply = cmd(c.port(), &["CLIENT", "KILL", "TYPE", "master"]);
    assert_eq!(reply, redis::Value::Int(1), "CLIENT KILL TYPE master on C");
    random_writes(a.port(), 52, 200);
    let ok = wait_until(EVENTUAL, || {
        sync_stats(b.port()).partial_ok > b_before.partial_ok
    });
    assert!(
        ok,
        "C did not resync partially from B\n{}{}",
        describe(&b),
        describe(&c)
    );
    wait_in_sync(&a, &[&b, &c]);

    // Cut A–B (from A's side): B continues partially from A, and C keeps
    // following.
    let a_before = sync_stats(a.port());
    let reply = cmd(a.port(), &["CLIENT", "KILL", "TYPE", "replica"]);
    assert_eq!(reply, redis::Value::Int(1), "CLIENT KILL TYPE replica on A");
    random_writes(a.port(), 53, 200);
    let ok = wait_until(EVENTUAL, || {
        sync_stats(a.port()).partial_ok > a_before.partial_ok
    });
    assert!(
        ok,
        "B did not resync partially from A\n{}{}",
        describe(&a),
        describe(&b)
    );
    wait_link_up(&b);
    wait_link_up(&c);
    wait_in_sync(&a, &[&b, &c]);
    assert_same_data(&a, &c);
    assert_eq!(
        sync_stats(a.port()).full,
        a_before.full,
        "no full sync on A"
    );
    assert_eq!(
        sync_stats(b.port()).full,
        b_before.full,
        "no full sync on B"
    );
}

#[test]
fn chain_replikv_replikv_replikv() {
    chain_of_three([Replikv, Replikv, Replikv]);
}

#[test]
fn chain_redis_replikv_redis() {
    chain_of_three([Redis, Replikv, Redis]);
}

#[test]
fn chain_replikv_redis_replikv() {
    chain_of_three([Replikv, Redis, Replikv]);
}

#[test]
fn reference_chain_redis_redis_redis() {
    chain_of_three([Redis, Redis, Redis]);
}
