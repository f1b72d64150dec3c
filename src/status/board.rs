//! The status board: what the daemon remembers for the status page beyond the snapshot
//! (events, answer-share history, last probes), and the task that samples the counters.
//!
//! ```text
//!  app: StatusBoard::new ──► health hooks (on_probe, on_flip), reload outcome (on_reload)
//!                       └──► run_sampler: every second, ShareHistory::sample(snapshot),
//!                            and with [peers] PeerWatch::observe(peer book) for peer events
//!  admin: /v1/status ──► status::render::document(board, snapshot)
//! ```

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::events::{Event, EventKind, EventRing, Level};
use super::history::ShareHistory;
use super::peers::{AgreedState, PeerWatch};
use super::probes::EndpointLog;
use crate::health::Status;
use crate::health::runner::{FlipEvent, ProbeEvent};
use crate::peers::{Fleet, PeerStatus};
use crate::state::{Snapshot, Store, now_unix_ms};

/// How often the sampler reads the counters.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// Everything the status page needs that the snapshot does not hold.
#[derive(Debug)]
pub struct StatusBoard {
    /// Recent events.
    pub events: EventRing,
    /// Answers per (zone, service, region) over the last minute and hour.
    history: Mutex<ShareHistory>,
    /// Last probe and last change per checked endpoint.
    pub endpoints: EndpointLog,
    /// How each peer was last seen, for peer events.
    peers: Mutex<PeerWatch>,
    /// When the daemon started, Unix milliseconds.
    pub started_unix_ms: u64,
}

impl StatusBoard {
    /// An empty board for a daemon that started at `started_unix_ms`.
    pub fn new(started_unix_ms: u64) -> Self {
        Self {
            events: EventRing::default(),
            history: Mutex::default(),
            endpoints: EndpointLog::default(),
            peers: Mutex::default(),
            started_unix_ms,
        }
    }

    /// The share history (locked; hold it briefly).
    pub fn history(&self) -> MutexGuard<'_, ShareHistory> {
        self.history.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Health hook: a probe finished.
    pub fn on_probe(&self, e: &ProbeEvent<'_>) {
        self.endpoints.record_probe(
            e.key,
            e.outcome.passed,
            &e.outcome.reason,
            e.outcome.elapsed,
            now_unix_ms(),
        );
    }

    /// Health hook: an endpoint flipped.
    pub fn on_flip(&self, e: &FlipEvent) {
        let now = now_unix_ms();
        self.endpoints.record_flip(&e.key, now);
        let l = &e.labels;
        let level = match e.to {
            Status::Down => Level::Warn,
            Status::Up => Level::Info,
        };
        let message = format!("{} {} -> {} ({})", l.endpoint, e.from, e.to, e.reason);
        self.events.push(
            Event::new(now, EventKind::Health, level, message)
                .about(&l.zone, &l.service, &l.region)
                .endpoint(&l.endpoint),
        );
    }

    /// A rollout transition: `event` (advance, rollback, ...) and what it says.
    pub fn on_rollout(&self, zone: &str, service: &str, region: &str, warn: bool, message: String) {
        let level = if warn { Level::Warn } else { Level::Info };
        self.events.push(
            Event::new(now_unix_ms(), EventKind::Rollout, level, message)
                .about(zone, service, region),
        );
    }

    /// A reload finished: applied (with the new generation and its warnings) or rejected (with
    /// every problem).
    pub fn on_reload(&self, applied: Option<u64>, lines: &[String]) {
        let (level, mut message) = match applied {
            Some(generation) if lines.is_empty() => {
                (Level::Info, format!("applied: generation {generation}"))
            }
            Some(generation) => (
                Level::Warn,
                format!("applied with warnings: generation {generation}"),
            ),
            None => (
                Level::Warn,
                "rejected; the old configuration keeps serving".into(),
            ),
        };
        for line in lines {
            message.push_str("; ");
            message.push_str(line);
        }
        self.events
            .push(Event::new(now_unix_ms(), EventKind::Reload, level, message));
    }

    /// The peers as the book holds them now (those read at least once), and whether no peer
    /// counts: pushes an event for each change.
    pub fn on_peers(&self, peers: &[PeerStatus], alone: bool) {
        let events = self.peer_watch().observe(now_unix_ms(), peers, alone);
        for e in events {
            self.events.push(e);
        }
    }

    /// The agreed state of every checked endpoint now (with `[peers]`): pushes an event for
    /// each change.
    pub fn on_agreed(&self, snap: &Snapshot) {
        let states: Vec<AgreedState<'_>> = snap
            .config
            .checks
            .iter()
            .map(|c| AgreedState {
                key: c.key(),
                zone: &c.zone,
                service: &c.service,
                region: &c.region,
                address: c.addr.to_string(),
                agreed: snap.health.get(c.slot),
                local: snap.health.local(c.slot),
            })
            .collect();
        let events = self.peer_watch().observe_agreed(now_unix_ms(), &states);
        for e in events {
            self.events.push(e);
        }
    }

    fn peer_watch(&self) -> MutexGuard<'_, PeerWatch> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Samples the steered counters into the board's history once a second, forgets the records
/// of endpoints a reload removed, and with `[peers]` turns peer changes into events. Runs
/// until aborted.
pub async fn run_sampler(board: Arc<StatusBoard>, store: Store, fleet: Arc<Fleet>) {
    let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut generation = 0;
    loop {
        tick.tick().await;
        let snap = store.load_full();
        board.history().sample(&snap);
        if snap.generation != generation {
            generation = snap.generation;
            let keep: HashSet<String> = snap.config.checks.iter().map(|c| c.key()).collect();
            board.endpoints.retain(&keep);
        }
        if let Some(settings) = &snap.config.peers
            && fleet.has_polled()
        {
            let now = tokio::time::Instant::now();
            let peers: Vec<PeerStatus> = fleet
                .records()
                .iter()
                .filter(|r| r.attempted)
                .map(|r| r.status(now, settings.stale_after))
                .collect();
            let alone = !peers.iter().any(|p| p.counts);
            board.on_peers(&peers, alone);
            board.on_agreed(&snap);
        }
    }
}
