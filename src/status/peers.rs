//! The fleet part of the status document (SPEC 4.1, 9): the peers, whether they agree, each
//! checked endpoint's agreement, and the fleet's events (a peer became reachable, unreachable
//! or stale; this instance started or stopped deciding alone; an endpoint's agreed state, the
//! one answers use, changed).
//!
//! ```text
//!  peers::view::build(snap, settings, records, now) ─► FleetView + EndpointView per check
//!        │                                                    │
//!        └─► peers_status() ─► "peers"         agreements() ─► endpoints[].agreement
//!
//!  sampler, every second: PeerWatch::observe(records' statuses) ─► peer events
//!                         PeerWatch::observe_agreed(snapshot)    ─► health events
//! ```
//!
//! Pure functions of what the peer book and the agreement already hold: nothing here reads a
//! peer or changes a verdict.

use std::collections::HashMap;

use super::doc::{EndpointAgreement, PeerEntry, PeersStatus};
use super::events::{Event, EventKind, Level};
use crate::health::Status;
use crate::peers::{EndpointView, FleetView, PeerState, PeerStatus};

/// The fleet picture for `/v1/status`. `endpoints` is every checked endpoint of the serving
/// configuration, in `Config::checks` order.
pub fn peers_status(fleet: &FleetView, endpoints: &[EndpointView]) -> PeersStatus {
    let peers = fleet
        .peers
        .iter()
        .enumerate()
        .map(|(j, p)| PeerEntry {
            url: p.url.clone(),
            identity: p.identity.clone(),
            state: p.state.as_str(),
            reason: p.reason.clone(),
            counts: p.counts,
            generation: p.generation,
            last_heard_unix_ms: p.last_heard_unix.map(|s| s.saturating_mul(1000)),
            disagreements: p.counts.then(|| {
                endpoints
                    .iter()
                    .filter(|e| matches!(e.peers.get(j), Some(Some(v)) if *v != e.agreed))
                    .count()
            }),
        })
        .collect();
    PeersStatus {
        identity: fleet.identity.clone(),
        quorum: fleet.quorum.clone(),
        stale_after_ms: fleet.stale_after_ms,
        observers: fleet.observers,
        deciding_alone: fleet.deciding_alone,
        disagreements: endpoints.iter().filter(|e| e.disagrees()).count(),
        peers,
    }
}

/// Each endpoint's agreement, index for index with `endpoints`.
pub fn agreements(endpoints: &[EndpointView]) -> Vec<EndpointAgreement> {
    endpoints
        .iter()
        .map(|e| EndpointAgreement {
            local: e.local.as_str(),
            agrees: !e.disagrees(),
            down: e.down,
            observers: e.observers,
        })
        .collect()
}

/// Remembers how each peer was last seen, to turn changes into events.
#[derive(Debug, Default)]
pub struct PeerWatch {
    states: HashMap<String, PeerState>,
    alone: Option<bool>,
    /// Agreed state per checked endpoint key.
    agreed: HashMap<String, Status>,
}

/// One checked endpoint's states, for [`PeerWatch::observe_agreed`].
#[derive(Debug, Clone)]
pub struct AgreedState<'a> {
    /// `zone/service/region/address`.
    pub key: String,
    /// Zone label, service key, region name.
    pub zone: &'a str,
    /// Service key.
    pub service: &'a str,
    /// Region name.
    pub region: &'a str,
    /// The address.
    pub address: String,
    /// The state answers use.
    pub agreed: Status,
    /// This instance's own verdict.
    pub local: Status,
}

impl PeerWatch {
    /// The events for what changed since the last call: `peers` are the peers read at least
    /// once (a peer not read yet is not news), `alone` whether no peer counts now. A peer
    /// seen for the first time is news unless it is up; a reload that removes a peer forgets
    /// it silently.
    pub fn observe(&mut self, now_unix_ms: u64, peers: &[PeerStatus], alone: bool) -> Vec<Event> {
        let mut events = Vec::new();
        let mut seen = HashMap::with_capacity(peers.len());
        for p in peers {
            let before = self.states.get(&p.url).copied();
            seen.insert(p.url.clone(), p.state);
            if before == Some(p.state) || (before.is_none() && p.state == PeerState::Up) {
                continue;
            }
            let level = match p.state {
                PeerState::Up | PeerState::Itself => Level::Info,
                PeerState::Unreachable | PeerState::Stale => Level::Warn,
            };
            let name = match &p.identity {
                Some(id) => format!("{id} ({})", p.url),
                None => p.url.clone(),
            };
            let mut message = format!("peer {name} {}", p.state.as_str());
            if let Some(reason) = &p.reason {
                message.push_str(": ");
                message.push_str(reason);
            }
            events.push(Event::new(now_unix_ms, EventKind::Peer, level, message));
        }
        self.states = seen;
        if self.alone.is_some_and(|was| was != alone) || (self.alone.is_none() && alone) {
            let (level, message) = if alone {
                (
                    Level::Warn,
                    "no peer counts: this instance decides alone".to_owned(),
                )
            } else {
                (
                    Level::Info,
                    "peers count again: health is agreed".to_owned(),
                )
            };
            events.push(Event::new(now_unix_ms, EventKind::Peer, level, message));
        }
        self.alone = Some(alone);
        events
    }

    /// The events for endpoints whose agreed state changed since the last call (this
    /// instance's own flips have their events from the health runner; with peers the agreed
    /// state can change without one, or not change with one). An endpoint seen for the first
    /// time is not news; one a reload removed is forgotten.
    pub fn observe_agreed(
        &mut self,
        now_unix_ms: u64,
        endpoints: &[AgreedState<'_>],
    ) -> Vec<Event> {
        let mut events = Vec::new();
        let mut seen = HashMap::with_capacity(endpoints.len());
        for e in endpoints {
            if let Some(before) = self.agreed.get(&e.key)
                && *before != e.agreed
            {
                let level = match e.agreed {
                    Status::Down => Level::Warn,
                    Status::Up => Level::Info,
                };
                let message = format!(
                    "{} agreed {before} -> {} (this instance sees it {})",
                    e.address, e.agreed, e.local
                );
                events.push(
                    Event::new(now_unix_ms, EventKind::Health, level, message)
                        .about(e.zone, e.service, e.region)
                        .endpoint(&e.address),
                );
            }
            seen.insert(e.key.clone(), e.agreed);
        }
        self.agreed = seen;
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(url: &str, state: PeerState, counts: bool) -> PeerStatus {
        PeerStatus {
            url: url.to_owned(),
            identity: (state == PeerState::Up).then(|| format!("id-{url}")),
            generation: Some(3),
            state,
            reason: (state != PeerState::Up).then(|| "timeout".to_owned()),
            counts,
            last_heard_unix: Some(1_700_000_000),
            last_heard_ago_ms: Some(500),
        }
    }

    fn endpoint(local: Status, peers: Vec<Option<Status>>, agreed: Status) -> EndpointView {
        let observers = 1 + peers.iter().flatten().count() as u32;
        let down = u32::from(local == Status::Down)
            + peers
                .iter()
                .flatten()
                .filter(|s| **s == Status::Down)
                .count() as u32;
        EndpointView {
            zone: "z".into(),
            service: "www".into(),
            region: "eu".into(),
            endpoint: "127.0.0.1".into(),
            check: "web".into(),
            local,
            peers,
            agreed,
            down,
            observers,
        }
    }

    #[test]
    fn counts_disagreements_per_instance_and_peer() {
        use Status::{Down, Up};
        let fleet = FleetView {
            identity: "ns1".into(),
            quorum: "majority".into(),
            stale_after_ms: 10_000,
            peers: vec![
                peer("a", PeerState::Up, true),
                peer("b", PeerState::Up, true),
                peer("c", PeerState::Unreachable, false),
            ],
            observers: 3,
            deciding_alone: false,
        };
        let endpoints = vec![
            // This instance alone sees it down: outvoted.
            endpoint(Down, vec![Some(Up), Some(Up), None], Up),
            // Peer b alone sees it down.
            endpoint(Up, vec![Some(Up), Some(Down), None], Up),
            // Everybody agrees.
            endpoint(Up, vec![Some(Up), Some(Up), None], Up),
        ];
        let s = peers_status(&fleet, &endpoints);
        assert_eq!(s.disagreements, 1);
        assert_eq!(s.observers, 3);
        let per_peer: Vec<Option<usize>> = s.peers.iter().map(|p| p.disagreements).collect();
        assert_eq!(per_peer, [Some(0), Some(1), None]);
        assert_eq!(s.peers[2].state, "unreachable");
        assert_eq!(s.peers[0].last_heard_unix_ms, Some(1_700_000_000_000));
        let a = agreements(&endpoints);
        assert_eq!(
            a.iter()
                .map(|a| (a.local, a.agrees, a.down, a.observers))
                .collect::<Vec<_>>(),
            [
                ("down", false, 1, 3),
                ("up", true, 1, 3),
                ("up", true, 0, 3)
            ]
        );
    }

    #[test]
    fn watch_reports_changes_once() {
        let mut w = PeerWatch::default();
        let up = [peer("a", PeerState::Up, true)];
        assert!(
            w.observe(1, &up, false).is_empty(),
            "first sight, up: no news"
        );
        assert!(w.observe(2, &up, false).is_empty());
        let down = [peer("a", PeerState::Unreachable, true)];
        let e = w.observe(3, &down, false);
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].kind, e[0].level), (EventKind::Peer, Level::Warn));
        assert_eq!(e[0].message, "peer a unreachable: timeout");
        assert!(w.observe(4, &down, false).is_empty(), "no repeat");
        let e = w.observe(5, &down, true);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].message.contains("decides alone"));
        let e = w.observe(6, &up, false);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].message, "peer id-a (a) up");
        assert_eq!(e[0].level, Level::Info);
        assert!(e[1].message.contains("agreed"));
    }

    #[test]
    fn watch_reports_agreed_changes_only() {
        let mut w = PeerWatch::default();
        let state = |agreed, local| AgreedState {
            key: "z/www/eu/127.0.0.1".into(),
            zone: "z",
            service: "www",
            region: "eu",
            address: "127.0.0.1".into(),
            agreed,
            local,
        };
        assert!(
            w.observe_agreed(1, &[state(Status::Up, Status::Up)])
                .is_empty()
        );
        // Outvoted: the local verdict flips, the agreed one does not.
        assert!(
            w.observe_agreed(2, &[state(Status::Up, Status::Down)])
                .is_empty()
        );
        let e = w.observe_agreed(3, &[state(Status::Down, Status::Down)]);
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].kind, e[0].level), (EventKind::Health, Level::Warn));
        assert_eq!(
            e[0].message,
            "127.0.0.1 agreed up -> down (this instance sees it down)"
        );
        assert_eq!(e[0].endpoint.as_deref(), Some("127.0.0.1"));
        assert!(
            w.observe_agreed(4, &[state(Status::Down, Status::Down)])
                .is_empty()
        );
        // Removed by a reload, then back: first sight again.
        assert!(w.observe_agreed(5, &[]).is_empty());
        assert!(
            w.observe_agreed(6, &[state(Status::Up, Status::Up)])
                .is_empty()
        );
    }

    #[test]
    fn watch_reports_a_first_sight_that_is_not_up() {
        let mut w = PeerWatch::default();
        let e = w.observe(1, &[peer("b", PeerState::Unreachable, false)], true);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].level, Level::Warn);
    }
}
