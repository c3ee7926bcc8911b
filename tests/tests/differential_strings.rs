//! Differential tests for the string / keyspace commands: the same command
//! sequence is sent to replikv and to the reference redis-server and every
//! reply must be identical (compared as `redis::Value`, error texts
//! included).
//!
//! * `hand_written_*`: a list of edge cases ([`CASES`]).
//! * `random_stream_*`: a seeded random stream of commands over a small key
//!   space; set `REPLIKV_DIFF_SEED` and `REPLIKV_DIFF_OPS` to run another or
//!   a longer stream (defaults: seed 1, 3000 ops). At the end the whole
//!   data set of every database is compared. `REPLIKV_DIFF_SKIP=CMD1,CMD2`
//!   leaves commands out of the stream (to look past a known divergence).
//! * `*_reference_vs_reference`: the same against two reference servers,
//!   proving the harness and the generated sequences are deterministic.
//!
//! Set `REPLIKV_DIFF_TRACE=1` to print every step with the reference reply.
//!
//! Nothing here depends on timing: relative TTLs are only compared within a
//! tolerance (both servers get each command within milliseconds of each
//! other), `OBJECT IDLETIME` only has to be an integer, `KEYS` is compared as
//! a set and `SCAN` by iterating to cursor 0 and comparing the set of keys.

use std::collections::{BTreeSet, VecDeque};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redis::Value;
use replikv_tests::{error_text, show_value, tokenize, Server, Side};

/// How a reply is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Identical values.
    Exact,
    /// Arrays compared as multisets (KEYS).
    Unordered,
    /// Both must be integers (any value), or be identical otherwise.
    AnyInt,
    /// TTL-like integers: negative values exact, non-negative values within
    /// a tolerance (10 for seconds, 10000 for milliseconds).
    Ttl,
    /// The args are SCAN options: iterate to cursor 0 on both and compare
    /// the sets of keys returned (or the error of the first call).
    Scan,
}

/// The outcome of one step on one side.
#[derive(Debug, Clone, PartialEq)]
enum Reply {
    Value(Value),
    /// Result of a SCAN iteration: the set of keys.
    Keys(BTreeSet<Vec<u8>>),
    Failure(String),
}

fn show_reply(reply: &Reply) -> String {
    match reply {
        Reply::Value(v) => show_value(v),
        Reply::Keys(keys) => format!(
            "SCAN keys {{{}}}",
            keys.iter()
                .map(|k| format!("{:?}", String::from_utf8_lossy(k)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
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

    /// Sends `args` to both; returns (subject reply, reference reply,
    /// mismatch description if they differ under `check`).
    fn run(&mut self, args: &[Vec<u8>], check: Check) -> (Reply, Reply, Option<String>) {
        self.step += 1;
        let (a, b) = if check == Check::Scan {
            (
                scan_all(&mut self.subject, args),
                scan_all(&mut self.reference, args),
            )
        } else {
            (
                to_reply(self.subject.query(args)),
                to_reply(self.reference.query(args)),
            )
        };
        let cmd = if check == Check::Scan {
            format!("SCAN <iterate> {}", show_cmd(args))
        } else {
            show_cmd(args)
        };
        let line = format!("  step {}: {cmd} -> {}", self.step, show_reply(&b));
        if self.trace {
            eprintln!("{line}");
        }
        self.history.push_back(line);
        if self.history.len() > 25 {
            self.history.pop_front();
        }
        let mismatch = (!replies_match(&a, &b, check, args)).then(|| {
            format!(
                "step {}: {cmd}\n    {} ({}): {}\n    {} ({}): {}",
                self.step,
                self.subject.name,
                self.subject.server.kind().name(),
                show_reply(&a),
                self.reference.name,
                self.reference.server.kind().name(),
                show_reply(&b),
            )
        });
        (a, b, mismatch)
    }
}

fn to_reply(r: Result<Value, String>) -> Reply {
    match r {
        Ok(v) => Reply::Value(v),
        Err(e) => Reply::Failure(e),
    }
}

/// Iterates `SCAN cursor <opts>` to cursor 0 and returns the set of keys.
fn scan_all(side: &mut Side<'_>, opts: &[Vec<u8>]) -> Reply {
    let mut cursor = b"0".to_vec();
    let mut keys = BTreeSet::new();
    for round in 0..100_000 {
        let mut args = vec![b"SCAN".to_vec(), cursor.clone()];
        args.extend(opts.iter().cloned());
        let value = match side.query(&args) {
            Ok(v) => v,
            Err(e) => return Reply::Failure(e),
        };
        match value {
            Value::ServerError(_) if round == 0 => return Reply::Value(value),
            Value::Array(parts) if parts.len() == 2 => {
                let (Value::BulkString(next), Value::Array(batch)) = (&parts[0], &parts[1]) else {
                    return Reply::Failure(format!(
                        "malformed SCAN reply {}",
                        show_value(&Value::Array(parts))
                    ));
                };
                for key in batch {
                    match key {
                        Value::BulkString(k) => {
                            keys.insert(k.clone());
                        }
                        other => {
                            return Reply::Failure(format!(
                                "SCAN returned a non-bulk key {}",
                                show_value(other)
                            ))
                        }
                    }
                }
                if next.as_slice() == b"0" {
                    return Reply::Keys(keys);
                }
                cursor = next.clone();
            }
            other => {
                return Reply::Failure(format!(
                    "unexpected reply to SCAN {}: {}",
                    String::from_utf8_lossy(&cursor),
                    show_value(&other)
                ))
            }
        }
    }
    Reply::Failure("SCAN did not reach cursor 0 after 100000 calls".to_string())
}

fn sort_key(v: &Value) -> String {
    format!("{v:?}")
}

fn replies_match(a: &Reply, b: &Reply, check: Check, args: &[Vec<u8>]) -> bool {
    let (Reply::Value(va), Reply::Value(vb)) = (a, b) else {
        // Failures never match (a reference failure is a harness bug and
        // must be reported too).
        return matches!((a, b), (Reply::Keys(x), Reply::Keys(y)) if x == y);
    };
    match check {
        Check::Exact | Check::Scan => va == vb,
        Check::Unordered => match (va, vb) {
            (Value::Array(x), Value::Array(y)) => {
                let mut x: Vec<String> = x.iter().map(sort_key).collect();
                let mut y: Vec<String> = y.iter().map(sort_key).collect();
                x.sort();
                y.sort();
                x == y
            }
            _ => va == vb,
        },
        Check::AnyInt => matches!((va, vb), (Value::Int(_), Value::Int(_))) || va == vb,
        Check::Ttl => match (va, vb) {
            (Value::Int(x), Value::Int(y)) => {
                if *x < 0 || *y < 0 {
                    x == y
                } else {
                    let millis = args
                        .first()
                        .is_some_and(|c| c.first().is_some_and(|c| c.eq_ignore_ascii_case(&b'p')));
                    let tolerance = if millis { 10_000 } else { 10 };
                    (x - y).abs() <= tolerance
                }
            }
            _ => va == vb,
        },
    }
}

// ---------------------------------------------------------------------------
// Hand-written edge cases
// ---------------------------------------------------------------------------

/// One command per line. A line may start with a tag selecting the check:
/// `[unordered]`, `[int]`, `[ttl]`, `[scan] <options after the cursor>`.
/// `[types]` ... `[end-types]` delimit cases needing a non-string type
/// (LPUSH/SADD): they are skipped, with a notice, when the subject answers
/// "ERR unknown command" to LPUSH or SADD. `#` starts a comment line.
/// Tokens are separated by spaces; `"..."` quotes a token (escapes `\"`,
/// `\\`, `\n`, `\r`, `\t`, `\xHH`). `{X44}` etc. expand to that many `x`.
const CASES: &str = r#"
# --- connection basics, case, arity, unknown commands ---
FLUSHALL
SELECT 0
PING
PING hello
PING a b
ECHO hi
ECHO ""
ECHO
ECHO a b
pInG
gEt nokey
GET
GET a b
SET
SET k
SET k v
gEt k
sEt k v2
GeT k
FOO
FOO a b
foo a b
FOO "a b" "" c
FOO {X200}
FOO a {X200} c
"foo\r\nbar" x
FOO "x\ny"
""
"" a
OBJECT
OBJECT FOO
OBJECT foo bar
object EnCoDiNg k
OBJECT ENCODING
OBJECT ENCODING a b
OBJECT REFCOUNT
OBJECT IDLETIME
STRLEN
APPEND a
MGET
GETRANGE a 0
SETRANGE a 0
EXISTS
DEL
UNLINK
TYPE
KEYS
SCAN
RENAME a
RENAMENX a
EXPIRE a
PEXPIRE a
EXPIREAT a
PEXPIREAT a
TTL
PTTL
EXPIRETIME
PEXPIRETIME
PERSIST
DBSIZE x
FLUSHDB a b
FLUSHALL a b
SWAPDB 0
MOVE a
COPY a
INCRBYFLOAT a
INCRBY a
DECRBY a
INCR
DECR
GETDEL
GETEX
GETSET a
SETNX a
SETEX a 1
PSETEX a 1
MSETNX
RANDOMKEY x
SELECT

# --- SET options ---
FLUSHALL
SET s1 v NX
SET s1 v2 NX
GET s1
SET s1 v3 XX
GET s1
SET s2 v XX
GET s2
EXISTS s2
SET s1 v4 GET
SET s1 v5 NX GET
SET s1 v6 XX GET
GET s1
SET nokey v XX GET
SET nokey2 v NX GET
GET nokey2
SET s1 v NX XX
SET s1 v XX NX
SET s1 v NX NX
SET s1 v get get
SET s1 v EX 10 PX 100
SET s1 v EX 10 EXAT 100
SET s1 v PXAT 10 KEEPTTL
SET s1 v KEEPTTL EX 10
SET s1 v EX 10 EX 10
SET s1 v EX
SET s1 v PX
SET s1 v EX 0
SET s1 v EX -5
SET s1 v PX 0
SET s1 v PX -1
SET s1 v EXAT 0
SET s1 v EXAT -1
SET s1 v PXAT 0
SET s1 v PXAT -1
SET s1 v EX abc
SET s1 v EX 1.5
SET s1 v EX ""
SET s1 v EX 9223372036854775807
SET s1 v PX 9223372036854775807
SET s1 v EX 9223372036854775
SET s1 v EX 9223372036854776
SET s1 v EXAT 9223372036854775807
SET s1 v PXAT 9223372036854775807
SET s1 v EX 9223372036854775808
SET s1 v PERSIST
SET s1 v SOMETHING
SET s1 v EX 100 FOO
GET s1
SET s1 v EX 100
[ttl] TTL s1
[ttl] PTTL s1
[ttl] EXPIRETIME s1
SET s1 v2 KEEPTTL
[ttl] TTL s1
SET s1 v3
TTL s1
PTTL s1
EXPIRETIME s1
SET s1 v EXAT 4102444800
EXPIRETIME s1
PEXPIRETIME s1
[ttl] TTL s1
SET s1 v PXAT 4102444800123
PEXPIRETIME s1
EXPIRETIME s1
SET s1 v PXAT 4102444800500
EXPIRETIME s1
SET s1 v PXAT 4102444800499
EXPIRETIME s1
SET s1 v PX 100000
[ttl] PTTL s1
SET s1 v GET EX 100
[ttl] TTL s1
SET s1 v KEEPTTL GET
[ttl] TTL s1
SET s1 v EXAT 1000
GET s1
EXISTS s1
SET s1 v PXAT 1000 GET
EXISTS s1
SET s3 v EXAT 1000 NX
EXISTS s3
SET "" ""
GET ""
EXISTS ""
STRLEN ""
SET "a b" "c d"
GET "a b"
SET k "\x00\xff\r\n"
GET k
STRLEN k
DEL k "a b" ""

# --- SETNX / SETEX / PSETEX ---
FLUSHALL
SETNX n1 a
SETNX n1 b
GET n1
SETNX n1 b c
SETEX e1 100 v
GET e1
[ttl] TTL e1
SETEX e1 0 v
SETEX e1 -1 v
SETEX e1 abc v
SETEX e1 1.5 v
SETEX e1 9223372036854775807 v
SETEX e1 9223372036854775 v
SETEX e1 100
GET e1
PSETEX e2 100000 v
[ttl] PTTL e2
PSETEX e2 0 v
PSETEX e2 -100 v
PSETEX e2 abc v
PSETEX e2 9223372036854775807 v
GET e2
SETNX e2 other
[ttl] PTTL e2

# --- MGET / MSET / MSETNX ---
FLUSHALL
MSET a 1 b 2 c 3
MGET a b c nokey a
MGET nokey
MSET a
MSET a 1 b
MSET a 1 a 2
GET a
MSETNX a 1 d 4
EXISTS d
MSETNX d 4 e 5
MGET d e
MSETNX x 1 x 2
GET x
MSETNX d
MSETNX y 1 z
SET t v EX 100
MSET t plain
TTL t

# --- GETSET / GETDEL / GETEX ---
FLUSHALL
GETSET gs new
GETSET gs newer
GET gs
GETSET gs a b
GETDEL gs
GETDEL gs
GETDEL a b
SET gd v EX 100
GETDEL gd
EXISTS gd
SET gt v EX 100
GETSET gt w
TTL gt
SET ge v
GETEX ge
TTL ge
GETEX ge EX 100
[ttl] TTL ge
GETEX ge PERSIST
TTL ge
GETEX ge PX 100000
[ttl] PTTL ge
GETEX ge EXAT 4102444800
EXPIRETIME ge
GETEX ge PXAT 4102444800500
PEXPIRETIME ge
EXPIRETIME ge
GETEX ge
EXPIRETIME ge
GETEX ge EX 0
GETEX ge EX -1
GETEX ge PX 0
GETEX ge EXAT 0
GETEX ge PXAT -5
GETEX ge EX abc
GETEX ge EX 9223372036854775807
GETEX ge PX 9223372036854775807
GETEX ge EX 10 PX 10
GETEX ge PERSIST EX 10
GETEX ge EX 10 PERSIST
GETEX ge PERSIST PERSIST
GETEX ge EX
GETEX ge FOO
GETEX ge KEEPTTL
GETEX ge NX
GETEX nokey EX 10
GETEX nokey PERSIST
EXISTS nokey
GETEX ge EXAT 100
EXISTS ge
SET ge v
GETEX ge PXAT 1
EXISTS ge
SET ge v
GETEX ge EX 100 GET

# --- SETBIT / GETBIT ---
FLUSHALL
SETBIT bits 7 1
GET bits
GETBIT bits 7
GETBIT bits 6
GETBIT bits 100
SETBIT bits 7 0
SETBIT bits 7 0
SETBIT bits 100 1
STRLEN bits
GETBIT bits 100
OBJECT ENCODING bits
SET small a
SETBIT small 0 1
GET small
OBJECT ENCODING small
SET num 12
GETBIT num 2
SETBIT num 15 1
GET num
SET big {X200}
SETBIT big 1 0
GETBIT big 1
GET big
SETBIT bits -1 1
SETBIT bits abc 1
SETBIT bits 4294967296 1
SETBIT bits 4294967295 2
SETBIT bits 0 01
SETBIT bits 0 -0
SETBIT bits 0 ""
GETBIT bits -1
GETBIT bits 4294967296
GETBIT nokey 0
LPUSH alist x
SETBIT alist 0 1
GETBIT alist 0
SETBIT bits 0
GETBIT bits
SET ttlbits x EX 100
SETBIT ttlbits 1 1
[ttl]TTL ttlbits

# --- APPEND / STRLEN / GETRANGE / SUBSTR / SETRANGE ---
FLUSHALL
APPEND ap hello
APPEND ap " world"
GET ap
STRLEN ap
STRLEN nokey
APPEND ap ""
APPEND empty ""
EXISTS empty
GET empty
STRLEN ap x
GETRANGE ap 0 4
GETRANGE ap 0 -1
GETRANGE ap -5 -1
GETRANGE ap -100 100
GETRANGE ap 5 3
GETRANGE ap 100 200
GETRANGE ap -1 -5
GETRANGE ap 0 0
GETRANGE ap -1 -1
GETRANGE ap 10 10
GETRANGE ap 11 11
GETRANGE ap -100 -50
GETRANGE ap 3 -100
GETRANGE ap 9223372036854775807 -1
GETRANGE ap -9223372036854775808 9223372036854775807
GETRANGE nokey 0 -1
GETRANGE ap a b
GETRANGE ap 0 1.5
GETRANGE ap 0 1 2
GETRANGE empty 0 -1
GETRANGE empty -1 0
SUBSTR ap 0 2
SUBSTR ap -3 -1
SETRANGE ap 6 WORLD
GET ap
SETRANGE ap 20 x
GET ap
STRLEN ap
SETRANGE new 3 abc
GET new
SETRANGE new2 0 ""
EXISTS new2
SETRANGE new3 100 ""
EXISTS new3
SETRANGE ap 100 ""
GET ap
SETRANGE ap 0 ""
SETRANGE ap -1 x
SETRANGE ap abc x
SETRANGE ap 1.5 x
SETRANGE ap 536870912 x
SETRANGE ap 536870911 xy
SETRANGE ap 9223372036854775807 x
SETRANGE nokey4 536870912 x
EXISTS nokey4
SETRANGE ap 536870911 ""
SET num 12345
SETRANGE num 0 9
GET num
OBJECT ENCODING num
SET num 12345
APPEND num 6
GET num
OBJECT ENCODING num
INCR num
OBJECT ENCODING num
SET ttlap v EX 100
APPEND ttlap x
SETRANGE ttlap 0 y
GET ttlap
[ttl] TTL ttlap

# --- INCR / DECR / INCRBY / DECRBY ---
FLUSHALL
SET i 10
INCR i
DECR i
INCRBY i 5
DECRBY i 3
INCRBY i -3
DECRBY i -3
INCRBY i 0
GET i
INCR new_i
DECR new_d
INCRBY new_b 7
DECRBY new_c 7
MGET new_i new_d new_b new_c
SET i 9223372036854775806
INCR i
INCR i
INCRBY i 1
GET i
SET i -9223372036854775807
DECR i
DECR i
DECRBY i 1
INCRBY i -1
INCRBY i -9223372036854775808
DECRBY i -9223372036854775808
SET i 0
DECRBY i -9223372036854775808
DECRBY i 9223372036854775807
DECRBY i 2
INCRBY i abc
INCRBY i 1.5
INCRBY i ""
INCRBY i 9223372036854775808
INCRBY i -9223372036854775809
INCRBY i " 1"
INCRBY i 01
INCRBY i +1
INCRBY i 0x10
DECRBY i abc
SET s abc
INCR s
DECR s
SET s " 1"
INCR s
SET s "1 "
INCR s
SET s 01
INCR s
SET s +1
INCR s
SET s -0
INCR s
SET s ""
INCR s
SET s 1.0
INCR s
SET s 12345678901234567890
INCR s
SET s -1
INCR s
INCR s
GET s
OBJECT ENCODING s
SET it 5 EX 100
INCR it
[ttl] TTL it
INCR a b

# --- INCRBYFLOAT ---
FLUSHALL
SET f 10.5
INCRBYFLOAT f 0.1
INCRBYFLOAT f -5
INCRBYFLOAT f 1.0e3
INCRBYFLOAT f 3.0e3
GET f
OBJECT ENCODING f
SET f 3.0e3
INCRBYFLOAT f 0
GET f
SET f 0.1
INCRBYFLOAT f 0.2
SET f 1.5
INCRBYFLOAT f -1.5
INCRBYFLOAT f -0.0
INCRBYFLOAT f 1e-10
INCRBYFLOAT f 1e20
INCRBYFLOAT f 123456789.123456789
SET f 5
INCRBYFLOAT f 0.00000001
INCRBYFLOAT f 1.7976931348623157e308
INCRBYFLOAT nf 1.5
INCRBYFLOAT nf2 0
INCRBYFLOAT nf3 -2.5
MGET nf nf2 nf3
INCRBYFLOAT f abc
INCRBYFLOAT f ""
INCRBYFLOAT f " 1"
INCRBYFLOAT f "1 "
INCRBYFLOAT f 1.5.5
INCRBYFLOAT f 0x10
INCRBYFLOAT f 1e5000
SET f abc
INCRBYFLOAT f 1
SET f ""
INCRBYFLOAT f 1
SET f 1e308
INCRBYFLOAT f 1e308
INCRBYFLOAT f 1e308
SET f 1
INCRBYFLOAT f inf
INCRBYFLOAT f -inf
INCRBYFLOAT f +inf
INCRBYFLOAT f nan
INCRBYFLOAT f NaN
SET f inf
INCRBYFLOAT f 1
SET f 10
INCRBYFLOAT f 9223372036854775807
SET f 10
INCRBYFLOAT f 5.0e3
INCRBYFLOAT f -5.0e3
INCRBYFLOAT f 1.1
INCRBYFLOAT f 2.2
INCRBYFLOAT f 3.3
GET f
SET f 9223372036854775807
INCRBYFLOAT f 1
SET ft 1 EX 100
INCRBYFLOAT ft 1
[ttl] TTL ft

# --- DEL / UNLINK / EXISTS / TYPE ---
FLUSHALL
MSET a 1 b 2 c 3
EXISTS a
EXISTS a a a b nokey
EXISTS nokey nokey
DEL a a nokey
EXISTS a
UNLINK b c nokey
UNLINK b
EXISTS a b c
SET a 1
TYPE a
TYPE nokey
TYPE a b
DEL a
TYPE a

# --- KEYS glob patterns ---
FLUSHALL
MSET hello 1 hallo 2 hxllo 3 hllo 4 heeeello 5 "h*llo" 6 "h?llo" 7 "h[a]llo" 8 "h\\llo" 9 foo 10 foo:bar 11 x 12 "" 13 "h-llo" 14 "h]llo" 15 "h^llo" 16
[unordered] KEYS *
[unordered] KEYS h?llo
[unordered] KEYS h*llo
[unordered] KEYS h[ae]llo
[unordered] KEYS h[^e]llo
[unordered] KEYS h[a-b]llo
[unordered] KEYS h[b-a]llo
[unordered] KEYS h[a-]llo
[unordered] KEYS h[!e]llo
[unordered] KEYS "h\\*llo"
[unordered] KEYS "h\\?llo"
[unordered] KEYS "h\\[a]llo"
[unordered] KEYS "h\\\\llo"
[unordered] KEYS "h[\\]]llo"
[unordered] KEYS "h[\\^]llo"
[unordered] KEYS h[]llo
[unordered] KEYS *o
[unordered] KEYS ""
[unordered] KEYS [
[unordered] KEYS h[
[unordered] KEYS "\\"
[unordered] KEYS foo*
[unordered] KEYS *:*
[unordered] KEYS *[
[unordered] KEYS h**llo
[unordered] KEYS ???
[unordered] KEYS ?
[unordered] KEYS ****
[unordered] KEYS nomatch*
[unordered] KEYS HELLO
[unordered] KEYS h[A-Z]llo
[unordered] KEYS h[a-z]llo
KEYS a b

# --- SCAN ---
[scan]
[scan] MATCH h*llo
[scan] MATCH h[ae]llo COUNT 1
[scan] COUNT 1
[scan] COUNT 3
[scan] MATCH * COUNT 1000
[scan] TYPE string
[scan] TYPE STRING
[scan] TYPE list
[scan] TYPE nosuchtype
[scan] MATCH f* TYPE string COUNT 2
[scan] MATCH nomatch
SCAN abc
SCAN 1.5
SCAN 18446744073709551616
SCAN 0 COUNT 0
SCAN 0 COUNT -1
SCAN 0 COUNT abc
SCAN 0 COUNT
SCAN 0 MATCH
SCAN 0 TYPE
SCAN 0 FOO bar
SCAN 0 COUNT 1 MATCH
FLUSHDB
SCAN 0
SCAN 0 MATCH * COUNT 10 TYPE string

# --- RANDOMKEY (deterministic only with 0 or 1 key) ---
FLUSHALL
RANDOMKEY
SET only v
RANDOMKEY
DEL only
RANDOMKEY

# --- RENAME / RENAMENX ---
FLUSHALL
SET r1 v
RENAME r1 r2
GET r1
GET r2
RENAME nokey x
RENAME nokey nokey
RENAME r2 r2
GET r2
RENAMENX r2 r2
RENAMENX nokey x
SET r3 v3
RENAMENX r2 r3
RENAMENX r2 r4
EXISTS r2 r4
RENAME r4 r3
GET r3
SET r5 v EX 100
RENAME r5 r6
[ttl] TTL r6
SET r7 v EXAT 4102444800
RENAME r7 r8
EXPIRETIME r8
SET r9 v
SET r10 w EXAT 4102444800
RENAME r9 r10
EXPIRETIME r10
GET r10
SET r11 v PXAT 4102444800777
RENAMENX r11 r12
PEXPIRETIME r12
RENAME a b c

# --- EXPIRE family, TTL / PTTL / EXPIRETIME / PEXPIRETIME / PERSIST ---
FLUSHALL
SET x v
TTL x
PTTL x
EXPIRETIME x
PEXPIRETIME x
TTL nokey
PTTL nokey
EXPIRETIME nokey
PEXPIRETIME nokey
EXPIRE x 100
[ttl] TTL x
[ttl] PTTL x
EXPIRE x 100 NX
EXPIRE x 200 XX
[ttl] TTL x
EXPIRE nokey 100
PEXPIRE nokey 100
EXPIREAT nokey 4102444800
PEXPIREAT nokey 4102444800000
PERSIST x
PERSIST x
PERSIST nokey
TTL x
EXPIRE x 100 XX
EXPIRE x 100 GT
EXPIRE x 100 LT
[ttl] TTL x
PERSIST x
EXPIREAT x 4102444800
EXPIREAT x 4102444700 GT
EXPIREAT x 4102444900 GT
EXPIRETIME x
EXPIREAT x 4102444900 GT
EXPIREAT x 4102444800 LT
EXPIREAT x 4102444800 LT
EXPIREAT x 4102444700 lt
EXPIRETIME x
EXPIREAT x 4102444800 NX
EXPIREAT x 4102444800 XX
EXPIREAT x 4102444800 XX GT
EXPIREAT x 4102444600 XX LT
EXPIRETIME x
EXPIRE x 10 NX XX
EXPIRE x 10 GT LT
EXPIRE x 10 NX GT
EXPIRE x 10 NX LT
EXPIRE x 10 xx nx
EXPIRE x 10 FOO
EXPIRE x 10 NX FOO
EXPIRE x abc
EXPIRE x 1.5
EXPIRE x ""
EXPIRE x 10 20
PEXPIRE x 100000
[ttl] PTTL x
PEXPIREAT x 4102444800123
PEXPIRETIME x
EXPIRETIME x
PEXPIREAT x 4102444800999
EXPIRETIME x
EXPIRE x 9223372036854775807
PEXPIRE x 9223372036854775807
EXPIREAT x 9223372036854775807
PEXPIREAT x 9223372036854775807
EXPIRE x 9223372036854775
EXPIRE x -9223372036854775808
PEXPIRE x -9223372036854775808
EXPIREAT x -9223372036854775808
EXPIRE x 9223372036854775808
EXISTS x
SET x v
EXPIRE x 0
EXISTS x
SET x v
EXPIRE x -10
EXISTS x
SET x v
PEXPIRE x -1
EXISTS x
SET x v
EXPIREAT x 100
EXISTS x
SET x v
PEXPIREAT x 1
EXISTS x
SET x v
EXPIREAT x 0
EXISTS x
SET x v
EXPIREAT x 1000 GT
EXISTS x
EXPIREAT x 1000 LT
EXISTS x
SET x v EXAT 4102444800
EXPIREAT x 1000 NX
EXISTS x
EXPIREAT x 1000 XX
EXISTS x
SET y v
EXPIRETIME y
PERSIST y
TTL y

# --- DBSIZE / FLUSHDB / FLUSHALL ---
FLUSHALL
DBSIZE
MSET a 1 b 2
DBSIZE
FLUSHDB
DBSIZE
MSET a 1 b 2
FLUSHDB ASYNC
DBSIZE
MSET a 1 b 2
FLUSHDB SYNC
DBSIZE
FLUSHDB sync
FLUSHDB foo
FLUSHDB SYNC ASYNC
SELECT 1
SET one 1
SELECT 0
SET zero 0
FLUSHALL ASYNC
DBSIZE
SELECT 1
DBSIZE
SET one 1
FLUSHALL SYNC
DBSIZE
SELECT 0
FLUSHALL foo
FLUSHALL async

# --- SELECT / SWAPDB / MOVE / COPY ---
FLUSHALL
SELECT 1
SET db1 one
SELECT 0
GET db1
SELECT 16
SELECT -1
SELECT abc
SELECT 1.0
SELECT ""
SELECT 0 1
SELECT 9223372036854775808
SELECT 2147483648
SELECT 15
DBSIZE
SELECT 00
SET db0 zero
SWAPDB 0 1
GET db1
GET db0
SWAPDB 0 1
GET db0
SWAPDB 0 16
SWAPDB 16 0
SWAPDB -1 0
SWAPDB a b
SWAPDB 0 a
SWAPDB 0 0
SWAPDB 0 1 2
GET db0
SET a x
MOVE a 1
MOVE a 1
EXISTS a
MOVE nokey 1
SET a x
SELECT 1
GET a
SELECT 0
MOVE a 1
MOVE a 0
MOVE a 16
MOVE a -1
MOVE a abc
SET m v EXAT 4102444800
MOVE m 2
SELECT 2
EXPIRETIME m
SELECT 0
SET a x
COPY a b
GET b
COPY a b
COPY a b REPLACE
COPY a b replace
COPY a a
COPY a a REPLACE
COPY a a DB 0
COPY a a DB 1
COPY a a DB 1
COPY a a DB 1 REPLACE
COPY nokey z
EXISTS z
COPY a z DB 16
COPY a z DB -1
COPY a z DB abc
COPY a z FOO
COPY a z DB
COPY a z REPLACE REPLACE
COPY a z DB 2 DB 1
SELECT 2
GET z
SELECT 1
GET z
SELECT 0
SET t v EXAT 4102444800
COPY t t2
EXPIRETIME t2
SET n 123
COPY n n2
OBJECT ENCODING n2
OBJECT REFCOUNT n2
SET big {X45}
COPY big big2
OBJECT ENCODING big2

# --- OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ ---
FLUSHALL
SET o1 12345
OBJECT ENCODING o1
SET o2 12345678901234567890
OBJECT ENCODING o2
SET o3 {X44}
OBJECT ENCODING o3
SET o4 {X45}
OBJECT ENCODING o4
SET o5 -9223372036854775808
OBJECT ENCODING o5
SET o6 01
OBJECT ENCODING o6
SET o7 ""
OBJECT ENCODING o7
SET o8 " 1"
OBJECT ENCODING o8
SET o9 1.5
OBJECT ENCODING o9
SET o10 -1
OBJECT ENCODING o10
SET o11 9223372036854775808
OBJECT ENCODING o11
SET o12 0
OBJECT ENCODING o12
SET o13 -0
OBJECT ENCODING o13
SET o14 9223372036854775807
OBJECT ENCODING o14
SET o15 +5
OBJECT ENCODING o15
SET o16 12345678901234567890123456789012345678901234
OBJECT ENCODING o16
SET o17 123456789012345678901234567890123456789012345
OBJECT ENCODING o17
APPEND o1 6
OBJECT ENCODING o1
INCR o1
OBJECT ENCODING o1
SETRANGE o3 0 y
OBJECT ENCODING o3
GETRANGE o3 0 3
OBJECT ENCODING o3
SET o18 abc
APPEND o18 d
OBJECT ENCODING o18
GETSET o18 99
OBJECT ENCODING o18
MSET o19 42 o20 4.2 o21 {X45}
OBJECT ENCODING o19
OBJECT ENCODING o20
OBJECT ENCODING o21
SETNX o22 7
OBJECT ENCODING o22
SETEX o23 100 8
OBJECT ENCODING o23
INCRBYFLOAT o24 1.5
OBJECT ENCODING o24
INCRBYFLOAT o24 1
OBJECT ENCODING o24
OBJECT ENCODING nokey
SET r1 100
OBJECT REFCOUNT r1
SET r2 9999
OBJECT REFCOUNT r2
SET r3 10000
OBJECT REFCOUNT r3
SET r4 hello
OBJECT REFCOUNT r4
SET r5 -1
OBJECT REFCOUNT r5
INCR r6
OBJECT REFCOUNT r6
OBJECT REFCOUNT nokey
[int] OBJECT IDLETIME o1
[int] OBJECT IDLETIME o4
OBJECT IDLETIME nokey
OBJECT FREQ o1
OBJECT FREQ nokey
OBJECT ENCODING o1 extra
OBJECT REFCOUNT o1 extra
OBJECT FOO o1

# --- wrong type (needs LPUSH / SADD) ---
[types]
FLUSHALL
LPUSH wl a
SADD ws a
GET wl
GET ws
SET wl x GET
GETSET wl x
GETDEL wl
GETEX wl
GETEX wl PERSIST
APPEND wl x
STRLEN wl
GETRANGE wl 0 -1
SUBSTR wl 0 -1
SETRANGE wl 0 x
SETRANGE wl 0 ""
INCR wl
DECR wl
INCRBY wl 1
DECRBY wl 1
INCRBYFLOAT wl 1
SET a 1
MGET wl ws a nokey
SETNX wl x
MSETNX wl x new y
EXISTS new
TYPE wl
TYPE ws
EXISTS wl ws
OBJECT REFCOUNT wl
[int] OBJECT IDLETIME wl
[unordered] KEYS *
[unordered] KEYS w*
[scan] TYPE list
[scan] TYPE set
[scan] TYPE string
RENAME wl wl2
TYPE wl2
RENAMENX wl2 a
COPY wl2 wl3
TYPE wl3
EXPIREAT wl2 4102444800
EXPIRETIME wl2
PERSIST wl2
MOVE ws 1
SELECT 1
TYPE ws
SELECT 0
SET wl2 x
TYPE wl2
GET wl2
LPUSH wl4 a
SET wl4 x NX
SET wl4 x XX
GET wl4
LPUSH wl5 a
DEL wl3 wl5
EXISTS wl3 wl5
[end-types]
FLUSHALL
"#;

/// A parsed line of [`CASES`].
struct Case {
    line: usize,
    check: Check,
    args: Vec<Vec<u8>>,
    needs_types: bool,
}

fn parse_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut in_types = false;
    for (index, raw) in CASES.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == "[types]" {
            in_types = true;
            continue;
        }
        if line == "[end-types]" {
            in_types = false;
            continue;
        }
        let (check, rest) = if let Some(rest) = line.strip_prefix("[unordered]") {
            (Check::Unordered, rest)
        } else if let Some(rest) = line.strip_prefix("[int]") {
            (Check::AnyInt, rest)
        } else if let Some(rest) = line.strip_prefix("[ttl]") {
            (Check::Ttl, rest)
        } else if let Some(rest) = line.strip_prefix("[scan]") {
            (Check::Scan, rest)
        } else {
            (Check::Exact, line)
        };
        let expanded = rest
            .replace("{X44}", &"x".repeat(44))
            .replace("{X45}", &"x".repeat(45))
            .replace("{X200}", &"x".repeat(200));
        cases.push(Case {
            line: index + 1,
            check,
            args: tokenize(&expanded)
                .unwrap_or_else(|e| panic!("bad CASES line {}: {e}: {raw}", index + 1)),
            needs_types: in_types,
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
    let types = supports(&mut pair.subject, &["LPUSH", "__probe_list__", "x"])
        && supports(&mut pair.subject, &["SADD", "__probe_set__", "x"]);
    let _ = pair.subject.query(&[b"FLUSHALL".to_vec()]);
    if !types {
        eprintln!(
            "NOTE: the subject answers 'unknown command' to LPUSH or SADD: \
             the wrong-type cases are skipped"
        );
    }
    let mut mismatches = Vec::new();
    let mut skipped = 0;
    for case in &cases {
        if case.needs_types && !types {
            skipped += 1;
            continue;
        }
        let (_, _, mismatch) = pair.run(&case.args, case.check);
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
        "{} hand-written cases run, {skipped} skipped, {} mismatches",
        cases.len() - skipped,
        mismatches.len()
    );
    if !mismatches.is_empty() {
        let shown: Vec<&String> = mismatches.iter().take(150).collect();
        panic!(
            "{} of {} hand-written cases differ from the reference \
             (each CASES line is independent of earlier mismatches only \
             after the next FLUSHALL):\n{}{}",
            mismatches.len(),
            cases.len() - skipped,
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
    let reference = Server::redis(&[]);
    let subject = Server::replikv(&[]);
    run_hand_written(&subject, &reference);
}

#[test]
fn hand_written_cases_reference_vs_reference() {
    let a = Server::redis(&[]);
    let b = Server::redis(&[]);
    run_hand_written(&a, &b);
}

#[test]
fn case_tokenizer() {
    assert_eq!(
        tokenize(r#"SET "a b" "" "\x00\r\n\\\"" x"#).unwrap(),
        vec![
            b"SET".to_vec(),
            b"a b".to_vec(),
            b"".to_vec(),
            b"\x00\r\n\\\"".to_vec(),
            b"x".to_vec()
        ]
    );
    assert!(!parse_cases().is_empty());
}

// ---------------------------------------------------------------------------
// Random stream
// ---------------------------------------------------------------------------

const NUM_KEYS: u32 = 20;
const NUM_DBS: u32 = 3;

/// Random command generator. All expiries are either far in the future or
/// in the past (never near "now"), and GT/LT conditions are only used with
/// absolute times, so every reply is deterministic.
struct Gen {
    rng: StdRng,
}

impl Gen {
    fn pick<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items[self.rng.gen_range(0..items.len())]
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.rng.gen_range(0..100) < percent
    }

    fn key(&mut self) -> String {
        format!("k{}", self.rng.gen_range(0..NUM_KEYS))
    }

    fn keys(&mut self, max: usize) -> Vec<String> {
        let n = self.rng.gen_range(1..=max);
        (0..n).map(|_| self.key()).collect()
    }

    fn value(&mut self) -> String {
        match self.rng.gen_range(0..10) {
            0..=2 => self.rng.gen_range(-20i64..100).to_string(),
            3 => self
                .pick(&[
                    "9223372036854775807",
                    "9223372036854775806",
                    "-9223372036854775808",
                    "-9223372036854775807",
                    "12345678901234567890",
                    "9999",
                    "10000",
                    "007",
                    "-0",
                    "+1",
                    " 1",
                ])
                .to_string(),
            4 | 5 => self
                .pick(&[
                    "1.5", "-0.25", "3.0e3", "10.5", "0.1", "1e10", "2.5e-3", "100.0", "-7.75",
                    "1e308", "inf",
                ])
                .to_string(),
            6 => self.rng.gen_range(-1000.0f64..1000.0).to_string(),
            _ => match self.rng.gen_range(0..8) {
                0 => String::new(),
                1 => "x".repeat(44),
                2 => "y".repeat(45),
                3 => "a b".to_string(),
                4 => "hello".to_string(),
                5 => "z".repeat(self.rng.gen_range(1..60)),
                6 => "wörld\r\n".to_string(),
                _ => format!("v{}", self.rng.gen_range(0..1000)),
            },
        }
    }

    fn int_arg(&mut self) -> String {
        match self.rng.gen_range(0..10) {
            0 => self
                .pick(&[
                    "9223372036854775807",
                    "-9223372036854775808",
                    "abc",
                    "1.5",
                    "",
                    "9223372036854775808",
                ])
                .to_string(),
            1 => self.rng.gen_range(-1_000_000i64..1_000_000).to_string(),
            _ => self.rng.gen_range(-10i64..=10).to_string(),
        }
    }

    fn float_arg(&mut self) -> String {
        match self.rng.gen_range(0..6) {
            0 => self
                .pick(&[
                    "0.1", "-0.1", "1.5", "3.0e3", "1e308", "inf", "abc", "-1e-5", "0",
                ])
                .to_string(),
            1 => self.rng.gen_range(-100i64..100).to_string(),
            _ => format!("{:.3}", self.rng.gen_range(-100.0f64..100.0)),
        }
    }

    /// Relative expiry in seconds: always far from expiring during a test.
    fn rel_secs(&mut self) -> String {
        if self.chance(5) {
            return self
                .pick(&["0", "-1", "abc", "9223372036854775807"])
                .to_string();
        }
        self.pick(&["1000", "100000", "10000000"]).to_string()
    }

    fn rel_ms(&mut self) -> String {
        if self.chance(5) {
            return self.pick(&["0", "-1", "abc"]).to_string();
        }
        self.pick(&["1000000", "100000000", "10000000000"])
            .to_string()
    }

    /// Absolute expiry in seconds: far future (year 2100) or long past.
    fn abs_secs(&mut self) -> String {
        self.pick(&[
            "4102444800",
            "4102444900",
            "4102445000",
            "4102444850",
            "1000",
            "1",
        ])
        .to_string()
    }

    fn abs_ms(&mut self) -> String {
        self.pick(&[
            "4102444800000",
            "4102444800500",
            "4102444900123",
            "4102445000999",
            "1000",
            "1",
        ])
        .to_string()
    }

    fn pattern(&mut self) -> String {
        self.pick(&[
            "*", "k1*", "k?", "k[0-5]", "k[^1]*", "k1?", "*9", "nomatch", "k\\1*",
        ])
        .to_string()
    }

    fn db(&mut self) -> String {
        if self.chance(3) {
            return self.pick(&["16", "-1", "abc"]).to_string();
        }
        self.rng.gen_range(0..NUM_DBS).to_string()
    }

    /// One or more steps (a few ops need a follow-up to stay deterministic).
    fn next(&mut self, types: bool) -> Vec<(Check, Vec<String>)> {
        use Check::*;
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
        let k = self.key();
        let roll = self.rng.gen_range(0..1000);
        let one = |check: Check, args: Vec<String>| vec![(check, args)];
        match roll {
            0..=79 => one(Exact, s(&["GET", &k])),
            80..=229 => {
                let v = self.value();
                let mut args = s(&["SET", &k, &v]);
                let mut absolute = false;
                if self.chance(20) {
                    args.push(self.pick(&["NX", "XX"]).to_string());
                }
                if self.chance(15) {
                    args.push("GET".to_string());
                }
                if self.chance(40) {
                    match self.rng.gen_range(0..5) {
                        0 => args.extend(["EX".to_string(), self.rel_secs()]),
                        1 => args.extend(["PX".to_string(), self.rel_ms()]),
                        2 => {
                            absolute = true;
                            args.extend(["EXAT".to_string(), self.abs_secs()]);
                        }
                        3 => {
                            absolute = true;
                            args.extend(["PXAT".to_string(), self.abs_ms()]);
                        }
                        _ => args.push("KEEPTTL".to_string()),
                    }
                }
                if self.chance(4) {
                    // Usually invalid combinations / options.
                    args.push(
                        self.pick(&["NX", "XX", "KEEPTTL", "EX", "PERSIST", "GET"])
                            .to_string(),
                    );
                    if self.chance(50) {
                        args.push("10".to_string());
                    }
                }
                let mut steps = vec![(Exact, args)];
                if absolute {
                    // A past EXAT/PXAT leaves a logically expired key that is
                    // removed lazily or by the active cycle at some random
                    // time: touch it now so DBSIZE stays deterministic.
                    steps.push((Exact, s(&["EXISTS", &k])));
                }
                steps
            }
            230..=249 => {
                let v = self.value();
                one(Exact, s(&["SETNX", &k, &v]))
            }
            250..=264 => {
                let (t, v) = (self.rel_secs(), self.value());
                one(Exact, s(&["SETEX", &k, &t, &v]))
            }
            265..=274 => {
                let (t, v) = (self.rel_ms(), self.value());
                one(Exact, s(&["PSETEX", &k, &t, &v]))
            }
            275..=304 => {
                let mut args = s(&["MGET"]);
                args.extend(self.keys(4));
                one(Exact, args)
            }
            305..=329 => {
                let name = if self.chance(30) { "MSETNX" } else { "MSET" };
                let mut args = s(&[name]);
                for key in self.keys(3) {
                    args.push(key);
                    args.push(self.value());
                }
                one(Exact, args)
            }
            330..=344 => {
                let v = self.value();
                one(Exact, s(&["GETSET", &k, &v]))
            }
            345..=359 => one(Exact, s(&["GETDEL", &k])),
            360..=384 => {
                let mut args = s(&["GETEX", &k]);
                match self.rng.gen_range(0..6) {
                    0 => args.extend(["EX".to_string(), self.rel_secs()]),
                    1 => args.extend(["PX".to_string(), self.rel_ms()]),
                    2 => args.extend(["EXAT".to_string(), self.abs_secs()]),
                    3 => args.extend(["PXAT".to_string(), self.abs_ms()]),
                    4 => args.push("PERSIST".to_string()),
                    _ => {}
                }
                one(Exact, args)
            }
            385..=419 => {
                let v = self.value();
                one(Exact, s(&["APPEND", &k, &v]))
            }
            420..=434 => one(Exact, s(&["STRLEN", &k])),
            435..=454 => {
                let a = self.rng.gen_range(-12i64..12).to_string();
                let b = if self.chance(5) {
                    self.int_arg()
                } else {
                    self.rng.gen_range(-12i64..12).to_string()
                };
                one(Exact, s(&["GETRANGE", &k, &a, &b]))
            }
            455..=474 => {
                let off = if self.chance(5) {
                    self.pick(&["-1", "abc", "536870912"]).to_string()
                } else {
                    self.rng.gen_range(0..24).to_string()
                };
                let v = self.value();
                one(Exact, s(&["SETRANGE", &k, &off, &v]))
            }
            475..=514 => {
                let cmd = self.pick(&["INCR", "DECR"]);
                one(Exact, s(&[cmd, &k]))
            }
            515..=544 => {
                let cmd = self.pick(&["INCRBY", "DECRBY"]);
                let n = self.int_arg();
                one(Exact, s(&[cmd, &k, &n]))
            }
            545..=574 => {
                let f = self.float_arg();
                one(Exact, s(&["INCRBYFLOAT", &k, &f]))
            }
            575..=594 => {
                let cmd = self.pick(&["DEL", "UNLINK"]);
                let mut args = s(&[cmd]);
                args.extend(self.keys(3));
                one(Exact, args)
            }
            595..=614 => {
                let mut args = s(&["EXISTS"]);
                args.extend(self.keys(4));
                one(Exact, args)
            }
            615..=629 => one(Exact, s(&["TYPE", &k])),
            630..=639 => {
                let p = self.pattern();
                one(Unordered, s(&["KEYS", &p]))
            }
            640..=649 => {
                let mut opts = Vec::new();
                if self.chance(50) {
                    opts.extend(["MATCH".to_string(), self.pattern()]);
                }
                if self.chance(50) {
                    opts.extend(["COUNT".to_string(), self.rng.gen_range(1..30).to_string()]);
                }
                if self.chance(20) {
                    opts.extend([
                        "TYPE".to_string(),
                        self.pick(&["string", "list"]).to_string(),
                    ]);
                }
                one(Scan, opts)
            }
            650..=669 => {
                let cmd = self.pick(&["RENAME", "RENAMENX"]);
                let to = self.key();
                one(Exact, s(&[cmd, &k, &to]))
            }
            670..=709 => {
                // Relative expiries never use GT/LT: comparing two relative
                // deadlines would depend on how much time passed between
                // them.
                let (cmd, t) = if self.chance(50) {
                    ("EXPIRE", self.rel_secs())
                } else {
                    ("PEXPIRE", self.rel_ms())
                };
                let mut args = s(&[cmd, &k, &t]);
                if self.chance(30) {
                    args.push(self.pick(&["NX", "XX"]).to_string());
                }
                if self.chance(3) {
                    args.push(self.pick(&["XX", "FOO", "NX"]).to_string());
                }
                one(Exact, args)
            }
            710..=749 => {
                let (cmd, t) = if self.chance(50) {
                    ("EXPIREAT", self.abs_secs())
                } else {
                    ("PEXPIREAT", self.abs_ms())
                };
                let mut args = s(&[cmd, &k, &t]);
                if self.chance(50) {
                    args.push(self.pick(&["NX", "XX", "GT", "LT"]).to_string());
                }
                if self.chance(5) {
                    args.push(self.pick(&["NX", "XX", "GT", "LT"]).to_string());
                }
                one(Exact, args)
            }
            750..=789 => {
                let cmd = self.pick(&["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]);
                one(Ttl, s(&[cmd, &k]))
            }
            790..=804 => one(Exact, s(&["PERSIST", &k])),
            805..=819 => one(Exact, s(&["DBSIZE"])),
            820..=824 => {
                let mut args = s(&["FLUSHDB"]);
                if self.chance(50) {
                    args.push(self.pick(&["SYNC", "ASYNC"]).to_string());
                }
                one(Exact, args)
            }
            825 => one(Exact, s(&["FLUSHALL"])),
            826..=854 => {
                let db = self.db();
                one(Exact, s(&["SELECT", &db]))
            }
            855..=864 => {
                let (a, b) = (self.db(), self.db());
                one(Exact, s(&["SWAPDB", &a, &b]))
            }
            865..=884 => {
                let db = self.db();
                one(Exact, s(&["MOVE", &k, &db]))
            }
            885..=909 => {
                let to = self.key();
                let mut args = s(&["COPY", &k, &to]);
                if self.chance(50) {
                    args.extend(["DB".to_string(), self.db()]);
                }
                if self.chance(40) {
                    args.push("REPLACE".to_string());
                }
                one(Exact, args)
            }
            910..=934 => one(Exact, s(&["OBJECT", "ENCODING", &k])),
            935..=944 => one(Exact, s(&["OBJECT", "REFCOUNT", &k])),
            945..=949 => one(AnyInt, s(&["OBJECT", "IDLETIME", &k])),
            950..=959 => {
                // RANDOMKEY is only deterministic on a database with at most
                // one key: the caller runs it only after DBSIZE says so.
                vec![(Exact, s(&["DBSIZE"])), (Exact, s(&["RANDOMKEY"]))]
            }
            960..=979 => {
                if types {
                    let v = self.value();
                    one(Exact, s(&["LPUSH", &k, &v]))
                } else {
                    Vec::new()
                }
            }
            980..=989 => one(Exact, s(&["PING"])),
            _ => {
                // Odd arity / unknown commands.
                let cmd = self.pick(&["GET", "SET", "INCRBY", "EXPIRE", "FOO", "GETEX", "COPY"]);
                one(Exact, s(&[cmd]))
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
    let ops: usize = env_or("REPLIKV_DIFF_OPS", 3000);
    let mut gen = Gen {
        rng: StdRng::seed_from_u64(seed),
    };
    // Commands to leave out of the stream (the random draws are unchanged,
    // so the rest of the stream stays the same), e.g. to look past a known
    // divergence: REPLIKV_DIFF_SKIP=INCRBYFLOAT,OBJECT
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
    let types = supports(&mut pair.subject, &["LPUSH", "__probe_list__", "x"])
        && supports(&mut pair.subject, &["LRANGE", "__probe_list__", "0", "-1"]);
    let _ = pair.subject.query(&[b"FLUSHALL".to_vec()]);
    let _ = pair.reference.query(&[b"FLUSHALL".to_vec()]);
    if !types {
        eprintln!("NOTE: the subject does not support LPUSH/LRANGE: no list keys in the stream");
    }
    let context = |pair: &Pair<'_>| {
        format!(
            "seed {seed} (REPLIKV_DIFF_SEED={seed} REPLIKV_DIFF_OPS={ops} to reproduce); \
             previous steps (reference replies):\n{}",
            pair.history.iter().cloned().collect::<Vec<_>>().join("\n")
        )
    };
    let (mut errors, mut nils, mut ints, mut bulks) = (0usize, 0usize, 0usize, 0usize);
    for _ in 0..ops {
        let mut steps = gen.next(types);
        steps.retain(|(check, args)| {
            let name = match (check, args.first()) {
                (Check::Scan, _) => "SCAN".to_string(),
                (_, Some(name)) => name.to_ascii_uppercase(),
                (_, None) => String::new(),
            };
            !skip.contains(&name)
        });
        let mut skip_rest = false;
        for (check, args) in steps {
            if skip_rest {
                break;
            }
            let args: Vec<Vec<u8>> = args.into_iter().map(String::into_bytes).collect();
            let (_, b, mismatch) = pair.run(&args, check);
            match &b {
                Reply::Value(Value::ServerError(_)) => errors += 1,
                Reply::Value(Value::Nil) => nils += 1,
                Reply::Value(Value::Int(_)) => ints += 1,
                Reply::Value(Value::BulkString(_)) => bulks += 1,
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
            // A DBSIZE > 1 cancels the following RANDOMKEY.
            if check == Check::Exact
                && args.first().is_some_and(|a| a == b"DBSIZE")
                && matches!(b, Reply::Value(Value::Int(n)) if n > 1)
            {
                skip_rest = true;
            }
        }
    }
    // Compare the whole data set of every database.
    let mut mismatches = Vec::new();
    for db in 0..NUM_DBS {
        let mut check = |pair: &mut Pair<'_>, check: Check, args: &[&str]| {
            let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
            let (a, b, mismatch) = pair.run(&args, check);
            if let Some(m) = mismatch {
                mismatches.push(format!("final data set, db {db}: {m}"));
            }
            (a, b)
        };
        check(&mut pair, Check::Exact, &["SELECT", &db.to_string()]);
        check(&mut pair, Check::Exact, &["DBSIZE"]);
        let (_, keys) = check(&mut pair, Check::Unordered, &["KEYS", "*"]);
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
            let (_, kind) = check(&mut pair, Check::Exact, &["TYPE", key]);
            match kind {
                Reply::Value(Value::SimpleString(t)) if t == "string" => {
                    check(&mut pair, Check::Exact, &["GET", key]);
                    check(&mut pair, Check::Exact, &["OBJECT", "ENCODING", key]);
                }
                Reply::Value(Value::SimpleString(t)) if t == "list" => {
                    check(&mut pair, Check::Exact, &["LRANGE", key, "0", "-1"]);
                }
                _ => {}
            }
            check(&mut pair, Check::Ttl, &["PEXPIRETIME", key]);
        }
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
         (reference replies: {errors} errors, {nils} nils, {ints} integers, {bulks} bulk strings)",
        pair.step
    );
}

#[test]
fn random_stream_replikv_vs_redis() {
    let reference = Server::redis(&[]);
    let subject = Server::replikv(&[]);
    run_random(&subject, &reference);
}

#[test]
fn random_stream_reference_vs_reference() {
    let a = Server::redis(&[]);
    let b = Server::redis(&[]);
    run_random(&a, &b);
}
