//! Prometheus metrics (SPEC section 8), defined in one place.
//!
//! The answer path only does relaxed atomic increments on counters that are pre-allocated when
//! a snapshot is built ([`crate::counters`], owned by the snapshot) and on the process-wide
//! [`Metrics`]. At scrape time a [`prometheus_client`] collector walks the current snapshot and
//! encodes everything with the crate's text encoder.

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

use crate::counters::{Sharded, qtype_name, rcode_name};
use crate::dns::answer::{AnswerInfo, Transport};
use crate::health::Status;
use crate::peers::{Fleet, PeerState};
use crate::server::QueryObserver;
use crate::state::{Snapshot, Store};

/// Response time histogram bucket upper bounds, in seconds (as exposed).
const BUCKETS: [f64; 12] = [
    0.000_005, 0.00001, 0.000_025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.1,
];

/// The same bounds in nanoseconds, which the answer path compares with (integers: no float
/// conversion and no float compare per query). `BUCKETS[i]` is `BUCKETS_NS[i]` / 1e9.
const BUCKETS_NS: [u64; 12] = [
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    100_000_000,
];

/// In [`Metrics::per_query`]: one count per bucket, then one for the times above the last
/// bound (the count is their sum), then these.
const HIST_OVER: usize = BUCKETS.len();
const HIST_SUM_NS: usize = BUCKETS.len() + 1;
const RRL_LIMITED: usize = BUCKETS.len() + 2;

/// The histogram slot of a response time of `ns` nanoseconds: the first bucket whose bound
/// it does not exceed, or [`HIST_OVER`].
fn bucket_of(ns: u64) -> usize {
    BUCKETS_NS.partition_point(|&bound| bound < ns)
}

/// Process-wide metrics that do not depend on the snapshot.
#[derive(Debug)]
pub struct Metrics {
    reloads_ok: AtomicU64,
    reloads_error: AtomicU64,
    /// Counted per query, so sharded per worker: the response-time histogram (bucket counts,
    /// count, sum in ns) and rate-limited responses.
    per_query: Sharded,
    health_checks:
        std::sync::Mutex<std::collections::BTreeMap<(String, String, String, bool), u64>>,
    rollout_transitions: std::sync::Mutex<std::collections::BTreeMap<TransitionKey, u64>>,
}

/// (zone, service, region, event) of `steerdns_rollout_transitions_total`.
type TransitionKey = (String, String, String, &'static str);

impl Default for Metrics {
    fn default() -> Self {
        Self {
            reloads_ok: AtomicU64::new(0),
            reloads_error: AtomicU64::new(0),
            per_query: Sharded::new(RRL_LIMITED + 1),
            health_checks: std::sync::Mutex::default(),
            rollout_transitions: std::sync::Mutex::default(),
        }
    }
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
        self.per_query.add(RRL_LIMITED, 1);
    }

    /// Counts one health probe result (called by the checker, not per query).
    pub fn health_check(&self, zone: &str, service: &str, region: &str, passed: bool) {
        let mut map = self.health_checks.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((zone.into(), service.into(), region.into(), passed))
            .or_insert(0) += 1;
    }

    /// Counts one rollout transition (`steerdns_rollout_transitions_total`).
    pub fn rollout_transition(
        &self,
        zone: &str,
        service: &str,
        region: &str,
        event: crate::rollout::engine::Event,
    ) {
        let mut map = self
            .rollout_transitions
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *map.entry((zone.into(), service.into(), region.into(), event.as_str()))
            .or_insert(0) += 1;
    }

    /// Counts one response time: its bucket and its nanoseconds (two adds to this thread's
    /// shard; the count is the buckets' sum).
    fn observe_time(&self, elapsed: Duration) {
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let shard = crate::counters::current_shard();
        self.per_query.add_in(shard, bucket_of(ns), 1);
        self.per_query.add_in(shard, HIST_SUM_NS, ns);
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
        query: &[u8],
        info: Option<&AnswerInfo>,
        elapsed: Duration,
    ) {
        let Some(info) = info else { return };
        let counters = &snap.counters;
        counters.count_query(
            info.zone,
            info.qtype,
            info.rcode,
            transport == Transport::Tcp,
        );
        if let Some(s) = info.steered {
            counters.count_steered(s.zone, s.service, s.region, s.reason);
        }
        self.metrics.observe_time(elapsed);
        if snap.config.log.queries {
            log_query(snap, source, transport, query, info);
        }
    }

    fn rate_limited(&self) {
        self.metrics.rrl_limited();
    }
}

/// Writes one query log line. Out of line and cold: query logs are off by default, and the
/// counting in [`MetricsObserver::observe`] stays small without them.
#[cold]
#[inline(never)]
fn log_query(
    snap: &Snapshot,
    source: SocketAddr,
    transport: Transport,
    query: &[u8],
    info: &AnswerInfo,
) {
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
    // The question name as the client wrote it (its case shows 0x20 randomisation).
    let mut qname = String::new();
    if let Some(wire) = query.get(12..info.question_end.saturating_sub(4)) {
        let _ = crate::dns::name::write_wire_text(wire, &mut qname);
    }
    tracing::info!(
        client = %source.ip(),
        ecs = ecs.as_deref().unwrap_or(""),
        qname,
        proto = transport.as_str(),
        qtype = qtype_name(info.qtype),
        rcode = rcode_name(info.rcode),
        service,
        region,
        reason,
        "query"
    );
}

/// Encodes snapshot-bound and process metrics at scrape time.
#[derive(Debug)]
struct SteerdnsCollector {
    store: Store,
    metrics: Arc<Metrics>,
    fleet: Arc<Fleet>,
}

/// Counter rows keyed by (zone, service, region, X): those three labels and `last` = X.
fn region_rows<'a, K>(
    map: &'a std::collections::BTreeMap<(String, String, String, K), u64>,
    last: &'static str,
    value: impl Fn(&'a K) -> &'a str,
) -> Vec<(Vec<(&'static str, &'a str)>, u64)> {
    map.iter()
        .map(|((z, s, r, k), v)| {
            let labels = vec![
                ("zone", z.as_str()),
                ("service", s.as_str()),
                ("region", r.as_str()),
                (last, value(k)),
            ];
            (labels, *v)
        })
        .collect()
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

        let rows: Vec<_> = c
            .query_rows()
            .map(|(zone, qtype, rcode, proto, v)| {
                (
                    vec![
                        ("zone", zone),
                        ("qtype", qtype),
                        ("rcode", rcode),
                        ("proto", proto),
                    ],
                    v,
                )
            })
            .collect();
        counter(
            &mut encoder,
            "steerdns_queries",
            "Queries answered, by zone, type, rcode and transport.",
            &rows,
        )?;

        let rows: Vec<_> = c
            .steer_rows()
            .map(|(zone, service, region, reason, v)| {
                (
                    vec![
                        ("zone", zone),
                        ("service", service),
                        ("region", region),
                        ("reason", reason.as_str()),
                    ],
                    v,
                )
            })
            .collect();
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
            let labels = endpoint_labels(check, &addr);
            let up = i64::from(snap.health.get(check.slot) == Status::Up);
            ConstGauge::new(up).encode(family.encode_family(&labels)?)?;
        }

        if let Some(settings) = &snap.config.peers {
            let peers = self
                .fleet
                .statuses(tokio::time::Instant::now(), settings.stale_after);
            let mut family = encoder.encode_descriptor(
                "steerdns_peer_up",
                "1 while the last read of the peer's /v1/health succeeded, 0 otherwise.",
                None,
                MetricType::Gauge,
            )?;
            for p in peers.iter().filter(|p| p.state != PeerState::Itself) {
                let labels: &[(&str, &str)] = &[("peer", p.url.as_str())];
                let up = i64::from(p.state == PeerState::Up);
                ConstGauge::new(up).encode(family.encode_family(&labels)?)?;
            }
            let observers = 1 + peers.iter().filter(|p| p.counts).count() as i64;
            let gauge = ConstGauge::new(observers);
            gauge.encode(encoder.encode_descriptor(
                "steerdns_health_observers",
                "Observers in the health agreement: this instance and the peers heard within stale_after (1: deciding alone).",
                None,
                gauge.metric_type(),
            )?)?;
            let mut family = encoder.encode_descriptor(
                "steerdns_health_disagreements",
                "1 while this instance's own verdict on the endpoint differs from the agreed one.",
                None,
                MetricType::Gauge,
            )?;
            for check in &snap.config.checks {
                let addr = check.addr.to_string();
                let labels = endpoint_labels(check, &addr);
                let differs =
                    i64::from(snap.health.local(check.slot) != snap.health.get(check.slot));
                ConstGauge::new(differs).encode(family.encode_family(&labels)?)?;
            }
        }

        let map = self
            .metrics
            .health_checks
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let health_rows = region_rows(
            &map,
            "result",
            |passed| {
                if *passed { "pass" } else { "fail" }
            },
        );
        counter(
            &mut encoder,
            "steerdns_health_checks",
            "Health probes, by result.",
            &health_rows,
        )?;
        drop(map);

        // Staged rollouts (SPEC 4.2): the share from the step the live weight slot holds.
        let mut family = encoder.encode_descriptor(
            "steerdns_rollout_share",
            "A rollout canary's share of its tier now, 0..1 (0 when rolled back or aborted).",
            None,
            MetricType::Gauge,
        )?;
        for zone in &snap.config.zones {
            let zone_name = crate::config::model::zone_label(&zone.origin);
            for service in &zone.services {
                let Some(r) = &service.rollout else { continue };
                let share = crate::rollout::engine::untag(snap.health.live_tag(r.slot))
                    .map_or(0.0, |(step, phase)| {
                        crate::rollout::engine::share_at(&r.spec, step, phase)
                    });
                let labels: &[(&str, &str)] = &[
                    ("zone", zone_name.as_str()),
                    ("service", service.key.as_str()),
                    ("region", r.spec.region.as_str()),
                ];
                ConstGauge::new(share).encode(family.encode_family(&labels)?)?;
            }
        }
        let map = self
            .metrics
            .rollout_transitions
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let rows = region_rows(&map, "event", |e| e);
        counter(
            &mut encoder,
            "steerdns_rollout_transitions",
            "Rollout transitions, by event (advance, rollback, pause, resume, abort, complete).",
            &rows,
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
        let mut family = encoder.encode_descriptor(
            "steerdns_build_info",
            "Always 1; the version of the running binary as a label.",
            None,
            MetricType::Gauge,
        )?;
        let labels: &[(&str, &str)] = &[("version", env!("CARGO_PKG_VERSION"))];
        ConstGauge::new(1i64).encode(family.encode_family(&labels)?)?;

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
            &[(vec![], self.metrics.per_query.get(RRL_LIMITED))],
        )?;

        let (sum, count, buckets) = histogram(&self.metrics.per_query);
        let mut hist = encoder.encode_descriptor(
            "steerdns_response_seconds",
            "Time from receiving a query to having its response ready.",
            None,
            MetricType::Histogram,
        )?;
        hist.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
            sum, count, &buckets, None,
        )?;
        Ok(())
    }
}

/// The response-time histogram as the encoder takes it: the sum in seconds, the count, and
/// per-bucket counts with their bounds (the encoder makes them cumulative), `+Inf` last.
fn histogram(q: &Sharded) -> (f64, u64, Vec<(f64, u64)>) {
    let mut buckets: Vec<(f64, u64)> = BUCKETS
        .iter()
        .enumerate()
        .map(|(i, b)| (*b, q.get(i)))
        .collect();
    buckets.push((f64::INFINITY, q.get(HIST_OVER)));
    let count = buckets.iter().map(|(_, n)| *n).fold(0, u64::wrapping_add);
    (q.get(HIST_SUM_NS) as f64 / 1e9, count, buckets)
}

/// Renders the Prometheus text exposition of everything.
pub fn render(store: &Store, metrics: &Arc<Metrics>, fleet: &Arc<Fleet>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(SteerdnsCollector {
        store: store.clone(),
        metrics: metrics.clone(),
        fleet: fleet.clone(),
    }));
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
        out.clear();
    }
    out
}

/// The labels of a checked endpoint's gauges (`steerdns_endpoint_up`,
/// `steerdns_health_disagreements`); `addr` is `check.addr` as text.
fn endpoint_labels<'a>(
    check: &'a crate::config::model::CheckedEndpoint,
    addr: &'a str,
) -> [(&'static str, &'a str); 4] {
    [
        ("zone", check.zone.as_str()),
        ("service", check.service.as_str()),
        ("region", check.region.as_str()),
        ("endpoint", addr),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucketing the answer path did before integer bounds: seconds as a float against
    /// the float bounds (the oracle of the integer one).
    fn bucket_by_float(elapsed: Duration) -> usize {
        let secs = elapsed.as_secs_f64();
        BUCKETS
            .iter()
            .position(|bound| secs <= *bound)
            .unwrap_or(HIST_OVER)
    }

    #[test]
    fn nanosecond_bounds_are_the_exposed_seconds() {
        for (secs, ns) in BUCKETS.iter().zip(BUCKETS_NS) {
            assert_eq!(*secs, ns as f64 / 1e9, "{ns} ns");
        }
        assert!(BUCKETS_NS.windows(2).all(|w| w[0] < w[1]), "increasing");
    }

    #[test]
    fn integer_bucketing_equals_float_bucketing_at_every_bound_and_between() {
        let mut times: Vec<u64> = vec![0, 1, 999_999_999, 1_000_000_000, 1_000_000_001, u64::MAX];
        for bound in BUCKETS_NS {
            times.extend((bound - 3)..=(bound + 3));
        }
        for w in BUCKETS_NS.windows(2) {
            times.push(w[0] + (w[1] - w[0]) / 2);
        }
        // Every nanosecond up to 300 us, then a stride that is prime to the bounds up to
        // 200 ms, then whole seconds and more.
        times.extend(0..=300_000);
        times.extend((0..=200_000_000).step_by(997));
        times.extend([2, 60, 3_600, 86_400 * 365].map(|s: u64| s * 1_000_000_000 + 1));
        for ns in times {
            assert_eq!(
                bucket_of(ns),
                bucket_by_float(Duration::from_nanos(ns)),
                "{ns} ns"
            );
        }
    }

    #[test]
    fn observed_times_land_in_their_buckets_and_sum() {
        let m = Metrics::default();
        let times = [
            0,
            5_000,
            5_001,
            99_999,
            100_000_000,
            100_000_001,
            3_000_000_000,
        ];
        for ns in times {
            m.observe_time(Duration::from_nanos(ns));
        }
        let (sum, count, buckets) = histogram(&m.per_query);
        assert_eq!(count, times.len() as u64);
        assert_eq!(sum, times.iter().sum::<u64>() as f64 / 1e9);
        let per_bucket: Vec<u64> = buckets.iter().map(|(_, n)| *n).collect();
        //                     5us 10us 25us 50us 100us ...                     100ms +Inf
        assert_eq!(per_bucket, [2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(
            buckets[..12].iter().map(|(b, _)| *b).collect::<Vec<_>>(),
            BUCKETS
        );
        assert_eq!(buckets[12].0, f64::INFINITY);
        m.rrl_limited();
        assert_eq!(m.per_query.get(RRL_LIMITED), 1);
        assert_eq!(
            histogram(&m.per_query).1,
            count,
            "RRL is not a response time"
        );
    }
}
