//! The declarative command table. Dispatch, arity errors and the COMMAND
//! family are all derived from it.

use keyspace::cmd::{expire, hashes, keys, lists, sets, strings, zsets, Handler};

use super::{generic, Exec};

/// Command flags, as COMMAND reports them.
pub mod flag {
    /// May modify the data set.
    pub const WRITE: u32 = 1 << 0;
    /// Only reads.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory use.
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 3;
    /// Allowed while subscribed (RESP2).
    pub const PUBSUB: u32 = 1 << 4;
    /// Not allowed in scripts.
    pub const NOSCRIPT: u32 = 1 << 5;
    /// Allowed while loading a data set.
    pub const LOADING: u32 = 1 << 6;
    /// Allowed on a replica with stale data.
    pub const STALE: u32 = 1 << 7;
    /// Skips the monitor feed.
    pub const SKIP_MONITOR: u32 = 1 << 8;
    /// Constant or logarithmic time.
    pub const FAST: u32 = 1 << 9;
    /// Allowed before authentication.
    pub const NO_AUTH: u32 = 1 << 10;
    /// May be refused when replicas are missing or memory is full.
    pub const MAY_REPLICATE: u32 = 1 << 11;
    /// Allowed in a busy script.
    pub const ALLOW_BUSY: u32 = 1 << 12;
    /// Not allowed inside MULTI.
    pub const NO_MULTI: u32 = 1 << 13;
    /// May block the client.
    pub const BLOCKING: u32 = 1 << 14;
    /// Skips the slow log.
    pub const SKIP_SLOWLOG: u32 = 1 << 15;
    /// Refused while a replica loads its data set asynchronously.
    pub const NO_ASYNC_LOADING: u32 = 1 << 16;

    /// Names in COMMAND's order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (ALLOW_BUSY, "allow_busy"),
        (NO_MULTI, "no_multi"),
        (NO_ASYNC_LOADING, "no_async_loading"),
    ];
}

use flag::*;

/// One command (or subcommand) in the table.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Lowercase name (for a subcommand, just the subcommand's name).
    pub name: &'static str,
    /// Redis's arity: exact when positive, a minimum when negative.
    pub arity: i32,
    /// Flag bits from [`flag`].
    pub flags: u32,
    /// Position of the first key (0: none).
    pub first_key: i32,
    /// Position of the last key (negative counts from the end).
    pub last_key: i32,
    /// Step between keys.
    pub step: i32,
    /// ACL categories without the `@`.
    pub acl: &'static [&'static str],
    /// The documentation group (`string`, `generic`, `server`...).
    pub group: &'static str,
    /// The Redis version that introduced it.
    pub since: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Time complexity as documented.
    pub complexity: &'static str,
    /// What runs it.
    pub exec: Exec,
}

impl CommandSpec {
    /// Whether `argc` arguments (name included) satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = i64::try_from(argc).unwrap_or(i64::MAX);
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// Whether the flag is set.
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// Argument positions holding keys, for a call with `argc` arguments.
    pub fn key_positions(&self, argc: usize) -> impl Iterator<Item = usize> {
        let first = usize::try_from(self.first_key).unwrap_or(0);
        let last = if self.last_key < 0 {
            argc as i64 + i64::from(self.last_key)
        } else {
            i64::from(self.last_key)
        };
        let last = usize::try_from(last)
            .unwrap_or(0)
            .min(argc.saturating_sub(1));
        let step = usize::try_from(self.step).unwrap_or(1).max(1);
        (first..=last).step_by(step).filter(move |_| first > 0)
    }
}

#[allow(clippy::too_many_arguments)]
const fn c(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    acl: &'static [&'static str],
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
    exec: Exec,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        first_key: keys.0,
        last_key: keys.1,
        step: keys.2,
        acl,
        group,
        since,
        summary,
        complexity,
        exec,
    }
}

const fn ks(h: Handler) -> Exec {
    Exec::Keyspace(h)
}

const NOKEY: (i32, i32, i32) = (0, 0, 0);
const K1: (i32, i32, i32) = (1, 1, 1);
const K12: (i32, i32, i32) = (1, 2, 1);
const KALL: (i32, i32, i32) = (1, -1, 1);
const KPAIRS: (i32, i32, i32) = (1, -1, 2);

const W_STR: &[&str] = &["write", "string", "slow"];
const WF_STR: &[&str] = &["write", "string", "fast"];
const R_STR: &[&str] = &["read", "string", "fast"];
const W_KS: &[&str] = &["keyspace", "write", "fast"];
const R_KS: &[&str] = &["keyspace", "read", "fast"];
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
    // Strings.
    c("get", 2, READONLY | FAST, K1, R_STR, "string", "1.0.0", "Returns the string value of a key.", "O(1)", ks(strings::get)),
    c("set", -3, WRITE | DENYOOM, K1, W_STR, "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", "O(1)", ks(strings::set)),
    c("setnx", 3, WRITE | DENYOOM | FAST, K1, WF_STR, "string", "1.0.0", "Set the string value of a key only when the key doesn't exist.", "O(1)", ks(strings::setnx)),
    c("setex", 4, WRITE | DENYOOM, K1, W_STR, "string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", "O(1)", ks(strings::setex)),
    c("psetex", 4, WRITE | DENYOOM, K1, W_STR, "string", "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", "O(1)", ks(strings::psetex)),
    c("mget", -2, READONLY | FAST, KALL, R_STR, "string", "1.0.0", "Atomically returns the string values of one or more keys.", "O(N) where N is the number of keys to retrieve.", ks(strings::mget)),
    c("mset", -3, WRITE | DENYOOM, KPAIRS, W_STR, "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys.", "O(N) where N is the number of keys to set.", ks(strings::mset)),
    c("msetnx", -3, WRITE | DENYOOM, KPAIRS, W_STR, "string", "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist.", "O(N) where N is the number of keys to set.", ks(strings::msetnx)),
    c("getset", 3, WRITE | DENYOOM | FAST, K1, WF_STR, "string", "1.0.0", "Returns the previous string value of a key after setting it to a new value.", "O(1)", ks(strings::getset)),
    c("getdel", 2, WRITE | FAST, K1, WF_STR, "string", "6.2.0", "Returns the string value of a key after deleting the key.", "O(1)", ks(strings::getdel)),
    c("getex", -2, WRITE | FAST, K1, WF_STR, "string", "6.2.0", "Returns the string value of a key after setting its expiration time.", "O(1)", ks(strings::getex)),
    c("append", 3, WRITE | DENYOOM | FAST, K1, WF_STR, "string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist.", "O(1)", ks(strings::append)),
    c("strlen", 2, READONLY | FAST, K1, R_STR, "string", "2.2.0", "Returns the length of a string value.", "O(1)", ks(strings::strlen)),
    c("getrange", 4, READONLY, K1, &["read", "string", "slow"], "string", "2.4.0", "Returns a substring of the string stored at a key.", "O(N) where N is the length of the returned string.", ks(strings::getrange)),
    c("substr", 4, READONLY, K1, &["read", "string", "slow"], "string", "1.0.0", "Returns a substring from a string value.", "O(N) where N is the length of the returned string.", ks(strings::getrange)),
    c("setrange", 4, WRITE | DENYOOM, K1, W_STR, "string", "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", "O(1)", ks(strings::setrange)),
    c("incr", 2, WRITE | DENYOOM | FAST, K1, WF_STR, "string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "O(1)", ks(strings::incr)),
    c("decr", 2, WRITE | DENYOOM | FAST, K1, WF_STR, "string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "O(1)", ks(strings::decr)),
    c("incrby", 3, WRITE | DENYOOM | FAST, K1, WF_STR, "string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "O(1)", ks(strings::incrby)),
    c("decrby", 3, WRITE | DENYOOM | FAST, K1, WF_STR, "string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", "O(1)", ks(strings::decrby)),
    c("incrbyfloat", 3, WRITE | DENYOOM | FAST, K1, WF_STR, "string", "2.6.0", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "O(1)", ks(strings::incrbyfloat)),
    // Generic key commands.
    c("del", -2, WRITE, KALL, &["keyspace", "write", "slow"], "generic", "1.0.0", "Deletes one or more keys.", "O(N) where N is the number of keys that will be removed.", ks(keys::del)),
    c("unlink", -2, WRITE | FAST, KALL, W_KS, "generic", "4.0.0", "Asynchronously deletes one or more keys.", "O(1) for each key removed regardless of its size.", ks(keys::unlink)),
    c("exists", -2, READONLY | FAST, KALL, R_KS, "generic", "1.0.0", "Determines whether one or more keys exist.", "O(N) where N is the number of keys to check.", ks(keys::exists)),
    c("type", 2, READONLY | FAST, K1, R_KS, "generic", "1.0.0", "Determines the type of value stored at a key.", "O(1)", ks(keys::type_)),
    c("keys", 2, READONLY, NOKEY, &["keyspace", "read", "slow", "dangerous"], "generic", "1.0.0", "Returns all key names that match a pattern.", "O(N) with N being the number of keys in the database.", ks(keys::keys)),
    c("scan", -2, READONLY, NOKEY, &["keyspace", "read", "slow"], "generic", "2.8.0", "Iterates over the key names in the database.", "O(1) for every call. O(N) for a complete iteration.", ks(keys::scan)),
    c("randomkey", 1, READONLY, NOKEY, &["keyspace", "read", "slow"], "generic", "1.0.0", "Returns a random key name from the database.", "O(1)", ks(keys::randomkey)),
    c("rename", 3, WRITE, K12, &["keyspace", "write", "slow"], "generic", "1.0.0", "Renames a key and overwrites the destination.", "O(1)", ks(keys::rename)),
    c("renamenx", 3, WRITE | FAST, K12, W_KS, "generic", "1.0.0", "Renames a key only when the target key name doesn't exist.", "O(1)", ks(keys::renamenx)),
    c("expire", -3, WRITE | FAST, K1, W_KS, "generic", "1.0.0", "Sets the expiration time of a key in seconds.", "O(1)", ks(expire::expire)),
    c("pexpire", -3, WRITE | FAST, K1, W_KS, "generic", "2.6.0", "Sets the expiration time of a key in milliseconds.", "O(1)", ks(expire::pexpire)),
    c("expireat", -3, WRITE | FAST, K1, W_KS, "generic", "1.2.0", "Sets the expiration time of a key to a Unix timestamp.", "O(1)", ks(expire::expireat)),
    c("pexpireat", -3, WRITE | FAST, K1, W_KS, "generic", "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp.", "O(1)", ks(expire::pexpireat)),
    c("ttl", 2, READONLY | FAST, K1, R_KS, "generic", "1.0.0", "Returns the expiration time in seconds of a key.", "O(1)", ks(expire::ttl)),
    c("pttl", 2, READONLY | FAST, K1, R_KS, "generic", "2.6.0", "Returns the expiration time in milliseconds of a key.", "O(1)", ks(expire::pttl)),
    c("expiretime", 2, READONLY | FAST, K1, R_KS, "generic", "7.0.0", "Returns the expiration time of a key as a Unix timestamp.", "O(1)", ks(expire::expiretime)),
    c("pexpiretime", 2, READONLY | FAST, K1, R_KS, "generic", "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp.", "O(1)", ks(expire::pexpiretime)),
    c("persist", 2, WRITE | FAST, K1, W_KS, "generic", "2.2.0", "Removes the expiration time of a key.", "O(1)", ks(expire::persist)),
    c("dbsize", 1, READONLY | FAST, NOKEY, &["keyspace", "read", "fast"], "server", "1.0.0", "Returns the number of keys in the database.", "O(1)", ks(keys::dbsize)),
    c("flushdb", -1, WRITE, NOKEY, &["keyspace", "write", "slow", "dangerous"], "server", "1.0.0", "Removes all keys from the current database.", "O(N) where N is the number of keys in the selected database", ks(keys::flushdb)),
    c("flushall", -1, WRITE, NOKEY, &["keyspace", "write", "slow", "dangerous"], "server", "1.0.0", "Removes all keys from all databases.", "O(N) where N is the total number of keys in all databases", Exec::Server(super::persistence::flushall)),
    c("select", 2, LOADING | STALE | FAST, NOKEY, &["fast", "connection"], "connection", "1.0.0", "Changes the selected database.", "O(1)", ks(keys::select)),
    c("swapdb", 3, WRITE | FAST, NOKEY, &["keyspace", "write", "fast", "dangerous"], "server", "4.0.0", "Swaps two Redis databases.", "O(N) where N is the count of clients watching or blocking on keys from both databases.", ks(keys::swapdb)),
    c("move", 3, WRITE | FAST, K1, W_KS, "generic", "1.0.0", "Moves a key to another database.", "O(1)", ks(keys::move_)),
    c("copy", -3, WRITE | DENYOOM, K12, &["keyspace", "write", "slow"], "generic", "6.2.0", "Copies the value of a key to a new key.", "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", ks(keys::copy)),
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
    c("config", -2, 0, NOKEY, &["slow"], "server", "2.0.0", "A container for server configuration commands.", "Depends on subcommand.", Exec::Container(super::config_cmd::CONFIG_SUBCOMMANDS)),
    c("client", -2, 0, NOKEY, &["slow"], "connection", "2.4.0", "A container for client connection commands.", "Depends on subcommand.", Exec::Container(super::client_cmd::CLIENT_SUBCOMMANDS)),
    c("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE, NOKEY, &["admin", "slow", "dangerous"], "server", "1.0.0", "A container for debugging commands.", "Depends on subcommand.", Exec::Server(super::debug::debug)),
    // ---- Data types: lists, hashes, sets, sorted sets (keyspace::cmd::{lists,hashes,sets,zsets}).
    // Arity, flags, key positions, ACL categories and docs as Redis 7.0.15 reports them
    // (COMMAND INFO / COMMAND DOCS); commands with numkeys arguments report (0, 0, 0) as
    // Redis does for movable keys. The blocking variants are served by the server.
    // Lists.
    c("lpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "list", "fast"], "list", "1.0.0", "Prepend one or multiple elements to a list", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", ks(lists::lpush)),
    c("rpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "list", "fast"], "list", "1.0.0", "Append one or multiple elements to a list", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", ks(lists::rpush)),
    c("lpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "list", "fast"], "list", "2.2.0", "Prepend an element to a list, only if the list exists", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", ks(lists::lpushx)),
    c("rpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "list", "fast"], "list", "2.2.0", "Append an element to a list, only if the list exists", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", ks(lists::rpushx)),
    c("lpop", -2, WRITE | FAST, (1, 1, 1), &["write", "list", "fast"], "list", "1.0.0", "Remove and get the first elements in a list", "O(N) where N is the number of elements returned", ks(lists::lpop)),
    c("rpop", -2, WRITE | FAST, (1, 1, 1), &["write", "list", "fast"], "list", "1.0.0", "Remove and get the last elements in a list", "O(N) where N is the number of elements returned", ks(lists::rpop)),
    c("llen", 2, READONLY | FAST, (1, 1, 1), &["read", "list", "fast"], "list", "1.0.0", "Get the length of a list", "O(1)", ks(lists::llen)),
    c("lrange", 4, READONLY, (1, 1, 1), &["read", "list", "slow"], "list", "1.0.0", "Get a range of elements from a list", "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.", ks(lists::lrange)),
    c("lindex", 3, READONLY, (1, 1, 1), &["read", "list", "slow"], "list", "1.0.0", "Get an element from a list by its index", "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).", ks(lists::lindex)),
    c("lset", 4, WRITE | DENYOOM, (1, 1, 1), &["write", "list", "slow"], "list", "1.0.0", "Set the value of an element in a list by its index", "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).", ks(lists::lset)),
    c("linsert", 5, WRITE | DENYOOM, (1, 1, 1), &["write", "list", "slow"], "list", "2.2.0", "Insert an element before or after another element in a list", "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).", ks(lists::linsert)),
    c("lrem", 4, WRITE, (1, 1, 1), &["write", "list", "slow"], "list", "1.0.0", "Remove elements from a list", "O(N+M) where N is the length of the list and M is the number of elements removed.", ks(lists::lrem)),
    c("ltrim", 4, WRITE, (1, 1, 1), &["write", "list", "slow"], "list", "1.0.0", "Trim a list to the specified range", "O(N) where N is the number of elements to be removed by the operation.", ks(lists::ltrim)),
    c("lpos", -3, READONLY, (1, 1, 1), &["read", "list", "slow"], "list", "6.0.6", "Return the index of matching elements on a list", "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.", ks(lists::lpos)),
    c("lmove", 5, WRITE | DENYOOM, (1, 2, 1), &["write", "list", "slow"], "list", "6.2.0", "Pop an element from a list, push it to another list and return it", "O(1)", ks(lists::lmove)),
    c("rpoplpush", 3, WRITE | DENYOOM, (1, 2, 1), &["write", "list", "slow"], "list", "1.2.0", "Remove the last element in a list, prepend it to another list and return it", "O(1)", ks(lists::rpoplpush)),
    c("lmpop", -4, WRITE, (0, 0, 0), &["write", "list", "slow"], "list", "7.0.0", "Pop elements from a list", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", ks(lists::lmpop)),
    // Hashes.
    c("hset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "hash", "fast"], "hash", "2.0.0", "Set the string value of a hash field", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", ks(hashes::hset)),
    c("hsetnx", 4, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "hash", "fast"], "hash", "2.0.0", "Set the value of a hash field, only if the field does not exist", "O(1)", ks(hashes::hsetnx)),
    c("hget", 3, READONLY | FAST, (1, 1, 1), &["read", "hash", "fast"], "hash", "2.0.0", "Get the value of a hash field", "O(1)", ks(hashes::hget)),
    c("hmget", -3, READONLY | FAST, (1, 1, 1), &["read", "hash", "fast"], "hash", "2.0.0", "Get the values of all the given hash fields", "O(N) where N is the number of fields being requested.", ks(hashes::hmget)),
    c("hmset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "hash", "fast"], "hash", "2.0.0", "Set multiple hash fields to multiple values", "O(N) where N is the number of fields being set.", ks(hashes::hmset)),
    c("hdel", -3, WRITE | FAST, (1, 1, 1), &["write", "hash", "fast"], "hash", "2.0.0", "Delete one or more hash fields", "O(N) where N is the number of fields to be removed.", ks(hashes::hdel)),
    c("hlen", 2, READONLY | FAST, (1, 1, 1), &["read", "hash", "fast"], "hash", "2.0.0", "Get the number of fields in a hash", "O(1)", ks(hashes::hlen)),
    c("hexists", 3, READONLY | FAST, (1, 1, 1), &["read", "hash", "fast"], "hash", "2.0.0", "Determine if a hash field exists", "O(1)", ks(hashes::hexists)),
    c("hgetall", 2, READONLY, (1, 1, 1), &["read", "hash", "slow"], "hash", "2.0.0", "Get all the fields and values in a hash", "O(N) where N is the size of the hash.", ks(hashes::hgetall)),
    c("hkeys", 2, READONLY, (1, 1, 1), &["read", "hash", "slow"], "hash", "2.0.0", "Get all the fields in a hash", "O(N) where N is the size of the hash.", ks(hashes::hkeys)),
    c("hvals", 2, READONLY, (1, 1, 1), &["read", "hash", "slow"], "hash", "2.0.0", "Get all the values in a hash", "O(N) where N is the size of the hash.", ks(hashes::hvals)),
    c("hincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "hash", "fast"], "hash", "2.0.0", "Increment the integer value of a hash field by the given number", "O(1)", ks(hashes::hincrby)),
    c("hincrbyfloat", 4, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "hash", "fast"], "hash", "2.6.0", "Increment the float value of a hash field by the given amount", "O(1)", ks(hashes::hincrbyfloat)),
    c("hstrlen", 3, READONLY | FAST, (1, 1, 1), &["read", "hash", "fast"], "hash", "3.2.0", "Get the length of the value of a hash field", "O(1)", ks(hashes::hstrlen)),
    c("hrandfield", -2, READONLY, (1, 1, 1), &["read", "hash", "slow"], "hash", "6.2.0", "Get one or multiple random fields from a hash", "O(N) where N is the number of fields returned", ks(hashes::hrandfield)),
    c("hscan", -3, READONLY, (1, 1, 1), &["read", "hash", "slow"], "hash", "2.8.0", "Incrementally iterate hash fields and associated values", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", ks(hashes::hscan)),
    // Sets.
    c("sadd", -3, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "set", "fast"], "set", "1.0.0", "Add one or more members to a set", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", ks(sets::sadd)),
    c("srem", -3, WRITE | FAST, (1, 1, 1), &["write", "set", "fast"], "set", "1.0.0", "Remove one or more members from a set", "O(N) where N is the number of members to be removed.", ks(sets::srem)),
    c("smembers", 2, READONLY, (1, 1, 1), &["read", "set", "slow"], "set", "1.0.0", "Get all the members in a set", "O(N) where N is the set cardinality.", ks(sets::smembers)),
    c("sismember", 3, READONLY | FAST, (1, 1, 1), &["read", "set", "fast"], "set", "1.0.0", "Determine if a given value is a member of a set", "O(1)", ks(sets::sismember)),
    c("smismember", -3, READONLY | FAST, (1, 1, 1), &["read", "set", "fast"], "set", "6.2.0", "Returns the membership associated with the given elements for a set", "O(N) where N is the number of elements being checked for membership", ks(sets::smismember)),
    c("scard", 2, READONLY | FAST, (1, 1, 1), &["read", "set", "fast"], "set", "1.0.0", "Get the number of members in a set", "O(1)", ks(sets::scard)),
    c("spop", -2, WRITE | FAST, (1, 1, 1), &["write", "set", "fast"], "set", "1.0.0", "Remove and return one or multiple random members from a set", "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", ks(sets::spop)),
    c("srandmember", -2, READONLY, (1, 1, 1), &["read", "set", "slow"], "set", "1.0.0", "Get one or multiple random members from a set", "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", ks(sets::srandmember)),
    c("smove", 4, WRITE | FAST, (1, 2, 1), &["write", "set", "fast"], "set", "1.0.0", "Move a member from one set to another", "O(1)", ks(sets::smove)),
    c("sinter", -2, READONLY, (1, -1, 1), &["read", "set", "slow"], "set", "1.0.0", "Intersect multiple sets", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", ks(sets::sinter)),
    c("sunion", -2, READONLY, (1, -1, 1), &["read", "set", "slow"], "set", "1.0.0", "Add multiple sets", "O(N) where N is the total number of elements in all given sets.", ks(sets::sunion)),
    c("sdiff", -2, READONLY, (1, -1, 1), &["read", "set", "slow"], "set", "1.0.0", "Subtract multiple sets", "O(N) where N is the total number of elements in all given sets.", ks(sets::sdiff)),
    c("sinterstore", -3, WRITE | DENYOOM, (1, -1, 1), &["write", "set", "slow"], "set", "1.0.0", "Intersect multiple sets and store the resulting set in a key", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", ks(sets::sinterstore)),
    c("sunionstore", -3, WRITE | DENYOOM, (1, -1, 1), &["write", "set", "slow"], "set", "1.0.0", "Add multiple sets and store the resulting set in a key", "O(N) where N is the total number of elements in all given sets.", ks(sets::sunionstore)),
    c("sdiffstore", -3, WRITE | DENYOOM, (1, -1, 1), &["write", "set", "slow"], "set", "1.0.0", "Subtract multiple sets and store the resulting set in a key", "O(N) where N is the total number of elements in all given sets.", ks(sets::sdiffstore)),
    c("sintercard", -3, READONLY, (0, 0, 0), &["read", "set", "slow"], "set", "7.0.0", "Intersect multiple sets and return the cardinality of the result", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", ks(sets::sintercard)),
    c("sscan", -3, READONLY, (1, 1, 1), &["read", "set", "slow"], "set", "2.8.0", "Incrementally iterate Set elements", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", ks(sets::sscan)),
    // Sorted sets.
    c("zadd", -4, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "sortedset", "fast"], "sorted-set", "1.2.0", "Add one or more members to a sorted set, or update its score if it already exists", "O(log(N)) for each item added, where N is the number of elements in the sorted set.", ks(zsets::zadd)),
    c("zrem", -3, WRITE | FAST, (1, 1, 1), &["write", "sortedset", "fast"], "sorted-set", "1.2.0", "Remove one or more members from a sorted set", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", ks(zsets::zrem)),
    c("zscore", 3, READONLY | FAST, (1, 1, 1), &["read", "sortedset", "fast"], "sorted-set", "1.2.0", "Get the score associated with the given member in a sorted set", "O(1)", ks(zsets::zscore)),
    c("zmscore", -3, READONLY | FAST, (1, 1, 1), &["read", "sortedset", "fast"], "sorted-set", "6.2.0", "Get the score associated with the given members in a sorted set", "O(N) where N is the number of members being requested.", ks(zsets::zmscore)),
    c("zincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), &["write", "sortedset", "fast"], "sorted-set", "1.2.0", "Increment the score of a member in a sorted set", "O(log(N)) where N is the number of elements in the sorted set.", ks(zsets::zincrby)),
    c("zcard", 2, READONLY | FAST, (1, 1, 1), &["read", "sortedset", "fast"], "sorted-set", "1.2.0", "Get the number of members in a sorted set", "O(1)", ks(zsets::zcard)),
    c("zcount", 4, READONLY | FAST, (1, 1, 1), &["read", "sortedset", "fast"], "sorted-set", "2.0.0", "Count the members in a sorted set with scores within the given values", "O(log(N)) with N being the number of elements in the sorted set.", ks(zsets::zcount)),
    c("zlexcount", 4, READONLY | FAST, (1, 1, 1), &["read", "sortedset", "fast"], "sorted-set", "2.8.9", "Count the number of members in a sorted set between a given lexicographical range", "O(log(N)) with N being the number of elements in the sorted set.", ks(zsets::zlexcount)),
    c("zrank", 3, READONLY | FAST, (1, 1, 1), &["read", "sortedset", "fast"], "sorted-set", "2.0.0", "Determine the index of a member in a sorted set", "O(log(N))", ks(zsets::zrank)),
    c("zrevrank", 3, READONLY | FAST, (1, 1, 1), &["read", "sortedset", "fast"], "sorted-set", "2.0.0", "Determine the index of a member in a sorted set, with scores ordered from high to low", "O(log(N))", ks(zsets::zrevrank)),
    c("zrange", -4, READONLY, (1, 1, 1), &["read", "sortedset", "slow"], "sorted-set", "1.2.0", "Return a range of members in a sorted set", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", ks(zsets::zrange)),
    c("zrangestore", -5, WRITE | DENYOOM, (1, 2, 1), &["write", "sortedset", "slow"], "sorted-set", "6.2.0", "Store a range of members from sorted set into another key", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.", ks(zsets::zrangestore)),
    c("zrangebyscore", -4, READONLY, (1, 1, 1), &["read", "sortedset", "slow"], "sorted-set", "1.0.5", "Return a range of members in a sorted set, by score", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", ks(zsets::zrangebyscore)),
    c("zrevrangebyscore", -4, READONLY, (1, 1, 1), &["read", "sortedset", "slow"], "sorted-set", "2.2.0", "Return a range of members in a sorted set, by score, with scores ordered from high to low", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", ks(zsets::zrevrangebyscore)),
    c("zrangebylex", -4, READONLY, (1, 1, 1), &["read", "sortedset", "slow"], "sorted-set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", ks(zsets::zrangebylex)),
    c("zrevrangebylex", -4, READONLY, (1, 1, 1), &["read", "sortedset", "slow"], "sorted-set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", ks(zsets::zrevrangebylex)),
    c("zrevrange", -4, READONLY, (1, 1, 1), &["read", "sortedset", "slow"], "sorted-set", "1.2.0", "Return a range of members in a sorted set, by index, with scores ordered from high to low", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", ks(zsets::zrevrange)),
    c("zremrangebyrank", 4, WRITE, (1, 1, 1), &["write", "sortedset", "slow"], "sorted-set", "2.0.0", "Remove all members in a sorted set within the given indexes", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", ks(zsets::zremrangebyrank)),
    c("zremrangebyscore", 4, WRITE, (1, 1, 1), &["write", "sortedset", "slow"], "sorted-set", "1.2.0", "Remove all members in a sorted set within the given scores", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", ks(zsets::zremrangebyscore)),
    c("zremrangebylex", 4, WRITE, (1, 1, 1), &["write", "sortedset", "slow"], "sorted-set", "2.8.9", "Remove all members in a sorted set between the given lexicographical range", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", ks(zsets::zremrangebylex)),
    c("zpopmin", -2, WRITE | FAST, (1, 1, 1), &["write", "sortedset", "fast"], "sorted-set", "5.0.0", "Remove and return members with the lowest scores in a sorted set", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", ks(zsets::zpopmin)),
    c("zpopmax", -2, WRITE | FAST, (1, 1, 1), &["write", "sortedset", "fast"], "sorted-set", "5.0.0", "Remove and return members with the highest scores in a sorted set", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", ks(zsets::zpopmax)),
    c("zunionstore", -4, WRITE | DENYOOM, (1, 1, 1), &["write", "sortedset", "slow"], "sorted-set", "2.0.0", "Add multiple sorted sets and store the resulting sorted set in a new key", "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", ks(zsets::zunionstore)),
    c("zinterstore", -4, WRITE | DENYOOM, (1, 1, 1), &["write", "sortedset", "slow"], "sorted-set", "2.0.0", "Intersect multiple sorted sets and store the resulting sorted set in a new key", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", ks(zsets::zinterstore)),
    c("zdiffstore", -4, WRITE | DENYOOM, (1, 1, 1), &["write", "sortedset", "slow"], "sorted-set", "6.2.0", "Subtract multiple sorted sets and store the resulting sorted set in a new key", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", ks(zsets::zdiffstore)),
    c("zunion", -3, READONLY, (0, 0, 0), &["read", "sortedset", "slow"], "sorted-set", "6.2.0", "Add multiple sorted sets", "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", ks(zsets::zunion)),
    c("zinter", -3, READONLY, (0, 0, 0), &["read", "sortedset", "slow"], "sorted-set", "6.2.0", "Intersect multiple sorted sets", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", ks(zsets::zinter)),
    c("zdiff", -3, READONLY, (0, 0, 0), &["read", "sortedset", "slow"], "sorted-set", "6.2.0", "Subtract multiple sorted sets", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", ks(zsets::zdiff)),
    c("zintercard", -3, READONLY, (0, 0, 0), &["read", "sortedset", "slow"], "sorted-set", "7.0.0", "Intersect multiple sorted sets and return the cardinality of the result", "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.", ks(zsets::zintercard)),
    c("zrandmember", -2, READONLY, (1, 1, 1), &["read", "sortedset", "slow"], "sorted-set", "6.2.0", "Get one or multiple random elements from a sorted set", "O(N) where N is the number of elements returned", ks(zsets::zrandmember)),
    c("zscan", -3, READONLY, (1, 1, 1), &["read", "sortedset", "slow"], "sorted-set", "2.8.0", "Incrementally iterate sorted sets elements and associated scores", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", ks(zsets::zscan)),
    c("zmpop", -4, WRITE, (0, 0, 0), &["write", "sortedset", "slow"], "sorted-set", "7.0.0", "Remove and return members with scores in a sorted set", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", ks(zsets::zmpop)),
    // ---- End of data types.
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
