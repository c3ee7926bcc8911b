//! Helpers shared by the integration tests: the `.expected` fixture
//! listings, value normalisation, chunked reading and a tiny RESP client.
// Test helpers: panicking on broken expectations is intended, and not every
// test binary uses every helper.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;

use bytes::Bytes;
use rdb::{RdbError, RdbEvent, RdbReader, RdbValue, ReaderOptions};

/// Directory of the committed fixtures.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Reads a fixture file.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// One key of an `.expected` listing.
#[derive(Debug, Clone)]
pub struct ExpectedKey {
    pub key: Bytes,
    pub type_name: String,
    pub encoding: String,
    pub expire_ms: Option<i64>,
    pub freq: Option<u8>,
    pub idle: bool,
    pub value: RdbValue,
    pub dump: Vec<u8>,
}

/// A parsed `.expected` listing.
#[derive(Debug, Default)]
pub struct Expected {
    pub functions: Vec<Bytes>,
    pub dbs: BTreeMap<u64, Vec<ExpectedKey>>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn token(t: &str) -> Bytes {
    if let Some(s) = t.strip_prefix("s:") {
        Bytes::copy_from_slice(s.as_bytes())
    } else if let Some(h) = t.strip_prefix("x:") {
        Bytes::from(unhex(h))
    } else {
        panic!("bad token {t}")
    }
}

/// Parses `tests/fixtures/<name>.expected`.
pub fn expected(name: &str) -> Expected {
    let text = String::from_utf8(fixture(&format!("{name}.expected"))).unwrap();
    let mut exp = Expected::default();
    let mut db = None;
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts[0] {
            "function" => exp.functions.push(token(parts[1])),
            "db" => {
                let n = parts[1].parse().unwrap();
                exp.dbs.insert(n, Vec::new());
                db = Some(n);
            }
            "key" => {
                let value = match parts[3] {
                    "string" => RdbValue::String(Bytes::new()),
                    "list" => RdbValue::List(vec![]),
                    "set" => RdbValue::Set(vec![]),
                    "zset" => RdbValue::SortedSet(vec![]),
                    "hash" => RdbValue::Hash(vec![]),
                    t => panic!("type {t}"),
                };
                let keys = exp.dbs.get_mut(&db.unwrap()).unwrap();
                keys.push(ExpectedKey {
                    key: token(parts[1]),
                    type_name: parts[3].to_owned(),
                    encoding: parts[5].to_owned(),
                    expire_ms: parts[7].parse().ok(),
                    freq: parts[9].parse().ok(),
                    idle: parts[11] == "yes",
                    value,
                    dump: vec![],
                });
            }
            item => {
                let k = exp.dbs.get_mut(&db.unwrap()).unwrap().last_mut().unwrap();
                match (item, &mut k.value) {
                    ("v", RdbValue::String(s)) => *s = token(parts[1]),
                    ("e", RdbValue::List(v)) | ("m", RdbValue::Set(v)) => v.push(token(parts[1])),
                    ("z", RdbValue::SortedSet(v)) => {
                        v.push((token(parts[1]), parts[2].parse().unwrap()))
                    }
                    ("h", RdbValue::Hash(v)) => v.push((token(parts[1]), token(parts[2]))),
                    ("dump", _) => k.dump = unhex(parts[1]),
                    _ => panic!("unexpected line {line}"),
                }
            }
        }
    }
    exp
}

/// The RDB type byte Redis 7.0 saves a value of this type and
/// `OBJECT ENCODING` as.
pub fn rdb_type_for(type_name: &str, encoding: &str) -> u8 {
    use rdb::format::rdb_type::*;
    match (type_name, encoding) {
        ("string", _) => STRING,
        ("list", "quicklist") => LIST_QUICKLIST_2,
        ("set", "intset") => SET_INTSET,
        ("set", "hashtable") => SET,
        ("zset", "listpack") => ZSET_LISTPACK,
        ("zset", "skiplist") => ZSET_2,
        ("hash", "listpack") => HASH_LISTPACK,
        ("hash", "hashtable") => HASH,
        other => panic!("no RDB type for {other:?}"),
    }
}

/// A value with its unordered collections sorted, for comparisons.
pub fn normalized(v: &RdbValue) -> RdbValue {
    let mut v = v.clone();
    match &mut v {
        RdbValue::String(_) | RdbValue::List(_) => {}
        RdbValue::Set(m) => m.sort(),
        RdbValue::SortedSet(z) => z.sort_by(|a, b| a.0.cmp(&b.0)),
        RdbValue::Hash(h) => h.sort(),
    }
    v
}

/// Reads `data` fed in chunks of the given sizes (cycled), returning each
/// event with the RDB type of the value for entries.
pub fn read_chunked(
    data: &[u8],
    chunk_sizes: &[usize],
    opts: ReaderOptions,
) -> Result<Vec<(RdbEvent, Option<u8>)>, RdbError> {
    let mut r = RdbReader::new(opts);
    let mut out = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < data.len() {
        let n = chunk_sizes[i % chunk_sizes.len()]
            .max(1)
            .min(data.len() - pos);
        i += 1;
        r.feed(&data[pos..pos + n]);
        pos += n;
        while let Some(ev) = r.next_event()? {
            let t = matches!(ev, RdbEvent::Entry(_))
                .then(|| r.last_value_type())
                .flatten();
            out.push((ev, t));
        }
    }
    r.finish()?;
    // Bytes after the checksum trailer are left unconsumed.
    assert!(r.bytes_consumed() <= data.len() as u64);
    Ok(out)
}

/// A minimal, binary-safe RESP2 client for checking a reference server.
pub struct Resp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// A RESP2 reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

impl Reply {
    pub fn bulk(&self) -> Vec<u8> {
        match self {
            Reply::Bulk(Some(b)) => b.clone(),
            other => panic!("expected bulk, got {other:?}"),
        }
    }
    pub fn text(&self) -> String {
        match self {
            Reply::Status(s) => s.clone(),
            Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("expected text, got {other:?}"),
        }
    }
    pub fn int(&self) -> i64 {
        match self {
            Reply::Int(i) => *i,
            other => panic!("expected integer, got {other:?}"),
        }
    }
    pub fn array(&self) -> Vec<Reply> {
        match self {
            Reply::Array(a) => a.clone(),
            other => panic!("expected array, got {other:?}"),
        }
    }
}

impl Resp {
    pub fn connect(port: u16) -> std::io::Result<Self> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
        Ok(Self {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
        })
    }

    pub fn cmd(&mut self, args: &[&[u8]]) -> Reply {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&out).unwrap();
        self.read()
    }

    fn read(&mut self) -> Reply {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).unwrap();
        let text = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
        match line[0] {
            b'+' => Reply::Status(text),
            b'-' => Reply::Error(text),
            b':' => Reply::Int(text.parse().unwrap()),
            b'$' => {
                let n: i64 = text.parse().unwrap();
                if n < 0 {
                    return Reply::Bulk(None);
                }
                let mut buf = vec![0; n as usize + 2];
                self.reader.read_exact(&mut buf).unwrap();
                buf.truncate(n as usize);
                Reply::Bulk(Some(buf))
            }
            b'*' => {
                let n: i64 = text.parse().unwrap();
                Reply::Array((0..n.max(0)).map(|_| self.read()).collect())
            }
            b => panic!("bad reply type {b}"),
        }
    }

    /// The value of `key` in the selected database, in the server's order.
    pub fn value(&mut self, key: &[u8]) -> RdbValue {
        let t = self.cmd(&[b"TYPE", key]).text();
        let bulks =
            |r: Reply| -> Vec<Bytes> { r.array().iter().map(|x| Bytes::from(x.bulk())).collect() };
        match t.as_str() {
            "string" => RdbValue::String(Bytes::from(self.cmd(&[b"GET", key]).bulk())),
            "list" => RdbValue::List(bulks(self.cmd(&[b"LRANGE", key, b"0", b"-1"]))),
            "set" => RdbValue::Set(bulks(self.cmd(&[b"SMEMBERS", key]))),
            "zset" => {
                let flat = bulks(self.cmd(&[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]));
                RdbValue::SortedSet(
                    flat.chunks(2)
                        .map(|c| {
                            let s = std::str::from_utf8(&c[1]).unwrap().parse().unwrap();
                            (c[0].clone(), s)
                        })
                        .collect(),
                )
            }
            "hash" => {
                let flat = bulks(self.cmd(&[b"HGETALL", key]));
                RdbValue::Hash(
                    flat.chunks(2)
                        .map(|c| (c[0].clone(), c[1].clone()))
                        .collect(),
                )
            }
            other => panic!("type {other}"),
        }
    }
}
