//! The clocks of the UDP worker loop, read once per batch and once per query.
//!
//! Query times are kept as raw nanoseconds of the monotonic clock (`CLOCK_MONOTONIC`, the
//! clock `std` and tokio's `Instant` read on Linux): one `clock_gettime` and one integer
//! subtraction per query. Response rate limiting counts its seconds on the same clock
//! ([`super::rrl::Rrl::secs_at`]), so it takes the query's start as it is.

use std::time::Duration;

/// The clocks of one batch of queries: the wall-clock second (DNS Cookies, DNSSEC validity)
/// read once when the batch arrives, and the monotonic clock read once then and once after
/// each query, whose end is the next one's start. Three clock reads per query become one.
#[derive(Debug)]
pub struct BatchClock {
    now_unix: u32,
    /// Start of the current query, in monotonic nanoseconds.
    mark: u64,
}

impl BatchClock {
    /// Reads both clocks (a batch has arrived).
    pub fn start() -> Self {
        Self {
            now_unix: wall_secs() as u32,
            mark: monotonic_ns(),
        }
    }

    /// Unix time in seconds (modulo 2^32) when the batch arrived.
    pub fn now_unix(&self) -> u32 {
        self.now_unix
    }

    /// When the current query began, in monotonic nanoseconds ([`monotonic_ns`]).
    pub fn started_ns(&self) -> u64 {
        self.mark
    }

    /// Ends the current query: the time it took, and the next one starts now.
    pub fn lap(&mut self) -> Duration {
        let now = monotonic_ns();
        let elapsed = now.saturating_sub(self.mark);
        self.mark = now;
        Duration::from_nanos(elapsed)
    }
}

/// The monotonic clock in nanoseconds (`CLOCK_MONOTONIC`; it never goes back).
#[cfg(unix)]
pub fn monotonic_ns() -> u64 {
    let ts = read_clock(libc::CLOCK_MONOTONIC);
    timespec_ns(ts.tv_sec, ts.tv_nsec)
}

/// Unix time in whole seconds, as [`crate::state::now_unix`] gives it (0 before 1970), read
/// with one `clock_gettime(CLOCK_REALTIME)` and no conversion through `SystemTime`.
#[cfg(unix)]
fn wall_secs() -> u64 {
    u64::try_from(read_clock(libc::CLOCK_REALTIME).tv_sec).unwrap_or(0)
}

/// Elsewhere: [`crate::state::now_unix`].
#[cfg(not(unix))]
fn wall_secs() -> u64 {
    crate::state::now_unix()
}

/// One `clock_gettime` of `clock`.
#[cfg(unix)]
fn read_clock(clock: libc::clockid_t) -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call, and both
    // clocks used here are clocks every supported kernel has (the call only fails for a bad
    // clock id or pointer, and then leaves `ts` at zero).
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts
}

/// Elsewhere: nanoseconds since the first reading in this process.
#[cfg(not(unix))]
pub fn monotonic_ns() -> u64 {
    static BASE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(std::time::Instant::now);
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Seconds and nanoseconds of a monotonic `timespec` as nanoseconds. The monotonic clock
/// counts from boot (or another fixed point) and never goes negative, and 2^64 ns is 584
/// years, so plain wrapping arithmetic is exact here and needs no overflow checks per query.
#[cfg(unix)]
fn timespec_ns(secs: libc::time_t, nanos: libc::c_long) -> u64 {
    (secs as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(nanos as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn timespecs_become_nanoseconds() {
        assert_eq!(timespec_ns(0, 0), 0);
        assert_eq!(timespec_ns(3, 999_999_999), 3_999_999_999);
        assert_eq!(
            timespec_ns(86_400 * 365 * 100, 1),
            3_153_600_000_000_000_001
        );
    }

    #[test]
    fn laps_follow_each_other_and_started_moves_by_each_lap() {
        let before = monotonic_ns();
        let mut clock = BatchClock::start();
        let first = clock.started_ns();
        let mut start = first;
        let mut total = Duration::ZERO;
        for _ in 0..1000 {
            let lap = clock.lap();
            total += lap;
            // The next query starts where this one ended, to the nanosecond.
            let next = clock.started_ns();
            assert_eq!(Duration::from_nanos(next - start), lap);
            start = next;
        }
        let after = monotonic_ns();
        assert!(
            total <= Duration::from_nanos(after - before),
            "never more than elapsed"
        );
        assert!(start <= monotonic_ns(), "no query starts in the future");
        assert_eq!(Duration::from_nanos(start - first), total);
    }

    #[test]
    fn wall_seconds_are_the_unix_time() {
        // Read between two readings of the reference (equal unless a second ends between).
        let before = crate::state::now_unix();
        let secs = wall_secs();
        let after = crate::state::now_unix();
        assert!(
            before <= secs && secs <= after,
            "{before} <= {secs} <= {after}"
        );
    }

    #[test]
    fn the_monotonic_clock_never_goes_back() {
        let mut last = monotonic_ns();
        assert!(last > 0);
        for _ in 0..1000 {
            let now = monotonic_ns();
            assert!(now >= last);
            last = now;
        }
    }
}
