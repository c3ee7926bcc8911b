//! Configuration: parsing of `redis.conf` files and `--directive value`
//! options, typed access, and the CONFIG GET/SET views, all driven by the
//! directive table in [`table`].

pub mod key;
pub mod rewrite;
pub mod table;

use std::path::Path;

use keyspace::glob::glob_match;
use table::{Directive, Kind, DIRECTIVES};

/// A parsed directive value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// yes/no
    Bool(bool),
    /// Integers and byte counts.
    Int(i64),
    /// Strings and enum words.
    Str(String),
    /// `save` rules as (seconds, changes).
    Save(Vec<(u64, u64)>),
    /// `bind` addresses.
    Bind(Vec<String>),
    /// `replicaof` master address.
    ReplicaOf(Option<(String, u16)>),
    /// Output buffer limits for normal, replica and pubsub clients:
    /// (hard, soft, soft seconds).
    Obl([(u64, u64, u64); 3]),
}

/// The classes `client-output-buffer-limit` names, in storage order.
pub const OBL_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// The server's whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    values: Vec<Val>,
    /// The config file this server was started with, if any.
    pub file: Option<String>,
    /// Directives set from the file or options that replikv does not act on.
    pub unacted: Vec<&'static str>,
}

fn index_of(d: &Directive) -> usize {
    DIRECTIVES
        .iter()
        .position(|x| x.name == d.name)
        .unwrap_or_default()
}

/// Parses a byte count with Redis's units: b, k, kb, m, mb, g, gb.
pub fn parse_memory(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let mul: i64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    num.parse::<i64>().ok()?.checked_mul(mul)
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Parses one directive's arguments. `prev` is the current value, needed
/// for directives that accumulate (`save`, `client-output-buffer-limit`).
pub fn parse_value(d: &Directive, args: &[String], prev: Option<&Val>) -> Result<Val, String> {
    let one = || -> Result<&String, String> {
        match args {
            [a] => Ok(a),
            _ => Err("wrong number of arguments".to_string()),
        }
    };
    match d.kind {
        Kind::Bool => match one()?.to_ascii_lowercase().as_str() {
            "yes" => Ok(Val::Bool(true)),
            "no" => Ok(Val::Bool(false)),
            _ => Err("argument must be 'yes' or 'no'".to_string()),
        },
        Kind::Int { min, max } | Kind::Mem { min, max } => {
            let raw = one()?;
            let v = if matches!(d.kind, Kind::Mem { .. }) {
                parse_memory(raw)
            } else {
                raw.parse::<i64>().ok()
            }
            .ok_or_else(|| {
                if matches!(d.kind, Kind::Mem { .. }) {
                    "argument must be a memory value".to_string()
                } else {
                    "argument couldn't be parsed into an integer".to_string()
                }
            })?;
            if v < min || v > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(Val::Int(v))
        }
        Kind::Str => Ok(Val::Str(one()?.clone())),
        Kind::Verbatim => Ok(Val::Str(args.join(" "))),
        Kind::Enum(words) => {
            let v = one()?.to_ascii_lowercase();
            if words.contains(&v.as_str()) {
                Ok(Val::Str(v))
            } else {
                Err(format!(
                    "argument(s) must be one of the following: {}",
                    words.join(", ")
                ))
            }
        }
        Kind::Save => {
            let flat: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
            if flat.is_empty() {
                return Ok(Val::Save(Vec::new()));
            }
            if flat.len() % 2 != 0 {
                return Err("Invalid save parameters".to_string());
            }
            let mut rules = Vec::new();
            for pair in flat.chunks(2) {
                let (Ok(s), Ok(c)) = (pair[0].parse::<u64>(), pair[1].parse::<u64>()) else {
                    return Err("Invalid save parameters".to_string());
                };
                rules.push((s, c));
            }
            Ok(Val::Save(rules))
        }
        Kind::Bind => {
            let addrs: Vec<String> = args
                .iter()
                .flat_map(|a| a.split_whitespace())
                .map(str::to_string)
                .collect();
            if addrs.is_empty() || addrs.len() > 16 {
                return Err("Too many bind addresses specified.".to_string());
            }
            Ok(Val::Bind(addrs))
        }
        Kind::ReplicaOf => {
            let flat: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
            match flat.as_slice() {
                [] => Ok(Val::ReplicaOf(None)),
                [a, b] if a.eq_ignore_ascii_case("no") && b.eq_ignore_ascii_case("one") => {
                    Ok(Val::ReplicaOf(None))
                }
                [host, port] => port
                    .parse::<u16>()
                    .map(|p| Val::ReplicaOf(Some((host.to_string(), p))))
                    .map_err(|_| "Invalid master port".to_string()),
                _ => Err("wrong number of arguments".to_string()),
            }
        }
        Kind::OutputBufferLimit => {
            let flat: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
            if flat.is_empty() || flat.len() % 4 != 0 {
                return Err("Wrong number of arguments in buffer limit configuration.".to_string());
            }
            let mut limits = match prev {
                Some(Val::Obl(l)) => *l,
                _ => [
                    (0, 0, 0),
                    (268435456, 67108864, 60),
                    (33554432, 8388608, 60),
                ],
            };
            for group in flat.chunks(4) {
                let class = match group[0].to_ascii_lowercase().as_str() {
                    "normal" => 0,
                    "slave" | "replica" => 1,
                    "pubsub" => 2,
                    _ => {
                        return Err(
                            "Invalid client class specified in buffer limit configuration."
                                .to_string(),
                        )
                    }
                };
                let hard = parse_memory(group[1]).filter(|v| *v >= 0);
                let soft = parse_memory(group[2]).filter(|v| *v >= 0);
                let secs = group[3].parse::<u64>().ok();
                let (Some(h), Some(s), Some(t)) = (hard, soft, secs) else {
                    return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".to_string());
                };
                limits[class] = (h as u64, s as u64, t);
            }
            Ok(Val::Obl(limits))
        }
    }
}

/// Shows a value the way CONFIG GET does.
pub fn render(v: &Val) -> String {
    match v {
        Val::Bool(b) => yes_no(*b).to_string(),
        Val::Int(i) => i.to_string(),
        Val::Str(s) => s.clone(),
        Val::Save(rules) => rules
            .iter()
            .map(|(s, c)| format!("{s} {c}"))
            .collect::<Vec<_>>()
            .join(" "),
        Val::Bind(a) => a.join(" "),
        Val::ReplicaOf(None) => String::new(),
        Val::ReplicaOf(Some((h, p))) => format!("{h} {p}"),
        Val::Obl(l) => OBL_CLASSES
            .iter()
            .zip(l.iter())
            .map(|(c, (h, s, t))| format!("{c} {h} {s} {t}"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// A configuration error located in a file, reported the way Redis does.
#[derive(Debug, thiserror::Error)]
#[error("\n*** FATAL CONFIG FILE ERROR (replikv {version}) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{reason}")]
pub struct ConfigError {
    /// The server version.
    pub version: &'static str,
    /// 1-based line in the combined configuration text.
    pub line: usize,
    /// The offending line.
    pub text: String,
    /// Why it was refused.
    pub reason: String,
}

impl Default for Config {
    fn default() -> Self {
        let values = DIRECTIVES
            .iter()
            .map(|d| {
                let args = vec![d.default.to_string()];
                parse_value(d, &args, None).unwrap_or(Val::Str(d.default.to_string()))
            })
            .collect();
        Config {
            values,
            file: None,
            unacted: Vec::new(),
        }
    }
}

/// Turns `--name value ...` options into configuration lines, as Redis does
/// (each `--name` starts a line, the rest are quoted arguments).
pub fn options_to_text(opts: &[String]) -> String {
    let mut out = String::new();
    for o in opts {
        if let Some(name) = o.strip_prefix("--") {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(name);
        } else {
            out.push(' ');
            out.push_str(&quote(o));
        }
    }
    out
}

/// Quotes an argument so `split_args` gives it back unchanged.
pub fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => q.push_str("\\\\"),
            '"' => q.push_str("\\\""),
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            '\t' => q.push_str("\\t"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

impl Config {
    /// Loads an optional config file followed by command-line option text.
    pub fn load(file: Option<&Path>, options: &str) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut text = String::new();
        if let Some(path) = file {
            text = read_with_includes(path, 0).map_err(|reason| ConfigError {
                version: crate::VERSION,
                line: 0,
                text: path.display().to_string(),
                reason,
            })?;
            cfg.file = Some(path.display().to_string());
        }
        if !options.is_empty() {
            text.push('\n');
            text.push_str(options);
        }
        cfg.apply_text(&text)?;
        Ok(cfg)
    }

    /// Applies configuration text line by line.
    pub fn apply_text(&mut self, text: &str) -> Result<(), ConfigError> {
        let mut seen_save = false;
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |reason: String| ConfigError {
                version: crate::VERSION,
                line: n + 1,
                text: line.to_string(),
                reason,
            };
            let line = strip_trailing_comment(line);
            let Some(words) = resp_codec::split_args(line.as_bytes()) else {
                return Err(fail("Unbalanced quotes in configuration line".to_string()));
            };
            let words: Vec<String> = words
                .into_iter()
                .map(|w| String::from_utf8_lossy(&w).into_owned())
                .collect();
            let Some((name, args)) = words.split_first() else {
                continue;
            };
            let lname = name.to_ascii_lowercase();
            if table::IGNORED.contains(&lname.as_str()) {
                continue;
            }
            let Some(d) = table::find(&lname) else {
                return Err(fail(
                    "Bad directive or wrong number of arguments".to_string(),
                ));
            };
            let i = index_of(d);
            // The first `save` line replaces the defaults; later ones add.
            let prev = self.values.get(i).cloned();
            let mut v = parse_value(d, args, prev.as_ref()).map_err(fail)?;
            if let (Kind::Save, Val::Save(new), Some(Val::Save(old))) = (d.kind, &mut v, &prev) {
                if seen_save && !new.is_empty() {
                    let mut all = old.clone();
                    all.append(new);
                    *new = all;
                }
                seen_save = true;
            }
            if !d.acted && !self.unacted.contains(&d.name) {
                self.unacted.push(d.name);
            }
            if let Some(slot) = self.values.get_mut(i) {
                *slot = v;
            }
        }
        Ok(())
    }

    /// The value of a directive.
    pub fn get(&self, name: &str) -> Option<&Val> {
        let d = table::find(name)?;
        self.values.get(index_of(d))
    }

    /// A `yes`/`no` directive.
    pub fn bool(&self, k: key::Flag) -> bool {
        matches!(self.values.get(k.0), Some(Val::Bool(true)))
    }

    /// An integer or byte-count directive.
    pub fn int(&self, k: key::Number) -> i64 {
        match self.values.get(k.0) {
            Some(Val::Int(i)) => *i,
            _ => 0,
        }
    }

    /// A directive as CONFIG GET shows it.
    pub fn str(&self, k: key::Setting) -> String {
        self.values.get(k.0).map(render).unwrap_or_default()
    }

    /// A directive's parsed value.
    pub fn value(&self, k: key::Setting) -> Option<&Val> {
        self.values.get(k.0)
    }

    /// Sets a directive from already-split arguments (no mutability check).
    pub fn set(&mut self, name: &str, args: &[String]) -> Result<(), String> {
        let d = table::find(name).ok_or_else(|| "unknown directive".to_string())?;
        let i = index_of(d);
        let prev = self.values.get(i).cloned();
        let v = parse_value(d, args, prev.as_ref())?;
        if let Some(slot) = self.values.get_mut(i) {
            *slot = v;
        }
        Ok(())
    }

    /// Every (name, value) pair whose name matches a CONFIG GET pattern. A
    /// pattern without wildcards is echoed back as typed, as Redis does.
    pub fn matching(&self, pattern: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if !pattern.contains(['*', '?', '[']) {
            if let Some(v) = self.get(pattern) {
                out.push((pattern.to_string(), render(v)));
            }
            return out;
        }
        for (d, v) in DIRECTIVES.iter().zip(&self.values) {
            if table::HIDDEN.contains(&d.name) {
                continue;
            }
            for name in std::iter::once(&d.name).chain(d.aliases.iter()) {
                if glob_match(pattern.as_bytes(), name.as_bytes(), true) {
                    out.push((name.to_string(), render(v)));
                }
            }
        }
        out
    }
}

/// Drops a `# comment` that follows a directive on the same line (outside
/// quotes, after whitespace). Redis refuses such lines ("wrong number of
/// arguments"), and users' notes are full of them, so accepting them only
/// changes what would otherwise be a start-up failure.
pub fn strip_trailing_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut prev_space = false;
    for (i, ch) in line.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if ch == '\\' && q == '"' {
                    escaped = true;
                } else if ch == q {
                    quote = None;
                }
            }
            None => {
                if ch == '#' && prev_space {
                    return line[..i].trim_end();
                }
                if ch == '"' || ch == '\'' {
                    quote = Some(ch);
                }
            }
        }
        prev_space = ch.is_whitespace();
    }
    line
}

fn read_with_includes(path: &Path, depth: usize) -> Result<String, String> {
    if depth > 16 {
        return Err("Too many nested includes".to_string());
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "Fatal error, can't open config file '{}': {e}",
            path.display()
        )
    })?;
    let mut out = String::new();
    for line in text.lines() {
        let t = line.trim();
        let lower = t.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("include ") {
            let target = t[t.len() - rest.len()..].trim().trim_matches('"');
            out.push_str(&read_with_includes(Path::new(target), depth + 1)?);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse() {
        let c = Config::default();
        assert_eq!(c.int(key::PORT), 6379);
        assert_eq!(c.str(key::SAVE), "3600 1 300 100 60 10000");
        assert!(c.bool(key::REPLICA_READ_ONLY));
        assert_eq!(c.get("slave-read-only"), Some(&Val::Bool(true)));
        assert_eq!(c.int(key::PROTO_MAX_BULK_LEN), 512 * 1024 * 1024);
        assert_eq!(c.str(key::APPENDFSYNC), "everysec");
    }

    #[test]
    fn file_syntax() {
        let mut c = Config::default();
        c.apply_text("port 7000\n# comment\nsave 900 1\nsave 300 10\nrequirepass \"a:b c\"\nmaxmemory 10mb\nslaveof 10.0.0.1 6379\nbind 127.0.0.1 ::1\n")
            .unwrap();
        assert_eq!(c.int(key::PORT), 7000);
        assert_eq!(c.str(key::SAVE), "900 1 300 10");
        assert_eq!(c.str(key::REQUIREPASS), "a:b c");
        assert_eq!(c.int(key::MAXMEMORY), 10 * 1024 * 1024);
        assert_eq!(c.str(key::REPLICAOF), "10.0.0.1 6379");
        assert_eq!(c.str(key::BIND), "127.0.0.1 ::1");
        c.apply_text("save \"\"").unwrap();
        assert_eq!(c.str(key::SAVE), "");
    }

    #[test]
    fn trailing_comments_are_ignored_outside_quotes() {
        assert_eq!(
            strip_trailing_comment("requirepass abc   # 密码"),
            "requirepass abc"
        );
        assert_eq!(
            strip_trailing_comment("requirepass \"a #b\" # c"),
            "requirepass \"a #b\""
        );
        assert_eq!(strip_trailing_comment("requirepass a#b"), "requirepass a#b");
        assert_eq!(strip_trailing_comment("save \"\"\t\t# off"), "save \"\"");
        let mut c = Config::default();
        c.apply_text("requirepass redis:123:456   # pw\nsave \"\"  # off\n")
            .unwrap();
        assert_eq!(c.str(key::REQUIREPASS), "redis:123:456");
        assert_eq!(c.str(key::SAVE), "");
    }

    #[test]
    fn errors_name_line_and_reason() {
        let mut c = Config::default();
        let e = c.apply_text("port 1\nportx 2\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(e.reason, "Bad directive or wrong number of arguments");
        let e = c.apply_text("port abc").unwrap_err();
        assert_eq!(e.reason, "argument couldn't be parsed into an integer");
        let e = c.apply_text("daemonize maybe").unwrap_err();
        assert_eq!(e.reason, "argument must be 'yes' or 'no'");
        let e = c.apply_text("requirepass \"abc").unwrap_err();
        assert_eq!(e.reason, "Unbalanced quotes in configuration line");
    }

    #[test]
    fn options_become_lines() {
        let opts: Vec<String> = ["--port", "7001", "--save", "", "--slaveof", "h", "1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut c = Config::default();
        c.apply_text(&options_to_text(&opts)).unwrap();
        assert_eq!(c.int(key::PORT), 7001);
        assert_eq!(c.str(key::SAVE), "");
        assert_eq!(c.str(key::REPLICAOF), "h 1");
    }

    #[test]
    fn glob_get() {
        let c = Config::default();
        let m = c.matching("repl-backlog-*");
        assert_eq!(m.len(), 2);
    }
}
