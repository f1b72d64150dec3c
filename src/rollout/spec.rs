//! What a `[service.X.rollout]` says (SPEC 4.2), parsed and checked: the steps (a share of
//! the canary's tier and how long it holds), the gates and what a failed gate does. Plain
//! data: the config compiler builds it, the engine ([`super::engine`]) and the poller read it.

use std::fmt;
use std::time::Duration;

use crate::config::duration::parse_duration;

/// One step of a ramp: the canary's share of the subnets of its tier, and how long it holds
/// before the next (none on the last step).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// 0 < share <= 1.
    pub share: f64,
    /// How long the step holds; `None` on the last step.
    pub hold: Option<Duration>,
}

impl Step {
    /// Parses `"5% 1h"` or `"100%"`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut words = text.split_whitespace();
        let (Some(share), hold, None) = (words.next(), words.next(), words.next()) else {
            return Err(format!(
                "step {text:?}: write a share and a hold, e.g. \"5% 1h\" (the last step: \"100%\")"
            ));
        };
        let Some(number) = share.strip_suffix('%') else {
            return Err(format!("step {text:?}: the share must end in % (\"5%\")"));
        };
        let percent: f64 = number
            .parse()
            .map_err(|_| format!("step {text:?}: {share:?} is not a percentage"))?;
        if !(percent > 0.0 && percent <= 100.0) {
            return Err(format!(
                "step {text:?}: the share must be more than 0% and at most 100%"
            ));
        }
        let hold = match hold {
            None => None,
            Some(h) => {
                let d = parse_duration(h).map_err(|e| format!("step {text:?}: {e}"))?;
                if d.is_zero() {
                    return Err(format!("step {text:?}: the hold must be longer than 0"));
                }
                Some(d)
            }
        };
        Ok(Self {
            share: percent / 100.0,
            hold,
        })
    }
}

/// `"5% 1h"`, `"100%"`: the form [`Step::parse`] reads.
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", round_percent(self.share))?;
        if let Some(h) = self.hold {
            write!(f, " {}", crate::config::duration::format_duration(h))?;
        }
        Ok(())
    }
}

/// A share as a percentage with at most 4 decimals (`0.05` -> `5`).
pub fn round_percent(share: f64) -> f64 {
    (share * 100.0 * 10_000.0).round() / 10_000.0
}

/// What a failed gate does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// The share goes to 0 at once, until the steps change or the operator resumes.
    Rollback,
    /// The rollout pauses at its step.
    Hold,
}

impl OnFailure {
    /// Config and JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rollback => "rollback",
            Self::Hold => "hold",
        }
    }
}

/// A condition that must hold during a step's hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    /// Every endpoint of the canary region is up.
    Health,
    /// A PromQL instant query whose value must stay at most `max`.
    Prometheus {
        /// The Prometheus server (`http://host:port`, no path).
        url: String,
        /// The PromQL expression.
        query: String,
        /// The largest passing value.
        max: f64,
    },
}

impl Gate {
    /// `health` or `prometheus`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Health => "health",
            Self::Prometheus { .. } => "prometheus",
        }
    }
}

/// One `[service.X.rollout]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutSpec {
    /// The canary region it ramps (a region of the service with `canary = true`).
    pub region: String,
    /// At least one step, shares rising, every step but the last with a hold.
    pub steps: Vec<Step>,
    /// How often the gates are evaluated.
    pub gate_interval: Duration,
    /// What a failed gate does.
    pub on_failure: OnFailure,
    /// The gates, all of which must pass.
    pub gates: Vec<Gate>,
}

impl RolloutSpec {
    /// The steps as one string (`"1% 10m, 5% 1h, 100%"`): saved progress belongs to the
    /// rollout whose steps read the same, so changing the steps starts the rollout anew.
    pub fn steps_text(&self) -> String {
        let parts: Vec<String> = self.steps.iter().map(ToString::to_string).collect();
        parts.join(", ")
    }
}

/// Checks a list of steps: at least one, shares rising, a hold on every step but the last,
/// none on the last. Each problem names the step (1-based).
pub fn check_steps(steps: &[Step]) -> Result<(), String> {
    let Some(last) = steps.last() else {
        return Err("steps is empty: give at least one step, e.g. [\"5% 1h\", \"100%\"]".into());
    };
    for (i, pair) in steps.windows(2).enumerate() {
        if pair[1].share <= pair[0].share {
            return Err(format!(
                "step {} ({}) does not raise the share of step {} ({}): shares must rise",
                i + 2,
                pair[1],
                i + 1,
                pair[0]
            ));
        }
    }
    for (i, s) in steps[..steps.len() - 1].iter().enumerate() {
        if s.hold.is_none() {
            return Err(format!(
                "step {} ({s}) has no hold: every step but the last needs one (\"5% 1h\")",
                i + 1
            ));
        }
    }
    if last.hold.is_some() {
        return Err(format!(
            "the last step ({last}) takes no hold: reaching it completes the rollout"
        ));
    }
    Ok(())
}

/// The weight that gives a region `share` of the subnets of a tier whose other weighted
/// regions weigh `others` in all (weighted rendezvous: a region's share is its weight over
/// the sum). 0 for no share, infinite for the whole tier (its score 0 beats every other).
pub fn weight_for_share(share: f64, others: f64) -> f64 {
    if share.is_nan() || share <= 0.0 {
        0.0
    } else if share >= 1.0 {
        f64::INFINITY
    } else if others <= 0.0 {
        // Alone in its tier: any weight gives it everything.
        1.0
    } else {
        share * others / (1.0 - share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_and_print() {
        let s = Step::parse("5% 1h").unwrap();
        assert_eq!(s.share, 0.05);
        assert_eq!(s.hold, Some(Duration::from_secs(3600)));
        assert_eq!(s.to_string(), "5% 1h");
        let last = Step::parse(" 100% ").unwrap();
        assert_eq!((last.share, last.hold), (1.0, None));
        assert_eq!(Step::parse("0.5% 90s").unwrap().to_string(), "0.5% 1m30s");
        for bad in [
            "", "5", "5% 1h x", "0% 1h", "101%", "x% 1h", "5% 0s", "5% soon",
        ] {
            assert!(Step::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn step_lists_are_checked() {
        let p = |v: &[&str]| {
            v.iter()
                .map(|s| Step::parse(s).unwrap())
                .collect::<Vec<_>>()
        };
        assert!(check_steps(&p(&["1% 10m", "5% 1h", "100%"])).is_ok());
        assert!(check_steps(&p(&["5%"])).is_ok());
        assert!(check_steps(&[]).unwrap_err().contains("empty"));
        assert!(
            check_steps(&p(&["5% 1m", "5% 1m", "100%"]))
                .unwrap_err()
                .contains("rise")
        );
        assert!(
            check_steps(&p(&["5%", "100%"]))
                .unwrap_err()
                .contains("no hold")
        );
        assert!(
            check_steps(&p(&["5% 1m", "100% 1m"]))
                .unwrap_err()
                .contains("last step")
        );
    }

    #[test]
    fn weights_give_the_share() {
        // 5% against eu-west's 95: weight 5.
        assert!((weight_for_share(0.05, 95.0) - 5.0).abs() < 1e-9);
        assert!((weight_for_share(0.25, 300.0) - 100.0).abs() < 1e-9);
        assert_eq!(weight_for_share(0.0, 95.0), 0.0);
        assert_eq!(weight_for_share(1.0, 95.0), f64::INFINITY);
        assert_eq!(weight_for_share(0.3, 0.0), 1.0);
    }
}
