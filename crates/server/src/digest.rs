//! The data-set digest of `DEBUG DIGEST`, computed the way Redis computes
//! it (SHA-1 mixing per key, XOR across keys) so a replikv node and a Redis
//! node holding the same data report the same digest.

use keyspace::db::NO_EXPIRE;
use keyspace::{Entry, Keyspace, Value};
use sha1::{Digest, Sha1};

fn xor_in(acc: &mut [u8; 20], data: &[u8]) {
    let h = Sha1::digest(data);
    for (a, b) in acc.iter_mut().zip(h.iter()) {
        *a ^= b;
    }
}

fn mix_in(acc: &mut [u8; 20], data: &[u8]) {
    xor_in(acc, data);
    let h = Sha1::digest(*acc);
    acc.copy_from_slice(&h);
}

fn type_code(v: &Value) -> u32 {
    match v {
        Value::Str(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
    }
}

/// The digest of a value (and whether it expires), as DEBUG DIGEST-VALUE
/// reports it.
pub fn value(e: &Entry, expire_at: i64) -> [u8; 20] {
    let mut d = [0u8; 20];
    mix_value(&mut d, e, expire_at);
    d
}

fn mix_value(d: &mut [u8; 20], e: &Entry, expire_at: i64) {
    mix_in(d, &type_code(&e.value).to_be_bytes());
    match &e.value {
        Value::Str(s) => mix_in(d, &s.to_bytes()),
        Value::List(l) => {
            for item in l.iter() {
                mix_in(d, &item);
            }
        }
        Value::Set(set) => {
            for m in set.iter() {
                xor_in(d, &m);
            }
        }
        Value::Hash(h) => {
            for (f, v) in h.iter() {
                let mut ed = [0u8; 20];
                mix_in(&mut ed, &f);
                mix_in(&mut ed, &v);
                xor_in(d, &ed);
            }
        }
        Value::ZSet(z) => {
            for (m, score) in z.iter_unordered() {
                let mut ed = [0u8; 20];
                mix_in(&mut ed, &m);
                mix_in(&mut ed, keyspace::float::fmt_g17(score).as_bytes());
                xor_in(d, &ed);
            }
        }
    }
    if expire_at != NO_EXPIRE {
        xor_in(d, b"!!expire!!");
    }
}

/// The digest of every database: per key, the key mixed with its value;
/// keys combined order-independently.
pub fn dataset(ks: &Keyspace) -> [u8; 20] {
    let mut fin = [0u8; 20];
    for i in 0..ks.db_count() {
        let Some(db) = ks.db(i) else { continue };
        if db.is_empty() {
            continue;
        }
        mix_in(&mut fin, &(i as u32).to_be_bytes());
        for (k, e, expire_at) in db.iter() {
            let mut d = [0u8; 20];
            mix_in(&mut d, k);
            mix_value(&mut d, e, expire_at);
            xor_in(&mut fin, &d);
        }
    }
    fin
}

/// Lowercase hex of a digest.
pub fn hex(d: &[u8; 20]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}
