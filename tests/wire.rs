//! Wire-level tests: the real binary on loopback, queried over UDP and TCP, answers decoded
//! by hickory-proto. Each case states the rcode, flags and sections it expects.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::time::Duration;

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, RecordType};

const ZONE: &str = r#"
origin = "wire.test."
ttl = 300
[soa]
mname = "ns1.wire.test."
rname = "hostmaster.wire.test."
serial = 7
minimum = "30s"

[[record]]
name = "@"
type = "NS"
data = ["ns1", "ns2.wire.test."]
[[record]]
name = "ns1"
type = "A"
data = ["127.0.0.1"]
[[record]]
name = "ns2"
type = "AAAA"
data = ["::2"]
[[record]]
name = "@"
type = "MX"
data = ["10 mail.wire.test."]
[[record]]
name = "mail"
type = "A"
data = ["127.0.0.5"]
[[record]]
name = "static"
type = "A"
ttl = 60
data = ["127.0.0.30", "127.0.0.31"]
[[record]]
name = "static"
type = "TXT"
data = ["\"hello world\""]
[[record]]
name = "alias"
type = "CNAME"
data = ["alias2"]
[[record]]
name = "alias2"
type = "CNAME"
data = ["static.wire.test."]
[[record]]
name = "away"
type = "CNAME"
data = ["elsewhere.example."]
[[record]]
name = "dangling"
type = "CNAME"
data = ["missing.wire.test."]
[[record]]
name = "*.wild"
type = "A"
data = ["127.0.0.40"]
[[record]]
name = "deep.a.b"
type = "TXT"
data = ["\"deep\""]
[[record]]
name = "big"
type = "TXT"
data = [
  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1\"",
  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2\"",
  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3\"",
  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa4\"",
  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa5\"",
  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa6\"",
]

[region.one]
[region.two]
[region.off]
state = "down"

[map.nets]
default = "one"
"net:10.0.0.0/8" = "two > one"
"net:10.1.0.0/16" = "off > one"

[service.www]
map = "nets"
ttl = 20
max_answers = 2
[service.www.region.one]
endpoints = ["127.0.1.1", "127.0.1.2", "127.0.1.3", "::11"]
[service.www.region.two]
endpoints = ["127.0.2.1"]
[service.www.region.off]
endpoints = ["127.0.3.1"]

[service.split]
geo = { default = "one, two" }
[service.split.region.one]
endpoints = ["127.0.1.1"]
weight = 50
[service.split.region.two]
endpoints = ["127.0.2.1"]
weight = 50

[service.cn]
geo = { default = "one" }
[service.cn.region.one]
cname = "static.wire.test."
"#;

fn daemon() -> Daemon {
    start("", &[("wire.toml", ZONE)])
}

fn rcode(m: &Message) -> ResponseCode {
    m.metadata.response_code
}

fn soa_only(m: &Message) -> bool {
    m.authorities.len() == 1
        && m.authorities[0].record_type() == RecordType::SOA
        && m.authorities[0].ttl == 30
        && m.authorities[0].name.to_string() == "wire.test."
}

#[test]
fn authoritative_answers_over_udp_and_tcp() {
    let d = daemon();
    let plain = Opts::default();
    for proto in ["udp", "tcp"] {
        let q = |name: &str, t: RecordType| {
            if proto == "udp" {
                udp(d.addr, name, t, &plain)
            } else {
                tcp(d.addr, name, t, &plain)
            }
        };
        // Positive answer, case echoed, AA, RD echoed, no RA.
        let m = q("StAtIc.WiRe.TeSt.", RecordType::A);
        assert_eq!(rcode(&m), ResponseCode::NoError);
        assert!(m.metadata.authoritative && m.metadata.recursion_desired);
        assert!(!m.metadata.recursion_available && !m.metadata.truncation);
        assert_eq!(m.queries[0].name().to_string(), "StAtIc.WiRe.TeSt.");
        assert_eq!(
            answers(&m),
            vec![
                "StAtIc.WiRe.TeSt. 60 A 127.0.0.30",
                "StAtIc.WiRe.TeSt. 60 A 127.0.0.31"
            ]
        );
        assert!(m.authorities.is_empty());

        // NXDOMAIN with the SOA, TTL = min(SOA TTL, minimum).
        let m = q("nope.wire.test.", RecordType::A);
        assert_eq!(rcode(&m), ResponseCode::NXDomain);
        assert!(
            m.metadata.authoritative && m.answers.is_empty() && soa_only(&m),
            "{m:?}"
        );
        let m = q("below.nope.wire.test.", RecordType::A);
        assert_eq!(rcode(&m), ResponseCode::NXDomain);

        // NODATA: the name exists, the type does not.
        let m = q("static.wire.test.", RecordType::AAAA);
        assert_eq!(rcode(&m), ResponseCode::NoError);
        assert!(m.answers.is_empty() && soa_only(&m));

        // Empty non-terminals are NODATA, not NXDOMAIN.
        for ent in ["a.b.wire.test.", "b.wire.test.", "wild.wire.test."] {
            let m = q(ent, RecordType::A);
            assert_eq!(rcode(&m), ResponseCode::NoError, "{ent}");
            assert!(m.answers.is_empty() && soa_only(&m), "{ent}");
        }

        // Wildcards synthesise the query name; other types at a wildcard are NODATA.
        let m = q("x.y.wild.wire.test.", RecordType::A);
        assert_eq!(answers(&m), vec!["x.y.wild.wire.test. 300 A 127.0.0.40"]);
        let m = q("x.wild.wire.test.", RecordType::MX);
        assert!(m.answers.is_empty() && soa_only(&m));

        // In-zone CNAME chain followed; out-of-zone target not.
        let m = q("alias.wire.test.", RecordType::A);
        assert_eq!(
            answers(&m),
            vec![
                "alias.wire.test. 300 CNAME alias2.wire.test.",
                "alias2.wire.test. 300 CNAME static.wire.test.",
                "static.wire.test. 60 A 127.0.0.30",
                "static.wire.test. 60 A 127.0.0.31",
            ]
        );
        let m = q("away.wire.test.", RecordType::A);
        assert_eq!(
            answers(&m),
            vec!["away.wire.test. 300 CNAME elsewhere.example."]
        );
        let m = q("dangling.wire.test.", RecordType::A);
        assert_eq!(
            rcode(&m),
            ResponseCode::NXDomain,
            "rcode of the chain's last name"
        );
        assert_eq!(m.answers.len(), 1);
        let m = q("alias.wire.test.", RecordType::CNAME);
        assert_eq!(
            answers(&m),
            vec!["alias.wire.test. 300 CNAME alias2.wire.test."]
        );

        // Additional A/AAAA for in-zone NS and MX targets.
        let m = q("wire.test.", RecordType::NS);
        assert_eq!(m.answers.len(), 2);
        assert_eq!(
            section(&m.additionals),
            vec![
                "ns1.wire.test. 300 A 127.0.0.1",
                "ns2.wire.test. 300 AAAA ::2"
            ]
        );
        let m = q("wire.test.", RecordType::MX);
        assert_eq!(
            section(&m.additionals),
            vec!["mail.wire.test. 300 A 127.0.0.5"]
        );
        let m = q("wire.test.", RecordType::SOA);
        assert_eq!(m.answers.len(), 1);
        assert_eq!(m.answers[0].ttl, 300);

        // Outside every zone: REFUSED, not authoritative.
        let m = q("example.com.", RecordType::A);
        assert_eq!(rcode(&m), ResponseCode::Refused);
        assert!(!m.metadata.authoritative && m.answers.is_empty());
        let m = q(".", RecordType::NS);
        assert_eq!(rcode(&m), ResponseCode::Refused);

        // ANY: one RRset (RFC 8482).
        let m = q("static.wire.test.", RecordType::ANY);
        assert_eq!(rcode(&m), ResponseCode::NoError);
        let types: std::collections::BTreeSet<_> =
            m.answers.iter().map(|r| r.record_type()).collect();
        assert_eq!(types.len(), 1, "{m:?}");
    }
}

#[test]
fn edns_truncation_badvers_nsid_chaos() {
    let d = daemon();
    // 6 x 100-byte TXT strings do not fit 512 bytes: TC over UDP, whole over TCP.
    let m = udp(d.addr, "big.wire.test.", RecordType::TXT, &Opts::default());
    assert!(m.metadata.truncation && m.answers.is_empty());
    assert_eq!(rcode(&m), ResponseCode::NoError);
    let m = tcp(d.addr, "big.wire.test.", RecordType::TXT, &Opts::default());
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 6);
    // With EDNS 1232 it fits over UDP; our OPT advertises 1232.
    let m = udp(
        d.addr,
        "big.wire.test.",
        RecordType::TXT,
        &Opts {
            edns: Some(4096),
            ..Default::default()
        },
    );
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 6);
    assert_eq!(m.edns.as_ref().unwrap().max_payload(), 1232);
    let m = udp(
        d.addr,
        "big.wire.test.",
        RecordType::TXT,
        &Opts {
            edns: Some(512),
            ..Default::default()
        },
    );
    assert!(m.metadata.truncation);

    // EDNS version 1: BADVERS with an OPT of version 0.
    let m = udp(
        d.addr,
        "static.wire.test.",
        RecordType::A,
        &Opts {
            edns: Some(1232),
            version: 1,
            ..Default::default()
        },
    );
    assert_eq!(
        u16::from(rcode(&m)),
        16,
        "BADVERS (hickory names code 16 BADSIG)"
    );
    assert_eq!(m.edns.as_ref().unwrap().version(), 0);
    assert!(m.answers.is_empty());

    // NSID when asked, not otherwise.
    let m = udp(
        d.addr,
        "static.wire.test.",
        RecordType::A,
        &Opts {
            nsid: true,
            ..Default::default()
        },
    );
    let nsid = m
        .edns
        .as_ref()
        .unwrap()
        .option(hickory_proto::rr::rdata::opt::EdnsCode::NSID);
    assert!(
        format!("{nsid:?}").contains("test-nsid")
            || format!("{nsid:?}").contains("116, 101, 115, 116"),
        "{nsid:?}"
    );
    let m = udp(
        d.addr,
        "static.wire.test.",
        RecordType::A,
        &Opts {
            edns: Some(1232),
            ..Default::default()
        },
    );
    assert!(
        m.edns
            .as_ref()
            .unwrap()
            .option(hickory_proto::rr::rdata::opt::EdnsCode::NSID)
            .is_none()
    );
    // No EDNS in, no OPT out.
    let m = udp(d.addr, "static.wire.test.", RecordType::A, &Opts::default());
    assert!(m.edns.is_none());

    // CHAOS identity; version.bind hidden.
    let ch = Opts {
        class: Some(DNSClass::CH),
        ..Default::default()
    };
    let m = udp(d.addr, "id.server.", RecordType::TXT, &ch);
    assert_eq!(m.answers.len(), 1);
    assert!(m.answers[0].data.to_string().contains("test-id"));
    let m = udp(d.addr, "version.bind.", RecordType::TXT, &ch);
    assert_eq!(rcode(&m), ResponseCode::Refused);
}

#[test]
fn axfr_refused_and_malformed_packets() {
    let d = daemon();
    let m = tcp(d.addr, "wire.test.", RecordType::AXFR, &Opts::default());
    assert_eq!(rcode(&m), ResponseCode::Refused);
    let m = udp(d.addr, "wire.test.", RecordType::IXFR, &Opts::default());
    assert_eq!(rcode(&m), ResponseCode::Refused);

    let good = build("static.wire.test.", RecordType::A, &Opts::default());
    // Too short, a response, garbage: no reply.
    for junk in [&good[..5], &[0xFFu8; 40][..]] {
        assert!(try_udp(d.addr, junk, 0.3).is_none());
    }
    // Two questions: FORMERR with the ID echoed.
    let mut two = good.clone();
    two[5] = 2;
    let r = try_udp(d.addr, &two, 2.0).expect("reply");
    assert_eq!(&r[..2], &good[..2]);
    assert_eq!(r[3] & 0x0F, 1);
    // Truncated question: FORMERR.
    let r = try_udp(d.addr, &good[..good.len() - 3], 2.0).expect("reply");
    assert_eq!(r[3] & 0x0F, 1);
    // Bad ECS (prefix 23 with bit 24 set): FORMERR (RFC 7871 7.1.1).
    let mut p = build(
        "www.wire.test.",
        RecordType::A,
        &Opts {
            ecs: Some(("10.0.0.0".parse().unwrap(), 24)),
            ..Default::default()
        },
    );
    let at = p.len() - 4; // address bytes 10.0.0, then...
    p[at - 1] = 23; // source prefix 23, and the last address byte's low bit must be 0
    let last = p.len() - 1;
    p[last] = 1;
    let r = try_udp(d.addr, &p, 2.0).expect("reply");
    assert_eq!(r[3] & 0x0F, 1, "{r:?}");
    // Still answering.
    let m = udp(d.addr, "static.wire.test.", RecordType::A, &Opts::default());
    assert_eq!(m.answers.len(), 2);
}

#[test]
fn steered_answers_with_ecs_scope() {
    let d = daemon();
    let ecs = |a: &str, p: u8| Opts {
        ecs: Some((a.parse().unwrap(), p)),
        ..Default::default()
    };
    // Default key: region one, max_answers 2 of its 3 IPv4 endpoints; the answer does not
    // depend on the client beyond the net keys: scope is where 10/8 stops mattering.
    let m = udp(
        d.addr,
        "www.wire.test.",
        RecordType::A,
        &ecs("192.0.2.0", 24),
    );
    let got = addrs(&m);
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|a| a.starts_with("127.0.1.")), "{got:?}");
    assert_eq!(m.answers[0].ttl, 20);
    let (addr, source, scope) = ecs_of(&m).unwrap();
    assert_eq!((addr, source), ("192.0.2.0".parse::<IpAddr>().unwrap(), 24));
    assert_eq!(scope, 1, "192/8 and 10/8 differ in the first bit");
    // net:10.0.0.0/8 -> two, scope 16 (10.1/16 sits inside with another answer).
    let m = udp(
        d.addr,
        "www.wire.test.",
        RecordType::A,
        &ecs("10.200.0.0", 16),
    );
    assert_eq!(addrs(&m), vec!["127.0.2.1"]);
    assert_eq!(ecs_of(&m).unwrap().2, 9);
    // net:10.1.0.0/16 -> off is down -> one (tier 2): failover, scope 16.
    let m = udp(
        d.addr,
        "www.wire.test.",
        RecordType::A,
        &ecs("10.1.2.0", 24),
    );
    assert!(addrs(&m).iter().all(|a| a.starts_with("127.0.1.")));
    assert_eq!(ecs_of(&m).unwrap().2, 16);
    // AAAA from the same region.
    let m = udp(
        d.addr,
        "www.wire.test.",
        RecordType::AAAA,
        &ecs("192.0.2.0", 24),
    );
    assert_eq!(addrs(&m), vec!["::11"]);
    // Rotation: repeated queries see every endpoint.
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..12 {
        seen.extend(addrs(&udp(
            d.addr,
            "www.wire.test.",
            RecordType::A,
            &ecs("192.0.2.0", 24),
        )));
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    // Weighted split: scope is the hashing prefix /24, and subnets stick.
    let m = udp(
        d.addr,
        "split.wire.test.",
        RecordType::A,
        &ecs("198.51.100.0", 24),
    );
    assert_eq!(ecs_of(&m).unwrap().2, 24);
    let first = addrs(&m);
    for _ in 0..5 {
        assert_eq!(
            addrs(&udp(
                d.addr,
                "split.wire.test.",
                RecordType::A,
                &ecs("198.51.100.0", 24)
            )),
            first
        );
    }
    // Source prefix 0: use the resolver, scope 0.
    let m = udp(
        d.addr,
        "split.wire.test.",
        RecordType::A,
        &ecs("0.0.0.0", 0),
    );
    assert_eq!(ecs_of(&m).unwrap().2, 0);
    // Static names: scope 0.
    let m = udp(
        d.addr,
        "static.wire.test.",
        RecordType::A,
        &ecs("198.51.100.0", 24),
    );
    assert_eq!(
        ecs_of(&m).unwrap(),
        ("198.51.100.0".parse().unwrap(), 24, 0)
    );
    // A CNAME region answers its CNAME (followed in zone).
    let m = udp(d.addr, "cn.wire.test.", RecordType::A, &Opts::default());
    assert_eq!(m.answers[0].record_type(), RecordType::CNAME);
    assert_eq!(m.answers.len(), 3);
    // Other types at a service name: NODATA.
    let m = udp(d.addr, "www.wire.test.", RecordType::TXT, &Opts::default());
    assert!(m.answers.is_empty() && soa_only(&m));
}

/// Opens `n` idle connections (returned, so they stay open) and checks that one more is
/// closed by the server at once.
fn hold_then_expect_refusal(addr: std::net::SocketAddr, n: usize) -> Vec<TcpStream> {
    let held: Vec<TcpStream> = (0..n).map(|_| TcpStream::connect(addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = TcpStream::connect(addr).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    assert!(
        closed_by_server(&mut extra),
        "connection {} must be closed",
        n + 1
    );
    held
}

#[test]
fn tcp_pipelining_and_connection_limit() {
    let d = daemon();
    // Three queries in one write are answered in order.
    let mut s = TcpStream::connect(d.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut batch = Vec::new();
    let names = ["static.wire.test.", "nope.wire.test.", "mail.wire.test."];
    for n in names {
        let q = build(n, RecordType::A, &Opts::default());
        batch.extend_from_slice(&(q.len() as u16).to_be_bytes());
        batch.extend_from_slice(&q);
    }
    s.write_all(&batch).unwrap();
    for n in names {
        let mut len = [0u8; 2];
        s.read_exact(&mut len).unwrap();
        let mut buf = vec![0; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut buf).unwrap();
        let m = Message::from_vec(&buf).unwrap();
        assert_eq!(m.queries[0].name().to_string(), n);
    }
    drop(s);
    std::thread::sleep(Duration::from_millis(100));

    // max_tcp_connections = 16: sixteen idle connections are kept, the next is closed at once,
    // and an existing one still gets answers.
    let mut idle = hold_then_expect_refusal(d.addr, 16);
    let q = build("static.wire.test.", RecordType::A, &Opts::default());
    let c = &mut idle[3];
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    c.write_all(&(q.len() as u16).to_be_bytes()).unwrap();
    c.write_all(&q).unwrap();
    let mut len = [0u8; 2];
    c.read_exact(&mut len).unwrap();
    assert!(u16::from_be_bytes(len) > 12);

    // Idle connections are closed after tcp_idle_timeout (2 s here).
    let mut lone = TcpStream::connect(d.addr);
    drop(idle);
    std::thread::sleep(Duration::from_millis(100));
    lone = lone.or_else(|_| TcpStream::connect(d.addr));
    let mut lone = lone.unwrap();
    lone.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
    let started = std::time::Instant::now();
    assert!(closed_by_server(&mut lone));
    assert!(started.elapsed() < Duration::from_secs(6));
}

#[test]
fn explain_txt_only_for_debug_clients() {
    let d = daemon();
    // The harness leaves debug_from at its default (loopback): this client may ask.
    let m = udp(
        d.addr,
        "_explain.www.wire.test.",
        RecordType::TXT,
        &Opts {
            ecs: Some(("10.1.2.0".parse().unwrap(), 24)),
            ..Default::default()
        },
    );
    assert_eq!(rcode(&m), ResponseCode::NoError);
    let text = m
        .answers
        .iter()
        .map(|r| r.data.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    for want in [
        "service www",
        "10.1.2.0/24",
        "from ecs",
        "net:10.1.0.0/16",
        "reason failover",
        "scope: /16",
    ] {
        assert!(text.contains(want), "{want:?} missing in {text}");
    }
    assert_eq!(m.answers[0].ttl, 0);

    // Trust only 192.0.2.0/24 for debugging (by reload): loopback now gets the normal answer.
    let text = std::fs::read_to_string(&d.config).unwrap().replace(
        "max_tcp_connections = 16",
        "max_tcp_connections = 16\ndebug_from = [\"192.0.2.0/24\"]",
    );
    std::fs::write(&d.config, text).unwrap();
    sighup(&d);
    let started = std::time::Instant::now();
    loop {
        let m = udp(
            d.addr,
            "_explain.www.wire.test.",
            RecordType::TXT,
            &Opts::default(),
        );
        if rcode(&m) == ResponseCode::NXDomain {
            assert!(m.answers.is_empty() && soa_only(&m));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "debug_from change not applied"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn json_query_logs_and_per_client_tcp_limit() {
    let d = start(
        "[log]\nformat = \"json\"\nqueries = true\n",
        &[("wire.toml", ZONE)],
    );
    let m = udp(
        d.addr,
        "wWw.Wire.test.",
        RecordType::A,
        &Opts {
            ecs: Some(("10.200.0.0".parse().unwrap(), 16)),
            ..Default::default()
        },
    );
    assert_eq!(addrs(&m), vec!["127.0.2.1"]);
    let _ = udp(
        d.addr,
        "nope.wire.test.",
        RecordType::AAAA,
        &Opts::default(),
    );
    // One JSON object per line; the query lines carry the decision.
    let started = std::time::Instant::now();
    let (steered, nx) = loop {
        let log = d.log();
        let lines: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        let find =
            |pred: &dyn Fn(&serde_json::Value) -> bool| lines.iter().find(|v| pred(v)).cloned();
        let steered = find(&|v| v["fields"]["service"] == "www");
        let nx = find(&|v| v["fields"]["rcode"] == "NXDOMAIN");
        if let (Some(s), Some(n)) = (steered, nx) {
            break (s, n);
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "query lines missing:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let f = &steered["fields"];
    assert_eq!(f["message"], "query");
    assert_eq!(f["client"], "127.0.0.1");
    assert_eq!(f["ecs"], "10.200.0.0/16");
    assert_eq!(
        f["qname"], "wWw.Wire.test.",
        "the question as asked, case kept"
    );
    assert_eq!(f["qtype"], "A");
    assert_eq!(f["rcode"], "NOERROR");
    assert_eq!(f["region"], "two");
    assert_eq!(f["reason"], "geo");
    assert_eq!(f["proto"], "udp");
    assert_eq!(nx["fields"]["qtype"], "AAAA");

    // Per-client TCP limit: with 4 allowed per client address, the fifth from 127.0.0.1 is
    // closed at once while a different loopback address is still admitted.
    let text = std::fs::read_to_string(&d.config).unwrap().replace(
        "max_tcp_connections = 16",
        "max_tcp_connections = 16\nmax_tcp_connections_per_client = 4",
    );
    std::fs::write(&d.config, text).unwrap();
    sighup(&d);
    std::thread::sleep(Duration::from_millis(300));
    let _held = hold_then_expect_refusal(d.addr, 4);
    let other = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    other
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 9], 0)).into())
        .unwrap();
    other.connect(&d.addr.into()).unwrap();
    let mut other: TcpStream = other.into();
    other
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let q = build("static.wire.test.", RecordType::A, &Opts::default());
    other.write_all(&(q.len() as u16).to_be_bytes()).unwrap();
    other.write_all(&q).unwrap();
    let mut len = [0u8; 2];
    other
        .read_exact(&mut len)
        .expect("another client address is still served");
}
