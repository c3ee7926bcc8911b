//! The master driven directly.

use std::collections::HashMap;

use bytes::Bytes;
use repl_backlog::{Backlog, ReplId, ReplicationIds};

use super::sim::cmd;
use crate::master::{
    Action, Master, MasterConfig, MasterError, OutputBufferLimit, RdbFilter, ReplicaId,
    ReplicaState, SnapshotId,
};
use crate::{replica, NodeHistory};

struct M {
    m: Master,
    now: u64,
    out: HashMap<ReplicaId, Vec<u8>>,
    closed: Vec<ReplicaId>,
    snaps: Vec<(SnapshotId, bool, RdbFilter)>,
    aborted: Vec<SnapshotId>,
    force_selects: usize,
    logs: Vec<String>,
    /// Snapshot payloads as the server would store them (disk snapshots
    /// are sent from here on Action::SendSnapshotFile).
    blobs: HashMap<SnapshotId, Vec<u8>>,
    /// Send disk snapshots at once (else they are only recorded).
    auto_send: bool,
    /// SendSnapshotFile requests seen.
    sends: Vec<(ReplicaId, SnapshotId)>,
}

const R1: ReplicaId = ReplicaId(1);
const R2: ReplicaId = ReplicaId(2);
const R3: ReplicaId = ReplicaId(3);

impl M {
    fn new(cfg: MasterConfig) -> Self {
        let mut m = M {
            m: Master::new(cfg, 99, 1_000_000),
            now: 1_000_000,
            out: HashMap::new(),
            closed: Vec::new(),
            snaps: Vec::new(),
            aborted: Vec::new(),
            force_selects: 0,
            logs: Vec::new(),
            blobs: HashMap::new(),
            auto_send: true,
            sends: Vec::new(),
        };
        m.m.handle_timeout(m.now);
        m.pump();
        m
    }

    fn pump(&mut self) {
        while let Some(a) = self.m.poll_action() {
            match a {
                Action::SendToReplica { id, bytes } => {
                    self.out.entry(id).or_default().extend_from_slice(&bytes)
                }
                Action::CloseReplica { id } => self.closed.push(id),
                Action::StartSnapshot {
                    id,
                    diskless,
                    filter,
                } => self.snaps.push((id, diskless, filter)),
                Action::AbortSnapshot { id } => self.aborted.push(id),
                Action::ForceSelect => self.force_selects += 1,
                Action::SendSnapshotFile { id, snapshot } if !self.auto_send => {
                    self.sends.push((id, snapshot));
                }
                Action::SendSnapshotFile { id, snapshot } => {
                    self.sends.push((id, snapshot));
                    let blob = self.blobs.get(&snapshot).cloned().unwrap_or_default();
                    let out = self.out.entry(id).or_default();
                    out.extend_from_slice(format!("${}\r\n", blob.len()).as_bytes());
                    out.extend_from_slice(&blob);
                    self.m.handle_snapshot_sent(id, self.now);
                }
            }
        }
        while let Some((_, l)) = self.m.poll_log() {
            self.logs.push(l);
        }
    }

    fn c(&mut self, id: ReplicaId, args: &[&str]) {
        let args: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        self.m.handle_command(id, self.now, &args).unwrap();
        self.pump();
    }

    /// Next bytes of a snapshot, as the server produces them.
    fn chunk(&mut self, sid: SnapshotId, bytes: &'static [u8]) {
        self.blobs.entry(sid).or_default().extend_from_slice(bytes);
        self.m
            .handle_snapshot_chunk(sid, self.now, Bytes::from_static(bytes));
    }

    fn take(&mut self, id: ReplicaId) -> Vec<u8> {
        self.pump();
        self.out.remove(&id).unwrap_or_default()
    }

    fn take_str(&mut self, id: ReplicaId) -> String {
        String::from_utf8_lossy(&self.take(id)).into_owned()
    }

    fn has(&mut self, line: &str) -> bool {
        self.pump();
        self.logs.iter().any(|l| l == line)
    }

    /// A replica that announces port 6380+n and capabilities.
    fn hello(&mut self, id: ReplicaId, port: u16, eof: bool) {
        self.m.set_peer_ip(id, self.now, "127.0.0.1");
        self.c(id, &["REPLCONF", "listening-port", &port.to_string()]);
        if eof {
            self.c(id, &["REPLCONF", "capa", "eof", "capa", "psync2"]);
        } else {
            self.c(id, &["REPLCONF", "capa", "psync2"]);
        }
        self.take(id);
    }

    fn tick(&mut self, ms: u64) {
        self.now += ms;
        self.m.handle_timeout(self.now);
        self.pump();
    }

    fn feed(&mut self, data: &[u8]) {
        self.m.feed(self.now, data);
        self.pump();
    }
}

fn diskless() -> MasterConfig {
    MasterConfig {
        diskless_sync_delay_secs: 0,
        ..MasterConfig::default()
    }
}

fn disk() -> MasterConfig {
    MasterConfig {
        diskless_sync: false,
        ..MasterConfig::default()
    }
}

#[test]
fn disk_snapshot_is_sent_by_the_server_while_writes_are_held() {
    // The payload never passes through the machine: it asks the server to
    // send it (from its file), and holds the stream meanwhile.
    let mut m = M::new(MasterConfig {
        output_buffer_limit: OutputBufferLimit {
            hard_bytes: 1,
            soft_bytes: 0,
            soft_seconds: 0,
        },
        ..disk()
    });
    m.auto_send = false;
    m.hello(R1, 6380, false);
    m.c(R1, &["PSYNC", "?", "-1"]);
    let (sid, diskless, _) = m.snaps[0];
    assert!(!diskless);
    m.take(R1);
    m.chunk(sid, &[b'x'; 4096]);
    m.m.handle_snapshot_end(sid, m.now, Ok(()));
    m.pump();
    assert_eq!(m.sends, vec![(R1, sid)]);
    assert_eq!(m.m.replica_state(R1), Some(ReplicaState::SendBulk));
    assert_eq!(m.take(R1), b"", "the payload is the server's to send");
    m.feed(&cmd(&["SET", "a", "1"]));
    assert_eq!(m.take(R1), b"");
    m.m.handle_snapshot_sent(R1, m.now);
    m.pump();
    assert_eq!(m.m.replica_state(R1), Some(ReplicaState::Online));
    assert_eq!(m.take(R1), cmd(&["SET", "a", "1"]));
    assert!(m.closed.is_empty());
}

#[test]
fn replconf_only_connection_is_known_until_it_closes() {
    // A connection that only sent REPLCONF has a record the server must
    // report closed, or it stays forever.
    let mut m = M::new(diskless());
    m.hello(R1, 6380, true);
    assert!(m.m.knows(R1));
    assert!(!m.m.is_replica(R1));
    m.m.handle_disconnected(R1, m.now);
    assert!(!m.m.knows(R1));
}

#[test]
fn replconf_replies() {
    let mut m = M::new(diskless());
    m.c(
        R1,
        &[
            "REPLCONF",
            "listening-port",
            "6380",
            "capa",
            "eof",
            "capa",
            "whatever",
        ],
    );
    assert_eq!(m.take_str(R1), "+OK\r\n");
    m.c(R1, &["REPLCONF", "listening-port"]);
    assert_eq!(m.take_str(R1), "-ERR syntax error\r\n");
    m.c(R1, &["REPLCONF", "listening-port", "x"]);
    assert_eq!(
        m.take_str(R1),
        "-ERR value is not an integer or out of range\r\n"
    );
    m.c(R1, &["REPLCONF", "foo", "bar"]);
    assert_eq!(m.take_str(R1), "-ERR Unrecognized REPLCONF option: foo\r\n");
    let long = "x".repeat(256);
    m.c(R1, &["REPLCONF", "ip-address", &long]);
    assert_eq!(
        m.take_str(R1),
        "-ERR REPLCONF ip-address provided by replica instance is too long: 256 bytes\r\n"
    );
    m.c(R1, &["REPLCONF", "rdb-only", "2"]);
    assert_eq!(
        m.take_str(R1),
        "-ERR value is out of range, value must between 0 and 1\r\n"
    );
    m.c(R1, &["REPLCONF", "rdb-filter-only", "keys"]);
    assert_eq!(
        m.take_str(R1),
        "-ERR Unsupported rdb-filter-only option: keys\r\n"
    );
    m.c(R1, &["REPLCONF", "rdb-filter-only", "\"unbalanced"]);
    assert_eq!(m.take_str(R1), "-ERR Missing rdb-filter-only values\r\n");
    // ACK from a non-replica and GETACK: no reply at all.
    m.c(R1, &["REPLCONF", "ACK", "10"]);
    m.c(R1, &["REPLCONF", "GETACK", "*"]);
    assert_eq!(m.take_str(R1), "");
    m.c(R1, &["REPLCONF"]);
    assert_eq!(m.take_str(R1), "+OK\r\n");
    assert_eq!(
        m.m.handle_command(R1, m.now, &[]),
        Err(MasterError::EmptyCommand)
    );
    assert_eq!(
        m.m.handle_command(R1, m.now, &[Bytes::from_static(b"GET")]),
        Err(MasterError::NotReplicationCommand("GET".into()))
    );
}

#[test]
fn sync_argument_errors() {
    let mut m = M::new(diskless());
    m.m.set_peer_ip(R1, m.now, "127.0.0.1");
    m.c(R1, &["PSYNC", "?"]);
    assert_eq!(
        m.take_str(R1),
        "-ERR wrong number of arguments for 'psync' command\r\n"
    );
    m.c(R1, &["SYNC", "x"]);
    assert_eq!(
        m.take_str(R1),
        "-ERR wrong number of arguments for 'sync' command\r\n"
    );
    m.c(R1, &["PSYNC", "?", "abc"]);
    assert_eq!(
        m.take_str(R1),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert!(m.has("Replica 127.0.0.1:<unknown-replica-port> asks for synchronization"));
    assert!(m.has(
        "Replica 127.0.0.1:<unknown-replica-port> asks for synchronization but with a wrong offset"
    ));
    assert!(!m.m.is_replica(R1));
    m.c(R1, &["REPLCONF", "rdb-filter-only", ""]);
    m.c(R1, &["PSYNC", "?", "-1"]);
    assert!(m
        .take_str(R1)
        .ends_with("-ERR Filtered replica requires EOF capability\r\n"));
}

#[test]
fn diskless_full_sync() {
    let mut m = M::new(diskless());
    m.hello(R1, 6380, true);
    m.c(R1, &["PSYNC", "?", "-1"]);
    let id = m.m.ids().replid().to_string();
    assert!(m.has("Replica 127.0.0.1:6380 asks for synchronization"));
    assert!(m.has("Full resync requested by replica 127.0.0.1:6380"));
    assert!(m.has(&format!(
        "Replication backlog created, my new replication IDs are '{id}' and \
         '0000000000000000000000000000000000000000'"
    )));
    assert!(m.has("Starting BGSAVE for SYNC with target: replicas sockets"));
    assert_eq!(m.snaps.len(), 1);
    let (sid, diskless, _) = m.snaps[0];
    assert!(diskless);
    assert_eq!(m.force_selects, 1);
    let head = m.take_str(R1);
    assert!(head.starts_with(&format!("+FULLRESYNC {id} 0\r\n$EOF:")));
    let mark = head[head.len() - 42..head.len() - 2].to_string();
    assert_eq!(m.m.replica_state(R1), Some(ReplicaState::WaitBgsaveEnd));
    // Chunks are relayed live; writes are held.
    m.chunk(sid, b"RDB1");
    m.feed(&cmd(&["SET", "a", "1"]));
    m.chunk(sid, b"RDB2");
    assert_eq!(m.take_str(R1), "RDB1RDB2");
    m.m.handle_snapshot_end(sid, m.now, Ok(()));
    assert_eq!(m.take_str(R1), mark);
    assert!(m.has(
        "Streamed RDB transfer with replica 127.0.0.1:6380 succeeded (socket). Waiting for \
         REPLCONF ACK from slave to enable streaming"
    ));
    assert!(m.has("Synchronization with replica 127.0.0.1:6380 succeeded"));
    assert_eq!(m.m.replica_state(R1), Some(ReplicaState::Online));
    m.feed(&cmd(&["SET", "b", "2"]));
    assert_eq!(m.take_str(R1), "");
    m.c(R1, &["REPLCONF", "ACK", "0"]);
    assert_eq!(
        m.take(R1),
        [cmd(&["SET", "a", "1"]), cmd(&["SET", "b", "2"])].concat()
    );
    m.feed(&cmd(&["SET", "c", "3"]));
    assert_eq!(m.take(R1), cmd(&["SET", "c", "3"]));
    let info = m.m.info(m.now).to_info_string();
    assert!(info.contains("connected_slaves:1\r\n"));
    assert!(info.contains("slave0:ip=127.0.0.1,port=6380,state=online,offset=0,lag=0\r\n"));
    assert!(info.contains(&format!("master_replid:{id}\r\n")));
    assert!(info.contains("repl_backlog_active:1\r\n"));
    assert!(info.contains("repl_backlog_first_byte_offset:1\r\n"));
    assert!(info.contains(&format!("master_repl_offset:{}\r\n", m.m.master_offset())));
    assert_eq!(m.m.stats().sync_full, 1);
    assert_eq!(m.m.stats().sync_partial_err, 0);
}

#[test]
fn disk_snapshot_shared_by_attaching_replicas() {
    let mut m = M::new(disk());
    m.hello(R1, 6380, true);
    m.hello(R2, 6381, true);
    m.hello(R3, 6382, false);
    m.c(R1, &["PSYNC", "?", "-1"]);
    assert!(m.has("Starting BGSAVE for SYNC with target: disk"));
    let (sid, diskless, _) = m.snaps[0];
    assert!(!diskless);
    m.feed(&cmd(&["SET", "a", "1"]));
    let off_at_start = 0;
    m.c(R2, &["PSYNC", "?", "-1"]);
    assert!(m.has("Waiting for end of BGSAVE for SYNC"));
    m.c(R3, &["PSYNC", "?", "-1"]);
    assert!(
        m.has("Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC")
    );
    let id = m.m.ids().replid().to_string();
    let fr = format!("+FULLRESYNC {id} {off_at_start}\r\n");
    assert_eq!(m.take_str(R1), fr);
    assert_eq!(m.take_str(R2), fr);
    assert_eq!(m.take_str(R3), "");
    // Keepalive newlines while waiting.
    m.tick(1000);
    assert_eq!(m.take_str(R1), "\n");
    assert_eq!(m.take_str(R3), "\n");
    m.take(R2);
    m.chunk(sid, b"abc");
    m.feed(&cmd(&["SET", "b", "2"]));
    m.chunk(sid, b"def");
    assert_eq!(m.take_str(R1), "");
    m.m.handle_snapshot_end(sid, m.now, Ok(()));
    let expect = [
        b"$6\r\nabcdef".to_vec(),
        cmd(&["SET", "a", "1"]),
        cmd(&["SET", "b", "2"]),
    ]
    .concat();
    assert_eq!(m.take(R1), expect);
    assert_eq!(m.take(R2), expect);
    assert!(m.has("Synchronization with replica 127.0.0.1:6380 succeeded"));
    assert!(m.has("Synchronization with replica 127.0.0.1:6381 succeeded"));
    // R3 gets the next snapshot, at the offset of that moment.
    assert_eq!(m.snaps.len(), 2);
    let off = m.m.master_offset();
    assert_eq!(m.take_str(R3), format!("+FULLRESYNC {id} {off}\r\n"));
    m.feed(&cmd(&["SET", "c", "3"]));
    assert_eq!(m.take(R1), cmd(&["SET", "c", "3"]));
    assert_eq!(m.take(R3), b"");
}

#[test]
fn diskless_delay_and_max_replicas() {
    let mut m = M::new(MasterConfig {
        diskless_sync_delay_secs: 5,
        ..MasterConfig::default()
    });
    m.hello(R1, 6380, true);
    m.c(R1, &["PSYNC", "?", "-1"]);
    assert!(m.has("Delay next BGSAVE for diskless SYNC"));
    for _ in 0..4 {
        m.tick(1000);
        assert!(m.snaps.is_empty());
        assert_eq!(m.take_str(R1), "\n");
    }
    m.hello(R2, 6381, true);
    m.c(R2, &["PSYNC", "?", "-1"]);
    m.tick(1000);
    assert_eq!(m.snaps.len(), 1);
    let id = m.m.ids().replid().to_string();
    for r in [R1, R2] {
        let out = m.take_str(r);
        assert!(out
            .trim_start_matches('\n')
            .starts_with(&format!("+FULLRESYNC {id} 0\r\n$EOF:")));
    }

    let mut m = M::new(MasterConfig {
        diskless_sync_delay_secs: 100,
        diskless_sync_max_replicas: 2,
        ..MasterConfig::default()
    });
    m.hello(R1, 6380, true);
    m.c(R1, &["PSYNC", "?", "-1"]);
    m.tick(1000);
    assert!(m.snaps.is_empty());
    m.hello(R2, 6381, true);
    m.c(R2, &["PSYNC", "?", "-1"]);
    m.tick(1000);
    assert_eq!(m.snaps.len(), 1);
}

#[test]
fn socket_snapshot_in_progress_and_failures() {
    let mut m = M::new(diskless());
    m.hello(R1, 6380, true);
    m.hello(R2, 6381, true);
    m.c(R1, &["PSYNC", "?", "-1"]);
    let (sid, _, _) = m.snaps[0];
    m.c(R2, &["PSYNC", "?", "-1"]);
    assert!(m.has("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC"));
    // No newline for diskless WAIT_BGSAVE_END replicas, but for R2.
    m.take(R1);
    m.take(R2);
    m.tick(1000);
    assert_eq!(m.take_str(R1), "");
    assert_eq!(m.take_str(R2), "\n");
    m.m.handle_snapshot_end(sid, m.now, Err("child crashed".into()));
    assert!(m.has("SYNC failed. BGSAVE child returned an error"));
    assert!(m.has("Connection with replica 127.0.0.1:6380 lost."));
    assert_eq!(m.closed, vec![R1]);
    // R2's snapshot starts at once.
    assert_eq!(m.snaps.len(), 2);
    let (sid2, _, _) = m.snaps[1];
    // Its only consumer goes away: the child is killed.
    m.m.handle_disconnected(R2, m.now);
    m.pump();
    assert!(m.has("Diskless rdb transfer, last replica dropped, killing fork child."));
    assert_eq!(m.aborted, vec![sid2]);
    assert_eq!(m.m.replica_count(), 0);
    // Late chunks of the aborted snapshot are ignored.
    m.out.clear();
    m.chunk(sid2, b"zzz");
    m.m.handle_snapshot_end(sid2, m.now, Ok(()));
    m.pump();
    assert!(m.out.is_empty());
}

#[test]
fn partial_resync_decisions_and_stats() {
    let mut m = M::new(diskless());
    m.hello(R1, 6380, true);
    m.c(R1, &["PSYNC", "?", "-1"]);
    let (sid, _, _) = m.snaps[0];
    m.m.handle_snapshot_end(sid, m.now, Ok(()));
    m.feed(&cmd(&["PING"]));
    m.pump();
    let id = m.m.ids().replid().to_string();
    // PSYNC continuing from offset 1 with psync2: +CONTINUE <id> + backlog.
    m.hello(R2, 6381, true);
    m.c(R2, &["PSYNC", &id, "1"]);
    assert_eq!(
        m.take(R2),
        [format!("+CONTINUE {id}\r\n").into_bytes(), cmd(&["PING"])].concat()
    );
    assert!(m.has(
        "Partial resynchronization request from 127.0.0.1:6381 accepted. Sending 14 bytes of \
         backlog starting from offset 1."
    ));
    assert_eq!(m.m.replica_state(R2), Some(ReplicaState::Online));
    // Without psync2: bare +CONTINUE; caught up: no backlog bytes.
    m.m.set_peer_ip(R3, m.now, "::1");
    m.c(R3, &["REPLCONF", "listening-port", "7000"]);
    m.take(R3);
    m.c(R3, &["PSYNC", &id.to_uppercase(), "15"]);
    assert_eq!(m.take_str(R3), "+CONTINUE\r\n");
    assert!(m.has(
        "Partial resynchronization request from [::1]:7000 accepted. Sending 0 bytes of \
         backlog starting from offset 15."
    ));
    let mut other = M::new(diskless());
    other.m.set_peer_ip(R1, other.now, "10.1.1.1");
    let bogus = "f".repeat(40);
    let before = other.m.ids();
    other.c(R1, &["PSYNC", &bogus, "5"]);
    // Logged with the IDs of that moment; the backlog then gets a new ID.
    assert!(other.has(&format!(
        "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for \
         '{bogus}', my replication IDs are '{}' and '{}')",
        before.replid(),
        ReplId::NONE
    )));
    assert_ne!(other.m.ids().replid(), before.replid());
    assert_eq!(other.m.stats().sync_partial_err, 1);
    assert_eq!(m.m.stats().sync_partial_ok, 2);
    assert_eq!(m.m.stats().sync_partial_err, 0);
    // Beyond the end of the backlog.
    m.hello(ReplicaId(9), 6390, true);
    m.c(ReplicaId(9), &["PSYNC", &id, "100"]);
    assert!(m.has(
        "Unable to partial resync with replica 127.0.0.1:6390 for lack of backlog (Replica \
         request was: 100)."
    ));
    assert!(m.has(
        "Warning: replica 127.0.0.1:6390 tried to PSYNC with an offset that is greater than the \
         master replication offset."
    ));
    assert_eq!(m.m.stats().sync_partial_err, 1);
    assert_eq!(m.m.stats().sync_full, 2);
}

#[test]
fn ping_period_and_timeouts() {
    let mut m = M::new(MasterConfig {
        ping_replica_period_secs: 3,
        ..diskless()
    });
    m.hello(R1, 6380, true);
    m.c(R1, &["PSYNC", "?", "-1"]);
    let (sid, _, _) = m.snaps[0];
    m.m.handle_snapshot_end(sid, m.now, Ok(()));
    m.c(R1, &["REPLCONF", "ACK", "0"]);
    m.take(R1);
    let start = m.m.master_offset();
    let mut pings = 0;
    for _ in 0..9 {
        m.tick(1000);
        let got = m.take(R1);
        if !got.is_empty() {
            assert_eq!(got, cmd(&["PING"]));
            pings += 1;
        }
        m.c(R1, &["REPLCONF", "ACK", &m.m.master_offset().to_string()]);
    }
    assert_eq!(pings, 3);
    assert_eq!(m.m.master_offset(), start + 3 * 14);
    assert_eq!(m.m.wait_target(m.m.master_offset()), 1);
    assert_eq!(m.m.wait_target(m.m.master_offset() + 1), 0);
    // Silence: dropped after repl-timeout.
    for _ in 0..60 {
        m.tick(1000);
    }
    assert!(m.closed.is_empty());
    m.tick(1000);
    assert!(m.has("Disconnecting timedout replica (streaming sync): 127.0.0.1:6380"));
    assert!(m.has("Connection with replica 127.0.0.1:6380 lost."));
    assert_eq!(m.closed, vec![R1]);
}

#[test]
fn sync_replica_is_pre_psync() {
    let mut m = M::new(diskless());
    m.m.set_peer_ip(R1, m.now, "127.0.0.1");
    m.c(R1, &["SYNC"]);
    // No capa eof: disk target even with diskless sync on; no +FULLRESYNC.
    assert!(m.has("Starting BGSAVE for SYNC with target: disk"));
    let (sid, _, _) = m.snaps[0];
    assert_eq!(m.take_str(R1), "");
    m.chunk(sid, b"xy");
    m.m.handle_snapshot_end(sid, m.now, Ok(()));
    assert_eq!(m.take_str(R1), "$2\r\nxy");
    for _ in 0..100 {
        m.tick(1000);
    }
    // Never timed out for lack of ACKs.
    assert!(m.closed.is_empty());
    assert!(m.has("Synchronization with replica 127.0.0.1:<unknown-replica-port> succeeded"));
}

#[test]
fn backlog_ttl() {
    let mut m = M::new(MasterConfig {
        backlog_ttl_secs: 10,
        ..diskless()
    });
    m.m.set_peer_ip(R1, m.now, "127.0.0.1");
    m.c(R1, &["PSYNC", "?", "-1"]);
    let id = m.m.ids();
    m.m.handle_disconnected(R1, m.now);
    m.pump();
    for _ in 0..10 {
        m.tick(1000);
    }
    assert!(m.m.backlog().is_some());
    m.tick(1000);
    assert!(m.m.backlog().is_none());
    assert!(m.has("Replication backlog freed after 10 seconds without connected replicas."));
    assert_ne!(m.m.ids().replid(), id.replid());
    assert!(m.m.ids().replid2().is_none());
    let info = m.m.info(m.now).to_info_string();
    assert!(info.contains("repl_backlog_active:0\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n"));
}

#[test]
fn output_buffer_limits() {
    let limit = OutputBufferLimit {
        hard_bytes: 2 * 1024 * 1024,
        soft_bytes: 1024 * 1024,
        soft_seconds: 5,
    };
    let mut m = M::new(MasterConfig {
        output_buffer_limit: limit,
        ..diskless()
    });
    for r in [R1, R2] {
        m.hello(r, 6380 + r.0 as u16, true);
        m.c(r, &["PSYNC", "?", "-1"]);
    }
    let (sid, _, _) = m.snaps[0];
    m.m.handle_snapshot_end(sid, m.now, Ok(()));
    m.c(R1, &["REPLCONF", "ACK", "0"]);
    m.c(R2, &["REPLCONF", "ACK", "0"]);
    m.pump();
    // Hard limit.
    m.m.handle_replica_pending(R1, m.now, 2 * 1024 * 1024);
    m.pump();
    assert!(m.has(
        "Client 127.0.0.1:6381 scheduled to be closed ASAP for overcoming of output buffer \
         limits."
    ));
    assert_eq!(m.closed, vec![R1]);
    // Soft limit: must persist for more than 5 seconds.
    for _ in 0..6 {
        m.m.handle_replica_pending(R2, m.now, 1024 * 1024);
        m.pump();
        assert_eq!(m.closed, vec![R1]);
        m.now += 1000;
        m.c(R2, &["REPLCONF", "ACK", "0"]);
    }
    m.m.handle_replica_pending(R2, m.now, 1024 * 1024);
    m.pump();
    assert_eq!(m.closed, vec![R1, R2]);

    // A hard limit below the backlog size is raised to it.
    let mut m = M::new(MasterConfig {
        output_buffer_limit: OutputBufferLimit {
            hard_bytes: 100,
            soft_bytes: 0,
            soft_seconds: 0,
        },
        backlog_size: 1000,
        ..disk()
    });
    m.hello(R1, 6380, true);
    m.c(R1, &["PSYNC", "?", "-1"]);
    // Bytes handed over (replies, +FULLRESYNC) count until the server
    // reports them written.
    m.m.handle_replica_pending(R1, m.now, 0);
    // Held stream during the snapshot counts too.
    m.feed(&vec![b'x'; 999]);
    assert!(m.closed.is_empty());
    m.feed(b"y");
    assert_eq!(m.closed, vec![R1]);
    assert_eq!(m.aborted.len(), 1);
}

#[test]
fn rdb_only_replica() {
    let mut m = M::new(diskless());
    m.hello(R1, 6380, true);
    m.c(
        R1,
        &["REPLCONF", "rdb-only", "1", "rdb-filter-only", "functions"],
    );
    assert_eq!(m.take_str(R1), "+OK\r\n");
    m.c(R1, &["PSYNC", "?", "-1"]);
    let (sid, diskless, filter) = m.snaps[0];
    assert!(diskless);
    assert_eq!(
        filter,
        RdbFilter {
            exclude_data: true,
            exclude_functions: false
        }
    );
    m.feed(&cmd(&["SET", "a", "1"]));
    m.m.handle_snapshot_end(sid, m.now, Ok(()));
    assert!(m.has(
        "RDB transfer completed, rdb only replica (127.0.0.1:6380) should be disconnected asap"
    ));
    assert_eq!(m.closed, vec![R1]);
    let out = m.take_str(R1);
    assert!(!out.contains("SET"));
}

#[test]
fn replica_node_refuses_sync_without_link() {
    let mut m = M::new(diskless());
    m.m.handle_upstream(
        m.now,
        &replica::Action::Role {
            replica: true,
            link_up: false,
        },
    );
    m.m.set_peer_ip(R1, m.now, "127.0.0.1");
    m.c(R1, &["PSYNC", "?", "-1"]);
    assert_eq!(
        m.take_str(R1),
        "-NOMASTERLINK Can't SYNC while not connected with my master\r\n"
    );
    // A replica node doesn't PING its sub-replicas nor send GETACK.
    m.m.handle_upstream(
        m.now,
        &replica::Action::Role {
            replica: true,
            link_up: true,
        },
    );
    m.c(R1, &["PSYNC", "?", "-1"]);
    let (sid, _, _) = m.snaps[0];
    m.m.handle_snapshot_end(sid, m.now, Ok(()));
    m.c(R1, &["REPLCONF", "ACK", "0"]);
    let off = m.m.master_offset();
    m.m.send_getack(m.now);
    for _ in 0..30 {
        m.tick(1000);
    }
    assert_eq!(m.m.master_offset(), off);
    // Promotion: counts from now, SELECT forced.
    let before = m.force_selects;
    m.m.handle_upstream(
        m.now,
        &replica::Action::Role {
            replica: false,
            link_up: false,
        },
    );
    m.pump();
    assert_eq!(m.force_selects, before + 1);
    m.m.send_getack(m.now);
    assert_eq!(m.m.master_offset(), off + 37);
}

#[test]
fn good_replicas_and_min_replicas() {
    let mut m = M::new(MasterConfig {
        min_replicas_to_write: 1,
        min_replicas_max_lag_secs: 10,
        ..diskless()
    });
    assert!(!m.m.min_replicas_ok(m.now));
    m.hello(R1, 6380, true);
    m.c(R1, &["PSYNC", "?", "-1"]);
    let (sid, _, _) = m.snaps[0];
    m.m.handle_snapshot_end(sid, m.now, Ok(()));
    m.pump();
    assert_eq!(m.m.good_replicas(m.now), 1);
    assert!(m.m.min_replicas_ok(m.now));
    assert!(m
        .m
        .info(m.now)
        .to_info_string()
        .contains("min_slaves_good_slaves:1\r\n"));
    m.now += 11_000;
    assert_eq!(m.m.good_replicas(m.now), 0);
    assert!(!m.m.min_replicas_ok(m.now));
    let line = m.m.info(m.now).to_info_string();
    assert!(line.contains("slave0:ip=127.0.0.1,port=6380,state=online,offset=0,lag=11\r\n"));
}

#[test]
fn names_and_history() {
    let mut m = M::new(diskless());
    m.c(ReplicaId(5), &["PSYNC", "?", "-1"]);
    assert!(m.has("Replica client id #5 asks for synchronization"));
    // No IP: skipped in INFO, still counted.
    let info = m.m.info(m.now).to_info_string();
    assert!(info.contains("connected_slaves:1\r\n"));
    assert!(!info.contains("slave0:"));

    let ids = ReplicationIds::from_parts(ReplId::from_random([1; 20]), ReplId::NONE, -1);
    let hist = NodeHistory { ids, offset: 10 };
    let backlog = Backlog::new(100, 9).unwrap();
    assert!(matches!(
        Master::from_history(diskless(), 1, 0, hist, Some(backlog)),
        Err(MasterError::BacklogMismatch {
            backlog: 9,
            history: 10
        })
    ));
    let mut backlog = Backlog::new(100, 9).unwrap();
    backlog.append(b"x");
    let m2 = Master::from_history(diskless(), 1, 0, hist, Some(backlog)).unwrap();
    assert_eq!(m2.history(), hist);
    assert_eq!(m2.backlog().map(|b| b.first_byte_offset()), Some(10));
}

#[test]
fn other_child_delays_snapshot() {
    let mut m = M::new(disk());
    m.m.set_other_child_active(m.now, true);
    m.hello(R1, 6380, false);
    m.c(R1, &["PSYNC", "?", "-1"]);
    assert!(m.has(
        "No BGSAVE in progress, but another BG operation is active. BGSAVE for replication \
         delayed"
    ));
    m.tick(1000);
    assert!(m.snaps.is_empty());
    m.m.set_other_child_active(m.now, false);
    m.pump();
    assert_eq!(m.snaps.len(), 1);
}

#[test]
fn psync_without_backlog() {
    let mut m = M::new(diskless());
    m.m.set_peer_ip(R1, m.now, "127.0.0.1");
    m.c(R1, &["REPLCONF", "listening-port", "6380"]);
    let id = m.m.ids().replid().to_string();
    m.c(R1, &["PSYNC", &id, "100"]);
    assert!(m.has(
        "Unable to partial resync with replica 127.0.0.1:6380 for lack of backlog (Replica \
         request was: 100)."
    ));
    assert!(m.has(
        "Warning: replica 127.0.0.1:6380 tried to PSYNC with an offset that is greater than the \
         master replication offset."
    ));
    assert_eq!(m.m.stats().sync_partial_err, 1);
    // The backlog is created with a new ID for the full sync.
    assert_ne!(m.m.ids().replid().as_str(), id);
    assert!(m
        .take_str(R1)
        .contains(&format!("+FULLRESYNC {} 0\r\n", m.m.ids().replid())));
}
