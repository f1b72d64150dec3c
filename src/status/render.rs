//! Builds the `/v1/status` document from the serving snapshot and the status board.
//!
//! ```text
//!  Snapshot (config, health table) ─┐
//!  StatusBoard (history, last probes, events) ─┼─► document() ─► StatusDoc ─► JSON
//!  with [peers]: FleetView + EndpointViews ─┘   (peers.rs)
//! ```
//!
//! Runs on the admin listener's task when `/v1/status` is asked for; it takes the history's
//! and the probe log's locks briefly and touches nothing the answer path uses but the health
//! table's atomics.

use super::board::StatusBoard;
use super::doc::{
    EndpointAgreement, EndpointStatus, Health, ProbeStatus, RegionStatus, SCHEMA_VERSION,
    ServiceStatus, StatusDoc, Summary, Traffic, ZoneStatus,
};
use super::history::{MINUTES, SECONDS, Series};
use super::peers::{agreements, peers_status};
use crate::config::model::{RegionState, ServiceRegion, zone_label};
use crate::health::{SlotId, Status};
use crate::peers::{EndpointView, FleetView};
use crate::state::Snapshot;
use crate::steer::region_healthy;

/// How many of the newest events the document lists.
pub const EVENTS_SHOWN: usize = 100;

/// The status document for `snap`, as of `now_unix_ms`. `fleet`: with `[peers]`, the fleet
/// and every checked endpoint's view of it, in `Config::checks` order
/// (`crate::peers::view::build` picking every check).
pub fn document(
    board: &StatusBoard,
    snap: &Snapshot,
    now_unix_ms: u64,
    fleet: Option<(&FleetView, &[EndpointView])>,
    rollouts: &[crate::rollout::report::RolloutStatus],
) -> StatusDoc {
    let cfg = &snap.config;
    let mut summary = Summary::default();
    let agreed = fleet.map(|(_, endpoints)| agreements(endpoints));
    let agreed = agreed.as_deref();
    let zones = {
        let mut history = board.history();
        history.follow(cfg, snap.generation);
        cfg.zones
            .iter()
            .enumerate()
            .map(|(zi, zone)| ZoneStatus {
                zone: zone_label(&zone.origin),
                services: zone
                    .services
                    .iter()
                    .enumerate()
                    .map(|(si, svc)| {
                        let per_row: Vec<Option<Series<'_>>> = (0..=svc.regions.len())
                            .map(|row| history.series(zi, si, row))
                            .collect();
                        let total_1m: u64 = per_row.iter().flatten().map(|s| s.last_minute()).sum();
                        let total_1h: u64 = per_row.iter().flatten().map(|s| s.last_hour()).sum();
                        let regions: Vec<RegionStatus> = svc
                            .regions
                            .iter()
                            .enumerate()
                            .map(|(ri, region)| {
                                let traffic = traffic(per_row[ri + 1], total_1m, total_1h);
                                region_status(board, snap, agreed, region, traffic, &mut summary)
                            })
                            .collect();
                        summary.services += 1;
                        ServiceStatus {
                            service: svc.key.clone(),
                            name: svc.owner.to_string(),
                            health: service_health(&regions),
                            traffic: sum_traffic(&per_row),
                            no_region: traffic(per_row[0], total_1m, total_1h),
                            regions,
                            rollout: rollouts
                                .iter()
                                .find(|r| {
                                    r.service == svc.key && r.zone == zone_label(&zone.origin)
                                })
                                .cloned(),
                        }
                    })
                    .collect(),
            })
            .collect()
    };
    let (events, events_total) = board.events.recent(EVENTS_SHOWN);
    let instance = cfg.server.identity.clone().or_else(|| {
        cfg.server
            .nsid
            .as_deref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
    });
    StatusDoc {
        version: SCHEMA_VERSION,
        instance,
        generation: snap.generation,
        loaded_unix_ms: snap.loaded_at_unix.saturating_mul(1000),
        started_unix_ms: board.started_unix_ms,
        uptime_seconds: now_unix_ms.saturating_sub(board.started_unix_ms) / 1000,
        now_unix_ms,
        summary,
        zones,
        events,
        events_total,
        peers: fleet.map(|(view, endpoints)| peers_status(view, endpoints)),
    }
}

/// A region's endpoints, health and traffic; counts it into `summary`. `agreed`: with
/// `[peers]`, each checked endpoint's agreement by slot.
fn region_status(
    board: &StatusBoard,
    snap: &Snapshot,
    agreed: Option<&[EndpointAgreement]>,
    region: &ServiceRegion,
    traffic: Traffic,
    summary: &mut Summary,
) -> RegionStatus {
    let endpoint = |address: String, slot: Option<SlotId>| {
        let Some(slot) = slot else {
            return EndpointStatus {
                address,
                checked: false,
                status: Status::Up.as_str(),
                since_unix_ms: None,
                last_probe: None,
                agreement: None,
            };
        };
        let status = snap.health.get(slot);
        let record = snap
            .config
            .checks
            .get(slot.0 as usize)
            .and_then(|c| board.endpoints.get(&c.key()));
        EndpointStatus {
            address,
            checked: true,
            status: status.as_str(),
            since_unix_ms: record.as_ref().map(|r| r.since_unix_ms),
            last_probe: record.and_then(|r| r.last).map(|p| ProbeStatus {
                passed: p.passed,
                result: p.reason,
                rtt_ms: (p.rtt.as_secs_f64() * 1e6).round() / 1e3,
                at_unix_ms: p.at_unix_ms,
            }),
            agreement: agreed.and_then(|a| a.get(slot.0 as usize)).cloned(),
        }
    };
    let endpoints: Vec<EndpointStatus> = match (&region.cname, region.cname_slot) {
        (Some(_), Some(slot)) => {
            let address = snap
                .config
                .checks
                .get(slot.0 as usize)
                .map_or_else(String::new, |c| c.addr.to_string());
            vec![endpoint(address, Some(slot))]
        }
        (Some(_), None) => Vec::new(),
        (None, _) => region
            .endpoints
            .iter()
            .map(|e| endpoint(e.addr.to_string(), e.slot))
            .collect(),
    };
    let endpoints_up = endpoints.iter().filter(|e| e.status == "up").count();
    let healthy = region_healthy(region, &snap.health);
    let health = if !healthy {
        Health::Failing
    } else if endpoints_up < endpoints.len() {
        Health::Degraded
    } else {
        Health::Ok
    };
    summary.regions += 1;
    summary.regions_failing += usize::from(health == Health::Failing);
    summary.regions_degraded += usize::from(health == Health::Degraded);
    summary.endpoints_checked += endpoints.iter().filter(|e| e.checked).count();
    summary.endpoints_down += endpoints.len() - endpoints_up;
    RegionStatus {
        region: region.name.clone(),
        state: region.state,
        weight: region.weight,
        canary: region.canary,
        cname: region.cname.as_ref().map(ToString::to_string),
        health,
        min_up: region.min_up,
        endpoints_up,
        endpoints_total: endpoints.len(),
        endpoints,
        traffic,
    }
}

/// `failing` when no region that is not `down` is healthy; `degraded` when one of them is
/// failing or degraded; else `ok`.
fn service_health(regions: &[RegionStatus]) -> Health {
    let serving: Vec<Health> = regions
        .iter()
        .filter(|r| r.state != RegionState::Down)
        .map(|r| r.health)
        .collect();
    if serving.iter().all(|h| *h == Health::Failing) {
        Health::Failing
    } else if serving.iter().any(|h| *h != Health::Ok) {
        Health::Degraded
    } else {
        Health::Ok
    }
}

fn share(part: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| part as f64 / total as f64)
}

/// One row's traffic and its share of the service's totals.
fn traffic(series: Option<Series<'_>>, total_1m: u64, total_1h: u64) -> Traffic {
    match series {
        Some(s) => Traffic {
            answers_1m: s.last_minute(),
            answers_1h: s.last_hour(),
            share_1m: share(s.last_minute(), total_1m),
            share_1h: share(s.last_hour(), total_1h),
            series_1m: s.per_second(),
            series_1h: s.per_minute(),
        },
        None => Traffic {
            answers_1m: 0,
            answers_1h: 0,
            share_1m: None,
            share_1h: None,
            series_1m: vec![0; SECONDS],
            series_1h: vec![0; MINUTES],
        },
    }
}

/// The sum of a service's rows (shares `null`).
fn sum_traffic(rows: &[Option<Series<'_>>]) -> Traffic {
    let mut t = traffic(None, 0, 0);
    for s in rows.iter().flatten() {
        t.answers_1m += s.last_minute();
        t.answers_1h += s.last_hour();
        for (sum, v) in t.series_1m.iter_mut().zip(s.per_second()) {
            *sum += v;
        }
        for (sum, v) in t.series_1h.iter_mut().zip(s.per_minute()) {
            *sum += v;
        }
    }
    t
}
