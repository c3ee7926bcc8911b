//! Replication paths where a replica could silently diverge from its
//! master, each run against the reference `redis-server` on the other side
//! of the link (and Redis on both sides as a check of the test itself):
//!
//! - the master's selected database survives a partial resync (the cached
//!   master), a replica restart and a chained replica, because a master
//!   continuing with `+CONTINUE` does not send SELECT again;
//! - the master client exists as soon as a sync completes;
//! - a master restarted from an older snapshot takes a new replication ID,
//!   so a replica that was ahead of the snapshot full-syncs instead of
//!   continuing with history the master no longer has;
//! - a snapshot naming a database the server does not have is refused;
//! - a blocked client that hangs up is unblocked and loses no element.

mod repl_common;

use std::time::Duration;

use redis::Value;
use repl_common::*;
use replikv_tests::{
    encode_command, new_temp_dir, pick_free_port, replikv_bin, run_with_timeout, show_value,
    wait_until, RawConn, Server, ServerKind,
};

use ServerKind::{Redis, Replikv};

/// Sends one command on a long-lived connection and returns its reply.
fn on(conn: &mut RawConn, args: &[&str]) -> Value {
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    conn.send(&encode_command(&bytes));
    conn.read_value()
}

/// `GET key` in database `db` of the server on `port`.
fn get_in(port: u16, db: &str, key: &str) -> Value {
    let mut c = RawConn::connect(port);
    assert_ok(&on(&mut c, &["SELECT", db]), "SELECT");
    on(&mut c, &["GET", key])
}

fn wait_partial(master: &Server, replica: &Server, partial_before: i64) {
    let ok = wait_until(EVENTUAL, || {
        sync_stats(master.port()).partial_ok > partial_before
    });
    assert!(
        ok,
        "no partial resync\n{}{}",
        describe(master),
        describe(replica)
    );
    wait_link_up(replica);
}

/// Writes in db 9 on one master connection, the link cut from each side,
/// then more writes in db 9 on the same connection (so the master sends no
/// new SELECT): they must land in db 9 of the replica.
fn selected_db_survives_partial_resync(master_kind: ServerKind, replica_kind: ServerKind) {
    let master = start(master_kind, &["--repl-ping-replica-period", "1"]);
    let replica = start_replica(replica_kind, &master, &[]);
    wait_link_up(&replica);
    let mut w = RawConn::connect(master.port());
    assert_ok(&on(&mut w, &["SELECT", "9"]), "SELECT 9");
    assert_ok(&on(&mut w, &["SET", "before", "1"]), "SET");
    wait_in_sync(&master, &[&replica]);

    for (round, (port, kind)) in [(master.port(), "replica"), (replica.port(), "master")]
        .into_iter()
        .enumerate()
    {
        let partial = sync_stats(master.port()).partial_ok;
        kill_one_client_of_type(port, kind);
        wait_partial(&master, &replica, partial);
        let key = format!("after-{round}");
        assert_ok(&on(&mut w, &["SET", &key, "2"]), "SET");
        assert!(matches!(
            on(&mut w, &["RPUSH", "list", &key]),
            Value::Int(_)
        ));
        wait_in_sync(&master, &[&replica]);
        assert_eq!(
            get_in(replica.port(), "9", &key),
            Value::BulkString(b"2".to_vec()),
            "{key} must be in db 9 of the replica\n{}",
            describe(&replica)
        );
        assert_eq!(get_in(replica.port(), "0", &key), Value::Nil);
    }
    assert_same_data(&master, &replica);
    assert_eq!(
        sync_stats(master.port()).full,
        1,
        "only the first sync is full"
    );
}

#[test]
fn selected_db_survives_partial_resync_replikv_replica_of_redis() {
    selected_db_survives_partial_resync(Redis, Replikv);
}

#[test]
fn selected_db_survives_partial_resync_replikv_replica_of_replikv() {
    selected_db_survives_partial_resync(Replikv, Replikv);
}

#[test]
fn selected_db_survives_partial_resync_redis_replica_of_replikv() {
    selected_db_survives_partial_resync(Replikv, Redis);
}

#[test]
fn reference_selected_db_survives_partial_resync_redis_only() {
    selected_db_survives_partial_resync(Redis, Redis);
}

/// A chain master → middle → leaf, the leaf's link cut: the middle
/// forwards the master's stream verbatim, so the leaf must keep its db.
fn selected_db_survives_in_chain(master_kind: ServerKind, chain_kind: ServerKind) {
    let master = start(master_kind, &["--repl-ping-replica-period", "1"]);
    let middle = start_replica(chain_kind, &master, &[]);
    wait_link_up(&middle);
    let leaf = start_replica(chain_kind, &middle, &[]);
    wait_link_up(&leaf);
    let mut w = RawConn::connect(master.port());
    assert_ok(&on(&mut w, &["SELECT", "5"]), "SELECT 5");
    assert_ok(&on(&mut w, &["SET", "k1", "v"]), "SET");
    wait_in_sync(&master, &[&middle, &leaf]);
    let partial = sync_stats(middle.port()).partial_ok;
    kill_one_client_of_type(leaf.port(), "master");
    wait_partial(&middle, &leaf, partial);
    assert_ok(&on(&mut w, &["SET", "k2", "v"]), "SET");
    wait_in_sync(&master, &[&middle, &leaf]);
    assert_eq!(
        get_in(leaf.port(), "5", "k2"),
        Value::BulkString(b"v".to_vec())
    );
    assert_same_data(&master, &leaf);
}

#[test]
fn selected_db_survives_in_chain_replikv_of_redis() {
    selected_db_survives_in_chain(Redis, Replikv);
}

#[test]
fn reference_selected_db_survives_in_chain_redis_only() {
    selected_db_survives_in_chain(Redis, Redis);
}

/// The replica saves, restarts and continues with a partial resync: the
/// dump's `repl-stream-db` says which database the stream is in.
fn selected_db_survives_replica_restart(master_kind: ServerKind, replica_kind: ServerKind) {
    let master = start(master_kind, &["--repl-ping-replica-period", "1"]);
    let mut replica = start_replica(replica_kind, &master, &[]);
    wait_link_up(&replica);
    let mut w = RawConn::connect(master.port());
    assert_ok(&on(&mut w, &["SELECT", "3"]), "SELECT 3");
    assert_ok(&on(&mut w, &["SET", "a", "1"]), "SET");
    wait_in_sync(&master, &[&replica]);
    assert_ok(&cmd(replica.port(), &["SAVE"]), "SAVE on the replica");
    let partial = sync_stats(master.port()).partial_ok;
    replica.restart();
    wait_partial(&master, &replica, partial);
    assert_ok(&on(&mut w, &["SET", "b", "2"]), "SET");
    wait_in_sync(&master, &[&replica]);
    assert_eq!(
        get_in(replica.port(), "3", "b"),
        Value::BulkString(b"2".to_vec()),
        "{}",
        describe(&replica)
    );
    assert_same_data(&master, &replica);
    assert_eq!(sync_stats(master.port()).full, 1);
}

#[test]
fn selected_db_survives_replica_restart_replikv_of_redis() {
    selected_db_survives_replica_restart(Redis, Replikv);
}

#[test]
fn selected_db_survives_replica_restart_redis_of_replikv() {
    selected_db_survives_replica_restart(Replikv, Redis);
}

#[test]
fn reference_selected_db_survives_replica_restart_redis_only() {
    selected_db_survives_replica_restart(Redis, Redis);
}

/// Right after a full sync, with no write streamed yet, the replica lists
/// its master client (`flags=M`, the master's address) and can kill it.
fn master_client_exists_after_sync(master_kind: ServerKind, replica_kind: ServerKind) {
    let master = start(master_kind, &[]);
    let replica = start_replica(replica_kind, &master, &[]);
    wait_link_up(&replica);
    let list = text(&cmd(replica.port(), &["CLIENT", "LIST", "TYPE", "master"]));
    let want_addr = format!("addr=127.0.0.1:{} ", master.port());
    assert!(
        list.contains("flags=M") && list.contains(&want_addr),
        "CLIENT LIST TYPE master on the replica: {list:?}"
    );
    let partial = sync_stats(master.port()).partial_ok;
    kill_one_client_of_type(replica.port(), "master");
    wait_partial(&master, &replica, partial);
    // The old form, by address, drops the link too.
    let partial = sync_stats(master.port()).partial_ok;
    let addr = format!("127.0.0.1:{}", master.port());
    assert_ok(
        &cmd(replica.port(), &["CLIENT", "KILL", &addr]),
        "CLIENT KILL addr",
    );
    wait_partial(&master, &replica, partial);
}

#[test]
fn master_client_exists_after_sync_replikv_of_redis() {
    master_client_exists_after_sync(Redis, Replikv);
}

#[test]
fn reference_master_client_exists_after_sync_redis_only() {
    master_client_exists_after_sync(Redis, Redis);
}

/// The master saves at offset X, writes on (the replica reaches Y > X),
/// the replica saves and stops, the master is killed and restarts from X
/// and writes past Y. The restarted replica asks to continue at Y + 1: the
/// master must refuse (its history after X is not the replica's) and
/// full-sync, leaving both with the same data.
fn replica_ahead_of_restarted_master(master_kind: ServerKind, replica_kind: ServerKind) {
    let mut master = start(master_kind, &["--repl-ping-replica-period", "1"]);
    let mut replica = start_replica(replica_kind, &master, &[]);
    wait_link_up(&replica);
    write_volume(master.port(), "base", 50, 100);
    wait_in_sync(&master, &[&replica]);
    assert_ok(&cmd(master.port(), &["SAVE"]), "SAVE on the master");
    let saved_id = info_field(master.port(), "replication", "master_replid");
    let saved_offset = info_int(master.port(), "replication", "master_repl_offset");
    write_volume(master.port(), "ahead", 20, 100);
    wait_in_sync(&master, &[&replica]);
    assert_ok(&cmd(replica.port(), &["SAVE"]), "SAVE on the replica");
    replica.stop();
    master.kill9();
    master.restart();

    let i = info(master.port(), "replication");
    assert_ne!(
        i["master_replid"], saved_id,
        "a restarted master takes a new ID"
    );
    assert_eq!(
        i["master_replid2"], saved_id,
        "the dump's ID is the secondary"
    );
    assert_eq!(
        i["second_repl_offset"],
        (saved_offset + 1).to_string(),
        "the secondary ID is valid up to the dump's offset"
    );
    assert_eq!(i["master_repl_offset"], saved_offset.to_string());

    write_volume(master.port(), "after", 60, 100);
    replica.restart();
    wait_link_up(&replica);
    wait_in_sync(&master, &[&replica]);
    assert_same_data(&master, &replica);
    assert_eq!(
        get_in(replica.port(), "0", "ahead:0"),
        Value::Nil,
        "history the master lost must not survive on the replica"
    );
    let stats = sync_stats(master.port());
    assert_eq!(
        (stats.full, stats.partial_ok),
        (1, 0),
        "the replica ahead of the snapshot must full-sync\n{}",
        describe(&master)
    );
}

#[test]
fn replica_ahead_of_restarted_replikv_master() {
    replica_ahead_of_restarted_master(Replikv, Replikv);
}

#[test]
fn redis_replica_ahead_of_restarted_replikv_master() {
    replica_ahead_of_restarted_master(Replikv, Redis);
}

#[test]
fn reference_replica_ahead_of_restarted_redis_master() {
    replica_ahead_of_restarted_master(Redis, Redis);
}

/// A replica at the very offset of the master's snapshot still continues
/// after the master restarts (the secondary ID covers it).
#[test]
fn replica_at_snapshot_offset_continues_after_master_restart() {
    // The default 10 s PING period: a PING between the SAVE and the kill
    // would put the replica ahead of the snapshot.
    let mut master = start(Replikv, &[]);
    let replica = start_replica(Replikv, &master, &[]);
    wait_link_up(&replica);
    write_volume(master.port(), "base", 50, 100);
    wait_in_sync(&master, &[&replica]);
    assert_ok(&cmd(master.port(), &["SAVE"]), "SAVE on the master");
    master.kill9();
    master.restart();
    wait_link_up(&replica);
    write_volume(master.port(), "after", 10, 100);
    wait_in_sync(&master, &[&replica]);
    assert_same_data(&master, &replica);
    let stats = sync_stats(master.port());
    assert_eq!(
        (stats.full, stats.partial_ok),
        (0, 1),
        "{}",
        describe(&master)
    );
}

/// A dump naming database 20 on a server with 16 databases: Redis refuses
/// to start; so must replikv (the keys would be lost).
#[test]
fn dump_with_more_databases_is_refused_at_startup() {
    let redis = start(Redis, &["--databases", "32"]);
    let mut c = RawConn::connect(redis.port());
    assert_ok(&on(&mut c, &["SELECT", "20"]), "SELECT 20");
    assert_ok(&on(&mut c, &["SET", "k", "v"]), "SET");
    assert_ok(&on(&mut c, &["SAVE"]), "SAVE");
    let dir = new_temp_dir();
    std::fs::copy(redis.dir().join("dump.rdb"), dir.path().join("dump.rdb"))
        .expect("copy the dump");
    let port = pick_free_port().to_string();
    let out = run_with_timeout(
        std::process::Command::new(replikv_bin())
            .args(["--port", &port, "--bind", "127.0.0.1", "--databases", "16"])
            .arg("--dir")
            .arg(dir.path())
            .current_dir(dir.path()),
        Duration::from_secs(20),
    );
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the server must exit\n{log}");
    assert!(
        log.contains(
            "FATAL: Data file was created with a Redis server configured to handle more than 16 databases. Exiting"
        ),
        "{log}"
    );
}

/// The same file as a full sync: the load fails, the replica keeps its
/// old data and does not take the master's later writes to the wrong db.
#[test]
fn full_sync_with_more_databases_is_refused() {
    let master = start(Redis, &["--databases", "32"]);
    let mut w = RawConn::connect(master.port());
    assert_ok(&on(&mut w, &["SELECT", "20"]), "SELECT 20");
    assert_ok(&on(&mut w, &["SET", "k", "v"]), "SET");
    // swapdb keeps the old data until the new one is loaded (in the
    // default disk mode it is flushed before loading, as in Redis).
    let replica = start(
        Replikv,
        &["--databases", "16", "--repl-diskless-load", "swapdb"],
    );
    assert_ok(&cmd(replica.port(), &["SET", "mine", "1"]), "SET");
    let port = master.port().to_string();
    assert_ok(
        &cmd(replica.port(), &["REPLICAOF", "127.0.0.1", &port]),
        "REPLICAOF",
    );
    let ok = wait_until(EVENTUAL, || {
        replica
            .log()
            .contains("Failed trying to load the MASTER synchronization DB")
    });
    assert!(ok, "the load must fail\n{}", describe(&replica));
    assert_ok(&on(&mut w, &["SET", "k2", "v"]), "SET");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        info_field(replica.port(), "replication", "master_link_status"),
        "down"
    );
    assert_eq!(get_in(replica.port(), "0", "k2"), Value::Nil);
    assert_eq!(get_in(replica.port(), "0", "k"), Value::Nil);
    assert_eq!(
        get_in(replica.port(), "0", "mine"),
        Value::BulkString(b"1".to_vec())
    );
}

/// Clients block in BLPOP, BLMOVE and BZPOPMIN and hang up; then the
/// elements arrive. Nothing is popped for the dead clients and their
/// connections are gone.
fn hung_up_blocked_clients_lose_nothing(kind: ServerKind) {
    let server = start(kind, &[]);
    let port = server.port();
    let baseline = info_int(port, "clients", "connected_clients");
    for args in [
        &["BLPOP", "l1", "0"][..],
        &["BLMOVE", "l2", "dst", "LEFT", "RIGHT", "0"][..],
        &["BZPOPMIN", "z1", "0"][..],
        &["WAIT", "1", "0"][..],
    ] {
        let mut c = RawConn::connect(port);
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        c.send(&encode_command(&bytes));
        let blocked = wait_until(EVENTUAL, || {
            info_int(port, "clients", "blocked_clients") == 1
        });
        assert!(blocked, "{args:?} must block");
        drop(c);
        let gone = wait_until(EVENTUAL, || {
            info_int(port, "clients", "blocked_clients") == 0
                && info_int(port, "clients", "connected_clients") == baseline
        });
        assert!(
            gone,
            "the hung-up client of {args:?} must be noticed: {:?}",
            info(port, "clients")
        );
    }
    assert_eq!(cmd(port, &["RPUSH", "l1", "x"]), Value::Int(1));
    assert_eq!(cmd(port, &["RPUSH", "l2", "y"]), Value::Int(1));
    assert_eq!(cmd(port, &["ZADD", "z1", "1", "m"]), Value::Int(1));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(cmd(port, &["LLEN", "l1"]), Value::Int(1));
    assert_eq!(cmd(port, &["LLEN", "l2"]), Value::Int(1));
    assert_eq!(cmd(port, &["EXISTS", "dst"]), Value::Int(0));
    assert_eq!(cmd(port, &["ZCARD", "z1"]), Value::Int(1));
}

#[test]
fn hung_up_blocked_clients_lose_nothing_replikv() {
    hung_up_blocked_clients_lose_nothing(Replikv);
}

#[test]
fn reference_hung_up_blocked_clients_lose_nothing_redis() {
    hung_up_blocked_clients_lose_nothing(Redis);
}

/// A backlog of a terabyte (1024gb) is accepted and costs nothing until written.
fn huge_backlog_is_lazy(kind: ServerKind) {
    let server = start(kind, &[]);
    let replica = start_replica(kind, &server, &[]);
    wait_link_up(&replica);
    assert_ok(
        &cmd(
            server.port(),
            &["CONFIG", "SET", "repl-backlog-size", "1024gb"],
        ),
        "CONFIG SET repl-backlog-size 1024gb",
    );
    write_volume(server.port(), "k", 100, 100);
    wait_in_sync(&server, &[&replica]);
    assert_eq!(
        info_field(server.port(), "replication", "repl_backlog_size"),
        "1099511627776"
    );
    let used = info_int(server.port(), "memory", "used_memory");
    assert!(used < 1 << 30, "used_memory {used} after a 1024gb backlog");
}

#[test]
fn huge_backlog_is_lazy_replikv() {
    huge_backlog_is_lazy(Replikv);
}

#[test]
fn reference_huge_backlog_is_lazy_redis() {
    huge_backlog_is_lazy(Redis);
}

/// A node with a client blocked in BLPOP becomes a replica: the client is
/// answered `-UNBLOCKED` and closed, so it cannot pop from the new
/// master's data (which would diverge the two).
fn blocked_client_unblocked_on_role_change(kind: ServerKind) {
    let a = start(kind, &[]);
    let b = start(kind, &[]);
    let mut blocked = RawConn::connect(b.port());
    blocked.send(&encode_command(&[b"BLPOP", b"foo", b"0"]));
    let ok = wait_until(EVENTUAL, || {
        info_int(b.port(), "clients", "blocked_clients") == 1
    });
    assert!(ok, "BLPOP must block");
    let port = a.port().to_string();
    assert_ok(
        &cmd(b.port(), &["REPLICAOF", "127.0.0.1", &port]),
        "REPLICAOF",
    );
    let reply = blocked.read_value();
    assert_eq!(
        replikv_tests::error_text(&reply).as_deref(),
        Some("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"),
        "{}",
        show_value(&reply)
    );
    blocked.read_until_close_or(Duration::from_secs(5));
    assert!(blocked.is_closed(), "the client is closed after the reply");
    wait_link_up(&b);
    assert_eq!(cmd(a.port(), &["RPUSH", "foo", "a", "b"]), Value::Int(2));
    wait_in_sync(&a, &[&b]);
    assert_eq!(cmd(b.port(), &["LLEN", "foo"]), Value::Int(2));
}

#[test]
fn blocked_client_unblocked_on_role_change_replikv() {
    blocked_client_unblocked_on_role_change(Replikv);
}

#[test]
fn reference_blocked_client_unblocked_on_role_change_redis() {
    blocked_client_unblocked_on_role_change(Redis);
}

/// Keys that expired while the master was down: the restarted master
/// drops them while loading and sends their DELs after the restored
/// history, so the replica that continues deletes them too.
fn expired_while_down_are_deleted_on_replicas(kind: ServerKind) {
    let mut master = start(kind, &[]);
    let replica = start_replica(kind, &master, &[]);
    wait_link_up(&replica);
    assert_ok(
        &cmd(master.port(), &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]),
        "DEBUG",
    );
    let mut w = RawConn::connect(master.port());
    for db in ["0", "7"] {
        assert_ok(&on(&mut w, &["SELECT", db]), "SELECT");
        for i in 0..5 {
            let key = format!("short{i}");
            assert_ok(&on(&mut w, &["SET", &key, "v", "PX", "300"]), "SET PX");
        }
        assert_ok(&on(&mut w, &["SET", "long", "v"]), "SET");
    }
    wait_in_sync(&master, &[&replica]);
    assert_ok(&cmd(master.port(), &["SAVE"]), "SAVE");
    let saved = info_int(master.port(), "replication", "master_repl_offset");
    drop(w);
    master.kill9();
    std::thread::sleep(Duration::from_millis(400));
    master.restart();
    wait_link_up(&replica);
    assert!(
        info_int(master.port(), "replication", "master_repl_offset") > saved,
        "the DELs are in the stream"
    );
    wait_in_sync(&master, &[&replica]);
    for db in ["0", "7"] {
        let mut c = RawConn::connect(replica.port());
        assert_ok(&on(&mut c, &["SELECT", db]), "SELECT");
        assert_eq!(
            on(&mut c, &["DBSIZE"]),
            Value::Int(1),
            "db {db} of the replica"
        );
    }
    assert_eq!(sync_stats(master.port()).partial_ok, 1);
}

#[test]
fn expired_while_down_are_deleted_on_replicas_replikv() {
    expired_while_down_are_deleted_on_replicas(Replikv);
}

#[test]
fn reference_expired_while_down_are_deleted_on_replicas_redis() {
    expired_while_down_are_deleted_on_replicas(Redis);
}

/// A writable replica expires the keys its own clients gave a TTL (its
/// master will never send their DEL), keeps serving the master's expired
/// keys as missing without deleting them, and a write to such a key
/// replaces it without its old TTL, as Redis does.
fn writable_replica_expiry(master_kind: ServerKind, replica_kind: ServerKind) {
    let master = start(master_kind, &[]);
    let replica = start_replica(replica_kind, &master, &[]);
    wait_link_up(&replica);
    let mut m = RawConn::connect(master.port());
    let mut r = RawConn::connect(replica.port());
    on(&mut m, &["SELECT", "5"]);
    on(&mut r, &["SELECT", "5"]);
    on(&mut m, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    on(&mut m, &["SET", "key1", "5", "PX", "10"]);
    on(&mut m, &["SET", "key2", "5", "PX", "10"]);
    let arrived = wait_until(EVENTUAL, || {
        on(&mut r, &["DBSIZE"]) == Value::Int(2)
            && on(&mut r, &["EXISTS", "key1", "key2"]) == Value::Int(0)
    });
    assert!(arrived, "the master's keys did not reach the replica");
    on(&mut r, &["CONFIG", "SET", "replica-read-only", "no"]);
    assert_eq!(on(&mut r, &["DBSIZE"]), Value::Int(2));
    assert_eq!(on(&mut r, &["INCR", "key1"]), Value::Int(1));
    assert_eq!(on(&mut r, &["TTL", "key1"]), Value::Int(-1));
    assert_eq!(on(&mut r, &["GET", "key2"]), Value::Nil);
    assert_eq!(on(&mut r, &["DBSIZE"]), Value::Int(2));
    on(&mut r, &["DEL", "key1", "key2"]);

    // The replica's own keys with a TTL go when it passes.
    on(&mut r, &["SELECT", "6"]);
    for k in ["own1", "own2", "own3"] {
        on(&mut r, &["SET", k, "v", "PX", "300"]);
    }
    on(&mut r, &["SET", "kept", "v"]);
    assert_eq!(on(&mut r, &["DBSIZE"]), Value::Int(4));
    let expired = wait_until(EVENTUAL, || on(&mut r, &["DBSIZE"]) == Value::Int(1));
    assert!(
        expired,
        "a writable replica kept its own expired keys: DBSIZE {}",
        show_value(&on(&mut r, &["DBSIZE"]))
    );
    on(&mut m, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
}

#[test]
fn writable_replica_expiry_replikv_of_redis() {
    writable_replica_expiry(Redis, Replikv);
}

#[test]
fn writable_replica_expiry_replikv_of_replikv() {
    writable_replica_expiry(Replikv, Replikv);
}

#[test]
fn reference_writable_replica_expiry_redis_only() {
    writable_replica_expiry(Redis, Redis);
}
