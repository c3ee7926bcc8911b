//! The script cache and one script run: the host callback that `redis.call`
//! reaches, the error handler that adds the script's position, and the
//! conversion of the result.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use bytes::Bytes;
use mlua::{Function, Lua, MultiValue, Table, Value};
use resp_codec::Frame;

use crate::convert::{lua_to_reply, one_line, reply_to_lua};
use crate::host_slot::{Op, Ops};
use crate::rand48::Rand48;
use crate::sandbox::{self, Built, INTERNAL_CHUNK};
use crate::shebang::{self, ScriptFlags};

/// What a script's `redis.*` calls need from the server.
pub trait Host {
    /// Runs a command for the script (`redis.call` / `redis.pcall`), with
    /// every check a script's command goes through, and gives its reply
    /// (refusals as error frames). `resp3` is the protocol the script chose.
    fn call(&mut self, args: Vec<Bytes>, resp3: bool) -> Frame;
    /// `redis.log`.
    fn log(&mut self, level: LogLevel, msg: &str);
    /// `redis.set_repl`: where the script's next writes propagate.
    fn set_repl(&mut self, flags: ReplFlags);
    /// `redis.acl_check_cmd`: None if the command is unknown, else whether
    /// the user may run it.
    fn may_run(&mut self, args: &[Bytes]) -> Option<bool>;
    /// Called every 100,000 Lua instructions while a script runs: a host
    /// may answer other clients meanwhile; an error message stops the
    /// script with it (SCRIPT KILL / FUNCTION KILL, a load timeout).
    fn busy(&mut self) -> Option<String> {
        None
    }
}

/// `redis.log` levels, as `redis.LOG_*` number them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// `LOG_DEBUG`
    Debug,
    /// `LOG_VERBOSE`
    Verbose,
    /// `LOG_NOTICE`
    Notice,
    /// `LOG_WARNING`
    Warning,
}

/// Where a script's writes go (`redis.set_repl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplFlags {
    /// To the append-only file.
    pub aof: bool,
    /// To replicas.
    pub replicas: bool,
}

/// A failure to set up the interpreter (never a script's own error: those
/// are replies).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The interpreter refused an operation.
    #[error("lua: {0}")]
    Lua(#[from] mlua::Error),
}

struct Script {
    body: Bytes,
    flags: ScriptFlags,
    func: Function,
}

/// The scripting engine: one interpreter and the scripts compiled in it.
pub struct Engine {
    vm: Built,
    handler: Function,
    scripts: HashMap<String, Script>,
    scripts_memory: usize,
    rng: Rc<Cell<Rand48>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("scripts", &self.scripts.len())
            .finish()
    }
}

impl Engine {
    /// An engine with an empty script cache.
    pub fn new() -> Result<Engine, EngineError> {
        let rng = Rc::new(Cell::new(Rand48::default()));
        let vm = sandbox::build(rng.clone(), false)?;
        let handler = error_handler(&vm.lua)?;
        Ok(Engine {
            vm,
            handler,
            scripts: HashMap::new(),
            scripts_memory: 0,
            rng,
        })
    }

    /// Compiles and caches a script (SCRIPT LOAD, or EVAL of a new body);
    /// gives its SHA-1, or the error reply.
    pub fn load(&mut self, body: &Bytes) -> Result<String, Frame> {
        let sha = crate::sha1_hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, skip) = shebang::parse(body).map_err(|e| error_reply(&e))?;
        let code = body.get(skip..).unwrap_or_default();
        let func = self
            .vm
            .lua
            .load(code)
            .set_name("@user_script")
            .set_mode(mlua::ChunkMode::Text)
            .set_environment(self.vm.env.clone())
            .into_function()
            .map_err(|e| {
                error_reply(&format!(
                    "Error compiling script (new function): {}",
                    crate::raise::error_text(&e)
                ))
            })?;
        self.scripts_memory += body.len() + 40;
        self.scripts.insert(
            sha.clone(),
            Script {
                body: body.clone(),
                flags,
                func,
            },
        );
        Ok(sha)
    }

    /// The flags of a cached script.
    pub fn flags(&self, sha: &str) -> Option<ScriptFlags> {
        self.scripts.get(sha).map(|s| s.flags)
    }

    /// Whether a script is cached.
    pub fn exists(&self, sha: &str) -> bool {
        self.scripts.contains_key(sha)
    }

    /// The body of a cached script.
    pub fn body(&self, sha: &str) -> Option<&Bytes> {
        self.scripts.get(sha).map(|s| &s.body)
    }

    /// Empties the cache and starts a fresh interpreter (SCRIPT FLUSH), so
    /// whatever the scripts left in memory goes too.
    pub fn flush(&mut self) -> Result<(), EngineError> {
        let vm = sandbox::build(self.rng.clone(), false)?;
        self.handler = error_handler(&vm.lua)?;
        self.vm = vm;
        self.scripts.clear();
        self.scripts_memory = 0;
        Ok(())
    }

    /// How many scripts are cached.
    pub fn len(&self) -> usize {
        self.scripts.len()
    }

    /// Whether no script is cached.
    pub fn is_empty(&self) -> bool {
        self.scripts.is_empty()
    }

    /// Bytes the cached scripts' bodies take (INFO's
    /// `used_memory_scripts_eval`).
    pub fn scripts_memory(&self) -> usize {
        self.scripts_memory
    }

    /// Bytes the interpreter uses (INFO's `used_memory_lua`).
    pub fn vm_memory(&self) -> usize {
        self.vm.lua.used_memory()
    }

    /// Runs a cached script with its KEYS and ARGV; the reply for its
    /// caller. `sha` must be lowercase.
    pub fn run(&mut self, sha: &str, keys: &[Bytes], args: &[Bytes], host: &mut dyn Host) -> Frame {
        let Some(script) = self.scripts.get(sha) else {
            return Frame::error("NOSCRIPT No matching script. Please use EVAL.");
        };
        let func = script.func.clone();
        match self.run_function(&func, keys, args, host) {
            Ok(Outcome::Returned(reply)) => reply,
            Ok(Outcome::Raised(err)) => raised_reply(&err, sha),
            Err(e) => error_reply(&format!(
                "Error running script {sha}, {}",
                crate::raise::error_text(&e)
            )),
        }
    }

    fn run_function(
        &self,
        func: &Function,
        keys: &[Bytes],
        args: &[Bytes],
        host: &mut dyn Host,
    ) -> mlua::Result<Outcome> {
        let lua = &self.vm.lua;
        let keys = string_array(lua, keys)?;
        let args = string_array(lua, args)?;
        run_scoped(&self.vm, host, || {
            self.vm.run.call((func, &self.handler, keys, args))
        })
    }
}

/// Runs `invoke` with the host reachable from `redis.*` (through the
/// interpreter's slot) and converts what it returned.
pub(crate) fn run_scoped(
    vm: &Built,
    host: &mut dyn Host,
    invoke: impl FnOnce() -> mlua::Result<MultiValue>,
) -> mlua::Result<Outcome> {
    let mut ops = RunOps { host, resp3: false };
    let r = vm.slot.with(&mut ops, invoke);
    if vm.killed.replace(false) {
        sandbox::install_busy_hook(&vm.lua, &vm.slot, &vm.killed);
    }
    let mut r = r?.into_iter();
    let ok = matches!(r.next(), Some(Value::Boolean(true)));
    let v = r.next().unwrap_or(Value::Nil);
    Ok(if ok {
        Outcome::Returned(lua_to_reply(&v, ops.resp3))
    } else {
        Outcome::Raised(v)
    })
}

/// How a run ended.
pub(crate) enum Outcome {
    /// The script returned; its reply.
    Returned(Frame),
    /// It raised this error value.
    Raised(Value),
}

/// An error reply from a message without its code (`ERR` is added).
pub(crate) fn error_reply(msg: &str) -> Frame {
    Frame::Error(one_line(format!("ERR {msg}").as_bytes()))
}

/// The reply for an error a script raised: its message, then where it
/// was raised, as Redis words it.
pub(crate) fn raised_reply(err: &Value, name: &str) -> Frame {
    let Value::Table(t) = err else {
        return error_reply(&format!("Error running script {name}, execution failure"));
    };
    let text = |v: Value| -> Option<String> {
        match v {
            Value::String(s) => Some(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
            Value::Integer(i) => Some(i.to_string()),
            Value::Number(n) => Some(resp_codec::format_g17(n)),
            _ => None,
        }
    };
    let msg = text(t.raw_get("err").unwrap_or(Value::Nil)).unwrap_or_default();
    let source = text(t.raw_get("source").unwrap_or(Value::Nil));
    let line = text(t.raw_get("line").unwrap_or(Value::Nil));
    let full = match (source, line) {
        (Some(s), Some(l)) => format!("{msg} script: {name}, on {s}:{l}."),
        _ => msg,
    };
    Frame::Error(one_line(full.as_bytes()))
}

/// The handler every run goes through on error: the error becomes a table
/// `{err=..., source=..., line=...}` naming the script line that raised
/// it (the first frame that is neither C nor this crate's own Lua code).
pub(crate) fn error_handler(lua: &Lua) -> mlua::Result<Function> {
    lua.create_function(|lua, err: Value| {
        let t = match err {
            Value::Table(t) => t,
            other => {
                let msg = match &other {
                    Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                    Value::Error(e) => {
                        if let Some(m) = crate::raise::raised_message(e) {
                            let t = lua.create_table()?;
                            t.raw_set("err", m)?;
                            return finish_error(lua, t);
                        }
                        crate::raise::error_text(e)
                    }
                    Value::Integer(i) => i.to_string(),
                    Value::Number(n) => resp_codec::format_g17(*n),
                    v => v.type_name().to_string(),
                };
                let t = lua.create_table()?;
                t.raw_set("err", format!("ERR {msg}"))?;
                t
            }
        };
        finish_error(lua, t)
    })
}

/// Adds where the error was raised: the first frame that is neither C nor
/// this crate's own Lua code.
fn finish_error(lua: &Lua, t: Table) -> mlua::Result<Table> {
    {
        for level in 1..64 {
            let Some(d) = lua.inspect_stack(level) else {
                break;
            };
            let src = d.source();
            if src.what == "C" || src.source.as_deref() == Some(INTERNAL_CHUNK) {
                continue;
            }
            if let Some(s) = src.source.as_deref() {
                t.raw_set("source", s)?;
            }
            t.raw_set("line", d.curr_line())?;
            break;
        }
        Ok(t)
    }
}

/// A Lua array of strings (KEYS, ARGV), filled in one pass.
pub(crate) fn string_array(lua: &Lua, items: &[Bytes]) -> mlua::Result<Table> {
    let strings = items
        .iter()
        .map(|item| lua.create_string(item))
        .collect::<mlua::Result<Vec<_>>>()?;
    lua.create_sequence_from(strings)
}

/// An error table `{err = "ERR <msg>"}` and the "raise it" marker.
pub(crate) fn fail(lua: &Lua, msg: &str) -> mlua::Result<(Value, bool)> {
    let t = lua.create_table()?;
    t.raw_set("err", format!("ERR {msg}"))?;
    Ok((Value::Table(t), true))
}

/// A Lua argument as a command argument: strings as they are, numbers as
/// `%.17g` writes them; None for anything else.
fn to_arg(v: &Value) -> Option<Bytes> {
    match v {
        Value::String(s) => Some(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Integer(i) => Some(Bytes::from(resp_codec::format_g17(*i as f64))),
        Value::Number(n) => Some(Bytes::from(resp_codec::format_g17(*n))),
        _ => None,
    }
}

pub(crate) fn to_number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => s.to_str().ok().and_then(|s| s.trim().parse().ok()),
        _ => None,
    }
}

/// The handler of a script's or function's run: the host, and the
/// protocol the script chose with `redis.setresp`.
pub(crate) struct RunOps<'h> {
    host: &'h mut dyn Host,
    resp3: bool,
}

impl Ops for RunOps<'_> {
    fn op(&mut self, lua: &Lua, op: Op, rest: &[Value]) -> mlua::Result<(Value, bool)> {
        run_op(lua, self, op, rest)
    }
}

/// What each `redis.*` function does during a run. Returns the value and
/// whether the Lua side must raise it.
fn run_op(lua: &Lua, ops: &mut RunOps<'_>, op: Op, rest: &[Value]) -> mlua::Result<(Value, bool)> {
    let host = &mut *ops.host;
    match op {
        Op::Call | Op::AclCheck => {
            if rest.is_empty() {
                return fail(
                    lua,
                    "Please specify at least one argument for this redis lib call",
                );
            }
            let mut argv = Vec::with_capacity(rest.len());
            for v in rest {
                match to_arg(v) {
                    Some(a) => argv.push(a),
                    None => {
                        return fail(
                            lua,
                            "Lua redis lib command arguments must be strings or integers",
                        )
                    }
                }
            }
            if op == Op::AclCheck {
                return match host.may_run(&argv) {
                    Some(ok) => Ok((Value::Boolean(ok), false)),
                    None => fail(lua, "Invalid command passed to redis.acl_check_cmd()"),
                };
            }
            let resp3 = ops.resp3;
            match host.call(argv, resp3) {
                Frame::Error(e) => {
                    let t = lua.create_table()?;
                    let trimmed = e.strip_suffix(b"\r\n").unwrap_or(&e);
                    t.raw_set("err", lua.create_string(trimmed)?)?;
                    Ok((Value::Table(t), true))
                }
                reply => Ok((reply_to_lua(lua, &reply, resp3)?, false)),
            }
        }
        Op::Busy => match host.busy() {
            Some(msg) => Ok((Value::String(lua.create_string(msg)?), false)),
            None => Ok((Value::Nil, false)),
        },
        Op::SetResp => {
            if rest.len() != 1 {
                return fail(lua, "redis.setresp() requires one argument.");
            }
            match rest.first().and_then(to_number).map(|n| n as i64) {
                Some(2) => ops.resp3 = false,
                Some(3) => ops.resp3 = true,
                _ => return fail(lua, "RESP version must be 2 or 3."),
            }
            Ok((Value::Nil, false))
        }
        Op::SetRepl => {
            if rest.len() != 1 {
                return fail(lua, "redis.set_repl() requires two arguments.");
            }
            let flags = rest.first().and_then(to_number).unwrap_or(0.0) as i64;
            if flags & !3 != 0 {
                return fail(
                    lua,
                    "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                );
            }
            host.set_repl(ReplFlags {
                aof: flags & 1 != 0,
                replicas: flags & 2 != 0,
            });
            Ok((Value::Nil, false))
        }
        Op::Log => {
            if rest.len() < 2 {
                return fail(lua, "redis.log() requires two arguments or more.");
            }
            let Some(level) = rest.first().and_then(to_number) else {
                return fail(lua, "First argument must be a number (log level).");
            };
            let level = match level as i64 {
                0 => LogLevel::Debug,
                1 => LogLevel::Verbose,
                2 => LogLevel::Notice,
                3 => LogLevel::Warning,
                _ => return fail(lua, "Invalid debug level."),
            };
            let parts: Vec<String> = rest[1..]
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
                    Value::Integer(i) => Some(i.to_string()),
                    Value::Number(n) => Some(format!("{n}")),
                    _ => None,
                })
                .collect();
            host.log(level, &parts.join(" "));
            Ok((Value::Nil, false))
        }
        Op::RegisterFunction => fail(
            lua,
            "redis.register_function can only be called on FUNCTION LOAD command",
        ),
    }
}
