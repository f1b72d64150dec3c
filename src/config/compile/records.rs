//! `[[record]]` tables: static RRsets per owner name, and the CNAME rules (RFC 1034 3.6.2).

use std::collections::HashMap;
use std::str::FromStr;

use hickory_proto::rr::RecordType;
use toml::Spanned;

use super::context::ZoneCtx;
use super::rdata::encode_rdata;
use crate::config::model::{Node, RRset};
use crate::config::schema::RecordEntry;
use crate::dns::name::Name;

/// Every owner name of a zone with what is at it.
pub(super) type Nodes = rustc_hash::FxHashMap<Name, Node>;

/// Record types a zone may hold as static data.
const STATIC_TYPES: &[RecordType] = &[
    RecordType::A,
    RecordType::AAAA,
    RecordType::NS,
    RecordType::CNAME,
    RecordType::MX,
    RecordType::TXT,
    RecordType::SRV,
    RecordType::CAA,
    RecordType::PTR,
    RecordType::HINFO,
    RecordType::NAPTR,
    RecordType::SSHFP,
    RecordType::TLSA,
    RecordType::SVCB,
    RecordType::HTTPS,
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
        let rtype = match RecordType::from_str(&rec.rtype.get_ref().to_ascii_uppercase()) {
            Ok(t) if STATIC_TYPES.contains(&t) => t,
            Ok(RecordType::SOA) => {
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
                        .map(|t| t.to_string())
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
        let ttl = rec.ttl.unwrap_or(zone_ttl);
        let code = u16::from(rtype);
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
                });
                record_lines.insert((owner.clone(), code), rec_span.start);
                node.rrsets.len() - 1
            }
        };
        for item in rec.data.get_ref() {
            match encode_rdata(rtype, item.get_ref(), &origin) {
                Ok((bytes, target)) => {
                    let set = &mut node.rrsets[idx];
                    if !set.rdatas.iter().any(|r| **r == *bytes) {
                        set.rdatas.push(bytes.into());
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
    let cname = u16::from(RecordType::CNAME);
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
    nodes
}
