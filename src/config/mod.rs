//! Configuration: read → parse (serde, `schema.rs`) → validate and compile (`compile.rs`)
//! → model (`model.rs`).
//!
//! [`load`] is the one entry point: `serve`, `check` and reload all call it, so "check passes"
//! means "reload will succeed". Every problem found is collected (not just the first) and
//! reported as `file:line: message`.

pub mod compile;
pub mod defaults;
pub mod duration;
pub mod model;
pub mod prefix_table;
pub mod schema;
pub mod source;
pub mod tiers;

use std::path::Path;

pub use crate::error::{ConfigError, ConfigErrors};
pub use model::Config;

/// Loads and validates the main config at `path` and every zone it names.
///
/// `now_unix` is used for `serial = "auto"` (seconds of this load); it is passed in so the
/// loader stays free of clocks.
pub fn load(path: &Path, now_unix: u64) -> Result<Config, ConfigErrors> {
    compile::load_all(path, now_unix)
}
