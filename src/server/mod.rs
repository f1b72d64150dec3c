//! Listeners: UDP worker threads and TCP connections, both answering through
//! [`crate::dns::answer::answer`], each query from exactly one snapshot, with at most one
//! snapshot load per query.
//!
//! UDP runs on plain OS threads, one `SO_REUSEPORT` socket per worker per address, each in a
//! blocking receive → answer → send loop: no task, no channel, no lock and no allocation per
//! query (the buffers are reused). A worker loads the snapshot once per batch of received
//! queries (up to 32 from one `recvmmsg`) and answers all of them from it, so a reload applies
//! from the next batch on; TCP loads it once per query. TCP runs on tokio: one task per connection, bounded in
//! number (total and per client), with an idle timeout; pipelined queries are answered in
//! order.

#[cfg(target_os = "linux")]
mod batch;
mod clock;
pub mod listeners;
pub mod rrl;
pub mod tcp;
pub mod udp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::dns::answer::{AnswerInfo, Transport};
use crate::state::Store;

/// Called once per answered query (metrics and query logs). Must be cheap and lock-free.
pub trait QueryObserver: Send + Sync {
    /// One query was answered (or dropped when `info` is `None`). `query` is the packet as
    /// received (the query log names its question in the client's case).
    fn observe(
        &self,
        snap: &crate::state::Snapshot,
        source: SocketAddr,
        transport: Transport,
        query: &[u8],
        info: Option<&AnswerInfo>,
        elapsed: Duration,
    );

    /// A UDP response was dropped or slipped by rate limiting.
    fn rate_limited(&self) {}
}

/// An observer that does nothing (tests, benchmarks).
#[derive(Debug, Default)]
pub struct NoObserver;

impl QueryObserver for NoObserver {
    fn observe(
        &self,
        _: &crate::state::Snapshot,
        _: SocketAddr,
        _: Transport,
        _: &[u8],
        _: Option<&AnswerInfo>,
        _: Duration,
    ) {
    }
}

/// Settings the listeners need besides the snapshot.
#[derive(Clone)]
pub struct ListenerShared {
    /// The serving snapshot.
    pub store: Store,
    /// Metrics and logs.
    pub observer: Arc<dyn QueryObserver>,
    /// Response rate limiting state (shared by every UDP worker, kept across reloads).
    pub rrl: Arc<rrl::Rrl>,
}

impl std::fmt::Debug for ListenerShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerShared").finish_non_exhaustive()
    }
}
