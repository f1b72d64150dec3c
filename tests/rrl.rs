//! Response rate limiting over the wire: a burst from one client beyond the limit is dropped,
//! every `slip`-th limited response is an empty TC=1 reply, TCP is never limited, and the
//! limited responses are counted.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::*;
use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;

fn zone() -> Zone {
    Zone::new("rrl.test.").record("www", "A", &["127.0.0.80"])
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
