//! Running a small script through the engine with an in-memory host: the
//! interpreter's share of an EVALSHA, without the network or the keyspace.

use std::collections::HashMap;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use resp_codec::Frame;
use scripting::{Engine, Host, LogLevel, ReplFlags};

/// A host that knows INCR and GET over a map, as a script's commands need.
#[derive(Default)]
struct MapHost {
    data: HashMap<Bytes, i64>,
}

impl Host for MapHost {
    fn call(&mut self, args: Vec<Bytes>, _resp3: bool) -> Frame {
        match (args.first().map(|a| a.to_ascii_lowercase()), args.get(1)) {
            (Some(name), Some(key)) if name == b"incr" => {
                let v = self.data.entry(key.clone()).or_insert(0);
                *v += 1;
                Frame::Integer(*v)
            }
            (Some(name), Some(key)) if name == b"get" => match self.data.get(key) {
                Some(v) => Frame::Bulk(Bytes::from(v.to_string())),
                None => Frame::Null,
            },
            _ => Frame::error("ERR unknown command"),
        }
    }
    fn log(&mut self, _level: LogLevel, _msg: &str) {}
    fn set_repl(&mut self, _flags: ReplFlags) {}
    fn may_run(&mut self, _args: &[Bytes]) -> Option<bool> {
        Some(true)
    }
}

fn run(c: &mut Criterion) {
    let mut g = c.benchmark_group("script_run");
    for (name, body) in [
        ("return_1", "return 1"),
        ("incr_key", "return redis.call('incr', KEYS[1])"),
        (
            "two_calls_table",
            "redis.call('incr', KEYS[1]); return {redis.call('get', KEYS[1]), ARGV[1]}",
        ),
    ] {
        let Ok(mut engine) = Engine::new() else {
            return;
        };
        let Ok(sha) = engine.load(&Bytes::from_static(body.as_bytes())) else {
            return;
        };
        let keys = [Bytes::from_static(b"counter")];
        let args = [Bytes::from_static(b"value")];
        let mut host = MapHost::default();
        g.bench_function(name, |b| {
            b.iter(|| engine.run(&sha, &keys, &args, &mut host))
        });
    }
    g.finish();
}

criterion_group!(benches, run);
criterion_main!(benches);
