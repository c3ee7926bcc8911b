//! The `cjson` library Redis loads into scripts (lua-cjson 2.1's API and
//! defaults): `encode`, `decode`, `null`, and the configuration setters.

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{LightUserData, Lua, Table, Value, Variadic};

/// lua-cjson's settings that scripts may change.
#[derive(Debug, Clone)]
struct Settings {
    encode_max_depth: usize,
    decode_max_depth: usize,
    encode_invalid_numbers: bool,
    decode_invalid_numbers: bool,
    encode_keep_buffer: bool,
    encode_number_precision: usize,
    sparse_convert: bool,
    sparse_ratio: usize,
    sparse_safe: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: false,
            decode_invalid_numbers: true,
            encode_keep_buffer: true,
            encode_number_precision: 14,
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
        }
    }
}

/// `cjson.null`: a light userdata holding NULL, as lua-cjson's.
fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

/// A number as C's `%.<prec>g` writes it.
pub fn format_g(x: f64, prec: usize) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let prec = prec.max(1);
    let sci = format!("{:.*e}", prec - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let m = trim_zeros(mantissa);
        format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{x:.decimals$}")).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Creates the `cjson` table.
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let settings = Rc::new(RefCell::new(Settings::default()));
    let t = lua.create_table()?;
    t.raw_set("null", null())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    let s = settings.clone();
    t.raw_set(
        "encode",
        lua.create_function(move |lua, v: Value| {
            let cfg = s.borrow().clone();
            let mut out = Vec::new();
            encode(&v, &cfg, 0, &mut out).map_err(|e| located(lua, e))?;
            Ok(mlua::BString::from(out))
        })?,
    )?;
    let s = settings.clone();
    t.raw_set(
        "decode",
        lua.create_function(move |lua, text: mlua::String| {
            let cfg = s.borrow().clone();
            let bytes = text.as_bytes();
            let mut p = Parser {
                s: &bytes,
                at: 0,
                lua,
                cfg: &cfg,
            };
            let parsed = (|| {
                p.skip_ws();
                let v = p.value(1)?;
                p.skip_ws();
                if p.at < p.s.len() {
                    return Err(p.fail("the end"));
                }
                Ok(v)
            })();
            parsed.map_err(|e| located(lua, e))
        })?,
    )?;
    macro_rules! setter {
        ($name:literal, $field:ident, bool) => {{
            let s = settings.clone();
            t.raw_set(
                $name,
                lua.create_function(move |_, a: Variadic<Value>| {
                    if let Some(v) = a.first() {
                        s.borrow_mut().$field = matches!(v, Value::Boolean(true))
                            || matches!(v, Value::String(x) if x.as_bytes().as_ref() == b"on");
                    }
                    Ok(s.borrow().$field)
                })?,
            )?;
        }};
        ($name:literal, $field:ident, int) => {{
            let s = settings.clone();
            t.raw_set(
                $name,
                lua.create_function(move |_, a: Variadic<Value>| {
                    match a.first() {
                        Some(Value::Integer(n)) if *n >= 1 => s.borrow_mut().$field = *n as usize,
                        Some(Value::Number(n)) if *n >= 1.0 => s.borrow_mut().$field = *n as usize,
                        Some(Value::Nil) | None => {}
                        Some(_) => {
                            return Err(mlua::Error::runtime(concat!(
                                "bad argument #1 to '",
                                $name,
                                "' (expected integer between 1 and 2147483647)"
                            )))
                        }
                    }
                    Ok(s.borrow().$field)
                })?,
            )?;
        }};
    }
    setter!("encode_max_depth", encode_max_depth, int);
    setter!("decode_max_depth", decode_max_depth, int);
    setter!("encode_number_precision", encode_number_precision, int);
    setter!("encode_invalid_numbers", encode_invalid_numbers, bool);
    setter!("decode_invalid_numbers", decode_invalid_numbers, bool);
    setter!("encode_keep_buffer", encode_keep_buffer, bool);
    let s = settings;
    t.raw_set(
        "encode_sparse_array",
        lua.create_function(move |_, a: Variadic<Value>| {
            let mut cfg = s.borrow_mut();
            if let Some(Value::Boolean(b)) = a.first() {
                cfg.sparse_convert = *b;
            }
            if let Some(Value::Integer(n)) = a.get(1) {
                cfg.sparse_ratio = (*n).max(0) as usize;
            }
            if let Some(Value::Integer(n)) = a.get(2) {
                cfg.sparse_safe = (*n).max(0) as usize;
            }
            Ok((cfg.sparse_convert, cfg.sparse_ratio, cfg.sparse_safe))
        })?,
    )?;
    Ok(t)
}

/// Prefixes an error with its caller's position when the caller is Lua
/// code, as `luaL_error` does (a `pcall(cjson.decode, ...)` has none).
fn located(lua: &Lua, e: mlua::Error) -> mlua::Error {
    let mlua::Error::RuntimeError(msg) = e else {
        return e;
    };
    let place = lua.inspect_stack(1).and_then(|d| {
        let src = d.source();
        (src.what != "C").then(|| {
            format!(
                "{}:{}: ",
                src.short_src.as_deref().unwrap_or("?"),
                d.curr_line()
            )
        })
    });
    mlua::Error::RuntimeError(format!("{}{msg}", place.unwrap_or_default()))
}

fn cannot(what: &str, why: &str) -> mlua::Error {
    mlua::Error::runtime(format!("Cannot serialise {what}: {why}"))
}

fn encode(v: &Value, cfg: &Settings, depth: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => encode_number(*i as f64, cfg, out)?,
        Value::Number(n) => encode_number(*n, cfg, out)?,
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > cfg.encode_max_depth {
                return Err(mlua::Error::runtime(format!(
                    "Cannot serialise, excessive nesting ({depth})"
                )));
            }
            match array_length(t, cfg)? {
                Some(n) => {
                    out.push(b'[');
                    for i in 1..=n {
                        if i > 1 {
                            out.push(b',');
                        }
                        let item: Value = t.raw_get(i)?;
                        encode(&item, cfg, depth, out)?;
                    }
                    out.push(b']');
                }
                None => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.pairs::<Value, Value>() {
                        let (k, val) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => encode_string(&s.as_bytes(), out),
                            Value::Integer(i) => {
                                out.push(b'"');
                                out.extend_from_slice(
                                    format_g(*i as f64, cfg.encode_number_precision).as_bytes(),
                                );
                                out.push(b'"');
                            }
                            Value::Number(n) => {
                                out.push(b'"');
                                out.extend_from_slice(
                                    format_g(*n, cfg.encode_number_precision).as_bytes(),
                                );
                                out.push(b'"');
                            }
                            other => {
                                return Err(cannot(
                                    other.type_name(),
                                    "table key must be a number or string",
                                ))
                            }
                        }
                        out.push(b':');
                        encode(&val, cfg, depth, out)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => return Err(cannot(other.type_name(), "type not supported")),
    }
    Ok(())
}

/// Some(n) when the table is an array of n items (positive integer keys
/// only, not too sparse), as lua-cjson decides.
fn array_length(t: &Table, cfg: &Settings) -> mlua::Result<Option<usize>> {
    let mut max = 0usize;
    let mut count = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Integer(i) if i >= 1 => i as usize,
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => n as usize,
            _ => return Ok(None),
        };
        max = max.max(n);
        count += 1;
    }
    if count == 0 {
        return Ok(None);
    }
    if cfg.sparse_ratio > 0 && max > cfg.sparse_safe && max > count * cfg.sparse_ratio {
        if !cfg.sparse_convert {
            return Err(cannot("table", "excessively sparse array"));
        }
        return Ok(None);
    }
    Ok(Some(max))
}

fn encode_number(n: f64, cfg: &Settings, out: &mut Vec<u8>) -> mlua::Result<()> {
    if !n.is_finite() && !cfg.encode_invalid_numbers {
        return Err(cannot("number", "must not be NaN or Inf"));
    }
    out.extend_from_slice(format_g(n, cfg.encode_number_precision).as_bytes());
    Ok(())
}

fn encode_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 || c == 0x7f => out.extend_from_slice(format!("\\u{:04x}", c).as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
    lua: &'a Lua,
    cfg: &'a Settings,
}

impl Parser<'_> {
    fn fail(&self, expected: &str) -> mlua::Error {
        // lua-cjson names the token it found.
        let found = match self.s.get(self.at) {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b'"') => "T_STRING",
            Some(b't' | b'f') => "T_BOOLEAN",
            Some(b'n') => "T_NULL",
            Some(b':') => "T_COLON",
            Some(b',') => "T_COMMA",
            Some(c) if *c == b'-' || c.is_ascii_digit() => "T_NUMBER",
            Some(_) => "T_ERROR",
        };
        mlua::Error::runtime(format!(
            "Expected {expected} but found {found} at character {}",
            self.at + 1
        ))
    }

    fn skip_ws(&mut self) {
        while self
            .s
            .get(self.at)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    fn nested(&self, depth: usize) -> mlua::Result<()> {
        if depth > self.cfg.decode_max_depth {
            return Err(mlua::Error::runtime(format!(
                "Found too many nested data structures ({depth}) at character {}",
                self.at + 1
            )));
        }
        Ok(())
    }

    fn value(&mut self, depth: usize) -> mlua::Result<Value> {
        match self.s.get(self.at) {
            Some(b'{') => {
                self.nested(depth)?;
                self.at += 1;
                let t = self.lua.create_table()?;
                self.skip_ws();
                if self.s.get(self.at) == Some(&b'}') {
                    self.at += 1;
                    return Ok(Value::Table(t));
                }
                loop {
                    self.skip_ws();
                    if self.s.get(self.at) != Some(&b'"') {
                        return Err(self.fail("object key string"));
                    }
                    let k = self.string()?;
                    self.skip_ws();
                    if self.s.get(self.at) != Some(&b':') {
                        return Err(self.fail("colon"));
                    }
                    self.at += 1;
                    self.skip_ws();
                    let v = self.value(depth + 1)?;
                    t.raw_set(k, v)?;
                    self.skip_ws();
                    match self.s.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(Value::Table(t));
                        }
                        _ => return Err(self.fail("comma or object end")),
                    }
                }
            }
            Some(b'[') => {
                self.nested(depth)?;
                self.at += 1;
                let t = self.lua.create_table()?;
                self.skip_ws();
                if self.s.get(self.at) == Some(&b']') {
                    self.at += 1;
                    return Ok(Value::Table(t));
                }
                let mut i = 1;
                loop {
                    self.skip_ws();
                    let v = self.value(depth + 1)?;
                    t.raw_set(i, v)?;
                    i += 1;
                    self.skip_ws();
                    match self.s.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(Value::Table(t));
                        }
                        _ => return Err(self.fail("comma or array end")),
                    }
                }
            }
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') if self.s[self.at..].starts_with(b"true") => {
                self.at += 4;
                Ok(Value::Boolean(true))
            }
            Some(b'f') if self.s[self.at..].starts_with(b"false") => {
                self.at += 5;
                Ok(Value::Boolean(false))
            }
            Some(b'n') if self.s[self.at..].starts_with(b"null") => {
                self.at += 4;
                Ok(null())
            }
            Some(c)
                if *c == b'-'
                    || c.is_ascii_digit()
                    || (self.cfg.decode_invalid_numbers
                        && matches!(c, b'i' | b'n' | b'I' | b'N')) =>
            {
                let start = self.at;
                while self
                    .s
                    .get(self.at)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
                {
                    self.at += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.at]).unwrap_or("");
                match text.parse::<f64>() {
                    Ok(n) => Ok(Value::Number(n)),
                    Err(_) => {
                        self.at = start;
                        Err(self.fail("value"))
                    }
                }
            }
            _ => Err(self.fail("value")),
        }
    }

    fn string(&mut self) -> mlua::Result<mlua::String> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.at) else {
                return Err(mlua::Error::runtime(format!(
                    "Expected string end but found T_END at character {}",
                    self.at + 1
                )));
            };
            self.at += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.at) else {
                        return Err(self.fail("escape"));
                    };
                    self.at += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let cp = self.hex4()?;
                            let cp = if (0xd800..0xdc00).contains(&cp)
                                && self.s.get(self.at..self.at + 2) == Some(b"\\u")
                            {
                                self.at += 2;
                                let lo = self.hex4()?;
                                0x10000 + ((cp - 0xd800) << 10) + (lo.wrapping_sub(0xdc00) & 0x3ff)
                            } else {
                                cp
                            };
                            let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(self.fail("valid escape code")),
                    }
                }
                c => out.push(c),
            }
        }
        self.lua.create_string(&out)
    }

    fn hex4(&mut self) -> mlua::Result<u32> {
        let digits = self
            .s
            .get(self.at..self.at + 4)
            .ok_or_else(|| self.fail("unicode escape"))?;
        let text = std::str::from_utf8(digits).unwrap_or("");
        let v = u32::from_str_radix(text, 16).map_err(|_| self.fail("unicode escape"))?;
        self.at += 4;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::format_g;

    #[test]
    fn g_formatting_matches_c() {
        assert_eq!(format_g(100.0, 14), "100");
        assert_eq!(format_g(0.0003, 14), "0.0003");
        assert_eq!(format_g(1023.2, 14), "1023.2");
        assert_eq!(format_g(-5000.0, 14), "-5000");
        assert_eq!(format_g(1e20, 14), "1e+20");
        assert_eq!(format_g(0.1, 14), "0.1");
        assert_eq!(format_g(1.0 / 3.0, 14), "0.33333333333333");
        assert_eq!(format_g(1e-5, 14), "1e-05");
    }

    #[test]
    fn json_round_trip() -> mlua::Result<()> {
        let lua = mlua::Lua::new();
        lua.globals().set("cjson", super::create(&lua)?)?;
        let check = |code: &str| -> mlua::Result<bool> { lua.load(code).eval() };
        assert!(check(r#"return cjson.encode({1, 2, "x"}) == '[1,2,"x"]'"#)?);
        assert!(check(
            r#"return cjson.encode({a = "b/c"}) == '{"a":"b\\/c"}'"#
        )?);
        assert!(check(r#"return cjson.encode({}) == '{}'"#)?);
        assert!(check(
            r#"return table.concat(cjson.decode("[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]"), " ") == "0 -5000 -1 0.0003 1023.2 0""#
        )?);
        assert!(check(
            r#"local d = cjson.decode('{"k": {"n": [1, null, "\\u00e9"]}}') return d.k.n[2] == cjson.null and d.k.n[3] == "\195\169""#
        )?);
        assert!(check(r#"return not pcall(cjson.encode, {[false] = 1})"#)?);
        assert!(check(r#"return not pcall(cjson.decode, '{"a": ')"#)?);
        assert!(check(
            r#"cjson.decode_max_depth(1) local ok = pcall(cjson.decode, '[[1]]') cjson.decode_max_depth(1000) return not ok"#
        )?);
        Ok(())
    }
}
