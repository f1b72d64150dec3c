//! The per-endpoint rise/fall state machine (SPEC §4). Pure: no clock, no I/O.
//!
//! The runner feeds one probe result at a time into [`EndpointHealth::observe`] and acts only on
//! the returned [`Flip`] (log, count, persist), so logs and metrics see changes, not every probe.

use serde::{Deserialize, Serialize};

/// Health of one endpoint as the answer path sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The endpoint may be answered.
    Up,
    /// The endpoint failed `fall` consecutive probes and is not answered.
    Down,
}

impl Status {
    /// The lowercase word used in logs, metrics and the state file: `up` or `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change of [`Status`] reported by [`EndpointHealth::observe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flip {
    /// Status before the observation.
    pub from: Status,
    /// Status after the observation.
    pub to: Status,
}

/// Rise/fall state of one endpoint.
///
/// ```text
///                 pass (streak := 0)                      fail (streak := 0)
///                 ┌──────┐                                ┌──────┐
///                 │      ▼                                │      ▼
///              ┌──────────────┐  fail, streak+1 == fall ┌──────────────┐
///   start ───► │      Up      │ ──────────────────────► │     Down     │
///  (or saved)  │ streak=fails │ ◄────────────────────── │ streak=passes│
///              └──────────────┘  pass, streak+1 == rise └──────────────┘
///                 │      ▲                                │      ▲
///                 └──────┘                                └──────┘
///          fail, streak+1 < fall                   pass, streak+1 < rise
///               (streak += 1)                           (streak += 1)
/// ```
///
/// `streak` counts consecutive results that disagree with the current status; a result that
/// agrees resets it. So with `fall = 3` an up endpoint goes down on the third failure in a row,
/// and pass-fail-fail-pass-fail-fail-fail goes down only on the last failure. A `rise` or `fall`
/// of 0 is treated as 1 (config validation should reject it; the machine never gets stuck).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndpointHealth {
    status: Status,
    streak: u32,
}

impl Default for EndpointHealth {
    /// A new endpoint starts up (SPEC §4).
    fn default() -> Self {
        Self::new(Status::Up)
    }
}

impl EndpointHealth {
    /// A machine in `status` with no pending streak (start, or restored from the state file).
    pub fn new(status: Status) -> Self {
        Self { status, streak: 0 }
    }

    /// Current status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Consecutive results seen so far that disagree with the current status.
    pub fn streak(&self) -> u32 {
        self.streak
    }

    /// Feed one probe result. Returns the flip, if any, so callers log and count only changes.
    pub fn observe(&mut self, passed: bool, rise: u32, fall: u32) -> Option<Flip> {
        let (needed, to) = match (self.status, passed) {
            (Status::Up, true) | (Status::Down, false) => {
                self.streak = 0;
                return None;
            }
            (Status::Up, false) => (fall.max(1), Status::Down),
            (Status::Down, true) => (rise.max(1), Status::Up),
        };
        self.streak = self.streak.saturating_add(1);
        if self.streak < needed {
            return None;
        }
        let from = self.status;
        self.status = to;
        self.streak = 0;
        Some(Flip { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(h: &mut EndpointHealth, results: &[bool], rise: u32, fall: u32) -> Vec<Option<Flip>> {
        results.iter().map(|&r| h.observe(r, rise, fall)).collect()
    }

    const DOWN: Option<Flip> = Some(Flip {
        from: Status::Up,
        to: Status::Down,
    });
    const UP: Option<Flip> = Some(Flip {
        from: Status::Down,
        to: Status::Up,
    });

    #[test]
    fn starts_up() {
        assert_eq!(EndpointHealth::default().status(), Status::Up);
    }

    #[test]
    fn falls_after_fall_consecutive_failures() {
        let mut h = EndpointHealth::default();
        let got = feed(&mut h, &[false, false, false], 2, 3);
        assert_eq!(got, vec![None, None, DOWN]);
        assert_eq!(h.status(), Status::Down);
    }

    #[test]
    fn rises_after_rise_consecutive_passes() {
        let mut h = EndpointHealth::new(Status::Down);
        let got = feed(&mut h, &[true, true], 2, 3);
        assert_eq!(got, vec![None, UP]);
        assert_eq!(h.status(), Status::Up);
    }

    #[test]
    fn interrupted_streak_resets() {
        let mut h = EndpointHealth::default();
        let got = feed(&mut h, &[false, false, true, false, false, false], 2, 3);
        assert_eq!(got, vec![None, None, None, None, None, DOWN]);

        let got = feed(&mut h, &[true, false, true, true], 2, 3);
        assert_eq!(got, vec![None, None, None, UP]);
    }

    #[test]
    fn agreeing_results_never_flip() {
        let mut h = EndpointHealth::default();
        assert!(feed(&mut h, &[true; 10], 1, 1).iter().all(Option::is_none));
        let mut h = EndpointHealth::new(Status::Down);
        assert!(feed(&mut h, &[false; 10], 1, 1).iter().all(Option::is_none));
    }

    #[test]
    fn rise_and_fall_of_one_flip_at_once() {
        let mut h = EndpointHealth::default();
        assert_eq!(
            feed(&mut h, &[false, true, false], 1, 1),
            vec![DOWN, UP, DOWN]
        );
    }

    #[test]
    fn zero_thresholds_act_as_one() {
        let mut h = EndpointHealth::default();
        assert_eq!(feed(&mut h, &[false, true], 0, 0), vec![DOWN, UP]);
    }

    #[test]
    fn streak_is_reported_and_reset_on_flip() {
        let mut h = EndpointHealth::default();
        h.observe(false, 2, 3);
        h.observe(false, 2, 3);
        assert_eq!(h.streak(), 2);
        h.observe(false, 2, 3);
        assert_eq!(h.streak(), 0);
        assert_eq!(h.status(), Status::Down);
    }
}
