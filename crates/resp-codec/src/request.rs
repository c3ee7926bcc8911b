//! Incremental decoder for client requests (multibulk and inline).

use bytes::{Buf, Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::limits::DecoderLimits;
use crate::number::parse_i64;
use crate::scan::{strchr, Found};
use crate::split::{split_into, Piece};

/// Redis's fixed limits for clients that still have to authenticate, so an
/// anonymous peer cannot make the server buffer big requests.
const UNAUTH_MAX_MULTIBULK: i64 = 10;
const UNAUTH_MAX_BULK: i64 = 16384;

/// Where the decoder stopped inside the request at the front of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Nothing of the next request examined yet.
    Idle,
    /// Looking for the `\n` that ends an inline request.
    Inline,
    /// Looking for the `\r` that ends the `*<count>` line.
    Count,
    /// Looking for the `\r` that ends the `$<len>` header starting at `pos`.
    Header,
    /// Waiting for `len` bulk bytes (plus 2 terminator bytes) at `pos`.
    Data { len: usize },
}

/// Decodes client requests exactly as Redis 7.0 does, including its error
/// texts and its quirks (see [`RequestDecoder::decode`]).
///
/// The decoder keeps how far it has scanned the request at the front of the
/// buffer, so a big request arriving in many pieces costs O(n) in total.
/// Contract: between calls the caller only appends to the buffer (or consumes
/// nothing); handing a different buffer needs [`RequestDecoder::reset`].
#[derive(Debug, Clone)]
pub struct RequestDecoder {
    limits: DecoderLimits,
    authenticated: bool,
    stage: Stage,
    /// Start of the header or bulk data being parsed.
    pos: usize,
    /// Bytes before this index hold no terminator we are looking for.
    scanned: usize,
    /// Bulk arguments still expected by the current multibulk request.
    remaining: u64,
    /// Byte ranges of the arguments already parsed (capacity reused).
    spans: Vec<(usize, usize)>,
    /// Inline argument pieces (capacity reused).
    pieces: Vec<Piece>,
    /// Buffer length at the last call, for [`RequestDecoder::pending_bulk_hint`].
    seen: usize,
}

impl Default for RequestDecoder {
    fn default() -> Self {
        RequestDecoder::new(DecoderLimits::default())
    }
}

impl RequestDecoder {
    /// A decoder for an authenticated client (no pre-auth limits) with `limits`.
    pub fn new(limits: DecoderLimits) -> Self {
        RequestDecoder {
            limits,
            authenticated: true,
            stage: Stage::Idle,
            pos: 0,
            scanned: 0,
            remaining: 0,
            spans: Vec::new(),
            pieces: Vec::new(),
            seen: 0,
        }
    }

    /// Replaces the limits (e.g. after `CONFIG SET proto-max-bulk-len`, or
    /// unlimited bulks for the master link, which Redis exempts). Takes effect
    /// for headers not parsed yet.
    pub fn set_limits(&mut self, limits: DecoderLimits) {
        self.limits = limits;
    }

    /// The limits in force.
    pub fn limits(&self) -> DecoderLimits {
        self.limits
    }

    /// When false, the stricter pre-auth limits apply (multibulk count > 10 ->
    /// "Protocol error: unauthenticated multibulk length", bulk > 16384 ->
    /// "Protocol error: unauthenticated bulk length"), as Redis does for
    /// clients not yet authenticated. New decoders start authenticated.
    pub fn set_authenticated(&mut self, yes: bool) {
        self.authenticated = yes;
    }

    /// Forgets any partially scanned request, for when the caller discards or
    /// replaces its buffer.
    pub fn reset(&mut self) {
        self.stage = Stage::Idle;
        self.pos = 0;
        self.scanned = 0;
        self.remaining = 0;
        self.spans.clear();
        self.pieces.clear();
        self.seen = 0;
    }

    /// How many more bytes the partially received request needs at least,
    /// when known: set once a bulk header has been parsed and its data is still
    /// missing. Lets the server reserve room for a big value in one go.
    pub fn pending_bulk_hint(&self) -> Option<usize> {
        match self.stage {
            Stage::Data { len } => Some(
                self.pos
                    .saturating_add(len)
                    .saturating_add(2)
                    .saturating_sub(self.seen),
            ),
            _ => None,
        }
    }

    /// Decode the next complete request from the front of `buf`, consuming its bytes.
    ///
    /// - `Ok(None)`: incomplete, nothing consumed. Call again once more bytes
    ///   are appended; scanning resumes where it stopped.
    /// - `Ok(Some(wire_len))`: the request took `wire_len` bytes, now removed
    ///   from `buf`. `args` (cleared first, so its capacity is reused) holds the
    ///   arguments as zero-copy slices of those bytes (inline arguments changed
    ///   by quotes/escapes are fresh `Bytes`).
    /// - Empty requests (`*0\r\n`, `*-1\r\n`, any count <= 0, blank or
    ///   whitespace-only inline lines) are returned as `Ok(Some(wire_len))` with
    ///   no arguments: the caller skips them but still counts their bytes (the
    ///   replication offset includes them).
    /// - `Err(_)`: the stream is corrupt; Redis replies `-ERR <error>` and
    ///   closes the connection. The decoder resets itself.
    ///
    /// Redis quirks reproduced on purpose: a NUL byte inside a count/header
    /// line or an inline line hides the terminator (Redis uses `strchr`), the
    /// byte after `\r` and the two bytes after bulk data are not checked, and
    /// the "too big" errors only fire while a terminator is missing.
    pub fn decode(
        &mut self,
        buf: &mut BytesMut,
        args: &mut Vec<Bytes>,
    ) -> Result<Option<usize>, ProtocolError> {
        args.clear();
        if self.stage != Stage::Idle && buf.len() < self.seen {
            // The caller broke the append-only contract; start over rather
            // than index stale positions.
            self.reset();
        }
        self.seen = buf.len();
        if self.stage == Stage::Idle {
            match buf.first() {
                None => return Ok(None),
                Some(b'*') => {
                    self.stage = Stage::Count;
                    self.scanned = 1;
                }
                Some(_) => {
                    self.stage = Stage::Inline;
                    self.scanned = 0;
                }
            }
        }
        let result = if self.stage == Stage::Inline {
            self.decode_inline(buf, args)
        } else {
            self.decode_multibulk(buf, args)
        };
        match result {
            Ok(Some(_)) => {
                self.finish();
                self.seen = buf.len();
            }
            Ok(None) => {}
            Err(_) => self.reset(),
        }
        result
    }

    /// Back to idle after a complete request, keeping vector capacity.
    fn finish(&mut self) {
        self.stage = Stage::Idle;
        self.pos = 0;
        self.scanned = 0;
        self.remaining = 0;
        self.spans.clear();
        self.pieces.clear();
    }

    /// Searches for `target` from where the last search stopped.
    fn find(&mut self, buf: &[u8], target: u8) -> Option<usize> {
        match strchr(buf, self.scanned, target) {
            Found::At(i) => {
                self.scanned = i;
                Some(i)
            }
            Found::Missing(i) => {
                self.scanned = i;
                None
            }
        }
    }

    fn decode_inline(
        &mut self,
        buf: &mut BytesMut,
        args: &mut Vec<Bytes>,
    ) -> Result<Option<usize>, ProtocolError> {
        let Some(newline) = self.find(buf, b'\n') else {
            if buf.len() > self.limits.max_inline_len {
                return Err(ProtocolError::TooBigInlineRequest);
            }
            return Ok(None);
        };
        let mut line_end = newline;
        if newline > 0 && buf.get(newline - 1) == Some(&b'\r') {
            line_end -= 1;
        }
        self.pieces.clear();
        if !split_into(buf.get(..line_end).unwrap_or(&[]), &mut self.pieces) {
            return Err(ProtocolError::UnbalancedQuotes);
        }
        let wire_len = newline + 1;
        let frozen = buf.split_to(wire_len).freeze();
        args.reserve(self.pieces.len());
        for piece in self.pieces.drain(..) {
            args.push(match piece {
                Piece::Span(s, e) => frozen.slice(s..e),
                Piece::Owned(v) => Bytes::from(v),
            });
        }
        Ok(Some(wire_len))
    }

    fn decode_multibulk(
        &mut self,
        buf: &mut BytesMut,
        args: &mut Vec<Bytes>,
    ) -> Result<Option<usize>, ProtocolError> {
        if self.stage == Stage::Count {
            let Some(cr) = self.find(buf, b'\r') else {
                if buf.len() > self.limits.max_inline_len {
                    return Err(ProtocolError::TooBigMultibulkCount);
                }
                return Ok(None);
            };
            // Redis wants the byte after '\r' present but never looks at it.
            if cr + 2 > buf.len() {
                return Ok(None);
            }
            let count = buf
                .get(1..cr)
                .and_then(parse_i64)
                .ok_or(ProtocolError::InvalidMultibulkLength)?;
            if count > 0 && count.unsigned_abs() > self.limits.max_multibulk_len {
                return Err(ProtocolError::InvalidMultibulkLength);
            }
            if count > UNAUTH_MAX_MULTIBULK && !self.authenticated {
                return Err(ProtocolError::UnauthenticatedMultibulkLength);
            }
            let line_len = cr + 2;
            if count <= 0 {
                buf.advance(line_len);
                return Ok(Some(line_len));
            }
            self.remaining = count.unsigned_abs();
            self.spans.clear();
            self.pos = line_len;
            self.scanned = line_len;
            self.stage = Stage::Header;
        }
        loop {
            match self.stage {
                Stage::Header => {
                    let Some(cr) = self.find(buf, b'\r') else {
                        if buf.len() - self.pos > self.limits.max_inline_len {
                            return Err(ProtocolError::TooBigBulkCount);
                        }
                        return Ok(None);
                    };
                    if cr + 2 > buf.len() {
                        return Ok(None);
                    }
                    // cr >= pos and cr < len, so this byte exists.
                    let first = buf.get(self.pos).copied().unwrap_or(b'\r');
                    if first != b'$' {
                        return Err(ProtocolError::ExpectedDollar(first));
                    }
                    let len = buf
                        .get(self.pos + 1..cr)
                        .and_then(parse_i64)
                        .ok_or(ProtocolError::InvalidBulkLength)?;
                    if len < 0 || len.unsigned_abs() > self.limits.max_bulk_len {
                        return Err(ProtocolError::InvalidBulkLength);
                    }
                    if len > UNAUTH_MAX_BULK && !self.authenticated {
                        return Err(ProtocolError::UnauthenticatedBulkLength);
                    }
                    let len = usize::try_from(len).map_err(|_| ProtocolError::InvalidBulkLength)?;
                    self.pos = cr + 2;
                    self.stage = Stage::Data { len };
                }
                Stage::Data { len } => {
                    let end = self.pos.saturating_add(len);
                    // The 2 bytes after the data are skipped unchecked, like Redis.
                    if buf.len() < end.saturating_add(2) {
                        return Ok(None);
                    }
                    self.spans.push((self.pos, end));
                    self.pos = end + 2;
                    self.scanned = self.pos;
                    self.remaining -= 1;
                    if self.remaining == 0 {
                        let wire_len = self.pos;
                        let mut frozen = buf.split_to(wire_len).freeze();
                        args.reserve(self.spans.len());
                        // Every slice costs an atomic refcount increment (and
                        // a decrement on drop); the last argument reuses the
                        // request's own handle instead of cloning it.
                        if let Some((&(last_start, last_end), rest)) = self.spans.split_last() {
                            args.extend(rest.iter().map(|&(s, e)| frozen.slice(s..e)));
                            frozen.truncate(last_end);
                            frozen.advance(last_start);
                            args.push(frozen);
                        }
                        return Ok(Some(wire_len));
                    }
                    self.stage = Stage::Header;
                }
                // Count and Inline are handled above; Idle cannot reach here.
                Stage::Idle | Stage::Count | Stage::Inline => return Ok(None),
            }
        }
    }
}
