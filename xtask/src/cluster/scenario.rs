//! Scenario files: the declarative TOML format of `cargo xtask
//! cluster-test` (described for users in `xtask/scenarios/README.md`).
//!
//! A scenario names its nodes (`[[node]]`), what every node shares
//! (`[defaults]`), the invariants to check (`[check]`) and a script of
//! steps (`[[step]]`, each with a `do = "..."` kind). Parsing rejects
//! unknown fields, and [`Scenario::validate`] rejects references to nodes,
//! links and loads that do not exist, so a typo fails before any process
//! starts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Deserializer};

/// How much work a run does: `--quick` for CI, the default, `--long` for
/// soak runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `--quick`: plain scaled values are multiplied by 0.25.
    Quick,
    /// The default: values as written.
    Normal,
    /// `--long`: plain scaled values are multiplied by 10.
    Long,
}

impl Profile {
    fn factor(self) -> f64 {
        match self {
            Profile::Quick => 0.25,
            Profile::Normal => 1.0,
            Profile::Long => 10.0,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Quick => "quick",
            Profile::Normal => "normal",
            Profile::Long => "long",
        })
    }
}

/// A duration written as `"500ms"`, `"2s"`, `"1.5s"`, `"3m"`, or an
/// integer number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Dur(pub Duration);

impl Dur {
    /// Parses `"500ms"`, `"2s"`, `"1.5s"`, `"3m"`.
    pub fn parse(s: &str) -> Result<Dur> {
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: f64 = num
            .parse()
            .with_context(|| format!("bad duration {s:?} (use e.g. \"500ms\", \"2s\", \"1m\")"))?;
        let secs = match unit.trim() {
            "ms" => n / 1000.0,
            "s" | "" => n,
            "m" | "min" => n * 60.0,
            u => bail!("bad duration unit {u:?} in {s:?} (use ms, s or m)"),
        };
        Ok(Dur(Duration::from_secs_f64(secs)))
    }
}

/// A number or a string, with an error naming what was expected.
fn number_or_text<'de, D: Deserializer<'de>>(
    d: D,
    what: &str,
) -> Result<Result<u64, String>, D::Error> {
    use serde::de::Error;
    match toml::Value::deserialize(d)? {
        toml::Value::Integer(i) if i >= 0 => Ok(Ok(i as u64)),
        toml::Value::String(s) => Ok(Err(s)),
        other => Err(D::Error::custom(format!("expected {what}, found {other}"))),
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match number_or_text(d, "a duration such as \"500ms\" or \"2s\"")? {
            Ok(secs) => Ok(Dur(Duration::from_secs(secs))),
            Err(t) => Dur::parse(&t).map_err(|e| serde::de::Error::custom(format!("{e:#}"))),
        }
    }
}

/// A byte size written as `"16kb"`, `"1mb"`, `"512b"`, or an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

impl Size {
    /// Parses `"16kb"`, `"1mb"`, `"2gb"`, `"100"`.
    pub fn parse(s: &str) -> Result<Size> {
        let l = s.trim().to_ascii_lowercase();
        let split = l.find(|c: char| !c.is_ascii_digit()).unwrap_or(l.len());
        let (num, unit) = l.split_at(split);
        let n: u64 = num
            .parse()
            .with_context(|| format!("bad size {s:?} (use e.g. \"16kb\", \"1mb\")"))?;
        let mul = match unit.trim() {
            "" | "b" => 1,
            "k" | "kb" => 1024,
            "m" | "mb" => 1024 * 1024,
            "g" | "gb" => 1024 * 1024 * 1024,
            u => bail!("bad size unit {u:?} in {s:?}"),
        };
        Ok(Size(n * mul))
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match number_or_text(d, "a size such as \"16kb\" or \"1mb\"")? {
            Ok(b) => Ok(Size(b)),
            Err(t) => Size::parse(&t).map_err(|e| serde::de::Error::custom(format!("{e:#}"))),
        }
    }
}

/// A value that depends on the profile: a plain value is scaled (0.25 for
/// `--quick`, 10 for `--long`), a table `{ quick = .., normal = ..,
/// long = .. }` gives explicit values (a missing profile falls back to
/// `normal`, scaled).
#[derive(Clone, Debug, PartialEq)]
pub enum Scaled<T> {
    /// Scaled with the profile's factor.
    Plain(T),
    /// Explicit per profile.
    Profiles {
        /// For `--quick`.
        quick: Option<T>,
        /// The default profile.
        normal: Option<T>,
        /// For `--long`.
        long: Option<T>,
    },
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Scaled<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match toml::Value::deserialize(d)? {
            toml::Value::Table(t) => {
                let (mut quick, mut normal, mut long) = (None, None, None);
                for (k, v) in t {
                    let parsed: T = v
                        .try_into()
                        .map_err(|e| D::Error::custom(format!("{k}: {}", e.message())))?;
                    match k.as_str() {
                        "quick" => quick = Some(parsed),
                        "normal" => normal = Some(parsed),
                        "long" => long = Some(parsed),
                        other => {
                            return Err(D::Error::custom(format!(
                                "unknown profile {other:?} (quick, normal, long)"
                            )))
                        }
                    }
                }
                Ok(Scaled::Profiles {
                    quick,
                    normal,
                    long,
                })
            }
            v => v
                .try_into()
                .map(Scaled::Plain)
                .map_err(|e| D::Error::custom(e.message())),
        }
    }
}

/// Types a profile can scale.
pub trait Scale: Copy {
    /// `self` times `f`.
    fn scale(self, f: f64) -> Self;
}

impl Scale for u64 {
    fn scale(self, f: f64) -> u64 {
        if self == 0 {
            0
        } else {
            ((self as f64 * f).ceil() as u64).max(1)
        }
    }
}

impl Scale for Dur {
    fn scale(self, f: f64) -> Dur {
        Dur(self.0.mul_f64(f))
    }
}

impl<T: Copy> Scaled<T> {
    /// The value for `p`, a plain value unscaled (sleeps, timeouts).
    pub fn exact(&self, p: Profile) -> Option<T> {
        match self {
            Scaled::Plain(v) => Some(*v),
            Scaled::Profiles {
                quick,
                normal,
                long,
            } => match p {
                Profile::Quick => *quick,
                Profile::Normal => *normal,
                Profile::Long => *long,
            }
            .or(*normal),
        }
    }
}

impl<T: Scale> Scaled<T> {
    /// The value for `p`.
    pub fn get(&self, p: Profile) -> Option<T> {
        match self {
            Scaled::Plain(v) => Some(v.scale(p.factor())),
            Scaled::Profiles {
                quick,
                normal,
                long,
            } => {
                let exact = match p {
                    Profile::Quick => *quick,
                    Profile::Normal => *normal,
                    Profile::Long => *long,
                };
                exact.or_else(|| normal.map(|n| n.scale(p.factor())))
            }
        }
    }
}

/// Which server a node runs.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `target/release/replikv-server`.
    #[default]
    Replikv,
    /// The reference `redis-server` on the PATH.
    Redis,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Replikv => "replikv",
            Kind::Redis => "redis",
        })
    }
}

/// What every node shares.
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Server kind when a node does not say.
    pub kind: Option<Kind>,
    /// Directives for every node (a node's own `config` wins).
    #[serde(default)]
    pub config: BTreeMap<String, toml::Value>,
}

/// One node.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Unique name, used by steps and in messages.
    pub name: String,
    /// `replikv` (default) or `redis`.
    pub kind: Option<Kind>,
    /// Server directives (`"repl-backlog-size" = "16kb"`, `save = ""`,
    /// an array for a directive given several times).
    #[serde(default)]
    pub config: BTreeMap<String, toml::Value>,
    /// Starts as a replica of this node (through a proxy unless `direct`).
    pub replicaof: Option<String>,
    /// Connect to the master directly instead of through the runner's
    /// fault-injecting proxy (link faults are then impossible).
    #[serde(default)]
    pub direct: bool,
    /// Write the configuration to `<dir>/redis.conf` and start the server
    /// with that file instead of `--directive value` options.
    #[serde(default)]
    pub config_file: bool,
    /// Password the runner's own connections use (defaults to the node's
    /// `requirepass`).
    pub password: Option<String>,
    /// Upper bound of INFO `used_memory` during the whole run.
    pub max_used_memory: Option<Size>,
}

/// Invariants checked after every scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checks {
    /// Check that every replication group converges to one DEBUG DIGEST
    /// at the end.
    #[serde(default = "yes")]
    pub converge: bool,
    /// How long convergence may take.
    #[serde(default = "default_converge_timeout")]
    pub converge_timeout: Dur,
    /// Check that sampled replication offsets never go backwards.
    #[serde(default = "yes")]
    pub offsets_monotonic: bool,
    /// Upper bound of INFO `used_memory` for every node.
    pub max_used_memory: Option<Size>,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            converge: true,
            converge_timeout: default_converge_timeout(),
            offsets_monotonic: true,
            max_used_memory: None,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_converge_timeout() -> Dur {
    Dur(Duration::from_secs(20))
}

fn default_timeout() -> Dur {
    Dur(Duration::from_secs(10))
}

fn default_load_name() -> String {
    "load".to_string()
}

fn default_alias() -> String {
    "primary".to_string()
}

fn one() -> u64 {
    1
}

/// WAIT issued by a load every `every` writes; each WAIT-acknowledged write
/// goes into the promise ledger.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitSpec {
    /// `WAIT numreplicas`.
    pub replicas: u32,
    /// A ledger write and a WAIT after every this many operations.
    #[serde(default = "default_wait_every")]
    pub every: u64,
    /// `WAIT ... timeout`.
    #[serde(default = "default_wait_timeout")]
    pub timeout: Dur,
}

fn default_wait_every() -> u64 {
    50
}

fn default_wait_timeout() -> Dur {
    Dur(Duration::from_millis(500))
}

/// A write load.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    /// Name for `load_stop` / `load_wait` and the progress view.
    #[serde(default = "default_load_name")]
    pub name: String,
    /// Node the load writes to.
    pub node: String,
    /// Operations per second; 0 means as fast as the node answers.
    #[serde(default = "default_rate")]
    pub rate: u64,
    /// Commands per round trip.
    #[serde(default = "one")]
    pub pipeline: u64,
    /// Relative weights of the operations (see `load::OPS`); default
    /// `set` only.
    #[serde(default)]
    pub mix: BTreeMap<String, u32>,
    /// Number of distinct keys per operation family.
    #[serde(default = "default_keys")]
    pub keys: u64,
    /// Size of written values in bytes.
    #[serde(default = "default_value_size")]
    pub value_size: u64,
    /// Database the load writes to (SELECT after connecting). The WAIT
    /// ledger is read in database 0, so `wait` needs the default.
    #[serde(default)]
    pub db: u64,
    /// Stop after this many operations.
    pub ops: Option<Scaled<u64>>,
    /// Stop after this long.
    pub duration: Option<Scaled<Dur>>,
    /// Run in the background (stopped by `load_stop`, or when `ops` or
    /// `duration` is reached); otherwise the step waits for the load.
    #[serde(default)]
    pub background: bool,
    /// WAIT-acknowledged ledger writes inside the load.
    pub wait: Option<WaitSpec>,
    /// Errors (a killed master, READONLY after a demotion) are counted
    /// instead of failing the scenario; the load reconnects.
    #[serde(default)]
    pub tolerate_errors: bool,
}

fn default_rate() -> u64 {
    1000
}

fn default_keys() -> u64 {
    1000
}

fn default_value_size() -> u64 {
    32
}

/// A condition on a node: an INFO field, its log, or being in sync.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The node.
    pub node: String,
    /// INFO field to test (`master_link_status`, `connected_slaves`...).
    pub info: Option<String>,
    /// Expected value: text equality, or a comparison `">=2"`, `"<100"`
    /// when both sides are numbers.
    pub is: Option<String>,
    /// The field contains this text.
    pub contains: Option<String>,
    /// The node's log file contains this text.
    pub log: Option<String>,
    /// The node's whole replication group has the same offset as its root.
    #[serde(default)]
    pub synced: bool,
}

/// One step of the script; `do = "<kind>"` selects the variant.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Start nodes (all not yet running when `nodes` is empty) and wait
    /// until they answer PING.
    Start {
        /// Nodes to start.
        #[serde(default)]
        nodes: Vec<String>,
        /// Delete the nodes' snapshots and AOF first (a lost disk).
        #[serde(default)]
        wipe: bool,
    },
    /// Send a signal (default `KILL`, i.e. kill -9).
    Kill {
        /// The node.
        node: String,
        /// Signal name: `KILL`, `TERM`, `INT`, `SEGV`...
        #[serde(default)]
        signal: Option<String>,
    },
    /// `SHUTDOWN [SAVE|NOSAVE]` and wait for the process to exit.
    Shutdown {
        /// The node.
        node: String,
        /// `save`, `nosave`, or nothing (the node's save rules decide).
        #[serde(default)]
        mode: Option<String>,
    },
    /// Stop a node (SHUTDOWN by default, or `how = "kill"`) and start it
    /// again on the same port and directory.
    Restart {
        /// The node.
        node: String,
        /// `shutdown` (default), `kill` (kill -9) or `none` (already down).
        #[serde(default)]
        how: Option<String>,
        /// Delete its snapshot and AOF before starting again.
        #[serde(default)]
        wipe: bool,
    },
    /// `REPLICAOF <master>` (through the link's proxy unless `direct`),
    /// or `REPLICAOF NO ONE` with `master = "no one"`.
    Replicaof {
        /// The node that changes role.
        node: String,
        /// The new master's name, or `"no one"`.
        master: String,
        /// Connect directly instead of through a proxy.
        #[serde(default)]
        direct: bool,
        /// `REPLICAOF` (default) or `SLAVEOF`.
        #[serde(default)]
        command: Option<String>,
    },
    /// Close every connection of a link and refuse new ones.
    Cut {
        /// `"r1"` (r1's current upstream link) or `"r1->m"`.
        link: String,
    },
    /// Freeze a link: connections stay open, no byte moves.
    Stall {
        /// The link.
        link: String,
    },
    /// Undo `cut` and `stall`.
    Heal {
        /// The link.
        link: String,
    },
    /// Add latency or a bandwidth cap to a link (`"0ms"` / 0 removes).
    Shape {
        /// The link.
        link: String,
        /// Delay of every chunk, each direction.
        latency: Option<Dur>,
        /// Bytes per second, each direction; 0 = unlimited.
        bandwidth: Option<Size>,
    },
    /// SIGSTOP.
    Pause {
        /// The node.
        node: String,
    },
    /// SIGCONT.
    Resume {
        /// The node.
        node: String,
    },
    /// A write load.
    Load(LoadSpec),
    /// Stop a background load and check how it went.
    LoadStop {
        /// Load name.
        #[serde(default = "default_load_name")]
        name: String,
    },
    /// Wait until a background load reaches its `ops` / `duration`.
    LoadWait {
        /// Load name.
        #[serde(default = "default_load_name")]
        name: String,
    },
    /// Writes `count` unique keys, `WAIT replicas timeout` after each
    /// `batch`; acknowledged writes go into the promise ledger.
    WaitWrites {
        /// Node written to.
        node: String,
        /// Number of writes.
        count: Scaled<u64>,
        /// `WAIT numreplicas`.
        replicas: u32,
        /// Writes per WAIT.
        #[serde(default = "one")]
        batch: u64,
        /// `WAIT ... timeout`.
        #[serde(default = "default_wait_timeout")]
        timeout: Dur,
        /// Fail when a WAIT returns fewer replicas than this.
        min_acked: Option<u32>,
    },
    /// Wait until a condition holds.
    WaitFor {
        /// The condition.
        #[serde(flatten)]
        cond: Condition,
        /// Give up after this long.
        #[serde(default = "default_timeout")]
        timeout: Dur,
    },
    /// A condition that must hold now.
    Expect {
        /// The condition.
        #[serde(flatten)]
        cond: Condition,
    },
    /// Sleep.
    Sleep {
        /// How long: a plain value is not scaled; a table gives a value
        /// per profile.
        duration: Scaled<Dur>,
    },
    /// Run one command; `{port:NAME}` in an argument is NAME's port.
    Command {
        /// The node.
        node: String,
        /// The command and its arguments.
        args: Vec<String>,
        /// Expected reply text.
        expect: Option<String>,
        /// Expected error prefix.
        expect_error: Option<String>,
    },
    /// Check now that every replication group converges (DEBUG DIGEST).
    Converge {
        /// Bound (default: `[check] converge_timeout`).
        timeout: Option<Dur>,
    },
    /// Record every node's sync_full / sync_partial_ok / sync_partial_err
    /// as the base of `expect_sync`.
    SyncMark,
    /// Check the resync counters of a node since the last `sync_mark`.
    ExpectSync {
        /// The (master) node.
        node: String,
        /// Expected sync_full delta: `0`, `">=1"`, `"1..3"`, `"cuts"`.
        full: Option<Count>,
        /// Expected sync_partial_ok delta.
        partial: Option<Count>,
        /// Expected sync_partial_err delta.
        partial_err: Option<Count>,
    },
    /// Manual failover after losing `old`: promote the candidate with the
    /// highest replication offset (REPLICAOF NO ONE), check the WAIT
    /// promises on it, and re-point the other running candidates to it.
    Failover {
        /// The lost master.
        old: String,
        /// Replicas that may be promoted.
        candidates: Vec<String>,
        /// Name (`@alias`) later steps use for the promoted node.
        #[serde(default = "default_alias")]
        alias: String,
        /// Check the promise ledger on the promoted node.
        #[serde(default = "yes")]
        check_promises: bool,
    },
    /// Check that every write acknowledged by at least `min_acks` replicas
    /// is on `node`.
    CheckPromises {
        /// The node.
        node: String,
        /// Least WAIT result a write needs to be promised.
        min_acks: u32,
    },
    /// Repeat steps.
    Repeat {
        /// How many times (scaled by the profile).
        times: Scaled<u64>,
        /// The steps.
        steps: Vec<Step>,
    },
    /// Print a line in the progress view.
    Note {
        /// The text.
        text: String,
    },
}

impl Step {
    /// The `do = "..."` name.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Start { .. } => "start",
            Step::Kill { .. } => "kill",
            Step::Shutdown { .. } => "shutdown",
            Step::Restart { .. } => "restart",
            Step::Replicaof { .. } => "replicaof",
            Step::Cut { .. } => "cut",
            Step::Stall { .. } => "stall",
            Step::Heal { .. } => "heal",
            Step::Shape { .. } => "shape",
            Step::Pause { .. } => "pause",
            Step::Resume { .. } => "resume",
            Step::Load(_) => "load",
            Step::LoadStop { .. } => "load_stop",
            Step::LoadWait { .. } => "load_wait",
            Step::WaitWrites { .. } => "wait_writes",
            Step::WaitFor { .. } => "wait_for",
            Step::Expect { .. } => "expect",
            Step::Sleep { .. } => "sleep",
            Step::Command { .. } => "command",
            Step::Converge { .. } => "converge",
            Step::SyncMark => "sync_mark",
            Step::ExpectSync { .. } => "expect_sync",
            Step::Failover { .. } => "failover",
            Step::CheckPromises { .. } => "check_promises",
            Step::Repeat { .. } => "repeat",
            Step::Note { .. } => "note",
        }
    }
}

/// What a counter may be: `3`, `">=1"`, `"<=2"`, `"1..3"`, `"cuts"` (the
/// number of `cut` steps, since the last `sync_mark`, of links into the
/// node checked), `"cuts+1"`, `">=cuts"`.
#[derive(Clone, Debug, PartialEq)]
pub struct Count {
    op: CountOp,
    lo: CountValue,
    hi: Option<CountValue>,
    text: String,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum CountOp {
    Eq,
    Ge,
    Le,
    Gt,
    Lt,
    Range,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum CountValue {
    Lit(u64),
    /// The number of cuts, plus this.
    Cuts(u64),
}

impl CountValue {
    fn parse(s: &str) -> Result<CountValue> {
        let s = s.trim();
        let bad = || format!("bad count {s:?} (a number, \"cuts\" or \"cuts+N\")");
        if let Some(rest) = s.strip_prefix("cuts") {
            let plus = match rest.trim().strip_prefix('+') {
                Some(n) => n.trim().parse().with_context(bad)?,
                None if rest.trim().is_empty() => 0,
                None => bail!(bad()),
            };
            return Ok(CountValue::Cuts(plus));
        }
        Ok(CountValue::Lit(s.parse().with_context(bad)?))
    }

    fn value(self, cuts: u64) -> u64 {
        match self {
            CountValue::Lit(n) => n,
            CountValue::Cuts(plus) => cuts + plus,
        }
    }
}

impl Count {
    /// Parses the written form.
    pub fn parse(s: &str) -> Result<Count> {
        let t = s.trim();
        let (op, rest) = if let Some(r) = t.strip_prefix(">=") {
            (CountOp::Ge, r)
        } else if let Some(r) = t.strip_prefix("<=") {
            (CountOp::Le, r)
        } else if let Some(r) = t.strip_prefix('>') {
            (CountOp::Gt, r)
        } else if let Some(r) = t.strip_prefix('<') {
            (CountOp::Lt, r)
        } else if let Some(r) = t.strip_prefix('=') {
            (CountOp::Eq, r)
        } else if t.contains("..") {
            (CountOp::Range, t)
        } else {
            (CountOp::Eq, t)
        };
        let (lo, hi) = if op == CountOp::Range {
            let (a, b) = rest.split_once("..").unwrap_or((rest, rest));
            (CountValue::parse(a)?, Some(CountValue::parse(b)?))
        } else {
            (CountValue::parse(rest)?, None)
        };
        Ok(Count {
            op,
            lo,
            hi,
            text: t.to_string(),
        })
    }

    /// Whether `v` matches, with `cuts` standing for the word "cuts".
    pub fn matches(&self, v: u64, cuts: u64) -> bool {
        let lo = self.lo.value(cuts);
        match self.op {
            CountOp::Eq => v == lo,
            CountOp::Ge => v >= lo,
            CountOp::Le => v <= lo,
            CountOp::Gt => v > lo,
            CountOp::Lt => v < lo,
            CountOp::Range => v >= lo && v <= self.hi.map_or(lo, |h| h.value(cuts)),
        }
    }

    /// The expectation with `cuts` filled in, for messages.
    pub fn describe(&self, cuts: u64) -> String {
        if self.text.contains("cuts") {
            format!("{} (cuts = {cuts})", self.text)
        } else {
            self.text.clone()
        }
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match number_or_text(d, "a count such as 0, \">=1\", \"1..3\" or \"cuts\"")? {
            Ok(n) => Count::parse(&n.to_string()),
            Err(t) => Count::parse(&t),
        }
        .map_err(|e| serde::de::Error::custom(format!("{e:#}")))
    }
}

/// A whole scenario file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name (default: the file name without `.toml`).
    #[serde(default)]
    pub name: String,
    /// One paragraph: what the scenario exercises.
    #[serde(default)]
    pub description: String,
    /// The scenario is meant to fail (runner self-tests); it passes when
    /// it fails, with `expect_error` in the message if given.
    #[serde(default)]
    pub expect_fail: bool,
    /// Text the failure message must contain.
    pub expect_error: Option<String>,
    /// A replikv bug this scenario shows and that is not fixed yet: a
    /// failure is reported as KNOWN BUG without failing the run; a pass
    /// says the marker can go.
    pub known_bug: Option<String>,
    /// What every node shares.
    #[serde(default)]
    pub defaults: Defaults,
    /// Invariants.
    #[serde(default)]
    pub check: Checks,
    /// The nodes.
    #[serde(rename = "node", default)]
    pub nodes: Vec<NodeSpec>,
    /// The script.
    #[serde(rename = "step", default)]
    pub steps: Vec<Step>,
    /// Where it was read from.
    #[serde(skip)]
    pub path: PathBuf,
}

/// The operations a load mix may name.
pub const LOAD_OPS: &[&str] = &[
    "set",
    "get",
    "incr",
    "incrbyfloat",
    "append",
    "del",
    "expire",
    "short_ttl",
    "rpush",
    "lpop",
    "hset",
    "hdel",
    "sadd",
    "srem",
    "zadd",
    "zincrby",
    "multi",
];

impl Scenario {
    /// Parses scenario text; `path` names it in errors and gives the
    /// default name.
    pub fn parse(text: &str, path: &Path) -> Result<Scenario> {
        let mut s: Scenario =
            toml::from_str(text).with_context(|| format!("parsing {}", path.display()))?;
        if s.name.is_empty() {
            s.name = path
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        s.path = path.to_path_buf();
        s.validate()
            .with_context(|| format!("checking {}", path.display()))?;
        Ok(s)
    }

    /// Reads and parses a scenario file.
    pub fn load(path: &Path) -> Result<Scenario> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Scenario::parse(&text, path)
    }

    /// Checks every cross-reference.
    pub fn validate(&self) -> Result<()> {
        if self.nodes.is_empty() {
            bail!("no [[node]]");
        }
        let mut names = BTreeSet::new();
        for n in &self.nodes {
            if n.name.is_empty() || n.name.starts_with('@') || n.name.contains("->") {
                bail!("bad node name {:?}", n.name);
            }
            if !names.insert(n.name.as_str()) {
                bail!("two nodes are called {:?}", n.name);
            }
        }
        for n in &self.nodes {
            if let Some(m) = &n.replicaof {
                if !names.contains(m.as_str()) {
                    bail!("node {}: replicaof names unknown node {m:?}", n.name);
                }
                if m == &n.name {
                    bail!("node {} cannot replicate itself", n.name);
                }
            }
            for (k, v) in n.config.iter().chain(self.defaults.config.iter()) {
                config_values(k, v).with_context(|| format!("node {}", n.name))?;
            }
        }
        let mut loads = BTreeSet::new();
        self.validate_steps(&self.steps, &names, &mut loads)
    }

    fn validate_steps<'a>(
        &'a self,
        steps: &'a [Step],
        names: &BTreeSet<&str>,
        loads: &mut BTreeSet<&'a str>,
    ) -> Result<()> {
        for (i, step) in steps.iter().enumerate() {
            self.validate_step(step, names, loads)
                .with_context(|| format!("step {} ({})", i + 1, step.kind()))?;
        }
        Ok(())
    }

    fn validate_step<'a>(
        &'a self,
        step: &'a Step,
        names: &BTreeSet<&str>,
        loads: &mut BTreeSet<&'a str>,
    ) -> Result<()> {
        let node = |n: &str| -> Result<()> {
            if n.starts_with('@') || names.contains(n) {
                Ok(())
            } else {
                bail!("unknown node {n:?} (nodes: {names:?})")
            }
        };
        let link = |l: &str| -> Result<()> {
            match l.split_once("->") {
                Some((a, b)) => {
                    node(a)?;
                    node(b)
                }
                None => node(l),
            }
        };
        match step {
            Step::Start { nodes, .. } => nodes.iter().try_for_each(|n| node(n))?,
            Step::Kill { node: n, signal } => {
                node(n)?;
                if let Some(s) = signal {
                    if !s.chars().all(|c| c.is_ascii_alphanumeric()) {
                        bail!("bad signal {s:?}");
                    }
                }
            }
            Step::Shutdown { node: n, mode } => {
                node(n)?;
                if let Some(m) = mode {
                    if !matches!(m.as_str(), "save" | "nosave") {
                        bail!("mode must be \"save\" or \"nosave\", not {m:?}");
                    }
                }
            }
            Step::Restart { node: n, how, .. } => {
                node(n)?;
                if let Some(h) = how {
                    if !matches!(h.as_str(), "shutdown" | "kill" | "none") {
                        bail!("how must be \"shutdown\", \"kill\" or \"none\", not {h:?}");
                    }
                }
            }
            Step::Replicaof {
                node: n,
                master,
                command,
                ..
            } => {
                node(n)?;
                if !master.eq_ignore_ascii_case("no one") {
                    node(master)?;
                }
                if let Some(c) = command {
                    if !c.eq_ignore_ascii_case("replicaof") && !c.eq_ignore_ascii_case("slaveof") {
                        bail!("command must be REPLICAOF or SLAVEOF");
                    }
                }
            }
            Step::Cut { link: l } | Step::Stall { link: l } | Step::Heal { link: l } => link(l)?,
            Step::Shape { link: l, .. } => link(l)?,
            Step::Pause { node: n } | Step::Resume { node: n } => node(n)?,
            Step::Load(spec) => {
                node(&spec.node)?;
                for op in spec.mix.keys() {
                    if !LOAD_OPS.contains(&op.as_str()) {
                        bail!("unknown load operation {op:?} (known: {LOAD_OPS:?})");
                    }
                }
                if !spec.background && spec.ops.is_none() && spec.duration.is_none() {
                    bail!("a foreground load needs `ops` or `duration`");
                }
                if spec.pipeline == 0 || spec.keys == 0 {
                    bail!("pipeline and keys must be at least 1");
                }
                if spec.db != 0 && spec.wait.is_some() {
                    bail!("a load with `wait` writes the ledger in database 0: leave `db` out");
                }
                if spec.db > 15 {
                    bail!("db must be 0 to 15");
                }
                loads.insert(spec.name.as_str());
            }
            Step::LoadStop { name } | Step::LoadWait { name } => {
                if !loads.contains(name.as_str()) {
                    bail!("no load called {name:?} was started before");
                }
            }
            Step::WaitWrites { node: n, batch, .. } => {
                node(n)?;
                if *batch == 0 {
                    bail!("batch must be at least 1");
                }
            }
            Step::WaitFor { cond, .. } | Step::Expect { cond } => {
                node(&cond.node)?;
                let kinds = [cond.info.is_some(), cond.log.is_some(), cond.synced];
                if kinds.iter().filter(|k| **k).count() != 1 {
                    bail!("a condition needs exactly one of `info`, `log`, `synced`");
                }
                if cond.info.is_some() && cond.is.is_none() && cond.contains.is_none() {
                    bail!("an `info` condition needs `is` or `contains`");
                }
            }
            Step::Command { node: n, args, .. } => {
                node(n)?;
                if args.is_empty() {
                    bail!("empty command");
                }
            }
            Step::ExpectSync { node: n, .. } | Step::CheckPromises { node: n, .. } => node(n)?,
            Step::Failover {
                old, candidates, ..
            } => {
                node(old)?;
                if candidates.is_empty() {
                    bail!("failover needs candidates");
                }
                candidates.iter().try_for_each(|n| node(n))?;
            }
            Step::Repeat { steps, .. } => self.validate_steps(steps, names, loads)?,
            Step::Sleep { .. } | Step::Converge { .. } | Step::SyncMark | Step::Note { .. } => {}
        }
        Ok(())
    }
}

/// The values of one configuration directive: a string, a number, a
/// boolean (`yes`/`no`), or an array for a directive given several times.
pub fn config_values(key: &str, v: &toml::Value) -> Result<Vec<String>> {
    Ok(match v {
        toml::Value::String(s) => vec![s.clone()],
        toml::Value::Integer(i) => vec![i.to_string()],
        toml::Value::Boolean(b) => vec![if *b { "yes" } else { "no" }.to_string()],
        toml::Value::Array(a) => {
            let mut out = Vec::new();
            for item in a {
                out.extend(config_values(key, item)?);
            }
            out
        }
        other => bail!("directive {key}: unsupported value {other}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
description = "two replicas, one cut"

[defaults]
config = { "repl-diskless-sync-delay" = 0 }

[check]
max_used_memory = "64mb"

[[node]]
name = "m"
config = { "repl-backlog-size" = "16kb", save = "" }

[[node]]
name = "r1"
replicaof = "m"

[[node]]
name = "r2"
kind = "redis"
replicaof = "r1"
direct = true

[[step]]
do = "start"

[[step]]
do = "load"
node = "m"
background = true
mix = { set = 5, rpush = 1 }
wait = { replicas = 1, every = 10 }

[[step]]
do = "repeat"
times = { quick = 1, normal = 3 }
[[step.steps]]
do = "cut"
link = "r1"
[[step.steps]]
do = "sleep"
duration = "500ms"
[[step.steps]]
do = "heal"
link = "r1->m"

[[step]]
do = "load_stop"

[[step]]
do = "wait_for"
node = "r1"
info = "master_link_status"
is = "up"
timeout = "5s"

[[step]]
do = "expect_sync"
node = "m"
full = 0
partial = "cuts"
"#;

    #[test]
    fn parses_a_scenario() {
        let s = Scenario::parse(SAMPLE, Path::new("dir/sample.toml")).unwrap();
        assert_eq!(s.name, "sample");
        assert_eq!(s.nodes.len(), 3);
        assert_eq!(s.nodes[2].kind, Some(Kind::Redis));
        assert!(s.nodes[2].direct);
        assert_eq!(s.check.max_used_memory, Some(Size(64 << 20)));
        assert_eq!(s.check.converge_timeout, Dur(Duration::from_secs(20)));
        assert_eq!(s.steps.len(), 6);
        let Step::Repeat { times, steps } = &s.steps[2] else {
            panic!("not a repeat: {:?}", s.steps[2]);
        };
        assert_eq!(times.get(Profile::Quick), Some(1));
        assert_eq!(times.get(Profile::Normal), Some(3));
        assert_eq!(times.get(Profile::Long), Some(30));
        assert_eq!(steps.len(), 3);
        let Step::Sleep { duration } = &steps[1] else {
            panic!()
        };
        // Sleeps are not scaled.
        assert_eq!(
            duration.exact(Profile::Quick).unwrap().0,
            Duration::from_millis(500)
        );
        let Step::Load(l) = &s.steps[1] else { panic!() };
        assert_eq!(l.mix["set"], 5);
        assert_eq!(l.wait.as_ref().unwrap().every, 10);
        let Step::ExpectSync { full, partial, .. } = &s.steps[5] else {
            panic!()
        };
        assert!(full.as_ref().unwrap().matches(0, 7));
        assert!(partial.as_ref().unwrap().matches(3, 3));
        assert!(!partial.as_ref().unwrap().matches(2, 3));
    }

    fn err(text: &str) -> String {
        format!(
            "{:#}",
            Scenario::parse(text, Path::new("x.toml")).unwrap_err()
        )
    }

    #[test]
    fn rejects_mistakes_readably() {
        let node = "[[node]]\nname = \"m\"\n";
        let e = err(&format!("{node}[[step]]\ndo = \"cut\"\nlink = \"r9\"\n"));
        assert!(
            e.contains("step 1 (cut)") && e.contains("unknown node \"r9\""),
            "{e}"
        );
        let e = err(&format!("{node}[[step]]\ndo = \"explode\"\n"));
        assert!(e.contains("explode"), "{e}");
        let e = err(&format!(
            "{node}[[step]]\ndo = \"kill\"\nnode = \"m\"\nsignl = \"KILL\"\n"
        ));
        assert!(e.contains("signl"), "{e}");
        let e = err(&format!(
            "{node}[[step]]\ndo = \"sleep\"\nduration = \"3 weeks\"\n"
        ));
        assert!(
            e.contains("bad duration unit \"weeks\" in \"3 weeks\""),
            "{e}"
        );
        let e = err(&format!(
            "{node}[[step]]\ndo = \"sleep\"\nduration = {{ quik = \"1s\" }}\n"
        ));
        assert!(e.contains("unknown profile \"quik\""), "{e}");
        let e = err(&format!(
            "{node}[[step]]\ndo = \"expect_sync\"\nnode = \"m\"\nfull = \"lots\"\n"
        ));
        assert!(e.contains("bad count \"lots\""), "{e}");
        let e = err(&format!(
            "{node}[[step]]\ndo = \"load_stop\"\nname = \"bg\"\n"
        ));
        assert!(e.contains("no load called \"bg\""), "{e}");
        let e = err(&format!(
            "{node}[[step]]\ndo = \"load\"\nnode = \"m\"\nmix = {{ sett = 1 }}\nops = 5\n"
        ));
        assert!(e.contains("unknown load operation \"sett\""), "{e}");
        let e = err("[[node]]\nname = \"m\"\nreplicaof = \"x\"\n");
        assert!(e.contains("unknown node \"x\""), "{e}");
        let e = err(&format!(
            "{node}[[step]]\ndo = \"wait_for\"\nnode = \"m\"\ninfo = \"role\"\n"
        ));
        assert!(e.contains("needs `is` or `contains`"), "{e}");
    }

    #[test]
    fn counts_sizes_and_durations() {
        let c = Count::parse("1..3").unwrap();
        assert!(c.matches(2, 0) && !c.matches(4, 0));
        assert!(Count::parse(">=cuts").unwrap().matches(5, 4));
        assert!(Count::parse("cuts+1").unwrap().matches(5, 4));
        assert!(Count::parse("cuts + 1").unwrap().matches(5, 4));
        assert!(Count::parse("cutsy").is_err());
        assert!(Count::parse("<2").unwrap().matches(1, 0));
        assert!(Count::parse("lots").is_err());
        assert_eq!(Size::parse("16kb").unwrap(), Size(16384));
        assert_eq!(Size::parse("1mb").unwrap(), Size(1 << 20));
        assert_eq!(Dur::parse("1.5s").unwrap().0, Duration::from_millis(1500));
        assert_eq!(Dur::parse("2m").unwrap().0, Duration::from_secs(120));
        assert_eq!(
            config_values(
                "save",
                &toml::Value::Array(vec!["900 1".into(), "60 100".into()])
            )
            .unwrap(),
            vec!["900 1".to_string(), "60 100".to_string()]
        );
    }

    #[test]
    fn every_shipped_scenario_parses() {
        let root = crate::tools::workspace_root().join("xtask/scenarios");
        let mut found = 0;
        for dir in [root.clone(), root.join("selftest")] {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "toml") {
                    Scenario::load(&p).unwrap_or_else(|e| panic!("{e:#}"));
                    found += 1;
                }
            }
        }
        assert!(found >= 10, "only {found} scenarios");
    }
}
