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

/// One query and the reply it must get.
struct Case {
    /// What the case shows.
    what: &'static str,
    name: &'static str,
    qtype: RecordType,
    rcode: ResponseCode,
    /// AA: set on everything inside the zone, clear on refusals.
    authoritative: bool,
    /// The answer section, as sorted [`answers`] lines.
    answer: &'static [&'static str],
    authority: Authority,
    /// The additional section (without OPT), as sorted lines; `None`: not looked at.
    additional: Option<&'static [&'static str]>,
}

const fn case(
    what: &'static str,
    name: &'static str,
    qtype: RecordType,
    rcode: ResponseCode,
    answer: &'static [&'static str],
    authority: Authority,
) -> Case {
    Case {
        what,
        name,
        qtype,
        rcode,
        authoritative: true,
        answer,
        authority,
        additional: None,
    }
}

use Authority::{Empty, Soa};
use RecordType as T;
use ResponseCode::{NXDomain, NoError, Refused};

const CASES: &[Case] = &[
    case(
        "positive answer, query name's case echoed",
        "StAtIc.WiRe.TeSt.",
        T::A,
        NoError,
        &[
            "StAtIc.WiRe.TeSt. 60 A 127.0.0.30",
            "StAtIc.WiRe.TeSt. 60 A 127.0.0.31",
        ],
        Empty,
    ),
    case(
        "NXDOMAIN with the SOA",
        "nope.wire.test.",
        T::A,
        NXDomain,
        &[],
        Soa,
    ),
    case(
        "NXDOMAIN below NXDOMAIN",
        "below.nope.wire.test.",
        T::A,
        NXDomain,
        &[],
        Soa,
    ),
    case(
        "NODATA: the name exists, the type does not",
        "static.wire.test.",
        T::AAAA,
        NoError,
        &[],
        Soa,
    ),
    case(
        "empty non-terminal is NODATA",
        "a.b.wire.test.",
        T::A,
        NoError,
        &[],
        Soa,
    ),
    case(
        "empty non-terminal is NODATA",
        "b.wire.test.",
        T::A,
        NoError,
        &[],
        Soa,
    ),
    case(
        "empty non-terminal is NODATA",
        "wild.wire.test.",
        T::A,
        NoError,
        &[],
        Soa,
    ),
    case(
        "wildcard synthesises the query name",
        "x.y.wild.wire.test.",
        T::A,
        NoError,
        &["x.y.wild.wire.test. 300 A 127.0.0.40"],
        Empty,
    ),
    case(
        "other types at a wildcard are NODATA",
        "x.wild.wire.test.",
        T::MX,
        NoError,
        &[],
        Soa,
    ),
    case(
        "in-zone CNAME chain followed",
        "alias.wire.test.",
        T::A,
        NoError,
        &[
            "alias.wire.test. 300 CNAME alias2.wire.test.",
            "alias2.wire.test. 300 CNAME static.wire.test.",
            "static.wire.test. 60 A 127.0.0.30",
            "static.wire.test. 60 A 127.0.0.31",
        ],
        Empty,
    ),
    case(
        "out-of-zone CNAME target not followed",
        "away.wire.test.",
        T::A,
        NoError,
        &["away.wire.test. 300 CNAME elsewhere.example."],
        Empty,
    ),
    case(
        "dangling CNAME: the rcode of the chain's last name",
        "dangling.wire.test.",
        T::A,
        NXDomain,
        &["dangling.wire.test. 300 CNAME missing.wire.test."],
        Soa,
    ),
    case(
        "CNAME asked for: not followed",
        "alias.wire.test.",
        T::CNAME,
        NoError,
        &["alias.wire.test. 300 CNAME alias2.wire.test."],
        Empty,
    ),
    Case {
        additional: Some(&[
            "ns1.wire.test. 300 A 127.0.0.1",
            "ns2.wire.test. 300 AAAA ::2",
        ]),
        ..case(
            "additional A/AAAA for in-zone NS targets",
            "wire.test.",
            T::NS,
            NoError,
            &[
                "wire.test. 300 NS ns1.wire.test.",
                "wire.test. 300 NS ns2.wire.test.",
            ],
            Empty,
        )
    },
    Case {
        additional: Some(&["mail.wire.test. 300 A 127.0.0.5"]),
        ..case(
            "additional A for an in-zone MX target",
            "wire.test.",
            T::MX,
            NoError,
            &["wire.test. 300 MX 10 mail.wire.test."],
            Empty,
        )
    },
    Case {
        authoritative: false,
        ..case(
            "outside every zone: REFUSED",
            "example.com.",
            T::A,
            Refused,
            &[],
            Empty,
        )
    },
    Case {
        authoritative: false,
        ..case("the root: REFUSED", ".", T::NS, Refused, &[], Empty)
    },
];

/// Checks one reply against its case; `how` names the transport in messages.
fn check(c: &Case, m: &Message, how: &str) {
    let at = format!("{how} {} {}: {}", c.name, c.qtype, c.what);
    assert_eq!(rcode(m), c.rcode, "{at}");
    assert_eq!(m.metadata.authoritative, c.authoritative, "{at}: AA");
    assert!(m.metadata.recursion_desired, "{at}: RD echoed");
    assert!(!m.metadata.recursion_available, "{at}: no RA");
    assert!(!m.metadata.truncation, "{at}: no TC");
    assert_eq!(m.queries[0].name().to_string(), c.name, "{at}: question");
    assert_eq!(answers(m), c.answer, "{at}: answer");
    match c.authority {
        Empty => assert!(m.authorities.is_empty(), "{at}: authority {m:?}"),
        Soa => assert!(soa_only(m), "{at}: authority {m:?}"),
    }
    if let Some(additional) = c.additional {
        assert_eq!(section(&m.additionals), additional, "{at}: additional");
    }
}

#[test]
fn authoritative_answers_over_udp_and_tcp() {
    let d = daemon();
    for (how, ask) in [
        ("udp", Daemon::udp as fn(&Daemon, Query) -> Message),
        ("tcp", Daemon::tcp),
    ] {
        for c in CASES {
            check(c, &ask(&d, Query::new(c.name, c.qtype)), how);
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

const ONE_V4: &[&str] = &["127.0.1.1", "127.0.1.2", "127.0.1.3"];

/// A steered query with ECS and what it must get: `count` addresses, all from `from`, TTL
/// `ttl`, the ECS option echoed with scope `scope`.
struct Steered {
    what: &'static str,
    name: &'static str,
    qtype: RecordType,
    ecs: (&'static str, u8),
    from: &'static [&'static str],
    count: usize,
    ttl: u32,
    scope: u8,
}

const STEERED: &[Steered] = &[
    Steered {
        what: "default key: region one, max_answers 2 of its 3 IPv4 endpoints; the answer \
               does not depend on the client beyond the net keys: scope 1, where 192/8 and \
               10/8 differ",
        name: "www.wire.test.",
        qtype: T::A,
        ecs: ("192.0.2.0", 24),
        from: ONE_V4,
        count: 2,
        ttl: 20,
        scope: 1,
    },
    Steered {
        what: "net:10.0.0.0/8 -> two; scope 9: the /9 around 10.200 (10.128.0.0/9) leaves out \
               net:10.1.0.0/16, which gets another answer",
        name: "www.wire.test.",
        qtype: T::A,
        ecs: ("10.200.0.0", 16),
        from: &["127.0.2.1"],
        count: 1,
        ttl: 20,
        scope: 9,
    },
    Steered {
        what: "net:10.1.0.0/16 -> off is down -> one (tier 2): failover, scope 16",
        name: "www.wire.test.",
        qtype: T::A,
        ecs: ("10.1.2.0", 24),
        from: ONE_V4,
        count: 2,
        ttl: 20,
        scope: 16,
    },
    Steered {
        what: "AAAA from the same region",
        name: "www.wire.test.",
        qtype: T::AAAA,
        ecs: ("192.0.2.0", 24),
        from: &["::11"],
        count: 1,
        ttl: 20,
        scope: 1,
    },
    Steered {
        what: "weighted split: the scope is the hashing prefix /24",
        name: "split.wire.test.",
        qtype: T::A,
        ecs: ("198.51.100.0", 24),
        from: &["127.0.1.1", "127.0.2.1"],
        count: 1,
        ttl: 30,
        scope: 24,
    },
    Steered {
        what: "source prefix 0: use the resolver, scope 0",
        name: "split.wire.test.",
        qtype: T::A,
        ecs: ("0.0.0.0", 0),
        from: &["127.0.1.1", "127.0.2.1"],
        count: 1,
        ttl: 30,
        scope: 0,
    },
    Steered {
        what: "static names: scope 0",
        name: "static.wire.test.",
        qtype: T::A,
        ecs: ("198.51.100.0", 24),
        from: &["127.0.0.30", "127.0.0.31"],
        count: 2,
        ttl: 60,
        scope: 0,
    },
];

fn ask(d: &Daemon, name: &str, qtype: RecordType, ecs: (&str, u8)) -> Message {
    d.udp(Query::new(name, qtype).ecs(ecs.0, ecs.1))
}

#[test]
fn steered_answers_with_ecs_scope() {
    let d = daemon();
    for s in STEERED {
        let m = ask(&d, s.name, s.qtype, s.ecs);
        let got = addrs(&m);
        assert_eq!(got.len(), s.count, "{}: {got:?}", s.what);
        assert!(
            got.iter().all(|a| s.from.contains(&a.as_str())),
            "{}: {got:?}",
            s.what
        );
        assert!(
            m.answers.iter().all(|r| r.ttl == s.ttl),
            "{}: {m:?}",
            s.what
        );
        let addr: IpAddr = s.ecs.0.parse().expect("ECS address");
        assert_eq!(ecs_of(&m), Some((addr, s.ecs.1, s.scope)), "{}", s.what);
    }
    // Rotation: repeated queries see every endpoint.
    let mut seen = BTreeSet::new();
    for _ in 0..12 {
        seen.extend(addrs(&ask(&d, "www.wire.test.", T::A, ("192.0.2.0", 24))));
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    // Weighted split: subnets stick.
    let first = addrs(&ask(&d, "split.wire.test.", T::A, ("198.51.100.0", 24)));
    for _ in 0..5 {
        assert_eq!(
            addrs(&ask(&d, "split.wire.test.", T::A, ("198.51.100.0", 24))),
            first
        );
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

    // Idle connections are closed after tcp_idle_timeout (2 s here).
    let mut lone = TcpStream::connect(d.addr);
    drop(idle);
    std::thread::sleep(Duration::from_millis(100));
    lone = lone.or_else(|_| TcpStream::connect(d.addr));
    let mut lone = lone.expect("connect");
    lone.set_read_timeout(Some(Duration::from_secs(6)))
        .expect("timeout");
    let started = std::time::Instant::now();
    assert!(closed_by_server(&mut lone));
    assert!(started.elapsed() < Duration::from_secs(6));
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
