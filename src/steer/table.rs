//! One compiled lookup per map: the map's `net:` keys and geo keys compiled at load time
//! against the GeoIP database's partition ([`GeoPartition`]), so that a query finds its map
//! entry and ECS scope (SPEC 4.2, 4.6) with range lookups instead of a GeoIP tree walk, a
//! record decode and scans of the `net:` keys.
//!
//! ```text
//!                 map's net: ranges (tiny)         database partition (shared)
//!  address ──► Net(entry, scope) ──────────────────────────────────────────► hit
//!              Geo(min scope) ──► (class, prefix) ──► (class_entry[class],
//!                                                    max(prefix, min scope)) ► hit
//! ```
//!
//! Why this gives what the per-query path ([`super::map_hit`]) gives: that path takes the
//! innermost `net:` key holding the client (scope: its prefix), else the geo key of the
//! client's GeoIP facts (scope: the database network's prefix), then lengthens the scope past
//! every more specific `net:` key inside it that does not hold the client, to one bit more
//! than they share. Cutting the address space in two, recursively, wherever a key lies
//! strictly inside a block gives blocks whose depth is exactly that lengthened scope; so a
//! block inside a key stores (entry, depth), and a block outside every key stores its depth
//! as the least scope, which the GeoIP network's prefix can only raise. `tests` compares the
//! two paths over random databases, maps and millions of addresses.
//!
//! Memory: the partition is built once per opened database and shared by every map; a map
//! adds two ranges per bit of each `net:` key at most, plus one word per class of GeoIP
//! facts. Maps with the same keys share one table ([`compile_all`]).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use super::{GeoLookup, GeoPartition, MapHit, match_geo};
use crate::config::model::{Config, GeoMap, MapEntryId};
use crate::config::prefix_table::{MapTable, Ranges};

/// Flag of a `net:` range value: no key holds the range; the low 8 bits are the least scope.
const GEO: u32 = 1 << 31;

/// Largest entry id a table can hold (23 bits; the low 8 hold the scope).
const MAX_ENTRY: u32 = (1 << 23) - 1;

/// The map entry and scope for `addr` from a compiled table and the partition it was
/// compiled against; `None` where the per-query path must answer (ranges the partition
/// leaves to it, or a map with geo keys but no partition).
#[inline]
pub fn lookup(table: &MapTable, partition: Option<&GeoPartition>, addr: IpAddr) -> Option<MapHit> {
    let v = match addr {
        IpAddr::V4(a) => table
            .nets_v4
            .as_ref()
            .map_or(GEO, |t| t.lookup(u32::from(a))),
        IpAddr::V6(a) => table
            .nets_v6
            .as_ref()
            .map_or(GEO, |t| t.lookup(u128::from(a))),
    };
    if v & GEO == 0 {
        return Some(MapHit {
            entry: MapEntryId(v >> 8),
            scope: v as u8,
        });
    }
    let least = v as u8;
    if !table.uses_geo {
        return Some(MapHit {
            entry: MapEntryId(table.default),
            scope: least,
        });
    }
    let (class, prefix) = partition?.lookup(addr)?;
    let entry = *table.class_entry.get(class as usize)?;
    Some(MapHit {
        entry: MapEntryId(entry),
        scope: prefix.max(least),
    })
}

/// Compiles `map` against `partition` (unused when the map has no geo keys). `None` for a
/// map with more entries than a table can name (millions; the per-query path serves it).
pub fn compile(map: &GeoMap, partition: Option<&GeoPartition>) -> Option<MapTable> {
    if map.entries.len() > MAX_ENTRY as usize {
        return None;
    }
    let uses_geo = map.uses_geo();
    let class_entry = match partition {
        Some(p) if uses_geo => p
            .classes()
            .iter()
            .map(|facts| match_geo(map, Some(facts)).0)
            .collect(),
        _ => Box::default(),
    };
    let v4 = NetRanges::build(map, false).map(|r| {
        let r = r.into_iter().map(|(s, v)| (s as u32, v)).collect();
        Ranges::build(r, GEO)
    });
    let v6 = NetRanges::build(map, true).map(|r| Ranges::build(r, GEO));
    Some(MapTable {
        nets_v4: v4,
        nets_v6: v6,
        class_entry,
        default: map.default.0,
        uses_geo,
    })
}

/// What [`compile_all`] built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Maps in the configuration (shared ones counted once).
    pub maps: usize,
    /// Distinct tables built (maps with the same keys share one).
    pub tables: usize,
    /// Heap bytes of all map tables.
    pub table_bytes: usize,
    /// IPv4 and IPv6 ranges of the GeoIP partition (0 without a database).
    pub partition_ranges: (usize, usize),
    /// Classes of GeoIP facts in the partition.
    pub partition_classes: usize,
    /// Heap bytes of the GeoIP partition.
    pub partition_bytes: usize,
}

/// What a table depends on besides the partition: every key of the map with its entry.
type TableKey = (
    MapEntryId,
    Vec<([u8; 2], MapEntryId)>,
    Vec<([u8; 2], MapEntryId)>,
    Vec<(String, MapEntryId)>,
    Vec<(ipnet::IpNet, MapEntryId)>,
);

/// Every distinct map of `config`'s services (a map shared by services once).
pub fn maps_of(config: &Config) -> Vec<Arc<GeoMap>> {
    let mut seen: HashSet<*const GeoMap> = HashSet::new();
    config
        .zones
        .iter()
        .flat_map(|z| &z.services)
        .filter(|s| seen.insert(Arc::as_ptr(&s.map)))
        .map(|s| Arc::clone(&s.map))
        .collect()
}

/// Compiles the GeoIP partition (once per database) and the table of every service's map in
/// `config` ([`compile_maps`]).
pub fn compile_all(config: &Config, geo: Option<&dyn GeoLookup>) -> TableStats {
    compile_maps(&maps_of(config), geo)
}

/// Compiles the GeoIP partition (once per database) and the table of every map in `maps` that
/// has none yet, off the query path: the answer path uses a map's table as soon as it is set
/// and the per-query path until then (both give the same answers). Maps with the same keys
/// share one table.
pub fn compile_maps(maps: &[Arc<GeoMap>], geo: Option<&dyn GeoLookup>) -> TableStats {
    let partition = geo.and_then(GeoLookup::partition);
    let mut stats = TableStats::default();
    if let Some(p) = partition {
        stats.partition_ranges = p.ranges();
        stats.partition_classes = p.classes().len();
        stats.partition_bytes = p.memory_bytes();
    }
    let mut built: HashMap<TableKey, Arc<MapTable>> = HashMap::new();
    for map in maps {
        if map.table.get().is_some() {
            continue;
        }
        stats.maps += 1;
        let key: TableKey = (
            map.default,
            map.continents.clone(),
            map.countries.clone(),
            map.subdivisions.clone(),
            map.nets.clone(),
        );
        let table = match built.get(&key) {
            Some(t) => Arc::clone(t),
            None => {
                let Some(t) = compile(map, partition) else {
                    continue;
                };
                let t = Arc::new(t);
                stats.tables += 1;
                stats.table_bytes += t.memory_bytes();
                built.insert(key, Arc::clone(&t));
                t
            }
        };
        // Another compiler may have set it meanwhile: the same table, so either one serves.
        let _ = map.table.set(table);
    }
    stats
}

//------------ NetRanges ---------------------------------------------------------------------------

/// A `net:` key of one family, as the builder walks them.
#[derive(Debug, Clone, Copy)]
struct Net {
    start: u128,
    len: u8,
    entry: MapEntryId,
}

/// Cuts one family's address space by a map's `net:` keys.
struct NetRanges {
    width: u8,
    out: Vec<(u128, u32)>,
}

impl NetRanges {
    /// The `(start, value)` ranges of one family; `None` when the map has no key there.
    fn build(map: &GeoMap, v6: bool) -> Option<Vec<(u128, u32)>> {
        let mut nets: Vec<Net> = map
            .nets
            .iter()
            .filter_map(|(net, entry)| {
                let start = match (net, v6) {
                    (ipnet::IpNet::V4(n), false) => u128::from(u32::from(n.network())),
                    (ipnet::IpNet::V6(n), true) => u128::from(n.network()),
                    _ => return None,
                };
                Some(Net {
                    start,
                    len: net.prefix_len(),
                    entry: *entry,
                })
            })
            .collect();
        if nets.is_empty() {
            return None;
        }
        // By start, then length (a block before what lies inside it); among equal blocks the
        // map's own order stays (the per-query path's first match wins): a stable sort.
        nets.sort_by_key(|n| (n.start, n.len));
        let mut walk = Self {
            width: if v6 { 128 } else { 32 },
            out: Vec::new(),
        };
        walk.visit(0, 0, &nets, None);
        Some(walk.out)
    }

    fn emit(&mut self, start: u128, value: u32) {
        if self.out.last().is_none_or(|(_, v)| *v != value) {
            self.out.push((start, value));
        }
    }

    /// Visits the block of `depth` bits at `start`. `nets`: the keys inside it or equal to
    /// it, sorted. `inner`: the innermost key holding it.
    fn visit(&mut self, start: u128, depth: u8, mut nets: &[Net], mut inner: Option<MapEntryId>) {
        let mut took_equal = false;
        while let Some(n) = nets.first().filter(|n| n.start == start && n.len == depth) {
            if !took_equal {
                inner = Some(n.entry);
                took_equal = true;
            }
            nets = &nets[1..];
        }
        if nets.is_empty() || depth >= self.width {
            // Entry ids fit: `compile` refuses maps with more entries.
            let value = match inner {
                Some(entry) => (entry.0 << 8) | u32::from(depth),
                None => GEO | u32::from(depth),
            };
            self.emit(start, value);
            return;
        }
        let right = start | (1u128 << (self.width - 1 - depth));
        let mid = nets.partition_point(|n| n.start < right);
        let (left, rest) = nets.split_at(mid);
        self.visit(start, depth + 1, left, inner);
        self.visit(right, depth + 1, rest, inner);
    }
}

#[cfg(test)]
mod tests;
