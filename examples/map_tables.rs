//! Size and build time of the compiled map tables (`steer::table`) of a configuration: what
//! a load or reload adds for them, per distinct map.
//!
//! ```text
//! cargo run --release --example map_tables -- [steerdns.toml]
//! ```

use std::io::Write as _;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "steerdns.toml".into());
    let (config, geo) = steerdns::reload::load(Path::new(&path), 0)?;
    let started = std::time::Instant::now();
    let stats = steerdns::steer::table::compile_all(&config, geo.as_deref());
    let took = started.elapsed();
    let services: usize = config.zones.iter().map(|z| z.services.len()).sum();
    writeln!(
        std::io::stdout(),
        "{path}: {services} services, {} maps, {} distinct tables ({} bytes); GeoIP partition: \
         {} IPv4 + {} IPv6 ranges, {} classes, {:.2} MiB; built in {:.0} ms",
        stats.maps,
        stats.tables,
        stats.table_bytes,
        stats.partition_ranges.0,
        stats.partition_ranges.1,
        stats.partition_classes,
        stats.partition_bytes as f64 / (1 << 20) as f64,
        took.as_secs_f64() * 1000.0
    )?;
    Ok(())
}
