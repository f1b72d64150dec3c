//! `[map.NAME]` tables and inline `geo = {...}` maps: keys and tier strings are parsed once
//! per map, then compiled against each service's regions.

use std::collections::{BTreeMap, HashMap};

use ipnet::IpNet;
use toml::Spanned;

use super::context::{RegionDefaults, ZoneCtx};
use crate::config::model::{GeoMap, MapEntry, MapKey, RegionId, ServiceRegion};
use crate::config::schema::SpannedStr;
use crate::config::tiers::parse_tiers;

/// Every named map of a zone, parsed (not yet compiled for a service).
pub(super) fn parse_maps(
    cx: &mut ZoneCtx<'_, '_>,
    tables: &BTreeMap<String, Spanned<BTreeMap<String, SpannedStr>>>,
    regions: &BTreeMap<String, RegionDefaults>,
) -> HashMap<String, RawMap> {
    tables
        .iter()
        .map(|(name, entry)| {
            (
                name.clone(),
                parse_map(cx, entry.get_ref(), entry.span(), regions),
            )
        })
        .collect()
}

/// One parsed map key with its tiers of region names, before it meets a service.
#[derive(Debug, Clone)]
pub(super) struct RawEntry {
    /// The key, typed.
    key: MapKey,
    /// The key as written, for messages and traces.
    text: String,
    /// Tiers of region names, best first.
    tiers: Vec<Vec<String>>,
    /// Where the value is, for errors found when compiling for a service.
    span: std::ops::Range<usize>,
}

/// A parsed map: its entries in file order.
pub(super) type RawMap = Vec<RawEntry>;

/// The longest client prefix resolvers send in ECS (RFC 7871 11.1 recommends no more than
/// /24 and /56, Unbound's defaults): a `net:` key longer than this is reached only by clients
/// without a resolver in between.
fn ecs_reach(net: &IpNet) -> u8 {
    match net {
        IpNet::V4(_) => 24,
        IpNet::V6(_) => 56,
    }
}

/// Parses one map: every key once into a [`MapKey`], every tier string, and checks that the
/// regions named exist in `[region]`.
pub(super) fn parse_map(
    cx: &mut ZoneCtx<'_, '_>,
    entries: &BTreeMap<String, SpannedStr>,
    span: std::ops::Range<usize>,
    regions: &BTreeMap<String, RegionDefaults>,
) -> RawMap {
    let mut out = Vec::new();
    if !entries.contains_key("default") {
        cx.err(
            span,
            "map has no \"default\" key (every client must match something)",
        );
    }
    for (text, value) in entries {
        let key = match text.parse::<MapKey>() {
            Ok(key) => key,
            Err(e) => {
                cx.err(value.span(), e.to_string());
                continue;
            }
        };
        if let MapKey::Subdivision(_) = key {
            let line = cx.src.line_of(value.span().start);
            cx.subdivision_keys.push((line, text.clone()));
        }
        if let MapKey::Net(net) = key
            && net.prefix_len() > ecs_reach(&net)
        {
            cx.warn(
                value.span(),
                format_args!(
                    "map key {text:?} is longer than /{}: resolvers send at most /24 of an IPv4 \
                     client (/56 of IPv6) in ECS, so only clients that ask directly reach it",
                    ecs_reach(&net)
                ),
            );
        }
        match parse_tiers(value.get_ref()) {
            Ok(tiers) => {
                for name in tiers.iter().flatten() {
                    if !regions.contains_key(name) {
                        let msg =
                            format!("map key {text:?}: region {name:?} is not defined in [region]");
                        cx.err(value.span(), msg);
                    }
                }
                out.push(RawEntry {
                    key,
                    text: text.clone(),
                    tiers,
                    span: value.span(),
                });
            }
            Err(e) => cx.err(value.span(), format!("map key {text:?}: {e}")),
        }
    }
    out
}

/// Compiles a parsed map for one service: region names become the service's region indices
/// (names the service does not define are kept as `missing`). `None` when no `default` entry
/// survives.
pub(super) fn compile_map(
    cx: &mut ZoneCtx<'_, '_>,
    service: &str,
    name: String,
    raw: &RawMap,
    sregions: &[ServiceRegion],
) -> Option<GeoMap> {
    let mut map = GeoMap::new(name);
    let mut has_default = false;
    for entry in raw {
        let mut missing = Vec::new();
        let mut compiled = Vec::new();
        for tier in &entry.tiers {
            let mut ids = Vec::new();
            for region in tier {
                match sregions.iter().position(|r| &r.name == region) {
                    Some(i) => ids.push(RegionId::from_index(i)),
                    None => missing.push(region.clone()),
                }
            }
            if !ids.is_empty() {
                compiled.push(ids);
            }
        }
        if compiled.is_empty() {
            cx.err(
                entry.span.clone(),
                format!(
                    "service {service}: map key {:?} names no region that the service defines",
                    entry.text
                ),
            );
            continue;
        }
        has_default |= entry.key == MapKey::Default;
        map.push(
            &entry.key,
            MapEntry {
                key: entry.text.clone(),
                tiers: compiled,
                missing,
            },
        );
    }
    has_default.then_some(map)
}
