//! Function libraries (FUNCTION LOAD and FCALL): a second interpreter in
//! which each library's code runs once at load, registering named
//! functions that FCALL then calls with their keys and arguments.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use bytes::Bytes;
use mlua::{Function, Lua, MultiValue, Table, Value};
use resp_codec::Frame;

use crate::engine::{
    error_handler, raised_reply, run_scoped, string_array, EngineError, Host, LogLevel, Outcome,
};
use crate::host_slot::{Op, Ops};
use crate::raise::{error_text, raise};
use crate::rand48::Rand48;
use crate::sandbox::{self, Built};
use crate::shebang::ScriptFlags;

/// One registered function.
#[derive(Debug, Clone)]
pub struct FunctionInfo {
    /// Its name as registered.
    pub name: String,
    /// Its description, if it gave one.
    pub description: Option<String>,
    /// Its flags.
    pub flags: ScriptFlags,
    callback: Function,
}

/// One loaded library.
#[derive(Debug, Clone)]
pub struct Library {
    /// The name from its `#!lua name=` line.
    pub name: String,
    /// The whole code, shebang included (what DUMP and WITHCODE give).
    pub code: Bytes,
    /// Its functions, in registration order.
    pub functions: Vec<FunctionInfo>,
}

/// How FUNCTION RESTORE treats the libraries already loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestorePolicy {
    /// Keep them; a library of the same name fails the restore.
    Append,
    /// Keep them, but a library of the same name is replaced.
    Replace,
    /// Drop them all first.
    Flush,
}

/// The libraries and the interpreter they live in.
pub struct Functions {
    vm: Built,
    handler: Function,
    libraries: BTreeMap<String, Library>,
    /// Lowercased function name to its library (names are unique across
    /// libraries, case-insensitively).
    index: HashMap<String, String>,
    rng: Rc<Cell<Rand48>>,
}

impl std::fmt::Debug for Functions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Functions")
            .field("libraries", &self.libraries.len())
            .finish()
    }
}

const FLAG_NAMES: &[(&str, ScriptFlags)] = &[
    ("no-writes", ScriptFlags::NO_WRITES),
    ("allow-oom", ScriptFlags::ALLOW_OOM),
    ("allow-stale", ScriptFlags::ALLOW_STALE),
    ("no-cluster", ScriptFlags::NO_CLUSTER),
    ("allow-cross-slot-keys", ScriptFlags::ALLOW_CROSS_SLOT),
];

/// The names of a function's flags, in Redis's order.
pub fn flag_names(flags: ScriptFlags) -> Vec<&'static str> {
    FLAG_NAMES
        .iter()
        .filter(|(_, f)| flags.has(*f))
        .map(|(n, _)| *n)
        .collect()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

const BAD_NAME: &str =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// Reads `#!<engine> name=<lib>`: the library name and where the code
/// after the line starts (its newline kept).
pub fn parse_metadata(code: &[u8]) -> Result<(String, usize), String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".to_string());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err("Invalid library metadata".to_string());
    };
    let line = String::from_utf8_lossy(&code[2..end]).into_owned();
    // The engine is what follows `#!` up to the first space (`#! name=x`
    // names the engine ""); the options after it are split as arguments.
    let (engine, options) = line.split_once(' ').unwrap_or((line.as_str(), ""));
    let engine = engine.to_string();
    let parts = resp_codec::split_args(options.as_bytes())
        .ok_or_else(|| "Invalid library metadata".to_string())?;
    let parts = parts
        .into_iter()
        .map(|p| String::from_utf8_lossy(&p).into_owned());
    let mut name = None;
    for p in parts {
        let lower = p.to_ascii_lowercase();
        match lower.strip_prefix("name=") {
            Some(_) if name.is_some() => {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".to_string(),
                )
            }
            Some(_) => name = Some(p[5..].to_string()),
            None => return Err(format!("Invalid metadata value given: {p}")),
        }
    }
    let Some(name) = name else {
        return Err("Library name was not given".to_string());
    };
    if !valid_name(&name) {
        return Err(BAD_NAME.to_string());
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("Engine '{engine}' not found"));
    }
    Ok((name, end))
}

impl Functions {
    /// No libraries.
    pub fn new() -> Result<Functions, EngineError> {
        let rng = Rc::new(Cell::new(Rand48::default()));
        let vm = sandbox::build(rng.clone(), true)?;
        let handler = error_handler(&vm.lua)?;
        Ok(Functions {
            vm,
            handler,
            libraries: BTreeMap::new(),
            index: HashMap::new(),
            rng,
        })
    }

    /// FUNCTION LOAD: compiles and runs a library's code and keeps its
    /// functions; gives the library name, or the error text (without its
    /// `ERR` code). Nothing changes on failure.
    pub fn load(
        &mut self,
        code: &Bytes,
        replace: bool,
        host: &mut dyn Host,
    ) -> Result<String, String> {
        let (name, skip) = parse_metadata(code)?;
        if self.libraries.contains_key(&name) && !replace {
            return Err(format!("Library '{name}' already exists"));
        }
        let lib = self.compile(&name, code, skip, host)?;
        if let Some(clash) = lib.functions.iter().find(|f| {
            self.index
                .get(&f.name.to_ascii_lowercase())
                .is_some_and(|owner| *owner != name)
        }) {
            return Err(format!("Function {} already exists", clash.name));
        }
        self.install(lib);
        Ok(name)
    }

    /// FUNCTION RESTORE: loads every library of a dump (each given by its
    /// code) under `policy`; the error text (without its `ERR` code) if
    /// any library fails or collides, in which case nothing changes.
    pub fn restore(
        &mut self,
        codes: &[Bytes],
        policy: RestorePolicy,
        host: &mut dyn Host,
    ) -> Result<(), String> {
        let mut incoming: Vec<Library> = Vec::with_capacity(codes.len());
        for code in codes {
            let (name, skip) = parse_metadata(code)?;
            if incoming.iter().any(|l| l.name == name) {
                return Err(format!("Library '{name}' already exists"));
            }
            let lib = self.compile(&name, code, skip, host)?;
            let earlier = |f: &FunctionInfo| {
                incoming
                    .iter()
                    .flat_map(|l| &l.functions)
                    .any(|g| g.name.eq_ignore_ascii_case(&f.name))
            };
            if let Some(clash) = lib.functions.iter().find(|f| earlier(f)) {
                return Err(format!("Function {} already exists", clash.name));
            }
            incoming.push(lib);
        }
        if policy == RestorePolicy::Flush {
            self.libraries.clear();
            self.index.clear();
        } else {
            if policy == RestorePolicy::Append {
                if let Some(l) = incoming
                    .iter()
                    .find(|l| self.libraries.contains_key(&l.name))
                {
                    return Err(format!("Library {} already exists", l.name));
                }
            }
            // With REPLACE, a library of the dump takes the place of the
            // one of its name; a function may still not clash with any
            // other library's.
            let replaced = |owner: &str| incoming.iter().any(|l| l.name == owner);
            let clash = incoming.iter().flat_map(|l| &l.functions).find(|f| {
                self.index
                    .get(&f.name.to_ascii_lowercase())
                    .is_some_and(|owner| !replaced(owner))
            });
            if let Some(f) = clash {
                return Err(format!("Function {} already exists", f.name));
            }
        }
        for lib in incoming {
            self.install(lib);
        }
        Ok(())
    }

    fn install(&mut self, lib: Library) {
        self.remove(&lib.name);
        for f in &lib.functions {
            self.index
                .insert(f.name.to_ascii_lowercase(), lib.name.clone());
        }
        self.libraries.insert(lib.name.clone(), lib);
    }

    fn remove(&mut self, name: &str) -> bool {
        let Some(old) = self.libraries.remove(name) else {
            return false;
        };
        for f in &old.functions {
            self.index.remove(&f.name.to_ascii_lowercase());
        }
        true
    }

    fn compile(
        &self,
        name: &str,
        code: &Bytes,
        skip: usize,
        host: &mut dyn Host,
    ) -> Result<Library, String> {
        let lua = &self.vm.lua;
        let chunk = lua
            .load(code.get(skip..).unwrap_or_default())
            .set_name("@user_function")
            .set_mode(mlua::ChunkMode::Text)
            .set_environment(self.vm.fenv.clone())
            .into_function()
            .map_err(|e| format!("Error compiling function: {}", error_text(&e)))?;
        let mut ops = LoadOps {
            host,
            registered: Vec::new(),
        };
        let loading = &self.vm.loading;
        let outcome = (|| -> mlua::Result<(bool, Value)> {
            loading.raw_set("on", true)?;
            let r: mlua::Result<MultiValue> = self.vm.slot.with(&mut ops, || {
                self.vm.xpcall.call((chunk, self.handler.clone()))
            });
            loading.raw_set("on", false)?;
            if self.vm.killed.replace(false) {
                sandbox::install_busy_hook(&self.vm.lua, &self.vm.slot, &self.vm.killed);
            }
            let mut r = r?.into_iter();
            let ok = matches!(r.next(), Some(Value::Boolean(true)));
            Ok((ok, r.next().unwrap_or(Value::Nil)))
        })();
        match outcome {
            Ok((true, _)) => {}
            Ok((false, err)) => {
                let msg = match &err {
                    Value::Table(t) => match t.raw_get::<Value>("err") {
                        Ok(Value::String(s)) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                        _ => "ERR unknown error".to_string(),
                    },
                    _ => "ERR unknown error".to_string(),
                };
                return Err(format!("Error registering functions: {msg}"));
            }
            Err(e) => {
                return Err(format!(
                    "Error registering functions: ERR {}",
                    error_text(&e)
                ))
            }
        }
        let functions = ops.registered;
        if functions.is_empty() {
            return Err("No functions registered".to_string());
        }
        Ok(Library {
            name: name.to_string(),
            code: code.clone(),
            functions,
        })
    }

    /// FUNCTION DELETE: false if there is no such library.
    pub fn delete(&mut self, name: &str) -> bool {
        self.remove(name)
    }

    /// FUNCTION FLUSH: every library goes, and the interpreter is started
    /// anew so what they held is freed.
    pub fn flush(&mut self) -> Result<(), EngineError> {
        let vm = sandbox::build(self.rng.clone(), true)?;
        self.handler = error_handler(&vm.lua)?;
        self.vm = vm;
        self.libraries.clear();
        self.index.clear();
        Ok(())
    }

    /// Every library, by name.
    pub fn libraries(&self) -> impl Iterator<Item = &Library> {
        self.libraries.values()
    }

    /// How many functions are registered.
    pub fn function_count(&self) -> usize {
        self.index.len()
    }

    /// A function by name (any case).
    pub fn find(&self, name: &str) -> Option<&FunctionInfo> {
        let lib = self.index.get(&name.to_ascii_lowercase())?;
        self.libraries
            .get(lib)?
            .functions
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Bytes the interpreter uses.
    pub fn vm_memory(&self) -> usize {
        self.vm.lua.used_memory()
    }

    /// FCALL: runs a function with its keys and arguments.
    pub fn call(&self, name: &str, keys: &[Bytes], args: &[Bytes], host: &mut dyn Host) -> Frame {
        let Some(f) = self.find(name) else {
            return Frame::error("ERR Function not found");
        };
        let callback = f.callback.clone();
        let fname = f.name.clone();
        let lua = &self.vm.lua;
        let run = || -> mlua::Result<Outcome> {
            let k = string_array(lua, keys)?;
            let a = string_array(lua, args)?;
            run_scoped(&self.vm, host, || {
                self.vm.invoke.call((callback, k, a, self.handler.clone()))
            })
        };
        match run() {
            Ok(Outcome::Returned(reply)) => reply,
            Ok(Outcome::Raised(err)) => raised_reply(&err, &fname),
            Err(e) => Frame::error(format!(
                "ERR Error running function {fname}, {}",
                error_text(&e)
            )),
        }
    }
}

/// The handler of a library's load run: only `redis.register_function`
/// and `redis.log` are reachable, and registrations are collected.
struct LoadOps<'h> {
    host: &'h mut dyn Host,
    registered: Vec<FunctionInfo>,
}

impl Ops for LoadOps<'_> {
    fn op(&mut self, lua: &Lua, op: Op, rest: &[Value]) -> mlua::Result<(Value, bool)> {
        load_time_op(lua, self, op, rest)
    }
}

fn load_time_op(
    lua: &Lua,
    ops: &mut LoadOps<'_>,
    op: Op,
    rest: &[Value],
) -> mlua::Result<(Value, bool)> {
    let host = &mut *ops.host;
    match op {
        Op::RegisterFunction => {
            let f = parse_registration(rest).map_err(|e| raise(format!("ERR {e}")))?;
            let list = &mut ops.registered;
            if list.iter().any(|x| x.name == f.name) {
                return Err(raise("ERR Function already exists in the library"));
            }
            list.push(f);
            Ok((Value::Nil, false))
        }
        Op::Log => {
            if rest.len() < 2 {
                return Err(raise("ERR redis.log() requires two arguments or more."));
            }
            let text: Vec<String> = rest[1..]
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
                    Value::Integer(i) => Some(i.to_string()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect();
            host.log(LogLevel::Notice, &text.join(" "));
            Ok((Value::Nil, false))
        }
        Op::Busy => match host.busy() {
            Some(msg) => Ok((Value::String(lua.create_string(msg)?), false)),
            None => Ok((Value::Nil, false)),
        },
        other => Err(raise(format!(
            "ERR redis.{} can only be called inside a script invocation",
            other.name()
        ))),
    }
}

/// `redis.register_function(name, callback)` or
/// `redis.register_function{function_name=..., callback=..., flags=..., description=...}`.
fn parse_registration(args: &[Value]) -> Result<FunctionInfo, String> {
    let (name, callback, flags, description) = match args {
        [name, callback] => {
            let Value::String(name) = name else {
                return Err("first argument to redis.register_function must be a string".into());
            };
            let Value::Function(callback) = callback else {
                return Err("second argument to redis.register_function must be a function".into());
            };
            (
                String::from_utf8_lossy(&name.as_bytes()).into_owned(),
                callback.clone(),
                ScriptFlags::default(),
                None,
            )
        }
        [Value::Table(t)] => named_registration(t)?,
        [_] => return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).".into()),
        _ => return Err("wrong number of arguments to redis.register_function".into()),
    };
    if !valid_name(&name) {
        return Err(BAD_NAME.into());
    }
    Ok(FunctionInfo {
        name,
        description,
        flags,
        callback,
    })
}

type Registration = (String, Function, ScriptFlags, Option<String>);

fn named_registration(t: &Table) -> Result<Registration, String> {
    let mut name = None;
    let mut callback = None;
    let mut flags = ScriptFlags::default();
    let mut description = None;
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| error_text(&e))?;
        let Value::String(k) = k else {
            return Err(
                "named argument key given to redis.register_function is not a string".into(),
            );
        };
        let key = String::from_utf8_lossy(&k.as_bytes()).to_ascii_lowercase();
        match key.as_str() {
            "function_name" => {
                match v {
                    Value::String(s) => {
                        name = Some(String::from_utf8_lossy(&s.as_bytes()).into_owned())
                    }
                    _ => return Err(
                        "function_name argument given to redis.register_function must be a string"
                            .into(),
                    ),
                }
            }
            "description" => {
                match v {
                    Value::String(s) => {
                        description = Some(String::from_utf8_lossy(&s.as_bytes()).into_owned())
                    }
                    _ => return Err(
                        "description argument given to redis.register_function must be a string"
                            .into(),
                    ),
                }
            }
            "callback" => match v {
                Value::Function(f) => callback = Some(f),
                _ => {
                    return Err(
                        "callback argument given to redis.register_function must be a function"
                            .into(),
                    )
                }
            },
            "flags" => {
                let Value::Table(list) = v else {
                    return Err("flags argument to redis.register_function must be a table representing function flags".into());
                };
                for i in 1..=list.raw_len() {
                    let Ok(Value::String(f)) = list.raw_get::<Value>(i) else {
                        return Err("unknown flag given".into());
                    };
                    let f = String::from_utf8_lossy(&f.as_bytes()).to_ascii_lowercase();
                    match FLAG_NAMES.iter().find(|(n, _)| *n == f) {
                        Some((_, bit)) => flags = flags.union(*bit),
                        None => return Err("unknown flag given".into()),
                    }
                }
            }
            _ => return Err("unknown argument given to redis.register_function".into()),
        }
    }
    let Some(name) = name else {
        return Err("redis.register_function must get a function name argument".into());
    };
    let Some(callback) = callback else {
        return Err("redis.register_function must get a callback argument".into());
    };
    Ok((name, callback, flags, description))
}
