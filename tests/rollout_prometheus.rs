//! The `prometheus` rollout gate against the real Prometheus (Debian's `prometheus`, issue 13
//! item 4): Prometheus scrapes a small exporter the test controls (an error ratio), and the
//! gate reads the value back through Prometheus's HTTP API, exactly as the daemon does.
//!
//! ```text
//!  Exporter (canary_error_ratio, set by the test) ◄─scrape 1s─ Prometheus (loopback)
//!                                                                  ▲ /api/v1/query
//!                                                   PromClient::evaluate (the gate)
//! ```
//!
//! The second test runs the whole chain: a daemon ramps a canary with a `prometheus` gate on
//! that Prometheus; it advances while the ratio is low, and once the test raises it the
//! rollout rolls back (share 0, every answer over the wire off the canary) within
//! `gate_interval` + one scrape interval (+ the machine's slack).
//!
//! "After the raised value was scraped" is decided by counting the exporter's scrapes, not by
//! timing: Prometheus scrapes one target strictly one scrape after the other, so once the
//! exporter has answered three scrapes after `set`, the second of them (which read the new
//! value) has been stored.

mod common;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::exporter::Exporter;
use common::external::{Prometheus, prometheus_scrape_config};
use common::*;
use hickory_proto::rr::RecordType;
use steerdns::rollout::prometheus::PromClient;

const RATIO: &str = r#"max(canary_error_ratio{region="eu-canary"})"#;
const TIMEOUT: Duration = Duration::from_secs(5);

/// Waits until the exporter has answered `n` more scrapes than `from`.
fn wait_scrapes(e: &Exporter, from: u64, n: u64) {
    wait_for("exporter scrapes", Duration::from_secs(60), || {
        (e.scrapes() >= from + n).then_some(())
    });
}

#[test]
fn the_gate_reads_a_real_prometheus_and_fails_when_the_ratio_rises() {
    let exporter = Exporter::start("canary_error_ratio", r#"region="eu-canary""#, 0.001);
    let Some(prom) = Prometheus::start(&prometheus_scrape_config("canary", &[exporter.addr], "1s"))
    else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = PromClient::new().unwrap();
    let base = format!("http://{}", prom.addr);
    let gate = |query: &str, max: f64| rt.block_on(client.evaluate(&base, query, max, TIMEOUT));

    // Before the first scrape there is no sample: the gate fails (the safe side); after it,
    // the low ratio passes.
    let first = gate(RATIO, 0.01);
    let passing = wait_for("the gate to pass", Duration::from_secs(60), || {
        let r = gate(RATIO, 0.01);
        r.passed.then_some(r)
    });
    assert_eq!(passing.value, Some(0.001));
    assert_eq!(passing.detail, "0.001 <= max 0.01");
    if first.value.is_none() {
        assert!(!first.passed);
        assert!(first.detail.contains("no sample"), "{first:?}");
    }

    // A series Prometheus does not have, and a query it refuses: both fail the gate.
    let none = gate(r#"canary_error_ratio{region="us-east"}"#, 0.01);
    assert!(
        !none.passed && none.detail.contains("no sample"),
        "{none:?}"
    );
    let bad = gate("sum(rate((", 0.01);
    assert!(!bad.passed, "{bad:?}");
    assert!(
        bad.detail
            .starts_with("prometheus answered HTTP 400: bad_data: "),
        "{bad:?}"
    );

    // Raise the ratio: once it has been scraped, the very next evaluation fails.
    let raised = Instant::now();
    let before = exporter.scrapes();
    exporter.set(0.05);
    wait_scrapes(&exporter, before, 3);
    let failed = gate(RATIO, 0.01);
    assert!(!failed.passed, "{failed:?}");
    assert_eq!(failed.value, Some(0.05));
    assert_eq!(failed.detail, "0.05 > max 0.01");
    eprintln!(
        "gate failed {:?} after the ratio was raised ({} scrapes)",
        raised.elapsed(),
        exporter.scrapes() - before
    );

    // Lower it again: the gate passes again.
    let before = exporter.scrapes();
    exporter.set(0.002);
    wait_scrapes(&exporter, before, 3);
    let again = gate(RATIO, 0.01);
    assert!(again.passed, "{again:?}");

    // Prometheus gone: the gate fails, naming why.
    drop(prom);
    let gone = gate(RATIO, 0.01);
    assert!(!gone.passed);
    assert_eq!(gone.detail, format!("cannot reach {base}: connect refused"));
}

//------------ the daemon's rollout ----------------------------------------------------------------

const MAIN: &str = "127.0.0.20";
const CANARY: &str = "127.0.0.21";
const SUBNETS: u32 = 400;

/// Zone `gate.test`: `www` over `main` (100) and the canary `canary` in one tier, ramped
/// 5% -> 25% -> 100% with one gate: the exporter's ratio through Prometheus at `prom`.
fn zone(prom: &str, gate_interval: &str) -> Zone {
    Zone::new("gate.test.").toml(&format!(
        r#"
[region.main]
[region.canary]
canary = true
[service.www]
geo = {{ default = "main, canary" }}
ttl = 5
[service.www.region.main]
endpoints = ["{MAIN}"]
[service.www.region.canary]
endpoints = ["{CANARY}"]
weight = 5
[service.www.rollout]
region = "canary"
steps = ["5% 3s", "25% 1h", "100%"]
gate_interval = "{gate_interval}"
on_failure = "rollback"
[[service.www.rollout.gate]]
kind = "prometheus"
url = "http://{prom}"
query = '{RATIO_CANARY}'
max = 0.01
"#
    ))
}

const RATIO_CANARY: &str = r#"max(canary_error_ratio{region="canary"})"#;

/// The /24 subnets of 10.0.0.0/8 (ECS) the canary answers now.
fn on_canary(d: &Daemon) -> BTreeSet<u32> {
    let mut set = BTreeSet::new();
    for i in 0..SUBNETS {
        let subnet = Ipv4Addr::from((10u32 << 24) | (i << 8));
        let m = d.udp(Query::new("www.gate.test.", RecordType::A).ecs(&subnet.to_string(), 24));
        match addrs(&m).as_slice() {
            [x] if x == CANARY => {
                set.insert(i);
            }
            [x] if x == MAIN => {}
            other => panic!("{subnet}/24: unexpected answer {other:?}"),
        }
    }
    set
}

#[test]
fn a_rollout_advances_while_the_ratio_is_low_and_rolls_back_when_it_rises() {
    let exporter = Exporter::start("canary_error_ratio", r#"region="canary""#, 0.001);
    let Some(prom) = Prometheus::start(&prometheus_scrape_config("canary", &[exporter.addr], "1s"))
    else {
        return;
    };
    // The daemon starts once Prometheus has the low ratio, so the first evaluation passes.
    wait_for(
        "Prometheus to have the ratio",
        Duration::from_secs(60),
        || (prom.query_value(RATIO_CANARY) == Some(0.001)).then_some(()),
    );
    let gate_interval = Duration::from_secs(1);
    let d = Setup::new()
        .zone(&zone(&prom.addr.to_string(), "1s"))
        .start();

    // Low ratio: the 3 s hold passes with every evaluation passing, and the rollout advances.
    let r = wait_for("step 2", Duration::from_secs(30), || {
        let r = d.rollout();
        assert_eq!(r["phase"], "running", "{r}\n{}", d.log());
        (r["step"] == 2).then_some(r)
    });
    assert_eq!(r["share"], 0.25);
    let gate = &r["gates"][0];
    assert_eq!(gate["kind"], "prometheus");
    assert_eq!(gate["passed"], true, "{r}");
    assert_eq!(gate["value"], 0.001);
    assert_eq!(gate["detail"], "0.001 <= max 0.01");
    let at_25 = on_canary(&d);
    let got = at_25.len() as f64 / f64::from(SUBNETS);
    assert!(
        (got - 0.25).abs() < 0.1,
        "{got} of subnets on the canary at 25%"
    );

    // Raise the ratio. Prometheus has it after its next scrape; the next gate evaluation
    // fails and rolls the share to 0.
    let raised_at = now_ms();
    let scrapes = exporter.scrapes();
    exporter.set(0.05);
    let r = wait_for("rolled back", Duration::from_secs(30), || {
        let r = d.rollout();
        (r["phase"] == "rolled_back").then_some(r)
    });
    let took = r["since_unix_ms"]
        .as_u64()
        .unwrap()
        .saturating_sub(raised_at);
    eprintln!(
        "rolled back {took} ms after the ratio was raised ({} scrapes since; gate_interval \
         {gate_interval:?}, scrape interval 1s)",
        exporter.scrapes() - scrapes
    );
    // gate_interval + one scrape = 2 s; the bound allows 3 s more for a loaded machine.
    assert!(took <= 2000 + 3000, "rolled back {took} ms after the raise");
    assert_eq!(r["share"], 0.0);
    let reason = r["reason"].as_str().unwrap_or_default();
    assert_eq!(reason, "gate 1 (prometheus) failed: 0.05 > max 0.01", "{r}");
    assert_eq!(r["gates"][0]["value"], 0.05);

    // Over the wire: every subnet is off the canary.
    assert!(on_canary(&d).is_empty(), "subnets still on the canary");
    let m = d.metrics_text();
    let labels = r#"zone="gate.test",service="www",region="canary""#;
    assert_eq!(
        metric(&m, &format!("steerdns_rollout_share{{{labels}}}")),
        0.0
    );
    assert_eq!(
        metric(
            &m,
            &format!("steerdns_rollout_transitions_total{{{labels},event=\"rollback\"}}")
        ),
        1.0
    );
    let log = d.log();
    assert!(
        log.lines()
            .any(|l| l.contains("rollout rollback") && l.contains("0.05 > max 0.01")),
        "{log}"
    );

    // Rolled back stays rolled back while the ratio is low again, until the operator resumes.
    exporter.set(0.001);
    let before = exporter.scrapes();
    wait_scrapes(&exporter, before, 3);
    std::thread::sleep(gate_interval * 2);
    assert_eq!(d.rollout()["phase"], "rolled_back");
    assert!(on_canary(&d).is_empty());
}
