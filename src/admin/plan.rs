//! `POST /v1/plan` (SPEC 6.1): the daemon loads its files as a reload would and compares them
//! with the snapshot it serves, with live health, swapping nothing. One plan at a time; it
//! runs on a blocking thread, off the runtime that answers queries' neighbours. The handler
//! in `admin/mod.rs` takes [`RUNNING`] and answers what [`compute`] gives.

use tokio::sync::Semaphore;

use crate::plan::{self, Labels, Options, PlanOutcome, Side};
use crate::reload;
use crate::state::{Snapshot, now_unix};

/// One plan at a time: each reads every zone and the GeoIP database.
pub(super) static RUNNING: Semaphore = Semaphore::const_new(1);

/// The plan of reloading `snap`'s files now.
pub(super) fn compute(snap: &Snapshot) -> PlanOutcome {
    let path = &snap.config.main_path;
    let (after, after_geo) = match reload::load(path, now_unix()) {
        Ok(loaded) => loaded,
        Err(e) => {
            return PlanOutcome::Invalid {
                problems: e.problems(),
            };
        }
    };
    let after_health = plan::carried_health(&snap.config, &snap.health, &after);
    // The same database on both sides (the usual case): its networks are read once.
    let fingerprint =
        |g: Option<&std::sync::Arc<dyn crate::steer::GeoLookup>>| g.and_then(|g| g.fingerprint());
    let after_frame = plan::frame_of(after_geo.as_deref(), &after);
    let own_frame;
    let before_frame = match fingerprint(snap.geo.as_ref()) {
        Some(f) if Some(&f) == fingerprint(after_geo.as_ref()).as_ref() => &after_frame,
        _ => {
            own_frame = plan::frame_of(snap.geo.as_deref(), &snap.config);
            &own_frame
        }
    };
    let plan = plan::compute(
        Side {
            config: &snap.config,
            health: &snap.health,
            frame: before_frame,
        },
        Side {
            config: &after,
            health: &after_health,
            frame: &after_frame,
        },
        reload::restart_warnings(&snap.config, &after),
        Labels {
            before: format!("the running daemon (generation {})", snap.generation),
            after: path.display().to_string(),
            health: "live: the daemon's health checks (endpoints new in the files count as up)"
                .into(),
        },
        Options::default(),
    );
    PlanOutcome::Computed(plan)
}
