//! A deterministic in-memory world for the state machines: a simulated
//! clock, nodes that each own a `Master` and a `Replica` plus a toy
//! dataset, TCP-like links that can be closed, partitioned (bytes silently
//! dropped) and healed, and a fake RDB producer/loader.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use bytes::{Bytes, BytesMut};
use resp_codec::{encode, RequestDecoder};

use crate::master::{self, Master, MasterConfig, ReplicaId, SnapshotId};
use crate::node::{self as replication_node, Event};
use crate::replica::{self, Replica, ReplicaConfig};
use crate::Level;

/// One TCP connection from a replica (client) to a master (server).
#[derive(Debug)]
pub struct Link {
    pub client: usize,
    pub server: usize,
    pub rid: ReplicaId,
    up: VecDeque<u8>,
    down: VecDeque<u8>,
    pub open: bool,
    /// False while the connect is pending (partitioned at connect time).
    established: bool,
    /// Close requested by the server: deliver what is queued, then close.
    close_after_flush: bool,
}

/// A snapshot being produced by a node's "fork".
#[derive(Debug)]
pub struct SnapProd {
    pub id: SnapshotId,
    blob: Vec<u8>,
    pos: usize,
}

/// A simulated server.
#[derive(Debug)]
pub struct Node {
    pub port: u16,
    /// The replication machines, routed as the server routes them.
    pub repl: replication_node::Node,
    pub data: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Every command applied from the master link.
    pub applied: Vec<Vec<Bytes>>,
    multi: Option<Vec<Vec<Bytes>>>,
    pub logs: Vec<(Level, String)>,
    /// The link to this node's master, if any.
    pub master_link: Option<usize>,
    incoming: Vec<u8>,
    /// Don't report the snapshot as loaded until released.
    pub hold_load: bool,
    pub load_pending: bool,
    /// Make the loaded snapshot fail.
    pub fail_load: bool,
    pub requirepass: Option<String>,
    authed: HashSet<usize>,
    /// Scripted reply to SYNC/PSYNC instead of the state machine's.
    pub psync_reply: Option<String>,
    server_bufs: HashMap<usize, (BytesMut, RequestDecoder)>,
    select_pending: bool,
    pub snapshots: Vec<SnapProd>,
    /// Don't produce snapshot bytes until released.
    pub hold_snapshot: bool,
    pub snapshot_chunk: usize,
    /// Every byte the replica side forwarded (Action::Forward).
    pub forwarded: Vec<u8>,
    /// Offsets at which each Forward ended.
    pub forward_ends: Vec<u64>,
    /// Every raw chunk received from the master socket.
    pub started_snapshots: Vec<(SnapshotId, bool)>,
    /// Finished disk snapshots, sent on Action::SendSnapshotFile.
    pub finished_snapshots: HashMap<SnapshotId, Vec<u8>>,
    pub aborted_snapshots: Vec<SnapshotId>,
    pub force_selects: usize,
}

impl Node {
    pub fn has_log(&self, needle: &str) -> bool {
        self.logs.iter().any(|(_, l)| l.contains(needle))
    }

    pub fn count_log(&self, needle: &str) -> usize {
        self.logs.iter().filter(|(_, l)| l.contains(needle)).count()
    }

    pub fn log_lines(&self) -> Vec<String> {
        self.logs.iter().map(|(_, l)| l.clone()).collect()
    }
}

/// The simulated world.
#[derive(Debug)]
pub struct Sim {
    pub now: u64,
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
    partitions: HashSet<(usize, usize)>,
    /// Closes that the other end only learns about when the partition
    /// heals: (link, tell the server).
    deferred_closes: Vec<(usize, bool)>,
    /// Largest chunk delivered per direction and step.
    pub max_chunk: usize,
    /// Vary chunk sizes pseudo-randomly up to `max_chunk`.
    pub random_chunks: bool,
    rng: u64,
}

fn pair(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

/// Serializes a dataset into the opaque "RDB" blob.
pub fn encode_blob(data: &BTreeMap<Vec<u8>, Vec<u8>>) -> Vec<u8> {
    let mut out = b"FAKERDB".to_vec();
    for (k, v) in data {
        out.extend((k.len() as u32).to_le_bytes());
        out.extend(k);
        out.extend((v.len() as u32).to_le_bytes());
        out.extend(v);
    }
    out
}

/// Parses a blob produced by [`encode_blob`].
pub fn decode_blob(blob: &[u8]) -> Option<BTreeMap<Vec<u8>, Vec<u8>>> {
    let mut rest = blob.strip_prefix(b"FAKERDB")?;
    let mut map = BTreeMap::new();
    let take = |rest: &mut &[u8]| -> Option<Vec<u8>> {
        let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let v = rest.get(4..4 + len)?.to_vec();
        *rest = &rest[4 + len..];
        Some(v)
    };
    while !rest.is_empty() {
        let k = take(&mut rest)?;
        let v = take(&mut rest)?;
        map.insert(k, v);
    }
    Some(map)
}

pub fn cmd(args: &[&str]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode::command(&mut out, args);
    out.to_vec()
}

impl Sim {
    pub fn new() -> Self {
        Sim {
            now: 1_000_000,
            nodes: Vec::new(),
            links: Vec::new(),
            partitions: HashSet::new(),
            deferred_closes: Vec::new(),
            max_chunk: 1 << 20,
            random_chunks: false,
            rng: 0x1234_5678,
        }
    }

    /// Adds a node listening on `port`, with Redis's default settings except
    /// a small diskless delay.
    pub fn add_node(&mut self, port: u16) -> usize {
        let mcfg = MasterConfig {
            diskless_sync_delay_secs: 0,
            ..MasterConfig::default()
        };
        let rcfg = ReplicaConfig {
            listening_port: port,
            ..ReplicaConfig::default()
        };
        self.add_node_with(port, mcfg, rcfg)
    }

    pub fn add_node_with(&mut self, port: u16, mcfg: MasterConfig, rcfg: ReplicaConfig) -> usize {
        let seed = u64::from(port) * 7919;
        self.nodes.push(Node {
            port,
            repl: replication_node::Node::new(
                Master::new(mcfg, seed, self.now),
                Replica::new(rcfg, seed + 1),
            ),
            data: BTreeMap::new(),
            applied: Vec::new(),
            multi: None,
            logs: Vec::new(),
            master_link: None,
            incoming: Vec::new(),
            hold_load: false,
            load_pending: false,
            fail_load: false,
            requirepass: None,
            authed: HashSet::new(),
            psync_reply: None,
            server_bufs: HashMap::new(),
            select_pending: false,
            snapshots: Vec::new(),
            hold_snapshot: false,
            snapshot_chunk: 5,
            forwarded: Vec::new(),
            forward_ends: Vec::new(),
            started_snapshots: Vec::new(),
            finished_snapshots: HashMap::new(),
            aborted_snapshots: Vec::new(),
            force_selects: 0,
        });
        let n = self.nodes.len() - 1;
        self.drain(n);
        n
    }

    fn next_rand(&mut self) -> u64 {
        self.rng = self
            .rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.rng >> 33
    }

    // ------------------------------------------------------------------
    // Control
    // ------------------------------------------------------------------

    /// `REPLICAOF <master's port>` on node `n`.
    pub fn replicaof(&mut self, n: usize, m: usize) {
        let port = self.nodes[m].port;
        let own = self.nodes[n].repl.master.history();
        let now = self.now;
        self.nodes[n]
            .repl
            .replica
            .set_master(now, "127.0.0.1", port, Some(own))
            .unwrap();
        self.drain(n);
    }

    /// `REPLICAOF NO ONE` on node `n`.
    pub fn promote(&mut self, n: usize) {
        let now = self.now;
        self.nodes[n].repl.replica.set_no_master(now).unwrap();
        self.drain(n);
    }

    /// A client write on node `n`.
    pub fn write(&mut self, n: usize, args: &[&str]) {
        let now_ms = self.now;
        let node = &mut self.nodes[n];
        apply_to(
            &mut node.data,
            &args
                .iter()
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect::<Vec<_>>(),
        );
        let mut bytes = Vec::new();
        if std::mem::take(&mut node.select_pending) {
            bytes.extend(cmd(&["SELECT", "0"]));
        }
        bytes.extend(cmd(args));
        node.repl.master.feed(now_ms, &bytes);
        self.drain(n);
    }

    /// A transaction on node `n`, propagated as MULTI ... EXEC in one batch.
    pub fn write_multi(&mut self, n: usize, cmds: &[&[&str]]) {
        let now_ms = self.now;
        let node = &mut self.nodes[n];
        let mut bytes = Vec::new();
        if std::mem::take(&mut node.select_pending) {
            bytes.extend(cmd(&["SELECT", "0"]));
        }
        bytes.extend(cmd(&["MULTI"]));
        for c in cmds {
            apply_to(
                &mut node.data,
                &c.iter()
                    .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                    .collect::<Vec<_>>(),
            );
            bytes.extend(cmd(c));
        }
        bytes.extend(cmd(&["EXEC"]));
        node.repl.master.feed(now_ms, &bytes);
        self.drain(n);
    }

    /// Closes every link between `a` and `b`; both ends are told.
    pub fn kill_links(&mut self, a: usize, b: usize) {
        for l in 0..self.links.len() {
            let link = &self.links[l];
            if link.open && pair(link.client, link.server) == pair(a, b) {
                self.close_link(l);
            }
        }
        self.run();
    }

    /// Silently drops everything between `a` and `b` until healed; connects
    /// hang.
    pub fn partition(&mut self, a: usize, b: usize) {
        self.partitions.insert(pair(a, b));
    }

    pub fn heal(&mut self, a: usize, b: usize) {
        self.partitions.remove(&pair(a, b));
        let now = self.now;
        for (l, tell_server) in std::mem::take(&mut self.deferred_closes) {
            let (c, s, rid) = (
                self.links[l].client,
                self.links[l].server,
                self.links[l].rid,
            );
            if pair(c, s) != pair(a, b) {
                self.deferred_closes.push((l, tell_server));
                continue;
            }
            if tell_server {
                self.nodes[s].repl.master.handle_disconnected(rid, now);
                self.nodes[s].server_bufs.remove(&l);
                self.drain(s);
            } else if self.nodes[c].master_link == Some(l) {
                self.nodes[c].master_link = None;
                self.nodes[c].repl.replica.handle_disconnected(now).unwrap();
                self.drain(c);
            }
        }
    }

    fn partitioned(&self, a: usize, b: usize) -> bool {
        self.partitions.contains(&pair(a, b))
    }

    /// Lets held snapshot production run.
    pub fn release_snapshots(&mut self, n: usize) {
        self.nodes[n].hold_snapshot = false;
        self.run();
    }

    /// Lets a held load finish.
    pub fn release_load(&mut self, n: usize) {
        self.nodes[n].hold_load = false;
        self.finish_load(n);
        self.run();
    }

    // ------------------------------------------------------------------
    // Time
    // ------------------------------------------------------------------

    /// Runs until nothing moves, without advancing time.
    pub fn run(&mut self) {
        for _ in 0..100_000 {
            if !self.step() {
                return;
            }
        }
        panic!("simulation does not settle");
    }

    /// Advances the clock by `ms`, firing every timer on the way.
    pub fn advance(&mut self, ms: u64) {
        let target = self.now + ms;
        loop {
            self.run();
            let next = self
                .nodes
                .iter()
                .filter_map(|n| n.repl.next_timeout())
                .min();
            match next {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    let now = self.now;
                    for i in 0..self.nodes.len() {
                        self.nodes[i].repl.handle_timeout(now);
                        self.drain(i);
                    }
                }
                _ => break,
            }
        }
        self.now = target;
        self.run();
    }

    // ------------------------------------------------------------------
    // Plumbing
    // ------------------------------------------------------------------

    /// One round: deliver a chunk on every link, produce snapshot bytes.
    fn step(&mut self) -> bool {
        let mut moved = false;
        for l in 0..self.links.len() {
            if !self.links[l].open || !self.links[l].established {
                continue;
            }
            let (c, s) = (self.links[l].client, self.links[l].server);
            let blackhole = self.partitioned(c, s);
            let chunk = if self.random_chunks {
                1 + (self.next_rand() as usize % self.max_chunk.max(1))
            } else {
                self.max_chunk
            };
            if !self.links[l].up.is_empty() {
                let n = chunk.min(self.links[l].up.len());
                let data: Vec<u8> = self.links[l].up.drain(..n).collect();
                moved = true;
                if !blackhole {
                    self.server_receive(l, &data);
                }
            }
            if !self.links[l].open {
                continue;
            }
            if !self.links[l].down.is_empty() {
                let n = chunk.min(self.links[l].down.len());
                let data: Vec<u8> = self.links[l].down.drain(..n).collect();
                moved = true;
                if !blackhole && self.nodes[c].master_link == Some(l) {
                    let now = self.now;
                    self.nodes[c].repl.replica.handle_data(now, &data).unwrap();
                    self.drain(c);
                }
            }
            if self.links[l].open
                && self.links[l].close_after_flush
                && self.links[l].down.is_empty()
            {
                self.close_link(l);
                moved = true;
            }
        }
        for n in 0..self.nodes.len() {
            if self.nodes[n].hold_snapshot {
                continue;
            }
            let step = self.nodes[n].snapshot_chunk;
            if let Some(prod) = self.nodes[n].snapshots.first_mut() {
                let end = (prod.pos + step).min(prod.blob.len());
                let chunk = Bytes::copy_from_slice(&prod.blob[prod.pos..end]);
                prod.pos = end;
                let id = prod.id;
                let done = prod.pos >= prod.blob.len();
                let now = self.now;
                self.nodes[n]
                    .repl
                    .master
                    .handle_snapshot_chunk(id, now, chunk);
                if done {
                    let prod = self.nodes[n].snapshots.remove(0);
                    self.nodes[n].finished_snapshots.insert(id, prod.blob);
                    self.nodes[n]
                        .repl
                        .master
                        .handle_snapshot_end(id, now, Ok(()));
                }
                self.drain(n);
                moved = true;
            }
        }
        moved
    }

    /// Closes link `l`, telling both ends.
    fn close_link(&mut self, l: usize) {
        if !self.links[l].open {
            return;
        }
        self.links[l].open = false;
        let (c, s, rid) = (
            self.links[l].client,
            self.links[l].server,
            self.links[l].rid,
        );
        let now = self.now;
        self.nodes[s].repl.master.handle_disconnected(rid, now);
        self.nodes[s].server_bufs.remove(&l);
        self.drain(s);
        if self.partitioned(c, s) {
            self.deferred_closes.push((l, false));
            return;
        }
        if self.nodes[c].master_link == Some(l) {
            self.nodes[c].master_link = None;
            if self.links[l].established {
                self.nodes[c].repl.replica.handle_disconnected(now).unwrap();
            }
            self.drain(c);
        }
    }

    /// Bytes from a replica arrive at its master's server.
    fn server_receive(&mut self, l: usize, data: &[u8]) {
        let s = self.links[l].server;
        let rid = self.links[l].rid;
        let now = self.now;
        let mut reqs = Vec::new();
        {
            let (buf, dec) = self.nodes[s]
                .server_bufs
                .entry(l)
                .or_insert_with(|| (BytesMut::new(), RequestDecoder::default()));
            buf.extend_from_slice(data);
            let mut args = Vec::new();
            while let Ok(Some(_)) = dec.decode(buf, &mut args) {
                reqs.push(std::mem::take(&mut args));
            }
        }
        for args in reqs {
            if !self.links[l].open {
                return;
            }
            let node = &mut self.nodes[s];
            let Some(name) = args.first() else {
                node.repl.master.handle_replica_newline(rid, now);
                continue;
            };
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            let need_auth = node.requirepass.is_some() && !node.authed.contains(&l);
            let reply: Option<Vec<u8>> = match name.as_str() {
                "auth" => {
                    let pass = args.last().map(|p| String::from_utf8_lossy(p).into_owned());
                    if pass.is_some() && pass == node.requirepass {
                        node.authed.insert(l);
                        Some(b"+OK\r\n".to_vec())
                    } else {
                        Some(
                            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
                                .to_vec(),
                        )
                    }
                }
                _ if need_auth => Some(b"-NOAUTH Authentication required.\r\n".to_vec()),
                "ping" => Some(b"+PONG\r\n".to_vec()),
                "sync" | "psync" if node.psync_reply.is_some() => node
                    .psync_reply
                    .clone()
                    .map(|r| format!("{r}\r\n").into_bytes()),
                "replconf" | "sync" | "psync" => {
                    node.repl.master.handle_command(rid, now, &args).unwrap();
                    None
                }
                other => Some(format!("-ERR unknown command '{other}'\r\n").into_bytes()),
            };
            if let Some(r) = reply {
                self.links[l].down.extend(r);
            }
            self.drain(s);
        }
    }

    /// Processes every output of node `n` until its queues are empty,
    /// through the same [`replication_node::Node::poll`] the server uses.
    pub fn drain(&mut self, n: usize) {
        let now = self.now;
        while let Some(event) = self.nodes[n].repl.poll(now) {
            match event {
                Event::Log(level, line) => self.nodes[n].logs.push((level, line)),
                Event::Replica(action) => self.replica_action(n, action),
                Event::Master(action) => self.master_action(n, action),
                Event::Transmit(bytes) => {
                    if let Some(l) = self.nodes[n].master_link {
                        if self.links[l].open {
                            self.links[l].up.extend(bytes.iter());
                        }
                    }
                }
            }
        }
    }

    fn replica_action(&mut self, n: usize, action: replica::Action) {
        let now = self.now;
        match action {
            replica::Action::Connect { port, .. } => {
                let Some(m) = self.nodes.iter().position(|x| x.port == port) else {
                    self.nodes[n]
                        .repl
                        .replica
                        .handle_connect_failed(now, "Connection refused")
                        .unwrap();
                    return;
                };
                let rid = ReplicaId(self.links.len() as u64 + 100);
                let established = !self.partitioned(n, m);
                self.links.push(Link {
                    client: n,
                    server: m,
                    rid,
                    up: VecDeque::new(),
                    down: VecDeque::new(),
                    open: true,
                    established,
                    close_after_flush: false,
                });
                let l = self.links.len() - 1;
                self.nodes[n].master_link = Some(l);
                if established {
                    self.nodes[m].repl.master.set_peer_ip(rid, now, "127.0.0.1");
                    self.nodes[n].repl.replica.handle_connected(now).unwrap();
                }
            }
            replica::Action::Disconnect => {
                if let Some(l) = self.nodes[n].master_link.take() {
                    if self.links[l].open {
                        self.links[l].open = false;
                        let (s, rid) = (self.links[l].server, self.links[l].rid);
                        if self.partitioned(n, s) {
                            self.deferred_closes.push((l, true));
                            return;
                        }
                        self.nodes[s].repl.master.handle_disconnected(rid, now);
                        self.nodes[s].server_bufs.remove(&l);
                        self.drain(s);
                    }
                }
            }
            replica::Action::SnapshotStart { .. } => self.nodes[n].incoming.clear(),
            replica::Action::SnapshotChunk(b) => self.nodes[n].incoming.extend(&b[..]),
            replica::Action::SnapshotFailed => self.nodes[n].incoming.clear(),
            replica::Action::SnapshotDone => {
                self.nodes[n].load_pending = true;
                if !self.nodes[n].hold_load {
                    self.finish_load(n);
                }
            }
            replica::Action::Apply { args, .. } => {
                let node = &mut self.nodes[n];
                node.applied.push(args.clone());
                let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
                match name.as_str() {
                    "multi" => node.multi = Some(Vec::new()),
                    "exec" => {
                        for c in node.multi.take().unwrap_or_default() {
                            apply_to(&mut node.data, &c);
                        }
                    }
                    "discard" => node.multi = None,
                    _ => match node.multi.as_mut() {
                        Some(q) => q.push(args),
                        None => apply_to(&mut node.data, &args),
                    },
                }
            }
            replica::Action::DiscardTransaction => self.nodes[n].multi = None,
            replica::Action::Forward(b) => {
                let node = &mut self.nodes[n];
                node.forwarded.extend(&b[..]);
                node.forward_ends.push(node.repl.replica.offset());
            }
            replica::Action::DiscardHistory
            | replica::Action::AdoptHistory { .. }
            | replica::Action::Role { .. } => {}
        }
    }

    /// The "server" loads the received blob.
    fn finish_load(&mut self, n: usize) {
        if !std::mem::take(&mut self.nodes[n].load_pending) {
            return;
        }
        let now = self.now;
        let blob = std::mem::take(&mut self.nodes[n].incoming);
        let parsed = if self.nodes[n].fail_load {
            None
        } else {
            decode_blob(&blob)
        };
        match parsed {
            Some(map) => {
                self.nodes[n].data = map;
                self.nodes[n].multi = None;
                self.nodes[n]
                    .repl
                    .replica
                    .handle_snapshot_loaded(now)
                    .unwrap();
            }
            None => {
                self.nodes[n]
                    .repl
                    .replica
                    .handle_snapshot_failed(now, "bad RDB")
                    .unwrap();
            }
        }
        self.drain(n);
    }

    fn master_action(&mut self, n: usize, action: master::Action) {
        match action {
            master::Action::SendToReplica { id, bytes } => {
                if let Some(l) = self.link_of(n, id) {
                    if self.links[l].open && !self.links[l].close_after_flush {
                        self.links[l].down.extend(bytes.iter());
                    }
                }
            }
            master::Action::CloseReplica { id } => {
                if let Some(l) = self.link_of(n, id) {
                    self.links[l].close_after_flush = true;
                }
            }
            master::Action::StartSnapshot { id, diskless, .. } => {
                let blob = encode_blob(&self.nodes[n].data);
                self.nodes[n].started_snapshots.push((id, diskless));
                self.nodes[n].snapshots.push(SnapProd { id, blob, pos: 0 });
            }
            master::Action::SendSnapshotFile { id, snapshot } => {
                let blob = self.nodes[n]
                    .finished_snapshots
                    .get(&snapshot)
                    .cloned()
                    .unwrap_or_default();
                if let Some(l) = self.link_of(n, id) {
                    if self.links[l].open && !self.links[l].close_after_flush {
                        self.links[l]
                            .down
                            .extend(format!("${}\r\n", blob.len()).bytes());
                        self.links[l].down.extend(blob.iter());
                    }
                }
                let now = self.now;
                self.nodes[n].repl.master.handle_snapshot_sent(id, now);
            }
            master::Action::AbortSnapshot { id } => {
                self.nodes[n].aborted_snapshots.push(id);
                self.nodes[n].snapshots.retain(|p| p.id != id);
            }
            master::Action::ForceSelect => {
                self.nodes[n].select_pending = true;
                self.nodes[n].force_selects += 1;
            }
        }
    }

    fn link_of(&self, server: usize, id: ReplicaId) -> Option<usize> {
        self.links
            .iter()
            .position(|l| l.server == server && l.rid == id && l.open)
    }

    /// All bytes of node `n`'s replication stream from `from` on (needs a
    /// backlog big enough).
    pub fn stream_from(&self, n: usize, from: u64) -> Vec<u8> {
        self.nodes[n]
            .repl
            .master
            .backlog()
            .unwrap()
            .read_from(from)
            .unwrap()
            .to_vec()
    }
}

/// Applies a command to a toy dataset (SET/DEL; everything else is a
/// no-op for data).
pub fn apply_to(data: &mut BTreeMap<Vec<u8>, Vec<u8>>, args: &[Bytes]) {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    match name.as_str() {
        "set" if args.len() == 3 => {
            data.insert(args[1].to_vec(), args[2].to_vec());
        }
        "del" => {
            for k in &args[1..] {
                data.remove(&k[..]);
            }
        }
        _ => {}
    }
}
