//! UDP: a blocking loop per worker thread and socket.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::Guard;
use socket2::{Domain, Protocol, Socket, Type};

use super::ListenerShared;
use super::clock::BatchClock;
use super::rrl::{Kind, Verdict};
use crate::dns::answer::{QueryContext, Transport, answer_guarded, bad_cookie};
use crate::dns::cookie::CookieStatus;
use crate::dns::wire::rcode;
use crate::state::Snapshot;

/// How often an idle worker checks whether it should stop.
const POLL: Duration = Duration::from_millis(200);

/// Running UDP workers for one address.
#[derive(Debug)]
pub struct UdpListener {
    /// Bound address (with the real port when 0 was asked).
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// Opens a UDP socket with `SO_REUSEPORT` so several workers share the address.
fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_port(true)?;
    // Bursts queue in the kernel rather than being dropped; failures here are not fatal.
    let _ = socket.set_recv_buffer_size(4 << 20);
    let _ = socket.set_send_buffer_size(4 << 20);
    socket.bind(&addr.into())?;
    let socket: UdpSocket = socket.into();
    socket.set_read_timeout(Some(POLL))?;
    Ok(socket)
}

impl UdpListener {
    /// Binds `addr` once per worker and starts the workers.
    pub fn start(addr: SocketAddr, workers: usize, shared: ListenerShared) -> io::Result<Self> {
        let first = bind(addr)?;
        let bound = first.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut sockets = vec![first];
        for _ in 1..workers.max(1) {
            sockets.push(bind(bound)?);
        }
        let mut threads = Vec::new();
        for (i, socket) in sockets.into_iter().enumerate() {
            let shared = shared.clone();
            let stop = stop.clone();
            let handle = std::thread::Builder::new()
                .name(format!("udp-{bound}-{i}"))
                .spawn(move || {
                    // Counters of this worker go to a shard of its own if one is free (no shared
                    // cache lines, no locked instructions).
                    crate::counters::claim_worker_shard();
                    serve(socket, shared, stop)
                })?;
            threads.push(handle);
        }
        Ok(Self {
            addr: bound,
            stop,
            threads,
        })
    }

    /// Stops the workers and waits for them (at most one poll interval).
    pub fn shutdown(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for UdpListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// What the queries of one batch share: the snapshot, loaded once when the batch arrives (so
/// every query of the batch is answered from that one snapshot, and a reload applies from the
/// next batch on), and the batch's clocks.
struct Batch {
    snap: Guard<Arc<Snapshot>>,
    clock: BatchClock,
}

impl Batch {
    /// Loads the snapshot and reads the clocks (a batch has arrived).
    fn begin(shared: &ListenerShared) -> Self {
        Self {
            snap: shared.store.load(),
            clock: BatchClock::start(),
        }
    }
}

fn serve(socket: UdpSocket, shared: ListenerShared, stop: Arc<AtomicBool>) {
    #[cfg(target_os = "linux")]
    {
        // Batched receive and send (recvmmsg/sendmmsg); falls back to one packet at a time
        // only if the kernel refuses the batch calls.
        let answered = super::batch::serve_batched(
            &socket,
            &stop,
            || Batch::begin(&shared),
            |batch, query, peer, rotation, out| {
                handle(
                    &shared,
                    &batch.snap,
                    query,
                    peer,
                    rotation,
                    &mut batch.clock,
                    out,
                )
            },
        );
        if answered.is_ok() {
            return;
        }
    }
    let mut buf = [0u8; 65_535];
    let mut out = Vec::with_capacity(4096);
    let mut rotation: u32 = 0;
    while !stop.load(Ordering::Relaxed) {
        let (len, peer) = match socket.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => {
                tracing::debug!(error = %e, "udp receive failed");
                continue;
            }
        };
        rotation = rotation.wrapping_add(1);
        let mut batch = Batch::begin(&shared);
        let (snap, clock) = (&batch.snap, &mut batch.clock);
        if handle(&shared, snap, &buf[..len], peer, rotation, clock, &mut out)
            && let Err(e) = socket.send_to(&out, peer)
        {
            tracing::debug!(error = %e, %peer, "udp send failed");
        }
    }
}

/// Answers one UDP query from `snap` into `out`, applying rate limiting and counting it.
/// Returns whether `out` should be sent. `clock` gives the time (read once per batch) and the
/// query's start, and takes the query's end.
fn handle(
    shared: &ListenerShared,
    snap: &Snapshot,
    packet: &[u8],
    peer: SocketAddr,
    rotation: u32,
    clock: &mut BatchClock,
    out: &mut Vec<u8>,
) -> bool {
    let cx = QueryContext {
        source: peer.ip(),
        transport: Transport::Udp,
        rotation,
        // Seconds are enough: DNSSEC signatures change windows every few hours, cookies are
        // valid for an hour.
        now: clock.now_unix(),
    };
    let mut info = answer_guarded(snap, packet, &cx, out);
    let send = match info.as_mut() {
        None => false,
        Some(info) => match rate_limit(shared, snap, peer.ip(), info, clock, out) {
            Verdict::Send => true,
            // A limited query that carried a server cookie we do not accept gets BADCOOKIE
            // with a fresh cookie instead (RFC 7873 5.2.3), so a real client is exempt from
            // its next query on; SPEC 5: BADCOOKIE only then.
            Verdict::Slip | Verdict::Drop
                if info.cookie == CookieStatus::Invalid && bad_cookie(snap, packet, &cx, out) =>
            {
                info.rcode = rcode::BADCOOKIE;
                true
            }
            Verdict::Slip => {
                truncate_for_slip(out, info.question_end);
                true
            }
            Verdict::Drop => false,
        },
    };
    shared.observer.observe(
        snap,
        peer,
        Transport::Udp,
        packet,
        info.as_ref(),
        clock.lap(),
    );
    send
}

/// Applies response rate limiting to one UDP response.
fn rate_limit(
    shared: &ListenerShared,
    snap: &Snapshot,
    client: std::net::IpAddr,
    info: &crate::dns::answer::AnswerInfo,
    clock: &BatchClock,
    response: &[u8],
) -> Verdict {
    let settings = &snap.config.rrl;
    // A valid server cookie proves the client's address (RFC 7873 5.3): not limited.
    if !settings.enabled || info.cookie == CookieStatus::Valid {
        return Verdict::Send;
    }
    let kind = match (info.rcode, info.zone) {
        (rcode::NXDOMAIN, Some(zone)) => Kind::NxDomain(zone),
        (rcode::NOERROR, Some(_)) => {
            let name = response
                .get(12..info.question_end.saturating_sub(4))
                .unwrap_or(&[]);
            // Steered answers differ per client subnet: counted per ECS prefix.
            match (info.steered, info.ecs) {
                (Some(_), Some(ecs)) if ecs.source_prefix > 0 => Kind::Steered(name, ecs),
                _ => Kind::Name(name),
            }
        }
        _ => Kind::Error,
    };
    let verdict = shared.rrl.check(
        settings,
        client,
        kind,
        shared.rrl.secs_at(clock.started_ns()),
    );
    if verdict != Verdict::Send {
        shared.observer.rate_limited();
    }
    verdict
}

/// Turns a response into an empty truncated reply (header and question, TC=1).
fn truncate_for_slip(out: &mut Vec<u8>, question_end: usize) {
    out.truncate(question_end.min(out.len()));
    if out.len() >= 12 {
        out[2] |= 0x02;
        out[6..12].fill(0);
    }
}
