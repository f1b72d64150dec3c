//! Batched UDP I/O on Linux: `recvmmsg` up to [`BATCH`] queries per system call, answer each,
//! `sendmmsg` the responses in one call. Buffers, addresses and message headers are allocated
//! once per worker and reused, so the steady state allocates nothing.
//!
//! The received peer address is sent back byte for byte (no conversion), and the peer IP for
//! the answer path is read from it. What to answer is the caller's: this module only moves
//! packets, so it knows nothing of snapshots, clocks or listeners. The caller gets one call
//! when a batch arrives (to load what its queries share) and one per query.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Queries per system call.
pub const BATCH: usize = 32;
/// Largest query accepted (larger ones are truncated by the kernel and dropped as malformed).
const QUERY_BUF: usize = 4096;

/// One worker's buffers and headers, [`BATCH`] of each: arrays, so that an index below the
/// batch size needs no bounds check per query.
struct Slots {
    queries: Box<[[u8; QUERY_BUF]; BATCH]>,
    responses: [Vec<u8>; BATCH],
    addrs: [libc::sockaddr_storage; BATCH],
    recv_iov: [libc::iovec; BATCH],
    recv_hdrs: [libc::mmsghdr; BATCH],
    send_iov: [libc::iovec; BATCH],
    send_hdrs: [libc::mmsghdr; BATCH],
}

impl Slots {
    fn new() -> Box<Self> {
        // SAFETY: sockaddr_storage, iovec and mmsghdr are plain C structs for which all-zero
        // bytes are a valid (empty) value.
        let zero_addr: libc::sockaddr_storage = unsafe { zeroed() };
        let zero_iov: libc::iovec = unsafe { zeroed() };
        let zero_hdr: libc::mmsghdr = unsafe { zeroed() };
        let mut s = Box::new(Self {
            queries: Box::new([[0u8; QUERY_BUF]; BATCH]),
            responses: std::array::from_fn(|_| Vec::with_capacity(1500)),
            addrs: [zero_addr; BATCH],
            recv_iov: [zero_iov; BATCH],
            recv_hdrs: [zero_hdr; BATCH],
            send_iov: [zero_iov; BATCH],
            send_hdrs: [zero_hdr; BATCH],
        });
        for i in 0..BATCH {
            s.recv_iov[i].iov_base = s.queries[i].as_mut_ptr().cast();
            s.recv_iov[i].iov_len = QUERY_BUF;
            let h = &mut s.recv_hdrs[i].msg_hdr;
            h.msg_name = (&raw mut s.addrs[i]).cast();
            h.msg_iov = &raw mut s.recv_iov[i];
            h.msg_iovlen = 1;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            // Send header i always sends send_iov[i], one buffer, no control data: set once
            // (sendmmsg writes only `msg_len` back); per response only the buffer and the
            // address change.
            let h = &mut s.send_hdrs[i].msg_hdr;
            h.msg_iov = &raw mut s.send_iov[i];
            h.msg_iovlen = 1;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            h.msg_flags = 0;
        }
        s.arm_receive(BATCH);
        s
    }

    /// Makes the first `used` receive headers ready for the next `recvmmsg`: the kernel
    /// wrote the address length, flags and length of the ones it filled, and nothing else
    /// (the buffer and address pointers, set once in `new`, point into the boxed slots,
    /// which never move). Headers past `used` are untouched since their last arming.
    fn arm_receive(&mut self, used: usize) {
        for hdr in &mut self.recv_hdrs[..used] {
            hdr.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            hdr.msg_hdr.msg_flags = 0;
            hdr.msg_len = 0;
        }
    }
}

/// The socket address in a `sockaddr_storage` filled by the kernel.
fn peer_of(addr: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(addr.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in, which it can contain.
            let a: &libc::sockaddr_in = unsafe { &*(addr as *const _ as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(a.sin_port)))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a: &libc::sockaddr_in6 =
                unsafe { &*(addr as *const _ as *const libc::sockaddr_in6) };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::new(IpAddr::V6(ip), u16::from_be(a.sin6_port)))
        }
        _ => None,
    }
}

/// `recvmmsg(fd, hdrs, MSG_WAITFORONE)`: the number of messages received, or -1 (and `errno`).
///
/// Made by its system call number: glibc's `recvmmsg` and `sendmmsg` are thread cancellation
/// points, which switch asynchronous cancellation on and off around every call (about 40
/// instructions a call, a tenth of what a query costs outside the answer), and no Rust thread
/// is ever cancelled. The system call is the same.
fn receive(fd: libc::c_int, hdrs: &mut [libc::mmsghdr]) -> libc::c_long {
    // SAFETY: `hdrs` is a live, exclusively borrowed slice of headers whose buffer and
    // address pointers reference live buffers in the worker's boxed `Slots` (not moved during
    // the call), each buffer as long as its `iov_len`; the kernel writes at most `hdrs.len()`
    // headers and `iov_len` bytes each. The timeout pointer may be null.
    unsafe {
        libc::syscall(
            libc::SYS_recvmmsg,
            fd,
            hdrs.as_mut_ptr(),
            hdrs.len() as libc::c_uint,
            libc::MSG_WAITFORONE,
            std::ptr::null_mut::<libc::timespec>(),
        )
    }
}

/// `sendmmsg(fd, hdrs, 0)` by its system call number (see [`receive`]): the number of
/// messages sent, or -1 (and `errno`).
fn send(fd: libc::c_int, hdrs: &mut [libc::mmsghdr]) -> libc::c_long {
    // SAFETY: `hdrs` is a live slice of headers referencing live response buffers and peer
    // addresses in the worker's `Slots`; the kernel reads them and writes only each header's
    // `msg_len`.
    unsafe {
        libc::syscall(
            libc::SYS_sendmmsg,
            fd,
            hdrs.as_mut_ptr(),
            hdrs.len() as libc::c_uint,
            0 as libc::c_int,
        )
    }
}

/// Serves `socket` until `stop` is set: `begin()` is called once when a batch of queries
/// arrives and makes what they share (dropped before the responses are sent), then
/// `handle(batch, query, peer, rotation, response)` writes the response to each query and
/// returns whether to send it. Returns an error only if batching is unavailable before
/// anything was served (the caller then falls back to single packets).
pub fn serve_batched<B>(
    socket: &UdpSocket,
    stop: &Arc<AtomicBool>,
    mut begin: impl FnMut() -> B,
    mut handle: impl FnMut(&mut B, &[u8], SocketAddr, u32, &mut Vec<u8>) -> bool,
) -> io::Result<()> {
    let fd = socket.as_raw_fd();
    let mut s = Slots::new();
    let mut rotation: u32 = 0;
    let mut served_any = false;
    let mut used = BATCH;
    while !stop.load(Ordering::Relaxed) {
        s.arm_receive(used);
        let n = receive(fd, &mut s.recv_hdrs);
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => {
                    continue;
                }
                _ if !served_any && e.raw_os_error() == Some(libc::ENOSYS) => return Err(e),
                _ => {
                    tracing::debug!(error = %e, "udp receive failed");
                    continue;
                }
            }
        }
        served_any = true;
        // The kernel fills at most the BATCH headers it was given.
        let received = (n as usize).min(BATCH);
        used = received;
        let mut batch = begin();
        let mut to_send = 0;
        for i in 0..received {
            let len = s.recv_hdrs[i].msg_len as usize;
            let truncated = s.recv_hdrs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
            let Some(peer) = peer_of(&s.addrs[i]) else {
                continue;
            };
            if truncated || len > QUERY_BUF {
                continue;
            }
            rotation = rotation.wrapping_add(1);
            let (query, response) = (&s.queries[i][..len], &mut s.responses[i]);
            if !handle(&mut batch, query, peer, rotation, response) {
                continue;
            }
            s.send_iov[to_send].iov_base = s.responses[i].as_mut_ptr().cast();
            s.send_iov[to_send].iov_len = s.responses[i].len();
            let h = &mut s.send_hdrs[to_send].msg_hdr;
            h.msg_name = (&raw mut s.addrs[i]).cast();
            h.msg_namelen = s.recv_hdrs[i].msg_hdr.msg_namelen;
            to_send += 1;
        }
        drop(batch);
        let mut sent = 0;
        while sent < to_send {
            let r = send(fd, &mut s.send_hdrs[sent..to_send]);
            if r <= 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // The send buffer is full or the peer is unreachable: skip the one at the head
                // (UDP gives no delivery promise) and carry on with the rest.
                tracing::debug!(error = %e, "udp send failed");
                sent += 1;
                continue;
            }
            sent += r as usize;
        }
    }
    Ok(())
}
