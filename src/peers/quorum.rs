//! The agreed verdict per endpoint (SPEC §4.1): a pure function of this instance's own
//! verdicts, the peers' views and the time. No clock, no I/O.
//!
//! ```text
//!  local verdicts (slot order) ─┐
//!  peer views, aligned by key ──┼─► agree ─► per endpoint: status, down, observers
//!  now, stale_after, quorum ────┘
//! ```
//!
//! Rules, per endpoint:
//!
//! - The observers are this instance plus every peer that was heard within `stale_after`
//!   before `now` *and* reported the endpoint. A peer that does not know the endpoint (its
//!   configuration is older or newer) is no observer of it; a peer never heard, or heard
//!   too long ago, is nobody's observer.
//! - `down` counts the observers that see the endpoint down.
//! - `quorum = "majority"`: down when `down > observers / 2`, i.e. more than half. With 3
//!   observers 2 must see it down; with 2, both; with 1 (no fresh peer), this instance alone
//!   decides, exactly as without `[peers]`.
//! - `quorum = N`: down when `down >= min(N, observers)`. `N = 1` fails over as soon as any
//!   observer sees a failure; a quorum larger than the observers heard from asks all of them,
//!   so an instance with no fresh peer still decides alone.
//!
//! The function is monotonic (one more observer seeing down never turns a down verdict up),
//! independent of peer order, and ignores stale peers entirely; the property tests below say
//! so over random inputs.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::model::Quorum;
use crate::health::Status;

/// One peer's view, as the agreement reads it.
#[derive(Debug, Clone, Copy)]
pub struct PeerInput<'a> {
    /// When the peer was last heard from (its last good read); `None`: never.
    pub heard_at: Option<Instant>,
    /// The peer's verdict per endpoint, index for index with the local verdicts; `None` where
    /// the peer does not check that endpoint. A shorter slice means `None` for the rest.
    pub verdicts: &'a [Option<Status>],
}

/// The agreed verdict of one endpoint, with the counts behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    /// The state answers use.
    pub status: Status,
    /// Observers that see the endpoint down (this instance included).
    pub down: u32,
    /// Observers of the endpoint: this instance plus the fresh peers that report it.
    pub observers: u32,
}

/// True when a peer heard at `heard_at` still counts at `now`: heard less than `stale_after`
/// ago.
pub fn is_fresh(heard_at: Option<Instant>, now: Instant, stale_after: Duration) -> bool {
    heard_at.is_some_and(|t| now.saturating_duration_since(t) < stale_after)
}

/// The verdict for `down` of `observers` observers under `quorum`.
pub fn decide(quorum: Quorum, down: u32, observers: u32) -> Status {
    let observers = observers.max(1);
    let is_down = match quorum {
        Quorum::Majority => down * 2 > observers,
        Quorum::AtLeast(n) => down >= n.get().min(observers),
    };
    if is_down { Status::Down } else { Status::Up }
}

/// The agreed verdict of every endpoint (index for index with `local`).
pub fn agree(
    local: &[Status],
    peers: &[PeerInput<'_>],
    now: Instant,
    stale_after: Duration,
    quorum: Quorum,
) -> Vec<Agreed> {
    let fresh: Vec<&PeerInput<'_>> = peers
        .iter()
        .filter(|p| is_fresh(p.heard_at, now, stale_after))
        .collect();
    local
        .iter()
        .enumerate()
        .map(|(i, &own)| {
            let mut observers = 1u32;
            let mut down = u32::from(own == Status::Down);
            for p in &fresh {
                if let Some(Some(v)) = p.verdicts.get(i) {
                    observers += 1;
                    down += u32::from(*v == Status::Down);
                }
            }
            Agreed {
                status: decide(quorum, down, observers),
                down,
                observers,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::num::NonZeroU32;

    use Status::{Down, Up};

    const STALE: Duration = Duration::from_secs(10);

    fn at_least(n: u32) -> Quorum {
        Quorum::AtLeast(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
    }

    fn peer(heard: Option<Instant>, v: &[Option<Status>]) -> PeerInput<'_> {
        PeerInput {
            heard_at: heard,
            verdicts: v,
        }
    }

    #[test]
    fn majority_table() {
        // (down, observers) -> status
        let cases = [
            (0, 1, Up),
            (1, 1, Down),
            (1, 2, Up),
            (2, 2, Down),
            (1, 3, Up),
            (2, 3, Down),
            (2, 4, Up),
            (3, 4, Down),
            (3, 5, Down),
        ];
        for (down, observers, want) in cases {
            assert_eq!(
                decide(Quorum::Majority, down, observers),
                want,
                "{down}/{observers}"
            );
        }
    }

    #[test]
    fn count_table() {
        let cases = [
            (1, 0, 3, Up),
            (1, 1, 3, Down), // any observer seeing it down
            (1, 1, 1, Down),
            (2, 1, 3, Up),
            (2, 2, 3, Down),
            (3, 2, 3, Up),
            (3, 2, 2, Down), // only 2 observers heard: both must see it down
            (3, 1, 1, Down), // alone: decides alone
        ];
        for (n, down, observers, want) in cases {
            assert_eq!(
                decide(at_least(n), down, observers),
                want,
                "{n}: {down}/{observers}"
            );
        }
    }

    #[test]
    fn one_bad_vantage_point_is_outvoted() {
        let now = Instant::now();
        let seen_up = [Some(Up)];
        let peers = [peer(Some(now), &seen_up), peer(Some(now), &seen_up)];
        let got = agree(&[Down], &peers, now, STALE, Quorum::Majority);
        assert_eq!(
            got,
            vec![Agreed {
                status: Up,
                down: 1,
                observers: 3
            }]
        );
        // Two of three see it down: down.
        let seen_down = [Some(Down)];
        let peers = [peer(Some(now), &seen_down), peer(Some(now), &seen_up)];
        assert_eq!(
            agree(&[Down], &peers, now, STALE, Quorum::Majority)[0].status,
            Down
        );
        // The local instance may be the one outvoted the other way round as well.
        let peers = [peer(Some(now), &seen_down), peer(Some(now), &seen_down)];
        assert_eq!(
            agree(&[Up], &peers, now, STALE, Quorum::Majority)[0].status,
            Down
        );
    }

    #[test]
    fn stale_and_never_heard_peers_do_not_count() {
        let start = Instant::now();
        let now = start + Duration::from_secs(30);
        let seen_up = [Some(Up)];
        let peers = [
            peer(Some(now - STALE), &seen_up), // exactly stale_after ago: stale
            peer(None, &seen_up),
        ];
        let got = agree(&[Down], &peers, now, STALE, Quorum::Majority);
        assert_eq!(got[0].observers, 1);
        assert_eq!(got[0].status, Down, "alone: the local verdict");
        let fresh = [peer(Some(now - STALE + Duration::from_millis(1)), &seen_up)];
        assert_eq!(
            agree(&[Down], &fresh, now, STALE, Quorum::Majority)[0].observers,
            2
        );
    }

    #[test]
    fn endpoints_a_peer_does_not_know_are_decided_by_those_that_do() {
        let now = Instant::now();
        // Peer A knows endpoints 0 and 1; peer B only 0 (a shorter slice).
        let a = [Some(Down), Some(Down)];
        let b = [Some(Down)];
        let peers = [peer(Some(now), &a), peer(Some(now), &b)];
        let got = agree(&[Up, Up, Down], &peers, now, STALE, Quorum::Majority);
        assert_eq!((got[0].down, got[0].observers, got[0].status), (2, 3, Down));
        assert_eq!((got[1].down, got[1].observers, got[1].status), (1, 2, Up));
        assert_eq!((got[2].down, got[2].observers, got[2].status), (1, 1, Down));
    }

    fn status() -> impl Strategy<Value = Status> {
        prop_oneof![Just(Up), Just(Down)]
    }

    fn quorum() -> impl Strategy<Value = Quorum> {
        prop_oneof![Just(Quorum::Majority), (1u32..6).prop_map(at_least)]
    }

    /// Random inputs: local verdicts, and per peer an age in seconds (>= 10 is stale; None is
    /// never heard) and a verdict per endpoint (None = unknown).
    type Inputs = (Vec<Status>, Vec<(Option<u64>, Vec<Option<Status>>)>, Quorum);

    fn inputs() -> impl Strategy<Value = Inputs> {
        (1usize..8).prop_flat_map(|n| {
            (
                proptest::collection::vec(status(), n),
                proptest::collection::vec(
                    (
                        proptest::option::of(0u64..20),
                        proptest::collection::vec(proptest::option::of(status()), 0..=n),
                    ),
                    0..5,
                ),
                quorum(),
            )
        })
    }

    fn run(
        local: &[Status],
        peers: &[(Option<u64>, Vec<Option<Status>>)],
        q: Quorum,
    ) -> Vec<Agreed> {
        let base = Instant::now();
        let now = base + Duration::from_secs(100);
        let inputs: Vec<PeerInput<'_>> = peers
            .iter()
            .map(|(age, v)| peer(age.map(|a| now - Duration::from_secs(a)), v))
            .collect();
        agree(local, &inputs, now, STALE, q)
    }

    proptest! {
        /// With no fresh peer every verdict is the local one, whatever the quorum.
        #[test]
        fn alone_is_local((local, peers, q) in inputs()) {
            let stale: Vec<_> = peers.into_iter().map(|(_, v)| (Some(10), v)).collect();
            let got = run(&local, &stale, q);
            let statuses: Vec<Status> = got.iter().map(|a| a.status).collect();
            prop_assert_eq!(statuses, local);
        }

        /// Stale peers change nothing: removing them gives the same result.
        #[test]
        fn stale_peers_change_nothing((local, peers, q) in inputs()) {
            let fresh: Vec<_> = peers
                .iter()
                .filter(|(age, _)| age.is_some_and(|a| a < 10))
                .cloned()
                .collect();
            prop_assert_eq!(run(&local, &peers, q), run(&local, &fresh, q));
        }

        /// The order of the peers does not matter.
        #[test]
        fn peer_order_does_not_matter((local, mut peers, q) in inputs()) {
            let before = run(&local, &peers, q);
            peers.reverse();
            prop_assert_eq!(before, run(&local, &peers, q));
        }

        /// Unanimous observers decide: all up is up, all down is down.
        #[test]
        fn unanimity((local, peers, q) in inputs()) {
            for (i, a) in run(&local, &peers, q).iter().enumerate() {
                if a.down == a.observers {
                    prop_assert_eq!(a.status, Down, "endpoint {}", i);
                }
                if a.down == 0 {
                    prop_assert_eq!(a.status, Up, "endpoint {}", i);
                }
                prop_assert!(a.observers >= 1 && a.down <= a.observers);
            }
        }

        /// Monotonic: one more observer seeing an endpoint down never turns it up.
        #[test]
        fn monotonic((local, mut peers, q) in inputs(), which in any::<prop::sample::Index>()) {
            let before = run(&local, &peers, q);
            if peers.is_empty() {
                return Ok(());
            }
            let p = which.index(peers.len());
            for v in peers[p].1.iter_mut() {
                if *v == Some(Up) {
                    *v = Some(Down);
                }
            }
            let after = run(&local, &peers, q);
            for (b, a) in before.iter().zip(&after) {
                prop_assert!(!(b.status == Down && a.status == Up), "{:?} -> {:?}", b, a);
            }
        }

        /// Majority: down exactly when more than half of the endpoint's observers see it down,
        /// where the observers are this instance and the fresh peers that report it.
        #[test]
        fn majority_counts((local, peers, _q) in inputs()) {
            let got = run(&local, &peers, Quorum::Majority);
            for (i, a) in got.iter().enumerate() {
                let mut observers = 1;
                let mut down = u32::from(local[i] == Down);
                for (age, v) in &peers {
                    if age.is_some_and(|a| a < 10) && let Some(Some(s)) = v.get(i) {
                        observers += 1;
                        down += u32::from(*s == Down);
                    }
                }
                prop_assert_eq!((a.down, a.observers), (down, observers));
                prop_assert_eq!(a.status == Down, down * 2 > observers);
            }
        }
    }
}
