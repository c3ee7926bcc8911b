//! Glob-style pattern matching with the rules of Redis's `KEYS`, `SCAN MATCH`
//! and `CONFIG GET`: `*`, `?`, `[abc]`, `[^a-z]`, and `\` escapes.

/// Whether `text` matches `pattern`; `nocase` folds ASCII case.
pub fn glob_match(pattern: &[u8], text: &[u8], nocase: bool) -> bool {
    // Recursion depth is bounded by the number of `*` in the pattern; a
    // budget stops pathological patterns from taking exponential time.
    // Redis only lets an empty string match an empty pattern here
    // (KEYS special-cases a lone `*` before matching).
    if text.is_empty() {
        return pattern.is_empty();
    }
    let mut budget: u32 = 1_000_000;
    matches(pattern, text, nocase, &mut budget)
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn matches(mut p: &[u8], mut s: &[u8], nocase: bool, budget: &mut u32) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    while let Some(&pc) = p.first() {
        match pc {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                loop {
                    if matches(&p[1..], s, nocase, budget) {
                        return true;
                    }
                    if s.is_empty() || *budget == 0 {
                        return false;
                    }
                    s = &s[1..];
                }
            }
            b'?' => {
                if s.is_empty() {
                    return false;
                }
                s = &s[1..];
            }
            b'[' => {
                let Some(&c) = s.first() else {
                    return false;
                };
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut hit = false;
                loop {
                    match p {
                        [] => break,
                        [b'\\', esc, ..] => {
                            if *esc == c {
                                hit = true;
                            }
                            p = &p[2..];
                        }
                        [b']', ..] => break,
                        [lo, b'-', hi, ..] if *hi != b']' || p.len() > 3 => {
                            let (mut a, mut b) = (*lo, *hi);
                            let mut ch = c;
                            if b < a {
                                std::mem::swap(&mut a, &mut b);
                            }
                            if nocase {
                                a = a.to_ascii_lowercase();
                                b = b.to_ascii_lowercase();
                                ch = ch.to_ascii_lowercase();
                            }
                            if ch >= a && ch <= b {
                                hit = true;
                            }
                            p = &p[3..];
                        }
                        [x, ..] => {
                            if eq(*x, c, nocase) {
                                hit = true;
                            }
                            p = &p[1..];
                        }
                    }
                }
                if not {
                    hit = !hit;
                }
                if !hit {
                    return false;
                }
                s = &s[1..];
                // `p` now points at the closing bracket, or is empty when the
                // class was never closed (Redis then treats the end as closing it).
                if p.is_empty() {
                    return s.is_empty();
                }
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                match s.first() {
                    Some(&c) if eq(p[0], c, nocase) => s = &s[1..],
                    _ => return false,
                }
            }
            _ => match s.first() {
                Some(&c) if eq(pc, c, nocase) => s = &s[1..],
                _ => return false,
            },
        }
        p = &p[1..];
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            return p.is_empty();
        }
    }
    s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn basics() {
        assert!(!m("*", ""));
        assert!(!m("****", ""));
        assert!(m("", ""));
        assert!(m("*", "abc"));
        assert!(m("a*c", "abbbc"));
        assert!(!m("a*c", "abbbd"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"));
        assert!(m("h\\*llo", "h*llo"));
        assert!(!m("h\\*llo", "hallo"));
        assert!(m("user:*:name", "user:42:name"));
        assert!(!m("abc", "abcd"));
        assert!(m("abc*", "abc"));
        assert!(glob_match(b"ABC", b"abc", true));
    }

    #[test]
    fn pathological_patterns_terminate() {
        let p = "*a".repeat(30) + "b";
        let s = "a".repeat(60);
        assert!(!m(&p, &s));
    }
}
