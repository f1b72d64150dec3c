//! Replays every packet in `tests/fixtures/malformed/` (fuzzer finds and hand-made hostile
//! packets; see `fuzz/README.md`) through the pure answer path on the shipped example
//! config, over both transports and from several sources, with the fuzz target's checks:
//! no panic, and a reply parses, has QR, the query's ID and opcode, and fits the size limit.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use hickory_proto::op::{Message, MessageType};
use steerdns::dns::answer::{QueryContext, Transport, answer};
use steerdns::dns::wire::{MAX_UDP_PAYLOAD, parse_query};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn malformed_fixtures_replay() {
    let snap = steerdns::reload::build(&repo().join("steerdns.toml"), 1_763_700_000, 1, None)
        .expect("example config loads");
    let dir = repo().join("tests/fixtures/malformed");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "fixtures missing from {}", dir.display());
    let sources = [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        IpAddr::V4(Ipv4Addr::new(81, 2, 69, 160)),
    ];
    let mut out = Vec::new();
    for file in &files {
        let packet = std::fs::read(file).expect("read fixture");
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        for transport in [Transport::Udp, Transport::Tcp] {
            for source in sources {
                let cx = QueryContext {
                    source,
                    transport,
                    rotation: 3,
                };
                let Some(_) = answer(&snap, &packet, &cx, &mut out) else {
                    continue;
                };
                let reply = Message::from_vec(&out)
                    .unwrap_or_else(|e| panic!("{name}: reply does not parse: {e}"));
                assert_eq!(reply.metadata.message_type, MessageType::Response, "{name}");
                assert_eq!(&out[..2], &packet[..2], "{name}: ID");
                assert_eq!(out[2] & 0x78, packet[2] & 0x78, "{name}: opcode");
                let limit = match (transport, parse_query(&packet)) {
                    (Transport::Tcp, _) => 65_535,
                    (Transport::Udp, Ok(q)) => q
                        .edns
                        .map_or(512, |e| usize::from(e.udp_size.clamp(512, MAX_UDP_PAYLOAD))),
                    (Transport::Udp, Err(_)) => 512,
                };
                assert!(out.len() <= limit, "{name}: {} > {limit}", out.len());
            }
        }
    }
}
