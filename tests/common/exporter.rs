//! A tiny Prometheus exporter the test controls: serves one gauge in the text exposition
//! format at `/metrics` (any path, in fact), with the value the test sets; stops when dropped.
//! A real Prometheus scrapes it, and a rollout's `prometheus` gate reads the value back
//! through Prometheus's API.
//!
//! ```text
//!  let e = Exporter::start("canary_error_ratio", r#"region="eu-canary""#, 0.001);
//!  Prometheus::start(&prometheus_scrape_config("canary", &[e.addr], "1s"));
//!  e.set(0.05);   // the next scrape sees 0.05
//! ```

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::backend::serve;

/// A gauge served over HTTP on a free 127.0.0.1 port.
pub struct Exporter {
    /// Where it listens (a scrape target).
    pub addr: SocketAddr,
    value: Arc<AtomicU64>,
    scrapes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Exporter {
    /// Serves `name{labels} value` (`labels` without braces, may be empty).
    pub fn start(name: &str, labels: &str, value: f64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind exporter");
        let addr = listener.local_addr().expect("exporter address");
        let value = Arc::new(AtomicU64::new(value.to_bits()));
        let scrapes = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (v, n) = (value.clone(), scrapes.clone());
        let series = if labels.is_empty() {
            name.to_owned()
        } else {
            format!("{name}{{{labels}}}")
        };
        let name = name.to_owned();
        serve(listener, stop.clone(), move |_head| {
            let now = f64::from_bits(v.load(Ordering::Relaxed));
            let body =
                format!("# HELP {name} Set by the test.\n# TYPE {name} gauge\n{series} {now}\n");
            // Counted when the value is read: a scrape counted after `set` carries the new one.
            n.fetch_add(1, Ordering::Relaxed);
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        });
        Self {
            addr,
            value,
            scrapes,
            stop,
        }
    }

    /// Serves `value` from now on.
    pub fn set(&self, value: f64) {
        self.value.store(value.to_bits(), Ordering::Relaxed);
    }

    /// How many requests it has read the value for.
    pub fn scrapes(&self) -> u64 {
        self.scrapes.load(Ordering::Relaxed)
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
