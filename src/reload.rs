//! Building snapshots and swapping them in (SPEC section 6).
//!
//! ```text
//!  SIGHUP ─► config::load (every file) ─► open GeoIP ─► new HealthTable (state carried over
//!            for unchanged checks) ─► Snapshot{generation+1} ─► store.swap
//!  any error ─► Rejected(errors); the old snapshot keeps serving
//! ```
//!
//! Everything is read and validated before the store is touched, so a query sees either the
//! old snapshot or the new one, never a mix.

use std::path::Path;
use std::sync::Arc;

use crate::config::{self, Config};
use crate::health::view::HealthTable;
use crate::metrics::SnapshotCounters;
use crate::state::{Snapshot, Store};
use crate::steer::GeoLookup;

/// What a reload did.
#[derive(Debug)]
pub enum ReloadOutcome {
    /// The new configuration serves.
    Applied {
        /// Its generation.
        generation: u64,
        /// Things that changed but need a restart, and other notes.
        warnings: Vec<String>,
    },
    /// Nothing changed; each entry is one `file:line: problem`.
    Rejected(Vec<String>),
}

/// Opens the configured GeoIP database (read whole into memory), if any.
pub fn open_geo(cfg: &Config) -> Result<Option<Arc<dyn GeoLookup>>, String> {
    match &cfg.geoip_database {
        None => Ok(None),
        Some(path) => crate::geo::open_lookup(path).map(Some),
    }
}

/// Builds a complete snapshot from the files, carrying health over from `old` for endpoints
/// whose check did not change.
pub fn build(
    path: &Path,
    now_unix: u64,
    generation: u64,
    old: Option<&Snapshot>,
) -> Result<Snapshot, Vec<String>> {
    let cfg = config::load(path, now_unix)
        .map_err(|errors| errors.0.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let geo = open_geo(&cfg).map_err(|e| vec![e])?;
    let health = Arc::new(HealthTable::new(cfg.checks.len()));
    if let Some(old) = old {
        carry_health(&old.config, &old.health, &cfg, &health);
    }
    let counters = Arc::new(SnapshotCounters::build(
        &cfg,
        old.map(|o| o.counters.as_ref()),
    ));
    Ok(Snapshot {
        generation,
        config: cfg,
        geo,
        health,
        loaded_at_unix: now_unix,
        counters,
    })
}

/// Copies the status of every endpoint whose key and check parameters are unchanged.
pub fn carry_health(old: &Config, old_table: &HealthTable, new: &Config, table: &HealthTable) {
    let before: std::collections::HashMap<String, &config::model::CheckedEndpoint> =
        old.checks.iter().map(|c| (c.key(), c)).collect();
    for c in &new.checks {
        if let Some(prev) = before.get(&c.key())
            && prev.check == c.check
        {
            table.set(c.slot, old_table.get(prev.slot));
        }
    }
}

/// Re-reads everything and swaps it in if valid.
pub fn reload(store: &Store, path: &Path, now_unix: u64) -> ReloadOutcome {
    let current = store.load_full();
    match build(path, now_unix, current.generation + 1, Some(&current)) {
        Ok(snap) => {
            let mut warnings = Vec::new();
            if snap.config.server.listen != current.config.server.listen {
                warnings.push(
                    "[server] listen changed: the new addresses take effect after a restart"
                        .to_string(),
                );
            }
            if snap.config.server.workers != current.config.server.workers {
                warnings.push("[server] workers changed: takes effect after a restart".into());
            }
            let generation = snap.generation;
            store.store(Arc::new(snap));
            ReloadOutcome::Applied {
                generation,
                warnings,
            }
        }
        Err(errors) => ReloadOutcome::Rejected(errors),
    }
}
