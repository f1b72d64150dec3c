//! The test harness itself (`tests/common`): the example of its module doc, run for real so it
//! stays true, and the pieces a newcomer relies on (zone builder output, config merging,
//! reload outcomes, restart).

mod common;

use common::*;
use hickory_proto::rr::RecordType;

/// The example in `tests/common/mod.rs`, as written there.
#[test]
fn static_and_steered() {
    let zone = Zone::new("example.test.")
        .record("static", "A", &["127.0.0.30"])
        .regions(&["one"])
        .service("www", "one", &[("one", &["127.0.1.1"])]);
    let d = Daemon::start(&zone); // or Setup::new().zone(&zone)...start()
    let m = d.udp(Query::new("static.example.test.", RecordType::A));
    assert_eq!(answers(&m), ["static.example.test. 300 A 127.0.0.30"]);
    let m = d.tcp(Query::new("www.example.test.", RecordType::A).ecs("192.0.2.0", 24));
    assert_eq!(addrs(&m), ["127.0.1.1"]);
    assert_eq!(scope_of(&m), 0);
}

#[test]
fn zone_builder_writes_the_spec_layout() {
    let text = Zone::new("b.test.")
        .ttl(60)
        .serial(9)
        .minimum("30s")
        .record("@", "NS", &["ns1.b.test."])
        .record_ttl("t", "TXT", 5, &["\"two words\""])
        .toml("[region.r]")
        .to_string();
    let parsed: toml::Table = text.parse().expect("the builder writes TOML");
    assert_eq!(parsed["origin"].as_str(), Some("b.test."));
    assert_eq!(parsed["ttl"].as_integer(), Some(60));
    let soa = parsed["soa"].as_table().expect("[soa]");
    assert_eq!(soa["mname"].as_str(), Some("ns1.b.test."));
    assert_eq!(soa["rname"].as_str(), Some("hostmaster.b.test."));
    assert_eq!(soa["serial"].as_integer(), Some(9));
    assert_eq!(soa["minimum"].as_str(), Some("30s"));
    let records = parsed["record"].as_array().expect("[[record]]");
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["ttl"].as_integer(), Some(5));
    assert_eq!(records[1]["data"][0].as_str(), Some("\"two words\""));
    assert!(parsed["region"]["r"].is_table());
    assert_eq!(Zone::new("b.test.").file_name(), "b.test.toml");
}

#[test]
fn config_fragments_merge_and_reloads_report_their_outcome() {
    let zone = Zone::new("h.test.").record("a", "A", &["127.0.0.1"]);
    let mut d = Setup::new()
        .zone(&zone)
        .config("[server]\nnsid = \"merged\"\n[log]\nqueries = false")
        .start();
    let server = d.config_table()["server"].as_table().expect("[server]");
    assert_eq!(server["nsid"].as_str(), Some("merged"));
    assert_eq!(server["workers"].as_integer(), Some(1), "defaults kept");
    assert_eq!(d.metric("steerdns_config_generation"), 1.0);

    d.write_zone(&zone.clone().record("b", "A", &["127.0.0.2"]));
    assert_eq!(d.reload(), Reload::Applied);
    assert_eq!(
        addrs(&d.udp(Query::new("b.h.test.", RecordType::A))),
        ["127.0.0.2"]
    );

    d.write_zone_text(&zone.file_name(), "origin = \"h.test.\"\n[soa\n");
    assert_eq!(d.reload(), Reload::Rejected);
    assert_eq!(
        addrs(&d.udp(Query::new("b.h.test.", RecordType::A))),
        ["127.0.0.2"]
    );

    // Restart on a good file again: same ports, a new process, the log kept.
    let path = d.dir.path().join("zones").join(zone.file_name());
    let good = zone.to_string();
    let before = d.pid();
    d.restart(|| std::fs::write(&path, good).expect("write zone"));
    assert_ne!(d.pid(), before);
    assert_eq!(
        addrs(&d.udp(Query::new("a.h.test.", RecordType::A))),
        ["127.0.0.1"]
    );
    assert!(
        d.log().contains("reload rejected"),
        "the log survives a restart"
    );
}
