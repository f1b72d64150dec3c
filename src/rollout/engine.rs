//! The rollout state machine (SPEC 4.2): pure, with the time and the gate results passed in,
//! so a whole ramp runs in simulated time in tests and the runner at the edge only
//! does I/O around it.
//!
//! ```text
//!            start / steps changed ─► running(step 0)
//!   running ── hold passed and the gates passed ──► running(step+1) ... last step ─► complete
//!   running ── a gate failed ──► on_failure = rollback: rolled_back (share 0)
//!                                on_failure = hold:     paused (share of the step)
//!   pause: running ─► paused          resume: paused ─► running (the hold restarts)
//!   abort: any but aborted ─► aborted (share 0)
//!   resume: rolled_back | aborted ─► running at the first step (the safe side)
//!   advance: running | paused ─► the next step now
//! ```
//!
//! A [`Progress`] is what the state file keeps; it names the steps it belongs to, so a
//! restart or a reload with the same steps resumes it, and changed steps start anew.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::spec::RolloutSpec;

/// Where a rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Holding a step, advancing when the hold has passed and the gates passed.
    Running,
    /// Stopped at its step (the share stays): by the operator or a failed gate with
    /// `on_failure = "hold"`.
    Paused,
    /// A gate failed with `on_failure = "rollback"`: share 0 until resumed or the steps change.
    RolledBack,
    /// Aborted by the operator: share 0 until resumed or the steps change.
    Aborted,
    /// The last step was reached.
    Complete,
}

impl Phase {
    /// JSON and log spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::RolledBack => "rolled_back",
            Self::Aborted => "aborted",
            Self::Complete => "complete",
        }
    }
}

/// The progress of one rollout: what the state file keeps and the status shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    /// The steps this progress belongs to ([`RolloutSpec::steps_text`]).
    pub steps: String,
    /// The current step (0-based).
    pub step: usize,
    /// When the current step, or the current phase, began (unix milliseconds).
    pub since_ms: u64,
    /// Running, paused, rolled back, aborted or complete.
    pub phase: Phase,
    /// Why it is paused, rolled back or aborted (the failed gate, or "operator").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A transition, for the log, the metric `steerdns_rollout_transitions_total{event}` and the
/// status page's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// To the next step.
    Advance,
    /// A failed gate set the share to 0.
    Rollback,
    /// Paused (operator, or a failed gate with `on_failure = "hold"`).
    Pause,
    /// Resumed by the operator.
    Resume,
    /// Aborted by the operator.
    Abort,
    /// The last step was reached.
    Complete,
}

impl Event {
    /// Every event, for metrics that list them all.
    pub const ALL: [Self; 6] = [
        Self::Advance,
        Self::Rollback,
        Self::Pause,
        Self::Resume,
        Self::Abort,
        Self::Complete,
    ];

    /// The metric label and log word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Advance => "advance",
            Self::Rollback => "rollback",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Abort => "abort",
            Self::Complete => "complete",
        }
    }
}

/// An operator's command (`steerdns rollout ACTION`, POST `/v1/rollouts/{zone}/{service}/{action}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Stop at the current step.
    Pause,
    /// Go on (from paused: the hold restarts; from rolled back or aborted: the first step).
    Resume,
    /// Share 0 until resumed.
    Abort,
    /// The next step now.
    Advance,
}

impl Action {
    /// Parses the URL and CLI word.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "pause" => Some(Self::Pause),
            "resume" => Some(Self::Resume),
            "abort" => Some(Self::Abort),
            "advance" => Some(Self::Advance),
            _ => None,
        }
    }

    /// The URL and CLI word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Abort => "abort",
            Self::Advance => "advance",
        }
    }
}

/// Why a command was refused (the rollout is left as it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The command.
    pub action: Action,
    /// The phase it was refused in.
    pub phase: Phase,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hint = match (self.action, self.phase) {
            (Action::Advance, Phase::RolledBack | Phase::Aborted) => {
                ": resume it first (it restarts at the first step)"
            }
            (_, Phase::Complete) => ": it is complete (change its steps to start another)",
            _ => "",
        };
        write!(
            f,
            "cannot {} a rollout that is {}{hint}",
            self.action.as_str(),
            self.phase.as_str().replace('_', " ")
        )
    }
}

impl std::error::Error for Refused {}

/// The result of one gate evaluation, as the poller measured it.
#[derive(Debug, Clone, PartialEq)]
pub struct GateResult {
    /// Whether it passed.
    pub passed: bool,
    /// The value (the query's value; for `health`, the endpoints down), when there is one.
    pub value: Option<f64>,
    /// What was seen, for the log and the status (`"0.034 > max 0.01"`, `"127.0.0.21 down"`,
    /// `"cannot reach http://...: ..."`).
    pub detail: String,
}

/// A new progress and what happened on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The progress after.
    pub progress: Progress,
    /// The events, in order (an advance onto the last step is `[Advance, Complete]`).
    pub events: Vec<Event>,
}

impl Transition {
    fn none(p: &Progress) -> Self {
        Self {
            progress: p.clone(),
            events: Vec::new(),
        }
    }
}

/// A rollout starting now at its first step (reaching it completes a one-step rollout).
pub fn start(spec: &RolloutSpec, now_ms: u64) -> Progress {
    let phase = if spec.steps.len() <= 1 {
        Phase::Complete
    } else {
        Phase::Running
    };
    Progress {
        steps: spec.steps_text(),
        step: 0,
        since_ms: now_ms,
        phase,
        reason: None,
    }
}

/// The saved progress when it belongs to these steps (a restart, or a reload with the same
/// steps, resumes it), else a start now.
pub fn resume_or_start(spec: &RolloutSpec, saved: Option<&Progress>, now_ms: u64) -> Progress {
    match saved {
        Some(p) if p.steps == spec.steps_text() && p.step < spec.steps.len() => p.clone(),
        _ => start(spec, now_ms),
    }
}

/// The canary's share of its tier now: the step's, or 0 when rolled back or aborted.
pub fn share(spec: &RolloutSpec, p: &Progress) -> f64 {
    match p.phase {
        Phase::RolledBack | Phase::Aborted => 0.0,
        _ => spec.steps.get(p.step).map_or(0.0, |s| s.share),
    }
}

/// The weight that gives the canary its [`share`] against the rest of its tier (`others`,
/// the sum of the other weighted regions' weights): what the snapshot's live weight slot
/// holds, computed on a step, never per query.
pub fn live_weight(spec: &RolloutSpec, others: f64, p: &Progress) -> f64 {
    super::spec::weight_for_share(share(spec, p), others)
}

/// The step and phase packed into one word for the snapshot's live weight slot, so explain
/// and metrics read them with the weight, without the runner: `step << 8 | phase`; 0 is no
/// progress written yet.
pub fn tag(p: &Progress) -> u64 {
    let phase = match p.phase {
        Phase::Running => 1,
        Phase::Paused => 2,
        Phase::RolledBack => 3,
        Phase::Aborted => 4,
        Phase::Complete => 5,
    };
    ((p.step as u64) << 8) | phase
}

/// The step (0-based) and phase of a [`tag`]; `None` for 0 or a word no tag makes.
pub fn untag(word: u64) -> Option<(usize, Phase)> {
    let phase = match word & 0xff {
        1 => Phase::Running,
        2 => Phase::Paused,
        3 => Phase::RolledBack,
        4 => Phase::Aborted,
        5 => Phase::Complete,
        _ => return None,
    };
    Some((usize::try_from(word >> 8).ok()?, phase))
}

/// The share at step `step` (0-based) in `phase`: what [`share`] gives for that progress.
pub fn share_at(spec: &RolloutSpec, step: usize, phase: Phase) -> f64 {
    match phase {
        Phase::RolledBack | Phase::Aborted => 0.0,
        _ => spec.steps.get(step).map_or(0.0, |s| s.share),
    }
}

/// When the running step's hold ends (unix ms); `None` unless running with a hold.
pub fn hold_ends_ms(spec: &RolloutSpec, p: &Progress) -> Option<u64> {
    if p.phase != Phase::Running {
        return None;
    }
    let hold = spec.steps.get(p.step)?.hold?;
    Some(
        p.since_ms
            .saturating_add(u64::try_from(hold.as_millis()).unwrap_or(u64::MAX)),
    )
}

/// One look at a running rollout at `now_ms`. `gates`: this evaluation's results (one per
/// gate of the spec, in order) when the gates were evaluated now, else `None`.
///
/// A failed gate acts at once (`rollback` or `hold`). The step advances when its hold has
/// passed and, if the rollout has gates, they were evaluated now and all passed (every earlier
/// evaluation during the hold passed too, or the rollout would no longer be running).
pub fn tick(
    spec: &RolloutSpec,
    p: &Progress,
    now_ms: u64,
    gates: Option<&[GateResult]>,
) -> Transition {
    if p.phase != Phase::Running {
        return Transition::none(p);
    }
    if let Some(failed) = gates.and_then(|g| g.iter().position(|r| !r.passed)) {
        let result = gates.map(|g| &g[failed]);
        let kind = spec.gates.get(failed).map_or("gate", |g| g.kind());
        let reason = format!(
            "gate {} ({kind}) failed: {}",
            failed + 1,
            result.map_or("", |r| r.detail.as_str())
        );
        let (phase, event) = match spec.on_failure {
            super::spec::OnFailure::Rollback => (Phase::RolledBack, Event::Rollback),
            super::spec::OnFailure::Hold => (Phase::Paused, Event::Pause),
        };
        return Transition {
            progress: Progress {
                phase,
                since_ms: now_ms,
                reason: Some(reason),
                ..p.clone()
            },
            events: vec![event],
        };
    }
    let Some(ends) = hold_ends_ms(spec, p) else {
        return Transition::none(p);
    };
    let gates_passed = spec.gates.is_empty() || gates.is_some();
    if now_ms >= ends && gates_passed {
        next_step(spec, p, now_ms, Vec::new())
    } else {
        Transition::none(p)
    }
}

/// To the next step at `now_ms`, completing on the last.
fn next_step(spec: &RolloutSpec, p: &Progress, now_ms: u64, mut events: Vec<Event>) -> Transition {
    let step = (p.step + 1).min(spec.steps.len().saturating_sub(1));
    events.push(Event::Advance);
    let phase = if step + 1 >= spec.steps.len() {
        events.push(Event::Complete);
        Phase::Complete
    } else {
        Phase::Running
    };
    Transition {
        progress: Progress {
            steps: p.steps.clone(),
            step,
            since_ms: now_ms,
            phase,
            reason: None,
        },
        events,
    }
}

/// An operator's command at `now_ms`; refused (nothing changes) where it makes no sense.
pub fn command(
    spec: &RolloutSpec,
    p: &Progress,
    action: Action,
    now_ms: u64,
) -> Result<Transition, Refused> {
    let refused = Err(Refused {
        action,
        phase: p.phase,
    });
    let operator = Some("operator".to_string());
    match (action, p.phase) {
        (Action::Pause, Phase::Running) => Ok(Transition {
            progress: Progress {
                phase: Phase::Paused,
                since_ms: now_ms,
                reason: operator,
                ..p.clone()
            },
            events: vec![Event::Pause],
        }),
        (Action::Resume, Phase::Paused) => Ok(Transition {
            progress: Progress {
                phase: Phase::Running,
                since_ms: now_ms,
                reason: None,
                ..p.clone()
            },
            events: vec![Event::Resume],
        }),
        (Action::Resume, Phase::RolledBack | Phase::Aborted) => {
            let mut progress = start(spec, now_ms);
            progress.steps = p.steps.clone();
            Ok(Transition {
                progress,
                events: vec![Event::Resume],
            })
        }
        (Action::Abort, phase) if phase != Phase::Aborted => Ok(Transition {
            progress: Progress {
                phase: Phase::Aborted,
                since_ms: now_ms,
                reason: operator,
                ..p.clone()
            },
            events: vec![Event::Abort],
        }),
        (Action::Advance, Phase::Running | Phase::Paused) => {
            Ok(next_step(spec, p, now_ms, Vec::new()))
        }
        _ => refused,
    }
}

#[cfg(test)]
mod tests;
