//! One server process: its directory, port and configuration, starting it
//! (command-line options or a config file, foreground or daemonized),
//! signals, and noticing when it died without being asked to.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::resp::{Conn, Reply};
use super::scenario::{config_values, Kind, NodeSpec, Scenario};

/// What the runner knows about a node's process.
#[derive(Clone, Debug, PartialEq)]
pub enum State {
    /// Never started.
    NotStarted,
    /// Running and not stopped.
    Running,
    /// SIGSTOPped by a step.
    Paused,
    /// Stopped by a step (kill, shutdown).
    Down(String),
    /// Exited without a step asking for it.
    Crashed(String),
}

enum Proc {
    Child(Child),
    Daemon(u32),
}

/// A node of the cluster under test.
pub struct Node {
    /// Name from the scenario.
    pub name: String,
    /// replikv or redis.
    pub kind: Kind,
    /// Its port on 127.0.0.1, kept across restarts.
    pub port: u16,
    /// Its working directory (`dir`), log and config file.
    pub dir: PathBuf,
    /// Password the runner authenticates with.
    pub password: Option<String>,
    /// Process state.
    pub state: State,
    /// How many times it was started.
    pub starts: u32,
    /// Upper bound of `used_memory`, if checked.
    pub max_used_memory: Option<u64>,
    bin: PathBuf,
    config: Vec<(String, String)>,
    config_file: bool,
    daemonize: bool,
    proc: Option<Proc>,
    pid: Option<u32>,
    /// Holds the port until the first start, so nothing else takes it.
    reservation: Option<socket2::Socket>,
}

/// Directives the runner sets unless the scenario does: fast diskless
/// syncs, DEBUG DIGEST, and no snapshots unless asked for.
const RUNNER_DEFAULTS: &[(&str, &str)] = &[
    ("repl-diskless-sync-delay", "0"),
    ("enable-debug-command", "yes"),
    ("save", ""),
    ("appendonly", "no"),
    ("protected-mode", "no"),
];

/// Reserves a free port on 127.0.0.1 with a bound TCP socket that does not
/// listen: connections to it are refused (as to a node not started yet),
/// and neither `bind(0)` nor outgoing connections get the port until the
/// socket is dropped, just before the node binds it.
pub fn reserve_port() -> Result<(u16, socket2::Socket)> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    s.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    let port = s
        .local_addr()?
        .as_socket()
        .map(|a| a.port())
        .context("reserved socket has no port")?;
    Ok((port, s))
}

impl Node {
    /// A node from its spec; nothing starts yet.
    pub fn new(scen: &Scenario, spec: &NodeSpec, root: &Path, replikv_bin: &Path) -> Result<Node> {
        let kind = spec.kind.or(scen.defaults.kind).unwrap_or_default();
        let mut merged: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in RUNNER_DEFAULTS {
            merged.insert(k.to_string(), vec![v.to_string()]);
        }
        for (k, v) in scen.defaults.config.iter().chain(spec.config.iter()) {
            merged.insert(k.to_ascii_lowercase(), config_values(k, v)?);
        }
        for fixed in ["port", "dir", "logfile", "bind"] {
            if merged.contains_key(fixed) {
                bail!(
                    "node {}: `{fixed}` is set by the runner; remove it from the config",
                    spec.name
                );
            }
        }
        let daemonize = merged
            .get("daemonize")
            .is_some_and(|v| v.iter().any(|x| x == "yes"));
        let password = spec.password.clone().or_else(|| {
            merged
                .get("requirepass")
                .and_then(|v| v.last().cloned())
                .filter(|p| !p.is_empty())
        });
        let dir = root.join(&spec.name);
        if daemonize && !merged.contains_key("pidfile") {
            merged.insert(
                "pidfile".into(),
                vec![dir.join("server.pid").to_string_lossy().into_owned()],
            );
        }
        let mut config = Vec::new();
        for (k, vs) in merged {
            for v in vs {
                config.push((k.clone(), v));
            }
        }
        let bin = match kind {
            Kind::Replikv => replikv_bin.to_path_buf(),
            Kind::Redis => PathBuf::from("redis-server"),
        };
        let (port, reservation) = reserve_port()?;
        Ok(Node {
            name: spec.name.clone(),
            kind,
            port,
            dir,
            password,
            state: State::NotStarted,
            starts: 0,
            max_used_memory: spec.max_used_memory.map(|s| s.0),
            bin,
            config,
            config_file: spec.config_file,
            daemonize,
            proc: None,
            pid: None,
            reservation: Some(reservation),
        })
    }

    /// Moves a never-started node to a fresh port (its first one was
    /// taken by someone else).
    pub fn new_port(&mut self) -> Result<u16> {
        let (port, reservation) = reserve_port()?;
        self.port = port;
        self.reservation = Some(reservation);
        Ok(port)
    }

    /// The server's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// Whether the runner expects the process to answer.
    pub fn is_up(&self) -> bool {
        self.state == State::Running
    }

    /// Whether a process exists (running or paused).
    pub fn has_process(&self) -> bool {
        matches!(self.state, State::Running | State::Paused)
    }

    /// The process id while it has one.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// A connection with the node's password.
    pub fn conn(&self, timeout: Duration) -> Result<Conn> {
        Conn::connect(self.port, self.password.as_deref(), timeout)
            .with_context(|| format!("node {} (port {})", self.name, self.port))
    }

    /// One command on a fresh connection; an error reply is an `Err`.
    pub fn cmd<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<Reply> {
        let mut c = self.conn(Duration::from_secs(10))?;
        let r = c.cmd(args)?;
        let shown: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
            .collect();
        r.ok()
            .with_context(|| format!("node {}: {}", self.name, shown.join(" ")))
    }

    /// The last `n` lines of the log and of stdout/stderr, for messages.
    pub fn tail(&self, n: usize) -> String {
        let mut out = String::new();
        for (label, p) in [
            ("log", self.log_path()),
            ("stdout/stderr", self.dir.join("stdout.txt")),
        ] {
            let text = fs::read_to_string(&p).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            if lines.is_empty() {
                continue;
            }
            let start = lines.len().saturating_sub(n);
            out.push_str(&format!(
                "      --- last lines of {} ({label}) ---\n",
                p.display()
            ));
            for l in &lines[start..] {
                out.push_str("      | ");
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    fn directives(&self, replicaof: Option<u16>) -> Vec<(String, String)> {
        let mut d = vec![
            ("port".to_string(), self.port.to_string()),
            ("bind".to_string(), "127.0.0.1".to_string()),
            ("dir".to_string(), self.dir.to_string_lossy().into_owned()),
            (
                "logfile".to_string(),
                self.log_path().to_string_lossy().into_owned(),
            ),
        ];
        d.extend(self.config.iter().cloned());
        if let Some(p) = replicaof {
            d.push(("replicaof".to_string(), format!("127.0.0.1 {p}")));
        }
        d
    }

    /// Starts the process (replicating from `replicaof` if given) and waits
    /// until it answers PING; on failure the error quotes its log.
    pub fn start(&mut self, replicaof: Option<u16>, pids: &Path) -> Result<()> {
        if self.has_process() {
            bail!("node {} is already running", self.name);
        }
        fs::create_dir_all(&self.dir)?;
        let directives = self.directives(replicaof);
        let mut cmd = Command::new(&self.bin);
        if self.config_file {
            let conf = self.dir.join("redis.conf");
            let mut text = String::from("# written by cargo xtask cluster-test\n");
            for (k, v) in &directives {
                let v = if v.is_empty() { "\"\"" } else { v.as_str() };
                text.push_str(&format!("{k} {v}\n"));
            }
            fs::write(&conf, text)?;
            cmd.arg(&conf);
        } else {
            for (k, v) in &directives {
                cmd.arg(format!("--{k}")).arg(v);
            }
        }
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("stdout.txt"))?;
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .current_dir(&self.dir);
        // Release the reserved port at the last moment.
        self.reservation = None;
        let child = cmd
            .spawn()
            .with_context(|| format!("node {}: starting {}", self.name, self.bin.display()))?;
        self.starts += 1;
        self.pid = Some(child.id());
        self.proc = Some(Proc::Child(child));
        self.state = State::Running;
        let deadline = Instant::now() + Duration::from_secs(15);
        if self.daemonize {
            self.adopt_daemon(deadline)?;
        }
        if let Some(pid) = self.pid {
            record_pid(pids, pid, &self.dir);
        }
        loop {
            if let Some(why) = self.exited() {
                self.state = State::Crashed(why.clone());
                bail!(
                    "node {} ({}) exited during startup: {why}\n{}",
                    self.name,
                    self.kind,
                    self.tail(12)
                );
            }
            match self.conn(Duration::from_secs(2)).and_then(|mut c| {
                let r = c.cmd(&["PING"])?;
                Ok(r)
            }) {
                Ok(Reply::Status(s)) if s == "PONG" => return Ok(()),
                Ok(Reply::Error(e)) if e.starts_with("LOADING") => {}
                Ok(r) => bail!("node {}: PING answered {}", self.name, r.text()),
                Err(_) => {}
            }
            if Instant::now() > deadline {
                bail!(
                    "node {} did not answer PING on port {} within 15s\n{}",
                    self.name,
                    self.port,
                    self.tail(12)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A daemonizing server's first process exits at once; the pid file
    /// names the server.
    fn adopt_daemon(&mut self, deadline: Instant) -> Result<()> {
        let Some(Proc::Child(mut child)) = self.proc.take() else {
            return Ok(());
        };
        let status = child.wait()?;
        if !status.success() {
            self.state = State::Crashed(format!("{status}"));
            bail!(
                "node {} ({}) exited during startup: {status}\n{}",
                self.name,
                self.kind,
                self.tail(12)
            );
        }
        let pidfile = self
            .config
            .iter()
            .rev()
            .find(|(k, _)| k == "pidfile")
            .map(|(_, v)| PathBuf::from(v))
            .unwrap_or_else(|| self.dir.join("server.pid"));
        loop {
            if let Some(pid) = fs::read_to_string(&pidfile)
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok())
            {
                if process_alive(pid) {
                    self.pid = Some(pid);
                    self.proc = Some(Proc::Daemon(pid));
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                self.state = State::Crashed("no pid file".into());
                bail!(
                    "node {}: daemonized, but {} names no running process\n{}",
                    self.name,
                    pidfile.display(),
                    self.tail(12)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// If the process is gone, how it ended.
    pub fn exited(&mut self) -> Option<String> {
        match &mut self.proc {
            None => Some("no process".into()),
            Some(Proc::Child(c)) => match c.try_wait() {
                Ok(Some(status)) => Some(describe_status(status)),
                Ok(None) => None,
                Err(e) => Some(format!("wait failed: {e}")),
            },
            Some(Proc::Daemon(pid)) => {
                if process_alive(*pid) {
                    None
                } else {
                    Some("daemon process is gone".into())
                }
            }
        }
    }

    /// Notices an unexpected exit; returns the crash description once.
    pub fn poll_crash(&mut self) -> Option<String> {
        if !self.has_process() {
            return None;
        }
        let why = self.exited()?;
        self.state = State::Crashed(why.clone());
        self.proc = None;
        self.pid = None;
        Some(why)
    }

    /// Deletes the node's snapshots and append-only files (not its log).
    pub fn wipe(&self) -> Result<()> {
        if self.has_process() {
            bail!(
                "node {} is running; stop it before wiping its data",
                self.name
            );
        }
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Ok(());
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".rdb") || name.ends_with(".aof") {
                fs::remove_file(&p)?;
            } else if name == "appendonlydir" {
                fs::remove_dir_all(&p)?;
            }
        }
        Ok(())
    }

    /// Sends a signal with kill(1).
    pub fn signal(&self, sig: &str) -> Result<()> {
        let Some(pid) = self.pid else {
            bail!("node {} has no process", self.name);
        };
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(pid.to_string())
            .status()
            .context("running kill")?;
        if !st.success() {
            bail!("kill -{sig} {pid} (node {}) failed", self.name);
        }
        Ok(())
    }

    /// Waits until the process is gone.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(why) = self.exited() {
                self.proc = None;
                self.pid = None;
                return Ok(why);
            }
            if Instant::now() > deadline {
                bail!("node {} did not exit within {timeout:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// kill -<sig> and wait for the exit; the node is then down.
    pub fn kill(&mut self, sig: &str) -> Result<()> {
        if self.state == State::Paused && sig != "KILL" {
            self.signal("CONT")?;
        }
        self.signal(sig)?;
        let why = self.wait_exit(Duration::from_secs(20))?;
        self.state = State::Down(format!("killed with SIG{sig} ({why})"));
        Ok(())
    }

    /// SHUTDOWN [SAVE|NOSAVE] and wait for the exit.
    pub fn shutdown(&mut self, mode: Option<&str>) -> Result<()> {
        let mut c = self.conn(Duration::from_secs(10))?;
        let mut args = vec!["SHUTDOWN".to_string()];
        if let Some(m) = mode {
            args.push(m.to_ascii_uppercase());
        }
        // A successful SHUTDOWN closes the connection without a reply.
        if let Ok(Reply::Error(e)) = c.cmd(&args) {
            bail!("node {}: SHUTDOWN failed: {e}", self.name);
        }
        let why = self.wait_exit(Duration::from_secs(30))?;
        self.state = State::Down(format!("shut down ({why})"));
        Ok(())
    }

    /// SIGKILL whatever is left (cleanup; also continues a paused process
    /// first so it can die).
    pub fn force_kill(&mut self) {
        if let Some(pid) = self.pid {
            let _ = Command::new("kill")
                .arg("-CONT")
                .arg(pid.to_string())
                .stderr(Stdio::null())
                .status();
        }
        match self.proc.take() {
            Some(Proc::Child(mut c)) => {
                let _ = c.kill();
                let _ = c.wait();
            }
            Some(Proc::Daemon(pid)) => {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(pid.to_string())
                    .stderr(Stdio::null())
                    .status();
            }
            None => {}
        }
        self.pid = None;
    }
}

fn describe_status(s: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(sig)) => format!("killed by signal {sig}{}", signal_name(sig)),
        _ => format!("{s}"),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        6 => " (SIGABRT: a panic or abort)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        15 => " (SIGTERM)",
        _ => "",
    }
}

/// Whether `pid` exists and is not a zombie.
pub fn process_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state is the field after the parenthesised name.
            let state = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next());
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(_) => false,
    }
}

/// Remembers a started process with the runner's own pid, so a later run
/// can kill it if this run was itself killed before it could clean up.
fn record_pid(pids: &Path, pid: u32, dir: &Path) {
    if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(pids) {
        let _ = writeln!(f, "{} {pid} {}", std::process::id(), dir.display());
    }
}

/// Kills processes left by earlier runs that died without cleaning up:
/// every recorded node whose runner is gone and whose working directory
/// is still the recorded node directory. Lines of live runners are kept.
pub fn kill_leftovers(pids: &Path) {
    let Ok(text) = fs::read_to_string(pids) else {
        return;
    };
    let mut keep = String::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ' ');
        let (Some(runner), Some(pid), Some(dir)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let runner: u32 = runner.parse().unwrap_or(0);
        if runner != std::process::id() && process_alive(runner) {
            keep.push_str(line);
            keep.push('\n');
            continue;
        }
        let cwd = fs::read_link(format!("/proc/{pid}/cwd")).ok();
        if cwd.as_deref() == Some(Path::new(dir)) && process_alive(pid.parse().unwrap_or(0)) {
            println!("killing pid {pid} left over by an earlier run ({dir})");
            let _ = Command::new("kill").arg("-KILL").arg(pid).status();
        }
    }
    let _ = fs::write(pids, keep);
}

/// The run lock: one cluster-test at a time per target directory (they
/// share the node directories). A lock whose runner is gone is taken over.
pub struct RunLock(PathBuf);

impl RunLock {
    /// Takes the lock or says who holds it.
    pub fn take(path: &Path) -> Result<RunLock> {
        if let Some(holder) = fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
        {
            if holder != std::process::id() && process_alive(holder) {
                bail!(
                    "another cargo xtask cluster-test (pid {holder}) is running in this \
                     workspace; wait for it to finish (lock: {})",
                    path.display()
                );
            }
        }
        fs::write(path, std::process::id().to_string())?;
        Ok(RunLock(path.to_path_buf()))
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserved_port_refuses_connections_and_frees_on_drop() {
        let (port, sock) = reserve_port().unwrap();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
        drop(sock);
        std::net::TcpListener::bind(addr).unwrap();
    }
}
