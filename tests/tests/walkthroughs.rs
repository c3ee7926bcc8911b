//! The users' journeys of `/work/shared/walkthroughs.md` (from the notes in
//! `/work/shared/seeds/`) replayed with replikv as every node and the real
//! `redis-cli` as the client, as the notes type them:
//!
//! 1. three instances wired by `SLAVEOF` at run time, a write read back on
//!    the replicas, the master shut down, a manual failover;
//! 2. a password-protected master (`requirepass` with `:`) and two
//!    replicas configured by file (`replicaof`, `masterauth`, ...), the
//!    replica's log telling the story of the sync, and a replica pointed at
//!    a dead port retrying;
//! 3. a replica set up on the command line (`--slaveof` / `--replicaof`),
//!    the READONLY error, CONFIG REWRITE after role changes, `slaveof no
//!    one` keeping the data.
//!
//! Daemon mode, pid files and log files of these configs are covered by
//! `ops_config.rs`; here the servers run in the foreground under the
//! harness. Where the journey depends on Redis's exact behaviour (CONFIG
//! REWRITE), the same steps also run against redis-server.

mod repl_common;

use std::process::Output;

use repl_common::*;
use replikv_tests::{redis_cli, wait_until, Server, ServerKind};

/// redis-cli's stdout.
fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `redis-cli -p <port> <args>` must print exactly `expected` (plus the
/// newline) and exit 0.
fn cli_expect(port: u16, args: &[&str], expected: &str) {
    let o = redis_cli(port, args);
    assert_eq!(
        (o.status.code(), out(&o)),
        (Some(0), format!("{expected}\n")),
        "redis-cli -p {port} {args:?} (stderr {:?})",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `redis-cli -p <port> info replication` output.
fn cli_info_replication(port: u16, auth: &[&str]) -> String {
    let mut args = auth.to_vec();
    args.extend(["info", "replication"]);
    out(&redis_cli(port, &args))
}

/// Config of note 004 (without daemonize/pidfile/logfile: the harness runs
/// servers in the foreground and keeps their log).
fn note_004_config(n: u16) -> String {
    format!(
        "port {n}\n\
         loglevel notice\n\
         dbfilename dump.rdb\n\
         dir ./\n\
         protected-mode no\n\
         repl-diskless-sync-delay 0\n\
         enable-debug-command yes\n"
    )
}

#[test]
fn journey_1_three_instances_slaveof_then_manual_failover() {
    let master = Server::start(ServerKind::Replikv, Some(&note_004_config(6380)), &[]);
    let r1 = Server::start(ServerKind::Replikv, Some(&note_004_config(6381)), &[]);
    let r2 = Server::start(ServerKind::Replikv, Some(&note_004_config(6382)), &[]);
    for s in [&r2, &r1, &master] {
        let info = cli_info_replication(s.port(), &[]);
        assert!(info.contains("role:master"), "before SLAVEOF: {info}");
    }
    fill_all_types(master.port());

    let mport = master.port().to_string();
    cli_expect(r1.port(), &["SLAVEOF", "127.0.0.1", &mport], "OK");
    cli_expect(r2.port(), &["SLAVEOF", "127.0.0.1", &mport], "OK");
    cli_expect(master.port(), &["set", "name", "xd"], "OK");
    for r in [&r1, &r2] {
        let ok = wait_until(EVENTUAL, || {
            out(&redis_cli(r.port(), &["get", "name"])) == "xd\n"
        });
        assert!(
            ok,
            "get name on the replica never returned xd\n{}",
            describe(r)
        );
        let info = cli_info_replication(r.port(), &[]);
        assert!(
            info.contains("role:slave") && info.contains(&format!("master_port:{mport}")),
            "{info}"
        );
    }
    wait_online_replicas(&master, 2);
    wait_in_sync(&master, &[&r1, &r2]);
    assert_same_data(&master, &r1);
    check_filled_values(r2.port());

    // The master goes away.
    let o = redis_cli(master.port(), &["shutdown"]);
    assert_eq!(out(&o), "", "shutdown prints nothing when it succeeds");
    assert!(
        master.wait_for_exit(EVENTUAL).is_some(),
        "master still running after SHUTDOWN\n{}",
        master.log_tail()
    );
    for r in [&r1, &r2] {
        let ok = wait_until(EVENTUAL, || {
            cli_info_replication(r.port(), &[]).contains("master_link_status:down")
        });
        assert!(ok, "replica never saw its master down\n{}", describe(r));
        // It keeps serving its data meanwhile (replica-serve-stale-data yes).
        cli_expect(r.port(), &["get", "name"], "xd");
    }
    let digest_before = digest(r1.port());

    // Manual failover: 6381 becomes the master, keeping its data.
    cli_expect(r1.port(), &["slaveof", "no", "one"], "OK");
    let info = cli_info_replication(r1.port(), &[]);
    assert!(info.contains("role:master"), "after slaveof no one: {info}");
    assert_eq!(
        digest(r1.port()),
        digest_before,
        "slaveof no one keeps the data"
    );
    cli_expect(r1.port(), &["get", "name"], "xd");
    cli_expect(r1.port(), &["set", "written", "on the new master"], "OK");

    // 6382 follows it.
    cli_expect(r2.port(), &["SLAVEOF", "no", "one"], "OK");
    let r1port = r1.port().to_string();
    cli_expect(r2.port(), &["SLAVEOF", "127.0.0.1", &r1port], "OK");
    wait_link_up(&r2);
    cli_expect(r1.port(), &["set", "after", "failover"], "OK");
    let ok = wait_until(EVENTUAL, || {
        out(&redis_cli(r2.port(), &["get", "after"])) == "failover\n"
    });
    assert!(
        ok,
        "write on the new master never reached 6382\n{}",
        describe(&r2)
    );
    wait_in_sync(&r1, &[&r2]);
    assert_same_data(&r1, &r2);
    cli_expect(r2.port(), &["get", "written"], "on the new master");
    cli_expect(r2.port(), &["get", "name"], "xd");
    check_filled_values(r2.port());
}

/// The password of note 001 (with `:`).
const PW: &str = "redis:123:456";
const AUTH: &[&str] = &["-a", PW, "--no-auth-warning"];

fn auth_args<'a>(args: &[&'a str]) -> Vec<&'a str> {
    AUTH.iter().copied().chain(args.iter().copied()).collect()
}

/// Note 001's master (adapted: loopback, no daemon).
fn note_001_master() -> String {
    format!(
        "bind 127.0.0.1\n\
         port 6379\n\
         protected-mode no\n\
         requirepass {PW}\n\
         timeout 0\n\
         loglevel notice\n\
         databases 16\n\
         save \"\"\n\
         dbfilename dump_6379.rdb\n\
         masterauth {PW}\n\
         repl-diskless-sync-delay 0\n\
         enable-debug-command yes\n"
    )
}

/// Note 001's replicas (plus note 000's `requirepass` on the replica).
fn note_001_replica(master_port: u16, save: &str) -> String {
    format!(
        "bind 127.0.0.1\n\
         port 6379\n\
         protected-mode yes\n\
         timeout 0\n\
         loglevel notice\n\
         databases 16\n\
         {save}\n\
         dbfilename dump_6379.rdb\n\
         replicaof 127.0.0.1 {master_port}\n\
         masterauth {PW}\n\
         requirepass {PW}\n\
         replica-serve-stale-data yes\n\
         replica-read-only yes\n\
         enable-debug-command yes\n"
    )
}

/// Asserts `needles` appear in `log` in this order.
fn assert_in_order(log: &str, needles: &[String], who: &str) {
    let mut from = 0;
    for n in needles {
        match log[from..].find(n.as_str()) {
            Some(i) => from += i + n.len(),
            None => panic!(
                "{who}'s log lacks {n:?} (after the previous steps {:?})\n--- log ---\n{log}",
                needles
            ),
        }
    }
}

#[test]
fn journey_2_password_protected_master_with_two_replicas_from_config_files() {
    let master = Server::start(ServerKind::Replikv, Some(&note_001_master()), &[]);
    let pw = Some(PW);
    // Unauthenticated clients are refused.
    let o = redis_cli(master.port(), &["get", "hello"]);
    assert!(out(&o).contains("NOAUTH"), "{}", out(&o));
    cli_expect(master.port(), &auth_args(&["set", "hello", "world"]), "OK");
    cli_expect(
        master.port(),
        &auth_args(&["set", "to-slave", "hello this is master"]),
        "OK",
    );
    fill_all_types_auth(master.port(), pw);

    let r1 = Server::start(
        ServerKind::Replikv,
        Some(&note_001_replica(
            master.port(),
            "save 900 1\nsave 300 10\nsave 60 10000",
        )),
        &[],
    );
    let r2 = Server::start(
        ServerKind::Replikv,
        Some(&note_001_replica(master.port(), "save \"\"")),
        &[],
    );
    wait_online_replicas_auth(&master, pw, 2);
    let info = cli_info_replication(master.port(), AUTH);
    assert!(info.contains("connected_slaves:2"), "{info}");
    for (i, r) in [&r1, &r2].iter().enumerate() {
        let line = info
            .lines()
            .find(|l| l.starts_with(&format!("slave{i}:")))
            .unwrap_or_else(|| panic!("no slave{i} line in {info}"));
        assert!(
            line.contains("ip=127.0.0.1") && line.contains("state=online"),
            "{line}"
        );
        assert!(
            info.contains(&format!("port={},state=online", r.port())),
            "replica {} not listed online: {info}",
            r.port()
        );
    }
    for r in [&r1, &r2] {
        wait_link_up_auth(r, pw);
    }
    wait_in_sync_auth(&master, &[&r1, &r2], pw);

    // The replicas serve the master's data, to authenticated clients.
    for r in [&r1, &r2] {
        let keys = out(&redis_cli(r.port(), &auth_args(&["keys", "*"])));
        assert!(
            keys.lines().any(|l| l == "to-slave") && keys.lines().any(|l| l == "hello"),
            "keys * on the replica: {keys}"
        );
        cli_expect(r.port(), &auth_args(&["get", "hello"]), "world");
        cli_expect(
            r.port(),
            &auth_args(&["get", "to-slave"]),
            "hello this is master",
        );
        let o = redis_cli(r.port(), &["get", "hello"]);
        assert!(
            out(&o).contains("NOAUTH"),
            "replica without AUTH: {}",
            out(&o)
        );
        assert_eq!(digest_auth(r.port(), pw), digest_auth(master.port(), pw));
        assert_eq!(
            contents_auth(r.port(), pw),
            contents_auth(master.port(), pw)
        );
    }

    // The replica's log tells the story of the sync.
    let replid = info_auth(master.port(), pw, "replication")
        .remove("master_replid")
        .unwrap_or_default();
    let steps: Vec<String> = vec![
        format!("Connecting to MASTER 127.0.0.1:{}", master.port()),
        "MASTER <-> REPLICA sync started".into(),
        "Master replied to PING, replication can continue...".into(),
        format!("Full resync from master: {replid}:"),
        "MASTER <-> REPLICA sync: Flushing old data".into(),
        "MASTER <-> REPLICA sync: Loading DB in memory".into(),
        "MASTER <-> REPLICA sync: Finished with success".into(),
    ];
    for r in [&r1, &r2] {
        assert_in_order(&r.log(), &steps, "replica");
    }
    let mlog = master.log();
    assert!(
        mlog.contains(&format!(
            "Replica 127.0.0.1:{} asks for synchronization",
            r1.port()
        )) && mlog.contains(&format!(
            "Synchronization with replica 127.0.0.1:{} succeeded",
            r2.port()
        )),
        "master log:\n{mlog}"
    );

    // Writes keep flowing.
    cli_expect(master.port(), &auth_args(&["set", "later", "write"]), "OK");
    random_writes_auth(master.port(), pw, 21, 300);
    wait_in_sync_auth(&master, &[&r1, &r2], pw);
    cli_expect(r2.port(), &auth_args(&["get", "later"]), "write");
}

#[test]
fn journey_2_replica_of_a_dead_port_retries_every_second() {
    let dead = replikv_tests::pick_free_port();
    let r = Server::start(
        ServerKind::Replikv,
        Some(&note_001_replica(dead, "save \"\"")),
        &[],
    );
    let refused = "Error condition on socket for SYNC: Connection refused";
    let connecting = format!("Connecting to MASTER 127.0.0.1:{dead}");
    let ok = wait_until(EVENTUAL, || r.log().matches(refused).count() >= 3);
    let log = r.log();
    assert!(
        ok,
        "expected {refused:?} repeated (one attempt a second)\n--- log ---\n{log}"
    );
    assert!(log.matches(&connecting).count() >= 3, "{log}");
    assert!(log.contains("MASTER <-> REPLICA sync started"), "{log}");
    let info = info_auth(r.port(), Some(PW), "replication");
    assert_eq!(
        info.get("master_link_status").map(String::as_str),
        Some("down"),
        "{info:?}"
    );
    assert_eq!(
        info.get("role").map(String::as_str),
        Some("slave"),
        "{info:?}"
    );
    // The replica still answers (stale data allowed).
    cli_expect(r.port(), &auth_args(&["dbsize"]), "0");
}

#[test]
fn journey_3_slaveof_on_the_command_line_and_readonly_replica() {
    let master = start(ServerKind::Replikv, &[]);
    fill_all_types(master.port());
    cli_expect(master.port(), &["set", "gupao", "555"], "OK");
    let mport = master.port().to_string();
    let r1 = Server::replikv(&node_args(&["--slaveof", "127.0.0.1", &mport]));
    let r2 = Server::replikv(&node_args(&["--replicaof", "127.0.0.1", &mport]));
    for r in [&r1, &r2] {
        wait_link_up(r);
        let info = cli_info_replication(r.port(), &[]);
        for field in [
            "role:slave".to_string(),
            "master_host:127.0.0.1".to_string(),
            format!("master_port:{mport}"),
            "master_link_status:up".to_string(),
        ] {
            assert!(info.contains(&field), "{field} missing from {info}");
        }
        // get works, set fails, exactly as in the note.
        cli_expect(r.port(), &["--no-raw", "get", "gupao"], "\"555\"");
        cli_expect(
            r.port(),
            &["--no-raw", "set", "gupao", "666"],
            "(error) READONLY You can't write against a read only replica.",
        );
    }
    wait_in_sync(&master, &[&r1, &r2]);
    assert_same_data(&master, &r1);

    // slaveof no one stops replication and keeps the data set.
    let before = contents(r1.port());
    cli_expect(r1.port(), &["slaveof", "no", "one"], "OK");
    assert!(cli_info_replication(r1.port(), &[]).contains("role:master"));
    assert_eq!(contents(r1.port()), before, "slaveof no one keeps the data");
    assert_eq!(digest(r1.port()), digest(master.port()));
    cli_expect(r1.port(), &["set", "gupao", "666"], "OK");
    cli_expect(master.port(), &["set", "only", "on the old master"], "OK");
    wait_in_sync(&master, &[&r2]);
    assert_eq!(
        out(&redis_cli(r1.port(), &["exists", "only"])),
        "0\n",
        "a former replica must not receive its old master's writes"
    );
    cli_expect(r2.port(), &["get", "gupao"], "555");
}

/// Config lines (trimmed) of a file, comments and blank lines dropped.
fn directive_lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn replication_lines(path: &std::path::Path) -> Vec<String> {
    directive_lines(path)
        .into_iter()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("replicaof") || l.starts_with("slaveof")
        })
        .collect()
}

/// CONFIG REWRITE after role changes, on a server of `kind` started from
/// a config file: `slaveof` typed in a client adds a `replicaof host port`
/// line (under `# Generated by CONFIG REWRITE`), a `slaveof` line already
/// in the file is rewritten in place as `replicaof`, and `slaveof no one`
/// removes it.
fn config_rewrite_after_role_changes(kind: ServerKind) {
    let m1 = start(kind, &[]);
    let m2 = start(kind, &[]);
    cli_expect(m1.port(), &["set", "from", "m1"], "OK");
    cli_expect(m2.port(), &["set", "from", "m2"], "OK");

    // A replica whose config file names no master.
    let plain = Server::start(
        kind,
        Some("loglevel notice\ndbfilename dump.rdb\n"),
        &node_args(&[]),
    );
    let file = plain.dir().join(replikv_tests::CONFIG_FILE);
    let m1port = m1.port().to_string();
    cli_expect(plain.port(), &["slaveof", "127.0.0.1", &m1port], "OK");
    wait_link_up(&plain);
    cli_expect(plain.port(), &["config", "rewrite"], "OK");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    assert_eq!(
        replication_lines(&file),
        vec![format!("replicaof 127.0.0.1 {m1port}")],
        "{} after SLAVEOF + CONFIG REWRITE:\n{text}",
        kind.name()
    );
    assert!(
        text.contains("# Generated by CONFIG REWRITE"),
        "{}: {text}",
        kind.name()
    );
    cli_expect(plain.port(), &["get", "from"], "m1");

    // slaveof no one, rewrite: the line goes away, the data stays.
    cli_expect(plain.port(), &["slaveof", "no", "one"], "OK");
    cli_expect(plain.port(), &["config", "rewrite"], "OK");
    assert_eq!(
        replication_lines(&file),
        Vec::<String>::new(),
        "{} after SLAVEOF NO ONE + CONFIG REWRITE:\n{}",
        kind.name(),
        std::fs::read_to_string(&file).unwrap_or_default()
    );
    cli_expect(plain.port(), &["get", "from"], "m1");

    // A replica whose config file has a `slaveof` line (note 003).
    let with_line = Server::start(
        kind,
        Some(&format!(
            "loglevel notice\nslaveof 127.0.0.1 {m1port}\ndbfilename dump.rdb\n"
        )),
        &node_args(&[]),
    );
    let file = with_line.dir().join(replikv_tests::CONFIG_FILE);
    wait_link_up(&with_line);
    cli_expect(with_line.port(), &["get", "from"], "m1");
    let m2port = m2.port().to_string();
    cli_expect(with_line.port(), &["slaveof", "127.0.0.1", &m2port], "OK");
    wait_link_up(&with_line);
    cli_expect(with_line.port(), &["get", "from"], "m2");
    cli_expect(with_line.port(), &["config", "rewrite"], "OK");
    let lines = directive_lines(&file);
    assert_eq!(
        replication_lines(&file),
        vec![format!("replicaof 127.0.0.1 {m2port}")],
        "{} after switching masters + CONFIG REWRITE:\n{lines:#?}",
        kind.name()
    );
    // Rewritten in place: still right after `loglevel`, before `dbfilename`.
    let pos = |p: &str| lines.iter().position(|l| l.starts_with(p));
    assert!(
        pos("loglevel") < pos("replicaof") && pos("replicaof") < pos("dbfilename"),
        "{}: the slaveof line must be rewritten in place: {lines:#?}",
        kind.name()
    );
}

#[test]
fn journey_3_config_rewrite_after_role_changes() {
    config_rewrite_after_role_changes(ServerKind::Replikv);
}

#[test]
fn reference_journey_3_config_rewrite_after_role_changes() {
    config_rewrite_after_role_changes(ServerKind::Redis);
}
