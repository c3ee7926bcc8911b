//! `tokio-util` codecs over the sans-IO decoders, for projects that want
//! `Framed<TcpStream, _>` (feature `tokio-codec`). The server does not use
//! them: it drives [`RequestDecoder`] on its own buffers.
//!
//! - [`ServerCodec`]: decodes client requests (the argument lists), encodes
//!   reply [`Frame`]s in the connection's protocol.
//! - [`ClientCodec`]: encodes commands, decodes reply frames.

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{DecoderLimits, Frame, FrameDecoder, Protocol, ProtocolError, RequestDecoder};

/// Why a framed connection stopped.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The peer broke the protocol (Redis answers `-ERR <this>` and closes).
    #[error("{0}")]
    Protocol(#[from] ProtocolError),
    /// The socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The server side of a connection: requests in, replies out.
#[derive(Debug, Default)]
pub struct ServerCodec {
    requests: RequestDecoder,
    /// The protocol replies are written in (RESP3 after `HELLO 3`).
    pub protocol: Protocol,
}

impl ServerCodec {
    /// A codec with the given request limits, answering in RESP2.
    pub fn new(limits: DecoderLimits) -> Self {
        ServerCodec {
            requests: RequestDecoder::new(limits),
            protocol: Protocol::Resp2,
        }
    }
}

impl Decoder for ServerCodec {
    type Item = Vec<Bytes>;
    type Error = CodecError;

    /// The next non-empty request's arguments; empty requests are skipped,
    /// as Redis skips them.
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Vec<Bytes>>, CodecError> {
        let mut args = Vec::new();
        loop {
            match self.requests.decode(src, &mut args)? {
                None => return Ok(None),
                Some(_) if args.is_empty() => continue,
                Some(_) => return Ok(Some(std::mem::take(&mut args))),
            }
        }
    }
}

impl Encoder<Frame> for ServerCodec {
    type Error = CodecError;

    fn encode(&mut self, reply: Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        reply.encode(self.protocol, dst);
        Ok(())
    }
}

/// The client side of a connection: commands out, reply frames in.
#[derive(Debug, Default)]
pub struct ClientCodec {
    replies: FrameDecoder,
}

impl ClientCodec {
    /// A codec that accepts replies within `limits`.
    pub fn new(limits: DecoderLimits) -> Self {
        ClientCodec {
            replies: FrameDecoder::new(limits),
        }
    }
}

impl Decoder for ClientCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        Ok(self.replies.decode(src)?.map(|(frame, _len)| frame))
    }
}

impl<A: AsRef<[u8]>> Encoder<&[A]> for ClientCodec {
    type Error = CodecError;

    fn encode(&mut self, cmd: &[A], dst: &mut BytesMut) -> Result<(), CodecError> {
        crate::encode::command(dst, cmd);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_codec_round_trip() {
        let mut server = ServerCodec::default();
        let mut client = ClientCodec::default();
        let mut wire = BytesMut::new();
        client
            .encode(&["SET", "k", "v"][..], &mut wire)
            .expect("encode");
        wire.extend_from_slice(b"*0\r\nPING\r\n*2\r\n$3\r\nGET");
        let set = server.decode(&mut wire).expect("decode").expect("one");
        assert_eq!(set, vec!["SET", "k", "v"]);
        let ping = server.decode(&mut wire).expect("decode").expect("inline");
        assert_eq!(ping, vec!["PING"]);
        assert_eq!(server.decode(&mut wire).expect("partial"), None);

        let mut out = BytesMut::new();
        server
            .encode(Frame::Simple(Bytes::from_static(b"OK")), &mut out)
            .expect("encode");
        server.encode(Frame::Null, &mut out).expect("encode");
        assert_eq!(
            client.decode(&mut out).expect("reply"),
            Some(Frame::Simple(Bytes::from_static(b"OK")))
        );
        assert_eq!(client.decode(&mut out).expect("reply"), Some(Frame::Null));
    }

    #[test]
    fn protocol_errors_surface() {
        let mut server = ServerCodec::default();
        let mut wire = BytesMut::from(&b"*1\r\n$x\r\n"[..]);
        assert!(server.decode(&mut wire).is_err());
    }
}
