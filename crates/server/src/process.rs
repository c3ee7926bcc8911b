//! This process run: its identity (run id, executable, port, start time)
//! and the shutdown request the main loop waits for.

use std::rc::Rc;
use std::time::Instant;

/// How the server should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownRequest {
    /// Save a snapshot first.
    pub save: bool,
    /// Give lagging replicas `shutdown-timeout` to catch up (not with NOW).
    pub wait_replicas: bool,
}

/// What identifies this run of the server, and how it is asked to stop.
#[derive(Debug)]
pub struct Process {
    /// Random 40-character id of this process run.
    pub run_id: String,
    /// Path of the executable.
    pub executable: String,
    /// The port actually listened on.
    pub port: u16,
    started: Instant,
    shutdown: Option<ShutdownRequest>,
    wake_main: Rc<tokio::sync::Notify>,
}

impl Process {
    /// A run that starts now, listening on `port`.
    pub fn new(run_id: String, port: u16) -> Self {
        Process {
            run_id,
            executable: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            port,
            started: Instant::now(),
            shutdown: None,
            wake_main: Rc::new(tokio::sync::Notify::new()),
        }
    }

    /// Seconds since start.
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Asks the main loop to shut the server down.
    pub fn request_shutdown(&mut self, req: ShutdownRequest) {
        self.shutdown = Some(req);
        self.wake_main.notify_one();
    }

    /// The shutdown asked for, if any.
    pub fn shutdown_request(&self) -> Option<ShutdownRequest> {
        self.shutdown
    }

    /// Drops the request (the final save failed: the server keeps running).
    pub fn cancel_shutdown(&mut self) {
        self.shutdown = None;
    }

    /// Woken when a shutdown is requested.
    pub fn wake_main(&self) -> Rc<tokio::sync::Notify> {
        self.wake_main.clone()
    }
}
