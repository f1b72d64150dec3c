//! Per-snapshot query and steering counters (SPEC section 8), owned by the snapshot.
//!
//! The answer path only does relaxed atomic increments on counters that are pre-allocated when
//! a snapshot is built (no lock, no allocation, no hashing per query). The tables are keyed by
//! zone, service and region *names* and carried from one snapshot to the next, so counters stay
//! monotonic across reloads. [`crate::metrics`] reads them at scrape time.
//!
//! The counters every query touches are sharded ([`Sharded`]): the per-zone query counters
//! here and the response-time histogram and RRL count in [`crate::metrics`]. Every UDP worker
//! thread claims a shard of its own ([`claim_worker_shard`]) and adds to it on its own cache
//! lines with a plain load and store (it is the shard's only writer); every other thread (TCP,
//! tokio, tests, workers beyond the core count) adds to the shared shard 0 with an atomic add.
//! A scrape sums the shards, so workers on different cores never write the same cache line
//! and never pay for a locked instruction. The steered counters (one row per service and
//! region) are not sharded: sharding them would cost 64 bytes a row per core.
//!
//! This module depends only on the configuration model and the steering reasons, so the
//! snapshot can own its counters without depending on the listeners or the answer path.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

/// Most worker shards, whatever the core count (memory grows with them).
const MAX_WORKER_SHARDS: usize = 16;

/// Index of the shard every thread without a shard of its own counts into.
const SHARED: usize = 0;

/// The shard a thread counts into, and whether the thread owns it.
///
/// Shard 0 is shared: TCP tasks, the tokio runtime, tests and every thread without a shard of
/// its own add to it with atomic read-modify-write, so their increments never collide. A
/// worker that claimed a shard ([`claim_worker_shard`]) is the only thread that ever writes
/// it, so it adds with a plain load and store (no locked instruction); scrapes read any
/// shard at any time and see whole values, since both are atomic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    owned: bool,
}

impl Shard {
    /// Shard 0, shared by every thread that owns none.
    const SHARED: Self = Self {
        index: SHARED,
        owned: false,
    };

    /// The shard's index (0 for the shared one).
    pub fn index(self) -> usize {
        self.index
    }

    /// Whether the calling thread owns it (and adds without a locked instruction).
    pub fn owned(self) -> bool {
        self.owned
    }
}

/// One flag per shard: set while a live thread owns the shard. Index 0 is never claimed.
static OWNERS: [AtomicBool; MAX_WORKER_SHARDS + 1] =
    [const { AtomicBool::new(false) }; MAX_WORKER_SHARDS + 1];

thread_local! {
    /// This thread's shard: the shared one unless it claimed one.
    static SHARD: Cell<Shard> = const { Cell::new(Shard::SHARED) };
    /// Gives the claimed shard back when the thread ends.
    static CLAIM: RefCell<Option<Claim>> = const { RefCell::new(None) };
}

/// A claimed shard, released when the thread that holds it ends.
#[derive(Debug)]
struct Claim(usize);

impl Drop for Claim {
    fn drop(&mut self) {
        // Stop writing the shard before another thread may claim it: from here on this
        // thread (still running thread-local destructors) counts into the shared shard.
        SHARD.with(|s| s.set(Shard::SHARED));
        // Release pairs with the Acquire of the next claim, which then sees every value
        // this thread stored.
        OWNERS[self.0].store(false, Ordering::Release);
    }
}

/// Number of shards: the shared one and one per core, up to [`MAX_WORKER_SHARDS`]; fixed
/// for the process.
pub fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        1 + std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, MAX_WORKER_SHARDS)
    })
}

/// Gives the calling thread a shard of its own, if one is free (UDP workers call it once at
/// start), and returns the shard it counts into from now on: its own, or the shared one when
/// every worker shard is taken (more workers than cores, or several addresses). Calling it
/// again keeps the shard already held. The shard is given back when the thread ends.
pub fn claim_worker_shard() -> Shard {
    let held = current_shard();
    if held.owned {
        return held;
    }
    let Some(index) = (1..shard_count()).find(|&i| {
        OWNERS[i]
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }) else {
        return held;
    };
    CLAIM.with(|c| *c.borrow_mut() = Some(Claim(index)));
    let shard = Shard { index, owned: true };
    SHARD.with(|s| s.set(shard));
    shard
}

/// The shard the calling thread counts into.
pub fn current_shard() -> Shard {
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
    /// Shards ([`shard_count`], fixed for the process).
    shards: usize,
    lines: Box<[Line]>,
}

impl Sharded {
    /// `n` counters, all zero, in [`shard_count`] shards.
    pub fn new(n: usize) -> Self {
        let stride = n.div_ceil(8).max(1);
        let shards = shard_count();
        Self {
            stride,
            n,
            shards,
            lines: (0..stride * shards).map(|_| Line::default()).collect(),
        }
    }

    /// Counter `i` of shard `shard`; `None` past the end. No division: `i / 8` and `i % 8`
    /// are a shift and a mask, and a shard index past the last finds no line.
    #[inline]
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
        self.add_in(current_shard(), i, v);
    }

    /// Adds `v` to counter `i` in `shard` (the calling thread's, from [`current_shard`]): a
    /// plain load and store when the thread owns the shard, an atomic add when it is shared.
    #[inline]
    pub fn add_in(&self, shard: Shard, i: usize, v: u64) {
        let Some(c) = self.cell(shard.index, i) else {
            return;
        };
        if shard.owned {
            // Only this thread writes this shard (claim_worker_shard), so no increment can
            // land between the load and the store.
            c.store(c.load(Ordering::Relaxed).wrapping_add(v), Ordering::Relaxed);
        } else {
            c.fetch_add(v, Ordering::Relaxed);
        }
    }

    /// Counter `i` summed over the shards.
    pub fn get(&self, i: usize) -> u64 {
        (0..self.shards)
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

    /// Held by the tests that claim shards, so that each sees every worker shard free (no
    /// other unit test starts UDP workers).
    static CLAIMING: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn claiming() -> std::sync::MutexGuard<'static, ()> {
        CLAIMING.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Threads that each claim a shard if one is free and count; returns their shards.
    fn count_from_threads(counters: &Arc<Sharded>, threads: usize, adds: u64) -> Vec<Shard> {
        // Every thread holds its claim until all have counted, so none is given back and
        // claimed again by the next: more threads than shards really share shard 0.
        let barrier = Arc::new(std::sync::Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let c = Arc::clone(counters);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let shard = claim_worker_shard();
                    assert_eq!(
                        claim_worker_shard(),
                        shard,
                        "a second claim keeps the first"
                    );
                    assert_eq!(current_shard(), shard);
                    barrier.wait();
                    for _ in 0..adds {
                        c.add(9, 1);
                    }
                    c.add(0, t as u64 + 1);
                    barrier.wait();
                    shard
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("counting thread"))
            .collect()
    }

    #[test]
    fn sums_stay_exact_when_owners_and_sharers_count_at_once() {
        let _claiming = claiming();
        let counters = Arc::new(Sharded::new(10));
        // More threads than shards: some own one, the rest share shard 0 with this thread.
        let threads = shard_count() + 3;
        let adds = 20_000;
        let helper = {
            let c = Arc::clone(&counters);
            std::thread::spawn(move || {
                for _ in 0..adds {
                    c.add(9, 1);
                }
            })
        };
        let shards = count_from_threads(&counters, threads, adds);
        helper.join().expect("shared-shard thread");
        assert_eq!(counters.get(9), adds * (threads as u64 + 1));
        assert_eq!(counters.get(0), (1..=threads as u64).sum::<u64>());
        // No two live threads owned the same shard, and nobody owned shard 0.
        let mut owned: Vec<usize> = shards
            .iter()
            .filter(|s| s.owned())
            .map(|s| s.index())
            .collect();
        let claimed = owned.len();
        owned.sort_unstable();
        owned.dedup();
        assert_eq!(owned.len(), claimed, "a shard had two owners: {shards:?}");
        assert!(owned.iter().all(|&i| i > 0 && i < shard_count()));
        assert!(
            shards.iter().filter(|s| !s.owned()).all(|s| s.index() == 0),
            "a thread without a shard of its own counts into shard 0"
        );
        assert_eq!(
            claimed,
            shard_count() - 1,
            "every worker shard found an owner"
        );
        // Each owned shard holds exactly what its owner added.
        for s in shards.iter().filter(|s| s.owned()) {
            let here = counters.cell(s.index(), 9).expect("cell");
            assert_eq!(here.load(Ordering::Relaxed), adds, "shard {}", s.index());
        }
    }

    #[test]
    fn a_shard_is_given_back_when_its_thread_ends() {
        let _claiming = claiming();
        // Threads one after the other: each claims a shard of its own, because the one
        // before gave it back when it ended.
        let counters = Arc::new(Sharded::new(3));
        for round in 0..(2 * shard_count()) as u64 {
            let shards = count_from_threads(&counters, 1, 1000);
            assert!(shards[0].owned(), "round {round}: {shards:?}");
            assert!(
                !OWNERS[shards[0].index()].load(Ordering::Acquire),
                "given back"
            );
            assert_eq!(counters.get(9), 0, "past the end reads 0");
            assert_eq!(counters.get(0), round + 1);
        }
    }

    #[test]
    fn shards_live_on_lines_of_their_own_and_past_the_end_is_ignored() {
        let counters = Sharded::new(10);
        assert!(
            shard_count() >= 2,
            "the shared shard and at least one worker shard"
        );
        let a = counters.cell(0, 9).expect("cell") as *const AtomicU64 as usize;
        let b = counters.cell(1, 0).expect("cell") as *const AtomicU64 as usize;
        assert!(
            b / 64 > a / 64,
            "shard 1 starts on a line after shard 0's last"
        );
        assert!(
            counters.cell(shard_count(), 0).is_none(),
            "no shard past the last"
        );
        counters.add(10, 5); // past the end: ignored
        assert_eq!(counters.get(10), 0);
        let stray = Shard {
            index: shard_count(),
            owned: true,
        };
        counters.add_in(stray, 0, 5); // a shard past the last: ignored
        assert_eq!(counters.get(0), 0);
    }

    #[test]
    fn a_thread_that_is_no_worker_counts_into_shard_0() {
        let counters = Sharded::new(3);
        std::thread::scope(|s| {
            s.spawn(|| {
                assert_eq!(current_shard(), Shard::SHARED);
                counters.add(2, 7);
            });
        });
        assert_eq!(
            counters.cell(0, 2).expect("cell").load(Ordering::Relaxed),
            7
        );
        assert_eq!(counters.get(2), 7);
    }
}
