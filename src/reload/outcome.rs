//! What a reload did (SPEC section 6), and how the admin API asks for one.
//!
//! ```text
//!  SIGHUP ───────────────────────────┐
//!  POST /v1/reload ─► ReloadHandle ──┴─► daemon loop: reload transaction ─► ReloadReport
//!                         ▲                                                  │
//!  GET /v1/reload ────────┴──────────── last report (kept by the handle) ◄──┘
//! ```
//!
//! Every reload, whatever triggered it, produces one [`ReloadReport`]; the daemon keeps the
//! last one and answers it at `GET /v1/reload`. `steerdns reload` reads the same object and
//! turns it into its exit code ([`ReloadOutcome::exit_code`]).

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

/// The outcome of one reload.
///
/// ```text
///            ┌──────── every file valid ───────► Applied { generation + 1, warnings }
///  reload ───┤                                      (warnings: restart-only settings,
///            │                                       addresses that could not be bound)
///            └──────── any problem ─────────────► Rejected { generation (unchanged),
///                                                            problems: file:line: message }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum ReloadOutcome {
    /// The new snapshot is serving.
    Applied {
        /// Its generation.
        generation: u64,
        /// Settings that changed but take effect only after a restart, and addresses that
        /// could not be bound. Empty when everything applied.
        warnings: Vec<String>,
        /// What `check` would warn about in the new files (do not affect the exit code).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        config_warnings: Vec<String>,
    },
    /// Nothing changed; the previous snapshot keeps serving.
    Rejected {
        /// The generation still serving.
        generation: u64,
        /// Every problem found (`file:line: message`).
        problems: Vec<String>,
    },
}

impl ReloadOutcome {
    /// The exit code of `steerdns reload` for this outcome (SPEC section 6): 0 applied, 3
    /// applied with warnings, 1 rejected.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Applied { warnings, .. } if warnings.is_empty() => 0,
            Self::Applied { .. } => 3,
            Self::Rejected { .. } => 1,
        }
    }

    /// Human-readable lines: the verdict, then each warning or problem.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        match self {
            Self::Applied {
                generation,
                warnings,
                config_warnings,
            } => {
                if warnings.is_empty() {
                    out.push_str(&format!("reload applied: generation {generation}\n"));
                } else {
                    out.push_str(&format!(
                        "reload applied with {} warning(s): generation {generation}\n",
                        warnings.len()
                    ));
                }
                for w in warnings {
                    out.push_str(&format!("warning: {w}\n"));
                }
                for w in config_warnings {
                    out.push_str(&format!("check: {w}\n"));
                }
            }
            Self::Rejected {
                generation,
                problems,
            } => {
                out.push_str(&format!(
                    "reload rejected; generation {generation} keeps serving. {} problem(s):\n",
                    problems.len()
                ));
                for p in problems {
                    out.push_str(p);
                    out.push('\n');
                }
            }
        }
        out
    }
}

/// What started a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// SIGHUP (`kill -HUP`, systemd `ExecReload`).
    Sighup,
    /// `POST /v1/reload` (`steerdns reload`).
    Api,
}

/// One reload as the daemon keeps and serves it (`GET /v1/reload`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadReport {
    /// Reloads since the daemon started, this one included (1 for the first).
    pub seq: u64,
    /// What started it.
    pub trigger: Trigger,
    /// When it finished, RFC 3339 UTC with milliseconds.
    pub finished_at: String,
    /// The same instant as Unix milliseconds (for programs comparing times).
    pub finished_unix_ms: u64,
    /// What it did.
    #[serde(flatten)]
    pub outcome: ReloadOutcome,
}

/// A request to the daemon loop: run a reload and send its report back.
pub type ReloadRequest = oneshot::Sender<ReloadReport>;

/// The admin API's side of reloads: ask the daemon loop for one, and read the last report.
#[derive(Debug, Clone)]
pub struct ReloadHandle {
    requests: mpsc::Sender<ReloadRequest>,
    last: Arc<Mutex<Option<ReloadReport>>>,
}

/// Why a reload could not be requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Too many reloads are already waiting.
    #[error("too many reloads are waiting; try again")]
    Busy,
    /// The daemon is shutting down.
    #[error("the daemon is shutting down")]
    ShuttingDown,
}

impl ReloadHandle {
    /// A handle and the receiving end the daemon loop reads requests from. At most `queue`
    /// requests wait at once.
    pub fn new(queue: usize) -> (Self, mpsc::Receiver<ReloadRequest>) {
        let (requests, rx) = mpsc::channel(queue.max(1));
        (
            Self {
                requests,
                last: Arc::default(),
            },
            rx,
        )
    }

    /// Asks the daemon loop for a reload and waits for its report.
    pub async fn request(&self) -> Result<ReloadReport, RequestError> {
        let (tx, rx) = oneshot::channel();
        self.requests.try_send(tx).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => RequestError::Busy,
            mpsc::error::TrySendError::Closed(_) => RequestError::ShuttingDown,
        })?;
        rx.await.map_err(|_| RequestError::ShuttingDown)
    }

    /// The last reload's report; `None` before the first.
    pub fn last(&self) -> Option<ReloadReport> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records a finished reload (called by the daemon loop).
    pub fn record(&self, report: ReloadReport) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(report);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_flat_json_and_map_to_exit_codes() {
        let applied = ReloadReport {
            seq: 2,
            trigger: Trigger::Api,
            finished_at: "2025-11-21T10:00:30.250Z".into(),
            finished_unix_ms: 1_763_719_230_250,
            outcome: ReloadOutcome::Applied {
                generation: 3,
                warnings: vec!["[server] workers changed from 1 to 2: needs a restart".into()],
                config_warnings: vec![],
            },
        };
        let v = serde_json::to_value(&applied).unwrap();
        assert_eq!(v["outcome"], "applied");
        assert_eq!(v["generation"], 3);
        assert_eq!(v["trigger"], "api");
        assert_eq!(v["warnings"].as_array().unwrap().len(), 1);
        assert!(v.get("config_warnings").is_none());
        let back: ReloadReport = serde_json::from_value(v).unwrap();
        assert_eq!(back, applied);
        assert_eq!(applied.outcome.exit_code(), 3);

        let rejected = ReloadOutcome::Rejected {
            generation: 2,
            problems: vec!["zones/a.toml:3: bad".into()],
        };
        let v = serde_json::to_value(&rejected).unwrap();
        assert_eq!(v["outcome"], "rejected");
        assert_eq!(v["problems"][0], "zones/a.toml:3: bad");
        assert_eq!(rejected.exit_code(), 1);
        assert!(rejected.render_text().contains("zones/a.toml:3: bad"));
        let clean = ReloadOutcome::Applied {
            generation: 4,
            warnings: vec![],
            config_warnings: vec![],
        };
        assert_eq!(clean.exit_code(), 0);
        assert_eq!(clean.render_text(), "reload applied: generation 4\n");
    }

    #[tokio::test]
    async fn requests_reach_the_loop_and_the_last_report_is_kept() {
        let (handle, mut rx) = ReloadHandle::new(1);
        assert_eq!(handle.last(), None);
        let report = ReloadReport {
            seq: 1,
            trigger: Trigger::Api,
            finished_at: String::new(),
            finished_unix_ms: 0,
            outcome: ReloadOutcome::Rejected {
                generation: 1,
                problems: vec!["x".into()],
            },
        };
        let loop_side = {
            let handle = handle.clone();
            let report = report.clone();
            tokio::spawn(async move {
                let reply = rx.recv().await.unwrap();
                handle.record(report.clone());
                reply.send(report).unwrap();
                // Once the loop is gone, requests say so.
                drop(rx);
            })
        };
        assert_eq!(handle.request().await, Ok(report.clone()));
        loop_side.await.unwrap();
        assert_eq!(handle.last(), Some(report));
        assert_eq!(handle.request().await, Err(RequestError::ShuttingDown));
    }
}
