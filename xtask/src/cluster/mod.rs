//! `cargo xtask cluster-test`: declarative replication scenarios against
//! real `replikv-server` (and reference `redis-server`) processes on
//! 127.0.0.1, with link faults injected by the runner's own TCP proxies.
//!
//! - `scenario`: the TOML format and its validation.
//! - `runner`: one scenario's cluster, its steps and its final checks.
//! - `node`, `proxy`, `load`, `monitor`: processes, link faults, write
//!   load with the WAIT ledger, the INFO sampler and progress view.
//! - `check`: convergence with a key-by-key diff, the promise check.
//! - `report`: `target/cluster-test/report.md`.
//!
//! Users' documentation: `xtask/scenarios/README.md`.

mod check;
mod load;
mod monitor;
mod node;
mod proxy;
mod report;
mod resp;
mod runner;
mod scenario;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use crate::tools;
use report::{ScenarioResult, Verdict};
use runner::{Cluster, Ctx};
use scenario::{Kind, Profile, Scenario};

/// Options of `cluster-test`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenarios: names in xtask/scenarios/, .toml files, or directories
    /// of them. Default: every scenario in xtask/scenarios/.
    scenarios: Vec<String>,
    /// Small loads and few repetitions, for CI.
    #[arg(long, conflicts_with = "long")]
    quick: bool,
    /// Soak run: loads and repetitions times ten.
    #[arg(long)]
    long: bool,
    /// Seed of every load (printed by each run, to replay it).
    #[arg(long)]
    seed: Option<u64>,
    /// Use this replikv-server binary instead of building the release one.
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Do not build; use the existing target/release/replikv-server.
    #[arg(long)]
    no_build: bool,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
    /// Run every node as the reference redis-server: checks that a
    /// scenario's expectations are Redis's own behaviour.
    #[arg(long)]
    all_redis: bool,
}

/// Set by Ctrl-C / SIGTERM: the running step fails at its next check and
/// the cluster is cleaned up as after any failure.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            // A second interrupt: leave now; the next run kills leftovers.
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: stopping the cluster (interrupt again to quit at once)");
    });
}

fn scenario_root() -> PathBuf {
    tools::workspace_root().join("xtask/scenarios")
}

fn toml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    Ok(v)
}

fn find_scenarios(args: &[String]) -> Result<Vec<PathBuf>> {
    if args.is_empty() {
        return toml_files(&scenario_root());
    }
    let mut out = Vec::new();
    for a in args {
        let p = PathBuf::from(a);
        let named = scenario_root().join(format!("{a}.toml"));
        if p.is_dir() {
            out.extend(toml_files(&p)?);
        } else if p.is_file() {
            out.push(p);
        } else if named.is_file() {
            out.push(named);
        } else {
            let known: Vec<String> = toml_files(&scenario_root())?
                .iter()
                .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .collect();
            bail!("no scenario {a:?}; known: {}", known.join(", "));
        }
    }
    Ok(out)
}

/// Runs the scenarios and writes the report.
pub fn run(a: &Args) -> Result<()> {
    let files = find_scenarios(&a.scenarios)?;
    let mut scenarios: Vec<Scenario> = files
        .iter()
        .map(|f| Scenario::load(f))
        .collect::<Result<_>>()?;
    if a.all_redis {
        for s in &mut scenarios {
            s.defaults.kind = Some(Kind::Redis);
            for n in &mut s.nodes {
                n.kind = Some(Kind::Redis);
            }
        }
    }
    if a.list {
        for s in &scenarios {
            println!("{:<28} {}", s.name, s.description);
        }
        return Ok(());
    }
    let profile = if a.quick {
        Profile::Quick
    } else if a.long {
        Profile::Long
    } else {
        Profile::Normal
    };
    if scenarios.iter().any(|s| {
        s.nodes
            .iter()
            .any(|n| n.kind.or(s.defaults.kind) == Some(Kind::Redis))
    }) {
        tools::ensure_redis_tools()?;
    }
    let root = tools::workspace_root();
    let bin = match &a.server_bin {
        Some(b) => b.clone(),
        None => {
            if !a.no_build {
                tools::cargo(&["build", "--release", "-p", "replikv-server"])?;
            }
            root.join("target/release/replikv-server")
        }
    };
    if !bin.is_file() {
        bail!("no server binary at {}", bin.display());
    }
    install_interrupt_handler();
    let out = root.join("target/cluster-test");
    std::fs::create_dir_all(&out)?;
    let _lock = node::RunLock::take(&out.join("run.lock"))?;
    let pids = out.join("pids.txt");
    node::kill_leftovers(&pids);
    let seed = a.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64 % 1_000_000)
            .unwrap_or(1)
    });
    println!(
        "\ncluster-test: {} scenario(s), profile {profile}, seed {seed} (replay with --seed {seed}), server {}",
        scenarios.len(),
        bin.display()
    );
    let started = Instant::now();
    let mut results = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        if INTERRUPTED.load(Ordering::SeqCst) {
            break;
        }
        println!(
            "\n=== {} ({}/{}){} ===",
            s.name,
            i + 1,
            scenarios.len(),
            if s.expect_fail {
                " [expected to fail]"
            } else {
                ""
            }
        );
        if !s.description.is_empty() {
            println!("  {}", s.description);
        }
        let dir = out.join(&s.name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let ctx = Ctx {
            profile,
            seed,
            replikv_bin: bin.clone(),
            dir,
            pids: pids.clone(),
            progress_every: monitor::default_interval(),
        };
        let r = run_one(s, &ctx);
        print_verdict(&r);
        results.push(r);
    }
    let report_path = out.join("report.md");
    report::write(
        &report_path,
        &results,
        profile,
        seed,
        &bin,
        started.elapsed(),
    )?;
    println!("\n{}", report::summary_table(&results));
    println!("report: {}", report_path.display());
    let failed = results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .count();
    if INTERRUPTED.load(Ordering::SeqCst) {
        bail!("interrupted");
    }
    if failed > 0 {
        bail!(
            "{failed} of {} scenario(s) failed; see {}",
            results.len(),
            report_path.display()
        );
    }
    Ok(())
}

fn run_one(s: &Scenario, ctx: &Ctx) -> ScenarioResult {
    let t = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(
        || -> (Vec<String>, Vec<String>, Vec<runner::StepRecord>) {
            let mut cluster = match Cluster::new(s, ctx) {
                Ok(c) => c,
                Err(e) => return (vec![format!("{e:#}")], Vec::new(), Vec::new()),
            };
            let r = cluster.run();
            let mut failures = Vec::new();
            if let Err(e) = &r {
                failures.push(format!("{e:#}"));
            }
            failures.extend(cluster.finish(r.is_ok()));
            (failures, cluster.notes.clone(), cluster.records.clone())
            // The cluster is dropped here: every process and proxy stops.
        },
    ));
    let (failures, notes, steps) = match outcome {
        Ok(o) => o,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            (
                vec![format!("the runner panicked: {msg}")],
                Vec::new(),
                Vec::new(),
            )
        }
    };
    let message = (!failures.is_empty()).then(|| failures.join("\n"));
    let verdict = match (&message, s.expect_fail) {
        (None, false) => Verdict::Pass,
        (Some(_), false) if s.known_bug.is_some() => Verdict::KnownBug,
        (Some(_), false) => Verdict::Fail,
        (None, true) => Verdict::Fail,
        (Some(m), true) => match &s.expect_error {
            Some(want) if !m.contains(want.as_str()) => Verdict::Fail,
            _ => Verdict::ExpectedFail,
        },
    };
    let message = match (&message, s.expect_fail, verdict) {
        (None, true, _) => Some("expected to fail, but every check passed".to_string()),
        (None, false, _) if s.known_bug.is_some() => Some(
            "the known bug did not show: if it is fixed, remove `known_bug` from the scenario"
                .to_string(),
        ),
        (Some(m), true, Verdict::Fail) => Some(format!(
            "failed, but the message lacks {:?}:\n{m}",
            s.expect_error.as_deref().unwrap_or("")
        )),
        _ => message,
    };
    ScenarioResult {
        name: s.name.clone(),
        description: s.description.clone(),
        path: s.path.clone(),
        dir: ctx.dir.clone(),
        verdict,
        secs: t.elapsed().as_secs_f64(),
        message,
        notes,
        steps,
        known_bug: s.known_bug.clone(),
    }
}

fn print_verdict(r: &ScenarioResult) {
    let v = match r.verdict {
        Verdict::Pass => "PASS",
        Verdict::ExpectedFail => "PASS (failed as expected)",
        Verdict::KnownBug => "KNOWN BUG (not counted as a failure)",
        Verdict::Fail => "FAIL",
    };
    println!("--- {}: {v} in {:.1}s", r.name, r.secs);
    if let (Some(b), Verdict::KnownBug) = (&r.known_bug, r.verdict) {
        println!("    known bug: {b}");
    }
    for n in &r.notes {
        println!("    {n}");
    }
    if let Some(m) = &r.message {
        for l in m.lines() {
            println!("    {l}");
        }
        println!("    node logs: {}", r.dir.display());
    }
}
