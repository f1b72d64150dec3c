//! `steerdns rollout status|pause|resume|abort|advance [ZONE/SERVICE]` (SPEC 4.2): staged
//! rollouts of the running daemon, through its admin listener.
//!
//! ```text
//!  status  ─► GET  /v1/rollouts                         ─► every rollout (or the one named)
//!  ACTION  ─► POST /v1/rollouts/{zone}/{service}/{ACTION} ─► the rollout after it
//!  text or --json; exit 0 done, 1 refused (or no such rollout), 2 usage or no daemon
//! ```
//!
//! An action without ZONE/SERVICE acts on the daemon's only rollout; with several it is a
//! usage error that lists them.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::output;
use super::remote;
use crate::error::AppError;
use crate::rollout::report::{RolloutList, RolloutStatus};

/// How long the daemon may take to answer.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What `steerdns rollout` was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RolloutVerb {
    /// Show every rollout (or the one named): step, share, time to the next step, gates.
    Status,
    /// Stop at the current step (the share stays).
    Pause,
    /// Go on: from paused the hold restarts; from rolled back or aborted, at the first step.
    Resume,
    /// Share 0 until resumed.
    Abort,
    /// The next step now.
    Advance,
}

impl RolloutVerb {
    fn word(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Abort => "abort",
            Self::Advance => "advance",
        }
    }
}

/// Runs `steerdns rollout VERB [TARGET]`.
pub fn run(
    path: &Path,
    verb: RolloutVerb,
    target: Option<&str>,
    server: Option<&str>,
    json: bool,
) -> Result<ExitCode, AppError> {
    let client = remote::client_for(path, server, TIMEOUT)?;
    let list = || -> Result<RolloutList, AppError> {
        let answer = client.get("/v1/rollouts")?;
        let url = answer.url.clone();
        let body = answer.success()?;
        serde_json::from_str(&body).map_err(|source| AppError::UnexpectedJson { url, source })
    };
    if verb == RolloutVerb::Status {
        let mut all = list()?;
        if let Some(t) = target {
            all.rollouts.retain(|r| r.key() == t);
            if all.rollouts.is_empty() {
                return Err(AppError::NoRollout(t.to_string()));
            }
        }
        if json {
            output::println(&serde_json::to_string_pretty(&all).map_err(AppError::Json)?)?;
        } else if all.rollouts.is_empty() {
            output::println("no rollouts configured")?;
        } else {
            for r in &all.rollouts {
                output::print(&r.render_text())?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let key = match target {
        Some(t) => t.to_string(),
        None => {
            let all = list()?;
            match all.rollouts.as_slice() {
                [one] => one.key(),
                [] => return Err(AppError::RolloutTarget("the daemon has no rollout".into())),
                many => {
                    let names: Vec<String> = many.iter().map(RolloutStatus::key).collect();
                    return Err(AppError::RolloutTarget(format!(
                        "the daemon has {} rollouts; name one: {}",
                        many.len(),
                        names.join(", ")
                    )));
                }
            }
        }
    };
    let Some((zone, service)) = key.rsplit_once('/') else {
        return Err(AppError::RolloutTarget(format!(
            "{key:?}: write ZONE/SERVICE, e.g. gslb.example.test/www"
        )));
    };
    let path_q = format!(
        "/v1/rollouts/{}/{}/{}",
        encode(zone.trim_end_matches('.')),
        encode(service),
        verb.word()
    );
    let answer = client.post(&path_q)?;
    let url = answer.url.clone();
    let body = answer.success()?;
    let status: RolloutStatus =
        serde_json::from_str(&body).map_err(|source| AppError::UnexpectedJson { url, source })?;
    if json {
        output::println(&serde_json::to_string_pretty(&status).map_err(AppError::Json)?)?;
    } else {
        output::print(&status.render_text())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Percent-encodes one path segment.
fn encode(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}
