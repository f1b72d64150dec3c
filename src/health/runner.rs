//! The health runner: one task per checked endpoint that probes on a jittered schedule, feeds
//! [`EndpointHealth`], writes the endpoint's slot in the current [`HealthTable`], and reports
//! flips (log line, hook, state file).
//!
//! ```text
//!   CheckTarget ─► task: sleep_until(next) ─► semaphore permit ─► probe (≤ timeout)
//!                     ▲                                              │ ProbeOutcome
//!                     │ next += interval ± jitter                    ▼
//!                     └──────────────── observe(rise, fall) ─► table.set(slot)
//!                                            │ Some(Flip)
//!                                            ▼
//!                           tracing line, on_flip hook, state-file writer task
//! ```
//!
//! Concurrency is bounded by a semaphore (`max_concurrency`), every probe by its timeout, so a
//! hanging endpoint holds at most one permit for at most `timeout` and never delays the others
//! while permits remain. Size `max_concurrency` above `Σ timeout / interval` over all targets
//! (the number of probes in flight if every endpoint hangs) to keep that true in the worst case.
//!
//! Probe times are rounded up to a small grid ([`RunnerConfig::batch`], 10 ms) so probes that
//! fall due together wake the loop once; the daemon runs the tasks on a [`HealthThread`], one
//! event loop of their own (BENCHMARKS.md: 2000 probes/s cost what HAProxy's checks cost).
//!
//! Only `tokio::time` is used, so tests run with paused time and a fake [`Probe`].

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::persist::{self, SavedStates};
use super::probe::{Probe, ProbeOutcome, ProbeSpec};
use super::state::{EndpointHealth, Status};
use super::view::{HealthTable, SlotId};
use crate::state::now_unix;

//------------ Targets and events --------------------------------------------------------------

/// Names of a checked endpoint, for log lines and metric labels (SPEC §8).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct TargetLabels {
    /// Zone origin without the trailing dot.
    pub zone: String,
    /// Service config key.
    pub service: String,
    /// Region config key.
    pub region: String,
    /// Endpoint as the bare address.
    pub endpoint: String,
}

impl TargetLabels {
    /// The conventional target key, `"zone/service/region/endpoint"`: stable across reloads
    /// and restarts as long as the names are.
    pub fn key(&self) -> String {
        persist::endpoint_key(&self.zone, &self.service, &self.region, &self.endpoint)
    }
}

/// One endpoint to check, as the integrator compiles it from the config.
#[derive(Clone, Debug)]
pub struct CheckTarget {
    /// Stable identity across reloads and restarts, e.g. `"zone/service/region/endpoint"`.
    /// Also the key in the state file.
    pub key: String,
    /// Names for logs and metrics.
    pub labels: Arc<TargetLabels>,
    /// How to probe.
    pub spec: ProbeSpec,
    /// Time between probes (before jitter).
    pub interval: Duration,
    /// Consecutive passes needed to become up.
    pub rise: u32,
    /// Consecutive failures needed to become down.
    pub fall: u32,
    /// This endpoint's slot in the table it is started or updated with.
    pub slot: SlotId,
}

/// What must be equal for a reload to keep an endpoint's state and schedule: the probe (apart
/// from its source address, see [`ProbeSpec::same_check`]), interval, rise and fall.
#[derive(Clone, Debug)]
struct CheckIdentity {
    spec: ProbeSpec,
    interval: Duration,
    rise: u32,
    fall: u32,
}

impl PartialEq for CheckIdentity {
    fn eq(&self, other: &Self) -> bool {
        self.spec.same_check(&other.spec)
            && self.interval == other.interval
            && self.rise == other.rise
            && self.fall == other.fall
    }
}

impl CheckTarget {
    fn identity(&self) -> CheckIdentity {
        CheckIdentity {
            spec: self.spec.clone(),
            interval: self.interval,
            rise: self.rise,
            fall: self.fall,
        }
    }
}

/// A status change of one endpoint, passed to [`HealthHooks::on_flip`].
#[derive(Clone, Debug)]
pub struct FlipEvent {
    /// The target's key.
    pub key: String,
    /// The target's names.
    pub labels: Arc<TargetLabels>,
    /// Status before.
    pub from: Status,
    /// Status after.
    pub to: Status,
    /// Reason of the probe that caused the flip ("HTTP 503", "timeout", ...).
    pub reason: String,
}

/// One finished probe, passed to [`HealthHooks::on_probe`] (for
/// `steerdns_health_checks_total{result=pass|fail}`).
#[derive(Debug)]
pub struct ProbeEvent<'a> {
    /// The target's key.
    pub key: &'a str,
    /// The target's names.
    pub labels: &'a TargetLabels,
    /// The probe's result.
    pub outcome: &'a ProbeOutcome,
}

/// Callback for flips.
pub type FlipHook = Arc<dyn Fn(&FlipEvent) + Send + Sync>;
/// Callback for every finished probe. Called on the probe tasks: keep it cheap.
pub type ProbeHook = Arc<dyn Fn(&ProbeEvent<'_>) + Send + Sync>;

/// Callbacks the integrator wires to metrics. Flips are also logged by the runner itself.
#[derive(Clone, Default)]
pub struct HealthHooks {
    /// Called once per flip, after the slot is written.
    pub on_flip: Option<FlipHook>,
    /// Called after every probe.
    pub on_probe: Option<ProbeHook>,
}

impl std::fmt::Debug for HealthHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthHooks")
            .field("on_flip", &self.on_flip.is_some())
            .field("on_probe", &self.on_probe.is_some())
            .finish()
    }
}

//------------ Jitter --------------------------------------------------------------------------

/// Source of jitter: each call returns a value in `[-1.0, 1.0]`. Injected so tests use
/// [`NoJitter`] and get exact schedules.
pub trait Jitter: Send + Sync + 'static {
    /// One sample in `[-1.0, 1.0]`.
    fn sample(&self) -> f64;
}

/// Always 0: probes at exactly `interval`, first probe at once.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoJitter;

impl Jitter for NoJitter {
    fn sample(&self) -> f64 {
        0.0
    }
}

/// Uniform pseudo-random jitter (splitmix64, seeded per process). Not cryptographic; it only
/// spreads probes in time.
#[derive(Debug)]
pub struct RandomJitter {
    state: AtomicU64,
}

impl Default for RandomJitter {
    fn default() -> Self {
        use std::hash::BuildHasher;
        let seed = std::collections::hash_map::RandomState::new().hash_one(0x5EED_u64);
        Self {
            state: AtomicU64::new(seed),
        }
    }
}

impl Jitter for RandomJitter {
    fn sample(&self) -> f64 {
        let mut z = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // 53 random bits → [0, 1) → [-1, 1).
        ((z >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

//------------ Config --------------------------------------------------------------------------

/// Runner settings.
#[derive(Clone)]
pub struct RunnerConfig {
    /// Most probes in flight at once (default 512). See the module doc for sizing.
    pub max_concurrency: usize,
    /// Jitter source (default [`RandomJitter`]; [`NoJitter`] in tests).
    pub jitter: Arc<dyn Jitter>,
    /// Relative jitter of each interval, clamped to `0.0..=0.5` (default 0.1: ±10%).
    pub jitter_ratio: f64,
    /// Upper bound of the first probe's delay (default 1 s); the delay is
    /// `min(first_spread, interval × jitter_ratio) × |sample|`, so probes of thousands of
    /// endpoints started together spread out a little, and with [`NoJitter`] start at once.
    pub first_spread: Duration,
    /// `[health] state_file`: read at start, rewritten on every flip. `None`: no persistence.
    pub state_file: Option<PathBuf>,
    /// Probe times are rounded up to a multiple of this, counted from the runner's start
    /// (default 10 ms; zero: no rounding), so probes that fall due within one step start
    /// together and the thread wakes once for all of them instead of once per probe. A
    /// probe is at most this much later than planned; the schedule itself does not drift.
    pub batch: Duration,
    /// The runtime the probe tasks run on (default: the one `start` is called in). The
    /// daemon gives them a [`HealthThread`] of their own.
    pub runtime: Option<tokio::runtime::Handle>,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            max_concurrency: 512,
            jitter: Arc::new(RandomJitter::default()),
            jitter_ratio: 0.1,
            first_spread: Duration::from_secs(1),
            state_file: None,
            batch: Duration::from_millis(10),
            runtime: None,
        }
    }
}

impl std::fmt::Debug for RunnerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerConfig")
            .field("max_concurrency", &self.max_concurrency)
            .field("jitter_ratio", &self.jitter_ratio)
            .field("first_spread", &self.first_spread)
            .field("state_file", &self.state_file)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

/// What [`HealthRunner::update`] did, for the reload report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpdateSummary {
    /// Targets whose check was unchanged: state and schedule kept.
    pub kept: usize,
    /// New or changed targets: started up.
    pub started: usize,
    /// Removed or changed targets: probing stopped.
    pub stopped: usize,
}

//------------ Runner --------------------------------------------------------------------------

/// Where a task writes and what it knows; swapped by [`HealthRunner::update`].
struct CellState {
    /// False once the runner has stopped this task: a probe that finishes after that must not
    /// write a table, call hooks or touch the state file (a newer task may own the key).
    live: bool,
    health: EndpointHealth,
    table: Arc<HealthTable>,
    slot: SlotId,
    labels: Arc<TargetLabels>,
    /// The probe as of the last start or update: a kept target may get a new source address.
    spec: Arc<ProbeSpec>,
}

/// Shared between a task and the runner. A plain mutex: held for a few instructions, never
/// across an await, and never touched by the answer path (which only reads the table).
struct Cell(Mutex<CellState>);

impl Cell {
    fn lock(&self) -> MutexGuard<'_, CellState> {
        // A poisoned lock means a hook panicked elsewhere; the state itself is always valid.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Task {
    identity: CheckIdentity,
    cell: Arc<Cell>,
    handle: JoinHandle<()>,
}

impl Task {
    /// Cancel the task. Marks the cell dead first, under its lock, so a probe finishing
    /// concurrently cannot report after this returns.
    fn stop(&self) {
        self.cell.lock().live = false;
        self.handle.abort();
    }
}

enum WriterMsg {
    Set(String, Status),
    Remove(String),
    SetAgreed(String, Status),
    ClearAgreed,
    Flush(oneshot::Sender<()>),
}

/// Where the agreement (`crate::peers`) records agreed verdicts so the state file keeps them
/// beside the runner's own ones. Cheap to clone; does nothing without a state file.
#[derive(Clone, Default)]
pub struct StateSink(Option<mpsc::UnboundedSender<WriterMsg>>);

impl StateSink {
    /// Records the agreed verdict of the endpoint `key`.
    pub fn set_agreed(&self, key: String, status: Status) {
        if let Some(tx) = &self.0 {
            // Fails only after shutdown, when the file is final.
            let _ = tx.send(WriterMsg::SetAgreed(key, status));
        }
    }

    /// Forgets every agreed verdict (`[peers]` removed: answers follow the own verdicts).
    pub fn clear_agreed(&self) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(WriterMsg::ClearAgreed);
        }
    }
}

impl std::fmt::Debug for StateSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("StateSink").field(&self.0.is_some()).finish()
    }
}

struct Shared {
    /// Where probe tasks and the state-file writer run.
    runtime: tokio::runtime::Handle,
    /// Start of the batching grid ([`RunnerConfig::batch`]).
    epoch: Instant,
    batch: Duration,
    probe: Arc<dyn Probe>,
    hooks: HealthHooks,
    semaphore: Semaphore,
    jitter: Arc<dyn Jitter>,
    jitter_ratio: f64,
    first_spread: Duration,
    writer: Option<mpsc::UnboundedSender<WriterMsg>>,
}

/// Runs the checks of one set of targets and reconciles them on reload.
///
/// Dropping the runner stops every probe task; [`HealthRunner::shutdown`] also waits for the
/// state file to be written.
pub struct HealthRunner {
    shared: Arc<Shared>,
    tasks: HashMap<String, Task>,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for HealthRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthRunner")
            .field("targets", &self.tasks.len())
            .finish_non_exhaustive()
    }
}

/// Start states for `targets`: as saved, else up. Use it to build the first table yourself;
/// [`HealthRunner::start`] does the same into the table it is given.
pub fn initial_states(targets: &[CheckTarget], saved: &SavedStates) -> Vec<(SlotId, Status)> {
    targets
        .iter()
        .map(|t| (t.slot, saved.get(&t.key).copied().unwrap_or(Status::Up)))
        .collect()
}

/// A `max_concurrency` that keeps every probe on schedule even if every endpoint hangs until
/// its timeout: `Σ timeout / interval` over `targets`, plus headroom, within `16..=4096`.
pub fn suggested_concurrency(targets: &[CheckTarget]) -> usize {
    let busy: f64 = targets
        .iter()
        .filter(|t| !t.interval.is_zero())
        .map(|t| t.spec.timeout.as_secs_f64() / t.interval.as_secs_f64())
        .sum();
    // Jitter can shorten an interval by up to half; allow for it and for bursts.
    ((busy * 1.5).ceil() as usize + 16).clamp(16, 4096)
}

impl HealthRunner {
    /// Start probing `targets`, writing into `table`. Must be called inside a tokio runtime.
    ///
    /// Before it returns, every target's slot in `table` holds its start state (up, or as in
    /// `config.state_file`: the own verdict, and the answered one from the saved agreed
    /// verdict when there is one), so the caller can publish a snapshot with `table` at once. Each
    /// target's first probe runs at once (plus at most a small jitter), then every `interval`
    /// ± jitter. Slots not named by any target are left as they are.
    pub fn start(
        targets: Vec<CheckTarget>,
        table: Arc<HealthTable>,
        probe: Arc<dyn Probe>,
        hooks: HealthHooks,
        config: RunnerConfig,
    ) -> Self {
        let saved = config
            .state_file
            .as_deref()
            .map(persist::load_file)
            .unwrap_or_default();
        let mut file_states = BTreeMap::new();
        let mut file_agreed = BTreeMap::new();
        for t in &targets {
            file_states.insert(
                t.key.clone(),
                saved.endpoints.get(&t.key).copied().unwrap_or(Status::Up),
            );
            if let Some(&a) = saved.agreed.get(&t.key) {
                file_agreed.insert(t.key.clone(), a);
            }
        }
        let runtime = config
            .runtime
            .unwrap_or_else(tokio::runtime::Handle::current);
        let (writer_tx, writer) = match config.state_file {
            Some(path) => {
                let (tx, rx) = mpsc::unbounded_channel();
                (
                    Some(tx),
                    Some(runtime.spawn(run_writer(path, file_states, file_agreed, rx))),
                )
            }
            None => (None, None),
        };
        let shared = Arc::new(Shared {
            runtime,
            epoch: Instant::now(),
            batch: config.batch,
            probe,
            hooks,
            semaphore: Semaphore::new(config.max_concurrency.clamp(1, Semaphore::MAX_PERMITS)),
            jitter: config.jitter,
            jitter_ratio: if config.jitter_ratio.is_finite() {
                config.jitter_ratio.clamp(0.0, 0.5)
            } else {
                0.0
            },
            first_spread: config.first_spread,
            writer: writer_tx,
        });
        let mut runner = Self {
            shared,
            tasks: HashMap::new(),
            writer,
        };
        for t in targets {
            let own = saved.endpoints.get(&t.key).copied().unwrap_or(Status::Up);
            let answered = saved.answered(&t.key).unwrap_or(own);
            runner.spawn_target(t, own, answered, &table);
        }
        tracing::info!(
            targets = runner.tasks.len(),
            max_concurrency = config.max_concurrency,
            "health checks started"
        );
        runner
    }

    /// The handle through which agreed verdicts reach the state file.
    pub fn state_sink(&self) -> StateSink {
        StateSink(self.shared.writer.clone())
    }

    /// Number of targets being probed.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True when nothing is probed.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Current status of the target `key`, if it is probed.
    pub fn status(&self, key: &str) -> Option<Status> {
        self.tasks.get(key).map(|t| t.cell.lock().health.status())
    }

    /// Reconcile with a reloaded config. Call after building `new_table` and before publishing
    /// the snapshot that holds it.
    ///
    /// A target whose key, spec, interval, rise and fall are all unchanged keeps its state,
    /// streak and schedule and from now on writes `new_table` at its (possibly new) slot; its
    /// current state is copied there before this returns (the own verdict and when it
    /// changed, and, when both tables are agreeing, the agreed verdict). Removed targets stop being probed.
    /// New or changed targets start up and probe at once. Slots of `new_table` not named by a
    /// target are left as they are.
    pub fn update(
        &mut self,
        targets: Vec<CheckTarget>,
        new_table: Arc<HealthTable>,
    ) -> UpdateSummary {
        let mut summary = UpdateSummary::default();
        let mut old = std::mem::take(&mut self.tasks);
        for t in targets {
            match old.remove(&t.key) {
                Some(task) if task.identity == t.identity() && !self.tasks.contains_key(&t.key) => {
                    {
                        let mut st = task.cell.lock();
                        let own = st.health.status();
                        let answered = if st.table.by_agreement() && new_table.by_agreement() {
                            st.table.get(st.slot)
                        } else {
                            own
                        };
                        new_table.set_local(t.slot, own);
                        new_table.set(t.slot, answered);
                        new_table.set_since(t.slot, st.table.since(st.slot));
                        st.table = new_table.clone();
                        st.slot = t.slot;
                        st.labels = t.labels.clone();
                        st.spec = Arc::new(t.spec.clone());
                    }
                    summary.kept += 1;
                    self.tasks.insert(t.key, task);
                }
                previous => {
                    if let Some(task) = previous {
                        task.stop();
                        summary.stopped += 1;
                    }
                    summary.started += 1;
                    self.spawn_target(t, Status::Up, Status::Up, &new_table);
                }
            }
        }
        for (key, task) in old {
            task.stop();
            summary.stopped += 1;
            self.send(WriterMsg::Remove(key));
        }
        tracing::info!(
            kept = summary.kept,
            started = summary.started,
            stopped = summary.stopped,
            "health checks reconciled"
        );
        summary
    }

    /// Wait until every state change reported so far is in the state file (no-op without one).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.send(WriterMsg::Flush(tx)) {
            // An error only means the writer is gone, so there is nothing left to wait for.
            let _ = rx.await;
        }
    }

    /// Stop every probe, then write the state file one last time and wait for it.
    pub async fn shutdown(mut self) {
        for (_, task) in self.tasks.drain() {
            task.stop();
        }
        self.shared.semaphore.close();
        self.flush().await;
        if let Some(writer) = self.writer.take() {
            writer.abort();
        }
        tracing::info!("health checks stopped");
    }

    fn send(&self, msg: WriterMsg) -> bool {
        match &self.shared.writer {
            Some(tx) => tx.send(msg).is_ok(),
            None => false,
        }
    }

    fn spawn_target(
        &mut self,
        t: CheckTarget,
        status: Status,
        answered: Status,
        table: &Arc<HealthTable>,
    ) {
        table.set_local(t.slot, status);
        table.set(t.slot, answered);
        table.set_since(t.slot, now_unix());
        self.send(WriterMsg::Set(t.key.clone(), status));
        let identity = t.identity();
        let cell = Arc::new(Cell(Mutex::new(CellState {
            health: EndpointHealth::new(status),
            table: table.clone(),
            slot: t.slot,
            labels: t.labels.clone(),
            spec: Arc::new(t.spec.clone()),
            live: true,
        })));
        let handle = self.shared.runtime.spawn(run_target(
            self.shared.clone(),
            t.key.clone(),
            identity.clone(),
            cell.clone(),
        ));
        if let Some(dup) = self.tasks.insert(
            t.key.clone(),
            Task {
                identity,
                cell,
                handle,
            },
        ) {
            tracing::warn!(key = %t.key, "duplicate health check key; the last one wins");
            dup.stop();
        }
    }
}

impl Drop for HealthRunner {
    fn drop(&mut self) {
        for task in self.tasks.values() {
            task.stop();
        }
    }
}

//------------ Thread --------------------------------------------------------------------------

/// A thread of its own for the health checks: a single-threaded tokio runtime on which every
/// probe task, its timers and its sockets live (pass [`HealthThread::handle`] as
/// [`RunnerConfig::runtime`]).
///
/// Measured with 2000 probes a second (BENCHMARKS.md, health section): on the daemon's
/// two-worker runtime the probes cost about 1.7 context switches each, the workers waking
/// each other (futex) and stealing work from each other; on one event loop a batch of probes
/// that fall due together costs one wake-up. HAProxy checks from one thread the same way.
/// The thread parks in `epoll_wait` between batches.
///
/// Dropping it stops the runtime (every task still on it is cancelled) and joins the thread:
/// shut the [`HealthRunner`] down first.
#[derive(Debug)]
pub struct HealthThread {
    handle: tokio::runtime::Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HealthThread {
    /// Starts the thread `steerdns-health` and its runtime.
    pub fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("steerdns-health")
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("steerdns-health".into())
            .spawn(move || {
                // Drives every task spawned through `handle` until told to stop (or until the
                // sender is dropped); the runtime is dropped here, on its own thread.
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        Ok(Self {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where to spawn the probe tasks.
    pub fn handle(&self) -> tokio::runtime::Handle {
        self.handle.clone()
    }
}

impl Drop for HealthThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic on the health thread has been reported by the panic hook already.
            let _ = thread.join();
        }
    }
}

//------------ Tasks ---------------------------------------------------------------------------

impl Shared {
    /// `at` rounded up to the batching grid (see [`RunnerConfig::batch`]).
    fn align(&self, at: Instant) -> Instant {
        let step = self.batch.as_nanos();
        if step == 0 {
            return at;
        }
        let since = at.saturating_duration_since(self.epoch).as_nanos();
        let steps = since.div_ceil(step);
        // u64 nanoseconds cover 584 years of uptime; past that, no rounding.
        match u64::try_from(steps * step) {
            Ok(ns) => self.epoch + Duration::from_nanos(ns),
            Err(_) => at,
        }
    }

    fn first_delay(&self, interval: Duration) -> Duration {
        let spread = self.first_spread.min(interval.mul_f64(self.jitter_ratio));
        spread.mul_f64(self.jitter.sample().abs().min(1.0))
    }

    fn period(&self, interval: Duration) -> Duration {
        let factor = 1.0 + self.jitter_ratio * self.jitter.sample().clamp(-1.0, 1.0);
        let p = interval.mul_f64(factor);
        if p.is_zero() {
            interval.max(Duration::from_millis(1))
        } else {
            p
        }
    }

    /// Observe one outcome: state machine, slot write, hooks, log, state file.
    fn report(&self, key: &str, id: &CheckIdentity, cell: &Cell, outcome: &ProbeOutcome) {
        let (flip, labels) = {
            let mut st = cell.lock();
            if !st.live {
                return;
            }
            let flip = st.health.observe(outcome.passed, id.rise, id.fall);
            // Written every round (idempotent). Under the lock, so `update` re-pointing the
            // cell to a new table is never overtaken by a write to the old one. With `[peers]`
            // this is the own verdict only; the agreement, woken by the flip hook, publishes
            // the answered one.
            st.table.set_local(st.slot, st.health.status());
            if flip.is_some() {
                st.table.set_since(st.slot, now_unix());
            }
            if let (Some(f), Some(tx)) = (flip, &self.writer) {
                // Under the lock too, so it is queued before any message of a task that
                // replaces this one. Fails only after shutdown, when the file is final.
                let _ = tx.send(WriterMsg::Set(key.to_owned(), f.to));
            }
            (flip, st.labels.clone())
        };
        if let Some(hook) = &self.hooks.on_probe {
            hook(&ProbeEvent {
                key,
                labels: &labels,
                outcome,
            });
        }
        let Some(flip) = flip else { return };
        let l = &*labels;
        match flip.to {
            Status::Down => tracing::warn!(
                zone = %l.zone, service = %l.service, region = %l.region, endpoint = %l.endpoint,
                from = %flip.from, to = %flip.to, reason = %outcome.reason, "health changed"
            ),
            Status::Up => tracing::info!(
                zone = %l.zone, service = %l.service, region = %l.region, endpoint = %l.endpoint,
                from = %flip.from, to = %flip.to, reason = %outcome.reason, "health changed"
            ),
        }
        if let Some(hook) = &self.hooks.on_flip {
            hook(&FlipEvent {
                key: key.to_owned(),
                labels,
                from: flip.from,
                to: flip.to,
                reason: outcome.reason.clone(),
            });
        }
    }
}

async fn run_target(shared: Arc<Shared>, key: String, id: CheckIdentity, cell: Arc<Cell>) {
    let first = shared.first_delay(id.interval);
    // `next` is the planned time; the task wakes at the next step of the batching grid. A
    // first probe due at once runs at once.
    let mut next = Instant::now() + first;
    let mut wake = if first.is_zero() {
        next
    } else {
        shared.align(next)
    };
    loop {
        tokio::time::sleep_until(wake).await;
        let spec = cell.lock().spec.clone();
        let outcome = {
            let Ok(_permit) = shared.semaphore.acquire().await else {
                return; // closed: shutting down
            };
            match tokio::time::timeout(id.spec.timeout, shared.probe.probe(&spec)).await {
                Ok(outcome) => outcome,
                Err(_) => ProbeOutcome::fail("timeout", id.spec.timeout),
            }
        };
        shared.report(&key, &id, &cell, &outcome);
        // The schedule follows the planned times, not the probe's end, so probe latency does
        // not stretch the interval; after a long wait for a permit it restarts from now
        // instead of bursting to catch up.
        next += shared.period(id.interval);
        next = next.max(Instant::now());
        wake = shared.align(next);
    }
}

/// Keeps the state file in step with the states; coalesces bursts into one write.
async fn run_writer(
    path: PathBuf,
    mut states: BTreeMap<String, Status>,
    mut agreed: BTreeMap<String, Status>,
    mut rx: mpsc::UnboundedReceiver<WriterMsg>,
) {
    let mut dirty = false;
    while let Some(first) = rx.recv().await {
        let mut waiters = Vec::new();
        let mut msg = Some(first);
        while let Some(m) = msg {
            match m {
                WriterMsg::Set(k, s) => dirty |= states.insert(k, s) != Some(s),
                WriterMsg::Remove(k) => {
                    dirty |= agreed.remove(&k).is_some();
                    dirty |= states.remove(&k).is_some();
                }
                WriterMsg::SetAgreed(k, s) => dirty |= agreed.insert(k, s) != Some(s),
                WriterMsg::ClearAgreed => {
                    dirty |= !agreed.is_empty();
                    agreed.clear();
                }
                WriterMsg::Flush(w) => waiters.push(w),
            }
            msg = rx.try_recv().ok();
        }
        if dirty {
            let snapshot = states.clone();
            let agreed_now = agreed.clone();
            let p = path.clone();
            let result = tokio::task::spawn_blocking(move || {
                persist::save_with_agreed(&p, &snapshot, &agreed_now)
            })
            .await;
            match result {
                Ok(Ok(())) => dirty = false,
                Ok(Err(e)) => {
                    tracing::warn!(error = %crate::error::render_chain(&e), "health state not saved; will retry on the next change")
                }
                Err(e) => tracing::warn!(error = %e, "health state writer task failed"),
            }
        }
        for w in waiters {
            let _ = w.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::probe::ProbeKind;
    use std::future::Future;
    use std::net::SocketAddr;
    use std::pin::Pin;
    use std::sync::atomic::AtomicUsize;

    /// Fake probe: pass/fail per target port, counts calls per port.
    #[derive(Default)]
    struct FakeProbe {
        failing: Mutex<HashMap<u16, bool>>,
        calls: Mutex<HashMap<u16, usize>>,
        hang: Mutex<HashMap<u16, bool>>,
        sources: Mutex<HashMap<u16, Option<std::net::IpAddr>>>,
    }

    impl FakeProbe {
        fn set_failing(&self, port: u16, failing: bool) {
            self.failing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(port, failing);
        }
        fn set_hang(&self, port: u16, hang: bool) {
            self.hang
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(port, hang);
        }
        fn calls(&self, port: u16) -> usize {
            self.calls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&port)
                .copied()
                .unwrap_or(0)
        }
    }

    impl Probe for FakeProbe {
        fn probe<'a>(
            &'a self,
            spec: &'a ProbeSpec,
        ) -> Pin<Box<dyn Future<Output = ProbeOutcome> + Send + 'a>> {
            let port = spec.target.port();
            self.sources
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(port, spec.source);
            *self
                .calls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(port)
                .or_default() += 1;
            let failing = self
                .failing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&port)
                .copied()
                .unwrap_or(false);
            let hang = self
                .hang
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&port)
                .copied()
                .unwrap_or(false);
            Box::pin(async move {
                if hang {
                    std::future::pending::<()>().await;
                }
                if failing {
                    ProbeOutcome::fail("HTTP 503", Duration::ZERO)
                } else {
                    ProbeOutcome::pass("HTTP 200", Duration::ZERO)
                }
            })
        }
    }

    fn target(port: u16, slot: u32) -> CheckTarget {
        CheckTarget {
            key: format!("z/www/r/{port}"),
            labels: Arc::new(TargetLabels {
                zone: "z".into(),
                service: "www".into(),
                region: "r".into(),
                endpoint: format!("127.0.0.1:{port}"),
            }),
            spec: ProbeSpec {
                kind: ProbeKind::Tcp,
                target: SocketAddr::from(([127, 0, 0, 1], port)),
                timeout: Duration::from_millis(500),
                source: None,
            },
            interval: Duration::from_secs(1),
            rise: 2,
            fall: 3,
            slot: SlotId(slot),
        }
    }

    fn config() -> RunnerConfig {
        RunnerConfig {
            jitter: Arc::new(NoJitter),
            ..RunnerConfig::default()
        }
    }

    /// A runner over `targets` with the fake probe, no hooks and the test config.
    fn start(
        targets: Vec<CheckTarget>,
        table: &Arc<HealthTable>,
        fake: &Arc<FakeProbe>,
    ) -> HealthRunner {
        HealthRunner::start(
            targets,
            table.clone(),
            fake.clone(),
            HealthHooks::default(),
            config(),
        )
    }

    /// Let spawned tasks run and time advance by `d` in small steps (paused clock).
    async fn advance(d: Duration) {
        let step = Duration::from_millis(10);
        let mut left = d;
        while !left.is_zero() {
            let s = step.min(left);
            tokio::time::sleep(s).await;
            left -= s;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn probe_times_round_up_to_the_batch_grid() {
        let fake = Arc::new(FakeProbe::default());
        let table = Arc::new(HealthTable::new(1));
        let runner = start(vec![], &table, &fake);
        let s = &runner.shared;
        let ms = Duration::from_millis;
        assert_eq!(s.align(s.epoch), s.epoch);
        assert_eq!(s.align(s.epoch + ms(1)), s.epoch + ms(10));
        assert_eq!(s.align(s.epoch + ms(10)), s.epoch + ms(10));
        assert_eq!(
            s.align(s.epoch + Duration::from_micros(10_001)),
            s.epoch + ms(20)
        );
        assert_eq!(s.align(s.epoch + ms(995)), s.epoch + ms(1000));
        runner.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn jittered_probes_start_on_the_grid_and_keep_their_interval() {
        // Jitter that is never zero: every probe time is off the grid before rounding.
        let fake = Arc::new(FakeProbe::default());
        let table = Arc::new(HealthTable::new(1));
        let cfg = RunnerConfig {
            jitter: Arc::new(FixedJitter(0.37)),
            ..config()
        };
        let runner = HealthRunner::start(
            vec![target(1, 0)],
            table.clone(),
            fake.clone(),
            HealthHooks::default(),
            cfg,
        );
        // First delay 100 ms x 0.37 = 37 ms, run at 40 ms; then planned every 1.037 s from
        // 37 ms (1.074, 2.111, 3.148 s), each run at the next 10 ms step (1.08, 2.12, 3.15).
        // Had the rounding carried over, the fourth would run at 3.16 s.
        advance(Duration::from_millis(30)).await;
        assert_eq!(fake.calls(1), 0);
        advance(Duration::from_millis(20)).await;
        assert_eq!(fake.calls(1), 1);
        advance(Duration::from_millis(3_105)).await; // t = 3.155 s
        assert_eq!(
            fake.calls(1),
            4,
            "the rounding does not add up round after round"
        );
        runner.shutdown().await;
    }

    #[test]
    fn runner_on_a_health_thread_probes_there() {
        let main = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        main.block_on(async {
            let thread = HealthThread::start().unwrap();
            let fake = Arc::new(FakeProbe::default());
            fake.set_failing(1, true);
            let table = Arc::new(HealthTable::new(1));
            let names = Arc::new(Mutex::new(Vec::new()));
            let hooks = HealthHooks {
                on_flip: None,
                on_probe: Some({
                    let names = names.clone();
                    Arc::new(move |_: &ProbeEvent<'_>| {
                        let name = std::thread::current().name().map(str::to_owned);
                        names.lock().unwrap_or_else(|p| p.into_inner()).push(name);
                    })
                }),
            };
            let mut t = target(1, 0);
            t.interval = Duration::from_millis(20);
            t.spec.timeout = Duration::from_millis(10);
            t.fall = 2;
            let runner = HealthRunner::start(
                vec![t],
                table.clone(),
                fake.clone(),
                hooks,
                RunnerConfig {
                    runtime: Some(thread.handle()),
                    ..config()
                },
            );
            // Real time: wait (bounded) for the two failures that take the endpoint down.
            for _ in 0..500 {
                if table.get(SlotId(0)) == Status::Down {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(table.get(SlotId(0)), Status::Down);
            runner.shutdown().await;
            let names = names.lock().unwrap_or_else(|p| p.into_inner()).clone();
            assert!(names.len() >= 2);
            assert!(
                names
                    .iter()
                    .all(|n| n.as_deref() == Some("steerdns-health")),
                "{names:?}"
            );
            drop(thread);
        });
    }

    #[tokio::test(start_paused = true)]
    async fn first_probe_at_once_then_every_interval() {
        let fake = Arc::new(FakeProbe::default());
        let table = Arc::new(HealthTable::new(1));
        let runner = start(vec![target(1, 0)], &table, &fake);
        advance(Duration::from_millis(10)).await;
        assert_eq!(fake.calls(1), 1);
        advance(Duration::from_millis(1000)).await;
        assert_eq!(fake.calls(1), 2);
        advance(Duration::from_millis(3000)).await;
        assert_eq!(fake.calls(1), 5);
        runner.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn falls_after_fall_probes_and_rises_after_rise() {
        let fake = Arc::new(FakeProbe::default());
        let table = Arc::new(HealthTable::new(1));
        let flips = Arc::new(Mutex::new(Vec::new()));
        let probes = Arc::new(AtomicUsize::new(0));
        let hooks = HealthHooks {
            on_flip: Some({
                let flips = flips.clone();
                Arc::new(move |e: &FlipEvent| {
                    flips
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((e.to, e.reason.clone()))
                })
            }),
            on_probe: Some({
                let probes = probes.clone();
                Arc::new(move |_: &ProbeEvent<'_>| {
                    probes.fetch_add(1, Ordering::Relaxed);
                })
            }),
        };
        fake.set_failing(1, true);
        let runner = HealthRunner::start(
            vec![target(1, 0)],
            table.clone(),
            fake.clone(),
            hooks,
            config(),
        );
        // Probes at t = 0, 1, 2 fail; fall = 3 → down right after the third.
        advance(Duration::from_millis(1990)).await;
        assert_eq!(table.get(SlotId(0)), Status::Up);
        advance(Duration::from_millis(20)).await;
        assert_eq!(table.get(SlotId(0)), Status::Down);
        // Passes at t = 3, 4; rise = 2 → up after the probe at t = 4.
        fake.set_failing(1, false);
        advance(Duration::from_millis(1980)).await;
        assert_eq!(table.get(SlotId(0)), Status::Down);
        advance(Duration::from_millis(20)).await;
        assert_eq!(table.get(SlotId(0)), Status::Up);
        let got = flips.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(
            got,
            vec![
                (Status::Down, "HTTP 503".to_owned()),
                (Status::Up, "HTTP 200".to_owned())
            ]
        );
        assert_eq!(probes.load(Ordering::Relaxed), 5);
        runner.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn hanging_probe_times_out_and_does_not_delay_others() {
        let fake = Arc::new(FakeProbe::default());
        fake.set_hang(1, true);
        let table = Arc::new(HealthTable::new(2));
        let cfg = RunnerConfig {
            max_concurrency: 2,
            ..config()
        };
        let mut slow = target(1, 0);
        slow.fall = 1;
        let runner = HealthRunner::start(
            vec![slow, target(2, 1)],
            table.clone(),
            fake.clone(),
            HealthHooks::default(),
            cfg,
        );
        advance(Duration::from_millis(600)).await;
        assert_eq!(
            table.get(SlotId(0)),
            Status::Down,
            "timeout counts as a failure"
        );
        advance(Duration::from_millis(3000)).await;
        assert_eq!(fake.calls(2), 4, "the healthy target kept its schedule");
        runner.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn update_keeps_unchanged_state_and_schedule() {
        let fake = Arc::new(FakeProbe::default());
        fake.set_failing(1, true);
        let table = Arc::new(HealthTable::new(2));
        let mut runner = start(vec![target(1, 0), target(2, 1)], &table, &fake);
        advance(Duration::from_millis(2500)).await;
        assert_eq!(table.get(SlotId(0)), Status::Down);
        assert_eq!(fake.calls(1), 3);

        // New generation: target 1 moves to slot 1, target 2 is removed, target 3 is new.
        let new_table = Arc::new(HealthTable::new(2));
        let mut t1 = target(1, 1);
        t1.labels = Arc::new(TargetLabels {
            region: "renamed-label".into(),
            ..(*t1.labels).clone()
        });
        let summary = runner.update(vec![t1, target(3, 0)], new_table.clone());
        assert_eq!(
            summary,
            UpdateSummary {
                kept: 1,
                started: 1,
                stopped: 1
            }
        );
        assert_eq!(
            new_table.get(SlotId(1)),
            Status::Down,
            "state copied before update returns"
        );
        assert_eq!(new_table.get(SlotId(0)), Status::Up, "new target starts up");
        assert_eq!(runner.status("z/www/r/1"), Some(Status::Down));
        assert_eq!(runner.status("z/www/r/2"), None);

        // Kept schedule: target 1's next probe is still at t = 3 s, not restarted at 2.5 s.
        advance(Duration::from_millis(10)).await;
        assert_eq!(fake.calls(1), 3);
        assert_eq!(fake.calls(3), 1, "new target probes at once");
        let calls2 = fake.calls(2);
        fake.set_failing(1, false);
        advance(Duration::from_millis(2000)).await;
        assert_eq!(fake.calls(1), 5);
        assert_eq!(
            new_table.get(SlotId(1)),
            Status::Up,
            "kept task writes the new table"
        );
        assert_eq!(
            table.get(SlotId(0)),
            Status::Down,
            "old table no longer written"
        );
        assert_eq!(fake.calls(2), calls2, "removed target stopped");
        runner.shutdown().await;
    }

    /// A reload that only moves probes to another source address keeps state and schedule,
    /// and the next probe leaves from the new address.
    #[tokio::test(start_paused = true)]
    async fn update_with_a_new_source_keeps_state_and_uses_it() {
        let fake = Arc::new(FakeProbe::default());
        fake.set_failing(1, true);
        let table = Arc::new(HealthTable::new(1));
        let mut runner = HealthRunner::start(
            vec![target(1, 0)],
            table.clone(),
            fake.clone(),
            HealthHooks::default(),
            config(),
        );
        advance(Duration::from_millis(2500)).await;
        assert_eq!(table.get(SlotId(0)), Status::Down);
        let new_table = Arc::new(HealthTable::new(1));
        let mut moved = target(1, 0);
        let source = std::net::IpAddr::from([127, 0, 0, 9]);
        moved.spec.source = Some(source);
        let summary = runner.update(vec![moved], new_table.clone());
        assert_eq!(summary.kept, 1, "{summary:?}");
        assert_eq!(new_table.get(SlotId(0)), Status::Down);
        advance(Duration::from_millis(600)).await;
        assert_eq!(fake.calls(1), 4, "schedule kept: the probe at t = 3 s");
        let used = fake.sources.lock().unwrap_or_else(|e| e.into_inner())[&1];
        assert_eq!(used, Some(source));
        runner.shutdown().await;
    }

    /// With `[peers]` the runner writes the own verdict only; a reload carries the agreed one
    /// over to the new table (and drops it when the new table decides alone).
    #[tokio::test(start_paused = true)]
    async fn agreeing_tables_get_own_verdicts_and_keep_agreed_ones_on_update() {
        let fake = Arc::new(FakeProbe::default());
        fake.set_failing(1, true);
        let table = Arc::new(HealthTable::new(1).agreeing(true));
        let mut runner = HealthRunner::start(
            vec![target(1, 0)],
            table.clone(),
            fake.clone(),
            HealthHooks::default(),
            config(),
        );
        advance(Duration::from_millis(2500)).await;
        assert_eq!(table.local(SlotId(0)), Status::Down);
        assert_eq!(
            table.get(SlotId(0)),
            Status::Up,
            "answers wait for the agreement"
        );
        let since = table.since(SlotId(0));
        assert!(since > 0);
        table.set(SlotId(0), Status::Down); // the agreement decided

        let agreeing = Arc::new(HealthTable::new(1).agreeing(true));
        runner.update(vec![target(1, 0)], agreeing.clone());
        assert_eq!(agreeing.get(SlotId(0)), Status::Down);
        assert_eq!(agreeing.local(SlotId(0)), Status::Down);
        assert_eq!(agreeing.since(SlotId(0)), since);

        agreeing.set(SlotId(0), Status::Up); // outvoted by the peers
        let alone = Arc::new(HealthTable::new(1));
        runner.update(vec![target(1, 0)], alone.clone());
        assert_eq!(alone.get(SlotId(0)), Status::Down, "alone: the own verdict");
        runner.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn update_restarts_changed_check() {
        let fake = Arc::new(FakeProbe::default());
        fake.set_failing(1, true);
        let table = Arc::new(HealthTable::new(1));
        let mut runner = start(vec![target(1, 0)], &table, &fake);
        advance(Duration::from_millis(2500)).await;
        assert_eq!(table.get(SlotId(0)), Status::Down);
        let new_table = Arc::new(HealthTable::new(1));
        let mut changed = target(1, 0);
        changed.fall = 5;
        let summary = runner.update(vec![changed], new_table.clone());
        assert_eq!(
            summary,
            UpdateSummary {
                kept: 0,
                started: 1,
                stopped: 1
            }
        );
        assert_eq!(new_table.get(SlotId(0)), Status::Up);
        runner.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn state_file_restores_and_follows_flips() {
        let Ok(dir) = tempfile::tempdir() else { return };
        let path = dir.path().join("health.json");
        let mut saved = BTreeMap::new();
        saved.insert("z/www/r/1".to_owned(), Status::Down);
        saved.insert("z/www/r/gone".to_owned(), Status::Down);
        assert!(persist::save(&path, &saved).is_ok());

        let fake = Arc::new(FakeProbe::default());
        fake.set_failing(2, true);
        let table = Arc::new(HealthTable::new(2));
        let cfg = RunnerConfig {
            state_file: Some(path.clone()),
            ..config()
        };
        let targets = vec![target(1, 0), target(2, 1)];
        let states = initial_states(&targets, &persist::load(&path));
        assert_eq!(
            states,
            vec![(SlotId(0), Status::Down), (SlotId(1), Status::Up)]
        );
        let runner = HealthRunner::start(
            targets,
            table.clone(),
            fake.clone(),
            HealthHooks::default(),
            cfg,
        );
        assert_eq!(
            table.get(SlotId(0)),
            Status::Down,
            "restored before the first probe"
        );
        advance(Duration::from_millis(2500)).await;
        runner.flush().await;
        let now = persist::try_load(&path).unwrap_or_default();
        assert_eq!(now.get("z/www/r/1"), Some(&Status::Up));
        assert_eq!(now.get("z/www/r/2"), Some(&Status::Down));
        assert_eq!(now.get("z/www/r/gone"), None);
        runner.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_runner_stops_probes() {
        let fake = Arc::new(FakeProbe::default());
        let runner = start(vec![target(1, 0)], &Arc::new(HealthTable::new(1)), &fake);
        advance(Duration::from_millis(10)).await;
        drop(runner);
        let calls = fake.calls(1);
        advance(Duration::from_secs(5)).await;
        assert_eq!(fake.calls(1), calls);
    }

    /// Probe that takes 100 ms (virtual) and records the most probes seen in flight.
    #[derive(Default)]
    struct SlowProbe {
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
        done: AtomicUsize,
    }

    impl Probe for SlowProbe {
        fn probe<'a>(
            &'a self,
            _spec: &'a ProbeSpec,
        ) -> Pin<Box<dyn Future<Output = ProbeOutcome> + Send + 'a>> {
            Box::pin(async move {
                let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                self.max_in_flight.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                self.done.fetch_add(1, Ordering::SeqCst);
                ProbeOutcome::pass("HTTP 200", Duration::from_millis(100))
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn thousands_of_targets_respect_the_concurrency_bound() {
        let probe = Arc::new(SlowProbe::default());
        let n = 3000u32;
        let targets: Vec<CheckTarget> = (0..n)
            .map(|i| {
                let mut t = target(1, i);
                t.key = format!("z/www/r/{i}");
                t.interval = Duration::from_secs(10);
                t
            })
            .collect();
        let cfg = RunnerConfig {
            max_concurrency: 100,
            ..config()
        };
        let table = Arc::new(HealthTable::new(n as usize));
        let runner = HealthRunner::start(
            targets,
            table.clone(),
            probe.clone(),
            HealthHooks::default(),
            cfg,
        );
        assert_eq!(runner.len(), n as usize);
        // 3000 probes of 100 ms, 100 at a time: about 3 s for the first round.
        advance(Duration::from_millis(3200)).await;
        assert_eq!(probe.done.load(Ordering::SeqCst), n as usize);
        assert_eq!(probe.max_in_flight.load(Ordering::SeqCst), 100);
        assert_eq!(
            table.count_up(&(0..n).map(SlotId).collect::<Vec<_>>()),
            n as usize
        );
        runner.shutdown().await;
    }

    /// Jitter that always returns the same sample.
    struct FixedJitter(f64);

    impl Jitter for FixedJitter {
        fn sample(&self) -> f64 {
            self.0
        }
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_shifts_first_probe_and_stretches_interval() {
        let fake = Arc::new(FakeProbe::default());
        let cfg = RunnerConfig {
            jitter: Arc::new(FixedJitter(1.0)),
            ..RunnerConfig::default()
        };
        let runner = HealthRunner::start(
            vec![target(1, 0)],
            Arc::new(HealthTable::new(1)),
            fake.clone(),
            HealthHooks::default(),
            cfg,
        );
        // First probe after min(1 s, 10% of 1 s) = 100 ms; then every 1.1 s.
        advance(Duration::from_millis(90)).await;
        assert_eq!(fake.calls(1), 0);
        advance(Duration::from_millis(20)).await;
        assert_eq!(fake.calls(1), 1);
        advance(Duration::from_millis(1080)).await;
        assert_eq!(fake.calls(1), 1);
        advance(Duration::from_millis(30)).await;
        assert_eq!(fake.calls(1), 2);
        runner.shutdown().await;
    }

    /// Probe that fails after 200 ms (virtual).
    struct SlowFail;

    impl Probe for SlowFail {
        fn probe<'a>(
            &'a self,
            _spec: &'a ProbeSpec,
        ) -> Pin<Box<dyn Future<Output = ProbeOutcome> + Send + 'a>> {
            Box::pin(async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                ProbeOutcome::fail("HTTP 503", Duration::from_millis(200))
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn probe_of_a_stopped_task_reports_nothing() {
        let flips = Arc::new(AtomicUsize::new(0));
        let hooks = HealthHooks {
            on_flip: Some({
                let flips = flips.clone();
                Arc::new(move |_: &FlipEvent| {
                    flips.fetch_add(1, Ordering::SeqCst);
                })
            }),
            on_probe: None,
        };
        let mut t = target(1, 0);
        t.fall = 1;
        let old_table = Arc::new(HealthTable::new(1));
        let mut runner = HealthRunner::start(
            vec![t.clone()],
            old_table.clone(),
            Arc::new(SlowFail),
            hooks,
            config(),
        );
        advance(Duration::from_millis(50)).await;
        // The first probe is in flight; the check changes (fall 1 → 3).
        t.fall = 3;
        let new_table = Arc::new(HealthTable::new(1));
        runner.update(vec![t], new_table.clone());
        advance(Duration::from_millis(300)).await;
        assert_eq!(
            old_table.get(SlotId(0)),
            Status::Up,
            "stopped task wrote nothing"
        );
        assert_eq!(
            new_table.get(SlotId(0)),
            Status::Up,
            "new task needs 3 failures"
        );
        assert_eq!(flips.load(Ordering::SeqCst), 0);
        runner.shutdown().await;
    }

    #[test]
    fn suggested_concurrency_covers_all_hanging() {
        // 2000 targets, timeout 2 s, interval 5 s: 800 probes in flight if all hang.
        let targets: Vec<CheckTarget> = (0..2000)
            .map(|i| {
                let mut t = target(1, i);
                t.spec.timeout = Duration::from_secs(2);
                t.interval = Duration::from_secs(5);
                t
            })
            .collect();
        assert_eq!(suggested_concurrency(&targets), 1216);
        assert_eq!(suggested_concurrency(&[]), 16);
    }

    #[test]
    fn labels_make_the_conventional_key() {
        assert_eq!(target(1, 0).labels.key(), "z/www/r/127.0.0.1:1");
    }

    #[test]
    fn random_jitter_stays_in_range_and_varies() {
        let j = RandomJitter::default();
        let samples: Vec<f64> = (0..1000).map(|_| j.sample()).collect();
        assert!(samples.iter().all(|s| (-1.0..=1.0).contains(s)));
        assert!(samples.iter().any(|&s| s > 0.5) && samples.iter().any(|&s| s < -0.5));
    }
}
