//! [`Fleet`]: the shared handle between the peer poller, the agreement, the admin listener and
//! metrics. Holds the peer book behind a mutex that only those background tasks and admin
//! requests take (never the query path, which reads the health table), and the wake-up that
//! asks the agreement to recompute.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::book::{PeerRecord, PeerStatus};

/// Peers of this instance and the agreement's wake-up.
#[derive(Debug, Default)]
pub struct Fleet {
    book: Mutex<Vec<PeerRecord>>,
    wake: Notify,
    /// Set once a first round of reads has finished (or there are no peers): until then the
    /// agreement keeps the agreed states restored from the state file instead of deciding
    /// alone on a peer book that is merely empty.
    first_round: AtomicBool,
}

impl Fleet {
    /// No peers known yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PeerRecord>> {
        // A poisoned lock means a panic elsewhere while holding it; the records stay valid.
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the agreement to recompute now (a local flip, a finished round, a reload).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits for [`Fleet::wake`] (a wake-up sent while nobody waits is kept for the next wait).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Marks the first round of reads as finished.
    pub fn first_round_done(&self) {
        self.first_round.store(true, Ordering::Release);
    }

    /// Whether a first round of reads has finished.
    pub fn has_polled(&self) -> bool {
        self.first_round.load(Ordering::Acquire)
    }

    /// Makes the book hold exactly `urls`, in that order, keeping what is known of the URLs
    /// that stay (a reload that adds a peer does not forget the others).
    pub fn sync_urls(&self, urls: &[String]) {
        let mut book = self.lock();
        if book.iter().map(|r| &r.url).eq(urls.iter()) {
            return;
        }
        let mut old = std::mem::take(&mut *book);
        for url in urls {
            match old.iter().position(|r| &r.url == url) {
                Some(i) => book.push(old.swap_remove(i)),
                None => book.push(PeerRecord::new(url)),
            }
        }
    }

    /// Applies `f` to the record of `url`, if it is in the book.
    pub fn update(&self, url: &str, f: impl FnOnce(&mut PeerRecord)) {
        if let Some(r) = self.lock().iter_mut().find(|r| r.url == url) {
            f(r);
        }
    }

    /// A copy of every record (the views are shared, not copied).
    pub fn records(&self) -> Vec<PeerRecord> {
        self.lock().clone()
    }

    /// Every peer as of `now`.
    pub fn statuses(&self, now: Instant, stale_after: Duration) -> Vec<PeerStatus> {
        self.lock()
            .iter()
            .map(|r| r.status(now, stale_after))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peers::report::PeerView;

    #[test]
    fn sync_keeps_known_peers() {
        let fleet = Fleet::new();
        fleet.sync_urls(&["a".into(), "b".into()]);
        fleet.update("b", |r| r.heard(PeerView::default(), Instant::now(), 1));
        fleet.sync_urls(&["c".into(), "b".into()]);
        let records = fleet.records();
        let urls: Vec<&str> = records.iter().map(|r| r.url.as_str()).collect();
        assert_eq!(urls, ["c", "b"]);
        assert!(records[1].view.is_some(), "b kept its view");
        assert!(records[0].view.is_none());
    }
}
