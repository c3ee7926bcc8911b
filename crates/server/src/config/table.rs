//! The table of configuration directives. The file parser, command-line
//! options, CONFIG GET and CONFIG SET are all derived from it.

/// How a directive's arguments are parsed and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `yes` / `no`.
    Bool,
    /// An integer within bounds.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A byte count with optional unit (`10mb`, `1gb`, `512k`).
    Mem {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// Any single string.
    Str,
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// `save <seconds> <changes> [...]`, repeatable, `save ""` clears.
    Save,
    /// One or more addresses.
    Bind,
    /// `replicaof <host> <port>` or `no one`.
    ReplicaOf,
    /// `client-output-buffer-limit <class> <hard> <soft> <seconds>`.
    OutputBufferLimit,
    /// Accepted with any arguments and shown verbatim (not acted on).
    Verbatim,
}

/// One configuration directive.
#[derive(Debug, Clone, Copy)]
pub struct Directive {
    /// Canonical name.
    pub name: &'static str,
    /// Other accepted names (Redis's old `slave` spellings).
    pub aliases: &'static [&'static str],
    /// Argument grammar.
    pub kind: Kind,
    /// Default, in the form CONFIG GET shows.
    pub default: &'static str,
    /// Whether CONFIG SET may change it at run time.
    pub mutable: bool,
    /// Whether replikv acts on it (others are accepted, shown and logged once).
    pub acted: bool,
}

const fn d(
    name: &'static str,
    aliases: &'static [&'static str],
    kind: Kind,
    default: &'static str,
    mutable: bool,
    acted: bool,
) -> Directive {
    Directive {
        name,
        aliases,
        kind,
        default,
        mutable,
        acted,
    }
}

const BOOL: Kind = Kind::Bool;
const STR: Kind = Kind::Str;
const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}
const fn mem(min: i64, max: i64) -> Kind {
    Kind::Mem { min, max }
}
const LL: i64 = i64::MAX;
const IM: i64 = i32::MAX as i64;

/// Every directive replikv knows.
pub const DIRECTIVES: &[Directive] = &[
    // Network and process.
    d("bind", &[], Kind::Bind, "* -::*", false, true),
    d("port", &[], int(0, 65535), "6379", false, true),
    d("protected-mode", &[], BOOL, "yes", true, true),
    d("tcp-backlog", &[], int(0, IM), "511", false, false),
    d("unixsocket", &[], STR, "", false, false),
    d("unixsocketperm", &[], int(0, 0o777), "0", false, false),
    d("timeout", &[], int(0, IM), "0", true, true),
    d("tcp-keepalive", &[], int(0, IM), "300", true, true),
    d("daemonize", &[], BOOL, "no", false, true),
    d(
        "supervised",
        &[],
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
        false,
        false,
    ),
    d("pidfile", &[], STR, "", false, true),
    d(
        "loglevel",
        &[],
        Kind::Enum(&["debug", "verbose", "notice", "warning", "nothing"]),
        "notice",
        true,
        true,
    ),
    d("logfile", &[], STR, "", false, true),
    d("syslog-enabled", &[], BOOL, "no", false, false),
    d("syslog-ident", &[], STR, "redis", false, false),
    d("syslog-facility", &[], STR, "local0", false, false),
    d("databases", &[], int(1, IM), "16", false, true),
    d("always-show-logo", &[], BOOL, "no", false, false),
    d("set-proc-title", &[], BOOL, "yes", false, false),
    d(
        "proc-title-template",
        &[],
        STR,
        "{title} {listen-addr} {server-mode}",
        true,
        false,
    ),
    d("maxclients", &[], int(1, IM), "10000", true, true),
    d("hz", &[], int(0, IM), "10", true, true),
    d("dynamic-hz", &[], BOOL, "yes", true, false),
    // Security.
    d("requirepass", &[], STR, "", true, true),
    d("masterauth", &[], STR, "", true, true),
    d("masteruser", &[], STR, "", true, true),
    d("acllog-max-len", &[], int(0, LL), "128", true, false),
    d("aclfile", &[], STR, "", false, false),
    // Snapshotting.
    d(
        "save",
        &[],
        Kind::Save,
        "3600 1 300 100 60 10000",
        true,
        true,
    ),
    d("stop-writes-on-bgsave-error", &[], BOOL, "yes", true, true),
    d("rdbcompression", &[], BOOL, "yes", true, true),
    d("rdbchecksum", &[], BOOL, "yes", true, true),
    d(
        "sanitize-dump-payload",
        &[],
        Kind::Enum(&["no", "yes", "clients"]),
        "no",
        true,
        false,
    ),
    d("dbfilename", &[], STR, "dump.rdb", true, true),
    d("rdb-del-sync-files", &[], BOOL, "no", true, false),
    d("dir", &[], STR, "", true, true),
    // Replication.
    d("replicaof", &["slaveof"], Kind::ReplicaOf, "", false, true),
    d(
        "replica-serve-stale-data",
        &["slave-serve-stale-data"],
        BOOL,
        "yes",
        true,
        true,
    ),
    d(
        "replica-read-only",
        &["slave-read-only"],
        BOOL,
        "yes",
        true,
        true,
    ),
    d("repl-diskless-sync", &[], BOOL, "yes", true, true),
    d("repl-diskless-sync-delay", &[], int(0, IM), "5", true, true),
    d(
        "repl-diskless-sync-max-replicas",
        &[],
        int(0, IM),
        "0",
        true,
        false,
    ),
    d(
        "repl-diskless-load",
        &[],
        Kind::Enum(&["disabled", "on-empty-db", "swapdb"]),
        "disabled",
        true,
        false,
    ),
    d(
        "repl-ping-replica-period",
        &["repl-ping-slave-period"],
        int(1, IM),
        "10",
        true,
        true,
    ),
    d("repl-timeout", &[], int(1, IM), "60", true, true),
    d("repl-disable-tcp-nodelay", &[], BOOL, "no", true, false),
    d("repl-backlog-size", &[], mem(1, LL), "1048576", true, true),
    d("repl-backlog-ttl", &[], int(0, IM), "3600", true, true),
    d(
        "replica-priority",
        &["slave-priority"],
        int(0, IM),
        "100",
        true,
        true,
    ),
    d("replica-announced", &[], BOOL, "yes", true, true),
    d(
        "min-replicas-to-write",
        &["min-slaves-to-write"],
        int(0, IM),
        "0",
        true,
        true,
    ),
    d(
        "min-replicas-max-lag",
        &["min-slaves-max-lag"],
        int(0, IM),
        "10",
        true,
        true,
    ),
    d(
        "replica-announce-ip",
        &["slave-announce-ip"],
        STR,
        "",
        true,
        true,
    ),
    d(
        "replica-announce-port",
        &["slave-announce-port"],
        int(0, 65535),
        "0",
        true,
        true,
    ),
    d(
        "replica-ignore-maxmemory",
        &["slave-ignore-maxmemory"],
        BOOL,
        "yes",
        true,
        false,
    ),
    d(
        "replica-lazy-flush",
        &["slave-lazy-flush"],
        BOOL,
        "no",
        true,
        false,
    ),
    // Clients and limits.
    d(
        "client-output-buffer-limit",
        &[],
        Kind::OutputBufferLimit,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        true,
        true,
    ),
    d(
        "client-query-buffer-limit",
        &[],
        mem(1024 * 1024, LL),
        "1073741824",
        true,
        true,
    ),
    d(
        "proto-max-bulk-len",
        &[],
        mem(1024 * 1024, LL),
        "536870912",
        true,
        true,
    ),
    d("maxmemory", &[], mem(0, LL), "0", true, false),
    d(
        "maxmemory-policy",
        &[],
        Kind::Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
        "noeviction",
        true,
        false,
    ),
    d("maxmemory-samples", &[], int(1, IM), "5", true, false),
    d(
        "maxmemory-eviction-tenacity",
        &[],
        int(0, 100),
        "10",
        true,
        false,
    ),
    // Lazy freeing.
    d("lazyfree-lazy-eviction", &[], BOOL, "no", true, false),
    d("lazyfree-lazy-expire", &[], BOOL, "no", true, false),
    d("lazyfree-lazy-server-del", &[], BOOL, "no", true, false),
    d("lazyfree-lazy-user-del", &[], BOOL, "no", true, false),
    d("lazyfree-lazy-user-flush", &[], BOOL, "no", true, false),
    d("io-threads", &[], int(1, 128), "1", false, false),
    d("io-threads-do-reads", &[], BOOL, "no", false, false),
    d(
        "oom-score-adj",
        &[],
        Kind::Enum(&["no", "yes", "relative", "absolute"]),
        "no",
        true,
        false,
    ),
    d(
        "oom-score-adj-values",
        &[],
        Kind::Verbatim,
        "0 200 800",
        true,
        false,
    ),
    d("disable-thp", &[], BOOL, "yes", false, false),
    // Append only file.
    d("appendonly", &[], BOOL, "no", true, true),
    d("appendfilename", &[], STR, "appendonly.aof", false, true),
    d("appenddirname", &[], STR, "appendonlydir", false, true),
    d(
        "appendfsync",
        &[],
        Kind::Enum(&["always", "everysec", "no"]),
        "everysec",
        true,
        true,
    ),
    d("no-appendfsync-on-rewrite", &[], BOOL, "no", true, false),
    d(
        "auto-aof-rewrite-percentage",
        &[],
        int(0, IM),
        "100",
        true,
        false,
    ),
    d(
        "auto-aof-rewrite-min-size",
        &[],
        mem(0, LL),
        "67108864",
        true,
        false,
    ),
    d("aof-load-truncated", &[], BOOL, "yes", true, false),
    d("aof-use-rdb-preamble", &[], BOOL, "yes", true, false),
    d("aof-timestamp-enabled", &[], BOOL, "no", true, false),
    // Scripting, cluster, monitoring.
    d(
        "lua-time-limit",
        &["busy-reply-threshold"],
        int(0, LL),
        "5000",
        true,
        false,
    ),
    d("cluster-enabled", &[], BOOL, "no", false, false),
    d("cluster-config-file", &[], STR, "nodes.conf", false, false),
    d(
        "cluster-node-timeout",
        &[],
        int(0, LL),
        "15000",
        true,
        false,
    ),
    d(
        "slowlog-log-slower-than",
        &[],
        int(-1, LL),
        "10000",
        true,
        false,
    ),
    d("slowlog-max-len", &[], int(0, LL), "128", true, false),
    d(
        "latency-monitor-threshold",
        &[],
        int(0, LL),
        "0",
        true,
        false,
    ),
    d("latency-tracking", &[], BOOL, "yes", true, false),
    d(
        "latency-tracking-info-percentiles",
        &[],
        Kind::Verbatim,
        "50 99 99.9",
        true,
        false,
    ),
    d("notify-keyspace-events", &[], STR, "", true, false),
    // Encodings of small collections.
    d(
        "hash-max-listpack-entries",
        &["hash-max-ziplist-entries"],
        mem(0, LL),
        "128",
        true,
        false,
    ),
    d(
        "hash-max-listpack-value",
        &["hash-max-ziplist-value"],
        mem(0, LL),
        "64",
        true,
        false,
    ),
    d(
        "list-max-listpack-size",
        &["list-max-ziplist-size"],
        int(i64::MIN, LL),
        "-2",
        true,
        false,
    ),
    d("list-compress-depth", &[], int(0, IM), "0", true, false),
    d(
        "set-max-intset-entries",
        &[],
        mem(0, LL),
        "512",
        true,
        false,
    ),
    d(
        "zset-max-listpack-entries",
        &["zset-max-ziplist-entries"],
        mem(0, LL),
        "128",
        true,
        false,
    ),
    d(
        "zset-max-listpack-value",
        &["zset-max-ziplist-value"],
        mem(0, LL),
        "64",
        true,
        false,
    ),
    d("hll-sparse-max-bytes", &[], mem(0, LL), "3000", true, false),
    d(
        "stream-node-max-bytes",
        &[],
        mem(0, LL),
        "4096",
        true,
        false,
    ),
    d(
        "stream-node-max-entries",
        &[],
        int(0, LL),
        "100",
        true,
        false,
    ),
    d("activerehashing", &[], BOOL, "yes", true, false),
    d("jemalloc-bg-thread", &[], BOOL, "yes", true, false),
    d("activedefrag", &[], BOOL, "no", true, false),
    d("lfu-log-factor", &[], int(0, IM), "10", true, false),
    d("lfu-decay-time", &[], int(0, IM), "1", true, false),
    d("rdb-save-incremental-fsync", &[], BOOL, "yes", true, false),
    d(
        "aof-rewrite-incremental-fsync",
        &[],
        BOOL,
        "yes",
        true,
        false,
    ),
    d("crash-log-enabled", &[], BOOL, "yes", true, false),
    d("crash-memcheck-enabled", &[], BOOL, "yes", true, false),
    d(
        "enable-protected-configs",
        &[],
        Kind::Enum(&["no", "yes", "local"]),
        "no",
        false,
        false,
    ),
    d(
        "enable-debug-command",
        &[],
        Kind::Enum(&["no", "yes", "local"]),
        "no",
        false,
        true,
    ),
    d(
        "enable-module-command",
        &[],
        Kind::Enum(&["no", "yes", "local"]),
        "no",
        false,
        false,
    ),
    d("shutdown-timeout", &[], int(0, IM), "10", true, false),
    d(
        "shutdown-on-sigint",
        &[],
        Kind::Verbatim,
        "default",
        true,
        false,
    ),
    d(
        "shutdown-on-sigterm",
        &[],
        Kind::Verbatim,
        "default",
        true,
        false,
    ),
    d("locale-collate", &[], STR, "", true, false),
];

/// Directives accepted for compatibility with Redis's configuration files
/// but neither stored nor shown (they take repeated, free-form arguments).
pub const IGNORED: &[&str] = &["rename-command", "user", "loadmodule", "include"];

/// Finds a directive by name or alias, case-insensitively.
pub fn find(name: &str) -> Option<&'static Directive> {
    DIRECTIVES.iter().find(|d| {
        d.name.eq_ignore_ascii_case(name) || d.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}
