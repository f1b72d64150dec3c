//! Lock-free health table read by queries.
use std::sync::atomic::{AtomicU8, Ordering};

/// Index of one checked endpoint's slot in a [`HealthTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotId(pub u32);

/// Health of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Serving.
    Up,
    /// Failed its checks.
    Down,
}

/// One slot per checked endpoint.
#[derive(Debug)]
pub struct HealthTable {
    slots: Box<[AtomicU8]>,
}

impl HealthTable {
    /// `n` slots, all up.
    pub fn new(n: usize) -> Self {
        Self {
            slots: (0..n).map(|_| AtomicU8::new(0)).collect(),
        }
    }
    /// Current status of a slot (unknown slots read as up).
    pub fn get(&self, slot: SlotId) -> Status {
        match self
            .slots
            .get(slot.0 as usize)
            .map(|s| s.load(Ordering::Relaxed))
        {
            Some(1) => Status::Down,
            _ => Status::Up,
        }
    }
    /// Sets a slot.
    pub fn set(&self, slot: SlotId, status: Status) {
        if let Some(s) = self.slots.get(slot.0 as usize) {
            s.store(u8::from(status == Status::Down), Ordering::Relaxed);
        }
    }
}
