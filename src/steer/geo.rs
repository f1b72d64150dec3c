//! What steering needs from a GeoIP database: [`GeoFacts`] about one address
//! ([`GeoLookup::facts`], the per-query path and explain), and the whole database as one
//! [`GeoPartition`] (compiled once per opened database, shared by every map).
//!
//! The partition cuts the address space into ranges that each carry a *class* (one distinct
//! set of facts: country, continent, subdivisions) and the prefix length of the database
//! network the range lies in (the ECS scope a geo answer starts from). A database of a few
//! hundred countries has a few hundred classes, so a map only needs to know which entry each
//! class matches ([`crate::config::prefix_table::MapTable`]); the partition itself is shared.
//!
//! ```text
//!  address ─► v4: Packed<u16> / v6 (/64): Packed<u32> ─► (class, prefix) ─► map's class_entry[class]
//! ```
//!
//! Some ranges are left to the per-query path ([`GeoPartition::lookup`] gives `None`): IPv6
//! blocks that the database answers from its IPv4 data (`::/64`, which holds `::/96`
//! IPv4-compatible and `::ffff:0:0/96` IPv4-mapped, and any alias such as 6to4 or Teredo in
//! MaxMind databases), and every IPv6 /64 that the database cuts finer than /64. Compiling the
//! first would copy the IPv4 data into IPv6 several times over, for clients that practically
//! never ask; leaving the second out lets IPv6 be stored on 64-bit keys (ECS sources and
//! scopes past /64 are rare: the shipped database has about 21k such networks in 516k).
//!
//! Memory ([`Packed`]): 4 bytes an IPv4 range and 6 an IPv6 one, plus a little per /16 and
//! /32 where ranges start; the shipped database (about 480k IPv4 and 760k IPv6 ranges) takes
//! about 7 MiB, built without holding the ranges twice.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::config::prefix_table::{Packed, PackedBuilder};

/// What the GeoIP database says about the client (the steering needs nothing else).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeoFacts {
    /// ISO 3166-1 alpha-2 country, upper case.
    pub country: Option<[u8; 2]>,
    /// Continent code (AF AN AS EU NA OC SA).
    pub continent: Option<[u8; 2]>,
    /// ISO 3166-2 subdivision codes, upper case (`US-CA`), largest first as the database
    /// lists them (`GB-ENG`, `GB-LND`).
    pub subdivisions: Vec<String>,
    /// The database network that holds the address (same answer for all of it).
    pub network: Option<IpNet>,
}

/// A source of [`GeoFacts`] (the GeoIP database, or a test table).
pub trait GeoLookup: Send + Sync + std::fmt::Debug {
    /// What is known about `addr`; empty facts when nothing is. Every address of the
    /// returned `network` (which holds `addr`) has the same facts; no network means the
    /// facts hold for the whole address family.
    fn facts(&self, addr: IpAddr) -> GeoFacts;

    /// The whole database as one partition, built on first use (off the query path) and
    /// kept with the database; `None` when the source cannot enumerate itself (then every
    /// query takes the per-query path).
    fn partition(&self) -> Option<&GeoPartition> {
        None
    }

    /// The partition if it is built already, never building it (the answer path's view:
    /// a query never waits for a build).
    fn built_partition(&self) -> Option<&GeoPartition> {
        None
    }

    /// Every network the source has data for (IPv4 networks as IPv4) and its facts, for
    /// estimates over the whole database (`steerdns plan`). Empty when the source cannot
    /// list them.
    fn networks(&self) -> Vec<(IpNet, GeoFacts)> {
        Vec::new()
    }

    /// What tells this source's data apart from another's (two copies of one database file
    /// give the same), so work done over its networks can be shared; `None` when unknown.
    fn fingerprint(&self) -> Option<String> {
        None
    }

    /// Whether the data has subdivisions at all (a country-level database has none, so
    /// `subdivision:` keys never match). Assumed when unknown.
    fn has_subdivisions(&self) -> bool {
        true
    }
}

/// Partition value of a range the per-query path answers.
const SLOW: u32 = u32::MAX;

/// Most classes a partition holds (23 bits; the low 8 bits of a value hold the prefix).
const MAX_CLASSES: usize = (1 << 23) - 1;

//------------ GeoPartition ------------------------------------------------------------------------

/// A GeoIP database as ranges of (class, network prefix); see the module docs.
#[derive(Clone)]
pub struct GeoPartition {
    /// Facts of each class (without a network).
    classes: Vec<GeoFacts>,
    v4: Packed<u16>,
    /// On /64 keys.
    v6: Packed<u32>,
}

impl std::fmt::Debug for GeoPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoPartition")
            .field("classes", &self.classes.len())
            .field("v4_ranges", &self.v4.len())
            .field("v6_ranges", &self.v6.len())
            .finish()
    }
}

impl GeoPartition {
    /// The class and network prefix of `addr`; `None` where the per-query path answers.
    #[inline]
    pub fn lookup(&self, addr: IpAddr) -> Option<(u32, u8)> {
        let v = match addr {
            IpAddr::V4(a) => self.v4.lookup(u64::from(u32::from(a))),
            IpAddr::V6(a) => self.v6.lookup((u128::from(a) >> 64) as u64),
        };
        (v != SLOW).then_some((v >> 8, v as u8))
    }

    /// The facts of every class, by class number.
    pub fn classes(&self) -> &[GeoFacts] {
        &self.classes
    }

    /// IPv4 and IPv6 ranges.
    pub fn ranges(&self) -> (usize, usize) {
        (self.v4.len(), self.v6.len())
    }

    /// Heap bytes held (the ranges; class facts are a few hundred small records).
    pub fn memory_bytes(&self) -> usize {
        self.v4.memory_bytes()
            + self.v6.memory_bytes()
            + self.classes.len() * std::mem::size_of::<GeoFacts>()
    }
}

//------------ PartitionBuilder --------------------------------------------------------------------

/// Builds a [`GeoPartition`] from a database's networks in address order, per family,
/// straight into the packed tables. Anything not covered (aliases the enumeration skipped, or
/// a family given up on) is left to the per-query path.
#[derive(Debug)]
pub struct PartitionBuilder {
    classes: Vec<GeoFacts>,
    v4: PackedBuilder<u16>,
    /// On /64 keys.
    v6: PackedBuilder<u32>,
    /// Where each family's next network should start (`None` once it reached the end).
    next: [Option<u128>; 2],
}

impl Default for PartitionBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PartitionBuilder {
    /// An empty builder: nothing covered yet.
    pub fn new() -> Self {
        Self {
            classes: Vec::new(),
            v4: PackedBuilder::new(SLOW),
            v6: PackedBuilder::new(SLOW),
            next: [Some(0), Some(0)],
        }
    }

    /// Adds a class (facts without a network) and returns its number; `None` when there are
    /// too many.
    pub fn add_class(&mut self, facts: GeoFacts) -> Option<u32> {
        if self.classes.len() >= MAX_CLASSES {
            return None;
        }
        self.classes.push(GeoFacts {
            network: None,
            ..facts
        });
        Some(self.classes.len() as u32 - 1)
    }

    /// Adds the next network of its family (ascending, not overlapping the previous one).
    /// A gap before it is left to the per-query path, and so is an IPv6 network longer than
    /// /64 (its whole /64) or inside `::/64`. Out-of-order networks are ignored.
    pub fn push(&mut self, network: IpNet, class: u32) {
        let (family, start, width) = match network {
            IpNet::V4(n) => (0, u128::from(u32::from(n.network())), 32u32),
            IpNet::V6(n) => (1, u128::from(n.network()), 128u32),
        };
        let Some(expected) = self.next[family] else {
            return;
        };
        if start < expected || class as usize >= self.classes.len() {
            return;
        }
        let len = network.prefix_len();
        let value = (class << 8) | u32::from(len);
        if family == 0 {
            if start > expected {
                self.v4.push(expected as u64, SLOW);
            }
            self.v4.push(start as u64, value);
        } else {
            // /64 keys. A gap that starts inside a /64 starts after a network longer than /64
            // (or in `::/64`), whose /64 is already slow.
            let key = (start >> 64) as u64;
            if start > expected {
                self.v6.push((expected >> 64) as u64, SLOW);
            }
            if len > 64 || key == 0 {
                self.v6.push(key, SLOW);
                if len < 64 {
                    // A network from `::` wider than /64: slow in `::/64`, its value past it.
                    self.v6.push(1, value);
                }
            } else {
                self.v6.push(key, value);
            }
        }
        let size_log = width - u32::from(len);
        self.next[family] = if size_log >= 128 {
            None
        } else {
            start.checked_add(1u128 << size_log).filter(|end| {
                // IPv4 ends at 2^32.
                family == 1 || *end < (1u128 << 32)
            })
        };
    }

    /// The partition; `None` when a family has more than 65,536 distinct (class, prefix)
    /// values (the per-query path then serves every query).
    pub fn finish(mut self) -> Option<GeoPartition> {
        if let Some(expected) = self.next[0] {
            self.v4.push(expected as u64, SLOW);
        }
        if let Some(expected) = self.next[1] {
            self.v6.push((expected >> 64) as u64, SLOW);
        }
        Some(GeoPartition {
            classes: self.classes,
            v4: self.v4.finish()?,
            v6: self.v6.finish()?,
        })
    }
}
