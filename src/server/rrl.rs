//! Response rate limiting for UDP, in the style of the RRL in BIND, NSD and Knot.
//!
//! Responses are counted per (client prefix, response kind) per second, where the kind is the
//! answer for a name (positive and NODATA answers by query name, NXDOMAIN by zone, errors
//! together). Steered answers to queries with ECS are told apart by their ECS prefix too
//! (SPEC 2 `[rrl]`): a large resolver asks one popular name for thousands of client subnets,
//! each a different answer, and must not be limited as if it repeated one. A ceiling of ten
//! times the rate per (client prefix, name) over all ECS prefixes still holds, so spoofed
//! ECS options cannot multiply what one victim prefix receives by more than ten.
//! Past `responses_per_second`, responses are dropped, except that every `slip`-th
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

use crate::config::model::{RrlSettings, ZoneId};
use crate::dns::wire::ClientSubnet;

/// The ceiling over all ECS prefixes of one (client prefix, name), in multiples of the rate.
pub const ECS_CEILING: u32 = 10;

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
    /// A steered answer or NODATA for this wire name to a query with this ECS option (source
    /// prefix above 0): counted per ECS prefix (cut to the client prefix length), and against
    /// a ceiling of ten times the rate over all ECS prefixes.
    Steered(&'a [u8], ClientSubnet),
    /// NXDOMAIN in this zone.
    NxDomain(ZoneId),
    /// REFUSED, FORMERR and other errors.
    Error,
}

/// The shared rate-limit table.
pub struct Rrl {
    /// Packed (second: high 32 bits, count: low 32 bits).
    slots: Box<[AtomicU64]>,
    /// Start of the seconds clock shared by every worker, in monotonic nanoseconds (the
    /// clock of [`super::clock`]).
    epoch: u64,
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
            epoch: super::clock::monotonic_ns(),
        }
    }
}

fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// `addr` cut to the configured client prefix length: (bits, v6).
fn prefix_bits(addr: IpAddr, settings: &RrlSettings, at_most: u8) -> (u128, bool) {
    let (bits, len, full, v6) = match addr {
        IpAddr::V4(a) => (u128::from(u32::from(a)), settings.ipv4_prefix, 32, false),
        IpAddr::V6(a) => (u128::from(a), settings.ipv6_prefix, 128, true),
    };
    let shift = u32::from(full - len.min(at_most).min(full));
    let prefix = if shift >= 128 { 0 } else { bits >> shift };
    (prefix, v6)
}

/// Folds an address prefix into a hash.
fn mix_prefix(h: u64, (prefix, v6): (u128, bool)) -> u64 {
    mix(h ^ mix(prefix as u64 ^ 0x51_7cc1_b727_220a) ^ mix((prefix >> 64) as u64 ^ u64::from(v6)))
}

/// FNV-1a of a wire name, case folded, so varying the case of a name does not dodge the
/// limit.
fn name_hash(name: &[u8]) -> u64 {
    let mut f: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name {
        f = (f ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3);
    }
    f
}

/// The hashes of the slots a response counts against: its (client prefix, kind) slot, and
/// for a steered answer with ECS the slot of the name over all ECS prefixes (the ceiling).
fn key_hashes(client: IpAddr, settings: &RrlSettings, kind: Kind<'_>) -> (u64, Option<u64>) {
    let h = mix_prefix(0, prefix_bits(client, settings, 128));
    match kind {
        Kind::Name(name) => (mix(h ^ name_hash(name) ^ 1), None),
        Kind::Steered(name, ecs) => {
            let all = mix(h ^ name_hash(name) ^ (4 << 60));
            // The ECS prefix, no longer than the client prefix RRL counts by (an ECS /32 is
            // counted with its /24), and its length, so a /16 and its first /24 are apart.
            let max = match ecs.addr {
                IpAddr::V4(_) => settings.ipv4_prefix,
                IpAddr::V6(_) => settings.ipv6_prefix,
            };
            let cut = ecs.source_prefix.min(max);
            let one = mix_prefix(all ^ u64::from(cut), prefix_bits(ecs.addr, settings, cut));
            (one, Some(all))
        }
        Kind::NxDomain(zone) => (mix(h ^ u64::from(zone.0) ^ (2 << 60)), None),
        Kind::Error => (mix(h ^ (3 << 60)), None),
    }
}

impl Rrl {
    /// Seconds since this table was made, at monotonic reading `at_ns` (a clock reading the
    /// server already has): the clock `check` expects.
    pub fn secs_at(&self, at_ns: u64) -> u32 {
        (at_ns.saturating_sub(self.epoch) / 1_000_000_000) as u32
    }

    /// Counts one response in the slot of `hash` for second `now_secs`; returns the count so
    /// far in that second.
    fn count(&self, hash: u64, now_secs: u32) -> u32 {
        let slot = &self.slots[(hash as usize) & (SLOTS - 1)];
        let mut current = slot.load(Ordering::Relaxed);
        loop {
            let (second, count) = ((current >> 32) as u32, current as u32);
            let next_count = if second == now_secs {
                count.saturating_add(1)
            } else {
                1
            };
            let next = (u64::from(now_secs) << 32) | u64::from(next_count);
            match slot.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return next_count,
                Err(seen) => current = seen,
            }
        }
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
        let rate = settings.responses_per_second;
        let (one, all) = key_hashes(client, settings, kind);
        let over_one = self.count(one, now_secs).saturating_sub(rate);
        let over_all = all.map_or(0, |all| {
            self.count(all, now_secs)
                .saturating_sub(rate.saturating_mul(ECS_CEILING))
        });
        let over = over_one.max(over_all);
        if over == 0 {
            return Verdict::Send;
        }
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
        assert_eq!(
            rrl.check(&s, a, Kind::NxDomain(ZoneId(0)), 100),
            Verdict::Send
        );
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

    #[test]
    fn steered_answers_are_told_apart_by_ecs_prefix_under_a_ceiling() {
        let rrl = Rrl::default();
        let s = settings(20, 2);
        let resolver: IpAddr = "192.0.2.53".parse().unwrap();
        let name = b"\x03www\x00";
        let ecs = |i: u32, prefix: u8| ClientSubnet {
            addr: IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 | (i << 8))),
            source_prefix: prefix,
        };
        let sent = |v: &[Verdict]| v.iter().filter(|v| **v == Verdict::Send).count();
        // A resolver asking one name for 60 client subnets, once each: nothing is limited
        // (issue 12 saw 49 of 60 limited at 20/s).
        let v: Vec<_> = (0..60)
            .map(|i| rrl.check(&s, resolver, Kind::Steered(name, ecs(i, 24)), 100))
            .collect();
        assert_eq!(sent(&v), 60);
        // The same without ECS: one kind, limited after 20.
        let v: Vec<_> = (0..60)
            .map(|_| rrl.check(&s, resolver, Kind::Name(name), 100))
            .collect();
        assert_eq!(sent(&v), 20);
        // One ECS prefix repeated has the rate; an ECS /32 counts with its /24; a /16 is
        // another prefix.
        let v: Vec<_> = (0..15)
            .map(|_| rrl.check(&s, resolver, Kind::Steered(name, ecs(7, 24)), 101))
            .chain((0..15).map(|i| {
                let mut host = ecs(7, 32);
                host.addr = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0700 | i));
                rrl.check(&s, resolver, Kind::Steered(name, host), 101)
            }))
            .collect();
        assert_eq!(sent(&v), 20);
        assert_eq!(v[20..], [Verdict::Drop, Verdict::Slip].repeat(5)[..]);
        assert_eq!(
            rrl.check(&s, resolver, Kind::Steered(name, ecs(0, 16)), 101),
            Verdict::Send
        );
        // The ceiling: ten times the rate over all ECS prefixes of one client prefix and name.
        let v: Vec<_> = (0..300)
            .map(|i| rrl.check(&s, resolver, Kind::Steered(name, ecs(1000 + i, 24)), 102))
            .collect();
        assert_eq!(sent(&v), 200);
        // ... which another name, another client prefix and the next second do not share.
        let other: IpAddr = "198.51.100.53".parse().unwrap();
        for (client, n, second) in [
            (resolver, &b"\x03api\x00"[..], 102),
            (other, &name[..], 102),
            (resolver, &name[..], 103),
        ] {
            let v: Vec<_> = (0..50)
                .map(|i| rrl.check(&s, client, Kind::Steered(n, ecs(5000 + i, 24)), second))
                .collect();
            assert_eq!(sent(&v), 50);
        }
    }
}
