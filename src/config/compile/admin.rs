//! `[metrics] trusted` and `token_file` (SPEC section 2): who may use the admin API.
//!
//! The token file is read at every load, so `check` reports an unreadable or empty file with
//! its line and a reload picks up a new token.

use std::path::Path;
use std::sync::Arc;

use super::context::{loopback_nets, parse_nets, resolve};
use crate::config::model::{AdminAccess, Token};
use crate::config::schema::MetricsSection;
use crate::config::source::Source;
use crate::error::{ConfigError, TokenFileError};

/// Reads a token file: the secret is its content without surrounding white space.
pub fn read_token(path: &Path) -> Result<Token, TokenFileError> {
    let text = std::fs::read_to_string(path).map_err(TokenFileError::Read)?;
    let token = text.trim();
    if token.is_empty() {
        return Err(TokenFileError::Empty);
    }
    if token.chars().any(|c| c.is_control() || c == ' ') {
        // It travels in an HTTP header; control characters and spaces would not survive.
        return Err(TokenFileError::BadCharacters);
    }
    Ok(Token::new(token))
}

/// Compiles `[metrics] trusted` (default loopback) and reads `token_file`.
pub(super) fn compile_admin(
    src: &Source<'_>,
    base: &Path,
    section: &MetricsSection,
    errors: &mut Vec<ConfigError>,
) -> AdminAccess {
    let mut access = AdminAccess {
        trusted: match &section.trusted {
            None => loopback_nets(),
            Some(list) => parse_nets(src, list, errors),
        },
        token: None,
    };
    let Some(file) = section
        .token_file
        .as_ref()
        .filter(|f| !f.get_ref().is_empty())
    else {
        return access;
    };
    let path = resolve(base, file.get_ref());
    match read_token(&path) {
        Ok(token) => access.token = Some(token),
        Err(e) => {
            let message = format!("[metrics] token_file {}: {e}", path.display());
            let mut error = src.error(file.span(), message);
            if let TokenFileError::Read(io) = e {
                // "cannot read" is in the message; the OS reason follows as the cause.
                error.cause = Some(Arc::new(io));
            }
            errors.push(error);
        }
    }
    access
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_files_are_trimmed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        std::fs::write(&p, "s3cret\n").unwrap();
        assert_eq!(read_token(&p).unwrap().expose(), "s3cret");
        std::fs::write(&p, " \n").unwrap();
        assert!(matches!(read_token(&p), Err(TokenFileError::Empty)));
        std::fs::write(&p, "two words\n").unwrap();
        assert!(matches!(read_token(&p), Err(TokenFileError::BadCharacters)));
        assert!(matches!(
            read_token(&dir.path().join("missing")),
            Err(TokenFileError::Read(_))
        ));
        assert_eq!(
            format!("{:?}", Token::new("x")),
            "Token(<redacted>)",
            "Debug never shows the secret"
        );
    }
}
