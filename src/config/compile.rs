//! Validation and compilation: schema → model, collecting every error with its line.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::{RData, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};
use ipnet::IpNet;
use toml::Spanned;

use super::duration::{parse_duration, parse_seconds_u32};
use super::model::*;
use super::schema::{self, MainFile, Serial, SpannedStr, ZoneFile};
use super::source::Source;
use super::tiers::parse_tiers;
use crate::dns::name::Name;
use crate::error::{ConfigError, ConfigErrors};
use crate::health::view::SlotId;

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

/// Loads the main file at `path` and every zone (see [`super::load`]).
pub fn load_all(path: &Path, now_unix: u64) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors(vec![ConfigError::unreadable(path.to_path_buf(), e)]))?;
    let src = Source { path, text: &text };
    let main: MainFile =
        toml::from_str(&text).map_err(|e| ConfigErrors(vec![src.toml_error(&e)]))?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut errors = Vec::new();
    let mut cfg = compile_main(&src, &base, main, &mut errors);

    // Zones.
    let mut files = Vec::new();
    match std::fs::read_dir(&cfg.zones_directory) {
        Ok(dir) => {
            for entry in dir.flatten() {
                let p = entry.path();
                if p.extension().is_some_and(|e| e == "toml") && p.is_file() {
                    files.push(p);
                }
            }
        }
        Err(e) => errors.push(src.error_file(format!(
            "zones directory {}: {e}",
            cfg.zones_directory.display()
        ))),
    }
    files.sort();
    let mut origins: HashMap<Name, PathBuf> = HashMap::new();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(ConfigError::unreadable(file, e));
                continue;
            }
        };
        let zsrc = Source {
            path: &file,
            text: &text,
        };
        let parsed: ZoneFile = match toml::from_str(&text) {
            Ok(z) => z,
            Err(e) => {
                errors.push(zsrc.toml_error(&e));
                continue;
            }
        };
        if let Some(zone) = compile_zone(&zsrc, parsed, now_unix, &mut cfg.checks, &mut errors) {
            if let Some(other) = origins.get(&zone.origin) {
                errors.push(zsrc.error_file(format!(
                    "zone {} is also defined in {}",
                    zone.origin,
                    other.display()
                )));
            } else {
                origins.insert(zone.origin.clone(), file.clone());
                cfg.zones.push(zone);
            }
        }
    }
    if cfg.geoip_database.is_none()
        && cfg
            .zones
            .iter()
            .flat_map(|z| &z.services)
            .any(|s| s.map.uses_geo())
    {
        errors.push(src.error_file(
            "a map uses continent:/country:/subdivision: keys but [geoip] database is not set",
        ));
    }
    cfg.zones.sort_by(|a, b| a.origin.cmp(&b.origin));
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigErrors(errors))
    }
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

fn parse_nets(src: &Source<'_>, list: &[SpannedStr], errors: &mut Vec<ConfigError>) -> Vec<IpNet> {
    let mut out = Vec::new();
    for item in list {
        let text = item.get_ref().trim();
        match IpNet::from_str(text).or_else(|_| IpAddr::from_str(text).map(IpNet::from)) {
            Ok(n) => out.push(n.trunc()),
            Err(_) => {
                errors.push(src.error(item.span(), format!("{text:?} is not a CIDR network")))
            }
        }
    }
    out
}

fn duration_or(
    src: &Source<'_>,
    value: &Option<SpannedStr>,
    default: Duration,
    errors: &mut Vec<ConfigError>,
) -> Duration {
    match value {
        None => default,
        Some(v) => parse_duration(v.get_ref()).unwrap_or_else(|e| {
            errors.push(src.error(v.span(), e));
            default
        }),
    }
}

/// Longest `[server] nsid`: with it, the header, the longest question (259 octets) and an
/// OPT carrying NSID, ECS and an extended error still fit a 512-octet UDP reply.
pub const MAX_NSID_LEN: usize = 128;

fn compile_main(
    src: &Source<'_>,
    base: &Path,
    main: MainFile,
    errors: &mut Vec<ConfigError>,
) -> Config {
    let s = main.server;
    let mut listen = Vec::new();
    match &s.listen {
        None => listen.push(SocketAddr::from(([127, 0, 0, 1], 53))),
        Some(list) => {
            for item in list {
                match SocketAddr::from_str(item.get_ref()) {
                    Ok(a) if listen.contains(&a) => errors.push(
                        src.error(item.span(), format!("listen address {a} is listed twice")),
                    ),
                    Ok(a) => listen.push(a),
                    Err(_) => errors.push(src.error(
                        item.span(),
                        format!(
                            "listen address {:?} is not IP:PORT (IPv6 as [::1]:53)",
                            item.get_ref()
                        ),
                    )),
                }
            }
        }
    }
    let debug_from = match &s.debug_from {
        None => vec![
            IpNet::from_str("127.0.0.0/8").unwrap_or_default(),
            loopback6(),
        ],
        Some(list) => parse_nets(src, list, errors),
    };
    let nsid = s.nsid.as_ref().map(|n| n.get_ref().as_bytes().to_vec());
    if let Some(n) = s.nsid.as_ref().filter(|n| n.get_ref().len() > MAX_NSID_LEN) {
        // A longer payload would not leave room for the question in a 512-octet reply.
        errors.push(src.error(
            n.span(),
            format!("nsid must be at most {MAX_NSID_LEN} bytes"),
        ));
    }
    let server = ServerSettings {
        listen,
        workers: s.workers.unwrap_or(0),
        nsid,
        identity: s.identity.map(Spanned::into_inner),
        version: s.version.unwrap_or(false),
        tcp_idle_timeout: duration_or(src, &s.tcp_idle_timeout, Duration::from_secs(10), errors),
        max_tcp_connections: s.max_tcp_connections.unwrap_or(1024),
        max_tcp_connections_per_client: s.max_tcp_connections_per_client.unwrap_or(64),
        debug_from,
        pid_file: resolve(
            base,
            s.pid_file.as_ref().map_or("steerdns.pid", |p| p.get_ref()),
        ),
    };
    let r = main.rrl;
    let v4 = r.ipv4_prefix.as_ref().map_or(24, |p| *p.get_ref());
    let v6 = r.ipv6_prefix.as_ref().map_or(56, |p| *p.get_ref());
    if let Some(p) = r.ipv4_prefix.as_ref().filter(|p| *p.get_ref() > 32) {
        errors.push(src.error(p.span(), "ipv4_prefix must be at most 32"));
    }
    if let Some(p) = r.ipv6_prefix.as_ref().filter(|p| *p.get_ref() > 128) {
        errors.push(src.error(p.span(), "ipv6_prefix must be at most 128"));
    }
    let rrl = RrlSettings {
        enabled: r.enabled.unwrap_or(true),
        responses_per_second: r.responses_per_second.unwrap_or(200),
        slip: r.slip.unwrap_or(2),
        ipv4_prefix: v4.min(32),
        ipv6_prefix: v6.min(128),
        exempt: match &r.exempt {
            None => vec![
                IpNet::from_str("127.0.0.0/8").unwrap_or_default(),
                loopback6(),
            ],
            Some(list) => parse_nets(src, list, errors),
        },
    };
    let metrics_listen = match &main.metrics.listen {
        None => Some(SocketAddr::from(([127, 0, 0, 1], 9153))),
        Some(v) if v.get_ref().is_empty() => None,
        Some(v) => match SocketAddr::from_str(v.get_ref()) {
            Ok(a) => Some(a),
            Err(_) => {
                errors.push(src.error(v.span(), format!("{:?} is not IP:PORT", v.get_ref())));
                None
            }
        },
    };
    Config {
        main_path: src.path.to_path_buf(),
        server,
        health_state_file: resolve(
            base,
            main.health
                .state_file
                .as_ref()
                .map_or("steerdns.health", |p| p.get_ref()),
        ),
        geoip_database: main
            .geoip
            .database
            .as_ref()
            .map(|d| resolve(base, d.get_ref())),
        rrl,
        zones_directory: resolve(
            base,
            main.zones
                .directory
                .as_ref()
                .map_or("zones", |p| p.get_ref()),
        ),
        metrics_listen,
        log: LogSettings {
            format: main.log.format.unwrap_or_default(),
            queries: main.log.queries.unwrap_or(false),
        },
        zones: Vec::new(),
        checks: Vec::new(),
    }
}

fn loopback6() -> IpNet {
    IpNet::from(IpAddr::from(std::net::Ipv6Addr::LOCALHOST))
}

// === zones ===

struct ZoneCtx<'a, 'b> {
    src: &'a Source<'b>,
    origin: Name,
    errors: &'a mut Vec<ConfigError>,
}

impl ZoneCtx<'_, '_> {
    fn err(&mut self, span: std::ops::Range<usize>, msg: impl Into<String>) {
        self.errors.push(self.src.error(span, msg));
    }

    /// Parses an owner name relative to the origin; it must be inside the zone.
    fn owner(&mut self, text: &SpannedStr) -> Option<Name> {
        match Name::parse_relative(text.get_ref(), &self.origin) {
            Ok(n) if n.is_at_or_below(&self.origin) => Some(n),
            Ok(n) => {
                let msg = format!("name {n} is outside the zone {}", self.origin);
                self.err(text.span(), msg);
                None
            }
            Err(e) => {
                self.err(text.span(), format!("bad name: {e}"));
                None
            }
        }
    }

    fn absolute_name(&mut self, text: &SpannedStr, what: &str) -> Option<Name> {
        match Name::parse_relative(text.get_ref(), &self.origin) {
            Ok(n) => Some(n),
            Err(e) => {
                self.err(text.span(), format!("bad {what}: {e}"));
                None
            }
        }
    }

    fn seconds(&mut self, value: &Option<SpannedStr>, default: u32) -> u32 {
        match value {
            None => default,
            Some(v) => parse_seconds_u32(v.get_ref()).unwrap_or_else(|e| {
                self.err(v.span(), e);
                default
            }),
        }
    }
}

fn compile_zone(
    src: &Source<'_>,
    file: ZoneFile,
    now_unix: u64,
    checks_out: &mut Vec<CheckedEndpoint>,
    errors: &mut Vec<ConfigError>,
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
    };
    let zone_ttl = file.ttl.as_ref().map_or(300, |t| *t.get_ref());

    // SOA.
    let soa_span = file.soa.span();
    let soa = file.soa.into_inner();
    let serial = match soa.serial.get_ref() {
        Serial::Number(n) => *n,
        Serial::Word(w) if w == "auto" => (now_unix & 0xFFFF_FFFF) as u32,
        Serial::Word(w) => {
            cx.err(
                soa.serial.span(),
                format!("serial {w:?} must be a number or \"auto\""),
            );
            0
        }
    };
    let refresh = cx.seconds(&soa.refresh, 3600);
    let retry = cx.seconds(&soa.retry, 600);
    let expire = cx.seconds(&soa.expire, 604_800);
    let minimum = cx.seconds(&soa.minimum, 30);
    let mname = cx.absolute_name(&soa.mname, "mname");
    let rname = cx.absolute_name(&soa.rname, "rname");
    let mut soa_rdata = Vec::new();
    if let (Some(m), Some(r)) = (&mname, &rname) {
        soa_rdata.extend_from_slice(m.as_wire());
        soa_rdata.extend_from_slice(r.as_wire());
        for v in [serial, refresh, retry, expire, minimum] {
            soa_rdata.extend_from_slice(&v.to_be_bytes());
        }
    }
    let _ = soa_span;

    // Static records.
    let mut nodes: rustc_hash::FxHashMap<Name, Node> = rustc_hash::FxHashMap::default();
    nodes.insert(origin.clone(), Node::default());
    let mut record_lines: HashMap<(Name, u16), usize> = HashMap::new();
    for rec in &file.record {
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

    // Regions.
    let mut regions: BTreeMap<String, RegionState> = BTreeMap::new();
    for (name, entry) in &file.region {
        if parse_tiers(name)
            .map(|t| t.len() != 1 || t[0].len() != 1)
            .unwrap_or(true)
        {
            cx.err(
                entry.span(),
                format!("region name {name:?} may hold only letters, digits, - _ ."),
            );
        }
        regions.insert(
            name.clone(),
            entry.get_ref().state.unwrap_or(RegionState::Active),
        );
    }

    // Checks.
    let mut checks: HashMap<String, CheckParams> = HashMap::new();
    for (name, entry) in &file.check {
        if let Some(p) = compile_check(&mut cx, name, entry) {
            checks.insert(name.clone(), p);
        }
    }

    // Named maps: parsed once, compiled per service.
    let mut maps: HashMap<String, RawMap> = HashMap::new();
    for (name, entry) in &file.map {
        let parsed = parse_map(&mut cx, entry.get_ref(), entry.span(), &regions);
        maps.insert(name.clone(), parsed);
    }

    // Services.
    let zone_label = origin.to_string().trim_end_matches('.').to_string();
    let mut compiled_maps: HashMap<(String, Vec<String>), Arc<GeoMap>> = HashMap::new();
    let mut services = Vec::new();
    for (key, entry) in &file.service {
        let span = entry.span();
        let svc = entry.get_ref();
        let key_spanned = Spanned::new(span.clone(), key.clone());
        let Some(owner) = cx.owner(&key_spanned) else {
            continue;
        };
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
                parse_map(&mut cx, g.get_ref(), g.span(), &regions),
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
        let min_up_default = svc.min_up.as_ref().map_or(1, |m| *m.get_ref());
        let service_check = svc.check.as_ref();
        let mut sregions = Vec::new();
        for (rname, rentry) in &svc.region {
            let rspan = rentry.span();
            let r = rentry.get_ref();
            let Some(&region_state) = regions.get(rname) else {
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
            let mut endpoints = Vec::new();
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
                state: r.state.unwrap_or(region_state),
                weight: r.weight.unwrap_or(100),
                endpoints,
                cname: cname_target,
                cname_slot,
                min_up: min_up.max(1),
                seed: region_seed(rname),
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
        let max_answers = svc.max_answers.as_ref().map_or(8, |m| *m.get_ref());
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
                let Some(map) = compile_map(&mut cx, key, map_name, &raw, &sregions) else {
                    continue;
                };
                let map = Arc::new(map);
                if let Some(k) = shared_key {
                    compiled_maps.insert(k, map.clone());
                }
                map
            }
        };
        // A service owns A, AAAA and CNAME at its name.
        let node = nodes.entry(owner.clone()).or_default();
        for t in [RecordType::A, RecordType::AAAA, RecordType::CNAME] {
            if node.rrset(u16::from(t)).is_some() {
                cx.err(
                    span.clone(),
                    format!("{owner} is a service and also has static {t} records"),
                );
            }
        }
        node.service = Some(services.len());
        services.push(Service {
            key: key.clone(),
            owner,
            ttl: svc.ttl.unwrap_or(30),
            max_answers: max_answers.max(1) as usize,
            fallback,
            regions: sregions,
            map,
        });
    }

    // Empty non-terminals: every ancestor of every owner, up to the origin.
    let owners: Vec<Name> = nodes.keys().cloned().collect();
    let mut has_wildcards = false;
    for owner in owners {
        has_wildcards |= owner.is_wildcard();
        let mut at = owner.parent();
        while let Some(p) = at {
            if !p.is_at_or_below(&origin) || nodes.contains_key(&p) {
                break;
            }
            nodes.insert(p.clone(), Node::default());
            at = p.parent();
        }
    }

    if cx.errors.len() > before {
        return None;
    }
    Some(Zone {
        origin,
        file: src.path.to_path_buf(),
        soa: Soa {
            rdata: soa_rdata.into(),
            ttl: zone_ttl,
            minimum,
            serial,
        },
        nodes,
        has_wildcards,
        services,
    })
}

/// Stable 64-bit seed of a region name (FNV-1a), so hashing survives reloads and reordering.
pub fn region_seed(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

type RawMap = Vec<(String, Vec<Vec<String>>, std::ops::Range<usize>)>;

fn parse_map(
    cx: &mut ZoneCtx<'_, '_>,
    entries: &BTreeMap<String, SpannedStr>,
    span: std::ops::Range<usize>,
    regions: &BTreeMap<String, RegionState>,
) -> RawMap {
    let mut out = Vec::new();
    if !entries.contains_key("default") {
        cx.err(
            span,
            "map has no \"default\" key (every client must match something)",
        );
    }
    for (key, value) in entries {
        if let Err(e) = classify_key(key) {
            cx.err(value.span(), e);
            continue;
        }
        match parse_tiers(value.get_ref()) {
            Ok(tiers) => {
                for name in tiers.iter().flatten() {
                    if !regions.contains_key(name) {
                        let msg =
                            format!("map key {key:?}: region {name:?} is not defined in [region]");
                        cx.err(value.span(), msg);
                    }
                }
                out.push((key.clone(), tiers, value.span()));
            }
            Err(e) => cx.err(value.span(), format!("map key {key:?}: {e}")),
        }
    }
    out
}

/// A parsed map key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapKey {
    /// `default`.
    Default,
    /// `continent:XX`.
    Continent([u8; 2]),
    /// `country:XX`.
    Country([u8; 2]),
    /// `subdivision:XX-YY`.
    Subdivision(String),
    /// `net:CIDR`.
    Net(IpNet),
}

const CONTINENTS: &[&str] = &["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

/// Parses and checks a map key.
pub fn classify_key(key: &str) -> Result<MapKey, String> {
    if key == "default" {
        return Ok(MapKey::Default);
    }
    let Some((kind, value)) = key.split_once(':') else {
        return Err(format!(
            "map key {key:?} must be default, continent:XX, country:XX, subdivision:XX-YY or net:CIDR"
        ));
    };
    let two = |v: &str| -> Option<[u8; 2]> {
        let b = v.as_bytes();
        (b.len() == 2 && b.iter().all(u8::is_ascii_alphabetic))
            .then(|| [b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()])
    };
    match kind {
        "continent" => match two(value) {
            Some(c) if CONTINENTS.contains(&std::str::from_utf8(&c).unwrap_or("")) => {
                Ok(MapKey::Continent(c))
            }
            _ => Err(format!(
                "map key {key:?}: continent must be one of {}",
                CONTINENTS.join(" ")
            )),
        },
        "country" => two(value)
            .map(MapKey::Country)
            .ok_or_else(|| format!("map key {key:?}: country must be an ISO 3166 alpha-2 code")),
        "subdivision" => {
            let ok = value.len() >= 4
                && value.as_bytes()[2] == b'-'
                && two(&value[..2]).is_some()
                && value[3..].bytes().all(|b| b.is_ascii_alphanumeric());
            if ok {
                Ok(MapKey::Subdivision(value.to_ascii_uppercase()))
            } else {
                Err(format!(
                    "map key {key:?}: subdivision must be ISO 3166-2 like US-CA"
                ))
            }
        }
        "net" => IpNet::from_str(value)
            .map(|n| MapKey::Net(n.trunc()))
            .map_err(|_| format!("map key {key:?}: {value:?} is not a CIDR network")),
        _ => Err(format!("map key {key:?}: unknown kind {kind:?}")),
    }
}

fn compile_map(
    cx: &mut ZoneCtx<'_, '_>,
    service: &str,
    name: String,
    raw: &RawMap,
    sregions: &[ServiceRegion],
) -> Option<GeoMap> {
    let mut map = GeoMap {
        name,
        entries: Vec::new(),
        default: 0,
        continents: Vec::new(),
        countries: Vec::new(),
        subdivisions: Vec::new(),
        nets: Vec::new(),
    };
    let mut has_default = false;
    for (key, tiers, span) in raw {
        let Ok(kind) = classify_key(key) else {
            continue;
        };
        let mut missing = Vec::new();
        let mut compiled = Vec::new();
        for tier in tiers {
            let mut ids = Vec::new();
            for region in tier {
                match sregions.iter().position(|r| &r.name == region) {
                    Some(i) => ids.push(i),
                    None => missing.push(region.clone()),
                }
            }
            if !ids.is_empty() {
                compiled.push(ids);
            }
        }
        if compiled.is_empty() {
            cx.err(
                span.clone(),
                format!(
                    "service {service}: map key {key:?} names no region that the service defines"
                ),
            );
            continue;
        }
        let idx = map.entries.len();
        map.entries.push(MapEntry {
            key: key.clone(),
            tiers: compiled,
            missing,
        });
        match kind {
            MapKey::Default => {
                map.default = idx;
                has_default = true;
            }
            MapKey::Continent(c) => map.continents.push((c, idx)),
            MapKey::Country(c) => map.countries.push((c, idx)),
            MapKey::Subdivision(s) => map.subdivisions.push((s, idx)),
            MapKey::Net(n) => map.nets.push((n, idx)),
        }
    }
    map.nets
        .sort_by_key(|n| std::cmp::Reverse(n.0.prefix_len()));
    has_default.then_some(map)
}

fn compile_check(
    cx: &mut ZoneCtx<'_, '_>,
    name: &str,
    entry: &Spanned<schema::CheckEntry>,
) -> Option<CheckParams> {
    let span = entry.span();
    let c = entry.get_ref();
    let src = cx.src;
    let before = cx.errors.len();
    let interval = duration_or(src, &c.interval, Duration::from_secs(5), cx.errors);
    let timeout = duration_or(src, &c.timeout, Duration::from_secs(2), cx.errors);
    if timeout >= interval {
        cx.err(
            span.clone(),
            format!("check {name}: timeout must be less than interval"),
        );
    }
    if interval.is_zero() || timeout.is_zero() {
        cx.err(
            span.clone(),
            format!("check {name}: interval and timeout must be positive"),
        );
    }
    let rise = c.rise.as_ref().map_or(2, |r| *r.get_ref());
    let fall = c.fall.as_ref().map_or(3, |r| *r.get_ref());
    for (what, v) in [("rise", &c.rise), ("fall", &c.fall)] {
        if let Some(v) = v.as_ref().filter(|v| *v.get_ref() == 0) {
            cx.err(v.span(), format!("check {name}: {what} must be at least 1"));
        }
    }
    let port = match (c.kind, c.port) {
        (_, Some(p)) => p,
        (CheckKind::Https, None) => 443,
        (CheckKind::Tcp, None) => {
            cx.err(
                span.clone(),
                format!("check {name}: a tcp check needs a port"),
            );
            0
        }
        _ => 80,
    };
    if c.reuse_connection == Some(true) && c.kind != CheckKind::Http {
        cx.err(
            span.clone(),
            format!("check {name}: reuse_connection is only for kind = \"http\""),
        );
    }
    let expect_status = c.expect_status.clone().unwrap_or_else(|| vec![200]);
    if expect_status.iter().any(|s| !(100..=599).contains(s)) {
        cx.err(
            span.clone(),
            format!("check {name}: expect_status values must be 100-599"),
        );
    }
    let path = c
        .path
        .as_ref()
        .map_or_else(|| "/".to_string(), |p| p.get_ref().clone());
    if !path.starts_with('/')
        && let Some(p) = &c.path
    {
        cx.err(p.span(), format!("check {name}: path must start with /"));
    }
    (cx.errors.len() == before).then(|| CheckParams {
        name: name.to_string(),
        kind: c.kind,
        path,
        port,
        host: c.host.clone(),
        expect_status,
        expect_body: c.expect_body.clone(),
        tls_verify: c.tls_verify.unwrap_or(true),
        sni: c.sni.clone(),
        reuse_connection: c.reuse_connection.unwrap_or(false),
        interval,
        timeout,
        rise,
        fall,
    })
}

/// Encodes presentation-format RDATA to wire bytes (names uncompressed), returning the target
/// name for types that point at one. Relative names in the last field of NS, CNAME, PTR, MX
/// and SRV are made absolute with the zone origin, as in a zone file.
fn encode_rdata(
    rtype: RecordType,
    text: &str,
    origin: &Name,
) -> Result<(Vec<u8>, Option<Name>), String> {
    let names_last = matches!(
        rtype,
        RecordType::NS | RecordType::CNAME | RecordType::PTR | RecordType::MX | RecordType::SRV
    );
    let mut text = text.trim().to_string();
    if names_last {
        let (head, last) = match text.rsplit_once(char::is_whitespace) {
            Some((h, l)) => (format!("{h} "), l.to_string()),
            None => (String::new(), text.clone()),
        };
        let abs = Name::parse_relative(&last, origin).map_err(|e| e.to_string())?;
        text = format!("{head}{abs}");
    }
    let rdata = RData::try_from_str(rtype, &text).map_err(|e| e.to_string())?;
    let target = match &rdata {
        RData::CNAME(n) => Some(n.0.to_ascii()),
        RData::NS(n) => Some(n.0.to_ascii()),
        RData::PTR(n) => Some(n.0.to_ascii()),
        RData::MX(mx) => Some(mx.exchange.to_ascii()),
        RData::SRV(srv) => Some(srv.target.to_ascii()),
        _ => None,
    };
    let target = match target {
        Some(t) => Some(Name::parse_absolute(&t).map_err(|e| e.to_string())?),
        None => None,
    };
    let mut buf = Vec::new();
    let mut enc = BinEncoder::new(&mut buf);
    enc.set_name_encoding(NameEncoding::Uncompressed);
    rdata.emit(&mut enc).map_err(|e| e.to_string())?;
    if buf.len() > 65_535 {
        return Err("record data longer than 65535 bytes".into());
    }
    Ok((buf, target))
}

/// Reads only the main file and returns the `[geoip] database` path, resolved.
pub fn geoip_path_of(path: &Path) -> Result<Option<PathBuf>, ConfigError> {
    let (main, base) = main_only(path)?;
    Ok(main
        .geoip
        .database
        .as_ref()
        .map(|d| resolve(&base, d.get_ref())))
}

/// Reads only the main file and returns the admin listener address (`None` when off or
/// unparsable; the daemon reports the latter itself).
pub fn metrics_listen_of(path: &Path) -> Result<Option<SocketAddr>, ConfigError> {
    let (main, _) = main_only(path)?;
    Ok(match &main.metrics.listen {
        None => Some(SocketAddr::from(([127, 0, 0, 1], 9153))),
        Some(v) => SocketAddr::from_str(v.get_ref()).ok(),
    })
}

fn main_only(path: &Path) -> Result<(MainFile, PathBuf), ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::unreadable(path.to_path_buf(), e))?;
    let src = Source { path, text: &text };
    let main: MainFile = toml::from_str(&text).map_err(|e| src.toml_error(&e))?;
    Ok((
        main,
        path.parent().map(Path::to_path_buf).unwrap_or_default(),
    ))
}

/// Reads only the main file and returns the pid file path (for `steerdns reload`, which must
/// work even when a zone file is broken: the daemon reports that itself).
pub fn pid_file_of(path: &Path) -> Result<PathBuf, ConfigError> {
    let (main, base) = main_only(path)?;
    let pid = main
        .server
        .pid_file
        .as_ref()
        .map_or("steerdns.pid", |p| p.get_ref());
    Ok(resolve(&base, pid))
}
