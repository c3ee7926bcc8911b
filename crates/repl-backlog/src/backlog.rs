//! The replication backlog: a fixed-capacity ring buffer addressed by
//! absolute replication offsets.

use bytes::Bytes;
use thiserror::Error;

/// Smallest backlog Redis accepts through `CONFIG SET repl-backlog-size`
/// (and the config file). [`Backlog`] itself only needs a non-zero size, so
/// enforcing this floor is the config layer's job.
pub const REDIS_MIN_BACKLOG_SIZE: usize = 16 * 1024;

/// Redis's default `repl-backlog-size` (1 MiB).
pub const REDIS_DEFAULT_BACKLOG_SIZE: usize = 1024 * 1024;

/// Smallest step by which a growing backlog's buffer is enlarged.
const MIN_GROWTH: usize = 64 * 1024;

/// Why a PSYNC offset cannot be served from the backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BacklogError {
    /// The requested byte has already been overwritten (or was never held).
    #[error("offset {requested} is before the backlog start {first_byte_offset}")]
    Gone {
        /// The offset the replica asked for.
        requested: u64,
        /// Offset of the oldest byte still held.
        first_byte_offset: u64,
    },
    /// The requested byte lies beyond `master_offset + 1`, i.e. the replica
    /// claims to have data this node never produced.
    #[error("offset {requested} is past the backlog end (master offset {master_offset})")]
    PastEnd {
        /// The offset the replica asked for.
        requested: u64,
        /// The current master replication offset.
        master_offset: u64,
    },
}

/// Returned when asked to build or resize a backlog to zero bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("replication backlog size must be greater than zero")]
pub struct ZeroSizeError;

/// Replication backlog: keeps the last `size` bytes of the replication
/// stream, addressed by 1-based absolute offsets as Redis does.
///
/// Byte number `k` of the stream (counting from 1) has offset `k`;
/// [`master_offset`](Self::master_offset) is the number of bytes ever
/// appended (including those produced before the backlog existed, via
/// `start_offset`). The buffer grows as the stream fills it, up to the
/// configured size, and is a ring from then on: a large `repl-backlog-size`
/// costs memory only once that much has been written, as in Redis.
#[derive(Clone)]
pub struct Backlog {
    /// Storage. While shorter than `cap` it holds the whole history from
    /// index 0 and grows on append; once `cap` long it is a ring.
    buf: Vec<u8>,
    /// The configured size.
    cap: usize,
    /// Index in `buf` where the next appended byte goes (`buf.len()` while
    /// growing).
    head: usize,
    /// Number of valid bytes held, at most `buf.len()`.
    histlen: usize,
    /// Total bytes of the stream so far (Redis's `master_repl_offset`).
    master_offset: u64,
}

impl std::fmt::Debug for Backlog {
    // The buffer contents would flood logs; the offsets are what matters.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backlog")
            .field("size", &self.cap)
            .field("histlen", &self.histlen)
            .field("first_byte_offset", &self.first_byte_offset())
            .field("master_offset", &self.master_offset)
            .finish()
    }
}

impl Backlog {
    /// Creates an empty backlog of `size` bytes for a stream that has
    /// already produced `start_offset` bytes (the current
    /// `master_repl_offset`). The first byte it will accept therefore has
    /// offset `start_offset + 1`.
    ///
    /// `size` must be non-zero; Redis's own floor is
    /// [`REDIS_MIN_BACKLOG_SIZE`], enforced by configuration, not here.
    /// Offsets are expected to stay within `i64` range, as Redis's
    /// `long long` offsets do; nothing guards against `u64` overflow.
    pub fn new(size: usize, start_offset: u64) -> Result<Self, ZeroSizeError> {
        if size == 0 {
            return Err(ZeroSizeError);
        }
        Ok(Self {
            buf: Vec::new(),
            cap: size,
            head: 0,
            histlen: 0,
            master_offset: start_offset,
        })
    }

    /// Capacity in bytes (`repl-backlog-size`).
    pub fn size(&self) -> usize {
        self.cap
    }

    /// Bytes of memory the buffer holds now (it grows up to
    /// [`size`](Self::size)).
    pub fn allocated(&self) -> usize {
        self.buf.capacity()
    }

    /// Number of bytes currently held (`repl_backlog_histlen`).
    pub fn histlen(&self) -> usize {
        self.histlen
    }

    /// Total bytes of the replication stream so far (`master_repl_offset`).
    pub fn master_offset(&self) -> u64 {
        self.master_offset
    }

    /// Offset of the oldest byte held (`repl_backlog_first_byte_offset`).
    /// When the backlog is empty this is `master_offset + 1`, the offset of
    /// the next byte to be produced.
    pub fn first_byte_offset(&self) -> u64 {
        self.master_offset - self.histlen as u64 + 1
    }

    /// Whether a replica asking `PSYNC <id> psync_offset` can be fed from
    /// this backlog: `first_byte_offset <= psync_offset <= master_offset + 1`.
    pub fn can_serve(&self, psync_offset: u64) -> bool {
        self.check(psync_offset).is_ok()
    }

    /// Appends bytes to the stream. Every byte advances the master offset;
    /// if `data` is longer than the backlog only its tail is kept. Runs in
    /// O(`data.len()`); allocates only while the buffer is still growing.
    pub fn append(&mut self, data: &[u8]) {
        self.master_offset += data.len() as u64;
        let mut data = data;
        if self.buf.len() < self.cap {
            let room = self.cap - self.buf.len();
            let take = data.len().min(room);
            let want = (self.buf.len() + take)
                .max(self.buf.len().saturating_mul(2))
                .max(MIN_GROWTH)
                .min(self.cap);
            if want > self.buf.capacity() {
                self.buf.reserve_exact(want - self.buf.len());
            }
            self.buf.extend_from_slice(&data[..take]);
            self.histlen = self.buf.len();
            self.head = self.buf.len() % self.cap;
            data = &data[take..];
            if data.is_empty() {
                return;
            }
        }
        let size = self.cap;
        if data.len() >= size {
            // Only the last `size` bytes can survive; lay them out from 0.
            self.buf.copy_from_slice(&data[data.len() - size..]);
            self.head = 0;
            self.histlen = size;
            return;
        }
        let to_end = size - self.head;
        if data.len() <= to_end {
            self.buf[self.head..self.head + data.len()].copy_from_slice(data);
        } else {
            let (a, b) = data.split_at(to_end);
            self.buf[self.head..].copy_from_slice(a);
            self.buf[..b.len()].copy_from_slice(b);
        }
        self.head = (self.head + data.len()) % size;
        self.histlen = (self.histlen + data.len()).min(size);
    }

    /// Returns the bytes from `psync_offset` to the end of the stream
    /// without copying (at most two slices because of the ring wrap).
    pub fn read_from(&self, psync_offset: u64) -> Result<BacklogRead<'_>, BacklogError> {
        self.check(psync_offset)?;
        let skip = (psync_offset - self.first_byte_offset()) as usize;
        let len = self.histlen - skip;
        let size = self.buf.len();
        if len == 0 {
            return Ok(BacklogRead {
                offset: psync_offset,
                first: &[],
                second: &[],
            });
        }
        // Index of the oldest byte, then of the requested one.
        let oldest = (self.head + size - self.histlen) % size;
        let start = (oldest + skip) % size;
        let (first, second) = if start + len <= size {
            (&self.buf[start..start + len], &[][..])
        } else {
            (&self.buf[start..], &self.buf[..len - (size - start)])
        };
        Ok(BacklogRead {
            offset: psync_offset,
            first,
            second,
        })
    }

    /// Changes the capacity, keeping the most recent
    /// `min(histlen, new_size)` bytes (Redis 7 preserves history across a
    /// resize). Offsets are unchanged; only the first byte offset may move
    /// forward when history is dropped. Allocates only what it keeps, so a
    /// huge new size costs nothing until the stream fills it.
    pub fn resize(&mut self, new_size: usize) -> Result<(), ZeroSizeError> {
        if new_size == 0 {
            return Err(ZeroSizeError);
        }
        if new_size == self.cap {
            return Ok(());
        }
        let keep = self.histlen.min(new_size);
        let mut buf = Vec::with_capacity(keep);
        // Reading from `master_offset + 1 - keep` yields exactly the newest
        // `keep` bytes; it is in range because keep <= histlen.
        let from = self.master_offset + 1 - keep as u64;
        if let Ok(read) = self.read_from(from) {
            let (a, b) = read.slices();
            buf.extend_from_slice(a);
            buf.extend_from_slice(b);
        }
        self.buf = buf;
        self.cap = new_size;
        self.histlen = keep;
        self.head = keep % new_size;
        Ok(())
    }

    /// Validates `psync_offset` against the held range.
    fn check(&self, psync_offset: u64) -> Result<(), BacklogError> {
        let first = self.first_byte_offset();
        if psync_offset < first {
            Err(BacklogError::Gone {
                requested: psync_offset,
                first_byte_offset: first,
            })
        } else if psync_offset > self.master_offset + 1 {
            Err(BacklogError::PastEnd {
                requested: psync_offset,
                master_offset: self.master_offset,
            })
        } else {
            Ok(())
        }
    }
}

/// Borrowed view of the backlog from some offset to its end, as one or two
/// contiguous slices (the second is non-empty only when the data wraps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacklogRead<'a> {
    offset: u64,
    first: &'a [u8],
    second: &'a [u8],
}

impl<'a> BacklogRead<'a> {
    /// The offset of the first byte of this read (the PSYNC offset).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Total number of bytes (what Redis logs as "Sending N bytes of
    /// backlog").
    pub fn len(&self) -> usize {
        self.first.len() + self.second.len()
    }

    /// True when there is nothing to send (the replica is fully caught up).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The two slices in stream order; write `.0` then `.1`.
    pub fn slices(&self) -> (&'a [u8], &'a [u8]) {
        (self.first, self.second)
    }

    /// The non-empty slices in stream order, handy for vectored writes.
    pub fn chunks(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        [self.first, self.second]
            .into_iter()
            .filter(|s| !s.is_empty())
    }

    /// Copies the data into one contiguous buffer; for callers that must
    /// keep it beyond the borrow of the backlog.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        v.extend_from_slice(self.first);
        v.extend_from_slice(self.second);
        v
    }

    /// Like [`to_vec`](Self::to_vec) but as [`Bytes`], avoiding a second copy
    /// when handing the data to an async writer.
    pub fn to_bytes(&self) -> Bytes {
        if self.second.is_empty() {
            Bytes::copy_from_slice(self.first)
        } else {
            Bytes::from(self.to_vec())
        }
    }
}
