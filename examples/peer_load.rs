//! Peer-poller cost measurement (SPEC §4.1, issue 14): this process runs the real peer poller
//! and agreement against `peers` fake peers (default 3) served by a child process on loopback
//! (so serving them is not counted), each reporting `endpoints` endpoints (default 2000), at
//! `poll` (default 2 s), for `seconds` (default 30). It prints this process's CPU time as % of
//! one core, its resident memory before and after the poller started, and the time to build
//! and serialize this instance's own `/v1/health` report for as many endpoints (what every
//! instance pays per peer reading it). Loopback only; every loop is bounded.
//!
//! ```text
//! cargo run --release --example peer_load -- [peers] [endpoints] [seconds] [poll_ms]
//! ```

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use steerdns::health::Status;
use steerdns::peers::report::ReportedEndpoint;
use steerdns::peers::{Agreement, Fleet, HealthReport, local_report};
use steerdns::state::{Snapshot, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Linux `/proc` reports CPU times in USER_HZ, which is 100 on every mainstream platform.
const USER_HZ: f64 = 100.0;

/// The longest the child server lives, whatever happens to the parent.
const SERVER_LIFETIME: Duration = Duration::from_secs(300);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn out(line: &str) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// (utime + stime in seconds, resident set in KiB) of this process.
fn usage() -> Result<(f64, u64), BoxError> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("odd /proc/self/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11).ok_or("no utime")?.parse()?;
    let stime: f64 = fields.get(12).ok_or("no stime")?.parse()?;
    let status = std::fs::read_to_string("/proc/self/status")?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(((utime + stime) / USER_HZ, rss))
}

/// The zone's endpoint `i`: 40 regions of 50 endpoints, addresses in 127.1.0.0/16 (never
/// contacted: nothing probes in this measurement).
fn endpoint(i: usize) -> (String, String) {
    (
        format!("r{}", i / 50),
        format!("127.1.{}.{}", i / 250, i % 250 + 1),
    )
}

/// The report a fake peer serves: every endpoint, one in ten down.
fn fake_report(peer: usize, endpoints: usize) -> HealthReport {
    HealthReport {
        identity: format!("fake-{peer}"),
        generation: 1,
        endpoints: (0..endpoints)
            .map(|i| {
                let (region, address) = endpoint(i);
                ReportedEndpoint {
                    zone: "load.test".into(),
                    service: "www".into(),
                    region,
                    address,
                    check: "web".into(),
                    state: if (i + peer).is_multiple_of(10) {
                        Status::Down
                    } else {
                        Status::Up
                    },
                    since: "2026-01-01T00:00:00Z".into(),
                    since_unix: 1_767_225_600,
                }
            })
            .collect(),
    }
}

/// Child: serves `peers` fake peers, one listener each; prints their addresses.
async fn run_peers(peers: usize, endpoints: usize) -> Result<(), BoxError> {
    let mut addrs = Vec::new();
    for p in 0..peers {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        addrs.push(listener.local_addr()?.to_string());
        let body = Arc::new(serde_json::to_vec(&fake_report(p, endpoints))?);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let mut seen = Vec::new();
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < 16 * 1024 {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    if stream.write_all(head.as_bytes()).await.is_ok() {
                        let _ = stream.write_all(&body).await;
                    }
                    let _ = stream.shutdown().await;
                });
            }
        });
    }
    out(&addrs.join(" "));
    tokio::time::sleep(SERVER_LIFETIME).await;
    Ok(())
}

/// Writes a config of one zone with `endpoints` checked endpoints and `[peers]` at `urls`.
fn write_config(
    dir: &std::path::Path,
    urls: &[String],
    endpoints: usize,
    poll_ms: u64,
) -> Result<(), BoxError> {
    let peers: Vec<String> = urls.iter().map(|u| format!("\"http://{u}\"")).collect();
    std::fs::write(
        dir.join("steerdns.toml"),
        format!(
            "[metrics]\nlisten = \"\"\n[peers]\nurls = [{}]\npoll = \"{poll_ms}ms\"\nstale_after = \"{}ms\"\n",
            peers.join(", "),
            poll_ms * 5
        ),
    )?;
    std::fs::create_dir_all(dir.join("zones"))?;
    let mut zone = String::from(
        "origin = \"load.test.\"\n[soa]\nmname = \"ns.load.test.\"\nrname = \"h.load.test.\"\nserial = 1\n[check.web]\nkind = \"http\"\nport = 80\n",
    );
    let regions = endpoints.div_ceil(50);
    for r in 0..regions {
        zone.push_str(&format!("[region.r{r}]\n"));
    }
    let tier: Vec<String> = (0..regions).map(|r| format!("r{r}")).collect();
    zone.push_str(&format!(
        "[service.www]\ngeo = {{ default = \"{}\" }}\ncheck = \"web\"\n",
        tier.join(", ")
    ));
    for r in 0..regions {
        let addrs: Vec<String> = (r * 50..((r + 1) * 50).min(endpoints))
            .map(|i| format!("\"{}\"", endpoint(i).1))
            .collect();
        zone.push_str(&format!(
            "[service.www.region.r{r}]\nendpoints = [{}]\n",
            addrs.join(", ")
        ));
    }
    std::fs::write(dir.join("zones/load.toml"), zone)?;
    Ok(())
}

async fn measure(
    peers: usize,
    endpoints: usize,
    seconds: u64,
    poll_ms: u64,
) -> Result<(), BoxError> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["serve-peers", &peers.to_string(), &endpoints.to_string()])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no child stdout")?).read_line(&mut line)?;
    let urls: Vec<String> = line.split_whitespace().map(str::to_owned).collect();

    let dir = tempfile::tempdir()?;
    write_config(dir.path(), &urls, endpoints, poll_ms)?;
    let cfg = steerdns::config::load(&dir.path().join("steerdns.toml"), 0)
        .map_err(|e| format!("config: {e:?}"))?;
    assert_eq!(cfg.checks.len(), endpoints);
    let snap = Snapshot::new(1, cfg, None, 0, None);

    // This instance's own report, as every peer reading it costs it.
    let rounds = 50;
    let start = std::time::Instant::now();
    let mut bytes = 0;
    for _ in 0..rounds {
        bytes = serde_json::to_vec(&local_report(&snap))?.len();
    }
    let per_report = start.elapsed() / rounds;

    let store: Store = Arc::new(ArcSwap::from_pointee(snap));
    let fleet = Arc::new(Fleet::new());
    let (cpu0, rss0) = usage()?;
    let agreement =
        tokio::spawn(Agreement::new(fleet.clone(), store.clone(), Default::default()).run());
    let poller = tokio::spawn(steerdns::peers::poller::run(fleet.clone(), store.clone()));
    let wall = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (cpu1, rss1) = usage()?;
    let elapsed = wall.elapsed().as_secs_f64();
    poller.abort();
    agreement.abort();
    let _ = child.kill();
    let _ = child.wait();

    let statuses = fleet.statuses(
        tokio::time::Instant::now(),
        Duration::from_millis(poll_ms * 5),
    );
    let up = statuses.iter().filter(|s| s.counts).count();
    let disagree = {
        let snap = store.load();
        snap.config
            .checks
            .iter()
            .filter(|c| snap.health.get(c.slot) != snap.health.local(c.slot))
            .count()
    };
    out(&format!(
        "{peers} peers x {endpoints} endpoints, poll {poll_ms} ms, {elapsed:.1} s: CPU {:.2}% of one core ({:.3} s), RSS {} KiB -> {} KiB (+{} KiB); {up} peers counted, {disagree} endpoints agreed down",
        (cpu1 - cpu0) / elapsed * 100.0,
        cpu1 - cpu0,
        rss0,
        rss1,
        rss1.saturating_sub(rss0)
    ));
    out(&format!(
        "own /v1/health report: {bytes} bytes, {per_report:?} to build and serialize (per peer reading it every poll)"
    ));
    if up != peers {
        return Err(format!("only {up} of {peers} peers counted: {statuses:?}").into());
    }
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if args.first().map(String::as_str) == Some("serve-peers") {
        let peers = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3);
        let endpoints = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2000);
        return runtime.block_on(run_peers(peers, endpoints));
    }
    let peers = args.first().and_then(|a| a.parse().ok()).unwrap_or(3);
    let endpoints = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let seconds = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30)
        .min(600);
    let poll_ms = args
        .get(3)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000)
        .max(100);
    runtime.block_on(measure(peers, endpoints, seconds, poll_ms))
}
