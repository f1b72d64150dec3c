//! `steerdns explain`: the decision trace for a name and a client, offline from the files or
//! live from a daemon's `/v1/explain`.

use std::path::Path;
use std::process::ExitCode;

use crate::error::AppError;
use crate::reload;
use crate::state::{Snapshot, now_unix};
use crate::steer::ClientAddr;

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
        return explain_remote(server, name, qtype, &client, json);
    }
    let (cfg, geo) = reload::load(path, now_unix())?;
    let snap = Snapshot::new(0, cfg, geo, now_unix(), None);
    // Health as the daemon last saved it, when it has run on this machine.
    let saved =
        crate::health::persist::try_load(&snap.config.health_state_file).unwrap_or_default();
    for check in &snap.config.checks {
        if let Some(status) = saved.get(&check.key()) {
            snap.health.set(check.slot, *status);
        }
    }
    let trace = crate::explain::explain_name(&snap, name, want_v6, &client)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&trace).map_err(AppError::Json)?
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
        .map_err(AppError::Runtime)?;
    let (status, body) = runtime.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(AppError::HttpClient)?;
        let resp = http
            .get(&url)
            .send()
            .await
            .map_err(|source| AppError::Unreachable {
                url: url.clone(),
                source,
            })?;
        let status = resp.status();
        let body = resp.text().await.map_err(|source| AppError::Unreadable {
            url: url.clone(),
            source,
        })?;
        Ok::<_, AppError>((status, body))
    })?;
    if !status.is_success() {
        return Err(AppError::Status {
            url,
            status: status.to_string(),
            body: body.trim().to_string(),
        });
    }
    if json {
        print!("{body}");
    } else {
        let trace: crate::steer::trace::Trace =
            serde_json::from_str(&body).map_err(|source| AppError::UnexpectedJson {
                url: url.clone(),
                source,
            })?;
        print!("{}", trace.render_text());
        println!("(health: live, from {server})");
    }
    Ok(ExitCode::SUCCESS)
}
