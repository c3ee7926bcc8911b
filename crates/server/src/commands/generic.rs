//! Connection and server commands that need server state: PING ECHO QUIT
//! HELLO AUTH TIME LASTSAVE SHUTDOWN, and OBJECT HELP.

use crate::config::key;
use bytes::Bytes;
use keyspace::call::reply;
use keyspace::numeric::parse_i64;
use keyspace::Call;
use resp_codec::{Frame, Protocol};

use super::error_text;
use crate::server::{Server, ShutdownRequest};
use crate::session::Session;

/// PING [message]
pub fn ping(_s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    if sess.proto() == Protocol::Resp2 && sess.handle.subscription_count() > 0 {
        // A subscribed RESP2 client gets a pong array, as pushes share the stream.
        return match c.argc() {
            1 | 2 => Frame::Array(vec![
                Frame::Bulk(Bytes::from_static(b"pong")),
                Frame::Bulk(if c.argc() == 2 {
                    c.arg_bytes(1)
                } else {
                    Bytes::new()
                }),
            ]),
            _ => reply::wrong_args("ping"),
        };
    }
    match c.argc() {
        1 => Frame::Simple(Bytes::from_static(b"PONG")),
        2 => Frame::Bulk(c.arg_bytes(1)),
        _ => reply::wrong_args("ping"),
    }
}

/// ECHO message
pub fn echo(_s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    Frame::Bulk(c.arg_bytes(1))
}

/// QUIT
pub fn quit(_s: &mut Server, sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    sess.close_after_reply = true;
    reply::ok()
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Checks credentials for AUTH and HELLO; `user` None means the default user.
fn authenticate(s: &Server, sess: &mut Session, user: Option<&[u8]>, pass: &[u8]) -> Frame {
    if let Some(u) = user {
        if u != b"default" {
            return reply::err_static(WRONGPASS);
        }
    }
    let ok = if s.auth_required() {
        s.check_password(pass)
    } else {
        // The default user has no password: any password is accepted for it.
        true
    };
    if ok {
        sess.authenticated = true;
        reply::ok()
    } else {
        reply::err_static(WRONGPASS)
    }
}

/// AUTH [username] password
pub fn auth(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    match c.argc() {
        2 => {
            if !s.auth_required() {
                return reply::err_static("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
            }
            authenticate(s, sess, None, c.arg(1))
        }
        3 => authenticate(s, sess, Some(c.arg(1)), c.arg(2)),
        _ => reply::syntax(),
    }
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
pub fn hello(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let mut proto = sess.proto();
    let mut i = 1;
    if c.argc() >= 2 {
        let Some(v) = parse_i64(c.arg(1)) else {
            return reply::err_static("ERR Protocol version is not an integer or out of range");
        };
        proto = match v {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return reply::err_static("NOPROTO unsupported protocol version"),
        };
        i = 2;
    }
    let mut auth: Option<(&[u8], &[u8])> = None;
    let mut setname: Option<&[u8]> = None;
    while i < c.argc() {
        let more = c.argc() - i - 1;
        let opt = c.arg(i);
        if opt.eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            auth = Some((c.arg(i + 1), c.arg(i + 2)));
            i += 3;
        } else if opt.eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            setname = Some(c.arg(i + 1));
            i += 2;
        } else {
            return error_text(&format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(opt)
            ));
        }
    }
    if let Some((user, pass)) = auth {
        let r = authenticate(s, sess, Some(user), pass);
        if matches!(r, Frame::Error(_)) {
            return r;
        }
    }
    if s.auth_required() && !sess.authenticated {
        return reply::err_static("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(name) = setname {
        if let Err(e) = super::client::validate_name(name) {
            return e;
        }
        *sess.handle.name.borrow_mut() =
            (!name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned());
    }
    sess.set_proto(proto);
    hello_reply(proto, sess.handle.id)
}

/// HELLO's reply: who answers, in which protocol, to which client.
pub fn hello_reply(proto: Protocol, client_id: u64) -> Frame {
    let b = |t: &'static str| Frame::Bulk(Bytes::from_static(t.as_bytes()));
    Frame::Map(vec![
        (b("server"), b("redis")),
        (b("version"), b(crate::VERSION)),
        (
            b("proto"),
            Frame::Integer(if proto == Protocol::Resp3 { 3 } else { 2 }),
        ),
        (b("id"), Frame::Integer(client_id as i64)),
        (b("mode"), b("standalone")),
        (b("role"), b("master")),
        (b("modules"), Frame::Array(Vec::new())),
    ])
}

/// TIME
pub fn time(_s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Frame::Array(vec![
        Frame::Bulk(Bytes::from(now.as_secs().to_string())),
        Frame::Bulk(Bytes::from(now.subsec_micros().to_string())),
    ])
}

/// LASTSAVE
pub fn lastsave(s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    reply::int(s.saving.lastsave)
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
pub fn shutdown(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let (mut save, mut nosave, mut abort, mut now) = (false, false, false, false);
    for i in 1..c.argc() {
        match c.arg(i).to_ascii_lowercase().as_slice() {
            b"save" => save = true,
            b"nosave" => nosave = true,
            b"abort" => abort = true,
            b"now" => now = true,
            b"force" => {}
            _ => return reply::syntax(),
        }
    }
    if (abort && c.argc() > 2) || (save && nosave) {
        return reply::syntax();
    }
    if abort {
        return reply::err_static("ERR No shutdown in progress.");
    }
    let rules = !s.config.str(key::SAVE).is_empty();
    let save = save || (!nosave && rules);
    // With replicas attached the snapshot must come after they caught up
    // (the wait may add to the stream), so the main loop saves then.
    let defer = !now && !s.repl.is_replica && s.repl.node.master.replica_count() > 0;
    if save && defer {
        sess.skip_reply = true;
        sess.close_after_reply = true;
        s.process.request_shutdown(ShutdownRequest {
            save: true,
            wait_replicas: true,
        });
        return Frame::Null;
    }
    if save {
        // Save here so a failure can still be reported to this client.
        if let Some(child) = s.saving.child.take() {
            crate::fork::kill_child(child.pid);
        }
        tracing::info!("Saving the final RDB snapshot before exiting.");
        if super::persistence::save_now(s).is_err() {
            tracing::warn!("Error trying to save the DB, can't exit.");
            return reply::err_static("ERR Errors trying to SHUTDOWN. Check logs.");
        }
    }
    s.process.request_shutdown(ShutdownRequest {
        save: false,
        wait_replicas: !now,
    });
    // The connection closes without a reply once the server stops.
    sess.skip_reply = true;
    sess.close_after_reply = true;
    Frame::Null
}

/// OBJECT HELP
pub fn object_help(_s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    help_lines(&[
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Print this help.",
    ])
}

/// A HELP reply: one status line per entry.
pub fn help_lines(lines: &[&'static str]) -> Frame {
    Frame::Array(
        lines
            .iter()
            .map(|l| Frame::Simple(Bytes::from_static(l.as_bytes())))
            .collect(),
    )
}

/// RESET: returns the connection to its initial state.
pub fn reset(s: &mut Server, sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    sess.multi = None;
    super::tx::unwatch_all(s, sess);
    super::pubsub::forget_client(s, &sess.handle);
    sess.set_db(0);
    sess.set_proto(Protocol::Resp2);
    *sess.handle.name.borrow_mut() = None;
    sess.authenticated = !s.auth_required();
    Frame::Simple(Bytes::from_static(b"RESET"))
}
