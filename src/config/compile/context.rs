//! What every table's compiler shares: the zone being compiled with its error list, and small
//! parsers for values several tables use.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;

use crate::config::duration::{parse_duration, parse_seconds_u32};
use crate::config::model::RegionState;
use crate::config::schema::{SpannedDuration, SpannedStr};
use crate::config::source::Source;
use crate::dns::name::Name;
use crate::error::ConfigError;

/// A path from the config, relative to the main config's folder unless absolute.
pub(super) fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// A list of networks (`"10.0.0.0/8"`, or a bare address as a host network).
pub(super) fn parse_nets(
    src: &Source<'_>,
    list: &[SpannedStr],
    errors: &mut Vec<ConfigError>,
) -> Vec<IpNet> {
    let mut out = Vec::new();
    for item in list {
        let text = item.get_ref().trim();
        match IpNet::from_str(text).or_else(|_| IpAddr::from_str(text).map(IpNet::from)) {
            Ok(n) => out.push(n.trunc()),
            Err(_) => {
                errors.push(src.error(item.span(), format!("{text:?} is not a CIDR network")))
            }
        }
    }
    out
}

/// A duration value, or `default` when the key is absent (or wrong: the error is recorded).
pub(super) fn duration_or(
    src: &Source<'_>,
    value: &Option<SpannedDuration>,
    default: Duration,
    errors: &mut Vec<ConfigError>,
) -> Duration {
    match value {
        None => default,
        Some(v) => parse_duration(v.get_ref()).unwrap_or_else(|e| {
            errors.push(src.error(v.span(), e));
            default
        }),
    }
}

/// The largest TTL (RFC 2181 section 8: TTLs are 31-bit; a resolver treats a larger value as
/// 0).
pub(super) const MAX_TTL: u32 = 2_147_483_647;

/// A TTL value: `default` when absent; a value above [`MAX_TTL`] is an error naming `what`.
pub(super) fn ttl_or(
    src: &Source<'_>,
    value: Option<&toml::Spanned<u32>>,
    what: &str,
    default: u32,
    errors: &mut Vec<ConfigError>,
) -> u32 {
    match value {
        None => default,
        Some(v) if *v.get_ref() > MAX_TTL => {
            errors.push(src.error(
                v.span(),
                format!(
                    "{what} {} is too large: TTLs are at most {MAX_TTL} (RFC 2181)",
                    v.get_ref()
                ),
            ));
            MAX_TTL
        }
        Some(v) => *v.get_ref(),
    }
}

/// The loopback networks (`127.0.0.0/8`, `::1/128`), the default of `debug_from` and
/// `exempt`.
pub(super) fn loopback_nets() -> Vec<IpNet> {
    crate::config::defaults::LOOPBACK_NETS
        .iter()
        .filter_map(|n| IpNet::from_str(n).ok())
        .collect()
}

/// What a `[region.NAME]` table sets for every service in the zone.
#[derive(Debug, Clone, Copy)]
pub(super) struct RegionDefaults {
    /// `state`.
    pub(super) state: RegionState,
    /// `canary`.
    pub(super) canary: bool,
}

/// One zone file being compiled: its source, origin, and the errors and warnings found so
/// far.
pub(super) struct ZoneCtx<'a, 'b> {
    pub(super) src: &'a Source<'b>,
    pub(super) origin: Name,
    pub(super) errors: &'a mut Vec<ConfigError>,
    pub(super) warnings: &'a mut Vec<ConfigError>,
    /// Where `subdivision:` keys are (line, key), so a load can warn when the GeoIP
    /// database has no subdivision data.
    pub(super) subdivision_keys: Vec<(usize, String)>,
}

impl ZoneCtx<'_, '_> {
    /// Records an error at `span`.
    pub(super) fn err(&mut self, span: std::ops::Range<usize>, msg: impl Into<String>) {
        self.errors.push(self.src.error(span, msg));
    }

    /// Records a problem that does not stop the zone from loading (`check` prints it).
    pub(super) fn warn(&mut self, span: std::ops::Range<usize>, msg: impl std::fmt::Display) {
        self.warnings
            .push(self.src.error(span, format!("warning: {msg}")));
    }

    /// Parses an owner name relative to the origin; it must be inside the zone.
    pub(super) fn owner(&mut self, text: &SpannedStr) -> Option<Name> {
        match Name::parse_relative(text.get_ref(), &self.origin) {
            Ok(n) if n.is_at_or_below(&self.origin) => Some(n),
            Ok(n) => {
                let msg = format!("name {n} is outside the zone {}", self.origin);
                self.err(text.span(), msg);
                None
            }
            Err(e) => {
                self.err(text.span(), format!("bad name: {e}"));
                None
            }
        }
    }

    /// Parses a name relative to the origin (may be outside the zone).
    pub(super) fn absolute_name(&mut self, text: &SpannedStr, what: &str) -> Option<Name> {
        match Name::parse_relative(text.get_ref(), &self.origin) {
            Ok(n) => Some(n),
            Err(e) => {
                self.err(text.span(), format!("bad {what}: {e}"));
                None
            }
        }
    }

    /// A seconds value (`"1h"`), or `default` when absent.
    pub(super) fn seconds(&mut self, value: &Option<SpannedDuration>, default: u32) -> u32 {
        match value {
            None => default,
            Some(v) => parse_seconds_u32(v.get_ref()).unwrap_or_else(|e| {
                self.err(v.span(), e);
                default
            }),
        }
    }
}
