//! A plain HTTP/1.1 client for the admin listener that can choose its source address (to be
//! an untrusted loopback client such as 127.0.0.2) and send any method and headers.
//!
//! ```text
//!  Http::post("/v1/reload").from("127.0.0.2").bearer("s3cret").send(d.metrics) ─► Reply
//! ```

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

/// One request under construction.
#[derive(Clone, Debug)]
pub struct Http {
    method: String,
    path: String,
    from: Option<IpAddr>,
    headers: Vec<(String, String)>,
}

/// A response: status, headers (lower-case names, in order) and body.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Header lines as (lower-case name, value).
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Reply {
    /// Every value of header `name` (lower case).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body parsed as JSON; panics with the body when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

impl Http {
    /// A GET of `path`.
    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    /// A POST of `path` (empty body).
    pub fn post(path: &str) -> Self {
        Self::new("POST", path)
    }

    /// Any method.
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            from: None,
            headers: Vec::new(),
        }
    }

    /// Connects from this local address (a loopback address such as `127.0.0.2`).
    pub fn from(mut self, addr: &str) -> Self {
        self.from = Some(addr.parse().expect("source address"));
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    /// Sends the request and reads the whole response (the server closes the connection).
    pub fn send(&self, server: SocketAddr) -> Reply {
        let mut stream = self.connect(server);
        stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
        let mut request = format!(
            "{} {} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: 0\r\n",
            self.method, self.path
        );
        for (n, v) in &self.headers {
            request.push_str(&format!("{n}: {v}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).expect("send request");
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("read response");
        parse(&raw)
    }

    fn connect(&self, server: SocketAddr) -> TcpStream {
        let Some(from) = self.from else {
            return TcpStream::connect_timeout(&server, Duration::from_secs(5))
                .expect("connect admin listener");
        };
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(server),
            socket2::Type::STREAM,
            None,
        )
        .expect("socket");
        socket
            .bind(&SocketAddr::new(from, 0).into())
            .unwrap_or_else(|e| panic!("bind {from}: {e}"));
        socket
            .connect_timeout(&server.into(), Duration::from_secs(5))
            .expect("connect admin listener");
        socket.into()
    }
}

fn parse(raw: &str) -> Reply {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {raw:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}
