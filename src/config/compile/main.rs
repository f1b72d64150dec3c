//! The main config file (`steerdns.toml`, SPEC section 2) into [`Config`] settings.

use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;

use toml::Spanned;

use super::context::{duration_or, loopback_nets, parse_nets, resolve};
use crate::config::defaults;
use crate::config::model::{Config, LogSettings, RrlSettings, ServerSettings};
use crate::config::schema::{MainFile, SpannedStr};
use crate::config::source::Source;
use crate::dns::cookie::CookieSecret;
use crate::error::ConfigError;

/// Longest `[server] nsid`: with it, the header, the longest question (259 octets) and an
/// OPT carrying NSID, ECS and an extended error still fit a 512-octet UDP reply.
pub const MAX_NSID_LEN: usize = 128;

/// Most `[server] workers` allowed.
pub const MAX_WORKERS: usize = 256;

/// Every main-file table; `zones` and `checks` are left empty for the zone files.
pub(super) fn compile_main(
    src: &Source<'_>,
    base: &Path,
    main: MainFile,
    errors: &mut Vec<ConfigError>,
) -> Config {
    let s = main.server;
    let mut listen = Vec::new();
    match &s.listen {
        None => listen.push(defaults::LISTEN),
        Some(list) => {
            for item in list {
                match SocketAddr::from_str(item.get_ref()) {
                    Ok(a) if listen.contains(&a) => errors.push(
                        src.error(item.span(), format!("listen address {a} is listed twice")),
                    ),
                    Ok(a) => listen.push(a),
                    Err(_) => errors.push(src.error(
                        item.span(),
                        format!(
                            "listen address {:?} is not IP:PORT (IPv6 as [::1]:53)",
                            item.get_ref()
                        ),
                    )),
                }
            }
        }
    }
    let debug_from = match &s.debug_from {
        None => loopback_nets(),
        Some(list) => parse_nets(src, list, errors),
    };
    let nsid = s.nsid.as_ref().map(|n| n.get_ref().as_bytes().to_vec());
    if let Some(n) = s.nsid.as_ref().filter(|n| n.get_ref().len() > MAX_NSID_LEN) {
        // A longer payload would not leave room for the question in a 512-octet reply.
        errors.push(src.error(
            n.span(),
            format!("nsid must be at most {MAX_NSID_LEN} bytes"),
        ));
    }
    let workers = match &s.workers {
        None => defaults::WORKERS,
        Some(w) if *w.get_ref() > MAX_WORKERS => {
            // Threads per listen address: far past the core count they only cost memory, and
            // a typo such as 100000 would exhaust the process's threads.
            errors.push(src.error(
                w.span(),
                format!(
                    "workers {} is too many: at most {MAX_WORKERS} UDP threads per listen \
                     address (0 = one per core)",
                    w.get_ref()
                ),
            ));
            defaults::WORKERS
        }
        Some(w) => *w.get_ref(),
    };
    let server = ServerSettings {
        listen,
        workers,
        nsid,
        identity: s.identity.map(Spanned::into_inner),
        version: s.version.unwrap_or(false),
        tcp_idle_timeout: duration_or(src, &s.tcp_idle_timeout, defaults::TCP_IDLE_TIMEOUT, errors),
        max_tcp_connections: s
            .max_tcp_connections
            .unwrap_or(defaults::MAX_TCP_CONNECTIONS),
        max_tcp_connections_per_client: s
            .max_tcp_connections_per_client
            .unwrap_or(defaults::MAX_TCP_CONNECTIONS_PER_CLIENT),
        debug_from,
        pid_file: resolve(
            base,
            s.pid_file
                .as_ref()
                .map_or(defaults::PID_FILE, |p| p.get_ref()),
        ),
        cookie_secret: read_cookie_secret(src, base, s.cookie_secret_file.as_ref(), errors),
    };
    let r = main.rrl;
    let v4 = r
        .ipv4_prefix
        .as_ref()
        .map_or(defaults::RRL_IPV4_PREFIX, |p| *p.get_ref());
    let v6 = r
        .ipv6_prefix
        .as_ref()
        .map_or(defaults::RRL_IPV6_PREFIX, |p| *p.get_ref());
    if let Some(p) = r.ipv4_prefix.as_ref().filter(|p| *p.get_ref() > 32) {
        errors.push(src.error(p.span(), "ipv4_prefix must be at most 32"));
    }
    if let Some(p) = r.ipv6_prefix.as_ref().filter(|p| *p.get_ref() > 128) {
        errors.push(src.error(p.span(), "ipv6_prefix must be at most 128"));
    }
    let rrl = RrlSettings {
        enabled: r.enabled.unwrap_or(defaults::RRL_ENABLED),
        responses_per_second: match &r.responses_per_second {
            None => defaults::RRL_RESPONSES_PER_SECOND,
            Some(rps) if *rps.get_ref() == 0 => {
                // 0 would limit every UDP response: nothing normal would be answered.
                errors.push(src.error(
                    rps.span(),
                    "responses_per_second must be at least 1 (0 would drop or truncate every \
                     UDP answer); to turn rate limiting off write enabled = false",
                ));
                defaults::RRL_RESPONSES_PER_SECOND
            }
            Some(rps) => *rps.get_ref(),
        },
        slip: r.slip.unwrap_or(defaults::RRL_SLIP),
        ipv4_prefix: v4.min(32),
        ipv6_prefix: v6.min(128),
        exempt: match &r.exempt {
            None => loopback_nets(),
            Some(list) => parse_nets(src, list, errors),
        },
    };
    let metrics_listen = match &main.metrics.listen {
        None => Some(defaults::METRICS_LISTEN),
        Some(v) if v.get_ref().is_empty() => None,
        Some(v) => match SocketAddr::from_str(v.get_ref()) {
            Ok(a) => Some(a),
            Err(_) => {
                errors.push(src.error(v.span(), format!("{:?} is not IP:PORT", v.get_ref())));
                None
            }
        },
    };
    Config {
        main_path: src.path.to_path_buf(),
        server,
        health_state_file: resolve(
            base,
            main.health
                .state_file
                .as_ref()
                .map_or(defaults::HEALTH_STATE_FILE, |p| p.get_ref()),
        ),
        probe_sources: super::fleet::compile_sources(src, &main.health, errors),
        geoip_database_line: main
            .geoip
            .database
            .as_ref()
            .map(|d| src.line_of(d.span().start)),
        geoip_database: main
            .geoip
            .database
            .as_ref()
            .map(|d| resolve(base, d.get_ref())),
        rrl,
        zones_directory: resolve(
            base,
            main.zones
                .directory
                .as_ref()
                .map_or(defaults::ZONES_DIRECTORY, |p| p.get_ref()),
        ),
        metrics_listen,
        admin_access: super::admin::compile_admin(src, base, &main.metrics, errors),
        log: LogSettings {
            format: main.log.format.unwrap_or_default(),
            queries: main.log.queries.unwrap_or(defaults::LOG_QUERIES),
        },
        peers: super::fleet::compile_peers(src, base, &main.peers, errors),
        zones: Vec::new(),
        checks: Vec::new(),
        rollouts: 0,
        warnings: Vec::new(),
    }
}

/// Reads `[server] cookie_secret_file` (32 hex digits); `None` when not set or empty. Read at
/// every load, so a reload picks up a new secret and `check` reports a bad file at its line.
fn read_cookie_secret(
    src: &Source<'_>,
    base: &Path,
    file: Option<&SpannedStr>,
    errors: &mut Vec<ConfigError>,
) -> Option<CookieSecret> {
    let file = file.filter(|f| !f.get_ref().is_empty())?;
    let path = resolve(base, file.get_ref());
    match std::fs::read_to_string(&path) {
        Ok(text) => match CookieSecret::from_hex(&text) {
            Ok(secret) => Some(secret),
            Err(e) => {
                let message = format!("[server] cookie_secret_file {}: {e}", path.display());
                errors.push(src.error(file.span(), message));
                None
            }
        },
        Err(io) => {
            let message = format!(
                "[server] cookie_secret_file: cannot read {}",
                path.display()
            );
            let mut error = src.error(file.span(), message);
            error.cause = Some(std::sync::Arc::new(io));
            errors.push(error);
            None
        }
    }
}
