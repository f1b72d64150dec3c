//! The health report an instance serves at `GET /v1/health` and reads from its peers
//! (SPEC §4.1): its identity, its configuration generation, and its own probe verdict of every
//! checked endpoint with the time it last changed.
//!
//! ```json
//! {
//!   "identity": "ns1-fra",
//!   "generation": 7,
//!   "endpoints": [
//!     { "zone": "gslb.example.test", "service": "www", "region": "us-east",
//!       "address": "127.0.0.10", "check": "web", "state": "down",
//!       "since": "2026-11-21T10:04:05Z", "since_unix": 1795255445 }
//!   ]
//! }
//! ```
//!
//! The verdicts are *local* ones (this instance's rise/fall machine), never the agreed state:
//! agreement combines independent observations, so an instance must not echo what it heard.
//! Unknown fields are ignored when reading, so a newer peer may add some.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::health::Status;
use crate::health::persist::endpoint_key;
use crate::state::Snapshot;

/// The `/v1/health` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    /// The instance's identity ([`identity`]).
    pub identity: String,
    /// Its configuration generation (1 at start, +1 per applied reload).
    pub generation: u64,
    /// Every checked endpoint, in the instance's slot order.
    pub endpoints: Vec<ReportedEndpoint>,
}

/// One checked endpoint in a [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedEndpoint {
    /// Zone, without the trailing dot.
    pub zone: String,
    /// Service key.
    pub service: String,
    /// Region name.
    pub region: String,
    /// The endpoint's address.
    pub address: String,
    /// Name of the check that probes it.
    pub check: String,
    /// The instance's own verdict.
    pub state: Status,
    /// When that verdict last changed (or was set at start), RFC 3339 UTC.
    #[serde(default)]
    pub since: String,
    /// The same as seconds since the Unix epoch.
    #[serde(default)]
    pub since_unix: u64,
}

/// This instance's name in reports and observer views: `[server] identity`, else the NSID,
/// else the host name (else `"steerdns"`).
pub fn identity(cfg: &Config) -> String {
    if let Some(id) = cfg.server.identity.as_deref().filter(|s| !s.is_empty()) {
        return id.to_owned();
    }
    if let Some(nsid) = cfg.server.nsid.as_deref().filter(|n| !n.is_empty()) {
        return String::from_utf8_lossy(nsid).into_owned();
    }
    host_name().unwrap_or_else(|| "steerdns".to_owned())
}

/// The kernel's host name.
fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for `buf.len()` bytes; gethostname writes at most that many
    // and we read only up to the first NUL inside it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).trim().to_owned();
    (!name.is_empty()).then_some(name)
}

/// The report of the serving snapshot: every checked endpoint with its local verdict.
pub fn local_report(snap: &Snapshot) -> HealthReport {
    let endpoints = snap
        .config
        .checks
        .iter()
        .map(|c| {
            let since_unix = snap.health.since(c.slot);
            ReportedEndpoint {
                zone: c.zone.clone(),
                service: c.service.clone(),
                region: c.region.clone(),
                address: c.addr.to_string(),
                check: c.check.name.clone(),
                state: snap.health.local(c.slot),
                since: crate::geo::format_epoch(since_unix),
                since_unix,
            }
        })
        .collect();
    HealthReport {
        identity: identity(&snap.config),
        generation: snap.generation,
        endpoints,
    }
}

/// One peer's verdicts, indexed for lookups by endpoint key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerView {
    /// The peer's identity.
    pub identity: String,
    /// The peer's generation.
    pub generation: u64,
    /// Endpoint key (`zone/service/region/address`) → (check name, verdict, since unix).
    pub verdicts: HashMap<String, (String, Status, u64)>,
}

impl PeerView {
    /// Indexes a report. A key reported twice keeps the last entry.
    pub fn from_report(report: HealthReport) -> Self {
        let verdicts = report
            .endpoints
            .into_iter()
            .map(|e| {
                let key = endpoint_key(&e.zone, &e.service, &e.region, &e.address);
                (key, (e.check, e.state, e.since_unix))
            })
            .collect();
        Self {
            identity: report.identity,
            generation: report.generation,
            verdicts,
        }
    }

    /// The peer's verdict on the endpoint `key` probed by `check`; `None` when it does not
    /// check that endpoint, or checks it with another check (configs mid-change).
    pub fn verdict(&self, key: &str, check: &str) -> Option<Status> {
        self.verdicts
            .get(key)
            .filter(|(c, _, _)| c == check)
            .map(|&(_, s, _)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trips_and_ignores_unknown_fields() {
        let text = r#"{"identity":"ns2","generation":3,"future":true,"endpoints":[
            {"zone":"z.test","service":"www","region":"eu","address":"127.0.0.20","check":"web",
             "state":"down","since":"2026-01-01T00:00:00Z","since_unix":1767225600,"rtt":1}]}"#;
        let report: HealthReport = serde_json::from_str(text).expect("parses");
        let view = PeerView::from_report(report.clone());
        assert_eq!(view.identity, "ns2");
        assert_eq!(
            view.verdict("z.test/www/eu/127.0.0.20", "web"),
            Some(Status::Down)
        );
        assert_eq!(
            view.verdict("z.test/www/eu/127.0.0.20", "tcp"),
            None,
            "other check"
        );
        assert_eq!(
            view.verdict("z.test/www/eu/127.0.0.21", "web"),
            None,
            "unknown"
        );
        let again: HealthReport =
            serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
        assert_eq!(again, report);
    }

    #[test]
    fn garbage_is_an_error() {
        for text in [
            "",
            "<html>",
            r#"{"identity":"x"}"#,
            r#"{"identity":"x","generation":1,"endpoints":[{"zone":"z"}]}"#,
            r#"{"identity":"x","generation":1,"endpoints":[{"zone":"z","service":"s","region":"r","address":"a","check":"c","state":"sideways"}]}"#,
        ] {
            assert!(
                serde_json::from_str::<HealthReport>(text).is_err(),
                "{text}"
            );
        }
    }
}
