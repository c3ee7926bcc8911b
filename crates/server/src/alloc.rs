//! Memory figures for `INFO memory`, read from the allocator.
//!
//! The server allocates through jemalloc, as Redis does, and reports what
//! jemalloc itself counts: `allocated` is the bytes held by live
//! allocations including size-class rounding (Redis's `used_memory` counts
//! the same usable sizes), `active` and `resident` are the pages behind
//! them. Reading the counters costs a statistics refresh, not a per-call
//! hook on every allocation.

use std::sync::atomic::{AtomicUsize, Ordering};

use tikv_jemalloc_ctl::{epoch, stats};

static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The allocator's counters at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Figures {
    /// Bytes in live allocations (usable sizes).
    pub allocated: usize,
    /// Bytes in pages holding live allocations.
    pub active: usize,
    /// Bytes of allocator memory resident in RAM.
    pub resident: usize,
}

/// Refreshes and reads the allocator's counters (zeros if they cannot be
/// read), and folds `allocated` into the peak.
pub fn figures() -> Figures {
    if epoch::advance().is_err() {
        return Figures::default();
    }
    let f = Figures {
        allocated: stats::allocated::read().unwrap_or(0),
        active: stats::active::read().unwrap_or(0),
        resident: stats::resident::read().unwrap_or(0),
    };
    PEAK.fetch_max(f.allocated, Ordering::Relaxed);
    f
}

/// Bytes currently allocated.
pub fn allocated() -> usize {
    figures().allocated
}

/// The highest value [`allocated`] was seen at (sampled on every read and
/// by the server's cron, as Redis samples its peak).
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// The allocator's name and version, as `INFO`'s `mem_allocator` shows it.
pub fn name() -> String {
    let version = tikv_jemalloc_ctl::version::read().unwrap_or("unknown");
    // jemalloc reports "5.3.0-0-g<hash>"; Redis shows "jemalloc-5.3.0".
    let short = version.split('-').next().unwrap_or(version);
    format!("jemalloc-{short}")
}

/// Resident set size of the process in bytes, from `/proc/self/statm`.
pub fn rss() -> usize {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .unwrap_or(0);
    pages * 4096
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_is_allocated() {
        // Other tests run on other threads and allocate and free at the
        // same time, so the check leaves them a few MiB of slack.
        let before = allocated();
        let held: Vec<Vec<u8>> = (0..512).map(|_| vec![1u8; 64 * 1024]).collect();
        let during = allocated();
        assert!(
            during >= before + 28 * 1024 * 1024,
            "{before} -> {during} while holding 32 MiB"
        );
        drop(held);
        assert!(peak() >= during);
        assert!(name().starts_with("jemalloc-5."));
    }
}
