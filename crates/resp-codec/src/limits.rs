//! Size limits the decoders enforce before trusting a declared length.

/// Limits applied while decoding; mirrors Redis's `proto-max-bulk-len` and
/// its fixed inline/multibulk limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoderLimits {
    /// Largest accepted bulk string (`proto-max-bulk-len`). Redis exempts its
    /// master link from this; the server does that by raising it for that link.
    pub max_bulk_len: u64,
    /// Largest accepted multibulk element count (Redis rejects > `INT_MAX`).
    pub max_multibulk_len: u64,
    /// How many bytes may sit in the buffer without a line terminator before
    /// an inline request or a count/length line is rejected as too big.
    pub max_inline_len: usize,
}

impl Default for DecoderLimits {
    fn default() -> Self {
        DecoderLimits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: i32::MAX as u64,
            max_inline_len: 64 * 1024,
        }
    }
}
