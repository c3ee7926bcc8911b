//! Differential tests for transactions (MULTI / EXEC / DISCARD / WATCH /
//! UNWATCH) and pub/sub (SUBSCRIBE / PSUBSCRIBE / UNSUBSCRIBE /
//! PUNSUBSCRIBE / PUBLISH / PUBSUB), in RESP2 and RESP3.
//!
//! Every test starts one replikv and one reference redis-server and drives
//! both through the same numbered connections ([`Duo`]): each step sends the
//! same command on connection `c` of both servers and compares the *raw
//! bytes* of the replies (so a RESP3 push `>3` versus an array `*3`, or a
//! RESP2 null array `*-1` versus a null bulk `$-1`, counts as a difference).
//! All mismatches of a test are collected and reported together, with the
//! last steps leading to each of them.
//!
//! Nothing asserts on timing: where something has to happen "later" (a key
//! expiring, a disconnected subscriber being forgotten) the test waits for
//! the eventual state on each server separately, with generous timeouts,
//! and then compares.

use std::collections::VecDeque;
use std::time::Duration;

use replikv_tests::{RawConn, Server};

/// How long to wait for one reply (generous; the reference answers at once).
const REPLY_WAIT: Duration = Duration::from_secs(5);

/// How long to wait for an eventual state (expiry, disconnect noticed).
const EVENTUAL: Duration = Duration::from_secs(10);

/// Shows raw RESP bytes readably (`\r\n` kept visible).
fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() > 400 {
        format!("{:?}...({} bytes)", &text[..400], bytes.len())
    } else {
        format!("{text:?}")
    }
}

fn show_args(args: &[&str]) -> String {
    args.iter()
        .map(|a| {
            if a.is_empty() || a.contains(' ') {
                format!("{a:?}")
            } else {
                (*a).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn encode(args: &[&str]) -> Vec<u8> {
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    replikv_tests::encode_command(&bytes)
}

/// Reads one reply, or a description of why there is none.
fn read_one(conn: &mut RawConn) -> Vec<u8> {
    match conn.try_read_reply(REPLY_WAIT) {
        Some(reply) => reply,
        None => format!(
            "<no complete reply within {REPLY_WAIT:?}; connection closed: {}>",
            conn.is_closed()
        )
        .into_bytes(),
    }
}

/// Sends one command and reads one reply on a connection of its own (used
/// for polling eventual states).
fn one_shot(port: u16, args: &[&str]) -> Vec<u8> {
    let mut conn = RawConn::connect(port);
    conn.send(&encode(args));
    read_one(&mut conn)
}

/// Parses a RESP2 array of bulk strings into its elements (for order-free
/// comparisons); `None` if it is not one.
fn bulk_array_items(raw: &[u8]) -> Option<Vec<Vec<u8>>> {
    match redis::parse_redis_value(raw).ok()? {
        redis::Value::Array(items) | redis::Value::Set(items) => items
            .into_iter()
            .map(|v| match v {
                redis::Value::BulkString(b) => Some(b),
                redis::Value::SimpleString(s) => Some(s.into_bytes()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// A replikv and a reference redis-server driven in lock step through
/// numbered pairs of raw connections.
struct Duo {
    subject: Server,
    reference: Server,
    conns: Vec<(RawConn, RawConn)>,
    step: usize,
    history: VecDeque<String>,
    mismatches: Vec<String>,
}

impl Duo {
    fn new() -> Duo {
        Duo {
            subject: Server::replikv(&[]),
            reference: Server::redis(&[]),
            conns: Vec::new(),
            step: 0,
            history: VecDeque::new(),
            mismatches: Vec::new(),
        }
    }

    /// Opens a new pair of connections and returns its number.
    fn open(&mut self) -> usize {
        self.conns.push((self.subject.raw(), self.reference.raw()));
        self.conns.len() - 1
    }

    fn record(&mut self, what: String, got: &[u8], expected: &[u8], same: bool) {
        self.step += 1;
        let line = format!("  step {}: {what} -> {}", self.step, show(expected));
        self.history.push_back(line);
        if self.history.len() > 12 {
            self.history.pop_front();
        }
        if !same {
            self.mismatches.push(format!(
                "step {}: {what}\n    replikv:      {}\n    redis-server: {}\n  leading steps (reference replies):\n{}",
                self.step,
                show(got),
                show(expected),
                self.history.iter().cloned().collect::<Vec<_>>().join("\n")
            ));
        }
    }

    /// Sends `args` on connection `c` of both servers without reading.
    fn send(&mut self, c: usize, args: &[&str]) {
        let bytes = encode(args);
        let (s, r) = &mut self.conns[c];
        let _ = s.try_send(&bytes);
        let _ = r.try_send(&bytes);
    }

    /// Reads one frame on connection `c` of both and compares raw bytes.
    fn read(&mut self, c: usize, what: &str) -> (Vec<u8>, Vec<u8>) {
        let (s, r) = &mut self.conns[c];
        let got = read_one(s);
        let expected = read_one(r);
        let same = got == expected;
        self.record(format!("[conn {c}] {what}"), &got, &expected, same);
        (got, expected)
    }

    /// Reads `n` frames on connection `c` of both and compares them as
    /// multisets: for deliveries whose order Redis does not define (a
    /// client matching a message with several patterns gets one pmessage
    /// per pattern in the order of the server's pattern hash table).
    fn read_unordered(&mut self, c: usize, n: usize, what: &str) {
        let (s, r) = &mut self.conns[c];
        let mut got: Vec<Vec<u8>> = (0..n).map(|_| read_one(s)).collect();
        let mut expected: Vec<Vec<u8>> = (0..n).map(|_| read_one(r)).collect();
        got.sort();
        expected.sort();
        let same = got == expected;
        self.record(
            format!("[conn {c}] {what} ({n} frames, order-free)"),
            &got.concat(),
            &expected.concat(),
            same,
        );
    }

    /// Sends `args` on connection `c` and compares the one reply.
    fn cmd(&mut self, c: usize, args: &[&str]) -> (Vec<u8>, Vec<u8>) {
        self.send(c, args);
        self.read(c, &show_args(args))
    }

    /// Sends `args` on connection `c` and compares `n` frames (e.g. one
    /// confirmation per channel of a SUBSCRIBE).
    fn cmd_n(&mut self, c: usize, args: &[&str], n: usize) {
        self.send(c, args);
        for i in 0..n {
            self.read(c, &format!("{} (frame {}/{n})", show_args(args), i + 1));
        }
    }

    /// Sends `args` and compares the reply as an unordered array of
    /// strings (PUBSUB CHANNELS).
    fn cmd_unordered(&mut self, c: usize, args: &[&str]) {
        self.send(c, args);
        let (s, r) = &mut self.conns[c];
        let got = read_one(s);
        let expected = read_one(r);
        let sorted = |raw: &[u8]| {
            bulk_array_items(raw).map(|mut items| {
                items.sort();
                items
            })
        };
        let same = match (sorted(&got), sorted(&expected)) {
            (Some(a), Some(b)) => a == b,
            _ => got == expected,
        };
        self.record(
            format!("[conn {c}] {} (order-free)", show_args(args)),
            &got,
            &expected,
            same,
        );
    }

    /// Sends `args` and only checks that both replies start with the same
    /// RESP type byte (for replies with server-specific content, e.g. HELLO).
    fn cmd_same_type(&mut self, c: usize, args: &[&str]) {
        self.send(c, args);
        let (s, r) = &mut self.conns[c];
        let got = read_one(s);
        let expected = read_one(r);
        let same = got.first() == expected.first() && !got.starts_with(b"<");
        self.record(
            format!("[conn {c}] {} (type only)", show_args(args)),
            &got,
            &expected,
            same,
        );
    }

    /// Reads on connection `c` of both until the server closes it and
    /// compares what was received and that both were closed.
    fn expect_closed(&mut self, c: usize) {
        let (s, r) = &mut self.conns[c];
        let got = s.read_until_close_or(EVENTUAL);
        let got_closed = s.is_closed();
        let expected = r.read_until_close_or(EVENTUAL);
        let expected_closed = r.is_closed();
        let mut got_shown = got.clone();
        got_shown.extend_from_slice(if got_closed { b"<closed>" } else { b"<open>" });
        let mut expected_shown = expected.clone();
        expected_shown.extend_from_slice(if expected_closed {
            b"<closed>"
        } else {
            b"<open>"
        });
        let same = got_shown == expected_shown;
        self.record(
            format!("[conn {c}] read until the server closes the connection"),
            &got_shown,
            &expected_shown,
            same,
        );
    }

    /// Drops connection `c` on both (the client goes away).
    fn close(&mut self, c: usize) {
        let (s, r) = &mut self.conns[c];
        s.shutdown_write();
        r.shutdown_write();
        // Replace with fresh, unused connections so indices stay valid.
        let fresh = (self.subject.raw(), self.reference.raw());
        let old = std::mem::replace(&mut self.conns[c], fresh);
        drop(old);
    }

    /// Waits (separately on each server) until `args` on a fresh connection
    /// answers `expected`; records a mismatch naming the server that never
    /// got there.
    /// Waits until each server counts `n` blocked clients.
    fn wait_blocked(&mut self, n: usize) {
        let want = format!("blocked_clients:{n}\r\n");
        for (name, port) in [
            ("replikv", self.subject.port()),
            ("redis-server", self.reference.port()),
        ] {
            let ok = replikv_tests::wait_until(EVENTUAL, || {
                String::from_utf8_lossy(&one_shot(port, &["INFO", "clients"])).contains(&want)
            });
            if !ok {
                self.mismatches
                    .push(format!("{name}: never had {n} blocked clients"));
            }
        }
    }

    fn wait_for(&mut self, args: &[&str], expected: &[u8]) {
        for (name, port) in [
            ("replikv", self.subject.port()),
            ("redis-server", self.reference.port()),
        ] {
            let mut last = Vec::new();
            let ok = replikv_tests::wait_until(EVENTUAL, || {
                last = one_shot(port, args);
                last == expected
            });
            if !ok {
                self.mismatches.push(format!(
                    "{name}: {} never answered {} within {EVENTUAL:?}; last reply {}",
                    show_args(args),
                    show(expected),
                    show(&last)
                ));
            }
        }
    }

    /// Fails the test listing every mismatch.
    fn finish(self) {
        assert!(
            self.mismatches.is_empty(),
            "{} mismatch(es) between replikv and redis-server:\n\n{}\n\n--- replikv log tail ---\n{}",
            self.mismatches.len(),
            self.mismatches.join("\n\n"),
            self.subject.log_tail()
        );
    }
}

// ---------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------

#[test]
fn multi_exec_basics_and_queued_errors() {
    let mut d = Duo::new();
    let c = d.open();
    // Empty transaction.
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["EXEC"]);
    // Normal transaction.
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["SET", "a", "1"]);
    d.cmd(c, &["INCR", "a"]);
    d.cmd(c, &["GET", "a"]);
    d.cmd(c, &["EXEC"]);
    // Unknown command queued -> EXECABORT, nothing executed.
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["SET", "a", "changed"]);
    d.cmd(c, &["NOSUCHCOMMAND", "x"]);
    d.cmd(c, &["EXEC"]);
    d.cmd(c, &["GET", "a"]);
    // Wrong arity queued -> EXECABORT.
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["SET", "a"]);
    d.cmd(c, &["INCR", "a"]);
    d.cmd(c, &["EXEC"]);
    d.cmd(c, &["GET", "a"]);
    // The transaction is over after EXECABORT.
    d.cmd(c, &["EXEC"]);
    // EXEC with a wrong number of arguments inside MULTI.
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["SET", "b", "1"]);
    d.cmd(c, &["EXEC", "extra"]);
    d.cmd(c, &["EXEC"]);
    d.cmd(c, &["GET", "b"]);
    // Runtime errors inside EXEC do not roll back.
    d.cmd(c, &["SET", "s", "text"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["SET", "x", "1"]);
    d.cmd(c, &["INCR", "s"]);
    d.cmd(c, &["SETRANGE", "s", "-1", "v"]);
    d.cmd(c, &["INCR", "x"]);
    d.cmd(c, &["EXEC"]);
    d.cmd(c, &["GET", "x"]);
    d.cmd(c, &["GET", "s"]);
    // Nested MULTI is an error but the transaction continues.
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["INCR", "x"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["INCR", "x"]);
    d.cmd(c, &["EXEC"]);
    d.cmd(c, &["GET", "x"]);
    // EXEC / DISCARD without MULTI.
    d.cmd(c, &["EXEC"]);
    d.cmd(c, &["DISCARD"]);
    // DISCARD drops the queue.
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["SET", "x", "discarded"]);
    d.cmd(c, &["DISCARD"]);
    d.cmd(c, &["GET", "x"]);
    // WATCH inside MULTI is refused; the transaction still executes.
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["WATCH", "x"]);
    d.cmd(c, &["INCR", "x"]);
    d.cmd(c, &["EXEC"]);
    // SELECT inside MULTI.
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["SELECT", "3"]);
    d.cmd(c, &["SET", "in3", "yes"]);
    d.cmd(c, &["EXEC"]);
    d.cmd(c, &["GET", "in3"]);
    d.cmd(c, &["SELECT", "0"]);
    d.cmd(c, &["GET", "in3"]);
    // WATCH / UNWATCH replies, WATCH with no key.
    d.cmd(c, &["WATCH"]);
    d.cmd(c, &["WATCH", "a", "b", "c"]);
    d.cmd(c, &["UNWATCH"]);
    d.cmd(c, &["UNWATCH"]);
    // MULTI with arguments.
    d.cmd(c, &["MULTI", "x"]);
    d.cmd(c, &["PING"]);
    d.finish();
}

#[test]
fn multi_exec_in_resp3() {
    let mut d = Duo::new();
    let c = d.open();
    let other = d.open();
    d.cmd_same_type(c, &["HELLO", "3"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["SET", "a", "1"]);
    d.cmd(c, &["GET", "a"]);
    d.cmd(c, &["GET", "missing"]);
    d.cmd(c, &["INCRBYFLOAT", "f", "1.5"]);
    d.cmd(c, &["CONFIG", "GET", "maxmemory"]);
    d.cmd(c, &["EXEC"]);
    // Aborted by WATCH: RESP3 null.
    d.cmd(c, &["WATCH", "a"]);
    d.cmd(other, &["SET", "a", "2"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["SET", "a", "3"]);
    d.cmd(c, &["EXEC"]);
    d.cmd(c, &["GET", "a"]);
    // EXECABORT in RESP3.
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["NOSUCHCOMMAND"]);
    d.cmd(c, &["EXEC"]);
    d.finish();
}

#[test]
fn watch_write_from_another_connection_aborts_exec() {
    let mut d = Duo::new();
    let c = d.open();
    let other = d.open();
    d.cmd(c, &["SET", "k", "1"]);

    // Another connection modifies the watched key -> null.
    d.cmd(c, &["WATCH", "k"]);
    d.cmd(other, &["SET", "k", "2"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["SET", "k", "from-tx"]);
    d.cmd(c, &["EXEC"]);
    d.cmd(c, &["GET", "k"]);

    // EXEC unwatched everything: the next transaction runs.
    d.cmd(other, &["SET", "k", "3"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["SET", "k", "from-tx"]);
    d.cmd(c, &["EXEC"]);
    d.cmd(c, &["GET", "k"]);

    // A write that does not change the value still touches the key.
    d.cmd(c, &["WATCH", "k"]);
    d.cmd(other, &["SET", "k", "from-tx"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["INCR", "counter"]);
    d.cmd(c, &["EXEC"]);

    // A write to another key does not.
    d.cmd(c, &["WATCH", "k"]);
    d.cmd(other, &["SET", "unrelated", "x"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["INCR", "counter"]);
    d.cmd(c, &["EXEC"]);

    // The same key name in another database does not.
    d.cmd(c, &["WATCH", "k"]);
    d.cmd(other, &["SELECT", "5"]);
    d.cmd(other, &["SET", "k", "db5"]);
    d.cmd(other, &["SELECT", "0"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["INCR", "counter"]);
    d.cmd(c, &["EXEC"]);

    // DEL, EXPIRE, RENAME (as source and as destination), APPEND from
    // another connection.
    for (setup, touch) in [
        (&["SET", "k", "v"][..], &["DEL", "k"][..]),
        (&["SET", "k", "v"][..], &["EXPIRE", "k", "100"][..]),
        (&["SET", "k", "v"][..], &["PEXPIRE", "k", "1"][..]),
        (&["SET", "k", "v"][..], &["RENAME", "k", "k2"][..]),
        (&["SET", "src", "v"][..], &["RENAME", "src", "k"][..]),
        (&["SET", "k", "v"][..], &["APPEND", "k", "more"][..]),
        (&["SET", "k", "v"][..], &["SETRANGE", "k", "0", "w"][..]),
        (&["SET", "k", "v"][..], &["GETDEL", "k"][..]),
        (&["SET", "k", "v"][..], &["PERSIST", "k"][..]),
        (&["SET", "k", "v", "EX", "100"][..], &["PERSIST", "k"][..]),
        (&["SET", "k", "v"][..], &["MOVE", "k", "3"][..]),
        (&["SET", "k", "v"][..], &["COPY", "k", "src"][..]),
        (&["SET", "src", "v"][..], &["COPY", "src", "k"][..]),
    ] {
        let label = format!("after {}", touch.join(" "));
        d.cmd(other, setup);
        d.cmd(c, &["WATCH", "k"]);
        d.cmd(other, touch);
        d.cmd(c, &["MULTI"]);
        d.cmd(c, &["ECHO", &label]);
        d.cmd(c, &["EXEC"]);
        // Clean up (FLUSHALL always answers +OK, whatever has expired).
        d.cmd(other, &["FLUSHALL"]);
    }

    // A failed write (not an integer) does not touch the key.
    d.cmd(other, &["SET", "k", "v"]);
    d.cmd(c, &["WATCH", "k"]);
    d.cmd(other, &["INCR", "k"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["INCR", "counter"]);
    d.cmd(c, &["EXEC"]);

    // Watching several keys: touching any one aborts.
    d.cmd(c, &["WATCH", "w1", "w2", "w3"]);
    d.cmd(other, &["SET", "w3", "x"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["INCR", "counter"]);
    d.cmd(c, &["EXEC"]);
    d.cmd(c, &["GET", "counter"]);
    d.finish();
}

/// WATCH follows exactly the keys each command changed, for every type:
/// the keys a DEL actually deleted (not the missing ones it named), the
/// destination of STORE and move commands, LTRIM even when it removes
/// nothing, no-op writes not at all, and the keys a flush or swap empties
/// only when they existed.
#[test]
fn watch_follows_the_keys_each_command_changed() {
    let mut d = Duo::new();
    let c = d.open();
    let other = d.open();
    let cases: &[(&[&[&str]], &[&str])] = &[
        (&[&["SET", "a", "1"]], &["DEL", "a", "k"]),
        (&[&["SET", "k", "1"]], &["DEL", "missing", "k"]),
        (&[&["RPUSH", "k", "x"]], &["LTRIM", "k", "0", "-1"]),
        (&[&["RPUSH", "k", "x", "y"]], &["LTRIM", "k", "5", "10"]),
        (&[&["SADD", "k", "m"]], &["SADD", "k", "m"]),
        (&[&["SADD", "k", "m"]], &["SREM", "k", "other"]),
        (
            &[&["HSET", "k", "f", "1"]],
            &["HINCRBYFLOAT", "k", "f", "0.5"],
        ),
        (&[&["HSET", "k", "f", "1"]], &["HDEL", "k", "nope"]),
        (
            &[&["RPUSH", "src", "x"]],
            &["LMOVE", "src", "k", "LEFT", "RIGHT"],
        ),
        (&[&["RPUSH", "k", "x"]], &["RPOPLPUSH", "k", "dst"]),
        (&[&["SADD", "src", "m"]], &["SMOVE", "src", "k", "m"]),
        (
            &[&["SADD", "s1", "a"], &["SADD", "s2", "b"]],
            &["SINTERSTORE", "k", "s1", "s2"],
        ),
        (
            &[&["SET", "k", "v"], &["SADD", "s1", "a"]],
            &["SINTERSTORE", "k", "s1", "nothing"],
        ),
        (
            &[&["SADD", "s1", "a"]],
            &["SUNIONSTORE", "other", "s1", "k"],
        ),
        (&[&["ZADD", "z", "1", "a"]], &["ZUNIONSTORE", "k", "1", "z"]),
        (&[&["ZADD", "k", "1", "a"]], &["ZPOPMIN", "k"]),
        (&[&["ZADD", "k", "1", "a"]], &["ZADD", "k", "1", "a"]),
        (
            &[&["ZADD", "k", "1", "a"]],
            &["ZREMRANGEBYSCORE", "k", "5", "6"],
        ),
        (&[&["SADD", "k", "a"]], &["SPOP", "k"]),
        (
            &[&["RPUSH", "k", "a"]],
            &["LMPOP", "2", "nothing", "k", "LEFT"],
        ),
        (&[&["SET", "k", "v"]], &["EXPIRE", "k", "-1"]),
        (&[&["SET", "k", "v"]], &["GETEX", "k", "PERSIST"]),
        (
            &[&["SET", "k", "v", "EX", "100"]],
            &["GETEX", "k", "PERSIST"],
        ),
        (&[&["SET", "k", "v"]], &["FLUSHDB"]),
        (&[&["SET", "a", "v"]], &["FLUSHDB"]),
        (&[&["SET", "a", "v"]], &["FLUSHALL"]),
        (&[&["SET", "k", "v"]], &["SWAPDB", "0", "1"]),
        (
            &[&["SELECT", "1"], &["SET", "k", "v"], &["SELECT", "0"]],
            &["SWAPDB", "0", "1"],
        ),
        (&[&["SET", "a", "v"]], &["SWAPDB", "0", "1"]),
        (&[&["SET", "k", "v"]], &["MOVE", "k", "1"]),
        (
            &[&["SELECT", "1"], &["SET", "k", "v"], &["SELECT", "0"]],
            &["COPY", "k", "k", "DB", "0"],
        ),
    ];
    for (setup, touch) in cases {
        let label = format!("after {}", touch.join(" "));
        for step in setup.iter() {
            d.cmd(other, step);
        }
        d.cmd(c, &["WATCH", "k"]);
        d.cmd(other, touch);
        exec_then_flush(&mut d, c, other, &label);
    }
    d.finish();
}

/// Runs a one-command transaction labelled `label` on `c` (its EXEC reply
/// says whether a watched key was touched), then empties the servers.
fn exec_then_flush(d: &mut Duo, c: usize, other: usize, label: &str) {
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["ECHO", label]);
    d.cmd(c, &["EXEC"]);
    d.cmd(other, &["FLUSHALL"]);
}

/// A client served after blocking changes keys as the command it stands
/// for would: the list it popped, and BLMOVE's destination.
#[test]
fn watch_sees_keys_changed_by_served_blocked_clients() {
    let mut d = Duo::new();
    let c = d.open();
    let blocked = d.open();
    let other = d.open();
    for (watched, block) in [
        ("k", &["BLPOP", "k", "0"][..]),
        ("dst", &["BLMOVE", "k", "dst", "LEFT", "LEFT", "0"][..]),
    ] {
        let label = format!("{watched} after {}", block.join(" "));
        d.send(blocked, block);
        d.wait_blocked(1);
        d.cmd(c, &["WATCH", watched]);
        d.cmd(other, &["RPUSH", "k", "a", "b"]);
        d.read(blocked, "served");
        exec_then_flush(&mut d, c, other, &label);
    }
    d.finish();
}

/// CLIENT PAUSE WRITE holds writes back (reads go on) until UNPAUSE; ALL
/// holds every command until it runs out; held requests then run.
#[test]
fn client_pause_holds_requests_until_unpause() {
    let mut d = Duo::new();
    let c = d.open();
    let writer = d.open();
    d.cmd(c, &["CLIENT", "PAUSE", "100000", "WRITE"]);
    d.send(writer, &["SET", "held", "1"]);
    d.cmd(c, &["GET", "held"]);
    d.cmd(c, &["CLIENT", "UNPAUSE"]);
    d.read(writer, "SET after UNPAUSE");
    d.cmd(c, &["GET", "held"]);
    // ALL holds everything, UNPAUSE included: the pause runs out.
    d.cmd(c, &["CLIENT", "PAUSE", "300", "ALL"]);
    d.send(writer, &["GET", "held"]);
    d.send(c, &["CLIENT", "UNPAUSE"]);
    d.read(writer, "GET after the pause");
    d.read(c, "UNPAUSE after the pause");
    d.finish();
}

#[test]
fn watch_own_write_and_unwatch_and_discard() {
    let mut d = Duo::new();
    let c = d.open();
    let other = d.open();
    // The watching client's own write before MULTI also aborts.
    d.cmd(c, &["WATCH", "k"]);
    d.cmd(c, &["SET", "k", "mine"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["INCR", "n"]);
    d.cmd(c, &["EXEC"]);
    // UNWATCH resets: a later write by another client no longer matters.
    d.cmd(c, &["WATCH", "k"]);
    d.cmd(c, &["UNWATCH"]);
    d.cmd(other, &["SET", "k", "other"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["INCR", "n"]);
    d.cmd(c, &["EXEC"]);
    // UNWATCH after the key was touched also clears the dirty state.
    d.cmd(c, &["WATCH", "k"]);
    d.cmd(other, &["SET", "k", "again"]);
    d.cmd(c, &["UNWATCH"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["INCR", "n"]);
    d.cmd(c, &["EXEC"]);
    // DISCARD unwatches too.
    d.cmd(c, &["WATCH", "k"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["DISCARD"]);
    d.cmd(other, &["SET", "k", "after-discard"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["INCR", "n"]);
    d.cmd(c, &["EXEC"]);
    // An aborted (EXECABORT) transaction unwatches too.
    d.cmd(c, &["WATCH", "k"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["NOSUCHCOMMAND"]);
    d.cmd(c, &["EXEC"]);
    d.cmd(other, &["SET", "k", "after-abort"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["INCR", "n"]);
    d.cmd(c, &["EXEC"]);
    d.cmd(c, &["GET", "n"]);
    d.finish();
}

#[test]
fn watch_missing_key_then_created_by_another_client() {
    let mut d = Duo::new();
    let c = d.open();
    let other = d.open();
    d.cmd(c, &["WATCH", "fresh"]);
    d.cmd(other, &["SET", "fresh", "now-exists"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["SET", "fresh", "tx"]);
    d.cmd(c, &["EXEC"]);
    d.cmd(c, &["GET", "fresh"]);
    // Watching a missing key that stays missing: EXEC runs.
    d.cmd(c, &["WATCH", "never"]);
    d.cmd(other, &["SET", "something-else", "1"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["GET", "never"]);
    d.cmd(c, &["EXEC"]);
    // Deleting a missing watched key (no-op DEL) does not abort.
    d.cmd(c, &["WATCH", "never"]);
    d.cmd(other, &["DEL", "never"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["GET", "never"]);
    d.cmd(c, &["EXEC"]);
    d.finish();
}

#[test]
fn watch_then_flushall_flushdb_swapdb_from_another_client() {
    let mut d = Duo::new();
    let c = d.open();
    let other = d.open();
    type Steps<'a> = &'a [&'a [&'a str]];
    // (label, setup on `other` in db 0, commands on `other` after `c`
    // watched key `k` in db 0)
    let scenarios: &[(&str, Steps, Steps)] = &[
        (
            "flushall, key exists",
            &[&["SET", "k", "v"]],
            &[&["FLUSHALL"]],
        ),
        (
            "flushall, key missing",
            &[&["SET", "z", "v"]],
            &[&["FLUSHALL"]],
        ),
        (
            "flushall async",
            &[&["SET", "k", "v"]],
            &[&["FLUSHALL", "ASYNC"]],
        ),
        (
            "flushdb, key exists",
            &[&["SET", "k", "v"]],
            &[&["FLUSHDB"]],
        ),
        (
            "flushdb, key missing",
            &[&["SET", "z", "v"]],
            &[&["FLUSHDB"]],
        ),
        (
            "flushdb of another db",
            &[&["SET", "k", "v"]],
            &[&["SELECT", "7"], &["FLUSHDB"], &["SELECT", "0"]],
        ),
        (
            "swapdb, key only in db 0",
            &[&["SET", "k", "v"]],
            &[&["SWAPDB", "0", "1"]],
        ),
        (
            "swapdb, key only in db 1",
            &[&["SELECT", "1"], &["SET", "k", "v1"], &["SELECT", "0"]],
            &[&["SWAPDB", "0", "1"]],
        ),
        (
            "swapdb, key in neither",
            &[&["SET", "z", "v"]],
            &[&["SWAPDB", "0", "1"]],
        ),
        (
            "swapdb of two other dbs",
            &[&["SET", "k", "v"]],
            &[&["SWAPDB", "2", "3"]],
        ),
    ];
    for (label, setup, action) in scenarios {
        d.cmd(other, &["FLUSHALL"]);
        for step in setup.iter() {
            d.cmd(other, step);
        }
        d.cmd(c, &["WATCH", "k"]);
        for step in action.iter() {
            d.cmd(other, step);
        }
        d.cmd(c, &["MULTI"]);
        d.cmd(c, &["PING", label]);
        d.cmd(c, &["EXEC"]);
    }
    d.finish();
}

#[test]
fn watched_key_that_expires_aborts_exec() {
    let mut d = Duo::new();
    let c = d.open();
    let other = d.open();

    // Case 1: another client gives the watched key a 1 ms TTL.
    d.cmd(c, &["SET", "k", "v"]);
    d.cmd(c, &["WATCH", "k"]);
    d.cmd(other, &["PEXPIRE", "k", "1"]);
    d.wait_for(&["EXISTS", "k"], b":0\r\n");
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["PING"]);
    d.cmd(c, &["EXEC"]);

    // Case 2: the key already had a TTL when watched and expires by itself
    // (nobody writes it). A second key set just after it with the same TTL
    // tells us, without touching `k`, when `k` has surely expired.
    d.cmd(c, &["SET", "k", "v", "PX", "1000"]);
    d.cmd(c, &["WATCH", "k"]);
    d.cmd(other, &["SET", "marker", "v", "PX", "1000"]);
    d.wait_for(&["EXISTS", "marker"], b":0\r\n");
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["PING"]);
    d.cmd(c, &["EXEC"]);
    d.cmd(c, &["EXISTS", "k"]);

    // Case 3: the key was already expired-but-not-deleted when watched:
    // nothing changes afterwards, EXEC runs.
    d.cmd(c, &["SET", "gone", "v", "PX", "1"]);
    d.cmd(other, &["SET", "marker2", "v", "PX", "1"]);
    d.wait_for(&["EXISTS", "marker2"], b":0\r\n");
    d.cmd(c, &["WATCH", "gone"]);
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["PING"]);
    d.cmd(c, &["EXEC"]);
    d.finish();
}

#[test]
fn quit_inside_multi_discards_the_transaction() {
    let mut d = Duo::new();
    let c = d.open();
    let other = d.open();
    d.cmd(c, &["MULTI"]);
    d.cmd(c, &["SET", "q", "queued"]);
    d.send(c, &["QUIT"]);
    d.expect_closed(c);
    d.cmd(other, &["GET", "q"]);
    d.cmd(other, &["EXISTS", "q"]);
    d.finish();
}

#[test]
fn watch_is_per_connection() {
    let mut d = Duo::new();
    let a = d.open();
    let b = d.open();
    let writer = d.open();
    d.cmd(a, &["WATCH", "k"]);
    d.cmd(b, &["WATCH", "k"]);
    // `a` commits first: that write aborts `b`.
    d.cmd(a, &["MULTI"]);
    d.cmd(a, &["SET", "k", "from-a"]);
    d.cmd(b, &["MULTI"]);
    d.cmd(b, &["SET", "k", "from-b"]);
    d.cmd(a, &["EXEC"]);
    d.cmd(b, &["EXEC"]);
    d.cmd(writer, &["GET", "k"]);
    // A closed connection's watches vanish without affecting others.
    d.cmd(a, &["WATCH", "k"]);
    d.close(a);
    d.cmd(b, &["WATCH", "k"]);
    d.cmd(b, &["MULTI"]);
    d.cmd(b, &["SET", "k", "from-b-2"]);
    d.cmd(b, &["EXEC"]);
    d.cmd(writer, &["GET", "k"]);
    d.finish();
}

// ---------------------------------------------------------------------------
// Pub/sub
// ---------------------------------------------------------------------------

#[test]
fn subscribe_confirmations_and_messages_resp2() {
    let mut d = Duo::new();
    let sub = d.open();
    let psub = d.open();
    let both = d.open();
    let publisher = d.open();

    d.cmd_n(sub, &["SUBSCRIBE", "news", "sport", "news"], 3);
    d.cmd_n(psub, &["PSUBSCRIBE", "n*", "s?ort", "n*"], 3);
    d.cmd_n(both, &["SUBSCRIBE", "news"], 1);
    d.cmd_n(both, &["PSUBSCRIBE", "ne*s", "*"], 2);

    // news: sub(1) + psub n*(1) + both news(1) + both ne*s(1) + both *(1)
    d.cmd(publisher, &["PUBLISH", "news", "hello"]);
    d.read(sub, "message frame");
    d.read(psub, "pmessage frame");
    // Channel subscribers first, then pattern subscribers (in an order
    // Redis leaves to its hash table).
    d.read(both, "message frame");
    d.read_unordered(both, 2, "pmessage frames");
    // sport: sub + psub s?ort + both *
    d.cmd(publisher, &["PUBLISH", "sport", "goal"]);
    d.read(sub, "message frame");
    d.read(psub, "pmessage frame");
    d.read(both, "pmessage frame");
    // nobody but `*`
    d.cmd(publisher, &["PUBLISH", "weather", ""]);
    d.read(both, "pmessage frame");
    // Binary-ish payload.
    d.cmd(publisher, &["PUBLISH", "sport", "line1\r\nline2\u{1}"]);
    d.read(sub, "message frame");
    d.read(psub, "pmessage frame");
    d.read(both, "pmessage frame");

    // Introspection from a normal connection.
    d.cmd_unordered(publisher, &["PUBSUB", "CHANNELS"]);
    d.cmd_unordered(publisher, &["PUBSUB", "CHANNELS", "n*"]);
    d.cmd_unordered(publisher, &["PUBSUB", "CHANNELS", "nothing*"]);
    d.cmd(publisher, &["PUBSUB", "NUMSUB"]);
    d.cmd(
        publisher,
        &["PUBSUB", "NUMSUB", "news", "sport", "weather", "news"],
    );
    d.cmd(publisher, &["PUBSUB", "NUMPAT"]);

    // Unsubscribing.
    d.cmd_n(sub, &["UNSUBSCRIBE", "sport", "not-subscribed"], 2);
    d.cmd(publisher, &["PUBLISH", "sport", "x"]);
    d.read(psub, "pmessage frame");
    d.read(both, "pmessage frame");
    d.cmd_n(psub, &["PUNSUBSCRIBE", "n*"], 1);
    d.cmd(publisher, &["PUBSUB", "NUMPAT"]);
    // UNSUBSCRIBE with no channel: one frame per remaining channel.
    d.cmd_n(sub, &["UNSUBSCRIBE"], 1);
    // ...and when none is left, one frame with a null channel.
    d.cmd_n(sub, &["UNSUBSCRIBE"], 1);
    d.cmd_n(sub, &["PUNSUBSCRIBE"], 1);
    // `sub` has left subscribed mode: normal commands work again.
    d.cmd(sub, &["SET", "k", "v"]);
    d.cmd(sub, &["GET", "k"]);
    d.cmd(sub, &["PING"]);
    // PUNSUBSCRIBE with no pattern on `psub` drops the remaining one.
    d.cmd_n(psub, &["PUNSUBSCRIBE"], 1);
    d.cmd(psub, &["PING"]);
    // `both` leaves channels but keeps patterns: still subscribed mode.
    d.cmd_n(both, &["UNSUBSCRIBE"], 1);
    d.cmd(both, &["GET", "k"]);
    d.cmd_n(both, &["PUNSUBSCRIBE"], 2);
    d.cmd(both, &["GET", "k"]);

    d.cmd(publisher, &["PUBLISH", "news", "nobody"]);
    d.cmd(publisher, &["PUBSUB", "NUMPAT"]);
    d.cmd_unordered(publisher, &["PUBSUB", "CHANNELS"]);
    d.finish();
}

#[test]
fn subscribed_mode_restrictions_resp2() {
    let mut d = Duo::new();
    let sub = d.open();
    d.cmd_n(sub, &["SUBSCRIBE", "ch"], 1);
    d.cmd(sub, &["GET", "k"]);
    d.cmd(sub, &["SET", "k", "v"]);
    d.cmd(sub, &["PUBLISH", "ch", "self"]);
    d.cmd(sub, &["MULTI"]);
    d.cmd(sub, &["PING"]);
    d.cmd(sub, &["PING", "payload"]);
    d.cmd(sub, &["ping"]);
    d.cmd(sub, &["PING", "a", "b"]);
    d.cmd_n(sub, &["PSUBSCRIBE", "c*"], 1);
    d.cmd(sub, &["PUBSUB", "NUMSUB", "ch"]);
    d.cmd(sub, &["SUBSCRIBE"]);
    d.cmd(sub, &["PSUBSCRIBE"]);
    d.cmd(sub, &["UNSUBSCRIBE", "ch"]);
    d.cmd(sub, &["GET", "k"]);
    d.cmd(sub, &["PUNSUBSCRIBE", "c*"]);
    d.cmd(sub, &["GET", "k"]);
    // QUIT in subscribed mode.
    d.cmd_n(sub, &["SUBSCRIBE", "ch"], 1);
    d.send(sub, &["QUIT"]);
    d.expect_closed(sub);
    d.finish();
}

#[test]
fn reset_leaves_subscribed_mode() {
    let mut d = Duo::new();
    let sub = d.open();
    let other = d.open();
    d.cmd_n(sub, &["SUBSCRIBE", "ch"], 1);
    d.cmd_n(sub, &["PSUBSCRIBE", "c*"], 1);
    d.cmd(sub, &["RESET"]);
    d.cmd(sub, &["GET", "k"]);
    d.cmd(other, &["PUBSUB", "NUMSUB", "ch"]);
    d.cmd(other, &["PUBSUB", "NUMPAT"]);
    d.cmd(other, &["PUBLISH", "ch", "nobody"]);
    // RESET also ends a transaction and drops watches.
    d.cmd(sub, &["WATCH", "k"]);
    d.cmd(sub, &["MULTI"]);
    d.cmd(sub, &["SET", "k", "queued"]);
    d.cmd(sub, &["RESET"]);
    d.cmd(sub, &["EXEC"]);
    d.cmd(other, &["SET", "k", "touched"]);
    d.cmd(sub, &["MULTI"]);
    d.cmd(sub, &["GET", "k"]);
    d.cmd(sub, &["EXEC"]);
    d.finish();
}

#[test]
fn pubsub_in_resp3() {
    let mut d = Duo::new();
    let sub = d.open();
    let publisher = d.open();
    d.cmd_same_type(sub, &["HELLO", "3"]);
    d.cmd_n(sub, &["SUBSCRIBE", "a", "b"], 2);
    d.cmd_n(sub, &["PSUBSCRIBE", "a*"], 1);
    // Normal commands are allowed in RESP3 subscribed mode.
    d.cmd(sub, &["SET", "k", "v"]);
    d.cmd(sub, &["GET", "k"]);
    d.cmd(sub, &["GET", "missing"]);
    d.cmd(sub, &["PING"]);
    d.cmd(sub, &["PING", "x"]);
    // Push messages.
    d.cmd(publisher, &["PUBLISH", "a", "m1"]);
    d.read(sub, "message push");
    d.read(sub, "pmessage push");
    d.cmd(publisher, &["PUBLISH", "b", "m2"]);
    d.read(sub, "message push");
    // Publishing to one's own channel: the push and the reply, in order.
    d.send(sub, &["PUBLISH", "b", "self"]);
    d.read(sub, "first frame after PUBLISH to own channel");
    d.read(sub, "second frame after PUBLISH to own channel");
    d.cmd(sub, &["PUBSUB", "NUMSUB", "a", "b"]);
    d.cmd_n(sub, &["UNSUBSCRIBE", "a"], 1);
    d.cmd_n(sub, &["UNSUBSCRIBE"], 1);
    d.cmd_n(sub, &["UNSUBSCRIBE"], 1);
    d.cmd_n(sub, &["PUNSUBSCRIBE"], 1);
    d.cmd_n(sub, &["PUNSUBSCRIBE"], 1);
    d.cmd(sub, &["PING"]);
    // Switching a subscribed connection back to RESP2 is refused.
    d.cmd_n(sub, &["SUBSCRIBE", "a"], 1);
    d.cmd_same_type(sub, &["HELLO", "2"]);
    d.cmd(publisher, &["PUBLISH", "a", "still"]);
    d.read(sub, "message after HELLO 2");
    d.finish();
}

#[test]
fn publish_counts_and_disconnected_subscriber() {
    let mut d = Duo::new();
    let s1 = d.open();
    let s2 = d.open();
    let p1 = d.open();
    let publisher = d.open();
    d.cmd_n(s1, &["SUBSCRIBE", "ch"], 1);
    d.cmd_n(s2, &["SUBSCRIBE", "ch", "other"], 2);
    d.cmd_n(p1, &["PSUBSCRIBE", "c*", "*h", "zzz"], 3);
    d.cmd(publisher, &["PUBLISH", "ch", "1"]);
    d.read(s1, "message");
    d.read(s2, "message");
    d.read_unordered(p1, 2, "pmessages for c* and *h");
    d.cmd(publisher, &["PUBSUB", "NUMSUB", "ch", "other", "zzz"]);
    d.cmd(publisher, &["PUBSUB", "NUMPAT"]);

    // s1 goes away without unsubscribing.
    d.close(s1);
    d.wait_for(&["PUBSUB", "NUMSUB", "ch"], b"*2\r\n$2\r\nch\r\n:1\r\n");
    d.cmd(publisher, &["PUBLISH", "ch", "2"]);
    d.read(s2, "message");
    d.read_unordered(p1, 2, "pmessages for c* and *h");
    // p1 goes away: its patterns are forgotten.
    d.close(p1);
    d.wait_for(&["PUBSUB", "NUMPAT"], b":0\r\n");
    d.cmd(publisher, &["PUBLISH", "ch", "3"]);
    d.read(s2, "message");
    d.close(s2);
    d.wait_for(&["PUBLISH", "ch", "4"], b":0\r\n");
    d.cmd(publisher, &["PUBSUB", "NUMSUB", "ch", "other"]);
    d.cmd_unordered(publisher, &["PUBSUB", "CHANNELS"]);
    d.finish();
}

#[test]
fn pubsub_command_errors() {
    let mut d = Duo::new();
    let c = d.open();
    d.cmd(c, &["PUBLISH", "ch"]);
    d.cmd(c, &["PUBLISH", "ch", "a", "b"]);
    d.cmd(c, &["PUBSUB"]);
    d.cmd(c, &["PUBSUB", "NOSUCH"]);
    d.cmd(c, &["PUBSUB", "NUMPAT", "extra"]);
    d.cmd(c, &["PUBSUB", "CHANNELS", "a", "b"]);
    d.cmd(c, &["SUBSCRIBE"]);
    d.cmd(c, &["PSUBSCRIBE"]);
    // (P)UNSUBSCRIBE outside subscribed mode still confirms.
    d.cmd(c, &["UNSUBSCRIBE"]);
    d.cmd(c, &["PUNSUBSCRIBE"]);
    d.cmd_n(c, &["UNSUBSCRIBE", "x", "y"], 2);
    d.cmd(c, &["PING"]);
    d.finish();
}
