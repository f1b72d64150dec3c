//! Real programs from Debian packages, run by tests on loopback: Unbound, Knot Resolver
//! (`kresd`) and Prometheus. Each runs in its own temp dir, with a config the test writes,
//! on a free 127.0.0.1 port, and is stopped (SIGTERM, then SIGKILL) when its guard drops
//! ([`Process`], the harness's one process guard).
//! Every wait is bounded.
//!
//! A program that is not installed makes the test print a loud `SKIPPED: ... not installed`
//! line and return, so a plain `cargo test` works on a developer's machine; with
//! `STEERDNS_REQUIRE_EXTERNAL=1` (set by `.ci/run`, which installs them) it fails the test.
//!
//! Running as root in a container (no systemd) needs nothing special here: Unbound is told not
//! to chroot or change user and to log to stderr; kresd runs in the foreground (`-n`) with its
//! cache in the temp dir and its default modules that talk to the root servers (priming, time
//! skew) unloaded; Prometheus keeps its TSDB in the temp dir. Nothing is sent anywhere but the
//! loopback servers the test names: both resolvers refuse every name outside the stub zones.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;

use super::client::{Query, send_udp};
use super::daemon::free_port;
use super::process::Process;

//------------ finding programs -------------------------------------------------------------------

/// The Debian package that ships a program (named in skip and failure messages).
pub fn package_of(program: &str) -> &str {
    match program {
        "unbound" | "unbound-control" | "unbound-checkconf" => "unbound",
        "kresd" => "knot-resolver",
        "knotd" | "knotc" => "knot",
        "delv" | "dig" => "bind9-dnsutils",
        "dnssec-dsfromkey" | "dnssec-verify" => "bind9-utils",
        "ldns-key2ds" | "ldns-verify-zone" => "ldnsutils",
        "kubernetes-validate" => "python3-venv, then pip install kubernetes-validate",
        other => other,
    }
}

/// Where `program` is installed: `PATH`, then the sbin directories (root's tools are there
/// and a test's `PATH` may not list them).
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt as _;
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Whether a missing program must fail the test (`STEERDNS_REQUIRE_EXTERNAL=1`).
pub fn external_required() -> bool {
    std::env::var("STEERDNS_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1")
}

/// The path of `program`, or `None` after a loud `SKIPPED` line on stderr (written past the
/// test harness's capture, so it shows in a plain `cargo test`). Panics instead when
/// [`external_required`].
pub fn require_program(program: &str) -> Option<PathBuf> {
    if let Some(p) = find_program(program) {
        return Some(p);
    }
    let package = package_of(program);
    if external_required() {
        panic!(
            "{program} is not installed and STEERDNS_REQUIRE_EXTERNAL=1 makes that a failure \
             (apt-get install {package}; .ci/run does)"
        );
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string();
    let _ = writeln!(
        std::io::stderr(),
        "\n**** SKIPPED: {program} not installed ({test} did not run; apt-get install {package}, \
         or run .ci/run) ****\n"
    );
    None
}

/// [`require_program`] for several programs at once: `None` (one SKIPPED line each) unless
/// all are installed.
pub fn require_programs(programs: &[&str]) -> Option<Vec<PathBuf>> {
    let found: Vec<Option<PathBuf>> = programs.iter().map(|p| require_program(p)).collect();
    found.into_iter().collect()
}

/// Whether a DNS server at `addr` answers a UDP query at all.
fn answers_dns(addr: SocketAddr) -> bool {
    let probe = Query::new("ready.probe.invalid.", RecordType::A).to_bytes();
    send_udp(addr, &probe, Duration::from_millis(200)).is_ok_and(|r| Message::from_vec(&r).is_ok())
}

//------------ zones a resolver sends to a test server ---------------------------------------------

/// A zone a resolver sends to an authoritative server the test started.
#[derive(Debug, Clone)]
pub struct Stub {
    /// Zone apex, absolute (`geo.test.`).
    pub zone: String,
    /// The authoritative server (a loopback address and port).
    pub server: SocketAddr,
}

impl Stub {
    /// A stub zone.
    pub fn new(zone: &str, server: SocketAddr) -> Self {
        let zone = if zone.ends_with('.') {
            zone.to_string()
        } else {
            format!("{zone}.")
        };
        Self { zone, server }
    }
}

//------------ Unbound ----------------------------------------------------------------------------

/// How to run Unbound.
#[derive(Debug, Clone)]
pub struct UnboundOptions {
    /// Load the `subnetcache` module and send ECS to every stub server (RFC 7871). Without it
    /// Unbound sends no ECS and caches one answer per name.
    pub ecs: bool,
    /// Extra lines for the `server:` clause (indented by four spaces).
    pub extra: String,
    /// DNSSEC trust anchors, one DS or DNSKEY record each in zone-file form
    /// (`"example.test. DS 12345 13 2 AB..."`). With any, Unbound validates (the `validator`
    /// module) and a stub zone with an anchor is the only secure island it knows.
    pub trust_anchors: Vec<String>,
}

impl Default for UnboundOptions {
    fn default() -> Self {
        Self {
            ecs: true,
            extra: String::new(),
            trust_anchors: Vec::new(),
        }
    }
}

/// A running Unbound with stub zones pointing at test servers.
pub struct Unbound {
    /// Where it answers (UDP and TCP).
    pub addr: SocketAddr,
    conf: PathBuf,
    process: Process,
}

impl Unbound {
    /// Starts Unbound with ECS (`subnetcache`), QNAME minimisation and 0x20 (`use-caps-for-id`)
    /// on, for `stubs`; `None` when Unbound is not installed (the test is skipped).
    pub fn start(stubs: &[Stub]) -> Option<Self> {
        Self::start_with(stubs, &UnboundOptions::default())
    }

    /// Like [`Unbound::start`], with options.
    pub fn start_with(stubs: &[Stub], options: &UnboundOptions) -> Option<Self> {
        let programs = require_programs(&["unbound", "unbound-control"])?;
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let conf = dir.path().join("unbound.conf");
        std::fs::write(&conf, unbound_config(dir.path(), port, stubs, options))
            .expect("write unbound.conf");
        std::fs::write(dir.path().join("root.hints"), ROOT_HINTS).expect("write root.hints");
        let mut cmd = Command::new(&programs[0]);
        cmd.arg("-d").arg("-c").arg(&conf);
        let mut process = Process::spawn_in("unbound", cmd, dir);
        process.wait_until("answers on its port", || answers_dns(addr));
        Some(Self {
            addr,
            conf,
            process,
        })
    }

    /// What Unbound has logged.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Runs `unbound-control` with `args` on this instance; returns its stdout.
    pub fn control(&self, args: &[&str]) -> String {
        let program = find_program("unbound-control").expect("unbound-control");
        let out = Command::new(program)
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .output()
            .expect("run unbound-control");
        assert!(
            out.status.success(),
            "unbound-control {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Statistics (`unbound-control stats_noreset`) as name → value, e.g.
    /// `total.num.queries`, `num.query.subnet`, `num.query.subnet_cache`.
    pub fn stats(&self) -> BTreeMap<String, f64> {
        self.control(&["stats_noreset"])
            .lines()
            .filter_map(|l| {
                let (k, v) = l.split_once('=')?;
                Some((k.to_string(), v.trim().parse().ok()?))
            })
            .collect()
    }
}

/// The whole `unbound.conf`.
fn unbound_config(dir: &Path, port: u16, stubs: &[Stub], options: &UnboundOptions) -> String {
    let dir = dir.display();
    let mut c = format!(
        r#"server:
    interface: 127.0.0.1
    port: {port}
    interface-automatic: no
    do-ip6: no
    outgoing-interface: 127.0.0.1
    # Root in a container: no chroot, no user switch, log to stderr, stay in the foreground.
    username: ""
    chroot: ""
    directory: "{dir}"
    pidfile: "{dir}/unbound.pid"
    use-syslog: no
    logfile: ""
    log-time-ascii: yes
    verbosity: 1
    # Small and single-threaded: these machines are shared.
    num-threads: 1
    so-reuseport: no
    outgoing-range: 64
    outgoing-num-tcp: 4
    incoming-num-tcp: 8
    msg-cache-size: 4m
    rrset-cache-size: 4m
    extended-statistics: yes
    statistics-cumulative: yes
    access-control: 127.0.0.0/8 allow
    # The servers under test listen on loopback.
    do-not-query-localhost: no
    qname-minimisation: yes
    qname-minimisation-strict: no
    use-caps-for-id: yes
    prefetch: no
    target-fetch-policy: "0 0 0 0 0"
    # Never leave loopback: refuse every name outside the stub zones, and a root hint (never
    # used) that points at loopback instead of the root servers.
    root-hints: "{dir}/root.hints"
    local-zone: "." refuse
"#
    );
    let validator = if options.trust_anchors.is_empty() {
        ""
    } else {
        "validator "
    };
    for anchor in &options.trust_anchors {
        c.push_str(&format!("    trust-anchor: \"{anchor}\"\n"));
    }
    if !validator.is_empty() {
        // Say why an answer is bogus, in the log the test prints when it fails.
        c.push_str("    val-log-level: 2\n");
    }
    if options.ecs {
        c.push_str(&format!(
            "    module-config: \"subnetcache {validator}iterator\"\n"
        ));
        c.push_str("    max-client-subnet-ipv4: 24\n    max-client-subnet-ipv6: 56\n");
        let mut servers: Vec<IpAddr> = stubs.iter().map(|s| s.server.ip()).collect();
        servers.sort();
        servers.dedup();
        for ip in servers {
            c.push_str(&format!("    send-client-subnet: {ip}\n"));
        }
    } else {
        c.push_str(&format!("    module-config: \"{validator}iterator\"\n"));
    }
    // Unbound answers `.test`, `.invalid` and the other RFC 6761 names itself (empty local
    // zones), and "." is refused above: a transparent local zone lets each stub zone through.
    for s in stubs {
        c.push_str(&format!("    local-zone: \"{}\" transparent\n", s.zone));
    }
    for line in options.extra.lines() {
        c.push_str(&format!("    {}\n", line.trim()));
    }
    for s in stubs {
        c.push_str(&format!(
            "stub-zone:\n    name: \"{}\"\n    stub-addr: {}@{}\n    stub-prime: no\n",
            s.zone,
            s.server.ip(),
            s.server.port()
        ));
    }
    c.push_str(&format!(
        "remote-control:\n    control-enable: yes\n    control-interface: \"{dir}/unbound.ctl\"\n"
    ));
    c
}

/// Root hints that point at an unused loopback address, never at the root servers.
const ROOT_HINTS: &str = ".  3600000 NS a.root.invalid.\na.root.invalid. 3600000 A 127.0.0.254\n";

//------------ Knot Resolver ------------------------------------------------------------------------

/// A running Knot Resolver (`kresd`) that sends the stub zones to test servers
/// (`policy.STUB`, Knot Resolver's way to serve a zone from a given authoritative server).
/// As 5.6 does: no ECS, no QNAME minimisation for stub zones, 0x20 on, and every answer kept
/// at least 5 s (`cache.min_ttl`) whatever its TTL.
pub struct Kresd {
    /// Where it answers (UDP and TCP).
    pub addr: SocketAddr,
    process: Process,
}

impl Kresd {
    /// Starts kresd for `stubs`; `None` when it is not installed (the test is skipped).
    pub fn start(stubs: &[Stub]) -> Option<Self> {
        Self::start_with(stubs, "")
    }

    /// Like [`Kresd::start`], with extra Lua configuration appended.
    pub fn start_with(stubs: &[Stub], extra_lua: &str) -> Option<Self> {
        let kresd = require_program("kresd")?;
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let conf = dir.path().join("kresd.conf");
        std::fs::write(&conf, kresd_config(dir.path(), port, stubs, extra_lua))
            .expect("write kresd.conf");
        let mut cmd = Command::new(kresd);
        cmd.arg("-n").arg("-c").arg(&conf).arg(dir.path());
        let mut process = Process::spawn_in("kresd", cmd, dir);
        process.wait_until("answers on its port", || answers_dns(addr));
        Some(Self { addr, process })
    }

    /// What kresd has logged.
    pub fn log(&self) -> String {
        self.process.log()
    }
}

/// The whole `kresd.conf` (Lua).
fn kresd_config(dir: &Path, port: u16, stubs: &[Stub], extra: &str) -> String {
    let dir = dir.display();
    let mut c = format!(
        r#"-- steerdns test resolver: loopback only.
log_target('stderr')
log_level('notice')
net.listen('127.0.0.1', {port}, {{ kind = 'dns' }})
net.ipv6 = false
cache.open(16 * MB, 'lmdb://{dir}/cache')
-- These default modules query the root servers: not here.
modules.unload('priming')
modules.unload('detect_time_skew')
modules.unload('ta_signal_query')
modules.unload('ta_sentinel')
modules.unload('ta_update')
trust_anchors.remove('.')
"#
    );
    for s in stubs {
        c.push_str(&format!(
            "policy.add(policy.suffix(policy.STUB({{'{}@{}'}}), {{todname('{}')}}))\n",
            s.server.ip(),
            s.server.port(),
            s.zone
        ));
    }
    c.push_str("-- Everything else is refused: nothing leaves loopback.\n");
    c.push_str("policy.add(policy.all(policy.REFUSE))\n");
    c.push_str(extra);
    c.push('\n');
    c
}

//------------ Prometheus ----------------------------------------------------------------------------

/// A running Prometheus server with a scrape config the test gives and its storage in a temp
/// dir.
pub struct Prometheus {
    /// Its HTTP address (`/api/v1/query`, `/-/ready`).
    pub addr: SocketAddr,
    process: Process,
}

/// A `prometheus.yml` that scrapes `targets` (host:port, loopback) at `/metrics` every
/// `interval` (e.g. `"1s"`) under job `job`.
pub fn prometheus_scrape_config(job: &str, targets: &[SocketAddr], interval: &str) -> String {
    let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
    format!(
        "global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n\
         scrape_configs:\n  - job_name: '{job}'\n    scrape_interval: {interval}\n    \
         static_configs:\n      - targets: [{}]\n",
        targets.join(", ")
    )
}

impl Prometheus {
    /// Starts Prometheus with `config` as its `prometheus.yml` (see
    /// [`prometheus_scrape_config`]) on a free loopback port; waits until `/-/ready` says so.
    /// `None` when Prometheus is not installed (the test is skipped).
    pub fn start(config: &str) -> Option<Self> {
        let prometheus = require_program("prometheus")?;
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let conf = dir.path().join("prometheus.yml");
        std::fs::write(&conf, config).expect("write prometheus.yml");
        let mut cmd = Command::new(prometheus);
        cmd.arg(format!("--config.file={}", conf.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=1h")
            .arg("--log.level=warn")
            .current_dir(dir.path());
        let mut process = Process::spawn_in("prometheus", cmd, dir);
        process.wait_until("/-/ready", || http_status(addr, "/-/ready") == Some(200));
        Some(Self { addr, process })
    }

    /// What Prometheus has logged.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// An instant query (`/api/v1/query`); the whole JSON reply.
    pub fn query(&self, promql: &str) -> serde_json::Value {
        let q: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("query", promql)
            .finish();
        let body = super::daemon::http_get(self.addr, &format!("/api/v1/query?{q}"));
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("prometheus reply ({e}): {body}"))
    }

    /// The value of the first sample of an instant query; `None` when it has no sample.
    pub fn query_value(&self, promql: &str) -> Option<f64> {
        let reply = self.query(promql);
        let value = reply["data"]["result"].get(0)?["value"].get(1)?.as_str()?;
        value.parse().ok()
    }
}

/// The HTTP status of a GET, `None` when nothing answers.
pub fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    use std::io::Read as _;
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
