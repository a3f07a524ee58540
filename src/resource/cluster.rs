//! A resource actor in cluster mode. Its changes are not committed to the local
//! store by the actor: each is decided on the head, published to the cluster's
//! stream with the head's stream sequence as the expected last one, and becomes
//! visible when this hub's consumer brings it back ([`Replicated`]), as every
//! other hub's changes do. One publish per resource is in flight from a hub; the
//! rest wait here as intents, decided in turn, each on the head its predecessor
//! made. A publish refused because another hub wrote first is decided again on
//! the new head, up to [`MAX_CONFLICTS`] times.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use actix::prelude::*;
use fillstack_protocol::Seq;

use super::messages::{Replicated, Reply};
use super::pipeline::{self, Decided};
use super::state::Change;
use super::{ResourceActor, record};
use crate::cluster::{Cluster, PublishFailure, RecordRef};
use crate::error::Rejection;
use crate::limits::Writer;
use crate::metrics::METRICS;

/// Refusals in a row (another hub wrote first) before a publish answers
/// `unavailable`: only a resource written by several hubs at once gets there.
pub const MAX_CONFLICTS: u32 = 8;
/// How long a decision waits for the consumer to bring the head up to date
/// before it is made anyway (the broker's check keeps it safe either way).
const AWAIT_HEAD: Duration = Duration::from_secs(2);
/// Wait before taking a message the local store could not queue again.
const STORE_RETRY: Duration = Duration::from_millis(50);

/// What a client or the hub asked of the resource, decided when its turn comes.
pub enum Intent {
    /// A publish (from a session, REST, a probe, an alert or a rollup).
    Change {
        change: Change,
        by: Writer,
        reply: Option<Reply<Seq>>,
        started: Option<Instant>,
    },
    /// A deletion.
    Remove { reply: Reply<Seq> },
    /// The move to `stale` once the TTL ran out (this hub owns the duty).
    Expire,
}

impl Intent {
    fn refuse(self, rejection: Rejection) {
        match self {
            Self::Change {
                reply: Some(reply), ..
            }
            | Self::Remove { reply } => reply.send(Err(rejection)),
            Self::Change { reply: None, .. } => {
                tracing::warn!(message = %rejection.message, "the hub's own change was not recorded");
            }
            Self::Expire => {}
        }
    }
}

/// Where the actor's own publishing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flight {
    /// Free to decide the next intent.
    Idle,
    /// A publish is at the broker.
    Publishing,
    /// The next decision waits until the head has applied this stream sequence.
    Awaiting(u64),
}

/// The cluster-mode part of a resource actor.
pub struct ClusterPath {
    link: Cluster,
    intents: VecDeque<Intent>,
    flight: Flight,
    conflicts: u32,
    /// Messages of the stream waiting for room in the local store, in order.
    backlog: VecDeque<Replicated>,
    /// Stream sequences committed locally and not yet durable, by seq.
    local: VecDeque<(Seq, u64)>,
}

impl ClusterPath {
    /// The path of a resource on a hub joined to `link`'s cluster.
    pub fn new(link: Cluster) -> Self {
        Self {
            link,
            intents: VecDeque::new(),
            flight: Flight::Idle,
            conflicts: 0,
            backlog: VecDeque::new(),
            local: VecDeque::new(),
        }
    }

    /// Whether an expiry is already waiting its turn.
    fn expiry_waits(&self) -> bool {
        self.intents
            .iter()
            .any(|intent| matches!(intent, Intent::Expire))
    }
}

/// What deciding an intent on the head came to.
enum Outcome {
    /// Nothing to publish: answer once this seq is committed here.
    Settled(Seq),
    /// Refused on the head.
    Refused(Rejection),
    /// Nothing to do (an expiry that no longer applies).
    Nothing,
    /// A change to publish.
    Publish(Decided),
}

impl ResourceActor {
    /// Whether this hub does this resource's duties (always on one node).
    pub(super) fn does_duties(&self) -> bool {
        self.cluster
            .as_ref()
            .is_none_or(|path| path.link.owns(&self.id))
    }

    /// Queues `intent` for its turn (refused `unavailable` when too many wait).
    pub(super) fn submit(&mut self, intent: Intent, ctx: &mut Context<Self>) {
        let Some(path) = self.cluster.as_mut() else {
            return;
        };
        if path.intents.len() >= pipeline::MAX_WAITERS {
            intent.refuse(Rejection::unavailable(
                format!(
                    "{} changes of {} are waiting for the cluster; retry",
                    pipeline::MAX_WAITERS,
                    self.id
                ),
                Duration::from_millis(100),
            ));
            return;
        }
        if matches!(intent, Intent::Expire) && path.expiry_waits() {
            return;
        }
        path.intents.push_back(intent);
        self.pump(ctx);
    }

    /// Decides the next intents in turn until one goes to the broker.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        loop {
            let head_stream_seq = self.pipeline.head().stream_seq;
            let Some(path) = self.cluster.as_mut() else {
                return;
            };
            match path.flight {
                Flight::Publishing => return,
                Flight::Awaiting(until) if head_stream_seq < until => return,
                Flight::Awaiting(_) | Flight::Idle => path.flight = Flight::Idle,
            }
            let Some(intent) = path.intents.pop_front() else {
                return;
            };
            match self.decide_intent(&intent) {
                Outcome::Settled(seq) => match intent {
                    Intent::Change {
                        reply: Some(reply),
                        started,
                        ..
                    } => self.wait(seq, reply, started),
                    Intent::Remove { reply } => self.wait(seq, reply, None),
                    _ => {}
                },
                Outcome::Refused(rejection) => intent.refuse(rejection),
                Outcome::Nothing => self.arm_ttl(ctx),
                Outcome::Publish(decided) => {
                    self.publish(intent, decided, ctx);
                    return;
                }
            }
        }
    }

    fn decide_intent(&self, intent: &Intent) -> Outcome {
        let now = self.clock.now_ms();
        let decided = match intent {
            Intent::Change { change, by, .. } => {
                if !self.pipeline.head().exists
                    && let Err(rejection) = self.quotas.admit_resource(by)
                {
                    METRICS.publishes_refused.inc();
                    return Outcome::Refused(rejection);
                }
                match self.pipeline.decide(change, now) {
                    Ok(Some(mut decided)) => {
                        if decided.delta.is_creation() {
                            decided.created_by(by.subject().map(|subject| subject.to_string()));
                        }
                        Ok(Some(decided))
                    }
                    Ok(None) => {
                        METRICS.publishes_unchanged.inc();
                        return Outcome::Settled(self.pipeline.head().seq);
                    }
                    Err(rejection) => {
                        METRICS.publishes_refused.inc();
                        Err(rejection)
                    }
                }
            }
            Intent::Remove { .. } => match self.pipeline.decide_removal(now) {
                Ok(None) => Err(Rejection::not_found(&self.id)),
                other => other,
            },
            Intent::Expire if !self.does_duties() => return Outcome::Nothing,
            Intent::Expire => self.pipeline.decide_expiry(now),
        };
        match decided {
            Ok(Some(decided)) => Outcome::Publish(decided),
            Ok(None) => Outcome::Nothing,
            Err(rejection) => Outcome::Refused(rejection),
        }
    }

    /// Sends `decided` to the broker; its answer comes back to the actor.
    fn publish(&mut self, intent: Intent, decided: Decided, ctx: &mut Context<Self>) {
        let Some(path) = self.cluster.as_mut() else {
            return;
        };
        path.flight = Flight::Publishing;
        let expected = self.pipeline.head().stream_seq;
        let seq = decided.delta.seq;
        let bytes = record(&RecordRef {
            delta: &decided.delta,
            state: &decided.state,
        });
        let link = path.link.clone();
        let id = self.id.clone();
        ctx.spawn(
            async move { link.publish(&id, bytes, expected).await }
                .into_actor(self)
                .map(move |outcome, resource, ctx| {
                    resource.published(intent, seq, expected, outcome, ctx);
                }),
        );
    }

    /// The broker's answer to the publish of `intent`, decided as `seq`.
    fn published(
        &mut self,
        intent: Intent,
        seq: Seq,
        expected: u64,
        outcome: Result<u64, PublishFailure>,
        ctx: &mut Context<Self>,
    ) {
        let Some(path) = self.cluster.as_mut() else {
            return;
        };
        path.flight = Flight::Idle;
        match outcome {
            Ok(stream_seq) => {
                path.conflicts = 0;
                path.flight = Flight::Awaiting(stream_seq);
                self.await_head(stream_seq, ctx);
                match intent {
                    Intent::Change { reply, started, .. } => {
                        METRICS.publishes_changed.inc();
                        if let Some(reply) = reply {
                            self.wait(seq, reply, started);
                        }
                    }
                    Intent::Remove { reply } => self.wait(seq, reply, None),
                    Intent::Expire => METRICS.ttl_expiries.inc(),
                }
            }
            Err(PublishFailure::Conflict) if path.conflicts + 1 < MAX_CONFLICTS => {
                // Another hub wrote first: decide again once its change is here.
                path.conflicts += 1;
                path.intents.push_front(intent);
                path.flight = Flight::Awaiting(expected + 1);
                self.await_head(expected + 1, ctx);
            }
            Err(PublishFailure::Conflict) => {
                path.conflicts = 0;
                intent.refuse(Rejection::unavailable(
                    format!(
                        "{} was written by other hubs {MAX_CONFLICTS} times while this one decided; retry",
                        self.id
                    ),
                    Duration::from_millis(50),
                ));
            }
            Err(PublishFailure::Unavailable(message)) => {
                path.conflicts = 0;
                if matches!(intent, Intent::Expire) {
                    // An expiry is never dropped: tried again by the TTL timer.
                    self.expire_in(Duration::from_millis(500), ctx);
                }
                intent.refuse(Rejection::unavailable(message, Duration::from_millis(500)));
            }
        }
        self.pump(ctx);
    }

    /// Stops waiting for the head after [`AWAIT_HEAD`]: a consumer that stalls
    /// delays decisions, it does not stop them.
    fn await_head(&mut self, until: u64, ctx: &mut Context<Self>) {
        ctx.run_later(AWAIT_HEAD, move |resource, ctx| {
            if let Some(path) = resource.cluster.as_mut()
                && path.flight == Flight::Awaiting(until)
            {
                path.flight = Flight::Idle;
                resource.pump(ctx);
            }
        });
    }

    /// Writes the stream's messages waiting here to the local copy, in order;
    /// a full store queue is tried again shortly, keeping the order.
    fn apply_backlog(&mut self, ctx: &mut Context<Self>) {
        loop {
            let head_seq = self.pipeline.head().seq;
            let Some(path) = self.cluster.as_mut() else {
                return;
            };
            let Some(Replicated { stream_seq, record }) = path.backlog.pop_front() else {
                break;
            };
            if record.delta.seq <= head_seq {
                path.link.confirm(stream_seq); // Applied before (a replay).
                continue;
            }
            let mut state = record.state;
            state.stream_seq = stream_seq;
            let decided = Decided {
                delta: record.delta,
                state,
            };
            match self.commit_or_hand_back(decided, ctx) {
                Ok(seq) => {
                    if let Some(path) = self.cluster.as_mut() {
                        path.local.push_back((seq, stream_seq));
                    }
                }
                Err(failed) => {
                    let (rejection, keep) = *failed;
                    tracing::warn!(resource = %self.id, message = %rejection.message, "the local copy is busy; applying again shortly");
                    if let Some(path) = self.cluster.as_mut() {
                        path.backlog.push_front(Replicated {
                            stream_seq,
                            record: crate::cluster::Record {
                                delta: keep.delta,
                                state: keep.state,
                            },
                        });
                    }
                    ctx.run_later(STORE_RETRY, |resource, ctx| resource.apply_backlog(ctx));
                    return;
                }
            }
        }
        self.arm_ttl(ctx);
        self.pump(ctx);
    }

    /// Everything up to `committed` is durable here: its messages are confirmed
    /// to the consumer (the cursor may pass them).
    pub(super) fn confirm_durable(&mut self) {
        let committed = self.pipeline.committed().seq;
        let Some(path) = self.cluster.as_mut() else {
            return;
        };
        while path.local.front().is_some_and(|(seq, _)| *seq <= committed) {
            if let Some((_, stream_seq)) = path.local.pop_front() {
                path.link.confirm(stream_seq);
            }
        }
    }

    /// The local store failed these commits: they are not confirmed, so the
    /// cursor stays before them and a restart applies them again.
    pub(super) fn forget_local(&mut self) {
        if let Some(path) = self.cluster.as_mut() {
            path.local.clear();
        }
    }

    /// Whether this actor runs in cluster mode.
    pub(super) fn is_clustered(&self) -> bool {
        self.cluster.is_some()
    }
}

impl Handler<Replicated> for ResourceActor {
    type Result = ();

    fn handle(&mut self, replicated: Replicated, ctx: &mut Context<Self>) {
        let Some(path) = self.cluster.as_mut() else {
            return;
        };
        path.backlog.push_back(replicated);
        if path.backlog.len() == 1 {
            self.apply_backlog(ctx);
        }
    }
}
