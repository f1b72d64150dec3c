//! The UDP and TCP listeners of every `[server] listen` address, opened at start and
//! rebound after a reload.

use std::net::SocketAddr;

use super::ListenerShared;
use super::tcp::TcpListener;
use super::udp::UdpListener;
use crate::error::ListenError;

/// The UDP and TCP listeners of every `[server] listen` address.
pub struct Listeners {
    workers: usize,
    shared: ListenerShared,
    by_addr: Vec<(SocketAddr, UdpListener, TcpListener)>,
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let addrs: Vec<SocketAddr> = self.by_addr.iter().map(|(a, _, _)| *a).collect();
        f.debug_struct("Listeners")
            .field("workers", &self.workers)
            .field("addrs", &addrs)
            .finish_non_exhaustive()
    }
}

impl Listeners {
    /// No listener yet; `workers` UDP threads per address.
    pub fn new(workers: usize, shared: ListenerShared) -> Self {
        Self {
            workers,
            shared,
            by_addr: Vec::new(),
        }
    }

    /// Binds UDP and TCP on `addr`.
    pub async fn open(&mut self, addr: SocketAddr) -> Result<(), ListenError> {
        let u = UdpListener::start(addr, self.workers, self.shared.clone()).map_err(|source| {
            ListenError {
                proto: "udp",
                addr,
                source,
            }
        })?;
        let t = TcpListener::start(addr, self.shared.clone())
            .await
            .map_err(|source| ListenError {
                proto: "tcp",
                addr,
                source,
            })?;
        tracing::info!(udp = %u.addr, tcp = %t.addr, workers = self.workers, "listening");
        self.by_addr.push((addr, u, t));
        Ok(())
    }

    /// After a reload: closes addresses no longer listed and opens new ones; the others are
    /// untouched, so their queries and connections are not disturbed. Returns the addresses
    /// that could not be bound (the others serve regardless).
    pub async fn rebind(&mut self, wanted: &[SocketAddr]) -> Vec<ListenError> {
        let (keep, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut self.by_addr)
            .into_iter()
            .partition(|(a, _, _)| wanted.contains(a));
        self.by_addr = keep;
        for (addr, u, t) in gone {
            t.shutdown();
            u.shutdown();
            tracing::info!(%addr, "stopped listening (removed from [server] listen)");
        }
        let mut failed = Vec::new();
        for addr in wanted {
            if self.by_addr.iter().any(|(a, _, _)| a == addr) {
                continue;
            }
            if let Err(e) = self.open(*addr).await {
                tracing::error!(error = %crate::error::render_chain(&e), "new listen address could not be bound; the others keep serving");
                failed.push(e);
            }
        }
        failed
    }

    /// Stops every listener.
    pub fn close_all(&mut self) {
        for (_, u, t) in self.by_addr.drain(..) {
            t.shutdown();
            u.shutdown();
        }
    }
}
