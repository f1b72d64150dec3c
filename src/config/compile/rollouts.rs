//! `[service.NAME.rollout]` (SPEC 4.2): the steps, gates and failure action of a staged
//! rollout, checked against the service it ramps (its region must be a canary of the service
//! that sits in a tier of its map) and compiled into a [`ServiceRollout`].
//!
//! The share of a step is a share of the canary's tier, turned into a weight against the sum
//! of the other weighted regions of that tier ([`crate::rollout::spec::weight_for_share`]).
//! One weight serves every tier the canary sits in, so every such tier must weigh the same
//! without it; otherwise "5% of its tier" would mean different weights and the check says so.

use toml::Spanned;

use super::context::{ZoneCtx, duration_or};
use crate::config::model::{GeoMap, RegionId, ServiceRegion, ServiceRollout};
use crate::config::schema::{GateKind, RolloutEntry};
use crate::health::view::WeightSlot;
use crate::rollout::spec::{Gate, OnFailure, RolloutSpec, Step, check_steps};

/// Default `gate_interval`.
pub(super) const GATE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// Compiles one `[service.KEY.rollout]` against the service's regions and map; `None` (with
/// every problem recorded) when it cannot work. Its weight slot is handed out later, once
/// every zone is compiled.
pub(super) fn compile_rollout(
    cx: &mut ZoneCtx<'_, '_>,
    service: &str,
    entry: &Spanned<RolloutEntry>,
    regions: &[ServiceRegion],
    map: &GeoMap,
) -> Option<ServiceRollout> {
    let before = cx.errors.len();
    let r = entry.get_ref();
    let what = format!("service {service} rollout");
    let name = r.region.get_ref();
    let region = regions.iter().position(|x| &x.name == name);
    match region {
        None => cx.err(
            r.region.span(),
            format!(
                "{what}: region {name:?} is not a region of this service (it has {})",
                regions
                    .iter()
                    .map(|x| x.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Some(i) if !regions[i].canary => cx.err(
            r.region.span(),
            format!(
                "{what}: region {name:?} is not a canary: a rollout ramps a canary's share of \
                 its tier, so set canary = true on [service.{service}.region.{name}] or \
                 [region.{name}] (SPEC 4, rule 4a)"
            ),
        ),
        Some(_) => {}
    }
    let mut steps = Vec::new();
    for s in r.steps.get_ref() {
        match Step::parse(s.get_ref()) {
            Ok(step) => steps.push(step),
            Err(e) => cx.err(s.span(), format!("{what}: {e}")),
        }
    }
    if steps.len() == r.steps.get_ref().len()
        && let Err(e) = check_steps(&steps)
    {
        cx.err(r.steps.span(), format!("{what}: {e}"));
    }
    let gate_interval = duration_or(cx.src, &r.gate_interval, GATE_INTERVAL, cx.errors);
    if let Some(g) = &r.gate_interval
        && gate_interval.is_zero()
    {
        cx.err(
            g.span(),
            format!("{what}: gate_interval must be longer than 0"),
        );
    }
    let mut gates = Vec::new();
    for g in &r.gate {
        if let Some(gate) = compile_gate(cx, &what, g) {
            gates.push(gate);
        }
    }
    // The tiers of the map that hold the canary, and what the rest of each weighs.
    let mut others: Option<(f64, String)> = None;
    if let Some(i) = region {
        let id = RegionId::from_index(i);
        for entry_ in &map.entries {
            for tier in entry_.tiers.iter().filter(|t| t.contains(&id)) {
                let sum: f64 = tier
                    .iter()
                    .filter(|&&j| j != id)
                    .map(|&j| f64::from(regions[j].weight))
                    .sum();
                match &others {
                    None => others = Some((sum, entry_.key.clone())),
                    Some((s, key)) if *s != sum => {
                        cx.err(
                            r.region.span(),
                            format!(
                                "{what}: {name} sits in tiers that weigh differently without it \
                                 ({key:?}: {s}, {:?}: {sum}), so a share of its tier would \
                                 need two weights; give those tiers the same other regions' \
                                 weights",
                                entry_.key
                            ),
                        );
                        break;
                    }
                    Some(_) => {}
                }
            }
        }
        if others.is_none() {
            cx.err(
                r.region.span(),
                format!(
                    "{what}: region {name:?} is in no tier of map {:?}, so no share of a tier \
                     can reach it",
                    map.name
                ),
            );
        }
    }
    if cx.errors.len() > before {
        return None;
    }
    Some(ServiceRollout {
        spec: RolloutSpec {
            region: name.clone(),
            steps,
            gate_interval,
            on_failure: r
                .on_failure
                .as_ref()
                .map_or(OnFailure::Rollback, |o| *o.get_ref()),
            gates,
        },
        region: RegionId::from_index(region?),
        others: others.map_or(0.0, |(s, _)| s),
        slot: WeightSlot(0),
    })
}

/// One `[[service.KEY.rollout.gate]]`.
fn compile_gate(
    cx: &mut ZoneCtx<'_, '_>,
    what: &str,
    g: &Spanned<crate::config::schema::GateEntry>,
) -> Option<Gate> {
    let e = g.get_ref();
    match e.kind {
        GateKind::Health => {
            if e.url.is_some() || e.query.is_some() || e.max.is_some() {
                cx.err(
                    g.span(),
                    format!(
                        "{what}: a health gate takes no url, query or max (it watches the \
                         region's endpoints)"
                    ),
                );
                return None;
            }
            Some(Gate::Health)
        }
        GateKind::Prometheus => {
            let (Some(url), Some(query), Some(max)) = (&e.url, &e.query, &e.max) else {
                cx.err(
                    g.span(),
                    format!(
                        "{what}: a prometheus gate needs url (\"http://127.0.0.1:9090\"), \
                         query (PromQL) and max"
                    ),
                );
                return None;
            };
            let text = url.get_ref().trim().trim_end_matches('/');
            let host = text
                .strip_prefix("http://")
                .or_else(|| text.strip_prefix("https://"))
                .map(|rest| rest.split('/').next().unwrap_or(""));
            if host.is_none_or(|h| h.is_empty() || h.contains(char::is_whitespace)) {
                cx.err(
                    url.span(),
                    format!(
                        "{what}: url {:?} is not an http:// or https:// URL of a Prometheus \
                         server",
                        url.get_ref()
                    ),
                );
                return None;
            }
            if query.get_ref().trim().is_empty() {
                cx.err(query.span(), format!("{what}: query is empty"));
                return None;
            }
            if !max.get_ref().is_finite() {
                cx.err(max.span(), format!("{what}: max must be a number"));
                return None;
            }
            Some(Gate::Prometheus {
                url: text.to_string(),
                query: query.get_ref().clone(),
                max: *max.get_ref(),
            })
        }
    }
}
