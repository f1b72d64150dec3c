//! `steerdns check`: the same loading as `serve` and reload, then a one-line summary.

use std::path::Path;
use std::process::ExitCode;

use super::output;
use crate::error::{AppError, render_chain};
use crate::reload;
use crate::state::now_unix;

/// Validates config, zones and GeoIP database; prints the warnings (to stderr) and a summary.
/// Warnings do not fail the check.
pub fn run(path: &Path) -> Result<ExitCode, AppError> {
    let (cfg, _) = reload::load(path, now_unix())?;
    for w in &cfg.warnings {
        output::eprintln(&render_chain(w));
    }
    let services: usize = cfg.zones.iter().map(|z| z.services.len()).sum();
    output::println(&format!(
        "{}: ok: {} zone(s), {} service(s), {} checked endpoint(s)",
        path.display(),
        cfg.zones.len(),
        services,
        cfg.checks.len()
    ))?;
    for zone in &cfg.zones {
        if let Some(signer) = &zone.dnssec {
            let keys: Vec<String> = signer
                .keys()
                .iter()
                .map(|k| {
                    format!(
                        "{} ({}, {}{})",
                        k.key_tag(),
                        if k.is_sep() { "KSK/CSK" } else { "ZSK" },
                        k.algorithm(),
                        if k.publish_only() {
                            ", publish_only"
                        } else {
                            ""
                        }
                    )
                })
                .collect();
            output::println(&format!("{}: signed: {}", zone.origin, keys.join(", ")))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
