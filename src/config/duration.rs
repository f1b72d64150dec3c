//! Durations written as strings with units: `"500ms"`, `"10s"`, `"1m"`, `"1h"`, `"1d"`,
//! `"1w"`, and sums such as `"1m30s"`.

use std::time::Duration;

/// Parses a duration string. Returns a message fit for a config error on failure.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration; write e.g. \"500ms\", \"10s\", \"1m\"".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("bad duration {text:?}: expected a number"));
        }
        let value: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("bad duration {text:?}: number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let per_unit = match unit {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86_400),
            "w" => Duration::from_secs(604_800),
            "" => {
                return Err(format!(
                    "bad duration {text:?}: missing unit (ms, s, m, h, d or w)"
                ));
            }
            other => {
                return Err(format!(
                    "bad duration {text:?}: unknown unit {other:?} (use ms, s, m, h, d or w)"
                ));
            }
        };
        let value =
            u32::try_from(value).map_err(|_| format!("bad duration {text:?}: number too large"))?;
        total = per_unit
            .checked_mul(value)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| format!("bad duration {text:?}: too large"))?;
    }
    Ok(total)
}

/// Parses a duration that must be a whole number of seconds fitting a DNS TTL-like field.
pub fn parse_seconds_u32(text: &str) -> Result<u32, String> {
    let d = parse_duration(text)?;
    if d.subsec_nanos() != 0 {
        return Err(format!("{text:?}: must be a whole number of seconds"));
    }
    u32::try_from(d.as_secs()).map_err(|_| format!("{text:?}: too large"))
}

/// Writes a duration the way [`parse_duration`] reads it, largest units first: `"1h30m"`,
/// `"500ms"`, `"0s"`.
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("w", 604_800_000u128),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let ok = [
            ("500ms", Duration::from_millis(500)),
            ("10s", Duration::from_secs(10)),
            ("1m", Duration::from_secs(60)),
            ("1h", Duration::from_secs(3600)),
            ("1w", Duration::from_secs(604_800)),
            ("1m30s", Duration::from_secs(90)),
            (" 2d ", Duration::from_secs(172_800)),
        ];
        for (text, want) in ok {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
        for bad in ["", "10", "s", "10x", "1.5s", "-1s", "99999999999s"] {
            assert!(parse_duration(bad).is_err(), "{bad} should fail");
        }
        assert_eq!(parse_seconds_u32("1h"), Ok(3600));
        assert!(parse_seconds_u32("1500ms").is_err());
        for text in ["1h30m", "500ms", "1w2d", "10s", "1m1s1ms"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
