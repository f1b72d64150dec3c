//! The state machine in simulated time, and the "no flip-flop" property of raised shares
//! over the real tier pick.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::config::model::{RegionId, RegionState, ServiceRegion};
use crate::rollout::spec::{Gate, OnFailure, Step, weight_for_share};
use crate::steer::rendezvous::SubnetKey;
use crate::steer::tier;

const MIN: u64 = 60_000;

fn spec(steps: &[&str], gates: Vec<Gate>, on_failure: OnFailure) -> RolloutSpec {
    RolloutSpec {
        region: "eu-canary".into(),
        steps: steps.iter().map(|s| Step::parse(s).unwrap()).collect(),
        gate_interval: Duration::from_secs(30),
        on_failure,
        gates,
    }
}

fn ramp(gates: Vec<Gate>, on_failure: OnFailure) -> RolloutSpec {
    spec(&["1% 10m", "5% 1h", "25% 6h", "100%"], gates, on_failure)
}

fn pass() -> GateResult {
    GateResult {
        passed: true,
        value: Some(0.0),
        detail: "0 <= max 0.01".into(),
    }
}

fn fail() -> GateResult {
    GateResult {
        passed: false,
        value: Some(0.2),
        detail: "0.2 > max 0.01".into(),
    }
}

#[test]
fn a_gateless_ramp_advances_on_time_in_simulated_time() {
    let s = ramp(Vec::new(), OnFailure::Rollback);
    let t0 = 1_000_000;
    let mut p = start(&s, t0);
    assert_eq!((p.step, p.phase, share(&s, &p)), (0, Phase::Running, 0.01));
    // Every simulated second: the step changes exactly when its hold ends.
    let mut seen = Vec::new();
    let mut now = t0;
    while p.phase == Phase::Running {
        now += 1000;
        let t = tick(&s, &p, now, None);
        if !t.events.is_empty() {
            seen.push((now - t0, t.events.clone(), share(&s, &t.progress)));
        }
        p = t.progress;
    }
    assert_eq!(
        seen,
        vec![
            (10 * MIN, vec![Event::Advance], 0.05),
            (70 * MIN, vec![Event::Advance], 0.25),
            (430 * MIN, vec![Event::Advance, Event::Complete], 1.0),
        ]
    );
    assert_eq!(p.phase, Phase::Complete);
    // Complete stays complete.
    assert!(tick(&s, &p, now + 1_000_000, Some(&[])).events.is_empty());
}

#[test]
fn gated_steps_advance_only_on_a_passing_evaluation_after_the_hold() {
    let s = ramp(vec![Gate::Health], OnFailure::Rollback);
    let p = start(&s, 0);
    // The hold has passed, but no evaluation now: wait.
    assert!(tick(&s, &p, 10 * MIN, None).events.is_empty());
    // Before the hold: a passing evaluation changes nothing.
    assert!(tick(&s, &p, 9 * MIN, Some(&[pass()])).events.is_empty());
    let t = tick(&s, &p, 10 * MIN + 30_000, Some(&[pass()]));
    assert_eq!(t.events, vec![Event::Advance]);
    assert_eq!(t.progress.since_ms, 10 * MIN + 30_000);
}

#[test]
fn a_failed_gate_rolls_back_or_holds() {
    let s = ramp(vec![Gate::Health], OnFailure::Rollback);
    let p = start(&s, 0);
    let t = tick(&s, &p, 5 * MIN, Some(&[fail()]));
    assert_eq!(t.events, vec![Event::Rollback]);
    assert_eq!(t.progress.phase, Phase::RolledBack);
    assert_eq!(share(&s, &t.progress), 0.0);
    let reason = t.progress.reason.clone().unwrap();
    assert!(
        reason.contains("gate 1 (health) failed: 0.2 > max 0.01"),
        "{reason}"
    );
    // Rolled back stays rolled back, passing gates or not.
    let later = tick(&s, &t.progress, 100 * MIN, Some(&[pass()]));
    assert!(later.events.is_empty());
    // Until resumed: back to the first step, the hold starting again.
    let r = command(&s, &t.progress, Action::Resume, 101 * MIN).unwrap();
    assert_eq!(r.events, vec![Event::Resume]);
    assert_eq!((r.progress.step, r.progress.phase), (0, Phase::Running));
    assert_eq!(r.progress.since_ms, 101 * MIN);

    let h = ramp(vec![Gate::Health], OnFailure::Hold);
    let p = command(&h, &start(&h, 0), Action::Advance, MIN)
        .unwrap()
        .progress;
    let t = tick(&h, &p, 2 * MIN, Some(&[fail()]));
    assert_eq!(t.events, vec![Event::Pause]);
    assert_eq!(
        (t.progress.phase, share(&h, &t.progress)),
        (Phase::Paused, 0.05)
    );
}

#[test]
fn operator_commands() {
    let s = ramp(Vec::new(), OnFailure::Rollback);
    let p = start(&s, 0);
    let paused = command(&s, &p, Action::Pause, MIN).unwrap().progress;
    assert_eq!(paused.phase, Phase::Paused);
    // A paused rollout does not advance, however long.
    assert!(tick(&s, &paused, 1000 * MIN, None).events.is_empty());
    assert!(command(&s, &paused, Action::Pause, MIN).is_err());
    // Resume: the hold restarts.
    let resumed = command(&s, &paused, Action::Resume, 20 * MIN)
        .unwrap()
        .progress;
    assert_eq!(hold_ends_ms(&s, &resumed), Some(30 * MIN));
    // Advance: the next step now; on the last, complete.
    let a = command(&s, &resumed, Action::Advance, 21 * MIN).unwrap();
    assert_eq!(
        (a.progress.step, a.events.clone()),
        (1, vec![Event::Advance])
    );
    let a = command(&s, &a.progress, Action::Advance, 22 * MIN).unwrap();
    let a = command(&s, &a.progress, Action::Advance, 23 * MIN).unwrap();
    assert_eq!(a.events, vec![Event::Advance, Event::Complete]);
    assert_eq!((a.progress.step, a.progress.phase), (3, Phase::Complete));
    let refused = command(&s, &a.progress, Action::Advance, 24 * MIN).unwrap_err();
    assert!(refused.to_string().contains("complete"), "{refused}");
    // Abort: share 0, even after completing; advance refused until resumed.
    let ab = command(&s, &a.progress, Action::Abort, 25 * MIN)
        .unwrap()
        .progress;
    assert_eq!((ab.phase, share(&s, &ab)), (Phase::Aborted, 0.0));
    let refused = command(&s, &ab, Action::Advance, 26 * MIN).unwrap_err();
    assert!(refused.to_string().contains("resume it first"), "{refused}");
    assert!(command(&s, &ab, Action::Abort, 26 * MIN).is_err());
    let r = command(&s, &ab, Action::Resume, 27 * MIN).unwrap().progress;
    assert_eq!((r.step, r.phase, share(&s, &r)), (0, Phase::Running, 0.01));
}

#[test]
fn saved_progress_resumes_only_with_the_same_steps() {
    let s = ramp(Vec::new(), OnFailure::Rollback);
    let mut p = start(&s, 0);
    p = tick(&s, &p, 10 * MIN, None).progress;
    assert_eq!(p.step, 1);
    // A restart: the same steps resume at the saved step and since.
    let text = serde_json::to_string(&p).unwrap();
    let saved: Progress = serde_json::from_str(&text).unwrap();
    assert_eq!(resume_or_start(&s, Some(&saved), 50 * MIN), p);
    // Changed steps start anew.
    let changed = spec(&["2% 10m", "100%"], Vec::new(), OnFailure::Rollback);
    let fresh = resume_or_start(&changed, Some(&saved), 50 * MIN);
    assert_eq!((fresh.step, fresh.since_ms), (0, 50 * MIN));
    assert_eq!(fresh.steps, "2% 10m, 100%");
    // A one-step rollout is complete at once.
    let one = spec(&["5%"], Vec::new(), OnFailure::Rollback);
    assert_eq!(start(&one, 0).phase, Phase::Complete);
}

fn region(name: &str, canary: bool) -> ServiceRegion {
    ServiceRegion {
        name: name.into(),
        state: RegionState::Active,
        weight: 100,
        canary,
        endpoints: Vec::new(),
        cname: None,
        cname_slot: None,
        min_up: 1,
        seed: crate::config::compile::region_seed(name),
        live_weight: None,
    }
}

/// The region that serves `key` in a tier of eu-west (95), eu-canary at `share` (a canary)
/// and us-east (`third`, when present), everyone up.
fn serving(key: &SubnetKey, share: f64, third: Option<f64>) -> RegionId {
    let mut regions = vec![region("eu-west", false), region("eu-canary", true)];
    let mut others = 95.0;
    if let Some(w) = third {
        regions.push(region("us-east", false));
        others += w;
    }
    let tier: Vec<RegionId> = (0..regions.len()).map(RegionId::from_index).collect();
    let weight = |i: RegionId| match i.index() {
        0 => 95.0,
        1 => weight_for_share(share, others),
        _ => third.unwrap_or(0.0),
    };
    tier::pick(&regions, &tier, key, weight, |_| true, true)
        .region
        .expect("a region serves")
}

fn key_v4(i: u32) -> SubnetKey {
    SubnetKey::new(IpAddr::V4(Ipv4Addr::from(i << 8)), 24)
}

/// SPEC 4.2 "no flip-flop", over 100k /24s and every pair of steps of a 1-5-25-50-100 ramp:
/// every subnet on the canary at one step is on it at every later step, and each step gives
/// the canary its share (within 1 point).
#[test]
fn raised_shares_only_add_subnets_over_100k_subnets() {
    let steps = [0.01, 0.05, 0.25, 0.5, 1.0];
    let canary = RegionId::from_index(1);
    let on: Vec<Vec<bool>> = steps
        .iter()
        .map(|&s| {
            (0..100_000u32)
                .map(|i| serving(&key_v4(i), s, None) == canary)
                .collect()
        })
        .collect();
    for (i, lower) in on.iter().enumerate() {
        let count = lower.iter().filter(|&&b| b).count() as f64 / 100_000.0;
        assert!((count - steps[i]).abs() < 0.01, "step {i}: {count}");
        for (j, higher) in on.iter().enumerate().skip(i + 1) {
            let lost = lower
                .iter()
                .zip(higher)
                .filter(|(a, b)| **a && !**b)
                .count();
            assert_eq!(lost, 0, "step {i} -> {j}: {lost} subnets left the canary");
        }
    }
}

proptest! {
    /// The same for any two shares, any third region's weight, IPv4 and IPv6 subnets.
    #[test]
    fn a_raised_share_never_takes_a_subnet_off_the_canary(
        a in 0.0f64..=1.0,
        b in 0.0f64..=1.0,
        third in proptest::option::of(1.0f64..500.0),
        bits in any::<u128>(),
        v6 in any::<bool>(),
    ) {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let key = if v6 {
            SubnetKey::new(IpAddr::V6(Ipv6Addr::from(bits)), 56)
        } else {
            SubnetKey::new(IpAddr::V4(Ipv4Addr::from(bits as u32)), 24)
        };
        let canary = RegionId::from_index(1);
        if serving(&key, low, third) == canary {
            prop_assert_eq!(serving(&key, high, third), canary);
        }
    }
}
