//! The keys a writable replica's own clients gave an expiry. Its master
//! will never send their DEL, so the replica expires them itself (Redis's
//! `slaveKeysWithExpire`).

use bytes::Bytes;

/// Where a remembered key stands at a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTtl {
    /// Gone, or no longer has an expiry: forget it.
    None,
    /// Its time has passed: expire it.
    Due,
    /// Still to come.
    Later,
}

/// The remembered keys, and where the next sweep starts.
#[derive(Debug, Default)]
pub struct ReplicaOwnKeys {
    /// Set while a writable replica runs a command of one of its own
    /// clients (not its master's).
    running: bool,
    /// Ordered, so sweeps go round with a cursor instead of looking at the
    /// same first keys every time.
    keys: indexmap::IndexSet<(usize, Bytes)>,
    cursor: usize,
}

impl ReplicaOwnKeys {
    /// Marks whether the command about to run comes from the replica's
    /// own client (true) or from its master / a master's node (false).
    pub fn set_running(&mut self, own: bool) {
        self.running = own;
    }

    /// Whether a replica's own client's command is running.
    pub fn running(&self) -> bool {
        self.running
    }

    /// Remembers a key the running command left with an expiry.
    pub fn note(&mut self, db: usize, key: &Bytes) {
        self.keys.insert((db, key.clone()));
    }

    /// Forgets every key (the master's data replaced them, or the node is
    /// no longer a replica).
    pub fn clear(&mut self) {
        self.keys.clear();
        self.cursor = 0;
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Looks at up to `budget` keys from where the last sweep stopped,
    /// forgets those `ttl` says are gone or due, and returns the due ones.
    pub fn sweep(
        &mut self,
        budget: usize,
        mut ttl: impl FnMut(usize, &Bytes) -> KeyTtl,
    ) -> Vec<(usize, Bytes)> {
        let mut due = Vec::new();
        let mut i = self.cursor;
        for _ in 0..budget.min(self.keys.len()) {
            if i >= self.keys.len() {
                i = 0;
            }
            let Some((db, key)) = self.keys.get_index(i) else {
                break;
            };
            match ttl(*db, key) {
                KeyTtl::Later => i += 1,
                KeyTtl::None => {
                    self.keys.swap_remove_index(i);
                }
                KeyTtl::Due => {
                    if let Some(k) = self.keys.swap_remove_index(i) {
                        due.push(k);
                    }
                }
            }
        }
        self.cursor = i;
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sweep with a small budget resumes where the last one stopped, so
    /// every key is looked at within a round.
    #[test]
    fn sweeps_go_round() {
        let mut k = ReplicaOwnKeys::default();
        for i in 0..10u8 {
            k.note(0, &Bytes::from(vec![b'a' + i]));
        }
        let mut seen = std::collections::HashSet::new();
        for _ in 0..4 {
            k.sweep(3, |_, key| {
                seen.insert(key.clone());
                KeyTtl::Later
            });
        }
        assert_eq!(seen.len(), 10);
        let due = k.sweep(10, |_, key| {
            if key.as_ref() == b"c" {
                KeyTtl::Due
            } else if key.as_ref() == b"d" {
                KeyTtl::None
            } else {
                KeyTtl::Later
            }
        });
        assert_eq!(due, vec![(0, Bytes::from_static(b"c"))]);
        let mut left = 0;
        k.sweep(100, |_, _| {
            left += 1;
            KeyTtl::Later
        });
        assert_eq!(left, 8);
    }
}
