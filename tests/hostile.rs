//! Hostile traffic against the real binary on loopback (issue 7): a corpus of malformed
//! packets over UDP and TCP, each with the outcome it must get (FORMERR, NOTIMP, REFUSED, a
//! stated answer, or no reply), with a good query answered after every few of them; TCP
//! framing abuse (short length prefix, zero-length message, a message trickled byte by byte,
//! a connection that sends nothing). Counts and waits are bounded; loopback only.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::*;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::RecordType;

fn zone() -> Zone {
    Zone::new("hostile.test.")
        .record("@", "NS", &["ns1.hostile.test."])
        .record("ns1", "A", &["127.0.0.1"])
        .record("static", "A", &["127.0.0.30"])
}

/// Starts the daemon with `tcp_idle_timeout = "1s"` (the harness default is 2 s).
fn daemon() -> Daemon {
    Setup::new()
        .zone(&zone())
        .config("[server]\nnsid = \"hostile\"\ntcp_idle_timeout = \"1s\"\nmax_tcp_connections = 32")
        .start()
}

/// What a malformed packet must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// No reply at all (UDP), or the connection closed without one (TCP).
    Silence,
    /// A reply with this rcode (the low four bits in the header).
    Rcode(u16),
}

const FORMERR: Expect = Expect::Rcode(1);
const NOERROR: Expect = Expect::Rcode(0);
const NXDOMAIN: Expect = Expect::Rcode(3);
const NOTIMP: Expect = Expect::Rcode(4);
const REFUSED: Expect = Expect::Rcode(5);

const ID: [u8; 2] = [0xBE, 0xEF];

/// Wire form of a dotted name.
fn wire(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// A header: ID, flags, QD/AN/NS/AR counts.
fn header(flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut p = ID.to_vec();
    p.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        p.extend_from_slice(&c.to_be_bytes());
    }
    p
}

/// A query with one question (wire name, type, class) and `ar` additional records appended.
fn raw(qname: &[u8], qtype: u16, qclass: u16, additional: &[Vec<u8>]) -> Vec<u8> {
    let mut p = header(0x0100, [1, 0, 0, additional.len() as u16]);
    p.extend_from_slice(qname);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&qclass.to_be_bytes());
    for r in additional {
        p.extend_from_slice(r);
    }
    p
}

fn static_a() -> Vec<u8> {
    raw(&wire("static.hostile.test."), 1, 1, &[])
}

/// An OPT record with the given RDATA (options), payload 1232.
fn opt(rdata: &[u8]) -> Vec<u8> {
    let mut o = vec![0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0];
    o.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    o.extend_from_slice(rdata);
    o
}

/// An EDNS option.
fn option(code: u16, data: &[u8]) -> Vec<u8> {
    let mut o = code.to_be_bytes().to_vec();
    o.extend_from_slice(&(data.len() as u16).to_be_bytes());
    o.extend_from_slice(data);
    o
}

/// A query for static.hostile.test with one ECS option of the given bytes.
fn with_ecs(ecs: &[u8]) -> Vec<u8> {
    raw(&wire("static.hostile.test."), 1, 1, &[opt(&option(8, ecs))])
}

/// The corpus: (what it is, packet, outcome).
fn corpus() -> Vec<(String, Vec<u8>, Expect)> {
    let good = static_a();
    let mut c: Vec<(String, Vec<u8>, Expect)> = Vec::new();
    let mut add = |what: &str, p: Vec<u8>, e: Expect| c.push((what.to_string(), p, e));

    // Truncated headers: nothing to answer to.
    for n in [0, 1, 2, 5, 11] {
        add(
            &format!("header cut to {n} bytes"),
            good[..n].to_vec(),
            Expect::Silence,
        );
    }
    add("header only, QDCOUNT 1", good[..12].to_vec(), FORMERR);
    add("question cut in the name", good[..18].to_vec(), FORMERR);
    add(
        "question cut in the class",
        good[..good.len() - 1].to_vec(),
        FORMERR,
    );

    // Compression pointers: loops in the question and in an additional record.
    add(
        "question: pointer to itself",
        raw(&[0xC0, 12], 1, 1, &[]),
        FORMERR,
    );
    add(
        "question: pointer into the header",
        raw(&[0xC0, 2], 1, 1, &[]),
        FORMERR,
    );
    add(
        "question: label then pointer back to it",
        raw(&[1, b'a', 0xC0, 12], 1, 1, &[]),
        FORMERR,
    );
    let q_end = static_a().len();
    let mut self_loop = vec![0xC0 | (q_end >> 8) as u8, q_end as u8];
    self_loop.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
    add(
        "additional record: owner pointer to itself",
        raw(&wire("static.hostile.test."), 1, 1, &[self_loop]),
        FORMERR,
    );
    let mut two_hop = vec![1, b'x', 0xC0 | (q_end >> 8) as u8, q_end as u8];
    two_hop.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
    add(
        "additional record: label then pointer back to it",
        raw(&wire("static.hostile.test."), 1, 1, &[two_hop]),
        FORMERR,
    );
    let mut forward = vec![0xC0 | ((q_end + 2) >> 8) as u8, (q_end + 2) as u8];
    forward.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
    add(
        "additional record: forward pointer",
        raw(&wire("static.hostile.test."), 1, 1, &[forward]),
        FORMERR,
    );
    let mut backward = vec![0xC0, 12];
    backward.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
    add(
        "additional record: valid pointer to the question (control)",
        raw(&wire("static.hostile.test."), 1, 1, &[backward]),
        NOERROR,
    );

    // Bad counts.
    let mut qd0 = good.clone();
    qd0[5] = 0;
    add("QDCOUNT 0", qd0, FORMERR);
    let mut qd2 = good.clone();
    qd2[5] = 2;
    add("QDCOUNT 2 with one question", qd2, FORMERR);
    let mut qd2b = good.clone();
    qd2b[5] = 2;
    qd2b.extend_from_slice(&good[12..]);
    add("QDCOUNT 2 with two questions", qd2b, FORMERR);
    let mut an = good.clone();
    an[6] = 0xFF;
    an[7] = 0xFF;
    add("ANCOUNT 65535, no records", an, FORMERR);
    let mut ar = good.clone();
    ar[10] = 0xFF;
    ar[11] = 0xFF;
    add("ARCOUNT 65535, no records", ar, FORMERR);

    // OPT abuse.
    let many: Vec<u8> = (0..250u16).flat_map(|i| option(100 + i, &[])).collect();
    add(
        "OPT with 250 unknown options (well formed: answered)",
        raw(&wire("static.hostile.test."), 1, 1, &[opt(&many)]),
        NOERROR,
    );
    let mut over = many.clone();
    over.extend_from_slice(&[0, 99, 0x10, 0x00, 1, 2, 3]);
    add(
        "OPT with many options, the last longer than the record",
        raw(&wire("static.hostile.test."), 1, 1, &[opt(&over)]),
        FORMERR,
    );
    let mut past = opt(&option(10, &[0; 8]));
    past[9..11].copy_from_slice(&600u16.to_be_bytes()); // RDLENGTH past the packet
    add(
        "OPT RDLENGTH beyond the packet",
        raw(&wire("static.hostile.test."), 1, 1, &[past]),
        FORMERR,
    );
    add(
        "option header cut short",
        raw(&wire("static.hostile.test."), 1, 1, &[opt(&[0, 8, 0])]),
        FORMERR,
    );
    add(
        "two OPT records",
        raw(&wire("static.hostile.test."), 1, 1, &[opt(&[]), opt(&[])]),
        FORMERR,
    );
    let mut named = opt(&[]);
    named.splice(0..1, [0xC0, 12]);
    add(
        "OPT owned by a name, not the root",
        raw(&wire("static.hostile.test."), 1, 1, &[named]),
        FORMERR,
    );
    let mut in_answer = static_a();
    in_answer[7] = 1;
    in_answer.extend_from_slice(&opt(&[]));
    add("OPT in the answer section", in_answer, FORMERR);
    add(
        "two ECS options",
        raw(
            &wire("static.hostile.test."),
            1,
            1,
            &[opt(&[
                option(8, &[0, 1, 8, 0, 10]),
                option(8, &[0, 1, 8, 0, 10]),
            ]
            .concat())],
        ),
        FORMERR,
    );

    // ECS (RFC 7871 7.1.1).
    add(
        "ECS IPv4 source prefix 33",
        with_ecs(&[0, 1, 33, 0, 1, 2, 3, 4, 5]),
        FORMERR,
    );
    add(
        "ECS IPv6 source prefix 129",
        with_ecs(&[0, 2, 129, 0]),
        FORMERR,
    );
    add(
        "ECS address longer than the prefix needs",
        with_ecs(&[0, 1, 16, 0, 81, 2, 69]),
        FORMERR,
    );
    add(
        "ECS address shorter than the prefix needs",
        with_ecs(&[0, 1, 24, 0, 81, 2]),
        FORMERR,
    );
    add(
        "ECS bits set past the prefix",
        with_ecs(&[0, 1, 23, 0, 81, 2, 69]),
        FORMERR,
    );
    add("ECS family 3", with_ecs(&[0, 3, 0, 0]), FORMERR);
    add("ECS family 0", with_ecs(&[0, 0, 8, 0, 10]), FORMERR);
    add("ECS option of 3 bytes", with_ecs(&[0, 1, 0]), FORMERR);
    add(
        "ECS prefix 0, no address (control)",
        with_ecs(&[0, 1, 0, 0]),
        NOERROR,
    );

    // Not a query, or not QUERY.
    let mut response = good.clone();
    response[2] |= 0x80;
    add("QR=1 (a response)", response, Expect::Silence);
    for opcode in [1u8, 2, 4, 5, 6, 15] {
        let mut p = good.clone();
        p[2] = (p[2] & 0x87) | (opcode << 3);
        add(&format!("opcode {opcode}"), p, NOTIMP);
    }

    // Classes and types: NONE (254), 0 and ANY (255), in the zone and outside.
    let (inside, outside) = ("static.hostile.test.", "elsewhere.example.");
    for (qclass, name, expect) in [
        (254, inside, REFUSED),
        (0, inside, REFUSED),
        (255, inside, NOERROR), // answered as IN
        (255, outside, REFUSED),
    ] {
        add(
            &format!("class {qclass} for {name}"),
            raw(&wire(name), 1, qclass, &[]),
            expect,
        );
    }
    for qtype in [41u16, 0, 65535] {
        add(
            &format!("qtype {qtype} in the zone (NODATA)"),
            raw(&wire("static.hostile.test."), qtype, 1, &[]),
            NOERROR,
        );
        add(
            &format!("qtype {qtype} outside every zone"),
            raw(&wire("elsewhere.example."), qtype, 1, &[]),
            REFUSED,
        );
    }

    // Name and label lengths.
    let long_name = |total: usize| {
        let mut n = Vec::new();
        for _ in 0..3 {
            n.push(63);
            n.extend_from_slice(&[b'a'; 63]);
        }
        let zone = wire("hostile.test.");
        let rest = total - n.len() - zone.len() - 1;
        n.push(rest as u8);
        n.extend(std::iter::repeat_n(b'b', rest));
        n.extend_from_slice(&zone);
        assert_eq!(n.len(), total);
        n
    };
    add(
        "name of 255 bytes in the zone",
        raw(&long_name(255), 1, 1, &[]),
        NXDOMAIN,
    );
    let n256 = long_name(256);
    add("name of 256 bytes", raw(&n256, 1, 1, &[]), FORMERR);
    let mut l64 = vec![64];
    l64.extend_from_slice(&[b'c'; 64]);
    l64.extend_from_slice(&wire("hostile.test."));
    add("label of 64 bytes", raw(&l64, 1, 1, &[]), FORMERR);
    let mut ext = vec![0x40, 0];
    ext.extend_from_slice(&wire("hostile.test."));
    add("extended label type 0x40", raw(&ext, 1, 1, &[]), FORMERR);
    add(
        "name without its root label",
        raw(&[3, b'a', b'b', b'c'], 1, 1, &[]),
        FORMERR,
    );
    c
}

/// Random garbage from a fixed seed: (packet, whether it looks like a query header).
fn garbage() -> Vec<Vec<u8>> {
    let mut rng = Rng(0x5EED_0F57_EE2D_4500);
    (0..300)
        .map(|i| {
            let len = (rng.next() % 600) as usize;
            let mut p = rng.bytes(len);
            if i % 2 == 0 && p.len() >= 12 {
                // Half of them get a plausible header: a query with QDCOUNT 1.
                p[2] &= 0x7F;
                p[4] = 0;
                p[5] = 1;
            }
            p
        })
        .collect()
}

/// A good query gets its answer (the server is still serving).
fn assert_alive_udp(addr: SocketAddr, after: &str) {
    let reply = send_udp(addr, &static_a(), REPLY_TIMEOUT)
        .unwrap_or_else(|e| panic!("no answer to a good query after {after}: {e}"));
    let m = Message::from_vec(&reply).expect("decode");
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NoError,
        "after {after}"
    );
    assert_eq!(m.answers.len(), 1, "after {after}");
}

/// Checks a reply against the query it answers and the expected outcome.
fn check_reply(what: &str, packet: &[u8], reply: Option<Vec<u8>>, expect: Expect) {
    match (expect, reply) {
        (Expect::Silence, None) => {}
        (Expect::Silence, Some(r)) => panic!("{what}: expected no reply, got {r:02x?}"),
        (Expect::Rcode(_), None) => panic!("{what}: expected a reply, got none"),
        (Expect::Rcode(rc), Some(r)) => {
            assert!(r.len() >= 12, "{what}: short reply");
            assert_eq!(&r[..2], &packet[..2], "{what}: ID");
            assert_eq!(r[2] & 0x80, 0x80, "{what}: QR");
            assert_eq!(raw_rcode(&r), rc, "{what}: rcode of {r:02x?}");
            let m = Message::from_vec(&r)
                .unwrap_or_else(|e| panic!("{what}: reply does not decode: {e}"));
            assert_eq!(m.metadata.message_type, MessageType::Response);
            assert!(r.len() <= 1232, "{what}: reply of {} bytes", r.len());
        }
    }
}

/// One message over a fresh TCP connection; `None` when the server closes without a reply.
fn tcp_once(addr: SocketAddr, packet: &[u8]) -> Option<Vec<u8>> {
    match send_tcp(addr, packet, Duration::from_secs(3)) {
        Ok(reply) => Some(reply),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
            ) =>
        {
            None
        }
        Err(e) => panic!("tcp: {e} (neither a reply nor a close)"),
    }
}

/// Waits for the server to close `s` (EOF or reset) within `limit`; returns how long it took.
fn wait_closed(s: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    s.set_read_timeout(Some(limit)).expect("timeout");
    let mut byte = [0u8; 64];
    match s.read(&mut byte) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Ok(n) => panic!("expected a close, got {n} bytes"),
        Err(e) => panic!("not closed within {limit:?}: {e}"),
    }
    started.elapsed()
}

#[test]
fn malformed_packets_over_udp() {
    let d = daemon();
    let cases = corpus();
    for (i, (what, packet, expect)) in cases.iter().enumerate() {
        let wait = if *expect == Expect::Silence { 0.2 } else { 2.0 };
        let reply = send_udp(d.addr, packet, Duration::from_secs_f64(wait)).ok();
        check_reply(what, packet, reply, *expect);
        if i % 4 == 3 {
            assert_alive_udp(d.addr, what);
        }
    }
    assert_alive_udp(d.addr, "the corpus");
}

#[test]
fn random_garbage_over_udp() {
    let d = daemon();
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let mut replies = 0;
    for (i, packet) in garbage().iter().enumerate() {
        // Every query header gets a reply; silence is waited for briefly.
        let silent = packet.len() < 12 || packet[2] & 0x80 != 0;
        let wait = Duration::from_millis(if silent { 100 } else { 2000 });
        sock.set_read_timeout(Some(wait)).expect("timeout");
        sock.send_to(packet, d.addr).expect("send");
        let mut buf = vec![0u8; 65535];
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            replies += 1;
            let r = &buf[..n];
            assert!(
                packet.len() >= 12 && packet[2] & 0x80 == 0,
                "reply to a non-query"
            );
            assert_eq!(&r[..2], &packet[..2], "ID echoed");
            assert!(
                matches!(raw_rcode(r), 1 | 4 | 5),
                "garbage {i} got rcode {}",
                raw_rcode(r)
            );
            assert!(n <= 512);
        } else {
            assert!(
                packet.len() < 12 || packet[2] & 0x80 != 0,
                "garbage {i} ({} bytes, a query header) got no reply",
                packet.len()
            );
        }
        if i % 10 == 9 {
            assert_alive_udp(d.addr, &format!("garbage {i}"));
        }
    }
    assert!(replies > 100, "only {replies} replies");
}

#[test]
fn malformed_packets_over_tcp() {
    let d = daemon();
    for (i, (what, packet, expect)) in corpus().iter().enumerate() {
        // Zero-length and short messages are framing cases: nothing to answer, the server
        // closes the connection (RFC 7766 leaves it to the server).
        let reply = tcp_once(d.addr, packet);
        check_reply(&format!("tcp: {what}"), packet, reply, *expect);
        if i % 4 == 3 {
            let m = d.tcp(Query::new("static.hostile.test.", RecordType::A));
            assert_eq!(m.answers.len(), 1, "tcp after {what}");
        }
    }
}

#[test]
fn tcp_framing_abuse() {
    let d = daemon();
    let good = static_a();

    // A length prefix larger than the data, then the client closes its side: no reply, and
    // the server closes on the end of input rather than at its idle timeout. A second
    // daemon with a 60 s idle timeout tells the two apart without a timing assertion: any
    // close within the wait can only come from the end of input.
    let patient = Setup::new()
        .zone(&zone())
        .config("[server]\ntcp_idle_timeout = \"60s\"")
        .start();
    let mut s = TcpStream::connect(patient.addr).expect("connect");
    s.write_all(&[0x01, 0x00]).expect("len");
    s.write_all(&good).expect("partial body");
    s.shutdown(Shutdown::Write).expect("shutdown");
    wait_closed(&mut s, Duration::from_secs(20));
    assert_alive_udp(patient.addr, "short message");
    drop(patient);

    // A zero-length message: no reply, the connection is closed.
    let mut s = TcpStream::connect(d.addr).expect("connect");
    s.write_all(&[0, 0]).expect("write");
    wait_closed(&mut s, Duration::from_secs(3));
    assert_alive_udp(d.addr, "zero-length message");

    // A message trickled one byte per write, within the idle timeout: answered.
    let mut s = TcpStream::connect(d.addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let framed = frame(&good);
    for b in &framed {
        s.write_all(std::slice::from_ref(b)).expect("byte");
        std::thread::sleep(Duration::from_millis(15));
    }
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let body = read_framed(&mut s).expect("trickled query answered");
    let m = Message::from_vec(&body).expect("decode");
    assert_eq!(m.answers.len(), 1);
    drop(s);

    // A trickle slower than the idle timeout allows for a whole message: closed.
    let mut s = TcpStream::connect(d.addr).expect("connect");
    let started = Instant::now();
    let mut closed = false;
    for b in framed.iter().take(30) {
        if s.write_all(std::slice::from_ref(b)).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        if started.elapsed() > Duration::from_millis(1500) {
            break;
        }
    }
    if !closed {
        wait_closed(&mut s, Duration::from_secs(2));
    }
    assert_alive_udp(d.addr, "slow trickle");

    // Half-open: connect and send nothing; closed after tcp_idle_timeout (1 s), never
    // before it. The wait is generous (a loaded machine is slow, never early): nothing
    // else would close a silent connection.
    let mut s = TcpStream::connect(d.addr).expect("connect");
    let took = wait_closed(&mut s, Duration::from_secs(15));
    assert!(
        took >= Duration::from_millis(800),
        "idle connection closed after {took:?}, before the idle timeout"
    );

    // Several half-open connections do not stop others from being served.
    let idle: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(d.addr).expect("connect"))
        .collect();
    let m = d.tcp(Query::new("static.hostile.test.", RecordType::A));
    assert_eq!(m.answers.len(), 1);
    drop(idle);
}

/// RD is echoed whatever the opcode (as Knot does), CD only for QUERY, the one opcode that
/// defines it (ISC's genreport `opcodeflg` test).
#[test]
fn cd_is_echoed_only_for_query() {
    let d = daemon();
    // Opcode 15 with RD and CD and every other flag set, no question: NOTIMP, RD, no CD.
    let packet = [0x12, 0x34, (15 << 3) | 0x07, 0xF0, 0, 0, 0, 0, 0, 0, 0, 0];
    let reply = send_udp(d.addr, &packet, Duration::from_secs(3)).expect("a reply");
    assert_eq!(raw_rcode(&reply), 4, "NOTIMP: {reply:02x?}");
    assert_eq!(reply[2] & 0x01, 0x01, "RD echoed: {reply:02x?}");
    assert_eq!(reply[3] & 0x10, 0, "CD not echoed: {reply:02x?}");
    assert_eq!(reply[2] & 0x06, 0, "no AA, no TC: {reply:02x?}");
    // A QUERY with CD gets it back.
    let mut query = Query::new("static.hostile.test.", RecordType::A).to_bytes();
    query[3] |= 0x10;
    let reply = send_udp(d.addr, &query, Duration::from_secs(3)).expect("a reply");
    assert_eq!(raw_rcode(&reply), 0, "{reply:02x?}");
    assert_eq!(reply[3] & 0x10, 0x10, "CD echoed for QUERY: {reply:02x?}");
}
