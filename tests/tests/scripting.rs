//! Lua scripting against the reference: the same scripts on replikv and on
//! redis-server give the same replies (errors included), and a script's
//! writes reach replicas as the writes it made, across replikv and real
//! Redis nodes in both directions.

mod repl_common;

use redis::Value;
use repl_common::{assert_same_data, cmd, start, start_replica, wait_in_sync, wait_link_up};
use replikv_tests::{show_value, ServerKind};

/// (script, numkeys, keys and args)
const CASES: &[(&str, &[&str])] = &[
    ("return 1", &["0"]),
    ("return 3.99", &["0"]),
    ("return -3.5", &["0"]),
    ("return 'x'", &["0"]),
    ("return true", &["0"]),
    ("return false", &["0"]),
    ("return nil", &["0"]),
    ("return {1, 2, nil, 4}", &["0"]),
    ("return {1, {2, {3, 'x'}}, 'y'}", &["0"]),
    ("return {ok = 'fine'}", &["0"]),
    ("return {err = 'My Error'}", &["0"]),
    ("return redis.error_reply('My Error')", &["0"]),
    ("return redis.error_reply('-CODE with text')", &["0"]),
    ("return redis.status_reply('ok then')", &["0"]),
    (
        "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}",
        &["2", "a", "b", "c", "d"],
    ),
    ("return #KEYS + #ARGV", &["1", "k", "x", "y"]),
    (
        "return redis.call('set', KEYS[1], ARGV[1])",
        &["1", "s", "v"],
    ),
    ("return redis.call('get', KEYS[1])", &["1", "s"]),
    ("return redis.call('get', 'nope')", &["0"]),
    ("return redis.call('get', 'nope') == false", &["0"]),
    ("return redis.call('incr', 's')", &["0"]),
    ("return redis.pcall('incr', 's')", &["0"]),
    (
        "local ok, e = pcall(redis.call, 'incr', 's') return {tostring(ok), e}",
        &["0"],
    ),
    ("return redis.call('rpush', 'l', 1, 2.5, 'x')", &["0"]),
    ("return redis.call('lrange', 'l', 0, -1)", &["0"]),
    (
        "redis.call('hset', 'h', 'f', 'v', 'g', 'w') return redis.call('hgetall', 'h')",
        &["0"],
    ),
    ("return redis.call('ping')", &["0"]),
    ("return redis.call('nosuchcommand')", &["0"]),
    ("return redis.call('get')", &["0"]),
    ("return redis.call('get', 'a', 'b')", &["0"]),
    ("return redis.call()", &["0"]),
    ("return redis.call('get', {})", &["0"]),
    ("return redis.call('blpop', 'l', 0)", &["0"]),
    ("return redis.call('eval', 'return 1', 0)", &["0"]),
    ("return redis.call('multi')", &["0"]),
    ("error('boom')", &["0"]),
    ("\n\nerror('on line three')", &["0"]),
    ("error({err = 'TABLE raised'})", &["0"]),
    ("return undefined_global", &["0"]),
    ("x = 1", &["0"]),
    ("redis.call = nil", &["0"]),
    ("string.len = nil", &["0"]),
    ("return 'unterminated", &["0"]),
    ("return redis.sha1hex('abc')", &["0"]),
    ("return redis.sha1hex()", &["0"]),
    (
        "return {type(os), type(io), type(print), type(loadfile)}",
        &["0"],
    ),
    ("return bit.tohex(bit.band(0xff00, 0x0ff0))", &["0"]),
    ("return redis.setresp(4)", &["0"]),
    ("redis.setresp(3) return redis.call('hgetall', 'h')", &["0"]),
    ("return redis.REDIS_VERSION", &["0"]),
    (
        "return redis.log(redis.LOG_WARNING, 'from a script')",
        &["0"],
    ),
    ("return redis.log(99, 'x')", &["0"]),
    ("return redis.set_repl(9)", &["0"]),
    (
        "redis.call('select', 5) redis.call('set', 'in5', 1) return redis.call('dbsize')",
        &["0"],
    ),
    ("return redis.call('exists', 'in5')", &["0"]),
    (
        "#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')",
        &["0"],
    ),
    (
        "#!lua flags=no-writes\nreturn redis.call('get', 's')",
        &["0"],
    ),
    ("#!lua flags=bogus\nreturn 1", &["0"]),
    ("#!python\nreturn 1", &["0"]),
    ("return 1", &["-1"]),
    ("return 1", &["2", "a"]),
    ("return 1", &["x"]),
    (
        "math.randomseed(7) return {math.random(100), math.random(5, 9)}",
        &["0"],
    ),
    ("return tostring(math.random() < 1)", &["0"]),
    (
        "return cjson.encode({1, 'two', {x = 3}, true, 0.1, -2.5e-7})",
        &["0"],
    ),
    (
        r#"return cjson.encode(cjson.decode('[1.5, "a\\/b", null, {"k": [true, false]}, "\\u00e9"]'))"#,
        &["0"],
    ),
    (
        "return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')",
        &["0"],
    ),
    ("return cjson.encode({[1] = 'a', [3] = 'c'})", &["0"]),
    ("return cjson.encode({[1] = 'a', [30] = 'c'})", &["0"]),
    ("return cjson.encode({})", &["0"]),
    (
        "local ok, e = pcall(cjson.encode, {[false] = 1}) return e",
        &["0"],
    ),
    (
        "local ok, e = pcall(cjson.encode, {n = 0/0}) return e",
        &["0"],
    ),
    (
        r#"local ok, e = pcall(cjson.decode, '{"a": ') return e"#,
        &["0"],
    ),
    (
        r#"local ok, e = pcall(cjson.decode, '[1, 2') return e"#,
        &["0"],
    ),
    ("cjson.encode = nil", &["0"]),
];

fn eval(port: u16, name: &str, script: &str, rest: &[&str]) -> Value {
    let mut args = vec![name, script];
    args.extend_from_slice(rest);
    cmd(port, &args)
}

#[test]
fn scripts_reply_as_on_redis() {
    let ours = start(ServerKind::Replikv, &[]);
    let reference = start(ServerKind::Redis, &[]);
    let mut diffs = Vec::new();
    for (script, rest) in CASES {
        let a = eval(ours.port(), "EVAL", script, rest);
        let b = eval(reference.port(), "EVAL", script, rest);
        if a != b {
            diffs.push(format!(
                "EVAL {script:?} {rest:?}\n  replikv: {}\n  redis:   {}",
                show_value(&a),
                show_value(&b)
            ));
        }
    }
    for (name, rest) in [
        ("EVAL_RO", &["return redis.call('set', 'a', 'b')", "0"][..]),
        ("EVAL_RO", &["return redis.call('get', 's')", "0"][..]),
        ("EVAL_RO", &["#!lua\nreturn 1", "0"][..]),
        (
            "EVALSHA",
            &["ffffffffffffffffffffffffffffffffffffffff", "0"][..],
        ),
        ("EVALSHA", &["short", "0"][..]),
        ("SCRIPT", &["LOAD", "return 'loaded'"][..]),
        (
            "EVALSHA",
            &["30a3d8b8f4ad3b8f6fe4a29e2d5a5b3b4a1bc3f3", "0"][..],
        ),
        (
            "SCRIPT",
            &["EXISTS", "30a3d8b8f4ad3b8f6fe4a29e2d5a5b3b4a1bc3f3", "0000"][..],
        ),
        ("SCRIPT", &["FLUSH", "bogus"][..]),
        ("SCRIPT", &["KILL"][..]),
        ("SCRIPT", &["HELP"][..]),
        ("SCRIPT", &["NOPE"][..]),
    ] {
        let a = cmd(ours.port(), &[&[name][..], rest].concat());
        let b = cmd(reference.port(), &[&[name][..], rest].concat());
        if a != b {
            diffs.push(format!(
                "{name} {rest:?}\n  replikv: {}\n  redis:   {}",
                show_value(&a),
                show_value(&b)
            ));
        }
    }
    let sha = replikv_tests_sha("return 'loaded'");
    for port in [ours.port(), reference.port()] {
        assert_eq!(
            cmd(port, &["EVALSHA", &sha, "0"]),
            Value::BulkString(b"loaded".to_vec()),
            "EVALSHA of a loaded script on port {port}"
        );
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    assert_same_data(&ours, &reference);
}

/// SHA-1 of a script body, by asking the reference server to load it.
fn replikv_tests_sha(body: &str) -> String {
    let r = start(ServerKind::Redis, &[]);
    match cmd(r.port(), &["SCRIPT", "LOAD", body]) {
        Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("SCRIPT LOAD gave {}", show_value(&other)),
    }
}

/// Scripts that write several keys, in several databases, inside and
/// outside MULTI: the replica ends with the master's data.
fn script_effects_replicate(master_kind: ServerKind, replica_kind: ServerKind) {
    let master = start(master_kind, &[]);
    let replica = start_replica(replica_kind, &master, &[]);
    wait_link_up(&replica);
    let m = master.port();
    let writes = "for i = 1, 20 do redis.call('rpush', KEYS[1], i) end \
                  redis.call('set', KEYS[2], ARGV[1]) \
                  local n = redis.call('llen', KEYS[1]) \
                  redis.call('select', 3) redis.call('incrby', 'counter', 5) \
                  return n";
    assert_eq!(
        eval(m, "EVAL", writes, &["2", "list", "str", "v1"]),
        Value::Int(20)
    );
    let sha = match cmd(m, &["SCRIPT", "LOAD", writes]) {
        Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("SCRIPT LOAD: {}", show_value(&other)),
    };
    assert_eq!(
        cmd(m, &["EVALSHA", &sha, "2", "list", "str", "v2"]),
        Value::Int(40)
    );
    // One write only: it travels bare.
    assert_eq!(
        eval(m, "EVAL", "return redis.call('set', 'single', 'x')", &["0"]),
        Value::Okay
    );
    // A script that only reads sends nothing.
    assert_eq!(
        eval(m, "EVAL", "return redis.call('get', 'single')", &["0"]),
        Value::BulkString(b"x".to_vec())
    );
    // A script that fails half-way keeps (and replicates) what it wrote.
    let r = eval(
        m,
        "EVAL",
        "redis.call('set', 'before', 1) redis.call('incr', 'str')",
        &["0"],
    );
    assert!(matches!(r, Value::ServerError(_)), "{}", show_value(&r));
    // A script inside MULTI.
    let mut conn = master.raw();
    let out = repl_common::pipeline(
        &mut conn,
        &[
            vec![b"MULTI".to_vec()],
            vec![b"SET".to_vec(), b"tx".to_vec(), b"1".to_vec()],
            vec![
                b"EVAL".to_vec(),
                b"redis.call('incr', 'tx') return redis.call('incr', 'tx')".to_vec(),
                b"0".to_vec(),
            ],
            vec![b"EXEC".to_vec()],
        ],
    );
    assert_eq!(
        out.last(),
        Some(&Value::Array(vec![Value::Okay, Value::Int(3)])),
        "{out:?}"
    );
    wait_in_sync(&master, &[&replica]);
    assert_same_data(&master, &replica);
    assert_eq!(cmd(replica.port(), &["LLEN", "list"]), Value::Int(40));
}

#[test]
fn script_effects_replicate_replikv_to_redis() {
    script_effects_replicate(ServerKind::Replikv, ServerKind::Redis);
}

#[test]
fn script_effects_replicate_redis_to_replikv() {
    script_effects_replicate(ServerKind::Redis, ServerKind::Replikv);
}

#[test]
fn script_effects_replicate_replikv_to_replikv() {
    script_effects_replicate(ServerKind::Replikv, ServerKind::Replikv);
}

#[test]
fn reference_script_effects_replicate_redis_to_redis() {
    script_effects_replicate(ServerKind::Redis, ServerKind::Redis);
}

/// A read-only replica refuses a script's writes with Redis's words, and
/// runs its reads.
#[test]
fn replica_refuses_script_writes_as_redis_does() {
    for kind in [ServerKind::Replikv, ServerKind::Redis] {
        let master = start(ServerKind::Redis, &[]);
        let replica = start_replica(kind, &master, &[]);
        wait_link_up(&replica);
        let r = replica.port();
        let write = eval(r, "EVAL", "return redis.call('set', 'a', 1)", &["0"]);
        let shebang = eval(r, "EVAL", "#!lua\nreturn redis.call('set', 'a', 1)", &["0"]);
        let read = eval(r, "EVAL", "return redis.call('exists', 'a')", &["0"]);
        assert_eq!(read, Value::Int(0), "{kind:?}");
        let texts: Vec<String> = [write, shebang]
            .iter()
            .map(|v| replikv_tests::error_text(v).unwrap_or_else(|| show_value(v)))
            .collect();
        assert!(
            texts[0].starts_with("READONLY You can't write against a read only replica."),
            "{kind:?}: {texts:?}"
        );
        assert!(texts[1].starts_with("READONLY"), "{kind:?}: {texts:?}");
    }
}

const LIB: &str = "#!lua name=mylib\n\
redis.register_function('setit', function(keys, args) return redis.call('set', keys[1], args[1]) end)\n\
redis.register_function{function_name='getit', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads a key'}\n\
redis.register_function('Failing', function() return redis.call('incr', 'notanumber') end)";

/// FUNCTION and FCALL replies, errors included, as on redis-server.
#[test]
fn functions_reply_as_on_redis() {
    let ours = start(ServerKind::Replikv, &[]);
    let reference = start(ServerKind::Redis, &[]);
    let steps: &[&[&str]] = &[
        &["FUNCTION", "LOAD", LIB],
        &["FUNCTION", "LOAD", LIB],
        &["FCALL", "setit", "1", "k", "v"],
        &["FCALL", "SETIT", "1", "k", "w"],
        &["FCALL_RO", "getit", "1", "k"],
        &["FCALL_RO", "setit", "1", "k", "v"],
        &["SET", "notanumber", "x"],
        &["FCALL", "failing", "0"],
        &["FCALL", "nope", "0"],
        &["FCALL", "setit", "x"],
        &["FCALL", "setit", "5", "k"],
        &["FUNCTION", "LIST"],
        &["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "my*"],
        &["FUNCTION", "LIST", "LIBRARYNAME", "zz*"],
        &["FUNCTION", "LIST", "BOGUS"],
        &["FUNCTION", "STATS"],
        &["FUNCTION", "LOAD", "return 1"],
        &["FUNCTION", "LOAD", "#!lua\nreturn 1"],
        &["FUNCTION", "LOAD", "#!lua name=bad-name\nreturn 1"],
        &["FUNCTION", "LOAD", "#!python name=x\nreturn 1"],
        &["FUNCTION", "LOAD", "#!lua name=empty\nlocal x = 1"],
        &["FUNCTION", "LOAD", "#!lua name=atload\nredis.call('ping')"],
        &["FUNCTION", "LOAD", "#!lua name=atload\nlocal r = math.random()"],
        &["FUNCTION", "LOAD", "#!lua name=clash\nredis.register_function('setit', function() return 1 end)"],
        &["FUNCTION", "LOAD", "#!lua name=twice\nredis.register_function('a', function() end) redis.register_function('a', function() end)"],
        &["FUNCTION", "LOAD", "#!lua name=badarg\nredis.register_function('a')"],
        &["FUNCTION", "LOAD", "#!lua name=badflag\nredis.register_function{function_name='a', callback=function() end, flags={'bogus'}}"],
        &["FUNCTION", "LOAD", "#!lua name=syntax\nredis.register_function('a', function() return end end)"],
        &["FUNCTION", "LOAD", "BOGUS", "#!lua name=x\nreturn 1"],
        &["FUNCTION", "LOAD", "REPLACE", LIB],
        &["FUNCTION", "DELETE", "nope"],
        &["FUNCTION", "DELETE", "mylib"],
        &["FCALL", "setit", "1", "k", "v"],
        &["FUNCTION", "FLUSH", "bogus"],
        &["FUNCTION", "FLUSH"],
        &["FUNCTION", "KILL"],
    ];
    let mut diffs = Vec::new();
    for step in steps {
        let a = unordered_functions(cmd(ours.port(), step));
        let b = unordered_functions(cmd(reference.port(), step));
        if a != b {
            diffs.push(format!(
                "{step:?}\n  replikv: {}\n  redis:   {}",
                show_value(&a),
                show_value(&b)
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// FUNCTION LIST gives a library's functions in the order of Redis's hash
/// table, which changes from run to run: compare them sorted.
fn unordered_functions(v: Value) -> Value {
    match v {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.into_iter().map(unordered_functions).collect();
            let is_function_list = !items.is_empty()
                && items.iter().all(|i| {
                    matches!(i, Value::Array(f) if f.first() == Some(&Value::BulkString(b"name".to_vec())))
                });
            if is_function_list {
                items.sort_by_key(show_value);
            }
            Value::Array(items)
        }
        other => other,
    }
}

/// A library loaded on the master reaches the replica in the stream, and
/// its writes follow.
fn functions_replicate(master_kind: ServerKind, replica_kind: ServerKind) {
    let master = start(master_kind, &[]);
    let replica = start_replica(replica_kind, &master, &[]);
    wait_link_up(&replica);
    let m = master.port();
    assert_eq!(
        cmd(m, &["FUNCTION", "LOAD", LIB]),
        Value::BulkString(b"mylib".to_vec())
    );
    assert_eq!(cmd(m, &["FCALL", "setit", "1", "fk", "fv"]), Value::Okay);
    wait_in_sync(&master, &[&replica]);
    assert_same_data(&master, &replica);
    assert_eq!(
        cmd(replica.port(), &["FCALL_RO", "getit", "1", "fk"]),
        Value::BulkString(b"fv".to_vec())
    );
    assert_eq!(cmd(m, &["FUNCTION", "DELETE", "mylib"]), Value::Okay);
    wait_in_sync(&master, &[&replica]);
    assert_eq!(
        cmd(replica.port(), &["FUNCTION", "LIST"]),
        Value::Array(vec![])
    );
}

#[test]
fn functions_replicate_replikv_to_redis() {
    functions_replicate(ServerKind::Replikv, ServerKind::Redis);
}

#[test]
fn functions_replicate_redis_to_replikv() {
    functions_replicate(ServerKind::Redis, ServerKind::Replikv);
}

/// A script past `lua-time-limit` leaves the server answering: other
/// clients, old and new, get -BUSY; SCRIPT KILL stops a script that did
/// not write and its caller gets the kill error; one that wrote cannot be
/// killed; afterwards everything is served again, data intact.
fn busy_script_can_be_killed(kind: ServerKind) {
    let server = start(kind, &["--lua-time-limit", "50"]);
    let port = server.port();
    let mut waiting = server.raw();
    waiting.send_command(&[b"SET", b"k", b"v"]);
    assert_eq!(waiting.read_value(), Value::Okay);
    let mut old_client = server.raw();
    waiting.send_command(&[b"EVAL", b"local i = 0 while true do i = i + 1 end", b"0"]);
    let busy = |v: &Value| {
        replikv_tests::error_text(v)
            .is_some_and(|t| t.starts_with("BUSY Redis is busy running a script."))
    };
    assert!(
        replikv_tests::wait_until(repl_common::EVENTUAL, || busy(&cmd(port, &["PING"]))),
        "a new client never got -BUSY"
    );
    old_client.send_command(&[b"GET", b"k"]);
    let v = old_client.read_value();
    assert!(busy(&v), "an existing client got {}", show_value(&v));
    // HELLO is served while busy (it names the client here).
    old_client.send_command(&[b"HELLO", b"2", b"SETNAME", b"abortscript"]);
    let v = old_client.read_value();
    assert!(
        matches!(&v, Value::Array(items) if items.len() == 14),
        "HELLO while busy got {}",
        show_value(&v)
    );
    let killed = cmd(port, &["SCRIPT", "KILL"]);
    assert_eq!(killed, Value::Okay);
    let v = waiting.read_value();
    let text = replikv_tests::error_text(&v).unwrap_or_default();
    assert!(
        text.starts_with("ERR Script killed by user with SCRIPT KILL..."),
        "{text}"
    );
    assert_eq!(cmd(port, &["PING"]), Value::SimpleString("PONG".into()));
    let list = match cmd(port, &["CLIENT", "LIST"]) {
        Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
        other => show_value(&other),
    };
    assert!(list.contains("name=abortscript"), "{list}");
    // A script that wrote cannot be stopped.
    waiting.send_command(&[
        b"EVAL",
        b"redis.call('set', 'w', 1) local i = 0 while i < 30000000 do i = i + 1 end return i",
        b"0",
    ]);
    assert!(replikv_tests::wait_until(repl_common::EVENTUAL, || busy(
        &cmd(port, &["PING"])
    )));
    let v = cmd(port, &["SCRIPT", "KILL"]);
    let text = replikv_tests::error_text(&v).unwrap_or_default();
    assert!(
        text.starts_with("UNKILLABLE Sorry the script already executed write commands"),
        "{text}"
    );
    assert_eq!(waiting.read_value(), Value::Int(30_000_000));
    assert_eq!(cmd(port, &["GET", "k"]), Value::BulkString(b"v".to_vec()));
    assert_eq!(cmd(port, &["GET", "w"]), Value::BulkString(b"1".to_vec()));
}

#[test]
fn busy_script_can_be_killed_replikv() {
    busy_script_can_be_killed(ServerKind::Replikv);
}

#[test]
fn reference_busy_script_can_be_killed_redis() {
    busy_script_can_be_killed(ServerKind::Redis);
}

/// Libraries travel in the RDB: a replica that connects after the library
/// was loaded gets it by full sync (both directions with real Redis), and
/// a restart from the dump keeps it.
fn functions_in_full_sync_and_dump(master_kind: ServerKind, replica_kind: ServerKind) {
    let mut master = start(master_kind, &[]);
    let m = master.port();
    assert_eq!(
        cmd(m, &["FUNCTION", "LOAD", LIB]),
        Value::BulkString(b"mylib".to_vec())
    );
    let replica = start_replica(replica_kind, &master, &[]);
    wait_link_up(&replica);
    wait_in_sync(&master, &[&replica]);
    assert_eq!(
        cmd(replica.port(), &["FCALL_RO", "getit", "1", "nokey"]),
        Value::Nil
    );
    assert_eq!(
        unordered_functions(cmd(replica.port(), &["FUNCTION", "LIST"])),
        unordered_functions(cmd(m, &["FUNCTION", "LIST"]))
    );
    assert_eq!(cmd(m, &["SAVE"]), Value::Okay);
    master.restart();
    assert_eq!(
        cmd(master.port(), &["FCALL", "setit", "1", "after", "restart"]),
        Value::Okay
    );
}

#[test]
fn functions_in_full_sync_and_dump_redis_to_replikv() {
    functions_in_full_sync_and_dump(ServerKind::Redis, ServerKind::Replikv);
}

#[test]
fn functions_in_full_sync_and_dump_replikv_to_redis() {
    functions_in_full_sync_and_dump(ServerKind::Replikv, ServerKind::Redis);
}

/// One command with binary arguments on a fresh connection.
fn cmd_bytes(port: u16, args: &[&[u8]]) -> Value {
    let raw = replikv_tests::RawConn::connect(port).command(args);
    redis::parse_redis_value(&raw).expect("a reply")
}

fn bulk(v: Value) -> Vec<u8> {
    match v {
        Value::BulkString(b) => b,
        other => panic!("expected a bulk string, got {}", show_value(&other)),
    }
}

/// FUNCTION DUMP gives Redis's format, each server restores the other's
/// payload, and the restore policies and errors match.
#[test]
fn functions_dump_and_restore_as_on_redis() {
    let ours = start(ServerKind::Replikv, &[]);
    let reference = start(ServerKind::Redis, &[]);
    let other_lib = "#!lua name=other\nredis.register_function('other', function() return 'o' end)";
    let clash_lib = "#!lua name=clash\nredis.register_function('setit', function() return 'c' end)";
    for port in [ours.port(), reference.port()] {
        cmd(port, &["FUNCTION", "LOAD", LIB]);
    }
    let ours_dump = bulk(cmd(ours.port(), &["FUNCTION", "DUMP"]));
    let reference_dump = bulk(cmd(reference.port(), &["FUNCTION", "DUMP"]));
    // The bytes may differ where the two LZF compressors choose other
    // matches; what counts is that each server reads the other's.
    assert_eq!(ours_dump[0], reference_dump[0], "record type");
    assert_eq!(
        ours_dump[ours_dump.len() - 10..ours_dump.len() - 8],
        reference_dump[reference_dump.len() - 10..reference_dump.len() - 8],
        "RDB version in the footer"
    );

    // Each restores the other's payload.
    for (port, payload) in [
        (ours.port(), &reference_dump),
        (reference.port(), &ours_dump),
    ] {
        cmd(port, &["FUNCTION", "FLUSH"]);
        let r = cmd_bytes(port, &[b"FUNCTION", b"RESTORE", payload]);
        assert_eq!(r, Value::Okay, "restore on port {port}");
        let got = cmd(port, &["FCALL", "setit", "1", "k", "v"]);
        assert_eq!(got, Value::Okay);
    }

    let mut corrupt = ours_dump.clone();
    corrupt[4] ^= 0xff;
    let steps: &[&[&[u8]]] = &[
        &[b"FUNCTION", b"RESTORE", &ours_dump],
        &[b"FUNCTION", b"RESTORE", &ours_dump, b"APPEND"],
        &[b"FUNCTION", b"RESTORE", &ours_dump, b"REPLACE"],
        &[b"FUNCTION", b"RESTORE", &ours_dump, b"bogus"],
        &[b"FUNCTION", b"RESTORE", &ours_dump, b"FLUSH", b"x"],
        &[b"FUNCTION", b"RESTORE", b"bad_payload"],
        &[b"FUNCTION", b"RESTORE", &corrupt],
        &[b"FUNCTION", b"DELETE", b"mylib"],
        &[b"FUNCTION", b"LOAD", clash_lib.as_bytes()],
        &[b"FUNCTION", b"RESTORE", &ours_dump, b"REPLACE"],
        &[b"FUNCTION", b"LIST"],
        &[b"FUNCTION", b"LOAD", other_lib.as_bytes()],
        &[b"FUNCTION", b"RESTORE", &ours_dump, b"FLUSH"],
        &[b"FUNCTION", b"LIST"],
        &[b"FCALL", b"other", b"0"],
        &[b"FCALL", b"getit", b"1", b"k"],
        &[b"FUNCTION", b"DUMP", b"extra"],
    ];
    let mut diffs = Vec::new();
    for step in steps {
        let a = unordered_functions(cmd_bytes(ours.port(), step));
        let b = unordered_functions(cmd_bytes(reference.port(), step));
        if a != b {
            let shown: Vec<String> = step
                .iter()
                .map(|s| String::from_utf8_lossy(&s[..s.len().min(20)]).into_owned())
                .collect();
            diffs.push(format!(
                "{shown:?}\n  replikv: {}\n  redis:   {}",
                show_value(&a),
                show_value(&b)
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// DEBUG RELOAD's options as Redis has them: NOFLUSH refuses a library
/// that exists already unless MERGE, NOSAVE loads the file as it is.
#[test]
fn debug_reload_options_as_on_redis() {
    let args = ["--enable-debug-command", "yes"];
    let ours = start(ServerKind::Replikv, &args);
    let reference = start(ServerKind::Redis, &args);
    let lib2 = "#!lua name=second\nredis.register_function('second', function() return 2 end)";
    let steps: &[&[&str]] = &[
        &["FUNCTION", "LOAD", LIB],
        &["SET", "a", "1"],
        &["DEBUG", "RELOAD", "NOFLUSH"],
        &["DEBUG", "RELOAD", "NOFLUSH", "MERGE"],
        &["DEBUG", "RELOAD", "BOGUS"],
        &["FUNCTION", "LIST"],
        &["GET", "a"],
        &["FUNCTION", "LOAD", lib2],
        &["SET", "b", "2"],
        &["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"],
        &["FCALL", "second", "0"],
        &["GET", "b"],
        &["DEBUG", "RELOAD", "NOSAVE"],
        &["FUNCTION", "LIST", "LIBRARYNAME", "second"],
        &["GET", "b"],
    ];
    let mut diffs = Vec::new();
    for step in steps {
        let a = unordered_functions(cmd(ours.port(), step));
        let b = unordered_functions(cmd(reference.port(), step));
        if a != b {
            diffs.push(format!(
                "{step:?}\n  replikv: {}\n  redis:   {}",
                show_value(&a),
                show_value(&b)
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// `redis.set_repl` chooses where a script's next writes go: the replica
/// gets only those meant for replicas, the AOF (read back at a restart)
/// only those meant for it; the master keeps them all. Against both
/// servers as masters, with a replikv replica.
fn selective_replication(master_kind: ServerKind) {
    let mut master = start(
        master_kind,
        &["--appendonly", "yes", "--enable-debug-command", "yes"],
    );
    let replica = start_replica(ServerKind::Replikv, &master, &[]);
    wait_link_up(&replica);
    let m = master.port();
    let script = "redis.call('set', 'a', '1') \
                  redis.set_repl(redis.REPL_NONE) redis.call('set', 'b', '2') \
                  redis.set_repl(redis.REPL_AOF) redis.call('set', 'c', '3') \
                  redis.set_repl(redis.REPL_REPLICA) redis.call('set', 'e', '5') \
                  redis.set_repl(redis.REPL_ALL) redis.call('set', 'd', '4')";
    assert_eq!(eval(m, "EVAL", script, &["0"]), Value::Nil);
    // A later script starts with everything replicated again.
    assert_eq!(
        eval(m, "EVAL", "return redis.call('set', 'f', '6')", &["0"]),
        Value::Okay
    );
    let keys = ["MGET", "a", "b", "c", "d", "e", "f"];
    let values = |v: &[Option<&str>]| {
        Value::Array(
            v.iter()
                .map(|x| x.map_or(Value::Nil, |s| Value::BulkString(s.as_bytes().to_vec())))
                .collect(),
        )
    };
    assert_eq!(
        cmd(m, &keys),
        values(&[
            Some("1"),
            Some("2"),
            Some("3"),
            Some("4"),
            Some("5"),
            Some("6")
        ])
    );
    assert!(repl_common::wait_offset(&master, &replica));
    assert_eq!(
        cmd(replica.port(), &keys),
        values(&[Some("1"), None, None, Some("4"), Some("5"), Some("6")])
    );
    let aof_view = values(&[Some("1"), None, Some("3"), Some("4"), None, Some("6")]);
    // DEBUG LOADAOF reads the AOF back in place, propagating nothing.
    let offset = info_field(m, "master_repl_offset");
    assert_eq!(cmd(m, &["DEBUG", "LOADAOF"]), Value::Okay);
    assert_eq!(cmd(m, &keys), aof_view);
    assert_eq!(info_field(m, "master_repl_offset"), offset);
    master.restart();
    assert_eq!(cmd(master.port(), &keys), aof_view);
}

fn info_field(port: u16, name: &str) -> String {
    let text = match cmd(port, &["INFO", "replication"]) {
        Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
        other => show_value(&other),
    };
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string))
        .unwrap_or_default()
}

#[test]
fn selective_replication_replikv() {
    selective_replication(ServerKind::Replikv);
}

#[test]
fn reference_selective_replication_redis() {
    selective_replication(ServerKind::Redis);
}

/// A seeded random stream of scripts built from fragments that read,
/// write, convert and fail in every way a script can, run on both
/// servers: every reply and the final data set must match.
#[test]
fn random_scripts_as_on_redis() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let ours = start(ServerKind::Replikv, &[]);
    let reference = start(ServerKind::Redis, &[]);
    let seed: u64 = std::env::var("REPLIKV_SCRIPT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261203);
    let mut rng = StdRng::seed_from_u64(seed);
    const STATEMENTS: &[&str] = &[
        "redis.call('set', KEYS[1], ARGV[1])",
        "redis.call('incrby', KEYS[2], ARGV[2])",
        "redis.pcall('incr', KEYS[1])",
        "redis.call('rpush', KEYS[3], ARGV[1], ARGV[2])",
        "redis.call('lpop', KEYS[3])",
        "redis.call('hset', KEYS[4], ARGV[1], ARGV[2])",
        "redis.call('zadd', KEYS[5], ARGV[2], ARGV[1])",
        "redis.call('sadd', KEYS[6], ARGV[1])",
        "redis.call('del', KEYS[1])",
        "redis.call('pexpireat', KEYS[3], 4102444800000)",
        "redis.call('append', KEYS[1], 'x')",
        "local t = redis.call('lrange', KEYS[3], 0, -1) redis.call('set', 'n', #t)",
        "redis.setresp(3)",
        "local ok = pcall(redis.call, 'nosuch')",
        "redis.call('select', 1) redis.call('incr', 'other') redis.call('select', 0)",
    ];
    const RETURNS: &[&str] = &[
        "return redis.call('get', KEYS[1])",
        "return redis.call('get', KEYS[2])",
        "return redis.call('lrange', KEYS[3], 0, -1)",
        // Set and hash orders are the hash tables' own: sorted here.
        "local t = redis.call('hkeys', KEYS[4]) table.sort(t) return t",
        "return redis.call('zrange', KEYS[5], 0, -1, 'withscores')",
        "local t = redis.call('smembers', KEYS[6]) table.sort(t) return t",
        "return redis.call('pexpiretime', KEYS[3])",
        "return redis.call('exists', KEYS[1], KEYS[2], KEYS[3])",
        "return redis.pcall('incr', KEYS[4])",
        "return redis.call('incr', KEYS[4])",
        "return redis.call('type', KEYS[5])",
        "return {1, 2.9, 'x', false, {ok = 'fine'}}",
        "return {err = 'custom failure'}",
        "return redis.error_reply('with code')",
        "return tonumber(ARGV[2]) / 3",
        "return cjson.encode({a = ARGV[1]})",
        "return cmsgpack.unpack(cmsgpack.pack({1, 'two'}))",
        "return struct.unpack('>I2', struct.pack('>I2', tonumber(ARGV[2]) % 65536))",
        "return bit.band(tonumber(ARGV[2]), 255)",
        "error('raised')",
        "return nil",
        "return #KEYS",
        "return nosuchglobal",
        "return redis.sha1hex(ARGV[1])",
    ];
    let keys = ["k1", "k2", "k3", "k4", "k5", "k6"];
    let values = ["a", "7", "-3", "1.5", "x y", "99999999999"];
    let mut diffs = Vec::new();
    for round in 0..300 {
        let mut body = String::new();
        for _ in 0..rng.gen_range(0..4) {
            body.push_str(STATEMENTS[rng.gen_range(0..STATEMENTS.len())]);
            body.push('\n');
        }
        body.push_str(RETURNS[rng.gen_range(0..RETURNS.len())]);
        let mut ks: Vec<&str> = keys.to_vec();
        ks.rotate_left(rng.gen_range(0..keys.len()));
        let a1 = values[rng.gen_range(0..values.len())];
        let a2 = ["7", "-3", "12", "0", "255"][rng.gen_range(0..5)];
        let ro = rng.gen_bool(0.1);
        let name = if ro { "EVAL_RO" } else { "EVAL" };
        let mut rest: Vec<&str> = vec!["6"];
        rest.extend_from_slice(&ks);
        rest.extend_from_slice(&[a1, a2]);
        let a = eval(ours.port(), name, &body, &rest);
        let b = eval(reference.port(), name, &body, &rest);
        if a != b {
            diffs.push(format!(
                "round {round} {name} {body:?} {rest:?}\n  replikv: {}\n  redis:   {}",
                show_value(&a),
                show_value(&b)
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "seed {seed}: {} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    assert_same_data(&ours, &reference);
}
