//! Differential tests for the list, hash, set and sorted-set commands: the
//! same command sequence is sent to replikv and to the reference
//! redis-server and the replies must be identical (compared as
//! `redis::Value`, error texts included), except where Redis's own answer
//! is not deterministic:
//!
//! * replies whose order follows a hash table (SMEMBERS of a `hashtable`
//!   set, HGETALL of a `hashtable` hash, SINTER/SUNION/SDIFF) are compared
//!   as multisets; while the collection uses a compact encoding (`intset`,
//!   `listpack`) its order is compared exactly;
//! * HSCAN / SSCAN / ZSCAN are iterated to cursor 0 and the sets of items
//!   compared (and the first reply exactly when Redis answers in one call);
//! * SRANDMEMBER / HRANDFIELD / ZRANDMEMBER replies are compared by shape
//!   (kind and length) and membership in the collection (and distinctness
//!   for positive counts);
//! * SPOP always pops the whole set (the count is chosen from SCARD), so
//!   both data sets stay identical.
//!
//! * `hand_written_*`: a list of edge cases ([`CASES`]).
//! * `random_stream_*`: a seeded random stream over a small key space mixing
//!   all types in several databases; set `REPLIKV_DIFF_SEED` and
//!   `REPLIKV_DIFF_OPS` to run another or a longer stream (defaults: seed 1,
//!   2500 ops). At the end every key of every database is compared value by
//!   value and with `DEBUG DIGEST`. `REPLIKV_DIFF_SKIP=CMD1,CMD2` leaves
//!   commands out (to look past a known divergence).
//! * `*_reference_vs_reference`: the same against two reference servers,
//!   proving the harness and the generated sequences are deterministic.
//!
//! Set `REPLIKV_DIFF_TRACE=1` to print every step with the reference reply.

use std::collections::{BTreeSet, VecDeque};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redis::Value;
use replikv_tests::{error_text, show_value, tokenize, Server, Side};

/// Both servers need DEBUG DIGEST.
const SERVER_ARGS: &[&str] = &["--enable-debug-command", "yes"];

/// How a step is run and its replies compared.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Check {
    /// Identical values.
    Exact,
    /// Arrays compared as multisets of elements.
    Unordered,
    /// Flat arrays of pairs compared as multisets of pairs.
    UnorderedPairs,
    /// Exact while the reference reports a compact encoding for `key`
    /// (asked first, and compared too), else as multisets (of pairs when
    /// `pairs`).
    ByEncoding { key: String, pairs: bool },
    /// The args are `CMD key [opts]` of HSCAN/SSCAN/ZSCAN: iterate to cursor
    /// 0 on both and compare the sets of items (pairs for HSCAN/ZSCAN).
    Scan,
    /// A random pick: same kind and length, every item (or pair) a member
    /// of what `universe` answers on the reference, distinct if `distinct`.
    Random {
        universe: Vec<String>,
        pairs: bool,
        distinct: bool,
    },
    /// The args are `SPOP key [extra]`: the count sent is SCARD + extra so
    /// the whole set is popped (without a count, SPOP is only sent when the
    /// set has at most one member); compared as multisets.
    SpopAll,
}

/// The outcome of one step on one side.
#[derive(Debug, Clone, PartialEq)]
enum Reply {
    Value(Value),
    /// Result of a scan iteration: the set of items (or pairs), plus the
    /// first reply when it already had cursor 0.
    Items(BTreeSet<Vec<Vec<u8>>>, Option<Value>),
    /// A step that was not sent (SPOP on a set with several members).
    Skipped,
    Failure(String),
}

fn show_reply(reply: &Reply) -> String {
    match reply {
        Reply::Value(v) => show_value(v),
        Reply::Items(items, _) => format!(
            "SCAN items {{{}}}",
            items
                .iter()
                .map(|i| i
                    .iter()
                    .map(|p| format!("{:?}", String::from_utf8_lossy(p)))
                    .collect::<Vec<_>>()
                    .join(" => "))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Reply::Skipped => "<not sent>".to_string(),
        Reply::Failure(f) => format!("<{f}>"),
    }
}

fn show_cmd(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| {
            let s = String::from_utf8_lossy(a);
            if s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '"' || c.is_control())
            {
                format!("{s:?}")
            } else if s.len() > 60 {
                format!("{}...({} bytes)", &s[..40], s.len())
            } else {
                s.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn to_reply(r: Result<Value, String>) -> Reply {
    match r {
        Ok(v) => Reply::Value(v),
        Err(e) => Reply::Failure(e),
    }
}

fn bytes_of(v: &Value) -> Vec<u8> {
    match v {
        Value::BulkString(b) => b.clone(),
        Value::SimpleString(s) => s.clone().into_bytes(),
        other => format!("{other:?}").into_bytes(),
    }
}

fn sort_key(v: &Value) -> String {
    format!("{v:?}")
}

/// The elements of an array reply (RESP2 sets arrive as arrays).
fn items(v: &Value) -> Option<&[Value]> {
    match v {
        Value::Array(x) | Value::Set(x) => Some(x),
        _ => None,
    }
}

/// Groups a flat array into pairs.
fn pairs_of(v: &[Value]) -> Vec<(String, String)> {
    v.chunks(2)
        .map(|p| {
            (
                p.first().map(sort_key).unwrap_or_default(),
                p.get(1).map(sort_key).unwrap_or_default(),
            )
        })
        .collect()
}

fn multiset_eq(a: &Value, b: &Value, pairs: bool) -> bool {
    match (items(a), items(b)) {
        (Some(x), Some(y)) => {
            if pairs {
                let mut x = pairs_of(x);
                let mut y = pairs_of(y);
                x.sort();
                y.sort();
                x == y
            } else {
                let mut x: Vec<String> = x.iter().map(sort_key).collect();
                let mut y: Vec<String> = y.iter().map(sort_key).collect();
                x.sort();
                y.sort();
                x == y
            }
        }
        _ => a == b,
    }
}

/// Iterates `CMD key cursor opts` to cursor 0 and returns the item set.
fn scan_all(side: &mut Side<'_>, args: &[Vec<u8>]) -> Reply {
    let pairs = !args[0].eq_ignore_ascii_case(b"sscan");
    let mut cursor = b"0".to_vec();
    let mut found = BTreeSet::new();
    let mut first = None;
    for round in 0..100_000 {
        let mut call = vec![args[0].clone(), args[1].clone(), cursor.clone()];
        call.extend(args[2..].iter().cloned());
        let value = match side.query(&call) {
            Ok(v) => v,
            Err(e) => return Reply::Failure(e),
        };
        let Value::Array(parts) = &value else {
            return if round == 0 {
                Reply::Value(value)
            } else {
                Reply::Failure(format!("unexpected scan reply {}", show_value(&value)))
            };
        };
        let (Some(Value::BulkString(next)), Some(Value::Array(batch))) =
            (parts.first(), parts.get(1))
        else {
            return Reply::Failure(format!("malformed scan reply {}", show_value(&value)));
        };
        if round == 0 && next.as_slice() == b"0" {
            first = Some(value.clone());
        }
        if pairs {
            for p in batch.chunks(2) {
                found.insert(p.iter().map(bytes_of).collect());
            }
        } else {
            for m in batch {
                found.insert(vec![bytes_of(m)]);
            }
        }
        if next.as_slice() == b"0" {
            return Reply::Items(found, first);
        }
        cursor = next.clone();
    }
    Reply::Failure("scan did not reach cursor 0 after 100000 calls".to_string())
}

/// Whether a Random step's subject reply is consistent with the reference.
fn random_ok(a: &Value, b: &Value, universe: &Value, pairs: bool, distinct: bool) -> bool {
    match (a, b) {
        (Value::BulkString(x), Value::BulkString(_)) => items(universe).is_some_and(|u| {
            u.iter()
                .any(|m| matches!(m, Value::BulkString(y) if y == x))
        }),
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return false;
            }
            let Some(u) = items(universe) else {
                return x.is_empty();
            };
            if pairs {
                let uni: BTreeSet<(String, String)> = pairs_of(u).into_iter().collect();
                let got = pairs_of(x);
                let set: BTreeSet<&(String, String)> = got.iter().collect();
                got.iter().all(|p| uni.contains(p)) && (!distinct || set.len() == got.len())
            } else {
                let uni: BTreeSet<String> = u.iter().map(sort_key).collect();
                let got: Vec<String> = x.iter().map(sort_key).collect();
                let set: BTreeSet<&String> = got.iter().collect();
                got.iter().all(|m| uni.contains(m)) && (!distinct || set.len() == got.len())
            }
        }
        _ => a == b,
    }
}

fn is_compact(encoding: &Value) -> bool {
    matches!(encoding, Value::BulkString(e) if e == b"listpack" || e == b"intset" || e == b"quicklist")
}

fn sargs(v: &[String]) -> Vec<Vec<u8>> {
    v.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// Two servers driven in lock step.
struct Pair<'a> {
    subject: Side<'a>,
    reference: Side<'a>,
    step: usize,
    history: VecDeque<String>,
    trace: bool,
}

impl<'a> Pair<'a> {
    fn new(subject: &'a Server, reference: &'a Server) -> Pair<'a> {
        Pair {
            subject: Side::new(subject, "subject"),
            reference: Side::new(reference, "reference"),
            step: 0,
            history: VecDeque::new(),
            trace: std::env::var_os("REPLIKV_DIFF_TRACE").is_some_and(|v| !v.is_empty()),
        }
    }

    fn record(&mut self, cmd: &str, b: &Reply) {
        let line = format!("  step {}: {cmd} -> {}", self.step, show_reply(b));
        if self.trace {
            eprintln!("{line}");
        }
        self.history.push_back(line);
        if self.history.len() > 25 {
            self.history.pop_front();
        }
    }

    fn mismatch(&self, cmd: &str, a: &Reply, b: &Reply) -> String {
        format!(
            "step {}: {cmd}\n    {} ({}): {}\n    {} ({}): {}",
            self.step,
            self.subject.name,
            self.subject.server.kind().name(),
            show_reply(a),
            self.reference.name,
            self.reference.server.kind().name(),
            show_reply(b),
        )
    }

    /// Sends `args` to both and compares under `check`; returns the
    /// reference reply and the mismatch description if any.
    fn run(&mut self, args: &[Vec<u8>], check: &Check) -> (Reply, Option<String>) {
        self.step += 1;
        let mut cmd = show_cmd(args);
        let (a, b, ok) = match check {
            Check::Exact => {
                let (a, b) = self.both(args);
                let ok = a == b && !matches!(a, Reply::Failure(_));
                (a, b, ok)
            }
            Check::Unordered | Check::UnorderedPairs => {
                let (a, b) = self.both(args);
                let ok = match (&a, &b) {
                    (Reply::Value(x), Reply::Value(y)) => {
                        multiset_eq(x, y, *check == Check::UnorderedPairs)
                    }
                    _ => false,
                };
                (a, b, ok)
            }
            Check::ByEncoding { key, pairs } => {
                let enc = vec![
                    b"OBJECT".to_vec(),
                    b"ENCODING".to_vec(),
                    key.as_bytes().to_vec(),
                ];
                let (ea, eb) = self.both(&enc);
                if ea != eb {
                    cmd = format!("{} (before {cmd})", show_cmd(&enc));
                    (ea, eb, false)
                } else {
                    let compact = matches!(&eb, Reply::Value(e) if is_compact(e));
                    let (a, b) = self.both(args);
                    let ok = match (&a, &b) {
                        (Reply::Value(x), Reply::Value(y)) if compact => x == y,
                        (Reply::Value(x), Reply::Value(y)) => multiset_eq(x, y, *pairs),
                        _ => false,
                    };
                    (a, b, ok)
                }
            }
            Check::Scan => {
                let enc = vec![b"OBJECT".to_vec(), b"ENCODING".to_vec(), args[1].clone()];
                let (ea, eb) = self.both(&enc);
                if ea != eb {
                    cmd = format!("{} (before {} <iterate>)", show_cmd(&enc), show_cmd(args));
                    (ea, eb, false)
                } else {
                    // A compact encoding answers in one call, in a defined order.
                    let compact = matches!(&eb, Reply::Value(e) if is_compact(e));
                    cmd = format!("{} <iterate>", show_cmd(args));
                    let a = scan_all(&mut self.subject, args);
                    let b = scan_all(&mut self.reference, args);
                    let ok = match (&a, &b) {
                        (Reply::Items(x, fx), Reply::Items(y, fy)) => {
                            x == y && (!compact || fx == fy)
                        }
                        (Reply::Value(x), Reply::Value(y)) => x == y,
                        _ => false,
                    };
                    (a, b, ok)
                }
            }
            Check::Random {
                universe,
                pairs,
                distinct,
            } => {
                let u = self.reference.query(&sargs(universe));
                let (a, b) = self.both(args);
                let ok = match (&a, &b, &u) {
                    (Reply::Value(x), Reply::Value(y), Ok(u)) => {
                        random_ok(x, y, u, *pairs, *distinct)
                    }
                    _ => false,
                };
                (a, b, ok)
            }
            Check::SpopAll => {
                let card = vec![b"SCARD".to_vec(), args[1].clone()];
                let (ca, cb) = self.both(&card);
                let n = match &cb {
                    Reply::Value(Value::Int(n)) => Some(*n),
                    _ => None,
                };
                if ca != cb {
                    cmd = format!("{} (before SPOP)", show_cmd(&card));
                    (ca, cb, false)
                } else if args.len() == 2 && n.is_some_and(|n| n > 1) {
                    (Reply::Skipped, Reply::Skipped, true)
                } else {
                    let mut call = args.to_vec();
                    if args.len() == 3 {
                        let extra: i64 = String::from_utf8_lossy(&args[2]).parse().unwrap_or(0);
                        call[2] = (n.unwrap_or(0) + extra).to_string().into_bytes();
                    }
                    cmd = show_cmd(&call);
                    let (a, b) = self.both(&call);
                    let ok = match (&a, &b) {
                        (Reply::Value(x), Reply::Value(y)) => multiset_eq(x, y, false),
                        _ => false,
                    };
                    (a, b, ok)
                }
            }
        };
        self.record(&cmd, &b);
        let mismatch = (!ok).then(|| self.mismatch(&cmd, &a, &b));
        (b, mismatch)
    }

    fn both(&mut self, args: &[Vec<u8>]) -> (Reply, Reply) {
        (
            to_reply(self.subject.query(args)),
            to_reply(self.reference.query(args)),
        )
    }
}

// ---------------------------------------------------------------------------
// Hand-written edge cases
// ---------------------------------------------------------------------------

/// One command per line. A line may start with a tag selecting the check:
/// `[unordered]`, `[pairs]` (unordered pairs), `[scan]` (iterate an
/// HSCAN/SSCAN/ZSCAN written without its cursor: `[scan] HSCAN key MATCH
/// x`), `[spop]` (see [`Check::SpopAll`]). `#` starts a comment line.
/// Tokens are separated by spaces; `"..."` quotes a token (escapes `\"`,
/// `\\`, `\n`, `\r`, `\t`, `\xHH`). `{X65}` expands to 65 `x`, `{N600}` to
/// the 600 integers 0..599 as separate tokens, `{M200}` to 200 members
/// `m0`..`m199`, `{ZM130}` to 130 `score member` pairs.
const CASES: &str = r#"
FLUSHALL
# ---------------------------------------------------------------- lists
LPUSH l a b c
RPUSH l d e
LRANGE l 0 -1
LRANGE l -100 100
LRANGE l 2 1
LRANGE l -1 -2
LRANGE l 5 10
LRANGE l 0 abc
LRANGE nokey 0 -1
LRANGE nokey abc 1
LPUSHX l x
RPUSHX l y
LPUSHX nolist x
RPUSHX nolist x
EXISTS nolist
LLEN l
LLEN nokey
LINDEX l 0
LINDEX l -1
LINDEX l 100
LINDEX l -100
LINDEX l abc
LINDEX nokey abc
LSET l 0 first
LSET l -1 last
LSET l 100 x
LSET l abc x
LSET nokey 0 x
LRANGE l 0 -1
LINSERT l BEFORE first before
LINSERT l after last after
LINSERT l AFTER nopivot x
LINSERT l middle first x
LINSERT nokey BEFORE a b
LINSERT nokey middle a b
LRANGE l 0 -1
RPUSH r a b a c a b a
LREM r 2 a
LRANGE r 0 -1
LREM r -1 a
LRANGE r 0 -1
LREM r 0 b
LRANGE r 0 -1
LREM r 0 zzz
LREM r abc a
LREM nokey 0 a
LREM r 0 a
LREM r 0 c
EXISTS r
RPUSH t 0 1 2 3 4 5 6 7 8 9
LTRIM t 2 -3
LRANGE t 0 -1
LTRIM t 1 1
LRANGE t 0 -1
LTRIM t 5 1
EXISTS t
LTRIM nokey 0 1
LTRIM t abc 1
RPUSH p a b c
LPOP p
RPOP p
LPOP p 0
LPOP p 5
EXISTS p
LPOP p
LPOP p 2
RPOP p 0
RPUSH p a b c d
RPOP p 2
LPOP p -1
LPOP p abc
LPOP p 1 2
RPOP p 1 2
LPOP p 9223372036854775807
RPUSH pos a b c 1 2 3 c c
LPOS pos c
LPOS pos c RANK 2
LPOS pos c RANK -1
LPOS pos c RANK -2 COUNT 0
LPOS pos c COUNT 0
LPOS pos c COUNT 2
LPOS pos c COUNT 0 MAXLEN 4
LPOS pos c RANK 5
LPOS pos c RANK 5 COUNT 1
LPOS pos c RANK 0
LPOS pos c COUNT -1
LPOS pos c MAXLEN -1
LPOS pos c COUNT abc
LPOS pos c RANK abc
LPOS pos c RANK -9223372036854775808
LPOS pos c RANK -9223372036854775808 COUNT 1
LPOS pos c RANK -9223372036854775808 COUNT 0
LPOS pos c RANK 9223372036854775807
LPOS pos c RANK -9223372036854775807 COUNT 2
LPOS pos c FOO
LPOS pos c RANK
LPOS nokey c
LPOS nokey c COUNT 0
LPOS pos zzz
LPOS pos zzz COUNT 0
RPUSH src 1 2 3
LMOVE src dst LEFT RIGHT
LMOVE src dst right left
LMOVE src dst LEFT MIDDLE
LMOVE src dst UP LEFT
LMOVE nokey dst LEFT LEFT
LRANGE src 0 -1
LRANGE dst 0 -1
LMOVE src src LEFT RIGHT
LRANGE src 0 -1
RPOPLPUSH src dst
RPOPLPUSH src dst
EXISTS src
RPOPLPUSH nokey dst
RPUSH one x
LMOVE one one LEFT LEFT
LRANGE one 0 -1
RPOPLPUSH one one
LRANGE one 0 -1
SET str v
LMOVE one str LEFT LEFT
LRANGE one 0 -1
LMOVE str one LEFT LEFT
RPOPLPUSH str one
LPUSH str a
RPUSH str a
LPUSHX str a
LLEN str
LRANGE str 0 -1
LINDEX str 0
LSET str 0 a
LINSERT str BEFORE a b
LREM str 0 a
LTRIM str 0 1
LPOP str
RPOP str 2
LPOS str a
RPUSH m1 a b c
RPUSH m2 x y
LMPOP 2 nokey m1 LEFT
LMPOP 2 nokey m1 RIGHT COUNT 10
EXISTS m1
LMPOP 2 m1 m2 LEFT COUNT 1
LMPOP 1 nokey LEFT
LMPOP 0 m2 LEFT
LMPOP -1 m2 LEFT
LMPOP abc m2 LEFT
LMPOP 3 m2 LEFT
LMPOP 1 m2 MIDDLE
LMPOP 1 m2 LEFT COUNT 0
LMPOP 1 m2 LEFT COUNT -1
LMPOP 1 m2 LEFT COUNT abc
LMPOP 1 m2 LEFT COUNT 1 COUNT 1
LMPOP 1 m2 LEFT FOO
LMPOP 1 m2 LEFT COUNT
LMPOP 2 str m2 LEFT
LMPOP 2 m2 str LEFT
LMPOP 1 m2
LMPOP 1
OBJECT ENCODING m2
RPUSH big {X65} {X65}
OBJECT ENCODING big
TYPE big
LPUSH
LPUSH l
LRANGE l 0
LINSERT l BEFORE a
LMOVE a b LEFT
# ---------------------------------------------------------------- hashes
HSET h f1 v1 f2 v2
HSET h f1 new f3 v3
HSET h f1
HSET h f1 v1 f2
HMSET h f4 v4
HMSET h f4
HSET h
HGETALL h
HKEYS h
HVALS h
HLEN h
HGET h f1
HGET h nofield
HGET nokey f
HMGET h f1 nofield f2
HMGET nokey a b
HEXISTS h f1
HEXISTS h nofield
HEXISTS nokey f
HSTRLEN h f1
HSTRLEN h nofield
HSTRLEN nokey f
HSETNX h f1 x
HSETNX h f5 v5
HSETNX newh f v
HGETALL h
HDEL h f1 f1 nofield f2
HDEL h nofield
HDEL nokey f
HGETALL h
HDEL newh f
EXISTS newh
HGETALL nokey
HKEYS nokey
HVALS nokey
HLEN nokey
OBJECT ENCODING h
HSET h f1 v1
HDEL h f3
HSET h f3 v3
HGETALL h
HSET h long {X65}
OBJECT ENCODING h
[pairs] HGETALL h
HSET h2 {X65} v
OBJECT ENCODING h2
HSETNX h3 f {X65}
OBJECT ENCODING h3
HINCRBY h3 {X65} 1
HINCRBY hi n 5
HINCRBY hi n -10
HINCRBY hi n abc
HINCRBY hi n 1.5
HINCRBY hi n 9223372036854775807
HINCRBY hi n -9223372036854775808
HGET hi n
HSET hi s abc
HINCRBY hi s 1
HSET hi big 9223372036854775807
HINCRBY hi big 1
HINCRBY hi big 0
HSET hi sp " 1"
HINCRBY hi sp 1
HINCRBYFLOAT hi f 10.5
HINCRBYFLOAT hi f 0.1
HINCRBYFLOAT hi f -5.0e3
HINCRBYFLOAT hf f 1e400
HINCRBYFLOAT hi f abc
HINCRBYFLOAT hi f inf
HINCRBYFLOAT hi f -inf
HINCRBYFLOAT hi f nan
HINCRBYFLOAT hi s 1
HINCRBYFLOAT hi s abc
HSET hf huge 1e308
HINCRBYFLOAT hf huge 1e308
OBJECT ENCODING hf
HINCRBYFLOAT hi n 0x10
HINCRBYFLOAT hi z 0
HINCRBYFLOAT nokeyf f 1.5
HGETALL hi
HGET nokeyf f
HINCRBYFLOAT hi f
HRANDFIELD nokey
HRANDFIELD nokey 5
HRANDFIELD nokey 5 WITHVALUES
HRANDFIELD hi 0
HRANDFIELD hi 100
HRANDFIELD hi 100 WITHVALUES
HRANDFIELD hi 100 withvalues
HRANDFIELD hi 1 WITHVALUE
HRANDFIELD hi 1 WITHVALUES x
HRANDFIELD hi abc
HRANDFIELD hi -9223372036854775808
HRANDFIELD hi 9223372036854775807 WITHVALUES
HRANDFIELD hi -4611686018427387904 WITHVALUES
HSET one1 only val
HRANDFIELD one1
HRANDFIELD one1 -3
HRANDFIELD one1 -3 WITHVALUES
HRANDFIELD one1 1 WITHVALUES
HRANDFIELD one1 5
[scan] HSCAN hi
[scan] HSCAN hi MATCH f*
[scan] HSCAN hi COUNT 1
[scan] HSCAN h COUNT 2
[scan] HSCAN h MATCH l*
HSCAN hi 0 COUNT 0
HSCAN hi 0 COUNT abc
HSCAN hi 0 TYPE string
HSCAN hi 0 MATCH
HSCAN hi abc
HSCAN hi -1
HSCAN hi 18446744073709551616
HSCAN nokey 0
HSCAN nokey 0 COUNT abc
HSCAN str 0
HSCAN str abc
HSET str f v
HGET str f
HMGET str f
HGETALL str
HDEL str f
HLEN str
HINCRBY str f 1
HINCRBY str f x
HINCRBYFLOAT str f 1
HRANDFIELD str
HRANDFIELD str 1
HSETNX str f v
HEXISTS str f
HSTRLEN str f
HKEYS str
HVALS str
# ---------------------------------------------------------------- sets
SADD s 3 1 2 3
SADD s 1
SMEMBERS s
OBJECT ENCODING s
SADD s a
OBJECT ENCODING s
[unordered] SMEMBERS s
SREM s a
OBJECT ENCODING s
SADD s2 a b c
OBJECT ENCODING s2
SADD si 5 -3 10 0 9223372036854775807 -9223372036854775808
SMEMBERS si
SADD si2 007 1
OBJECT ENCODING si2
SADD si3 1
SADD si3 " 2"
OBJECT ENCODING si3
SADD si4 {N600}
OBJECT ENCODING si4
SCARD si4
SADD si5 {N500}
OBJECT ENCODING si5
SCARD s
SCARD nokey
SISMEMBER s 1
SISMEMBER s 01
SISMEMBER s zz
SISMEMBER nokey a
SMISMEMBER s 1 2 zz 3
SMISMEMBER nokey a b
SREM s 1 1 2 zz
SREM nokey a
SMEMBERS s
SREM s 3
EXISTS s
SMEMBERS nokey
SADD a 1 2 3 4 x
SADD b 3 4 5 y
SADD c 4 5 6
[unordered] SINTER a b
[unordered] SINTER a b c
SINTER a nokey
SINTER nokey a
[unordered] SUNION a b c
[unordered] SUNION a nokey
SUNION nokey
[unordered] SDIFF a b
[unordered] SDIFF a b c
SDIFF nokey a
[unordered] SDIFF a nokey
SDIFF a a
SDIFF a b a
SADD n1 1 2 3
SADD n2 2 3 4
SINTER n1 n2
SUNION n1 n2
SDIFF n1 n2
SINTERSTORE d1 n1 n2
SMEMBERS d1
OBJECT ENCODING d1
SUNIONSTORE d2 n1 n2
SMEMBERS d2
SDIFFSTORE d3 n1 n2
SMEMBERS d3
SINTERSTORE d3 n1 nokey
EXISTS d3
SINTERSTORE d3 n1 nokey
SUNIONSTORE d4 a b
OBJECT ENCODING d4
SCARD d4
SDIFFSTORE d4 a a
EXISTS d4
SDIFFSTORE d5 b a
[unordered] SMEMBERS d5
OBJECT ENCODING d5
SADD bigdiff x {N600}
SADD smalld 1
SDIFFSTORE d6 bigdiff smalld
OBJECT ENCODING d6
SCARD d6
SADD mixed x 1 2 3
SADD tiny x
SDIFFSTORE d7 mixed tiny
OBJECT ENCODING d7
SMEMBERS d7
SET dstr v
SINTERSTORE dstr n1 n2
TYPE dstr
SET dstr v
SUNIONSTORE dstr nokey
EXISTS dstr
EXPIRE d1 1000
SINTERSTORE d1 n1 n2
TTL d1
SINTERCARD 2 a b
SINTERCARD 2 a b LIMIT 1
SINTERCARD 2 a b LIMIT 0
SINTERCARD 3 a b c
SINTERCARD 1 nokey
SINTERCARD 0 a
SINTERCARD -1 a
SINTERCARD abc a
SINTERCARD 3 a b
SINTERCARD 2 a b LIMIT -1
SINTERCARD 2 a b LIMIT abc
SINTERCARD 2 a b FOO
SINTERCARD 2 a b LIMIT
SINTERCARD 2 a str
SINTERCARD 2 nokey str
SADD mv1 a b
SMOVE mv1 mv2 a
SMOVE mv1 mv2 zz
SMOVE mv1 mv2 b
EXISTS mv1
[unordered] SMEMBERS mv2
SMOVE nokey mv2 a
SMOVE mv2 mv2 a
SMOVE mv2 mv2 zz
SMOVE mv2 str a
SMOVE str mv2 a
SMOVE nokey str a
SADD iv 1 2
SMOVE iv ivd 1
OBJECT ENCODING ivd
SMOVE mv2 iv a
OBJECT ENCODING iv
SADD sp 5
SPOP sp
EXISTS sp
SPOP sp
SPOP sp 5
SPOP nokey
SPOP nokey 0
SPOP nokey 3
SADD sp 1 2 3
SPOP sp 0
SPOP sp -1
SPOP sp abc
SPOP sp 1 2
[spop] SPOP sp 0
EXISTS sp
SADD sp2 a b c
[spop] SPOP sp2 5
SADD sp3 9 8 7
SPOP sp3 3
SPOP str
SPOP str 1
SADD rm 42
SRANDMEMBER rm
SRANDMEMBER rm -5
SRANDMEMBER rm 5
SRANDMEMBER rm 0
SRANDMEMBER rm abc
SRANDMEMBER rm -9223372036854775808
SRANDMEMBER rm 1 2
SRANDMEMBER nokey
SRANDMEMBER nokey 5
SRANDMEMBER nokey abc
SRANDMEMBER n1 10
SRANDMEMBER str
SRANDMEMBER str 1
[scan] SSCAN n1
[scan] SSCAN a
[scan] SSCAN a MATCH [0-9]
[scan] SSCAN si4 COUNT 7
[scan] SSCAN si4 MATCH 1*
SSCAN n1 0 COUNT 0
SSCAN n1 0 FOO bar
SSCAN n1 abc
SSCAN nokey 0
SSCAN str 0
SADD str a
SREM str a
SMEMBERS str
SISMEMBER str a
SMISMEMBER str a
SCARD str
SINTER str
SINTER nokey str
SUNION a str
SDIFF nokey str
SDIFF str
SINTERSTORE x str
SUNIONSTORE x a str
SADD
SADD s
SISMEMBER s
SMOVE a b
# ---------------------------------------------------------------- sorted sets
ZADD z 1 a 2 b 3 c
ZADD z 1 a
ZADD z CH 5 a 2 b
ZADD z NX 10 a 10 d
ZADD z XX 20 a 20 e
ZADD z GT 1 a
ZADD z GT 30 a
ZADD z LT 100 a
ZADD z LT 0 a
ZADD z GT CH 5 a 50 b
ZADD z XX GT 60 a
ZADD z INCR 5 a
ZADD z INCR NX 5 a
ZADD z INCR XX 5 nomember
ZADD z INCR GT -100 a
ZADD z INCR LT -1 a
ZADD z INCR 1 a 2 b
ZADD z NX XX 1 a
ZADD z GT LT 1 a
ZADD z GT NX 1 a
ZADD z LT NX 1 a
ZADD z 1
ZADD z 1 a 2
ZADD z NX
ZADD z abc a
ZADD z 1 a abc b
ZADD z nan a
ZADD z 1 a FOO 2
ZADD z xx 1
ZADD noz XX 1 a
ZADD noz XX INCR 1 a
EXISTS noz
ZRANGE z 0 -1 WITHSCORES
ZADD z -inf neg +inf pos inf pos2 -0 zero 0x10 hex 1e3 sci 1.5 f .5 half
ZRANGE z 0 -1 WITHSCORES
ZSCORE z zero
ZSCORE z hex
ZADD z INCR +inf neg
ZADD z INCR -inf pos
ZINCRBY z +inf neg
ZINCRBY z 1 newm
ZINCRBY z abc newm
ZINCRBY z 1
ZINCRBY z nx 1
ZINCRBY z 0.1 f
ZINCRBY z 0.2 f
ZSCORE z f
ZADD z " 1" sp
ZADD z "1 " sp
ZADD z 1e400 sp
ZADD z 1e-400 sp
ZADD z "" sp
ZADD z 4e-320 tiny
ZSCORE z tiny
ZCARD z
ZCARD nokey
ZSCORE z a
ZSCORE z nomember
ZSCORE nokey a
ZMSCORE z a nomember b
ZMSCORE nokey a b
ZRANK z a
ZRANK z nomember
ZRANK nokey a
ZREVRANK z a
ZREVRANK z neg
ZREM z a nomember b b
ZREM nokey a
ZREM z
ZRANGE z 0 -1
ZRANGE z 0 -1 WITHSCORES
ZRANGE z 2 5
ZRANGE z -3 -1 WITHSCORES
ZRANGE z 5 2
ZRANGE z 0 100
ZRANGE z -100 -50
ZRANGE z abc 1
ZRANGE z 0 -1 REV
ZRANGE z 0 2 REV WITHSCORES
ZRANGE z 0 -1 LIMIT 0 1
ZRANGE z 0 -1 FOO
ZRANGE z 0 -1 WITHSCORES WITHSCORES
ZRANGE z (1 3 BYSCORE
ZRANGE z -inf +inf BYSCORE WITHSCORES
ZRANGE z (1.5 +inf BYSCORE LIMIT 1 2
ZRANGE z +inf -inf BYSCORE REV
ZRANGE z +inf -inf BYSCORE REV LIMIT 0 2 WITHSCORES
ZRANGE z 0 -1 BYSCORE BYLEX
ZRANGE z - + BYLEX
ZRANGE z - + BYLEX WITHSCORES
ZRANGE z abc def BYSCORE
ZRANGE z abc def BYLEX
ZRANGE z 0 1 BYSCORE LIMIT
ZRANGE z 0 1 BYSCORE LIMIT 0
ZRANGE z 0 1 BYSCORE LIMIT a b
ZRANGE z -inf +inf BYSCORE LIMIT -1 2
ZRANGE z -inf +inf BYSCORE LIMIT 2 -1
ZRANGE z -inf +inf BYSCORE LIMIT 100 1
ZRANGE z -inf +inf BYSCORE LIMIT 0 0
ZRANGE nokey 0 -1
ZRANGE nokey abc 1
ZRANGE nokey 0 1 FOO
ZREVRANGE z 0 -1 WITHSCORES
ZREVRANGE z 0 1
ZREVRANGE z 0 1 REV
ZREVRANGE z 0 1 BYSCORE
ZRANGEBYSCORE z -inf +inf
ZRANGEBYSCORE z -inf +inf WITHSCORES
ZRANGEBYSCORE z (1 (3
ZRANGEBYSCORE z 3 1
ZRANGEBYSCORE z (3 3
ZRANGEBYSCORE z 3 (3
ZRANGEBYSCORE z 3 3
ZRANGEBYSCORE z -inf +inf LIMIT 1 2
ZRANGEBYSCORE z -inf +inf LIMIT 1 -1 WITHSCORES
ZRANGEBYSCORE z abc 1
ZRANGEBYSCORE z 1 abc
ZRANGEBYSCORE z ((1 2
ZRANGEBYSCORE z [1 2
ZRANGEBYSCORE z "" 10
ZRANGEBYSCORE z ( 10
ZRANGEBYSCORE z " 1" 10
ZRANGEBYSCORE z 1e400 -1e400
ZRANGEBYSCORE z -1e400 1e400
ZRANGEBYSCORE z 0x1 0x10
ZRANGEBYSCORE z nan 1
ZRANGEBYSCORE z -inf +inf BYSCORE
ZRANGEBYSCORE z -inf +inf REV
ZREVRANGEBYSCORE z +inf -inf
ZREVRANGEBYSCORE z +inf -inf WITHSCORES LIMIT 1 3
ZREVRANGEBYSCORE z (3 (1
ZREVRANGEBYSCORE z 1 3
ZCOUNT z -inf +inf
ZCOUNT z (1 3
ZCOUNT z 3 1
ZCOUNT z abc 1
ZCOUNT nokey 0 1
ZCOUNT nokey abc 1
ZADD lz 0 a 0 b 0 c 0 d 0 e 0 f
ZRANGEBYLEX lz - +
ZRANGEBYLEX lz [b (e
ZRANGEBYLEX lz (b [e
ZRANGEBYLEX lz [b [b
ZRANGEBYLEX lz (b (b
ZRANGEBYLEX lz + -
ZRANGEBYLEX lz - -
ZRANGEBYLEX lz + +
ZRANGEBYLEX lz [a +
ZRANGEBYLEX lz - + LIMIT 1 2
ZRANGEBYLEX lz - + LIMIT -1 2
ZRANGEBYLEX lz - + LIMIT 2 -1
ZRANGEBYLEX lz - + LIMIT 0 0
ZRANGEBYLEX lz a b
ZRANGEBYLEX lz [a b
ZRANGEBYLEX lz [a +b
ZRANGEBYLEX lz "" +
ZRANGEBYLEX lz [ +
ZRANGEBYLEX lz ( +
ZRANGEBYLEX lz - + WITHSCORES
ZRANGEBYLEX nokey - +
ZRANGEBYLEX nokey a b
ZREVRANGEBYLEX lz + -
ZREVRANGEBYLEX lz [e (b
ZREVRANGEBYLEX lz - +
ZREVRANGEBYLEX lz + - LIMIT 1 2
ZLEXCOUNT lz - +
ZLEXCOUNT lz [b (e
ZLEXCOUNT lz + -
ZLEXCOUNT lz a b
ZLEXCOUNT nokey - +
ZRANGE lz (b [d BYLEX
ZRANGE lz [d (b BYLEX REV
ZRANGE lz - + BYLEX LIMIT 2 2
ZADD mixlex 5 a 1 b 3 c 2 d 4 e
ZRANGEBYLEX mixlex - +
ZRANGEBYLEX mixlex [b [d
ZRANGEBYLEX mixlex [c +
ZREVRANGEBYLEX mixlex [d [b
ZREVRANGEBYLEX mixlex (e -
ZLEXCOUNT mixlex [b [d
ZLEXCOUNT mixlex [c +
ZREMRANGEBYLEX mixlex [c [d
ZRANGE mixlex 0 -1 WITHSCORES
ZADD rr 1 a 2 b 3 c 4 d 5 e 6 f
ZREMRANGEBYRANK rr 0 0
ZREMRANGEBYRANK rr -2 -1
ZREMRANGEBYRANK rr 5 10
ZREMRANGEBYRANK rr abc 1
ZRANGE rr 0 -1
ZREMRANGEBYSCORE rr (2 3
ZREMRANGEBYSCORE rr abc 3
ZREMRANGEBYSCORE rr 10 1
ZRANGE rr 0 -1
ZREMRANGEBYLEX lz [b (d
ZREMRANGEBYLEX lz a b
ZREMRANGEBYLEX lz + -
ZRANGE lz 0 -1
ZREMRANGEBYLEX lz - +
EXISTS lz
ZREMRANGEBYRANK nokey 0 1
ZREMRANGEBYSCORE nokey 0 1
ZREMRANGEBYLEX nokey - +
ZREMRANGEBYRANK rr 0 -1
EXISTS rr
ZADD pz 1 a 2 b 3 c 4 d
ZPOPMIN pz
ZPOPMAX pz
ZPOPMIN pz 0
ZPOPMIN pz -1
ZPOPMIN pz abc
ZPOPMIN pz 1 2
ZPOPMAX pz 10
EXISTS pz
ZPOPMIN pz
ZPOPMIN pz 2
ZPOPMIN nokey 0
ZPOPMAX str
ZPOPMAX str 0
ZADD mp1 1 a 2 b 3 c
ZMPOP 2 nokey mp1 MIN
ZMPOP 1 mp1 MAX COUNT 10
EXISTS mp1
ZMPOP 1 mp1 MIN
ZMPOP 0 mp1 MIN
ZMPOP 2 mp1 MIN
ZMPOP 1 mp1 MIDDLE
ZMPOP 1 mp1 MIN COUNT 0
ZMPOP 1 mp1 MIN COUNT abc
ZMPOP 1 mp1 MIN COUNT 1 COUNT 2
ZMPOP 2 str mp1 MIN
ZMPOP 1 mp1
ZADD u1 1 a 2 b 3 c
ZADD u2 10 b 20 c 30 d
SADD us b d e
ZUNION 2 u1 u2
ZUNION 2 u1 u2 WITHSCORES
ZUNION 3 u1 u2 us WITHSCORES
ZUNION 2 u1 u2 WEIGHTS 2 0.5 WITHSCORES
ZUNION 2 u1 u2 AGGREGATE MIN WITHSCORES
ZUNION 2 u1 u2 AGGREGATE max WITHSCORES
ZUNION 2 u1 u2 AGGREGATE avg
ZUNION 2 u1 u2 WEIGHTS 1
ZUNION 2 u1 u2 WEIGHTS 1 abc
ZUNION 2 u1 u2 WEIGHTS 1 nan
ZUNION 2 u1 u2 AGGREGATE
ZUNION 2 u1 u2 FOO
ZUNION 0 u1
ZUNION -1 u1
ZUNION abc u1
ZUNION 3 u1 u2
ZUNION 2 u1 str
ZUNION 2 str nokey WEIGHTS x y
ZUNION 1 nokey
ZINTER 2 u1 u2 WITHSCORES
ZINTER 3 u1 u2 us WITHSCORES
ZINTER 2 u1 u2 WEIGHTS 1 -1 AGGREGATE SUM WITHSCORES
ZINTER 2 u1 nokey
ZINTER 2 u1 u1 WITHSCORES
ZDIFF 2 u1 u2 WITHSCORES
ZDIFF 2 u2 us WITHSCORES
ZDIFF 2 u1 u1
ZDIFF 1 u1 WEIGHTS 1
ZDIFF 2 nokey u1
ZDIFF 1 u1 AGGREGATE SUM
ZADD infz 1 a
ZADD infz2 +inf a
ZADD infz3 -inf a
ZUNION 3 infz infz2 infz3 WITHSCORES
ZINTER 2 infz2 infz3 WITHSCORES
ZUNION 2 infz2 infz3 WEIGHTS 0 1 WITHSCORES
ZUNIONSTORE ud 2 u1 u2
ZRANGE ud 0 -1 WITHSCORES
ZINTERSTORE ud 2 u1 u2 WEIGHTS 2 3
ZRANGE ud 0 -1 WITHSCORES
ZDIFFSTORE ud 2 u1 u2
ZRANGE ud 0 -1 WITHSCORES
ZINTERSTORE ud 2 u1 nokey
EXISTS ud
ZINTERSTORE ud 2 u1 nokey
ZUNIONSTORE ud 2 u1 u2 WITHSCORES
ZUNIONSTORE ud 0 u1
ZDIFFSTORE ud 1 u1 WEIGHTS 2
ZUNIONSTORE str2 1 u1
SET str2 x
ZUNIONSTORE str2 1 u1
TYPE str2
ZINTERCARD 2 u1 u2
ZINTERCARD 2 u1 u2 LIMIT 1
ZINTERCARD 2 u1 u2 LIMIT -1
ZINTERCARD 2 u1 u2 WITHSCORES
ZINTERCARD 0 u1
ZINTERCARD 1 nokey
ZRANGESTORE rs z 0 2
ZRANGE rs 0 -1 WITHSCORES
ZRANGESTORE rs z -inf 0 BYSCORE
ZRANGE rs 0 -1 WITHSCORES
ZRANGESTORE rs lz2 - + BYLEX
ZRANGESTORE rs z 10 20
EXISTS rs
ZRANGESTORE rs z 0 1 WITHSCORES
ZRANGESTORE rs nokey 0 1
ZRANGESTORE rs str 0 1
ZRANGESTORE rs z 0 -1 REV
ZRANGE rs 0 -1
ZRANGESTORE rs z (1 +inf BYSCORE LIMIT 1 2
ZRANGE rs 0 -1 WITHSCORES
ZADD zneg -0 a
ZSCORE zneg a
ZRANGE zneg 0 -1 WITHSCORES
ZSCAN zneg 0
ZADD zbig 1 {X65}
OBJECT ENCODING zbig
ZADD zbig -0 negzero 1e17 big 0.1 tenth
ZSCORE zbig negzero
[scan] ZSCAN zbig
ZADD zbig2 1e17 big 0.1 tenth -0 negzero 2 two
ZSCAN zbig2 0
ZUNIONSTORE zback 1 zbig2
OBJECT ENCODING zback
ZSCORE zback negzero
ZUNIONSTORE zback2 2 zbig zbig2
OBJECT ENCODING zback2
ZADD zmany {ZM130}
OBJECT ENCODING zmany
ZCARD zmany
ZRANGE zmany 60 70 WITHSCORES
ZRANGE zmany 0 5 REV
ZRANK zmany m100
ZREVRANK zmany m100
ZCOUNT zmany 10 20
ZRANGEBYSCORE zmany (50 60 LIMIT 2 3
ZREMRANGEBYRANK zmany 0 9
ZREMRANGEBYSCORE zmany 100 +inf
ZCARD zmany
OBJECT ENCODING zmany
[scan] ZSCAN zmany COUNT 5
[scan] ZSCAN zmany MATCH m1*
ZRANGESTORE zsmall zmany 0 9
OBJECT ENCODING zsmall
ZRANGESTORE zlarge zmany 0 -1
OBJECT ENCODING zlarge
ZRANGESTORE zlarge2 zmany -inf +inf BYSCORE
OBJECT ENCODING zlarge2
ZUNIONSTORE zu 1 zmany
OBJECT ENCODING zu
ZRANDMEMBER nokey
ZRANDMEMBER nokey 5
ZRANDMEMBER u1 0
ZRANDMEMBER u1 10
ZRANDMEMBER u1 10 WITHSCORES
ZRANDMEMBER u1 abc
ZRANDMEMBER u1 1 WITHSCORE
ZRANDMEMBER u1 1 WITHSCORES x
ZRANDMEMBER u1 9223372036854775807 WITHSCORES
ZADD zone 7 only
ZRANDMEMBER zone
ZRANDMEMBER zone -3 WITHSCORES
ZRANDMEMBER zone -2
ZRANDMEMBER str
[scan] ZSCAN u1
[scan] ZSCAN u1 MATCH a
ZSCAN u1 0 COUNT 0
ZSCAN u1 abc
ZSCAN nokey 0
ZSCAN str 0
ZADD str 1 a
ZINCRBY str 1 a
ZREM str a
ZSCORE str a
ZMSCORE str a
ZCARD str
ZRANK str a
ZRANGE str 0 -1
ZRANGEBYSCORE str 0 1
ZRANGEBYLEX str - +
ZCOUNT str 0 1
ZLEXCOUNT str - +
ZREMRANGEBYRANK str 0 1
ZREMRANGEBYSCORE str 0 1
ZREMRANGEBYLEX str - +
ZRANGEBYSCORE str abc 1
ZADD
ZADD z
ZRANGE z 0
ZUNIONSTORE a 1
# ---------------------------------------------------------------- generic commands on every type
TYPE l
TYPE h
TYPE a
TYPE z
TYPE nokey
OBJECT ENCODING l
OBJECT ENCODING h
OBJECT ENCODING a
OBJECT ENCODING n1
OBJECT ENCODING z
COPY l lcopy
LRANGE lcopy 0 -1
COPY h hcopy
[pairs] HGETALL hcopy
OBJECT ENCODING hcopy
COPY n1 scopy
SMEMBERS scopy
COPY z zcopy
ZRANGE zcopy 0 -1 WITHSCORES
OBJECT ENCODING zcopy
COPY zmany zmcopy
OBJECT ENCODING zmcopy
RENAME zcopy zren
ZRANGE zren 0 -1 WITHSCORES
EXISTS zcopy
MOVE zren 1
SELECT 1
ZRANGE zren 0 -1
TYPE zren
SELECT 0
DEL l h a z
EXISTS l h a z
[scan] HSCAN hi TYPE hash
FLUSHALL
"#;

/// A parsed line of [`CASES`].
struct Case {
    line: usize,
    check: Check,
    args: Vec<Vec<u8>>,
}

fn parse_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (index, raw) in CASES.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (check, rest) = if let Some(rest) = line.strip_prefix("[unordered]") {
            (Check::Unordered, rest)
        } else if let Some(rest) = line.strip_prefix("[pairs]") {
            (Check::UnorderedPairs, rest)
        } else if let Some(rest) = line.strip_prefix("[scan]") {
            (Check::Scan, rest)
        } else if let Some(rest) = line.strip_prefix("[spop]") {
            (Check::SpopAll, rest)
        } else {
            (Check::Exact, line)
        };
        let numbers = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(" ");
        let expanded = rest
            .replace("{X65}", &"x".repeat(65))
            .replace("{N600}", &numbers(600))
            .replace("{N500}", &numbers(500))
            .replace(
                "{M200}",
                &(0..200)
                    .map(|i| format!("m{i}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            )
            .replace(
                "{ZM130}",
                &(0..130)
                    .map(|i| format!("{i} m{i}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        cases.push(Case {
            line: index + 1,
            check,
            args: tokenize(&expanded)
                .unwrap_or_else(|e| panic!("bad CASES line {}: {e}: {raw}", index + 1)),
        });
    }
    cases
}

/// Whether the subject supports `cmd` (anything but "ERR unknown command").
fn supports(side: &mut Side<'_>, args: &[&str]) -> bool {
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    match side.query(&args) {
        Ok(v) => !error_text(&v).is_some_and(|e| e.starts_with("ERR unknown command")),
        Err(_) => false,
    }
}

fn run_hand_written(subject: &Server, reference: &Server) {
    let cases = parse_cases();
    let mut pair = Pair::new(subject, reference);
    assert!(
        supports(&mut pair.subject, &["ZCARD", "__probe__"]),
        "the subject does not implement the data-type commands"
    );
    let mut mismatches = Vec::new();
    for case in &cases {
        let (_, mismatch) = pair.run(&case.args, &case.check);
        if let Some(m) = mismatch {
            mismatches.push(format!("CASES line {}, {m}", case.line));
        }
        if !pair.subject.alive() {
            mismatches.push(format!(
                "the subject server died after CASES line {}; log tail:\n{}",
                case.line,
                subject.log_tail()
            ));
            break;
        }
        assert!(
            pair.reference.alive(),
            "the reference server died after CASES line {}",
            case.line
        );
    }
    eprintln!(
        "{} hand-written cases run, {} mismatches",
        cases.len(),
        mismatches.len()
    );
    if !mismatches.is_empty() {
        let shown: Vec<&String> = mismatches.iter().take(150).collect();
        panic!(
            "{} of {} hand-written cases differ from the reference:\n{}{}",
            mismatches.len(),
            cases.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            if mismatches.len() > shown.len() {
                format!("\n... and {} more", mismatches.len() - shown.len())
            } else {
                String::new()
            }
        );
    }
}

#[test]
fn hand_written_cases_replikv_vs_redis() {
    let reference = Server::redis(SERVER_ARGS);
    let subject = Server::replikv(SERVER_ARGS);
    run_hand_written(&subject, &reference);
}

#[test]
fn hand_written_cases_reference_vs_reference() {
    let a = Server::redis(SERVER_ARGS);
    let b = Server::redis(SERVER_ARGS);
    run_hand_written(&a, &b);
}

#[test]
fn case_parser() {
    assert_eq!(
        tokenize(r#"ZADD "a b" "" "\x00\r\n\\\"" x"#).unwrap(),
        vec![
            b"ZADD".to_vec(),
            b"a b".to_vec(),
            b"".to_vec(),
            b"\x00\r\n\\\"".to_vec(),
            b"x".to_vec()
        ]
    );
    let cases = parse_cases();
    assert!(cases.iter().any(|c| c.check == Check::Scan));
    assert!(cases.iter().any(|c| c.args.len() == 602));
}

// ---------------------------------------------------------------------------
// Random stream
// ---------------------------------------------------------------------------

/// Keys per group: commands of a type mostly use their group's keys
/// (`l0`.., `h0`.., `s0`.., `z0`..), sometimes any key (wrong types).
const NUM_KEYS: u32 = 4;
/// Keys only ever holding sorted sets whose scores are all equal, for the
/// lex range commands (Redis's answer is only specified then, or while the
/// set is compact).
const NUM_LEX_KEYS: u32 = 3;
const NUM_DBS: u32 = 3;

/// Random command generator.
struct Gen {
    rng: StdRng,
    /// The key group of the command being generated (`l`, `h`, `s`, `z`,
    /// or `*` for any).
    group: char,
}

type Step = (Check, Vec<String>);

impl Gen {
    fn pick<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items[self.rng.gen_range(0..items.len())]
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.rng.gen_range(0..100) < percent
    }

    fn key(&mut self) -> String {
        let group = if self.group == '*' || self.chance(12) {
            *['l', 'h', 's', 'z']
                .get(self.rng.gen_range(0..4))
                .unwrap_or(&'l')
        } else {
            self.group
        };
        format!("{group}{}", self.rng.gen_range(0..NUM_KEYS))
    }

    fn lex_key(&mut self) -> String {
        format!("lk{}", self.rng.gen_range(0..NUM_LEX_KEYS))
    }

    fn keys(&mut self, max: usize) -> Vec<String> {
        let n = self.rng.gen_range(1..=max);
        (0..n).map(|_| self.key()).collect()
    }

    /// A member / field / element: small pools so commands collide, some
    /// integers (intsets), rarely a long one (encoding conversions).
    fn member(&mut self) -> String {
        match self.rng.gen_range(0..20) {
            0..=7 => self.rng.gen_range(0..12).to_string(),
            8..=16 => self
                .pick(&["a", "b", "c", "d", "e", "f", "g", "h", "aa", "ab"])
                .to_string(),
            17 => self
                .pick(&[
                    "",
                    "-1",
                    "007",
                    "-0",
                    "9223372036854775807",
                    " 1",
                    "a b",
                    "1.5",
                ])
                .to_string(),
            18 => format!("m{}", self.rng.gen_range(0..40)),
            _ => {
                if self.chance(30) {
                    "L".repeat(65)
                } else {
                    format!("w{}", self.rng.gen_range(0..5))
                }
            }
        }
    }

    fn members(&mut self, max: usize) -> Vec<String> {
        let n = self.rng.gen_range(1..=max);
        (0..n).map(|_| self.member()).collect()
    }

    fn value(&mut self) -> String {
        match self.rng.gen_range(0..10) {
            0..=3 => self.rng.gen_range(-20i64..100).to_string(),
            4 => self
                .pick(&["1.5", "-0.25", "3.0e3", "0.1", "1e308", "abc", ""])
                .to_string(),
            5 if self.chance(20) => "V".repeat(70),
            _ => format!("v{}", self.rng.gen_range(0..20)),
        }
    }

    fn score(&mut self) -> String {
        match self.rng.gen_range(0..12) {
            0..=5 => self.rng.gen_range(-5i64..15).to_string(),
            6..=7 => format!("{:.2}", self.rng.gen_range(-5.0f64..15.0)),
            8 => self
                .pick(&["-inf", "+inf", "inf", "-0", "0x10", "1e3", ".5", "1e17"])
                .to_string(),
            9 => self.pick(&["abc", "nan", "", " 1", "1e400"]).to_string(),
            _ => self.pick(&["0.1", "0.2", "0.3", "1.1", "2.5"]).to_string(),
        }
    }

    fn bound(&mut self) -> String {
        match self.rng.gen_range(0..10) {
            0 => self.pick(&["-inf", "+inf", "(-inf", "(+inf"]).to_string(),
            1 => self.pick(&["abc", "[1", "((1", "nan"]).to_string(),
            2..=4 => format!("({}", self.rng.gen_range(-5i64..15)),
            _ => self.rng.gen_range(-5i64..15).to_string(),
        }
    }

    fn lex_bound(&mut self) -> String {
        match self.rng.gen_range(0..10) {
            0 => self.pick(&["-", "+"]).to_string(),
            1 => self.pick(&["a", "", "+x", "[", "("]).to_string(),
            2..=5 => format!("[{}", self.member()),
            _ => format!("({}", self.member()),
        }
    }

    fn index(&mut self) -> String {
        if self.chance(4) {
            return self
                .pick(&["abc", "9223372036854775807", "-9223372036854775808", "1.5"])
                .to_string();
        }
        self.rng.gen_range(-8i64..8).to_string()
    }

    fn count(&mut self) -> String {
        if self.chance(5) {
            return self
                .pick(&["abc", "-1", "0", "9223372036854775807"])
                .to_string();
        }
        self.rng.gen_range(1i64..6).to_string()
    }

    fn db(&mut self) -> String {
        if self.chance(3) {
            return self.pick(&["16", "-1"]).to_string();
        }
        self.rng.gen_range(0..NUM_DBS).to_string()
    }

    fn pattern(&mut self) -> String {
        self.pick(&["*", "a*", "?", "[0-5]", "*b*", "m1*", "nomatch"])
            .to_string()
    }

    fn scan_opts(&mut self) -> Vec<String> {
        let mut o = Vec::new();
        if self.chance(40) {
            o.extend(["MATCH".to_string(), self.pattern()]);
        }
        if self.chance(40) {
            o.extend(["COUNT".to_string(), self.rng.gen_range(1..5).to_string()]);
        }
        if self.chance(3) {
            o.push(self.pick(&["COUNT", "TYPE", "FOO"]).to_string());
        }
        o
    }

    fn next(&mut self) -> Vec<Step> {
        let roll = self.rng.gen_range(0..1000);
        self.group = match roll {
            0..=161 => 'l',
            162..=324 => 'h',
            325..=504 => 's',
            505..=767 => 'z',
            _ => '*',
        };
        let k = self.key();
        // Now and then reset a typed key so wrong types do not pile up.
        let reset = self.group != '*' && self.chance(4);
        let mut steps = self.step(roll, k.clone());
        if reset {
            steps.insert(0, (Check::Exact, vec!["DEL".to_string(), k]));
        }
        steps
    }

    fn step(&mut self, roll: u32, k: String) -> Vec<Step> {
        use Check::*;
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
        let one = |check: Check, args: Vec<String>| vec![(check, args)];
        match roll {
            // ---- lists
            0..=39 => {
                let cmd = self.pick(&["LPUSH", "RPUSH", "LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]);
                let mut a = s(&[cmd, &k]);
                a.extend(self.members(4));
                one(Exact, a)
            }
            40..=59 => {
                let cmd = self.pick(&["LPOP", "RPOP"]);
                let mut a = s(&[cmd, &k]);
                if self.chance(50) {
                    a.push(self.count());
                }
                one(Exact, a)
            }
            60..=79 => {
                let (a, b) = (self.index(), self.index());
                one(Exact, s(&["LRANGE", &k, &a, &b]))
            }
            80..=89 => one(Exact, s(&["LLEN", &k])),
            90..=99 => {
                let i = self.index();
                one(Exact, s(&["LINDEX", &k, &i]))
            }
            100..=107 => {
                let (i, v) = (self.index(), self.member());
                one(Exact, s(&["LSET", &k, &i, &v]))
            }
            108..=115 => {
                let w = self.pick(&["BEFORE", "AFTER", "before", "MIDDLE"]);
                let (p, v) = (self.member(), self.member());
                one(Exact, s(&["LINSERT", &k, w, &p, &v]))
            }
            116..=125 => {
                let (n, v) = (self.rng.gen_range(-3i64..4).to_string(), self.member());
                one(Exact, s(&["LREM", &k, &n, &v]))
            }
            126..=131 => {
                let (a, b) = (self.index(), self.index());
                one(Exact, s(&["LTRIM", &k, &a, &b]))
            }
            132..=141 => {
                let v = self.member();
                let mut a = s(&["LPOS", &k, &v]);
                if self.chance(40) {
                    a.extend([
                        "RANK".to_string(),
                        self.pick(&["1", "2", "-1", "-2", "0"]).to_string(),
                    ]);
                }
                if self.chance(40) {
                    a.extend([
                        "COUNT".to_string(),
                        self.pick(&["0", "1", "2", "-1"]).to_string(),
                    ]);
                }
                if self.chance(30) {
                    a.extend([
                        "MAXLEN".to_string(),
                        self.pick(&["0", "2", "5"]).to_string(),
                    ]);
                }
                one(Exact, a)
            }
            142..=153 => {
                let to = self.key();
                if self.chance(30) {
                    one(Exact, s(&["RPOPLPUSH", &k, &to]))
                } else {
                    let (f, t) = (
                        self.pick(&["LEFT", "RIGHT", "left"]),
                        self.pick(&["LEFT", "RIGHT", "UP"]),
                    );
                    one(Exact, s(&["LMOVE", &k, &to, f, t]))
                }
            }
            154..=161 => {
                let keys = self.keys(3);
                let mut a = vec!["LMPOP".to_string(), keys.len().to_string()];
                a.extend(keys);
                a.push(self.pick(&["LEFT", "RIGHT"]).to_string());
                if self.chance(50) {
                    a.extend(["COUNT".to_string(), self.count()]);
                }
                one(Exact, a)
            }
            // ---- hashes
            162..=211 => {
                let cmd = self.pick(&["HSET", "HSET", "HMSET", "HSETNX"]);
                let mut a = s(&[cmd, &k]);
                let pairs = if cmd == "HSETNX" {
                    1
                } else {
                    self.rng.gen_range(1..4)
                };
                for _ in 0..pairs {
                    a.push(self.member());
                    a.push(self.value());
                }
                one(Exact, a)
            }
            212..=231 => {
                let f = self.member();
                one(
                    Exact,
                    s(&[self.pick(&["HGET", "HEXISTS", "HSTRLEN"]), &k, &f]),
                )
            }
            232..=241 => {
                let mut a = s(&["HMGET", &k]);
                a.extend(self.members(3));
                one(Exact, a)
            }
            242..=256 => {
                let mut a = s(&["HDEL", &k]);
                a.extend(self.members(3));
                one(Exact, a)
            }
            257..=264 => one(Exact, s(&["HLEN", &k])),
            265..=279 => {
                let cmd = self.pick(&["HGETALL", "HKEYS", "HVALS"]);
                one(
                    ByEncoding {
                        key: k.clone(),
                        pairs: cmd == "HGETALL",
                    },
                    s(&[cmd, &k]),
                )
            }
            280..=294 => {
                let (f, n) = (
                    self.member(),
                    self.pick(&["1", "-3", "10", "abc", "9223372036854775807"])
                        .to_string(),
                );
                one(Exact, s(&["HINCRBY", &k, &f, &n]))
            }
            295..=304 => {
                let (f, n) = (
                    self.member(),
                    self.pick(&["0.1", "1.5", "-2.25", "1e3", "abc", "inf"])
                        .to_string(),
                );
                one(Exact, s(&["HINCRBYFLOAT", &k, &f, &n]))
            }
            305..=314 => {
                let mut a = s(&["HRANDFIELD", &k]);
                let mut pairs = false;
                let mut distinct = true;
                if self.chance(70) {
                    let n = self.rng.gen_range(-4i64..6);
                    distinct = n >= 0;
                    a.push(n.to_string());
                    if self.chance(50) {
                        a.push("WITHVALUES".to_string());
                        pairs = true;
                    }
                }
                let universe = if pairs {
                    s(&["HGETALL", &k])
                } else {
                    s(&["HKEYS", &k])
                };
                one(
                    Random {
                        universe,
                        pairs,
                        distinct,
                    },
                    a,
                )
            }
            315..=324 => {
                let mut a = s(&["HSCAN", &k]);
                a.extend(self.scan_opts());
                one(Scan, a)
            }
            // ---- sets
            325..=374 => {
                let mut a = s(&["SADD", &k]);
                a.extend(self.members(4));
                one(Exact, a)
            }
            375..=389 => {
                let mut a = s(&["SREM", &k]);
                a.extend(self.members(3));
                one(Exact, a)
            }
            390..=404 => {
                if self.chance(30) {
                    one(Exact, s(&["SCARD", &k]))
                } else {
                    let m = self.member();
                    one(Exact, s(&["SISMEMBER", &k, &m]))
                }
            }
            405..=409 => {
                let mut a = s(&["SMISMEMBER", &k]);
                a.extend(self.members(3));
                one(Exact, a)
            }
            410..=424 => one(
                ByEncoding {
                    key: k.clone(),
                    pairs: false,
                },
                s(&["SMEMBERS", &k]),
            ),
            425..=444 => {
                let cmd = self.pick(&["SINTER", "SUNION", "SDIFF"]);
                let mut a = s(&[cmd]);
                a.extend(self.keys(3));
                one(Unordered, a)
            }
            445..=459 => {
                let cmd = self.pick(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]);
                let mut a = s(&[cmd, &k]);
                a.extend(self.keys(3));
                let mut steps = one(Exact, a);
                steps.push((Exact, s(&["OBJECT", "ENCODING", &k])));
                steps
            }
            460..=466 => {
                let keys = self.keys(3);
                let mut a = vec!["SINTERCARD".to_string(), keys.len().to_string()];
                a.extend(keys);
                if self.chance(40) {
                    a.extend([
                        "LIMIT".to_string(),
                        self.pick(&["0", "1", "2", "-1"]).to_string(),
                    ]);
                }
                one(Exact, a)
            }
            467..=476 => {
                let (to, m) = (self.key(), self.member());
                one(Exact, s(&["SMOVE", &k, &to, &m]))
            }
            477..=484 => {
                if self.chance(50) {
                    one(SpopAll, s(&["SPOP", &k]))
                } else {
                    let extra = self.rng.gen_range(0..3).to_string();
                    one(SpopAll, s(&["SPOP", &k, &extra]))
                }
            }
            485..=494 => {
                let mut a = s(&["SRANDMEMBER", &k]);
                let mut distinct = true;
                if self.chance(70) {
                    let n = self.rng.gen_range(-4i64..6);
                    distinct = n >= 0;
                    a.push(n.to_string());
                }
                one(
                    Random {
                        universe: s(&["SMEMBERS", &k]),
                        pairs: false,
                        distinct,
                    },
                    a,
                )
            }
            495..=504 => {
                let mut a = s(&["SSCAN", &k]);
                a.extend(self.scan_opts());
                one(Scan, a)
            }
            // ---- sorted sets
            505..=564 => {
                let mut a = s(&["ZADD", &k]);
                if self.chance(30) {
                    for _ in 0..self.rng.gen_range(1..3) {
                        a.push(
                            self.pick(&["NX", "XX", "GT", "LT", "CH", "INCR"])
                                .to_string(),
                        );
                    }
                }
                for _ in 0..self.rng.gen_range(1..4) {
                    a.push(self.score());
                    a.push(self.member());
                }
                one(Exact, a)
            }
            565..=574 => {
                let (n, m) = (self.score(), self.member());
                one(Exact, s(&["ZINCRBY", &k, &n, &m]))
            }
            575..=589 => {
                let mut a = s(&["ZREM", &k]);
                a.extend(self.members(3));
                one(Exact, a)
            }
            590..=609 => {
                let m = self.member();
                let cmd = self.pick(&["ZSCORE", "ZRANK", "ZREVRANK"]);
                one(Exact, s(&[cmd, &k, &m]))
            }
            610..=614 => {
                let mut a = s(&["ZMSCORE", &k]);
                a.extend(self.members(3));
                one(Exact, a)
            }
            615..=619 => one(Exact, s(&["ZCARD", &k])),
            620..=629 => {
                let (a, b) = (self.bound(), self.bound());
                one(Exact, s(&["ZCOUNT", &k, &a, &b]))
            }
            630..=669 => {
                let mut a = Vec::new();
                match self.rng.gen_range(0..6) {
                    0 => {
                        a.extend(s(&["ZRANGE", &k]));
                        a.push(self.index());
                        a.push(self.index());
                        if self.chance(30) {
                            a.push("REV".to_string());
                        }
                    }
                    1 => {
                        a.extend(s(&["ZREVRANGE", &k]));
                        a.push(self.index());
                        a.push(self.index());
                    }
                    2 => {
                        a.extend(s(&["ZRANGE", &k]));
                        a.push(self.bound());
                        a.push(self.bound());
                        a.push("BYSCORE".to_string());
                        if self.chance(40) {
                            a.push("REV".to_string());
                        }
                    }
                    3 => {
                        a.extend(s(&[self.pick(&["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]), &k]));
                        a.push(self.bound());
                        a.push(self.bound());
                    }
                    _ => {
                        a.extend(s(&[
                            self.pick(&["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]),
                            &k,
                            "-inf",
                            "+inf",
                        ]));
                        if self.rng.gen_range(0..2) == 0 {
                            a.swap(2, 3);
                        }
                    }
                }
                if self.chance(40) {
                    a.push("WITHSCORES".to_string());
                }
                if self.chance(25) {
                    a.push("LIMIT".to_string());
                    a.push(self.rng.gen_range(-1i64..4).to_string());
                    a.push(self.rng.gen_range(-1i64..4).to_string());
                }
                one(Exact, a)
            }
            670..=684 => {
                let cmd = self.pick(&["ZREMRANGEBYRANK", "ZREMRANGEBYSCORE"]);
                let (a, b) = if cmd == "ZREMRANGEBYRANK" {
                    (self.index(), self.index())
                } else {
                    (self.bound(), self.bound())
                };
                one(Exact, s(&[cmd, &k, &a, &b]))
            }
            685..=699 => {
                let cmd = self.pick(&["ZPOPMIN", "ZPOPMAX"]);
                let mut a = s(&[cmd, &k]);
                if self.chance(50) {
                    a.push(self.count());
                }
                one(Exact, a)
            }
            700..=707 => {
                let keys = self.keys(3);
                let mut a = vec!["ZMPOP".to_string(), keys.len().to_string()];
                a.extend(keys);
                a.push(self.pick(&["MIN", "MAX"]).to_string());
                if self.chance(50) {
                    a.extend(["COUNT".to_string(), self.count()]);
                }
                one(Exact, a)
            }
            708..=737 => {
                let op = self.pick(&[
                    "ZUNION",
                    "ZINTER",
                    "ZDIFF",
                    "ZUNIONSTORE",
                    "ZINTERSTORE",
                    "ZDIFFSTORE",
                    "ZINTERCARD",
                ]);
                let store = op.ends_with("STORE");
                let keys = self.keys(3);
                let mut a = s(&[op]);
                if store {
                    a.push(k.clone());
                }
                a.push(keys.len().to_string());
                a.extend(keys.iter().cloned());
                if op != "ZDIFF" && op != "ZDIFFSTORE" && op != "ZINTERCARD" {
                    if self.chance(30) {
                        a.push("WEIGHTS".to_string());
                        for _ in &keys {
                            a.push(self.pick(&["1", "2", "0", "-1", "0.5", "inf"]).to_string());
                        }
                    }
                    if self.chance(30) {
                        a.push("AGGREGATE".to_string());
                        a.push(self.pick(&["SUM", "MIN", "MAX"]).to_string());
                    }
                }
                if op == "ZINTERCARD" && self.chance(40) {
                    a.extend(["LIMIT".to_string(), self.pick(&["0", "1", "2"]).to_string()]);
                }
                if !store && op != "ZINTERCARD" && self.chance(50) {
                    a.push("WITHSCORES".to_string());
                }
                let mut steps = one(Exact, a);
                if store {
                    steps.push((Exact, s(&["OBJECT", "ENCODING", &k])));
                }
                steps
            }
            738..=747 => {
                let src = self.key();
                let mut a = s(&["ZRANGESTORE", &k, &src]);
                if self.chance(50) {
                    a.push(self.index());
                    a.push(self.index());
                } else {
                    a.push(self.bound());
                    a.push(self.bound());
                    a.push("BYSCORE".to_string());
                }
                if self.chance(30) {
                    a.push("REV".to_string());
                }
                vec![(Exact, a), (Exact, s(&["OBJECT", "ENCODING", &k]))]
            }
            748..=757 => {
                let mut a = s(&["ZRANDMEMBER", &k]);
                let mut pairs = false;
                let mut distinct = true;
                if self.chance(70) {
                    let n = self.rng.gen_range(-4i64..6);
                    distinct = n >= 0;
                    a.push(n.to_string());
                    if self.chance(50) {
                        a.push("WITHSCORES".to_string());
                        pairs = true;
                    }
                }
                let universe = if pairs {
                    s(&["ZRANGE", &k, "0", "-1", "WITHSCORES"])
                } else {
                    s(&["ZRANGE", &k, "0", "-1"])
                };
                one(
                    Random {
                        universe,
                        pairs,
                        distinct,
                    },
                    a,
                )
            }
            758..=767 => {
                let mut a = s(&["ZSCAN", &k]);
                a.extend(self.scan_opts());
                one(Scan, a)
            }
            // ---- lex keys (equal scores)
            768..=797 => {
                let lk = self.lex_key();
                match self.rng.gen_range(0..7) {
                    0 | 1 => {
                        let mut a = s(&["ZADD", &lk]);
                        for m in self.members(3) {
                            a.push(self.pick(&["0", "0", "-0", "0.0"]).to_string());
                            a.push(m);
                        }
                        one(Exact, a)
                    }
                    2 => {
                        let (a, b) = (self.lex_bound(), self.lex_bound());
                        one(Exact, s(&["ZLEXCOUNT", &lk, &a, &b]))
                    }
                    3 => {
                        let (a, b) = (self.lex_bound(), self.lex_bound());
                        one(Exact, s(&["ZREMRANGEBYLEX", &lk, &a, &b]))
                    }
                    4 => {
                        let (a, b) = (self.lex_bound(), self.lex_bound());
                        let mut args = s(&["ZRANGE", &lk, &a, &b, "BYLEX"]);
                        if self.chance(40) {
                            args.push("REV".to_string());
                        }
                        if self.chance(30) {
                            args.extend([
                                "LIMIT".to_string(),
                                self.rng.gen_range(-1i64..3).to_string(),
                                self.rng.gen_range(-1i64..4).to_string(),
                            ]);
                        }
                        one(Exact, args)
                    }
                    5 => {
                        let (a, b) = (self.lex_bound(), self.lex_bound());
                        one(Exact, s(&["ZRANGESTORE", &k, &lk, &a, &b, "BYLEX"]))
                    }
                    _ => {
                        let (a, b) = (self.lex_bound(), self.lex_bound());
                        let cmd = self.pick(&["ZRANGEBYLEX", "ZREVRANGEBYLEX"]);
                        one(Exact, s(&[cmd, &lk, &a, &b]))
                    }
                }
            }
            // ---- generic commands over every type
            798..=822 => {
                let cmd = self.pick(&["TYPE", "EXISTS", "OBJECT"]);
                if cmd == "OBJECT" {
                    one(Exact, s(&["OBJECT", "ENCODING", &k]))
                } else {
                    one(Exact, s(&[cmd, &k]))
                }
            }
            823..=837 => {
                let mut a = s(&[self.pick(&["DEL", "UNLINK"])]);
                a.extend(self.keys(2));
                one(Exact, a)
            }
            838..=852 => {
                let to = self.key();
                let mut a = s(&["COPY", &k, &to]);
                if self.chance(40) {
                    a.extend(["DB".to_string(), self.db()]);
                }
                if self.chance(40) {
                    a.push("REPLACE".to_string());
                }
                one(Exact, a)
            }
            853..=862 => {
                let to = self.key();
                one(Exact, s(&[self.pick(&["RENAME", "RENAMENX"]), &k, &to]))
            }
            863..=870 => {
                let db = self.db();
                one(Exact, s(&["MOVE", &k, &db]))
            }
            871..=890 => {
                let db = self.db();
                one(Exact, s(&["SELECT", &db]))
            }
            891..=900 => {
                let t = self.pick(&["4102444800", "4102444900"]);
                one(Exact, s(&["EXPIREAT", &k, t]))
            }
            901..=910 => vec![(Exact, s(&["DBSIZE"])), (Unordered, s(&["KEYS", "*"]))],
            911..=920 => one(Exact, s(&["SET", &k, "str"])),
            921..=940 => {
                // Wrong arity and odd argument counts.
                let cmd = self.pick(&[
                    "LPUSH", "HSET", "SADD", "ZADD", "LRANGE", "ZRANGE", "HMSET", "LPOP", "SREM",
                    "ZPOPMIN",
                ]);
                let mut a = s(&[cmd, &k]);
                for _ in 0..self.rng.gen_range(0..2) {
                    a.push(self.member());
                }
                one(Exact, a)
            }
            _ => {
                let cmd = self.pick(&["HSTRLEN", "LLEN", "SCARD", "ZCARD", "HLEN"]);
                if cmd == "HSTRLEN" {
                    let f = self.member();
                    one(Exact, s(&[cmd, &k, &f]))
                } else {
                    one(Exact, s(&[cmd, &k]))
                }
            }
        }
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a valid number")),
        _ => default,
    }
}

fn run_random(subject: &Server, reference: &Server) {
    let seed: u64 = env_or("REPLIKV_DIFF_SEED", 1);
    let ops: usize = env_or("REPLIKV_DIFF_OPS", 2500);
    let mut gen = Gen {
        rng: StdRng::seed_from_u64(seed),
        group: '*',
    };
    let skip: Vec<String> = std::env::var("REPLIKV_DIFF_SKIP")
        .unwrap_or_default()
        .split(',')
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty())
        .collect();
    if !skip.is_empty() {
        eprintln!("NOTE: REPLIKV_DIFF_SKIP leaves out {skip:?}");
    }
    let mut pair = Pair::new(subject, reference);
    let _ = pair.subject.query(&[b"FLUSHALL".to_vec()]);
    let _ = pair.reference.query(&[b"FLUSHALL".to_vec()]);
    let context = |pair: &Pair<'_>| {
        format!(
            "seed {seed} (REPLIKV_DIFF_SEED={seed} REPLIKV_DIFF_OPS={ops} to reproduce); \
             previous steps (reference replies):\n{}",
            pair.history.iter().cloned().collect::<Vec<_>>().join("\n")
        )
    };
    let (mut errors, mut arrays) = (0usize, 0usize);
    for _ in 0..ops {
        let mut steps = gen.next();
        steps.retain(|(_, args)| {
            !args
                .first()
                .is_some_and(|n| skip.contains(&n.to_ascii_uppercase()))
        });
        for (check, args) in steps {
            let (b, mismatch) = pair.run(&sargs(&args), &check);
            match &b {
                Reply::Value(Value::ServerError(_)) => errors += 1,
                Reply::Value(Value::Array(_)) => arrays += 1,
                _ => {}
            }
            if let Some(m) = mismatch {
                let log = if pair.subject.alive() {
                    String::new()
                } else {
                    format!(
                        "\nthe subject server died; log tail:\n{}",
                        subject.log_tail()
                    )
                };
                panic!("random stream diverged at {m}\n{}{log}", context(&pair));
            }
        }
    }
    // Compare the whole data set of every database, value by value.
    let mut mismatches = Vec::new();
    for db in 0..NUM_DBS {
        let mut check = |pair: &mut Pair<'_>, check: Check, args: &[&str]| {
            let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
            let (b, mismatch) = pair.run(&args, &check);
            if let Some(m) = mismatch {
                mismatches.push(format!("final data set, db {db}: {m}"));
            }
            b
        };
        check(&mut pair, Check::Exact, &["SELECT", &db.to_string()]);
        check(&mut pair, Check::Exact, &["DBSIZE"]);
        let keys = check(&mut pair, Check::Unordered, &["KEYS", "*"]);
        let Reply::Value(Value::Array(keys)) = keys else {
            mismatches.push(format!(
                "db {db}: KEYS * on the reference failed: {}",
                show_reply(&keys)
            ));
            continue;
        };
        let mut names: Vec<String> = keys
            .iter()
            .filter_map(|k| match k {
                Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
                _ => None,
            })
            .collect();
        names.sort();
        for key in &names {
            let kind = check(&mut pair, Check::Exact, &["TYPE", key]);
            check(&mut pair, Check::Exact, &["OBJECT", "ENCODING", key]);
            let by_enc = |pairs| Check::ByEncoding {
                key: key.clone(),
                pairs,
            };
            if let Reply::Value(Value::SimpleString(t)) = kind {
                match t.as_str() {
                    "string" => {
                        check(&mut pair, Check::Exact, &["GET", key]);
                    }
                    "list" => {
                        check(&mut pair, Check::Exact, &["LRANGE", key, "0", "-1"]);
                    }
                    "hash" => {
                        check(&mut pair, by_enc(true), &["HGETALL", key]);
                    }
                    "set" => {
                        check(&mut pair, by_enc(false), &["SMEMBERS", key]);
                    }
                    "zset" => {
                        check(
                            &mut pair,
                            Check::Exact,
                            &["ZRANGE", key, "0", "-1", "WITHSCORES"],
                        );
                    }
                    _ => {}
                }
            }
            check(&mut pair, Check::Exact, &["PEXPIRETIME", key]);
            check(&mut pair, Check::Exact, &["DEBUG", "DIGEST-VALUE", key]);
        }
    }
    let digest = |side: &mut Side<'_>| side.query(&[b"DEBUG".to_vec(), b"DIGEST".to_vec()]);
    let (da, db) = (digest(&mut pair.subject), digest(&mut pair.reference));
    if da != db {
        mismatches.push(format!(
            "DEBUG DIGEST differs: subject {:?}, reference {:?}",
            da.map(|v| show_value(&v)),
            db.map(|v| show_value(&v))
        ));
    }
    if !mismatches.is_empty() {
        panic!(
            "after {ops} random ops with identical replies, the final data sets differ \
             ({} mismatches):\n{}\n(seed {seed})",
            mismatches.len(),
            mismatches
                .into_iter()
                .take(100)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    eprintln!(
        "random stream: seed {seed}, {ops} ops, {} steps, all replies identical \
         (reference replies: {errors} errors, {arrays} arrays)",
        pair.step
    );
}

#[test]
fn random_stream_replikv_vs_redis() {
    let reference = Server::redis(SERVER_ARGS);
    let subject = Server::replikv(SERVER_ARGS);
    run_random(&subject, &reference);
}

#[test]
fn random_stream_reference_vs_reference() {
    let a = Server::redis(SERVER_ARGS);
    let b = Server::redis(SERVER_ARGS);
    run_random(&a, &b);
}
