//! RESP2/RESP3 wire format for replikv.
//!
//! Sans-IO on purpose: the server owns sockets and buffers, this crate only
//! turns bytes into requests/frames and frames into bytes, so it can be tested
//! and fuzzed without a runtime.
//!
//! - [`RequestDecoder`] parses client requests (multibulk and inline) exactly
//!   like Redis 7.0, including its error texts.
//! - [`FrameDecoder`] parses any RESP2/RESP3 reply (replies from a master or peer).
//! - [`Frame`] is an owned reply tree; [`encode`] writes replies straight into a
//!   buffer for the hot path.
//! - With the `tokio-codec` feature, [`codec`] wraps the decoders as
//!   `tokio-util` codecs, for `Framed` sockets.

#[cfg(feature = "tokio-codec")]
pub mod codec;
pub mod encode;
mod error;
mod frame;
mod frame_decoder;
mod limits;
mod number;
mod protocol;
mod request;
mod scan;
mod split;

pub use error::ProtocolError;
pub use frame::Frame;
pub use frame_decoder::{FrameDecoder, MAX_FRAME_DEPTH};
pub use limits::DecoderLimits;
pub use number::parse_i64;
pub use protocol::Protocol;
pub use request::RequestDecoder;
pub use split::split_args;

/// Formats a double the way C's `%.17g` does, which is how Redis 7.0 prints
/// sorted-set scores and RESP3 doubles.
pub fn format_g17(value: f64) -> String {
    let mut out = bytes::BytesMut::new();
    number::write_g17(value, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}
