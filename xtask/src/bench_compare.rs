//! `cargo xtask bench-compare`: replikv against the reference redis-server
//! on the same machine, alternating between them, with the server pinned to
//! one core and `redis-benchmark` to another.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::tools::{self, have};

/// Options of `bench-compare`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Requests per redis-benchmark run.
    #[arg(long, default_value_t = 200_000)]
    requests: u64,
    /// Rounds; each round runs every case against both servers, and the
    /// median of the rounds is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Parallel client connections.
    #[arg(long, default_value_t = 50)]
    clients: u32,
    /// redis-benchmark tests to run (comma separated).
    #[arg(long, default_value = "set,get")]
    tests: String,
    /// Pipeline depths (comma separated).
    #[arg(long, default_value = "1,16")]
    pipelines: String,
    /// CPU the servers are pinned to.
    #[arg(long, default_value_t = 0)]
    server_cpu: usize,
    /// CPU redis-benchmark is pinned to.
    #[arg(long, default_value_t = 1)]
    client_cpu: usize,
    /// Use the existing release binary instead of building it.
    #[arg(long)]
    no_build: bool,
}

struct Proc {
    child: Child,
    port: u16,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn pinned(cpu: usize, program: &str) -> Command {
    if have("taskset") {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(cpu.to_string()).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn start(program: &str, cpu: usize) -> Result<Proc> {
    let port = free_port()?;
    let dir = std::env::temp_dir().join(format!("replikv-bench-{port}"));
    std::fs::create_dir_all(&dir)?;
    let child = pinned(cpu, program)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    let p = Proc { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let ok = Command::new("redis-cli")
            .args(["-p", &port.to_string(), "ping"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("PONG"));
        if ok {
            return Ok(p);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("{program} did not start on port {port}")
}

/// Runs one redis-benchmark case and returns requests per second.
fn bench(a: &Args, port: u16, test: &str, pipeline: u32) -> Result<f64> {
    let out = pinned(a.client_cpu, "redis-benchmark")
        .args([
            "-p",
            &port.to_string(),
            "-c",
            &a.clients.to_string(),
            "-n",
            &a.requests.to_string(),
            "-P",
            &pipeline.to_string(),
            "-t",
            test,
            "--csv",
        ])
        .output()
        .context("running redis-benchmark")?;
    let text = String::from_utf8_lossy(&out.stdout);
    // Some tests print a preparation row first (LRANGE runs "LPUSH (needed
    // to benchmark LRANGE)"): take the row named after the test itself.
    let wanted = test.to_ascii_uppercase();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(',').map(|f| f.trim_matches('"')).collect();
        let name = fields
            .first()
            .map(|n| n.to_ascii_uppercase())
            .unwrap_or_default();
        if fields.len() >= 2 && (name == wanted || name.starts_with(&format!("{wanted} "))) {
            if let Ok(rps) = fields[1].parse::<f64>() {
                return Ok(rps);
            }
        }
    }
    bail!(
        "could not read redis-benchmark output: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    )
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Runs the comparison and prints the table.
pub fn run(a: &Args) -> Result<()> {
    tools::ensure_redis_tools()?;
    if !a.no_build {
        tools::cargo(&["build", "--release", "-p", "replikv-server"])?;
    }
    let bin = tools::workspace_root().join("target/release/replikv-server");
    let bin = bin.to_string_lossy().to_string();
    let replikv = start(&bin, a.server_cpu)?;
    let redis = start("redis-server", a.server_cpu)?;
    let tests: Vec<&str> = a.tests.split(',').collect();
    let pipelines: Vec<u32> = a
        .pipelines
        .split(',')
        .map(|p| p.parse().context("pipeline depth"))
        .collect::<Result<_>>()?;
    let mut rows = Vec::new();
    for test in &tests {
        for &p in &pipelines {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for round in 0..a.rounds {
                // Alternate which server goes first so drift favours neither.
                if round % 2 == 0 {
                    ours.push(bench(a, replikv.port, test, p)?);
                    theirs.push(bench(a, redis.port, test, p)?);
                } else {
                    theirs.push(bench(a, redis.port, test, p)?);
                    ours.push(bench(a, replikv.port, test, p)?);
                }
            }
            let (o, t) = (median(&mut ours), median(&mut theirs));
            eprintln!("{test} P={p}: replikv {ours:?} redis {theirs:?}");
            rows.push((test.to_uppercase(), p, o, t));
        }
    }
    println!(
        "\nredis-benchmark -c {} -n {} (median of {} rounds; servers on cpu {}, client on cpu {})",
        a.clients, a.requests, a.rounds, a.server_cpu, a.client_cpu
    );
    println!("| test | pipeline | replikv rps | redis rps | replikv/redis |");
    println!("|---|---|---|---|---|");
    for (test, p, o, t) in rows {
        let ratio = if t > 0.0 { o / t } else { 0.0 };
        println!("| {test} | {p} | {o:.0} | {t:.0} | {ratio:.2} |");
    }
    Ok(())
}
