//! EVAL, EVALSHA, their `_RO` forms and SCRIPT: the server's side of Lua
//! scripting. The interpreter lives in the `scripting` crate; here are the
//! checks before a script runs, and the host through which its
//! `redis.call`s run commands as the server's script client.

use std::rc::Rc;

use bytes::Bytes;
use keyspace::call::reply;
use keyspace::Call;
use resp_codec::{parse_i64, Frame, Protocol};
use scripting::{Engine, Host, LogLevel, ReplFlags, ScriptFlags};

use super::table::{c_container, c_srv, flag, CommandSpec};
use super::{Exec, ServerHandler};
use crate::config::key;
use crate::server::Server;
use crate::session::{ClientHandle, Session};

/// The server's scripting state: the engine (started at the first script,
/// so a server that never runs one never pays for an interpreter) and the
/// client scripts run their commands as.
#[derive(Debug)]
pub struct Scripting {
    engine: Option<Engine>,
    client: Rc<ClientHandle>,
}

impl Default for Scripting {
    fn default() -> Self {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        Scripting {
            engine: None,
            client: Rc::new(ClientHandle::new(0, addr, addr, 0)),
        }
    }
}

impl Scripting {
    /// The engine, started on first use.
    fn engine(&mut self) -> Result<&mut Engine, Frame> {
        if self.engine.is_none() {
            match Engine::new() {
                Ok(e) => self.engine = Some(e),
                Err(e) => {
                    tracing::warn!("Failed to start the Lua interpreter: {e}");
                    return Err(Frame::error("ERR the Lua interpreter could not be started"));
                }
            }
        }
        self.engine
            .as_mut()
            .ok_or_else(|| Frame::error("ERR the Lua interpreter could not be started"))
    }

    /// Cached scripts (INFO's `number_of_cached_scripts`).
    pub fn cached(&self) -> usize {
        self.engine.as_ref().map_or(0, Engine::len)
    }

    /// Bytes of the cached scripts' bodies.
    pub fn scripts_memory(&self) -> usize {
        self.engine.as_ref().map_or(0, Engine::scripts_memory)
    }

    /// Bytes the interpreter holds (Redis reports an idle VM's ~31 KB).
    pub fn vm_memory(&self) -> usize {
        self.engine.as_ref().map_or(31 * 1024, Engine::vm_memory)
    }
}

/// EVAL script numkeys [key ...] [arg ...]
pub fn eval(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    eval_generic(s, sess, c, false, false)
}

/// EVALSHA sha1 numkeys [key ...] [arg ...]
pub fn evalsha(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    eval_generic(s, sess, c, true, false)
}

/// EVAL_RO script numkeys [key ...] [arg ...]
pub fn eval_ro(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    eval_generic(s, sess, c, false, true)
}

/// EVALSHA_RO sha1 numkeys [key ...] [arg ...]
pub fn evalsha_ro(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    eval_generic(s, sess, c, true, true)
}

fn eval_generic(
    s: &mut Server,
    sess: &mut Session,
    c: &mut Call<'_>,
    by_sha: bool,
    ro: bool,
) -> Frame {
    let Some(numkeys) = parse_i64(c.arg(2)) else {
        return reply::err_static("ERR value is not an integer or out of range");
    };
    let available = c.argc() as i64 - 3;
    if numkeys > available {
        return reply::err_static("ERR Number of keys can't be greater than number of args");
    }
    if numkeys < 0 {
        return reply::err_static("ERR Number of keys can't be negative");
    }
    let engine = match s.scripting.engine() {
        Ok(e) => e,
        Err(f) => return f,
    };
    let sha = if by_sha {
        String::from_utf8_lossy(c.arg(1)).to_ascii_lowercase()
    } else {
        let body = Bytes::copy_from_slice(c.arg(1));
        match engine.load(&body) {
            Ok(sha) => sha,
            Err(f) => return f,
        }
    };
    let Some(flags) = engine.flags(&sha) else {
        return reply::err_static("NOSCRIPT No matching script. Please use EVAL.");
    };
    if let Some(refused) = refuse_run(s, sess, flags, ro) {
        return refused;
    }
    let split = 3 + numkeys as usize;
    let keys: Vec<Bytes> = (3..split)
        .map(|i| Bytes::copy_from_slice(c.arg(i)))
        .collect();
    let args: Vec<Bytes> = (split..c.argc())
        .map(|i| Bytes::copy_from_slice(c.arg(i)))
        .collect();
    // The engine leaves the server for the run, so the script's commands
    // can borrow the server as any command does.
    let Some(mut engine) = s.scripting.engine.take() else {
        return reply::err_static("ERR the Lua interpreter could not be started");
    };
    let mut script_sess = Session::new(s.scripting.client.clone(), true);
    script_sess.set_db(sess.db());
    script_sess.is_master = sess.is_master;
    // Scripts never block: blocking commands act as they do in EXEC.
    script_sess.multi_exec = true;
    let reply = {
        let mut host = ScriptHost {
            server: s,
            sess: script_sess,
            read_only: ro || flags.has(ScriptFlags::NO_WRITES) && !flags.has(ScriptFlags::COMPAT),
            obey: sess.is_master,
            wrote: false,
            now_ms: c.now_ms,
        };
        engine.run(&sha, &keys, &args, &mut host)
    };
    s.scripting.engine = Some(engine);
    reply
}

/// Whether a replica whose link is down serves nothing but stale-allowed
/// commands.
fn running_stale(s: &Server) -> bool {
    s.repl.is_replica && !s.repl.link_up && !s.config.bool(key::REPLICA_SERVE_STALE_DATA)
}

/// The checks Redis makes before a script starts (`scriptPrepareForRun`).
fn refuse_run(s: &Server, sess: &Session, flags: ScriptFlags, ro: bool) -> Option<Frame> {
    let stale = running_stale(s);
    if flags.has(ScriptFlags::COMPAT) {
        return stale.then(|| {
            Frame::error(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            )
        });
    }
    if stale && !flags.has(ScriptFlags::ALLOW_STALE) {
        return Some(Frame::error("MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script."));
    }
    if !flags.has(ScriptFlags::NO_WRITES) {
        if s.repl.is_replica && s.config.bool(key::REPLICA_READ_ONLY) && !sess.is_master {
            return Some(Frame::error(
                "READONLY Can not run script with write flag on readonly replica",
            ));
        }
        if super::persistence::writes_refused(s).is_some() && !sess.is_master {
            return Some(Frame::error("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts."));
        }
        if ro {
            return Some(Frame::error(
                "ERR Can not execute a script with write flag using *_ro command.",
            ));
        }
        if !s.repl.is_replica
            && !s
                .repl
                .node
                .master
                .min_replicas_ok(crate::server::unix_ms() as u64)
        {
            return Some(Frame::error(
                "NOREPLICAS Not enough good replicas to write.",
            ));
        }
    }
    None
}

/// The server as a script's `redis.*` calls see it.
struct ScriptHost<'a> {
    server: &'a mut Server,
    /// The script client's session (its own database and protocol).
    sess: Session,
    /// EVAL_RO / EVALSHA_RO, or a `no-writes` script.
    read_only: bool,
    /// The caller is the master link or the AOF: its writes are obeyed.
    obey: bool,
    /// A write already ran: later writes cannot be refused half-way.
    wrote: bool,
    /// The script's frozen time.
    now_ms: i64,
}

impl ScriptHost<'_> {
    /// Finds the command as `scriptCall` does, with its errors.
    fn resolve(&self, args: &[Bytes]) -> Result<&'static CommandSpec, Frame> {
        let unknown = || Frame::error("ERR Unknown Redis command called from script");
        let mut spec = args
            .first()
            .and_then(|n| self.server.commands.lookup(n))
            .ok_or_else(unknown)?;
        if let Exec::Container(subs) = spec.exec {
            if args.len() > 1 || spec.name != "command" {
                spec = super::resolve_sub(spec, subs, args)
                    .map_err(|_| unknown())?
                    .0;
            }
        }
        if !spec.arity_ok(args.len()) {
            return Err(Frame::error(
                "ERR Wrong number of args calling Redis command from script",
            ));
        }
        Ok(spec)
    }

    /// The per-command checks of `scriptCall`, in Redis's order.
    fn refuse(&self, spec: &CommandSpec) -> Option<Frame> {
        let s = &*self.server;
        if spec.has(flag::NOSCRIPT) {
            return Some(Frame::error(
                "ERR This Redis command is not allowed from script",
            ));
        }
        if running_stale(s) && !self.obey && !spec.has(flag::STALE) {
            return Some(Frame::error(
                "ERR Can not execute the command on a stale replica",
            ));
        }
        if self.read_only && (spec.has(flag::WRITE) || spec.has(flag::MAY_REPLICATE)) {
            return Some(Frame::error(
                "ERR Write commands are not allowed from read-only scripts.",
            ));
        }
        if !spec.has(flag::WRITE) || self.wrote {
            return None;
        }
        if s.repl.is_replica && s.config.bool(key::REPLICA_READ_ONLY) && !self.obey {
            return Some(Frame::error(
                "READONLY You can't write against a read only replica.",
            ));
        }
        if let Some(e) = super::persistence::writes_refused(s) {
            return Some(Frame::Error(e));
        }
        if !s.repl.is_replica
            && !s
                .repl
                .node
                .master
                .min_replicas_ok(crate::server::unix_ms() as u64)
        {
            return Some(Frame::error(
                "NOREPLICAS Not enough good replicas to write.",
            ));
        }
        None
    }
}

impl Host for ScriptHost<'_> {
    fn call(&mut self, args: Vec<Bytes>, resp3: bool) -> Frame {
        let spec = match self.resolve(&args) {
            Ok(spec) => spec,
            Err(e) => return e,
        };
        if let Some(refused) = self.refuse(spec) {
            return refused;
        }
        if spec.has(flag::WRITE) {
            self.wrote = true;
        }
        self.sess.set_proto(if resp3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        });
        super::run(self.server, &mut self.sess, spec, &args, self.now_ms)
    }

    fn log(&mut self, level: LogLevel, msg: &str) {
        match level {
            LogLevel::Warning => tracing::warn!("{msg}"),
            LogLevel::Notice => tracing::info!("{msg}"),
            LogLevel::Verbose => tracing::debug!("{msg}"),
            LogLevel::Debug => tracing::trace!("{msg}"),
        }
    }

    fn set_repl(&mut self, _flags: ReplFlags) {
        // Not yet acted on: every write of a script propagates to both the
        // AOF and replicas (see the scripting issue's note).
    }

    fn may_run(&mut self, args: &[Bytes]) -> Option<bool> {
        self.resolve(args).ok().map(|_| true)
    }
}

/// SCRIPT LOAD script
pub fn script_load(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let body = Bytes::copy_from_slice(c.arg(2));
    match s.scripting.engine() {
        Ok(e) => match e.load(&body) {
            Ok(sha) => Frame::Bulk(Bytes::from(sha)),
            Err(f) => f,
        },
        Err(f) => f,
    }
}

/// SCRIPT EXISTS sha1 [sha1 ...]
pub fn script_exists(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let engine = s.scripting.engine.as_ref();
    Frame::Array(
        (2..c.argc())
            .map(|i| {
                let sha = String::from_utf8_lossy(c.arg(i)).to_ascii_lowercase();
                Frame::Integer(i64::from(engine.is_some_and(|e| e.exists(&sha))))
            })
            .collect(),
    )
}

/// SCRIPT FLUSH [ASYNC|SYNC]
pub fn script_flush(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    if c.argc() > 3
        || (c.argc() == 3
            && !c.arg(2).eq_ignore_ascii_case(b"sync")
            && !c.arg(2).eq_ignore_ascii_case(b"async"))
    {
        return reply::err_static("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    // A fresh interpreter frees everything the old one held.
    s.scripting.engine = None;
    reply::ok()
}

/// SCRIPT KILL: scripts run to completion here, so none is ever running
/// when another client's command is read.
pub fn script_kill(_s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    reply::err_static("NOTBUSY No scripts in execution right now.")
}

/// SCRIPT DEBUG YES|SYNC|NO: only NO (the debugger is not built in).
pub fn script_debug(_s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    if c.arg(2).eq_ignore_ascii_case(b"no") {
        return reply::ok();
    }
    if c.arg(2).eq_ignore_ascii_case(b"yes") || c.arg(2).eq_ignore_ascii_case(b"sync") {
        return reply::err_static(
            "ERR SCRIPT DEBUG YES|SYNC needs the Lua debugger, which this server does not have",
        );
    }
    reply::err_static("ERR Use SCRIPT DEBUG YES/SYNC/NO")
}

/// SCRIPT HELP
pub fn script_help(_s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    super::generic::help_lines(&[
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    ])
}

const SCRIPTING: &[&str] = &["slow", "scripting"];
const EVAL_FLAGS: u32 = flag::NOSCRIPT | flag::SKIP_MONITOR | flag::MAY_REPLICATE | flag::STALE;
const EVAL_RO_FLAGS: u32 = flag::NOSCRIPT | flag::SKIP_MONITOR | flag::STALE | flag::READONLY;

const fn ev(
    name: &'static str,
    flags: u32,
    since: &'static str,
    summary: &'static str,
    h: ServerHandler,
) -> CommandSpec {
    c_srv(name, -3, flags, SCRIPTING, "scripting", since, summary, h)
}

/// SCRIPT's subcommands.
pub const SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    c_srv(
        "debug",
        3,
        flag::NOSCRIPT,
        SCRIPTING,
        "scripting",
        "3.2.0",
        "Set the debug mode for executed scripts.",
        script_debug,
    ),
    c_srv(
        "exists",
        -3,
        flag::NOSCRIPT,
        SCRIPTING,
        "scripting",
        "2.6.0",
        "Check existence of scripts in the script cache.",
        script_exists,
    ),
    c_srv(
        "flush",
        -2,
        flag::NOSCRIPT,
        SCRIPTING,
        "scripting",
        "2.6.0",
        "Remove all the scripts from the script cache.",
        script_flush,
    ),
    c_srv(
        "help",
        2,
        flag::LOADING | flag::STALE,
        SCRIPTING,
        "scripting",
        "5.0.0",
        "Show helpful text about the different subcommands",
        script_help,
    ),
    c_srv(
        "kill",
        2,
        flag::NOSCRIPT | flag::ALLOW_BUSY,
        SCRIPTING,
        "scripting",
        "2.6.0",
        "Kill the script currently in execution.",
        script_kill,
    ),
    c_srv(
        "load",
        3,
        flag::NOSCRIPT | flag::STALE,
        SCRIPTING,
        "scripting",
        "2.6.0",
        "Load the specified Lua script into the script cache.",
        script_load,
    ),
];

/// The scripting commands.
pub const SCRIPTING_COMMANDS: &[CommandSpec] = &[
    ev(
        "eval",
        EVAL_FLAGS,
        "2.6.0",
        "Execute a Lua script server side",
        eval,
    ),
    ev(
        "evalsha",
        EVAL_FLAGS,
        "2.6.0",
        "Execute a Lua script server side",
        evalsha,
    ),
    ev(
        "eval_ro",
        EVAL_RO_FLAGS,
        "7.0.0",
        "Execute a read-only Lua script server side",
        eval_ro,
    ),
    ev(
        "evalsha_ro",
        EVAL_RO_FLAGS,
        "7.0.0",
        "Execute a read-only Lua script server side",
        evalsha_ro,
    ),
    c_container(
        "script",
        -2,
        "scripting",
        "2.6.0",
        "A container for Lua scripts management commands",
        SCRIPT_SUBCOMMANDS,
    ),
];
