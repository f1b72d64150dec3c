//! Writes a synthetic GeoLite2-Country-sized database (for the memory benchmark in
//! `benches/load/run.sh`):
//!
//! ```text
//! cargo run --release -p steerdns-mmdb-writer --example synthetic_country -- OUT.mmdb [v4] [v6]
//! ```
//!
//! Defaults: 260,000 IPv4 and 140,000 IPv6 networks (about GeoLite2-Country's 400k).

use std::io::Write as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = args
        .get(1)
        .ok_or("usage: synthetic_country OUT.mmdb [v4] [v6]")?;
    let v4: usize = args
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(260_000);
    let v6: usize = args
        .get(3)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(140_000);
    let (bytes, networks) = steerdns_mmdb_writer::synthetic_country(v4, v6, 0x6e0_117e, false);
    std::fs::write(out, &bytes)?;
    writeln!(
        std::io::stdout(),
        "{out}: {} networks with data, {} bytes",
        networks.len(),
        bytes.len()
    )?;
    Ok(())
}
