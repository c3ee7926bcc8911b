//! What the C libraries Redis links into its interpreter (`cmsgpack`,
//! `struct`) get from Lua's C API, reproduced for their Rust versions so
//! scripts see the same errors: `luaL_error`'s position prefix, the
//! wording of `luaL_argerror`, the argument coercions of `luaL_check*`,
//! the 8000 slots a C function's stack may grow to, and C's
//! float-to-integer casts as x86-64 performs them.

use mlua::{Lua, MultiValue, Table, Value};

/// `LUAI_MAXCSTACK`: how many stack slots a C function may use. The C
/// libraries fail with "stack overflow (...)" past it, so the Rust
/// versions count the slots the C code would have used.
pub const MAX_C_STACK: usize = 8000;

/// Most strings and tables one call may return. Each such value holds one
/// of mlua's reference slots until the call returns, and mlua aborts the
/// process when they run out (they share the 8000-slot limit), so past
/// this a call fails with the error the C library gives for a full stack.
pub const MAX_REF_RESULTS: usize = 4000;

/// `luaL_error`: `msg` prefixed with the position of the Lua code that
/// called the running library function, when that caller is Lua code.
pub fn error(lua: &Lua, msg: impl Into<String>) -> mlua::Error {
    let msg = msg.into();
    let place = lua.inspect_stack(1).and_then(|d| {
        let line = d.curr_line();
        (line > 0).then(|| {
            let src = d.source();
            format!("{}:{line}: ", src.short_src.as_deref().unwrap_or("?"))
        })
    });
    mlua::Error::RuntimeError(format!("{}{msg}", place.unwrap_or_default()))
}

/// `luaL_argerror`: names the function as its caller did, and does not
/// count `self` in a method call.
pub fn arg_error(lua: &Lua, narg: usize, extra: &str) -> mlua::Error {
    let (name, what) = lua
        .inspect_stack(0)
        .map(|d| {
            let n = d.names();
            (n.name.map(|s| s.into_owned()), n.name_what)
        })
        .unwrap_or((None, None));
    let mut narg = narg as i64;
    if what == Some("method") {
        narg -= 1;
        if narg == 0 {
            let name = name.as_deref().unwrap_or("?");
            return error(lua, format!("calling '{name}' on bad self ({extra})"));
        }
    }
    let name = name.as_deref().unwrap_or("?");
    error(lua, format!("bad argument #{narg} to '{name}' ({extra})"))
}

/// `luaL_typerror`: argument `narg` is not of the `expected` type.
pub fn type_error(lua: &Lua, args: &MultiValue, narg: usize, expected: &str) -> mlua::Error {
    let got = type_name(arg(args, narg));
    arg_error(lua, narg, &format!("{expected} expected, got {got}"))
}

/// `luaL_checkstack`: fails as the C code would when `used` slots plus
/// `space` more exceed what a C function may use.
pub fn check_stack(lua: &Lua, used: usize, space: usize, what: &str) -> mlua::Result<()> {
    if used.saturating_add(space) > MAX_C_STACK {
        return Err(error(lua, format!("stack overflow ({what})")));
    }
    Ok(())
}

/// Fails as the C code would for a full stack when `nresults` values
/// will not fit next to the call's `nargs` arguments as mlua returns
/// them: above the arguments and, at times, a slot it keeps for an error,
/// after which it checks for two slots more plus `LUA_MINSTACK` (20), and
/// raises an error of its own if they are missing. So a call returns up
/// to about two dozen values fewer than the C libraries allow.
pub fn check_results(lua: &Lua, nargs: usize, nresults: usize, what: &str) -> mlua::Result<()> {
    check_stack(lua, nargs + nresults, MLUA_RETURN_SLOTS, what)
}

/// The slots mlua may need beyond a callback's arguments and results.
const MLUA_RETURN_SLOTS: usize = 1 + 2 + 20;

/// Argument `narg` (1-based), None when the caller passed fewer.
pub fn arg(args: &MultiValue, narg: usize) -> Option<&Value> {
    narg.checked_sub(1).and_then(|i| args.get(i))
}

/// `luaL_typename`: Lua's name for a value's type ("no value" for a
/// missing argument).
pub fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_) | Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// `lua_tonumber`: numbers, and strings Lua reads as numbers.
pub fn to_number(lua: &Lua, v: Option<&Value>) -> mlua::Result<Option<f64>> {
    Ok(match v {
        Some(Value::Integer(i)) => Some(*i as f64),
        Some(Value::Number(n)) => Some(*n),
        Some(Value::String(s)) => lua.coerce_number(Value::String(s.clone()))?,
        _ => None,
    })
}

/// `luaL_checklstring`: a string, or a number in Lua's `%.14g` form.
pub fn check_string(lua: &Lua, args: &MultiValue, narg: usize) -> mlua::Result<mlua::String> {
    match arg(args, narg) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => lua
            .coerce_string(v.clone())?
            .ok_or_else(|| type_error(lua, args, narg, "string")),
        _ => Err(type_error(lua, args, narg, "string")),
    }
}

/// `luaL_checknumber`.
pub fn check_number(lua: &Lua, args: &MultiValue, narg: usize) -> mlua::Result<f64> {
    to_number(lua, arg(args, narg))?.ok_or_else(|| type_error(lua, args, narg, "number"))
}

/// `luaL_checkinteger`: the number truncated as C casts it.
pub fn check_integer(lua: &Lua, args: &MultiValue, narg: usize) -> mlua::Result<i64> {
    check_number(lua, args, narg).map(f64_to_i64)
}

/// `luaL_optinteger`: `default` for a missing or nil argument.
pub fn opt_integer(lua: &Lua, args: &MultiValue, narg: usize, default: i64) -> mlua::Result<i64> {
    match arg(args, narg) {
        None | Some(Value::Nil) => Ok(default),
        Some(_) => check_integer(lua, args, narg),
    }
}

/// `t[key]` with its exact number: mlua hands a number closer than
/// `f64::EPSILON` to zero over as the integer 0, so 0 is read again.
pub fn exact_get(t: &Table, key: impl mlua::IntoLua + Clone) -> mlua::Result<Value> {
    match t.raw_get::<Value>(key.clone())? {
        Value::Integer(0) => Ok(Value::Number(t.raw_get::<f64>(key)?)),
        Value::Integer(i) => Ok(Value::Number(i as f64)),
        v => Ok(v),
    }
}

const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// `(int64_t)x` on x86-64: truncation, and `i64::MIN` for NaN and for
/// values out of range (where Rust's `as` would saturate instead).
pub fn f64_to_i64(x: f64) -> i64 {
    if (-TWO_63..TWO_63).contains(&x) {
        x as i64
    } else {
        i64::MIN
    }
}

/// `(uint64_t)x` as gcc compiles it for x86-64: values from 2^63 go
/// through a subtraction, so 2^64 and above wrap to 0, while negative
/// values, NaN and -inf give the bits of the signed conversion.
pub fn f64_to_u64(x: f64) -> u64 {
    if x >= TWO_63 {
        (f64_to_i64(x - TWO_63) as u64) ^ (1 << 63)
    } else {
        f64_to_i64(x) as u64
    }
}

/// `(int)x` on x86-64: truncation, and `i32::MIN` for NaN and for values
/// out of range.
pub fn f64_to_i32(x: f64) -> i32 {
    if x > -2_147_483_649.0 && x < 2_147_483_648.0 {
        x as i32
    } else {
        i32::MIN
    }
}

/// A bare interpreter for the libraries' tests, with `install` run on it
/// and `msg(f, ...)`, which calls `f` and gives the text of its error.
#[cfg(test)]
pub fn test_lua(install: impl FnOnce(&Lua) -> mlua::Result<()>) -> Lua {
    let lua = Lua::new();
    let setup = || -> mlua::Result<()> {
        install(&lua)?;
        let text = lua.create_function(|_, v: Value| {
            Ok(match v {
                Value::Error(e) => crate::raise::error_text(&e),
                Value::String(s) => s.to_string_lossy(),
                other => format!("{other:?}"),
            })
        })?;
        lua.globals().set("errtext", text)?;
        lua.load(
            "function msg(...) local ok, e = pcall(...) assert(not ok, 'no error') return errtext(e) end",
        )
        .exec()
    };
    if let Err(e) = setup() {
        unreachable!("test interpreter: {e}");
    }
    lua
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_match_x86_64() {
        assert_eq!(f64_to_i64(f64::NAN), i64::MIN);
        assert_eq!(f64_to_i64(1e19), i64::MIN);
        assert_eq!(f64_to_i64(-1e19), i64::MIN);
        assert_eq!(f64_to_i64(-2.9), -2);
        assert_eq!(f64_to_u64(f64::NAN), 1 << 63);
        assert_eq!(f64_to_u64(f64::INFINITY), 0);
        assert_eq!(f64_to_u64(f64::NEG_INFINITY), 1 << 63);
        assert_eq!(f64_to_u64(1e19), 0x8ac7_2304_89e8_0000);
        assert_eq!(f64_to_u64(2e19), 0);
        assert_eq!(f64_to_u64(-1.0), u64::MAX);
        assert_eq!(f64_to_u64(-0.5), 0);
        assert_eq!(f64_to_i32(3e9), i32::MIN);
        assert_eq!(f64_to_i32(-2147483648.5), -2147483648);
        assert_eq!(f64_to_i32(f64::NAN), i32::MIN);
    }
}
