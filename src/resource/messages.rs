//! Everything a `ResourceActor` accepts: its API at a glance.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use actix::Message;
use fillstack_protocol::{HistoryEntry, Pattern, RequestId, Seq, SnapshotFrame};

use super::state::Change;
use crate::error::Rejection;
use crate::outbox::Outbox;

/// Identifies one subscriber (a session) across every resource it watches.
pub type SubscriberId = u64;

/// Publish a change; answers the seq once it is durable and fanned out.
#[derive(Message)]
#[rtype(result = "Result<Seq, Rejection>")]
pub struct Publish {
    /// What the publisher asks for.
    pub change: Change,
}

/// Publish a change for a session's request: the resource queues the `ack` (or
/// the `error`) in the session's outbox itself once the change is durable, so
/// the answer takes no task, channel or wakeup of its own.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PublishFor {
    /// What the publisher asks for.
    pub change: Change,
    /// Where the answer goes.
    pub ack: AckTo,
}

/// A session's request waiting for its answer from a resource.
pub struct AckTo {
    /// The request's id, echoed in the answer.
    pub id: RequestId,
    /// The session's session id, for log lines.
    pub session: SubscriberId,
    /// The session's outbox.
    pub outbox: Outbox,
    /// The session's count of requests waiting; the answer takes one off.
    pub in_flight: Arc<AtomicUsize>,
}

/// Delete the resource; answers the seq of the deletion once durable.
#[derive(Message)]
#[rtype(result = "Result<Seq, Rejection>")]
pub struct Remove;

/// Start sending this resource's changes to a subscriber, beginning with a snapshot,
/// or with the deltas after `since` when the resource still holds them.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    /// Who subscribes.
    pub subscriber: SubscriberId,
    /// Where its frames go.
    pub outbox: Outbox,
    /// The pattern that matched (a subscriber may match through several).
    pub pattern: Pattern,
    /// The last seq the subscriber saw, when resuming.
    pub since: Option<Seq>,
}

/// Stop sending through `pattern`; the subscriber goes when no pattern is left.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    /// Who unsubscribes.
    pub subscriber: SubscriberId,
    /// The pattern it no longer watches.
    pub pattern: Pattern,
}

/// A subscriber's session ended: forget it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubscriberGone {
    /// Who left.
    pub subscriber: SubscriberId,
}

/// The subscriber's outbox dropped deltas: push it one fresh snapshot with `reset: true`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Resync {
    /// Whose outbox conflated.
    pub subscriber: SubscriberId,
}

/// The current (durable) snapshot, or `not_found`.
#[derive(Message)]
#[rtype(result = "Result<SnapshotFrame, Rejection>")]
pub struct TakeSnapshot;

/// Deltas after `since`, oldest first, at most `limit`.
#[derive(Message)]
#[rtype(result = "Result<HistoryPage, Rejection>")]
pub struct ReadHistory {
    /// Exclusive lower bound.
    pub since: Seq,
    /// Most entries to return.
    pub limit: usize,
}

/// One page of history.
#[derive(Debug)]
pub struct HistoryPage {
    /// The entries, oldest first.
    pub entries: Vec<HistoryEntry>,
    /// False when entries after `since` were no longer kept.
    pub complete: bool,
}
