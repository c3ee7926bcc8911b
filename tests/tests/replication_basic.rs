//! Replication behaviours around the stream: WAIT, min-replicas-to-write,
//! replica-serve-stale-data no, expired keys reaching replicas, the
//! redis-cli replication tools (`--rdb`, `--replica`), and a slow replica
//! cut off by the output buffer limit while the master stays healthy.
//!
//! Each behaviour with a reply text defined by Redis also runs against
//! redis-server (tests named `reference_*`), which checks the test itself.

mod repl_common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use redis::Value;
use repl_common::*;
use replikv_tests::{
    error_text, new_temp_dir, redis_cli_bin, run_with_timeout, show_value, wait_until, RawConn,
    Server, ServerKind,
};

use ServerKind::{Redis, Replikv};

/// Sends a command on a raw connection and parses the reply.
fn send(conn: &mut RawConn, args: &[&str]) -> Value {
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    conn.send_command(&bytes);
    match conn.try_read_reply(Duration::from_secs(30)) {
        Some(raw) => redis::parse_redis_value(&raw)
            .unwrap_or_else(|e| panic!("{args:?}: bad reply {raw:?}: {e}")),
        None => panic!("{args:?}: no reply within 30 s"),
    }
}

fn wait_semantics(kind: ServerKind) {
    let master = start(kind, &[]);
    let replica = start_replica(kind, &master, &[]);
    wait_link_up(&replica);
    wait_online_replicas(&master, 1);
    let mut conn = master.raw();
    assert_ok(&send(&mut conn, &["SET", "k", "v"]), "SET");
    // Enough replicas acknowledge: 1, before the timeout.
    assert_eq!(send(&mut conn, &["WAIT", "1", "5000"]), Value::Int(1));
    assert_ok(&send(&mut conn, &["SET", "k2", "v2"]), "SET");
    // More replicas asked than exist: the count after the timeout.
    assert_eq!(send(&mut conn, &["WAIT", "2", "100"]), Value::Int(1));
    // After a batch of writes, WAIT still sees the replica catch up.
    random_writes(master.port(), 61, 300);
    assert_ok(&send(&mut conn, &["SET", "k3", "v3"]), "SET");
    assert_eq!(send(&mut conn, &["WAIT", "1", "10000"]), Value::Int(1));
    assert_eq!(text(&cmd(replica.port(), &["GET", "k3"])), "v3");
    // WAIT on a replica is an error.
    let e = cmd(replica.port(), &["WAIT", "1", "100"]);
    assert!(
        error_text(&e)
            .is_some_and(|t| t.starts_with("ERR WAIT cannot be used with replica instances")),
        "{}",
        show_value(&e)
    );
    // Without replicas WAIT times out with 0.
    let alone = start(kind, &[]);
    let mut c2 = alone.raw();
    assert_ok(&send(&mut c2, &["SET", "k", "v"]), "SET");
    assert_eq!(send(&mut c2, &["WAIT", "1", "100"]), Value::Int(0));
    wait_in_sync(&master, &[&replica]);
}

/// WAIT counts the replicas that acknowledged the *client's own* last
/// write: WAIT itself (which asks the replicas for an ACK through the
/// stream) does not move that target, so `WAIT 0 0` right after a
/// satisfied WAIT answers 1 at once.
fn wait_target_is_the_clients_last_write(kind: ServerKind) {
    let master = start(kind, &[]);
    let replica = start_replica(kind, &master, &[]);
    wait_link_up(&replica);
    wait_online_replicas(&master, 1);
    let mut conn = master.raw();
    assert_ok(&send(&mut conn, &["SET", "k", "v"]), "SET");
    assert_eq!(send(&mut conn, &["WAIT", "1", "5000"]), Value::Int(1));
    assert_eq!(
        send(&mut conn, &["WAIT", "0", "0"]),
        Value::Int(1),
        "WAIT 0 0 after a satisfied WAIT, no write in between"
    );
}

#[test]
fn wait_target_is_the_clients_own_last_write() {
    wait_target_is_the_clients_last_write(Replikv);
}

#[test]
fn reference_wait_target_is_the_clients_own_last_write() {
    wait_target_is_the_clients_last_write(Redis);
}

#[test]
fn wait_counts_acknowledging_replicas() {
    wait_semantics(Replikv);
}

#[test]
fn reference_wait_counts_acknowledging_replicas() {
    wait_semantics(Redis);
}

fn min_replicas_to_write(kind: ServerKind) {
    let master = start(kind, &["--min-replicas-to-write", "2"]);
    let replica = start_replica(kind, &master, &[]);
    wait_link_up(&replica);
    wait_online_replicas(&master, 1);
    let e = cmd(master.port(), &["SET", "k", "v"]);
    assert_eq!(
        error_text(&e).as_deref(),
        Some("NOREPLICAS Not enough good replicas to write."),
        "{}",
        show_value(&e)
    );
    // Reads are fine.
    assert_eq!(cmd(master.port(), &["GET", "k"]), Value::Nil);

    // With min-replicas-to-write 1, the one good replica is enough.
    let master = start(kind, &["--min-replicas-to-write", "1"]);
    let e = cmd(master.port(), &["SET", "k", "v"]);
    assert_eq!(
        error_text(&e).as_deref(),
        Some("NOREPLICAS Not enough good replicas to write."),
        "no replica yet: {}",
        show_value(&e)
    );
    let replica = start_replica(kind, &master, &[]);
    wait_link_up(&replica);
    let ok = wait_until(EVENTUAL, || {
        error_text(&cmd(master.port(), &["SET", "k", "v"])).is_none()
    });
    assert!(
        ok,
        "SET still refused with one good replica\n{}",
        describe(&master)
    );
    wait_in_sync(&master, &[&replica]);
    assert_eq!(text(&cmd(replica.port(), &["GET", "k"])), "v");
}

#[test]
fn min_replicas_to_write_refuses_writes() {
    min_replicas_to_write(Replikv);
}

#[test]
fn reference_min_replicas_to_write_refuses_writes() {
    min_replicas_to_write(Redis);
}

/// Replies of a replica with `replica-serve-stale-data no` whose master
/// is down, to a few commands.
fn stale_replica_replies(kind: ServerKind) -> Vec<String> {
    let master = start(kind, &[]);
    let replica = start_replica(kind, &master, &["--replica-serve-stale-data", "no"]);
    wait_link_up(&replica);
    assert_ok(&cmd(master.port(), &["SET", "k", "v"]), "SET");
    let ok = wait_until(EVENTUAL, || {
        cmd(replica.port(), &["GET", "k"]) == Value::BulkString(b"v".to_vec())
    });
    assert!(ok, "the replica never served k\n{}", describe(&replica));
    master.kill9();
    let ok = wait_until(EVENTUAL, || {
        info_field(replica.port(), "replication", "master_link_status") == "down"
    });
    assert!(
        ok,
        "the replica never saw its master down\n{}",
        describe(&replica)
    );
    let mut conn = replica.raw();
    let mut replies = Vec::new();
    for args in [
        &["GET", "k"][..],
        &["SET", "k", "w"],
        &["DBSIZE"],
        &["EXISTS", "k"],
        &["PING"],
        &["ECHO", "hi"],
    ] {
        replies.push(format!(
            "{args:?} -> {}",
            show_value(&send(&mut conn, args))
        ));
    }
    let info = send(&mut conn, &["INFO", "replication"]);
    assert!(
        error_text(&info).is_none(),
        "INFO must work on a stale replica: {}",
        show_value(&info)
    );
    replies
}

const MASTERDOWN: &str =
    "(error) MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";

#[test]
fn stale_replica_refuses_reads_with_masterdown() {
    let got = stale_replica_replies(Replikv);
    for (i, cmd) in [(0, "GET"), (2, "DBSIZE"), (3, "EXISTS"), (4, "PING")] {
        assert!(
            got[i].ends_with(MASTERDOWN),
            "{cmd} on a stale replica: {}",
            got[i]
        );
    }
    assert!(
        got[1].ends_with("(error) READONLY You can't write against a read only replica."),
        "{}",
        got[1]
    );
}

/// Which commands a stale replica still serves (the STALE flag): the same
/// replies as redis-server's.
#[test]
fn stale_replica_replies_match_redis() {
    let got = stale_replica_replies(Replikv);
    let expected = stale_replica_replies(Redis);
    assert_eq!(got, expected, "replikv (left) vs redis-server (right)");
}

/// Keys that expire on the master are deleted there (actively, and lazily
/// on access) and the DEL reaches the replica: afterwards both hold the
/// same keys (DBSIZE, INFO keyspace) and the same digest.
fn expired_keys_are_deleted_on_the_replica(master_kind: ServerKind, replica_kind: ServerKind) {
    let master = start(master_kind, &[]);
    let replica = start_replica(replica_kind, &master, &[]);
    wait_link_up(&replica);
    let mut conn = master.raw();
    for args in [
        &["SET", "keep", "v"][..],
        &["SET", "short:active", "v", "PX", "200"],
        &["RPUSH", "short:list", "a", "b"],
        &["PEXPIRE", "short:list", "200"],
        &["SELECT", "5"],
        &["SET", "short:db5", "v", "PX", "200"],
        &["SET", "short:lazy", "v", "PX", "200"],
        &["SELECT", "0"],
    ] {
        assert!(error_text(&send(&mut conn, args)).is_none(), "{args:?}");
    }
    // Expired: the master deletes them (its active expiry, or GET).
    let mut c5 = master.raw();
    send(&mut c5, &["SELECT", "5"]);
    let ok = wait_until(EVENTUAL, || {
        send(&mut c5, &["GET", "short:lazy"]) == Value::Nil
    });
    assert!(ok, "short:lazy never expired on the master");
    let ok = wait_until(EVENTUAL, || {
        info(master.port(), "keyspace")
            .get("db0")
            .map(String::as_str)
            == Some("keys=1,expires=0,avg_ttl=0")
            && !info(master.port(), "keyspace").contains_key("db5")
    });
    assert!(
        ok,
        "the master never deleted its expired keys\n{}",
        describe(&master)
    );
    // The replica must have applied the master's DELs.
    let ok = wait_until(EVENTUAL, || {
        cmd(replica.port(), &["DBSIZE"]) == Value::Int(1)
            && info(replica.port(), "keyspace") == info(master.port(), "keyspace")
    });
    assert!(
        ok,
        "keys the master expired (and propagated as DEL) are still on the replica: \
         replica DBSIZE {} INFO keyspace {:?}, master INFO keyspace {:?}\n{}",
        show_value(&cmd(replica.port(), &["DBSIZE"])),
        info(replica.port(), "keyspace"),
        info(master.port(), "keyspace"),
        describe(&replica)
    );
    wait_in_sync(&master, &[&replica]);
}

#[test]
fn expired_keys_are_deleted_on_replikv_replica_of_replikv() {
    expired_keys_are_deleted_on_the_replica(Replikv, Replikv);
}

#[test]
fn expired_keys_are_deleted_on_replikv_replica_of_redis() {
    expired_keys_are_deleted_on_the_replica(Redis, Replikv);
}

#[test]
fn expired_keys_are_deleted_on_redis_replica_of_replikv() {
    expired_keys_are_deleted_on_the_replica(Replikv, Redis);
}

#[test]
fn reference_expired_keys_are_deleted_on_redis_replica_of_redis() {
    expired_keys_are_deleted_on_the_replica(Redis, Redis);
}

#[test]
fn redis_cli_rdb_snapshot_is_valid_and_loads_into_redis() {
    let master = start(Replikv, &[]);
    fill_all_types(master.port());
    random_writes(master.port(), 71, 500);
    let dir = new_temp_dir();
    let file = dir.path().join("dump.rdb");
    let mut cli = Command::new(redis_cli_bin());
    cli.arg("-p")
        .arg(master.port().to_string())
        .arg("--rdb")
        .arg(&file);
    let o = run_with_timeout(&mut cli, Duration::from_secs(30));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.status.success() && all.contains("Transfer finished with success"),
        "redis-cli --rdb: {all}\n{}",
        master.log_tail()
    );
    let mut check = Command::new("redis-check-rdb");
    check.arg(&file);
    let o = run_with_timeout(&mut check, Duration::from_secs(30));
    let report = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success() && report.contains("RDB looks OK!"),
        "redis-check-rdb rejects the snapshot: {report}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Loaded by redis-server, it is the master's data set.
    let loaded = Server::start_in(Redis, dir, None, NODE_ARGS);
    assert_same_data(&master, &loaded);
    // The master is unaffected and has no replica left.
    let ok = wait_until(EVENTUAL, || {
        info_field(master.port(), "replication", "connected_slaves") == "0"
    });
    assert!(ok, "{}", describe(&master));
    assert_ok(
        &cmd(master.port(), &["SET", "after", "rdb"]),
        "SET after --rdb",
    );
}

#[test]
fn redis_cli_replica_prints_the_stream() {
    let master = start(Replikv, &[]);
    assert_ok(&cmd(master.port(), &["SET", "before", "x"]), "SET");
    let mut child = Command::new(redis_cli_bin())
        .arg("-p")
        .arg(master.port().to_string())
        .arg("--replica")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run redis-cli --replica: {e}"));
    let (tx, rx) = mpsc::channel::<String>();
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let mut lines = Vec::new();
    let read_until = |pred: &dyn Fn(&str) -> bool, lines: &mut Vec<String>| -> bool {
        let deadline = Instant::now() + EVENTUAL;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let hit = pred(&line);
                    lines.push(line);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    };
    let synced = read_until(
        &|l: &str| l.contains("Logging commands from master"),
        &mut lines,
    );
    if !synced {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "redis-cli --replica never finished its sync: {lines:#?}\n{}",
            master.log_tail()
        );
    }
    assert_ok(
        &cmd(master.port(), &["set", "marker-key", "marker-value"]),
        "SET",
    );
    let seen = read_until(
        &|l: &str| {
            l.to_ascii_lowercase()
                .contains("\"set\",\"marker-key\",\"marker-value\"")
        },
        &mut lines,
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen,
        "redis-cli --replica did not print the SET: {lines:#?}\n{}",
        master.log_tail()
    );
    assert_eq!(
        text(&cmd(master.port(), &["GET", "marker-key"])),
        "marker-value"
    );
}

fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Resident memory of a process in bytes (VmRSS).
fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Resumes a stopped replica even if the test fails half way.
struct Resume(u32);

impl Drop for Resume {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(self.0.to_string())
            .status();
    }
}

fn slow_replica_cut_off(kind: ServerKind) {
    let master = start(
        kind,
        &["--client-output-buffer-limit", "replica 1mb 512kb 1"],
    );
    let replica = start_replica(kind, &master, &[]);
    wait_link_up(&replica);
    wait_online_replicas(&master, 1);
    assert_ok(&cmd(master.port(), &["SET", "small", "before"]), "SET");
    wait_in_sync(&master, &[&replica]);
    let before = sync_stats(master.port());

    send_signal(replica.pid(), "STOP");
    let resume = Resume(replica.pid());
    // 48 MB of writes (on 4 keys, so the data set stays small): far more
    // than the kernel's socket buffers and the 1 MB hard limit.
    let mut conn = master.raw();
    let value = "x".repeat(1 << 20);
    for i in 0..48 {
        let key = format!("big:{}", i % 4);
        assert_ok(&send(&mut conn, &["SET", &key, &value]), "SET big");
    }
    let ok = wait_until(EVENTUAL, || {
        info_field(master.port(), "replication", "connected_slaves") == "0"
    });
    let log = master.log();
    assert!(
        ok,
        "the master kept the stopped replica past its output buffer limit\n{}",
        describe(&master)
    );
    assert!(
        log.contains("for overcoming of output buffer limits"),
        "the master should log why it closed the replica:\n{}",
        master.log_tail()
    );
    // The master stays healthy and its memory bounded.
    assert_eq!(
        cmd(master.port(), &["PING"]),
        Value::SimpleString("PONG".into())
    );
    assert_ok(
        &cmd(master.port(), &["SET", "small", "during"]),
        "SET during",
    );
    let used = info_int(master.port(), "memory", "used_memory");
    assert!(
        used < 200 << 20,
        "used_memory {used} while the replica was stopped"
    );
    let rss = rss_bytes(master.pid());
    assert!(
        rss < 400 << 20,
        "master RSS {rss} while the replica was stopped"
    );

    // Resumed, the replica comes back (the backlog overflowed: full sync).
    drop(resume);
    wait_link_up(&replica);
    wait_online_replicas(&master, 1);
    wait_in_sync(&master, &[&replica]);
    assert_same_data(&master, &replica);
    assert_eq!(text(&cmd(replica.port(), &["GET", "small"])), "during");
    assert!(
        sync_stats(master.port()).full > before.full,
        "expected a full resync after the cut\n{}",
        describe(&master)
    );
}

#[test]
fn slow_replica_is_cut_off_by_output_buffer_limit() {
    slow_replica_cut_off(Replikv);
}

#[test]
fn reference_slow_replica_is_cut_off_by_output_buffer_limit() {
    slow_replica_cut_off(Redis);
}

/// `CONFIG SET masterauth` on a replica that could not authenticate lets
/// it in at its next attempt (Redis reads `masterauth` at each handshake).
fn config_set_masterauth(kind: ServerKind) {
    let pw = "demoted:master:pw";
    let master = start(kind, &["--requirepass", pw]);
    assert_ok(
        &cmd_auth(master.port(), Some(pw), &["SET", "k", "v"]),
        "SET",
    );
    // No masterauth: the replica cannot sync.
    let replica = start_replica(kind, &master, &[]);
    let ok = wait_until(EVENTUAL, || replica.log().contains("NOAUTH"));
    assert!(
        ok,
        "the replica should fail to authenticate\n{}",
        describe(&replica)
    );
    assert_eq!(
        info_field(replica.port(), "replication", "master_link_status"),
        "down"
    );
    assert_ok(
        &cmd(replica.port(), &["CONFIG", "SET", "masterauth", pw]),
        "CONFIG SET masterauth",
    );
    let ok = wait_until(EVENTUAL, || {
        info_field(replica.port(), "replication", "master_link_status") == "up"
            && cmd(replica.port(), &["GET", "k"]) == Value::BulkString(b"v".to_vec())
    });
    assert!(
        ok,
        "CONFIG SET masterauth did not let the replica in\n{}",
        describe(&replica)
    );
}

#[test]
fn config_set_masterauth_lets_the_replica_in() {
    config_set_masterauth(Replikv);
}

#[test]
fn reference_config_set_masterauth_lets_the_replica_in() {
    config_set_masterauth(Redis);
}

/// `CONFIG SET min-replicas-to-write` takes effect at once, both ways.
fn config_set_min_replicas_to_write(kind: ServerKind) {
    let master = start(kind, &[]);
    let replica = start_replica(kind, &master, &[]);
    wait_link_up(&replica);
    wait_online_replicas(&master, 1);
    assert_ok(&cmd(master.port(), &["SET", "k", "v"]), "SET");
    assert_ok(
        &cmd(
            master.port(),
            &["CONFIG", "SET", "min-replicas-to-write", "2"],
        ),
        "CONFIG SET",
    );
    let e = cmd(master.port(), &["SET", "k", "w"]);
    assert_eq!(
        error_text(&e).as_deref(),
        Some("NOREPLICAS Not enough good replicas to write."),
        "after CONFIG SET min-replicas-to-write 2 with one replica: {}",
        show_value(&e)
    );
    assert_ok(
        &cmd(
            master.port(),
            &["CONFIG", "SET", "min-replicas-to-write", "1"],
        ),
        "CONFIG SET",
    );
    let ok = wait_until(EVENTUAL, || {
        error_text(&cmd(master.port(), &["SET", "k", "x"])).is_none()
    });
    assert!(
        ok,
        "SET refused after CONFIG SET min-replicas-to-write 1 with one good replica\n{}",
        describe(&master)
    );
    wait_in_sync(&master, &[&replica]);
}

#[test]
fn config_set_min_replicas_to_write_takes_effect() {
    config_set_min_replicas_to_write(Replikv);
}

#[test]
fn reference_config_set_min_replicas_to_write_takes_effect() {
    config_set_min_replicas_to_write(Redis);
}

/// `CONFIG SET repl-backlog-size` resizes the backlog (INFO shows it) and
/// the new size decides between partial and full resync.
fn config_set_repl_backlog_size(kind: ServerKind) {
    let master = start(kind, &["--repl-ping-replica-period", "1"]);
    let replica = start_replica(kind, &master, &[]);
    wait_link_up(&replica);
    assert_ok(&cmd(master.port(), &["SET", "k", "v"]), "SET");
    wait_in_sync(&master, &[&replica]);
    assert_ok(
        &cmd(
            master.port(),
            &["CONFIG", "SET", "repl-backlog-size", "16384"],
        ),
        "CONFIG SET",
    );
    let i = info(master.port(), "replication");
    assert_eq!(
        i.get("repl_backlog_size").map(String::as_str),
        Some("16384"),
        "{i:?}"
    );
    // Overflow the (now small) backlog while the replica is away.
    let before = sync_stats(master.port());
    let mut replica = replica;
    assert_ok(&cmd(replica.port(), &["SAVE"]), "SAVE on the replica");
    replica.kill9();
    write_volume(master.port(), "overflow", 100, 1000);
    replica.restart();
    let ok = wait_until(EVENTUAL, || sync_stats(master.port()).full > before.full);
    assert!(
        ok,
        "100 KB written past a 16 KB backlog must force a full resync: before {before:?}, now {:?}\n{}",
        sync_stats(master.port()),
        describe(&master)
    );
    wait_in_sync(&master, &[&replica]);
}

#[test]
fn config_set_repl_backlog_size_takes_effect() {
    config_set_repl_backlog_size(Replikv);
}

#[test]
fn reference_config_set_repl_backlog_size_takes_effect() {
    config_set_repl_backlog_size(Redis);
}

/// A key whose expiry time has passed is invisible on the replica even
/// while the master has not deleted it yet (here the master is a
/// redis-server with its active expiry turned off and nobody reads the
/// key there, so no DEL comes).
fn replica_hides_logically_expired_keys(replica_kind: ServerKind) {
    let master = start(Redis, &[]);
    assert_ok(
        &cmd(master.port(), &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]),
        "DEBUG SET-ACTIVE-EXPIRE 0",
    );
    let replica = start_replica(replica_kind, &master, &[]);
    wait_link_up(&replica);
    assert_ok(&cmd(master.port(), &["SET", "keep", "v"]), "SET");
    // One absolute deadline for both keys: relative TTLs set by two
    // commands would differ by however long the second command waited
    // on a loaded machine, and the checks below need both gone at once.
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() + 300)
        .unwrap_or(0)
        .to_string();
    assert_ok(
        &cmd(master.port(), &["SET", "k", "v", "PXAT", &deadline]),
        "SET PXAT",
    );
    assert_eq!(
        cmd(master.port(), &["HSET", "h", "f", "v"]),
        Value::Int(1),
        "HSET"
    );
    assert_eq!(
        cmd(master.port(), &["PEXPIREAT", "h", &deadline]),
        Value::Int(1)
    );
    // Both hold the keys with the same absolute expiry.
    wait_in_sync(&master, &[&replica]);
    let ok = wait_until(EVENTUAL, || {
        cmd(replica.port(), &["GET", "k"]) == Value::Nil
    });
    assert!(
        ok,
        "GET of an expired key on the replica never returned nil"
    );
    let r = replica.port();
    assert_eq!(cmd(r, &["EXISTS", "k", "h"]), Value::Int(0));
    assert_eq!(cmd(r, &["TTL", "k"]), Value::Int(-2));
    assert_eq!(cmd(r, &["HGET", "h", "f"]), Value::Nil);
    assert_eq!(cmd(r, &["TYPE", "h"]), Value::SimpleString("none".into()));
    assert_eq!(
        cmd(r, &["KEYS", "*"]),
        Value::Array(vec![Value::BulkString(b"keep".to_vec())])
    );
    assert_eq!(text(&cmd(r, &["GET", "keep"])), "v");
}

#[test]
fn replikv_replica_hides_logically_expired_keys() {
    replica_hides_logically_expired_keys(Replikv);
}

#[test]
fn reference_redis_replica_hides_logically_expired_keys() {
    replica_hides_logically_expired_keys(Redis);
}

/// ROLE on a master and on its replica, in Redis's shape:
/// `master <offset> [[ip port offset]]` and
/// `slave <host> <port> connected <offset>`.
fn role_replies(kind: ServerKind) {
    let master = start(kind, &["--repl-ping-replica-period", "1"]);
    let replica = start_replica(kind, &master, &[]);
    wait_link_up(&replica);
    wait_online_replicas(&master, 1);
    assert_ok(&cmd(master.port(), &["SET", "k", "v"]), "SET");
    wait_in_sync(&master, &[&replica]);
    let rport = replica.port().to_string();
    let ok = wait_until(EVENTUAL, || {
        let Value::Array(m) = cmd(master.port(), &["ROLE"]) else {
            return false;
        };
        let offset = info_int(master.port(), "replication", "master_repl_offset");
        matches!(
            m.as_slice(),
            [Value::BulkString(role), Value::Int(off), Value::Array(replicas)]
                if role == b"master"
                    && *off >= offset - 100
                    && matches!(
                        replicas.as_slice(),
                        [Value::Array(r)] if matches!(
                            r.as_slice(),
                            [Value::BulkString(ip), Value::BulkString(port), Value::BulkString(_)]
                                if ip == b"127.0.0.1" && port == rport.as_bytes()
                        )
                    )
        )
    });
    assert!(
        ok,
        "{} ROLE on the master: {}",
        kind.name(),
        show_value(&cmd(master.port(), &["ROLE"]))
    );
    let r = cmd(replica.port(), &["ROLE"]);
    let mport = i64::from(master.port());
    assert!(
        matches!(
            &r,
            Value::Array(items) if matches!(
                items.as_slice(),
                [Value::BulkString(role), Value::BulkString(host), Value::Int(port),
                 Value::BulkString(state), Value::Int(off)]
                    if role == b"slave" && host == b"127.0.0.1" && *port == mport
                        && state == b"connected" && *off > 0
            )
        ),
        "{} ROLE on the replica: {}",
        kind.name(),
        show_value(&r)
    );
}

#[test]
fn role_replies_like_redis() {
    role_replies(Replikv);
}

#[test]
fn reference_role_replies() {
    role_replies(Redis);
}
