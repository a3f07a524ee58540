//! Rollups: a derived resource whose status is the worst of its members' and
//! whose fields count members per status.
//!
//! The counts are shared atomics that each member's actor moves when its own
//! status changes (incremental: nothing ever rescans the members); a rollup's
//! publisher wakes on a change and publishes the counts it reads then, so a
//! burst of member changes makes one publish.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use fillstack_protocol::{Scalar, Status};
use tokio::sync::Notify;

use super::spec::RollupSpec;
use crate::resource::state::Change;

/// Worst first, as the contract orders them.
pub const WORST_FIRST: [Status; 6] = [
    Status::Down,
    Status::Degraded,
    Status::Stale,
    Status::Unknown,
    Status::Maintenance,
    Status::Up,
];

fn index(status: Status) -> usize {
    Status::ALL
        .iter()
        .position(|s| *s == status)
        .expect("every status is in ALL")
}

/// Members per status.
pub type Counts = [i64; 6];

/// The rollup's status and fields for `counts`.
pub fn change(counts: &Counts) -> Change {
    let status = WORST_FIRST
        .into_iter()
        .find(|status| counts[index(*status)] > 0)
        .unwrap_or(Status::Unknown);
    let mut fields: fillstack_protocol::FieldChanges = Status::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), Some(Scalar::Int(counts[index(*s)]))))
        .collect();
    fields.insert("total".to_owned(), Some(Scalar::Int(counts.iter().sum())));
    Change {
        status: Some(status),
        fields,
        ..Change::default()
    }
}

/// One installed rollup: its spec, the live counts, and a wake-up for its publisher.
#[derive(Debug)]
pub struct Rollup {
    pub spec: RollupSpec,
    counts: [AtomicI64; 6],
    changed: Notify,
    /// Cleared when a reload removes or replaces it; members then let go of it.
    live: AtomicBool,
}

impl Rollup {
    pub fn new(spec: RollupSpec) -> Arc<Self> {
        Arc::new(Self {
            spec,
            counts: Default::default(),
            changed: Notify::new(),
            live: AtomicBool::new(true),
        })
    }

    /// A member moved from `before` to `after` (`None`: it does not exist).
    pub fn moved(&self, before: Option<Status>, after: Option<Status>) {
        if before == after {
            return;
        }
        if let Some(status) = before {
            self.counts[index(status)].fetch_sub(1, Ordering::AcqRel);
        }
        if let Some(status) = after {
            self.counts[index(status)].fetch_add(1, Ordering::AcqRel);
        }
        self.changed.notify_one();
    }

    /// The counts now.
    pub fn counts(&self) -> Counts {
        std::array::from_fn(|i| self.counts[i].load(Ordering::Acquire).max(0))
    }

    /// Waits until a member changes (a change before the call counts).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    pub fn retire(&self) {
        self.live.store(false, Ordering::Release);
        self.changed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fillstack_protocol::Pattern;
    use proptest::prelude::*;

    fn rollup() -> Arc<Rollup> {
        Rollup::new(RollupSpec {
            resource: fillstack_protocol::ResourceId::parse("rollup/x").unwrap(),
            pattern: Pattern::parse("svc/**").unwrap(),
        })
    }

    #[test]
    fn the_status_is_the_worst_present_and_unknown_when_empty() {
        let mut counts = [0; 6];
        assert_eq!(change(&counts).status, Some(Status::Unknown));
        counts[index(Status::Up)] = 3;
        counts[index(Status::Maintenance)] = 1;
        assert_eq!(change(&counts).status, Some(Status::Maintenance));
        counts[index(Status::Stale)] = 1;
        assert_eq!(change(&counts).status, Some(Status::Stale));
        counts[index(Status::Down)] = 1;
        let change = change(&counts);
        assert_eq!(change.status, Some(Status::Down));
        assert_eq!(change.fields["total"], Some(Scalar::Int(6)));
        assert_eq!(change.fields["up"], Some(Scalar::Int(3)));
    }

    proptest! {
        /// Moving members one change at a time always gives the counts of a
        /// recount of the members' statuses.
        #[test]
        fn incremental_counts_equal_a_recount(moves in prop::collection::vec((0usize..8, 0usize..7), 0..300)) {
            let rollup = rollup();
            let mut members: [Option<Status>; 8] = [None; 8];
            for (member, status) in moves {
                let after = Status::ALL.get(status).copied();
                rollup.moved(members[member], after);
                members[member] = after;
                let mut recount = [0i64; 6];
                for status in members.iter().flatten() {
                    recount[index(*status)] += 1;
                }
                prop_assert_eq!(rollup.counts(), recount);
            }
        }
    }
}
