//! The signature cache: RRSIGs by RRset content, key and validity window.
//!
//! ```text
//!  answer path ── get_or_sign(key, rrset, now, validity) ──► shard (RwLock, read) ──► hit: Arc<[u8]>
//!                                                               │ miss
//!                                                               ▼
//!                                                  sign (sign.rs) ─► insert (write lock, evict)
//!  refresher ── refresh_ahead(now) ─► entries used in this window and near its end:
//!               signed again for the next window, off the query path
//! ```
//!
//! - Keyed by content: the owner, type, TTL and the set of RDATA (order does not matter, as
//!   the signature does not depend on it), the key's identity and the validity window
//!   ([`Window`]). The cache is not part of a snapshot, so a reload that leaves an RRset and
//!   its key as they were keeps its signature.
//! - A hit hashes the RRset once (Fx with a seed chosen at start), takes a read lock on one
//!   of 16 shards and compares the entry's content in full, so a hash collision is a miss,
//!   never a wrong signature. It allocates nothing and returns the RRSIG RDATA as an
//!   `Arc<[u8]>`.
//! - Bounded: each shard holds at most `capacity / 16` entries. A full shard first drops the
//!   entries of windows that have ended, then those not used since the last sweep (a clock
//!   sweep: used entries get a second chance), then any, down to three quarters.
//! - Refreshed before expiry: a window's signatures are served only inside it, at least
//!   three quarters of the validity before they expire; [`SignatureCache::refresh_ahead`]
//!   signs the entries used in the current window for the next one during the last eighth
//!   of the window, so the change of windows costs queries nothing.

use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use rustc_hash::FxHasher;

use super::key::ZoneKey;
use super::sign::{Rrset, Window, rrsig_rdata};
use crate::error::SignError;

/// Number of shards (a power of two).
const SHARDS: usize = 16;

/// One cached signature with the content it covers.
struct Entry {
    key: Arc<ZoneKey>,
    validity: u32,
    window: Window,
    owner: Box<[u8]>,
    rtype: u16,
    ttl: u32,
    /// RDATA in byte order.
    rdatas: Box<[Box<[u8]>]>,
    rrsig: Arc<[u8]>,
    /// Hit since the last sweep (set by queries; the refresher's own entries start unused).
    used: AtomicBool,
}

impl Entry {
    /// Whether the entry is for exactly this RRset, key and window. The RDATA are compared
    /// as sets, as the signature covers them (RFC 4034 6.3: order and duplicates do not
    /// count); the entry's are sorted and without duplicates.
    fn matches<R: AsRef<[u8]>>(&self, key: &ZoneKey, window: &Window, set: &Rrset<'_, R>) -> bool {
        self.key.id() == key.id()
            && self.window == *window
            && self.rtype == set.rtype
            && self.ttl == set.ttl
            && *self.owner == *set.owner
            && set.rdatas.iter().all(|r| {
                self.rdatas
                    .binary_search_by(|mine| (**mine).cmp(r.as_ref()))
                    .is_ok()
            })
            && self
                .rdatas
                .iter()
                .all(|mine| set.rdatas.iter().any(|r| **mine == *r.as_ref()))
    }
}

type Shard = std::collections::HashMap<u64, Arc<Entry>, rustc_hash::FxBuildHasher>;

/// Counters of a cache, for metrics and benchmarks.
#[derive(Debug, Default)]
pub struct CacheStats {
    /// Signatures found.
    pub hits: AtomicU64,
    /// Signatures computed on the query path.
    pub misses: AtomicU64,
    /// Signatures computed ahead of their window by the refresher.
    pub refreshed: AtomicU64,
    /// Entries dropped to stay within the bound.
    pub evicted: AtomicU64,
}

/// Bounded cache of RRSIG RDATA; see the module documentation.
pub struct SignatureCache {
    shards: Box<[RwLock<Shard>]>,
    per_shard: usize,
    /// Seed of the content hash, random per cache.
    seed: u64,
    stats: CacheStats,
}

impl std::fmt::Debug for SignatureCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureCache")
            .field("capacity", &(self.per_shard * SHARDS))
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// The RDATA of an RRset, sorted and without duplicates, as an entry keeps them.
fn sorted<R: AsRef<[u8]>>(rdatas: &[R]) -> Box<[Box<[u8]>]> {
    let mut out: Vec<Box<[u8]>> = rdatas.iter().map(|r| r.as_ref().into()).collect();
    out.sort_unstable();
    out.dedup();
    out.into()
}

impl SignatureCache {
    /// A cache holding at most about `capacity` signatures.
    pub fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(4);
        Self {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            per_shard,
            seed: std::collections::hash_map::RandomState::new().hash_one(0u8),
            stats: CacheStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    /// Number of signatures held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().map_or(0, |s| s.len()))
            .sum()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The content hash: Fx (fast; the seed is random, and every shard is small and bounded,
    /// so even names chosen to collide cost a bounded probe, never a wrong signature). The
    /// RDATA are combined by addition, so their order does not matter and needs no sort.
    fn hash<R: AsRef<[u8]>>(&self, key: &ZoneKey, window: &Window, set: &Rrset<'_, R>) -> u64 {
        let mut h = FxHasher::with_seed(self.seed as usize);
        h.write_u64(key.id());
        h.write_u32(window.index);
        h.write_u32(window.step);
        h.write(set.owner);
        h.write_u16(set.rtype);
        h.write_u32(set.ttl);
        let mut rdatas = 0u64;
        for r in set.rdatas {
            let mut one = FxHasher::with_seed(self.seed as usize);
            one.write(r.as_ref());
            rdatas = rdatas.wrapping_add(one.finish());
        }
        h.write_u64(rdatas);
        h.finish()
    }

    fn shard(&self, hash: u64) -> &RwLock<Shard> {
        &self.shards[(hash >> 59) as usize % SHARDS]
    }

    /// The RRSIG RDATA of `set` by `key`, valid at `now` (unix seconds) for a zone whose
    /// signatures are valid for `validity` seconds: from the cache, or signed and cached.
    pub fn get_or_sign<R: AsRef<[u8]>>(
        &self,
        key: &Arc<ZoneKey>,
        set: &Rrset<'_, R>,
        now: u32,
        validity: u32,
    ) -> Result<Arc<[u8]>, SignError> {
        let window = Window::at(now, validity);
        let hash = self.hash(key, &window, set);
        let shard = self.shard(hash);
        if let Ok(map) = shard.read()
            && let Some(entry) = map.get(&hash)
            && entry.matches(key, &window, set)
        {
            entry.used.store(true, Ordering::Relaxed);
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Arc::clone(&entry.rrsig));
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        let rrsig: Arc<[u8]> = rrsig_rdata(key, set, window)?.into();
        let entry = Entry {
            key: Arc::clone(key),
            validity,
            window,
            owner: set.owner.into(),
            rtype: set.rtype,
            ttl: set.ttl,
            rdatas: sorted(set.rdatas),
            rrsig: Arc::clone(&rrsig),
            used: AtomicBool::new(true),
        };
        self.insert(shard, hash, entry, now);
        Ok(rrsig)
    }

    fn insert(&self, shard: &RwLock<Shard>, hash: u64, entry: Entry, now: u32) {
        // A poisoned lock only means another thread panicked mid-insert; the map itself is
        // still whole (inserts and removes do not panic halfway), so keep using it.
        let mut map = shard
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= self.per_shard && !map.contains_key(&hash) {
            self.sweep(&mut map, now);
        }
        map.insert(hash, Arc::new(entry));
    }

    /// Makes room in a full shard (see the module documentation).
    fn sweep(&self, map: &mut Shard, now: u32) {
        let before = map.len();
        // Windows that have ended: their signatures are never served again.
        map.retain(|_, e| e.window.index >= Window::at(now, e.validity).index);
        if map.len() >= self.per_shard * 7 / 8 {
            // Clock sweep: drop what was not used since the last sweep; the rest loses its mark.
            map.retain(|_, e| e.used.swap(false, Ordering::Relaxed));
        }
        if map.len() >= self.per_shard {
            let excess = map.len() - self.per_shard * 3 / 4;
            let victims: Vec<u64> = map.keys().take(excess).copied().collect();
            for k in victims {
                map.remove(&k);
            }
        }
        self.stats
            .evicted
            .fetch_add((before - map.len()) as u64, Ordering::Relaxed);
    }

    /// Signs again, for the next window, the entries used in their current window when that
    /// window ends within an eighth of its length from `now`; at most `budget` signatures.
    /// Returns how many were made. Runs off the query path (the refresher calls it about
    /// once a minute).
    pub fn refresh_ahead(&self, now: u32, budget: usize) -> usize {
        let mut due: Vec<Arc<Entry>> = Vec::new();
        for shard in self.shards.iter() {
            let Ok(map) = shard.read() else { continue };
            for e in map.values() {
                let current = Window::at(now, e.validity);
                if e.window == current
                    && e.used.load(Ordering::Relaxed)
                    && now >= current.end().saturating_sub(current.step / 8)
                {
                    due.push(Arc::clone(e));
                }
            }
        }
        let mut made = 0;
        for e in due {
            if made >= budget {
                break;
            }
            let next = e.window.next();
            let rdatas: Vec<&[u8]> = e.rdatas.iter().map(|r| &**r).collect();
            let set = Rrset {
                owner: &e.owner,
                rtype: e.rtype,
                ttl: e.ttl,
                rdatas: &rdatas,
            };
            let hash = self.hash(&e.key, &next, &set);
            let shard = self.shard(hash);
            if shard
                .read()
                .is_ok_and(|m| m.get(&hash).is_some_and(|x| x.matches(&e.key, &next, &set)))
            {
                continue;
            }
            let Ok(rrsig) = rrsig_rdata(&e.key, &set, next) else {
                continue;
            };
            made += 1;
            self.stats.refreshed.fetch_add(1, Ordering::Relaxed);
            let entry = Entry {
                key: Arc::clone(&e.key),
                validity: e.validity,
                window: next,
                owner: e.owner.clone(),
                rtype: e.rtype,
                ttl: e.ttl,
                rdatas: e.rdatas.clone(),
                rrsig: rrsig.into(),
                used: AtomicBool::new(false),
            };
            self.insert(shard, hash, entry, now);
        }
        made
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::name::Name;
    use crate::dnssec::key::{Algorithm, FLAGS_KSK};

    const DAY: u32 = 86_400;
    const NOW: u32 = 1_764_590_000;

    fn key() -> Arc<ZoneKey> {
        let zone = Name::parse_absolute("gslb.example.test.").unwrap();
        Arc::new(ZoneKey::generate(&zone, Algorithm::Ed25519, FLAGS_KSK, false, 0).unwrap())
    }

    fn set<'a>(rdatas: &'a [[u8; 4]]) -> Rrset<'a, [u8; 4]> {
        Rrset {
            owner: b"\x03www\x04gslb\x07example\x04test\x00",
            rtype: 1,
            ttl: 30,
            rdatas,
        }
    }

    #[test]
    fn hits_ignore_order_and_miss_on_any_change() {
        let cache = SignatureCache::new(1024);
        let key = key();
        let a = [[127, 0, 0, 10], [127, 0, 0, 11]];
        let first = cache.get_or_sign(&key, &set(&a), NOW, 7 * DAY).unwrap();
        let b = [[127, 0, 0, 11], [127, 0, 0, 10]];
        let again = cache
            .get_or_sign(&key, &set(&b), NOW + 60, 7 * DAY)
            .unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "same content, other order: a hit"
        );
        assert_eq!(cache.stats().hits.load(Ordering::Relaxed), 1);

        let other = [[127, 0, 0, 10]];
        let sub = cache.get_or_sign(&key, &set(&other), NOW, 7 * DAY).unwrap();
        assert!(!Arc::ptr_eq(&first, &sub));
        let mut ttl = set(&a);
        ttl.ttl = 31;
        assert!(!Arc::ptr_eq(
            &first,
            &cache.get_or_sign(&key, &ttl, NOW, 7 * DAY).unwrap()
        ));
        let later = cache
            .get_or_sign(&key, &set(&a), NOW + 2 * DAY, 7 * DAY)
            .unwrap();
        assert!(!Arc::ptr_eq(&first, &later), "next window: a new signature");
        let key2 = self::key();
        assert!(!Arc::ptr_eq(
            &first,
            &cache.get_or_sign(&key2, &set(&a), NOW, 7 * DAY).unwrap()
        ));
        assert_eq!(cache.stats().misses.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn stays_within_its_bound() {
        let cache = SignatureCache::new(64);
        let key = key();
        for i in 0..1000u32 {
            let rd = [i.to_be_bytes()];
            cache.get_or_sign(&key, &set(&rd), NOW, 7 * DAY).unwrap();
            assert!(cache.len() <= 64, "{} after {i}", cache.len());
        }
        assert!(cache.stats().evicted.load(Ordering::Relaxed) > 0);
    }

    #[test]
    fn refresh_signs_used_entries_for_the_next_window_before_it_starts() {
        let cache = SignatureCache::new(1024);
        let key = key();
        let a = [[127, 0, 0, 10]];
        let w = Window::at(NOW, 7 * DAY);
        cache.get_or_sign(&key, &set(&a), NOW, 7 * DAY).unwrap();
        // Early in the window: nothing is due.
        assert_eq!(cache.refresh_ahead(w.index * w.step, 100), 0);
        // In the last eighth: signed for the next window, once.
        let late = w.end() - w.step / 16;
        assert_eq!(cache.refresh_ahead(late, 100), 1);
        assert_eq!(cache.refresh_ahead(late, 100), 0);
        let misses = cache.stats().misses.load(Ordering::Relaxed);
        cache
            .get_or_sign(&key, &set(&a), w.end() + 5, 7 * DAY)
            .unwrap();
        assert_eq!(
            cache.stats().misses.load(Ordering::Relaxed),
            misses,
            "a hit"
        );
        // The refresher's entry was not used in its window until that query; an entry
        // nobody asks for is not carried on.
        let b = [[127, 0, 0, 99]];
        cache.get_or_sign(&key, &set(&b), NOW, 7 * DAY).unwrap();
        let next = w.next();
        assert_eq!(cache.refresh_ahead(next.end() - next.step / 16, 100), 1);
    }
}
