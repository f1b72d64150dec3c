//! Wiring: runs a command. `serve` starts the health runner, the peer poller and agreement
//! (`[peers]`), the admin listener and the DNS listeners around one snapshot store, then waits for reload triggers (SIGHUP and
//! `POST /v1/reload`: [`Serving::reload`]) and for SIGTERM/SIGINT (shut down). The one-shot
//! commands are in [`crate::commands`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::admin::{AdminContext, AdminServer};
use crate::cli::Command;
use crate::commands;
use crate::config::Config;
use crate::error::{AppError, render_chain};
use crate::health::Prober;
use crate::health::runner::{
    FlipEvent, HealthHooks, HealthRunner, HealthThread, ProbeEvent, RunnerConfig,
    suggested_concurrency,
};
use crate::logging::LogControl;
use crate::metrics::{Metrics, MetricsObserver};
use crate::peers::{Agreement, Fleet};
use crate::reload::{self, ReloadHandle, ReloadOutcome, Serving, Trigger};
use crate::rollout::runner::{Gates, Rollouts, SystemClock};
use crate::server::ListenerShared;
use crate::server::listeners::Listeners;
use crate::state::{Snapshot, Store, now_unix, now_unix_ms};
use crate::status::{self, StatusBoard};
use crate::steer::GeoLookup;

/// How many `POST /v1/reload` requests may wait while a reload runs.
const RELOAD_QUEUE: usize = 8;

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
        Command::Reload { config, server } => {
            commands::send_reload::run(&config, server.as_deref())
        }
        Command::Plan {
            config,
            against,
            server,
            json,
        } => commands::plan::run(&config, against.as_deref(), server.as_deref(), json),
        Command::Rollout {
            action,
            target,
            config,
            server,
            json,
        } => commands::rollout::run(&config, action, target.as_deref(), server.as_deref(), json),
        Command::Completions { shell } => commands::docs::completions(shell),
        Command::Man => commands::docs::man(),
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

fn serve(path: &Path) -> Result<ExitCode, AppError> {
    let (cfg, geo) = reload::load(path, now_unix())?;
    let log = LogControl::init(cfg.log.format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("steerdns-io")
        .build()
        .map_err(AppError::Runtime)?;
    runtime.block_on(serve_async(path.to_path_buf(), cfg, geo, log))
}

/// How often the DNSSEC signature caches are checked for signatures due for their next
/// window.
const SIGNATURE_REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Most signatures made ahead per check: with 7-day signatures the last eighth of a window
/// is over five hours, room for more than half a million.
const SIGNATURE_REFRESH_BUDGET: usize = 2000;

async fn serve_async(
    path: PathBuf,
    cfg: Config,
    geo: Option<Arc<dyn GeoLookup>>,
    log: LogControl,
) -> Result<ExitCode, AppError> {
    // Signals first: a SIGHUP that arrives once the pid file names this process must find
    // the handler in place, not kill the process (its default action).
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).map_err(AppError::Signal)?;
    let mut term = signal(SignalKind::terminate()).map_err(AppError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(AppError::Signal)?;
    let pid_file = cfg.server.pid_file.clone();
    let listen = cfg.server.listen.clone();
    let workers = match cfg.server.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let state_file = cfg.health_state_file.clone();
    for w in reload::source_warnings(&cfg) {
        tracing::warn!(warning = %w, "health");
    }
    let snapshot = Snapshot::new(1, cfg, geo, now_unix(), None);
    let metrics = Arc::new(Metrics::default());
    let board = Arc::new(StatusBoard::new(now_unix_ms()));
    // Health first: the runner fills the table from the state file before anything answers.
    let targets = reload::check_targets(&snapshot.config);
    let prober = Prober::new().map_err(AppError::Probes)?;
    let probe_metrics = metrics.clone();
    let (probe_board, flip_board) = (board.clone(), board.clone());
    let fleet = Arc::new(Fleet::new());
    let flip_fleet = fleet.clone();
    let hooks = HealthHooks {
        // A local flip may change the agreed verdict: recompute at once (a no-op without
        // [peers], where the runner's write already is the answered verdict).
        on_flip: Some(Arc::new(move |e: &FlipEvent| {
            flip_board.on_flip(e);
            flip_fleet.wake()
        })),
        on_probe: Some(Arc::new(move |e: &ProbeEvent<'_>| {
            probe_metrics.health_check(
                &e.labels.zone,
                &e.labels.service,
                &e.labels.region,
                e.outcome.passed,
            );
            probe_board.on_probe(e);
        })),
    };
    // The probes run on a thread and event loop of their own (HealthThread: one wake-up per
    // batch of probes, none on the workers that serve TCP and the admin API). Dropped at the
    // end of this function, after the runner's shutdown.
    let health_thread = HealthThread::start().map_err(AppError::Runtime)?;
    let runner_config = RunnerConfig {
        max_concurrency: suggested_concurrency(&targets).max(512),
        state_file: Some(state_file),
        runtime: Some(health_thread.handle()),
        ..RunnerConfig::default()
    };
    let runner = HealthRunner::start(
        targets,
        snapshot.health.clone(),
        Arc::new(prober),
        hooks,
        runner_config,
    );
    // Rollouts resume from the state file before anything answers.
    let rollout_board = board.clone();
    let rollouts = Arc::new(
        Rollouts::new(Arc::new(SystemClock), metrics.clone()).with_hook(Arc::new(
            move |e: &crate::rollout::runner::TransitionEvent<'_>| {
                use crate::rollout::engine::Event;
                let warn = matches!(e.event, Event::Rollback | Event::Abort | Event::Pause);
                let mut message = format!(
                    "{} to step {} ({}% of its tier)",
                    e.event.as_str(),
                    e.step,
                    crate::rollout::spec::round_percent(e.share)
                );
                if let Some(r) = e.reason {
                    message.push_str(": ");
                    message.push_str(r);
                }
                rollout_board.on_rollout(e.zone, e.service, e.region, warn, message);
            },
        )),
    );
    rollouts.start(&snapshot);
    let store: Store = Arc::new(ArcSwap::from_pointee(snapshot));
    let gates: Arc<dyn crate::rollout::runner::GateEvaluator> = Arc::new(Gates {
        prometheus: crate::rollout::prometheus::gates(),
    });
    let rollout_task = tokio::spawn(rollouts.clone().run(store.clone(), gates));
    let sampler = tokio::spawn(status::run_sampler(
        board.clone(),
        store.clone(),
        fleet.clone(),
    ));
    let agreement =
        tokio::spawn(Agreement::new(fleet.clone(), store.clone(), runner.state_sink()).run());
    let poller = tokio::spawn(crate::peers::poller::run(fleet.clone(), store.clone()));
    let observer = Arc::new(MetricsObserver {
        metrics: metrics.clone(),
    });
    let shared = ListenerShared {
        store: store.clone(),
        observer,
        rrl: Arc::default(),
    };
    let (reloads, mut reload_requests) = ReloadHandle::new(RELOAD_QUEUE);
    let admin_context = AdminContext {
        store: store.clone(),
        metrics: metrics.clone(),
        reloads: Some(reloads.clone()),
        status: Some(board.clone()),
        fleet: fleet.clone(),
        rollouts: Some(rollouts.clone()),
    };
    let admin_addr = store.load().config.metrics_listen;
    let admin = match admin_addr {
        Some(addr) => {
            let a = AdminServer::start(addr, admin_context.clone())
                .await
                .map_err(|source| AppError::Admin { addr, source })?;
            tracing::info!(addr = %a.addr, "admin listening (/metrics /healthz /v1/*)");
            Some(a)
        }
        None => None,
    };

    let mut listeners = Listeners::new(workers, shared);
    for addr in &listen {
        listeners.open(*addr).await?;
    }
    if let Err(e) = reload::write_pid_file(&pid_file) {
        tracing::warn!(path = %pid_file.display(), error = %render_chain(&e), "cannot write pid file");
    }
    reload::release_free_memory();
    tracing::info!(config = %path.display(), generation = 1, "serving");

    let mut serving = Serving {
        path,
        store,
        metrics,
        runner,
        listeners,
        admin,
        admin_context,
        log,
        pid_file,
        reloads,
        seq: 0,
        rollouts,
    };
    // DNSSEC signatures of the next window, made ahead during the last eighth of the current
    // one, off the query path (a thread of the blocking pool, so a few thousand signatures
    // never hold up the runtime).
    let mut refresh = tokio::time::interval(SIGNATURE_REFRESH_EVERY);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = hup.recv() => {
                let report = serving.reload(Trigger::Sighup).await;
                record_reload(&board, &report.outcome);
                fleet.wake();
            }
            _ = refresh.tick() => {
                let store = serving.store.clone();
                tokio::task::spawn_blocking(move || {
                    let now = now_unix() as u32;
                    let made = store.load().signatures.refresh_ahead(now, SIGNATURE_REFRESH_BUDGET);
                    if made > 0 {
                        tracing::debug!(made, "DNSSEC signatures made ahead of their window");
                    }
                });
            }
            Some(reply) = reload_requests.recv() => {
                let report = serving.reload(Trigger::Api).await;
                record_reload(&board, &report.outcome);
                fleet.wake();
                // The client may have gone; the report is kept for GET /v1/reload anyway.
                let _ = reply.send(report);
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    tracing::info!("shutting down");
    sampler.abort();
    rollout_task.abort();
    drop(serving.admin.take());
    serving.listeners.close_all();
    poller.abort();
    agreement.abort();
    serving.runner.shutdown().await;
    drop(health_thread);
    let _ = std::fs::remove_file(&serving.pid_file);
    Ok(ExitCode::SUCCESS)
}

/// Puts a reload's outcome on the status page's event list.
fn record_reload(board: &StatusBoard, outcome: &ReloadOutcome) {
    match outcome {
        ReloadOutcome::Applied {
            generation,
            warnings,
            ..
        } => board.on_reload(Some(*generation), warnings),
        ReloadOutcome::Rejected { problems, .. } => board.on_reload(None, problems),
    }
}
