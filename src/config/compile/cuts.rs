//! Zone cuts (SPEC 5): an NS RRset below the apex delegates the names at and below it to
//! another server. This zone may hold nothing there but the delegation itself (NS, and DS at
//! the cut) and glue (A/AAAA of name servers); anything else would never be answered, so it
//! is an error, and so is a steered service at or below a cut. A name server of a
//! delegation that is inside this zone without an address is a warning: resolvers cannot
//! follow the referral.

use std::collections::{HashMap, HashSet};

use super::context::ZoneCtx;
use crate::config::model::Node;
use crate::dns::codes::rtype as rr;
use crate::dns::name::Name;
use crate::dns::rdata;

/// Every owner name of a zone with what is at it (as `records.rs` builds them).
type Nodes = rustc_hash::FxHashMap<Name, Node>;

/// The topmost zone cut at or above `owner` (the apex excluded): the highest ancestor (or
/// `owner` itself) with an NS RRset.
pub(super) fn cut_of(nodes: &Nodes, origin: &Name, owner: &Name) -> Option<Name> {
    let mut cut = None;
    let mut at = Some(owner.clone());
    while let Some(name) = at {
        if name == *origin || !name.is_at_or_below(origin) {
            break;
        }
        if nodes.get(&name).is_some_and(|n| n.rrset(rr::NS).is_some()) {
            cut = Some(name.clone());
        }
        at = name.parent();
    }
    cut
}

/// Checks the static records against the zone's cuts; `lines` holds where each RRset was
/// first given (its `[[record]]` table).
pub(super) fn check_records(
    cx: &mut ZoneCtx<'_, '_>,
    nodes: &Nodes,
    lines: &HashMap<(Name, u16), usize>,
) {
    let origin = cx.origin.clone();
    let at = |owner: &Name, rtype: u16| lines.get(&(owner.clone(), rtype)).copied().unwrap_or(0);
    // Glue: addresses of any name server the zone names (in-domain or sibling, RFC 9471).
    let servers: HashSet<&Name> = nodes
        .values()
        .filter_map(|n| n.rrset(rr::NS))
        .flat_map(|set| set.targets.iter())
        .collect();
    // In file order, so errors read top to bottom.
    let mut sets: Vec<(usize, &Name, u16)> = nodes
        .iter()
        .flat_map(|(owner, node)| node.rrsets.iter().map(move |s| (owner, s.rtype)))
        .map(|(owner, rtype)| (at(owner, rtype), owner, rtype))
        .collect();
    sets.sort();
    for (offset, owner, rtype) in sets {
        let span = offset..offset;
        let kind = rdata::type_name(rtype);
        let cut = cut_of(nodes, &origin, owner);
        let glue = matches!(rtype, rr::A | rr::AAAA) && servers.contains(owner);
        match cut {
            _ if rtype == rr::NS && owner.is_wildcard() => cx.err(
                span,
                format!("{owner} NS: a wildcard cannot delegate (RFC 4592 4.2)"),
            ),
            None if rtype == rr::DS && *owner == origin => cx.err(
                span,
                format!("{owner} DS: the DS of the apex belongs in the parent zone"),
            ),
            None if rtype == rr::DS => cx.err(
                span,
                format!(
                    "{owner} DS: DS records go only at a zone cut, beside its NS records \
                     (RFC 4035 2.4)"
                ),
            ),
            None => {}
            Some(cut) if glue || (cut == *owner && matches!(rtype, rr::NS | rr::DS)) => {}
            Some(cut) => {
                let line = cx.src.line_of(at(&cut, rr::NS));
                let msg = if cut == *owner {
                    format!(
                        "{owner} {kind}: {cut} is a zone cut (its NS records, line {line}, \
                         delegate it), so only NS, DS and glue may be there; this record would \
                         never be answered"
                    )
                } else {
                    let what = if rtype == rr::NS {
                        "a delegation below another is occluded".to_string()
                    } else {
                        format!("{kind} here is not glue, the A/AAAA of a name server")
                    };
                    format!(
                        "{owner} {kind} is below the zone cut at {cut} (NS at line {line}) and \
                         would never be answered: {what}"
                    )
                };
                cx.err(span, msg);
            }
        }
    }
    // Name servers inside this zone without an address: the referral cannot be followed.
    let mut cuts: Vec<(usize, &Name)> = nodes
        .iter()
        .filter(|(owner, node)| **owner != origin && node.rrset(rr::NS).is_some())
        .filter(|(owner, _)| cut_of(nodes, &origin, owner).as_ref() == Some(*owner))
        .map(|(owner, _)| (at(owner, rr::NS), owner))
        .collect();
    cuts.sort();
    for (offset, cut) in cuts {
        let Some(ns) = nodes.get(cut).and_then(|n| n.rrset(rr::NS)) else {
            continue;
        };
        for target in &ns.targets {
            if !target.is_at_or_below(&origin) {
                continue;
            }
            let has_address = nodes
                .get(target)
                .is_some_and(|n| n.rrset(rr::A).is_some() || n.rrset(rr::AAAA).is_some());
            if !has_address {
                let inside = if target.is_at_or_below(cut) {
                    "below the cut"
                } else {
                    "in this zone"
                };
                cx.warn(
                    offset..offset,
                    format!(
                        "delegation {cut}: name server {target} is {inside} but has no A or \
                         AAAA record (glue), so resolvers cannot reach it"
                    ),
                );
            }
        }
    }
}
