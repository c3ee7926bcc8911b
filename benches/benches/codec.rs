//! Decoding requests and encoding replies: the per-command cost of the wire
//! format on the server's hot path.

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use resp_codec::{encode, DecoderLimits, Frame, Protocol, RequestDecoder};

fn pipeline(n: usize, value_len: usize) -> BytesMut {
    let value = vec![b'x'; value_len];
    let mut out = BytesMut::new();
    for i in 0..n {
        let key = format!("key:{i:012}");
        encode::command(&mut out, &[&b"SET"[..], key.as_bytes(), &value]);
    }
    out
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode_set_pipeline");
    for &value_len in &[3usize, 100, 4096] {
        let input = pipeline(1000, value_len);
        g.throughput(Throughput::Elements(1000));
        g.bench_with_input(
            BenchmarkId::from_parameter(value_len),
            &input,
            |b, input| {
                let mut dec = RequestDecoder::new(DecoderLimits::default());
                let mut args: Vec<Bytes> = Vec::with_capacity(4);
                b.iter(|| {
                    let mut buf = input.clone();
                    let mut n = 0;
                    while let Ok(Some(_)) = dec.decode(&mut buf, &mut args) {
                        n += args.len();
                    }
                    n
                })
            },
        );
    }
    g.finish();
    c.bench_function("decode_inline_ping_x1000", |b| {
        let input = BytesMut::from(&b"PING\r\n".repeat(1000)[..]);
        let mut dec = RequestDecoder::new(DecoderLimits::default());
        let mut args: Vec<Bytes> = Vec::new();
        b.iter(|| {
            let mut buf = input.clone();
            while let Ok(Some(_)) = dec.decode(&mut buf, &mut args) {}
        })
    });
}

fn encode_replies(c: &mut Criterion) {
    let value = Bytes::from(vec![b'v'; 100]);
    c.bench_function("encode_bulk_100b_x1000", |b| {
        let mut out = BytesMut::with_capacity(200_000);
        b.iter(|| {
            out.clear();
            for _ in 0..1000 {
                Frame::Bulk(value.clone()).encode(Protocol::Resp2, &mut out);
            }
            out.len()
        })
    });
    c.bench_function("encode_ok_x1000", |b| {
        let mut out = BytesMut::with_capacity(10_000);
        b.iter(|| {
            out.clear();
            for _ in 0..1000 {
                encode::simple(&mut out, b"OK");
            }
            out.len()
        })
    });
}

criterion_group!(benches, decode, encode_replies);
criterion_main!(benches);
