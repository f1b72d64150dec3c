//! The events ring: the last few hundred things that happened (health flips, reload outcomes,
//! and later rollout transitions and peer changes), for the status page.
//!
//! ```text
//!  health runner on_flip ─┐
//!  reload outcome ────────┼─► EventRing::push (mutex, a few instructions) ─► /v1/status "events"
//!  (rollouts, peers) ─────┘        bounded: the oldest event is dropped first
//! ```
//!
//! Events are pushed where they happen, never from the query path. The ring keeps the newest
//! [`EVENT_CAPACITY`] events and counts what it dropped, so a flapping endpoint cannot grow it.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// How many events the daemon keeps.
pub const EVENT_CAPACITY: usize = 256;

/// What kind of thing happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// An endpoint's health flipped (up ↔ down).
    Health,
    /// A reload was applied or rejected.
    Reload,
    /// A staged rollout moved (advance, rollback, pause, resume, abort, complete).
    Rollout,
    /// A peer became reachable or unreachable.
    Peer,
}

/// How much an operator should care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Something got better or changed as asked.
    Info,
    /// Something got worse, or was refused.
    Warn,
}

/// One event, as `/v1/status` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Position in the daemon's event sequence (1 for the first event since start).
    pub seq: u64,
    /// When it happened, Unix milliseconds.
    pub at_unix_ms: u64,
    /// What kind of event.
    pub kind: EventKind,
    /// `info` or `warn`.
    pub level: Level,
    /// Zone label, for events about one zone's objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Service key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Region name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Endpoint address (health events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// One line for a person: `"127.0.0.20 up -> down (HTTP 503)"`, `"applied: generation 4"`.
    pub message: String,
}

impl Event {
    /// An event about nothing in particular (reloads); `seq` is set by the ring.
    pub fn new(at_unix_ms: u64, kind: EventKind, level: Level, message: String) -> Self {
        Self {
            seq: 0,
            at_unix_ms,
            kind,
            level,
            zone: None,
            service: None,
            region: None,
            endpoint: None,
            message,
        }
    }

    /// Names the zone, service and region the event is about.
    pub fn about(mut self, zone: &str, service: &str, region: &str) -> Self {
        self.zone = Some(zone.to_owned());
        self.service = Some(service.to_owned());
        self.region = Some(region.to_owned());
        self
    }

    /// Names the endpoint the event is about.
    pub fn endpoint(mut self, endpoint: &str) -> Self {
        self.endpoint = Some(endpoint.to_owned());
        self
    }
}

#[derive(Debug, Default)]
struct Ring {
    events: VecDeque<Event>,
    next_seq: u64,
}

/// A bounded, thread-safe list of the newest events.
#[derive(Debug)]
pub struct EventRing {
    capacity: usize,
    inner: Mutex<Ring>,
}

impl Default for EventRing {
    fn default() -> Self {
        Self::with_capacity(EVENT_CAPACITY)
    }
}

impl EventRing {
    /// A ring that keeps the newest `capacity` events (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Ring::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        // Every operation leaves the ring consistent, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `event` (numbering it), dropping the oldest when full. Returns its `seq`.
    pub fn push(&self, mut event: Event) -> u64 {
        let mut ring = self.lock();
        ring.next_seq += 1;
        event.seq = ring.next_seq;
        if ring.events.len() == self.capacity {
            ring.events.pop_front();
        }
        ring.events.push_back(event);
        ring.next_seq
    }

    /// The newest `limit` events, newest first, and how many events there have been in all.
    pub fn recent(&self, limit: usize) -> (Vec<Event>, u64) {
        let ring = self.lock();
        let events = ring.events.iter().rev().take(limit).cloned().collect();
        (events, ring.next_seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(n: u64) -> Event {
        Event::new(n, EventKind::Reload, Level::Info, format!("event {n}"))
    }

    #[test]
    fn numbers_events_and_lists_newest_first() {
        let ring = EventRing::with_capacity(8);
        assert_eq!(ring.push(ev(10)), 1);
        assert_eq!(ring.push(ev(20)), 2);
        let (events, total) = ring.recent(10);
        assert_eq!(total, 2);
        assert_eq!(
            events
                .iter()
                .map(|e| (e.seq, e.at_unix_ms))
                .collect::<Vec<_>>(),
            [(2, 20), (1, 10)]
        );
        assert_eq!(ring.recent(1).0.len(), 1);
    }

    #[test]
    fn keeps_only_the_newest_capacity_events() {
        let ring = EventRing::with_capacity(3);
        for n in 1..=10 {
            ring.push(ev(n));
        }
        let (events, total) = ring.recent(100);
        assert_eq!(total, 10);
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [10, 9, 8]);
    }

    #[test]
    fn about_and_endpoint_fill_the_names() {
        let e = ev(1).about("z", "www", "eu-west").endpoint("127.0.0.20");
        assert_eq!(e.zone.as_deref(), Some("z"));
        assert_eq!(e.service.as_deref(), Some("www"));
        assert_eq!(e.region.as_deref(), Some("eu-west"));
        assert_eq!(e.endpoint.as_deref(), Some("127.0.0.20"));
        let json = serde_json::to_value(ev(1)).unwrap();
        assert!(
            json.get("zone").is_none(),
            "absent names are left out: {json}"
        );
    }
}
