//! Validation and compilation: schema → model, collecting every error with its line.
//!
//! Each table of the files has its compiler, the way the model is built from them:
//!
//! ```text
//!  steerdns.toml ─► main.rs (server, health, geoip, rrl, zones, metrics, log)
//!                           admin.rs ([metrics] trusted, token_file)
//!                           fleet.rs ([health] source_v4/v6, [peers])
//!  zones/*.toml  ─► zone.rs (origin, soa) ─► records.rs  [[record]] (rdata.rs: RDATA)
//!                                         ─► checks.rs   [check.*]
//!                                         ─► maps.rs     [map.*], geo = {...}
//!                                         ─► services.rs [region.*], [service.*]
//!                                         ─► dnssec.rs   [dnssec] (reads the key files)
//! ```
//!
//! `context.rs` holds what they share; defaults come from [`crate::config::defaults`].

mod admin;
mod checks;
mod context;
mod cuts;
mod dnssec;
mod fleet;
mod main;
mod maps;
mod records;
mod rollouts;
mod services;
mod zone;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use admin::read_token;
pub use main::MAX_NSID_LEN;
pub use services::region_seed;

use self::context::resolve;
use self::main::compile_main;
use self::zone::compile_zone;
use crate::config::defaults;
use crate::config::model::Config;
use crate::config::schema::{MainFile, ZoneFile};
use crate::config::source::Source;
use crate::dns::name::Name;
use crate::error::{ConfigError, ConfigErrors};

/// Loads the main file at `path` and every zone (see [`crate::config::load`]).
pub fn load_all(path: &Path, now_unix: u64) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors(vec![ConfigError::unreadable(path.to_path_buf(), e)]))?;
    let src = Source { path, text: &text };
    let main: MainFile =
        toml::from_str(&text).map_err(|e| ConfigErrors(vec![src.toml_error(&e)]))?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut errors = Vec::new();
    let mut cfg = compile_main(&src, &base, main, &mut errors);

    // Zones.
    let mut files = Vec::new();
    match std::fs::read_dir(&cfg.zones_directory) {
        Ok(dir) => {
            for entry in dir.flatten() {
                let p = entry.path();
                if p.extension().is_some_and(|e| e == "toml") && p.is_file() {
                    files.push(p);
                }
            }
        }
        Err(e) => errors.push(src.error_file(format!(
            "zones directory {}: {e}",
            cfg.zones_directory.display()
        ))),
    }
    files.sort();
    let mut origins: HashMap<Name, PathBuf> = HashMap::new();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(ConfigError::unreadable(file, e));
                continue;
            }
        };
        let zsrc = Source {
            path: &file,
            text: &text,
        };
        let parsed: ZoneFile = match toml::from_str(&text) {
            Ok(z) => z,
            Err(e) => {
                errors.push(zsrc.toml_error(&e));
                continue;
            }
        };
        let zone = compile_zone(
            &zsrc,
            &base,
            parsed,
            now_unix,
            &mut cfg.checks,
            &mut errors,
            &mut cfg.warnings,
        );
        if let Some(zone) = zone {
            if let Some(other) = origins.get(&zone.origin) {
                errors.push(zsrc.error_file(format!(
                    "zone {} is also defined in {}",
                    zone.origin,
                    other.display()
                )));
            } else {
                origins.insert(zone.origin.clone(), file.clone());
                cfg.zones.push(zone);
            }
        }
    }
    if cfg.geoip_database.is_none()
        && cfg
            .zones
            .iter()
            .flat_map(|z| &z.services)
            .any(|s| s.map.uses_geo())
    {
        errors.push(src.error_file(
            "a map uses continent:/country:/subdivision: keys but [geoip] database is not set",
        ));
    }
    cfg.zones.sort_by(|a, b| a.origin.cmp(&b.origin));
    // Live weight slots of rollouts, in zone then service order.
    let mut slots = 0u32;
    for service in cfg.zones.iter_mut().flat_map(|z| z.services.iter_mut()) {
        if let Some(r) = &mut service.rollout {
            r.slot = crate::health::view::WeightSlot(slots);
            service.regions[r.region.index()].live_weight = Some(r.slot);
            slots += 1;
        }
    }
    cfg.rollouts = slots as usize;
    // One message per problem: a shared value (a service's undefined check used by every
    // region) is reported once, not once per use.
    dedup(&mut errors);
    dedup(&mut cfg.warnings);
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// Drops repeats of the same message at the same place, keeping the first.
fn dedup(list: &mut Vec<ConfigError>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|e| seen.insert((e.file.clone(), e.line, e.message.clone())));
}

/// Reads only the main file and returns the `[geoip] database` path, resolved.
pub fn geoip_path_of(path: &Path) -> Result<Option<PathBuf>, ConfigError> {
    let (main, base) = main_only(path)?;
    Ok(main
        .geoip
        .database
        .as_ref()
        .map(|d| resolve(&base, d.get_ref())))
}

fn main_only(path: &Path) -> Result<(MainFile, PathBuf), ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::unreadable(path.to_path_buf(), e))?;
    let src = Source { path, text: &text };
    let main: MainFile = toml::from_str(&text).map_err(|e| src.toml_error(&e))?;
    Ok((
        main,
        path.parent().map(Path::to_path_buf).unwrap_or_default(),
    ))
}

/// How a one-shot command reaches the daemon of a config: its admin listener, the token it
/// expects, and its pid file. Read from the main file alone, so `steerdns reload` works even
/// when a zone file is broken (the daemon reports that itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonContact {
    /// `[metrics] listen`; `None` when off (or unparsable: the daemon reports that itself).
    pub admin: Option<SocketAddr>,
    /// `[metrics] token_file`, resolved.
    pub token_file: Option<PathBuf>,
    /// `[server] pid_file`, resolved.
    pub pid_file: PathBuf,
}

/// Reads only the main file and returns how to reach its daemon.
pub fn daemon_contact_of(path: &Path) -> Result<DaemonContact, ConfigError> {
    let (main, base) = main_only(path)?;
    let pid = main
        .server
        .pid_file
        .as_ref()
        .map_or(defaults::PID_FILE, |p| p.get_ref());
    Ok(DaemonContact {
        admin: match &main.metrics.listen {
            None => Some(defaults::METRICS_LISTEN),
            Some(v) => SocketAddr::from_str(v.get_ref()).ok(),
        },
        token_file: main
            .metrics
            .token_file
            .as_ref()
            .filter(|f| !f.get_ref().is_empty())
            .map(|f| resolve(&base, f.get_ref())),
        pid_file: resolve(&base, pid),
    })
}
