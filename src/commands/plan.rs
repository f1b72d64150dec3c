//! `steerdns plan` (SPEC 6.1): what a reload of the files would change, before it is sent.
//!
//! ```text
//!  --against DIR ─► load DIR's config (every endpoint up) and the files ─► plan::compute
//!  (default) / --server ─► POST /v1/plan: the daemon loads its files and compares them with
//!                          what it serves, with live health, swapping nothing
//!  ─► text or --json; exit 0 computed, 1 the files are invalid, 2 nothing to compare against
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use super::output;
use super::remote;
use crate::config::Config;
use crate::error::{AppError, LoadError};
use crate::health::HealthTable;
use crate::plan::{self, Labels, Options, PlanOutcome, Side};
use crate::reload;
use crate::state::now_unix;

/// How long the daemon may take (10k names: loading, sampling).
const PLAN_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs `steerdns plan`.
pub fn run(
    path: &Path,
    against: Option<&Path>,
    server: Option<&str>,
    json: bool,
) -> Result<ExitCode, AppError> {
    let outcome = match against {
        Some(dir) => offline(path, dir)?,
        None => remote(path, server)?,
    };
    if json {
        let text = serde_json::to_string_pretty(&outcome).map_err(AppError::Json)?;
        output::println(&text)?;
    } else {
        match &outcome {
            PlanOutcome::Computed(p) => output::print(&p.render_text())?,
            PlanOutcome::Invalid { problems } => {
                output::eprintln(&format!(
                    "plan: the files are invalid (a reload would be rejected); {} problem(s):",
                    problems.len()
                ));
                for p in problems {
                    output::eprintln(p);
                }
            }
        }
    }
    Ok(ExitCode::from(outcome.exit_code()))
}

/// The main config to compare against: `dir` itself when it is a file, else the file of the
/// same name as `path` in `dir`.
fn against_file(path: &Path, dir: &Path) -> PathBuf {
    if dir.is_file() {
        return dir.to_path_buf();
    }
    dir.join(
        path.file_name()
            .unwrap_or(std::ffi::OsStr::new("steerdns.toml")),
    )
}

/// Both configurations from files, every endpoint up.
fn offline(path: &Path, dir: &Path) -> Result<PlanOutcome, AppError> {
    let (after, after_geo) = match reload::load(path, now_unix()) {
        Ok(loaded) => loaded,
        Err(e @ LoadError::MainUnreadable(_)) => return Err(e.into()),
        Err(e) => {
            return Ok(PlanOutcome::Invalid {
                problems: e.problems(),
            });
        }
    };
    let before_path = against_file(path, dir);
    let (before, before_geo) =
        reload::load(&before_path, now_unix()).map_err(|source| AppError::Against {
            path: before_path.clone(),
            problems: source.problems(),
        })?;
    let after_frame = plan::frame_of(after_geo.as_deref(), &after);
    let own_frame;
    let before_frame = if same_file(&before.geoip_database, &after.geoip_database) {
        &after_frame
    } else {
        own_frame = plan::frame_of(before_geo.as_deref(), &before);
        &own_frame
    };
    let (hb, ha) = (
        HealthTable::new(before.checks.len()),
        HealthTable::new(after.checks.len()),
    );
    let plan = plan::compute(
        Side {
            config: &before,
            health: &hb,
            frame: before_frame,
        },
        Side {
            config: &after,
            health: &ha,
            frame: &after_frame,
        },
        restart_warnings(&before, &after),
        Labels {
            before: before_path.display().to_string(),
            after: path.display().to_string(),
            health: "every endpoint up on both sides (offline)".into(),
        },
        Options::default(),
    );
    Ok(PlanOutcome::Computed(plan))
}

/// The settings that need a restart, leaving out paths that only differ because the two
/// configurations live in different folders (a checkout of the last release, say).
fn restart_warnings(before: &Config, after: &Config) -> Vec<String> {
    let relative = |cfg: &Config, p: &Path| {
        let dir = cfg.main_path.parent().unwrap_or(Path::new(""));
        p.strip_prefix(dir).map(Path::to_path_buf).ok()
    };
    let same_state_file = relative(before, &before.health_state_file).is_some()
        && relative(before, &before.health_state_file) == relative(after, &after.health_state_file);
    reload::restart_warnings(before, after)
        .into_iter()
        .filter(|w| !(same_state_file && w.starts_with("[health] state_file")))
        .collect()
}

/// Whether two configured databases are the same bytes (a copy in another checkout counts).
fn same_file(a: &Option<PathBuf>, b: &Option<PathBuf>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) if a == b => true,
        (Some(a), Some(b)) => {
            let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
            size(a).is_some()
                && size(a) == size(b)
                && matches!((std::fs::read(a), std::fs::read(b)), (Ok(x), Ok(y)) if x == y)
        }
        _ => false,
    }
}

/// Asks the daemon (`--server`, else the config's `[metrics] listen`) for its plan.
fn remote(path: &Path, server: Option<&str>) -> Result<PlanOutcome, AppError> {
    let client = remote::client_for(path, server, PLAN_TIMEOUT)?;
    let answer = client.post("/v1/plan")?;
    let url = answer.url.clone();
    let body = answer.success()?;
    serde_json::from_str(&body).map_err(|source| AppError::UnexpectedJson { url, source })
}
