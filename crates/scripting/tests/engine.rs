//! The engine driven by a host that keeps a small string store in memory:
//! conversions, errors and the sandbox, without a server.

use std::collections::HashMap;

use bytes::Bytes;
use resp_codec::Frame;
use scripting::{Engine, Host, LogLevel, ReplFlags};

#[derive(Default)]
struct Memory {
    data: HashMap<Bytes, Bytes>,
    logged: Vec<(LogLevel, String)>,
}

impl Host for Memory {
    fn call(&mut self, args: Vec<Bytes>, resp3: bool) -> Frame {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        match (name.as_str(), args.len()) {
            ("set", 3) => {
                self.data.insert(args[1].clone(), args[2].clone());
                Frame::ok()
            }
            ("get", 2) => self
                .data
                .get(&args[1])
                .cloned()
                .map_or(Frame::Null, Frame::Bulk),
            ("incr", 2) => Frame::error("ERR value is not an integer or out of range"),
            ("hgetall", 2) => Frame::Map(vec![(Frame::bulk("f"), Frame::bulk("v"))]),
            ("exists", 2) => Frame::Boolean(resp3),
            ("zscore", 3) => Frame::Double(1.5),
            _ => Frame::error("ERR Unknown Redis command called from script"),
        }
    }
    fn log(&mut self, level: LogLevel, msg: &str) {
        self.logged.push((level, msg.to_string()));
    }
    fn set_repl(&mut self, _flags: ReplFlags) {}
    fn may_run(&mut self, _args: &[Bytes]) -> Option<bool> {
        Some(true)
    }
}

fn eval(e: &mut Engine, h: &mut Memory, body: &str, keys: &[&str], args: &[&str]) -> Frame {
    let sha = match e.load(&Bytes::copy_from_slice(body.as_bytes())) {
        Ok(sha) => sha,
        Err(f) => return f,
    };
    let k: Vec<Bytes> = keys
        .iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect();
    let a: Vec<Bytes> = args
        .iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect();
    e.run(&sha, &k, &a, h)
}

fn err(f: &Frame) -> String {
    match f {
        Frame::Error(e) => String::from_utf8_lossy(e).into_owned(),
        other => format!("not an error: {other:?}"),
    }
}

#[test]
fn values_cross_as_redis_converts_them() -> Result<(), scripting::EngineError> {
    let mut e = Engine::new()?;
    let mut h = Memory::default();
    assert_eq!(
        eval(&mut e, &mut h, "return 1", &[], &[]),
        Frame::Integer(1)
    );
    assert_eq!(
        eval(&mut e, &mut h, "return 3.99", &[], &[]),
        Frame::Integer(3)
    );
    assert_eq!(
        eval(&mut e, &mut h, "return -3.99", &[], &[]),
        Frame::Integer(-3)
    );
    assert_eq!(
        eval(&mut e, &mut h, "return true", &[], &[]),
        Frame::Integer(1)
    );
    assert_eq!(eval(&mut e, &mut h, "return false", &[], &[]), Frame::Null);
    assert_eq!(eval(&mut e, &mut h, "return nil", &[], &[]), Frame::Null);
    assert_eq!(
        eval(&mut e, &mut h, "return {1,2,nil,4}", &[], &[]),
        Frame::Array(vec![Frame::Integer(1), Frame::Integer(2)])
    );
    assert_eq!(
        eval(&mut e, &mut h, "return {ok='fine'}", &[], &[]),
        Frame::simple("fine")
    );
    assert_eq!(
        eval(
            &mut e,
            &mut h,
            "return KEYS[1]..ARGV[2]",
            &["k"],
            &["a", "b"]
        ),
        Frame::bulk("kb")
    );
    assert_eq!(
        eval(
            &mut e,
            &mut h,
            "redis.call('set', KEYS[1], 42) return redis.call('get', KEYS[1])",
            &["x"],
            &[]
        ),
        Frame::bulk("42")
    );
    assert_eq!(
        eval(
            &mut e,
            &mut h,
            "return redis.call('get', 'missing') == false",
            &[],
            &[]
        ),
        Frame::Integer(1)
    );
    assert_eq!(
        eval(
            &mut e,
            &mut h,
            "return redis.call('hgetall', 'h')",
            &[],
            &[]
        ),
        Frame::Array(vec![Frame::bulk("f"), Frame::bulk("v")])
    );
    assert_eq!(
        eval(
            &mut e,
            &mut h,
            "redis.setresp(3) return redis.call('hgetall', 'h')",
            &[],
            &[]
        ),
        Frame::Map(vec![(Frame::bulk("f"), Frame::bulk("v"))])
    );
    assert_eq!(
        eval(
            &mut e,
            &mut h,
            "redis.setresp(3) return redis.call('zscore', 'z', 'm')",
            &[],
            &[]
        ),
        Frame::Double(1.5)
    );
    assert_eq!(
        eval(
            &mut e,
            &mut h,
            "return redis.call('zscore', 'z', 'm')",
            &[],
            &[]
        ),
        Frame::bulk("1.5")
    );
    assert_eq!(
        eval(
            &mut e,
            &mut h,
            "redis.setresp(3) return redis.call('exists', 'k')",
            &[],
            &[]
        ),
        Frame::Boolean(true)
    );
    assert_eq!(
        eval(&mut e, &mut h, "return redis.sha1hex('')", &[], &[]),
        Frame::bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
    assert_eq!(
        eval(&mut e, &mut h, "return bit.band(7, 3)", &[], &[]),
        Frame::Integer(3)
    );
    Ok(())
}

#[test]
fn errors_are_worded_as_redis_words_them() -> Result<(), scripting::EngineError> {
    let mut e = Engine::new()?;
    let mut h = Memory::default();
    let r = eval(&mut e, &mut h, "return redis.call('incr', 'x')", &[], &[]);
    let sha = scripting::sha1_hex(b"return redis.call('incr', 'x')");
    assert_eq!(
        err(&r),
        format!("ERR value is not an integer or out of range script: {sha}, on @user_script:1.")
    );
    let r = eval(&mut e, &mut h, "return redis.pcall('incr', 'x')", &[], &[]);
    assert_eq!(err(&r), "ERR value is not an integer or out of range");
    let r = eval(
        &mut e,
        &mut h,
        "local ok, m = pcall(redis.call, 'incr', 'x') return m",
        &[],
        &[],
    );
    assert_eq!(
        r,
        Frame::bulk("ERR value is not an integer or out of range")
    );
    let r = eval(&mut e, &mut h, "\n\nerror('boom')", &[], &[]);
    assert!(
        err(&r).starts_with("ERR user_script:3: boom script: "),
        "{r:?}"
    );
    assert!(err(&r).ends_with(", on @user_script:3."), "{r:?}");
    let r = eval(
        &mut e,
        &mut h,
        "return redis.error_reply('My Error')",
        &[],
        &[],
    );
    assert_eq!(err(&r), "My Error");
    let r = eval(
        &mut e,
        &mut h,
        "return redis.error_reply('-NOPE')",
        &[],
        &[],
    );
    assert_eq!(err(&r), "ERR NOPE");
    let r = eval(&mut e, &mut h, "return {err='x\\r\\ny'}", &[], &[]);
    assert_eq!(err(&r), "x  y");
    let r = eval(&mut e, &mut h, "return redis.call()", &[], &[]);
    assert!(err(&r)
        .starts_with("ERR Please specify at least one argument for this redis lib call script:"));
    let r = eval(&mut e, &mut h, "return redis.call('get', {})", &[], &[]);
    assert!(err(&r).starts_with("ERR Lua redis lib command arguments must be strings or integers"));
    let r = eval(&mut e, &mut h, "return 'unterminated", &[], &[]);
    assert!(
        err(&r).starts_with("ERR Error compiling script (new function): user_script:1:"),
        "{r:?}"
    );
    let r = eval(&mut e, &mut h, "#!lua flags=nope\nreturn 1", &[], &[]);
    assert_eq!(err(&r), "ERR Unexpected flag in script shebang: nope");
    let r = eval(
        &mut e,
        &mut h,
        "redis.log(redis.LOG_WARNING, 'hi', 5) return 1",
        &[],
        &[],
    );
    assert_eq!(r, Frame::Integer(1));
    assert_eq!(h.logged, vec![(LogLevel::Warning, "hi 5".to_string())]);
    Ok(())
}

#[test]
fn globals_are_read_only() -> Result<(), scripting::EngineError> {
    let mut e = Engine::new()?;
    let mut h = Memory::default();
    let r = eval(&mut e, &mut h, "return a", &[], &[]);
    assert!(
        err(&r).starts_with(
            "ERR user_script:1: Script attempted to access nonexistent global variable 'a' script:"
        ),
        "{r:?}"
    );
    for code in [
        "a = 1",
        "redis = function() return 1 end",
        "_G.x = 1",
        "string.sub = nil",
        "redis.call = nil",
        "setmetatable(_G, {})",
        "rawset(_G, 'x', 1)",
        "getmetatable('').__index.upper = nil",
        "getmetatable(_G).__index = nil",
        "getfenv(0).x = 1",
        "loadstring('y = 1')()",
    ] {
        let r = eval(&mut e, &mut h, code, &[], &[]);
        assert!(
            err(&r).contains("Attempt to modify a readonly table"),
            "{code}: {r:?}"
        );
    }
    // Nothing leaked between runs.
    let r = eval(&mut e, &mut h, "return x", &[], &[]);
    assert!(err(&r).contains("nonexistent global variable 'x'"), "{r:?}");
    for gone in ["print", "dofile", "loadfile", "os", "io", "require"] {
        let r = eval(&mut e, &mut h, &format!("return type({gone})"), &[], &[]);
        assert!(err(&r).contains("nonexistent global"), "{gone}: {r:?}");
    }
    assert_eq!(
        eval(&mut e, &mut h, "local t = {} t.x = 1 return t.x", &[], &[]),
        Frame::Integer(1)
    );
    assert_eq!(
        eval(&mut e, &mut h, "return ('abc'):upper()", &[], &[]),
        Frame::bulk("ABC")
    );
    Ok(())
}

#[test]
fn random_is_redis_lrand48() -> Result<(), scripting::EngineError> {
    let mut e = Engine::new()?;
    let mut h = Memory::default();
    let a = eval(
        &mut e,
        &mut h,
        "math.randomseed(42) return {math.random(1000), math.random(1000)}",
        &[],
        &[],
    );
    let b = eval(
        &mut e,
        &mut h,
        "math.randomseed(42) return {math.random(1000), math.random(1000)}",
        &[],
        &[],
    );
    assert_eq!(a, b);
    Ok(())
}
