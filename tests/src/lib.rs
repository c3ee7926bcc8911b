//! Black-box test harness for replikv.
//!
//! Every black-box test in the project drives *real processes* through *real
//! clients*: a [`Server`] is a running `replikv-server` (or reference
//! `redis-server`) with its own fresh temporary directory and its own free
//! loopback port, and it is killed when dropped, even if the test panics.
//!
//! * [`replikv_bin`] / [`redis_server_bin`] / [`redis_cli_bin`] /
//!   [`redis_benchmark_bin`] locate the binaries (set `REPLIKV_SERVER_BIN` to
//!   run the whole suite against another binary, e.g. the reference
//!   `redis-server`, to check the tests themselves).
//! * [`Server`] starts, stops, kills and restarts servers.
//! * [`redis_cli`] runs the real `redis-cli` binary.
//! * [`RawConn`] is a raw TCP connection for protocol-level tests where a
//!   client library cannot send malformed bytes.
//! * [`wait_until`] polls for an eventual condition (tests never assert on
//!   timing, only on eventual state with generous timeouts).
//!
//! Set `REPLIKV_KEEP_TEST_DIRS=1` to keep the servers' temporary directories
//! (their paths are printed to stderr) for post-mortem inspection.

use std::collections::HashSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Environment variable naming the server binary under test.
pub const SERVER_BIN_ENV: &str = "REPLIKV_SERVER_BIN";

/// How long [`Server`] start-up may take before the test fails.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`Server::stop`] waits for a graceful exit before killing.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Number of log lines shown when a server misbehaves.
const LOG_TAIL_LINES: usize = 40;

/// The workspace root (the parent of the `tests` package directory).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest.to_path_buf())
}

/// Path of the `replikv-server` binary under test.
///
/// `$REPLIKV_SERVER_BIN` if set (it may point at any binary accepting the
/// `redis-server` command line, e.g. `$(which redis-server)` to validate the
/// tests against the reference), else `<workspace>/target/debug/replikv-server`.
///
/// # Panics
/// If the binary does not exist, with a message explaining how to build it.
pub fn replikv_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os(SERVER_BIN_ENV).filter(|v| !v.is_empty()) {
        let bin = PathBuf::from(bin);
        let resolved = if bin.components().count() == 1 {
            find_in_path(bin.as_os_str()).unwrap_or(bin)
        } else {
            bin
        };
        if !resolved.is_file() {
            panic!(
                "{SERVER_BIN_ENV}={} does not name an existing file; unset it to use \
                 target/debug/replikv-server (build it with `cargo build -p replikv-server`)",
                resolved.display()
            );
        }
        return resolved;
    }
    let bin = workspace_root().join("target/debug/replikv-server");
    if !bin.is_file() {
        panic!(
            "replikv server binary not found at {}: run `cargo build -p replikv-server` first \
             (or run the suite with `cargo xtask test`, which builds it), or point \
             {SERVER_BIN_ENV} at a server binary",
            bin.display()
        );
    }
    bin
}

/// Path of the reference `redis-server` binary (from `PATH`).
///
/// # Panics
/// If it is not installed, naming the Debian package that provides it.
pub fn redis_server_bin() -> PathBuf {
    find_in_path("redis-server".as_ref()).unwrap_or_else(|| {
        panic!(
            "reference `redis-server` not found in PATH: install the Debian package \
             `redis-server` (apt-get install redis-server)"
        )
    })
}

/// Path of the `redis-cli` binary (from `PATH`).
///
/// # Panics
/// If it is not installed, naming the Debian package that provides it.
pub fn redis_cli_bin() -> PathBuf {
    find_in_path("redis-cli".as_ref()).unwrap_or_else(|| {
        panic!(
            "`redis-cli` not found in PATH: install the Debian package `redis-tools` \
             (apt-get install redis-tools)"
        )
    })
}

/// Path of the `redis-benchmark` binary (from `PATH`).
///
/// # Panics
/// If it is not installed, naming the Debian package that provides it.
pub fn redis_benchmark_bin() -> PathBuf {
    find_in_path("redis-benchmark".as_ref()).unwrap_or_else(|| {
        panic!(
            "`redis-benchmark` not found in PATH: install the Debian package `redis-tools` \
             (apt-get install redis-tools)"
        )
    })
}

/// Looks a program name up in `$PATH`.
fn find_in_path(name: &std::ffi::OsStr) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// How long [`redis_cli`] may run before it is killed and the test fails.
pub const CLI_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the real `redis-cli -p <port> <args...>` with stdin closed (so it is
/// in its non-interactive, tty-less mode) and returns its output.
///
/// # Panics
/// If `redis-cli` is missing, cannot be run, or runs longer than
/// [`CLI_TIMEOUT`] (e.g. waiting forever for a reply).
pub fn redis_cli(port: u16, args: &[&str]) -> Output {
    let mut cmd = Command::new(redis_cli_bin());
    cmd.arg("-p").arg(port.to_string()).args(args);
    run_with_timeout(&mut cmd, CLI_TIMEOUT)
}

/// Runs `cmd` with stdin closed and stdout/stderr captured, killing it and
/// failing the test (showing what it printed) if it runs longer than
/// `timeout`.
///
/// # Panics
/// If the program cannot be started or times out.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Output {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(out) = stdout.as_mut() {
            let _ = out.read_to_end(&mut buf);
        }
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(err) = stderr.as_mut() {
            let _ = err.read_to_end(&mut buf);
        }
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    match status {
        Some(status) => Output {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "{shown} did not finish within {timeout:?} and was killed\n--- stdout ---\n{}\n--- stderr ---\n{}",
            tail(&String::from_utf8_lossy(&stdout), LOG_TAIL_LINES),
            tail(&String::from_utf8_lossy(&stderr), LOG_TAIL_LINES)
        ),
    }
}

/// Polls `cond` every 20ms until it returns `true` (then returns `true`) or
/// `timeout` elapses (then returns `false` after one last try).
///
/// Use generous timeouts: tests assert on eventual state, never on timing.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return cond();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Which server implementation to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// The server under test: [`replikv_bin`].
    Replikv,
    /// The reference implementation: [`redis_server_bin`].
    Redis,
}

impl ServerKind {
    /// The binary this kind starts.
    pub fn bin(self) -> PathBuf {
        match self {
            ServerKind::Replikv => replikv_bin(),
            ServerKind::Redis => redis_server_bin(),
        }
    }

    /// A short human-readable name ("replikv" / "redis").
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Replikv => "replikv",
            ServerKind::Redis => "redis",
        }
    }
}

/// Name of the log file (stdout + stderr of the server) in [`Server::dir`].
pub const LOG_FILE: &str = "server.log";

/// Name of the config file written by [`Server::start_with_config`].
pub const CONFIG_FILE: &str = "server.conf";

/// A running server process with its own fresh temporary directory and its
/// own free loopback port.
///
/// It is started with
/// `[config-file] --port P --bind 127.0.0.1 --dir <tmp> --save "" --appendonly no <args...>`
/// (so `args` override the defaults), with its working directory set to the
/// temporary directory and stdout/stderr sent to [`LOG_FILE`] in it.
///
/// Dropping a `Server` kills the process (SIGKILL) and removes the directory;
/// if the thread is panicking the tail of the log is printed first. As a
/// last resort, a watchdog process kills every server still registered when
/// the test process dies (even by SIGKILL), so no server is ever left behind.
pub struct Server {
    kind: ServerKind,
    bin: PathBuf,
    port: u16,
    dir: Option<tempfile::TempDir>,
    dir_path: PathBuf,
    config: Option<PathBuf>,
    args: Vec<String>,
    child: Mutex<Child>,
}

/// Outcome of waiting for a freshly spawned process to become ready.
enum Startup {
    Ready,
    PortTaken,
    Failed(String),
}

impl Server {
    /// Starts `replikv-server` (see [`replikv_bin`]) with extra `args`.
    pub fn replikv(args: &[&str]) -> Server {
        Server::start(ServerKind::Replikv, None, args)
    }

    /// Starts the reference `redis-server` with extra `args`.
    pub fn redis(args: &[&str]) -> Server {
        Server::start(ServerKind::Redis, None, args)
    }

    /// Writes `config_text` to [`CONFIG_FILE`] in a fresh directory and starts
    /// a server of `kind` with that file as its first argument (the default
    /// command-line directives still follow it and so take precedence).
    pub fn start_with_config(kind: ServerKind, config_text: &str) -> Server {
        Server::start(kind, Some(config_text), &[])
    }

    /// General form of [`Server::replikv`] / [`Server::redis`] /
    /// [`Server::start_with_config`].
    pub fn start(kind: ServerKind, config_text: Option<&str>, args: &[&str]) -> Server {
        Server::start_in(kind, new_temp_dir(), config_text, args)
    }

    /// Like [`Server::start`] but in a directory prepared by the caller (e.g.
    /// pre-populated with an RDB file); see [`new_temp_dir`].
    pub fn start_in(
        kind: ServerKind,
        dir: tempfile::TempDir,
        config_text: Option<&str>,
        args: &[&str],
    ) -> Server {
        let bin = kind.bin();
        let dir_path = dir.path().to_path_buf();
        let config = config_text.map(|text| {
            let path = dir_path.join(CONFIG_FILE);
            std::fs::write(&path, text)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            path
        });
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut last_failure = String::new();
        for _attempt in 0..8 {
            let port = pick_free_port();
            let child = spawn_server(&bin, &dir_path, config.as_deref(), port, &args);
            // `dir` stays owned here until start-up succeeds, so a failed
            // attempt does not delete it.
            let mut server = Server {
                kind,
                bin: bin.clone(),
                port,
                dir: None,
                dir_path: dir_path.clone(),
                config: config.clone(),
                args: args.clone(),
                child: Mutex::new(child),
            };
            match server.wait_ready() {
                Startup::Ready => {
                    server.dir = Some(dir);
                    return server;
                }
                Startup::PortTaken => {
                    last_failure = server.log_tail();
                    drop(server);
                }
                Startup::Failed(why) => {
                    let tail = server.log_tail();
                    drop(server);
                    panic!(
                        "{} server ({}) failed to start on port {port}: {why}\n\
                         --- last lines of {} ---\n{tail}",
                        kind.name(),
                        bin.display(),
                        dir_path.join(LOG_FILE).display()
                    );
                }
            }
        }
        panic!(
            "{} server ({}) could not find a free port after several attempts\n\
             --- last log ---\n{last_failure}",
            kind.name(),
            bin.display()
        );
    }

    /// Starts a server expecting it to exit by itself during start-up (e.g.
    /// on an invalid configuration). Returns its exit status and full log.
    ///
    /// # Panics
    /// If the process is still running after [`STARTUP_TIMEOUT`] (it is
    /// killed first).
    pub fn expect_startup_failure(
        kind: ServerKind,
        config_text: Option<&str>,
        args: &[&str],
    ) -> (ExitStatus, String) {
        let bin = kind.bin();
        let dir = new_temp_dir();
        let config = config_text.map(|text| {
            let path = dir.path().join(CONFIG_FILE);
            std::fs::write(&path, text)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            path
        });
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let port = pick_free_port();
        let mut child = spawn_server(&bin, dir.path(), config.as_deref(), port, &args);
        let pid = child.id();
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                watchdog_unregister(pid);
                let log = read_lossy(&dir.path().join(LOG_FILE));
                return (status, log);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                watchdog_unregister(pid);
                let log = read_lossy(&dir.path().join(LOG_FILE));
                panic!(
                    "{} server was expected to exit during start-up but was still running \
                     after {STARTUP_TIMEOUT:?}\n--- log ---\n{}",
                    kind.name(),
                    tail(&log, LOG_TAIL_LINES)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the process if needed and starts it again with the same binary,
    /// directory, config file, port and arguments (for persistence tests).
    /// The log file is appended to, not truncated.
    pub fn restart(&mut self) {
        if self.is_running() {
            self.stop();
        }
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let child = spawn_server_appending(
                &self.bin,
                &self.dir_path,
                self.config.as_deref(),
                self.port,
                &self.args,
                true,
            );
            *self.child() = child;
            match self.wait_ready() {
                Startup::Ready => return,
                Startup::PortTaken if Instant::now() < deadline => {
                    // Our own port may linger briefly; retry on the same port.
                    std::thread::sleep(Duration::from_millis(100));
                }
                Startup::PortTaken | Startup::Failed(_) => {
                    let tail = self.log_tail();
                    self.kill9();
                    panic!(
                        "{} server failed to restart on port {}\n--- last lines of log ---\n{tail}",
                        self.kind.name(),
                        self.port
                    );
                }
            }
        }
    }

    /// Which implementation this is.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    /// The TCP port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `"127.0.0.1:<port>"`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `"redis://127.0.0.1:<port>/"`, for `redis::Client::open`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The server's private temporary directory (its `--dir`).
    pub fn dir(&self) -> &Path {
        &self.dir_path
    }

    /// The process id of the currently running process.
    pub fn pid(&self) -> u32 {
        self.child().id()
    }

    /// A new synchronous client connection.
    ///
    /// # Panics
    /// If the connection cannot be established.
    pub fn client(&self) -> redis::Connection {
        let client = redis::Client::open(self.url())
            .unwrap_or_else(|e| panic!("bad url {}: {e}", self.url()));
        client.get_connection().unwrap_or_else(|e| {
            panic!(
                "cannot connect to {} server at {}: {e}\n--- last lines of log ---\n{}",
                self.kind.name(),
                self.addr(),
                self.log_tail()
            )
        })
    }

    /// A new asynchronous (tokio, multiplexed) client connection.
    ///
    /// # Panics
    /// If the connection cannot be established.
    pub async fn async_client(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url())
            .unwrap_or_else(|e| panic!("bad url {}: {e}", self.url()));
        match client.get_multiplexed_async_connection().await {
            Ok(con) => con,
            Err(e) => panic!(
                "cannot connect (async) to {} server at {}: {e}\n--- last lines of log ---\n{}",
                self.kind.name(),
                self.addr(),
                self.log_tail()
            ),
        }
    }

    /// A new [`RawConn`] to this server.
    pub fn raw(&self) -> RawConn {
        RawConn::connect(self.port)
    }

    /// The whole log (stdout + stderr) written so far.
    pub fn log(&self) -> String {
        read_lossy(&self.dir_path.join(LOG_FILE))
    }

    /// The last lines of the log, for failure messages.
    pub fn log_tail(&self) -> String {
        tail(&self.log(), LOG_TAIL_LINES)
    }

    /// Whether the process is still alive (not exited).
    pub fn is_running(&self) -> bool {
        matches!(self.child().try_wait(), Ok(None))
    }

    /// The exit status if the process has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.child().try_wait().ok().flatten()
    }

    /// Waits up to `timeout` for the process to exit by itself and returns
    /// its exit status (`None` if it is still running).
    pub fn wait_for_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        let mut status = None;
        wait_until(timeout, || {
            status = self.exit_status();
            status.is_some()
        });
        if status.is_some() {
            watchdog_unregister(self.pid());
        }
        status
    }

    /// Kills the process with SIGKILL (no chance to save anything) and
    /// reaps it.
    pub fn kill9(&self) {
        let mut child = self.child();
        let pid = child.id();
        let _ = child.kill();
        let _ = child.wait();
        watchdog_unregister(pid);
    }

    /// Sends `SHUTDOWN NOSAVE` and waits for the process to exit (killing
    /// it after [`SHUTDOWN_TIMEOUT`]). Returns the exit status.
    pub fn stop(&self) -> Option<ExitStatus> {
        if let Some(status) = self.exit_status() {
            watchdog_unregister(self.pid());
            return Some(status);
        }
        if let Ok(mut conn) = RawConn::try_connect(self.port) {
            if conn
                .try_send(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")
                .is_ok()
            {
                // Success closes the connection without a reply; an error
                // reply (e.g. NOAUTH) means it will not exit: kill it now.
                if let Some(reply) = conn.try_read_reply(SHUTDOWN_TIMEOUT) {
                    eprintln!(
                        "{} server on port {} refused SHUTDOWN NOSAVE ({}); killing it",
                        self.kind.name(),
                        self.port,
                        String::from_utf8_lossy(&reply).trim_end()
                    );
                    self.kill9();
                    return self.exit_status();
                }
            }
        }
        if let Some(status) = self.wait_for_exit(SHUTDOWN_TIMEOUT) {
            return Some(status);
        }
        eprintln!(
            "{} server on port {} ignored SHUTDOWN NOSAVE for {SHUTDOWN_TIMEOUT:?}; killing it",
            self.kind.name(),
            self.port
        );
        self.kill9();
        self.exit_status()
    }

    fn child(&self) -> MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until the freshly spawned process answers PING on its port.
    fn wait_ready(&self) -> Startup {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let pid = self.pid();
        loop {
            if let Some(status) = self.exit_status() {
                watchdog_unregister(pid);
                let log = self.log().to_ascii_lowercase();
                if log.contains("address already in use")
                    || log.contains("address in use")
                    || log.contains("addrinuse")
                {
                    return Startup::PortTaken;
                }
                return Startup::Failed(format!("process exited during start-up with {status}"));
            }
            if process_listens_on(pid, self.port) && ping_answered(self.port) {
                return Startup::Ready;
            }
            if Instant::now() >= deadline {
                return Startup::Failed(format!(
                    "no PING reply (other than -LOADING) within {STARTUP_TIMEOUT:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = self.pid();
        if std::thread::panicking() {
            eprintln!(
                "--- {} server (pid {pid}, port {}) last lines of log ---\n{}",
                self.kind.name(),
                self.port,
                self.log_tail()
            );
        }
        {
            let mut child = self.child();
            let _ = child.kill();
            let _ = child.wait();
        }
        watchdog_unregister(pid);
        if std::env::var_os("REPLIKV_KEEP_TEST_DIRS").is_some_and(|v| !v.is_empty()) {
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                eprintln!(
                    "kept {} server directory {}",
                    self.kind.name(),
                    kept.display()
                );
            }
        }
    }
}

/// A fresh temporary directory for a server (prefix `replikv-test-`), for use
/// with [`Server::start_in`].
pub fn new_temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("replikv-test-")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"))
}

fn spawn_server(
    bin: &Path,
    dir: &Path,
    config: Option<&Path>,
    port: u16,
    args: &[String],
) -> Child {
    spawn_server_appending(bin, dir, config, port, args, false)
}

fn spawn_server_appending(
    bin: &Path,
    dir: &Path,
    config: Option<&Path>,
    port: u16,
    args: &[String],
    append: bool,
) -> Child {
    let log_path = dir.join(LOG_FILE);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(&log_path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", log_path.display()));
    let log2 = log
        .try_clone()
        .unwrap_or_else(|e| panic!("cannot dup log file handle: {e}"));
    let mut cmd = Command::new(bin);
    if let Some(config) = config {
        cmd.arg(config);
    }
    cmd.arg("--port")
        .arg(port.to_string())
        .arg("--bind")
        .arg("127.0.0.1")
        .arg("--dir")
        .arg(dir)
        .arg("--save")
        .arg("")
        .arg("--appendonly")
        .arg("no")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    watchdog_register(child.id());
    child
}

/// Picks a free loopback port: binds 127.0.0.1:0, never hands out the same
/// port twice in this process. (Another process may still grab it before the
/// server binds it; [`Server`] detects that and retries.)
pub fn pick_free_port() -> u16 {
    static USED: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let used = USED.get_or_init(|| Mutex::new(HashSet::new()));
    loop {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:0 to pick a port: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("local_addr: {e}"))
            .port();
        let mut used = used.lock().unwrap_or_else(|e| e.into_inner());
        if used.insert(port) {
            return port;
        }
    }
}

/// Whether process `pid` owns a socket listening on TCP `port` (Linux
/// `/proc`); `true` when `/proc` cannot tell. This makes sure the PONG we
/// get comes from *our* process and not from a stranger that grabbed the
/// port first.
fn process_listens_on(pid: u32, port: u16) -> bool {
    let mut inodes = HashSet::new();
    let mut readable = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        readable = true;
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 || fields[3] != "0A" {
                continue;
            }
            let local_port = fields[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                inodes.insert(fields[9].to_string());
            }
        }
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return !readable;
    };
    if !readable {
        return true;
    }
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .ok()
            .and_then(|target| {
                let target = target.to_string_lossy().into_owned();
                target
                    .strip_prefix("socket:[")
                    .and_then(|s| s.strip_suffix(']'))
                    .map(|inode| inodes.contains(inode))
            })
            .unwrap_or(false)
    })
}

/// Whether something on `port` answers PING with anything but `-LOADING`.
fn ping_answered(port: u16) -> bool {
    let Ok(mut conn) = RawConn::try_connect(port) else {
        return false;
    };
    if conn.try_send(b"*1\r\n$4\r\nPING\r\n").is_err() {
        return false;
    }
    match conn.try_read_reply(Duration::from_secs(2)) {
        Some(reply) => !reply.starts_with(b"-LOADING") && !reply.starts_with(b"-BUSY"),
        None => false,
    }
}

fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// ---------------------------------------------------------------------------
// Watchdog: kills leftover servers when the test process dies, however it
// dies. One `sh` per test process reads "pid" / "-pid" lines on stdin; when
// stdin reaches EOF (the test process exited, its pipe end closed by the
// kernel) it SIGKILLs every pid still registered.
// ---------------------------------------------------------------------------

const WATCHDOG_SCRIPT: &str = r#"
pids=' '
while IFS= read -r l; do
  case "$l" in
    -*) p="${l#-}"; pids=$(printf '%s' "$pids" | sed "s/ $p / /g") ;;
    *) pids="$pids$l " ;;
  esac
done
for p in $pids; do kill -9 "$p" 2>/dev/null; done
exit 0
"#;

fn watchdog() -> MutexGuard<'static, Option<ChildStdin>> {
    static WATCHDOG: OnceLock<Mutex<Option<ChildStdin>>> = OnceLock::new();
    let lock = WATCHDOG.get_or_init(|| {
        let stdin = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()
            .and_then(|mut child| child.stdin.take());
        Mutex::new(stdin)
    });
    lock.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers a process the test started indirectly (e.g. a server that
/// daemonized itself) with the watchdog, so that it is SIGKILLed if the test
/// process dies before cleaning it up.
pub fn watch_pid(pid: u32) {
    watchdog_register(pid);
}

/// Undoes [`watch_pid`] (the process has exited or was killed).
pub fn unwatch_pid(pid: u32) {
    watchdog_unregister(pid);
}

fn watchdog_register(pid: u32) {
    if let Some(stdin) = watchdog().as_mut() {
        let _ = writeln!(stdin, "{pid}");
    }
}

fn watchdog_unregister(pid: u32) {
    if let Some(stdin) = watchdog().as_mut() {
        let _ = writeln!(stdin, "-{pid}");
    }
}

// ---------------------------------------------------------------------------
// Raw connections
// ---------------------------------------------------------------------------

/// How long [`RawConn::read_reply`] waits for a complete reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// A raw TCP connection for protocol tests: send arbitrary bytes, read raw
/// replies, observe the server closing the connection.
pub struct RawConn {
    stream: TcpStream,
    buf: Vec<u8>,
    closed: bool,
}

impl RawConn {
    /// Connects to 127.0.0.1:`port`.
    ///
    /// # Panics
    /// If the connection fails.
    pub fn connect(port: u16) -> RawConn {
        RawConn::try_connect(port)
            .unwrap_or_else(|e| panic!("cannot connect to 127.0.0.1:{port}: {e}"))
    }

    /// Connects to 127.0.0.1:`port`, returning the error on failure.
    pub fn try_connect(port: u16) -> std::io::Result<RawConn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        Ok(RawConn {
            stream,
            buf: Vec::new(),
            closed: false,
        })
    }

    /// Sends `bytes` as they are.
    ///
    /// # Panics
    /// If writing fails (use [`RawConn::try_send`] when the server may close
    /// the connection in the middle).
    pub fn send(&mut self, bytes: &[u8]) {
        self.try_send(bytes)
            .unwrap_or_else(|e| panic!("send of {} bytes failed: {e}", bytes.len()));
    }

    /// Sends `bytes`, returning the I/O error if any.
    pub fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Sends `args` encoded as a RESP array of bulk strings.
    pub fn send_command(&mut self, args: &[&[u8]]) {
        self.send(&encode_command(args));
    }

    /// Sends `args` as a RESP command and returns the raw reply bytes.
    pub fn command(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send_command(args);
        self.read_reply()
    }

    /// Reads until the server closes the connection (EOF or reset) or
    /// `timeout` elapses, and returns everything received (including bytes
    /// left unconsumed by earlier reads). Check [`RawConn::is_closed`]
    /// afterwards to tell the two apart.
    pub fn read_until_close_or(&mut self, timeout: Duration) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        while !self.closed {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            self.fill(deadline - now);
        }
        std::mem::take(&mut self.buf)
    }

    /// Whether the server has closed the connection (EOF or reset seen).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Reads exactly one complete RESP reply (RESP2 or RESP3) and returns its
    /// raw bytes; later bytes stay buffered for the next read.
    ///
    /// # Panics
    /// If no complete reply arrives within [`REPLY_TIMEOUT`] or the
    /// connection closes first.
    pub fn read_reply(&mut self) -> Vec<u8> {
        match self.try_read_reply(REPLY_TIMEOUT) {
            Some(reply) => reply,
            None => panic!(
                "no complete reply within {REPLY_TIMEOUT:?} (closed: {}); got so far: {:?}",
                self.closed,
                String::from_utf8_lossy(&self.buf)
            ),
        }
    }

    /// Reads one reply and parses it as a [`redis::Value`] (errors are
    /// `Value::ServerError`).
    pub fn read_value(&mut self) -> redis::Value {
        let raw = self.read_reply();
        redis::parse_redis_value(&raw).unwrap_or_else(|e| {
            panic!(
                "cannot parse reply {:?}: {e}",
                String::from_utf8_lossy(&raw)
            )
        })
    }

    /// Like [`RawConn::read_reply`] but returns `None` on timeout or close.
    pub fn try_read_reply(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(len) = resp_frame_len(&self.buf) {
                let rest = self.buf.split_off(len);
                return Some(std::mem::replace(&mut self.buf, rest));
            }
            let now = Instant::now();
            if self.closed || now >= deadline {
                return None;
            }
            self.fill(deadline - now);
        }
    }

    /// Closes the writing half (the server sees EOF).
    pub fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Reads once (waiting at most `wait`) into the buffer.
    fn fill(&mut self, wait: Duration) {
        let wait = wait.max(Duration::from_millis(1));
        if self.stream.set_read_timeout(Some(wait)).is_err() {
            self.closed = true;
            return;
        }
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => self.closed = true,
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => self.closed = true,
        }
    }
}

/// Encodes `args` as a RESP array of bulk strings.
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Length of the first complete RESP2/RESP3 frame in `buf`, if complete.
pub fn resp_frame_len(buf: &[u8]) -> Option<usize> {
    frame_len_at(buf, 0, 0)
}

fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

/// End offset of the frame starting at `pos`.
fn frame_len_at(buf: &[u8], pos: usize, depth: usize) -> Option<usize> {
    if depth > 64 {
        return None;
    }
    let kind = *buf.get(pos)?;
    let eol = line_end(buf, pos + 1)?;
    let header = std::str::from_utf8(&buf[pos + 1..eol]).ok();
    let after = eol + 2;
    let count = || header.and_then(|h| h.trim().parse::<i64>().ok());
    match kind {
        b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => Some(after),
        b'$' | b'!' | b'=' => {
            let n = count()?;
            if n < 0 {
                return Some(after);
            }
            let end = after + usize::try_from(n).ok()? + 2;
            (buf.len() >= end).then_some(end)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = count()?;
            if n < 0 {
                return Some(after);
            }
            let items = if matches!(kind, b'%' | b'|') {
                n * 2
            } else {
                n
            };
            let mut at = after;
            for _ in 0..items {
                at = frame_len_at(buf, at, depth + 1)?;
            }
            if kind == b'|' {
                // An attribute is followed by the actual reply.
                at = frame_len_at(buf, at, depth + 1)?;
            }
            Some(at)
        }
        // Not RESP (e.g. garbage): treat the line as one frame.
        _ => Some(after),
    }
}

/// Runs `cmd` (args as strings) on a synchronous connection and returns the
/// reply as a [`redis::Value`], with server errors kept as
/// `Value::ServerError` instead of turned into `Err` (only I/O and protocol
/// failures are `Err`).
pub fn raw_query(
    con: &mut redis::Connection,
    args: &[impl AsRef<[u8]>],
) -> redis::RedisResult<redis::Value> {
    use redis::ConnectionLike;
    let mut cmd = redis::Cmd::new();
    for arg in args {
        cmd.arg(arg.as_ref());
    }
    con.req_command(&cmd)
}

/// Renders a [`redis::Value`] compactly for failure messages (bulk strings
/// shown as escaped text, errors as `(error) CODE detail`).
pub fn show_value(value: &redis::Value) -> String {
    use redis::Value;
    match value {
        Value::Nil => "(nil)".to_string(),
        Value::Int(i) => format!("(integer) {i}"),
        Value::BulkString(b) => format!("{:?}", String::from_utf8_lossy(b)),
        Value::SimpleString(s) => format!("+{s}"),
        Value::Okay => "+OK".to_string(),
        Value::ServerError(e) => match e.details() {
            Some(d) => format!("(error) {} {d}", e.code()),
            None => format!("(error) {}", e.code()),
        },
        Value::Array(items) | Value::Set(items) => format!(
            "[{}]",
            items.iter().map(show_value).collect::<Vec<_>>().join(", ")
        ),
        other => format!("{other:?}"),
    }
}

/// The full error text of a `Value::ServerError` (`"CODE detail"`), if it
/// is one.
pub fn error_text(value: &redis::Value) -> Option<String> {
    match value {
        redis::Value::ServerError(e) => Some(match e.details() {
            Some(d) => format!("{} {d}", e.code()),
            None => e.code().to_string(),
        }),
        _ => None,
    }
}

/// Splits a differential-test case line into arguments: words separated by
/// spaces, or `"quoted"` with `\n \r \t \" \\ \xHH` escapes.
pub fn tokenize(line: &str) -> Result<Vec<Vec<u8>>, String> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b' ' {
            i += 1;
            continue;
        }
        if bytes[i] == b'"' {
            i += 1;
            let mut tok = Vec::new();
            loop {
                match bytes.get(i) {
                    None => return Err("unterminated quote".to_string()),
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        let esc = bytes.get(i + 1).ok_or("dangling backslash")?;
                        match esc {
                            b'n' => tok.push(b'\n'),
                            b'r' => tok.push(b'\r'),
                            b't' => tok.push(b'\t'),
                            b'"' => tok.push(b'"'),
                            b'\\' => tok.push(b'\\'),
                            b'x' => {
                                let hex = line.get(i + 2..i + 4).ok_or("short \\x escape")?;
                                tok.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
                                i += 2;
                            }
                            other => return Err(format!("unknown escape \\{}", *other as char)),
                        }
                        i += 2;
                    }
                    Some(&c) => {
                        tok.push(c);
                        i += 1;
                    }
                }
            }
            out.push(tok);
        } else {
            let start = i;
            while i < bytes.len() && bytes[i] != b' ' {
                i += 1;
            }
            out.push(bytes[start..i].to_vec());
        }
    }
    Ok(out)
}

/// One side of a differential comparison: a server and a connection to it.
pub struct Side<'a> {
    /// The server.
    pub server: &'a Server,
    /// How reports name this side.
    pub name: &'static str,
    /// The connection commands go through.
    pub con: redis::Connection,
    /// The database SELECT last chose.
    pub db: i64,
}

impl<'a> Side<'a> {
    /// Connects to `server`.
    pub fn new(server: &'a Server, name: &'static str) -> Side<'a> {
        Side {
            server,
            name,
            con: server.client(),
            db: 0,
        }
    }

    /// Runs one command; `Err` describes an I/O failure (after which the
    /// connection is re-established if the server is still alive).
    pub fn query(&mut self, args: &[Vec<u8>]) -> Result<redis::Value, String> {
        match raw_query(&mut self.con, args) {
            Ok(value) => {
                if value == redis::Value::Okay
                    && args.len() == 2
                    && args[0].eq_ignore_ascii_case(b"select")
                {
                    if let Ok(db) = String::from_utf8_lossy(&args[1]).parse() {
                        self.db = db;
                    }
                }
                Ok(value)
            }
            Err(e) => {
                let msg = format!("I/O or protocol failure: {e}");
                if self.server.is_running() {
                    if let Ok(client) = redis::Client::open(self.server.url()) {
                        if let Ok(mut con) = client.get_connection() {
                            let _ =
                                raw_query(&mut con, &["SELECT".to_string(), self.db.to_string()]);
                            self.con = con;
                        }
                    }
                }
                Err(msg)
            }
        }
    }

    /// Whether the server process still runs.
    pub fn alive(&self) -> bool {
        self.server.is_running()
    }
}
