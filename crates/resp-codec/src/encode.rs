//! Reply writers that append straight into an output buffer, for the hot
//! path where building a [`crate::Frame`] first would only cost allocations.
//!
//! RESP3-only types take a [`Protocol`] and downgrade for RESP2 clients the
//! way Redis does.

use bytes::{BufMut, BytesMut};

use crate::number::write_g17;
use crate::protocol::Protocol;

const CRLF: &[u8] = b"\r\n";

/// Writes `prefix` + integer + CRLF, the shape of every header line.
#[inline]
fn int_line(out: &mut BytesMut, prefix: u8, n: impl itoa::Integer) {
    let mut ib = itoa::Buffer::new();
    let digits = ib.format(n).as_bytes();
    out.reserve(digits.len() + 3);
    out.put_u8(prefix);
    out.put_slice(digits);
    out.put_slice(CRLF);
}

/// Writes a one-line reply. CR/LF would end the line early and let the rest
/// be read as another reply, so (like Redis for error texts) they become spaces.
#[inline]
fn text_line(out: &mut BytesMut, prefix: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.put_u8(prefix);
    if memchr::memchr2(b'\r', b'\n', text).is_none() {
        out.put_slice(text);
    } else {
        for &b in text {
            out.put_u8(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
    }
    out.put_slice(CRLF);
}

/// Simple string `+text\r\n` (CR/LF in `text` become spaces).
pub fn simple(out: &mut BytesMut, text: &[u8]) {
    text_line(out, b'+', text);
}

/// Error `-msg\r\n`; `msg` includes its code, e.g. `ERR syntax error`
/// (CR/LF in `msg` become spaces, as Redis does).
pub fn error(out: &mut BytesMut, msg: &[u8]) {
    text_line(out, b'-', msg);
}

/// Integer `:n\r\n`.
pub fn integer(out: &mut BytesMut, n: i64) {
    int_line(out, b':', n);
}

/// Bulk string `$len\r\ndata\r\n`.
pub fn bulk(out: &mut BytesMut, data: &[u8]) {
    out.reserve(data.len() + 24);
    int_line(out, b'$', data.len());
    out.put_slice(data);
    out.put_slice(CRLF);
}

/// Null bulk: `$-1` for RESP2, `_` for RESP3.
pub fn null(out: &mut BytesMut, proto: Protocol) {
    out.put_slice(match proto {
        Protocol::Resp2 => b"$-1\r\n",
        Protocol::Resp3 => b"_\r\n",
    });
}

/// Null array: `*-1` for RESP2, `_` for RESP3.
pub fn null_array(out: &mut BytesMut, proto: Protocol) {
    out.put_slice(match proto {
        Protocol::Resp2 => b"*-1\r\n",
        Protocol::Resp3 => b"_\r\n",
    });
}

/// Array header `*n`; the caller then writes `n` elements.
pub fn array_header(out: &mut BytesMut, n: usize) {
    int_line(out, b'*', n);
}

/// Map header for `n` pairs: `%n` for RESP3, a flat `*2n` array for RESP2.
pub fn map_header(out: &mut BytesMut, n: usize, proto: Protocol) {
    match proto {
        Protocol::Resp2 => int_line(out, b'*', n.saturating_mul(2)),
        Protocol::Resp3 => int_line(out, b'%', n),
    }
}

/// Set header `~n` for RESP3, an array for RESP2.
pub fn set_header(out: &mut BytesMut, n: usize, proto: Protocol) {
    match proto {
        Protocol::Resp2 => int_line(out, b'*', n),
        Protocol::Resp3 => int_line(out, b'~', n),
    }
}

/// Push header `>n` for RESP3 (pub/sub messages), an array for RESP2.
pub fn push_header(out: &mut BytesMut, n: usize, proto: Protocol) {
    match proto {
        Protocol::Resp2 => int_line(out, b'*', n),
        Protocol::Resp3 => int_line(out, b'>', n),
    }
}

/// Attribute header `|n` (RESP3 only: Redis never sends attributes to RESP2
/// clients, so nothing is written for them).
pub fn attribute_header(out: &mut BytesMut, n: usize, proto: Protocol) {
    if proto == Protocol::Resp3 {
        int_line(out, b'|', n);
    }
}

/// Double as Redis 7.0 sends it: RESP3 `,<%.17g>` (`inf`, `-inf`, `nan` for
/// non-finite), RESP2 the same text as a bulk string.
pub fn double(out: &mut BytesMut, value: f64, proto: Protocol) {
    let special: Option<&[u8]> = if value.is_nan() {
        Some(b"nan")
    } else if value.is_infinite() {
        Some(if value > 0.0 { b"inf" } else { b"-inf" })
    } else {
        None
    };
    match proto {
        Protocol::Resp3 => {
            out.reserve(32);
            out.put_u8(b',');
            match special {
                Some(s) => out.put_slice(s),
                None => write_g17(value, out),
            }
            out.put_slice(CRLF);
        }
        Protocol::Resp2 => match special {
            Some(s) => bulk(out, s),
            None => {
                // Format first, on the stack: the bulk header needs the length.
                // %.17g never exceeds 24 bytes ("-1.2345678901234567e-308").
                let mut text = [0u8; 32];
                let mut sink = &mut text[..];
                write_g17(value, &mut sink);
                let len = 32 - sink.len();
                bulk(out, text.get(..len).unwrap_or(&[]));
            }
        },
    }
}

/// Boolean: RESP3 `#t`/`#f`, RESP2 integer 1/0.
pub fn boolean(out: &mut BytesMut, value: bool, proto: Protocol) {
    out.put_slice(match (proto, value) {
        (Protocol::Resp3, true) => b"#t\r\n",
        (Protocol::Resp3, false) => b"#f\r\n",
        (Protocol::Resp2, true) => b":1\r\n",
        (Protocol::Resp2, false) => b":0\r\n",
    });
}

/// Big number: RESP3 `(digits`, RESP2 a bulk string.
pub fn big_number(out: &mut BytesMut, digits: &[u8], proto: Protocol) {
    match proto {
        Protocol::Resp3 => text_line(out, b'(', digits),
        Protocol::Resp2 => bulk(out, digits),
    }
}

/// Verbatim string: RESP3 `=len\r\nfmt:text\r\n`, RESP2 a bulk of the text.
pub fn verbatim(out: &mut BytesMut, format: [u8; 3], text: &[u8], proto: Protocol) {
    match proto {
        Protocol::Resp3 => {
            out.reserve(text.len() + 30);
            int_line(out, b'=', text.len() + 4);
            out.put_slice(&format);
            out.put_u8(b':');
            out.put_slice(text);
            out.put_slice(CRLF);
        }
        Protocol::Resp2 => bulk(out, text),
    }
}

/// A command as a multibulk array of bulks: what clients send and what the
/// replication stream carries.
pub fn command<A: AsRef<[u8]>>(out: &mut BytesMut, args: &[A]) {
    let payload: usize = args.iter().map(|a| a.as_ref().len() + 16).sum();
    out.reserve(payload + 16);
    array_header(out, args.len());
    for arg in args {
        bulk(out, arg.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(f: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
        let mut out = BytesMut::new();
        f(&mut out);
        out.to_vec()
    }

    #[test]
    fn scalars() {
        assert_eq!(w(|o| simple(o, b"OK")), b"+OK\r\n");
        assert_eq!(w(|o| error(o, b"ERR bad\r\nx")), b"-ERR bad  x\r\n");
        assert_eq!(w(|o| simple(o, b"a\nb")), b"+a b\r\n");
        assert_eq!(w(|o| integer(o, -42)), b":-42\r\n");
        assert_eq!(w(|o| integer(o, i64::MIN)), b":-9223372036854775808\r\n");
        assert_eq!(w(|o| bulk(o, b"")), b"$0\r\n\r\n");
        assert_eq!(w(|o| bulk(o, b"a\r\nb")), b"$4\r\na\r\nb\r\n");
        assert_eq!(w(|o| null(o, Protocol::Resp2)), b"$-1\r\n");
        assert_eq!(w(|o| null(o, Protocol::Resp3)), b"_\r\n");
        assert_eq!(w(|o| null_array(o, Protocol::Resp2)), b"*-1\r\n");
        assert_eq!(w(|o| null_array(o, Protocol::Resp3)), b"_\r\n");
    }

    #[test]
    fn headers() {
        assert_eq!(w(|o| array_header(o, 3)), b"*3\r\n");
        assert_eq!(w(|o| map_header(o, 3, Protocol::Resp2)), b"*6\r\n");
        assert_eq!(w(|o| map_header(o, 3, Protocol::Resp3)), b"%3\r\n");
        assert_eq!(w(|o| set_header(o, 2, Protocol::Resp2)), b"*2\r\n");
        assert_eq!(w(|o| set_header(o, 2, Protocol::Resp3)), b"~2\r\n");
        assert_eq!(w(|o| push_header(o, 2, Protocol::Resp2)), b"*2\r\n");
        assert_eq!(w(|o| push_header(o, 2, Protocol::Resp3)), b">2\r\n");
        assert_eq!(w(|o| attribute_header(o, 1, Protocol::Resp2)), b"");
        assert_eq!(w(|o| attribute_header(o, 1, Protocol::Resp3)), b"|1\r\n");
    }

    #[test]
    fn doubles() {
        assert_eq!(
            w(|o| double(o, 1.1, Protocol::Resp3)),
            b",1.1000000000000001\r\n"
        );
        assert_eq!(
            w(|o| double(o, 1.1, Protocol::Resp2)),
            b"$18\r\n1.1000000000000001\r\n"
        );
        assert_eq!(
            w(|o| double(o, f64::INFINITY, Protocol::Resp3)),
            b",inf\r\n"
        );
        assert_eq!(
            w(|o| double(o, f64::NEG_INFINITY, Protocol::Resp3)),
            b",-inf\r\n"
        );
        assert_eq!(w(|o| double(o, f64::NAN, Protocol::Resp3)), b",nan\r\n");
        assert_eq!(
            w(|o| double(o, f64::INFINITY, Protocol::Resp2)),
            b"$3\r\ninf\r\n"
        );
        assert_eq!(
            w(|o| double(o, f64::NEG_INFINITY, Protocol::Resp2)),
            b"$4\r\n-inf\r\n"
        );
        assert_eq!(w(|o| double(o, 100.0, Protocol::Resp3)), b",100\r\n");
    }

    #[test]
    fn resp3_only_types() {
        assert_eq!(w(|o| boolean(o, true, Protocol::Resp3)), b"#t\r\n");
        assert_eq!(w(|o| boolean(o, false, Protocol::Resp2)), b":0\r\n");
        assert_eq!(w(|o| big_number(o, b"123", Protocol::Resp3)), b"(123\r\n");
        assert_eq!(
            w(|o| big_number(o, b"123", Protocol::Resp2)),
            b"$3\r\n123\r\n"
        );
        assert_eq!(
            w(|o| verbatim(o, *b"txt", b"hi", Protocol::Resp3)),
            b"=6\r\ntxt:hi\r\n"
        );
        assert_eq!(
            w(|o| verbatim(o, *b"txt", b"hi", Protocol::Resp2)),
            b"$2\r\nhi\r\n"
        );
    }

    #[test]
    fn commands() {
        assert_eq!(
            w(|o| command(o, &["SET", "k", ""])),
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"
        );
        let none: [&[u8]; 0] = [];
        assert_eq!(w(|o| command(o, &none)), b"*0\r\n");
    }
}
