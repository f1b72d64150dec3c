//! The settings that make one instance part of a fleet (SPEC sections 2 and 4.1):
//! `[health] source_v4` / `source_v6` (where this instance's probes leave from).
//!
//! Whether a source address belongs to this host is not checked here: `check` runs in CI on
//! another machine than the servers, and must not reject a production host's address. The
//! daemon tries to bind it when it loads the config and warns when it cannot
//! ([`crate::reload::source_warnings`]); probes from it then fail with a reason naming it.

use std::net::IpAddr;

use crate::config::model::ProbeSources;
use crate::config::schema::{HealthSection, SpannedStr};
use crate::config::source::Source;
use crate::error::ConfigError;

/// `[health] source_v4` and `source_v6`: an address of the right family, or `""` for none.
pub(super) fn compile_sources(
    src: &Source<'_>,
    health: &HealthSection,
    errors: &mut Vec<ConfigError>,
) -> ProbeSources {
    let parse = |value: &Option<SpannedStr>, key: &str, errors: &mut Vec<ConfigError>| {
        let v = value.as_ref()?;
        let text = v.get_ref().trim();
        if text.is_empty() {
            return None;
        }
        match text.parse::<IpAddr>() {
            Ok(ip) if ip.is_unspecified() || ip.is_multicast() => {
                errors.push(src.error(
                    v.span(),
                    format!("[health] {key} {ip} cannot be a source address"),
                ));
                None
            }
            Ok(ip) => Some((ip, v.span())),
            Err(_) => {
                errors.push(src.error(
                    v.span(),
                    format!("[health] {key} {text:?} is not an IP address"),
                ));
                None
            }
        }
    };
    let mut sources = ProbeSources::default();
    match parse(&health.source_v4, "source_v4", errors) {
        Some((IpAddr::V4(a), _)) => sources.v4 = Some(a),
        Some((IpAddr::V6(a), span)) => errors.push(src.error(
            span,
            format!("[health] source_v4 {a} is an IPv6 address; use source_v6"),
        )),
        None => {}
    }
    match parse(&health.source_v6, "source_v6", errors) {
        Some((IpAddr::V6(a), _)) => sources.v6 = Some(a),
        Some((IpAddr::V4(a), span)) => errors.push(src.error(
            span,
            format!("[health] source_v6 {a} is an IPv4 address; use source_v4"),
        )),
        None => {}
    }
    sources
}
