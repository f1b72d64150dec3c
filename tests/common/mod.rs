//! Test harness: run the real `steerdns` binary on loopback with files written by the test,
//! and query it over UDP and TCP with hickory-proto (an independent DNS implementation).
#![allow(dead_code)]

pub mod external;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use hickory_proto::rr::{DNSClass, Name, RecordType};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A free loopback port for both UDP and TCP (best effort; the race is harmless in tests).
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = udp.local_addr().expect("addr").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port");
}

/// A running daemon; killed when dropped.
pub struct Daemon {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub metrics: SocketAddr,
    pub config: PathBuf,
}

impl Daemon {
    /// Stops the daemon and starts it again on the same files and ports; waits until it
    /// answers. `between` runs while it is down.
    pub fn restart(&mut self, between: impl FnOnce()) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        between();
        self.child = spawn(&self.config);
        wait_ready(self.addr);
    }
}

/// Starts the binary; its log (stderr) goes to `daemon.log` beside the config.
fn spawn(config: &Path) -> Child {
    let log_path = config.with_file_name("daemon.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .expect("open daemon.log");
    Command::new(env!("CARGO_BIN_EXE_steerdns"))
        .args(["serve", "-c"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn steerdns")
}

impl Daemon {
    /// What the daemon has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.config.with_file_name("daemon.log")).unwrap_or_default()
    }
}

fn wait_ready(addr: SocketAddr) {
    for _ in 0..200 {
        if try_udp(
            addr,
            &build("probe.invalid.", RecordType::A, &Opts::default()),
            0.05,
        )
        .is_some()
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("steerdns did not start on {addr}");
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Main config text for a test daemon: listens on `port`, zones in `zones`, given extra
/// sections appended (e.g. a [geoip] table).
pub fn main_config(port: u16, metrics_port: u16, extra: &str) -> String {
    format!(
        r#"
[server]
listen = ["127.0.0.1:{port}"]
workers = 1
nsid = "test-nsid"
identity = "test-id"
tcp_idle_timeout = "2s"
max_tcp_connections = 16
[metrics]
listen = "127.0.0.1:{metrics_port}"
[rrl]
enabled = false
{extra}
"#
    )
}

/// Writes files into a temp dir and starts the daemon on it; waits until it answers.
pub fn start(extra_main: &str, zones: &[(&str, &str)]) -> Daemon {
    start_files(extra_main, zones, &[])
}

/// Like [`start`], with extra files (e.g. a GeoIP database) written beside the config.
pub fn start_files(extra_main: &str, zones: &[(&str, &str)], files: &[(&str, &[u8])]) -> Daemon {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).expect("write file");
    }
    std::fs::create_dir_all(dir.path().join("zones")).expect("zones dir");
    for (name, text) in zones {
        std::fs::write(dir.path().join("zones").join(name), text).expect("write zone");
    }
    let port = free_port();
    let metrics_port = free_port();
    let config = dir.path().join("steerdns.toml");
    std::fs::write(&config, main_config(port, metrics_port, extra_main)).expect("write config");
    start_with(dir, config, port, metrics_port)
}

/// Starts the daemon on an existing config.
pub fn start_with(dir: tempfile::TempDir, config: PathBuf, port: u16, metrics_port: u16) -> Daemon {
    let child = spawn(&config);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let daemon = Daemon {
        child,
        dir,
        addr,
        metrics: ([127, 0, 0, 1], metrics_port).into(),
        config,
    };
    wait_ready(addr);
    daemon
}

/// Query options.
#[derive(Clone, Default)]
pub struct Opts {
    /// Send an OPT record with this payload size.
    pub edns: Option<u16>,
    /// EDNS version.
    pub version: u8,
    /// ECS address and source prefix.
    pub ecs: Option<(IpAddr, u8)>,
    /// Ask for NSID.
    pub nsid: bool,
    /// DO bit.
    pub dnssec_ok: bool,
    /// Class (default IN).
    pub class: Option<DNSClass>,
}

/// Builds a query message.
pub fn build(name: &str, qtype: RecordType, o: &Opts) -> Vec<u8> {
    let mut m = Message::new(0x4242, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    let mut q = Query::query(Name::from_ascii(name).expect("name"), qtype);
    q.set_query_class(o.class.unwrap_or(DNSClass::IN));
    m.add_query(q);
    if o.edns.is_some() || o.ecs.is_some() || o.nsid {
        let mut e = Edns::new();
        e.set_max_payload(o.edns.unwrap_or(1232));
        e.set_version(o.version);
        e.set_dnssec_ok(o.dnssec_ok);
        if let Some((addr, prefix)) = o.ecs {
            e.options_mut()
                .insert(EdnsOption::Subnet(ClientSubnet::new(addr, prefix, 0)));
        }
        if o.nsid {
            e.options_mut().insert(EdnsOption::Unknown(3, vec![]));
        }
        m.set_edns(e);
    }
    m.to_vec().expect("encode")
}

/// Sends raw bytes over UDP; returns the raw reply.
pub fn try_udp(addr: SocketAddr, packet: &[u8], timeout_s: f64) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind("127.0.0.1:0").ok()?;
    sock.set_read_timeout(Some(Duration::from_secs_f64(timeout_s)))
        .ok()?;
    sock.send_to(packet, addr).ok()?;
    let mut buf = vec![0u8; 65535];
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// Sends raw bytes over TCP; returns the raw reply.
pub fn try_tcp(addr: SocketAddr, packet: &[u8]) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut framed = (packet.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(packet);
    s.write_all(&framed).ok()?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len).ok()?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut buf).ok()?;
    Some(buf)
}

/// Queries over UDP and decodes.
pub fn udp(addr: SocketAddr, name: &str, qtype: RecordType, o: &Opts) -> Message {
    let reply = try_udp(addr, &build(name, qtype, o), 2.0).expect("udp reply");
    Message::from_vec(&reply).expect("decode reply")
}

/// Queries over TCP and decodes.
pub fn tcp(addr: SocketAddr, name: &str, qtype: RecordType, o: &Opts) -> Message {
    let reply = try_tcp(addr, &build(name, qtype, o)).expect("tcp reply");
    Message::from_vec(&reply).expect("decode reply")
}

/// Answer section as sorted "name ttl type rdata" lines.
pub fn answers(m: &Message) -> Vec<String> {
    section(&m.answers)
}

/// A section as sorted presentation lines.
pub fn section(records: &[hickory_proto::rr::Record]) -> Vec<String> {
    let mut v: Vec<String> = records
        .iter()
        .map(|r| format!("{} {} {} {}", r.name, r.ttl, r.record_type(), r.data))
        .collect();
    v.sort();
    v
}

/// The addresses in an answer, sorted.
pub fn addrs(m: &Message) -> Vec<String> {
    let mut v: Vec<String> = m
        .answers
        .iter()
        .filter(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA))
        .map(|r| r.data.to_string())
        .collect();
    v.sort();
    v
}

/// ECS option of a reply: (address, source, scope).
pub fn ecs_of(m: &Message) -> Option<(IpAddr, u8, u8)> {
    let e = m.edns.as_ref()?;
    match e.option(hickory_proto::rr::rdata::opt::EdnsCode::Subnet)? {
        EdnsOption::Subnet(s) => Some((s.addr(), s.source_prefix(), s.scope_prefix())),
        _ => None,
    }
}

/// Runs `steerdns` with arguments; returns (exit code, stdout, stderr).
pub fn run(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_steerdns"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run steerdns");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Sends SIGHUP to the daemon.
pub fn sighup(d: &Daemon) {
    let status = Command::new("kill")
        .args(["-HUP", &d.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// GETs a path from the daemon's admin listener; returns the body.
pub fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect admin");
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// Value of a metric line (exact label set) in Prometheus text, 0 when absent.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

/// Deterministic xorshift64* generator (garbage packets, random names).
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Whether the server closes `stream` (EOF or error) within its read timeout.
pub fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte), Ok(0) | Err(_))
}
