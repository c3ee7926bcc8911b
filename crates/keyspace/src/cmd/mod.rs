//! Command implementations, grouped as Redis groups them. Every handler has
//! the signature `fn(&mut Keyspace, &mut Call<'_>) -> Frame`.

pub mod common;
pub mod expire;
pub mod hashes;
pub mod keys;
pub mod lists;
pub mod options;
pub mod sets;
pub mod spec;
pub mod strings;
pub mod zsets;

use resp_codec::Frame;

use crate::{call::Call, keyspace::Keyspace};

/// The signature every keyspace command handler has.
pub type Handler = fn(&mut Keyspace, &mut Call<'_>) -> Frame;

/// Every keyspace command's table row, by group.
pub const ALL_SPECS: &[&[spec::Spec]] = &[
    strings::SPECS,
    keys::SPECS,
    expire::SPECS,
    lists::SPECS,
    hashes::SPECS,
    sets::SPECS,
    zsets::SPECS,
];
