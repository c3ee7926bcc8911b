//! Redis-compatible Lua scripting: a sandboxed Lua 5.1 interpreter with
//! Redis's `redis.*` API, its global protection, and its rules for turning
//! command replies into Lua values and script results back into replies.
//!
//! The crate runs no command itself. The embedding server implements
//! [`Host`], through which `redis.call` reaches its command table, so the
//! same engine serves any server that speaks RESP (and is tested here with
//! a host that answers from memory).

mod bitlib;
mod cjson;
mod clib;
mod cmsgpack;
mod convert;
mod engine;
pub mod functions;
mod host_slot;
mod raise;
mod rand48;
mod sandbox;
pub mod shebang;
mod structlib;

pub use engine::{Engine, EngineError, Host, LogLevel, ReplFlags};
pub use functions::{FunctionInfo, Functions, Library, RestorePolicy};
pub use shebang::ScriptFlags;

/// The lowercase hex SHA-1 of `data`, as SCRIPT LOAD and `redis.sha1hex`
/// give it.
pub fn sha1_hex(data: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(data);
    let mut out = String::with_capacity(40);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    #[test]
    fn sha1_of_empty_and_known() {
        assert_eq!(
            super::sha1_hex(b""),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            super::sha1_hex(b"return 1"),
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
    }
}
