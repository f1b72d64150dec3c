//! Bounded memory under a flood (issue 7): up to 200k random-name UDP queries in at most
//! ~10 s against the real binary on loopback; resident memory (VmRSS) before and after.
//!
//! Ignored by default (it takes ~12 s and both cores); run it by hand (`--release` measures
//! the release binary; without it the debug one):
//!
//! ```text
//! cargo test --release --test hostile_flood -- --ignored --nocapture
//! ```

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;

fn zone() -> Zone {
    Zone::new("flood.test.")
        .record("ns1", "A", &["127.0.0.1"])
        .record("*.wild", "A", &["127.0.0.40"])
        .regions(&["a", "b"])
        .toml(
            r#"
[service.www]
geo = { default = "a, b", "net:10.0.0.0/8" = "b" }
[service.www.region.a]
endpoints = ["127.0.0.10"]
[service.www.region.b]
endpoints = ["127.0.0.20"]
"#,
        )
}

const TOTAL: u64 = 200_000;
const SENDERS: u64 = 4;
const MAX_TIME: Duration = Duration::from_secs(10);

/// `VmRSS` and `VmHWM` of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A query for a random name: under the zone (NXDOMAIN), under the wildcard, the steered
/// name with a random ECS subnet, or outside every zone (REFUSED).
fn random_query(rng: &mut Rng, id: u16) -> Vec<u8> {
    let mut p = id.to_be_bytes().to_vec();
    p.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    let kind = rng.next() % 4;
    let label_len = 1 + (rng.next() % 40) as usize;
    let label: Vec<u8> = (0..label_len)
        .map(|_| b"abcdefghijklmnopqrstuvwxyz0123456789-"[(rng.next() % 37) as usize])
        .collect();
    let mut name = vec![label_len as u8];
    name.extend_from_slice(&label);
    let suffix: &[u8] = match kind {
        0 => b"\x05flood\x04test\x00",
        1 => b"\x04wild\x05flood\x04test\x00",
        2 => b"\x07example\x03org\x00",
        _ => {
            name.clear();
            b"\x03www\x05flood\x04test\x00"
        }
    };
    name.extend_from_slice(suffix);
    p.extend_from_slice(&name);
    p.extend_from_slice(&[0, 1, 0, 1]);
    if kind == 3 {
        p[11] = 1;
        let a = rng.next().to_be_bytes();
        let ecs = [0, 8, 0, 7, 0, 1, 24, 0, a[0], a[1], a[2]];
        p.extend_from_slice(&[0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, ecs.len() as u8]);
        p.extend_from_slice(&ecs);
    }
    p
}

#[test]
#[ignore = "a 10 s flood; run by hand with --ignored --nocapture"]
fn flood_keeps_memory_bounded() {
    // Two workers, and RRL on for loopback too: every query goes through the limiter, at a
    // rate the flood stays under.
    let d = Setup::new()
        .zone(&zone())
        .config(
            "[server]\nworkers = 2\n\
             [rrl]\nenabled = true\nexempt = []\nresponses_per_second = 1000000",
        )
        .start();
    let addr: SocketAddr = d.addr;
    let pid = d.pid();
    // Warm up: a few thousand queries so lazily allocated buffers exist before "before".
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut rng = Rng(0xF100D);
    for i in 0..2000u16 {
        sock.send_to(&random_query(&mut rng, i), addr)
            .expect("send");
        let mut buf = [0u8; 1500];
        let _ = sock.recv_from(&mut buf);
    }
    let (rss_before, _) = memory_kib(pid);

    let sent = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut threads = Vec::new();
    for s in 0..SENDERS {
        let sent = sent.clone();
        let answered = answered.clone();
        threads.push(std::thread::spawn(move || {
            let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").expect("bind"));
            sock.set_read_timeout(Some(Duration::from_millis(200)))
                .expect("timeout");
            let done = Arc::new(AtomicBool::new(false));
            let receiver = {
                let sock = sock.clone();
                let done = done.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 1500];
                    let mut quiet = 0;
                    // Until the sender is done and nothing arrived for 3 timeouts in a row.
                    while quiet < 3 {
                        match sock.recv_from(&mut buf) {
                            Ok(_) => {
                                quiet = 0;
                                answered.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(_) if done.load(Ordering::Relaxed) => quiet += 1,
                            Err(_) => {}
                        }
                    }
                })
            };
            let mut rng = Rng(0x5EED ^ (s + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut n: u64 = 0;
            while n < TOTAL / SENDERS && started.elapsed() < MAX_TIME {
                let q = random_query(&mut rng, n as u16);
                if sock.send_to(&q, addr).is_ok() {
                    n += 1;
                }
                // Paced to TOTAL queries over MAX_TIME (20k/s in all), in bursts of 64.
                if n.is_multiple_of(64) {
                    let due = MAX_TIME.mul_f64(n as f64 / (TOTAL / SENDERS) as f64);
                    if let Some(ahead) = due.checked_sub(started.elapsed()) {
                        std::thread::sleep(ahead);
                    }
                }
            }
            sent.fetch_add(n, Ordering::Relaxed);
            done.store(true, Ordering::Relaxed);
            receiver.join().expect("receiver");
        }));
    }
    for t in threads {
        t.join().expect("sender");
    }
    let took = started.elapsed();
    let (rss_after, hwm) = memory_kib(pid);
    let sent = sent.load(Ordering::Relaxed);
    let answered = answered.load(Ordering::Relaxed);
    eprintln!(
        "flood: sent {sent} queries in {took:.1?}, answered {answered}; \
         VmRSS before {rss_before} KiB, after {rss_after} KiB, peak (VmHWM) {hwm} KiB"
    );
    // Still serving.
    let m = d.udp(Query::new(
        "ns1.flood.test.",
        hickory_proto::rr::RecordType::A,
    ));
    assert_eq!(m.answers.len(), 1);
    assert!(sent >= 50_000, "only {sent} sent");
    // Under overload UDP queries may be dropped; most must still be answered.
    assert!(answered * 2 >= sent, "only {answered} of {sent} answered");
    assert!(
        rss_after < rss_before + 64 * 1024,
        "RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
}
