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
//! "After the raised value was scraped" is decided by counting the exporter's scrapes, not by
//! timing: Prometheus scrapes one target strictly one scrape after the other, so once the
//! exporter has answered three scrapes after `set`, the second of them (which read the new
//! value) has been stored.

mod common;

use std::time::{Duration, Instant};

use common::exporter::Exporter;
use common::external::{Prometheus, prometheus_scrape_config};
use common::*;
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
