//! The `cmsgpack` library Redis loads into scripts (lua-cmsgpack 0.4.0):
//! `pack`, `unpack`, `unpack_one` and `unpack_limit`, with the C
//! library's choices of encoding, its 16-level nesting limit, its error
//! messages, and its stack limits.
//!
//! Decoding never trusts a length in the input: a container claiming
//! more elements than the input holds runs out of bytes ("Missing bytes
//! in input.") before anything is allocated for it. Nested containers
//! are built without recursion, and the tables still open are kept in a
//! Lua table rather than as Rust handles, so deep input needs neither
//! Rust stack nor mlua reference slots.

use mlua::{Function, Lua, MultiValue, Table, Value};

use crate::clib::{self, check_stack};

/// `LUACMSGPACK_MAX_NESTING`: a table this deep is packed as nil, which
/// also ends the packing of cyclic tables.
const MAX_NESTING: usize = 16;

/// What `luaL_checkstack` reports when decoded values fill the stack.
const TOO_MANY: &str = "too many return values at once; use unpack_one or unpack_limit instead.";

/// Lists a table's entries in `next` order into two arrays (keys and
/// values) and their count. Numbers reach Rust exactly when read from
/// these arrays by index, which iterating from Rust does not guarantee.
const ENTRIES: &str = r#"
local next = ...
return function(t)
    local ks, vs, n = {}, {}, 0
    local k, v = next(t)
    while k ~= nil do
        n = n + 1
        ks[n] = k
        vs[n] = v
        k, v = next(t, k)
    end
    return ks, vs, n
end
"#;

/// Creates the `cmsgpack` table.
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let next: Value = lua.globals().raw_get("next")?;
    let entries: Function = lua
        .load(ENTRIES)
        .set_name(crate::sandbox::INTERNAL_CHUNK)
        .call(next)?;
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(move |lua, args: MultiValue| pack(lua, &entries, &args))?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| {
            // Every argument stays on the C function's stack.
            unpack_full(lua, &args, args.len(), 0, 0)
        })?,
    )?;
    t.raw_set(
        "unpack_one",
        lua.create_function(|lua, args: MultiValue| {
            let offset = clib::opt_integer(lua, &args, 2, 0)?;
            unpack_full(lua, &args, args.len().min(1), 1, offset)
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        lua.create_function(|lua, args: MultiValue| {
            let limit = clib::check_integer(lua, &args, 2)?;
            let offset = clib::opt_integer(lua, &args, 3, 0)?;
            unpack_full(lua, &args, args.len().min(1), limit, offset)
        })?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

// ---------------------------------------------------------------- packing

/// `cmsgpack.pack(...)`: the encodings of all arguments, concatenated.
fn pack(lua: &Lua, entries: &Function, args: &MultiValue) -> mlua::Result<mlua::String> {
    let nargs = args.len();
    if nargs == 0 {
        return Err(clib::arg_error(lua, 0, "MessagePack pack needs input."));
    }
    // The C code asks for as many free slots as there are arguments.
    if nargs.saturating_mul(2) > clib::MAX_C_STACK {
        return Err(clib::arg_error(
            lua,
            0,
            "Too many arguments for MessagePack pack.",
        ));
    }
    let mut p = Packer {
        lua,
        entries,
        out: Vec::new(),
    };
    for (i, v) in args.iter().enumerate() {
        // The arguments, the encodings made so far, then this argument's
        // copy on top.
        check_stack(lua, nargs + i, 1, "in function mp_check")?;
        p.value(v, 0, nargs + i + 1)?;
    }
    lua.create_string(&p.out)
}

struct Packer<'a> {
    lua: &'a Lua,
    entries: &'a Function,
    out: Vec<u8>,
}

impl Packer<'_> {
    /// Encodes `v`, a table `level` tables deep; `top` counts the C
    /// stack's slots with the value on top.
    fn value(&mut self, v: &Value, level: usize, top: usize) -> mlua::Result<()> {
        match v {
            Value::String(s) => self.bytes(&s.as_bytes()),
            Value::Boolean(b) => self.out.push(if *b { 0xc3 } else { 0xc2 }),
            Value::Integer(i) => self.number(*i as f64),
            Value::Number(n) => self.number(*n),
            Value::Table(t) if level < MAX_NESTING => self.table(t, level, top)?,
            // Functions, userdata, threads, too-deep tables: nil.
            _ => self.out.push(0xc0),
        }
        Ok(())
    }

    fn table(&mut self, t: &Table, level: usize, top: usize) -> mlua::Result<()> {
        check_stack(self.lua, top, 2, "in function table_is_an_array")?;
        let (keys, vals, n): (Table, Table, usize) = self.entries.call(t.clone())?;
        if let Some(len) = array_length(&keys, n)? {
            check_stack(self.lua, top, 1, "in function mp_encode_lua_table_as_array")?;
            header(&mut self.out, len as u64, 0x90, 0xdc);
            for j in 1..=len {
                let item = clib::exact_get(t, j)?;
                self.value(&item, level + 1, top + 1)?;
            }
        } else {
            check_stack(self.lua, top, 3, "in function mp_encode_lua_table_as_map")?;
            header(&mut self.out, n as u64, 0x80, 0xde);
            for i in 1..=n {
                let k = clib::exact_get(&keys, i)?;
                self.value(&k, level + 1, top + 3)?;
                let v = clib::exact_get(&vals, i)?;
                self.value(&v, level + 1, top + 2)?;
            }
        }
        Ok(())
    }

    /// Integral numbers that fit an int64 take the shortest integer
    /// encoding; others a float when that loses nothing, else a double.
    fn number(&mut self, n: f64) {
        let i = clib::f64_to_i64(n);
        if !n.is_infinite() && i as f64 == n {
            self.int(i);
        } else if f64::from(n as f32) == n {
            self.out.push(0xca);
            self.out.extend_from_slice(&(n as f32).to_be_bytes());
        } else {
            self.out.push(0xcb);
            self.out.extend_from_slice(&n.to_be_bytes());
        }
    }

    fn int(&mut self, n: i64) {
        let out = &mut self.out;
        if n >= 0 {
            if n <= 127 {
                out.push(n as u8);
            } else if n <= 0xff {
                out.extend_from_slice(&[0xcc, n as u8]);
            } else if n <= 0xffff {
                out.push(0xcd);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            } else if n <= 0xffff_ffff {
                out.push(0xce);
                out.extend_from_slice(&(n as u32).to_be_bytes());
            } else {
                out.push(0xcf);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        } else if n >= -32 {
            out.push(n as i8 as u8);
        } else if n >= -128 {
            out.extend_from_slice(&[0xd0, n as i8 as u8]);
        } else if n >= -32768 {
            out.push(0xd1);
            out.extend_from_slice(&(n as i16).to_be_bytes());
        } else if n >= -2_147_483_648 {
            out.push(0xd2);
            out.extend_from_slice(&(n as i32).to_be_bytes());
        } else {
            out.push(0xd3);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }

    /// Strings take the str formats (fixstr, str8, str16, str32).
    fn bytes(&mut self, s: &[u8]) {
        let len = s.len();
        let out = &mut self.out;
        if len < 32 {
            out.push(0xa0 | len as u8);
        } else if len <= 0xff {
            out.extend_from_slice(&[0xd9, len as u8]);
        } else if len <= 0xffff {
            out.push(0xda);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(0xdb);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
        out.extend_from_slice(s);
    }
}

/// An array or map header: `fix` carries counts up to 15, then the 16-
/// and 32-bit forms (`wide`, `wide + 1`).
fn header(out: &mut Vec<u8>, n: u64, fix: u8, wide: u8) {
    if n <= 15 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(wide);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(wide + 1);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// Some(n) when the keys are exactly 1..n, so the table packs as an
/// array: every key a number that is a positive C `int`, and the largest
/// equal to their count (keys are distinct, so no hole is possible).
fn array_length(keys: &Table, n: usize) -> mlua::Result<Option<usize>> {
    let mut max = 0i64;
    for i in 1..=n {
        let Value::Number(k) = clib::exact_get(keys, i)? else {
            return Ok(None);
        };
        if k <= 0.0 || f64::from(clib::f64_to_i32(k)) != k {
            return Ok(None);
        }
        max = max.max(k as i64);
    }
    Ok((max == n as i64).then_some(n))
}

// -------------------------------------------------------------- unpacking

/// Why decoding stopped: the C library's two cursor errors, or a Lua
/// error raised on the spot (full stack, nil or NaN map key).
enum Failure {
    Eof,
    BadFormat,
    Lua(mlua::Error),
}

impl From<mlua::Error> for Failure {
    fn from(e: mlua::Error) -> Self {
        Failure::Lua(e)
    }
}

/// `mp_unpack_full`: decodes up to `limit` values from `offset` (both 0:
/// every value, and no offset in the results). `base` is how many
/// arguments the C function still has on its stack.
fn unpack_full(
    lua: &Lua,
    args: &MultiValue,
    base: usize,
    limit: i64,
    offset: i64,
) -> mlua::Result<MultiValue> {
    let decode_all = limit == 0 && offset == 0;
    let input = clib::check_string(lua, args, 1)?;
    let bytes = input.as_bytes();
    let len = bytes.len();
    if offset < 0 || limit < 0 {
        // The C message prints the input's length where it means the limit.
        return Err(clib::error(
            lua,
            format!(
                "Invalid request to unpack with offset of {} and limit of {}.",
                offset as i32, len as i32
            ),
        ));
    }
    if offset as u64 > len as u64 {
        return Err(clib::error(
            lua,
            format!(
                "Start offset {} greater than input length {}.",
                offset as i32, len as i32
            ),
        ));
    }
    let limit = if decode_all {
        i64::from(i32::MAX)
    } else {
        limit
    };
    let mut d = Decoder {
        lua,
        s: &bytes,
        at: offset as usize,
        open: lua.create_table()?,
        keys: lua.create_table()?,
    };
    let mut out = MultiValue::new();
    let mut refs = 0usize;
    let mut count = 0i64;
    while d.at < len && count < limit {
        let v = match d.value(base + out.len()) {
            Ok(v) => v,
            Err(Failure::Eof) => return Err(clib::error(lua, "Missing bytes in input.")),
            Err(Failure::BadFormat) => return Err(clib::error(lua, "Bad data format in input.")),
            Err(Failure::Lua(e)) => return Err(e),
        };
        if matches!(v, Value::String(_) | Value::Table(_)) {
            refs += 1;
            if refs > clib::MAX_REF_RESULTS {
                return Err(clib::error(lua, format!("stack overflow ({TOO_MANY})")));
            }
        }
        out.push_back(v);
        count += 1;
    }
    if !decode_all {
        check_stack(lua, base + out.len(), 1, "in function mp_unpack_full")?;
        let next = if d.at >= len { -1 } else { d.at as i64 };
        out.push_front(Value::Number(next as f64));
        clib::check_results(lua, args.len(), out.len(), "in function mp_unpack_full")?;
    } else {
        clib::check_results(lua, args.len(), out.len(), TOO_MANY)?;
    }
    Ok(out)
}

/// An open container: how many items it still needs, and for an array
/// the next index, for a map the state of its pending key.
enum Frame {
    Array { left: u64, next: i64 },
    Map { left: u64, key: Key },
}

/// A map's pending key. Nil and NaN keys are only refused once their
/// value is decoded, when the C code stores the pair.
enum Key {
    Awaited,
    Nil,
    NaN,
    /// A number or boolean, held here.
    Scalar(Value),
    /// A string or table, held in the decoder's `keys` table.
    Stored,
}

struct Decoder<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    at: usize,
    /// The open containers' tables, by depth.
    open: Table,
    /// The open maps' pending string or table keys, by depth.
    keys: Table,
}

impl Decoder<'_> {
    fn need(&self, n: usize) -> Result<(), Failure> {
        if self.s.len() - self.at < n {
            return Err(Failure::Eof);
        }
        Ok(())
    }

    fn byte(&self, i: usize) -> u8 {
        self.s.get(self.at + i).copied().unwrap_or(0)
    }

    /// Big-endian `n`-byte unsigned integer after the tag byte, after
    /// checking the bytes are there.
    fn uint(&self, n: usize) -> Result<u64, Failure> {
        self.need(1 + n)?;
        Ok((1..=n).fold(0u64, |acc, i| (acc << 8) | u64::from(self.byte(i))))
    }

    /// A string of `len` bytes after a `hdr`-byte header.
    fn string(&mut self, hdr: usize, len: usize) -> Result<Value, Failure> {
        self.need(hdr)?;
        self.at += hdr;
        self.need(len)?;
        let v = self.lua.create_string(&self.s[self.at..self.at + len])?;
        self.at += len;
        Ok(Value::String(v))
    }

    /// Decodes one value, containers included. `used` counts the C
    /// stack's slots below it, for the C code's stack checks.
    fn value(&mut self, mut used: usize) -> Result<Value, Failure> {
        let mut frames: Vec<Frame> = Vec::new();
        // The innermost open container's table (kept at `open[depth]` too).
        let mut current: Option<Table> = None;
        loop {
            self.need(1)?;
            check_stack(self.lua, used, 1, TOO_MANY)?;
            let mut item = match self.scalar()? {
                Some(v) => v,
                None => {
                    let (len, is_map) = self.container()?;
                    if !is_map {
                        check_stack(self.lua, used + 1, 1, "in function mp_decode_to_lua_array")?;
                    }
                    // Never trust the count: each item takes a byte at least.
                    let room = (self.s.len() - self.at).min(1024);
                    let cap = usize::try_from(len).unwrap_or(usize::MAX).min(room);
                    let t = if is_map {
                        self.lua.create_table_with_capacity(0, cap)?
                    } else {
                        self.lua.create_table_with_capacity(cap, 0)?
                    };
                    if len == 0 {
                        Value::Table(t)
                    } else {
                        frames.push(if is_map {
                            used += 1;
                            Frame::Map {
                                left: len,
                                key: Key::Awaited,
                            }
                        } else {
                            used += 2;
                            Frame::Array { left: len, next: 1 }
                        });
                        self.open.raw_set(frames.len(), &t)?;
                        current = Some(t);
                        continue;
                    }
                }
            };
            // Hand the finished item to its container, closing every
            // container it completes.
            loop {
                let depth = frames.len();
                let (Some(frame), Some(t)) = (frames.last_mut(), current.as_ref()) else {
                    return Ok(item);
                };
                match frame {
                    Frame::Array { left, next } => {
                        t.raw_set(*next, item)?;
                        *next += 1;
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                        used -= 2;
                    }
                    Frame::Map { left, key } => match std::mem::replace(key, Key::Awaited) {
                        Key::Awaited => {
                            *key = match item {
                                Value::Nil => Key::Nil,
                                Value::Number(n) if n.is_nan() => Key::NaN,
                                Value::String(_) | Value::Table(_) => {
                                    self.keys.raw_set(depth, item)?;
                                    Key::Stored
                                }
                                v => Key::Scalar(v),
                            };
                            used += 1;
                            break;
                        }
                        Key::Nil => return Err(mlua::Error::runtime("table index is nil").into()),
                        Key::NaN => return Err(mlua::Error::runtime("table index is NaN").into()),
                        pending => {
                            let k = match pending {
                                Key::Scalar(k) => k,
                                _ => {
                                    let k: Value = self.keys.raw_get(depth)?;
                                    self.keys.raw_set(depth, Value::Nil)?;
                                    k
                                }
                            };
                            t.raw_set(k, item)?;
                            used -= 1;
                            *left -= 1;
                            if *left > 0 {
                                break;
                            }
                            used -= 1;
                        }
                    },
                }
                // The container is complete: it becomes the item.
                frames.pop();
                self.open.raw_set(depth, Value::Nil)?;
                item = Value::Table(t.clone());
                current = if frames.is_empty() {
                    None
                } else {
                    Some(self.open.raw_get(frames.len())?)
                };
            }
        }
    }

    /// Decodes a value that is not a container; None (consuming
    /// nothing) for a container's header.
    fn scalar(&mut self) -> Result<Option<Value>, Failure> {
        let tag = self.byte(0);
        let (v, size) = match tag {
            0x00..=0x7f => (f64::from(tag), 1),
            0xe0..=0xff => (f64::from(tag as i8), 1),
            0xa0..=0xbf => return self.string(1, usize::from(tag & 0x1f)).map(Some),
            0xd9 => {
                let l = self.uint(1)? as usize;
                return self.string(2, l).map(Some);
            }
            0xda => {
                let l = self.uint(2)? as usize;
                return self.string(3, l).map(Some);
            }
            0xdb => {
                let l = usize::try_from(self.uint(4)?).map_err(|_| Failure::Eof)?;
                return self.string(5, l).map(Some);
            }
            0xc0 => {
                self.at += 1;
                return Ok(Some(Value::Nil));
            }
            0xc2 | 0xc3 => {
                self.at += 1;
                return Ok(Some(Value::Boolean(tag == 0xc3)));
            }
            0xcc => (self.uint(1)? as f64, 2),
            0xcd => (self.uint(2)? as f64, 3),
            0xce => (self.uint(4)? as f64, 5),
            // Pushed as a C `lua_Integer`: from 2^63 it wraps negative.
            0xcf => (self.uint(8)? as i64 as f64, 9),
            0xd0 => (f64::from(self.uint(1)? as u8 as i8), 2),
            0xd1 => (f64::from(self.uint(2)? as u16 as i16), 3),
            0xd2 => (f64::from(self.uint(4)? as u32 as i32), 5),
            0xd3 => (self.uint(8)? as i64 as f64, 9),
            0xca => (f64::from(f32::from_bits(self.uint(4)? as u32)), 5),
            0xcb => (f64::from_bits(self.uint(8)?), 9),
            0x80..=0x9f | 0xdc..=0xdf => return Ok(None),
            // bin, ext, and the never-used 0xc1: lua-cmsgpack knows none.
            _ => return Err(Failure::BadFormat),
        };
        self.at += size;
        Ok(Some(Value::Number(v)))
    }

    /// Reads a container's header: its item count, and whether it is a map.
    fn container(&mut self) -> Result<(u64, bool), Failure> {
        let tag = self.byte(0);
        let (len, size) = match tag {
            0x80..=0x9f => (u64::from(tag & 0x0f), 1),
            0xdc | 0xde => (self.uint(2)?, 3),
            _ => (self.uint(4)?, 5),
        };
        self.at += size;
        // fixmap (0x8_) and map16/map32 (0xde, 0xdf) are maps.
        Ok((len, (tag & 0xf0) == 0x80 || tag >= 0xde))
    }
}

#[cfg(test)]
mod tests {
    use mlua::Lua;

    fn lua() -> Lua {
        crate::clib::test_lua(|lua| lua.globals().set("cmsgpack", super::create(lua)?))
    }

    fn hex(lua: &Lua, code: &str) -> String {
        let s: mlua::String = lua.load(code).eval().unwrap();
        s.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn err(lua: &Lua, code: &str) -> String {
        match lua.load(code).set_name("@user_script").exec() {
            Ok(()) => panic!("{code} did not fail"),
            Err(e) => crate::raise::error_text(&e),
        }
    }

    fn check(lua: &Lua, code: &str) {
        if let Err(e) = lua.load(code).set_name("=check").exec() {
            panic!("{code}: {}", crate::raise::error_text(&e));
        }
    }

    // scripting.tcl: "EVAL - cmsgpack can pack double?"
    #[test]
    fn packs_double() {
        assert_eq!(
            hex(&lua(), "return cmsgpack.pack(0.1)"),
            "cb3fb999999999999a"
        );
    }

    // scripting.tcl: "EVAL - cmsgpack can pack negative int64?"
    #[test]
    fn packs_negative_int64() {
        assert_eq!(
            hex(&lua(), "return cmsgpack.pack(-1099511627776)"),
            "d3ffffff0000000000"
        );
    }

    // scripting.tcl: "EVAL - cmsgpack pack/unpack smoke test"
    #[test]
    fn smoke_test() {
        check(
            &lua(),
            r#"
            local str_lt_32 = string.rep("x", 30)
            local str_lt_255 = string.rep("x", 250)
            local str_lt_65535 = string.rep("x", 65530)
            local str_long = string.rep("x", 100000)
            local array_lt_15 = {1, 2, 3, 4, 5}
            local array_lt_65535 = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}
            local array_big = {}
            for i=1, 100000 do array_big[i] = i end
            local map_lt_15 = {a=1, b=2}
            local map_big = {}
            for i=1, 100000 do map_big[tostring(i)] = i end
            local some_map = {
                s1=str_lt_32, s2=str_lt_255, s3=str_lt_65535, s4=str_long,
                d1=0.1, i1=1, i2=250, i3=65530, i4=100000, i5=2^40, i6=-1,
                i7=-120, i8=-32000, i9=-100000, i10=-3147483648,
                a1=array_lt_15, a2=array_lt_65535, a3=array_big,
                m1=map_lt_15, m2=map_big, b1=false, b2=true, n=nil
            }
            local encoded = cmsgpack.pack(some_map)
            local decoded = cmsgpack.unpack(encoded)
            assert(table.concat(some_map) == table.concat(decoded))
            local offset, decoded_one = cmsgpack.unpack_one(encoded, 0)
            assert(table.concat(some_map) == table.concat(decoded_one))
            assert(offset == -1)
            -- Beyond the tcl test: every field survives.
            for k, v in pairs(some_map) do
                if type(v) == 'table' then
                    for k2, v2 in pairs(v) do assert(decoded[k][k2] == v2, k) end
                else
                    assert(decoded[k] == v, k)
                end
            end

            local encoded_multiple = cmsgpack.pack(str_lt_32, str_lt_255, str_lt_65535, str_long)
            local offset, obj = cmsgpack.unpack_limit(encoded_multiple, 1, 0)
            assert(obj == str_lt_32)
            offset, obj = cmsgpack.unpack_limit(encoded_multiple, 1, offset)
            assert(obj == str_lt_255)
            offset, obj = cmsgpack.unpack_limit(encoded_multiple, 1, offset)
            assert(obj == str_lt_65535)
            offset, obj = cmsgpack.unpack_limit(encoded_multiple, 1, offset)
            assert(obj == str_long)
            assert(offset == -1)
            "#,
        );
    }

    // scripting.tcl: "EVAL - cmsgpack can pack and unpack circular references?"
    #[test]
    fn circular_references_stop_at_depth_16() {
        let lua = lua();
        check(
            &lua,
            r#"
            local a = {x=nil,y=5}
            local b = {x=a}
            a['x'] = b
            local encoded = cmsgpack.pack(a)
            local h = ""
            for i = 1, #encoded do
                h = h .. string.format("%02x",string.byte(encoded,i))
            end
            local re = cmsgpack.unpack(encoded)
            assert(re)
            assert(re.x)
            assert(re.x.x.y == re.y)
            assert(re.x.x.x.x.y == re.y)
            assert(re.x.x.x.x.x.x.y == re.y)
            assert(re.x.x.x.x.x.x.x.x.x.x.y == re.y)
            assert(re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.y == re.y)
            assert(re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x)
            assert(re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x == nil)
            assert(re.x.x.x.x.x.x.x.x.y == re.y, 'y')
            assert(re.y == 5)
            result = h
            "#,
        );
        let h: String = lua.globals().get("result").unwrap();
        assert_eq!(
            h,
            "82a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a178c0"
        );
    }

    #[test]
    fn integer_and_float_encodings() {
        let lua = lua();
        let cases = [
            ("0", "00"),
            ("127", "7f"),
            ("128", "cc80"),
            ("255", "ccff"),
            ("256", "cd0100"),
            ("65535", "cdffff"),
            ("65536", "ce00010000"),
            ("4294967295", "ceffffffff"),
            ("4294967296", "cf0000000100000000"),
            ("-1", "ff"),
            ("-32", "e0"),
            ("-33", "d0df"),
            ("-128", "d080"),
            ("-129", "d1ff7f"),
            ("-32768", "d18000"),
            ("-32769", "d2ffff7fff"),
            ("-2147483648", "d280000000"),
            ("-2147483649", "d3ffffffff7fffffff"),
            ("-0.0", "00"),
            ("0.5", "ca3f000000"),
            ("-1.5", "cabfc00000"),
            ("1/0", "ca7f800000"),
            ("-1/0", "caff800000"),
            ("2^63", "ca5f000000"),
            ("-2^63", "d38000000000000000"),
            ("2^64", "ca5f800000"),
            ("1e300", "cb7e37e43c8800759c"),
            ("1e-20", "cb3bc79ca10c924223"),
        ];
        for (expr, want) in cases {
            // mlua hands over a direct argument below f64::EPSILON as 0.
            if expr != "1e-20" {
                assert_eq!(
                    hex(&lua, &format!("return cmsgpack.pack({expr})")),
                    want,
                    "{expr}"
                );
            }
            // Inside a table every number reaches Rust exactly.
            assert_eq!(
                hex(&lua, &format!("return cmsgpack.pack({{{expr}}})")),
                format!("91{want}"),
                "{{{expr}}}"
            );
        }
        // NaN is a double (it equals no float), whatever its sign bit.
        let nan = hex(&lua, "return cmsgpack.pack(0/0)");
        assert!(nan.starts_with("cb") && nan.len() == 18, "{nan}");
    }

    #[test]
    fn strings_booleans_nil_and_others() {
        let lua = lua();
        assert_eq!(hex(&lua, "return cmsgpack.pack('')"), "a0");
        assert_eq!(hex(&lua, "return cmsgpack.pack('abc')"), "a3616263");
        assert!(hex(&lua, "return cmsgpack.pack(string.rep('x', 31))").starts_with("bf78"));
        assert!(hex(&lua, "return cmsgpack.pack(string.rep('x', 32))").starts_with("d92078"));
        assert!(hex(&lua, "return cmsgpack.pack(string.rep('x', 255))").starts_with("d9ff78"));
        assert!(hex(&lua, "return cmsgpack.pack(string.rep('x', 256))").starts_with("da010078"));
        assert!(
            hex(&lua, "return cmsgpack.pack(string.rep('x', 65536))").starts_with("db0001000078")
        );
        assert_eq!(
            hex(&lua, "return cmsgpack.pack(true, false, nil)"),
            "c3c2c0"
        );
        // Numeric strings stay strings.
        assert_eq!(hex(&lua, "return cmsgpack.pack('12')"), "a23132");
        assert_eq!(
            hex(
                &lua,
                "return cmsgpack.pack(print, coroutine.create(function() end))"
            ),
            "c0c0"
        );
    }

    #[test]
    fn tables_as_arrays_or_maps() {
        let lua = lua();
        assert_eq!(hex(&lua, "return cmsgpack.pack({})"), "90");
        assert_eq!(hex(&lua, "return cmsgpack.pack({1, 2, 3})"), "93010203");
        assert_eq!(
            hex(&lua, "return cmsgpack.pack({[1] = 'a', [2] = 'b'})"),
            "92a161a162"
        );
        // A hole, a zero key, a fractional key, a string key: maps.
        assert_eq!(hex(&lua, "return cmsgpack.pack({[2] = true})"), "8102c3");
        assert_eq!(hex(&lua, "return cmsgpack.pack({[0] = true})"), "8100c3");
        assert_eq!(
            hex(&lua, "return cmsgpack.pack({[1.5] = true})"),
            "81ca3fc00000c3"
        );
        assert_eq!(hex(&lua, "return cmsgpack.pack({a = 1})"), "81a16101");
        // Keys past a C int are no array index.
        assert_eq!(
            hex(&lua, "return cmsgpack.pack({[2^31] = 1})"),
            "81ce8000000001"
        );
        let sixteen = hex(
            &lua,
            "local t = {} for i = 1, 16 do t[i] = i end return cmsgpack.pack(t)",
        );
        assert!(sixteen.starts_with("dc0010"));
        let big = hex(
            &lua,
            "local t = {} for i = 1, 65536 do t[i] = 0 end return cmsgpack.pack(t)",
        );
        assert!(big.starts_with("dd00010000"));
        let map16 = hex(
            &lua,
            "local t = {} for i = 1, 16 do t['k'..i] = 0 end return cmsgpack.pack(t)",
        );
        assert!(map16.starts_with("de0010"));
        // Table keys are packed too.
        assert_eq!(hex(&lua, "return cmsgpack.pack({[{}] = 1})"), "819001");
    }

    #[test]
    fn nesting_past_16_packs_nil() {
        let lua = lua();
        let h = hex(
            &lua,
            "local t = {} local c = t for i = 1, 20 do c[1] = {} c = c[1] end return cmsgpack.pack(t)",
        );
        assert_eq!(h, format!("{}c0", "91".repeat(16)));
        // Map keys count as one level deeper too.
        let h = hex(
            &lua,
            "local t = {} local c = t for i = 1, 15 do c[1] = {} c = c[1] end c.k = {} return cmsgpack.pack(t)",
        );
        assert_eq!(h, format!("{}81a16bc0", "91".repeat(15)));
    }

    #[test]
    fn pack_argument_errors() {
        let lua = lua();
        assert_eq!(
            err(&lua, "cmsgpack.pack()"),
            "user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.)"
        );
        let many = err(
            &lua,
            "local t = {} for i = 1, 4001 do t[i] = i end cmsgpack.pack(unpack(t))",
        );
        assert!(
            many.ends_with("bad argument #0 to 'pack' (Too many arguments for MessagePack pack.)"),
            "{many}"
        );
        check(
            &lua,
            "local t = {} for i = 1, 4000 do t[i] = i end assert(#cmsgpack.pack(unpack(t)) > 4000)",
        );
        // Through pcall there is no Lua caller to name.
        check(
            &lua,
            "local e = msg(cmsgpack.pack) assert(e == \"bad argument #0 to '?' (MessagePack pack needs input.)\", e)",
        );
    }

    #[test]
    fn unpack_decodes_every_type() {
        let lua = lua();
        check(
            &lua,
            r#"
            local function u(s) return cmsgpack.unpack(s) end
            assert(u('\0') == 0 and u('\127') == 127)
            assert(u('\255') == -1 and u('\224') == -32)
            assert(u('\204\200') == 200)
            assert(u('\205\1\0') == 256)
            assert(u('\206\255\255\255\255') == 4294967295)
            assert(u('\207\0\0\0\1\0\0\0\0') == 4294967296)
            assert(u('\207\255\255\255\255\255\255\255\255') == -1)
            assert(u('\208\128') == -128)
            assert(u('\209\255\254') == -2)
            assert(u('\209\128\0') == -32768)
            assert(u('\210\255\255\255\254') == -2)
            assert(u('\211\255\255\255\255\255\255\255\254') == -2)
            assert(u('\202\63\192\0\0') == 1.5)
            assert(u('\203\63\185\153\153\153\153\153\154') == 0.1)
            assert(u('\192') == nil and select('#', u('\192')) == 1)
            assert(u('\194') == false and u('\195') == true)
            assert(u('\163abc') == 'abc' and u('\160') == '')
            assert(u('\217\3abc') == 'abc')
            assert(u('\218\0\3abc') == 'abc')
            assert(u('\219\0\0\0\3abc') == 'abc')
            local t = u('\147\1\192\3')
            assert(t[1] == 1 and t[2] == nil and t[3] == 3)
            t = u('\220\0\2\1\2')
            assert(#t == 2)
            t = u('\221\0\0\0\1\5')
            assert(t[1] == 5)
            t = u('\130\161a\1\161b\145\2')
            assert(t.a == 1 and t.b[1] == 2)
            t = u('\222\0\1\161a\1')
            assert(t.a == 1)
            t = u('\223\0\0\0\1\161a\1')
            assert(t.a == 1)
            t = u('\129\145\1\2')
            local k = next(t)
            assert(type(k) == 'table' and k[1] == 1 and t[k] == 2)
            -- nil values in maps are dropped
            t = u('\129\161a\192')
            assert(next(t) == nil)
            local a, b, c = u('\1\2\3')
            assert(a == 1 and b == 2 and c == 3)
            assert(select('#', u('')) == 0)
            -- tiny doubles come back exactly
            assert(u(cmsgpack.pack({1e-300}))[1] == 1e-300)
            assert(u('\203\1\0\0\0\0\0\0\0') > 0)
            "#,
        );
    }

    #[test]
    fn unpack_one_and_limit_offsets() {
        let lua = lua();
        check(
            &lua,
            r#"
            local s = cmsgpack.pack(1, 'two', {3})
            local off, v = cmsgpack.unpack_one(s)
            assert(off == 1 and v == 1)
            off, v = cmsgpack.unpack_one(s, off)
            assert(off == 5 and v == 'two')
            local t
            off, t = cmsgpack.unpack_one(s, off)
            assert(off == -1 and t[1] == 3)
            local o, a, b = cmsgpack.unpack_limit(s, 2)
            assert(o == 5 and a == 1 and b == 'two')
            local n = select('#', cmsgpack.unpack_limit(s, 10, 1))
            assert(n == 3)
            assert(select(1, cmsgpack.unpack_limit(s, 10, 1)) == -1)
            -- limit 0 and offset 0 mean "everything, no offset"
            local x, y, z = cmsgpack.unpack_limit(s, 0)
            assert(x == 1 and y == 'two' and z[1] == 3)
            -- at the end, or on an empty string: just -1
            assert(select('#', cmsgpack.unpack_one(s, #s)) == 1)
            assert(cmsgpack.unpack_one(s, #s) == -1)
            assert(cmsgpack.unpack_one('') == -1)
            assert(cmsgpack.unpack_one(s, 1.9) == 5)
            "#,
        );
    }

    #[test]
    fn unpack_errors_match_c() {
        let lua = lua();
        let e = |code: &str| err(&lua, code);
        assert_eq!(
            e("cmsgpack.unpack('\\220')"),
            "user_script:1: Missing bytes in input."
        );
        check(
            &lua,
            r#"
            assert(msg(cmsgpack.unpack, '\220') == 'Missing bytes in input.')
            assert(msg(cmsgpack.unpack, '\145') == 'Missing bytes in input.')
            assert(msg(cmsgpack.unpack, '\1\2\205\1') == 'Missing bytes in input.')
            assert(msg(cmsgpack.unpack, '\163ab') == 'Missing bytes in input.')
            assert(msg(cmsgpack.unpack, '\219\255\255\255\255abc') == 'Missing bytes in input.')
            for _, b in ipairs({0xc1, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8}) do
                assert(msg(cmsgpack.unpack, string.char(b, 1, 1, 1, 1, 1)) == 'Bad data format in input.', b)
            end
            -- bin inside an array
            assert(msg(cmsgpack.unpack, '\145\196\1a') == 'Bad data format in input.')
            assert(msg(cmsgpack.unpack, '\129\192\1') == 'table index is nil')
            assert(msg(cmsgpack.unpack, '\129\203\255\248\0\0\0\0\0\0\1') == 'table index is NaN')
            -- the value is decoded before the key is refused
            assert(msg(cmsgpack.unpack, '\129\192\220') == 'Missing bytes in input.')
            assert(msg(cmsgpack.unpack_one, 'x', -1) == 'Invalid request to unpack with offset of -1 and limit of 1.')
            assert(msg(cmsgpack.unpack_limit, 'xyz', -1) == 'Invalid request to unpack with offset of 0 and limit of 3.')
            assert(msg(cmsgpack.unpack_one, 'x', 2) == 'Start offset 2 greater than input length 1.')
            assert(msg(cmsgpack.unpack) == "bad argument #1 to '?' (string expected, got no value)")
            assert(msg(cmsgpack.unpack, {}) == "bad argument #1 to '?' (string expected, got table)")
            assert(msg(cmsgpack.unpack_limit, 'x') == "bad argument #2 to '?' (number expected, got no value)")
            assert(msg(cmsgpack.unpack_one, 'x', 'y') == "bad argument #2 to '?' (number expected, got string)")
            -- numbers are strings to unpack, as luaL_checklstring makes them
            assert(cmsgpack.unpack(12) == 49)
            "#,
        );
        let named = e("cmsgpack.unpack_limit('x', {})");
        assert!(
            named.ends_with("bad argument #2 to 'unpack_limit' (number expected, got table)"),
            "{named}"
        );
        let local = e("local f = cmsgpack.unpack f()");
        assert!(
            local.ends_with("bad argument #1 to 'f' (string expected, got no value)"),
            "{local}"
        );
    }

    #[test]
    fn malicious_lengths_fail_without_allocating() {
        let lua = lua();
        check(
            &lua,
            r#"
            -- array32 / map32 claiming 4 billion items in ten bytes
            assert(msg(cmsgpack.unpack, '\221\255\255\255\255\1\2\3\4\5') == 'Missing bytes in input.')
            assert(msg(cmsgpack.unpack, '\223\255\255\255\255\1\2\3\4\5') == 'Missing bytes in input.')
            assert(msg(cmsgpack.unpack, '\219\255\255\255\255\1\2\3\4\5') == 'Missing bytes in input.')
            assert(msg(cmsgpack.unpack_one, '\221\255\255\255\255\1\2\3\4\5') == 'Missing bytes in input.')
            "#,
        );
    }

    #[test]
    fn deep_nesting_hits_the_c_stack_limit() {
        let lua = lua();
        // 10,000 nested one-element arrays: C fails at the stack limit.
        check(
            &lua,
            r#"
            local e = msg(cmsgpack.unpack, string.rep('\145', 10000) .. '\1')
            assert(e == 'stack overflow (in function mp_decode_to_lua_array)', e)
            -- map keys nest one slot per level
            e = msg(cmsgpack.unpack, string.rep('\129', 10000) .. '\1')
            assert(e == 'stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)', e)
            -- 3,000 levels are fine, and come back whole
            local t = cmsgpack.unpack(string.rep('\145', 3000) .. '\7')
            for i = 1, 3000 do t = t[1] end
            assert(t == 7)
            "#,
        );
    }

    #[test]
    fn many_results_hit_the_stack_limit() {
        let lua = lua();
        check(
            &lua,
            r#"
            local too_many = 'stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)'
            assert(msg(cmsgpack.unpack, string.rep('\1', 8000)) == too_many)
            -- C returns 7,999; mlua needs 23 slots more than C's stack.
            assert(msg(cmsgpack.unpack, string.rep('\1', 7999)) == too_many)
            assert(msg(cmsgpack.unpack, string.rep('\1', 7977)) == too_many)
            assert(select('#', cmsgpack.unpack(string.rep('\1', 7976))) == 7976)
            local e = msg(cmsgpack.unpack_limit, string.rep('\1', 8000), 7999)
            assert(e == 'stack overflow (in function mp_unpack_full)', e)
            assert(select('#', cmsgpack.unpack_limit(string.rep('\1', 8000), 7974)) == 7975)
            e = msg(cmsgpack.unpack_limit, string.rep('\1', 8000), 7975)
            assert(e == 'stack overflow (in function mp_unpack_full)', e)
            -- strings and tables are capped lower (mlua's reference slots)
            e = msg(cmsgpack.unpack, string.rep('\160', 5000))
            assert(e == too_many, e)
            assert(select('#', cmsgpack.unpack(string.rep('\160', 4000))) == 4000)
            "#,
        );
    }

    #[test]
    fn round_trips() {
        let lua = lua();
        check(
            &lua,
            r#"
            local function same(a, b)
                if type(a) ~= type(b) then return false end
                if type(a) ~= 'table' then return a == b or (a ~= a and b ~= b) end
                for k, v in pairs(a) do if not same(v, b[k]) then return false end end
                for k in pairs(b) do if a[k] == nil then return false end end
                return true
            end
            local values = {0, 1, -1, 127, 128, -33, 65536, 2^32, 2^53, -2^53, 2^63, -2^63,
                0.5, 0.1, 1e300, {-1e-300}, 1/0, -1/0, 0/0, '', 'x', string.rep('y', 300), true, false,
                {}, {1, 2, 3}, {a = {b = {c = 'd'}}}, {[1] = 1, [3] = 3}, {[-1] = 'n'}, {1, {2, {3}}}}
            for i, v in ipairs(values) do
                local back = cmsgpack.unpack(cmsgpack.pack(v))
                assert(same(v, back), i)
            end
            local a, b, c = cmsgpack.unpack(cmsgpack.pack('a', nil, 3))
            assert(a == 'a' and b == nil and c == 3)
            "#,
        );
    }

    mod fuzz {
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]
            #[test]
            fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
                let lua = super::lua();
                let f: mlua::Table = lua.globals().get("cmsgpack").unwrap();
                let s = lua.create_string(&bytes).unwrap();
                for name in ["unpack", "unpack_one"] {
                    let func: mlua::Function = f.get(name).unwrap();
                    let _ = func.call::<mlua::MultiValue>(s.clone());
                }
                let limit: mlua::Function = f.get("unpack_limit").unwrap();
                let _ = limit.call::<mlua::MultiValue>((s, 3));
            }

            #[test]
            fn structured_garbage_never_panics(
                parts in proptest::collection::vec(
                    prop_oneof![
                        Just(vec![0xdd, 0xff, 0xff, 0xff, 0xff]),
                        Just(vec![0xdf, 0xff, 0xff, 0xff, 0xff]),
                        Just(vec![0xdb, 0xff, 0xff, 0xff, 0xff]),
                        Just(vec![0x91]),
                        Just(vec![0x81]),
                        Just(vec![0xc0]),
                        Just(vec![0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]),
                        proptest::collection::vec(any::<u8>(), 1..4),
                    ],
                    0..40,
                )
            ) {
                let bytes: Vec<u8> = parts.concat();
                let lua = super::lua();
                let f: mlua::Table = lua.globals().get("cmsgpack").unwrap();
                let unpack: mlua::Function = f.get("unpack").unwrap();
                let _ = unpack.call::<mlua::MultiValue>(lua.create_string(&bytes).unwrap());
            }
        }
    }
}
/// The libraries as scripts reach them, through the engine's sandbox.
#[cfg(test)]
mod sandbox_tests {
    use bytes::Bytes;
    use resp_codec::Frame;

    use crate::{Engine, Host, LogLevel, ReplFlags};

    struct NoCommands;

    impl Host for NoCommands {
        fn call(&mut self, _args: Vec<Bytes>, _resp3: bool) -> Frame {
            Frame::error("ERR no commands here")
        }
        fn log(&mut self, _level: LogLevel, _msg: &str) {}
        fn set_repl(&mut self, _flags: ReplFlags) {}
        fn may_run(&mut self, _args: &[Bytes]) -> Option<bool> {
            None
        }
    }

    fn eval(e: &mut Engine, body: &str) -> Frame {
        match e.load(&Bytes::copy_from_slice(body.as_bytes())) {
            Ok(sha) => e.run(&sha, &[], &[], &mut NoCommands),
            Err(f) => f,
        }
    }

    fn error_text(f: &Frame) -> String {
        match f {
            Frame::Error(e) => String::from_utf8_lossy(e).into_owned(),
            other => format!("not an error: {other:?}"),
        }
    }

    // scripting.tcl: "Try trick readonly table on cmsgpack table"
    #[test]
    fn library_tables_are_read_only() {
        let mut e = Engine::new().unwrap();
        for body in [
            "cmsgpack.pack = function() return 1 end",
            "struct.pack = function() return 1 end",
            "rawset(cmsgpack, 'x', 1)",
            "setmetatable(struct, {})",
        ] {
            let r = eval(&mut e, body);
            assert!(
                error_text(&r).contains("Attempt to modify a readonly table"),
                "{body}: {r:?}"
            );
        }
    }

    #[test]
    fn scripts_see_both_libraries() {
        let mut e = Engine::new().unwrap();
        let r = eval(
            &mut e,
            "return {cmsgpack.unpack(cmsgpack.pack({1, 'a'}))[2], struct.unpack('>h', struct.pack('>h', -2)), cmsgpack._VERSION}",
        );
        assert_eq!(
            r,
            Frame::Array(vec![
                Frame::bulk("a"),
                Frame::Integer(-2),
                Frame::bulk("lua-cmsgpack 0.4.0"),
            ])
        );
    }

    #[test]
    fn errors_name_the_script_line() {
        let mut e = Engine::new().unwrap();
        // A tail call keeps the script's frame: the libraries are C-like
        // functions, not Lua wrappers.
        for (body, msg) in [
            ("return cmsgpack.unpack('\\220')", "Missing bytes in input."),
            (
                "local x = 1\nreturn struct.pack('i33', 1)",
                "integral size 33 is larger than limit of 32",
            ),
        ] {
            let r = error_text(&eval(&mut e, body));
            let line = if body.contains('\n') { 2 } else { 1 };
            assert!(
                r.starts_with(&format!("ERR user_script:{line}: {msg} script: ")),
                "{r}"
            );
            assert!(r.ends_with(&format!("on @user_script:{line}.")), "{r}");
        }
        // Redis's pcall hands back the message.
        let r = eval(
            &mut e,
            "local ok, err = pcall(struct.unpack, 'i4', 'ab') return err",
        );
        assert_eq!(
            r,
            Frame::bulk("bad argument #2 to '?' (data string too short)")
        );
    }
}
