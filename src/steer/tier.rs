//! One tier of the tier walk: which region of the tier serves a client subnet, with the canary
//! cap (SPEC 4, rule 4a). Pure; one pass over the tier's regions.
//!
//! Without canaries this is weighted rendezvous hashing among the regions that may serve in
//! this pass (the candidates): the lowest score `-ln(u) / weight` wins, weight-0 candidates
//! only when every candidate has weight 0.
//!
//! With a canary in the tier, the subnet's *owner* is decided first: the rendezvous winner
//! among every region of the tier with weight > 0, whatever its state or health. So the
//! canary's subnets are fixed by the configured weights alone, and who is up cannot hand it
//! more:
//!
//! ```text
//!   owner = rendezvous winner among the tier's regions with weight > 0
//!   owner is a canary that may serve ─► the canary                          (Cap::Own)
//!   owner is a canary that may not   ─► the other candidates, as usual      (Cap::Returned)
//!   owner is not a canary            ─► the non-canary candidates; none ─► next tier
//!                                                                            (Cap::NotCanary)
//! ```
//!
//! A subnet that is not a canary's keeps its region while that region may serve (it won
//! among all weighted regions, so it also wins among the fewer candidates), which is why the
//! cap changes nothing while the whole tier is up. Fail open does not use the cap.

use super::rendezvous::{SubnetKey, score};
use crate::config::model::{RegionId, ServiceRegion};

/// What the canary cap did in a tier, for `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// The subnet is the canary's own, and the canary serves it.
    Own,
    /// The subnet is a canary's, but the canary may not serve: the rest of the tier does.
    Returned,
    /// The subnet is not a canary's, so a canary that could serve did not take it.
    NotCanary,
}

/// The outcome of one tier for one subnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierPick {
    /// The region that serves (an index into the service's regions), if any may.
    pub region: Option<RegionId>,
    /// Whether other subnets could get another outcome here (so the ECS scope must be at
    /// least the hashing prefix).
    pub hashed: bool,
    /// What the canary cap did, when the tier has a canary.
    pub cap: Option<Cap>,
}

/// Picks the region of `tier` that serves `key` among those for which `may_serve` holds,
/// with region `i`'s weight `weight(i)`. `capped`: apply the canary cap (every pass but fail
/// open).
pub fn pick(
    regions: &[ServiceRegion],
    tier: &[RegionId],
    key: &SubnetKey,
    weight: impl Fn(RegionId) -> f64,
    may_serve: impl Fn(&ServiceRegion) -> bool,
    capped: bool,
) -> TierPick {
    // Scores only decide between two regions: a tier of one (the usual last resort) hashes
    // nothing. `tests` compares this with scoring every region.
    if tier.len() > 1 {
        pick_in::<true>(regions, tier, key, weight, may_serve, capped)
    } else {
        pick_in::<false>(regions, tier, key, weight, may_serve, capped)
    }
}

/// [`pick`]; `COMPARE`: compute scores (with one region there is nothing to compare).
#[inline(always)]
fn pick_in<const COMPARE: bool>(
    regions: &[ServiceRegion],
    tier: &[RegionId],
    key: &SubnetKey,
    weight: impl Fn(RegionId) -> f64,
    may_serve: impl Fn(&ServiceRegion) -> bool,
    capped: bool,
) -> TierPick {
    let capped = capped && tier.iter().any(|&i| regions[i].canary);
    // Lowest score among the tier's weighted regions (the owner; only with a canary), and
    // whether it may serve.
    let mut owner: Option<(f64, RegionId)> = None;
    let mut owner_may_serve = false;
    // Lowest score among weighted candidates that are not canaries (all, without the cap).
    let mut best: Option<(f64, RegionId)> = None;
    // Lowest score among weight-0 candidates, all counted as weight 1.
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
            let s = if COMPARE { score(key, r.seed, w) } else { 0.0 };
            if capped && owner.is_none_or(|(b, _)| s < b) {
                owner = Some((s, i));
                owner_may_serve = ok;
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
            let s = if COMPARE {
                score(key, r.seed, 1.0)
            } else {
                0.0
            };
            lower(&mut best_zero, s, i);
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
        Some((_, o)) if regions[o].canary && owner_may_serve => TierPick {
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

#[cfg(test)]
mod tests;
