//! A small MaxMind DB writer for steerdns's tests, benches and fixture tooling.
//!
//! steerdns never writes databases at run time, so this crate is not part of the shipped
//! library or binary: it is a development dependency (`[dev-dependencies]` of the root
//! crate) and a workspace member whose own round-trip tests run with `cargo test`. It lets
//! tests build tiny GeoIP2-schema and ip-location-db-schema databases in memory instead of
//! shipping binary fixtures ([`test_database_geoip2`], [`test_database_country_code`]), and
//! lets a fixture tool write one to a file.
//!
//! It follows the MaxMind DB File Format Specification 2.0:
//!
//! ```text
//!  +---------------------+---------------+--------------+--------------------------+----------+
//!  | binary search tree  | 16 zero bytes | data section | \xAB\xCD\xEFMaxMind.com  | metadata |
//!  | node_count x 2 recs | (separator)   | (records)    | (marker)                 | (a map)  |
//!  +---------------------+---------------+--------------+--------------------------+----------+
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

#![warn(missing_docs)]

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use ipnet::IpNet;
use serde_json::{Map, Value, json};

mod synthetic;
pub use synthetic::synthetic_country;

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
/// use steerdns_mmdb_writer::MmdbWriter;
/// let mut w = MmdbWriter::new("Example-Country", 6)?;
/// w.insert("81.2.69.0/24".parse()?, serde_json::json!({"country_code": "GB"}))?;
/// let reader = maxminddb::Reader::from_source(w.to_bytes())?;
/// let found = reader.lookup("81.2.69.160".parse()?)?;
/// assert_eq!(found.network()?.to_string(), "81.2.69.0/24");
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
            uint16_keys: DEFAULT_UINT16_KEYS
                .iter()
                .map(|k| (*k).to_owned())
                .collect(),
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
    /// `::/96` subtree. A `/0` fills both records of the tree's root, so readers report `/1`
    /// for it (the format has no record above the root).
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
                if let Slot::Node(child) = slot
                    && let Entry::Vacant(e) = number.entry(child)
                {
                    e.insert(order.len() as u32);
                    order.push(child);
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
                if let Slot::Data(v) = slot
                    && let Entry::Vacant(e) = offsets.entry(v)
                {
                    // Validated at insert, so encoding cannot fail here.
                    e.insert(encoder.encode_top(&self.values[v]).unwrap_or(0));
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
                Slot::Data(v) => node_count + SEPARATOR_LEN + offsets.get(&v).copied().unwrap_or(0),
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
        if let Some(seen) = &self.seen
            && let Some(&offset) = seen.get(&value.to_string())
        {
            return Ok(offset);
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
        if let (Some(seen), Some(text)) = (&self.seen, &canonical)
            && let Some(&offset) = seen.get(text)
        {
            self.pointer(offset);
            return Ok(());
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
fn geoip2_record(cont: &str, ctry: (&str, u32, &str), subdivisions: &[(&str, &str)]) -> Value {
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

/// The networks of the sample databases and the country each one has. The networks are
/// disjoint, so a lookup reports exactly the listed network (its prefix length is the one an
/// ECS scope calculation sees).
///
/// | network              | country | continent | subdivisions (GeoIP2 sample only) |
/// |----------------------|---------|-----------|-----------------------------------|
/// | `81.2.69.0/24`       | GB      | EU        | GB-ENG, GB-LND                    |
/// | `175.192.0.0/10`     | KR      | AS        |                                   |
/// | `192.0.2.0/24`       | US      | NA        | US-CA                             |
/// | `198.51.100.0/25`    | BR      | SA        |                                   |
/// | `198.51.100.128/25`  | ZA      | AF        |                                   |
/// | `203.0.113.0/25`     | AU      | OC        |                                   |
/// | `203.0.113.128/25`   | AQ      | AN        | GeoIP2 sample: `registered_country` JP only (→ JP, AS) |
/// | `2001:db8::/32`      | DE      | EU        |                                   |
/// | `3fff:ca::/32`       | US      | NA        | US-CA                             |
///
/// Everything else (e.g. `10.0.0.0/8`, `2001:db9::/32`) is not in the databases.
pub const SAMPLE_NETWORKS: &[(&str, &str, &str)] = &[
    ("81.2.69.0/24", "GB", "EU"),
    ("175.192.0.0/10", "KR", "AS"),
    ("192.0.2.0/24", "US", "NA"),
    ("198.51.100.0/25", "BR", "SA"),
    ("198.51.100.128/25", "ZA", "AF"),
    ("203.0.113.0/25", "AU", "OC"),
    ("203.0.113.128/25", "AQ", "AN"),
    ("2001:db8::/32", "DE", "EU"),
    ("3fff:ca::/32", "US", "NA"),
];

/// A GeoIP2-City-schema IPv6 database (`database_type` `"GeoIP2-City"`) with the networks of
/// [`SAMPLE_NETWORKS`]: full `continent` / `country` / `registered_country` maps with
/// `geoname_id` and English names, `subdivisions` GB-ENG + GB-LND and US-CA, a `location`
/// map on `81.2.69.0/24`, and a record on `203.0.113.128/25` that has only
/// `registered_country` (JP), to exercise the fallback.
pub fn test_database_geoip2() -> Vec<u8> {
    let gb = ("GB", 2_635_167, "United Kingdom");
    let us = ("US", 6_252_001, "United States");
    let mut london = geoip2_record("EU", gb, &[("ENG", "England"), ("LND", "London")]);
    london["location"] = json!({
        "accuracy_radius": 100, "latitude": 51.5, "longitude": -0.13, "time_zone": "Europe/London"
    });
    let records: Vec<(&str, Value)> = vec![
        ("81.2.69.0/24", london),
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
            "3fff:ca::/32",
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

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use ipnet::{Ipv4Net, Ipv6Net};

    use maxminddb::{Reader, geoip2};
    use serde_json::{Value, json};

    use super::*;

    fn reader(w: &MmdbWriter) -> Reader<Vec<u8>> {
        let r = Reader::from_source(w.to_bytes()).expect("writer output opens");
        r.verify().expect("writer output verifies");
        r
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn net(s: &str) -> IpNet {
        s.parse().expect("test network")
    }

    /// (record, network) the real reader returns for `addr`.
    fn get(r: &Reader<Vec<u8>>, addr: &str) -> (Option<Value>, String) {
        let result = r.lookup(ip(addr)).expect("lookup");
        let network = result.network().expect("network").to_string();
        (result.decode::<Value>().expect("decode"), network)
    }

    #[test]
    fn rejects_bad_arguments() {
        assert_eq!(
            MmdbWriter::new("x", 5).map(|_| ()),
            Err(WriteError::IpVersion(5))
        );
        let mut w = MmdbWriter::new("x", 4).expect("v4");
        assert_eq!(
            w.insert(net("2001:db8::/32"), json!({})),
            Err(WriteError::V6InV4(net("2001:db8::/32")))
        );
        assert!(matches!(
            w.insert(net("10.0.0.0/8"), json!({"a": null})),
            Err(WriteError::Value { .. })
        ));
        assert!(matches!(
            w.insert(net("10.0.0.0/8"), json!({"a": -10_000_000_000_i64})),
            Err(WriteError::Value { .. })
        ));
        assert!(matches!(
            w.set_min_record_size(20),
            Err(WriteError::RecordSize(20))
        ));
        let err = w
            .insert(net("10.0.0.0/8"), Value::Null)
            .expect_err("null record");
        assert_eq!(
            err.to_string(),
            "record for 10.0.0.0/8: null cannot be stored in a MaxMind DB"
        );
    }

    #[test]
    fn empty_databases_open() {
        for version in [4, 6] {
            let w = MmdbWriter::new("Empty", version).expect("writer");
            let r = reader(&w);
            assert_eq!(r.metadata().node_count, 1);
            assert_eq!(r.metadata().ip_version, version);
            assert!(!r.lookup(ip("1.2.3.4")).expect("lookup").has_data());
        }
    }

    #[test]
    fn metadata_round_trips() {
        let mut w = MmdbWriter::new("Test-Type", 6).expect("writer");
        w.set_build_epoch(1_781_725_900)
            .set_description("de", "Testdatenbank")
            .set_languages(&["en", "de"]);
        w.insert(net("10.0.0.0/8"), json!({"x": 1}))
            .expect("insert");
        let r = reader(&w);
        let m = r.metadata();
        assert_eq!(m.database_type, "Test-Type");
        assert_eq!(m.build_epoch, 1_781_725_900);
        assert_eq!(m.binary_format_major_version, 2);
        assert_eq!(m.binary_format_minor_version, 0);
        assert_eq!(m.record_size, 24);
        assert_eq!(m.languages, ["en", "de"]);
        assert_eq!(
            m.description.get("de").map(String::as_str),
            Some("Testdatenbank")
        );
        // 96 levels to ::/96, then 8 more for 10.0.0.0/8 (the last one holds the data).
        assert_eq!(m.node_count, 96 + 8);
        assert_eq!(w.database_type(), "Test-Type");
        assert_eq!(w.ip_version(), 6);
    }

    #[test]
    fn every_value_type_round_trips() {
        let long = "x".repeat(300);
        let huge = "y".repeat(70_000);
        let many: Map<String, Value> = (0..40).map(|i| (format!("k{i}"), json!(i))).collect();
        let record = json!({
            "string": "héllo wörld",
            "empty": "",
            "long": long,
            "huge": huge,
            "u16": 7,
            "u32": 4_000_000_000_u64,
            "u64": 18_000_000_000_000_000_000_u64,
            "neg": -5,
            "min": i64::from(i32::MIN),
            "double": 51.5,
            "t": true,
            "f": false,
            "zero": 0,
            "array": [1, "two", {"three": [3]}, []],
            "nested": {"a": {"b": {"c": {"d": "deep"}}}},
            "many": many,
            "empty_map": {},
        });
        let mut w = MmdbWriter::new("Types", 4).expect("writer");
        w.insert(net("192.0.2.0/24"), record.clone())
            .expect("insert");
        let r = reader(&w);
        let (got, network) = get(&r, "192.0.2.77");
        assert_eq!(got, Some(record));
        assert_eq!(network, "192.0.2.0/24");
    }

    #[test]
    fn uint16_keys_decode_into_typed_geoip2_structs() {
        let r = Reader::from_source(test_database_geoip2()).expect("sample opens");
        r.verify().expect("sample verifies");
        let city: geoip2::City<'_> = r
            .lookup(ip("81.2.69.160"))
            .expect("lookup")
            .decode()
            .expect("decode")
            .expect("has data");
        assert_eq!(city.country.iso_code, Some("GB"));
        assert_eq!(city.country.geoname_id, Some(2_635_167));
        assert_eq!(city.continent.code, Some("EU"));
        assert_eq!(city.location.accuracy_radius, Some(100));
        assert_eq!(city.location.latitude, Some(51.5));
        assert_eq!(city.location.time_zone, Some("Europe/London"));
        let subs: Vec<_> = city
            .subdivisions
            .iter()
            .filter_map(|s| s.iso_code)
            .collect();
        assert_eq!(subs, ["ENG", "LND"]);
    }

    #[test]
    fn overlapping_inserts_last_one_wins() {
        let mut w = MmdbWriter::new("Overlap", 4).expect("writer");
        w.insert(net("10.0.0.0/8"), json!({"n": "a"})).expect("a");
        w.insert(net("10.1.0.0/16"), json!({"n": "b"})).expect("b");
        w.insert(net("10.1.2.3/32"), json!({"n": "c"})).expect("c");
        let r = reader(&w);
        let n = |v: Option<Value>| v.and_then(|v| v["n"].as_str().map(str::to_owned));
        let (v, netw) = get(&r, "10.1.2.3");
        assert_eq!((n(v).as_deref(), netw.as_str()), (Some("c"), "10.1.2.3/32"));
        let (v, netw) = get(&r, "10.1.2.2");
        assert_eq!((n(v).as_deref(), netw.as_str()), (Some("b"), "10.1.2.2/32"));
        let (v, netw) = get(&r, "10.1.128.0");
        assert_eq!(
            (n(v).as_deref(), netw.as_str()),
            (Some("b"), "10.1.128.0/17")
        );
        // Outside the /16 the /8's data is split along the /16's path.
        let (v, netw) = get(&r, "10.2.0.1");
        assert_eq!((n(v).as_deref(), netw.as_str()), (Some("a"), "10.2.0.0/15"));
        let (v, netw) = get(&r, "10.200.0.1");
        assert_eq!(
            (n(v).as_deref(), netw.as_str()),
            (Some("a"), "10.128.0.0/9")
        );
        let (v, netw) = get(&r, "11.0.0.1");
        assert_eq!((v, netw.as_str()), (None, "11.0.0.0/8"));

        // A larger network inserted later replaces everything under it.
        w.insert(net("10.0.0.0/8"), json!({"n": "d"})).expect("d");
        let r = reader(&w);
        let (v, netw) = get(&r, "10.1.2.3");
        assert_eq!((n(v).as_deref(), netw.as_str()), (Some("d"), "10.0.0.0/8"));
        assert_eq!(
            r.metadata().node_count,
            8,
            "the replaced subtree is not written"
        );
    }

    #[test]
    fn whole_address_space() {
        let mut w = MmdbWriter::new("All", 6).expect("writer");
        w.insert(net("::/0"), json!({"n": 1})).expect("all");
        let r = reader(&w);
        // The tree cannot hold a /0: the data sits in both root records, so readers say /1.
        let (v, netw) = get(&r, "2001:db8::1");
        assert_eq!((v, netw.as_str()), (Some(json!({"n": 1})), "::/1"));
        let (v, _) = get(&r, "192.0.2.1");
        assert_eq!(v, Some(json!({"n": 1})));
    }

    #[test]
    fn ipv4_in_ipv6_tree() {
        let mut w = MmdbWriter::new("Mixed", 6).expect("writer");
        w.insert(net("81.2.69.0/24"), json!({"c": "GB"}))
            .expect("v4");
        w.insert(net("175.192.0.0/10"), json!({"c": "KR"}))
            .expect("v4");
        w.insert(net("2001:db8::/32"), json!({"c": "DE"}))
            .expect("v6");
        let r = reader(&w);
        let (v, netw) = get(&r, "81.2.69.160");
        assert_eq!(
            (v, netw.as_str()),
            (Some(json!({"c": "GB"})), "81.2.69.0/24")
        );
        let (v, netw) = get(&r, "175.255.255.255");
        assert_eq!(
            (v, netw.as_str()),
            (Some(json!({"c": "KR"})), "175.192.0.0/10")
        );
        // The same data seen as IPv6 at ::/96.
        let (v, netw) = get(&r, "::81.2.69.1");
        assert_eq!(
            (v, netw.as_str()),
            (Some(json!({"c": "GB"})), "::5102:4500/120")
        );
        let (v, netw) = get(&r, "2001:db8:ffff::1");
        assert_eq!(
            (v, netw.as_str()),
            (Some(json!({"c": "DE"})), "2001:db8::/32")
        );
        let (v, netw) = get(&r, "8.8.8.8");
        // 8 = 0b0000_1000 leaves the 81.2.69.0/24 path (0b0101_0001) at the second bit.
        assert_eq!((v, netw.as_str()), (None, "0.0.0.0/2"));
    }

    /// Deterministic pseudo-random numbers (xorshift), so the test needs no RNG crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Many disjoint networks of all prefix lengths, IPv4 and IPv6, in one IPv6 tree and (the
    /// IPv4 ones) in an IPv4 tree: every network reads back with its record and exact prefix,
    /// at its first, last and a middle address; record sizes 24, 28 and 32 all work.
    #[test]
    fn many_networks_round_trip() {
        let mut rng = Rng(0x5eed_1234_abcd_ef01);
        let mut nets: Vec<IpNet> = Vec::new();
        while nets.len() < 600 {
            let r = rng.next();
            let candidate = if r.is_multiple_of(3) {
                let prefix = (8 + r % 121) as u8; // /8 .. /128
                let addr = Ipv6Addr::from(u128::from(rng.next()) << 64 | u128::from(rng.next()));
                IpNet::V6(Ipv6Net::new(addr, prefix).expect("prefix").trunc())
            } else {
                let prefix = (4 + r % 29) as u8; // /4 .. /32
                let addr = Ipv4Addr::from(rng.next() as u32);
                IpNet::V4(Ipv4Net::new(addr, prefix).expect("prefix").trunc())
            };
            // Keep out of ::/96 (the IPv4 subtree) and keep the networks disjoint.
            let in_v4_subtree =
                matches!(candidate, IpNet::V6(n) if u128::from(n.network()) >> 32 == 0);
            let overlaps = nets
                .iter()
                .any(|n| n.contains(&candidate) || candidate.contains(n));
            if !in_v4_subtree && !overlaps {
                nets.push(candidate);
            }
        }
        let record = |i: usize, n: &IpNet| {
            let group = format!("group {}", i % 7);
            json!({"i": i, "net": n.to_string(), "shared": {"names": {"en": group}}})
        };
        for (version, min_size) in [(6, 24), (6, 28), (6, 32), (4, 24), (4, 32)] {
            let mut w = MmdbWriter::new("Many", version).expect("writer");
            w.set_min_record_size(min_size).expect("size");
            for (i, n) in nets.iter().enumerate() {
                if version == 4 && n.addr().is_ipv6() {
                    continue;
                }
                w.insert(*n, record(i, n)).expect("insert");
            }
            let r = reader(&w);
            assert_eq!(r.metadata().record_size, min_size);
            for (i, n) in nets.iter().enumerate() {
                if version == 4 && n.addr().is_ipv6() {
                    continue;
                }
                let first = n.network();
                let last = n.broadcast();
                let mid = match (first, last) {
                    (IpAddr::V4(a), IpAddr::V4(b)) => IpAddr::V4(Ipv4Addr::from(
                        u32::from(a) + (u32::from(b) - u32::from(a)) / 2,
                    )),
                    (IpAddr::V6(a), IpAddr::V6(b)) => IpAddr::V6(Ipv6Addr::from(
                        u128::from(a) + (u128::from(b) - u128::from(a)) / 2,
                    )),
                    _ => unreachable!("same family"),
                };
                for addr in [first, last, mid] {
                    let result = r.lookup(addr).expect("lookup");
                    assert_eq!(
                        result.decode::<Value>().expect("decode"),
                        Some(record(i, n)),
                        "{addr} in {n}"
                    );
                    assert_eq!(
                        result.network().expect("network").to_string(),
                        n.to_string()
                    );
                }
            }
        }
    }

    /// Records big enough to push shared values past 2 KiB and 512 KiB, so all pointer forms
    /// but the 4-byte one are read back (that one is checked byte by byte below).
    #[test]
    fn pointers_of_every_size() {
        let mut w = MmdbWriter::new("Pointers", 4).expect("writer");
        let mut expected = Vec::new();
        for i in 0u32..2200 {
            let record = json!({
                "own": format!("{i:05}-{}", "p".repeat(300)),
                // Introduced by an even record, shared by the next odd one.
                "pair": format!("pair {} {}", i / 2, "q".repeat(20)),
                "const": "the same string everywhere",
            });
            let network = IpNet::V4(Ipv4Net::new(Ipv4Addr::from(i << 8), 24).expect("net"));
            w.insert(network, record.clone()).expect("insert");
            expected.push((network, record));
        }
        let bytes = w.to_bytes();
        // Sharing keeps the file well under the unshared size (2200 × ~380 bytes).
        assert!(bytes.len() < 2200 * 370, "{} bytes", bytes.len());
        let r = Reader::from_source(bytes).expect("opens");
        r.verify().expect("verifies");
        for (network, record) in expected {
            let got: Option<Value> = r
                .lookup(network.addr())
                .expect("lookup")
                .decode()
                .expect("decode");
            assert_eq!(got, Some(record), "{network}");
        }
    }

    #[test]
    fn pointer_and_header_encodings() {
        let keys = BTreeSet::new();
        let encode = |f: &dyn Fn(&mut Encoder<'_>)| {
            let mut e = Encoder::new(&keys, false);
            f(&mut e);
            e.out
        };
        assert_eq!(encode(&|e| e.pointer(5)), [0x20, 0x05]);
        assert_eq!(encode(&|e| e.pointer(2047)), [0x27, 0xff]);
        assert_eq!(encode(&|e| e.pointer(2048)), [0x28, 0x00, 0x00]);
        assert_eq!(encode(&|e| e.pointer(526_335)), [0x2f, 0xff, 0xff]);
        assert_eq!(encode(&|e| e.pointer(526_336)), [0x30, 0x00, 0x00, 0x00]);
        assert_eq!(
            encode(&|e| e.pointer(134_744_064)),
            [0x38, 0x08, 0x08, 0x08, 0x00]
        );
        // String sizes: inline, 29 + 1 byte, 285 + 2 bytes, 65 821 + 3 bytes.
        assert_eq!(encode(&|e| e.header(T_STRING, 28)), [0x5c]);
        assert_eq!(encode(&|e| e.header(T_STRING, 29)), [0x5d, 0x00]);
        assert_eq!(encode(&|e| e.header(T_STRING, 285)), [0x5e, 0x00, 0x00]);
        assert_eq!(encode(&|e| e.header(T_STRING, 65_821)), [0x5f, 0, 0, 0]);
        // Extended types: 0 in the type bits, then type - 7.
        assert_eq!(encode(&|e| e.header(T_ARRAY, 3)), [0x03, 0x04]);
        assert_eq!(encode(&|e| e.header(T_BOOLEAN, 1)), [0x01, 0x07]);
        assert_eq!(encode(&|e| e.uint(T_UINT32, 0)), [0xc0]);
        assert_eq!(encode(&|e| e.uint(T_UINT16, 300)), [0xa2, 0x01, 0x2c]);
    }

    #[test]
    fn sample_databases_have_every_network() {
        for (bytes, label) in [
            (test_database_geoip2(), "geoip2"),
            (test_database_country_code(), "country_code"),
        ] {
            let r = Reader::from_source(bytes).expect("sample opens");
            r.verify().expect("sample verifies");
            assert_eq!(r.metadata().build_epoch, SAMPLE_BUILD_EPOCH);
            for (network, _, _) in SAMPLE_NETWORKS {
                let n: IpNet = network.parse().expect("sample literal");
                let result = r.lookup(n.addr()).expect("lookup");
                assert!(result.has_data(), "{label}: {network}");
                assert_eq!(result.network().expect("network").to_string(), *network);
            }
        }
    }
}
