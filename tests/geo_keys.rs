//! `subdivision:` keys against real GeoIP data (SPEC section 3): the most specific
//! subdivision of a record wins (GB-LND over GB-ENG), and a database without subdivision
//! data gets a warning naming every such key, since it would never match.

mod common;

use common::*;
use hickory_proto::rr::RecordType;
use steerdns_mmdb_writer::{test_database_country_code, test_database_geoip2};

/// `www`: default `other`; England `eng`; London `lnd` (the sample database has
/// 81.2.69.0/24 in GB-ENG and GB-LND, in that order).
fn zone() -> Zone {
    Zone::new("sub.test.").toml(
        r#"
[region.other]
[region.eng]
[region.lnd]
[map.m]
default = "other"
"subdivision:GB-ENG" = "eng"
"subdivision:GB-LND" = "lnd"
[service.www]
map = "m"
[service.www.region.other]
endpoints = ["127.0.1.1"]
[service.www.region.eng]
endpoints = ["127.0.1.2"]
[service.www.region.lnd]
endpoints = ["127.0.1.3"]
"#,
    )
}

#[test]
fn the_most_specific_subdivision_wins() {
    let d = Setup::new()
        .zone(&zone())
        .file("geo.mmdb", &test_database_geoip2())
        .config("[geoip]\ndatabase = \"geo.mmdb\"")
        .start();
    let m = d.udp(Query::new("www.sub.test.", RecordType::A).ecs("81.2.69.0", 24));
    assert_eq!(addrs(&m), ["127.0.1.3"], "London, not England");
    let t = Http::get("/v1/explain?name=www.sub.test.&client=81.2.69.0/24")
        .send(d.metrics)
        .json();
    assert_eq!(t["map_key"], "subdivision:GB-LND", "{t}");
    assert_eq!(
        t["geo"]["subdivision"],
        serde_json::json!(["GB-ENG", "GB-LND"])
    );
    // A client in neither: the default.
    let m = d.udp(Query::new("www.sub.test.", RecordType::A).ecs("175.192.0.0", 16));
    assert_eq!(addrs(&m), ["127.0.1.1"]);
}

/// `steerdns check` of the zone with `db` as the database: (exit code, stderr).
fn check_with(db: &[u8]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    std::fs::write(dir.path().join("geo.mmdb"), db).unwrap();
    std::fs::write(
        dir.path().join("steerdns.toml"),
        "[geoip]\ndatabase = \"geo.mmdb\"\n",
    )
    .unwrap();
    let zone = zone();
    std::fs::write(
        dir.path().join("zones").join(zone.file_name()),
        zone.to_string(),
    )
    .unwrap();
    let (code, _, err) = run(&["check", "-c", "steerdns.toml"], dir.path());
    (code, err)
}

#[test]
fn subdivision_keys_are_warned_about_when_the_database_has_none() {
    // Country-only data (the shipped database's schema): a warning per key, with its line.
    let (code, err) = check_with(&test_database_country_code());
    assert_eq!(code, 0, "a warning, not an error: {err}");
    let text = zone().to_string();
    for key in ["subdivision:GB-ENG", "subdivision:GB-LND"] {
        let line = text
            .lines()
            .position(|l| l.starts_with(&format!("\"{key}\"")))
            .unwrap()
            + 1;
        assert!(
            err.lines().any(|l| l.starts_with(&format!(
                "zones/sub.test.toml:{line}: warning: map key \"{key}\""
            )) && l.contains("has no subdivision data")),
            "{key}: {err}"
        );
    }
    // A City database: no warning.
    let (code, err) = check_with(&test_database_geoip2());
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("subdivision"), "{err}");
}
