//! The `[dnssec]` table: reads every key file once, checks it belongs to this zone, and builds
//! the zone's [`ZoneSigner`]. Each problem is reported at the line of the `keys` entry that
//! names the file, with the key file's own line when the problem is inside it.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::Arc;

use toml::Spanned;

use super::context::{ZoneCtx, resolve};
use crate::config::defaults;
use crate::config::duration::parse_seconds_u32;
use crate::config::schema::DnssecSection;
use crate::dnssec::key::ZoneKey;
use crate::dnssec::sign::{MAX_VALIDITY, MIN_VALIDITY};
use crate::dnssec::zone::ZoneSigner;
use crate::error::{ConfigError, KeyError, PolicyError};

/// Compiles `[dnssec]`; `None` when the zone has no such table or it has errors (recorded).
pub(super) fn compile_dnssec(
    cx: &mut ZoneCtx<'_, '_>,
    base: &Path,
    section: Option<&Spanned<DnssecSection>>,
    zone_ttl: u32,
) -> Option<ZoneSigner> {
    let section = section?.get_ref();
    let before = cx.errors.len();
    let validity = match &section.signature_validity {
        None => defaults::SIGNATURE_VALIDITY,
        Some(v) => match parse_seconds_u32(v.get_ref()) {
            Ok(secs) if (MIN_VALIDITY..=MAX_VALIDITY).contains(&secs) => secs,
            Ok(_) => {
                cx.err(
                    v.span(),
                    "dnssec.signature_validity: must be from 2h to 366d (a window is a quarter \
                     of it and must outlast the 1h inception offset)",
                );
                defaults::SIGNATURE_VALIDITY
            }
            Err(e) => {
                cx.err(v.span(), format!("dnssec.signature_validity: {e}"));
                defaults::SIGNATURE_VALIDITY
            }
        },
    };
    let mut keys: Vec<Arc<ZoneKey>> = Vec::new();
    for entry in section.keys.get_ref() {
        let path = resolve(base, entry.get_ref());
        let key = match ZoneKey::read(&path) {
            Ok(key) => key,
            Err(KeyError::Read { path, source }) => {
                cx.errors.push(ConfigError {
                    file: cx.src.path.to_path_buf(),
                    line: Some(cx.src.line_of(entry.span().start)),
                    message: format!(
                        "dnssec.keys: {}: cannot read DNSSEC key file",
                        path.display()
                    ),
                    cause: Some(Arc::new(source)),
                });
                continue;
            }
            Err(e) => {
                cx.err(entry.span(), format!("dnssec.keys: {e}"));
                continue;
            }
        };
        if key.zone() != &cx.origin {
            let e = PolicyError::WrongZone {
                tag: key.key_tag(),
                key_zone: key.zone().clone(),
                zone: cx.origin.clone(),
            };
            cx.err(
                entry.span(),
                format!("dnssec.keys: {}: {e}", path.display()),
            );
            continue;
        }
        if keys.iter().any(|k| k.id() == key.id()) {
            let e = PolicyError::Duplicate { tag: key.key_tag() };
            cx.err(
                entry.span(),
                format!("dnssec.keys: {}: {e}", path.display()),
            );
            continue;
        }
        if let Ok(meta) = std::fs::metadata(&path)
            && meta.permissions().mode() & 0o077 != 0
        {
            cx.warn(
                entry.span(),
                format_args!(
                    "dnssec.keys: {} can be read by other users (mode {:o}); `chmod 600` it",
                    path.display(),
                    meta.permissions().mode() & 0o777
                ),
            );
        }
        keys.push(Arc::new(key));
    }
    if cx.errors.len() > before {
        return None;
    }
    match ZoneSigner::new(&cx.origin, keys, zone_ttl, validity) {
        Ok(signer) => Some(signer),
        Err(e) => {
            cx.err(section.keys.span(), format!("dnssec.keys: {e}"));
            None
        }
    }
}
