//! Steering end to end: the real binary with a GeoIP database the test builds, queried with
//! ECS from many countries over the wire; canary shares, stickiness, drain by reload; and one
//! test on the shipped database.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;

use common::*;
use hickory_proto::rr::RecordType;
use steerdns_mmdb_writer::test_database_geoip2;

fn zone(canary_state: &str) -> Zone {
    Zone::new("geo.test.")
        .regions(&["eu", "us", "west", "ap", "sa", "af", "oc"])
        .toml(&format!(
            r#"
[region.eu-canary]
state = "{canary_state}"

[map.world]
default = "us"
"continent:EU" = "eu, eu-canary > us"
"country:KR" = "ap > us"
"subdivision:US-CA" = "west > us"
"continent:SA" = "sa > us"
"country:ZA" = "af > eu"
"continent:OC" = "oc > ap"
"net:2001:db8:ffff::/48" = "us"

[service.www]
map = "world"
ttl = 15
[service.www.region]
eu = {{ endpoints = ["127.0.10.1", "2001:db8::e0"], weight = 95 }}
eu-canary = {{ endpoints = ["127.0.10.2"], weight = 5 }}
us = {{ endpoints = ["127.0.20.1"] }}
west = {{ endpoints = ["127.0.21.1"] }}
ap = {{ endpoints = ["127.0.30.1"] }}
sa = {{ endpoints = ["127.0.40.1"] }}
af = {{ endpoints = ["127.0.50.1"] }}
oc = {{ endpoints = ["127.0.60.1"] }}
"#
        ))
}

fn geo_daemon() -> Daemon {
    Setup::new()
        .zone(&zone("active"))
        .file("geo.mmdb", &test_database_geoip2())
        .config("[geoip]\ndatabase = \"geo.mmdb\"")
        .start()
}

/// Asks for www.geo.test's A record with ECS `addr/prefix`: (addresses, scope).
fn ask(d: &Daemon, addr: &str, prefix: u8) -> (Vec<String>, u8) {
    ask_name(d, "www.geo.test.", addr, prefix)
}

fn ask_name(d: &Daemon, name: &str, addr: &str, prefix: u8) -> (Vec<String>, u8) {
    let m = d.udp(Query::new(name, RecordType::A).ecs(addr, prefix));
    (addrs(&m), scope_of(&m))
}
#[test]
fn each_country_gets_its_region_with_the_right_scope() {
    let d = geo_daemon();
    // (ECS address/prefix, expected endpoint, expected scope)
    let cases = [
        ("175.192.10.0", 24, "127.0.30.1", 10), // KR -> ap; the /10 decides
        ("192.0.2.0", 24, "127.0.21.1", 24),    // US-CA -> west
        ("198.51.100.0", 26, "127.0.40.1", 25), // BR (SA) -> sa
        ("198.51.100.128", 25, "127.0.50.1", 25), // ZA -> af (country beats continent)
        ("203.0.113.0", 24, "127.0.60.1", 25), // AU (OC) -> oc; the /25 decides: longer than the source
        ("203.0.113.128", 25, "127.0.20.1", 25), // JP via registered_country -> default
    ];
    for (addr, prefix, want, scope) in cases {
        let (got, got_scope) = ask(&d, addr, prefix);
        assert_eq!(got, vec![want.to_string()], "{addr}/{prefix}");
        assert_eq!(got_scope, scope, "scope for {addr}/{prefix}");
    }
    // GB (EU): eu or the canary, weighted: the hashing prefix /24 is the scope.
    let (got, scope) = ask(&d, "81.2.69.0", 24);
    assert!(got == ["127.0.10.1"] || got == ["127.0.10.2"], "{got:?}");
    assert_eq!(scope, 24);
    // An address in no database network: default; scope from the empty network around it.
    let (got, _) = ask(&d, "100.64.0.0", 24);
    assert_eq!(got, vec!["127.0.20.1"]);
    // net: beats continent: 2001:db8:ffff::/48 is inside the DE /32 but mapped to us.
    let (got, scope) = ask(&d, "2001:db8:ffff::", 56);
    assert_eq!(got, vec!["127.0.20.1"]);
    assert_eq!(scope, 48);
    // Without ECS the resolver's address (127.0.0.1, not in the db) decides: default.
    let m = d.udp(Query::new("www.geo.test.", RecordType::A));
    assert_eq!(addrs(&m), vec!["127.0.20.1"]);
    // AAAA from the EU region for a German subnet.
    let m = d.udp(Query::new("www.geo.test.", RecordType::AAAA).ecs("2001:db8:1::", 48));
    assert!(
        addrs(&m) == ["2001:db8::e0"] || m.answers.is_empty(),
        "{m:?}"
    );
}

/// German /56 subnets (2001:db8::/32 is DE in the test database).
fn german_subnets(n: u32) -> Vec<String> {
    (0..n)
        .map(|i| {
            let bits = (0x2001_0db8u128 << 96) | (u128::from(i) << 72);
            Ipv6Addr::from(bits).to_string()
        })
        .collect()
}

#[test]
fn canary_share_is_sticky_and_drain_moves_only_its_subnets() {
    let d = geo_daemon();
    let subnets = german_subnets(600);
    let mut before = BTreeMap::new();
    for s in &subnets {
        let (got, scope) = ask(&d, s, 56);
        assert_eq!(scope, 56, "weights split the tier: scope = hashing prefix");
        before.insert(s.clone(), got);
    }
    let canary: BTreeSet<_> = before
        .iter()
        .filter(|(_, a)| a[..] == ["127.0.10.2"])
        .map(|(s, _)| s.clone())
        .collect();
    let share = canary.len() as f64 / subnets.len() as f64;
    assert!(
        (0.01..0.11).contains(&share),
        "canary share {share} should be near 5%"
    );

    // Sticky: asking again gives the same answers.
    for s in subnets.iter().take(100) {
        assert_eq!(ask(&d, s, 56).0, before[s]);
    }

    // Drain the canary by editing the zone and sending SIGHUP.
    d.write_zone(&zone("drain"));
    assert_eq!(d.reload(), Reload::Applied);
    for s in &subnets {
        let (now, scope) = ask(&d, s, 56);
        if canary.contains(s) {
            assert_eq!(now, vec!["127.0.10.1"], "{s}: canary subnets move to eu");
            // One candidate left: the geo network (/32) decides, lengthened to /33 so that it
            // excludes the net:2001:db8:ffff::/48 key inside it.
            assert_eq!(scope, 33);
        } else {
            assert_eq!(now, before[s], "{s}: other subnets stay");
        }
    }
}

#[test]
fn shipped_example_steers_with_the_shipped_database() {
    let d = Setup::shipped().start();
    let q = |addr: &str, prefix: u8| ask_name(&d, "www.gslb.example.test.", addr, prefix);
    // The SPEC's example: a UK subnet goes to eu-west or the canary.
    let (uk, scope) = q("81.2.69.0", 24);
    assert!(uk == ["127.0.0.20"] || uk == ["127.0.0.21"], "{uk:?}");
    assert_eq!(scope, 24);
    // Korea: ap-northeast is draining, us-east is active in tier 2: failover to us-east.
    let (kr, _) = q("175.192.0.0", 16);
    assert!(kr.iter().all(|a| a.starts_with("127.0.0.1")), "{kr:?}");
    // Japan (133/8 is JP in the shipped data) matches no key: default -> us-east.
    let (jp, _) = q("133.0.0.0", 16);
    assert!(
        !jp.is_empty() && jp.iter().all(|a| a == "127.0.0.10" || a == "127.0.0.11"),
        "{jp:?}"
    );
}
