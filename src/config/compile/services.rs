//! `[region.NAME]` and `[service.NAME]` tables: regions, then each service with its regions,
//! endpoints, checks (one health slot per checked endpoint) and compiled map.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use toml::Spanned;

use super::context::{RegionDefaults, ZoneCtx, ttl_or};
use super::maps::{RawMap, compile_map, parse_map};
use super::records::Nodes;
use crate::config::defaults;
use crate::config::model::{
    CheckKind, CheckParams, CheckedEndpoint, Endpoint, GeoMap, RegionState, Service, ServiceId,
    ServiceRegion, zone_label,
};
use crate::config::schema::{RegionEntry, ServiceEntry};
use crate::config::tiers::parse_tiers;
use crate::dns::codes::rtype;
use crate::dns::rdata;
use crate::health::view::SlotId;

/// Every `[region.NAME]` with its state and canary flag.
pub(super) fn compile_regions(
    cx: &mut ZoneCtx<'_, '_>,
    tables: &BTreeMap<String, Spanned<RegionEntry>>,
) -> BTreeMap<String, RegionDefaults> {
    let mut regions: BTreeMap<String, RegionDefaults> = BTreeMap::new();
    for (name, entry) in tables {
        if parse_tiers(name)
            .map(|t| t.len() != 1 || t[0].len() != 1)
            .unwrap_or(true)
        {
            cx.err(
                entry.span(),
                format!("region name {name:?} may hold only letters, digits, - _ ."),
            );
        }
        let entry = entry.get_ref();
        regions.insert(
            name.clone(),
            RegionDefaults {
                state: entry.state.unwrap_or(RegionState::Active),
                canary: entry.canary.unwrap_or(false),
            },
        );
    }
    regions
}

/// What a zone's services are compiled against.
pub(super) struct ServiceInputs<'a> {
    /// `[region.NAME]` states and canary flags.
    pub(super) regions: &'a BTreeMap<String, RegionDefaults>,
    /// `[check.NAME]` parameters.
    pub(super) checks: &'a HashMap<String, CheckParams>,
    /// Parsed named maps.
    pub(super) maps: &'a HashMap<String, RawMap>,
}

/// Every `[service.NAME]`: adds each service to its owner's node in `nodes` and each checked
/// endpoint to `checks_out` (its slot is its index there).
pub(super) fn compile_services(
    cx: &mut ZoneCtx<'_, '_>,
    tables: &BTreeMap<String, Spanned<ServiceEntry>>,
    inputs: &ServiceInputs<'_>,
    nodes: &mut Nodes,
    checks_out: &mut Vec<CheckedEndpoint>,
) -> Vec<Service> {
    let ServiceInputs {
        regions,
        checks,
        maps,
    } = *inputs;
    let zone_label = zone_label(&cx.origin);
    let mut compiled_maps: HashMap<(String, Vec<String>), Arc<GeoMap>> = HashMap::new();
    let mut services = Vec::with_capacity(tables.len());
    for (key, entry) in tables {
        let span = entry.span();
        let svc = entry.get_ref();
        let key_spanned = Spanned::new(span.clone(), key.clone());
        let Some(owner) = cx.owner(&key_spanned) else {
            continue;
        };
        if let Some(cut) = super::cuts::cut_of(nodes, &cx.origin, &owner) {
            let msg = format!(
                "service {key}: {owner} is at or below the zone cut at {cut} (delegated by its \
                 NS records), so it would never be answered"
            );
            cx.err(span.clone(), msg);
        }
        let raw_map = match (&svc.map, &svc.geo) {
            (Some(m), None) => match maps.get(m.get_ref()) {
                Some(parsed) => Some((m.get_ref().clone(), parsed.clone())),
                None => {
                    cx.err(
                        m.span(),
                        format!("service {key}: map {:?} is not defined", m.get_ref()),
                    );
                    None
                }
            },
            (None, Some(g)) => Some((
                "inline".to_string(),
                parse_map(cx, g.get_ref(), g.span(), regions),
            )),
            (Some(_), Some(_)) => {
                cx.err(
                    span.clone(),
                    format!("service {key}: give either map or geo, not both"),
                );
                None
            }
            (None, None) => {
                cx.err(
                    span.clone(),
                    format!("service {key}: needs map = \"NAME\" or geo = {{...}}"),
                );
                None
            }
        };
        let min_up_default = svc
            .min_up
            .as_ref()
            .map_or(defaults::MIN_UP, |m| *m.get_ref());
        let service_check = svc.check.as_ref();
        // Exact sizes: with 10k services, growth slack alone was about 3 MB.
        let mut sregions = Vec::with_capacity(svc.region.len());
        for (rname, rentry) in &svc.region {
            let rspan = rentry.span();
            let r = rentry.get_ref();
            let Some(&region_defaults) = regions.get(rname) else {
                cx.err(
                    rspan,
                    format!("service {key}: region {rname:?} is not defined in [region]"),
                );
                continue;
            };
            let check_ref = r.check.as_ref().or(service_check);
            let check = match check_ref {
                None => None,
                Some(c) => match checks.get(c.get_ref()) {
                    Some(p) => Some(p.clone()),
                    None => {
                        cx.err(c.span(), format!("check {:?} is not defined", c.get_ref()));
                        None
                    }
                },
            }
            .filter(|c| c.kind != CheckKind::None);
            let mut endpoints = Vec::with_capacity(r.endpoints.as_ref().map_or(0, |l| l.len()));
            let mut cname_target = None;
            match (&r.endpoints, &r.cname) {
                (Some(list), None) => {
                    if list.is_empty() {
                        cx.err(
                            rspan.clone(),
                            format!("service {key} region {rname}: endpoints is empty"),
                        );
                    }
                    for e in list {
                        match IpAddr::from_str(e.get_ref().trim()) {
                            Ok(addr) => endpoints.push(Endpoint { addr, slot: None }),
                            Err(_) => cx.err(
                                e.span(),
                                format!("endpoint {:?} is not an IP address", e.get_ref()),
                            ),
                        }
                    }
                }
                (None, Some(c)) => cname_target = cx.absolute_name(c, "cname"),
                (Some(_), Some(_)) => cx.err(
                    rspan.clone(),
                    format!("service {key} region {rname}: give endpoints or cname, not both"),
                ),
                (None, None) => cx.err(
                    rspan.clone(),
                    format!("service {key} region {rname}: needs endpoints = [...] or cname"),
                ),
            }
            let min_up = r.min_up.as_ref().map_or(min_up_default, |m| *m.get_ref());
            let mut cname_slot = None;
            if let Some(check) = &check {
                let mut register = |addr: IpAddr| {
                    let slot = SlotId(checks_out.len() as u32);
                    checks_out.push(CheckedEndpoint {
                        zone: zone_label.clone(),
                        service: key.clone(),
                        region: rname.clone(),
                        addr,
                        check: check.clone(),
                        slot,
                    });
                    slot
                };
                for ep in &mut endpoints {
                    ep.slot = Some(register(ep.addr));
                }
                if cname_target.is_some()
                    && let Some(t) = &r.target
                {
                    match IpAddr::from_str(t.get_ref()) {
                        Ok(addr) => cname_slot = Some(register(addr)),
                        Err(_) => cx.err(
                            t.span(),
                            format!("target {:?} is not an IP address", t.get_ref()),
                        ),
                    }
                }
            }
            if !endpoints.is_empty() && min_up as usize > endpoints.len() {
                cx.err(
                    rspan.clone(),
                    format!(
                        "service {key} region {rname}: min_up {min_up} is more than its {} endpoints",
                        endpoints.len()
                    ),
                );
            }
            sregions.push(ServiceRegion {
                name: rname.clone(),
                state: r.state.unwrap_or(region_defaults.state),
                weight: r.weight.unwrap_or(defaults::WEIGHT),
                canary: r.canary.unwrap_or(region_defaults.canary),
                endpoints,
                cname: cname_target,
                cname_slot,
                min_up: min_up.max(1),
                seed: region_seed(rname),
                live_weight: None,
            });
        }
        let mut fallback = Vec::new();
        for f in svc.fallback.iter().flatten() {
            match IpAddr::from_str(f.get_ref().trim()) {
                Ok(a) => fallback.push(a),
                Err(_) => cx.err(
                    f.span(),
                    format!("fallback {:?} is not an IP address", f.get_ref()),
                ),
            }
        }
        let max_answers = svc
            .max_answers
            .as_ref()
            .map_or(defaults::MAX_ANSWERS, |m| *m.get_ref());
        if let Some(m) = svc.max_answers.as_ref().filter(|m| *m.get_ref() == 0) {
            cx.err(m.span(), "max_answers must be at least 1");
        }
        let Some((map_name, raw)) = raw_map else {
            continue;
        };
        // Services with the same named map and the same regions share one compiled map
        // (10k services on one map cost one copy, not 10k).
        let region_names: Vec<String> = sregions.iter().map(|r| r.name.clone()).collect();
        let shared_key = (map_name != "inline").then(|| (map_name.clone(), region_names));
        let cached = shared_key
            .as_ref()
            .and_then(|k| compiled_maps.get(k))
            .cloned();
        let map = match cached {
            Some(map) => map,
            None => {
                let Some(map) = compile_map(cx, key, map_name, &raw, &sregions) else {
                    continue;
                };
                let map = Arc::new(map);
                if let Some(k) = shared_key {
                    compiled_maps.insert(k, map.clone());
                }
                map
            }
        };
        let rollout = svc
            .rollout
            .as_ref()
            .and_then(|r| super::rollouts::compile_rollout(cx, key, r, &sregions, &map));
        // A service owns A, AAAA and CNAME at its name.
        let node = nodes.entry(owner.clone()).or_default();
        for t in [rtype::A, rtype::AAAA, rtype::CNAME] {
            if node.rrset(t).is_some() {
                cx.err(
                    span.clone(),
                    format!(
                        "{owner} is a service and also has static {} records",
                        rdata::type_name(t)
                    ),
                );
            }
        }
        // A CNAME region makes the name a CNAME owner for its clients, and a CNAME owner has
        // no other data (RFC 1034 3.6.2, RFC 2181 10.1): the apex's SOA and NS, a TXT...
        if let Some(region) = sregions.iter().find(|r| r.cname.is_some()) {
            let mut others: Vec<String> = node
                .rrsets
                .iter()
                .filter(|set| ![rtype::A, rtype::AAAA, rtype::CNAME].contains(&set.rtype))
                .map(|set| rdata::type_name(set.rtype))
                .collect();
            if owner == cx.origin {
                others.insert(0, "SOA".into());
            }
            if !others.is_empty() {
                cx.err(
                    span.clone(),
                    format!(
                        "service {key}: region {} answers a CNAME, so {owner} cannot also have \
                         {} records (a CNAME owner has no other data, RFC 2181 10.1)",
                        region.name,
                        others.join(", ")
                    ),
                );
            }
        }
        node.service = Some(ServiceId::from_index(services.len()));
        services.push(Service {
            key: key.clone(),
            owner,
            ttl: ttl_or(
                cx.src,
                svc.ttl.as_ref(),
                "ttl",
                defaults::SERVICE_TTL,
                cx.errors,
            ),
            max_answers: max_answers.max(1) as usize,
            fallback,
            regions: sregions,
            map,
            rollout,
        });
    }
    services
}

/// Stable 64-bit seed of a region name (FNV-1a), so hashing survives reloads and reordering.
pub fn region_seed(name: &str) -> crate::steer::rendezvous::Seed {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    crate::steer::rendezvous::Seed::new(h)
}
