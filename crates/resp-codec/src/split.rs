//! Splitting an inline request (or a config line) into arguments with the
//! quoting rules of Redis's `sdssplitargs`.

/// One argument found in a line: either an untouched run of the line (so
/// the request decoder can hand out a zero-copy slice) or bytes rebuilt
/// because quotes or escapes changed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// `line[start..end]` verbatim.
    Span(usize, usize),
    /// Unescaped content that is not a contiguous run of the line.
    Owned(Vec<u8>),
}

/// Builds one argument, staying a span while bytes are taken in place.
enum Acc {
    Empty,
    Span(usize, usize),
    Owned(Vec<u8>),
}

impl Acc {
    /// Adds the byte at `pos` of `line` unchanged.
    fn literal(&mut self, line: &[u8], pos: usize) {
        match self {
            Acc::Empty => *self = Acc::Span(pos, pos + 1),
            Acc::Span(_, end) if *end == pos => *end += 1,
            _ => self.byte(line, line.get(pos).copied().unwrap_or(0)),
        }
    }

    /// Adds a byte that is not the next contiguous byte of the line.
    fn byte(&mut self, line: &[u8], b: u8) {
        match self {
            Acc::Owned(v) => v.push(b),
            Acc::Empty => *self = Acc::Owned(vec![b]),
            Acc::Span(s, e) => {
                let mut v = line.get(*s..*e).unwrap_or(&[]).to_vec();
                v.push(b);
                *self = Acc::Owned(v);
            }
        }
    }

    fn finish(self) -> Piece {
        match self {
            Acc::Empty => Piece::Span(0, 0),
            Acc::Span(s, e) => Piece::Span(s, e),
            Acc::Owned(v) => Piece::Owned(v),
        }
    }
}

/// C `isspace` in the "C" locale, which Redis runs under for character types.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits `line` into `out` (appending). Returns false on unbalanced quotes.
///
/// Rules, as Redis applies them:
/// - C whitespace separates arguments; inside an unquoted argument only
///   space, tab, CR and LF end it (a vertical tab or form feed is kept).
/// - A quote may open in the middle of an argument (`ab"cd"` is `abcd`).
/// - `"..."` understands `\n \r \t \b \a`, `\xHH` and `\<any>` as that char.
/// - `'...'` understands only `\'`.
/// - A closing quote must be followed by whitespace or the end.
/// - A NUL byte ends the line, as it ends a C string.
pub(crate) fn split_into(line: &[u8], out: &mut Vec<Piece>) -> bool {
    let line = match memchr::memchr(0, line) {
        Some(nul) => line.get(..nul).unwrap_or(&[]),
        None => line,
    };
    let at = |i: usize| line.get(i).copied();
    let mut p = 0;
    loop {
        while at(p).is_some_and(is_c_space) {
            p += 1;
        }
        if p >= line.len() {
            return true;
        }
        let mut acc = Acc::Empty;
        // Unquoted part of the argument, possibly followed by one quoted part.
        loop {
            match at(p) {
                None | Some(b' ' | b'\n' | b'\r' | b'\t') => break,
                Some(b'"') => {
                    p += 1;
                    loop {
                        match at(p) {
                            None => return false,
                            Some(b'\\') => {
                                let next = at(p + 1);
                                let hex = (next == Some(b'x'))
                                    .then(|| Some((hex_val(at(p + 2)?)?, hex_val(at(p + 3)?)?)))
                                    .flatten();
                                if let Some((hi, lo)) = hex {
                                    acc.byte(line, hi * 16 + lo);
                                    p += 4;
                                } else if let Some(c) = next {
                                    let c = match c {
                                        b'n' => b'\n',
                                        b'r' => b'\r',
                                        b't' => b'\t',
                                        b'b' => 0x08,
                                        b'a' => 0x07,
                                        other => other,
                                    };
                                    acc.byte(line, c);
                                    p += 2;
                                } else {
                                    // A trailing backslash is kept; the missing
                                    // closing quote is reported next round.
                                    acc.literal(line, p);
                                    p += 1;
                                }
                            }
                            Some(b'"') => {
                                if at(p + 1).is_some_and(|c| !is_c_space(c)) {
                                    return false;
                                }
                                p += 1;
                                break;
                            }
                            Some(_) => {
                                acc.literal(line, p);
                                p += 1;
                            }
                        }
                    }
                    break;
                }
                Some(b'\'') => {
                    p += 1;
                    loop {
                        match at(p) {
                            None => return false,
                            Some(b'\\') if at(p + 1) == Some(b'\'') => {
                                acc.byte(line, b'\'');
                                p += 2;
                            }
                            Some(b'\'') => {
                                if at(p + 1).is_some_and(|c| !is_c_space(c)) {
                                    return false;
                                }
                                p += 1;
                                break;
                            }
                            Some(_) => {
                                acc.literal(line, p);
                                p += 1;
                            }
                        }
                    }
                    break;
                }
                Some(_) => {
                    acc.literal(line, p);
                    p += 1;
                }
            }
        }
        out.push(acc.finish());
    }
}

/// Splits a line into arguments with Redis's `sdssplitargs` rules (see
/// the request decoder docs); `None` means unbalanced quotes. Public because
/// the config-file parser splits its lines the same way.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut pieces = Vec::new();
    if !split_into(line, &mut pieces) {
        return None;
    }
    Some(
        pieces
            .into_iter()
            .map(|p| match p {
                Piece::Span(s, e) => line.get(s..e).unwrap_or(&[]).to_vec(),
                Piece::Owned(v) => v,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &[u8]) -> Option<Vec<Vec<u8>>> {
        split_args(s)
    }

    fn v(items: &[&[u8]]) -> Option<Vec<Vec<u8>>> {
        Some(items.iter().map(|i| i.to_vec()).collect())
    }

    #[test]
    fn plain_words() {
        assert_eq!(split(b"set a b"), v(&[b"set", b"a", b"b"]));
        assert_eq!(split(b"  set \t a   "), v(&[b"set", b"a"]));
        assert_eq!(split(b""), v(&[]));
        assert_eq!(split(b" \t\x0b\x0c "), v(&[]));
        assert_eq!(split(b"a\rb"), v(&[b"a", b"b"]));
    }

    #[test]
    fn vertical_tab_only_separates_between_arguments() {
        // Redis: "ECHO a\vb" echoes "a\vb"; a leading \v is skipped.
        assert_eq!(split(b"ECHO a\x0bb"), v(&[b"ECHO", b"a\x0bb"]));
        assert_eq!(split(b"ECHO \x0bx"), v(&[b"ECHO", b"x"]));
        assert_eq!(split(b"ECHO\x0b\"x\""), v(&[b"ECHO\x0bx"]));
    }

    #[test]
    fn double_quotes_and_escapes() {
        assert_eq!(
            split(br#"ECHO "a\"b\a\b\t\r\q""#),
            v(&[b"ECHO", b"a\"b\x07\x08\t\rq"])
        );
        assert_eq!(split(br#""\x41\x4g\n""#), v(&[b"Ax4g\n"]));
        assert_eq!(split(br#""\xFf""#), v(&[b"\xff"]));
        assert_eq!(split(br#""\x4""#), v(&[b"x4"]));
        assert_eq!(split(br#""""#), v(&[b""]));
        assert_eq!(split(br#""a b" c"#), v(&[b"a b", b"c"]));
        assert_eq!(split(b"\"x\"\ty"), v(&[b"x", b"y"]));
        assert_eq!(split(b"\"x\"\x0by"), v(&[b"x", b"y"]));
        assert_eq!(split(br#"ab"cd" e"#), v(&[b"abcd", b"e"]));
    }

    #[test]
    fn single_quotes() {
        assert_eq!(split(br"'a\'b'"), v(&[b"a'b"]));
        assert_eq!(split(br"'a\nb'"), v(&[br"a\nb"]));
        assert_eq!(split(b"''"), v(&[b""]));
    }

    #[test]
    fn unbalanced() {
        assert_eq!(split(br#""abc"#), None);
        assert_eq!(split(br#""abc\"#), None);
        assert_eq!(split(br#""a"b"#), None);
        assert_eq!(split(b"'a'b"), None);
        assert_eq!(split(b"'abc"), None);
        assert_eq!(split(b"\"ab\0c\""), None);
    }

    #[test]
    fn nul_ends_the_line() {
        assert_eq!(split(b"ECHO a\0b c"), v(&[b"ECHO", b"a"]));
    }

    #[test]
    fn spans_are_zero_copy_when_possible() {
        let mut out = Vec::new();
        assert!(split_into(br#"get "key" a"b""#, &mut out));
        assert_eq!(
            out,
            vec![
                Piece::Span(0, 3),
                Piece::Span(5, 8),
                Piece::Owned(b"ab".to_vec())
            ]
        );
    }
}
