//! The reader's input buffer and the primitive items of the format:
//! lengths, fixed-size fields and strings.
//!
//! Small items (a length, an 8-byte time, a text score) are parsed
//! atomically: either all their bytes are buffered and they are consumed,
//! or nothing is consumed and the caller waits for more input. Strings can
//! be huge, so [`StrRead`] accumulates them across calls instead.

use bytes::{Buf, Bytes, BytesMut};
use crc::{Crc, Digest, Table, CRC_64_REDIS};

use crate::error::{RdbError, RdbErrorKind};
use crate::lzf;
use crate::num::i64_bytes;

/// CRC-64/Redis (Jones polynomial, reflected, no final xor), the checksum
/// of RDB files and DUMP payloads.
pub(crate) static CRC64: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_REDIS);

/// A running CRC-64 over a stream.
pub(crate) type Crc64Digest = Digest<'static, u64, Table<16>>;

/// Most bytes reserved up front for a string or collection whose length
/// comes from the input; beyond this, buffers grow as data really arrives.
pub(crate) const PREALLOC_BYTES: usize = 64 * 1024;
/// Same, counted in elements.
pub(crate) const PREALLOC_ELEMENTS: usize = 1024;

/// A decoded length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Len {
    /// A plain length or count.
    Plain(u64),
    /// A special string encoding (0-2: int8/16/32, 3: LZF).
    Enc(u8),
}

/// Parses a length prefix at the start of `b`; `Ok(None)` when more bytes
/// are needed. Returns the length and the bytes it used.
pub(crate) fn parse_len(b: &[u8]) -> Result<Option<(Len, usize)>, RdbErrorKind> {
    let Some(&first) = b.first() else {
        return Ok(None);
    };
    let six = u64::from(first & 0x3f);
    Ok(match first >> 6 {
        0 => Some((Len::Plain(six), 1)),
        1 => b
            .get(1)
            .map(|&lo| (Len::Plain((six << 8) | u64::from(lo)), 2)),
        3 => Some((Len::Enc(first & 0x3f), 1)),
        _ => match first {
            // 32- and 64-bit lengths are big-endian.
            0x80 => b
                .get(1..5)
                .and_then(|s| <[u8; 4]>::try_from(s).ok())
                .map(|a| (Len::Plain(u64::from(u32::from_be_bytes(a))), 5)),
            0x81 => b
                .get(1..9)
                .and_then(|s| <[u8; 8]>::try_from(s).ok())
                .map(|a| (Len::Plain(u64::from_be_bytes(a)), 9)),
            _ => return Err(RdbErrorKind::BadLengthEncoding(first)),
        },
    })
}

/// Sign-extends a little-endian integer of 1 to 8 bytes.
pub(crate) fn le_signed(raw: &[u8]) -> i64 {
    let mut le = [0u8; 8];
    for (d, s) in le.iter_mut().zip(raw) {
        *d = *s;
    }
    let shift = 64 - 8 * raw.len().clamp(1, 8) as u32;
    (i64::from_le_bytes(le) << shift) >> shift
}

/// Bytes fed but not yet consumed, plus the running checksum of everything
/// consumed before them.
pub(crate) struct Input {
    buf: BytesMut,
    /// Bytes at the front of `buf` already consumed (hashed lazily by
    /// [`Input::compact`], so small reads do not each pay a CRC call).
    pos: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    crc: Option<Crc64Digest>,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("offset", &self.offset())
            .field("buffered", &self.avail().len())
            .field("checksumming", &self.crc.is_some())
            .finish()
    }
}

impl Input {
    /// An empty input; `checksum` says whether to hash consumed bytes.
    pub(crate) fn new(checksum: bool) -> Self {
        Self {
            buf: BytesMut::new(),
            pos: 0,
            base: 0,
            crc: checksum.then(|| CRC64.digest()),
        }
    }

    /// An input holding exactly `data`, without checksumming, whose first
    /// byte is at stream offset `base`.
    pub(crate) fn from_slice_at(data: &[u8], base: u64) -> Self {
        let mut input = Self::new(false);
        input.buf.extend_from_slice(data);
        input.base = base;
        input
    }

    /// Appends bytes.
    pub(crate) fn feed(&mut self, data: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(data);
    }

    /// The unconsumed bytes.
    pub(crate) fn avail(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Stream offset of the first unconsumed byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Stream offset just past the last byte fed.
    pub(crate) fn end_offset(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    /// Marks `n` more bytes as consumed.
    pub(crate) fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }

    /// Hashes and drops the consumed bytes.
    pub(crate) fn compact(&mut self) {
        if self.pos == 0 {
            return;
        }
        if let (Some(crc), Some(done)) = (self.crc.as_mut(), self.buf.get(..self.pos)) {
            crc.update(done);
        }
        self.buf.advance(self.pos);
        self.base += self.pos as u64;
        self.pos = 0;
    }

    /// The CRC-64 of everything consumed so far.
    pub(crate) fn checksum(&mut self) -> Option<u64> {
        self.compact();
        self.crc.clone().map(|d| d.finalize())
    }

    /// Consumes `n` bytes without hashing them (the checksum trailer).
    pub(crate) fn consume_unhashed(&mut self, n: usize) {
        self.compact();
        let n = n.min(self.buf.len());
        self.buf.advance(n);
        self.base += n as u64;
    }

    /// Removes and returns every unconsumed byte.
    pub(crate) fn take_rest(&mut self) -> Bytes {
        self.compact();
        self.base += self.buf.len() as u64;
        self.buf.split().freeze()
    }

    /// Consumes and returns the next `N` bytes, if buffered.
    pub(crate) fn take_array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let a = self
            .avail()
            .get(..N)
            .and_then(|s| <[u8; N]>::try_from(s).ok())?;
        self.consume(N);
        Some(a)
    }

    /// Consumes a plain length, if buffered. Encoded values are an error.
    pub(crate) fn take_len(&mut self) -> Result<Option<u64>, RdbError> {
        let at = self.offset();
        match parse_len(self.avail()).map_err(|k| RdbError::new(k, at))? {
            None => Ok(None),
            Some((Len::Plain(n), used)) => {
                self.consume(used);
                Ok(Some(n))
            }
            Some((Len::Enc(_), _)) => Err(RdbError::new(RdbErrorKind::UnexpectedEncodedLength, at)),
        }
    }

    /// Consumes a plain length and checks it against `max`.
    pub(crate) fn take_count(
        &mut self,
        what: &'static str,
        max: u64,
    ) -> Result<Option<u64>, RdbError> {
        let at = self.offset();
        match self.take_len()? {
            Some(n) if n > max => Err(RdbError::new(
                RdbErrorKind::LengthTooLarge { what, len: n, max },
                at,
            )),
            other => Ok(other),
        }
    }
}

/// A string being read, possibly across several feeds.
#[derive(Debug, Default)]
pub(crate) enum StrRead {
    /// Nothing read yet.
    #[default]
    Start,
    /// Reading `want` raw bytes.
    Raw { want: usize, acc: Vec<u8> },
    /// Reading `clen` compressed bytes that expand to `ulen`.
    Lzf {
        start: u64,
        clen: usize,
        ulen: usize,
        acc: Vec<u8>,
    },
}

fn too_large(what: &'static str, len: u64, max: u64, at: u64) -> RdbError {
    RdbError::new(RdbErrorKind::LengthTooLarge { what, len, max }, at)
}

impl StrRead {
    /// Reads a string of at most `max` bytes: `Ok(None)` means more input
    /// is needed (call again with the same state), `Ok(Some)` resets the
    /// state for the next string.
    pub(crate) fn poll(&mut self, input: &mut Input, max: u64) -> Result<Option<Bytes>, RdbError> {
        loop {
            match self {
                StrRead::Start => {
                    let at = input.offset();
                    let avail = input.avail();
                    let Some((len, used)) = parse_len(avail).map_err(|k| RdbError::new(k, at))?
                    else {
                        return Ok(None);
                    };
                    match len {
                        Len::Plain(n) => {
                            if n > max {
                                return Err(too_large("string", n, max, at));
                            }
                            let n =
                                usize::try_from(n).map_err(|_| too_large("string", n, max, at))?;
                            if let Some(data) = avail.get(used..used + n) {
                                let s = Bytes::copy_from_slice(data);
                                input.consume(used + n);
                                return Ok(Some(s));
                            }
                            input.consume(used);
                            *self = StrRead::Raw {
                                want: n,
                                acc: Vec::with_capacity(n.min(PREALLOC_BYTES)),
                            };
                        }
                        Len::Enc(e @ 0..=2) => {
                            let width = 1usize << e;
                            let Some(raw) = avail.get(used..used + width) else {
                                return Ok(None);
                            };
                            let v = le_signed(raw);
                            input.consume(used + width);
                            return Ok(Some(i64_bytes(v)));
                        }
                        Len::Enc(3) => {
                            let rest = avail.get(used..).unwrap_or_default();
                            let lens = parse_len(rest)
                                .and_then(|c| match c {
                                    Some((Len::Plain(c), u1)) => Ok(Some((c, u1))),
                                    Some((Len::Enc(_), _)) => {
                                        Err(RdbErrorKind::UnexpectedEncodedLength)
                                    }
                                    None => Ok(None),
                                })
                                .map_err(|k| RdbError::new(k, at))?;
                            let Some((clen, u1)) = lens else {
                                return Ok(None);
                            };
                            let ulen = match parse_len(rest.get(u1..).unwrap_or_default())
                                .map_err(|k| RdbError::new(k, at))?
                            {
                                None => return Ok(None),
                                Some((Len::Plain(u), u2)) => (u, u2),
                                Some((Len::Enc(_), _)) => {
                                    return Err(RdbError::new(
                                        RdbErrorKind::UnexpectedEncodedLength,
                                        at,
                                    ))
                                }
                            };
                            let (ulen, u2) = ulen;
                            if clen > max {
                                return Err(too_large("compressed string", clen, max, at));
                            }
                            if ulen > max {
                                return Err(too_large("string", ulen, max, at));
                            }
                            if ulen > lzf::max_decompressed_len(clen) {
                                return Err(RdbError::new(
                                    RdbErrorKind::BadLzf(
                                        "announced length cannot come from the compressed size",
                                    ),
                                    at,
                                ));
                            }
                            let (clen, ulen) = match (usize::try_from(clen), usize::try_from(ulen))
                            {
                                (Ok(c), Ok(u)) => (c, u),
                                _ => return Err(too_large("string", ulen, max, at)),
                            };
                            input.consume(used + u1 + u2);
                            if let Some(data) = input.avail().get(..clen) {
                                let out = lzf::decompress(data, ulen)
                                    .map_err(|m| RdbError::new(RdbErrorKind::BadLzf(m), at))?;
                                input.consume(clen);
                                return Ok(Some(Bytes::from(out)));
                            }
                            *self = StrRead::Lzf {
                                start: at,
                                clen,
                                ulen,
                                acc: Vec::with_capacity(clen.min(PREALLOC_BYTES)),
                            };
                        }
                        Len::Enc(e) => {
                            return Err(RdbError::new(RdbErrorKind::BadStringEncoding(e), at));
                        }
                    }
                }
                StrRead::Raw { want, acc } => {
                    let avail = input.avail();
                    let take = (*want - acc.len()).min(avail.len());
                    acc.extend_from_slice(avail.get(..take).unwrap_or_default());
                    input.consume(take);
                    if acc.len() < *want {
                        return Ok(None);
                    }
                    let s = Bytes::from(std::mem::take(acc));
                    *self = StrRead::Start;
                    return Ok(Some(s));
                }
                StrRead::Lzf {
                    start,
                    clen,
                    ulen,
                    acc,
                } => {
                    let avail = input.avail();
                    let take = (*clen - acc.len()).min(avail.len());
                    acc.extend_from_slice(avail.get(..take).unwrap_or_default());
                    input.consume(take);
                    if acc.len() < *clen {
                        return Ok(None);
                    }
                    let out = lzf::decompress(acc, *ulen)
                        .map_err(|m| RdbError::new(RdbErrorKind::BadLzf(m), *start))?;
                    *self = StrRead::Start;
                    return Ok(Some(Bytes::from(out)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_encodings() {
        assert_eq!(parse_len(&[0x05]), Ok(Some((Len::Plain(5), 1))));
        assert_eq!(parse_len(&[0x41, 0x02]), Ok(Some((Len::Plain(0x102), 2))));
        assert_eq!(parse_len(&[0x41]), Ok(None));
        assert_eq!(
            parse_len(&[0x80, 0, 1, 0, 0]),
            Ok(Some((Len::Plain(65536), 5)))
        );
        assert_eq!(
            parse_len(&[0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
            Ok(Some((Len::Plain(1 << 32), 9)))
        );
        assert_eq!(parse_len(&[0xc3]), Ok(Some((Len::Enc(3), 1))));
        assert_eq!(
            parse_len(&[0x82]),
            Err(RdbErrorKind::BadLengthEncoding(0x82))
        );
        assert_eq!(parse_len(&[]), Ok(None));
    }

    #[test]
    fn crc_matches_redis_test_vector() {
        assert_eq!(CRC64.checksum(b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn strings_resume_byte_by_byte() {
        let mut wire = vec![0x0b];
        wire.extend_from_slice(b"hello world");
        wire.extend_from_slice(&[0xc1, 0x39, 0x30]); // int16 12345
        wire.extend_from_slice(&[0xc0, 0xff]); // int8 -1
        let mut input = Input::new(true);
        let mut st = StrRead::Start;
        let mut got = Vec::new();
        for b in &wire {
            input.feed(&[*b]);
            while let Some(s) = st.poll(&mut input, 100).unwrap_or(None) {
                got.push(s);
            }
        }
        assert_eq!(got, vec!["hello world", "12345", "-1"]);
        assert_eq!(input.checksum(), Some(CRC64.checksum(&wire)));
    }

    #[test]
    fn oversized_lengths_fail_before_allocating() {
        let mut input =
            Input::from_slice_at(&[0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
        let err = StrRead::Start.poll(&mut input, 512 << 20);
        assert!(matches!(
            err.map_err(|e| e.kind().clone()),
            Err(RdbErrorKind::LengthTooLarge { .. })
        ));
        // LZF claiming a 500 MB result from 3 bytes.
        let mut input = Input::from_slice_at(&[0xc3, 0x03, 0x80, 0x1f, 0, 0, 0, 0, 1, 2], 0);
        let err = StrRead::Start.poll(&mut input, 512 << 20);
        assert!(matches!(
            err.map_err(|e| e.kind().clone()),
            Err(RdbErrorKind::BadLzf(_))
        ));
    }
}
