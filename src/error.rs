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

//------------ ListenError -----------------------------------------------------------------------

/// A listen address cannot be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {proto} {addr}")]
pub struct ListenError {
    /// `udp` or `tcp`.
    pub proto: &'static str,
    /// The address.
    pub addr: std::net::SocketAddr,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

//------------ AppError --------------------------------------------------------------------------

/// Errors that end a command.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The configuration has errors (each printed already).
    #[error("configuration has {0} error(s)")]
    Config(usize),
    /// A listen address cannot be bound.
    #[error(transparent)]
    Listen(#[from] ListenError),
    /// Something else, with context.
    #[error("{0}")]
    Other(String),
}

/// An [`AppError::Other`] with context.
pub fn other(context: impl std::fmt::Display, e: impl std::fmt::Display) -> AppError {
    AppError::Other(format!("{context}: {e}"))
}

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
