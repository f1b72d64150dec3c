//! A server process a test starts (steerdns itself, Unbound, kresd, Prometheus, ...): its
//! stdout and stderr go to a log file, readiness waits are bounded, and it is stopped
//! (SIGTERM, then SIGKILL) when its guard drops.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest wait for a program to become ready (e.g. to answer on its port).
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for a program to exit after SIGTERM before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A child process with a log file; stopped when dropped.
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
    /// The temp dir the process works in, when it owns it: removed after the process stops.
    dir: Option<tempfile::TempDir>,
}

impl Process {
    /// Starts `cmd` with stdin closed and stdout + stderr appended to `<dir>/<name>.log`.
    pub fn spawn(name: &str, mut cmd: Command, dir: &Path) -> Self {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap_or_else(|e| panic!("open {}: {e}", log.display()));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone log handle"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self {
            name: name.to_string(),
            child,
            log,
            dir: None,
        }
    }

    /// Like [`Process::spawn`], and the process owns `dir`: it is removed once the process
    /// has stopped.
    pub fn spawn_in(name: &str, cmd: Command, dir: tempfile::TempDir) -> Self {
        let mut process = Self::spawn(name, cmd, dir.path());
        process.dir = Some(dir);
        process
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the program has written so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics with the program's log if it has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited ({status}) at start; its log:\n{}",
                self.name,
                self.log()
            );
        }
    }

    /// Waits (bounded by [`START_TIMEOUT`]) until `ready` holds, checking that the program is
    /// still running.
    pub fn wait_until(&mut self, what: &str, mut ready: impl FnMut() -> bool) {
        let started = Instant::now();
        loop {
            self.assert_running();
            if ready() {
                return;
            }
            if started.elapsed() > START_TIMEOUT {
                panic!(
                    "{} did not become ready ({what}) within {START_TIMEOUT:?}; its log:\n{}",
                    self.name,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Kills the process at once (SIGKILL, as a crash would) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the process to stop (SIGTERM), waits up to [`STOP_TIMEOUT`], then kills it.
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet
            // (so the pid cannot have been reused).
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let started = Instant::now();
        while started.elapsed() < STOP_TIMEOUT {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
        // The files go only now, after the process has stopped using them.
        drop(self.dir.take());
    }
}
