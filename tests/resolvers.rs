//! Real resolvers in front of steerdns: Unbound 1.17 (with the `subnetcache` module sending
//! ECS) and Knot Resolver 5.6 (`kresd`), started on loopback by the test with a stub zone
//! pointing at a steerdns the test started (launchers in `common/external.rs`).
//!
//! What they show, each over the real wire:
//! - answers through each resolver equal steerdns's own answers for the same client subnet;
//!   Unbound passes a client's ECS through (at most /24 and /56) or sends the client's /24,
//!   kresd 5.6 sends no ECS at all, so steerdns decides by the resolver's address;
//! - Unbound caches per ECS scope: two clients in one scope share one upstream query, clients
//!   in different scopes each cause their own and never get each other's answer;
//! - a region drained by a reload reaches clients through the resolver within one TTL;
//! - NXDOMAIN and NODATA are cached for the SOA minimum, then asked again;
//! - QNAME minimisation and 0x20 case randomisation reach steerdns and still get answers.
//! - steered scopes (SPEC 4.6) hold through Unbound's cache: an answer whose scope is longer
//!   than its source never reaches the narrower prefix, a steered CNAME chain is cached per
//!   client subnet; a CNAME region answers every type the same through both resolvers.
//! - a delegation below the apex: Unbound follows the parent's referral (NS and glue) to a
//!   second steerdns serving the child zone on port 53 (glue has no port), and gets its
//!   steered answers per client subnet; kresd's `policy.STUB` does not iterate and hands the
//!   referral back.
//!
//! Upstream queries are counted with steerdns's own metrics and JSON query log. A resolver
//! that is not installed skips its test (see `common::external`).

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::{Duration, Instant};

use common::external::{Kresd, Stub, Unbound, UnboundOptions};
use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use steerdns_mmdb_writer::test_database_geoip2;

/// The zone every test serves. GeoIP data: the sample database (81.2.69.0/24 GB,
/// 175.192.0.0/10 KR, 192.0.2.0/24 US, 2001:db8::/32 DE, ...).
fn zone(eu_state: &str, ttl: u32) -> Zone {
    Zone::new("res.test.")
        .ttl(300)
        .minimum("3s")
        .record("@", "NS", &["ns1.res.test."])
        .record("ns1", "A", &["127.0.0.1"])
        .record("static", "A", &["127.0.1.1"])
        // a.b and b are empty non-terminals (QNAME minimisation walks them)
        .record("deep.a.b", "TXT", &["\"deep\""])
        .regions(&["us", "ap", "edge"])
        .toml(&format!(
            r#"
[region.eu]
state = "{eu_state}"

[map.world]
default = "us"
"continent:EU" = "eu > us"
"country:KR" = "ap > us"
"net:175.192.77.0/24" = "edge > ap"
# The resolvers' own address, which decides when they send no ECS (kresd).
"net:127.0.0.0/8" = "eu > us"

[service.www]
map = "world"
ttl = {ttl}
[service.www.region]
eu = {{ endpoints = ["127.0.10.1", "2001:db8:e::1"] }}
us = {{ endpoints = ["127.0.20.1", "2001:db8:75::1"] }}
ap = {{ endpoints = ["127.0.30.1", "2001:db8:a::1"] }}
edge = {{ endpoints = ["127.0.70.1"] }}
"#
        ))
}

const WWW: &str = "www.res.test.";

/// steerdns with the sample GeoIP database and JSON query logs.
fn daemon(eu_state: &str, ttl: u32) -> Daemon {
    Setup::new()
        .zone(&zone(eu_state, ttl))
        .file("geo.mmdb", &test_database_geoip2())
        .config("[geoip]\ndatabase = \"geo.mmdb\"\n[log]\nformat = \"json\"\nqueries = true")
        .start()
}

fn stubs(d: &Daemon) -> Vec<Stub> {
    vec![Stub::new("res.test.", d.addr)]
}

/// A query for `name`/`qtype` from a client with ECS `addr/prefix`.
fn with_ecs(name: &str, qtype: RecordType, addr: &str, prefix: u8) -> Query {
    Query::new(name, qtype).ecs(addr, prefix)
}

/// One line of steerdns's JSON query log.
#[derive(Debug, Clone)]
struct Logged {
    ecs: String,
    qname: String,
    qtype: String,
    rcode: String,
    region: String,
}

/// Every query for the zone that steerdns has logged so far, in order (the harness's own
/// readiness probes are for another name).
fn logged(d: &Daemon) -> Vec<Logged> {
    d.log()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "query")
        .filter(|v| {
            v["fields"]["qname"]
                .as_str()
                .is_some_and(|n| n.to_ascii_lowercase().ends_with("res.test."))
        })
        .map(|v| {
            let f = &v["fields"];
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            Logged {
                ecs: s("ecs"),
                qname: s("qname"),
                qtype: s("qtype"),
                rcode: s("rcode"),
                region: s("region"),
            }
        })
        .collect()
}

/// Waits (bounded) until steerdns has logged at least `n` queries; returns them.
fn logged_at_least(d: &Daemon, n: usize) -> Vec<Logged> {
    let started = Instant::now();
    loop {
        let lines = logged(d);
        if lines.len() >= n || started.elapsed() > Duration::from_secs(5) {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Queries steerdns has answered for zone res.test, by (qtype, rcode), from its metrics.
fn upstream(d: &Daemon) -> BTreeMap<(String, String), u64> {
    upstream_in(d, "res.test")
}

/// Queries steerdns has answered for `zone` (no final dot), by (qtype, rcode).
fn upstream_in(d: &Daemon, zone: &str) -> BTreeMap<(String, String), u64> {
    let text = d.metrics_text();
    let prefix = format!("steerdns_queries_total{{zone=\"{zone}\",qtype=\"");
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(prefix.as_str()) else {
            continue;
        };
        let Some((qtype, rest)) = rest.split_once("\",rcode=\"") else {
            continue;
        };
        let Some((rcode, rest)) = rest.split_once('"') else {
            continue;
        };
        let value: u64 = rest
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        *out.entry((qtype.to_string(), rcode.to_string()))
            .or_default() += value;
    }
    out
}

/// Upstream queries of one type and rcode.
fn upstream_of(d: &Daemon, qtype: &str, rcode: &str) -> u64 {
    upstream(d)
        .get(&(qtype.to_string(), rcode.to_string()))
        .copied()
        .unwrap_or(0)
}

/// Addresses in the answer of `server` to `q`, which must be NOERROR.
fn ask(server: std::net::SocketAddr, q: Query) -> Vec<String> {
    let m = udp(server, &q);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{m:?}");
    addrs(&m)
}

//------------ answers through each resolver -------------------------------------------------------

/// Client subnets of different countries: (ECS address, prefix, type, expected endpoint).
const CLIENTS: &[(&str, u8, RecordType, &str)] = &[
    ("81.2.69.0", 24, RecordType::A, "127.0.10.1"), // GB -> eu
    ("175.192.1.0", 24, RecordType::A, "127.0.30.1"), // KR -> ap
    ("175.192.77.0", 24, RecordType::A, "127.0.70.1"), // net: key inside KR -> edge
    ("192.0.2.0", 24, RecordType::A, "127.0.20.1"), // US -> default us
    ("2001:db8:1:100::", 56, RecordType::AAAA, "2001:db8:e::1"), // DE -> eu
    ("10.9.8.0", 24, RecordType::A, "127.0.20.1"),  // not in the database -> default
];

#[test]
fn unbound_answers_equal_steerdns_answers_per_country() {
    let d = daemon("active", 30);
    let Some(unbound) = Unbound::start(&stubs(&d)) else {
        return;
    };
    for &(addr, prefix, qtype, want) in CLIENTS {
        let q = with_ecs(WWW, qtype, addr, prefix);
        let before = logged(&d).len();
        let through = ask(unbound.addr, q.clone());
        // Unbound passed the client's ECS on unchanged in every query it sent for it.
        let lines = logged_at_least(&d, before + 1);
        let sent = &lines[before..];
        assert!(
            !sent.is_empty() && sent.iter().all(|l| l.ecs == format!("{addr}/{prefix}")),
            "client {addr}/{prefix}: {sent:#?}"
        );
        let direct = ask(d.addr, q);
        assert_eq!(through, direct, "client {addr}/{prefix}");
        assert_eq!(through, vec![want.to_string()], "client {addr}/{prefix}");
    }

    // A client without ECS: Unbound sends the client's own address as a /24 (127.0.0.0/24),
    // and answers what steerdns answers for that subnet.
    let before = logged(&d).len();
    let through = ask(unbound.addr, Query::new(WWW, RecordType::A));
    let lines = logged_at_least(&d, before + 1);
    assert_eq!(lines[before].ecs, "127.0.0.0/24", "{lines:#?}");
    assert_eq!(
        through,
        ask(d.addr, with_ecs(WWW, RecordType::A, "127.0.0.0", 24))
    );

    // A client ECS longer than /24 is shortened to /24; a client ECS with source prefix 0
    // ("do not use my address", RFC 7871 7.1.2) makes Unbound send no ECS at all, and
    // steerdns decides by the resolver's address.
    let before = logged(&d).len();
    let through = ask(unbound.addr, with_ecs(WWW, RecordType::A, "192.0.2.77", 32));
    assert_eq!(through, vec!["127.0.20.1"]);
    let through = ask(unbound.addr, with_ecs(WWW, RecordType::A, "0.0.0.0", 0));
    assert_eq!(through, ask(d.addr, Query::new(WWW, RecordType::A)));
    let lines = logged_at_least(&d, before + 3);
    let via: Vec<&str> = lines[before..].iter().map(|l| l.ecs.as_str()).collect();
    // 192.0.2.77/32 was answered from the cache entry of 192.0.2.0/24 (same scope): no
    // upstream query. Then the prefix-0 query went up without ECS; then our direct query.
    assert_eq!(via, ["", ""], "{lines:#?}");
}

#[test]
fn kresd_sends_no_ecs_so_the_resolver_address_decides() {
    let d = daemon("active", 30);
    let Some(kresd) = Kresd::start(&stubs(&d)) else {
        return;
    };
    // steerdns's answer for a query from 127.0.0.1 without ECS: the resolver's region.
    let for_resolver = ask(d.addr, Query::new(WWW, RecordType::A));
    assert_eq!(for_resolver, vec!["127.0.10.1"]);
    let before = upstream_of(&d, "A", "NOERROR");
    for &(addr, prefix, qtype, _) in CLIENTS {
        let through = ask(kresd.addr, with_ecs(WWW, qtype, addr, prefix));
        let direct = ask(d.addr, Query::new(WWW, qtype));
        assert_eq!(through, direct, "client {addr}/{prefix} through kresd");
    }
    // kresd never sent an ECS option, and asked once per type for every client together
    // (one cache entry per name and type): 1 A query from kresd, plus our direct A queries.
    let lines = logged(&d);
    assert!(lines.iter().all(|l| l.ecs.is_empty()), "{lines:#?}");
    let direct_a = CLIENTS.iter().filter(|c| c.2 == RecordType::A).count() as u64;
    assert_eq!(
        upstream_of(&d, "A", "NOERROR") - before,
        1 + direct_a,
        "{lines:#?}"
    );
}

//------------ Unbound's ECS cache ------------------------------------------------------------------

#[test]
fn unbound_caches_per_ecs_scope() {
    let d = daemon("active", 300);
    let Some(unbound) = Unbound::start(&stubs(&d)) else {
        return;
    };
    let steered = || upstream_of(&d, "A", "NOERROR");
    let stats_before = unbound.stats();
    let via = |addr: &str| ask(unbound.addr, with_ecs(WWW, RecordType::A, addr, 24));
    let direct_scope = |addr: &str| {
        let m = udp(d.addr, &with_ecs(WWW, RecordType::A, addr, 24));
        ecs_of(&m).map(|e| e.2)
    };
    // Scopes steerdns gives (asked directly; each direct query is counted too).
    // 175.192.1.0: KR's /10 holds net:175.192.77.0/24, so the answer holds for the /18
    // around the client (175.192.0.0/18), which excludes the /24.
    assert_eq!(direct_scope("175.192.1.0"), Some(18));
    assert_eq!(direct_scope("175.192.77.0"), Some(24));
    let mut expected = steered();

    // Client A (KR): one upstream query.
    assert_eq!(via("175.192.1.0"), ["127.0.30.1"]);
    expected += 1;
    assert_eq!(steered(), expected);
    // Client B, same /18 scope: the same cache entry, no upstream query.
    assert_eq!(via("175.192.63.0"), ["127.0.30.1"]);
    assert_eq!(steered(), expected);
    // Client C: the /24 of the net: key, another scope and another answer: its own query,
    // and never client A's answer.
    assert_eq!(via("175.192.77.0"), ["127.0.70.1"]);
    expected += 1;
    assert_eq!(steered(), expected);
    // Client D: KR too, but outside A's /18: its own query, the same answer as A.
    assert_eq!(via("175.200.0.0"), ["127.0.30.1"]);
    expected += 1;
    assert_eq!(steered(), expected);
    // Client E: GB; then everyone again: all from the cache, each its own answer.
    assert_eq!(via("81.2.69.0"), ["127.0.10.1"]);
    expected += 1;
    for (addr, want) in [
        ("175.192.1.0", "127.0.30.1"),
        ("175.192.77.0", "127.0.70.1"),
        ("175.192.63.0", "127.0.30.1"),
        ("175.200.0.0", "127.0.30.1"),
        ("81.2.69.0", "127.0.10.1"),
    ] {
        assert_eq!(via(addr), [want], "{addr} from the cache");
    }
    assert_eq!(
        steered(),
        expected,
        "5 clients, 4 scopes, 4 upstream queries"
    );

    let stats = unbound.stats();
    let stat = |k: &str| {
        stats.get(k).copied().unwrap_or(-1.0) - stats_before.get(k).copied().unwrap_or(0.0)
    };
    eprintln!(
        "unbound: {} queries, {} with ECS answers (num.query.subnet), {} from the ECS cache \
         (num.query.subnet_cache)",
        stat("total.num.queries"),
        stat("num.query.subnet"),
        stat("num.query.subnet_cache")
    );
    // 10 client queries; 4 went upstream; the other 6 came from the ECS cache.
    assert_eq!(stat("total.num.queries"), 10.0, "{stats:?}");
    assert_eq!(stat("num.query.subnet_cache"), 6.0, "{stats:?}");
}

//------------ drain through the resolver -----------------------------------------------------------

/// Drains eu by a reload while `resolver` holds eu's answer to `q` (TTL `TTL`): the answer
/// through the resolver moves to us once the cached one expires, and never later than one
/// TTL (plus the second resolvers round TTLs to) after it was cached. Returns the time from
/// the reload to the first us answer.
fn drain_through(d: &Daemon, resolver: std::net::SocketAddr, q: &Query, ttl: u64) -> Duration {
    assert_eq!(ask(resolver, q.clone()), ["127.0.10.1"]);
    let cached_at = Instant::now();

    // Drain eu and reload; steerdns answers the next region at once.
    d.write_zone(&zone("drain", ttl as u32));
    assert_eq!(d.reload(), Reload::Applied);
    let reloaded = Instant::now();
    assert_eq!(ask(d.addr, q.clone()), ["127.0.20.1"]);

    // Through the resolver: the cached eu answer until its TTL runs out, then us.
    let moved = loop {
        let now = Instant::now();
        let m = udp(resolver, q);
        let got = addrs(&m);
        if got == ["127.0.20.1"] {
            break now;
        }
        assert_eq!(got, ["127.0.10.1"]);
        // The cached answer's TTL counts down from the service TTL.
        assert!(m.answers.iter().all(|r| u64::from(r.ttl) <= ttl));
        // TTLs are kept in whole seconds: the entry is gone one TTL (plus the rounding
        // second) after it was stored, which was before the reload.
        assert!(
            now.duration_since(cached_at) <= Duration::from_secs(ttl + 1),
            "eu still answered {:?} after it was cached (TTL {ttl}s)",
            now.duration_since(cached_at)
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // The client then keeps getting us, now cached in its turn.
    assert_eq!(ask(resolver, q.clone()), ["127.0.20.1"]);
    moved.duration_since(reloaded)
}

#[test]
fn drain_reaches_clients_through_unbound_within_one_ttl() {
    let d = daemon("active", 4);
    let Some(unbound) = Unbound::start(&stubs(&d)) else {
        return;
    };
    let gb = with_ecs(WWW, RecordType::A, "81.2.69.0", 24);
    let took = drain_through(&d, unbound.addr, &gb, 4);
    eprintln!("drain reached a GB client through Unbound {took:?} after the reload (TTL 4 s)");
}

#[test]
fn drain_reaches_clients_through_kresd_within_one_ttl() {
    // kresd keeps every answer for at least 5 s (`cache.min_ttl`, default 5), counting the
    // TTL it returns down to 0 meanwhile: with a 4 s TTL it answered eu for 5 s. A TTL above
    // that minimum is kept exactly.
    let d = daemon("active", 6);
    let Some(kresd) = Kresd::start(&stubs(&d)) else {
        return;
    };
    // kresd sends no ECS: its own address (net:127.0.0.0/8) decides, for all its clients.
    let q = Query::new(WWW, RecordType::A);
    let took = drain_through(&d, kresd.addr, &q, 6);
    eprintln!("drain reached kresd's clients {took:?} after the reload (TTL 6 s)");
}

//------------ negative caching ---------------------------------------------------------------------

#[test]
fn negative_answers_are_cached_for_the_soa_minimum() {
    let d = daemon("active", 30);
    let Some(unbound) = Unbound::start(&stubs(&d)) else {
        return;
    };
    // SOA minimum 3s, zone TTL 300: negative answers carry TTL 3 (RFC 2308).
    for (name, qtype, rcode, code) in [
        (
            "nope.res.test.",
            RecordType::A,
            "NXDOMAIN",
            ResponseCode::NXDomain,
        ),
        (
            "static.res.test.",
            RecordType::TXT,
            "NOERROR",
            ResponseCode::NoError,
        ),
    ] {
        let before = upstream_of(&d, &qtype.to_string(), rcode);
        let first_at = Instant::now();
        let m = udp(unbound.addr, &Query::new(name, qtype));
        assert_eq!(m.metadata.response_code, code);
        assert!(m.answers.is_empty());
        let soa_ttl = m.authorities.first().map(|r| r.ttl);
        assert!(
            soa_ttl.is_some_and(|t| t <= 3),
            "negative TTL {soa_ttl:?}: {m:?}"
        );
        assert_eq!(upstream_of(&d, &qtype.to_string(), rcode), before + 1);
        // Again at once: from the cache (only checked when the machine was quick enough for
        // "at once" to be well inside the 3 s).
        let m = udp(unbound.addr, &Query::new(name, qtype));
        assert_eq!(m.metadata.response_code, code);
        if first_at.elapsed() < Duration::from_secs(2) {
            assert_eq!(
                upstream_of(&d, &qtype.to_string(), rcode),
                before + 1,
                "{name} {qtype}: negative answer not cached"
            );
        }
        // After the minimum, Unbound asks again.
        std::thread::sleep(Duration::from_secs(4).saturating_sub(first_at.elapsed()));
        let m = udp(unbound.addr, &Query::new(name, qtype));
        assert_eq!(m.metadata.response_code, code);
        let after = upstream_of(&d, &qtype.to_string(), rcode);
        assert!(
            after >= before + 2,
            "{name} {qtype}: still cached after the SOA minimum"
        );
    }
}

//------------ QNAME minimisation and 0x20 ----------------------------------------------------------

#[test]
fn unbound_qname_minimisation_and_0x20_reach_steerdns() {
    let d = daemon("active", 30);
    let Some(unbound) = Unbound::start(&stubs(&d)) else {
        return;
    };
    let m = udp(
        unbound.addr,
        &Query::new("deep.a.b.res.test.", RecordType::TXT),
    );
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(section(&m.answers).len(), 1, "{m:?}");
    assert!(m.answers[0].data.to_string().contains("deep"));
    let _ = ask(unbound.addr, with_ecs(WWW, RecordType::A, "81.2.69.0", 24));

    let lines = logged_at_least(&d, 5);
    let asked: Vec<(String, &str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l.qname.to_ascii_lowercase(),
                l.qtype.as_str(),
                l.rcode.as_str(),
            )
        })
        .collect();
    // Minimised: one label at a time below the stub zone, the empty non-terminals answered
    // NOERROR (NODATA), so Unbound goes on down; the real type only for the full name.
    for (name, qtype) in [("b.res.test.", "A"), ("a.b.res.test.", "A")] {
        assert!(
            asked.contains(&(name.to_string(), qtype, "NOERROR")),
            "no minimised query for {name}: {asked:?}"
        );
    }
    assert!(
        asked.contains(&("deep.a.b.res.test.".to_string(), "TXT", "NOERROR")),
        "{asked:?}"
    );
    assert!(
        !asked
            .iter()
            .any(|(n, t, _)| n != "deep.a.b.res.test." && *t == "TXT"),
        "the full type went to a shorter name: {asked:?}"
    );
    // 0x20: the names reached steerdns in random case (all lower case in every query would
    // have a chance of 2^-40 here), and every answer still counted (steerdns echoed the case:
    // Unbound drops replies whose question does not match).
    let mixed = lines
        .iter()
        .filter(|l| l.qname.bytes().any(|b| b.is_ascii_uppercase()))
        .count();
    assert!(mixed >= 1, "no case randomisation seen: {lines:#?}");
    assert!(lines.iter().any(|l| l.region == "eu"), "{lines:#?}");
    eprintln!(
        "unbound sent: {:?}",
        lines
            .iter()
            .map(|l| format!("{} {}", l.qname, l.qtype))
            .collect::<Vec<_>>()
    );
}

#[test]
fn kresd_stub_sends_the_full_name_in_random_case() {
    let d = daemon("active", 30);
    let Some(kresd) = Kresd::start(&stubs(&d)) else {
        return;
    };
    let m = udp(
        kresd.addr,
        &Query::new("deep.a.b.res.test.", RecordType::TXT),
    );
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.answers[0].data.to_string().contains("deep"), "{m:?}");
    for _ in 0..3 {
        let _ = ask(kresd.addr, Query::new("static.res.test.", RecordType::A));
    }
    let lines = logged_at_least(&d, 2);
    // policy.STUB (kresd's stub zone) sends the query as asked: no minimisation.
    let names: Vec<String> = lines.iter().map(|l| l.qname.to_ascii_lowercase()).collect();
    assert_eq!(
        names,
        ["deep.a.b.res.test.", "static.res.test."],
        "{lines:#?}"
    );
    // ... in random case (0x20), which steerdns echoes.
    assert!(
        lines
            .iter()
            .any(|l| l.qname.bytes().any(|b| b.is_ascii_uppercase())),
        "{lines:#?}"
    );
}

//------------ steered scopes and CNAME regions through the resolvers ------------------------------

/// steerdns serving the scope test zone (tests/scopes.rs) with JSON query logs.
fn scope_daemon() -> Daemon {
    Setup::new()
        .zone_text("scope.test.toml", include_str!("fixtures/scope.test.toml"))
        .file("geo.mmdb", &test_database_geoip2())
        .config("[geoip]\ndatabase = \"geo.mmdb\"\n[log]\nformat = \"json\"\nqueries = true")
        .start()
}

/// Upstream A queries answered NOERROR in the scope test zone.
fn scope_upstream(d: &Daemon) -> u64 {
    upstream_in(d, "scope.test")
        .get(&("A".to_string(), "NOERROR".to_string()))
        .copied()
        .unwrap_or(0)
}

#[test]
fn unbound_never_serves_a_long_scope_answer_to_the_narrower_prefix() {
    let d = scope_daemon();
    let Some(unbound) = Unbound::start(&[Stub::new("scope.test.", d.addr)]) else {
        return;
    };
    let www = "www.scope.test.";
    // A client sending ECS 175.192.0.0/16 (Unbound passes it on): steerdns answers for the
    // /16 (KR: ap) with scope /18, since net:175.192.77.0/24 inside it answers otherwise.
    let m = udp(
        unbound.addr,
        &with_ecs(www, RecordType::A, "175.192.0.0", 16),
    );
    assert_eq!(addrs(&m), ["127.0.30.1"]);
    let direct = udp(d.addr, &with_ecs(www, RecordType::A, "175.192.0.0", 16));
    assert_eq!(ecs_of(&direct).map(|e| e.2), Some(18));
    let before = scope_upstream(&d);
    // A client of the /24: its own answer, from its own upstream query (with scope /16,
    // Unbound would have served it ap from the cache for a TTL).
    let m = udp(
        unbound.addr,
        &with_ecs(www, RecordType::A, "175.192.77.0", 24),
    );
    assert_eq!(addrs(&m), ["127.0.70.1"]);
    assert_eq!(scope_upstream(&d), before + 1);
    // A /24 client inside the /18, where the /16's answer is right: Unbound keeps an answer
    // whose scope is longer than its source for that same source prefix only (RFC 7871
    // 7.3.1), so it asks again.
    let m = udp(
        unbound.addr,
        &with_ecs(www, RecordType::A, "175.192.5.0", 24),
    );
    assert_eq!(addrs(&m), ["127.0.30.1"]);
    let after_inside = scope_upstream(&d);
    // The /16 client again: from the cache.
    let m = udp(
        unbound.addr,
        &with_ecs(www, RecordType::A, "175.192.0.0", 16),
    );
    assert_eq!(addrs(&m), ["127.0.30.1"]);
    let after_again = scope_upstream(&d);
    eprintln!(
        "unbound with a /18 scope on a /16 source: the /24 of the net: key cost {} query, \
         a /24 inside the /18 {} query, the /16 again {} (from the cache)",
        1,
        after_inside - before - 1,
        after_again - after_inside
    );
    assert_eq!(after_again, after_inside, "the /16 answer was cached");
}

#[test]
fn steered_cname_chains_through_unbound_keep_client_subnets_apart() {
    let d = scope_daemon();
    let Some(unbound) = Unbound::start(&[Stub::new("scope.test.", d.addr)]) else {
        return;
    };
    let chain = "chain.scope.test.";
    // 8.8.8.0/24: CNAME to api (whose own answer holds for all of 0.0.0.0/2); then
    // 8.8.4.0/24, in that /2 but not in the chain's /24: CNAME to www, never the cached api.
    for (addr, want) in [
        ("8.8.8.0", "chain.scope.test. cname api.scope.test."),
        ("8.8.4.0", "chain.scope.test. cname www.scope.test."),
        ("8.8.8.0", "chain.scope.test. cname api.scope.test."),
        ("8.8.4.0", "chain.scope.test. cname www.scope.test."),
    ] {
        let q = with_ecs(chain, RecordType::A, addr, 24);
        let through = records(&udp(unbound.addr, &q));
        assert_eq!(through.first().map(String::as_str), Some(want), "{addr}");
        assert_eq!(through, records(&udp(d.addr, &q)), "{addr}");
    }
}

#[test]
fn cname_region_answers_every_type_through_both_resolvers() {
    let d = scope_daemon();
    let stubs = [Stub::new("scope.test.", d.addr)];
    let unbound = Unbound::start(&stubs);
    let kresd = Kresd::start(&stubs);
    // Clients without ECS: Unbound sends 127.0.0.0/24, kresd nothing; both are the default,
    // the CNAME region. Each type through each resolver equals steerdns's own answer and
    // starts with the CNAME (kresd asks HTTPS directly; Unbound's QNAME minimisation asks A
    // first and sees the CNAME; they used to disagree).
    let resolvers = [
        unbound
            .as_ref()
            .map(|u| ("unbound", u.addr, Some(("127.0.0.0", 24)))),
        kresd.as_ref().map(|k| ("kresd", k.addr, None)),
    ];
    for (name, addr, sent) in resolvers.into_iter().flatten() {
        for qtype in [
            RecordType::HTTPS,
            RecordType::TXT,
            RecordType::CNAME,
            RecordType::MX,
            RecordType::A,
        ] {
            let q = Query::new("cdn.scope.test.", qtype);
            let through = udp(addr, &q);
            assert_eq!(through.metadata.response_code, ResponseCode::NoError);
            let direct = match sent {
                Some((a, p)) => udp(d.addr, &q.clone().ecs(a, p)),
                None => udp(d.addr, &q),
            };
            assert_eq!(
                records(&through).first().map(String::as_str),
                Some("cdn.scope.test. cname edge-us.scope.test."),
                "{name} {qtype}"
            );
            assert_eq!(records(&through), records(&direct), "{name} {qtype}");
        }
    }
}

//------------ a delegation below the apex -------------------------------------------------------------

/// The child zone `sub.res.test.`, served by a second steerdns: a steered name whose answer
/// depends on the client (GB: eu, everyone else: us).
fn child_zone(ns: std::net::IpAddr) -> Zone {
    Zone::new("sub.res.test.")
        .record("@", "NS", &["ns.sub.res.test."])
        .record("ns", "A", &[&ns.to_string()])
        .record("static", "TXT", &["\"child\""])
        .regions(&["eu", "us"])
        .toml(
            r#"
[service.www]
geo = { default = "us", "continent:EU" = "eu" }
[service.www.region.eu]
endpoints = ["127.0.110.1"]
[service.www.region.us]
endpoints = ["127.0.120.1"]
"#,
        )
}

#[test]
fn unbound_follows_a_delegation_to_the_child_server() {
    // The child must listen on port 53: the referral's glue carries no port.
    let Some(child_addr) = free_port_53() else {
        let _ = writeln!(
            std::io::stderr(),
            "\n**** SKIPPED: port 53 cannot be bound here (not root); the delegation test did \
             not run ****\n"
        );
        assert!(
            !common::external::external_required(),
            "port 53 is needed (CI runs as root)"
        );
        return;
    };
    let child = Setup::new()
        .listen(child_addr)
        .zone(&child_zone(child_addr.ip()))
        .file("geo.mmdb", &test_database_geoip2())
        .config("[geoip]\ndatabase = \"geo.mmdb\"\n[log]\nformat = \"json\"\nqueries = true")
        .start();
    // The parent delegates sub.res.test to the child, with glue.
    let parent_zone = zone("active", 30)
        .record("sub", "NS", &["ns.sub.res.test."])
        .record("ns.sub", "A", &[&child_addr.ip().to_string()]);
    let parent = Setup::new()
        .zone(&parent_zone)
        .file("geo.mmdb", &test_database_geoip2())
        .config("[geoip]\ndatabase = \"geo.mmdb\"\n[log]\nformat = \"json\"\nqueries = true")
        .start();
    let options = UnboundOptions {
        extra: format!("send-client-subnet: {}", child_addr.ip()),
        ..UnboundOptions::default()
    };
    let Some(unbound) = Unbound::start_with(&[Stub::new("res.test.", parent.addr)], &options)
    else {
        return;
    };
    // The parent refers (NOERROR, not authoritative, the child's NS and glue).
    let referral = udp(parent.addr, &Query::new("www.sub.res.test.", RecordType::A));
    assert_eq!(referral.metadata.response_code, ResponseCode::NoError);
    assert!(!referral.metadata.authoritative, "{referral:?}");
    assert!(referral.answers.is_empty());
    assert_eq!(
        records_of(&referral.authorities),
        ["sub.res.test. ns ns.sub.res.test."]
    );
    assert_eq!(
        records_of(&referral.additionals),
        [format!("ns.sub.res.test. a {}", child_addr.ip())]
    );
    // Through Unbound: the child's steered answers, per client subnet (ECS reaches the child).
    for (addr, want) in [("81.2.69.0", "127.0.110.1"), ("192.0.2.0", "127.0.120.1")] {
        let q = with_ecs("www.sub.res.test.", RecordType::A, addr, 24);
        assert_eq!(ask(unbound.addr, q.clone()), [want], "{addr}");
        assert_eq!(ask(child.addr, q), [want], "{addr} direct");
    }
    let m = udp(
        unbound.addr,
        &Query::new("static.sub.res.test.", RecordType::TXT),
    );
    assert!(m.answers[0].data.to_string().contains("child"), "{m:?}");
    // The child answered the resolver's queries, with the clients' ECS.
    let child_lines: Vec<serde_json::Value> = child
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["fields"]["message"] == "query")
        .collect();
    assert!(
        child_lines
            .iter()
            .any(|v| v["fields"]["ecs"] == "81.2.69.0/24" && v["fields"]["region"] == "eu"),
        "{child_lines:#?}"
    );
    // kresd's stub zone does not iterate: it hands the parent's referral back to its client
    // (NOERROR, no answer, the child's NS in authority). A child zone needs its own
    // policy.STUB rule there.
    if let Some(kresd) = Kresd::start(&[Stub::new("res.test.", parent.addr)]) {
        let m = udp(kresd.addr, &Query::new("www.sub.res.test.", RecordType::A));
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert!(m.answers.is_empty(), "{m:?}");
        assert!(
            records_of(&m.authorities).contains(&"sub.res.test. ns ns.sub.res.test.".into()),
            "{m:?}"
        );
    }
}
