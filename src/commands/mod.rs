//! The one-shot commands (SPEC section 1): `check`, `explain`, `geoip`, and the client side of
//! `reload`. Each reads what it needs, prints its result, and returns the exit code; errors go
//! back to `main`, which prints them.

pub mod check;
pub mod explain;
pub mod geoip;
pub mod send_reload;

use std::path::Path;
use std::sync::Arc;

use crate::config::{self, Config};
use crate::error::AppError;
use crate::reload;
use crate::state::now_unix;
use crate::steer::GeoLookup;

/// Loads config and GeoIP, printing every config error to stderr.
pub fn load_everything(path: &Path) -> Result<(Config, Option<Arc<dyn GeoLookup>>), AppError> {
    let cfg = match config::load(path, now_unix()) {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            return Err(AppError::Config(errors.0.len()));
        }
    };
    let geo = reload::open_geo(&cfg).map_err(|e| {
        eprintln!("{e}");
        AppError::Config(1)
    })?;
    Ok((cfg, geo))
}
