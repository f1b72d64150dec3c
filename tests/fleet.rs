//! A fleet of instances agreeing on health (SPEC §4.1, issue 14), over real sockets: three
//! daemons on their own loopback addresses read each other's `/v1/health` with a token, each
//! probing an HTTP target from its own `[health] source_v4`; the target refuses one
//! instance's source address, then everybody, then two instances stop. Fake peers answer a
//! wrong token or garbage. And `/v1/health` itself behind the admin access rule.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use hickory_proto::rr::RecordType;

const TOKEN: &str = "fleet-s3cret";

//------------ An HTTP target that judges each connection by its source address ------------

/// How the target answers: everyone 200, 503 to one source address only, or 503 to all.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Mode {
    Healthy = 0,
    RefuseOne = 1,
    FailAll = 2,
}

struct Target {
    mode: Arc<AtomicU8>,
    sources: Arc<Mutex<BTreeSet<IpAddr>>>,
    stop: Arc<AtomicBool>,
}

impl Target {
    /// Serves on `addr`; in [`Mode::RefuseOne`] answers 503 to connections from `refused`.
    fn start(addr: SocketAddr, refused: IpAddr) -> Self {
        let listener = TcpListener::bind(addr).expect("bind target");
        listener.set_nonblocking(true).unwrap();
        let mode = Arc::new(AtomicU8::new(Mode::Healthy as u8));
        let sources: Arc<Mutex<BTreeSet<IpAddr>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (m, seen, sp) = (mode.clone(), sources.clone(), stop.clone());
        std::thread::spawn(move || {
            while !sp.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, peer)) => {
                        seen.lock().unwrap().insert(peer.ip());
                        s.set_nonblocking(false).ok();
                        s.set_read_timeout(Some(Duration::from_millis(500))).ok();
                        let mut buf = [0u8; 2048];
                        let _ = s.read(&mut buf);
                        let code = match m.load(Ordering::Relaxed) {
                            0 => 200,
                            1 if peer.ip() == refused => 503,
                            1 => 200,
                            _ => 503,
                        };
                        let _ = write!(
                            s,
                            "HTTP/1.1 {code} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            mode,
            sources,
            stop,
        }
    }

    fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::Relaxed);
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `primary` (the target under test) then `backup` (always healthy), checked every 300 ms,
/// down after 2 failures.
fn zone(origin: &str, primary: &str, backup: &str, port: u16) -> Zone {
    let check = HttpCheck {
        interval: "300ms",
        timeout: "250ms",
        rise: 2,
        fall: 2,
    };
    Zone::failover_www(origin, port, check, primary, backup)
}

fn answer(d: &Daemon, origin: &str) -> Vec<String> {
    addrs(&d.udp(Query::new(&format!("www.{origin}"), RecordType::A)))
}

fn series(name: &str, labels: &str) -> String {
    format!("{name}{{{labels}}}")
}

//------------ Three instances ------------

/// Instance `i` (1-based) of a fleet whose stopped members are `None`.
fn d(fleet: &[Option<Daemon>], i: usize) -> &Daemon {
    fleet[i - 1].as_ref().expect("running")
}

const ORIGIN: &str = "fleet.test.";
const PRIMARY: &str = "127.0.0.61";
const BACKUP: &str = "127.0.0.62";
/// fall (2) x interval (300 ms) + poll + 1 s: the failover bound of the issue.
const BUDGET: Duration = Duration::from_millis(2 * 300 + 500 + 1000);

fn disagreement(d: &Daemon) -> f64 {
    d.metric(&series(
        "steerdns_health_disagreements",
        &format!("zone=\"fleet.test\",service=\"www\",region=\"primary\",endpoint=\"{PRIMARY}\""),
    ))
}

#[test]
fn three_instances_agree_fail_over_together_and_decide_alone_when_left_alone() {
    let port = free_port();
    let refused: IpAddr = "127.0.0.23".parse().unwrap();
    let target = Target::start(SocketAddr::new(PRIMARY.parse().unwrap(), port), refused);
    let _backup = Target::start(SocketAddr::new(BACKUP.parse().unwrap(), port), refused);
    let zone = zone(ORIGIN, PRIMARY, BACKUP, port);

    // Instance i: DNS and admin on 127.0.0.3i, probes from 127.0.0.2i.
    let addrs: Vec<(SocketAddr, SocketAddr)> = (1..=3)
        .map(|i| {
            let ip = format!("127.0.0.3{i}");
            (free_addr(&ip), free_addr(&ip))
        })
        .collect();
    let mut fleet: Vec<Option<Daemon>> = (1..=3)
        .map(|i| {
            // One list of every instance for all (as one config from git would have it): each
            // finds itself in it by its identity and does not count itself.
            let peers: Vec<String> = (1..=3)
                .map(|j| format!("\"http://{}\"", addrs[j - 1].1))
                .collect();
            Some(
                Setup::new()
                    .addresses(addrs[i - 1].0, addrs[i - 1].1)
                    .zone(&zone)
                    .file("token", format!("{TOKEN}\n").as_bytes())
                    .config(&format!(
                        r#"
[server]
identity = "ns{i}"
nsid = "ns{i}"
[health]
source_v4 = "127.0.0.2{i}"
[metrics]
trusted = [{trusted}]
token_file = "token"
[peers]
urls = [{}]
token_file = "token"
poll = "500ms"
stale_after = "2s"
quorum = "majority"
"#,
                        peers.join(", "),
                        // ns1 trusts 127.0.0.1 (the test's own explain command); ns2 and ns3
                        // trust nobody, so reading them takes the token.
                        trusted = if i == 1 { "\"127.0.0.1/32\"" } else { "" },
                    ))
                    .start(),
            )
        })
        .collect();

    // Every instance reads both peers with the token (nobody is trusted) and counts them.
    for i in 1..=3 {
        wait_for(
            &format!("ns{i} counts both peers"),
            Duration::from_secs(20),
            || (d(&fleet, i).metric("steerdns_health_observers") == 3.0).then_some(()),
        );
        for j in (1..=3).filter(|&j| j != i) {
            let up = series(
                "steerdns_peer_up",
                &format!("peer=\"http://{}\"", addrs[j - 1].1),
            );
            assert_eq!(d(&fleet, i).metric(&up), 1.0, "ns{i} sees ns{j} up");
        }
        assert_eq!(answer(d(&fleet, i), ORIGIN), [PRIMARY], "ns{i}");
        let own_url = series(
            "steerdns_peer_up",
            &format!("peer=\"http://{}\"", addrs[i - 1].1),
        );
        assert!(
            !d(&fleet, i).metrics_text().contains(&own_url),
            "ns{i} is no peer of itself"
        );
        assert!(d(&fleet, i).log().contains("reaches this instance itself"));
    }
    // Each probes from its own source address.
    wait_for("probes from 127.0.0.21-23", Duration::from_secs(10), || {
        let seen = target.sources.lock().unwrap().clone();
        (1..=3)
            .all(|i| seen.contains(&format!("127.0.0.2{i}").parse().unwrap()))
            .then_some(())
    });

    // The target refuses ns3's source address only. ns3 sees the endpoint down locally...
    target.set(Mode::RefuseOne);
    wait_for("ns3 disagrees", Duration::from_secs(20), || {
        (disagreement(d(&fleet, 3)) == 1.0).then_some(())
    });
    let own = Http::get("/v1/health")
        .bearer(TOKEN)
        .send(d(&fleet, 3).metrics)
        .json();
    assert_eq!(own["identity"], "ns3");
    let ep = &own["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["address"] == PRIMARY)
        .unwrap()
        .clone();
    assert_eq!(ep["state"], "down", "{own}");
    assert_eq!(
        (ep["zone"].as_str(), ep["check"].as_str()),
        (Some("fleet.test"), Some("web"))
    );
    // ... but two of three observers see it up: all three keep answering with it.
    for _ in 0..10 {
        for i in 1..=3 {
            assert_eq!(
                answer(d(&fleet, i), ORIGIN),
                [PRIMARY],
                "ns{i} keeps the primary"
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(disagreement(d(&fleet, 1)), 0.0);
    assert_eq!(disagreement(d(&fleet, 2)), 0.0);
    // Explain shows each observer's view of the region's endpoints.
    let explain = Http::get("/v1/explain?name=www.fleet.test.&client=192.0.2.1")
        .bearer(TOKEN)
        .send(d(&fleet, 3).metrics)
        .json();
    let observers = &explain["observers"];
    let names: Vec<&str> = observers["observers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ns3", "ns1", "ns2"], "{explain}");
    let primary = observers["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint"] == PRIMARY)
        .unwrap();
    assert_eq!(
        primary["views"],
        serde_json::json!(["down", "up", "up"]),
        "{explain}"
    );
    assert_eq!(primary["agreed"], "up");
    assert_eq!(
        (primary["down"].as_u64(), primary["observers"].as_u64()),
        (Some(1), Some(3))
    );
    // The same in `steerdns explain --server` text (ns1 trusts the test's address).
    let (code, out, err) = run(
        &[
            "explain",
            "www.fleet.test.",
            "--client",
            "192.0.2.1",
            "--server",
            &d(&fleet, 1).metrics.to_string(),
        ],
        d(&fleet, 1).dir.path(),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("observers: ns1 (this instance), ns2 (up), ns3 (up); quorum majority"),
        "{out}"
    );
    assert!(
        out.contains(
            "observed: primary 127.0.0.61: ns1 up, ns2 up, ns3 down => up (1 of 3 see it down)"
        ),
        "{out}"
    );

    // Healthy again for everybody; then the target fails for everybody: all three fail over,
    // within fall x interval + poll + 1 s.
    target.set(Mode::Healthy);
    wait_for("ns3 agrees again", Duration::from_secs(20), || {
        (disagreement(d(&fleet, 3)) == 0.0).then_some(())
    });
    // One more poll, so that every instance has read ns3's recovered verdict.
    std::thread::sleep(Duration::from_millis(600));
    let started = Instant::now();
    target.set(Mode::FailAll);
    let mut took = Vec::new();
    for i in 1..=3 {
        let t = wait_for(
            &format!("ns{i} fails over"),
            Duration::from_secs(30),
            || (answer(d(&fleet, i), ORIGIN) == [BACKUP]).then(|| started.elapsed()),
        );
        took.push(t);
    }
    eprintln!(
        "failover with peers (quorum 2 of 3): ns1 {:?}, ns2 {:?}, ns3 {:?}; budget fall x interval + poll + 1 s = {BUDGET:?}",
        took[0], took[1], took[2]
    );

    // Back to refusing ns3 only: all three return to the primary (2 of 3 see it up).
    target.set(Mode::RefuseOne);
    for i in 1..=3 {
        wait_for(
            &format!("ns{i} back on the primary"),
            Duration::from_secs(30),
            || (answer(d(&fleet, i), ORIGIN) == [PRIMARY]).then_some(()),
        );
    }

    // ns1 and ns2 stop: ns3 decides alone (after stale_after) and follows its own verdict.
    fleet[0] = None;
    fleet[1] = None;
    let ns3 = d(&fleet, 3);
    wait_for("ns3 decides alone", Duration::from_secs(30), || {
        (answer(ns3, ORIGIN) == [BACKUP]).then_some(())
    });
    assert_eq!(ns3.metric("steerdns_health_observers"), 1.0);
    for j in 1..=2 {
        let up = series(
            "steerdns_peer_up",
            &format!("peer=\"http://{}\"", addrs[j - 1].1),
        );
        assert_eq!(ns3.metric(&up), 0.0, "ns{j} is down");
    }
    let log = ns3.log();
    assert!(log.contains("deciding alone"), "{log}");
    if std::env::var_os("FLEET_LOG").is_some() {
        eprintln!("{log}");
    }
    assert_eq!(
        disagreement(ns3),
        0.0,
        "alone, its verdict is the agreed one"
    );
}

//------------ Fake peers: a wrong token, garbage ------------

/// A fake peer: answers `/v1/health` with `body` when the request carries `Bearer <token>`,
/// 401 otherwise; counts requests.
struct FakePeer {
    addr: SocketAddr,
    body: Arc<Mutex<String>>,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FakePeer {
    fn start(token: &'static str, body: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake peer");
        let addr = listener.local_addr().unwrap();
        let body = Arc::new(Mutex::new(body.to_owned()));
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, n) = (body.clone(), requests.clone());
        common::backend::serve(listener, stop.clone(), move |head| {
            n.fetch_add(1, Ordering::Relaxed);
            let head = head.to_ascii_lowercase();
            if head.contains(&format!("authorization: bearer {token}")) {
                let body = b.lock().unwrap().clone();
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_owned()
            }
        });
        Self {
            addr,
            body,
            requests,
            stop,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FakePeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A report in which `address` of the zone below is down.
fn report_down(address: &str) -> String {
    serde_json::json!({
        "identity": "fake",
        "generation": 1,
        "endpoints": [{
            "zone": "fake.test", "service": "www", "region": "primary",
            "address": address, "check": "web", "state": "down",
            "since": "2026-01-01T00:00:00Z", "since_unix": 1767225600u64
        }]
    })
    .to_string()
}

/// Log lines that mention `url`, and those among them that say `what`.
fn log_lines(d: &Daemon, url: &str, what: &str) -> usize {
    d.log()
        .lines()
        .filter(|l| l.contains(url) && l.contains(what))
        .count()
}

#[test]
fn wrong_token_and_garbage_count_as_unreachable_log_once_and_change_nothing() {
    const ORIGIN: &str = "fake.test.";
    const PRIMARY: &str = "127.0.0.71";
    const BACKUP: &str = "127.0.0.72";
    let port = free_port();
    let nobody: IpAddr = "127.0.0.1".parse().unwrap();
    let _primary = Target::start(SocketAddr::new(PRIMARY.parse().unwrap(), port), nobody);
    let _backup = Target::start(SocketAddr::new(BACKUP.parse().unwrap(), port), nobody);
    // Both would say the primary is down, which with quorum = 1 would fail it over at once.
    let wrong_token = FakePeer::start("right-token", &report_down(PRIMARY));
    let garbage = FakePeer::start("wrong-token", "{\"identity\": \"fake\", \"endpoi");
    let d = Setup::new()
        .zone(&zone(ORIGIN, PRIMARY, BACKUP, port))
        .file("token", b"wrong-token\n")
        .config(&format!(
            r#"
[peers]
urls = ["{}", "{}"]
token_file = "token"
poll = "300ms"
stale_after = "1s"
quorum = 1
"#,
            wrong_token.url(),
            garbage.url()
        ))
        .start();

    // Many polls later: both unreachable, each logged once, nothing changed.
    wait_for("several polls of both", Duration::from_secs(20), || {
        (wrong_token.requests.load(Ordering::Relaxed) >= 8
            && garbage.requests.load(Ordering::Relaxed) >= 8)
            .then_some(())
    });
    for (peer, reason) in [
        (&wrong_token, "HTTP 401"),
        (&garbage, "not a health report"),
    ] {
        let up = series("steerdns_peer_up", &format!("peer=\"{}\"", peer.url()));
        assert_eq!(d.metric(&up), 0.0, "{}", peer.url());
        assert_eq!(
            log_lines(&d, &peer.url(), "peer unreachable"),
            1,
            "logged once: {}",
            d.log()
        );
        assert_eq!(log_lines(&d, &peer.url(), reason), 1, "{}", d.log());
    }
    assert_eq!(d.metric("steerdns_health_observers"), 1.0);
    assert_eq!(answer(&d, ORIGIN), [PRIMARY], "nothing changed");

    // The right token: the peer counts, and with quorum 1 its verdict fails the primary over.
    std::fs::write(d.dir.path().join("token"), "right-token\n").unwrap();
    assert_eq!(d.reload(), Reload::Applied);
    wait_for(
        "the peer counts and fails the primary over",
        Duration::from_secs(20),
        || (answer(&d, ORIGIN) == [BACKUP]).then_some(()),
    );
    let up = series(
        "steerdns_peer_up",
        &format!("peer=\"{}\"", wrong_token.url()),
    );
    assert_eq!(d.metric(&up), 1.0);
    assert_eq!(
        log_lines(&d, &wrong_token.url(), "peer up"),
        1,
        "{}",
        d.log()
    );
    assert_eq!(d.metric("steerdns_health_observers"), 2.0);

    // Garbage that turns into a report is heard too (the other peer now refuses the token).
    *garbage.body.lock().unwrap() = report_down(BACKUP);
    std::fs::write(d.dir.path().join("token"), "wrong-token\n").unwrap();
    assert_eq!(d.reload(), Reload::Applied);
    let up = series("steerdns_peer_up", &format!("peer=\"{}\"", garbage.url()));
    wait_for("the garbage peer is heard", Duration::from_secs(20), || {
        (d.metric(&up) == 1.0).then_some(())
    });
}

//------------ /v1/health behind the access rule ------------

#[test]
fn v1_health_reports_local_verdicts_behind_the_access_rule() {
    let zone = Zone::new("health.test.").toml(
        r#"
[check.web]
kind = "tcp"
port = 9
interval = "200ms"
timeout = "100ms"
fall = 1
[region.one]
[service.www]
geo = { default = "one" }
check = "web"
[service.www.region.one]
endpoints = ["127.0.0.81"]
"#,
    );
    let d = Setup::new()
        .zone(&zone)
        .config("[metrics]\ntrusted = [\"127.0.0.1/32\"]")
        .start();
    // Untrusted and no token file: 403.
    let r = Http::get("/v1/health").from("127.0.0.2").send(d.metrics);
    assert_eq!(r.status, 403, "{r:?}");
    // Trusted: the report. Nothing listens on 127.0.0.81:9, so it goes down (fall 1).
    let report = wait_for("the endpoint is down", Duration::from_secs(10), || {
        let r = Http::get("/v1/health").from("127.0.0.1").send(d.metrics);
        assert_eq!(r.status, 200, "{r:?}");
        let j = r.json();
        (j["endpoints"][0]["state"] == "down").then_some(j)
    });
    assert_eq!(report["identity"], "test-id");
    assert_eq!(report["generation"], 1);
    let e = &report["endpoints"][0];
    assert_eq!(
        (
            e["zone"].as_str(),
            e["service"].as_str(),
            e["region"].as_str(),
            e["address"].as_str(),
            e["check"].as_str()
        ),
        (
            Some("health.test"),
            Some("www"),
            Some("one"),
            Some("127.0.0.81"),
            Some("web")
        )
    );
    let since = e["since_unix"].as_u64().unwrap();
    assert!(since > 1_700_000_000, "{e}");
    assert!(e["since"].as_str().unwrap().ends_with('Z'), "{e}");
    // POST is not a method of /v1/health.
    let r = Http::post("/v1/health").send(d.metrics);
    assert_eq!(r.status, 405, "{r:?}");
}
