//! Owned RESP2/RESP3 values and their encoding.

use bytes::{Bytes, BytesMut};

use crate::encode;
use crate::protocol::Protocol;

/// One RESP value. Byte payloads are `Bytes` so decoded frames share the
/// input buffer instead of copying it.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// `+text`: status reply.
    Simple(Bytes),
    /// `-CODE message` (also RESP3 blob errors `!`): the code is part of the bytes.
    Error(Bytes),
    /// `:n`.
    Integer(i64),
    /// `$len` binary-safe string.
    Bulk(Bytes),
    /// Missing value: RESP2 null bulk `$-1`, RESP3 `_`.
    Null,
    /// Missing aggregate: RESP2 `*-1`, RESP3 `_` (decodes back as [`Frame::Null`]).
    NullArray,
    /// `*n` aggregate.
    Array(Vec<Frame>),
    /// RESP3 `,` double.
    Double(f64),
    /// RESP3 `#t` / `#f`.
    Boolean(bool),
    /// RESP3 `(` arbitrary-precision integer, kept as its digits.
    BigNumber(Bytes),
    /// RESP3 `=` string with a 3-byte format such as `txt` or `mkd`.
    Verbatim {
        /// The format tag before the `:`.
        format: [u8; 3],
        /// The text after the `:`.
        text: Bytes,
    },
    /// RESP3 `%` map, as ordered pairs.
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~` set.
    Set(Vec<Frame>),
    /// RESP3 `>` out-of-band push (pub/sub, invalidation).
    Push(Vec<Frame>),
    /// RESP3 `|` attribute: metadata about the reply that follows it. Only
    /// produced by the decoder (which returns it as a frame of its own).
    Attribute(Vec<(Frame, Frame)>),
}

impl Frame {
    /// `+OK`.
    pub fn ok() -> Frame {
        Frame::Simple(Bytes::from_static(b"OK"))
    }

    /// An error reply; `msg` includes its code, e.g. `"ERR syntax error"`.
    pub fn error(msg: impl Into<Bytes>) -> Frame {
        Frame::Error(msg.into())
    }

    /// A bulk string.
    pub fn bulk(data: impl Into<Bytes>) -> Frame {
        Frame::Bulk(data.into())
    }

    /// A simple (status) string.
    pub fn simple(text: impl Into<Bytes>) -> Frame {
        Frame::Simple(text.into())
    }

    /// Appends the frame encoded for `proto`. RESP3-only types are downgraded
    /// for RESP2 the way Redis does: Map -> flat array of 2n, Set/Push ->
    /// array, Double -> bulk string, Boolean -> integer 1/0, BigNumber ->
    /// bulk, Verbatim -> bulk of the text. Attributes are dropped for RESP2
    /// (Redis never sends them there). CR/LF inside simple strings and errors
    /// become spaces so they cannot break the framing.
    pub fn encode(&self, proto: Protocol, out: &mut BytesMut) {
        match self {
            Frame::Simple(s) => encode::simple(out, s),
            Frame::Error(e) => encode::error(out, e),
            Frame::Integer(n) => encode::integer(out, *n),
            Frame::Bulk(b) => encode::bulk(out, b),
            Frame::Null => encode::null(out, proto),
            Frame::NullArray => encode::null_array(out, proto),
            Frame::Array(items) => {
                encode::array_header(out, items.len());
                encode_all(items, proto, out);
            }
            Frame::Double(d) => encode::double(out, *d, proto),
            Frame::Boolean(b) => encode::boolean(out, *b, proto),
            Frame::BigNumber(n) => encode::big_number(out, n, proto),
            Frame::Verbatim { format, text } => encode::verbatim(out, *format, text, proto),
            Frame::Map(pairs) => {
                encode::map_header(out, pairs.len(), proto);
                encode_pairs(pairs, proto, out);
            }
            Frame::Set(items) => {
                encode::set_header(out, items.len(), proto);
                encode_all(items, proto, out);
            }
            Frame::Push(items) => {
                encode::push_header(out, items.len(), proto);
                encode_all(items, proto, out);
            }
            Frame::Attribute(pairs) => {
                if proto == Protocol::Resp3 {
                    encode::attribute_header(out, pairs.len(), proto);
                    encode_pairs(pairs, proto, out);
                }
            }
        }
    }

    /// The frame encoded for `proto` as a fresh buffer (tests, cold paths).
    pub fn to_bytes(&self, proto: Protocol) -> BytesMut {
        let mut out = BytesMut::new();
        self.encode(proto, &mut out);
        out
    }
}

fn encode_all(items: &[Frame], proto: Protocol, out: &mut BytesMut) {
    for item in items {
        item.encode(proto, out);
    }
}

fn encode_pairs(pairs: &[(Frame, Frame)], proto: Protocol, out: &mut BytesMut) {
    for (k, v) in pairs {
        k.encode(proto, out);
        v.encode(proto, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: &Frame, p: Protocol) -> Vec<u8> {
        f.to_bytes(p).to_vec()
    }

    #[test]
    fn constructors() {
        assert_eq!(enc(&Frame::ok(), Protocol::Resp2), b"+OK\r\n");
        assert_eq!(enc(&Frame::error("ERR x"), Protocol::Resp3), b"-ERR x\r\n");
        assert_eq!(enc(&Frame::bulk("v"), Protocol::Resp2), b"$1\r\nv\r\n");
        assert_eq!(enc(&Frame::simple("PONG"), Protocol::Resp2), b"+PONG\r\n");
    }

    #[test]
    fn resp2_downgrades() {
        let map = Frame::Map(vec![(Frame::bulk("k"), Frame::Double(1.5))]);
        assert_eq!(
            enc(&map, Protocol::Resp2),
            b"*2\r\n$1\r\nk\r\n$3\r\n1.5\r\n"
        );
        assert_eq!(enc(&map, Protocol::Resp3), b"%1\r\n$1\r\nk\r\n,1.5\r\n");
        let set = Frame::Set(vec![Frame::Boolean(true), Frame::BigNumber("12".into())]);
        assert_eq!(enc(&set, Protocol::Resp2), b"*2\r\n:1\r\n$2\r\n12\r\n");
        assert_eq!(enc(&set, Protocol::Resp3), b"~2\r\n#t\r\n(12\r\n");
        let push = Frame::Push(vec![Frame::Null, Frame::NullArray]);
        assert_eq!(enc(&push, Protocol::Resp2), b"*2\r\n$-1\r\n*-1\r\n");
        assert_eq!(enc(&push, Protocol::Resp3), b">2\r\n_\r\n_\r\n");
        let attr = Frame::Attribute(vec![(Frame::simple("a"), Frame::Integer(1))]);
        assert_eq!(enc(&attr, Protocol::Resp2), b"");
        assert_eq!(enc(&attr, Protocol::Resp3), b"|1\r\n+a\r\n:1\r\n");
    }
}
