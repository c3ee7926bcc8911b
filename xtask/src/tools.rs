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
    install_packages(PACKAGES);
    if !needed.iter().all(|p| have(p)) {
        bail!(
            "the reference Redis tools are required; install the Debian packages: apt-get install -y {}",
            PACKAGES.join(" ")
        );
    }
    Ok(())
}

/// The Python interpreter the client-library tests run (Debian's, which
/// the `python3-redis` package installs into).
pub const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// Whether Debian's Python can import redis-py.
fn have_redis_py() -> bool {
    Command::new(SYSTEM_PYTHON)
        .args(["-c", "import redis"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes sure redis-py is importable by [`SYSTEM_PYTHON`] (the scripting
/// tests run its `Lock`), installing the Debian package when possible.
pub fn ensure_redis_py() -> Result<()> {
    if have_redis_py() {
        return Ok(());
    }
    println!("redis-py missing; installing python3-redis");
    install_packages(&["python3-redis"]);
    if !have_redis_py() {
        bail!("redis-py is required by the tests; install the Debian package: apt-get install -y python3-redis");
    }
    Ok(())
}

/// Installs Debian packages with apt (through `sudo -n` when not root),
/// updating the package lists once if the first try fails.
fn install_packages(packages: &[&str]) {
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
    install.extend_from_slice(packages);
    if !run(&install) {
        run(&["apt-get", "update"]);
        run(&install);
    }
    // The Debian redis-server package starts a system server on port 6379;
    // tests use their own ports, so it is left alone.
}
