//! Headless Chromium (Debian package `chromium`) driven over the DevTools protocol, for tests
//! of the status page.
//!
//! ```text
//!  test ──JSON + NUL──► fd 3 ┐
//!                            ├─ chromium --headless --remote-debugging-pipe
//!  test ◄──JSON + NUL── fd 4 ┘        (no port, no proxy, fresh profile in a temp dir)
//!
//!  Chromium::start() ─► .open(url) ─► Page { eval(js), wait_for(js), screenshot(), requests() }
//! ```
//!
//! The protocol runs over a pair of pipes (`--remote-debugging-pipe`), so nothing listens on a
//! port and no WebSocket client is needed. Chromium is started with every background service
//! off and no proxy; the pages a test opens are on the loopback daemon. A reader thread turns
//! the NUL-separated messages into a channel; every wait is bounded.
//!
//! As root (CI), Chromium needs `--no-sandbox`.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use super::external::require_program;
use super::process::Process;

/// Longest wait for one DevTools call.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A running headless Chromium; stopped when dropped.
pub struct Chromium {
    to_browser: std::fs::File,
    from_browser: mpsc::Receiver<Value>,
    /// Events that arrived while waiting for a reply.
    events: VecDeque<Value>,
    next_id: u64,
    process: Process,
}

/// One tab, attached with its own DevTools session.
pub struct Page<'a> {
    browser: &'a mut Chromium,
    session: String,
    /// Every URL the page asked the network for (`Network.requestWillBeSent`).
    requests: Vec<String>,
}

/// `fd` duplicated to a number of at least 10 (close-on-exec), so that moving it to 3 or 4 in
/// the child cannot overwrite the other pipe end.
fn high_fd(fd: &impl AsRawFd) -> OwnedFd {
    // SAFETY: F_DUPFD_CLOEXEC on a valid descriptor returns a new descriptor we own.
    let raw = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    assert!(raw >= 10, "fcntl(F_DUPFD_CLOEXEC) failed");
    // SAFETY: `raw` is a fresh descriptor owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

impl Chromium {
    /// Starts Chromium with a fresh profile in a temp dir; `None` (after a SKIPPED line) when
    /// it is not installed.
    pub fn start() -> Option<Self> {
        let program = require_program("chromium")?;
        let dir = tempfile::tempdir().expect("tempdir");
        let (child_in, to_browser) = std::io::pipe().expect("pipe");
        let (from_browser, child_out) = std::io::pipe().expect("pipe");
        let child_in = high_fd(&child_in);
        let child_out = high_fd(&child_out);
        let (fd_in, fd_out) = (child_in.as_raw_fd(), child_out.as_raw_fd());
        let mut cmd = Command::new(program);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--disable-dev-shm-usage",
            "--no-proxy-server",
            "--mute-audio",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg("about:blank")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY");
        // SAFETY: only async-signal-safe calls (dup2) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(fd_in, 3) < 0 || libc::dup2(fd_out, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let process = Process::spawn_in("chromium", cmd, dir);
        // The child has its copies; ours must close so EOF is seen when Chromium exits.
        drop((child_in, child_out));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from_browser);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if buf.last() == Some(&0) {
                            buf.pop();
                        }
                        let Ok(v) = serde_json::from_slice::<Value>(&buf) else {
                            continue;
                        };
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let mut browser = Self {
            to_browser: std::fs::File::from(OwnedFd::from(to_browser)),
            from_browser: rx,
            events: VecDeque::new(),
            next_id: 0,
            process,
        };
        browser.call(None, "Browser.getVersion", json!({}));
        Some(browser)
    }

    /// What Chromium has logged.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Sends one DevTools command (to the browser, or to a page's session) and waits for its
    /// reply; panics with the error or on timeout.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).expect("encode");
        bytes.push(0);
        self.to_browser
            .write_all(&bytes)
            .unwrap_or_else(|e| panic!("send {method} to chromium: {e}\n{}", self.log()));
        let started = Instant::now();
        loop {
            let left = CALL_TIMEOUT.saturating_sub(started.elapsed());
            let m = self.from_browser.recv_timeout(left).unwrap_or_else(|e| {
                panic!(
                    "no reply to {method} within {CALL_TIMEOUT:?} ({e}); chromium log:\n{}",
                    self.log()
                )
            });
            if m.get("id").and_then(Value::as_u64) == Some(id) {
                if let Some(err) = m.get("error") {
                    panic!("{method}: {err}");
                }
                return m["result"].clone();
            }
            self.events.push_back(m);
        }
    }

    /// Takes the events received so far.
    fn drain_events(&mut self) -> Vec<Value> {
        while let Ok(m) = self.from_browser.try_recv() {
            self.events.push_back(m);
        }
        self.events.drain(..).collect()
    }

    /// Opens a new tab at `url` with the network log on, the viewport `width` × `height` CSS
    /// pixels (`mobile`: a phone's viewport and touch), and waits until it has loaded.
    pub fn open(&mut self, url: &str, width: u32, height: u32, mobile: bool) -> Page<'_> {
        let target = self.call(None, "Target.createTarget", json!({ "url": "about:blank" }));
        let target_id = target["targetId"].as_str().expect("targetId").to_owned();
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
        );
        let session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_owned();
        let mut page = Page {
            browser: self,
            session,
            requests: Vec::new(),
        };
        page.call("Network.enable", json!({}));
        page.call("Page.enable", json!({}));
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        );
        page.call("Page.navigate", json!({ "url": url }));
        page.wait_for("the page to load", "document.readyState === 'complete'");
        page
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Ask politely first; Process then sends SIGTERM (and SIGKILL) if it is still there.
        let mut bytes =
            serde_json::to_vec(&json!({ "id": 0, "method": "Browser.close" })).unwrap_or_default();
        bytes.push(0);
        let _ = self.to_browser.write_all(&bytes);
        let started = Instant::now();
        while self
            .from_browser
            .recv_timeout(Duration::from_millis(100))
            .is_ok()
            && started.elapsed() < Duration::from_secs(3)
        {}
    }
}

impl Page<'_> {
    fn call(&mut self, method: &str, params: Value) -> Value {
        let result = self.browser.call(Some(&self.session), method, params);
        self.collect();
        result
    }

    /// Records the URLs of requests this page made.
    fn collect(&mut self) {
        for e in self.browser.drain_events() {
            if e.get("sessionId").and_then(Value::as_str) == Some(&self.session)
                && e.get("method").and_then(Value::as_str) == Some("Network.requestWillBeSent")
                && let Some(url) = e["params"]["request"]["url"].as_str()
            {
                self.requests.push(url.to_owned());
            }
        }
    }

    /// Evaluates a JavaScript expression in the page; its value (as JSON). Panics when it
    /// throws.
    pub fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        if let Some(ex) = r.get("exceptionDetails") {
            panic!("{expression}: {ex}");
        }
        r["result"]["value"].clone()
    }

    /// Polls `expression` every 100 ms until it is truthy (60 s at most); returns its value.
    pub fn wait_for(&mut self, what: &str, expression: &str) -> Value {
        let started = Instant::now();
        loop {
            let v = self.eval(expression);
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "waited 60 s for {what} ({expression})"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves a PNG of the whole page (beyond the viewport) to `path`; returns its size.
    pub fn screenshot(&mut self, path: &Path) -> usize {
        let r = self.call(
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": true }),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().expect("screenshot data"))
            .expect("base64");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("screenshot dir");
        }
        std::fs::write(path, &png).expect("write screenshot");
        png.len()
    }

    /// Every URL this page has requested so far.
    pub fn requests(&mut self) -> Vec<String> {
        self.collect();
        self.requests.clone()
    }
}
