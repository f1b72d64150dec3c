//! Wiring: runs a command. `serve` starts the health runner, the admin listener and the DNS
//! listeners around one snapshot store, then waits for signals (SIGHUP: [`reload::reload`];
//! SIGTERM/SIGINT: shut down). The one-shot commands are in [`crate::commands`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::admin::AdminServer;
use crate::cli::Command;
use crate::commands;
use crate::config::{self, Config};
use crate::error::{AppError, render_chain};
use crate::health::Prober;
use crate::health::runner::{
    HealthHooks, HealthRunner, ProbeEvent, RunnerConfig, suggested_concurrency,
};
use crate::metrics::{Metrics, MetricsObserver};
use crate::reload;
use crate::server::ListenerShared;
use crate::server::listeners::Listeners;
use crate::state::{Snapshot, Store, now_unix};
use crate::steer::GeoLookup;

/// Runs a command.
pub fn run(command: Command) -> Result<ExitCode, AppError> {
    match command {
        Command::Serve { config } => serve(&config),
        Command::Check { config } => commands::check::run(&config),
        Command::Explain {
            name,
            qtype,
            client,
            config,
            server,
            json,
        } => commands::explain::run(&config, &name, &qtype, &client, server.as_deref(), json),
        Command::Reload { config } => commands::send_reload::run(&config),
        Command::Geoip { ip, config } => commands::geoip::run(&config, ip),
        Command::Keygen {
            zone,
            algorithm,
            zsk,
            publish_only,
            dir,
        } => commands::keygen::run(&zone, algorithm, zsk, publish_only, &dir),
    }
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
    let (cfg, geo) = reload::load(path, now_unix())?;
    init_logging(&cfg);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("steerdns-io")
        .build()
        .map_err(AppError::Runtime)?;
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
    let prober = Prober::new().map_err(AppError::Probes)?;
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
            let ctx = crate::admin::AdminContext {
                store: store.clone(),
                metrics: metrics.clone(),
            };
            let a = AdminServer::start(addr, ctx)
                .await
                .map_err(|source| AppError::Admin { addr, source })?;
            tracing::info!(addr = %a.addr, "admin listening (/metrics /healthz /v1/explain)");
            Some(a)
        }
        None => None,
    };

    let mut listeners = Listeners::new(workers, shared);
    for addr in &listen {
        listeners.open(*addr).await?;
    }
    if let Err(e) = std::fs::write(&pid_file, format!("{}\n", std::process::id())) {
        tracing::warn!(path = %pid_file.display(), error = %render_chain(&e), "cannot write pid file");
    }
    reload::release_free_memory();
    tracing::info!(config = %path.display(), generation = 1, "serving");

    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).map_err(AppError::Signal)?;
    let mut term = signal(SignalKind::terminate()).map_err(AppError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(AppError::Signal)?;
    loop {
        tokio::select! {
            _ = hup.recv() => {
                reload::reload(&path, &store, &mut runner, &mut listeners, &metrics).await;
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
