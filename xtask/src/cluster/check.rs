//! Invariant checks that read the nodes' data: convergence (DEBUG DIGEST,
//! with a key-by-key diff when digests differ) and the WAIT promise
//! ledger.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::load::Promise;
use super::node::Node;
use super::resp::{encode, Conn, Reply};

const IO: Duration = Duration::from_secs(10);

/// A node's replication state, read fresh.
#[derive(Debug, Clone)]
pub struct ReplState {
    /// `master_repl_offset` (on a replica: what it processed).
    pub offset: i64,
    /// `master_link_status` on a replica.
    pub link: Option<String>,
    /// `role`.
    pub role: String,
}

/// Reads INFO replication.
pub fn repl_state(n: &Node) -> Result<ReplState> {
    let i = n.conn(IO)?.info(Some("replication"))?;
    Ok(ReplState {
        offset: i
            .get("master_repl_offset")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        link: i.get("master_link_status").cloned(),
        role: i.get("role").cloned().unwrap_or_default(),
    })
}

fn digest(n: &Node) -> Result<String> {
    Ok(n.cmd(&["DEBUG", "DIGEST"])?.text())
}

/// Whether every member has its links up and the root's offset.
pub fn in_sync(root: &Node, members: &[&Node]) -> Result<bool> {
    let r = repl_state(root)?;
    for m in members {
        let s = repl_state(m)?;
        if s.link.as_deref() != Some("up") || s.offset != r.offset {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Waits until `root` and `members` (its replicas, direct or chained) have
/// the same offset and the same DEBUG DIGEST. On timeout the error lists
/// every node's offset, link and digest, and the first differing keys.
pub fn converge(root: &Node, members: &[&Node], timeout: Duration) -> Result<Duration> {
    let start = Instant::now();
    let deadline = start + timeout;
    loop {
        let attempt = (|| -> Result<bool> {
            let before = repl_state(root)?.offset;
            if !in_sync(root, members)? {
                return Ok(false);
            }
            let d = digest(root)?;
            for m in members {
                if digest(m)? != d {
                    return Ok(false);
                }
            }
            Ok(repl_state(root)?.offset == before)
        })();
        if let Ok(true) = attempt {
            return Ok(start.elapsed());
        }
        if Instant::now() > deadline {
            return Err(anyhow::anyhow!(divergence_report(root, members, timeout)));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn divergence_report(root: &Node, members: &[&Node], timeout: Duration) -> String {
    let mut out = format!(
        "replication group of {} did not converge within {timeout:?}:\n",
        root.name
    );
    let root_digest = digest(root).unwrap_or_else(|e| format!("({e:#})"));
    let mut differing = Vec::new();
    for n in std::iter::once(&root).chain(members.iter()) {
        let st = repl_state(n);
        let d = digest(n).unwrap_or_else(|e| format!("({e:#})"));
        let mark = if d != root_digest {
            differing.push(*n);
            "  <- digest differs"
        } else {
            ""
        };
        let _ = match st {
            Ok(s) => writeln!(
                out,
                "  {:<8} {:<6} {:<7} offset {:>10}  link {:<5} digest {d}{mark}",
                n.name,
                n.kind.to_string(),
                s.role,
                s.offset,
                s.link.as_deref().unwrap_or("-"),
            ),
            Err(e) => writeln!(out, "  {:<8} unreachable: {e:#}", n.name),
        };
    }
    for n in differing {
        let _ = writeln!(out, "  key diff {} vs {}:", root.name, n.name);
        match key_diff(root, n, 5) {
            Ok(lines) if lines.is_empty() => {
                let _ = writeln!(
                    out,
                    "    no differing key found by SCAN (the data changed while diffing?)"
                );
            }
            Ok(lines) => {
                for l in lines {
                    let _ = writeln!(out, "    {l}");
                }
            }
            Err(e) => {
                let _ = writeln!(out, "    diff failed: {e:#}");
            }
        }
    }
    out
}

/// INFO keyspace: `db -> "keys=..,expires=..,avg_ttl=.."`.
fn keyspace(c: &mut Conn) -> Result<BTreeMap<u32, String>> {
    let info = c.info(Some("keyspace"))?;
    Ok(info
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("db")?.parse().ok()?, v.clone())))
        .collect())
}

/// `keys=590,expires=8,avg_ttl=0` without the average TTL.
fn counts(v: Option<&String>) -> String {
    v.map(|v| {
        v.split(',')
            .filter(|f| !f.starts_with("avg_ttl"))
            .collect::<Vec<_>>()
            .join(",")
    })
    .unwrap_or_else(|| "keys=0".to_string())
}

fn scan_all(c: &mut Conn) -> Result<BTreeSet<Vec<u8>>> {
    let mut keys = BTreeSet::new();
    let mut cursor = "0".to_string();
    loop {
        let r = c.cmd(&["SCAN", cursor.as_str(), "COUNT", "1000"])?.ok()?;
        let Reply::Array(Some(parts)) = r else {
            bail!("SCAN answered {}", r.text());
        };
        let [next, batch] = parts.as_slice() else {
            bail!("SCAN answered {} elements", parts.len());
        };
        if let Reply::Array(Some(items)) = batch {
            for it in items {
                if let Reply::Bulk(Some(k)) = it {
                    keys.insert(k.clone());
                }
            }
        }
        cursor = next.text();
        if cursor == "0" {
            return Ok(keys);
        }
    }
}

/// Per key: DEBUG DIGEST-VALUE and PEXPIRETIME, pipelined.
fn fingerprints(c: &mut Conn, keys: &[&Vec<u8>]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(200) {
        let mut buf = Vec::new();
        for k in chunk {
            encode(&mut buf, &[&b"DEBUG"[..], b"DIGEST-VALUE", k]);
            encode(&mut buf, &[&b"PEXPIRETIME"[..], k]);
        }
        let replies = c.pipeline(&buf, chunk.len() * 2)?;
        for pair in replies.chunks(2) {
            out.push((pair[0].text(), pair[1].text()));
        }
    }
    Ok(out)
}

/// A short printable form of a key's value and expiry.
fn describe(c: &mut Conn, key: &[u8]) -> String {
    let ty = c
        .cmd(&[&b"TYPE"[..], key])
        .map(|r| r.text())
        .unwrap_or_default();
    let value = match ty.as_str() {
        "none" => return "(missing)".to_string(),
        "string" => c.cmd(&[&b"GET"[..], key]),
        "list" => c.cmd(&[&b"LRANGE"[..], key, b"0", b"9"]),
        "hash" => c.cmd(&[&b"HGETALL"[..], key]),
        "set" => c.cmd(&[&b"SMEMBERS"[..], key]).map(sorted),
        "zset" => c.cmd(&[&b"ZRANGE"[..], key, b"0", b"9", b"WITHSCORES"]),
        other => return format!("({other})"),
    };
    let ttl = c
        .cmd(&[&b"PEXPIRETIME"[..], key])
        .ok()
        .and_then(|r| r.int())
        .filter(|t| *t >= 0)
        .map(|t| format!(" expires at {t}ms"))
        .unwrap_or_default();
    let mut v = value
        .map(|r| r.text())
        .unwrap_or_else(|e| format!("({e:#})"));
    if v.len() > 100 {
        let mut cut = 100;
        while !v.is_char_boundary(cut) {
            cut -= 1;
        }
        v.truncate(cut);
        v.push('…');
    }
    format!("{ty} {v}{ttl}")
}

fn sorted(r: Reply) -> Reply {
    match r {
        Reply::Array(Some(mut items)) => {
            items.sort_by_key(|i| i.text());
            Reply::Array(Some(items))
        }
        other => other,
    }
}

/// SCANs both nodes, database by database, and describes the first
/// `limit` keys that are missing on one side or whose value or expiry
/// differs.
pub fn key_diff(a: &Node, b: &Node, limit: usize) -> Result<Vec<String>> {
    let mut ca = a.conn(IO)?;
    let mut cb = b.conn(IO)?;
    let (sa, sb) = (keyspace(&mut ca)?, keyspace(&mut cb)?);
    let dbs: BTreeSet<u32> = sa.keys().chain(sb.keys()).copied().collect();
    let mut out = Vec::new();
    let mut total = 0usize;
    for db in dbs {
        let (na, nb) = (counts(sa.get(&db)), counts(sb.get(&db)));
        for c in [&mut ca, &mut cb] {
            c.cmd(&["SELECT", &db.to_string()])?
                .ok()
                .with_context(|| format!("SELECT {db}"))?;
        }
        let ka = scan_all(&mut ca)?;
        let kb = scan_all(&mut cb)?;
        let mut differing: Vec<Vec<u8>> = ka.symmetric_difference(&kb).cloned().collect();
        let common: Vec<&Vec<u8>> = ka.intersection(&kb).collect();
        let fa = fingerprints(&mut ca, &common)?;
        let fb = fingerprints(&mut cb, &common)?;
        for ((k, x), y) in common.iter().zip(&fa).zip(&fb) {
            if x != y {
                differing.push((*k).clone());
            }
        }
        differing.sort();
        total += differing.len();
        if na != nb && differing.is_empty() {
            // SCAN hides logically expired keys that are still stored.
            out.push(format!(
                "db{db}: INFO keyspace says {na} on {} but {nb} on {}, yet SCAN returns the \
                 same {} keys with the same values on both: the difference is in keys \
                 SCAN does not return (logically expired keys still stored: an expiry \
                 DEL that was not applied?)",
                a.name,
                b.name,
                ka.len()
            ));
        }
        for k in differing {
            if out.len() >= limit {
                break;
            }
            out.push(format!(
                "db{db} key {:?}: on {}: {} | on {}: {}",
                String::from_utf8_lossy(&k),
                a.name,
                describe(&mut ca, &k),
                b.name,
                describe(&mut cb, &k)
            ));
        }
    }
    if total > out.len() {
        out.push(format!("... {} differing keys in all", total));
    }
    Ok(out)
}

/// What a promise check found.
#[derive(Debug, Default, Clone)]
pub struct PromiseReport {
    /// Writes WAIT acknowledged by at least `min_acks` replicas.
    pub promised: usize,
    /// Writes with fewer acknowledgements (allowed to be lost).
    pub weaker: usize,
    /// Of those, how many are still there.
    pub weaker_present: usize,
}

/// Checks that every write acknowledged by at least `min_acks` replicas is
/// on `node` with its value.
pub fn check_promises(node: &Node, promises: &[Promise], min_acks: u32) -> Result<PromiseReport> {
    let mut c = node.conn(IO)?;
    c.cmd(&["SELECT", "0"])?.ok()?;
    let mut rep = PromiseReport::default();
    let mut missing = Vec::new();
    for chunk in promises.chunks(500) {
        let mut buf = Vec::new();
        for p in chunk {
            encode(&mut buf, &["GET", p.key.as_str()]);
        }
        let replies = c.pipeline(&buf, chunk.len())?;
        for (p, r) in chunk.iter().zip(replies) {
            let present = r.text() == p.value;
            if p.acks >= min_acks {
                rep.promised += 1;
                if !present {
                    missing.push(format!(
                        "{} (written to {}, WAIT returned {}; {} has {})",
                        p.key,
                        p.node,
                        p.acks,
                        node.name,
                        r.text()
                    ));
                }
            } else {
                rep.weaker += 1;
                rep.weaker_present += usize::from(present);
            }
        }
    }
    if !missing.is_empty() {
        let shown: Vec<&String> = missing.iter().take(5).collect();
        bail!(
            "{} of {} writes acknowledged by WAIT >= {min_acks} are missing on {}: {}",
            missing.len(),
            rep.promised,
            node.name,
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    Ok(rep)
}

/// INFO stats resync counters: (sync_full, sync_partial_ok,
/// sync_partial_err).
pub fn sync_counters(n: &Node) -> Result<(u64, u64, u64)> {
    let i: BTreeMap<String, String> = n.conn(IO)?.info(Some("stats"))?;
    let get = |k: &str| -> Result<u64> {
        i.get(k)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("node {}: INFO stats has no {k}", n.name))
    };
    Ok((
        get("sync_full")?,
        get("sync_partial_ok")?,
        get("sync_partial_err")?,
    ))
}
