//! The `prometheus` rollout gate (SPEC 4.2): a PromQL instant query whose value must stay at
//! most `max`. Failure is the safe side: the gate fails when the value is above `max`, when
//! the query returns no sample, when the value is not a number (`NaN`, e.g. `0/0` while the
//! canary has no traffic), and when Prometheus cannot be reached, times out or answers with
//! an error or anything that is not its API's JSON.
//!
//! ```text
//!  Gate::Prometheus { url, query, max }
//!     │ query_url (pure)     {url}/api/v1/query?query=<PromQL>
//!     ▼
//!  PromClient::query (I/O)   GET, bounded by a timeout, body at most MAX_REPLY_BYTES
//!     │ HTTP status + body
//!     ▼
//!  parse_reply (pure)        QueryOutcome: Value(v) | NoSample | Failed(QueryError)
//!     ▼
//!  judge (pure)              GateResult { passed: v <= max, value, detail }  ─► engine::tick
//! ```
//!
//! The rollout runner reaches it through its [`PrometheusGate`] seam (`app.rs` passes
//! [`gates`]); runner tests pass their own.
//!
//! The reply shapes are those of Prometheus's HTTP API (`/api/v1/query`):
//! `{"status":"success","data":{"resultType":"vector","result":[{"metric":{..},"value":[<unix
//! time>,"<value>"]},..]}}`, or `"resultType":"scalar","result":[<unix time>,"<value>"]`;
//! errors are `{"status":"error","errorType":"bad_data","error":"..."}` with HTTP 400, 422 or
//! 503. Sample values are strings so `NaN`, `+Inf` and `-Inf` survive JSON. A vector of
//! several series is judged by its largest value (every series must stay at most `max`).
//! Range vectors (`matrix`) and strings are refused: a gate needs one number.
//!
//! Only the I/O part ([`PromClient`]) touches the network; it talks to the URL the operator
//! configured and nothing else (no proxy from the environment, no redirects followed).

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::engine::GateResult;
use super::runner::{GateFuture, NoPrometheus, PrometheusGate};
use crate::error::render_chain;

/// Largest reply body read: far more than one number needs, small enough that a wrong URL
/// (a big page) cannot eat memory.
pub const MAX_REPLY_BYTES: usize = 1024 * 1024;

//------------ QueryError ---------------------------------------------------------------------------

/// Why a gate query gave no usable number. Every one of them fails the gate.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The configured URL does not parse or is not `http(s)://`.
    #[error("{url:?} is not an http:// or https:// URL of a Prometheus server")]
    Url {
        /// The configured URL.
        url: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client for prometheus gates")]
    Client {
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// Connecting, sending or reading failed.
    #[error("cannot reach {base}")]
    Unreachable {
        /// The configured Prometheus URL.
        base: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// No complete reply within the timeout.
    #[error("no reply from {base} within {after:?}")]
    Timeout {
        /// The configured Prometheus URL.
        base: String,
        /// The timeout.
        after: Duration,
    },
    /// The reply body is larger than [`MAX_REPLY_BYTES`].
    #[error("reply larger than {MAX_REPLY_BYTES} bytes")]
    TooLarge,
    /// Prometheus answered `"status":"error"` (a bad query, a query timeout, ...).
    #[error("prometheus answered HTTP {status}: {error_type}: {error}")]
    Prometheus {
        /// The HTTP status.
        status: u16,
        /// `errorType` (`bad_data`, `execution`, `timeout`, ...).
        error_type: String,
        /// `error`, Prometheus's message.
        error: String,
    },
    /// A status other than 2xx without a Prometheus error body (a proxy, a wrong URL).
    #[error("HTTP {status} (not a Prometheus API reply)")]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The body is not the API's JSON.
    #[error("reply is not Prometheus API JSON")]
    Json {
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The query returned a range vector or a string.
    #[error("the query returns a {0}; a gate needs an instant vector or a scalar")]
    ResultType(&'static str),
    /// A series of the vector has no float value (a native histogram).
    #[error("a series has no float value (a histogram?); the gate needs a number")]
    NoFloat,
    /// A sample value that does not parse as a number.
    #[error("sample value {0:?} is not a number")]
    Value(String),
}

impl QueryError {
    /// One line for the gate's `detail` (log, status, `/v1/rollouts`): the message and the
    /// cause, shortened to what an operator needs for network errors ("connect refused").
    pub fn detail(&self) -> String {
        match self {
            Self::Unreachable { source, .. } => {
                format!("{self}: {}", crate::health::probe::describe(source))
            }
            _ => render_chain(self),
        }
    }
}

//------------ QueryOutcome -------------------------------------------------------------------------

/// What one evaluation of the query gave.
#[derive(Debug)]
pub enum QueryOutcome {
    /// The value: the only sample, or the largest of several series (`NaN` when any is).
    Value(f64),
    /// The query succeeded with an empty vector.
    NoSample,
    /// No usable number.
    Failed(QueryError),
}

//------------ pure part ----------------------------------------------------------------------------

/// The instant-query URL for `promql` on the Prometheus at `base` (`http://host:port`, or
/// with a path prefix such as `https://host/prometheus`).
pub fn query_url(base: &str, promql: &str) -> Result<reqwest::Url, QueryError> {
    let bad = || QueryError::Url {
        url: base.to_owned(),
    };
    let mut url = reqwest::Url::parse(base.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad());
    }
    let path = format!("{}/api/v1/query", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url.set_fragment(None);
    url.query_pairs_mut().clear().append_pair("query", promql);
    Ok(url)
}

/// `base` as errors show it: without a user name or password (`http://user:secret@host`
/// sends them as HTTP Basic credentials; they must not reach logs or the status).
pub fn without_credentials(base: &str) -> String {
    match reqwest::Url::parse(base) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            // Both only fail for URLs that cannot have credentials, which this one has.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            let mut shown = url.to_string();
            if !base.ends_with('/') && shown.ends_with('/') {
                shown.pop();
            }
            shown
        }
        _ => base.to_owned(),
    }
}

/// The top level of every API reply.
#[derive(Deserialize)]
struct Reply {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// `data` of a query reply, by `resultType`.
#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<Series>),
    Scalar(Sample),
    Matrix(IgnoredAny),
    String(IgnoredAny),
}

/// One series of an instant vector (`metric` is not needed; unknown fields are allowed, as
/// newer Prometheus versions add some).
#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    value: Option<Sample>,
}

/// `[<unix time>, "<value>"]`.
#[derive(Deserialize)]
struct Sample(#[allow(dead_code)] f64, String);

/// A sample value: Prometheus writes `NaN`, `+Inf`, `-Inf` and decimal numbers.
fn parse_value(text: &str) -> Result<f64, QueryError> {
    text.parse::<f64>()
        .map_err(|_| QueryError::Value(text.to_owned()))
}

/// The outcome of a reply with HTTP `status` and `body`.
pub fn parse_reply(status: u16, body: &[u8]) -> QueryOutcome {
    let reply: Reply = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(_) if !(200..300).contains(&status) => {
            return QueryOutcome::Failed(QueryError::Status { status });
        }
        Err(source) => return QueryOutcome::Failed(QueryError::Json { source }),
    };
    if reply.status != "success" {
        return QueryOutcome::Failed(QueryError::Prometheus {
            status,
            error_type: reply.error_type.unwrap_or_else(|| reply.status.clone()),
            error: reply.error.unwrap_or_default(),
        });
    }
    if !(200..300).contains(&status) {
        return QueryOutcome::Failed(QueryError::Status { status });
    }
    let outcome = match reply.data {
        None => Err(QueryError::ResultType("reply without data")),
        Some(Data::Matrix(_)) => Err(QueryError::ResultType("range vector (matrix)")),
        Some(Data::String(_)) => Err(QueryError::ResultType("string")),
        Some(Data::Scalar(Sample(_, v))) => parse_value(&v).map(Some),
        Some(Data::Vector(series)) => largest(&series),
    };
    match outcome {
        Ok(Some(v)) => QueryOutcome::Value(v),
        Ok(None) => QueryOutcome::NoSample,
        Err(e) => QueryOutcome::Failed(e),
    }
}

/// The largest value of a vector (`NaN` if any is `NaN`), `None` when it is empty.
fn largest(series: &[Series]) -> Result<Option<f64>, QueryError> {
    let mut top: Option<f64> = None;
    for s in series {
        let Some(Sample(_, text)) = &s.value else {
            return Err(QueryError::NoFloat);
        };
        let v = parse_value(text)?;
        top = Some(match top {
            Some(t) if t.is_nan() || t >= v => t,
            _ => v,
        });
    }
    Ok(top)
}

/// The gate's verdict on `outcome`: passed only for a number at most `max`.
pub fn judge(outcome: &QueryOutcome, max: f64) -> GateResult {
    match outcome {
        QueryOutcome::Value(v) if v.is_nan() => GateResult {
            passed: false,
            value: None,
            detail: "value NaN (0/0: no traffic yet?) is not a number at most max".to_owned(),
        },
        QueryOutcome::Value(v) => {
            let passed = *v <= max;
            let op = if passed { "<=" } else { ">" };
            GateResult {
                passed,
                value: Some(*v),
                detail: format!("{v} {op} max {max}"),
            }
        }
        QueryOutcome::NoSample => GateResult {
            passed: false,
            value: None,
            detail: "no sample (the query returned an empty vector)".to_owned(),
        },
        QueryOutcome::Failed(e) => GateResult {
            passed: false,
            value: None,
            detail: e.detail(),
        },
    }
}

//------------ I/O part -----------------------------------------------------------------------------

/// The HTTP side of prometheus gates: one per daemon, shared by every rollout.
///
/// No proxy from the environment, no redirects followed, no connection kept between
/// evaluations (one query per `gate_interval`; a restarted or moved Prometheus is seen at
/// once). HTTPS servers are verified against the system's roots.
#[derive(Debug, Clone)]
pub struct PromClient {
    http: reqwest::Client,
}

impl PromClient {
    /// Builds the client.
    pub fn new() -> Result<Self, QueryError> {
        let http = crate::tls::client_builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .user_agent(concat!("steerdns-gate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| QueryError::Client { source })?;
        Ok(Self { http })
    }

    /// Runs `promql` on the Prometheus at `base`; connect, request and body together take at
    /// most `timeout`.
    pub async fn query(&self, base: &str, promql: &str, timeout: Duration) -> QueryOutcome {
        let url = match query_url(base, promql) {
            Ok(url) => url,
            Err(e) => return QueryOutcome::Failed(e),
        };
        match tokio::time::timeout(timeout, self.fetch(base, url)).await {
            Ok(Ok((status, body))) => parse_reply(status, &body),
            Ok(Err(e)) => QueryOutcome::Failed(e),
            Err(_) => QueryOutcome::Failed(QueryError::Timeout {
                base: without_credentials(base),
                after: timeout,
            }),
        }
    }

    /// One evaluation of a `prometheus` gate: [`Self::query`], then [`judge`].
    pub async fn evaluate(
        &self,
        base: &str,
        promql: &str,
        max: f64,
        timeout: Duration,
    ) -> GateResult {
        judge(&self.query(base, promql, timeout).await, max)
    }

    /// GET `url`: the status and the body (at most [`MAX_REPLY_BYTES`]).
    async fn fetch(&self, base: &str, url: reqwest::Url) -> Result<(u16, Vec<u8>), QueryError> {
        let unreachable = |source| QueryError::Unreachable {
            base: without_credentials(base),
            source,
        };
        let mut resp = self.http.get(url).send().await.map_err(unreachable)?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(QueryError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }
}

/// The runner's seam: every `prometheus` gate of every rollout goes through here.
impl PrometheusGate for PromClient {
    fn evaluate<'a>(
        &'a self,
        url: &'a str,
        query: &'a str,
        max: f64,
        timeout: Duration,
    ) -> GateFuture<'a> {
        Box::pin(Self::evaluate(self, url, query, max, timeout))
    }
}

/// The daemon's prometheus gates: a [`PromClient`], or, when no HTTP client can be built
/// (no TLS backend), [`NoPrometheus`], which fails every prometheus gate (the safe side),
/// with an error logged once here.
pub fn gates() -> Arc<dyn PrometheusGate> {
    match PromClient::new() {
        Ok(client) => Arc::new(client),
        Err(e) => {
            tracing::error!(error = %render_chain(&e), "prometheus gates will fail");
            Arc::new(NoPrometheus)
        }
    }
}

#[cfg(test)]
mod tests;
