//! Response rate limiting for UDP, in the style of the RRL in BIND, NSD and Knot.
//!
//! Responses are counted per (client prefix, response kind) per second, where the kind is the
//! answer for a name (positive and NODATA answers by query name, NXDOMAIN by zone, errors
//! together). Past `responses_per_second`, responses are dropped, except that every `slip`-th
//! limited response is sent as an empty truncated reply (TC=1), so a real client behind a
//! spoofed flood retries over TCP and still gets its answer. TCP is never limited: its source
//! address cannot be spoofed.
//!
//! The table is a fixed array of atomic slots indexed by a hash of the key (no lock, no
//! allocation per query; bounded memory whatever the traffic). Two keys that share a slot are
//! counted together, which can only limit early, never let more through; with 2^18 slots that
//! is rare. The clock is passed in, so the logic is testable without waiting.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::model::RrlSettings;

/// Slots in the table (a power of two).
const SLOTS: usize = 1 << 18;

/// What to do with one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it.
    Send,
    /// Send an empty truncated reply instead.
    Slip,
    /// Send nothing.
    Drop,
}

/// The kind of a response, for keying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    /// An answer or NODATA for this wire name (any case).
    Name(&'a [u8]),
    /// NXDOMAIN in this zone (index).
    NxDomain(usize),
    /// REFUSED, FORMERR and other errors.
    Error,
}

/// The shared rate-limit table.
pub struct Rrl {
    /// Packed (second: high 32 bits, count: low 32 bits).
    slots: Box<[AtomicU64]>,
    /// Start of the seconds clock shared by every worker.
    epoch: tokio::time::Instant,
}

impl std::fmt::Debug for Rrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rrl")
            .field("slots", &self.slots.len())
            .finish()
    }
}

impl Default for Rrl {
    fn default() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            epoch: tokio::time::Instant::now(),
        }
    }
}

fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The hash of a (client prefix, kind) key.
fn key_hash(client: IpAddr, settings: &RrlSettings, kind: Kind<'_>) -> u64 {
    let (bits, len, v6) = match client {
        IpAddr::V4(a) => (
            u128::from(u32::from(a)),
            settings.ipv4_prefix.min(32),
            false,
        ),
        IpAddr::V6(a) => (u128::from(a), settings.ipv6_prefix.min(128), true),
    };
    let full = if v6 { 128 } else { 32 };
    let shift = u32::from(full - len);
    let prefix = if shift >= 128 { 0 } else { bits >> shift };
    let mut h =
        mix(prefix as u64 ^ 0x51_7cc1_b727_220a) ^ mix((prefix >> 64) as u64 ^ u64::from(v6));
    match kind {
        Kind::Name(name) => {
            let mut f: u64 = 0xcbf2_9ce4_8422_2325;
            for &b in name {
                // Case folded, so varying the case of a name does not dodge the limit.
                f = (f ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3);
            }
            h = mix(h ^ f ^ 1);
        }
        Kind::NxDomain(zone) => h = mix(h ^ (zone as u64) ^ (2 << 60)),
        Kind::Error => h = mix(h ^ (3 << 60)),
    }
    h
}

impl Rrl {
    /// Seconds since this table was made (the clock `check` expects from the server).
    pub fn now_secs(&self) -> u32 {
        self.epoch.elapsed().as_secs() as u32
    }

    /// Counts one response and decides its fate. `now_secs` is any monotonic seconds clock.
    pub fn check(
        &self,
        settings: &RrlSettings,
        client: IpAddr,
        kind: Kind<'_>,
        now_secs: u32,
    ) -> Verdict {
        if !settings.enabled || settings.exempt.iter().any(|n| n.contains(&client)) {
            return Verdict::Send;
        }
        let slot = &self.slots[(key_hash(client, settings, kind) as usize) & (SLOTS - 1)];
        let mut current = slot.load(Ordering::Relaxed);
        let count = loop {
            let (second, count) = ((current >> 32) as u32, current as u32);
            let next_count = if second == now_secs {
                count.saturating_add(1)
            } else {
                1
            };
            let next = (u64::from(now_secs) << 32) | u64::from(next_count);
            match slot.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break next_count,
                Err(seen) => current = seen,
            }
        };
        if count <= settings.responses_per_second {
            return Verdict::Send;
        }
        let over = count - settings.responses_per_second;
        if settings.slip > 0 && over.is_multiple_of(settings.slip) {
            Verdict::Slip
        } else {
            Verdict::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(rps: u32, slip: u32) -> RrlSettings {
        RrlSettings {
            enabled: true,
            responses_per_second: rps,
            slip,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            exempt: vec!["127.0.0.0/8".parse().unwrap()],
        }
    }

    #[test]
    fn limits_per_prefix_and_kind_with_slip() {
        let rrl = Rrl::default();
        let s = settings(5, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let same_prefix: IpAddr = "192.0.2.200".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        let name = Kind::Name(b"\x03www\x00");
        let verdicts: Vec<_> = (0..10)
            .map(|i| rrl.check(&s, if i % 2 == 0 { a } else { same_prefix }, name, 100))
            .collect();
        assert!(verdicts[..5].iter().all(|v| *v == Verdict::Send));
        assert_eq!(
            &verdicts[5..],
            &[
                Verdict::Drop,
                Verdict::Slip,
                Verdict::Drop,
                Verdict::Slip,
                Verdict::Drop
            ]
        );
        // Another prefix, another kind: own budgets.
        assert_eq!(rrl.check(&s, other, name, 100), Verdict::Send);
        assert_eq!(rrl.check(&s, a, Kind::NxDomain(0), 100), Verdict::Send);
        // Next second: budget again.
        assert_eq!(rrl.check(&s, a, name, 101), Verdict::Send);
        // Exempt and disabled.
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!((0..50).all(|_| rrl.check(&s, lo, name, 100) == Verdict::Send));
        let off = RrlSettings {
            enabled: false,
            ..settings(1, 2)
        };
        assert!((0..50).all(|_| rrl.check(&off, a, name, 100) == Verdict::Send));
        // slip 0: never slip.
        let s0 = settings(1, 0);
        let b: IpAddr = "203.0.113.9".parse().unwrap();
        let v: Vec<_> = (0..5).map(|_| rrl.check(&s0, b, Kind::Error, 7)).collect();
        assert_eq!(v[0], Verdict::Send);
        assert!(v[1..].iter().all(|x| *x == Verdict::Drop));
    }
}
