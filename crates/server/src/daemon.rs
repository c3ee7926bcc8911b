//! `daemonize yes`: detach before any thread or runtime exists, and let the
//! launching process exit with success only once the server listens.

#![allow(unsafe_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};

/// The daemon's end of the readiness pipe.
pub struct Ready(Option<File>);

impl Ready {
    /// A no-op notifier for a server running in the foreground.
    pub fn foreground() -> Self {
        Ready(None)
    }

    /// Tells the launcher the server is listening (or failed, with `ok` false).
    pub fn notify(&mut self, ok: bool) {
        if let Some(mut f) = self.0.take() {
            let _ = f.write_all(if ok { b"1" } else { b"0" });
        }
    }
}

/// Forks; the parent waits for the child's readiness byte and exits with
/// 0 or 1; the child starts a new session with standard streams on
/// /dev/null and continues.
pub fn daemonize() -> std::io::Result<Ready> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe writes two descriptors into the array we own.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: called before any other thread exists (no runtime yet), so
    // the child is a complete copy of a single-threaded process.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors came from pipe() above and are owned here.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    if pid > 0 {
        drop(write_end);
        let mut f = File::from(read_end);
        let mut b = [0u8; 1];
        let ok = matches!(f.read(&mut b), Ok(1) if b[0] == b'1');
        std::process::exit(if ok { 0 } else { 1 });
    }
    drop(read_end);
    // SAFETY: plain system calls on this process's own state.
    unsafe {
        libc::setsid();
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            libc::dup2(null, 2);
            if null > 2 {
                libc::close(null);
            }
        }
    }
    Ok(Ready(Some(File::from(write_end))))
}
