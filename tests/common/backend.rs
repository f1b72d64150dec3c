//! A tiny HTTP server for health checks: answers every request with the status the test sets
//! (200 at first); stops when dropped.
//!
//! ```text
//!  let b = Backend::start(([127, 0, 0, 61], port).into());   b.set(503);   // now failing
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::time::Duration;

/// A health-check target on a loopback address.
pub struct Backend {
    status: Arc<AtomicU16>,
    stop: Arc<AtomicBool>,
}

impl Backend {
    /// Listens on `addr` and answers 200 until told otherwise.
    pub fn start(addr: SocketAddr) -> Self {
        let listener =
            TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind backend {addr}: {e}"));
        let status = Arc::new(AtomicU16::new(200));
        let stop = Arc::new(AtomicBool::new(false));
        let st = status.clone();
        serve(listener, stop.clone(), move |_head| {
            let code = st.load(Ordering::Relaxed);
            format!("HTTP/1.1 {code} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        });
        Self { status, stop }
    }

    /// Answers `code` from now on.
    pub fn set(&self, code: u16) {
        self.status.store(code, Ordering::Relaxed);
    }
}

/// Answers every connection to `listener` with `reply(request head)` (a whole HTTP response)
/// on a thread of its own, one connection at a time, until `stop` is set.
pub fn serve(
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    reply: impl Fn(&str) -> String + Send + 'static,
) {
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).ok();
                    s.set_read_timeout(Some(Duration::from_millis(500))).ok();
                    let mut buf = [0u8; 4096];
                    let got = s.read(&mut buf).unwrap_or(0);
                    let answer = reply(&String::from_utf8_lossy(&buf[..got]));
                    let _ = s.write_all(answer.as_bytes());
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
