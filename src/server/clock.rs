//! The clocks of the UDP worker loop, read once per batch and once per query.

use std::time::Duration;

use tokio::time::Instant;

/// The clocks of one batch of queries: the wall-clock second (DNS Cookies, DNSSEC validity)
/// read once when the batch arrives, and the monotonic clock read once then and once after
/// each query, whose end is the next one's start. Three clock reads per query become one.
#[derive(Debug)]
pub struct BatchClock {
    now_unix: u32,
    mark: Instant,
}

impl BatchClock {
    /// Reads both clocks (a batch has arrived).
    pub fn start() -> Self {
        Self {
            now_unix: crate::state::now_unix() as u32,
            mark: Instant::now(),
        }
    }

    /// Unix time in seconds (modulo 2^32) when the batch arrived.
    pub fn now_unix(&self) -> u32 {
        self.now_unix
    }

    /// When the current query began.
    pub fn started(&self) -> Instant {
        self.mark
    }

    /// Ends the current query: the time it took, and the next one starts now.
    pub fn lap(&mut self) -> Duration {
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(self.mark);
        self.mark = now;
        elapsed
    }
}
