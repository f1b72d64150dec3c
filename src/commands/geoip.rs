//! `steerdns geoip`: what the configured database says about one address.

use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;

use super::output;
use crate::config;
use crate::error::AppError;

/// Prints what the configured GeoIP database says about `ip`.
pub fn run(path: &Path, ip: IpAddr) -> Result<ExitCode, AppError> {
    // Only the main file is needed; a broken zone must not stop this lookup.
    let db_path = config::compile::geoip_path_of(path)?
        .ok_or_else(|| AppError::NoGeoip(path.to_path_buf()))?;
    let db = crate::geo::GeoDb::open(&db_path)?;
    output::print(&db.describe(ip))?;
    Ok(ExitCode::SUCCESS)
}
