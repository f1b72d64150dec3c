//! Per-snapshot query and steering counters (SPEC section 8), owned by the snapshot.
//!
//! The answer path only does relaxed atomic increments on counters that are pre-allocated when
//! a snapshot is built (no lock, no allocation, no hashing per query). The tables are keyed by
//! zone, service and region *names* and carried from one snapshot to the next, so counters stay
//! monotonic across reloads. [`crate::metrics`] reads them at scrape time.
//!
//! The counters every query touches are sharded ([`Sharded`]): the per-zone query counters
//! here and the response-time histogram and RRL count in [`crate::metrics`]. Every UDP worker
//! thread adds to its own copy, on its own cache lines, and a scrape sums the copies, so
//! workers on different cores never write the same cache line. The steered counters (one row
//! per service and region) are not: sharding them would cost 64 bytes a row per core.
//!
//! This module depends only on the configuration model and the steering reasons, so the
//! snapshot can own its counters without depending on the listeners or the answer path.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

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

//------------ Sharded -----------------------------------------------------------------------------

/// Most counter shards, whatever the core count (memory grows with them).
const MAX_SHARDS: usize = 16;

thread_local! {
    /// This thread's shard; 0 unless the thread is a UDP worker ([`set_worker_shard`]).
    static SHARD: Cell<usize> = const { Cell::new(0) };
}

/// Number of shards: one per core, up to [`MAX_SHARDS`], fixed for the process.
pub fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, MAX_SHARDS)
    })
}

/// Makes the calling thread count into worker `worker`'s shard (UDP workers call it once at
/// start; other threads, TCP included, share shard 0).
pub fn set_worker_shard(worker: usize) {
    SHARD.with(|s| s.set(worker % shard_count()));
}

fn current_shard() -> usize {
    SHARD.with(Cell::get)
}

/// Eight counters on one cache line of their own.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Line([AtomicU64; 8]);

/// `n` counters with one copy per shard; each shard's copies start on a cache line of their
/// own, so threads counting into different shards never share a line.
#[derive(Debug)]
pub struct Sharded {
    /// Lines per shard.
    stride: usize,
    /// Counters per shard.
    n: usize,
    lines: Box<[Line]>,
}

impl Sharded {
    /// `n` counters, all zero, in [`shard_count`] shards.
    pub fn new(n: usize) -> Self {
        let stride = n.div_ceil(8).max(1);
        Self {
            stride,
            n,
            lines: (0..stride * shard_count())
                .map(|_| Line::default())
                .collect(),
        }
    }

    fn cell(&self, shard: usize, i: usize) -> Option<&AtomicU64> {
        if i >= self.n {
            return None;
        }
        let line = self.lines.get(shard * self.stride + i / 8)?;
        Some(&line.0[i % 8])
    }

    /// Adds `v` to counter `i` in the calling thread's shard.
    #[inline]
    pub fn add(&self, i: usize, v: u64) {
        let shard = current_shard() % (self.lines.len() / self.stride).max(1);
        if let Some(c) = self.cell(shard, i) {
            c.fetch_add(v, Ordering::Relaxed);
        }
    }

    /// Counter `i` summed over the shards.
    pub fn get(&self, i: usize) -> u64 {
        (0..self.lines.len() / self.stride)
            .filter_map(|shard| self.cell(shard, i))
            .map(|c| c.load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }

    /// Heap bytes.
    pub fn memory_bytes(&self) -> usize {
        self.lines.len() * std::mem::size_of::<Line>()
    }
}

//------------ Tables -------------------------------------------------------------------------------

/// Query counters of one zone (or of queries outside every zone).
#[derive(Debug)]
pub struct ZoneCounters {
    /// Zone label (origin without the final dot; `none` outside every zone).
    pub zone: String,
    queries: Sharded,
}

impl ZoneCounters {
    fn new(zone: String) -> Self {
        Self {
            zone,
            queries: Sharded::new(QTYPE_SLOTS * RCODE_SLOTS * 2),
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
    /// Not sharded: one row per (service, region) times the shards would cost 64 bytes a
    /// row per core (35 MB for 10k names on 16 cores), and rows of different services sit on
    /// different lines anyway.
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
        zone.queries.add(slot, 1);
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
                                let v = zone.queries.get(ZoneCounters::slot(qi, ri, tcp));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_sum_at_read_and_live_on_lines_of_their_own() {
        let counters = Arc::new(Sharded::new(10));
        let shards = shard_count();
        // One thread per shard (at least two), each counting into its own.
        let threads: Vec<_> = (0..shards.max(2))
            .map(|worker| {
                let c = Arc::clone(&counters);
                std::thread::spawn(move || {
                    set_worker_shard(worker);
                    for _ in 0..1000 {
                        c.add(9, 1);
                    }
                    c.add(0, worker as u64 + 1);
                })
            })
            .collect();
        for t in threads {
            t.join().expect("counting thread");
        }
        let workers = shards.max(2) as u64;
        assert_eq!(counters.get(9), 1000 * workers);
        assert_eq!(counters.get(0), (1..=workers).sum::<u64>());
        assert_eq!(counters.get(10), 0, "past the end reads 0");
        counters.add(10, 5); // past the end: ignored
        assert_eq!(counters.get(10), 0);
        // Each shard holds only what its threads added, on cache lines no other shard uses.
        for shard in 0..shards {
            let here = counters
                .cell(shard, 9)
                .expect("cell")
                .load(Ordering::Relaxed);
            let threads_here = (0..workers as usize)
                .filter(|w| w % shards == shard)
                .count();
            assert_eq!(here, 1000 * threads_here as u64, "shard {shard}");
        }
        if shards > 1 {
            let a = counters.cell(0, 9).expect("cell") as *const AtomicU64 as usize;
            let b = counters.cell(1, 0).expect("cell") as *const AtomicU64 as usize;
            assert!(
                b / 64 > a / 64,
                "shard 1 starts on a line after shard 0's last"
            );
        }
    }

    #[test]
    fn a_thread_that_is_no_worker_counts_into_shard_0() {
        let counters = Sharded::new(3);
        std::thread::scope(|s| {
            s.spawn(|| counters.add(2, 7));
        });
        assert_eq!(
            counters.cell(0, 2).expect("cell").load(Ordering::Relaxed),
            7
        );
        assert_eq!(counters.get(2), 7);
    }
}
