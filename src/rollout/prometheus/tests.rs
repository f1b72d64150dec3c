//! The replies below were captured from Debian's Prometheus 2.42 (`curl
//! .../api/v1/query?query=...`), timestamps and all; the fake server at the bottom stands in
//! for it where the network side matters (tests/rollout_prometheus.rs runs the real one).

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// `up` with one target.
const VECTOR_ONE: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","instance":"127.0.0.1:19391","job":"self"},"value":[1796078416.693,"1"]}]}}"#;
/// `label_replace(vector(0.25),"a","b","","")`.
const VECTOR_QUARTER: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1796078416.753,"0.25"]}]}}"#;
/// `up{job="none"}`.
const VECTOR_EMPTY: &str = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
/// `vector(0)/vector(0)`.
const VECTOR_NAN: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1796078416.712,"NaN"]}]}}"#;
/// `vector(1)/vector(0)`.
const VECTOR_INF: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1796078406.911,"+Inf"]}]}}"#;
/// `-vector(1)/vector(0)`.
const VECTOR_NEG_INF: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1796078406.948,"-Inf"]}]}}"#;
/// `scalar(up)` before the first scrape.
const SCALAR_NAN: &str =
    r#"{"status":"success","data":{"resultType":"scalar","result":[1796078406.787,"NaN"]}}"#;
/// `up[3s]`.
const MATRIX: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","instance":"127.0.0.1:19391","job":"self"},"values":[[1796078415.515,"1"],[1796078416.515,"1"]]}]}}"#;
/// `"hello"`.
const STRING: &str =
    r#"{"status":"success","data":{"resultType":"string","result":[1796078406.859,"hello"]}}"#;
/// `sum(rate((`, with HTTP 400.
const BAD_DATA: &str = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:11: parse error: unclosed left parenthesis"}"#;

fn value(o: &QueryOutcome) -> Option<f64> {
    match o {
        QueryOutcome::Value(v) => Some(*v),
        _ => None,
    }
}

#[test]
fn urls_name_the_query_endpoint() {
    let u = query_url("http://127.0.0.1:9090", "sum(rate(x[5m])) / 2").unwrap();
    assert_eq!(
        u.as_str(),
        "http://127.0.0.1:9090/api/v1/query?query=sum%28rate%28x%5B5m%5D%29%29+%2F+2"
    );
    // A path prefix (Prometheus behind a proxy) and a trailing slash are kept / dropped.
    let u = query_url("https://mon.example.test/prometheus/", "up").unwrap();
    assert_eq!(
        u.as_str(),
        "https://mon.example.test/prometheus/api/v1/query?query=up"
    );
    // A query string or fragment on the base is replaced, not appended to.
    let u = query_url("http://[::1]:9090/?x=1#f", r#"a{b="c"}"#).unwrap();
    assert_eq!(
        u.as_str(),
        "http://[::1]:9090/api/v1/query?query=a%7Bb%3D%22c%22%7D"
    );
    for bad in ["", "127.0.0.1:9090", "ftp://h/", "http://", "file:///tmp/x"] {
        let e = query_url(bad, "up").unwrap_err();
        assert!(matches!(e, QueryError::Url { .. }), "{bad:?}: {e:?}");
        assert!(e.to_string().contains("not an http://"), "{e}");
    }
}

#[test]
fn credentials_never_show() {
    assert_eq!(
        without_credentials("http://gate:s3cret@127.0.0.1:9090"),
        "http://127.0.0.1:9090"
    );
    assert_eq!(
        without_credentials("https://gate@mon.example.test/prom/"),
        "https://mon.example.test/prom/"
    );
    assert_eq!(
        without_credentials("http://127.0.0.1:9090"),
        "http://127.0.0.1:9090"
    );
    assert_eq!(without_credentials("not a url"), "not a url");
}

#[test]
fn vectors_and_scalars_give_their_value() {
    assert_eq!(value(&parse_reply(200, VECTOR_ONE.as_bytes())), Some(1.0));
    assert_eq!(
        value(&parse_reply(200, VECTOR_QUARTER.as_bytes())),
        Some(0.25)
    );
    assert_eq!(
        value(&parse_reply(200, VECTOR_INF.as_bytes())),
        Some(f64::INFINITY)
    );
    assert_eq!(
        value(&parse_reply(200, VECTOR_NEG_INF.as_bytes())),
        Some(f64::NEG_INFINITY)
    );
    assert!(
        value(&parse_reply(200, VECTOR_NAN.as_bytes()))
            .unwrap()
            .is_nan()
    );
    assert!(
        value(&parse_reply(200, SCALAR_NAN.as_bytes()))
            .unwrap()
            .is_nan()
    );
    let scalar =
        r#"{"status":"success","data":{"resultType":"scalar","result":[1796078406.787,"0.004"]}}"#;
    assert_eq!(value(&parse_reply(200, scalar.as_bytes())), Some(0.004));
    assert!(matches!(
        parse_reply(200, VECTOR_EMPTY.as_bytes()),
        QueryOutcome::NoSample
    ));
}

#[test]
fn several_series_are_judged_by_the_largest() {
    let reply = |values: &[&str]| {
        let series: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!(r#"{{"metric":{{"pod":"p{i}"}},"value":[1796078416.7,"{v}"]}}"#))
            .collect();
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
            series.join(",")
        )
    };
    assert_eq!(
        value(&parse_reply(
            200,
            reply(&["0.001", "0.3", "0.02"]).as_bytes()
        )),
        Some(0.3)
    );
    // One NaN series makes the whole value NaN (which fails), wherever it is.
    for order in [["NaN", "0.5"], ["0.5", "NaN"]] {
        let v = value(&parse_reply(200, reply(&order).as_bytes())).unwrap();
        assert!(v.is_nan(), "{order:?}: {v}");
    }
}

#[test]
fn errors_and_wrong_shapes_fail() {
    match parse_reply(400, BAD_DATA.as_bytes()) {
        QueryOutcome::Failed(e @ QueryError::Prometheus { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("HTTP 400: bad_data: invalid parameter"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    let failed = |status, body: &str| match parse_reply(status, body.as_bytes()) {
        QueryOutcome::Failed(e) => e,
        other => panic!("{body}: {other:?}"),
    };
    assert!(matches!(failed(200, MATRIX), QueryError::ResultType(_)));
    assert!(matches!(failed(200, STRING), QueryError::ResultType(_)));
    assert!(matches!(
        failed(502, "<html>Bad Gateway</html>"),
        QueryError::Status { status: 502 }
    ));
    // A success body behind an error status is not trusted either.
    assert!(matches!(
        failed(503, VECTOR_QUARTER),
        QueryError::Status { status: 503 }
    ));
    assert!(matches!(failed(200, "<html>"), QueryError::Json { .. }));
    assert!(matches!(failed(200, "{}"), QueryError::Json { .. }));
    assert!(matches!(
        failed(200, r#"{"status":"success"}"#),
        QueryError::ResultType(_)
    ));
    let histogram = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1796078416.7,{"count":"1","sum":"2"}]}]}}"#;
    assert!(matches!(failed(200, histogram), QueryError::NoFloat));
    let word = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1796078416.7,"lots"]}]}}"#;
    assert!(matches!(failed(200, word), QueryError::Value(v) if v == "lots"));
    // The JSON error keeps its cause as #[source], not in its message.
    let e = failed(200, "<html>");
    assert_eq!(e.to_string(), "reply is not Prometheus API JSON");
    assert!(std::error::Error::source(&e).is_some());
    assert!(
        e.detail().starts_with("reply is not Prometheus API JSON: "),
        "{}",
        e.detail()
    );
}

#[test]
fn the_gate_passes_only_at_most_max() {
    let j = |o: QueryOutcome| judge(&o, 0.01);
    let pass = j(QueryOutcome::Value(0.004));
    assert!(pass.passed);
    assert_eq!(pass.value, Some(0.004));
    assert_eq!(pass.detail, "0.004 <= max 0.01");
    assert!(j(QueryOutcome::Value(0.01)).passed, "max itself passes");
    assert!(j(QueryOutcome::Value(f64::NEG_INFINITY)).passed);
    let over = j(QueryOutcome::Value(0.034));
    assert!(!over.passed);
    assert_eq!(over.value, Some(0.034));
    assert_eq!(over.detail, "0.034 > max 0.01");
    assert!(!j(QueryOutcome::Value(f64::INFINITY)).passed);
    let nan = j(QueryOutcome::Value(f64::NAN));
    assert!(!nan.passed && nan.value.is_none() && nan.detail.contains("NaN"));
    let none = j(QueryOutcome::NoSample);
    assert!(!none.passed && none.value.is_none() && none.detail.contains("no sample"));
    let err = j(parse_reply(400, BAD_DATA.as_bytes()));
    assert!(
        !err.passed && err.detail.contains("bad_data"),
        "{}",
        err.detail
    );
}

//------------ over loopback -------------------------------------------------------------------------

/// A one-shot-per-connection HTTP server on 127.0.0.1 answering every request with `status`
/// and `body` (or never answering when `status` is 0). Returns its address and a channel of
/// the request heads it saw.
async fn fake_prometheus(
    status: u16,
    body: &'static str,
) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
                if status == 0 {
                    // Hold the connection without answering until the client gives up.
                    let _ = s.read(&mut buf).await;
                    return;
                }
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    (addr, rx)
}

const LONG: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_query_over_http_reads_the_value() {
    let (addr, mut seen) = fake_prometheus(200, VECTOR_QUARTER).await;
    let client = PromClient::new().unwrap();
    let base = format!("http://{addr}");
    let r = client
        .evaluate(&base, r#"sum(rate(e{code=~"5.."}[1m]))"#, 0.3, LONG)
        .await;
    assert!(r.passed, "{r:?}");
    assert_eq!(r.value, Some(0.25));
    let r = client.evaluate(&base, "x", 0.2, LONG).await;
    assert!(!r.passed);
    assert_eq!(r.detail, "0.25 > max 0.2");
    let head = seen.recv().await.unwrap();
    assert!(
        head.starts_with(
            "GET /api/v1/query?query=sum%28rate%28e%7Bcode%3D%7E%225..%22%7D%5B1m%5D%29%29 HTTP/1.1\r\n"
        ),
        "{head}"
    );
}

#[tokio::test]
async fn an_error_reply_over_http_fails_the_gate() {
    let (addr, _seen) = fake_prometheus(400, BAD_DATA).await;
    let r = PromClient::new()
        .unwrap()
        .evaluate(&format!("http://{addr}"), "sum(rate((", 1.0, LONG)
        .await;
    assert!(!r.passed);
    assert!(
        r.detail
            .starts_with("prometheus answered HTTP 400: bad_data: "),
        "{}",
        r.detail
    );
}

#[tokio::test]
async fn nobody_listening_fails_the_gate() {
    // Bind, note the port, close: nothing listens there now.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let base = format!("http://{addr}");
    let r = PromClient::new()
        .unwrap()
        .evaluate(&base, "up", 1.0, LONG)
        .await;
    assert!(!r.passed);
    assert_eq!(r.detail, format!("cannot reach {base}: connect refused"));
}

#[tokio::test]
async fn a_silent_server_times_out_and_fails_the_gate() {
    let (addr, mut seen) = fake_prometheus(0, "").await;
    let base = format!("http://{addr}");
    let timeout = Duration::from_millis(300);
    let r = PromClient::new()
        .unwrap()
        .evaluate(&base, "up", 1.0, timeout)
        .await;
    assert!(!r.passed);
    assert_eq!(r.detail, format!("no reply from {base} within 300ms"));
    assert!(seen.recv().await.is_some(), "the request did arrive");
}

#[tokio::test]
async fn credentials_in_the_url_are_sent_as_basic_auth_and_never_shown() {
    let (addr, mut seen) = fake_prometheus(0, "").await;
    let base = format!("http://gate:s3cret@{addr}");
    let r = PromClient::new()
        .unwrap()
        .evaluate(&base, "up", 1.0, Duration::from_millis(300))
        .await;
    assert!(!r.passed);
    assert_eq!(
        r.detail,
        format!("no reply from http://{addr} within 300ms"),
        "the password must not show"
    );
    let head = seen.recv().await.unwrap().to_ascii_lowercase();
    // base64("gate:s3cret")
    assert!(
        head.contains("authorization: basic z2f0ztpzm2nyzxq="),
        "{head}"
    );
}

#[tokio::test]
async fn a_bad_url_fails_without_io() {
    let r = PromClient::new()
        .unwrap()
        .evaluate("localhost:9090", "up", 1.0, LONG)
        .await;
    assert!(!r.passed);
    assert!(r.detail.contains("not an http://"), "{}", r.detail);
}
