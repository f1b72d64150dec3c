//! Health-checker load measurement: N targets (default 2000) probed every second against a
//! local server running in a child process (so its CPU is not counted), for ~10 s; prints this
//! process's CPU time as % of one core. Loopback only; every loop is bounded.
//!
//! ```text
//! cargo run --example health_load -- [http|http-reuse|tcp] [targets] [seconds]
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use steerdns::health::{
    CheckTarget, HealthHooks, HealthRunner, HealthTable, ProbeEvent, ProbeKind, ProbeSpec, Prober,
    RunnerConfig, SlotId, Status, TargetLabels,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Linux `/proc` reports CPU times in USER_HZ, which is 100 on every mainstream platform.
const USER_HZ: f64 = 100.0;

/// The longest the child server lives, whatever happens to the parent.
const SERVER_LIFETIME: Duration = Duration::from_secs(120);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn out(line: &str) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// utime + stime of this process (all threads), in seconds.
fn cpu_seconds() -> Result<f64, BoxError> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("odd /proc/self/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after ')'.
    let utime: f64 = fields.get(11).ok_or("no utime")?.parse()?;
    let stime: f64 = fields.get(12).ok_or("no stime")?.parse()?;
    Ok((utime + stime) / USER_HZ)
}

async fn run_server() -> Result<(), BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    out(&listener.local_addr()?.to_string());
    let serve = async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                // Requests on one connection until the client asks to close it.
                loop {
                    let mut seen = Vec::new();
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < 16 * 1024 {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    let keep = seen
                        .windows(10)
                        .any(|w| w.eq_ignore_ascii_case(b"keep-alive"));
                    let reply: &[u8] = if keep {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                    } else {
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    };
                    if stream.write_all(reply).await.is_err() || !keep {
                        let _ = stream.shutdown().await;
                        return;
                    }
                }
            });
        }
    };
    // Bounded: the server stops after SERVER_LIFETIME even if nobody kills it.
    let _ = tokio::time::timeout(SERVER_LIFETIME, serve).await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--server") {
        return run_server().await;
    }
    let kind = args.get(1).cloned().unwrap_or_else(|| "http".into());
    let n: u32 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let secs: u64 = args
        .get(3)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10)
        .min(60);

    let mut child = Command::new(std::env::current_exe()?)
        .arg("--server")
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no child stdout")?).read_line(&mut line)?;
    let addr: SocketAddr = line.trim().parse()?;
    if !addr.ip().is_loopback() {
        return Err("server is not on loopback".into());
    }

    let probe_kind = match kind.as_str() {
        "tcp" => ProbeKind::Tcp,
        _ => ProbeKind::Http {
            path: "/healthz".into(),
            host: None,
            expect_status: vec![200],
            expect_body: Some("ok".into()),
            tls: None,
            reuse: kind == "http-reuse",
        },
    };
    let targets: Vec<CheckTarget> = (0..n)
        .map(|i| CheckTarget {
            key: format!("load/svc/r/{i}"),
            labels: Arc::new(TargetLabels {
                zone: "load".into(),
                service: "svc".into(),
                region: "r".into(),
                endpoint: i.to_string(),
            }),
            spec: ProbeSpec {
                kind: probe_kind.clone(),
                target: addr,
                timeout: Duration::from_millis(900),
                source: None,
            },
            interval: Duration::from_secs(1),
            rise: 2,
            fall: 3,
            slot: SlotId(i),
        })
        .collect();
    let (passes, fails) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let hooks = HealthHooks {
        on_flip: None,
        on_probe: Some({
            let (passes, fails) = (passes.clone(), fails.clone());
            Arc::new(move |e: &ProbeEvent<'_>| {
                let c = if e.outcome.passed { &passes } else { &fails };
                c.fetch_add(1, Ordering::Relaxed);
            })
        }),
    };
    let table = Arc::new(HealthTable::new(n as usize));
    let runner = HealthRunner::start(
        targets,
        table.clone(),
        Arc::new(Prober::new()?),
        hooks,
        RunnerConfig::default(),
    );

    // Warm up past the first (spread) round, then measure.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu0, p0, f0) = (
        cpu_seconds()?,
        passes.load(Ordering::Relaxed),
        fails.load(Ordering::Relaxed),
    );
    let t0 = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds()? - cpu0;
    let (p, f) = (
        passes.load(Ordering::Relaxed) - p0,
        fails.load(Ordering::Relaxed) - f0,
    );
    let down = table
        .to_vec()
        .iter()
        .filter(|&&s| s == Status::Down)
        .count();
    runner.shutdown().await;
    let _ = child.kill();
    let _ = child.wait();

    out(&format!(
        "{kind}: {n} targets, interval 1s, {wall:.1}s measured: {p} passes, {f} fails ({:.0} probes/s), \
         {down} down; CPU {cpu:.2}s = {:.1}% of one core",
        (p + f) as f64 / wall,
        100.0 * cpu / wall
    ));
    Ok(())
}
