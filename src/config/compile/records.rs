//! `[[record]]` tables: static RRsets per owner name, and the CNAME rules (RFC 1034 3.6.2).

use std::collections::HashMap;

use toml::Spanned;

use super::context::{ZoneCtx, ttl_or};
use crate::config::model::{Node, RRset};
use crate::config::schema::RecordEntry;
use crate::dns::codes::rtype as rr;
use crate::dns::name::Name;
use crate::dns::rdata;

/// Every owner name of a zone with what is at it.
pub(super) type Nodes = rustc_hash::FxHashMap<Name, Node>;

/// Record types a zone may hold as static data.
const STATIC_TYPES: &[u16] = &[
    rr::A,
    rr::AAAA,
    rr::NS,
    rr::CNAME,
    rr::MX,
    rr::TXT,
    rr::SRV,
    257, // CAA
    rr::PTR,
    13,     // HINFO
    35,     // NAPTR
    44,     // SSHFP
    52,     // TLSA
    64,     // SVCB
    65,     // HTTPS
    rr::DS, // at a zone cut only (cuts.rs)
];

/// The zone's static records by owner (the apex always exists); `zone_ttl` is the TTL of
/// records that give none.
pub(super) fn compile_records(
    cx: &mut ZoneCtx<'_, '_>,
    records: &[Spanned<RecordEntry>],
    zone_ttl: u32,
) -> Nodes {
    let origin = cx.origin.clone();
    let mut nodes: Nodes = rustc_hash::FxHashMap::default();
    nodes.insert(origin.clone(), Node::default());
    let mut record_lines: HashMap<(Name, u16), usize> = HashMap::new();
    for rec in records {
        let rec_span = rec.span();
        let rec = rec.get_ref();
        let Some(owner) = cx.owner(&rec.name) else {
            continue;
        };
        let code = match rdata::parse_type(rec.rtype.get_ref()) {
            Some(t) if STATIC_TYPES.contains(&t) => t,
            Some(rr::SOA) => {
                cx.err(
                    rec.rtype.span(),
                    "SOA goes in the [soa] table, not in [[record]]",
                );
                continue;
            }
            _ => {
                let msg = format!(
                    "unsupported record type {:?} (supported: {})",
                    rec.rtype.get_ref(),
                    STATIC_TYPES
                        .iter()
                        .map(|&t| rdata::type_name(t))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                cx.err(rec.rtype.span(), msg);
                continue;
            }
        };
        if rec.data.get_ref().is_empty() {
            cx.err(rec.data.span(), "data must list at least one record");
            continue;
        }
        let ttl = ttl_or(cx.src, rec.ttl.as_ref(), "ttl", zone_ttl, cx.errors);
        let rtype = rdata::type_name(code);
        let node = nodes.entry(owner.clone()).or_default();
        let existing = node.rrsets.iter().position(|r| r.rtype == code);
        let idx = match existing {
            Some(i) => {
                if node.rrsets[i].ttl != ttl {
                    let msg = format!(
                        "{owner} {rtype} has TTL {ttl} here but {} elsewhere (one TTL per RRset)",
                        node.rrsets[i].ttl
                    );
                    cx.errors.push(cx.src.error(rec_span.clone(), msg));
                }
                i
            }
            None => {
                node.rrsets.push(RRset {
                    rtype: code,
                    ttl,
                    rdatas: Vec::new(),
                    targets: Vec::new(),
                    at_question: None,
                });
                record_lines.insert((owner.clone(), code), rec_span.start);
                node.rrsets.len() - 1
            }
        };
        for item in rec.data.get_ref() {
            match rdata::encode(code, item.get_ref(), &origin) {
                Ok(rdata::Encoded { rdata, target }) => {
                    let set = &mut node.rrsets[idx];
                    if !set.rdatas.iter().any(|r| r.bytes() == rdata.bytes()) {
                        set.rdatas.push(rdata);
                        if let Some(t) = target {
                            set.targets.push(t);
                        }
                    }
                }
                Err(e) => {
                    let msg = format!("bad {rtype} data {:?}: {e}", item.get_ref());
                    cx.errors.push(cx.src.error(item.span(), msg));
                }
            }
        }
    }
    // CNAME rules.
    let cname = rr::CNAME;
    for (owner, node) in &nodes {
        if let Some(set) = node.rrset(cname) {
            let line = record_lines
                .get(&(owner.clone(), cname))
                .copied()
                .unwrap_or(0);
            if node.rrsets.len() > 1 {
                cx.errors.push(cx.src.error(
                    line..line,
                    format!("{owner} has a CNAME beside other data (RFC 1034 3.6.2)"),
                ));
            }
            if set.rdatas.len() > 1 {
                cx.errors.push(
                    cx.src
                        .error(line..line, format!("{owner} has more than one CNAME")),
                );
            }
            if *owner == origin {
                cx.errors
                    .push(cx.src.error(line..line, "the zone apex cannot be a CNAME"));
            }
        }
    }
    super::cuts::check_records(cx, &nodes, &record_lines);
    nodes
}
