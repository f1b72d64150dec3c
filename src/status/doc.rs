//! The `/v1/status` document (schema version 1): what the status page shows, as JSON.
//!
//! The README's "Status page" section documents every field and `docs/status.schema.json`
//! is its JSON Schema; a test checks live documents against it. Times are Unix milliseconds
//! (`*_unix_ms`), shares are fractions in `0..=1`, or `null` when there were no answers to
//! share.

use serde::Serialize;

use super::events::Event;
use crate::config::model::RegionState;

/// Version of this document's shape; raised when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole document.
#[derive(Debug, Clone, Serialize)]
pub struct StatusDoc {
    /// [`SCHEMA_VERSION`].
    pub version: u32,
    /// `[server] identity`, else the NSID as text, else `null`.
    pub instance: Option<String>,
    /// Generation of the configuration being served.
    pub generation: u64,
    /// When that configuration was loaded, Unix milliseconds.
    pub loaded_unix_ms: u64,
    /// When the daemon started, Unix milliseconds.
    pub started_unix_ms: u64,
    /// Seconds since the daemon started.
    pub uptime_seconds: u64,
    /// When this document was made, Unix milliseconds (the page shows ages against it, so a
    /// browser with a wrong clock still reads right).
    pub now_unix_ms: u64,
    /// Counts over everything below.
    pub summary: Summary,
    /// Every zone, in config order (sorted by origin).
    pub zones: Vec<ZoneStatus>,
    /// The newest events, newest first (at most [`super::render::EVENTS_SHOWN`]).
    pub events: Vec<Event>,
    /// Events since the daemon started (the ring keeps only the newest).
    pub events_total: u64,
    /// The other instances and whether they agree (SPEC 4.1); `null` without `[peers]`.
    pub peers: Option<PeersStatus>,
}

/// This instance's peers and the health agreement with them.
#[derive(Debug, Clone, Serialize)]
pub struct PeersStatus {
    /// This instance's identity, as its peers see it.
    pub identity: String,
    /// `[peers] quorum` as written: `"majority"` or a number.
    pub quorum: String,
    /// `[peers] stale_after`, milliseconds.
    pub stale_after_ms: u64,
    /// Observers taking part in the agreement now: this instance and the peers that count.
    pub observers: u32,
    /// No peer counts: this instance decides alone, as without `[peers]`.
    pub deciding_alone: bool,
    /// Checked endpoints whose answered (agreed) state differs from this instance's own
    /// verdict.
    pub disagreements: usize,
    /// Every configured peer, in config order.
    pub peers: Vec<PeerEntry>,
}

/// One configured peer.
#[derive(Debug, Clone, Serialize)]
pub struct PeerEntry {
    /// Its base URL as configured.
    pub url: String,
    /// The identity it reports; `null` before its first good read.
    pub identity: Option<String>,
    /// `up`, `unreachable`, `stale`, or `self` (the URL reaches this instance; never counts).
    pub state: &'static str,
    /// Why it is not `up`; `null` when it is.
    pub reason: Option<String>,
    /// Whether its verdicts take part in the agreement now (a peer unreachable for less than
    /// `stale_after` still counts with its last report).
    pub counts: bool,
    /// The configuration generation of its last good report.
    pub generation: Option<u64>,
    /// When it was last read successfully, Unix milliseconds.
    pub last_heard_unix_ms: Option<u64>,
    /// Endpoints it reports whose verdict differs from the agreed state; `null` while it does
    /// not count.
    pub disagreements: Option<usize>,
}

/// Counts for the page's header.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Steered services.
    pub services: usize,
    /// Service regions (a region counts once per service).
    pub regions: usize,
    /// Service regions whose health is `failing`.
    pub regions_failing: usize,
    /// Service regions whose health is `degraded`.
    pub regions_degraded: usize,
    /// Checked endpoints (per service region).
    pub endpoints_checked: usize,
    /// Checked endpoints that are down.
    pub endpoints_down: usize,
}

/// One zone.
#[derive(Debug, Clone, Serialize)]
pub struct ZoneStatus {
    /// The origin without its final dot.
    pub zone: String,
    /// Its steered services, in config order.
    pub services: Vec<ServiceStatus>,
}

/// Health of a region or service, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Every endpoint up.
    Ok,
    /// Healthy (at least `min_up` endpoints up) but some endpoints are down.
    Degraded,
    /// Not healthy: fewer than `min_up` endpoints up (or its CNAME check target down).
    Failing,
}

/// One steered service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    /// Config key (`www`).
    pub service: String,
    /// The steered name (`www.gslb.example.test.`).
    pub name: String,
    /// The worst health of its regions that are not `down`; `failing` when none may serve.
    pub health: Health,
    /// All its steered answers (shares are `null` here).
    pub traffic: Traffic,
    /// Answers with no region: fallback addresses and NODATA.
    pub no_region: Traffic,
    /// Its regions, in config order.
    pub regions: Vec<RegionStatus>,
    /// Its staged rollout (SPEC 4.2: step, share, gates), as `GET /v1/rollouts` shows it;
    /// `null` without one.
    pub rollout: Option<crate::rollout::report::RolloutStatus>,
}

/// One region of one service.
#[derive(Debug, Clone, Serialize)]
pub struct RegionStatus {
    /// Region name.
    pub region: String,
    /// Operator state: `active`, `drain` or `down`.
    pub state: RegionState,
    /// Weight inside its tier.
    pub weight: u32,
    /// A canary region (SPEC 4, rule 4a): it never serves more than its share of its tier.
    pub canary: bool,
    /// The CNAME it answers with, for a CNAME region.
    pub cname: Option<String>,
    /// `ok`, `degraded` or `failing` (from health checks; independent of `state`).
    pub health: Health,
    /// Endpoints that must be up for the region to be healthy.
    pub min_up: u32,
    /// Endpoints up (unchecked endpoints count as up).
    pub endpoints_up: usize,
    /// Endpoints listed.
    pub endpoints_total: usize,
    /// Each endpoint; for a CNAME region with a check, its check target.
    pub endpoints: Vec<EndpointStatus>,
    /// Its steered answers and share of the service's.
    pub traffic: Traffic,
}

/// One endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointStatus {
    /// The address.
    pub address: String,
    /// Whether it has a health check (without one it is always up).
    pub checked: bool,
    /// `up` or `down`.
    pub status: &'static str,
    /// Since when it has been in that state as this process saw it (its last flip, else its
    /// first probe); `null` before the first probe and for unchecked endpoints.
    pub since_unix_ms: Option<u64>,
    /// The last probe; `null` before the first one and for unchecked endpoints.
    pub last_probe: Option<ProbeStatus>,
    /// How the observers see it (with `[peers]`, checked endpoints only; else `null`).
    /// `status` above is the agreed state, the one answers use.
    pub agreement: Option<EndpointAgreement>,
}

/// One checked endpoint as the fleet sees it (SPEC 4.1).
#[derive(Debug, Clone, Serialize)]
pub struct EndpointAgreement {
    /// This instance's own verdict (`up` or `down`).
    pub local: &'static str,
    /// Whether that equals the agreed state.
    pub agrees: bool,
    /// Observers that see it down.
    pub down: u32,
    /// Observers of it (this instance and the peers that count and check it).
    pub observers: u32,
}

/// The last probe of an endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeStatus {
    /// Whether it passed.
    pub passed: bool,
    /// What it saw: `"HTTP 200"`, `"HTTP 503"`, `"connect refused"`, `"timeout"`.
    pub result: String,
    /// Round-trip time, milliseconds.
    pub rtt_ms: f64,
    /// When it finished, Unix milliseconds.
    pub at_unix_ms: u64,
}

/// Steered answers over the last minute and the last hour.
#[derive(Debug, Clone, Serialize)]
pub struct Traffic {
    /// Answers in the last 60 seconds.
    pub answers_1m: u64,
    /// Answers in about the last hour (the minute being filled and the 59 before).
    pub answers_1h: u64,
    /// Share of the service's steered answers in the last minute; `null` without answers.
    pub share_1m: Option<f64>,
    /// Share over the last hour; `null` without answers.
    pub share_1h: Option<f64>,
    /// Answers per second over the last minute, oldest first (60 numbers).
    pub series_1m: Vec<u64>,
    /// Answers per minute over the last hour, oldest first, the last one filling (60).
    pub series_1h: Vec<u64>,
}
