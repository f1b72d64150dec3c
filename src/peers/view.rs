//! Read-only pictures of the fleet for people: which peers there are and how they answer, and
//! each observer's view of some endpoints next to the agreed verdict. Pure functions of the
//! serving snapshot, the peer records and the time; explain (`/v1/explain`), metrics and the
//! status page (`/v1/status`) render them.

use serde::Serialize;
use tokio::time::Instant;

use super::book::{PeerRecord, PeerState, PeerStatus};
use super::quorum::{self, PeerInput};
use super::report::identity;
use crate::config::model::{CheckedEndpoint, PeersSettings, Quorum};
use crate::health::Status;
use crate::state::Snapshot;
use crate::steer::trace::{EndpointObservation, ObserverInfo, ObserverTrace};

/// The fleet as this instance sees it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetView {
    /// This instance's identity.
    pub identity: String,
    /// `[peers] quorum` as written: `majority` or a number.
    pub quorum: String,
    /// `[peers] stale_after` in milliseconds.
    pub stale_after_ms: u64,
    /// Every configured peer.
    pub peers: Vec<PeerStatus>,
    /// Observers taking part in the agreement now: this instance and the peers that count.
    pub observers: u32,
    /// True when no peer counts and this instance decides alone.
    pub deciding_alone: bool,
}

/// One checked endpoint as every observer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointView {
    /// Zone, without the trailing dot.
    pub zone: String,
    /// Service key.
    pub service: String,
    /// Region name.
    pub region: String,
    /// The endpoint's address.
    pub endpoint: String,
    /// The check's name.
    pub check: String,
    /// This instance's own verdict.
    pub local: Status,
    /// Each peer's verdict, in [`FleetView::peers`] order: `None` when the peer does not count
    /// or does not check this endpoint.
    pub peers: Vec<Option<Status>>,
    /// The state answers use (the agreed one).
    pub agreed: Status,
    /// Observers that see it down.
    pub down: u32,
    /// Observers of it.
    pub observers: u32,
}

impl EndpointView {
    /// Whether this instance's verdict differs from the agreed one.
    pub fn disagrees(&self) -> bool {
        self.local != self.agreed
    }
}

/// `[peers] quorum` as written in the config.
pub fn quorum_text(q: Quorum) -> String {
    match q {
        Quorum::Majority => "majority".to_owned(),
        Quorum::AtLeast(n) => n.to_string(),
    }
}

/// The verdicts of `record`'s last view, index for index with `checks`; `None` for endpoints
/// it does not report. `keys[i]` must be `checks[i].key()`.
pub fn align(
    record: &PeerRecord,
    checks: &[&CheckedEndpoint],
    keys: &[String],
) -> Vec<Option<Status>> {
    match &record.view {
        None => Vec::new(),
        Some(view) => checks
            .iter()
            .zip(keys)
            .map(|(c, k)| view.verdict(k, &c.check.name))
            .collect(),
    }
}

/// Every observer's verdicts on `checks` at `now`, combined by the quorum.
#[derive(Debug, Clone)]
pub struct Combined {
    /// Each peer record's verdicts, index for index with `checks` (see [`align`]).
    pub aligned: Vec<Vec<Option<Status>>>,
    /// This instance's own verdicts.
    pub local: Vec<Status>,
    /// The agreed verdicts.
    pub agreed: Vec<quorum::Agreed>,
    /// Peers heard within `stale_after` (they count).
    pub counting: u32,
}

/// Aligns the peers' views with `checks` (`keys[i]` = `checks[i].key()`) and agrees on
/// every endpoint: the one computation the agreement task publishes and the views show.
pub fn combine(
    snap: &Snapshot,
    settings: &PeersSettings,
    records: &[PeerRecord],
    checks: &[&CheckedEndpoint],
    keys: &[String],
    now: Instant,
) -> Combined {
    let aligned: Vec<Vec<Option<Status>>> =
        records.iter().map(|r| align(r, checks, keys)).collect();
    let inputs: Vec<PeerInput<'_>> = records
        .iter()
        .zip(&aligned)
        .map(|(r, v)| PeerInput {
            heard_at: r.view.as_ref().and(r.heard_at),
            verdicts: v,
        })
        .collect();
    let local: Vec<Status> = checks.iter().map(|c| snap.health.local(c.slot)).collect();
    let agreed = quorum::agree(&local, &inputs, now, settings.stale_after, settings.quorum);
    let counting = inputs
        .iter()
        .filter(|p| quorum::is_fresh(p.heard_at, now, settings.stale_after))
        .count() as u32;
    Combined {
        aligned,
        local,
        agreed,
        counting,
    }
}

/// The fleet and, for every checked endpoint `pick` selects, each observer's view.
pub fn build(
    snap: &Snapshot,
    settings: &PeersSettings,
    records: &[PeerRecord],
    now: Instant,
    pick: impl Fn(&CheckedEndpoint) -> bool,
) -> (FleetView, Vec<EndpointView>) {
    let stale_after = settings.stale_after;
    let peers: Vec<PeerStatus> = records.iter().map(|r| r.status(now, stale_after)).collect();
    let counting = peers.iter().filter(|p| p.counts).count() as u32;
    let fleet = FleetView {
        identity: identity(&snap.config),
        quorum: quorum_text(settings.quorum),
        stale_after_ms: stale_after.as_millis() as u64,
        observers: 1 + counting,
        deciding_alone: counting == 0,
        peers,
    };
    let checks: Vec<&CheckedEndpoint> = snap.config.checks.iter().filter(|c| pick(c)).collect();
    let keys: Vec<String> = checks.iter().map(|c| c.key()).collect();
    let Combined {
        aligned,
        local,
        agreed,
        ..
    } = combine(snap, settings, records, &checks, &keys, now);
    let endpoints = checks
        .iter()
        .enumerate()
        .map(|(i, c)| EndpointView {
            zone: c.zone.clone(),
            service: c.service.clone(),
            region: c.region.clone(),
            endpoint: c.addr.to_string(),
            check: c.check.name.clone(),
            local: local[i],
            peers: fleet
                .peers
                .iter()
                .zip(&aligned)
                .map(|(p, v)| v.get(i).copied().flatten().filter(|_| p.counts))
                .collect(),
            agreed: snap.health.get(c.slot),
            down: agreed[i].down,
            observers: agreed[i].observers,
        })
        .collect();
    (fleet, endpoints)
}

/// Each observer's view of the endpoints of `regions` of `service` in `zone`, for explain.
pub fn observer_trace(
    snap: &Snapshot,
    settings: &PeersSettings,
    records: &[PeerRecord],
    now: Instant,
    zone: &str,
    service: &str,
    regions: &[String],
) -> ObserverTrace {
    let (fleet, endpoints) = build(snap, settings, records, now, |c| {
        c.zone == zone && c.service == service && regions.contains(&c.region)
    });
    let mut observers = vec![ObserverInfo {
        name: fleet.identity.clone(),
        state: "this instance".to_owned(),
        counts: true,
        reason: None,
    }];
    observers.extend(
        fleet
            .peers
            .iter()
            .filter(|p| p.state != PeerState::Itself)
            .map(|p| ObserverInfo {
                name: p.name().to_owned(),
                state: p.state.as_str().to_owned(),
                counts: p.counts,
                reason: p.reason.clone(),
            }),
    );
    ObserverTrace {
        quorum: fleet.quorum,
        observers,
        endpoints: endpoints
            .into_iter()
            .map(|e| {
                let mut views = vec![Some(e.local)];
                views.extend(
                    fleet
                        .peers
                        .iter()
                        .zip(e.peers)
                        .filter(|(p, _)| p.state != PeerState::Itself)
                        .map(|(_, v)| v),
                );
                EndpointObservation {
                    region: e.region,
                    endpoint: e.endpoint,
                    views,
                    agreed: e.agreed,
                    down: e.down,
                    observers: e.observers,
                }
            })
            .collect(),
    }
}
