//! DEBUG: SLEEP, SET-ACTIVE-EXPIRE, DIGEST, DIGEST-VALUE, RELOAD, POPULATE,
//! OBJECT, LOG, REPLICATE, HELP. Several are how Redis's own test suite
//! sets up its cases, and operators' tooling uses some.

use crate::config::key;
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
    let allowed = match s.config.str(key::ENABLE_DEBUG_COMMAND).as_str() {
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
            "LOG <message>",
            "    Write <message> to the server log.",
            "OBJECT <key>",
            "    Show low level info about the <key> and associated value.",
            "POPULATE <count> [<prefix>] [<size>]",
            "    Create <count> string keys named key:<num>. If <prefix> is specified then",
            "    it is used instead of the 'key' prefix. These are not propagated to",
            "    replicas. Cluster slots are not respected so keys not belonging to the",
            "    current node can be created in cluster mode.",
            "REPLICATE <command> [<arg> ...]",
            "    Propagate <command> to replicas and the AOF without running it.",
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
        (b"reload", _) => reload(s, c),
        (b"loadaof", 2) => loadaof(s),
        (b"populate", 3..=5) => populate(s, c),
        (b"object", 3) => object(s, c),
        (b"log", 3) => {
            tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(c.arg(2)));
            reply::ok()
        }
        (b"replicate", n) if n >= 3 => {
            let cmd: Vec<Bytes> = (2..n).map(|i| Bytes::copy_from_slice(c.arg(i))).collect();
            s.propagate(c.db, cmd);
            reply::ok()
        }
        (b"protocol", 3) => debug_protocol(sess, c),
        (b"set-disable-deny-scripts", 3) => {
            s.scripting.disable_deny_script = c.arg(2) != b"0";
            reply::ok()
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

/// DEBUG POPULATE count [prefix] [size]: `prefix:N` keys holding
/// `value:N` (padded with zero bytes, or cut, to `size` when given); keys
/// that exist are left alone. Not propagated, and not counted as changes,
/// as in Redis.
fn populate(s: &mut Server, c: &mut Call<'_>) -> Frame {
    let positive = |i: usize| {
        keyspace::numeric::parse_i64(c.arg(i))
            .filter(|n| *n >= 0)
            .ok_or_else(|| reply::err_static("ERR value is out of range, must be positive"))
    };
    let count = match positive(2) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let size = if c.argc() == 5 {
        match positive(4) {
            Ok(n) => usize::try_from(n).unwrap_or(usize::MAX),
            Err(e) => return e,
        }
    } else {
        0
    };
    if size > 512 * 1024 * 1024 {
        return reply::err_static("ERR value is out of range, must be positive");
    }
    let prefix = if c.argc() >= 4 {
        c.arg(3).to_vec()
    } else {
        b"key".to_vec()
    };
    let now = c.now_ms;
    let db = c.db;
    let Some(d) = s.ks.db_mut(db) else {
        return reply::ok();
    };
    let mut key = Vec::with_capacity(prefix.len() + 21);
    for j in 0..count {
        key.clear();
        key.extend_from_slice(&prefix);
        key.push(b':');
        key.extend_from_slice(itoa::Buffer::new().format(j).as_bytes());
        if d.peek(&key, now).is_some() {
            continue;
        }
        let mut val = format!("value:{j}").into_bytes();
        if size > 0 {
            val.resize(size, 0);
        }
        d.set(
            &key,
            keyspace::value::Value::Str(keyspace::value::StrValue::plain(&val)),
            keyspace::NO_EXPIRE,
            now,
        );
    }
    reply::ok()
}

/// DEBUG OBJECT key, in Redis's format (the address is the entry's).
fn object(s: &mut Server, c: &mut Call<'_>) -> Frame {
    let Some(db) = s.ks.db(c.db) else {
        return reply::err_static("ERR no such key");
    };
    // Like Redis's, it sees a key until it is deleted, logically expired
    // or not (the suite relies on it to check a key is still stored).
    let Some((e, meta)) = db.peek_meta(c.arg(2), i64::MIN) else {
        return reply::err_static("ERR no such key");
    };
    let serialized = rdb::dump_payload(&crate::convert::to_rdb(&e.value))
        .len()
        .saturating_sub(11);
    let idle = (c.now_ms.max(0) / 1000 - i64::from(meta.lru)).max(0);
    Frame::Simple(Bytes::from(format!(
        "Value at:{:p} refcount:1 encoding:{} serializedlength:{serialized} lru:{} lru_seconds_idle:{idle}",
        e as *const _,
        e.value.encoding(),
        meta.lru & ((1 << 24) - 1)
    )))
}

/// DEBUG PROTOCOL <type>: one reply of each RESP type, as Redis's test
/// suite uses them.
#[expect(
    clippy::approx_constant,
    reason = "Redis's DEBUG PROTOCOL double is 3.141, not pi"
)]
fn debug_protocol(sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let bulk = |t: &'static str| Frame::Bulk(Bytes::from_static(t.as_bytes()));
    let name = c.arg(2).to_ascii_lowercase();
    // The script client (id 0) takes the real reply only.
    let to_client = sess.handle.id != 0;
    match name.as_slice() {
        b"string" => bulk("Hello World"),
        b"integer" => Frame::Integer(12345),
        b"double" => Frame::Double(3.141),
        b"bignum" => Frame::BigNumber(Bytes::from_static(b"1234567999999999999999999999999999999")),
        b"null" => Frame::Null,
        b"array" => Frame::Array((0..3).map(Frame::Integer).collect()),
        b"set" => Frame::Set((0..3).map(Frame::Integer).collect()),
        b"map" => Frame::Map((0..3).map(|j| (Frame::Integer(j), Frame::Boolean(j == 1))).collect()),
        b"attrib" => {
            let real = bulk("Some real reply following the attribute");
            if !c.resp3 || !to_client {
                return real;
            }
            sess.extra_replies.push(real);
            Frame::Attribute(vec![(
                bulk("key-popularity"),
                Frame::Array(vec![bulk("key:123"), Frame::Integer(90)]),
            )])
        }
        b"push" => {
            if !c.resp3 {
                return Frame::error("ERR RESP2 is not supported by this command");
            }
            let real = bulk("Some real reply following the push reply");
            if !to_client {
                return real;
            }
            sess.extra_replies.push(real);
            Frame::Push(vec![bulk("server-cpu-usage"), Frame::Integer(42)])
        }
        b"true" => Frame::Boolean(true),
        b"false" => Frame::Boolean(false),
        b"verbatim" => Frame::Verbatim {
            format: *b"txt",
            text: Bytes::from_static(b"This is a verbatim\nstring"),
        },
        _ => Frame::error("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"),
    }
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty the data set, load
/// it back (checks the round trip). NOSAVE loads the file as it is;
/// NOFLUSH loads on top of the current data, where a key or library that
/// exists already fails the reload unless MERGE lets the file's win.
fn reload(s: &mut Server, c: &mut Call<'_>) -> Frame {
    let (mut merge, mut noflush, mut nosave) = (false, false, false);
    for i in 2..c.argc() {
        match c.arg(i).to_ascii_lowercase().as_slice() {
            b"merge" => merge = true,
            b"noflush" => noflush = true,
            b"nosave" => nosave = true,
            _ => {
                return reply::err_static(
                    "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
                )
            }
        }
    }
    if !nosave {
        if let Err(e) = super::persistence::save_now(s) {
            return error_text(&format!("ERR Error trying to save the DB: {e}"));
        }
    }
    let loader = crate::persist::Loader::new(
        s.ks.db_count(),
        c.now_ms,
        s.ks.reclaims_expired(),
        u64::MAX,
        *s.ks.limits(),
    );
    let path = crate::persist::dump_path(&s.config.str(key::DBFILENAME));
    let (dbs, report) = match crate::persist::load_file(&path, loader) {
        Ok(loaded) => loaded,
        Err(e) => return error_text(&format!("ERR Error trying to load the RDB dump: {e}")),
    };
    if !noflush {
        s.ks.replace_dbs(dbs);
        s.scripting.restore_libraries(&report.functions);
        tracing::info!("DB reloaded by DEBUG RELOAD");
        return reply::ok();
    }
    let mut current = s.ks.take_dbs();
    let clash = !merge
        && (s.scripting.has_any_library(&report.functions)
            || dbs
                .iter()
                .zip(&current)
                .any(|(new, old)| new.iter().any(|(k, _, _)| old.get_raw(k).is_some())));
    if clash {
        s.ks.replace_dbs(current);
        tracing::warn!("DEBUG RELOAD NOFLUSH: the file holds keys or libraries that exist already");
        return reply::err_static("ERR Error trying to load the RDB dump");
    }
    for (i, mut new) in dbs.into_iter().enumerate() {
        let Some(old) = current.get_mut(i) else { break };
        let keys: Vec<Bytes> = new
            .iter()
            .map(|(k, _, _)| Bytes::copy_from_slice(k))
            .collect();
        for k in keys {
            if let Some(record) = new.remove(&k) {
                old.remove(&k);
                old.insert_record(&k, record, c.now_ms);
            }
        }
    }
    s.ks.replace_dbs(current);
    s.scripting.merge_libraries(&report.functions);
    tracing::info!("DB reloaded by DEBUG RELOAD");
    reply::ok()
}

/// DEBUG LOADAOF: writes out what the AOF buffers, empties the data set
/// (functions too) and loads it back from the append-only file, as a
/// restart would; nothing replayed is propagated again.
fn loadaof(s: &mut Server) -> Frame {
    let Some(mut aof) = s.aof.take() else {
        return reply::err_static("ERR The append only file is not enabled");
    };
    if let Err(e) = aof.flush_and_sync() {
        s.aof = Some(aof);
        return error_text(&format!("ERR Error writing the append only file: {e}"));
    }
    let dir = std::path::PathBuf::from(s.config.str(key::APPENDDIRNAME));
    let name = s.config.str(key::APPENDFILENAME);
    let manifest = match crate::aof::Aof::existing(&dir, &name) {
        Ok(Some(m)) => m,
        Ok(None) => Vec::new(),
        Err(e) => {
            s.aof = Some(aof);
            return error_text(&format!("ERR Error reading the AOF manifest: {e}"));
        }
    };
    drop(s.ks.take_dbs());
    s.scripting.restore_libraries(&[]);
    let outer = s.prop.mask();
    s.prop.set_mask(crate::propagate::Targets::default());
    let replayed = crate::startup::replay_aof(s, &dir, &manifest);
    s.prop.set_mask(outer);
    s.aof = Some(aof);
    s.prop.force_select();
    match replayed {
        Ok(n) => {
            tracing::info!("Append Only File loaded by DEBUG LOADAOF ({n} commands)");
            reply::ok()
        }
        Err(e) => {
            // Redis exits here: the data set is half loaded.
            tracing::warn!("DEBUG LOADAOF failed, exiting: {e}");
            std::process::exit(1);
        }
    }
}
