//! Raw-socket protocol tests: malformed input must get exactly the reply the
//! reference redis-server sends for the same bytes, the offending connection
//! must then be closed, and another client connected at the same time must
//! be undisturbed. Inline commands must work like in redis-server.
//!
//! Every test starts its own replikv and reference redis-server, sends the
//! same bytes to both and compares the raw replies byte for byte.

use std::time::Duration;

use replikv_tests::{raw_query, RawConn, Server};

/// How long to wait for the server to close a connection after a protocol
/// error (generous; the reference closes at once).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() > 300 {
        format!("{:?}...({} bytes)", &text[..300], bytes.len())
    } else {
        format!("{text:?}")
    }
}

/// Sends `bytes` on a fresh connection and reads until the server closes
/// it. Returns (everything received, whether it was closed).
fn send_and_read_to_close(port: u16, bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut conn = RawConn::connect(port);
    // The server may close before it has read everything (e.g. a huge
    // inline request): a failed write is fine, the reply is what matters.
    let _ = conn.try_send(bytes);
    let received = conn.read_until_close_or(CLOSE_TIMEOUT);
    (received, conn.is_closed())
}

/// The malformed-input check: identical reply, connection closed, a
/// bystander connection (opened before, used after) still works.
fn check_protocol_error(bytes: &[u8]) {
    let reference = Server::redis(&[]);
    let (expected, ref_closed) = send_and_read_to_close(reference.port(), bytes);
    assert!(
        ref_closed,
        "harness bug: the reference server did not close the connection after {} \
         (got {})",
        show(bytes),
        show(&expected)
    );
    assert!(
        expected.starts_with(b"-ERR Protocol error"),
        "harness bug: unexpected reference reply {}",
        show(&expected)
    );

    let subject = Server::replikv(&[]);
    let mut bystander = subject.client();
    let set = raw_query(&mut bystander, &["SET", "bystander", "still here"])
        .unwrap_or_else(|e| panic!("SET on the bystander connection failed: {e}"));
    assert_eq!(set, redis::Value::Okay, "SET on the bystander connection");

    let (got, closed) = send_and_read_to_close(subject.port(), bytes);
    assert_eq!(
        show(&got),
        show(&expected),
        "reply to malformed input {} differs from redis-server's",
        show(bytes)
    );
    assert!(
        closed,
        "replikv did not close the connection within {CLOSE_TIMEOUT:?} after the protocol \
         error for {}",
        show(bytes)
    );

    assert!(subject.is_running(), "replikv exited after {}", show(bytes));
    let get = raw_query(&mut bystander, &["GET", "bystander"])
        .unwrap_or_else(|e| panic!("bystander connection broken by another client's error: {e}"));
    assert_eq!(
        get,
        redis::Value::BulkString(b"still here".to_vec()),
        "bystander GET"
    );
    let mut fresh = RawConn::connect(subject.port());
    assert_eq!(
        fresh.command(&[b"PING"]),
        b"+PONG\r\n",
        "a new connection after the protocol error"
    );
}

#[test]
fn bulk_length_not_a_number() {
    check_protocol_error(b"*1\r\n$x\r\n");
}

#[test]
fn expected_dollar_got_other_char() {
    check_protocol_error(b"*1\r\nx\r\n");
}

#[test]
fn expected_dollar_got_integer_type() {
    check_protocol_error(b"*1\r\n:1\r\n");
}

#[test]
fn multibulk_length_not_a_number() {
    check_protocol_error(b"*abc\r\n");
}

#[test]
fn multibulk_length_empty() {
    check_protocol_error(b"*\r\n");
}

#[test]
fn multibulk_length_trailing_space() {
    check_protocol_error(b"*1 \r\n$4\r\nPING\r\n");
}

#[test]
fn multibulk_length_too_big() {
    check_protocol_error(b"*2147483648\r\n");
}

#[test]
fn negative_bulk_length() {
    check_protocol_error(b"*1\r\n$-5\r\n");
}

#[test]
fn empty_bulk_length() {
    check_protocol_error(b"*1\r\n$\r\n");
}

#[test]
fn huge_bulk_length() {
    check_protocol_error(b"*1\r\n$9999999999\r\n");
}

#[test]
fn bulk_length_over_proto_max_bulk_len() {
    // proto-max-bulk-len defaults to 512MB.
    check_protocol_error(b"*1\r\n$536870913\r\n");
}

#[test]
fn unbalanced_double_quotes_inline() {
    check_protocol_error(b"set \"a b\r\n");
}

#[test]
fn unbalanced_single_quotes_inline() {
    check_protocol_error(b"set a 'b\r\n");
}

#[test]
fn closing_quote_not_followed_by_space_inline() {
    check_protocol_error(b"set \"a\"b c\r\n");
}

#[test]
fn inline_request_too_big() {
    // Over 64KB without a newline.
    check_protocol_error(&vec![b'a'; 70_000]);
}

#[test]
fn protocol_error_after_valid_command_in_same_packet() {
    // The PING is answered, then the error, then the connection closes.
    let bytes = b"*1\r\n$4\r\nPING\r\n*abc\r\n";
    let reference = Server::redis(&[]);
    let (expected, ref_closed) = send_and_read_to_close(reference.port(), bytes);
    assert!(ref_closed, "harness bug: reference did not close");
    let subject = Server::replikv(&[]);
    let (got, closed) = send_and_read_to_close(subject.port(), bytes);
    assert_eq!(show(&got), show(&expected));
    assert!(closed, "replikv did not close the connection");
}

/// Sends `bytes` to both servers on fresh connections, reads `replies`
/// replies from each, checks they are identical and that the connection is
/// still usable afterwards.
fn check_working_input(bytes: &[u8], replies: usize) {
    let reference = Server::redis(&[]);
    let subject = Server::replikv(&[]);
    let mut results = Vec::new();
    for server in [&reference, &subject] {
        let mut conn = RawConn::connect(server.port());
        conn.send(bytes);
        let got: Vec<String> = (0..replies).map(|_| show(&conn.read_reply())).collect();
        // Nothing more may arrive, and the connection must still work.
        assert_eq!(
            show(&conn.command(&[b"PING"])),
            show(b"+PONG\r\n"),
            "{} connection unusable after {}",
            server.kind().name(),
            show(bytes)
        );
        assert!(!conn.is_closed());
        results.push(got);
    }
    assert_eq!(
        results[1],
        results[0],
        "replies to {} (left: replikv, right: redis-server)",
        show(bytes)
    );
}

#[test]
fn inline_ping() {
    check_working_input(b"PING\r\n", 1);
}

#[test]
fn inline_lowercase_with_spaces() {
    check_working_input(b"  ping   \r\n", 1);
}

#[test]
fn inline_set_with_quoted_value_then_get_with_bare_newline() {
    check_working_input(b"set a \"b c\"\r\nget a\n", 2);
}

#[test]
fn inline_quoted_escapes() {
    check_working_input(
        b"set q \"\\x41\\n\\t\\\"\"\r\nget q\r\necho \"\\xzz\"\r\n",
        3,
    );
}

#[test]
fn inline_single_quotes() {
    check_working_input(b"set a 'x \\' y'\r\nget a\r\n", 2);
}

#[test]
fn inline_several_commands_in_one_packet() {
    check_working_input(b"set x 1\r\nincr x\r\nincrby x 10\r\nget x\r\n", 4);
}

#[test]
fn inline_unknown_command_and_arity_error() {
    check_working_input(b"foo bar\r\nget\r\n", 2);
}

#[test]
fn empty_lines_and_empty_multibulk_are_ignored() {
    check_working_input(b"\r\n\r\n*0\r\n*-1\r\nPING\r\n", 1);
}

#[test]
fn pipelined_resp_commands() {
    let mut bytes = Vec::new();
    for cmd in [
        &[&b"SET"[..], b"k", b"v"][..],
        &[b"GET", b"k"],
        &[b"APPEND", b"k", b"\r\n\x00"],
        &[b"GET", b"k"],
        &[b"DEL", b"k"],
    ] {
        bytes.extend(replikv_tests::encode_command(cmd));
    }
    check_working_input(&bytes, 5);
}

#[test]
fn command_split_across_writes() {
    // A command arriving byte by byte must be assembled correctly.
    let reference = Server::redis(&[]);
    let subject = Server::replikv(&[]);
    let cmd = replikv_tests::encode_command(&[b"ECHO", b"split across writes"]);
    let mut results = Vec::new();
    for server in [&reference, &subject] {
        let mut conn = RawConn::connect(server.port());
        for chunk in cmd.chunks(3) {
            conn.send(chunk);
            std::thread::sleep(Duration::from_millis(1));
        }
        results.push(show(&conn.read_reply()));
    }
    assert_eq!(results[1], results[0]);
}
