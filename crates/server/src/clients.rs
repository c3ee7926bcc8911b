//! The connected clients: who is connected, the CLIENT PAUSE in force, and
//! how many wait in WAIT.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::session::ClientHandle;

/// A CLIENT PAUSE in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// End of the pause, Unix ms.
    pub until_ms: i64,
    /// Every command (ALL) or only writes (WRITE).
    pub all: bool,
}

/// Every connected client by id, in id order (CLIENT LIST's order).
#[derive(Debug)]
pub struct Clients {
    by_id: BTreeMap<u64, Rc<ClientHandle>>,
    next_id: u64,
    pause: Option<Pause>,
    unpaused: Rc<tokio::sync::Notify>,
    waiting: usize,
}

impl Default for Clients {
    fn default() -> Self {
        Clients {
            by_id: BTreeMap::new(),
            next_id: 1,
            pause: None,
            unpaused: Rc::new(tokio::sync::Notify::new()),
            waiting: 0,
        }
    }
}

impl Clients {
    /// The id the next client gets (ids are never reused).
    pub fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Adds a client.
    pub fn insert(&mut self, h: Rc<ClientHandle>) {
        self.by_id.insert(h.id, h);
    }

    /// Forgets a client.
    pub fn remove(&mut self, id: u64) {
        self.by_id.remove(&id);
    }

    /// The client with this id.
    pub fn get(&self, id: u64) -> Option<&Rc<ClientHandle>> {
        self.by_id.get(&id)
    }

    /// Every client, in id order.
    pub fn values(&self) -> std::collections::btree_map::Values<'_, u64, Rc<ClientHandle>> {
        self.by_id.values()
    }

    /// How many are connected.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Starts (or replaces) a CLIENT PAUSE.
    pub fn pause(&mut self, p: Pause) {
        self.pause = Some(p);
    }

    /// Ends the pause and wakes the clients it held.
    pub fn unpause(&mut self) {
        self.pause = None;
        self.unpaused.notify_waiters();
    }

    /// The pause set last, possibly already over.
    pub fn pause_set(&self) -> Option<Pause> {
        self.pause
    }

    /// Woken by CLIENT UNPAUSE.
    pub fn unpaused(&self) -> Rc<tokio::sync::Notify> {
        self.unpaused.clone()
    }

    /// A client starts waiting in WAIT.
    pub fn wait_started(&mut self) {
        self.waiting += 1;
    }

    /// A client stops waiting in WAIT.
    pub fn wait_ended(&mut self) {
        self.waiting = self.waiting.saturating_sub(1);
    }

    /// Clients blocked in WAIT (counted in `blocked_clients`, as Redis
    /// does).
    pub fn waiting(&self) -> usize {
        self.waiting
    }
}
