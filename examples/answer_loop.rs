//! Drives the answer function in a loop, for counting instructions per query with callgrind
//! (repeatable on a shared, noisy machine, unlike time):
//!
//! ```text
//! cargo build --release --example answer_loop
//! valgrind --tool=callgrind --toggle-collect='*answer_loop::run*' \
//!     target/release/examples/answer_loop MIX [COUNT] [steerdns.toml]
//! ```
//!
//! Instructions per query: run COUNT = 20,000 and 40,000 and divide the difference of the
//! collected totals by 20,000 (set-up and the 4,096-answer warm-up cancel out). Mixes, all over
//! UDP from 127.0.0.1 with EDNS, built from the shipped example exactly as `serve` builds it:
//! `static` (A of a static name), `nxdomain`, `steered` (A of `www` with one ECS /24),
//! `steered4096` (4096 ECS /24s cycled), `steered-random` (a new pseudo-random ECS /24
//! every query), and answers whose names compress: `ns` (apex NS with the servers'
//! addresses), `mx`, `soa` and `cname` (an in-zone CNAME chain to a static A).

use std::hint::black_box;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use steerdns::dns::answer::{QueryContext, Transport, answer};
use steerdns::state::Snapshot;

#[path = "../benches/support/query.rs"]
mod support;

/// An A query with EDNS (1232) and, when given, an ECS option.
fn query(name: &str, ecs: Option<([u8; 4], u8)>) -> Vec<u8> {
    support::query(name, 1, ecs)
}

/// xorshift32: a public-looking IPv4 /24 per step.
fn next_subnet(x: &mut u32) -> [u8; 4] {
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    let mut o = x.to_be_bytes();
    o[0] = 1 + o[0] % 223;
    o[3] = 0;
    o
}

/// The counted loop: `count` answers, cycling through `packets` (or, with `random`, a fresh
/// ECS subnet patched into the one packet every query). Returns the answered bytes.
#[inline(never)]
fn run(snap: &Snapshot, packets: &mut [Vec<u8>], count: usize, random: bool) -> usize {
    let cx = QueryContext {
        source: IpAddr::V4(Ipv4Addr::LOCALHOST),
        transport: Transport::Udp,
        rotation: 0,
        now: 1_764_590_000,
    };
    let mut out = Vec::with_capacity(1232);
    let mut bytes = 0;
    let mut x: u32 = 0x9e37_79b9;
    for i in 0..count {
        let pkt = if random {
            let p = &mut packets[0];
            let at = p.len() - 3;
            p[at..].copy_from_slice(&next_subnet(&mut x)[..3]);
            &packets[0]
        } else {
            &packets[i % packets.len()]
        };
        out.clear();
        if answer(snap, black_box(pkt), &cx, &mut out).is_some() {
            bytes += out.len();
        }
    }
    bytes
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let mix = args.get(1).map_or("steered", String::as_str);
    let count: usize = args.get(2).map_or(Ok(200_000), |s| s.parse())?;
    let config = args.get(3).map_or("steerdns.toml", String::as_str);
    let snap = steerdns::reload::build(Path::new(config), 1_700_000_000, 1, None)?;
    // The map tables are compiled in the background; wait for them (the counted loop
    // measures the table path, not the per-query path that serves until they are ready).
    steerdns::steer::table::compile_all(&snap.config, snap.geo.as_deref());
    let www = "www.gslb.example.test.";
    let mut packets = match mix {
        "static" => vec![query("static.gslb.example.test.", None)],
        "nxdomain" => vec![query("nope.gslb.example.test.", None)],
        "steered" => vec![query(www, Some(([81, 2, 69, 0], 24)))],
        "ns" => vec![support::query("gslb.example.test.", 2, None)],
        "mx" => vec![support::query("gslb.example.test.", 15, None)],
        "soa" => vec![support::query("gslb.example.test.", 6, None)],
        "cname" => vec![query("alias.gslb.example.test.", None)],
        "steered4096" | "steered-random" => {
            let mut x: u32 = 0x1234_5678;
            (0..4096)
                .map(|_| query(www, Some((next_subnet(&mut x), 24))))
                .collect()
        }
        other => return Err(format!("unknown mix {other}").into()),
    };
    // Sanity: the mix gets the answer it is named for (rcode, answer count).
    let cx = QueryContext {
        source: IpAddr::V4(Ipv4Addr::LOCALHOST),
        transport: Transport::Udp,
        rotation: 0,
        now: 1_764_590_000,
    };
    let mut out = Vec::new();
    answer(&snap, &packets[0], &cx, &mut out).ok_or("no answer")?;
    let (rcode, ancount) = (out[3] & 0x0f, u16::from_be_bytes([out[6], out[7]]));
    let want_rcode = if mix == "nxdomain" { 3 } else { 0 };
    if rcode != want_rcode || (ancount == 0) != (mix == "nxdomain") {
        return Err(format!("{mix}: rcode {rcode}, {ancount} answers").into());
    }
    // Warm-up outside the counted loop (first-use initialisation, caches of the old path).
    run(&snap, &mut packets, 4096, false);
    let bytes = run(&snap, &mut packets, count, mix == "steered-random");
    writeln!(std::io::stdout(), "{mix}: {count} answers, {bytes} bytes")?;
    Ok(())
}
