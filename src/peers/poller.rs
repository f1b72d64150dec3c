//! The peer poller: every `[peers] poll`, read every peer's `/v1/health` with the token as a
//! Bearer header, record the result in the [`Fleet`] book, log each peer once per change, then
//! wake the agreement.
//!
//! ```text
//!  every poll: snapshot's [peers] ─► book.sync_urls
//!     ├─ read peer 1 ┐  at most MAX_CONCURRENT_READS at once, each bounded by
//!     ├─ read peer 2 ├─ read_timeout(poll) < poll: connect, status, body ≤ MAX_REPORT_BYTES,
//!     └─ read peer n ┘  JSON ─► PeerRecord::heard / ::failed
//!  ─► log changes (up / unreachable with reason / stale) ─► Fleet::wake (agreement)
//! ```
//!
//! Settings are read from the serving snapshot at every round, so a reload that adds a peer,
//! changes the token or the poll interval takes effect at the next round. No connection is
//! kept between rounds: each read opens a new one (a few per poll interval), so a peer that
//! restarts or moves is seen at once. A URL that answers with this instance's own identity is
//! this instance itself (one `urls` list naming every instance can be shared by all of them;
//! two instances with one identity show up the same way, which is why identities must
//! differ): it is marked `self` and never counts, or it would count one observer twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::book::{PeerState, PeerStatus};
use super::fleet::Fleet;
use super::report::{HealthReport, PeerView, identity};
use crate::config::model::{PeersSettings, Token};
use crate::state::{Store, now_unix};

/// Most peer reads in flight at once.
pub const MAX_CONCURRENT_READS: usize = 16;

/// Largest `/v1/health` body read (about 200 000 endpoints).
pub const MAX_REPORT_BYTES: usize = 64 * 1024 * 1024;

/// Bodies above this are parsed on a blocking thread, not on the runtime's workers.
const PARSE_INLINE_MAX: usize = 1024 * 1024;

/// How often the poller looks at the config while no peer is configured.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// The bound of one read: three quarters of `poll` (so a round always ends before the next
/// one is due), at least 50 ms.
pub fn read_timeout(poll: Duration) -> Duration {
    poll.mul_f64(0.75).max(Duration::from_millis(50))
}

/// Polls the peers of `store`'s snapshots into `fleet` until the task is aborted.
pub async fn run(fleet: Arc<Fleet>, store: Store) {
    let client = match http_client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %crate::error::render_chain(&e), "peer poller cannot start; deciding alone");
            fleet.first_round_done();
            return;
        }
    };
    let mut logged: HashMap<String, (PeerState, Option<String>, bool)> = HashMap::new();
    loop {
        let snap = store.load_full();
        let Some(settings) = snap.config.peers.clone() else {
            fleet.sync_urls(&[]);
            fleet.first_round_done();
            logged.clear();
            drop(snap);
            tokio::time::sleep(IDLE_CHECK).await;
            continue;
        };
        let own = identity(&snap.config);
        drop(snap);
        let started = Instant::now();
        fleet.sync_urls(&settings.urls);
        round(&client, &fleet, &settings, &own).await;
        fleet.first_round_done();
        log_changes(
            &fleet.statuses(Instant::now(), settings.stale_after),
            &mut logged,
        );
        fleet.wake();
        tokio::time::sleep_until(started + settings.poll).await;
    }
}

/// The HTTP client for peer reads: no proxy from the environment, no redirects, no kept
/// connections; HTTPS peers are verified against the system's roots.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    crate::tls::client_builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .user_agent(concat!("steerdns-peer/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Reads every peer once, at most [`MAX_CONCURRENT_READS`] at a time, and records the results.
pub async fn round(client: &reqwest::Client, fleet: &Fleet, settings: &PeersSettings, own: &str) {
    let timeout = read_timeout(settings.poll);
    let permits = Arc::new(Semaphore::new(MAX_CONCURRENT_READS));
    let mut reads = JoinSet::new();
    for url in &settings.urls {
        let (client, permits, url) = (client.clone(), permits.clone(), url.clone());
        let token = settings.token.clone();
        reads.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result =
                match tokio::time::timeout(timeout, read(&client, &url, token.as_ref())).await {
                    Ok(r) => r,
                    Err(_) => Err(format!("timeout after {timeout:?}")),
                };
            (url, result)
        });
    }
    while let Some(done) = reads.join_next().await {
        let Ok((url, result)) = done else {
            continue; // a read task panicked or was aborted: nothing to record
        };
        match result {
            Ok(report) if report.identity == own => fleet.update(&url, |r| r.found_itself()),
            Ok(report) => {
                let view = PeerView::from_report(report);
                let (at, unix) = (Instant::now(), now_unix());
                fleet.update(&url, |r| r.heard(view, at, unix));
            }
            Err(reason) => fleet.update(&url, |r| r.failed(reason)),
        }
    }
}

/// One read of `base`'s `/v1/health`. The error is a short reason for logs and the status
/// page.
pub async fn read(
    client: &reqwest::Client,
    base: &str,
    token: Option<&Token>,
) -> Result<HealthReport, String> {
    let url = format!("{}/v1/health", base.trim_end_matches('/'));
    let mut req = client.get(&url);
    if let Some(token) = token {
        req = req.bearer_auth(token.expose());
    }
    let mut resp = req
        .send()
        .await
        .map_err(|e| crate::health::probe::describe(&e))?;
    match resp.status().as_u16() {
        200 => {}
        401 => return Err("HTTP 401: the peer refused the token ([peers] token_file)".to_owned()),
        403 => {
            return Err(
                "HTTP 403: the peer does not trust this address and has no token_file".to_owned(),
            );
        }
        code => return Err(format!("HTTP {code}")),
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("body read failed: {}", crate::health::probe::describe(&e)))?
    {
        if body.len() + chunk.len() > MAX_REPORT_BYTES {
            return Err(format!("report larger than {MAX_REPORT_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    let parse = |body: Vec<u8>| {
        serde_json::from_slice::<HealthReport>(&body)
            .map_err(|e| format!("not a health report: {e}"))
    };
    if body.len() <= PARSE_INLINE_MAX {
        parse(body)
    } else {
        tokio::task::spawn_blocking(move || parse(body))
            .await
            .map_err(|e| format!("parse task failed: {e}"))?
    }
}

/// Logs every peer whose state, reason or counting changed since the last call.
fn log_changes(
    peers: &[PeerStatus],
    logged: &mut HashMap<String, (PeerState, Option<String>, bool)>,
) {
    logged.retain(|url, _| peers.iter().any(|p| &p.url == url));
    for p in peers {
        let now = (p.state, p.reason.clone(), p.counts);
        if logged.get(&p.url) == Some(&now) {
            continue;
        }
        let reason = p.reason.as_deref().unwrap_or("");
        match p.state {
            PeerState::Up => tracing::info!(
                peer = %p.url, identity = p.identity.as_deref().unwrap_or(""),
                generation = p.generation.unwrap_or(0), "peer up"
            ),
            PeerState::Unreachable if p.counts => tracing::warn!(
                peer = %p.url, reason,
                "peer unreachable; its last report counts until it is stale"
            ),
            PeerState::Unreachable => tracing::warn!(
                peer = %p.url, reason, "peer unreachable; not counted"
            ),
            PeerState::Stale => tracing::warn!(peer = %p.url, reason, "peer stale; not counted"),
            PeerState::Itself => tracing::info!(
                peer = %p.url, "peer URL reaches this instance itself; not counted"
            ),
        }
        logged.insert(p.url.clone(), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_timeout_is_shorter_than_poll() {
        for ms in [100, 500, 2000, 10_000] {
            let poll = Duration::from_millis(ms);
            assert!(read_timeout(poll) < poll, "{poll:?}");
        }
        assert_eq!(
            read_timeout(Duration::from_secs(2)),
            Duration::from_millis(1500)
        );
    }
}
