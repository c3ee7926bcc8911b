//! The `bit` library Redis loads into scripts (LuaBitOp's API): 32-bit
//! operations on Lua numbers.

use mlua::{Lua, Table, Value, Variadic};

/// A Lua number as LuaBitOp reads it: rounded, then its low 32 bits.
fn tobit(v: &Value) -> mlua::Result<i32> {
    let n = match v {
        Value::Integer(i) => return Ok(*i as i32),
        Value::Number(n) => *n,
        Value::String(s) => s
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .ok_or_else(|| mlua::Error::runtime("bad argument (number expected)"))?,
        _ => return Err(mlua::Error::runtime("bad argument (number expected)")),
    };
    // Round half to even, as the 2^52+2^51 addition in LuaBitOp does.
    let r = n.round_ties_even();
    Ok((r.rem_euclid(4_294_967_296.0) as u64 as u32) as i32)
}

fn arg(args: &Variadic<Value>, i: usize) -> mlua::Result<i32> {
    tobit(args.get(i).unwrap_or(&Value::Nil))
}

/// Creates the `bit` table.
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "tobit",
        lua.create_function(|_, a: Variadic<Value>| arg(&a, 0))?,
    )?;
    t.raw_set(
        "bnot",
        lua.create_function(|_, a: Variadic<Value>| Ok(!arg(&a, 0)?))?,
    )?;
    let fold = |f: fn(i32, i32) -> i32| {
        move |_: &Lua, a: Variadic<Value>| {
            let mut acc = arg(&a, 0)?;
            for i in 1..a.len() {
                acc = f(acc, arg(&a, i)?);
            }
            Ok(acc)
        }
    };
    t.raw_set("band", lua.create_function(fold(|x, y| x & y))?)?;
    t.raw_set("bor", lua.create_function(fold(|x, y| x | y))?)?;
    t.raw_set("bxor", lua.create_function(fold(|x, y| x ^ y))?)?;
    let shift = |f: fn(i32, u32) -> i32| {
        move |_: &Lua, a: Variadic<Value>| Ok(f(arg(&a, 0)?, (arg(&a, 1)? as u32) & 31))
    };
    t.raw_set(
        "lshift",
        lua.create_function(shift(|x, n| ((x as u32) << n) as i32))?,
    )?;
    t.raw_set(
        "rshift",
        lua.create_function(shift(|x, n| ((x as u32) >> n) as i32))?,
    )?;
    t.raw_set("arshift", lua.create_function(shift(|x, n| x >> n))?)?;
    t.raw_set(
        "rol",
        lua.create_function(shift(|x, n| (x as u32).rotate_left(n) as i32))?,
    )?;
    t.raw_set(
        "ror",
        lua.create_function(shift(|x, n| (x as u32).rotate_right(n) as i32))?,
    )?;
    t.raw_set(
        "bswap",
        lua.create_function(|_, a: Variadic<Value>| Ok((arg(&a, 0)? as u32).swap_bytes() as i32))?,
    )?;
    t.raw_set(
        "tohex",
        lua.create_function(|_, a: Variadic<Value>| {
            let x = arg(&a, 0)? as u32;
            let n = if a.len() > 1 { arg(&a, 1)? } else { 8 };
            let upper = n < 0;
            let digits = n.unsigned_abs().min(8) as usize;
            let full = if upper {
                format!("{x:08X}")
            } else {
                format!("{x:08x}")
            };
            Ok(full[8 - digits..].to_string())
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bit_ops_match_luabitop() -> mlua::Result<()> {
        let lua = mlua::Lua::new();
        lua.globals().set("bit", super::create(&lua)?)?;
        let check = |code: &str| -> mlua::Result<bool> { lua.load(code).eval() };
        assert!(check("return bit.tobit(0xffffffff) == -1")?);
        assert!(check("return bit.tobit(2^32 + 5) == 5")?);
        assert!(check("return bit.bnot(0) == -1")?);
        assert!(check("return bit.band(0x12345678, 0xff) == 0x78")?);
        assert!(check("return bit.bor(1, 2, 4) == 7")?);
        assert!(check("return bit.lshift(1, 31) == -2147483648")?);
        assert!(check("return bit.rshift(-1, 28) == 15")?);
        assert!(check("return bit.arshift(-256, 4) == -16")?);
        assert!(check("return bit.tohex(255) == '000000ff'")?);
        assert!(check("return bit.tohex(-1, -4) == 'FFFF'")?);
        assert!(check("return bit.bswap(0x12345678) == 0x78563412")?);
        assert!(check("return bit.rol(0x12345678, 8) == 0x34567812")?);
        Ok(())
    }
}
