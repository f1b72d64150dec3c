//! The serving snapshot: everything a query needs, behind one `ArcSwap`.
//!
//! A query loads the snapshot once and answers from it alone, so config, GeoIP and health
//! always belong together (the health table is created with the snapshot and indexed by its
//! slot ids). Reload builds a new snapshot off the query path and swaps it in whole.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::Config;
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
    /// The one way to make a snapshot: every checked endpoint up (the health runner fills in
    /// kept and saved states before it is published; with `[peers]` the table takes answered
    /// verdicts from the agreement), counters and drain start times carried over by name from
    /// `previous` and its signature caches kept (fresh without one).
    pub fn new(
        generation: u64,
        config: Config,
        geo: Option<Arc<dyn GeoLookup>>,
        loaded_at_unix: u64,
        previous: Option<&Self>,
    ) -> Self {
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

/// 16 random bytes from the operating system (through aws-lc-rs, already the crate that does
/// our cryptography).
fn random_cookie_secret() -> CookieSecret {
    let mut bytes = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
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
