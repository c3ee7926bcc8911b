//! Write load: a thread that sends a weighted mix of commands over every
//! type, pipelined, at a target rate, and optionally interleaves unique
//! "ledger" writes followed by `WAIT`: each ledger write whose WAIT
//! returned is recorded with the number of replicas that acknowledged it
//! (the promise ledger the failover checks read).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::resp::{encode, Conn, Reply};
use super::scenario::{LoadSpec, Profile, WaitSpec};

/// A write acknowledged by `WAIT`.
#[derive(Clone, Debug)]
pub struct Promise {
    /// Unique key, written once.
    pub key: String,
    /// Its value.
    pub value: String,
    /// What WAIT returned.
    pub acks: u32,
    /// Node it was written to.
    pub node: String,
}

/// Every promise of a scenario, and the counter that keeps ledger keys
/// unique.
#[derive(Default)]
pub struct Ledger {
    next: AtomicU64,
    promises: Mutex<Vec<Promise>>,
}

impl Ledger {
    /// A fresh unique ledger key.
    pub fn next_key(&self) -> (String, String) {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        (format!("w:{n}"), format!("promised-{n}"))
    }

    /// Records WAIT's answer for writes.
    pub fn record(&self, node: &str, writes: Vec<(String, String)>, acks: u32) {
        let mut p = self.promises.lock().unwrap_or_else(|e| e.into_inner());
        for (key, value) in writes {
            p.push(Promise {
                key,
                value,
                acks,
                node: node.to_string(),
            });
        }
    }

    /// A copy of every promise so far.
    pub fn all(&self) -> Vec<Promise> {
        self.promises
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Live counters of one load, read by the progress view.
#[derive(Default)]
pub struct LoadStats {
    /// Operations answered.
    pub ops: AtomicU64,
    /// Error replies and broken connections.
    pub errors: AtomicU64,
    /// WAITs issued.
    pub waits: AtomicU64,
    /// The load reached its `ops` / `duration` or was stopped.
    pub done: AtomicBool,
    /// The latest error, for messages.
    pub last_error: Mutex<Option<String>>,
}

impl LoadStats {
    fn error(&self, e: String) {
        self.errors.fetch_add(1, Ordering::SeqCst);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
    }

    /// The latest error.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// A running load.
pub struct Load {
    /// Its name.
    pub name: String,
    /// Node it writes to.
    pub node: String,
    /// Its counters.
    pub stats: Arc<LoadStats>,
    /// Whether errors are tolerated.
    pub tolerate_errors: bool,
    /// When it started.
    pub started: Instant,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

/// What a finished load did.
#[derive(Debug, Clone)]
pub struct LoadSummary {
    /// Operations answered.
    pub ops: u64,
    /// Errors.
    pub errors: u64,
    /// WAITs.
    pub waits: u64,
    /// Seconds it ran.
    pub secs: f64,
}

impl Load {
    /// Starts the load thread against `port`.
    pub fn start(
        spec: &LoadSpec,
        node_name: &str,
        port: u16,
        password: Option<String>,
        profile: Profile,
        seed: u64,
        ledger: Arc<Ledger>,
    ) -> Result<Load> {
        let stats = Arc::new(LoadStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            spec: spec.clone(),
            node: node_name.to_string(),
            port,
            password,
            ops_limit: spec.ops.as_ref().and_then(|o| o.get(profile)),
            time_limit: spec
                .duration
                .as_ref()
                .and_then(|d| d.get(profile))
                .map(|d| d.0),
            rng: SmallRng::seed_from_u64(seed),
            stats: stats.clone(),
            stop: stop.clone(),
            ledger,
        };
        let handle = std::thread::Builder::new()
            .name(format!("load {}", spec.name))
            .spawn(move || worker.run())?;
        Ok(Load {
            name: spec.name.clone(),
            node: node_name.to_string(),
            stats,
            tolerate_errors: spec.tolerate_errors,
            started: Instant::now(),
            stop,
            handle: Some(handle),
        })
    }

    /// Whether it finished on its own.
    pub fn is_done(&self) -> bool {
        self.stats.done.load(Ordering::SeqCst)
    }

    /// Waits for the thread and checks the errors.
    pub fn join(&mut self) -> Result<LoadSummary> {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        let s = LoadSummary {
            ops: self.stats.ops.load(Ordering::SeqCst),
            errors: self.stats.errors.load(Ordering::SeqCst),
            waits: self.stats.waits.load(Ordering::SeqCst),
            secs: self.started.elapsed().as_secs_f64(),
        };
        if s.errors > 0 && !self.tolerate_errors {
            bail!(
                "load {} on node {}: {} errors; last: {}",
                self.name,
                self.node,
                s.errors,
                self.stats.last_error().unwrap_or_default()
            );
        }
        Ok(s)
    }

    /// Asks the thread to stop, then joins it.
    pub fn stop(&mut self) -> Result<LoadSummary> {
        self.stop.store(true, Ordering::SeqCst);
        self.join()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

struct Worker {
    spec: LoadSpec,
    node: String,
    port: u16,
    password: Option<String>,
    ops_limit: Option<u64>,
    time_limit: Option<Duration>,
    rng: SmallRng,
    stats: Arc<LoadStats>,
    stop: Arc<AtomicBool>,
    ledger: Arc<Ledger>,
}

/// One batch ready to send.
struct Batch {
    buf: Vec<u8>,
    replies: usize,
    ops: u64,
    ledger: Vec<(String, String)>,
}

impl Worker {
    fn run(mut self) {
        let mix = self.mix();
        let total: u32 = mix.iter().map(|(_, w)| *w).sum();
        let pool = self.value_pool();
        let start = Instant::now();
        let mut conn: Option<Conn> = None;
        let mut done = 0u64;
        let mut since_wait = 0u64;
        while !self.stop.load(Ordering::SeqCst) {
            if self.ops_limit.is_some_and(|l| done >= l)
                || self.time_limit.is_some_and(|t| start.elapsed() >= t)
            {
                break;
            }
            if self.spec.rate > 0 {
                let due = start + Duration::from_secs_f64(done as f64 / self.spec.rate as f64);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep((due - now).min(Duration::from_millis(50)));
                    continue;
                }
            }
            let c = match conn.as_mut() {
                Some(c) => c,
                None => {
                    let connected =
                        Conn::connect(self.port, self.password.as_deref(), Duration::from_secs(5))
                            .and_then(|mut c| {
                                if self.spec.db != 0 {
                                    c.cmd(&["SELECT", &self.spec.db.to_string()])?.ok()?;
                                }
                                Ok(c)
                            });
                    match connected {
                        Ok(c) => conn.insert(c),
                        Err(e) => {
                            self.stats.error(format!("{e:#}"));
                            if !self.spec.tolerate_errors {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(100));
                            continue;
                        }
                    }
                }
            };
            let mut n = self.spec.pipeline;
            if let Some(l) = self.ops_limit {
                n = n.min(l - done);
            }
            let wait = match &self.spec.wait {
                Some(w) if since_wait + n >= w.every => Some(w.clone()),
                _ => None,
            };
            let batch = self.batch(n, &mix, total, &pool, wait.as_ref());
            match c.pipeline(&batch.buf, batch.replies) {
                Ok(replies) => {
                    for r in &replies {
                        if let Reply::Error(e) = r {
                            self.stats.error(format!("node {}: {e}", self.node));
                        }
                    }
                    if wait.is_some() {
                        self.stats.waits.fetch_add(1, Ordering::SeqCst);
                        since_wait = 0;
                        // The batch ends with the ledger SET and the WAIT.
                        let acks = replies.last().and_then(Reply::int);
                        let set_ok = replies.len() >= 2
                            && replies[replies.len() - 2] == Reply::Status("OK".into());
                        if let (Some(a), true) = (acks, set_ok) {
                            self.ledger.record(&self.node, batch.ledger, a as u32);
                        }
                    } else {
                        since_wait += batch.ops;
                    }
                    done += batch.ops;
                    self.stats.ops.fetch_add(batch.ops, Ordering::SeqCst);
                    if self.stats.errors.load(Ordering::SeqCst) > 0 && !self.spec.tolerate_errors {
                        break;
                    }
                }
                Err(e) => {
                    self.stats
                        .error(format!("node {} (port {}): {e:#}", self.node, self.port));
                    conn = None;
                    if !self.spec.tolerate_errors {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        self.stats.done.store(true, Ordering::SeqCst);
    }

    fn mix(&self) -> Vec<(String, u32)> {
        let m: Vec<(String, u32)> = self
            .spec
            .mix
            .iter()
            .filter(|(_, w)| **w > 0)
            .map(|(k, w)| (k.clone(), *w))
            .collect();
        if m.is_empty() {
            vec![("set".to_string(), 1)]
        } else {
            m
        }
    }

    fn value_pool(&mut self) -> Vec<u8> {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let len = (self.spec.value_size as usize * 4).max(4096);
        (0..len)
            .map(|_| CHARS[self.rng.gen_range(0..CHARS.len())])
            .collect()
    }

    fn value<'a>(&mut self, pool: &'a [u8]) -> &'a [u8] {
        let size = (self.spec.value_size as usize).max(1);
        let start = self.rng.gen_range(0..=pool.len() - size.min(pool.len()));
        &pool[start..start + size.min(pool.len())]
    }

    fn batch(
        &mut self,
        n: u64,
        mix: &[(String, u32)],
        total: u32,
        pool: &[u8],
        wait: Option<&WaitSpec>,
    ) -> Batch {
        let mut b = Batch {
            buf: Vec::with_capacity(n as usize * (self.spec.value_size as usize + 40)),
            replies: 0,
            ops: n,
            ledger: Vec::new(),
        };
        for _ in 0..n {
            let mut pick = self.rng.gen_range(0..total);
            let mut op = mix[0].0.as_str();
            for (name, w) in mix {
                if pick < *w {
                    op = name;
                    break;
                }
                pick -= w;
            }
            b.replies += self.op(op, &mut b.buf, pool);
        }
        if let Some(w) = wait {
            let (key, value) = self.ledger.next_key();
            encode(&mut b.buf, &["SET", key.as_str(), value.as_str()]);
            let timeout = w.timeout.0.as_millis().to_string();
            encode(
                &mut b.buf,
                &["WAIT", &w.replicas.to_string(), timeout.as_str()],
            );
            b.replies += 2;
            b.ledger.push((key, value));
        }
        b
    }

    /// Encodes one operation; returns how many replies it produces.
    fn op(&mut self, op: &str, buf: &mut Vec<u8>, pool: &[u8]) -> usize {
        let k = self.rng.gen_range(0..self.spec.keys);
        let member = format!("m{}", self.rng.gen_range(0..32));
        let v = self.value(pool).to_vec();
        let key = |p: &str| format!("{p}:{k}");
        match op {
            "get" => encode(buf, &[&b"GET"[..], key("s").as_bytes()]),
            "incr" => encode(buf, &[&b"INCR"[..], key("c").as_bytes()]),
            "incrbyfloat" => {
                let by = format!(
                    "{}.{}",
                    self.rng.gen_range(0..10),
                    self.rng.gen_range(0..100)
                );
                encode(
                    buf,
                    &[&b"INCRBYFLOAT"[..], key("f").as_bytes(), by.as_bytes()],
                )
            }
            "append" => encode(
                buf,
                &[&b"APPEND"[..], key("a").as_bytes(), &v[..v.len().min(8)]],
            ),
            "del" => encode(buf, &[&b"DEL"[..], key("s").as_bytes()]),
            "expire" => encode(buf, &[&b"EXPIRE"[..], key("s").as_bytes(), b"3600"]),
            "short_ttl" => {
                let ms = self.rng.gen_range(100..2000).to_string();
                encode(
                    buf,
                    &[&b"SET"[..], key("t").as_bytes(), &v, b"PX", ms.as_bytes()],
                )
            }
            "rpush" => encode(buf, &[&b"RPUSH"[..], key("l").as_bytes(), &v]),
            "lpop" => encode(buf, &[&b"LPOP"[..], key("l").as_bytes()]),
            "hset" => encode(
                buf,
                &[&b"HSET"[..], key("h").as_bytes(), member.as_bytes(), &v],
            ),
            "hdel" => encode(buf, &[&b"HDEL"[..], key("h").as_bytes(), member.as_bytes()]),
            "sadd" => encode(buf, &[&b"SADD"[..], key("S").as_bytes(), member.as_bytes()]),
            "srem" => encode(buf, &[&b"SREM"[..], key("S").as_bytes(), member.as_bytes()]),
            "zadd" => {
                let score = self.rng.gen_range(-1000..1000).to_string();
                encode(
                    buf,
                    &[
                        &b"ZADD"[..],
                        key("z").as_bytes(),
                        score.as_bytes(),
                        member.as_bytes(),
                    ],
                )
            }
            "zincrby" => encode(
                buf,
                &[
                    &b"ZINCRBY"[..],
                    key("z").as_bytes(),
                    b"1.5",
                    member.as_bytes(),
                ],
            ),
            "multi" => {
                encode(buf, &["MULTI"]);
                encode(buf, &[&b"SET"[..], key("s").as_bytes(), &v]);
                encode(buf, &[&b"INCR"[..], key("c").as_bytes()]);
                encode(buf, &[&b"RPUSH"[..], key("l").as_bytes(), &v]);
                encode(buf, &["EXEC"]);
                return 5;
            }
            _ => encode(buf, &[&b"SET"[..], key("s").as_bytes(), &v]),
        }
        1
    }
}
