//! A fault-injecting TCP proxy on 127.0.0.1: a replica connects to its
//! master through it, and the runner can cut the link (close every
//! connection, refuse new ones), stall it (connections stay open, no byte
//! moves), heal it, add latency, or cap its bandwidth.
//!
//! Plain threads and blocking sockets: a listener thread, and for each
//! connection and direction a reader thread and a writer thread joined by
//! a bounded queue (so a capped or delayed link pushes back on the sender
//! instead of buffering without end).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Result;

const POLL: Duration = Duration::from_millis(20);
const CHUNK: usize = 16 * 1024;

#[derive(Default)]
struct Shared {
    target: AtomicU16,
    cut: AtomicBool,
    stalled: AtomicBool,
    /// Bumped to close every open connection.
    generation: AtomicU64,
    latency_ms: AtomicU64,
    bytes_per_sec: AtomicU64,
    stop: AtomicBool,
    forwarded: AtomicU64,
    accepted: AtomicU64,
}

/// A running proxy.
pub struct Proxy {
    /// The port replicas connect to.
    pub port: u16,
    shared: Arc<Shared>,
    listener: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on a free port and forwards to `127.0.0.1:target`.
    pub fn start(name: &str, target: u16) -> Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
        shared.target.store(target, Ordering::SeqCst);
        let s = shared.clone();
        let handle = std::thread::Builder::new()
            .name(format!("proxy {name}"))
            .spawn(move || accept_loop(listener, s))?;
        Ok(Proxy {
            port,
            shared,
            listener: Some(handle),
        })
    }

    /// Forwards new connections to another port.
    pub fn set_target(&self, port: u16) {
        self.shared.target.store(port, Ordering::SeqCst);
    }

    /// Closes every connection and refuses new ones until `heal`.
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Stops moving bytes (connections stay open) until `heal`.
    pub fn stall(&self) {
        self.shared.stalled.store(true, Ordering::SeqCst);
    }

    /// Undoes `cut` and `stall`.
    pub fn heal(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
        self.shared.stalled.store(false, Ordering::SeqCst);
    }

    /// Delay added to every chunk in each direction.
    pub fn set_latency(&self, d: Duration) {
        self.shared
            .latency_ms
            .store(d.as_millis() as u64, Ordering::SeqCst);
    }

    /// Bandwidth cap per direction in bytes per second; 0 removes it.
    pub fn set_bandwidth(&self, bytes_per_sec: u64) {
        self.shared
            .bytes_per_sec
            .store(bytes_per_sec, Ordering::SeqCst);
    }

    /// A short state for the progress view.
    pub fn status(&self) -> String {
        let s = &self.shared;
        let mut st = if s.cut.load(Ordering::SeqCst) {
            "CUT".to_string()
        } else if s.stalled.load(Ordering::SeqCst) {
            "STALLED".to_string()
        } else {
            "ok".to_string()
        };
        let lat = s.latency_ms.load(Ordering::SeqCst);
        if lat > 0 {
            st.push_str(&format!(" +{lat}ms"));
        }
        let bw = s.bytes_per_sec.load(Ordering::SeqCst);
        if bw > 0 {
            st.push_str(&format!(" cap {}KB/s", bw / 1024));
        }
        st
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(h) = self.listener.take() {
            let _ = h.join();
        }
    }
}

fn accept_loop(listener: TcpListener, s: Arc<Shared>) {
    while !s.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                if s.cut.load(Ordering::SeqCst) {
                    // Refused: the peer sees the connection close at once.
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let target = SocketAddr::from(([127, 0, 0, 1], s.target.load(Ordering::SeqCst)));
                match TcpStream::connect_timeout(&target, Duration::from_secs(2)) {
                    Ok(upstream) => {
                        s.accepted.fetch_add(1, Ordering::SeqCst);
                        let _ = spawn_pair(client, upstream, s.clone());
                    }
                    Err(_) => {
                        // The master is down: pass the refusal on.
                        let _ = client.shutdown(Shutdown::Both);
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

fn spawn_pair(client: TcpStream, upstream: TcpStream, s: Arc<Shared>) -> Result<()> {
    client.set_nonblocking(false)?;
    client.set_nodelay(true)?;
    upstream.set_nodelay(true)?;
    let gen = s.generation.load(Ordering::SeqCst);
    for (from, to) in [
        (client.try_clone()?, upstream.try_clone()?),
        (upstream, client),
    ] {
        let (tx, rx) = sync_channel::<(Instant, Vec<u8>)>(64);
        let (sr, sw) = (s.clone(), s.clone());
        let (from_r, to_r) = (from.try_clone()?, to.try_clone()?);
        std::thread::Builder::new()
            .name("proxy reader".into())
            .spawn(move || reader(from_r, to_r, tx, sr, gen))?;
        std::thread::Builder::new()
            .name("proxy writer".into())
            .spawn(move || writer(to, from, rx, sw, gen))?;
    }
    Ok(())
}

fn dead(s: &Shared, gen: u64) -> bool {
    s.stop.load(Ordering::SeqCst) || s.generation.load(Ordering::SeqCst) != gen
}

fn close(a: &TcpStream, b: &TcpStream) {
    let _ = a.shutdown(Shutdown::Both);
    let _ = b.shutdown(Shutdown::Both);
}

fn reader(
    mut from: TcpStream,
    to: TcpStream,
    tx: SyncSender<(Instant, Vec<u8>)>,
    s: Arc<Shared>,
    gen: u64,
) {
    let _ = from.set_read_timeout(Some(POLL));
    let mut buf = vec![0u8; CHUNK];
    loop {
        if dead(&s, gen) {
            close(&from, &to);
            return;
        }
        if s.stalled.load(Ordering::SeqCst) {
            std::thread::sleep(POLL);
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => {
                // Orderly close: pass it on once the queue drained.
                drop(tx);
                return;
            }
            Ok(n) => {
                if tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                    close(&from, &to);
                    return;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {
                close(&from, &to);
                return;
            }
        }
    }
}

fn writer(
    mut to: TcpStream,
    from: TcpStream,
    rx: Receiver<(Instant, Vec<u8>)>,
    s: Arc<Shared>,
    gen: u64,
) {
    loop {
        if dead(&s, gen) {
            close(&from, &to);
            break;
        }
        if s.stalled.load(Ordering::SeqCst) {
            std::thread::sleep(POLL);
            continue;
        }
        let (at, data) = match rx.recv_timeout(POLL) {
            Ok(item) => item,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => {
                // The other side closed: close this side after the data.
                close(&from, &to);
                break;
            }
        };
        let latency = Duration::from_millis(s.latency_ms.load(Ordering::SeqCst));
        let due = at + latency;
        while Instant::now() < due {
            if dead(&s, gen) {
                close(&from, &to);
                return;
            }
            std::thread::sleep((due - Instant::now()).min(POLL));
        }
        let mut rest = &data[..];
        while !rest.is_empty() {
            if dead(&s, gen) {
                close(&from, &to);
                return;
            }
            let rate = s.bytes_per_sec.load(Ordering::SeqCst);
            // Under a cap, send slices of a twentieth of a second's worth.
            let take = if rate > 0 {
                rest.len().min((rate / 20).max(1) as usize)
            } else {
                rest.len()
            };
            let started = Instant::now();
            if to.write_all(&rest[..take]).is_err() {
                close(&from, &to);
                return;
            }
            s.forwarded.fetch_add(take as u64, Ordering::SeqCst);
            rest = &rest[take..];
            if rate > 0 {
                let should = Duration::from_secs_f64(take as f64 / rate as f64);
                let spent = started.elapsed();
                if should > spent {
                    std::thread::sleep(should - spent);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_server() -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for c in l.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut r = c.try_clone().unwrap();
                    let mut w = c;
                    let _ = std::io::copy(&mut r, &mut w);
                });
            }
        });
        port
    }

    fn roundtrip(port: u16, msg: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut c = TcpStream::connect(("127.0.0.1", port))?;
        c.set_read_timeout(Some(Duration::from_secs(2)))?;
        c.write_all(msg)?;
        let mut buf = vec![0u8; msg.len()];
        c.read_exact(&mut buf)?;
        Ok(buf)
    }

    #[test]
    fn forwards_cuts_heals_and_delays() {
        let p = Proxy::start("t", echo_server()).unwrap();
        assert_eq!(roundtrip(p.port, b"hello").unwrap(), b"hello");

        let mut open = TcpStream::connect(("127.0.0.1", p.port)).unwrap();
        open.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        open.write_all(b"x").unwrap();
        let mut one = [0u8; 1];
        open.read_exact(&mut one).unwrap();
        p.cut();
        // The open connection is closed, and new ones are refused.
        assert_eq!(open.read(&mut one).unwrap_or(0), 0);
        assert!(roundtrip(p.port, b"refused").is_err());
        p.heal();
        assert_eq!(roundtrip(p.port, b"again").unwrap(), b"again");

        p.set_latency(Duration::from_millis(150));
        let t = Instant::now();
        roundtrip(p.port, b"slow").unwrap();
        // Both directions are delayed.
        assert!(
            t.elapsed() >= Duration::from_millis(300),
            "{:?}",
            t.elapsed()
        );
        p.set_latency(Duration::ZERO);

        p.set_bandwidth(20_000);
        let t = Instant::now();
        roundtrip(p.port, &[7u8; 10_000]).unwrap();
        assert!(
            t.elapsed() >= Duration::from_millis(400),
            "{:?}",
            t.elapsed()
        );
    }
}
