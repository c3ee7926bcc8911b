//! The context of one command execution: arguments in, reply and
//! replication effects out.

use bytes::Bytes;
use resp_codec::Frame;

/// What a command asks to be sent to replicas and the append-only file.
///
/// Redis rewrites commands whose effect would differ if replayed later
/// (relative expiries, floating-point increments, random choices); the
/// rewritten form is what replicas must apply to stay identical.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Propagate {
    /// Nothing changed.
    #[default]
    Nothing,
    /// Propagate the command exactly as received.
    Verbatim,
    /// Propagate these commands instead, in order.
    Rewritten(Vec<Vec<Bytes>>),
}

impl Propagate {
    /// Adds one rewritten command to the propagation list.
    pub fn push(&mut self, cmd: Vec<Bytes>) {
        match self {
            Propagate::Rewritten(list) => list.push(cmd),
            _ => *self = Propagate::Rewritten(vec![cmd]),
        }
    }
}

/// One command call.
#[derive(Debug)]
pub struct Call<'a> {
    /// The command name followed by its arguments; the dispatcher has
    /// already checked the arity, so a handler may rely on it.
    pub args: &'a [Bytes],
    /// The client's selected database.
    pub db: usize,
    /// The current time in Unix milliseconds.
    pub now_ms: i64,
    /// Set by the handler.
    pub propagate: Propagate,
    /// Whether the client speaks RESP3 (some replies change shape: score
    /// pairs become nested arrays). The dispatcher sets it.
    pub resp3: bool,
}

impl<'a> Call<'a> {
    /// A call on database `db` at time `now_ms`.
    pub fn new(args: &'a [Bytes], db: usize, now_ms: i64) -> Self {
        Call {
            args,
            db,
            now_ms,
            propagate: Propagate::Nothing,
            resp3: false,
        }
    }

    /// Argument `i` (0 is the command name); empty if absent, which the
    /// command table's arity check rules out.
    pub fn arg(&self, i: usize) -> &'a [u8] {
        self.args.get(i).map(|b| b.as_ref()).unwrap_or(&[])
    }

    /// Argument `i` as shared bytes.
    pub fn arg_bytes(&self, i: usize) -> Bytes {
        self.args.get(i).cloned().unwrap_or_default()
    }

    /// Number of arguments including the command name.
    pub fn argc(&self) -> usize {
        self.args.len()
    }

    /// Marks the call as a write to propagate verbatim.
    pub fn verbatim(&mut self) {
        self.propagate = Propagate::Verbatim;
    }

    /// The lowercase command name, as Redis quotes it in errors.
    pub fn name_lower(&self) -> String {
        String::from_utf8_lossy(self.arg(0)).to_ascii_lowercase()
    }
}

/// Replies shared by many commands, worded exactly as Redis words them.
pub mod reply {
    use super::*;

    /// `+OK`
    pub fn ok() -> Frame {
        Frame::Simple(Bytes::from_static(b"OK"))
    }
    /// An error reply; `msg` starts with the error code (`ERR`, `WRONGTYPE`...).
    pub fn err(msg: &str) -> Frame {
        Frame::Error(Bytes::copy_from_slice(msg.as_bytes()))
    }
    /// A static error reply.
    pub fn err_static(msg: &'static str) -> Frame {
        Frame::Error(Bytes::from_static(msg.as_bytes()))
    }
    /// `:n`
    pub fn int(n: i64) -> Frame {
        Frame::Integer(n)
    }
    /// `:n` from a count.
    pub fn count(n: usize) -> Frame {
        Frame::Integer(i64::try_from(n).unwrap_or(i64::MAX))
    }
    /// The null bulk reply.
    pub fn nil() -> Frame {
        Frame::Null
    }
    /// A bulk reply.
    pub fn bulk(b: Bytes) -> Frame {
        Frame::Bulk(b)
    }
    /// `-ERR syntax error`
    pub fn syntax() -> Frame {
        err_static("ERR syntax error")
    }
    /// `-WRONGTYPE ...`
    pub fn wrongtype() -> Frame {
        err_static("WRONGTYPE Operation against a key holding the wrong kind of value")
    }
    /// `-ERR value is not an integer or out of range`
    pub fn not_int() -> Frame {
        err_static("ERR value is not an integer or out of range")
    }
    /// `-ERR value is not a valid float`
    pub fn not_float() -> Frame {
        err_static("ERR value is not a valid float")
    }
    /// `-ERR no such key`
    pub fn no_such_key() -> Frame {
        err_static("ERR no such key")
    }
    /// `-ERR DB index is out of range`
    pub fn db_out_of_range() -> Frame {
        err_static("ERR DB index is out of range")
    }
    /// The arity error for a command named `name` (lowercase).
    pub fn wrong_args(name: &str) -> Frame {
        err(&format!(
            "ERR wrong number of arguments for '{name}' command"
        ))
    }
    /// The error for an invalid expire time given to `cmd`.
    pub fn invalid_expire(cmd: &str) -> Frame {
        err(&format!("ERR invalid expire time in '{cmd}' command"))
    }
}
