//! The reference redis-sentinel watches replikv nodes and fails them over.

use replikv_tests::{new_temp_dir, redis_server_bin, wait_until, Server};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Sentinel {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sentinel(master_port: u16) -> Sentinel {
    let dir = new_temp_dir();
    let port = free_port();
    let conf = dir.path().join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor mymaster 127.0.0.1 {master_port} 1\nsentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 5000\n",
            dir.path().display()
        ),
    )
    .unwrap();
    // redis-sentinel is redis-server in sentinel mode.
    let child = Command::new(redis_server_bin())
        .arg(&conf)
        .arg("--sentinel")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server --sentinel (Debian package redis-sentinel / redis-server)");
    Sentinel {
        child,
        port,
        _dir: dir,
    }
}

fn sentinel_cmd(port: u16, args: &[&str]) -> redis::Value {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    // The sentinel may still be starting: treat that as "no answer yet".
    let Ok(mut c) = client.get_connection() else {
        return redis::Value::Nil;
    };
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(&mut c).unwrap_or(redis::Value::Nil)
}

#[test]
fn sentinel_promotes_the_replikv_replica_when_the_master_dies() {
    let master = Server::replikv(&["--repl-diskless-sync-delay", "0"]);
    let mport = master.port().to_string();
    let replica = Server::replikv(&["--replicaof", "127.0.0.1", &mport]);
    let mut mc = master.client();
    let _: () = redis::cmd("SET")
        .arg("foo")
        .arg("bar")
        .query(&mut mc)
        .unwrap();
    assert!(wait_until(Duration::from_secs(20), || {
        let mut rc = replica.client();
        redis::cmd("GET")
            .arg("foo")
            .query::<Option<String>>(&mut rc)
            .ok()
            .flatten()
            .as_deref()
            == Some("bar")
    }));
    let s = sentinel(master.port());
    // Sentinel discovers the replica through the master's INFO.
    assert!(
        wait_until(Duration::from_secs(30), || {
            matches!(sentinel_cmd(s.port, &["SENTINEL", "REPLICAS", "mymaster"]), redis::Value::Array(ref v) if !v.is_empty())
        }),
        "sentinel never saw the replica"
    );
    drop(mc);
    master.kill9();
    let rport = replica.port().to_string();
    assert!(
        wait_until(Duration::from_secs(60), || {
            match sentinel_cmd(s.port, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]) {
                redis::Value::Array(v) => {
                    matches!(v.get(1), Some(redis::Value::BulkString(p)) if p == rport.as_bytes())
                }
                _ => false,
            }
        }),
        "sentinel did not fail over to the replikv replica"
    );
    let mut rc = replica.client();
    let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut rc).unwrap();
    assert_eq!(
        role.first(),
        Some(&redis::Value::BulkString(b"master".to_vec()))
    );
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg("failover")
        .query(&mut rc)
        .unwrap();
    let v: Option<String> = redis::cmd("GET").arg("foo").query(&mut rc).unwrap();
    assert_eq!(v.as_deref(), Some("bar"));
}
