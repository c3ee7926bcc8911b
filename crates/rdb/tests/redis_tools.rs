//! Files written by our writer, checked with the reference tools:
//! `redis-check-rdb` must accept them, and `redis-server` 7.0 must load
//! them with every key, value, encoding and expire time intact, accept our
//! DUMP payloads in RESTORE, and save files we read back identically.
//! Skipped (with a message) when the tools are not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Black-box tests drive files and sockets; only the library is sans-IO.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use common::{normalized, read_chunked, Resp};
use rdb::format::rdb_type;
use rdb::{
    dump_payload, parse_dump_payload, read_all, RdbEntry, RdbEvent, RdbValue, RdbWriter,
    ReaderOptions, ReplAux, StandardAux, WriterOptions,
};

const FUNCTION: &str = "#!lua name=ourlib\nredis.register_function('our_echo', function(keys, args) return args[1] end)";
const FAR_FUTURE_MS: i64 = 4_102_444_800_123;

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!("rdb-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn b(s: impl AsRef<[u8]>) -> Bytes {
    Bytes::copy_from_slice(s.as_ref())
}

/// Databases with one key per encoding our writer produces.
fn data_set() -> BTreeMap<u64, Vec<RdbEntry>> {
    let mut db0 = vec![
        RdbEntry::new("str:int", RdbValue::String(b("12345"))),
        RdbEntry::new("str:int64", RdbValue::String(b("-9223372036854775808"))),
        RdbEntry::new("str:empty", RdbValue::String(b(""))),
        RdbEntry::new(
            "str:binary",
            RdbValue::String(Bytes::from((0..=255u8).collect::<Vec<_>>())),
        ),
        RdbEntry::new(
            "str:compressible",
            RdbValue::String(b("hello world ".repeat(500))),
        ),
        RdbEntry::new("12", RdbValue::String(b("integer key"))),
        RdbEntry::new(
            "list:small",
            RdbValue::List(
                ["a", "1", "-1", "300", "-70000", "9999999999", "", "007"]
                    .map(b)
                    .to_vec(),
            ),
        ),
        RdbEntry::new(
            "list:big",
            RdbValue::List(
                (0..5000)
                    .map(|i| b(format!("element-{i}-{}", "p".repeat(i % 40))))
                    .collect(),
            ),
        ),
        RdbEntry::new(
            "list:fat",
            RdbValue::List((0..4).map(|i| b(i.to_string().repeat(10_000))).collect()),
        ),
        RdbEntry::new("set:int16", RdbValue::Set(["3", "-2", "1"].map(b).to_vec())),
        RdbEntry::new("set:int32", RdbValue::Set(["1", "-100000"].map(b).to_vec())),
        RdbEntry::new(
            "set:int64",
            RdbValue::Set(["1", "1099511627776"].map(b).to_vec()),
        ),
        RdbEntry::new(
            "set:strings",
            RdbValue::Set(["x", "y", "007"].map(b).to_vec()),
        ),
        RdbEntry::new(
            "set:many-ints",
            RdbValue::Set((0..600).map(|i| b((i * 3).to_string())).collect()),
        ),
        RdbEntry::new(
            "zset:listpack",
            RdbValue::SortedSet(vec![
                (b("one"), 1.0),
                (b("half"), 0.5),
                (b("inf"), f64::INFINITY),
                (b("-inf"), f64::NEG_INFINITY),
                (b("big"), 1e20),
                (b("tenth"), 0.1),
                (b("neg"), -3.0),
            ]),
        ),
        RdbEntry::new(
            "zset:skiplist",
            RdbValue::SortedSet(
                (0..300)
                    .map(|i| (b(format!("m{i}")), f64::from(i) / 3.0))
                    .collect(),
            ),
        ),
        RdbEntry::new(
            "zset:long-member",
            RdbValue::SortedSet(vec![(b("L".repeat(80)), f64::NEG_INFINITY), (b("s"), 2.0)]),
        ),
        RdbEntry::new(
            "hash:listpack",
            RdbValue::Hash(vec![(b("a"), b("1")), (b("b"), b("two")), (b("c"), b(""))]),
        ),
        RdbEntry::new(
            "hash:many",
            RdbValue::Hash(
                (0..600)
                    .map(|i| (b(format!("f{i}")), b(format!("v{i}"))))
                    .collect(),
            ),
        ),
        RdbEntry::new(
            "hash:long-value",
            RdbValue::Hash(vec![(b("k"), b("v".repeat(65)))]),
        ),
    ];
    let mut exp = RdbEntry::new("exp:str", RdbValue::String(b("expiring")));
    exp.expire_ms = Some(FAR_FUTURE_MS);
    db0.push(exp);
    let mut exp = RdbEntry::new("exp:hash", RdbValue::Hash(vec![(b("f"), b("v"))]));
    exp.expire_ms = Some(FAR_FUTURE_MS + 1);
    db0.push(exp);
    let mut db3 = vec![RdbEntry::new("db3:list", RdbValue::List(vec![b("x")]))];
    let mut lfu = RdbEntry::new("db3:freq", RdbValue::String(b("v")));
    lfu.freq = Some(9);
    lfu.idle_secs = Some(100);
    db3.push(lfu);
    let db15 = vec![RdbEntry::new(
        "db15:zset",
        RdbValue::SortedSet(vec![(b("a"), 1.5)]),
    )];
    BTreeMap::from([(0, db0), (3, db3), (15, db15)])
}

fn write_file(dbs: &BTreeMap<u64, Vec<RdbEntry>>, opts: WriterOptions, path: &Path) {
    let mut w = RdbWriter::new(opts);
    let mut out = BytesMut::new();
    let mut file = std::fs::File::create(path).unwrap();
    let mut drain = |out: &mut BytesMut, force: bool| {
        if force || out.len() > 16 * 1024 {
            std::io::Write::write_all(&mut file, &out.split()).unwrap();
        }
    };
    w.write_header(&mut out);
    w.write_standard_aux(
        &StandardAux {
            redis_ver: "7.0.15".into(),
            redis_bits: 64,
            ctime: 1_700_000_000,
            used_mem: 1_234_567,
            repl: Some(ReplAux {
                stream_db: 0,
                repl_id: "0123456789abcdef0123456789abcdef01234567".into(),
                repl_offset: 0,
            }),
            aof_base: false,
        },
        &mut out,
    );
    w.write_function(FUNCTION.as_bytes(), &mut out);
    for (db, entries) in dbs {
        w.write_select_db(*db, &mut out);
        let expiring = entries.iter().filter(|e| e.expire_ms.is_some()).count() as u64;
        w.write_resize_db(entries.len() as u64, expiring, &mut out);
        for e in entries {
            w.write_entry(e, &mut out).unwrap();
            drain(&mut out, false);
        }
    }
    w.write_eof(&mut out);
    drain(&mut out, true);
}

const OPTION_SETS: [(bool, bool); 3] = [(true, true), (false, true), (true, false)];

#[test]
fn redis_check_rdb_accepts_our_files() {
    if !have("redis-check-rdb") {
        println!("SKIPPED: redis-check-rdb is not installed");
        return;
    }
    let dir = TempDir::new("check");
    for (compression, checksum) in OPTION_SETS {
        let path = dir.0.join(format!("c{compression}-k{checksum}.rdb"));
        write_file(
            &data_set(),
            WriterOptions {
                compression,
                checksum,
                ..WriterOptions::default()
            },
            &path,
        );
        let out = Command::new("redis-check-rdb").arg(&path).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("RDB looks OK"),
            "redis-check-rdb rejected {}:\n{text}{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(&format!("{} keys read", 25)), "{text}");
        assert!(text.contains("0 already expired"), "{text}");
    }
}

/// A redis-server child process, killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(dir: &Path, file: &str) -> Server {
    let port = free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "no", "--daemonize", "no"])
        .arg("--dir")
        .arg(dir)
        .args(["--dbfilename", file, "--logfile", "server.log"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut c) = Resp::connect(port) {
            if c.cmd(&[b"PING"]) == common::Reply::Status("PONG".into()) {
                return server;
            }
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            panic!("redis-server did not start:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "redis-cli {args:?} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `OBJECT ENCODING` that Redis reports after loading a value of this RDB type.
fn encoding_name(t: u8) -> &'static str {
    match t {
        rdb_type::STRING => "string",
        rdb_type::LIST_QUICKLIST_2 => "quicklist",
        rdb_type::SET_INTSET => "intset",
        rdb_type::SET => "hashtable",
        rdb_type::ZSET_LISTPACK => "listpack",
        rdb_type::ZSET_2 => "skiplist",
        rdb_type::HASH_LISTPACK => "listpack",
        rdb_type::HASH => "hashtable",
        other => panic!("writer used type {other}"),
    }
}

#[test]
fn redis_server_loads_our_files() {
    if !have("redis-server") || !have("redis-cli") {
        println!("SKIPPED: redis-server or redis-cli is not installed");
        return;
    }
    let dbs = data_set();
    for (compression, checksum) in OPTION_SETS {
        let dir = TempDir::new("server");
        let opts = WriterOptions {
            compression,
            checksum,
            ..WriterOptions::default()
        };
        let path = dir.0.join("x.rdb");
        write_file(&dbs, opts, &path);
        // The RDB type our writer chose for each key.
        let ours = std::fs::read(&path).unwrap();
        let types: BTreeMap<Bytes, u8> =
            read_chunked(&ours, &[ours.len()], ReaderOptions::default())
                .unwrap()
                .into_iter()
                .filter_map(|(e, t)| match e {
                    RdbEvent::Entry(e) => Some((e.key, t.unwrap())),
                    _ => None,
                })
                .collect();

        let server = start_server(&dir.0, "x.rdb");
        let mut c = Resp::connect(server.port).unwrap();
        assert_eq!(
            redis_cli(server.port, &["-n", "0", "DBSIZE"]),
            dbs[&0].len().to_string()
        );
        let libs = redis_cli(server.port, &["FUNCTION", "LIST"]);
        assert!(libs.contains("ourlib"), "{libs}");
        for (db, entries) in &dbs {
            c.cmd(&[b"SELECT", db.to_string().as_bytes()]);
            assert_eq!(c.cmd(&[b"DBSIZE"]).int(), entries.len() as i64, "db {db}");
            for e in entries {
                let what = format!("db {db} key {:?} ({compression}, {checksum})", e.key);
                let got = c.value(&e.key);
                assert_eq!(normalized(&got), normalized(&e.value), "{what}");
                let enc = c.cmd(&[b"OBJECT", b"ENCODING", &e.key]).text();
                let want = encoding_name(types[&e.key]);
                if want == "string" {
                    assert!(
                        ["int", "embstr", "raw"].contains(&enc.as_str()),
                        "{what}: {enc}"
                    );
                } else {
                    assert_eq!(enc, want, "{what}");
                }
                let pexp = c.cmd(&[b"PEXPIRETIME", &e.key]).int();
                assert_eq!(e.expire_ms.unwrap_or(-1), pexp, "{what}");
                // Redis's DUMP of the loaded value reads back as the value.
                let dump = c.cmd(&[b"DUMP", &e.key]).bulk();
                let parsed = parse_dump_payload(&dump).unwrap();
                assert_eq!(normalized(&parsed), normalized(&e.value), "{what}");
                // Our DUMP payload restores to the same value.
                let copy = [b"restored:".as_slice(), &e.key].concat();
                let payload = dump_payload(&e.value);
                let r = c.cmd(&[b"RESTORE", &copy, b"0", &payload]);
                assert_eq!(r, common::Reply::Status("OK".into()), "{what}");
                assert_eq!(normalized(&c.value(&copy)), normalized(&e.value), "{what}");
                c.cmd(&[b"DEL", &copy]);
            }
        }
        // RESTORE rejects damaged payloads with the texts we document.
        let mut bad = dump_payload(&RdbValue::String(b("x"))).to_vec();
        let n = bad.len();
        bad[n - 1] ^= 1;
        let e = parse_dump_payload(&bad).unwrap_err();
        assert_eq!(
            c.cmd(&[b"RESTORE", b"bad", b"0", &bad]),
            common::Reply::Error(e.restore_reply().into())
        );

        // Redis saves the data again; our reader sees the same data set.
        assert_eq!(redis_cli(server.port, &["SAVE"]), "OK");
        let saved = std::fs::read(&path).unwrap();
        let events = read_all(&saved).unwrap();
        let mut db = 0;
        let mut got: BTreeMap<u64, BTreeMap<Bytes, RdbEntry>> = BTreeMap::new();
        for ev in events {
            match ev {
                RdbEvent::SelectDb(n) => db = n,
                RdbEvent::Entry(e) => {
                    got.entry(db).or_default().insert(e.key.clone(), e);
                }
                _ => {}
            }
        }
        for (db, entries) in &dbs {
            assert_eq!(got[db].len(), entries.len());
            for e in entries {
                let g = &got[db][&e.key];
                assert_eq!(normalized(&g.value), normalized(&e.value));
                assert_eq!(g.expire_ms, e.expire_ms);
            }
        }
        drop(server);
    }
}
