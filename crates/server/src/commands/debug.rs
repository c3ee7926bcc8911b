//! DEBUG: SLEEP, SET-ACTIVE-EXPIRE, DIGEST, DIGEST-VALUE, RELOAD, HELP.

use bytes::Bytes;
use keyspace::call::reply;
use keyspace::Call;
use resp_codec::Frame;

use super::error_text;
use crate::digest;
use crate::server::Server;
use crate::session::Session;

/// DEBUG subcommand [args]
pub fn debug(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    // Redis 7 protects DEBUG behind `enable-debug-command` (default "no").
    let allowed = match s.config.str("enable-debug-command").as_str() {
        "yes" => true,
        "local" => sess.handle.addr.ip().is_loopback(),
        _ => false,
    };
    if !allowed {
        return reply::err_static("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.");
    }
    let sub = c.arg(1).to_ascii_lowercase();
    match (sub.as_slice(), c.argc()) {
        (b"help", _) => super::generic::help_lines(&[
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DIGEST",
            "    Output a hex signature representing the current DB content.",
            "DIGEST-VALUE <key> [<key> ...]",
            "    Output a hex signature of the values of all the specified keys.",
            "RELOAD",
            "    Save the RDB on disk and reload it back to memory.",
            "    Output a hex signature of the values of all the specified keys.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            "HELP",
            "    Print this help.",
        ]),
        (b"sleep", 3) => {
            let secs = String::from_utf8_lossy(c.arg(2))
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0);
            match secs {
                Some(v) => {
                    // Deliberately blocks the event loop: that is what the command is for.
                    std::thread::sleep(std::time::Duration::from_secs_f64(v.min(3600.0)));
                    reply::ok()
                }
                None => reply::not_float(),
            }
        }
        (b"reload", _) => {
            // Save, empty the data set, load it back: checks the round trip.
            if let Err(e) = super::persistence::save_now(s) {
                return error_text(&format!("ERR Error trying to save the DB: {e}"));
            }
            let loader = crate::persist::Loader::new(
                s.ks.db_count(),
                c.now_ms,
                s.ks.reclaims_expired(),
                u64::MAX,
                *s.ks.limits(),
            );
            let path = crate::persist::dump_path(&s.config.str("dbfilename"));
            match crate::persist::load_file(&path, loader) {
                Ok((dbs, _)) => {
                    s.ks.replace_dbs(dbs);
                    tracing::info!("DB reloaded by DEBUG RELOAD");
                    reply::ok()
                }
                Err(e) => error_text(&format!("ERR Error trying to load the RDB dump: {e}")),
            }
        }
        (b"set-active-expire", 3) => {
            s.active_expire = c.arg(2) != b"0";
            reply::ok()
        }
        (b"digest", 2) => Frame::Simple(Bytes::from(digest::hex(&digest::dataset(&s.ks)))),
        (b"digest-value", _) => Frame::Array(
            (2..c.argc())
                .map(|i| {
                    let d =
                        s.ks.db(c.db)
                            .and_then(|db| {
                                let e = db.get_raw(c.arg(i))?;
                                Some(digest::value(e, db.expire_of(c.arg(i))))
                            })
                            .unwrap_or([0; 20]);
                    Frame::Simple(Bytes::from(digest::hex(&d)))
                })
                .collect(),
        ),
        _ => error_text(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(c.arg(1))
        )),
    }
}
