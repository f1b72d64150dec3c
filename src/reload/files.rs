//! Reading a configuration as a reload would, and what of a change needs a restart: shared
//! by the reload transaction, `check`, and `plan` (offline and `POST /v1/plan`), so none of
//! them needs the daemon's parts (admin listener, health runner) to read files.

use std::path::Path;
use std::sync::Arc;

use crate::config::{self, Config};
use crate::error::{GeoError, LoadError};
use crate::steer::GeoLookup;

/// Opens the configured GeoIP database (read whole into memory), if any.
pub fn open_geo(cfg: &Config) -> Result<Option<Arc<dyn GeoLookup>>, GeoError> {
    match &cfg.geoip_database {
        None => Ok(None),
        Some(path) => crate::geo::open_lookup(path).map(Some),
    }
}

/// Loads the configuration at `path` and opens its GeoIP database: everything `check`,
/// `serve` and a reload read, validated the same way.
pub fn load(path: &Path, now_unix: u64) -> Result<(Config, Option<Arc<dyn GeoLookup>>), LoadError> {
    let mut cfg = config::load(path, now_unix).map_err(|errors| main_unreadable(path, errors))?;
    let geo = open_geo(&cfg).map_err(|source| match cfg.geoip_database_line {
        Some(line) => LoadError::GeoAt {
            config: cfg.main_path.clone(),
            line,
            source: Box::new(source),
        },
        None => LoadError::Geo(source),
    })?;
    if geo.as_ref().is_some_and(|g| !g.has_subdivisions()) {
        warn_subdivision_keys(&mut cfg);
    }
    Ok((cfg, geo))
}

/// A warning per `subdivision:` key when the database has no subdivision data: such keys
/// never match (SPEC section 3).
fn warn_subdivision_keys(cfg: &mut Config) {
    let db = cfg
        .geoip_database
        .as_ref()
        .map_or_else(String::new, |p| p.display().to_string());
    for zone in &cfg.zones {
        for (line, key) in &zone.subdivision_keys {
            cfg.warnings.push(crate::error::ConfigError::new(
                zone.file.clone(),
                Some(*line),
                format!(
                    "warning: map key {key:?}: the GeoIP database {db} has no subdivision \
                     data, so this key never matches (use a City database: GeoLite2-City, \
                     DB-IP City Lite)"
                ),
            ));
        }
    }
}

/// Tells "the main config cannot be read" (nothing to validate; exit 2) from problems in
/// its content or in the files it names.
fn main_unreadable(path: &Path, mut errors: config::ConfigErrors) -> LoadError {
    let only_main = errors.0.len() == 1
        && errors.0[0].file == path
        && errors.0[0].line.is_none()
        && errors.0[0].cause.is_some();
    match errors.0.pop() {
        Some(e) if only_main => LoadError::MainUnreadable(e),
        Some(e) => {
            errors.0.push(e);
            LoadError::Config(errors)
        }
        None => LoadError::Config(errors),
    }
}

/// Warnings for the settings that changed but apply only after a restart: `[server] workers`
/// (the UDP worker threads of the open sockets) and `[health] state_file` (read once at
/// start). Every other setting applies on reload.
pub fn restart_warnings(old: &Config, new: &Config) -> Vec<String> {
    let mut warnings = Vec::new();
    if new.server.workers != old.server.workers {
        warnings.push(format!(
            "[server] workers changed from {} to {}: needs a restart",
            old.server.workers, new.server.workers
        ));
    }
    if new.health_state_file != old.health_state_file {
        warnings.push(format!(
            "[health] state_file changed from {} to {}: needs a restart",
            old.health_state_file.display(),
            new.health_state_file.display()
        ));
    }
    warnings
}
