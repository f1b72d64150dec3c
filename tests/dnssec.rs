//! DNSSEC end to end (SPEC 5.1), over the real wire.
//!
//! - A validating Unbound on loopback, whose only trust anchor is the zone's DS (the zone is
//!   a stub zone, the only one it knows), validates every kind of answer as secure (AD set):
//!   static A, MX, TXT; steered A and AAAA for clients in three regions (their ECS passed
//!   through Unbound); CNAME; wildcard; NODATA; NXDOMAIN; DNSKEY. BIND's `delv`, asking
//!   steerdns directly with the same anchor, agrees ("fully validated").
//! - A proxy between Unbound and steerdns that flips one byte of the signatures makes
//!   Unbound answer SERVFAIL: the validation above can fail.
//! - A ZSK rollover and a CSK rollover, stage by stage (reloads of the daemon), validate at
//!   every stage with a fresh Unbound.
//! - On the wire: compact denial (RFC 9824: NOERROR and an NSEC with NXNAME, NXDOMAIN only
//!   with CO), answers without DO byte for byte those of the unsigned zone, signed answers
//!   truncated over UDP and whole over TCP, signatures kept across a reload.
//!
//! Unbound and delv come from Debian's `unbound` and `bind9-dnsutils`; without them those
//! tests print `SKIPPED` (see `common::external`).

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::external::{Stub, Unbound, UnboundOptions, require_program};
use common::*;
use hickory_proto::dnssec::rdata::{DNSSECRData, RRSIG};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType};
use steerdns::dns::name::Name;
use steerdns::dnssec::key::{Algorithm, FLAGS_KSK, FLAGS_ZSK, ZoneKey};

const ORIGIN: &str = "signed.test.";

/// The regions and their endpoints (A, AAAA); clients by ECS: 10.1/16 eu, 10.2/16 ap, the
/// rest us.
const REGIONS: [(&str, &str, &str, &str); 3] = [
    ("us", "192.0.2.0", "127.0.0.10", "fd00::10"),
    ("eu", "10.1.2.0", "127.0.0.20", "fd00::20"),
    ("ap", "10.2.3.0", "127.0.0.30", "fd00::30"),
];

/// A key and the name of its file beside the daemon's config.
struct Key {
    key: ZoneKey,
    file: String,
}

impl Key {
    fn new(alg: Algorithm, flags: u16) -> Self {
        let origin = Name::parse_absolute(ORIGIN).unwrap();
        let key = ZoneKey::generate(&origin, alg, flags, false, 0).unwrap();
        let file = key.file_name();
        Self { key, file }
    }

    /// The key file's text, with `publish_only` as given.
    fn text(&self, publish_only: bool) -> String {
        self.key.to_file_text().replace(
            "publish_only = false",
            &format!("publish_only = {publish_only}"),
        )
    }

    /// The DS as Unbound's trust anchor.
    fn anchor(&self) -> String {
        self.key.ds_text()
    }
}

/// The zone, signed with `keys` (file names) when any.
fn zone(keys: &[&str]) -> Zone {
    let big = format!("\"{}\"", "x".repeat(200));
    let mut z = Zone::new(ORIGIN)
        .minimum("30s")
        .record("@", "NS", &["ns1.signed.test."])
        .record("ns1", "A", &["127.0.0.1"])
        .record("@", "MX", &["10 mx.signed.test."])
        .record("mx", "A", &["127.0.0.25"])
        .record("@", "TXT", &["\"v=spf1 -all\""])
        .record("static", "A", &["127.0.0.40", "127.0.0.41"])
        .record("alias", "CNAME", &["www"])
        .record("*.wild", "A", &["127.0.0.50"])
        .record(
            "big",
            "TXT",
            &[&big, &big.replace('x', "y"), &big.replace('x', "z")],
        )
        .regions(&["us", "eu", "ap"])
        .toml(
            r#"
[service.www]
geo = { default = "us", "net:10.1.0.0/16" = "eu", "net:10.2.0.0/16" = "ap" }
[service.www.region.us]
endpoints = ["127.0.0.10", "fd00::10"]
[service.www.region.eu]
endpoints = ["127.0.0.20", "fd00::20"]
[service.www.region.ap]
endpoints = ["127.0.0.30", "fd00::30"]
"#,
        );
    if !keys.is_empty() {
        let list: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
        z = z.toml(&format!("[dnssec]\nkeys = [{}]\n", list.join(", ")));
    }
    z
}

/// A daemon serving the zone signed with `keys` (each with its `publish_only`).
fn start(keys: &[(&Key, bool)]) -> Daemon {
    let mut setup = Setup::new();
    for (k, publish_only) in keys {
        setup = setup.file(&k.file, k.text(*publish_only).as_bytes());
    }
    let names: Vec<&str> = keys.iter().map(|(k, _)| k.file.as_str()).collect();
    setup.zone(&zone(&names)).start()
}

/// Rewrites the key files and the zone's key list, and reloads.
fn rekey(d: &Daemon, keys: &[(&Key, bool)]) {
    for (k, publish_only) in keys {
        std::fs::write(d.dir.path().join(&k.file), k.text(*publish_only)).unwrap();
    }
    let names: Vec<&str> = keys.iter().map(|(k, _)| k.file.as_str()).collect();
    d.write_zone(&zone(&names));
    assert_eq!(d.reload(), Reload::Applied, "{}", d.log());
}

/// A validating Unbound whose only trust anchors are `anchors`, with the zone as a stub.
fn unbound(server: SocketAddr, anchors: &[String]) -> Option<Unbound> {
    Unbound::start_with(
        &[Stub::new(ORIGIN, server)],
        &UnboundOptions {
            trust_anchors: anchors.to_vec(),
            ..UnboundOptions::default()
        },
    )
}

/// Asks Unbound with DO (and an ECS option when given).
fn ask(u: &Unbound, name: &str, t: RecordType, ecs: Option<&str>) -> Message {
    let mut q = Query::new(name, t).dnssec_ok();
    if let Some(addr) = ecs {
        q = q.ecs(addr, 24);
    }
    udp(u.addr, &q)
}

/// Panics unless Unbound validated `m` as secure (AD) with NOERROR.
fn assert_secure(u: &Unbound, m: &Message, what: &str) {
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NoError,
        "{what}: {m:?}\nUnbound log:\n{}",
        u.log()
    );
    assert!(
        m.metadata.authentic_data,
        "{what}: not secure (AD clear): {m:?}\nUnbound log:\n{}",
        u.log()
    );
}

/// The data of the answer records of type `t`, as text.
fn data_of(m: &Message, t: RecordType) -> Vec<String> {
    let mut v: Vec<String> = m
        .answers
        .iter()
        .filter(|r| r.record_type() == t)
        .map(|r| r.data.to_string())
        .collect();
    v.sort();
    v
}

/// The RRSIGs of a message's section.
fn rrsigs(records: &[Record]) -> Vec<&RRSIG> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(s)) => Some(s),
            _ => None,
        })
        .collect()
}

fn name(rel: &str) -> String {
    if rel == "@" {
        ORIGIN.to_string()
    } else {
        format!("{rel}.{ORIGIN}")
    }
}

#[test]
fn every_answer_kind_validates_in_unbound_and_delv() {
    let csk = Key::new(Algorithm::EcdsaP256Sha256, FLAGS_KSK);
    let d = start(&[(&csk, false)]);
    let Some(u) = unbound(d.addr, &[csk.anchor()]) else {
        return;
    };

    let m = ask(&u, &name("static"), RecordType::A, None);
    assert_secure(&u, &m, "static A");
    assert_eq!(data_of(&m, RecordType::A), ["127.0.0.40", "127.0.0.41"]);
    let m = ask(&u, ORIGIN, RecordType::MX, None);
    assert_secure(&u, &m, "MX");
    assert_eq!(data_of(&m, RecordType::MX), ["10 mx.signed.test."]);
    let m = ask(&u, ORIGIN, RecordType::TXT, None);
    assert_secure(&u, &m, "TXT");
    assert_eq!(
        m.answers
            .iter()
            .filter(|r| r.record_type() == RecordType::TXT)
            .count(),
        1
    );
    let m = ask(&u, ORIGIN, RecordType::DNSKEY, None);
    assert_secure(&u, &m, "DNSKEY");

    // Steered, for a client in each region (ECS through Unbound's subnetcache).
    for (region, client, v4, v6) in REGIONS {
        let m = ask(&u, &name("www"), RecordType::A, Some(client));
        assert_secure(&u, &m, &format!("www A for {region}"));
        assert_eq!(data_of(&m, RecordType::A), [v4], "{region}");
        let m = ask(&u, &name("www"), RecordType::AAAA, Some(client));
        assert_secure(&u, &m, &format!("www AAAA for {region}"));
        assert_eq!(data_of(&m, RecordType::AAAA), [v6], "{region}");
    }

    let m = ask(&u, &name("alias"), RecordType::A, Some("10.1.2.0"));
    assert_secure(&u, &m, "CNAME");
    assert_eq!(data_of(&m, RecordType::CNAME), ["www.signed.test."]);
    assert_eq!(data_of(&m, RecordType::A), ["127.0.0.20"]);

    let m = ask(&u, &name("Host-7.wild"), RecordType::A, None);
    assert_secure(&u, &m, "wildcard");
    assert_eq!(data_of(&m, RecordType::A), ["127.0.0.50"]);

    // NODATA (a static name, a steered name, the empty non-terminal above the wildcard).
    for (n, t) in [
        ("static", RecordType::TXT),
        ("www", RecordType::MX),
        ("wild", RecordType::A),
    ] {
        let m = ask(&u, &name(n), t, None);
        assert_secure(&u, &m, &format!("NODATA {n} {t}"));
        assert!(m.answers.is_empty(), "{m:?}");
    }
    // NXDOMAIN: compact denial, so NOERROR without an answer (Unbound sends no CO).
    let m = ask(&u, &name("nope"), RecordType::A, None);
    assert_secure(&u, &m, "NXDOMAIN");
    assert!(m.answers.is_empty(), "{m:?}");
    let m = ask(&u, &name("deeper.nope"), RecordType::AAAA, None);
    assert_secure(&u, &m, "NXDOMAIN below NXDOMAIN");

    // delv, straight at steerdns, with the same anchor.
    let Some(delv) = require_program("delv") else {
        return;
    };
    let anchors = d.dir.path().join("anchors.conf");
    let ds: Vec<String> = csk.anchor().split_whitespace().map(String::from).collect();
    std::fs::write(
        &anchors,
        format!(
            "trust-anchors {{\n  {ORIGIN} static-ds {} {} {} \"{}\";\n}};\n",
            ds[3], ds[4], ds[5], ds[6]
        ),
    )
    .unwrap();
    let cases = [
        ("static", "A", "; fully validated"),
        ("@", "MX", "; fully validated"),
        ("@", "TXT", "; fully validated"),
        ("@", "DNSKEY", "; fully validated"),
        ("www", "A", "; fully validated"),
        ("www", "AAAA", "; fully validated"),
        ("alias", "A", "; fully validated"),
        ("x.wild", "A", "; fully validated"),
        ("static", "TXT", "; negative response, fully validated"),
        ("nope", "A", "; negative response, fully validated"),
    ];
    for (n, t, want) in cases {
        let out = std::process::Command::new(&delv)
            .arg(format!("@{}", d.addr.ip()))
            .args(["-p", &d.addr.port().to_string()])
            .arg("-a")
            .arg(&anchors)
            .arg(format!("+root={ORIGIN}"))
            .args([name(n).as_str(), t])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(want), "delv {n} {t}: want {want:?}:\n{text}");
    }
}

/// A UDP proxy in front of `server` that flips a byte in the signature of every RRSIG over
/// an A RRset in the answer section; stops when dropped.
struct Corrupter {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Corrupter {
    fn start(server: SocketAddr) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 65_535];
            while !stopped.load(Ordering::Relaxed) {
                let Ok((len, client)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(reply) = send_udp(server, &buf[..len], Duration::from_secs(2)) else {
                    continue;
                };
                let _ = sock.send_to(&corrupt(reply), client);
            }
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Corrupter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The reply with the signatures over A RRsets changed in one byte.
fn corrupt(reply: Vec<u8>) -> Vec<u8> {
    let Ok(mut m) = Message::from_vec(&reply) else {
        return reply;
    };
    let mut changed = false;
    for r in &mut m.answers {
        if let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &r.data
            && sig.input().type_covered == RecordType::A
        {
            let mut bytes = sig.sig().to_vec();
            bytes[10] ^= 0x5a;
            r.data = RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(
                sig.input().clone(),
                bytes,
            )));
            changed = true;
        }
    }
    if changed {
        m.to_vec().unwrap_or(reply)
    } else {
        reply
    }
}

#[test]
fn a_corrupted_signature_makes_unbound_answer_servfail() {
    let csk = Key::new(Algorithm::Ed25519, FLAGS_KSK);
    let d = start(&[(&csk, false)]);
    let proxy = Corrupter::start(d.addr);
    let Some(u) = unbound(proxy.addr, &[csk.anchor()]) else {
        return;
    };
    // The DNSKEY RRset passes untouched and validates; the A RRset's signature does not.
    let m = ask(&u, ORIGIN, RecordType::DNSKEY, None);
    assert_secure(&u, &m, "DNSKEY through the proxy");
    let m = ask(&u, &name("static"), RecordType::A, None);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail, "{m:?}");
    assert!(
        u.log().contains("bogus") || u.log().contains("validation failure"),
        "{}",
        u.log()
    );
}

/// Validates the zone through a fresh Unbound with `anchors`; returns the key tags that
/// signed `static A` and the DNSKEY RRset, as Unbound passed them on.
fn validate_stage(d: &Daemon, anchors: &[String], stage: &str) -> Option<(Vec<u16>, Vec<u16>)> {
    let u = unbound(d.addr, anchors)?;
    let a = ask(&u, &name("static"), RecordType::A, None);
    assert_secure(&u, &a, &format!("{stage}: static A"));
    let keys = ask(&u, ORIGIN, RecordType::DNSKEY, None);
    assert_secure(&u, &keys, &format!("{stage}: DNSKEY"));
    let www = ask(&u, &name("www"), RecordType::AAAA, Some("10.2.3.0"));
    assert_secure(&u, &www, &format!("{stage}: www AAAA"));
    let nx = ask(&u, &name("nope"), RecordType::A, None);
    assert_secure(&u, &nx, &format!("{stage}: NXDOMAIN"));
    let tags = |m: &Message| {
        let mut t: Vec<u16> = rrsigs(&m.answers)
            .iter()
            .map(|s| s.input().key_tag)
            .collect();
        t.sort();
        t
    };
    Some((tags(&a), tags(&keys)))
}

#[test]
fn zsk_rollover_validates_at_every_stage() {
    let ksk = Key::new(Algorithm::EcdsaP256Sha256, FLAGS_KSK);
    let old = Key::new(Algorithm::EcdsaP256Sha256, FLAGS_ZSK);
    let new = Key::new(Algorithm::EcdsaP256Sha256, FLAGS_ZSK);
    let anchors = [ksk.anchor()];
    let (k, o, n) = (ksk.key.key_tag(), old.key.key_tag(), new.key.key_tag());

    // 1. KSK + ZSK.
    let d = start(&[(&ksk, false), (&old, false)]);
    let Some(signed) = validate_stage(&d, &anchors, "1 KSK+ZSK") else {
        return;
    };
    assert_eq!(signed, (vec![o], vec![k]));
    // 2. The new ZSK pre-published: in the DNSKEY RRset, signing nothing.
    rekey(&d, &[(&ksk, false), (&old, false), (&new, true)]);
    assert_eq!(
        validate_stage(&d, &anchors, "2 pre-publish").unwrap(),
        (vec![o], vec![k])
    );
    let keys = udp(d.addr, &Query::new(ORIGIN, RecordType::DNSKEY));
    assert_eq!(keys.answers.len(), 3, "{keys:?}");
    // 3. Roles swapped: the new ZSK signs, the old one stays published.
    rekey(&d, &[(&ksk, false), (&old, true), (&new, false)]);
    assert_eq!(
        validate_stage(&d, &anchors, "3 swap").unwrap(),
        (vec![n], vec![k])
    );
    // 4. The old ZSK removed.
    rekey(&d, &[(&ksk, false), (&new, false)]);
    assert_eq!(
        validate_stage(&d, &anchors, "4 remove").unwrap(),
        (vec![n], vec![k])
    );
}

#[test]
fn csk_rollover_validates_at_every_stage() {
    let old = Key::new(Algorithm::EcdsaP256Sha256, FLAGS_KSK);
    let new = Key::new(Algorithm::Ed25519, FLAGS_KSK);
    let (o, n) = (old.key.key_tag(), new.key.key_tag());
    // 1. One CSK, its DS at the parent.
    let d = start(&[(&old, false)]);
    let Some(signed) = validate_stage(&d, &[old.anchor()], "1 CSK") else {
        return;
    };
    assert_eq!(signed, (vec![o], vec![o]));
    // 2. The new CSK published; the parent gets its DS too.
    rekey(&d, &[(&old, false), (&new, true)]);
    let both = [old.anchor(), new.anchor()];
    assert_eq!(
        validate_stage(&d, &both, "2 pre-publish").unwrap(),
        (vec![o], vec![o])
    );
    // 3. Swapped: the new CSK signs everything, the DNSKEY RRset too.
    rekey(&d, &[(&old, true), (&new, false)]);
    assert_eq!(
        validate_stage(&d, &both, "3 swap").unwrap(),
        (vec![n], vec![n])
    );
    // 4. The old key and its DS gone.
    rekey(&d, &[(&new, false)]);
    assert_eq!(
        validate_stage(&d, &[new.anchor()], "4 remove").unwrap(),
        (vec![n], vec![n])
    );
}

/// A query with DO and, when `co`, the Compact Answers OK flag (RFC 9824 5.1).
fn do_query(name: &str, t: RecordType, co: bool) -> Vec<u8> {
    let mut p = Query::new(name, t).rd(false).dnssec_ok().to_bytes();
    if co {
        // The OPT record is last: its flags are the 3rd and 4th octets of its TTL field,
        // 11 bytes (root name, type, class, TTL) before its end, minus RDLENGTH and data.
        let opt_flags = p.len() - 4;
        assert_eq!(p[opt_flags] & 0x80, 0x80, "DO bit where expected");
        p[opt_flags] |= 0x40;
    }
    p
}

#[test]
fn compact_denial_on_the_wire() {
    let csk = Key::new(Algorithm::EcdsaP256Sha256, FLAGS_KSK);
    let d = start(&[(&csk, false)]);
    let nx = name("nope");

    // NXDOMAIN with DO: NOERROR; SOA, NSEC at the name (next \000.name, RRSIG NSEC NXNAME),
    // each with its RRSIG.
    let reply = send_udp(
        d.addr,
        &do_query(&nx, RecordType::A, false),
        Duration::from_secs(2),
    )
    .unwrap();
    let m = Message::from_vec(&reply).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    let types: Vec<RecordType> = m.authorities.iter().map(Record::record_type).collect();
    assert_eq!(
        types,
        [
            RecordType::SOA,
            RecordType::RRSIG,
            RecordType::NSEC,
            RecordType::RRSIG
        ]
    );
    let RData::DNSSEC(DNSSECRData::NSEC(nsec)) = &m.authorities[2].data else {
        panic!("{m:?}");
    };
    assert_eq!(m.authorities[2].name.to_string(), nx);
    assert_eq!(nsec.next_domain_name().to_string(), format!("\\000.{nx}"));
    let bitmap: Vec<u16> = nsec.type_bit_maps().map(u16::from).collect();
    assert_eq!(bitmap, [46, 47, 128]);
    // With CO: NXDOMAIN, and CO in the reply's OPT.
    let reply = send_udp(
        d.addr,
        &do_query(&nx, RecordType::A, true),
        Duration::from_secs(2),
    )
    .unwrap();
    assert_eq!(raw_rcode(&reply), 3);
    let m = Message::from_vec(&reply).unwrap();
    assert_eq!(m.authorities.len(), 4);
    let opt_flags = reply.len() - 4;
    assert_eq!(reply[opt_flags] & 0xC0, 0xC0, "DO and CO set in the reply");

    // NODATA: the NSEC lists the types there, never the one asked.
    let m = udp(
        d.addr,
        &Query::new(&name("www"), RecordType::TXT).dnssec_ok(),
    );
    let nsec = m
        .authorities
        .iter()
        .find_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(n)) => Some(n),
            _ => None,
        })
        .unwrap();
    let bitmap: Vec<u16> = nsec.type_bit_maps().map(u16::from).collect();
    assert_eq!(bitmap, [1, 28, 46, 47]);
    let m = udp(d.addr, &Query::new(ORIGIN, RecordType::DS).dnssec_ok());
    let nsec = m
        .authorities
        .iter()
        .find_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(n)) => Some(n),
            _ => None,
        })
        .unwrap();
    let bitmap: Vec<u16> = nsec.type_bit_maps().map(u16::from).collect();
    assert_eq!(
        bitmap,
        [2, 6, 15, 16, 46, 47, 48],
        "apex: NS SOA MX TXT RRSIG NSEC DNSKEY"
    );

    // The NXNAME meta-type cannot be asked for (RFC 9824 3.5).
    let m = udp(
        d.addr,
        &Query::new(&name("www"), RecordType::Unknown(128)).dnssec_ok(),
    );
    assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
    // _explain is not signed.
    let m = udp(
        d.addr,
        &Query::new(&name("_explain.www"), RecordType::TXT).dnssec_ok(),
    );
    assert!(
        !m.answers.is_empty() && rrsigs(&m.answers).is_empty(),
        "{m:?}"
    );
}

#[test]
fn without_do_answers_are_those_of_the_unsigned_zone() {
    let csk = Key::new(Algorithm::EcdsaP256Sha256, FLAGS_KSK);
    let signed = start(&[(&csk, false)]);
    let unsigned = Setup::new().zone(&zone(&[])).start();
    let queries = [
        Query::new(&name("static"), RecordType::A),
        Query::new(&name("static"), RecordType::A).edns(1232),
        Query::new(&name("www"), RecordType::A).ecs("10.1.2.0", 24),
        Query::new(&name("www"), RecordType::AAAA).ecs("10.2.3.0", 24),
        Query::new(&name("alias"), RecordType::A).edns(1232),
        Query::new(&name("x.wild"), RecordType::A),
        Query::new(ORIGIN, RecordType::MX).edns(1232),
        Query::new(ORIGIN, RecordType::SOA),
        Query::new(ORIGIN, RecordType::ANY),
        Query::new(&name("nope"), RecordType::A).edns(1232),
        Query::new(&name("static"), RecordType::TXT),
        Query::new(&name("wild"), RecordType::A),
        Query::new(&name("big"), RecordType::TXT).edns(512),
    ];
    for q in &queries {
        let bytes = q.to_bytes();
        let a = send_udp(signed.addr, &bytes, Duration::from_secs(2)).unwrap();
        let b = send_udp(unsigned.addr, &bytes, Duration::from_secs(2)).unwrap();
        assert_eq!(a, b, "{} {:?}: differs without DO", q.name, q.qtype);
    }
    // The keys themselves are data of the signed zone, DO or not (without their RRSIG).
    let m = udp(signed.addr, &Query::new(ORIGIN, RecordType::DNSKEY));
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].record_type(), RecordType::DNSKEY);
    let m = udp(unsigned.addr, &Query::new(ORIGIN, RecordType::DNSKEY));
    assert!(m.answers.is_empty());
}

#[test]
fn signed_answers_truncate_over_udp_and_are_whole_over_tcp() {
    let csk = Key::new(Algorithm::EcdsaP256Sha256, FLAGS_KSK);
    let d = start(&[(&csk, false)]);
    // Three 200-octet TXT strings fit 1232 octets unsigned and signed, not 512 signed.
    let q = Query::new(&name("big"), RecordType::TXT).rd(false);
    let m = udp(d.addr, &q.clone().edns(1232).dnssec_ok());
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 4, "3 TXT + RRSIG");
    let small = q.clone().edns(700).dnssec_ok();
    let unsigned = udp(d.addr, &q.clone().edns(700));
    assert!(!unsigned.metadata.truncation, "fits unsigned");
    let m = udp(d.addr, &small);
    assert!(m.metadata.truncation, "signed does not fit 700: {m:?}");
    assert!(m.answers.is_empty() && m.authorities.is_empty());
    let m = tcp(d.addr, &small);
    assert!(!m.metadata.truncation);
    assert_eq!(rrsigs(&m.answers).len(), 1);
    assert_eq!(m.answers.len(), 4);
}

#[test]
fn signatures_are_cached_and_kept_across_reloads() {
    // ECDSA signatures differ every time they are made, so equal bytes mean one signature.
    let csk = Key::new(Algorithm::EcdsaP256Sha256, FLAGS_KSK);
    let d = start(&[(&csk, false)]);
    let sig = |n: &str| -> Vec<u8> {
        let m = udp(d.addr, &Query::new(&name(n), RecordType::A).dnssec_ok());
        rrsigs(&m.answers)[0].sig().to_vec()
    };
    let first = sig("static");
    for _ in 0..5 {
        assert_eq!(sig("static"), first, "served from the cache");
    }
    let www = sig("www");
    // A reload that changes another name keeps both signatures.
    let changed = zone(&[&csk.file]).record("other", "A", &["127.0.0.99"]);
    d.write_zone(&changed);
    assert_eq!(d.reload(), Reload::Applied);
    assert_eq!(sig("static"), first, "kept across the reload");
    assert_eq!(sig("www"), www);
    // A changed RRset is signed again.
    let changed = changed.record("static", "A", &["127.0.0.42"]);
    d.write_zone(&changed);
    assert_eq!(d.reload(), Reload::Applied);
    assert_ne!(sig("static"), first);
}
