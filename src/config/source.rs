//! A config or zone file's text, and how byte offsets in it become `file:line` errors.

use std::path::Path;

use crate::error::ConfigError;

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
        ConfigError::new(
            self.path.to_path_buf(),
            Some(self.line_of(span.start)),
            message,
        )
    }

    /// An error without a position.
    pub fn error_file(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::new(self.path.to_path_buf(), None, message)
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
