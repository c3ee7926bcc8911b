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

    /// The source of a file with `#[cfg(test)]` modules cut off: tests may
    /// use whatever they need.
    fn non_test_source(path: &Path) -> String {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        match text.find("#[cfg(test)]") {
            Some(i) => text[..i].to_string(),
            None => text,
        }
    }

    fn dependencies(krate: &str) -> String {
        let manifest = workspace_root()
            .join("crates")
            .join(krate)
            .join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let start = text.find("[dependencies]").unwrap();
        let rest = &text[start + "[dependencies]".len()..];
        let end = rest.find("\n[").unwrap_or(rest.len());
        rest[..end].to_string()
    }

    #[test]
    fn protocol_crates_do_no_io() {
        let forbidden_deps = ["tokio", "anyhow", "mio", "socket2"];
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
            let deps = dependencies(krate);
            for d in forbidden_deps {
                if deps.lines().any(|l| l.trim_start().starts_with(d)) {
                    problems.push(format!("{krate} depends on {d}"));
                }
            }
            let mut files = Vec::new();
            rust_files(
                &workspace_root().join("crates").join(krate).join("src"),
                &mut files,
            );
            assert!(!files.is_empty(), "{krate} has no sources");
            for f in files {
                let src = non_test_source(&f);
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
        let deps = dependencies("replication");
        for d in ["keyspace", "rdb"] {
            assert!(
                !deps.lines().any(|l| l.trim_start().starts_with(d)),
                "replication must not depend on {d}: it emits actions instead"
            );
        }
    }

    #[test]
    fn only_the_server_uses_anyhow() {
        for krate in SANS_IO {
            assert!(
                !dependencies(krate).contains("anyhow"),
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
