//! The steering decision (SPEC section 4): pure, synchronous, deterministic.
//!
//! ```text
//! client address ──► geo match (net > subdivision > country > continent > default)
//!                        │ tiers of regions
//!                        ▼
//!   tier walk: first tier with an active, healthy region ─► weighted rendezvous pick
//!              (a canary keeps exactly its own subnets: [`tier`], rule 4a)
//!        else: drained healthy regions, in tier order (canary cap too)
//!        else: fail open: first tier's regions that are not down, health ignored
//!        else: the service's fallback addresses
//!        else: NODATA
//! ```
//!
//! [`steer`] takes everything that varies as a parameter (health table, client, GeoIP facts),
//! so the same inputs always give the same [`Decision`]. Endpoint rotation is applied when the
//! answer is written ([`endpoints`]), from a counter the caller supplies.

pub mod geo;
pub mod rendezvous;
pub mod table;
pub mod tier;
pub mod trace;

use std::net::IpAddr;

use ipnet::IpNet;

use crate::config::model::{GeoMap, MapEntryId, RegionId, RegionState, Service, ServiceRegion};
use crate::error::ClientAddrError;
use crate::health::{HealthTable, Status};
pub use geo::{GeoFacts, GeoLookup, GeoPartition};
use rendezvous::SubnetKey;
pub use tier::Cap;

/// Where the client address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientSource {
    /// The query's EDNS Client Subnet option.
    Ecs,
    /// The query's source address (the resolver).
    Resolver,
}

/// The address a decision is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    /// Address (masked to the ECS source prefix when it came from ECS).
    pub addr: IpAddr,
    /// ECS source prefix, or the full address length for a resolver address.
    pub source_prefix: u8,
    /// ECS or resolver.
    pub source: ClientSource,
}

impl ClientAddr {
    /// A resolver's own address (full length).
    pub fn resolver(addr: IpAddr) -> Self {
        let source_prefix = if addr.is_ipv4() { 32 } else { 128 };
        Self {
            addr,
            source_prefix,
            source: ClientSource::Resolver,
        }
    }
}

/// `81.2.69.160` is a resolver's address; `81.2.69.0/24` is a subnet as an ECS option would
/// carry it (host bits cleared). The inverse of `FromStr`.
impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.source {
            ClientSource::Ecs => write!(f, "{}/{}", self.addr, self.source_prefix),
            ClientSource::Resolver => write!(f, "{}", self.addr),
        }
    }
}

/// Parses `--client` and `/v1/explain?client=`: an address (a resolver's own), or
/// address/prefix as an ECS option would carry it (the host bits are cleared).
impl std::str::FromStr for ClientAddr {
    type Err = ClientAddrError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Ok(addr) = text.parse::<IpAddr>() {
            return Ok(Self::resolver(addr));
        }
        let net: IpNet = text
            .parse()
            .map_err(|_| ClientAddrError(text.to_string()))?;
        Ok(Self {
            addr: net.network(),
            source_prefix: net.prefix_len(),
            source: ClientSource::Ecs,
        })
    }
}

/// The map entry for a client and the ECS scope before hashing: the prefix around the client
/// in which every address matches the same entry with the same scope. From [`map_hit`] per
/// query, or from the map's compiled table ([`table::lookup`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapHit {
    /// The matched entry.
    pub entry: MapEntryId,
    /// Scope prefix from the map and GeoIP networks alone ([`steer_hit`] applies the
    /// hashing prefix when weights split the tier).
    pub scope: u8,
}

/// Why a region (or no region) was chosen. The label of `steerdns_steered_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The first tier of the matched map had an active, healthy region.
    Geo,
    /// A later tier, because no region of an earlier one was active and healthy.
    Failover,
    /// No active region could serve; a draining one that is healthy does.
    Drain,
    /// Nothing healthy anywhere: the first tier's regions that are not down, health ignored.
    FailOpen,
    /// Nothing could serve: the service's fallback addresses.
    Fallback,
    /// Nothing could serve and there is no fallback: NODATA.
    NoData,
}

impl Reason {
    /// Metric and log label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Geo => "geo",
            Self::Failover => "failover",
            Self::Drain => "drain",
            Self::FailOpen => "failopen",
            Self::Fallback => "fallback",
            Self::NoData => "nodata",
        }
    }
}

/// The outcome of [`steer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The matched entry of the service's map.
    pub map_entry: MapEntryId,
    /// The chosen region of the service; `None` for fallback and NODATA.
    pub region: Option<RegionId>,
    /// The tier the region came from.
    pub tier: Option<usize>,
    /// Why.
    pub reason: Reason,
    /// ECS scope prefix: how far around the client the same answer holds (SPEC 4.6).
    pub scope: u8,
    /// Whether the weighted pick had more than one candidate, or the canary cap decided by
    /// the subnet (the answer varies by subnet).
    pub hashed: bool,
    /// The first tier where the canary cap (rule 4a) mattered, and what it did.
    pub cap: Option<(usize, Cap)>,
}

impl Decision {
    /// Whether endpoints are answered without regard to health.
    pub fn ignores_health(&self) -> bool {
        self.reason == Reason::FailOpen
    }
}

/// Whether a region counts as healthy: at least `min_up` of its endpoints are up (endpoints
/// without a check are always up). A CNAME region is healthy unless its check target is down.
pub fn region_healthy(region: &ServiceRegion, health: &HealthTable) -> bool {
    if region.cname.is_some() {
        return region
            .cname_slot
            .is_none_or(|s| health.get(s) == Status::Up);
    }
    let up = region
        .endpoints
        .iter()
        .filter(|e| e.slot.is_none_or(|s| health.get(s) == Status::Up))
        .count();
    up >= region.min_up as usize
}

/// The most specific map entry for a client: net > subdivision > country > continent >
/// default.
pub fn match_map(map: &GeoMap, addr: IpAddr, geo: Option<&GeoFacts>) -> MapEntryId {
    match map.nets.iter().find(|(net, _)| net.contains(&addr)) {
        Some((_, idx)) => *idx,
        None => match_geo(map, geo),
    }
}

/// The most specific map entry for GeoIP facts alone, leaving `net:` keys out: subdivision >
/// country > continent > default. What [`match_map`] answers for an address no `net:` key
/// holds.
pub fn match_geo(map: &GeoMap, geo: Option<&GeoFacts>) -> MapEntryId {
    if let Some(geo) = geo {
        // The database lists subdivisions largest first (GB-ENG, then GB-LND): the most
        // specific key that matches wins, so look from the end.
        for sub in geo.subdivisions.iter().rev() {
            if let Some((_, idx)) = map.subdivisions.iter().find(|(s, _)| s == sub) {
                return *idx;
            }
        }
        if let Some(c) = geo.country
            && let Some((_, idx)) = map.countries.iter().find(|(k, _)| *k == c)
        {
            return *idx;
        }
        if let Some(c) = geo.continent
            && let Some((_, idx)) = map.continents.iter().find(|(k, _)| *k == c)
        {
            return *idx;
        }
    }
    map.default
}

/// The map entry and the scope before hashing, computed per query from the GeoIP facts and
/// the map's keys: the straightforward path, which the compiled [`table`] answers in one
/// lookup (and which stays the reference it is tested against).
pub fn map_hit(map: &GeoMap, client: &ClientAddr, geo: Option<&GeoFacts>) -> MapHit {
    let entry = match_map(map, client.addr, geo);
    MapHit {
        entry,
        scope: scope_prefix(map, entry, client, geo, None),
    }
}

/// Decides which region serves `client` for `service` (SPEC 4.2 - 4.4, 4.6), with the map
/// matched per query from GeoIP facts ([`map_hit`]); the answer path gets the same
/// [`MapHit`] from the compiled [`table`] and calls [`steer_hit`].
pub fn steer(
    service: &Service,
    health: &HealthTable,
    client: &ClientAddr,
    geo: Option<&GeoFacts>,
) -> Decision {
    steer_hit(service, health, client, map_hit(&service.map, client, geo))
}

/// Decides which region serves `client` for `service` given its map entry and scope.
pub fn steer_hit(
    service: &Service,
    health: &HealthTable,
    client: &ClientAddr,
    hit: MapHit,
) -> Decision {
    let map_entry = hit.entry;
    let tiers = &service.map.entries[map_entry].tiers;
    let key = SubnetKey::new(client.addr, client.source_prefix);
    let regions = &service.regions;
    // A rollout canary's weight is its live one (compiled on a step, read from the table).
    let weight = |i: RegionId| service.weight(i, health);
    // Whether the outcome of any tier looked at depends on the subnet (the ECS scope).
    let mut hashed = false;
    let mut cap = None;
    let mut chosen: Option<(RegionId, usize, Reason)> = None;
    // 1. Active and healthy, tier by tier; 2. draining but healthy, tier by tier. Both with
    // the canary cap (rule 4a).
    'walk: for state in [RegionState::Active, RegionState::Drain] {
        let ok = |r: &ServiceRegion| r.state == state && region_healthy(r, health);
        for (t, tier) in tiers.iter().enumerate() {
            let p = tier::pick(regions, tier, &key, weight, ok, true);
            hashed |= p.hashed;
            if p.cap.is_some() && cap.is_none() {
                cap = p.cap.map(|c| (t, c));
            }
            if let Some(region) = p.region {
                let reason = match (state, t) {
                    (RegionState::Active, 0) => Reason::Geo,
                    (RegionState::Active, _) => Reason::Failover,
                    _ => Reason::Drain,
                };
                chosen = Some((region, t, reason));
                break 'walk;
            }
        }
    }
    // 3. Fail open: the first tier, anything not down, health ignored, no cap.
    if chosen.is_none()
        && let Some(first) = tiers.first()
    {
        let ok = |r: &ServiceRegion| r.state != RegionState::Down;
        let p = tier::pick(regions, first, &key, weight, ok, false);
        if let Some(region) = p.region {
            hashed |= p.hashed;
            chosen = Some((region, 0, Reason::FailOpen));
        }
    }
    let (region, tier, reason) = match chosen {
        Some((r, t, reason)) => (Some(r), Some(t), reason),
        None if !service.fallback.is_empty() => (None, None, Reason::Fallback),
        None => (None, None, Reason::NoData),
    };
    let scope = if hashed {
        hit.scope.max(rendezvous::hash_prefix(client.addr))
    } else {
        hit.scope
    };
    Decision {
        map_entry,
        region,
        tier,
        reason,
        scope,
        hashed,
        cap,
    }
}

/// ECS scope (SPEC 4.6): the shortest prefix around the client in which every address gets the
/// same answer. Starts from the prefix that decided the map key (the matched `net:` key, else
/// the GeoIP network when the map has geo keys, else 0), lengthens it past any more specific
/// `net:` key that would otherwise fall inside, then to the hashing prefix (/24, /56) when
/// weights split the tier.
///
/// The scope may be longer than the ECS source prefix (RFC 7871 7.2.1): when a narrower
/// prefix inside the source decides differently, the longer scope tells the resolver that
/// this answer is not valid for the whole source prefix (it then serves it only to queries
/// with the same source prefix, 7.3.1). An ECS of 1.208.0.0/16 around `net:1.208.77.0/24`
/// gets /18, not /16, so no resolver serves it to the clients of that /24.
pub fn scope_prefix(
    map: &GeoMap,
    entry: MapEntryId,
    client: &ClientAddr,
    geo: Option<&GeoFacts>,
    hash_prefix: Option<u8>,
) -> u8 {
    let matched_net = map
        .nets
        .iter()
        .find(|(_, idx)| *idx == entry)
        .map(|(n, _)| *n);
    let matched_net = matched_net.filter(|n| n.contains(&client.addr));
    let mut scope = match matched_net {
        Some(net) => net.prefix_len(),
        None if map.uses_geo() => geo
            .and_then(|g| g.network)
            .filter(|n| n.contains(&client.addr))
            .map_or(0, |n| n.prefix_len()),
        None => 0,
    };
    let base = scope;
    for (net, _) in &map.nets {
        if net.prefix_len() <= base || net.contains(&client.addr) {
            continue;
        }
        if let Some(common) = common_prefix(client.addr, net.network())
            && common >= base
        {
            scope = scope.max(common + 1);
        }
    }
    if let Some(h) = hash_prefix {
        scope = scope.max(h);
    }
    scope
}

/// Leading bits two addresses share (`None` across families).
fn common_prefix(a: IpAddr, b: IpAddr) -> Option<u8> {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            Some((u32::from(a) ^ u32::from(b)).leading_zeros().min(32) as u8)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            Some((u128::from(a) ^ u128::from(b)).leading_zeros().min(128) as u8)
        }
        _ => None,
    }
}

/// What to answer for a decision and query type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind<'s> {
    /// Addresses (iterate with [`endpoints`]).
    Addresses,
    /// The region's CNAME.
    Cname(&'s crate::dns::name::Name),
    /// Nothing of this type: NODATA.
    NoData,
}

/// The kind of answer for a decision.
pub fn answer_kind<'s>(service: &'s Service, decision: &Decision) -> AnswerKind<'s> {
    match decision.region {
        Some(r) => match &service.regions[r].cname {
            Some(c) => AnswerKind::Cname(c),
            None => AnswerKind::Addresses,
        },
        None if decision.reason == Reason::Fallback => AnswerKind::Addresses,
        None => AnswerKind::NoData,
    }
}

/// The addresses to answer (SPEC 4.5): up to `max_answers` endpoints of the chosen region of
/// the asked family, healthy ones only (all when failing open), rotated by `rotation`; or the
/// fallback addresses.
#[inline]
pub fn endpoints<'s>(
    service: &'s Service,
    decision: &Decision,
    health: &'s HealthTable,
    want_v6: bool,
    rotation: u32,
) -> Endpoints<'s> {
    let (list, fallback): (&'s [crate::config::model::Endpoint], &'s [IpAddr]) =
        match decision.region {
            Some(r) => (&service.regions[r].endpoints, &[]),
            None if decision.reason == Reason::Fallback => (&[], &service.fallback),
            None => (&[], &[]),
        };
    let mut e = Endpoints {
        list,
        fallback,
        health,
        want_v6,
        ignore_health: decision.ignores_health(),
        next: 0,
        skip: 0,
        left: 0,
    };
    let count = list.iter().filter(|ep| e.endpoint_usable(ep)).count()
        + fallback.iter().filter(|a| a.is_ipv6() == want_v6).count();
    if count > 0 {
        e.skip = rotation as usize % count;
        e.left = count.min(service.max_answers);
    }
    e
}

/// The iterator [`endpoints`] returns: the usable addresses (of the asked family, and healthy
/// unless failing open) of the region's endpoints then the fallback, from the `rotation %
/// count`-th around to the one before it, at most `max_answers`. One pass to count them, one
/// to answer; no allocation.
#[derive(Debug, Clone)]
pub struct Endpoints<'s> {
    list: &'s [crate::config::model::Endpoint],
    fallback: &'s [IpAddr],
    health: &'s HealthTable,
    want_v6: bool,
    ignore_health: bool,
    /// Next position in `list` then `fallback`.
    next: usize,
    /// Usable addresses still to pass over before the first answered (the rotation).
    skip: usize,
    /// Addresses still to answer.
    left: usize,
}

impl Endpoints<'_> {
    fn len(&self) -> usize {
        self.list.len() + self.fallback.len()
    }

    /// Whether an endpoint of the region is answered.
    #[inline]
    fn endpoint_usable(&self, e: &crate::config::model::Endpoint) -> bool {
        e.addr.is_ipv6() == self.want_v6
            && (self.ignore_health || e.slot.is_none_or(|s| self.health.get(s) == Status::Up))
    }

    /// The address at position `i` of `list` then `fallback`, if it is answered.
    #[inline]
    fn usable(&self, i: usize) -> Option<IpAddr> {
        match self.list.get(i) {
            Some(e) => self.endpoint_usable(e).then_some(e.addr),
            None => {
                let a = self.fallback[i - self.list.len()];
                (a.is_ipv6() == self.want_v6).then_some(a)
            }
        }
    }
}

impl Iterator for Endpoints<'_> {
    type Item = IpAddr;

    #[inline]
    fn next(&mut self) -> Option<IpAddr> {
        if self.left == 0 {
            return None;
        }
        let len = self.len();
        // At most twice round: past the rotation, then the answer (fewer when health changed
        // since the count).
        for _ in 0..2 * len {
            let i = self.next;
            self.next = if i + 1 == len { 0 } else { i + 1 };
            if let Some(a) = self.usable(i) {
                if self.skip > 0 {
                    self.skip -= 1;
                    continue;
                }
                self.left -= 1;
                return Some(a);
            }
        }
        self.left = 0;
        None
    }
}

#[cfg(test)]
mod tests;
