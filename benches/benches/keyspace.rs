//! Keyspace commands without any I/O: the cost of GET and SET as the
//! command handlers run them.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use keyspace::cmd::strings;
use keyspace::{Call, Keyspace, KeyspaceConfig};

fn args(parts: &[&str]) -> Vec<Bytes> {
    parts
        .iter()
        .map(|p| Bytes::copy_from_slice(p.as_bytes()))
        .collect()
}

fn filled(n: usize) -> Keyspace {
    let mut ks = Keyspace::new(KeyspaceConfig::default(), 1);
    for i in 0..n {
        let a = args(&["SET", &format!("key:{i}"), "some-value-of-modest-size"]);
        strings::set(&mut ks, &mut Call::new(&a, 0, 0));
    }
    ks
}

fn get_set(c: &mut Criterion) {
    const N: usize = 100_000;
    let keys: Vec<Vec<Bytes>> = (0..1000)
        .map(|i| args(&["GET", &format!("key:{}", i * 97 % N)]))
        .collect();
    let sets: Vec<Vec<Bytes>> = (0..1000)
        .map(|i| args(&["SET", &format!("key:{}", i * 97 % N), "another-value"]))
        .collect();
    let mut ks = filled(N);
    c.bench_function("get_hit_x1000", |b| {
        b.iter(|| {
            for a in &keys {
                let _ = strings::get(&mut ks, &mut Call::new(a, 0, 0));
            }
        })
    });
    c.bench_function("set_existing_x1000", |b| {
        b.iter(|| {
            for a in &sets {
                let _ = strings::set(&mut ks, &mut Call::new(a, 0, 0));
            }
        })
    });
    c.bench_function("set_new_x1000", |b| {
        b.iter_batched(
            || Keyspace::new(KeyspaceConfig::default(), 1),
            |mut fresh| {
                for a in &sets {
                    let _ = strings::set(&mut fresh, &mut Call::new(a, 0, 0));
                }
                fresh
            },
            BatchSize::LargeInput,
        )
    });
    c.bench_function("incr_x1000", |b| {
        let a = args(&["INCR", "counter"]);
        b.iter(|| {
            for _ in 0..1000 {
                let _ = strings::incr(&mut ks, &mut Call::new(&a, 0, 0));
            }
        })
    });
}

criterion_group!(benches, get_set);
criterion_main!(benches);
