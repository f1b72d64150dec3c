//! [`HealthTable`]: the answer path's lock-free view of endpoint health.
//!
//! One table belongs to one config generation and hangs off that generation's snapshot, so the
//! [`SlotId`]s the compiled config hands out and the slots here always match (STYLE §8.1).
//! Checker tasks write slots; queries read them with one atomic load each, no locks.
//!
//! Each slot holds two verdicts: the *local* one (this instance's rise/fall machine, with the
//! time it last changed, served at `/v1/health`) and the *answered* one (what queries use).
//! Without `[peers]` they are the same: [`HealthTable::set_local`] writes both. With `[peers]`
//! the table is built [`HealthTable::agreeing`]: the runner writes only the local verdict, and
//! the agreement (`crate::peers`) writes the answered one from every observer's verdicts.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use super::state::Status;

/// Index of a live weight in a [`HealthTable`]: one per staged rollout (SPEC 4.2), the weight
/// its canary region answers with now. Only meaningful for the table of the generation that
/// handed it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WeightSlot(pub u32);

/// One live weight: the weight (f64 bits) and an opaque word its writer reads back (the
/// rollout's step and phase), written together by the rollout runner, read by queries.
#[derive(Debug)]
struct LiveWeight {
    weight: AtomicU64,
    tag: AtomicU64,
}

/// Index of one checked endpoint's slot in a [`HealthTable`]. Only meaningful for the table of
/// the generation that handed it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotId(pub u32);

const UP: u8 = 1;
const DOWN: u8 = 0;

fn encode(status: Status) -> u8 {
    match status {
        Status::Up => UP,
        Status::Down => DOWN,
    }
}

fn decode(raw: u8) -> Status {
    if raw == DOWN {
        Status::Down
    } else {
        Status::Up
    }
}

/// One [`Status`] per checked endpoint, written by checker tasks and read without locks.
///
/// Writes use `Release` and reads `Acquire`, so a flip written by a checker is seen by the next
/// query that loads the slot. A slot id outside the table reads as [`Status::Up`] and writes to
/// it are ignored: ids come from the same snapshot, so that only happens through a bug, and
/// failing open beats panicking on the query path.
#[derive(Debug)]
pub struct HealthTable {
    /// The answered verdict of each slot.
    slots: Box<[AtomicU8]>,
    /// This instance's own verdict of each slot.
    local: Box<[AtomicU8]>,
    /// When the local verdict last changed (or was set at start), seconds since the epoch.
    since: Box<[AtomicU64]>,
    /// Answered verdicts are written by the agreement, not by [`HealthTable::set_local`].
    agreeing: bool,
    /// Live weights of rollout canaries, read by `steer` in place of the configured weight.
    live: Box<[LiveWeight]>,
}

impl HealthTable {
    /// A table of `n` slots, all up (SPEC §4: an endpoint starts up).
    pub fn new(n: usize) -> Self {
        Self::new_with(&vec![Status::Up; n])
    }

    /// A table whose slot `i` starts as `states[i]` (local and answered).
    pub fn new_with(states: &[Status]) -> Self {
        Self {
            slots: states.iter().map(|&s| AtomicU8::new(encode(s))).collect(),
            local: states.iter().map(|&s| AtomicU8::new(encode(s))).collect(),
            since: states.iter().map(|_| AtomicU64::new(0)).collect(),
            agreeing: false,
            live: Box::new([]),
        }
    }

    /// The same table with live weights, slot `i` starting as `initial[i]` (weight, tag).
    pub fn with_live_weights(mut self, initial: &[(f64, u64)]) -> Self {
        self.live = initial
            .iter()
            .map(|&(w, t)| LiveWeight {
                weight: AtomicU64::new(w.to_bits()),
                tag: AtomicU64::new(t),
            })
            .collect();
        self
    }

    /// The live weight in `slot`; `None` for an id outside the table.
    #[inline]
    pub fn live_weight(&self, slot: WeightSlot) -> Option<f64> {
        self.live
            .get(slot.0 as usize)
            .map(|l| f64::from_bits(l.weight.load(Ordering::Acquire)))
    }

    /// The word written with the live weight in `slot` (0 outside the table).
    pub fn live_tag(&self, slot: WeightSlot) -> u64 {
        self.live
            .get(slot.0 as usize)
            .map_or(0, |l| l.tag.load(Ordering::Acquire))
    }

    /// Stores a live weight and its word; ignored for an id outside the table.
    pub fn set_live_weight(&self, slot: WeightSlot, weight: f64, tag: u64) {
        if let Some(l) = self.live.get(slot.0 as usize) {
            l.tag.store(tag, Ordering::Release);
            l.weight.store(weight.to_bits(), Ordering::Release);
        }
    }

    /// The same table, with answered verdicts written by the agreement when `on` (`[peers]`).
    pub fn agreeing(mut self, on: bool) -> Self {
        self.agreeing = on;
        self
    }

    /// Whether answered verdicts come from the agreement rather than straight from the runner.
    pub fn by_agreement(&self) -> bool {
        self.agreeing
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when the table has no slot (no endpoint has a check).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Current status of `slot`; [`Status::Up`] for an id outside the table.
    pub fn get(&self, slot: SlotId) -> Status {
        match self.slots.get(slot.0 as usize) {
            Some(a) => decode(a.load(Ordering::Acquire)),
            None => Status::Up,
        }
    }

    /// Store `status` in `slot`; ignored for an id outside the table.
    pub fn set(&self, slot: SlotId, status: Status) {
        if let Some(a) = self.slots.get(slot.0 as usize) {
            a.store(encode(status), Ordering::Release);
        }
    }

    /// This instance's own verdict of `slot`; [`Status::Up`] for an id outside the table.
    pub fn local(&self, slot: SlotId) -> Status {
        match self.local.get(slot.0 as usize) {
            Some(a) => decode(a.load(Ordering::Acquire)),
            None => Status::Up,
        }
    }

    /// Store this instance's own verdict of `slot`; also the answered one unless the table is
    /// [`HealthTable::agreeing`]. Ignored for an id outside the table.
    pub fn set_local(&self, slot: SlotId, status: Status) {
        if let Some(a) = self.local.get(slot.0 as usize) {
            a.store(encode(status), Ordering::Release);
        }
        if !self.agreeing {
            self.set(slot, status);
        }
    }

    /// When the local verdict of `slot` last changed, seconds since the epoch (0: unknown).
    pub fn since(&self, slot: SlotId) -> u64 {
        self.since
            .get(slot.0 as usize)
            .map_or(0, |a| a.load(Ordering::Relaxed))
    }

    /// Records when the local verdict of `slot` changed.
    pub fn set_since(&self, slot: SlotId, unix: u64) {
        if let Some(a) = self.since.get(slot.0 as usize) {
            a.store(unix, Ordering::Relaxed);
        }
    }

    /// How many of `slots` are up. The caller compares this with a region's `min_up`.
    pub fn count_up(&self, slots: &[SlotId]) -> usize {
        slots.iter().filter(|&&s| self.get(s) == Status::Up).count()
    }

    /// A copy of every slot's status, for `explain`, metrics and tests.
    pub fn to_vec(&self) -> Vec<Status> {
        self.slots
            .iter()
            .map(|a| decode(a.load(Ordering::Acquire)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_table_is_all_up() {
        let t = HealthTable::new(3);
        assert_eq!(t.len(), 3);
        assert_eq!(t.to_vec(), vec![Status::Up; 3]);
        assert!(HealthTable::new(0).is_empty());
    }

    #[test]
    fn new_with_copies_states() {
        let t = HealthTable::new_with(&[Status::Down, Status::Up]);
        assert_eq!(t.get(SlotId(0)), Status::Down);
        assert_eq!(t.get(SlotId(1)), Status::Up);
    }

    #[test]
    fn set_then_get() {
        let t = HealthTable::new(2);
        t.set(SlotId(1), Status::Down);
        assert_eq!(t.get(SlotId(1)), Status::Down);
        assert_eq!(t.get(SlotId(0)), Status::Up);
        t.set(SlotId(1), Status::Up);
        assert_eq!(t.get(SlotId(1)), Status::Up);
    }

    #[test]
    fn out_of_range_reads_up_and_ignores_writes() {
        let t = HealthTable::new(1);
        t.set(SlotId(7), Status::Down);
        assert_eq!(t.get(SlotId(7)), Status::Up);
        assert_eq!(t.to_vec(), vec![Status::Up]);
    }

    #[test]
    fn local_verdicts_write_through_unless_agreeing() {
        let t = HealthTable::new(1);
        t.set_local(SlotId(0), Status::Down);
        assert_eq!(
            (t.local(SlotId(0)), t.get(SlotId(0))),
            (Status::Down, Status::Down)
        );
        let t = HealthTable::new(1).agreeing(true);
        assert!(t.by_agreement());
        t.set_local(SlotId(0), Status::Down);
        assert_eq!(
            (t.local(SlotId(0)), t.get(SlotId(0))),
            (Status::Down, Status::Up)
        );
        t.set(SlotId(0), Status::Down);
        t.set_local(SlotId(0), Status::Up);
        assert_eq!(
            (t.local(SlotId(0)), t.get(SlotId(0))),
            (Status::Up, Status::Down)
        );
        t.set_since(SlotId(0), 42);
        assert_eq!(t.since(SlotId(0)), 42);
        assert_eq!(t.since(SlotId(9)), 0);
    }

    #[test]
    fn count_up_counts_listed_slots_only() {
        let t = HealthTable::new_with(&[Status::Up, Status::Down, Status::Up, Status::Down]);
        assert_eq!(t.count_up(&[SlotId(0), SlotId(1)]), 1);
        assert_eq!(t.count_up(&[SlotId(0), SlotId(2)]), 2);
        assert_eq!(t.count_up(&[SlotId(1), SlotId(3)]), 0);
        assert_eq!(t.count_up(&[]), 0);
    }

    #[test]
    fn live_weights_read_back_and_ignore_unknown_slots() {
        let t = HealthTable::new(0).with_live_weights(&[(5.0, 0x101)]);
        assert_eq!(t.live_weight(WeightSlot(0)), Some(5.0));
        assert_eq!(t.live_tag(WeightSlot(0)), 0x101);
        t.set_live_weight(WeightSlot(0), f64::INFINITY, 0x305);
        assert_eq!(t.live_weight(WeightSlot(0)), Some(f64::INFINITY));
        assert_eq!(t.live_tag(WeightSlot(0)), 0x305);
        t.set_live_weight(WeightSlot(3), 1.0, 1);
        assert_eq!(t.live_weight(WeightSlot(3)), None);
        assert_eq!(t.live_tag(WeightSlot(3)), 0);
    }

    #[test]
    fn writes_from_another_thread_are_seen() {
        let t = std::sync::Arc::new(HealthTable::new(1));
        let w = t.clone();
        let h = std::thread::spawn(move || w.set(SlotId(0), Status::Down));
        assert!(h.join().is_ok());
        assert_eq!(t.get(SlotId(0)), Status::Down);
    }
}
