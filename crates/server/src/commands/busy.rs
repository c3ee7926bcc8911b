//! Other clients while a script runs past `busy-reply-threshold`: their
//! requests are read through each connection's duplicate socket and
//! answered `-BUSY`, except SCRIPT KILL / FUNCTION KILL (which stop the
//! script when Redis would) and SHUTDOWN NOSAVE. The connections' own
//! tasks cannot run meanwhile: the script holds the event loop.

use std::io::{Read, Write};
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use resp_codec::{Frame, Protocol, RequestDecoder};

use crate::server::Server;
use crate::session::{ClientHandle, ClientKind};

/// The listening sockets' duplicates, and the connections accepted
/// through them while a script was busy (handed to the normal accept path
/// when it ends).
#[derive(Debug, Default)]
pub struct BusyDoor {
    listeners: Vec<std::net::TcpListener>,
    pending: Vec<(std::net::TcpStream, BytesMut)>,
    /// Woken when `pending` has connections to adopt.
    pub arrived: Rc<tokio::sync::Notify>,
}

impl BusyDoor {
    /// Keeps a duplicate of a listening socket.
    pub fn add_listener(&mut self, l: std::net::TcpListener) {
        self.listeners.push(l);
    }

    /// The connections accepted while busy, with what they sent that was
    /// not answered yet.
    pub fn take_pending(&mut self) -> Vec<(std::net::TcpStream, BytesMut)> {
        std::mem::take(&mut self.pending)
    }

    /// Accepts what waits, answers everything pending; true on a kill.
    fn serve(&mut self, limits: resp_codec::DecoderLimits, running: &Running) -> bool {
        for l in &self.listeners {
            while let Ok((sock, _)) = l.accept() {
                if sock.set_nonblocking(true).is_ok() {
                    self.pending.push((sock, BytesMut::new()));
                }
            }
        }
        let mut kill = false;
        for (sock, input) in &mut self.pending {
            kill |= answer_socket(sock, input, limits, running, None);
        }
        if !self.pending.is_empty() {
            self.arrived.notify_one();
        }
        kill
    }
}

/// What the running script is, for the KILL rules.
pub struct Running {
    /// The client waiting for it.
    pub caller: u64,
    /// EVAL (true) or FCALL.
    pub is_eval: bool,
    /// It already wrote: killing it would leave half its effects.
    pub wrote: bool,
    /// It came from the master link or the AOF.
    pub obey: bool,
    /// Its name (sha or function).
    pub name: String,
    /// The command that runs it.
    pub command: Vec<Bytes>,
    /// How long it has run.
    pub elapsed_ms: i64,
}

const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
/// Most a busy client's unanswered input may grow to.
const MAX_PENDING: usize = 1 << 20;

/// Answers every other normal client's complete requests; true when one of
/// them killed the script.
pub fn answer_clients(s: &mut Server, running: &Running) -> bool {
    let handles: Vec<_> = s
        .clients
        .values()
        .filter(|h| {
            h.id != running.caller
                && h.kind.get() == ClientKind::Normal
                // Input the connection already holds must run first.
                && h.qbuf.get() == 0
                && !h.in_wait.get()
                && !s.blocking.clients.contains_key(&h.id)
        })
        .cloned()
        .collect();
    let mut kill = false;
    for h in handles {
        let mut side = h.side.borrow_mut();
        let Some(sock) = side.as_mut() else {
            continue;
        };
        let mut input = h.busy_input.borrow_mut();
        kill |= answer_socket(sock, &mut input, s.limits, running, Some(&h));
        if !input.is_empty() {
            // The connection takes the rest once the script ends.
            h.wake.notify_one();
        }
    }
    let limits = s.limits;
    kill | s.busy.serve(limits, running)
}

/// Reads what a socket has, answers its complete requests; true on a
/// kill. What is left of a partial request stays in `input`.
fn answer_socket(
    sock: &mut std::net::TcpStream,
    input: &mut BytesMut,
    limits: resp_codec::DecoderLimits,
    running: &Running,
    client: Option<&ClientHandle>,
) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    while input.len() < MAX_PENDING {
        match sock.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => input.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    }
    let mut decoder = RequestDecoder::new(limits);
    decoder.set_authenticated(true);
    let mut args: Vec<Bytes> = Vec::new();
    let mut out = BytesMut::new();
    let mut kill = false;
    while let Ok(Some(_)) = decoder.decode(input, &mut args) {
        if args.is_empty() {
            continue;
        }
        let (reply, stop) = match client {
            Some(h) if is(args.first(), b"hello") => (hello(&args, h, running), false),
            _ => answer(&args, running),
        };
        kill |= stop;
        let proto = client.map_or(Protocol::Resp2, |h| h.proto.get());
        reply.encode(proto, &mut out);
    }
    if !out.is_empty() {
        // A reply that does not fit the socket buffer now is dropped: the
        // script cannot wait for a slow reader.
        let _ = sock.write(&out);
    }
    kill
}

fn is(a: Option<&Bytes>, word: &[u8]) -> bool {
    a.is_some_and(|a| a.eq_ignore_ascii_case(word))
}

/// HELLO while busy (it is allowed then, as in Redis): the protocol and
/// the name change on the client's handle. Authenticating needs the
/// client's session, which waits for the script: HELLO with AUTH gets the
/// busy error instead.
fn hello(args: &[Bytes], h: &ClientHandle, running: &Running) -> Frame {
    let mut proto = h.proto.get();
    let mut i = 1;
    if let Some(v) = args.get(1) {
        proto = match resp_codec::parse_i64(v) {
            Some(2) => Protocol::Resp2,
            Some(3) => Protocol::Resp3,
            Some(_) => return Frame::error("NOPROTO unsupported protocol version"),
            None => return Frame::error("ERR Protocol version is not an integer or out of range"),
        };
        i = 2;
    }
    let mut name: Option<&Bytes> = None;
    while let Some(opt) = args.get(i) {
        match args.get(i + 1) {
            Some(v) if opt.eq_ignore_ascii_case(b"setname") => {
                name = Some(v);
                i += 2;
            }
            _ => return answer(args, running).0,
        }
    }
    if let Some(name) = name {
        if let Err(e) = super::client::validate_name(name) {
            return e;
        }
        *h.name.borrow_mut() =
            (!name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned());
    }
    h.proto.set(proto);
    super::generic::hello_reply(proto, h.id)
}

/// The reply to one request while busy, and whether it kills the script.
fn answer(args: &[Bytes], running: &Running) -> (Frame, bool) {
    let busy = || {
        Frame::error(if running.is_eval {
            BUSY_EVAL
        } else {
            BUSY_FUNCTION
        })
    };
    let first = args.first();
    let kill_eval = is(first, b"script") && is(args.get(1), b"kill");
    let kill_function = is(first, b"function") && is(args.get(1), b"kill");
    if is(first, b"shutdown")
        && args
            .iter()
            .skip(1)
            .any(|a| a.eq_ignore_ascii_case(b"nosave"))
    {
        tracing::warn!("User requested shutdown while a script runs, without saving. Exiting.");
        std::process::exit(0);
    }
    if is(first, b"function") && is(args.get(1), b"stats") {
        return (running_stats(running), false);
    }
    if !kill_eval && !kill_function {
        return (busy(), false);
    }
    if running.obey {
        return (Frame::error("UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed."), false);
    }
    if running.wrote {
        return (Frame::error("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."), false);
    }
    if kill_eval != running.is_eval {
        // SCRIPT KILL does not stop a function, nor FUNCTION KILL a script.
        return (busy(), false);
    }
    (Frame::ok(), true)
}

/// FUNCTION STATS while a script runs: what runs, and for how long.
fn running_stats(running: &Running) -> Frame {
    let bulk = |t: &'static str| Frame::Bulk(Bytes::from_static(t.as_bytes()));
    Frame::Map(vec![
        (
            bulk("running_script"),
            Frame::Map(vec![
                (bulk("name"), Frame::Bulk(Bytes::from(running.name.clone()))),
                (
                    bulk("command"),
                    Frame::Array(running.command.iter().cloned().map(Frame::Bulk).collect()),
                ),
                (bulk("duration_ms"), Frame::Integer(running.elapsed_ms)),
            ]),
        ),
        (
            bulk("engines"),
            Frame::Map(vec![(bulk("LUA"), Frame::Map(Vec::new()))]),
        ),
    ])
}
