//! The daemon launcher: writes a main config, zones and other files into a temporary folder,
//! runs the real `steerdns serve` binary on free loopback ports, waits until it answers, and
//! kills it when dropped.
//!
//! ```text
//!  Setup::new()          test defaults ──┐
//!  Setup::shipped()      steerdns.toml ──┼─ .zone(Zone) .file(..) .config("[log]...") ─ .start()
//!                                        │
//!  tempdir/ steerdns.toml zones/*.toml daemon.log  ◄── Daemon { addr, metrics, dir, config }
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;

use super::client::{self, Query};
use super::process::Process;
use super::zone::Zone;

/// How long a reload may take to be counted before the test fails.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(10);

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A free loopback port for both UDP and TCP (see [`free_addr`]).
pub fn free_port() -> u16 {
    free_addr("127.0.0.1").port()
}

/// The ports tests hand out: below the kernel's ephemeral range when there is room there,
/// else above it. A port taken from the ephemeral range (by binding port 0) is free for the
/// moment only: between the test picking it and its server binding it, the kernel may give it
/// to a client socket (dig, a resolver's query socket), which then receives another test's
/// queries (seen: dig's "query response not set" in tests/readme.rs under a parallel run).
fn test_port_range() -> (u16, u16) {
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|p| p.parse::<u32>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999));
    match ephemeral {
        (low, _) if low >= 12_000 => (10_000, (low - 1).min(u32::from(u16::MAX)) as u16),
        (_, high) if high <= 55_000 => ((high + 1) as u16, 65_000),
        _ => (0, 0),
    }
}

/// A free port on the loopback address `ip` (`"127.0.0.31"`) for both UDP and TCP, outside the
/// kernel's ephemeral range ([`test_port_range`]); each call of this process tries the next
/// port after a start drawn from the process id and the clock, so parallel tests (and test
/// binaries) do not walk the same ports.
pub fn free_addr(ip: &str) -> SocketAddr {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    static START: OnceLock<u32> = OnceLock::new();
    let ip: std::net::IpAddr = ip.parse().expect("loopback address");
    let (low, high) = test_port_range();
    let start = *START.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        std::process::id().wrapping_mul(2_654_435_761) ^ nanos
    });
    let free = |addr: SocketAddr| {
        UdpSocket::bind(addr).is_ok() && std::net::TcpListener::bind(addr).is_ok()
    };
    for _ in 0..200 {
        let addr = if high > low {
            let span = u32::from(high - low) + 1;
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            SocketAddr::new(ip, low + (start.wrapping_add(n) % span) as u16)
        } else {
            // No room outside the ephemeral range: any port the kernel gives.
            UdpSocket::bind((ip, 0))
                .expect("bind udp")
                .local_addr()
                .expect("addr")
        };
        if free(addr) {
            return addr;
        }
    }
    panic!("no port free for both UDP and TCP on {ip} after 200 tries");
}

/// Port 53 (UDP and TCP) on some loopback address `127.53.x.1` that nothing uses, for a name
/// server resolvers must reach through a delegation (glue has no port). `None` when port 53
/// cannot be bound here (not root, no `CAP_NET_BIND_SERVICE`).
pub fn free_port_53() -> Option<SocketAddr> {
    let start = std::process::id() % 200;
    for i in 0..50 {
        let addr: SocketAddr = ([127, 53, ((start + i) % 250) as u8 + 1, 1], 53).into();
        match UdpSocket::bind(addr) {
            Ok(_) if std::net::TcpListener::bind(addr).is_ok() => return Some(addr),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return None,
            _ => continue,
        }
    }
    None
}

/// Deep-merges `from` into `into`: tables are merged key by key, other values replaced.
fn merge(into: &mut toml::Table, from: toml::Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(old)), toml::Value::Table(new)) => merge(old, new),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// Parses a TOML fragment of the main config; panics naming the fragment when it is not TOML.
fn fragment(text: &str) -> toml::Table {
    text.parse()
        .unwrap_or_else(|e| panic!("config fragment is not TOML ({e}):\n{text}"))
}

/// `value` as an absolute path string, resolved against the repository root when relative.
fn in_repo(value: Option<&toml::Value>, default: &str) -> String {
    let raw = value.and_then(toml::Value::as_str).unwrap_or(default);
    let p = Path::new(raw);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        repo().join(p)
    };
    abs.to_string_lossy().into_owned()
}

//------------ Setup ------------

/// What to start: a main config (as a TOML table, listen addresses filled in at start),
/// zone files and other files. Build it, then [`Setup::start`].
#[derive(Clone, Debug)]
pub struct Setup {
    config: toml::Table,
    zones: Vec<(String, String)>,
    files: Vec<(String, Vec<u8>)>,
    listen: Option<SocketAddr>,
    /// DNS and admin addresses chosen by the test ([`Setup::addresses`]).
    addresses: Option<(SocketAddr, SocketAddr)>,
}

impl Default for Setup {
    fn default() -> Self {
        Self::new()
    }
}

impl Setup {
    /// The test defaults: one worker, NSID `test-nsid`, identity `test-id`, TCP idle timeout
    /// 2 s, 16 TCP connections, RRL off, zones in `zones/`, everything else the daemon's
    /// defaults (so `debug_from` is loopback).
    pub fn new() -> Self {
        let config = fragment(
            r#"
[server]
workers = 1
nsid = "test-nsid"
identity = "test-id"
tcp_idle_timeout = "2s"
max_tcp_connections = 16
[rrl]
enabled = false
"#,
        );
        Self {
            config,
            zones: Vec::new(),
            files: Vec::new(),
            listen: None,
            addresses: None,
        }
    }

    /// The shipped example: the repository's `steerdns.toml`, its zones and GeoIP database
    /// read from the repository by absolute path, pid and health state files in the temp dir.
    pub fn shipped() -> Self {
        let text =
            std::fs::read_to_string(repo().join("steerdns.toml")).expect("read steerdns.toml");
        let mut config = fragment(&text);
        let db = in_repo(
            config.get("geoip").and_then(|g| g.get("database")),
            "geoip/geo-whois-asn-country.mmdb",
        );
        let zones = in_repo(
            config.get("zones").and_then(|z| z.get("directory")),
            "zones",
        );
        let mut paths = toml::Table::new();
        paths.insert("geoip".into(), table([("database", db)]));
        paths.insert("zones".into(), table([("directory", zones)]));
        merge(&mut config, paths);
        Self {
            config,
            zones: Vec::new(),
            files: Vec::new(),
            listen: None,
            addresses: None,
        }
    }

    /// Adds a zone file (`zones/<origin>.toml`).
    pub fn zone(mut self, zone: &Zone) -> Self {
        self.zones.push((zone.file_name(), zone.to_string()));
        self
    }

    /// Adds a zone file with the given name and text, as written (for files a test must
    /// control to the line, e.g. broken ones).
    pub fn zone_text(mut self, file_name: &str, text: &str) -> Self {
        self.zones.push((file_name.to_owned(), text.to_owned()));
        self
    }

    /// Adds a file beside the main config (e.g. a GeoIP database).
    pub fn file(mut self, name: &str, bytes: &[u8]) -> Self {
        self.files.push((name.to_owned(), bytes.to_vec()));
        self
    }

    /// Merges a TOML fragment into the main config: `"[log]\nformat = \"json\""`,
    /// `"[server]\ntcp_idle_timeout = \"1s\""`. Tables merge, values replace.
    pub fn config(mut self, toml_fragment: &str) -> Self {
        merge(&mut self.config, fragment(toml_fragment));
        self
    }

    /// Listens for DNS on `addr` instead of a free port on 127.0.0.1 (a name server that
    /// resolvers reach through a delegation must be on port 53: glue has no port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = Some(addr);
        self
    }

    /// Serves DNS on `dns` and the admin listener on `admin` (loopback addresses, e.g. from
    /// [`free_addr`]) instead of free ports on 127.0.0.1: for tests that must know them
    /// before the daemon starts, such as peers naming each other.
    pub fn addresses(mut self, dns: SocketAddr, admin: SocketAddr) -> Self {
        self.addresses = Some((dns, admin));
        self
    }

    /// Writes the files into a new temp dir, starts the daemon on free loopback ports and
    /// waits until it answers over UDP and has written its pid file.
    pub fn start(self) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, bytes) in &self.files {
            std::fs::write(dir.path().join(name), bytes).expect("write file");
        }
        std::fs::create_dir_all(dir.path().join("zones")).expect("zones dir");
        for (name, text) in &self.zones {
            std::fs::write(dir.path().join("zones").join(name), text).expect("write zone");
        }
        let (addr, metrics): (SocketAddr, SocketAddr) = self.addresses.unwrap_or_else(|| {
            (
                self.listen
                    .unwrap_or_else(|| ([127, 0, 0, 1], free_port()).into()),
                ([127, 0, 0, 1], free_port()).into(),
            )
        });
        let in_dir = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        let mut config = self.config;
        let mut fixed = toml::Table::new();
        fixed.insert(
            "server".into(),
            toml::Value::Table(
                [
                    (
                        "listen".to_owned(),
                        toml::Value::from(vec![addr.to_string()]),
                    ),
                    ("pid_file".to_owned(), in_dir("steerdns.pid").into()),
                ]
                .into_iter()
                .collect(),
            ),
        );
        fixed.insert(
            "health".into(),
            table([("state_file", in_dir("steerdns.health"))]),
        );
        fixed.insert("metrics".into(), table([("listen", metrics.to_string())]));
        merge(&mut config, fixed);
        let path = dir.path().join("steerdns.toml");
        let mut daemon = Daemon {
            process: None,
            dir,
            addr,
            metrics,
            config: path,
            table: config,
        };
        daemon.write_config();
        daemon.spawn_and_wait();
        daemon
    }
}

/// A one-level TOML table of string values.
fn table<const N: usize>(entries: [(&str, String); N]) -> toml::Value {
    toml::Value::Table(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), toml::Value::String(v)))
            .collect(),
    )
}

//------------ Daemon ------------

/// What a reload did, as the daemon counted it (`steerdns_reloads_total{result}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reload {
    /// The new configuration is serving.
    Applied,
    /// The old configuration keeps serving.
    Rejected,
}

/// A running `steerdns serve` on loopback; killed when dropped.
pub struct Daemon {
    process: Option<Process>,
    /// The temp dir holding the config, zones, pid, health state and `daemon.log`.
    pub dir: tempfile::TempDir,
    /// DNS address (UDP and TCP).
    pub addr: SocketAddr,
    /// Admin (metrics) listener.
    pub metrics: SocketAddr,
    /// The main config file.
    pub config: PathBuf,
    table: toml::Table,
}

impl Daemon {
    /// Starts a daemon with the test defaults and one zone.
    pub fn start(zone: &Zone) -> Self {
        Setup::new().zone(zone).start()
    }

    fn spawn_and_wait(&mut self) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_steerdns"));
        cmd.args(["serve", "-c"])
            .arg(&self.config)
            .current_dir(self.dir.path());
        let process = self
            .process
            .insert(Process::spawn("daemon", cmd, self.dir.path()));
        let pid = process.pid().to_string();
        let pid_file = self.dir.path().join("steerdns.pid");
        let probe = Query::new("probe.invalid.", RecordType::A).to_bytes();
        let addr = self.addr;
        // Ready: it answers, and its pid file names it (so `steerdns reload` finds it).
        process.wait_until("answers, pid file written", || {
            client::send_udp(addr, &probe, Duration::from_millis(250)).is_ok()
                && std::fs::read_to_string(&pid_file).is_ok_and(|p| p.trim() == pid)
        });
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.process.as_ref().expect("running").pid()
    }

    /// What the daemon has logged so far (all runs, when restarted).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    /// Kills the daemon (SIGKILL, like a crash) and starts it again on the same files and
    /// ports; waits until it answers. `between` runs while it is down.
    pub fn restart(&mut self, between: impl FnOnce()) {
        if let Some(mut p) = self.process.take() {
            p.kill();
        }
        between();
        self.spawn_and_wait();
    }

    //--- queries

    /// Sends `q` over UDP and decodes the reply.
    pub fn udp(&self, q: Query) -> Message {
        client::udp(self.addr, &q)
    }

    /// Sends `q` over TCP and decodes the reply.
    pub fn tcp(&self, q: Query) -> Message {
        client::tcp(self.addr, &q)
    }

    //--- files and reloads

    fn write_config(&self) {
        let text = toml::to_string(&self.table).expect("render config");
        std::fs::write(&self.config, text).expect("write config");
    }

    /// Merges a TOML fragment into the main config file (no reload; see [`Daemon::reload`]).
    pub fn update_config(&mut self, toml_fragment: &str) {
        merge(&mut self.table, fragment(toml_fragment));
        self.write_config();
    }

    /// The main config as written, as a TOML table.
    pub fn config_table(&self) -> &toml::Table {
        &self.table
    }

    /// Replaces the main config with `table` (no reload).
    pub fn set_config_table(&mut self, table: toml::Table) {
        self.table = table;
        self.write_config();
    }

    /// Writes a zone file (`zones/<origin>.toml`; no reload).
    pub fn write_zone(&self, zone: &Zone) {
        self.write_zone_text(&zone.file_name(), &zone.to_string());
    }

    /// Writes a zone file with the given name and text (no reload).
    pub fn write_zone_text(&self, file_name: &str, text: &str) {
        std::fs::write(self.dir.path().join("zones").join(file_name), text).expect("write zone");
    }

    /// Sends SIGHUP.
    pub fn sighup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -HUP {}", self.pid());
    }

    /// (ok, error) reloads counted so far.
    fn reloads(&self) -> (f64, f64) {
        let m = self.metrics_text();
        (
            metric(&m, "steerdns_reloads_total{result=\"ok\"}"),
            metric(&m, "steerdns_reloads_total{result=\"error\"}"),
        )
    }

    /// Sends SIGHUP and waits until the daemon has counted the reload's outcome.
    pub fn reload(&self) -> Reload {
        let (ok, error) = self.reloads();
        self.sighup();
        let started = Instant::now();
        loop {
            let (ok_now, error_now) = self.reloads();
            if ok_now > ok {
                return Reload::Applied;
            }
            if error_now > error {
                return Reload::Rejected;
            }
            assert!(
                started.elapsed() < RELOAD_TIMEOUT,
                "reload not counted within {RELOAD_TIMEOUT:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    //--- admin listener

    /// GETs a path from the admin listener; returns the body.
    pub fn http_get(&self, path: &str) -> String {
        http_get(self.metrics, path)
    }

    /// The Prometheus text of `/metrics`.
    pub fn metrics_text(&self) -> String {
        self.http_get("/metrics")
    }

    /// The value of one series (exact label set) of `/metrics`, 0 when absent.
    pub fn metric(&self, series: &str) -> f64 {
        metric(&self.metrics_text(), series)
    }

    /// The daemon's one staged rollout, from `GET /v1/rollouts` (there must be exactly one).
    pub fn rollout(&self) -> serde_json::Value {
        let v: serde_json::Value =
            serde_json::from_str(&self.http_get("/v1/rollouts")).expect("/v1/rollouts is JSON");
        let list = v["rollouts"].as_array().expect("rollouts list").clone();
        assert_eq!(list.len(), 1, "{v}");
        list[0].clone()
    }
}

/// Unix time in milliseconds (the clock rollouts and the state file use).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// GETs a path from an admin listener; returns the body.
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

/// Runs the `steerdns` command with `args` in `cwd`; returns (exit code, stdout, stderr).
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
