//! DNS Cookies (RFC 7873, server cookies as RFC 9018) and edns-tcp-keepalive (RFC 7828),
//! against the real daemon over UDP and TCP (SPEC 5).
//!
//! What a server cookie proves is seen from outside: a cookie the daemon accepts and is
//! fresh comes back unchanged; one it does not accept is replaced. The RRL tests run with a
//! limit of one response per second and loopback not exempt, so only a valid cookie lets
//! every query through.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;
use hickory_proto::rr::rdata::opt::EdnsOption;

const CLIENT: [u8; 8] = [0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57];
const COOKIE: u16 = 10;
const KEEPALIVE: u16 = 11;
/// RCODE BADCOOKIE (RFC 7873 8): 23, the high bits in the OPT record.
const BADCOOKIE: u16 = 23;

fn zone() -> Zone {
    Zone::new("cookie.test.").record("www", "A", &["127.0.0.7"])
}

/// The data of the EDNS option `code` of a reply, if present.
fn option(m: &Message, code: u16) -> Option<Vec<u8>> {
    let edns = m.edns.as_ref()?;
    edns.options().options.iter().find_map(|(c, o)| match o {
        EdnsOption::Unknown(n, data) if *n == code => Some(data.clone()),
        _ if u16::from(*c) == code => Some(Vec::new()),
        _ => None,
    })
}

fn www() -> Query {
    Query::new("www.cookie.test.", RecordType::A)
}

/// Sends `cookie` (client cookie, then any server cookie) and returns the reply's cookie.
fn cookie_exchange(addr: SocketAddr, cookie: &[u8]) -> (Message, Vec<u8>) {
    let m = udp(addr, &www().option(COOKIE, cookie));
    let got = option(&m, COOKIE).expect("the reply carries a COOKIE option");
    (m, got)
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

#[test]
fn client_cookie_gets_a_server_cookie_that_is_then_accepted() {
    let d = Daemon::start(&zone());
    let (m, first) = cookie_exchange(d.addr, &CLIENT);
    assert_eq!(rcode(&m), hickory_proto::op::ResponseCode::NoError);
    assert_eq!(answers(&m).len(), 1, "answered normally");
    // Client cookie echoed, then a 16-octet RFC 9018 server cookie: version 1, reserved 0,
    // the current time.
    assert_eq!(first.len(), 24, "{first:02x?}");
    assert_eq!(&first[..8], &CLIENT);
    assert_eq!(&first[8..12], &[1, 0, 0, 0]);
    let stamp = u64::from(u32::from_be_bytes(first[12..16].try_into().unwrap()));
    assert!(stamp.abs_diff(now_unix()) < 120, "timestamp {stamp}");
    // Sent back, it is valid and fresh: echoed unchanged.
    let (_, second) = cookie_exchange(d.addr, &first);
    assert_eq!(second, first);
    // Another client cookie with that server cookie: not ours for it, replaced.
    let mut other = first.clone();
    other[0] ^= 1;
    let (m, replaced) = cookie_exchange(d.addr, &other);
    assert_eq!(answers(&m).len(), 1, "still answered (no RRL pressure)");
    assert_eq!(&replaced[..8], &other[..8]);
    assert_ne!(&replaced[8..], &first[8..]);
    // A forged hash: replaced too.
    let mut forged = first.clone();
    forged[23] ^= 0xff;
    let (_, replaced) = cookie_exchange(d.addr, &forged);
    assert_ne!(replaced, forged);
    assert_eq!(&replaced[..8], &CLIENT);
    // Over TCP too.
    let m = tcp(d.addr, &www().option(COOKIE, &first));
    assert_eq!(option(&m, COOKIE), Some(first));
}

#[test]
fn malformed_cookies_get_formerr_with_an_opt() {
    let d = Daemon::start(&zone());
    for len in [7usize, 9, 15, 41] {
        let data: Vec<u8> = (0..len as u8).collect();
        let reply = send_udp(
            d.addr,
            &www().option(COOKIE, &data).to_bytes(),
            REPLY_TIMEOUT,
        )
        .expect("a reply");
        let m = Message::from_vec(&reply).expect("decode");
        assert_eq!(raw_rcode(&reply), 1, "cookie of {len} octets: FORMERR");
        assert!(
            m.edns.is_some(),
            "cookie of {len} octets: the FORMERR carries an OPT"
        );
        assert!(m.answers.is_empty());
    }
}

#[test]
fn no_question_and_a_cookie_gets_noerror_and_a_server_cookie() {
    let d = Daemon::start(&zone());
    let mut packet = www().option(COOKIE, &CLIENT).to_bytes();
    // Drop the question: "www.cookie.test." (17 octets) + type + class after the header.
    packet.drain(12..12 + 17 + 4);
    packet[5] = 0;
    let reply = send_udp(d.addr, &packet, REPLY_TIMEOUT).expect("a reply");
    assert_eq!(raw_rcode(&reply), 0, "NOERROR (RFC 7873 5.4)");
    assert_eq!(&reply[4..6], &[0, 0], "no question");
    let m = Message::from_vec(&reply).expect("decode");
    let cookie = option(&m, COOKIE).expect("a server cookie");
    assert_eq!(cookie.len(), 24);
    assert_eq!(&cookie[..8], &CLIENT);
    // Without a cookie the same query is a FORMERR (still with an OPT).
    let mut bare = www().edns(1232).to_bytes();
    bare.drain(12..12 + 17 + 4);
    bare[5] = 0;
    let reply = send_udp(d.addr, &bare, REPLY_TIMEOUT).expect("a reply");
    assert_eq!(raw_rcode(&reply), 1);
    assert!(Message::from_vec(&reply).unwrap().edns.is_some());
}

#[test]
fn instances_sharing_a_secret_accept_each_others_cookies() {
    let secret = b"e5e973e5a6b2a43f48e7dc849e37bfcf\n";
    let with = |hex: &[u8]| {
        Setup::new()
            .zone(&zone())
            .file("cookie.secret", hex)
            .config("[server]\ncookie_secret_file = \"cookie.secret\"")
            .start()
    };
    let a = with(secret);
    let b = with(secret);
    let c = with(b"445536bcd2513298075a5d379663c962");
    let (_, from_a) = cookie_exchange(a.addr, &CLIENT);
    let (_, at_b) = cookie_exchange(b.addr, &from_a);
    assert_eq!(at_b, from_a, "B accepts A's cookie");
    let (_, at_c) = cookie_exchange(c.addr, &from_a);
    assert_ne!(at_c, from_a, "C, with another secret, does not");
}

#[test]
fn a_bad_secret_file_is_a_config_error_with_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("cookie.secret"), "not hex\n").expect("write");
    std::fs::create_dir(dir.path().join("zones")).expect("zones");
    std::fs::write(
        dir.path().join("zones/cookie.test.toml"),
        zone().to_string(),
    )
    .expect("zone");
    let main = "[server]\nlisten = [\"127.0.0.1:1\"]\ncookie_secret_file = \"cookie.secret\"\n";
    std::fs::write(dir.path().join("steerdns.toml"), main).expect("main");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_steerdns"))
        .args(["check", "-c"])
        .arg(dir.path().join("steerdns.toml"))
        .output()
        .expect("run steerdns check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("steerdns.toml:3:") && stderr.contains("32 hexadecimal digits"),
        "{stderr}"
    );
}

/// Sends `count` copies of `q` over UDP, each waiting at most `wait` for a reply; returns
/// the replies that came (raw).
fn burst(addr: SocketAddr, q: &Query, count: usize, wait: Duration) -> Vec<Vec<u8>> {
    let packet = q.to_bytes();
    (0..count)
        .filter_map(|_| send_udp(addr, &packet, wait).ok())
        .collect()
}

fn limited_daemon() -> Daemon {
    Setup::new()
        .zone(&zone())
        .config("[rrl]\nenabled = true\nresponses_per_second = 1\nslip = 2\nexempt = []")
        .start()
}

#[test]
fn a_valid_server_cookie_exempts_the_client_from_rrl() {
    let d = limited_daemon();
    let (_, cookie) = cookie_exchange(d.addr, &CLIENT);
    // Without a cookie, most of a burst is limited: dropped or slipped (TC, no answer).
    let plain = burst(d.addr, &www().edns(1232), 12, Duration::from_millis(300));
    let answered = plain
        .iter()
        .filter(|r| Message::from_vec(r).is_ok_and(|m| !m.answers.is_empty()))
        .count();
    assert!(answered <= 6, "{answered} of 12 answered without a cookie");
    // With the valid server cookie, every one is answered in full.
    let proven = burst(
        d.addr,
        &www().option(COOKIE, &cookie),
        12,
        Duration::from_secs(2),
    );
    assert_eq!(proven.len(), 12, "every query answered");
    for r in &proven {
        let m = Message::from_vec(r).expect("decode");
        assert_eq!(answers(&m).len(), 1, "a full answer, not a slip");
        assert_eq!(r[2] & 0x02, 0, "TC clear");
    }
}

#[test]
fn an_invalid_server_cookie_gets_badcookie_instead_of_being_limited() {
    let d = limited_daemon();
    let mut forged = CLIENT.to_vec();
    forged.extend_from_slice(&[1, 0, 0, 0, 0x5c, 0xf7, 0x9f, 0x11]);
    forged.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0]);
    let replies = burst(
        d.addr,
        &www().option(COOKIE, &forged),
        12,
        Duration::from_secs(2),
    );
    // Never silence: each query gets its answer, or BADCOOKIE with a cookie to use.
    assert_eq!(replies.len(), 12, "every query gets a reply");
    let mut bad = 0;
    for r in &replies {
        let m = Message::from_vec(r).expect("decode");
        let rcode =
            (u16::from(m.edns.as_ref().expect("OPT").rcode_high()) << 4) | u16::from(r[3] & 0x0f);
        let cookie = option(&m, COOKIE).expect("a cookie in every reply");
        assert_eq!(&cookie[..8], &CLIENT);
        assert_ne!(cookie, forged);
        if rcode == BADCOOKIE {
            bad += 1;
            assert!(m.answers.is_empty(), "BADCOOKIE carries no answer");
            // The cookie it carries is one the daemon accepts: with it, answered in full.
            let (again, echoed) = cookie_exchange(d.addr, &cookie);
            assert_eq!(echoed, cookie);
            assert_eq!(answers(&again).len(), 1);
        } else {
            assert_eq!(rcode, 0);
            assert_eq!(answers(&m).len(), 1);
        }
    }
    assert!(bad >= 6, "{bad} of 12 limited queries got BADCOOKIE");
    // A client cookie alone (first contact) is limited as usual: no BADCOOKIE.
    let first = burst(
        d.addr,
        &www().option(COOKIE, &CLIENT),
        12,
        Duration::from_millis(300),
    );
    for r in &first {
        let m = Message::from_vec(r).expect("decode");
        assert_eq!(
            m.edns.as_ref().map_or(0, |e| e.rcode_high()),
            0,
            "no BADCOOKIE without a server cookie"
        );
    }
}

#[test]
fn keepalive_over_tcp_when_asked() {
    let d = Daemon::start(&zone());
    // Setup::new() sets tcp_idle_timeout = "2s": 20 units of 100 ms.
    let m = tcp(d.addr, &www().option(KEEPALIVE, &[]));
    assert_eq!(option(&m, KEEPALIVE), Some(vec![0, 20]));
    assert_eq!(answers(&m).len(), 1);
    // Not asked: not sent. Over UDP: ignored (RFC 7828 3.2.1).
    let m = tcp(d.addr, &www().edns(1232));
    assert_eq!(option(&m, KEEPALIVE), None);
    let m = udp(d.addr, &www().option(KEEPALIVE, &[]));
    assert_eq!(option(&m, KEEPALIVE), None);
    assert_eq!(answers(&m).len(), 1);
    // A client must not send a TIMEOUT: FORMERR over TCP.
    let reply = send_tcp(
        d.addr,
        &www().option(KEEPALIVE, &[0, 50]).to_bytes(),
        REPLY_TIMEOUT,
    )
    .expect("a reply");
    assert_eq!(raw_rcode(&reply), 1);
}
