//! Tidy checks: the architecture invariants of ARCHITECTURE.md, checked as
//! ordinary tests (`cargo test -p xtask`).

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::tools::workspace_root;

    /// The crates that must stay free of I/O, runtimes and clocks.
    const SANS_IO: &[&str] = &[
        "resp-codec",
        "keyspace",
        "rdb",
        "repl-backlog",
        "replication",
        "scripting",
    ];

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// The source of a file without its test code (every item under
    /// `#[cfg(test)]`, wherever it sits) and without items gated behind an
    /// optional feature (which the default build leaves out); returns the
    /// names of `mod x;` declarations that were cut, whose files are
    /// skipped too.
    fn default_build_source(path: &Path) -> (String, Vec<String>) {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        strip_gated_items(&text)
    }

    fn strip_gated_items(text: &str) -> (String, Vec<String>) {
        let mut out = String::with_capacity(text.len());
        let mut cut_mods = Vec::new();
        let mut rest = text;
        loop {
            let next = ["#[cfg(test)]", "#[cfg(feature"]
                .iter()
                .filter_map(|m| rest.find(m))
                .min();
            let Some(at) = next else {
                out.push_str(rest);
                return (out, cut_mods);
            };
            out.push_str(&rest[..at]);
            let after_attr = match rest[at..].find(']') {
                Some(i) => &rest[at + i + 1..],
                None => "",
            };
            let (item, remainder) = split_item(after_attr);
            let words: Vec<&str> = item.split_whitespace().collect();
            if let Some(i) = words.iter().position(|w| *w == "mod") {
                if let Some(name) = words.get(i + 1) {
                    if name.ends_with(';') {
                        cut_mods.push(name.trim_end_matches(';').to_string());
                    }
                }
            }
            rest = remainder;
        }
    }

    /// Splits off the first item of `src`: up to its matching closing brace,
    /// or its `;` when that comes before any brace. String and character
    /// literals are skipped so their braces do not count.
    fn split_item(src: &str) -> (&str, &str) {
        let bytes = src.as_bytes();
        let mut depth = 0usize;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' {
                        if bytes[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                }
                b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 2,
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return (&src[..=i], &src[i + 1..]);
                    }
                }
                b';' if depth == 0 => return (&src[..=i], &src[i + 1..]),
                _ => {}
            }
            i += 1;
        }
        (src, "")
    }

    /// Every package the default build of `krate` links (normal
    /// dependencies, transitively), from cargo's resolved graph.
    fn resolved_dependencies(krate: &str) -> Vec<String> {
        let out = std::process::Command::new(env!("CARGO"))
            .args([
                "tree", "-p", krate, "-e", "normal", "--prefix", "none", "--format", "{p}",
            ])
            .current_dir(workspace_root())
            .output()
            .unwrap();
        assert!(out.status.success(), "cargo tree -p {krate} failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn test_code_is_cut_per_item() {
        let src = "fn a() {}\n#[cfg(test)]\nmod tests { fn t() { let s = \"}\"; } }\nfn b() { std::fs::read(\"x\"); }\n#[cfg(feature = \"f\")]\npub mod codec;\nfn c() {}\n";
        let (kept, cut) = strip_gated_items(src);
        assert!(kept.contains("fn a()") && kept.contains("fn b()") && kept.contains("fn c()"));
        assert!(kept.contains("std::fs") && !kept.contains("fn t()"));
        assert_eq!(cut, vec!["codec".to_string()]);
    }

    #[test]
    fn protocol_crates_do_no_io() {
        let forbidden_deps = ["tokio", "tokio-util", "anyhow", "mio", "socket2"];
        let forbidden_code = [
            "std::net",
            "std::fs",
            "tokio",
            "thread::spawn",
            "SystemTime::now",
            "Instant::now",
            "std::process",
            "thread_rng",
            "OsRng",
        ];
        let mut problems = Vec::new();
        for krate in SANS_IO {
            for d in resolved_dependencies(krate) {
                if forbidden_deps.contains(&d.as_str()) {
                    problems.push(format!("{krate} links {d}"));
                }
            }
            let src_dir = workspace_root().join("crates").join(krate).join("src");
            let mut files = Vec::new();
            rust_files(&src_dir, &mut files);
            assert!(!files.is_empty(), "{krate} has no sources");
            let mut optional: Vec<PathBuf> = Vec::new();
            let mut kept = Vec::new();
            for f in &files {
                let (src, cut) = default_build_source(f);
                let dir = f.parent().unwrap_or(&src_dir).to_path_buf();
                for m in cut {
                    optional.push(dir.join(format!("{m}.rs")));
                    optional.push(dir.join(&m).join("mod.rs"));
                }
                // Comments may name what the code must not use.
                let code: String = src
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                kept.push((f.clone(), code));
            }
            for (f, src) in kept {
                if optional.contains(&f) {
                    continue;
                }
                for pat in forbidden_code {
                    if src.contains(pat) {
                        problems.push(format!("{} uses {pat}", f.display()));
                    }
                }
            }
        }
        assert!(
            problems.is_empty(),
            "I/O in sans-IO crates:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn replication_knows_neither_keyspace_nor_rdb() {
        let deps = resolved_dependencies("replication");
        for d in ["keyspace", "rdb"] {
            assert!(
                !deps.iter().any(|x| x == d),
                "replication must not depend on {d}: it emits actions instead"
            );
        }
    }

    #[test]
    fn only_the_server_uses_anyhow() {
        for krate in SANS_IO {
            assert!(
                !resolved_dependencies(krate).iter().any(|d| d == "anyhow"),
                "{krate} must use typed errors (thiserror), not anyhow"
            );
        }
    }

    #[test]
    fn libraries_inherit_the_workspace_lints() {
        for krate in SANS_IO.iter().chain(["server"].iter()) {
            let manifest = workspace_root()
                .join("crates")
                .join(krate)
                .join("Cargo.toml");
            let text = std::fs::read_to_string(&manifest).unwrap();
            assert!(
                text.contains("[lints]\nworkspace = true"),
                "{krate} must use the workspace lints (no unwrap/expect/panic)"
            );
        }
    }

    #[test]
    fn codemap_names_every_crate() {
        let arch = std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).unwrap();
        let crates = std::fs::read_dir(workspace_root().join("crates")).unwrap();
        for c in crates.flatten() {
            let name = c.file_name().to_string_lossy().to_string();
            assert!(
                arch.contains(&format!("`crates/{name}`")),
                "ARCHITECTURE.md's codemap does not mention crates/{name}"
            );
        }
    }

    #[test]
    fn readme_test_command_is_what_ci_runs() {
        let root = workspace_root();
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
        assert!(
            readme.contains("cargo xtask test"),
            "README must give the test command"
        );
        assert!(
            ci.contains("cargo xtask test"),
            ".ci/run must run the README's test command"
        );
    }
}
