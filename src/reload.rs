//! Building snapshots and swapping them in (SPEC section 6): the reload transaction.
//!
//! ```text
//!  SIGHUP ─► prepare (blocking task): config::load (every file) ─► open GeoIP
//!            ─► Snapshot{generation+1}
//!          ─► health runner update (kept checks copy their state into the new table)
//!          ─► store.swap ─► listeners rebound ─► counted, logged: Applied
//!  any error ─► counted, logged with file:line: Rejected; the old snapshot keeps serving
//! ```
//!
//! Everything is read and validated before the store is touched, so a query sees either the
//! old snapshot or the new one, never a mix.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use crate::config::model::CheckKind;
use crate::config::{self, Config};
use crate::error::{GeoError, LoadError, render_chain};
use crate::health::runner::{CheckTarget, HealthRunner, TargetLabels};
use crate::health::{ProbeKind, ProbeSpec, TlsSpec};
use crate::metrics::Metrics;
use crate::server::listeners::Listeners;
use crate::state::{Snapshot, Store, now_unix};
use crate::steer::GeoLookup;

/// Opens the configured GeoIP database (read whole into memory), if any.
pub fn open_geo(cfg: &Config) -> Result<Option<Arc<dyn GeoLookup>>, GeoError> {
    match &cfg.geoip_database {
        None => Ok(None),
        Some(path) => crate::geo::open_lookup(path).map(Some),
    }
}

/// Loads the configuration at `path` and opens its GeoIP database: everything `check`,
/// `serve` and a reload read, validated the same way.
pub fn load(path: &Path, now_unix: u64) -> Result<(Config, Option<Arc<dyn GeoLookup>>), LoadError> {
    let cfg = config::load(path, now_unix)?;
    let geo = open_geo(&cfg)?;
    Ok((cfg, geo))
}

/// Builds a complete snapshot from the files, with every checked endpoint up; the health
/// runner fills in kept and saved states ([`HealthRunner::update`] / `start`) before it is
/// published.
pub fn build(
    path: &Path,
    now_unix: u64,
    generation: u64,
    old: Option<&Snapshot>,
) -> Result<Snapshot, LoadError> {
    let (cfg, geo) = load(path, now_unix)?;
    Ok(Snapshot::new(generation, cfg, geo, now_unix, old))
}

/// Notes for the operator when settings that need a restart changed.
pub fn restart_warnings(old: &Config, new: &Config) -> Vec<String> {
    let mut warnings = Vec::new();
    if new.server.workers != old.server.workers {
        warnings.push("[server] workers changed: takes effect after a restart".into());
    }
    if new.metrics_listen != old.metrics_listen {
        warnings.push("[metrics] listen changed: takes effect after a restart".into());
    }
    if new.health_state_file != old.health_state_file {
        warnings.push("[health] state_file changed: takes effect after a restart".into());
    }
    warnings
}

/// The health-check targets of a configuration, one per checked endpoint, in slot order.
pub fn check_targets(cfg: &Config) -> Vec<CheckTarget> {
    cfg.checks
        .iter()
        .map(|c| {
            let p = &c.check;
            let kind = match p.kind {
                CheckKind::Http | CheckKind::Https => ProbeKind::Http {
                    path: p.path.clone(),
                    host: p.host.clone(),
                    expect_status: p.expect_status.clone(),
                    expect_body: p.expect_body.clone(),
                    tls: (p.kind == CheckKind::Https).then(|| TlsSpec {
                        verify: p.tls_verify,
                        sni: p.sni.clone(),
                    }),
                    reuse: p.reuse_connection,
                },
                CheckKind::Tcp => ProbeKind::Tcp,
                CheckKind::None => ProbeKind::None,
            };
            let labels = Arc::new(TargetLabels {
                zone: c.zone.clone(),
                service: c.service.clone(),
                region: c.region.clone(),
                endpoint: c.addr.to_string(),
            });
            CheckTarget {
                key: labels.key(),
                labels,
                spec: ProbeSpec {
                    kind,
                    target: SocketAddr::new(c.addr, p.port),
                    timeout: p.timeout,
                },
                interval: p.interval,
                rise: p.rise,
                fall: p.fall,
                slot: c.slot,
            }
        })
        .collect()
}

/// Reads and validates everything for a reload (off the query path; blocking I/O).
pub fn prepare(store: &Store, path: &Path, now_unix: u64) -> Result<Snapshot, LoadError> {
    let current = store.load_full();
    build(path, now_unix, current.generation + 1, Some(&current))
}

/// What one reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The new snapshot is serving.
    Applied {
        /// Its generation.
        generation: u64,
        /// Settings that changed but take effect only after a restart.
        warnings: Vec<String>,
    },
    /// Nothing changed; the previous snapshot keeps serving.
    Rejected {
        /// Every problem found (`file:line: message`).
        problems: Vec<String>,
    },
}

/// The reload transaction: reads and validates every file off the query path, then moves the
/// health runner to the new snapshot, swaps it in, rebinds the listen addresses, and counts
/// and logs the outcome. On any problem nothing is touched.
pub async fn reload(
    path: &Path,
    store: &Store,
    runner: &mut HealthRunner,
    listeners: &mut Listeners,
    metrics: &Metrics,
) -> ReloadOutcome {
    let prepared = {
        let store = store.clone();
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || prepare(&store, &path, now_unix())).await
    };
    let snap = match prepared {
        Ok(Ok(snap)) => snap,
        Ok(Err(error)) => {
            let problems = error.problems();
            metrics.reload(false);
            for e in &problems {
                tracing::warn!(error = %e, "reload rejected; the old configuration keeps serving");
            }
            return ReloadOutcome::Rejected { problems };
        }
        Err(e) => {
            metrics.reload(false);
            tracing::error!(error = %render_chain(&e), "reload task failed");
            return ReloadOutcome::Rejected {
                problems: vec![format!("reload task failed: {e}")],
            };
        }
    };
    let old = store.load_full();
    let warnings = restart_warnings(&old.config, &snap.config);
    let summary = runner.update(check_targets(&snap.config), snap.health.clone());
    let generation = snap.generation;
    let listen = snap.config.server.listen.clone();
    store.store(Arc::new(snap));
    drop(old);
    listeners.rebind(&listen).await;
    release_free_memory();
    metrics.reload(true);
    for w in &warnings {
        tracing::warn!(warning = %w, "reload");
    }
    tracing::info!(
        generation,
        checks_kept = summary.kept,
        checks_started = summary.started,
        checks_stopped = summary.stopped,
        "reload applied"
    );
    ReloadOutcome::Applied {
        generation,
        warnings,
    }
}

/// Hands memory freed after parsing (the TOML trees, the previous snapshot) back to the OS, so
/// resident memory reflects the serving configuration, not the peak of loading it.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap pages; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
