//! ECS scopes and CNAME regions over the wire (SPEC 4 point 6): the real binary with the
//! sample GeoIP database, queried with ECS.
//!
//! - a steered CNAME chain carries the longest scope of its steered steps, not the last one's;
//! - a scope is longer than the source prefix where a narrower prefix inside it answers
//!   otherwise (RFC 7871 7.2.1);
//! - a CNAME region answers its CNAME for every query type, and the NODATA of an address
//!   region for the other types carries the decision's scope;
//! - `_explain` TXT answers carry the source prefix as scope.

mod common;

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use steerdns_mmdb_writer::test_database_geoip2;

/// The zone: services `www` (geo map with a `net:` /24 inside KR), `api`, `chain` (both
/// regions CNAME to another steered name) and `cdn` (one CNAME region, one address region).
const ZONE: &str = include_str!("fixtures/scope.test.toml");

fn daemon() -> Daemon {
    Setup::new()
        .zone_text("scope.test.toml", ZONE)
        .file("geo.mmdb", &test_database_geoip2())
        .config("[geoip]\ndatabase = \"geo.mmdb\"")
        .start()
}

fn ask(d: &Daemon, name: &str, qtype: RecordType, addr: &str, prefix: u8) -> Message {
    d.udp(Query::new(name, qtype).ecs(addr, prefix))
}

#[test]
fn steered_cname_chain_scope_is_the_longest_step() {
    let d = daemon();
    // 8.8.8.0/24: chain's net: key (/24) -> api, whose own answer holds for the whole empty
    // GeoIP network around it (0.0.0.0/2). The chain holds only for the /24.
    let api_alone = ask(&d, "api.scope.test.", RecordType::A, "8.8.8.0", 24);
    assert!(scope_of(&api_alone) < 24, "{api_alone:?}");
    let m = ask(&d, "chain.scope.test.", RecordType::A, "8.8.8.0", 24);
    assert_eq!(
        records(&m),
        [
            "chain.scope.test. cname api.scope.test.",
            "api.scope.test. a 127.0.21.1"
        ]
    );
    assert_eq!(scope_of(&m), 24);
    // 8.8.4.0/24: the default CNAME to www, which holds for 0.0.0.0/2; the chain's step
    // holds for the /21 around the client that excludes 8.8.8.0/24.
    let m = ask(&d, "chain.scope.test.", RecordType::A, "8.8.4.0", 24);
    assert_eq!(
        records(&m),
        [
            "chain.scope.test. cname www.scope.test.",
            "www.scope.test. a 127.0.20.1"
        ]
    );
    assert_eq!(scope_of(&m), 21);
    // The same over TCP, and for AAAA (NODATA at the target, same scope).
    let m = d.tcp(Query::new("chain.scope.test.", RecordType::AAAA).ecs("8.8.8.0", 24));
    assert_eq!(records(&m), ["chain.scope.test. cname api.scope.test."]);
    assert_eq!(scope_of(&m), 24);
}

#[test]
fn scope_is_longer_than_the_source_where_a_narrower_prefix_decides() {
    let d = daemon();
    // 175.192.0.0/16 is KR (ap), but holds net:175.192.77.0/24 (edge): /18, never /16.
    let m = ask(&d, "www.scope.test.", RecordType::A, "175.192.0.0", 16);
    assert_eq!(addrs(&m), ["127.0.30.1"]);
    assert_eq!(ecs_of(&m), Some(("175.192.0.0".parse().unwrap(), 16, 18)));
    // /18 around the /24: longer than /18 (175.192.64.0 shares 20 bits with it: /21).
    let m = ask(&d, "www.scope.test.", RecordType::A, "175.192.64.0", 18);
    assert_eq!(addrs(&m), ["127.0.30.1"]);
    assert_eq!(scope_of(&m), 21);
    // The /24 itself.
    let m = ask(&d, "www.scope.test.", RecordType::A, "175.192.77.0", 24);
    assert_eq!(addrs(&m), ["127.0.70.1"]);
    assert_eq!(scope_of(&m), 24);
    // Far from the /24, the GeoIP /10 decides: shorter than the source.
    let m = ask(&d, "www.scope.test.", RecordType::A, "175.255.1.0", 24);
    assert_eq!(addrs(&m), ["127.0.30.1"]);
    assert_eq!(scope_of(&m), 11);
}

#[test]
fn cname_region_answers_its_cname_for_every_type() {
    let d = daemon();
    let us = ("192.0.2.0", 24); // default: the CNAME region
    let cname = "cdn.scope.test. cname edge-us.scope.test.";
    for qtype in [
        RecordType::A,
        RecordType::AAAA,
        RecordType::TXT,
        RecordType::HTTPS,
        RecordType::MX,
        RecordType::CNAME,
        RecordType::ANY,
    ] {
        let m = ask(&d, "cdn.scope.test.", qtype, us.0, us.1);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{qtype}");
        assert!(m.metadata.authoritative, "{qtype}");
        let got = records(&m);
        assert_eq!(
            got.first().map(String::as_str),
            Some(cname),
            "{qtype}: {got:?}"
        );
        // Followed in the zone like any CNAME, except when the CNAME itself (or ANY) was
        // asked.
        let rest: Vec<&str> = got[1..].iter().map(String::as_str).collect();
        let want: &[&str] = match qtype {
            RecordType::A => &["edge-us.scope.test. a 127.0.50.1"],
            RecordType::TXT => &["edge-us.scope.test. txt edge-us"],
            _ => &[],
        };
        assert_eq!(rest, want, "{qtype}");
        if rest.is_empty() && !matches!(qtype, RecordType::CNAME | RecordType::ANY) {
            // NODATA at the target: its SOA.
            assert_eq!(m.authorities.len(), 1, "{qtype}: {m:?}");
        }
        // The answer depends on the client: the decision's scope (the US /24).
        assert_eq!(scope_of(&m), 24, "{qtype}");
    }
    // An address region of the same service: addresses for A, NODATA for the other types,
    // with the decision's scope, not 0 (another client gets a CNAME there).
    let gb = ("81.2.69.0", 24);
    let m = ask(&d, "cdn.scope.test.", RecordType::A, gb.0, gb.1);
    assert_eq!(addrs(&m), ["127.0.12.1"]);
    for qtype in [RecordType::HTTPS, RecordType::TXT, RecordType::CNAME] {
        let m = ask(&d, "cdn.scope.test.", qtype, gb.0, gb.1);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert!(m.answers.is_empty(), "{qtype}: {m:?}");
        assert_eq!(m.authorities.len(), 1, "{qtype}: SOA");
        assert_eq!(scope_of(&m), 24, "{qtype}");
    }
    // A service without CNAME regions: other types do not depend on the client: scope 0.
    let m = ask(&d, "www.scope.test.", RecordType::TXT, gb.0, gb.1);
    assert!(m.answers.is_empty());
    assert_eq!(scope_of(&m), 0);
}

#[test]
fn explain_answers_carry_the_source_prefix_as_scope() {
    let d = daemon();
    for (addr, prefix) in [("81.2.69.0", 24), ("175.192.0.0", 12), ("2001:db8::", 48)] {
        let m = ask(
            &d,
            "_explain.www.scope.test.",
            RecordType::TXT,
            addr,
            prefix,
        );
        assert_eq!(m.answers.len(), 1, "{m:?}");
        assert!(
            m.answers[0]
                .data
                .to_string()
                .contains(&format!("{addr}/{prefix}")),
            "{m:?}"
        );
        assert_eq!(
            ecs_of(&m),
            Some((addr.parse().unwrap(), prefix, prefix)),
            "the trace is about this client's subnet"
        );
    }
}
