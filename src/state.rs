//! The serving snapshot: everything a query needs, behind one `ArcSwap`.
//!
//! A query loads the snapshot once and answers from it alone, so config, GeoIP and health
//! always belong together (the health table is created with the snapshot and indexed by its
//! slot ids). Reload builds a new snapshot off the query path and swaps it in whole.

use std::sync::{Arc, Condvar, Mutex, OnceLock};

use arc_swap::ArcSwap;

use crate::config::Config;
use crate::config::model::GeoMap;
use crate::counters::SnapshotCounters;
use crate::dns::cookie::CookieSecret;
use crate::dnssec::zone::SignatureCaches;
use crate::drain::DrainTimes;
use crate::health::view::HealthTable;
use crate::steer::GeoLookup;

/// One immutable generation of configuration, with its live health table.
#[derive(Debug)]
pub struct Snapshot {
    /// Increases by one with every successful reload.
    pub generation: u64,
    /// The validated configuration.
    pub config: Config,
    /// GeoIP data, when configured.
    pub geo: Option<Arc<dyn GeoLookup>>,
    /// Health of every checked endpoint (`config.checks` order).
    pub health: Arc<HealthTable>,
    /// When this snapshot's config was loaded (unix seconds).
    pub loaded_at_unix: u64,
    /// When each drained region began draining (carried over from `previous` by name), for
    /// explain's drain timing.
    pub drain_since: DrainTimes,
    /// Query and steering counters, indexed like `config` (carried across reloads by name).
    pub counters: Arc<SnapshotCounters>,
    /// DNSSEC signatures by content, key and window: handed on from snapshot to snapshot, so
    /// a reload keeps every signature whose RRset and key are unchanged.
    pub signatures: Arc<SignatureCaches>,
    /// The DNS Cookies secret answers use: `[server] cookie_secret_file`'s, else
    /// `random_cookie_secret`.
    pub cookie_secret: CookieSecret,
    /// A random secret made with the first snapshot and handed on to every later one, so
    /// server cookies stay valid across reloads.
    pub random_cookie_secret: CookieSecret,
}

impl Snapshot {
    /// The one way to make a snapshot: every map's prefix table compiled in the background,
    /// every checked endpoint up (the health runner fills in kept and saved states before it is
    /// published; with `[peers]` the table takes answered verdicts from the agreement),
    /// counters and drain start times carried over by name from `previous` and its signature
    /// caches kept (fresh without one).
    pub fn new(
        generation: u64,
        config: Config,
        geo: Option<Arc<dyn GeoLookup>>,
        loaded_at_unix: u64,
        previous: Option<&Self>,
    ) -> Self {
        // The same database as the serving snapshot's (same content): keep that one, whose
        // partition is built already, so a reload does not compile it again.
        let geo = match (geo, previous.and_then(|p| p.geo.as_ref())) {
            (Some(new), Some(old))
                if new.fingerprint().is_some() && new.fingerprint() == old.fingerprint() =>
            {
                Some(Arc::clone(old))
            }
            (geo, _) => geo,
        };
        compile_tables_in_background(&config, geo.as_ref());
        let health = Arc::new(
            HealthTable::new(config.checks.len())
                .agreeing(config.peers.is_some())
                .with_live_weights(&fresh_rollout_weights(&config)),
        );
        let counters = Arc::new(SnapshotCounters::build(
            &config,
            previous.map(|p| p.counters.as_ref()),
        ));
        let signatures = previous.map_or_else(Arc::default, |p| Arc::clone(&p.signatures));
        let drain_since =
            DrainTimes::build(&config, loaded_at_unix, previous.map(|p| &p.drain_since));
        let random_cookie_secret =
            previous.map_or_else(random_cookie_secret, |p| p.random_cookie_secret);
        let cookie_secret = config.server.cookie_secret.unwrap_or(random_cookie_secret);
        Self {
            generation,
            config,
            geo,
            health,
            loaded_at_unix,
            drain_since,
            counters,
            signatures,
            cookie_secret,
            random_cookie_secret,
        }
    }
}

/// Every rollout's live weight and tag as if it started now, in slot order: what a snapshot
/// holds until the rollout runner writes the progress it keeps (before publishing it).
fn fresh_rollout_weights(config: &Config) -> Vec<(f64, u64)> {
    let mut out = vec![(0.0, 0); config.rollouts];
    for r in config
        .zones
        .iter()
        .flat_map(|z| &z.services)
        .filter_map(|s| s.rollout.as_ref())
    {
        let p = crate::rollout::engine::start(&r.spec, 0);
        if let Some(slot) = out.get_mut(r.slot.0 as usize) {
            *slot = (
                crate::rollout::engine::live_weight(&r.spec, r.others, &p),
                crate::rollout::engine::tag(&p),
            );
        }
    }
    out
}

/// 16 random bytes from the operating system (through ring, already the crate that does our
/// cryptography).
fn random_cookie_secret() -> CookieSecret {
    let mut bytes = [0u8; 16];
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).is_err() {
        // The system's random source failing is beyond repair here; cookies made with a
        // fixed key only lose their RRL exemption value, answers are unaffected.
        tracing::error!(
            "no random bytes for the DNS Cookies secret; set [server] cookie_secret_file"
        );
    }
    CookieSecret::from_bytes(bytes)
}

/// Seconds since the Unix epoch (the one clock read at the edge for `serial = "auto"` and
/// explain's drain timing).
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Milliseconds since the Unix epoch (reload reports).
pub fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The shared handle: readers `load_full()`, reload `store()`s.
pub type Store = Arc<ArcSwap<Snapshot>>;

/// A map-table compile job: a snapshot's distinct maps and its GeoIP database.
type TableJob = (Vec<Arc<GeoMap>>, Option<Arc<dyn GeoLookup>>);

/// The compiler thread's inbox: the latest job not started yet (a newer snapshot's job
/// replaces an older one that has not started, so rapid reloads never queue up builds).
type Inbox = (Mutex<Option<TableJob>>, Condvar);

/// Compiles every map of `config` into its prefix table with the GeoIP data (`steer::table`)
/// on one thread of its own, so a load or reload does not wait for it (the GeoIP partition
/// takes about 1.6 s with the shipped database in a release build, ten times that in a
/// debug build). Until a map's table is set its queries take the per-query path, which
/// answers the same.
fn compile_tables_in_background(config: &Config, geo: Option<&Arc<dyn GeoLookup>>) {
    static INBOX: OnceLock<Option<Arc<Inbox>>> = OnceLock::new();
    let maps = crate::steer::table::maps_of(config);
    if maps.is_empty() {
        return;
    }
    let inbox = INBOX.get_or_init(|| {
        let inbox: Arc<Inbox> = Arc::default();
        let theirs = Arc::clone(&inbox);
        let spawned = std::thread::Builder::new()
            .name("map-tables".into())
            .spawn(move || compile_tables_forever(&theirs));
        match spawned {
            Ok(_) => Some(inbox),
            Err(e) => {
                // Without the thread every query takes the per-query path: slower, same
                // answers.
                tracing::warn!(error = %e, "cannot start the map table compiler; steering per query");
                None
            }
        }
    });
    if let Some((next, wake)) = inbox.as_deref() {
        let mut slot = next
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Some((maps, geo.cloned()));
        wake.notify_one();
    }
}

/// The compiler thread: takes the latest job, compiles it, and waits for the next.
fn compile_tables_forever(inbox: &Inbox) {
    let (next, wake) = inbox;
    loop {
        let job = {
            let mut slot = next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            loop {
                if let Some(job) = slot.take() {
                    break job;
                }
                slot = wake
                    .wait(slot)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        };
        let (maps, geo) = job;
        let tables = crate::steer::table::compile_maps(&maps, geo.as_deref());
        tracing::debug!(
            maps = tables.maps,
            tables = tables.tables,
            table_bytes = tables.table_bytes,
            geoip_ranges_v4 = tables.partition_ranges.0,
            geoip_ranges_v6 = tables.partition_ranges.1,
            geoip_classes = tables.partition_classes,
            geoip_bytes = tables.partition_bytes,
            "map tables compiled"
        );
        drop((maps, geo));
        release_free_heap();
    }
}

/// Hands the heap freed while loading (the GeoIP partition's work lists, the parsed files)
/// back to the system; glibc keeps it otherwise, and the process stays at its load peak.
fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only returns free heap pages.
    unsafe {
        libc::malloc_trim(0);
    }
}
