//! Weighted rendezvous hashing on the client's hashing prefix.
//!
//! Every candidate region scores the client subnet with `-ln(u) / weight`, where `u` is a
//! uniform hash of (region seed, subnet) in (0, 1]; the lowest score wins. This gives each
//! region a share of subnets equal to its share of the weights, keeps a subnet on its region
//! while the candidates do not change, and when a candidate leaves only the subnets it had
//! move (to wherever they score next best). Pure and deterministic.

use std::net::IpAddr;

/// Default hashing prefixes (SPEC 4.4).
pub const HASH_PREFIX_V4: u8 = 24;
/// Default IPv6 hashing prefix.
pub const HASH_PREFIX_V6: u8 = 56;

/// The hashing prefix of an address's family (/24 or /56): the longest prefix the weighted
/// pick looks at, so the scope of a weighted answer.
pub fn hash_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv6() {
        HASH_PREFIX_V6
    } else {
        HASH_PREFIX_V4
    }
}

/// A client subnet reduced to what the hash sees: the address masked to the hashing prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubnetKey {
    bits: u128,
    prefix: u8,
    v6: bool,
}

impl SubnetKey {
    /// The hashing subnet of `addr`: /24 (IPv4) or /56 (IPv6), or `source_prefix` if shorter.
    pub fn new(addr: IpAddr, source_prefix: u8) -> Self {
        let (bits, full, v6) = match addr {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32u8, false),
            IpAddr::V6(a) => (u128::from(a), 128u8, true),
        };
        let prefix = hash_prefix(addr).min(source_prefix).min(full);
        let shift = u32::from(full - prefix);
        let masked = if shift >= 128 {
            0
        } else {
            (bits >> shift) << shift
        };
        Self {
            bits: masked,
            prefix,
            v6,
        }
    }

    /// The prefix length hashed.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    fn hash_with(&self, seed: Seed) -> u64 {
        let lo = self.bits as u64;
        let hi = (self.bits >> 64) as u64;
        let tag = u64::from(self.prefix) | (u64::from(self.v6) << 8);
        let mut h = seed.start;
        h = mix(h ^ lo);
        h = mix(h ^ hi);
        mix(h ^ tag)
    }
}

/// A region's seed for the hash, with the hash's first step (which depends on the seed alone)
/// done once, when the configuration is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seed {
    /// `mix(seed ^ golden ratio)`: where the hash of (seed, subnet) starts.
    start: u64,
}

impl Seed {
    /// The seed `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            start: mix(seed ^ 0x9e37_79b9_7f4a_7c15),
        }
    }
}

/// A 64-bit finaliser (splitmix64's): every input bit affects every output bit.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Score of one candidate (lower wins). `weight` must be positive; an infinite weight scores
/// 0, which no finite weight beats (a rollout's 100% step).
///
/// For a fixed subnet the score only falls as the weight grows, while the other candidates'
/// scores stay as they are: raising one region's weight can only add subnets to it.
pub fn score(key: &SubnetKey, seed: Seed, weight: f64) -> f64 {
    // 53 random bits -> u in (0, 1].
    let u = ((key.hash_with(seed) >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    -u.ln() / weight
}

/// Picks one of `candidates` (items with a seed and a weight) for `key`.
///
/// Weight-0 candidates take nothing unless every candidate has weight 0; then all count
/// equally. Ties (practically impossible) go to the earlier candidate. `None` when empty.
pub fn pick<T>(
    candidates: impl Iterator<Item = T> + Clone,
    key: &SubnetKey,
    seed_weight: impl Fn(&T) -> (u64, u32),
) -> Option<T> {
    let all_zero = candidates.clone().all(|c| seed_weight(&c).1 == 0);
    let mut best: Option<(f64, T)> = None;
    for c in candidates {
        let (seed, weight) = seed_weight(&c);
        let weight = if all_zero { 1 } else { weight };
        if weight == 0 {
            continue;
        }
        let s = score(key, Seed::new(seed), f64::from(weight));
        if best.as_ref().is_none_or(|(b, _)| s < *b) {
            best = Some((s, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn subnet_key_masks() {
        let a = SubnetKey::new(IpAddr::V4(Ipv4Addr::new(81, 2, 69, 160)), 32);
        let b = SubnetKey::new(IpAddr::V4(Ipv4Addr::new(81, 2, 69, 1)), 32);
        assert_eq!(a, b);
        assert_eq!(a.prefix(), 24);
        let c = SubnetKey::new(IpAddr::V4(Ipv4Addr::new(81, 2, 0, 0)), 16);
        assert_eq!(c.prefix(), 16);
        let z = SubnetKey::new(IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0)), 0);
        assert_eq!(z.prefix(), 0);
        let v6 = SubnetKey::new("2001:db8:1:2:3::1".parse().unwrap(), 128);
        assert_eq!(v6.prefix(), 56);
        assert_eq!(v6, SubnetKey::new("2001:db8:1:2::".parse().unwrap(), 64));
        assert_ne!(v6, SubnetKey::new("2001:db8:1:300::".parse().unwrap(), 128));
    }

    /// The score as first written: the seed mixed in per call (the reference for [`Seed`]).
    fn score_reference(key: &SubnetKey, seed: u64, weight: f64) -> f64 {
        let lo = key.bits as u64;
        let hi = (key.bits >> 64) as u64;
        let tag = u64::from(key.prefix) | (u64::from(key.v6) << 8);
        let mut h = mix(seed ^ 0x9e37_79b9_7f4a_7c15);
        h = mix(h ^ lo);
        h = mix(h ^ hi);
        h = mix(h ^ tag);
        let u = ((h >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        -u.ln() / weight
    }

    proptest::proptest! {
        #[test]
        fn precomputed_seed_scores_as_before(
            seed in proptest::prelude::any::<u64>(),
            addr in proptest::prelude::any::<u128>(),
            prefix in 0u8..=128,
            v6 in proptest::prelude::any::<bool>(),
            weight in 0.001f64..1e6,
        ) {
            let key = if v6 {
                SubnetKey::new(IpAddr::V6(addr.into()), prefix)
            } else {
                SubnetKey::new(IpAddr::V4((addr as u32).into()), prefix.min(32))
            };
            let a = score(&key, Seed::new(seed), weight);
            let b = score_reference(&key, seed, weight);
            proptest::prop_assert_eq!(a.to_bits(), b.to_bits());
        }
    }

    #[test]
    fn zero_weight_only_when_alone() {
        let key = SubnetKey::new(IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)), 32);
        let cands = [(1u64, 0u32), (2, 10)];
        for i in 0..1000u32 {
            let k = SubnetKey::new(IpAddr::V4(Ipv4Addr::from(i << 8)), 32);
            assert_eq!(pick(cands.iter(), &k, |c| **c).unwrap().0, 2);
        }
        assert_eq!(pick([(1u64, 0u32)].iter(), &key, |c| **c).unwrap().0, 1);
        assert!(pick(std::iter::empty::<&(u64, u32)>(), &key, |c| **c).is_none());
    }
}
