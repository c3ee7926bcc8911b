//! UNLINK, FLUSHDB/FLUSHALL ASYNC and the `lazyfree-lazy-user-*` settings:
//! the replies are Redis's, the keys are gone at once, and the freed
//! objects are counted in `INFO memory` as Redis counts them.

use std::time::Duration;

use redis::Connection;
use replikv_tests::{wait_until, Server};

fn info_u64(c: &mut Connection, field: &str) -> u64 {
    let text: String = redis::cmd("INFO")
        .arg("memory")
        .query(c)
        .unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(u64::MAX)
}

fn freed_reaches(c: &mut Connection, want: u64) -> bool {
    wait_until(Duration::from_secs(10), || {
        info_u64(c, "lazyfreed_objects") == want && info_u64(c, "lazyfree_pending_objects") == 0
    })
}

fn fill(c: &mut Connection, key: &str, n: usize) {
    let mut p = redis::pipe();
    for i in 0..n {
        p.cmd("SADD").arg(key).arg(format!("member-{i}")).ignore();
    }
    let _: () = p.query(c).unwrap_or(());
}

/// The same sequence and counts hold for the reference redis-server, so
/// the counting rules are Redis's, not guessed.
#[test]
fn unlink_and_async_flushes_free_lazily_and_are_counted() {
    for server in [Server::replikv(&[]), Server::redis(&[])] {
        lazy_free_sequence(&server);
    }
}

fn lazy_free_sequence(server: &Server) {
    let who = server.kind().name();
    let mut c = server.client();
    assert_eq!(info_u64(&mut c, "lazyfreed_objects"), 0);

    // A big value goes to the freeing thread; a small one is freed in
    // place (not counted), as Redis does below its threshold.
    fill(&mut c, "big", 1000);
    let _: () = redis::cmd("SET")
        .arg("small")
        .arg("v")
        .query(&mut c)
        .unwrap_or(());
    let n: i64 = redis::cmd("UNLINK")
        .arg("big")
        .arg("small")
        .arg("missing")
        .query(&mut c)
        .unwrap_or(-1);
    assert_eq!(n, 2);
    let left: i64 = redis::cmd("EXISTS")
        .arg("big")
        .arg("small")
        .query(&mut c)
        .unwrap_or(-1);
    assert_eq!(left, 0);
    assert!(
        freed_reaches(&mut c, 1),
        "{who}: UNLINK of a big set not counted"
    );

    // DEL frees in place unless lazyfree-lazy-user-del is set.
    fill(&mut c, "big", 1000);
    let _: i64 = redis::cmd("DEL").arg("big").query(&mut c).unwrap_or(-1);
    assert!(freed_reaches(&mut c, 1), "{who}: DEL counted");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("lazyfree-lazy-user-del")
        .arg("yes")
        .query(&mut c)
        .unwrap_or(());
    fill(&mut c, "big", 1000);
    let _: i64 = redis::cmd("DEL").arg("big").query(&mut c).unwrap_or(-1);
    assert!(
        freed_reaches(&mut c, 2),
        "{who}: DEL under lazyfree-lazy-user-del"
    );

    // FLUSHALL ASYNC counts one object per key; SYNC counts nothing.
    for i in 0..50 {
        fill(&mut c, &format!("s{i}"), 3);
    }
    let ok: String = redis::cmd("FLUSHALL")
        .arg("ASYNC")
        .query(&mut c)
        .unwrap_or_default();
    assert_eq!(ok, "OK");
    let size: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap_or(-1);
    assert_eq!(size, 0);
    assert!(
        freed_reaches(&mut c, 52),
        "{who}: FLUSHALL ASYNC of 50 keys"
    );
    fill(&mut c, "x", 3);
    let _: String = redis::cmd("FLUSHDB")
        .arg("SYNC")
        .query(&mut c)
        .unwrap_or_default();
    assert!(freed_reaches(&mut c, 52), "{who}: FLUSHDB SYNC counted");
    let size: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap_or(-1);
    assert_eq!(size, 0);

    // lazyfree-lazy-user-flush makes a plain FLUSHDB asynchronous.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("lazyfree-lazy-user-flush")
        .arg("yes")
        .query(&mut c)
        .unwrap_or(());
    fill(&mut c, "y", 3);
    let _: String = redis::cmd("FLUSHDB").query(&mut c).unwrap_or_default();
    assert!(
        freed_reaches(&mut c, 53),
        "FLUSHDB under lazyfree-lazy-user-flush"
    );
}

#[test]
fn flush_and_unlink_replies_match_redis() {
    let replies = |server: &Server| {
        let mut raw = server.raw();
        [
            &[&b"SADD"[..], b"k", b"a", b"b"][..],
            &[b"UNLINK", b"k", b"k", b"nokey"],
            &[b"FLUSHALL", b"LATER"],
            &[b"FLUSHDB", b"ASYNC", b"NOW"],
            &[b"FLUSHDB", b"async"],
            &[b"FLUSHALL", b"Sync"],
        ]
        .iter()
        .map(|args| raw.command(args))
        .collect::<Vec<_>>()
    };
    let ours = replies(&Server::replikv(&[]));
    let theirs = replies(&Server::redis(&[]));
    assert_eq!(ours, theirs);
}
