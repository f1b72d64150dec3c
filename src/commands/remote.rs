//! The one-shot commands' client of a daemon's admin listener (`explain --server`,
//! `reload`): `--server` as a URL or `host:port`, the config's token sent as a Bearer header,
//! and errors that keep their cause (connection refused, timeout, TLS).

use std::time::Duration;

use crate::config::compile::read_token;
use crate::config::model::Token;
use crate::error::{AppError, render_chain};

/// How long to wait for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A daemon's admin listener, with the blocking calls the one-shot commands need.
#[derive(Debug)]
pub struct AdminClient {
    base: reqwest::Url,
    token: Option<Token>,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

/// The base URL of an admin listener given as `http://host:port[/]`, `https://...`, or
/// `host:port` (`[::1]:9153` for IPv6): `http://` is assumed without a scheme.
pub fn admin_url(server: &str) -> Result<reqwest::Url, AppError> {
    let server = server.trim();
    let text = if server.contains("://") {
        server.to_string()
    } else {
        format!("http://{server}")
    };
    let url = reqwest::Url::parse(&text).map_err(|source| AppError::ServerUrl {
        given: server.to_string(),
        source,
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(AppError::ServerScheme(server.to_string()));
    }
    Ok(url)
}

/// A response: its status and body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: reqwest::StatusCode,
    /// Body text.
    pub body: String,
    /// The URL asked.
    pub url: String,
}

impl Answer {
    /// The body when the status is a success; else an error naming the URL, status and the
    /// daemon's message.
    pub fn success(self) -> Result<String, AppError> {
        if self.status.is_success() {
            return Ok(self.body);
        }
        let message = serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| self.body.trim().to_string());
        Err(AppError::Status {
            url: self.url,
            status: self.status.to_string(),
            body: message,
        })
    }
}

impl AdminClient {
    /// A client of `base`, sending `token` when given; requests time out after `timeout`.
    pub fn new(
        base: reqwest::Url,
        token: Option<Token>,
        timeout: Duration,
    ) -> Result<Self, AppError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(AppError::Runtime)?;
        let http = crate::tls::client_builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(timeout)
            .build()
            .map_err(AppError::HttpClient)?;
        Ok(Self {
            base,
            token,
            http,
            runtime,
        })
    }

    /// The URL of `path_and_query` under the base (`/v1/reload`).
    pub fn url(&self, path_and_query: &str) -> String {
        let base = self.base.as_str().trim_end_matches('/');
        format!("{base}{path_and_query}")
    }

    /// GET `path_and_query`.
    pub fn get(&self, path_and_query: &str) -> Result<Answer, AppError> {
        self.send(reqwest::Method::GET, path_and_query)
    }

    /// POST `path_and_query` with an empty body.
    pub fn post(&self, path_and_query: &str) -> Result<Answer, AppError> {
        self.send(reqwest::Method::POST, path_and_query)
    }

    fn send(&self, method: reqwest::Method, path_and_query: &str) -> Result<Answer, AppError> {
        let url = self.url(path_and_query);
        let mut request = self.http.request(method, &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        self.runtime.block_on(async {
            let response = request
                .send()
                .await
                .map_err(|source| AppError::Unreachable {
                    url: url.clone(),
                    source,
                })?;
            let status = response.status();
            let body = response
                .text()
                .await
                .map_err(|source| AppError::Unreadable {
                    url: url.clone(),
                    source,
                })?;
            Ok(Answer { status, body, url })
        })
    }
}

/// The client of the daemon named by `--server`, else by the config's `[metrics] listen`,
/// with the config's token.
pub fn client_for(
    path: &std::path::Path,
    server: Option<&str>,
    timeout: Duration,
) -> Result<AdminClient, AppError> {
    let contact = crate::config::compile::daemon_contact_of(path).map_err(|e| {
        if e.cause.is_some() && e.line.is_none() {
            AppError::Load(crate::error::LoadError::MainUnreadable(e))
        } else {
            AppError::from(e)
        }
    })?;
    let base = match server {
        Some(s) => admin_url(s)?,
        None => match contact.admin {
            Some(a) => admin_url(&a.to_string())?,
            None => return Err(AppError::NoAdmin(path.to_path_buf())),
        },
    };
    let token = token_from(contact.token_file.as_deref());
    AdminClient::new(base, token, timeout)
}

/// The token of `[metrics] token_file`, to present to the daemon. A token file this user
/// cannot read is reported on stderr and the request goes without (a trusted client needs
/// none).
pub fn token_from(token_file: Option<&std::path::Path>) -> Option<Token> {
    let path = token_file?;
    match read_token(path) {
        Ok(t) => Some(t),
        Err(e) => {
            eprintln!(
                "steerdns: [metrics] token_file {}: {}; asking without a token",
                path.display(),
                render_chain(&e)
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_is_a_url_or_host_and_port() {
        for (given, want) in [
            ("127.0.0.1:9153", "http://127.0.0.1:9153/"),
            ("http://127.0.0.1:9153", "http://127.0.0.1:9153/"),
            ("http://127.0.0.1:9153/", "http://127.0.0.1:9153/"),
            (
                "https://ns1.example.test:9153",
                "https://ns1.example.test:9153/",
            ),
            ("[::1]:9153", "http://[::1]:9153/"),
            ("localhost:9153", "http://localhost:9153/"),
        ] {
            assert_eq!(admin_url(given).unwrap().as_str(), want, "{given}");
        }
        for bad in ["ftp://127.0.0.1:9153", "http://", "127.0.0.1:notaport"] {
            assert!(admin_url(bad).is_err(), "{bad}");
        }
    }
}
