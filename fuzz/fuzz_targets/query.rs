//! The whole query path: bytes in, bytes out, on a snapshot of the shipped example config.
//!
//! Input: one control byte (transport, source address), then the packet. Invariants checked
//! on every reply: it parses with hickory-proto (an independent implementation), QR is set,
//! the ID and opcode are the query's, at most one question, and a UDP reply fits the size
//! limit (512 without EDNS, else min(client size, 1232); a TCP reply fits 65535).
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::OnceLock;

use hickory_proto::op::{Message, MessageType};
use libfuzzer_sys::fuzz_target;
use steerdns::dns::answer::{QueryContext, Transport, answer};
use steerdns::dns::wire::{MAX_UDP_PAYLOAD, parse_query};
use steerdns::state::Snapshot;

fn snapshot() -> &'static Snapshot {
    static SNAP: OnceLock<Snapshot> = OnceLock::new();
    SNAP.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../steerdns.toml");
        steerdns::reload::build(&path, 1_763_700_000, 1, None)
            .unwrap_or_else(|e| panic!("example config does not load: {e:?}"))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, packet)) = data.split_first() else {
        return;
    };
    let transport = if control & 1 == 0 {
        Transport::Udp
    } else {
        Transport::Tcp
    };
    // Loopback sources may ask `_explain`; the others exercise GeoIP steering.
    let source = match (control >> 1) & 3 {
        0 => IpAddr::V4(Ipv4Addr::LOCALHOST),
        1 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        2 => IpAddr::V4(Ipv4Addr::new(81, 2, 69, 160)),
        _ => IpAddr::V6(Ipv6Addr::new(0x2a02, 0x6b8, 0, 0, 0, 0, 0, 1)),
    };
    let cx = QueryContext {
        source,
        transport,
        rotation: u32::from(control >> 3),
        now: 1_764_590_000,
    };
    let mut out = Vec::new();
    let Some(_info) = answer(snapshot(), packet, &cx, &mut out) else {
        return;
    };
    let reply = match Message::from_vec(&out) {
        Ok(m) => m,
        Err(e) => panic!("reply does not parse: {e}\nquery {packet:02x?}\nreply {out:02x?}"),
    };
    assert_eq!(
        reply.metadata.message_type,
        MessageType::Response,
        "QR not set"
    );
    let id = u16::from_be_bytes([packet[0], packet[1]]);
    assert_eq!(reply.metadata.id, id, "ID not echoed");
    assert_eq!(out[2] & 0x78, packet[2] & 0x78, "opcode not echoed");
    assert!(reply.queries.len() <= 1, "more than one question");
    let limit = match transport {
        Transport::Tcp => 65_535,
        Transport::Udp => match parse_query(packet) {
            Ok(q) => q
                .edns
                .map_or(512, |e| usize::from(e.udp_size.clamp(512, MAX_UDP_PAYLOAD))),
            // Errors carry no records: the header, the question and an OPT fit 512.
            Err(_) => 512,
        },
    };
    assert!(
        out.len() <= limit,
        "reply of {} bytes over the limit {limit}\nquery {packet:02x?}",
        out.len()
    );
});
