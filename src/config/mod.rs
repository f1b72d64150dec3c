//! Configuration: read → parse (serde, `schema.rs`) → validate and compile (`compile.rs`)
//! → model (`model.rs`).
//!
//! [`load`] is the one entry point: `serve`, `check` and reload all call it, so "check passes"
//! means "reload will succeed". Every problem found is collected (not just the first) and
//! reported as `file:line: message`.

pub mod compile;
pub mod duration;
pub mod model;
pub mod schema;
pub mod tiers;

use std::fmt;
use std::path::{Path, PathBuf};

pub use model::Config;

/// One problem in a config or zone file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found while loading; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.0))]
pub struct ConfigErrors(pub Vec<ConfigError>);

fn render(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A source file's text with a way to turn byte offsets into line numbers.
#[derive(Debug)]
pub struct Source<'a> {
    /// Path, for messages.
    pub path: &'a Path,
    /// Contents.
    pub text: &'a str,
}

impl Source<'_> {
    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// An error at a span.
    pub fn error(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.path.to_path_buf(),
            line: Some(self.line_of(span.start)),
            message: message.into(),
        }
    }

    /// An error without a position.
    pub fn error_file(&self, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.path.to_path_buf(),
            line: None,
            message: message.into(),
        }
    }

    /// Converts a TOML parse error (syntax, type, unknown key) into a located error.
    pub fn toml_error(&self, err: &toml::de::Error) -> ConfigError {
        let message = err.message().trim().to_string();
        match err.span() {
            Some(span) => self.error(span, message),
            None => self.error_file(message),
        }
    }
}

/// Loads and validates the main config at `path` and every zone it names.
///
/// `now_unix` is used for `serial = "auto"` (seconds of this load); it is passed in so the
/// loader stays free of clocks.
pub fn load(path: &Path, now_unix: u64) -> Result<Config, ConfigErrors> {
    compile::load_all(path, now_unix)
}
