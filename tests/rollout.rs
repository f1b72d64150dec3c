//! Staged rollouts over the wire (SPEC 4.2): a daemon ramps a canary 1% -> 5% -> 25% -> 100%
//! with a health gate and steps of a few seconds; the test asks over DNS with ECS for many
//! /24 subnets at every step, reads `GET /v1/rollouts`, fails the canary's endpoint (a real
//! HTTP backend on loopback) mid-hold, restarts the daemon mid-ramp, and drives the rollout
//! with `steerdns rollout`.

mod common;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use common::backend::Backend;
use common::*;
use hickory_proto::rr::RecordType;

const MAIN: &str = "127.0.0.20";
const SUBNETS: u32 = 1200;

/// Zone `ro.test`: `www` over `main` (weight 100) and the canary `canary` in one tier; the
/// canary's endpoint `canary_ip` is checked over HTTP on `port` (every 250 ms, down after 2
/// failures); `rollout` is the `[service.www.rollout]` body.
fn zone(canary_ip: &str, port: u16, rollout: &str) -> Zone {
    Zone::new("ro.test.").toml(&format!(
        r#"
[check.web]
kind = "http"
path = "/healthz"
port = {port}
interval = "250ms"
timeout = "200ms"
rise = 1
fall = 2
[region.main]
[region.canary]
canary = true
[service.www]
geo = {{ default = "main, canary" }}
ttl = 5
[service.www.region.main]
endpoints = ["{MAIN}"]
weight = 100
[service.www.region.canary]
endpoints = ["{canary_ip}"]
check = "web"
weight = 5
[service.www.rollout]
{rollout}
"#
    ))
}

const RAMP: &str = r#"region = "canary"
steps = ["1% 4s", "5% 4s", "25% 4s", "100%"]
gate_interval = "1s"
on_failure = "rollback"
[[service.www.rollout.gate]]
kind = "health"
"#;

/// The /24 subnets (of 10.0.0.0/8, ECS) that the canary answers now.
fn on_canary(d: &Daemon, canary_ip: &str) -> BTreeSet<u32> {
    let mut set = BTreeSet::new();
    for i in 0..SUBNETS {
        let subnet = Ipv4Addr::from((10u32 << 24) | (i << 8));
        let m = d.udp(Query::new("www.ro.test.", RecordType::A).ecs(&subnet.to_string(), 24));
        let a = addrs(&m);
        match a.as_slice() {
            [x] if x == canary_ip => {
                set.insert(i);
            }
            [x] if x == MAIN => {}
            other => panic!("{subnet}/24: unexpected answer {other:?}"),
        }
    }
    set
}

/// Waits until the rollout is at `step` (1-based) in `phase`.
fn wait_step(d: &Daemon, step: u64, phase: &str, limit: Duration) -> serde_json::Value {
    wait_for(&format!("step {step} {phase}"), limit, || {
        let r = d.rollout();
        (r["step"] == step && r["phase"] == phase).then_some(r)
    })
}

#[test]
fn a_ramp_advances_on_time_and_a_raised_share_only_adds_subnets() {
    let port = free_port();
    let canary_ip = "127.0.0.71";
    let backend = Backend::start((canary_ip.parse::<Ipv4Addr>().unwrap(), port).into());
    let d = Setup::new().zone(&zone(canary_ip, port, RAMP)).start();

    // Every step: the share of subnets is the step's, and every subnet the canary had at the
    // step before is still on it.
    let mut previous: Option<BTreeSet<u32>> = None;
    let mut since = Vec::new();
    for (step, share) in [(1u64, 0.01), (2, 0.05), (3, 0.25)] {
        let r = wait_step(&d, step, "running", Duration::from_secs(20));
        let set = on_canary(&d, canary_ip);
        // Measured within one step.
        assert_eq!(
            d.rollout()["step"],
            step,
            "the step changed during the sweep"
        );
        let got = set.len() as f64 / f64::from(SUBNETS);
        let sigma = (share * (1.0 - share) / f64::from(SUBNETS)).sqrt();
        assert!(
            (got - share).abs() <= 4.0 * sigma + 0.003,
            "step {step}: {got} of subnets on the canary, want ~{share}"
        );
        if let Some(prev) = &previous {
            let lost: Vec<_> = prev.difference(&set).collect();
            assert!(
                lost.is_empty(),
                "step {step}: subnets left the canary: {lost:?}"
            );
        }
        eprintln!(
            "step {step}: {} of {SUBNETS} subnets on the canary",
            set.len()
        );
        previous = Some(set);
        since.push(r["since_unix_ms"].as_u64().unwrap());
        let share_metric =
            d.metric("steerdns_rollout_share{zone=\"ro.test\",service=\"www\",region=\"canary\"}");
        assert_eq!(share_metric, share);
    }
    // On time: never before the 4 s hold, and at the first gate evaluation after it (the
    // runner evaluates at the end of the hold; the bound allows for a loaded machine).
    for pair in since.windows(2) {
        let held = pair[1] - pair[0];
        assert!(
            (4000..4000 + 3000).contains(&held),
            "a step held {held} ms, want 4000 ms"
        );
    }
    let r = wait_step(&d, 4, "complete", Duration::from_secs(20));
    assert_eq!(r["share"], 1.0);
    let all = on_canary(&d, canary_ip);
    assert_eq!(
        all.len() as u32,
        SUBNETS,
        "100%: every subnet on the canary"
    );
    let m = d.metrics_text();
    for (event, n) in [("advance", 3.0), ("complete", 1.0)] {
        assert_eq!(
            metric(
                &m,
                &format!(
                    "steerdns_rollout_transitions_total{{zone=\"ro.test\",service=\"www\",region=\"canary\",event=\"{event}\"}}"
                )
            ),
            n,
            "{m}"
        );
    }
    let log = d.log();
    assert!(
        log.contains("rollout advance") && log.contains("rollout complete"),
        "{log}"
    );
    drop(backend);
}

#[test]
fn a_canary_failing_mid_hold_rolls_the_share_to_zero() {
    let port = free_port();
    let canary_ip = "127.0.0.72";
    let backend = Backend::start((canary_ip.parse::<Ipv4Addr>().unwrap(), port).into());
    let ramp = RAMP.replace("\"5% 4s\"", "\"5% 1h\"");
    let d = Setup::new().zone(&zone(canary_ip, port, &ramp)).start();
    wait_step(&d, 2, "running", Duration::from_secs(20));
    assert!(!on_canary(&d, canary_ip).is_empty());

    // Mid-hold the canary's endpoint fails: down after fall (2) x interval (250 ms), then
    // the next gate evaluation (every 1 s) rolls back.
    let failed_at = now_ms();
    backend.set(503);
    let r = wait_step(&d, 2, "rolled_back", Duration::from_secs(20));
    let took = r["since_unix_ms"]
        .as_u64()
        .unwrap()
        .saturating_sub(failed_at);
    eprintln!("rolled back {took} ms after the canary started failing");
    // gate_interval + fall x interval = 1.5 s; a probe in flight and the runner's tick add
    // a little, a loaded machine more.
    assert!(took <= 1500 + 2500, "rolled back after {took} ms");
    assert_eq!(r["share"], 0.0);
    assert!(
        r["reason"].as_str().unwrap().contains("127.0.0.72 down"),
        "{r}"
    );
    assert!(
        on_canary(&d, canary_ip).is_empty(),
        "share 0: no subnet on the canary"
    );
    assert_eq!(
        d.metric("steerdns_rollout_transitions_total{zone=\"ro.test\",service=\"www\",region=\"canary\",event=\"rollback\"}"),
        1.0
    );
    // It stays rolled back after the canary recovers, until the operator resumes.
    backend.set(200);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(d.rollout()["phase"], "rolled_back");
    let (code, out, err) = run(
        &[
            "rollout",
            "resume",
            "ro.test/www",
            "--server",
            &d.metrics.to_string(),
        ],
        d.dir.path(),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("running at step 1/4"), "{out}");
}

#[test]
fn a_restart_or_a_reload_with_the_same_steps_resumes_changed_steps_restart() {
    let port = free_port();
    let canary_ip = "127.0.0.73";
    let _backend = Backend::start((canary_ip.parse::<Ipv4Addr>().unwrap(), port).into());
    let ramp = RAMP
        .replace("\"5% 4s\"", "\"5% 1h\"")
        .replace("1% 4s", "1% 1s");
    let mut d = Setup::new().zone(&zone(canary_ip, port, &ramp)).start();
    let before = wait_step(&d, 2, "running", Duration::from_secs(20));
    let set = on_canary(&d, canary_ip);

    // A crash and a start on the same files: step 2 again, same start time, same subnets.
    d.restart(|| {});
    let after = d.rollout();
    assert_eq!(after["step"], 2, "{after}");
    assert_eq!(after["since_unix_ms"], before["since_unix_ms"]);
    assert_eq!(on_canary(&d, canary_ip), set);
    assert!(
        d.log().contains("rollout resumed from the state file"),
        "{}",
        d.log()
    );
    let state = std::fs::read_to_string(d.dir.path().join("steerdns.health")).unwrap();
    assert!(state.contains("ro.test/www"), "{state}");

    // A reload with the same steps resumes; changed steps start at the first step.
    assert_eq!(d.reload(), Reload::Applied);
    assert_eq!(d.rollout()["since_unix_ms"], before["since_unix_ms"]);
    d.write_zone(&zone(canary_ip, port, &ramp.replace("5% 1h", "10% 1h")));
    assert_eq!(d.reload(), Reload::Applied);
    let r = d.rollout();
    assert_eq!(r["step"], 1, "{r}");
    assert_ne!(r["since_unix_ms"], before["since_unix_ms"]);
}

#[test]
fn the_rollout_command_drives_the_daemon() {
    let port = free_port();
    let canary_ip = "127.0.0.74";
    let _backend = Backend::start((canary_ip.parse::<Ipv4Addr>().unwrap(), port).into());
    let ramp = RAMP.replace("4s", "1h");
    let d = Setup::new()
        .config("[metrics]\ntrusted = [\"127.0.0.1/32\"]")
        .zone(&zone(canary_ip, port, &ramp))
        .start();
    let server = d.metrics.to_string();
    let cli = |args: &[&str]| {
        let mut all = vec!["rollout"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--server", &server]);
        run(&all, d.dir.path())
    };
    let (code, out, err) = cli(&["status"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("ro.test/www region canary: running at step 1/4 (1% 1h)"),
        "{out}"
    );
    assert!(out.contains("gate 1: health"), "{out}");

    let (code, out, err) = cli(&["advance", "ro.test/www"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("step 2/4"), "{out}");
    assert_eq!(d.rollout()["share"], 0.05);

    let (code, out, _) = cli(&["pause"]);
    assert_eq!(code, 0);
    assert!(out.contains("paused at step 2/4"), "{out}");
    // Pausing twice is refused: exit 1 with the daemon's reason.
    let (code, _, err) = cli(&["pause", "ro.test/www"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot pause a rollout that is paused"),
        "{err}"
    );

    let (code, out, _) = cli(&["resume", "ro.test/www", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("--json");
    assert_eq!(v["phase"], "running");

    let (code, _, _) = cli(&["abort", "ro.test/www"]);
    assert_eq!(code, 0);
    assert!(on_canary(&d, canary_ip).is_empty(), "aborted: share 0");
    assert_eq!(
        d.metric("steerdns_rollout_share{zone=\"ro.test\",service=\"www\",region=\"canary\"}"),
        0.0
    );
    let (code, _, err) = cli(&["advance", "ro.test/www"]);
    assert_eq!(code, 1, "advance after abort is refused");
    assert!(err.contains("resume it first"), "{err}");

    // Unknown rollout: 1; no daemon: 2; JSON status parses.
    let (code, _, err) = cli(&["pause", "ro.test/nope"]);
    assert_eq!(code, 1, "{err}");
    let (code, out, _) = cli(&["status", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("status --json");
    assert_eq!(v["rollouts"][0]["phase"], "aborted");
    let (code, _, _) = run(
        &[
            "rollout",
            "status",
            "--server",
            &format!("127.0.0.1:{}", free_port()),
        ],
        d.dir.path(),
    );
    assert_eq!(code, 2);

    // Explain shows the step behind the canary's weight; untrusted clients get the same
    // access rule as every /v1/* path.
    let (code, out, err) = run(
        &[
            "explain",
            "www.ro.test",
            "--client",
            "10.0.0.0/24",
            "--server",
            &server,
        ],
        d.dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("rollout step 2/4 5% 1h, aborted, 0% of the tier"),
        "{out}"
    );
    // The same in DNS (`_explain`, loopback may ask) and offline from the files and the
    // state file the daemon saved.
    let m = d.udp(Query::new("_explain.www.ro.test.", RecordType::TXT).ecs("10.0.0.0", 24));
    let txt = m
        .answers
        .iter()
        .map(|r| r.data.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(txt.contains("rollout step 2/4 5% 1h, aborted"), "{txt}");
    let config = d.config.to_string_lossy().into_owned();
    let (code, out, err) = run(
        &[
            "explain",
            "www.ro.test",
            "--client",
            "10.0.0.0/24",
            "-c",
            &config,
        ],
        d.dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rollout step 2/4 5% 1h, aborted"), "{out}");
    let reply = Http::post("/v1/rollouts/ro.test/www/resume")
        .from("127.0.0.2")
        .send(d.metrics);
    assert_eq!(reply.status, 403, "{}", reply.body);
}

#[test]
fn the_status_document_and_page_show_the_rollout() {
    let port = free_port();
    let canary_ip = "127.0.0.75";
    let _backend = Backend::start((canary_ip.parse::<Ipv4Addr>().unwrap(), port).into());
    let ramp = RAMP.replace("4s", "1h");
    let d = Setup::new().zone(&zone(canary_ip, port, &ramp)).start();
    let reply = Http::post("/v1/rollouts/ro.test/www/advance").send(d.metrics);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = Http::post("/v1/rollouts/ro.test/www/frobnicate").send(d.metrics);
    assert_eq!(reply.status, 404, "{}", reply.body);

    // /v1/status: the rollout of www with its step, share and gate, as the schema says.
    let text = std::fs::read_to_string(repo().join("docs/status.schema.json")).unwrap();
    let schema = jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap();
    let doc = wait_for("the gate evaluated", Duration::from_secs(10), || {
        let doc = Http::get("/v1/status").send(d.metrics).json();
        (doc["zones"][0]["services"][0]["rollout"]["gates"][0]["passed"] == true).then_some(doc)
    });
    let errors: Vec<String> = schema.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{doc:#}");
    let ro = &doc["zones"][0]["services"][0]["rollout"];
    assert_eq!(
        (ro["step"].as_u64(), ro["share"].as_f64()),
        (Some(2), Some(0.05))
    );
    let events = doc["events"].as_array().unwrap();
    assert!(
        events.iter().any(|e| e["kind"] == "rollout"
            && e["message"].as_str().unwrap().contains("advance to step 2")),
        "{events:#?}"
    );

    // The page shows it.
    let Some(mut browser) = common::chromium::Chromium::start() else {
        return;
    };
    let mut page = browser.open(&format!("http://{}/", d.metrics), 1280, 900, false);
    let shown = page.wait_for(
        "the rollout line",
        "(() => { const r = document.querySelector('.rollout'); return r ? r.textContent : ''; })()",
    );
    let shown = shown.as_str().unwrap_or_default().to_owned();
    assert!(
        shown.contains("rollout of canary: step 2/4 (5% 1h), running, share 5")
            && shown.contains("gate 1 health: pass"),
        "{shown}"
    );
}
