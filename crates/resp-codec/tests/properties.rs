//! Property tests: round trips, chunking independence and panic freedom.
// Black-box tests drive files and sockets; only the library is sans-IO.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
// Test helpers outside #[test] fns may panic too: this whole crate is test code.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use resp_codec::{encode, split_args, Frame, FrameDecoder, Protocol, RequestDecoder};

/// Text for simple strings and errors: anything but CR/LF, which the encoder
/// would (deliberately) turn into spaces.
fn line_text() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(
        any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
        0..12,
    )
    .prop_map(Bytes::from)
}

fn blob() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..40).prop_map(Bytes::from)
}

fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("NaN never compares equal", |d| !d.is_nan()),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        (-1000i32..1000).prop_map(|i| f64::from(i) / 8.0),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    let leaf = prop_oneof![
        line_text().prop_map(Frame::Simple),
        line_text().prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        blob().prop_map(Frame::Bulk),
        Just(Frame::Null),
        Just(Frame::NullArray),
        double().prop_map(Frame::Double),
        any::<bool>().prop_map(Frame::Boolean),
        "-?[1-9][0-9]{0,40}".prop_map(|s| Frame::BigNumber(Bytes::from(s))),
        (proptest::array::uniform3(b'a'..=b'z'), blob())
            .prop_map(|(format, text)| Frame::Verbatim { format, text }),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Array),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..4).prop_map(Frame::Map),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Set),
            proptest::collection::vec(inner, 0..6).prop_map(Frame::Push),
        ]
    })
}

/// What a RESP3 round trip gives back: RESP3 has a single null.
fn as_resp3(f: &Frame) -> Frame {
    match f {
        Frame::NullArray => Frame::Null,
        Frame::Array(v) => Frame::Array(v.iter().map(as_resp3).collect()),
        Frame::Set(v) => Frame::Set(v.iter().map(as_resp3).collect()),
        Frame::Push(v) => Frame::Push(v.iter().map(as_resp3).collect()),
        Frame::Map(v) => Frame::Map(v.iter().map(|(k, x)| (as_resp3(k), as_resp3(x))).collect()),
        other => other.clone(),
    }
}

/// What a RESP2 round trip gives back: Redis's downgrades.
fn as_resp2(f: &Frame) -> Frame {
    match f {
        Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => {
            Frame::Array(v.iter().map(as_resp2).collect())
        }
        Frame::Map(v) => Frame::Array(
            v.iter()
                .flat_map(|(k, x)| [as_resp2(k), as_resp2(x)])
                .collect(),
        ),
        Frame::Double(d) => {
            let mut out = BytesMut::new();
            encode::double(&mut out, *d, Protocol::Resp2);
            let mut dec = FrameDecoder::default();
            match dec.decode(&mut out) {
                Ok(Some((f, _))) => f,
                other => panic!("{other:?}"),
            }
        }
        Frame::Boolean(b) => Frame::Integer(i64::from(*b)),
        Frame::BigNumber(n) => Frame::Bulk(n.clone()),
        Frame::Verbatim { text, .. } => Frame::Bulk(text.clone()),
        other => other.clone(),
    }
}

/// Decodes `input` fed in pieces cut at `cuts`, returning every outcome.
fn frames_chunked(
    input: &[u8],
    cuts: &[usize],
) -> Vec<Result<(Frame, usize), resp_codec::ProtocolError>> {
    let mut dec = FrameDecoder::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.push(input.len());
    points.sort_unstable();
    let mut fed = 0;
    for p in points {
        buf.extend_from_slice(&input[fed..p]);
        fed = p;
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(x)) => out.push(Ok(x)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }
    out
}

type Request = (Vec<Bytes>, usize);

/// Decodes `input` fed in pieces cut at `cuts` with a request decoder.
fn requests_chunked(
    input: &[u8],
    cuts: &[usize],
) -> Vec<Result<Request, resp_codec::ProtocolError>> {
    let mut dec = RequestDecoder::default();
    let mut buf = BytesMut::new();
    let mut args = Vec::new();
    let mut out = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.push(input.len());
    points.sort_unstable();
    let mut fed = 0;
    for p in points {
        buf.extend_from_slice(&input[fed..p]);
        fed = p;
        loop {
            match dec.decode(&mut buf, &mut args) {
                Ok(Some(n)) => out.push(Ok((args.clone(), n))),
                Ok(None) => {
                    if let Some(hint) = dec.pending_bulk_hint() {
                        // The hint never overstates what the request still needs.
                        assert!(hint >= 1);
                    }
                    break;
                }
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }
    out
}

/// Quotes an argument the way `redis-cli`/`sdscatrepr` would.
fn quote(arg: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    for &c in arg {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(c),
            c => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
    out
}

/// Fragments that steer random input into the request parser's branches.
const REQUEST_TOKENS: &[&[u8]] = &[
    b"*",
    b"$",
    b"\r\n",
    b"\r",
    b"\n",
    b"1",
    b"2",
    b"-1",
    b"0",
    b"a",
    b" ",
    b"\"",
    b"'",
    b"\\",
    b"\0",
    b"3\r\nabc\r\n",
];

/// Fragments that steer random input into the frame parser's branches.
const FRAME_TOKENS: &[&[u8]] = &[
    b"*",
    b"%",
    b"|",
    b"~",
    b">",
    b"$",
    b"=",
    b"!",
    b"_",
    b",",
    b"#",
    b":",
    b"+",
    b"\r\n",
    b"1",
    b"2",
    b"-1",
    b"0",
    b"t",
    b"4\r\ntxt:\r\n",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn frame_round_trip_resp3(f in frame(), cuts in proptest::collection::vec(any::<usize>(), 0..4)) {
        let wire = f.to_bytes(Protocol::Resp3);
        let got = frames_chunked(&wire, &cuts);
        prop_assert_eq!(got, vec![Ok((as_resp3(&f), wire.len()))]);
    }

    #[test]
    fn frame_round_trip_resp2(f in frame(), cuts in proptest::collection::vec(any::<usize>(), 0..4)) {
        let wire = f.to_bytes(Protocol::Resp2);
        let got = frames_chunked(&wire, &cuts);
        prop_assert_eq!(got, vec![Ok((as_resp2(&f), wire.len()))]);
    }

    #[test]
    fn commands_split_anywhere(
        cmds in proptest::collection::vec(proptest::collection::vec(blob(), 0..5), 0..8),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut wire = BytesMut::new();
        for c in &cmds {
            encode::command(&mut wire, c);
        }
        let whole = requests_chunked(&wire, &[]);
        let pieces = requests_chunked(&wire, &cuts);
        prop_assert_eq!(&whole, &pieces);
        let expected: Vec<Vec<Bytes>> = cmds.clone();
        let got: Vec<Vec<Bytes>> = whole.iter().map(|r| r.as_ref().map(|(a, _)| a.clone()).unwrap_or_default()).collect();
        prop_assert_eq!(got, expected);
        let total: usize = whole.iter().map(|r| r.as_ref().map_or(0, |(_, n)| *n)).sum();
        prop_assert_eq!(total, wire.len());
    }

    #[test]
    fn inline_quoted_args_round_trip(args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..12), 1..5)) {
        let mut line = Vec::new();
        for a in &args {
            line.extend_from_slice(&quote(a));
            line.push(b' ');
        }
        prop_assert_eq!(split_args(&line), Some(args.clone()));
        line.extend_from_slice(b"\r\n");
        let got = requests_chunked(&line, &[]);
        let expected: Vec<Bytes> = args.into_iter().map(Bytes::from).collect();
        prop_assert_eq!(got, vec![Ok((expected, line.len()))]);
    }

    #[test]
    fn request_decoder_arbitrary_bytes(
        data in proptest::collection::vec(any::<u8>(), 0..300),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        // Below the inline limit the outcome cannot depend on chunking.
        prop_assert_eq!(requests_chunked(&data, &[]), requests_chunked(&data, &cuts));
    }

    #[test]
    fn request_decoder_resp_shaped_bytes(
        parts in proptest::collection::vec(proptest::sample::select(REQUEST_TOKENS), 0..40),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let data = parts.concat();
        prop_assert_eq!(requests_chunked(&data, &[]), requests_chunked(&data, &cuts));
    }

    #[test]
    fn frame_decoder_arbitrary_bytes(
        data in proptest::collection::vec(any::<u8>(), 0..300),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        prop_assert_eq!(frames_chunked(&data, &[]), frames_chunked(&data, &cuts));
    }

    #[test]
    fn frame_decoder_resp_shaped_bytes(
        parts in proptest::collection::vec(proptest::sample::select(FRAME_TOKENS), 0..40),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let data = parts.concat();
        prop_assert_eq!(frames_chunked(&data, &[]), frames_chunked(&data, &cuts));
    }
}
