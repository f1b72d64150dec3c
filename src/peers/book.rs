//! What this instance knows of each peer: its last good report and how its reads go. Pure
//! data and pure functions; the poller writes it, the agreement, explain, metrics and the
//! status page read [`PeerStatus`] snapshots of it.
//!
//! ```text
//!                 read ok                          read failed (reason)
//!   ┌─────────┐ ─────────► ┌──────┐ ◄──────────── ┌─────────────┐
//!   │ (start) │            │  up  │ ─────────────► │ unreachable │ ── counts until stale_after
//!   └─────────┘ ─────────────────────────────────► └─────────────┘    after it was last heard
//!                 read failed        │ no read finished for stale_after
//!                                    ▼
//!                                 ┌───────┐
//!                                 │ stale │   (does not count)
//!                                 └───────┘
//! ```
//!
//! A peer *counts* (its view takes part in the agreement) while its last good read is less
//! than `stale_after` old, so one lost or slow read does not move answers; a peer never read
//! successfully (a wrong token, garbage, nothing listening) never counts.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::quorum::is_fresh;
use super::report::PeerView;

/// How the reads of a peer go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerState {
    /// The last read returned a good report.
    Up,
    /// The last read failed (unreachable, timeout, refused token, garbage); see the reason.
    Unreachable,
    /// The last read was good but is older than `stale_after` (reads are not finishing).
    Stale,
    /// The URL reaches this instance itself (it reported this instance's identity): not a
    /// peer. So one `urls` list naming every instance can be shared by all of them.
    #[serde(rename = "self")]
    Itself,
}

impl PeerState {
    /// `up`, `unreachable` or `stale`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Unreachable => "unreachable",
            Self::Stale => "stale",
            Self::Itself => "self",
        }
    }
}

/// Everything known about one peer.
#[derive(Debug, Clone)]
pub struct PeerRecord {
    /// The peer's base URL as configured (`[peers] urls`).
    pub url: String,
    /// Its last good report, indexed.
    pub view: Option<Arc<PeerView>>,
    /// When that report was read (monotonic clock).
    pub heard_at: Option<Instant>,
    /// The same in seconds since the Unix epoch, for display.
    pub heard_unix: Option<u64>,
    /// Why the last read failed; `None` when it succeeded (or none has finished yet).
    pub last_error: Option<String>,
    /// Whether any read has finished.
    pub attempted: bool,
    /// The last read found this instance itself.
    pub itself: bool,
}

impl PeerRecord {
    /// A peer not read yet.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            view: None,
            heard_at: None,
            heard_unix: None,
            last_error: None,
            attempted: false,
            itself: false,
        }
    }

    /// Records a good read.
    pub fn heard(&mut self, view: PeerView, at: Instant, unix: u64) {
        self.view = Some(Arc::new(view));
        self.heard_at = Some(at);
        self.heard_unix = Some(unix);
        self.last_error = None;
        self.attempted = true;
        self.itself = false;
    }

    /// Records a read that reached this instance itself: forgets any view, never counts.
    pub fn found_itself(&mut self) {
        self.view = None;
        self.heard_at = None;
        self.heard_unix = None;
        self.last_error = None;
        self.attempted = true;
        self.itself = true;
    }

    /// Records a failed read. The last good view is kept (it counts until it is stale).
    pub fn failed(&mut self, reason: String) {
        self.last_error = Some(reason);
        self.attempted = true;
        self.itself = false;
    }

    /// The peer as of `now`.
    pub fn status(&self, now: Instant, stale_after: Duration) -> PeerStatus {
        let counts = self.view.is_some() && is_fresh(self.heard_at, now, stale_after);
        let (state, reason) = match (&self.last_error, counts) {
            _ if self.itself => (
                PeerState::Itself,
                Some("this instance (it reports this instance's identity)".to_owned()),
            ),
            (Some(e), _) => (PeerState::Unreachable, Some(e.clone())),
            (None, true) => (PeerState::Up, None),
            (None, false) if !self.attempted => {
                (PeerState::Unreachable, Some("not read yet".to_owned()))
            }
            (None, false) => (
                PeerState::Stale,
                Some(format!("no read finished for {stale_after:?}")),
            ),
        };
        PeerStatus {
            url: self.url.clone(),
            identity: self.view.as_ref().map(|v| v.identity.clone()),
            generation: self.view.as_ref().map(|v| v.generation),
            state,
            reason,
            counts,
            last_heard_unix: self.heard_unix,
            last_heard_ago_ms: self
                .heard_at
                .map(|t| now.saturating_duration_since(t).as_millis() as u64),
        }
    }
}

/// One peer as shown by explain, metrics and the status page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerStatus {
    /// Base URL as configured.
    pub url: String,
    /// Identity from its last good report.
    pub identity: Option<String>,
    /// Generation from its last good report.
    pub generation: Option<u64>,
    /// How its reads go.
    pub state: PeerState,
    /// Why it is not up (the last read's failure, or staleness).
    pub reason: Option<String>,
    /// Whether its view takes part in the agreement now.
    pub counts: bool,
    /// When it was last heard from (seconds since the Unix epoch).
    pub last_heard_unix: Option<u64>,
    /// How long ago, in milliseconds.
    pub last_heard_ago_ms: Option<u64>,
}

impl PeerStatus {
    /// Its name in observer views: the identity it reports, else its URL.
    pub fn name(&self) -> &str {
        self.identity.as_deref().unwrap_or(&self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(id: &str) -> PeerView {
        PeerView {
            identity: id.to_owned(),
            ..PeerView::default()
        }
    }

    #[test]
    fn states_and_counting() {
        let stale = Duration::from_secs(10);
        let t0 = Instant::now();
        let mut p = PeerRecord::new("http://127.0.0.2:9153");
        let s = p.status(t0, stale);
        assert_eq!((s.state, s.counts), (PeerState::Unreachable, false));
        assert_eq!(s.reason.as_deref(), Some("not read yet"));

        p.failed("HTTP 401: wrong or missing token".into());
        let s = p.status(t0, stale);
        assert_eq!(
            (s.state, s.counts),
            (PeerState::Unreachable, false),
            "never heard"
        );

        p.heard(view("ns2"), t0, 1000);
        let s = p.status(t0 + Duration::from_secs(1), stale);
        assert_eq!((s.state, s.counts, s.name()), (PeerState::Up, true, "ns2"));
        assert_eq!(s.last_heard_ago_ms, Some(1000));

        // A failed read: unreachable at once, but its last view counts until stale_after.
        p.failed("timeout".into());
        let s = p.status(t0 + Duration::from_secs(9), stale);
        assert_eq!((s.state, s.counts), (PeerState::Unreachable, true));
        let s = p.status(t0 + Duration::from_secs(10), stale);
        assert_eq!((s.state, s.counts), (PeerState::Unreachable, false));
        assert_eq!(s.reason.as_deref(), Some("timeout"));

        // Good reads that stop finishing: stale.
        p.heard(view("ns2"), t0, 1000);
        let s = p.status(t0 + Duration::from_secs(11), stale);
        assert_eq!((s.state, s.counts), (PeerState::Stale, false));
        assert_eq!(s.reason.as_deref(), Some("no read finished for 10s"));

        // The URL turns out to be this instance: never counts.
        p.found_itself();
        let s = p.status(t0, stale);
        assert_eq!((s.state, s.counts), (PeerState::Itself, false));
        assert!(p.view.is_none());
    }
}
