//! The replica driven directly with scripted master replies.

use bytes::Bytes;
use repl_backlog::{ReplId, REPLID_LEN};

use super::sim::cmd;
use crate::replica::{Action, LinkStatus, ReplState, Replica, ReplicaConfig, ReplicaError};
use crate::Level;

pub const MASTER_ID: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const OTHER_ID: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

pub struct Driver {
    pub r: Replica,
    pub now: u64,
    pub tx: Vec<u8>,
    pub actions: Vec<Action>,
    pub logs: Vec<(Level, String)>,
}

impl Driver {
    pub fn new(cfg: ReplicaConfig) -> Self {
        Driver {
            r: Replica::new(cfg, 42),
            now: 10_000,
            tx: Vec::new(),
            actions: Vec::new(),
            logs: Vec::new(),
        }
    }

    pub fn pump(&mut self) {
        while let Some(a) = self.r.poll_action() {
            if a == Action::Disconnect {
                self.tx.clear();
            }
            self.actions.push(a);
        }
        while let Some(b) = self.r.poll_transmit() {
            self.tx.extend_from_slice(&b);
        }
        while let Some(l) = self.r.poll_log() {
            self.logs.push(l);
        }
    }

    pub fn take_tx(&mut self) -> Vec<u8> {
        self.pump();
        std::mem::take(&mut self.tx)
    }

    pub fn take_actions(&mut self) -> Vec<Action> {
        self.pump();
        std::mem::take(&mut self.actions)
    }

    pub fn lines(&mut self) -> Vec<String> {
        self.pump();
        self.logs.iter().map(|(_, l)| l.clone()).collect()
    }

    pub fn has(&mut self, needle: &str) -> bool {
        self.pump();
        self.logs.iter().any(|(_, l)| l == needle)
    }

    /// set_master + connected; returns the PING sent.
    pub fn start(&mut self) -> Vec<u8> {
        self.r
            .set_master(self.now, "127.0.0.1", 6379, None)
            .unwrap();
        self.pump();
        self.r.handle_connected(self.now).unwrap();
        self.take_tx()
    }

    pub fn feed(&mut self, data: &[u8]) {
        self.r.handle_data(self.now, data).unwrap();
        self.pump();
    }

    /// Through the handshake up to the PSYNC reply (no AUTH/IP).
    pub fn reach_psync(&mut self) -> Vec<u8> {
        self.start();
        self.feed(b"+PONG\r\n");
        self.take_tx();
        let cfg = self.r.config();
        let replies =
            2 + usize::from(cfg.master_auth.is_some()) + usize::from(cfg.announce_ip.is_some());
        self.feed(&b"+OK\r\n".repeat(replies));
        self.take_tx()
    }

    /// Full sync with an EOF-framed empty-ish payload, loaded; Connected.
    pub fn reach_connected(&mut self, offset: u64) {
        self.reach_psync();
        let mark = [b'm'; REPLID_LEN];
        let mut data = format!("+FULLRESYNC {MASTER_ID} {offset}\r\n$EOF:").into_bytes();
        data.extend(mark);
        data.extend(b"\r\nPAYLOAD");
        data.extend(mark);
        self.feed(&data);
        self.r.handle_snapshot_loaded(self.now).unwrap();
        self.take_tx();
        self.take_actions();
    }

    pub fn tick(&mut self, ms: u64) {
        self.now += ms;
        self.r.handle_timeout(self.now);
        self.pump();
    }
}

fn cfg() -> ReplicaConfig {
    ReplicaConfig {
        listening_port: 6380,
        ..ReplicaConfig::default()
    }
}

fn ack(off: u64) -> Vec<u8> {
    cmd(&["REPLCONF", "ACK", &off.to_string()])
}

#[test]
fn handshake_sequence_and_logs() {
    let mut d = Driver::new(cfg());
    assert_eq!(d.r.state(), ReplState::None);
    assert_eq!(d.r.next_timeout(), None);
    d.r.set_master(d.now, "127.0.0.1", 6379, None).unwrap();
    let acts = d.take_actions();
    assert!(acts.contains(&Action::Connect {
        host: "127.0.0.1".into(),
        port: 6379
    }));
    assert_eq!(d.r.state(), ReplState::Connecting);
    d.r.handle_connected(d.now).unwrap();
    assert_eq!(d.take_tx(), cmd(&["PING"]));
    assert_eq!(d.r.state(), ReplState::ReceivePingReply);
    // Reply arrives in pieces.
    d.feed(b"+PO");
    assert_eq!(d.r.state(), ReplState::ReceivePingReply);
    d.feed(b"NG\r\n");
    let mut expected = cmd(&["REPLCONF", "listening-port", "6380"]);
    expected.extend(cmd(&["REPLCONF", "capa", "eof", "capa", "psync2"]));
    assert_eq!(d.take_tx(), expected);
    assert_eq!(d.r.state(), ReplState::ReceivePortReply);
    d.feed(b"+OK\r\n");
    assert_eq!(d.r.state(), ReplState::ReceiveCapaReply);
    d.feed(b"+OK\r\n");
    assert_eq!(d.take_tx(), cmd(&["PSYNC", "?", "-1"]));
    assert_eq!(d.r.state(), ReplState::ReceivePsyncReply);
    assert_eq!(
        d.lines(),
        vec![
            "Connecting to MASTER 127.0.0.1:6379",
            "MASTER <-> REPLICA sync started",
            "Non blocking connect for SYNC fired the event.",
            "Master replied to PING, replication can continue...",
            "Partial resynchronization not possible (no cached master)",
        ]
    );
}

#[test]
fn handshake_with_auth_user_and_announce_ip() {
    let mut d = Driver::new(ReplicaConfig {
        listening_port: 7000,
        announce_ip: Some("10.0.0.5".into()),
        master_user: Some(Bytes::from_static(b"repl")),
        master_auth: Some(Bytes::from_static(b"s3cret")),
        ..ReplicaConfig::default()
    });
    d.start();
    d.feed(b"-NOAUTH Authentication required.\r\n");
    let mut expected = cmd(&["AUTH", "repl", "s3cret"]);
    expected.extend(cmd(&["REPLCONF", "listening-port", "7000"]));
    expected.extend(cmd(&["REPLCONF", "ip-address", "10.0.0.5"]));
    expected.extend(cmd(&["REPLCONF", "capa", "eof", "capa", "psync2"]));
    assert_eq!(d.take_tx(), expected);
    assert!(d.has("Master replied to PING, replication can continue..."));
    assert_eq!(d.r.state(), ReplState::ReceiveAuthReply);
    // All four replies in one read.
    d.feed(b"+OK\r\n+OK\r\n+OK\r\n+OK\r\n");
    assert_eq!(d.r.state(), ReplState::ReceivePsyncReply);
    assert_eq!(d.take_tx(), cmd(&["PSYNC", "?", "-1"]));
}

#[test]
fn auth_without_user() {
    let mut d = Driver::new(ReplicaConfig {
        master_auth: Some(Bytes::from_static(b"pw")),
        ..cfg()
    });
    d.start();
    d.feed(b"+PONG\r\n");
    assert!(d.take_tx().starts_with(&cmd(&["AUTH", "pw"])));
}

#[test]
fn ping_reply_variants() {
    for (reply, ok) in [
        (&b"+PONG\r\n"[..], true),
        (b"-NOAUTH Authentication required.\r\n", true),
        (
            b"-NOPERM this user has no permissions to run the 'ping' command\r\n",
            true,
        ),
        (b"-ERR operation not permitted\r\n", true),
        (b"-ERR unknown command 'PING'\r\n", false),
        (b"\r\n", false),
        (b":1\r\n", false),
    ] {
        let mut d = Driver::new(cfg());
        d.start();
        d.feed(reply);
        if ok {
            assert_eq!(d.r.state(), ReplState::ReceivePortReply, "{reply:?}");
        } else {
            assert_eq!(d.r.state(), ReplState::Connect, "{reply:?}");
            let text = String::from_utf8_lossy(reply).trim_end().to_string();
            assert!(
                d.has(&format!("Error reply to PING from master: '{text}'")),
                "{:?}",
                d.lines()
            );
            assert!(d.actions.contains(&Action::Disconnect));
            // The next cron tick reconnects.
            d.tick(1000);
            assert_eq!(d.r.state(), ReplState::Connecting);
            assert!(d.has("Connecting to MASTER 127.0.0.1:6379"));
        }
    }
}

#[test]
fn auth_error_drops_link() {
    let mut d = Driver::new(ReplicaConfig {
        master_auth: Some(Bytes::from_static(b"bad")),
        ..cfg()
    });
    d.start();
    d.feed(b"+PONG\r\n");
    d.feed(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    assert_eq!(d.r.state(), ReplState::Connect);
    assert!(d.has(
        "Unable to AUTH to MASTER: -WRONGPASS invalid username-password pair or user is disabled."
    ));
    assert_eq!(d.logs.last().map(|l| l.0), Some(Level::Warning));
}

#[test]
fn replconf_errors_are_not_fatal() {
    let mut d = Driver::new(ReplicaConfig {
        announce_ip: Some("1.2.3.4".into()),
        ..cfg()
    });
    d.start();
    d.feed(b"+PONG\r\n");
    d.take_tx();
    d.feed(b"-ERR Unrecognized REPLCONF option: listening-port\r\n");
    d.feed(b"-ERR Unrecognized REPLCONF option: ip-address\r\n");
    d.feed(b"-ERR Unrecognized REPLCONF option: capa\r\n");
    assert_eq!(d.r.state(), ReplState::ReceivePsyncReply);
    for what in ["listening-port", "ip-address", "capa"] {
        assert!(d.has(&format!(
            "(Non critical) Master does not understand REPLCONF {what}: -ERR Unrecognized \
             REPLCONF option: {what}"
        )));
    }
}

#[test]
fn psync_try_later_replies() {
    for reply in [
        "-LOADING Redis is loading the dataset in memory",
        "-NOMASTERLINK Can't SYNC while not connected with my master",
    ] {
        let mut d = Driver::new(cfg());
        d.reach_psync();
        d.feed(format!("{reply}\r\n").as_bytes());
        assert_eq!(d.r.state(), ReplState::Connect);
        assert!(d.has(&format!(
            "Master is currently unable to PSYNC but should be in the future: {reply}"
        )));
        d.tick(1000);
        assert_eq!(d.r.state(), ReplState::Connecting);
    }
}

#[test]
fn psync_not_supported_falls_back_to_sync() {
    let mut d = Driver::new(cfg());
    d.reach_psync();
    d.feed(b"-ERR unknown command 'PSYNC'\r\n");
    assert_eq!(d.take_tx(), b"SYNC\r\n");
    assert!(d.has(
        "Master does not support PSYNC or is in error state (reply: -ERR unknown command 'PSYNC')"
    ));
    assert!(d.has("Retrying with SYNC..."));
    assert_eq!(d.r.state(), ReplState::Transfer);
    d.feed(b"$4\r\nDATA");
    d.r.handle_snapshot_loaded(d.now).unwrap();
    d.take_tx();
    assert_eq!(d.r.state(), ReplState::Connected);
    // Pre-PSYNC master: no periodic ACK, no cached master on loss.
    d.tick(1000);
    assert!(d.take_tx().is_empty());
    d.r.handle_disconnected(d.now).unwrap();
    d.pump();
    assert_eq!(d.r.cached_master(), None);

    let mut d = Driver::new(cfg());
    d.reach_psync();
    d.feed(b"+WHATEVER\r\n");
    assert!(d.has("Unexpected reply to PSYNC from master: +WHATEVER"));
    assert_eq!(d.take_tx(), b"SYNC\r\n");
}

#[test]
fn noauth_without_masterauth_ends_in_master_error() {
    // Redis's own sequence when the master wants a password we lack.
    let mut d = Driver::new(cfg());
    d.start();
    d.feed(b"-NOAUTH Authentication required.\r\n");
    d.feed(b"-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n");
    d.feed(b"-NOAUTH Authentication required.\r\n");
    assert!(d.has("Unexpected reply to PSYNC from master: -NOAUTH Authentication required."));
    assert!(d.take_tx().ends_with(b"SYNC\r\n"));
    d.feed(b"-NOAUTH Authentication required.\r\n");
    assert!(d.has("MASTER aborted replication with an error: NOAUTH Authentication required."));
    assert!(d.has("Reconnecting to MASTER 127.0.0.1:6379 after failure"));
    assert_eq!(d.r.state(), ReplState::Connecting);
}

#[test]
fn bad_fullresync_syntax_still_syncs() {
    let mut d = Driver::new(cfg());
    d.reach_psync();
    d.feed(b"+FULLRESYNC garbage\r\n$3\r\nabc");
    assert!(d.has("Master replied with wrong +FULLRESYNC syntax."));
    assert!(d.take_actions().contains(&Action::SnapshotDone));
    d.r.handle_snapshot_loaded(d.now).unwrap();
    assert_eq!(d.r.ids().replid(), &ReplId::NONE);
}

#[test]
fn length_framed_transfer_and_stream_in_same_read() {
    let mut d = Driver::new(cfg());
    d.reach_psync();
    d.take_actions();
    let mut data = format!("+FULLRESYNC {MASTER_ID} 100\r\n\n\n$5\r\nHELLO").into_bytes();
    data.extend(cmd(&["SET", "k", "v"]));
    d.feed(&data);
    let acts = d.take_actions();
    assert!(
        matches!(
            acts.first(),
            Some(Action::SnapshotStart { size: Some(5), .. })
        ),
        "{acts:?}"
    );
    assert_eq!(
        acts[1..],
        vec![
            Action::SnapshotChunk(Bytes::from_static(b"HELLO")),
            Action::DiscardHistory,
            Action::SnapshotDone,
        ]
    );
    assert!(d.has(&format!("Full resync from master: {MASTER_ID}:100")));
    assert!(d.has("MASTER <-> REPLICA sync: receiving 5 bytes from master to disk"));
    assert!(d.has("MASTER <-> REPLICA sync: Flushing old data"));
    assert!(d.has("MASTER <-> REPLICA sync: Loading DB in memory"));
    // Stream is held while loading.
    assert_eq!(d.r.state(), ReplState::Transfer);
    d.r.handle_snapshot_loaded(d.now).unwrap();
    let acts = d.take_actions();
    let set_len = cmd(&["SET", "k", "v"]).len();
    assert!(acts.contains(&Action::Apply {
        args: vec!["SET".into(), "k".into(), "v".into()],
        wire_len: set_len
    }));
    assert!(acts.iter().any(
        |a| matches!(a, Action::AdoptHistory { history, disconnect_replicas: false }
        if history.offset == 100 && history.ids.replid().as_str() == MASTER_ID)
    ));
    assert_eq!(d.r.offset(), 100 + set_len as u64);
    assert!(d.has("MASTER <-> REPLICA sync: Finished with success"));
    assert_eq!(d.r.link_status(), LinkStatus::Up);
    // Not an EOF transfer: no immediate ACK.
    assert!(d.take_tx().is_empty());
}

/// `$EOF:` framing with the payload, mark and following stream split at
/// every possible position.
#[test]
fn eof_framing_split_everywhere() {
    let mark: [u8; REPLID_LEN] = *b"0123456789abcdef0123456789abcdef01234567";
    let payload = b"RDB-PAYLOAD-with-0123456789abcdef-partial-mark-inside-0123456789abcdef0123456789abcdef0123456".to_vec();
    let mut wire = format!("+FULLRESYNC {MASTER_ID} 7\r\n\n$EOF:").into_bytes();
    wire.extend(mark);
    wire.extend(b"\r\n");
    wire.extend(&payload);
    wire.extend(mark);
    for split in 0..=wire.len() {
        for split2 in [split, (split + 13).min(wire.len())] {
            let mut d = Driver::new(cfg());
            d.reach_psync();
            d.feed(&wire[..split]);
            d.feed(&wire[split..split2]);
            d.feed(&wire[split2..]);
            let acts = d.take_actions();
            let got: Vec<u8> = acts
                .iter()
                .filter_map(|a| match a {
                    Action::SnapshotChunk(b) => Some(b.to_vec()),
                    _ => None,
                })
                .flatten()
                .collect();
            assert_eq!(got, payload, "split at {split}/{split2}");
            assert_eq!(acts.last(), Some(&Action::SnapshotDone));
            assert!(acts
                .iter()
                .any(|a| matches!(a, Action::SnapshotStart { size: None, .. })));
            d.r.handle_snapshot_loaded(d.now).unwrap();
            // EOF transfers ACK right away.
            assert_eq!(d.take_tx(), ack(7));
        }
    }
    // One byte at a time.
    let mut d = Driver::new(cfg());
    d.reach_psync();
    for b in &wire {
        d.feed(std::slice::from_ref(b));
    }
    let got: Vec<u8> = d
        .take_actions()
        .iter()
        .filter_map(|a| match a {
            Action::SnapshotChunk(b) => Some(b.to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(got, payload);
    assert!(d.has("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk"));
}

#[test]
fn transfer_info_fields() {
    let mut d = Driver::new(cfg());
    d.reach_psync();
    d.feed(format!("+FULLRESYNC {MASTER_ID} 0\r\n").as_bytes());
    let info = d.r.info(d.now).unwrap();
    let t = info.transfer.clone().unwrap();
    assert_eq!(t.total_bytes, -1);
    assert!(info.to_info_string().contains("master_sync_perc:-0.00\r\n"));
    d.feed(b"$10\r\n1234");
    d.now += 3000;
    let info = d.r.info(d.now).unwrap();
    assert!(info.sync_in_progress);
    let s = info.to_info_string();
    for line in [
        "master_host:127.0.0.1\r\n",
        "master_port:6379\r\n",
        "master_link_status:down\r\n",
        "master_last_io_seconds_ago:-1\r\n",
        "master_sync_in_progress:1\r\n",
        "slave_read_repl_offset:1\r\n",
        "slave_repl_offset:1\r\n",
        "master_sync_total_bytes:10\r\n",
        "master_sync_read_bytes:4\r\n",
        "master_sync_left_bytes:6\r\n",
        "master_sync_perc:40.00\r\n",
        "master_sync_last_io_seconds_ago:3\r\n",
        "master_link_down_since_seconds:-1\r\n",
    ] {
        assert!(s.contains(line), "{line} not in {s}");
    }
}

#[test]
fn transfer_errors() {
    let mut d = Driver::new(cfg());
    d.reach_psync();
    d.feed(format!("+FULLRESYNC {MASTER_ID} 0\r\n+OK\r\n").as_bytes());
    assert!(d.has(
        "Bad protocol from MASTER, the first byte is not '$' (we received '+OK'), are you sure \
         the host and port are right?"
    ));
    assert!(d.has("Reconnecting to MASTER 127.0.0.1:6379 after failure"));
    assert_eq!(d.r.state(), ReplState::Connecting);

    // Connection lost mid-payload.
    let mut d = Driver::new(cfg());
    d.reach_psync();
    d.feed(format!("+FULLRESYNC {MASTER_ID} 0\r\n$10\r\n123").as_bytes());
    d.take_actions();
    d.r.handle_disconnected(d.now).unwrap();
    let acts = d.take_actions();
    assert_eq!(acts[..2], [Action::SnapshotFailed, Action::Disconnect]);
    assert!(matches!(acts[2], Action::Connect { .. }));
    assert!(d.has("I/O error trying to sync with MASTER: connection lost"));

    // Loading fails.
    let mut d = Driver::new(cfg());
    d.reach_psync();
    d.feed(format!("+FULLRESYNC {MASTER_ID} 0\r\n$1\r\nx").as_bytes());
    d.r.handle_snapshot_failed(d.now, "Bad file format")
        .unwrap();
    assert!(d.has("Failed trying to load the MASTER synchronization DB from disk: Bad file format"));
    assert_eq!(d.r.state(), ReplState::Connecting);
}

#[test]
fn keepalive_newlines_refresh_transfer_timer() {
    let mut d = Driver::new(cfg());
    d.reach_psync();
    d.feed(format!("+FULLRESYNC {MASTER_ID} 0\r\n").as_bytes());
    // 100 seconds of newlines, one per second: no timeout.
    for _ in 0..100 {
        d.tick(1000);
        d.feed(b"\n");
    }
    assert_eq!(d.r.state(), ReplState::Transfer);
    // Silence for more than repl-timeout: timeout, immediate reconnect.
    for _ in 0..62 {
        d.tick(1000);
    }
    assert!(d.has(
        "Timeout receiving bulk data from MASTER... If the problem persists try to set the \
         'repl-timeout' parameter in redis.conf to a larger value."
    ));
    assert_eq!(d.r.state(), ReplState::Connecting);
}

#[test]
fn newlines_before_psync_reply_are_keepalives() {
    let mut d = Driver::new(cfg());
    d.reach_psync();
    d.feed(b"\n\r\n\n");
    assert_eq!(d.r.state(), ReplState::ReceivePsyncReply);
    d.feed(format!("+FULLRESYNC {MASTER_ID} 0\r\n").as_bytes());
    assert_eq!(d.r.state(), ReplState::Transfer);
}

#[test]
fn getack_acks_offset_before_itself() {
    let mut d = Driver::new(cfg());
    d.reach_connected(1000);
    let set = cmd(&["SET", "a", "1"]);
    let getack = cmd(&["REPLCONF", "GETACK", "*"]);
    let mut data = set.clone();
    data.extend(&getack);
    d.feed(&data);
    let after_set = 1000 + set.len() as u64;
    assert_eq!(d.take_tx(), ack(after_set));
    assert_eq!(d.r.offset(), after_set + getack.len() as u64);
    // REPLCONF is not handed to the server; its bytes are forwarded.
    let acts = d.take_actions();
    assert_eq!(
        acts.iter()
            .filter(|a| matches!(a, Action::Apply { .. }))
            .count(),
        1
    );
    let fwd: Vec<u8> = acts
        .iter()
        .filter_map(|a| match a {
            Action::Forward(b) => Some(b.to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(fwd, data);
    // Periodic ACK carries the full offset.
    d.tick(1000);
    assert_eq!(d.take_tx(), ack(after_set + getack.len() as u64));
}

#[test]
fn multi_exec_offset_moves_at_exec() {
    let mut d = Driver::new(cfg());
    d.reach_connected(0);
    let multi = cmd(&["MULTI"]);
    let set = cmd(&["SET", "a", "1"]);
    let getack = cmd(&["REPLCONF", "GETACK", "*"]);
    let exec = cmd(&["EXEC"]);
    d.feed(&[multi.clone(), set.clone(), getack.clone()].concat());
    assert_eq!(d.r.offset(), 0);
    assert!(d.take_tx().is_empty());
    assert!(!d
        .take_actions()
        .iter()
        .any(|a| matches!(a, Action::Forward(_))));
    assert_eq!(
        d.r.read_offset(),
        (multi.len() + set.len() + getack.len()) as u64
    );
    d.feed(&exec);
    // The queued GETACK answers with the offset before the transaction.
    assert_eq!(d.take_tx(), ack(0));
    let total = [multi, set, getack, exec].concat();
    assert_eq!(d.r.offset(), total.len() as u64);
    let acts = d.take_actions();
    assert!(acts.contains(&Action::Forward(Bytes::from(total))));
}

#[test]
fn link_lost_inside_multi_discards_transaction() {
    let mut d = Driver::new(cfg());
    d.reach_connected(50);
    d.feed(&[cmd(&["MULTI"]), cmd(&["SET", "a", "1"])].concat());
    d.r.handle_disconnected(d.now).unwrap();
    let acts = d.take_actions();
    assert!(acts.contains(&Action::DiscardTransaction));
    assert_eq!(d.r.cached_master().map(|c| c.1), Some(50));
    assert!(d.has("Connection with master lost."));
    assert!(d.has("Caching the disconnected master state."));
    assert!(d.has("Reconnecting to MASTER 127.0.0.1:6379"));
    assert_eq!(d.r.state(), ReplState::Connecting);
    // The new PSYNC continues from before the MULTI.
    d.r.handle_connected(d.now).unwrap();
    d.feed(b"+PONG\r\n");
    d.feed(b"+OK\r\n+OK\r\n");
    let tx = d.take_tx();
    assert!(tx.ends_with(&cmd(&["PSYNC", MASTER_ID, "51"])));
    assert!(d.has(&format!(
        "Trying a partial resynchronization (request {MASTER_ID}:51)."
    )));
}

#[test]
fn continue_with_same_and_new_id() {
    let mut d = Driver::new(cfg());
    d.reach_connected(10);
    d.r.handle_disconnected(d.now).unwrap();
    d.r.handle_connected(d.now).unwrap();
    d.feed(b"+PONG\r\n+OK\r\n+OK\r\n");
    d.take_actions();
    let mut data = format!("+CONTINUE {MASTER_ID}\r\n").into_bytes();
    data.extend(cmd(&["SET", "x", "y"]));
    d.feed(&data);
    assert!(d.has("Successful partial resynchronization with master."));
    assert!(d.has("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization."));
    assert!(!d
        .lines()
        .iter()
        .any(|l| l.contains("Master replication ID changed")));
    let acts = d.take_actions();
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::AdoptHistory {
            disconnect_replicas: false,
            ..
        }
    )));
    assert!(acts.iter().any(|a| matches!(a, Action::Apply { .. })));
    let off = d.r.offset();
    assert_eq!(off, 10 + cmd(&["SET", "x", "y"]).len() as u64);

    // Now the master changed its ID (failover).
    d.r.handle_disconnected(d.now).unwrap();
    d.r.handle_connected(d.now).unwrap();
    d.feed(b"+PONG\r\n+OK\r\n+OK\r\n");
    d.take_actions();
    d.feed(format!("+CONTINUE {OTHER_ID}\r\n").as_bytes());
    assert!(d.has(&format!("Master replication ID changed to {OTHER_ID}")));
    let ids = d.r.ids();
    assert_eq!(ids.replid().as_str(), OTHER_ID);
    assert_eq!(ids.replid2().as_str(), MASTER_ID);
    assert_eq!(ids.second_replid_offset(), off as i64 + 1);
    let acts = d.take_actions();
    assert!(acts.iter().any(|a| matches!(
        a,
        Action::AdoptHistory {
            disconnect_replicas: true,
            ..
        }
    )));
    // Next reconnection asks with the new ID.
    d.r.handle_disconnected(d.now).unwrap();
    d.r.handle_connected(d.now).unwrap();
    d.feed(b"+PONG\r\n+OK\r\n+OK\r\n");
    assert!(d
        .take_tx()
        .ends_with(&cmd(&["PSYNC", OTHER_ID, &(off + 1).to_string()])));
}

#[test]
fn continue_without_cached_master_is_refused() {
    let mut d = Driver::new(cfg());
    d.reach_psync();
    d.feed(b"+CONTINUE\r\n");
    assert_eq!(d.r.state(), ReplState::Connect);
    assert!(d.has("Unexpected reply to PSYNC from master: +CONTINUE"));
}

#[test]
fn inline_and_protocol_errors_from_master() {
    let mut d = Driver::new(cfg());
    d.reach_connected(0);
    // Empty lines are fine and counted with the next command.
    d.feed(b"\n\r\n");
    assert_eq!(d.r.offset(), 0);
    d.feed(&cmd(&["PING"]));
    assert_eq!(d.r.offset(), 3 + 14);
    d.feed(b"SET a b\r\n");
    assert!(d.has(
        "WARNING: Receiving inline protocol from master, master stream corruption? Closing the \
         master connection and discarding the cached master."
    ));
    assert!(d
        .lines()
        .iter()
        .any(|l| l.starts_with("Protocol error (Master using the inline protocol. Desync?)")));
    assert_eq!(d.r.cached_master(), None);
    assert_eq!(d.r.state(), ReplState::Connecting);

    let mut d = Driver::new(cfg());
    d.reach_connected(0);
    d.feed(b"*1\r\n+PING\r\n");
    assert!(d
        .lines()
        .iter()
        .any(|l| l.starts_with("Protocol error (expected $ but got something else)")));
    assert!(d.has("Connection with master lost."));
    assert!(!d.has("Caching the disconnected master state."));
}

#[test]
fn master_timeout_and_periodic_ack() {
    let mut d = Driver::new(cfg());
    d.reach_connected(5);
    d.tick(1000);
    assert_eq!(d.take_tx(), ack(5));
    for _ in 0..59 {
        d.tick(1000);
    }
    assert!(!d.has("MASTER timeout: no data nor PING received..."));
    d.tick(1000);
    assert!(d.has("MASTER timeout: no data nor PING received..."));
    assert!(d.has("Caching the disconnected master state."));
    assert_eq!(d.r.state(), ReplState::Connecting);
    let info = d.r.info(d.now).unwrap();
    assert_eq!(info.link_down_since_seconds, Some(0));
    assert_eq!(info.repl_offset, 5);
}

#[test]
fn connect_timeout_and_retry_every_second() {
    let mut d = Driver::new(cfg());
    d.r.set_master(d.now, "127.0.0.1", 6379, None).unwrap();
    d.pump();
    d.r.handle_connect_failed(d.now, "Connection refused")
        .unwrap();
    d.take_actions();
    assert!(d.has("Error condition on socket for SYNC: Connection refused"));
    assert_eq!(d.r.state(), ReplState::Connect);
    assert_eq!(d.r.next_timeout(), Some(d.now + 1000));
    let mut connects = 0;
    for _ in 0..5 {
        d.tick(1000);
        for a in d.take_actions() {
            if matches!(a, Action::Connect { .. }) {
                connects += 1;
                d.r.handle_connect_failed(d.now, "Connection refused")
                    .unwrap();
            }
        }
    }
    assert_eq!(connects, 5);
    // A connect that hangs times out after repl-timeout.
    d.tick(1000);
    d.take_actions();
    assert_eq!(d.r.state(), ReplState::Connecting);
    for _ in 0..61 {
        d.tick(1000);
    }
    assert!(d.has("Timeout connecting to the MASTER..."));
}

#[test]
fn loading_sends_newlines_and_survives_link_loss() {
    let mut d = Driver::new(cfg());
    d.reach_psync();
    d.feed(format!("+FULLRESYNC {MASTER_ID} 0\r\n$1\r\nx").as_bytes());
    d.feed(&cmd(&["SET", "a", "b"]));
    d.tick(1000);
    assert_eq!(d.take_tx(), b"\n");
    assert_eq!(
        d.r.set_master(d.now, "h", 1, None),
        Err(ReplicaError::Loading)
    );
    assert_eq!(d.r.set_no_master(d.now), Err(ReplicaError::Loading));
    d.r.handle_disconnected(d.now).unwrap();
    d.take_actions();
    d.r.handle_snapshot_loaded(d.now).unwrap();
    let acts = d.take_actions();
    // Buffered stream applied, then the loss handled: cached at the new offset.
    assert!(acts.iter().any(|a| matches!(a, Action::Apply { .. })));
    assert!(acts.iter().any(|a| matches!(a, Action::Connect { .. })));
    let set_len = cmd(&["SET", "a", "b"]).len() as u64;
    assert_eq!(
        d.r.cached_master(),
        Some((MASTER_ID.parse().unwrap(), set_len))
    );
}

#[test]
fn promotion_shifts_ids() {
    let mut d = Driver::new(cfg());
    d.reach_connected(500);
    let hist = d.r.set_no_master(d.now).unwrap();
    assert_eq!(hist.ids.replid2().as_str(), MASTER_ID);
    assert_eq!(hist.ids.second_replid_offset(), 501);
    assert_eq!(hist.offset, 500);
    assert_ne!(hist.ids.replid().as_str(), MASTER_ID);
    assert_eq!(d.r.state(), ReplState::None);
    assert_eq!(d.r.next_timeout(), None);
    assert!(d.has(&format!(
        "Setting secondary replication ID to {MASTER_ID}, valid up to offset: 501. New \
         replication ID is {}",
        hist.ids.replid()
    )));
    assert!(d.has("Discarding previously cached master state."));
    let acts = d.take_actions();
    assert!(acts.contains(&Action::AdoptHistory {
        history: hist,
        disconnect_replicas: true
    }));
    assert!(acts.contains(&Action::Role {
        replica: false,
        link_up: false
    }));
    assert_eq!(d.r.set_no_master(d.now), Err(ReplicaError::NoMaster));
}

#[test]
fn replicaof_same_master_is_noop_and_unexpected_events_error() {
    let mut d = Driver::new(cfg());
    assert!(matches!(
        d.r.handle_connected(d.now),
        Err(ReplicaError::UnexpectedEvent { .. })
    ));
    assert!(d.r.handle_data(d.now, b"x").is_err());
    d.start();
    assert_eq!(
        d.r.set_master(d.now, "127.0.0.1", 6379, None),
        Ok(crate::replica::SetMasterOutcome::AlreadyConnected)
    );
    assert!(d.has(
        "REPLICAOF would result into synchronization with the master we are already connected \
         with. No operation performed."
    ));
    assert_eq!(d.r.role_offset(), -1);
    assert_eq!(d.r.state().role_word(), "handshake");
}

#[test]
fn restart_from_persisted_history() {
    let mut d = Driver::new(cfg());
    d.r.set_cached_master(MASTER_ID.parse().unwrap(), 1234)
        .unwrap();
    d.reach_psync();
    assert!(d.has(&format!(
        "Trying a partial resynchronization (request {MASTER_ID}:1235)."
    )));
    let mut data = format!("+CONTINUE {MASTER_ID}\r\n").into_bytes();
    data.extend(cmd(&["PING"]));
    d.feed(&data);
    assert_eq!(d.r.offset(), 1234 + 14);
    assert_eq!(d.r.link_status(), LinkStatus::Up);
}

#[test]
fn repointing_caches_current_link() {
    let mut d = Driver::new(cfg());
    d.reach_connected(77);
    d.r.set_master(d.now, "10.0.0.9", 7000, None).unwrap();
    let acts = d.take_actions();
    assert_eq!(acts[0], Action::Disconnect);
    assert!(acts.contains(&Action::Connect {
        host: "10.0.0.9".into(),
        port: 7000
    }));
    assert!(d.has("Caching the disconnected master state."));
    assert!(d.has("Connecting to MASTER 10.0.0.9:7000"));
    assert!(!d.has("Reconnecting to MASTER 127.0.0.1:6379"));
    assert_eq!(d.r.cached_master(), Some((MASTER_ID.parse().unwrap(), 77)));
}
