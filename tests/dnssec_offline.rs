//! DNSSEC without a server: our keys and signatures checked by implementations that share no
//! code with ours.
//!
//! - hickory-proto's DNSSEC verifier, in process: every RRset we sign, a wildcard expansion
//!   signed at the query name, and compact-denial NSECs.
//! - BIND (`dnssec-dsfromkey`, `dnssec-verify`) and ldns (`ldns-key2ds`, `ldns-verify-zone`):
//!   the DS we print equals theirs for the DNSKEY we print, and a zone file written from our
//!   records, RRSIGs, DNSKEYs and an NSEC chain built here verifies completely.
//!
//! The programs come from Debian's `bind9-utils` and `ldnsutils`; without them those tests
//! print `SKIPPED` (and fail under `STEERDNS_REQUIRE_EXTERNAL=1`, as `.ci/run` sets; see
//! `common::external`).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::external::require_programs;
use hickory_proto::dnssec::Verifier as _;
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::rr::{DNSClass, RData, Record, RecordType};
use hickory_proto::serialize::binary::{
    BinDecodable as _, BinEncodable as _, BinEncoder, NameEncoding,
};
use steerdns::dns::name::Name;
use steerdns::dnssec::denial;
use steerdns::dnssec::key::{Algorithm, FLAGS_KSK, FLAGS_ZSK, ZoneKey};
use steerdns::dnssec::sign::Rrset;
use steerdns::dnssec::wire::{TypeSet, rtype};
use steerdns::dnssec::zone::{Pool, SignatureCaches, ZoneSigner};

const ORIGIN: &str = "gslb.example.test.";

/// The zone: owner, type, TTL, RDATA in presentation format. Upper case in a CNAME target
/// exercises canonical RDATA; the TXT has two strings; `www` is a multi-record A set given
/// in non-canonical order.
const RECORDS: &[(&str, &str, u32, &str)] = &[
    (
        "@",
        "SOA",
        300,
        "ns1.gslb.example.test. hostmaster.example.test. 2026112101 3600 600 604800 30",
    ),
    ("@", "NS", 300, "ns1.gslb.example.test."),
    ("@", "NS", 300, "ns2.gslb.example.test."),
    ("@", "MX", 300, "10 mx1.gslb.example.test."),
    ("@", "TXT", 300, "\"v=spf1 -all\" \"second string\""),
    ("ns1", "A", 300, "127.0.0.1"),
    ("ns2", "A", 300, "127.0.0.2"),
    ("ns2", "AAAA", 300, "::1"),
    ("mx1", "A", 300, "127.0.0.25"),
    ("www", "A", 30, "127.0.0.11"),
    ("www", "A", 30, "127.0.0.10"),
    ("www", "AAAA", 30, "::1"),
    ("alias", "CNAME", 300, "WWW.gslb.example.test."),
    ("*.wild", "A", 300, "127.0.0.30"),
];

fn now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

fn origin() -> Name {
    Name::parse_absolute(ORIGIN).unwrap()
}

fn owner(rel: &str) -> Name {
    Name::parse_relative(rel, &origin()).unwrap()
}

/// RDATA wire form from presentation format, encoded by hickory-proto.
fn rdata(t: RecordType, text: &str) -> Vec<u8> {
    let rd = RData::try_from_str(t, text).unwrap();
    let mut buf = Vec::new();
    let mut enc = BinEncoder::new(&mut buf);
    enc.set_name_encoding(NameEncoding::Uncompressed);
    rd.emit(&mut enc).unwrap();
    buf
}

/// A hickory record decoded from our wire pieces.
fn record(owner: &[u8], t: u16, ttl: u32, rdata: &[u8]) -> Record {
    let mut b = owner.to_vec();
    b.extend_from_slice(&t.to_be_bytes());
    b.extend_from_slice(&1u16.to_be_bytes());
    b.extend_from_slice(&ttl.to_be_bytes());
    b.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    b.extend_from_slice(rdata);
    Record::from_bytes(&b).unwrap()
}

/// Verifies every RRSIG (given as RDATA) over `set` with hickory against the zone's DNSKEYs;
/// returns how many verified.
fn hickory_verify(signer: &ZoneSigner, set: &Rrset<'_, Vec<u8>>, rrsigs: &[Vec<u8>]) -> usize {
    let records: Vec<Record> = set
        .rdatas
        .iter()
        .map(|rd| record(set.owner, set.rtype, set.ttl, rd))
        .collect();
    let name = records[0].name.clone();
    let mut ok = 0;
    for sig in rrsigs {
        let rec = record(set.owner, rtype::RRSIG, set.ttl, sig);
        let RData::DNSSEC(DNSSECRData::RRSIG(rrsig)) = &rec.data else {
            panic!("not an RRSIG: {rec}");
        };
        let tag = rrsig.input().key_tag;
        let key = signer
            .keys()
            .iter()
            .find(|k| k.key_tag() == tag)
            .expect("signed by a zone key");
        let dnskey = record(
            signer.keys()[0].zone().as_wire(),
            rtype::DNSKEY,
            300,
            key.dnskey_rdata(),
        );
        let RData::DNSSEC(DNSSECRData::DNSKEY(dnskey)) = &dnskey.data else {
            panic!("not a DNSKEY");
        };
        dnskey
            .verify_rrsig(&name, DNSClass::IN, rrsig, records.iter())
            .unwrap_or_else(|e| panic!("{name} {:?}: hickory rejects our RRSIG: {e}", set.rtype));
        ok += 1;
    }
    ok
}

fn sigs(signer: &ZoneSigner, set: &Rrset<'_, Vec<u8>>, pool: Pool) -> Vec<Vec<u8>> {
    let caches = SignatureCaches::default();
    let mut out = Vec::new();
    signer
        .for_each_rrsig(&caches, set, pool, now(), |rd| out.push(rd.to_vec()))
        .unwrap();
    out
}

/// RRsets: (owner wire, type) -> (TTL, RDATAs).
type Sets = BTreeMap<(Vec<u8>, u16), (u32, Vec<Vec<u8>>)>;

/// The zone's RRsets.
fn rrsets() -> Sets {
    let mut sets = Sets::new();
    for &(o, t, ttl, text) in RECORDS {
        let t: RecordType = t.parse().unwrap();
        let entry = sets
            .entry((owner(o).as_wire().to_vec(), u16::from(t)))
            .or_insert((ttl, Vec::new()));
        entry.1.push(rdata(t, text));
    }
    sets
}

fn signer_with(keys: Vec<Arc<ZoneKey>>) -> ZoneSigner {
    ZoneSigner::new(&origin(), keys, 300, 7 * 86_400).unwrap()
}

fn key(alg: Algorithm, flags: u16) -> Arc<ZoneKey> {
    Arc::new(ZoneKey::generate(&origin(), alg, flags, false, 0).unwrap())
}

#[test]
fn hickory_verifies_every_rrset_we_sign() {
    for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        // A KSK and a ZSK: the DNSKEY RRset is signed by the KSK, the rest by the ZSK.
        let signer = signer_with(vec![key(alg, FLAGS_KSK), key(alg, FLAGS_ZSK)]);
        for ((owner, t), (ttl, rdatas)) in rrsets() {
            let set = Rrset {
                owner: &owner,
                rtype: t,
                ttl,
                rdatas: &rdatas,
            };
            let rrsigs = sigs(&signer, &set, Pool::Stable);
            assert_eq!(hickory_verify(&signer, &set, &rrsigs), 1);
        }
        let dnskeys: Vec<Vec<u8>> = signer
            .keys()
            .iter()
            .map(|k| k.dnskey_rdata().to_vec())
            .collect();
        let apex = origin();
        let set = Rrset {
            owner: apex.as_wire(),
            rtype: rtype::DNSKEY,
            ttl: 300,
            rdatas: &dnskeys,
        };
        let rrsigs = sigs(&signer, &set, Pool::Stable);
        assert_eq!(rrsigs[0][2], alg.number());
        assert_eq!(hickory_verify(&signer, &set, &rrsigs), 1);
    }
}

#[test]
fn wildcard_expansion_and_compact_denial_verify() {
    let signer = signer_with(vec![key(Algorithm::EcdsaP256Sha256, FLAGS_KSK)]);
    // A wildcard expansion signed at the query name (RFC 9824 3.3's option): label count of
    // the query name, so a validator needs no proof that the name itself does not exist.
    let qname = owner("Host-42.wild");
    let rdatas = vec![rdata(RecordType::A, "127.0.0.30")];
    let set = Rrset {
        owner: qname.as_wire(),
        rtype: 1,
        ttl: 300,
        rdatas: &rdatas,
    };
    let rrsigs = sigs(&signer, &set, Pool::PerName);
    assert_eq!(rrsigs[0][3], 5, "labels of host-42.wild.gslb.example.test.");
    assert_eq!(hickory_verify(&signer, &set, &rrsigs), 1);
    // The wildcard itself, signed at its own owner: labels without the `*`.
    let wild = owner("*.wild");
    let set = Rrset {
        owner: wild.as_wire(),
        rtype: 1,
        ttl: 300,
        rdatas: &rdatas,
    };
    let rrsigs = sigs(&signer, &set, Pool::Stable);
    assert_eq!(rrsigs[0][3], 4);
    assert_eq!(hickory_verify(&signer, &set, &rrsigs), 1);

    // Compact NXDOMAIN: NSEC at the name, next name \000.<name>, RRSIG NSEC NXNAME.
    let nx = owner("nope");
    let nsec = denial::nsec_rdata(nx.as_wire(), &denial::nxname_types());
    let rdatas = vec![nsec.as_slice().to_vec()];
    let set = Rrset {
        owner: nx.as_wire(),
        rtype: rtype::NSEC,
        ttl: 30,
        rdatas: &rdatas,
    };
    let rrsigs = sigs(&signer, &set, Pool::PerName);
    assert_eq!(hickory_verify(&signer, &set, &rrsigs), 1);
    let rec = record(nx.as_wire(), rtype::NSEC, 30, &rdatas[0]);
    let RData::DNSSEC(DNSSECRData::NSEC(parsed)) = &rec.data else {
        panic!("{rec}");
    };
    assert_eq!(
        parsed.next_domain_name().to_string(),
        "\\000.nope.gslb.example.test."
    );
    // (hickory-proto 0.26 knows NXNAME only by number.)
    let types: Vec<u16> = parsed.type_bit_maps().map(u16::from).collect();
    assert_eq!(types, [rtype::RRSIG, rtype::NSEC, rtype::NXNAME]);

    // NODATA at www for TXT: the types that exist, never TXT.
    let mut existing = TypeSet::new();
    existing.insert(1);
    existing.insert(28);
    let www = owner("www");
    let nsec = denial::nsec_rdata(www.as_wire(), &denial::nodata_types(&existing, 16));
    let rec = record(www.as_wire(), rtype::NSEC, 30, nsec.as_slice());
    let RData::DNSSEC(DNSSECRData::NSEC(parsed)) = &rec.data else {
        panic!("{rec}");
    };
    let types: Vec<String> = parsed.type_bit_maps().map(|t| t.to_string()).collect();
    assert_eq!(types, ["A", "AAAA", "RRSIG", "NSEC"]);
}

// === the BIND and ldns tools ===

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn ds_matches_bind_and_ldns() {
    let Some([dsfromkey, key2ds]) = require_programs(&["dnssec-dsfromkey", "ldns-key2ds"])
        .map(|p| <[PathBuf; 2]>::try_from(p).unwrap())
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        for flags in [FLAGS_KSK, FLAGS_ZSK] {
            let key = ZoneKey::generate(&origin(), alg, flags, false, 0).unwrap();
            let base = format!("K{ORIGIN}+{:03}+{:05}", alg.number(), key.key_tag());
            let file = dir.path().join(format!("{base}.key"));
            std::fs::write(&file, format!("{}\n", key.dnskey_text())).unwrap();
            let ours = key.ds_text();
            // BIND: `<owner> IN DS <tag> <alg> 2 <HEX>`.
            let bind = run(Command::new(&dsfromkey).arg("-2").arg(&file));
            assert_eq!(
                bind.split_whitespace().collect::<Vec<_>>(),
                ours.split_whitespace().collect::<Vec<_>>(),
                "BIND"
            );
            // ldns: `<owner> <ttl> IN DS <tag> <alg> 2 <hex>` on stdout with -n; -f for
            // keys without the SEP flag too.
            let ldns = run(Command::new(&key2ds).args(["-n", "-f", "-2"]).arg(&file));
            let ldns: Vec<String> = ldns
                .split_whitespace()
                .map(str::to_ascii_uppercase)
                .collect();
            let want: Vec<String> = ours
                .split_whitespace()
                .map(str::to_ascii_uppercase)
                .collect();
            assert_eq!(ldns[0], want[0]);
            assert_eq!(ldns[2..], want[1..], "ldns");
        }
    }
}

/// Canonical order of names (RFC 4034 6.1): labels compared from the right, as lower-case
/// bytes.
fn canonical_cmp(a: &Name, b: &Name) -> std::cmp::Ordering {
    let la: Vec<&[u8]> = a.labels().collect();
    let lb: Vec<&[u8]> = b.labels().collect();
    la.iter().rev().cmp(lb.iter().rev())
}

fn rrsig_text(owner: &Name, ttl: u32, rd: &[u8]) -> String {
    use base64::Engine as _;
    let be32 = |at: usize| u32::from_be_bytes(rd[at..at + 4].try_into().unwrap());
    let covered = RecordType::from(u16::from_be_bytes([rd[0], rd[1]]));
    let mut signer_end = 18;
    while rd[signer_end] != 0 {
        signer_end += 1 + usize::from(rd[signer_end]);
    }
    let signer = record(&rd[18..=signer_end], 1, 0, &[0; 4]).name;
    format!(
        "{owner} {ttl} IN RRSIG {covered} {} {} {} {} {} {} {signer} {}",
        rd[2],
        rd[3],
        be32(4),
        be32(8),
        be32(12),
        u16::from_be_bytes([rd[16], rd[17]]),
        base64::engine::general_purpose::STANDARD.encode(&rd[signer_end + 1..])
    )
}

/// A record in zone-file format: hickory-proto's, except TXT, whose strings hickory prints
/// without quotes.
fn present(owner: &[u8], t: u16, ttl: u32, rd: &[u8]) -> String {
    let rec = record(owner, t, ttl, rd);
    if t != 16 {
        return rec.to_string();
    }
    let mut out = format!("{} {ttl} IN TXT", rec.name);
    let mut at = 0;
    while at < rd.len() {
        let len = usize::from(rd[at]);
        out.push_str(" \"");
        for &b in &rd[at + 1..at + 1 + len] {
            match b {
                b'"' | b'\\' => out.push_str(&format!("\\{}", char::from(b))),
                0x20..=0x7e => out.push(char::from(b)),
                _ => out.push_str(&format!("\\{b:03}")),
            }
        }
        out.push('"');
        at += 1 + len;
    }
    out
}

/// Writes the whole zone, signed, with a classic NSEC chain (built here: the server itself
/// only makes compact-denial NSECs), and returns its path.
fn write_signed_zone(dir: &Path, signer: &ZoneSigner) -> PathBuf {
    let mut text = String::new();
    let mut sets = rrsets();
    let apex = origin();
    sets.insert(
        (apex.as_wire().to_vec(), rtype::DNSKEY),
        (
            300,
            signer
                .keys()
                .iter()
                .map(|k| k.dnskey_rdata().to_vec())
                .collect(),
        ),
    );
    // Names and their types, for the chain.
    let mut names: BTreeMap<Vec<u8>, TypeSet> = BTreeMap::new();
    for (o, t) in sets.keys() {
        names.entry(o.clone()).or_default().insert(*t);
    }
    let mut ordered: Vec<Name> = names
        .keys()
        .map(|w| Name::parse_absolute(&record(w, 1, 0, &[0; 4]).name.to_string()).unwrap())
        .collect();
    ordered.sort_by(canonical_cmp);
    for (i, name) in ordered.iter().enumerate() {
        let next = &ordered[(i + 1) % ordered.len()];
        let mut types = names[name.as_wire()];
        types.insert(rtype::RRSIG);
        types.insert(rtype::NSEC);
        let mut rd = next.as_wire().to_vec();
        let mut bitmap = steerdns::dnssec::wire::RdataBuf::new();
        types.write_bitmap(&mut bitmap);
        rd.extend_from_slice(bitmap.as_slice());
        sets.insert((name.as_wire().to_vec(), rtype::NSEC), (30, vec![rd]));
    }
    for ((o, t), (ttl, rdatas)) in &sets {
        let set = Rrset {
            owner: o,
            rtype: *t,
            ttl: *ttl,
            rdatas,
        };
        let name = Name::parse_absolute(&record(o, 1, 0, &[0; 4]).name.to_string()).unwrap();
        for rd in rdatas {
            text.push_str(&present(o, *t, *ttl, rd));
            text.push('\n');
        }
        for rrsig in sigs(signer, &set, Pool::Stable) {
            text.push_str(&rrsig_text(&name, *ttl, &rrsig));
            text.push('\n');
        }
    }
    let path = dir.join("zone.signed");
    std::fs::write(&path, &text).unwrap();
    path
}

#[test]
fn signed_zone_verifies_with_ldns_and_bind() {
    let Some([ldns_verify, bind_verify]) = require_programs(&["ldns-verify-zone", "dnssec-verify"])
        .map(|p| <[PathBuf; 2]>::try_from(p).unwrap())
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for keys in [
        vec![key(Algorithm::EcdsaP256Sha256, FLAGS_KSK)],
        vec![
            key(Algorithm::Ed25519, FLAGS_KSK),
            key(Algorithm::Ed25519, FLAGS_ZSK),
        ],
    ] {
        let signer = signer_with(keys);
        let zone = write_signed_zone(dir.path(), &signer);
        let anchor = dir.path().join("anchor.ds");
        std::fs::write(&anchor, format!("{}\n", signer.keys()[0].ds_text())).unwrap();
        let out = run(Command::new(&ldns_verify).arg("-k").arg(&anchor).arg(&zone));
        assert!(out.contains("Zone is verified and complete"), "{out}");
        // -z: a lone CSK signs everything (BIND otherwise expects a ZSK).
        let mut args = vec!["-o", ORIGIN];
        if signer.keys().len() == 1 {
            args.push("-z");
        }
        let out = run(Command::new(&bind_verify).args(&args).arg(&zone));
        assert!(out.contains("Zone fully signed"), "{out}");

        // The same file with one signature byte changed fails both.
        let text = std::fs::read_to_string(&zone).unwrap();
        let line = text
            .lines()
            .find(|l| l.contains(" RRSIG A ") && l.starts_with("www."))
            .unwrap();
        let last = line.len() - 10;
        let flipped = if &line[last..last + 1] == "A" {
            "B"
        } else {
            "A"
        };
        let bad_line = format!("{}{flipped}{}", &line[..last], &line[last + 1..]);
        std::fs::write(&zone, text.replace(line, &bad_line)).unwrap();
        let out = Command::new(&ldns_verify)
            .arg("-k")
            .arg(&anchor)
            .arg(&zone)
            .output()
            .unwrap();
        assert!(!out.status.success(), "ldns accepted a corrupted signature");
        let out = Command::new(&bind_verify)
            .args(&args)
            .arg(&zone)
            .output()
            .unwrap();
        assert!(!out.status.success(), "BIND accepted a corrupted signature");
    }
}
