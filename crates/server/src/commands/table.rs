//! The declarative command table. Dispatch, arity errors and the COMMAND
//! family are all derived from it.

use keyspace::cmd::{keys, Handler};

use super::{generic, Exec};

/// Command flags, as COMMAND reports them (declared with the keyspace
/// commands, which need them beside their handlers).
pub use keyspace::cmd::spec::flag;

use flag::*;

/// One command (or subcommand) in the table: the keyspace's row type, run
/// by an [`Exec`].
pub type CommandSpec = keyspace::cmd::spec::Spec<Exec>;

use keyspace::cmd::spec::c;

const fn ks(h: Handler) -> Exec {
    Exec::Keyspace(h)
}

use keyspace::cmd::spec::NOKEY;

const CONN: &[&str] = &["fast", "connection"];

/// OBJECT's subcommands.
pub const OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    c(
        "encoding",
        3,
        READONLY,
        (2, 2, 1),
        &["keyspace", "read", "slow"],
        "generic",
        "2.2.3",
        "Returns the internal encoding of a Redis object.",
        "O(1)",
        ks(keys::object_encoding),
    ),
    c(
        "freq",
        3,
        READONLY,
        (2, 2, 1),
        &["keyspace", "read", "slow"],
        "generic",
        "4.0.0",
        "Returns the logarithmic access frequency counter of a Redis object.",
        "O(1)",
        ks(keys::object_freq),
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        NOKEY,
        &["keyspace", "slow"],
        "generic",
        "6.2.0",
        "Returns helpful text about the different subcommands.",
        "O(1)",
        Exec::Server(generic::object_help),
    ),
    c(
        "idletime",
        3,
        READONLY,
        (2, 2, 1),
        &["keyspace", "read", "slow"],
        "generic",
        "2.2.3",
        "Returns the time since the last access to a Redis object.",
        "O(1)",
        ks(keys::object_idletime),
    ),
    c(
        "refcount",
        3,
        READONLY,
        (2, 2, 1),
        &["keyspace", "read", "slow"],
        "generic",
        "2.2.3",
        "Returns the reference count of a value of a key.",
        "O(1)",
        ks(keys::object_refcount),
    ),
];

/// The whole table.
pub const COMMANDS: &[CommandSpec] = &[
    // Generic key commands.
    c("flushall", -1, WRITE, NOKEY, &["keyspace", "write", "slow", "dangerous"], "server", "1.0.0", "Removes all keys from all databases.", "O(N) where N is the total number of keys in all databases", Exec::Server(super::persistence::flushall)),
    c("object", -2, 0, NOKEY, &["slow"], "generic", "2.2.3", "A container for object introspection commands.", "Depends on subcommand.", Exec::Container(OBJECT_SUBCOMMANDS)),
    // Connection.
    c("ping", -1, FAST, NOKEY, CONN, "connection", "1.0.0", "Returns the server's liveliness response.", "O(1)", Exec::Server(generic::ping)),
    c("echo", 2, LOADING | STALE | FAST, NOKEY, CONN, "connection", "1.0.0", "Returns the given string.", "O(1)", Exec::Server(generic::echo)),
    c("quit", -1, ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH, NOKEY, CONN, "connection", "1.0.0", "Closes the connection.", "O(1)", Exec::Server(generic::quit)),
    c("hello", -1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, NOKEY, CONN, "connection", "6.0.0", "Handshakes with the Redis server.", "O(1)", Exec::Server(generic::hello)),
    c("reset", 1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, NOKEY, CONN, "connection", "6.2.0", "Resets the connection.", "O(1)", Exec::Server(generic::reset)),
    c("auth", -2, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, NOKEY, CONN, "connection", "1.0.0", "Authenticates the connection.", "O(N) where N is the number of passwords defined for the user", Exec::Server(generic::auth)),
    // Server.
    c("time", 1, LOADING | STALE | FAST, NOKEY, &["fast"], "server", "2.6.0", "Returns the server time.", "O(1)", Exec::Server(generic::time)),
    c("info", -1, LOADING | STALE, NOKEY, &["slow", "dangerous"], "server", "1.0.0", "Returns information and statistics about the server.", "O(1)", Exec::Server(crate::info::info_command)),
    c("lastsave", 1, LOADING | STALE | FAST, NOKEY, &["fast", "dangerous"], "server", "1.0.0", "Returns the Unix timestamp of the last successful save to disk.", "O(1)", Exec::Server(generic::lastsave)),
    c("shutdown", -1, ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY, NOKEY, &["admin", "slow", "dangerous"], "server", "1.0.0", "Synchronously saves the database(s) to disk and shuts down the Redis server.", "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)", Exec::Server(generic::shutdown)),
    c("command", -1, LOADING | STALE, NOKEY, &["slow", "connection"], "server", "2.8.13", "Returns detailed information about all commands.", "O(N) where N is the total number of Redis commands", Exec::Container(super::introspect::COMMAND_SUBCOMMANDS)),
    c("config", -2, 0, NOKEY, &["slow"], "server", "2.0.0", "A container for server configuration commands.", "Depends on subcommand.", Exec::Container(super::config::CONFIG_SUBCOMMANDS)),
    c("client", -2, 0, NOKEY, &["slow"], "connection", "2.4.0", "A container for client connection commands.", "Depends on subcommand.", Exec::Container(super::client::CLIENT_SUBCOMMANDS)),
    c("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE, NOKEY, &["admin", "slow", "dangerous"], "server", "1.0.0", "A container for debugging commands.", "Depends on subcommand.", Exec::Server(super::debug::debug)),
];

/// A server subcommand entry with the flags Redis gives informational
/// subcommands (`loading`, `stale`).
pub const fn c_sub(
    name: &'static str,
    arity: i32,
    summary: &'static str,
    complexity: &'static str,
    h: super::ServerHandler,
) -> CommandSpec {
    c(
        name,
        arity,
        LOADING | STALE,
        NOKEY,
        &["slow", "connection"],
        "server",
        "2.8.13",
        summary,
        complexity,
        Exec::Server(h),
    )
}

/// A server subcommand entry with explicit flags and group.
#[allow(clippy::too_many_arguments)]
pub const fn c_srv(
    name: &'static str,
    arity: i32,
    flags: u32,
    acl: &'static [&'static str],
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    h: super::ServerHandler,
) -> CommandSpec {
    c(
        name,
        arity,
        flags,
        NOKEY,
        acl,
        group,
        since,
        summary,
        "O(1)",
        Exec::Server(h),
    )
}

/// A container command whose subcommands are in `subs`.
pub const fn c_container(
    name: &'static str,
    arity: i32,
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    subs: &'static [CommandSpec],
) -> CommandSpec {
    c(
        name,
        arity,
        0,
        NOKEY,
        &["slow"],
        group,
        since,
        summary,
        "Depends on subcommand.",
        Exec::Container(subs),
    )
}

/// A server command that takes keys.
#[allow(clippy::too_many_arguments)]
pub const fn c_keys(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    acl: &'static [&'static str],
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    h: super::ServerHandler,
) -> CommandSpec {
    c(
        name,
        arity,
        flags,
        keys,
        acl,
        group,
        since,
        summary,
        "O(1)",
        Exec::Server(h),
    )
}
