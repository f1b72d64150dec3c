//! Health-check targets for the side-by-side benchmark (`benches/health/run.sh`): N loopback
//! HTTP servers, one per address 127.0.X.Y (X from 1, Y 1..=250) on one port, all served by
//! one thread. Every request gets `200 OK` with the body `ok`; HTTP/1.1 connections are kept
//! unless the client asks to close them, HTTP/1.0 ones (HAProxy's checks) are closed.
//!
//! ```text
//! cargo run --release --example health_targets -- [targets] [seconds]
//! ```
//!
//! Prints the port on the first line, then every 100 ms the counts so far:
//! `accepts=A steerdns=S other=O` (connections accepted; requests whose `User-Agent` starts
//! with `steerdns`; other requests, e.g. HAProxy's). A TCP check is an accept without a
//! request. Loopback only; it exits by itself after `seconds` (default 300, at most 1800).

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Default)]
struct Counts {
    accepts: AtomicU64,
    steerdns: AtomicU64,
    other: AtomicU64,
}

/// The address of target `i`: 127.0.1.1, ..., 127.0.1.250, 127.0.2.1, ...
fn address(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, (1 + i / 250) as u8, (1 + i % 250) as u8)
}

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

async fn serve(mut stream: TcpStream, counts: Arc<Counts>) {
    let mut buf = [0u8; 2048];
    let mut seen = Vec::with_capacity(512);
    loop {
        seen.clear();
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            if seen.len() > 16 * 1024 {
                return;
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        let head = String::from_utf8_lossy(&seen).to_ascii_lowercase();
        if head.contains("\r\nuser-agent: steerdns") {
            counts.steerdns.fetch_add(1, Ordering::Relaxed);
        } else {
            counts.other.fetch_add(1, Ordering::Relaxed);
        }
        let keep = head.contains(" http/1.1\r\n") && !head.contains("\r\nconnection: close");
        let reply: &[u8] = if keep {
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        } else {
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
        };
        if stream.write_all(reply).await.is_err() || !keep {
            return;
        }
    }
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let n: u32 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let secs: u64 = args
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(300)
        .min(1800);
    if n == 0 || n > 250 * 250 {
        return Err("targets must be 1..=62500".into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // The first address picks a free port; the others share it.
        let first = listen(SocketAddr::from((address(0), 0)))?;
        let port = first.local_addr()?.port();
        let mut listeners = vec![first];
        for i in 1..n {
            listeners.push(listen(SocketAddr::from((address(i), port)))?);
        }
        let counts = Arc::new(Counts::default());
        for listener in listeners {
            let counts = counts.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    counts.accepts.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(serve(stream, counts.clone()));
                }
            });
        }
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{port}")?;
        stdout.flush()?;
        // Bounded: report ten times a second, stop after `secs`.
        for _ in 0..secs * 10 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            writeln!(
                stdout,
                "accepts={} steerdns={} other={}",
                counts.accepts.load(Ordering::Relaxed),
                counts.steerdns.load(Ordering::Relaxed),
                counts.other.load(Ordering::Relaxed)
            )?;
            stdout.flush()?;
        }
        Ok::<(), BoxError>(())
    })
}
