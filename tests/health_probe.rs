//! Real probes against hand-written HTTP/1.1 and TCP servers on 127.0.0.1 ephemeral ports.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use steerdns::health::{ProbeKind, ProbeSpec, Prober, TlsSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the test server answers.
#[derive(Clone)]
enum Reply {
    Status(u16, Vec<u8>),
    /// Bytes sent as they are (after the request head).
    Raw(Vec<u8>),
    Redirect,
    Hang,
}

struct Server {
    addr: SocketAddr,
    reply: Arc<Mutex<Reply>>,
    connections: Arc<AtomicUsize>,
    last_host: Arc<Mutex<Option<String>>>,
    /// The source address of every connection accepted, in order.
    peers: Arc<Mutex<Vec<IpAddr>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

async fn serve(mut stream: TcpStream, reply: Reply, last_host: Arc<Mutex<Option<String>>>) {
    let Some(head) = read_head(&mut stream).await else {
        return;
    };
    let host = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("host: ")
                .or_else(|| l.strip_prefix("Host: "))
        })
        .map(str::to_owned);
    *lock(&last_host) = host;
    let response = match reply {
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        Reply::Redirect => {
            b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec()
        }
        Reply::Raw(bytes) => bytes,
        Reply::Status(code, body) => {
            let mut r = format!(
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(&body);
            r
        }
    };
    let _ = stream.write_all(&response).await;
    let _ = stream.shutdown().await;
}

async fn http_server(reply: Reply) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    http_server_on(listener, reply)
}

fn http_server_on(listener: TcpListener, reply: Reply) -> Server {
    let addr = listener.local_addr().expect("local addr");
    let reply = Arc::new(Mutex::new(reply));
    let connections = Arc::new(AtomicUsize::new(0));
    let last_host = Arc::new(Mutex::new(None));
    let peers: Arc<Mutex<Vec<IpAddr>>> = Arc::default();
    let task = {
        let (reply, connections, last_host, seen) = (
            reply.clone(),
            connections.clone(),
            last_host.clone(),
            peers.clone(),
        );
        tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                connections.fetch_add(1, Ordering::Relaxed);
                lock(&seen).push(peer.ip());
                let r = lock(&reply).clone();
                tokio::spawn(serve(stream, r, last_host.clone()));
            }
        })
    };
    Server {
        addr,
        reply,
        connections,
        last_host,
        peers,
        task,
    }
}

/// An address on loopback where nothing listens.
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    addr
}

fn http(target: SocketAddr) -> ProbeSpec {
    ProbeSpec {
        kind: ProbeKind::Http {
            path: "/healthz".into(),
            host: None,
            expect_status: vec![200],
            expect_body: None,
            tls: None,
            reuse: false,
        },
        target,
        timeout: Duration::from_millis(500),
        source: None,
    }
}

fn with_body(mut spec: ProbeSpec, needle: &str) -> ProbeSpec {
    if let ProbeKind::Http { expect_body, .. } = &mut spec.kind {
        *expect_body = Some(needle.into());
    }
    spec
}

fn prober() -> Prober {
    Prober::new().expect("prober builds")
}

#[tokio::test]
async fn http_200_passes() {
    let s = http_server(Reply::Status(200, b"ok".to_vec())).await;
    let out = prober().probe(&http(s.addr)).await;
    assert!(out.passed, "{out:?}");
    assert_eq!(out.reason, "HTTP 200");
}

#[tokio::test]
async fn http_503_fails_with_status_reason() {
    let s = http_server(Reply::Status(503, b"busy".to_vec())).await;
    let out = prober().probe(&http(s.addr)).await;
    assert!(!out.passed);
    assert_eq!(out.reason, "HTTP 503");
}

#[tokio::test]
async fn expect_status_list_is_honoured() {
    let s = http_server(Reply::Status(204, Vec::new())).await;
    let mut spec = http(s.addr);
    assert!(!prober().probe(&spec).await.passed);
    if let ProbeKind::Http { expect_status, .. } = &mut spec.kind {
        *expect_status = vec![200, 204];
    }
    assert!(prober().probe(&spec).await.passed);
}

#[tokio::test]
async fn body_match_and_mismatch() {
    let s = http_server(Reply::Status(200, b"status: ok\n".to_vec())).await;
    let p = prober();
    assert!(p.probe(&with_body(http(s.addr), "ok")).await.passed);
    let out = p.probe(&with_body(http(s.addr), "ready")).await;
    assert!(!out.passed);
    assert_eq!(out.reason, "body mismatch");
}

#[tokio::test]
async fn chunked_and_unframed_bodies_are_read() {
    let p = prober();
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nsta\r\n7\r\ntus: ok\r\n0\r\n\r\n";
    let s = http_server(Reply::Raw(chunked.to_vec())).await;
    assert!(
        p.probe(&with_body(http(s.addr), "status: ok")).await.passed,
        "needle across chunks"
    );
    let s = http_server(Reply::Raw(chunked.to_vec())).await;
    assert_eq!(
        p.probe(&with_body(http(s.addr), "3\r\n")).await.reason,
        "body mismatch",
        "chunk framing is not body"
    );
    let unframed = b"HTTP/1.0 200 OK\r\n\r\nall good until close";
    let s = http_server(Reply::Raw(unframed.to_vec())).await;
    assert!(
        p.probe(&with_body(http(s.addr), "until close"))
            .await
            .passed
    );
    let garbage = b"SSH-2.0-OpenSSH\r\n\r\n";
    let s = http_server(Reply::Raw(garbage.to_vec())).await;
    let out = p.probe(&http(s.addr)).await;
    assert!(!out.passed);
    assert_eq!(out.reason, "malformed status line");
}

#[tokio::test]
async fn body_is_searched_only_in_first_64k() {
    let mut body = vec![b'x'; 70 * 1024];
    body.extend_from_slice(b"ok");
    let s = http_server(Reply::Status(200, body)).await;
    let out = prober().probe(&with_body(http(s.addr), "ok")).await;
    assert_eq!(out.reason, "body mismatch");
}

#[tokio::test]
async fn hang_fails_with_timeout_within_about_the_timeout() {
    let s = http_server(Reply::Hang).await;
    let mut spec = http(s.addr);
    spec.timeout = Duration::from_millis(300);
    let started = tokio::time::Instant::now();
    let out = prober().probe(&spec).await;
    let took = started.elapsed();
    assert!(!out.passed);
    assert_eq!(out.reason, "timeout");
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(2),
        "took {took:?}"
    );
}

#[tokio::test]
async fn connection_refused_fails() {
    let out = prober().probe(&http(closed_port().await)).await;
    assert!(!out.passed);
    assert_eq!(out.reason, "connect refused");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let s = http_server(Reply::Redirect).await;
    let out = prober().probe(&http(s.addr)).await;
    assert!(!out.passed);
    assert_eq!(out.reason, "HTTP 302");
}

#[tokio::test]
async fn host_header_is_sent_and_connection_goes_to_target() {
    let s = http_server(Reply::Status(200, b"ok".to_vec())).await;
    let mut spec = http(s.addr);
    if let ProbeKind::Http { host, .. } = &mut spec.kind {
        *host = Some("www.example.test".into());
    }
    assert!(prober().probe(&spec).await.passed);
    assert_eq!(lock(&s.last_host).as_deref(), Some("www.example.test"));
}

#[tokio::test]
async fn every_probe_opens_a_new_connection() {
    let s = http_server(Reply::Status(200, b"ok".to_vec())).await;
    let p = prober();
    for _ in 0..3 {
        assert!(p.probe(&http(s.addr)).await.passed);
    }
    assert_eq!(s.connections.load(Ordering::Relaxed), 3);
}

#[tokio::test]
async fn server_recovery_is_seen() {
    let s = http_server(Reply::Status(503, Vec::new())).await;
    let p = prober();
    assert!(!p.probe(&http(s.addr)).await.passed);
    *lock(&s.reply) = Reply::Status(200, Vec::new());
    assert!(p.probe(&http(s.addr)).await.passed);
}

#[tokio::test]
async fn https_against_plain_http_fails() {
    let s = http_server(Reply::Status(200, b"ok".to_vec())).await;
    let mut spec = http(s.addr);
    if let ProbeKind::Http { tls, .. } = &mut spec.kind {
        *tls = Some(TlsSpec {
            verify: false,
            sni: Some("www.example.test".into()),
        });
    }
    let out = prober().probe(&spec).await;
    assert!(!out.passed, "{out:?}");
}

#[tokio::test]
async fn tcp_connect_passes_and_refused_fails() {
    let s = http_server(Reply::Hang).await;
    let tcp = |target| ProbeSpec {
        kind: ProbeKind::Tcp,
        target,
        timeout: Duration::from_millis(500),
        source: None,
    };
    let p = prober();
    let out = p.probe(&tcp(s.addr)).await;
    assert!(out.passed, "{out:?}");
    assert_eq!(out.reason, "connected");
    let out = p.probe(&tcp(closed_port().await)).await;
    assert!(!out.passed);
    assert_eq!(out.reason, "connect refused");
}

/// Probe connections end with a reset, not a FIN (zero linger, as HAProxy's checks): the
/// endpoint reads ECONNRESET where a graceful close would give end of file, and no TIME_WAIT
/// socket is left behind.
#[tokio::test]
async fn probe_connections_end_with_a_reset() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let p = prober();
    let tcp = ProbeSpec {
        kind: ProbeKind::Tcp,
        target: addr,
        timeout: Duration::from_millis(2000),
        source: None,
    };
    let probe = p.probe(&tcp);
    let (out, accepted) = tokio::join!(probe, listener.accept());
    assert!(out.passed, "{out:?}");
    let (mut conn, _) = accepted.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
        .await
        .expect("the probe's side closed");
    let err = read.expect_err("a reset, not end of file");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);

    // Plain HTTP too: answer the request, then see the reset.
    let spec = http(addr);
    let serve = async {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0);
            seen.extend_from_slice(&buf[..n]);
        }
        conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
            .await
            .expect("the probe's side closed")
    };
    let (out, after) = tokio::join!(p.probe(&spec), serve);
    assert!(out.passed, "{out:?}");
    assert_eq!(
        after.expect_err("a reset, not end of file").kind(),
        std::io::ErrorKind::ConnectionReset
    );
}

#[tokio::test]
async fn ipv6_loopback_target() {
    // Skipped where the machine has no IPv6 loopback.
    let Ok(listener) = TcpListener::bind("[::1]:0").await else {
        return;
    };
    let s = http_server_on(listener, Reply::Status(200, b"ok".to_vec()));
    let p = prober();
    let out = p.probe(&with_body(http(s.addr), "ok")).await;
    assert!(out.passed, "{out:?}");
    let tcp = ProbeSpec {
        kind: ProbeKind::Tcp,
        target: s.addr,
        timeout: Duration::from_millis(500),
        source: None,
    };
    assert!(p.probe(&tcp).await.passed);
}

/// `[health] source_v4`: plain HTTP and TCP probes leave from the source address.
#[tokio::test]
async fn http_and_tcp_probes_leave_from_the_source_address() {
    let s = http_server(Reply::Status(200, b"ok".to_vec())).await;
    let p = prober();
    let source: IpAddr = "127.0.0.7".parse().unwrap();
    let mut spec = http(s.addr);
    spec.source = Some(source);
    let out = p.probe(&spec).await;
    assert!(out.passed, "{out:?}");
    let mut tcp = spec.clone();
    tcp.kind = ProbeKind::Tcp;
    assert!(p.probe(&tcp).await.passed);
    // Kept connections too: the first probe opens one from the source, the second reuses it.
    let mut kept = spec.clone();
    if let ProbeKind::Http { reuse, .. } = &mut kept.kind {
        *reuse = true;
    }
    assert!(p.probe(&kept).await.passed);
    // Without a source the kernel picks 127.0.0.1 for a 127.0.0.1 target.
    assert!(p.probe(&http(s.addr)).await.passed);
    let seen = lock(&s.peers).clone();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(&seen[..3], &[source; 3], "{seen:?}");
    assert_eq!(seen[3], IpAddr::from([127, 0, 0, 1]));
}

/// A source address this host does not have fails the probe with a reason naming it
/// (binding fails locally; nothing is sent).
#[tokio::test]
async fn unbindable_source_fails_with_a_reason() {
    let s = http_server(Reply::Status(200, b"ok".to_vec())).await;
    let mut spec = http(s.addr);
    spec.source = Some("192.0.2.1".parse().unwrap());
    let out = prober().probe(&spec).await;
    assert!(!out.passed);
    assert!(
        out.reason.starts_with("cannot bind source 192.0.2.1"),
        "{out:?}"
    );
    spec.kind = ProbeKind::Tcp;
    let out = prober().probe(&spec).await;
    assert!(
        out.reason.starts_with("cannot bind source 192.0.2.1"),
        "{out:?}"
    );
    assert_eq!(s.connections.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn none_passes_without_io() {
    let spec = ProbeSpec {
        kind: ProbeKind::None,
        target: closed_port().await,
        timeout: Duration::from_millis(10),
        source: None,
    };
    assert!(prober().probe(&spec).await.passed);
}

//------------ HTTPS with a self-signed certificate ---------------------------------------------

mod tls {
    use super::*;
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::crypto::ring;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    const NAME: &str = "www.example.test";

    type Snis = Arc<Mutex<Vec<Option<String>>>>;
    type Peers = Arc<Mutex<Vec<IpAddr>>>;

    async fn https_server() -> (SocketAddr, Snis, tokio::task::JoinHandle<()>) {
        let (addr, snis, task, _, _) = https_server_with_cert().await;
        (addr, snis, task)
    }

    type Server = (
        SocketAddr,
        Snis,
        tokio::task::JoinHandle<()>,
        CertificateDer<'static>,
        Peers,
    );

    /// HTTPS server with a self-signed certificate for [`NAME`]; records the SNI it receives
    /// and returns the certificate.
    async fn https_server_with_cert() -> Server {
        let ck =
            rcgen::generate_simple_self_signed(vec![NAME.to_owned()]).expect("self-signed cert");
        let cert = ck.cert.der().clone();
        let returned = cert.clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
        let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let snis: Snis = Arc::default();
        let peers: Peers = Arc::default();
        let seen = snis.clone();
        let peers_seen = peers.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                lock(&peers_seen).push(peer.ip());
                let (acceptor, seen) = (acceptor.clone(), seen.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    lock(&seen).push(tls.get_ref().1.server_name().map(str::to_owned));
                    let mut buf = [0u8; 2048];
                    let mut head = Vec::new();
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = tls
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        )
                        .await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        (addr, snis, task, returned, peers)
    }

    fn https(target: SocketAddr, verify: bool, sni: Option<&str>) -> ProbeSpec {
        ProbeSpec {
            kind: ProbeKind::Http {
                path: "/healthz".into(),
                host: None,
                expect_status: vec![200],
                expect_body: Some("ok".into()),
                tls: Some(TlsSpec {
                    verify,
                    sni: sni.map(str::to_owned),
                }),
                reuse: false,
            },
            target,
            timeout: Duration::from_secs(2),
            source: None,
        }
    }

    #[tokio::test]
    async fn self_signed_passes_without_verification_and_sends_sni() {
        let (addr, snis, task) = https_server().await;
        let out = prober().probe(&https(addr, false, Some(NAME))).await;
        assert!(out.passed, "{out:?}");
        assert_eq!(out.reason, "HTTP 200");
        assert_eq!(lock(&snis).as_slice(), &[Some(NAME.to_owned())]);
        task.abort();
    }

    #[tokio::test]
    async fn self_signed_fails_with_verification() {
        let (addr, _snis, task) = https_server().await;
        let out = prober().probe(&https(addr, true, Some(NAME))).await;
        assert!(!out.passed, "{out:?}");
        assert!(out.reason.contains("certificate"), "{out:?}");
        task.abort();
    }

    #[tokio::test]
    async fn trusted_certificate_passes_with_verification() {
        let (addr, snis, task, cert, _) = https_server_with_cert().await;
        let prober = Prober::with_extra_roots(vec![cert]).expect("prober builds");
        let out = prober.probe(&https(addr, true, Some(NAME))).await;
        assert!(out.passed, "{out:?}");
        // The name is checked: a certificate for NAME does not pass for another name.
        let out = prober
            .probe(&https(addr, true, Some("other.example.test")))
            .await;
        assert!(!out.passed, "{out:?}");
        assert!(out.reason.contains("certificate"), "{out:?}");
        assert_eq!(lock(&snis).first(), Some(&Some(NAME.to_owned())));
        task.abort();
    }

    /// HTTPS goes through reqwest: its client binds the source (`local_address`), with and
    /// without a TLS name.
    #[tokio::test]
    async fn https_probes_leave_from_the_source_address() {
        let (addr, _snis, task, _, peers) = https_server_with_cert().await;
        let source: IpAddr = "127.0.0.8".parse().unwrap();
        let p = prober();
        for sni in [None, Some(NAME)] {
            let mut spec = https(addr, false, sni);
            spec.source = Some(source);
            let out = p.probe(&spec).await;
            assert!(out.passed, "{out:?}");
        }
        assert!(p.probe(&https(addr, false, None)).await.passed);
        assert_eq!(
            lock(&peers).as_slice(),
            &[source, source, IpAddr::from([127, 0, 0, 1])]
        );
        task.abort();
    }

    #[tokio::test]
    async fn no_name_connects_by_ip_without_sni() {
        let (addr, snis, task) = https_server().await;
        let out = prober().probe(&https(addr, false, None)).await;
        assert!(out.passed, "{out:?}");
        assert_eq!(lock(&snis).as_slice(), &[None]);
        task.abort();
    }

    #[tokio::test]
    async fn host_header_name_is_the_tls_name_when_no_sni() {
        let (addr, snis, task) = https_server().await;
        let mut spec = https(addr, false, None);
        if let ProbeKind::Http { host, .. } = &mut spec.kind {
            *host = Some(format!("{NAME}:8443"));
        }
        let out = prober().probe(&spec).await;
        assert!(out.passed, "{out:?}");
        assert_eq!(lock(&snis).as_slice(), &[Some(NAME.to_owned())]);
        task.abort();
    }
}

/// A keep-alive HTTP/1.1 server: answers every request on a connection with `status`, and
/// closes a connection after `per_connection` responses (without saying so first).
async fn keepalive_server(
    per_connection: usize,
) -> (SocketAddr, Arc<AtomicUsize>, Arc<Mutex<u16>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let status = Arc::new(Mutex::new(200u16));
    let (c, st) = (connections.clone(), status.clone());
    tokio::spawn(async move {
        for _ in 0..100 {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            c.fetch_add(1, Ordering::SeqCst);
            let st = st.clone();
            tokio::spawn(async move {
                for _ in 0..per_connection {
                    if read_head(&mut stream).await.is_none() {
                        return;
                    }
                    let code = *lock(&st);
                    let body = "alive and well";
                    let reply = format!(
                        "HTTP/1.1 {code} X\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if stream.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, connections, status)
}

fn reusing(spec: ProbeSpec) -> ProbeSpec {
    let mut spec = spec;
    if let ProbeKind::Http { reuse, .. } = &mut spec.kind {
        *reuse = true;
    }
    spec
}

#[tokio::test]
async fn reuse_keeps_one_connection_and_replaces_a_closed_one() {
    let p = prober();
    let (addr, connections, status) = keepalive_server(3).await;
    let spec = with_body(reusing(http(addr)), "alive");
    for i in 0..7 {
        let out = p.probe(&spec).await;
        assert!(out.passed, "probe {i}: {}", out.reason);
    }
    // 3 requests per connection before the server drops it: 7 probes need 3 connections, and
    // the dropped ones were replaced without a failed probe.
    assert_eq!(connections.load(Ordering::SeqCst), 3);
    *lock(&status) = 503;
    let out = p.probe(&spec).await;
    assert!(!out.passed);
    assert_eq!(out.reason, "HTTP 503");
    // Without reuse, every probe opens its own connection.
    let (addr, connections, _) = keepalive_server(100).await;
    for _ in 0..3 {
        assert!(p.probe(&http(addr)).await.passed);
    }
    assert_eq!(connections.load(Ordering::SeqCst), 3);
}
