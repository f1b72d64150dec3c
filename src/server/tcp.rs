//! TCP (RFC 7766): length-prefixed messages, pipelining answered in order, limits on
//! connections in total and per client, idle timeout.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener as TokioListener, TcpStream};
use tokio::sync::watch;

use super::ListenerShared;
use crate::dns::answer::{QueryContext, Transport, answer_guarded};

/// Limits for TCP connections, read from the snapshot when a connection arrives.
#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

/// A running TCP listener.
#[derive(Debug)]
pub struct TcpListener {
    /// Bound address.
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl TcpListener {
    /// Binds `addr` and serves it on the current tokio runtime.
    pub async fn start(addr: SocketAddr, shared: ListenerShared) -> io::Result<Self> {
        let socket = if addr.is_ipv6() {
            tokio::net::TcpSocket::new_v6()?
        } else {
            tokio::net::TcpSocket::new_v4()?
        };
        socket.set_reuseaddr(true)?;
        if addr.is_ipv6() {
            // tokio's TcpSocket has no only_v6 setter; a v6 bind on Linux accepts v4-mapped
            // too unless the sysctl says otherwise, which is harmless here: the address is
            // explicit.
        }
        socket.bind(addr)?;
        let listener = socket.listen(1024)?;
        let bound = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(accept_loop(listener, shared, stopped));
        Ok(Self { addr: bound, stop })
    }

    /// Stops accepting and closes every connection of this listener.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn accept_loop(
    listener: TokioListener,
    shared: ListenerShared,
    mut stopped: watch::Receiver<bool>,
) {
    let counts = Arc::new(Mutex::new(Counts::default()));
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stopped.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::debug!(error = %e, "tcp accept failed");
                // Out of file descriptors and the like: back off a little.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let (max_total, max_per_client, idle) = {
            let snap = shared.store.load();
            let s = &snap.config.server;
            (
                s.max_tcp_connections,
                s.max_tcp_connections_per_client,
                s.tcp_idle_timeout,
            )
        };
        let admitted = {
            let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
            let mine = c.per_client.get(&peer.ip()).copied().unwrap_or(0);
            if c.total >= max_total || mine >= max_per_client {
                false
            } else {
                c.total += 1;
                *c.per_client.entry(peer.ip()).or_insert(0) += 1;
                true
            }
        };
        if !admitted {
            // Closed at once; the existing connections keep being served.
            drop(stream);
            continue;
        }
        let shared = shared.clone();
        let counts = counts.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = serve_connection(stream, peer, &shared, idle) => {}
                _ = stopped.changed() => {}
            }
            let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
            c.total = c.total.saturating_sub(1);
            if let Some(n) = c.per_client.get_mut(&peer.ip()) {
                *n -= 1;
                if *n == 0 {
                    c.per_client.remove(&peer.ip());
                }
            }
        });
    }
}

async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    shared: &ListenerShared,
    idle: Duration,
) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 65_535];
    let mut out = Vec::with_capacity(4096);
    let mut framed = Vec::with_capacity(4096);
    let mut rotation: u32 = 0;
    loop {
        // Idle timeout covers the wait for the next message and reading all of it, so a
        // client that trickles bytes cannot hold the connection.
        let read = tokio::time::timeout(idle, async {
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).await?;
            let len = usize::from(u16::from_be_bytes(len));
            stream.read_exact(&mut buf[..len]).await?;
            Ok::<usize, io::Error>(len)
        })
        .await;
        let len = match read {
            Ok(Ok(len)) => len,
            _ => return,
        };
        let started = tokio::time::Instant::now();
        rotation = rotation.wrapping_add(1);
        let snap = shared.store.load_full();
        let cx = QueryContext {
            source: peer.ip(),
            transport: Transport::Tcp,
            rotation,
            // Seconds are enough: DNSSEC signatures change windows every few hours.
            now: crate::state::now_unix() as u32,
        };
        let info = answer_guarded(&snap, &buf[..len], &cx, &mut out);
        shared.observer.observe(
            &snap,
            peer,
            Transport::Tcp,
            &buf[..len],
            info.as_ref(),
            started.elapsed(),
        );
        let Some(_) = info else {
            // Not a query: nothing sensible to say on this stream.
            return;
        };
        framed.clear();
        framed.extend_from_slice(&(out.len() as u16).to_be_bytes());
        framed.extend_from_slice(&out);
        match tokio::time::timeout(idle, stream.write_all(&framed)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}
