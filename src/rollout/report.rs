//! What `GET /v1/rollouts` answers and `steerdns rollout` prints: one [`RolloutStatus`] per
//! rollout, plain data shared by the daemon and the command line.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::engine::Phase;
use super::spec::{OnFailure, round_percent};

/// `GET /v1/rollouts`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RolloutList {
    /// The serving generation.
    pub generation: u64,
    /// Every rollout, by zone then service.
    pub rollouts: Vec<RolloutStatus>,
}

/// One rollout, as it is now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RolloutStatus {
    /// Zone, without the final dot.
    pub zone: String,
    /// Service key.
    pub service: String,
    /// The canary region it ramps.
    pub region: String,
    /// The current step, 1-based.
    pub step: usize,
    /// Every step as configured (`"5% 1h"`).
    pub steps: Vec<String>,
    /// The canary's share of its tier now, 0..1 (0 when rolled back or aborted).
    pub share: f64,
    /// The weight that gives that share against the rest of its tier; `None` when it takes
    /// the whole tier (100%).
    pub weight: Option<f64>,
    /// Running, paused, rolled back, aborted or complete.
    pub phase: Phase,
    /// Why it is paused, rolled back or aborted.
    pub reason: Option<String>,
    /// When the step or the phase began, RFC 3339.
    pub since: String,
    /// The same, unix milliseconds.
    pub since_unix_ms: u64,
    /// Seconds until the step's hold has passed (running with a hold only); the step then
    /// advances at the next passing gate evaluation.
    pub next_step_in_s: Option<f64>,
    /// How often the gates are evaluated, seconds.
    pub gate_interval_s: f64,
    /// What a failed gate does.
    pub on_failure: OnFailure,
    /// Each gate with its last result.
    pub gates: Vec<GateStatus>,
}

/// One gate and its last evaluation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GateStatus {
    /// `health` or `prometheus`.
    pub kind: String,
    /// The PromQL query (prometheus gates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The largest passing value (prometheus gates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Whether the last evaluation passed; `None` before the first.
    pub passed: Option<bool>,
    /// The last value (the query's; for `health`, the endpoints down).
    pub value: Option<f64>,
    /// What was seen.
    pub detail: Option<String>,
    /// When it was last evaluated, RFC 3339.
    pub at: Option<String>,
}

impl RolloutStatus {
    /// `zone/service`, the name the API and the command line use.
    pub fn key(&self) -> String {
        format!("{}/{}", self.zone, self.service)
    }

    /// A few lines for a person.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let step = self
            .steps
            .get(self.step.saturating_sub(1))
            .map_or("-", String::as_str);
        let _ = writeln!(
            s,
            "{} region {}: {} at step {}/{} ({step}), share {}% of its tier",
            self.key(),
            self.region,
            self.phase.as_str().replace('_', " "),
            self.step,
            self.steps.len(),
            round_percent(self.share),
        );
        let _ = writeln!(s, "  steps: {}", self.steps.join(", "));
        let mut since = format!("  since {}", self.since);
        if let Some(n) = self.next_step_in_s {
            let _ = write!(since, "; next step in {}s", n.ceil());
        }
        if let Some(r) = &self.reason {
            let _ = write!(since, "; why: {r}");
        }
        let _ = writeln!(s, "{since}");
        let _ = writeln!(
            s,
            "  gates every {}s, on failure {}",
            self.gate_interval_s,
            self.on_failure.as_str()
        );
        for (i, g) in self.gates.iter().enumerate() {
            let result = match g.passed {
                None => "not evaluated yet".to_string(),
                Some(p) => format!(
                    "{}{}{}",
                    if p { "pass" } else { "FAIL" },
                    g.detail
                        .as_deref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default(),
                    g.at.as_deref()
                        .map(|a| format!(" ({a})"))
                        .unwrap_or_default()
                ),
            };
            let what = match (&g.query, g.max) {
                (Some(q), Some(m)) => format!("{} {q} <= {m}", g.kind),
                _ => g.kind.clone(),
            };
            let _ = writeln!(s, "  gate {}: {what}: {result}", i + 1);
        }
        s
    }
}
