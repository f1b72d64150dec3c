//! `steerdns plan` (SPEC 6.1) against a running daemon serving the shipped example, and
//! offline against another folder: what a weight change and a drain would move, the JSON,
//! invalid files, nothing to compare against, and nothing swapped.

mod common;

use common::http::Http;
use common::*;
use serde_json::Value;

const ZONE_FILE: &str = "gslb.example.test.toml";

fn shipped_zone() -> String {
    std::fs::read_to_string(repo().join("zones").join(ZONE_FILE)).expect("read shipped zone")
}

/// The shipped example with its zone in the daemon's folder, so the test can edit it; only
/// 127.0.0.1 is trusted on the admin listener.
fn shipped_daemon() -> Daemon {
    Setup::shipped()
        .config("[zones]\ndirectory = \"zones\"\n[metrics]\ntrusted = [\"127.0.0.1/32\"]")
        .zone_text(ZONE_FILE, &shipped_zone())
        .start()
}

fn weights(eu_west: u32, canary: u32) -> String {
    let zone = shipped_zone();
    let with = zone
        .replace(
            "endpoints = [\"127.0.0.20\"]\nweight = 95",
            &format!("endpoints = [\"127.0.0.20\"]\nweight = {eu_west}"),
        )
        .replace(
            "endpoints = [\"127.0.0.21\"]\nweight = 5 ",
            &format!("endpoints = [\"127.0.0.21\"]\nweight = {canary} "),
        );
    assert_ne!(with, zone, "the shipped zone has the weights 95 and 5");
    with
}

/// `plan --json` against the daemon: (exit code, the JSON).
fn plan_json(d: &Daemon) -> (i32, Value) {
    let config = d.config.to_string_lossy().into_owned();
    let (code, out, err) = run(&["plan", "-c", &config, "--json"], d.dir.path());
    let json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}{err}"));
    (code, json)
}

/// The plan of service `www`, map key `continent:EU`, `family`.
fn eu_key<'a>(plan: &'a Value, family: &str) -> &'a Value {
    plan["zones"][0]["services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|s| s["service"] == "www")
        .and_then(|s| {
            s["keys"]
                .as_array()?
                .iter()
                .find(|k| k["key"] == "continent:EU" && k["family"] == family)
        })
        .unwrap_or_else(|| panic!("www continent:EU {family} in {plan:#}"))
}

#[test]
fn plan_of_a_weight_change_and_a_drain_against_the_running_daemon() {
    let d = shipped_daemon();

    // 95/5 -> 90/10: about 5% of the tier's subnets move eu-west -> eu-canary.
    d.write_zone_text(ZONE_FILE, &weights(90, 10));
    let (code, plan) = plan_json(&d);
    assert_eq!(code, 0);
    assert_eq!(plan["outcome"], "computed");
    assert!(
        plan["health"].as_str().unwrap().starts_with("live"),
        "{plan:#}"
    );
    for family in ["ipv4", "ipv6"] {
        let k = eu_key(&plan, family);
        let moves = k["moves"].as_array().unwrap();
        assert_eq!(moves.len(), 1, "{k:#}");
        assert_eq!(moves[0]["from"], "eu-west");
        assert_eq!(moves[0]["to"], "eu-canary");
        let share = moves[0]["share"].as_f64().unwrap();
        assert!((share - 0.05).abs() < 0.015, "{family}: {share}");
        assert!(moves[0]["margin"].as_f64().unwrap() < 0.01);
    }
    // The text says the same, with the margin.
    let config = d.config.to_string_lossy().into_owned();
    let (code, text, err) = run(&["plan", "-c", &config], d.dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(
        text.lines().any(|l| l.contains("continent:EU: ")
            && l.contains("of subnets move eu-west -> eu-canary (±")),
        "{text}"
    );
    assert!(
        text.contains("1 other service(s): steering unchanged"),
        "{text}"
    );
    // Nothing was swapped.
    assert!(d.http_get("/healthz").contains("generation 1"));

    // Drain eu-west: its whole share moves (to us-east: eu-canary is a canary, rule 4a).
    let drained = shipped_zone().replace(
        "[region.eu-west]\nstate = \"active\"",
        "[region.eu-west]\nstate = \"drain\"",
    );
    d.write_zone_text(ZONE_FILE, &drained);
    let (code, plan) = plan_json(&d);
    assert_eq!(code, 0);
    let k = eu_key(&plan, "ipv4");
    let before = k["shares"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["region"] == "eu-west")
        .unwrap();
    assert_eq!(before["after"], 0.0);
    let moves = k["moves"].as_array().unwrap();
    assert_eq!(moves.len(), 1, "{k:#}");
    assert_eq!(
        (&moves[0]["from"], &moves[0]["to"]),
        (&"eu-west".into(), &"us-east".into())
    );
    assert_eq!(
        moves[0]["share"], before["before"],
        "the drained region's whole share"
    );
    // api's EU key goes from eu-west to us-east whole.
    let api = plan["zones"][0]["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "api")
        .expect("api changes too");
    let api_eu = api["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == "continent:EU" && k["family"] == "ipv4")
        .unwrap();
    assert_eq!(api_eu["moves"][0]["share"], 1.0);

    // Invalid files: exit 1 with file:line; the daemon keeps serving generation 1.
    d.write_zone_text(
        ZONE_FILE,
        &shipped_zone().replace("weight = 95", "weight = \"x\""),
    );
    let (code, out, err) = run(&["plan", "-c", &config], d.dir.path());
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains(&format!("{ZONE_FILE}:")), "{err}");
    let (code, plan) = plan_json(&d);
    assert_eq!((code, plan["outcome"].as_str()), (1, Some("invalid")));
    assert!(d.http_get("/healthz").contains("generation 1"));

    // The admin access rule covers /v1/plan: an untrusted client is refused.
    let r = Http::post("/v1/plan").from("127.0.0.2").send(d.metrics);
    assert_eq!(r.status, 403, "{r:?}");
    let r = Http::get("/v1/plan").send(d.metrics);
    assert_eq!(r.status, 405, "{r:?}");
}

#[test]
fn plan_offline_against_another_folder_and_nothing_to_compare_against() {
    let d = shipped_daemon();
    d.write_zone_text(ZONE_FILE, &weights(90, 10));
    let config = d.config.to_string_lossy().into_owned();
    // Against the repository's own files (the shipped 95/5).
    let repo_dir = repo().to_string_lossy().into_owned();
    let (code, out, err) = run(
        &["plan", "-c", &config, "--against", &repo_dir, "--json"],
        d.dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    assert!(plan["health"].as_str().unwrap().contains("offline"));
    let moves = eu_key(&plan, "ipv4")["moves"].as_array().unwrap().clone();
    assert_eq!(moves.len(), 1);
    assert_eq!(moves[0]["from"], "eu-west");

    // Nothing to compare against: exit 2.
    let (code, _, err) = run(
        &["plan", "-c", &config, "--against", "/nonexistent/steerdns"],
        d.dir.path(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot load"), "{err}");
    let (code, _, err) = run(
        &["plan", "-c", &config, "--server", "127.0.0.1:1"],
        d.dir.path(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot reach"), "{err}");
}
