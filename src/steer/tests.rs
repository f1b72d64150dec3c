//! Unit and property tests of the steering decision.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use proptest::prelude::*;

use super::*;
use crate::config::compile::region_seed;
use crate::config::model::{Endpoint, GeoMap, MapEntry, MapKey, RegionId, Service, ServiceRegion};
use crate::dns::name::Name;
use crate::health::view::SlotId;

/// Builds a service: regions (name, state, weight, endpoints) and a map key -> tiers.
fn service(regions: &[(&str, RegionState, u32, &[&str])], map: &[(&str, &str)]) -> Service {
    let mut slot = 0;
    let regions: Vec<ServiceRegion> = regions
        .iter()
        .map(|(name, state, weight, eps)| ServiceRegion {
            name: name.to_string(),
            state: *state,
            weight: *weight,
            endpoints: eps
                .iter()
                .map(|e| {
                    slot += 1;
                    Endpoint {
                        addr: e.parse().unwrap(),
                        slot: Some(SlotId(slot - 1)),
                    }
                })
                .collect(),
            cname: None,
            cname_slot: None,
            min_up: 1,
            seed: region_seed(name),
            canary: false,
            live_weight: None,
        })
        .collect();
    let mut geo = GeoMap::new("test".into());
    for (key, tiers) in map {
        let tiers: Vec<Vec<RegionId>> = crate::config::tiers::parse_tiers(tiers)
            .unwrap()
            .into_iter()
            .map(|t| {
                t.iter()
                    .map(|n| {
                        RegionId::from_index(regions.iter().position(|r| &r.name == n).unwrap())
                    })
                    .collect()
            })
            .collect();
        let entry = MapEntry {
            key: key.to_string(),
            tiers,
            missing: vec![],
        };
        geo.push(&key.parse::<MapKey>().unwrap(), entry);
    }
    Service {
        key: "www".into(),
        owner: Name::parse_absolute("www.example.test.").unwrap(),
        ttl: 30,
        max_answers: 4,
        fallback: vec![],
        regions,
        map: std::sync::Arc::new(geo),
        rollout: None,
    }
}

use RegionState::{Active, Down, Drain};

fn v4(a: u32) -> ClientAddr {
    ClientAddr::resolver(IpAddr::V4(Ipv4Addr::from(a)))
}

fn facts(country: &str, continent: &str, net: &str) -> GeoFacts {
    let b = |s: &str| [s.as_bytes()[0], s.as_bytes()[1]];
    GeoFacts {
        country: Some(b(country)),
        continent: Some(b(continent)),
        subdivisions: vec![],
        network: Some(net.parse().unwrap()),
    }
}

fn example() -> Service {
    service(
        &[
            ("us", Active, 100, &["10.0.0.1", "10.0.0.2", "::1"]),
            ("eu", Active, 95, &["10.1.0.1"]),
            ("canary", Active, 5, &["10.1.0.2"]),
            ("ap", Drain, 100, &["10.2.0.1"]),
        ],
        &[
            ("default", "us > eu"),
            ("continent:EU", "eu, canary > us"),
            ("country:KR", "ap > us"),
            ("net:10.0.0.0/8", "us"),
        ],
    )
}

#[test]
fn geo_match_and_tiers() {
    let s = example();
    let h = HealthTable::new(16);
    let client = ClientAddr::resolver("81.2.69.160".parse().unwrap());
    let gb = facts("GB", "EU", "81.2.69.0/24");
    let d = steer(&s, &h, &client, Some(&gb));
    assert_eq!(s.map.entries[d.map_entry].key, "continent:EU");
    assert!(matches!(d.region, Some(RegionId(1)) | Some(RegionId(2))));
    assert_eq!(d.reason, Reason::Geo);
    assert!(d.hashed);
    // Scope: the /24 geo network, and hashing at /24.
    assert_eq!(d.scope, 24);

    // Korea: ap is draining, so us (tier 2) serves: failover.
    let kr = facts("KR", "AS", "175.192.0.0/10");
    let d = steer(
        &s,
        &h,
        &ClientAddr::resolver("175.192.0.1".parse().unwrap()),
        Some(&kr),
    );
    assert_eq!(d.region, Some(RegionId(0)));
    assert_eq!(d.reason, Reason::Failover);
    assert_eq!(d.scope, 10);

    // net: beats country.
    let d = steer(
        &s,
        &h,
        &ClientAddr::resolver("10.9.9.9".parse().unwrap()),
        Some(&kr),
    );
    assert_eq!(s.map.entries[d.map_entry].key, "net:10.0.0.0/8");
    assert_eq!(d.scope, 8);

    // Unknown country: default.
    let us = facts("US", "NA", "8.0.0.0/9");
    let d = steer(
        &s,
        &h,
        &ClientAddr::resolver("8.8.8.8".parse().unwrap()),
        Some(&us),
    );
    assert_eq!(s.map.entries[d.map_entry].key, "default");
    assert_eq!(d.region, Some(RegionId(0)));
}

#[test]
fn health_drain_failopen_fallback_nodata() {
    let mut s = example();
    let h = HealthTable::new(16);
    let c = ClientAddr::resolver("8.8.8.8".parse().unwrap());
    // us down by health (slots 0,1,2) -> eu (tier 2): failover.
    for slot in 0..3 {
        h.set(SlotId(slot), Status::Down);
    }
    let d = steer(&s, &h, &c, None);
    assert_eq!((d.region, d.reason), (Some(RegionId(1)), Reason::Failover));
    // eu unhealthy too -> no active; ap is drain but not in this map's tiers -> fail open to us.
    h.set(SlotId(3), Status::Down);
    let d = steer(&s, &h, &c, None);
    assert_eq!((d.region, d.reason), (Some(RegionId(0)), Reason::FailOpen));
    let all: Vec<_> = endpoints(&s, &d, &h, false, 0).collect();
    assert_eq!(all.len(), 2, "fail open answers endpoints ignoring health");
    // us down by operator -> fail open has nothing in tier 1 -> fallback / nodata.
    s.regions[0].state = Down;
    let d = steer(&s, &h, &c, None);
    assert_eq!(d.reason, Reason::NoData);
    assert_eq!(endpoints(&s, &d, &h, false, 0).count(), 0);
    s.fallback = vec!["192.0.2.1".parse().unwrap()];
    let d = steer(&s, &h, &c, None);
    assert_eq!(d.reason, Reason::Fallback);
    assert_eq!(
        endpoints(&s, &d, &h, false, 0).collect::<Vec<_>>(),
        s.fallback
    );

    // Drain: Korea's ap (drain, healthy) serves when us is unusable.
    let kr = facts("KR", "AS", "175.192.0.0/10");
    let kc = ClientAddr::resolver("175.192.0.1".parse().unwrap());
    let d = steer(&s, &h, &kc, Some(&kr));
    assert_eq!((d.region, d.reason), (Some(RegionId(3)), Reason::Drain));
}

#[test]
fn endpoints_rotate_filter_and_limit() {
    let s = service(
        &[(
            "us",
            Active,
            100,
            &["10.0.0.1", "10.0.0.2", "10.0.0.3", "::1", "::2"],
        )],
        &[("default", "us")],
    );
    let h = HealthTable::new(8);
    let d = steer(&s, &h, &v4(1), None);
    assert_eq!(d.scope, 0, "a one-region map does not depend on the client");
    let a0: Vec<_> = endpoints(&s, &d, &h, false, 0).collect();
    let a1: Vec<_> = endpoints(&s, &d, &h, false, 1).collect();
    assert_eq!(a0.len(), 3);
    assert_ne!(a0, a1);
    assert_eq!(a0[1], a1[0]);
    let six: Vec<_> = endpoints(&s, &d, &h, true, 0).collect();
    assert_eq!(
        six,
        vec!["::1".parse::<IpAddr>().unwrap(), "::2".parse().unwrap()]
    );
    h.set(SlotId(1), Status::Down);
    let a: Vec<_> = endpoints(&s, &d, &h, false, 0).collect();
    assert!(!a.contains(&"10.0.0.2".parse().unwrap()));
}

#[test]
fn scope_respects_nested_nets_and_source_prefix() {
    let s = service(
        &[
            ("a", Active, 100, &["10.0.0.1"]),
            ("b", Active, 100, &["10.0.0.2"]),
        ],
        &[
            ("default", "a"),
            ("net:10.0.0.0/8", "b"),
            ("net:10.1.2.0/24", "a"),
        ],
    );
    let h = HealthTable::new(4);
    // 10.200.0.1: in /8, but the /8 also holds 10.1.2.0/24 (another answer); the /9 around
    // the client (10.128.0.0/9) does not: scope 9.
    let d = steer(
        &s,
        &h,
        &ClientAddr::resolver("10.200.0.1".parse().unwrap()),
        None,
    );
    assert_eq!(d.scope, 9);
    // 10.1.3.1: in /8 but shares 23 bits with 10.1.2.0/24: scope 24.
    let d = steer(
        &s,
        &h,
        &ClientAddr::resolver("10.1.3.1".parse().unwrap()),
        None,
    );
    assert_eq!(d.scope, 24);
    // Default, outside every net: 11.0.0.1 shares 4 bits with 10/8 (00001010 vs 00001011):
    // scope 8 (7 common bits + 1).
    let d = steer(
        &s,
        &h,
        &ClientAddr::resolver("11.0.0.1".parse().unwrap()),
        None,
    );
    assert_eq!(d.scope, 8);
    // A scope longer than the ECS source prefix (RFC 7871 7.2.1): 10.1.0.0/16 holds
    // 10.1.2.0/24, which answers otherwise; 10.1.0.0 shares 22 bits with it, so the answer
    // holds for 10.1.0.0/23 only, never the whole /16.
    let c = ClientAddr {
        addr: "10.1.0.0".parse().unwrap(),
        source_prefix: 16,
        source: ClientSource::Ecs,
    };
    let d = steer(&s, &h, &c, None);
    assert_eq!(d.scope, 23);
    // A source prefix that already excludes the nested key: the scope is unchanged by it.
    let c = ClientAddr {
        addr: "10.200.0.0".parse().unwrap(),
        source_prefix: 16,
        source: ClientSource::Ecs,
    };
    assert_eq!(steer(&s, &h, &c, None).scope, 9);
    // IPv6 client, map has only IPv4 nets: scope 0.
    let d = steer(
        &s,
        &h,
        &ClientAddr::resolver(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        None,
    );
    assert_eq!(d.scope, 0);
}

fn subnet(i: u32) -> ClientAddr {
    v4(i << 8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Weights converge to their shares within 1 percentage point over 100k subnets.
    #[test]
    fn weights_converge(w1 in 1u32..1000, w2 in 1u32..1000, w3 in 0u32..1000, offset in any::<u32>()) {
        let s = service(
            &[("r1", Active, w1, &["10.0.0.1"]), ("r2", Active, w2, &["10.0.0.2"]), ("r3", Active, w3, &["10.0.0.3"])],
            &[("default", "r1, r2, r3")],
        );
        let h = HealthTable::new(4);
        let mut counts = [0u32; 3];
        let n = 100_000u32;
        for i in 0..n {
            let d = steer(&s, &h, &subnet(i.wrapping_add(offset) & 0x00FF_FFFF), None);
            counts[d.region.unwrap().index()] += 1;
        }
        let total = f64::from(w1 + w2 + w3);
        for (i, w) in [w1, w2, w3].into_iter().enumerate() {
            let share = f64::from(counts[i]) / f64::from(n);
            let want = f64::from(w) / total;
            prop_assert!((share - want).abs() < 0.01, "region {i}: {share} vs {want}");
        }
    }

    /// Draining one region moves only the subnets it had.
    #[test]
    fn drain_moves_only_its_subnets(drained in 0usize..4, ws in proptest::collection::vec(1u32..500, 4)) {
        let names = ["a", "b", "c", "d"];
        let regions: Vec<(&str, RegionState, u32, &[&str])> =
            (0..4).map(|i| (names[i], Active, ws[i], &["10.0.0.1"][..])).collect();
        let before = service(&regions, &[("default", "a, b, c, d")]);
        let mut after = service(&regions, &[("default", "a, b, c, d")]);
        after.regions[drained].state = Drain;
        let h = HealthTable::new(8);
        for i in 0..20_000u32 {
            let c = subnet(i);
            let b = steer(&before, &h, &c, None).region.unwrap().index();
            let a = steer(&after, &h, &c, None).region.unwrap().index();
            if b != drained {
                prop_assert_eq!(a, b);
            } else {
                prop_assert_ne!(a, drained);
            }
        }
    }

    /// Raising one weight moves subnets only to that region; the moved share is close to the
    /// minimum possible (the change in its share).
    #[test]
    fn weight_change_moves_minimum(w in 1u32..300, bump in 1u32..300) {
        let regions = |x: u32| vec![("a", Active, x, &["10.0.0.1"][..]), ("b", Active, 100u32, &["10.0.0.2"][..]), ("c", Active, 50u32, &["10.0.0.3"][..])];
        let before = service(&regions(w), &[("default", "a, b, c")]);
        let after = service(&regions(w + bump), &[("default", "a, b, c")]);
        let h = HealthTable::new(4);
        let n = 50_000u32;
        let mut moved = 0u32;
        for i in 0..n {
            let c = subnet(i);
            let b = steer(&before, &h, &c, None).region.unwrap().index();
            let a = steer(&after, &h, &c, None).region.unwrap().index();
            if a != b {
                prop_assert_eq!(a, 0, "subnets only move to the region whose weight grew");
                moved += 1;
            }
        }
        let share = |x: u32| f64::from(x) / f64::from(x + 150);
        let minimum = share(w + bump) - share(w);
        let got = f64::from(moved) / f64::from(n);
        prop_assert!((got - minimum).abs() < 0.015, "moved {got}, minimum {minimum}");
    }

    /// A down region is never answered, whatever the health.
    #[test]
    fn down_never_answered(states in proptest::collection::vec(0u8..3, 3), health in proptest::collection::vec(any::<bool>(), 3), client in any::<u32>()) {
        let st = |x: u8| match x { 0 => Active, 1 => Drain, _ => Down };
        let s = service(
            &[("a", st(states[0]), 10, &["10.0.0.1"]), ("b", st(states[1]), 20, &["10.0.0.2"]), ("c", st(states[2]), 30, &["10.0.0.3"])],
            &[("default", "a > b, c")],
        );
        let h = HealthTable::new(4);
        for (i, up) in health.iter().enumerate() {
            h.set(SlotId(i as u32), if *up { Status::Up } else { Status::Down });
        }
        let d = steer(&s, &h, &v4(client), None);
        if let Some(r) = d.region {
            prop_assert_ne!(s.regions[r].state, Down);
        }
    }

    /// The same subnet always gets the same region; the order of regions in a tier does not
    /// matter.
    #[test]
    fn deterministic_and_order_free(client in any::<u32>()) {
        let one = service(&[("a", Active, 10, &["10.0.0.1"]), ("b", Active, 20, &["10.0.0.2"])], &[("default", "a, b")]);
        let two = service(&[("b", Active, 20, &["10.0.0.2"]), ("a", Active, 10, &["10.0.0.1"])], &[("default", "b, a")]);
        let h = HealthTable::new(4);
        let c = v4(client);
        let r1 = steer(&one, &h, &c, None).region.map(|i| one.regions[i].name.clone());
        let r1b = steer(&one, &h, &v4(client ^ 0x7F), None).region.map(|i| one.regions[i].name.clone());
        let r2 = steer(&two, &h, &c, None).region.map(|i| two.regions[i].name.clone());
        prop_assert_eq!(&r1, &r2);
        prop_assert_eq!(&r1, &r1b, "same /24, same region");
    }
}

#[test]
fn ipv6_network_scope() {
    let s = service(
        &[
            ("a", Active, 100, &["10.0.0.1"]),
            ("b", Active, 100, &["10.0.0.2"]),
        ],
        &[("default", "a"), ("continent:EU", "b")],
    );
    let h = HealthTable::new(4);
    let net: IpNet = "2001:db8::/32".parse().unwrap();
    let g = GeoFacts {
        country: Some(*b"DE"),
        continent: Some(*b"EU"),
        subdivisions: vec![],
        network: Some(net),
    };
    let c = ClientAddr {
        addr: "2001:db8:1::".parse().unwrap(),
        source_prefix: 48,
        source: ClientSource::Ecs,
    };
    let d = steer(&s, &h, &c, Some(&g));
    assert_eq!((d.region, d.scope), (Some(RegionId(1)), 32));
}

#[test]
fn cname_region_health_follows_its_check_target() {
    let mut s = service(
        &[
            ("cdn", Active, 100, &[]),
            ("origin", Active, 100, &["10.0.0.1"]),
        ],
        &[("default", "cdn > origin")],
    );
    s.regions[0].cname = Some(Name::parse_absolute("edge.cdn.example.").unwrap());
    s.regions[0].cname_slot = Some(SlotId(7));
    let h = HealthTable::new(8);
    let c = v4(1);
    let d = steer(&s, &h, &c, None);
    assert_eq!((d.region, d.reason), (Some(RegionId(0)), Reason::Geo));
    assert!(matches!(answer_kind(&s, &d), AnswerKind::Cname(_)));
    h.set(SlotId(7), Status::Down);
    let d = steer(&s, &h, &c, None);
    assert_eq!((d.region, d.reason), (Some(RegionId(1)), Reason::Failover));
    assert_eq!(answer_kind(&s, &d), AnswerKind::Addresses);
}

//------------ ECS scope longer than the source prefix ----------------------------------------------

/// SPEC 4.6: an ECS of 1.208.0.0/16 around `net:1.208.77.0/24` with another answer gets a
/// scope of at least /18, never /16; an ECS /18 around it gets more than /18.
#[test]
fn scope_longer_than_the_source_where_a_narrower_prefix_decides() {
    let s = service(
        &[
            ("kr", Active, 100, &["10.0.0.1"]),
            ("edge", Active, 100, &["10.0.0.2"]),
            ("us", Active, 100, &["10.0.0.3"]),
            ("w1", Active, 50, &["10.0.0.4"]),
            ("w2", Active, 50, &["10.0.0.5"]),
        ],
        &[
            ("default", "us"),
            ("country:KR", "kr"),
            ("net:1.208.77.0/24", "edge"),
            ("net:1.209.0.0/16", "w1, w2"),
        ],
    );
    let h = HealthTable::new(8);
    let kr = facts("KR", "AS", "1.208.0.0/12");
    let ecs = |addr: &str, prefix: u8| ClientAddr {
        addr: addr.parse().unwrap(),
        source_prefix: prefix,
        source: ClientSource::Ecs,
    };
    // /16: decided by its first address (KR, not the /24): 1.208.0.0 shares 17 bits with
    // 1.208.77.0, so the answer holds for 1.208.0.0/18.
    let d = steer(&s, &h, &ecs("1.208.0.0", 16), Some(&kr));
    assert_eq!((d.region, d.scope), (Some(RegionId(0)), 18));
    // /18 holding the /24 (1.208.64.0/18): 1.208.64.0 shares 20 bits with it: /21.
    let d = steer(&s, &h, &ecs("1.208.64.0", 18), Some(&kr));
    assert_eq!((d.region, d.scope), (Some(RegionId(0)), 21));
    // The /24 itself: its own answer, scope /24.
    let d = steer(&s, &h, &ecs("1.208.77.0", 24), Some(&kr));
    assert_eq!((d.region, d.scope), (Some(RegionId(1)), 24));
    // A source /12 whose GeoIP network is the /12: scope 12 would include the /24, so 18.
    let d = steer(&s, &h, &ecs("1.208.0.0", 12), Some(&kr));
    assert_eq!(d.scope, 18);
    // Weights split the tier: the hashing prefix /24 is the scope even for a /16 source
    // (its /24s are hashed apart).
    let d = steer(&s, &h, &ecs("1.209.0.0", 16), Some(&kr));
    assert!(d.hashed);
    assert_eq!(d.scope, 24);
    // A source prefix with nothing narrower inside that decides differently: the scope is
    // shorter than the source, the half of the GeoIP /12 that holds no other key
    // (1.216.0.0/13).
    let d = steer(&s, &h, &ecs("1.220.0.0", 16), Some(&kr));
    assert_eq!((d.region, d.scope), (Some(RegionId(0)), 13));
}

/// A small GeoIP table for the scope property (non-overlapping networks).
const GEO_TABLE: &[(&str, &str, &str)] = &[
    ("10.0.0.0/10", "KR", "AS"),
    ("10.64.0.0/12", "GB", "EU"),
    ("10.80.0.0/16", "DE", "EU"),
    ("10.81.0.0/24", "US", "NA"),
    ("10.81.1.0/25", "BR", "SA"),
    ("10.200.0.0/13", "US", "NA"),
];

/// What the table says about `addr`: its network, or (no data) the largest aligned block
/// around it that overlaps no table network, as a MaxMind DB reports it.
fn table_facts(addr: Ipv4Addr) -> GeoFacts {
    let table: Vec<(ipnet::Ipv4Net, &str, &str)> = GEO_TABLE
        .iter()
        .map(|(n, c, k)| (n.parse().unwrap(), *c, *k))
        .collect();
    if let Some((net, c, k)) = table.iter().find(|(n, _, _)| n.contains(&addr)) {
        return facts(c, k, &net.to_string());
    }
    let overlaps = |a: &ipnet::Ipv4Net, b: &ipnet::Ipv4Net| {
        a.contains(&b.network()) || b.contains(&a.network())
    };
    for p in 0..=32 {
        let block = ipnet::Ipv4Net::new(addr, p).unwrap().trunc();
        if table.iter().all(|(n, _, _)| !overlaps(&block, n)) {
            return GeoFacts {
                network: Some(IpNet::V4(block)),
                ..GeoFacts::default()
            };
        }
    }
    GeoFacts::default()
}

fn mask(addr: u32, prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        addr & (u32::MAX << (32 - u32::from(prefix)))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The scope is safe for a resolver's cache (RFC 7871 7.3.1): when it is no longer than
    /// the source prefix, a resolver serves the answer to any query whose ECS lies inside
    /// the scope, so every such query must get the same region; when it is longer, the
    /// resolver serves it only to the same ECS. Random `net:` keys (nested, overlapping the
    /// GeoIP networks, some with weighted tiers), random clients and source prefixes.
    #[test]
    fn scope_is_safe_for_resolver_caches(
        nets in proptest::collection::vec((0u32..(1 << 24), 9u8..=28, 0usize..3), 0..5),
        client in 0u32..(1 << 24),
        source in 8u8..=32,
        seed in any::<u64>(),
    ) {
        let tiers = ["a", "b", "c, d"];
        let keys: Vec<(String, &str)> = nets
            .iter()
            .map(|&(addr, prefix, t)| {
                let net = ipnet::Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 | addr), prefix)
                    .unwrap()
                    .trunc();
                (format!("net:{net}"), tiers[t])
            })
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_iter()
            .collect();
        let mut map: Vec<(&str, &str)> = vec![
            ("default", "a"),
            ("continent:EU", "b"),
            ("country:KR", "c, d"),
            ("country:US", "d"),
        ];
        map.extend(keys.iter().map(|(k, t)| (k.as_str(), *t)));
        let s = service(
            &[
                ("a", Active, 100, &["10.0.0.1"]),
                ("b", Active, 100, &["10.0.0.2"]),
                ("c", Active, 60, &["10.0.0.3"]),
                ("d", Active, 40, &["10.0.0.4"]),
            ],
            &map,
        );
        let h = HealthTable::new(8);
        let ask = |addr: u32, prefix: u8| {
            let addr = Ipv4Addr::from(mask(addr, prefix));
            let c = ClientAddr { addr: IpAddr::V4(addr), source_prefix: prefix, source: ClientSource::Ecs };
            steer(&s, &h, &c, Some(&table_facts(addr)))
        };
        let client = 0x0a00_0000 | client;
        let d = ask(client, source);
        prop_assert!(d.scope <= 32);
        if d.scope <= source {
            let mut rng = seed | 1;
            for _ in 0..32 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let inside = mask(client, d.scope) | (rng as u32 & !mask(u32::MAX, d.scope));
                let prefix = d.scope.max(8) + (rng >> 40) as u8 % (33 - d.scope.max(8));
                let other = ask(inside, prefix);
                prop_assert_eq!(
                    other.region, d.region,
                    "{}/{} (scope {}) vs {}/{}", Ipv4Addr::from(client), source, d.scope,
                    Ipv4Addr::from(inside), prefix
                );
            }
        }
    }
}

//------------ Canary cap (rule 4a) ----------------------------------------------------------------

/// The example's EU tier with `canary` flagged as a canary.
fn canary_example() -> Service {
    let mut s = example();
    s.regions[2].canary = true;
    s
}

/// The `i`th /24 of 81.0.0.0/8, one GB network in the GeoIP data.
fn eu_client(i: u32) -> (ClientAddr, GeoFacts) {
    let addr = Ipv4Addr::from((81u32 << 24) | ((i & 0xFFFF) << 8));
    (
        ClientAddr::resolver(IpAddr::V4(addr)),
        facts("GB", "EU", "81.0.0.0/8"),
    )
}

#[test]
fn canary_flag_changes_nothing_while_the_tier_is_up() {
    let plain = example();
    let capped = canary_example();
    let h = HealthTable::new(16);
    for i in 0..20_000 {
        let (c, g) = eu_client(i);
        let a = steer(&plain, &h, &c, Some(&g));
        let b = steer(&capped, &h, &c, Some(&g));
        assert_eq!((a.region, a.reason, a.scope), (b.region, b.reason, b.scope));
    }
}

#[test]
fn canary_keeps_its_share_when_the_rest_of_its_tier_cannot_serve() {
    let plain = example();
    let mut drained = canary_example();
    drained.regions[1].state = Drain;
    let h = HealthTable::new(16);
    let n = 20_000u32;
    let mut canary = 0;
    for i in 0..n {
        let (c, g) = eu_client(i);
        let before = steer(&plain, &h, &c, Some(&g));
        let after = steer(&drained, &h, &c, Some(&g));
        if before.region == Some(RegionId(2)) {
            assert_eq!(
                (after.region, after.reason),
                (Some(RegionId(2)), Reason::Geo)
            );
            assert_eq!(after.cap, Some((0, Cap::Own)));
            canary += 1;
        } else {
            // Not the canary's: the next tier, not the canary.
            assert_eq!(
                (after.region, after.reason),
                (Some(RegionId(0)), Reason::Failover)
            );
            assert_eq!(after.cap, Some((0, Cap::NotCanary)));
        }
        // The answer depends on the subnet's hash: the scope is the hashing prefix.
        assert_eq!(after.scope, 24);
    }
    let share = f64::from(canary) / f64::from(n);
    assert!((share - 0.05).abs() < 0.01, "canary share {share}");

    // The same when eu fails its health checks instead of being drained.
    let capped = canary_example();
    h.set(SlotId(3), Status::Down);
    for i in 0..2_000 {
        let (c, g) = eu_client(i);
        let before = steer(&plain, &HealthTable::new(16), &c, Some(&g));
        let after = steer(&capped, &h, &c, Some(&g));
        let want = if before.region == Some(RegionId(2)) {
            2
        } else {
            0
        };
        assert_eq!(after.region, Some(RegionId(want)));
    }
}

#[test]
fn canary_out_returns_its_subnets_to_the_rest_of_its_tier() {
    let plain = example();
    let capped = canary_example();
    let h = HealthTable::new(16);
    h.set(SlotId(4), Status::Down); // the canary's one endpoint
    for i in 0..5_000 {
        let (c, g) = eu_client(i);
        let before = steer(&plain, &HealthTable::new(16), &c, Some(&g));
        let after = steer(&capped, &h, &c, Some(&g));
        assert_eq!(
            (after.region, after.reason),
            (Some(RegionId(1)), Reason::Geo)
        );
        if before.region == Some(RegionId(2)) {
            assert_eq!(after.cap, Some((0, Cap::Returned)));
        } else {
            assert_eq!(
                after.cap, None,
                "no canary could serve: the cap changed nothing"
            );
        }
        // Every subnet of the network gets eu: the scope is the GeoIP network's.
        assert!(!after.hashed);
        assert_eq!(after.scope, 8, "{i} {after:?}");
    }
}

#[test]
fn only_fail_open_hands_a_canary_more_than_its_share() {
    let mut s = canary_example();
    s.regions[1].state = Down; // eu
    let h = HealthTable::new(16);
    for slot in 0..3 {
        h.set(SlotId(slot), Status::Down); // us unhealthy
    }
    for i in 0..2_000 {
        let (c, g) = eu_client(i);
        let d = steer(&s, &h, &c, Some(&g));
        assert_eq!(d.region, Some(RegionId(2)));
        let own = steer(&canary_example(), &HealthTable::new(16), &c, Some(&g)).region
            == Some(RegionId(2));
        let want = if own { Reason::Geo } else { Reason::FailOpen };
        assert_eq!(d.reason, want);
    }
}

#[test]
fn canary_cap_in_the_drain_pass() {
    // eu draining, us unhealthy: no active region can serve the canary's others, so the
    // draining eu serves them; the canary keeps its own.
    let mut s = canary_example();
    s.regions[1].state = Drain;
    let h = HealthTable::new(16);
    for slot in 0..3 {
        h.set(SlotId(slot), Status::Down);
    }
    for i in 0..2_000 {
        let (c, g) = eu_client(i);
        let own = steer(&canary_example(), &HealthTable::new(16), &c, Some(&g)).region
            == Some(RegionId(2));
        let d = steer(&s, &h, &c, Some(&g));
        if own {
            assert_eq!((d.region, d.reason), (Some(RegionId(2)), Reason::Geo));
        } else {
            assert_eq!((d.region, d.reason), (Some(RegionId(1)), Reason::Drain));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Rule 4a over random states, health and weights: a canary serves only subnets it wins
    /// among every weighted region of its tier, unless failing open; a subnet that is not the
    /// canary's is served as if the canary had weight 0.
    #[test]
    fn canary_never_exceeds_its_share(
        states in proptest::collection::vec(0u8..3, 4),
        health in proptest::collection::vec(any::<bool>(), 4),
        ws in proptest::collection::vec(0u32..200, 4),
        offset in any::<u32>(),
    ) {
        let st = |x: u8| match x { 0 => Active, 1 => Drain, _ => Down };
        let regions: Vec<(&str, RegionState, u32, &[&str])> = vec![
            ("a", st(states[0]), ws[0], &["10.0.0.1"][..]),
            ("b", st(states[1]), ws[1], &["10.0.0.2"][..]),
            ("can", st(states[2]), ws[2], &["10.0.0.3"][..]),
            ("c", st(states[3]), ws[3], &["10.0.0.4"][..]),
        ];
        let map = [("default", "a, b, can > c")];
        let mut s = service(&regions, &map);
        s.regions[2].canary = true;
        // The same service with the canary at weight 0 and everything up, and with the
        // canary's configured weight and everything up and active: the owners.
        let mut zero = service(&regions, &map);
        zero.regions[2].weight = 0;
        let owners = service(
            &regions.iter().map(|(n, _, w, e)| (*n, Active, *w, *e)).collect::<Vec<_>>(),
            &[("default", "a, b, can")],
        );
        let h = HealthTable::new(8);
        for (i, up) in health.iter().enumerate() {
            h.set(SlotId(i as u32), if *up { Status::Up } else { Status::Down });
        }
        let all_up = HealthTable::new(8);
        let weighted = ws[..3].iter().filter(|w| **w > 0).count();
        for i in 0..3000u32 {
            let c = subnet(i.wrapping_add(offset) & 0x00FF_FFFF);
            let d = steer(&s, &h, &c, None);
            let own = weighted > 0 && steer(&owners, &all_up, &c, None).region == Some(RegionId(2));
            if d.region == Some(RegionId(2)) && d.reason != Reason::FailOpen {
                prop_assert!(own, "subnet {i}: canary serves a subnet it does not own");
            }
            if !own && d.reason != Reason::FailOpen {
                let z = steer(&zero, &h, &c, None);
                if z.region != Some(RegionId(2)) {
                    prop_assert_eq!((d.region, d.reason), (z.region, z.reason), "subnet {}", i);
                }
            }
        }
    }
}

/// The endpoints as an iterator chain (filter, count, skip, chain, take): the reference for
/// [`endpoints`].
fn endpoints_reference<'s>(
    service: &'s Service,
    decision: &Decision,
    health: &'s HealthTable,
    want_v6: bool,
    rotation: u32,
) -> Vec<IpAddr> {
    let ignore_health = decision.ignores_health();
    let (list, fallback): (&'s [Endpoint], &'s [IpAddr]) = match decision.region {
        Some(r) => (&service.regions[r].endpoints, &[]),
        None if decision.reason == Reason::Fallback => (&[], &service.fallback),
        None => (&[], &[]),
    };
    let usable = move |addr: &IpAddr| addr.is_ipv6() == want_v6;
    let eps = list
        .iter()
        .filter(move |e| usable(&e.addr))
        .filter(move |e| ignore_health || e.slot.is_none_or(|s| health.get(s) == Status::Up))
        .map(|e| e.addr);
    let fb = fallback.iter().copied().filter(usable);
    let count = eps.clone().count() + fb.clone().count();
    let start = if count == 0 {
        0
    } else {
        rotation as usize % count
    };
    let all = eps.chain(fb);
    all.clone()
        .skip(start)
        .chain(all.take(start))
        .take(service.max_answers)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn endpoints_equal_the_reference(
        eps in proptest::collection::vec((any::<bool>(), any::<u8>(), any::<bool>(), any::<bool>()), 0..9),
        fallback in proptest::collection::vec((any::<bool>(), any::<u8>()), 0..4),
        outcome in 0u8..4,
        want_v6 in any::<bool>(),
        rotation in any::<u32>(),
        max_answers in 1usize..7,
    ) {
        let addr = |v6: bool, b: u8| -> IpAddr {
            if v6 {
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(b)))
            } else {
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, b))
            }
        };
        let mut s = service(&[("r", Active, 1, &[])], &[("default", "r")]);
        let h = HealthTable::new(eps.len());
        s.regions[0].endpoints = eps
            .iter()
            .enumerate()
            .map(|(n, &(v6, b, checked, up))| {
                if !up {
                    h.set(SlotId(n as u32), Status::Down);
                }
                Endpoint {
                    addr: addr(v6, b),
                    slot: checked.then_some(SlotId(n as u32)),
                }
            })
            .collect();
        s.fallback = fallback.iter().map(|&(v6, b)| addr(v6, b)).collect();
        s.max_answers = max_answers;
        let (region, reason) = match outcome {
            0 => (Some(RegionId::from_index(0)), Reason::Geo),
            1 => (Some(RegionId::from_index(0)), Reason::FailOpen),
            2 => (None, Reason::Fallback),
            _ => (None, Reason::NoData),
        };
        let d = Decision {
            map_entry: s.map.default,
            region,
            tier: region.map(|_| 0),
            reason,
            scope: 0,
            hashed: false,
            cap: None,
        };
        prop_assert_eq!(
            endpoints(&s, &d, &h, want_v6, rotation).collect::<Vec<_>>(),
            endpoints_reference(&s, &d, &h, want_v6, rotation)
        );
    }
}
