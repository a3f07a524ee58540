//! ResourceActor: one per resource. Decide → commit → apply → fan out.
//!
//! The actor decides each change against its *head* (every decided change, durable
//! or not), hands it to the store at once, and does not wait for one commit before
//! deciding the next. When the store says a commit is durable, the actor applies
//! it to its *committed* state (what subscribers see), fans it out, and only then
//! acks. The store writes one caller's commits in order, so seq order is commit
//! order. Frames are encoded once per codec and shared by every subscriber.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use bytes::Bytes;
use fillstack_protocol::{Pattern, ResourceId, Seq, ServerFrame};
use tokio::sync::oneshot;

pub mod messages;
pub mod state;

use messages::*;
use state::{Delta, ResourceState};

use crate::error::Rejection;
use crate::metrics::METRICS;
use crate::outbox::{Outbox, Pushed, SharedFrame};
use crate::store::{Commit, Store, StoreError};

/// The wall clock in unix milliseconds; pure code takes it as an argument.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

struct Subscriber {
    outbox: Outbox,
    patterns: Vec<Pattern>,
}

/// A publish waiting for its seq to become durable.
struct Waiter {
    seq: Seq,
    reply: Reply,
    /// When the publish came in, for `publish_ack_seconds` (none for removals).
    started: Option<Instant>,
}

/// Where the answer to a waiting request goes.
enum Reply {
    /// A future someone awaits (REST, the hub's own reporter, tests).
    Channel(oneshot::Sender<Result<Seq, Rejection>>),
    /// Straight into a session's outbox.
    Session(AckTo),
}

impl Reply {
    fn send(self, outcome: Result<Seq, Rejection>, started: Option<Instant>) {
        if let (Some(started), Ok(_)) = (started, &outcome) {
            METRICS
                .publish_ack_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        match self {
            // A publisher that went away needs no answer.
            Self::Channel(reply) => drop(reply.send(outcome)),
            Self::Session(ack) => ack.answer(outcome),
        }
    }
}

/// One monitored resource: its state, its subscribers, its TTL timer.
pub struct ResourceActor {
    id: ResourceId,
    /// What subscribers have seen: only durable deltas.
    committed: ResourceState,
    /// `committed` plus every decided delta still in the store's hands.
    head: ResourceState,
    /// Decided, handed to the store, not yet durable; in seq order.
    pending: VecDeque<Delta>,
    waiters: Vec<Waiter>,
    subscribers: HashMap<SubscriberId, Subscriber>,
    store: Store,
    /// Read by the registry to count live resources without asking the actor.
    live: Arc<AtomicBool>,
    ttl_timer: Option<SpawnHandle>,
    /// Set when this actor replaces one that died: subscribers may have missed
    /// changes, so each gets a reset snapshot when it starts.
    is_replacement: bool,
}

impl ResourceActor {
    /// A resource at `state` (loaded from the store, or default when new), with the
    /// subscribers whose patterns matched it at creation.
    pub fn new(
        id: ResourceId,
        state: ResourceState,
        store: Store,
        live: Arc<AtomicBool>,
        watchers: Vec<(SubscriberId, Outbox, Pattern)>,
    ) -> Self {
        live.store(state.exists, Ordering::Release);
        count_status(None, state.exists.then_some(state.status));
        let mut subscribers: HashMap<SubscriberId, Subscriber> = HashMap::new();
        for (subscriber, outbox, pattern) in watchers {
            subscribers
                .entry(subscriber)
                .or_insert_with(|| Subscriber {
                    outbox,
                    patterns: Vec::new(),
                })
                .patterns
                .push(pattern);
        }
        Self {
            id,
            head: state.clone(),
            committed: state,
            pending: VecDeque::new(),
            waiters: Vec::new(),
            subscribers,
            store,
            live,
            ttl_timer: None,
            is_replacement: false,
        }
    }

    /// This actor replaces one that stopped (a panic in a handler): it starts by
    /// sending every subscriber a reset snapshot.
    pub fn replacing_a_dead_one(self) -> Self {
        Self {
            is_replacement: true,
            ..self
        }
    }

    /// What ends a reset: the fresh snapshot, or `removed` for a deleted resource.
    fn reset_frame(&self) -> ServerFrame {
        if self.committed.exists {
            ServerFrame::Snapshot(self.committed.to_snapshot(&self.id, true))
        } else {
            ServerFrame::Removed(fillstack_protocol::RemovedFrame {
                resource: self.id.to_string(),
                seq: self.committed.seq,
            })
        }
    }

    /// Queues the reset frame in one subscriber's outbox, ending any conflation there.
    fn send_reset(&self, subscriber: &Subscriber) {
        let frame = subscriber.outbox.codec().encode(&self.reset_frame());
        subscriber.outbox.deliver_reset(&self.id, frame);
    }

    /// Decodes a stored state record.
    pub fn decode_state(bytes: &[u8]) -> Result<ResourceState, StoreError> {
        rmp_serde::from_slice(bytes)
            .map_err(|e| StoreError::Io(format!("unreadable state record: {e}")))
    }

    /// Hands `delta` (decided on `head`) to the store and returns its seq; wait
    /// on that seq to learn when it is durable.
    fn commit(&mut self, delta: Delta, ctx: &mut Context<Self>) -> Result<Seq, Rejection> {
        let mut next = self.head.clone();
        next.apply(&delta);
        let commit = Commit {
            key: self.id.to_string(),
            seq: delta.seq,
            state: record(&next),
            entry: record(&delta),
        };
        let ticket = self.store.commit(commit)?;
        let seq = delta.seq;
        self.head = next;
        self.pending.push_back(delta);
        ctx.spawn(
            async move { ticket.await.unwrap_or(Err(StoreError::Failed)) }
                .into_actor(self)
                .map(move |outcome, resource, ctx| resource.on_durable(seq, outcome, ctx)),
        );
        Ok(seq)
    }

    /// Answers `reply` with `seq` once everything up to it is durable and fanned out.
    fn wait(&mut self, seq: Seq, reply: Reply, started: Option<Instant>) {
        if seq <= self.committed.seq {
            reply.send(Ok(seq), started);
        } else {
            self.waiters.push(Waiter {
                seq,
                reply,
                started,
            });
        }
    }

    /// Resolves with `seq` once everything up to it is durable and fanned out.
    fn wait_for(
        &mut self,
        seq: Seq,
        started: Option<Instant>,
    ) -> ResponseFuture<Result<Seq, Rejection>> {
        let (reply, answer) = oneshot::channel();
        self.wait(seq, Reply::Channel(reply), started);
        Box::pin(async move {
            answer.await.unwrap_or_else(|_| {
                Err(Rejection::unavailable(
                    "the resource stopped",
                    Duration::from_secs(1),
                ))
            })
        })
    }

    /// The store answered for `seq` (and so for everything before it).
    fn on_durable(&mut self, seq: Seq, outcome: Result<(), StoreError>, ctx: &mut Context<Self>) {
        if let Err(error) = outcome {
            // Nothing past `committed` is durable: forget it and refuse its waiters.
            self.pending.clear();
            self.head = self.committed.clone();
            let rejection = Rejection::from(error);
            for waiter in self.waiters.drain(..) {
                waiter.reply.send(Err(rejection.clone()), None);
            }
            return;
        }
        while self.pending.front().is_some_and(|delta| delta.seq <= seq) {
            let Some(delta) = self.pending.pop_front() else {
                break;
            };
            let before = self.committed.exists.then_some(self.committed.status);
            self.committed.apply(&delta);
            count_status(
                before,
                self.committed.exists.then_some(self.committed.status),
            );
            self.fan_out(&delta);
        }
        self.live.store(self.committed.exists, Ordering::Release);
        let committed = self.committed.seq;
        let (ready, waiting): (Vec<_>, Vec<_>) = self
            .waiters
            .drain(..)
            .partition(|waiter| waiter.seq <= committed);
        self.waiters = waiting;
        for waiter in ready {
            waiter.reply.send(Ok(waiter.seq), waiter.started);
        }
        self.arm_ttl(ctx);
    }

    /// Encodes the change once per codec in use and queues it in every subscriber's outbox.
    fn fan_out(&mut self, delta: &Delta) {
        if self.subscribers.is_empty() {
            return;
        }
        let frame = if delta.is_creation() {
            ServerFrame::Snapshot(self.committed.to_snapshot(&self.id, false))
        } else {
            history_frame(delta.to_entry(&self.id))
        };
        let shared = SharedFrame::new(frame);
        let id = &self.id;
        self.subscribers.retain(|_, subscriber| {
            let bytes = shared.bytes(subscriber.outbox.codec());
            subscriber.outbox.deliver(id, delta.seq, bytes) != Pushed::Closed
        });
    }

    /// Schedules the move to `stale` for when the TTL runs out without a publish.
    fn arm_ttl(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.ttl_timer.take() {
            ctx.cancel_future(timer);
        }
        let Some(deadline) = self.committed.expires_at() else {
            return;
        };
        let wait = Duration::from_millis(deadline.saturating_sub(now_ms()));
        self.ttl_timer = Some(ctx.run_later(wait, |resource, ctx| {
            resource.ttl_timer = None;
            if let Some(delta) = resource.head.decide_expiry(now_ms()) {
                METRICS.ttl_expiries.inc();
                // Nobody waits for it: subscribers learn of it through the fan-out,
                // and a store that refuses it has failed for everyone.
                if let Err(rejection) = resource.commit(delta, ctx) {
                    tracing::warn!(resource = %resource.id, message = %rejection.message, "could not mark stale");
                }
            } else {
                resource.arm_ttl(ctx);
            }
        }));
    }

    /// The first frames for a new subscriber: the deltas it missed, or a snapshot.
    fn initial_frames(
        &self,
        since: Option<Seq>,
        codec: fillstack_protocol::Codec,
    ) -> Vec<(Seq, Bytes)> {
        let state = &self.committed;
        let frame = |frame: ServerFrame| (state.seq, codec.encode(&frame));
        let snapshot = |reset| frame(ServerFrame::Snapshot(state.to_snapshot(&self.id, reset)));
        match since {
            None if state.exists => vec![snapshot(false)],
            None => Vec::new(),
            Some(since) if since == state.seq => Vec::new(),
            Some(since) if since > state.seq => {
                if state.exists {
                    vec![snapshot(true)]
                } else {
                    Vec::new()
                }
            }
            Some(since) => match self.read_deltas(since, usize::MAX) {
                Ok((entries, true)) => entries
                    .iter()
                    .map(|entry| (entry.seq(), codec.encode(&history_frame(entry.clone()))))
                    .collect(),
                _ if state.exists => vec![snapshot(true)],
                _ => vec![frame(ServerFrame::Removed(
                    fillstack_protocol::RemovedFrame {
                        resource: self.id.to_string(),
                        seq: state.seq,
                    },
                ))],
            },
        }
    }

    /// Durable deltas after `since`; `complete` is false when some were trimmed.
    fn read_deltas(
        &self,
        since: Seq,
        limit: usize,
    ) -> Result<(Vec<fillstack_protocol::HistoryEntry>, bool), Rejection> {
        let upto = self.committed.seq;
        let key = self.id.as_str();
        let oldest = self.store.oldest_entry(key)?.unwrap_or(upto + 1);
        let complete = since + 1 >= oldest || since >= upto;
        let mut entries = Vec::new();
        for (_, bytes) in self.store.entries(key, since, upto, limit)? {
            let delta: Delta = rmp_serde::from_slice(&bytes).map_err(|e| {
                Rejection::from(StoreError::Io(format!("unreadable log entry: {e}")))
            })?;
            entries.push(delta.to_entry(&self.id));
        }
        Ok((entries, complete))
    }
}

fn history_frame(entry: fillstack_protocol::HistoryEntry) -> ServerFrame {
    match entry {
        fillstack_protocol::HistoryEntry::Delta(delta) => ServerFrame::Delta(delta),
        fillstack_protocol::HistoryEntry::Removed(removed) => ServerFrame::Removed(removed),
    }
}

/// Moves one resource between the per-status gauges (`None`: it does not exist).
fn count_status(
    before: Option<fillstack_protocol::Status>,
    after: Option<fillstack_protocol::Status>,
) {
    if before == after {
        return;
    }
    if let Some(status) = before {
        METRICS.resources(status).dec();
    }
    if let Some(status) = after {
        METRICS.resources(status).inc();
    }
}

/// A state or a delta as a store record (compact MessagePack; internal, not wire).
fn record<T: serde::Serialize>(value: &T) -> Bytes {
    Bytes::from(rmp_serde::to_vec(value).expect("states and deltas always encode"))
}

impl Actor for ResourceActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if self.is_replacement && self.committed.seq > 0 {
            for subscriber in self.subscribers.values() {
                self.send_reset(subscriber);
            }
        }
        self.arm_ttl(ctx);
    }
}

pub(crate) mod handlers;
