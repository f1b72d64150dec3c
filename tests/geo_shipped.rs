//! The shipped database `geoip/geo-whois-asn-country.mmdb` (ip-location-db, RIR-derived
//! country data): it opens, its schema is detected, and long-standing allocations from the RIR
//! delegation data read back with the right country, continent and network.
//!
//! File lookups only; nothing here touches the network. After `geoip/refresh.sh` replaces the
//! file, an exact-network assertion may need updating if an allocation was re-registered; the
//! addresses were picked from blocks whose registration has not changed in many years.
//!
//! Known data errors in the shipped file (the publisher warns of them) are avoided on purpose:
//! e.g. 2001:200::/23 (WIDE Project, JP) is reported as AU, and the documentation ranges
//! 198.51.100.0/24 and 203.0.113.0/24 are reported as AU.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use steerdns::geo::{ContinentCode, CountryCode, GeoDb, GeoHit, Schema};

fn path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("geoip/geo-whois-asn-country.mmdb")
}

fn db() -> GeoDb {
    GeoDb::open(&path()).expect("the shipped database opens")
}

fn lookup(db: &GeoDb, addr: &str) -> (IpAddr, GeoHit) {
    let ip: IpAddr = addr.parse().expect("test address");
    (ip, db.lookup(ip))
}

#[test]
fn metadata_and_schema() {
    let db = db();
    let m = db.metadata();
    assert_eq!(db.schema(), Schema::CountryCode);
    assert_eq!(m.ip_version, 6);
    // Built after 2026-01-01 (the npm package version carries the build date too).
    assert!(m.build_epoch > 1_767_225_600, "{}", m.build_time_utc());
    assert!(m.file_size < 20 * 1024 * 1024, "{} bytes", m.file_size);
}

#[test]
fn readme_states_the_build_date() {
    let db = db();
    let date = &db.metadata().build_time_utc()[..10];
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("geoip/README.md"))
            .expect("geoip/README.md");
    assert!(
        readme.contains(date),
        "geoip/README.md does not mention the database build date {date}"
    );
}

/// (address, country, continent, exact network the database reports).
const ALLOCATIONS: &[(&str, &str, &str, &str)] = &[
    // APNIC → KRNIC, a whole /10.
    ("175.192.0.1", "KR", "AS", "175.192.0.0/10"),
    // Legacy /8s.
    ("133.0.0.1", "JP", "AS", "133.0.0.0/8"),
    ("12.0.0.1", "US", "NA", "12.0.0.0/8"),
    // AFRINIC, a whole /11.
    ("41.0.0.1", "ZA", "AF", "41.0.0.0/11"),
    // RIPE NCC's own network (k.root-servers.net).
    ("193.0.14.129", "NL", "EU", "193.0.0.0/20"),
    // RIPE NCC, IPv6.
    ("2001:67c:2e8::1", "NL", "EU", "2001:67c:2e8::/48"),
    // AFRINIC, IPv6.
    ("2001:4200::1", "ZA", "AF", "2001:4200::/32"),
    ("2001:4860::1", "US", "NA", "2001:4860::/32"),
    ("2a01:4f8::1", "DE", "EU", "2a01:4f8::/32"),
    ("2001:2f8::1", "JP", "AS", "2001:2f8::/32"),
];

#[test]
fn well_known_allocations() {
    let db = db();
    for (addr, country, continent, network) in ALLOCATIONS {
        let (ip, hit) = lookup(&db, addr);
        assert_eq!(
            hit.country,
            Some(CountryCode::parse(country).expect("code")),
            "{addr}"
        );
        assert_eq!(
            hit.continent,
            Some(ContinentCode::parse(continent).expect("code")),
            "{addr}"
        );
        assert!(hit.subdivisions.is_empty(), "{addr}");
        assert_eq!(hit.network.to_string(), *network, "{addr}");
        assert!(hit.network.contains(&ip), "{addr}");
    }
}

/// Where the exact network is less stable, check the country and that the network is a real
/// prefix around the address.
#[test]
fn countries_on_every_inhabited_continent() {
    let db = db();
    let cases = [
        ("81.2.69.160", "GB", "EU", 24),
        ("200.160.0.1", "BR", "SA", 24),
        ("2001:12ff::1", "BR", "SA", 32),
        ("139.130.0.1", "AU", "OC", 16),
        ("202.12.27.33", "JP", "AS", 24),
    ];
    for (addr, country, continent, at_most) in cases {
        let (ip, hit) = lookup(&db, addr);
        assert_eq!(
            hit.country.map(|c| c.to_string()).as_deref(),
            Some(country),
            "{addr}"
        );
        assert_eq!(
            hit.continent.map(|c| c.to_string()).as_deref(),
            Some(continent),
            "{addr}"
        );
        assert!(hit.network.contains(&ip), "{addr}: {}", hit.network);
        assert!(
            hit.network.prefix_len() <= at_most,
            "{addr}: {}",
            hit.network
        );
    }
}

#[test]
fn ipv4_mapped_and_unallocated_addresses() {
    let db = db();
    let (_, hit) = lookup(&db, "::ffff:175.192.0.1");
    assert_eq!(hit.country.map(|c| c.to_string()).as_deref(), Some("KR"));
    assert_eq!(hit.network.to_string(), "::ffff:175.192.0.0/106");

    for (addr, network) in [
        ("10.1.2.3", "10.0.0.0/8"),
        ("127.0.0.1", "127.0.0.0/8"),
        ("192.0.2.1", "192.0.2.0/24"),
    ] {
        let (_, hit) = lookup(&db, addr);
        assert!(hit.is_empty(), "{addr}: {hit:?}");
        assert_eq!(hit.network.to_string(), network, "{addr}");
    }
    let (ip, hit) = lookup(&db, "::1");
    assert!(hit.is_empty());
    assert!(hit.network.contains(&ip));
}

#[test]
fn record_and_description() {
    let db = db();
    let ip: IpAddr = "175.192.0.1".parse().expect("addr");
    assert_eq!(
        db.record_json(ip),
        serde_json::json!({"country_code": "KR"})
    );
    let text = db.describe(ip);
    assert!(text.contains("network:      175.192.0.0/10"), "{text}");
    assert!(
        text.contains("continent:    AS (Asia, derived from the country)"),
        "{text}"
    );
    assert!(text.contains("type:         country ipvAll"), "{text}");
}

/// Every country code in the file has a continent in our table (so `continent:` keys work for
/// every address the database knows). Reads the whole tree: a few seconds in a debug build.
#[test]
fn every_country_in_the_database_has_a_continent() {
    let bytes = std::fs::read(path()).expect("read");
    let reader = maxminddb::Reader::from_source(bytes).expect("opens");
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for item in reader.networks(Default::default()).expect("networks") {
        let item = item.expect("network");
        let record: Option<BTreeMap<String, String>> = item.decode().expect("record");
        if let Some(code) = record.as_ref().and_then(|r| r.get("country_code")) {
            *counts.entry(code.clone()).or_default() += 1;
        }
    }
    assert!(counts.len() > 240, "only {} countries", counts.len());
    let unknown: Vec<&String> = counts
        .keys()
        .filter(|c| !CountryCode::parse(c).is_ok_and(CountryCode::is_known))
        .collect();
    assert!(unknown.is_empty(), "codes without a continent: {unknown:?}");
}
