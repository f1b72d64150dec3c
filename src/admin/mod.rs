//! The admin HTTP listener (`[metrics] listen`): one router with one access check in front of
//! everything but the open paths.
//!
//! ```text
//!  TCP accept ─► HTTP/1 ─► access::decide (path, client, Authorization, snapshot settings)
//!                             │ open path or allowed          │ refused
//!                             ▼                               ▼
//!                          route (method, path)            401 / 403
//!   GET  /metrics      Prometheus text (open)
//!   GET  /healthz      "ok generation N" (open)
//!   GET  /v1/explain   ?name=&type=&client=: the decision trace as JSON, with live health
//!                      (and, with [peers], each observer's view of the regions' endpoints)
//!   GET  /v1/health    this instance's own probe verdicts (SPEC 4.1), read by its peers
//!   GET  /v1/reload    the last reload's report (JSON; `"outcome": "none"` before the first)
//!   POST /v1/reload    runs a reload and answers its report
//!   POST /v1/plan      what a reload of the files would change (plan.rs), nothing swapped
//!   GET  /v1/status    the status document (JSON, crate::status)
//!   GET  /v1/rollouts  every staged rollout (step, share, gates)
//!   POST /v1/rollouts/{zone}/{service}/{pause|resume|abort|advance}
//!   GET  /             the status page (HTML, refreshes itself from /v1/status)
//! ```
//!
//! A new endpoint is one more arm in [`route`]; the access rule covers it without more code.
//! Bound to loopback by default.

pub mod access;
mod plan;
mod rollouts;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::error::render_chain;
use crate::metrics::{self, Metrics};
use crate::peers::Fleet;
use crate::reload::outcome::{ReloadHandle, ReloadReport};
use crate::state::{Store, now_unix_ms};
use crate::status::StatusBoard;
use crate::steer::ClientAddr;

use access::Verdict;

/// Everything the handlers need; cloned into every connection.
#[derive(Clone)]
pub struct AdminContext {
    /// The serving snapshot (also holds the access settings, so they follow reloads).
    pub store: Store,
    /// Process-wide metrics.
    pub metrics: Arc<Metrics>,
    /// Reloads: request one, read the last report. `None` where no daemon loop runs reloads
    /// (then `/v1/reload` answers 503).
    pub reloads: Option<ReloadHandle>,
    /// Events, share history and last probes for `/v1/status` and `/`; `None` where no daemon
    /// keeps them (then both answer 503).
    pub status: Option<Arc<StatusBoard>>,
    /// Peers and their views (`[peers]`), for explain and metrics.
    pub fleet: Arc<Fleet>,
    /// Staged rollouts; `None` where no daemon drives them (then `/v1/rollouts` answers 503).
    pub rollouts: Option<Arc<crate::rollout::runner::Rollouts>>,
}

impl std::fmt::Debug for AdminContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminContext").finish_non_exhaustive()
    }
}

/// How long one connection may last: long enough for `POST /v1/reload` and `POST /v1/plan`
/// on a large configuration (a plan of 10k names reads every zone and the whole GeoIP
/// database), short enough that forgotten connections go.
const CONNECTION_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// A running admin listener; stops accepting when dropped (requests in flight finish).
#[derive(Debug)]
pub struct AdminServer {
    /// Bound address.
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl AdminServer {
    /// Binds and serves on the current runtime.
    pub async fn start(addr: SocketAddr, ctx: AdminContext) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    r = listener.accept() => match r {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::debug!(error = %e, "admin accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                            continue;
                        }
                    },
                    _ = stopped.changed() => return,
                };
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let ctx = ctx.clone();
                        async move { Ok::<_, Infallible>(handle(req, peer, &ctx).await) }
                    });
                    let conn =
                        http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    let _ = tokio::time::timeout(CONNECTION_LIMIT, conn).await;
                });
            }
        });
        Ok(Self { addr: bound, stop })
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, content_type: &str, body: String) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

/// A JSON error body: `{"error": "..."}`.
fn json_error(status: StatusCode, message: &str) -> Reply {
    reply(
        status,
        "application/json",
        serde_json::json!({ "error": message }).to_string() + "\n",
    )
}

/// The access check, then the route.
async fn handle(req: Request<Incoming>, peer: SocketAddr, ctx: &AdminContext) -> Reply {
    let verdict = {
        let snap = ctx.store.load();
        access::decide(
            req.uri().path(),
            peer.ip(),
            req.headers()
                .get(hyper::header::AUTHORIZATION)
                .map(|v| v.as_bytes()),
            &snap.config.admin_access,
        )
    };
    match verdict {
        Verdict::Allowed => route(req, ctx).await,
        Verdict::Unauthorized => {
            tracing::debug!(client = %peer.ip(), path = req.uri().path(), "admin: no or wrong token");
            let mut r = json_error(
                StatusCode::UNAUTHORIZED,
                "a token is required: Authorization: Bearer <token>, or HTTP Basic with the token as password",
            );
            r.headers_mut().append(
                hyper::header::WWW_AUTHENTICATE,
                hyper::header::HeaderValue::from_static(
                    "Basic realm=\"steerdns\", charset=\"UTF-8\"",
                ),
            );
            r.headers_mut().append(
                hyper::header::WWW_AUTHENTICATE,
                hyper::header::HeaderValue::from_static("Bearer realm=\"steerdns\""),
            );
            r
        }
        Verdict::Forbidden => {
            tracing::debug!(client = %peer.ip(), path = req.uri().path(), "admin: untrusted client");
            json_error(
                StatusCode::FORBIDDEN,
                "this client is not in [metrics] trusted and no [metrics] token_file is set",
            )
        }
    }
}

/// Dispatches an admitted request by method and path.
async fn route(req: Request<Incoming>, ctx: &AdminContext) -> Reply {
    let path = req.uri().path().to_owned();
    match (req.method(), path.as_str()) {
        (&Method::GET, "/metrics") => reply(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics::render(&ctx.store, &ctx.metrics, &ctx.fleet),
        ),
        (&Method::GET, "/healthz") => {
            let g = ctx.store.load().generation;
            reply(StatusCode::OK, "text/plain", format!("ok generation {g}\n"))
        }
        (&Method::GET, "/v1/explain") => {
            explain(req.uri().query().unwrap_or(""), &ctx.store, &ctx.fleet)
        }
        (&Method::GET, "/v1/health") => {
            let report = crate::peers::local_report(&ctx.store.load_full());
            match serde_json::to_string(&report) {
                Ok(body) => reply(StatusCode::OK, "application/json", body + "\n"),
                Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &render_chain(&e)),
            }
        }
        (&Method::GET, "/v1/reload") => last_reload(ctx),
        (&Method::POST, "/v1/reload") => run_reload(ctx).await,
        (&Method::POST, "/v1/plan") => run_plan(ctx).await,
        (&Method::GET, "/v1/status") => status_json(ctx),
        (&Method::GET, "/v1/rollouts") => {
            let (status, body) = rollouts::list(ctx.rollouts.as_ref(), &ctx.store);
            reply(status, "application/json", body)
        }
        (&Method::POST, p) if p.starts_with("/v1/rollouts/") => {
            let rest = &p["/v1/rollouts/".len()..];
            let (status, body) = rollouts::command(ctx.rollouts.as_ref(), &ctx.store, rest);
            reply(status, "application/json", body)
        }
        (_, "/v1/rollouts") => method_not_allowed("GET"),
        (_, p) if p.starts_with("/v1/rollouts/") => method_not_allowed("POST"),
        (&Method::GET, "/") => status_page(ctx),
        (_, "/metrics" | "/healthz" | "/v1/explain" | "/v1/health" | "/v1/status" | "/") => {
            method_not_allowed("GET")
        }
        (_, "/v1/reload") => method_not_allowed("GET, POST"),
        (_, "/v1/plan") => method_not_allowed("POST"),
        _ => json_error(StatusCode::NOT_FOUND, "not found"),
    }
}

fn method_not_allowed(allow: &'static str) -> Reply {
    let mut r = json_error(StatusCode::METHOD_NOT_ALLOWED, &format!("allowed: {allow}"));
    r.headers_mut().insert(
        hyper::header::ALLOW,
        hyper::header::HeaderValue::from_static(allow),
    );
    r
}

fn report_reply(report: &ReloadReport) -> Reply {
    match serde_json::to_string_pretty(report) {
        Ok(body) => reply(StatusCode::OK, "application/json", body + "\n"),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &render_chain(&e)),
    }
}

/// `GET /v1/reload`: the last reload's report.
fn last_reload(ctx: &AdminContext) -> Reply {
    let Some(reloads) = &ctx.reloads else {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "reloads are not handled here",
        );
    };
    match reloads.last() {
        Some(report) => report_reply(&report),
        None => reply(
            StatusCode::OK,
            "application/json",
            serde_json::json!({
                "seq": 0,
                "outcome": "none",
                "generation": ctx.store.load().generation,
            })
            .to_string()
                + "\n",
        ),
    }
}

/// `POST /v1/reload`: runs a reload (queued behind one in progress) and answers its report.
async fn run_reload(ctx: &AdminContext) -> Reply {
    let Some(reloads) = &ctx.reloads else {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "reloads are not handled here",
        );
    };
    match reloads.request().await {
        Ok(report) => report_reply(&report),
        Err(e) => json_error(StatusCode::SERVICE_UNAVAILABLE, &render_chain(&e)),
    }
}

/// `POST /v1/plan`: the plan as JSON (`"outcome": "computed"` or `"invalid"`); 503 while
/// another is being computed.
async fn run_plan(ctx: &AdminContext) -> Reply {
    let Ok(_permit) = plan::RUNNING.try_acquire() else {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "a plan is already being computed; try again",
        );
    };
    let snap = ctx.store.load_full();
    let outcome = tokio::task::spawn_blocking(move || plan::compute(&snap)).await;
    match outcome.map(|o| serde_json::to_string_pretty(&o)) {
        Ok(Ok(body)) => reply(StatusCode::OK, "application/json", body + "\n"),
        Ok(Err(e)) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &render_chain(&e)),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &render_chain(&e)),
    }
}

/// `GET /v1/status`: the status document.
fn status_json(ctx: &AdminContext) -> Reply {
    let Some(board) = &ctx.status else {
        return json_error(StatusCode::SERVICE_UNAVAILABLE, "no status kept here");
    };
    let snap = ctx.store.load_full();
    let fleet = snap.config.peers.as_ref().map(|settings| {
        let now = tokio::time::Instant::now();
        crate::peers::view::build(&snap, settings, &ctx.fleet.records(), now, |_| true)
    });
    let fleet = fleet.as_ref().map(|(v, e)| (v, e.as_slice()));
    let rollouts = ctx
        .rollouts
        .as_ref()
        .map(|r| r.list(snap.generation).rollouts)
        .unwrap_or_default();
    let doc = crate::status::document(board, &snap, now_unix_ms(), fleet, &rollouts);
    match serde_json::to_string(&doc) {
        Ok(body) => {
            let mut r = reply(StatusCode::OK, "application/json", body + "\n");
            r.headers_mut().insert(
                hyper::header::CACHE_CONTROL,
                hyper::header::HeaderValue::from_static("no-store"),
            );
            r
        }
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, &render_chain(&e)),
    }
}

/// What the status page may load: nothing but itself and `/v1/status` (a browser enforces
/// it, so a page that tried to reach anything else would fail in the browser too).
const PAGE_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// `GET /`: the status page.
fn status_page(ctx: &AdminContext) -> Reply {
    if ctx.status.is_none() {
        return json_error(StatusCode::SERVICE_UNAVAILABLE, "no status kept here");
    }
    let mut r = reply(
        StatusCode::OK,
        "text/html; charset=utf-8",
        crate::status::page::PAGE.to_owned(),
    );
    use hyper::header::{
        CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderValue, X_CONTENT_TYPE_OPTIONS,
    };
    let headers = r.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

fn explain(query: &str, store: &Store, fleet: &Fleet) -> Response<Full<Bytes>> {
    let mut name = None;
    let mut qtype = "A".to_string();
    let mut client = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "name" => name = Some(v.into_owned()),
            "type" => qtype = v.into_owned(),
            "client" => client = Some(v.into_owned()),
            _ => {}
        }
    }
    let bad = |msg: String| {
        reply(
            StatusCode::BAD_REQUEST,
            "application/json",
            serde_json::json!({ "error": msg }).to_string(),
        )
    };
    let (Some(name), Some(client)) = (name, client) else {
        return bad("name and client are required".into());
    };
    let want_v6 = match qtype.to_ascii_uppercase().as_str() {
        "A" => false,
        "AAAA" => true,
        _ => return bad(format!("type {qtype:?}: A or AAAA")),
    };
    let client: ClientAddr = match client.parse() {
        Ok(c) => c,
        Err(e) => return bad(render_chain(&e)),
    };
    let snap = store.load_full();
    match crate::explain::explain_name(&snap, &name, want_v6, &client) {
        Ok(mut trace) => {
            if let Some(settings) = &snap.config.peers
                && let Ok((zone, _)) = crate::explain::find_service(&snap, &name)
            {
                let regions: Vec<String> = trace
                    .tiers
                    .iter()
                    .flatten()
                    .map(|r| r.region.clone())
                    .collect();
                trace.observers = Some(crate::peers::view::observer_trace(
                    &snap,
                    settings,
                    &fleet.records(),
                    tokio::time::Instant::now(),
                    &crate::config::model::zone_label(&zone.origin),
                    &trace.service,
                    &regions,
                ));
            }
            match serde_json::to_string_pretty(&trace) {
                Ok(body) => reply(StatusCode::OK, "application/json", body + "\n"),
                Err(e) => bad(render_chain(&e)),
            }
        }
        Err(e) => reply(
            StatusCode::NOT_FOUND,
            "application/json",
            serde_json::json!({ "error": render_chain(&e) }).to_string(),
        ),
    }
}
