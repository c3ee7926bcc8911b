//! Redis data types, expiry and command semantics over single-owner databases.
//!
//! Nothing here does I/O, spawns threads or reads a clock: the current time
//! arrives with each call, and randomness comes from a seeded generator. A
//! command is a function from a [`Keyspace`] and a [`Call`] to a reply
//! [`Frame`](resp_codec::Frame); Redis error replies are values, never Rust
//! errors. Every write says in [`Call::propagate`] what replicas must apply
//! to stay identical, and lazily expired keys wait in
//! [`Keyspace::take_expired`] to be propagated as deletions.

pub mod call;
pub mod cmd;
pub mod db;
pub mod dict;
pub mod float;
pub mod glob;
pub mod hash;
pub mod keyspace;
pub mod list;
pub mod long_double;
pub mod numeric;
pub mod packed;
pub mod set;
pub mod value;
pub mod zset;

pub use call::{Call, Propagate};
pub use db::{Db, Entry, Record, NO_EXPIRE};
pub use hash::HashValue;
pub use keyspace::{Keyspace, KeyspaceConfig, KeyspaceStats};
pub use list::ListValue;
pub use set::SetValue;
pub use value::{EncodingLimits, StrValue, Value, ValueType};
pub use zset::ZSetValue;
