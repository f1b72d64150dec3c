//! `steerdns plan` (SPEC 6.1): what a reload would change, computed before it is sent. Pure:
//! both configurations, their health and their GeoIP networks are passed in, nothing is
//! swapped, and the sampling is seeded, so the same inputs always give the same plan.
//!
//! ```text
//!  before: serving snapshot (live health)      after: the files, as a reload reads them
//!          or another folder (all up)                 (health carried over by endpoint)
//!                 │                                        │
//!                 └──────────────┬─────────────────────────┘
//!                                ▼
//!   per zone: static RRsets added / removed / changed (RDATA as text)
//!   per service whose steering inputs differ (map, states, weights, canary flags, health):
//!     per map key and family: subnets of the key (sample.rs) ─► steer() before and after
//!       ─► each region's share before/after, the share moving from → to, 95% margins
//!   restart-only settings (reload's own list), config warnings
//! ```
//!
//! Services whose steering inputs are equal on both sides are not sampled at all (they are
//! counted as unchanged), and services with equal inputs share one computation, so 10k
//! services on a handful of maps cost a handful of computations.

pub mod render;
pub mod sample;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::config::model::{Service, Zone, zone_label};
use crate::dns::rdata;
use crate::health::HealthTable;
use crate::steer::{self, ClientAddr, Decision, Reason};
use sample::{Family, Frame, KeySample, Rng};

/// Subnets sampled per map key and family by default: a share's 95% margin is then at most
/// ±1.0 point (1.96 × √(0.25 / 10000)).
pub const SAMPLES_PER_KEY: usize = 10_000;
/// The default seed of the sampling.
pub const SEED: u64 = 0x005e_ed0f_91a4;

//------------ inputs --------------------------------------------------------------------------

/// One side of the comparison.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// The configuration.
    pub config: &'a Config,
    /// Its health (indexed by its slots).
    pub health: &'a HealthTable,
    /// Its GeoIP networks (facts for the steering decisions).
    pub frame: &'a Frame,
}

/// What the plan says about where its sides came from.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    /// What is compared against (`running daemon ... generation 3`, `folder DIR`).
    pub before: String,
    /// The new files.
    pub after: String,
    /// Whose health the decisions use.
    pub health: String,
}

/// How the subnets are drawn.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Subnets per map key and family.
    pub per_key: usize,
    /// Seed of the sampling.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            per_key: SAMPLES_PER_KEY,
            seed: SEED,
        }
    }
}

//------------ the plan ------------------------------------------------------------------------

/// What a reload would change (SPEC 6.1), as `steerdns plan --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// What the files are compared against.
    pub before: String,
    /// The files.
    pub after: String,
    /// Whose health the decisions use.
    pub health: String,
    /// How shares are estimated.
    pub sampling: Sampling,
    /// Per zone, in origin order.
    pub zones: Vec<ZonePlan>,
    /// Settings that change but need a restart.
    pub restart: Vec<String>,
    /// Staged rollouts started, restarted, changed or removed by the change (SPEC 4.2).
    #[serde(default)]
    pub rollouts: Vec<RolloutPlan>,
    /// What `check` warns about in the new files.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// What a reload does to one staged rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutPlan {
    /// Zone, without the final dot.
    pub zone: String,
    /// Service key.
    pub service: String,
    /// The canary region (after; before when removed).
    pub region: String,
    /// `started` (new), `restarted` (its steps changed: from the first step), `changed`
    /// (gates, interval or failure action changed; it resumes at its step) or `removed`
    /// (the canary answers with its configured weight again).
    pub change: String,
    /// The steps before, when there was a rollout.
    pub steps_before: Option<String>,
    /// The steps after, when there is one.
    pub steps_after: Option<String>,
    /// The step (1-based) it will be at after the reload.
    pub step: Option<usize>,
}

/// The rollouts of two configurations compared: what a reload does to each (SPEC 6.1,
/// "rollouts started or changed"). Unchanged rollouts are left out. `before_health` holds the
/// serving step of each rollout before.
pub fn rollout_changes(
    before: &Config,
    before_health: &HealthTable,
    after: &Config,
) -> Vec<RolloutPlan> {
    use crate::config::model::ServiceRollout;
    let list = |cfg: &Config| -> BTreeMap<(String, String), ServiceRollout> {
        cfg.zones
            .iter()
            .flat_map(|z| {
                let zone = zone_label(&z.origin);
                z.services.iter().filter_map(move |s| {
                    s.rollout
                        .clone()
                        .map(|r| ((zone.clone(), s.key.clone()), r))
                })
            })
            .collect()
    };
    let (old, new) = (list(before), list(after));
    let mut keys: Vec<&(String, String)> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for key in keys {
        let (b, a) = (old.get(key), new.get(key));
        let step_now = |r: &ServiceRollout| {
            crate::rollout::engine::untag(before_health.live_tag(r.slot)).map_or(1, |(s, _)| s + 1)
        };
        let (change, step) = match (b, a) {
            (None, Some(_)) => ("started", Some(1)),
            (Some(_), None) => ("removed", None),
            (Some(b), Some(a)) if b.spec.steps != a.spec.steps => ("restarted", Some(1)),
            (Some(b), Some(a)) if b.spec != a.spec => ("changed", Some(step_now(b))),
            _ => continue,
        };
        let region = a.or(b).map_or_else(String::new, |r| r.spec.region.clone());
        out.push(RolloutPlan {
            zone: key.0.clone(),
            service: key.1.clone(),
            region,
            change: change.into(),
            steps_before: b.map(|r| r.spec.steps_text()),
            steps_after: a.map(|r| r.spec.steps_text()),
            step,
        });
    }
    out
}

/// How shares are estimated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Where subnets are drawn from (the GeoIP database).
    pub source: String,
    /// Subnets drawn per map key and family (keys with fewer are taken whole, exactly).
    pub per_key: usize,
    /// Seed of the draw.
    pub seed: u64,
    /// The largest 95% margin of a share, in percentage points, at `per_key` subnets.
    pub max_margin: f64,
}

/// Added, removed, changed, or the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Only in the new files.
    Added,
    /// Only in what is compared against.
    Removed,
    /// In both, different.
    Changed,
    /// In both, the same.
    Unchanged,
}

/// One zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZonePlan {
    /// Origin without the final dot.
    pub zone: String,
    /// What happens to it.
    pub change: Change,
    /// The SOA serial before and after, when it changes.
    #[serde(default)]
    pub serial: Option<(u32, u32)>,
    /// Static RRsets added.
    pub added: Vec<RRsetText>,
    /// Static RRsets removed.
    pub removed: Vec<RRsetText>,
    /// Static RRsets changed.
    pub changed: Vec<RRsetChange>,
    /// Services whose steering changes (or that come or go).
    pub services: Vec<ServicePlan>,
    /// Services whose steering inputs are the same on both sides.
    pub services_unchanged: usize,
}

/// One RRset, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RRsetText {
    /// Owner name.
    pub owner: String,
    /// Type mnemonic.
    #[serde(rename = "type")]
    pub rtype: String,
    /// TTL.
    pub ttl: u32,
    /// Each record's data in presentation format, sorted.
    pub data: Vec<String>,
}

/// One RRset before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RRsetChange {
    /// Before.
    pub before: RRsetText,
    /// After.
    pub after: RRsetText,
}

/// One service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServicePlan {
    /// Service key.
    pub service: String,
    /// What happens to it.
    pub change: Change,
    /// Per map key and family.
    pub keys: Vec<KeyPlan>,
}

/// One map key and family of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyPlan {
    /// The key (`continent:EU`).
    pub key: String,
    /// IPv4 or IPv6.
    pub family: Family,
    /// Subnets (/24 or /56) the key has (estimated unless `exact`).
    pub subnets: f64,
    /// Subnets looked at.
    pub sampled: usize,
    /// Every subnet was looked at: shares are exact.
    pub exact: bool,
    /// Each region's share of the key's subnets, before and after.
    pub shares: Vec<RegionShare>,
    /// Shares of the key's subnets that change region, largest first.
    pub moves: Vec<Move>,
}

/// A region's share of a key's subnets (0..1). Pseudo-regions: `(fallback)`, `(nodata)`,
/// and `(none)` for a service that does not exist on that side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionShare {
    /// Region name.
    pub region: String,
    /// Share before.
    pub before: f64,
    /// Share after.
    pub after: f64,
}

/// Subnets that move from one region to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Move {
    /// Region before.
    pub from: String,
    /// Region after.
    pub to: String,
    /// Share of the key's subnets (0..1).
    pub share: f64,
    /// 95% margin of `share` (0 when exact).
    pub margin: f64,
}

/// The daemon's answer to `POST /v1/plan`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum PlanOutcome {
    /// The plan: the files are valid (a reload would apply them).
    Computed(Plan),
    /// The files are invalid (a reload would be rejected): every problem.
    Invalid {
        /// `file:line: message`, each.
        problems: Vec<String>,
    },
}

impl PlanOutcome {
    /// The exit code of `steerdns plan` (SPEC 6.1): 0 computed, 1 invalid files.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Computed(_) => 0,
            Self::Invalid { .. } => 1,
        }
    }
}

//------------ computing -----------------------------------------------------------------------

/// The plan of changing from `before` to `after`. `restart` lists the settings that need a
/// restart ([`crate::reload::restart_warnings`]).
pub fn compute(
    before: Side<'_>,
    after: Side<'_>,
    restart: Vec<String>,
    labels: Labels,
    options: Options,
) -> Plan {
    let mut cx = Cx {
        before,
        after,
        options,
        samples: HashMap::new(),
        results: HashMap::new(),
    };
    let mut origins: BTreeMap<String, (Option<&Zone>, Option<&Zone>)> = BTreeMap::new();
    for z in &before.config.zones {
        origins.entry(zone_label(&z.origin)).or_default().0 = Some(z);
    }
    for z in &after.config.zones {
        origins.entry(zone_label(&z.origin)).or_default().1 = Some(z);
    }
    let zones = origins
        .into_iter()
        .map(|(label, (b, a))| cx.zone(label, b, a))
        .collect();
    let max_margin = 100.0 * 1.96 * (0.25 / options.per_key.max(1) as f64).sqrt();
    Plan {
        before: labels.before,
        after: labels.after,
        health: labels.health,
        sampling: Sampling {
            source: after.frame.source.clone(),
            per_key: options.per_key,
            seed: options.seed,
            max_margin: (max_margin * 100.0).round() / 100.0,
        },
        zones,
        restart,
        rollouts: rollout_changes(before.config, before.health, after.config),
        warnings: after
            .config
            .warnings
            .iter()
            .map(|w| crate::error::render_chain(w))
            .collect(),
    }
}

/// Which side a map comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Which {
    Before,
    After,
}

struct Cx<'a> {
    before: Side<'a>,
    after: Side<'a>,
    options: Options,
    /// Subnets per (side, map keys).
    samples: HashMap<(Which, String), std::rc::Rc<Vec<KeySample>>>,
    /// Key plans per (before inputs, after inputs).
    results: HashMap<(String, String), Vec<KeyPlan>>,
}

impl Cx<'_> {
    fn zone(&mut self, label: String, before: Option<&Zone>, after: Option<&Zone>) -> ZonePlan {
        let rrsets = |z: Option<&Zone>| z.map(rrsets_of).unwrap_or_default();
        let (old, new) = (rrsets(before), rrsets(after));
        let mut plan = ZonePlan {
            zone: label,
            change: match (before, after) {
                (None, _) => Change::Added,
                (_, None) => Change::Removed,
                _ => Change::Unchanged,
            },
            serial: None,
            added: Vec::new(),
            removed: Vec::new(),
            changed: Vec::new(),
            services: Vec::new(),
            services_unchanged: 0,
        };
        for (k, set) in &new {
            match old.get(k) {
                None => plan.added.push(set.clone()),
                Some(o) if o != set => plan.changed.push(RRsetChange {
                    before: o.clone(),
                    after: set.clone(),
                }),
                Some(_) => {}
            }
        }
        for (k, set) in &old {
            if !new.contains_key(k) {
                plan.removed.push(set.clone());
            }
        }
        if let (Some(b), Some(a)) = (before, after)
            && b.soa.serial != a.soa.serial
        {
            plan.serial = Some((b.soa.serial, a.soa.serial));
        }
        let mut keys: BTreeMap<&str, (Option<&Service>, Option<&Service>)> = BTreeMap::new();
        for s in before.iter().flat_map(|z| &z.services) {
            keys.entry(&s.key).or_default().0 = Some(s);
        }
        for s in after.iter().flat_map(|z| &z.services) {
            keys.entry(&s.key).or_default().1 = Some(s);
        }
        for (key, (b, a)) in keys {
            let ib = b.map(|s| inputs(s, self.before.health));
            let ia = a.map(|s| inputs(s, self.after.health));
            if ib.is_some() && ib == ia {
                plan.services_unchanged += 1;
                continue;
            }
            let change = match (b, a) {
                (None, _) => Change::Added,
                (_, None) => Change::Removed,
                _ => Change::Changed,
            };
            let result_key = (ib.unwrap_or_default(), ia.unwrap_or_default());
            let keys = match self.results.get(&result_key) {
                Some(k) => k.clone(),
                None => {
                    let k = self.service(b, a);
                    self.results.insert(result_key, k.clone());
                    k
                }
            };
            plan.services.push(ServicePlan {
                service: key.to_string(),
                change,
                keys,
            });
        }
        let touched = !(plan.added.is_empty()
            && plan.removed.is_empty()
            && plan.changed.is_empty()
            && plan.services.is_empty());
        if plan.change == Change::Unchanged && touched {
            plan.change = Change::Changed;
        }
        plan
    }

    /// The subnets of every key of `service`'s map on side `which`.
    fn samples_of(&mut self, which: Which, service: &Service) -> std::rc::Rc<Vec<KeySample>> {
        let keys: Vec<&str> = service.map.entries.iter().map(|e| e.key.as_str()).collect();
        let id = (which, keys.join("\n"));
        if let Some(s) = self.samples.get(&id) {
            return s.clone();
        }
        let side = match which {
            Which::Before => self.before,
            Which::After => self.after,
        };
        // One seed per map: the same keys draw the same subnets on both sides.
        let mut rng = Rng::new(self.options.seed ^ fnv(&id.1));
        let s = std::rc::Rc::new(sample::sample_map(
            &service.map,
            side.frame,
            self.options.per_key,
            &mut rng,
        ));
        self.samples.insert(id, s.clone());
        s
    }

    fn service(&mut self, before: Option<&Service>, after: Option<&Service>) -> Vec<KeyPlan> {
        // The keys of the new map, then those only the old one has.
        let mut pools: Vec<(String, std::rc::Rc<Vec<KeySample>>, usize)> = Vec::new();
        if let Some(a) = after {
            let s = self.samples_of(Which::After, a);
            for (i, k) in s.iter().enumerate() {
                pools.push((a.map.entries[k.entry].key.clone(), s.clone(), i));
            }
        }
        if let Some(b) = before {
            let s = self.samples_of(Which::Before, b);
            for (i, k) in s.iter().enumerate() {
                let key = &b.map.entries[k.entry].key;
                let in_after = after.is_some_and(|a| a.map.entries.iter().any(|e| &e.key == key));
                if !in_after {
                    pools.push((key.clone(), s.clone(), i));
                }
            }
        }
        pools
            .into_iter()
            .map(|(key, s, i)| self.key(key, &s[i], before, after))
            .collect()
    }

    fn key(
        &self,
        key: String,
        sample: &KeySample,
        before: Option<&Service>,
        after: Option<&Service>,
    ) -> KeyPlan {
        let decide = |side: Side<'_>, service: Option<&Service>, c: &ClientAddr| -> String {
            let Some(service) = service else {
                return "(none)".into();
            };
            let facts = side.frame.facts_at(c.addr);
            region_of(
                service,
                &steer::steer(service, side.health, c, Some(&facts)),
            )
        };
        let mut shares: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        let mut moves: BTreeMap<(String, String), usize> = BTreeMap::new();
        for c in &sample.subnets {
            let b = decide(self.before, before, c);
            let a = decide(self.after, after, c);
            shares.entry(b.clone()).or_default().0 += 1;
            shares.entry(a.clone()).or_default().1 += 1;
            if a != b {
                *moves.entry((b, a)).or_default() += 1;
            }
        }
        let n = sample.subnets.len().max(1) as f64;
        let margin = |p: f64| {
            if sample.exact {
                return 0.0;
            }
            let big = sample.population.max(n);
            let fpc = if big > 1.0 {
                ((big - n) / (big - 1.0)).max(0.0).sqrt()
            } else {
                0.0
            };
            1.96 * (p * (1.0 - p) / n).sqrt() * fpc
        };
        let mut moves: Vec<Move> = moves
            .into_iter()
            .map(|((from, to), count)| {
                let share = count as f64 / n;
                Move {
                    from,
                    to,
                    share: round6(share),
                    margin: round6(margin(share)),
                }
            })
            .collect();
        moves.sort_by(|x, y| y.share.total_cmp(&x.share));
        KeyPlan {
            key,
            family: sample.family,
            subnets: sample.population.round(),
            sampled: sample.subnets.len(),
            exact: sample.exact,
            shares: shares
                .into_iter()
                .map(|(region, (b, a))| RegionShare {
                    region,
                    before: round6(b as f64 / n),
                    after: round6(a as f64 / n),
                })
                .collect(),
            moves,
        }
    }
}

/// `x` to six decimals: what a share means to a person, and JSON that reads back exactly.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The GeoIP networks of a configuration's database (already in memory), for the facts of
/// its decisions and the subnets drawn.
pub fn frame_of(geo: Option<&dyn crate::steer::GeoLookup>, cfg: &Config) -> Frame {
    let source = cfg
        .geoip_database
        .as_ref()
        .map_or_else(String::new, |p| format!("the networks of {}", p.display()));
    Frame::new(geo.map(|g| g.networks()).unwrap_or_default(), &source)
}

/// Health for the new configuration as a reload would start it: each checked endpoint's
/// state carried over from `old` when its key and check parameters are the same there, else
/// up.
pub fn carried_health(old: &Config, old_health: &HealthTable, new: &Config) -> HealthTable {
    let before: HashMap<String, &crate::config::model::CheckedEndpoint> =
        old.checks.iter().map(|c| (c.key(), c)).collect();
    let table = HealthTable::new(new.checks.len())
        .with_live_weights(&carried_rollouts(old, old_health, new));
    for c in &new.checks {
        if let Some(o) = before.get(&c.key())
            && o.check == c.check
        {
            table.set(c.slot, old_health.get(o.slot));
        }
    }
    table
}

/// The live weights of `new`'s rollouts as a reload would set them: a rollout whose steps
/// are unchanged keeps its step (the weight recomputed against its tier in `new`), any
/// other starts at its first step.
fn carried_rollouts(old: &Config, old_health: &HealthTable, new: &Config) -> Vec<(f64, u64)> {
    use crate::rollout::engine;
    let rollouts = |cfg: &Config| -> Vec<(String, crate::config::model::ServiceRollout)> {
        cfg.zones
            .iter()
            .flat_map(|z| {
                let zone = crate::config::model::zone_label(&z.origin);
                z.services.iter().filter_map(move |s| {
                    s.rollout.clone().map(|r| (format!("{zone}/{}", s.key), r))
                })
            })
            .collect()
    };
    let before: HashMap<String, crate::config::model::ServiceRollout> =
        rollouts(old).into_iter().collect();
    let mut out = vec![(0.0, 0); new.rollouts];
    for (key, r) in rollouts(new) {
        let fresh = engine::start(&r.spec, 0);
        let progress = before
            .get(&key)
            .filter(|o| o.spec.steps == r.spec.steps)
            .and_then(|o| engine::untag(old_health.live_tag(o.slot)))
            .map_or(fresh.clone(), |(step, phase)| engine::Progress {
                step,
                phase,
                ..fresh
            });
        if let Some(slot) = out.get_mut(r.slot.0 as usize) {
            *slot = (
                engine::live_weight(&r.spec, r.others, &progress),
                engine::tag(&progress),
            );
        }
    }
    out
}

/// The region a decision answers with, or a pseudo-region.
fn region_of(service: &Service, d: &Decision) -> String {
    match (d.region, d.reason) {
        (Some(r), _) => service.regions[r].name.clone(),
        (None, Reason::Fallback) => "(fallback)".into(),
        (None, _) => "(nodata)".into(),
    }
}

/// Everything about a service that `steer` decides the region from, as text: two services
/// with equal inputs send every subnet to the same region.
fn inputs(service: &Service, health: &HealthTable) -> String {
    let mut s = String::new();
    let _ = write!(s, "fallback={};", !service.fallback.is_empty());
    for (i, r) in service.regions.iter().enumerate() {
        let _ = write!(
            s,
            "{}:{:?}:{}:{}:{};",
            r.name,
            r.state,
            service.weight(crate::config::model::RegionId::from_index(i), health),
            r.canary,
            steer::region_healthy(r, health)
        );
    }
    for e in &service.map.entries {
        let _ = write!(s, "|{}=", e.key);
        for tier in &e.tiers {
            s.push('>');
            for &r in tier {
                let _ = write!(s, "{},", service.regions[r].name);
            }
        }
    }
    s
}

/// FNV-1a of a string (a seed per map).
fn fnv(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A zone's static RRsets by (owner, type), as text, plus its SOA (serial left out: it is
/// reported on its own).
fn rrsets_of(zone: &Zone) -> BTreeMap<(String, String), RRsetText> {
    let mut out = BTreeMap::new();
    for (owner, node) in &zone.nodes {
        for set in &node.rrsets {
            let mut data: Vec<String> = set
                .rdatas
                .iter()
                .map(|r| rdata::presentation(set.rtype, r.bytes()))
                .collect();
            data.sort();
            let text = RRsetText {
                owner: owner.to_string(),
                rtype: rdata::type_name(set.rtype),
                ttl: set.ttl,
                data,
            };
            out.insert((text.owner.clone(), text.rtype.clone()), text);
        }
    }
    let soa = zone.soa.rdata.bytes();
    let mut without_serial = soa.to_vec();
    if without_serial.len() >= 20 {
        let at = without_serial.len() - 20;
        without_serial[at..at + 4].copy_from_slice(&[0; 4]);
    }
    let text = RRsetText {
        owner: zone.origin.to_string(),
        rtype: "SOA".into(),
        ttl: zone.soa.ttl,
        data: vec![rdata::presentation(6, &without_serial)],
    };
    out.insert((text.owner.clone(), text.rtype.clone()), text);
    out
}

#[cfg(test)]
mod tests;
