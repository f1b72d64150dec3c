//! The whole query path: bytes in, bytes out, on a snapshot of the shipped example config
//! with its zone signed (one Ed25519 CSK), so that every query with DO=1 takes the DNSSEC
//! path.
//!
//! Input: one control byte (transport, source address), then the packet. Invariants checked
//! on every reply: it parses with hickory-proto (an independent implementation), QR is set,
//! the ID and opcode are the query's, at most one question, and a UDP reply fits the size
//! limit (512 without EDNS, else min(client size, 1232); a TCP reply fits 65535). A reply to
//! a query with DO from the zone: every RRset of the answer and authority sections (but the
//! `_explain` TXT) has an RRSIG, and every RRSIG there verifies with hickory-proto's DNSSEC
//! verifier against the zone's key.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::OnceLock;

use hickory_proto::dnssec::Verifier as _;
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::{DNSClass, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinDecodable as _;
use libfuzzer_sys::fuzz_target;
use steerdns::dns::answer::{QueryContext, Transport, answer};
use steerdns::dns::wire::{MAX_UDP_PAYLOAD, parse_query};
use steerdns::dnssec::key::{Algorithm, FLAGS_KSK, ZoneKey};
use steerdns::dnssec::zone::ZoneSigner;
use steerdns::state::Snapshot;

/// The example snapshot with its zone signed, and the zone's DNSKEY record (wire form).
fn snapshot() -> &'static (Snapshot, Vec<u8>) {
    static SNAP: OnceLock<(Snapshot, Vec<u8>)> = OnceLock::new();
    SNAP.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../steerdns.toml");
        let mut snap = steerdns::reload::build(&path, 1_763_700_000, 1, None)
            .unwrap_or_else(|e| panic!("example config does not load: {e:?}"));
        let zone = &mut snap.config.zones[0];
        let key = ZoneKey::generate(&zone.origin, Algorithm::Ed25519, FLAGS_KSK, false, 0)
            .expect("a key");
        let mut dnskey = zone.origin.as_wire().to_vec();
        dnskey.extend_from_slice(&[0, 48, 0, 1, 0, 0, 1, 44]);
        dnskey.extend_from_slice(&(key.dnskey_rdata().len() as u16).to_be_bytes());
        dnskey.extend_from_slice(key.dnskey_rdata());
        let signer = ZoneSigner::new(&zone.origin, vec![std::sync::Arc::new(key)], 300, 604_800)
            .expect("a signer");
        zone.dnssec = Some(signer);
        (snap, dnskey)
    })
}

/// Checks the DNSSEC records of a reply to a query with DO from the signed zone.
fn check_signatures(reply: &Message, dnskey: &[u8], qname: &str) {
    let key = Record::from_bytes(dnskey).expect("DNSKEY record");
    let RData::DNSSEC(DNSSECRData::DNSKEY(key)) = &key.data else {
        panic!("not a DNSKEY");
    };
    for section in [&reply.answers, &reply.authorities] {
        for r in section.iter() {
            if r.record_type() == RecordType::RRSIG {
                let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &r.data else {
                    panic!("RRSIG that does not parse as one: {r}");
                };
                let covered = sig.input().type_covered;
                let set = section
                    .iter()
                    .filter(|o| o.name == r.name && o.record_type() == covered);
                if let Err(e) = key.verify_rrsig(&r.name, DNSClass::IN, sig, set) {
                    panic!("RRSIG over {} {covered} does not verify: {e}\n{reply:?}", r.name);
                }
                continue;
            }
            if qname.starts_with("_explain.") && r.record_type() == RecordType::TXT {
                continue;
            }
            let signed = section.iter().any(|s| match &s.data {
                RData::DNSSEC(DNSSECRData::RRSIG(sig)) => {
                    s.name == r.name && sig.input().type_covered == r.record_type()
                }
                _ => false,
            });
            assert!(signed, "{} {} without an RRSIG\n{reply:?}", r.name, r.record_type());
        }
    }
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
    let (snap, dnskey) = snapshot();
    let mut out = Vec::new();
    let Some(info) = answer(snap, packet, &cx, &mut out) else {
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
        Transport::Udp => match parse_query(packet, &mut [0; 255]) {
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
    let dnssec_ok = parse_query(packet, &mut [0; 255]).is_ok_and(|q| q.edns.is_some_and(|e| e.dnssec_ok));
    if dnssec_ok && info.zone.is_some() && matches!(info.rcode, 0 | 3) {
        let qname = reply.queries.first().map(|q| q.name().to_ascii().to_lowercase());
        check_signatures(&reply, dnskey, qname.as_deref().unwrap_or(""));
    }
});
