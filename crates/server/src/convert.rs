//! Conversions between the keyspace's values and the RDB crate's value
//! model (the two crates do not know each other).

use bytes::Bytes;
use keyspace::value::EncodingLimits;
use keyspace::{StrValue, Value};
use rdb::RdbValue;

/// The RDB form of a value.
pub fn to_rdb(v: &Value) -> RdbValue {
    match v {
        Value::Str(s) => RdbValue::String(s.to_bytes()),
        Value::List(l) => RdbValue::List(l.iter().map(|e| e.to_bytes()).collect()),
        Value::Hash(h) => RdbValue::Hash(
            h.iter()
                .map(|(f, v)| (f.to_bytes(), v.to_bytes()))
                .collect(),
        ),
        Value::Set(s) => RdbValue::Set(s.iter().collect()),
        Value::ZSet(z) => RdbValue::SortedSet(
            z.iter_unordered()
                .map(|(m, score)| (m.to_bytes(), score))
                .collect(),
        ),
    }
}

/// The keyspace form of a loaded value, with the compact encodings Redis
/// would pick for it.
pub fn from_rdb(v: RdbValue, lim: &EncodingLimits) -> Value {
    match v {
        RdbValue::String(s) => Value::Str(string(s)),
        RdbValue::List(items) => Value::List(keyspace::ListValue::from_items(items)),
        RdbValue::Hash(pairs) => Value::Hash(keyspace::hash::HashValue::from_pairs(pairs, lim)),
        RdbValue::Set(members) => Value::Set(keyspace::set::SetValue::from_members(members, lim)),
        RdbValue::SortedSet(pairs) => {
            Value::ZSet(keyspace::zset::ZSetValue::from_pairs(pairs, lim))
        }
    }
}

fn string(s: Bytes) -> StrValue {
    StrValue::from_client(&s)
}
