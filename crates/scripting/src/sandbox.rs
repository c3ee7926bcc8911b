//! Building the interpreter as Redis 7.0 configures it: the libraries it
//! loads, the globals it leaves out, the `redis` table, and the read-only
//! globals (Redis patches its Lua so tables can be frozen; here every
//! global and library table is reached through a frozen proxy instead).

use std::cell::Cell;
use std::rc::Rc;

use mlua::{Function, Lua, LuaOptions, StdLib, Table, Value};

use crate::host_slot::{HostSlot, Op};
use crate::raise::raise;
use crate::rand48::Rand48;

/// Chunk name of the code this module runs inside the interpreter; the
/// error handler skips its frames when it looks for the script's line.
pub const INTERNAL_CHUNK: &str = "=redis";

/// What the server needs to reach inside a built interpreter.
pub struct Built {
    /// The interpreter.
    pub lua: Lua,
    /// The frozen environment scripts run in.
    pub env: Table,
    /// Where the `redis.*` functions find the run in progress.
    pub(crate) slot: HostSlot,
    /// The original `xpcall`.
    pub xpcall: Function,
    /// The environment of function libraries.
    pub fenv: Table,
    /// `loading.on` is set while a library's code runs at FUNCTION LOAD.
    pub loading: Table,
    /// `invoke(f, keys, args, handler)`: a function's callback under the
    /// error handler.
    pub invoke: Function,
    /// `run(f, handler, keys, argv)`: a script under the error handler,
    /// with KEYS and ARGV set.
    pub run: Function,
    /// Set when the running script was killed: the every-line hook that
    /// finishes it must be replaced by the usual one afterwards.
    pub killed: Rc<Cell<bool>>,
}

/// Sets up the frozen environment: proxies, and the safe replacements for
/// the functions that could otherwise reach an unfrozen table.
const PRELUDE: &str = r#"
local G, api, errmsg, for_functions = ...
local rawerror, rawtype, rawtostring, rawsetmetatable, rawgetmetatable =
    error, type, tostring, setmetatable, getmetatable
local rawrawset, rawrawget, rawselect, rawunpack, rawpcall = rawset, rawget, select, unpack, pcall
local rawgetfenv, rawsetfenv, rawloadstring, rawload = getfenv, setfenv, loadstring, load

local frozen = rawsetmetatable({}, {__mode = 'k'})
local function refuse() rawerror('Attempt to modify a readonly table', 2) end

local function freeze(t, strict)
    local proxy = {}
    local mt = {__newindex = refuse}
    if strict then
        mt.__index = function(_, k)
            local v = t[k]
            if v == nil then
                rawerror("Script attempted to access nonexistent global variable '" .. rawtostring(k) .. "'", 2)
            end
            return v
        end
    else
        mt.__index = t
    end
    -- getmetatable sees a frozen view of the metatable, never the real one.
    local view = rawsetmetatable({}, {__index = mt, __newindex = refuse, __metatable = false})
    frozen[view] = true
    mt.__metatable = view
    rawsetmetatable(proxy, mt)
    frozen[proxy] = true
    return proxy
end

local redis = {}
redis.REPL_NONE = 0
redis.REPL_AOF = 1
redis.REPL_SLAVE = 2
redis.REPL_REPLICA = 2
redis.REPL_ALL = 3
redis.LOG_DEBUG = 0
redis.LOG_VERBOSE = 1
redis.LOG_NOTICE = 2
redis.LOG_WARNING = 3
redis.REDIS_VERSION = '7.0.15'
redis.REDIS_VERSION_NUM = 0x00070000 + 15

-- The redis.* entries are C functions, so a script's `return
-- redis.call(...)` keeps its frame (and the error handler its line).
for name, f in pairs(api) do
    if name ~= 'register_function' then redis[name] = f end
end
local function single_field(field, ...)
    if rawselect('#', ...) ~= 1 or rawtype((...)) ~= 'string' then
        return {err = 'ERR wrong number or type of arguments'}
    end
    return {[field] = (...)}
end
function redis.status_reply(...) return single_field('ok', ...) end
function redis.error_reply(...)
    if rawselect('#', ...) ~= 1 or rawtype((...)) ~= 'string' then
        return {err = 'ERR wrong number or type of arguments'}
    end
    local e = (...)
    if e:sub(1, 1) == '-' then e = e:sub(2) end
    if not e:find(' ', 1, true) then e = 'ERR ' .. e end
    e = e:gsub('^[\r\n]+', ''):gsub('[\r\n]+$', '')
    return {err = e}
end
function redis.replicate_commands() return true end
function redis.breakpoint() return false end
function redis.debug() end

-- Redis's pcall hands back the message of a redis.call error, not its table.
local function pack(...) return {n = rawselect('#', ...), ...} end
G.pcall = function(f, ...)
    local r = pack(rawpcall(f, ...))
    if not r[1] then
        local m = errmsg(r[2])
        if m then return false, m end
        if rawtype(r[2]) == 'table' and rawtype(r[2].err) == 'string' then
            return false, r[2].err
        end
    end
    return rawunpack(r, 1, r.n)
end

if for_functions then
    -- The functions interpreter has no debugger entry points.
    redis.breakpoint, redis.debug, redis.replicate_commands = nil, nil, nil
end
G.redis = redis
for _, name in ipairs({'string', 'math', 'table', 'bit', 'cjson', 'cmsgpack', 'struct', 'coroutine', 'redis'}) do
    if G[name] ~= nil then G[name] = freeze(G[name], false) end
end
-- Scripts read globals through a proxy whose lookups go straight to G (a
-- table lookup, not a function call, on every global a script touches);
-- only a missing name reaches G's own metatable, which refuses it.
local env = freeze(G, false)
G._G = env
rawsetmetatable(G, {__metatable = false, __index = function(_, k)
    rawerror("Script attempted to access nonexistent global variable '" .. rawtostring(k) .. "'", 2)
end})

-- The functions through which a script could reach an unfrozen table or
-- write past a proxy.
G.setmetatable = function(t, mt)
    if frozen[t] then rawerror('Attempt to modify a readonly table', 2) end
    return rawsetmetatable(t, mt)
end
G.rawset = function(t, k, v)
    if frozen[t] or t == G then rawerror('Attempt to modify a readonly table', 2) end
    return rawrawset(t, k, v)
end
local string_mt = freeze({__index = G.string}, false)
G.getmetatable = function(v)
    if rawtype(v) == 'string' then return string_mt end
    return rawgetmetatable(v)
end
G.getfenv = function(...)
    local e = rawgetfenv(...)
    if e == G then return env end
    return e
end
-- Compiled chunks are refused: bytecode can break the interpreter.
local function refuses_binary(code)
    return rawtype(code) == 'string' and code:byte(1) == 27
end
G.loadstring = function(code, ...)
    if refuses_binary(code) then return nil, 'binary chunks are not allowed' end
    local f, err = rawloadstring(code, ...)
    if f then rawsetfenv(f, env) end
    return f, err
end
G.load = function(code, ...)
    if refuses_binary(code) then return nil, 'binary chunks are not allowed' end
    local f, err = rawload(code, ...)
    if f then rawsetfenv(f, env) end
    return f, err
end

-- Functions: while a library loads, its code sees only a reduced redis
-- table; the same environment then reads the real globals, so closures
-- made at load time work when called later.
local loading = {on = false}
local load_redis = {
    register_function = api.register_function, log = api.log,
    LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
    REDIS_VERSION = redis.REDIS_VERSION, REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
}
local at_load = {redis = freeze(load_redis, true)}
local fenv = {}
local fmt = {__newindex = refuse}
fmt.__index = function(_, k)
    local v
    if loading.on then v = at_load[k] else v = rawrawget(G, k) end
    if v == nil then
        rawerror("Script attempted to access nonexistent global variable '" .. rawtostring(k) .. "'", 2)
    end
    return v
end
local fview = rawsetmetatable({}, {__index = fmt, __newindex = refuse, __metatable = false})
frozen[fview] = true
fmt.__metatable = fview
rawsetmetatable(fenv, fmt)
frozen[fenv] = true

-- Calls a function's callback with its keys and arguments under the
-- error handler (Lua 5.1's xpcall passes no arguments, so they wait in
-- upvalues rather than in a closure made per call).
local cur_f, cur_keys, cur_args
local function call_current() return cur_f(cur_keys, cur_args) end
local function invoke(f, keys, args, handler)
    cur_f, cur_keys, cur_args = f, keys, args
    local ok, r = xpcall(call_current, handler)
    cur_f, cur_keys, cur_args = nil, nil, nil
    return ok, r
end
-- Runs a script with KEYS and ARGV set for exactly its run; only its
-- first result is its reply.
local function run(f, handler, keys, argv)
    G.KEYS, G.ARGV = keys, argv
    local ok, r = xpcall(f, handler)
    G.KEYS, G.ARGV = nil, nil
    return ok, r
end
return env, fenv, loading, invoke, run
"#;

/// Builds a fresh interpreter.
pub fn build(
    rng: std::rc::Rc<std::cell::Cell<Rand48>>,
    for_functions: bool,
) -> mlua::Result<Built> {
    let lua = Lua::new_with(
        StdLib::TABLE | StdLib::STRING | StdLib::MATH,
        LuaOptions::default(),
    )?;
    let globals = lua.globals();
    // Left out as Redis leaves them out: no file access, no stdout.
    for name in [
        "dofile", "loadfile", "print", "module", "require", "package",
    ] {
        globals.raw_set(name, Value::Nil)?;
    }
    globals.raw_set("bit", crate::bitlib::create(&lua)?)?;
    globals.raw_set("cjson", crate::cjson::create(&lua)?)?;
    globals.raw_set("cmsgpack", crate::cmsgpack::create(&lua)?)?;
    globals.raw_set("struct", crate::structlib::create(&lua)?)?;
    install_random(&lua, &globals, rng)?;
    let slot = HostSlot::default();
    let api = lua.create_table()?;
    for (name, op, raises) in [
        ("call", Op::Call, true),
        ("pcall", Op::Call, false),
        ("setresp", Op::SetResp, true),
        ("set_repl", Op::SetRepl, true),
        ("log", Op::Log, true),
        ("acl_check_cmd", Op::AclCheck, true),
        ("register_function", Op::RegisterFunction, true),
    ] {
        api.raw_set(name, host_function(&lua, &slot, op, raises)?)?;
    }
    api.raw_set(
        "sha1hex",
        lua.create_function(|_, args: mlua::Variadic<Value>| match args.first() {
            Some(v) if args.len() == 1 => {
                let bytes = match v {
                    Value::String(s) => s.as_bytes().to_vec(),
                    Value::Integer(i) => i.to_string().into_bytes(),
                    Value::Number(n) => n.to_string().into_bytes(),
                    _ => Vec::new(),
                };
                Ok(crate::sha1_hex(&bytes))
            }
            _ => Err(raise("ERR wrong number of arguments")),
        })?,
    )?;
    let errmsg = lua.create_function(|_, v: Value| {
        Ok(match v {
            Value::Error(e) => Some(crate::raise::error_text(&e)),
            _ => None,
        })
    })?;
    let xpcall: Function = globals.raw_get("xpcall")?;
    let killed = Rc::new(Cell::new(false));
    install_busy_hook(&lua, &slot, &killed);
    let (env, fenv, loading, invoke, run): (Table, Table, Table, Function, Function) = lua
        .load(PRELUDE)
        .set_name(INTERNAL_CHUNK)
        .call((globals.clone(), api, errmsg, for_functions))?;
    Ok(Built {
        lua,
        env,
        slot,
        xpcall,
        fenv,
        loading,
        invoke,
        run,
        killed,
    })
}

/// Every 100,000 instructions a running script lets its host look up (to
/// answer other clients, and to stop the script on SCRIPT KILL). Once
/// killed, the error is raised again on every line until the script is
/// out, so a `pcall` inside it cannot swallow the kill; the run then puts
/// this hook back (see [`Built::killed`]).
pub(crate) fn install_busy_hook(lua: &Lua, slot: &HostSlot, killed: &Rc<Cell<bool>>) {
    let slot = slot.clone();
    let killed = killed.clone();
    lua.set_hook(
        mlua::HookTriggers::new().every_nth_instruction(100_000),
        move |lua, _debug| {
            let Some(answer) = slot.dispatch(lua, Op::Busy, &[]) else {
                return Ok(mlua::VmState::Continue);
            };
            if let (Value::String(msg), _) = answer? {
                let msg = msg.to_string_lossy().to_string();
                killed.set(true);
                let again = msg.clone();
                // The kill is raised again on the script's lines only: the
                // wrappers around it must still finish the run cleanly.
                lua.set_hook(mlua::HookTriggers::new().every_line(), move |_, debug| {
                    if debug.source().source.as_deref() == Some(INTERNAL_CHUNK) {
                        return Ok(mlua::VmState::Continue);
                    }
                    Err(raise(again.clone()))
                });
                return Err(raise(msg));
            }
            Ok(mlua::VmState::Continue)
        },
    );
}

/// `math.random` / `math.randomseed` over Redis's generator.
fn install_random(lua: &Lua, globals: &Table, rng: Rc<Cell<Rand48>>) -> mlua::Result<()> {
    let math: Table = globals.raw_get("math")?;
    let r = rng.clone();
    let random = lua.create_function(move |_, args: mlua::Variadic<Value>| {
        let mut g = r.get();
        let x = f64::from(g.next() % i32::MAX) / f64::from(i32::MAX);
        r.set(g);
        let int = |v: &Value| -> mlua::Result<i64> {
            match v {
                Value::Integer(i) => Ok(*i),
                Value::Number(n) => Ok(*n as i64),
                _ => Err(mlua::Error::runtime(
                    "bad argument to 'random' (number expected)",
                )),
            }
        };
        match args.len() {
            0 => Ok(Value::Number(x)),
            1 => {
                let u = int(&args[0])?;
                if u < 1 {
                    return Err(mlua::Error::runtime(
                        "bad argument #1 to 'random' (interval is empty)",
                    ));
                }
                Ok(Value::Number((x * u as f64).floor() + 1.0))
            }
            2 => {
                let (l, u) = (int(&args[0])?, int(&args[1])?);
                if l > u {
                    return Err(mlua::Error::runtime(
                        "bad argument #2 to 'random' (interval is empty)",
                    ));
                }
                Ok(Value::Number((x * (u - l + 1) as f64).floor() + l as f64))
            }
            _ => Err(mlua::Error::runtime("wrong number of arguments")),
        }
    })?;
    let seed = lua.create_function(move |_, s: f64| {
        let mut g = rng.get();
        g.seed(s as i64 as i32);
        rng.set(g);
        Ok(())
    })?;
    math.raw_set("random", random)?;
    math.raw_set("randomseed", seed)?;
    Ok(())
}

/// A `redis.*` function that hands its arguments to the handler of the
/// run in progress under `op`; with `raises`, an error the handler returns
/// is raised instead of returned.
fn host_function(lua: &Lua, slot: &HostSlot, op: Op, raises: bool) -> mlua::Result<Function> {
    let slot = slot.clone();
    lua.create_function(move |lua, args: mlua::Variadic<Value>| {
        let Some(answer) = slot.dispatch(lua, op, &args) else {
            return Err(raise(if op == Op::RegisterFunction {
                "ERR redis.register_function can only be called on FUNCTION LOAD command"
                    .to_string()
            } else {
                format!(
                    "ERR redis.{} can only be called inside a script invocation",
                    op.name()
                )
            }));
        };
        let (v, failed) = answer?;
        if failed && raises {
            let msg = match &v {
                Value::Table(t) => match t.raw_get::<Value>("err")? {
                    Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                    _ => String::new(),
                },
                _ => String::new(),
            };
            return Err(raise(msg));
        }
        Ok(v)
    })
}
