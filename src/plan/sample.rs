//! Which client subnets a plan looks at: random /24s (IPv4) and /56s (IPv6) drawn from the
//! GeoIP database's networks, per map key. Pure: the database's networks and the random seed
//! are passed in, so the same inputs always draw the same subnets.
//!
//! ```text
//!  GeoIP networks (with their facts) ──► Frame (sorted, per family; whole address space
//!                                         with no facts when there is no database)
//!  map keys + Frame ──► per key and family: the networks whose facts match it (net: keys:
//!                       their own prefix) ──► up to n subnets drawn in proportion to size,
//!                       kept when the whole map (net: keys included) still matches the key
//!                       ──► KeySample { subnets, population, exact }
//! ```
//!
//! A key with no more subnets than `n` is enumerated whole (`exact`), so small keys have no
//! sampling error at all.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::config::model::{GeoMap, MapEntryId};
use crate::steer::rendezvous::{HASH_PREFIX_V4, HASH_PREFIX_V6};
use crate::steer::{ClientAddr, ClientSource, GeoFacts, match_geo, match_map};

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4, hashed per /24.
    Ipv4,
    /// IPv6, hashed per /56.
    Ipv6,
}

impl Family {
    /// Both, IPv4 first.
    pub const BOTH: [Self; 2] = [Self::Ipv4, Self::Ipv6];

    /// The hashing prefix: one subnet of the plan.
    pub fn unit(self) -> u8 {
        match self {
            Self::Ipv4 => HASH_PREFIX_V4,
            Self::Ipv6 => HASH_PREFIX_V6,
        }
    }

    /// Address bits.
    fn bits(self) -> u8 {
        match self {
            Self::Ipv4 => 32,
            Self::Ipv6 => 128,
        }
    }

    /// `IPv4` / `IPv6`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ipv4 => "IPv4",
            Self::Ipv6 => "IPv6",
        }
    }

    fn of(net: &IpNet) -> Self {
        match net {
            IpNet::V4(_) => Self::Ipv4,
            IpNet::V6(_) => Self::Ipv6,
        }
    }

    fn addr(self, bits: u128) -> IpAddr {
        match self {
            Self::Ipv4 => IpAddr::V4(Ipv4Addr::from(bits as u32)),
            Self::Ipv6 => IpAddr::V6(Ipv6Addr::from(bits)),
        }
    }
}

fn bits_of(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// A run of addresses with the same facts: adjacent networks of one country are one range.
#[derive(Debug, Clone, Copy)]
struct Range {
    /// First address, as bits.
    first: u128,
    /// Last address, as bits (inclusive).
    last: u128,
    /// Index of the facts.
    facts: u32,
}

impl Range {
    /// A network as a range.
    fn of(net: &IpNet, facts: u32) -> Self {
        Self {
            first: bits_of(net.network()),
            last: bits_of(net.broadcast()),
            facts,
        }
    }

    /// The subnets (hashing units) it touches: first unit, count.
    fn units(&self, family: Family) -> (u128, u128) {
        let host = u32::from(family.bits() - family.unit());
        let (a, b) = (self.first >> host, self.last >> host);
        (a, b - a + 1)
    }
}

/// The address space subnets are drawn from, per family: sorted ranges with their GeoIP
/// facts (adjacent networks with the same facts merged, so a million networks of a country
/// database become far fewer ranges).
#[derive(Debug, Clone, Default)]
pub struct Frame {
    v4: Vec<Range>,
    v6: Vec<Range>,
    facts: Vec<GeoFacts>,
    /// Where the networks came from, for the plan's text.
    pub source: String,
}

impl Frame {
    /// A frame over a GeoIP database's networks (as [`crate::steer::GeoLookup::networks`]
    /// lists them). With none: the whole unicast space with no facts (`0.0.0.0/0`,
    /// `2000::/3`), so maps without geo keys can still be estimated.
    pub fn new(networks: Vec<(IpNet, GeoFacts)>, source: &str) -> Self {
        let mut frame = Self {
            source: source.to_string(),
            ..Self::default()
        };
        if networks.is_empty() {
            frame.source = "the whole address space (no GeoIP database)".into();
            frame.facts.push(GeoFacts::default());
            frame
                .v4
                .push(Range::of(&"0.0.0.0/0".parse().unwrap_or_default(), 0));
            if let Ok(net) = "2000::/3".parse::<IpNet>() {
                frame.v6.push(Range::of(&net, 0));
            }
            return frame;
        }
        let mut index: std::collections::HashMap<FactsKey, u32> = std::collections::HashMap::new();
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (net, mut facts) in networks {
            let key = FactsKey::of(&facts);
            let id = *index.entry(key).or_insert_with(|| {
                // The network is per range (facts_at sets it); the facts are shared.
                facts.network = None;
                frame.facts.push(facts);
                (frame.facts.len() - 1) as u32
            });
            match Family::of(&net) {
                Family::Ipv4 => v4.push(Range::of(&net, id)),
                Family::Ipv6 => v6.push(Range::of(&net, id)),
            }
        }
        frame.v4 = merge(v4);
        frame.v6 = merge(v6);
        frame
    }

    fn ranges(&self, family: Family) -> &[Range] {
        match family {
            Family::Ipv4 => &self.v4,
            Family::Ipv6 => &self.v6,
        }
    }

    /// Ranges of addresses with the same facts, per family (for the size of a frame).
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Whether the frame has no range at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The facts of `addr` from this frame, with the range holding it as their network
    /// (rounded out to a prefix); empty facts when no range holds it. A pure lookup: no cache
    /// of the serving database is touched.
    pub fn facts_at(&self, addr: IpAddr) -> GeoFacts {
        let family = if addr.is_ipv4() {
            Family::Ipv4
        } else {
            Family::Ipv6
        };
        let bits = bits_of(addr);
        let ranges = self.ranges(family);
        let i = ranges.partition_point(|r| r.first <= bits);
        match i.checked_sub(1).map(|i| ranges[i]) {
            Some(r) if bits <= r.last => {
                let mut facts = self.facts[r.facts as usize].clone();
                let common = (r.first ^ r.last).leading_zeros() as u8;
                let prefix = common.saturating_sub(128 - family.bits());
                facts.network = IpNet::new(family.addr(bits), prefix)
                    .ok()
                    .map(|n| n.trunc());
                facts
            }
            _ => GeoFacts::default(),
        }
    }
}

/// Sorts ranges and merges neighbours with the same facts.
fn merge(mut ranges: Vec<Range>) -> Vec<Range> {
    ranges.sort_by_key(|r| r.first);
    let mut out: Vec<Range> = Vec::with_capacity(ranges.len() / 4);
    for r in ranges {
        match out.last_mut() {
            Some(prev) if prev.facts == r.facts && prev.last.checked_add(1) == Some(r.first) => {
                prev.last = r.last;
            }
            _ => out.push(r),
        }
    }
    out.shrink_to_fit();
    out
}

/// Facts without the network, as a hash key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FactsKey(Option<[u8; 2]>, Option<[u8; 2]>, Vec<String>);

impl FactsKey {
    fn of(f: &GeoFacts) -> Self {
        Self(f.country, f.continent, f.subdivisions.clone())
    }
}

/// Subnets of one family that a map sends to one key.
#[derive(Debug, Clone)]
pub struct KeySample {
    /// The entry of the map the subnets match.
    pub entry: MapEntryId,
    /// The family.
    pub family: Family,
    /// The subnets drawn (ECS-style client addresses at the hashing prefix).
    pub subnets: Vec<ClientAddr>,
    /// How many subnets the key has in all (estimated unless `exact`).
    pub population: f64,
    /// Every subnet of the key is in `subnets`.
    pub exact: bool,
}

/// A small deterministic generator (splitmix64): the plan's randomness, seeded by the caller.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[0, n)` for `n >= 1`.
    fn below(&mut self, n: u128) -> u128 {
        let wide = (u128::from(self.next()) << 64) | u128::from(self.next());
        wide % n.max(1)
    }
}

/// Where one key's subnets come from: ranges whose subnets all or mostly belong to the key,
/// as (first unit, units).
#[derive(Default)]
struct Pool {
    ranges: Vec<(u128, u128)>,
    total: f64,
}

impl Pool {
    fn add(&mut self, first_unit: u128, units: u128) {
        self.ranges.push((first_unit, units));
        self.total += units as f64;
    }
}

/// The subnets of every key of `map`, per family: at most `n` per key and family, drawn with
/// `rng` in proportion to the ranges' sizes; each kept only if the whole map (its `net:`
/// keys included) sends it to that key. Keys with no subnet in a family are left out.
pub fn sample_map(map: &GeoMap, frame: &Frame, n: usize, rng: &mut Rng) -> Vec<KeySample> {
    let mut out = Vec::new();
    for family in Family::BOTH {
        let mut pools: Vec<Pool> = (0..map.entries.len()).map(|_| Pool::default()).collect();
        for r in frame.ranges(family) {
            let entry = match_geo(map, Some(&frame.facts[r.facts as usize]));
            let (first, units) = r.units(family);
            pools[entry.index()].add(first, units);
        }
        for (net, entry) in &map.nets {
            if Family::of(net) == family {
                let (first, units) = Range::of(net, 0).units(family);
                pools[entry.index()].add(first, units);
            }
        }
        for (i, pool) in pools.iter().enumerate() {
            if pool.total <= 0.0 {
                continue;
            }
            let entry = MapEntryId::from_index(i);
            let sample = draw(map, frame, entry, family, pool, n, rng);
            if !sample.subnets.is_empty() {
                out.push(sample);
            }
        }
    }
    out
}

/// The subnet of hashing unit `unit` (its index in the family's address space), ECS-style.
fn subnet(family: Family, unit: u128) -> ClientAddr {
    let host = u32::from(family.bits() - family.unit());
    ClientAddr {
        addr: family.addr(unit << host),
        source_prefix: family.unit(),
        source: ClientSource::Ecs,
    }
}

fn draw(
    map: &GeoMap,
    frame: &Frame,
    entry: MapEntryId,
    family: Family,
    pool: &Pool,
    n: usize,
    rng: &mut Rng,
) -> KeySample {
    let belongs = |c: &ClientAddr| {
        let facts = frame.facts_at(c.addr);
        match_map(map, c.addr, Some(&facts)) == entry
    };
    let mut subnets = Vec::new();
    if pool.total <= n as f64 {
        // Few enough to take every one.
        let mut units: Vec<u128> = pool
            .ranges
            .iter()
            .flat_map(|&(first, count)| (0..count).map(move |k| first + k))
            .collect();
        units.sort_unstable();
        units.dedup();
        subnets.extend(units.into_iter().map(|u| subnet(family, u)).filter(belongs));
        return KeySample {
            entry,
            family,
            population: subnets.len() as f64,
            subnets,
            exact: true,
        };
    }
    // Cumulative sizes for picking a range in proportion to its size.
    let mut cumulative = Vec::with_capacity(pool.ranges.len());
    let mut sum = 0.0;
    for &(_, units) in &pool.ranges {
        sum += units as f64;
        cumulative.push(sum);
    }
    let mut tries = 0usize;
    while subnets.len() < n && tries < n * 20 {
        tries += 1;
        let x = rng.unit() * sum;
        let i = cumulative
            .partition_point(|c| *c <= x)
            .min(pool.ranges.len() - 1);
        let (first, units) = pool.ranges[i];
        let c = subnet(family, first + rng.below(units));
        if belongs(&c) {
            subnets.push(c);
        }
    }
    let kept = subnets.len() as f64 / tries.max(1) as f64;
    KeySample {
        entry,
        family,
        population: pool.total * kept,
        subnets,
        exact: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{MapEntry, MapKey};

    fn map(keys: &[&str]) -> GeoMap {
        let mut m = GeoMap::new("t".into());
        for k in keys {
            m.push(
                &k.parse::<MapKey>().unwrap(),
                MapEntry {
                    key: k.to_string(),
                    tiers: vec![],
                    missing: vec![],
                },
            );
        }
        m
    }

    fn facts(country: &str, continent: &str) -> GeoFacts {
        let b = |s: &str| [s.as_bytes()[0], s.as_bytes()[1]];
        GeoFacts {
            country: Some(b(country)),
            continent: Some(b(continent)),
            ..GeoFacts::default()
        }
    }

    fn frame() -> Frame {
        Frame::new(
            vec![
                ("81.0.0.0/8".parse().unwrap(), facts("GB", "EU")),
                ("82.0.0.0/16".parse().unwrap(), facts("DE", "EU")),
                ("8.0.0.0/8".parse().unwrap(), facts("US", "NA")),
                ("2001:db8::/32".parse().unwrap(), facts("DE", "EU")),
            ],
            "test",
        )
    }

    #[test]
    fn facts_at_finds_the_network() {
        let f = frame();
        let g = f.facts_at("82.0.7.1".parse().unwrap());
        assert_eq!(g.country, Some(*b"DE"));
        assert_eq!(g.network, Some("82.0.0.0/16".parse().unwrap()));
        assert_eq!(f.facts_at("83.0.0.1".parse().unwrap()), GeoFacts::default());
        let g = f.facts_at("2001:db8:1::".parse().unwrap());
        assert_eq!(g.country, Some(*b"DE"));
    }

    #[test]
    fn keys_get_their_subnets_exact_when_small() {
        let m = map(&["default", "continent:EU", "country:DE", "net:81.1.0.0/16"]);
        let samples = sample_map(&m, &frame(), 1000, &mut Rng::new(7));
        let find = |key: &str, fam: Family| {
            samples
                .iter()
                .find(|s| m.entries[s.entry].key == key && s.family == fam)
        };
        // country:DE: 82.0.0.0/16 = 256 /24s, every one; 2001:db8::/32 = 2^24 /56s, sampled.
        let de = find("country:DE", Family::Ipv4).unwrap();
        assert!(de.exact);
        assert_eq!(de.subnets.len(), 256);
        assert_eq!(de.subnets[0].addr, "82.0.0.0".parse::<IpAddr>().unwrap());
        assert_eq!(de.subnets[0].source_prefix, 24);
        let de6 = find("country:DE", Family::Ipv6).unwrap();
        assert!(!de6.exact);
        assert_eq!(de6.subnets.len(), 1000);
        assert!((de6.population - 2f64.powi(24)).abs() < 1.0);
        assert!(de6.subnets.iter().all(|c| c.source_prefix == 56));
        // net:81.1.0.0/16: its 256 /24s; continent:EU: 81/8 without that /16, sampled.
        let net = find("net:81.1.0.0/16", Family::Ipv4).unwrap();
        assert_eq!((net.exact, net.subnets.len()), (true, 256));
        let eu = find("continent:EU", Family::Ipv4).unwrap();
        assert!(!eu.exact);
        assert!(
            eu.subnets
                .iter()
                .all(|c| !"81.1.0.0/16".parse::<IpNet>().unwrap().contains(&c.addr))
        );
        let want = 65536.0 - 256.0;
        assert!(
            (eu.population - want).abs() / want < 0.02,
            "{}",
            eu.population
        );
        // default: 8/8 (US) only; nothing in IPv6.
        assert!(find("default", Family::Ipv4).is_some());
        assert!(find("default", Family::Ipv6).is_none());
        // The same seed draws the same subnets.
        let again = sample_map(&m, &frame(), 1000, &mut Rng::new(7));
        assert_eq!(
            again.iter().map(|s| s.subnets.clone()).collect::<Vec<_>>(),
            samples
                .iter()
                .map(|s| s.subnets.clone())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn without_a_database_the_whole_space() {
        let m = map(&["default", "net:10.0.0.0/8"]);
        let f = Frame::new(vec![], "none");
        let samples = sample_map(&m, &f, 500, &mut Rng::new(1));
        let default = samples
            .iter()
            .find(|s| s.entry == m.default && s.family == Family::Ipv4)
            .unwrap();
        assert!((default.population - (16_777_216.0 - 65_536.0)).abs() / 16_777_216.0 < 0.01);
        assert!(samples.iter().any(|s| s.family == Family::Ipv6));
    }
}
