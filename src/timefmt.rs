//! Times shown to people and programs: RFC 3339 in UTC (`2026-11-21T10:00:30Z`), from Unix
//! times the caller read at the edge. Pure: no clock here.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `unix_secs` as RFC 3339 UTC with whole seconds; times beyond year 9999 print the raw
/// number (never reached by a real clock).
pub fn rfc3339(unix_secs: u64) -> String {
    i64::try_from(unix_secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix_secs.to_string())
}

/// `unix_ms` as RFC 3339 UTC with milliseconds (`2026-11-21T10:00:30.250Z`).
pub fn rfc3339_ms(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let millis = unix_ms % 1000;
    let whole = rfc3339(secs);
    match whole.strip_suffix('Z') {
        Some(head) => format!("{head}.{millis:03}Z"),
        None => whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_763_719_230), "2025-11-21T10:00:30Z");
        assert_eq!(rfc3339_ms(1_763_719_230_250), "2025-11-21T10:00:30.250Z");
        assert_eq!(rfc3339_ms(5), "1970-01-01T00:00:00.005Z");
        assert_eq!(rfc3339(u64::MAX), u64::MAX.to_string());
    }
}
