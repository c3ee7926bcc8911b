//! Unit and property tests for the backlog, IDs, PSYNC decision and TTL.

use std::collections::VecDeque;

use proptest::prelude::*;

use crate::*;

fn read_vec(b: &Backlog, off: u64) -> Result<Vec<u8>, BacklogError> {
    b.read_from(off).map(|r| r.to_vec())
}

fn id(c: char) -> ReplId {
    c.to_string().repeat(REPLID_LEN).parse().unwrap()
}

// ---------------------------------------------------------------- Backlog

#[test]
fn zero_size_rejected() {
    assert_eq!(Backlog::new(0, 0).unwrap_err(), ZeroSizeError);
    let mut b = Backlog::new(4, 0).unwrap();
    assert_eq!(b.resize(0), Err(ZeroSizeError));
    assert_eq!(b.size(), 4);
}

#[test]
fn huge_backlog_allocates_as_the_stream_fills_it() {
    // `CONFIG SET repl-backlog-size` of a terabyte must not allocate it.
    let mut b = Backlog::new(1 << 40, 7).unwrap();
    assert_eq!(b.allocated(), 0);
    assert_eq!(read_vec(&b, 8).unwrap(), Vec::<u8>::new());
    b.append(&[1; 1000]);
    b.append(&[2; 1000]);
    assert!(b.allocated() < 1 << 20, "{}", b.allocated());
    assert_eq!(b.first_byte_offset(), 8);
    let all = read_vec(&b, 8).unwrap();
    assert_eq!(all.len(), 2000);
    assert_eq!((all[999], all[1000]), (1, 2));
    b.resize(1 << 41).unwrap();
    assert!(b.allocated() < 1 << 20);
    assert_eq!(read_vec(&b, 1008).unwrap(), vec![2; 1000]);
}

#[test]
fn backlog_fills_up_then_wraps() {
    // Growing, then full in one append that overshoots, then a ring.
    let mut b = Backlog::new(10, 0).unwrap();
    b.append(b"abcdef");
    b.append(b"ghijklm");
    assert_eq!(b.histlen(), 10);
    assert_eq!(read_vec(&b, 4).unwrap(), b"defghijklm");
    b.append(b"nop");
    assert_eq!(read_vec(&b, 7).unwrap(), b"ghijklmnop");
    assert!(read_vec(&b, 6).is_err());
    b.resize(4).unwrap();
    assert_eq!(read_vec(&b, 13).unwrap(), b"mnop");
    b.resize(20).unwrap();
    b.append(b"qrs");
    assert_eq!(read_vec(&b, 13).unwrap(), b"mnopqrs");
}

#[test]
fn empty_backlog() {
    let b = Backlog::new(8, 100).unwrap();
    assert_eq!(b.master_offset(), 100);
    assert_eq!(b.histlen(), 0);
    assert_eq!(b.first_byte_offset(), 101);
    assert_eq!(b.size(), 8);
    // Exactly at end + 1: nothing to send, but accepted.
    let r = b.read_from(101).unwrap();
    assert!(r.is_empty());
    assert_eq!(r.offset(), 101);
    assert_eq!(r.chunks().count(), 0);
    assert_eq!(
        read_vec(&b, 100),
        Err(BacklogError::Gone {
            requested: 100,
            first_byte_offset: 101
        })
    );
    assert_eq!(
        read_vec(&b, 102),
        Err(BacklogError::PastEnd {
            requested: 102,
            master_offset: 100
        })
    );
}

#[test]
fn fresh_stream_starts_at_offset_one() {
    let mut b = Backlog::new(16, 0).unwrap();
    b.append(b"hello");
    assert_eq!(b.master_offset(), 5);
    assert_eq!(b.first_byte_offset(), 1);
    assert_eq!(read_vec(&b, 1).unwrap(), b"hello");
    assert_eq!(read_vec(&b, 3).unwrap(), b"llo");
    assert_eq!(read_vec(&b, 6).unwrap(), b"");
    assert!(b.read_from(0).is_err());
    assert!(b.read_from(7).is_err());
}

#[test]
fn range_edges() {
    let mut b = Backlog::new(10, 1000).unwrap();
    b.append(b"abcdefghij"); // offsets 1001..=1010, full
    b.append(b"klm"); // offsets 1011..=1013, evicts 1001..=1003
    assert_eq!(b.first_byte_offset(), 1004);
    assert_eq!(b.master_offset(), 1013);
    assert_eq!(b.histlen(), 10);
    // Exactly at first byte.
    assert_eq!(read_vec(&b, 1004).unwrap(), b"defghijklm");
    // One byte before the start.
    assert_eq!(
        read_vec(&b, 1003),
        Err(BacklogError::Gone {
            requested: 1003,
            first_byte_offset: 1004
        })
    );
    // Exactly end + 1.
    assert_eq!(read_vec(&b, 1014).unwrap(), b"");
    // One past end + 1.
    assert_eq!(
        read_vec(&b, 1015),
        Err(BacklogError::PastEnd {
            requested: 1015,
            master_offset: 1013
        })
    );
    assert!(b.can_serve(1004) && b.can_serve(1014));
    assert!(!b.can_serve(1003) && !b.can_serve(1015));
}

#[test]
fn wrap_gives_two_slices() {
    let mut b = Backlog::new(8, 0).unwrap();
    b.append(b"012345");
    b.append(b"6789"); // wraps: buffer holds 23456789
    let r = b.read_from(3).unwrap();
    let (a, c) = r.slices();
    assert_eq!(a, b"234567");
    assert_eq!(c, b"89");
    assert_eq!(r.len(), 8);
    assert_eq!(r.to_bytes().as_ref(), b"23456789");
    assert_eq!(r.chunks().collect::<Vec<_>>(), vec![&b"234567"[..], b"89"]);
    // A read starting after the wrap point is a single slice.
    let r = b.read_from(10).unwrap();
    assert_eq!(r.slices(), (&b"9"[..], &b""[..]));
    // Exactly at the wrap point.
    let r = b.read_from(9).unwrap();
    assert_eq!(r.slices(), (&b"89"[..], &b""[..]));
}

#[test]
fn append_larger_than_size_keeps_tail() {
    let mut b = Backlog::new(4, 10).unwrap();
    b.append(b"xy");
    b.append(b"abcdefgh");
    assert_eq!(b.master_offset(), 20);
    assert_eq!(b.histlen(), 4);
    assert_eq!(b.first_byte_offset(), 17);
    assert_eq!(read_vec(&b, 17).unwrap(), b"efgh");
    assert!(b.read_from(16).is_err());
    // Exactly size bytes.
    b.append(b"1234");
    assert_eq!(read_vec(&b, 21).unwrap(), b"1234");
    b.append(b"5");
    assert_eq!(read_vec(&b, 22).unwrap(), b"2345");
}

#[test]
fn empty_append_is_noop() {
    let mut b = Backlog::new(4, 0).unwrap();
    b.append(b"ab");
    b.append(b"");
    assert_eq!(b.master_offset(), 2);
    assert_eq!(read_vec(&b, 1).unwrap(), b"ab");
}

#[test]
fn resize_bigger_keeps_history() {
    let mut b = Backlog::new(4, 0).unwrap();
    b.append(b"abcdef"); // holds cdef at 3..=6
    b.resize(8).unwrap();
    assert_eq!(b.size(), 8);
    assert_eq!(b.histlen(), 4);
    assert_eq!(b.first_byte_offset(), 3);
    assert_eq!(read_vec(&b, 3).unwrap(), b"cdef");
    b.append(b"ghijk");
    assert_eq!(b.first_byte_offset(), 4);
    assert_eq!(read_vec(&b, 4).unwrap(), b"defghijk");
}

#[test]
fn resize_smaller_keeps_newest() {
    let mut b = Backlog::new(8, 0).unwrap();
    b.append(b"012345");
    b.append(b"6789"); // wrapped: 23456789 at 3..=10
    b.resize(3).unwrap();
    assert_eq!(b.histlen(), 3);
    assert_eq!(b.master_offset(), 10);
    assert_eq!(b.first_byte_offset(), 8);
    assert_eq!(read_vec(&b, 8).unwrap(), b"789");
    assert!(b.read_from(7).is_err());
    b.append(b"a");
    assert_eq!(read_vec(&b, 9).unwrap(), b"89a");
}

#[test]
fn resize_empty_and_same() {
    let mut b = Backlog::new(8, 5).unwrap();
    b.resize(2).unwrap();
    assert_eq!((b.histlen(), b.first_byte_offset()), (0, 6));
    b.append(b"xyz");
    b.resize(2).unwrap();
    assert_eq!(read_vec(&b, 7).unwrap(), b"yz");
}

// ------------------------------------------------------------- ReplIds

#[test]
fn replid_from_random_is_lower_hex() {
    let mut bytes = [0u8; 20];
    bytes[0] = 0xAB;
    bytes[19] = 0x0F;
    let id = ReplId::from_random(bytes);
    assert_eq!(id.as_str().len(), 40);
    assert_eq!(id.as_str(), format!("ab{}0f", "0".repeat(36)));
    let all: ReplId = ReplId::from_random([0xff; 20]);
    assert_eq!(all.as_str(), "f".repeat(40));
}

#[test]
fn replid_parse() {
    assert_eq!("abc".parse::<ReplId>(), Err(ReplIdError::Length(3)));
    let spaced = format!("{} ", "a".repeat(39));
    assert_eq!(
        spaced.parse::<ReplId>(),
        Err(ReplIdError::InvalidByte(b' '))
    );
    assert!(ReplId::NONE.is_none());
    assert_eq!(ReplId::NONE.as_str(), "0".repeat(40));
}

#[test]
fn new_random_has_no_secondary() {
    let ids = ReplicationIds::new_random([7; 20]);
    assert_eq!(ids.replid().as_str(), "07".repeat(20));
    assert!(ids.replid2().is_none());
    assert_eq!(ids.second_replid_offset(), -1);
}

#[test]
fn shift_and_clear() {
    let mut ids = ReplicationIds::from_parts(id('a'), ReplId::NONE, -1);
    ids.shift(id('b'), 50);
    assert_eq!(*ids.replid(), id('b'));
    assert_eq!(*ids.replid2(), id('a'));
    assert_eq!(ids.second_replid_offset(), 51);
    assert_eq!(
        ids.shift_log_line(),
        format!(
            "Setting secondary replication ID to {}, valid up to offset: 51. New replication ID is {}",
            "a".repeat(40),
            "b".repeat(40)
        )
    );
    ids.clear_secondary();
    assert!(ids.replid2().is_none());
    assert_eq!(ids.second_replid_offset(), -1);
    ids.change_id(id('c'));
    assert_eq!(*ids.replid(), id('c'));
}

#[test]
fn can_continue_rules() {
    let mut ids = ReplicationIds::from_parts(id('a'), ReplId::NONE, -1);
    ids.shift(id('b'), 99); // replid2 = a valid up to 100
    let a = "a".repeat(40);
    let b = "b".repeat(40);
    assert_eq!(ids.can_continue(&b, 5000), ContinueDecision::PrimaryId);
    assert_eq!(
        ids.can_continue(&b.to_uppercase(), 1),
        ContinueDecision::PrimaryId
    );
    assert_eq!(ids.can_continue(&a, 100), ContinueDecision::SecondaryId);
    assert_eq!(ids.can_continue(&a, 1), ContinueDecision::SecondaryId);
    assert_eq!(
        ids.can_continue(&a, 101),
        ContinueDecision::SecondaryOffsetTooLarge
    );
    assert_eq!(
        ids.can_continue("?", -1),
        ContinueDecision::FullResyncRequested
    );
    assert_eq!(
        ids.can_continue(&"c".repeat(40), 1),
        ContinueDecision::IdMismatch
    );
    assert_eq!(ids.can_continue("", 1), ContinueDecision::IdMismatch);
    assert!(ContinueDecision::SecondaryId.is_continue());
    assert!(!ContinueDecision::IdMismatch.is_continue());
}

#[test]
fn question_mark_wins_over_stale_secondary() {
    // Redis checks for '?' before telling the two refusal kinds apart.
    let q = format!("?{}", "a".repeat(39));
    let ids = ReplicationIds::from_parts(id('b'), q.parse().unwrap(), 10);
    assert_eq!(ids.can_continue(&q, 10), ContinueDecision::SecondaryId);
    assert_eq!(
        ids.can_continue(&q, 11),
        ContinueDecision::FullResyncRequested
    );
}

#[test]
fn none_secondary_never_continues_with_real_offsets() {
    let ids = ReplicationIds::new_random([1; 20]);
    assert_eq!(
        ids.can_continue(&"0".repeat(40), 0),
        ContinueDecision::SecondaryOffsetTooLarge
    );
}

#[test]
fn reply_lines() {
    let ids = ReplicationIds::from_parts(id('a'), ReplId::NONE, -1);
    assert_eq!(
        ids.continue_reply(true).as_ref(),
        format!("+CONTINUE {}\r\n", "a".repeat(40)).as_bytes()
    );
    assert_eq!(ids.continue_reply(false).as_ref(), b"+CONTINUE\r\n");
    assert_eq!(
        ids.fullresync_reply(12345).as_ref(),
        format!("+FULLRESYNC {} 12345\r\n", "a".repeat(40)).as_bytes()
    );
}

// ---------------------------------------------------------- decide_psync

/// IDs "b" current, "a" previous valid up to offset 101, and a backlog
/// holding offsets 91..=130.
fn promoted_setup() -> (ReplicationIds, Backlog) {
    let mut ids = ReplicationIds::from_parts(id('a'), ReplId::NONE, -1);
    ids.shift(id('b'), 100);
    let mut backlog = Backlog::new(40, 60).unwrap();
    backlog.append(&[b'x'; 70]);
    assert_eq!(backlog.first_byte_offset(), 91);
    assert_eq!(backlog.master_offset(), 130);
    (ids, backlog)
}

#[test]
fn psync_continue_primary() {
    let (ids, backlog) = promoted_setup();
    let d = decide_psync(&ids, Some(&backlog), &"b".repeat(40), 121, true);
    assert_eq!(
        d,
        PsyncDecision::Continue {
            psync_offset: 121,
            send_replid_in_reply: true,
            backlog_len: 10,
            reply: ids.continue_reply(true),
        }
    );
    assert_eq!(
        d.log_line("10.0.0.1:6380"),
        "Partial resynchronization request from 10.0.0.1:6380 accepted. \
         Sending 10 bytes of backlog starting from offset 121."
    );
    assert_eq!(d.warning_line("r"), None);
    let d = decide_psync(&ids, Some(&backlog), &"b".repeat(40), 131, false);
    match d {
        PsyncDecision::Continue {
            send_replid_in_reply,
            backlog_len,
            reply,
            ..
        } => {
            assert!(!send_replid_in_reply);
            assert_eq!(backlog_len, 0);
            assert_eq!(reply.as_ref(), b"+CONTINUE\r\n");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn psync_secondary_boundary() {
    let (ids, backlog) = promoted_setup();
    let a = "a".repeat(40);
    // At the boundary: the replica had 100 bytes of the old history.
    assert!(decide_psync(&ids, Some(&backlog), &a, 101, true).is_continue());
    // One after: the old history never had byte 101 under ID "a".
    let d = decide_psync(&ids, Some(&backlog), &a, 102, true);
    assert_eq!(
        d,
        PsyncDecision::FullResync {
            reason: FullResyncReason::SecondaryOffsetTooLarge {
                requested_offset: 102,
                second_replid_offset: 101
            }
        }
    );
    assert_eq!(
        d.log_line("r"),
        "Partial resynchronization not accepted: Requested offset for second ID was 102, \
         but I can reply up to 101"
    );
}

#[test]
fn psync_id_mismatch_log() {
    let (ids, backlog) = promoted_setup();
    let c = "c".repeat(40);
    let d = decide_psync(&ids, Some(&backlog), &c, 100, true);
    assert_eq!(
        d.log_line("r"),
        format!(
            "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for \
             '{c}', my replication IDs are '{}' and '{}')",
            "b".repeat(40),
            "a".repeat(40)
        )
    );
}

#[test]
fn psync_full_requested() {
    let (ids, backlog) = promoted_setup();
    let d = decide_psync(&ids, Some(&backlog), "?", -1, true);
    assert_eq!(
        d,
        PsyncDecision::FullResync {
            reason: FullResyncReason::Requested
        }
    );
    assert_eq!(
        d.log_line("127.0.0.1:7000"),
        "Full resync requested by replica 127.0.0.1:7000"
    );
}

#[test]
fn psync_no_backlog() {
    let (ids, _) = promoted_setup();
    let d = decide_psync(&ids, None, &"b".repeat(40), 121, true);
    assert_eq!(
        d,
        PsyncDecision::FullResync {
            reason: FullResyncReason::NoBacklog { psync_offset: 121 }
        }
    );
    assert_eq!(
        d.log_line("r:1"),
        "Unable to partial resync with replica r:1 for lack of backlog (Replica request was: 121)."
    );
    assert_eq!(d.warning_line("r:1"), None);
}

#[test]
fn psync_out_of_range() {
    let (ids, backlog) = promoted_setup();
    let b = "b".repeat(40);
    assert!(decide_psync(&ids, Some(&backlog), &b, 91, true).is_continue());
    assert!(decide_psync(&ids, Some(&backlog), &b, 131, true).is_continue());
    let before = decide_psync(&ids, Some(&backlog), &b, 90, true);
    assert_eq!(
        before,
        PsyncDecision::FullResync {
            reason: FullResyncReason::OutOfRange {
                psync_offset: 90,
                first_byte_offset: 91,
                master_offset: 130
            }
        }
    );
    assert_eq!(
        before.log_line("r"),
        "Unable to partial resync with replica r for lack of backlog (Replica request was: 90)."
    );
    assert_eq!(before.warning_line("r"), None);
    let after = decide_psync(&ids, Some(&backlog), &b, 132, true);
    assert!(!after.is_continue());
    assert_eq!(
        after.warning_line("r").as_deref(),
        Some(
            "Warning: replica r tried to PSYNC with an offset that is greater than the master \
             replication offset."
        )
    );
    let negative = decide_psync(&ids, Some(&backlog), &b, -5, true);
    assert_eq!(
        negative.log_line("r"),
        "Unable to partial resync with replica r for lack of backlog (Replica request was: -5)."
    );
}

// ------------------------------------------------------------------ TTL

#[test]
fn ttl_rules() {
    let ttl = BacklogTtl::new(10);
    let since = 1_000_000;
    // Idle must strictly exceed the TTL.
    assert!(!ttl.should_free(0, since, since + 10_000, false));
    assert!(!ttl.should_free(0, since, since + 10_999, false));
    assert!(ttl.should_free(0, since, since + 11_000, false));
    // Replicas attached, or node is a replica: never.
    assert!(!ttl.should_free(1, since, since + 100_000, false));
    assert!(!ttl.should_free(0, since, since + 100_000, true));
    // TTL 0: never.
    assert!(!BacklogTtl::new(0).should_free(0, 0, u64::MAX, false));
    // Clock going backwards is not idle time.
    assert!(!ttl.should_free(0, since, 0, false));
    assert_eq!(
        ttl.freed_log_line(),
        "Replication backlog freed after 10 seconds without connected replicas."
    );
    assert_eq!(BacklogTtl::default().ttl_secs(), 3600);
}

// ------------------------------------------------------------ proptest

/// Reference model: every byte ever appended, truncated to the newest
/// `size`, plus the stream length.
struct Model {
    data: VecDeque<u8>,
    size: usize,
    master: u64,
}

impl Model {
    fn first(&self) -> u64 {
        self.master - self.data.len() as u64 + 1
    }

    fn append(&mut self, bytes: &[u8]) {
        self.master += bytes.len() as u64;
        self.data.extend(bytes);
        self.trim();
    }

    fn resize(&mut self, size: usize) {
        self.size = size;
        self.trim();
    }

    fn trim(&mut self) {
        while self.data.len() > self.size {
            self.data.pop_front();
        }
    }

    fn read(&self, off: u64) -> Result<Vec<u8>, BacklogError> {
        if off < self.first() {
            Err(BacklogError::Gone {
                requested: off,
                first_byte_offset: self.first(),
            })
        } else if off > self.master + 1 {
            Err(BacklogError::PastEnd {
                requested: off,
                master_offset: self.master,
            })
        } else {
            Ok(self
                .data
                .iter()
                .skip((off - self.first()) as usize)
                .copied()
                .collect())
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<u8>),
    Resize(usize),
    /// Offset relative to `first_byte_offset - 3`, so reads land on both
    /// sides of the valid range.
    Read(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Op::Append),
        1 => (1usize..48).prop_map(Op::Resize),
        3 => (0u64..60).prop_map(Op::Read),
    ]
}

proptest! {
    #[test]
    fn backlog_matches_model(
        size in 1usize..32,
        start in prop_oneof![Just(0u64), 0u64..1_000_000, Just(1u64 << 62)],
        ops in proptest::collection::vec(op(), 0..80),
    ) {
        let mut b = Backlog::new(size, start).unwrap();
        let mut m = Model { data: VecDeque::new(), size, master: start };
        for op in ops {
            match op {
                Op::Append(bytes) => {
                    b.append(&bytes);
                    m.append(&bytes);
                }
                Op::Resize(n) => {
                    b.resize(n).unwrap();
                    m.resize(n);
                }
                Op::Read(rel) => {
                    let off = (m.first() + rel).saturating_sub(3);
                    let got = b.read_from(off);
                    prop_assert_eq!(got.map(|r| r.to_vec()), m.read(off));
                    if let Ok(r) = got {
                        prop_assert_eq!(r.len(), r.slices().0.len() + r.slices().1.len());
                        prop_assert_eq!(r.offset(), off);
                    }
                    prop_assert_eq!(b.can_serve(off), m.read(off).is_ok());
                }
            }
            prop_assert_eq!(b.size(), m.size);
            prop_assert_eq!(b.histlen(), m.data.len());
            prop_assert_eq!(b.master_offset(), m.master);
            prop_assert_eq!(b.first_byte_offset(), m.first());
            // The full read always reproduces the whole model.
            let all: Vec<u8> = m.data.iter().copied().collect();
            prop_assert_eq!(read_vec(&b, m.first()).unwrap(), all);
        }
    }
}
