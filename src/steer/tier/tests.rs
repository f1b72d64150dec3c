//! [`super::pick`], which scores regions only where two are compared, against the pick that
//! scores every region (the reference), on random tiers, states, weights and subnets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::{Cap, TierPick, pick};
use crate::config::model::{RegionId, RegionState, ServiceRegion};
use crate::steer::rendezvous::{SubnetKey, score};

/// Every region scored: the reference.
fn pick_reference(
    regions: &[ServiceRegion],
    tier: &[RegionId],
    key: &SubnetKey,
    weight: impl Fn(RegionId) -> f64,
    may_serve: impl Fn(&ServiceRegion) -> bool,
    capped: bool,
) -> TierPick {
    let capped = capped && tier.iter().any(|&i| regions[i].canary);
    let mut owner: Option<(f64, RegionId)> = None;
    let mut best: Option<(f64, RegionId)> = None;
    let mut best_zero: Option<(f64, RegionId)> = None;
    let mut candidates = 0usize;
    let mut weighted = 0usize;
    let mut canary_may_serve = false;
    let lower = |slot: &mut Option<(f64, RegionId)>, s: f64, i: RegionId| {
        if slot.is_none_or(|(b, _)| s < b) {
            *slot = Some((s, i));
        }
    };
    for &i in tier {
        let r = &regions[i];
        let ok = may_serve(r);
        let is_canary = capped && r.canary;
        let w = weight(i);
        if w > 0.0 {
            weighted += 1;
            if !(ok || capped) {
                continue;
            }
            let s = score(key, r.seed, w);
            if capped {
                lower(&mut owner, s, i);
            }
            if ok {
                if is_canary {
                    canary_may_serve = true;
                } else {
                    candidates += 1;
                    lower(&mut best, s, i);
                }
            }
        } else if ok && !is_canary {
            candidates += 1;
            lower(&mut best_zero, score(key, r.seed, 1.0), i);
        }
    }
    let others = best.or(best_zero).map(|(_, i)| i);
    if !capped {
        return TierPick {
            region: others,
            hashed: candidates > 1,
            cap: None,
        };
    }
    match owner {
        Some((_, o)) if regions[o].canary && may_serve(&regions[o]) => TierPick {
            region: Some(o),
            hashed: weighted > 1,
            cap: Some(Cap::Own),
        },
        owner => TierPick {
            region: others,
            hashed: candidates > 1 || (canary_may_serve && weighted > 1),
            cap: match owner {
                Some((_, o)) if regions[o].canary => Some(Cap::Returned),
                _ if canary_may_serve => Some(Cap::NotCanary),
                _ => None,
            },
        },
    }
}

fn region(n: usize, state: RegionState, weight: u32, canary: bool) -> ServiceRegion {
    ServiceRegion {
        name: format!("r{n}"),
        state,
        weight,
        canary,
        endpoints: Vec::new(),
        cname: None,
        cname_slot: None,
        min_up: 0,
        seed: crate::config::compile::region_seed(&format!("r{n}")),
        live_weight: None,
    }
}

/// A region as the strategy draws it: state, configured weight, canary, may serve, and a
/// live weight (0 = none, 1 = 0.0, 2 = infinity, 3 = a fraction).
type Drawn = (u8, u32, bool, bool, u8, f64);

fn drawn() -> impl Strategy<Value = Drawn> {
    (
        0u8..3,
        prop_oneof![Just(0u32), 1u32..4, 1u32..1000],
        any::<bool>(),
        any::<bool>(),
        0u8..4,
        0.001f64..50.0,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn pick_equals_the_reference(
        drawn in proptest::collection::vec(drawn(), 1..7),
        order in proptest::collection::vec(0usize..7, 0..9),
        addr in any::<u128>(),
        prefix in 0u8..=128,
        v6 in any::<bool>(),
        capped in any::<bool>(),
    ) {
        let regions: Vec<ServiceRegion> = drawn
            .iter()
            .enumerate()
            .map(|(n, d)| {
                let state = [RegionState::Active, RegionState::Drain, RegionState::Down][d.0 as usize];
                region(n, state, d.1, d.2)
            })
            .collect();
        // A tier: the drawn order (repeats and all), else every region.
        let mut tier: Vec<RegionId> = order
            .iter()
            .filter(|&&i| i < regions.len())
            .map(|&i| RegionId::from_index(i))
            .collect();
        if tier.is_empty() {
            tier = (0..regions.len()).map(RegionId::from_index).collect();
        }
        let weight = |i: RegionId| {
            let d = &drawn[i.index()];
            match d.4 {
                1 => 0.0,
                2 => f64::INFINITY,
                3 => d.5,
                _ => f64::from(d.1),
            }
        };
        let may_serve = |r: &ServiceRegion| {
            let n: usize = r.name[1..].parse().unwrap();
            drawn[n].3 && r.state != RegionState::Down
        };
        let (ip, prefix) = if v6 {
            (IpAddr::V6(Ipv6Addr::from(addr)), prefix)
        } else {
            (IpAddr::V4(Ipv4Addr::from(addr as u32)), prefix.min(32))
        };
        let key = SubnetKey::new(ip, prefix);
        prop_assert_eq!(
            pick(&regions, &tier, &key, weight, may_serve, capped),
            pick_reference(&regions, &tier, &key, weight, may_serve, capped)
        );
    }
}
