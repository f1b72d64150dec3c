//! Config errors are reported with file, line and problem by `steerdns check`, all at once,
//! with exit status 1.

mod common;

use common::{Zone, run};

/// Writes `main` as `steerdns.toml` and the zone files into a temp dir and runs
/// `steerdns check` there: (exit code, stdout, stderr).
fn check(main: &str, zones: &[(&str, &str)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    std::fs::write(dir.path().join("steerdns.toml"), main).unwrap();
    for (name, text) in zones {
        std::fs::write(dir.path().join("zones").join(name), text).unwrap();
    }
    run(&["check", "-c", "steerdns.toml"], dir.path())
}

/// A valid zone with nothing but its SOA.
fn good_zone() -> Zone {
    Zone::new("ok.test.")
}

/// `steerdns check` on the default main config and `zone` as `zones/ok.toml`.
fn check_zone(zone: &Zone) -> (i32, String, String) {
    check("", &[("ok.toml", &zone.to_string())])
}

#[test]
fn valid_config_passes() {
    let (code, out, err) = check_zone(&good_zone());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 zone(s)"), "{out}");
}

#[test]
fn shipped_example_passes_check() {
    let (code, out, err) = run(&["check", "-c", "steerdns.toml"], &common::repo());
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn unknown_key_in_main_config_names_file_and_line() {
    let (code, _, err) = check(
        "[server]\nworkers = 1\nlistn = [\"127.0.0.1:53\"]\n",
        &[("ok.toml", &good_zone().to_string())],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("steerdns.toml:3:") && err.contains("listn"),
        "{err}"
    );
}

#[test]
fn every_zone_error_is_reported_with_its_line() {
    // A zone with an error on many lines; the expected line numbers are those of the file.
    let path = common::repo().join("tests/fixtures/config_errors/bad.toml");
    let zone = std::fs::read_to_string(&path).expect("tests/fixtures/config_errors/bad.toml");
    let (code, _, err) = check("", &[("bad.toml", &zone)]);
    assert_eq!(code, 1);
    let expect = [
        ("bad.toml:10:", "300.1.2.3"),
        ("bad.toml:13:", "outside the zone"),
        ("bad.toml:17:", "CNAME beside other data"),
        ("bad.toml:30:", "\"nowhere\" is not defined"),
        ("bad.toml:31:", "empty region name"),
        ("bad.toml:36:", "not-an-ip"),
        ("bad.toml:", "timeout must be less than interval"),
    ];
    for (place, what) in expect {
        assert!(
            err.lines().any(|l| l.contains(place) && l.contains(what)),
            "missing {place} {what} in:\n{err}"
        );
    }
}

#[test]
fn duplicate_zones_and_syntax_errors() {
    let good = good_zone().to_string();
    let broken = "origin = \"broken.test.\"\n[soa\nmname = 1\n";
    let (code, _, err) = check(
        "",
        &[("a.toml", &good), ("b.toml", &good), ("c.toml", broken)],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("b.toml") && err.contains("also defined in"),
        "{err}"
    );
    assert!(err.contains("c.toml:2:"), "{err}");
}

#[test]
fn geo_keys_need_a_database_and_bad_keys_are_named() {
    let (code, _, err) = check_zone(&good_zone().toml(
        r#"
[region.r]
[service.www]
geo = { default = "r", "continent:XX" = "r", "planet:earth" = "r" }
[service.www.region.r]
endpoints = ["127.0.0.1"]
"#,
    ));
    assert_eq!(code, 1);
    assert!(err.contains("continent must be one of"), "{err}");
    assert!(err.contains("unknown kind \"planet\""), "{err}");
}

#[test]
fn cname_region_check_target_becomes_a_checked_endpoint() {
    let (code, out, err) = check_zone(&good_zone().toml(
        r#"
[check]
web = { kind = "tcp", port = 443, interval = "1s", timeout = "500ms" }
[region.cdn]
[region.origin]
[service.www]
geo = { default = "cdn > origin" }
check = "web"
[service.www.region.cdn]
cname = "edge.cdn.example."
target = "127.0.0.77"
[service.www.region.origin]
endpoints = ["127.0.0.78", "::1"]
"#,
    ));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3 checked endpoint(s)"), "{out}");
}

#[test]
fn reuse_connection_is_only_for_http_checks() {
    let (code, _, err) = check_zone(&good_zone().toml(
        r#"
[check]
t = { kind = "tcp", port = 80, reuse_connection = true }
h = { kind = "http", reuse_connection = true }
"#,
    ));
    assert_eq!(code, 1);
    assert!(
        err.contains("check t: reuse_connection is only for kind = \"http\""),
        "{err}"
    );
    assert!(!err.contains("check h:"), "{err}");
}

#[test]
fn a_cname_region_name_has_no_other_data() {
    // A CNAME region answers its CNAME for every type, so the name cannot also hold a TXT;
    // nor can the apex (SOA, NS) be a service with a CNAME region.
    let services = "[region.edge]\n[region.origin]\n[service.cdn]\ngeo = { default = \"edge > origin\" }\n[service.cdn.region.edge]\ncname = \"edge.cdn.example.\"\n[service.cdn.region.origin]\nendpoints = [\"127.0.0.78\"]\n";
    let apex = "[service.\"@\"]\ngeo = { default = \"edge\" }\n[service.\"@\".region.edge]\ncname = \"edge.cdn.example.\"\n";
    let zone = good_zone()
        .record("cdn", "TXT", &["\"x\""])
        .toml(services)
        .toml(apex);
    let (code, _, err) = check_zone(&zone);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "service cdn: region edge answers a CNAME, so cdn.ok.test. cannot also have TXT records"
        ),
        "{err}"
    );
    assert!(
        err.contains(" ok.test. cannot also have SOA records"),
        "{err}"
    );
    // Without the TXT and the apex service, the same zone passes.
    let (code, _, err) = check_zone(&good_zone().toml(services));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn net_keys_longer_than_resolvers_send_are_warned_about() {
    let zone = good_zone().toml(
        "[region.r]\n[region.s]\n[service.www]\ngeo = { default = \"r\", \"net:10.1.2.0/24\" = \"s\", \"net:10.1.2.128/25\" = \"r\", \"net:2001:db8::/56\" = \"s\", \"net:2001:db8:0:100::/64\" = \"r\" }\n[service.www.region.r]\nendpoints = [\"127.0.0.1\"]\n[service.www.region.s]\nendpoints = [\"127.0.0.2\"]\n",
    );
    let (code, out, err) = check_zone(&zone);
    // A warning, not an error: the key works for clients that ask directly.
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok:"), "{out}");
    let warnings: Vec<&str> = err.lines().collect();
    assert_eq!(warnings.len(), 2, "{err}");
    let text = zone.to_string();
    let line = text.lines().position(|l| l.starts_with("geo = ")).unwrap() + 1;
    assert!(
        warnings[0].starts_with(&format!(
            "zones/ok.toml:{line}: warning: map key \"net:10.1.2.128/25\" is longer than /24"
        )),
        "{err}"
    );
    assert!(
        warnings[1].contains("\"net:2001:db8:0:100::/64\" is longer than /56"),
        "{err}"
    );
    assert!(!err.contains("10.1.2.0/24\" is longer"), "{err}");
}

#[test]
fn probe_source_addresses_are_checked_by_family() {
    let zone = good_zone().to_string();
    let (code, _, err) = check(
        "[health]\nsource_v4 = \"::1\"\nsource_v6 = \"nonsense\"\n",
        &[("ok.toml", &zone)],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("steerdns.toml:2:") && err.contains("source_v4 ::1 is an IPv6 address"),
        "{err}"
    );
    assert!(
        err.contains("steerdns.toml:3:") && err.contains("\"nonsense\" is not an IP address"),
        "{err}"
    );
    // A production host's address passes `check` on any machine (CI); "" means none.
    let (code, _, err) = check(
        "[health]\nsource_v4 = \"192.0.2.53\"\nsource_v6 = \"\"\n",
        &[("ok.toml", &zone)],
    );
    assert_eq!(code, 0, "{err}");
}
