//! The admin listener's access rule (SPEC section 2, `[metrics] trusted` and `token_file`).
//!
//! ```text
//!  /metrics, /healthz ─────────────────────────────────────────► open (scrapers)
//!  anything else ─► client in `trusted`? ── yes ──────────────► allowed
//!                        │ no
//!                        ▼
//!                   token file set? ── no ─────────────────────► 403 Forbidden
//!                        │ yes
//!                        ▼
//!                   "Authorization: Bearer <token>" or
//!                   HTTP Basic with password <token>? ── yes ──► allowed
//!                        │ no (missing or wrong)
//!                        ▼
//!                   401 Unauthorized (WWW-Authenticate: Basic, so a browser asks)
//! ```
//!
//! A pure function of the client address, the `Authorization` header and the settings of the
//! snapshot being served, so a reload that changes `trusted` or the token applies to the next
//! request.

use std::net::IpAddr;

use base64::Engine;
use subtle::ConstantTimeEq;

use crate::config::model::{AdminAccess, Token};

/// Paths anyone may read: Prometheus scrapers and liveness probes carry no credentials.
pub const OPEN_PATHS: [&str; 2] = ["/metrics", "/healthz"];

/// What the rule says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Serve it.
    Allowed,
    /// 401: a token file is configured and the request carries no token or a wrong one.
    Unauthorized,
    /// 403: the client is not trusted and there is no token that could admit it.
    Forbidden,
}

/// Decides whether a request for `path` from `client` with the given `Authorization` header
/// value may be served.
pub fn decide(
    path: &str,
    client: IpAddr,
    authorization: Option<&[u8]>,
    access: &AdminAccess,
) -> Verdict {
    if OPEN_PATHS.contains(&path) {
        return Verdict::Allowed;
    }
    // A v4 client on a dual-stack socket shows as ::ffff:a.b.c.d; `trusted` lists it as v4.
    let client = client.to_canonical();
    if access.trusted.iter().any(|net| net.contains(&client)) {
        return Verdict::Allowed;
    }
    let Some(token) = &access.token else {
        return Verdict::Forbidden;
    };
    match authorization.and_then(presented_secret) {
        Some(secret) if matches(&secret, token) => Verdict::Allowed,
        _ => Verdict::Unauthorized,
    }
}

/// The secret in an `Authorization` header: the Bearer token, or the password of Basic
/// credentials (the user name is ignored). Schemes are case-insensitive (RFC 9110 11.1).
fn presented_secret(header: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(header).ok()?.trim();
    let (scheme, rest) = text.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(rest.as_bytes().to_vec())
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let colon = decoded.iter().position(|&b| b == b':')?;
        Some(decoded[colon + 1..].to_vec())
    } else {
        None
    }
}

/// Compares in time independent of where the first difference is.
fn matches(presented: &[u8], token: &Token) -> bool {
    presented.ct_eq(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(token: Option<&str>) -> AdminAccess {
        let dir = tempfile::tempdir().unwrap();
        let token = token.map(|t| {
            let p = dir.path().join("t");
            std::fs::write(&p, t).unwrap();
            crate::config::compile::read_token(&p).unwrap()
        });
        AdminAccess {
            trusted: vec!["127.0.0.1/32".parse().unwrap(), "::1/128".parse().unwrap()],
            token,
        }
    }

    fn basic(user_pass: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
        .into_bytes()
    }

    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

    #[test]
    fn open_paths_need_nothing() {
        for path in OPEN_PATHS {
            assert_eq!(decide(path, OTHER, None, &access(None)), Verdict::Allowed);
        }
    }

    #[test]
    fn trusted_clients_need_no_token() {
        let a = access(Some("s3cret"));
        for client in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            let ip: IpAddr = client.parse().unwrap();
            assert_eq!(
                decide("/v1/reload", ip, None, &a),
                Verdict::Allowed,
                "{client}"
            );
            assert_eq!(decide("/", ip, None, &a), Verdict::Allowed, "{client}");
        }
    }

    #[test]
    fn others_need_the_token_as_bearer_or_basic_password() {
        let a = access(Some("s3cret"));
        let ok: [&[u8]; 4] = [
            b"Bearer s3cret",
            b"bearer  s3cret ",
            &basic("admin:s3cret"),
            &basic(":s3cret"),
        ];
        for h in ok {
            assert_eq!(
                decide("/v1/reload", OTHER, Some(h), &a),
                Verdict::Allowed,
                "{}",
                String::from_utf8_lossy(h)
            );
        }
        let refused: [Option<&[u8]>; 7] = [
            None,
            Some(b"Bearer wrong"),
            Some(b"Bearer s3cret2"),
            Some(b"Bearer"),
            Some(b"Token s3cret"),
            Some(&basic("s3cret:")),
            Some(b"Basic not-base64!"),
        ];
        for h in refused {
            assert_eq!(
                decide("/v1/status", OTHER, h, &a),
                Verdict::Unauthorized,
                "{:?}",
                h.map(String::from_utf8_lossy)
            );
        }
    }

    #[test]
    fn without_a_token_file_others_are_forbidden() {
        let a = access(None);
        assert_eq!(decide("/v1/explain", OTHER, None, &a), Verdict::Forbidden);
        assert_eq!(
            decide("/", OTHER, Some(b"Bearer anything"), &a),
            Verdict::Forbidden
        );
        assert_eq!(decide("/nope", OTHER, None, &a), Verdict::Forbidden);
    }
}
