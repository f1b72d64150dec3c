//! Microbenchmarks of the query path (issue 6): `cargo bench --bench hotpath`.
//!
//! (a) `dns::wire::parse_query` on a typical query with EDNS and ECS;
//! (b) `steer::steer` for the example's `www` service (GeoIP facts computed beforehand, and
//!     with the GeoIP lookup included);
//! (c) the whole `dns::answer::answer` for a static A, a steered A with ECS, an NXDOMAIN,
//!     and answers whose names compress (apex NS with additional addresses, MX, SOA, a
//!     CNAME chain);
//! (d) `GeoDb::lookup` on the shipped database (one address, and 4096 addresses cycled);
//! (f) the steered answer over 4096 subnets again with a staged rollout of the canary
//!     (SPEC 4.2) at its 5% step: the canary's weight comes from the snapshot's live weight
//!     slot instead of its configuration, and must cost the same (issue 13).
//!
//! Everything is built from the repository's `steerdns.toml` (example zone, shipped GeoIP
//! database), exactly as `serve` builds it.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use steerdns::dns::answer::{QueryContext, Transport, answer};
use steerdns::dns::wire::parse_query;
use steerdns::geo::GeoDb;
use steerdns::steer::{ClientAddr, ClientSource, steer};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[path = "support/query.rs"]
mod support;
use support::query;

/// 4096 pseudo-random public IPv4 addresses (fixed seed).
fn addresses() -> Vec<IpAddr> {
    let mut x: u32 = 0x9e37_79b9;
    (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let mut o = x.to_be_bytes();
            o[0] = 1 + o[0] % 223;
            IpAddr::V4(Ipv4Addr::from(o))
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let snap = steerdns::reload::build(
        &Path::new(ROOT).join("steerdns.toml"),
        1_700_000_000,
        1,
        None,
    )
    .expect("build the example snapshot");
    // The map tables are compiled in the background; wait for them.
    steerdns::steer::table::compile_all(&snap.config, snap.geo.as_deref());

    // (a) parse_query
    let steered = query("www.gslb.example.test.", 1, Some(([81, 2, 69, 0], 24)));
    c.bench_function("parse_query/A+ECS", |b| {
        let mut qname = [0; 255];
        b.iter(|| black_box(parse_query(black_box(&steered), &mut qname).is_ok()))
    });

    // (b) steer for www
    let zone = &snap.config.zones[0];
    let www = zone
        .services
        .iter()
        .find(|s| s.key == "www")
        .expect("www service");
    let client = ClientAddr {
        addr: IpAddr::V4(Ipv4Addr::new(81, 2, 69, 0)),
        source_prefix: 24,
        source: ClientSource::Ecs,
    };
    let geo = snap.geo.as_ref().expect("example has a GeoIP database");
    let facts = geo.facts(client.addr);
    c.bench_function("steer/www (facts given)", |b| {
        b.iter(|| black_box(steer(www, &snap.health, black_box(&client), Some(&facts))))
    });
    c.bench_function("steer/www (with GeoIP facts)", |b| {
        b.iter(|| {
            let f = geo.facts(black_box(client.addr));
            black_box(steer(www, &snap.health, &client, Some(&f)))
        })
    });
    let addrs = addresses();
    let mut i = 0usize;
    c.bench_function("steer/www (GeoIP facts, 4096 clients)", |b| {
        b.iter(|| {
            i = (i + 1) & 4095;
            let cl = ClientAddr {
                addr: addrs[i],
                source_prefix: 24,
                source: ClientSource::Ecs,
            };
            let f = geo.facts(cl.addr);
            black_box(steer(www, &snap.health, &cl, Some(&f)))
        })
    });

    // (c) the whole answer
    let cx = QueryContext {
        source: IpAddr::V4(Ipv4Addr::LOCALHOST),
        transport: Transport::Udp,
        rotation: 0,
        now: 1_764_590_000,
    };
    let mut out = Vec::with_capacity(1232);
    for (label, pkt) in [
        (
            "answer/static A",
            query("static.gslb.example.test.", 1, None),
        ),
        ("answer/steered A+ECS", steered.clone()),
        (
            "answer/steered A no ECS",
            query("www.gslb.example.test.", 1, None),
        ),
        ("answer/NXDOMAIN", query("nope.gslb.example.test.", 1, None)),
        // Compression at work: NS and MX names in RDATA and additional owners, the SOA's
        // two names, a CNAME chain.
        ("answer/apex NS", query("gslb.example.test.", 2, None)),
        ("answer/apex MX", query("gslb.example.test.", 15, None)),
        ("answer/apex SOA", query("gslb.example.test.", 6, None)),
        (
            "answer/CNAME chain",
            query("alias.gslb.example.test.", 1, None),
        ),
    ] {
        // Sanity: it answers.
        out.clear();
        answer(&snap, &pkt, &cx, &mut out).expect("an answer");
        c.bench_function(label, |b| {
            b.iter(|| {
                out.clear();
                black_box(answer(&snap, black_box(&pkt), &cx, &mut out));
            })
        });
    }
    let pkts: Vec<Vec<u8>> = addresses()
        .iter()
        .map(|a| match a {
            IpAddr::V4(v) => query("www.gslb.example.test.", 1, Some((v.octets(), 24))),
            IpAddr::V6(_) => unreachable!(),
        })
        .collect();
    let mut j = 0usize;
    c.bench_function("answer/steered A+ECS (4096 subnets)", |b| {
        b.iter(|| {
            j = (j + 1) & 4095;
            out.clear();
            black_box(answer(&snap, black_box(&pkts[j]), &cx, &mut out));
        })
    });

    // (f) the same with a rollout of eu-canary at its 5% step (weight 5 against eu-west's
    // 95, as configured, so every answer is the same bytes).
    let rolled = rollout_snapshot();
    let mut a = Vec::with_capacity(1232);
    for pkt in &pkts {
        out.clear();
        a.clear();
        answer(&snap, pkt, &cx, &mut out).expect("an answer");
        answer(&rolled, pkt, &cx, &mut a).expect("an answer");
        assert_eq!(out, a, "a rollout at 5% answers as weight 5 does");
    }
    let mut j = 0usize;
    c.bench_function("answer/steered A+ECS (4096 subnets, rollout at 5%)", |b| {
        b.iter(|| {
            j = (j + 1) & 4095;
            out.clear();
            black_box(answer(&rolled, black_box(&pkts[j]), &cx, &mut out));
        })
    });

    // (d) GeoDb::lookup on the shipped database
    let db = GeoDb::open(&Path::new(ROOT).join("geoip/geo-whois-asn-country.mmdb"))
        .expect("shipped database");
    let uk = IpAddr::V4(Ipv4Addr::new(81, 2, 69, 160));
    c.bench_function("GeoDb::lookup (one address)", |b| {
        b.iter(|| black_box(db.lookup(black_box(uk))))
    });
    let mut k = 0usize;
    c.bench_function("GeoDb::lookup (4096 addresses)", |b| {
        b.iter(|| {
            k = (k + 1) & 4095;
            black_box(db.lookup(black_box(addrs[k])))
        })
    });
}

/// The example with `[service.www.rollout]` of eu-canary (1% 10m, 5% 1h, 25% 6h, 100%),
/// its live weight set to the 5% step as the runner would.
fn rollout_snapshot() -> steerdns::state::Snapshot {
    use steerdns::rollout::engine;
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Path::new(ROOT);
    std::fs::create_dir_all(dir.path().join("zones")).expect("zones");
    let main = std::fs::read_to_string(root.join("steerdns.toml"))
        .expect("steerdns.toml")
        .replace(
            "\"geoip/geo-whois-asn-country.mmdb\"",
            &format!("{:?}", root.join("geoip/geo-whois-asn-country.mmdb")),
        );
    std::fs::write(dir.path().join("steerdns.toml"), main).expect("write main");
    let zone = std::fs::read_to_string(root.join("zones/gslb.example.test.toml"))
        .expect("shipped zone")
        + "\n[service.www.rollout]\nregion = \"eu-canary\"\n\
           steps = [\"1% 10m\", \"5% 1h\", \"25% 6h\", \"100%\"]\n\
           [[service.www.rollout.gate]]\nkind = \"health\"\n";
    std::fs::write(dir.path().join("zones/gslb.example.test.toml"), zone).expect("write zone");
    let snap = steerdns::reload::build(&dir.path().join("steerdns.toml"), 1_700_000_000, 1, None)
        .expect("build the example with a rollout");
    let www = snap.config.zones[0]
        .services
        .iter()
        .find(|s| s.key == "www")
        .expect("www");
    let r = www.rollout.as_ref().expect("the rollout compiled");
    let p = engine::command(
        &r.spec,
        &engine::start(&r.spec, 0),
        engine::Action::Advance,
        0,
    )
    .expect("advance")
    .progress;
    snap.health.set_live_weight(
        r.slot,
        engine::live_weight(&r.spec, r.others, &p),
        engine::tag(&p),
    );
    snap
}

/// (e) DNSSEC: one signature per algorithm (the cost of a cache miss), and a cache hit.
fn signing(c: &mut Criterion) {
    use std::sync::Arc;

    use steerdns::dns::name::Name;
    use steerdns::dnssec::cache::SignatureCache;
    use steerdns::dnssec::key::{Algorithm, FLAGS_KSK, ZoneKey};
    use steerdns::dnssec::sign::{Rrset, Window, rrsig_rdata};

    let zone = Name::parse_absolute("gslb.example.test.").unwrap();
    let owner = Name::parse_absolute("www.gslb.example.test.").unwrap();
    let rdatas = [[127, 0, 0, 10], [127, 0, 0, 11]];
    let set = Rrset {
        owner: owner.as_wire(),
        rtype: 1,
        ttl: 30,
        rdatas: &rdatas,
    };
    let now = 1_764_590_000;
    for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        let key = Arc::new(ZoneKey::generate(&zone, alg, FLAGS_KSK, false, 0).unwrap());
        let window = Window::at(now, 7 * 86_400);
        c.bench_function(&format!("dnssec: sign an A RRset ({alg})"), |b| {
            b.iter(|| black_box(rrsig_rdata(&key, black_box(&set), window).unwrap()))
        });
        let cache = SignatureCache::new(1024);
        cache.get_or_sign(&key, &set, now, 7 * 86_400).unwrap();
        c.bench_function(&format!("dnssec: cached RRSIG lookup ({alg})"), |b| {
            b.iter(|| {
                black_box(
                    cache
                        .get_or_sign(&key, black_box(&set), now, 7 * 86_400)
                        .unwrap(),
                )
            })
        });
    }

    // (f) The whole answer with DO=1 from the example zone signed with one ECDSA CSK
    // (signatures cached: the first query of each signs), beside the same query without DO
    // in the same run, on the same signed snapshot.
    let mut snap = steerdns::reload::build(
        &Path::new(ROOT).join("steerdns.toml"),
        1_700_000_000,
        1,
        None,
    )
    .expect("build the example snapshot");
    steerdns::steer::table::compile_all(&snap.config, snap.geo.as_deref());
    let signed = &mut snap.config.zones[0];
    let key = Arc::new(
        ZoneKey::generate(
            &signed.origin,
            Algorithm::EcdsaP256Sha256,
            FLAGS_KSK,
            false,
            0,
        )
        .unwrap(),
    );
    signed.dnssec = Some(
        steerdns::dnssec::zone::ZoneSigner::new(&signed.origin, vec![key], 300, 7 * 86_400)
            .unwrap(),
    );
    let cx = QueryContext {
        source: IpAddr::V4(Ipv4Addr::LOCALHOST),
        transport: Transport::Udp,
        rotation: 0,
        now,
    };
    let mut out = Vec::with_capacity(1232);
    let steered = query("www.gslb.example.test.", 1, Some(([81, 2, 69, 0], 24)));
    for (label, pkt) in [
        ("answer/signed zone, steered A+ECS, no DO", steered.clone()),
        (
            "answer/signed zone, steered A+ECS, DO=1",
            with_do(steered.clone()),
        ),
        (
            "answer/signed zone, static A, DO=1",
            with_do(query("static.gslb.example.test.", 1, None)),
        ),
        (
            "answer/signed zone, NXDOMAIN, DO=1",
            with_do(query("nope.gslb.example.test.", 1, None)),
        ),
    ] {
        out.clear();
        answer(&snap, &pkt, &cx, &mut out).expect("an answer");
        // What is measured is what is meant: RRSIGs exactly when DO is set.
        assert_eq!(
            has_rrsig(&out),
            label.contains("DO=1"),
            "{label}: {out:02x?}"
        );
        c.bench_function(label, |b| {
            b.iter(|| {
                out.clear();
                black_box(answer(&snap, black_box(&pkt), &cx, &mut out));
            })
        });
    }
}

/// Whether a response holds an RRSIG record (type 46, class IN, after a compressed owner).
fn has_rrsig(resp: &[u8]) -> bool {
    resp.windows(6).any(|w| w == [0xc0, w[1], 0, 46, 0, 1])
}

/// The query with the DO bit set in its OPT record (which [`query`] writes last, with our
/// 1232-octet payload).
fn with_do(mut p: Vec<u8>) -> Vec<u8> {
    let opt = p
        .windows(5)
        .rposition(|w| w == [0, 0, 41, 0x04, 0xd0])
        .expect("an OPT record");
    // Root name, type, class, then the TTL: extended rcode, version, flags (DO first).
    p[opt + 7] |= 0x80;
    p
}

criterion_group! {
    name = hotpath;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(50);
    targets = benches, signing
}
criterion_main!(hotpath);
