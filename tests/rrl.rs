//! Response rate limiting over the wire: a burst from one client beyond the limit is dropped,
//! every `slip`-th limited response is an empty TC=1 reply, TCP is never limited, and the
//! limited responses are counted.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::*;
use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;

const ZONE: &str = r#"
origin = "rrl.test."
[soa]
mname = "ns1.rrl.test."
rname = "hostmaster.rrl.test."
serial = 1
[[record]]
name = "www"
type = "A"
data = ["127.0.0.80"]
"#;

#[test]
fn burst_is_limited_with_slip_and_counted() {
    // The harness turns RRL off; a second [rrl] table would be a duplicate key, so the
    // harness's main config is replaced here with one that limits loopback too.
    let d = start("", &[("rrl.toml", ZONE)]);
    let text = std::fs::read_to_string(&d.config).unwrap().replace(
        "[rrl]\nenabled = false",
        "[rrl]\nenabled = true\nresponses_per_second = 5\nslip = 2\nexempt = []",
    );
    std::fs::write(&d.config, text).unwrap();
    sighup(&d);
    for _ in 0..200 {
        if metric(
            &http_get(d.metrics, "/metrics"),
            "steerdns_config_generation",
        ) >= 2.0
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }

    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let sent = 40;
    for i in 0..sent {
        let mut q = build("www.rrl.test.", RecordType::A, &Opts::default());
        q[0..2].copy_from_slice(&(i as u16).to_be_bytes());
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
    let limited = metric(
        &http_get(d.metrics, "/metrics"),
        "steerdns_rrl_limited_total",
    );
    assert_eq!(limited as usize, slipped + dropped);
    // TCP is not limited.
    let m = tcp(d.addr, "www.rrl.test.", RecordType::A, &Opts::default());
    assert_eq!(m.answers.len(), 1);
}
