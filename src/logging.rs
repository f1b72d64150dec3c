//! The daemon's log output: text or JSON lines on stderr (`[log] format`), filtered by
//! `STEERDNS_LOG` (default `info`). The format can change on reload: the formatting layer
//! sits behind a [`reload`](tracing_subscriber::reload) handle that [`LogControl`] swaps.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

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

impl LogControl {
    /// Installs the process's log subscriber with `format`. When one is already installed
    /// (tests running the daemon in-process), logging stays as it is and format changes are
    /// ignored.
    pub fn init(format: LogFormat) -> Self {
        let filter =
            EnvFilter::try_from_env("STEERDNS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
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
