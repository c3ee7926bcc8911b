//! Command implementations, grouped as Redis groups them. Every handler has
//! the signature `fn(&mut Keyspace, &mut Call<'_>) -> Frame`.

pub mod expire;
pub mod keys;
pub mod options;
pub mod strings;

use resp_codec::Frame;

use crate::{call::Call, keyspace::Keyspace};

/// The signature every keyspace command handler has.
pub type Handler = fn(&mut Keyspace, &mut Call<'_>) -> Frame;
