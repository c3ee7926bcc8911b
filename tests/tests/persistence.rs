//! RDB persistence as a user sees it: snapshots survive restarts, a
//! corrupt dump file stops start-up without being touched.

use replikv_tests::{new_temp_dir, wait_until, Server, ServerKind};
use std::time::Duration;

fn fill(s: &Server) {
    let mut c = s.client();
    let _: () = redis::cmd("SET").arg("s").arg("v").query(&mut c).unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg("l")
        .arg("a")
        .arg("b")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg("h")
        .arg("f")
        .arg("v")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SADD")
        .arg("t")
        .arg(1)
        .arg(2)
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("ZADD")
        .arg("z")
        .arg(2.5)
        .arg("m")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("e")
        .arg("x")
        .arg("EX")
        .arg(10_000)
        .query(&mut c)
        .unwrap();
}

fn digest(s: &Server) -> String {
    let mut c = s.client();
    redis::cmd("DEBUG").arg("DIGEST").query(&mut c).unwrap()
}

#[test]
fn bgsave_then_restart_keeps_every_type() {
    let mut s = Server::replikv(&["--enable-debug-command", "yes"]);
    fill(&s);
    let before = digest(&s);
    let mut c = s.client();
    let last: i64 = redis::cmd("LASTSAVE").query(&mut c).unwrap();
    let r: String = redis::cmd("BGSAVE").query(&mut c).unwrap();
    assert_eq!(r, "Background saving started");
    // The server keeps answering while the child saves.
    let _: () = redis::cmd("SET")
        .arg("during")
        .arg("1")
        .query(&mut c)
        .unwrap();
    assert!(wait_until(Duration::from_secs(20), || {
        let info: String = redis::cmd("INFO").arg("persistence").query(&mut c).unwrap();
        info.contains("rdb_bgsave_in_progress:0") && info.contains("rdb_last_bgsave_status:ok")
    }));
    let now: i64 = redis::cmd("LASTSAVE").query(&mut c).unwrap();
    assert!(now >= last);
    let _: () = redis::cmd("DEL").arg("during").query(&mut c).unwrap();
    drop(c);
    s.kill9();
    s.restart();
    assert_eq!(digest(&s), before, "the reloaded data set differs");
}

#[test]
fn corrupt_dump_stops_start_up_and_is_left_untouched() {
    let dir = new_temp_dir();
    let path = dir.path().join("dump.rdb");
    let garbage =
        b"REDIS0010\xfa\x09redis-ver\x067.0.15\xfe\x00\xfb\x05\x00\x00\x03key\xff\xff\xff\xff\xff"
            .to_vec();
    std::fs::write(&path, &garbage).unwrap();
    let d = dir.path().to_string_lossy().to_string();
    let (status, log) = Server::expect_startup_failure(ServerKind::Replikv, None, &["--dir", &d]);
    assert!(!status.success(), "started with a corrupt dump: {log}");
    assert!(
        log.to_lowercase().contains("rdb"),
        "the log does not say what failed: {log}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        garbage,
        "the dump file was modified"
    );
}

#[test]
fn truncated_dump_stops_start_up() {
    // A valid dump written by the reference server, cut in half.
    let r = Server::redis(&[]);
    fill(&r);
    let mut c = r.client();
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    let full = std::fs::read(r.dir().join("dump.rdb")).unwrap();
    let dir = new_temp_dir();
    std::fs::write(dir.path().join("dump.rdb"), &full[..full.len() / 2]).unwrap();
    let d = dir.path().to_string_lossy().to_string();
    let (status, log) = Server::expect_startup_failure(ServerKind::Replikv, None, &["--dir", &d]);
    assert!(!status.success(), "started with a truncated dump: {log}");
    // And the whole file loads.
    let dir2 = new_temp_dir();
    std::fs::write(dir2.path().join("dump.rdb"), &full).unwrap();
    let s = Server::start_in(ServerKind::Replikv, dir2, None, &[]);
    let mut c = s.client();
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, 6);
}

/// CONFIG SET dir moves the server: the next SAVE lands there and CONFIG
/// GET dir says where it is; a directory that does not exist is refused
/// with the system's reason. Checked against redis-server too.
fn config_set_dir_applies(kind: ServerKind) {
    // `dir` is a protected config in Redis 7.0.
    let s = Server::start(kind, None, &["--enable-protected-configs", "yes"]);
    let other = new_temp_dir();
    let other_path = std::fs::canonicalize(other.path()).unwrap();
    let mut c = s.client();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("dir")
        .arg(other_path.to_str().unwrap())
        .query(&mut c)
        .unwrap();
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("dir")
        .query(&mut c)
        .unwrap();
    assert_eq!(
        got,
        vec!["dir".to_string(), other_path.display().to_string()]
    );
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    assert!(
        other_path.join("dump.rdb").exists(),
        "SAVE must write in the new dir"
    );
    let err = redis::cmd("CONFIG")
        .arg("SET")
        .arg("dir")
        .arg("/nonexistent/replikv-test")
        .query::<()>(&mut c)
        .unwrap_err();
    assert!(
        err.to_string().contains("No such file or directory"),
        "{err}"
    );
}

#[test]
fn config_set_dir_applies_replikv() {
    config_set_dir_applies(ServerKind::Replikv);
}

#[test]
fn reference_config_set_dir_applies_redis() {
    config_set_dir_applies(ServerKind::Redis);
}
