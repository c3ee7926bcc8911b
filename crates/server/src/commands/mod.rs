//! Command dispatch: table lookup, authentication and arity checks, then the
//! handler; the reply is a value the connection encodes.

pub mod blocking;
pub mod busy;
pub mod client;
pub mod config;
pub mod debug;
pub mod generic;
pub mod introspect;
pub mod persistence;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod table;
pub mod tx;

use crate::config::key;
use std::collections::HashMap;

use bytes::Bytes;
use keyspace::cmd::Handler;
use keyspace::Call;
use resp_codec::Frame;

use crate::server::Server;
use crate::session::Session;
use table::{flag, CommandSpec, COMMANDS};

/// A handler that needs the whole server (configuration, clients, stats).
pub type ServerHandler = fn(&mut Server, &mut Session, &mut Call<'_>) -> Frame;

/// What runs a command.
#[derive(Clone, Copy)]
pub enum Exec {
    /// A keyspace command.
    Keyspace(Handler),
    /// A server command.
    Server(ServerHandler),
    /// A container whose second argument names a subcommand.
    Container(&'static [CommandSpec]),
}

impl std::fmt::Debug for Exec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exec::Keyspace(_) => f.write_str("Keyspace"),
            Exec::Server(_) => f.write_str("Server"),
            Exec::Container(s) => write!(f, "Container({})", s.len()),
        }
    }
}

/// Longest command name looked up without allocating.
const NAME_MAX: usize = 32;

/// Name-to-spec index over the static table.
#[derive(Debug)]
pub struct CommandTable {
    map: HashMap<&'static [u8], &'static CommandSpec, foldhash::fast::RandomState>,
    list: Vec<&'static CommandSpec>,
    /// `parent|sub` names of subcommands, by spec address.
    full: HashMap<usize, &'static str, foldhash::fast::RandomState>,
}

/// The command groups that make up the table.
const GROUPS: &[&[CommandSpec]] = &[
    COMMANDS,
    tx::TX_COMMANDS,
    pubsub::PUBSUB_COMMANDS,
    persistence::PERSISTENCE_COMMANDS,
    replication::REPLICATION_COMMANDS,
    blocking::BLOCKING_COMMANDS,
    scripting::SCRIPTING_COMMANDS,
];

/// The keyspace crate's command rows as server specs, built once.
fn keyspace_commands() -> &'static [CommandSpec] {
    static SPECS: std::sync::OnceLock<Vec<CommandSpec>> = std::sync::OnceLock::new();
    SPECS.get_or_init(|| {
        keyspace::cmd::ALL_SPECS
            .iter()
            .flat_map(|g| g.iter())
            .map(|k| k.with_exec(Exec::Keyspace(k.exec)))
            .collect()
    })
}

impl Default for CommandTable {
    fn default() -> Self {
        let mut map = HashMap::default();
        let mut list = Vec::new();
        let mut full = HashMap::default();
        let groups = std::iter::once(keyspace_commands()).chain(GROUPS.iter().copied());
        for c in groups.flat_map(|g| g.iter()) {
            map.insert(c.name.as_bytes(), c);
            list.push(c);
            full.insert(c as *const CommandSpec as usize, c.name);
            if let Exec::Container(subs) = c.exec {
                for sub in subs {
                    // Built once at start-up for a fixed table: bounded.
                    let name: &'static str =
                        Box::leak(format!("{}|{}", c.name, sub.name).into_boxed_str());
                    full.insert(sub as *const CommandSpec as usize, name);
                }
            }
        }
        CommandTable { map, list, full }
    }
}

/// Finds `name` (any case) among `specs`.
pub fn find_in(specs: &'static [CommandSpec], name: &[u8]) -> Option<&'static CommandSpec> {
    specs
        .iter()
        .find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
}

impl CommandTable {
    /// Looks a command up by name in any case.
    pub fn lookup(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        if name.len() > NAME_MAX {
            return None;
        }
        let mut buf = [0u8; NAME_MAX];
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        self.map.get(&*lower).copied()
    }

    /// The name Redis reports for a command: `client|list` for subcommands.
    pub fn full_name(&self, spec: &'static CommandSpec) -> &'static str {
        self.full
            .get(&(spec as *const CommandSpec as usize))
            .copied()
            .unwrap_or(spec.name)
    }

    /// Every top-level command.
    pub fn all(&self) -> &[&'static CommandSpec] {
        &self.list
    }
}

/// Redis's reply to an unknown command, quoting up to 128 bytes of arguments.
pub fn unknown_command(args: &[Bytes]) -> Frame {
    let name = args.first().map(|a| clip(a, 128)).unwrap_or_default();
    let mut quoted = String::new();
    for a in args.iter().skip(1) {
        if quoted.len() >= 128 {
            break;
        }
        let room = 128 - quoted.len();
        quoted.push('\'');
        quoted.push_str(&clip(a, room));
        quoted.push_str("' ");
    }
    error_text(&format!(
        "ERR unknown command '{name}', with args beginning with: {quoted}"
    ))
}

fn clip(a: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&a[..a.len().min(max)]).into_owned()
}

/// Redis's reply to a subcommand given the wrong arguments: it names the
/// subcommand as the client typed it.
pub fn subcommand_syntax_error(c: &Call<'_>, parent: &str) -> Frame {
    error_text(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {parent} HELP.",
        clip(c.arg(1), 128)
    ))
}

/// An error reply whose text may contain client bytes: line breaks are
/// replaced so the reply stays one protocol line, as Redis does.
pub fn error_text(msg: &str) -> Frame {
    let clean: String = msg
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    Frame::Error(Bytes::from(clean))
}

/// Resolves a container's subcommand, or the error Redis gives.
pub fn resolve_sub(
    parent: &'static CommandSpec,
    subs: &'static [CommandSpec],
    args: &[Bytes],
) -> Result<(&'static CommandSpec, String), Frame> {
    let Some(sub_name) = args.get(1) else {
        return Err(error_text(&format!(
            "ERR wrong number of arguments for '{}' command",
            parent.name
        )));
    };
    match find_in(subs, sub_name) {
        Some(sub) => Ok((sub, format!("{}|{}", parent.name, sub.name))),
        None => Err(error_text(&format!(
            "ERR unknown subcommand '{}'. Try {} HELP.",
            clip(sub_name, 128),
            parent.name.to_ascii_uppercase()
        ))),
    }
}

/// Runs one client request: checks, then the command (or queues it inside
/// MULTI), then sends what it changed down the replication stream.
pub fn dispatch(server: &mut Server, sess: &mut Session, args: &[Bytes], now_ms: i64) -> Frame {
    let before = server.repl_offset();
    let reply = check_and_run(server, sess, args, now_ms);
    server.collect_garbage();
    server.flush_propagation();
    if !server.blocking.ready.is_empty() {
        blocking::serve_ready(server);
    }
    // WAIT waits for this client's own last write, so only a request that
    // propagated something moves its target (WAIT's GETACK does not).
    let after = server.repl_offset();
    if after != before
        && !args
            .first()
            .is_some_and(|a| a.eq_ignore_ascii_case(b"wait"))
    {
        sess.write_offset = after;
    }
    reply
}

fn unix_ms_u64() -> u64 {
    crate::server::unix_ms() as u64
}

/// Commands a RESP2 client may send while subscribed.
const SUBSCRIBED_OK: &[&str] = &[
    "subscribe",
    "ssubscribe",
    "unsubscribe",
    "sunsubscribe",
    "psubscribe",
    "punsubscribe",
    "ping",
    "quit",
    "reset",
];

/// Commands that run immediately even inside MULTI.
const TX_CONTROL: &[&str] = &["exec", "discard", "multi", "watch", "quit", "reset"];

fn check_and_run(server: &mut Server, sess: &mut Session, args: &[Bytes], now_ms: i64) -> Frame {
    let spec = match resolve(server, sess, args) {
        Ok(spec) => spec,
        Err(e) => {
            let is_exec = args
                .first()
                .is_some_and(|a| a.eq_ignore_ascii_case(b"exec"));
            if sess.multi.is_some() && is_exec {
                // A refused EXEC ends the transaction, naming the reason.
                sess.multi = None;
                tx::unwatch_all(server, sess);
                let why = match &e {
                    Frame::Error(m) => {
                        let m = String::from_utf8_lossy(m).into_owned();
                        m.split_once(' ').map(|(_, r)| r.to_string()).unwrap_or(m)
                    }
                    _ => String::new(),
                };
                return error_text(&format!(
                    "EXECABORT Transaction discarded because of: {why}"
                ));
            }
            // A request refused before running poisons an open transaction.
            sess.flag_transaction();
            return e;
        }
    };
    if (server.saving.loading && !spec.has(flag::LOADING))
        || (server.saving.async_loading && spec.has(flag::NO_ASYNC_LOADING))
    {
        sess.flag_transaction();
        return Frame::Error(Bytes::from_static(
            b"LOADING Redis is loading the dataset in memory",
        ));
    }
    if (spec.has(flag::WRITE) || spec.name == "ping") && !sess.is_master {
        // Redis refuses PING too, so health checks see the disk error.
        if let Some(e) = persistence::writes_refused(server) {
            sess.flag_transaction();
            return Frame::Error(e);
        }
    }
    if spec.has(flag::WRITE)
        && !sess.is_master
        && !server.repl.is_replica
        && !server.repl.node.master.min_replicas_ok(unix_ms_u64())
    {
        sess.flag_transaction();
        return Frame::Error(Bytes::from_static(
            b"NOREPLICAS Not enough good replicas to write.",
        ));
    }
    if spec.has(flag::WRITE)
        && !sess.is_master
        && server.repl.is_replica
        && server.config.bool(key::REPLICA_READ_ONLY)
    {
        sess.flag_transaction();
        return Frame::Error(Bytes::from_static(
            b"READONLY You can't write against a read only replica.",
        ));
    }
    if sess.proto() == resp_codec::Protocol::Resp2
        && sess.handle.subscription_count() > 0
        && !SUBSCRIBED_OK.contains(&spec.name)
    {
        return error_text(&format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            server.commands.full_name(spec)
        ));
    }
    if server.repl.is_replica
        && !server.repl.link_up
        && !sess.is_master
        && !spec.has(flag::STALE)
        && !server.config.bool(key::REPLICA_SERVE_STALE_DATA)
    {
        sess.flag_transaction();
        return Frame::Error(Bytes::from_static(
            b"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
        ));
    }
    if sess.multi.is_some() {
        if spec.has(flag::NO_MULTI) {
            sess.flag_transaction();
            return error_text("ERR Command not allowed inside a transaction");
        }
        if !TX_CONTROL.contains(&spec.name) {
            sess.queue(args);
            return Frame::Simple(Bytes::from_static(b"QUEUED"));
        }
    }
    run(server, sess, spec, args, now_ms)
}

/// Finds the command (or subcommand) and checks authentication and arity,
/// in Redis's order.
fn resolve(server: &Server, sess: &Session, args: &[Bytes]) -> Result<&'static CommandSpec, Frame> {
    let Some(name) = args.first() else {
        return Err(Frame::Null);
    };
    let Some(mut spec) = server.commands.lookup(name) else {
        return Err(unknown_command(args));
    };
    let mut full_name = None;
    if let Exec::Container(subs) = spec.exec {
        if !(spec.name == "command" && args.len() == 1) {
            let (sub, full) = resolve_sub(spec, subs, args)?;
            spec = sub;
            full_name = Some(full);
        }
    }
    if server.auth_required() && !sess.authenticated && !spec.has(flag::NO_AUTH) {
        return Err(Frame::Error(Bytes::from_static(
            b"NOAUTH Authentication required.",
        )));
    }
    if !spec.arity_ok(args.len()) {
        let n = full_name.as_deref().unwrap_or(spec.name);
        return Err(error_text(&format!(
            "ERR wrong number of arguments for '{n}' command"
        )));
    }
    Ok(spec)
}

/// Runs a checked command and records its effects (used directly by EXEC).
pub fn run(
    server: &mut Server,
    sess: &mut Session,
    spec: &'static CommandSpec,
    args: &[Bytes],
    now_ms: i64,
) -> Frame {
    let full = server.commands.full_name(spec);
    sess.handle.last_cmd.set(full);
    server.stats.count_command(full);
    let start_db = sess.db();
    let mut call = Call::new(args, start_db, now_ms);
    call.resp3 = sess.proto() == resp_codec::Protocol::Resp3;
    let reply = match spec.exec {
        Exec::Keyspace(h) => h(&mut server.ks, &mut call),
        Exec::Server(h) => h(server, sess, &mut call),
        Exec::Container(_) => introspect::command_all(server, sess, &mut call),
    };
    // Only a handler that changed the call's database (SELECT) moves the
    // client; EXEC's queued SELECTs have already updated the session.
    if call.db != start_db {
        sess.set_db(call.db);
    }
    let own = server.repl.is_replica && !sess.is_master;
    server.replica_own.set_running(own);
    server.record(start_db, &call);
    server.replica_own.set_running(false);
    reply
}

/// Looks up a queued command again at EXEC time.
pub fn resolve_queued(server: &Server, args: &[Bytes]) -> Option<&'static CommandSpec> {
    let spec = server.commands.lookup(args.first()?)?;
    match spec.exec {
        Exec::Container(subs) if !(spec.name == "command" && args.len() == 1) => {
            resolve_sub(spec, subs, args).ok().map(|(s, _)| s)
        }
        _ => Some(spec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keyspace's rows and the server's merge into one table with each
    /// name once: a duplicate would silently replace a command.
    #[test]
    fn merged_table_has_each_name_once() {
        let t = CommandTable::default();
        let mut names: Vec<&str> = t.all().iter().map(|c| c.name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a command name appears twice");
        assert!(n > 150, "only {n} commands");
        assert!(matches!(
            t.lookup(b"GET").map(|c| c.exec),
            Some(Exec::Keyspace(_))
        ));
        assert!(matches!(
            t.lookup(b"zmpop").map(|c| c.exec),
            Some(Exec::Keyspace(_))
        ));
        assert!(matches!(
            t.lookup(b"flushall").map(|c| c.exec),
            Some(Exec::Server(_))
        ));
        let set = t
            .lookup(b"set")
            .map(|c| (c.arity, c.first_key, c.has(flag::WRITE)));
        assert_eq!(set, Some((-3, 1, true)));
    }
}
