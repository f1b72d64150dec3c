//! The agreement task: whenever something changes (a round of peer reads finished, a local
//! verdict flipped, a reload), compute the agreed verdict of every checked endpoint with
//! [`quorum::agree`] and publish it into the serving snapshot's health table, the way a local
//! flip is published without `[peers]`. Queries never wait for it: they read the table.
//!
//! ```text
//!  Fleet::wake ─► recompute: load snapshot ─► local verdicts (table) + peer records (book)
//!                   ─► align peer views by key ─► quorum::agree(now) ─► table.set(slot)
//!                   on a change: log line, state file (agreed entries)
//! ```
//!
//! Without `[peers]` the health table is not in agreement mode and the runner writes local
//! verdicts straight through; this task then only clears leftover agreed entries from the
//! state file.

use std::sync::Arc;

use tokio::time::Instant;

use super::fleet::Fleet;
use super::view::{Combined, combine};
use crate::config::model::CheckedEndpoint;
use crate::health::Status;
use crate::health::runner::StateSink;
use crate::state::Store;

/// Recomputes and publishes agreed verdicts; see the module doc.
#[derive(Debug)]
pub struct Agreement {
    fleet: Arc<Fleet>,
    store: Store,
    sink: StateSink,
    /// `(generation, endpoint keys in slot order)` of the last snapshot seen.
    keys: (u64, Vec<String>),
    /// Whether the last computation had no counting peer (`None` before the first one).
    alone: Option<bool>,
    /// Whether agreed entries may be in the state file.
    agreed_saved: bool,
}

/// What one computation did (for tests and logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recomputed {
    /// Endpoints whose agreed state changed.
    pub changed: usize,
    /// Endpoints whose local verdict differs from the agreed one.
    pub disagreements: usize,
    /// Observers taking part: this instance and the peers that count.
    pub observers: u32,
}

impl Agreement {
    /// An agreement over `store`'s snapshots and `fleet`'s peers, saving to `sink`.
    pub fn new(fleet: Arc<Fleet>, store: Store, sink: StateSink) -> Self {
        Self {
            fleet,
            store,
            sink,
            keys: (0, Vec::new()),
            alone: None,
            agreed_saved: true,
        }
    }

    /// Runs until the task is aborted: recomputes at every [`Fleet::wake`].
    pub async fn run(mut self) {
        loop {
            self.fleet.woken().await;
            self.recompute(Instant::now());
        }
    }

    /// One computation at `now`; `None` when the table is not in agreement mode, or before
    /// the first round of reads (the restored agreed states stand until then).
    pub fn recompute(&mut self, now: Instant) -> Option<Recomputed> {
        let snap = self.store.load_full();
        let Some(settings) = snap.config.peers.as_ref() else {
            if self.agreed_saved {
                self.sink.clear_agreed();
                self.agreed_saved = false;
            }
            self.alone = None;
            return None;
        };
        if !snap.health.by_agreement() || !self.fleet.has_polled() {
            return None;
        }
        let checks: Vec<&CheckedEndpoint> = snap.config.checks.iter().collect();
        if self.keys.0 != snap.generation || self.keys.1.len() != checks.len() {
            self.keys = (snap.generation, checks.iter().map(|c| c.key()).collect());
        }
        let keys = &self.keys.1;
        let records = self.fleet.records();
        let Combined {
            local,
            agreed,
            counting,
            ..
        } = combine(&snap, settings, &records, &checks, keys, now);
        let mut out = Recomputed {
            observers: 1 + counting,
            ..Recomputed::default()
        };
        let alone = counting == 0;
        if self.alone != Some(alone) {
            if alone {
                tracing::warn!(
                    peers = records.len(),
                    stale_after = ?settings.stale_after,
                    "no peer heard within stale_after: deciding alone"
                );
            } else {
                tracing::info!(
                    peers = counting,
                    observers = out.observers,
                    "agreeing with peers"
                );
            }
            self.alone = Some(alone);
        }

        for ((c, a), own) in checks.iter().zip(&agreed).zip(&local) {
            let before = snap.health.get(c.slot);
            if a.status != *own {
                out.disagreements += 1;
            }
            if before == a.status {
                continue;
            }
            snap.health.set(c.slot, a.status);
            out.changed += 1;
            self.sink.set_agreed(c.key(), a.status);
            self.agreed_saved = true;
            let addr = c.addr.to_string();
            let (zone, service, region) = (&c.zone, &c.service, &c.region);
            let (down, observers) = (a.down, a.observers);
            match a.status {
                Status::Down => tracing::warn!(
                    zone = %zone, service = %service, region = %region, endpoint = %addr,
                    from = %before, to = %a.status, local = %own, down, observers,
                    "agreed health changed"
                ),
                Status::Up => tracing::info!(
                    zone = %zone, service = %service, region = %region, endpoint = %addr,
                    from = %before, to = %a.status, local = %own, down, observers,
                    "agreed health changed"
                ),
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use arc_swap::ArcSwap;

    use super::*;
    use crate::peers::report::PeerView;
    use crate::state::Snapshot;

    const URLS: [&str; 2] = ["http://127.0.0.1:1", "http://127.0.0.1:2"];

    /// A snapshot with two checked endpoints (127.0.0.61, 127.0.0.62) and two peers.
    fn store() -> Option<(tempfile::TempDir, Store)> {
        let dir = tempfile::tempdir().ok()?;
        let main = format!(
            "[metrics]\nlisten = \"\"\n[peers]\nurls = [\"{}\", \"{}\"]\nstale_after = \"10s\"\n",
            URLS[0], URLS[1]
        );
        std::fs::write(dir.path().join("steerdns.toml"), main).ok()?;
        std::fs::create_dir_all(dir.path().join("zones")).ok()?;
        let zone = r#"
origin = "a.test."
[soa]
mname = "ns.a.test."
rname = "h.a.test."
serial = 1
[check.web]
kind = "tcp"
port = 80
[region.one]
[service.www]
geo = { default = "one" }
check = "web"
[service.www.region.one]
endpoints = ["127.0.0.61", "127.0.0.62"]
"#;
        std::fs::write(dir.path().join("zones/a.toml"), zone).ok()?;
        let cfg = crate::config::load(&dir.path().join("steerdns.toml"), 0).ok()?;
        let snap = Snapshot::new(1, cfg, None, 0, None);
        Some((dir, Arc::new(ArcSwap::from_pointee(snap))))
    }

    /// A peer view with the given verdicts by address.
    fn view(verdicts: &[(&str, Status)]) -> PeerView {
        PeerView {
            identity: "peer".into(),
            generation: 1,
            verdicts: verdicts
                .iter()
                .map(|(a, s)| (format!("a.test/www/one/{a}"), ("web".to_owned(), *s, 0)))
                .collect::<HashMap<_, _>>(),
        }
    }

    #[test]
    fn publishes_agreed_verdicts_into_the_table() {
        let Some((_dir, store)) = store() else {
            panic!("test config does not load");
        };
        let snap = store.load_full();
        assert!(snap.health.by_agreement());
        let (a, b) = (snap.config.checks[0].slot, snap.config.checks[1].slot);
        let fleet = Arc::new(Fleet::new());
        fleet.sync_urls(&URLS.map(String::from));
        let mut agreement = Agreement::new(fleet.clone(), store.clone(), StateSink::default());
        let t0 = Instant::now();

        // Before the first round, nothing is decided (restored states stand).
        snap.health.set_local(a, Status::Down);
        assert_eq!(agreement.recompute(t0), None);
        assert_eq!(snap.health.get(a), Status::Up);

        // Both peers see 61 up: this instance is outvoted; 62 is known to one peer only.
        fleet.first_round_done();
        fleet.update(URLS[0], |r| {
            r.heard(view(&[("127.0.0.61", Status::Up)]), t0, 1)
        });
        fleet.update(URLS[1], |r| {
            r.heard(
                view(&[("127.0.0.61", Status::Up), ("127.0.0.62", Status::Down)]),
                t0,
                1,
            )
        });
        let got = agreement.recompute(t0);
        assert_eq!(
            got,
            Some(Recomputed {
                changed: 0,
                disagreements: 1,
                observers: 3
            })
        );
        assert_eq!(
            (snap.health.get(a), snap.health.local(a)),
            (Status::Up, Status::Down)
        );
        assert_eq!(snap.health.get(b), Status::Up, "62: 1 of 2 observers");

        // A second observer sees 61 down: down.
        fleet.update(URLS[1], |r| {
            r.heard(view(&[("127.0.0.61", Status::Down)]), t0, 1)
        });
        let got = agreement.recompute(t0);
        assert_eq!(got.map(|r| (r.changed, r.disagreements)), Some((1, 0)));
        assert_eq!(snap.health.get(a), Status::Down);

        // Peers stale: this instance decides alone.
        snap.health.set_local(a, Status::Up);
        snap.health.set_local(b, Status::Down);
        let later = t0 + Duration::from_secs(10);
        let got = agreement.recompute(later);
        assert_eq!(got.map(|r| r.observers), Some(1));
        assert_eq!(
            (snap.health.get(a), snap.health.get(b)),
            (Status::Up, Status::Down)
        );
    }
}
