//! Reload under load: a client queries without pause while the test rewrites the zone and
//! sends 50 SIGHUPs, alternating valid and broken files. Every query is answered, every answer
//! comes wholly from one valid generation (never a mix, never a broken file), broken reloads
//! change nothing, and each valid reload is served promptly.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::*;
use hickory_proto::rr::RecordType;

/// Generation `n` of the zone: `alias` points at `t<n>`, which has 127.1.0.<n>.
fn zone(n: u32) -> Zone {
    let target = format!("t{n}");
    let addr = format!("127.1.0.{n}");
    let text = format!("\"generation {n}\"");
    Zone::new("reload.test.")
        .serial(n.into())
        .record("alias", "CNAME", &[&target])
        .record(&target, "A", &[&addr])
        .record(&target, "TXT", &[&text])
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
    generation_of(&d.udp(Query::new("alias.reload.test.", RecordType::A)))
}

#[test]
fn fifty_reloads_under_load() {
    let d = Daemon::start(&zone(1));
    let addr = d.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let latest_valid = Arc::new(AtomicU32::new(1));
    let (stop2, latest2) = (stop.clone(), latest_valid.clone());
    let client = std::thread::spawn(move || {
        let packet = Query::new("alias.reload.test.", RecordType::A).to_bytes();
        let (mut sent, mut lost, mut last) = (0u64, 0u64, 0u32);
        let mut seen = std::collections::BTreeSet::new();
        while !stop2.load(Ordering::Relaxed) && sent < 2_000_000 {
            sent += 1;
            match send_udp(addr, &packet, Duration::from_secs(1)) {
                Ok(reply) => {
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
                Err(_) => lost += 1,
            }
        }
        (sent, lost, seen)
    });

    let mut worst = Duration::ZERO;
    let mut file_version = 1;
    for round in 0..50 {
        let valid = round % 2 == 0;
        if valid {
            file_version += 2; // odd versions are the valid ones
            latest_valid.store(file_version, Ordering::Relaxed);
            d.write_zone(&zone(file_version));
        } else {
            // A broken file: a record with a bad address (and a version that must never show).
            let broken = zone(file_version + 1)
                .to_string()
                .replace("127.1.0.", "127.1.0.999.");
            d.write_zone_text(&zone(1).file_name(), &broken);
        }
        let sent_at = Instant::now();
        let outcome = d.reload();
        assert_eq!(
            outcome,
            if valid {
                Reload::Applied
            } else {
                Reload::Rejected
            },
            "reload {round}"
        );
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
    let m = d.metrics_text();
    assert_eq!(metric(&m, "steerdns_reloads_total{result=\"ok\"}"), 25.0);
    assert_eq!(metric(&m, "steerdns_reloads_total{result=\"error\"}"), 25.0);
    assert_eq!(metric(&m, "steerdns_config_generation"), 26.0);
}

#[test]
fn listen_addresses_are_rebound_on_reload() {
    let mut d = Daemon::start(&zone(1));
    let original = d.config_table().clone();
    let extra: SocketAddr = ([127, 0, 0, 2], free_port()).into();
    d.update_config(&format!("[server]\nlisten = [\"{}\", \"{extra}\"]", d.addr));
    assert_eq!(d.reload(), Reload::Applied);
    let packet = Query::new("alias.reload.test.", RecordType::A).to_bytes();
    let short = Duration::from_millis(100);
    wait_for("new address served", Duration::from_secs(5), || {
        send_udp(extra, &packet, short).ok()
    });
    send_tcp(extra, &packet, REPLY_TIMEOUT).expect("new address served over TCP");
    // Remove it again; the original keeps serving throughout.
    d.set_config_table(original);
    assert_eq!(d.reload(), Reload::Applied);
    wait_for(
        "removed address no longer served",
        Duration::from_secs(5),
        || send_udp(extra, &packet, short).is_err().then_some(()),
    );
    send_udp(d.addr, &packet, Duration::from_secs(1)).expect("the original address serves");
}

#[test]
fn reload_command_reports_the_outcome() {
    let d = Daemon::start(&zone(1));
    let dir = d.dir.path();
    let file = zone(1).file_name();
    d.write_zone(&zone(3));
    let (code, out, err) = run(&["reload", "-c", "steerdns.toml"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("reload applied: generation 2"), "{out}");
    assert_eq!(served_generation(&d), 3);

    d.write_zone_text(
        &file,
        &zone(5).to_string().replace("127.1.0.5", "127.1.0.500"),
    );
    let (code, _, err) = run(&["reload", "-c", "steerdns.toml"], dir);
    assert_eq!(code, 1);
    assert!(err.contains("reload rejected"), "{err}");
    assert!(
        err.contains(&format!("{file}:")) && err.contains("127.1.0.500"),
        "{err}"
    );
    assert_eq!(
        served_generation(&d),
        3,
        "the previous configuration keeps serving"
    );
}
