//! Terminator searches shared by the decoders.

/// Outcome of looking for a request line terminator the way Redis does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// The terminator is at this index.
    At(usize),
    /// Not present yet; the search can resume from this index next time.
    Missing(usize),
}

/// Finds `target` in `buf[from..]` with C `strchr` semantics: Redis searches
/// its NUL-terminated query buffer with `strchr`, so an embedded NUL byte
/// hides every terminator after it. We reproduce that (the request then stays
/// incomplete until the too-big limit trips) so byte streams are judged
/// exactly as Redis judges them. A NUL hit resumes at the NUL itself.
pub(crate) fn strchr(buf: &[u8], from: usize, target: u8) -> Found {
    let from = from.min(buf.len());
    let hay = buf.get(from..).unwrap_or(&[]);
    match memchr::memchr2(target, 0, hay) {
        Some(off) => {
            let i = from + off;
            if buf.get(i) == Some(&target) {
                Found::At(i)
            } else {
                Found::Missing(i)
            }
        }
        None => Found::Missing(buf.len()),
    }
}

/// Finds the first `\r\n` at or after `from` and returns the index of its
/// `\r`. Replies may carry lone `\r` bytes inside lines, so a `\r` only counts
/// when followed by `\n`.
pub(crate) fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let hay = buf.get(at..)?;
        let i = at + memchr::memchr(b'\r', hay)?;
        if buf.get(i + 1) == Some(&b'\n') {
            return Some(i);
        }
        at = i + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strchr_stops_at_nul() {
        assert_eq!(strchr(b"ab\rc", 0, b'\r'), Found::At(2));
        assert_eq!(strchr(b"ab\rc", 3, b'\r'), Found::Missing(4));
        assert_eq!(strchr(b"a\0b\r", 0, b'\r'), Found::Missing(1));
        assert_eq!(strchr(b"abc", 10, b'\r'), Found::Missing(3));
    }

    #[test]
    fn crlf_skips_lone_cr() {
        assert_eq!(find_crlf(b"a\rb\r\n", 0), Some(3));
        assert_eq!(find_crlf(b"a\r", 0), None);
        assert_eq!(find_crlf(b"\r\n", 0), Some(0));
        assert_eq!(find_crlf(b"\r\n", 1), None);
    }
}
