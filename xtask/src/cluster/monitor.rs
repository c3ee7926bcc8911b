//! The sampler: a thread that reads INFO from every running node a few
//! times a second, checks that replication offsets never go backwards,
//! tracks peak `used_memory`, and prints the live progress line (role,
//! offset, lag behind its upstream, link state, load rates).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::load::LoadStats;
use super::resp::Conn;

const PERIOD: Duration = Duration::from_millis(200);

/// What the sampler needs to know about a node; the runner keeps it up to
/// date.
#[derive(Clone, Debug)]
pub struct Watch {
    /// Node name.
    pub name: String,
    /// Its port.
    pub port: u16,
    /// Its password.
    pub password: Option<String>,
    /// Sample it (running and not paused).
    pub active: bool,
    /// Its upstream node, for the lag column.
    pub upstream: Option<String>,
    /// Shown instead of a sample when not active (`paused`, `killed`...).
    pub status: String,
    /// State of its upstream link's proxy, if any.
    pub link: Option<String>,
}

/// One INFO reading.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// `master` or `slave`.
    pub role: String,
    /// `run_id`.
    pub run_id: String,
    /// `master_replid`.
    pub replid: String,
    /// `master_repl_offset`.
    pub master_offset: i64,
    /// `slave_repl_offset` (replicas).
    pub slave_offset: Option<i64>,
    /// `master_link_status` (replicas).
    pub link: Option<String>,
    /// `master_sync_in_progress` is 1.
    pub syncing: bool,
    /// `connected_slaves`.
    pub connected_slaves: u64,
    /// `used_memory`.
    pub used_memory: u64,
}

impl Sample {
    /// Reads the fields from INFO.
    pub fn from_info(i: &BTreeMap<String, String>) -> Sample {
        let num = |k: &str| i.get(k).and_then(|v| v.parse::<i64>().ok());
        Sample {
            role: i.get("role").cloned().unwrap_or_default(),
            run_id: i.get("run_id").cloned().unwrap_or_default(),
            replid: i.get("master_replid").cloned().unwrap_or_default(),
            master_offset: num("master_repl_offset").unwrap_or(0),
            slave_offset: num("slave_repl_offset"),
            link: i.get("master_link_status").cloned(),
            syncing: i.get("master_sync_in_progress").is_some_and(|v| v == "1"),
            connected_slaves: num("connected_slaves").unwrap_or(0) as u64,
            used_memory: num("used_memory").unwrap_or(0) as u64,
        }
    }
}

/// Everything the sampler shares with the runner.
#[derive(Default)]
pub struct MonitorState {
    /// Nodes to sample.
    pub watches: Vec<Watch>,
    /// Latest sample per node.
    pub latest: BTreeMap<String, Sample>,
    /// Peak `used_memory` per node.
    pub peak_memory: BTreeMap<String, u64>,
    /// Offsets that went backwards.
    pub violations: Vec<String>,
    /// INFO readings taken.
    pub samples: u64,
    /// Running loads.
    pub loads: Vec<(String, Arc<LoadStats>)>,
    /// Check offsets.
    pub check_offsets: bool,
    last_offsets: BTreeMap<(String, String, String, &'static str), i64>,
}

impl MonitorState {
    fn record(&mut self, name: &str, s: Sample) {
        self.samples += 1;
        let peak = self.peak_memory.entry(name.to_string()).or_default();
        *peak = (*peak).max(s.used_memory);
        if self.check_offsets {
            let mut series = vec![("master_repl_offset", s.master_offset)];
            // A replica reports a placeholder while a full sync is in
            // progress or its link is down; only a live link counts.
            if let (Some(o), Some("up"), false) = (s.slave_offset, s.link.as_deref(), s.syncing) {
                series.push(("slave_repl_offset", o));
            }
            for (field, v) in series {
                let key = (name.to_string(), s.run_id.clone(), s.replid.clone(), field);
                if let Some(prev) = self.last_offsets.get(&key) {
                    if v < *prev {
                        self.violations.push(format!(
                            "node {name}: {field} went backwards from {prev} to {v} \
                             (same process run_id {}…, same replid {}…)",
                            short(&s.run_id),
                            short(&s.replid)
                        ));
                    }
                }
                let e = self.last_offsets.entry(key).or_insert(v);
                *e = (*e).max(v);
            }
        }
        self.latest.insert(name.to_string(), s);
    }

    /// The progress line.
    pub fn status_line(&self, elapsed: Duration) -> String {
        let mut parts = Vec::new();
        for w in &self.watches {
            let mut p = format!("{}:", w.name);
            match (w.active, self.latest.get(&w.name)) {
                (true, Some(s)) => {
                    if s.role == "master" {
                        p.push_str(&format!(" master off={}", s.master_offset));
                        if s.connected_slaves > 0 {
                            p.push_str(&format!(" replicas={}", s.connected_slaves));
                        }
                    } else {
                        let link = s.link.as_deref().unwrap_or("?");
                        let off = s.slave_offset.unwrap_or(s.master_offset);
                        p.push_str(&format!(" replica link={link}"));
                        if s.syncing {
                            p.push_str(" SYNCING");
                        }
                        p.push_str(&format!(" off={off}"));
                        let up = w.upstream.as_ref().and_then(|u| self.latest.get(u));
                        if let Some(u) = up {
                            p.push_str(&format!(" lag={}B", (u.master_offset - off).max(0)));
                        }
                    }
                    p.push_str(&format!(" mem={}", human(s.used_memory)));
                }
                (true, None) => p.push_str(" (no sample yet)"),
                (false, _) => p.push_str(&format!(" {}", w.status)),
            }
            if let Some(l) = &w.link {
                if l != "ok" {
                    p.push_str(&format!(" [link {l}]"));
                }
            }
            parts.push(p);
        }
        for (name, st) in &self.loads {
            if st.done.load(Ordering::SeqCst) {
                continue;
            }
            let ops = st.ops.load(Ordering::SeqCst);
            let errs = st.errors.load(Ordering::SeqCst);
            let mut p = format!("load {name}: {ops} ops");
            if errs > 0 {
                p.push_str(&format!(" {errs} errors"));
            }
            parts.push(p);
        }
        format!(
            "    [{:>6.1}s] {}",
            elapsed.as_secs_f64(),
            parts.join(" | ")
        )
    }
}

fn short(s: &str) -> &str {
    &s[..s.len().min(8)]
}

/// Bytes as `1.2M`.
pub fn human(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.1}M", b as f64 / (1 << 20) as f64)
    } else if b >= 1 << 10 {
        format!("{:.0}K", b as f64 / 1024.0)
    } else {
        format!("{b}B")
    }
}

/// The sampler thread.
pub struct Monitor {
    /// Shared state.
    pub state: Arc<Mutex<MonitorState>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Monitor {
    /// Starts sampling; prints the progress line every `every`.
    pub fn start(check_offsets: bool, every: Duration) -> Monitor {
        let state = Arc::new(Mutex::new(MonitorState {
            check_offsets,
            ..MonitorState::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let handle = std::thread::Builder::new()
            .name("monitor".into())
            .spawn(move || sampler(st, sp, every))
            .ok();
        Monitor {
            state,
            stop,
            handle,
        }
    }

    /// Locks the shared state.
    pub fn lock(&self) -> MutexGuard<'_, MonitorState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops the thread.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Progress lines every second on a terminal, every three seconds in logs.
pub fn default_interval() -> Duration {
    if std::io::stdout().is_terminal() {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(3)
    }
}

fn sampler(state: Arc<Mutex<MonitorState>>, stop: Arc<AtomicBool>, every: Duration) {
    let started = Instant::now();
    let mut last_print = Instant::now();
    let mut conns: BTreeMap<String, Conn> = BTreeMap::new();
    while !stop.load(Ordering::SeqCst) {
        let round = Instant::now();
        let watches = state.lock().map(|s| s.watches.clone()).unwrap_or_default();
        for w in watches {
            if !w.active {
                conns.remove(&w.name);
                continue;
            }
            let conn = match conns.remove(&w.name) {
                Some(c) if c.port() == w.port => Some(c),
                _ => Conn::connect(w.port, w.password.as_deref(), Duration::from_millis(500)).ok(),
            };
            let Some(mut c) = conn else { continue };
            if let Ok(info) = c.info(None) {
                let s = Sample::from_info(&info);
                if let Ok(mut st) = state.lock() {
                    // The runner may have paused or stopped it meanwhile.
                    if st.watches.iter().any(|x| x.name == w.name && x.active) {
                        st.record(&w.name, s);
                    }
                }
                conns.insert(w.name.clone(), c);
            }
        }
        if !every.is_zero() && last_print.elapsed() >= every {
            last_print = Instant::now();
            if let Ok(st) = state.lock() {
                println!("{}", st.status_line(started.elapsed()));
            }
        }
        let spent = round.elapsed();
        if spent < PERIOD {
            std::thread::sleep(PERIOD - spent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(run: &str, replid: &str, off: i64) -> Sample {
        Sample {
            role: "master".into(),
            run_id: run.into(),
            replid: replid.into(),
            master_offset: off,
            ..Sample::default()
        }
    }

    #[test]
    fn offsets_going_backwards_are_violations() {
        let mut st = MonitorState {
            check_offsets: true,
            ..MonitorState::default()
        };
        st.record("m", sample("a", "x", 10));
        st.record("m", sample("a", "x", 20));
        // A new replication id (promotion, full sync) or a restart starts
        // a new series.
        st.record("m", sample("a", "y", 5));
        st.record("m", sample("b", "x", 1));
        assert!(st.violations.is_empty(), "{:?}", st.violations);
        st.record("m", sample("a", "x", 15));
        assert_eq!(st.violations.len(), 1);
        assert!(
            st.violations[0].contains("from 20 to 15"),
            "{}",
            st.violations[0]
        );
    }
}
