//! The `struct` library Redis loads into scripts (lua-struct 0.9.2 with
//! Redis's fixes): `pack`, `unpack` and `size` over format strings of
//! C-like fields, with the C library's sizes (an x86-64 build: `long`
//! and `size_t` are 8 bytes, native order little-endian), its alignment
//! rules, its error messages and its handling of out-of-range numbers.
//!
//! Redis's fixes kept here: a size or alignment number too large for a C
//! `int` is refused ("integral size overflow", CVE-2015-8080), and
//! `unpack` checks every field against the data's end without overflow
//! and refuses offsets below 1.

use mlua::{Lua, MultiValue, Table, Value};

use crate::clib;

/// `MAXINTSIZE`: the largest size of an `i`/`I` field.
const MAX_INT_SIZE: i64 = 32;

/// `MAXALIGN` on x86-64: what `!` alone sets the alignment to.
const MAX_ALIGN: i64 = 8;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Endian {
    Big,
    Little,
}

const NATIVE: Endian = if cfg!(target_endian = "little") {
    Endian::Little
} else {
    Endian::Big
};

/// The options `>`, `<` and `!` change as a format is read.
struct Header {
    endian: Endian,
    align: u64,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            endian: NATIVE,
            align: 1,
        }
    }
}

/// A format string, read as C reads it: up to its first NUL byte.
struct Format<'a> {
    s: &'a [u8],
    at: usize,
}

impl<'a> Format<'a> {
    fn new(s: &'a [u8]) -> Self {
        let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
        Format {
            s: &s[..end],
            at: 0,
        }
    }

    fn next_option(&mut self) -> Option<u8> {
        let c = self.s.get(self.at).copied()?;
        self.at += 1;
        Some(c)
    }

    /// `getnum`: the number following an option, or `default`. Numbers
    /// past `INT_MAX` are refused rather than wrapped (CVE-2015-8080).
    fn number(&mut self, lua: &Lua, default: i64) -> mlua::Result<i64> {
        if !self.s.get(self.at).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let max = i64::from(i32::MAX);
        let mut a: i64 = 0;
        while let Some(&c) = self.s.get(self.at).filter(|c| c.is_ascii_digit()) {
            let digit = i64::from(c - b'0');
            if a > max / 10 || a * 10 > max - digit {
                return Err(clib::error(lua, "integral size overflow"));
            }
            a = a * 10 + digit;
            self.at += 1;
        }
        Ok(a)
    }
}

/// `optsize`: the size of option `opt`, reading its number if it takes one.
fn option_size(lua: &Lua, opt: u8, fmt: &mut Format<'_>) -> mlua::Result<u64> {
    Ok(match opt {
        b'b' | b'B' | b'x' => 1,
        b'h' | b'H' => 2,
        b'l' | b'L' | b'T' | b'd' => 8,
        b'f' => 4,
        b'c' => fmt.number(lua, 1)? as u64,
        b'i' | b'I' => {
            let size = fmt.number(lua, 4)?;
            if size > MAX_INT_SIZE {
                return Err(clib::error(
                    lua,
                    format!("integral size {size} is larger than limit of {MAX_INT_SIZE}"),
                ));
            }
            size as u64
        }
        _ => 0,
    })
}

/// `gettoalign`: the padding that aligns a field of `size` bytes at
/// `len`, as the C computes it (its mask assumes a power of two, which
/// `i3` and the like are not; the result is kept as the C gives it).
fn padding(len: u64, h: &Header, opt: u8, size: u64) -> u64 {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    size.wrapping_sub(len & (size - 1)) & (size - 1)
}

/// `controloptions`: the options that are not fields.
fn control(lua: &Lua, opt: u8, fmt: &mut Format<'_>, h: &mut Header) -> mlua::Result<()> {
    match opt {
        b' ' => {}
        b'>' => h.endian = Endian::Big,
        b'<' => h.endian = Endian::Little,
        b'!' => {
            let a = fmt.number(lua, MAX_ALIGN)?;
            if a <= 0 || a & (a - 1) != 0 {
                return Err(clib::error(
                    lua,
                    format!("alignment {a} is not a power of 2"),
                ));
            }
            h.align = a as u64;
        }
        _ => {
            let shown = String::from_utf8_lossy(&[opt]).into_owned();
            return Err(clib::arg_error(
                lua,
                1,
                &format!("invalid format option '{shown}'"),
            ));
        }
    }
    Ok(())
}

/// Creates the `struct` table.
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, mut args: MultiValue| {
            // Once it has its format, the C code pushes a nil after the
            // arguments, so the first missing one is reported as nil.
            if !args.is_empty() {
                args.push_back(Value::Nil);
            }
            pack(lua, &args)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| unpack(lua, &args))?,
    )?;
    t.raw_set(
        "size",
        lua.create_function(|lua, args: MultiValue| size(lua, &args))?,
    )?;
    Ok(t)
}

/// `struct.pack(fmt, ...)`.
fn pack(lua: &Lua, args: &MultiValue) -> mlua::Result<mlua::String> {
    let fmt_str = clib::check_string(lua, args, 1)?;
    let fmt_bytes = fmt_str.as_bytes();
    let mut fmt = Format::new(&fmt_bytes);
    let mut h = Header::default();
    let mut arg = 2;
    let mut total: u64 = 0;
    let mut out: Vec<u8> = Vec::new();
    while let Some(opt) = fmt.next_option() {
        let mut size = option_size(lua, opt, &mut fmt)?;
        let pad = padding(total, &h, opt, size);
        total = total.wrapping_add(pad);
        out.resize(out.len() + pad as usize, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = clib::check_number(lua, args, arg)?;
                arg += 1;
                put_integer(&mut out, n, h.endian, size as usize);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = clib::check_number(lua, args, arg)? as f32;
                arg += 1;
                out.extend_from_slice(&match h.endian {
                    Endian::Big => f.to_be_bytes(),
                    Endian::Little => f.to_le_bytes(),
                });
            }
            b'd' => {
                let d = clib::check_number(lua, args, arg)?;
                arg += 1;
                out.extend_from_slice(&match h.endian {
                    Endian::Big => d.to_be_bytes(),
                    Endian::Little => d.to_le_bytes(),
                });
            }
            b'c' | b's' => {
                let s = clib::check_string(lua, args, arg)?;
                arg += 1;
                let bytes = s.as_bytes();
                let len = bytes.len() as u64;
                if size == 0 {
                    size = len;
                }
                if len < size {
                    // The C code names the argument after this one.
                    return Err(clib::arg_error(lua, arg, "string too short"));
                }
                out.extend_from_slice(&bytes[..size as usize]);
                if opt == b's' {
                    out.push(0);
                    size += 1;
                }
            }
            _ => control(lua, opt, &mut fmt, &mut h)?,
        }
        total = total.wrapping_add(size);
    }
    lua.create_string(&out)
}

/// `putinteger`: negative numbers through a signed conversion, others
/// through an unsigned one, each as x86-64 performs it; fields wider than
/// 8 bytes get zeros beyond the 64 bits.
fn put_integer(out: &mut Vec<u8>, n: f64, endian: Endian, size: usize) {
    let mut value = if n < 0.0 {
        clib::f64_to_i64(n) as u64
    } else {
        clib::f64_to_u64(n)
    };
    let mut bytes = Vec::with_capacity(size);
    for _ in 0..size {
        bytes.push((value & 0xff) as u8);
        value >>= 8;
    }
    if endian == Endian::Big {
        bytes.reverse();
    }
    out.extend_from_slice(&bytes);
}

/// `getinteger`: the field's last 64 bits of significance, sign-extended
/// for signed options from the mask the C computes (its shift count is
/// taken modulo 64, as x86-64 does).
fn get_integer(bytes: &[u8], endian: Endian, signed: bool) -> f64 {
    let fold = |acc: u64, b: &u8| (acc << 8) | u64::from(*b);
    let l = match endian {
        Endian::Big => bytes.iter().fold(0, fold),
        Endian::Little => bytes.iter().rev().fold(0, fold),
    };
    if !signed {
        return l as f64;
    }
    let shift = ((bytes.len() as i64 * 8 - 1) & 63) as u32;
    let mask = u64::MAX << shift;
    let l = if l & mask != 0 { l | mask } else { l };
    l as i64 as f64
}

/// `struct.unpack(fmt, s [, i])`: the fields read from `s` at `i`, then
/// the position after them.
fn unpack(lua: &Lua, args: &MultiValue) -> mlua::Result<MultiValue> {
    let fmt_str = clib::check_string(lua, args, 1)?;
    let data_str = clib::check_string(lua, args, 2)?;
    // A size_t in C: negative offsets become huge, and only fail once a
    // field is read.
    let mut pos = clib::opt_integer(lua, args, 3, 1)? as u64;
    if pos == 0 {
        return Err(clib::arg_error(lua, 3, "offset must be 1 or greater"));
    }
    pos -= 1;
    let fmt_bytes = fmt_str.as_bytes();
    let data = data_str.as_bytes();
    let ld = data.len() as u64;
    let mut fmt = Format::new(&fmt_bytes);
    let mut h = Header::default();
    let mut out = MultiValue::new();
    let mut strings = 0usize;
    let fits = |pos: u64, size: u64| size <= ld && pos <= ld - size;
    while let Some(opt) = fmt.next_option() {
        let mut size = option_size(lua, opt, &mut fmt)?;
        pos = pos.wrapping_add(padding(pos, &h, opt, size));
        if !fits(pos, size) {
            return Err(clib::arg_error(lua, 2, "data string too short"));
        }
        // Room for a result and the final position, on top of the arguments.
        clib::check_stack(lua, args.len() + out.len(), 2, "too many results")?;
        let at = pos as usize;
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let field = &data[at..at + size as usize];
                let signed = opt.is_ascii_lowercase();
                out.push_back(Value::Number(get_integer(field, h.endian, signed)));
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[at..at + 4]);
                let f = match h.endian {
                    Endian::Big => f32::from_be_bytes(b),
                    Endian::Little => f32::from_le_bytes(b),
                };
                out.push_back(Value::Number(f64::from(f)));
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[at..at + 8]);
                let d = match h.endian {
                    Endian::Big => f64::from_be_bytes(b),
                    Endian::Little => f64::from_le_bytes(b),
                };
                out.push_back(Value::Number(d));
            }
            b'c' => {
                if size == 0 {
                    // The length is the previous result, which it replaces.
                    let prev = match out.back() {
                        Some(v) => clib::to_number(lua, Some(v))?,
                        None => None,
                    };
                    let Some(n) = prev else {
                        return Err(clib::error(lua, "format 'c0' needs a previous size"));
                    };
                    size = clib::f64_to_u64(n);
                    if matches!(out.pop_back(), Some(Value::String(_))) {
                        strings -= 1;
                    }
                    if !fits(pos, size) {
                        return Err(clib::arg_error(lua, 2, "data string too short"));
                    }
                }
                strings = more_strings(lua, strings)?;
                let s = lua.create_string(&data[at..at + size as usize])?;
                out.push_back(Value::String(s));
            }
            b's' => {
                let Some(len) = data[at..].iter().position(|&b| b == 0) else {
                    return Err(clib::error(lua, "unfinished string in data"));
                };
                size = len as u64 + 1;
                strings = more_strings(lua, strings)?;
                let s = lua.create_string(&data[at..at + len])?;
                out.push_back(Value::String(s));
            }
            _ => control(lua, opt, &mut fmt, &mut h)?,
        }
        pos = pos.wrapping_add(size);
    }
    out.push_back(Value::Number(pos.wrapping_add(1) as i64 as f64));
    clib::check_results(lua, args.len(), out.len(), "too many results")?;
    Ok(out)
}

/// Counts one more string result, refusing past what mlua can hold.
fn more_strings(lua: &Lua, strings: usize) -> mlua::Result<usize> {
    if strings >= clib::MAX_REF_RESULTS {
        return Err(clib::error(lua, "stack overflow (too many results)"));
    }
    Ok(strings + 1)
}

/// `struct.size(fmt)`: the bytes `pack` makes for `fmt`. Unknown letters
/// and digits are skipped, as the C skips every alphanumeric option.
fn size(lua: &Lua, args: &MultiValue) -> mlua::Result<f64> {
    let fmt_str = clib::check_string(lua, args, 1)?;
    let fmt_bytes = fmt_str.as_bytes();
    let mut fmt = Format::new(&fmt_bytes);
    let mut h = Header::default();
    let mut pos: u64 = 0;
    while let Some(opt) = fmt.next_option() {
        let size = option_size(lua, opt, &mut fmt)?;
        pos = pos.wrapping_add(padding(pos, &h, opt, size));
        if opt == b's' {
            return Err(clib::arg_error(lua, 1, "option 's' has no fixed size"));
        }
        if opt == b'c' && size == 0 {
            return Err(clib::arg_error(lua, 1, "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            control(lua, opt, &mut fmt, &mut h)?;
        }
        pos = pos.wrapping_add(size);
    }
    Ok(pos as i64 as f64)
}

#[cfg(test)]
mod tests {
    use mlua::Lua;

    fn lua() -> Lua {
        crate::clib::test_lua(|lua| lua.globals().set("struct", super::create(lua)?))
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

    #[test]
    fn packs_integers_in_both_orders() {
        let lua = lua();
        let cases = [
            ("'b', -1", "ff"),
            ("'B', 255", "ff"),
            ("'B', 256", "00"),
            ("'>h', 258", "0102"),
            ("'<h', 258", "0201"),
            ("'h', 258", "0201"),
            ("'>H', -1", "ffff"),
            ("'>l', 1", "0000000000000001"),
            ("'<L', 1", "0100000000000000"),
            ("'>T', 5", "0000000000000005"),
            ("'>i', 1", "00000001"),
            ("'>i3', -2", "fffffe"),
            ("'<I3', 0x010203", "030201"),
            ("'>i0', 7", ""),
            ("'>I10', -1", "0000ffffffffffffffff"),
            ("'<i10', -1", "ffffffffffffffff0000"),
            ("'>i4', 2.9", "00000002"),
            ("'>i4', -2.9", "fffffffe"),
            ("'>i4', '12'", "0000000c"),
            // Out of range: as the C casts do it on x86-64.
            ("'>l', 2^63", "8000000000000000"),
            ("'>l', 2^64", "0000000000000000"),
            ("'>l', -2^64", "8000000000000000"),
            ("'>l', 1/0", "0000000000000000"),
            ("'>l', -1/0", "8000000000000000"),
            ("'>l', 0/0", "8000000000000000"),
            ("'>L', 1e19", "8ac7230489e80000"),
        ];
        for (args, want) in cases {
            assert_eq!(
                hex(&lua, &format!("return struct.pack({args})")),
                want,
                "{args}"
            );
        }
    }

    #[test]
    fn packs_floats_strings_and_padding() {
        let lua = lua();
        assert_eq!(hex(&lua, "return struct.pack('>f', 1.5)"), "3fc00000");
        assert_eq!(hex(&lua, "return struct.pack('<f', 1.5)"), "0000c03f");
        assert_eq!(
            hex(&lua, "return struct.pack('>d', 0.1)"),
            "3fb999999999999a"
        );
        assert_eq!(
            hex(&lua, "return struct.pack('<d', 0.1)"),
            "9a9999999999b93f"
        );
        assert_eq!(hex(&lua, "return struct.pack('>f', 1e300)"), "7f800000");
        assert_eq!(hex(&lua, "return struct.pack('c3', 'abcdef')"), "616263");
        assert_eq!(hex(&lua, "return struct.pack('c0', 'abc')"), "616263");
        assert_eq!(hex(&lua, "return struct.pack('s', 'ab')"), "616200");
        assert_eq!(hex(&lua, "return struct.pack('c2', 12)"), "3132");
        assert_eq!(hex(&lua, "return struct.pack('bxb', 1, 2)"), "010002");
        assert_eq!(hex(&lua, "return struct.pack(' b b ', 1, 2)"), "0102");
        // Alignment: `!` alone means 8; fields align to min(size, align).
        assert_eq!(
            hex(&lua, "return struct.pack('!b>i', 1, 2)"),
            "0100000000000002"
        );
        assert_eq!(
            hex(&lua, "return struct.pack('!2b>i', 1, 2)"),
            "010000000002"
        );
        assert_eq!(
            hex(&lua, "return struct.pack('!4bd', 1, 0)"),
            "010000000000000000000000"
        );
        assert_eq!(hex(&lua, "return struct.pack('!bc1', 1, 'a')"), "0161");
        // The format ends at a NUL byte, as a C string does.
        assert_eq!(hex(&lua, "return struct.pack('b\\0b', 1, 2)"), "01");
    }

    #[test]
    fn unpacks_fields_and_next_position() {
        let lua = lua();
        check(
            &lua,
            r#"
            local a, b, n = struct.unpack('>hH', '\255\254\255\254')
            assert(a == -2 and b == 65534 and n == 5)
            a, n = struct.unpack('<i3', '\254\255\255')
            assert(a == -2 and n == 4)
            a = struct.unpack('>I8', '\255\255\255\255\255\255\255\255')
            assert(a == 2^64)
            a = struct.unpack('>i8', '\255\255\255\255\255\255\255\255')
            assert(a == -1)
            -- wider than 64 bits: the last 8 bytes (big) / first 8 (little)
            a = struct.unpack('>I10', '\1\2\0\0\0\0\0\0\0\3')
            assert(a == 3)
            a = struct.unpack('<I10', '\3\0\0\0\0\0\0\0\1\2')
            assert(a == 3)
            -- the C's sign mask for 9 bytes is taken from bit 7 (71 mod 64)
            a = struct.unpack('>i9', '\0\0\0\0\0\0\0\0\128')
            assert(a == -128, a)
            a = struct.unpack('>i0', '')
            assert(a == 0)
            a = struct.unpack('>f', '\63\192\0\0') assert(a == 1.5)
            a = struct.unpack('<d', struct.pack('<d', 0.1)) assert(a == 0.1)
            local s, t
            s, t, n = struct.unpack('c2s', 'abcd\0e')
            assert(s == 'ab' and t == 'cd' and n == 6)
            s, n = struct.unpack('bc0', '\3xyzw')
            assert(s == 'xyz' and n == 5)
            -- the previous size may be a numeric string
            s, n = struct.unpack('c1c0', '3xyzw')
            assert(s == 'xyz' and n == 5)
            a, n = struct.unpack('b', 'xyz', 2)
            assert(a == 121 and n == 3)
            a, b, n = struct.unpack('!4bi', '\1\0\0\0\2\0\0\0')
            assert(a == 1 and b == 2 and n == 9)
            -- an empty format returns the offset, even a negative one
            assert(struct.unpack('', 'abc', -5) == -5)
            assert(struct.unpack('x', 'a') == 2)
            "#,
        );
    }

    #[test]
    fn sizes() {
        let lua = lua();
        check(
            &lua,
            r#"
            assert(struct.size('bhilT') == 1 + 2 + 4 + 8 + 8)
            assert(struct.size('!bhilT') == 24)
            assert(struct.size('i3c5xfd') == 3 + 5 + 1 + 4 + 8)
            assert(struct.size('') == 0)
            -- alphanumerics that are no option count nothing
            assert(struct.size('zq9b') == 1)
            "#,
        );
        assert!(err(&lua, "struct.size('s')")
            .ends_with("bad argument #1 to 'size' (option 's' has no fixed size)"));
        assert!(err(&lua, "struct.size('c0')")
            .ends_with("bad argument #1 to 'size' (option 'c0' has no fixed size)"));
        assert!(err(&lua, "struct.size('=')")
            .ends_with("bad argument #1 to 'size' (invalid format option '=')"));
    }

    #[test]
    fn errors_match_c() {
        let lua = lua();
        let e = |code: &str| err(&lua, code);
        assert_eq!(
            e("struct.pack('i33', 1)"),
            "user_script:1: integral size 33 is larger than limit of 32"
        );
        assert_eq!(
            e("struct.pack('!3')"),
            "user_script:1: alignment 3 is not a power of 2"
        );
        assert_eq!(
            e("struct.pack('!0')"),
            "user_script:1: alignment 0 is not a power of 2"
        );
        assert_eq!(
            e("struct.pack('z')"),
            "user_script:1: bad argument #1 to 'pack' (invalid format option 'z')"
        );
        assert_eq!(
            e("struct.pack('=b', 1)"),
            "user_script:1: bad argument #1 to 'pack' (invalid format option '=')"
        );
        assert_eq!(
            e("struct.pack('5')"),
            "user_script:1: bad argument #1 to 'pack' (invalid format option '5')"
        );
        assert_eq!(
            e("struct.pack('b')"),
            "user_script:1: bad argument #2 to 'pack' (number expected, got nil)"
        );
        assert_eq!(
            e("struct.pack('bb', 1)"),
            "user_script:1: bad argument #3 to 'pack' (number expected, got nil)"
        );
        assert_eq!(
            e("struct.pack('b', 'x')"),
            "user_script:1: bad argument #2 to 'pack' (number expected, got string)"
        );
        assert_eq!(
            e("struct.pack('c5', 'abc')"),
            "user_script:1: bad argument #3 to 'pack' (string too short)"
        );
        assert_eq!(
            e("struct.pack('s', {})"),
            "user_script:1: bad argument #2 to 'pack' (string expected, got table)"
        );
        assert_eq!(
            e("struct.pack()"),
            "user_script:1: bad argument #1 to 'pack' (string expected, got no value)"
        );
        assert_eq!(
            e("struct.unpack('i4', 'abc')"),
            "user_script:1: bad argument #2 to 'unpack' (data string too short)"
        );
        assert_eq!(
            e("struct.unpack('b', 'abc', 4)"),
            "user_script:1: bad argument #2 to 'unpack' (data string too short)"
        );
        assert_eq!(
            e("struct.unpack('b', 'abc', 0)"),
            "user_script:1: bad argument #3 to 'unpack' (offset must be 1 or greater)"
        );
        assert_eq!(
            e("struct.unpack('b', 'abc', -1)"),
            "user_script:1: bad argument #2 to 'unpack' (data string too short)"
        );
        assert_eq!(
            e("struct.unpack('s', 'abc')"),
            "user_script:1: unfinished string in data"
        );
        assert_eq!(
            e("struct.unpack('c0', 'abc')"),
            "user_script:1: format 'c0' needs a previous size"
        );
        assert_eq!(
            e("struct.unpack('c1c0', 'abc')"),
            "user_script:1: format 'c0' needs a previous size"
        );
        assert_eq!(
            e("struct.unpack('bc0', '\\9abc')"),
            "user_script:1: bad argument #2 to 'unpack' (data string too short)"
        );
        assert_eq!(
            e("struct.unpack('b', 'a', 'x')"),
            "user_script:1: bad argument #3 to 'unpack' (number expected, got string)"
        );
        assert_eq!(
            e("struct.unpack('!5', '')"),
            "user_script:1: alignment 5 is not a power of 2"
        );
        // Through pcall there is no Lua caller to name or place.
        check(
            &lua,
            "local e = msg(struct.pack, 'z') assert(e == \"bad argument #1 to '?' (invalid format option 'z')\", e)",
        );
        // A method call does not count self.
        let m = e("struct:pack('b')");
        assert!(
            m.ends_with("calling 'pack' on bad self (string expected, got table)"),
            "{m}"
        );
    }

    // CVE-2015-8080: sizes past INT_MAX must not wrap around.
    #[test]
    fn huge_sizes_are_refused() {
        let lua = lua();
        let e = |code: &str| err(&lua, code);
        assert_eq!(
            e("struct.pack('i2147483648', 1)"),
            "user_script:1: integral size overflow"
        );
        assert_eq!(
            e("struct.unpack('c99999999999999999999', 'x')"),
            "user_script:1: integral size overflow"
        );
        assert_eq!(
            e("struct.size('!4294967296')"),
            "user_script:1: integral size overflow"
        );
        assert_eq!(
            e("struct.unpack('c2147483647', 'x')"),
            "user_script:1: bad argument #2 to 'unpack' (data string too short)"
        );
        assert_eq!(
            e("struct.pack('c2147483647', 'x')"),
            "user_script:1: bad argument #3 to 'pack' (string too short)"
        );
        check(
            &lua,
            "assert(struct.size('c2147483647c2147483647') == 4294967294)",
        );
        assert_eq!(
            e("struct.size('i2147483647')"),
            "user_script:1: integral size 2147483647 is larger than limit of 32"
        );
    }

    #[test]
    fn many_results_hit_the_stack_limit() {
        let lua = lua();
        check(
            &lua,
            r#"
            -- C fits 7,998 results next to its two arguments; mlua needs
            -- 23 slots more to return them.
            local n = select('#', struct.unpack(string.rep('b', 7974), string.rep('\1', 7974)))
            assert(n == 7975, n)
            local e = msg(struct.unpack, string.rep('b', 7975), string.rep('\1', 7975))
            assert(e == 'stack overflow (too many results)', e)
            e = msg(struct.unpack, string.rep('b', 7998), string.rep('\1', 7998))
            assert(e == 'stack overflow (too many results)', e)
            e = msg(struct.unpack, string.rep('c1', 5000), string.rep('x', 5000))
            assert(e == 'stack overflow (too many results)', e)
            assert(select('#', struct.unpack(string.rep('c1', 4000), string.rep('x', 4000))) == 4001)
            "#,
        );
    }

    #[test]
    fn round_trips() {
        let lua = lua();
        check(
            &lua,
            r#"
            local fmt = '<!4 b B h H i I l L T f d i3 I5 c3 s x'
            local s = struct.pack(fmt, -5, 250, -300, 60000, -70000, 4000000000, -2^40, 2^50, 99,
                1.5, 0.1, -7, 2^39, 'abc', 'zero')
            local r = {struct.unpack(fmt, s)}
            local want = {-5, 250, -300, 60000, -70000, 4000000000, -2^40, 2^50, 99, 1.5, 0.1, -7, 2^39, 'abc', 'zero'}
            for i, v in ipairs(want) do assert(r[i] == v, i) end
            assert(r[#want + 1] == #s + 1)
            assert(struct.size('<!4 b B h H i I l L T f d i3 I5 c3') + 6 == #s)
            "#,
        );
    }

    mod fuzz {
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]
            #[test]
            fn random_input_never_panics(
                fmt in "[bBhHlLTiIcsxfd<>!= 0-9]{0,12}",
                data in proptest::collection::vec(any::<u8>(), 0..48),
                offset in -4i64..60,
            ) {
                let lua = super::lua();
                let t: mlua::Table = lua.globals().get("struct").unwrap();
                let unpack: mlua::Function = t.get("unpack").unwrap();
                let size: mlua::Function = t.get("size").unwrap();
                let s = lua.create_string(&data).unwrap();
                let _ = unpack.call::<mlua::MultiValue>((fmt.clone(), s.clone()));
                let _ = unpack.call::<mlua::MultiValue>((fmt.clone(), s, offset));
                let _ = size.call::<mlua::Value>(fmt);
            }

            #[test]
            fn random_bytes_as_format_never_panic(
                fmt in proptest::collection::vec(any::<u8>(), 0..16),
                data in proptest::collection::vec(any::<u8>(), 0..48),
            ) {
                let lua = super::lua();
                let t: mlua::Table = lua.globals().get("struct").unwrap();
                let unpack: mlua::Function = t.get("unpack").unwrap();
                let pack: mlua::Function = t.get("pack").unwrap();
                let f = lua.create_string(&fmt).unwrap();
                let s = lua.create_string(&data).unwrap();
                let _ = unpack.call::<mlua::MultiValue>((f.clone(), s.clone()));
                let _ = pack.call::<mlua::Value>((f, s.clone(), s.clone(), 1.5, -2, s));
            }
        }
    }
}
