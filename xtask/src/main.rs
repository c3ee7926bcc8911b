//! Project automation, run as `cargo xtask <command>`.
//!
//! - `test`: installs the reference Redis tools if missing, builds the
//!   server, runs every test, the quick replication scenarios, the lints,
//!   and the benches once as tests.
//! - `bench-compare`: `redis-benchmark` against replikv and the reference
//!   `redis-server`, side by side, each server pinned to one core and the
//!   client to the other.
//! - `cluster-test`: replication scenarios (xtask/scenarios/*.toml) against
//!   real server processes, with link faults and invariant checks.

mod bench_compare;
mod cluster;
mod tidy;
mod tools;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "replikv project automation")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run every test: unit, property, black-box and interop tests, lints,
    /// and each benchmark once.
    Test {
        /// Skip `cargo fmt --check` and `cargo clippy`.
        #[arg(long)]
        no_lint: bool,
        /// Skip running the benchmarks once as tests.
        #[arg(long)]
        no_bench_check: bool,
    },
    /// Compare throughput with the reference redis-server.
    BenchCompare(bench_compare::Args),
    /// Run replication scenarios (xtask/scenarios/*.toml) against real
    /// server processes on 127.0.0.1.
    ClusterTest(cluster::Args),
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Test {
            no_lint,
            no_bench_check,
        } => test(no_lint, no_bench_check),
        Cmd::BenchCompare(args) => bench_compare::run(&args),
        Cmd::ClusterTest(args) => cluster::run(&args),
    }
}

fn test(no_lint: bool, no_bench_check: bool) -> Result<()> {
    tools::ensure_redis_tools()?;
    tools::ensure_redis_py()?;
    let root = tools::workspace_root();
    tools::cargo(&["build", "-p", "replikv-server"])?;
    let bin = root.join("target/debug/replikv-server");
    std::env::set_var("REPLIKV_SERVER_BIN", &bin);
    tools::cargo(&["test", "--workspace", "--all-targets", "--no-fail-fast"])?;
    // The optional `Framed` codecs, which the workspace build leaves out.
    tools::cargo(&[
        "test",
        "-p",
        "resp-codec",
        "--features",
        "tokio-codec",
        "--lib",
    ])?;
    // The replication scenarios, in their quick form (a few minutes).
    println!("\n$ cargo xtask cluster-test --quick");
    let status = std::process::Command::new(std::env::current_exe()?)
        .args(["cluster-test", "--quick"])
        .status()?;
    if !status.success() {
        anyhow::bail!("cluster-test --quick failed (report: target/cluster-test/report.md)");
    }
    if !no_lint {
        tools::cargo(&["fmt", "--all", "--", "--check"])?;
        tools::cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])?;
        tools::cargo(&[
            "clippy",
            "-p",
            "resp-codec",
            "--features",
            "tokio-codec",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])?;
    }
    if !no_bench_check {
        // Each benchmark runs once, so benches keep compiling and working.
        tools::cargo(&["bench", "--workspace", "--", "--test"])?;
    }
    println!("\nall tests passed");
    Ok(())
}
