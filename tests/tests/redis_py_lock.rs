//! redis-py's `Lock` (its Lua scripts for release, extend and reacquire,
//! loaded by EVALSHA with the NOSCRIPT fallback) end to end, as
//! applications use it for distributed locks; the same program runs
//! against redis-server as the reference.

use std::process::Command;

use replikv_tests::{Server, ServerKind};

/// Debian's Python, where the test command installs redis-py
/// (`python3-redis`).
const PYTHON: &str = "/usr/bin/python3";

const PROGRAM: &str = r#"
import sys, time
import redis
from redis.exceptions import LockError, LockNotOwnedError

port = int(sys.argv[1])
a = redis.Redis(port=port)
b = redis.Redis(port=port)
a.script_flush()

first = a.lock("resource", timeout=10)
assert first.acquire(blocking=False), "first acquire"
assert first.owned() and first.locked()
second = b.lock("resource", timeout=10, blocking_timeout=0.2)
assert not second.acquire(), "a held lock was taken"
assert a.pttl("resource") > 9000

# extend adds time; reacquire resets it; both run Lua on the server.
assert first.extend(20)
assert a.pttl("resource") > 25000
assert first.extend(5, replace_ttl=True)
assert a.pttl("resource") <= 5000
assert first.reacquire()
assert 9000 < a.pttl("resource") <= 10000

# Only the owner may release or extend.
try:
    second.release()
    raise AssertionError("release by a non-owner")
except LockError:
    pass
stolen = b.lock("resource", timeout=10)
stolen.local.token = b"not-the-token"
try:
    stolen.extend(5)
    raise AssertionError("extend by a non-owner")
except LockNotOwnedError:
    pass

first.release()
assert not a.exists("resource")
assert second.acquire(), "free lock not acquired"
try:
    first.release()
    raise AssertionError("second release")
except LockError:
    pass

# A lock that expires can be taken by the other client.
short = a.lock("short", timeout=0.2)
assert short.acquire()
other = b.lock("short", timeout=5, blocking_timeout=2, sleep=0.05)
assert other.acquire(), "expired lock not taken over"
assert not short.owned()

with a.lock("ctx", timeout=5):
    assert a.exists("ctx")
assert not a.exists("ctx")
print("ok")
"#;

fn lock_works(kind: ServerKind) {
    let server = Server::start(kind, None, &[]);
    let out = Command::new(PYTHON)
        .args(["-c", PROGRAM, &server.port().to_string()])
        .output()
        .unwrap_or_else(|e| panic!("running {PYTHON} (install python3-redis): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.trim() == "ok",
        "redis-py Lock against {kind:?} failed\nstdout: {stdout}\nstderr: {stderr}"
    );
}

#[test]
fn redis_py_lock_works_on_replikv() {
    lock_works(ServerKind::Replikv);
}

#[test]
fn reference_redis_py_lock_works_on_redis() {
    lock_works(ServerKind::Redis);
}
