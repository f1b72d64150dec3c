//! Explain's drain timing (SPEC section 7): for a drained region of the client's map, when
//! resolver caches will have let go of it (the time of the reload that drained it + the
//! TTL, RFC 3339). Regions the client can never be sent to are not listed, and a reload that
//! changes something else does not move the time.

mod common;

use std::time::Duration;

use common::*;

/// `eu-west` in `state`; `extra` is a static record to change in unrelated reloads.
fn zone(eu_west: &str, extra: &str) -> Zone {
    Zone::new("drain.test.")
        .record("other", "A", &[extra])
        .toml(&format!(
            r#"
[region.us-east]
[region.eu-west]
state = "{eu_west}"
[region.ap]

[service.www]
ttl = 45
geo = {{ default = "us-east", "net:10.0.0.0/8" = "eu-west > ap" }}
[service.www.region.us-east]
endpoints = ["127.0.1.1"]
[service.www.region.eu-west]
endpoints = ["127.0.1.2"]
[service.www.region.ap]
endpoints = ["127.0.1.3"]
"#
        ))
}

fn explain(d: &Daemon, client: &str) -> serde_json::Value {
    let r = Http::get(&format!("/v1/explain?name=www.drain.test.&client={client}")).send(d.metrics);
    assert_eq!(r.status, 200, "{r:?}");
    r.json()
}

/// The Unix second within `range` that formats as `shown` (RFC 3339 UTC, as the daemon
/// writes it); panics when none does.
fn unix_of(shown: &serde_json::Value, range: std::ops::RangeInclusive<u64>) -> u64 {
    let shown = shown.as_str().expect("a time string");
    range
        .clone()
        .find(|&t| steerdns::timefmt::rfc3339(t) == shown)
        .unwrap_or_else(|| panic!("{shown} is not an RFC 3339 time within {range:?}"))
}

fn now() -> u64 {
    steerdns::state::now_unix()
}

#[test]
fn drain_time_is_the_draining_reload_plus_ttl_and_stays_put() {
    let d = Daemon::start(&zone("active", "127.0.0.1"));
    assert_eq!(explain(&d, "10.1.2.3")["drain"], serde_json::json!([]));

    // The reload that drains eu-west.
    d.write_zone(&zone("drain", "127.0.0.1"));
    let before = now();
    assert_eq!(d.reload(), Reload::Applied);
    let after = now();
    let t = explain(&d, "10.1.2.3");
    let drain = t["drain"].as_array().unwrap();
    assert_eq!(drain.len(), 1, "{t}");
    assert_eq!(drain[0]["region"], "eu-west");
    let since = unix_of(&drain[0]["since"], before..=after);
    assert_eq!(
        drain[0]["caches_clear_at"],
        steerdns::timefmt::rfc3339(since + 45),
        "the TTL after"
    );
    assert_eq!(t["reason"], "failover", "ap serves while eu-west drains");

    // A client whose map entry never names eu-west sees no drain line.
    let t = explain(&d, "192.0.2.1");
    assert_eq!(t["drain"], serde_json::json!([]), "{t}");

    // An unrelated reload a second later does not move the time.
    std::thread::sleep(Duration::from_millis(1100));
    d.write_zone(&zone("drain", "127.0.0.2"));
    assert_eq!(d.reload(), Reload::Applied);
    let t = explain(&d, "10.1.2.3");
    assert_eq!(t["drain"][0]["since"], drain[0]["since"], "{t}");

    // Undrained and drained again: a new time.
    d.write_zone(&zone("active", "127.0.0.2"));
    assert_eq!(d.reload(), Reload::Applied);
    assert_eq!(explain(&d, "10.1.2.3")["drain"], serde_json::json!([]));
    std::thread::sleep(Duration::from_millis(1100));
    d.write_zone(&zone("drain", "127.0.0.2"));
    assert_eq!(d.reload(), Reload::Applied);
    let again = explain(&d, "10.1.2.3");
    unix_of(&again["drain"][0]["since"], since + 1..=now());

    // The text form, live and offline.
    let (code, out, err) = run(
        &[
            "explain",
            "www.drain.test.",
            "--client",
            "10.1.2.3",
            "-c",
            "steerdns.toml",
            "--server",
            &d.metrics.to_string(),
        ],
        d.dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    let line = out.lines().find(|l| l.starts_with("drain:")).expect(&out);
    assert!(
        line.contains("eu-west: draining since 20")
            && line.contains("Z; resolver caches let go by 20")
            && line.ends_with('Z'),
        "{line}"
    );
    let (code, out, err) = run(
        &[
            "explain",
            "www.drain.test.",
            "--client",
            "10.1.2.3",
            "-c",
            "steerdns.toml",
        ],
        d.dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    let line = out.lines().find(|l| l.starts_with("drain:")).expect(&out);
    assert_eq!(
        line,
        "drain:    eu-west: resolver caches let go 45 s (the TTL) after the reload that drained it (--server shows the time)"
    );
}
