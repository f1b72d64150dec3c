//! A reload that tells the truth (SPEC section 6): the daemon keeps every reload's outcome
//! and serves it at `GET /v1/reload`; `steerdns reload` asks over `POST /v1/reload` and exits
//! 0 applied, 3 applied with warnings, 1 rejected, 2 no daemon; a fallback to signalling
//! never touches a process it has not verified to be a steerdns daemon, nor a pid below 1.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use hickory_proto::rr::RecordType;

fn zone(addr: &str) -> Zone {
    Zone::new("outcome.test.").record("www", "A", &[addr])
}

fn www(d: &Daemon) -> Vec<String> {
    addrs(&d.udp(Query::new("www.outcome.test.", RecordType::A)))
}

/// A `sleep` that stands for "some other process on this machine"; killed on drop.
struct Bystander(Child);

impl Bystander {
    fn start() -> Self {
        Self(
            Command::new("sleep")
                .arg("300")
                .stdin(Stdio::null())
                .spawn()
                .expect("spawn sleep"),
        )
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Still running: SIGHUP's default action would have ended it.
    fn alive(&mut self) -> bool {
        self.0.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for Bystander {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A main config for the `steerdns reload` client only: the daemon's admin listener moved to
/// a closed port (so the client falls back to the pid file) and the given pid file.
fn client_config(dir: &std::path::Path, pid_file: &str) -> std::path::PathBuf {
    let closed = free_port();
    let path = dir.join("client.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\npid_file = \"{pid_file}\"\n[metrics]\nlisten = \"127.0.0.1:{closed}\"\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn reload_never_signals_a_pid_it_has_not_verified() {
    let d = Daemon::start(&zone("127.0.0.10"));
    let mut bystander = Bystander::start();
    let before = d.metric("steerdns_reloads_total{result=\"ok\"}");

    // A stale pid file naming another live process.
    std::fs::write(
        d.dir.path().join("other.pid"),
        format!("{}\n", bystander.pid()),
    )
    .unwrap();
    let config = client_config(d.dir.path(), "other.pid");
    let (code, out, err) = run(&["reload", "-c", config.to_str().unwrap()], d.dir.path());
    assert_eq!(code, 2, "no daemon reachable\nout: {out}\nerr: {err}");
    assert!(
        err.contains(&format!("pid {}", bystander.pid()))
            && err.contains("is not a steerdns daemon")
            && err.contains("\"sleep\"")
            && err.contains("nothing signalled"),
        "{err}"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(bystander.alive(), "the other process was signalled");

    // 0 would signal our own process group, -1 every process we may signal.
    for pid in ["0", "-1"] {
        std::fs::write(d.dir.path().join("bad.pid"), format!("{pid}\n")).unwrap();
        let config = client_config(d.dir.path(), "bad.pid");
        let (code, _, err) = run(&["reload", "-c", config.to_str().unwrap()], d.dir.path());
        assert_eq!(code, 2, "pid {pid}: {err}");
        assert!(
            err.contains(&format!("holds {pid}, which is not a process id")),
            "{err}"
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(bystander.alive());
    // The daemon (in this test's process group) was not hung up either: no reload counted,
    // and it still answers.
    assert_eq!(d.metric("steerdns_reloads_total{result=\"ok\"}"), before);
    assert_eq!(
        d.metric("steerdns_reloads_total{result=\"error\"}"),
        0.0,
        "{}",
        d.log()
    );
    assert_eq!(www(&d), ["127.0.0.10"]);

    // A pid file naming nothing at all, and no pid file.
    std::fs::write(d.dir.path().join("gone.pid"), "999999999\n").unwrap();
    let config = client_config(d.dir.path(), "gone.pid");
    let (code, _, err) = run(&["reload", "-c", config.to_str().unwrap()], d.dir.path());
    assert_eq!(code, 2, "{err}");
    let config = client_config(d.dir.path(), "missing.pid");
    let (code, _, err) = run(&["reload", "-c", config.to_str().unwrap()], d.dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot read pid file") && err.contains("No such file"),
        "{err}"
    );
}

#[test]
fn reload_reports_applied_rejected_and_warnings_with_their_exit_codes() {
    let mut d = Daemon::start(&zone("127.0.0.10"));
    let dir = d.dir.path().to_path_buf();

    d.write_zone(&zone("127.0.0.11"));
    let (code, out, err) = run(&["reload", "-c", "steerdns.toml"], &dir);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, "reload applied: generation 2\n");
    assert_eq!(www(&d), ["127.0.0.11"]);

    // A broken zone: rejected, exit 1, every problem with its file and line.
    d.write_zone_text(
        &zone("x").file_name(),
        &zone("127.0.0.12")
            .to_string()
            .replace("127.0.0.12", "127.0.0.300"),
    );
    let (code, out, err) = run(&["reload", "-c", "steerdns.toml"], &dir);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("reload rejected; generation 2 keeps serving")
            && err.contains(&format!("{}:", zone("x").file_name()))
            && err.contains("127.0.0.300"),
        "{err}"
    );
    assert_eq!(www(&d), ["127.0.0.11"]);
    d.write_zone(&zone("127.0.0.13"));

    // A listen address that cannot be bound (this test holds it): applied, exit 3, the
    // warning names the address and the reason; the other addresses keep serving.
    let held = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let held_addr = held.local_addr().unwrap();
    let _held_tcp = std::net::TcpListener::bind(held_addr).ok();
    d.update_config(&format!(
        "[server]\nlisten = [\"{}\", \"{held_addr}\"]",
        d.addr
    ));
    let (code, out, err) = run(&["reload", "-c", "steerdns.toml"], &dir);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains("reload applied with 1 warning(s): generation 3")
            && out.contains(&format!(
                "[server] listen: cannot listen on udp {held_addr}"
            ))
            && out.contains("already in use"),
        "{out}"
    );
    assert_eq!(www(&d), ["127.0.0.13"], "the new zone applied all the same");

    // A setting that needs a restart: applied, exit 3, the setting named.
    drop(held);
    d.update_config(&format!("[server]\nlisten = [\"{}\"]\nworkers = 2", d.addr));
    let (code, out, err) = run(&["reload", "-c", "steerdns.toml"], &dir);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains("[server] workers changed from 1 to 2: needs a restart"),
        "{out}"
    );

    // The daemon kept the last outcome.
    let last = Http::get("/v1/reload").send(d.metrics).json();
    assert_eq!(last["outcome"], "applied");
    assert_eq!(last["generation"], 4);
    assert_eq!(last["trigger"], "api");
    assert_eq!(last["seq"], 4);
}

#[test]
fn get_v1_reload_after_a_good_and_a_bad_sighup() {
    let d = Daemon::start(&zone("127.0.0.10"));
    let before = Http::get("/v1/reload").send(d.metrics).json();
    assert_eq!(before["outcome"], "none");
    assert_eq!(before["seq"], 0);
    assert_eq!(before["generation"], 1);

    d.write_zone(&zone("127.0.0.11"));
    assert_eq!(d.reload(), Reload::Applied); // SIGHUP
    let good = Http::get("/v1/reload").send(d.metrics).json();
    assert_eq!(good["outcome"], "applied", "{good}");
    assert_eq!(good["trigger"], "sighup");
    assert_eq!(good["seq"], 1);
    assert_eq!(good["generation"], 2);
    assert_eq!(good["warnings"], serde_json::json!([]));
    let at = good["finished_at"].as_str().unwrap();
    assert!(
        at.len() == "2026-11-21T10:00:30.250Z".len() && at.ends_with('Z') && at.contains('T'),
        "RFC 3339 UTC with milliseconds: {at}"
    );

    d.write_zone_text(
        &zone("x").file_name(),
        "origin = \"outcome.test.\"\n[soa]\nmname = \"ns1\"\nrname = \"h\"\nserial = -1\n",
    );
    assert_eq!(d.reload(), Reload::Rejected);
    let bad = Http::get("/v1/reload").send(d.metrics).json();
    assert_eq!(bad["outcome"], "rejected", "{bad}");
    assert_eq!(bad["trigger"], "sighup");
    assert_eq!(bad["seq"], 2);
    assert_eq!(bad["generation"], 2, "the generation still serving");
    let problems = bad["problems"].as_array().unwrap();
    assert!(!problems.is_empty());
    let file = zone("x").file_name();
    assert!(
        problems
            .iter()
            .all(|p| p.as_str().unwrap().contains(&format!("{file}:5:"))),
        "{problems:?}"
    );
    assert_eq!(www(&d), ["127.0.0.11"]);
}

#[test]
fn log_format_and_pid_file_apply_on_reload() {
    let mut d = Daemon::start(&zone("127.0.0.10"));
    assert!(
        serde_json::from_str::<serde_json::Value>(d.log().lines().last().unwrap()).is_err(),
        "text at start:\n{}",
        d.log()
    );
    let lines_before = d.log().lines().count();
    d.update_config("[log]\nformat = \"json\"\nqueries = true");
    assert_eq!(d.reload(), Reload::Applied);
    let _ = www(&d);
    let log = d.log();
    let after: Vec<&str> = log.lines().skip(lines_before).collect();
    let json: Vec<serde_json::Value> = after
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        json.iter()
            .any(|v| v["fields"]["message"] == "reload applied"),
        "the reload's own line is JSON:\n{log}"
    );
    assert!(
        json.iter()
            .any(|v| v["fields"]["message"] == "query"
                && v["fields"]["qname"] == "www.outcome.test."),
        "a query line in JSON, naming the query:\n{log}"
    );
    assert_eq!(
        json.len(),
        after.iter().filter(|l| l.starts_with('{')).count(),
        "{log}"
    );
    let last = Http::get("/v1/reload").send(d.metrics).json();
    assert_eq!(last["warnings"], serde_json::json!([]), "{last}");

    // The pid file moves with [server] pid_file.
    let old_pid_file = d.dir.path().join("steerdns.pid");
    let new_pid_file = d.dir.path().join("moved.pid");
    d.update_config(&format!(
        "[server]\npid_file = \"{}\"",
        new_pid_file.display()
    ));
    assert_eq!(d.reload(), Reload::Applied);
    assert_eq!(
        std::fs::read_to_string(&new_pid_file).unwrap().trim(),
        d.pid().to_string()
    );
    assert!(!old_pid_file.exists());
}

#[test]
fn a_moved_admin_listener_is_found_through_the_verified_pid_file() {
    let mut d = Daemon::start(&zone("127.0.0.10"));
    let moved: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    d.update_config(&format!("[metrics]\nlisten = \"{moved}\""));
    d.write_zone(&zone("127.0.0.11"));
    // The client reads the new address, where nothing listens yet: it signals the daemon
    // named in the pid file (verified), which reloads and moves its admin listener there,
    // where the client reads the outcome.
    let (code, out, err) = run(&["reload", "-c", "steerdns.toml"], d.dir.path());
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("reload applied: generation 2"), "{out}");
    assert!(
        err.contains(&format!("http://{moved}/v1/reload"))
            && err.contains("Connection refused")
            && err.contains("signalling the daemon named in"),
        "the cause of the failed connection is shown: {err}"
    );
    assert_eq!(www(&d), ["127.0.0.11"]);
    let last = Http::get("/v1/reload").send(moved).json();
    assert_eq!(last["trigger"], "sighup");
    assert!(
        std::net::TcpStream::connect_timeout(&d.metrics, Duration::from_secs(1)).is_err(),
        "the old admin address is closed"
    );
}

#[test]
fn reload_with_server_never_signals_and_says_why_it_cannot_connect() {
    let d = Daemon::start(&zone("127.0.0.10"));
    let closed = free_port();
    for server in [
        format!("127.0.0.1:{closed}"),
        format!("http://127.0.0.1:{closed}"),
    ] {
        let (code, _, err) = run(
            &["reload", "-c", "steerdns.toml", "--server", &server],
            d.dir.path(),
        );
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains(&format!("cannot reach http://127.0.0.1:{closed}/v1/reload"))
                && err.contains("Connection refused"),
            "{err}"
        );
    }
    assert_eq!(d.metric("steerdns_reloads_total{result=\"ok\"}"), 0.0);
    // The right address as a URL works.
    let (code, out, _) = run(
        &[
            "reload",
            "-c",
            "steerdns.toml",
            "--server",
            &format!("http://{}/", d.metrics),
        ],
        d.dir.path(),
    );
    assert_eq!(code, 0);
    assert!(out.contains("reload applied: generation 2"), "{out}");
}
