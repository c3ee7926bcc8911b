//! The stock Redis tools (`redis-cli`, `redis-benchmark`, Debian package
//! `redis-tools`) must work against replikv exactly as against redis-server.

use std::process::{Command, Output};
use std::time::Duration;

use replikv_tests::{redis_benchmark_bin, redis_cli, run_with_timeout, Server};

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}, stdout {:?}, stderr {:?}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The same redis-cli invocations, in order, against both servers: exit
/// status, stdout and stderr must be identical.
const CLI_SESSION: &[&[&str]] = &[
    &["ping"],
    &["--no-raw", "ping"],
    &["set", "k", "v"],
    &["--no-raw", "set", "k", "v"],
    &["get", "k"],
    &["--no-raw", "get", "k"],
    &["--raw", "get", "k"],
    &["get", "nokey"],
    &["--no-raw", "get", "nokey"],
    &["incr", "n"],
    &["--no-raw", "incr", "n"],
    &["--no-raw", "mget", "k", "nokey", "n"],
    &["mget", "k", "nokey", "n"],
    &["--no-raw", "echo", "two words"],
    &["--no-raw", "echo", "line1\nline2"],
    &["--no-raw", "echo", ""],
    &["--no-raw", "set", "bin", "a\x01\"b\\"],
    &["--no-raw", "get", "bin"],
    &["foo"],
    &["--no-raw", "foo"],
    &["--no-raw", "foo", "bar", "baz"],
    &["--no-raw", "incr", "k"],
    &["incr", "k"],
    &["--no-raw", "set", "k"],
    &["--no-raw", "expire", "k", "10", "nx", "xx"],
    &["--no-raw", "exists", "k", "k", "nokey"],
    &["--no-raw", "type", "k"],
    &["--no-raw", "dbsize"],
    &["-n", "1", "set", "x", "in db 1"],
    &["-n", "1", "--no-raw", "get", "x"],
    &["--no-raw", "get", "x"],
    &["-n", "16", "get", "x"],
    &["--no-raw", "del", "k", "n", "nokey"],
    &["--no-raw", "keys", "*"],
    &["--no-raw", "flushall"],
    &["--no-raw", "dbsize"],
];

#[test]
fn redis_cli_output_matches_redis_server() {
    let reference = Server::redis(&[]);
    let subject = Server::replikv(&[]);
    let mut mismatches = Vec::new();
    for (step, args) in CLI_SESSION.iter().enumerate() {
        let expected = redis_cli(reference.port(), args);
        let got = redis_cli(subject.port(), args);
        if (got.status.code(), &got.stdout, &got.stderr)
            != (expected.status.code(), &expected.stdout, &expected.stderr)
        {
            mismatches.push(format!(
                "step {step}: redis-cli {args:?}\n    replikv:      {}\n    redis-server: {}",
                describe(&got),
                describe(&expected)
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} redis-cli invocations print differently:\n{}\n--- replikv log tail ---\n{}",
        mismatches.len(),
        CLI_SESSION.len(),
        mismatches.join("\n"),
        subject.log_tail()
    );
}

#[test]
fn redis_cli_basics() {
    let subject = Server::replikv(&[]);
    let port = subject.port();
    let stdout = |args: &[&str]| {
        let out = redis_cli(port, args);
        assert!(
            out.status.success(),
            "redis-cli {args:?} failed: {}",
            describe(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(stdout(&["ping"]), "PONG\n");
    assert_eq!(stdout(&["set", "k", "v"]), "OK\n");
    assert_eq!(stdout(&["get", "k"]), "v\n");
    assert_eq!(stdout(&["--no-raw", "get", "k"]), "\"v\"\n");
    assert_eq!(stdout(&["--no-raw", "get", "missing"]), "(nil)\n");
    assert_eq!(stdout(&["--no-raw", "incr", "counter"]), "(integer) 1\n");
    let err = redis_cli(port, &["--no-raw", "foo"]);
    let text = String::from_utf8_lossy(&err.stdout);
    assert!(
        text.starts_with("(error) ERR unknown command 'foo'"),
        "error reply printed as {}",
        describe(&err)
    );
}

/// Runs redis-benchmark and checks it exits 0 and every line of its quiet
/// output is a "requests per second" result line.
fn run_benchmark(server: &Server) {
    let mut cmd = Command::new(redis_benchmark_bin());
    cmd.args(["-p", &server.port().to_string()]).args([
        "-q",
        "-n",
        "20000",
        "-t",
        "ping,set,get,incr,mset",
    ]);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(300));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "redis-benchmark against {} failed: {}\n--- server log tail ---\n{}",
        server.kind().name(),
        describe(&out),
        server.log_tail()
    );
    // Progress updates are overwritten with '\r'; keep what remains visible.
    let lines: Vec<&str> = stdout
        .split('\n')
        .filter_map(|line| line.rsplit('\r').next())
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let bad: Vec<&&str> = lines
        .iter()
        .filter(|line| !line.contains("requests per second"))
        .collect();
    assert!(
        bad.is_empty(),
        "unexpected redis-benchmark output lines against {}: {bad:?}\nfull stdout: {stdout:?}",
        server.kind().name()
    );
    for test in [
        "PING_INLINE",
        "PING_MBULK",
        "SET",
        "GET",
        "INCR",
        "MSET (10 keys)",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("{test}: "))),
            "no result line for {test} in {lines:?}"
        );
    }
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.to_ascii_lowercase().contains("error"))
        .collect();
    assert!(
        errors.is_empty(),
        "redis-benchmark printed errors: {errors:?}"
    );
    if !stderr.trim().is_empty() {
        eprintln!(
            "redis-benchmark stderr against {}: {stderr}",
            server.kind().name()
        );
    }
}

#[test]
fn redis_benchmark_against_replikv() {
    let subject = Server::replikv(&[]);
    run_benchmark(&subject);
}

#[test]
fn redis_benchmark_against_reference() {
    let reference = Server::redis(&[]);
    run_benchmark(&reference);
}
