//! The `#!lua flags=...` line that opens a script, and the flags it sets.

/// Flags a script declares in its shebang line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScriptFlags(u8);

impl ScriptFlags {
    /// No shebang: the script runs under the pre-7.0 rules.
    pub const COMPAT: ScriptFlags = ScriptFlags(1);
    /// `no-writes`: the script only reads.
    pub const NO_WRITES: ScriptFlags = ScriptFlags(1 << 1);
    /// `allow-oom`: runs even above maxmemory.
    pub const ALLOW_OOM: ScriptFlags = ScriptFlags(1 << 2);
    /// `allow-stale`: runs on a stale replica.
    pub const ALLOW_STALE: ScriptFlags = ScriptFlags(1 << 3);
    /// `no-cluster`: refused in cluster mode.
    pub const NO_CLUSTER: ScriptFlags = ScriptFlags(1 << 4);
    /// `allow-cross-slot-keys`.
    pub const ALLOW_CROSS_SLOT: ScriptFlags = ScriptFlags(1 << 5);

    /// Whether every flag of `other` is set.
    pub fn has(self, other: ScriptFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets of flags.
    pub fn union(self, other: ScriptFlags) -> ScriptFlags {
        ScriptFlags(self.0 | other.0)
    }

    fn with(self, other: ScriptFlags) -> ScriptFlags {
        ScriptFlags(self.0 | other.0)
    }
}

const NAMES: &[(&str, ScriptFlags)] = &[
    ("no-writes", ScriptFlags::NO_WRITES),
    ("allow-oom", ScriptFlags::ALLOW_OOM),
    ("allow-stale", ScriptFlags::ALLOW_STALE),
    ("no-cluster", ScriptFlags::NO_CLUSTER),
    ("allow-cross-slot-keys", ScriptFlags::ALLOW_CROSS_SLOT),
];

/// Reads the shebang of a script body: its flags, and how many bytes the
/// line takes before its newline (the newline stays in the code so line
/// numbers do not move). A body without `#!` is in compatibility mode.
/// The error is the reply text, without its `ERR` code.
pub fn parse(body: &[u8]) -> Result<(ScriptFlags, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((ScriptFlags::COMPAT, 0));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("Invalid script shebang".to_string());
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let parts: Vec<&str> = line.split_ascii_whitespace().collect();
    let Some(engine) = parts.first() else {
        return Err("Invalid engine in script shebang".to_string());
    };
    if *engine != "#!lua" {
        return Err(format!("Unexpected engine in script shebang: {engine}"));
    }
    let mut flags = ScriptFlags::default();
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(format!("Unknown lua shebang option: {part}"));
        };
        for name in list.split(',') {
            match NAMES.iter().find(|(n, _)| *n == name) {
                Some((_, f)) => flags = flags.with(*f),
                None => return Err(format!("Unexpected flag in script shebang: {name}")),
            }
        }
    }
    Ok((flags, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs() {
        assert_eq!(parse(b"return 1"), Ok((ScriptFlags::COMPAT, 0)));
        let (f, n) = parse(b"#!lua flags=no-writes,allow-stale\nreturn 1").unwrap_or_default();
        assert!(f.has(ScriptFlags::NO_WRITES) && f.has(ScriptFlags::ALLOW_STALE));
        assert!(!f.has(ScriptFlags::COMPAT));
        assert_eq!(n, 33);
        assert_eq!(
            parse(b"#!lua\nreturn 1").map(|x| x.0),
            Ok(ScriptFlags::default())
        );
        assert_eq!(
            parse(b"#!lua flags=bad\n").err().as_deref(),
            Some("Unexpected flag in script shebang: bad")
        );
        assert_eq!(
            parse(b"#!py\n").err().as_deref(),
            Some("Unexpected engine in script shebang: #!py")
        );
        assert_eq!(
            parse(b"#!lua name=x\n").err().as_deref(),
            Some("Unknown lua shebang option: name=x")
        );
        assert_eq!(
            parse(b"#!lua").err().as_deref(),
            Some("Invalid script shebang")
        );
    }
}
