//! The test harness: run the real `steerdns` binary on loopback with files the test writes,
//! and query it over UDP and TCP with hickory-proto (an independent DNS implementation).
//!
//! ```text
//!  zone.rs    Zone::new("x.test.").record(..).toml("[service.www]...")   a zone file
//!  daemon.rs  Setup::new().zone(&zone).config("[log]...").start() ─► Daemon (killed on drop)
//!             Setup::shipped()  the repository's steerdns.toml, zones and GeoIP database
//!  client.rs  Query::new(name, type).ecs(..) ─► d.udp(q) / d.tcp(q) ─► hickory Message
//!             send_udp / send_tcp / frame / read_framed for raw bytes
//! ```
//!
//! A test in a few lines:
//!
//! ```ignore
//! mod common;
//! use common::*;
//! use hickory_proto::rr::RecordType;
//!
//! #[test]
//! fn static_and_steered() {
//!     let zone = Zone::new("example.test.")
//!         .record("static", "A", &["127.0.0.30"])
//!         .regions(&["one"])
//!         .service("www", "one", &[("one", &["127.0.1.1"])]);
//!     let d = Daemon::start(&zone);                  // or Setup::new().zone(&zone)...start()
//!     let m = d.udp(Query::new("static.example.test.", RecordType::A));
//!     assert_eq!(answers(&m), ["static.example.test. 300 A 127.0.0.30"]);
//!     let m = d.tcp(Query::new("www.example.test.", RecordType::A).ecs("192.0.2.0", 24));
//!     assert_eq!(addrs(&m), ["127.0.1.1"]);
//!     assert_eq!(scope_of(&m), 0);
//! }
//! ```
//!
//! - Ports: the daemon listens on a free 127.0.0.1 port (`d.addr`, UDP and TCP) and serves
//!   metrics and the admin API on another (`d.metrics`); nothing is fixed, so tests run in
//!   parallel.
//! - Config: `Setup::new()` is one worker, NSID `test-nsid`, identity `test-id`, TCP idle
//!   timeout 2 s, 16 TCP connections, RRL off. `.config(fragment)` merges any TOML into it;
//!   `.file(name, bytes)` puts e.g. a GeoIP database beside it (`steerdns_mmdb_writer` builds
//!   one).
//! - Changes: `d.update_config(fragment)`, `d.write_zone(&zone)`, then `d.reload()`, which
//!   sends SIGHUP and returns `Reload::Applied` or `Reload::Rejected` once the daemon has
//!   counted it. `d.restart(|| ..)` stops and starts it on the same files and ports.
//! - Looking inside: `d.log()` (the daemon's output), `d.metric(series)`, `d.http_get(path)`,
//!   `run(args, cwd)` for the command line.
//! - Other servers a test starts use [`Process`] too (output to a log file, bounded readiness
//!   wait, SIGTERM then SIGKILL on drop); `external.rs` starts Unbound, kresd and Prometheus
//!   with it. `chromium.rs` drives headless Chromium over the DevTools protocol (status page);
//!   `backend.rs` is an HTTP health-check target whose status the test sets; `exporter.rs`
//!   serves one gauge the test sets, for a real Prometheus to scrape (rollout gates).
// Each test binary uses a part of the harness.
#![allow(dead_code, unused_imports)]

pub mod backend;
pub mod chromium;
pub mod client;
pub mod daemon;
pub mod exporter;
pub mod external;
pub mod http;
pub mod process;
pub mod zone;

pub use client::*;
pub use daemon::*;
pub use http::Http;
pub use process::Process;
pub use zone::*;

/// Deterministic xorshift64* generator (garbage packets, random names).
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Calls `check` every 20 ms until it returns `Some`, and returns that; panics naming `what`
/// when `limit` passes first. For outcomes that take a moment (a reload, a health flip).
pub fn wait_for<T>(
    what: &str,
    limit: std::time::Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let started = std::time::Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
