//! Helpers: locating the workspace, running cargo, installing the reference
//! Redis tools.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// Runs cargo with the given arguments in the workspace root.
pub fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    println!("\n$ cargo {}", args.join(" "));
    let status = Command::new(cargo)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(())
}

/// Whether a program is on the PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program} >/dev/null 2>&1"))
        .status()
        .is_ok_and(|s| s.success())
}

/// The Debian packages that provide the reference tools.
const PACKAGES: &[&str] = &["redis-server", "redis-tools", "redis-sentinel"];

/// Makes sure `redis-server`, `redis-cli`, `redis-benchmark` and
/// `redis-sentinel` exist, installing the Debian packages when possible.
pub fn ensure_redis_tools() -> Result<()> {
    let needed = [
        "redis-server",
        "redis-cli",
        "redis-benchmark",
        "redis-sentinel",
    ];
    if needed.iter().all(|p| have(p)) {
        return Ok(());
    }
    println!(
        "reference Redis tools missing; installing {}",
        PACKAGES.join(" ")
    );
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let sudo: &[&str] = if is_root { &[] } else { &["sudo", "-n"] };
    let run = |args: &[&str]| -> bool {
        let mut full: Vec<&str> = sudo.to_vec();
        full.extend_from_slice(args);
        Command::new(full[0])
            .args(&full[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut install = vec!["apt-get", "install", "-y", "--no-install-recommends"];
    install.extend_from_slice(PACKAGES);
    if !run(&install) {
        run(&["apt-get", "update"]);
        run(&install);
    }
    // The Debian package starts a system redis-server on port 6379; tests
    // use their own ports, so it is left alone.
    if !needed.iter().all(|p| have(p)) {
        bail!(
            "the reference Redis tools are required; install the Debian packages: apt-get install -y {}",
            PACKAGES.join(" ")
        );
    }
    Ok(())
}
