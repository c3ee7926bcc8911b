//! Redis's conversion rules between command replies and Lua values, both
//! ways, for RESP2 and RESP3 script clients.

use bytes::Bytes;
use mlua::{Lua, Table, Value};
use resp_codec::Frame;

/// How deep a reply or a returned table may nest before conversion stops
/// (deeper returned tables get Redis's "reached lua stack limit").
const MAX_DEPTH: usize = 1000;

fn table_with(lua: &Lua, field: &str, v: impl mlua::IntoLua) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set(field, v)?;
    Ok(Value::Table(t))
}

/// A command's reply as `redis.call` returns it. `resp3` is the protocol
/// the script asked for with `redis.setresp`.
pub fn reply_to_lua(lua: &Lua, f: &Frame, resp3: bool) -> mlua::Result<Value> {
    reply_to_lua_at(lua, f, resp3, 0)
}

fn reply_to_lua_at(lua: &Lua, f: &Frame, resp3: bool, depth: usize) -> mlua::Result<Value> {
    if depth > MAX_DEPTH {
        return Ok(Value::Boolean(false));
    }
    let array = |items: &mut dyn Iterator<Item = &Frame>| -> mlua::Result<Value> {
        let t = lua.create_table()?;
        for (i, item) in items.enumerate() {
            t.raw_set(i + 1, reply_to_lua_at(lua, item, resp3, depth + 1)?)?;
        }
        Ok(Value::Table(t))
    };
    Ok(match f {
        Frame::Integer(i) => Value::Number(*i as f64),
        Frame::Bulk(b) => Value::String(lua.create_string(b)?),
        Frame::Simple(s) => table_with(lua, "ok", lua.create_string(s)?)?,
        Frame::Error(e) => table_with(lua, "err", lua.create_string(e)?)?,
        Frame::Null | Frame::NullArray => {
            if resp3 {
                Value::Nil
            } else {
                Value::Boolean(false)
            }
        }
        Frame::Array(items) | Frame::Push(items) => array(&mut items.iter())?,
        Frame::Set(items) => {
            if resp3 {
                let set = lua.create_table()?;
                for item in items {
                    set.raw_set(reply_to_lua_at(lua, item, resp3, depth + 1)?, true)?;
                }
                table_with(lua, "set", set)?
            } else {
                array(&mut items.iter())?
            }
        }
        Frame::Map(pairs) => {
            if resp3 {
                let map = lua.create_table()?;
                for (k, v) in pairs {
                    map.raw_set(
                        reply_to_lua_at(lua, k, resp3, depth + 1)?,
                        reply_to_lua_at(lua, v, resp3, depth + 1)?,
                    )?;
                }
                table_with(lua, "map", map)?
            } else {
                array(&mut pairs.iter().flat_map(|(k, v)| [k, v]))?
            }
        }
        Frame::Double(d) => {
            if resp3 {
                table_with(lua, "double", *d)?
            } else {
                Value::String(lua.create_string(double_text(*d))?)
            }
        }
        Frame::Boolean(b) => {
            if resp3 {
                Value::Boolean(*b)
            } else {
                Value::Number(if *b { 1.0 } else { 0.0 })
            }
        }
        Frame::BigNumber(digits) => {
            if resp3 {
                table_with(lua, "big_number", lua.create_string(digits)?)?
            } else {
                Value::String(lua.create_string(digits)?)
            }
        }
        Frame::Verbatim { format, text } => {
            if resp3 {
                let v = lua.create_table()?;
                v.raw_set("format", lua.create_string(format)?)?;
                v.raw_set("string", lua.create_string(text)?)?;
                table_with(lua, "verbatim_string", v)?
            } else {
                Value::String(lua.create_string(text)?)
            }
        }
        Frame::Attribute(_) => Value::Nil,
    })
}

fn double_text(d: f64) -> String {
    if d.is_nan() {
        "nan".to_string()
    } else if d.is_infinite() {
        if d > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        resp_codec::format_g17(d)
    }
}

/// Replaces CR and LF with spaces, as Redis does in status and error
/// lines built from script values.
pub fn one_line(b: &[u8]) -> Bytes {
    Bytes::from(
        b.iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
            .collect::<Vec<u8>>(),
    )
}

/// A script's result as the reply its caller gets. `resp3` is the
/// script's own protocol (booleans depend on it).
pub fn lua_to_reply(v: &Value, resp3: bool) -> Frame {
    lua_to_reply_at(v, resp3, 0)
}

fn field(t: &Table, name: &str) -> Value {
    t.raw_get(name).unwrap_or(Value::Nil)
}

fn lua_to_reply_at(v: &Value, resp3: bool, depth: usize) -> Frame {
    if depth > MAX_DEPTH {
        return Frame::error("ERR reached lua stack limit");
    }
    match v {
        Value::String(s) => Frame::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Boolean(b) => {
            if resp3 {
                Frame::Boolean(*b)
            } else if *b {
                Frame::Integer(1)
            } else {
                Frame::Null
            }
        }
        Value::Integer(i) => Frame::Integer(*i),
        Value::Number(n) => Frame::Integer(truncate(*n)),
        Value::Table(t) => table_to_reply(t, resp3, depth),
        _ => Frame::Null,
    }
}

/// A Lua number as Redis's `(long long)` cast leaves it.
fn truncate(n: f64) -> i64 {
    if n.is_nan() {
        i64::MIN
    } else {
        n as i64
    }
}

fn table_to_reply(t: &Table, resp3: bool, depth: usize) -> Frame {
    if let Value::String(e) = field(t, "err") {
        return Frame::Error(one_line(&e.as_bytes()));
    }
    if let Value::String(s) = field(t, "ok") {
        return Frame::Simple(one_line(&s.as_bytes()));
    }
    match field(t, "double") {
        Value::Number(d) => return Frame::Double(d),
        Value::Integer(i) => return Frame::Double(i as f64),
        _ => {}
    }
    if let Value::String(s) = field(t, "big_number") {
        return Frame::BigNumber(one_line(&s.as_bytes()));
    }
    if let Value::Table(v) = field(t, "verbatim_string") {
        if let (Value::String(f), Value::String(s)) = (field(&v, "format"), field(&v, "string")) {
            let fb = f.as_bytes();
            let mut format = [b' '; 3];
            for (d, s) in format.iter_mut().zip(fb.iter()) {
                *d = *s;
            }
            return Frame::Verbatim {
                format,
                text: Bytes::copy_from_slice(&s.as_bytes()),
            };
        }
    }
    if let Value::Table(m) = field(t, "map") {
        let mut pairs = Vec::new();
        for (k, v) in m.pairs::<Value, Value>().flatten() {
            pairs.push((
                lua_to_reply_at(&k, resp3, depth + 1),
                lua_to_reply_at(&v, resp3, depth + 1),
            ));
        }
        return Frame::Map(pairs);
    }
    if let Value::Table(s) = field(t, "set") {
        let mut items = Vec::new();
        for (k, _) in s.pairs::<Value, Value>().flatten() {
            items.push(lua_to_reply_at(&k, resp3, depth + 1));
        }
        return Frame::Set(items);
    }
    let mut items = Vec::new();
    for i in 1.. {
        let v: Value = t.raw_get(i).unwrap_or(Value::Nil);
        if v == Value::Nil {
            break;
        }
        items.push(lua_to_reply_at(&v, resp3, depth + 1));
    }
    Frame::Array(items)
}
