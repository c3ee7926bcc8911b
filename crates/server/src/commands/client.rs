//! CLIENT ID, GETNAME, SETNAME, LIST, INFO, KILL, NO-EVICT and HELP.

use bytes::Bytes;
use keyspace::call::reply;
use keyspace::numeric::parse_i64;
use keyspace::Call;
use resp_codec::Frame;

use super::error_text;
use super::table::{c_srv, flag, CommandSpec};
use crate::server::{unix_ms, Server};
use crate::session::Session;

/// Checks a client name as Redis does: no spaces, newlines or control bytes.
pub fn validate_name(name: &[u8]) -> Result<(), Frame> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(reply::err_static(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

/// CLIENT ID
pub fn id(_s: &mut Server, sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    reply::int(sess.handle.id as i64)
}

/// CLIENT GETNAME
pub fn getname(_s: &mut Server, sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    match sess.handle.name.borrow().as_ref() {
        Some(n) => Frame::Bulk(Bytes::from(n.clone())),
        None => reply::nil(),
    }
}

/// CLIENT SETNAME name
pub fn setname(_s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let name = c.arg(2);
    if let Err(e) = validate_name(name) {
        return e;
    }
    *sess.handle.name.borrow_mut() =
        (!name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned());
    reply::ok()
}

/// CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...]
pub fn list(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let mut ids: Option<Vec<u64>> = None;
    let mut ty: Option<String> = None;
    let mut i = 2;
    while i < c.argc() {
        let opt = c.arg(i).to_ascii_lowercase();
        if opt == b"type" && i + 1 < c.argc() {
            let t = c.arg(i + 1).to_ascii_lowercase();
            if !matches!(
                t.as_slice(),
                b"normal" | b"master" | b"replica" | b"slave" | b"pubsub"
            ) {
                return error_text(&format!(
                    "ERR Unknown client type '{}'",
                    String::from_utf8_lossy(c.arg(i + 1))
                ));
            }
            ty = Some(String::from_utf8_lossy(&t).into_owned());
            i += 2;
        } else if opt == b"id" && i + 1 < c.argc() {
            let mut v = Vec::new();
            for j in i + 1..c.argc() {
                match parse_i64(c.arg(j)).filter(|n| *n > 0) {
                    Some(n) => v.push(n as u64),
                    None => return reply::err_static("ERR Invalid client ID"),
                }
            }
            ids = Some(v);
            i = c.argc();
        } else {
            return reply::syntax();
        }
    }
    let now = unix_ms();
    let mut text = String::new();
    for h in s.clients.values() {
        if ids.as_ref().is_some_and(|v| !v.contains(&h.id))
            || ty.as_deref().is_some_and(|t| !is_type(h, t))
        {
            continue;
        }
        text.push_str(&h.describe(now));
        text.push('\n');
    }
    Frame::Verbatim {
        format: *b"txt",
        text: Bytes::from(text),
    }
}

/// Whether client `h` is of CLIENT LIST / CLIENT KILL type `t` (already
/// validated, lower case): Redis's `getClientType`, where a subscribed
/// client is `pubsub` and not `normal`.
fn is_type(h: &crate::session::ClientHandle, t: &str) -> bool {
    use crate::session::ClientKind;
    match t {
        "normal" => h.kind.get() == ClientKind::Normal && h.subscription_count() == 0,
        "master" => h.kind.get() == ClientKind::Master,
        "replica" | "slave" => h.kind.get() == ClientKind::Replica,
        _ => h.kind.get() == ClientKind::Normal && h.subscription_count() > 0,
    }
}

/// CLIENT INFO
pub fn info(_s: &mut Server, sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    let mut line = sess.handle.describe(unix_ms());
    line.push('\n');
    Frame::Verbatim {
        format: *b"txt",
        text: Bytes::from(line),
    }
}

/// CLIENT KILL ip:port | CLIENT KILL [ID id] [ADDR a] [LADDR a] [USER u]
/// [TYPE t] [SKIPME yes|no]
pub fn kill(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    if c.argc() == 3 {
        let addr = String::from_utf8_lossy(c.arg(2)).into_owned();
        let found: Vec<_> = s
            .clients
            .values()
            .filter(|h| h.addr.to_string() == addr)
            .cloned()
            .collect();
        if found.is_empty() {
            return reply::err_static("ERR No such client");
        }
        let mut master_killed = false;
        for h in found {
            h.kill();
            master_killed |= h.kind.get() == crate::session::ClientKind::Master;
        }
        if master_killed {
            // The master client has no connection task of its own.
            crate::repl::drop_master_link(s);
        }
        return reply::ok();
    }
    if c.argc() % 2 != 0 {
        return reply::syntax();
    }
    let (mut id, mut addr, mut laddr, mut user, mut ty) = (None, None, None, None, None);
    let mut skipme = true;
    for i in (2..c.argc()).step_by(2) {
        let v = String::from_utf8_lossy(c.arg(i + 1)).into_owned();
        match c.arg(i).to_ascii_lowercase().as_slice() {
            b"id" => match parse_i64(c.arg(i + 1)).filter(|n| *n > 0) {
                Some(n) => id = Some(n as u64),
                None => return reply::err_static("ERR client-id should be greater than 0"),
            },
            b"addr" => addr = Some(v),
            b"laddr" => laddr = Some(v),
            b"user" => user = Some(v),
            b"type" => {
                let t = v.to_ascii_lowercase();
                if !matches!(
                    t.as_str(),
                    "normal" | "master" | "replica" | "slave" | "pubsub"
                ) {
                    return error_text(&format!("ERR Unknown client type '{v}'"));
                }
                ty = Some(t);
            }
            b"skipme" => match v.to_ascii_lowercase().as_str() {
                "yes" => skipme = true,
                "no" => skipme = false,
                _ => return reply::syntax(),
            },
            _ => return reply::syntax(),
        }
    }
    let mut killed = 0;
    let mut master_killed = false;
    for h in s.clients.values() {
        let matches = id.is_none_or(|x| x == h.id)
            && addr.as_ref().is_none_or(|a| *a == h.addr.to_string())
            && laddr.as_ref().is_none_or(|a| *a == h.laddr.to_string())
            && user.as_ref().is_none_or(|u| u == "default")
            && ty.as_deref().is_none_or(|t| is_type(h, t));
        if matches && !(skipme && h.id == sess.handle.id) {
            h.kill();
            killed += 1;
            master_killed |= h.kind.get() == crate::session::ClientKind::Master;
        }
    }
    if master_killed {
        crate::repl::drop_master_link(s);
    }
    reply::int(killed)
}

/// CLIENT PAUSE timeout [WRITE|ALL]
pub fn pause(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let all = match c.argc() {
        3 => true,
        4 if c.arg(3).eq_ignore_ascii_case(b"write") => false,
        4 if c.arg(3).eq_ignore_ascii_case(b"all") => true,
        4 => return reply::err_static("ERR CLIENT PAUSE mode must be WRITE or ALL"),
        _ => return reply::syntax(),
    };
    let Some(ms) = parse_i64(c.arg(2)) else {
        return reply::err_static("ERR timeout is not an integer or out of range");
    };
    if ms < 0 {
        return reply::err_static("ERR timeout is negative");
    }
    s.clients.pause(crate::server::Pause {
        until_ms: c.now_ms.saturating_add(ms),
        all,
    });
    reply::ok()
}

/// CLIENT UNPAUSE
pub fn unpause(s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    s.clients.unpause();
    reply::ok()
}

/// CLIENT NO-EVICT on|off (accepted; there is no client eviction)
pub fn no_evict(_s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    match c.arg(2).to_ascii_lowercase().as_slice() {
        b"on" | b"off" => reply::ok(),
        _ => reply::syntax(),
    }
}

/// CLIENT HELP
pub fn help(_s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    super::generic::help_lines(&[
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID, TYPE, USER, ADDR, LADDR, SKIPME.",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "    * ID <client-id> [...]",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "HELP",
        "    Print this help.",
    ])
}

const CONN: &[&str] = &["slow", "connection"];
const ADMIN_CONN: &[&str] = &["admin", "slow", "dangerous", "connection"];
const F: u32 = flag::NOSCRIPT | flag::LOADING | flag::STALE;
const A: u32 = flag::ADMIN | flag::NOSCRIPT | flag::LOADING | flag::STALE;

/// CLIENT's subcommands.
pub const CLIENT_SUBCOMMANDS: &[CommandSpec] = &[
    c_srv(
        "getname",
        2,
        F,
        CONN,
        "connection",
        "2.6.9",
        "Returns the name of the connection.",
        getname,
    ),
    c_srv(
        "help",
        2,
        flag::LOADING | flag::STALE,
        CONN,
        "connection",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        help,
    ),
    c_srv(
        "id",
        2,
        F,
        CONN,
        "connection",
        "5.0.0",
        "Returns the unique client ID of the connection.",
        id,
    ),
    c_srv(
        "info",
        2,
        F,
        CONN,
        "connection",
        "6.2.0",
        "Returns information about the connection.",
        info,
    ),
    c_srv(
        "kill",
        -3,
        A,
        ADMIN_CONN,
        "connection",
        "2.4.0",
        "Terminates open connections.",
        kill,
    ),
    c_srv(
        "list",
        -2,
        A,
        ADMIN_CONN,
        "connection",
        "2.4.0",
        "Lists open connections.",
        list,
    ),
    c_srv(
        "no-evict",
        3,
        A,
        ADMIN_CONN,
        "connection",
        "7.0.0",
        "Sets the client eviction mode of the connection.",
        no_evict,
    ),
    c_srv(
        "setname",
        3,
        F,
        CONN,
        "connection",
        "2.6.9",
        "Sets the connection name.",
        setname,
    ),
    c_srv(
        "pause",
        -3,
        A,
        ADMIN_CONN,
        "connection",
        "3.0.0",
        "Suspends commands processing.",
        pause,
    ),
    c_srv(
        "unpause",
        2,
        A,
        ADMIN_CONN,
        "connection",
        "6.2.0",
        "Resumes processing commands from paused clients.",
        unpause,
    ),
];
