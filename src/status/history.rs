//! Per-region answer-share history: how many steered answers each (zone, service, region) got
//! in each of the last 60 seconds and the last 60 minutes.
//!
//! ```text
//!  answer path: counters.count_steered (relaxed atomic add; nothing new here)
//!                    │ cumulative totals
//!                    ▼  once a second, background task
//!  ShareHistory::sample ─► Series per row: delta since the last sample
//!                    │         ├─ seconds ring (60 × 1 s)
//!                    │         └─ minutes ring (60 × 1 min, the newest one filling)
//!                    ▼
//!  /v1/status: answers and share over the last minute and hour, and the series for the chart
//! ```
//!
//! The history reads the counters the answer path already keeps ([`crate::counters`]), so
//! keeping it adds no work per query. It follows the configuration by name: after a reload the
//! rows of regions that still exist keep their history, new ones start empty, removed ones go.
//! Row 0 of every service counts answers with no region (fallback addresses and NODATA).

use std::collections::HashMap;

use crate::config::Config;
use crate::config::model::zone_label;
use crate::state::Snapshot;

/// Seconds in the short window (and per-second buckets kept).
pub const SECONDS: usize = 60;
/// Minutes in the long window (and per-minute buckets kept, the newest one filling).
pub const MINUTES: usize = 60;

/// Answers of one row per second and per minute.
#[derive(Debug, Clone)]
pub struct Series {
    /// Cumulative counter value at the last sample.
    prev: u64,
    /// Per-second answers; `sec_head` is the next slot to write.
    seconds: [u64; SECONDS],
    sec_head: usize,
    /// Per-minute answers; `min_head` is the minute being filled.
    minutes: [u64; MINUTES],
    min_head: usize,
    /// Samples already added to the minute being filled.
    ticks_in_minute: usize,
}

impl Default for Series {
    fn default() -> Self {
        Self {
            prev: 0,
            seconds: [0; SECONDS],
            sec_head: 0,
            minutes: [0; MINUTES],
            min_head: 0,
            ticks_in_minute: 0,
        }
    }
}

impl Series {
    /// Takes one sample of the row's cumulative counter (one call per second). A counter
    /// that went backwards (a row that was removed and came back in a reload) counts from 0.
    pub fn observe(&mut self, cumulative: u64) {
        let delta = cumulative.checked_sub(self.prev).unwrap_or(cumulative);
        self.prev = cumulative;
        self.push(delta);
    }

    /// Adds one second's answers.
    pub fn push(&mut self, answers: u64) {
        self.seconds[self.sec_head] = answers;
        self.sec_head = (self.sec_head + 1) % SECONDS;
        if self.ticks_in_minute == SECONDS {
            self.min_head = (self.min_head + 1) % MINUTES;
            self.minutes[self.min_head] = 0;
            self.ticks_in_minute = 0;
        }
        self.minutes[self.min_head] += answers;
        self.ticks_in_minute += 1;
    }

    /// Answers in the last 60 samples (the last minute).
    pub fn last_minute(&self) -> u64 {
        self.seconds.iter().sum()
    }

    /// Answers in the minute being filled and the 59 before it (about the last hour).
    pub fn last_hour(&self) -> u64 {
        self.minutes.iter().sum()
    }

    /// The per-second answers of the last minute, oldest first.
    pub fn per_second(&self) -> Vec<u64> {
        let (newer, older) = self.seconds.split_at(self.sec_head);
        older.iter().chain(newer).copied().collect()
    }

    /// The per-minute answers of the last hour, oldest first; the last one is the minute
    /// being filled.
    pub fn per_minute(&self) -> Vec<u64> {
        let (newer, older) = self.minutes.split_at(self.min_head + 1);
        older.iter().chain(newer).copied().collect()
    }
}

/// The rows of one service: row 0 answers with no region, row `i + 1` region `i`.
#[derive(Debug, Clone)]
pub struct ServiceSeries {
    /// Zone label.
    pub zone: String,
    /// Service key.
    pub service: String,
    /// (region name, series); region `""` for row 0.
    pub rows: Vec<(String, Series)>,
}

/// The history of every steered row of the serving configuration.
#[derive(Debug, Default)]
pub struct ShareHistory {
    /// Generation the rows are laid out for (0: none yet).
    generation: u64,
    /// `[zone][service]`, in config order.
    zones: Vec<Vec<ServiceSeries>>,
}

impl ShareHistory {
    /// Lays the rows out for `cfg` (generation `generation`), keeping the history of rows whose
    /// zone, service and region names are unchanged. Does nothing when already laid out for
    /// that generation.
    pub fn follow(&mut self, cfg: &Config, generation: u64) {
        if generation == self.generation && !self.zones.is_empty() {
            return;
        }
        let mut old: HashMap<(String, String, String), Series> = HashMap::new();
        for services in std::mem::take(&mut self.zones) {
            for s in services {
                for (region, series) in s.rows {
                    old.insert((s.zone.clone(), s.service.clone(), region), series);
                }
            }
        }
        self.zones = cfg
            .zones
            .iter()
            .map(|zone| {
                let label = zone_label(&zone.origin);
                zone.services
                    .iter()
                    .map(|svc| {
                        let regions =
                            std::iter::once("").chain(svc.regions.iter().map(|r| r.name.as_str()));
                        let rows = regions
                            .map(|region| {
                                let key = (label.clone(), svc.key.clone(), region.to_owned());
                                let series = old.remove(&key).unwrap_or_default();
                                (region.to_owned(), series)
                            })
                            .collect();
                        ServiceSeries {
                            zone: label.clone(),
                            service: svc.key.clone(),
                            rows,
                        }
                    })
                    .collect()
            })
            .collect();
        self.generation = generation;
    }

    /// Takes one sample (call once a second): follows the snapshot's configuration, then
    /// adds each row's answers since the last sample.
    pub fn sample(&mut self, snap: &Snapshot) {
        self.follow(&snap.config, snap.generation);
        for (zi, services) in self.zones.iter_mut().enumerate() {
            for (si, svc) in services.iter_mut().enumerate() {
                let totals = snap.counters.steered_totals(zi, si);
                for ((_, series), total) in svc.rows.iter_mut().zip(totals) {
                    series.observe(total);
                }
            }
        }
    }

    /// The rows of service `service` of zone `zone` (indices of the configuration it follows;
    /// call [`ShareHistory::follow`] with that configuration first).
    pub fn service(&self, zone: usize, service: usize) -> Option<&ServiceSeries> {
        self.zones.get(zone)?.get(service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minute_window_holds_the_last_60_samples() {
        let mut s = Series::default();
        for n in 1..=70 {
            s.push(n);
        }
        // The last 60 pushes are 11..=70.
        assert_eq!(s.last_minute(), (11..=70).sum::<u64>());
        let per_second = s.per_second();
        assert_eq!(per_second.len(), SECONDS);
        assert_eq!(per_second[0], 11);
        assert_eq!(per_second[59], 70);
    }

    #[test]
    fn minutes_roll_every_60_samples() {
        let mut s = Series::default();
        for _ in 0..60 {
            s.push(1);
        }
        s.push(5);
        let per_minute = s.per_minute();
        assert_eq!(per_minute.len(), MINUTES);
        assert_eq!(
            &per_minute[58..],
            [60, 5],
            "a full minute, then the one filling"
        );
        assert_eq!(s.last_hour(), 65);
        // 3600 samples later: 59 more in the minute that had 5, then 59 full minutes of 120
        // and one sample of a new minute. The window holds that one and the 59 before it.
        for _ in 0..(60 * 60) {
            s.push(2);
        }
        assert_eq!(s.last_hour(), 59 * 120 + 2);
        assert_eq!(s.last_minute(), 120);
    }

    #[test]
    fn observe_takes_deltas_and_survives_a_reset_counter() {
        let mut s = Series::default();
        s.observe(10);
        s.observe(25);
        s.observe(3); // a new counter after a reload
        assert_eq!(&s.per_second()[57..], [10, 15, 3]);
        assert_eq!(s.last_minute(), 28);
    }
}
