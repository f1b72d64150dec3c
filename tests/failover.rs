//! Health-driven failover over the wire: real HTTP servers on loopback addresses that the
//! test turns bad and good again; the daemon's answers move to the next tier and back, the
//! metrics follow, and a restart keeps a dead region dead (state file).

mod common;

use std::time::{Duration, Instant};

use common::backend::Backend;
use common::*;
use hickory_proto::rr::RecordType;

fn zone(port: u16) -> Zone {
    let check = HttpCheck {
        interval: "200ms",
        timeout: "100ms",
        rise: 3,
        fall: 2,
    };
    Zone::failover_www("hc.test.", port, check, "127.0.0.61", "127.0.0.62")
}

fn answer(d: &Daemon) -> Vec<String> {
    addrs(&d.udp(Query::new("www.hc.test.", RecordType::A)))
}

/// Polls until the answer is `want`; returns how long it took.
fn wait_for_answer(d: &Daemon, want: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    wait_for(&format!("answer {want}"), limit, || {
        (answer(d) == [want]).then(|| started.elapsed())
    })
}

#[test]
fn region_fails_over_and_comes_back_and_survives_restart() {
    let port = free_port();
    let primary = Backend::start(([127, 0, 0, 61], port).into());
    let _backup = Backend::start(([127, 0, 0, 62], port).into());
    let d = Daemon::start(&zone(port));
    assert_eq!(answer(&d), vec!["127.0.0.61"]);

    // Primary starts failing: after fall (2) x interval (200 ms) the backup tier answers.
    primary.set(503);
    let took = wait_for_answer(&d, "127.0.0.62", Duration::from_secs(5));
    eprintln!("failover took {took:?} (fall 2 x interval 200ms)");
    let m = d.metrics_text();
    assert_eq!(
        metric(
            &m,
            "steerdns_endpoint_up{zone=\"hc.test\",service=\"www\",region=\"primary\",endpoint=\"127.0.0.61\"}"
        ),
        0.0,
        "{m}"
    );
    assert!(
        metric(
            &m,
            "steerdns_health_checks_total{zone=\"hc.test\",service=\"www\",region=\"primary\",result=\"fail\"}"
        ) >= 2.0
    );
    assert!(
        metric(
            &m,
            "steerdns_steered_total{zone=\"hc.test\",service=\"www\",region=\"backup\",reason=\"failover\"}"
        ) >= 1.0
    );
    // The live explain shows it too.
    let e = d.http_get("/v1/explain?name=www.hc.test&client=192.0.2.1");
    assert!(e.contains("\"reason\": \"failover\""), "{e}");

    // Restart while the primary is still down: the state file keeps it down, so the first
    // answers go to the backup even though the primary now passes (rise 3 x 200 ms).
    let state = d.dir.path().join("steerdns.health");
    wait_for(
        "primary down in the state file",
        Duration::from_secs(2),
        || {
            std::fs::read_to_string(&state)
                .is_ok_and(|s| s.contains("down"))
                .then_some(())
        },
    );
    let mut d = d;
    d.restart(|| primary.set(200));
    assert_eq!(
        answer(&d),
        vec!["127.0.0.62"],
        "restart must not send traffic back to a dead region"
    );

    // ...and after rise passes it comes back.
    let took = wait_for_answer(&d, "127.0.0.61", Duration::from_secs(5));
    eprintln!("recovery took {took:?} (rise 3 x interval 200ms)");

    // Both down: fail open to the first tier, health ignored.
    primary.set(500);
    _backup.set(500);
    let failopen = "steerdns_steered_total{zone=\"hc.test\",service=\"www\",region=\"primary\",reason=\"failopen\"}";
    wait_for("failing open", Duration::from_secs(5), || {
        if d.metric(failopen) >= 1.0 {
            return Some(());
        }
        assert!(!answer(&d).is_empty(), "never answer empty while failing");
        None
    });
    assert_eq!(answer(&d), vec!["127.0.0.61"]);
}
