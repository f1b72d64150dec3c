//! The compiled table against the per-query path ([`crate::steer::map_hit`]): the same
//! (entry, scope) for random addresses, IPv4 and IPv6, over random GeoIP databases (built
//! with the dev-only MMDB writer and read by the real `GeoDb`) and random maps.
//!
//! Always on: 6 random databases × 4 maps × 2 × 5,000 addresses (and the shipped database
//! with the shipped zone's maps). `cargo test --release --lib table -- --ignored` runs the
//! long version: 1,000,000 addresses per family against a database the size of
//! GeoLite2-Country (about 400k networks) and against the shipped database.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use serde_json::json;
use steerdns_mmdb_writer::{MmdbWriter, synthetic_country};

use super::{compile, lookup};
use crate::config::model::{GeoMap, MapEntry, MapKey};
use crate::geo::GeoDb;
use crate::steer::{ClientAddr, GeoFacts, GeoLookup, map_hit};

//------------ randomness ------------------------------------------------------------------------

/// xorshift64*: deterministic, seedable, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn u128(&mut self) -> u128 {
        (u128::from(self.next()) << 64) | u128::from(self.next())
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const COUNTRIES: &[(&str, &str)] = &[
    ("GB", "EU"),
    ("DE", "EU"),
    ("US", "NA"),
    ("BR", "SA"),
    ("KR", "AS"),
    ("JP", "AS"),
    ("AU", "OC"),
    ("ZA", "AF"),
];
const SUBDIVISIONS: &[&str] = &["ENG", "SCT", "CA", "NY", "BY"];

fn to_net(start: u128, len: u8, v6: bool) -> IpNet {
    if v6 {
        IpNet::new(IpAddr::V6(Ipv6Addr::from(start)), len).expect("prefix")
    } else {
        IpNet::new(IpAddr::V4(Ipv4Addr::from(start as u32)), len).expect("prefix")
    }
}

/// A synthetic GeoIP2-schema database (subdivisions on some records) with about `v4` + `v6`
/// networks, read by the real `GeoDb`, and its networks.
fn random_db(rng: &mut Rng, v4: usize, v6: usize) -> (GeoDb, Vec<IpNet>) {
    let (bytes, nets) = synthetic_country(v4, v6, rng.next(), true);
    let db = GeoDb::from_bytes(bytes, "synthetic.mmdb".into()).expect("opens");
    (db, nets)
}

/// A random map: default, some geo keys, `net:` keys near the database's networks (inside,
/// around, equal, nested, some duplicated by host bits) and in the embedded-IPv4 ranges.
fn random_map(rng: &mut Rng, db_nets: &[IpNet], geo_keys: bool) -> GeoMap {
    let mut keys: Vec<String> = vec!["default".into()];
    if geo_keys {
        for _ in 0..rng.below(6) {
            let (c, k) = *rng.pick(COUNTRIES);
            keys.push(match rng.below(3) {
                0 => format!("country:{c}"),
                1 => format!("continent:{k}"),
                _ => format!("subdivision:{c}-{}", rng.pick(SUBDIVISIONS)),
            });
        }
    }
    let mut nets = Vec::new();
    for _ in 0..rng.below(14) {
        let base = *rng.pick(db_nets);
        let (start, width) = match base {
            IpNet::V4(n) => (u128::from(u32::from(n.network())), 32u8),
            IpNet::V6(n) => (u128::from(n.network()), 128u8),
        };
        let len = match rng.below(4) {
            0 => base.prefix_len(),
            1 => base.prefix_len().saturating_sub(rng.below(6) as u8),
            _ => (base.prefix_len() + 1 + rng.below(10) as u8).min(width),
        };
        let noise = rng.u128() >> (128 - u32::from(width));
        let addr = start | (noise & ((1u128 << (width - base.prefix_len()).min(127)) - 1));
        nets.push(to_net(addr, len, width == 128).trunc());
    }
    // Keys in the IPv4-embedding IPv6 blocks the partition leaves to the per-query path.
    for _ in 0..rng.below(3) {
        let start = if rng.below(2) == 0 {
            0
        } else {
            0xffff_0000_0000
        };
        let len = 96 + rng.below(20) as u8;
        nets.push(to_net(start | (rng.u128() >> 96), len, true).trunc());
    }
    // A few nested chains: a key, then one inside it, then one inside that.
    if let Some(&outer) = nets.first() {
        let mut n = outer;
        for _ in 0..rng.below(4) {
            let max = if n.network().is_ipv4() { 32 } else { 128 };
            if n.prefix_len() >= max {
                break;
            }
            let sub: Vec<IpNet> = n
                .subnets((n.prefix_len() + 1 + rng.below(5) as u8).min(max))
                .expect("subnets")
                .take(64)
                .collect();
            n = *rng.pick(&sub);
            nets.push(n);
        }
    }
    for n in nets {
        keys.push(format!("net:{n}"));
    }
    map_of(&keys)
}

/// A map with one entry per key (entries are never looked at beyond their ids here).
fn map_of(keys: &[String]) -> GeoMap {
    let mut map = GeoMap::new("test".into());
    let mut seen = std::collections::HashSet::new();
    for key in keys {
        if !seen.insert(key.clone()) {
            continue;
        }
        let parsed: MapKey = key.parse().expect("key");
        map.push(
            &parsed,
            MapEntry {
                key: key.clone(),
                tiers: vec![],
                missing: vec![],
            },
        );
    }
    map
}

/// An address to try: uniform, or at and around the edges of a key or a database network.
fn random_addr(rng: &mut Rng, edges: &[IpNet], v6: bool) -> IpAddr {
    let bits = match rng.below(4) {
        0 if !edges.is_empty() => {
            let n = rng.pick(edges);
            let edge = if rng.below(2) == 0 {
                n.network()
            } else {
                n.broadcast()
            };
            let x = match edge {
                IpAddr::V4(a) => u128::from(u32::from(a)),
                IpAddr::V6(a) => u128::from(a),
            };
            // Just inside, at, or just outside the edge.
            match rng.below(3) {
                0 => x.wrapping_sub(1),
                1 => x,
                _ => x.wrapping_add(1),
            }
        }
        1 if v6 => (0x2000u128 << 112) | (rng.u128() >> 3),
        _ => rng.u128(),
    };
    if v6 {
        IpAddr::V6(Ipv6Addr::from(bits))
    } else {
        IpAddr::V4(Ipv4Addr::from(bits as u32))
    }
}

/// Whether the partition may leave `addr` to the per-query path: IPv6 in `::/64` (which
/// holds the IPv4-embedding blocks) or in a /64 that the database cuts finer (a network of
/// `db_nets` longer than /64 lies in it).
fn left_to_lookups(addr: IpAddr, db_nets: &[IpNet]) -> bool {
    let IpAddr::V6(a) = addr else {
        return false;
    };
    let key = u128::from(a) >> 64;
    key == 0
        || db_nets.iter().any(|n| match n {
            IpNet::V6(n) => n.prefix_len() > 64 && u128::from(n.network()) >> 64 == key,
            IpNet::V4(_) => false,
        })
}

/// Compiles `map` and checks `count` random addresses of each family against the per-query
/// path. Returns how many the table left to the per-query path; `aliases`: whether the
/// database may have IPv4 aliases (else only the IPv4-embedding blocks may be left).
fn check_map(
    rng: &mut Rng,
    map: &GeoMap,
    db: &GeoDb,
    db_nets: &[IpNet],
    count: usize,
    aliases: bool,
) -> usize {
    let partition = db.partition();
    let table = compile(map, partition).expect("compiles");
    let mut slow = 0;
    for v6 in [false, true] {
        let edges: Vec<IpNet> = map
            .nets
            .iter()
            .map(|(n, _)| *n)
            .chain(db_nets.iter().copied())
            .filter(|n| n.network().is_ipv6() == v6)
            .collect();
        for _ in 0..count {
            let addr = random_addr(rng, &edges, v6);
            let client = ClientAddr::resolver(addr);
            let facts = map.uses_geo().then(|| db.facts(addr));
            let want = map_hit(map, &client, facts.as_ref());
            match lookup(&table, partition, addr) {
                Some(got) => assert_eq!(
                    got,
                    want,
                    "{addr}: table {got:?}, per query {want:?}; keys {:?}",
                    map.entries.iter().map(|e| &e.key).collect::<Vec<_>>()
                ),
                None => {
                    assert!(v6, "{addr}: IPv4 left to the per-query path");
                    assert!(
                        left_to_lookups(addr, db_nets) || aliases,
                        "{addr} left to the per-query path outside ::/64 and the /64s cut finer"
                    );
                    slow += 1;
                }
            }
        }
    }
    slow
}

//------------ tests -----------------------------------------------------------------------------

/// The partition says what the database says: the class's facts and the network's prefix.
#[test]
fn partition_equals_lookups() {
    let mut rng = Rng(0xfac7);
    for round in 0..3 {
        let (db, nets) = random_db(&mut rng, 500 + round * 800, 300 + round * 500);
        let p = db.partition().expect("partition");
        for v6 in [false, true] {
            let edges: Vec<IpNet> = nets
                .iter()
                .copied()
                .filter(|n| n.network().is_ipv6() == v6)
                .collect();
            for _ in 0..5_000 {
                let addr = random_addr(&mut rng, &edges, v6);
                let facts = db.facts(addr);
                match p.lookup(addr) {
                    Some((class, prefix)) => {
                        let network = facts.network.expect("network");
                        assert_eq!(prefix, network.prefix_len(), "{addr}");
                        assert_eq!(
                            p.classes()[class as usize],
                            GeoFacts {
                                network: None,
                                ..facts
                            },
                            "{addr}"
                        );
                    }
                    None => assert!(left_to_lookups(addr, &nets), "{addr}"),
                }
            }
        }
    }
}

#[test]
fn table_equals_the_per_query_path_on_random_databases_and_maps() {
    let mut rng = Rng(0x05ee_d0f7_ab1e);
    for round in 0..6 {
        let (db, nets) = random_db(&mut rng, 300 + round * 400, 200 + round * 300);
        for m in 0..4 {
            let map = random_map(&mut rng, &nets, m != 3);
            check_map(&mut rng, &map, &db, &nets, 5_000, false);
        }
    }
}

#[test]
fn maps_without_geo_keys_need_no_database() {
    let mut rng = Rng(42);
    let (db, nets) = random_db(&mut rng, 200, 100);
    let map = map_of(&[
        "default".into(),
        "net:10.0.0.0/8".into(),
        "net:10.1.0.0/16".into(),
        "net:10.1.2.0/24".into(),
        "net:2001:db8::/32".into(),
    ]);
    let table = compile(&map, None).expect("compiles");
    // 0/5, 8/7, 10/8 ... : a handful of ranges, not one per database network.
    let v4 = table.nets_v4.as_ref().expect("IPv4 keys");
    assert!(v4.len() < 40, "{}", v4.len());
    for a in [
        "10.1.2.3",
        "10.1.3.0",
        "10.2.0.0",
        "11.0.0.0",
        "2001:db8::1",
        "2001:db9::",
    ] {
        let addr: IpAddr = a.parse().expect("addr");
        let want = map_hit(&map, &ClientAddr::resolver(addr), None);
        assert_eq!(lookup(&table, None, addr), Some(want), "{a}");
    }
    check_map(&mut rng, &map, &db, &nets, 2_000, false);
}

/// The scope example of SPEC 4.6: an ECS of 1.208.0.0/16 around `net:1.208.77.0/24` gets /18,
/// the /24 itself /24; the GeoIP network (/12) is the scope where no key lies inside.
#[test]
fn spec_scope_example() {
    let mut w = MmdbWriter::new("GeoIP2-Country", 6).expect("writer");
    w.insert(
        "1.208.0.0/12".parse().expect("net"),
        json!({"country": {"iso_code": "KR"}, "continent": {"code": "AS"}}),
    )
    .expect("insert");
    let db = GeoDb::from_bytes(w.to_bytes(), "kr.mmdb".into()).expect("db");
    let map = map_of(&[
        "default".into(),
        "country:KR".into(),
        "net:1.208.77.0/24".into(),
    ]);
    let p = db.partition();
    let table = compile(&map, p).expect("compiles");
    let at = |a: &str| lookup(&table, p, a.parse().expect("addr")).expect("compiled");
    let key = |a: &str| map.entries[at(a).entry].key.clone();
    assert_eq!(
        (key("1.208.0.0"), at("1.208.0.0").scope),
        ("country:KR".into(), 18)
    );
    assert_eq!(at("1.208.64.0").scope, 21);
    assert_eq!(
        (key("1.208.77.9"), at("1.208.77.9").scope),
        ("net:1.208.77.0/24".into(), 24)
    );
    assert_eq!(at("1.220.0.0").scope, 13);
    // Outside the database's network: no data, default, the empty network's prefix.
    let nine: IpAddr = "9.9.9.9".parse().expect("addr");
    assert_eq!(key("9.9.9.9"), "default");
    assert_eq!(
        at("9.9.9.9"),
        map_hit(&map, &ClientAddr::resolver(nine), Some(&db.facts(nine)))
    );
}

#[test]
fn ipv4_embedding_blocks_go_to_the_per_query_path() {
    let mut rng = Rng(7);
    let (db, _) = random_db(&mut rng, 100, 50);
    let map = map_of(&[
        "default".into(),
        "country:GB".into(),
        "net:::ffff:10.0.0.0/104".into(),
    ]);
    let p = db.partition();
    let table = compile(&map, p).expect("compiles");
    for a in ["::ffff:81.2.69.160", "::81.2.69.160"] {
        assert_eq!(lookup(&table, p, a.parse().expect("addr")), None, "{a}");
    }
    // A net: key decides without the database, even there.
    let hit = lookup(&table, p, "::ffff:10.1.2.3".parse().expect("addr")).expect("net key");
    assert_eq!(
        (map.entries[hit.entry].key.as_str(), hit.scope),
        ("net:::ffff:10.0.0.0/104", 104)
    );
    // Past ::/64, compiled.
    assert!(lookup(&table, p, "0:0:0:1::".parse().expect("addr")).is_some());
}

/// The shipped database with the shipped zone's map keys.
#[test]
fn shipped_database() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/geoip/geo-whois-asn-country.mmdb"
    );
    let db = GeoDb::open(std::path::Path::new(path)).expect("shipped database");
    let mut rng = Rng(99);
    let keys: Vec<String> = [
        "default",
        "continent:EU",
        "continent:AS",
        "country:KR",
        "country:GB",
        "net:10.0.0.0/8",
        "net:1.208.77.0/24",
    ]
    .iter()
    .map(|k| k.to_string())
    .collect();
    let map = map_of(&keys);
    check_map(&mut rng, &map, &db, &[], 20_000, true);
}

/// The 1M-address version (`--ignored`; run it in release): a GeoLite2-Country-sized random
/// database and the shipped one, 1,000,000 addresses per family each.
#[test]
#[ignore = "long: 4M addresses; cargo test --release --lib table -- --ignored"]
fn one_million_addresses_per_family() {
    let count: usize = std::env::var("STEERDNS_TABLE_ADDRESSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut rng = Rng(0x1_000_000);
    let (db, nets) = random_db(&mut rng, 260_000, 140_000);
    let map = random_map(&mut rng, &nets, true);
    let slow = check_map(&mut rng, &map, &db, &nets, count, false);
    eprintln!("synthetic GeoLite2-sized database: {count} addresses per family, {slow} per query");
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/geoip/geo-whois-asn-country.mmdb"
    );
    let shipped = GeoDb::open(std::path::Path::new(path)).expect("shipped database");
    let slow = check_map(&mut rng, &map, &shipped, &[], count, true);
    eprintln!("shipped database: {count} addresses per family, {slow} per query");
}
