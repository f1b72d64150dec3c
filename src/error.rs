//! The crate's errors, in one place: what went wrong, with the cause kept as
//! [`std::error::Error::source`] (never repeated in the message), and one renderer of the
//! cause chain ([`render_chain`]) for the binary's edge.

use std::fmt;
use std::path::PathBuf;

//------------ ConfigError -----------------------------------------------------------------------

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

//------------ ClientAddrError -------------------------------------------------------------------

/// A client given as text (`--client`, `/v1/explain?client=`) is neither an address nor an
/// address/prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--client {0:?} is not an address or address/prefix")]
pub struct ClientAddrError(pub String);

//------------ render_chain ----------------------------------------------------------------------

/// Renders `error` and every cause behind it on one line, outermost first, joined by `": "`
/// (`cannot read GeoIP database geoip/x.mmdb: No such file or directory`). A message that
/// spans several lines (a list of config problems) keeps its lines.
pub fn render_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        out.push_str(": ");
        out.push_str(&e.to_string());
        cause = e.source();
    }
    out
}
