//! ResourceActor: one per resource. Decide → commit → apply → fan out.
//!
//! The actor decides each change against its *head* (every decided change, durable
//! or not), hands it to the store at once, and does not wait for one commit before
//! deciding the next. When the store says a commit is durable, the actor applies
//! it to its *committed* state (what subscribers see), fans it out, and only then
//! acks. The store writes one caller's commits in order, so seq order is commit
//! order. Frames are encoded once per codec and shared by every subscriber.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use fillstack_protocol::{Pattern, RemovedFrame, ResourceId, Seq, ServerFrame, Status};

mod cluster;
mod durable;
pub mod messages;
mod monitoring;
pub mod pipeline;
pub mod state;

pub use monitoring::Monitoring;

use messages::*;
use pipeline::{Decided, Generation, Pipeline};
use state::{Delta, ResourceState};

use crate::clock::Clock;
use crate::error::Rejection;
use crate::limits::quota::{Quotas, ResourceHold};
use crate::metrics::METRICS;
use crate::outbox::{Outbox, Pushed, SharedFrame};
use crate::store::{Commit, Store, StoreError};

/// The wall clock in unix milliseconds, for code that has no hub clock at hand.
pub fn now_ms() -> u64 {
    Clock::system().now_ms()
}

/// How long a deleted resource's actor stays after its last change before it
/// leaves the registry (its seq stays in the store, so `since` still learns of it).
pub const RETIRE_AFTER: Duration = Duration::from_secs(10);
/// First wait before retrying a TTL expiry the store could not take; doubles to
/// [`TTL_RETRY_MAX`]. An expiry is never dropped: a dead agent's resource goes stale.
const TTL_RETRY_FIRST: Duration = Duration::from_millis(50);
const TTL_RETRY_MAX: Duration = Duration::from_secs(2);

struct Subscriber {
    outbox: Outbox,
    patterns: Vec<Pattern>,
    /// Whether it was sent anything yet. A subscriber found in the pattern index
    /// when the actor started has not: its own `Subscribe` (or the creation's
    /// fan-out, whichever comes first) sends its first frames.
    is_greeted: bool,
}

/// A publish or removal waiting for its seq to become durable.
pub struct Waiting {
    reply: Reply<Seq>,
    /// When a publish came in, for `publish_ack_seconds` (none for removals).
    started: Option<Instant>,
}

impl Waiting {
    /// Answers it; every durable publish's ack latency is counted here, once.
    fn send(self, outcome: Result<Seq, Rejection>) {
        if let (Some(started), Ok(_)) = (self.started, &outcome) {
            METRICS
                .publish_ack_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        self.reply.send(outcome);
    }
}

/// Sends `resource` the request `make` builds around a reply handle, and awaits
/// the answer. A full mailbox is refused at once (`unavailable`, retry shortly):
/// no caller waits for room, so callers of a busy resource are bounded too.
pub async fn ask<T, M>(
    resource: &Addr<ResourceActor>,
    make: impl FnOnce(Reply<T>) -> M,
) -> Result<T, Rejection>
where
    M: Message<Result = ()> + Send + 'static,
    ResourceActor: Handler<M>,
{
    let (reply, answer) = Reply::caller();
    match resource.try_send(make(reply)) {
        Ok(()) => answer.await.unwrap_or_else(|_| Err(stopped())),
        Err(SendError::Full(_)) => Err(Rejection::unavailable(
            "the resource has too many requests waiting; retry",
            Duration::from_millis(100),
        )),
        Err(SendError::Closed(_)) => Err(stopped()),
    }
}

/// The answer for a request whose resource actor stopped before answering it.
pub fn stopped() -> Rejection {
    Rejection::unavailable(
        "the resource stopped before answering; retry",
        Duration::from_millis(100),
    )
}

/// A resource's status as the registry reads it without asking the actor: set by
/// the actor at every durable change, `None` while the resource does not exist.
/// Lists filter by it, so a page's scan costs an atomic load per id, not a message.
#[derive(Debug, Default)]
pub struct Presence(AtomicU8);

impl Presence {
    /// The presence of `state`.
    pub fn of(state: &ResourceState) -> Self {
        let presence = Self::default();
        presence.set(state);
        presence
    }

    /// Records `state`'s existence and status.
    pub fn set(&self, state: &ResourceState) {
        let code = match state.exists {
            false => 0,
            true => Status::ALL
                .iter()
                .position(|status| *status == state.status)
                .map_or(0, |index| index as u8 + 1),
        };
        self.0.store(code, Ordering::Release);
    }

    /// The status, if the resource exists.
    pub fn status(&self) -> Option<Status> {
        let code = self.0.load(Ordering::Acquire);
        Status::ALL.get(usize::from(code.checked_sub(1)?)).copied()
    }

    /// Whether the resource exists now.
    pub fn is_live(&self) -> bool {
        self.0.load(Ordering::Acquire) != 0
    }
}

/// Called once when a deleted resource's actor leaves: takes it out of the registry.
pub type Retire = Box<dyn FnOnce() + Send>;

/// One monitored resource: its commit pipeline, its subscribers, its TTL timer.
pub struct ResourceActor {
    id: ResourceId,
    pipeline: Pipeline<Waiting>,
    subscribers: HashMap<SessionId, Subscriber>,
    store: Store,
    clock: Clock,
    /// The hub-wide counts a resource holds while its head exists.
    quotas: Arc<Quotas>,
    /// Its unit of the resource quotas, held while the head exists (the head, not
    /// the committed state: a creation in flight counts, so two cannot race past).
    held: Option<ResourceHold>,
    /// Read by the registry to count and filter resources without asking the actor.
    live: Arc<Presence>,
    ttl_timer: Option<SpawnHandle>,
    ttl_retry: Duration,
    retire_timer: Option<SpawnHandle>,
    retire: Option<Retire>,
    retire_after: Duration,
    /// Set when this actor replaces one that died: subscribers may have missed
    /// changes, so each gets a reset snapshot when it starts.
    is_replacement: bool,
    /// Its probe, rollups, alerts and uptime.
    monitoring: Monitoring,
    /// Cluster mode: its changes go through the cluster's stream.
    cluster: Option<cluster::ClusterPath>,
    /// Its commits waiting for the store's answer, watched by one future.
    tickets: durable::Tickets,
}

/// How a new subscriber's first frames are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// A first subscription: a snapshot if the resource exists.
    Fresh,
    /// Resuming after this seq (from `since`, under the hub's epoch).
    Resume(Seq),
    /// The client's seq came from another epoch: a reset snapshot or `removed`.
    Untrusted,
}

/// What every resource actor shares with the hub: the store, the clock, the quotas.
#[derive(Clone)]
pub struct Shared {
    /// Where its changes are committed.
    pub store: Store,
    /// Its time.
    pub clock: Clock,
    /// The counts its existence holds a unit of.
    pub quotas: Arc<Quotas>,
    /// Cluster mode: the cluster its changes go through.
    pub cluster: Option<crate::cluster::Cluster>,
}

impl ResourceActor {
    /// A resource at `state` (loaded from the store, or a tombstone), with the
    /// subscribers whose patterns matched it at creation.
    pub fn new(
        id: ResourceId,
        state: ResourceState,
        Shared {
            store,
            clock,
            quotas,
            cluster,
        }: Shared,
        live: Arc<Presence>,
        watchers: Vec<(SessionId, Outbox, Pattern)>,
        monitoring: Monitoring,
    ) -> Self {
        live.set(&state);
        let held = state
            .exists
            .then(|| quotas.hold_resource(state.creator.as_deref()));
        count_status(None, state.exists.then_some(state.status));
        let mut subscribers: HashMap<SessionId, Subscriber> = HashMap::new();
        for (session, outbox, pattern) in watchers {
            subscribers
                .entry(session)
                .or_insert_with(|| Subscriber {
                    outbox,
                    patterns: Vec::new(),
                    is_greeted: false,
                })
                .patterns
                .push(pattern);
        }
        Self {
            id,
            pipeline: Pipeline::new(state),
            subscribers,
            store,
            clock,
            quotas,
            held,
            live,
            ttl_timer: None,
            ttl_retry: TTL_RETRY_FIRST,
            retire_timer: None,
            retire: None,
            retire_after: RETIRE_AFTER,
            is_replacement: false,
            monitoring,
            cluster: cluster.map(cluster::ClusterPath::new),
            tickets: durable::Tickets::default(),
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

    /// What to call when this actor retires (a deleted resource, idle for `after`).
    pub fn retiring_with(self, retire: Retire, after: Duration) -> Self {
        Self {
            retire: Some(retire),
            retire_after: after,
            ..self
        }
    }

    /// Keeps the quota unit in step with the head: held while it exists (counted
    /// against its creator), given back once it does not.
    pub(super) fn hold_for_head(&mut self) {
        let head = self.pipeline.head();
        if !head.exists {
            self.held = None;
        } else if self
            .held
            .as_ref()
            .is_none_or(|held| held.creator() != head.creator.as_deref())
        {
            self.held = Some(self.quotas.hold_resource(head.creator.as_deref()));
        }
    }

    fn committed(&self) -> &ResourceState {
        self.pipeline.committed()
    }

    /// What ends a reset: the fresh snapshot, or `removed` for a deleted resource.
    fn reset_frame(&self) -> ServerFrame {
        if self.committed().exists {
            ServerFrame::Snapshot(self.committed().to_snapshot(&self.id, true))
        } else {
            ServerFrame::Removed(RemovedFrame {
                resource: self.id.to_string(),
                seq: self.committed().seq,
            })
        }
    }

    /// Queues the reset frame in one subscriber's outbox, ending any conflation there.
    fn send_reset(&self, subscriber: &Subscriber) {
        let frame = subscriber.outbox.codec().encode(&self.reset_frame());
        subscriber.outbox.deliver_reset(&self.id, Some(frame));
    }

    /// Decodes a stored state record.
    pub fn decode_state(bytes: &[u8]) -> Result<ResourceState, StoreError> {
        rmp_serde::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("state record: {e}")))
    }

    /// Hands a decided change to the store; its seq is returned to wait on.
    fn commit(&mut self, decided: Decided, ctx: &mut Context<Self>) -> Result<Seq, Rejection> {
        self.commit_or_hand_back(decided, ctx)
            .map_err(|failed| failed.0)
    }

    /// [`Self::commit`], handing `decided` back when the store refuses it.
    fn commit_or_hand_back(
        &mut self,
        decided: Decided,
        ctx: &mut Context<Self>,
    ) -> Result<Seq, Box<(Rejection, Decided)>> {
        let (state, entry) = records(&decided.state, &decided.delta);
        let commit = Commit {
            key: self.id.to_string(),
            seq: decided.delta.seq,
            state,
            entry,
        };
        let ticket = match self.store.commit(commit) {
            Ok(ticket) => ticket,
            Err(error) => return Err(Box::new((error.into(), decided))),
        };
        let generation = self.pipeline.generation();
        let seq = self.pipeline.handed(decided);
        self.hold_for_head();
        self.cancel_retire(ctx);
        if self.tickets.push(generation, seq, ticket) {
            ctx.spawn(durable::Watch);
        }
        Ok(seq)
    }

    /// Answers `reply` once `seq` is durable and fanned out (at once if it is).
    fn wait(&mut self, seq: Seq, reply: Reply<Seq>, started: Option<Instant>) {
        match self.pipeline.wait(seq, Waiting { reply, started }) {
            Ok(Some(waiting)) => waiting.send(Ok(seq)),
            Ok(None) => {}
            Err(waiting) => waiting.send(Err(Rejection::unavailable(
                format!(
                    "{} requests are waiting for {}; retry",
                    pipeline::MAX_WAITERS,
                    self.id
                ),
                Duration::from_millis(100),
            ))),
        }
    }

    /// The store answered for `seq` of run `generation` (and so for everything before it).
    fn on_durable(
        &mut self,
        generation: Generation,
        seq: Seq,
        outcome: Result<(), StoreError>,
        ctx: &mut Context<Self>,
    ) {
        if let Err(error) = outcome {
            let rejection = Rejection::from(error);
            for reply in self.pipeline.failed() {
                reply.send(Err(rejection.clone()));
            }
            self.forget_local();
            self.hold_for_head();
            self.arm_ttl(ctx);
            return;
        }
        let durable = self.pipeline.durable(generation, seq);
        for applied in &durable.applied {
            count_status(applied.before, applied.after);
        }
        if durable.applied.iter().any(|applied| applied.gap) {
            // Deltas are missing before these (a copy refilled from a trimmed
            // stream): every subscriber gets the state as it is now.
            for subscriber in self.subscribers.values() {
                self.send_reset(subscriber);
            }
        } else {
            for applied in &durable.applied {
                self.fan_out(&applied.delta);
            }
        }
        self.confirm_durable();
        for applied in &durable.applied {
            self.monitor_applied(applied, ctx);
        }
        self.live.set(self.committed());
        for (seq, reply) in durable.ready {
            reply.send(Ok(seq));
        }
        self.arm_ttl(ctx);
        self.maybe_retire(ctx);
    }

    /// Encodes the change once per codec in use and queues it in every subscriber's outbox.
    fn fan_out(&mut self, delta: &Delta) {
        if self.subscribers.is_empty() {
            return;
        }
        let shared = SharedFrame::new(self.delta_frame(delta));
        let id = &self.id;
        self.subscribers.retain(|_, subscriber| {
            subscriber.is_greeted = true;
            let bytes = shared.bytes(subscriber.outbox.codec());
            subscriber.outbox.deliver(id, delta.seq, bytes) != Pushed::Closed
        });
    }

    /// Schedules the move to `stale` for when the head's TTL runs out. The head,
    /// not the committed state: a pending publish that refreshes the TTL moves the
    /// deadline, so the timer never fires early and never spins.
    fn arm_ttl(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.ttl_timer.take() {
            ctx.cancel_future(timer);
        }
        let Some(deadline) = self.pipeline.head().expires_at() else {
            return;
        };
        let wait = Duration::from_millis(deadline.saturating_sub(self.clock.now_ms()));
        self.expire_in(wait, ctx);
    }

    fn expire_in(&mut self, wait: Duration, ctx: &mut Context<Self>) {
        self.ttl_timer = Some(ctx.run_later(wait, |resource, ctx| {
            resource.ttl_timer = None;
            resource.expire_if_due(ctx);
        }));
    }

    /// Commits the move to `stale` if the TTL ran out; retries with backoff when
    /// the store (or the pipeline) is full, so the expiry is never lost.
    fn expire_if_due(&mut self, ctx: &mut Context<Self>) {
        if self.is_clustered() {
            // One hub of the cluster expires it (the others look again later,
            // in case the duty moves to them).
            if self.does_duties() {
                self.submit(cluster::Intent::Expire, ctx);
            } else {
                self.expire_in(Duration::from_secs(1), ctx);
            }
            return;
        }
        let outcome = self
            .pipeline
            .decide_expiry(self.clock.now_ms())
            .and_then(|decided| decided.map(|d| self.commit(d, ctx)).transpose());
        match outcome {
            Ok(Some(_)) => {
                METRICS.ttl_expiries.inc();
                self.ttl_retry = TTL_RETRY_FIRST;
            }
            Ok(None) => self.arm_ttl(ctx),
            Err(rejection) => {
                tracing::warn!(resource = %self.id, message = %rejection.message, retry_in = ?self.ttl_retry, "could not mark stale yet");
                let wait = self.ttl_retry;
                self.ttl_retry = (self.ttl_retry * 2).min(TTL_RETRY_MAX);
                self.expire_in(wait, ctx);
            }
        }
    }

    /// A deleted resource with nothing pending leaves after `retire_after`.
    fn maybe_retire(&mut self, ctx: &mut Context<Self>) {
        if !self.may_retire() || self.retire_timer.is_some() {
            return;
        }
        self.retire_timer = Some(ctx.run_later(self.retire_after, |resource, ctx| {
            resource.retire_timer = None;
            if !resource.may_retire() {
                return;
            }
            if let Some(retire) = resource.retire.take() {
                retire();
            }
            ctx.stop();
        }));
    }

    /// Deleted, nothing pending, and no probe or webhook keeping it.
    fn may_retire(&self) -> bool {
        // In cluster mode, the actor of a deleted resource stays: the stream's
        // consumer may be handing it a message (see docs/cluster.md).
        !self.committed().exists
            && self.pipeline.is_idle()
            && !self.monitoring.keeps_alive()
            && !self.is_clustered()
    }

    fn cancel_retire(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.retire_timer.take() {
            ctx.cancel_future(timer);
        }
    }

    /// The first frames for a new subscriber.
    fn initial_frames(&self, since: Since, codec: fillstack_protocol::Codec) -> Vec<(Seq, Bytes)> {
        let state = self.committed();
        let frame = |frame: ServerFrame| (state.seq, codec.encode(&frame));
        let reset = || frame(self.reset_frame());
        match since {
            Since::Fresh if state.exists => {
                vec![frame(ServerFrame::Snapshot(
                    state.to_snapshot(&self.id, false),
                ))]
            }
            Since::Fresh => Vec::new(),
            Since::Untrusted => vec![reset()],
            Since::Resume(since) if since == state.seq && state.exists => Vec::new(),
            Since::Resume(since) if since >= state.seq => vec![reset()],
            Since::Resume(since) => match self.read_deltas(since, usize::MAX) {
                Ok((deltas, true)) => deltas
                    .iter()
                    .map(|delta| (delta.seq, codec.encode(&self.delta_frame(delta))))
                    .collect(),
                _ => vec![reset()],
            },
        }
    }

    /// A delta as subscribers receive it, live or in a replay: a creation is a
    /// snapshot of the state it created (reset: false), so a resource deleted and
    /// created again within a replay arrives as `removed`, then that snapshot.
    fn delta_frame(&self, delta: &Delta) -> ServerFrame {
        if delta.is_creation() {
            ServerFrame::Snapshot(created_state(delta).to_snapshot(&self.id, false))
        } else {
            history_frame(delta.to_entry(&self.id))
        }
    }

    /// Durable deltas after `since`; `complete` is false when some were trimmed.
    fn read_deltas(&self, since: Seq, limit: usize) -> Result<(Vec<Delta>, bool), Rejection> {
        let upto = self.committed().seq;
        let key = self.id.as_str();
        let oldest = self.store.oldest_entry(key)?.unwrap_or(upto + 1);
        let complete = since + 1 >= oldest || since >= upto;
        let mut deltas = Vec::new();
        for (_, bytes) in self.store.entries(key, since, upto, limit)? {
            let delta: Delta = rmp_serde::from_slice(&bytes)
                .map_err(|e| Rejection::from(StoreError::Corrupt(format!("log entry: {e}"))))?;
            deltas.push(delta);
        }
        Ok((deltas, complete))
    }
}

/// The state a creation delta brings into being (its seq, its whole content).
fn created_state(delta: &Delta) -> ResourceState {
    let mut state = ResourceState {
        seq: delta.seq - 1,
        ..ResourceState::default()
    };
    state.apply(delta);
    state
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

/// Room for both records of a commit: a state of a few fields and its delta fit,
/// so the two records take one allocation instead of one per growth of each.
const RECORDS_CAPACITY: usize = 512;

/// The records of one commit, the state and its delta, sharing one buffer.
fn records(state: &ResourceState, delta: &Delta) -> (Bytes, Bytes) {
    use bytes::BufMut;
    let mut buffer = bytes::BytesMut::with_capacity(RECORDS_CAPACITY).writer();
    rmp_serde::encode::write(&mut buffer, state).expect("states always encode");
    let state = buffer.get_mut().split().freeze();
    rmp_serde::encode::write(&mut buffer, delta).expect("deltas always encode");
    (state, buffer.into_inner().freeze())
}

impl Actor for ResourceActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if self.is_replacement && self.committed().seq > 0 {
            for subscriber in self.subscribers.values() {
                self.send_reset(subscriber);
            }
            for subscriber in self.subscribers.values_mut() {
                subscriber.is_greeted = true;
            }
        }
        self.arm_ttl(ctx);
        let rules = self.monitoring_rules();
        self.join(rules, ctx);
        self.maybe_retire(ctx);
    }
}

pub(crate) mod handlers;
