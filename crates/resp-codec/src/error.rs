//! Protocol errors with Redis's exact reply texts.

use bytes::{BufMut, BytesMut};

/// A malformed request or frame. After one of these the connection cannot be
/// resynchronised, so callers reply with it (prefixed by `ERR `) and close.
///
/// `Display` gives Redis's message without the `ERR ` prefix. The texts of the
/// request-decoder variants are byte-for-byte Redis 7.0's; the frame-decoder
/// variants have no Redis counterpart (Redis never parses replies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// Inline request without `\n` longer than `max_inline_len`.
    #[error("Protocol error: too big inline request")]
    TooBigInlineRequest,
    /// Inline request with a quote that is not closed, or closed and not
    /// followed by a space.
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// `*<count>` line without `\r` longer than `max_inline_len`.
    #[error("Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    /// `*<count>` that is not a strict integer or exceeds `max_multibulk_len`
    /// (also used by the frame decoder for any bad aggregate length).
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// More than 10 arguments from a client that has not authenticated yet.
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    /// `$<len>` line without `\r` longer than `max_inline_len`.
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// A bulk header that does not start with `$`; holds the byte found.
    #[error("Protocol error: expected '$', got '{}'", shown_byte(*.0))]
    ExpectedDollar(u8),
    /// `$<len>` that is not a strict integer, is negative or exceeds `max_bulk_len`.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// A bulk longer than 16384 bytes from a client that has not authenticated yet.
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
    /// Frame decoder: a byte that starts no RESP2/RESP3 type.
    #[error("Protocol error: unknown frame type '{}'", shown_byte(*.0))]
    UnknownFrameType(u8),
    /// Frame decoder: a line without `\r\n` longer than `max_inline_len`.
    #[error("Protocol error: too big line")]
    TooBigLine,
    /// Frame decoder: `:` line that is not a strict 64-bit integer.
    #[error("Protocol error: invalid integer")]
    InvalidInteger,
    /// Frame decoder: `,` line that is not a double.
    #[error("Protocol error: invalid double")]
    InvalidDouble,
    /// Frame decoder: `#` line other than `t` or `f`.
    #[error("Protocol error: invalid boolean")]
    InvalidBoolean,
    /// Frame decoder: `_` line with content.
    #[error("Protocol error: invalid null")]
    InvalidNull,
    /// Frame decoder: `=` payload shorter than 4 bytes or without `:` after the format.
    #[error("Protocol error: invalid verbatim string")]
    InvalidVerbatim,
    /// Frame decoder: bulk payload not followed by `\r\n`.
    #[error("Protocol error: bulk data not terminated by CRLF")]
    MissingCrlf,
    /// Frame decoder: aggregates nested deeper than [`crate::MAX_FRAME_DEPTH`].
    #[error("Protocol error: nesting too deep")]
    NestingTooDeep,
}

/// Redis turns CR/LF inside error texts into spaces so the reply stays one line.
fn sanitize(b: u8) -> u8 {
    if b == b'\r' || b == b'\n' {
        b' '
    } else {
        b
    }
}

/// Display cannot hold raw non-UTF-8 bytes, so they show as Latin-1 chars;
/// [`ProtocolError::message_bytes`] has the exact bytes.
fn shown_byte(b: u8) -> char {
    char::from(sanitize(b))
}

impl ProtocolError {
    /// The message as the exact bytes Redis sends (without `ERR `). Differs
    /// from `Display` only when the offending byte is not ASCII: Redis puts
    /// that raw byte on the wire.
    pub fn message_bytes(&self) -> Vec<u8> {
        match *self {
            ProtocolError::ExpectedDollar(b) => {
                let mut v = b"Protocol error: expected '$', got '".to_vec();
                v.push(sanitize(b));
                v.push(b'\'');
                v
            }
            ProtocolError::UnknownFrameType(b) => {
                let mut v = b"Protocol error: unknown frame type '".to_vec();
                v.push(sanitize(b));
                v.push(b'\'');
                v
            }
            other => other.to_string().into_bytes(),
        }
    }

    /// Appends the complete error reply (`-ERR <message>\r\n`), what Redis
    /// sends before closing the connection.
    pub fn encode_reply(&self, out: &mut BytesMut) {
        let msg = self.message_bytes();
        out.reserve(msg.len() + 7);
        out.put_slice(b"-ERR ");
        out.put_slice(&msg);
        out.put_slice(b"\r\n");
    }
}
