//! Operating replikv like redis-server: the configuration files from the
//! users' notes (`/work/shared/seeds/*.txt`, journeys in
//! `/work/shared/walkthroughs.md`), daemon mode, start-up errors, CONFIG
//! GET / SET / REWRITE, AUTH, INFO, CLIENT, SHUTDOWN and signals, idle
//! timeout, maxclients and redis-cli's output for errors.
//!
//! Wherever Redis defines the answer, the test asks the reference
//! redis-server the same question and compares; tests that check a
//! behaviour rather than a text run against both servers (so a failure on
//! the reference side means the test itself is wrong).
//!
//! The config files are the notes' files, adapted only to 127.0.0.1, free
//! ports and temporary directories (comments, quoting, inline `# comments`,
//! `save ""`, passwords with `:` are kept). Redis itself rejects inline
//! comments, so those files are only started with replikv.
//!
//! Nothing asserts on timing: eventual states are awaited with generous
//! timeouts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use replikv_tests::{
    new_temp_dir, pick_free_port, redis_cli, redis_cli_bin, replikv_bin, run_with_timeout,
    unwatch_pid, wait_until, watch_pid, RawConn, Server, ServerKind,
};

/// Generous bound for eventual states.
const EVENTUAL: Duration = Duration::from_secs(15);

fn show(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

fn encode(args: &[&str]) -> Vec<u8> {
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    replikv_tests::encode_command(&bytes)
}

/// Sends a command on a raw connection and returns the raw reply.
fn raw_cmd(conn: &mut RawConn, args: &[&str]) -> Vec<u8> {
    conn.send(&encode(args));
    match conn.try_read_reply(Duration::from_secs(10)) {
        Some(reply) => reply,
        None => format!("<no reply; closed: {}>", conn.is_closed()).into_bytes(),
    }
}

/// The text of a bulk-string reply (INFO, CLIENT INFO, ...).
fn bulk_text(raw: &[u8]) -> String {
    match redis::parse_redis_value(raw) {
        Ok(redis::Value::BulkString(b)) => String::from_utf8_lossy(&b).into_owned(),
        Ok(redis::Value::VerbatimString { text, .. }) => text,
        _ => panic!("expected a bulk string reply, got {}", show(raw)),
    }
}

/// Whether process `pid` exists and is not a zombie.
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // "pid (comm) S ..." - the state follows the last ')'.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("?");
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

fn kill_pid(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Where a daemon's standard file descriptor points (`/proc/<pid>/fd/<n>`).
fn fd_target(pid: u32, fd: u32) -> String {
    std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|e| format!("<{e}>"))
}

// ---------------------------------------------------------------------------
// Daemons and hand-launched servers
// ---------------------------------------------------------------------------

/// A server started by hand (`<bin> <config> [args]`) that daemonizes
/// itself; SIGKILLed on drop if still running.
struct Daemon {
    name: String,
    port: u16,
    password: Option<String>,
    pidfile: PathBuf,
    logfile: PathBuf,
    pid: Option<u32>,
}

impl Daemon {
    /// Runs `bin config args...` with its working directory `cwd`, expects
    /// the launching command to return with status 0, then waits for the
    /// pid file and for the daemon to answer PING (authenticating with
    /// `password` if given).
    #[allow(clippy::too_many_arguments)]
    fn launch(
        name: &str,
        bin: &Path,
        config: &Path,
        args: &[&str],
        cwd: &Path,
        port: u16,
        password: Option<&str>,
        pidfile: &Path,
        logfile: &Path,
    ) -> Daemon {
        let out_path = cwd.join(format!("{name}.launcher.out"));
        let out = std::fs::File::create(&out_path).expect("create launcher output file");
        let err = out.try_clone().expect("dup launcher output file");
        let mut child = Command::new(bin)
            .arg(config)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let launcher_pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(30);
        let status: ExitStatus = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "[{name}] `{} {}` (daemonize yes) did not return within 30s; output:\n{}",
                    bin.display(),
                    config.display(),
                    std::fs::read_to_string(&out_path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut daemon = Daemon {
            name: name.to_string(),
            port,
            password: password.map(str::to_string),
            pidfile: pidfile.to_path_buf(),
            logfile: logfile.to_path_buf(),
            pid: None,
        };
        assert!(
            status.success(),
            "[{name}] the launching command exited with {status}; output:\n{}\nlog:\n{}",
            std::fs::read_to_string(&out_path).unwrap_or_default(),
            daemon.log()
        );
        let mut pid = None;
        let found = wait_until(EVENTUAL, || {
            pid = std::fs::read_to_string(pidfile)
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok());
            pid.is_some()
        });
        assert!(
            found,
            "[{name}] pid file {} not written within {EVENTUAL:?}; log:\n{}",
            pidfile.display(),
            daemon.log()
        );
        let pid = pid.unwrap_or_default();
        watch_pid(pid);
        daemon.pid = Some(pid);
        assert_ne!(
            pid, launcher_pid,
            "[{name}] the pid file names the launching process, not a daemon"
        );
        assert!(
            process_alive(pid),
            "[{name}] the pid file names {pid}, which is not running; log:\n{}",
            daemon.log()
        );
        let mut last = String::new();
        let answered = wait_until(EVENTUAL, || {
            last = daemon.try_ping();
            last == "+PONG\r\n"
        });
        assert!(
            answered,
            "[{name}] daemon (pid {pid}) does not answer PING on port {port}: last {last:?}; log:\n{}",
            daemon.log()
        );
        daemon
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.logfile).unwrap_or_default()
    }

    /// A connection, authenticated if the daemon has a password.
    fn conn(&self) -> RawConn {
        let mut conn = RawConn::connect(self.port);
        if let Some(pw) = &self.password {
            let reply = raw_cmd(&mut conn, &["AUTH", pw]);
            assert_eq!(
                reply,
                b"+OK\r\n",
                "[{}] AUTH {pw}: {}",
                self.name,
                show(&reply)
            );
        }
        conn
    }

    fn try_ping(&self) -> String {
        let Ok(mut conn) = RawConn::try_connect(self.port) else {
            return "<cannot connect>".to_string();
        };
        if let Some(pw) = &self.password {
            if conn.try_send(&encode(&["AUTH", pw])).is_err() {
                return "<send failed>".to_string();
            }
            match conn.try_read_reply(Duration::from_secs(2)) {
                Some(r) if r == b"+OK\r\n" => {}
                Some(r) => return String::from_utf8_lossy(&r).into_owned(),
                None => return "<no AUTH reply>".to_string(),
            }
        }
        if conn.try_send(&encode(&["PING"])).is_err() {
            return "<send failed>".to_string();
        }
        conn.try_read_reply(Duration::from_secs(2))
            .map(|r| String::from_utf8_lossy(&r).into_owned())
            .unwrap_or_else(|| "<no reply>".to_string())
    }

    fn info(&self, section: &str) -> String {
        let mut conn = self.conn();
        bulk_text(&raw_cmd(&mut conn, &["INFO", section]))
    }

    /// SHUTDOWN (as the notes do); checks the process exits and removes
    /// its pid file.
    fn shutdown_and_check(&mut self) {
        let pid = self.pid.expect("daemon pid");
        let mut conn = self.conn();
        conn.send(&encode(&["SHUTDOWN"]));
        let reply = conn.read_until_close_or(EVENTUAL);
        assert!(
            conn.is_closed() && reply.is_empty(),
            "[{}] SHUTDOWN: expected the connection to be closed without a reply, got {} (closed: {})",
            self.name,
            show(&reply),
            conn.is_closed()
        );
        assert!(
            wait_until(EVENTUAL, || !process_alive(pid)),
            "[{}] daemon pid {pid} still running {EVENTUAL:?} after SHUTDOWN; log:\n{}",
            self.name,
            self.log()
        );
        unwatch_pid(pid);
        self.pid = None;
        assert!(
            wait_until(EVENTUAL, || !self.pidfile.exists()),
            "[{}] pid file {} still exists after SHUTDOWN; log:\n{}",
            self.name,
            self.pidfile.display(),
            self.log()
        );
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            if std::thread::panicking() {
                eprintln!(
                    "--- [{}] daemon log {} ---\n{}",
                    self.name,
                    self.logfile.display(),
                    replikv_tests::tail(&self.log(), 40)
                );
            }
            if process_alive(pid) {
                kill_pid(pid, "KILL");
            }
            unwatch_pid(pid);
        }
    }
}

/// A foreground server started by hand (custom command line or working
/// directory); killed on drop.
struct Foreground {
    child: std::process::Child,
    log: PathBuf,
}

impl Foreground {
    fn spawn(bin: &Path, args: &[&str], cwd: &Path, port: u16) -> Foreground {
        let log = cwd.join("foreground.log");
        let out = std::fs::File::create(&log).expect("create log");
        let err = out.try_clone().expect("dup log");
        let child = Command::new(bin)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        watch_pid(child.id());
        let fg = Foreground { child, log };
        let ok = wait_until(EVENTUAL, || {
            RawConn::try_connect(port)
                .ok()
                .map(|mut c| {
                    c.try_send(b"PING\r\n").is_ok()
                        && c.try_read_reply(Duration::from_secs(2)).is_some()
                })
                .unwrap_or(false)
        });
        assert!(
            ok,
            "server {} {args:?} did not answer on port {port}; log:\n{}",
            bin.display(),
            fg.log()
        );
        fg
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        unwatch_pid(self.child.id());
    }
}

// ---------------------------------------------------------------------------
// The configuration files of the notes
// ---------------------------------------------------------------------------

/// seeds/000: the master's file.
const NOTE_000_MASTER: &str = "bind 192.168.0.200                      
requirepass Ninestar123                # 密码
daemonize yes                          # 开启守护进程
logfile /data/redis/redis.log          # 指定日志文件目录
dir /data/redis                        # 指定工作目录
# masterauth Ninestar123               # 当主节点挂掉后，从新启动会变成从节点，这里就需要配置新主节点密码
";

/// seeds/000: the replicas' file.
const NOTE_000_REPLICA: &str = "replicaof 192.168.10.1 6379      # 主服务器的 IP 和端口
masterauth Ninestar123           # 主服务器redis密码
bind 192.168.0.xx                # 修改bind 项，集群模式不用用0.0.0.0
requirepass Ninestar123          # 密码
daemonize yes                    # 开启守护进程
logfile /data/redis/redis.log    # 指定日志文件目录
dir /data/redis                  # 指定工作目录
";

/// seeds/001: the master's file.
const NOTE_001_MASTER: &str = "# 指定 redis 只接收来自于这些地址的请求，如果不进行设置，那么将处理所有请求
# bind 127.0.0.1 192.168.17.66 192.168.15.76
bind 0.0.0.0\t\t# 指定IP报错，这里直接改为 0.0.0.0

# 默认端口 is 6379
port 6379

# 保护模式是一层安全保护，以避免任何 Internet 上打开的 Redis 实例访问和利用。开启该参数后，redis只会本地进行访问，拒绝外部访问（这里因为允许外部IP访问，所以因该设置为 no）。
protected-mode no

# requirepass 配置可以让用户使用 AUTH 命令来认证密码，才能使用其他命令。
requirepass redis:123:456

# 客户端闲置 N 秒后服务端会断开连接 (0 不关闭)
timeout 0

# 默认情况下，Redis 不会作为守护进程（守护进程）运行。 如果需要，请使用“是”。请注意，Redis 守护进程将在 /var/run/redis.pid 中写入一个 pid 文件。
daemonize yes

# 当服务器在非守护进程下运行时，如果没有 pid 文件，则不会创建在配置中指定。守护服务器时，即使未指定，也会使用pid文件，默认为“ /var/run/redis.pid”。
pidfile /var/run/redis_6379.pid

#服务端日志的级别。
loglevel notice

# 指定了记录日志的文件。空字符串的话，日志会打印到标准输出设备。后台运行的redis标准输出是/dev/null
logfile \"/var/log/redis_6379.log\"

# 数据库的数量，默认使用的数据库是0。
databases 16

# RDB 核心规则配置 save <指定时间间隔> <执行指定次数更新操作>，满足条件就将内存中的数据同步到硬盘中。
save \"\"\t\t# 禁用 rdb，由从服务器生成 rdb 文件
#save 900 1
#save 300 10
#save 60 10000

# 指定本地数据库文件名
dbfilename dump_6379.rdb


";

/// seeds/001: slave 1's file (its own `save` rules).
const NOTE_001_REPLICA1: &str = "# 指定 redis 只接收来自于这些地址的请求，如果不进行设置，那么将处理所有请求
bind 127.0.0.1

# 默认端口 is 6379
port 6379

# 保护模式是一层安全保护，以避免任何 Internet 上打开的 Redis 实例访问和利用。开启该参数后，redis只会本地进行访问，拒绝外部访问（这里因为允许外部IP访问，所以因该设置为 no）。
protected-mode yes

# 客户端闲置 N 秒后服务端会断开连接 (0 不关闭)
timeout 0

# 默认情况下，Redis 不会作为守护进程（守护进程）运行。 如果需要，请使用“是”。请注意，Redis 守护进程将在 /var/run/redis.pid 中写入一个 pid 文件。
daemonize yes

# 当服务器在非守护进程下运行时，如果没有 pid 文件，则不会创建在配置中指定。守护服务器时，即使未指定，也会使用pid文件，默认为“ /var/run/redis.pid”。
pidfile /var/run/redis_6379.pid

#服务端日志的级别。
loglevel notice

# 指定了记录日志的文件。空字符串的话，日志会打印到标准输出设备。后台运行的redis标准输出是/dev/null
logfile \"/var/log/redis_6379.log\"

# 数据库的数量，默认使用的数据库是0。
databases 16

# RDB 核心规则配置 save <指定时间间隔> <执行指定次数更新操作>，满足条件就将内存中的数据同步到硬盘中。
# save \"\"
save 900 1\t\t# 主服务器减少I/O，禁用 save rdb文件，由 slave1 来 save！
save 300 10
save 60 10000

# 指定本地数据库文件名
dbfilename dump_6379.rdb

# 复制选项，slave复制对应的master。
replicaof 192.168.15.68 6379

# 如果主服务器受密码保护，那么slave要连上master，需要有master的密码才行。
masterauth redis:123:456

# 当从库同主机失去连接或者复制正在进行，从服务器稳定输出，不报错
replica-serve-stale-data yes

# slave 服务器只读
replica-read-only yes
";

/// seeds/001: slave 2's file (`save ""` with an inline comment).
const NOTE_001_REPLICA2: &str = "# 指定 redis 只接收来自于这些地址的请求，如果不进行设置，那么将处理所有请求
bind 127.0.0.1

# 默认端口 is 6379
port 6379

# 保护模式是一层安全保护，以避免任何 Internet 上打开的 Redis 实例访问和利用。开启该参数后，redis只会本地进行访问，拒绝外部访问（这里因为允许外部IP访问，所以因该设置为 no）。
protected-mode yes

# 客户端闲置 N 秒后服务端会断开连接 (0 不关闭)
timeout 0

# 默认情况下，Redis 不会作为守护进程（守护进程）运行。 如果需要，请使用“是”。请注意，Redis 守护进程将在 /var/run/redis.pid 中写入一个 pid 文件。
daemonize yes

# 当服务器在非守护进程下运行时，如果没有 pid 文件，则不会创建在配置中指定。守护服务器时，即使未指定，也会使用pid文件，默认为“ /var/run/redis.pid”。
pidfile /var/run/redis_6379.pid

#服务端日志的级别。
loglevel notice

# 指定了记录日志的文件。空字符串的话，日志会打印到标准输出设备。后台运行的redis标准输出是/dev/null
logfile \"/var/log/redis_6379.log\"

# 数据库的数量，默认使用的数据库是0。
databases 16

# RDB 核心规则配置 save <指定时间间隔> <执行指定次数更新操作>，满足条件就将内存中的数据同步到硬盘中。
save \"\"\t\t# 禁用 rdb，由slave1服务器生成 rdb 文件即可
#save 900 1
#save 300 10
#save 60 10000

# 指定本地数据库文件名
dbfilename dump_6379.rdb

# 复制选项，slave复制对应的master。
replicaof 192.168.15.68 6379

# 如果主服务器受密码保护，那么slave要连上master，需要有master的密码才行。
masterauth redis:123:456

# 当从库同主机失去连接或者复制正在进行，从服务器稳定输出，不报错
replica-serve-stale-data yes

# slave 服务器只读
replica-read-only yes
";

/// seeds/004: the three instances' files (`/data/638N`).
fn note_004(n: u16) -> String {
    format!(
        "port {n}
daemonize yes
pidfile /data/{n}/redis.pid
loglevel notice
logfile \"/data/{n}/redis.log\"
dbfilename dump.rdb
dir /data/{n}
protected-mode no
"
    )
}

/// A config file of the notes ready to start: where it is and what to
/// expect of the daemon.
struct NoteConfig {
    dir: tempfile::TempDir,
    path: PathBuf,
    port: u16,
    extra_args: Vec<String>,
    password: Option<&'static str>,
    pidfile: PathBuf,
    logfile: PathBuf,
    /// For replicas: the port named by `replicaof` (nothing listens there).
    master_port: Option<u16>,
}

impl NoteConfig {
    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = new_temp_dir();
        let path = dir.path().join("redis.conf");
        std::fs::write(&path, text).expect("write config");
        (dir, path)
    }

    fn start(&self, name: &str, bin: &Path) -> Daemon {
        let args: Vec<&str> = self.extra_args.iter().map(String::as_str).collect();
        Daemon::launch(
            name,
            bin,
            &self.path,
            &args,
            self.dir.path(),
            self.port,
            self.password,
            &self.pidfile,
            &self.logfile,
        )
    }
}

/// seeds/000, master: no `port` and no `pidfile` line (Redis would use 6379
/// and /var/run/redis.pid), so both are given on the command line.
fn config_000_master() -> NoteConfig {
    let dir = new_temp_dir();
    let d = dir.path().display().to_string();
    let port = pick_free_port();
    let text = NOTE_000_MASTER
        .replace("192.168.0.200", "127.0.0.1")
        .replace("/data/redis", &d);
    let path = dir.path().join("redis.conf");
    std::fs::write(&path, text).expect("write config");
    let pidfile = dir.path().join("redis.pid");
    NoteConfig {
        extra_args: vec![
            "--port".into(),
            port.to_string(),
            "--pidfile".into(),
            pidfile.display().to_string(),
        ],
        path,
        port,
        password: Some("Ninestar123"),
        logfile: dir.path().join("redis.log"),
        pidfile,
        master_port: None,
        dir,
    }
}

fn config_000_replica() -> NoteConfig {
    let dir = new_temp_dir();
    let d = dir.path().display().to_string();
    let port = pick_free_port();
    let dead = pick_free_port();
    let text = NOTE_000_REPLICA
        .replace("192.168.10.1 6379", &format!("127.0.0.1 {dead}"))
        .replace("192.168.0.xx", "127.0.0.1")
        .replace("/data/redis", &d);
    let path = dir.path().join("redis.conf");
    std::fs::write(&path, text).expect("write config");
    let pidfile = dir.path().join("redis.pid");
    NoteConfig {
        extra_args: vec![
            "--port".into(),
            port.to_string(),
            "--pidfile".into(),
            pidfile.display().to_string(),
        ],
        path,
        port,
        password: Some("Ninestar123"),
        logfile: dir.path().join("redis.log"),
        pidfile,
        master_port: Some(dead),
        dir,
    }
}

/// seeds/001 files: port, pidfile and logfile adapted; no `dir` line, so the
/// server runs in (and writes its dump to) the working directory, which is
/// the temporary directory.
fn config_001(text: &str, replica: bool) -> NoteConfig {
    let port = pick_free_port();
    let dead = pick_free_port();
    let (dir, path) = NoteConfig::write("");
    let d = dir.path().display().to_string();
    let text = text
        .replace("bind 0.0.0.0\t", "bind 127.0.0.1\t")
        .replace("port 6379", &format!("port {port}"))
        .replace("/var/run/redis_6379.pid", &format!("{d}/redis_6379.pid"))
        .replace("/var/log/redis_6379.log", &format!("{d}/redis_6379.log"))
        .replace("192.168.15.68 6379", &format!("127.0.0.1 {dead}"));
    std::fs::write(&path, text).expect("write config");
    NoteConfig {
        extra_args: Vec::new(),
        path,
        port,
        password: if replica { None } else { Some("redis:123:456") },
        pidfile: dir.path().join("redis_6379.pid"),
        logfile: dir.path().join("redis_6379.log"),
        master_port: replica.then_some(dead),
        dir,
    }
}

fn config_004(n: u16) -> NoteConfig {
    let port = pick_free_port();
    let (dir, path) = NoteConfig::write("");
    let d = dir.path().display().to_string();
    let text = note_004(n)
        .replace(&format!("port {n}"), &format!("port {port}"))
        .replace(&format!("/data/{n}"), &d);
    std::fs::write(&path, text).expect("write config");
    NoteConfig {
        extra_args: Vec::new(),
        path,
        port,
        password: None,
        pidfile: dir.path().join("redis.pid"),
        logfile: dir.path().join("redis.log"),
        master_port: None,
        dir,
    }
}

/// The common checks on a daemon started from a note's file.
fn check_note_daemon(name: &str, cfg: &NoteConfig) -> Daemon {
    let mut daemon = cfg.start(name, &replikv_bin());
    if let Some(pw) = cfg.password {
        // The password is the value without the inline comment.
        let mut conn = RawConn::connect(cfg.port);
        let reply = raw_cmd(&mut conn, &["GET", "k"]);
        assert_eq!(
            show(&reply),
            show(b"-NOAUTH Authentication required.\r\n"),
            "[{name}] GET before AUTH"
        );
        let reply = raw_cmd(&mut conn, &["AUTH", pw]);
        assert_eq!(show(&reply), show(b"+OK\r\n"), "[{name}] AUTH {pw}");
    }
    let log = daemon.log();
    assert!(
        log.contains("Ready to accept connections"),
        "[{name}] the log file {} does not say 'Ready to accept connections':\n{log}",
        cfg.logfile.display()
    );
    let mut conn = daemon.conn();
    let reply = raw_cmd(&mut conn, &["CONFIG", "GET", "daemonize"]);
    assert_eq!(
        show(&reply),
        show(b"*2\r\n$9\r\ndaemonize\r\n$3\r\nyes\r\n"),
        "[{name}] CONFIG GET daemonize"
    );
    daemon.shutdown_and_check();
    daemon
}

#[test]
fn note_000_master_config_starts_and_answers_ping() {
    let cfg = config_000_master();
    check_note_daemon("000-master", &cfg);
}

#[test]
fn note_000_replica_config_starts_and_answers_ping() {
    let cfg = config_000_replica();
    check_note_daemon("000-replica", &cfg);
}

#[test]
fn note_001_master_config_starts_and_answers_ping() {
    let cfg = config_001(NOTE_001_MASTER, false);
    let daemon = cfg.start("001-master", &replikv_bin());
    let mut conn = daemon.conn();
    for (param, expected) in [
        ("requirepass", "redis:123:456"),
        ("save", ""),
        ("databases", "16"),
        ("dbfilename", "dump_6379.rdb"),
        ("protected-mode", "no"),
        ("timeout", "0"),
        ("loglevel", "notice"),
    ] {
        let reply = raw_cmd(&mut conn, &["CONFIG", "GET", param]);
        let want = encode(&[param, expected]);
        assert_eq!(show(&reply), show(&want), "[001-master] CONFIG GET {param}");
    }
    drop(conn);
    // redis-cli with the password containing ':'.
    let out = redis_cli(
        cfg.port,
        &["-a", "redis:123:456", "--no-auth-warning", "ping"],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "PONG\n",
        "[001-master] redis-cli -a redis:123:456 ping: {out:?}"
    );
    let mut daemon = daemon;
    daemon.shutdown_and_check();
}

#[test]
fn note_001_replica_configs_start_and_answer_ping() {
    for (name, text) in [
        ("001-slave1", NOTE_001_REPLICA1),
        ("001-slave2", NOTE_001_REPLICA2),
    ] {
        let cfg = config_001(text, true);
        let mut daemon = cfg.start(name, &replikv_bin());
        let mut conn = daemon.conn();
        let save = raw_cmd(&mut conn, &["CONFIG", "GET", "save"]);
        let expected_save: &[u8] = if name == "001-slave1" {
            b"*2\r\n$4\r\nsave\r\n$21\r\n900 1 300 10 60 10000\r\n"
        } else {
            b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n"
        };
        assert_eq!(show(&save), show(expected_save), "[{name}] CONFIG GET save");
        let masterauth = raw_cmd(&mut conn, &["CONFIG", "GET", "masterauth"]);
        assert_eq!(
            show(&masterauth),
            show(b"*2\r\n$10\r\nmasterauth\r\n$13\r\nredis:123:456\r\n"),
            "[{name}] CONFIG GET masterauth"
        );
        drop(conn);
        daemon.shutdown_and_check();
    }
}

/// The replicas of the notes: `replicaof` in the file makes the server a
/// replica at once (`INFO replication` says so even while the master is
/// unreachable), like redis-server.
#[test]
fn note_replica_configs_report_role_slave() {
    let mut failures = Vec::new();
    let configs = [
        ("000-replica", config_000_replica()),
        ("001-slave1", config_001(NOTE_001_REPLICA1, true)),
        ("001-slave2", config_001(NOTE_001_REPLICA2, true)),
    ];
    for (name, cfg) in &configs {
        let daemon = cfg.start(name, &replikv_bin());
        let info = daemon.info("replication");
        let dead = cfg.master_port.expect("replica config");
        for want in [
            "role:slave".to_string(),
            "master_host:127.0.0.1".to_string(),
            format!("master_port:{dead}"),
            "master_link_status:down".to_string(),
        ] {
            if !info.lines().any(|l| l.trim_end() == want) {
                failures.push(format!("[{name}] INFO replication lacks `{want}`"));
            }
        }
        if !failures.is_empty() {
            failures.push(format!("[{name}] INFO replication was:\n{info}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn note_004_three_instances_start_as_masters() {
    let configs: Vec<NoteConfig> = (6380..=6382).map(config_004).collect();
    let mut daemons: Vec<Daemon> = configs
        .iter()
        .zip(6380..)
        .map(|(cfg, n)| cfg.start(&format!("004-{n}"), &replikv_bin()))
        .collect();
    for (cfg, daemon) in configs.iter().zip(&daemons) {
        // `redis-cli -p 6381 info Replication` as in the note.
        let out = redis_cli(cfg.port, &["info", "Replication"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.lines().any(|l| l.trim_end() == "role:master"),
            "[{}] redis-cli info Replication: {text}",
            daemon.name
        );
        // `dir` is honoured: the server runs in it.
        let out = redis_cli(cfg.port, &["config", "get", "dir"]);
        let text = String::from_utf8_lossy(&out.stdout);
        let canonical = cfg.dir.path().canonicalize().expect("canonical dir");
        assert!(
            text.contains(&*canonical.to_string_lossy())
                || text.contains(&*cfg.dir.path().to_string_lossy()),
            "[{}] config get dir: {text}",
            daemon.name
        );
    }
    for daemon in &mut daemons {
        daemon.shutdown_and_check();
    }
}

// ---------------------------------------------------------------------------
// Daemon mode
// ---------------------------------------------------------------------------

/// `daemonize yes` + `pidfile` + `logfile`: the launching command returns
/// with status 0, the pid file names a running process that answers PING
/// and is detached from the launcher's output, SHUTDOWN removes the pid
/// file and the process exits. Checked against both servers.
#[test]
fn daemonize_pidfile_logfile_lifecycle() {
    for kind in [ServerKind::Replikv, ServerKind::Redis] {
        let port = pick_free_port();
        let (dir, path) = NoteConfig::write("");
        let d = dir.path().display();
        std::fs::write(
            &path,
            format!(
                "# daemon test\nport {port}\nbind 127.0.0.1\ndaemonize yes\npidfile {d}/run/server.pid\n\
                 logfile \"{d}/server.log\"\ndir {d}\nsave \"\"\n"
            ),
        )
        .expect("write config");
        std::fs::create_dir(dir.path().join("run")).expect("mkdir run");
        let mut daemon = Daemon::launch(
            kind.name(),
            &kind.bin(),
            &path,
            &[],
            dir.path(),
            port,
            None,
            &dir.path().join("run/server.pid"),
            &dir.path().join("server.log"),
        );
        let pid = daemon.pid.expect("pid");
        // Detached: the standard descriptors no longer point at the
        // launcher's output file (Redis points them at /dev/null).
        for fd in 0..=2 {
            let target = fd_target(pid, fd);
            assert!(
                !target.contains("launcher.out"),
                "[{}] daemon fd {fd} still points at the launcher's output ({target})",
                kind.name()
            );
        }
        let log = daemon.log();
        assert!(
            log.contains("Ready to accept connections"),
            "[{}] log file does not say 'Ready to accept connections':\n{log}",
            kind.name()
        );
        // INFO server reports the daemon's pid and the config file.
        let info = daemon.info("server");
        assert!(
            info.lines()
                .any(|l| l.trim_end() == format!("process_id:{pid}")),
            "[{}] INFO server lacks process_id:{pid}:\n{info}",
            kind.name()
        );
        assert!(
            info.lines()
                .any(|l| l.trim_end() == format!("config_file:{}", path.display())),
            "[{}] INFO server lacks config_file:{}:\n{info}",
            kind.name(),
            path.display()
        );
        daemon.shutdown_and_check();
    }
}

// ---------------------------------------------------------------------------
// Start-up errors
// ---------------------------------------------------------------------------

/// The FATAL CONFIG FILE ERROR block with the implementation's name
/// normalized: `(Redis 7.0.15)` / `(replikv 7.0.15)` -> `(<server> 7.0.15)`.
fn fatal_block(log: &str) -> String {
    let mut lines = Vec::new();
    let mut inside = false;
    for line in log.lines() {
        if line.contains("FATAL CONFIG FILE ERROR") {
            inside = true;
            let normalized = match (line.find('('), line.rfind(' ')) {
                (Some(open), Some(_)) => {
                    let rest = &line[open + 1..];
                    let version = rest
                        .split_once(')')
                        .map(|(inner, _)| inner.rsplit(' ').next().unwrap_or(inner))
                        .unwrap_or("");
                    format!(
                        "{}(<server> {version}){}",
                        &line[..open],
                        line.rsplit_once(')').map(|(_, t)| t).unwrap_or("")
                    )
                }
                _ => line.to_string(),
            };
            lines.push(normalized);
            continue;
        }
        if inside {
            lines.push(line.to_string());
        }
    }
    lines.join("\n").trim().to_string()
}

#[test]
fn bad_config_stops_startup_like_redis() {
    let cases: &[(&str, Option<&str>, &[&str])] = &[
        (
            "unknown directive",
            Some("# a comment\nport 6379\n\nno-such-directive yes\nsave \"\"\n"),
            &[],
        ),
        ("malformed port", Some("# header\n\nport abc\n"), &[]),
        ("bad yes/no", Some("# header\nappendonly perhaps\n"), &[]),
        ("bad memory value", Some("maxmemory lots\n"), &[]),
        ("bad enum", Some("loglevel loud\n"), &[]),
        ("wrong number of arguments", Some("port 6379 6380\n"), &[]),
        ("out of range", Some("databases 0\n"), &[]),
        (
            "unknown option on the command line",
            None,
            &["--no-such-option", "1"],
        ),
        (
            "malformed option on the command line",
            None,
            &["--maxclients", "abc"],
        ),
    ];
    let mut failures = Vec::new();
    for (label, config, args) in cases {
        let (ref_status, ref_log) =
            Server::expect_startup_failure(ServerKind::Redis, *config, args);
        let (status, log) = Server::expect_startup_failure(ServerKind::Replikv, *config, args);
        assert!(
            !ref_status.success(),
            "harness bug: redis-server accepted the {label} case"
        );
        if status.success() || status.code().is_none() {
            failures.push(format!(
                "{label}: replikv exited with {status} (expected a non-zero exit status)\n{log}"
            ));
        }
        let expected = fatal_block(&ref_log);
        let got = fatal_block(&log);
        if got != expected {
            failures.push(format!(
                "{label}: start-up error differs\n--- replikv ---\n{got}\n--- redis-server ---\n{expected}\n--- replikv full output ---\n{log}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------
// CONFIG GET / SET
// ---------------------------------------------------------------------------

/// CONFIG GET reply as a name -> value map.
fn config_map(raw: &[u8]) -> BTreeMap<String, String> {
    let value = redis::parse_redis_value(raw)
        .unwrap_or_else(|e| panic!("cannot parse CONFIG GET reply {}: {e}", show(raw)));
    let items: Vec<redis::Value> = match value {
        redis::Value::Array(items) => items,
        redis::Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        other => panic!("CONFIG GET reply is not an array: {other:?}"),
    };
    let text = |v: &redis::Value| match v {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => format!("{other:?}"),
    };
    items
        .chunks(2)
        .map(|pair| (text(&pair[0]), pair.get(1).map(text).unwrap_or_default()))
        .collect()
}

/// Parameters whose values legitimately differ between two instances.
const INSTANCE_SPECIFIC: &[&str] = &["port", "dir", "pidfile", "logfile", "unixsocket"];

#[test]
fn config_get_globs_and_several_patterns_match_redis() {
    let subject = Server::replikv(&[]);
    let reference = Server::redis(&[]);
    let mut s = subject.raw();
    let mut r = reference.raw();
    let mut failures = Vec::new();
    for args in [
        &["CONFIG", "GET", "maxmemory"][..],
        &["CONFIG", "GET", "MAXMEMORY"],
        &["CONFIG", "GET", "maxmemory", "timeout", "databases"],
        &["CONFIG", "GET", "*-read-only"],
        &["CONFIG", "GET", "repl-*"],
        &["CONFIG", "GET", "*max*-entries*", "port"],
        &["CONFIG", "GET", "save", "appendonly", "appendfsync"],
        &["CONFIG", "GET", "slave-*", "replica-*"],
        &["CONFIG", "GET", "maxmemory-polic?", "hz", "h?"],
        &["CONFIG", "GET", "timeout", "timeout", "time*"],
        &["CONFIG", "GET", "no-such-parameter"],
        &["CONFIG", "GET", "[ab]*"],
        &[
            "CONFIG",
            "GET",
            "daemonize",
            "requirepass",
            "masterauth",
            "bind",
        ],
    ] {
        let got = raw_cmd(&mut s, args);
        let expected = raw_cmd(&mut r, args);
        let mut got_map = config_map(&got);
        let mut expected_map = config_map(&expected);
        for name in INSTANCE_SPECIFIC {
            if let (Some(a), Some(_)) = (got_map.get_mut(*name), expected_map.get(*name)) {
                *a = "<instance-specific>".into();
            }
            if let Some(b) = expected_map.get_mut(*name) {
                *b = "<instance-specific>".into();
            }
        }
        if got_map != expected_map {
            let missing: Vec<_> = expected_map
                .iter()
                .filter(|(k, _)| !got_map.contains_key(*k))
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect();
            let extra: Vec<_> = got_map
                .iter()
                .filter(|(k, _)| !expected_map.contains_key(*k))
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect();
            let differ: Vec<_> = got_map
                .iter()
                .filter_map(|(k, v)| {
                    expected_map
                        .get(k)
                        .filter(|e| *e != v)
                        .map(|e| format!("{k}: replikv {v:?}, redis {e:?}"))
                })
                .collect();
            failures.push(format!(
                "{}:\n    missing in replikv: {missing:?}\n    only in replikv: {extra:?}\n    different values: {differ:?}",
                args.join(" ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// CONFIG GET * lists every parameter redis-server 7.0 lists, with the same
/// default values.
#[test]
fn config_get_star_lists_every_redis_parameter_with_its_default() {
    let subject = Server::replikv(&[]);
    let reference = Server::redis(&[]);
    let got = config_map(&raw_cmd(&mut subject.raw(), &["CONFIG", "GET", "*"]));
    let expected = config_map(&raw_cmd(&mut reference.raw(), &["CONFIG", "GET", "*"]));
    let missing: Vec<_> = expected.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
    let differ: Vec<_> = got
        .iter()
        .filter(|(k, _)| !INSTANCE_SPECIFIC.contains(&k.as_str()))
        .filter_map(|(k, v)| {
            expected
                .get(k)
                .filter(|e| *e != v)
                .map(|e| format!("{k}: replikv {v:?}, redis {e:?}"))
        })
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "CONFIG GET * differs from redis-server 7.0.15:\n  {} parameters missing in replikv: {missing:?}\n  \
         parameters redis 7.0 does not have: {extra:?}\n  different defaults: {differ:#?}",
        missing.len()
    );
}

#[test]
fn config_set_errors_match_redis() {
    let subject = Server::replikv(&[]);
    let reference = Server::redis(&[]);
    let mut s = subject.raw();
    let mut r = reference.raw();
    let mut failures = Vec::new();
    let watched = [
        "CONFIG",
        "GET",
        "maxmemory",
        "timeout",
        "replica-read-only",
        "hz",
        "loglevel",
        "maxclients",
    ];
    for args in [
        &["CONFIG", "SET", "no-such-parameter", "1"][..],
        &["CONFIG", "SET", "daemonize", "yes"],
        &["CONFIG", "SET", "daemonize", "no"],
        &["CONFIG", "SET", "databases", "20"],
        &["CONFIG", "SET", "timeout", "abc"],
        &["CONFIG", "SET", "timeout", "-1"],
        &["CONFIG", "SET", "hz", "1.5"],
        &["CONFIG", "SET", "maxmemory", "abc"],
        &["CONFIG", "SET", "maxmemory", "10zb"],
        &["CONFIG", "SET", "replica-read-only", "maybe"],
        &["CONFIG", "SET", "appendonly", "2"],
        &["CONFIG", "SET", "loglevel", "loud"],
        &["CONFIG", "SET", "maxclients", "0"],
        // Several pairs, one bad: error and nothing changed.
        &[
            "CONFIG",
            "SET",
            "maxmemory",
            "10mb",
            "timeout",
            "30",
            "replica-read-only",
            "maybe",
        ],
        &[
            "CONFIG",
            "SET",
            "maxmemory",
            "10mb",
            "no-such-parameter",
            "1",
        ],
        &["CONFIG", "SET", "timeout", "30", "daemonize", "yes"],
        &["CONFIG", "SET", "hz", "20", "hz", "30"],
        &["CONFIG", "SET", "maxmemory", "10mb", "maxmemory", "10mb"],
        &["CONFIG", "SET"],
        &["CONFIG", "SET", "timeout"],
        &["CONFIG", "SET", "timeout", "1", "hz"],
        &["CONFIG", "GET"],
        &["CONFIG", "NOSUCH"],
        &["CONFIG"],
        // Valid multi-pair set, then the values.
        &[
            "CONFIG",
            "SET",
            "maxmemory",
            "10mb",
            "timeout",
            "30",
            "replica-read-only",
            "no",
            "loglevel",
            "warning",
        ],
        &["CONFIG", "SET", "MAXMEMORY", "2gb", "Timeout", "0"],
    ] {
        let got = raw_cmd(&mut s, args);
        let expected = raw_cmd(&mut r, args);
        if got != expected {
            failures.push(format!(
                "{}\n    replikv:      {}\n    redis-server: {}",
                args.join(" "),
                show(&got),
                show(&expected)
            ));
        }
        // After every attempt the watched values must agree.
        let got = config_map(&raw_cmd(&mut s, &watched));
        let expected = config_map(&raw_cmd(&mut r, &watched));
        if got != expected {
            failures.push(format!(
                "after {}: values differ\n    replikv:      {got:?}\n    redis-server: {expected:?}",
                args.join(" ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn config_set_several_pairs_is_atomic() {
    let server = Server::replikv(&[]);
    let mut c = server.raw();
    let before = config_map(&raw_cmd(
        &mut c,
        &[
            "CONFIG",
            "GET",
            "maxmemory",
            "timeout",
            "hz",
            "replica-read-only",
        ],
    ));
    let reply = raw_cmd(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "maxmemory",
            "10mb",
            "timeout",
            "30",
            "hz",
            "20",
            "replica-read-only",
            "maybe",
        ],
    );
    assert!(
        reply.starts_with(b"-ERR"),
        "expected an error: {}",
        show(&reply)
    );
    let after = config_map(&raw_cmd(
        &mut c,
        &[
            "CONFIG",
            "GET",
            "maxmemory",
            "timeout",
            "hz",
            "replica-read-only",
        ],
    ));
    assert_eq!(after, before, "a failed CONFIG SET changed some values");
    let reply = raw_cmd(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "maxmemory",
            "10mb",
            "timeout",
            "30",
            "hz",
            "20",
        ],
    );
    assert_eq!(show(&reply), show(b"+OK\r\n"));
    let after = config_map(&raw_cmd(
        &mut c,
        &["CONFIG", "GET", "maxmemory", "timeout", "hz"],
    ));
    let expected: BTreeMap<String, String> =
        [("maxmemory", "10485760"), ("timeout", "30"), ("hz", "20")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    assert_eq!(after, expected);
}

// ---------------------------------------------------------------------------
// CONFIG REWRITE
// ---------------------------------------------------------------------------

const REWRITE_CONFIG: &str = "# replikv rewrite test
# (this header must survive CONFIG REWRITE)

# memory limit, changed at run time
maxmemory 1mb

# replicas are read-only
replica-read-only yes
timeout 0
loglevel notice   
databases 16
# trailing comment
";

fn changed_values(server: &Server) -> BTreeMap<String, String> {
    config_map(&raw_cmd(
        &mut server.raw(),
        &[
            "CONFIG",
            "GET",
            "maxmemory",
            "replica-read-only",
            "hz",
            "timeout",
            "loglevel",
            "databases",
            "maxmemory-policy",
        ],
    ))
}

fn set_and_rewrite(server: &Server) {
    let mut c = server.raw();
    let reply = raw_cmd(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "maxmemory",
            "10mb",
            "replica-read-only",
            "no",
            "hz",
            "15",
            "maxmemory-policy",
            "allkeys-lru",
        ],
    );
    assert_eq!(show(&reply), show(b"+OK\r\n"), "CONFIG SET");
    let reply = raw_cmd(&mut c, &["CONFIG", "REWRITE"]);
    assert_eq!(
        show(&reply),
        show(b"+OK\r\n"),
        "CONFIG REWRITE on {}",
        server.kind().name()
    );
}

#[test]
fn config_rewrite_round_trip() {
    let server = Server::start_with_config(ServerKind::Replikv, REWRITE_CONFIG);
    set_and_rewrite(&server);
    let path = server.dir().join(replikv_tests::CONFIG_FILE);
    let text = std::fs::read_to_string(&path).expect("read rewritten config");
    let lines: Vec<&str> = text.lines().collect();
    let original: Vec<&str> = REWRITE_CONFIG.lines().collect();

    // Comments (and blank lines) survive, in order, at their places.
    for (i, line) in original.iter().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            assert_eq!(
                lines.get(i).copied(),
                Some(*line),
                "line {} of the rewritten file should still be {line:?}; file:\n{text}",
                i + 1
            );
        }
    }
    // Changed lines are updated in place.
    let at = |prefix: &str| {
        original
            .iter()
            .position(|l| l.starts_with(prefix))
            .expect("line in original")
    };
    let maxmemory = lines.get(at("maxmemory ")).copied().unwrap_or("");
    assert!(
        maxmemory == "maxmemory 10mb" || maxmemory == "maxmemory 10485760",
        "maxmemory line not updated in place: {maxmemory:?}; file:\n{text}"
    );
    assert_eq!(
        lines.get(at("replica-read-only ")).copied(),
        Some("replica-read-only no"),
        "replica-read-only not updated in place; file:\n{text}"
    );
    assert_eq!(
        lines.get(at("timeout ")).copied(),
        Some("timeout 0"),
        "unchanged timeout line; file:\n{text}"
    );
    // New ones go under the marker, each once.
    let marker = lines
        .iter()
        .position(|l| *l == "# Generated by CONFIG REWRITE")
        .unwrap_or_else(|| panic!("no '# Generated by CONFIG REWRITE' line; file:\n{text}"));
    for want in ["hz 15", "maxmemory-policy allkeys-lru"] {
        let found: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| **l == want)
            .map(|(i, _)| i)
            .collect();
        assert!(
            found.len() == 1 && found[0] > marker,
            "{want:?} should appear once after the marker (line {}); found at {found:?}; file:\n{text}",
            marker + 1
        );
    }
    for name in ["maxmemory", "replica-read-only", "timeout", "loglevel"] {
        let count = lines
            .iter()
            .filter(|l| l.split_whitespace().next() == Some(name))
            .count();
        assert_eq!(count, 1, "{name} appears {count} times; file:\n{text}");
    }
    // A server started from the rewritten file has the same values.
    let restarted = Server::start_with_config(ServerKind::Replikv, &text);
    assert_eq!(
        changed_values(&restarted),
        changed_values(&server),
        "CONFIG GET after starting from the rewritten file; file:\n{text}"
    );
    // Rewriting again without changes keeps the file stable.
    let reply = raw_cmd(&mut server.raw(), &["CONFIG", "REWRITE"]);
    assert_eq!(show(&reply), show(b"+OK\r\n"));
    let again = std::fs::read_to_string(&path).expect("read config");
    // (Redis itself may add a trailing blank line; ignore trailing space.)
    assert_eq!(
        again.trim_end(),
        text.trim_end(),
        "a second CONFIG REWRITE changed the file"
    );
}

/// The lines CONFIG REWRITE writes for the changed values are the ones
/// redis-server writes (e.g. memory values in their human form).
#[test]
fn config_rewrite_lines_match_redis() {
    let mut files = Vec::new();
    for kind in [ServerKind::Replikv, ServerKind::Redis] {
        let server = Server::start_with_config(kind, REWRITE_CONFIG);
        set_and_rewrite(&server);
        let text = std::fs::read_to_string(server.dir().join(replikv_tests::CONFIG_FILE))
            .expect("read rewritten config");
        files.push(text);
    }
    // The order of the lines appended under the marker is Redis's table
    // order, which does not matter: compare as sets.
    let pick = |text: &str| -> BTreeSet<String> {
        text.lines()
            .filter(|l| {
                matches!(
                    l.split_whitespace().next(),
                    Some("maxmemory" | "replica-read-only" | "hz" | "maxmemory-policy" | "timeout")
                )
            })
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        pick(&files[0]),
        pick(&files[1]),
        "rewritten lines differ\n--- replikv ---\n{}\n--- redis-server ---\n{}",
        files[0],
        files[1]
    );
}

/// CONFIG REWRITE works when the server was started with a config path
/// relative to its launch directory and `dir` points elsewhere (Redis
/// remembers the absolute path at start-up).
#[test]
fn config_rewrite_with_relative_config_path() {
    for kind in [ServerKind::Replikv, ServerKind::Redis] {
        let top = new_temp_dir();
        std::fs::create_dir(top.path().join("etc")).expect("mkdir etc");
        std::fs::create_dir(top.path().join("data")).expect("mkdir data");
        let port = pick_free_port();
        std::fs::write(
            top.path().join("etc/redis.conf"),
            format!("# relative\nport {port}\nbind 127.0.0.1\nsave \"\"\n"),
        )
        .expect("write config");
        let data = top.path().join("data").display().to_string();
        let server = Foreground::spawn(
            &kind.bin(),
            &["etc/redis.conf", "--dir", &data],
            top.path(),
            port,
        );
        let mut c = RawConn::connect(port);
        assert_eq!(raw_cmd(&mut c, &["CONFIG", "SET", "hz", "17"]), b"+OK\r\n");
        let reply = raw_cmd(&mut c, &["CONFIG", "REWRITE"]);
        assert_eq!(
            show(&reply),
            show(b"+OK\r\n"),
            "[{}] CONFIG REWRITE with config file etc/redis.conf (relative) and dir {data}; log:\n{}",
            kind.name(),
            server.log()
        );
        let text = std::fs::read_to_string(top.path().join("etc/redis.conf")).expect("read config");
        assert!(
            text.lines().any(|l| l == "hz 17"),
            "[{}] etc/redis.conf not rewritten:\n{text}",
            kind.name()
        );
        let info = bulk_text(&raw_cmd(&mut c, &["INFO", "server"]));
        let expected = top.path().join("etc/redis.conf");
        assert!(
            info.lines()
                .any(|l| l.trim_end() == format!("config_file:{}", expected.display())),
            "[{}] INFO server should report the absolute config path {}:\n{info}",
            kind.name(),
            expected.display()
        );
    }
}

// ---------------------------------------------------------------------------
// AUTH
// ---------------------------------------------------------------------------

#[test]
fn auth_replies_match_redis() {
    let pw = "redis:123:456";
    let subject = Server::replikv(&["--requirepass", pw]);
    let reference = Server::redis(&["--requirepass", pw]);
    let mut failures = Vec::new();
    // (command, compare the whole reply or only its type)
    let sessions: &[&[(&[&str], bool)]] = &[
        &[
            (&["GET", "k"], true),
            (&["PING"], true),
            (&["SET", "k", "v"], true),
            (&["AUTH", "wrong"], true),
            (&["AUTH", "default", "wrong"], true),
            (&["AUTH", "nobody", pw], true),
            (&["AUTH"], true),
            (&["AUTH", "a", "b", "c"], true),
            (&["HELLO", "3", "AUTH", "default", "wrong"], true),
            (&["GET", "k"], true),
            (&["AUTH", pw], true),
            (&["GET", "k"], true),
            (&["AUTH", "wrong"], true),
            // A failed AUTH does not log an authenticated client out.
            (&["GET", "k"], true),
        ],
        &[(&["AUTH", "default", pw], true), (&["SET", "k", "v"], true)],
        &[
            (&["HELLO", "3", "AUTH", "default", pw], false),
            (&["GET", "k"], true),
            (&["GET", "missing"], true),
        ],
        &[
            (
                &["HELLO", "2", "AUTH", "default", pw, "SETNAME", "me"],
                false,
            ),
            (&["CLIENT", "GETNAME"], true),
        ],
        // HELLO without AUTH before authenticating.
        &[
            (&["HELLO"], true),
            (&["HELLO", "3"], true),
            (&["GET", "k"], true),
        ],
        // QUIT is allowed unauthenticated.
        &[(&["QUIT"], true)],
    ];
    for (i, session) in sessions.iter().enumerate() {
        let mut s = subject.raw();
        let mut r = reference.raw();
        for (args, exact) in session.iter() {
            let got = raw_cmd(&mut s, args);
            let expected = raw_cmd(&mut r, args);
            let same = if *exact {
                got == expected
            } else {
                got.first() == expected.first()
            };
            if !same {
                failures.push(format!(
                    "session {i}: {}\n    replikv:      {}\n    redis-server: {}",
                    args.join(" "),
                    show(&got),
                    show(&expected)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn auth_without_requirepass_matches_redis() {
    let subject = Server::replikv(&[]);
    let reference = Server::redis(&[]);
    let mut s = subject.raw();
    let mut r = reference.raw();
    let mut failures = Vec::new();
    for args in [
        &["AUTH", "whatever"][..],
        &["AUTH", "default", "whatever"],
        &["AUTH", "nobody", "whatever"],
        &["HELLO", "2", "AUTH", "default", "whatever"],
        &["PING"],
    ] {
        let got = raw_cmd(&mut s, args);
        let expected = raw_cmd(&mut r, args);
        let same = if args[0] == "HELLO" {
            got.first() == expected.first()
        } else {
            got == expected
        };
        if !same {
            failures.push(format!(
                "{}\n    replikv:      {}\n    redis-server: {}",
                args.join(" "),
                show(&got),
                show(&expected)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// requirepass set at run time with CONFIG SET applies to new connections;
/// the current one stays authenticated (like Redis).
#[test]
fn requirepass_set_at_run_time() {
    let subject = Server::replikv(&[]);
    let reference = Server::redis(&[]);
    let mut failures = Vec::new();
    let mut s = subject.raw();
    let mut r = reference.raw();
    for args in [
        &["CONFIG", "SET", "requirepass", "s3cret"][..],
        &["GET", "k"],
    ] {
        let got = raw_cmd(&mut s, args);
        let expected = raw_cmd(&mut r, args);
        if got != expected {
            failures.push(format!(
                "{}: replikv {} redis {}",
                args.join(" "),
                show(&got),
                show(&expected)
            ));
        }
    }
    let mut s2 = subject.raw();
    let mut r2 = reference.raw();
    for args in [&["GET", "k"][..], &["AUTH", "s3cret"], &["GET", "k"]] {
        let got = raw_cmd(&mut s2, args);
        let expected = raw_cmd(&mut r2, args);
        if got != expected {
            failures.push(format!(
                "new connection: {}: replikv {} redis {}",
                args.join(" "),
                show(&got),
                show(&expected)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// INFO
// ---------------------------------------------------------------------------

/// Section name (as printed, e.g. "Server") -> field names, in order.
fn info_sections(text: &str) -> Vec<(String, Vec<String>)> {
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(name) = line.strip_prefix("# ") {
            sections.push((name.to_string(), Vec::new()));
        } else if let Some((field, _)) = line.split_once(':') {
            if let Some(last) = sections.last_mut() {
                last.1.push(field.to_string());
            }
        }
    }
    sections
}

fn info_text(conn: &mut RawConn, args: &[&str]) -> String {
    bulk_text(&raw_cmd(conn, args))
}

fn prepare_info_data(conn: &mut RawConn) {
    for args in [
        &["SET", "a", "1"][..],
        &["SET", "b", "2", "EX", "1000"],
        &["SELECT", "3"],
        &["SET", "c", "3"],
        &["SELECT", "0"],
        &["GET", "a"],
        &["NOSUCHCOMMAND"],
    ] {
        raw_cmd(conn, args);
    }
}

#[test]
fn info_everything_has_every_reference_field() {
    let subject = Server::replikv(&[]);
    let reference = Server::redis(&[]);
    let mut s = subject.raw();
    let mut r = reference.raw();
    prepare_info_data(&mut s);
    prepare_info_data(&mut r);
    let got = info_sections(&info_text(&mut s, &["INFO", "everything"]));
    let expected = info_sections(&info_text(&mut r, &["INFO", "everything"]));
    let mut failures = Vec::new();
    let got_names: Vec<&String> = got.iter().map(|(n, _)| n).collect();
    for (name, fields) in &expected {
        let Some((_, got_fields)) = got.iter().find(|(n, _)| n == name) else {
            failures.push(format!(
                "section `# {name}` missing (replikv has {got_names:?})"
            ));
            continue;
        };
        let lower = name.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "commandstats" | "errorstats" | "latencystats" | "modules"
        ) {
            continue;
        }
        let missing: Vec<&String> = fields.iter().filter(|f| !got_fields.contains(f)).collect();
        if !missing.is_empty() {
            failures.push(format!("section `# {name}` lacks fields {missing:?}"));
        }
    }
    let expected_names: Vec<&String> = expected.iter().map(|(n, _)| n).collect();
    let got_order: Vec<&String> = got_names
        .iter()
        .copied()
        .filter(|n| expected_names.contains(n))
        .collect();
    if got_order != expected_names {
        failures.push(format!(
            "section order differs: replikv {got_names:?}, redis {expected_names:?}"
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn info_section_selection_matches_redis() {
    let subject = Server::replikv(&[]);
    let reference = Server::redis(&[]);
    let mut s = subject.raw();
    let mut r = reference.raw();
    prepare_info_data(&mut s);
    prepare_info_data(&mut r);
    let mut failures = Vec::new();
    for args in [
        &["INFO"][..],
        &["INFO", "default"],
        &["INFO", "all"],
        &["INFO", "everything"],
        &["INFO", "server"],
        &["INFO", "SeRvEr"],
        &["INFO", "REPLICATION"],
        &["INFO", "server", "clients"],
        &["INFO", "Keyspace", "memory", "CPU"],
        &["INFO", "server", "server"],
        &["INFO", "default", "commandstats"],
        &["INFO", "commandstats"],
        &["INFO", "errorstats"],
        &["INFO", "latencystats"],
        &["INFO", "modules"],
        &["INFO", "cluster"],
        &["INFO", "persistence", "stats"],
    ] {
        let got = info_text(&mut s, args);
        let expected = info_text(&mut r, args);
        let got_names: Vec<String> = info_sections(&got).into_iter().map(|(n, _)| n).collect();
        let expected_names: Vec<String> = info_sections(&expected)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        if got_names != expected_names {
            failures.push(format!(
                "{}: sections replikv {got_names:?}, redis {expected_names:?}",
                args.join(" ")
            ));
        }
    }
    // Unknown sections: the same raw reply (an empty bulk string).
    for args in [&["INFO", "nosuch"][..], &["INFO", "nosuch", "alsono"]] {
        let got = raw_cmd(&mut s, args);
        let expected = raw_cmd(&mut r, args);
        if got != expected {
            failures.push(format!(
                "{}: replikv {}, redis {}",
                args.join(" "),
                show(&got),
                show(&expected)
            ));
        }
    }
    // Keyspace lines: same shape for the same data.
    let keyspace = |conn: &mut RawConn| -> Vec<String> {
        info_text(conn, &["INFO", "keyspace"])
            .lines()
            .filter(|l| l.starts_with("db"))
            .map(|l| {
                // avg_ttl depends on timing; keep the rest.
                l.trim_end()
                    .split(',')
                    .map(|part| {
                        if part.starts_with("avg_ttl=") {
                            "avg_ttl=<n>".to_string()
                        } else {
                            part.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    };
    let got = keyspace(&mut s);
    let expected = keyspace(&mut r);
    if got != expected {
        failures.push(format!(
            "INFO keyspace lines: replikv {got:?}, redis {expected:?}"
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// CLIENT
// ---------------------------------------------------------------------------

/// Parses a CLIENT INFO / CLIENT LIST line into field -> value.
fn client_fields(line: &str) -> BTreeMap<String, String> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn client_setname_getname_id_info_list() {
    let subject = Server::replikv(&[]);
    let reference = Server::redis(&[]);
    let mut failures = Vec::new();
    // Error texts and simple replies, compared raw.
    {
        let mut s = subject.raw();
        let mut r = reference.raw();
        for args in [
            &["CLIENT", "GETNAME"][..],
            &["CLIENT", "SETNAME", "worker-1"],
            &["CLIENT", "GETNAME"],
            &["CLIENT", "SETNAME", "has space"],
            &["CLIENT", "SETNAME", "new\nline"],
            &["CLIENT", "GETNAME"],
            &["CLIENT", "SETNAME", ""],
            &["CLIENT", "GETNAME"],
            &["CLIENT", "SETNAME"],
            &["CLIENT", "NOSUCH"],
            &["CLIENT", "KILL", "ID", "999999"],
            &["CLIENT", "KILL", "127.0.0.1:1"],
            &["CLIENT", "KILL", "ADDR", "127.0.0.1:1"],
            &["CLIENT", "KILL", "TYPE", "nosuch"],
            &["CLIENT", "KILL", "ID", "abc"],
            &["CLIENT", "KILL", "SKIPME", "maybe"],
            &["CLIENT", "KILL", "ID"],
            &["CLIENT", "LIST", "TYPE", "nosuch"],
            &["CLIENT", "LIST", "ID", "abc"],
        ] {
            let got = raw_cmd(&mut s, args);
            let expected = raw_cmd(&mut r, args);
            if got != expected {
                failures.push(format!(
                    "{}\n    replikv:      {}\n    redis-server: {}",
                    args.join(" "),
                    show(&got),
                    show(&expected)
                ));
            }
        }
    }
    // CLIENT INFO has every field redis-server prints.
    let ref_info = bulk_text(&raw_cmd(&mut reference.raw(), &["CLIENT", "INFO"]));
    let mut c = subject.raw();
    raw_cmd(&mut c, &["CLIENT", "SETNAME", "me"]);
    let id_reply = raw_cmd(&mut c, &["CLIENT", "ID"]);
    let id: u64 = String::from_utf8_lossy(&id_reply)
        .trim()
        .strip_prefix(':')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("CLIENT ID: {}", show(&id_reply)));
    let info_line = bulk_text(&raw_cmd(&mut c, &["CLIENT", "INFO"]));
    let fields = client_fields(&info_line);
    let ref_fields = client_fields(&ref_info);
    let ref_order: Vec<&String> = ref_info
        .split_whitespace()
        .filter_map(|kv| kv.split_once('=').map(|(k, _)| k))
        .collect::<Vec<_>>()
        .into_iter()
        .filter_map(|k| ref_fields.get_key_value(k).map(|(k, _)| k))
        .collect();
    let missing: Vec<&&String> = ref_order
        .iter()
        .filter(|k| !fields.contains_key(**k))
        .collect();
    if !missing.is_empty() {
        failures.push(format!("CLIENT INFO lacks fields {missing:?}: {info_line}"));
    }
    for (field, want) in [
        ("id", id.to_string()),
        ("name", "me".to_string()),
        ("db", "0".to_string()),
        ("cmd", "client|info".to_string()),
        ("resp", "2".to_string()),
        ("flags", "N".to_string()),
        ("user", "default".to_string()),
    ] {
        if fields.get(field) != Some(&want) {
            failures.push(format!(
                "CLIENT INFO: {field}={:?}, expected {want:?} (as redis-server): {info_line}",
                fields.get(field)
            ));
        }
    }
    // The addr field is this connection's peer address: the server's laddr
    // is its own port.
    if fields.get("laddr") != Some(&subject.addr()) {
        failures.push(format!(
            "CLIENT INFO laddr={:?}, expected {:?}",
            fields.get("laddr"),
            subject.addr()
        ));
    }
    // CLIENT LIST shows both connections with the last command of each.
    let mut other = subject.raw();
    raw_cmd(&mut other, &["SELECT", "2"]);
    raw_cmd(&mut other, &["SET", "x", "y"]);
    let list = bulk_text(&raw_cmd(&mut c, &["CLIENT", "LIST"]));
    let lines: Vec<BTreeMap<String, String>> = list.lines().map(client_fields).collect();
    let me = lines.iter().find(|f| f.get("id") == Some(&id.to_string()));
    match me {
        Some(f)
            if f.get("name").map(String::as_str) == Some("me")
                && f.get("cmd").map(String::as_str) == Some("client|list") => {}
        _ => failures.push(format!(
            "CLIENT LIST: no line id={id} name=me cmd=client|list:\n{list}"
        )),
    }
    if !lines.iter().any(|f| {
        f.get("db").map(String::as_str) == Some("2")
            && f.get("cmd").map(String::as_str) == Some("set")
    }) {
        failures.push(format!("CLIENT LIST: no line db=2 cmd=set:\n{list}"));
    }
    let by_id = bulk_text(&raw_cmd(&mut c, &["CLIENT", "LIST", "ID", &id.to_string()]));
    if by_id.lines().count() != 1 || !by_id.contains(&format!("id={id} ")) {
        failures.push(format!("CLIENT LIST ID {id}: {by_id:?}"));
    }
    let normal = bulk_text(&raw_cmd(&mut c, &["CLIENT", "LIST", "TYPE", "normal"]));
    if normal.lines().count() != 2 {
        failures.push(format!(
            "CLIENT LIST TYPE normal should list 2 clients: {normal:?}"
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The `id=` and `addr=` of a connection, from its own CLIENT INFO.
fn whoami(conn: &mut RawConn) -> (String, String) {
    let info = bulk_text(&raw_cmd(conn, &["CLIENT", "INFO"]));
    let f = client_fields(&info);
    (
        f.get("id").cloned().unwrap_or_default(),
        f.get("addr").cloned().unwrap_or_default(),
    )
}

fn assert_killed(conn: &mut RawConn, what: &str) {
    // The server closes it; a command sent now gets no reply.
    let _ = conn.try_send(&encode(&["PING"]));
    let rest = conn.read_until_close_or(EVENTUAL);
    assert!(
        conn.is_closed(),
        "{what}: the killed connection is still open (received {})",
        show(&rest)
    );
    assert!(
        !rest.windows(5).any(|w| w == b"+PONG"),
        "{what}: the killed connection still answered PING: {}",
        show(&rest)
    );
}

#[test]
fn client_kill_closes_connections() {
    for kind in [ServerKind::Replikv, ServerKind::Redis] {
        let server = Server::start(kind, None, &[]);
        let name = kind.name();
        let mut admin = server.raw();

        // By ID.
        let mut victim = server.raw();
        let (id, _) = whoami(&mut victim);
        let reply = raw_cmd(&mut admin, &["CLIENT", "KILL", "ID", &id]);
        assert_eq!(
            show(&reply),
            show(b":1\r\n"),
            "[{name}] CLIENT KILL ID {id}"
        );
        assert_killed(&mut victim, &format!("[{name}] CLIENT KILL ID"));

        // By address, old form: +OK.
        let mut victim = server.raw();
        let (_, addr) = whoami(&mut victim);
        let reply = raw_cmd(&mut admin, &["CLIENT", "KILL", &addr]);
        assert_eq!(
            show(&reply),
            show(b"+OK\r\n"),
            "[{name}] CLIENT KILL {addr}"
        );
        assert_killed(&mut victim, &format!("[{name}] CLIENT KILL <addr>"));

        // By ADDR, new form: the count.
        let mut victim = server.raw();
        let (_, addr) = whoami(&mut victim);
        let reply = raw_cmd(&mut admin, &["CLIENT", "KILL", "ADDR", &addr]);
        assert_eq!(
            show(&reply),
            show(b":1\r\n"),
            "[{name}] CLIENT KILL ADDR {addr}"
        );
        assert_killed(&mut victim, &format!("[{name}] CLIENT KILL ADDR"));

        // TYPE normal (SKIPME yes by default): everyone but the caller.
        let mut v1 = server.raw();
        let mut v2 = server.raw();
        raw_cmd(&mut v1, &["PING"]);
        raw_cmd(&mut v2, &["PING"]);
        let reply = raw_cmd(&mut admin, &["CLIENT", "KILL", "TYPE", "normal"]);
        assert_eq!(
            show(&reply),
            show(b":2\r\n"),
            "[{name}] CLIENT KILL TYPE normal"
        );
        assert_killed(&mut v1, &format!("[{name}] CLIENT KILL TYPE normal (1)"));
        assert_killed(&mut v2, &format!("[{name}] CLIENT KILL TYPE normal (2)"));
        assert_eq!(
            show(&raw_cmd(&mut admin, &["PING"])),
            show(b"+PONG\r\n"),
            "[{name}] the caller survives SKIPME yes"
        );

        // Filters combine: ID + SKIPME no on oneself.
        let (my_id, _) = whoami(&mut admin);
        let reply = raw_cmd(
            &mut admin,
            &["CLIENT", "KILL", "ID", &my_id, "SKIPME", "yes"],
        );
        assert_eq!(
            show(&reply),
            show(b":0\r\n"),
            "[{name}] kill self with SKIPME yes"
        );
        admin.send(&encode(&["CLIENT", "KILL", "ID", &my_id, "SKIPME", "no"]));
        let rest = admin.read_until_close_or(EVENTUAL);
        assert!(
            admin.is_closed(),
            "[{name}] CLIENT KILL ID <self> SKIPME no: connection still open ({})",
            show(&rest)
        );

        // The server keeps serving new clients.
        let mut fresh = server.raw();
        assert_eq!(raw_cmd(&mut fresh, &["PING"]), b"+PONG\r\n", "[{name}]");
    }
}

// ---------------------------------------------------------------------------
// SHUTDOWN, signals, timeout, maxclients
// ---------------------------------------------------------------------------

#[test]
fn shutdown_nosave_exits() {
    for kind in [ServerKind::Replikv, ServerKind::Redis] {
        let server = Server::start(kind, None, &[]);
        let mut c = server.raw();
        c.send(&encode(&["SHUTDOWN", "NOSAVE"]));
        let rest = c.read_until_close_or(EVENTUAL);
        assert!(
            c.is_closed() && rest.is_empty(),
            "[{}] SHUTDOWN NOSAVE: expected close without reply, got {} (closed {})",
            kind.name(),
            show(&rest),
            c.is_closed()
        );
        let status = server.wait_for_exit(EVENTUAL);
        assert!(
            status.is_some_and(|s| s.success()),
            "[{}] exit status after SHUTDOWN NOSAVE: {status:?}",
            kind.name()
        );
    }
}

#[test]
fn shutdown_errors_match_redis() {
    let subject = Server::replikv(&[]);
    let reference = Server::redis(&[]);
    let mut failures = Vec::new();
    for args in [
        &["SHUTDOWN", "BOGUS"][..],
        &["SHUTDOWN", "SAVE", "NOSAVE"],
        &["SHUTDOWN", "NOSAVE", "NOW", "FORCE", "EXTRA"],
    ] {
        let got = raw_cmd(&mut subject.raw(), args);
        let expected = raw_cmd(&mut reference.raw(), args);
        if got != expected {
            failures.push(format!(
                "{}: replikv {}, redis {}",
                args.join(" "),
                show(&got),
                show(&expected)
            ));
        }
    }
    assert!(subject.is_running(), "replikv exited on a bad SHUTDOWN");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn sigterm_exits_cleanly() {
    for kind in [ServerKind::Replikv, ServerKind::Redis] {
        let server = Server::start(kind, None, &[]);
        assert_eq!(raw_cmd(&mut server.raw(), &["SET", "k", "v"]), b"+OK\r\n");
        kill_pid(server.pid(), "TERM");
        let status = server.wait_for_exit(EVENTUAL);
        assert!(
            status.is_some_and(|s| s.success()),
            "[{}] exit status after SIGTERM: {status:?}\n{}",
            kind.name(),
            server.log_tail()
        );
        let log = server.log();
        assert!(
            log.contains("ready to exit") || log.contains("bye bye"),
            "[{}] log after SIGTERM lacks 'ready to exit, bye bye':\n{log}",
            kind.name()
        );
        assert!(
            log.contains("Received SIGTERM scheduling shutdown"),
            "[{}] log after SIGTERM lacks 'Received SIGTERM scheduling shutdown...':\n{log}",
            kind.name()
        );
    }
}

#[test]
fn sigint_exits_cleanly() {
    for kind in [ServerKind::Replikv, ServerKind::Redis] {
        let server = Server::start(kind, None, &[]);
        kill_pid(server.pid(), "INT");
        let status = server.wait_for_exit(EVENTUAL);
        assert!(
            status.is_some_and(|s| s.success()),
            "[{}] exit status after SIGINT: {status:?}\n{}",
            kind.name(),
            server.log_tail()
        );
        let log = server.log();
        assert!(
            log.contains("Received SIGINT scheduling shutdown"),
            "[{}] log after SIGINT lacks 'Received SIGINT scheduling shutdown...':\n{log}",
            kind.name()
        );
    }
}

fn start_with_timeout_1(kind: ServerKind) -> Server {
    Server::start(kind, None, &["--timeout", "1"])
}

/// Waits until the server closes `conn` (an idle client under
/// `timeout 1`).
fn assert_closed_for_idleness(kind: ServerKind, conn: &mut RawConn) {
    let rest = conn.read_until_close_or(EVENTUAL);
    assert!(
        conn.is_closed(),
        "[{}] an idle client was not closed with timeout 1 within {EVENTUAL:?} (got {})",
        kind.name(),
        show(&rest)
    );
    assert!(
        rest.is_empty(),
        "[{}] got {} before close",
        kind.name(),
        show(&rest)
    );
}

#[test]
fn idle_timeout_closes_idle_clients() {
    for kind in [ServerKind::Replikv, ServerKind::Redis] {
        let server = start_with_timeout_1(kind);
        let mut idle = server.raw();
        assert_eq!(raw_cmd(&mut idle, &["PING"]), b"+PONG\r\n");
        assert_closed_for_idleness(kind, &mut idle);
        let mut fresh = server.raw();
        assert_eq!(
            raw_cmd(&mut fresh, &["PING"]),
            b"+PONG\r\n",
            "[{}]",
            kind.name()
        );
    }
}

/// Pub/sub clients are exempt from the idle timeout (Redis skips them in
/// its client cron).
#[test]
fn idle_timeout_spares_subscribers() {
    for kind in [ServerKind::Replikv, ServerKind::Redis] {
        let server = start_with_timeout_1(kind);
        // The subscriber goes idle *before* the plain client, so once the
        // plain client has been closed the subscriber has been idle longer.
        let mut subscriber = server.raw();
        assert_eq!(
            show(&raw_cmd(&mut subscriber, &["SUBSCRIBE", "ch"])),
            show(b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"),
            "[{}] SUBSCRIBE",
            kind.name()
        );
        let mut idle = server.raw();
        assert_eq!(raw_cmd(&mut idle, &["PING"]), b"+PONG\r\n");
        assert_closed_for_idleness(kind, &mut idle);
        let mut publisher = server.raw();
        assert_eq!(
            show(&raw_cmd(&mut publisher, &["PUBLISH", "ch", "still here?"])),
            show(b":1\r\n"),
            "[{}] the idle subscriber should not have been disconnected",
            kind.name()
        );
        let message = subscriber.read_reply();
        assert_eq!(
            show(&message),
            show(b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$11\r\nstill here?\r\n"),
            "[{}] message to the idle subscriber",
            kind.name()
        );
    }
}

#[test]
fn maxclients_refuses_the_extra_client() {
    let mut replies = Vec::new();
    for kind in [ServerKind::Replikv, ServerKind::Redis] {
        let server = Server::start(kind, None, &["--maxclients", "2"]);
        let mut c1 = server.raw();
        // Wait until the start-up probe connections are gone.
        let mut last = String::new();
        let alone = wait_until(EVENTUAL, || {
            last = bulk_text(&raw_cmd(&mut c1, &["CLIENT", "LIST"]));
            last.lines().count() == 1
        });
        assert!(
            alone,
            "[{}] CLIENT LIST never showed one client: {last}",
            kind.name()
        );
        let mut c2 = server.raw();
        assert_eq!(
            raw_cmd(&mut c2, &["PING"]),
            b"+PONG\r\n",
            "[{}] 2nd client",
            kind.name()
        );
        let mut c3 = server.raw();
        let _ = c3.try_send(&encode(&["PING"]));
        let got = c3.read_until_close_or(EVENTUAL);
        assert!(
            c3.is_closed(),
            "[{}] the third client was not disconnected (got {})",
            kind.name(),
            show(&got)
        );
        replies.push(got);
        // The first two still work, and a slot frees up when one leaves.
        assert_eq!(
            raw_cmd(&mut c1, &["PING"]),
            b"+PONG\r\n",
            "[{}]",
            kind.name()
        );
        drop(c2);
        let ok = wait_until(EVENTUAL, || {
            let mut c = server.raw();
            let _ = c.try_send(&encode(&["PING"]));
            c.try_read_reply(Duration::from_secs(2)).as_deref() == Some(b"+PONG\r\n")
        });
        assert!(
            ok,
            "[{}] a new client is refused after one left",
            kind.name()
        );
    }
    assert_eq!(
        show(&replies[0]),
        show(b"-ERR max number of clients reached\r\n"),
        "replikv's reply to the client over the limit"
    );
    assert_eq!(
        show(&replies[0]),
        show(&replies[1]),
        "replikv vs redis-server"
    );
}

// ---------------------------------------------------------------------------
// redis-cli output for errors
// ---------------------------------------------------------------------------

fn describe(out: &std::process::Output) -> String {
    format!(
        "exit {:?}, stdout {:?}, stderr {:?}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn compare_cli(subject: &Server, reference: &Server, sessions: &[&[&str]]) -> Vec<String> {
    let mut mismatches = Vec::new();
    for args in sessions {
        let got = redis_cli(subject.port(), args);
        let expected = redis_cli(reference.port(), args);
        if (got.status.code(), &got.stdout, &got.stderr)
            != (expected.status.code(), &expected.stdout, &expected.stderr)
        {
            mismatches.push(format!(
                "redis-cli {args:?}\n    replikv:      {}\n    redis-server: {}",
                describe(&got),
                describe(&expected)
            ));
        }
    }
    mismatches
}

#[test]
fn redis_cli_no_raw_error_output_matches_redis() {
    let subject = Server::replikv(&[]);
    let reference = Server::redis(&[]);
    let mut mismatches = compare_cli(
        &subject,
        &reference,
        &[
            &["--no-raw", "set", "s", "text"],
            &["--no-raw", "nosuchcommand", "a", "b"],
            &["--no-raw", "get"],
            &["--no-raw", "incr", "s"],
            &["--no-raw", "set", "k", "v", "ex", "-1"],
            &["--no-raw", "set", "k", "v", "nx", "xx"],
            &["--no-raw", "select", "99"],
            &["--no-raw", "exec"],
            &["--no-raw", "discard"],
            &["--no-raw", "watch"],
            &["--no-raw", "config", "set", "no-such-parameter", "1"],
            &["--no-raw", "config", "set", "daemonize", "yes"],
            &["--no-raw", "config", "set", "timeout", "abc"],
            &["--no-raw", "config", "set", "appendonly", "maybe"],
            &["--no-raw", "config", "get"],
            &["--no-raw", "client", "kill", "127.0.0.1:1"],
            &["--no-raw", "client", "setname", "a b"],
            &["--no-raw", "client", "nosuch"],
            &["--no-raw", "auth", "pw"],
            &["--no-raw", "hello", "4"],
            &["--no-raw", "pubsub", "nosuch"],
            &["--no-raw", "subscribe"],
            &["--no-raw", "info", "nosuch"],
            &["--no-raw", "shutdown", "bogus"],
            &["--no-raw", "object", "encoding", "missing"],
            &["--no-raw", "expire", "s", "abc"],
            &["--no-raw", "swapdb", "0", "99"],
            &["--no-raw", "move", "s", "0"],
            &["nosuchcommand"],
            &["--no-raw", "config", "get", "maxmemory"],
            &["--no-raw", "config", "set", "maxmemory", "10mb", "hz", "20"],
        ],
    );
    let pw = "redis:123:456";
    let subject = Server::replikv(&["--requirepass", pw]);
    let reference = Server::redis(&["--requirepass", pw]);
    mismatches.extend(compare_cli(
        &subject,
        &reference,
        &[
            &["--no-raw", "get", "k"],
            &["--no-raw", "ping"],
            &["-a", "wrong", "--no-raw", "ping"],
            &["-a", "wrong", "--no-auth-warning", "--no-raw", "ping"],
            &["-a", pw, "--no-auth-warning", "--no-raw", "ping"],
            &[
                "--user",
                "default",
                "--pass",
                pw,
                "--no-auth-warning",
                "--no-raw",
                "get",
                "k",
            ],
            &[
                "--user",
                "nobody",
                "--pass",
                pw,
                "--no-auth-warning",
                "--no-raw",
                "get",
                "k",
            ],
            &["-a", pw, "--no-auth-warning", "--no-raw", "auth", "wrong"],
        ],
    ));
    assert!(
        mismatches.is_empty(),
        "{} redis-cli invocation(s) print differently:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// `redis-cli -p <port> shutdown` (the notes' way of stopping a master)
/// exits 0 with the same output as against redis-server, and the server
/// exits.
#[test]
fn redis_cli_shutdown_like_the_notes() {
    let mut outputs = Vec::new();
    for kind in [ServerKind::Replikv, ServerKind::Redis] {
        let server = Server::start(kind, None, &[]);
        let out = run_with_timeout(
            Command::new(redis_cli_bin())
                .arg("-p")
                .arg(server.port().to_string())
                .arg("shutdown"),
            Duration::from_secs(30),
        );
        let status = server.wait_for_exit(EVENTUAL);
        assert!(
            status.is_some_and(|s| s.success()),
            "[{}] server exit status after `redis-cli shutdown`: {status:?}",
            kind.name()
        );
        outputs.push(describe(&out));
    }
    assert_eq!(
        outputs[0], outputs[1],
        "redis-cli shutdown output: replikv vs redis-server"
    );
}

/// Directives given on the command line (`--name value`) are applied.
#[test]
fn command_line_directives_are_applied() {
    let server = Server::replikv(&["--timeout", "7", "--hz", "12", "--databases", "4"]);
    let mut c = server.raw();
    let got = config_map(&raw_cmd(
        &mut c,
        &["CONFIG", "GET", "timeout", "hz", "databases"],
    ));
    let expected: BTreeMap<String, String> = [("timeout", "7"), ("hz", "12"), ("databases", "4")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        show(&raw_cmd(&mut c, &["SELECT", "4"])),
        show(b"-ERR DB index is out of range\r\n")
    );
}
