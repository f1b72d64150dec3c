//! Wire-level tests: the real binary on loopback, queried over UDP and TCP, answers decoded
//! by hickory-proto. Each case states the rcode, flags and sections it expects.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::opt::EdnsCode;
use hickory_proto::rr::{DNSClass, RecordType};

/// Steering part of the zone: regions, a map with net: keys, and three services.
const STEERING: &str = r#"
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

fn zone() -> Zone {
    // Six 99-octet TXT strings (100 octets each with the length): too big for 512 octets.
    let big: Vec<String> = (1..=6)
        .map(|i| format!("\"{}{i}\"", "a".repeat(98)))
        .collect();
    let big: Vec<&str> = big.iter().map(String::as_str).collect();
    Zone::new("wire.test.")
        .ttl(300)
        .serial(7)
        .minimum("30s")
        .record("@", "NS", &["ns1", "ns2.wire.test."])
        .record("ns1", "A", &["127.0.0.1"])
        .record("ns2", "AAAA", &["::2"])
        .record("@", "MX", &["10 mail.wire.test."])
        .record("mail", "A", &["127.0.0.5"])
        .record_ttl("static", "A", 60, &["127.0.0.30", "127.0.0.31"])
        .record("static", "TXT", &["\"hello world\""])
        .record("alias", "CNAME", &["alias2"])
        .record("alias2", "CNAME", &["static.wire.test."])
        .record("away", "CNAME", &["elsewhere.example."])
        .record("dangling", "CNAME", &["missing.wire.test."])
        .record("*.wild", "A", &["127.0.0.40"])
        .record("deep.a.b", "TXT", &["\"deep\""])
        .record("big", "TXT", &big)
        .toml(STEERING)
}

fn daemon() -> Daemon {
    Daemon::start(&zone())
}

/// The authority section of a negative answer: the zone's SOA alone, TTL = min(SOA TTL,
/// minimum) = 30.
fn soa_only(m: &Message) -> bool {
    m.authorities.len() == 1
        && m.authorities[0].record_type() == RecordType::SOA
        && m.authorities[0].ttl == 30
        && m.authorities[0].name.to_string() == "wire.test."
}

//------------ authoritative answers ------------

/// What the authority section of a reply must be.
#[derive(Clone, Copy, Debug)]
enum Authority {
    /// Empty (a positive answer, or a refusal).
    Empty,
    /// The zone's SOA alone (NXDOMAIN, NODATA), see [`soa_only`].
    Soa,
}

use Authority::{Empty, Soa};
use RecordType as T;
use ResponseCode::{NXDomain, NoError, Refused};

// Answer sections, as sorted [`answers`] lines.
const NONE: &[&str] = &[];
const STATIC_ECHO: &[&str] = &[
    "StAtIc.WiRe.TeSt. 60 A 127.0.0.30",
    "StAtIc.WiRe.TeSt. 60 A 127.0.0.31",
];
const WILD: &[&str] = &["x.y.wild.wire.test. 300 A 127.0.0.40"];
const CHAIN: &[&str] = &[
    "alias.wire.test. 300 CNAME alias2.wire.test.",
    "alias2.wire.test. 300 CNAME static.wire.test.",
    "static.wire.test. 60 A 127.0.0.30",
    "static.wire.test. 60 A 127.0.0.31",
];
const AWAY: &[&str] = &["away.wire.test. 300 CNAME elsewhere.example."];
const DANGLING: &[&str] = &["dangling.wire.test. 300 CNAME missing.wire.test."];
const ALIAS: &[&str] = &["alias.wire.test. 300 CNAME alias2.wire.test."];
const APEX_NS: &[&str] = &[
    "wire.test. 300 NS ns1.wire.test.",
    "wire.test. 300 NS ns2.wire.test.",
];
const APEX_MX: &[&str] = &["wire.test. 300 MX 10 mail.wire.test."];

/// A query inside the zone and the reply it must get: (name, type, rcode, answer section,
/// authority section). AA is set on every one of them.
type Case = (
    &'static str,
    RecordType,
    ResponseCode,
    &'static [&'static str],
    Authority,
);

const CASES: &[Case] = &[
    // A positive answer; the query name's case is echoed.
    ("StAtIc.WiRe.TeSt.", T::A, NoError, STATIC_ECHO, Empty),
    // NXDOMAIN with the SOA, TTL = min(SOA TTL, minimum); also below a missing name.
    ("nope.wire.test.", T::A, NXDomain, NONE, Soa),
    ("below.nope.wire.test.", T::A, NXDomain, NONE, Soa),
    // NODATA: the name exists, the type does not.
    ("static.wire.test.", T::AAAA, NoError, NONE, Soa),
    // Empty non-terminals are NODATA, not NXDOMAIN.
    ("a.b.wire.test.", T::A, NoError, NONE, Soa),
    ("b.wire.test.", T::A, NoError, NONE, Soa),
    ("wild.wire.test.", T::A, NoError, NONE, Soa),
    // Wildcards synthesise the query name; other types at a wildcard are NODATA.
    ("x.y.wild.wire.test.", T::A, NoError, WILD, Empty),
    ("x.wild.wire.test.", T::MX, NoError, NONE, Soa),
    // An in-zone CNAME chain is followed, an out-of-zone target is not.
    ("alias.wire.test.", T::A, NoError, CHAIN, Empty),
    ("away.wire.test.", T::A, NoError, AWAY, Empty),
    // A dangling CNAME: the rcode of the chain's last name.
    ("dangling.wire.test.", T::A, NXDomain, DANGLING, Soa),
    // The CNAME itself asked for: not followed.
    ("alias.wire.test.", T::CNAME, NoError, ALIAS, Empty),
    // Additional A/AAAA for in-zone NS and MX targets (see `ADDITIONAL`).
    ("wire.test.", T::NS, NoError, APEX_NS, Empty),
    ("wire.test.", T::MX, NoError, APEX_MX, Empty),
];

/// The additional section (without OPT) of the cases that have one, as sorted lines.
const ADDITIONAL: &[(RecordType, &[&str])] = &[
    (
        T::NS,
        &[
            "ns1.wire.test. 300 A 127.0.0.1",
            "ns2.wire.test. 300 AAAA ::2",
        ],
    ),
    (T::MX, &["mail.wire.test. 300 A 127.0.0.5"]),
];

/// Checks the header and the echoed question of a reply to `name` with AA `aa`.
fn check_header(m: &Message, name: &str, aa: bool, at: &str) {
    assert_eq!(m.metadata.authoritative, aa, "{at}: AA");
    assert!(m.metadata.recursion_desired, "{at}: RD echoed");
    assert!(!m.metadata.recursion_available, "{at}: no RA");
    assert!(!m.metadata.truncation, "{at}: no TC");
    assert_eq!(m.queries[0].name().to_string(), name, "{at}: question");
}

#[test]
fn authoritative_answers_over_udp_and_tcp() {
    let d = daemon();
    for (how, ask) in [
        ("udp", Daemon::udp as fn(&Daemon, Query) -> Message),
        ("tcp", Daemon::tcp),
    ] {
        for &(name, qtype, rc, answer, authority) in CASES {
            let at = format!("{how} {name} {qtype}");
            let m = ask(&d, Query::new(name, qtype));
            assert_eq!(rcode(&m), rc, "{at}");
            check_header(&m, name, true, &at);
            assert_eq!(answers(&m), answer, "{at}: answer");
            match authority {
                Empty => assert!(m.authorities.is_empty(), "{at}: authority {m:?}"),
                Soa => assert!(soa_only(&m), "{at}: authority {m:?}"),
            }
            if name == "wire.test." {
                let (_, additional) = ADDITIONAL
                    .iter()
                    .find(|(t, _)| *t == qtype)
                    .expect("additional section of the case");
                assert_eq!(section(&m.additionals), *additional, "{at}: additional");
            }
        }
        // Outside every zone: REFUSED, not authoritative, nothing in the sections.
        for (name, qtype) in [("example.com.", T::A), (".", T::NS)] {
            let at = format!("{how} {name} {qtype}");
            let m = ask(&d, Query::new(name, qtype));
            assert_eq!(rcode(&m), Refused, "{at}");
            check_header(&m, name, false, &at);
            assert!(
                m.answers.is_empty() && m.authorities.is_empty(),
                "{at}: {m:?}"
            );
        }
        // The SOA at the apex, with the zone's TTL.
        let m = ask(&d, Query::new("wire.test.", T::SOA));
        assert_eq!(m.answers.len(), 1, "{how}");
        assert_eq!(m.answers[0].ttl, 300, "{how}");
        // ANY: one RRset (RFC 8482), whichever it is.
        let m = ask(&d, Query::new("static.wire.test.", T::ANY));
        assert_eq!(rcode(&m), NoError, "{how}");
        let types: BTreeSet<_> = m.answers.iter().map(|r| r.record_type()).collect();
        assert_eq!(types.len(), 1, "{how}: {m:?}");
    }
}

//------------ EDNS, truncation, CHAOS ------------

#[test]
fn edns_truncation_badvers_nsid_chaos() {
    let d = daemon();
    let big = || Query::new("big.wire.test.", T::TXT);
    // (query, transport, TC expected, answers): 6 x 100-octet TXT strings do not fit 512
    // octets; with EDNS 4096 they fit over UDP (our OPT advertises 1232), TCP takes them whole.
    for (q, how, truncated, count) in [
        (big(), "udp", true, 0),
        (big(), "tcp", false, 6),
        (big().edns(4096), "udp", false, 6),
        (big().edns(512), "udp", true, 0),
    ] {
        let m = if how == "udp" {
            d.udp(q.clone())
        } else {
            d.tcp(q.clone())
        };
        let at = format!("{how} {:?}", q.edns);
        assert_eq!(m.metadata.truncation, truncated, "{at}");
        assert_eq!(m.answers.len(), count, "{at}");
        assert_eq!(rcode(&m), NoError, "{at}");
        if let Some(edns) = &m.edns {
            assert_eq!(edns.max_payload(), 1232, "{at}");
        }
    }

    let stat = || Query::new("static.wire.test.", T::A);
    // EDNS version 1: BADVERS with an OPT of version 0.
    let m = d.udp(stat().edns(1232).version(1));
    assert_eq!(
        u16::from(rcode(&m)),
        16,
        "BADVERS (hickory names code 16 BADSIG)"
    );
    assert_eq!(m.edns.as_ref().expect("OPT").version(), 0);
    assert!(m.answers.is_empty());

    // NSID when asked, not otherwise.
    let m = d.udp(stat().nsid());
    let nsid = m.edns.as_ref().expect("OPT").option(EdnsCode::NSID);
    assert!(
        format!("{nsid:?}").contains("test-nsid")
            || format!("{nsid:?}").contains("116, 101, 115, 116"),
        "{nsid:?}"
    );
    let m = d.udp(stat().edns(1232));
    assert!(
        m.edns
            .as_ref()
            .expect("OPT")
            .option(EdnsCode::NSID)
            .is_none()
    );
    // No EDNS in, no OPT out.
    assert!(d.udp(stat()).edns.is_none());

    // CHAOS identity; version.bind hidden.
    let m = d.udp(Query::new("id.server.", T::TXT).class(DNSClass::CH));
    assert_eq!(m.answers.len(), 1);
    assert!(m.answers[0].data.to_string().contains("test-id"));
    let m = d.udp(Query::new("version.bind.", T::TXT).class(DNSClass::CH));
    assert_eq!(rcode(&m), Refused);
}

#[test]
fn axfr_refused_and_malformed_packets() {
    let d = daemon();
    assert_eq!(rcode(&d.tcp(Query::new("wire.test.", T::AXFR))), Refused);
    assert_eq!(rcode(&d.udp(Query::new("wire.test.", T::IXFR))), Refused);

    let good = Query::new("static.wire.test.", T::A).to_bytes();
    let send = |p: &[u8], secs: f64| send_udp(d.addr, p, Duration::from_secs_f64(secs)).ok();
    // Too short, a response, garbage: no reply.
    for junk in [&good[..5], &[0xFFu8; 40][..]] {
        assert!(send(junk, 0.3).is_none());
    }
    // Two questions: FORMERR with the ID echoed.
    let mut two = good.clone();
    two[5] = 2;
    let r = send(&two, 2.0).expect("reply");
    assert_eq!(&r[..2], &good[..2]);
    assert_eq!(raw_rcode(&r), 1);
    // Truncated question: FORMERR.
    let r = send(&good[..good.len() - 3], 2.0).expect("reply");
    assert_eq!(raw_rcode(&r), 1);
    // Bad ECS (prefix 23 with bit 24 set): FORMERR (RFC 7871 7.1.1).
    let mut p = Query::new("www.wire.test.", T::A)
        .ecs("10.0.0.0", 24)
        .to_bytes();
    let at = p.len() - 4; // address bytes 10.0.0, then...
    p[at - 1] = 23; // source prefix 23, and the last address byte's low bit must be 0
    let last = p.len() - 1;
    p[last] = 1;
    let r = send(&p, 2.0).expect("reply");
    assert_eq!(raw_rcode(&r), 1, "{r:?}");
    // Still answering.
    assert_eq!(
        d.udp(Query::new("static.wire.test.", T::A)).answers.len(),
        2
    );
}

//------------ steering ------------

const WWW: &str = "www.wire.test.";
const SPLIT: &str = "split.wire.test.";
const STATIC: &str = "static.wire.test.";
/// Endpoints of regions one (IPv4 and IPv6) and two, of the split service, of `static`.
const ONE: &[&str] = &["127.0.1.1", "127.0.1.2", "127.0.1.3"];
const ONE_V6: &[&str] = &["::11"];
const TWO: &[&str] = &["127.0.2.1"];
const ONE_OR_TWO: &[&str] = &["127.0.1.1", "127.0.2.1"];
const STATIC_A: &[&str] = &["127.0.0.30", "127.0.0.31"];

/// Steered queries with ECS and what they must get: (name, type, ECS address and source
/// prefix, the endpoints the answer is taken from, how many, their TTL, the ECS scope). The
/// reply echoes the ECS address and source prefix.
type Steered = (
    &'static str,
    RecordType,
    (&'static str, u8),
    &'static [&'static str],
    usize,
    u32,
    u8,
);

const STEERED: &[Steered] = &[
    // Default key: region one, max_answers 2 of its 3 IPv4 endpoints; the answer does not
    // depend on the client beyond the net keys: scope 1, where 192/8 and 10/8 differ.
    (WWW, T::A, ("192.0.2.0", 24), ONE, 2, 20, 1),
    // net:10.0.0.0/8 -> two; scope 9: the /9 around 10.200 (10.128.0.0/9) leaves out
    // net:10.1.0.0/16, which gets another answer.
    (WWW, T::A, ("10.200.0.0", 16), TWO, 1, 20, 9),
    // net:10.1.0.0/16 -> off is down -> one (tier 2): failover, scope 16.
    (WWW, T::A, ("10.1.2.0", 24), ONE, 2, 20, 16),
    // AAAA from the same region.
    (WWW, T::AAAA, ("192.0.2.0", 24), ONE_V6, 1, 20, 1),
    // Weighted split: the scope is the hashing prefix /24.
    (SPLIT, T::A, ("198.51.100.0", 24), ONE_OR_TWO, 1, 30, 24),
    // Source prefix 0: use the resolver, scope 0.
    (SPLIT, T::A, ("0.0.0.0", 0), ONE_OR_TWO, 1, 30, 0),
    // Static names: scope 0.
    (STATIC, T::A, ("198.51.100.0", 24), STATIC_A, 2, 60, 0),
];

fn ask(d: &Daemon, name: &str, qtype: RecordType, ecs: (&str, u8)) -> Message {
    d.udp(Query::new(name, qtype).ecs(ecs.0, ecs.1))
}

#[test]
fn steered_answers_with_ecs_scope() {
    let d = daemon();
    for &(name, qtype, ecs, from, count, ttl, scope) in STEERED {
        let at = format!("{name} {qtype} ECS {}/{}", ecs.0, ecs.1);
        let m = ask(&d, name, qtype, ecs);
        let got = addrs(&m);
        assert_eq!(got.len(), count, "{at}: {got:?}");
        assert!(
            got.iter().all(|a| from.contains(&a.as_str())),
            "{at}: {got:?}"
        );
        assert!(m.answers.iter().all(|r| r.ttl == ttl), "{at}: {m:?}");
        let addr: IpAddr = ecs.0.parse().expect("ECS address");
        assert_eq!(ecs_of(&m), Some((addr, ecs.1, scope)), "{at}");
    }
    // Rotation: repeated queries see every endpoint.
    let mut seen = BTreeSet::new();
    for _ in 0..12 {
        seen.extend(addrs(&ask(&d, WWW, T::A, ("192.0.2.0", 24))));
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    // Weighted split: subnets stick.
    let first = addrs(&ask(&d, SPLIT, T::A, ("198.51.100.0", 24)));
    for _ in 0..5 {
        assert_eq!(addrs(&ask(&d, SPLIT, T::A, ("198.51.100.0", 24))), first);
    }
    // A CNAME region answers its CNAME (followed in zone).
    let m = d.udp(Query::new("cn.wire.test.", T::A));
    assert_eq!(m.answers[0].record_type(), T::CNAME);
    assert_eq!(m.answers.len(), 3);
    // Other types at a service name: NODATA.
    let m = d.udp(Query::new("www.wire.test.", T::TXT));
    assert!(m.answers.is_empty() && soa_only(&m));
}

//------------ TCP ------------

/// Opens `n` idle connections (returned, so they stay open) and checks that one more is
/// closed by the server at once.
fn hold_then_expect_refusal(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let held: Vec<TcpStream> = (0..n)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = TcpStream::connect(addr).expect("connect");
    extra
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    assert!(
        closed_by_server(&mut extra),
        "connection {} must be closed",
        n + 1
    );
    held
}

/// Sends one query on an open connection and reads the framed reply.
fn ask_on(stream: &mut TcpStream, name: &str) -> Message {
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    stream
        .write_all(&frame(&Query::new(name, T::A).to_bytes()))
        .expect("send");
    Message::from_vec(&read_framed(stream).expect("reply")).expect("decode")
}

#[test]
fn tcp_pipelining_and_connection_limit() {
    let d = daemon();
    // Three queries in one write are answered in order.
    let mut s = TcpStream::connect(d.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let names = ["static.wire.test.", "nope.wire.test.", "mail.wire.test."];
    let batch: Vec<u8> = names
        .iter()
        .flat_map(|n| frame(&Query::new(n, T::A).to_bytes()))
        .collect();
    s.write_all(&batch).expect("send");
    for n in names {
        let m = Message::from_vec(&read_framed(&mut s).expect("reply")).expect("decode");
        assert_eq!(m.queries[0].name().to_string(), n);
    }
    drop(s);
    std::thread::sleep(Duration::from_millis(100));

    // max_tcp_connections = 16: sixteen idle connections are kept, the next is closed at once,
    // and an existing one still gets answers.
    let mut idle = hold_then_expect_refusal(d.addr, 16);
    let m = ask_on(&mut idle[3], "static.wire.test.");
    assert_eq!(m.answers.len(), 2);

    // Idle connections are closed after tcp_idle_timeout (2 s here). The read timeout is a
    // generous bound for a loaded machine, not a measurement: nothing else closes it.
    let mut lone = TcpStream::connect(d.addr);
    drop(idle);
    std::thread::sleep(Duration::from_millis(100));
    lone = lone.or_else(|_| TcpStream::connect(d.addr));
    let mut lone = lone.expect("connect");
    lone.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    assert!(closed_by_server(&mut lone));
}

//------------ debug access, query logs, per-client limit ------------

#[test]
fn explain_txt_only_for_debug_clients() {
    let mut d = daemon();
    // The harness leaves debug_from at its default (loopback): this client may ask.
    let m = ask(&d, "_explain.www.wire.test.", T::TXT, ("10.1.2.0", 24));
    assert_eq!(rcode(&m), NoError);
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
    d.update_config("[server]\ndebug_from = [\"192.0.2.0/24\"]");
    assert_eq!(d.reload(), Reload::Applied);
    let m = wait_for("debug_from change applied", Duration::from_secs(5), || {
        let m = d.udp(Query::new("_explain.www.wire.test.", T::TXT));
        (rcode(&m) == NXDomain).then_some(m)
    });
    assert!(m.answers.is_empty() && soa_only(&m));
}

#[test]
fn json_query_logs_and_per_client_tcp_limit() {
    let mut d = Setup::new()
        .zone(&zone())
        .config("[log]\nformat = \"json\"\nqueries = true")
        .start();
    let m = ask(&d, "wWw.Wire.test.", T::A, ("10.200.0.0", 16));
    assert_eq!(addrs(&m), vec!["127.0.2.1"]);
    let _ = d.udp(Query::new("nope.wire.test.", T::AAAA));
    // One JSON object per line; the query lines carry the decision.
    let (steered, nx) = wait_for("query lines in the log", Duration::from_secs(5), || {
        let log = d.log();
        let lines: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        let find =
            |pred: &dyn Fn(&serde_json::Value) -> bool| lines.iter().find(|v| pred(v)).cloned();
        let steered = find(&|v| v["fields"]["service"] == "www");
        let nx = find(&|v| v["fields"]["rcode"] == "NXDOMAIN");
        steered.zip(nx)
    });
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
    d.update_config("[server]\nmax_tcp_connections_per_client = 4");
    assert_eq!(d.reload(), Reload::Applied);
    let _held = hold_then_expect_refusal(d.addr, 4);
    let other =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    other
        .bind(&SocketAddr::from(([127, 0, 0, 9], 0)).into())
        .expect("bind 127.0.0.9");
    other.connect(&d.addr.into()).expect("connect");
    let mut other: TcpStream = other.into();
    other
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    other
        .write_all(&frame(&Query::new("static.wire.test.", T::A).to_bytes()))
        .expect("send");
    read_framed(&mut other).expect("another client address is still served");
}
