//! Per-snapshot query and steering counters (SPEC section 8), owned by the snapshot.
//!
//! The answer path only does relaxed atomic increments on counters that are pre-allocated when
//! a snapshot is built (no lock, no allocation, no hashing per query). The tables are keyed by
//! zone, service and region *names* and carried from one snapshot to the next, so counters stay
//! monotonic across reloads. [`crate::metrics`] reads them at scrape time.
//!
//! This module depends only on the configuration model and the steering reasons, so the
//! snapshot can own its counters without depending on the listeners or the answer path.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::Config;
use crate::config::model::{RegionId, ServiceId, ZoneId, zone_label};
use crate::dns::wire::rcode;
use crate::steer::Reason;

/// Query types counted by name; everything else is `OTHER`.
const QTYPES: &[(u16, &str)] = &[
    (1, "A"),
    (28, "AAAA"),
    (5, "CNAME"),
    (2, "NS"),
    (6, "SOA"),
    (15, "MX"),
    (16, "TXT"),
    (33, "SRV"),
    (257, "CAA"),
    (12, "PTR"),
    (64, "SVCB"),
    (65, "HTTPS"),
    (255, "ANY"),
    (252, "AXFR"),
    (251, "IXFR"),
    (43, "DS"),
    (48, "DNSKEY"),
];
const QTYPE_SLOTS: usize = QTYPES.len() + 1;

/// Response codes counted by name.
const RCODES: &[(u16, &str)] = &[
    (rcode::NOERROR, "NOERROR"),
    (rcode::FORMERR, "FORMERR"),
    (rcode::SERVFAIL, "SERVFAIL"),
    (rcode::NXDOMAIN, "NXDOMAIN"),
    (rcode::NOTIMP, "NOTIMP"),
    (rcode::REFUSED, "REFUSED"),
    (rcode::NOTAUTH, "NOTAUTH"),
    (rcode::BADVERS, "BADVERS"),
    (rcode::BADCOOKIE, "BADCOOKIE"),
];
const RCODE_SLOTS: usize = RCODES.len() + 1;

/// Steering reasons counted, in label order.
pub const REASONS: [Reason; 6] = [
    Reason::Geo,
    Reason::Failover,
    Reason::Drain,
    Reason::FailOpen,
    Reason::Fallback,
    Reason::NoData,
];

fn qtype_slot(qtype: u16) -> usize {
    QTYPES
        .iter()
        .position(|(t, _)| *t == qtype)
        .unwrap_or(QTYPES.len())
}

fn rcode_slot(rc: u16) -> usize {
    RCODES
        .iter()
        .position(|(r, _)| *r == rc)
        .unwrap_or(RCODES.len())
}

fn reason_slot(r: Reason) -> usize {
    REASONS.iter().position(|x| *x == r).unwrap_or(0)
}

/// Query counters of one zone (or of queries outside every zone).
#[derive(Debug)]
pub struct ZoneCounters {
    /// Zone label (origin without the final dot; `none` outside every zone).
    pub zone: String,
    queries: Box<[AtomicU64]>,
}

impl ZoneCounters {
    fn new(zone: String) -> Self {
        Self {
            zone,
            queries: (0..QTYPE_SLOTS * RCODE_SLOTS * 2)
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }
    fn slot(qtype: usize, rcode: usize, tcp: bool) -> usize {
        (qtype * RCODE_SLOTS + rcode) * 2 + usize::from(tcp)
    }
}

/// Steering counters of one (service, region); region `""` counts fallback and NODATA.
#[derive(Debug)]
pub struct SteerCounters {
    service: String,
    region: String,
    by_reason: [AtomicU64; 6],
}

/// Counters reachable from one snapshot by index.
#[derive(Debug)]
pub struct SnapshotCounters {
    zones: Vec<Arc<ZoneCounters>>,
    outside: Arc<ZoneCounters>,
    /// `[zone][service][region index + 1]` (index 0: no region).
    steered: Vec<Vec<Vec<Arc<SteerCounters>>>>,
}

impl SnapshotCounters {
    /// Counters for `cfg`, reusing those of `old` with the same names (one hash lookup per
    /// row, so a reload of 10k services stays linear).
    pub fn build(cfg: &Config, old: Option<&Self>) -> Self {
        let old_zones: HashMap<&str, usize> = old
            .map(|o| {
                o.zones
                    .iter()
                    .enumerate()
                    .map(|(i, z)| (z.zone.as_str(), i))
                    .collect()
            })
            .unwrap_or_default();
        let mut zones = Vec::new();
        let mut steered = Vec::new();
        for zone in &cfg.zones {
            let name = zone_label(&zone.origin);
            let old_index = old_zones.get(name.as_str()).copied();
            let reused = old.zip(old_index).map(|(o, i)| o.zones[i].clone());
            zones.push(reused.unwrap_or_else(|| Arc::new(ZoneCounters::new(name.clone()))));
            let old_rows: HashMap<(&str, &str), &Arc<SteerCounters>> = old
                .zip(old_index)
                .map(|(o, i)| {
                    o.steered[i]
                        .iter()
                        .flatten()
                        .map(|c| ((c.service.as_str(), c.region.as_str()), c))
                        .collect()
                })
                .unwrap_or_default();
            let mut services = Vec::new();
            for svc in &zone.services {
                let regions =
                    std::iter::once("").chain(svc.regions.iter().map(|r| r.name.as_str()));
                let rows = regions
                    .map(|region| match old_rows.get(&(svc.key.as_str(), region)) {
                        Some(c) => Arc::clone(c),
                        None => Arc::new(SteerCounters {
                            service: svc.key.clone(),
                            region: region.to_string(),
                            by_reason: Default::default(),
                        }),
                    })
                    .collect();
                services.push(rows);
            }
            steered.push(services);
        }
        let outside = old.map_or_else(
            || Arc::new(ZoneCounters::new("none".into())),
            |o| o.outside.clone(),
        );
        Self {
            zones,
            outside,
            steered,
        }
    }
}

/// Mnemonic of a query type (`TYPE123` style for others is not needed in labels).
pub fn qtype_name(qtype: u16) -> &'static str {
    QTYPES
        .iter()
        .find(|(t, _)| *t == qtype)
        .map_or("OTHER", |(_, n)| n)
}

/// Mnemonic of a response code.
pub fn rcode_name(rc: u16) -> &'static str {
    RCODES
        .iter()
        .find(|(r, _)| *r == rc)
        .map_or("OTHER", |(_, n)| n)
}

/// One non-zero query counter: zone label, qtype, rcode, transport (`udp`/`tcp`), count.
pub type QueryRow<'a> = (&'a str, &'static str, &'static str, &'static str, u64);

/// One non-zero steering counter: zone label, service, region, reason, count.
pub type SteerRow<'a> = (&'a str, &'a str, &'a str, Reason, u64);

impl SnapshotCounters {
    /// Counts one answered query. `zone` is a zone of the snapshot's config (`None` outside
    /// every zone).
    pub fn count_query(&self, zone: Option<ZoneId>, qtype: u16, rc: u16, tcp: bool) {
        let zone = zone
            .and_then(|z| self.zones.get(z.index()))
            .unwrap_or(&self.outside);
        let slot = ZoneCounters::slot(qtype_slot(qtype), rcode_slot(rc), tcp);
        if let Some(c) = zone.queries.get(slot) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one steered answer of (zone, service, region) by reason; region `None` counts
    /// fallback and NODATA.
    pub fn count_steered(
        &self,
        zone: ZoneId,
        service: ServiceId,
        region: Option<RegionId>,
        reason: Reason,
    ) {
        if let Some(row) = self
            .steered
            .get(zone.index())
            .and_then(|z| z.get(service.index()))
            .and_then(|svc| svc.get(region.map_or(0, |r| r.index() + 1)))
        {
            row.by_reason[reason_slot(reason)].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Steered answers of each row of service `service` of zone `zone` (indices of the
    /// snapshot's config), summed over reasons: row 0 answers with no region (fallback and
    /// NODATA), then one row per region in config order. Read once a second by the status
    /// history, never by the answer path.
    pub fn steered_totals(&self, zone: usize, service: usize) -> impl Iterator<Item = u64> + '_ {
        self.steered
            .get(zone)
            .and_then(|z| z.get(service))
            .into_iter()
            .flatten()
            .map(|row| {
                row.by_reason
                    .iter()
                    .map(|c| c.load(Ordering::Relaxed))
                    .sum()
            })
    }

    /// Every non-zero query counter, zones in config order and then queries outside every
    /// zone.
    pub fn query_rows(&self) -> impl Iterator<Item = QueryRow<'_>> {
        self.zones
            .iter()
            .chain(std::iter::once(&self.outside))
            .flat_map(|zone| {
                let qtypes = QTYPES.iter().map(|(_, n)| *n).chain(["OTHER"]).enumerate();
                qtypes.flat_map(move |(qi, qname)| {
                    let rcodes = RCODES.iter().map(|(_, n)| *n).chain(["OTHER"]).enumerate();
                    rcodes.flat_map(move |(ri, rname)| {
                        [(false, "udp"), (true, "tcp")].into_iter().filter_map(
                            move |(tcp, proto)| {
                                let v = zone.queries[ZoneCounters::slot(qi, ri, tcp)]
                                    .load(Ordering::Relaxed);
                                (v > 0).then_some((zone.zone.as_str(), qname, rname, proto, v))
                            },
                        )
                    })
                })
            })
    }

    /// Every non-zero steering counter.
    pub fn steer_rows(&self) -> impl Iterator<Item = SteerRow<'_>> {
        self.steered
            .iter()
            .enumerate()
            .flat_map(move |(zi, services)| {
                let zone = self.zones[zi].zone.as_str();
                services.iter().flatten().flat_map(move |row| {
                    REASONS.iter().enumerate().filter_map(move |(i, reason)| {
                        let v = row.by_reason[i].load(Ordering::Relaxed);
                        (v > 0).then_some((
                            zone,
                            row.service.as_str(),
                            row.region.as_str(),
                            *reason,
                            v,
                        ))
                    })
                })
            })
    }
}
