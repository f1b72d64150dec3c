//! Response rate limiting over the wire: a burst from one client beyond the limit is dropped,
//! every `slip`-th limited response is an empty TC=1 reply, TCP is never limited, and the
//! limited responses are counted. Steered answers are counted per ECS prefix, under a ceiling
//! of ten times the rate over all prefixes.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::*;
use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;

fn zone() -> Zone {
    Zone::new("rrl.test.")
        .record("www", "A", &["127.0.0.80"])
        .regions(&["one"])
        .service("steered", "one", &[("one", &["127.0.0.81"])])
        .service("many", "one", &[("one", &["127.0.0.82"])])
}

/// Sends every query of `queries` as one burst from one socket, reading the replies as they
/// come (so none is lost to a full receive buffer); returns (answered, slipped) and how long
/// the burst took to send.
fn burst(d: &Daemon, queries: &[Query]) -> (usize, usize, Duration) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    // The burst ends when the daemon has been silent for a second.
    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let reader = sock.try_clone().unwrap();
    let replies = std::thread::spawn(move || {
        let (mut full, mut slipped) = (0, 0);
        let mut buf = [0u8; 1500];
        while let Ok((n, _)) = reader.recv_from(&mut buf) {
            let m = Message::from_vec(&buf[..n]).unwrap();
            if m.metadata.truncation {
                assert!(m.answers.is_empty());
                slipped += 1;
            } else {
                assert_eq!(addrs(&m).len(), 1, "{m:?}");
                full += 1;
            }
        }
        (full, slipped)
    });
    let started = std::time::Instant::now();
    for (i, q) in queries.iter().enumerate() {
        sock.send_to(&q.clone().id(i as u16).to_bytes(), d.addr)
            .unwrap();
    }
    let took = started.elapsed();
    let (full, slipped) = replies.join().unwrap();
    (full, slipped, took)
}

#[test]
fn burst_is_limited_with_slip_and_counted() {
    // The harness turns RRL off; turning it on by reload (limiting loopback too) keeps the
    // daemon's start-up probes out of the count.
    let mut d = Daemon::start(&zone());
    d.update_config("[rrl]\nenabled = true\nresponses_per_second = 5\nslip = 2\nexempt = []");
    assert_eq!(d.reload(), Reload::Applied);

    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let sent = 40;
    for i in 0..sent {
        let q = Query::new("www.rrl.test.", RecordType::A)
            .id(i as u16)
            .to_bytes();
        sock.send_to(&q, d.addr).unwrap();
    }
    let (mut full, mut slipped) = (0, 0);
    let mut buf = [0u8; 1500];
    while let Ok((n, _)) = sock.recv_from(&mut buf) {
        let m = Message::from_vec(&buf[..n]).unwrap();
        if m.metadata.truncation {
            assert!(m.answers.is_empty());
            slipped += 1;
        } else {
            assert_eq!(m.answers.len(), 1);
            full += 1;
        }
    }
    let dropped = sent - full - slipped;
    eprintln!("sent {sent}: {full} answered, {slipped} slipped (TC=1), {dropped} dropped");
    // 5 per second; a burst may straddle one second boundary.
    assert!((5..=10).contains(&full), "{full} full answers");
    assert!(
        slipped >= 14 && dropped >= 14,
        "slip 2: half of the limited are TC=1"
    );
    let limited = d.metric("steerdns_rrl_limited_total");
    assert_eq!(limited as usize, slipped + dropped);
    // TCP is not limited.
    let m = d.tcp(Query::new("www.rrl.test.", RecordType::A));
    assert_eq!(m.answers.len(), 1);
}

#[test]
fn steered_answers_are_limited_per_ecs_prefix_under_a_ceiling() {
    let mut d = Daemon::start(&zone());
    d.update_config("[rrl]\nenabled = true\nresponses_per_second = 20\nslip = 2\nexempt = []");
    assert_eq!(d.reload(), Reload::Applied);
    let ask = |name: &str, i: u32| {
        let addr = std::net::Ipv4Addr::from(0x0a00_0000 | (i << 8)).to_string();
        Query::new(name, RecordType::A).ecs(&addr, 24)
    };
    let steered = |i: u32| ask("steered.rrl.test.", i);
    // One resolver asking one steered name for 60 client subnets: all answered (issue 12:
    // 49 of them were limited at 20/s when RRL ignored ECS).
    let queries: Vec<Query> = (0..60).map(steered).collect();
    let (full, slipped, _) = burst(&d, &queries);
    assert_eq!((full, slipped), (60, 0));
    assert_eq!(d.metric("steerdns_rrl_limited_total"), 0.0);
    // One client subnet asking 100 times: limited like any repeated answer.
    let queries: Vec<Query> = (0..100).map(|_| steered(500)).collect();
    let (full, slipped, took) = burst(&d, &queries);
    let seconds = took.as_secs() as usize + 2; // the burst touched at most this many seconds
    assert!(
        full >= 20 && full <= 20 * seconds && slipped > 0,
        "one ECS prefix: {full} answered, {slipped} slipped in {seconds} seconds"
    );
    let limited_before = 100 - full;
    // Many client subnets (of another name, whose ceiling nothing has used yet): at most ten
    // times the rate per second over all of them.
    let queries: Vec<Query> = (1000..1600).map(|i| ask("many.rrl.test.", i)).collect();
    let (full, slipped, took) = burst(&d, &queries);
    let seconds = took.as_secs() as usize + 2;
    eprintln!(
        "600 client subnets in {took:?}: {full} answered, {slipped} slipped, {} dropped",
        600 - full - slipped
    );
    assert!(full >= 200, "{full}: the ceiling is 200 per second");
    assert!(
        full <= 200 * seconds,
        "{full} answered in {seconds} seconds: over the ceiling"
    );
    assert!(full < 600, "the ceiling limited nothing");
    assert!(slipped > 0);
    // Every limited response was counted.
    assert_eq!(
        d.metric("steerdns_rrl_limited_total") as usize,
        limited_before + 600 - full
    );
}
