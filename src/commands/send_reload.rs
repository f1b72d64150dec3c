//! `steerdns reload`: the client side. Signals the daemon and reports what it did, read from
//! the daemon's reload counters.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use crate::config;
use crate::error::{AppError, render_chain};
use crate::state::now_unix;

/// Sends SIGHUP to the daemon of `path` (through its pid file) and, when its admin listener
/// is on, waits for the outcome and prints it.
pub fn run(path: &Path) -> Result<ExitCode, AppError> {
    let pid_file = config::compile::pid_file_of(path)?;
    let text = std::fs::read_to_string(&pid_file).map_err(|source| AppError::PidFile {
        path: pid_file.clone(),
        source,
    })?;
    let pid: i32 = text.trim().parse().map_err(|source| AppError::NotAPid {
        path: pid_file.clone(),
        source,
    })?;
    // The outcome is read from the daemon's own counters, when its admin listener is on.
    let admin = config::compile::metrics_listen_of(path).ok().flatten();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(AppError::Runtime)?;
    let before = admin.and_then(|a| runtime.block_on(reload_counts(a)));
    // SAFETY: kill(2) with a plain pid and signal number has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid, libc::SIGHUP) };
    if rc != 0 {
        return Err(AppError::Kill {
            pid,
            path: pid_file,
            source: std::io::Error::last_os_error(),
        });
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
                    eprintln!("{}", render_chain(e));
                }
            }
            return Ok(ExitCode::from(1));
        }
    }
    Err(AppError::NoOutcome { pid, admin })
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
