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

/// Where the next sample goes. Every row is sampled at the same moments, so one clock serves
/// them all (a row that was idle or new simply holds zeros up to now).
#[derive(Debug, Clone, Copy, Default)]
struct Clock {
    /// The next per-second slot to write.
    sec_head: usize,
    /// The minute being filled.
    min_head: usize,
    /// Samples already added to the minute being filled.
    ticks_in_minute: usize,
}

/// The slots one sample writes.
#[derive(Debug, Clone, Copy)]
struct Tick {
    sec: usize,
    min: usize,
    /// The sample opens a new minute: its slot is cleared first.
    new_minute: bool,
}

impl Clock {
    /// Moves on by one sample and returns the slots that sample writes.
    fn advance(&mut self) -> Tick {
        let sec = self.sec_head;
        self.sec_head = (self.sec_head + 1) % SECONDS;
        let new_minute = self.ticks_in_minute == SECONDS;
        if new_minute {
            self.min_head = (self.min_head + 1) % MINUTES;
            self.ticks_in_minute = 0;
        }
        self.ticks_in_minute += 1;
        Tick {
            sec,
            min: self.min_head,
            new_minute,
        }
    }
}

/// The buckets of one row that had answers in the last hour: 480 bytes. Counts are u32 and
/// saturate (4.29e9 answers of one row in one minute is 71 million a second).
#[derive(Debug, Clone)]
struct Ring {
    seconds: [u32; SECONDS],
    minutes: [u32; MINUTES],
}

/// One row: the counter value at the last sample, and its buckets only while it has answers
/// in the window. A row without answers for an hour gives its buckets back, so the history
/// costs 16 bytes per idle row and about 500 per busy one (10k services with 3 regions each:
/// 0.6 MB idle, 17 MB if every row had answers in the last hour).
#[derive(Debug, Clone, Default)]
struct Row {
    prev: u64,
    ring: Option<Box<Ring>>,
}

impl Row {
    /// Takes one sample of the row's cumulative counter. A counter that went backwards (a row
    /// that was removed and came back in a reload) counts from 0.
    fn observe(&mut self, cumulative: u64, tick: Tick) {
        let delta = cumulative.checked_sub(self.prev).unwrap_or(cumulative);
        self.prev = cumulative;
        self.push(delta, tick);
    }

    /// Adds one second's answers at `tick`.
    fn push(&mut self, answers: u64, tick: Tick) {
        if self.ring.is_none() && answers == 0 {
            return;
        }
        let ring = self.ring.get_or_insert_with(|| {
            Box::new(Ring {
                seconds: [0; SECONDS],
                minutes: [0; MINUTES],
            })
        });
        let answers = u32::try_from(answers).unwrap_or(u32::MAX);
        ring.seconds[tick.sec] = answers;
        if tick.new_minute {
            ring.minutes[tick.min] = 0;
        }
        ring.minutes[tick.min] = ring.minutes[tick.min].saturating_add(answers);
        if tick.new_minute && ring.minutes.iter().all(|&m| m == 0) {
            // Nothing in the last hour (the seconds are inside it): the row is idle.
            self.ring = None;
        }
    }
}

/// One row's answers per second and per minute, as of the history's last sample.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    ring: Option<&'a Ring>,
    clock: Clock,
}

impl Series<'_> {
    /// Answers in the last 60 samples (the last minute).
    pub fn last_minute(&self) -> u64 {
        self.ring
            .map_or(0, |r| r.seconds.iter().map(|&n| u64::from(n)).sum())
    }

    /// Answers in the minute being filled and the 59 before it (about the last hour).
    pub fn last_hour(&self) -> u64 {
        self.ring
            .map_or(0, |r| r.minutes.iter().map(|&n| u64::from(n)).sum())
    }

    /// The per-second answers of the last minute, oldest first.
    pub fn per_second(&self) -> Vec<u64> {
        let Some(r) = self.ring else {
            return vec![0; SECONDS];
        };
        let (newer, older) = r.seconds.split_at(self.clock.sec_head);
        older.iter().chain(newer).map(|&n| u64::from(n)).collect()
    }

    /// The per-minute answers of the last hour, oldest first; the last one is the minute
    /// being filled.
    pub fn per_minute(&self) -> Vec<u64> {
        let Some(r) = self.ring else {
            return vec![0; MINUTES];
        };
        let (newer, older) = r.minutes.split_at(self.clock.min_head + 1);
        older.iter().chain(newer).map(|&n| u64::from(n)).collect()
    }
}

/// The rows of one service: row 0 answers with no region, row `i + 1` region `i`.
#[derive(Debug, Clone)]
pub struct ServiceSeries {
    /// Zone label.
    pub zone: String,
    /// Service key.
    pub service: String,
    /// Region names, row by row; `""` for row 0.
    regions: Vec<Box<str>>,
    rows: Vec<Row>,
}

/// The history of every steered row of the serving configuration.
#[derive(Debug, Default)]
pub struct ShareHistory {
    /// Generation the rows are laid out for (0: none yet).
    generation: u64,
    clock: Clock,
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
        // The old services by name, moved (not copied) into the new layout.
        let mut old: HashMap<(String, String), ServiceSeries> = std::mem::take(&mut self.zones)
            .into_iter()
            .flatten()
            .map(|s| ((s.zone.clone(), s.service.clone()), s))
            .collect();
        self.zones = cfg
            .zones
            .iter()
            .map(|zone| {
                let label = zone_label(&zone.origin);
                zone.services
                    .iter()
                    .map(|svc| {
                        let mut before = old.remove(&(label.clone(), svc.key.clone()));
                        let regions: Vec<Box<str>> = std::iter::once("")
                            .chain(svc.regions.iter().map(|r| r.name.as_str()))
                            .map(Box::from)
                            .collect();
                        let rows = regions
                            .iter()
                            .map(|region| {
                                before
                                    .as_mut()
                                    .and_then(|b| {
                                        let i = b.regions.iter().position(|r| r == region)?;
                                        Some(std::mem::take(&mut b.rows[i]))
                                    })
                                    .unwrap_or_default()
                            })
                            .collect();
                        ServiceSeries {
                            zone: label.clone(),
                            service: svc.key.clone(),
                            regions,
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
        let tick = self.clock.advance();
        for (zi, services) in self.zones.iter_mut().enumerate() {
            for (si, svc) in services.iter_mut().enumerate() {
                let totals = snap.counters.steered_totals(zi, si);
                for (row, total) in svc.rows.iter_mut().zip(totals) {
                    row.observe(total, tick);
                }
            }
        }
    }

    /// Row `row` (0: no region, `i + 1`: region `i`) of service `service` of zone `zone`
    /// (indices of the configuration it follows; call [`ShareHistory::follow`] with that
    /// configuration first).
    pub fn series(&self, zone: usize, service: usize, row: usize) -> Option<Series<'_>> {
        let row = self.zones.get(zone)?.get(service)?.rows.get(row)?;
        Some(Series {
            ring: row.ring.as_deref(),
            clock: self.clock,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row and its own clock.
    #[derive(Default)]
    struct One {
        clock: Clock,
        row: Row,
    }

    impl One {
        fn push(&mut self, n: u64) {
            let tick = self.clock.advance();
            self.row.push(n, tick);
        }

        fn observe(&mut self, cumulative: u64) {
            let tick = self.clock.advance();
            self.row.observe(cumulative, tick);
        }

        fn series(&self) -> Series<'_> {
            Series {
                ring: self.row.ring.as_deref(),
                clock: self.clock,
            }
        }
    }

    #[test]
    fn minute_window_holds_the_last_60_samples() {
        let mut s = One::default();
        for n in 1..=70 {
            s.push(n);
        }
        // The last 60 pushes are 11..=70.
        assert_eq!(s.series().last_minute(), (11..=70).sum::<u64>());
        let per_second = s.series().per_second();
        assert_eq!(per_second.len(), SECONDS);
        assert_eq!(per_second[0], 11);
        assert_eq!(per_second[59], 70);
    }

    #[test]
    fn minutes_roll_every_60_samples() {
        let mut s = One::default();
        for _ in 0..60 {
            s.push(1);
        }
        s.push(5);
        let per_minute = s.series().per_minute();
        assert_eq!(per_minute.len(), MINUTES);
        assert_eq!(
            &per_minute[58..],
            [60, 5],
            "a full minute, then the one filling"
        );
        assert_eq!(s.series().last_hour(), 65);
        // 3600 samples later: 59 more in the minute that had 5, then 59 full minutes of 120
        // and one sample of a new minute. The window holds that one and the 59 before it.
        for _ in 0..(60 * 60) {
            s.push(2);
        }
        assert_eq!(s.series().last_hour(), 59 * 120 + 2);
        assert_eq!(s.series().last_minute(), 120);
    }

    #[test]
    fn observe_takes_deltas_and_survives_a_reset_counter() {
        let mut s = One::default();
        s.observe(10);
        s.observe(25);
        s.observe(3); // a new counter after a reload
        assert_eq!(&s.series().per_second()[57..], [10, 15, 3]);
        assert_eq!(s.series().last_minute(), 28);
    }

    #[test]
    fn idle_rows_hold_no_buckets_and_give_them_back_after_an_hour() {
        let mut s = One::default();
        for _ in 0..500 {
            s.push(0);
        }
        assert!(
            s.row.ring.is_none(),
            "a row that never had answers keeps no buckets"
        );
        assert_eq!(s.series().per_second(), vec![0; SECONDS]);
        assert_eq!(s.series().per_minute(), vec![0; MINUTES]);
        // A row that wakes up mid-way starts from zeros at the shared clock's position.
        s.push(7);
        assert!(s.row.ring.is_some());
        assert_eq!(&s.series().per_second()[58..], [0, 7]);
        assert_eq!(s.series().last_hour(), 7);
        // Still counted for the rest of the hour, then idle again.
        for _ in 0..(59 * 60) {
            s.push(0);
        }
        assert_eq!(s.series().last_hour(), 7, "the 7 is inside the last hour");
        for _ in 0..(2 * 60) {
            s.push(0);
        }
        assert!(
            s.row.ring.is_none(),
            "an hour without answers gives the buckets back"
        );
        assert_eq!(s.series().last_hour(), 0);
    }

    #[test]
    fn counts_saturate_instead_of_wrapping() {
        let mut s = One::default();
        s.push(u64::MAX);
        s.push(u64::from(u32::MAX));
        assert_eq!(s.series().last_minute(), 2 * u64::from(u32::MAX));
        assert_eq!(s.series().last_hour(), u64::from(u32::MAX));
    }
}
