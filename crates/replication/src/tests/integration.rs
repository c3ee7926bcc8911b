//! Masters and replicas talking over the simulated network.

use super::sim::Sim;
use crate::master::{MasterConfig, ReplicaState};
use crate::replica::{LinkStatus, ReplState, ReplicaConfig};

/// Master on 6379, replica on 6380, synced.
fn pair() -> (Sim, usize, usize) {
    let mut sim = Sim::new();
    let a = sim.add_node(6379);
    let b = sim.add_node(6380);
    sim.write(a, &["SET", "before", "sync"]);
    sim.replicaof(b, a);
    sim.advance(2000);
    (sim, a, b)
}

fn assert_in_sync(sim: &Sim, a: usize, b: usize) {
    assert_eq!(sim.nodes[a].data, sim.nodes[b].data, "datasets differ");
    assert_eq!(
        sim.nodes[b].repl.replica.offset(),
        sim.nodes[a].repl.master.master_offset(),
        "offsets differ"
    );
    assert_eq!(
        sim.nodes[b].repl.master.master_offset(),
        sim.nodes[a].repl.master.master_offset(),
        "replica node's own offset differs"
    );
    assert_eq!(sim.nodes[b].repl.replica.link_status(), LinkStatus::Up);
}

#[test]
fn full_sync_diskless_end_to_end() {
    let (mut sim, a, b) = pair();
    for i in 0..20 {
        sim.write(a, &["SET", &format!("k{i}"), &format!("v{i}")]);
    }
    sim.advance(1500);
    assert_in_sync(&sim, a, b);
    assert_eq!(sim.nodes[b].data.len(), 21);
    let id = sim.nodes[a].repl.master.ids().replid().to_string();
    let expected_replica_log = [
        "Connecting to MASTER 127.0.0.1:6379",
        "MASTER <-> REPLICA sync started",
        "Non blocking connect for SYNC fired the event.",
        "Master replied to PING, replication can continue...",
        &format!("Full resync from master: {id}:0"),
        "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk",
        "MASTER <-> REPLICA sync: Flushing old data",
        "MASTER <-> REPLICA sync: Loading DB in memory",
        "MASTER <-> REPLICA sync: Finished with success",
    ];
    let lines = sim.nodes[b].log_lines();
    // The node was a master: REPLICAOF first synthesizes a cached master
    // from its own history (that PSYNC then fails), which Redis also logs.
    let relevant: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| expected_replica_log.contains(l))
        .collect();
    assert_eq!(relevant, expected_replica_log);
    assert!(lines.iter().any(
        |l| l.starts_with("Trying a partial resynchronization (request ") && l.ends_with(":1).")
    ));
    for line in [
        "Replica 127.0.0.1:6380 asks for synchronization",
        "Starting BGSAVE for SYNC with target: replicas sockets",
        "Streamed RDB transfer with replica 127.0.0.1:6380 succeeded (socket). Waiting for \
         REPLCONF ACK from slave to enable streaming",
        "Synchronization with replica 127.0.0.1:6380 succeeded",
    ] {
        assert!(sim.nodes[a].has_log(line), "missing master log {line}");
    }
    // The replica asked to continue its own (unrelated) history first.
    assert!(sim.nodes[a].has_log("Partial resynchronization not accepted: Replication ID mismatch"));
    assert_eq!(sim.nodes[a].repl.master.stats().sync_full, 1);
    assert_eq!(sim.nodes[a].repl.master.stats().sync_partial_err, 1);
    // The replica node adopted the master's history.
    assert_eq!(sim.nodes[b].repl.master.ids().replid().as_str(), id);
    assert!(sim.nodes[b].repl.master.ids().replid2().is_none());
    let info = sim.nodes[a].repl.master.info(sim.now).to_info_string();
    let off = sim.nodes[a].repl.master.master_offset();
    assert!(info.contains(&format!(
        "slave0:ip=127.0.0.1,port=6380,state=online,offset={off},lag=0\r\n"
    )));
    let rinfo = sim.nodes[b]
        .repl
        .replica
        .info(sim.now)
        .unwrap()
        .to_info_string();
    assert!(rinfo.contains("master_link_status:up\r\n"));
    assert!(rinfo.contains(&format!("slave_repl_offset:{off}\r\n")));
    assert!(!rinfo.contains("master_link_down_since_seconds"));
}

#[test]
fn full_sync_disk_with_writes_during_snapshot() {
    let mut sim = Sim::new();
    let mcfg = MasterConfig {
        diskless_sync: false,
        ..MasterConfig::default()
    };
    let a = sim.add_node_with(6379, mcfg, ReplicaConfig::default());
    let b = sim.add_node(6380);
    for i in 0..10 {
        sim.write(a, &["SET", &format!("k{i}"), "x"]);
    }
    sim.nodes[a].hold_snapshot = true;
    sim.replicaof(b, a);
    sim.run();
    assert_eq!(sim.nodes[b].repl.replica.state(), ReplState::Transfer);
    // Writes while the snapshot is being produced are held for the replica.
    sim.write(a, &["SET", "during", "1"]);
    sim.write(a, &["DEL", "k0"]);
    // Keepalive newlines keep the replica waiting well past repl-timeout.
    sim.advance(90_000);
    assert_eq!(sim.nodes[b].repl.replica.state(), ReplState::Transfer);
    assert!(!sim.nodes[b].has_log("Timeout"));
    sim.release_snapshots(a);
    sim.advance(1000);
    assert_in_sync(&sim, a, b);
    assert!(sim.nodes[b].data.contains_key(&b"during"[..]));
    assert!(!sim.nodes[b].data.contains_key(&b"k0"[..]));
    assert!(sim.nodes[a].has_log("Starting BGSAVE for SYNC with target: disk"));
    let blob_len = super::sim::encode_blob(&sim.nodes[b].data).len();
    assert!(blob_len > 0);
    assert!(sim.nodes[b]
        .log_lines()
        .iter()
        .any(|l| l.starts_with("MASTER <-> REPLICA sync: receiving ")
            && l.ends_with(" bytes from master to disk")));
    // The stream after a full sync starts with SELECT.
    assert_eq!(&sim.nodes[b].applied[0][0][..], b"SELECT");
}

#[test]
fn partial_resync_after_cut() {
    let (mut sim, a, b) = pair();
    sim.write(a, &["SET", "x", "1"]);
    sim.advance(1000);
    let off_before = sim.nodes[b].repl.replica.offset();
    // Bytes are lost on the wire, then the connection dies.
    sim.partition(a, b);
    sim.write(a, &["SET", "lost1", "1"]);
    sim.write(a, &["SET", "lost2", "2"]);
    sim.heal(a, b);
    sim.kill_links(a, b);
    sim.advance(1000);
    assert_in_sync(&sim, a, b);
    let id = sim.nodes[a].repl.master.ids().replid().to_string();
    for line in [
        "Connection with master lost.",
        "Caching the disconnected master state.",
        "Reconnecting to MASTER 127.0.0.1:6379",
        &format!(
            "Trying a partial resynchronization (request {id}:{}).",
            off_before + 1
        ),
        "Successful partial resynchronization with master.",
        "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.",
    ] {
        assert!(sim.nodes[b].has_log(line), "missing {line}");
    }
    let missed = sim.nodes[a].repl.master.master_offset() - off_before;
    assert!(sim.nodes[a].has_log(&format!(
        "Partial resynchronization request from 127.0.0.1:6380 accepted. Sending {missed} bytes \
         of backlog starting from offset {}.",
        off_before + 1
    )));
    assert!(sim.nodes[a].has_log("Connection with replica 127.0.0.1:6380 lost."));
    assert_eq!(sim.nodes[a].repl.master.stats().sync_partial_ok, 1);
    assert_eq!(sim.nodes[a].repl.master.stats().sync_full, 1);
}

#[test]
fn backlog_overflow_forces_full_resync() {
    let mut sim = Sim::new();
    let mcfg = MasterConfig {
        backlog_size: 200,
        diskless_sync_delay_secs: 0,
        ..MasterConfig::default()
    };
    let a = sim.add_node_with(6379, mcfg, ReplicaConfig::default());
    let b = sim.add_node(6380);
    sim.replicaof(b, a);
    sim.advance(1000);
    let off = sim.nodes[b].repl.replica.offset();
    sim.partition(a, b);
    for i in 0..20 {
        sim.write(a, &["SET", &format!("key{i}"), "some value"]);
    }
    sim.heal(a, b);
    sim.kill_links(a, b);
    sim.advance(2000);
    assert_in_sync(&sim, a, b);
    assert!(sim.nodes[a].has_log(&format!(
        "Unable to partial resync with replica 127.0.0.1:6380 for lack of backlog (Replica \
         request was: {}).",
        off + 1
    )));
    assert_eq!(sim.nodes[a].repl.master.stats().sync_full, 2);
    assert!(sim.nodes[b].has_log("Discarding previously cached master state."));
}

#[test]
fn master_loading_then_ready() {
    let mut sim = Sim::new();
    let a = sim.add_node(6379);
    let b = sim.add_node(6380);
    sim.nodes[a].psync_reply = Some("-LOADING Redis is loading the dataset in memory".into());
    sim.replicaof(b, a);
    sim.advance(3500);
    assert!(sim.nodes[b].has_log(
        "Master is currently unable to PSYNC but should be in the future: -LOADING Redis is \
         loading the dataset in memory"
    ));
    // Retried once per cron tick.
    assert!(sim.nodes[b].count_log("MASTER <-> REPLICA sync started") >= 4);
    sim.nodes[a].psync_reply = None;
    sim.write(a, &["SET", "k", "v"]);
    sim.advance(1000);
    assert_in_sync(&sim, a, b);
}

#[test]
fn requirepass_and_masterauth() {
    let mut sim = Sim::new();
    let a = sim.add_node(6379);
    let rcfg = ReplicaConfig {
        listening_port: 6380,
        master_auth: Some("pw".into()),
        ..ReplicaConfig::default()
    };
    let b = sim.add_node_with(6380, MasterConfig::default(), rcfg);
    sim.nodes[a].requirepass = Some("pw".into());
    sim.write(a, &["SET", "k", "v"]);
    sim.replicaof(b, a);
    sim.advance(7000);
    assert_in_sync(&sim, a, b);

    // Wrong password: every attempt fails at AUTH.
    let mut sim = Sim::new();
    let a = sim.add_node(6379);
    let rcfg = ReplicaConfig {
        listening_port: 6380,
        master_auth: Some("nope".into()),
        ..ReplicaConfig::default()
    };
    let b = sim.add_node_with(6380, MasterConfig::default(), rcfg);
    sim.nodes[a].requirepass = Some("pw".into());
    sim.replicaof(b, a);
    sim.advance(3000);
    assert!(sim.nodes[b].count_log("Unable to AUTH to MASTER: -WRONGPASS") >= 3);
    assert_eq!(sim.nodes[a].repl.master.replica_count(), 0);
}

#[test]
fn getack_and_acks() {
    let (mut sim, a, b) = pair();
    sim.write(a, &["SET", "x", "1"]);
    sim.run();
    let off = sim.nodes[a].repl.master.master_offset();
    assert_eq!(sim.nodes[a].repl.master.wait_target(off), 0);
    sim.nodes[a].repl.master.send_getack(sim.now);
    sim.drain(a);
    sim.run();
    // The ACK answering GETACK excludes the GETACK itself.
    assert_eq!(sim.nodes[a].repl.master.wait_target(off), 1);
    assert_eq!(sim.nodes[a].repl.master.wait_target(off + 1), 0);
    let info = sim.nodes[a].repl.master.info(sim.now).to_info_string();
    assert!(info.contains(&format!("state=online,offset={off},")));
    // The periodic ACK covers it.
    sim.advance(1000);
    assert_eq!(sim.nodes[a].repl.master.wait_target(off + 37), 1);
    assert_in_sync(&sim, a, b);
}

#[test]
fn pings_every_period_count_in_offsets() {
    let (mut sim, a, b) = pair();
    let start = sim.nodes[a].repl.master.master_offset();
    sim.advance(30_000);
    let delta = sim.nodes[a].repl.master.master_offset() - start;
    assert_eq!(delta, 3 * 14);
    assert_in_sync(&sim, a, b);
    let pings = sim.nodes[b]
        .applied
        .iter()
        .filter(|c| &c[0][..] == b"PING")
        .count();
    assert!(pings >= 3);
}

#[test]
fn timeouts_on_both_sides_then_recovery() {
    let (mut sim, a, b) = pair();
    sim.partition(a, b);
    sim.advance(62_000);
    assert!(sim.nodes[a].has_log("Disconnecting timedout replica (streaming sync): 127.0.0.1:6380"));
    assert!(sim.nodes[b].has_log("MASTER timeout: no data nor PING received..."));
    assert_eq!(sim.nodes[b].repl.replica.state(), ReplState::Connecting);
    // Connects hang while partitioned.
    sim.advance(62_000);
    assert!(sim.nodes[b].has_log("Timeout connecting to the MASTER..."));
    sim.heal(a, b);
    sim.write(a, &["SET", "after", "heal"]);
    sim.advance(62_000);
    assert_in_sync(&sim, a, b);
    // The master kept writing PINGs while the link was down and dropped
    // the replica, but the backlog still covers it: partial resync.
    assert!(sim.nodes[b].has_log("Successful partial resynchronization with master."));
}

#[test]
fn reconnect_every_second_when_refused() {
    let mut sim = Sim::new();
    let b = sim.add_node(6380);
    let now = sim.now;
    sim.nodes[b]
        .repl
        .replica
        .set_master(now, "127.0.0.1", 7777, None)
        .unwrap();
    sim.drain(b);
    sim.advance(5000);
    assert_eq!(
        sim.nodes[b].count_log("Error condition on socket for SYNC: Connection refused"),
        6
    );
    assert_eq!(
        sim.nodes[b].count_log("Connecting to MASTER 127.0.0.1:7777"),
        6
    );
    // The master appears.
    let a = sim.add_node(7777);
    sim.write(a, &["SET", "k", "v"]);
    sim.advance(2000);
    assert_in_sync(&sim, a, b);
}

#[test]
fn promotion_and_repointing_keep_partial_resyncs() {
    let mut sim = Sim::new();
    let a = sim.add_node(6379);
    let b = sim.add_node(6380);
    let c = sim.add_node(6381);
    sim.replicaof(b, a);
    sim.replicaof(c, a);
    sim.advance(2000);
    for i in 0..5 {
        sim.write(a, &["SET", &format!("k{i}"), "v"]);
    }
    sim.advance(1000);
    assert_in_sync(&sim, a, b);
    assert_in_sync(&sim, a, c);
    let old_id = sim.nodes[a].repl.master.ids().replid().to_string();
    let off = sim.nodes[a].repl.master.master_offset();
    // Failover: B becomes master.
    sim.promote(b);
    let ids = sim.nodes[b].repl.master.ids();
    assert_eq!(ids.replid2().as_str(), old_id);
    assert_eq!(ids.second_replid_offset(), off as i64 + 1);
    assert_ne!(ids.replid().as_str(), old_id);
    assert_eq!(sim.nodes[b].repl.replica.history().ids, ids);
    let new_id = ids.replid().to_string();
    // C and the old master A follow B.
    sim.replicaof(c, b);
    sim.replicaof(a, b);
    sim.advance(2000);
    sim.write(b, &["SET", "new", "master"]);
    sim.advance(1000);
    assert_in_sync(&sim, b, c);
    assert_in_sync(&sim, b, a);
    for n in [a, c] {
        assert!(sim.nodes[n].has_log("Successful partial resynchronization with master."));
        assert!(sim.nodes[n].has_log(&format!("Master replication ID changed to {new_id}")));
        let ids = sim.nodes[n].repl.replica.ids();
        assert_eq!(ids.replid().as_str(), new_id);
        assert_eq!(ids.replid2().as_str(), old_id);
    }
    assert!(sim.nodes[a].has_log(
        "Before turning into a replica, using my own master parameters to synthesize a cached \
         master: I may be able to synchronize with the new master with just a partial transfer."
    ));
    assert_eq!(sim.nodes[b].repl.master.stats().sync_partial_ok, 2);
    assert_eq!(sim.nodes[b].repl.master.stats().sync_full, 0);
    assert!(sim.nodes[b].force_selects >= 1);
}

#[test]
fn restart_from_persisted_history_partial() {
    let (mut sim, a, b) = pair();
    sim.write(a, &["SET", "x", "1"]);
    sim.advance(1000);
    let hist = sim.nodes[b].repl.master.history();
    let data = sim.nodes[b].data.clone();
    // "Restart" B: kill its links, replace its state machines by fresh
    // ones rebuilt from the RDB's repl-id / repl-offset.
    sim.kill_links(a, b);
    let now = sim.now;
    let port = sim.nodes[b].port;
    sim.nodes[b].repl.replica = crate::replica::Replica::new(
        ReplicaConfig {
            listening_port: port,
            ..ReplicaConfig::default()
        },
        5,
    );
    sim.nodes[b].repl.master =
        crate::master::Master::from_history(MasterConfig::default(), 6, now, hist, None).unwrap();
    sim.nodes[b].data = data;
    sim.nodes[b].logs.clear();
    sim.write(a, &["SET", "while", "down"]);
    sim.nodes[b]
        .repl
        .replica
        .set_cached_master(*hist.ids.replid(), hist.offset)
        .unwrap();
    let ap = sim.nodes[a].port;
    sim.nodes[b]
        .repl
        .replica
        .set_master(now, "127.0.0.1", ap, None)
        .unwrap();
    sim.drain(b);
    sim.advance(1000);
    assert_in_sync(&sim, a, b);
    assert!(sim.nodes[b].has_log("Successful partial resynchronization with master."));
    assert!(sim.nodes[b].repl.master.backlog().is_some());
}

#[test]
fn chained_replica_forwards_exact_bytes() {
    let mut sim = Sim::new();
    let a = sim.add_node(6379);
    let b = sim.add_node(6380);
    let c = sim.add_node(6381);
    sim.write(a, &["SET", "k", "v"]);
    sim.replicaof(b, a);
    sim.advance(2000);
    sim.replicaof(c, b);
    sim.advance(2000);
    for i in 0..10 {
        sim.write(a, &["SET", &format!("k{i}"), &"x".repeat(i * 7)]);
    }
    sim.write_multi(a, &[&["SET", "t1", "1"], &["DEL", "k"]]);
    sim.advance(25_000);
    assert_in_sync(&sim, a, b);
    assert_in_sync(&sim, b, c);
    assert_in_sync(&sim, a, c);
    // Same IDs down the chain.
    let id = sim.nodes[a].repl.master.ids();
    assert_eq!(sim.nodes[b].repl.master.ids().replid(), id.replid());
    assert_eq!(sim.nodes[c].repl.master.ids().replid(), id.replid());
    // C received exactly the bytes A produced since C's sync point.
    let total = sim.nodes[c].forwarded.len() as u64;
    let from = sim.nodes[a].repl.master.master_offset() - total + 1;
    assert_eq!(sim.stream_from(a, from), sim.nodes[c].forwarded);
    let b_tail = &sim.nodes[b].forwarded[sim.nodes[b].forwarded.len() - total as usize..];
    assert_eq!(b_tail, &sim.nodes[c].forwarded[..]);
    // Every forward boundary is a command boundary with the same offsets.
    assert_eq!(
        sim.nodes[c].forward_ends.last(),
        sim.nodes[b].forward_ends.last()
    );
    // A transaction is forwarded whole.
    assert!(sim.nodes[c]
        .applied
        .iter()
        .any(|cmd| &cmd[0][..] == b"MULTI"));
    assert!(!sim.nodes[c].data.contains_key(&b"k"[..]));
    // B's sub-replica appears in its INFO; B doesn't PING it on its own.
    assert_eq!(sim.nodes[b].repl.master.replica_count(), 1);
    assert_eq!(
        sim.nodes[b]
            .repl
            .master
            .replica_state(crate::master::ReplicaId(101)),
        Some(ReplicaState::Online)
    );
    let b_info = sim.nodes[b].repl.master.info(sim.now).to_info_string();
    assert!(b_info.contains("slave0:ip=127.0.0.1,port=6381,state=online"));
}

#[test]
fn chained_full_sync_of_middle_disconnects_sub_replicas() {
    let mut sim = Sim::new();
    let a = sim.add_node(6379);
    let b = sim.add_node(6380);
    let c = sim.add_node(6381);
    sim.replicaof(b, a);
    sim.advance(2000);
    sim.replicaof(c, b);
    sim.advance(2000);
    // A loses its history (e.g. its backlog was freed): B must full-sync,
    // which drops C, which then resyncs from B.
    let d = sim.add_node(6390);
    sim.write(d, &["SET", "fresh", "data"]);
    sim.replicaof(b, d);
    sim.advance(5000);
    assert_in_sync(&sim, d, b);
    assert_in_sync(&sim, b, c);
    assert!(sim.nodes[b].has_log("Connection with replica 127.0.0.1:6381 lost."));
    assert!(sim.nodes[c].data.contains_key(&b"fresh"[..]));
}

#[test]
fn sub_replica_refused_while_middle_is_down() {
    let mut sim = Sim::new();
    let a = sim.add_node(6379);
    let b = sim.add_node(6380);
    let c = sim.add_node(6381);
    sim.nodes[a].hold_snapshot = true;
    sim.replicaof(b, a);
    sim.run();
    sim.replicaof(c, b);
    sim.advance(2500);
    assert!(sim.nodes[c].has_log(
        "Master is currently unable to PSYNC but should be in the future: -NOMASTERLINK Can't \
         SYNC while not connected with my master"
    ));
    sim.release_snapshots(a);
    sim.advance(3000);
    assert_in_sync(&sim, a, b);
    assert_in_sync(&sim, b, c);
}

#[test]
fn many_replicas_share_one_snapshot() {
    let mut sim = Sim::new();
    let mcfg = MasterConfig {
        diskless_sync_delay_secs: 2,
        ..MasterConfig::default()
    };
    let a = sim.add_node_with(6379, mcfg, ReplicaConfig::default());
    let rs: Vec<usize> = (0..4).map(|i| sim.add_node(6380 + i)).collect();
    sim.write(a, &["SET", "k", "v"]);
    for &r in &rs {
        sim.replicaof(r, a);
    }
    sim.advance(5000);
    assert_eq!(sim.nodes[a].started_snapshots.len(), 1);
    for &r in &rs {
        assert_in_sync(&sim, a, r);
    }
    assert_eq!(
        sim.nodes[a]
            .repl
            .master
            .replicas(sim.now)
            .iter()
            .filter(|r| r.state == ReplicaState::Online)
            .count(),
        4
    );
}

#[test]
fn replica_load_failure_retries() {
    // With Redis's default diskless delay each retry waits for the cron.
    let mut sim = Sim::new();
    let a = sim.add_node_with(6379, MasterConfig::default(), ReplicaConfig::default());
    let b = sim.add_node(6380);
    sim.replicaof(b, a);
    sim.advance(8000);
    assert_in_sync(&sim, a, b);
    sim.nodes[b].fail_load = true;
    // Force a full resync: the replica misses more than the backlog holds.
    sim.nodes[a].repl.master.set_backlog_size(1).unwrap();
    sim.partition(a, b);
    for i in 0..3 {
        sim.write(a, &["SET", &format!("z{i}"), "1"]);
    }
    sim.heal(a, b);
    sim.kill_links(a, b);
    sim.advance(7000);
    assert!(sim.nodes[b]
        .has_log("Failed trying to load the MASTER synchronization DB from disk: bad RDB"));
    assert!(sim.nodes[b].has_log("Reconnecting to MASTER 127.0.0.1:6379 after failure"));
    sim.nodes[b].fail_load = false;
    sim.advance(8000);
    assert_in_sync(&sim, a, b);
}

#[test]
fn random_chunking_end_to_end() {
    for seed_chunk in [1usize, 2, 3, 7, 64] {
        let mut sim = Sim::new();
        sim.max_chunk = seed_chunk;
        sim.random_chunks = true;
        let a = sim.add_node(6379);
        let b = sim.add_node(6380);
        let c = sim.add_node(6381);
        sim.write(a, &["SET", "k", "v"]);
        sim.replicaof(b, a);
        sim.advance(2000);
        sim.replicaof(c, b);
        for i in 0..15 {
            sim.write(a, &["SET", &format!("k{i}"), &"y".repeat(i)]);
            if i % 5 == 0 {
                sim.write_multi(a, &[&["SET", "m", &i.to_string()], &["DEL", "k1"]]);
            }
        }
        sim.advance(12_000);
        sim.kill_links(a, b);
        sim.write(a, &["SET", "after", "cut"]);
        sim.advance(3000);
        assert_in_sync(&sim, a, b);
        assert_in_sync(&sim, b, c);
    }
}

#[test]
fn slow_load_buffers_stream_and_keeps_link_alive() {
    let mut sim = Sim::new();
    let mcfg = MasterConfig {
        diskless_sync: false,
        ..MasterConfig::default()
    };
    let a = sim.add_node_with(6379, mcfg, ReplicaConfig::default());
    let b = sim.add_node(6380);
    sim.write(a, &["SET", "k", "v"]);
    sim.nodes[b].hold_load = true;
    sim.replicaof(b, a);
    sim.run();
    assert_eq!(sim.nodes[b].repl.replica.state(), ReplState::Transfer);
    assert!(sim.nodes[b].load_pending);
    // The master streams right after the payload; the replica buffers it
    // and pings back with newlines while loading, so nobody times out.
    for i in 0..5 {
        sim.write(a, &["SET", &format!("during{i}"), "x"]);
    }
    sim.advance(120_000);
    assert!(!sim.nodes[a].has_log("Disconnecting timedout replica"));
    assert_eq!(sim.nodes[b].repl.replica.state(), ReplState::Transfer);
    let rinfo = sim.nodes[b].repl.replica.info(sim.now).unwrap();
    assert!(rinfo.sync_in_progress);
    sim.release_load(b);
    sim.advance(1000);
    assert_in_sync(&sim, a, b);
    assert!(sim.nodes[b].data.contains_key(&b"during4"[..]));
}
