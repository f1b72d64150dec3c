//! Config errors are reported with file, line and problem by `steerdns check`, all at once,
//! with exit status 1.

mod common;

use common::run;

fn write(dir: &std::path::Path, main: &str, zones: &[(&str, &str)]) {
    std::fs::create_dir_all(dir.join("zones")).unwrap();
    std::fs::write(dir.join("steerdns.toml"), main).unwrap();
    for (name, text) in zones {
        std::fs::write(dir.join("zones").join(name), text).unwrap();
    }
}

const GOOD_ZONE: &str = r#"
origin = "ok.test."
[soa]
mname = "ns1.ok.test."
rname = "hostmaster.ok.test."
serial = 1
"#;

#[test]
fn valid_config_passes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "", &[("ok.toml", GOOD_ZONE)]);
    let (code, out, err) = run(&["check", "-c", "steerdns.toml"], dir.path());
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
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "[server]\nworkers = 1\nlistn = [\"127.0.0.1:53\"]\n",
        &[("ok.toml", GOOD_ZONE)],
    );
    let (code, _, err) = run(&["check", "-c", "steerdns.toml"], dir.path());
    assert_eq!(code, 1);
    assert!(
        err.contains("steerdns.toml:3:") && err.contains("listn"),
        "{err}"
    );
}

#[test]
fn every_zone_error_is_reported_with_its_line() {
    let zone = r#"origin = "bad.test."
[soa]
mname = "ns1.bad.test."
rname = "hostmaster.bad.test."
serial = 1

[[record]]
name = "www"
type = "A"
data = ["300.1.2.3"]

[[record]]
name = "x.other.test."
type = "A"
data = ["127.0.0.1"]

[[record]]
name = "c"
type = "CNAME"
data = ["www.bad.test."]

[[record]]
name = "c"
type = "TXT"
data = ["\"also here\""]

[region.r1]

[map.m]
default = "r1 > nowhere"
"country:KR" = "r1 >"

[service.s]
map = "m"
[service.s.region.r1]
endpoints = ["127.0.0.1", "not-an-ip"]
weight = 10

[check.c1]
kind = "http"
interval = "1s"
timeout = "2s"
"#;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "", &[("bad.toml", zone)]);
    let (code, _, err) = run(&["check", "-c", "steerdns.toml"], dir.path());
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
    let dir = tempfile::tempdir().unwrap();
    let broken = "origin = \"broken.test.\"\n[soa\nmname = 1\n";
    write(
        dir.path(),
        "",
        &[
            ("a.toml", GOOD_ZONE),
            ("b.toml", GOOD_ZONE),
            ("c.toml", broken),
        ],
    );
    let (code, _, err) = run(&["check", "-c", "steerdns.toml"], dir.path());
    assert_eq!(code, 1);
    assert!(
        err.contains("b.toml") && err.contains("also defined in"),
        "{err}"
    );
    assert!(err.contains("c.toml:2:"), "{err}");
}

#[test]
fn geo_keys_need_a_database_and_bad_keys_are_named() {
    let zone = format!(
        "{GOOD_ZONE}\n[region.r]\n[service.www]\ngeo = {{ default = \"r\", \"continent:XX\" = \"r\", \"planet:earth\" = \"r\" }}\n[service.www.region.r]\nendpoints = [\"127.0.0.1\"]\n"
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "", &[("ok.toml", &zone)]);
    let (code, _, err) = run(&["check", "-c", "steerdns.toml"], dir.path());
    assert_eq!(code, 1);
    assert!(err.contains("continent must be one of"), "{err}");
    assert!(err.contains("unknown kind \"planet\""), "{err}");
}

#[test]
fn cname_region_check_target_becomes_a_checked_endpoint() {
    let zone = format!(
        "{GOOD_ZONE}\n[check.web]\nkind = \"tcp\"\nport = 443\ninterval = \"1s\"\ntimeout = \"500ms\"\n[region.cdn]\n[region.origin]\n[service.www]\ngeo = {{ default = \"cdn > origin\" }}\ncheck = \"web\"\n[service.www.region.cdn]\ncname = \"edge.cdn.example.\"\ntarget = \"127.0.0.77\"\n[service.www.region.origin]\nendpoints = [\"127.0.0.78\", \"::1\"]\n"
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "", &[("ok.toml", &zone)]);
    let (code, out, err) = run(&["check", "-c", "steerdns.toml"], dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3 checked endpoint(s)"), "{out}");
}

#[test]
fn reuse_connection_is_only_for_http_checks() {
    let zone = format!(
        "{GOOD_ZONE}\n[check.t]\nkind = \"tcp\"\nport = 80\nreuse_connection = true\n[check.h]\nkind = \"http\"\nreuse_connection = true\n"
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "", &[("ok.toml", &zone)]);
    let (code, _, err) = run(&["check", "-c", "steerdns.toml"], dir.path());
    assert_eq!(code, 1);
    assert!(
        err.contains("check t: reuse_connection is only for kind = \"http\""),
        "{err}"
    );
    assert!(!err.contains("check h:"), "{err}");
}
