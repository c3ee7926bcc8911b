//! Property tests: the stream split anywhere gives the same result, and
//! arbitrary bytes never make the machines panic.

use bytes::Bytes;
use proptest::prelude::*;

use super::replica_unit::Driver;
use super::sim::cmd;
use crate::master::{Master, MasterConfig, ReplicaId};
use crate::replica::{Action, ReplicaConfig};

#[derive(Debug, Clone)]
enum Item {
    Set(Vec<u8>, Vec<u8>),
    Ping,
    GetAck,
    Select(u8),
    Multi(Vec<(Vec<u8>, Vec<u8>)>),
    Newline,
}

fn item() -> impl Strategy<Value = Item> {
    let bin = proptest::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        4 => (bin.clone(), bin.clone()).prop_map(|(k, v)| Item::Set(k, v)),
        1 => Just(Item::Ping),
        1 => Just(Item::GetAck),
        1 => (0u8..16).prop_map(Item::Select),
        1 => proptest::collection::vec((bin.clone(), bin), 0..4).prop_map(Item::Multi),
        1 => Just(Item::Newline),
    ]
}

fn encode(items: &[Item]) -> Vec<u8> {
    let mut out = Vec::new();
    let c = |args: &[&[u8]]| {
        let mut b = bytes::BytesMut::new();
        resp_codec::encode::command(&mut b, args);
        b.to_vec()
    };
    for it in items {
        match it {
            Item::Set(k, v) => out.extend(c(&[b"SET", k, v])),
            Item::Ping => out.extend(cmd(&["PING"])),
            Item::GetAck => out.extend(cmd(&["REPLCONF", "GETACK", "*"])),
            Item::Select(n) => out.extend(cmd(&["SELECT", &n.to_string()])),
            Item::Multi(sets) => {
                out.extend(cmd(&["MULTI"]));
                for (k, v) in sets {
                    out.extend(c(&[b"SET", k, v]));
                }
                out.extend(cmd(&["EXEC"]));
            }
            Item::Newline => out.extend(b"\n"),
        }
    }
    out
}

/// What feeding `chunks` produces: applied commands, forwarded bytes,
/// transmitted bytes and the final offsets.
/// Applied commands with wire lengths, forwarded bytes, transmitted bytes,
/// link offset, node offset.
type Outcome = (Vec<(Vec<Bytes>, usize)>, Vec<u8>, Vec<u8>, u64, u64);

fn run(chunks: &[&[u8]]) -> Outcome {
    let mut d = Driver::new(ReplicaConfig::default());
    d.reach_connected(1000);
    let mut applied = Vec::new();
    let mut forwarded = Vec::new();
    for c in chunks {
        d.feed(c);
        for a in d.take_actions() {
            match a {
                Action::Apply { args, wire_len } => applied.push((args, wire_len)),
                Action::Forward(b) => forwarded.extend_from_slice(&b),
                _ => {}
            }
        }
    }
    let tx = d.take_tx();
    (applied, forwarded, tx, d.r.offset(), d.r.history().offset)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn stream_split_anywhere_is_equivalent(
        items in proptest::collection::vec(item(), 0..25),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let wire = encode(&items);
        let whole = run(&[&wire]);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut last = 0;
        for p in points {
            chunks.push(&wire[last..p]);
            last = p;
        }
        chunks.push(&wire[last..]);
        let split = run(&chunks);
        prop_assert_eq!(&split, &whole);
        // Everything is applied and forwarded verbatim, except a trailing
        // keepalive newline that waits for the next command.
        let trailing = items.iter().rev().take_while(|i| matches!(i, Item::Newline)).count();
        prop_assert_eq!(whole.3, 1000 + (wire.len() - trailing) as u64);
        prop_assert_eq!(whole.3, whole.4);
        prop_assert_eq!(&whole.1[..], &wire[..wire.len() - trailing]);
        let wire_total: usize = whole.0.iter().map(|(_, n)| n).sum();
        prop_assert!(wire_total <= wire.len());
        // One byte at a time too.
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        prop_assert_eq!(run(&bytes), whole);
    }

    #[test]
    fn replica_survives_arbitrary_bytes(
        stage in 0usize..6,
        data in proptest::collection::vec(any::<u8>(), 0..300),
        split in any::<prop::sample::Index>(),
    ) {
        let mut d = Driver::new(ReplicaConfig {
            master_auth: Some(Bytes::from_static(b"pw")),
            ..ReplicaConfig::default()
        });
        match stage {
            0 => { d.start(); }
            1 => { d.reach_psync(); }
            2 => {
                d.reach_psync();
                d.feed(format!("+FULLRESYNC {} 0\r\n", super::replica_unit::MASTER_ID).as_bytes());
            }
            3 => {
                d.reach_psync();
                d.feed(format!("+FULLRESYNC {} 0\r\n$EOF:", super::replica_unit::MASTER_ID).as_bytes());
                d.feed(&[b'q'; 40]);
                d.feed(b"\r\n");
            }
            _ => d.reach_connected(3),
        }
        let at = split.index(data.len() + 1);
        // Feeding may legitimately fail only once the link was dropped.
        for part in [&data[..at], &data[at..]] {
            let _ = d.r.handle_data(d.now, part);
            d.pump();
        }
        d.tick(1000);
        d.tick(70_000);
        let _ = d.r.info(d.now);
    }

    #[test]
    fn master_survives_arbitrary_commands(
        cmds in proptest::collection::vec(
            (0u64..3, proptest::collection::vec(
                prop_oneof![
                    Just(b"REPLCONF".to_vec()), Just(b"PSYNC".to_vec()), Just(b"SYNC".to_vec()),
                    Just(b"ack".to_vec()), Just(b"capa".to_vec()), Just(b"eof".to_vec()),
                    Just(b"listening-port".to_vec()), Just(b"rdb-only".to_vec()),
                    Just(b"rdb-filter-only".to_vec()), Just(b"?".to_vec()), Just(b"-1".to_vec()),
                    Just(b"1".to_vec()), proptest::collection::vec(any::<u8>(), 0..10),
                ],
                0..6,
            )),
            0..30,
        ),
        feeds in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 0..5),
    ) {
        let mut m = Master::new(MasterConfig::default(), 1, 0);
        let mut now = 0;
        for (i, (who, args)) in cmds.iter().enumerate() {
            let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
            let _ = m.handle_command(ReplicaId(*who), now, &args);
            if let Some(f) = feeds.get(i % feeds.len().max(1)) {
                m.feed(now, f);
            }
            m.handle_replica_pending(ReplicaId(*who), now, (i as u64) * 1_000_000);
            now += 700;
            m.handle_timeout(now);
            while m.poll_action().is_some() {}
            while m.poll_log().is_some() {}
        }
        let _ = m.info(now).to_info_string();
    }
}
