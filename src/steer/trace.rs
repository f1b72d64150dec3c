//! A readable account of one steering decision, shared by `steerdns explain`, `/v1/explain`
//! and the `_explain` TXT query, so all three always say the same thing.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{AnswerKind, Cap, ClientAddr, ClientSource, Decision, GeoFacts, Reason};
use crate::config::model::{RegionState, Service};
use crate::health::{HealthTable, Status};

/// Geo facts as shown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GeoTrace {
    /// Country code.
    pub country: Option<String>,
    /// Continent code.
    pub continent: Option<String>,
    /// Subdivision codes.
    pub subdivision: Vec<String>,
    /// Database network holding the client.
    pub network: Option<String>,
}

/// One region in one tier, as the decision saw it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegionTrace {
    /// Region name.
    pub region: String,
    /// Effective state.
    pub state: RegionState,
    /// At least `min_up` endpoints up.
    pub healthy: bool,
    /// Weight.
    pub weight: u32,
    /// A canary: never more than its share of the tier (rule 4a).
    #[serde(default)]
    pub canary: bool,
    /// Endpoints up / total (0/0 for a CNAME region).
    pub endpoints_up: usize,
    /// Endpoint count.
    pub endpoints_total: usize,
    /// The staged rollout behind a canary's weight (SPEC 4.2); absent for other regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutTrace>,
}

/// The rollout step a canary answers with, as the snapshot's live weight slot holds it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RolloutTrace {
    /// The step, 1-based.
    pub step: usize,
    /// How many steps.
    pub steps: usize,
    /// The step as configured (`"5% 1h"`).
    pub step_text: String,
    /// The share of its tier now, 0..1.
    pub share: f64,
    /// `running`, `paused`, `rolled_back`, `aborted`, `complete`.
    pub phase: String,
    /// The weight answered with in place of the configured one; `None` for the whole tier.
    pub weight: Option<f64>,
}

impl Eq for RolloutTrace {}

/// Everything about one decision.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Trace {
    /// Queried name.
    pub name: String,
    /// Queried type.
    pub qtype: String,
    /// Service key.
    pub service: String,
    /// Client address used.
    pub client: String,
    /// `ecs` or `resolver`.
    pub client_source: String,
    /// Source prefix used.
    pub source_prefix: u8,
    /// GeoIP facts.
    pub geo: GeoTrace,
    /// Map name (`inline` for an inline map).
    pub map: String,
    /// Matched key.
    pub map_key: String,
    /// Tiers, best first.
    pub tiers: Vec<Vec<RegionTrace>>,
    /// Regions named by the map that this service does not define.
    pub regions_not_in_service: Vec<String>,
    /// Chosen region.
    pub region: Option<String>,
    /// Tier (0-based) of the chosen region.
    pub tier: Option<usize>,
    /// Reason label.
    pub reason: String,
    /// The reason in words.
    pub why: String,
    /// Answered addresses.
    pub endpoints: Vec<String>,
    /// Answered CNAME.
    pub cname: Option<String>,
    /// TTL.
    pub ttl: u32,
    /// ECS scope prefix.
    pub scope: u8,
    /// The draining regions of the client's map entry, and when resolver caches will have
    /// let go of them.
    pub drain: Vec<DrainTrace>,
    /// Each observer's view of the endpoints of the regions above (SPEC §4.1): only from a
    /// running daemon with `[peers]` (`/v1/explain`), absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observers: Option<ObserverTrace>,
}

/// A draining region the client's map names, and when caches let go of it (SPEC section 7).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DrainTrace {
    /// Region name.
    pub region: String,
    /// When the reload (or start) that drained it was loaded, RFC 3339; `None` offline
    /// (unknown without the daemon).
    pub since: Option<String>,
    /// `since` + the service's TTL, RFC 3339: from then on no resolver holds an answer given
    /// before the drain.
    pub caches_clear_at: Option<String>,
}

/// Each observer's view of some endpoints, and the agreed verdict (SPEC §4.1). Filled in by
/// the daemon from its peer book; [`explain`] leaves it out.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ObserverTrace {
    /// `[peers] quorum`: `majority` or a number.
    pub quorum: String,
    /// This instance first, then every configured peer.
    pub observers: Vec<ObserverInfo>,
    /// The endpoints, each with one view per observer.
    pub endpoints: Vec<EndpointObservation>,
}

/// One observer in an [`ObserverTrace`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ObserverInfo {
    /// Its identity (a peer not heard yet: its URL).
    pub name: String,
    /// `this instance`, or the peer's state: `up`, `unreachable`, `stale`.
    pub state: String,
    /// Whether its view takes part in the agreement now.
    pub counts: bool,
    /// Why a peer is not up.
    pub reason: Option<String>,
}

/// One endpoint in an [`ObserverTrace`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EndpointObservation {
    /// Region name.
    pub region: String,
    /// The endpoint's address.
    pub endpoint: String,
    /// One verdict per observer (same order as [`ObserverTrace::observers`]); `None` when the
    /// observer does not count or does not check this endpoint.
    pub views: Vec<Option<Status>>,
    /// The agreed verdict, which answers use.
    pub agreed: Status,
    /// Observers that see it down.
    pub down: u32,
    /// Observers of it.
    pub observers: u32,
}

/// Inputs for [`explain`] besides the service and the decision inputs.
#[derive(Debug, Clone, Copy)]
pub struct ExplainContext<'a> {
    /// Queried name, as shown.
    pub name: &'a str,
    /// Want AAAA rather than A.
    pub want_v6: bool,
    /// Endpoint rotation.
    pub rotation: u32,
    /// When each region of the service began draining (unix seconds), indexed like
    /// `service.regions`; `None` for regions not draining or when unknown (offline). May be
    /// empty.
    pub drain_since: &'a [Option<u64>],
}

/// Runs [`super::steer`] and records every step.
pub fn explain(
    service: &Service,
    health: &HealthTable,
    client: &ClientAddr,
    geo: Option<&GeoFacts>,
    cx: ExplainContext<'_>,
) -> (Decision, Trace) {
    let d = super::steer(service, health, client, geo);
    let entry = &service.map.entries[d.map_entry];
    let tiers = entry
        .tiers
        .iter()
        .map(|tier| {
            tier.iter()
                .map(|&i| {
                    let r = &service.regions[i];
                    let up = r
                        .endpoints
                        .iter()
                        .filter(|e| e.slot.is_none_or(|s| health.get(s) == Status::Up))
                        .count();
                    RegionTrace {
                        region: r.name.clone(),
                        state: r.state,
                        healthy: super::region_healthy(r, health),
                        weight: r.weight,
                        canary: r.canary,
                        endpoints_up: up,
                        endpoints_total: r.endpoints.len(),
                        rollout: rollout_trace(service, i, health),
                    }
                })
                .collect()
        })
        .collect();
    let (endpoints, cname) = match super::answer_kind(service, &d) {
        AnswerKind::Addresses => (
            super::endpoints(service, &d, health, cx.want_v6, cx.rotation)
                .map(|a| a.to_string())
                .collect(),
            None,
        ),
        AnswerKind::Cname(c) => (Vec::new(), Some(c.to_string())),
        AnswerKind::NoData => (Vec::new(), None),
    };
    let region = d.region.map(|r| service.regions[r].name.clone());
    let why = match d.reason {
        Reason::Geo => format!(
            "first tier of map key {:?} has an active, healthy region{}",
            entry.key,
            if d.hashed {
                "; weighted pick by client subnet"
            } else {
                ""
            }
        ),
        Reason::Failover => format!(
            "no active, healthy region in earlier tiers; tier {} serves{}",
            d.tier.unwrap_or(0) + 1,
            if d.hashed {
                "; weighted pick by client subnet"
            } else {
                ""
            }
        ),
        Reason::Drain => "no active region can serve; a draining, healthy region does".into(),
        Reason::FailOpen => {
            "no region is healthy: failing open to the first tier, health ignored".into()
        }
        Reason::Fallback => "no region may serve: answering the fallback addresses".into(),
        Reason::NoData => "no region may serve and there is no fallback: NODATA".into(),
    };
    let why = match d.cap {
        None => why,
        Some((t, cap)) => {
            let tier = &entry.tiers[t];
            let names = |canary: bool| {
                tier.iter()
                    .map(|&i| &service.regions[i])
                    .filter(|r| r.canary == canary)
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let note = match cap {
                Cap::Own => format!("this subnet is canary {}'s own share", names(true)),
                Cap::Returned => format!(
                    "this subnet is a canary's ({}), which cannot serve: the rest of tier {} takes it",
                    names(true),
                    t + 1
                ),
                Cap::NotCanary => format!(
                    "this subnet is not canary {}'s, so it stays with {} (or goes on when they cannot serve)",
                    names(true),
                    names(false)
                ),
            };
            format!("{why}; canary cap in tier {}: {note}", t + 1)
        }
    };
    let want = if cx.want_v6 { "AAAA" } else { "A" };
    let why = if cname.is_none() && endpoints.is_empty() && d.region.is_some() {
        format!("{why}; the region has no {want} endpoint up: NODATA")
    } else {
        why
    };
    // Only regions this client's map entry can send it to; each once.
    let mut drain = Vec::new();
    for &i in entry.tiers.iter().flatten() {
        let r = &service.regions[i];
        if r.state != RegionState::Drain || drain.iter().any(|d: &DrainTrace| d.region == r.name) {
            continue;
        }
        let since = cx.drain_since.get(i.index()).copied().flatten();
        drain.push(DrainTrace {
            region: r.name.clone(),
            since: since.map(crate::timefmt::rfc3339),
            caches_clear_at: since
                .map(|s| crate::timefmt::rfc3339(s.saturating_add(u64::from(service.ttl)))),
        });
    }
    let code = |c: Option<[u8; 2]>| c.map(|c| String::from_utf8_lossy(&c).into_owned());
    let trace = Trace {
        name: cx.name.to_string(),
        qtype: want.to_string(),
        service: service.key.clone(),
        client: client.addr.to_string(),
        client_source: match client.source {
            ClientSource::Ecs => "ecs",
            ClientSource::Resolver => "resolver",
        }
        .to_string(),
        source_prefix: client.source_prefix,
        geo: GeoTrace {
            country: code(geo.and_then(|g| g.country)),
            continent: code(geo.and_then(|g| g.continent)),
            subdivision: geo.map(|g| g.subdivisions.clone()).unwrap_or_default(),
            network: geo.and_then(|g| g.network).map(|n| n.to_string()),
        },
        map: service.map.name.clone(),
        map_key: entry.key.clone(),
        tiers,
        regions_not_in_service: entry.missing.clone(),
        region,
        tier: d.tier,
        reason: d.reason.as_str().to_string(),
        why,
        endpoints,
        cname,
        ttl: service.ttl,
        scope: d.scope,
        drain,
        observers: None,
    };
    (d, trace)
}

/// The rollout behind region `i`'s weight, when it is the service's rollout canary.
fn rollout_trace(
    service: &Service,
    i: crate::config::model::RegionId,
    health: &HealthTable,
) -> Option<RolloutTrace> {
    let r = service.rollout.as_ref().filter(|r| r.region == i)?;
    let (step, phase) = crate::rollout::engine::untag(health.live_tag(r.slot))?;
    let weight = service.weight(i, health);
    Some(RolloutTrace {
        step: step + 1,
        steps: r.spec.steps.len(),
        step_text: r
            .spec
            .steps
            .get(step)
            .map(ToString::to_string)
            .unwrap_or_default(),
        share: crate::rollout::engine::share_at(&r.spec, step, phase),
        phase: phase.as_str().to_string(),
        weight: weight.is_finite().then_some(weight),
    })
}

impl Trace {
    /// Multi-line text for a person.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "name:     {} {} (service {})",
            self.name, self.qtype, self.service
        );
        let _ = writeln!(
            s,
            "client:   {}/{} (from {})",
            self.client, self.source_prefix, self.client_source
        );
        let _ = writeln!(
            s,
            "geo:      country={} continent={} subdivision={} network={}",
            self.geo.country.as_deref().unwrap_or("-"),
            self.geo.continent.as_deref().unwrap_or("-"),
            if self.geo.subdivision.is_empty() {
                "-".into()
            } else {
                self.geo.subdivision.join(",")
            },
            self.geo.network.as_deref().unwrap_or("-"),
        );
        let _ = writeln!(s, "map:      {} key {:?}", self.map, self.map_key);
        for (i, tier) in self.tiers.iter().enumerate() {
            let regions: Vec<String> = tier
                .iter()
                .map(|r| {
                    let weight = match &r.rollout {
                        None => r.weight.to_string(),
                        Some(ro) => format!(
                            "{} (rollout step {}/{} {}, {}, {}% of the tier; configured {})",
                            ro.weight
                                .map_or_else(|| "all".to_string(), |w| format!("{w:.4}")),
                            ro.step,
                            ro.steps,
                            ro.step_text,
                            ro.phase.replace('_', " "),
                            crate::rollout::spec::round_percent(ro.share),
                            r.weight
                        ),
                    };
                    format!(
                        "{} [{}, {}, weight {weight}{}, {}/{} up]",
                        r.region,
                        format!("{:?}", r.state).to_lowercase(),
                        if r.healthy { "healthy" } else { "unhealthy" },
                        if r.canary { ", canary" } else { "" },
                        r.endpoints_up,
                        r.endpoints_total
                    )
                })
                .collect();
            let _ = writeln!(s, "tier {}:   {}", i + 1, regions.join("; "));
        }
        if !self.regions_not_in_service.is_empty() {
            let _ = writeln!(
                s,
                "skipped:  {} (named by the map, not defined for this service)",
                self.regions_not_in_service.join(", ")
            );
        }
        let _ = writeln!(
            s,
            "pick:     {} (reason {}: {})",
            self.region.as_deref().unwrap_or("-"),
            self.reason,
            self.why
        );
        match &self.cname {
            Some(c) => {
                let _ = writeln!(s, "answer:   CNAME {c}");
            }
            None => {
                let _ = writeln!(
                    s,
                    "answer:   {}",
                    if self.endpoints.is_empty() {
                        "NODATA".into()
                    } else {
                        self.endpoints.join(" ")
                    }
                );
            }
        }
        let _ = writeln!(s, "ttl:      {}", self.ttl);
        let _ = writeln!(s, "scope:    /{}", self.scope);
        for d in &self.drain {
            let _ = match (&d.since, &d.caches_clear_at) {
                (Some(since), Some(clear)) => writeln!(
                    s,
                    "drain:    {}: draining since {since}; resolver caches let go by {clear}",
                    d.region
                ),
                _ => writeln!(
                    s,
                    "drain:    {}: resolver caches let go {} s (the TTL) after the reload that drained it (--server shows the time)",
                    d.region, self.ttl
                ),
            };
        }
        if let Some(o) = &self.observers {
            o.render_text(&mut s);
        }
        s
    }

    /// The trace as short strings, one per line, for TXT records (each at most 255 bytes).
    pub fn render_txt(&self) -> Vec<String> {
        self.render_text()
            .lines()
            .map(|l| {
                let mut l = l.split_whitespace().collect::<Vec<_>>().join(" ");
                if l.len() > 255 {
                    let mut cut = 255;
                    while !l.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    l.truncate(cut);
                }
                l
            })
            .collect()
    }
}

impl ObserverTrace {
    /// Appends the observers and one line per endpoint to `s`:
    ///
    /// ```text
    /// observers: ns1 (this instance), ns2 (up), ns3 (unreachable: timeout; not counted); quorum majority
    /// observed: us-east 127.0.0.10: ns1 down, ns2 up, ns3 - => up (1 of 2 see it down)
    /// ```
    pub fn render_text(&self, s: &mut String) {
        let who: Vec<String> = self
            .observers
            .iter()
            .map(|o| {
                let mut t = format!("{} ({}", o.name, o.state);
                if let Some(r) = &o.reason {
                    let _ = write!(t, ": {r}");
                }
                if !o.counts {
                    t.push_str("; not counted");
                }
                t.push(')');
                t
            })
            .collect();
        let _ = writeln!(s, "observers: {}; quorum {}", who.join(", "), self.quorum);
        for e in &self.endpoints {
            let views: Vec<String> = self
                .observers
                .iter()
                .zip(&e.views)
                .map(|(o, v)| format!("{} {}", o.name, v.map_or("-", Status::as_str)))
                .collect();
            let _ = writeln!(
                s,
                "observed: {} {}: {} => {} ({} of {} see it down)",
                e.region,
                e.endpoint,
                views.join(", "),
                e.agreed,
                e.down,
                e.observers
            );
        }
    }
}
