//! The compiled configuration: what the answer path and the checker read.
//!
//! Built by `compile.rs` from the schema. Names are resolved to indices, tier strings are
//! parsed, every reference is checked, so the answer path never meets a dangling name.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;

pub use super::schema::{CheckKind, LogFormat, RegionState};
use crate::dns::cookie::CookieSecret;
use crate::dns::name::Name;
use crate::dns::rdata::Rdata;
use crate::error::MapKeyError;
use crate::geo::{ContinentCode, CountryCode};
use crate::health::persist::endpoint_key;
use crate::health::view::SlotId;

//------------ Ids -------------------------------------------------------------------------------

/// Defines an index newtype for one table of the model, and indexing of that table by it, so
/// an id of one table (or of another snapshot's table) is not taken for another by accident.
macro_rules! index_id {
    ($(#[$doc:meta])* $id:ident => $table:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $id(pub u32);

        impl $id {
            /// The id of the `i`-th row.
            pub const fn from_index(i: usize) -> Self {
                // Tables are built from config files; none comes near 2^32 rows.
                Self(i as u32)
            }

            /// The row this id names.
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl std::ops::Index<$id> for [$table] {
            type Output = $table;

            fn index(&self, id: $id) -> &$table {
                &self[id.index()]
            }
        }

        impl std::ops::Index<$id> for Vec<$table> {
            type Output = $table;

            fn index(&self, id: $id) -> &$table {
                &self[id.index()]
            }
        }
    };
}

index_id!(
    /// A zone: its index in [`Config::zones`].
    ZoneId => Zone
);
index_id!(
    /// A service of a zone: its index in [`Zone::services`].
    ServiceId => Service
);
index_id!(
    /// A region as one service sees it: its index in [`Service::regions`].
    RegionId => ServiceRegion
);
index_id!(
    /// An entry of a geo map: its index in [`GeoMap::entries`].
    MapEntryId => MapEntry
);

//------------ Config ----------------------------------------------------------------------------

/// A fully validated configuration: main settings and every zone.
#[derive(Debug)]
pub struct Config {
    /// Path of the main config file.
    pub main_path: PathBuf,
    /// `[server]` settings.
    pub server: ServerSettings,
    /// `[health] state_file`, resolved.
    pub health_state_file: PathBuf,
    /// `[health] source_v4` / `source_v6`: where probes leave from.
    pub probe_sources: ProbeSources,
    /// `[geoip] database`, resolved; `None` when not configured.
    pub geoip_database: Option<PathBuf>,
    /// The line of `[geoip] database` in the main file, for errors opening it.
    pub geoip_database_line: Option<usize>,
    /// `[rrl]` settings.
    pub rrl: RrlSettings,
    /// `[zones] directory`, resolved.
    pub zones_directory: PathBuf,
    /// `[metrics] listen`; `None` = disabled.
    pub metrics_listen: Option<SocketAddr>,
    /// `[metrics] trusted` and `token_file`: who may use `/v1/*` and `/`.
    pub admin_access: AdminAccess,
    /// `[log]` settings.
    pub log: LogSettings,
    /// `[peers]`; `None` when no peer is listed (this instance decides alone).
    pub peers: Option<PeersSettings>,
    /// Zones, sorted by origin.
    pub zones: Vec<Zone>,
    /// Every endpoint that has a health check, in slot order (`checks[i].slot == SlotId(i)`).
    pub checks: Vec<CheckedEndpoint>,
    /// How many services have a rollout (live weight slots `0..rollouts`, in zone then
    /// service order).
    pub rollouts: usize,
    /// Problems that do not stop the configuration from loading (`check` prints them), each
    /// `file:line: warning: ...`: `net:` keys longer than resolvers' ECS prefixes.
    pub warnings: Vec<crate::error::ConfigError>,
}

/// `[server]`, with defaults applied.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// UDP and TCP listen addresses.
    pub listen: Vec<SocketAddr>,
    /// UDP worker threads (0 = one per core).
    pub workers: usize,
    /// NSID payload.
    pub nsid: Option<Vec<u8>>,
    /// CHAOS identity.
    pub identity: Option<String>,
    /// Whether `version.bind` is answered.
    pub version: bool,
    /// Idle TCP timeout.
    pub tcp_idle_timeout: Duration,
    /// Maximum concurrent TCP connections.
    pub max_tcp_connections: usize,
    /// Maximum concurrent TCP connections per client address.
    pub max_tcp_connections_per_client: usize,
    /// Who may ask `_explain`.
    pub debug_from: Vec<IpNet>,
    /// Pid file path.
    pub pid_file: PathBuf,
    /// DNS Cookies server secret from `cookie_secret_file`; `None`: a random one made at
    /// start (kept across reloads).
    pub cookie_secret: Option<CookieSecret>,
}

/// `[health] source_v4` and `source_v6`: the local addresses probes are bound to, per address
/// family of the endpoint probed. `None`: the kernel picks the source, as for any connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeSources {
    /// Source of probes to IPv4 endpoints.
    pub v4: Option<std::net::Ipv4Addr>,
    /// Source of probes to IPv6 endpoints.
    pub v6: Option<std::net::Ipv6Addr>,
}

impl ProbeSources {
    /// The source address for a probe of `target`: the one of its family, if set.
    pub fn for_target(&self, target: IpAddr) -> Option<IpAddr> {
        match target {
            IpAddr::V4(_) => self.v4.map(IpAddr::V4),
            IpAddr::V6(_) => self.v6.map(IpAddr::V6),
        }
    }
}

/// `[peers] quorum`: when the observers of an endpoint call it down (SPEC §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quorum {
    /// More than half of the observers.
    Majority,
    /// At least this many observers (all of them when fewer are heard from).
    AtLeast(std::num::NonZeroU32),
}

/// `[peers]`: the other instances this one agrees with on endpoint health (SPEC §4.1).
#[derive(Debug, Clone)]
pub struct PeersSettings {
    /// Base URLs of the peers' admin listeners, without a trailing slash.
    pub urls: Vec<String>,
    /// The token sent as `Authorization: Bearer` (the peers' `[metrics] token_file`).
    pub token: Option<Token>,
    /// Time between two reads of each peer.
    pub poll: Duration,
    /// A peer whose last good read is this old does not count.
    pub stale_after: Duration,
    /// When an endpoint is down.
    pub quorum: Quorum,
}

/// `[rrl]`, with defaults applied.
#[derive(Debug, Clone)]
pub struct RrlSettings {
    /// On or off.
    pub enabled: bool,
    /// Allowed responses per second per client prefix and kind.
    pub responses_per_second: u32,
    /// Every Nth limited response is a TC=1 reply (0 = none).
    pub slip: u32,
    /// IPv4 client prefix length.
    pub ipv4_prefix: u8,
    /// IPv6 client prefix length.
    pub ipv6_prefix: u8,
    /// Never limited.
    pub exempt: Vec<IpNet>,
}

/// `[log]`, with defaults applied.
#[derive(Debug, Clone, Copy)]
pub struct LogSettings {
    /// Text or JSON.
    pub format: LogFormat,
    /// One line per query.
    pub queries: bool,
}

/// One authoritative zone.
#[derive(Debug)]
pub struct Zone {
    /// Zone apex.
    pub origin: Name,
    /// The file it came from.
    pub file: PathBuf,
    /// SOA record data.
    pub soa: Soa,
    /// The SOA record of negative answers encoded once for the writer (the general path
    /// writes it when this is `None` or does not apply).
    pub negative_soa: Option<crate::dns::compress::Prepared>,
    /// Every name that exists in the zone (including empty non-terminals). Fx hashing: the
    /// keys are the operator's, so a client can only look up, never fill the table, and
    /// SipHash's flooding resistance would buy nothing for its cost per query.
    pub nodes: rustc_hash::FxHashMap<Name, Node>,
    /// Whether any wildcard owner exists (skips wildcard lookups otherwise).
    pub has_wildcards: bool,
    /// Whether any NS RRset sits below the apex: a zone cut (skips the cut search otherwise).
    pub has_cuts: bool,
    /// Steered names.
    pub services: Vec<Service>,
    /// Keys and signing policy when the zone has `[dnssec]` (keys read at load).
    pub dnssec: Option<crate::dnssec::zone::ZoneSigner>,
    /// The `subdivision:` map keys of this file as (line, key), so a load can warn when the
    /// GeoIP database has no subdivision data (they would never match).
    pub subdivision_keys: Vec<(usize, String)>,
}

/// What a walk from a zone's apex down to a name finds ([`Zone::descend`]).
#[derive(Debug, Clone, Copy)]
pub enum Descent<'n, 'z> {
    /// The topmost zone cut at or above the name (the name itself included, the apex
    /// excluded), with its node: the name is the child zone's (RFC 1034 4.3.2 step 3b), but
    /// for DS at the cut itself (RFC 4035 2.4).
    Cut(&'n [u8], &'z Node),
    /// The name's own node (no cut above it).
    Found(&'z Node),
    /// No such name. `encloser` is its nearest existing ancestor (the closest encloser of
    /// RFC 4592) when the walk saw it, `None` when it did not walk.
    Missing {
        /// The closest encloser, when known.
        encloser: Option<&'n [u8]>,
    },
}

impl Zone {
    /// Finds `name` (lower-case wire form, at or below the origin) and the zone cut above it
    /// in one walk. A zone without cuts looks the name up once. A zone with cuts walks from
    /// the apex down, one lookup per label below it: every ancestor of an existing name
    /// exists (empty non-terminals), so the first missing one ends the walk, and the last
    /// one found is the closest encloser; the first with an NS RRset is the cut.
    pub fn descend<'n>(&self, name: &'n [u8]) -> Descent<'n, '_> {
        if !self.has_cuts {
            return match self.nodes.get(name) {
                Some(node) => Descent::Found(node),
                None => Descent::Missing { encloser: None },
            };
        }
        let origin = self.origin.as_wire();
        let Some(stop) = name.len().checked_sub(origin.len()) else {
            return Descent::Missing { encloser: None };
        };
        // Where each label below the origin starts, nearest the name first (a name has at
        // most 127 labels, 255 octets).
        let mut starts = [0u8; 128];
        let mut count = 0;
        let mut at = 0;
        while at < stop {
            starts[count] = at as u8;
            count += 1;
            at += 1 + usize::from(name[at]);
        }
        let mut encloser = &name[stop..];
        for &start in starts[..count].iter().rev() {
            let suffix = &name[usize::from(start)..];
            let Some(node) = self.nodes.get(suffix) else {
                return Descent::Missing {
                    encloser: Some(encloser),
                };
            };
            if node.rrset(crate::dns::codes::rtype::NS).is_some() {
                return Descent::Cut(suffix, node);
            }
            if start == 0 {
                return Descent::Found(node);
            }
            encloser = suffix;
        }
        // The name is the origin itself.
        match self.nodes.get(name) {
            Some(node) => Descent::Found(node),
            None => Descent::Missing { encloser: None },
        }
    }
}

/// A zone's label in metrics, logs and health keys: the origin without its final dot (`.`
/// for the root).
pub fn zone_label(origin: &Name) -> String {
    let text = origin.to_string();
    let trimmed = text.trim_end_matches('.');
    if trimmed.is_empty() {
        ".".into()
    } else {
        trimmed.to_string()
    }
}

/// The zone's SOA.
#[derive(Debug)]
pub struct Soa {
    /// Encoded RDATA.
    pub rdata: Rdata,
    /// TTL of the SOA record itself (the zone's `ttl`).
    pub ttl: u32,
    /// Negative-caching TTL (`minimum`).
    pub minimum: u32,
    /// Serial.
    pub serial: u32,
}

impl Soa {
    /// TTL of the SOA in negative answers (RFC 2308): min(SOA TTL, minimum).
    pub fn negative_ttl(&self) -> u32 {
        self.ttl.min(self.minimum)
    }
}

/// What exists at one owner name.
#[derive(Debug, Default)]
pub struct Node {
    /// Static RRsets.
    pub rrsets: Vec<RRset>,
    /// A steered service at this name (answers A, AAAA, and CNAME regions).
    pub service: Option<ServiceId>,
}

impl Node {
    /// The RRset of a type.
    pub fn rrset(&self, rtype: u16) -> Option<&RRset> {
        self.rrsets.iter().find(|r| r.rtype == rtype)
    }
    /// An empty non-terminal: exists only because names below it do.
    pub fn is_empty_non_terminal(&self) -> bool {
        self.rrsets.is_empty() && self.service.is_none()
    }
}

/// Records of one type at one name.
#[derive(Debug)]
pub struct RRset {
    /// Record type code.
    pub rtype: u16,
    /// TTL.
    pub ttl: u32,
    /// Encoded RDATA of each record (names uncompressed, with their places).
    pub rdatas: Vec<Rdata>,
    /// Target names for CNAME/NS/MX/SRV/PTR records (for chasing and additional data).
    pub targets: Vec<Name>,
    /// The whole RRset as the writer writes it owned by the question name (every owner a
    /// pointer to offset 12), when no RDATA holds a compressible name; set at load.
    pub at_question: Option<Box<[u8]>>,
}

/// A steered name.
#[derive(Debug)]
pub struct Service {
    /// Config key (`www`).
    pub key: String,
    /// Owner name.
    pub owner: Name,
    /// TTL of steered answers.
    pub ttl: u32,
    /// Endpoints per answer.
    pub max_answers: usize,
    /// Sorry-server addresses.
    pub fallback: Vec<IpAddr>,
    /// Regions that serve this service (index = service region id).
    pub regions: Vec<ServiceRegion>,
    /// The geo map, compiled against `regions` (shared by services with the same named map
    /// and the same regions).
    pub map: std::sync::Arc<GeoMap>,
    /// `[service.NAME.rollout]`: a staged rollout of one canary region (SPEC 4.2).
    pub rollout: Option<ServiceRollout>,
}

/// A service's staged rollout, compiled: what it ramps and where its live weight lives.
#[derive(Debug, Clone)]
pub struct ServiceRollout {
    /// Steps, gates, failure action.
    pub spec: crate::rollout::spec::RolloutSpec,
    /// The canary region it ramps.
    pub region: RegionId,
    /// What the rest of the canary's tier weighs (its other regions with weight > 0): a
    /// step's share becomes the weight `share * others / (1 - share)`.
    pub others: f64,
    /// The live weight slot in the snapshot's health table, which `steer` reads in place of
    /// the canary's configured weight.
    pub slot: crate::health::view::WeightSlot,
}

impl Service {
    /// Region `i`'s weight now: a rollout canary's live weight from `health`, else the
    /// configured one.
    #[inline]
    pub fn weight(&self, i: RegionId, health: &crate::health::view::HealthTable) -> f64 {
        let r = &self.regions[i];
        match r.live_weight {
            Some(slot) => health
                .live_weight(slot)
                .unwrap_or_else(|| f64::from(r.weight)),
            None => f64::from(r.weight),
        }
    }

    /// Whether some region answers a CNAME: then every query type at the service's name
    /// depends on the client (a CNAME owner answers its CNAME for every type).
    pub fn has_cname_region(&self) -> bool {
        self.regions.iter().any(|r| r.cname.is_some())
    }
}

/// A region as one service sees it.
#[derive(Debug)]
pub struct ServiceRegion {
    /// Region name.
    pub name: String,
    /// Effective state (service override, else the region's).
    pub state: RegionState,
    /// Weight inside a tier.
    pub weight: u32,
    /// A canary (SPEC 4, rule 4a): it serves exactly the subnets it wins by rendezvous among
    /// every region of its tier with weight > 0, whatever their state or health, and never
    /// more (except when failing open).
    pub canary: bool,
    /// Endpoints (empty for a CNAME region).
    pub endpoints: Vec<Endpoint>,
    /// Answer with this CNAME instead of endpoints.
    pub cname: Option<Name>,
    /// Slot of a CNAME region's check target, if it has one.
    pub cname_slot: Option<SlotId>,
    /// Endpoints that must be up for the region to be healthy.
    pub min_up: u32,
    /// Stable hash of the region name, for rendezvous hashing.
    pub seed: crate::steer::rendezvous::Seed,
    /// The live weight slot of a rollout's canary: its weight is the slot's, not `weight`.
    pub live_weight: Option<crate::health::view::WeightSlot>,
}

/// One endpoint address.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// Address answered.
    pub addr: IpAddr,
    /// Health slot; `None` = no check, always up.
    pub slot: Option<SlotId>,
}

/// A geo map compiled for one service: keys -> tiers of service-region indices.
#[derive(Debug, Clone)]
pub struct GeoMap {
    /// Map name (`global`), or `inline`.
    pub name: String,
    /// Every key with its tiers, in file order.
    pub entries: Vec<MapEntry>,
    /// The `default` entry.
    pub default: MapEntryId,
    /// `continent:XX` keys.
    pub continents: Vec<([u8; 2], MapEntryId)>,
    /// `country:XX` keys.
    pub countries: Vec<([u8; 2], MapEntryId)>,
    /// `subdivision:XX-YY` keys (upper case).
    pub subdivisions: Vec<(String, MapEntryId)>,
    /// `net:CIDR` keys, longest prefix first.
    pub nets: Vec<(IpNet, MapEntryId)>,
    /// The map compiled against the snapshot's GeoIP partition (`steer::table`), set when
    /// the snapshot is built; the answer path matches per query while it is unset.
    pub table: std::sync::OnceLock<std::sync::Arc<super::prefix_table::MapTable>>,
}

impl GeoMap {
    /// An empty map named `name`; [`GeoMap::push`] adds its entries.
    pub fn new(name: String) -> Self {
        Self {
            name,
            entries: Vec::new(),
            default: MapEntryId(0),
            continents: Vec::new(),
            countries: Vec::new(),
            subdivisions: Vec::new(),
            nets: Vec::new(),
            table: std::sync::OnceLock::new(),
        }
    }

    /// Adds an entry and indexes it under its key (`net:` keys stay longest prefix first).
    pub fn push(&mut self, key: &MapKey, entry: MapEntry) {
        let idx = MapEntryId::from_index(self.entries.len());
        self.entries.push(entry);
        match key {
            MapKey::Default => self.default = idx,
            MapKey::Continent(c) => self.continents.push((*c.as_bytes(), idx)),
            MapKey::Country(c) => self.countries.push((*c.as_bytes(), idx)),
            MapKey::Subdivision(s) => self.subdivisions.push((s.clone(), idx)),
            MapKey::Net(n) => {
                // After every key at least as long: equal prefixes keep their file order.
                let at = self
                    .nets
                    .partition_point(|(k, _)| k.prefix_len() >= n.prefix_len());
                self.nets.insert(at, (*n, idx));
            }
        }
    }

    /// Whether any key needs GeoIP data.
    pub fn uses_geo(&self) -> bool {
        !(self.continents.is_empty() && self.countries.is_empty() && self.subdivisions.is_empty())
    }
}

/// A geo-map key, parsed once when the configuration is compiled (SPEC section 3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MapKey {
    /// `default`.
    Default,
    /// `continent:XX`.
    Continent(ContinentCode),
    /// `country:XX` (two letters; whether ISO 3166 assigned them is not checked).
    Country(CountryCode),
    /// `subdivision:XX-YY`, upper case.
    Subdivision(String),
    /// `net:CIDR`, host bits cleared.
    Net(IpNet),
}

impl MapKey {
    /// Whether the key needs GeoIP data.
    pub fn uses_geo(&self) -> bool {
        matches!(
            self,
            Self::Continent(_) | Self::Country(_) | Self::Subdivision(_)
        )
    }
}

impl FromStr for MapKey {
    type Err = MapKeyError;

    /// Parses and checks a key: `country:` must be an ISO 3166-1 alpha-2 code steerdns knows
    /// (the continent table's), `continent:` one of the seven codes, `subdivision:` shaped
    /// like ISO 3166-2 (`US-CA`) with a known country, `net:` a network without host bits.
    /// Errors carry the likely fix (`country:UK` suggests GB).
    fn from_str(key: &str) -> Result<Self, Self::Err> {
        if key == "default" {
            return Ok(Self::Default);
        }
        let Some((kind, value)) = key.split_once(':') else {
            return Err(MapKeyError::Shape(key.to_string()));
        };
        let key_text = key.to_string();
        match kind {
            "continent" => ContinentCode::parse(value)
                .map(Self::Continent)
                .map_err(|_| MapKeyError::Continent {
                    key: key_text,
                    hint: continent_hint(value),
                }),
            "country" => match CountryCode::parse(value) {
                Ok(c) if c.is_known() => Ok(Self::Country(c)),
                _ => Err(MapKeyError::Country {
                    key: key_text,
                    value: value.to_string(),
                    hint: country_hint(value),
                }),
            },
            "subdivision" => parse_subdivision(value)
                .map(Self::Subdivision)
                .map_err(|hint| MapKeyError::Subdivision {
                    key: key_text,
                    hint,
                }),
            "net" => match IpNet::from_str(value) {
                Ok(n) if n.trunc() == n => Ok(Self::Net(n)),
                Ok(n) => Err(MapKeyError::HostBits {
                    key: key_text,
                    network: n.trunc(),
                }),
                Err(_) => Err(MapKeyError::Net {
                    key: key_text,
                    value: value.to_string(),
                    hint: match IpAddr::from_str(value) {
                        Ok(IpAddr::V4(a)) => format!("; one address is \"net:{a}/32\""),
                        Ok(IpAddr::V6(a)) => format!("; one address is \"net:{a}/128\""),
                        Err(_) => "; write e.g. \"net:10.0.0.0/8\"".into(),
                    },
                }),
            },
            _ => Err(MapKeyError::Kind {
                key: key_text,
                kind: kind.to_string(),
            }),
        }
    }
}

/// The likely fix for a `country:` value that is not a known code.
fn country_hint(value: &str) -> String {
    let upper = value.to_ascii_uppercase();
    // Codes people reach for that ISO 3166-1 reserves or assigns otherwise.
    let instead = match upper.as_str() {
        "UK" => Some("GB"),
        "EL" => Some("GR"),
        _ => None,
    };
    if let Some(code) = instead {
        return format!("; did you mean \"country:{code}\"?");
    }
    if let Ok(c) = ContinentCode::parse(&upper) {
        return format!("; {upper} is a continent: \"continent:{c}\"");
    }
    if upper.len() == 3 && upper.bytes().all(|b| b.is_ascii_alphabetic()) {
        return "; country codes have two letters (ISO 3166-1 alpha-2: GB, US, DE, ...)".into();
    }
    "; codes are two letters such as GB, US, DE (ISO 3166-1 alpha-2)".into()
}

/// The likely fix for a `continent:` value that is not one of the seven codes.
fn continent_hint(value: &str) -> String {
    match CountryCode::parse(value) {
        Ok(c) if c.is_known() => format!("; {c} is a country: \"country:{c}\""),
        _ => String::new(),
    }
}

/// An ISO 3166-2 code (`US-CA`, `GB-LND`, `FR-75C`): a known country, `-`, then one to
/// three letters or digits; upper-cased. The error is the hint.
fn parse_subdivision(value: &str) -> Result<String, String> {
    let upper = value.to_ascii_uppercase();
    let shaped = |sep: char| {
        upper.split_once(sep).filter(|(c, s)| {
            c.len() == 2
                && (1..=3).contains(&s.len())
                && s.bytes().all(|b| b.is_ascii_alphanumeric())
        })
    };
    match shaped('-') {
        Some((country, _)) => match CountryCode::parse(country) {
            Ok(c) if c.is_known() => Ok(upper),
            _ => Err(format!(
                "; {country} is not an ISO 3166-1 alpha-2 country code{}",
                country_hint(country)
            )),
        },
        None => match ['_', ' ', '.', '/'].iter().find_map(|&sep| shaped(sep)) {
            Some((country, sub)) => Err(format!("; write \"subdivision:{country}-{sub}\"")),
            None if (1..=3).contains(&upper.len()) => Err(format!(
                "; ISO 3166-2 codes start with the country: e.g. \"subdivision:US-{upper}\""
            )),
            None => Err(String::new()),
        },
    }
}

/// The canonical spelling (`country:GB`, `net:10.0.0.0/8`).
impl fmt::Display for MapKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::Continent(c) => write!(f, "continent:{c}"),
            Self::Country(c) => write!(f, "country:{c}"),
            Self::Subdivision(s) => write!(f, "subdivision:{s}"),
            Self::Net(n) => write!(f, "net:{n}"),
        }
    }
}

/// One map key and its tiers.
#[derive(Debug, Clone)]
pub struct MapEntry {
    /// The key as written (`continent:EU`).
    pub key: String,
    /// Tiers, best first; each a list of the service's regions.
    pub tiers: Vec<Vec<RegionId>>,
    /// Regions the tier string names that this service does not define (ignored).
    pub missing: Vec<String>,
}

/// Parameters of one health check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckParams {
    /// Check name in the zone.
    pub name: String,
    /// Probe kind.
    pub kind: CheckKind,
    /// HTTP path.
    pub path: String,
    /// Port.
    pub port: u16,
    /// Host header.
    pub host: Option<String>,
    /// Accepted statuses.
    pub expect_status: Vec<u16>,
    /// Body substring.
    pub expect_body: Option<String>,
    /// Verify certificates.
    pub tls_verify: bool,
    /// SNI name.
    pub sni: Option<String>,
    /// Keep plain-HTTP connections open between probes.
    pub reuse_connection: bool,
    /// Time between probes.
    pub interval: Duration,
    /// Probe timeout.
    pub timeout: Duration,
    /// Passes to become up.
    pub rise: u32,
    /// Failures to become down.
    pub fall: u32,
}

/// An endpoint with a health check.
#[derive(Debug, Clone)]
pub struct CheckedEndpoint {
    /// Zone origin without the final dot.
    pub zone: String,
    /// Service key.
    pub service: String,
    /// Region name.
    pub region: String,
    /// Address probed.
    pub addr: IpAddr,
    /// Check parameters.
    pub check: CheckParams,
    /// Slot in the health table.
    pub slot: SlotId,
}

impl CheckedEndpoint {
    /// Stable identity across reloads: `zone/service/region/address`.
    pub fn key(&self) -> String {
        endpoint_key(&self.zone, &self.service, &self.region, &self.addr)
    }
}

/// A shared secret (`[metrics] token_file`). Its `Debug` never shows the value, so a logged
/// config does not leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(std::sync::Arc<str>);

impl Token {
    /// Wraps a secret read from a token file.
    pub fn new(secret: &str) -> Self {
        Self(secret.into())
    }

    /// The secret's bytes, for comparison.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The secret as text (to send it, e.g. in an `Authorization` header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// `[metrics] trusted` and `token_file`: who may use the admin API's `/v1/*` and `/`
/// (SPEC section 2; the rule itself is `admin::access`).
#[derive(Debug, Clone, Default)]
pub struct AdminAccess {
    /// Clients that need no token. Default loopback.
    pub trusted: Vec<IpNet>,
    /// The token other clients must present; `None` without a `token_file` (then untrusted
    /// clients are refused with 403).
    pub token: Option<Token>,
}
