//! The config loader, then the answer path on whatever it accepted.
//!
//! Input: a zone file's TOML text, loaded with a fixed main config (GeoIP set, so geo keys
//! compile); or, when it starts with `#main\n`, a main config's text loaded with the shipped
//! example zone. `config::load` must never panic; when it succeeds, a set of queries for
//! every name of every zone (several types, with EDNS 512, NSID and ECS) must be answered
//! with replies that parse, echo the ID and fit the UDP size.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use hickory_proto::op::{Message, MessageType};
use libfuzzer_sys::fuzz_target;
use steerdns::config;
use steerdns::dns::answer::{QueryContext, Transport, answer};
use steerdns::state::Snapshot;
use steerdns::steer::GeoLookup;

const NOW: u64 = 1_763_700_000;

struct Fixture {
    _dir: tempfile::TempDir,
    zone_main: PathBuf,
    zone_file: PathBuf,
    main_main: PathBuf,
    geo: Option<Arc<dyn GeoLookup>>,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = repo().join("geoip/geo-whois-asn-country.mmdb");
        let z = dir.path().join("z");
        std::fs::create_dir_all(z.join("zones")).expect("mkdir");
        let zone_main = z.join("steerdns.toml");
        std::fs::write(
            &zone_main,
            format!(
                "[server]\nlisten = [\"127.0.0.1:5353\"]\nnsid = \"fuzz\"\nidentity = \"fuzz\"\n\
                 [geoip]\ndatabase = {:?}\n",
                db.display().to_string()
            ),
        )
        .expect("write main");
        let m = dir.path().join("m");
        std::fs::create_dir_all(m.join("zones")).expect("mkdir");
        std::fs::copy(
            repo().join("zones/gslb.example.test.toml"),
            m.join("zones/gslb.example.test.toml"),
        )
        .expect("copy zone");
        std::fs::copy(&db, m.join("geo.mmdb")).expect("copy db");
        let geo = steerdns::geo::open_lookup(&db).ok();
        Fixture {
            zone_file: z.join("zones/fuzz.toml"),
            zone_main,
            main_main: m.join("steerdns.toml"),
            _dir: dir,
            geo,
        }
    })
}

/// A query for `name` (wire form) of `qtype`, with an OPT (size 512, NSID, ECS) if asked.
fn query(name: &[u8], qtype: u16, edns: bool, ecs: Option<(u8, &[u8])>) -> Vec<u8> {
    let mut p = vec![0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)];
    p.extend_from_slice(name);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    if edns {
        let mut opts = vec![0, 3, 0, 0];
        if let Some((prefix, addr)) = ecs {
            opts.extend_from_slice(&8u16.to_be_bytes());
            opts.extend_from_slice(&((4 + addr.len()) as u16).to_be_bytes());
            opts.extend_from_slice(&[0, 1, prefix, 0]);
            opts.extend_from_slice(addr);
        }
        p.extend_from_slice(&[0, 0, 41, 2, 0, 0, 0, 0, 0]);
        p.extend_from_slice(&(opts.len() as u16).to_be_bytes());
        p.extend_from_slice(&opts);
    }
    p
}

fn check(snap: &Snapshot, packet: &[u8], limit: usize) {
    let mut out = Vec::new();
    let cx = QueryContext {
        source: IpAddr::V4(Ipv4Addr::LOCALHOST),
        transport: Transport::Udp,
        rotation: 7,
        now: 1_764_590_000,
    };
    let Some(_) = answer(snap, packet, &cx, &mut out) else {
        panic!("no reply to a well-formed query {packet:02x?}");
    };
    let reply = match Message::from_vec(&out) {
        Ok(m) => m,
        Err(e) => panic!("reply does not parse: {e}\nquery {packet:02x?}\nreply {out:02x?}"),
    };
    assert_eq!(reply.metadata.message_type, MessageType::Response);
    assert_eq!(reply.metadata.id, 0xABCD);
    assert!(
        out.len() <= limit,
        "reply of {} bytes over {limit}: {packet:02x?}",
        out.len()
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let f = fixture();
    let path = if let Some(main) = text.strip_prefix("#main\n") {
        if std::fs::write(&f.main_main, main).is_err() {
            return;
        }
        &f.main_main
    } else {
        if std::fs::write(&f.zone_file, text).is_err() {
            return;
        }
        &f.zone_main
    };
    let Ok(cfg) = config::load(path, NOW) else {
        return;
    };
    let snap = Snapshot::new(1, cfg, f.geo.clone(), NOW, None);
    let ecs: [(u8, &[u8]); 3] = [(24, &[81, 2, 69]), (8, &[10]), (0, &[])];
    let mut sent = 0;
    for zone in &snap.config.zones {
        for (name, node) in &zone.nodes {
            let wire = name.as_wire();
            let mut types: Vec<u16> = node.rrsets.iter().map(|s| s.rtype).collect();
            types.extend_from_slice(&[1, 28, 6, 255]);
            for &t in types.iter().take(12) {
                check(&snap, &query(wire, t, false, None), 512);
                for e in ecs {
                    check(&snap, &query(wire, t, true, Some(e)), 512);
                }
            }
            sent += 1;
            if sent > 64 {
                return;
            }
        }
    }
    check(
        &snap,
        &query(b"\x07version\x04bind\x00", 16, true, None),
        512,
    );
});
