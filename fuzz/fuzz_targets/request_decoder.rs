//! Feeds arbitrary bytes to `RequestDecoder`, whole and split in two at a
//! fuzzer-chosen point: it must never panic, and below the inline limit
//! (where Redis's own outcome does not depend on how bytes arrive) both
//! feedings must decode the same requests.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use resp_codec::{DecoderLimits, ProtocolError, RequestDecoder};

type Outcome = Result<(Vec<Bytes>, usize), ProtocolError>;

/// Decodes `input` delivered in pieces ending at `cuts` (ascending), then
/// checks the byte accounting.
fn run(input: &[u8], cuts: &[usize], authenticated: bool) -> Vec<Outcome> {
    let mut dec = RequestDecoder::new(DecoderLimits::default());
    dec.set_authenticated(authenticated);
    let mut buf = BytesMut::new();
    let mut args = Vec::new();
    let mut out = Vec::new();
    let mut consumed = 0;
    let mut fed = 0;
    for &end in cuts.iter().chain(std::iter::once(&input.len())) {
        buf.extend_from_slice(&input[fed..end]);
        fed = end;
        loop {
            match dec.decode(&mut buf, &mut args) {
                Ok(Some(n)) => {
                    assert!(n > 0, "a request always occupies bytes");
                    let arg_bytes: usize = args.iter().map(|a| a.len()).sum();
                    // Unquoting and unescaping only ever shrink arguments.
                    assert!(arg_bytes <= n, "args fit in the wire bytes");
                    consumed += n;
                    assert_eq!(consumed + buf.len(), fed, "consumed + left == fed");
                    out.push(Ok((args.clone(), n)));
                }
                Ok(None) => {
                    assert_eq!(consumed + buf.len(), fed, "incomplete consumes nothing");
                    break;
                }
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let cut = usize::from(control >> 1) * input.len() / 127;
    let authenticated = control & 1 == 0;
    let whole = run(input, &[], authenticated);
    let split = run(input, &[cut], authenticated);
    if input.len() <= DecoderLimits::default().max_inline_len {
        assert_eq!(whole, split);
    }
});
