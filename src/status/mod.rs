//! The status page and its data (SPEC section 9): `GET /v1/status` (JSON) and `GET /` (one
//! self-contained HTML page that refreshes itself from `/v1/status`).
//!
//! ```text
//!  health runner ─ hooks ─┐                       ┌─ events.rs   bounded event ring
//!  reload outcome ────────┼─► board.rs StatusBoard├─ probes.rs   last probe per endpoint
//!  counters ─ 1/s sampler ┘                       ├─ history.rs  answers per s / min per row
//!  peer book ─ 1/s sampler ─► peers.rs PeerWatch ──┘  (peer events)
//!                                   │
//!  admin GET /v1/status ─► render.rs document(board, snapshot, fleet view) ─► doc.rs StatusDoc
//!  admin GET /          ─► page.rs PAGE (page.html, compiled into the binary)
//! ```
//!
//! Nothing here runs on the query path: the answer path keeps the same counters it always
//! did, and a background task reads them once a second.

pub mod board;
pub mod doc;
pub mod events;
pub mod history;
pub mod page;
pub mod peers;
pub mod probes;
pub mod render;

pub use board::{StatusBoard, run_sampler};
pub use doc::StatusDoc;
pub use render::document;
