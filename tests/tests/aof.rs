//! The append-only file: writes acknowledged with `appendfsync always`
//! survive `kill -9`, a rewrite keeps every write, and the reference
//! redis-server loads replikv's AOF directory.

use replikv_tests::{new_temp_dir, wait_until, Server, ServerKind};
use std::time::Duration;

fn get(s: &Server, key: &str) -> Option<String> {
    let mut c = s.client();
    redis::cmd("GET").arg(key).query(&mut c).unwrap()
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let mut s = Server::replikv(&["--appendonly", "yes", "--appendfsync", "always"]);
    let mut c = s.client();
    for i in 0..200 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query(&mut c)
            .unwrap();
    }
    let _: () = redis::cmd("RPUSH")
        .arg("list")
        .arg("a")
        .arg("b")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(3).query(&mut c).unwrap();
    let _: () = redis::cmd("HSET")
        .arg("h")
        .arg("f")
        .arg("v")
        .query(&mut c)
        .unwrap();
    drop(c);
    s.kill9();
    s.restart();
    for i in 0..200 {
        assert_eq!(get(&s, &format!("k{i}")), Some(i.to_string()), "k{i} lost");
    }
    let mut c = s.client();
    let list: Vec<String> = redis::cmd("LRANGE")
        .arg("list")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert_eq!(list, vec!["a", "b"]);
    let _: () = redis::cmd("SELECT").arg(3).query(&mut c).unwrap();
    let v: Option<String> = redis::cmd("HGET").arg("h").arg("f").query(&mut c).unwrap();
    assert_eq!(v.as_deref(), Some("v"));
}

#[test]
fn rewrite_keeps_writes_made_during_and_after_it() {
    let mut s = Server::replikv(&["--appendonly", "yes", "--appendfsync", "always"]);
    let mut c = s.client();
    for i in 0..500 {
        let _: () = redis::cmd("SET")
            .arg(format!("a{i}"))
            .arg("x")
            .query(&mut c)
            .unwrap();
    }
    let r: String = redis::cmd("BGREWRITEAOF").query(&mut c).unwrap();
    assert!(r.contains("rewriting started"), "{r}");
    for i in 0..100 {
        let _: () = redis::cmd("SET")
            .arg(format!("b{i}"))
            .arg("y")
            .query(&mut c)
            .unwrap();
    }
    let manifest = s.dir().join("appendonlydir/appendonly.aof.manifest");
    assert!(
        wait_until(Duration::from_secs(20), || {
            std::fs::read_to_string(&manifest).is_ok_and(|m| m.contains("seq 2 type b"))
        }),
        "the rewrite never installed a new base: {:?}",
        std::fs::read_to_string(&manifest)
    );
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg("z")
        .query(&mut c)
        .unwrap();
    drop(c);
    s.kill9();
    s.restart();
    assert_eq!(get(&s, "a499").as_deref(), Some("x"));
    assert_eq!(get(&s, "b99").as_deref(), Some("y"));
    assert_eq!(get(&s, "after").as_deref(), Some("z"));
    let mut c = s.client();
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, 601);
}

#[test]
fn reference_redis_loads_replikv_aof() {
    let s = Server::replikv(&["--appendonly", "yes", "--appendfsync", "always"]);
    let mut c = s.client();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let _: () = redis::cmd("ZADD")
        .arg("z")
        .arg(1.5)
        .arg("m")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("INCRBY").arg("n").arg(41).query(&mut c).unwrap();
    let _: () = redis::cmd("INCR").arg("n").query(&mut c).unwrap();
    drop(c);
    s.kill9();
    let dir = new_temp_dir();
    let from = s.dir().join("appendonlydir");
    let to = dir.path().join("appendonlydir");
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(&from).unwrap().flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
    let r = Server::start_in(ServerKind::Redis, dir, None, &["--appendonly", "yes"]);
    assert_eq!(get(&r, "k").as_deref(), Some("v"));
    assert_eq!(get(&r, "n").as_deref(), Some("42"));
    let mut c = r.client();
    let score: Option<String> = redis::cmd("ZSCORE")
        .arg("z")
        .arg("m")
        .query(&mut c)
        .unwrap();
    assert_eq!(score.as_deref(), Some("1.5"));
}
