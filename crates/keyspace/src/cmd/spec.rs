//! What the command table needs to know about each keyspace command
//! (arity, flags, key positions, ACL categories, docs), declared in the
//! handler's own module so that adding a command touches one place. The
//! server merges these tables with its own commands.

use super::Handler;

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

/// Key positions as Redis reports them: (first, last, step); `last`
/// negative counts from the end, (0, 0, 0) for none or movable keys.
pub type Keys = (i32, i32, i32);

/// No key arguments (or keys found through a `numkeys` argument).
pub const NOKEY: Keys = (0, 0, 0);
/// One key, the first argument.
pub const K1: Keys = (1, 1, 1);
/// Two keys, the first two arguments.
pub const K12: Keys = (1, 2, 1);
/// Every argument is a key.
pub const KALL: Keys = (1, -1, 1);
/// Key–value pairs.
pub const KPAIRS: Keys = (1, -1, 2);

/// ACL categories shared by many commands.
pub mod acl {
    /// A slow string write.
    pub const W_STR: &[&str] = &["write", "string", "slow"];
    /// A fast string write.
    pub const WF_STR: &[&str] = &["write", "string", "fast"];
    /// A fast string read.
    pub const R_STR: &[&str] = &["read", "string", "fast"];
    /// A fast keyspace write.
    pub const W_KS: &[&str] = &["keyspace", "write", "fast"];
    /// A fast keyspace read.
    pub const R_KS: &[&str] = &["keyspace", "read", "fast"];
}

/// One command's table row: what COMMAND reports and dispatch checks.
/// `E` is what runs it: a keyspace [`Handler`] here; the server's table
/// uses the same row with its own executor type.
#[derive(Debug, Clone, Copy)]
pub struct Spec<E = Handler> {
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
    pub exec: E,
}

impl<E> Spec<E> {
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

    /// The same row run by `exec` instead.
    pub fn with_exec<F>(&self, exec: F) -> Spec<F> {
        Spec {
            name: self.name,
            arity: self.arity,
            flags: self.flags,
            first_key: self.first_key,
            last_key: self.last_key,
            step: self.step,
            acl: self.acl,
            group: self.group,
            since: self.since,
            summary: self.summary,
            complexity: self.complexity,
            exec,
        }
    }
}

/// A table row.
#[allow(clippy::too_many_arguments)]
pub const fn c<E>(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: Keys,
    acl: &'static [&'static str],
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
    exec: E,
) -> Spec<E> {
    Spec {
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
