//! A real Prometheus (Debian's `prometheus`) scrapes steerdns's `/metrics`: the exposition
//! parses, and the counters it stores are the queries the test sent. This also checks the
//! Prometheus launcher in `common/external.rs`, which the rollout gate tests use.

mod common;

use std::time::{Duration, Instant};

use common::external::{Prometheus, prometheus_scrape_config};
use common::*;
use hickory_proto::rr::RecordType;

fn zone() -> Zone {
    Zone::new("prom.test.")
        .record("www", "A", &["127.0.0.80"])
        .regions(&["one"])
        .service("api", "one", &[("one", &["127.0.0.81"])])
}

#[test]
fn prometheus_scrapes_steerdns_metrics() {
    let d = Daemon::start(&zone());
    let Some(prom) = Prometheus::start(&prometheus_scrape_config("steerdns", &[d.metrics], "1s"))
    else {
        return;
    };
    for _ in 0..5 {
        let m = d.udp(Query::new("www.prom.test.", RecordType::A));
        assert_eq!(addrs(&m), ["127.0.0.80"]);
    }
    for _ in 0..2 {
        let m = d.udp(Query::new("api.prom.test.", RecordType::A));
        assert_eq!(addrs(&m), ["127.0.0.81"]);
    }
    let queries = r#"sum(steerdns_queries_total{job="steerdns",zone="prom.test",rcode="NOERROR"})"#;
    let steered =
        r#"steerdns_steered_total{zone="prom.test",service="api",region="one",reason="geo"}"#;
    // Bounded: scrapes run every second once Prometheus has started its scrape loop.
    let started = Instant::now();
    loop {
        let (q, s) = (prom.query_value(queries), prom.query_value(steered));
        if q == Some(7.0) && s == Some(2.0) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "Prometheus has {q:?} queries and {s:?} steered answers, want 7 and 2; its log:\n{}",
            prom.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(prom.query_value(r#"up{job="steerdns"}"#), Some(1.0));
    assert_eq!(prom.query_value("steerdns_config_generation"), Some(1.0));
}
