//! The admin HTTP listener: `/metrics` (Prometheus text), `/healthz`, and
//! `/v1/explain?name=&type=&client=` (the decision trace as JSON, with live health).
//! Bound to loopback by default (`[metrics] listen`).

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
use crate::state::Store;
use crate::steer::ClientAddr;

/// A running admin listener.
#[derive(Debug)]
pub struct AdminServer {
    /// Bound address.
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl AdminServer {
    /// Binds and serves on the current runtime.
    pub async fn start(
        addr: SocketAddr,
        store: Store,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    r = listener.accept() => match r {
                        Ok(a) => a,
                        Err(_) => continue,
                    },
                    _ = stopped.changed() => return,
                };
                let store = store.clone();
                let metrics = metrics.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let store = store.clone();
                        let metrics = metrics.clone();
                        async move { Ok::<_, Infallible>(route(req, &store, &metrics)) }
                    });
                    let conn =
                        http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), conn).await;
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

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

fn route(req: Request<Incoming>, store: &Store, metrics: &Arc<Metrics>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        );
    }
    match req.uri().path() {
        "/metrics" => reply(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics::render(store, metrics),
        ),
        "/healthz" => {
            let g = store.load().generation;
            reply(StatusCode::OK, "text/plain", format!("ok generation {g}\n"))
        }
        "/v1/explain" => explain(req.uri().query().unwrap_or(""), store),
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    }
}

fn explain(query: &str, store: &Store) -> Response<Full<Bytes>> {
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
        Ok(trace) => match serde_json::to_string_pretty(&trace) {
            Ok(body) => reply(StatusCode::OK, "application/json", body + "\n"),
            Err(e) => bad(render_chain(&e)),
        },
        Err(e) => reply(
            StatusCode::NOT_FOUND,
            "application/json",
            serde_json::json!({ "error": render_chain(&e) }).to_string(),
        ),
    }
}
