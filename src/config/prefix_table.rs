//! Longest-prefix tables compiled at load time: the address space cut into ranges, each with
//! a 32-bit value, so a query finds its value with one lookup.
//!
//! The tables do not know what the values mean (`steer::geo` packs a GeoIP class and network
//! prefix into them, `steer::table` a map entry and an ECS scope); they only store a
//! partition of the address space:
//!
//! ```text
//!  starts  0.0.0.0    1.0.0.0    1.0.1.0    1.0.4.0  ...   (sorted; starts[0] = 0)
//!  values  v0         v1         v2         v3       ...   (v_i holds for starts[i]..starts[i+1])
//!  index   index[b] = the range holding the first address of bucket b (the top k bits)
//! ```
//!
//! A lookup reads two neighbouring `index` slots (the ranges that can hold an address of that
//! bucket) and binary-searches that short run of `starts`. Adjacent ranges with equal values
//! are merged when the table is built. Memory: 4 + 4 bytes per IPv4 range, 16 + 4 per IPv6
//! range, plus 4 bytes per index bucket (at most 2^16 + 1 per family).
//!
//! [`Packed`] is the compact form of a large partition (the GeoIP database's); [`MapTable`] is one geo map's compiled form. The
//! module depends on nothing else in the crate, so the model can hold a table without
//! importing the code that fills it.

/// Largest number of index bits (64 Ki buckets, 256 KiB per family).
const MAX_INDEX_BITS: u32 = 16;

/// An address type the table can hold: `u32` (IPv4) or `u128` (IPv6).
pub trait Key: Copy + Ord + std::fmt::Debug + Default + Send + Sync + 'static {
    /// Width in bits.
    const BITS: u32;
    /// The top `bits` bits as a bucket number (`bits` < [`Key::BITS`]).
    fn top(self, bits: u32) -> usize;
    /// The first address of bucket `b` of `bits`-bit buckets.
    fn bucket_start(b: usize, bits: u32) -> Self;
}

impl Key for u32 {
    const BITS: u32 = 32;
    fn top(self, bits: u32) -> usize {
        if bits == 0 {
            0
        } else {
            (self >> (32 - bits)) as usize
        }
    }
    fn bucket_start(b: usize, bits: u32) -> Self {
        if bits == 0 {
            0
        } else {
            (b as u32) << (32 - bits)
        }
    }
}

impl Key for u64 {
    const BITS: u32 = 64;
    fn top(self, bits: u32) -> usize {
        if bits == 0 {
            0
        } else {
            (self >> (64 - bits)) as usize
        }
    }
    fn bucket_start(b: usize, bits: u32) -> Self {
        if bits == 0 {
            0
        } else {
            (b as u64) << (64 - bits)
        }
    }
}

impl Key for u128 {
    const BITS: u32 = 128;
    fn top(self, bits: u32) -> usize {
        if bits == 0 {
            0
        } else {
            (self >> (128 - bits)) as usize
        }
    }
    fn bucket_start(b: usize, bits: u32) -> Self {
        if bits == 0 {
            0
        } else {
            (b as u128) << (128 - bits)
        }
    }
}

//------------ Ranges ----------------------------------------------------------------------------

/// One family's partition: sorted range starts, their values and the bucket index.
#[derive(Clone)]
pub struct Ranges<K: Key> {
    starts: Box<[K]>,
    values: Box<[u32]>,
    /// `index[b]`: the range holding the first address of bucket `b`; `index[2^bits]` is the
    /// last range.
    index: Box<[u32]>,
    bits: u32,
}

impl<K: Key> Ranges<K> {
    /// A partition from `(start, value)` pairs in ascending order of start, the first at
    /// address 0. Adjacent equal values are merged. An empty list is one range of `empty`.
    pub fn build(pairs: Vec<(K, u32)>, empty: u32) -> Self {
        let mut starts: Vec<K> = Vec::with_capacity(pairs.len());
        let mut values: Vec<u32> = Vec::with_capacity(pairs.len());
        for (start, value) in pairs {
            debug_assert!(starts.last().is_none_or(|s| *s < start), "unsorted");
            if values.last() == Some(&value) {
                continue;
            }
            starts.push(start);
            values.push(value);
        }
        if starts.first() != Some(&K::default()) {
            starts.insert(0, K::default());
            values.insert(0, empty);
        }
        // About one range per bucket: short searches, and a small table stays small.
        let bits = (usize::BITS - starts.len().leading_zeros()).min(MAX_INDEX_BITS);
        let buckets = 1usize << bits;
        let mut index = Vec::with_capacity(buckets + 1);
        let mut i = 0usize;
        for b in 0..buckets {
            let first = K::bucket_start(b, bits);
            while i + 1 < starts.len() && starts[i + 1] <= first {
                i += 1;
            }
            index.push(i as u32);
        }
        index.push((starts.len() - 1) as u32);
        Self {
            starts: starts.into_boxed_slice(),
            values: values.into_boxed_slice(),
            index: index.into_boxed_slice(),
            bits,
        }
    }

    /// The value of the range holding `addr`.
    #[inline]
    pub fn lookup(&self, addr: K) -> u32 {
        let b = addr.top(self.bits);
        let lo = self.index[b] as usize;
        let hi = self.index[b + 1] as usize;
        // starts[lo] <= addr; the answer is the last start <= addr in lo..=hi.
        let run = &self.starts[lo + 1..=hi];
        let i = lo + run.partition_point(|s| *s <= addr);
        self.values[i]
    }

    /// Number of ranges.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Always false: a partition has at least one range.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.starts.len() * std::mem::size_of::<K>() + self.values.len() * 4 + self.index.len() * 4
    }

    /// Every range as (start, value), in address order.
    pub fn iter(&self) -> impl Iterator<Item = (K, u32)> + '_ {
        self.starts.iter().copied().zip(self.values.iter().copied())
    }
}

//------------ Packed ----------------------------------------------------------------------------

/// One half of a [`Packed`] key: `u16` (IPv4: /16 groups, 16-bit offsets) or `u32` (IPv6 on
/// /64 keys: /32 groups, 32-bit offsets).
pub trait Half: Copy + Ord + Default + std::fmt::Debug + Send + Sync + 'static {
    /// Width in bits.
    const BITS: u32;
    /// The low `BITS` bits of `x`.
    fn from_u64(x: u64) -> Self;
    /// The value as a `u64`.
    fn to_u64(self) -> u64;
}

impl Half for u16 {
    const BITS: u32 = 16;
    fn from_u64(x: u64) -> Self {
        x as u16
    }
    fn to_u64(self) -> u64 {
        u64::from(self)
    }
}

impl Half for u32 {
    const BITS: u32 = 32;
    fn from_u64(x: u64) -> Self {
        x as u32
    }
    fn to_u64(self) -> u64 {
        u64::from(self)
    }
}

/// A partition of a `2 * H::BITS`-bit key space, packed for size: the ranges are grouped by
/// the top half of their start, each group stores the low halves of its starts and a 16-bit
/// index into a palette of the values. IPv4 (`Packed<u16>`) costs 2 + 2 bytes a range, IPv6
/// on /64 keys (`Packed<u32>`) 4 + 2, plus 4 + 4 a group (a /16 or /32 where a range
/// starts); [`Ranges`] costs 8 and 20 (12 on /64 keys). At most 65,536 distinct values: the
/// builder gives up past that.
///
/// ```text
///  tops   0      1.0    1.2   ...      (top halves where some range starts; tops[0] = 0)
///  first  0      1      4     ...      (index of each group's first entry; the last = len)
///  lows   0      0 256 1024   0 ...    (every group starts with an entry at low 0)
///  vals   p      p p p        p ...    (palette indices)
/// ```
///
/// A lookup finds the last top half at or below the key's (the directory `dir`, indexed by
/// the top `dir_bits` bits of the top half, narrows `tops` to the groups of one bucket: at
/// most one for IPv4, where the directory has a slot per /16); if it is the key's own, it
/// searches that group's low halves, else the key lies past the group's end and gets the
/// group's last value.
#[derive(Clone)]
pub struct Packed<H: Half> {
    tops: Box<[H]>,
    first: Box<[u32]>,
    /// `dir[b]`: the first group whose top half is in bucket `b` or later (`2^dir_bits + 1`
    /// slots, the last = the number of groups).
    dir: Box<[u32]>,
    dir_bits: u32,
    lows: Box<[H]>,
    vals: Box<[u16]>,
    palette: Box<[u32]>,
}

impl<H: Half> Packed<H> {
    /// The value of the range holding `key` (its low `2 * H::BITS` bits count).
    #[inline]
    pub fn lookup(&self, key: u64) -> u32 {
        let top = H::from_u64(key >> H::BITS);
        let low = H::from_u64(key);
        let b = if self.dir_bits == 0 {
            0
        } else {
            (top.to_u64() >> (H::BITS - self.dir_bits)) as usize
        };
        let (lo, hi) = (self.dir[b] as usize, self.dir[b + 1] as usize);
        // Groups before `lo` start below the bucket, so at or below `top`; tops[0] is 0, so
        // some group is at or below `top` and `g` is not negative.
        let g = (lo + self.tops[lo..hi].partition_point(|t| *t <= top)).saturating_sub(1);
        let (a, b) = (self.first[g] as usize, self.first[g + 1] as usize);
        let i = if self.tops[g] == top {
            // lows[a] is 0: at least one entry is at or below `low`.
            a + self.lows[a..b]
                .partition_point(|l| *l <= low)
                .saturating_sub(1)
        } else {
            b - 1
        };
        self.palette[usize::from(self.vals[i])]
    }

    /// Number of ranges (group-opening entries that repeat the value before them included).
    pub fn len(&self) -> usize {
        self.lows.len()
    }

    /// Always false: a partition has at least one range.
    pub fn is_empty(&self) -> bool {
        self.lows.is_empty()
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        let half = std::mem::size_of::<H>();
        self.tops.len() * half
            + self.first.len() * 4
            + self.dir.len() * 4
            + self.lows.len() * (half + 2)
            + self.palette.len() * 4
    }
}

/// Builds a [`Packed`] from `(start, value)` pairs in ascending order of start, merging
/// neighbours with equal values, without holding the pairs.
#[derive(Debug)]
pub struct PackedBuilder<H: Half> {
    tops: Vec<H>,
    first: Vec<u32>,
    lows: Vec<H>,
    vals: Vec<u16>,
    palette: Vec<u32>,
    /// Palette index of each value.
    index: std::collections::HashMap<u32, u16>,
    /// Value of the last range pushed.
    last: Option<u32>,
    /// Value from key 0 to the first start pushed, if that is above 0.
    empty: u32,
    /// More than 65,536 distinct values were pushed.
    overflow: bool,
}

impl<H: Half> PackedBuilder<H> {
    /// A builder; `empty` holds where nothing was pushed (below the first start, or
    /// everywhere).
    pub fn new(empty: u32) -> Self {
        Self {
            tops: Vec::new(),
            first: Vec::new(),
            lows: Vec::new(),
            vals: Vec::new(),
            palette: Vec::new(),
            index: std::collections::HashMap::new(),
            last: None,
            overflow: false,
            empty,
        }
    }

    /// The value holds from `start` (above every start pushed before, or equal to the last
    /// one with the same value) to the next start.
    pub fn push(&mut self, start: u64, value: u32) {
        if self.last.is_none() && start != 0 {
            self.push(0, self.empty);
        }
        if self.last == Some(value) || self.overflow {
            return;
        }
        let Some(p) = self.palette_index(value) else {
            self.overflow = true;
            return;
        };
        let top = H::from_u64(start >> H::BITS);
        let low = H::from_u64(start);
        if self.tops.last() != Some(&top) {
            // A new group: it opens at low 0 with the value that holds there.
            self.tops.push(top);
            self.first.push(self.lows.len() as u32);
            if low != H::default() {
                let before = *self.vals.last().unwrap_or(&p);
                self.lows.push(H::default());
                self.vals.push(before);
            }
        }
        self.lows.push(low);
        self.vals.push(p);
        self.last = Some(value);
    }

    fn palette_index(&mut self, value: u32) -> Option<u16> {
        if let Some(p) = self.index.get(&value) {
            return Some(*p);
        }
        let p = u16::try_from(self.palette.len()).ok()?;
        self.palette.push(value);
        self.index.insert(value, p);
        Some(p)
    }

    /// The table; `None` when more than 65,536 distinct values were pushed.
    pub fn finish(mut self) -> Option<Packed<H>> {
        if self.last.is_none() {
            self.push(0, self.empty);
        }
        if self.overflow {
            return None;
        }
        self.first.push(self.lows.len() as u32);
        // About one group per bucket, at most one slot per top half (and 2^16 buckets).
        let dir_bits = (usize::BITS - self.tops.len().leading_zeros())
            .min(H::BITS)
            .min(MAX_INDEX_BITS);
        let mut dir = Vec::with_capacity((1 << dir_bits) + 1);
        let mut g = 0usize;
        for b in 0..1u64 << dir_bits {
            let first_top = if dir_bits == 0 {
                0
            } else {
                b << (H::BITS - dir_bits)
            };
            while g < self.tops.len() && self.tops[g].to_u64() < first_top {
                g += 1;
            }
            dir.push(g as u32);
        }
        dir.push(self.tops.len() as u32);
        Some(Packed {
            tops: self.tops.into_boxed_slice(),
            first: self.first.into_boxed_slice(),
            dir: dir.into_boxed_slice(),
            dir_bits,
            lows: self.lows.into_boxed_slice(),
            vals: self.vals.into_boxed_slice(),
            palette: self.palette.into_boxed_slice(),
        })
    }
}

//------------ MapTable ----------------------------------------------------------------------------

/// A geo map compiled against one GeoIP partition (filled by `steer::table`): what the map's
/// `net:` keys decide for each range of the address space, and which map entry each class of
/// GeoIP facts matches.
#[derive(Clone, Default)]
pub struct MapTable {
    /// The `net:` keys' partition of IPv4 (`None` without IPv4 keys).
    pub nets_v4: Option<Ranges<u32>>,
    /// The `net:` keys' partition of IPv6 (`None` without IPv6 keys).
    pub nets_v6: Option<Ranges<u128>>,
    /// Map entry of each class of GeoIP facts of the partition (empty when the map has no geo
    /// keys).
    pub class_entry: Box<[u32]>,
    /// The `default` entry.
    pub default: u32,
    /// Whether the map has geo keys.
    pub uses_geo: bool,
}

impl MapTable {
    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.nets_v4.as_ref().map_or(0, Ranges::memory_bytes)
            + self.nets_v6.as_ref().map_or(0, Ranges::memory_bytes)
            + self.class_entry.len() * 4
    }
}

impl std::fmt::Debug for MapTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapTable")
            .field("nets_v4", &self.nets_v4.as_ref().map(Ranges::len))
            .field("nets_v6", &self.nets_v6.as_ref().map(Ranges::len))
            .field("classes", &self.class_entry.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value at `addr` by a binary search of the unmerged pairs, without the index (the
    /// reference).
    fn scan<K: Key>(pairs: &[(K, u32)], empty: u32, addr: K) -> u32 {
        match pairs.partition_point(|(s, _)| *s <= addr) {
            0 => empty,
            i => pairs[i - 1].1,
        }
    }
    #[test]
    fn lookups_match_a_scan() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for n in [0usize, 1, 2, 3, 7, 100, 5000, 70_000] {
            let mut starts: Vec<u32> = (0..n).map(|_| next() as u32).collect();
            starts.sort_unstable();
            starts.dedup();
            let pairs: Vec<(u32, u32)> = starts.iter().map(|&s| (s, next() as u32 % 5)).collect();
            let t = Ranges::build(pairs.clone(), 9);
            for _ in 0..20_000 {
                let a = next() as u32;
                assert_eq!(t.lookup(a), scan(&pairs, 9, a), "n={n} addr={a:#x}");
            }
            for &(s, _) in &pairs {
                for a in [s, s.wrapping_sub(1), s.saturating_add(1)] {
                    assert_eq!(t.lookup(a), scan(&pairs, 9, a), "n={n} addr={a:#x}");
                }
            }
            assert_eq!(t.lookup(u32::MAX), scan(&pairs, 9, u32::MAX));
            assert_eq!(t.lookup(0), scan(&pairs, 9, 0));
        }
    }

    #[test]
    fn ipv6_lookups_match_a_scan() {
        let mut x: u128 = 0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834;
        let mut next = move || {
            x ^= x << 29;
            x ^= x >> 41;
            x ^= x << 11;
            x
        };
        let mut starts: Vec<u128> = (0..3000).map(|_| next()).collect();
        // Clusters, as real IPv6 data has (most of it in 2000::/3).
        starts.extend((0..3000u128).map(|i| (0x2a00u128 << 112) | (i << 90)));
        starts.sort_unstable();
        starts.dedup();
        let pairs: Vec<(u128, u32)> = starts.iter().map(|&s| (s, (s >> 100) as u32 % 7)).collect();
        let t = Ranges::build(pairs.clone(), 3);
        for _ in 0..20_000 {
            let a = next();
            assert_eq!(t.lookup(a), scan(&pairs, 3, a));
        }
        for &(s, _) in &pairs {
            assert_eq!(t.lookup(s), scan(&pairs, 3, s));
            assert_eq!(
                t.lookup(s.wrapping_sub(1)),
                scan(&pairs, 3, s.wrapping_sub(1))
            );
        }
    }

    /// Packs `pairs` (ascending starts, the first at 0).
    fn pack<H: Half>(pairs: &[(u64, u32)]) -> Packed<H> {
        let mut b = PackedBuilder::<H>::new(pairs[0].1);
        for &(s, v) in pairs {
            b.push(s, v);
        }
        b.finish().expect("few values")
    }

    #[test]
    fn packed_matches_a_scan() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        // 32-bit keys (IPv4): random starts, runs inside one /16, starts at /16 edges.
        let mut starts: Vec<u64> = vec![0, 0xffff, 0x1_0000, 0xffff_0000, 0xffff_ffff];
        for _ in 0..5000 {
            let s = next() as u32;
            starts.push(u64::from(s));
            if next() % 3 == 0 {
                for _ in 0..next() % 5 {
                    starts.push(u64::from(s & 0xffff_0000 | next() as u32 & 0xffff));
                }
            }
        }
        starts.sort_unstable();
        starts.dedup();
        let pairs: Vec<(u64, u32)> = starts.iter().map(|&s| (s, (next() % 9) as u32)).collect();
        let t = pack::<u16>(&pairs);
        for &(s, _) in &pairs {
            for a in [
                s,
                s.saturating_sub(1),
                (s + 1).min(0xffff_ffff),
                s | 0xffff,
                s & !0xffff,
            ] {
                assert_eq!(t.lookup(a), scan(&pairs, 99, a), "{a:#x}");
            }
        }
        for _ in 0..20_000 {
            let a = u64::from(next() as u32);
            assert_eq!(t.lookup(a), scan(&pairs, 99, a), "{a:#x}");
        }
        // 64-bit keys (IPv6 /64s): clusters and /32 edges.
        let mut starts: Vec<u64> = vec![0, u64::MAX, 0xffff_ffff, 0x1_0000_0000];
        for _ in 0..5000 {
            let s = 0x2a00_0000_0000_0000 | ((next() % (1 << 44)) << 16);
            starts.push(s);
            starts.push(next());
            if next() % 3 == 0 {
                starts.push(s & !0xffff_ffff);
            }
        }
        starts.sort_unstable();
        starts.dedup();
        let pairs: Vec<(u64, u32)> = starts.iter().map(|&s| (s, (next() % 7) as u32)).collect();
        let t = pack::<u32>(&pairs);
        for &(s, _) in &pairs {
            for a in [s, s.saturating_sub(1), s.saturating_add(1), s | 0xffff_ffff] {
                assert_eq!(t.lookup(a), scan(&pairs, 99, a), "{a:#x}");
            }
        }
        for _ in 0..20_000 {
            let a = next();
            assert_eq!(t.lookup(a), scan(&pairs, 99, a), "{a:#x}");
        }
        // Equal neighbours merged: 2 + 2 bytes a range plus the groups.
        let merged = pack::<u16>(&[(0, 1), (10, 1), (20, 2), (30, 2), (0x2_0005, 1)]);
        assert_eq!(
            merged.len(),
            4,
            "0:1 20:2, then group 2 opening at 0 with 2, and 5:1"
        );
        assert_eq!(merged.lookup(0x1_ffff), 2);
        assert_eq!(merged.lookup(0x2_0004), 2);
        assert_eq!(merged.lookup(0x2_0005), 1);
    }

    #[test]
    fn packed_with_a_slot_per_top_half_matches_a_scan() {
        // Enough /16 groups for the directory to have one slot per /16 (16 bits).
        let mut x: u32 = 0x9e37_79b9;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let mut starts: Vec<u64> = (0..60_000).map(|_| u64::from(next())).collect();
        starts.extend([0, 0xffff_0000, 0xffff_ffff, 0x1_0000]);
        starts.sort_unstable();
        starts.dedup();
        let pairs: Vec<(u64, u32)> = starts.iter().map(|&s| (s, next() % 11)).collect();
        let t = pack::<u16>(&pairs);
        assert_eq!(t.dir_bits, 16);
        for &(s, _) in &pairs {
            for a in [s, s.saturating_sub(1), (s + 1).min(0xffff_ffff), s | 0xffff] {
                assert_eq!(t.lookup(a), scan(&pairs, 99, a), "{a:#x}");
            }
        }
        for _ in 0..50_000 {
            let a = u64::from(next());
            assert_eq!(t.lookup(a), scan(&pairs, 99, a), "{a:#x}");
        }
    }

    #[test]
    fn packed_gives_up_past_65536_values() {
        let mut b = PackedBuilder::<u16>::new(0);
        for v in 1..=70_000u32 {
            b.push(u64::from(v), v);
        }
        assert!(b.finish().is_none());
    }

    #[test]
    fn equal_neighbours_merge() {
        let t = Ranges::build(vec![(0u32, 1), (10, 1), (20, 2), (30, 2), (40, 1)], 0);
        assert_eq!(t.iter().collect::<Vec<_>>(), vec![(0, 1), (20, 2), (40, 1)]);
        assert_eq!(t.len(), 3);
        let empty = Ranges::<u32>::build(vec![], 7);
        assert_eq!((empty.len(), empty.lookup(12345)), (1, 7));
    }
}
