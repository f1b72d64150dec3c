//! blaster: a small DNS-over-UDP load generator for loopback benchmarks.
//!
//! Several non-blocking UDP sockets (batched with sendmmsg/recvmmsg), each with a window of outstanding queries, driven by one
//! busy-polling thread (pin it to its own core with `taskset`). Queries come from a file,
//! one per line, cycled:
//!
//! ```text
//! # name                     type   [ECS subnet]
//! www.gslb.example.test.     A      81.2.69.0/24
//! static.gslb.example.test.  A
//! ```
//!
//! Every query carries EDNS (UDP size 1232); a third column adds an EDNS Client Subnet option.
//! With `--rate Q` it offers a fixed load (for latency at e.g. 20k q/s); without, it keeps
//! the windows full (saturation).
//!
//! Bounded: at most 60 s and `--max-queries` queries; refuses any target that is not
//! loopback (127.0.0.0/8 or ::1).
//!
//! Prints a human summary and one machine-readable line starting with `RESULT`.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// `sendmmsg(2)` / `recvmmsg(2)` through glibc, declared here so the tool needs std only:
/// one system call per batch instead of per packet (system calls are the client's main
/// cost on these machines). Linux x86_64/aarch64 layouts.
#[cfg(target_os = "linux")]
mod mmsg {
    use std::ffi::c_void;
    use std::io;
    use std::os::fd::AsRawFd;

    #[repr(C)]
    pub struct IoVec {
        pub base: *mut c_void,
        pub len: usize,
    }
    #[repr(C)]
    pub struct MsgHdr {
        pub name: *mut c_void,
        pub namelen: u32,
        pub iov: *mut IoVec,
        pub iovlen: usize,
        pub control: *mut c_void,
        pub controllen: usize,
        pub flags: i32,
    }
    #[repr(C)]
    pub struct MMsgHdr {
        pub hdr: MsgHdr,
        pub len: u32,
    }
    unsafe extern "C" {
        fn sendmmsg(fd: i32, vec: *mut MMsgHdr, vlen: u32, flags: i32) -> i32;
        fn recvmmsg(fd: i32, vec: *mut MMsgHdr, vlen: u32, flags: i32, timeout: *mut c_void)
        -> i32;
    }
    const MSG_DONTWAIT: i32 = 0x40;

    /// Buffers and headers for batches of up to `n` datagrams of up to `size` bytes.
    pub struct Batch {
        pub bufs: Vec<u8>,
        pub size: usize,
        iovs: Vec<IoVec>,
        hdrs: Vec<MMsgHdr>,
    }

    impl Batch {
        pub fn new(n: usize, size: usize) -> Self {
            let mut b = Batch {
                bufs: vec![0u8; n * size],
                size,
                iovs: Vec::with_capacity(n),
                hdrs: Vec::with_capacity(n),
            };
            for i in 0..n {
                let base = b.bufs[i * size..].as_mut_ptr() as *mut c_void;
                b.iovs.push(IoVec { base, len: size });
            }
            for i in 0..n {
                let iov = &mut b.iovs[i] as *mut IoVec;
                b.hdrs.push(MMsgHdr {
                    hdr: MsgHdr {
                        name: std::ptr::null_mut(),
                        namelen: 0,
                        iov,
                        iovlen: 1,
                        control: std::ptr::null_mut(),
                        controllen: 0,
                        flags: 0,
                    },
                    len: 0,
                });
            }
            b
        }

        pub fn buf_mut(&mut self, i: usize) -> &mut [u8] {
            &mut self.bufs[i * self.size..(i + 1) * self.size]
        }

        pub fn msg(&self, i: usize) -> &[u8] {
            &self.bufs[i * self.size..i * self.size + self.hdrs[i].len as usize]
        }

        /// Sends the first `n` buffers with lengths `lens` on a connected socket.
        pub fn send(&mut self, sock: &impl AsRawFd, lens: &[usize]) -> io::Result<usize> {
            for (i, &l) in lens.iter().enumerate() {
                self.iovs[i].len = l;
            }
            let r = unsafe {
                sendmmsg(
                    sock.as_raw_fd(),
                    self.hdrs.as_mut_ptr(),
                    lens.len() as u32,
                    MSG_DONTWAIT,
                )
            };
            if r < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(r as usize)
            }
        }

        /// Receives up to `n` datagrams; their lengths are in the headers (`msg`).
        pub fn recv(&mut self, sock: &impl AsRawFd, n: usize) -> io::Result<usize> {
            for i in 0..n {
                self.iovs[i].len = self.size;
                self.hdrs[i].hdr.flags = 0;
            }
            let r = unsafe {
                recvmmsg(
                    sock.as_raw_fd(),
                    self.hdrs.as_mut_ptr(),
                    n as u32,
                    MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if r < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(r as usize)
            }
        }
    }
}

const MAX_DURATION_S: f64 = 60.0;
/// Datagrams per sendmmsg/recvmmsg call at most.
const MAX_BATCH: usize = 64;
/// Latency histogram resolution and range: 100 ns buckets up to 100 ms.
const BUCKET_NS: u64 = 100;
const BUCKETS: usize = 1_000_000;

struct Args {
    target: SocketAddr,
    queries: PathBuf,
    duration: f64,
    sockets: usize,
    window: usize,
    rate: Option<f64>,
    max_queries: u64,
    timeout_ms: u64,
    batch: usize,
}

const USAGE: &str = "usage: blaster -s 127.0.0.1:PORT -q QUERYFILE [-d SECONDS (<=60, default 5)] \
[-c SOCKETS (default 4)] [-w WINDOW per socket (default 64)] [-r RATE q/s (default: saturate)] \
[-n MAX_QUERIES (default 100000000)] [-t TIMEOUT_MS (default 1000)] \
[-b BATCH datagrams per sendmmsg/recvmmsg, 1..=64 (default 32)]";

fn parse_args() -> Result<Args, String> {
    let mut target = None;
    let mut queries = None;
    let mut duration = 5.0;
    let mut sockets = 4;
    let mut window = 64;
    let mut rate: Option<f64> = None;
    let mut max_queries = 100_000_000u64;
    let mut timeout_ms = 1000;
    let mut batch = 32;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "-s" | "--server" => {
                target = Some(
                    val("-s")?
                        .parse::<SocketAddr>()
                        .map_err(|e| format!("-s: {e} (want IP:PORT)"))?,
                )
            }
            "-q" | "--queries" => queries = Some(PathBuf::from(val("-q")?)),
            "-d" | "--duration" => duration = val("-d")?.parse().map_err(|e| format!("-d: {e}"))?,
            "-c" | "--sockets" => sockets = val("-c")?.parse().map_err(|e| format!("-c: {e}"))?,
            "-w" | "--window" => window = val("-w")?.parse().map_err(|e| format!("-w: {e}"))?,
            "-r" | "--rate" => rate = Some(val("-r")?.parse().map_err(|e| format!("-r: {e}"))?),
            "-n" | "--max-queries" => {
                max_queries = val("-n")?.parse().map_err(|e| format!("-n: {e}"))?
            }
            "-t" | "--timeout-ms" => {
                timeout_ms = val("-t")?.parse().map_err(|e| format!("-t: {e}"))?
            }
            "-b" | "--batch" => batch = val("-b")?.parse().map_err(|e| format!("-b: {e}"))?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let target = target.ok_or_else(|| format!("-s is required\n{USAGE}"))?;
    if !target.ip().is_loopback() {
        return Err(format!(
            "refusing target {target}: only loopback (127.0.0.0/8, ::1) is allowed"
        ));
    }
    let queries = queries.ok_or_else(|| format!("-q is required\n{USAGE}"))?;
    if !(duration > 0.0 && duration <= MAX_DURATION_S) {
        return Err(format!("-d must be in (0, {MAX_DURATION_S}]"));
    }
    if sockets == 0 || sockets > 256 {
        return Err("-c must be 1..=256".into());
    }
    if window == 0 || window > 4096 {
        return Err("-w must be 1..=4096".into());
    }
    if let Some(r) = rate
        && (r.is_nan() || r <= 0.0)
    {
        return Err("-r must be positive".into());
    }
    if batch == 0 || batch > MAX_BATCH {
        return Err(format!("-b must be 1..={MAX_BATCH}"));
    }
    if timeout_ms == 0 || timeout_ms > 10_000 {
        return Err("-t must be 1..=10000".into());
    }
    Ok(Args {
        target,
        queries,
        duration,
        sockets,
        window,
        rate,
        max_queries,
        timeout_ms,
        batch,
    })
}

fn qtype_code(t: &str) -> Result<u16, String> {
    Ok(match t.to_ascii_uppercase().as_str() {
        "A" => 1,
        "NS" => 2,
        "CNAME" => 5,
        "SOA" => 6,
        "PTR" => 12,
        "MX" => 15,
        "TXT" => 16,
        "AAAA" => 28,
        "SRV" => 33,
        "HTTPS" => 65,
        "ANY" => 255,
        "CAA" => 257,
        other => match other.strip_prefix("TYPE") {
            Some(n) => n.parse().map_err(|_| format!("bad type {t}"))?,
            None => return Err(format!("unknown type {t}")),
        },
    })
}

/// Encodes one query (ID 0, RD clear, EDNS 1232, optional ECS).
fn encode_query(name: &str, qtype: u16, ecs: Option<(IpAddr, u8)>) -> Result<Vec<u8>, String> {
    let mut p = Vec::with_capacity(64);
    p.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    let trimmed = name.trim_end_matches('.');
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(format!("bad name {name}"));
            }
            p.push(label.len() as u8);
            p.extend_from_slice(label.as_bytes());
        }
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes()); // IN
    // OPT
    p.push(0);
    p.extend_from_slice(&41u16.to_be_bytes());
    p.extend_from_slice(&1232u16.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0]);
    let mut rdata = Vec::new();
    if let Some((addr, prefix)) = ecs {
        let (family, bytes): (u16, Vec<u8>) = match addr {
            IpAddr::V4(a) => (1, a.octets().to_vec()),
            IpAddr::V6(a) => (2, a.octets().to_vec()),
        };
        let nbytes = (prefix as usize).div_ceil(8);
        let mut addr_bytes = bytes[..nbytes].to_vec();
        if prefix % 8 != 0
            && let Some(last) = addr_bytes.last_mut()
        {
            *last &= 0xffu8 << (8 - prefix % 8);
        }
        rdata.extend_from_slice(&8u16.to_be_bytes());
        rdata.extend_from_slice(&((4 + nbytes) as u16).to_be_bytes());
        rdata.extend_from_slice(&family.to_be_bytes());
        rdata.push(prefix);
        rdata.push(0);
        rdata.extend_from_slice(&addr_bytes);
    }
    p.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    p.extend_from_slice(&rdata);
    Ok(p)
}

fn parse_ecs(s: &str) -> Result<(IpAddr, u8), String> {
    let (a, l) = s
        .split_once('/')
        .ok_or_else(|| format!("bad ECS {s} (want ADDR/LEN)"))?;
    let addr: IpAddr = a.parse().map_err(|_| format!("bad ECS address {a}"))?;
    let len: u8 = l.parse().map_err(|_| format!("bad ECS length {l}"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if len > max {
        return Err(format!("ECS length {len} > {max}"));
    }
    Ok((addr, len))
}

fn load_queries(path: &PathBuf) -> Result<Vec<Vec<u8>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 2 || f.len() > 3 {
            return Err(format!(
                "{}:{}: want NAME TYPE [ECS]",
                path.display(),
                i + 1
            ));
        }
        let qtype = qtype_code(f[1]).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        let ecs = match f.get(2) {
            Some(s) => {
                Some(parse_ecs(s).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?)
            }
            None => None,
        };
        out.push(encode_query(f[0], qtype, ecs)?);
        if out.len() > 10_000_000 {
            return Err("query file too long (10M lines max)".into());
        }
    }
    if out.is_empty() {
        return Err(format!("{}: no queries", path.display()));
    }
    Ok(out)
}

struct Sock {
    s: UdpSocket,
    /// Send time (ns since start, +1) per DNS ID; 0 = free.
    slots: Vec<u64>,
    next_id: u16,
    outstanding: usize,
}

struct Stats {
    sent: u64,
    received: u64,
    received_in_window: u64,
    late: u64,
    lost: u64,
    unexpected: u64,
    truncated: u64,
    rcodes: [u64; 16],
    hist: Vec<u32>,
    overflow: u64,
    sum_ns: u128,
    max_ns: u64,
}

impl Stats {
    fn record(&mut self, ns: u64) {
        let b = (ns / BUCKET_NS) as usize;
        if b < BUCKETS {
            self.hist[b] += 1;
        } else {
            self.overflow += 1;
        }
        self.sum_ns += ns as u128;
        self.max_ns = self.max_ns.max(ns);
    }

    /// Latency (us) below which `q` of the answers fall.
    fn quantile_us(&self, q: f64) -> f64 {
        let total: u64 = self.hist.iter().map(|&c| c as u64).sum::<u64>() + self.overflow;
        if total == 0 {
            return 0.0;
        }
        let want = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut acc = 0u64;
        for (i, &c) in self.hist.iter().enumerate() {
            acc += c as u64;
            if acc >= want {
                return ((i as u64 + 1) * BUCKET_NS) as f64 / 1000.0;
            }
        }
        self.max_ns as f64 / 1000.0
    }
}

fn handle(sock: &mut Sock, stats: &mut Stats, in_window: bool, buf: &[u8], now: u64) {
    if buf.len() < 12 || buf[2] & 0x80 == 0 {
        stats.unexpected += 1;
        return;
    }
    let id = u16::from_be_bytes([buf[0], buf[1]]) as usize;
    let sent_at = sock.slots[id];
    if sent_at == 0 {
        // Answer to a query already given up on (or a stray).
        stats.late += 1;
        return;
    }
    sock.slots[id] = 0;
    sock.outstanding -= 1;
    stats.received += 1;
    if in_window {
        stats.received_in_window += 1;
    }
    if buf[2] & 0x02 != 0 {
        stats.truncated += 1;
    }
    stats.rcodes[(buf[3] & 0x0f) as usize] += 1;
    stats.record(now.saturating_sub(sent_at));
}

fn receive(
    sock: &mut Sock,
    stats: &mut Stats,
    start: Instant,
    in_window: bool,
    rb: &mut mmsg::Batch,
    batch: usize,
) {
    loop {
        match rb.recv(&sock.s, batch) {
            Ok(n) => {
                let now = start.elapsed().as_nanos() as u64 + 1;
                for i in 0..n {
                    handle(sock, stats, in_window, rb.msg(i), now);
                }
                if n < batch {
                    return;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                // ICMP port unreachable from an earlier send: server not (yet) there.
                stats.unexpected += 1;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                eprintln!("recv: {e}");
                return;
            }
        }
    }
}

fn expire(sock: &mut Sock, stats: &mut Stats, now_ns: u64, timeout_ns: u64) {
    if sock.outstanding == 0 {
        return;
    }
    for slot in sock.slots.iter_mut() {
        if *slot != 0 && now_ns.saturating_sub(*slot) > timeout_ns {
            *slot = 0;
            sock.outstanding -= 1;
            stats.lost += 1;
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let queries = load_queries(&args.queries)?;
    let bind: SocketAddr = match args.target.ip() {
        IpAddr::V4(_) => (Ipv4Addr::LOCALHOST, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::LOCALHOST, 0).into(),
    };
    let mut socks = Vec::with_capacity(args.sockets);
    for _ in 0..args.sockets {
        let s = UdpSocket::bind(bind).map_err(|e| format!("bind: {e}"))?;
        s.connect(args.target)
            .map_err(|e| format!("connect: {e}"))?;
        s.set_nonblocking(true)
            .map_err(|e| format!("nonblocking: {e}"))?;
        socks.push(Sock {
            s,
            slots: vec![0; 65536],
            next_id: 0,
            outstanding: 0,
        });
    }
    let mut stats = Stats {
        sent: 0,
        received: 0,
        received_in_window: 0,
        late: 0,
        lost: 0,
        unexpected: 0,
        truncated: 0,
        rcodes: [0; 16],
        hist: vec![0; BUCKETS],
        overflow: 0,
        sum_ns: 0,
        max_ns: 0,
    };
    let timeout_ns = args.timeout_ms * 1_000_000;
    let duration = Duration::from_secs_f64(args.duration);
    let mut qi = 0usize;
    let mut sb = mmsg::Batch::new(args.batch, 512);
    let mut rb = mmsg::Batch::new(args.batch, 4096);
    let start = Instant::now();
    let mut last_expire = 0u64;
    let mut send_errors = 0u64;
    loop {
        let elapsed = start.elapsed();
        if elapsed >= duration || stats.sent >= args.max_queries {
            break;
        }
        let now_ns = elapsed.as_nanos() as u64 + 1;
        let mut budget = match args.rate {
            Some(r) => ((r * elapsed.as_secs_f64()) as u64 + 1).saturating_sub(stats.sent),
            None => u64::MAX,
        };
        for sock in socks.iter_mut() {
            let room = (args.window - sock.outstanding)
                .min(args.batch)
                .min(budget.min(usize::MAX as u64) as usize)
                .min((args.max_queries - stats.sent).min(usize::MAX as u64) as usize);
            if room > 0 {
                let t = start.elapsed().as_nanos() as u64 + 1;
                let mut ids = [0u16; MAX_BATCH];
                let mut lens = [0usize; MAX_BATCH];
                for k in 0..room {
                    // Next free ID (a slot is busy only while its query is outstanding).
                    let mut id = sock.next_id;
                    while sock.slots[id as usize] != 0 {
                        id = id.wrapping_add(1);
                    }
                    sock.next_id = id.wrapping_add(1);
                    sock.slots[id as usize] = t;
                    let q = &queries[qi];
                    let buf = sb.buf_mut(k);
                    buf[..q.len()].copy_from_slice(q);
                    buf[0..2].copy_from_slice(&id.to_be_bytes());
                    ids[k] = id;
                    lens[k] = q.len();
                    qi += 1;
                    if qi == queries.len() {
                        qi = 0;
                    }
                }
                let sent = match sb.send(&sock.s, &lens[..room]) {
                    Ok(m) => m,
                    Err(e) => {
                        if e.kind() != ErrorKind::WouldBlock {
                            send_errors += 1;
                        }
                        0
                    }
                };
                for &id in &ids[sent..room] {
                    sock.slots[id as usize] = 0;
                }
                sock.outstanding += sent;
                stats.sent += sent as u64;
                budget -= sent as u64;
            }
            receive(sock, &mut stats, start, true, &mut rb, args.batch);
        }
        if now_ns - last_expire > 50_000_000 {
            last_expire = now_ns;
            for sock in socks.iter_mut() {
                expire(sock, &mut stats, now_ns, timeout_ns);
            }
        }
    }
    let window_s = start.elapsed().as_secs_f64().min(args.duration.max(1e-9));
    let window_s = if window_s <= 0.0 { 1e-9 } else { window_s };
    // Drain: collect answers still in flight (not counted in QPS), bounded by the timeout.
    let drain_end = Instant::now() + Duration::from_millis(args.timeout_ms);
    while socks.iter().any(|s| s.outstanding > 0) && Instant::now() < drain_end {
        for sock in socks.iter_mut() {
            receive(sock, &mut stats, start, false, &mut rb, args.batch);
        }
    }
    for sock in socks.iter_mut() {
        stats.lost += sock.outstanding as u64;
        sock.outstanding = 0;
    }
    let qps = stats.received_in_window as f64 / window_s;
    let avg_us = if stats.received > 0 {
        stats.sum_ns as f64 / stats.received as f64 / 1000.0
    } else {
        0.0
    };
    let names: HashMap<usize, &str> = [
        (0, "NOERROR"),
        (1, "FORMERR"),
        (2, "SERVFAIL"),
        (3, "NXDOMAIN"),
        (4, "NOTIMP"),
        (5, "REFUSED"),
    ]
    .into_iter()
    .collect();
    let rc: Vec<String> = stats
        .rcodes
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(i, c)| format!("{}={c}", names.get(&i).copied().unwrap_or("RCODE")))
        .collect();
    let (p50, p90, p99, p999) = (
        stats.quantile_us(0.5),
        stats.quantile_us(0.9),
        stats.quantile_us(0.99),
        stats.quantile_us(0.999),
    );
    println!(
        "blaster: target={} sockets={} window={} duration={:.2}s distinct_queries={} rate={}",
        args.target,
        args.sockets,
        args.window,
        window_s,
        queries.len(),
        args.rate.map_or("saturate".to_string(), |r| format!("{r}")),
    );
    println!(
        "sent={} received={} lost={} late={} send_errors={} qps={:.0}",
        stats.sent, stats.received, stats.lost, stats.late, send_errors, qps
    );
    println!(
        "latency_us avg={avg_us:.1} p50={p50:.1} p90={p90:.1} p99={p99:.1} p99.9={p999:.1} max={:.1}",
        stats.max_ns as f64 / 1000.0
    );
    println!(
        "rcodes {} truncated={} unexpected={}",
        rc.join(" "),
        stats.truncated,
        stats.unexpected
    );
    println!(
        "RESULT qps={qps:.0} sent={} received={} lost={} avg_us={avg_us:.1} p50_us={p50:.1} p99_us={p99:.1} noerror={} nxdomain={} other_rcode={}",
        stats.sent,
        stats.received,
        stats.lost,
        stats.rcodes[0],
        stats.rcodes[3],
        stats.received - stats.rcodes[0] - stats.rcodes[3],
    );
    Ok(())
}

fn main() -> ExitCode {
    match parse_args().and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("blaster: {e}");
            ExitCode::from(2)
        }
    }
}
