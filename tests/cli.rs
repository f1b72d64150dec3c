//! The command line on the shipped example: explain (text and JSON), geoip, reload errors.

mod common;

use common::{repo, run};

/// `steerdns explain NAME --client CLIENT [extra...]` on the shipped example:
/// (exit code, stdout, stderr).
fn explain(name: &str, client: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["explain", name, "--client", client];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-c", "steerdns.toml"]);
    run(&args, &repo())
}

#[test]
fn explain_text_and_json_on_the_shipped_example() {
    let (code, out, err) = explain("www.gslb.example.test", "81.2.69.160", &[]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "continent:EU",
        "eu-west",
        "eu-canary",
        "weight 5",
        "country=GB",
        "scope:    /24",
    ] {
        assert!(out.contains(want), "{want:?} missing in:\n{out}");
    }
    let (code, out, err) = explain(
        "www.gslb.example.test",
        "175.192.0.0/16",
        &["-t", "AAAA", "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    for key in [
        "client",
        "client_source",
        "geo",
        "map_key",
        "tiers",
        "region",
        "reason",
        "endpoints",
        "ttl",
        "scope",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    assert_eq!(v["client_source"], "ecs");
    assert_eq!(v["geo"]["country"], "KR");
    assert_eq!(v["map_key"], "country:KR");
    assert_eq!(v["region"], "us-east");
    assert_eq!(v["reason"], "failover");
    assert_eq!(v["endpoints"], serde_json::json!(["::1"]));
    assert_eq!(v["tiers"][0][0]["state"], "drain");
    assert_eq!(
        v["scope"], 10,
        "the /10 GeoIP network, capped by nothing (source /16)"
    );
}

#[test]
fn explain_and_geoip_errors_are_plain() {
    let (code, _, err) = explain("static.gslb.example.test", "1.2.3.4", &[]);
    assert_eq!(code, 1);
    assert!(err.contains("not a steered name"), "{err}");
    let (code, _, err) = explain("www.gslb.example.test", "nonsense", &[]);
    assert_eq!(code, 1);
    assert!(err.contains("--client"), "{err}");
    let (code, out, _) = run(&["geoip", "81.2.69.160", "-c", "steerdns.toml"], &repo());
    assert_eq!(code, 0);
    assert!(out.contains("GB") && out.contains("81.2.64.0/18"), "{out}");
}

#[test]
fn reload_without_a_daemon_says_why() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("steerdns.toml"),
        "[server]\npid_file = \"nope.pid\"\n",
    )
    .unwrap();
    let (code, _, err) = run(&["reload", "-c", "steerdns.toml"], dir.path());
    assert_eq!(code, 1);
    assert!(err.contains("nope.pid"), "{err}");
}
