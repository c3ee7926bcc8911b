//! Parsers for what a master sends a replica outside the command stream:
//! handshake reply lines, the PSYNC reply and the bulk-payload preamble.
//!
//! Every function here takes arbitrary bytes and never panics; malformed
//! input becomes a [`ReplyError`] or a dedicated variant. The rules are the
//! ones Redis 7.0's replica applies (`syncWithMaster`,
//! `slaveTryPartialResynchronization`, `readSyncBulkPayload`), including
//! their leniencies: only prefixes are compared, C-string semantics cut a
//! line at its first NUL byte, and numbers go through `strtol`-like parsing.

use bytes::{Buf, BytesMut};
use repl_backlog::{ReplId, REPLID_LEN};
use thiserror::Error;

/// Buffer size Redis uses to read one handshake or PSYNC reply line
/// (`receiveSynchronousResponse`); a line keeps at most 255 bytes.
pub const HANDSHAKE_LINE_BUF: usize = 256;

/// Buffer size Redis uses to read the `$<len>` / `$EOF:<mark>` preamble
/// line (`readSyncBulkPayload`); a line keeps at most 1023 bytes.
pub const PREAMBLE_LINE_BUF: usize = 1024;

/// Why a reply from the master cannot be used. `Display` gives the exact
/// line Redis logs for the condition.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplyError {
    /// `+FULLRESYNC` without a 40-character ID followed by an offset
    /// (or, here, with a negative offset).
    #[error("Master replied with wrong +FULLRESYNC syntax.")]
    BadFullResync,
    /// The preamble line was an error reply; holds the text after `-`.
    #[error("MASTER aborted replication with an error: {0}")]
    MasterAborted(String),
    /// The preamble line did not start with `$`; holds the whole line.
    #[error(
        "Bad protocol from MASTER, the first byte is not '$' (we received '{0}'), \
         are you sure the host and port are right?"
    )]
    NotBulk(String),
    /// `$<len>` with a negative length (Redis would misbehave; refused here).
    #[error("Bad protocol from MASTER, invalid bulk length '{0}'")]
    BadLength(String),
}

/// Takes one reply line from the front of `buf` the way Redis's
/// `syncReadLine` reads it with a buffer of `bufsize` bytes:
///
/// - a `\n` within the first `bufsize - 1` bytes ends the line; it is
///   consumed, and one `\r` before it is stripped;
/// - if `bufsize - 1` bytes arrive without `\n`, they are returned as a
///   line as they are (the rest is read as the next line);
/// - otherwise `None`: wait for more bytes (nothing consumed).
///
/// The returned line is cut at its first NUL byte, as C strings are.
pub fn take_line(buf: &mut BytesMut, bufsize: usize) -> Option<Vec<u8>> {
    let limit = bufsize.saturating_sub(1).max(1);
    let window = buf.get(..buf.len().min(limit)).unwrap_or(&[]);
    let mut line = if let Some(i) = memchr::memchr(b'\n', window) {
        let mut line = buf.split_to(i).to_vec();
        buf.advance(1);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        line
    } else if buf.len() >= limit {
        buf.split_to(limit).to_vec()
    } else {
        return None;
    };
    if let Some(nul) = memchr::memchr(0, &line) {
        line.truncate(nul);
    }
    Some(line)
}

/// How the replica judges the master's reply to its handshake `PING`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingReply {
    /// `+...` or an authentication complaint (`-NOAUTH`, `-NOPERM`, or the
    /// old `-ERR operation not permitted`): the handshake goes on (AUTH, if
    /// configured, comes next).
    Accepted,
    /// Anything else, including other `-ERR` replies and an empty line:
    /// Redis logs "Error reply to PING from master" and drops the link.
    Rejected,
}

/// Classifies the reply line to the handshake `PING`.
pub fn parse_ping_reply(line: &[u8]) -> PingReply {
    if line.first() == Some(&b'+')
        || line.starts_with(b"-NOAUTH")
        || line.starts_with(b"-NOPERM")
        || line.starts_with(b"-ERR operation not permitted")
    {
        PingReply::Accepted
    } else {
        PingReply::Rejected
    }
}

/// True when a handshake reply (AUTH, REPLCONF) is an error: Redis only
/// looks at the first byte.
pub fn is_error_line(line: &[u8]) -> bool {
    line.first() == Some(&b'-')
}

/// The master's answer to `PSYNC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PsyncReply {
    /// An empty line: the master keeps the link alive while it prepares
    /// the reply; keep waiting.
    KeepAlive,
    /// `+FULLRESYNC <replid> <offset>`: a snapshot follows.
    FullResync {
        /// The master's replication ID.
        replid: ReplId,
        /// The master offset the snapshot corresponds to.
        offset: u64,
    },
    /// `+CONTINUE` (optionally with the master's current ID): the stream
    /// continues from the requested offset.
    Continue {
        /// The ID after `+CONTINUE `, when exactly 40 valid characters.
        replid: Option<ReplId>,
    },
    /// `-NOMASTERLINK` or `-LOADING`: the master cannot serve now; retry
    /// from scratch later.
    TryLater,
    /// `-ERR ...`: the master does not know PSYNC (or is in an error
    /// state); Redis falls back to `SYNC`.
    NotSupported,
    /// Any other reply; Redis logs it as unexpected and also falls back to
    /// `SYNC`.
    Unexpected,
}

/// Parses the PSYNC reply line (already read with [`take_line`]).
/// `Err(ReplyError::BadFullResync)` is still a full resync for Redis, with
/// an unknown master ID and offset.
pub fn parse_psync_reply(line: &[u8]) -> Result<PsyncReply, ReplyError> {
    if line.is_empty() {
        return Ok(PsyncReply::KeepAlive);
    }
    if line.starts_with(b"+FULLRESYNC") {
        return parse_fullresync(line);
    }
    if line.starts_with(b"+CONTINUE") {
        // The ID starts after "+CONTINUE " and runs to the end of the line
        // (or a CR/LF); only exactly 40 characters count.
        let rest = line.get(9..).unwrap_or(&[]);
        let end = rest
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(rest.len());
        let replid = if end == REPLID_LEN + 1 {
            rest.get(1..end).and_then(|id| ReplId::parse_bytes(id).ok())
        } else {
            None
        };
        return Ok(PsyncReply::Continue { replid });
    }
    if line.starts_with(b"-NOMASTERLINK") || line.starts_with(b"-LOADING") {
        return Ok(PsyncReply::TryLater);
    }
    if line.starts_with(b"-ERR") {
        return Ok(PsyncReply::NotSupported);
    }
    Ok(PsyncReply::Unexpected)
}

/// `+FULLRESYNC <40 chars> <offset>`: the ID lies between the first and the
/// second space of the line; the offset is read like `strtoll`.
fn parse_fullresync(line: &[u8]) -> Result<PsyncReply, ReplyError> {
    let first = memchr::memchr(b' ', line).ok_or(ReplyError::BadFullResync)?;
    let after = line.get(first + 1..).unwrap_or(&[]);
    let second = memchr::memchr(b' ', after).ok_or(ReplyError::BadFullResync)?;
    if second != REPLID_LEN {
        return Err(ReplyError::BadFullResync);
    }
    let replid = after
        .get(..second)
        .and_then(|id| ReplId::parse_bytes(id).ok())
        .ok_or(ReplyError::BadFullResync)?;
    let offset = strtoll(after.get(second + 1..).unwrap_or(&[]));
    let offset = u64::try_from(offset).map_err(|_| ReplyError::BadFullResync)?;
    Ok(PsyncReply::FullResync { replid, offset })
}

/// The line that announces the snapshot payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkPreamble {
    /// An empty line: the master is still producing the snapshot; refresh
    /// the transfer timer and keep waiting.
    KeepAlive,
    /// `$EOF:<mark>`: diskless transfer, the payload ends with the same 40
    /// bytes (extra characters after the mark are ignored, as in Redis).
    EofMark([u8; REPLID_LEN]),
    /// `$<len>`: exactly `len` payload bytes follow.
    Length(u64),
}

/// Parses the preamble line read with [`take_line`]
/// (buffer [`PREAMBLE_LINE_BUF`]).
pub fn parse_bulk_preamble(line: &[u8]) -> Result<BulkPreamble, ReplyError> {
    match line.first() {
        None => Ok(BulkPreamble::KeepAlive),
        Some(b'-') => Err(ReplyError::MasterAborted(lossy(
            line.get(1..).unwrap_or(&[]),
        ))),
        Some(b'$') => {
            let body = line.get(1..).unwrap_or(&[]);
            if let Some(mark) = body
                .strip_prefix(b"EOF:")
                .and_then(|m| m.get(..REPLID_LEN))
                .and_then(|m| <[u8; REPLID_LEN]>::try_from(m).ok())
            {
                return Ok(BulkPreamble::EofMark(mark));
            }
            let len = strtoll(body);
            u64::try_from(len)
                .map(BulkPreamble::Length)
                .map_err(|_| ReplyError::BadLength(lossy(body)))
        }
        Some(_) => Err(ReplyError::NotBulk(lossy(line))),
    }
}

/// C `strtoll(s, NULL, 10)`: leading whitespace, optional sign, then as many
/// digits as there are; no digits gives 0, overflow saturates.
pub fn strtoll(s: &[u8]) -> i64 {
    let mut i = 0;
    while s
        .get(i)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
    {
        i += 1;
    }
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut value: i64 = 0;
    while let Some(d) = s.get(i).filter(|b| b.is_ascii_digit()) {
        let digit = i64::from(d - b'0');
        value = if negative {
            value.saturating_mul(10).saturating_sub(digit)
        } else {
            value.saturating_mul(10).saturating_add(digit)
        };
        i += 1;
    }
    value
}

/// Bytes as text for log lines (invalid UTF-8 shown as U+FFFD).
pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(c: u8) -> Vec<u8> {
        vec![c; REPLID_LEN]
    }

    fn line_of(input: &[u8], size: usize) -> (Option<Vec<u8>>, Vec<u8>) {
        let mut buf = BytesMut::from(input);
        let line = take_line(&mut buf, size);
        (line, buf.to_vec())
    }

    #[test]
    fn take_line_basic() {
        assert_eq!(
            line_of(b"+PONG\r\nrest", 256),
            (Some(b"+PONG".to_vec()), b"rest".to_vec())
        );
        assert_eq!(line_of(b"+PONG\n", 256), (Some(b"+PONG".to_vec()), vec![]));
        assert_eq!(line_of(b"\n", 256), (Some(vec![]), vec![]));
        assert_eq!(line_of(b"\r\n", 256), (Some(vec![]), vec![]));
        // Only one CR is stripped.
        assert_eq!(line_of(b"a\r\r\n", 256), (Some(b"a\r".to_vec()), vec![]));
        assert_eq!(line_of(b"+PON", 256), (None, b"+PON".to_vec()));
        assert_eq!(line_of(b"", 256), (None, vec![]));
    }

    #[test]
    fn take_line_cuts_at_nul_and_limit() {
        assert_eq!(
            line_of(b"+OK\0junk\r\n", 256),
            (Some(b"+OK".to_vec()), vec![])
        );
        // 4-byte buffer: 3 bytes without newline come back as a line.
        assert_eq!(
            line_of(b"abcdef\n", 4),
            (Some(b"abc".to_vec()), b"def\n".to_vec())
        );
        // A newline right at the limit position is not seen.
        assert_eq!(
            line_of(b"abc\n", 4),
            (Some(b"abc".to_vec()), b"\n".to_vec())
        );
        assert_eq!(line_of(b"ab\n", 4), (Some(b"ab".to_vec()), vec![]));
        let long = vec![b'x'; 300];
        let (line, rest) = line_of(&long, HANDSHAKE_LINE_BUF);
        assert_eq!(line.map(|l| l.len()), Some(255));
        assert_eq!(rest.len(), 45);
    }

    #[test]
    fn ping_replies() {
        assert_eq!(parse_ping_reply(b"+PONG"), PingReply::Accepted);
        assert_eq!(parse_ping_reply(b"+anything"), PingReply::Accepted);
        assert_eq!(
            parse_ping_reply(b"-NOAUTH Authentication required."),
            PingReply::Accepted
        );
        assert_eq!(
            parse_ping_reply(b"-NOPERM this user has no permissions"),
            PingReply::Accepted
        );
        assert_eq!(
            parse_ping_reply(b"-ERR operation not permitted"),
            PingReply::Accepted
        );
        assert_eq!(
            parse_ping_reply(b"-ERR unknown command"),
            PingReply::Rejected
        );
        assert_eq!(parse_ping_reply(b"-LOADING"), PingReply::Rejected);
        assert_eq!(parse_ping_reply(b""), PingReply::Rejected);
        assert_eq!(parse_ping_reply(b":1"), PingReply::Rejected);
        assert!(is_error_line(b"-ERR x"));
        assert!(!is_error_line(b"+OK"));
        assert!(!is_error_line(b""));
    }

    #[test]
    fn psync_fullresync() {
        let mut line = b"+FULLRESYNC ".to_vec();
        line.extend(id(b'a'));
        line.extend(b" 12345");
        assert_eq!(
            parse_psync_reply(&line),
            Ok(PsyncReply::FullResync {
                replid: ReplId::parse_bytes(&id(b'a')).unwrap(),
                offset: 12345
            })
        );
        // strtoll leniency: trailing junk ignored, missing digits -> 0.
        let mut lenient = b"+FULLRESYNC ".to_vec();
        lenient.extend(id(b'b'));
        lenient.extend(b" 77xyz");
        assert!(matches!(
            parse_psync_reply(&lenient),
            Ok(PsyncReply::FullResync { offset: 77, .. })
        ));
        let mut zero = b"+FULLRESYNC ".to_vec();
        zero.extend(id(b'b'));
        zero.extend(b" ");
        assert!(matches!(
            parse_psync_reply(&zero),
            Ok(PsyncReply::FullResync { offset: 0, .. })
        ));
        for bad in [
            b"+FULLRESYNC".to_vec(),
            b"+FULLRESYNC abc 1".to_vec(),
            [b"+FULLRESYNC ".as_slice(), &id(b'a')].concat(),
            [b"+FULLRESYNC ".as_slice(), &id(b'a'), b"x 1"].concat(),
            [b"+FULLRESYNC ".as_slice(), &id(b'a'), b" -5"].concat(),
        ] {
            assert_eq!(
                parse_psync_reply(&bad),
                Err(ReplyError::BadFullResync),
                "{bad:?}"
            );
        }
        assert_eq!(
            ReplyError::BadFullResync.to_string(),
            "Master replied with wrong +FULLRESYNC syntax."
        );
    }

    #[test]
    fn psync_continue_and_errors() {
        assert_eq!(
            parse_psync_reply(b"+CONTINUE"),
            Ok(PsyncReply::Continue { replid: None })
        );
        let with_id = [b"+CONTINUE ".as_slice(), &id(b'c')].concat();
        assert_eq!(
            parse_psync_reply(&with_id),
            Ok(PsyncReply::Continue {
                replid: Some(ReplId::parse_bytes(&id(b'c')).unwrap())
            })
        );
        let short = [b"+CONTINUE ".as_slice(), &id(b'c')[..39]].concat();
        assert_eq!(
            parse_psync_reply(&short),
            Ok(PsyncReply::Continue { replid: None })
        );
        let long = [b"+CONTINUE ".as_slice(), &id(b'c'), b"d"].concat();
        assert_eq!(
            parse_psync_reply(&long),
            Ok(PsyncReply::Continue { replid: None })
        );
        assert_eq!(parse_psync_reply(b""), Ok(PsyncReply::KeepAlive));
        assert_eq!(
            parse_psync_reply(b"-NOMASTERLINK Can't SYNC while not connected with my master"),
            Ok(PsyncReply::TryLater)
        );
        assert_eq!(
            parse_psync_reply(b"-LOADING Redis is loading the dataset in memory"),
            Ok(PsyncReply::TryLater)
        );
        assert_eq!(
            parse_psync_reply(b"-ERR unknown command 'PSYNC'"),
            Ok(PsyncReply::NotSupported)
        );
        assert_eq!(
            parse_psync_reply(b"-NOAUTH Authentication required."),
            Ok(PsyncReply::Unexpected)
        );
        assert_eq!(parse_psync_reply(b"+OK"), Ok(PsyncReply::Unexpected));
    }

    #[test]
    fn preambles() {
        assert_eq!(parse_bulk_preamble(b""), Ok(BulkPreamble::KeepAlive));
        assert_eq!(parse_bulk_preamble(b"$123"), Ok(BulkPreamble::Length(123)));
        assert_eq!(parse_bulk_preamble(b"$0"), Ok(BulkPreamble::Length(0)));
        assert_eq!(parse_bulk_preamble(b"$12abc"), Ok(BulkPreamble::Length(12)));
        let eof = [b"$EOF:".as_slice(), &id(b'e')].concat();
        assert_eq!(
            parse_bulk_preamble(&eof),
            Ok(BulkPreamble::EofMark([b'e'; REPLID_LEN]))
        );
        let eof_extra = [b"$EOF:".as_slice(), &id(b'e'), b"zz"].concat();
        assert_eq!(
            parse_bulk_preamble(&eof_extra),
            Ok(BulkPreamble::EofMark([b'e'; REPLID_LEN]))
        );
        // Too short a mark falls back to strtol, like Redis.
        assert_eq!(
            parse_bulk_preamble(b"$EOF:abc"),
            Ok(BulkPreamble::Length(0))
        );
        assert_eq!(
            parse_bulk_preamble(b"-ERR BGSAVE failed"),
            Err(ReplyError::MasterAborted("ERR BGSAVE failed".into()))
        );
        assert_eq!(
            parse_bulk_preamble(b"+OK").map_err(|e| e.to_string()),
            Err(
                "Bad protocol from MASTER, the first byte is not '$' (we received '+OK'), \
                 are you sure the host and port are right?"
                    .into()
            )
        );
        assert!(matches!(
            parse_bulk_preamble(b"$-1"),
            Err(ReplyError::BadLength(_))
        ));
    }

    #[test]
    fn numbers() {
        assert_eq!(strtoll(b"  -42x"), -42);
        assert_eq!(strtoll(b"+7"), 7);
        assert_eq!(strtoll(b""), 0);
        assert_eq!(strtoll(b"99999999999999999999999"), i64::MAX);
        assert_eq!(strtoll(b"-99999999999999999999999"), i64::MIN);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_ping_reply(&data);
            let _ = parse_psync_reply(&data);
            let _ = parse_bulk_preamble(&data);
            let _ = strtoll(&data);
            let _ = is_error_line(&data);
            let mut buf = BytesMut::from(&data[..]);
            let before = buf.len();
            if let Some(line) = take_line(&mut buf, 16) {
                prop_assert!(line.len() <= 15);
                prop_assert!(buf.len() < before);
            }
        }

        #[test]
        fn take_line_loops_terminate(data in proptest::collection::vec(any::<u8>(), 0..300), size in 1usize..40) {
            let mut buf = BytesMut::from(&data[..]);
            let mut rounds = 0;
            while take_line(&mut buf, size).is_some() {
                rounds += 1;
                prop_assert!(rounds <= data.len());
            }
        }
    }
}
