//! Background health checking (SPEC §4 "Health").
//!
//! Every (service, region, endpoint) with a check gets a live up/down state, so a region whose
//! servers die stops receiving resolvers within seconds and comes back when it recovers.
//!
//! ```text
//!   config (integrator) ──► Vec<CheckTarget> + HealthTable (one slot per checked endpoint)
//!                                │
//!                  runner.rs: one task per target, jittered schedule, semaphore, timeout
//!                                │ ProbeSpec
//!                  probe.rs: HTTP(S)/TCP probe to the endpoint's own IP ──► ProbeOutcome
//!                                │ passed?
//!                  state.rs: pure rise/fall machine ──► Option<Flip>
//!                                │
//!                  view.rs: HealthTable.set(slot)  ◄── queries read it lock-free
//!                                │ on flip
//!                  tracing line, HealthHooks::on_flip, persist.rs state file
//! ```
//!
//! Wiring, at boot: compile targets and slot ids from the config, build
//! `Arc::new(HealthTable::new(slots))`, call [`HealthRunner::start`] (it fills the table from
//! the state file before returning), then publish the snapshot holding the table. On reload:
//! build the new table, call [`HealthRunner::update`] (it copies kept states into the new
//! table), then publish. On shutdown: [`HealthRunner::shutdown`].
//!
//! Mapping a zone's `[check.NAME]` onto a [`CheckTarget`] per (service, region, endpoint):
//!
//! | config                         | here                                                    |
//! |--------------------------------|---------------------------------------------------------|
//! | `kind = "http"` / `"https"`    | [`ProbeKind::Http`] with `tls: None` / `Some(TlsSpec)`  |
//! | `kind = "tcp"` / `"none"`      | [`ProbeKind::Tcp`] / [`ProbeKind::None`]                |
//! | endpoint address + `port`      | [`ProbeSpec::target`]                                   |
//! | `path`, `host`                 | `path`, `host`                                          |
//! | `expect_status` (default `[200]`) | `expect_status`                                       |
//! | `expect_body`                  | `expect_body` (searched in the first 64 KiB)            |
//! | `tls_verify` (default true), `sni` | [`TlsSpec`] `verify`, `sni` (default: `host`'s name) |
//! | `timeout`, `interval`          | [`ProbeSpec::timeout`], [`CheckTarget::interval`]       |
//! | `rise`, `fall`                 | [`CheckTarget::rise`], [`CheckTarget::fall`]            |
//! | zone, service, region, endpoint| [`TargetLabels`]; key = [`TargetLabels::key`]           |
//!
//! Metrics hooks ([`HealthHooks`]): `on_probe` for `steerdns_health_checks_total{result}`,
//! `on_flip` for counting flips and updating `steerdns_endpoint_up`. The runner logs each
//! flip itself (one line: zone, service, region, endpoint, from, to, reason).

pub mod persist;
pub mod probe;
pub mod runner;
pub mod state;
pub mod view;

pub use crate::error::{ProbeError, StateFileError};
pub use persist::SavedStates;
pub use probe::{Probe, ProbeKind, ProbeOutcome, ProbeSpec, Prober, TlsSpec};
pub use runner::{
    CheckTarget, FlipEvent, FlipHook, HealthHooks, HealthRunner, HealthThread, Jitter, NoJitter,
    ProbeEvent, ProbeHook, RandomJitter, RunnerConfig, StateSink, TargetLabels, UpdateSummary,
    initial_states, suggested_concurrency,
};
pub use state::{EndpointHealth, Flip, Status};
pub use view::{HealthTable, SlotId};
