//! Staged rollouts of a canary region (SPEC 4.2).
//!
//! ```text
//!  [service.X.rollout] ──config::compile──► spec::RolloutSpec on the service, a rollout slot
//!                                           on the canary's ServiceRegion
//!  engine (pure): Progress × (now, gate results | operator action) ─► Progress + events
//!  share of the step ─► spec::weight_for_share ─► the snapshot's live rollout weights
//!                       (HealthTable, one atomic per rollout), which steer() reads in place
//!                       of the canary's configured weight
//! ```
//!
//! Shares are compiled into weights when a step changes, never per query: the answer path
//! reads one atomic per rollout region, like a health slot.

pub mod engine;
pub mod prometheus;
pub mod report;
pub mod runner;
pub mod spec;
