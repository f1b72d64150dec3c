//! Probes: one HTTP(S) request or TCP connect to an endpoint's own address, turned into a
//! [`ProbeOutcome`]. No state: deciding up or down is [`super::state`]'s job.
//!
//! Choices made on purpose:
//!
//! - Every probe connects to [`ProbeSpec::target`] (the endpoint's IP and the check's port),
//!   never to whatever a name resolves to.
//! - Redirects are never followed: a 3xx is judged against `expect_status` like any status.
//! - No connection reuse: the clients keep no idle connections and send `Connection: close`, so
//!   every probe opens a fresh TCP (and TLS) connection. A pooled connection can keep answering
//!   while new ones fail at a firewall or L4 load balancer, which is exactly what resolvers
//!   would then hit. (Plain HTTP checks may opt in with `reuse_connection`.)
//! - Plain HTTP and TCP probe connections end with a reset (zero linger), not a FIN exchange,
//!   like HAProxy's checks: no TIME_WAIT socket per probe on either side (see `connect`).
//! - No proxy from the environment: a probe measures the endpoint, not a proxy.
//! - Every probe is bounded by its `timeout`, connect, TLS, headers and body together.
//! - With a [`ProbeSpec::source`] (`[health] source_v4` / `source_v6`) the socket is bound to
//!   that address before it connects, so the probe leaves from it on a multi-homed host (and
//!   the endpoint sees it, e.g. in a firewall rule that admits the checkers). A source that
//!   cannot be bound fails the probe with a reason naming it.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::time::Instant;

use crate::error::ProbeError;

/// At most this much of a response body is read and searched for `expect_body`.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Above this many cached per-name HTTPS clients the cache is emptied and refilled on demand,
/// so endpoints removed by reloads do not leak clients forever.
const NAMED_CLIENT_CACHE_MAX: usize = 4096;

/// TLS settings of an `https` check.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TlsSpec {
    /// Verify the certificate chain and name (default true in the config). When false any
    /// certificate is accepted; the probe still needs a completed TLS handshake.
    pub verify: bool,
    /// Server name sent as SNI and verified against the certificate. When `None`, the name of
    /// the `host` header is used, and without that the IP address (no SNI is sent for an IP).
    pub sni: Option<String>,
}

/// What a probe does, per check kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    /// `http` (`tls: None`) or `https` (`tls: Some`): GET `path`, judge status and body.
    Http {
        /// Request path with query, starting with `/` (one is added when missing).
        path: String,
        /// Optional `Host` header value (`name` or `name:port`); default the target address.
        host: Option<String>,
        /// Accepted status codes; an empty list means `[200]`.
        expect_status: Vec<u16>,
        /// Optional substring that must appear in the first [`BODY_LIMIT`] bytes of the body.
        expect_body: Option<String>,
        /// TLS settings; `Some` makes the check `https`.
        tls: Option<TlsSpec>,
        /// Plain HTTP only: keep the connection open between probes (HTTP/1.1 keep-alive)
        /// instead of opening one per probe. Cheaper (no handshake per probe), but a kept
        /// connection can hide a firewall or listener that refuses new ones, so it is off by
        /// default. A kept connection that the server closed is replaced at once, not counted
        /// as a failure.
        reuse: bool,
    },
    /// `tcp`: pass when a TCP connection to the target completes.
    Tcp,
    /// `none`: always passes without any I/O.
    None,
}

/// Everything needed to probe one endpoint once. Equal specs probe the same way, which is how a
/// reload recognises an unchanged check.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProbeSpec {
    /// Check kind and its parameters.
    pub kind: ProbeKind,
    /// The endpoint's own IP address and the check's port.
    pub target: SocketAddr,
    /// Upper bound for the whole probe; the config requires it to be shorter than `interval`.
    pub timeout: Duration,
    /// Local address the probe's connection is bound to (`[health] source_v4` for an IPv4
    /// target, `source_v6` for an IPv6 one); `None` lets the kernel choose. Not part of what
    /// makes a check "unchanged" on reload ([`ProbeSpec::same_check`]).
    pub source: Option<IpAddr>,
}

impl ProbeSpec {
    /// True when `self` and `other` probe the same way apart from the source address: a reload
    /// that only moves probes to another source address keeps the endpoint's state.
    pub fn same_check(&self, other: &Self) -> bool {
        self.kind == other.kind && self.target == other.target && self.timeout == other.timeout
    }
}

/// Result of one probe. A failed probe is one failed observation, not an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeOutcome {
    /// Whether the endpoint passed.
    pub passed: bool,
    /// Short reason for logs: "HTTP 200", "HTTP 503", "connect refused", "timeout",
    /// "body mismatch", "connected", ...
    pub reason: String,
    /// Time from start to result.
    pub elapsed: Duration,
}

impl ProbeOutcome {
    /// A passing outcome.
    pub fn pass(reason: impl Into<String>, elapsed: Duration) -> Self {
        Self {
            passed: true,
            reason: reason.into(),
            elapsed,
        }
    }

    /// A failing outcome.
    pub fn fail(reason: impl Into<String>, elapsed: Duration) -> Self {
        Self {
            passed: false,
            reason: reason.into(),
            elapsed,
        }
    }
}

/// Something that can probe an endpoint: the real [`Prober`] in production, a fake in tests.
///
/// The method returns a boxed future so the runner can hold an `Arc<dyn Probe>`.
pub trait Probe: Send + Sync + 'static {
    /// Probe once according to `spec`. Must not take (much) longer than `spec.timeout`; the
    /// runner enforces the bound anyway.
    fn probe<'a>(
        &'a self,
        spec: &'a ProbeSpec,
    ) -> Pin<Box<dyn Future<Output = ProbeOutcome> + Send + 'a>>;
}

/// The production [`Probe`]: HTTP(S) via reqwest with rustls, TCP via tokio.
///
/// The two rustls configurations (verifying against the system's roots, and accepting any
/// certificate) are built once; every HTTP client shares them, so the root store is parsed once
/// per process. Two clients (verifying and not) serve every probe whose URL can name the target
/// IP. A probe whose TLS name is a host name needs its connection sent to the IP while the URL
/// names the server; reqwest offers that only per client (`resolve`), so such clients are built
/// on first use per (name, target, verify) and cached. They are cheap: no pool, shared TLS
/// configuration. A reqwest client binds one local address for all its connections
/// (`local_address`), so HTTPS probes with a [`ProbeSpec::source`] use clients built per
/// source address, cached the same way.
pub struct Prober {
    verifying_tls: Result<rustls::ClientConfig, String>,
    insecure_tls: rustls::ClientConfig,
    verifying: Result<reqwest::Client, String>,
    insecure: reqwest::Client,
    named: Mutex<HashMap<ClientKey, reqwest::Client>>,
    /// Kept plain-HTTP connections (checks with `reuse`), one per target, Host and source.
    idle: Mutex<HashMap<IdleKey, tokio::net::TcpStream>>,
}

/// What a cached HTTPS client is specific to: the TLS name it resolves to the target (with
/// the target), whether it verifies, and the source address it binds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ClientKey {
    name: Option<(String, SocketAddr)>,
    verify: bool,
    source: Option<IpAddr>,
}

/// A kept plain-HTTP connection is reused only for the same target, Host and source.
type IdleKey = (SocketAddr, Option<String>, Option<IpAddr>);

impl std::fmt::Debug for Prober {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prober").finish_non_exhaustive()
    }
}

fn client_builder(tls: &rustls::ClientConfig) -> reqwest::ClientBuilder {
    crate::tls::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .no_proxy()
        .tls_backend_preconfigured(tls.clone())
        .user_agent(concat!("steerdns-health/", env!("CARGO_PKG_VERSION")))
}

impl Prober {
    /// Build the shared TLS configurations and HTTP clients, trusting the system's roots.
    ///
    /// When the system has no usable root certificates this still succeeds: probes with
    /// `tls_verify = true` then fail with a reason saying so, all others work.
    pub fn new() -> Result<Self, ProbeError> {
        Self::with_extra_roots(Vec::new())
    }

    /// Like [`Prober::new`], also trusting `roots` (a private CA; tests use a self-signed
    /// certificate).
    pub fn with_extra_roots(roots: Vec<CertificateDer<'static>>) -> Result<Self, ProbeError> {
        let provider = crate::tls::provider();
        let verifying_tls =
            rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider.clone())
                .map_err(|e| format!("no usable CA certificates: {e}"))
                .and_then(|verifier| {
                    tls_config(provider.clone(), Arc::new(verifier))
                        .map_err(|e| format!("TLS setup failed: {e}"))
                });
        if let Err(e) = &verifying_tls {
            tracing::warn!(error = %e, "https checks with tls_verify = true will fail");
        }
        let insecure_tls = tls_config(provider.clone(), Arc::new(AcceptAnyCertificate(provider)))
            .map_err(|source| ProbeError::Tls { source })?;
        let build = |tls: &rustls::ClientConfig| {
            client_builder(tls)
                .build()
                .map_err(|source| ProbeError::Client { source })
        };
        let verifying = match &verifying_tls {
            Ok(tls) => Ok(build(tls)?),
            Err(e) => Err(e.clone()),
        };
        Ok(Self {
            insecure: build(&insecure_tls)?,
            verifying,
            verifying_tls,
            insecure_tls,
            named: Mutex::new(HashMap::new()),
            idle: Mutex::new(HashMap::new()),
        })
    }

    /// Probe once according to `spec`, bounded by `spec.timeout`.
    pub async fn probe(&self, spec: &ProbeSpec) -> ProbeOutcome {
        let start = Instant::now();
        let result = match &spec.kind {
            ProbeKind::None => return ProbeOutcome::pass("no check", Duration::ZERO),
            ProbeKind::Tcp => {
                tokio::time::timeout(spec.timeout, probe_tcp(spec.target, spec.source)).await
            }
            ProbeKind::Http {
                path,
                host,
                expect_status,
                expect_body,
                tls,
                reuse,
            } => {
                let req = HttpProbe {
                    reuse: *reuse && tls.is_none(),
                    target: spec.target,
                    source: spec.source,
                    path,
                    host: host.as_deref(),
                    expect_status,
                    expect_body: expect_body.as_deref(),
                    tls: tls.as_ref(),
                };
                tokio::time::timeout(spec.timeout, self.probe_http(req)).await
            }
        };
        let elapsed = start.elapsed();
        match result {
            Ok(Ok(reason)) => ProbeOutcome::pass(reason, elapsed),
            Ok(Err(reason)) => ProbeOutcome::fail(reason, elapsed),
            Err(_) => ProbeOutcome::fail("timeout", elapsed),
        }
    }

    /// The client for a probe: a shared one, or a cached one that resolves `name` to the
    /// target and/or binds `source`.
    fn client_for(
        &self,
        name: Option<&str>,
        target: SocketAddr,
        verify: bool,
        source: Option<IpAddr>,
    ) -> Result<reqwest::Client, String> {
        if name.is_none() && source.is_none() {
            return if verify {
                self.verifying.clone()
            } else {
                Ok(self.insecure.clone())
            };
        }
        let key = ClientKey {
            name: name.map(|n| (n.to_owned(), target)),
            verify,
            source,
        };
        // A poisoned lock only means another probe panicked while holding it; the map is
        // still a valid cache.
        let mut cache = self.named.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cache.get(&key) {
            return Ok(c.clone());
        }
        let tls = if verify {
            self.verifying_tls.as_ref().map_err(Clone::clone)?
        } else {
            &self.insecure_tls
        };
        let mut builder = client_builder(tls).local_address(source);
        if let Some(name) = name {
            builder = builder.resolve(name, target);
        }
        let client = builder
            .build()
            .map_err(|e| format!("client setup failed: {}", innermost(&e)))?;
        if cache.len() >= NAMED_CLIENT_CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, client.clone());
        Ok(client)
    }

    async fn probe_http(&self, p: HttpProbe<'_>) -> Result<String, String> {
        if p.tls.is_none() {
            return self.probe_plain_http(&p).await;
        }
        let (scheme, tls_name, verify) = match p.tls {
            // Plain HTTP never touches TLS settings, so any client will do.
            None => ("http", None, false),
            Some(tls) => {
                let name = tls
                    .sni
                    .as_deref()
                    .or_else(|| p.host.map(host_name))
                    .filter(|n| !n.is_empty());
                // An IP literal as "name" gains nothing over the target itself.
                let name = name.filter(|n| n.parse::<std::net::IpAddr>().is_err());
                ("https", name, tls.verify)
            }
        };
        let client = self.client_for(tls_name, p.target, verify, p.source)?;
        let slash = if p.path.starts_with('/') { "" } else { "/" };
        let url = match tls_name {
            Some(name) => format!("{scheme}://{name}:{}{slash}{}", p.target.port(), p.path),
            None => format!("{scheme}://{}{slash}{}", p.target, p.path),
        };
        let mut req = client
            .get(&url)
            .header(reqwest::header::CONNECTION, "close");
        if let Some(host) = p.host {
            let value = reqwest::header::HeaderValue::from_str(host)
                .map_err(|_| "invalid host header".to_owned())?;
            req = req.header(reqwest::header::HOST, value);
        }
        let mut resp = req.send().await.map_err(|e| describe(&e))?;
        let status = resp.status().as_u16();
        let accepted = if p.expect_status.is_empty() {
            status == 200
        } else {
            p.expect_status.contains(&status)
        };
        if !accepted {
            return Err(format!("HTTP {status}"));
        }
        if let Some(needle) = p.expect_body {
            let mut body: Vec<u8> = Vec::new();
            while body.len() < BODY_LIMIT {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        let room = BODY_LIMIT - body.len();
                        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    }
                    Ok(None) => break,
                    Err(e) => return Err(format!("body read failed: {}", innermost(&e))),
                }
            }
            if !contains(&body, needle.as_bytes()) {
                return Err("body mismatch".to_owned());
            }
        }
        Ok(format!("HTTP {status}"))
    }
}

impl Probe for Prober {
    fn probe<'a>(
        &'a self,
        spec: &'a ProbeSpec,
    ) -> Pin<Box<dyn Future<Output = ProbeOutcome> + Send + 'a>> {
        Box::pin(Self::probe(self, spec))
    }
}

/// A rustls client configuration with `verifier`, safe default protocol versions, no client
/// certificate.
fn tls_config(
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// `tls_verify = false`: any certificate chain and name is accepted, but the handshake
/// signatures are still checked, so the peer must hold the key of the certificate it shows.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The parts of an HTTP(S) check one probe needs.
struct HttpProbe<'a> {
    reuse: bool,
    target: SocketAddr,
    source: Option<IpAddr>,
    path: &'a str,
    host: Option<&'a str>,
    expect_status: &'a [u16],
    expect_body: Option<&'a str>,
    tls: Option<&'a TlsSpec>,
}

/// Largest response head (status line and headers) a plain HTTP probe reads.
const HEAD_LIMIT: usize = 16 * 1024;

/// Why an HTTP exchange did not produce a verdict.
enum Exchange {
    /// The connection closed or failed before any byte of a response: on a kept connection
    /// this means the server let it go, and a fresh one is tried.
    Stale(String),
    /// A real failure (a bad status, a body mismatch, a broken response).
    Failed(String),
}

impl Prober {
    /// Plain-HTTP probe written directly on a TCP stream: one `GET`, the status line checked,
    /// the body read when `expect_body` asks or a kept connection must be drained (identity,
    /// `Content-Length` or chunked, at most [`BODY_LIMIT`]). Measured on loopback with 2000
    /// endpoints a second it costs about half the CPU of the same probe through reqwest
    /// (README, health section); HTTPS still goes through reqwest and rustls.
    async fn probe_plain_http(&self, p: &HttpProbe<'_>) -> Result<String, String> {
        let slash = if p.path.starts_with('/') { "" } else { "/" };
        let host = match p.host {
            Some(h) => h.to_owned(),
            None => p.target.to_string(),
        };
        if host.bytes().any(|b| b.is_ascii_control())
            || p.path.bytes().any(|b| b.is_ascii_control())
        {
            return Err("invalid host header or path".to_owned());
        }
        let connection = if p.reuse { "keep-alive" } else { "close" };
        let request = format!(
            "GET {slash}{} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: steerdns-health\r\nAccept: */*\r\nConnection: {connection}\r\n\r\n",
            p.path
        );
        let key = (p.target, p.host.map(str::to_owned), p.source);
        if p.reuse {
            let kept = self
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
            if let Some(stream) = kept {
                match exchange(stream, p, &request).await {
                    Ok((reason, keep)) => return Ok(self.keep(key, keep, reason)),
                    Err(Exchange::Failed(reason)) => return Err(reason),
                    Err(Exchange::Stale(_)) => {} // the server closed it: try a new one
                }
            }
        }
        let stream = connect(p.target, p.source).await?;
        match exchange(stream, p, &request).await {
            Ok((reason, keep)) => Ok(self.keep(key, keep, reason)),
            Err(Exchange::Failed(reason) | Exchange::Stale(reason)) => Err(reason),
        }
    }

    /// Stores a connection that may be reused; returns `reason` for convenience.
    fn keep(&self, key: IdleKey, stream: Option<tokio::net::TcpStream>, reason: String) -> String {
        if let Some(stream) = stream {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() >= IDLE_CONNECTIONS_MAX {
                idle.clear();
            }
            idle.insert(key, stream);
        }
        reason
    }
}

/// Most kept plain-HTTP connections (one per checked endpoint with `reuse`).
const IDLE_CONNECTIONS_MAX: usize = 16_384;

/// One request and response on `stream`. On success returns the pass reason and the stream
/// when it may carry the next probe (keep-alive asked and honoured, body fully read).
async fn exchange(
    mut stream: tokio::net::TcpStream,
    p: &HttpProbe<'_>,
    request: &str,
) -> Result<(String, Option<tokio::net::TcpStream>), Exchange> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| Exchange::Stale(describe_io(&e)))?;

    // Response head.
    let mut buf = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() >= HEAD_LIMIT {
            return Err(Exchange::Failed("response head too long".to_owned()));
        }
        // Into the vector's spare room: no buffer on the future's stack, so the probe's
        // future stays small (it is moved into a box and a timeout once per probe).
        buf.reserve(2048);
        let n = match stream.read_buf(&mut buf).await {
            Ok(n) => n,
            Err(e) if buf.is_empty() => return Err(Exchange::Stale(describe_io(&e))),
            Err(e) => return Err(Exchange::Failed(describe_io(&e))),
        };
        if n == 0 {
            let reason = "connection closed before the response head".to_owned();
            return Err(if buf.is_empty() {
                Exchange::Stale(reason)
            } else {
                Exchange::Failed(reason)
            });
        }
    };
    let failed = |m: &str| Exchange::Failed(m.to_owned());
    let head =
        std::str::from_utf8(&buf[..head_end]).map_err(|_| failed("malformed response head"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| failed("malformed status line"))?;
    let accepted = if p.expect_status.is_empty() {
        status == 200
    } else {
        p.expect_status.contains(&status)
    };
    if !accepted {
        return Err(Exchange::Failed(format!("HTTP {status}")));
    }

    let mut chunked = false;
    let mut length: Option<usize> = None;
    let mut server_closes = status_line.starts_with("HTTP/1.0");
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("transfer-encoding")
                && value.eq_ignore_ascii_case("chunked")
            {
                chunked = true;
            } else if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().ok();
            } else if name.eq_ignore_ascii_case("connection") {
                server_closes = value.eq_ignore_ascii_case("close");
            }
        }
    }
    // A kept connection needs the whole body read; only a Content-Length body small enough
    // is worth that.
    let reusable = p.reuse && !server_closes && !chunked && length.is_some_and(|l| l <= BODY_LIMIT);
    if p.expect_body.is_none() && !reusable {
        return Ok((format!("HTTP {status}"), None));
    }
    let mut raw = buf.split_off(head_end);
    let want = length.map_or(BODY_LIMIT, |l| l.min(BODY_LIMIT));
    let raw_limit = if chunked { BODY_LIMIT * 2 } else { want };
    while raw.len() < raw_limit {
        raw.reserve((raw_limit - raw.len()).min(8192));
        let n = stream
            .read_buf(&mut raw)
            .await
            .map_err(|e| Exchange::Failed(format!("body read failed: {}", describe_io(&e))))?;
        if n == 0 {
            break;
        }
        if chunked && raw.ends_with(b"0\r\n\r\n") {
            break;
        }
    }
    let complete = length.is_some_and(|l| raw.len() == l);
    let body = if chunked { dechunk(&raw) } else { raw };
    let body = &body[..body.len().min(BODY_LIMIT)];
    if let Some(needle) = p.expect_body
        && !contains(body, needle.as_bytes())
    {
        return Err(failed("body mismatch"));
    }
    Ok((
        format!("HTTP {status}"),
        (reusable && complete).then_some(stream),
    ))
}

/// Decodes a chunked body (as much as is complete), ignoring chunk extensions and trailers.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    while let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size_text = std::str::from_utf8(&raw[..line_end]).unwrap_or("");
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        let start = line_end + 2;
        if size == 0 || start >= raw.len() {
            break;
        }
        let end = (start + size).min(raw.len());
        out.extend_from_slice(&raw[start..end]);
        if end + 2 > raw.len() {
            break;
        }
        raw = &raw[end + 2..];
    }
    out
}

async fn probe_tcp(target: SocketAddr, source: Option<IpAddr>) -> Result<String, String> {
    // Dropped at once: the zero linger set by `connect` makes that a reset.
    connect(target, source)
        .await
        .map(|_| "connected".to_owned())
}

/// A TCP connection to `target`, bound to `source` (port chosen by the kernel) first when one
/// is given. Errors are probe reasons: "connect refused", "cannot bind source 192.0.2.1: ...".
///
/// The connection has a zero linger time (`SO_LINGER` on, 0 s), so dropping it sends a reset
/// instead of the FIN exchange, as HAProxy's and keepalived's checkers do: once the verdict is
/// in nothing more is owed to the endpoint, and neither side keeps a socket in TIME_WAIT
/// (60 s on Linux). At 2000 probes a second a graceful close leaves ~120k TIME_WAIT sockets,
/// more than the ephemeral port range, and four more segments per probe for the kernel to
/// carry (BENCHMARKS.md, health section). No `TCP_NODELAY`: a probe writes its request once
/// and then only reads, so Nagle never holds anything back.
async fn connect(
    target: SocketAddr,
    source: Option<IpAddr>,
) -> Result<tokio::net::TcpStream, String> {
    let stream = match source {
        None => tokio::net::TcpStream::connect(target).await,
        Some(source) => {
            let socket = if target.is_ipv4() {
                tokio::net::TcpSocket::new_v4()
            } else {
                tokio::net::TcpSocket::new_v6()
            }
            .map_err(|e| format!("socket failed: {e}"))?;
            socket
                .bind(SocketAddr::new(source, 0))
                .map_err(|e| format!("cannot bind source {source}: {e}"))?;
            socket.connect(target).await
        }
    }
    .map_err(|e| describe_io(&e))?;
    // Failing only costs the reset; the probe's verdict does not depend on it.
    let _ = stream.set_zero_linger();
    Ok(stream)
}

/// The name part of a `Host` header value: `name:8080` → `name`. IPv6 literals are left alone
/// (they are filtered out as IP addresses by the caller).
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host;
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fn describe_io(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::ConnectionRefused => "connect refused".to_owned(),
        ErrorKind::ConnectionReset => "connection reset".to_owned(),
        ErrorKind::TimedOut => "timeout".to_owned(),
        _ => format!("connect failed: {e}"),
    }
}

/// A short reason for a failed request: the io error kind when there is one, else the
/// innermost cause's message.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind;
            if matches!(
                io.kind(),
                ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset | ErrorKind::TimedOut
            ) {
                return describe_io(io);
            }
        }
        cur = err.source();
    }
    if e.is_timeout() {
        return "timeout".to_owned();
    }
    let what = if e.is_connect() {
        "connect failed"
    } else {
        "request failed"
    };
    format!("{what}: {}", innermost(e))
}

fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_name_strips_port() {
        assert_eq!(host_name("www.example.test:8080"), "www.example.test");
        assert_eq!(host_name("www.example.test"), "www.example.test");
        assert_eq!(host_name("[::1]:80"), "[::1]:80");
        assert_eq!(host_name("odd:"), "odd:");
    }

    #[test]
    fn dechunk_joins_chunks() {
        assert_eq!(
            dechunk(b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n"),
            b"Wikipedia"
        );
        assert_eq!(dechunk(b"4\r\nWi"), b"Wi");
        assert_eq!(dechunk(b"zz\r\n"), b"");
    }

    #[test]
    fn contains_finds_substrings() {
        assert!(contains(b"status: ok\n", b"ok"));
        assert!(!contains(b"status: fine", b"ok"));
        assert!(contains(b"", b""));
        assert!(!contains(b"o", b"ok"));
    }

    #[tokio::test]
    async fn none_always_passes() {
        let prober = Prober::new();
        assert!(prober.is_ok());
        let Ok(prober) = prober else { return };
        let spec = ProbeSpec {
            kind: ProbeKind::None,
            target: SocketAddr::from(([127, 0, 0, 1], 9)),
            timeout: Duration::from_millis(10),
            source: None,
        };
        assert!(prober.probe(&spec).await.passed);
    }
}
