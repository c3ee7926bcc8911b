//! EVAL, EVALSHA, their `_RO` forms and SCRIPT: the server's side of Lua
//! scripting. The interpreter lives in the `scripting` crate; here are the
//! checks before a script runs, and the host through which its
//! `redis.call`s run commands as the server's script client.

use std::rc::Rc;

use bytes::Bytes;
use keyspace::call::reply;
use keyspace::call::Propagate;
use keyspace::Call;
use resp_codec::{parse_i64, Frame, Protocol};
use scripting::{Engine, Functions, Host, LogLevel, ReplFlags, RestorePolicy, ScriptFlags};

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
    functions: Option<Functions>,
    client: Rc<ClientHandle>,
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call `noscript`
    /// commands (a testing aid, as in Redis).
    pub disable_deny_script: bool,
}

impl Default for Scripting {
    fn default() -> Self {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        Scripting {
            engine: None,
            functions: None,
            disable_deny_script: false,
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

    /// The function libraries, started on first use.
    fn functions(&mut self) -> Result<&mut Functions, Frame> {
        if self.functions.is_none() {
            match Functions::new() {
                Ok(f) => self.functions = Some(f),
                Err(e) => {
                    tracing::warn!("Failed to start the Lua interpreter: {e}");
                    return Err(Frame::error("ERR the Lua interpreter could not be started"));
                }
            }
        }
        self.functions
            .as_mut()
            .ok_or_else(|| Frame::error("ERR the Lua interpreter could not be started"))
    }

    /// (libraries, functions) loaded.
    pub fn function_counts(&self) -> (usize, usize) {
        self.functions
            .as_ref()
            .map_or((0, 0), |f| (f.libraries().count(), f.function_count()))
    }

    /// Bytes the functions interpreter holds.
    pub fn functions_vm_memory(&self) -> usize {
        self.functions
            .as_ref()
            .map_or(31 * 1024, Functions::vm_memory)
    }

    /// The code of every library, for snapshots.
    pub fn library_codes(&self) -> Vec<Bytes> {
        self.functions
            .as_ref()
            .map(|f| f.libraries().map(|l| l.code.clone()).collect())
            .unwrap_or_default()
    }

    /// Replaces every library with those of a loaded snapshot; a library
    /// that no longer loads is logged and left out.
    pub fn restore_libraries(&mut self, codes: &[Bytes]) {
        if codes.is_empty() && self.functions.is_none() {
            return;
        }
        let functions = match self.functions() {
            Ok(f) => f,
            Err(_) => return,
        };
        if let Err(e) = functions.flush() {
            tracing::warn!("Could not restart the functions interpreter: {e}");
            return;
        }
        for code in codes {
            if let Err(e) = functions.load(code, true, &mut LoadOnly) {
                tracing::warn!("Failed loading a function library: {e}");
            }
        }
    }

    /// Whether a library of one of these codes is loaded already.
    pub fn has_any_library(&self, codes: &[Bytes]) -> bool {
        let Some(f) = self.functions.as_ref() else {
            return false;
        };
        codes.iter().any(|code| {
            scripting::functions::parse_metadata(code)
                .is_ok_and(|(name, _)| f.libraries().any(|l| l.name == name))
        })
    }

    /// Loads these libraries beside the current ones, each replacing the
    /// library of its name; one that does not load is logged and left out.
    pub fn merge_libraries(&mut self, codes: &[Bytes]) {
        if codes.is_empty() {
            return;
        }
        let Ok(functions) = self.functions() else {
            return;
        };
        for code in codes {
            if let Err(e) = functions.load(code, true, &mut LoadOnly) {
                tracing::warn!("Failed loading a function library: {e}");
            }
        }
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
        // Clients send the digest as SCRIPT LOAD gave it (lowercase); only
        // another spelling needs a copy.
        match std::str::from_utf8(c.arg(1)) {
            Ok(h) if !h.bytes().any(|b| b.is_ascii_uppercase()) => std::borrow::Cow::Borrowed(h),
            _ => std::borrow::Cow::Owned(String::from_utf8_lossy(c.arg(1)).to_ascii_lowercase()),
        }
    } else {
        let body = Bytes::copy_from_slice(c.arg(1));
        match engine.load(&body) {
            Ok(sha) => std::borrow::Cow::Owned(sha),
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
    let (keys, args) = c.args.split_at(split.min(c.args.len()));
    let keys = keys.get(3..).unwrap_or_default();
    // The engine leaves the server for the run, so the script's commands
    // can borrow the server as any command does.
    let Some(mut engine) = s.scripting.engine.take() else {
        return reply::err_static("ERR the Lua interpreter could not be started");
    };
    let reply = {
        let read_only = ro || flags.has(ScriptFlags::NO_WRITES) && !flags.has(ScriptFlags::COMPAT);
        let mut host = ScriptHost::new(s, sess, read_only, c.now_ms, true, &sha);
        host.command = c.args;
        engine.run(&sha, keys, args, &mut host)
    };
    s.scripting.engine = Some(engine);
    reply
}

/// The host of a library loaded from a file: its code may only register
/// functions and log.
struct LoadOnly;

impl Host for LoadOnly {
    fn call(&mut self, _args: Vec<Bytes>, _resp3: bool) -> Frame {
        Frame::error("ERR commands cannot run while a library loads")
    }
    fn log(&mut self, _level: LogLevel, msg: &str) {
        tracing::info!("{msg}");
    }
    fn set_repl(&mut self, _flags: ReplFlags) {}
    fn may_run(&mut self, _args: &[Bytes]) -> Option<bool> {
        None
    }
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
    // A script with a shebang (and every function) runs under the flags it
    // declares, so Redis refuses it with the errors of any command with
    // those flags, before the script's own checks.
    if stale && !flags.has(ScriptFlags::ALLOW_STALE) {
        return Some(Frame::error(
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
        ));
    }
    if !flags.has(ScriptFlags::NO_WRITES) {
        if s.repl.is_replica && s.config.bool(key::REPLICA_READ_ONLY) && !sess.is_master {
            return Some(Frame::error(
                "READONLY You can't write against a read only replica.",
            ));
        }
        if let Some(e) = super::persistence::writes_refused(s).filter(|_| !sess.is_master) {
            return Some(Frame::Error(e));
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
    /// The caller's client id (it waits for this script; others are
    /// answered `-BUSY` once the script runs long).
    caller: u64,
    /// Whether this is EVAL (or FCALL), for SCRIPT KILL vs FUNCTION KILL.
    is_eval: bool,
    /// The script's name for logs (sha or function name).
    name: String,
    /// When the script started.
    started: std::time::Instant,
    /// Whether "Slow script detected" was logged.
    slow_logged: bool,
    /// A FUNCTION LOAD run (limited to 500 ms).
    loading: bool,
    /// The command that started the script (FUNCTION STATS shows it).
    command: &'a [Bytes],
    /// Where effects went before the run (put back after it).
    outer_mask: crate::propagate::Targets,
}

impl Drop for ScriptHost<'_> {
    fn drop(&mut self) {
        // `redis.set_repl` lasts for the run that called it.
        self.server.prop.set_mask(self.outer_mask);
    }
}

impl<'a> ScriptHost<'a> {
    /// The host for a script `caller` runs.
    fn new(
        server: &'a mut Server,
        caller: &Session,
        read_only: bool,
        now_ms: i64,
        is_eval: bool,
        name: &str,
    ) -> Self {
        let outer_mask = server.prop.mask();
        let mut sess = Session::new(server.scripting.client.clone(), true);
        sess.set_db(caller.db());
        sess.is_master = caller.is_master;
        // Scripts never block: blocking commands act as they do in EXEC.
        sess.multi_exec = true;
        ScriptHost {
            server,
            sess,
            read_only,
            obey: caller.is_master,
            wrote: false,
            now_ms,
            caller: caller.handle.id,
            is_eval,
            name: name.to_string(),
            started: std::time::Instant::now(),
            slow_logged: false,
            loading: false,
            command: &[],
            outer_mask,
        }
    }

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
        if spec.has(flag::NOSCRIPT) && !s.scripting.disable_deny_script {
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

    fn set_repl(&mut self, flags: ReplFlags) {
        let chosen = crate::propagate::Targets {
            repl: flags.replicas,
            aof: flags.aof,
        };
        // Within what the run's caller allows (nothing while an AOF is
        // being replayed).
        self.server.prop.set_mask(chosen.and(self.outer_mask));
    }

    fn may_run(&mut self, args: &[Bytes]) -> Option<bool> {
        self.resolve(args).ok().map(|_| true)
    }

    fn busy(&mut self) -> Option<String> {
        let elapsed = self.started.elapsed().as_millis() as i64;
        if self.loading {
            // A library's load run gets half a second, except from the
            // master link or the AOF.
            return (elapsed > 500 && !self.obey).then(|| "ERR FUNCTION LOAD timeout".to_string());
        }
        let limit = self.server.config.int(key::LUA_TIME_LIMIT);
        if limit <= 0 || elapsed < limit {
            return None;
        }
        if !self.slow_logged {
            self.slow_logged = true;
            tracing::warn!(
                "Slow script detected: still in execution after {elapsed} milliseconds. You can try killing the script using the {} command. Script name is: {}.",
                if self.is_eval { "SCRIPT KILL" } else { "FUNCTION KILL" },
                self.name
            );
        }
        let kill = crate::commands::busy::answer_clients(
            self.server,
            &crate::commands::busy::Running {
                caller: self.caller,
                is_eval: self.is_eval,
                wrote: self.wrote,
                obey: self.obey,
                name: self.name.clone(),
                command: self.command.to_vec(),
                elapsed_ms: elapsed,
            },
        );
        kill.then(|| {
            tracing::warn!("Lua script killed by user with SCRIPT KILL.");
            "ERR Script killed by user with SCRIPT KILL...".to_string()
        })
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

/// Splits `name numkeys keys... args...` for FCALL: the keys and the
/// arguments, borrowed from the call.
fn keys_and_args<'c>(
    c: &Call<'c>,
    numkeys_error: &'static str,
) -> Result<(&'c [Bytes], &'c [Bytes]), Frame> {
    let Some(numkeys) = parse_i64(c.arg(2)) else {
        return Err(reply::err_static(numkeys_error));
    };
    if numkeys > c.argc() as i64 - 3 {
        return Err(reply::err_static(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(reply::err_static("ERR Number of keys can't be negative"));
    }
    let split = 3 + numkeys as usize;
    let (keys, args) = c.args.split_at(split.min(c.args.len()));
    Ok((keys.get(3..).unwrap_or_default(), args))
}

/// FCALL function numkeys [key ...] [arg ...]
pub fn fcall(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    fcall_generic(s, sess, c, false)
}

/// FCALL_RO function numkeys [key ...] [arg ...]
pub fn fcall_ro(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    fcall_generic(s, sess, c, true)
}

fn fcall_generic(s: &mut Server, sess: &mut Session, c: &mut Call<'_>, ro: bool) -> Frame {
    let name = String::from_utf8_lossy(c.arg(1)).into_owned();
    let flags = match s.scripting.functions() {
        Ok(f) => match f.find(&name) {
            Some(info) => info.flags,
            None => return reply::err_static("ERR Function not found"),
        },
        Err(e) => return e,
    };
    let (keys, args) = match keys_and_args(c, "ERR Bad number of keys provided") {
        Ok(x) => x,
        Err(e) => return e,
    };
    if let Some(refused) = refuse_run(s, sess, flags, ro) {
        return refused;
    }
    let Some(functions) = s.scripting.functions.take() else {
        return reply::err_static("ERR the Lua interpreter could not be started");
    };
    let reply = {
        let read_only = ro || flags.has(ScriptFlags::NO_WRITES);
        let mut host = ScriptHost::new(s, sess, read_only, c.now_ms, false, &name);
        host.command = c.args;
        functions.call(&name, keys, args, &mut host)
    };
    s.scripting.functions = Some(functions);
    reply
}

/// FUNCTION LOAD [REPLACE] code
pub fn function_load(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let mut replace = false;
    for i in 2..c.argc() - 1 {
        if c.arg(i).eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else {
            return super::error_text(&format!(
                "ERR Unknown option given: {}",
                String::from_utf8_lossy(c.arg(i))
            ));
        }
    }
    let code = Bytes::copy_from_slice(c.arg(c.argc() - 1));
    if let Err(e) = s.scripting.functions() {
        return e;
    }
    let Some(mut functions) = s.scripting.functions.take() else {
        return reply::err_static("ERR the Lua interpreter could not be started");
    };
    let result = {
        let mut host = ScriptHost::new(s, sess, true, c.now_ms, false, "");
        host.loading = true;
        functions.load(&code, replace, &mut host)
    };
    s.scripting.functions = Some(functions);
    match result {
        Ok(name) => {
            c.propagate = Propagate::Verbatim;
            s.ks.add_dirty(1);
            Frame::Bulk(Bytes::from(name))
        }
        Err(e) => Frame::Error(Bytes::from(format!("ERR {e}"))),
    }
}

/// FUNCTION DUMP
pub fn function_dump(s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    let codes = s.scripting.library_codes();
    Frame::Bulk(rdb::functions_dump_payload(codes.iter().map(|c| &c[..])))
}

/// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]
pub fn function_restore(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    if c.argc() > 4 {
        return super::subcommand_syntax_error(c, "FUNCTION");
    }
    let policy =
        match c.args.get(3).map(|a| a.to_ascii_lowercase()) {
            None => RestorePolicy::Append,
            Some(p) if p == b"append" => RestorePolicy::Append,
            Some(p) if p == b"replace" => RestorePolicy::Replace,
            Some(p) if p == b"flush" => RestorePolicy::Flush,
            Some(_) => return reply::err_static(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ),
        };
    let codes = match rdb::parse_functions_payload(c.arg(2)) {
        Ok(codes) => codes,
        Err(e) => return Frame::Error(Bytes::from(format!("ERR {e}"))),
    };
    if let Err(e) = s.scripting.functions() {
        return e;
    }
    let Some(mut functions) = s.scripting.functions.take() else {
        return reply::err_static("ERR the Lua interpreter could not be started");
    };
    let result = {
        let mut host = ScriptHost::new(s, sess, true, c.now_ms, false, "");
        host.loading = true;
        functions.restore(&codes, policy, &mut host)
    };
    s.scripting.functions = Some(functions);
    match result {
        Ok(()) => {
            c.propagate = Propagate::Verbatim;
            s.ks.add_dirty(1);
            reply::ok()
        }
        Err(e) => Frame::Error(Bytes::from(format!("ERR {e}"))),
    }
}

/// FUNCTION DELETE library
pub fn function_delete(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let name = String::from_utf8_lossy(c.arg(2)).into_owned();
    let deleted = match s.scripting.functions() {
        Ok(f) => f.delete(&name),
        Err(e) => return e,
    };
    if !deleted {
        return reply::err_static("ERR Library not found");
    }
    c.propagate = Propagate::Verbatim;
    s.ks.add_dirty(1);
    reply::ok()
}

/// FUNCTION FLUSH [ASYNC|SYNC]
pub fn function_flush(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    if c.argc() > 3 {
        return super::subcommand_syntax_error(c, "FUNCTION");
    }
    if c.argc() == 3
        && !c.arg(2).eq_ignore_ascii_case(b"sync")
        && !c.arg(2).eq_ignore_ascii_case(b"async")
    {
        return reply::err_static("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    }
    if let Some(f) = s.scripting.functions.as_mut() {
        if let Err(e) = f.flush() {
            tracing::warn!("FUNCTION FLUSH could not restart the interpreter: {e}");
            s.scripting.functions = None;
        }
    }
    c.propagate = Propagate::Verbatim;
    s.ks.add_dirty(1);
    reply::ok()
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]
pub fn function_list(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let mut pattern: Option<Vec<u8>> = None;
    let mut with_code = false;
    let mut i = 2;
    while i < c.argc() {
        let a = c.arg(i);
        if a.eq_ignore_ascii_case(b"withcode") && !with_code {
            with_code = true;
        } else if a.eq_ignore_ascii_case(b"libraryname") && pattern.is_none() {
            if i + 1 >= c.argc() {
                return reply::err_static("ERR library name argument was not given");
            }
            i += 1;
            pattern = Some(c.arg(i).to_vec());
        } else {
            return super::error_text(&format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(a)
            ));
        }
        i += 1;
    }
    let Some(functions) = s.scripting.functions.as_ref() else {
        return Frame::Array(Vec::new());
    };
    let bulk = |t: &str| Frame::Bulk(Bytes::copy_from_slice(t.as_bytes()));
    let libs = functions
        .libraries()
        .filter(|l| {
            pattern
                .as_ref()
                .is_none_or(|p| keyspace::glob::glob_match(p, l.name.as_bytes(), true))
        })
        .map(|l| {
            // Redis lists them in its hash table's order; by name is the
            // stable order closest to it for small libraries.
            let mut sorted: Vec<_> = l.functions.iter().collect();
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            let funcs = sorted
                .into_iter()
                .map(|f| {
                    Frame::Map(vec![
                        (bulk("name"), bulk(&f.name)),
                        (
                            bulk("description"),
                            f.description.as_deref().map_or(Frame::Null, bulk),
                        ),
                        (
                            bulk("flags"),
                            Frame::Set(
                                scripting::functions::flag_names(f.flags)
                                    .into_iter()
                                    .map(|n| Frame::Simple(Bytes::from_static(n.as_bytes())))
                                    .collect(),
                            ),
                        ),
                    ])
                })
                .collect();
            let mut fields = vec![
                (bulk("library_name"), bulk(&l.name)),
                (bulk("engine"), bulk("LUA")),
                (bulk("functions"), Frame::Array(funcs)),
            ];
            if with_code {
                fields.push((bulk("library_code"), Frame::Bulk(l.code.clone())));
            }
            Frame::Map(fields)
        })
        .collect();
    Frame::Array(libs)
}

/// FUNCTION STATS
pub fn function_stats(s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    let (libs, funcs) = s.scripting.function_counts();
    let bulk = |t: &'static str| Frame::Bulk(Bytes::from_static(t.as_bytes()));
    Frame::Map(vec![
        (bulk("running_script"), Frame::Null),
        (
            bulk("engines"),
            Frame::Map(vec![(
                bulk("LUA"),
                Frame::Map(vec![
                    (bulk("libraries_count"), Frame::Integer(libs as i64)),
                    (bulk("functions_count"), Frame::Integer(funcs as i64)),
                ]),
            )]),
        ),
    ])
}

/// FUNCTION KILL: functions run to completion, so none is running when
/// another client's command is read.
pub fn function_kill(_s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    reply::err_static("NOTBUSY No scripts in execution right now.")
}

/// FUNCTION HELP
pub fn function_help(_s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    super::generic::help_lines(&[
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
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
    ev("fcall", EVAL_FLAGS, "7.0.0", "Invoke a function", fcall),
    ev(
        "fcall_ro",
        EVAL_RO_FLAGS,
        "7.0.0",
        "Invoke a read-only function",
        fcall_ro,
    ),
    c_container(
        "function",
        -2,
        "scripting",
        "7.0.0",
        "A container for function commands",
        FUNCTION_SUBCOMMANDS,
    ),
];

const FN_WRITE: u32 = flag::NOSCRIPT | flag::WRITE;

/// FUNCTION's subcommands.
pub const FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    c_srv(
        "delete",
        3,
        FN_WRITE,
        SCRIPTING,
        "scripting",
        "7.0.0",
        "Delete a function by name",
        function_delete,
    ),
    c_srv(
        "dump",
        2,
        flag::NOSCRIPT,
        SCRIPTING,
        "scripting",
        "7.0.0",
        "Dump all functions into a serialized binary payload",
        function_dump,
    ),
    c_srv(
        "flush",
        -2,
        FN_WRITE,
        SCRIPTING,
        "scripting",
        "7.0.0",
        "Deleting all functions",
        function_flush,
    ),
    c_srv(
        "help",
        2,
        flag::LOADING | flag::STALE,
        SCRIPTING,
        "scripting",
        "7.0.0",
        "Show helpful text about the different subcommands",
        function_help,
    ),
    c_srv(
        "kill",
        2,
        flag::NOSCRIPT | flag::ALLOW_BUSY,
        SCRIPTING,
        "scripting",
        "7.0.0",
        "Kill the function currently in execution.",
        function_kill,
    ),
    c_srv(
        "list",
        -2,
        flag::NOSCRIPT,
        SCRIPTING,
        "scripting",
        "7.0.0",
        "List information about all the functions",
        function_list,
    ),
    c_srv(
        "load",
        -3,
        FN_WRITE | flag::DENYOOM,
        SCRIPTING,
        "scripting",
        "7.0.0",
        "Create a function with the given arguments (name, code, description)",
        function_load,
    ),
    c_srv(
        "restore",
        -3,
        FN_WRITE | flag::DENYOOM,
        SCRIPTING,
        "scripting",
        "7.0.0",
        "Restore all the functions on the given payload",
        function_restore,
    ),
    c_srv(
        "stats",
        2,
        flag::NOSCRIPT | flag::ALLOW_BUSY,
        SCRIPTING,
        "scripting",
        "7.0.0",
        "Return information about the function currently running (name, description, duration)",
        function_stats,
    ),
];
