//! Incremental decoder for complete RESP2/RESP3 frames of any type (replies
//! read from a master or a peer).

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::frame::Frame;
use crate::limits::DecoderLimits;
use crate::number::parse_i64;
use crate::scan::find_crlf;

/// Deepest aggregate nesting accepted; deeper input is an error rather than
/// a stack overflow when the tree is built or dropped.
pub const MAX_FRAME_DEPTH: usize = 128;

/// Kinds of aggregate, which decide how children are grouped and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AggKind {
    Array,
    Map,
    Set,
    Push,
    Attribute,
}

/// A frame whose payloads are still byte ranges of the unconsumed buffer;
/// turned into a [`Frame`] once the whole frame is in and can be frozen.
#[derive(Debug)]
enum Raw {
    Simple(Range<usize>),
    Error(Range<usize>),
    Integer(i64),
    Bulk(Range<usize>),
    Null,
    NullArray,
    Double(f64),
    Boolean(bool),
    BigNumber(Range<usize>),
    Verbatim([u8; 3], Range<usize>),
    Agg(AggKind, Vec<Raw>),
}

impl Raw {
    fn into_frame(self, buf: &Bytes) -> Frame {
        let slice = |r: Range<usize>| buf.get(r.clone()).map_or_else(Bytes::new, |_| buf.slice(r));
        match self {
            Raw::Simple(r) => Frame::Simple(slice(r)),
            Raw::Error(r) => Frame::Error(slice(r)),
            Raw::Integer(n) => Frame::Integer(n),
            Raw::Bulk(r) => Frame::Bulk(slice(r)),
            Raw::Null => Frame::Null,
            Raw::NullArray => Frame::NullArray,
            Raw::Double(d) => Frame::Double(d),
            Raw::Boolean(b) => Frame::Boolean(b),
            Raw::BigNumber(r) => Frame::BigNumber(slice(r)),
            Raw::Verbatim(format, r) => Frame::Verbatim {
                format,
                text: slice(r),
            },
            Raw::Agg(kind, items) => {
                let frames = items.into_iter().map(|i| i.into_frame(buf));
                match kind {
                    AggKind::Array => Frame::Array(frames.collect()),
                    AggKind::Set => Frame::Set(frames.collect()),
                    AggKind::Push => Frame::Push(frames.collect()),
                    AggKind::Map => Frame::Map(pairs(frames)),
                    AggKind::Attribute => Frame::Attribute(pairs(frames)),
                }
            }
        }
    }
}

/// Groups a flat key, value, key, value... sequence (always even here).
fn pairs(mut frames: impl Iterator<Item = Frame>) -> Vec<(Frame, Frame)> {
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (frames.next(), frames.next()) {
        out.push((k, v));
    }
    out
}

/// An aggregate whose children are still arriving.
#[derive(Debug)]
struct Open {
    kind: AggKind,
    /// Children still expected (2 per pair for maps and attributes).
    remaining: u64,
    /// Children so far; grows with what actually arrived, never preallocated
    /// from the declared count.
    items: Vec<Raw>,
}

/// What parsing one element header produced.
enum Step {
    /// Not enough bytes: retry once the buffer holds at least this many.
    Need(usize),
    /// A complete scalar and the index after it.
    Scalar(Raw, usize),
    /// An aggregate header with its child count and the index after it.
    Open(AggKind, u64, usize),
}

/// Decodes complete frames of any RESP2/RESP3 type.
///
/// Resumable like [`crate::RequestDecoder`]: parsed elements of a partial
/// frame are kept as byte ranges, so a frame arriving in pieces is parsed
/// once in total, and nothing is allocated from a declared length. The same
/// append-only buffer contract applies.
///
/// RESP3 attributes: a top-level attribute is returned as its own
/// [`Frame::Attribute`] (the reply it describes is the next frame); an
/// attribute nested inside an aggregate is validated and dropped, since it
/// does not count as an element of that aggregate.
#[derive(Debug)]
pub struct FrameDecoder {
    limits: DecoderLimits,
    /// Start of the next element to parse.
    pos: usize,
    /// Do not retry before the buffer reaches this length.
    need: usize,
    /// Aggregates opened and not yet complete, outermost first.
    stack: Vec<Open>,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(DecoderLimits::default())
    }
}

impl FrameDecoder {
    /// A decoder enforcing `limits` (bulk and aggregate lengths, line length).
    pub fn new(limits: DecoderLimits) -> Self {
        FrameDecoder {
            limits,
            pos: 0,
            need: 0,
            stack: Vec::new(),
        }
    }

    /// Forgets any partially parsed frame (when the caller drops its buffer).
    pub fn reset(&mut self) {
        self.pos = 0;
        self.need = 0;
        self.stack.clear();
    }

    /// Decodes the next complete frame from the front of `buf`.
    ///
    /// `Ok(None)`: incomplete, nothing consumed. `Ok(Some((frame, wire_len)))`:
    /// the frame's `wire_len` bytes were removed from `buf` and its payloads
    /// are zero-copy slices of them. `Err(_)`: corrupt stream; the decoder
    /// resets itself.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<(Frame, usize)>, ProtocolError> {
        if buf.len() < self.pos {
            // Append-only contract broken: start over instead of misreading.
            self.reset();
        }
        match self.advance(buf) {
            Ok(Some(raw)) => {
                let wire_len = self.pos;
                let frozen = buf.split_to(wire_len).freeze();
                self.reset();
                Ok(Some((raw.into_frame(&frozen), wire_len)))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.reset();
                Err(e)
            }
        }
    }

    /// Parses elements until the top-level frame completes or bytes run out.
    fn advance(&mut self, buf: &[u8]) -> Result<Option<Raw>, ProtocolError> {
        loop {
            if buf.len() < self.need {
                return Ok(None);
            }
            match parse_element(buf, self.pos, &self.limits)? {
                Step::Need(n) => {
                    self.need = n;
                    return Ok(None);
                }
                Step::Open(kind, n, next) if n > 0 => {
                    if self.stack.len() >= MAX_FRAME_DEPTH {
                        return Err(ProtocolError::NestingTooDeep);
                    }
                    self.pos = next;
                    self.stack.push(Open {
                        kind,
                        remaining: n,
                        items: Vec::new(),
                    });
                }
                Step::Open(kind, _, next) => {
                    self.pos = next;
                    if let Some(done) = self.complete(Raw::Agg(kind, Vec::new())) {
                        return Ok(Some(done));
                    }
                }
                Step::Scalar(raw, next) => {
                    self.pos = next;
                    if let Some(done) = self.complete(raw) {
                        return Ok(Some(done));
                    }
                }
            }
        }
    }

    /// Files a finished element into its parent, closing parents that become
    /// full; returns the top-level frame when it is finished.
    fn complete(&mut self, mut raw: Raw) -> Option<Raw> {
        loop {
            let Some(top) = self.stack.last_mut() else {
                return Some(raw);
            };
            if matches!(raw, Raw::Agg(AggKind::Attribute, _)) {
                // Nested attributes are not elements of their parent.
                return None;
            }
            top.items.push(raw);
            top.remaining = top.remaining.saturating_sub(1);
            if top.remaining > 0 {
                return None;
            }
            let open = self.stack.pop()?;
            raw = Raw::Agg(open.kind, open.items);
        }
    }
}

/// Parses the element starting at `pos`: a whole scalar, or an aggregate header.
fn parse_element(buf: &[u8], pos: usize, limits: &DecoderLimits) -> Result<Step, ProtocolError> {
    let Some(&kind) = buf.get(pos) else {
        return Ok(Step::Need(pos + 1));
    };
    if !b"+-:$*_,#(!=%~>|".contains(&kind) {
        return Err(ProtocolError::UnknownFrameType(kind));
    }
    let Some(cr) = find_crlf(buf, pos + 1) else {
        if buf.len() - pos > limits.max_inline_len {
            return Err(ProtocolError::TooBigLine);
        }
        return Ok(Step::Need(buf.len() + 1));
    };
    let body = pos + 1..cr;
    let line = buf.get(body.clone()).unwrap_or(&[]);
    let next = cr + 2;
    let step = match kind {
        b'+' => Step::Scalar(Raw::Simple(body), next),
        b'-' => Step::Scalar(Raw::Error(body), next),
        b'(' => Step::Scalar(Raw::BigNumber(body), next),
        b':' => Step::Scalar(
            Raw::Integer(parse_i64(line).ok_or(ProtocolError::InvalidInteger)?),
            next,
        ),
        b',' => Step::Scalar(Raw::Double(parse_double(line)?), next),
        b'#' => Step::Scalar(
            Raw::Boolean(match line {
                b"t" => true,
                b"f" => false,
                _ => return Err(ProtocolError::InvalidBoolean),
            }),
            next,
        ),
        b'_' => {
            if !line.is_empty() {
                return Err(ProtocolError::InvalidNull);
            }
            Step::Scalar(Raw::Null, next)
        }
        b'$' | b'!' | b'=' => {
            let len = parse_i64(line).ok_or(ProtocolError::InvalidBulkLength)?;
            if kind == b'$' && len == -1 {
                return Ok(Step::Scalar(Raw::Null, next));
            }
            if len < 0 || len.unsigned_abs() > limits.max_bulk_len {
                return Err(ProtocolError::InvalidBulkLength);
            }
            let len = usize::try_from(len).map_err(|_| ProtocolError::InvalidBulkLength)?;
            let end = next.saturating_add(len);
            let total = end.saturating_add(2);
            if buf.len() < total {
                return Ok(Step::Need(total));
            }
            if buf.get(end..total) != Some(b"\r\n") {
                return Err(ProtocolError::MissingCrlf);
            }
            let raw = match kind {
                b'$' => Raw::Bulk(next..end),
                b'!' => Raw::Error(next..end),
                _ => {
                    let format = buf
                        .get(next..next + 3)
                        .and_then(|f| <[u8; 3]>::try_from(f).ok())
                        .filter(|_| len >= 4 && buf.get(next + 3) == Some(&b':'))
                        .ok_or(ProtocolError::InvalidVerbatim)?;
                    Raw::Verbatim(format, next + 4..end)
                }
            };
            Step::Scalar(raw, total)
        }
        _ => {
            let n = parse_i64(line).ok_or(ProtocolError::InvalidMultibulkLength)?;
            if kind == b'*' && n == -1 {
                return Ok(Step::Scalar(Raw::NullArray, next));
            }
            if n < 0 || n.unsigned_abs() > limits.max_multibulk_len {
                return Err(ProtocolError::InvalidMultibulkLength);
            }
            let n = n.unsigned_abs();
            let (agg, children) = match kind {
                b'*' => (AggKind::Array, n),
                b'~' => (AggKind::Set, n),
                b'>' => (AggKind::Push, n),
                b'%' => (AggKind::Map, n.saturating_mul(2)),
                _ => (AggKind::Attribute, n.saturating_mul(2)),
            };
            Step::Open(agg, children, next)
        }
    };
    Ok(step)
}

/// Accepts what Redis sends (`%.17g`, `inf`, `-inf`, `nan`) and other
/// spellings Rust parses; rejects empty and non-UTF-8 input.
fn parse_double(line: &[u8]) -> Result<f64, ProtocolError> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or(ProtocolError::InvalidDouble)
}
