//! Point-in-time snapshots by `fork`: the child sees the data set frozen at
//! the moment of the fork (copy-on-write pages) and serialises it while the
//! parent keeps serving clients. This is safe here because the server
//! process has exactly one thread (see ARCHITECTURE.md), so the child
//! inherits no lock held by another thread.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildExit {
    /// Exited with this status.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

impl ChildExit {
    /// Whether the child succeeded.
    pub fn ok(self) -> bool {
        self == ChildExit::Code(0)
    }
}

/// Forks; the child runs `work` and exits with its result (0 = success)
/// without running destructors or touching the parent's runtime. Returns
/// the child's pid in the parent.
pub fn fork_child(work: impl FnOnce() -> i32) -> io::Result<i32> {
    // SAFETY: the process is single-threaded (current-thread runtime, no
    // blocking pool use), so the child is a consistent copy.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        crate::logging::set_role(b'C');
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or(1);
        // SAFETY: _exit ends the child immediately; nothing of the parent's
        // state (sockets, runtime) is flushed or closed on its behalf.
        unsafe { libc::_exit(code) };
    }
    Ok(pid)
}

/// Checks, without blocking, whether child `pid` has ended.
pub fn try_reap(pid: i32) -> Option<ChildExit> {
    let mut status = 0;
    // SAFETY: waitpid writes into `status` only.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if r != pid {
        return None;
    }
    if libc::WIFEXITED(status) {
        Some(ChildExit::Code(libc::WEXITSTATUS(status)))
    } else if libc::WIFSIGNALED(status) {
        Some(ChildExit::Signal(libc::WTERMSIG(status)))
    } else {
        None
    }
}

/// Kills a child (SHUTDOWN while saving, BGSAVE aborted) and reaps it.
pub fn kill_child(pid: i32) {
    // SAFETY: signalling and reaping our own child.
    unsafe {
        libc::kill(pid, libc::SIGUSR1);
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
    }
}

/// A pipe: (read end, write end), both close-on-exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two new descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}
