//! Start-up, the serve loop, signals, and the one-shot commands. The binary's edge: errors
//! here carry context for a person and map to exit codes.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::admin::AdminServer;
use crate::cli::Command;
use crate::config::{self, Config};
use crate::health::Prober;
use crate::health::runner::{
    HealthHooks, HealthRunner, ProbeEvent, RunnerConfig, suggested_concurrency,
};
use crate::metrics::{Metrics, MetricsObserver};
use crate::reload;
use crate::server::ListenerShared;
use crate::server::tcp::TcpListener;
use crate::server::udp::UdpListener;
use crate::state::{Snapshot, Store};
use crate::steer::{ClientAddr, GeoLookup};

/// Errors that end a command.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The configuration has errors (each printed already).
    #[error("configuration has {0} error(s)")]
    Config(usize),
    /// Something else, with context.
    #[error("{0}")]
    Other(String),
}

fn other(context: impl std::fmt::Display, e: impl std::fmt::Display) -> AppError {
    AppError::Other(format!("{context}: {e}"))
}

/// Seconds since the Unix epoch (the one clock read at the edge for `serial = "auto"` and
/// explain's drain timing).
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs a command.
pub fn run(command: Command) -> Result<ExitCode, AppError> {
    match command {
        Command::Serve { config } => serve(&config),
        Command::Check { config } => check(&config),
        Command::Explain {
            name,
            qtype,
            client,
            config,
            server,
            json,
        } => explain(&config, &name, &qtype, &client, server.as_deref(), json),
        Command::Reload { config } => send_reload(&config),
        Command::Geoip { ip, config } => geoip(&config, ip),
    }
}

/// Loads config and GeoIP, printing every config error to stderr.
fn load_everything(path: &Path) -> Result<(Config, Option<Arc<dyn GeoLookup>>), AppError> {
    let cfg = match config::load(path, now_unix()) {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            return Err(AppError::Config(errors.0.len()));
        }
    };
    let geo = reload::open_geo(&cfg).map_err(|e| {
        eprintln!("{e}");
        AppError::Config(1)
    })?;
    Ok((cfg, geo))
}

fn check(path: &Path) -> Result<ExitCode, AppError> {
    let (cfg, _) = load_everything(path)?;
    let services: usize = cfg.zones.iter().map(|z| z.services.len()).sum();
    println!(
        "{}: ok: {} zone(s), {} service(s), {} checked endpoint(s)",
        path.display(),
        cfg.zones.len(),
        services,
        cfg.checks.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn init_logging(cfg: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("STEERDNS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match cfg.log.format {
        config::schema::LogFormat::Json => builder.json().try_init(),
        config::schema::LogFormat::Text => builder.try_init(),
    };
}

fn serve(path: &Path) -> Result<ExitCode, AppError> {
    let (cfg, geo) = load_everything(path)?;
    init_logging(&cfg);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("steerdns-io")
        .build()
        .map_err(|e| other("cannot start the runtime", e))?;
    runtime.block_on(serve_async(path.to_path_buf(), cfg, geo))
}

async fn serve_async(
    path: PathBuf,
    cfg: Config,
    geo: Option<Arc<dyn GeoLookup>>,
) -> Result<ExitCode, AppError> {
    let pid_file = cfg.server.pid_file.clone();
    let listen = cfg.server.listen.clone();
    let workers = match cfg.server.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let state_file = cfg.health_state_file.clone();
    let snapshot = Snapshot::new(1, cfg, geo, now_unix(), None);
    let metrics = Arc::new(Metrics::default());
    // Health first: the runner fills the table from the state file before anything answers.
    let targets = reload::check_targets(&snapshot.config);
    let prober = Prober::new().map_err(|e| other("cannot set up health probes", e))?;
    let probe_metrics = metrics.clone();
    let hooks = HealthHooks {
        on_flip: None,
        on_probe: Some(Arc::new(move |e: &ProbeEvent<'_>| {
            probe_metrics.health_check(
                &e.labels.zone,
                &e.labels.service,
                &e.labels.region,
                e.outcome.passed,
            );
        })),
    };
    let runner_config = RunnerConfig {
        max_concurrency: suggested_concurrency(&targets).max(512),
        state_file: Some(state_file),
        ..RunnerConfig::default()
    };
    let mut runner = HealthRunner::start(
        targets,
        snapshot.health.clone(),
        Arc::new(prober),
        hooks,
        runner_config,
    );
    let store: Store = Arc::new(ArcSwap::from_pointee(snapshot));
    let observer = Arc::new(MetricsObserver {
        metrics: metrics.clone(),
    });
    let shared = ListenerShared {
        store: store.clone(),
        observer,
        rrl: Arc::default(),
    };
    let admin_addr = store.load().config.metrics_listen;
    let _admin = match admin_addr {
        Some(addr) => {
            let a = AdminServer::start(addr, store.clone(), metrics.clone())
                .await
                .map_err(|e| other(format!("cannot listen on admin/metrics {addr}"), e))?;
            tracing::info!(addr = %a.addr, "admin listening (/metrics /healthz /v1/explain)");
            Some(a)
        }
        None => None,
    };

    let mut listeners = Listeners {
        workers,
        shared: shared.clone(),
        by_addr: Vec::new(),
    };
    for addr in &listen {
        listeners.open(*addr).await?;
    }
    if let Err(e) = std::fs::write(&pid_file, format!("{}\n", std::process::id())) {
        tracing::warn!(path = %pid_file.display(), error = %e, "cannot write pid file");
    }
    release_free_memory();
    tracing::info!(config = %path.display(), generation = 1, "serving");

    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).map_err(|e| other("signal", e))?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| other("signal", e))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| other("signal", e))?;
    loop {
        tokio::select! {
            _ = hup.recv() => {
                let prepared = {
                    let store = store.clone();
                    let path = path.clone();
                    tokio::task::spawn_blocking(move || reload::prepare(&store, &path, now_unix()))
                        .await
                };
                match prepared {
                    Ok(Ok(snap)) => {
                        let old = store.load_full();
                        let warnings = reload::restart_warnings(&old.config, &snap.config);
                        let summary = runner.update(reload::check_targets(&snap.config), snap.health.clone());
                        let generation = snap.generation;
                        let listen = snap.config.server.listen.clone();
                        store.store(Arc::new(snap));
                        drop(old);
                        listeners.rebind(&listen).await;
                        release_free_memory();
                        metrics.reload(true);
                        for w in warnings {
                            tracing::warn!(warning = %w, "reload");
                        }
                        tracing::info!(
                            generation,
                            checks_kept = summary.kept,
                            checks_started = summary.started,
                            checks_stopped = summary.stopped,
                            "reload applied"
                        );
                    }
                    Ok(Err(errors)) => {
                        metrics.reload(false);
                        for e in &errors {
                            tracing::warn!(error = %e, "reload rejected; the old configuration keeps serving");
                        }
                    }
                    Err(e) => {
                        metrics.reload(false);
                        tracing::error!(error = %e, "reload task failed");
                    }
                }
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    tracing::info!("shutting down");
    listeners.close_all();
    runner.shutdown().await;
    let _ = std::fs::remove_file(&pid_file);
    Ok(ExitCode::SUCCESS)
}

/// Hands memory freed after parsing (the TOML trees, the previous snapshot) back to the OS, so
/// resident memory reflects the serving configuration, not the peak of loading it.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap pages; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The UDP and TCP listeners of every `[server] listen` address.
struct Listeners {
    workers: usize,
    shared: ListenerShared,
    by_addr: Vec<(SocketAddr, UdpListener, TcpListener)>,
}

impl Listeners {
    /// Binds UDP and TCP on `addr`.
    async fn open(&mut self, addr: SocketAddr) -> Result<(), AppError> {
        let u = UdpListener::start(addr, self.workers, self.shared.clone())
            .map_err(|e| other(format!("cannot listen on udp {addr}"), e))?;
        let t = TcpListener::start(addr, self.shared.clone())
            .await
            .map_err(|e| other(format!("cannot listen on tcp {addr}"), e))?;
        tracing::info!(udp = %u.addr, tcp = %t.addr, workers = self.workers, "listening");
        self.by_addr.push((addr, u, t));
        Ok(())
    }

    /// After a reload: closes addresses no longer listed and opens new ones; the others are
    /// untouched, so their queries and connections are not disturbed.
    async fn rebind(&mut self, wanted: &[SocketAddr]) {
        let (keep, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut self.by_addr)
            .into_iter()
            .partition(|(a, _, _)| wanted.contains(a));
        self.by_addr = keep;
        for (addr, u, t) in gone {
            t.shutdown();
            u.shutdown();
            tracing::info!(%addr, "stopped listening (removed from [server] listen)");
        }
        for addr in wanted {
            if self.by_addr.iter().any(|(a, _, _)| a == addr) {
                continue;
            }
            if let Err(e) = self.open(*addr).await {
                tracing::error!(error = %e, "new listen address could not be bound; the others keep serving");
            }
        }
    }

    fn close_all(&mut self) {
        for (_, u, t) in self.by_addr.drain(..) {
            t.shutdown();
            u.shutdown();
        }
    }
}

fn explain(
    path: &Path,
    name: &str,
    qtype: &str,
    client: &str,
    server: Option<&str>,
    json: bool,
) -> Result<ExitCode, AppError> {
    let want_v6 = match qtype.to_ascii_uppercase().as_str() {
        "A" => false,
        "AAAA" => true,
        other_type => {
            return Err(AppError::Other(format!(
                "-t {other_type}: explain handles A and AAAA"
            )));
        }
    };
    let client: ClientAddr = client
        .parse()
        .map_err(|e: crate::error::ClientAddrError| AppError::Other(e.to_string()))?;
    if let Some(server) = server {
        return explain_remote(server, name, qtype, &client, json);
    }
    let (cfg, geo) = load_everything(path)?;
    let snap = Snapshot::new(0, cfg, geo, now_unix(), None);
    // Health as the daemon last saved it, when it has run on this machine.
    let saved =
        crate::health::persist::try_load(&snap.config.health_state_file).unwrap_or_default();
    for check in &snap.config.checks {
        if let Some(status) = saved.get(&check.key()) {
            snap.health.set(check.slot, *status);
        }
    }
    let trace =
        crate::explain::explain_name(&snap, name, want_v6, &client).map_err(AppError::Other)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&trace).map_err(|e| other("json", e))?
        );
    } else {
        print!("{}", trace.render_text());
        if saved.is_empty() {
            println!("(health: offline view, every endpoint up; use --server for live health)");
        } else {
            println!(
                "(health: as last saved in {}; use --server for live health)",
                snap.config.health_state_file.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn explain_remote(
    server: &str,
    name: &str,
    qtype: &str,
    client: &ClientAddr,
    json: bool,
) -> Result<ExitCode, AppError> {
    let client_text = client.to_string();
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("name", name)
        .append_pair("type", qtype)
        .append_pair("client", &client_text)
        .finish();
    let url = format!("http://{server}/v1/explain?{query}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| other("cannot start the runtime", e))?;
    let (status, body) = runtime.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| other("http client", e))?;
        let resp = http
            .get(&url)
            .send()
            .await
            .map_err(|e| other(format!("cannot reach {url}"), e))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|e| other(format!("reading {url}"), e))?;
        Ok::<_, AppError>((status, body))
    })?;
    if !status.is_success() {
        return Err(AppError::Other(format!("{url}: {status}: {}", body.trim())));
    }
    if json {
        print!("{body}");
    } else {
        let trace: crate::steer::trace::Trace = serde_json::from_str(&body)
            .map_err(|e| other(format!("{url} returned unexpected JSON"), e))?;
        print!("{}", trace.render_text());
        println!("(health: live, from {server})");
    }
    Ok(ExitCode::SUCCESS)
}

fn send_reload(path: &Path) -> Result<ExitCode, AppError> {
    let pid_file = config::compile::pid_file_of(path).map_err(|e| {
        eprintln!("{e}");
        AppError::Config(1)
    })?;
    let text = std::fs::read_to_string(&pid_file)
        .map_err(|e| other(format!("cannot read pid file {}", pid_file.display()), e))?;
    let pid: i32 = text.trim().parse().map_err(|e| {
        other(
            format!("pid file {} does not hold a pid", pid_file.display()),
            e,
        )
    })?;
    // The outcome is read from the daemon's own counters, when its admin listener is on.
    let admin = config::compile::metrics_listen_of(path).ok().flatten();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| other("cannot start the runtime", e))?;
    let before = admin.and_then(|a| runtime.block_on(reload_counts(a)));
    // SAFETY: kill(2) with a plain pid and signal number has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid, libc::SIGHUP) };
    if rc != 0 {
        return Err(other(
            format!("cannot signal pid {pid} (from {})", pid_file.display()),
            std::io::Error::last_os_error(),
        ));
    }
    let (Some(admin), Some(before)) = (admin, before) else {
        println!("sent SIGHUP to steerdns (pid {pid}); the daemon logs the outcome");
        return Ok(ExitCode::SUCCESS);
    };
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let Some(now) = runtime.block_on(reload_counts(admin)) else {
            continue;
        };
        if now.ok > before.ok {
            println!("reload applied: generation {} (pid {pid})", now.generation);
            return Ok(ExitCode::SUCCESS);
        }
        if now.error > before.error {
            eprintln!("reload rejected; the previous configuration keeps serving. Problems:");
            // The same checks the daemon ran, so the operator sees every file:line here too.
            if let Err(errors) = config::load(path, now_unix()) {
                for e in &errors.0 {
                    eprintln!("{e}");
                }
            }
            return Ok(ExitCode::from(1));
        }
    }
    Err(AppError::Other(format!(
        "sent SIGHUP to pid {pid}, but {admin} reported no reload outcome within 10 s"
    )))
}

/// Reload counters and generation, read from a daemon's `/metrics`.
#[derive(Debug, Clone, Copy)]
struct ReloadCounts {
    ok: u64,
    error: u64,
    generation: u64,
}

async fn reload_counts(admin: SocketAddr) -> Option<ReloadCounts> {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .build()
        .ok()?;
    let text = http
        .get(format!("http://{admin}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let value = |series: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(series)
                    .and_then(|v| v.trim().parse::<f64>().ok())
            })
            .map(|v| v as u64)
    };
    Some(ReloadCounts {
        ok: value("steerdns_reloads_total{result=\"ok\"}")?,
        error: value("steerdns_reloads_total{result=\"error\"}")?,
        generation: value("steerdns_config_generation")?,
    })
}

fn geoip(path: &Path, ip: IpAddr) -> Result<ExitCode, AppError> {
    // Only the main file is needed; a broken zone must not stop this lookup.
    let db_path = config::compile::geoip_path_of(path).map_err(|e| {
        eprintln!("{e}");
        AppError::Config(1)
    })?;
    let Some(db_path) = db_path else {
        return Err(AppError::Other(format!(
            "{}: [geoip] database is not set",
            path.display()
        )));
    };
    let db = crate::geo::GeoDb::open(&db_path).map_err(|e| AppError::Other(e.to_string()))?;
    print!("{}", db.describe(ip));
    Ok(ExitCode::SUCCESS)
}
