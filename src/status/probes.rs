//! What the health runner last saw of each checked endpoint: the last probe's result and
//! round-trip time, and since when the endpoint has been in its state.
//!
//! ```text
//!  health runner ── on_probe ─► EndpointLog::record_probe (last result, time, RTT)
//!                └─ on_flip ──► EndpointLog::record_flip  (since := now)
//!  /v1/status ◄── EndpointLog::get(key)
//! ```
//!
//! Keyed by the endpoint key (`zone/service/region/address`), which is stable across reloads,
//! so a reload that keeps a check keeps its record. The status sampler drops records of
//! endpoints the configuration no longer has.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

/// The last probe of one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct LastProbe {
    /// Whether it passed.
    pub passed: bool,
    /// The probe's reason: `"HTTP 200"`, `"connect refused"`, `"timeout"`.
    pub reason: String,
    /// Time from start to result.
    pub rtt: Duration,
    /// When it finished, Unix milliseconds.
    pub at_unix_ms: u64,
}

/// What the log knows of one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointRecord {
    /// When the endpoint's state last flipped in this process; before any flip, when this
    /// process first probed it.
    pub since_unix_ms: u64,
    /// The last probe.
    pub last: Option<LastProbe>,
}

/// The last probe and last change of every checked endpoint, by endpoint key.
#[derive(Debug, Default)]
pub struct EndpointLog {
    records: Mutex<HashMap<String, EndpointRecord>>,
}

impl EndpointLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, EndpointRecord>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a finished probe of `key`.
    pub fn record_probe(&self, key: &str, passed: bool, reason: &str, rtt: Duration, now_ms: u64) {
        let last = LastProbe {
            passed,
            reason: reason.to_owned(),
            rtt,
            at_unix_ms: now_ms,
        };
        let mut records = self.lock();
        match records.get_mut(key) {
            Some(r) => r.last = Some(last),
            None => {
                records.insert(
                    key.to_owned(),
                    EndpointRecord {
                        since_unix_ms: now_ms,
                        last: Some(last),
                    },
                );
            }
        }
    }

    /// Records that `key` changed state now.
    pub fn record_flip(&self, key: &str, now_ms: u64) {
        let mut records = self.lock();
        match records.get_mut(key) {
            Some(r) => r.since_unix_ms = now_ms,
            None => {
                records.insert(
                    key.to_owned(),
                    EndpointRecord {
                        since_unix_ms: now_ms,
                        last: None,
                    },
                );
            }
        }
    }

    /// The record of `key`.
    pub fn get(&self, key: &str) -> Option<EndpointRecord> {
        self.lock().get(key).cloned()
    }

    /// Drops every record whose key is not in `keep`.
    pub fn retain(&self, keep: &HashSet<String>) {
        self.lock().retain(|k, _| keep.contains(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_probe_sets_since_and_flips_move_it() {
        let log = EndpointLog::default();
        let ms = Duration::from_millis;
        log.record_probe("k", true, "HTTP 200", ms(3), 1_000);
        log.record_probe("k", false, "HTTP 503", ms(4), 2_000);
        let r = log.get("k").unwrap();
        assert_eq!(r.since_unix_ms, 1_000);
        assert_eq!(r.last.as_ref().unwrap().reason, "HTTP 503");
        assert_eq!(r.last.as_ref().unwrap().rtt, ms(4));
        log.record_flip("k", 3_000);
        assert_eq!(log.get("k").unwrap().since_unix_ms, 3_000);
        assert_eq!(log.get("k").unwrap().last.unwrap().at_unix_ms, 2_000);
    }

    #[test]
    fn retain_drops_removed_endpoints() {
        let log = EndpointLog::default();
        log.record_flip("a", 1);
        log.record_flip("b", 1);
        log.retain(&HashSet::from(["a".to_owned()]));
        assert!(log.get("a").is_some());
        assert!(log.get("b").is_none());
    }
}
