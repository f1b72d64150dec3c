//! Serde schema of `steerdns.toml` and `zones/*.toml` (SPEC sections 2 and 3).
//!
//! These types mirror the files one to one. Every table denies unknown keys, and values that
//! are checked after parsing keep their [`Spanned`] position so errors can name the line.
//! `compile.rs` turns them into the model; nothing else reads them.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A string value with its position in the file.
pub type SpannedStr = Spanned<String>;

/// A duration value with its position in the file.
pub type SpannedDuration = Spanned<DurationText>;

/// A duration as written: a string with units (`"10s"`, `"1m30s"`), parsed by
/// `duration.rs`. A bare number is refused here with the fix in the message (`write "10s"`),
/// rather than serde's "invalid type: integer, expected a string".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationText(pub String);

impl std::ops::Deref for DurationText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = DurationText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a duration string with a unit, such as \"10s\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DurationText, E> {
                Ok(DurationText(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<DurationText, E> {
                Err(E::custom(format!(
                    "a duration is a string with a unit: write \"{v}s\" for {v} seconds \
                     (or \"{v}ms\", \"{v}m\", \"{v}h\")"
                )))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<DurationText, E> {
                Err(E::custom(format!(
                    "a duration is a string with a unit: write \"{v}s\" for {v} seconds \
                     (or \"{v}ms\", \"{v}m\", \"{v}h\")"
                )))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<DurationText, E> {
                Err(E::custom(format!(
                    "a duration is a string with a unit: write e.g. \"{}ms\" for {v} seconds",
                    (v * 1000.0).round()
                )))
            }
        }
        d.deserialize_any(Text)
    }
}

// === main config ===

/// The main config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MainFile {
    /// `[server]`: listeners and identity.
    pub server: ServerSection,
    /// `[health]`: where health state is kept.
    pub health: HealthSection,
    /// `[geoip]`: the GeoIP database.
    pub geoip: GeoipSection,
    /// `[rrl]`: response rate limiting.
    pub rrl: RrlSection,
    /// `[zones]`: where zone files live.
    pub zones: ZonesSection,
    /// `[metrics]`: the HTTP admin/metrics listener.
    pub metrics: MetricsSection,
    /// `[log]`: logging.
    pub log: LogSection,
    /// `[peers]`: other instances to agree with on health.
    pub peers: PeersSection,
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Addresses to serve UDP and TCP on. Default `["127.0.0.1:53"]`.
    pub listen: Option<Vec<SpannedStr>>,
    /// UDP worker threads; 0 = one per core. Default 0, at most 256.
    pub workers: Option<Spanned<usize>>,
    /// EDNS NSID payload (RFC 5001). Default: none.
    pub nsid: Option<SpannedStr>,
    /// CHAOS TXT `id.server` / `hostname.bind` answer. Default: none (REFUSED).
    pub identity: Option<SpannedStr>,
    /// Answer CHAOS TXT `version.bind`. Default false.
    pub version: Option<bool>,
    /// Idle TCP connections are closed after this. Default "10s".
    pub tcp_idle_timeout: Option<SpannedDuration>,
    /// Connections above this are closed at once. Default 1024.
    pub max_tcp_connections: Option<usize>,
    /// Connections from one client address above this are closed at once. Default 64.
    pub max_tcp_connections_per_client: Option<usize>,
    /// Networks allowed to ask `_explain` TXT queries. Default loopback.
    pub debug_from: Option<Vec<SpannedStr>>,
    /// Where `serve` writes its pid. Default `steerdns.pid` beside the config.
    pub pid_file: Option<SpannedStr>,
    /// DNS Cookies server secret: a file holding 16 bytes as 32 hex digits, so instances can
    /// share it. Default "" (a random secret made at start).
    pub cookie_secret_file: Option<SpannedStr>,
}

/// `[health]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthSection {
    /// Health states survive restarts through this file. Default `steerdns.health`.
    pub state_file: Option<SpannedStr>,
    /// Source address of IPv4 probes (an address of this host). Default: the kernel's choice.
    pub source_v4: Option<SpannedStr>,
    /// Source address of IPv6 probes (an address of this host). Default: the kernel's choice.
    pub source_v6: Option<SpannedStr>,
}

/// `[geoip]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GeoipSection {
    /// MaxMind DB file. Required when a map uses geo keys.
    pub database: Option<SpannedStr>,
}

/// `[rrl]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RrlSection {
    /// Default true.
    pub enabled: Option<bool>,
    /// Per client prefix and response kind. Default 200, at least 1.
    pub responses_per_second: Option<Spanned<u32>>,
    /// Every Nth limited response is a TC=1 reply; 0 = never. Default 2.
    pub slip: Option<u32>,
    /// Default 24.
    pub ipv4_prefix: Option<Spanned<u8>>,
    /// Default 56.
    pub ipv6_prefix: Option<Spanned<u8>>,
    /// Never limited. Default loopback.
    pub exempt: Option<Vec<SpannedStr>>,
}

/// `[zones]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZonesSection {
    /// Every `*.toml` file here is one zone. Default `zones`.
    pub directory: Option<SpannedStr>,
}

/// `[metrics]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// HTTP listener for /metrics, /healthz, /v1/* and /. Default 127.0.0.1:9153; "" = off.
    pub listen: Option<SpannedStr>,
    /// Clients that may use /v1/* and / without the token. Default loopback.
    pub trusted: Option<Vec<SpannedStr>>,
    /// File holding the token other clients must present for /v1/* and /. Default none
    /// (then those clients get 403).
    pub token_file: Option<SpannedStr>,
}

/// `[peers]` (SPEC §4.1).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PeersSection {
    /// Base URLs of the peers' admin listeners (`http://192.0.2.53:9153`). Default none: this
    /// instance decides alone.
    pub urls: Option<Vec<SpannedStr>>,
    /// File holding the token the peers expect (their `[metrics] token_file`). Default none.
    pub token_file: Option<SpannedStr>,
    /// How often each peer's `/v1/health` is read. Default "2s"; at least 100ms.
    pub poll: Option<SpannedDuration>,
    /// A peer not heard from for this long does not count. Default "10s"; longer than `poll`.
    pub stale_after: Option<SpannedDuration>,
    /// `"majority"` or the number of observers that must see an endpoint down. Default
    /// majority.
    pub quorum: Option<Spanned<QuorumValue>>,
}

/// `[peers] quorum`: a word or a number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum QuorumValue {
    /// `"majority"`.
    Word(String),
    /// A number of observers.
    Count(i64),
}

/// `[log]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// `text` or `json`. Default text.
    pub format: Option<LogFormat>,
    /// One line per query. Default false.
    pub queries: Option<bool>,
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

// === zone file ===

/// One zone file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneFile {
    /// Zone apex, absolute.
    pub origin: SpannedStr,
    /// Default TTL of static records and of the SOA. Default 300.
    pub ttl: Option<Spanned<u32>>,
    /// Start of authority.
    pub soa: Spanned<SoaSection>,
    /// Static records.
    #[serde(default)]
    pub record: Vec<Spanned<RecordEntry>>,
    /// Health checks by name.
    #[serde(default)]
    pub check: BTreeMap<String, Spanned<CheckEntry>>,
    /// Regions by name.
    #[serde(default)]
    pub region: BTreeMap<String, Spanned<RegionEntry>>,
    /// Named geo maps: key -> tier string.
    #[serde(default)]
    pub map: BTreeMap<String, Spanned<BTreeMap<String, SpannedStr>>>,
    /// Steered names.
    #[serde(default)]
    pub service: BTreeMap<String, Spanned<ServiceEntry>>,
    /// DNSSEC online signing (SPEC 5.1); without this table the zone is unsigned.
    pub dnssec: Option<Spanned<DnssecSection>>,
}

/// `[dnssec]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnssecSection {
    /// Key files written by `steerdns keygen`, relative to the main config's folder. Every
    /// key is in the DNSKEY RRset; those not marked `publish_only` in their file sign.
    /// Required, at least one key that signs.
    pub keys: Spanned<Vec<SpannedStr>>,
    /// How long a signature is valid: RRSIG inception an hour before the start of its
    /// window, expiration this long after it (windows are a quarter of this). Default "7d";
    /// from "2h" to "366d".
    pub signature_validity: Option<SpannedDuration>,
}

/// `[soa]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoaSection {
    /// Primary server name.
    pub mname: SpannedStr,
    /// Responsible mailbox as a name.
    pub rname: SpannedStr,
    /// Serial number, or "auto" (seconds of the last load).
    pub serial: Spanned<Serial>,
    /// Duration string. Default "1h".
    pub refresh: Option<SpannedDuration>,
    /// Duration string. Default "10m".
    pub retry: Option<SpannedDuration>,
    /// Duration string. Default "1w".
    pub expire: Option<SpannedDuration>,
    /// Negative-caching TTL. Default "30s".
    pub minimum: Option<SpannedDuration>,
}

/// SOA serial: a number or `"auto"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serial {
    /// A fixed serial.
    Number(u32),
    /// `"auto"`: seconds of the last load.
    Auto,
}

impl<'de> Deserialize<'de> for Serial {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SerialVisitor;
        const RANGE: &str = "a serial is a number from 0 to 4294967295, or \"auto\"";
        impl serde::de::Visitor<'_> for SerialVisitor {
            type Value = Serial;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(RANGE)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Serial, E> {
                u32::try_from(v)
                    .map(Serial::Number)
                    .map_err(|_| E::custom(format!("serial {v}: {RANGE}")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Serial, E> {
                u32::try_from(v)
                    .map(Serial::Number)
                    .map_err(|_| E::custom(format!("serial {v}: {RANGE}")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Serial, E> {
                match v {
                    "auto" => Ok(Serial::Auto),
                    _ => Err(E::custom(format!("serial {v:?}: {RANGE}"))),
                }
            }
        }
        d.deserialize_any(SerialVisitor)
    }
}

/// One `[[record]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordEntry {
    /// Owner, relative to the origin (`@` = apex) or absolute.
    pub name: SpannedStr,
    /// Record type mnemonic.
    #[serde(rename = "type")]
    pub rtype: SpannedStr,
    /// TTL; default the zone's.
    pub ttl: Option<Spanned<u32>>,
    /// RDATA strings in presentation format, one per record.
    pub data: Spanned<Vec<SpannedStr>>,
}

/// Health-check kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// HTTP GET.
    Http,
    /// HTTPS GET.
    Https,
    /// TCP connect.
    Tcp,
    /// No probing: always up.
    None,
}

/// `[check.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckEntry {
    /// Probe kind.
    pub kind: CheckKind,
    /// HTTP path. Default "/".
    pub path: Option<SpannedStr>,
    /// Port to probe. Default 80 (http), 443 (https); required for tcp.
    pub port: Option<u16>,
    /// HTTP Host header.
    pub host: Option<String>,
    /// Accepted HTTP statuses. Default [200].
    pub expect_status: Option<Vec<u16>>,
    /// Substring that must appear in the first 64 KiB of the body.
    pub expect_body: Option<String>,
    /// Verify HTTPS certificates. Default true.
    pub tls_verify: Option<bool>,
    /// TLS server name to send and verify. Default: the Host header, else none.
    pub sni: Option<String>,
    /// `http` only: keep the connection open between probes. Default false (a new
    /// connection per probe, which also proves new connections are accepted).
    pub reuse_connection: Option<bool>,
    /// Default "5s".
    pub interval: Option<SpannedDuration>,
    /// Default "2s"; must be less than interval.
    pub timeout: Option<SpannedDuration>,
    /// Consecutive passes to become up. Default 2.
    pub rise: Option<Spanned<u32>>,
    /// Consecutive failures to become down. Default 3.
    pub fall: Option<Spanned<u32>>,
}

/// Operator state of a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RegionState {
    /// Takes traffic.
    Active,
    /// Takes traffic only when no active region in any tier can.
    Drain,
    /// Never takes traffic.
    Down,
}

/// `[region.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionEntry {
    /// Default active.
    pub state: Option<RegionState>,
    /// A canary region (SPEC 4, rule 4a): in every service, it never serves more than its
    /// configured share of its tier. Default false.
    pub canary: Option<bool>,
}

/// `[service.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceEntry {
    /// Named map.
    pub map: Option<SpannedStr>,
    /// Inline map.
    pub geo: Option<Spanned<BTreeMap<String, SpannedStr>>>,
    /// TTL of steered answers. Default 30.
    pub ttl: Option<Spanned<u32>>,
    /// Endpoints per answer. Default 8.
    pub max_answers: Option<Spanned<u32>>,
    /// Check name, for every region unless overridden.
    pub check: Option<SpannedStr>,
    /// Sorry-server addresses when nothing may serve.
    pub fallback: Option<Vec<SpannedStr>>,
    /// Endpoints that must be up for a region to count as healthy. Default 1.
    pub min_up: Option<Spanned<u32>>,
    /// Per-region endpoints and overrides.
    #[serde(default)]
    pub region: BTreeMap<String, Spanned<ServiceRegionEntry>>,
    /// A staged rollout of one canary region (SPEC 4.2).
    pub rollout: Option<Spanned<RolloutEntry>>,
}

/// `[service.NAME.rollout]` (SPEC 4.2).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutEntry {
    /// The canary region it ramps (`canary = true`, in a tier of the service's map).
    pub region: SpannedStr,
    /// Steps, `"5% 1h"`: the canary's share of its tier and how long it holds; the last
    /// step has no hold (`"100%"`). Shares must rise.
    pub steps: Spanned<Vec<SpannedStr>>,
    /// How often the gates are evaluated. Default "30s".
    pub gate_interval: Option<SpannedDuration>,
    /// What a failed gate does: `rollback` (share 0) or `hold` (pause). Default rollback.
    pub on_failure: Option<Spanned<crate::rollout::spec::OnFailure>>,
    /// Gates, all of which must hold during every hold.
    #[serde(default)]
    pub gate: Vec<Spanned<GateEntry>>,
}

/// Kind of a rollout gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GateKind {
    /// Every endpoint of the canary region up.
    Health,
    /// A PromQL instant query whose value must stay at most `max`.
    Prometheus,
}

/// `[[service.NAME.rollout.gate]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateEntry {
    /// `health` or `prometheus`.
    pub kind: GateKind,
    /// Prometheus server, `http://host:port` (prometheus gates).
    pub url: Option<SpannedStr>,
    /// PromQL expression (prometheus gates).
    pub query: Option<SpannedStr>,
    /// Largest passing value (prometheus gates).
    pub max: Option<Spanned<f64>>,
}

/// `[service.NAME.region.REGION]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRegionEntry {
    /// Endpoint addresses (A and AAAA).
    pub endpoints: Option<Vec<SpannedStr>>,
    /// Answer with a CNAME instead.
    pub cname: Option<SpannedStr>,
    /// Default 100.
    pub weight: Option<u32>,
    /// Overrides the region's state for this service.
    pub state: Option<RegionState>,
    /// Overrides the service's check.
    pub check: Option<SpannedStr>,
    /// Address a CNAME region's check probes.
    pub target: Option<SpannedStr>,
    /// Overrides the service's `min_up`.
    pub min_up: Option<Spanned<u32>>,
    /// Overrides the region's `canary` for this service (SPEC 4, rule 4a).
    pub canary: Option<bool>,
}
