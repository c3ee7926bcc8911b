//! Helpers shared by the replication test files (`mod repl_common;`):
//! one-shot commands, INFO fields, DEBUG DIGEST, waiting for a replica to
//! be in sync, filling a server with every data type, a seeded random write
//! stream, and a readable dump of a whole data set for failure messages.
//!
//! Every test file uses only some of them.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use redis::Value;
use replikv_tests::{encode_command, error_text, show_value, wait_until, RawConn, Server};

/// Generous bound for every eventual state.
pub const EVENTUAL: Duration = Duration::from_secs(20);

/// Arguments every master (and every node that may become one) gets:
/// diskless sync without the 5 s delay, and DEBUG DIGEST.
pub const NODE_ARGS: &[&str] = &[
    "--repl-diskless-sync-delay",
    "0",
    "--enable-debug-command",
    "yes",
];

/// `NODE_ARGS` followed by `extra`.
pub fn node_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    NODE_ARGS
        .iter()
        .copied()
        .chain(extra.iter().copied())
        .collect()
}

/// Starts a node of `kind` with [`NODE_ARGS`] and `extra`.
pub fn start(kind: replikv_tests::ServerKind, extra: &[&str]) -> Server {
    Server::start(kind, None, &node_args(extra))
}

/// Starts a node of `kind` that replicates `master` from the start
/// (`--replicaof 127.0.0.1 <port>`), with [`NODE_ARGS`] and `extra`.
pub fn start_replica(kind: replikv_tests::ServerKind, master: &Server, extra: &[&str]) -> Server {
    let port = master.port().to_string();
    let mut args = vec!["--replicaof", "127.0.0.1", port.as_str()];
    args.extend_from_slice(extra);
    start(kind, &args)
}

fn connect(port: u16, pass: Option<&str>) -> RawConn {
    let mut conn = RawConn::connect(port);
    if let Some(pass) = pass {
        let reply = conn.command(&[b"AUTH", pass.as_bytes()]);
        assert!(
            reply.starts_with(b"+OK"),
            "AUTH on port {port} failed: {:?}",
            String::from_utf8_lossy(&reply)
        );
    }
    conn
}

fn parse(raw: &[u8]) -> Value {
    redis::parse_redis_value(raw)
        .unwrap_or_else(|e| panic!("cannot parse reply {:?}: {e}", String::from_utf8_lossy(raw)))
}

/// Runs one command on a fresh connection to `port` and returns the reply
/// (errors as `Value::ServerError`).
pub fn cmd(port: u16, args: &[&str]) -> Value {
    cmd_auth(port, None, args)
}

/// [`cmd`] after `AUTH pass` when a password is given.
pub fn cmd_auth(port: u16, pass: Option<&str>, args: &[&str]) -> Value {
    let mut conn = connect(port, pass);
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    parse(&conn.command(&bytes))
}

/// Like [`cmd`] but `None` when nothing answers on `port` (server down).
pub fn try_cmd(port: u16, args: &[&str]) -> Option<Value> {
    let mut conn = RawConn::try_connect(port).ok()?;
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    conn.try_send(&encode_command(&bytes)).ok()?;
    let raw = conn.try_read_reply(Duration::from_secs(10))?;
    redis::parse_redis_value(&raw).ok()
}

/// The text of a bulk/simple/verbatim string reply.
pub fn text(value: &Value) -> String {
    match value {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".to_string(),
        Value::VerbatimString { text, .. } => text.clone(),
        other => panic!("expected a string reply, got {}", show_value(other)),
    }
}

/// Asserts `value` is `+OK`.
pub fn assert_ok(value: &Value, what: &str) {
    assert!(
        matches!(value, Value::Okay) || matches!(value, Value::SimpleString(s) if s == "OK"),
        "{what}: expected OK, got {}",
        show_value(value)
    );
}

/// Parses INFO text into `field -> value`.
pub fn parse_info(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.trim_end().split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `INFO <section>` of the server on `port`, as a map.
pub fn info(port: u16, section: &str) -> BTreeMap<String, String> {
    info_auth(port, None, section)
}

/// [`info`] with a password.
pub fn info_auth(port: u16, pass: Option<&str>, section: &str) -> BTreeMap<String, String> {
    parse_info(&text(&cmd_auth(port, pass, &["INFO", section])))
}

/// One INFO field ("" when absent).
pub fn info_field(port: u16, section: &str, field: &str) -> String {
    info(port, section).remove(field).unwrap_or_default()
}

/// An integer INFO field (panics when absent or not a number).
pub fn info_int(port: u16, section: &str, field: &str) -> i64 {
    let v = info_field(port, section, field);
    v.parse()
        .unwrap_or_else(|_| panic!("INFO {section} on port {port}: {field} is {v:?}"))
}

/// `sync_full`, `sync_partial_ok`, `sync_partial_err` of INFO stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncStats {
    /// `sync_full`
    pub full: i64,
    /// `sync_partial_ok`
    pub partial_ok: i64,
    /// `sync_partial_err`
    pub partial_err: i64,
}

/// The sync counters of the server on `port`.
pub fn sync_stats(port: u16) -> SyncStats {
    let stats = info(port, "stats");
    let get = |f: &str| -> i64 {
        stats
            .get(f)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("INFO stats on port {port} has no numeric {f}: {stats:?}"))
    };
    SyncStats {
        full: get("sync_full"),
        partial_ok: get("sync_partial_ok"),
        partial_err: get("sync_partial_err"),
    }
}

/// `DEBUG DIGEST` of the server on `port`.
pub fn digest(port: u16) -> String {
    text(&cmd(port, &["DEBUG", "DIGEST"]))
}

/// `DEBUG DIGEST` with a password.
pub fn digest_auth(port: u16, pass: Option<&str>) -> String {
    text(&cmd_auth(port, pass, &["DEBUG", "DIGEST"]))
}

/// A short description of a server's replication state and log tail, for
/// failure messages.
pub fn describe(server: &Server) -> String {
    let repl = try_cmd(server.port(), &["INFO", "replication"])
        .map(|v| show_value(&v))
        .unwrap_or_else(|| "<no answer>".to_string());
    format!(
        "== {} on port {} ==\n{}\n-- log tail --\n{}\n",
        server.kind().name(),
        server.port(),
        repl.replace("\\r\\n", "\n  "),
        server.log_tail()
    )
}

/// Waits until the replica's link to its master is up and not syncing.
pub fn wait_link_up(replica: &Server) {
    wait_link_up_auth(replica, None);
}

/// [`wait_link_up`] with a password.
pub fn wait_link_up_auth(replica: &Server, pass: Option<&str>) {
    let ok = wait_until(EVENTUAL, || {
        let i = info_auth(replica.port(), pass, "replication");
        i.get("master_link_status").map(String::as_str) == Some("up")
            && i.get("master_sync_in_progress").map(String::as_str) == Some("0")
    });
    assert!(ok, "replica link never came up\n{}", describe(replica));
}

/// Waits until `master` reports `n` connected replicas, all `state=online`.
pub fn wait_online_replicas(master: &Server, n: usize) {
    wait_online_replicas_auth(master, None, n);
}

/// [`wait_online_replicas`] with a password.
pub fn wait_online_replicas_auth(master: &Server, pass: Option<&str>, n: usize) {
    let ok = wait_until(EVENTUAL, || {
        let i = info_auth(master.port(), pass, "replication");
        i.get("connected_slaves") == Some(&n.to_string())
            && (0..n).all(|k| {
                i.get(&format!("slave{k}"))
                    .is_some_and(|s| s.contains("state=online"))
            })
    });
    assert!(
        ok,
        "master never had {n} online replicas\n{}",
        describe(master)
    );
}

fn repl_offset(port: u16, pass: Option<&str>) -> Option<i64> {
    let i = info_auth(port, pass, "replication");
    i.get("master_repl_offset").and_then(|v| v.parse().ok())
}

/// Waits until the replica has the master's replication offset (for data
/// sets meant to differ); false if it never gets there.
pub fn wait_offset(master: &Server, replica: &Server) -> bool {
    wait_until(EVENTUAL, || {
        let m = repl_offset(master.port(), None);
        m.is_some() && repl_offset(replica.port(), None) == m
    })
}

/// Waits until every replica has the master's replication offset and the
/// same DEBUG DIGEST; on failure shows every node's state and the
/// differences between the data sets.
pub fn wait_in_sync(master: &Server, replicas: &[&Server]) {
    wait_in_sync_auth(master, replicas, None);
}

/// [`wait_in_sync`] with one password for every node.
pub fn wait_in_sync_auth(master: &Server, replicas: &[&Server], pass: Option<&str>) {
    let ok = wait_until(EVENTUAL, || {
        let Some(offset) = repl_offset(master.port(), pass) else {
            return false;
        };
        let d = digest_auth(master.port(), pass);
        replicas.iter().all(|r| {
            repl_offset(r.port(), pass) == Some(offset) && digest_auth(r.port(), pass) == d
        })
    });
    if ok {
        return;
    }
    let mut msg = String::from("replicas never caught up with the master\n");
    msg.push_str(&describe(master));
    let m = contents_auth(master.port(), pass);
    for r in replicas {
        msg.push_str(&describe(r));
        let _ = writeln!(
            msg,
            "-- data differences master({}) vs replica({}) --\n{}",
            master.port(),
            r.port(),
            diff(&m, &contents_auth(r.port(), pass))
        );
    }
    panic!("{msg}");
}

/// Asserts the two servers hold the same data: same DEBUG DIGEST and the
/// same contents key by key (value spot checks over the whole data set).
pub fn assert_same_data(a: &Server, b: &Server) {
    let (ca, cb) = (contents(a.port()), contents(b.port()));
    assert!(
        ca == cb,
        "data differs between {} ({}) and {} ({}):\n{}",
        a.kind().name(),
        a.port(),
        b.kind().name(),
        b.port(),
        diff(&ca, &cb)
    );
    assert_eq!(
        digest(a.port()),
        digest(b.port()),
        "same contents but different DEBUG DIGEST between ports {} and {}",
        a.port(),
        b.port()
    );
}

/// A key's rendering in [`contents`]: `db:key` -> `type ttl value`.
pub type Contents = BTreeMap<String, String>;

/// Every key of every database (0..16) with its type, absolute expiry
/// (PEXPIRETIME) and value, read in a handful of pipelined round trips.
pub fn contents(port: u16) -> Contents {
    contents_auth(port, None)
}

/// [`contents`] with a password.
pub fn contents_auth(port: u16, pass: Option<&str>) -> Contents {
    let mut conn = connect(port, pass);
    let mut out = Contents::new();
    for db in 0..16 {
        let dbs = db.to_string();
        let sel = parse(&conn.command(&[b"SELECT", dbs.as_bytes()]));
        if error_text(&sel).is_some() {
            break;
        }
        let keys = match parse(&conn.command(&[b"KEYS", b"*"])) {
            Value::Array(keys) => keys,
            other => panic!("KEYS * on port {port}: {}", show_value(&other)),
        };
        let keys: Vec<Vec<u8>> = keys
            .into_iter()
            .filter_map(|k| match k {
                Value::BulkString(b) => Some(b),
                _ => None,
            })
            .collect();
        let mut batch = Vec::new();
        for k in &keys {
            batch.extend(encode_command(&[b"TYPE", k]));
            batch.extend(encode_command(&[b"PEXPIRETIME", k]));
        }
        conn.send(&batch);
        let mut types = Vec::new();
        for _ in &keys {
            let t = parse(&conn.read_reply());
            let ttl = parse(&conn.read_reply());
            types.push((text(&t), show_value(&ttl)));
        }
        let mut batch = Vec::new();
        for (k, (t, _)) in keys.iter().zip(&types) {
            let args: Vec<&[u8]> = match t.as_str() {
                "string" => vec![b"GET", k],
                "list" => vec![b"LRANGE", k, b"0", b"-1"],
                "set" => vec![b"SMEMBERS", k],
                "hash" => vec![b"HGETALL", k],
                "zset" => vec![b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"],
                _ => vec![b"TYPE", k],
            };
            batch.extend(encode_command(&args));
        }
        conn.send(&batch);
        for (k, (t, ttl)) in keys.iter().zip(&types) {
            let v = parse(&conn.read_reply());
            let shown = match (t.as_str(), v) {
                ("set", Value::Array(mut items)) => {
                    items.sort_by_key(show_value);
                    show_value(&Value::Array(items))
                }
                ("hash", Value::Array(items)) => {
                    let mut pairs: Vec<String> = items
                        .chunks(2)
                        .map(|p| p.iter().map(show_value).collect::<Vec<_>>().join("="))
                        .collect();
                    pairs.sort();
                    format!("{{{}}}", pairs.join(", "))
                }
                (_, v) => show_value(&v),
            };
            out.insert(
                format!("{db}:{}", String::from_utf8_lossy(k)),
                format!("{t} exp={ttl} {shown}"),
            );
        }
    }
    out
}

/// The differences between two [`contents`] maps (at most 30 lines).
pub fn diff(a: &Contents, b: &Contents) -> String {
    let mut lines = Vec::new();
    for (k, v) in a {
        match b.get(k) {
            None => lines.push(format!("  only left:  {k} = {}", clip(v))),
            Some(w) if w != v => lines.push(format!(
                "  differs:    {k}\n    left:  {}\n    right: {}",
                clip(v),
                clip(w)
            )),
            _ => {}
        }
    }
    for (k, v) in b {
        if !a.contains_key(k) {
            lines.push(format!("  only right: {k} = {}", clip(v)));
        }
    }
    if lines.is_empty() {
        return "  (no difference in contents)".to_string();
    }
    let n = lines.len();
    lines.truncate(30);
    if n > 30 {
        lines.push(format!("  ... and {} more", n - 30));
    }
    lines.join("\n")
}

fn clip(s: &str) -> String {
    if s.len() <= 200 {
        return s.to_string();
    }
    let mut end = 200;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// Sends `commands` pipelined (in batches) and returns every reply.
pub fn pipeline(conn: &mut RawConn, commands: &[Vec<Vec<u8>>]) -> Vec<Value> {
    let mut replies = Vec::with_capacity(commands.len());
    for chunk in commands.chunks(100) {
        let mut bytes = Vec::new();
        for c in chunk {
            let args: Vec<&[u8]> = c.iter().map(Vec::as_slice).collect();
            bytes.extend(encode_command(&args));
        }
        conn.send(&bytes);
        for _ in chunk {
            replies.push(parse(&conn.read_reply()));
        }
    }
    replies
}

fn c(args: &[&str]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

/// Now in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The databases [`fill_all_types`] writes to.
pub const FILLED_DBS: &[usize] = &[0, 1, 3, 9];

/// Writes keys of every type and encoding into several databases, some
/// with (far) expiries, binary values. (Keys that expire while the test runs
/// are left to the tests about expiry.)
/// Asserts no command failed.
pub fn fill_all_types(port: u16) {
    fill_all_types_auth(port, None);
}

/// [`fill_all_types`] with a password.
pub fn fill_all_types_auth(port: u16, pass: Option<&str>) {
    let mut conn = connect(port, pass);
    let far = (now_ms() + 1_000_000_000).to_string();
    let mut cmds: Vec<Vec<Vec<u8>>> = Vec::new();
    for &db in FILLED_DBS {
        let d = db.to_string();
        cmds.push(c(&["SELECT", &d]));
        cmds.push(c(&["SET", "str", &format!("hello from db {db}")]));
        cmds.push(c(&["SET", "int", &(12345 + db).to_string()]));
        cmds.push(c(&["SET", "neg", "-9000000000"]));
        cmds.push(c(&["SET", "big", &"x".repeat(5000 + db)]));
        cmds.push(vec![
            b"SET".to_vec(),
            b"bin".to_vec(),
            b"\x00\r\n\xff\xfe end".to_vec(),
        ]);
        cmds.push(c(&["SET", "ttl", "expires later", "EX", "100000"]));
        cmds.push(c(&["SET", "pxat", "absolute", "PXAT", &far]));
        cmds.push(c(&["INCRBYFLOAT", "float", "10.5"]));
        cmds.push(c(&["RPUSH", "list:small", "a", "b", "c", "1", "2", "3"]));
        let mut big_list = vec!["RPUSH".to_string(), "list:big".to_string()];
        big_list.extend((0..400).map(|i| format!("element-{i:05}-{}", "y".repeat(i % 70))));
        cmds.push(big_list.iter().map(|s| s.as_bytes().to_vec()).collect());
        cmds.push(c(&["PEXPIREAT", "list:big", &far]));
        cmds.push(c(&["HSET", "hash:small", "f1", "v1", "f2", "2", "f3", ""]));
        let mut big_hash = vec!["HSET".to_string(), "hash:big".to_string()];
        for i in 0..200 {
            big_hash.push(format!("field{i}"));
            big_hash.push(format!("{}{i}", "v".repeat(70)));
        }
        cmds.push(big_hash.iter().map(|s| s.as_bytes().to_vec()).collect());
        cmds.push(c(&["EXPIRE", "hash:big", "200000"]));
        cmds.push(c(&["SADD", "set:int", "1", "2", "3", "-5", "100000"]));
        cmds.push(c(&["SADD", "set:small", "a", "b", "c"]));
        let mut big_int_set = vec!["SADD".to_string(), "set:bigint".to_string()];
        big_int_set.extend((0..700).map(|i| (i * 7).to_string()));
        cmds.push(big_int_set.iter().map(|s| s.as_bytes().to_vec()).collect());
        let mut big_set = vec!["SADD".to_string(), "set:big".to_string()];
        big_set.extend((0..300).map(|i| format!("member-{i}")));
        cmds.push(big_set.iter().map(|s| s.as_bytes().to_vec()).collect());
        cmds.push(c(&[
            "ZADD",
            "zset:small",
            "1",
            "a",
            "2.5",
            "b",
            "-inf",
            "c",
            "+inf",
            "d",
        ]));
        let mut big_zset = vec!["ZADD".to_string(), "zset:big".to_string()];
        for i in 0..300 {
            big_zset.push(format!("{}", f64::from(i) * 1.25 - 100.0));
            big_zset.push(format!("zmember-{i}-{}", "z".repeat(i as usize % 80)));
        }
        cmds.push(big_zset.iter().map(|s| s.as_bytes().to_vec()).collect());
        cmds.push(c(&["EXPIRE", "zset:big", "300000"]));
    }
    cmds.push(c(&["SELECT", "0"]));
    let replies = pipeline(&mut conn, &cmds);
    for (cmd, reply) in cmds.iter().zip(&replies) {
        assert!(
            error_text(reply).is_none(),
            "fill on port {port}: {:?} failed: {}",
            String::from_utf8_lossy(&cmd[0]),
            show_value(reply)
        );
    }
}

/// Spot checks of values written by [`fill_all_types`] on the server on
/// `port` (database 3).
pub fn check_filled_values(port: u16) {
    let mut conn = RawConn::connect(port);
    let replies = pipeline(
        &mut conn,
        &[
            c(&["SELECT", "3"]),
            c(&["GET", "str"]),
            c(&["GET", "int"]),
            c(&["GET", "bin"]),
            c(&["LINDEX", "list:big", "399"]),
            c(&["HGET", "hash:small", "f2"]),
            c(&["SISMEMBER", "set:bigint", "4893"]),
            c(&["ZSCORE", "zset:small", "b"]),
            c(&["TTL", "ttl"]),
            c(&["SCARD", "set:big"]),
            c(&["GET", "float"]),
        ],
    );
    let shown: Vec<String> = replies.iter().map(show_value).collect();
    let expected_big = format!("element-00399-{}", "y".repeat(399 % 70));
    let expected = [
        "+OK".to_string(),
        "\"hello from db 3\"".to_string(),
        "\"12348\"".to_string(),
        format!("{:?}", String::from_utf8_lossy(b"\x00\r\n\xff\xfe end")),
        format!("{expected_big:?}"),
        "\"2\"".to_string(),
        "(integer) 1".to_string(),
        "\"2.5\"".to_string(),
    ];
    for (i, e) in expected.iter().enumerate() {
        assert_eq!(&shown[i], e, "spot check {i} on port {port}: {shown:?}");
    }
    match &replies[8] {
        Value::Int(t) => assert!(*t > 90_000 && *t <= 100_000, "TTL ttl on port {port}: {t}"),
        other => panic!("TTL ttl on port {port}: {}", show_value(other)),
    }
    assert_eq!(shown[9], "(integer) 300", "SCARD set:big on port {port}");
    assert_eq!(shown[10], "\"10.5\"", "GET float on port {port}");
}

/// The databases [`random_writes`] writes to.
pub const RANDOM_DBS: &[usize] = &[0, 2, 3];

/// Sends `n` random write commands (seeded, deterministic) over a small
/// key space of every type in several databases, pipelined; returns the
/// number of commands that failed with an error (WRONGTYPE, no such key...
/// are expected now and then). Panics on "unknown command" and syntax
/// errors, which mean the stream itself is wrong.
pub fn random_writes(port: u16, seed: u64, n: usize) -> usize {
    random_writes_auth(port, None, seed, n)
}

/// [`random_writes`] with a password.
pub fn random_writes_auth(port: u16, pass: Option<&str>, seed: u64, n: usize) -> usize {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut cmds: Vec<Vec<Vec<u8>>> = Vec::with_capacity(n + 8);
    let mut in_multi = false;
    for _ in 0..n {
        cmds.push(random_command(&mut rng, &mut in_multi));
    }
    if in_multi {
        cmds.push(c(&["EXEC"]));
    }
    cmds.push(c(&["SELECT", "0"]));
    let mut conn = connect(port, pass);
    let replies = pipeline(&mut conn, &cmds);
    let mut failed = 0;
    for (cmd, reply) in cmds.iter().zip(&replies) {
        let err = error_text(reply).or_else(|| match reply {
            // EXEC's reply holds the queued commands' replies.
            Value::Array(items) => items.iter().find_map(error_text),
            _ => None,
        });
        if let Some(e) = err {
            let shown: Vec<String> = cmd
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            assert!(
                !e.contains("unknown command") && !e.starts_with("ERR syntax"),
                "random write {shown:?} on port {port} failed: {e}"
            );
            failed += 1;
        }
    }
    failed
}

fn random_command(rng: &mut SmallRng, in_multi: &mut bool) -> Vec<Vec<u8>> {
    let k = |rng: &mut SmallRng, p: &str| format!("{p}:{}", rng.gen_range(0..12));
    let v = |rng: &mut SmallRng| {
        let len = if rng.gen_bool(0.05) {
            rng.gen_range(100..3000)
        } else {
            rng.gen_range(0..12)
        };
        (0..len)
            .map(|_| char::from(rng.gen_range(b'a'..=b'z')))
            .collect::<String>()
    };
    let num = |rng: &mut SmallRng| rng.gen_range(-1000i64..1000).to_string();
    let choice = rng.gen_range(0..60);
    let args: Vec<String> = match choice {
        0 => {
            let db = RANDOM_DBS[rng.gen_range(0..RANDOM_DBS.len())];
            vec!["SELECT".into(), db.to_string()]
        }
        1..=3 => {
            let mut a = vec!["SET".into(), k(rng, "s"), v(rng)];
            match rng.gen_range(0..5) {
                0 => a.extend(["EX".into(), "100000".into()]),
                1 => a.extend([
                    "PX".into(),
                    rng.gen_range(50_000_000..90_000_000).to_string(),
                ]),
                2 => a.push("KEEPTTL".into()),
                _ => {}
            }
            a
        }
        4 => vec!["APPEND".into(), k(rng, "s"), v(rng)],
        5 => vec!["INCRBY".into(), k(rng, "n"), num(rng)],
        6 => vec!["INCRBYFLOAT".into(), k(rng, "f"), "1.25".into()],
        7 => vec!["DEL".into(), k(rng, "s"), k(rng, "l")],
        8 => vec!["UNLINK".into(), k(rng, "h")],
        9 => vec!["EXPIRE".into(), k(rng, "s"), "200000".into()],
        10 => vec!["PERSIST".into(), k(rng, "s")],
        11 => vec!["GETEX".into(), k(rng, "s"), "EX".into(), "5000".into()],
        12 => vec!["GETDEL".into(), k(rng, "n")],
        13 | 14 => vec!["LPUSH".into(), k(rng, "l"), v(rng), v(rng)],
        15 => vec!["RPUSH".into(), k(rng, "l"), v(rng)],
        16 => vec!["LPOP".into(), k(rng, "l")],
        17 => vec!["RPOP".into(), k(rng, "l"), "2".into()],
        18 => vec!["LTRIM".into(), k(rng, "l"), "0".into(), "20".into()],
        19 => vec!["LSET".into(), k(rng, "l"), "0".into(), v(rng)],
        20 => vec![
            "LMOVE".into(),
            k(rng, "l"),
            k(rng, "l"),
            "LEFT".into(),
            "RIGHT".into(),
        ],
        21 => vec!["RPOPLPUSH".into(), k(rng, "l"), k(rng, "l")],
        22 | 23 => vec!["SADD".into(), k(rng, "st"), v(rng), num(rng)],
        24 => vec!["SREM".into(), k(rng, "st"), v(rng)],
        25 => vec!["SPOP".into(), k(rng, "st")],
        26 => vec!["SMOVE".into(), k(rng, "st"), k(rng, "st"), num(rng)],
        27 => vec![
            "SUNIONSTORE".into(),
            k(rng, "st"),
            k(rng, "st"),
            k(rng, "st"),
        ],
        28 => vec![
            "SINTERSTORE".into(),
            k(rng, "st"),
            k(rng, "st"),
            k(rng, "st"),
        ],
        29 | 30 => vec!["HSET".into(), k(rng, "h"), v(rng), v(rng)],
        31 => vec!["HDEL".into(), k(rng, "h"), v(rng)],
        32 => vec!["HINCRBY".into(), k(rng, "h"), "counter".into(), num(rng)],
        33 => vec![
            "HINCRBYFLOAT".into(),
            k(rng, "h"),
            "fl".into(),
            "0.25".into(),
        ],
        34 => vec!["HSETNX".into(), k(rng, "h"), v(rng), v(rng)],
        35 | 36 => vec!["ZADD".into(), k(rng, "z"), num(rng), v(rng)],
        37 => vec!["ZINCRBY".into(), k(rng, "z"), "2.5".into(), v(rng)],
        38 => vec!["ZREM".into(), k(rng, "z"), v(rng)],
        39 => vec!["ZPOPMIN".into(), k(rng, "z")],
        40 => vec![
            "ZUNIONSTORE".into(),
            k(rng, "z"),
            "2".into(),
            k(rng, "z"),
            k(rng, "z"),
        ],
        41 => vec![
            "ZREMRANGEBYRANK".into(),
            k(rng, "z"),
            "0".into(),
            "1".into(),
        ],
        42 => vec!["RENAME".into(), k(rng, "s"), k(rng, "s")],
        43 => vec!["COPY".into(), k(rng, "h"), k(rng, "h"), "REPLACE".into()],
        44 => {
            let db = RANDOM_DBS[rng.gen_range(0..RANDOM_DBS.len())];
            vec!["MOVE".into(), k(rng, "st"), db.to_string()]
        }
        45 => vec!["MSET".into(), k(rng, "s"), v(rng), k(rng, "s"), v(rng)],
        46 => vec!["SETRANGE".into(), k(rng, "s"), "3".into(), v(rng)],
        47 => vec!["SETEX".into(), k(rng, "s"), "300000".into(), v(rng)],
        48 => vec!["PEXPIRE".into(), k(rng, "z"), "900000000".into()],
        49 => vec!["DECR".into(), k(rng, "n")],
        50 => vec![
            "LINSERT".into(),
            k(rng, "l"),
            "BEFORE".into(),
            v(rng),
            v(rng),
        ],
        51 => vec!["ZPOPMAX".into(), k(rng, "z"), "2".into()],
        52 => vec!["SETNX".into(), k(rng, "s"), v(rng)],
        53 => vec!["GETSET".into(), k(rng, "s"), v(rng)],
        54 => vec![
            "ZRANGESTORE".into(),
            k(rng, "z"),
            k(rng, "z"),
            "0".into(),
            "5".into(),
        ],
        55 | 56 => {
            if *in_multi {
                *in_multi = false;
                vec!["EXEC".into()]
            } else {
                *in_multi = true;
                vec!["MULTI".into()]
            }
        }
        57 => vec![
            "SDIFFSTORE".into(),
            k(rng, "st"),
            k(rng, "st"),
            k(rng, "st"),
        ],
        58 => {
            if rng.gen_bool(0.2) && !*in_multi {
                vec!["SWAPDB".into(), "0".into(), "2".into()]
            } else {
                vec!["HMSET".into(), k(rng, "h"), "a".into(), v(rng)]
            }
        }
        _ => vec!["LREM".into(), k(rng, "l"), "0".into(), v(rng)],
    };
    args.into_iter().map(String::into_bytes).collect()
}

/// Writes `bytes` of string data to `port` as `count` SETs of equal
/// size on keys `prefix:0..count` (the stream grows by about `bytes`).
pub fn write_volume(port: u16, prefix: &str, count: usize, value_len: usize) {
    let mut conn = RawConn::connect(port);
    let value = "v".repeat(value_len);
    let cmds: Vec<Vec<Vec<u8>>> = (0..count)
        .map(|i| c(&["SET", &format!("{prefix}:{i}"), &value]))
        .collect();
    for (i, r) in pipeline(&mut conn, &cmds).iter().enumerate() {
        assert!(
            error_text(r).is_none(),
            "SET {prefix}:{i} on port {port}: {}",
            show_value(r)
        );
    }
}

/// `CLIENT KILL TYPE kind` on `port`, which must drop exactly one client.
pub fn kill_one_client_of_type(port: u16, kind: &str) {
    let reply = cmd(port, &["CLIENT", "KILL", "TYPE", kind]);
    assert_eq!(
        reply,
        Value::Int(1),
        "CLIENT KILL TYPE {kind} on port {port}: {}",
        show_value(&reply)
    );
}

/// Drops the master's one replica and writes `count` values of
/// `value_len` bytes in the same transaction, so the writes are all in the
/// backlog before the replica can reconnect (it may reconnect within
/// milliseconds, and would then continue instead of full-syncing).
pub fn kill_replica_then_write(port: u16, prefix: &str, count: usize, value_len: usize) {
    let mut conn = RawConn::connect(port);
    let value = "v".repeat(value_len);
    let mut cmds = vec![c(&["MULTI"]), c(&["CLIENT", "KILL", "TYPE", "replica"])];
    cmds.extend((0..count).map(|i| c(&["SET", &format!("{prefix}:{i}"), &value])));
    cmds.push(c(&["EXEC"]));
    let replies = pipeline(&mut conn, &cmds);
    match replies.last() {
        Some(Value::Array(results)) => assert_eq!(
            results.first(),
            Some(&Value::Int(1)),
            "CLIENT KILL TYPE replica inside MULTI on port {port}"
        ),
        other => panic!("EXEC on port {port}: {other:?}"),
    }
}
