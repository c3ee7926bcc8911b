//! Criterion benchmarks of the codec and the keyspace; the benches live in
//! `benches/`. Run them with `cargo bench -p replikv-benches`, or once each
//! as a smoke test with `cargo bench -p replikv-benches -- --test`.
