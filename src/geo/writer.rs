//! A small MaxMind DB writer, used by tests and fixture tooling.
//!
//! steerdns never writes databases at run time; this module exists so tests (ours and other
//! modules') can build tiny GeoIP2-schema and ip-location-db-schema databases in memory instead
//! of shipping binary fixtures, and so a fixture tool can write one to a file.
//!
//! It follows the MaxMind DB File Format Specification 2.0:
//!
//! ```text
//!  ┌──────────────────────┬──────────────┬──────────────┬────────────────────────┬──────────┐
//!  │ binary search tree   │ 16 zero bytes│ data section │ "\xAB\xCD\xEFMaxMind.com" │ metadata │
//!  │ node_count × 2 recs  │ (separator)  │ (records)    │ (marker)               │ (a map)  │
//!  └──────────────────────┴──────────────┴──────────────┴────────────────────────┴──────────┘
//! ```
//!
//! - The tree has one node per bit of the address (32 levels for IPv4, 128 for IPv6); each node
//!   holds two records (bit 0, bit 1) of 24, 28 or 32 bits. A record below `node_count` is
//!   another node, equal to `node_count` means "no data", above it points into the data section
//!   at `record - node_count - 16`. The smallest record size that fits is chosen.
//! - In an IPv6 database the IPv4 networks live in the `::/96` subtree (`1.2.3.0/24` is stored at
//!   `::1.2.3.0/120`), which is where readers look IPv4 addresses up.
//! - Data values: maps, UTF-8 strings, `uint16`/`uint32`/`uint64`, `int32`, `double`,
//!   booleans and arrays. A value equal to one written before is written once and referred to
//!   with a pointer (records shared by many networks are stored once).
//!
//! Inserting a network that overlaps an earlier one follows "last insert wins" for the addresses
//! of the new network: a more specific network inside an older one splits it, a larger one
//! replaces everything it covers.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ipnet::IpNet;
use serde_json::{Map, Value, json};

/// The metadata section starts after this marker (the last occurrence in the file).
pub const METADATA_MARKER: &[u8] = b"\xAB\xCD\xEFMaxMind.com";

/// Size of the all-zero separator between the search tree and the data section.
const SEPARATOR_LEN: u64 = 16;

/// Map keys whose unsigned integer values are written as `uint16`, as in GeoIP2 databases
/// (MaxMind readers decode these fields into `u16` and reject a `uint32` there).
/// Other unsigned integers are written as `uint32` (or `uint64` above `u32::MAX`).
pub const DEFAULT_UINT16_KEYS: &[&str] = &["accuracy_radius", "metro_code", "confidence"];

// MaxMind DB data type numbers (specification section "Output Data Section").
const T_POINTER: u8 = 1;
const T_STRING: u8 = 2;
const T_DOUBLE: u8 = 3;
const T_UINT16: u8 = 5;
const T_UINT32: u8 = 6;
const T_MAP: u8 = 7;
const T_INT32: u8 = 8;
const T_UINT64: u8 = 9;
const T_ARRAY: u8 = 11;
const T_BOOLEAN: u8 = 14;

//------------ WriteError ------------------------------------------------------------------------

/// Why a database cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WriteError {
    /// `ip_version` was neither 4 nor 6.
    #[error("ip_version must be 4 or 6, not {0}")]
    IpVersion(u16),
    /// A record size other than 24, 28 or 32 bits was asked for.
    #[error("record size must be 24, 28 or 32 bits, not {0}")]
    RecordSize(u16),
    /// An IPv6 network was inserted into an IPv4 database.
    #[error("cannot insert IPv6 network {0} into an IPv4-only database")]
    V6InV4(IpNet),
    /// The record cannot be represented in the MaxMind DB format.
    #[error("record for {network}: {reason}")]
    Value {
        /// The network being inserted.
        network: IpNet,
        /// What is wrong with the value.
        reason: String,
    },
    /// The database would not fit in 32-bit search tree records (about 4 GiB).
    #[error("database too large for 32-bit search tree records")]
    TooLarge,
}

//------------ MmdbWriter ------------------------------------------------------------------------

/// One record of a search tree node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// No data for this part of the address space.
    Empty,
    /// Index into `MmdbWriter::values`.
    Data(usize),
    /// Index into `MmdbWriter::nodes` (arena index, renumbered when written).
    Node(usize),
}

/// Builds a MaxMind DB file in memory. Used by tests and fixture tooling; see the module docs
/// for the format.
///
/// ```
/// use steerdns::geo::writer::MmdbWriter;
/// let mut w = MmdbWriter::new("Example-Country", 6)?;
/// w.insert("81.2.69.0/24".parse()?, serde_json::json!({"country_code": "GB"}))?;
/// let bytes = w.to_bytes();
/// let db = steerdns::geo::GeoDb::from_bytes(bytes, "example.mmdb".into())?;
/// assert_eq!(db.lookup("81.2.69.160".parse()?).network.to_string(), "81.2.69.0/24");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct MmdbWriter {
    database_type: String,
    ip_version: u16,
    build_epoch: u64,
    description: BTreeMap<String, String>,
    languages: Vec<String>,
    min_record_size: u16,
    uint16_keys: BTreeSet<String>,
    /// Arena of tree nodes; index 0 is the root. Nodes cut off by a later, larger insert stay
    /// here but are unreachable and not written.
    nodes: Vec<[Slot; 2]>,
    /// Inserted records, in insert order.
    values: Vec<Value>,
    /// Upper bound of the bytes the data section can take (sum of encoded record sizes).
    data_bound: u64,
}

impl MmdbWriter {
    /// A new, empty database of the given `database_type` (metadata, e.g. `"GeoIP2-Country"`)
    /// and `ip_version` (4: IPv4 only; 6: IPv6 with IPv4 in `::/96`).
    pub fn new(database_type: impl Into<String>, ip_version: u16) -> Result<Self, WriteError> {
        if ip_version != 4 && ip_version != 6 {
            return Err(WriteError::IpVersion(ip_version));
        }
        let mut description = BTreeMap::new();
        description.insert(
            "en".to_owned(),
            "steerdns test database (MmdbWriter)".to_owned(),
        );
        Ok(Self {
            database_type: database_type.into(),
            ip_version,
            build_epoch: 0,
            description,
            languages: vec!["en".to_owned()],
            min_record_size: 24,
            uint16_keys: DEFAULT_UINT16_KEYS.iter().map(|k| (*k).to_owned()).collect(),
            nodes: vec![[Slot::Empty, Slot::Empty]],
            values: Vec::new(),
            data_bound: 0,
        })
    }

    /// Sets the `build_epoch` metadata (seconds since 1970-01-01 UTC; default 0).
    pub fn set_build_epoch(&mut self, epoch: u64) -> &mut Self {
        self.build_epoch = epoch;
        self
    }

    /// Sets the `description` metadata for one language (default: an English description).
    pub fn set_description(&mut self, language: &str, text: &str) -> &mut Self {
        self.description
            .insert(language.to_owned(), text.to_owned());
        self
    }

    /// Sets the `languages` metadata (default: `["en"]`).
    pub fn set_languages(&mut self, languages: &[&str]) -> &mut Self {
        self.languages = languages.iter().map(|l| (*l).to_owned()).collect();
        self
    }

    /// Uses search tree records of at least `bits` (24, 28 or 32) even when smaller ones would
    /// fit, so tests can exercise every record layout.
    pub fn set_min_record_size(&mut self, bits: u16) -> Result<&mut Self, WriteError> {
        if !matches!(bits, 24 | 28 | 32) {
            return Err(WriteError::RecordSize(bits));
        }
        self.min_record_size = bits;
        Ok(self)
    }

    /// Map keys whose unsigned integers are written as `uint16` (default
    /// [`DEFAULT_UINT16_KEYS`]). A value above `u16::MAX` under such a key is written as
    /// `uint32` anyway.
    pub fn set_uint16_keys(&mut self, keys: &[&str]) -> &mut Self {
        self.uint16_keys = keys.iter().map(|k| (*k).to_owned()).collect();
        self
    }

    /// The `database_type` metadata.
    pub fn database_type(&self) -> &str {
        &self.database_type
    }

    /// The `ip_version` metadata: 4 or 6.
    pub fn ip_version(&self) -> u16 {
        self.ip_version
    }

    /// Associates `record` with every address of `network` (its host bits are ignored).
    ///
    /// `record` may hold maps, strings, unsigned integers (`uint16`/`uint32`/`uint64`),
    /// negative integers down to `i32::MIN` (`int32`), floats (`double`), booleans and arrays;
    /// `null` and larger negative numbers are rejected. A later insert wins over an earlier one
    /// for the addresses they share. In an IPv6 database an IPv4 network is stored in the
    /// `::/96` subtree.
    pub fn insert(&mut self, network: IpNet, record: Value) -> Result<(), WriteError> {
        let (bits, prefix) = self.tree_key(network)?;
        // Validate the value and bound its encoded size, so `to_bytes` cannot fail.
        let mut scratch = Encoder::new(&self.uint16_keys, false);
        scratch
            .encode(&record, None)
            .map_err(|reason| WriteError::Value { network, reason })?;
        // Sharing never makes a record longer except where a pointer (at most 5 bytes)
        // replaces a shorter container, so 5 × the unshared size bounds it.
        let data_bound = self
            .data_bound
            .checked_add(5 * scratch.out.len() as u64)
            .ok_or(WriteError::TooLarge)?;
        // Every insert adds at most `prefix` nodes.
        let node_bound = self.nodes.len() as u64 + u64::from(prefix);
        if node_bound + SEPARATOR_LEN + data_bound >= 1 << 32 {
            return Err(WriteError::TooLarge);
        }
        self.data_bound = data_bound;

        let value_index = self.values.len();
        self.values.push(record);
        self.set_range(bits, prefix, Slot::Data(value_index));
        Ok(())
    }

    /// The address bits (left-aligned in a `u128`) and prefix length of `network` in this
    /// database's tree.
    fn tree_key(&self, network: IpNet) -> Result<(u128, u8), WriteError> {
        match (network, self.ip_version) {
            (IpNet::V4(n), 4) => Ok((u128::from(u32::from(n.network())) << 96, n.prefix_len())),
            (IpNet::V4(n), _) => Ok((u128::from(u32::from(n.network())), n.prefix_len() + 96)),
            (IpNet::V6(_), 4) => Err(WriteError::V6InV4(network)),
            (IpNet::V6(n), _) => Ok((u128::from(n.network()), n.prefix_len())),
        }
    }

    /// Points every address under (`bits`, `prefix`) at `slot`.
    fn set_range(&mut self, bits: u128, prefix: u8, slot: Slot) {
        if prefix == 0 {
            // The whole address space: both records of the root.
            self.nodes[0] = [slot, slot];
            return;
        }
        let mut node = 0usize;
        for depth in 0..prefix - 1 {
            let bit = bit_at(bits, depth);
            node = match self.nodes[node][bit] {
                Slot::Node(next) => next,
                old => {
                    // Empty or data above the new network: split it, both halves keep `old`.
                    let next = self.nodes.len();
                    self.nodes.push([old, old]);
                    self.nodes[node][bit] = Slot::Node(next);
                    next
                }
            };
        }
        let bit = bit_at(bits, prefix - 1);
        self.nodes[node][bit] = slot;
    }

    /// The complete database file.
    pub fn to_bytes(&self) -> Vec<u8> {
        // 1. Number the reachable nodes breadth-first; the root is node 0.
        let mut order = vec![0usize];
        let mut number: HashMap<usize, u32> = HashMap::from([(0, 0)]);
        let mut i = 0;
        while let Some(&arena) = order.get(i) {
            for slot in self.nodes[arena] {
                if let Slot::Node(child) = slot {
                    if !number.contains_key(&child) {
                        number.insert(child, order.len() as u32);
                        order.push(child);
                    }
                }
            }
            i += 1;
        }
        let node_count = order.len() as u64;

        // 2. The data section: each reachable record once, identical values shared.
        let mut encoder = Encoder::new(&self.uint16_keys, true);
        let mut offsets: HashMap<usize, u64> = HashMap::new();
        for &arena in &order {
            for slot in self.nodes[arena] {
                if let Slot::Data(v) = slot {
                    if let std::collections::hash_map::Entry::Vacant(e) = offsets.entry(v) {
                        // Validated at insert, so encoding cannot fail here.
                        let offset = encoder.encode_top(&self.values[v]).unwrap_or(0);
                        e.insert(offset);
                    }
                }
            }
        }
        let data = encoder.out;

        // 3. The smallest record size that holds the largest record value.
        let max_record = node_count + SEPARATOR_LEN + data.len() as u64;
        let record_size: u16 = if max_record < 1 << 24 && self.min_record_size <= 24 {
            24
        } else if max_record < 1 << 28 && self.min_record_size <= 28 {
            28
        } else {
            32
        };

        // 4. The tree.
        let node_bytes = usize::from(record_size) / 4;
        let mut out = Vec::with_capacity(order.len() * node_bytes + 16 + data.len() + 256);
        for &arena in &order {
            let [left, right] = self.nodes[arena].map(|slot| match slot {
                Slot::Empty => node_count,
                Slot::Node(child) => u64::from(number.get(&child).copied().unwrap_or(0)),
                Slot::Data(v) => {
                    node_count + SEPARATOR_LEN + offsets.get(&v).copied().unwrap_or(0)
                }
            });
            // Bounded by the insert-time size check, so these fit in `record_size` bits.
            let (l, r) = (left as u32, right as u32);
            match record_size {
                24 => {
                    out.extend_from_slice(&l.to_be_bytes()[1..]);
                    out.extend_from_slice(&r.to_be_bytes()[1..]);
                }
                28 => {
                    out.extend_from_slice(&l.to_be_bytes()[1..]);
                    out.push((((l >> 24) & 0x0f) << 4) as u8 | ((r >> 24) & 0x0f) as u8);
                    out.extend_from_slice(&r.to_be_bytes()[1..]);
                }
                _ => {
                    out.extend_from_slice(&l.to_be_bytes());
                    out.extend_from_slice(&r.to_be_bytes());
                }
            }
        }

        // 5. Separator, data, marker, metadata.
        out.extend_from_slice(&[0u8; SEPARATOR_LEN as usize]);
        out.extend_from_slice(&data);
        out.extend_from_slice(METADATA_MARKER);
        let mut meta = Encoder::new(&self.uint16_keys, false);
        meta.encode_metadata(self, node_count as u32, record_size);
        out.extend_from_slice(&meta.out);
        out
    }
}

/// Bit `depth` (0 = most significant) of a 128-bit tree key, as a record index.
fn bit_at(bits: u128, depth: u8) -> usize {
    ((bits >> (127 - u32::from(depth))) & 1) as usize
}

//------------ Encoder ---------------------------------------------------------------------------

/// Writes data section values, optionally sharing repeated values through pointers.
struct Encoder<'k> {
    out: Vec<u8>,
    uint16_keys: &'k BTreeSet<String>,
    /// Canonical JSON text of each value written so far → its offset (when sharing).
    seen: Option<HashMap<String, u64>>,
}

impl<'k> Encoder<'k> {
    fn new(uint16_keys: &'k BTreeSet<String>, share: bool) -> Self {
        Self {
            out: Vec::new(),
            uint16_keys,
            seen: share.then(HashMap::new),
        }
    }

    /// Writes a top-level record and returns its offset; an identical earlier record is reused
    /// (the tree points at it directly: a search tree record must not point at a pointer).
    fn encode_top(&mut self, value: &Value) -> Result<u64, String> {
        if let Some(seen) = &self.seen {
            if let Some(&offset) = seen.get(&value.to_string()) {
                return Ok(offset);
            }
        }
        let offset = self.out.len() as u64;
        self.encode(value, None)?;
        Ok(offset)
    }

    /// Writes `value`; `key` is the map key it belongs to (for the uint16 rule).
    fn encode(&mut self, value: &Value, key: Option<&str>) -> Result<(), String> {
        let canonical = match (&self.seen, value) {
            // Small scalars are cheaper inline than behind a pointer.
            (Some(_), Value::String(s)) if s.len() >= 4 => Some(value.to_string()),
            (Some(_), Value::Object(_) | Value::Array(_)) => Some(value.to_string()),
            _ => None,
        };
        if let (Some(seen), Some(text)) = (&self.seen, &canonical) {
            if let Some(&offset) = seen.get(text) {
                self.pointer(offset);
                return Ok(());
            }
        }
        let offset = self.out.len() as u64;
        match value {
            Value::Null => return Err("null cannot be stored in a MaxMind DB".to_owned()),
            Value::Bool(b) => self.header(T_BOOLEAN, usize::from(*b)),
            Value::Number(n) => self.number(n, key)?,
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                self.header(T_ARRAY, items.len());
                for item in items {
                    self.encode(item, None)?;
                }
            }
            Value::Object(map) => self.map(map)?,
        }
        if let (Some(seen), Some(text)) = (&mut self.seen, canonical) {
            seen.entry(text).or_insert(offset);
        }
        Ok(())
    }

    fn map(&mut self, map: &Map<String, Value>) -> Result<(), String> {
        self.header(T_MAP, map.len());
        for (k, v) in map {
            // Keys are strings and may be shared like any other string.
            self.encode(&Value::String(k.clone()), None)?;
            self.encode(v, Some(k))?;
        }
        Ok(())
    }

    fn number(&mut self, n: &serde_json::Number, key: Option<&str>) -> Result<(), String> {
        if let Some(u) = n.as_u64() {
            let wants_u16 = key.is_some_and(|k| self.uint16_keys.contains(k));
            if wants_u16 && u <= u64::from(u16::MAX) {
                self.uint(T_UINT16, u);
            } else if u <= u64::from(u32::MAX) {
                self.uint(T_UINT32, u);
            } else {
                self.uint(T_UINT64, u);
            }
            Ok(())
        } else if let Some(i) = n.as_i64() {
            let i = i32::try_from(i).map_err(|_| format!("{i} does not fit in int32"))?;
            self.header(T_INT32, 4);
            self.out.extend_from_slice(&i.to_be_bytes());
            Ok(())
        } else if let Some(f) = n.as_f64() {
            self.header(T_DOUBLE, 8);
            self.out.extend_from_slice(&f.to_be_bytes());
            Ok(())
        } else {
            Err(format!("unsupported number {n}"))
        }
    }

    /// An unsigned integer in the fewest big-endian bytes (0 is zero bytes).
    fn uint(&mut self, type_num: u8, value: u64) {
        let bytes = value.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        self.header(type_num, bytes.len() - skip);
        self.out.extend_from_slice(&bytes[skip..]);
    }

    fn string(&mut self, s: &str) {
        self.header(T_STRING, s.len());
        self.out.extend_from_slice(s.as_bytes());
    }

    /// Control byte(s) for `type_num` with payload `size`: type in the top 3 bits (0 and an
    /// extra byte `type - 7` for types above 7), then the size in the low 5 bits, with 1–3
    /// extra bytes for sizes from 29 on.
    fn header(&mut self, type_num: u8, size: usize) {
        let (size_bits, extra): (u8, Vec<u8>) = if size < 29 {
            (size as u8, Vec::new())
        } else if size < 285 {
            (29, vec![(size - 29) as u8])
        } else if size < 65_821 {
            let s = (size - 285) as u16;
            (30, s.to_be_bytes().to_vec())
        } else {
            let s = (size - 65_821) as u32;
            (31, s.to_be_bytes()[1..].to_vec())
        };
        if type_num <= 7 {
            self.out.push((type_num << 5) | size_bits);
        } else {
            self.out.push(size_bits);
            self.out.push(type_num - 7);
        }
        self.out.extend_from_slice(&extra);
    }

    /// A pointer to `offset` (from the start of the data section), in the shortest of its four
    /// forms.
    fn pointer(&mut self, offset: u64) {
        let base = T_POINTER << 5;
        if offset < 2048 {
            self.out.push(base | ((offset >> 8) & 0x7) as u8);
            self.out.push(offset as u8);
        } else if offset < 526_336 {
            let p = offset - 2048;
            self.out.push(base | (1 << 3) | ((p >> 16) & 0x7) as u8);
            self.out.extend_from_slice(&(p as u16).to_be_bytes());
        } else if offset < 134_744_064 {
            let p = offset - 526_336;
            self.out.push(base | (2 << 3) | ((p >> 24) & 0x7) as u8);
            self.out.extend_from_slice(&(p as u32).to_be_bytes()[1..]);
        } else {
            self.out.push(base | (3 << 3));
            self.out.extend_from_slice(&(offset as u32).to_be_bytes());
        }
    }

    /// The metadata map, with the exact integer types readers expect.
    fn encode_metadata(&mut self, w: &MmdbWriter, node_count: u32, record_size: u16) {
        self.header(T_MAP, 9);
        self.string("binary_format_major_version");
        self.uint(T_UINT16, 2);
        self.string("binary_format_minor_version");
        self.uint(T_UINT16, 0);
        self.string("build_epoch");
        self.uint(T_UINT64, w.build_epoch);
        self.string("database_type");
        self.string(&w.database_type);
        self.string("description");
        self.header(T_MAP, w.description.len());
        for (lang, text) in &w.description {
            self.string(lang);
            self.string(text);
        }
        self.string("ip_version");
        self.uint(T_UINT16, u64::from(w.ip_version));
        self.string("languages");
        self.header(T_ARRAY, w.languages.len());
        for lang in &w.languages {
            self.string(lang);
        }
        self.string("node_count");
        self.uint(T_UINT32, u64::from(node_count));
        self.string("record_size");
        self.uint(T_UINT16, u64::from(record_size));
    }
}

//------------ Sample databases ------------------------------------------------------------------

/// Build epoch of the sample databases: 2026-01-01T00:00:00Z.
pub const SAMPLE_BUILD_EPOCH: u64 = 1_767_225_600;

/// One GeoIP2 place (`country`, `continent`, ...) as stored in GeoIP2 records.
fn place(iso_or_code: (&str, &str), geoname_id: u32, name: &str) -> Value {
    json!({ iso_or_code.0: iso_or_code.1, "geoname_id": geoname_id, "names": { "en": name } })
}

fn continent(code: &str) -> Value {
    let (id, name) = match code {
        "AF" => (6_255_146, "Africa"),
        "AN" => (6_255_152, "Antarctica"),
        "AS" => (6_255_147, "Asia"),
        "EU" => (6_255_148, "Europe"),
        "NA" => (6_255_149, "North America"),
        "OC" => (6_255_151, "Oceania"),
        _ => (6_255_150, "South America"),
    };
    place(("code", code), id, name)
}

fn country(iso: &str, geoname_id: u32, name: &str) -> Value {
    place(("iso_code", iso), geoname_id, name)
}

/// A full GeoIP2 City-style record.
fn geoip2_record(
    cont: &str,
    ctry: (&str, u32, &str),
    subdivisions: &[(&str, &str)],
) -> Value {
    let mut record = json!({
        "continent": continent(cont),
        "country": country(ctry.0, ctry.1, ctry.2),
        "registered_country": country(ctry.0, ctry.1, ctry.2),
    });
    if !subdivisions.is_empty() {
        let subs: Vec<Value> = subdivisions
            .iter()
            .map(|(iso, name)| json!({ "iso_code": iso, "names": { "en": name } }))
            .collect();
        record["subdivisions"] = Value::Array(subs);
    }
    record
}

/// The networks of the sample databases and the country each one has.
///
/// | network              | country | continent | subdivisions (GeoIP2 sample only) |
/// |----------------------|---------|-----------|-----------------------------------|
/// | `81.2.69.0/24`       | GB      | EU        | GB-ENG                            |
/// | `81.2.69.192/28`     | GB      | EU        | GB-SCT (more specific, inside the /24) |
/// | `175.192.0.0/10`     | KR      | AS        |                                   |
/// | `192.0.2.0/24`       | US      | NA        | US-CA                             |
/// | `198.51.100.0/25`    | BR      | SA        |                                   |
/// | `198.51.100.128/25`  | ZA      | AF        |                                   |
/// | `203.0.113.0/25`     | AU      | OC        |                                   |
/// | `203.0.113.128/25`   | AQ      | AN        | (GeoIP2: `registered_country` only, no `country`/`continent`: JP, AS) |
/// | `2001:db8::/32`      | DE      | EU        |                                   |
/// | `2001:db8:ca::/48`   | US      | NA        | US-CA                             |
///
/// Everything else is not in the databases.
pub const SAMPLE_NETWORKS: &[(&str, &str, &str)] = &[
    ("81.2.69.0/24", "GB", "EU"),
    ("81.2.69.192/28", "GB", "EU"),
    ("175.192.0.0/10", "KR", "AS"),
    ("192.0.2.0/24", "US", "NA"),
    ("198.51.100.0/25", "BR", "SA"),
    ("198.51.100.128/25", "ZA", "AF"),
    ("203.0.113.0/25", "AU", "OC"),
    ("203.0.113.128/25", "AQ", "AN"),
    ("2001:db8::/32", "DE", "EU"),
    ("2001:db8:ca::/48", "US", "NA"),
];

/// A GeoIP2-City-schema IPv6 database (`database_type` `"GeoIP2-City"`) with the networks of
/// [`SAMPLE_NETWORKS`]: full `continent` / `country` / `registered_country` maps with
/// `geoname_id` and English names, `subdivisions` for GB-ENG, GB-SCT and US-CA, a `location`
/// map on `81.2.69.0/24`, and a record on `203.0.113.128/25` that has only
/// `registered_country` (JP), to exercise the fallback.
pub fn test_database_geoip2() -> Vec<u8> {
    let gb = ("GB", 2_635_167, "United Kingdom");
    let us = ("US", 6_252_001, "United States");
    let mut london = geoip2_record("EU", gb, &[("ENG", "England")]);
    london["location"] = json!({
        "accuracy_radius": 100, "latitude": 51.5, "longitude": -0.13, "time_zone": "Europe/London"
    });
    let records: Vec<(&str, Value)> = vec![
        ("81.2.69.0/24", london),
        (
            "81.2.69.192/28",
            geoip2_record("EU", gb, &[("SCT", "Scotland")]),
        ),
        (
            "175.192.0.0/10",
            geoip2_record("AS", ("KR", 1_835_841, "South Korea"), &[]),
        ),
        (
            "192.0.2.0/24",
            geoip2_record("NA", us, &[("CA", "California")]),
        ),
        (
            "198.51.100.0/25",
            geoip2_record("SA", ("BR", 3_469_034, "Brazil"), &[]),
        ),
        (
            "198.51.100.128/25",
            geoip2_record("AF", ("ZA", 953_987, "South Africa"), &[]),
        ),
        (
            "203.0.113.0/25",
            geoip2_record("OC", ("AU", 2_077_456, "Australia"), &[]),
        ),
        (
            "203.0.113.128/25",
            json!({ "registered_country": country("JP", 1_861_060, "Japan") }),
        ),
        (
            "2001:db8::/32",
            geoip2_record("EU", ("DE", 2_921_044, "Germany"), &[]),
        ),
        (
            "2001:db8:ca::/48",
            geoip2_record("NA", us, &[("CA", "California")]),
        ),
    ];
    build_sample("GeoIP2-City", records)
}

/// An ip-location-db-schema IPv6 database (records are `{"country_code": "XX"}` only, like
/// the shipped `geo-whois-asn-country.mmdb`; `database_type` `"country ipvAll"` as there) with
/// the networks and countries of [`SAMPLE_NETWORKS`] (`203.0.113.128/25` is AQ).
pub fn test_database_country_code() -> Vec<u8> {
    let records = SAMPLE_NETWORKS
        .iter()
        .map(|(network, cc, _)| (*network, json!({ "country_code": cc })))
        .collect();
    build_sample("country ipvAll", records)
}

fn build_sample(database_type: &str, records: Vec<(&str, Value)>) -> Vec<u8> {
    let mut writer = match MmdbWriter::new(database_type, 6) {
        Ok(w) => w,
        Err(_) => return Vec::new(),
    };
    writer.set_build_epoch(SAMPLE_BUILD_EPOCH);
    for (network, record) in records {
        // The sample literals and records are all valid; a failure would show up in the unit
        // tests as a missing network.
        if let Ok(network) = network.parse() {
            let _ = writer.insert(network, record);
        }
    }
    writer.to_bytes()
}
