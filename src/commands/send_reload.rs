//! `steerdns reload`: the client side (SPEC section 6). Asks the daemon over its admin
//! listener (`POST /v1/reload`) and prints the outcome it answers; exit 0 applied, 3 applied
//! with warnings, 1 rejected, 2 no daemon reachable.
//!
//! ```text
//!  config (main file only) ─► [metrics] listen, token_file, [server] pid_file
//!  POST /v1/reload ── answered ─────────────────────────────► print the report, exit code
//!        │ cannot connect (and no --server given)
//!        ▼
//!  pid file ─► verified steerdns daemon? ── no ─► exit 2, nothing signalled
//!        │ yes
//!        ▼
//!  SIGHUP ─► GET /v1/reload until a report newer than the signal ─► print, exit code
//! ```
//!
//! The fallback covers a daemon whose admin listener is moving (`[metrics] listen` changed in
//! the file: the reload binds the new address, where the outcome is then read).

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::daemon_pid;
use super::output;
use super::remote::{self, AdminClient};
use crate::config;
use crate::error::{AppError, LoadError, render_chain};
use crate::reload::outcome::ReloadReport;
use crate::state::now_unix_ms;

/// How long a reload may take (reading every zone and the GeoIP database).
const RELOAD_TIMEOUT: Duration = Duration::from_secs(120);
/// How long to wait for the outcome of a signalled reload.
const SIGNALLED_WAIT: Duration = Duration::from_secs(30);

/// Asks the daemon of `path` (or the admin listener `server`) for a reload and prints what it
/// did.
pub fn run(path: &Path, server: Option<&str>) -> Result<ExitCode, AppError> {
    let contact = config::compile::daemon_contact_of(path).map_err(|e| {
        if e.cause.is_some() && e.line.is_none() {
            AppError::Load(LoadError::MainUnreadable(e))
        } else {
            AppError::from(e)
        }
    })?;
    let token = remote::token_from(contact.token_file.as_deref());
    let base = match server {
        Some(s) => Some(remote::admin_url(s)?),
        None => contact
            .admin
            .map(|a| remote::admin_url(&a.to_string()))
            .transpose()?,
    };
    let client = match &base {
        Some(base) => Some(AdminClient::new(base.clone(), token, RELOAD_TIMEOUT)?),
        None => None,
    };
    if let Some(client) = &client {
        match client.post("/v1/reload") {
            Ok(answer) => return finish(&answer.url.clone(), &answer.success()?),
            // Asked for that server: do not go looking for another daemon.
            Err(e @ AppError::Unreachable { .. }) if server.is_some() => return Err(e),
            Err(AppError::Unreachable { url, source }) => {
                output::eprintln(&format!(
                    "steerdns: {url}: {}; signalling the daemon named in {} instead",
                    render_chain(&source),
                    contact.pid_file.display()
                ));
            }
            Err(e) => return Err(e),
        }
    }

    let pid = daemon_pid::verified_pid(&contact.pid_file, Path::new("/proc"))?;
    let signalled_ms = now_unix_ms();
    daemon_pid::hang_up(pid, &contact.pid_file)?;
    let Some(client) = client else {
        return Err(AppError::OutcomeUnknown { pid });
    };
    let url = client.url("/v1/reload");
    let started = Instant::now();
    while started.elapsed() < SIGNALLED_WAIT {
        std::thread::sleep(Duration::from_millis(100));
        let Ok(answer) = client.get("/v1/reload") else {
            continue;
        };
        let Ok(body) = answer.success() else { continue };
        let newer = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.get("finished_unix_ms")
                    .and_then(serde_json::Value::as_u64)
            })
            .is_some_and(|ms| ms >= signalled_ms);
        if newer {
            return finish(&url, &body);
        }
    }
    Err(AppError::NoOutcome {
        pid,
        url,
        seconds: SIGNALLED_WAIT.as_secs(),
    })
}

/// Prints a report (applied to stdout, rejected to stderr) and returns its exit code.
fn finish(url: &str, body: &str) -> Result<ExitCode, AppError> {
    let report: ReloadReport =
        serde_json::from_str(body).map_err(|source| AppError::UnexpectedJson {
            url: url.to_string(),
            source,
        })?;
    let text = report.outcome.render_text();
    let code = report.outcome.exit_code();
    if code == 1 {
        output::eprintln(text.trim_end());
    } else {
        output::print(&text)?;
    }
    Ok(ExitCode::from(code))
}
