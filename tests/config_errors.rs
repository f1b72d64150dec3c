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

/// The 1-based line of the first line of `text` that starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starts with {prefix:?} in:\n{text}"))
        + 1
}

/// Asserts `err` has a line `zones/ok.toml:<line of prefix>: ...` containing every `part`.
fn assert_error_at(err: &str, zone: &str, prefix: &str, parts: &[&str]) {
    let place = format!("zones/ok.toml:{}: ", line_of(zone, prefix));
    assert!(
        err.lines()
            .any(|l| l.starts_with(&place) && parts.iter().all(|p| l.contains(p))),
        "no line at {place} with {parts:?} in:\n{err}"
    );
}

#[test]
fn map_keys_that_can_never_match_are_errors_with_the_fix() {
    let zone = good_zone()
        .toml(
            r#"
[region.r]
[map.m]
default = "r"
"country:UK" = "r"
"country:QQ" = "r"
"country:USA" = "r"
"continent:GB" = "r"
"continent:XX" = "r"
"subdivision:US_CA" = "r"
"subdivision:QQ-CA" = "r"
"net:10.1.2.3/8" = "r"
"net:10.9.9.9" = "r"
"country:GB" = "r"
"subdivision:GB-LND" = "r"
"net:10.0.0.0/8" = "r"
[service.www]
map = "m"
[service.www.region.r]
endpoints = ["127.0.0.1"]
"#,
        )
        .to_string();
    let (code, _, err) = check("[geoip]\ndatabase = \"db.mmdb\"\n", &[("ok.toml", &zone)]);
    assert_eq!(code, 1, "{err}");
    for (prefix, parts) in [
        (
            "\"country:UK\"",
            &[
                "\"UK\" is not an ISO 3166-1 alpha-2 country code",
                "did you mean \"country:GB\"?",
            ][..],
        ),
        (
            "\"country:QQ\"",
            &["\"QQ\" is not an ISO 3166-1 alpha-2 country code"],
        ),
        ("\"country:USA\"", &["country codes have two letters"]),
        (
            "\"continent:GB\"",
            &[
                "continent must be one of AF AN AS EU NA OC SA",
                "GB is a country: \"country:GB\"",
            ],
        ),
        ("\"continent:XX\"", &["continent must be one of"]),
        (
            "\"subdivision:US_CA\"",
            &[
                "ISO 3166-2 code such as US-CA",
                "write \"subdivision:US-CA\"",
            ],
        ),
        (
            "\"subdivision:QQ-CA\"",
            &["QQ is not an ISO 3166-1 alpha-2 country code"],
        ),
        (
            "\"net:10.1.2.3/8\"",
            &["host bits are set", "the network is \"net:10.0.0.0/8\""],
        ),
        (
            "\"net:10.9.9.9\"",
            &["is not a CIDR network", "\"net:10.9.9.9/32\""],
        ),
    ] {
        assert_error_at(&err, &zone, prefix, parts);
    }
    // The good keys are not complained about.
    for good in [
        "\"country:GB\"",
        "\"subdivision:GB-LND\"",
        "\"net:10.0.0.0/8\"",
    ] {
        let place = format!("zones/ok.toml:{}:", line_of(&zone, good));
        assert!(!err.contains(&place), "{good}: {err}");
    }
}

#[test]
fn ttls_are_at_most_2147483647() {
    let zone = "origin = \"ok.test.\"\nttl = 2147483648\n[soa]\nmname = \"ns1\"\nrname = \"h\"\nserial = 1\nminimum = \"25000d\"\n[[record]]\nname = \"a\"\ntype = \"A\"\nttl = 4294967295\ndata = [\"127.0.0.1\"]\n[region.r]\n[service.www]\nttl = 2147483648\ngeo = { default = \"r\" }\n[service.www.region.r]\nendpoints = [\"127.0.0.1\"]\n";
    let (code, _, err) = check("", &[("ok.toml", zone)]);
    assert_eq!(code, 1, "{err}");
    assert_error_at(
        &err,
        zone,
        "ttl = 2147483648",
        &["ttl 2147483648 is too large", "at most 2147483647"],
    );
    assert_error_at(
        &err,
        zone,
        "ttl = 4294967295",
        &["ttl 4294967295 is too large"],
    );
    assert_error_at(
        &err,
        zone,
        "minimum = ",
        &["minimum 2160000000 s is too large"],
    );
    assert!(
        err.lines().filter(|l| l.contains("is too large")).count() >= 4,
        "the service's ttl too:\n{err}"
    );
    // The largest TTL is fine.
    let ok = zone
        .replace("2147483648", "2147483647")
        .replace("4294967295", "2147483647")
        .replace("25000d", "1h");
    let (code, _, err) = check("", &[("ok.toml", &ok)]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn rate_limit_zero_and_absurd_worker_counts_are_refused() {
    let main = "[server]\nworkers = 100000\n[rrl]\nresponses_per_second = 0\n";
    let (code, _, err) = check(main, &[("ok.toml", &good_zone().to_string())]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("steerdns.toml:2: workers 100000 is too many: at most 256"),
        "{err}"
    );
    assert!(
        err.contains("steerdns.toml:4: responses_per_second must be at least 1")
            && err.contains("enabled = false"),
        "{err}"
    );
    let (code, _, err) = check(
        "[server]\nworkers = 256\n[rrl]\nresponses_per_second = 1\n",
        &[("ok.toml", &good_zone().to_string())],
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn serials_durations_and_tier_strings_say_how_to_write_them() {
    let zone = "origin = \"ok.test.\"\n[soa]\nmname = \"ns1\"\nrname = \"h\"\nserial = -1\n";
    let (code, _, err) = check("", &[("ok.toml", zone)]);
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "zones/ok.toml:5: serial -1: a serial is a number from 0 to 4294967295, or \"auto\""
        ),
        "{err}"
    );
    assert!(!err.contains("untagged"), "{err}");
    let zone = zone.replace("-1", "\"tomorrow\"");
    let (_, _, err) = check("", &[("ok.toml", &zone)]);
    assert!(
        err.contains("zones/ok.toml:5: serial \"tomorrow\": a serial is a number"),
        "{err}"
    );

    let (code, _, err) = check(
        "[server]\ntcp_idle_timeout = 10\n",
        &[("ok.toml", &good_zone().to_string())],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "steerdns.toml:2: a duration is a string with a unit: write \"10s\" for 10 seconds"
        ),
        "{err}"
    );
    let zone = good_zone().toml("[check]\nweb = { kind = \"tcp\", port = 80, interval = 5 }\n");
    let (_, _, err) = check_zone(&zone);
    assert!(err.contains("write \"5s\" for 5 seconds"), "{err}");

    let zone = good_zone()
        .toml("[region.a]\n[region.b]\n[service.www]\ngeo = { default = \"a < b\" }\n[service.www.region.a]\nendpoints = [\"127.0.0.1\"]\n[service.www.region.b]\nendpoints = [\"127.0.0.2\"]\n");
    let (code, _, err) = check_zone(&zone);
    assert_eq!(code, 1);
    assert!(
        err.contains("has character '<'") && err.contains("separated by \">\""),
        "{err}"
    );
}

#[test]
fn one_message_per_problem() {
    // An undefined check named once by the service and used by its four regions.
    let zone = good_zone().toml(
        "[region.a]\n[region.b]\n[region.c]\n[region.d]\n[service.www]\ncheck = \"nope\"\ngeo = { default = \"a, b, c, d\" }\n[service.www.region.a]\nendpoints = [\"127.0.0.1\"]\n[service.www.region.b]\nendpoints = [\"127.0.0.2\"]\n[service.www.region.c]\nendpoints = [\"127.0.0.3\"]\n[service.www.region.d]\nendpoints = [\"127.0.0.4\"]\n",
    );
    let (code, _, err) = check_zone(&zone);
    assert_eq!(code, 1);
    assert_eq!(
        err.lines()
            .filter(|l| l.contains("check \"nope\" is not defined"))
            .count(),
        1,
        "{err}"
    );
    assert!(err.contains("configuration has 1 error(s)"), "{err}");
}

#[test]
fn a_missing_geoip_database_names_the_config_line_and_the_os_reason() {
    let (code, _, err) = check(
        "[server]\nworkers = 1\n[geoip]\ndatabase = \"geoip/missing.mmdb\"\n",
        &[("ok.toml", &good_zone().to_string())],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.lines().any(|l| l.starts_with("steerdns.toml:4: [geoip] database: ")
            && l.contains("cannot read GeoIP database geoip/missing.mmdb: No such file or directory (os error 2)")),
        "{err}"
    );
}

/// The line (1-based) of the `nth` line of `text` that contains `needle`.
fn line_in(text: &str, needle: &str, nth: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(nth)
        .map(|(i, _)| i + 1)
        .unwrap_or_else(|| panic!("{needle} not in the zone"))
}

#[test]
fn rollout_problems_are_reported_with_their_lines() {
    // Each service's rollout has one problem; the lines are those of this text.
    let zone = Zone::new("ok.test.").toml(
        r#"[region.main]
[region.canary]
canary = true
[region.plain]
[service.a]
geo = { default = "main, canary" }
[service.a.region.main]
endpoints = ["127.0.0.20"]
[service.a.region.canary]
endpoints = ["127.0.0.21"]
[service.a.rollout]
region = "nowhere"
steps = ["5% 1h", "100%"]
[service.b]
geo = { default = "main, plain" }
[service.b.region.main]
endpoints = ["127.0.0.20"]
[service.b.region.plain]
endpoints = ["127.0.0.22"]
[service.b.rollout]
region = "plain"
steps = ["5% 1h", "100%"]
[service.c]
geo = { default = "main, canary" }
[service.c.region.main]
endpoints = ["127.0.0.20"]
[service.c.region.canary]
endpoints = ["127.0.0.21"]
[service.c.rollout]
region = "canary"
steps = ["5% 1h", "5% 2h", "100%", "7 1h"]
gate_interval = "soon"
[[service.c.rollout.gate]]
kind = "prometheus"
url = "ftp://127.0.0.1:9090"
query = "up"
max = 0.5
[[service.c.rollout.gate]]
kind = "prometheus"
[[service.c.rollout.gate]]
kind = "health"
max = 1.0
[service.d]
geo = { default = "main, canary", "net:10.0.0.0/8" = "canary, main, plain" }
[service.d.region.main]
endpoints = ["127.0.0.20"]
[service.d.region.plain]
endpoints = ["127.0.0.22"]
[service.d.region.canary]
endpoints = ["127.0.0.21"]
[service.d.rollout]
region = "canary"
steps = ["5% 1h", "100%"]
on_failure = "panic"
"#,
    );
    let text = zone.to_string();
    let line_of = |needle: &str, nth: usize| line_in(&text, needle, nth);
    let (code, _, err) = check_zone(&zone);
    assert_eq!(code, 1, "{err}");
    // on_failure = "panic" is a parse error (serde stops at it): check it alone first.
    assert!(
        err.contains(&format!(
            "ok.toml:{}:",
            line_of("on_failure = \"panic\"", 0)
        )) && err.contains("rollback"),
        "{err}"
    );
    let zone = Zone::new("ok.test.")
        .toml(&text[text.find("[region.main]").unwrap()..].replace("on_failure = \"panic\"\n", ""));
    let text = zone.to_string();
    let line_of = |needle: &str, nth: usize| line_in(&text, needle, nth);
    let (code, _, err) = check_zone(&zone);
    assert_eq!(code, 1, "{err}");
    for (line, words) in [
        (
            line_of("region = \"nowhere\"", 0),
            "is not a region of this service",
        ),
        (line_of("region = \"plain\"", 0), "is not a canary"),
        (line_of("\"7 1h\"", 0), "share must end in %"),
        (line_of("gate_interval = \"soon\"", 0), "soon"),
        (line_of("url = \"ftp:", 0), "not an http:// or https:// URL"),
        (line_of("[[service.c.rollout.gate]]", 1), "needs url"),
        (
            line_of("[[service.c.rollout.gate]]", 2),
            "takes no url, query or max",
        ),
        (
            line_of("region = \"canary\"", 1),
            "tiers that weigh differently",
        ),
    ] {
        assert!(
            err.lines()
                .any(|l| l.contains(&format!("ok.toml:{line}:")) && l.contains(words)),
            "no line {line} error with {words:?} in:\n{err}"
        );
    }
    // Shares that do not rise are checked once every step parses.
    let zone = Zone::new("ok.test.").toml(
        r#"[region.main]
[region.canary]
canary = true
[service.a]
geo = { default = "main, canary" }
[service.a.region.main]
endpoints = ["127.0.0.20"]
[service.a.region.canary]
endpoints = ["127.0.0.21"]
[service.a.rollout]
region = "canary"
steps = ["5% 1h", "5% 2h", "100%"]
"#,
    );
    let (code, _, err) = check_zone(&zone);
    assert_eq!(code, 1);
    assert!(err.contains("shares must rise"), "{err}");
}
