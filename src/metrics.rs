//! Prometheus metrics (SPEC section 8), defined in one place.
//!
//! The answer path only does relaxed atomic increments on counters that are pre-allocated when
//! a snapshot is built (no lock, no allocation, no hashing per query). The tables are keyed by
//! zone, service and region *names* and carried from one snapshot to the next, so counters stay
//! monotonic across reloads. At scrape time a [`prometheus_client`] collector walks the current
//! snapshot and encodes everything with the crate's text encoder.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::config::Config;
use crate::dns::answer::{AnswerInfo, Transport};
use crate::dns::wire::rcode;
use crate::health::Status;
use crate::server::QueryObserver;
use crate::state::{Snapshot, Store};
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
    (rcode::BADVERS, "BADVERS"),
];
const RCODE_SLOTS: usize = RCODES.len() + 1;

const REASONS: [Reason; 6] = [
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
            let name = zone_label(&zone.origin.to_string());
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

/// Zone label: origin without the final dot.
fn zone_label(origin: &str) -> String {
    let trimmed = origin.trim_end_matches('.');
    if trimmed.is_empty() {
        ".".into()
    } else {
        trimmed.to_string()
    }
}

/// Response time histogram bucket upper bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.000_005, 0.00001, 0.000_025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.1,
];

/// Process-wide metrics that do not depend on the snapshot.
#[derive(Debug, Default)]
pub struct Metrics {
    reloads_ok: AtomicU64,
    reloads_error: AtomicU64,
    rrl_limited: AtomicU64,
    hist_buckets: [AtomicU64; BUCKETS.len()],
    hist_count: AtomicU64,
    hist_sum_ns: AtomicU64,
    health_checks:
        std::sync::Mutex<std::collections::BTreeMap<(String, String, String, bool), u64>>,
}

impl Metrics {
    /// Counts a reload outcome.
    pub fn reload(&self, ok: bool) {
        let c = if ok {
            &self.reloads_ok
        } else {
            &self.reloads_error
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a rate-limited response.
    pub fn rrl_limited(&self) {
        self.rrl_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one health probe result (called by the checker, not per query).
    pub fn health_check(&self, zone: &str, service: &str, region: &str, passed: bool) {
        let mut map = self.health_checks.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((zone.into(), service.into(), region.into(), passed))
            .or_insert(0) += 1;
    }

    fn observe_time(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.hist_buckets[i].fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
        self.hist_count.fetch_add(1, Ordering::Relaxed);
        self.hist_sum_ns
            .fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Reload counts (ok, error), for tests and the reload command.
    pub fn reloads(&self) -> (u64, u64) {
        (
            self.reloads_ok.load(Ordering::Relaxed),
            self.reloads_error.load(Ordering::Relaxed),
        )
    }
}

/// Counts every query and writes query logs when enabled.
#[derive(Debug)]
pub struct MetricsObserver {
    /// Shared process metrics.
    pub metrics: Arc<Metrics>,
}

impl QueryObserver for MetricsObserver {
    fn observe(
        &self,
        snap: &Snapshot,
        source: SocketAddr,
        transport: Transport,
        info: Option<&AnswerInfo>,
        elapsed: Duration,
    ) {
        let Some(info) = info else { return };
        let counters = &snap.counters;
        let zone = info
            .zone
            .and_then(|z| counters.zones.get(z))
            .unwrap_or(&counters.outside);
        let slot = ZoneCounters::slot(
            qtype_slot(info.qtype),
            rcode_slot(info.rcode),
            transport == Transport::Tcp,
        );
        if let Some(c) = zone.queries.get(slot) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(s) = info.steered
            && let Some(row) = counters
                .steered
                .get(s.zone)
                .and_then(|z| z.get(s.service))
                .and_then(|svc| svc.get(s.region.map_or(0, |r| r + 1)))
        {
            row.by_reason[reason_slot(s.reason)].fetch_add(1, Ordering::Relaxed);
        }
        self.metrics.observe_time(elapsed);
        if snap.config.log.queries {
            log_query(snap, source, transport, info);
        }
    }

    fn rate_limited(&self) {
        self.metrics.rrl_limited();
    }
}

fn log_query(snap: &Snapshot, source: SocketAddr, transport: Transport, info: &AnswerInfo) {
    let (service, region, reason) = match info.steered {
        Some(s) => {
            let svc = &snap.config.zones[s.zone].services[s.service];
            (
                svc.key.as_str(),
                s.region.map_or("", |r| svc.regions[r].name.as_str()),
                s.reason.as_str(),
            )
        }
        None => ("", "", ""),
    };
    let ecs = info.ecs.map(|e| format!("{}/{}", e.addr, e.source_prefix));
    tracing::info!(
        client = %source.ip(),
        ecs = ecs.as_deref().unwrap_or(""),
        proto = transport.as_str(),
        qtype = qtype_name(info.qtype),
        rcode = rcode_name(info.rcode),
        service,
        region,
        reason,
        "query"
    );
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

/// Encodes snapshot-bound and process metrics at scrape time.
#[derive(Debug)]
struct SteerdnsCollector {
    store: Store,
    metrics: Arc<Metrics>,
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: &[(Vec<(&str, &str)>, u64)],
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in rows {
        let labels: &[(&str, &str)] = labels;
        if labels.is_empty() {
            ConstCounter::new(*value).encode(family)?;
            return Ok(());
        }
        ConstCounter::new(*value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for SteerdnsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snap = self.store.load_full();
        let c = &snap.counters;

        let mut rows = Vec::new();
        for zone in c.zones.iter().chain(std::iter::once(&c.outside)) {
            for (qi, qname) in QTYPES.iter().map(|(_, n)| *n).chain(["OTHER"]).enumerate() {
                for (ri, rname) in RCODES.iter().map(|(_, n)| *n).chain(["OTHER"]).enumerate() {
                    for (tcp, proto) in [(false, "udp"), (true, "tcp")] {
                        let v =
                            zone.queries[ZoneCounters::slot(qi, ri, tcp)].load(Ordering::Relaxed);
                        if v > 0 {
                            rows.push((
                                vec![
                                    ("zone", zone.zone.as_str()),
                                    ("qtype", qname),
                                    ("rcode", rname),
                                    ("proto", proto),
                                ],
                                v,
                            ));
                        }
                    }
                }
            }
        }
        counter(
            &mut encoder,
            "steerdns_queries",
            "Queries answered, by zone, type, rcode and transport.",
            &rows,
        )?;

        let zone_names: Vec<&str> = c.zones.iter().map(|z| z.zone.as_str()).collect();
        let mut rows = Vec::new();
        for (zi, services) in c.steered.iter().enumerate() {
            for row in services.iter().flatten() {
                for (i, reason) in REASONS.iter().enumerate() {
                    let v = row.by_reason[i].load(Ordering::Relaxed);
                    if v > 0 {
                        rows.push((
                            vec![
                                ("zone", zone_names[zi]),
                                ("service", row.service.as_str()),
                                ("region", row.region.as_str()),
                                ("reason", reason.as_str()),
                            ],
                            v,
                        ));
                    }
                }
            }
        }
        counter(
            &mut encoder,
            "steerdns_steered",
            "Steered answers, by service, region and reason.",
            &rows,
        )?;

        let mut family = encoder.encode_descriptor(
            "steerdns_endpoint_up",
            "1 when the endpoint passes its health check, 0 when it is down.",
            None,
            MetricType::Gauge,
        )?;
        for check in &snap.config.checks {
            let addr = check.addr.to_string();
            let labels: &[(&str, &str)] = &[
                ("zone", check.zone.as_str()),
                ("service", check.service.as_str()),
                ("region", check.region.as_str()),
                ("endpoint", addr.as_str()),
            ];
            let up = i64::from(snap.health.get(check.slot) == Status::Up);
            ConstGauge::new(up).encode(family.encode_family(&labels)?)?;
        }

        let map = self
            .metrics
            .health_checks
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let health_rows: Vec<(Vec<(&str, &str)>, u64)> = map
            .iter()
            .map(|((z, s, r, passed), v)| {
                (
                    vec![
                        ("zone", z.as_str()),
                        ("service", s.as_str()),
                        ("region", r.as_str()),
                        ("result", if *passed { "pass" } else { "fail" }),
                    ],
                    *v,
                )
            })
            .collect();
        counter(
            &mut encoder,
            "steerdns_health_checks",
            "Health probes, by result.",
            &health_rows,
        )?;
        drop(map);

        counter(
            &mut encoder,
            "steerdns_reloads",
            "Configuration reloads, by result.",
            &[
                (
                    vec![("result", "ok")],
                    self.metrics.reloads_ok.load(Ordering::Relaxed),
                ),
                (
                    vec![("result", "error")],
                    self.metrics.reloads_error.load(Ordering::Relaxed),
                ),
            ],
        )?;
        let gauge = ConstGauge::new(snap.generation as i64);
        gauge.encode(encoder.encode_descriptor(
            "steerdns_config_generation",
            "Generation of the configuration being served (1 at start, +1 per applied reload).",
            None,
            gauge.metric_type(),
        )?)?;
        counter(
            &mut encoder,
            "steerdns_rrl_limited",
            "Responses dropped or truncated by response rate limiting.",
            &[(vec![], self.metrics.rrl_limited.load(Ordering::Relaxed))],
        )?;

        // Per-bucket counts; the encoder makes them cumulative.
        let count = self.metrics.hist_count.load(Ordering::Relaxed);
        let mut below = 0;
        let mut buckets: Vec<(f64, u64)> = BUCKETS
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let n = self.metrics.hist_buckets[i].load(Ordering::Relaxed);
                below += n;
                (*b, n)
            })
            .collect();
        buckets.push((f64::INFINITY, count.saturating_sub(below)));
        let mut hist = encoder.encode_descriptor(
            "steerdns_response_seconds",
            "Time from receiving a query to having its response ready.",
            None,
            MetricType::Histogram,
        )?;
        hist.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
            self.metrics.hist_sum_ns.load(Ordering::Relaxed) as f64 / 1e9,
            self.metrics.hist_count.load(Ordering::Relaxed),
            &buckets,
            None,
        )?;
        Ok(())
    }
}

/// Renders the Prometheus text exposition of everything.
pub fn render(store: &Store, metrics: &Arc<Metrics>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(SteerdnsCollector {
        store: store.clone(),
        metrics: metrics.clone(),
    }));
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
        out.clear();
    }
    out
}
