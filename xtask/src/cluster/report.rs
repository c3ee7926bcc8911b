//! The Markdown report of a run (`target/cluster-test/report.md`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Result;

use super::runner::StepRecord;
use super::scenario::Profile;

/// How a scenario ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every step and check passed.
    Pass,
    /// An `expect_fail` scenario failed with the expected message.
    ExpectedFail,
    /// Failed, as its `known_bug` says it does.
    KnownBug,
    /// Something failed (or an `expect_fail` scenario passed).
    Fail,
}

/// One scenario's outcome.
pub struct ScenarioResult {
    /// Name.
    pub name: String,
    /// Description from the file.
    pub description: String,
    /// The file.
    pub path: PathBuf,
    /// Node directories (logs).
    pub dir: PathBuf,
    /// Verdict.
    pub verdict: Verdict,
    /// Wall time.
    pub secs: f64,
    /// Failure message.
    pub message: Option<String>,
    /// Facts gathered by the checks.
    pub notes: Vec<String>,
    /// Steps run.
    pub steps: Vec<StepRecord>,
    /// The scenario's `known_bug`.
    pub known_bug: Option<String>,
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::ExpectedFail => "PASS (failed as expected)",
        Verdict::KnownBug => "KNOWN BUG (not counted as a failure)",
        Verdict::Fail => "**FAIL**",
    }
}

/// The summary table (also printed at the end of a run).
pub fn summary_table(results: &[ScenarioResult]) -> String {
    let mut s = String::from("| scenario | verdict | time |\n|---|---|---|\n");
    for r in results {
        let _ = writeln!(
            s,
            "| {} | {} | {:.1}s |",
            r.name,
            verdict_word(r.verdict),
            r.secs
        );
    }
    s
}

fn git_rev() -> String {
    Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(crate::tools::workspace_root())
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Writes the report.
pub fn write(
    path: &Path,
    results: &[ScenarioResult],
    profile: Profile,
    seed: u64,
    bin: &Path,
    total: Duration,
) -> Result<()> {
    let mut s = String::new();
    let failed = results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .count();
    let _ = writeln!(s, "# cluster-test report\n");
    let _ = writeln!(
        s,
        "- {} scenario(s), {failed} failed, {:.1}s in all\n- profile `{profile}`, seed `{seed}` \
         (replay: `cargo xtask cluster-test --seed {seed}{}`)\n- server `{}`, revision `{}`\n",
        results.len(),
        total.as_secs_f64(),
        match profile {
            Profile::Quick => " --quick",
            Profile::Normal => "",
            Profile::Long => " --long",
        },
        bin.display(),
        git_rev()
    );
    s.push_str(&summary_table(results));
    for r in results {
        let _ = writeln!(s, "\n## {} — {}\n", r.name, verdict_word(r.verdict));
        if !r.description.is_empty() {
            let _ = writeln!(s, "{}\n", r.description);
        }
        let _ = writeln!(
            s,
            "File `{}`, {:.1}s, node directories and logs in `{}`.\n",
            r.path.display(),
            r.secs,
            r.dir.display()
        );
        if let Some(b) = &r.known_bug {
            let _ = writeln!(s, "Known bug: {b}\n");
        }
        if let Some(m) = &r.message {
            let _ = writeln!(s, "```\n{}\n```\n", m.trim_end());
        }
        if !r.notes.is_empty() {
            let _ = writeln!(s, "Checks:\n");
            for n in &r.notes {
                let _ = writeln!(s, "- {n}");
            }
            s.push('\n');
        }
        if !r.steps.is_empty() {
            let _ = writeln!(
                s,
                "| step | at | took | what | result |\n|---|---|---|---|---|"
            );
            for st in &r.steps {
                let _ = writeln!(
                    s,
                    "| {}{} | {:.1}s | {:.2}s | {} | {} |",
                    st.label,
                    if st.ok { "" } else { " ✗" },
                    st.at,
                    st.secs,
                    st.what.replace('|', "\\|"),
                    st.result.replace('|', "\\|")
                );
            }
        }
    }
    std::fs::write(path, s)?;
    Ok(())
}
