//! `steerdns check`: the same loading as `serve` and reload, then a one-line summary.

use std::path::Path;
use std::process::ExitCode;

use crate::error::AppError;

/// Validates config, zones and GeoIP database; prints a summary.
pub fn run(path: &Path) -> Result<ExitCode, AppError> {
    let (cfg, _) = super::load_everything(path)?;
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
