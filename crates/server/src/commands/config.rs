//! CONFIG GET, SET, RESETSTAT, REWRITE and HELP, driven by the directive table.

use crate::config::key;
use bytes::Bytes;
use keyspace::call::reply;
use keyspace::Call;
use resp_codec::Frame;

use super::error_text;
use super::table::{c_srv, flag, CommandSpec};
use crate::config::table;
use crate::server::{Server, Stats};
use crate::session::Session;

/// Directives CONFIG SET refuses during a load (Redis's
/// `DENY_LOADING_CONFIG`).
const DENY_WHILE_LOADING: &[&str] = &["appendonly", "repl-diskless-load", "dir"];

/// The working directory, which is what `dir` means once applied.
pub fn current_dir() -> String {
    std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default()
}

/// CONFIG GET parameter [parameter ...]
pub fn get(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let mut seen = std::collections::HashSet::new();
    let mut pairs = Vec::new();
    for i in 2..c.argc() {
        let pattern = String::from_utf8_lossy(c.arg(i)).into_owned();
        for (name, value) in s.config.matching(&pattern) {
            // `dir` is where the server is now, as Redis's getcwd().
            let value = if name == "dir" { current_dir() } else { value };
            if seen.insert(name.clone()) {
                pairs.push((
                    Frame::Bulk(Bytes::from(name)),
                    Frame::Bulk(Bytes::from(value)),
                ));
            }
        }
    }
    Frame::Map(pairs)
}

/// CONFIG SET parameter value [parameter value ...]: all or nothing.
pub fn set(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    if c.argc() % 2 != 0 {
        return reply::syntax();
    }
    let mut next = s.config.clone();
    let mut names = Vec::new();
    for i in (2..c.argc()).step_by(2) {
        let name = String::from_utf8_lossy(c.arg(i)).into_owned();
        let Some(d) = table::find(&name) else {
            return error_text(&format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
            ));
        };
        let fail = |why: &str| {
            error_text(&format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
            ))
        };
        if names.contains(&d.name) {
            return fail("duplicate parameter");
        }
        names.push(d.name);
        if !d.mutable {
            return fail("can't set immutable config");
        }
        let value = String::from_utf8_lossy(c.arg(i + 1)).into_owned();
        if let Err(why) = next.set(d.name, &[value]) {
            return fail(&why);
        }
    }
    // Redis refuses these while a data set is being loaded: the load
    // depends on them.
    if s.saving.loading && names.iter().any(|n| DENY_WHILE_LOADING.contains(n)) {
        return Frame::Error(Bytes::from_static(
            b"LOADING Redis is loading the dataset in memory",
        ));
    }
    if names.contains(&"dir") {
        let dir = next.str(key::DIR);
        if let Err(e) = std::env::set_current_dir(&dir) {
            return error_text(&format!(
                "ERR CONFIG SET failed (possibly related to argument 'dir') - {}",
                crate::repl::io_error_text(&e)
            ));
        }
        let _ = next.set("dir", &[current_dir()]);
    }
    let aof_was = s.config.bool(key::APPENDONLY);
    s.config = next;
    s.config_changed();
    match (aof_was, s.config.bool(key::APPENDONLY)) {
        (false, true) => {
            if let Err(e) = super::persistence::aof_enable(s) {
                let _ = s.config.set("appendonly", &["no".to_string()]);
                return error_text(&format!("ERR {e}"));
            }
        }
        (true, false) => {
            crate::repl::flush_stream(s);
            if let Some(mut aof) = s.aof.take() {
                if let Err(e) = aof.flush_and_sync() {
                    tracing::warn!("Error writing to the AOF file: {e}");
                }
            }
        }
        _ => {}
    }
    reply::ok()
}

/// CONFIG RESETSTAT
pub fn resetstat(s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    s.stats = Stats::default();
    s.ks.stats = Default::default();
    s.repl.node.master.reset_stats();
    reply::ok()
}

/// CONFIG REWRITE
pub fn rewrite(s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    match crate::config::rewrite::rewrite(&s.config) {
        Ok(()) => {
            tracing::info!("CONFIG REWRITE executed with success.");
            reply::ok()
        }
        Err(e) => {
            tracing::warn!("CONFIG REWRITE failed: {e}");
            error_text(&format!("ERR Rewriting config file: {e}"))
        }
    }
}

/// CONFIG HELP
pub fn help(_s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    super::generic::help_lines(&[
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Print this help.",
    ])
}

const ADMIN: u32 = flag::ADMIN | flag::NOSCRIPT | flag::LOADING | flag::STALE;
const ACL: &[&str] = &["admin", "slow", "dangerous"];

/// CONFIG's subcommands.
pub const CONFIG_SUBCOMMANDS: &[CommandSpec] = &[
    c_srv(
        "get",
        -3,
        ADMIN,
        ACL,
        "server",
        "2.0.0",
        "Returns the effective values of configuration parameters.",
        get,
    ),
    c_srv(
        "help",
        2,
        flag::LOADING | flag::STALE,
        &["slow"],
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        help,
    ),
    c_srv(
        "resetstat",
        2,
        ADMIN,
        ACL,
        "server",
        "2.0.0",
        "Resets the server's statistics.",
        resetstat,
    ),
    c_srv(
        "rewrite",
        2,
        ADMIN,
        ACL,
        "server",
        "2.8.0",
        "Persists the effective configuration to file.",
        rewrite,
    ),
    c_srv(
        "set",
        -4,
        ADMIN,
        ACL,
        "server",
        "2.0.0",
        "Sets configuration parameters in-flight.",
        set,
    ),
];
