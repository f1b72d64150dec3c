//! Replays every packet in `tests/fixtures/malformed/` (fuzzer finds and hand-made hostile
//! packets; see `fuzz/README.md`) through the pure answer path on the shipped example
//! config, over both transports and from several sources, with the fuzz target's checks:
//! no panic, and a reply parses, has QR, the query's ID and opcode, and fits the size limit.
//! Config files there (`*.toml`) are loader inputs the fuzzers found, checked one by one.

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
        .filter(|p| p.is_file() && p.extension().is_none())
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
                    now: 1_764_590_000,
                };
                let Some(_) = answer(&snap, &packet, &cx, &mut out) else {
                    continue;
                };
                let reply = Message::from_vec(&out)
                    .unwrap_or_else(|e| panic!("{name}: reply does not parse: {e}"));
                assert_eq!(reply.metadata.message_type, MessageType::Response, "{name}");
                assert_eq!(&out[..2], &packet[..2], "{name}: ID");
                assert_eq!(out[2] & 0x78, packet[2] & 0x78, "{name}: opcode");
                let limit = match (transport, parse_query(&packet, &mut [0; 255])) {
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

/// The config fuzzer's find: an NSID of 600 bytes loaded, and a query with EDNS size 512
/// asking for it made `answer` subtract past zero (a panic in debug builds; in release, a
/// reply over the client's size). Such an NSID is now a config error with its line; the
/// longest allowed one still fits the longest question, ECS and the OPT into 512 octets.
#[test]
fn config_long_nsid_is_rejected_and_the_longest_allowed_fits() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("zones")).expect("zones");
    std::fs::copy(
        repo().join("zones/gslb.example.test.toml"),
        dir.path().join("zones/gslb.example.test.toml"),
    )
    .expect("zone");
    std::fs::copy(
        repo().join("geoip/geo-whois-asn-country.mmdb"),
        dir.path().join("geo.mmdb"),
    )
    .expect("db");
    let found =
        std::fs::read_to_string(repo().join("tests/fixtures/malformed/fuzz-config-long-nsid.toml"))
            .expect("fixture");
    let main = dir.path().join("steerdns.toml");
    std::fs::write(&main, &found).expect("write");
    let errors = steerdns::config::load(&main, 1).expect_err("600-byte nsid accepted");
    let text = errors.to_string();
    assert!(
        text.contains("steerdns.toml:7:") && text.contains("nsid"),
        "{text}"
    );

    let longest = "n".repeat(steerdns::config::compile::MAX_NSID_LEN);
    let start = found.find("nsid = \"").expect("nsid line");
    let end = start + found[start..].find('\n').expect("end of line");
    let fixed = format!("{}nsid = \"{longest}\"{}", &found[..start], &found[end..]);
    std::fs::write(&main, fixed).expect("write");
    let snap = steerdns::reload::build(&main, 1, 1, None).expect("128-byte nsid loads");
    // The longest question (255 octets, under the zone), EDNS 512, NSID and IPv6 ECS /128.
    let mut p = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
    let zone = b"\x04gslb\x07example\x04test\x00";
    for _ in 0..3 {
        p.push(63);
        p.extend_from_slice(&[b'a'; 63]);
    }
    let rest = 255 - 192 - zone.len() - 1;
    p.push(rest as u8);
    p.extend(std::iter::repeat_n(b'b', rest));
    p.extend_from_slice(zone);
    p.extend_from_slice(&[0, 1, 0, 1]);
    let mut opts = vec![0, 3, 0, 0, 0, 8, 0, 20, 0, 2, 128, 0];
    opts.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    p.extend_from_slice(&[0, 0, 41, 2, 0, 0, 0, 0, 0, 0, opts.len() as u8]);
    p.extend_from_slice(&opts);
    let mut out = Vec::new();
    let cx = QueryContext {
        source: IpAddr::V4(Ipv4Addr::LOCALHOST),
        transport: Transport::Udp,
        rotation: 0,
        now: 1_764_590_000,
    };
    answer(&snap, &p, &cx, &mut out).expect("a reply");
    assert!(out.len() <= 512, "reply of {} bytes", out.len());
    let m = Message::from_vec(&out).expect("decode");
    assert_eq!(m.queries.len(), 1);
}
