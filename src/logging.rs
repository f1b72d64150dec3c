//! The daemon's log output: text or JSON lines on stderr (`[log] format`), filtered by
//! `STEERDNS_LOG` (default `info`): a level, and levels per target, such as
//! `info,steerdns::health=debug` ([`Targets`]; `tracing-subscriber`'s `EnvFilter` would also
//! take span and field filters, at the price of a regex engine in the build). The format can
//! change on reload: the formatting layer sits behind a [`reload`](tracing_subscriber::reload)
//! handle that [`LogControl`] swaps.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry, reload};

use crate::config::model::LogFormat;

type FormatLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Changes the log format of the running process.
pub struct LogControl {
    handle: Option<reload::Handle<FormatLayer, Registry>>,
    format: LogFormat,
}

impl std::fmt::Debug for LogControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogControl")
            .field("format", &self.format)
            .field("installed", &self.handle.is_some())
            .finish()
    }
}

fn format_layer(format: LogFormat) -> FormatLayer {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi && format == LogFormat::Text);
    match format {
        LogFormat::Json => layer.json().boxed(),
        LogFormat::Text => layer.boxed(),
    }
}

/// The filter for `STEERDNS_LOG`'s value: `info` when it is unset or does not parse.
fn filter(value: Option<&str>) -> Targets {
    value
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

impl LogControl {
    /// Installs the process's log subscriber with `format`. When one is already installed
    /// (tests running the daemon in-process), logging stays as it is and format changes are
    /// ignored.
    pub fn init(format: LogFormat) -> Self {
        let filter = filter(std::env::var("STEERDNS_LOG").ok().as_deref());
        let (layer, handle) = reload::Layer::new(format_layer(format));
        let installed = tracing_subscriber::registry()
            .with(layer)
            .with(filter)
            .try_init()
            .is_ok();
        Self {
            handle: installed.then_some(handle),
            format,
        }
    }

    /// The format in use.
    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// Switches to `format` (no-op when it is already in use). Returns a description of the
    /// failure when the subscriber is gone.
    pub fn set_format(&mut self, format: LogFormat) -> Result<(), String> {
        if format == self.format {
            return Ok(());
        }
        let Some(handle) = &self.handle else {
            return Err("another log subscriber is installed in this process".into());
        };
        handle
            .reload(format_layer(format))
            .map_err(|e| e.to_string())?;
        self.format = format;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn steerdns_log_takes_a_level_and_levels_per_target() {
        let unset = filter(None);
        assert!(unset.would_enable("steerdns::health", &Level::INFO));
        assert!(!unset.would_enable("steerdns::health", &Level::DEBUG));
        let f = filter(Some("warn,steerdns::health=debug"));
        assert!(f.would_enable("steerdns::health::runner", &Level::DEBUG));
        assert!(!f.would_enable("steerdns::dns", &Level::INFO));
        assert!(f.would_enable("hyper", &Level::WARN));
        let bad = filter(Some("steerdns=loud"));
        assert!(bad.would_enable("steerdns", &Level::INFO));
        assert!(!bad.would_enable("steerdns", &Level::DEBUG));
    }
}
