//! One zone file (SPEC section 3) into a [`Zone`]: origin and SOA here, each other table in
//! its own module, then the empty non-terminals.

use std::path::Path;

use super::checks::compile_checks;
use super::context::{MAX_TTL, ZoneCtx, ttl_or};
use super::dnssec::compile_dnssec;
use super::maps::parse_maps;
use super::records::compile_records;
use super::services::{ServiceInputs, compile_regions, compile_services};
use crate::config::defaults;
use crate::config::model::{CheckedEndpoint, Node, Soa, Zone};
use crate::config::schema::{Serial, ZoneFile};
use crate::config::source::Source;
use crate::dns::name::Name;
use crate::dns::rdata::Rdata;
use crate::error::ConfigError;

/// Compiles one zone file; `None` when it has errors (all recorded in `errors`). Checked
/// endpoints are appended to `checks_out`, warnings to `warnings`. `base` is the main config's
/// folder (key paths are relative to it).
pub(super) fn compile_zone(
    src: &Source<'_>,
    base: &Path,
    file: ZoneFile,
    now_unix: u64,
    checks_out: &mut Vec<CheckedEndpoint>,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigError>,
) -> Option<Zone> {
    let before = errors.len();
    let origin = match Name::parse_absolute(file.origin.get_ref()) {
        Ok(n) => n,
        Err(e) => {
            errors.push(src.error(file.origin.span(), format!("bad origin: {e}")));
            return None;
        }
    };
    if !file.origin.get_ref().ends_with('.') {
        errors.push(src.error(
            file.origin.span(),
            format!(
                "origin {:?} must be absolute (end with a dot)",
                file.origin.get_ref()
            ),
        ));
    }
    let mut cx = ZoneCtx {
        src,
        origin: origin.clone(),
        errors,
        warnings,
        subdivision_keys: Vec::new(),
    };
    let zone_ttl = ttl_or(src, file.ttl.as_ref(), "ttl", defaults::ZONE_TTL, cx.errors);
    let soa = compile_soa(&mut cx, file.soa.into_inner(), zone_ttl, now_unix);
    let mut nodes = compile_records(&mut cx, &file.record, zone_ttl);
    let regions = compile_regions(&mut cx, &file.region);
    let checks = compile_checks(&mut cx, &file.check);
    // Named maps: parsed once, compiled per service.
    let maps = parse_maps(&mut cx, &file.map, &regions);
    let inputs = ServiceInputs {
        regions: &regions,
        checks: &checks,
        maps: &maps,
    };
    let services = compile_services(&mut cx, &file.service, &inputs, &mut nodes, checks_out);
    let has_cuts = nodes.iter().any(|(owner, node)| {
        *owner != origin && node.rrset(crate::dns::codes::rtype::NS).is_some()
    });
    let has_wildcards = add_empty_non_terminals(&mut nodes, &origin);
    let dnssec = compile_dnssec(&mut cx, base, file.dnssec.as_ref(), zone_ttl);
    if cx.errors.len() > before {
        return None;
    }
    for set in nodes.values_mut().flat_map(|n| n.rrsets.iter_mut()) {
        set.at_question =
            crate::dns::wire::ResponseWriter::prepare_at_question(set.rtype, set.ttl, &set.rdatas);
    }
    let negative_soa = crate::dns::wire::ResponseWriter::prepare(
        origin.as_wire(),
        origin.as_wire(),
        crate::dns::codes::rtype::SOA,
        soa.negative_ttl(),
        &soa.rdata,
    );
    Some(Zone {
        origin,
        file: src.path.to_path_buf(),
        soa,
        negative_soa,
        nodes,
        has_wildcards,
        has_cuts,
        services,
        dnssec,
        subdivision_keys: cx.subdivision_keys,
    })
}

/// The `[soa]` table.
fn compile_soa(
    cx: &mut ZoneCtx<'_, '_>,
    soa: crate::config::schema::SoaSection,
    zone_ttl: u32,
    now_unix: u64,
) -> Soa {
    let serial = match soa.serial.get_ref() {
        Serial::Number(n) => *n,
        Serial::Auto => (now_unix & 0xFFFF_FFFF) as u32,
    };
    let refresh = cx.seconds(&soa.refresh, defaults::SOA_REFRESH);
    let retry = cx.seconds(&soa.retry, defaults::SOA_RETRY);
    let expire = cx.seconds(&soa.expire, defaults::SOA_EXPIRE);
    let minimum = cx.seconds(&soa.minimum, defaults::SOA_MINIMUM);
    if let Some(m) = soa.minimum.as_ref().filter(|_| minimum > MAX_TTL) {
        // The negative-caching TTL of every NXDOMAIN and NODATA answer.
        cx.err(
            m.span(),
            format!("minimum {minimum} s is too large: TTLs are at most {MAX_TTL} s (RFC 2181)"),
        );
    }
    let mname = cx.absolute_name(&soa.mname, "mname");
    let rname = cx.absolute_name(&soa.rname, "rname");
    let rdata = match (&mname, &rname) {
        (Some(m), Some(r)) => Rdata::soa(m, r, [serial, refresh, retry, expire, minimum]),
        _ => Rdata::plain(Vec::new()),
    };
    Soa {
        rdata,
        ttl: zone_ttl,
        minimum,
        serial,
    }
}

/// Adds every ancestor of every owner up to the origin as an empty non-terminal. Returns
/// whether any owner is a wildcard.
fn add_empty_non_terminals(nodes: &mut super::records::Nodes, origin: &Name) -> bool {
    let owners: Vec<Name> = nodes.keys().cloned().collect();
    let mut has_wildcards = false;
    for owner in owners {
        has_wildcards |= owner.is_wildcard();
        let mut at = owner.parent();
        while let Some(p) = at {
            if !p.is_at_or_below(origin) || nodes.contains_key(&p) {
                break;
            }
            nodes.insert(p.clone(), Node::default());
            at = p.parent();
        }
    }
    has_wildcards
}
