//! Building snapshots and swapping them in (SPEC section 6): the reload transaction.
//!
//! ```text
//!  SIGHUP or POST /v1/reload ─► Serving::reload
//!    ─► prepare (blocking task): config::load (every file) ─► open GeoIP
//!       ─► Snapshot{generation+1}
//!    ─► health runner update (kept checks copy their state into the new table)
//!    ─► store.swap ─► DNS listeners rebound, admin listener moved, log format switched,
//!       pid file moved (what cannot be done becomes a warning) ─► Applied{warnings}
//!  any error in the files ─► Rejected{every file:line problem}; the old snapshot keeps serving
//!  either way ─► counted, logged, kept as the last ReloadReport (GET /v1/reload)
//! ```
//!
//! Everything is read and validated before the store is touched, so a query sees either the
//! old snapshot or the new one, never a mix.

pub mod files;
pub mod outcome;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use files::{load, open_geo, restart_warnings};
pub use outcome::{ReloadHandle, ReloadOutcome, ReloadReport, Trigger};

use crate::admin::{AdminContext, AdminServer};
use crate::config::Config;
use crate::config::model::CheckKind;
use crate::error::{LoadError, render_chain};
use crate::health::runner::{CheckTarget, HealthRunner, TargetLabels};
use crate::health::{ProbeKind, ProbeSpec, TlsSpec};
use crate::logging::LogControl;
use crate::metrics::Metrics;
use crate::server::listeners::Listeners;
use crate::state::{Snapshot, Store, now_unix, now_unix_ms};

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

/// Warnings for `[health] source_v4` / `source_v6` addresses this host cannot bind (not one of
/// its addresses): probes from them would fail, so the operator hears of it at start and on
/// reload. Binding a TCP socket to port 0 sends nothing.
pub fn source_warnings(cfg: &Config) -> Vec<String> {
    let sources = [
        ("source_v4", cfg.probe_sources.v4.map(std::net::IpAddr::V4)),
        ("source_v6", cfg.probe_sources.v6.map(std::net::IpAddr::V6)),
    ];
    sources
        .into_iter()
        .filter_map(|(key, ip)| {
            let ip = ip?;
            let bound = socket2::Socket::new(
                socket2::Domain::for_address(SocketAddr::new(ip, 0)),
                socket2::Type::STREAM,
                None,
            )
            .and_then(|s| s.bind(&SocketAddr::new(ip, 0).into()));
            bound.err().map(|e| {
                format!("[health] {key} {ip} cannot be bound ({e}): probes from it will fail")
            })
        })
        .collect()
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
                    source: cfg.probe_sources.for_target(c.addr),
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

/// The parts of a running daemon that a reload changes besides the snapshot: the health
/// runner, the DNS listeners, the admin listener, the log format and the pid file. The daemon
/// loop owns it and calls [`Serving::reload`] for SIGHUP and for `POST /v1/reload` alike.
#[derive(Debug)]
pub struct Serving {
    /// The main config file.
    pub path: PathBuf,
    /// The serving snapshot.
    pub store: Store,
    /// Process-wide metrics.
    pub metrics: Arc<Metrics>,
    /// The health checker.
    pub runner: HealthRunner,
    /// The DNS listeners.
    pub listeners: Listeners,
    /// The admin listener, when `[metrics] listen` is on.
    pub admin: Option<AdminServer>,
    /// What a new admin listener serves with.
    pub admin_context: AdminContext,
    /// The log output.
    pub log: LogControl,
    /// The pid file written at start (or by the last reload that moved it).
    pub pid_file: PathBuf,
    /// Where reports are recorded for `GET /v1/reload`.
    pub reloads: ReloadHandle,
    /// Reloads so far.
    pub seq: u64,
    /// Staged rollouts: a reload publishes its snapshot through them (same steps resume).
    pub rollouts: Arc<crate::rollout::runner::Rollouts>,
}

impl Serving {
    /// Runs one reload and records its report (served at `GET /v1/reload`).
    pub async fn reload(&mut self, trigger: Trigger) -> ReloadReport {
        self.seq += 1;
        let outcome = self.transaction().await;
        let finished_unix_ms = now_unix_ms();
        let report = ReloadReport {
            seq: self.seq,
            trigger,
            finished_at: crate::timefmt::rfc3339_ms(finished_unix_ms),
            finished_unix_ms,
            outcome,
        };
        self.reloads.record(report.clone());
        report
    }

    /// The reload transaction: reads and validates every file off the query path, then moves
    /// the health runner to the new snapshot, swaps it in, and applies the settings that live
    /// outside the snapshot (listeners, admin listener, log format, pid file); whatever of
    /// those cannot be applied becomes a warning. On any problem in the files nothing is
    /// touched.
    async fn transaction(&mut self) -> ReloadOutcome {
        let prepared = {
            let store = self.store.clone();
            let path = self.path.clone();
            tokio::task::spawn_blocking(move || prepare(&store, &path, now_unix())).await
        };
        let snap = match prepared {
            Ok(Ok(snap)) => snap,
            Ok(Err(error)) => return self.rejected(error.problems()),
            Err(e) => {
                tracing::error!(error = %render_chain(&e), "reload task failed");
                return self.rejected(vec![format!("reload task failed: {e}")]);
            }
        };
        let old = self.store.load_full();
        let mut warnings = restart_warnings(&old.config, &snap.config);
        warnings.extend(source_warnings(&snap.config));
        let config_warnings: Vec<String> = snap
            .config
            .warnings
            .iter()
            .map(|w| render_chain(w))
            .collect();
        let summary = self
            .runner
            .update(check_targets(&snap.config), snap.health.clone());
        let generation = snap.generation;
        let new = Arc::new(snap);
        // Published with the rollouts' live weights written in, under their lock.
        self.rollouts.publish(new.clone(), &self.store);

        for error in self.listeners.rebind(&new.config.server.listen).await {
            warnings.push(format!(
                "[server] listen: {}; the other addresses keep serving",
                render_chain(&error)
            ));
        }
        if new.config.metrics_listen != old.config.metrics_listen
            && let Some(w) = self.rebind_admin(new.config.metrics_listen).await
        {
            warnings.push(w);
        }
        if let Err(e) = self.log.set_format(new.config.log.format) {
            warnings.push(format!("[log] format: cannot switch: {e}"));
        }
        if new.config.server.pid_file != self.pid_file
            && let Some(w) = self.move_pid_file(&new.config.server.pid_file)
        {
            warnings.push(w);
        }
        drop(old);
        drop(new);
        release_free_memory();
        self.metrics.reload(true);
        for w in &warnings {
            tracing::warn!(warning = %w, "reload applied with a warning");
        }
        tracing::info!(
            generation,
            checks_kept = summary.kept,
            checks_started = summary.started,
            checks_stopped = summary.stopped,
            warnings = warnings.len(),
            "reload applied"
        );
        ReloadOutcome::Applied {
            generation,
            warnings,
            config_warnings,
        }
    }

    fn rejected(&self, problems: Vec<String>) -> ReloadOutcome {
        self.metrics.reload(false);
        for e in &problems {
            tracing::warn!(error = %e, "reload rejected; the old configuration keeps serving");
        }
        ReloadOutcome::Rejected {
            generation: self.store.load().generation,
            problems,
        }
    }

    /// Moves the admin listener to `addr` (`None`: off). Returns a warning when the new
    /// address cannot be bound; the old listener then keeps serving.
    async fn rebind_admin(&mut self, addr: Option<SocketAddr>) -> Option<String> {
        let Some(addr) = addr else {
            if let Some(old) = self.admin.take() {
                tracing::info!(addr = %old.addr, "admin listener closed ([metrics] listen is off)");
            }
            return None;
        };
        let mut result = AdminServer::start(addr, self.admin_context.clone()).await;
        if matches!(&result, Err(e) if e.kind() == std::io::ErrorKind::AddrInUse) {
            // The old listener may hold the port (127.0.0.1:9153 -> 0.0.0.0:9153): let go of
            // it, try again, and take it back if the new address still cannot be bound.
            if let Some(old) = self.admin.take() {
                let old_addr = old.addr;
                drop(old);
                result = AdminServer::start(addr, self.admin_context.clone()).await;
                if result.is_err() {
                    match AdminServer::start(old_addr, self.admin_context.clone()).await {
                        Ok(back) => self.admin = Some(back),
                        Err(e) => {
                            tracing::error!(addr = %old_addr, error = %render_chain(&e), "admin listener lost")
                        }
                    }
                }
            }
        }
        match result {
            Ok(server) => {
                tracing::info!(addr = %server.addr, "admin listening");
                self.admin = Some(server);
                None
            }
            Err(e) => Some(format!(
                "[metrics] listen {addr}: cannot listen: {}; the admin listener stays {}",
                render_chain(&e),
                self.admin
                    .as_ref()
                    .map_or_else(|| "off".to_string(), |a| format!("on {}", a.addr))
            )),
        }
    }

    /// Writes the pid file at its new place and removes the old one.
    fn move_pid_file(&mut self, to: &Path) -> Option<String> {
        if let Err(e) = write_pid_file(to) {
            return Some(format!(
                "[server] pid_file {}: cannot write: {}; the pid stays in {}",
                to.display(),
                render_chain(&e),
                self.pid_file.display()
            ));
        }
        let _ = std::fs::remove_file(&self.pid_file);
        self.pid_file = to.to_path_buf();
        None
    }
}

/// Writes this process's id to `path`.
pub fn write_pid_file(path: &Path) -> std::io::Result<()> {
    std::fs::write(path, format!("{}\n", std::process::id()))
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
