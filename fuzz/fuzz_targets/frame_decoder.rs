//! Feeds arbitrary bytes to `FrameDecoder`, whole and split in two at a
//! fuzzer-chosen point: it must never panic, both feedings must agree (below
//! the line limit), and every decoded frame must re-encode to something that
//! decodes to the same frame.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use resp_codec::{DecoderLimits, Frame, FrameDecoder, Protocol, ProtocolError};

type Outcome = Result<(Frame, usize), ProtocolError>;

fn run(input: &[u8], cuts: &[usize]) -> Vec<Outcome> {
    let mut dec = FrameDecoder::new(DecoderLimits::default());
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut consumed = 0;
    let mut fed = 0;
    for &end in cuts.iter().chain(std::iter::once(&input.len())) {
        buf.extend_from_slice(&input[fed..end]);
        fed = end;
        loop {
            match dec.decode(&mut buf) {
                Ok(Some((frame, n))) => {
                    assert!(n > 0);
                    consumed += n;
                    assert_eq!(consumed + buf.len(), fed);
                    out.push(Ok((frame, n)));
                }
                Ok(None) => {
                    assert_eq!(consumed + buf.len(), fed);
                    break;
                }
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }
    out
}

/// NaN is never equal to itself; compare such frames by encoding instead.
fn has_nan(f: &Frame) -> bool {
    match f {
        Frame::Double(d) => d.is_nan(),
        Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => v.iter().any(has_nan),
        Frame::Map(v) | Frame::Attribute(v) => v.iter().any(|(k, x)| has_nan(k) || has_nan(x)),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let cut = usize::from(control) * input.len() / 255;
    let whole = run(input, &[]);
    let split = run(input, &[cut]);
    if input.len() <= DecoderLimits::default().max_inline_len {
        let enc = |v: &[Outcome]| -> Vec<Result<(Vec<u8>, usize), ProtocolError>> {
            v.iter()
                .map(|o| {
                    o.clone()
                        .map(|(f, n)| (f.to_bytes(Protocol::Resp3).to_vec(), n))
                })
                .collect()
        };
        assert_eq!(enc(&whole), enc(&split));
    }
    // Re-encoding a decoded frame as RESP3 must decode back to itself (CR/LF
    // in simple strings are sanitised, and errors are re-sent as simple errors).
    for (frame, _) in whole.iter().filter_map(|o| o.as_ref().ok()) {
        let mut wire = frame.to_bytes(Protocol::Resp3);
        let again = FrameDecoder::new(DecoderLimits::default()).decode(&mut wire);
        let Ok(Some((again, _))) = again else {
            panic!("re-encoded frame does not decode: {frame:?}");
        };
        if !has_nan(frame) {
            assert_eq!(
                again.to_bytes(Protocol::Resp3),
                frame.to_bytes(Protocol::Resp3)
            );
        }
        // The RESP2 downgrade path must not panic either.
        let mut resp2 = BytesMut::new();
        frame.encode(Protocol::Resp2, &mut resp2);
    }
});
