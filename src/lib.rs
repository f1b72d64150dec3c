//! steerdns: an authoritative DNS server for global traffic steering.
//!
//! Data flow:
//!
//! ```text
//!  steerdns.toml + zones/*.toml + geoip/*.mmdb
//!        │  config::load (parse → validate → compile), geo::GeoDb::open
//!        ▼
//!  state::Snapshot ──(ArcSwap, one load per query)──► server (UDP/TCP listeners)
//!        ▲                                                  │ raw query bytes
//!        │ health slots (atomics)                           ▼
//!  health::runner (probes)                 dns::answer (pure) ──► steer::steer (pure)
//!        ▲ agreed verdicts (with [peers])
//!  peers (poller of the peers' /v1/health, quorum (pure), agreement)
//! ```
//!
//! `reload` builds a complete new [`state::Snapshot`] off the query path and swaps it in
//! atomically; the health table hangs off the snapshot so config and health always agree.
#![warn(missing_docs)]

pub mod admin;
pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod counters;
pub mod dns;
pub mod dnssec;
pub mod drain;
pub mod error;
pub mod explain;
pub mod geo;
pub mod health;
pub mod logging;
pub mod metrics;
pub mod peers;
pub mod plan;
pub mod reload;
pub mod rollout;
pub mod server;
pub mod state;
pub mod status;
pub mod steer;
pub mod timefmt;
pub mod tls;
