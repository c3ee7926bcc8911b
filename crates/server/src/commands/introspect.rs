//! COMMAND, COMMAND COUNT, COMMAND INFO, COMMAND DOCS, COMMAND LIST: all
//! derived from the command table.

use bytes::Bytes;
use keyspace::call::reply;
use keyspace::glob::glob_match;
use keyspace::Call;
use resp_codec::Frame;

use super::table::{c_sub, flag, CommandSpec};
use super::{find_in, Exec};
use crate::server::Server;
use crate::session::Session;

fn bulk(s: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn status(s: &str) -> Frame {
    Frame::Simple(Bytes::copy_from_slice(s.as_bytes()))
}

/// The COMMAND INFO entry of one command; `prefix` is the container's name
/// for subcommands (`config|get`).
pub fn info_entry(spec: &CommandSpec, prefix: Option<&str>) -> Frame {
    let name = match prefix {
        Some(p) => format!("{p}|{}", spec.name),
        None => spec.name.to_string(),
    };
    let flags = flag::NAMES
        .iter()
        .filter(|(f, _)| spec.has(*f))
        .map(|(_, n)| status(n))
        .collect();
    let acl = spec.acl.iter().map(|a| status(&format!("@{a}"))).collect();
    let key_specs = if spec.first_key > 0 {
        let last = if spec.last_key < 0 {
            spec.last_key
        } else {
            spec.last_key - spec.first_key
        };
        let map = |pairs: Vec<(&str, Frame)>| {
            Frame::Map(pairs.into_iter().map(|(k, v)| (bulk(k), v)).collect())
        };
        let rw = if spec.has(flag::WRITE) { "RW" } else { "RO" };
        vec![map(vec![
            ("flags", Frame::Set(vec![status(rw)])),
            (
                "begin_search",
                map(vec![
                    ("type", bulk("index")),
                    (
                        "spec",
                        map(vec![("index", Frame::Integer(spec.first_key.into()))]),
                    ),
                ]),
            ),
            (
                "find_keys",
                map(vec![
                    ("type", bulk("range")),
                    (
                        "spec",
                        map(vec![
                            ("lastkey", Frame::Integer(last.into())),
                            ("keystep", Frame::Integer(spec.step.into())),
                            ("limit", Frame::Integer(0)),
                        ]),
                    ),
                ]),
            ),
        ])]
    } else {
        Vec::new()
    };
    let subs = match spec.exec {
        Exec::Container(subs) => subs
            .iter()
            .map(|s| info_entry(s, Some(spec.name)))
            .collect(),
        _ => Vec::new(),
    };
    Frame::Array(vec![
        bulk(&name),
        Frame::Integer(spec.arity.into()),
        Frame::Set(flags),
        Frame::Integer(spec.first_key.into()),
        Frame::Integer(spec.last_key.into()),
        Frame::Integer(spec.step.into()),
        Frame::Set(acl),
        Frame::Set(Vec::new()),
        Frame::Array(key_specs),
        Frame::Array(subs),
    ])
}

fn docs_entry(spec: &CommandSpec, prefix: Option<&str>) -> (Frame, Frame) {
    let name = match prefix {
        Some(p) => format!("{p}|{}", spec.name),
        None => spec.name.to_string(),
    };
    let mut fields = vec![
        (bulk("summary"), bulk(spec.summary)),
        (bulk("since"), bulk(spec.since)),
        (bulk("group"), bulk(spec.group)),
        (bulk("complexity"), bulk(spec.complexity)),
    ];
    if let Exec::Container(subs) = spec.exec {
        let sub_docs = subs
            .iter()
            .map(|s| docs_entry(s, Some(spec.name)))
            .collect();
        fields.push((bulk("subcommands"), Frame::Map(sub_docs)));
    }
    (bulk(&name), Frame::Map(fields))
}

/// Resolves `name` or `container|sub` to a spec.
fn resolve(s: &Server, name: &[u8]) -> Option<(&'static CommandSpec, Option<&'static str>)> {
    let text = String::from_utf8_lossy(name);
    match text.split_once('|') {
        Some((parent, sub)) => {
            let p = s.commands.lookup(parent.as_bytes())?;
            match p.exec {
                Exec::Container(subs) => find_in(subs, sub.as_bytes()).map(|c| (c, Some(p.name))),
                _ => None,
            }
        }
        None => s.commands.lookup(name).map(|c| (c, None)),
    }
}

/// COMMAND (no arguments): every command.
pub fn command_all(s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    Frame::Array(
        s.commands
            .all()
            .iter()
            .map(|c| info_entry(c, None))
            .collect(),
    )
}

/// COMMAND COUNT
pub fn count(s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    reply::count(s.commands.all().len())
}

/// COMMAND INFO [name ...]
pub fn info(s: &mut Server, sess: &mut Session, c: &mut Call<'_>) -> Frame {
    if c.argc() == 2 {
        return command_all(s, sess, c);
    }
    Frame::Array(
        (2..c.argc())
            .map(|i| match resolve(s, c.arg(i)) {
                Some((spec, prefix)) => info_entry(spec, prefix),
                None => Frame::NullArray,
            })
            .collect(),
    )
}

/// COMMAND DOCS [name ...]
pub fn docs(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let pairs = if c.argc() == 2 {
        s.commands
            .all()
            .iter()
            .map(|c| docs_entry(c, None))
            .collect()
    } else {
        (2..c.argc())
            .filter_map(|i| resolve(s, c.arg(i)))
            .map(|(spec, prefix)| docs_entry(spec, prefix))
            .collect()
    };
    Frame::Map(pairs)
}

/// COMMAND LIST [FILTERBY MODULE m | ACLCAT c | PATTERN p]
pub fn list(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let filter: Option<(Vec<u8>, &[u8])> = match c.argc() {
        2 => None,
        5 if c.arg(2).eq_ignore_ascii_case(b"FILTERBY") => {
            Some((c.arg(3).to_ascii_lowercase(), c.arg(4)))
        }
        _ => return reply::syntax(),
    };
    let mut out = Vec::new();
    for &spec in s.commands.all() {
        let mut names = vec![(spec.name.to_string(), spec)];
        if let Exec::Container(subs) = spec.exec {
            names.extend(
                subs.iter()
                    .map(|sub| (format!("{}|{}", spec.name, sub.name), sub)),
            );
        }
        for (name, sp) in names {
            let keep = match &filter {
                None => true,
                Some((kind, arg)) => match kind.as_slice() {
                    b"module" => false,
                    b"aclcat" => sp
                        .acl
                        .iter()
                        .any(|a| a.as_bytes().eq_ignore_ascii_case(arg)),
                    b"pattern" => glob_match(arg, name.as_bytes(), true),
                    _ => return reply::syntax(),
                },
            };
            if keep {
                out.push(bulk(&name));
            }
        }
    }
    Frame::Array(out)
}

/// COMMAND GETKEYS command [arg ...]
pub fn getkeys(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    let Some(spec) = s.commands.lookup(c.arg(2)) else {
        return reply::err_static("ERR Invalid command specified");
    };
    let argc = c.argc() - 2;
    if !spec.arity_ok(argc) {
        return reply::err_static("ERR Invalid number of arguments specified for command");
    }
    if spec.first_key == 0 {
        return reply::err_static("ERR The command has no key arguments");
    }
    let keys = spec
        .key_positions(argc)
        .map(|i| Frame::Bulk(c.arg_bytes(i + 2)))
        .collect();
    Frame::Array(keys)
}

/// COMMAND HELP
pub fn help(_s: &mut Server, _sess: &mut Session, _c: &mut Call<'_>) -> Frame {
    super::generic::help_lines(&[
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "HELP",
        "    Print this help.",
    ])
}

/// COMMAND's subcommands.
pub const COMMAND_SUBCOMMANDS: &[CommandSpec] = &[
    c_sub("count", 2, "Returns a count of commands.", "O(1)", count),
    c_sub(
        "docs",
        -2,
        "Returns documentary information about one, multiple or all commands.",
        "O(N) where N is the number of commands to look up",
        docs,
    ),
    c_sub(
        "getkeys",
        -3,
        "Extracts the key names from an arbitrary command.",
        "O(N) where N is the number of arguments to the command",
        getkeys,
    ),
    c_sub(
        "help",
        2,
        "Returns helpful text about the different subcommands.",
        "O(1)",
        help,
    ),
    c_sub(
        "info",
        -2,
        "Returns information about one, multiple or all commands.",
        "O(N) where N is the number of commands to look up",
        info,
    ),
    c_sub(
        "list",
        -2,
        "Returns a list of command names.",
        "O(N) where N is the total number of Redis commands",
        list,
    ),
];
