//! Request decoder behaviour, checked against what redis-server 7.0.15 does.
// Black-box tests drive files and sockets; only the library is sans-IO.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
// Test helpers outside #[test] fns may panic too: this whole crate is test code.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};
use resp_codec::{DecoderLimits, ProtocolError, RequestDecoder};

/// A decoded request as owned args plus its wire length.
type Req = (Vec<Vec<u8>>, usize);
/// Requests decoded, how decoding ended, and bytes left in the buffer.
type Outcome = (Vec<Req>, Result<(), ProtocolError>, usize);

/// Decodes everything in `input` fed at once; returns the requests and the
/// final outcome (None when the tail is incomplete).
fn decode_all(input: &[u8]) -> Outcome {
    decode_all_with(RequestDecoder::default(), input)
}

fn decode_all_with(mut dec: RequestDecoder, input: &[u8]) -> Outcome {
    let mut buf = BytesMut::from(input);
    let mut args = Vec::new();
    let mut out = Vec::new();
    loop {
        match dec.decode(&mut buf, &mut args) {
            Ok(Some(n)) => out.push((args.iter().map(|a| a.to_vec()).collect(), n)),
            Ok(None) => return (out, Ok(()), buf.len()),
            Err(e) => return (out, Err(e), buf.len()),
        }
    }
}

fn one(input: &[u8]) -> Result<Option<Req>, ProtocolError> {
    let mut dec = RequestDecoder::default();
    let mut buf = BytesMut::from(input);
    let mut args = vec![Bytes::from_static(b"stale")];
    let r = dec.decode(&mut buf, &mut args)?;
    Ok(r.map(|n| (args.iter().map(|a| a.to_vec()).collect(), n)))
}

fn err(input: &[u8]) -> String {
    let (_, res, _) = decode_all(input);
    match res {
        Err(e) => e.to_string(),
        Ok(()) => "incomplete".to_string(),
    }
}

fn strs(v: &[&str]) -> Vec<Vec<u8>> {
    v.iter().map(|s| s.as_bytes().to_vec()).collect()
}

#[test]
fn multibulk_basic_and_pipelined() {
    let input = b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n";
    let (reqs, res, left) = decode_all(input);
    assert_eq!(res, Ok(()));
    assert_eq!(left, 0);
    assert_eq!(
        reqs,
        vec![(strs(&["PING"]), 14), (strs(&["SET", "k", ""]), 26)]
    );
}

#[test]
fn args_are_cleared_and_zero_copy() {
    let mut dec = RequestDecoder::default();
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"[..]);
    let start = buf.as_ptr() as usize;
    let mut args = vec![Bytes::from_static(b"old"); 5];
    assert_eq!(dec.decode(&mut buf, &mut args), Ok(Some(20)));
    assert_eq!(args.len(), 2);
    // The arguments point into the original allocation: no copy was made.
    assert_eq!(args[0].as_ptr() as usize, start + 8);
    assert_eq!(args[1].as_ptr() as usize, start + 17);
    assert!(buf.is_empty());
    assert_eq!(dec.decode(&mut buf, &mut args), Ok(None));
    assert!(args.is_empty());
}

#[test]
fn empty_requests_are_returned_with_their_length() {
    assert_eq!(one(b"*0\r\n"), Ok(Some((vec![], 4))));
    assert_eq!(one(b"*-1\r\n"), Ok(Some((vec![], 5))));
    assert_eq!(one(b"*-5\r\nPING\r\n"), Ok(Some((vec![], 5))));
    assert_eq!(one(b"\r\n"), Ok(Some((vec![], 2))));
    assert_eq!(one(b"\n"), Ok(Some((vec![], 1))));
    assert_eq!(one(b" \t \r\n"), Ok(Some((vec![], 5))));
    let (reqs, res, _) = decode_all(b"\r\n\r\nPING\r\n");
    assert_eq!(res, Ok(()));
    assert_eq!(reqs, vec![(vec![], 2), (vec![], 2), (strs(&["PING"]), 6)]);
}

#[test]
fn multibulk_count_errors() {
    for bad in [
        &b"*+1\r\n"[..],
        b"*01\r\n",
        b"*-0\r\n",
        b"*\r\n",
        b"*1 \r\n",
        b"* 1\r\n",
        b"*1x\r\n",
        b"*2147483648\r\n",
        b"*99999999999\r\n",
        b"*99999999999999999999999\r\n",
    ] {
        assert_eq!(
            err(bad),
            "Protocol error: invalid multibulk length",
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // INT_MAX itself is accepted (and must not be preallocated).
    assert_eq!(one(b"*2147483647\r\n"), Ok(None));
}

#[test]
fn multibulk_count_limit_follows_limits() {
    let limits = DecoderLimits {
        max_multibulk_len: 3,
        ..DecoderLimits::default()
    };
    let (_, res, _) = decode_all_with(RequestDecoder::new(limits), b"*4\r\n");
    assert_eq!(res, Err(ProtocolError::InvalidMultibulkLength));
    let (_, res, _) = decode_all_with(RequestDecoder::new(limits), b"*3\r\n");
    assert_eq!(res, Ok(()));
}

#[test]
fn count_line_needs_both_terminator_bytes() {
    // Redis waits for the byte after '\r' but never checks it is '\n'.
    assert_eq!(one(b"*1\r"), Ok(None));
    assert_eq!(one(b"*1\rX$4\r\nPINGxx"), Ok(Some((strs(&["PING"]), 14))));
}

#[test]
fn bulk_header_errors() {
    assert_eq!(err(b"*1\r\nx\r\n"), "Protocol error: expected '$', got 'x'");
    // CR/LF in the message become spaces, as in Redis's reply.
    assert_eq!(err(b"*1\r\n\r\n"), "Protocol error: expected '$', got ' '");
    assert_eq!(
        err(b"*1\r\n\nab\r\n"),
        "Protocol error: expected '$', got ' '"
    );
    for bad in [
        &b"*1\r\n$-1\r\n"[..],
        b"*1\r\n$01\r\n",
        b"*1\r\n$\r\n",
        b"*1\r\n$-0\r\n",
        b"*1\r\n$ 4\r\n",
        b"*1\r\n$+4\r\n",
        b"*1\r\n$536870913\r\n",
        b"*1\r\n$16385x\r\n",
    ] {
        assert_eq!(
            err(bad),
            "Protocol error: invalid bulk length",
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    assert_eq!(one(b"*1\r\n$536870912\r\n"), Ok(None));
    assert_eq!(one(b"*1\r\n$4\r"), Ok(None));
}

#[test]
fn non_ascii_byte_in_expected_dollar() {
    let mut dec = RequestDecoder::default();
    let mut buf = BytesMut::from(&b"*1\r\n\xffab\r\n"[..]);
    let e = dec.decode(&mut buf, &mut Vec::new()).unwrap_err();
    assert_eq!(e, ProtocolError::ExpectedDollar(0xff));
    // Redis puts the raw byte on the wire.
    assert_eq!(
        e.message_bytes(),
        b"Protocol error: expected '$', got '\xff'"
    );
    let mut out = BytesMut::new();
    e.encode_reply(&mut out);
    assert_eq!(
        &out[..],
        b"-ERR Protocol error: expected '$', got '\xff'\r\n"
    );
}

#[test]
fn bulk_data_terminator_is_not_checked() {
    let (reqs, res, _) = decode_all(b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n");
    assert_eq!(res, Ok(()));
    assert_eq!(reqs, vec![(strs(&["PING"]), 14), (strs(&["PING"]), 14)]);
    // Binary data, including NUL and CRLF, passes untouched.
    assert_eq!(
        one(b"*1\r\n$4\r\n\0\r\n\xff\r\n"),
        Ok(Some((vec![b"\0\r\n\xff".to_vec()], 14)))
    );
    // Data plus its two trailing bytes must be present.
    assert_eq!(one(b"*1\r\n$4\r\nPING\r"), Ok(None));
}

#[test]
fn max_bulk_len_follows_limits() {
    let limits = DecoderLimits {
        max_bulk_len: 3,
        ..DecoderLimits::default()
    };
    let (_, res, _) = decode_all_with(RequestDecoder::new(limits), b"*1\r\n$4\r\n");
    assert_eq!(res, Err(ProtocolError::InvalidBulkLength));
    let (reqs, _, _) = decode_all_with(RequestDecoder::new(limits), b"*1\r\n$3\r\nabc\r\n");
    assert_eq!(reqs.len(), 1);
}

#[test]
fn unauthenticated_limits() {
    let unauth = || {
        let mut d = RequestDecoder::default();
        d.set_authenticated(false);
        d
    };
    let (_, res, _) = decode_all_with(unauth(), b"*11\r\n");
    assert_eq!(
        res.unwrap_err().to_string(),
        "Protocol error: unauthenticated multibulk length"
    );
    assert_eq!(decode_all_with(unauth(), b"*10\r\n").1, Ok(()));
    assert_eq!(decode_all_with(unauth(), b"*-20\r\n").0, vec![(vec![], 6)]);
    let (_, res, _) = decode_all_with(unauth(), b"*1\r\n$16385\r\n");
    assert_eq!(
        res.unwrap_err().to_string(),
        "Protocol error: unauthenticated bulk length"
    );
    assert_eq!(decode_all_with(unauth(), b"*1\r\n$16384\r\n").1, Ok(()));
    // The syntax check comes first.
    assert_eq!(
        decode_all_with(unauth(), b"*1\r\n$16385x\r\n").1,
        Err(ProtocolError::InvalidBulkLength)
    );
    assert_eq!(
        decode_all_with(unauth(), b"*99999999999\r\n").1,
        Err(ProtocolError::InvalidMultibulkLength)
    );
    // Authenticating lifts the limits.
    let mut d = unauth();
    d.set_authenticated(true);
    assert_eq!(decode_all_with(d, b"*11\r\n").1, Ok(()));
}

#[test]
fn too_big_lines_without_terminator() {
    let mut mbulk = vec![b'*'];
    mbulk.extend(std::iter::repeat_n(b'1', 65535));
    assert_eq!(err(&mbulk), "incomplete");
    mbulk.push(b'1');
    assert_eq!(err(&mbulk), "Protocol error: too big mbulk count string");

    // Measured from the start of the bulk header, not of the request.
    let mut hdr = b"*1\r\n$".to_vec();
    hdr.extend(std::iter::repeat_n(b'1', 65535));
    assert_eq!(err(&hdr), "incomplete");
    hdr.push(b'1');
    assert_eq!(err(&hdr), "Protocol error: too big bulk count string");

    let inline = vec![b'a'; 65536];
    assert_eq!(err(&inline), "incomplete");
    assert_eq!(
        err(&[b'a'; 65537]),
        "Protocol error: too big inline request"
    );

    // With the terminator present, the length is not limited (as in Redis).
    let mut long = b"ECHO ".to_vec();
    long.extend(std::iter::repeat_n(b'a', 70000));
    long.push(b'\n');
    let (reqs, res, _) = decode_all(&long);
    assert_eq!(res, Ok(()));
    assert_eq!(reqs[0].0[1].len(), 70000);
}

#[test]
fn small_inline_limit() {
    let limits = DecoderLimits {
        max_inline_len: 4,
        ..DecoderLimits::default()
    };
    let (_, res, _) = decode_all_with(RequestDecoder::new(limits), b"abcde");
    assert_eq!(res, Err(ProtocolError::TooBigInlineRequest));
    let (_, res, _) = decode_all_with(RequestDecoder::new(limits), b"abcd");
    assert_eq!(res, Ok(()));
}

#[test]
fn nul_hides_terminators_like_strchr() {
    assert_eq!(one(b"*1\0\r\n"), Ok(None));
    assert_eq!(one(b"PING\0 x\n"), Ok(None));
    assert_eq!(one(b"*1\r\n$4\0\r\nPING\r\n"), Ok(None));
    // ...until enough bytes pile up to trip the too-big limit.
    let mut big = b"PING\0".to_vec();
    big.extend(std::iter::repeat_n(b'\n', 65536));
    assert_eq!(err(&big), "Protocol error: too big inline request");
}

#[test]
fn inline_requests() {
    assert_eq!(one(b"PING\r\n"), Ok(Some((strs(&["PING"]), 6))));
    assert_eq!(one(b"PING\n"), Ok(Some((strs(&["PING"]), 5))));
    assert_eq!(
        one(b"  ECHO    x   \r\n"),
        Ok(Some((strs(&["ECHO", "x"]), 16)))
    );
    assert_eq!(
        one(b"ECHO x\ry\n"),
        Ok(Some((strs(&["ECHO", "x", "y"]), 9)))
    );
    // Only one '\r' is stripped; the other separates.
    assert_eq!(one(b"ECHO x\r\r\n"), Ok(Some((strs(&["ECHO", "x"]), 9))));
    assert_eq!(
        one(b"SET k \"a b\\x41\" 'c\\'d'\r\n"),
        Ok(Some((strs(&["SET", "k", "a bA", "c'd"]), 24)))
    );
    assert_eq!(one(b"ECHO \"\"\n"), Ok(Some((strs(&["ECHO", ""]), 8))));
    assert_eq!(one(b"$4\r\n"), Ok(Some((strs(&["$4"]), 4))));
    assert_eq!(one(b"PING"), Ok(None));
}

#[test]
fn unbalanced_quotes() {
    for bad in [
        &b"ECHO \"a\"b\n"[..],
        b"ECHO 'a'b\n",
        b"ECHO \"abc\n",
        b"ECHO \"abc\\\n",
        b"ECHO 'abc\r\n",
    ] {
        assert_eq!(err(bad), "Protocol error: unbalanced quotes in request");
    }
}

#[test]
fn incremental_feeding_and_hint() {
    let mut dec = RequestDecoder::default();
    let mut buf = BytesMut::new();
    let mut args = Vec::new();
    let value = vec![b'v'; 100_000];
    let mut wire = BytesMut::new();
    resp_codec::encode::command(&mut wire, &[&b"SET"[..], b"key", &value]);
    let header_end = wire.len() - value.len() - 2;

    // Feed the header and a bit of the value: the hint covers the rest.
    buf.extend_from_slice(&wire[..header_end + 10]);
    assert_eq!(dec.decode(&mut buf, &mut args), Ok(None));
    assert_eq!(dec.pending_bulk_hint(), Some(value.len() + 2 - 10));
    assert_eq!(buf.len(), header_end + 10, "nothing consumed");

    buf.extend_from_slice(&wire[header_end + 10..wire.len() - 1]);
    assert_eq!(dec.decode(&mut buf, &mut args), Ok(None));
    assert_eq!(dec.pending_bulk_hint(), Some(1));

    buf.extend_from_slice(&wire[wire.len() - 1..]);
    assert_eq!(dec.decode(&mut buf, &mut args), Ok(Some(wire.len())));
    assert_eq!(args.len(), 3);
    assert_eq!(&args[2][..], &value[..]);
    assert_eq!(dec.pending_bulk_hint(), None);
}

#[test]
fn huge_declared_lengths_do_not_allocate() {
    // If either of these preallocated, the test would abort on OOM or be slow.
    let mut dec = RequestDecoder::default();
    let mut args = Vec::new();
    let mut buf = BytesMut::from(&b"*2147483647\r\n$536870912\r\n"[..]);
    assert_eq!(dec.decode(&mut buf, &mut args), Ok(None));
    assert!(args.capacity() < 1024);
    assert_eq!(dec.pending_bulk_hint(), Some(536870914));
}

#[test]
fn error_resets_the_decoder() {
    let mut dec = RequestDecoder::default();
    let mut args = Vec::new();
    let mut buf = BytesMut::from(&b"*1\r\n$x\r\n"[..]);
    assert!(dec.decode(&mut buf, &mut args).is_err());
    let mut fresh = BytesMut::from(&b"PING\r\n"[..]);
    assert_eq!(dec.decode(&mut fresh, &mut args), Ok(Some(6)));
}

#[test]
fn shrunk_buffer_restarts_instead_of_panicking() {
    let mut dec = RequestDecoder::default();
    let mut args = Vec::new();
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\n"[..]);
    assert_eq!(dec.decode(&mut buf, &mut args), Ok(None));
    let mut other = BytesMut::from(&b"PING\n"[..]);
    assert_eq!(dec.decode(&mut other, &mut args), Ok(Some(5)));
}

#[test]
fn error_texts() {
    let all = [
        (
            ProtocolError::TooBigInlineRequest,
            "Protocol error: too big inline request",
        ),
        (
            ProtocolError::UnbalancedQuotes,
            "Protocol error: unbalanced quotes in request",
        ),
        (
            ProtocolError::TooBigMultibulkCount,
            "Protocol error: too big mbulk count string",
        ),
        (
            ProtocolError::InvalidMultibulkLength,
            "Protocol error: invalid multibulk length",
        ),
        (
            ProtocolError::UnauthenticatedMultibulkLength,
            "Protocol error: unauthenticated multibulk length",
        ),
        (
            ProtocolError::TooBigBulkCount,
            "Protocol error: too big bulk count string",
        ),
        (
            ProtocolError::ExpectedDollar(b'x'),
            "Protocol error: expected '$', got 'x'",
        ),
        (
            ProtocolError::InvalidBulkLength,
            "Protocol error: invalid bulk length",
        ),
        (
            ProtocolError::UnauthenticatedBulkLength,
            "Protocol error: unauthenticated bulk length",
        ),
    ];
    for (e, text) in all {
        assert_eq!(e.to_string(), text);
        assert_eq!(e.message_bytes(), text.as_bytes());
    }
}
