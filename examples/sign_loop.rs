//! Signs one A RRset over and over, for counting instructions per DNSSEC signature with
//! callgrind (the cost of a signature-cache miss; BENCHMARKS.md, "First build", where ring
//! replaced aws-lc-rs):
//!
//! ```text
//! cargo build --release --example sign_loop
//! valgrind --tool=callgrind --toggle-collect='*sign_loop::run*' \
//!     target/release/examples/sign_loop ALGORITHM COUNT
//! ```
//!
//! ALGORITHM is `ecdsa` (13, ECDSA P-256 SHA-256) or `ed25519` (15). Instructions per
//! signature: run COUNT = 200 and 400 and divide the difference of the collected totals by 200
//! (key generation and set-up cancel out). Without valgrind it prints the wall time per
//! signature, which on a shared machine says little.

use std::hint::black_box;

use steerdns::dns::name::Name;
use steerdns::dnssec::key::{Algorithm, FLAGS_KSK, ZoneKey};
use steerdns::dnssec::sign::{Rrset, Window, rrsig_rdata};

/// `count` RRSIGs over `set`; the bytes written, so nothing is optimised away.
#[inline(never)]
fn run(key: &ZoneKey, set: &Rrset<'_, [u8; 4]>, window: Window, count: usize) -> usize {
    let mut total = 0;
    for _ in 0..count {
        total += black_box(rrsig_rdata(key, black_box(set), window).expect("sign")).len();
    }
    total
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let algorithm = match args.get(1).map(String::as_str) {
        Some("ecdsa") => Algorithm::EcdsaP256Sha256,
        Some("ed25519") => Algorithm::Ed25519,
        _ => {
            eprintln!("usage: sign_loop ecdsa|ed25519 [COUNT]");
            std::process::exit(2);
        }
    };
    let count: usize = args.get(2).map_or(1000, |c| c.parse().expect("COUNT"));
    let zone = Name::parse_absolute("gslb.example.test.").expect("zone");
    let owner = Name::parse_absolute("www.gslb.example.test.").expect("owner");
    let rdatas = [[127, 0, 0, 10], [127, 0, 0, 11]];
    let set = Rrset {
        owner: owner.as_wire(),
        rtype: 1,
        ttl: 30,
        rdatas: &rdatas,
    };
    let key = ZoneKey::generate(&zone, algorithm, FLAGS_KSK, false, 0).expect("key");
    let window = Window::at(1_764_590_000, 7 * 86_400);
    let started = std::time::Instant::now();
    let bytes = run(&key, &set, window, count);
    let us = started.elapsed().as_secs_f64() * 1e6 / count.max(1) as f64;
    println!("{count} signatures ({algorithm}), {bytes} bytes of RRSIG RDATA, {us:.1} us each");
}
