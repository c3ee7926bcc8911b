//! Start-up and shutdown: command line, configuration, daemon mode, logging,
//! listeners, the periodic cron, signals.

use crate::config::key;
use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};

use crate::config::{options_to_text, Config};
use crate::daemon::{self, Ready};
use crate::logging::{self, LogLevel};
use crate::server::{unix_ms, Server};

fn usage() -> String {
    "Usage: ./replikv-server [/path/to/redis.conf] [options] [-]\n       ./replikv-server - (read config from stdin)\n       ./replikv-server -v or --version\n       ./replikv-server -h or --help\n\nExamples:\n       ./replikv-server (run the server with default conf)\n       ./replikv-server /etc/redis/6379.conf\n       ./replikv-server --port 7777\n       ./replikv-server --port 7777 --replicaof 127.0.0.1 8888\n       ./replikv-server /etc/myredis.conf --loglevel verbose -\n".to_string()
}

/// Runs the server; returns the process exit code.
pub fn run(args: Vec<String>) -> i32 {
    if let Some(first) = args.first() {
        match first.as_str() {
            "-v" | "--version" => {
                println!(
                    "replikv server v={} redis-compat={} bits=64",
                    crate::REPLIKV_VERSION,
                    crate::VERSION
                );
                return 0;
            }
            "-h" | "--help" => {
                println!("{}", usage());
                return 0;
            }
            _ => {}
        }
    }
    let (file, opts): (Option<PathBuf>, &[String]) = match args.split_first() {
        Some((f, rest)) if !f.starts_with("--") && f != "-" => {
            // Kept absolute: `dir` changes the working directory, and CONFIG
            // REWRITE must still find the file.
            let p = PathBuf::from(f);
            let abs = std::path::absolute(&p).unwrap_or(p);
            (Some(abs), rest)
        }
        _ => (None, &args[..]),
    };
    let mut opts: Vec<String> = opts.to_vec();
    let mut stdin_text = String::new();
    if opts.last().map(String::as_str) == Some("-") {
        opts.pop();
        use std::io::Read;
        let _ = std::io::stdin().read_to_string(&mut stdin_text);
    }
    let mut text = options_to_text(&opts);
    if !stdin_text.is_empty() {
        text = format!("{stdin_text}\n{text}");
    }
    let config = match Config::load(file.as_deref(), &text) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let mut ready = if config.bool(key::DAEMONIZE) {
        match daemon::daemonize() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("Can't daemonize: {e}");
                return 1;
            }
        }
    } else {
        Ready::foreground()
    };
    let code = match start(config, file.as_deref(), &mut ready) {
        Ok(()) => 0,
        Err(e) => {
            tracing::warn!("{e:#}");
            eprintln!("{e:#}");
            1
        }
    };
    ready.notify(code == 0);
    code
}

fn start(config: Config, file: Option<&Path>, ready: &mut Ready) -> anyhow::Result<()> {
    let level = LogLevel::parse(&config.str(key::LOGLEVEL)).unwrap_or(LogLevel::Notice);
    let logfile = config.str(key::LOGFILE);
    logging::init(level, &logfile)?;
    tracing::info!("oO0OoO0OoO0Oo replikv is starting oO0OoO0OoO0Oo");
    tracing::info!(
        "replikv version={}, redis-compat={}, bits=64, pid={}, just started",
        crate::REPLIKV_VERSION,
        crate::VERSION,
        std::process::id()
    );
    match file {
        Some(_) => tracing::info!("Configuration loaded"),
        None => tracing::warn!("Warning: no config file specified, using the default config. In order to specify a config file use replikv-server /path/to/redis.conf"),
    }
    let dir = config.str(key::DIR);
    if !dir.is_empty() {
        std::env::set_current_dir(&dir)
            .map_err(|e| anyhow::anyhow!("Can't chdir to '{dir}': {e}"))?;
    }
    // From here `dir` names where the server is, as Redis reports it.
    let mut config = config;
    let _ = config.set("dir", &[crate::commands::config::current_dir()]);
    for name in &config.unacted {
        tracing::info!(
            "Directive '{name}' is accepted for compatibility; replikv does not act on it yet"
        );
    }
    let pidfile = {
        let p = config.str(key::PIDFILE);
        if p.is_empty() && config.bool(key::DAEMONIZE) {
            "/var/run/replikv.pid".to_string()
        } else {
            p
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let result = local.block_on(&rt, async move {
        let server = Rc::new(RefCell::new(Server::new(config)));
        server.borrow_mut().repl.set_server(Rc::downgrade(&server));
        let listeners = bind_all(&server.borrow().config)?;
        let port = listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .map_or(0, |a| a.port());
        server.borrow_mut().process.port = port;
        let logo = {
            let s = server.borrow();
            s.config.bool(key::ALWAYS_SHOW_LOGO) && s.config.str(key::LOGFILE).is_empty()
        };
        if logo {
            // Redis's banner carries the port and pid; tools (Redis's own
            // test suite among them) wait for its " PID: <pid>" line.
            println!(
                "\n    replikv {} (Redis {} compatible), 64 bit\n    Running in standalone mode\n    Port: {port}\n    PID: {}\n",
                env!("CARGO_PKG_VERSION"),
                crate::VERSION,
                std::process::id()
            );
        } else {
            tracing::info!("Running mode=standalone, port={port}.");
        }
        if !pidfile.is_empty() {
            if let Err(e) = std::fs::write(&pidfile, format!("{}\n", std::process::id())) {
                tracing::warn!("Failed to write PID file: {e}");
            }
        }
        tracing::info!("Server initialized");
        for l in listeners {
            // A duplicate lets a busy script answer new clients `-BUSY`.
            let std_l = l.into_std()?;
            if let Ok(dup) = std_l.try_clone() {
                server.borrow_mut().busy.add_listener(dup);
            }
            let l = TcpListener::from_std(std_l)?;
            tokio::task::spawn_local(accept_loop(server.clone(), l));
        }
        tokio::task::spawn_local(adopt_busy_connections(server.clone()));
        tokio::task::spawn_local(cron(server.clone()));
        let dump = match load_at_startup(&server).await {
            Ok(dump) => dump,
            Err(e) => {
                if !pidfile.is_empty() {
                    let _ = std::fs::remove_file(&pidfile);
                }
                return Err(e);
            }
        };
        start_replication(&server, dump);
        tracing::info!("Ready to accept connections");
        ready.notify(true);
        wait_for_shutdown(&server).await;
        let s = server.borrow();
        if let Some(child) = s.saving.child {
            tracing::warn!("There is a child saving an .rdb. Killing it!");
            crate::fork::kill_child(child.pid);
            let _ = std::fs::remove_file(format!("temp-{}.rdb", child.pid));
        }
        if !pidfile.is_empty() {
            tracing::info!("Removing the pid file.");
            let _ = std::fs::remove_file(&pidfile);
        }
        tracing::info!("replikv is now ready to exit, bye bye...");
        Ok::<(), anyhow::Error>(())
    });
    rt.shutdown_timeout(Duration::from_millis(100));
    result
}

/// Opens a listener for every `bind` address; a leading `-` marks an
/// address that may be unavailable, as in Redis.
fn bind_all(config: &Config) -> anyhow::Result<Vec<TcpListener>> {
    let port = u16::try_from(config.int(key::PORT)).unwrap_or(6379);
    let addrs = config.str(key::BIND);
    let mut out = Vec::new();
    for raw in addrs.split_whitespace() {
        let (optional, addr) = match raw.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, raw),
        };
        let ip: IpAddr = match addr {
            "*" => IpAddr::from([0, 0, 0, 0]),
            "::*" => IpAddr::from([0u16; 8]),
            a => match a.parse() {
                Ok(ip) => ip,
                Err(_) if optional => continue,
                Err(e) => anyhow::bail!("Invalid bind address '{a}': {e}"),
            },
        };
        match listen(SocketAddr::new(ip, port)) {
            Ok(l) => out.push(l),
            Err(e) if optional => {
                tracing::debug!("Skipping optional bind address {raw}: {e}");
            }
            Err(e) => {
                anyhow::bail!(
                    "Warning: Could not create server TCP listening socket {addr}:{port}: {e}"
                )
            }
        }
    }
    if out.is_empty() {
        anyhow::bail!("Failed listening on port {port} (tcp), aborting.");
    }
    Ok(out)
}

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let sock = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(511)
}

const DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

async fn accept_loop(server: Rc<RefCell<Server>>, listener: TcpListener) {
    loop {
        let (mut stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("Accepting client connection: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let protected = {
            let s = server.borrow();
            s.config.bool(key::PROTECTED_MODE)
                && !s.auth_required()
                && s.config.str(key::BIND) == "* -::*"
                && !peer.ip().is_loopback()
        };
        if protected {
            use tokio::io::AsyncWriteExt;
            let _ = stream.write_all(DENIED).await;
            continue;
        }
        crate::conn::open(&server, stream, bytes::BytesMut::new());
    }
}

/// Serves the connections a busy script accepted, once it has ended.
async fn adopt_busy_connections(server: Rc<RefCell<Server>>) {
    let arrived = server.borrow().busy.arrived.clone();
    loop {
        arrived.notified().await;
        let pending = server.borrow_mut().busy.take_pending();
        for (sock, early) in pending {
            if let Ok(stream) = tokio::net::TcpStream::from_std(sock) {
                crate::conn::open(&server, stream, early);
            }
        }
    }
}

/// Buckets each database's key table moves per cron tick while resizing.
const ACTIVE_REHASH_BUCKETS: usize = 1000;

/// The periodic tasks Redis runs in `serverCron`.
async fn cron(server: Rc<RefCell<Server>>) {
    let mut tick = 0u64;
    loop {
        let hz = server.borrow().config.int(key::HZ).clamp(1, 500) as u64;
        tokio::time::sleep(Duration::from_millis(1000 / hz)).await;
        tick += 1;
        let mut s = server.borrow_mut();
        let now = unix_ms();
        if s.active_expire {
            // A bounded amount of work per tick keeps latency flat.
            // Keys the cycle deletes go through the same path as a
            // command's: watchers and blocked clients hear of them, and
            // each reaches the stream as its own DEL, as in Redis.
            if s.ks.active_expire(now, 400) > 0 {
                s.process_expired_alone();
            }
            s.expire_replica_own_keys(now, 1000);
        }
        if s.config.bool(key::ACTIVEREHASHING) {
            // Finishes key-table resizes that writes alone would leave
            // half done on an idle database.
            s.ks.rehash_steps(ACTIVE_REHASH_BUCKETS);
        }
        crate::repl::cron(&mut s);
        // Values a replica deleted while applying its master's stream.
        s.collect_garbage();
        // Keeps used_memory_peak current between INFO calls.
        crate::alloc::figures();
        s.stats.sample(now);
        crate::commands::persistence::cron(&mut s);
        crate::commands::persistence::aof_cron(&mut s, tick % hz == 0);
        let timeout = s.config.int(key::TIMEOUT);
        if timeout > 0 && tick % hz == 0 {
            for c in s.clients.values() {
                // Subscribers, replicas and the master link wait by design;
                // Redis never times them out.
                if c.subscription_count() == 0
                    && c.kind.get() == crate::session::ClientKind::Normal
                    && now - c.last_interaction_ms.get() > timeout * 1000
                {
                    tracing::debug!("Closing idle client");
                    c.kill();
                }
            }
        }
    }
}

/// Loads the data set: from the append-only file when `appendonly yes`
/// and one exists, else from the dump file; then opens (or creates) the
/// append-only file.
/// What the dump file loaded at start-up says about replication.
#[derive(Debug, Default)]
struct DumpHistory {
    /// Replication ID, offset and stream database, when the dump has them.
    repl: Option<(String, i64, usize)>,
    /// Keys found expired in the dump, deleted on replicas once the history
    /// is restored.
    expired_keys: Vec<(usize, bytes::Bytes)>,
}

/// Loads the AOF, or else the dump file.
async fn load_at_startup(server: &Rc<RefCell<Server>>) -> anyhow::Result<DumpHistory> {
    let (aof_on, dir, name) = {
        let s = server.borrow();
        (
            s.config.bool(key::APPENDONLY),
            std::path::PathBuf::from(s.config.str(key::APPENDDIRNAME)),
            s.config.str(key::APPENDFILENAME),
        )
    };
    if aof_on {
        let existing = crate::aof::Aof::existing(&dir, &name).map_err(|e| anyhow::anyhow!(e))?;
        if let Some(manifest) = existing {
            load_aof(server, &dir, &name, manifest)?;
            return Ok(DumpHistory::default());
        }
    }
    let dump = load_rdb_at_startup(server).await?;
    if aof_on {
        let mut s = server.borrow_mut();
        crate::commands::persistence::aof_enable(&mut s).map_err(|e| anyhow::anyhow!(e))?;
    }
    Ok(dump)
}

/// Loads every file of an existing append-only file, in manifest order,
/// then opens it for appending.
fn load_aof(
    server: &Rc<RefCell<Server>>,
    dir: &std::path::Path,
    name: &str,
    manifest: Vec<crate::aof::ManifestEntry>,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut s = server.borrow_mut();
    let s = &mut *s;
    let commands = replay_aof(s, dir, &manifest)?;
    tracing::info!(
        "DB loaded from append only file: {:.3} seconds ({commands} commands replayed)",
        started.elapsed().as_secs_f64()
    );
    let fsync = crate::aof::Fsync::parse(&s.config.str(key::APPENDFSYNC));
    s.aof = Some(crate::aof::Aof::open(dir, name, manifest, fsync)?);
    s.prop.force_select();
    Ok(())
}

/// Applies the files of an append-only file's manifest (the base, then
/// each increment) to the data set; gives how many commands it replayed.
/// Nothing it applies is propagated: the caller keeps the AOF closed and
/// the stream's consumers away while it runs.
pub fn replay_aof(
    s: &mut Server,
    dir: &std::path::Path,
    manifest: &[crate::aof::ManifestEntry],
) -> anyhow::Result<u64> {
    let mut commands = 0u64;
    let last_incr = manifest.iter().rev().find(|e| e.kind == 'i').map(|e| e.seq);
    let truncated_ok = s.config.bool(key::AOF_LOAD_TRUNCATED);
    for e in manifest.iter().filter(|e| e.kind == 'b' || e.kind == 'i') {
        let path = dir.join(&e.name);
        if e.name.ends_with(".rdb") {
            let loader = crate::persist::Loader::new(
                s.ks.db_count(),
                unix_ms(),
                true,
                u64::MAX,
                *s.ks.limits(),
            );
            let (dbs, report) = crate::persist::load_file(&path, loader)
                .map_err(|err| anyhow::anyhow!("Error loading the AOF base {}: {err}", e.name))?;
            s.ks.replace_dbs(dbs);
            s.scripting.restore_libraries(&report.functions);
            tracing::info!(
                "DB loaded from base file {}: {} keys",
                e.name,
                report.loaded
            );
        } else {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            let h = s.register_client(addr, addr);
            let mut sess = crate::session::Session::new(h.clone(), true);
            sess.is_master = true;
            let now = unix_ms();
            // Only the last file can end mid-command (a crash while
            // appending); a cut in an earlier one is corruption.
            let allow = truncated_ok && e.kind == 'i' && Some(e.seq) == last_incr;
            let replayed = crate::aof::replay(&path, allow, |args| {
                let _ = crate::commands::dispatch(s, &mut sess, args, now);
                sess.extra_replies.clear();
            });
            s.unregister_client(h.id);
            commands += replayed.map_err(|err| anyhow::anyhow!(err))?;
        }
    }
    Ok(commands)
}

/// Loads the dump file, if there is one, while clients get `-LOADING`.
async fn load_rdb_at_startup(server: &Rc<RefCell<Server>>) -> anyhow::Result<DumpHistory> {
    use std::io::Read;
    let (path, loader) = {
        let s = server.borrow();
        let path = crate::persist::dump_path(&s.config.str(key::DBFILENAME));
        let loader = crate::persist::Loader::new(
            s.ks.db_count(),
            unix_ms(),
            s.ks.reclaims_expired(),
            u64::try_from(s.config.int(key::PROTO_MAX_BULK_LEN)).unwrap_or(u64::MAX),
            *s.ks.limits(),
        )
        .with_key_load_delay(s.config.int(key::KEY_LOAD_DELAY))
        .collect_expired();
        (path, loader)
    };
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DumpHistory::default()),
        Err(e) => anyhow::bail!("Fatal error loading the DB: {e}. Exiting."),
    };
    let started = std::time::Instant::now();
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    {
        let mut s = server.borrow_mut();
        s.saving.loading = true;
        s.saving.loading_total = total;
        s.saving.loading_read = 0;
    }
    let mut loader = loader;
    // Clients are answered (-LOADING) between chunks of this size.
    let chunk = usize::try_from(
        server
            .borrow()
            .config
            .int(key::LOADING_PROCESS_EVENTS_INTERVAL_BYTES),
    )
    .unwrap_or(2 << 20)
    .clamp(1024, 2 << 20);
    let mut buf = vec![0u8; chunk];
    let result: anyhow::Result<_> = async {
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            loader
                .feed(&buf[..n])
                .map_err(|e| anyhow::anyhow!(e.fatal_line()))?;
            server.borrow_mut().saving.loading_read += n as u64;
            // Let clients in between chunks: they are answered -LOADING.
            tokio::task::yield_now().await;
        }
        loader
            .finish()
            .map_err(|e| anyhow::anyhow!(crate::persist::FeedError::Rdb(e).fatal_line()))
    }
    .await;
    let mut s = server.borrow_mut();
    s.saving.loading = false;
    let (dbs, mut report) = result?;
    if let Some(v) = &report.version {
        tracing::info!("Loading RDB produced by version {v}");
    }
    if let Some(ct) = report.ctime {
        tracing::info!("RDB age {} seconds", (unix_ms() / 1000 - ct).max(0));
    }
    if let Some(m) = report.used_mem {
        tracing::info!(
            "RDB memory usage when created {:.2} Mb",
            m as f64 / 1024.0 / 1024.0
        );
    }
    tracing::info!(
        "Done loading RDB, keys loaded: {}, keys expired: {}.",
        report.loaded,
        report.expired
    );
    s.ks.replace_dbs(dbs);
    s.scripting.restore_libraries(&report.functions);
    s.saving.loaded_keys = report.loaded;
    let expired_keys = std::mem::take(&mut report.expired_keys);
    s.saving.loaded_expired = report.expired;
    // Redis trusts the replication fields only with a stream database
    // (older writers stored -1 there by mistake).
    let repl = match (
        report.repl_id.clone(),
        report.repl_offset,
        report.repl_stream_db,
    ) {
        (Some(id), Some(off), Some(db)) if off != -1 && db != -1 => {
            let db = usize::try_from(db).unwrap_or(0);
            Some((id, off, db))
        }
        _ => None,
    };
    tracing::info!(
        "DB loaded from disk: {:.3} seconds",
        started.elapsed().as_secs_f64()
    );
    Ok(DumpHistory { repl, expired_keys })
}

/// Continues the replication history found in the dump file and connects
/// to the configured master, if any.
fn start_replication(server: &Rc<RefCell<Server>>, dump: DumpHistory) {
    let mut s = server.borrow_mut();
    let s = &mut *s;
    let port = s.process.port;
    s.repl.node.replica.config_mut().listening_port = {
        let announce = u16::try_from(s.config.int(key::REPLICA_ANNOUNCE_PORT)).unwrap_or(0);
        if announce != 0 {
            announce
        } else {
            port
        }
    };
    let as_replica = matches!(
        s.config.value(key::REPLICAOF),
        Some(crate::config::Val::ReplicaOf(Some(_)))
    );
    if let Some((id, offset, db)) = dump.repl.clone() {
        s.repl.restore_history(&s.config, &id, offset, as_replica);
        if as_replica {
            s.repl.set_master_db(db);
        } else {
            // Keys that expired while the server was down are deleted on
            // the replicas too: the DELs follow the restored history in the
            // backlog, as Redis feeds them while loading. Replicas then
            // continue with them, or full-sync if they overflowed it.
            let to_replicas = crate::propagate::Targets {
                repl: s.repl.active(),
                aof: false,
            };
            for (db, key) in dump.expired_keys {
                s.prop
                    .push(db, vec![bytes::Bytes::from_static(b"DEL"), key]);
                for (bytes, to) in s.prop.end_request(to_replicas) {
                    s.deliver(bytes, to);
                }
            }
            crate::repl::flush_stream(s);
        }
    }
    if let Some(crate::config::Val::ReplicaOf(Some((host, mport)))) =
        s.config.value(key::REPLICAOF).cloned()
    {
        let now = unix_ms() as u64;
        let history = if dump.repl.is_some() {
            None
        } else {
            Some(s.repl.node.master.history())
        };
        let _ = s.repl.node.replica.set_master(now, &host, mport, history);
        crate::repl::drive(s);
    }
}

/// The final save of a shutdown; false if it failed and the server must
/// keep running.
fn final_save(server: &Rc<RefCell<Server>>) -> bool {
    let mut s = server.borrow_mut();
    let Some(req) = s.process.shutdown_request() else {
        return true;
    };
    // Whatever the save flag, what the AOF was given reaches the disk.
    crate::repl::flush_stream(&mut s);
    if let Some(aof) = s.aof.as_mut() {
        tracing::info!("Calling fsync() on the AOF file.");
        if let Err(e) = aof.flush_and_sync() {
            tracing::warn!("Error writing to the AOF file at shutdown: {e}");
        }
    }
    if !req.save {
        return true;
    }
    if let Some(child) = s.saving.child.take() {
        tracing::warn!("There is a child saving an .rdb. Killing it!");
        crate::fork::kill_child(child.pid);
        let _ = std::fs::remove_file(format!("temp-{}.rdb", child.pid));
    }
    tracing::info!("Saving the final RDB snapshot before exiting.");
    match crate::commands::persistence::save_now(&mut s) {
        Ok(_) => true,
        Err(_) => {
            tracing::warn!("Error trying to save the DB, can't exit.");
            s.process.cancel_shutdown();
            false
        }
    }
}

async fn wait_for_shutdown(server: &Rc<RefCell<Server>>) {
    loop {
        wait_for_shutdown_request(server).await;
        wait_for_lagging_replicas(server).await;
        if final_save(server) {
            return;
        }
    }
}

/// Before a master exits, gives its replicas up to `shutdown-timeout`
/// seconds to acknowledge everything, with writes paused meanwhile, so a
/// graceful shutdown loses nothing a replica could have had (Redis 7).
async fn wait_for_lagging_replicas(server: &Rc<RefCell<Server>>) {
    let deadline = {
        let mut s = server.borrow_mut();
        if s.process
            .shutdown_request()
            .is_some_and(|r| !r.wait_replicas)
            || s.repl.is_replica
        {
            return;
        }
        crate::repl::flush_stream(&mut s);
        let now = unix_ms();
        let offset = s.repl_offset();
        let lagging = s
            .repl
            .node
            .master
            .replicas(now as u64)
            .iter()
            .filter(|r| r.state == replication::master::ReplicaState::Online)
            .any(|r| u64::try_from(r.ack_offset).unwrap_or(0) < offset);
        if !lagging {
            return;
        }
        tracing::info!("Waiting for replicas before shutting down.");
        let deadline = now + s.config.int(key::SHUTDOWN_TIMEOUT).max(0) * 1000;
        s.clients.pause(crate::server::Pause {
            until_ms: deadline,
            all: false,
        });
        s.repl.node.master.send_getack(unix_ms() as u64);
        crate::repl::drive(&mut s);
        deadline
    };
    loop {
        let done = {
            let s = server.borrow();
            let offset = s.repl_offset();
            !s.repl
                .node
                .master
                .replicas(unix_ms() as u64)
                .iter()
                .filter(|r| r.state == replication::master::ReplicaState::Online)
                .any(|r| u64::try_from(r.ack_offset).unwrap_or(0) < offset)
        };
        if done {
            tracing::info!("All replicas are in sync.");
            break;
        }
        if unix_ms() >= deadline {
            tracing::warn!("Lagging replica(s) did not catch up in time; shutting down anyway.");
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn wait_for_shutdown_request(server: &Rc<RefCell<Server>>) {
    use tokio::signal::unix::{signal, SignalKind};
    let wake = server.borrow().process.wake_main();
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    loop {
        tokio::select! {
            _ = wake.notified() => {
                if server.borrow().process.shutdown_request().is_some() {
                    tracing::info!("User requested shutdown...");
                    return;
                }
            }
            _ = async { match term.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                tracing::warn!("Received SIGTERM scheduling shutdown...");
                let save = !server.borrow().config.str(key::SAVE).is_empty();
                server.borrow_mut().process.request_shutdown(
                    crate::server::ShutdownRequest { save, wait_replicas: true });
                return;
            }
            _ = async { match int.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                tracing::warn!("Received SIGINT scheduling shutdown...");
                let save = !server.borrow().config.str(key::SAVE).is_empty();
                server.borrow_mut().process.request_shutdown(
                    crate::server::ShutdownRequest { save, wait_replicas: true });
                return;
            }
        }
    }
}
