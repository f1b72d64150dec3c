//! `steerdns explain`: the decision trace for a name and a client, offline from the files or
//! live from a daemon's `/v1/explain`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::output;
use super::remote::{self, AdminClient};
use crate::error::AppError;
use crate::reload;
use crate::state::{Snapshot, now_unix};
use crate::steer::ClientAddr;

/// How long `--server` may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Explains the decision for `name` offline (health as last saved), or asks a running daemon
/// with `server`.
pub fn run(
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
        other_type => return Err(AppError::QueryType(other_type.to_string())),
    };
    let client: ClientAddr = client.parse()?;
    if let Some(server) = server {
        return explain_remote(path, server, name, qtype, &client, json);
    }
    let (cfg, geo) = reload::load(path, now_unix())?;
    let mut snap = Snapshot::new(0, cfg, geo, now_unix(), None);
    // When a region began draining is known only to the daemon (--server).
    snap.drain_since = crate::drain::DrainTimes::default();
    // Health as the daemon last saved it, when it has run on this machine.
    // The answered verdicts: agreed ones where the daemon saved them (`[peers]`).
    let saved =
        crate::health::persist::try_load_file(&snap.config.health_state_file).unwrap_or_default();
    for check in &snap.config.checks {
        if let Some(status) = saved.answered(&check.key()) {
            snap.health.set(check.slot, status);
        }
    }
    // Rollouts at the step the daemon last saved (a fresh start without a state file).
    crate::rollout::runner::apply_saved(
        &snap.config,
        &snap.health,
        &crate::rollout::runner::load_saved(&snap.config.health_state_file),
    );
    let trace = crate::explain::explain_name(&snap, name, want_v6, &client)?;
    if json {
        output::println(&serde_json::to_string_pretty(&trace).map_err(AppError::Json)?)?;
    } else {
        output::print(&trace.render_text())?;
        if saved.endpoints.is_empty() {
            output::println(
                "(health: offline view, every endpoint up; use --server for live health)",
            )?;
        } else {
            output::println(&format!(
                "(health: as last saved in {}; use --server for live health)",
                snap.config.health_state_file.display()
            ))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn explain_remote(
    path: &Path,
    server: &str,
    name: &str,
    qtype: &str,
    client: &ClientAddr,
    json: bool,
) -> Result<ExitCode, AppError> {
    let base = remote::admin_url(server)?;
    // The token of the config's admin listener, when the config can be read and sets one.
    let token_file = crate::config::compile::daemon_contact_of(path)
        .ok()
        .and_then(|c| c.token_file);
    let http = AdminClient::new(base, remote::token_from(token_file.as_deref()), TIMEOUT)?;
    let client_text = client.to_string();
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("name", name)
        .append_pair("type", qtype)
        .append_pair("client", &client_text)
        .finish();
    let answer = http.get(&format!("/v1/explain?{query}"))?;
    let url = answer.url.clone();
    let body = answer.success()?;
    if json {
        output::print(&body)?;
    } else {
        let trace: crate::steer::trace::Trace = serde_json::from_str(&body)
            .map_err(|source| AppError::UnexpectedJson { url, source })?;
        output::print(&trace.render_text())?;
        output::println(&format!("(health: live, from {server})"))?;
    }
    Ok(ExitCode::SUCCESS)
}
