//! A small blocking RESP2 client: enough to drive nodes, read INFO, run
//! pipelined load and WAIT, and walk keyspaces with SCAN.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

/// One reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`
    Status(String),
    /// `-ERR ...`
    Error(String),
    /// `:1`
    Int(i64),
    /// `$3\r\nabc` or a null bulk.
    Bulk(Option<Vec<u8>>),
    /// `*2 ...` or a null array.
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The reply as text (status, bulk, integer, error), for messages and
    /// comparisons.
    pub fn text(&self) -> String {
        match self {
            Reply::Status(s) | Reply::Error(s) => s.clone(),
            Reply::Int(i) => i.to_string(),
            Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            Reply::Bulk(None) | Reply::Array(None) => "(nil)".to_string(),
            Reply::Array(Some(items)) => {
                let parts: Vec<String> = items.iter().map(Reply::text).collect();
                format!("[{}]", parts.join(", "))
            }
        }
    }

    /// The integer of an integer reply.
    pub fn int(&self) -> Option<i64> {
        match self {
            Reply::Int(i) => Some(*i),
            Reply::Bulk(Some(b)) => std::str::from_utf8(b).ok()?.parse().ok(),
            _ => None,
        }
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Turns an error reply into a Rust error.
    pub fn ok(self) -> Result<Reply> {
        match self {
            Reply::Error(e) => bail!("{e}"),
            r => Ok(r),
        }
    }
}

/// Appends one command, as a RESP array of bulk strings, to `buf`.
pub fn encode<A: AsRef<[u8]>>(buf: &mut Vec<u8>, args: &[A]) {
    buf.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        let a = a.as_ref();
        buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        buf.extend_from_slice(a);
        buf.extend_from_slice(b"\r\n");
    }
}

/// A blocking connection to one node.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    port: u16,
}

impl Conn {
    /// Connects to `127.0.0.1:port`, and authenticates when a password is
    /// given. `timeout` bounds the connect and every read and write.
    pub fn connect(port: u16, password: Option<&str>, timeout: Duration) -> Result<Conn> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let stream = TcpStream::connect_timeout(&addr, timeout)
            .with_context(|| format!("connecting to 127.0.0.1:{port}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let writer = stream.try_clone()?;
        let mut c = Conn {
            reader: BufReader::with_capacity(64 * 1024, stream),
            writer,
            port,
        };
        if let Some(pw) = password {
            c.cmd(&["AUTH", pw])?
                .ok()
                .with_context(|| format!("AUTH on port {port}"))?;
        }
        Ok(c)
    }

    /// The port this connection talks to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends one command and reads its reply.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Reply> {
        let mut buf = Vec::new();
        encode(&mut buf, args);
        self.writer.write_all(&buf)?;
        self.read_reply()
    }

    /// Sends already encoded commands in one write and reads `n` replies.
    pub fn pipeline(&mut self, encoded: &[u8], n: usize) -> Result<Vec<Reply>> {
        self.writer.write_all(encoded)?;
        (0..n).map(|_| self.read_reply()).collect()
    }

    /// `INFO [section]` parsed into fields.
    pub fn info(&mut self, section: Option<&str>) -> Result<BTreeMap<String, String>> {
        let r = match section {
            Some(s) => self.cmd(&["INFO", s])?,
            None => self.cmd(&["INFO"])?,
        };
        match r {
            Reply::Bulk(Some(b)) => Ok(parse_info(&String::from_utf8_lossy(&b))),
            other => bail!("INFO answered {}", other.text()),
        }
    }

    fn line(&mut self) -> Result<String> {
        let mut line = Vec::new();
        let n = self.reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            bail!("connection to port {} closed", self.port);
        }
        if line.ends_with(b"\r\n") {
            line.truncate(line.len() - 2);
        } else {
            bail!("truncated reply line from port {}", self.port);
        }
        Ok(String::from_utf8_lossy(&line).into_owned())
    }

    /// Reads one reply.
    pub fn read_reply(&mut self) -> Result<Reply> {
        let line = self.line()?;
        let (kind, rest) = line.split_at(line.len().min(1));
        let num = || -> Result<i64> {
            rest.parse::<i64>()
                .map_err(|_| anyhow!("bad length in reply line {line:?}"))
        };
        Ok(match kind {
            "+" => Reply::Status(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(num()?),
            "$" => {
                let n = num()?;
                if n < 0 {
                    Reply::Bulk(None)
                } else {
                    let mut b = vec![0u8; n as usize + 2];
                    self.reader.read_exact(&mut b)?;
                    b.truncate(n as usize);
                    Reply::Bulk(Some(b))
                }
            }
            "*" => {
                let n = num()?;
                if n < 0 {
                    Reply::Array(None)
                } else {
                    let mut items = Vec::with_capacity(n as usize);
                    for _ in 0..n {
                        items.push(self.read_reply()?);
                    }
                    Reply::Array(Some(items))
                }
            }
            "_" => Reply::Bulk(None),
            _ => bail!("unexpected reply line {line:?} from port {}", self.port),
        })
    }
}

/// Parses INFO text into `field -> value`.
pub fn parse_info(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_commands() {
        let mut b = Vec::new();
        encode(&mut b, &["SET", "k", ""]);
        assert_eq!(b, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
    }

    #[test]
    fn parses_info() {
        let i = parse_info("# Replication\r\nrole:master\r\nslave0:ip=1,port=2\r\n\r\n");
        assert_eq!(i["role"], "master");
        assert_eq!(i["slave0"], "ip=1,port=2");
    }
}
