//! The rollout runner: the I/O edge around the pure engine (SPEC 4.2).
//!
//! ```text
//!  start: state file's saved progress ─┐
//!  reload: the book's progress ────────┴► sync (engine::resume_or_start per rollout)
//!                                          ─► live weights written into the new snapshot's
//!                                             HealthTable, then the snapshot is published
//!  every TICK: clock.now_ms() ─► gates due? ─► GateEvaluator (health: the snapshot's health
//!              table; prometheus: PrometheusGate, the seam the HTTP client plugs into)
//!              ─► engine::tick ─► transition: live weight + tag into the serving snapshot,
//!                 log line, steerdns_rollout_transitions_total, state file
//!  operator (POST /v1/rollouts/...) ─► engine::command ─► the same
//! ```
//!
//! The book is behind one mutex; a reload publishes its snapshot while holding it
//! ([`Rollouts::publish`]), so a transition lands either in the old snapshot before the new
//! one copies the book, or in the new one.
//!
//! Time comes from a [`Clock`] and gate results from a [`GateEvaluator`], both injected, so
//! tests run whole ramps in simulated time with gates they control.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::engine::{self, Action, Event, GateResult, Phase, Progress, Refused};
use super::report::{GateStatus, RolloutList, RolloutStatus};
use super::spec::{Gate, RolloutSpec};
use crate::config::Config;
use crate::config::model::{Service, zone_label};
use crate::health::Status;
use crate::health::persist;
use crate::health::view::{HealthTable, WeightSlot};
use crate::metrics::Metrics;
use crate::state::{Snapshot, Store};

/// How often the runner looks at the rollouts (a hold ends at most this late).
pub const TICK: Duration = Duration::from_millis(200);

/// The longest a prometheus gate's query may take (shorter when `gate_interval` is).
const MAX_GATE_TIMEOUT: Duration = Duration::from_secs(10);

//------------ Clock and gates -------------------------------------------------------------------

/// Where the runner gets the time (unix milliseconds): the system clock in the daemon, a
/// hand-moved one in tests.
pub trait Clock: Send + Sync + 'static {
    /// Now, unix milliseconds.
    fn now_ms(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        crate::state::now_unix_ms()
    }
}

/// A gate evaluation in progress.
pub type GateFuture<'a> = Pin<Box<dyn Future<Output = GateResult> + Send + 'a>>;

/// What a gate is evaluated for.
#[derive(Debug, Clone, Copy)]
pub struct GateTarget<'a> {
    /// The serving snapshot (the health gate reads its health table).
    pub snapshot: &'a Snapshot,
    /// Zone label.
    pub zone: &'a str,
    /// Service key.
    pub service: &'a str,
    /// The canary region.
    pub region: &'a str,
    /// How long an evaluation may take (failing after it).
    pub timeout: Duration,
}

/// Evaluates gates. [`Gates`] is the daemon's; tests pass their own.
pub trait GateEvaluator: Send + Sync + 'static {
    /// The result of `gate` now.
    fn evaluate<'a>(&'a self, gate: &'a Gate, target: GateTarget<'a>) -> GateFuture<'a>;
}

/// The value of a prometheus gate: an instant query against `url`, failing (the safe side)
/// when the value is above `max`, when there is no sample, or when the server cannot be
/// reached within `timeout`. The seam the Prometheus HTTP client implements.
pub trait PrometheusGate: Send + Sync + 'static {
    /// Runs `query` at `url` and compares its value with `max`.
    fn evaluate<'a>(
        &'a self,
        url: &'a str,
        query: &'a str,
        max: f64,
        timeout: Duration,
    ) -> GateFuture<'a>;
}

/// A [`PrometheusGate`] that fails every query: the safe side where no client is wired in.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPrometheus;

impl PrometheusGate for NoPrometheus {
    fn evaluate<'a>(&'a self, url: &'a str, _: &'a str, _: f64, _: Duration) -> GateFuture<'a> {
        Box::pin(std::future::ready(GateResult {
            passed: false,
            value: None,
            detail: format!("no Prometheus client in this build to ask {url}"),
        }))
    }
}

/// The daemon's gates: `health` from the snapshot's health table, `prometheus` through a
/// [`PrometheusGate`].
#[derive(Clone)]
pub struct Gates {
    /// Answers prometheus gates.
    pub prometheus: Arc<dyn PrometheusGate>,
}

impl std::fmt::Debug for Gates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gates").finish_non_exhaustive()
    }
}

impl GateEvaluator for Gates {
    fn evaluate<'a>(&'a self, gate: &'a Gate, target: GateTarget<'a>) -> GateFuture<'a> {
        match gate {
            Gate::Health => Box::pin(std::future::ready(health_gate(
                target.snapshot,
                target.zone,
                target.service,
                target.region,
            ))),
            Gate::Prometheus { url, query, max } => {
                self.prometheus.evaluate(url, query, *max, target.timeout)
            }
        }
    }
}

/// The `health` gate now: passes when every checked endpoint of the region (for a CNAME
/// region, its check target) is up in the snapshot's health table. The value is the number
/// of endpoints down.
pub fn health_gate(snap: &Snapshot, zone: &str, service: &str, region: &str) -> GateResult {
    let down: Vec<String> = snap
        .config
        .checks
        .iter()
        .filter(|c| c.zone == zone && c.service == service && c.region == region)
        .filter(|c| snap.health.get(c.slot) == Status::Down)
        .map(|c| c.addr.to_string())
        .collect();
    GateResult {
        passed: down.is_empty(),
        value: Some(down.len() as f64),
        detail: if down.is_empty() {
            format!("every endpoint of {region} is up")
        } else {
            format!("{} down", down.join(", "))
        },
    }
}

//------------ The book --------------------------------------------------------------------------

/// One rollout the runner drives.
#[derive(Debug, Clone)]
struct Entry {
    zone: String,
    service: String,
    spec: RolloutSpec,
    /// What the rest of the canary's tier weighs.
    others: f64,
    slot: WeightSlot,
    progress: Progress,
    /// The last result of each gate, and when (unix ms).
    gates: Vec<Option<(GateResult, u64)>>,
    /// When the gates are next evaluated (unix ms).
    next_gates_ms: u64,
}

impl Entry {
    fn key(&self) -> String {
        format!("{}/{}", self.zone, self.service)
    }

    /// When the gates are due after an evaluation at `now`: a `gate_interval` later, or at
    /// the end of the hold when that comes first (so a step advances on time).
    fn schedule_after(&mut self, now: u64) {
        let interval = u64::try_from(self.spec.gate_interval.as_millis()).unwrap_or(u64::MAX);
        let mut next = now.saturating_add(interval.max(1));
        if let Some(end) = engine::hold_ends_ms(&self.spec, &self.progress)
            && end > now
        {
            next = next.min(end);
        }
        self.next_gates_ms = next;
    }
}

/// The rollouts of one configuration with their progress, by `zone/service`.
#[derive(Debug, Default)]
struct Book {
    entries: BTreeMap<String, Entry>,
}

/// The rollouts of a configuration: (zone label, service, its rollout).
fn config_rollouts(cfg: &Config) -> impl Iterator<Item = (String, &Service)> {
    cfg.zones.iter().flat_map(|z| {
        let label = zone_label(&z.origin);
        z.services
            .iter()
            .filter(|s| s.rollout.is_some())
            .map(move |s| (label.clone(), s))
    })
}

impl Book {
    /// Makes the book hold exactly the rollouts of `cfg`: each resumes its progress (from the
    /// book, else `saved`) when its steps are unchanged, and starts now otherwise. Logs starts.
    fn sync(&mut self, cfg: &Config, saved: &BTreeMap<String, Progress>, now: u64) {
        let mut entries = BTreeMap::new();
        for (zone, service) in config_rollouts(cfg) {
            let Some(r) = &service.rollout else { continue };
            let key = format!("{zone}/{}", service.key);
            let old = self.entries.remove(&key);
            let had = old
                .as_ref()
                .map(|e| &e.progress)
                .or_else(|| saved.get(&key));
            let progress = engine::resume_or_start(&r.spec, had, now);
            let resumed = had == Some(&progress);
            let region = &r.spec.region;
            if !resumed {
                tracing::info!(
                    zone,
                    service = service.key,
                    region,
                    steps = r.spec.steps_text(),
                    why = if had.is_some() {
                        "its steps changed"
                    } else {
                        "new"
                    },
                    "rollout started"
                );
            } else if old.is_none() {
                tracing::info!(
                    zone,
                    service = service.key,
                    region,
                    step = progress.step + 1,
                    phase = progress.phase.as_str(),
                    "rollout resumed from the state file"
                );
            }
            let keep_gates = resumed && old.as_ref().is_some_and(|o| o.spec.gates == r.spec.gates);
            let gates = match (&old, keep_gates) {
                (Some(o), true) => o.gates.clone(),
                _ => vec![None; r.spec.gates.len()],
            };
            let next_gates_ms = match (&old, keep_gates) {
                (Some(o), true) => o.next_gates_ms,
                _ => now,
            };
            entries.insert(
                key,
                Entry {
                    zone: zone.clone(),
                    service: service.key.clone(),
                    spec: r.spec.clone(),
                    others: r.others,
                    slot: r.slot,
                    progress,
                    gates,
                    next_gates_ms,
                },
            );
        }
        for key in self.entries.keys() {
            tracing::info!(rollout = key, "rollout removed from the configuration");
        }
        self.entries = entries;
    }

    /// Writes every rollout's live weight and tag into `health`.
    fn apply(&self, health: &HealthTable) {
        for e in self.entries.values() {
            health.set_live_weight(
                e.slot,
                engine::live_weight(&e.spec, e.others, &e.progress),
                engine::tag(&e.progress),
            );
        }
    }

    /// The progress of every rollout, for the state file.
    fn progress(&self) -> BTreeMap<String, Progress> {
        self.entries
            .iter()
            .map(|(k, e)| (k.clone(), e.progress.clone()))
            .collect()
    }
}

//------------ Rollouts --------------------------------------------------------------------------

/// Why an operator's command did nothing.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No rollout of that name.
    #[error("no rollout {0}: GET /v1/rollouts lists them")]
    Unknown(String),
    /// The engine refused it in the rollout's phase.
    #[error("rollout {key}: {refused}")]
    Refused {
        /// `zone/service`.
        key: String,
        /// What the engine said.
        refused: Refused,
    },
}

/// The daemon's rollouts: the book, the clock, and what a transition touches (metrics, the
/// state file, the serving snapshot's live weights).
pub struct Rollouts {
    book: Mutex<Book>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    /// Called with each transition (the status page's events).
    on_event: Option<TransitionHook>,
}

/// A function called with every transition.
pub type TransitionHook = Arc<dyn Fn(&TransitionEvent<'_>) + Send + Sync>;

impl std::fmt::Debug for Rollouts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rollouts").finish_non_exhaustive()
    }
}

/// One transition, for hooks.
#[derive(Debug, Clone, Copy)]
pub struct TransitionEvent<'a> {
    /// Zone label.
    pub zone: &'a str,
    /// Service key.
    pub service: &'a str,
    /// Canary region.
    pub region: &'a str,
    /// What happened.
    pub event: Event,
    /// The step after (1-based).
    pub step: usize,
    /// The share after.
    pub share: f64,
    /// Why (failed gate, operator).
    pub reason: Option<&'a str>,
    /// When, unix ms.
    pub at_ms: u64,
}

impl Rollouts {
    /// No rollouts yet; [`Rollouts::start`] fills the book.
    pub fn new(clock: Arc<dyn Clock>, metrics: Arc<Metrics>) -> Self {
        Self {
            book: Mutex::new(Book::default()),
            clock,
            metrics,
            on_event: None,
        }
    }

    /// The same, calling `hook` on every transition.
    pub fn with_hook(mut self, hook: TransitionHook) -> Self {
        self.on_event = Some(hook);
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// At start, before `snap` is published: the progress saved in the state file resumes
    /// (same steps) or the rollout starts; the live weights go into `snap`'s table.
    pub fn start(&self, snap: &Snapshot) {
        let saved = load_saved(&snap.config.health_state_file);
        let now = self.clock.now_ms();
        let mut book = self.lock();
        book.sync(&snap.config, &saved, now);
        book.apply(&snap.health);
        save(&snap.config.health_state_file, &book);
    }

    /// A reload: syncs the book with `snap`'s rollouts (same steps resume, changed ones
    /// start), writes the live weights into its table and publishes it into `store`, all
    /// under the book's lock.
    pub fn publish(&self, snap: Arc<Snapshot>, store: &Store) {
        let now = self.clock.now_ms();
        let mut book = self.lock();
        book.sync(&snap.config, &BTreeMap::new(), now);
        book.apply(&snap.health);
        let path = snap.config.health_state_file.clone();
        store.store(snap);
        save(&path, &book);
    }

    /// Every rollout now, for `GET /v1/rollouts`.
    pub fn list(&self, generation: u64) -> RolloutList {
        let now = self.clock.now_ms();
        let book = self.lock();
        RolloutList {
            generation,
            rollouts: book.entries.values().map(|e| status_of(e, now)).collect(),
        }
    }

    /// An operator's command on rollout `key` (`zone/service`): applied to the serving
    /// snapshot in `store`, logged, counted and saved like any transition.
    pub fn command(
        &self,
        store: &Store,
        key: &str,
        action: Action,
    ) -> Result<RolloutStatus, CommandError> {
        let now = self.clock.now_ms();
        let mut book = self.lock();
        let Some(entry) = book.entries.get_mut(key) else {
            return Err(CommandError::Unknown(key.to_string()));
        };
        let t = engine::command(&entry.spec, &entry.progress, action, now).map_err(|refused| {
            CommandError::Refused {
                key: key.to_string(),
                refused,
            }
        })?;
        entry.progress = t.progress;
        if entry.progress.phase == Phase::Running {
            // A resumed or advanced rollout looks at its gates again at once.
            entry.next_gates_ms = now;
        }
        let entry = entry.clone();
        for event in &t.events {
            self.transition(&entry, *event, now);
        }
        let snap = store.load();
        book.apply(&snap.health);
        save(&snap.config.health_state_file, &book);
        Ok(status_of(&entry, now))
    }

    /// One look at every rollout: evaluates the gates that are due (outside the lock), then
    /// ticks the engine for each running rollout and applies what changed.
    pub async fn step(&self, store: &Store, gates: &dyn GateEvaluator) {
        let now = self.clock.now_ms();
        let due: Vec<Entry> = {
            let book = self.lock();
            book.entries
                .values()
                .filter(|e| {
                    e.progress.phase == Phase::Running
                        && !e.spec.gates.is_empty()
                        && now >= e.next_gates_ms
                })
                .cloned()
                .collect()
        };
        let snap = store.load_full();
        let mut results: BTreeMap<String, (RolloutSpec, Vec<GateResult>)> = BTreeMap::new();
        for e in &due {
            let timeout = e.spec.gate_interval.min(MAX_GATE_TIMEOUT);
            let mut out = Vec::with_capacity(e.spec.gates.len());
            for gate in &e.spec.gates {
                let target = GateTarget {
                    snapshot: &snap,
                    zone: &e.zone,
                    service: &e.service,
                    region: &e.spec.region,
                    timeout,
                };
                let result = match tokio::time::timeout(timeout, gates.evaluate(gate, target)).await
                {
                    Ok(r) => r,
                    Err(_) => GateResult {
                        passed: false,
                        value: None,
                        detail: format!("no result within {}s", timeout.as_secs_f64()),
                    },
                };
                out.push(result);
            }
            results.insert(e.key(), (e.spec.clone(), out));
        }
        drop(snap);
        let now = self.clock.now_ms();
        let mut book = self.lock();
        let mut changed = false;
        let keys: Vec<String> = book.entries.keys().cloned().collect();
        for key in keys {
            let Some(entry) = book.entries.get_mut(&key) else {
                continue;
            };
            // Results of a rollout whose spec changed meanwhile (a reload) are dropped.
            let evaluated = results
                .remove(&key)
                .filter(|(spec, _)| *spec == entry.spec)
                .map(|(_, r)| r);
            if let Some(r) = &evaluated {
                for (slot, result) in entry.gates.iter_mut().zip(r) {
                    *slot = Some((result.clone(), now));
                }
                for (gate, result) in entry.spec.gates.iter().zip(r) {
                    if !result.passed {
                        tracing::warn!(
                            rollout = key,
                            gate = gate.kind(),
                            detail = result.detail,
                            "rollout gate failed"
                        );
                    }
                }
            }
            let t = engine::tick(&entry.spec, &entry.progress, now, evaluated.as_deref());
            if evaluated.is_some() {
                entry.progress = t.progress.clone();
                entry.schedule_after(now);
            }
            if t.events.is_empty() {
                continue;
            }
            entry.progress = t.progress;
            entry.schedule_after(now);
            changed = true;
            let entry = entry.clone();
            for event in &t.events {
                self.transition(&entry, *event, now);
            }
        }
        if changed {
            let snap = store.load();
            book.apply(&snap.health);
            save(&snap.config.health_state_file, &book);
        }
    }

    /// Logs, counts and reports one transition of `e` (its progress already the new one).
    fn transition(&self, e: &Entry, event: Event, now: u64) {
        let share = engine::share(&e.spec, &e.progress);
        let step = e.progress.step + 1;
        let reason = e.progress.reason.as_deref();
        tracing::info!(
            zone = e.zone,
            service = e.service,
            region = e.spec.region,
            event = event.as_str(),
            step,
            share,
            phase = e.progress.phase.as_str(),
            reason = reason.unwrap_or(""),
            "rollout {}",
            event.as_str()
        );
        self.metrics
            .rollout_transition(&e.zone, &e.service, &e.spec.region, event);
        if let Some(hook) = &self.on_event {
            hook(&TransitionEvent {
                zone: &e.zone,
                service: &e.service,
                region: &e.spec.region,
                event,
                step,
                share,
                reason,
                at_ms: now,
            });
        }
    }

    /// Steps every [`TICK`] until the task is dropped.
    pub async fn run(self: Arc<Self>, store: Store, gates: Arc<dyn GateEvaluator>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.step(&store, gates.as_ref()).await;
        }
    }
}

/// The status of one entry at `now`.
fn status_of(e: &Entry, now: u64) -> RolloutStatus {
    let weight = engine::live_weight(&e.spec, e.others, &e.progress);
    RolloutStatus {
        zone: e.zone.clone(),
        service: e.service.clone(),
        region: e.spec.region.clone(),
        step: e.progress.step + 1,
        steps: e.spec.steps.iter().map(ToString::to_string).collect(),
        share: engine::share(&e.spec, &e.progress),
        weight: weight.is_finite().then_some(weight),
        phase: e.progress.phase,
        reason: e.progress.reason.clone(),
        since: crate::timefmt::rfc3339_ms(e.progress.since_ms),
        since_unix_ms: e.progress.since_ms,
        next_step_in_s: engine::hold_ends_ms(&e.spec, &e.progress)
            .map(|end| end.saturating_sub(now) as f64 / 1000.0),
        gate_interval_s: e.spec.gate_interval.as_secs_f64(),
        on_failure: e.spec.on_failure,
        gates: e
            .spec
            .gates
            .iter()
            .zip(&e.gates)
            .map(|(g, last)| {
                let (query, max) = match g {
                    Gate::Prometheus { query, max, .. } => (Some(query.clone()), Some(*max)),
                    Gate::Health => (None, None),
                };
                GateStatus {
                    kind: g.kind().to_string(),
                    query,
                    max,
                    passed: last.as_ref().map(|(r, _)| r.passed),
                    value: last.as_ref().and_then(|(r, _)| r.value),
                    detail: last.as_ref().map(|(r, _)| r.detail.clone()),
                    at: last.as_ref().map(|(_, at)| crate::timefmt::rfc3339_ms(*at)),
                }
            })
            .collect(),
    }
}

/// The rollout progress saved in the state file (entries that do not parse are logged and
/// left out: those rollouts start anew).
pub fn load_saved(path: &Path) -> BTreeMap<String, Progress> {
    persist::load_rollouts(path)
        .into_iter()
        .filter_map(|(k, v)| match serde_json::from_value::<Progress>(v) {
            Ok(p) => Some((k, p)),
            Err(e) => {
                tracing::warn!(rollout = k, error = %e, "ignoring saved rollout progress; it starts anew");
                None
            }
        })
        .collect()
}

/// Writes the book's progress into the state file; with no rollout, and none saved there,
/// the file is left alone (a daemon without rollouts writes nothing more than before).
fn save(path: &Path, book: &Book) {
    if book.entries.is_empty() && persist::load_rollouts(path).is_empty() {
        return;
    }
    let values = book
        .progress()
        .into_iter()
        .filter_map(|(k, p)| serde_json::to_value(p).ok().map(|v| (k, v)))
        .collect();
    if let Err(e) = persist::save_rollouts(path, &values) {
        tracing::warn!(error = %crate::error::render_chain(&e), "cannot save rollout progress");
    }
}

/// The live weights of `cfg`'s rollouts from saved progress, for a snapshot nobody drives
/// (offline explain): each rollout at its saved step when the steps are unchanged, else at
/// its first step.
pub fn apply_saved(cfg: &Config, health: &HealthTable, saved: &BTreeMap<String, Progress>) {
    let mut book = Book::default();
    book.sync(cfg, saved, 0);
    book.apply(health);
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use arc_swap::ArcSwap;

    use super::*;
    use crate::health::view::WeightSlot;

    /// A clock the test moves.
    #[derive(Default)]
    struct ManualClock(AtomicU64);

    impl Clock for ManualClock {
        fn now_ms(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    /// Gates that pass while `ok` holds, counting evaluations.
    #[derive(Default)]
    struct FakeGates {
        fail: AtomicBool,
        calls: AtomicU64,
    }

    impl GateEvaluator for FakeGates {
        fn evaluate<'a>(&'a self, _: &'a Gate, _: GateTarget<'a>) -> GateFuture<'a> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let passed = !self.fail.load(Ordering::SeqCst);
            Box::pin(std::future::ready(GateResult {
                passed,
                value: Some(if passed { 0.0 } else { 0.5 }),
                detail: if passed {
                    "0 <= max 0.1"
                } else {
                    "0.5 > max 0.1"
                }
                .into(),
            }))
        }
    }

    /// A configuration in a temp dir: `www` over main (95) and canary (5) in one tier,
    /// ramped 1% 10m, 5% 1h, 25% 6h, 100% with one gate every 30 s.
    fn setup(dir: &Path, on_failure: &str) -> Snapshot {
        std::fs::create_dir_all(dir.join("zones")).unwrap();
        std::fs::write(
            dir.join("steerdns.toml"),
            "[health]\nstate_file = \"state.json\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("zones/ro.toml"),
            format!(
                r#"origin = "ro.test."
[soa]
mname = "ns1.ro.test."
rname = "h.ro.test."
serial = 1
[region.main]
[region.canary]
canary = true
[service.www]
geo = {{ default = "main, canary" }}
[service.www.region.main]
endpoints = ["127.0.0.20"]
weight = 95
[service.www.region.canary]
endpoints = ["127.0.0.21"]
weight = 5
[service.www.rollout]
region = "canary"
steps = ["1% 10m", "5% 1h", "25% 6h", "100%"]
on_failure = "{on_failure}"
[[service.www.rollout.gate]]
kind = "prometheus"
url = "http://127.0.0.1:9"
query = "up"
max = 0.1
"#
            ),
        )
        .unwrap();
        let cfg = crate::config::load(&dir.join("steerdns.toml"), 0).unwrap();
        Snapshot::new(1, cfg, None, 0, None)
    }

    const MIN: u64 = 60_000;

    #[tokio::test]
    async fn a_gated_ramp_advances_on_time_in_simulated_time() {
        let dir = tempfile::tempdir().unwrap();
        let snap = setup(dir.path(), "rollback");
        let clock = Arc::new(ManualClock::default());
        let t0 = 1_000 * MIN;
        clock.0.store(t0, Ordering::SeqCst);
        let rollouts = Rollouts::new(clock.clone(), Arc::new(Metrics::default()));
        rollouts.start(&snap);
        let slot = WeightSlot(0);
        // 1% against main's 95: weight 95 * 0.01 / 0.99.
        let w = snap.health.live_weight(slot).unwrap();
        assert!((w - 95.0 / 99.0).abs() < 1e-9, "{w}");
        let store: Store = Arc::new(ArcSwap::from_pointee(snap));
        let gates = FakeGates::default();
        // Every simulated second for 8 hours: record when the step changes.
        let mut steps = Vec::new();
        let mut last = 0;
        for s in 1..=(8 * 60 * 60) {
            clock.0.store(t0 + s * 1000, Ordering::SeqCst);
            rollouts.step(&store, &gates).await;
            let r = rollouts.list(1).rollouts.remove(0);
            if r.step != last {
                steps.push((s, r.step, r.phase));
                last = r.step;
            }
        }
        assert_eq!(
            steps,
            vec![
                (1, 1, Phase::Running),
                (600, 2, Phase::Running),
                (600 + 3600, 3, Phase::Running),
                (600 + 3600 + 6 * 3600, 4, Phase::Complete),
            ]
        );
        // Gates at the start and every 30 s until complete (the holds end on 30 s marks),
        // not every second: 7 h 10 min / 30 s + 1.
        let calls = gates.calls.load(Ordering::SeqCst);
        assert_eq!(calls, 25_800 / 30 + 1, "{calls} evaluations");
        assert_eq!(store.load().health.live_weight(slot), Some(f64::INFINITY));
        let state = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
        assert!(state.contains("\"complete\""), "{state}");
    }

    #[tokio::test]
    async fn a_failed_gate_rolls_back_at_once_and_a_restart_resumes_the_saved_step() {
        let dir = tempfile::tempdir().unwrap();
        let snap = setup(dir.path(), "rollback");
        let clock = Arc::new(ManualClock::default());
        clock.0.store(MIN, Ordering::SeqCst);
        let rollouts = Rollouts::new(clock.clone(), Arc::new(Metrics::default()));
        rollouts.start(&snap);
        let store: Store = Arc::new(ArcSwap::from_pointee(snap));
        let gates = FakeGates::default();
        clock.0.store(11 * MIN, Ordering::SeqCst);
        rollouts.step(&store, &gates).await;
        assert_eq!(rollouts.list(1).rollouts[0].step, 2);
        // A restart (a new runner on the same state file) resumes at step 2, same since.
        let again = setup(dir.path(), "rollback");
        let other = Rollouts::new(clock.clone(), Arc::new(Metrics::default()));
        other.start(&again);
        let r = other.list(1).rollouts.remove(0);
        assert_eq!((r.step, r.since_unix_ms), (2, 11 * MIN));
        assert!((again.health.live_weight(WeightSlot(0)).unwrap() - 5.0).abs() < 1e-9);
        // The gate fails: share 0 at the next evaluation (30 s later), and it stays.
        gates.fail.store(true, Ordering::SeqCst);
        clock.0.store(11 * MIN + 30_000, Ordering::SeqCst);
        rollouts.step(&store, &gates).await;
        let r = rollouts.list(1).rollouts.remove(0);
        assert_eq!((r.phase, r.share), (Phase::RolledBack, 0.0));
        assert!(r.reason.unwrap().contains("0.5 > max 0.1"));
        assert_eq!(store.load().health.live_weight(WeightSlot(0)), Some(0.0));
        assert_eq!(r.gates[0].passed, Some(false));
        // An operator's resume starts at the first step; abort is refused twice.
        let r = rollouts
            .command(&store, "ro.test/www", Action::Resume)
            .unwrap();
        assert_eq!((r.step, r.phase), (1, Phase::Running));
        assert!(
            rollouts
                .command(&store, "ro.test/www", Action::Abort)
                .is_ok()
        );
        assert!(matches!(
            rollouts.command(&store, "ro.test/www", Action::Abort),
            Err(CommandError::Refused { .. })
        ));
        assert!(matches!(
            rollouts.command(&store, "ro.test/nope", Action::Pause),
            Err(CommandError::Unknown(_))
        ));
    }

    #[test]
    fn without_rollouts_the_state_file_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let snap = setup(dir.path(), "rollback");
        let cfg_path = dir.path().join("steerdns.toml");
        let zone = std::fs::read_to_string(dir.path().join("zones/ro.toml")).unwrap();
        let cut = zone.find("[service.www.rollout]").unwrap();
        std::fs::write(dir.path().join("zones/ro.toml"), &zone[..cut]).unwrap();
        let plain = Snapshot::new(2, crate::config::load(&cfg_path, 0).unwrap(), None, 0, None);
        let rollouts = Rollouts::new(
            Arc::new(ManualClock::default()),
            Arc::new(Metrics::default()),
        );
        rollouts.start(&plain);
        assert!(!dir.path().join("state.json").exists());
        // With a rollout it is written; once removed, its entry goes.
        rollouts.start(&snap);
        assert!(!persist::load_rollouts(&dir.path().join("state.json")).is_empty());
        let store: Store = Arc::new(ArcSwap::from_pointee(Snapshot::new(
            3,
            crate::config::load(&cfg_path, 0).unwrap(),
            None,
            0,
            None,
        )));
        rollouts.publish(store.load_full(), &store);
        assert!(persist::load_rollouts(&dir.path().join("state.json")).is_empty());
    }

    #[tokio::test]
    async fn hold_pauses_and_a_reload_keeps_the_progress_of_unchanged_steps() {
        let dir = tempfile::tempdir().unwrap();
        let snap = setup(dir.path(), "hold");
        let clock = Arc::new(ManualClock::default());
        let rollouts = Rollouts::new(clock.clone(), Arc::new(Metrics::default()));
        rollouts.start(&snap);
        let store: Store = Arc::new(ArcSwap::from_pointee(snap));
        let gates = FakeGates::default();
        clock.0.store(10 * MIN, Ordering::SeqCst);
        rollouts.step(&store, &gates).await;
        gates.fail.store(true, Ordering::SeqCst);
        clock.0.store(10 * MIN + 30_000, Ordering::SeqCst);
        rollouts.step(&store, &gates).await;
        let r = rollouts.list(1).rollouts.remove(0);
        assert_eq!((r.step, r.phase, r.share), (2, Phase::Paused, 0.05));
        // A reload of the same files: still paused at step 2, weight written in the new
        // snapshot before it is published.
        let reloaded = Arc::new(setup(dir.path(), "hold"));
        rollouts.publish(reloaded, &store);
        let r = rollouts.list(2).rollouts.remove(0);
        assert_eq!((r.step, r.phase), (2, Phase::Paused));
        assert!((store.load().health.live_weight(WeightSlot(0)).unwrap() - 5.0).abs() < 1e-9);
    }
}
