//! Frees big values and flushed databases on a background thread, so
//! UNLINK and FLUSHALL ASYNC return at once however much they release
//! (Redis's lazy free). The event loop hands over [`Garbage`]; the thread
//! drops it and counts what it freed for `INFO memory`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;

use keyspace::keyspace::Garbage;

/// Counters shared with the freeing thread.
#[derive(Debug, Default)]
struct Counters {
    pending: AtomicU64,
    freed: AtomicU64,
}

/// The handle the event loop keeps.
#[derive(Debug)]
pub struct LazyFreer {
    tx: Option<Sender<Vec<Garbage>>>,
    counters: Arc<Counters>,
}

impl LazyFreer {
    /// Starts the freeing thread. If it cannot be started, garbage is
    /// freed in place instead (slower, never lost).
    pub fn start() -> Self {
        let counters = Arc::new(Counters::default());
        let (tx, rx) = channel::<Vec<Garbage>>();
        let theirs = counters.clone();
        let spawned = std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || {
                for batch in rx {
                    for g in batch {
                        let objects = g.objects;
                        drop(g);
                        theirs.pending.fetch_sub(objects, Ordering::Relaxed);
                        theirs.freed.fetch_add(objects, Ordering::Relaxed);
                    }
                }
            });
        LazyFreer {
            tx: spawned.is_ok().then_some(tx),
            counters,
        }
    }

    /// Hands garbage to the freeing thread.
    pub fn free(&self, batch: Vec<Garbage>) {
        if batch.is_empty() {
            return;
        }
        let objects: u64 = batch.iter().map(|g| g.objects).sum();
        self.counters.pending.fetch_add(objects, Ordering::Relaxed);
        let Some(tx) = &self.tx else {
            self.freed_in_place(batch, objects);
            return;
        };
        if let Err(back) = tx.send(batch) {
            // The thread is gone: free here rather than leak.
            self.freed_in_place(back.0, objects);
        }
    }

    fn freed_in_place(&self, batch: Vec<Garbage>, objects: u64) {
        drop(batch);
        self.counters.pending.fetch_sub(objects, Ordering::Relaxed);
        self.counters.freed.fetch_add(objects, Ordering::Relaxed);
    }

    /// Objects handed over and not yet freed (`lazyfree_pending_objects`).
    pub fn pending(&self) -> u64 {
        self.counters.pending.load(Ordering::Relaxed)
    }

    /// Objects freed so far (`lazyfreed_objects`).
    pub fn freed(&self) -> u64 {
        self.counters.freed.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_freed_and_counted() {
        let f = LazyFreer::start();
        let batch = (0..3)
            .map(|i| Garbage {
                objects: i + 1,
                payload: Box::new(vec![0u8; 1 << 20]),
            })
            .collect();
        f.free(batch);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while f.freed() < 6 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!((f.freed(), f.pending()), (6, 0));
    }
}
