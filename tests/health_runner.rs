//! Real-time runner test: a local HTTP server flips between 200 and 503 and the table follows
//! within loose bounds. Loopback only; every loop has a deadline.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use steerdns::health::{
    CheckTarget, FlipEvent, HealthHooks, HealthRunner, HealthTable, ProbeEvent, ProbeKind,
    ProbeSpec, Prober, RunnerConfig, SlotId, Status, TargetLabels,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// HTTP server answering every request with the current `status`.
async fn flipping_server(status: Arc<AtomicU16>) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let code = status.load(Ordering::Relaxed);
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < 16 * 1024 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let resp = format!(
                    "HTTP/1.1 {code} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
                let _ = stream.write_all(resp.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, task)
}

async fn wait_for(table: &HealthTable, want: Status, deadline: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if table.get(SlotId(0)) == want {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

#[tokio::test]
async fn table_follows_a_flapping_server() {
    let status = Arc::new(AtomicU16::new(200));
    let (addr, server) = flipping_server(status.clone()).await;
    let interval = Duration::from_millis(150);
    let (rise, fall) = (2u32, 3u32);
    let target = CheckTarget {
        key: "gslb.example.test/www/eu-west/127.0.0.1".into(),
        labels: Arc::new(TargetLabels {
            zone: "gslb.example.test".into(),
            service: "www".into(),
            region: "eu-west".into(),
            endpoint: "127.0.0.1".into(),
        }),
        spec: ProbeSpec {
            kind: ProbeKind::Http {
                path: "/healthz".into(),
                host: None,
                expect_status: vec![200],
                expect_body: Some("ok".into()),
                tls: None,
                reuse: false,
            },
            target: addr,
            timeout: Duration::from_millis(100),
            source: None,
        },
        interval,
        rise,
        fall,
        slot: SlotId(0),
    };
    let flips: Arc<Mutex<Vec<(Status, String)>>> = Arc::default();
    let (passes, fails) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let hooks = HealthHooks {
        on_flip: Some({
            let flips = flips.clone();
            Arc::new(move |e: &FlipEvent| {
                flips
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((e.to, e.reason.clone()));
            })
        }),
        on_probe: Some({
            let (passes, fails) = (passes.clone(), fails.clone());
            Arc::new(move |e: &ProbeEvent<'_>| {
                let c = if e.outcome.passed { &passes } else { &fails };
                c.fetch_add(1, Ordering::Relaxed);
            })
        }),
    };
    let table = Arc::new(HealthTable::new(1));
    let prober = Arc::new(Prober::new().expect("prober builds"));
    let runner = HealthRunner::start(
        vec![target],
        table.clone(),
        prober,
        hooks,
        RunnerConfig::default(),
    );

    // Up and probing.
    tokio::time::sleep(interval * 2).await;
    assert_eq!(table.get(SlotId(0)), Status::Up);
    assert!(passes.load(Ordering::Relaxed) >= 1);

    // Fails: down after about fall × interval; recovers: up after about rise × interval
    // (allow 3× each).
    for (code, want, results) in [(503, Status::Down, fall), (200, Status::Up, rise)] {
        status.store(code, Ordering::Relaxed);
        let limit = interval * results * 3;
        let took = wait_for(&table, want, limit).await;
        assert!(
            took.is_some(),
            "not {want:?} within {limit:?} of HTTP {code}"
        );
    }

    let got = flips.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(
        got,
        vec![
            (Status::Down, "HTTP 503".into()),
            (Status::Up, "HTTP 200".into())
        ]
    );
    assert!(fails.load(Ordering::Relaxed) >= fall as usize);
    runner.shutdown().await;
    server.abort();
}
