//! Explaining a decision for a name (shared by `steerdns explain` and `/v1/explain`).

use crate::config::model::{Service, Zone};
use crate::dns::name::Name;
use crate::error::ExplainError;
use crate::state::Snapshot;
use crate::steer::ClientAddr;
use crate::steer::trace::{ExplainContext, Trace, explain};

/// Finds the service at `name` and traces the decision for `client`.
pub fn explain_name(
    snap: &Snapshot,
    name: &str,
    want_v6: bool,
    client: &ClientAddr,
) -> Result<Trace, ExplainError> {
    let (zone, service) = find_service(snap, name)?;
    let qname = Name::parse_absolute(name).map_err(|source| ExplainError::BadName {
        name: name.to_string(),
        source,
    })?;
    let geo = snap.geo.as_ref().map(|g| g.facts(client.addr));
    let shown = qname.to_string();
    let drain_since = snap.drain_since.for_service(zone, service);
    let (_, trace) = explain(
        service,
        &snap.health,
        client,
        geo.as_ref(),
        ExplainContext {
            name: &shown,
            want_v6,
            rotation: 0,
            drain_since: &drain_since,
        },
    );
    Ok(trace)
}

/// The zone holding `name` (the longest origin above it) and the service at `name`.
pub fn find_service<'s>(
    snap: &'s Snapshot,
    name: &str,
) -> Result<(&'s Zone, &'s Service), ExplainError> {
    let qname = Name::parse_absolute(name).map_err(|source| ExplainError::BadName {
        name: name.to_string(),
        source,
    })?;
    let zone = snap
        .config
        .zones
        .iter()
        .filter(|z| qname.is_at_or_below(&z.origin))
        .max_by_key(|z| z.origin.as_wire().len())
        .ok_or_else(|| ExplainError::NoZone(qname.to_string()))?;
    let service = zone
        .nodes
        .get(&qname)
        .and_then(|n| n.service)
        .map(|i| &zone.services[i])
        .ok_or_else(|| ExplainError::NotSteered(qname.to_string()))?;
    Ok((zone, service))
}
