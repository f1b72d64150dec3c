//! Reload under load: a client queries without pause while the test rewrites the zone and
//! sends 50 SIGHUPs, alternating valid and broken files. Every query is answered, every answer
//! comes wholly from one valid generation (never a mix, never a broken file), broken reloads
//! change nothing, and each valid reload is served promptly.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::*;
use hickory_proto::rr::RecordType;

fn zone(n: u32) -> String {
    format!(
        r#"
origin = "reload.test."
[soa]
mname = "ns1.reload.test."
rname = "hostmaster.reload.test."
serial = {n}
[[record]]
name = "alias"
type = "CNAME"
data = ["t{n}"]
[[record]]
name = "t{n}"
type = "A"
data = ["127.1.0.{n}"]
[[record]]
name = "t{n}"
type = "TXT"
data = ["\"generation {n}\""]
"#
    )
}

/// The generation an answer came from; panics on a mixed answer.
fn generation_of(m: &hickory_proto::op::Message) -> u32 {
    assert_eq!(m.answers.len(), 2, "{m:?}");
    let target = m.answers[0].data.to_string();
    let addr = m.answers[1].data.to_string();
    let from_name: u32 = target
        .trim_start_matches('t')
        .split('.')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let from_addr: u32 = addr.rsplit('.').next().unwrap().parse().unwrap();
    assert_eq!(
        from_name, from_addr,
        "an answer mixing two generations: {target} {addr}"
    );
    from_name
}

/// The generation the daemon serves now.
fn served_generation(d: &Daemon) -> u32 {
    generation_of(&udp(
        d.addr,
        "alias.reload.test.",
        RecordType::A,
        &Opts::default(),
    ))
}

#[test]
fn fifty_reloads_under_load() {
    let d = start("", &[("reload.toml", &zone(1))]);
    let addr = d.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let latest_valid = Arc::new(AtomicU32::new(1));
    let (stop2, latest2) = (stop.clone(), latest_valid.clone());
    let client = std::thread::spawn(move || {
        let packet = build("alias.reload.test.", RecordType::A, &Opts::default());
        let (mut sent, mut lost, mut last) = (0u64, 0u64, 0u32);
        let mut seen = std::collections::BTreeSet::new();
        while !stop2.load(Ordering::Relaxed) && sent < 2_000_000 {
            sent += 1;
            match try_udp(addr, &packet, 1.0) {
                Some(reply) => {
                    let m = hickory_proto::op::Message::from_vec(&reply).unwrap();
                    let g = generation_of(&m);
                    assert!(g >= last, "went back from generation {last} to {g}");
                    assert!(
                        g <= latest2.load(Ordering::Relaxed),
                        "answer from a file never applied"
                    );
                    assert!(g % 2 == 1, "generation {g} came from a broken file");
                    last = g;
                    seen.insert(g);
                }
                None => lost += 1,
            }
        }
        (sent, lost, seen)
    });

    let mut worst = Duration::ZERO;
    let mut file_version = 1;
    for round in 0..50 {
        let valid = round % 2 == 0;
        let before = http_get(d.metrics, "/metrics");
        let (ok0, err0) = (
            metric(&before, "steerdns_reloads_total{result=\"ok\"}"),
            metric(&before, "steerdns_reloads_total{result=\"error\"}"),
        );
        if valid {
            file_version += 2; // odd versions are the valid ones
            latest_valid.store(file_version, Ordering::Relaxed);
            std::fs::write(d.dir.path().join("zones/reload.toml"), zone(file_version)).unwrap();
        } else {
            // A broken file: a record with a bad address (and a version that must never show).
            let broken = zone(file_version + 1).replace("127.1.0.", "127.1.0.999.");
            std::fs::write(d.dir.path().join("zones/reload.toml"), broken).unwrap();
        }
        let sent_at = Instant::now();
        sighup(&d);
        // Wait for the outcome to be counted.
        loop {
            let m = http_get(d.metrics, "/metrics");
            let done = if valid {
                metric(&m, "steerdns_reloads_total{result=\"ok\"}") > ok0
            } else {
                metric(&m, "steerdns_reloads_total{result=\"error\"}") > err0
            };
            if done {
                break;
            }
            assert!(
                sent_at.elapsed() < Duration::from_secs(10),
                "reload {round} never finished"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        if valid {
            // The new generation is served (measure how soon after the signal).
            assert_eq!(served_generation(&d), file_version);
            worst = worst.max(sent_at.elapsed());
        } else {
            assert_eq!(
                served_generation(&d),
                file_version,
                "a broken reload changed the answer"
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (sent, lost, seen) = client.join().expect("client thread");
    eprintln!(
        "{sent} queries during 50 reloads, {lost} unanswered, {} generations seen, slowest valid reload served after {worst:?}",
        seen.len()
    );
    assert_eq!(lost, 0, "every query gets an answer");
    assert!(seen.len() > 5, "the client saw the reloads: {seen:?}");
    assert!(
        worst < Duration::from_secs(2),
        "slowest reload took {worst:?}"
    );
    let m = http_get(d.metrics, "/metrics");
    assert_eq!(metric(&m, "steerdns_reloads_total{result=\"ok\"}"), 25.0);
    assert_eq!(metric(&m, "steerdns_reloads_total{result=\"error\"}"), 25.0);
    assert_eq!(metric(&m, "steerdns_config_generation"), 26.0);
}

#[test]
fn listen_addresses_are_rebound_on_reload() {
    let d = start("", &[("reload.toml", &zone(1))]);
    let extra = free_port();
    let text = std::fs::read_to_string(&d.config).unwrap();
    let with_extra = text.replace(
        &format!("listen = [\"127.0.0.1:{}\"]", d.addr.port()),
        &format!(
            "listen = [\"127.0.0.1:{}\", \"127.0.0.2:{extra}\"]",
            d.addr.port()
        ),
    );
    assert_ne!(text, with_extra);
    std::fs::write(&d.config, &with_extra).unwrap();
    sighup(&d);
    let new_addr: std::net::SocketAddr = ([127, 0, 0, 2], extra).into();
    let packet = build("alias.reload.test.", RecordType::A, &Opts::default());
    let started = Instant::now();
    while try_udp(new_addr, &packet, 0.1).is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "new address never served"
        );
    }
    assert!(try_tcp(new_addr, &packet).is_some());
    // Remove it again; the original keeps serving throughout.
    std::fs::write(&d.config, &text).unwrap();
    sighup(&d);
    let started = Instant::now();
    while try_udp(new_addr, &packet, 0.1).is_some() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "removed address still served"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(try_udp(d.addr, &packet, 1.0).is_some());
}

#[test]
fn reload_command_reports_the_outcome() {
    let d = start("", &[("reload.toml", &zone(1))]);
    let dir = d.dir.path();
    // The pid file appears once the daemon serves.
    for _ in 0..100 {
        if dir.join("steerdns.pid").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::write(dir.join("zones/reload.toml"), zone(3)).unwrap();
    let (code, out, err) = run(&["reload", "-c", "steerdns.toml"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("reload applied: generation 2"), "{out}");
    assert_eq!(served_generation(&d), 3);

    std::fs::write(
        dir.join("zones/reload.toml"),
        zone(5).replace("127.1.0.5", "127.1.0.500"),
    )
    .unwrap();
    let (code, _, err) = run(&["reload", "-c", "steerdns.toml"], dir);
    assert_eq!(code, 1);
    assert!(err.contains("reload rejected"), "{err}");
    assert!(
        err.contains("reload.toml:") && err.contains("127.1.0.500"),
        "{err}"
    );
    assert_eq!(
        served_generation(&d),
        3,
        "the previous configuration keeps serving"
    );
}
