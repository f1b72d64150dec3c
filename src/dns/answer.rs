//! The pure query → response function.
//!
//! [`answer`] takes the serving [`Snapshot`], the raw query and where it came from, and writes
//! the raw response. No sockets, no clocks: the server calls it for UDP and TCP alike, tests
//! and fuzzers call it directly.
//!
//! Order of business: parse (malformed → FORMERR or drop) → EDNS version (BADVERS) → CHAOS
//! identity → zone (REFUSED outside every zone) → `_explain` debug query → lookup with CNAME
//! chasing, wildcards, steering, NXDOMAIN/NODATA with the SOA → additional A/AAAA for in-zone
//! NS/MX/SRV targets → OPT (NSID, ECS echo with scope) → truncation to the client's size.
//!
//! DNSSEC (`sign.rs`): with DO=1 in a signed zone every answer and authority RRset is
//! followed by its RRSIGs, and negative answers carry one compact-denial NSEC (RFC 9824):
//! NXDOMAIN is answered NOERROR unless the client set CO. Without DO nothing changes, but a
//! signed zone's apex answers DNSKEY queries with its keys.

use std::net::IpAddr;

use super::cookie::{self, CookieStatus};
use super::name::MAX_NAME_LEN;
use super::name::{Name, wire_is_at_or_below, wire_parent};
use super::sign::Signer;
use super::wire::{
    ClientSubnet, CookieOut, Edns, Keepalive, MAX_UDP_PAYLOAD, OptOut, Overflow, Owner, Query,
    QueryError, ResponseWriter, Section, TSIG_BADKEY, TsigAt, class, parse_query, rcode, read_name,
    rtype,
};
use crate::config::model::{Descent, Node, RRset, RegionId, Service, ServiceId, Zone, ZoneId};
use crate::dnssec::denial;
use crate::dnssec::sign::Rrset;
use crate::dnssec::wire::{TypeSet, rtype as dnssec_type};
use crate::dnssec::zone::Pool;
use crate::state::Snapshot;
use crate::steer::{self, AnswerKind, ClientAddr, ClientSource, Reason};

/// Longest CNAME chain followed inside a zone.
const MAX_CHAIN: usize = 8;

/// Transport the query came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP: responses limited to the client's EDNS size (512 without EDNS).
    Udp,
    /// TCP: up to 65535 bytes.
    Tcp,
}

impl Transport {
    /// Metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
        }
    }
}

/// Where a query came from and how to vary the answer.
#[derive(Debug, Clone, Copy)]
pub struct QueryContext {
    /// The query's source address.
    pub source: IpAddr,
    /// UDP or TCP.
    pub transport: Transport,
    /// Rotation counter for endpoint order (the caller increments it).
    pub rotation: u32,
    /// Unix time in seconds (modulo 2^32), read by the server: picks the validity window of
    /// DNSSEC signatures and dates DNS Cookies (RFC 9018).
    pub now: u32,
}

/// A steering decision made while answering, for metrics and logs. When an answer takes
/// several steered steps (a CNAME region pointing at another steered name), this is the first
/// step's service and region, with the longest scope of all the steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steered {
    /// Zone index in the snapshot.
    pub zone: ZoneId,
    /// Service index in the zone.
    pub service: ServiceId,
    /// Region index in the service, if one was chosen.
    pub region: Option<RegionId>,
    /// Why.
    pub reason: Reason,
    /// ECS scope returned: the longest over every steered step.
    pub scope: u8,
}

/// What happened, for metrics and query logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerInfo {
    /// Response code (12-bit, e.g. 16 for BADVERS).
    pub rcode: u16,
    /// Question type (0 if the question did not parse).
    pub qtype: u16,
    /// Zone index, when the name was in a zone.
    pub zone: Option<ZoneId>,
    /// The steering decision, if any.
    pub steered: Option<Steered>,
    /// The response was truncated (TC=1).
    pub truncated: bool,
    /// The client's ECS option, if any.
    pub ecs: Option<ClientSubnet>,
    /// End of the echoed question in the response (12 when there is none).
    pub question_end: usize,
    /// What the query's DNS Cookie proved (a valid server cookie exempts it from RRL).
    pub cookie: CookieStatus,
}

/// [`answer`], but a bug that panics costs one dropped query (logged), not a worker.
pub fn answer_guarded(
    snap: &Snapshot,
    packet: &[u8],
    cx: &QueryContext,
    out: &mut Vec<u8>,
) -> Option<AnswerInfo> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| answer(snap, packet, cx, out)))
        .unwrap_or_else(|_| {
            tracing::error!(client = %cx.source, len = packet.len(), "panic while answering; query dropped");
            None
        })
}

/// Answers one query. Writes the response into `out` and returns what happened, or `None`
/// when the packet deserves no reply (too short, or not a query).
pub fn answer(
    snap: &Snapshot,
    packet: &[u8],
    cx: &QueryContext,
    out: &mut Vec<u8>,
) -> Option<AnswerInfo> {
    let mut qname = [0u8; MAX_NAME_LEN];
    let q = match parse_query(packet, &mut qname) {
        Ok(q) => q,
        Err(QueryError::Drop) => return None,
        Err(QueryError::Reply {
            header,
            rcode,
            question_end,
            edns,
        }) => {
            let question = question_end.and_then(|end| packet.get(12..end));
            let mut w = ResponseWriter::new(out, header, question, 512);
            w.set_rcode(rcode);
            let (cookie, status) = cookie_reply(snap, packet, cx, edns);
            let opt = edns.map(|_| OptOut {
                cookie,
                ..OptOut::plain(false)
            });
            w.finish(opt.as_ref());
            return Some(AnswerInfo {
                rcode,
                qtype: 0,
                zone: None,
                steered: None,
                truncated: false,
                ecs: None,
                question_end: 12 + question.map_or(0, <[u8]>::len),
                cookie: status,
            });
        }
    };
    if let Some(tsig) = q.tsig {
        return Some(tsig_badkey(&q, tsig, out));
    }
    let cfg = &snap.config;
    let size_limit = match cx.transport {
        Transport::Tcp => 65_535,
        Transport::Udp => q
            .edns
            .map_or(512, |e| usize::from(e.udp_size.min(MAX_UDP_PAYLOAD))),
    };
    let ecs = q.edns.and_then(|e| e.ecs);
    let (cookie, cookie_status) = cookie_reply(snap, packet, cx, q.edns);
    // edns-tcp-keepalive (RFC 7828 3.3.2): over TCP, when asked, our idle timeout in units of
    // 100 ms; over UDP the option is ignored.
    let keepalive = match (cx.transport, q.edns.and_then(|e| e.keepalive)) {
        (Transport::Tcp, Some(Keepalive::Empty)) => {
            Some(u16::try_from(cfg.server.tcp_idle_timeout.as_millis() / 100).unwrap_or(u16::MAX))
        }
        _ => None,
    };
    let mut opt = q.edns.map(|e| OptOut {
        nsid: if e.nsid {
            cfg.server.nsid.as_deref()
        } else {
            None
        },
        ecs: e.ecs.map(|c| (c, 0)),
        cookie,
        keepalive,
        ..OptOut::plain(e.dnssec_ok)
    });
    let limit = size_limit.saturating_sub(opt.as_ref().map_or(0, OptOut::wire_len));
    let mut info = AnswerInfo {
        rcode: rcode::NOERROR,
        qtype: q.qtype,
        zone: None,
        steered: None,
        truncated: false,
        ecs,
        question_end: 12 + q.question_bytes().len(),
        cookie: cookie_status,
    };
    let mut w = ResponseWriter::new(out, q.header(), Some(q.question_bytes()), limit);

    // A client must send edns-tcp-keepalive empty (RFC 7828 3.2.1): FORMERR over TCP.
    if cx.transport == Transport::Tcp
        && q.edns.and_then(|e| e.keepalive) == Some(Keepalive::WithTimeout)
    {
        info.rcode = rcode::FORMERR;
        w.set_rcode(rcode::FORMERR);
        if let Some(o) = opt.as_mut() {
            o.ecs = None;
            o.keepalive = None;
        }
        w.finish(opt.as_ref());
        return Some(info);
    }

    // EDNS version other than 0: BADVERS (RFC 6891 6.1.3).
    if let Some(e) = q.edns
        && e.version > 0
    {
        info.rcode = rcode::BADVERS;
        if let Some(o) = opt.as_mut() {
            o.ext_rcode = (rcode::BADVERS >> 4) as u8;
            o.ecs = None;
        }
        w.finish(opt.as_ref());
        return Some(info);
    }

    if q.qclass == class::CH {
        info.rcode = chaos(snap, q.qname(), q.qtype, &mut w);
        w.finish(opt.as_ref());
        return Some(info);
    }
    let zone_index = (q.qclass == class::IN || q.qclass == class::ANY)
        .then(|| find_zone(&cfg.zones, q.qname()))
        .flatten();
    let Some(zone_index) = zone_index else {
        w.set_rcode(rcode::REFUSED);
        info.rcode = rcode::REFUSED;
        if let Some(o) = opt.as_mut() {
            o.ede = Some(super::wire::EDE_NOT_AUTHORITATIVE);
        }
        w.finish(opt.as_ref());
        return Some(info);
    };
    info.zone = Some(zone_index);
    let zone = &cfg.zones[zone_index];
    if matches!(q.qtype, rtype::AXFR | rtype::IXFR) {
        w.set_rcode(rcode::REFUSED);
        info.rcode = rcode::REFUSED;
        w.finish(opt.as_ref());
        return Some(info);
    }
    w.set_authoritative();
    // An explicit query for the NXNAME meta-type gets FORMERR (RFC 9824 3.5).
    if q.qtype == dnssec_type::NXNAME && zone.dnssec.is_some() {
        w.set_rcode(rcode::FORMERR);
        info.rcode = rcode::FORMERR;
        w.finish(opt.as_ref());
        return Some(info);
    }
    let dnssec_ok = q.edns.is_some_and(|e| e.dnssec_ok);
    let sign = if dnssec_ok {
        Signer::new(zone, &snap.signatures, cx.now)
    } else {
        None
    };
    let compact_ok = sign.is_some() && q.edns.is_some_and(|e| e.compact_ok);
    if let Some(o) = opt.as_mut() {
        o.compact_ok = compact_ok;
    }

    let client = client_addr(ecs, cx.source);
    if q.qtype == TXT_EXPLAIN && explain_query(snap, zone, q.qname(), &client, cx, &mut w) {
        // The trace shows the client's own subnet: valid for its source prefix only.
        if let Some(o) = opt.as_mut()
            && let Some((ecs, _)) = o.ecs
        {
            o.ecs = Some((ecs, ecs.source_prefix));
        }
        info.truncated = w.is_truncated();
        w.finish(opt.as_ref());
        return Some(info);
    }

    let start = w.mark();
    let mut resolver = Resolver {
        snap,
        zone,
        zone_index,
        client,
        cx,
        info: &mut info,
        sign,
    };
    let mut rc = resolver.resolve(q.qname(), q.qtype, &mut w);
    if let Some(sign) = &resolver.sign {
        if sign.failed() {
            // Never an answer with a signature missing: a validator would call it bogus.
            w.rollback(start);
            rc = rcode::SERVFAIL;
        } else if rc == rcode::NXDOMAIN && !compact_ok {
            // Compact denial: the NSEC says the name exists with nothing but NSEC and RRSIG
            // (and NXNAME); only a client that set CO is told NXDOMAIN (RFC 9824 3.2, 5.1).
            rc = rcode::NOERROR;
        }
    }
    w.set_rcode(rc);
    info.rcode = rc;
    if let (Some(o), Some(s)) = (opt.as_mut(), info.steered)
        && let Some((ecs, _)) = o.ecs
    {
        o.ecs = Some((ecs, if ecs.source_prefix == 0 { 0 } else { s.scope }));
    }
    info.truncated = w.is_truncated();
    w.finish(opt.as_ref());
    Some(info)
}

const TXT_EXPLAIN: u16 = rtype::TXT;

/// The COOKIE option for a reply to a query with this OPT record, and what the query's
/// cookie proved (RFC 7873 5.2, RFC 9018).
fn cookie_reply(
    snap: &Snapshot,
    packet: &[u8],
    cx: &QueryContext,
    edns: Option<Edns>,
) -> (Option<CookieOut>, CookieStatus) {
    let Some(at) = edns.and_then(|e| e.cookie) else {
        return (None, CookieStatus::None);
    };
    let client = *at.client(packet);
    let checked = cookie::check(
        &snap.cookie_secret,
        &client,
        at.server(packet),
        cx.source,
        cx.now,
    );
    let out = CookieOut {
        client,
        server: checked.reply,
    };
    (Some(out), checked.status)
}

/// Writes a BADCOOKIE reply to `packet` into `out` (RFC 7873 5.2.3): header, question and an
/// OPT record with a fresh server cookie, nothing else. For a UDP query whose server cookie
/// is invalid and that would get no answer (rate limited), so a real client learns a valid
/// cookie at once. Returns false when `packet` carries no such cookie.
pub fn bad_cookie(snap: &Snapshot, packet: &[u8], cx: &QueryContext, out: &mut Vec<u8>) -> bool {
    let mut qname = [0u8; MAX_NAME_LEN];
    let Ok(q) = parse_query(packet, &mut qname) else {
        return false;
    };
    let (cookie, status) = cookie_reply(snap, packet, cx, q.edns);
    if status != CookieStatus::Invalid {
        return false;
    }
    let mut w = ResponseWriter::new(out, q.header(), Some(q.question_bytes()), 512);
    w.set_rcode(rcode::BADCOOKIE);
    let opt = OptOut {
        ext_rcode: (rcode::BADCOOKIE >> 4) as u8,
        cookie,
        ..OptOut::plain(q.edns.is_some_and(|e| e.dnssec_ok))
    };
    w.finish(Some(&opt));
    true
}

/// Answers a TSIG-signed query: no key is configured, so every key is unknown (RFC 8945
/// 5.2.2): NOTAUTH, unsigned, with a TSIG record that names the key and algorithm, copies
/// the time and fudge, and carries the error BADKEY and an empty MAC (RFC 8945 5.3.2). A TSIG
/// record whose RDATA does not parse gets FORMERR.
fn tsig_badkey(q: &Query<'_>, tsig: TsigAt, out: &mut Vec<u8>) -> AnswerInfo {
    let p = q.packet;
    let mut record = [0u8; 2 * MAX_NAME_LEN + 32];
    let encoded = (|| {
        let mut name = [0u8; MAX_NAME_LEN];
        let (key_len, _) = read_name(p, tsig.owner_at, &mut name)?;
        record[..key_len].copy_from_slice(&name[..key_len]);
        let mut at = key_len;
        for v in [rtype::TSIG, class::ANY, 0, 0] {
            record[at..at + 2].copy_from_slice(&v.to_be_bytes());
            at += 2;
        }
        let rdlen_at = at;
        at += 2;
        let (alg_len, after_alg) = read_name(p, tsig.rdata_at, &mut name)?;
        // Time signed (6), fudge (2), MAC size (2), MAC, original ID (2), error (2), other
        // length (2), other data: all inside the RDATA.
        let mac_len = usize::from(u16::from_be_bytes([
            *p.get(after_alg + 8)?,
            *p.get(after_alg + 9)?,
        ]));
        let orig_id_at = after_alg + 10 + mac_len;
        let other_len = usize::from(u16::from_be_bytes([
            *p.get(orig_id_at + 4)?,
            *p.get(orig_id_at + 5)?,
        ]));
        if orig_id_at + 6 + other_len != tsig.rdata_end {
            return None;
        }
        record[at..at + alg_len].copy_from_slice(&name[..alg_len]);
        at += alg_len;
        record[at..at + 8].copy_from_slice(&p[after_alg..after_alg + 8]);
        at += 8;
        record[at..at + 2].copy_from_slice(&[0, 0]); // MAC size 0: unsigned
        at += 2;
        record[at..at + 2].copy_from_slice(&p[orig_id_at..orig_id_at + 2]);
        at += 2;
        record[at..at + 2].copy_from_slice(&TSIG_BADKEY.to_be_bytes());
        at += 2;
        record[at..at + 2].copy_from_slice(&[0, 0]); // no other data
        at += 2;
        let rdlen = (at - rdlen_at - 2) as u16;
        record[rdlen_at..rdlen_at + 2].copy_from_slice(&rdlen.to_be_bytes());
        Some(at)
    })();
    let rcode = if encoded.is_some() {
        rcode::NOTAUTH
    } else {
        rcode::FORMERR
    };
    let mut w = ResponseWriter::new(out, q.header(), Some(q.question_bytes()), 512);
    w.set_rcode(rcode);
    let opt = q.edns.map(|e| OptOut::plain(e.dnssec_ok));
    w.finish_with(opt.as_ref(), encoded.map(|len| &record[..len]));
    AnswerInfo {
        rcode,
        qtype: q.qtype,
        zone: None,
        steered: None,
        truncated: false,
        ecs: None,
        question_end: 12 + q.question_bytes().len(),
        cookie: CookieStatus::None,
    }
}

/// The address steering decides for: the ECS address when the query has one with a non-zero
/// source prefix, else the query's source (RFC 7871 7.1.2: prefix 0 means "use the resolver").
fn client_addr(ecs: Option<ClientSubnet>, source: IpAddr) -> ClientAddr {
    match ecs {
        Some(e) if e.source_prefix > 0 => ClientAddr {
            addr: e.addr,
            source_prefix: e.source_prefix,
            source: ClientSource::Ecs,
        },
        _ => ClientAddr::resolver(source),
    }
}

/// The zone with the longest origin that holds `qname`.
fn find_zone(zones: &[Zone], qname: &[u8]) -> Option<ZoneId> {
    let mut best: Option<ZoneId> = None;
    for (i, z) in zones.iter().enumerate() {
        if wire_is_at_or_below(qname, z.origin.as_wire())
            && best.is_none_or(|b| zones[b].origin.as_wire().len() < z.origin.as_wire().len())
        {
            best = Some(ZoneId::from_index(i));
        }
    }
    best
}

/// CHAOS-class identity queries (`id.server`, `hostname.bind`, `version.bind`).
fn chaos(snap: &Snapshot, qname: &[u8], qtype: u16, w: &mut ResponseWriter<'_>) -> u16 {
    let server = &snap.config.server;
    let text: Option<String> = match qname {
        b"\x02id\x06server\x00" | b"\x08hostname\x04bind\x00" => server.identity.clone(),
        b"\x07version\x04bind\x00" | b"\x07version\x06server\x00" if server.version => {
            Some(format!("steerdns {}", env!("CARGO_PKG_VERSION")))
        }
        _ => None,
    };
    match text {
        Some(t) if matches!(qtype, rtype::TXT | rtype::ANY) => {
            let rdata = txt_rdata(&[t.as_str()]);
            w.push_class(
                Section::Answer,
                Owner::Question,
                rtype::TXT,
                class::CH,
                0,
                &rdata,
            );
            rcode::NOERROR
        }
        Some(_) => rcode::NOERROR,
        None => {
            w.set_rcode(rcode::REFUSED);
            rcode::REFUSED
        }
    }
}

/// TXT RDATA from strings (each cut to 255 bytes).
fn txt_rdata(strings: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in strings {
        let b = &s.as_bytes()[..s.len().min(255)];
        out.push(b.len() as u8);
        out.extend_from_slice(b);
    }
    out
}

/// `_explain.<service name>` TXT from a `debug_from` client: the decision trace as TXT.
/// Returns false (normal processing) for anyone else or any other name.
fn explain_query(
    snap: &Snapshot,
    zone: &Zone,
    qname: &[u8],
    client: &ClientAddr,
    cx: &QueryContext,
    w: &mut ResponseWriter<'_>,
) -> bool {
    if qname.get(..9) != Some(b"\x08_explain") {
        return false;
    }
    if !snap
        .config
        .server
        .debug_from
        .iter()
        .any(|n| n.contains(&cx.source))
    {
        return false;
    }
    let Some(target) = wire_parent(qname) else {
        return false;
    };
    let Some(service) = zone.nodes.get(target).and_then(|n| n.service) else {
        return false;
    };
    let service = &zone.services[service];
    let geo = snap.geo.as_ref().map(|g| g.facts(client.addr));
    let name = Name::from_wire_lower(target).to_string();
    let drain_since = snap.drain_since.for_service(zone, service);
    let (_, trace) = steer::trace::explain(
        service,
        &snap.health,
        client,
        geo.as_ref(),
        steer::trace::ExplainContext {
            name: &name,
            want_v6: client.addr.is_ipv6(),
            rotation: cx.rotation,
            drain_since: &drain_since,
        },
    );
    let lines = trace.render_txt();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let rdata = txt_rdata(&refs);
    w.push(Section::Answer, Owner::Question, rtype::TXT, 0, &rdata);
    true
}

/// A CNAME region's answer: its CNAME under the service's TTL.
fn write_steered_cname(
    w: &mut ResponseWriter<'_>,
    owner: Owner<'_>,
    service: &Service,
    target: &Name,
) {
    w.push_name(
        Section::Answer,
        owner,
        rtype::CNAME,
        service.ttl,
        target.as_wire(),
    );
}

/// The wildcard node matching `name`, which does not exist (RFC 4592): `*.` under its
/// closest encloser, when that exists. `encloser` is the closest encloser when the caller
/// already walked to it ([`Descent::Missing`]); otherwise it is found walking up.
fn wildcard_match<'z>(zone: &'z Zone, name: &[u8], encloser: Option<&[u8]>) -> Option<&'z Node> {
    if !zone.has_wildcards {
        return None;
    }
    let encloser = match encloser {
        Some(e) => e,
        None => {
            let mut at = wire_parent(name);
            loop {
                let ancestor = at?;
                if !wire_is_at_or_below(ancestor, zone.origin.as_wire()) {
                    return None;
                }
                if zone.nodes.contains_key(ancestor) {
                    break ancestor;
                }
                at = wire_parent(ancestor);
            }
        }
    };
    // `*.` + encloser, on the stack (a name is at most 255 bytes).
    let mut wild = [0u8; 257];
    wild[..2].copy_from_slice(b"\x01*");
    wild[2..2 + encloser.len()].copy_from_slice(encloser);
    zone.nodes.get(&wild[..2 + encloser.len()])
}

struct Resolver<'a> {
    snap: &'a Snapshot,
    zone: &'a Zone,
    zone_index: ZoneId,
    client: ClientAddr,
    cx: &'a QueryContext,
    info: &'a mut AnswerInfo,
    /// DNSSEC signing, when the query has DO=1 and the zone is signed.
    sign: Option<Signer<'a>>,
}

/// Where a negative answer is and what exists there (for its NSEC with DNSSEC).
#[derive(Clone, Copy)]
enum Denial<'n> {
    /// Nothing exists at or matches the name (NXDOMAIN).
    NoName {
        /// The name asked (after CNAMEs), lower case.
        name: &'n [u8],
        /// Its owner in the message.
        owner: Owner<'n>,
    },
    /// The name exists without the asked type (NODATA).
    NoData {
        /// The name, lower case.
        name: &'n [u8],
        /// Its owner in the message.
        owner: Owner<'n>,
        /// The node there (its types go in the NSEC, with DNSSEC only).
        node: &'n Node,
        /// The node is the apex (which has the SOA and DNSKEY besides its RRsets).
        at_apex: bool,
        /// Matched by a wildcard (the name is the client's).
        wildcard: bool,
    },
}

impl<'n> Denial<'n> {
    /// The name denied (lower case).
    fn name(&self) -> &'n [u8] {
        match *self {
            Self::NoName { name, .. } | Self::NoData { name, .. } => name,
        }
    }
    /// Its owner in the message.
    fn owner(&self) -> Owner<'n> {
        match *self {
            Self::NoName { owner, .. } | Self::NoData { owner, .. } => owner,
        }
    }
}

/// The signature cache of an RRset: the client's names (wildcard expansions, NXDOMAIN
/// proofs) apart from the zone's own.
fn pool(wildcard: bool) -> Pool {
    if wildcard {
        Pool::PerName
    } else {
        Pool::Stable
    }
}

impl Resolver<'_> {
    /// Answers `qname`/`qtype` into the writer, following in-zone CNAMEs; returns the rcode.
    fn resolve(&mut self, qname: &[u8], qtype: u16, w: &mut ResponseWriter<'_>) -> u16 {
        let zone = self.zone;
        let mut name: &[u8] = qname;
        let mut first = true;
        for _ in 0..MAX_CHAIN {
            let owner = if first {
                Owner::Question
            } else {
                Owner::Name(name)
            };
            let (node, wildcard) = match zone.descend(name) {
                // At or below a zone cut the child zone answers, except DS at the cut itself,
                // which is this zone's (RFC 4035 2.4).
                Descent::Cut(cut, cut_node) if !(qtype == rtype::DS && cut.len() == name.len()) => {
                    return self.referral(cut, cut_node, w);
                }
                Descent::Cut(_, node) | Descent::Found(node) => (node, false),
                // A wildcard match answers for the client's name (DNSSEC signs the
                // expansion at it).
                Descent::Missing { encloser } => match wildcard_match(zone, name, encloser) {
                    Some(node) => (node, true),
                    None => {
                        self.push_negative(w, Denial::NoName { name, owner });
                        return rcode::NXDOMAIN;
                    }
                },
            };
            // Apex SOA lives outside the node's RRsets.
            let at_apex = name == zone.origin.as_wire();
            let nodata = Denial::NoData {
                name,
                owner,
                node,
                at_apex,
                wildcard,
            };
            if let Some(cname) = node.rrset(rtype::CNAME)
                && qtype != rtype::CNAME
                && qtype != rtype::ANY
            {
                w.push_rdata(
                    Section::Answer,
                    owner,
                    rtype::CNAME,
                    cname.ttl,
                    &cname.rdatas[0],
                );
                self.sign_rrset(w, owner, name, cname, &cname.rdatas[..1], wildcard);
                match cname.targets.first() {
                    Some(t) if t.is_at_or_below(&zone.origin) => {
                        name = t.as_wire();
                        first = false;
                        continue;
                    }
                    _ => return rcode::NOERROR,
                }
            }
            if let Some(service_index) = node.service
                && matches!(qtype, rtype::A | rtype::AAAA)
            {
                let service = &zone.services[service_index];
                match self.steered(service_index, service, qtype, owner, nodata, w) {
                    Some(target) if target.is_at_or_below(&zone.origin) => {
                        name = target.as_wire();
                        first = false;
                        continue;
                    }
                    // Addresses, or NODATA with the SOA: written by `steered`.
                    Some(_) | None => return rcode::NOERROR,
                }
            }
            // A CNAME region answers its CNAME for every type (RFC 1034 3.6.2), followed as
            // any CNAME unless the CNAME itself was asked; for a client of an address region
            // the other types are the name's static data (NODATA), with the decision's scope.
            if let Some(service_index) = node.service
                && qtype != rtype::ANY
                && zone.services[service_index].has_cname_region()
            {
                let service = &zone.services[service_index];
                match self.steered_cname(service_index, service, owner, name, w) {
                    Some(target)
                        if qtype != rtype::CNAME && target.is_at_or_below(&zone.origin) =>
                    {
                        name = target.as_wire();
                        first = false;
                        continue;
                    }
                    Some(_) => return rcode::NOERROR,
                    None => {}
                }
            }
            if qtype == rtype::ANY {
                // RFC 8482: one RRset is enough; like Knot, the one with the lowest type
                // number (the apex SOA counts as one of the node's RRsets).
                let lowest = node.rrsets.iter().min_by_key(|set| set.rtype);
                match lowest {
                    Some(set) if !(at_apex && set.rtype > rtype::SOA) => {
                        self.push_answer(set, owner, name, wildcard, w);
                    }
                    _ if at_apex => self.push_apex_soa(owner, w),
                    _ => match node.service {
                        Some(service_index) => {
                            let service = &zone.services[service_index];
                            let _ =
                                self.steered(service_index, service, rtype::A, owner, nodata, w);
                        }
                        None => self.push_negative(w, nodata),
                    },
                }
                return rcode::NOERROR;
            }
            if at_apex && qtype == rtype::SOA {
                self.push_apex_soa(owner, w);
                return rcode::NOERROR;
            }
            if at_apex
                && qtype == dnssec_type::DNSKEY
                && let Some(keys) = &zone.dnssec
            {
                let set = keys.dnskey_rrset(name);
                for rd in set.rdatas {
                    w.push(Section::Answer, owner, dnssec_type::DNSKEY, set.ttl, rd);
                }
                if let Some(sign) = &mut self.sign {
                    sign.sign(w, Section::Answer, owner, &set, Pool::Stable);
                }
                return rcode::NOERROR;
            }
            match node.rrset(qtype) {
                Some(set) => self.push_answer(set, owner, name, wildcard, w),
                None => self.push_negative(w, nodata),
            }
            return rcode::NOERROR;
        }
        // Chain too long: answer what we have (RFC 1034 leaves this to the server).
        rcode::NOERROR
    }

    /// Writes a steered answer. Returns the CNAME target when the region answers with one;
    /// `None` after writing addresses, or NODATA (`nodata`: the name and what exists there)
    /// with the SOA.
    fn steered<'s>(
        &mut self,
        service_index: ServiceId,
        service: &'s Service,
        qtype: u16,
        owner: Owner<'_>,
        nodata: Denial<'_>,
        w: &mut ResponseWriter<'_>,
    ) -> Option<&'s Name> {
        let snap = self.snap;
        let decision = self.decide(service_index, service);
        let Denial::NoData { name, wildcard, .. } = nodata else {
            return None;
        };
        match steer::answer_kind(service, &decision) {
            AnswerKind::Cname(target) => {
                write_steered_cname(w, owner, service, target);
                self.sign_steered_cname(w, owner, name, service, target, wildcard);
                Some(target)
            }
            AnswerKind::Addresses => {
                let want_v6 = qtype == rtype::AAAA;
                let rtype = if want_v6 { rtype::AAAA } else { rtype::A };
                // The RDATAs are kept for the RRSIG only when signing.
                let mut written = self.sign.is_some().then(super::sign::Addresses::new);
                let mut count = 0usize;
                for addr in
                    steer::endpoints(service, &decision, &snap.health, want_v6, self.cx.rotation)
                {
                    count += 1;
                    match (&mut written, addr) {
                        (Some(kept), _) => {
                            w.push(Section::Answer, owner, rtype, service.ttl, kept.push(addr));
                        }
                        (None, IpAddr::V4(a)) => {
                            w.push(Section::Answer, owner, rtype, service.ttl, &a.octets());
                        }
                        (None, IpAddr::V6(a)) => {
                            w.push(Section::Answer, owner, rtype, service.ttl, &a.octets());
                        }
                    }
                }
                if count == 0 {
                    self.push_negative(w, nodata);
                } else if let (Some(sign), Some(written)) = (&mut self.sign, &written) {
                    let set = Rrset {
                        owner: name,
                        rtype,
                        ttl: service.ttl,
                        rdatas: written.as_slice(),
                    };
                    sign.sign(w, Section::Answer, owner, &set, pool(wildcard));
                }
                None
            }
            AnswerKind::NoData => {
                self.push_negative(w, nodata);
                None
            }
        }
    }

    /// The RRSIGs of a steered CNAME just written at `owner` (`name`).
    fn sign_steered_cname(
        &mut self,
        w: &mut ResponseWriter<'_>,
        owner: Owner<'_>,
        name: &[u8],
        service: &Service,
        target: &Name,
        wildcard: bool,
    ) {
        if let Some(sign) = &mut self.sign {
            let set = Rrset {
                owner: name,
                rtype: rtype::CNAME,
                ttl: service.ttl,
                rdatas: &[target.as_wire()],
            };
            sign.sign(w, Section::Answer, owner, &set, pool(wildcard));
        }
    }

    /// The RRSIGs of static RRset `set` just written (all of `rdatas`) at `owner` (`name`).
    fn sign_rrset(
        &mut self,
        w: &mut ResponseWriter<'_>,
        owner: Owner<'_>,
        name: &[u8],
        set: &RRset,
        rdatas: &[super::rdata::Rdata],
        wildcard: bool,
    ) {
        if let Some(sign) = &mut self.sign {
            let set = Rrset {
                owner: name,
                rtype: set.rtype,
                ttl: set.ttl,
                rdatas,
            };
            sign.sign(w, Section::Answer, owner, &set, pool(wildcard));
        }
    }

    /// The types that exist at `node` (for a NODATA proof): its static RRsets, A and AAAA of
    /// a steered name, and at the apex the SOA and, when signed, the DNSKEY.
    fn types_at(node: &Node, at_apex: bool) -> TypeSet {
        let mut types = TypeSet::new();
        if !at_apex && node.rrset(rtype::NS).is_some() {
            // A zone cut (asked for its DS): this zone has only the delegation there; glue
            // at the cut's name is not its data.
            types.insert(rtype::NS);
            if node.rrset(rtype::DS).is_some() {
                types.insert(rtype::DS);
            }
            return types;
        }
        for set in &node.rrsets {
            types.insert(set.rtype);
        }
        if node.service.is_some() {
            types.insert(rtype::A);
            types.insert(rtype::AAAA);
        }
        if at_apex {
            types.insert(rtype::SOA);
            types.insert(dnssec_type::DNSKEY);
        }
        types
    }

    /// Steers `service` for the client and records the decision: the first steered step of
    /// the answer names the service and region (metrics, query log); the scope is the longest
    /// over every steered step, since the answer as a whole holds only where each step does.
    fn decide(&mut self, service_index: ServiceId, service: &Service) -> steer::Decision {
        let snap = self.snap;
        // One lookup in the map's compiled table; the per-query match only where the table
        // leaves it (IPv4-embedding IPv6 ranges) or before one is built.
        let partition = snap.geo.as_ref().and_then(|g| g.built_partition());
        let hit = service
            .map
            .table
            .get()
            .and_then(|t| steer::table::lookup(t, partition, self.client.addr))
            .unwrap_or_else(|| {
                let geo = service
                    .map
                    .uses_geo()
                    .then(|| snap.geo.as_ref().map(|g| g.facts(self.client.addr)))
                    .flatten();
                steer::map_hit(&service.map, &self.client, geo.as_ref())
            });
        let decision = steer::steer_hit(service, &snap.health, &self.client, hit);
        self.info.steered = Some(match self.info.steered {
            Some(first) => Steered {
                scope: first.scope.max(decision.scope),
                ..first
            },
            None => Steered {
                zone: self.zone_index,
                service: service_index,
                region: decision.region,
                reason: decision.reason,
                scope: decision.scope,
            },
        });
        decision
    }

    /// For a type other than A and AAAA: writes the CNAME when the client's region answers
    /// one and returns its target; `None` (nothing written) for any other region.
    fn steered_cname<'s>(
        &mut self,
        service_index: ServiceId,
        service: &'s Service,
        owner: Owner<'_>,
        name: &[u8],
        w: &mut ResponseWriter<'_>,
    ) -> Option<&'s Name> {
        let decision = self.decide(service_index, service);
        match steer::answer_kind(service, &decision) {
            AnswerKind::Cname(target) => {
                write_steered_cname(w, owner, service, target);
                self.sign_steered_cname(w, owner, name, service, target, false);
                Some(target)
            }
            AnswerKind::Addresses | AnswerKind::NoData => None,
        }
    }

    /// An RRset in the answer section (with its RRSIGs), then A/AAAA of its in-zone targets
    /// for NS, MX and SRV. `name` is the owner in lower case, `wildcard` whether a wildcard
    /// matched it.
    fn push_answer(
        &mut self,
        set: &RRset,
        owner: Owner<'_>,
        name: &[u8],
        wildcard: bool,
        w: &mut ResponseWriter<'_>,
    ) {
        match (&set.at_question, owner) {
            // Encoded at load: one copy.
            (Some(prepared), Owner::Question) => {
                w.push_at_question(
                    Section::Answer,
                    Overflow::Truncate,
                    prepared,
                    set.rdatas.len(),
                );
            }
            _ => {
                w.push_rrset(
                    Section::Answer,
                    Overflow::Truncate,
                    owner,
                    set.rtype,
                    set.ttl,
                    &set.rdatas,
                );
            }
        }
        self.sign_rrset(w, owner, name, set, &set.rdatas, wildcard);
        if matches!(set.rtype, rtype::NS | rtype::MX | rtype::SRV) {
            self.additional(&set.targets, w);
        }
    }

    /// The apex SOA in the answer section, with its RRSIGs.
    fn push_apex_soa(&mut self, owner: Owner<'_>, w: &mut ResponseWriter<'_>) {
        let soa = &self.zone.soa;
        w.push_rdata(Section::Answer, owner, rtype::SOA, soa.ttl, &soa.rdata);
        if let Some(sign) = &mut self.sign {
            let set = Rrset {
                owner: self.zone.origin.as_wire(),
                rtype: rtype::SOA,
                ttl: soa.ttl,
                rdatas: std::slice::from_ref(&soa.rdata),
            };
            sign.sign(w, Section::Answer, owner, &set, Pool::Stable);
        }
    }

    /// A negative answer's authority section: the SOA with the negative-caching TTL (RFC 2308
    /// 3); with DNSSEC its RRSIGs and the compact-denial NSEC that proves `denial`.
    fn push_negative(&mut self, w: &mut ResponseWriter<'_>, denial: Denial<'_>) {
        // The common case, encoded at load: no DNSSEC, and nothing in the message but the
        // question (the name asked is the question's).
        if self.sign.is_none()
            && let Some(prepared) = &self.zone.negative_soa
            && matches!(denial.owner(), Owner::Question)
            && w.push_prepared(Section::Authority, prepared, denial.name())
                .is_some()
        {
            return;
        }
        let soa = &self.zone.soa;
        let apex = self.zone.origin.as_wire();
        let ttl = soa.negative_ttl();
        w.push_rdata(
            Section::Authority,
            Owner::Name(apex),
            rtype::SOA,
            ttl,
            &soa.rdata,
        );
        let Some(sign) = &mut self.sign else {
            return;
        };
        let set = Rrset {
            owner: apex,
            rtype: rtype::SOA,
            ttl,
            rdatas: std::slice::from_ref(&soa.rdata),
        };
        sign.sign(w, Section::Authority, Owner::Name(apex), &set, Pool::Stable);
        match denial {
            Denial::NoName { name, owner } => {
                let types = denial::nxname_types();
                sign.deny(w, owner, name, &types, ttl, Pool::PerName);
            }
            Denial::NoData {
                name,
                owner,
                node,
                at_apex,
                wildcard,
            } => {
                let types = denial::nodata_types(&Self::types_at(node, at_apex), self.info.qtype);
                sign.deny(w, owner, name, &types, ttl, pool(wildcard));
            }
        }
    }

    /// A referral to the child zone delegated at `cut` (RFC 1034 4.3.2 step 3b): its NS RRset
    /// in the authority section (with DNSSEC, the signed DS RRset, or the NSEC that proves
    /// there is none), glue in the additional section. AA is cleared unless the answer section
    /// already holds this zone's data (a CNAME that led here). Glue of name servers below the
    /// cut is needed to follow the referral: the response truncates when it does not fit (RFC
    /// 9471); addresses of other name servers in this zone go in as room allows.
    fn referral(&mut self, cut: &[u8], node: &Node, w: &mut ResponseWriter<'_>) -> u16 {
        if w.count(Section::Answer) == 0 {
            w.clear_authoritative();
        }
        let Some(ns) = node.rrset(rtype::NS) else {
            return rcode::NOERROR;
        };
        let owner = Owner::Name(cut);
        w.push_rrset(
            Section::Authority,
            Overflow::Truncate,
            owner,
            rtype::NS,
            ns.ttl,
            &ns.rdatas,
        );
        if let Some(sign) = &mut self.sign {
            match node.rrset(rtype::DS) {
                Some(ds) => {
                    w.push_rrset(
                        Section::Authority,
                        Overflow::Truncate,
                        owner,
                        rtype::DS,
                        ds.ttl,
                        &ds.rdatas,
                    );
                    let set = Rrset {
                        owner: cut,
                        rtype: rtype::DS,
                        ttl: ds.ttl,
                        rdatas: &ds.rdatas,
                    };
                    sign.sign(w, Section::Authority, owner, &set, Pool::Stable);
                }
                None => {
                    let ttl = self.zone.soa.negative_ttl();
                    let types = denial::delegation_types();
                    sign.deny(w, owner, cut, &types, ttl, Pool::Stable);
                }
            }
        }
        for target in &ns.targets {
            let needed = wire_is_at_or_below(target.as_wire(), cut);
            if !needed && !target.is_at_or_below(&self.zone.origin) {
                continue;
            }
            let Some(glue) = self.zone.nodes.get(target.as_wire()) else {
                continue;
            };
            let overflow = if needed {
                Overflow::Truncate
            } else {
                Overflow::Omit
            };
            for t in [rtype::A, rtype::AAAA] {
                if let Some(set) = glue.rrset(t) {
                    w.push_rrset(
                        Section::Additional,
                        overflow,
                        Owner::Name(target.as_wire()),
                        t,
                        set.ttl,
                        &set.rdatas,
                    );
                }
            }
        }
        rcode::NOERROR
    }

    /// A and AAAA RRsets of in-zone targets of NS/MX/SRV answers, each whole or not at all;
    /// what does not fit is left out without TC (RFC 2181 9).
    fn additional(&self, targets: &[Name], w: &mut ResponseWriter<'_>) {
        for target in targets {
            if !target.is_at_or_below(&self.zone.origin) {
                continue;
            }
            let Some(node) = self.zone.nodes.get(target.as_wire()) else {
                continue;
            };
            for t in [rtype::A, rtype::AAAA] {
                if let Some(set) = node.rrset(t) {
                    w.push_rrset(
                        Section::Additional,
                        Overflow::Omit,
                        Owner::Name(target.as_wire()),
                        t,
                        set.ttl,
                        &set.rdatas,
                    );
                }
            }
        }
    }
}
