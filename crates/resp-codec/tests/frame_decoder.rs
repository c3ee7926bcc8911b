//! Frame decoder: every RESP2/RESP3 type, limits and malformed input.
// Black-box tests drive files and sockets; only the library is sans-IO.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
// Test helpers outside #[test] fns may panic too: this whole crate is test code.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};
use resp_codec::{DecoderLimits, Frame, FrameDecoder, ProtocolError, MAX_FRAME_DEPTH};

fn decode(input: &[u8]) -> Result<Option<(Frame, usize)>, ProtocolError> {
    FrameDecoder::default().decode(&mut BytesMut::from(input))
}

fn frame(input: &[u8]) -> Frame {
    match decode(input) {
        Ok(Some((f, n))) => {
            assert_eq!(n, input.len(), "whole input is one frame");
            f
        }
        other => panic!("{other:?}"),
    }
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

#[test]
fn scalars() {
    assert_eq!(frame(b"+OK\r\n"), Frame::ok());
    assert_eq!(frame(b"+a\rb\r\n"), Frame::Simple(b("a\rb")));
    assert_eq!(frame(b"-ERR x\r\n"), Frame::error("ERR x"));
    assert_eq!(frame(b"!5\r\nERR x\r\n"), Frame::error("ERR x"));
    assert_eq!(frame(b":-7\r\n"), Frame::Integer(-7));
    assert_eq!(frame(b"$3\r\na\r\n\r\n"), Frame::Bulk(b("a\r\n")));
    assert_eq!(frame(b"$0\r\n\r\n"), Frame::Bulk(Bytes::new()));
    assert_eq!(frame(b"$-1\r\n"), Frame::Null);
    assert_eq!(frame(b"_\r\n"), Frame::Null);
    assert_eq!(frame(b"*-1\r\n"), Frame::NullArray);
    assert_eq!(frame(b",1.5\r\n"), Frame::Double(1.5));
    assert_eq!(frame(b",inf\r\n"), Frame::Double(f64::INFINITY));
    assert_eq!(frame(b",-inf\r\n"), Frame::Double(f64::NEG_INFINITY));
    assert!(matches!(frame(b",nan\r\n"), Frame::Double(d) if d.is_nan()));
    assert_eq!(frame(b"#t\r\n"), Frame::Boolean(true));
    assert_eq!(frame(b"#f\r\n"), Frame::Boolean(false));
    assert_eq!(
        frame(b"(123456789012345678901234567890\r\n"),
        Frame::BigNumber(b("123456789012345678901234567890"))
    );
    assert_eq!(
        frame(b"=8\r\ntxt:abcd\r\n"),
        Frame::Verbatim {
            format: *b"txt",
            text: b("abcd")
        }
    );
    assert_eq!(
        frame(b"=4\r\nmkd:\r\n"),
        Frame::Verbatim {
            format: *b"mkd",
            text: Bytes::new()
        }
    );
}

#[test]
fn aggregates() {
    assert_eq!(frame(b"*0\r\n"), Frame::Array(vec![]));
    assert_eq!(
        frame(b"*2\r\n:1\r\n*1\r\n+x\r\n"),
        Frame::Array(vec![
            Frame::Integer(1),
            Frame::Array(vec![Frame::simple("x")])
        ])
    );
    assert_eq!(
        frame(b"%2\r\n+a\r\n:1\r\n+b\r\n%0\r\n"),
        Frame::Map(vec![
            (Frame::simple("a"), Frame::Integer(1)),
            (Frame::simple("b"), Frame::Map(vec![])),
        ])
    );
    assert_eq!(
        frame(b"~1\r\n#t\r\n"),
        Frame::Set(vec![Frame::Boolean(true)])
    );
    assert_eq!(
        frame(b">2\r\n+message\r\n$1\r\nx\r\n"),
        Frame::Push(vec![Frame::simple("message"), Frame::bulk("x")])
    );
}

#[test]
fn attributes() {
    // Top level: returned on its own, the described reply follows.
    let mut dec = FrameDecoder::default();
    let mut buf = BytesMut::from(&b"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n"[..]);
    assert_eq!(
        dec.decode(&mut buf),
        Ok(Some((
            Frame::Attribute(vec![(Frame::simple("ttl"), Frame::Integer(3))]),
            14
        )))
    );
    assert_eq!(dec.decode(&mut buf), Ok(Some((Frame::bulk("v"), 7))));
    // Nested: not an element of the aggregate, dropped.
    assert_eq!(
        frame(b"*2\r\n:1\r\n|1\r\n+k\r\n+v\r\n:2\r\n"),
        Frame::Array(vec![Frame::Integer(1), Frame::Integer(2)])
    );
    assert_eq!(
        frame(b"*1\r\n|0\r\n:2\r\n"),
        Frame::Array(vec![Frame::Integer(2)])
    );
}

#[test]
fn pipelined_frames_and_wire_lengths() {
    let mut dec = FrameDecoder::default();
    let mut buf = BytesMut::from(&b"+OK\r\n:1\r\n$2\r\nhi\r\n+part"[..]);
    assert_eq!(dec.decode(&mut buf), Ok(Some((Frame::ok(), 5))));
    assert_eq!(dec.decode(&mut buf), Ok(Some((Frame::Integer(1), 4))));
    assert_eq!(dec.decode(&mut buf), Ok(Some((Frame::bulk("hi"), 8))));
    assert_eq!(dec.decode(&mut buf), Ok(None));
    assert_eq!(&buf[..], b"+part");
}

#[test]
fn incomplete_consumes_nothing() {
    let full = b"*3\r\n$5\r\nhello\r\n%1\r\n+k\r\n,2.5\r\n:9\r\n";
    for cut in 0..full.len() {
        let mut dec = FrameDecoder::default();
        let mut buf = BytesMut::from(&full[..cut]);
        assert_eq!(dec.decode(&mut buf), Ok(None), "cut at {cut}");
        assert_eq!(buf.len(), cut);
        buf.extend_from_slice(&full[cut..]);
        let (f, n) = dec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(n, full.len());
        assert_eq!(f, frame(full));
        assert!(buf.is_empty());
    }
}

#[test]
fn malformed() {
    use ProtocolError::*;
    let cases: &[(&[u8], ProtocolError)] = &[
        (b"x\r\n", UnknownFrameType(b'x')),
        (b"\r\n", UnknownFrameType(b'\r')),
        (b":1.5\r\n", InvalidInteger),
        (b":+1\r\n", InvalidInteger),
        (b":\r\n", InvalidInteger),
        (b",\r\n", InvalidDouble),
        (b",abc\r\n", InvalidDouble),
        (b"#x\r\n", InvalidBoolean),
        (b"_x\r\n", InvalidNull),
        (b"$-2\r\n", InvalidBulkLength),
        (b"$?\r\n", InvalidBulkLength),
        (b"!-1\r\n", InvalidBulkLength),
        (b"$1\r\nabc\r\n", MissingCrlf),
        (b"=3\r\ntxt\r\n", InvalidVerbatim),
        (b"=4\r\ntxtx\r\n", InvalidVerbatim),
        (b"*-2\r\n", InvalidMultibulkLength),
        (b"%-1\r\n", InvalidMultibulkLength),
        (b"*01\r\n", InvalidMultibulkLength),
    ];
    for (input, expected) in cases {
        assert_eq!(
            decode(input),
            Err(*expected),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn limits() {
    let limits = DecoderLimits {
        max_bulk_len: 4,
        max_multibulk_len: 2,
        max_inline_len: 8,
    };
    let dec = |input: &[u8]| FrameDecoder::new(limits).decode(&mut BytesMut::from(input));
    assert_eq!(dec(b"$5\r\n"), Err(ProtocolError::InvalidBulkLength));
    assert!(dec(b"$4\r\nabcd\r\n").unwrap().is_some());
    assert_eq!(dec(b"*3\r\n"), Err(ProtocolError::InvalidMultibulkLength));
    assert_eq!(dec(b"%3\r\n"), Err(ProtocolError::InvalidMultibulkLength));
    assert_eq!(dec(b"+123456789"), Err(ProtocolError::TooBigLine));
    assert_eq!(dec(b"+1234567"), Ok(None));
    assert!(dec(b"+123456789012\r\n").unwrap().is_some());
}

#[test]
fn nesting_limit() {
    let mut ok = b"*1\r\n".repeat(MAX_FRAME_DEPTH);
    ok.extend_from_slice(b":1\r\n");
    assert!(decode(&ok).unwrap().is_some());
    let mut deep = b"*1\r\n".repeat(MAX_FRAME_DEPTH + 1);
    deep.extend_from_slice(b":1\r\n");
    assert_eq!(decode(&deep), Err(ProtocolError::NestingTooDeep));
    // Deep nesting of attributes counts too.
    assert_eq!(
        decode(&b"|1\r\n".repeat(MAX_FRAME_DEPTH + 1)),
        Err(ProtocolError::NestingTooDeep)
    );
}

#[test]
fn huge_declared_lengths_do_not_allocate() {
    assert_eq!(decode(b"*2147483647\r\n:1\r\n"), Ok(None));
    assert_eq!(decode(b"%2147483647\r\n"), Ok(None));
    assert_eq!(decode(b"$536870912\r\nab"), Ok(None));
}

#[test]
fn payloads_are_zero_copy() {
    let mut buf = BytesMut::from(&b"*1\r\n$3\r\nabc\r\n"[..]);
    let start = buf.as_ptr() as usize;
    let (f, _) = FrameDecoder::default().decode(&mut buf).unwrap().unwrap();
    let Frame::Array(items) = f else { panic!() };
    let Frame::Bulk(data) = &items[0] else {
        panic!()
    };
    assert_eq!(data.as_ptr() as usize, start + 8);
}

#[test]
fn error_resets_decoder() {
    let mut dec = FrameDecoder::default();
    let mut buf = BytesMut::from(&b"*2\r\n:1\r\n"[..]);
    assert_eq!(dec.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b":x\r\n");
    assert_eq!(dec.decode(&mut buf), Err(ProtocolError::InvalidInteger));
    let mut fresh = BytesMut::from(&b":5\r\n"[..]);
    assert_eq!(dec.decode(&mut fresh), Ok(Some((Frame::Integer(5), 4))));
}
