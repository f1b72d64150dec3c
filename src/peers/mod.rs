//! Health agreement between instances (SPEC §4.1).
//!
//! Every instance serves its own probe verdicts at `GET /v1/health` ([`report`]). With
//! `[peers]`, the [`poller`] reads each peer's report every `poll` into the peer book
//! ([`book`], shared through [`fleet::Fleet`]), and the [`agreement`] combines this instance's
//! verdicts with the peers' by [`quorum`] (a pure function) and publishes the agreed verdict
//! into the serving snapshot's health table, which queries read lock-free.
//!
//! ```text
//!   peers' /v1/health ──► poller (timeouts, bounded concurrency) ──► Fleet book
//!                                                                        │
//!   health runner ──► table.local (own verdicts) ──┐                     │
//!        │ flip: Fleet::wake                        ▼                     ▼
//!        └──────────────────────────────► agreement: quorum::agree(local, peers, now)
//!                                                    │
//!                                 table (agreed) ◄───┘ + state file, log line
//!                                      │
//!                   answers, explain, metrics, /v1/status (view.rs)
//! ```
//!
//! Local rise/fall is unchanged: agreement combines the per-instance verdicts, never raw
//! probe results, and an instance reports only its own verdicts (never what it agreed).

pub mod agreement;
pub mod book;
pub mod fleet;
pub mod poller;
pub mod quorum;
pub mod report;
pub mod view;

pub use agreement::Agreement;
pub use book::{PeerRecord, PeerState, PeerStatus};
pub use fleet::Fleet;
pub use report::{HealthReport, PeerView, identity, local_report};
pub use view::{EndpointView, FleetView};
