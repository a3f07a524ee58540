//! A resource actor in cluster mode. Its changes are not committed to the local
//! store by the actor: each is decided on the head, published to the cluster's
//! stream with the head's stream sequence as the expected last one, and becomes
//! visible when this hub's consumer brings it back ([`Replicated`]), as every
//! other hub's changes do. One message per resource is in flight from a hub; the
//! intents that wait meanwhile are decided together, in order, into the next
//! message (up to [`MAX_BATCH`] changes): a hot resource costs one broker round
//! trip per batch, not per change. A message refused because another hub wrote
//! first is decided again on the new head, for up to [`CONFLICT_FOR`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use actix::prelude::*;
use fillstack_protocol::Seq;

use super::messages::{Replicated, Reply};
use super::pipeline::{self, Decided};
use super::state::{Change, Delta, ResourceState};
use super::{ResourceActor, record};
use crate::cluster::{Cluster, PublishFailure, Record};
use crate::error::Rejection;
use crate::limits::Writer;
use crate::metrics::METRICS;

/// How long an intent keeps being decided again while other hubs write first
/// before it answers `unavailable`: only a resource written through several
/// hubs at once gets there, and each conflict means another hub progressed.
pub const CONFLICT_FOR: Duration = Duration::from_secs(5);
/// Changes decided into one message at most.
pub const MAX_BATCH: usize = 64;
/// Bytes of changes decided into one message at most (NATS takes 1 MiB).
const MAX_BATCH_BYTES: usize = 256 * 1024;
/// How long a decision waits (at least; at most twice this) for the consumer to
/// bring the head up to date before it is made anyway (the broker's check keeps
/// it safe either way).
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
    /// When the intent at the front first lost to another hub.
    conflicted_since: Option<Instant>,
    /// The one timer that stops a wait for the head (see `await_head`), and the
    /// wait it found at its last look.
    watchdog: Option<Flight>,
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
            conflicted_since: None,
            watchdog: None,
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

/// What deciding an intent on a state came to.
enum Outcome {
    /// Nothing to publish: answer once this seq is committed here.
    Settled(Seq),
    /// Refused on the state.
    Refused(Rejection),
    /// Nothing to do (an expiry that no longer applies).
    Nothing,
    /// A change to publish: the delta, and the state once it is applied.
    Publish(Decided),
}

/// Intents decided into one message, with the seq each waits for.
struct Batch {
    intents: Vec<(Intent, Seq)>,
    deltas: Vec<Delta>,
    state: ResourceState,
    bytes: usize,
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

    /// Answers the intents that need no message, in turn, then decides the next
    /// ones together into one message and sends it.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        let head_stream_seq = self.pipeline.head().stream_seq;
        let Some(path) = self.cluster.as_mut() else {
            return;
        };
        match path.flight {
            Flight::Publishing => return,
            Flight::Awaiting(until) if head_stream_seq < until => return,
            Flight::Awaiting(_) | Flight::Idle => path.flight = Flight::Idle,
        }
        let mut batch = Batch {
            intents: Vec::new(),
            deltas: Vec::new(),
            state: self.pipeline.head().clone(),
            bytes: 0,
        };
        while batch.deltas.len() < MAX_BATCH && batch.bytes < MAX_BATCH_BYTES {
            let Some(path) = self.cluster.as_mut() else {
                return;
            };
            let Some(intent) = path.intents.pop_front() else {
                break;
            };
            match self.decide_intent(&intent, &batch.state) {
                Outcome::Publish(decided) => {
                    batch.bytes += record(&decided.delta).len();
                    batch.intents.push((intent, decided.delta.seq));
                    batch.deltas.push(decided.delta);
                    batch.state = decided.state;
                }
                // Answered on the head: only before anything is batched, since
                // what it waits for must not hang on a message that may fail.
                outcome if batch.deltas.is_empty() => self.answer(intent, outcome, ctx),
                _ => {
                    if let Some(path) = self.cluster.as_mut() {
                        path.intents.push_front(intent);
                    }
                    break;
                }
            }
        }
        if !batch.deltas.is_empty() {
            self.publish(batch, ctx);
        }
    }

    /// Answers an intent that needs no message.
    fn answer(&mut self, intent: Intent, outcome: Outcome, ctx: &mut Context<Self>) {
        match outcome {
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
            Outcome::Publish(_) => unreachable!("a publish is batched, not answered"),
        }
    }

    /// Decides `intent` on `state` (the head, plus what is batched before it).
    fn decide_intent(&self, intent: &Intent, state: &ResourceState) -> Outcome {
        let now = self.clock.now_ms();
        let delta = match intent {
            Intent::Change { change, by, .. } => {
                if !state.exists
                    && let Err(rejection) = self.quotas.admit_resource(by)
                {
                    METRICS.publishes_refused.inc();
                    return Outcome::Refused(rejection);
                }
                match state.decide(change, now) {
                    Ok(Some(delta)) => {
                        let mut decided = made(state, delta);
                        if decided.delta.is_creation() {
                            decided.created_by(by.subject().map(|subject| subject.to_string()));
                        }
                        return Outcome::Publish(decided);
                    }
                    Ok(None) => {
                        METRICS.publishes_unchanged.inc();
                        return Outcome::Settled(state.seq);
                    }
                    Err(rejection) => {
                        METRICS.publishes_refused.inc();
                        return Outcome::Refused(rejection);
                    }
                }
            }
            Intent::Remove { .. } => match state.decide_removal(now) {
                Some(delta) => delta,
                None => return Outcome::Refused(Rejection::not_found(&self.id)),
            },
            Intent::Expire if !self.does_duties() => return Outcome::Nothing,
            Intent::Expire => match state.decide_expiry(now) {
                Some(delta) => delta,
                None => return Outcome::Nothing,
            },
        };
        Outcome::Publish(made(state, delta))
    }

    /// Sends `batch` to the broker as one message; its answer comes back here.
    fn publish(&mut self, batch: Batch, ctx: &mut Context<Self>) {
        let Some(path) = self.cluster.as_mut() else {
            return;
        };
        path.flight = Flight::Publishing;
        let expected = self.pipeline.head().stream_seq;
        let Batch {
            intents,
            deltas,
            state,
            ..
        } = batch;
        let bytes = record(&Record { deltas, state });
        let link = path.link.clone();
        let id = self.id.clone();
        ctx.spawn(
            async move { link.publish(&id, bytes, expected).await }
                .into_actor(self)
                .map(move |outcome, resource, ctx| {
                    resource.published(intents, expected, outcome, ctx);
                }),
        );
    }

    /// The broker's answer to the message of `intents`, decided on `expected`.
    fn published(
        &mut self,
        intents: Vec<(Intent, Seq)>,
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
                path.conflicted_since = None;
                self.await_head(stream_seq, ctx);
                for (intent, seq) in intents {
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
            }
            Err(PublishFailure::Conflict)
                if path
                    .conflicted_since
                    .get_or_insert_with(Instant::now)
                    .elapsed()
                    < CONFLICT_FOR =>
            {
                // Another hub wrote first: decide again once its change is here.
                for (intent, _) in intents.into_iter().rev() {
                    path.intents.push_front(intent);
                }
                self.await_head(expected + 1, ctx);
            }
            Err(PublishFailure::Conflict) => {
                path.conflicted_since = None;
                let message = format!(
                    "other hubs kept writing {} for {CONFLICT_FOR:?} while this one decided; retry",
                    self.id
                );
                for (intent, _) in intents {
                    intent.refuse(Rejection::unavailable(
                        message.clone(),
                        Duration::from_millis(50),
                    ));
                }
            }
            Err(PublishFailure::Unavailable(message)) => {
                path.conflicted_since = None;
                for (intent, _) in intents {
                    if matches!(intent, Intent::Expire) {
                        // An expiry is never dropped: tried again by the TTL timer.
                        self.expire_in(Duration::from_millis(500), ctx);
                    }
                    intent.refuse(Rejection::unavailable(
                        message.clone(),
                        Duration::from_millis(500),
                    ));
                }
            }
        }
        self.pump(ctx);
    }

    /// Waits for the head to apply stream sequence `until` before the next
    /// decision, and stops waiting if it does not within [`AWAIT_HEAD`] to twice
    /// that: a consumer that stalls delays decisions, it does not stop them. One
    /// timer per resource serves every wait, not one per message.
    fn await_head(&mut self, until: u64, ctx: &mut Context<Self>) {
        let Some(path) = self.cluster.as_mut() else {
            return;
        };
        path.flight = Flight::Awaiting(until);
        if path.watchdog.is_none() {
            path.watchdog = Some(Flight::Idle);
            ctx.run_later(AWAIT_HEAD, Self::watch_head);
        }
    }

    /// The watchdog's look: a wait it already saw at its last look has lasted
    /// too long and ends; another wait is looked at again later.
    fn watch_head(&mut self, ctx: &mut Context<Self>) {
        let Some(path) = self.cluster.as_mut() else {
            return;
        };
        match path.flight {
            Flight::Awaiting(_) if path.watchdog == Some(path.flight) => {
                path.watchdog = None;
                path.flight = Flight::Idle;
                self.pump(ctx);
            }
            Flight::Awaiting(_) => {
                path.watchdog = Some(path.flight);
                ctx.run_later(AWAIT_HEAD, Self::watch_head);
            }
            Flight::Idle | Flight::Publishing => path.watchdog = None,
        }
    }

    /// Writes the stream's messages waiting here to the local copy, in order;
    /// a full store queue is tried again shortly, keeping the order.
    fn apply_backlog(&mut self, ctx: &mut Context<Self>) {
        loop {
            let Some(path) = self.cluster.as_mut() else {
                return;
            };
            let Some(Replicated { stream_seq, record }) = path.backlog.pop_front() else {
                break;
            };
            let link = path.link.clone();
            let steps = self.steps(record, stream_seq);
            if steps.is_empty() {
                link.confirm(stream_seq); // Applied before (a replay).
                continue;
            }
            let mut steps = VecDeque::from(steps);
            while let Some(decided) = steps.pop_front() {
                if let Err(failed) = self.commit_or_hand_back(decided, ctx) {
                    // The local store is busy: the rest of this message again
                    // shortly, in order, before any later one.
                    let (rejection, decided) = *failed;
                    tracing::warn!(resource = %self.id, message = %rejection.message, "the local copy is busy; applying again shortly");
                    steps.push_front(decided);
                    let state = steps
                        .back()
                        .map(|last| last.state.clone())
                        .unwrap_or_default();
                    let record = Record {
                        deltas: steps.into_iter().map(|step| step.delta).collect(),
                        state,
                    };
                    if let Some(path) = self.cluster.as_mut() {
                        path.backlog.push_front(Replicated { stream_seq, record });
                    }
                    ctx.run_later(STORE_RETRY, |resource, ctx| resource.apply_backlog(ctx));
                    return;
                }
                if steps.is_empty()
                    && let Some(path) = self.cluster.as_mut()
                {
                    // Confirmed once its last change is durable here.
                    path.local.push_back((self.pipeline.head().seq, stream_seq));
                }
            }
        }
        self.arm_ttl(ctx);
        self.pump(ctx);
    }

    /// The local commits of one message of the stream: each change not applied
    /// yet, with the state it makes (the message's own state for the last one).
    /// After a gap (changes missing before it: a copy refilled from a trimmed
    /// stream), only the last change, with the message's state.
    fn steps(&self, record: Record, stream_seq: u64) -> Vec<Decided> {
        let head = self.pipeline.head();
        let Record { deltas, mut state } = record;
        state.stream_seq = stream_seq;
        let mut fresh: Vec<Delta> = deltas.into_iter().filter(|d| d.seq > head.seq).collect();
        let Some(last) = fresh.pop() else {
            return Vec::new();
        };
        if fresh.first().map_or(last.seq, |first| first.seq) != head.seq + 1 {
            return vec![Decided { delta: last, state }];
        }
        let mut steps = Vec::with_capacity(fresh.len() + 1);
        let mut running = head.clone();
        for delta in fresh {
            running.apply(&delta);
            running.stream_seq = stream_seq;
            steps.push(Decided {
                delta,
                state: running.clone(),
            });
        }
        steps.push(Decided { delta: last, state });
        steps
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

/// `delta` decided on `state`, with the state it makes.
fn made(state: &ResourceState, delta: Delta) -> Decided {
    let mut after = state.clone();
    after.apply(&delta);
    Decided {
        delta,
        state: after,
    }
}
