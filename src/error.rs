//! The crate's errors, in one place. Each says what went wrong in words a person can act on
//! (the file, the address, the key) and keeps the error that caused it as
//! [`std::error::Error::source`], never repeated in its own message. [`render_chain`] is the
//! one renderer of a cause chain; `main`, the daemon's logs and the admin API use it.
//!
//! Errors that only describe a bad value of one type stay beside the type (`NameError` in
//! `dns::name`, `CodeError` in `geo::codes`), like `std`'s `ParseIntError`.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

//------------ render_chain ----------------------------------------------------------------------

/// Renders `error` and every cause behind it on one line, outermost first, joined by `": "`
/// (`cannot read GeoIP database geoip/x.mmdb: No such file or directory`).
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

//------------ ConfigError -----------------------------------------------------------------------

/// One problem in a config or zone file: `file:line: message`, with the I/O error behind it
/// when the file could not be read.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// The error that caused it, when there is one (an unreadable file).
    pub cause: Option<Arc<std::io::Error>>,
}

impl ConfigError {
    /// A problem at `line` of `file` (the whole file when `None`).
    pub fn new(file: PathBuf, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            file,
            line,
            message: message.into(),
            cause: None,
        }
    }

    /// `file` cannot be read.
    pub fn unreadable(file: PathBuf, cause: std::io::Error) -> Self {
        Self {
            file,
            line: None,
            message: "cannot read".into(),
            cause: Some(Arc::new(cause)),
        }
    }
}

/// Compares what is reported (file, line, message and the cause's text).
impl PartialEq for ConfigError {
    fn eq(&self, other: &Self) -> bool {
        self.file == other.file
            && self.line == other.line
            && self.message == other.message
            && self.cause.as_ref().map(ToString::to_string)
                == other.cause.as_ref().map(ToString::to_string)
    }
}

impl Eq for ConfigError {}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Every problem found while loading; never empty. Displayed one problem per line, each with
/// its cause chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_lines(.0))]
pub struct ConfigErrors(pub Vec<ConfigError>);

fn render_lines(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(|e| render_chain(e))
        .collect::<Vec<_>>()
        .join("\n")
}

//------------ TokenFileError --------------------------------------------------------------------

/// Why a token file (`[metrics] token_file`) cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    /// The file cannot be read.
    #[error("cannot read")]
    Read(#[source] std::io::Error),
    /// The file holds only white space.
    #[error("is empty")]
    Empty,
    /// The token has spaces or control characters inside.
    #[error("holds spaces or control characters inside the token")]
    BadCharacters,
}

//------------ GeoError --------------------------------------------------------------------------

/// Why a GeoIP database cannot be used. Every message names the file (a file that cannot be
/// read in SPEC 1's words: `cannot read GeoIP database <path>: <OS reason>`).
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// The file cannot be read.
    #[error("cannot read GeoIP database {path}")]
    Read {
        /// The database file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a MaxMind DB file (bad marker, metadata or layout).
    #[error("{path}: not a valid MaxMind DB file")]
    Format {
        /// The database file.
        path: PathBuf,
        /// What the reader found wrong.
        #[source]
        source: maxminddb::MaxMindDbError,
    },
    /// The tree or the records are damaged: a probe lookup or a record failed to decode.
    #[error("{path}: damaged GeoIP database (probe lookup failed)")]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// What the reader found wrong.
        #[source]
        source: maxminddb::MaxMindDbError,
    },
    /// The records have neither GeoIP2 nor ip-location-db fields.
    #[error("{path}: database type {found:?} has neither country.iso_code nor country_code")]
    UnknownSchema {
        /// The database file.
        path: PathBuf,
        /// The `database_type` from the metadata.
        found: String,
    },
}

//------------ MapKeyError -----------------------------------------------------------------------

/// A geo-map key that does not parse (SPEC section 3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapKeyError {
    /// Neither `default` nor `kind:value`.
    #[error(
        "map key {0:?} must be default, continent:XX, country:XX, subdivision:XX-YY or net:CIDR"
    )]
    Shape(String),
    /// `continent:` with something other than the seven codes.
    #[error("map key {key:?}: continent must be one of {list}{hint}", list = continent_list())]
    Continent {
        /// The key as written.
        key: String,
        /// `; ...` with the likely fix, or empty.
        hint: String,
    },
    /// `country:` with something that is not an ISO 3166-1 alpha-2 code.
    #[error("map key {key:?}: {value:?} is not an ISO 3166-1 alpha-2 country code{hint}")]
    Country {
        /// The key as written.
        key: String,
        /// The value after `country:`.
        value: String,
        /// `; ...` with the likely fix, or empty.
        hint: String,
    },
    /// `subdivision:` not shaped like `US-CA`, or of an unknown country.
    #[error("map key {key:?}: subdivision must be an ISO 3166-2 code such as US-CA{hint}")]
    Subdivision {
        /// The key as written.
        key: String,
        /// `; ...` with the likely fix, or empty.
        hint: String,
    },
    /// `net:` with something other than a network.
    #[error("map key {key:?}: {value:?} is not a CIDR network{hint}")]
    Net {
        /// The key as written.
        key: String,
        /// The value after `net:`.
        value: String,
        /// `; ...` with the likely fix, or empty.
        hint: String,
    },
    /// `net:` with bits set past the prefix (`net:10.1.2.3/8`): probably not the network meant.
    #[error("map key {key:?}: host bits are set past the prefix; the network is \"net:{network}\"")]
    HostBits {
        /// The key as written.
        key: String,
        /// The network with host bits cleared.
        network: ipnet::IpNet,
    },
    /// An unknown `kind:`.
    #[error("map key {key:?}: unknown kind {kind:?} (continent, country, subdivision or net)")]
    Kind {
        /// The key as written.
        key: String,
        /// The part before the colon.
        kind: String,
    },
}

fn continent_list() -> String {
    crate::geo::ContinentCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

//------------ LoadError -------------------------------------------------------------------------

/// Why a configuration cannot be served: `check`, `serve` and every reload load the same way
/// and fail the same way.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The main config file cannot be read (exit 2: nothing to validate).
    #[error(transparent)]
    MainUnreadable(ConfigError),
    /// The config or a zone file has problems.
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    /// The GeoIP database cannot be used.
    #[error(transparent)]
    Geo(#[from] GeoError),
    /// The GeoIP database the main config names (at `line`) cannot be used.
    #[error("{}:{line}: [geoip] database", config.display())]
    GeoAt {
        /// The main config file.
        config: PathBuf,
        /// The line of `[geoip] database`.
        line: usize,
        /// Why the database cannot be used (boxed: it is large and rare).
        #[source]
        source: Box<GeoError>,
    },
}

impl LoadError {
    /// Every problem, one line each with its cause chain (`file:line: message`).
    pub fn problems(&self) -> Vec<String> {
        match self {
            Self::MainUnreadable(e) => vec![render_chain(e)],
            Self::Config(errors) => errors.0.iter().map(|e| render_chain(e)).collect(),
            Self::Geo(e) => vec![render_chain(e)],
            Self::GeoAt { .. } => vec![render_chain(self)],
        }
    }
}

//------------ ClientAddrError -------------------------------------------------------------------

/// A client given as text (`--client`, `/v1/explain?client=`) is neither an address nor an
/// address/prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--client {0:?} is not an address or address/prefix")]
pub struct ClientAddrError(pub String);

//------------ ExplainError ----------------------------------------------------------------------

/// Why a name cannot be explained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExplainError {
    /// The name does not parse.
    #[error("bad name {name:?}")]
    BadName {
        /// The name as given.
        name: String,
        /// Why it does not parse.
        #[source]
        source: crate::dns::name::NameError,
    },
    /// No configured zone holds the name.
    #[error("{0} is in no configured zone")]
    NoZone(String),
    /// The name has no `[service]`.
    #[error("{0} is not a steered name (no [service] for it)")]
    NotSteered(String),
}

//------------ ListenError -----------------------------------------------------------------------

/// A listen address cannot be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {proto} {addr}")]
pub struct ListenError {
    /// `udp` or `tcp`.
    pub proto: &'static str,
    /// The address.
    pub addr: SocketAddr,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

//------------ Health ----------------------------------------------------------------------------

/// Errors building a [`Prober`](crate::health::Prober).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A TLS configuration could not be built.
    #[error("cannot set up TLS for health checks")]
    Tls {
        /// The cause.
        #[source]
        source: rustls::Error,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the health-check HTTP client")]
    Client {
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
}

/// Errors reading or writing the state file. Never fatal: callers log them and go on.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    /// The file could not be read.
    #[error("{path}: cannot read health state file")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON of the expected shape.
    #[error("{path}: corrupt health state file")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The file has a format version this build does not know.
    #[error("{path}: health state file has unknown version {found}")]
    Version {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// The file could not be written or renamed into place.
    #[error("{path}: cannot write health state file")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

//------------ DNSSEC ----------------------------------------------------------------------------

/// Why a DNSSEC key file cannot be used. Every message starts with the key file's path.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read.
    #[error("{path}: cannot read DNSSEC key file")]
    Read {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file could not be written (`keygen`).
    #[error("{path}: cannot write DNSSEC key file")]
    Write {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid key file; `line` is 1-based when known.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// The key file.
        path: PathBuf,
        /// Line of the problem.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The cryptographic library refused to make a key.
    #[error("cannot generate a {algorithm} key")]
    Generate {
        /// The algorithm asked for.
        algorithm: crate::dnssec::algorithm::Algorithm,
    },
}

/// The cryptographic library refused to sign (it does not for valid keys; the answer path
/// turns this into SERVFAIL rather than trusting that).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("signing with key {key_tag} ({algorithm}) failed")]
pub struct SignError {
    /// The key's tag.
    pub key_tag: u16,
    /// The key's algorithm.
    pub algorithm: crate::dnssec::algorithm::Algorithm,
}

/// Why a zone's keys cannot sign it (checked at load; `check` reports each at its line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A key belongs to another zone.
    #[error("key {tag} is for zone {key_zone}, not {zone}")]
    WrongZone {
        /// The key's tag.
        tag: u16,
        /// The zone in the key file.
        key_zone: crate::dns::name::Name,
        /// The zone it is listed for.
        zone: crate::dns::name::Name,
    },
    /// The same key is listed twice.
    #[error("key {tag} is listed twice")]
    Duplicate {
        /// The key's tag.
        tag: u16,
    },
    /// No key is listed.
    #[error("no keys listed")]
    NoKeys,
    /// Every key is `publish_only`.
    #[error("every key is publish_only: nothing would sign the zone")]
    NoActiveKey,
}

//------------ AppError --------------------------------------------------------------------------

/// Errors that end a command; `main` prints them with [`render_chain`].
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The configuration cannot be served. Its problems are not a cause in the chain but a
    /// list, printed one per line ([`AppError::problems`]) before this summary; an unreadable
    /// main config is its own one-line message.
    #[error("{}", load_summary(.0))]
    Load(LoadError),
    /// The GeoIP database cannot be used (`steerdns geoip`).
    #[error(transparent)]
    Geo(#[from] GeoError),
    /// A DNS listen address cannot be bound.
    #[error(transparent)]
    Listen(#[from] ListenError),
    /// The admin listener cannot be bound.
    #[error("cannot listen on admin/metrics {addr}")]
    Admin {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The async runtime cannot start.
    #[error("cannot start the runtime")]
    Runtime(#[source] std::io::Error),
    /// A signal handler cannot be installed.
    #[error("cannot install a signal handler")]
    Signal(#[source] std::io::Error),
    /// The health prober cannot be built.
    #[error("cannot set up health probes")]
    Probes(#[source] ProbeError),
    /// `[geoip] database` is not set in the main config.
    #[error("{0}: [geoip] database is not set")]
    NoGeoip(PathBuf),
    /// `explain -t` names a type explain does not handle.
    #[error("-t {0}: explain handles A and AAAA")]
    QueryType(String),
    /// `--client` does not parse.
    #[error(transparent)]
    Client(#[from] ClientAddrError),
    /// The name cannot be explained.
    #[error(transparent)]
    Explain(#[from] ExplainError),
    /// `keygen ZONE` is not a domain name.
    #[error("bad zone name {name:?}")]
    ZoneName {
        /// The name as given.
        name: String,
        /// Why it does not parse.
        #[source]
        source: crate::dns::name::NameError,
    },
    /// A DNSSEC key cannot be made or written (`keygen`).
    #[error(transparent)]
    Key(#[from] KeyError),
    /// JSON output cannot be written.
    #[error("cannot encode JSON")]
    Json(#[source] serde_json::Error),
    /// The HTTP client cannot be built.
    #[error("cannot build the HTTP client")]
    HttpClient(#[source] reqwest::Error),
    /// A daemon's admin URL cannot be reached or read.
    #[error("cannot reach {url}")]
    Unreachable {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// A daemon's answer cannot be read.
    #[error("cannot read the answer of {url}")]
    Unreadable {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// A daemon's admin URL answered with an error status.
    #[error("{url}: {status}: {body}")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: String,
        /// The response body, trimmed.
        body: String,
    },
    /// A daemon's admin URL answered with JSON of another shape.
    #[error("{url} returned unexpected JSON")]
    UnexpectedJson {
        /// The URL.
        url: String,
        /// Why it does not decode.
        #[source]
        source: serde_json::Error,
    },
    /// The daemon's pid file cannot be read.
    #[error("cannot read pid file {path}")]
    PidFile {
        /// The pid file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The pid file does not hold a number.
    #[error("pid file {path} does not hold a pid; nothing signalled")]
    NotAPid {
        /// The pid file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::num::ParseIntError,
    },
    /// The pid file holds a number below 1 (0 or -1 would signal a process group, or every
    /// process).
    #[error("pid file {path} holds {pid}, which is not a process id; nothing signalled")]
    BadPid {
        /// The pid file.
        path: PathBuf,
        /// The number it holds.
        pid: i64,
    },
    /// The pid file names a process that is not a steerdns daemon (or none).
    #[error("pid {pid} (from {path}) is not a steerdns daemon: {reason}; nothing signalled")]
    NotDaemon {
        /// The pid.
        pid: i32,
        /// The pid file.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// The daemon was signalled, but its outcome cannot be read: the admin listener is off.
    #[error(
        "sent SIGHUP to steerdns (pid {pid}); its outcome cannot be read because [metrics] listen is off (see the daemon's log)"
    )]
    OutcomeUnknown {
        /// The pid.
        pid: i32,
    },
    /// `--server` is not a URL or host:port.
    #[error("--server {given:?} is not a URL or host:port")]
    ServerUrl {
        /// What was given.
        given: String,
        /// Why it does not parse.
        #[source]
        source: <reqwest::Url as std::str::FromStr>::Err,
    },
    /// `--server` names a scheme other than http or https, or no host.
    #[error("--server {0:?}: use http://HOST:PORT, https://HOST:PORT or HOST:PORT")]
    ServerScheme(String),
    /// Writing the output failed (other than a closed pipe, which ends quietly).
    #[error("cannot write the output")]
    Output(#[source] std::io::Error),
    /// Standard output was closed by the reader (`| head`): not an error to report.
    #[error("output closed")]
    ClosedPipe,
    /// The daemon cannot be signalled.
    #[error("cannot signal pid {pid} (from {path})")]
    Kill {
        /// The pid.
        pid: i32,
        /// The pid file it came from.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `plan --against`: the configuration to compare against cannot be loaded.
    #[error("cannot load {path} to compare against: {}", .problems.join("; "))]
    Against {
        /// Its main config file.
        path: PathBuf,
        /// Every problem.
        problems: Vec<String>,
    },
    /// A command needs the daemon's admin listener, but `[metrics] listen` is off and no
    /// `--server` was given.
    #[error("{0}: [metrics] listen is off: no daemon to ask (give --server, or --against DIR)")]
    NoAdmin(PathBuf),
    /// `steerdns rollout ACTION` without a rollout it can tell (a usage error).
    #[error("rollout: {0}")]
    RolloutTarget(String),
    /// `steerdns rollout status ZONE/SERVICE` named no rollout of the daemon.
    #[error("no rollout {0} on the daemon (steerdns rollout status lists them)")]
    NoRollout(String),
    /// The daemon was signalled but reported no reload outcome in time.
    #[error(
        "sent SIGHUP to steerdns (pid {pid}), but {url} reported no reload outcome within {seconds} s"
    )]
    NoOutcome {
        /// The pid.
        pid: i32,
        /// The admin URL asked.
        url: String,
        /// How long it waited.
        seconds: u64,
    },
}

impl AppError {
    /// The individual problems behind a configuration error (printed one per line before the
    /// summary); empty for other errors.
    pub fn problems(&self) -> Vec<String> {
        match self {
            Self::Load(LoadError::MainUnreadable(_)) => Vec::new(),
            Self::Load(e) => e.problems(),
            _ => Vec::new(),
        }
    }

    /// The exit code (SPEC section 1): 2 when the main config cannot be read or no daemon can
    /// be reached (or its answer read), 0 for a closed output pipe, 1 for everything that was
    /// refused or invalid.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::ClosedPipe => 0,
            Self::Load(LoadError::MainUnreadable(_))
            | Self::Unreachable { .. }
            | Self::Unreadable { .. }
            | Self::PidFile { .. }
            | Self::NotAPid { .. }
            | Self::BadPid { .. }
            | Self::NotDaemon { .. }
            | Self::Kill { .. }
            | Self::NoOutcome { .. }
            | Self::OutcomeUnknown { .. }
            | Self::ServerUrl { .. }
            | Self::ServerScheme(_)
            | Self::Against { .. }
            | Self::NoAdmin(_)
            | Self::RolloutTarget(_) => 2,
            _ => 1,
        }
    }
}

fn load_summary(e: &LoadError) -> String {
    match e {
        LoadError::MainUnreadable(e) => render_chain(e),
        _ => format!("configuration has {} error(s)", e.problems().len()),
    }
}

impl From<LoadError> for AppError {
    fn from(e: LoadError) -> Self {
        Self::Load(e)
    }
}

impl From<ConfigErrors> for AppError {
    fn from(e: ConfigErrors) -> Self {
        Self::Load(LoadError::Config(e))
    }
}

impl From<ConfigError> for AppError {
    fn from(e: ConfigError) -> Self {
        Self::Load(LoadError::Config(ConfigErrors(vec![e])))
    }
}

/// What `main` prints for an error that ends a command: every configuration problem on its own
/// line, then `steerdns: ` and the error with its cause chain.
pub fn render_report(error: &AppError) -> String {
    let mut out = String::new();
    for p in error.problems() {
        out.push_str(&p);
        out.push('\n');
    }
    out.push_str("steerdns: ");
    out.push_str(&render_chain(error));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_found() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory")
    }

    #[test]
    fn the_chain_is_one_line_outermost_first() {
        let e = GeoError::Read {
            path: "geoip/x.mmdb".into(),
            source: not_found(),
        };
        assert_eq!(
            render_chain(&e),
            "cannot read GeoIP database geoip/x.mmdb: No such file or directory"
        );
        // Wrapped once more, the whole chain still shows, each cause once.
        let app = AppError::Geo(e);
        assert_eq!(
            render_chain(&app),
            "cannot read GeoIP database geoip/x.mmdb: No such file or directory"
        );
        let pid = AppError::PidFile {
            path: "steerdns.pid".into(),
            source: not_found(),
        };
        assert_eq!(
            render_report(&pid),
            "steerdns: cannot read pid file steerdns.pid: No such file or directory"
        );
    }

    #[test]
    fn config_problems_print_one_per_line_before_the_summary() {
        let errors = ConfigErrors(vec![
            ConfigError::new("zones/a.toml".into(), Some(3), "bad origin"),
            ConfigError::unreadable("zones/b.toml".into(), not_found()),
        ]);
        assert_eq!(
            errors.to_string(),
            "zones/a.toml:3: bad origin\nzones/b.toml: cannot read: No such file or directory"
        );
        let app = AppError::from(errors);
        assert_eq!(
            render_report(&app),
            "zones/a.toml:3: bad origin\n\
             zones/b.toml: cannot read: No such file or directory\n\
             steerdns: configuration has 2 error(s)"
        );
    }
}
