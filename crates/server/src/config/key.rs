//! Typed handles of the directives the server reads. Each handle is the
//! directive's position in the table, found at compile time: a misspelt
//! name, or a boolean read as a number, does not build (instead of reading
//! as `false`, 0 or "" at run time), and a read is an index, not a search.

use super::table::{Kind, DIRECTIVES};

/// A `yes`/`no` directive.
#[derive(Debug, Clone, Copy)]
pub struct Flag(pub(super) usize);

/// An integer or byte-count directive.
#[derive(Debug, Clone, Copy)]
pub struct Number(pub(super) usize);

/// A directive of any kind, read as its value or as CONFIG GET shows it.
#[derive(Debug, Clone, Copy)]
pub struct Setting(pub(super) usize);

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Position of a canonical directive name in the table; evaluated only in
/// the constants below, so an unknown name stops the build.
#[expect(
    clippy::panic,
    reason = "evaluated only in the constants below, where a panic is a build error"
)]
const fn position(name: &str) -> usize {
    let mut i = 0;
    while i < DIRECTIVES.len() {
        if same(DIRECTIVES[i].name, name) {
            return i;
        }
        i += 1;
    }
    panic!("not a directive of the table")
}

#[expect(
    clippy::panic,
    reason = "evaluated only in the constants below, where a panic is a build error"
)]
const fn flag(name: &str) -> Flag {
    let i = position(name);
    match DIRECTIVES[i].kind {
        Kind::Bool => Flag(i),
        _ => panic!("not a yes/no directive"),
    }
}

#[expect(
    clippy::panic,
    reason = "evaluated only in the constants below, where a panic is a build error"
)]
const fn number(name: &str) -> Number {
    let i = position(name);
    match DIRECTIVES[i].kind {
        Kind::Int { .. } | Kind::Mem { .. } => Number(i),
        _ => panic!("not a numeric directive"),
    }
}

const fn setting(name: &str) -> Setting {
    Setting(position(name))
}

macro_rules! keys {
    ($($ctor:ident { $($id:ident = $name:literal),* $(,)? })*) => {
        $($(
            #[doc = concat!("`", $name, "`")]
            pub const $id: keys!(@ty $ctor) = $ctor($name);
        )*)*
    };
    (@ty flag) => { Flag };
    (@ty number) => { Number };
    (@ty setting) => { Setting };
}

keys! {
    flag {
        ACTIVEREHASHING = "activerehashing",
        ALWAYS_SHOW_LOGO = "always-show-logo",
        AOF_LOAD_TRUNCATED = "aof-load-truncated",
        APPENDONLY = "appendonly",
        DAEMONIZE = "daemonize",
        LAZYFREE_LAZY_USER_DEL = "lazyfree-lazy-user-del",
        LAZYFREE_LAZY_USER_FLUSH = "lazyfree-lazy-user-flush",
        PROTECTED_MODE = "protected-mode",
        RDBCHECKSUM = "rdbchecksum",
        RDBCOMPRESSION = "rdbcompression",
        REPL_DISKLESS_SYNC = "repl-diskless-sync",
        REPLICA_ANNOUNCED = "replica-announced",
        REPLICA_READ_ONLY = "replica-read-only",
        REPLICA_SERVE_STALE_DATA = "replica-serve-stale-data",
        STOP_WRITES_ON_BGSAVE_ERROR = "stop-writes-on-bgsave-error",
    }
    number {
        AUTO_AOF_REWRITE_MIN_SIZE = "auto-aof-rewrite-min-size",
        AUTO_AOF_REWRITE_PERCENTAGE = "auto-aof-rewrite-percentage",
        CLIENT_QUERY_BUFFER_LIMIT = "client-query-buffer-limit",
        DATABASES = "databases",
        HASH_MAX_LISTPACK_ENTRIES = "hash-max-listpack-entries",
        HASH_MAX_LISTPACK_VALUE = "hash-max-listpack-value",
        HZ = "hz",
        KEY_LOAD_DELAY = "key-load-delay",
        LOADING_PROCESS_EVENTS_INTERVAL_BYTES = "loading-process-events-interval-bytes",
        LUA_TIME_LIMIT = "lua-time-limit",
        MAXCLIENTS = "maxclients",
        MAXMEMORY = "maxmemory",
        MIN_REPLICAS_MAX_LAG = "min-replicas-max-lag",
        MIN_REPLICAS_TO_WRITE = "min-replicas-to-write",
        PORT = "port",
        PROTO_MAX_BULK_LEN = "proto-max-bulk-len",
        RDB_KEY_SAVE_DELAY = "rdb-key-save-delay",
        REPL_BACKLOG_SIZE = "repl-backlog-size",
        REPL_BACKLOG_TTL = "repl-backlog-ttl",
        REPL_DISKLESS_SYNC_DELAY = "repl-diskless-sync-delay",
        REPL_DISKLESS_SYNC_MAX_REPLICAS = "repl-diskless-sync-max-replicas",
        REPL_PING_REPLICA_PERIOD = "repl-ping-replica-period",
        REPL_TIMEOUT = "repl-timeout",
        REPLICA_ANNOUNCE_PORT = "replica-announce-port",
        REPLICA_PRIORITY = "replica-priority",
        SET_MAX_INTSET_ENTRIES = "set-max-intset-entries",
        SHUTDOWN_TIMEOUT = "shutdown-timeout",
        TCP_KEEPALIVE = "tcp-keepalive",
        TIMEOUT = "timeout",
        ZSET_MAX_LISTPACK_ENTRIES = "zset-max-listpack-entries",
        ZSET_MAX_LISTPACK_VALUE = "zset-max-listpack-value",
    }
    setting {
        APPENDDIRNAME = "appenddirname",
        APPENDFILENAME = "appendfilename",
        APPENDFSYNC = "appendfsync",
        BIND = "bind",
        CLIENT_OUTPUT_BUFFER_LIMIT = "client-output-buffer-limit",
        DBFILENAME = "dbfilename",
        DIR = "dir",
        ENABLE_DEBUG_COMMAND = "enable-debug-command",
        LOGFILE = "logfile",
        LOGLEVEL = "loglevel",
        MASTERAUTH = "masterauth",
        MASTERUSER = "masteruser",
        MAXMEMORY_POLICY = "maxmemory-policy",
        PIDFILE = "pidfile",
        REPL_DISKLESS_LOAD = "repl-diskless-load",
        REPLICA_ANNOUNCE_IP = "replica-announce-ip",
        REPLICAOF = "replicaof",
        REQUIREPASS = "requirepass",
        SAVE = "save",
    }
}
