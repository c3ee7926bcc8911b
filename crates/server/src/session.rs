//! Per-connection state: the private part a connection task owns, and the
//! shared handle the server's client registry keeps for CLIENT LIST/KILL.

use std::cell::{Cell, RefCell};

use bytes::Bytes;
use std::net::SocketAddr;
use std::rc::Rc;

use resp_codec::Protocol;
use tokio::sync::Notify;

/// What kind of peer a connection is (CLIENT LIST flags, CLIENT KILL TYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// An ordinary client.
    Normal,
    /// A replica of this node.
    Replica,
    /// This node's master.
    Master,
}

/// What CLIENT LIST and CLIENT KILL see of a connection. Fields are cells
/// because the connection updates them while other clients read them, all
/// on the one server thread.
#[derive(Debug)]
pub struct ClientHandle {
    /// Unique, increasing client id.
    pub id: u64,
    /// Peer address.
    pub addr: SocketAddr,
    /// Local address the client connected to.
    pub laddr: SocketAddr,
    /// Creation time, Unix milliseconds.
    pub created_ms: i64,
    /// Name set by CLIENT SETNAME.
    pub name: RefCell<Option<String>>,
    /// Selected database.
    pub db: Cell<usize>,
    /// Last interaction, Unix milliseconds.
    pub last_interaction_ms: Cell<i64>,
    /// Name of the last command run.
    pub last_cmd: Cell<&'static str>,
    /// Reply protocol (HELLO switches it); the session reads it from here.
    pub proto: Cell<Protocol>,
    /// Bytes waiting in the query buffer.
    pub qbuf: Cell<usize>,
    /// Bytes waiting in the output buffer.
    pub obuf: Cell<usize>,
    /// Set by CLIENT KILL; the connection closes when it sees it.
    pub killed: Cell<bool>,
    /// What kind of peer this is.
    pub kind: Cell<ClientKind>,
    /// The reply of a served blocking command.
    pub unblocked: RefCell<Option<resp_codec::Frame>>,
    /// Blocked in WAIT.
    pub in_wait: Cell<bool>,
    /// Close once everything queued for the client is written.
    pub close_after_flush: Cell<bool>,
    /// Wakes the connection task (killed, or messages to deliver).
    pub wake: Notify,
    /// Pub/sub messages waiting to be written to this client.
    pub pushes: RefCell<bytes::BytesMut>,
    /// Channels this client is subscribed to, in subscription order.
    pub channels: RefCell<indexmap::IndexSet<Bytes>>,
    /// Patterns this client is subscribed to, in subscription order.
    pub patterns: RefCell<indexmap::IndexSet<Bytes>>,
    /// A second handle on the socket, through which a script that runs
    /// past `busy-reply-threshold` answers this client `-BUSY` (the
    /// connection's own task cannot run until the script ends).
    pub side: RefCell<Option<std::net::TcpStream>>,
    /// Bytes read through `side` that did not make a whole request; the
    /// connection takes them before its own input.
    pub busy_input: RefCell<bytes::BytesMut>,
}

impl ClientHandle {
    /// A handle for a new connection.
    pub fn new(id: u64, addr: SocketAddr, laddr: SocketAddr, now_ms: i64) -> Self {
        ClientHandle {
            id,
            addr,
            laddr,
            created_ms: now_ms,
            name: RefCell::new(None),
            db: Cell::new(0),
            last_interaction_ms: Cell::new(now_ms),
            last_cmd: Cell::new("NULL"),
            proto: Cell::new(Protocol::Resp2),
            qbuf: Cell::new(0),
            obuf: Cell::new(0),
            killed: Cell::new(false),
            kind: Cell::new(ClientKind::Normal),
            close_after_flush: Cell::new(false),
            unblocked: RefCell::new(None),
            in_wait: Cell::new(false),
            wake: Notify::new(),
            pushes: RefCell::new(bytes::BytesMut::new()),
            channels: RefCell::new(Default::default()),
            patterns: RefCell::new(Default::default()),
            side: RefCell::new(None),
            busy_input: RefCell::new(bytes::BytesMut::new()),
        }
    }

    /// Number of channel and pattern subscriptions.
    pub fn subscription_count(&self) -> usize {
        self.channels.borrow().len() + self.patterns.borrow().len()
    }

    /// Asks the connection to close.
    pub fn kill(&self) {
        self.killed.set(true);
        self.wake.notify_one();
    }

    /// One CLIENT LIST line (without the trailing newline).
    pub fn describe(&self, now_ms: i64) -> String {
        let name = self.name.borrow().clone().unwrap_or_default();
        format!(
            "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 multi=-1 qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem={} tot-mem=0 events=r cmd={} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            name,
            (now_ms - self.created_ms).max(0) / 1000,
            (now_ms - self.last_interaction_ms.get()).max(0) / 1000,
            match self.kind.get() {
                ClientKind::Replica => "S",
                ClientKind::Master => "M",
                ClientKind::Normal if self.subscription_count() > 0 => "P",
                ClientKind::Normal => "N",
            },
            self.db.get(),
            self.channels.borrow().len(),
            self.patterns.borrow().len(),
            self.qbuf.get(),
            self.obuf.get(),
            self.last_cmd.get(),
            if self.proto.get().is_resp3() { 3 } else { 2 },
        )
    }
}

/// The private state of one connection.
#[derive(Debug)]
pub struct Session {
    /// The shared handle.
    pub handle: Rc<ClientHandle>,
    /// Whether AUTH succeeded (or no password is set).
    pub authenticated: bool,
    /// Close the connection once the pending replies are written.
    pub close_after_reply: bool,
    /// Send no reply for the current command (a successful SHUTDOWN).
    pub skip_reply: bool,
    /// This session applies the master's stream on a replica.
    pub is_master: bool,
    /// Replication offset after this client's last write (WAIT's target).
    pub write_offset: u64,
    /// Running inside EXEC (blocking commands answer at once).
    pub multi_exec: bool,
    /// What the client waits for, if a command blocked it.
    pub blocked: Option<Blocked>,
    /// A request held back by CLIENT PAUSE, run when the pause ends.
    pub postponed: Option<Vec<Bytes>>,
    /// The open transaction, between MULTI and EXEC/DISCARD.
    pub multi: Option<Multi>,
    /// Replies after the main one (SUBSCRIBE confirms each channel).
    pub extra_replies: Vec<resp_codec::Frame>,
    /// Keys under WATCH: database, key, and whether it existed then.
    pub watched: Vec<(usize, Bytes, bool)>,
    /// Set by the server when a watched key is modified.
    pub watch_dirty: Rc<Cell<bool>>,
}

/// What a blocked client waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// Held back by CLIENT PAUSE; the request is kept in `postponed`.
    Paused,
    /// A blocking pop; the server serves it and leaves the reply in the
    /// handle's `unblocked` slot.
    Keys {
        /// When to give up (Unix ms), or never.
        deadline_ms: Option<i64>,
    },
    /// WAIT: enough replicas acknowledging `offset`.
    Wait {
        /// The replication offset to be acknowledged.
        offset: u64,
        /// How many replicas must acknowledge it.
        numreplicas: i64,
        /// When to give up (Unix ms), or never.
        deadline_ms: Option<i64>,
    },
}

/// A transaction being queued.
#[derive(Debug, Default)]
pub struct Multi {
    /// Queued requests, in order.
    pub queue: Vec<Vec<Bytes>>,
    /// A request was refused while queueing: EXEC must abort.
    pub refused: bool,
}

impl Session {
    /// A new session; `authenticated` when the server has no password.
    pub fn new(handle: Rc<ClientHandle>, authenticated: bool) -> Self {
        Session {
            handle,
            authenticated,
            close_after_reply: false,
            skip_reply: false,
            is_master: false,
            write_offset: 0,
            multi_exec: false,
            blocked: None,
            postponed: None,
            multi: None,
            extra_replies: Vec::new(),
            watched: Vec::new(),
            watch_dirty: Rc::new(Cell::new(false)),
        }
    }

    /// The selected database (kept on the handle, where CLIENT LIST reads
    /// it: one owner).
    pub fn db(&self) -> usize {
        self.handle.db.get()
    }

    /// Selects database `db`.
    pub fn set_db(&self, db: usize) {
        self.handle.db.set(db);
    }

    /// The reply protocol (kept on the handle, where CLIENT LIST and
    /// PUBLISH read it).
    pub fn proto(&self) -> Protocol {
        self.handle.proto.get()
    }

    /// Switches the reply protocol.
    pub fn set_proto(&self, proto: Protocol) {
        self.handle.proto.set(proto);
    }

    /// Marks the open transaction (if any) as failed to queue.
    pub fn flag_transaction(&mut self) {
        if let Some(m) = self.multi.as_mut() {
            m.refused = true;
        }
    }

    /// Queues a request in the open transaction.
    pub fn queue(&mut self, args: &[Bytes]) {
        if let Some(m) = self.multi.as_mut() {
            // Own the bytes: queued requests outlive the read buffer batch.
            m.queue
                .push(args.iter().map(|a| Bytes::copy_from_slice(a)).collect());
        }
    }
}
