//! The status page: one HTML file with its styles and script inline, compiled into the binary
//! (no external scripts, fonts or CDNs), so it works on a host with no internet. It fetches
//! `/v1/status` every few seconds with the browser's credentials for this origin (HTTP Basic
//! works) and draws its charts as inline SVG.

/// The page served at `GET /`.
pub const PAGE: &str = include_str!("page.html");
