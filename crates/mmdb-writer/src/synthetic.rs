//! Synthetic country databases of any size, for steerdns's compiled-table tests and its
//! memory benchmark (a database the size of GeoLite2-Country without shipping one).
//!
//! The address space is cut by random binary splits (unbalanced, as allocations are) into
//! about the asked number of networks: IPv4 networks from /1 to /30, IPv6 ones inside
//! `2000::/3` from /4 to /64. Neighbours often share a country, as in real data, and about one
//! network in ten has no record. Deterministic for a seed.

use ipnet::IpNet;
use serde_json::json;

use crate::MmdbWriter;

/// (country, continent) pairs the records use.
const COUNTRIES: &[(&str, &str)] = &[
    ("GB", "EU"),
    ("DE", "EU"),
    ("FR", "EU"),
    ("NL", "EU"),
    ("PL", "EU"),
    ("RU", "EU"),
    ("US", "NA"),
    ("CA", "NA"),
    ("MX", "NA"),
    ("BR", "SA"),
    ("AR", "SA"),
    ("KR", "AS"),
    ("JP", "AS"),
    ("CN", "AS"),
    ("IN", "AS"),
    ("SG", "AS"),
    ("AU", "OC"),
    ("NZ", "OC"),
    ("ZA", "AF"),
    ("NG", "AF"),
];

/// Subdivision codes (attached to about one record in six when asked for).
const SUBDIVISIONS: &[&str] = &["ENG", "SCT", "CA", "NY", "BY"];

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// Random splits of (`start`, `len`) in a `width`-bit space into about `leaves` blocks of at
/// most `max_len` bits.
fn split(
    rng: &mut Rng,
    root: (u128, u8),
    width: u8,
    leaves: usize,
    max_len: u8,
) -> Vec<(u128, u8)> {
    let mut pending = vec![root];
    let mut done = Vec::new();
    while let Some((start, len)) = pending.pop() {
        let stop = len >= max_len
            || done.len() + pending.len() >= leaves
            || (len > root.1 + 6 && rng.below(8) == 0);
        if stop {
            done.push((start, len));
            continue;
        }
        let right = start | (1u128 << (width - 1 - len));
        if rng.below(2) == 0 {
            pending.push((right, len + 1));
            pending.push((start, len + 1));
        } else {
            pending.push((start, len + 1));
            pending.push((right, len + 1));
        }
    }
    done
}

/// A GeoIP2-schema IPv6 database (`database_type` `"GeoLite2-Country"`) with about `v4` IPv4
/// and `v6` IPv6 networks: `country`, `registered_country` and `continent` codes, and with
/// `subdivisions` a subdivision code on about one record in six. Returns the file and every
/// network that has a record.
pub fn synthetic_country(
    v4: usize,
    v6: usize,
    seed: u64,
    subdivisions: bool,
) -> (Vec<u8>, Vec<IpNet>) {
    let mut rng = Rng(seed | 1);
    let mut writer = match MmdbWriter::new("GeoLite2-Country", 6) {
        Ok(w) => w,
        Err(_) => return (Vec::new(), Vec::new()),
    };
    let mut networks = Vec::new();
    let mut country = 0usize;
    // (IPv6, root block, address width, networks, longest prefix)
    type Family = (bool, (u128, u8), u8, usize, u8);
    let families: [Family; 2] = [
        (false, (0, 0), 32, v4, 30),
        (true, (0x2000u128 << 112, 3), 128, v6, 64),
    ];
    for (is_v6, root, width, leaves, max_len) in families {
        for (start, len) in split(&mut rng, root, width, leaves, max_len) {
            if rng.below(4) == 0 {
                country = rng.below(COUNTRIES.len() as u64) as usize;
            }
            if rng.below(10) == 0 {
                continue;
            }
            let (cc, continent) = COUNTRIES[country];
            let addr = if is_v6 {
                std::net::IpAddr::V6(std::net::Ipv6Addr::from(start))
            } else {
                std::net::IpAddr::V4(std::net::Ipv4Addr::from(start as u32))
            };
            let Ok(network) = IpNet::new(addr, len) else {
                continue;
            };
            let mut record = json!({
                "continent": {"code": continent},
                "country": {"iso_code": cc},
                "registered_country": {"iso_code": cc},
            });
            if subdivisions && rng.below(6) == 0 {
                let sub = SUBDIVISIONS[rng.below(SUBDIVISIONS.len() as u64) as usize];
                record["subdivisions"] = json!([{ "iso_code": sub }]);
            }
            if writer.insert(network, record).is_ok() {
                networks.push(network);
            }
        }
    }
    (writer.to_bytes(), networks)
}
