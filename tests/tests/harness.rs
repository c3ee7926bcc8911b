//! Self-tests of the black-box harness, run against the reference
//! redis-server only (they must pass whatever state replikv is in).

use std::time::Duration;

use redis::Value;
use replikv_tests::{raw_query, redis_cli, resp_frame_len, wait_until, Server, ServerKind};

fn pid_alive(pid: u32) -> bool {
    // A zombie still has /proc/<pid>; look at its state.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn servers_get_distinct_ports_and_dirs_and_answer() {
    let a = Server::redis(&[]);
    let b = Server::redis(&[]);
    assert_ne!(a.port(), b.port());
    assert_ne!(a.dir(), b.dir());
    assert_eq!(a.addr(), format!("127.0.0.1:{}", a.port()));
    let mut con = a.client();
    assert_eq!(
        raw_query(&mut con, &["PING"]).unwrap(),
        Value::SimpleString("PONG".into())
    );
    assert_eq!(
        raw_query(&mut con, &["CONFIG", "GET", "dir"]).unwrap(),
        Value::Array(vec![
            Value::BulkString(b"dir".to_vec()),
            Value::BulkString(
                a.dir()
                    .canonicalize()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
                    .into_bytes()
            ),
        ])
    );
    assert!(
        a.log().contains("Ready to accept connections"),
        "{}",
        a.log()
    );
    assert!(a.is_running());
}

#[test]
fn later_args_override_defaults() {
    let s = Server::redis(&["--appendonly", "yes", "--maxmemory", "1mb"]);
    let mut con = s.client();
    let v = raw_query(&mut con, &["CONFIG", "GET", "appendonly"]).unwrap();
    assert_eq!(
        v,
        Value::Array(vec![
            Value::BulkString(b"appendonly".to_vec()),
            Value::BulkString(b"yes".to_vec())
        ])
    );
}

#[test]
fn stop_kill9_and_drop_end_the_process() {
    let s = Server::redis(&[]);
    let pid = s.pid();
    let status = s.stop().expect("exit status after stop");
    assert!(status.success(), "SHUTDOWN NOSAVE exit status {status}");
    assert!(!s.is_running());
    assert!(!pid_alive(pid));

    let s = Server::redis(&[]);
    let pid = s.pid();
    s.kill9();
    assert!(!s.is_running());
    assert!(!pid_alive(pid));

    let s = Server::redis(&[]);
    let pid = s.pid();
    let dir = s.dir().to_path_buf();
    drop(s);
    assert!(!pid_alive(pid), "Drop must kill the server");
    assert!(!dir.exists(), "Drop must remove the temp dir");
}

#[test]
fn restart_keeps_port_dir_and_data() {
    let mut s = Server::redis(&[]);
    let port = s.port();
    let mut con = s.client();
    raw_query(&mut con, &["SET", "persisted", "yes"]).unwrap();
    assert_eq!(raw_query(&mut con, &["SAVE"]).unwrap(), Value::Okay);
    s.restart();
    assert_eq!(s.port(), port);
    let mut con = s.client();
    assert_eq!(
        raw_query(&mut con, &["GET", "persisted"]).unwrap(),
        Value::BulkString(b"yes".to_vec())
    );
    // After a kill -9, restart works too.
    s.kill9();
    s.restart();
    assert!(s.is_running());
}

#[test]
fn start_with_config_file() {
    let s = Server::start_with_config(ServerKind::Redis, "maxmemory 2mb\nhz 20\n");
    assert!(s.dir().join(replikv_tests::CONFIG_FILE).is_file());
    let mut con = s.client();
    let v = raw_query(&mut con, &["CONFIG", "GET", "hz"]).unwrap();
    assert_eq!(
        v,
        Value::Array(vec![
            Value::BulkString(b"hz".to_vec()),
            Value::BulkString(b"20".to_vec())
        ])
    );
}

#[test]
fn expect_startup_failure_reports_status_and_log() {
    let (status, log) =
        Server::expect_startup_failure(ServerKind::Redis, Some("no-such-directive 1\n"), &[]);
    assert!(!status.success());
    assert!(log.contains("no-such-directive"), "{log}");
}

#[test]
fn wait_until_polls_until_true_or_timeout() {
    let mut n = 0;
    assert!(wait_until(Duration::from_secs(5), || {
        n += 1;
        n >= 3
    }));
    assert!(!wait_until(Duration::from_millis(50), || false));
}

#[test]
fn raw_conn_and_frames() {
    let s = Server::redis(&[]);
    let mut c = s.raw();
    assert_eq!(c.command(&[b"SET", b"k", b"a\r\nb"]), b"+OK\r\n");
    c.send(b"GET k\r\nMGET k nokey\r\n");
    assert_eq!(c.read_reply(), b"$4\r\na\r\nb\r\n");
    assert_eq!(c.read_reply(), b"*2\r\n$4\r\na\r\nb\r\n$-1\r\n");
    assert_eq!(
        c.command(&[b"GETRANGE", b"k"]),
        b"-ERR wrong number of arguments for 'getrange' command\r\n"
    );
    c.send_command(&[b"INCR", b"counter"]);
    assert_eq!(c.read_value(), Value::Int(1));
    c.send(b"*1\r\n$4\r\nQUIT\r\n");
    assert_eq!(c.read_until_close_or(Duration::from_secs(10)), b"+OK\r\n");
    assert!(c.is_closed());

    assert_eq!(resp_frame_len(b"+OK\r\n+x"), Some(5));
    assert_eq!(resp_frame_len(b"$3\r\nab"), None);
    assert_eq!(resp_frame_len(b"*2\r\n:1\r\n$-1\r\nextra"), Some(13));
    assert_eq!(resp_frame_len(b"%1\r\n+a\r\n:1\r\n"), Some(12));
    assert_eq!(resp_frame_len(b"*1\r\n"), None);
}

#[test]
fn redis_cli_helper_runs_the_real_binary() {
    let s = Server::redis(&[]);
    let out = redis_cli(s.port(), &["ping"]);
    assert!(out.status.success());
    assert_eq!(out.stdout, b"PONG\n");
}

#[tokio::test]
async fn async_client_works() {
    let s = Server::redis(&[]);
    let mut con = s.async_client().await;
    let () = redis::cmd("SET")
        .arg("a")
        .arg(1)
        .query_async(&mut con)
        .await
        .unwrap();
    let v: i64 = redis::cmd("INCR")
        .arg("a")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(v, 2);
}

#[test]
fn replikv_bin_honours_env_override() {
    // Only checks the resolution logic; does not start anything.
    if std::env::var_os(replikv_tests::SERVER_BIN_ENV).is_some() {
        assert!(replikv_tests::replikv_bin().is_file());
    }
    assert!(replikv_tests::redis_server_bin().is_file());
}
