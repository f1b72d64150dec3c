//! The settings that make one instance part of a fleet (SPEC sections 2 and 4.1):
//! `[health] source_v4` / `source_v6` (where this instance's probes leave from) and `[peers]`
//! (whom it agrees with on health: URLs, token, poll, stale_after, quorum).
//!
//! Whether a source address belongs to this host is not checked here: `check` runs in CI on
//! another machine than the servers, and must not reject a production host's address. The
//! daemon tries to bind it when it loads the config and warns when it cannot
//! ([`crate::reload::source_warnings`]); probes from it then fail with a reason naming it.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;

use super::admin::read_token;
use super::context::{duration_or, resolve};
use crate::config::defaults;
use crate::config::model::{PeersSettings, ProbeSources, Quorum};
use crate::config::schema::{HealthSection, PeersSection, QuorumValue, SpannedStr};
use crate::config::source::Source;
use crate::error::{ConfigError, TokenFileError};

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

/// `[peers]`: `None` when no URL is listed (the other keys are still checked).
pub(super) fn compile_peers(
    src: &Source<'_>,
    base: &Path,
    section: &PeersSection,
    errors: &mut Vec<ConfigError>,
) -> Option<PeersSettings> {
    let mut urls: Vec<String> = Vec::new();
    for item in section.urls.iter().flatten() {
        match peer_url(item.get_ref()) {
            Ok(u) if urls.contains(&u) => {
                errors.push(src.error(item.span(), format!("[peers] url {u} is listed twice")))
            }
            Ok(u) => urls.push(u),
            Err(e) => errors.push(src.error(item.span(), format!("[peers] url {e}"))),
        }
    }
    let poll = duration_or(src, &section.poll, defaults::PEERS_POLL, errors);
    if let Some(p) = &section.poll
        && poll < defaults::PEERS_POLL_MIN
    {
        errors.push(src.error(
            p.span(),
            format!(
                "[peers] poll must be at least {:?}",
                defaults::PEERS_POLL_MIN
            ),
        ));
    }
    let stale_after = duration_or(
        src,
        &section.stale_after,
        defaults::PEERS_STALE_AFTER,
        errors,
    );
    if stale_after <= poll {
        let span = section
            .stale_after
            .as_ref()
            .or(section.poll.as_ref())
            .map(|v| v.span());
        let msg = format!(
            "[peers] stale_after ({stale_after:?}) must be longer than poll ({poll:?}); a few polls is usual"
        );
        errors.push(match span {
            Some(span) => src.error(span, msg),
            None => src.error_file(msg),
        });
    }
    let observers = urls.len() as i64 + 1;
    let quorum = match section.quorum.as_ref() {
        None => Quorum::Majority,
        Some(q) => match q.get_ref() {
            QuorumValue::Word(w) if w == "majority" => Quorum::Majority,
            QuorumValue::Word(w) => {
                errors.push(src.error(
                    q.span(),
                    format!("[peers] quorum {w:?}: \"majority\" or a number of observers"),
                ));
                Quorum::Majority
            }
            QuorumValue::Count(n) if (1..=observers).contains(n) => {
                Quorum::AtLeast(NonZeroU32::new(*n as u32).unwrap_or(NonZeroU32::MIN))
            }
            QuorumValue::Count(n) => {
                errors.push(src.error(
                    q.span(),
                    format!(
                        "[peers] quorum {n}: between 1 and {observers} (this instance and its {} peers)",
                        urls.len()
                    ),
                ));
                Quorum::Majority
            }
        },
    };
    let token = section
        .token_file
        .as_ref()
        .filter(|f| !f.get_ref().is_empty())
        .and_then(|file| {
            let path = resolve(base, file.get_ref());
            match read_token(&path) {
                Ok(t) => Some(t),
                Err(e) => {
                    let mut error = src.error(
                        file.span(),
                        format!("[peers] token_file {}: {e}", path.display()),
                    );
                    if let TokenFileError::Read(io) = e {
                        error.cause = Some(Arc::new(io));
                    }
                    errors.push(error);
                    None
                }
            }
        });
    (!urls.is_empty()).then_some(PeersSettings {
        urls,
        token,
        poll,
        stale_after,
        quorum,
    })
}

/// A peer's base URL: `http` or `https`, a host, an optional port, nothing after the `/`.
/// Returned without a trailing slash.
fn peer_url(text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text.trim()).map_err(|e| format!("{text:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{text:?}: http:// or https:// only"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?}: no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{text:?}: no credentials in the URL; use token_file"
        ));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{text:?}: the admin listener's base URL only (scheme, host, port); /v1/health is added"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_urls() {
        assert_eq!(
            peer_url("http://192.0.2.53:9153/").as_deref(),
            Ok("http://192.0.2.53:9153")
        );
        assert_eq!(
            peer_url("https://ns2.example.net:9153").as_deref(),
            Ok("https://ns2.example.net:9153")
        );
        for bad in [
            "192.0.2.53:9153",
            "ftp://192.0.2.53",
            "http://192.0.2.53:9153/v1/health",
            "http://u:p@192.0.2.53:9153",
            "http://192.0.2.53:9153/?x=1",
        ] {
            assert!(peer_url(bad).is_err(), "{bad}");
        }
    }
}
