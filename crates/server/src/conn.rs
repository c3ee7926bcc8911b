//! One client connection: read what is available, run every complete
//! request in order under a single borrow of the server, write all replies
//! in one batch.

use crate::config::key;
use std::cell::RefCell;
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use resp_codec::{Frame, RequestDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::commands::dispatch;
use crate::server::{unix_ms, Server};
use crate::session::{Blocked, Session};

/// Read buffer size, as Redis's `PROTO_IOBUF_LEN`.
const READ_CHUNK: usize = 16 * 1024;
/// Output buffers larger than this are released after being written, so one
/// large reply does not pin memory for the life of the connection.
const KEEP_OUTPUT: usize = 64 * 1024;

/// Takes a new connection: registers it as a client at once (so a script
/// that turns busy before the connection's task first runs still sees it)
/// and spawns the task that serves it until it quits, is killed, or breaks
/// the protocol. `early` holds bytes a busy script already read from it.
pub fn open(server: &Rc<RefCell<Server>>, stream: TcpStream, early: BytesMut) {
    // Keep a duplicate of the socket for busy scripts (see
    // `ClientHandle::side`).
    let Ok(std_stream) = stream.into_std() else {
        return;
    };
    let side = std_stream.try_clone().ok();
    let Ok(mut stream) = TcpStream::from_std(std_stream) else {
        return;
    };
    let (Ok(addr), Ok(laddr)) = (stream.peer_addr(), stream.local_addr()) else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let keepalive = server.borrow().config.int(key::TCP_KEEPALIVE);
    if keepalive > 0 {
        // `tcp-keepalive`: detect dead peers, as Redis does.
        let ka = socket2::TcpKeepalive::new()
            .with_time(std::time::Duration::from_secs(keepalive.unsigned_abs()));
        let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&ka);
    }
    let accepted = {
        let mut s = server.borrow_mut();
        let maxclients = usize::try_from(s.config.int(key::MAXCLIENTS)).unwrap_or(usize::MAX);
        if s.clients.len() >= maxclients {
            s.stats.rejected_connections += 1;
            None
        } else {
            let handle = s.register_client(addr, laddr);
            *handle.side.borrow_mut() = side;
            *handle.busy_input.borrow_mut() = early;
            let mut decoder = RequestDecoder::new(s.limits);
            let authed = !s.auth_required();
            decoder.set_authenticated(authed);
            tracing::debug!("Accepted {addr}");
            Some((handle.clone(), decoder, Session::new(handle, authed)))
        }
    };
    let Some((handle, decoder, sess)) = accepted else {
        tokio::task::spawn_local(async move {
            let _ = stream
                .write_all(b"-ERR max number of clients reached\r\n")
                .await;
        });
        return;
    };
    let conn = Conn {
        server: server.clone(),
        stream,
        addr,
        handle,
        decoder,
        sess,
        rbuf: BytesMut::with_capacity(READ_CHUNK),
        wbuf: BytesMut::with_capacity(READ_CHUNK),
        args: Vec::with_capacity(8),
    };
    tokio::task::spawn_local(conn.run());
}

/// What a served connection owns between reads.
struct Conn {
    server: Rc<RefCell<Server>>,
    stream: TcpStream,
    addr: std::net::SocketAddr,
    handle: Rc<crate::session::ClientHandle>,
    decoder: RequestDecoder,
    sess: Session,
    /// Bytes read and not yet decoded.
    rbuf: BytesMut,
    /// Replies not yet written.
    wbuf: BytesMut,
    /// The request being decoded (reused).
    args: Vec<Bytes>,
}

impl Conn {
    /// Reads, runs and answers until the client leaves; then forgets it.
    async fn run(mut self) {
        let early = !self.handle.busy_input.borrow().is_empty();
        if early && !self.serve_read(0).await {
            self.close().await;
            return;
        }
        while let Some(n) = self.read().await {
            if !self.serve_read(n).await {
                break;
            }
        }
        self.close().await;
    }

    /// Waits for input (or a wake-up, which reads as 0 bytes); None once the
    /// peer has gone or the client was killed.
    async fn read(&mut self) -> Option<usize> {
        if self.rbuf.capacity() - self.rbuf.len() < READ_CHUNK / 2 {
            let hint = self.decoder.pending_bulk_hint().unwrap_or(0).min(1 << 20);
            self.rbuf.reserve(READ_CHUNK.max(hint));
        }
        let room = self.rbuf.capacity() - self.rbuf.len();
        let n = tokio::select! {
            biased;
            r = self.stream.read_buf(&mut self.rbuf) => match r {
                Ok(0) | Err(_) => return None,
                Ok(n) => n,
            },
            _ = self.handle.wake.notified() => 0,
        };
        if self.handle.killed.get() {
            return None;
        }
        if n > 0 && n < room {
            // A short read drained the socket. Clearing the cached readiness
            // now saves the read that would only return EAGAIN before the
            // task sleeps; a newer readiness event is not lost by this.
            let _ = self.stream.try_io(tokio::io::Interest::READABLE, || {
                Err::<(), _>(std::io::ErrorKind::WouldBlock.into())
            });
        }
        Some(n)
    }

    /// Runs what the last read completed, writes the replies, and serves a
    /// client that blocked until it no longer is (its later requests run
    /// after it unblocks); false when the connection must close.
    async fn serve_read(&mut self, n: usize) -> bool {
        let mut counted_read = Some(n);
        loop {
            let close = {
                let server = self.server.clone();
                let mut s = server.borrow_mut();
                if let Some(n) = counted_read.take() {
                    s.stats.net_input_bytes += n as u64;
                    s.stats.total_reads += 1;
                }
                let close = self.run_requests(&mut s);
                self.after_batch(&mut s) || close
            };
            if !self.flush().await {
                return false;
            }
            if close
                || (self.handle.close_after_flush.get() && self.handle.pushes.borrow().is_empty())
            {
                return false;
            }
            let Some(blocked) = self.sess.blocked else {
                return true;
            };
            if !self.finish_blocked(blocked).await {
                return false;
            }
        }
    }

    /// Decodes and runs every complete request in the read buffer, until
    /// one blocks; true when the connection must close after the replies.
    fn run_requests(&mut self, s: &mut Server) -> bool {
        {
            // Input a busy script read and did not answer comes first.
            let mut early = self.handle.busy_input.borrow_mut();
            if !early.is_empty() {
                let mut merged = early.split();
                merged.extend_from_slice(&self.rbuf);
                self.rbuf = merged;
                self.decoder.reset();
            }
        }
        let now = unix_ms();
        self.handle.last_interaction_ms.set(now);
        let close = loop {
            match self.decoder.decode(&mut self.rbuf, &mut self.args) {
                Ok(Some(_)) => {}
                Ok(None) => break false,
                Err(e) => {
                    tracing::debug!(
                        "Protocol error ({e}) from client: id={} addr={}",
                        self.handle.id,
                        self.addr
                    );
                    s.stats.count_error(b"ERR");
                    e.encode_reply(&mut self.wbuf);
                    break true;
                }
            }
            if self.args.is_empty() {
                // A replica sends bare newlines while it loads a long
                // snapshot: they keep it from timing out.
                if self.handle.kind.get() == crate::session::ClientKind::Replica {
                    s.repl.node.master.handle_replica_newline(
                        replication::master::ReplicaId(self.handle.id),
                        now as u64,
                    );
                }
                continue;
            }
            if s.paused_for(&self.sess, &self.args, now) {
                self.sess.postponed = Some(
                    self.args
                        .iter()
                        .map(|a| Bytes::copy_from_slice(a))
                        .collect(),
                );
                self.sess.blocked = Some(Blocked::Paused);
                break false;
            }
            let was_authed = self.sess.authenticated;
            let args = std::mem::take(&mut self.args);
            let reply = self.execute(s, &args, now);
            self.args = args;
            if self.sess.blocked.is_some() {
                // The reply comes when the client unblocks; later requests
                // wait in the buffer.
                break false;
            }
            write_reply(&mut self.sess, &reply, &mut self.wbuf);
            if self.sess.authenticated != was_authed {
                self.decoder.set_authenticated(self.sess.authenticated);
            }
            if self.sess.close_after_reply {
                break true;
            }
        };
        self.args.clear();
        close
    }

    /// Runs one request and counts its error; messages published to this
    /// client (possibly by this very command) are queued before its reply.
    fn execute(&mut self, s: &mut Server, args: &[Bytes], now: i64) -> Frame {
        let reply = dispatch(s, &mut self.sess, args, now);
        if let Frame::Error(msg) = &reply {
            s.stats.count_error(msg);
        }
        self.take_pushes();
        reply
    }

    /// Moves what other parts of the server queued for this client
    /// (published messages, the replication stream) to the output.
    fn take_pushes(&mut self) {
        let mut pushes = self.handle.pushes.borrow_mut();
        if !pushes.is_empty() {
            self.wbuf.extend_from_slice(&pushes);
            pushes.clear();
        }
    }

    /// The work after a batch of requests; true when the client must go
    /// (its query buffer passed the limit).
    fn after_batch(&mut self, s: &mut Server) -> bool {
        // The batch's writes reach the AOF (synced first with `appendfsync
        // always`), the backlog and replicas together, before any reply to
        // them goes out.
        let fed_replicas = s.deliver_stream();
        if let Some(aof) = s.aof.as_mut() {
            crate::aof::exit_if_fatal(aof.write());
        }
        if fed_replicas {
            crate::repl::drive(s);
        }
        let limit = query_buffer_limit(s);
        let over = self.rbuf.len() > limit;
        if over {
            tracing::warn!(
                "Closing client that reached max query buffer length: id={} addr={} qbuf={}",
                self.handle.id,
                self.addr,
                self.rbuf.len()
            );
        }
        self.take_pushes();
        self.handle.qbuf.set(self.rbuf.len());
        self.handle.obuf.set(self.wbuf.len());
        if !self.wbuf.is_empty() {
            s.stats.net_output_bytes += self.wbuf.len() as u64;
            s.stats.total_writes += 1;
        }
        over
    }

    /// Writes the pending output; false if the peer is gone.
    async fn flush(&mut self) -> bool {
        if self.wbuf.is_empty() {
            return true;
        }
        if self.stream.write_all(&self.wbuf).await.is_err() {
            return false;
        }
        if self.handle.kind.get() == crate::session::ClientKind::Replica {
            // The socket made progress: the master side learns what is still
            // queued (output-buffer limits, the diskless transfer timeout).
            let mut s = self.server.borrow_mut();
            let pending = self.handle.pushes.borrow().len() as u64;
            s.repl.node.master.handle_replica_pending(
                replication::master::ReplicaId(self.handle.id),
                unix_ms() as u64,
                pending,
            );
            crate::repl::drive(&mut s);
        }
        if self.wbuf.capacity() > KEEP_OUTPUT {
            self.wbuf = BytesMut::with_capacity(READ_CHUNK);
        } else {
            self.wbuf.clear();
        }
        self.handle.obuf.set(0);
        true
    }

    /// Waits until a blocked client is served or times out, and queues its
    /// reply; a request held back by a pause runs now. False if the client
    /// hung up or was killed meanwhile.
    async fn finish_blocked(&mut self, blocked: Blocked) -> bool {
        let peer = Peer {
            stream: &mut self.stream,
            rbuf: &mut self.rbuf,
        };
        let Some(reply) = wait_unblocked(&self.server, &self.handle, blocked, peer).await else {
            return false;
        };
        self.sess.blocked = None;
        if let Some(args) = self.sess.postponed.take() {
            // The pause is over: run the held-back request now.
            let server = self.server.clone();
            let mut s = server.borrow_mut();
            let reply = self.execute(&mut s, &args, unix_ms());
            if self.sess.blocked.is_some() {
                // Blocked again: its reply comes when it unblocks.
                self.sess.skip_reply = true;
            }
            write_reply(&mut self.sess, &reply, &mut self.wbuf);
        } else {
            reply.encode(self.sess.proto(), &mut self.wbuf);
        }
        true
    }

    /// Closes the socket and removes every trace of the client.
    async fn close(mut self) {
        // The duplicate would keep the socket open after this one closes.
        *self.handle.side.borrow_mut() = None;
        let _ = self.stream.shutdown().await;
        let mut s = self.server.borrow_mut();
        let handle = &self.handle;
        crate::commands::tx::unwatch_all(&mut s, &mut self.sess);
        crate::commands::pubsub::forget_client(&mut s, handle);
        s.blocking.unblock(handle.id);
        // Any connection the master machine has a record of, replica or one
        // that only sent REPLCONF, must be forgotten there too.
        if handle.kind.get() == crate::session::ClientKind::Replica
            || s.repl
                .node
                .master
                .knows(replication::master::ReplicaId(handle.id))
        {
            crate::repl::replica_gone(&mut s, handle.id);
        }
        s.unregister_client(handle.id);
    }
}

/// `client-query-buffer-limit` in bytes.
fn query_buffer_limit(s: &Server) -> usize {
    usize::try_from(s.config.int(key::CLIENT_QUERY_BUFFER_LIMIT)).unwrap_or(usize::MAX)
}

/// Appends a request's reply (unless it asked for none) and any extra
/// replies it produced.
fn write_reply(sess: &mut Session, reply: &Frame, wbuf: &mut BytesMut) {
    let proto = sess.proto();
    if sess.skip_reply {
        sess.skip_reply = false;
    } else {
        reply.encode(proto, wbuf);
    }
    for extra in sess.extra_replies.drain(..) {
        extra.encode(proto, wbuf);
    }
}

/// Sleeps up to `ms` while a client waits, waking early on `also`, on the
/// client's own wake-up or on input from it; false once it hung up.
async fn nap(
    handle: &crate::session::ClientHandle,
    peer: &mut Peer<'_>,
    limit: usize,
    also: Option<&tokio::sync::Notify>,
    ms: u64,
) -> bool {
    let also = async {
        match also {
            Some(n) => n.notified().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = also => true,
        _ = tokio::time::sleep(std::time::Duration::from_millis(ms)) => true,
        _ = handle.wake.notified() => true,
        open = peer.readable(limit) => open,
    }
}

/// A blocked client's socket, still read while it waits: Redis keeps
/// reading a blocked client, so a client that hangs up is noticed (and
/// unblocked, freeing its slot and leaving the list it waited on alone)
/// instead of being served an element it will never see.
struct Peer<'a> {
    stream: &'a mut TcpStream,
    rbuf: &'a mut BytesMut,
}

impl Peer<'_> {
    /// Waits for the peer to send something; false once it has closed the
    /// connection, or sent more than the query buffer limit while blocked.
    async fn readable(&mut self, limit: usize) -> bool {
        self.rbuf.reserve(READ_CHUNK);
        match self.stream.read_buf(self.rbuf).await {
            Ok(0) | Err(_) => false,
            Ok(_) => self.rbuf.len() <= limit,
        }
    }
}

/// Waits until a blocked client's condition holds or its timeout passes,
/// and gives the reply; None if the client was killed or hung up
/// meanwhile.
async fn wait_unblocked(
    server: &Rc<RefCell<Server>>,
    handle: &crate::session::ClientHandle,
    blocked: Blocked,
    mut peer: Peer<'_>,
) -> Option<Frame> {
    let limit = query_buffer_limit(&server.borrow());
    match blocked {
        Blocked::Paused => loop {
            let (until, unpaused) = {
                let s = server.borrow();
                (
                    s.clients.pause_set().map(|p| p.until_ms),
                    s.clients.unpaused(),
                )
            };
            let now = unix_ms();
            let Some(until) = until.filter(|u| *u > now) else {
                return Some(Frame::Null);
            };
            let ms = (until - now).clamp(1, 100) as u64;
            if !nap(handle, &mut peer, limit, Some(&unpaused), ms).await {
                return None;
            }
            if handle.killed.get() {
                return None;
            }
        },
        Blocked::Keys { deadline_ms } => loop {
            if let Some(reply) = handle.unblocked.borrow_mut().take() {
                return Some(reply);
            }
            let now = unix_ms();
            if deadline_ms.is_some_and(|d| now >= d) {
                let mut s = server.borrow_mut();
                let op = s.blocking.unblock(handle.id).map(|b| b.op);
                return Some(op.map_or(Frame::NullArray, |op| {
                    crate::commands::blocking::timeout_reply(&op)
                }));
            }
            let ms = deadline_ms.map_or(1000, |d| (d - now).clamp(1, 1000)) as u64;
            let open = nap(handle, &mut peer, limit, None, ms).await;
            if !open && handle.unblocked.borrow().is_none() {
                server.borrow_mut().blocking.unblock(handle.id);
                return None;
            }
            if handle.killed.get() {
                server.borrow_mut().blocking.unblock(handle.id);
                return None;
            }
        },
        Blocked::Wait {
            offset,
            numreplicas,
            deadline_ms,
        } => {
            let _counted = WaitCount::new(server, handle);
            loop {
                if let Some(reply) = handle.unblocked.borrow_mut().take() {
                    return Some(reply);
                }
                let (acked, acks) = {
                    let s = server.borrow();
                    (
                        s.repl.node.master.wait_target(offset) as i64,
                        s.repl.acks.clone(),
                    )
                };
                let now = unix_ms();
                if acked >= numreplicas || deadline_ms.is_some_and(|d| now >= d) {
                    return Some(Frame::Integer(acked));
                }
                let ms = deadline_ms.map_or(100, |d| (d - now).clamp(1, 100)) as u64;
                if !nap(handle, &mut peer, limit, Some(&acks), ms).await {
                    return None;
                }
                if handle.killed.get() {
                    return None;
                }
            }
        }
    }
}

/// Marks a client blocked in WAIT, and counts it, for as long as it lives.
struct WaitCount<'a>(&'a Rc<RefCell<Server>>, &'a crate::session::ClientHandle);

impl<'a> WaitCount<'a> {
    fn new(server: &'a Rc<RefCell<Server>>, handle: &'a crate::session::ClientHandle) -> Self {
        server.borrow_mut().clients.wait_started();
        handle.in_wait.set(true);
        WaitCount(server, handle)
    }
}

impl Drop for WaitCount<'_> {
    fn drop(&mut self) {
        self.1.in_wait.set(false);
        // Never held across a borrow: the wait loop borrows only briefly.
        if let Ok(mut s) = self.0.try_borrow_mut() {
            s.clients.wait_ended();
        }
    }
}
