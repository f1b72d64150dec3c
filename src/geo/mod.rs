//! GeoIP: which country, continent and subdivision an address is in, and how far that answer
//! reaches (the database network, which bounds the ECS scope).
//!
//! ```text
//!  geoip/*.mmdb ──std::fs::read──► GeoDb::open ── detect schema, probe ──► GeoDb (in Snapshot)
//!                                                                             │
//!  client address (ECS or resolver) ──────────────► GeoDb::lookup(ip) ──► GeoHit
//!                                                   { country, continent, subdivisions, network }
//! ```
//!
//! - The whole file is read into memory; it is never memory-mapped, so rewriting the file on
//!   disk (a database refresh) cannot crash a running server. A reload opens the new file
//!   completely, off the query path, before the snapshot that holds it is swapped in.
//! - Two record schemas are understood and detected when the file is opened ([`Schema`]):
//!   GeoIP2 / GeoLite2 / DB-IP, and ip-location-db's `country_code` records (the shipped
//!   database), whose continent comes from the table in [`continents`].
//! - [`GeoDb::lookup`] never fails: an address the database has no data for gets an empty
//!   [`GeoHit`] whose `network` is the database's empty network around the address.
//! - `maxminddb` (pinned) is used only inside this module. Test databases are built by the
//!   dev-only `steerdns-mmdb-writer` crate (`crates/mmdb-writer`), which is not shipped.

mod codes;
pub mod continents;
mod hit;
mod schema;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use maxminddb::{LookupResult, MaxMindDbError, Reader, WithinOptions};
use serde::Serialize;

pub use codes::{CodeError, ContinentCode, CountryCode};
pub use hit::GeoHit;

pub use crate::error::GeoError;
pub use schema::Schema;
use schema::{CountryCodeRecord, Geoip2Record, Probe, RawJson};

use crate::steer::geo::{GeoFacts, GeoLookup, GeoPartition, PartitionBuilder};

/// Records read when detecting the schema: the first ones with data, in tree order.
const PROBE_RECORDS: usize = 256;

/// An address looked up when a database is opened, to fail early on a damaged file.
const PROBE_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::new(81, 2, 69, 160));

//------------ GeoMetadata -----------------------------------------------------------------------

/// Facts about an open database, for `steerdns geoip`, `check` and logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeoMetadata {
    /// `database_type` from the metadata (`"GeoLite2-Country"`, `"country ipvAll"`).
    pub database_type: String,
    /// Build time, seconds since 1970-01-01 UTC.
    pub build_epoch: u64,
    /// 4 (IPv4 only) or 6.
    pub ip_version: u16,
    /// Number of search tree nodes.
    pub node_count: u32,
    /// Search tree record size in bits (24, 28 or 32).
    pub record_size: u16,
    /// English description, if the metadata has one.
    pub description: Option<String>,
    /// The detected record schema.
    #[serde(serialize_with = "serialize_schema")]
    pub schema: Schema,
    /// Size of the file in bytes.
    pub file_size: usize,
}

fn serialize_schema<S: serde::Serializer>(schema: &Schema, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match schema {
        Schema::GeoIp2 => "geoip2",
        Schema::CountryCode => "country_code",
    })
}

impl GeoMetadata {
    /// The build time as RFC 3339 UTC, e.g. `"2026-06-17T20:08:44Z"`.
    pub fn build_time_utc(&self) -> String {
        format_epoch(self.build_epoch)
    }
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub fn format_epoch(epoch: u64) -> String {
    let days = epoch / 86_400;
    let secs = epoch % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 → (year, month, day). Counts in 400-year eras of 146 097 days,
/// with years starting on 1 March so the leap day is the last day of a year.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let doe = z % 146_097; // day of era, 0..=146_096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of (March-based) year
    let mp = (5 * doy + 2) / 153; // March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

//------------ GeoDb -----------------------------------------------------------------------------

/// An open GeoIP database (MaxMind DB format), held entirely in memory. `Send + Sync`; share it
/// through the snapshot.
pub struct GeoDb {
    reader: Reader<Vec<u8>>,
    schema: Schema,
    path: PathBuf,
    metadata: GeoMetadata,
    /// The whole database compiled for steering, built on first use.
    partition: std::sync::OnceLock<Option<GeoPartition>>,
    /// Hash of the whole file (its identity for [`GeoLookup::fingerprint`]).
    content_hash: u64,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoDb")
            .field("path", &self.path)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl GeoDb {
    /// Reads the whole file at `path` into memory, checks the format, detects the schema and
    /// probes a lookup, so a missing, truncated or foreign file fails here and not at query
    /// time.
    pub fn open(path: &Path) -> Result<Self, GeoError> {
        let bytes = std::fs::read(path).map_err(|source| GeoError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(bytes, path.to_owned())
    }

    /// Like [`GeoDb::open`], from bytes already in memory; `label` names the source in errors
    /// and in [`GeoDb::describe`].
    pub fn from_bytes(bytes: Vec<u8>, label: PathBuf) -> Result<Self, GeoError> {
        let file_size = bytes.len();
        let content_hash = {
            use std::hash::{Hash as _, Hasher as _};
            let mut h = std::hash::DefaultHasher::new();
            bytes.hash(&mut h);
            h.finish()
        };
        let reader = Reader::from_source(bytes).map_err(|source| GeoError::Format {
            path: label.clone(),
            source,
        })?;
        let damaged = |source| GeoError::Damaged {
            path: label.clone(),
            source,
        };
        let schema =
            detect_schema(&reader)
                .map_err(damaged)?
                .ok_or_else(|| GeoError::UnknownSchema {
                    path: label.clone(),
                    found: reader.metadata().database_type.clone(),
                })?;

        let meta = reader.metadata();
        let metadata = GeoMetadata {
            database_type: meta.database_type.clone(),
            build_epoch: meta.build_epoch,
            ip_version: meta.ip_version,
            node_count: meta.node_count,
            record_size: meta.record_size,
            description: meta.description.get("en").cloned(),
            schema,
            file_size,
        };
        let db = Self {
            reader,
            schema,
            path: label,
            metadata,
            partition: std::sync::OnceLock::new(),
            content_hash,
        };
        // Probe: one full lookup through the query path and the raw decoder.
        db.record(PROBE_ADDRESS)
            .map_err(|source| GeoError::Damaged {
                path: db.path.clone(),
                source,
            })?;
        Ok(db)
    }

    /// The file (or label) this database was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the records have subdivisions at all (`subdivision:` keys can match).
    pub fn has_subdivisions(&self) -> bool {
        // ip-location-db has country codes only; GeoIP2/GeoLite2/DB-IP "Country" editions
        // have no subdivisions, the "City" (and larger) editions do.
        self.schema == Schema::GeoIp2
            && !self
                .metadata
                .database_type
                .to_ascii_lowercase()
                .contains("country")
    }

    /// The detected record schema.
    pub fn schema(&self) -> Schema {
        self.schema
    }

    /// Database type, build time, IP version, tree size, schema.
    pub fn metadata(&self) -> &GeoMetadata {
        &self.metadata
    }

    /// What the database says about `ip`. Never fails and never panics: an address without
    /// data (or a damaged record) gives an empty hit whose `network` is the database network
    /// around the address, or the host route (`/32`, `/128`) if the database reports none. An
    /// IPv6 address in an IPv4-only database gets `::/0`: no IPv6 address has data there.
    ///
    /// Cost: one tree walk (at most 32 or 128 steps) and a decode of the record's few used
    /// fields with borrowed strings; it allocates only for subdivisions.
    pub fn lookup(&self, ip: IpAddr) -> GeoHit {
        let (query, mapped) = canonical(ip);
        let result = match self.reader.lookup(query) {
            Ok(result) => result,
            Err(_) => return GeoHit::empty(self.no_data_network(ip)),
        };
        self.hit_of(&result, self.network_of(&result, query, mapped))
    }

    /// The hit a lookup result gives, covering `network`. A record that fails to decode is
    /// treated as no data (`steerdns geoip` shows the decode error).
    fn hit_of(&self, result: &LookupResult<'_, Vec<u8>>, network: IpNet) -> GeoHit {
        let mut hit = GeoHit::empty(network);
        match self.schema {
            Schema::GeoIp2 => {
                if let Ok(Some(record)) = result.decode::<Geoip2Record<'_>>() {
                    record.fill(&mut hit);
                }
            }
            Schema::CountryCode => {
                if let Ok(Some(record)) = result.decode::<CountryCodeRecord<'_>>() {
                    record.fill(&mut hit);
                }
            }
        }
        hit
    }

    /// The whole database as a [`GeoPartition`]: every network in address order (those
    /// without data too), each record decoded once per distinct record. IPv4 comes from the
    /// IPv4 tree; IPv6 from the IPv6 tree without its IPv4 subtree and aliases, which the
    /// partition leaves to per-query lookups. A damaged tree leaves the rest of its family to
    /// them as well.
    fn build_partition(&self) -> Option<GeoPartition> {
        let mut builder = PartitionBuilder::new();
        let mut classes: std::collections::HashMap<Option<usize>, u32> =
            std::collections::HashMap::new();
        let options = WithinOptions::default().include_networks_without_data();
        let v6_db = self.metadata.ip_version == 6;
        for v6 in [false, true] {
            if v6 && !v6_db {
                // An IPv4 database has nothing for IPv6 (IPv4-mapped addresses aside, which
                // the partition leaves to lookups): one empty network, like `lookup` reports.
                let empty =
                    builder.add_class(facts_of(GeoHit::empty(IpNet::V6(Ipv6Net::default()))));
                if let Some(class) = empty {
                    builder.push(IpNet::V6(Ipv6Net::default()), class);
                }
                continue;
            }
            let root = if v6 { "::/0" } else { "0.0.0.0/0" };
            let Ok(cidr) = root.parse() else { continue };
            let Ok(networks) = self.reader.within(cidr, options) else {
                continue;
            };
            for item in networks {
                let Ok(result) = item else { break };
                let Ok(found) = result.network() else { break };
                let network = match (found.ip(), v6) {
                    (IpAddr::V4(a), false) => Ipv4Net::new(a, found.prefix()).map(IpNet::V4),
                    (IpAddr::V6(a), true) => Ipv6Net::new(a, found.prefix()).map(IpNet::V6),
                    // The IPv4 subtree of an IPv6 database, met in the IPv6 walk: `::/96`,
                    // which the partition leaves to lookups.
                    (IpAddr::V4(_), true) => continue,
                    // An IPv6 database without an IPv4 subtree: leave IPv4 to lookups.
                    (IpAddr::V6(_), false) => break,
                };
                let Ok(network) = network else { break };
                let class = match classes.get(&result.offset()) {
                    Some(c) => *c,
                    None => {
                        let hit = self.hit_of(&result, network);
                        let Some(c) = builder.add_class(facts_of(hit)) else {
                            break;
                        };
                        classes.insert(result.offset(), c);
                        c
                    }
                };
                builder.push(network.trunc(), class);
            }
        }
        builder.finish()
    }

    /// Every network with data and what the database says about it, IPv4 networks as IPv4
    /// (an IPv6 database keeps them under `::/96`), in tree order. Records that fail to
    /// decode are left out. For estimates over the whole database (`steerdns plan`).
    pub fn networks(&self) -> Vec<GeoHit> {
        let Ok(iter) = self.reader.networks(WithinOptions::default()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        // Networks share records (one per country, mostly): decode each record once.
        let mut decoded: std::collections::HashMap<usize, GeoHit> =
            std::collections::HashMap::new();
        for item in iter {
            let Ok(result) = item else { continue };
            let Ok(found) = result.network() else {
                continue;
            };
            let net = match found.ip() {
                IpAddr::V4(ip) => Ipv4Net::new(ip, found.prefix()).map(IpNet::V4).ok(),
                IpAddr::V6(ip) => match (ip.octets()[..12].iter().all(|b| *b == 0), found.prefix())
                {
                    // The IPv4 subtree of an IPv6 database.
                    (true, p) if p >= 96 => {
                        let v4 = Ipv4Addr::from(u128::from(ip) as u32);
                        Ipv4Net::new(v4, p - 96).map(IpNet::V4).ok()
                    }
                    _ => Ipv6Net::new(ip, found.prefix()).map(IpNet::V6).ok(),
                },
            };
            let Some(net) = net else { continue };
            let hit = match result.offset() {
                Some(offset) => {
                    let mut hit = decoded
                        .entry(offset)
                        .or_insert_with(|| self.hit_of(&result, net))
                        .clone();
                    hit.network = net.trunc();
                    hit
                }
                None => self.hit_of(&result, net.trunc()),
            };
            if !hit.is_empty() {
                out.push(hit);
            }
        }
        out
    }

    /// The raw database record for `ip` as JSON (`null` when the address has no data or the
    /// record cannot be decoded), for `steerdns geoip IP`.
    pub fn record_json(&self, ip: IpAddr) -> serde_json::Value {
        self.record(ip).ok().flatten().unwrap_or_default()
    }

    /// The raw record, distinguishing "no data" (`Ok(None)`) from a decode error.
    fn record(&self, ip: IpAddr) -> Result<Option<serde_json::Value>, MaxMindDbError> {
        let (query, _) = canonical(ip);
        if self.metadata.ip_version == 4 && query.is_ipv6() {
            return Ok(None);
        }
        let result = self.reader.lookup(query)?;
        Ok(result.decode::<RawJson>()?.map(|RawJson(v)| v))
    }

    /// The `steerdns geoip IP` report: address, network, country, continent, subdivisions,
    /// database type and build date, then the raw record as pretty JSON.
    pub fn describe(&self, ip: IpAddr) -> String {
        let hit = self.lookup(ip);
        let record = self.record(ip);
        let or_none = |s: Option<String>| s.unwrap_or_else(|| "-".to_owned());
        let continent_from_record = record
            .as_ref()
            .ok()
            .and_then(|r| r.as_ref())
            .and_then(|r| r.pointer("/continent/code"))
            .is_some();
        let continent = hit.continent.map(|c| {
            if continent_from_record {
                format!("{c} ({})", c.name())
            } else {
                format!("{c} ({}, derived from the country)", c.name())
            }
        });
        let subdivisions = (!hit.subdivisions.is_empty()).then(|| hit.subdivisions.join(", "));
        let m = &self.metadata;

        let mut out = String::new();
        let _ = writeln!(out, "address:      {ip}");
        let _ = writeln!(out, "network:      {}", hit.network);
        let _ = writeln!(
            out,
            "country:      {}",
            or_none(hit.country.map(|c| c.to_string()))
        );
        let _ = writeln!(out, "continent:    {}", or_none(continent));
        let _ = writeln!(out, "subdivisions: {}", or_none(subdivisions));
        let _ = writeln!(out, "database:     {}", self.path.display());
        let _ = writeln!(
            out,
            "type:         {} (IPv{}, {} schema)",
            m.database_type,
            m.ip_version,
            match m.schema {
                Schema::GeoIp2 => "GeoIP2",
                Schema::CountryCode => "ip-location-db country_code",
            }
        );
        let _ = writeln!(out, "built:        {}", m.build_time_utc());
        match record {
            Ok(Some(value)) => {
                let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
                let _ = writeln!(out, "record:\n{pretty}");
            }
            Ok(None) => {
                let _ = writeln!(
                    out,
                    "record:       none (the address is not in the database)"
                );
            }
            Err(e) => {
                let _ = writeln!(out, "record:       cannot be decoded: {e}");
            }
        }
        out
    }

    /// The network reported for a lookup, in the family of the original address.
    fn network_of(&self, result: &LookupResult<'_, Vec<u8>>, query: IpAddr, mapped: bool) -> IpNet {
        let Ok(found) = result.network() else {
            return host_net(query);
        };
        let net = match (query, found.ip()) {
            (IpAddr::V4(_), IpAddr::V4(net_ip)) => {
                Ipv4Net::new(net_ip, found.prefix()).map(IpNet::V4).ok()
            }
            // An IPv4 address in an IPv6 database without an IPv4 subtree: the walk stopped
            // above ::/96, so one record (or none) covers all of IPv4.
            (IpAddr::V4(_), IpAddr::V6(_)) => Some(IpNet::V4(Ipv4Net::default())),
            (IpAddr::V6(_), IpAddr::V6(net_ip)) => {
                Ipv6Net::new(net_ip, found.prefix()).map(IpNet::V6).ok()
            }
            (IpAddr::V6(_), IpAddr::V4(_)) => None,
        };
        let net = net.map_or_else(|| host_net(query), |n| n.trunc());
        match (mapped, net) {
            (true, IpNet::V4(v4)) => {
                let addr = v4.network().to_ipv6_mapped();
                Ipv6Net::new(addr, v4.prefix_len() + 96)
                    .map(IpNet::V6)
                    .unwrap_or_else(|_| host_net(IpAddr::V6(addr)))
            }
            _ => net,
        }
    }

    /// The network for an address the reader refused: all of IPv6 in an IPv4 database, else
    /// the host route.
    fn no_data_network(&self, ip: IpAddr) -> IpNet {
        match ip {
            IpAddr::V6(v6) if self.metadata.ip_version == 4 && v6.to_ipv4_mapped().is_none() => {
                IpNet::V6(Ipv6Net::default())
            }
            _ => host_net(ip),
        }
    }
}

/// Detects the schema from the first records with data, else from `database_type`.
/// `Ok(None)`: unknown. `Err`: a record failed to decode.
fn detect_schema(reader: &Reader<Vec<u8>>) -> Result<Option<Schema>, MaxMindDbError> {
    let mut seen_data = false;
    for item in reader
        .networks(WithinOptions::default())?
        .take(PROBE_RECORDS)
    {
        let result = item?;
        match result.decode::<Probe>() {
            Ok(Some(probe)) => {
                seen_data = true;
                if let Some(schema) = probe.schema() {
                    return Ok(Some(schema));
                }
            }
            Ok(None) => {}
            Err(_) => {
                // Not a map: a foreign schema if it decodes at all, else a damaged record.
                result.decode::<RawJson>()?;
                seen_data = true;
            }
        }
    }
    if seen_data {
        return Ok(None);
    }
    Ok(schema::schema_from_database_type(
        &reader.metadata().database_type,
    ))
}

/// The address to look up, and whether it was an IPv4-mapped IPv6 address (looked up as IPv4,
/// where IPv6 databases keep IPv4 data).
fn canonical(ip: IpAddr) -> (IpAddr, bool) {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (IpAddr::V4(v4), true),
            None => (ip, false),
        },
        IpAddr::V4(_) => (ip, false),
    }
}

/// The `/32` or `/128` around `ip`.
fn host_net(ip: IpAddr) -> IpNet {
    match ip {
        IpAddr::V4(v4) => IpNet::V4(Ipv4Net::from(v4)),
        IpAddr::V6(v6) => IpNet::V6(Ipv6Net::from(v6)),
    }
}

// === steering adapter ===

impl GeoLookup for GeoDb {
    fn facts(&self, addr: IpAddr) -> GeoFacts {
        facts_of(self.lookup(addr))
    }

    fn partition(&self) -> Option<&GeoPartition> {
        self.partition
            .get_or_init(|| self.build_partition())
            .as_ref()
    }

    fn built_partition(&self) -> Option<&GeoPartition> {
        self.partition.get().and_then(Option::as_ref)
    }

    fn has_subdivisions(&self) -> bool {
        GeoDb::has_subdivisions(self)
    }

    fn fingerprint(&self) -> Option<String> {
        let m = &self.metadata;
        Some(format!(
            "{} built {} nodes {} bytes {} hash {:016x}",
            m.database_type, m.build_epoch, m.node_count, m.file_size, self.content_hash
        ))
    }

    fn networks(&self) -> Vec<(IpNet, GeoFacts)> {
        GeoDb::networks(self)
            .into_iter()
            .map(|hit| (hit.network, facts_of(hit)))
            .collect()
    }
}

/// What the steering needs of a hit.
fn facts_of(hit: GeoHit) -> GeoFacts {
    let two = |s: &str| {
        let b = s.as_bytes();
        (b.len() == 2).then(|| [b[0], b[1]])
    };
    GeoFacts {
        country: hit.country.map(|c| *c.as_bytes()),
        continent: hit.continent.and_then(|c| two(c.as_str())),
        subdivisions: hit.subdivisions,
        network: Some(hit.network),
    }
}

/// Opens a database for steering (see [`GeoDb::open`]).
pub fn open_lookup(path: &Path) -> Result<std::sync::Arc<dyn GeoLookup>, GeoError> {
    GeoDb::open(path).map(|db| std::sync::Arc::new(db) as std::sync::Arc<dyn GeoLookup>)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use steerdns_mmdb_writer::{
        MmdbWriter, SAMPLE_BUILD_EPOCH, SAMPLE_NETWORKS, test_database_country_code,
        test_database_geoip2,
    };

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    /// `addr` has no data in `db`: an empty hit whose network is `network`, no record.
    fn assert_no_data(db: &GeoDb, addr: &str, network: &str) {
        let hit = db.lookup(ip(addr));
        assert!(hit.is_empty(), "{addr}: {hit:?}");
        assert_eq!(hit.network.to_string(), network, "{addr}");
        assert_eq!(db.record_json(ip(addr)), serde_json::Value::Null, "{addr}");
    }

    fn geoip2() -> GeoDb {
        GeoDb::from_bytes(test_database_geoip2(), "geoip2-test.mmdb".into()).expect("opens")
    }

    fn country_code() -> GeoDb {
        GeoDb::from_bytes(test_database_country_code(), "cc-test.mmdb".into()).expect("opens")
    }

    /// A database of `database_type` with `records` (network, record), labelled `test.mmdb`.
    fn db_of(
        database_type: &str,
        ip_version: u16,
        records: Vec<(&str, serde_json::Value)>,
    ) -> Result<GeoDb, GeoError> {
        let mut w = MmdbWriter::new(database_type, ip_version).expect("writer");
        for (net, record) in records {
            w.insert(net.parse().expect("net"), record).expect("insert");
        }
        GeoDb::from_bytes(w.to_bytes(), "test.mmdb".into())
    }

    /// Every (address, expected summary) of `cases` looked up in `db`.
    fn assert_lookups(db: &GeoDb, cases: &[(&str, Summary)]) {
        for (addr, expected) in cases {
            assert_eq!(&summary(&db.lookup(ip(addr))), expected, "{addr}");
        }
    }

    /// (country, continent, subdivisions, network) as strings.
    type Summary = (String, String, String, String);

    fn summary(hit: &GeoHit) -> Summary {
        (
            hit.country.map(|c| c.to_string()).unwrap_or_default(),
            hit.continent.map(|c| c.to_string()).unwrap_or_default(),
            hit.subdivisions.join(","),
            hit.network.to_string(),
        )
    }

    fn s(c: &str, k: &str, sub: &str, n: &str) -> Summary {
        (c.into(), k.into(), sub.into(), n.into())
    }

    #[test]
    fn schema_is_detected() {
        let g = geoip2();
        assert_eq!(g.schema(), Schema::GeoIp2);
        assert_eq!(g.metadata().database_type, "GeoIP2-City");
        assert_eq!(g.metadata().ip_version, 6);
        assert_eq!(g.metadata().build_epoch, SAMPLE_BUILD_EPOCH);
        assert_eq!(g.metadata().build_time_utc(), "2026-01-01T00:00:00Z");
        let c = country_code();
        assert_eq!(c.schema(), Schema::CountryCode);
        assert_eq!(c.path(), Path::new("cc-test.mmdb"));
    }

    #[test]
    fn geoip2_lookups() {
        let db = geoip2();
        let cases = [
            (
                "81.2.69.160",
                s("GB", "EU", "GB-ENG,GB-LND", "81.2.69.0/24"),
            ),
            ("175.192.0.1", s("KR", "AS", "", "175.192.0.0/10")),
            ("192.0.2.1", s("US", "NA", "US-CA", "192.0.2.0/24")),
            ("198.51.100.1", s("BR", "SA", "", "198.51.100.0/25")),
            ("198.51.100.200", s("ZA", "AF", "", "198.51.100.128/25")),
            ("203.0.113.9", s("AU", "OC", "", "203.0.113.0/25")),
            // Only registered_country: country falls back to it, continent is derived.
            ("203.0.113.200", s("JP", "AS", "", "203.0.113.128/25")),
            ("2001:db8::1", s("DE", "EU", "", "2001:db8::/32")),
            ("3fff:ca::53", s("US", "NA", "US-CA", "3fff:ca::/32")),
        ];
        assert_lookups(&db, &cases);
    }

    #[test]
    fn country_code_lookups_derive_the_continent() {
        let db = country_code();
        for (network, country, continent) in SAMPLE_NETWORKS {
            let net: IpNet = network.parse().expect("sample");
            for addr in [net.network(), net.broadcast()] {
                let hit = db.lookup(addr);
                assert_eq!(
                    summary(&hit),
                    s(country, continent, "", network),
                    "{addr} in {network}"
                );
            }
        }
    }

    #[test]
    fn addresses_without_data_report_the_empty_network() {
        for db in [geoip2(), country_code()] {
            // 10 = 0b0000_1010 leaves the nearest data path (81 = 0b0101_0001) at bit 2.
            assert_no_data(&db, "10.1.2.3", "0.0.0.0/2");
            assert_no_data(&db, "2001:db9::1", "2001:db9::/32");
        }
    }

    #[test]
    fn ipv4_mapped_addresses_are_looked_up_as_ipv4() {
        let db = country_code();
        let hit = db.lookup(ip("::ffff:81.2.69.160"));
        assert_eq!(hit.country.map(|c| c.to_string()).as_deref(), Some("GB"));
        assert_eq!(hit.network.to_string(), "::ffff:81.2.69.0/120");
        assert!(hit.network.contains(&ip("::ffff:81.2.69.160")));
        // IPv4-compatible ::a.b.c.d is plain IPv6 and reads the ::/96 subtree.
        let hit = db.lookup(ip("::81.2.69.160"));
        assert_eq!(hit.country.map(|c| c.to_string()).as_deref(), Some("GB"));
        assert_eq!(hit.network.to_string(), "::5102:4500/120");
    }

    #[test]
    fn ipv4_only_database() {
        let db = db_of(
            "GeoLite2-Country",
            4,
            vec![(
                "81.2.69.0/24",
                json!({"country": {"iso_code": "gb"}, "continent": {"code": "eu"}}),
            )],
        )
        .expect("opens");
        assert_lookups(
            &db,
            &[
                ("81.2.69.1", s("GB", "EU", "", "81.2.69.0/24")),
                (
                    "::ffff:81.2.69.1",
                    s("GB", "EU", "", "::ffff:81.2.69.0/120"),
                ),
            ],
        );
        // No IPv6 address has data in an IPv4 database.
        assert_no_data(&db, "2001:db8::1", "::/0");
    }

    #[test]
    fn ipv6_database_without_ipv4_subtree() {
        let db = db_of(
            "v6-only",
            6,
            vec![("2001:db8::/32", json!({"country_code": "DE"}))],
        )
        .expect("opens");
        assert_no_data(&db, "192.0.2.1", "0.0.0.0/0");
    }

    #[test]
    fn odd_records_do_not_fail_lookups() {
        let records = vec![
            (
                "192.0.2.0/26",
                json!({"country": {"iso_code": "GBR"}, "continent": {"code": "XX"}}),
            ),
            ("192.0.2.64/26", json!({"country": {"iso_code": 12}})),
            (
                "192.0.2.128/26",
                json!({"country": {"iso_code": "fr"}, "subdivisions": [
                {"iso_code": "idf"}, {"names": {"en": "no code"}}, {"iso_code": "TOOLONG"}]}),
            ),
            ("192.0.2.192/26", json!({"traits": {"is_anycast": true}})),
        ];
        let db = db_of("GeoIP2-Country", 6, records).expect("opens");
        assert_lookups(
            &db,
            &[
                // Invalid codes are dropped, not guessed.
                ("192.0.2.1", s("", "", "", "192.0.2.0/26")),
                // A record of the wrong shape is no data.
                ("192.0.2.65", s("", "", "", "192.0.2.64/26")),
                ("192.0.2.129", s("FR", "EU", "FR-IDF", "192.0.2.128/26")),
                ("192.0.2.193", s("", "", "", "192.0.2.192/26")),
            ],
        );
    }

    #[test]
    fn unknown_schema_is_an_error() {
        let err = db_of(
            "GeoLite2-ASN",
            4,
            vec![("192.0.2.0/24", json!({"autonomous_system_number": 64_496}))],
        )
        .expect_err("asn db");
        assert!(matches!(err, GeoError::UnknownSchema { .. }));
        assert_eq!(
            err.to_string(),
            "test.mmdb: database type \"GeoLite2-ASN\" has neither country.iso_code nor country_code"
        );
        // Records that are not maps at all are a foreign schema too, not damage.
        let err = db_of("strings", 4, vec![("192.0.2.0/24", json!("GB"))]).expect_err("string db");
        assert!(matches!(err, GeoError::UnknownSchema { .. }), "{err}");
    }

    #[test]
    fn empty_databases_use_the_database_type() {
        let db = db_of("GeoLite2-Country", 6, vec![]).expect("opens");
        assert_eq!(db.schema(), Schema::GeoIp2);
        assert!(db.lookup(ip("81.2.69.1")).is_empty());
        let err = db_of("something", 6, vec![]).expect_err("unknown");
        assert!(matches!(err, GeoError::UnknownSchema { .. }));
    }

    #[test]
    fn broken_files_fail_at_open_and_name_the_file() {
        let err = GeoDb::open(Path::new("/nonexistent/geo.mmdb")).expect_err("missing");
        assert!(matches!(err, GeoError::Read { .. }));
        assert_eq!(
            err.to_string(),
            "cannot read GeoIP database /nonexistent/geo.mmdb"
        );

        let err =
            GeoDb::from_bytes(b"not a database".to_vec(), "junk.mmdb".into()).expect_err("junk");
        assert!(matches!(err, GeoError::Format { .. }));
        assert!(err.to_string().starts_with("junk.mmdb: "), "{err}");

        // Truncations anywhere: never a panic, always an error (or, if only trailing
        // metadata bytes the reader does not need were cut, a working database).
        let good = test_database_geoip2();
        for cut in (0..good.len()).step_by(97) {
            let _ = GeoDb::from_bytes(good[..cut].to_vec(), "cut.mmdb".into());
        }
        // A garbled data section: the tree still points into it, the records are garbage.
        let mut bad = test_database_country_code();
        let meta = bad.len() - 200;
        for b in &mut bad[meta - 300..meta] {
            *b = 0xff;
        }
        match GeoDb::from_bytes(bad, "bad.mmdb".into()) {
            Ok(db) => {
                // If the probe did not reach the damage, lookups still do not panic.
                for (network, _, _) in SAMPLE_NETWORKS {
                    let n: IpNet = network.parse().expect("sample");
                    let _ = db.lookup(n.addr());
                    let _ = db.describe(n.addr());
                }
            }
            Err(e) => assert!(e.to_string().starts_with("bad.mmdb: "), "{e}"),
        }
    }

    /// Random byte corruption anywhere in a database: opening fails cleanly or the database
    /// answers every lookup without panicking.
    #[test]
    fn corrupted_databases_never_panic() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let addrs: Vec<IpAddr> = [
            "81.2.69.160",
            "175.192.0.1",
            "192.0.2.1",
            "203.0.113.200",
            "10.0.0.1",
            "2001:db8::1",
            "3fff:ca::1",
            "::1",
            "::ffff:81.2.69.1",
            "255.255.255.255",
        ]
        .iter()
        .map(|a| ip(a))
        .collect();
        let mut opened = 0;
        for original in [test_database_geoip2(), test_database_country_code()] {
            for _ in 0..300 {
                let mut bytes = original.clone();
                for _ in 0..1 + next() % 4 {
                    let at = (next() % bytes.len() as u64) as usize;
                    bytes[at] = next() as u8;
                }
                if let Ok(db) = GeoDb::from_bytes(bytes, "fuzz.mmdb".into()) {
                    opened += 1;
                    for addr in &addrs {
                        let hit = db.lookup(*addr);
                        assert!(hit.network.contains(addr), "{addr} not in {}", hit.network);
                        let _ = db.record_json(*addr);
                        let _ = db.describe(*addr);
                    }
                }
            }
        }
        // Most single-byte changes leave a database that opens: the lookups above ran.
        assert!(
            opened > 200,
            "only {opened} of 600 corrupted databases opened"
        );
    }

    #[test]
    fn open_reads_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sample.mmdb");
        std::fs::write(&path, test_database_country_code()).expect("write");
        let db = GeoDb::open(&path).expect("opens");
        // The file can be replaced or removed while the database is in use.
        std::fs::write(&path, b"overwritten").expect("overwrite");
        assert_eq!(
            db.lookup(ip("81.2.69.160"))
                .country
                .map(|c| c.to_string())
                .as_deref(),
            Some("GB")
        );
        assert_eq!(db.path(), path);
    }

    #[test]
    fn record_json_is_the_raw_record() {
        let db = geoip2();
        let record = db.record_json(ip("81.2.69.160"));
        assert_eq!(record["country"]["iso_code"], "GB");
        assert_eq!(record["location"]["accuracy_radius"], 100);
        assert_eq!(record["subdivisions"][1]["names"]["en"], "London");
        assert_eq!(
            country_code().record_json(ip("175.192.0.1")),
            json!({"country_code": "KR"})
        );
    }

    #[test]
    fn describe_for_people() {
        let text = geoip2().describe(ip("81.2.69.160"));
        for line in [
            "address:      81.2.69.160",
            "network:      81.2.69.0/24",
            "country:      GB",
            "continent:    EU (Europe)",
            "subdivisions: GB-ENG, GB-LND",
            "database:     geoip2-test.mmdb",
            "type:         GeoIP2-City (IPv6, GeoIP2 schema)",
            "built:        2026-01-01T00:00:00Z",
            "record:",
            "\"iso_code\": \"GB\"",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        let text = country_code().describe(ip("10.0.0.1"));
        assert!(text.contains("country:      -"), "{text}");
        assert!(text.contains("record:       none"), "{text}");
        let text = country_code().describe(ip("175.192.0.1"));
        assert!(
            text.contains("continent:    AS (Asia, derived from the country)"),
            "{text}"
        );
    }

    #[test]
    fn hits_serialize_for_explain() {
        let hit = geoip2().lookup(ip("192.0.2.1"));
        assert_eq!(
            serde_json::to_value(&hit).expect("json"),
            json!({"country": "US", "continent": "NA", "subdivisions": ["US-CA"],
                   "network": "192.0.2.0/24"})
        );
    }

    #[test]
    fn epoch_formatting() {
        for (epoch, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_767_225_600, "2026-01-01T00:00:00Z"),
            (1_781_725_900, "2026-06-17T19:51:40Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ] {
            assert_eq!(format_epoch(epoch), text);
        }
    }

    #[test]
    fn geo_db_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<GeoDb>();
        check::<GeoHit>();
    }
}
