//! When each drained region began draining, so `explain` can say when resolver caches will
//! have let go of it (SPEC section 7: the time of the reload that drained it + the TTL).
//!
//! A region is drained per service (its effective state: the service's override, else the
//! region's own). The start time is carried from snapshot to snapshot by name, so a reload
//! that changes something else does not move it; a region that is drained by a reload gets
//! that reload's time. At start-up the time is the start (the earlier history is unknown, and
//! answers from before the start have expired by start + TTL anyway, so the time shown is
//! never too early). Pure: the load time is passed in.

use std::collections::HashMap;

use crate::config::model::{Config, RegionState, Service, Zone};

/// (zone origin, service key, region name).
type Key = (String, String, String);

/// Drain start times (Unix seconds) of every drained service region of one snapshot.
#[derive(Debug, Clone, Default)]
pub struct DrainTimes {
    since: HashMap<Key, u64>,
}

impl DrainTimes {
    /// The drain times of `config` loaded at `now_unix`: kept from `previous` for regions that
    /// were already draining there, `now_unix` for the others.
    pub fn build(config: &Config, now_unix: u64, previous: Option<&Self>) -> Self {
        let mut since = HashMap::new();
        for zone in &config.zones {
            let origin = zone.origin.to_string();
            for service in &zone.services {
                for region in &service.regions {
                    if region.state != RegionState::Drain {
                        continue;
                    }
                    let key = (origin.clone(), service.key.clone(), region.name.clone());
                    let at = previous
                        .and_then(|p| p.since.get(&key).copied())
                        .unwrap_or(now_unix);
                    since.insert(key, at);
                }
            }
        }
        Self { since }
    }

    /// When each region of `service` began draining, indexed like `service.regions` (by `RegionId`); `None` for
    /// regions that are not draining.
    pub fn for_service(&self, zone: &Zone, service: &Service) -> Vec<Option<u64>> {
        if self.since.is_empty() {
            return vec![None; service.regions.len()];
        }
        let origin = zone.origin.to_string();
        service
            .regions
            .iter()
            .map(|region| {
                self.since
                    .get(&(origin.clone(), service.key.clone(), region.name.clone()))
                    .copied()
            })
            .collect()
    }
}
