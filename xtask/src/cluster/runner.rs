//! Runs one scenario: the cluster's processes, proxies and loads, the
//! steps, and the invariant checks at the end. Everything the cluster
//! started is stopped in `Drop`, also when a step fails or panics.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use super::check::{self, check_promises, sync_counters};
use super::load::{Ledger, Load};
use super::monitor::{human, Monitor, Watch};
use super::node::{Node, State};
use super::proxy::Proxy;
use super::resp::{encode, Reply};
use super::scenario::{Condition, Count, Profile, Scenario, Step};

/// Settings shared by every scenario of a run.
pub struct Ctx {
    /// `--quick`, default, `--long`.
    pub profile: Profile,
    /// Seed of every load.
    pub seed: u64,
    /// The replikv binary.
    pub replikv_bin: PathBuf,
    /// Directory of this scenario's nodes.
    pub dir: PathBuf,
    /// File recording started pids (see `node::kill_leftovers`).
    pub pids: PathBuf,
    /// How often the progress line is printed.
    pub progress_every: Duration,
}

/// One executed step, for the report.
#[derive(Clone, Debug)]
pub struct StepRecord {
    /// `3`, `5[2/3].1`.
    pub label: String,
    /// What it did.
    pub what: String,
    /// What came out.
    pub result: String,
    /// Seconds from the scenario start.
    pub at: f64,
    /// Seconds it took.
    pub secs: f64,
    /// Whether it succeeded.
    pub ok: bool,
}

#[derive(Clone, Debug)]
struct Upstream {
    master: String,
    direct: bool,
}

/// A scenario's running cluster.
pub struct Cluster<'a> {
    scen: &'a Scenario,
    ctx: &'a Ctx,
    nodes: Vec<Node>,
    upstream: BTreeMap<String, Option<Upstream>>,
    proxies: BTreeMap<String, Proxy>,
    loads: BTreeMap<String, Load>,
    ledger: Arc<Ledger>,
    monitor: Monitor,
    aliases: BTreeMap<String, String>,
    marks: BTreeMap<String, (u32, (u64, u64, u64))>,
    /// Cuts since the last sync_mark, per master of the cut link.
    cuts: BTreeMap<String, u64>,
    loads_started: u64,
    started: Instant,
    /// Facts for the report (convergence times, promises, peaks).
    pub notes: Vec<String>,
    /// Every executed step.
    pub records: Vec<StepRecord>,
}

impl<'a> Cluster<'a> {
    /// Prepares the nodes (ports, directories); starts nothing.
    pub fn new(scen: &'a Scenario, ctx: &'a Ctx) -> Result<Cluster<'a>> {
        let mut nodes = Vec::new();
        for spec in &scen.nodes {
            nodes.push(Node::new(scen, spec, &ctx.dir, &ctx.replikv_bin)?);
        }
        let upstream = scen
            .nodes
            .iter()
            .map(|n| {
                (
                    n.name.clone(),
                    n.replicaof.as_ref().map(|m| Upstream {
                        master: m.clone(),
                        direct: n.direct,
                    }),
                )
            })
            .collect();
        let monitor = Monitor::start(scen.check.offsets_monotonic, ctx.progress_every);
        let c = Cluster {
            scen,
            ctx,
            nodes,
            upstream,
            proxies: BTreeMap::new(),
            loads: BTreeMap::new(),
            ledger: Arc::new(Ledger::default()),
            monitor,
            aliases: BTreeMap::new(),
            marks: BTreeMap::new(),
            cuts: BTreeMap::new(),
            loads_started: 0,
            started: Instant::now(),
            notes: Vec::new(),
            records: Vec::new(),
        };
        let ports: Vec<String> = c
            .nodes
            .iter()
            .map(|n| format!("{}={} ({})", n.name, n.port, n.kind))
            .collect();
        println!("  nodes: {}  dir: {}", ports.join(", "), ctx.dir.display());
        Ok(c)
    }

    fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn resolve(&self, name: &str) -> Result<String> {
        match name.strip_prefix('@') {
            Some(alias) => {
                self.aliases.get(alias).cloned().ok_or_else(|| {
                    anyhow!("no node is called @{alias} yet (set by a failover step)")
                })
            }
            None => Ok(name.to_string()),
        }
    }

    fn idx(&self, name: &str) -> Result<usize> {
        let name = self.resolve(name)?;
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .ok_or_else(|| anyhow!("unknown node {name:?}"))
    }

    fn node(&self, name: &str) -> Result<&Node> {
        Ok(&self.nodes[self.idx(name)?])
    }

    fn up_node(&self, name: &str) -> Result<&Node> {
        let n = self.node(name)?;
        if !n.is_up() {
            bail!("node {} is not running ({:?})", n.name, n.state);
        }
        Ok(n)
    }

    /// The port a replica connects to for its current upstream: the
    /// master's own port, or the link's proxy (created on first use).
    fn upstream_port(&mut self, replica: &str) -> Result<Option<u16>> {
        let Some(Some(up)) = self.upstream.get(replica).cloned() else {
            return Ok(None);
        };
        let master_port = self.node(&up.master)?.port;
        if up.direct {
            return Ok(Some(master_port));
        }
        let key = format!("{replica}->{}", up.master);
        if !self.proxies.contains_key(&key) {
            let p = Proxy::start(&key, master_port)?;
            println!("    proxy {key}: port {} -> {master_port}", p.port);
            self.proxies.insert(key.clone(), p);
        }
        Ok(self.proxies.get(&key).map(|p| p.port))
    }

    fn proxy(&self, link: &str) -> Result<&Proxy> {
        let key = self.link_key(link)?;
        self.proxies
            .get(&key)
            .ok_or_else(|| anyhow!("link {key} has no proxy (a `direct` link, or never connected)"))
    }

    /// `r1` (r1's current upstream link) or `r1->m`, as `r1->m`.
    fn link_key(&self, link: &str) -> Result<String> {
        let key = match link.split_once("->") {
            Some((a, b)) => format!("{}->{}", self.resolve(a)?, self.resolve(b)?),
            None => {
                let r = self.resolve(link)?;
                match self.upstream.get(&r) {
                    Some(Some(u)) => format!("{r}->{}", u.master),
                    _ => bail!("node {r} has no upstream link now"),
                }
            }
        };
        Ok(key)
    }

    /// Pushes node states to the sampler.
    fn sync_watches(&mut self) {
        let watches: Vec<Watch> = self
            .nodes
            .iter()
            .map(|n| {
                let up = self.upstream.get(&n.name).cloned().flatten();
                let link = up.as_ref().and_then(|u| {
                    self.proxies
                        .get(&format!("{}->{}", n.name, u.master))
                        .map(|p| p.status())
                });
                Watch {
                    name: n.name.clone(),
                    port: n.port,
                    password: n.password.clone(),
                    active: n.is_up(),
                    upstream: up.map(|u| u.master),
                    status: match &n.state {
                        State::NotStarted => "not started".into(),
                        State::Running => "running".into(),
                        State::Paused => "PAUSED".into(),
                        State::Down(w) => format!("down ({w})"),
                        State::Crashed(w) => format!("CRASHED ({w})"),
                    },
                    link,
                }
            })
            .collect();
        let loads = self
            .loads
            .iter()
            .map(|(k, l)| (k.clone(), l.stats.clone()))
            .collect();
        let mut st = self.monitor.lock();
        st.watches = watches;
        st.loads = loads;
    }

    /// Fails when a node died without a step asking for it, or a load
    /// that tolerates no errors saw one.
    fn tick(&mut self) -> Result<()> {
        if super::INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
            bail!("interrupted");
        }
        let mut crashes = Vec::new();
        for n in &mut self.nodes {
            if let Some(why) = n.poll_crash() {
                crashes.push(format!(
                    "node {} ({}, port {}) died without being asked to: {why}\n{}",
                    n.name,
                    n.kind,
                    n.port,
                    n.tail(15)
                ));
            }
        }
        if !crashes.is_empty() {
            self.sync_watches();
            bail!("{}", crashes.join("\n"));
        }
        for l in self.loads.values() {
            if !l.tolerate_errors && l.stats.errors.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                bail!(
                    "load {} on node {} failed: {}",
                    l.name,
                    l.node,
                    l.stats.last_error().unwrap_or_default()
                );
            }
        }
        Ok(())
    }

    fn sleep(&mut self, d: Duration) -> Result<()> {
        let end = Instant::now() + d;
        loop {
            self.tick()?;
            let now = Instant::now();
            if now >= end {
                return Ok(());
            }
            std::thread::sleep((end - now).min(Duration::from_millis(50)));
        }
    }

    /// Runs the script; the first failing step ends it.
    pub fn run(&mut self) -> Result<()> {
        let steps = &self.scen.steps;
        self.run_steps(steps, "")
    }

    fn run_steps(&mut self, steps: &[Step], prefix: &str) -> Result<()> {
        for (i, step) in steps.iter().enumerate() {
            let label = format!("{prefix}{}", i + 1);
            if let Step::Repeat { times, steps } = step {
                let n = times.get(self.ctx.profile).unwrap_or(1);
                for r in 1..=n {
                    self.run_steps(steps, &format!("{label}[{r}/{n}]."))?;
                }
                continue;
            }
            let what = describe(step, self.ctx.profile);
            let at = self.elapsed();
            println!("  [{at:>6.1}s] step {label:<8} {what}");
            let t = Instant::now();
            let r = self.tick().and_then(|_| self.exec(step));
            self.sync_watches();
            let secs = t.elapsed().as_secs_f64();
            match r {
                Ok(result) => {
                    if !result.is_empty() {
                        println!("             {:<8}   -> {result}", "");
                    }
                    self.records.push(StepRecord {
                        label,
                        what,
                        result,
                        at,
                        secs,
                        ok: true,
                    });
                }
                Err(e) => {
                    self.records.push(StepRecord {
                        label: label.clone(),
                        what: what.clone(),
                        result: format!("{e:#}").lines().next().unwrap_or("").to_string(),
                        at,
                        secs,
                        ok: false,
                    });
                    return Err(e.context(format!("step {label} ({what}) failed")));
                }
            }
        }
        Ok(())
    }

    fn start_node(&mut self, name: &str) -> Result<()> {
        let port = self.upstream_port(name)?;
        let i = self.idx(name)?;
        let pids = self.ctx.pids.clone();
        let mut attempts = 0;
        loop {
            let first = self.nodes[i].starts == 0;
            let r = self.nodes[i].start(port, &pids);
            let taken = r.as_ref().err().is_some_and(|e| {
                let t = format!("{e:#}");
                t.contains("Address already in use") || t.contains("address already in use")
            });
            if !(taken && first && attempts < 3) {
                self.sync_watches();
                return r;
            }
            // Another process took the port between its reservation and
            // the bind: move the node, unless a running node already
            // points at the old port directly.
            attempts += 1;
            let name = self.nodes[i].name.clone();
            let direct_users = self.upstream.iter().any(|(n, u)| {
                u.as_ref().is_some_and(|u| u.master == name && u.direct)
                    && self.node(n).is_ok_and(|x| x.has_process())
            });
            if direct_users {
                self.sync_watches();
                return r;
            }
            self.nodes[i].starts = 0;
            self.nodes[i].state = State::NotStarted;
            let new = self.nodes[i].new_port()?;
            for (key, p) in &self.proxies {
                if key.ends_with(&format!("->{name}")) {
                    p.set_target(new);
                }
            }
            println!("    port of {name} was taken by another process; moved to {new}");
        }
    }

    fn exec(&mut self, step: &Step) -> Result<String> {
        match step {
            Step::Start { nodes, wipe } => {
                let names: Vec<String> = if nodes.is_empty() {
                    self.nodes
                        .iter()
                        .filter(|n| !n.has_process())
                        .map(|n| n.name.clone())
                        .collect()
                } else {
                    nodes
                        .iter()
                        .map(|n| self.resolve(n))
                        .collect::<Result<_>>()?
                };
                for n in &names {
                    if *wipe {
                        self.node(n)?.wipe()?;
                    }
                    self.start_node(n)?;
                }
                Ok(String::new())
            }
            Step::Kill { node, signal } => {
                let i = self.idx(node)?;
                let sig = signal.as_deref().unwrap_or("KILL").to_ascii_uppercase();
                let sig = sig.strip_prefix("SIG").unwrap_or(&sig).to_string();
                if !self.nodes[i].has_process() {
                    bail!("node {} is not running", self.nodes[i].name);
                }
                // Stop sampling it first, so no INFO is left hanging.
                let before = std::mem::replace(&mut self.nodes[i].state, State::Down("".into()));
                self.sync_watches();
                self.nodes[i].state = before;
                self.nodes[i].kill(&sig)?;
                Ok(String::new())
            }
            Step::Shutdown { node, mode } => {
                let i = self.idx(node)?;
                self.nodes[i].shutdown(mode.as_deref())?;
                Ok(String::new())
            }
            Step::Restart { node, how, wipe } => {
                let i = self.idx(node)?;
                let name = self.nodes[i].name.clone();
                if self.nodes[i].state == State::Paused {
                    self.nodes[i].signal("CONT")?;
                    self.nodes[i].state = State::Running;
                }
                match how.as_deref().unwrap_or("shutdown") {
                    "kill" if self.nodes[i].has_process() => self.nodes[i].kill("KILL")?,
                    "shutdown" if self.nodes[i].has_process() => self.nodes[i].shutdown(None)?,
                    _ => {}
                }
                self.sync_watches();
                if *wipe {
                    self.nodes[i].wipe()?;
                }
                self.start_node(&name)?;
                Ok(format!("pid {}", self.nodes[i].pid().unwrap_or(0)))
            }
            Step::Replicaof {
                node,
                master,
                direct,
                command,
            } => {
                let name = self.resolve(node)?;
                let cmd = command
                    .as_deref()
                    .unwrap_or("REPLICAOF")
                    .to_ascii_uppercase();
                if master.eq_ignore_ascii_case("no one") {
                    if self.node(&name)?.has_process() {
                        self.up_node(&name)?.cmd(&[cmd.as_str(), "NO", "ONE"])?;
                    }
                    self.upstream.insert(name, None);
                    return Ok(String::new());
                }
                let master = self.resolve(master)?;
                self.upstream.insert(
                    name.clone(),
                    Some(Upstream {
                        master,
                        direct: *direct,
                    }),
                );
                let port = self.upstream_port(&name)?.unwrap_or(0).to_string();
                if !self.node(&name)?.has_process() {
                    // Takes effect as `replicaof` in its config at the next start.
                    return Ok(format!("{name} is down: will start as a replica"));
                }
                self.up_node(&name)?
                    .cmd(&[cmd.as_str(), "127.0.0.1", port.as_str()])?;
                Ok(format!("{cmd} 127.0.0.1 {port}"))
            }
            Step::Cut { link } => {
                self.proxy(link)?.cut();
                let key = self.link_key(link)?;
                let master = key
                    .split_once("->")
                    .map(|(_, m)| m.to_string())
                    .unwrap_or_default();
                let n = self.cuts.entry(master.clone()).or_default();
                *n += 1;
                Ok(format!("cut #{n} of a link into {master} since sync_mark"))
            }
            Step::Stall { link } => {
                self.proxy(link)?.stall();
                Ok(String::new())
            }
            Step::Heal { link } => {
                self.proxy(link)?.heal();
                Ok(String::new())
            }
            Step::Shape {
                link,
                latency,
                bandwidth,
            } => {
                let p = self.proxy(link)?;
                if let Some(l) = latency {
                    p.set_latency(l.0);
                }
                if let Some(b) = bandwidth {
                    p.set_bandwidth(b.0);
                }
                Ok(p.status())
            }
            Step::Pause { node } => {
                let i = self.idx(node)?;
                if !self.nodes[i].is_up() {
                    bail!("node {} is not running", self.nodes[i].name);
                }
                self.nodes[i].state = State::Paused;
                self.sync_watches();
                self.nodes[i].signal("STOP")?;
                Ok(String::new())
            }
            Step::Resume { node } => {
                let i = self.idx(node)?;
                if self.nodes[i].state != State::Paused {
                    bail!("node {} is not paused", self.nodes[i].name);
                }
                self.nodes[i].signal("CONT")?;
                self.nodes[i].state = State::Running;
                Ok(String::new())
            }
            Step::Load(spec) => {
                if self.loads.contains_key(&spec.name) {
                    bail!("a load called {} is already running", spec.name);
                }
                self.loads_started += 1;
                let n = self.up_node(&spec.node)?;
                let seed = self.ctx.seed
                    ^ fnv(&format!(
                        "{}/{}/{}",
                        self.scen.name, spec.name, self.loads_started
                    ));
                let mut load = Load::start(
                    spec,
                    &n.name,
                    n.port,
                    n.password.clone(),
                    self.ctx.profile,
                    seed,
                    self.ledger.clone(),
                )?;
                if spec.background {
                    self.loads.insert(spec.name.clone(), load);
                    return Ok(String::new());
                }
                self.monitor
                    .lock()
                    .loads
                    .push((spec.name.clone(), load.stats.clone()));
                while !load.is_done() {
                    if let Err(e) = self.tick() {
                        let _ = load.stop();
                        return Err(e);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let s = load.join()?;
                Ok(format!(
                    "{} ops in {:.1}s ({:.0}/s), {} errors, {} WAITs",
                    s.ops,
                    s.secs,
                    s.ops as f64 / s.secs.max(0.001),
                    s.errors,
                    s.waits
                ))
            }
            Step::LoadStop { name } => {
                let Some(mut l) = self.loads.remove(name) else {
                    bail!("no running load called {name}");
                };
                let s = l.stop()?;
                Ok(format!(
                    "{} ops in {:.1}s ({:.0}/s), {} errors, {} WAITs",
                    s.ops,
                    s.secs,
                    s.ops as f64 / s.secs.max(0.001),
                    s.errors,
                    s.waits
                ))
            }
            Step::LoadWait { name } => {
                loop {
                    self.tick()?;
                    match self.loads.get(name) {
                        Some(l) if l.is_done() => break,
                        Some(_) => std::thread::sleep(Duration::from_millis(20)),
                        None => bail!("no running load called {name}"),
                    }
                }
                let Some(mut l) = self.loads.remove(name) else {
                    bail!("no running load called {name}");
                };
                let s = l.join()?;
                Ok(format!("{} ops, {} errors", s.ops, s.errors))
            }
            Step::WaitWrites {
                node,
                count,
                replicas,
                batch,
                timeout,
                min_acked,
            } => {
                let count = count.get(self.ctx.profile).unwrap_or(1);
                self.wait_writes(node, count, *replicas, *batch, timeout.0, *min_acked)
            }
            Step::WaitFor { cond, timeout } => {
                let deadline = Instant::now() + timeout.0;
                let t = Instant::now();
                loop {
                    self.tick()?;
                    let (ok, seen) = self.condition(cond)?;
                    if ok {
                        return Ok(format!("after {:.1}s: {seen}", t.elapsed().as_secs_f64()));
                    }
                    if Instant::now() > deadline {
                        bail!(
                            "not true within {:?}: {} (last seen: {seen})",
                            timeout.0,
                            describe_condition(cond)
                        );
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            Step::Expect { cond } => {
                let (ok, seen) = self.condition(cond)?;
                if !ok {
                    bail!("{} is false: {seen}", describe_condition(cond));
                }
                Ok(seen)
            }
            Step::Sleep { duration } => {
                let d = duration.exact(self.ctx.profile).unwrap_or_default();
                self.sleep(d.0)?;
                Ok(String::new())
            }
            Step::Command {
                node,
                args,
                expect,
                expect_error,
            } => {
                let args: Vec<String> = args
                    .iter()
                    .map(|a| self.substitute(a))
                    .collect::<Result<_>>()?;
                let n = self.up_node(node)?;
                let r = n.conn(Duration::from_secs(10))?.cmd(&args)?;
                match (expect, expect_error, &r) {
                    (_, Some(e), Reply::Error(got)) if got.starts_with(e.as_str()) => {}
                    (_, Some(e), _) => {
                        bail!(
                            "node {}: expected an error {e:?}, got {:?}",
                            n.name,
                            r.text()
                        )
                    }
                    (Some(e), None, _) if &r.text() != e => {
                        bail!("node {}: expected {e:?}, got {:?}", n.name, r.text())
                    }
                    (None, None, Reply::Error(e)) => bail!("node {}: {e}", n.name),
                    _ => {}
                }
                Ok(truncate(&r.text(), 100))
            }
            Step::Converge { timeout } => {
                let t = timeout.unwrap_or(self.scen.check.converge_timeout);
                self.converge_all(t.0)
            }
            Step::SyncMark => {
                self.marks.clear();
                for n in self.nodes.iter().filter(|n| n.is_up()) {
                    self.marks
                        .insert(n.name.clone(), (n.starts, sync_counters(n)?));
                }
                self.cuts.clear();
                Ok(String::new())
            }
            Step::ExpectSync {
                node,
                full,
                partial,
                partial_err,
            } => self.expect_sync(node, full, partial, partial_err),
            Step::Failover {
                old,
                candidates,
                alias,
                check_promises,
            } => self.failover(old, candidates, alias, *check_promises),
            Step::CheckPromises { node, min_acks } => {
                let n = self.up_node(node)?;
                let rep = check_promises(n, &self.ledger.all(), *min_acks)?;
                let note = format!(
                    "{}: all {} writes with WAIT >= {min_acks} present ({} weaker writes, {} present)",
                    n.name, rep.promised, rep.weaker, rep.weaker_present
                );
                self.notes.push(note.clone());
                Ok(note)
            }
            Step::Note { text } => Ok(text.clone()),
            Step::Repeat { .. } => Ok(String::new()),
        }
    }

    fn substitute(&self, arg: &str) -> Result<String> {
        let mut out = arg.to_string();
        while let Some(start) = out.find("{port:") {
            let end = out[start..]
                .find('}')
                .map(|e| start + e)
                .ok_or_else(|| anyhow!("unclosed {{port: in {arg:?}"))?;
            let name = &out[start + 6..end];
            let port = self.node(name)?.port;
            out.replace_range(start..=end, &port.to_string());
        }
        Ok(out)
    }

    fn wait_writes(
        &mut self,
        node: &str,
        count: u64,
        replicas: u32,
        batch: u64,
        timeout: Duration,
        min_acked: Option<u32>,
    ) -> Result<String> {
        let n = self.up_node(node)?;
        let name = n.name.clone();
        let mut c = n.conn(timeout + Duration::from_secs(10))?;
        let mut hist: BTreeMap<i64, u64> = BTreeMap::new();
        let mut written = 0;
        while written < count {
            let k = batch.min(count - written);
            let mut buf = Vec::new();
            let mut keys = Vec::new();
            for _ in 0..k {
                let (key, value) = self.ledger.next_key();
                encode(&mut buf, &["SET", key.as_str(), value.as_str()]);
                keys.push((key, value));
            }
            encode(
                &mut buf,
                &[
                    "WAIT",
                    &replicas.to_string(),
                    &timeout.as_millis().to_string(),
                ],
            );
            let replies = c.pipeline(&buf, k as usize + 1)?;
            for r in &replies[..k as usize] {
                if r.is_error() {
                    bail!("node {name}: SET failed: {}", r.text());
                }
            }
            let acks = replies
                .last()
                .and_then(Reply::int)
                .ok_or_else(|| anyhow!("node {name}: WAIT answered {:?}", replies.last()))?;
            if let Some(min) = min_acked {
                if acks < i64::from(min) {
                    bail!(
                        "node {name}: WAIT {replicas} {} returned {acks} after {} (wanted at least {min})",
                        timeout.as_millis(),
                        keys.last().map(|k| k.0.as_str()).unwrap_or("")
                    );
                }
            }
            *hist.entry(acks).or_default() += k;
            self.ledger.record(&name, keys, acks as u32);
            written += k;
            self.tick()?;
        }
        let h: Vec<String> = hist
            .iter()
            .map(|(a, n)| format!("{n} writes acked by {a}"))
            .collect();
        Ok(h.join(", "))
    }

    /// Evaluates a condition: (holds, what was seen).
    fn condition(&self, c: &Condition) -> Result<(bool, String)> {
        let n = self.node(&c.node)?;
        if let Some(text) = &c.log {
            let log = std::fs::read_to_string(n.log_path()).unwrap_or_default();
            let found = log.contains(text.as_str());
            return Ok((
                found,
                if found {
                    "found in log".into()
                } else {
                    "not in log yet".into()
                },
            ));
        }
        if !n.is_up() {
            return Ok((false, format!("node {} is not running", n.name)));
        }
        if c.synced {
            let name = n.name.clone();
            let (root, members, _) = self.group_of(&name);
            let root = self.node(&root)?;
            let members: Vec<&Node> = members
                .iter()
                .map(|m| self.node(m))
                .collect::<Result<_>>()?;
            let st = check::repl_state(root)?;
            let ok = check::in_sync(root, &members)?;
            return Ok((ok, format!("{} offset {}", root.name, st.offset)));
        }
        let field = c.info.as_deref().unwrap_or("");
        let info = match n
            .conn(Duration::from_secs(5))
            .and_then(|mut k| k.info(None))
        {
            Ok(i) => i,
            Err(e) => return Ok((false, format!("{e:#}"))),
        };
        let Some(v) = info.get(field) else {
            return Ok((false, format!("{} has no INFO field {field}", n.name)));
        };
        let mut ok = true;
        if let Some(is) = &c.is {
            ok &= compare(v, is);
        }
        if let Some(sub) = &c.contains {
            ok &= v.contains(sub.as_str());
        }
        Ok((ok, format!("{}: {field}={v}", n.name)))
    }

    fn root_of(&self, name: &str) -> String {
        let mut cur = name.to_string();
        for _ in 0..=self.nodes.len() {
            match self.upstream.get(&cur) {
                Some(Some(u)) => cur = u.master.clone(),
                _ => return cur,
            }
        }
        cur
    }

    /// The root of `name`'s replication tree, its members whose whole
    /// path to the root is up, and notes about the ones left out.
    fn group_of(&self, name: &str) -> (String, Vec<String>, Vec<String>) {
        let root = self.root_of(name);
        let mut members = Vec::new();
        let mut skipped = Vec::new();
        for n in &self.nodes {
            if n.name == root || self.root_of(&n.name) != root {
                continue;
            }
            // Every node on the path (itself included) must be up.
            let mut cur = n.name.clone();
            let mut blocked = None;
            while cur != root {
                if !self.node(&cur).is_ok_and(|x| x.is_up()) {
                    blocked = Some(cur.clone());
                    break;
                }
                cur = match self.upstream.get(&cur) {
                    Some(Some(u)) => u.master.clone(),
                    _ => break,
                };
            }
            match blocked {
                None => members.push(n.name.clone()),
                Some(b) if b == n.name => {
                    skipped.push(format!("{} ({})", n.name, state_word(&n.state)))
                }
                Some(b) => skipped.push(format!("{} (its upstream {b} is not running)", n.name)),
            }
        }
        (root, members, skipped)
    }

    fn converge_all(&mut self, timeout: Duration) -> Result<String> {
        let mut roots: Vec<String> = self.nodes.iter().map(|n| self.root_of(&n.name)).collect();
        roots.sort();
        roots.dedup();
        let mut results = Vec::new();
        for root in roots {
            let (root, members, skipped) = self.group_of(&root);
            let r = self.node(&root)?;
            if !skipped.is_empty() {
                results.push(format!("skipped {}", skipped.join(", ")));
            }
            if members.is_empty() {
                continue;
            }
            if !r.is_up() {
                results.push(format!("group of {root} skipped: {root} is not running"));
                continue;
            }
            let ms: Vec<&Node> = members
                .iter()
                .map(|m| self.node(m))
                .collect::<Result<_>>()?;
            let took = check::converge(r, &ms, timeout)?;
            let digest = r.cmd(&["DEBUG", "DIGEST"])?.text();
            let keys = r.cmd(&["DBSIZE"]).map(|k| k.text()).unwrap_or_default();
            results.push(format!(
                "{root}+{} converged in {:.1}s (offset {}, {keys} keys, digest {}…)",
                members.join("+"),
                took.as_secs_f64(),
                check::repl_state(r)?.offset,
                &digest[..digest.len().min(12)]
            ));
        }
        let s = results.join("; ");
        self.notes.push(format!("convergence: {s}"));
        Ok(s)
    }

    fn expect_sync(
        &mut self,
        node: &str,
        full: &Option<Count>,
        partial: &Option<Count>,
        partial_err: &Option<Count>,
    ) -> Result<String> {
        let n = self.up_node(node)?;
        // Counters restart with the process: without a mark taken in this
        // process's life, count from its start.
        let (base, since) = match self.marks.get(&n.name) {
            Some((starts, base)) if *starts == n.starts => (*base, "sync_mark"),
            _ => ((0, 0, 0), "its start"),
        };
        let now = sync_counters(n)?;
        let (name, log) = (n.name.clone(), n.log_path());
        let d = (
            now.0.saturating_sub(base.0),
            now.1.saturating_sub(base.1),
            now.2.saturating_sub(base.2),
        );
        let cuts = self.cuts.get(&name).copied().unwrap_or(0);
        let seen = format!(
            "{name}: since {since} sync_full +{}, sync_partial_ok +{}, sync_partial_err +{} \
             ({cuts} cuts of links into {name})",
            d.0, d.1, d.2
        );
        let mut bad = Vec::new();
        for (label, exp, v) in [
            ("sync_full", full, d.0),
            ("sync_partial_ok", partial, d.1),
            ("sync_partial_err", partial_err, d.2),
        ] {
            if let Some(e) = exp {
                if !e.matches(v, cuts) {
                    bad.push(format!("{label} +{v}, expected {}", e.describe(cuts)));
                }
            }
        }
        self.notes.push(seen.clone());
        if !bad.is_empty() {
            bail!(
                "unexpected resyncs on {}: {} ({seen}; look for \"Full resync\" / \
                 \"Partial resynchronization\" in {})",
                name,
                bad.join(", "),
                log.display()
            );
        }
        Ok(seen)
    }

    fn failover(
        &mut self,
        old: &str,
        candidates: &[String],
        alias: &str,
        check: bool,
    ) -> Result<String> {
        let old = self.resolve(old)?;
        let mut survivors = Vec::new();
        for c in candidates {
            let name = self.resolve(c)?;
            let n = self.node(&name)?;
            if n.is_up() {
                let st = check::repl_state(n)?;
                survivors.push((name, st.offset));
            }
        }
        let Some(best) = survivors
            .iter()
            .max_by_key(|(_, off)| *off)
            .map(|(n, _)| n.clone())
        else {
            bail!("no candidate of {candidates:?} is running");
        };
        let offsets: Vec<String> = survivors.iter().map(|(n, o)| format!("{n}@{o}")).collect();
        // Replicas of the old master that are not among the survivors are
        // lost with it.
        let lost: Vec<String> = self
            .upstream
            .iter()
            .filter(|(n, u)| {
                u.as_ref().is_some_and(|u| u.master == old)
                    && !survivors.iter().any(|(s, _)| s == *n)
            })
            .map(|(n, _)| n.clone())
            .collect();
        self.node(&best)?.cmd(&["REPLICAOF", "NO", "ONE"])?;
        let direct_before = |c: &Cluster<'_>, n: &str| {
            c.upstream
                .get(n)
                .cloned()
                .flatten()
                .is_some_and(|u| u.direct)
        };
        let best_direct = direct_before(self, &best);
        self.upstream.insert(best.clone(), None);
        self.aliases.insert(alias.to_string(), best.clone());
        let mut out = format!(
            "offsets {}; promoted {best} as @{alias}; lost with {old}: {:?}",
            offsets.join(", "),
            lost
        );
        if check {
            let k = lost.len() as u32 + 1;
            // Writes made on the lost master; WAIT counted its replicas.
            let promises: Vec<_> = self
                .ledger
                .all()
                .into_iter()
                .filter(|p| p.node == old)
                .collect();
            let rep = check_promises(self.node(&best)?, &promises, k)
                .context("a write acknowledged by WAIT was lost")?;
            if rep.promised == 0 {
                self.notes.push(format!(
                    "warning: failover to {best} checked no promise (no write had WAIT >= {k})"
                ));
            }
            let note = format!(
                "promises on {best}: all {} writes with WAIT >= {k} present \
                 (master and {} replica(s) lost); {} writes with fewer acks, {} of them present",
                rep.promised,
                lost.len(),
                rep.weaker,
                rep.weaker_present
            );
            out.push_str("; ");
            out.push_str(&note);
            self.notes.push(note);
        }
        for (name, _) in survivors.iter().filter(|(n, _)| *n != best) {
            let direct = direct_before(self, name) || best_direct;
            self.upstream.insert(
                name.clone(),
                Some(Upstream {
                    master: best.clone(),
                    direct,
                }),
            );
            let port = self.upstream_port(name)?.unwrap_or(0).to_string();
            self.node(name)?
                .cmd(&["REPLICAOF", "127.0.0.1", port.as_str()])?;
            out.push_str(&format!("; {name} now replicates {best}"));
        }
        Ok(out)
    }

    /// The end-of-scenario invariants: no crash, convergence, offsets,
    /// memory. `steps_ok` says whether the script ran to its end (if not,
    /// convergence is not checked).
    pub fn finish(&mut self, steps_ok: bool) -> Vec<String> {
        let mut failures = Vec::new();
        if let Err(e) = self.tick() {
            failures.push(format!("{e:#}"));
        }
        let names: Vec<String> = self.loads.keys().cloned().collect();
        for name in names {
            if let Some(mut l) = self.loads.remove(&name) {
                if let Err(e) = l.stop() {
                    failures.push(format!("{e:#}"));
                }
            }
        }
        self.sync_watches();
        if steps_ok && failures.is_empty() && self.scen.check.converge {
            println!("  [{:>6.1}s] final check: convergence", self.elapsed());
            match self.converge_all(self.scen.check.converge_timeout.0) {
                Ok(s) => println!("             {:<8}   -> {s}", ""),
                Err(e) => failures.push(format!("{e:#}")),
            }
        }
        // Crashes during the final checks count too.
        if let Err(e) = self.tick() {
            failures.push(format!("{e:#}"));
        }
        self.monitor.stop();
        let st = self.monitor.lock();
        if !st.violations.is_empty() {
            failures.push(format!(
                "replication offsets went backwards ({} times), first: {}",
                st.violations.len(),
                st.violations[0]
            ));
        }
        let mut peaks = Vec::new();
        for n in &self.nodes {
            let peak = st.peak_memory.get(&n.name).copied().unwrap_or(0);
            peaks.push(format!("{} {}", n.name, human(peak)));
            let bound = n
                .max_used_memory
                .or(self.scen.check.max_used_memory.map(|s| s.0));
            if let Some(b) = bound {
                if peak > b {
                    failures.push(format!(
                        "node {} used_memory peaked at {} (bound {}; INFO sampled every 200ms)",
                        n.name,
                        human(peak),
                        human(b)
                    ));
                }
            }
        }
        let samples = st.samples;
        drop(st);
        self.notes.push(format!(
            "offsets: {samples} INFO samples, monotonic check {}",
            if self.scen.check.offsets_monotonic {
                "on"
            } else {
                "off"
            }
        ));
        self.notes
            .push(format!("peak used_memory: {}", peaks.join(", ")));
        failures
    }
}

impl Drop for Cluster<'_> {
    fn drop(&mut self) {
        // Loads first (they would only log errors against dying nodes),
        // then the sampler, then the processes; proxies close last.
        self.loads.clear();
        self.monitor.stop();
        for n in &mut self.nodes {
            n.force_kill();
        }
        self.proxies.clear();
    }
}

fn state_word(s: &State) -> String {
    match s {
        State::NotStarted => "not started".into(),
        State::Running => "running".into(),
        State::Paused => "paused".into(),
        State::Down(w) => format!("down: {w}"),
        State::Crashed(w) => format!("crashed: {w}"),
    }
}

/// `actual` against `expected`: a comparison (`">=2"`) when both are
/// numbers, else text equality.
fn compare(actual: &str, expected: &str) -> bool {
    type Cmp = fn(f64, f64) -> bool;
    let ops: [(&str, Cmp); 6] = [
        (">=", |a, b| a >= b),
        ("<=", |a, b| a <= b),
        ("!=", |a, b| a != b),
        (">", |a, b| a > b),
        ("<", |a, b| a < b),
        ("=", |a, b| a == b),
    ];
    for (op, f) in ops {
        if let Some(rest) = expected.strip_prefix(op) {
            if let (Ok(a), Ok(b)) = (actual.trim().parse::<f64>(), rest.trim().parse::<f64>()) {
                return f(a, b);
            }
            return if op == "!=" {
                actual != rest.trim()
            } else {
                actual == rest.trim()
            };
        }
    }
    actual == expected
}

fn describe_condition(c: &Condition) -> String {
    if let Some(l) = &c.log {
        return format!("log of {} contains {l:?}", c.node);
    }
    if c.synced {
        return format!("replication group of {} in sync", c.node);
    }
    let mut s = format!("{}: INFO {}", c.node, c.info.as_deref().unwrap_or(""));
    if let Some(is) = &c.is {
        s.push_str(&format!(" is {is:?}"));
    }
    if let Some(x) = &c.contains {
        s.push_str(&format!(" contains {x:?}"));
    }
    s
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n).collect();
        format!("{t}…")
    }
}

fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// One line saying what a step does.
pub fn describe(step: &Step, p: Profile) -> String {
    match step {
        Step::Start { nodes, wipe } => format!(
            "start {}{}",
            if nodes.is_empty() {
                "all nodes".to_string()
            } else {
                nodes.join(", ")
            },
            if *wipe { " (data wiped)" } else { "" }
        ),
        Step::Kill { node, signal } => {
            format!("kill -{} {node}", signal.as_deref().unwrap_or("KILL"))
        }
        Step::Shutdown { node, mode } => {
            format!(
                "SHUTDOWN {}{node}",
                mode.as_deref().map(|m| format!("{m} ")).unwrap_or_default()
            )
        }
        Step::Restart { node, how, wipe } => format!(
            "restart {node} ({}{})",
            how.as_deref().unwrap_or("shutdown"),
            if *wipe { ", data wiped" } else { "" }
        ),
        Step::Replicaof {
            node,
            master,
            command,
            ..
        } => format!(
            "{} on {node}: {master}",
            command.as_deref().unwrap_or("REPLICAOF")
        ),
        Step::Cut { link } => format!("cut link {link}"),
        Step::Stall { link } => format!("stall link {link}"),
        Step::Heal { link } => format!("heal link {link}"),
        Step::Shape {
            link,
            latency,
            bandwidth,
        } => {
            let mut s = format!("shape link {link}:");
            if let Some(l) = latency {
                s.push_str(&format!(" latency {:?}", l.0));
            }
            if let Some(b) = bandwidth {
                s.push_str(&format!(" bandwidth {}/s", human(b.0)));
            }
            s
        }
        Step::Pause { node } => format!("SIGSTOP {node}"),
        Step::Resume { node } => format!("SIGCONT {node}"),
        Step::Load(l) => {
            let mut s = format!(
                "load {:?} on {}: {} ops/s, pipeline {}, {} keys, {}B values",
                l.name,
                l.node,
                if l.rate == 0 {
                    "max".to_string()
                } else {
                    l.rate.to_string()
                },
                l.pipeline,
                l.keys,
                l.value_size
            );
            if let Some(o) = l.ops.as_ref().and_then(|o| o.get(p)) {
                s.push_str(&format!(", {o} ops"));
            }
            if let Some(d) = l.duration.as_ref().and_then(|d| d.get(p)) {
                s.push_str(&format!(", for {:.1}s", d.0.as_secs_f64()));
            }
            if let Some(w) = &l.wait {
                s.push_str(&format!(", WAIT {} every {}", w.replicas, w.every));
            }
            if l.background {
                s.push_str(", background");
            }
            s
        }
        Step::LoadStop { name } => format!("stop load {name:?}"),
        Step::LoadWait { name } => format!("wait for load {name:?}"),
        Step::WaitWrites {
            node,
            count,
            replicas,
            batch,
            ..
        } => format!(
            "{} writes on {node}, WAIT {replicas} after every {batch}",
            count.get(p).unwrap_or(0)
        ),
        Step::WaitFor { cond, timeout } => {
            format!(
                "wait up to {:?} for {}",
                timeout.0,
                describe_condition(cond)
            )
        }
        Step::Expect { cond } => format!("expect {}", describe_condition(cond)),
        Step::Sleep { duration } => {
            format!("sleep {:?}", duration.exact(p).unwrap_or_default().0)
        }
        Step::Command { node, args, .. } => format!("{node}> {}", args.join(" ")),
        Step::Converge { .. } => "check convergence (DEBUG DIGEST)".into(),
        Step::SyncMark => "mark resync counters".into(),
        Step::ExpectSync { node, .. } => format!("check resync counters of {node}"),
        Step::Failover {
            old, candidates, ..
        } => format!(
            "failover from {old} to the best of {}",
            candidates.join(", ")
        ),
        Step::CheckPromises { node, min_acks } => {
            format!("check writes with WAIT >= {min_acks} on {node}")
        }
        Step::Repeat { .. } => "repeat".into(),
        Step::Note { text } => format!("note: {text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::compare;

    #[test]
    fn compares_numbers_and_text() {
        assert!(compare("2", ">=2"));
        assert!(!compare("1", ">=2"));
        assert!(compare("up", "up"));
        assert!(compare("down", "!=up"));
        assert!(compare("0", "0"));
        assert!(compare("10", "<11"));
    }
}
