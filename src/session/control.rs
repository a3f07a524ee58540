//! The session's one ordered control path: `sub`, `unsub`, `get` and `history`
//! are queued in the order sent and run one at a time; the next starts only when
//! every resource the previous one touched has handled its message. So a resource
//! sees one session's subscribe, unsubscribe and resume in the order they were
//! sent, whatever the timing, and the session alone owns its subscriptions: the
//! pattern index and the resources' subscriber lists follow from what it does here.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use fillstack_protocol::{
    ErrorCode, Pattern, RemovedFrame, RequestId, ResourceId, Seq, ServerFrame,
};
use futures_util::future::{LocalBoxFuture, join_all};

use super::SessionActor;
use super::answers::history_frame;
use super::request::Request;
use crate::error::Rejection;
use crate::hub::Hub;
use crate::limits::SubWork;
use crate::outbox::Outbox;
use crate::resource::messages::{ReadHistory, SessionId, Subscribe, TakeSnapshot, Unsubscribe};
use crate::resource::{ResourceActor, Since, ask};

/// Control requests one session may have queued. When full, a new one is refused
/// `rate_limited` with `retry_after_ms`; nothing queued is dropped.
pub const CONTROL_QUEUE: usize = 256;
/// Ids of `since` one session may hold pending (`more: true`) in all. The part
/// that passes it is refused `too_large` and its pattern's pending map dropped.
pub const MAX_PENDING_SINCE: usize = 100_000;

/// Resources one `sub` or `unsub` messages at a time: the next chunk goes once
/// these have handled theirs, so a pattern matching a million resources never
/// floods the actors' mailboxes ahead of other clients' publishes.
pub const SUB_CHUNK: usize = 256;

/// Runs `step` over `items` a chunk at a time, each chunk charged to the session's
/// `sub` budget first (when rate limits are on) and awaited before the next.
async fn in_chunks<T, F, Fut>(items: Vec<T>, budget: Option<Arc<SubWork>>, step: F)
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let size = budget
        .as_ref()
        .map_or(SUB_CHUNK, |budget| budget.chunk(SUB_CHUNK));
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let chunk: Vec<T> = items.by_ref().take(size).collect();
        if let Some(budget) = &budget {
            budget.spend(chunk.len()).await;
        }
        join_all(chunk.into_iter().map(&step)).await;
    }
}

/// What a session subscribes to: live patterns and `since` parts still coming.
#[derive(Debug, Default)]
pub struct Subscriptions {
    /// Live patterns, in the order taken.
    pub patterns: Vec<Pattern>,
    /// `since` parts sent with `more: true`, per pattern.
    pending: HashMap<Pattern, BTreeMap<ResourceId, Seq>>,
    pending_ids: usize,
    /// The pattern whose resources the running control request is messaging.
    pub in_flight: Option<Pattern>,
}

impl Subscriptions {
    /// Every pattern the session has or is taking (for scope checks and close).
    pub fn every_pattern(&self) -> impl Iterator<Item = &Pattern> {
        self.patterns
            .iter()
            .chain(self.pending.keys())
            .chain(self.in_flight.iter())
    }

    fn drop_pending(&mut self, pattern: &Pattern) -> BTreeMap<ResourceId, Seq> {
        let dropped = self.pending.remove(pattern).unwrap_or_default();
        self.pending_ids -= dropped.len();
        if self.pending.is_empty() {
            // Parts are rare and short-lived: an idle session keeps no table for them.
            self.pending = HashMap::new();
        }
        dropped
    }

    /// Adds a part of `since`; refuses (and drops the pattern's pending map) past the bound.
    fn add_pending(
        &mut self,
        pattern: &Pattern,
        part: BTreeMap<ResourceId, Seq>,
    ) -> Result<(), Rejection> {
        let pending = self.pending.entry(pattern.clone()).or_default();
        let before = pending.len();
        pending.extend(part);
        self.pending_ids += pending.len() - before;
        if self.pending_ids > MAX_PENDING_SINCE {
            self.drop_pending(pattern);
            return Err(Rejection::new(
                ErrorCode::TooLarge,
                format!(
                    "`since` holds more than {MAX_PENDING_SINCE} ids; the pending parts of `{pattern}` were dropped"
                ),
            ));
        }
        Ok(())
    }
}

impl SessionActor {
    /// Queues a control request; it runs after every one queued before it.
    pub(super) fn enqueue(
        &mut self,
        control: Request,
        ctx: &mut Context<Self>,
    ) -> Result<(), Rejection> {
        if self.control.len() >= CONTROL_QUEUE {
            return Err(Rejection {
                retry_after: Some(Duration::from_millis(100)),
                ..Rejection::new(
                    ErrorCode::RateLimited,
                    format!("{CONTROL_QUEUE} requests of this session are still queued; retry"),
                )
            });
        }
        self.control.push_back(control);
        self.next_control(ctx);
        Ok(())
    }

    /// Starts the next queued request unless one is running.
    fn next_control(&mut self, ctx: &mut Context<Self>) {
        while self.subscriptions.in_flight.is_none() && !self.control_busy {
            let Some(control) = self.control.pop_front() else {
                // An idle session keeps no room for requests it may never send.
                self.control = VecDeque::new();
                return;
            };
            let id = control.id();
            match self.start_control(control) {
                Ok(None) => {}
                Ok(Some(running)) => {
                    self.control_busy = true;
                    ctx.spawn(running.into_actor(self).map(|(), session, ctx| {
                        session.control_busy = false;
                        session.subscriptions.in_flight = None;
                        session.next_control(ctx);
                    }));
                }
                Err(rejection) => self.refuse(rejection.answering(Some(id))),
            }
        }
    }

    /// Does the synchronous part of a request (the session's own state, the
    /// index, the `ok`) and returns what must still be awaited, if anything.
    fn start_control(
        &mut self,
        control: Request,
    ) -> Result<Option<LocalBoxFuture<'static, ()>>, Rejection> {
        match control {
            Request::Subscribe {
                id,
                pattern,
                since,
                epoch,
                more,
            } => self.subscribe(id, pattern, since, epoch.as_deref(), more),
            Request::Unsubscribe { id, pattern } => Ok(self.unsubscribe(id, &pattern)),
            Request::Get { id, resource } => {
                let actor = self.actor_of(&resource)?;
                let outbox = self.outbox.clone();
                Ok(Some(Box::pin(async move {
                    let frame = match ask(&actor, |reply| TakeSnapshot { reply }).await {
                        Ok(snapshot) => ServerFrame::Snapshot(fillstack_protocol::SnapshotFrame {
                            id: Some(id),
                            ..snapshot
                        }),
                        Err(rejection) => refused(rejection, id),
                    };
                    outbox.reply(&frame);
                })))
            }
            Request::History {
                id,
                resource,
                since,
                limit,
            } => {
                let actor = self.actor_of(&resource)?;
                let outbox = self.outbox.clone();
                Ok(Some(Box::pin(async move {
                    let read = |reply| ReadHistory {
                        since,
                        limit,
                        reply,
                    };
                    let bytes = match ask(&actor, read).await {
                        Ok(page) => history_frame(outbox.codec(), id, &resource, page),
                        Err(rejection) => outbox.codec().encode(&refused(rejection, id)),
                    };
                    // A large answer waits for room rather than overflow the queue.
                    outbox.reply_when_room(bytes).await;
                })))
            }
            // Answered on the spot by the session; never queued here.
            Request::Hello { .. } | Request::Publish { .. } | Request::Ping { .. } => Ok(None),
        }
    }

    fn actor_of(&self, resource: &ResourceId) -> Result<Addr<ResourceActor>, Rejection> {
        self.hub
            .find(resource)
            .ok_or_else(|| Rejection::not_found(resource))
    }

    fn subscribe(
        &mut self,
        id: RequestId,
        pattern: Pattern,
        since: BTreeMap<ResourceId, Seq>,
        epoch: Option<&str>,
        more: bool,
    ) -> Result<Option<LocalBoxFuture<'static, ()>>, Rejection> {
        if self.subscriptions.patterns.contains(&pattern) {
            // Already live: answered `ok`, nothing changes.
            self.subscriptions.drop_pending(&pattern);
            let count = self.hub.count_live(&pattern);
            self.reply(&ServerFrame::Ok {
                id,
                count: Some(count as u64),
            });
            return Ok(None);
        }
        self.subscriptions.add_pending(&pattern, since)?;
        if more {
            self.reply(&ServerFrame::Ok { id, count: None });
            return Ok(None);
        }
        let since = self.subscriptions.drop_pending(&pattern);
        let trusted = epoch.is_none_or(|epoch| epoch == self.hub.epoch());
        let grants = self.grants.clone();
        // Ids outside the pattern or the token's scope are ignored.
        let since: BTreeMap<ResourceId, Seq> = since
            .into_iter()
            .filter(|(resource, _)| {
                pattern.matches(resource)
                    && grants.as_ref().is_some_and(|grants| {
                        grants.allow(crate::auth::Action::Read, resource).is_ok()
                    })
            })
            .collect();
        // The `ok` is queued before the pattern is registered: a resource created
        // from then on can only send its snapshot after it, as the contract orders
        // ("ok, then snapshots"). Registered first, a creation on another thread
        // could fan its snapshot out between the two, ahead of the `ok`.
        let count = self.hub.count_live(&pattern);
        self.reply(&ServerFrame::Ok {
            id,
            count: Some(count as u64),
        });
        let matches = self.hub.watch(self.id, &self.outbox, &pattern);
        // Room for one more, not for four: most sessions hold one or two patterns.
        self.subscriptions.patterns.reserve_exact(1);
        self.subscriptions.patterns.push(pattern.clone());
        self.subscriptions.in_flight = Some(pattern.clone());
        let plan = SubscribePlan {
            hub: self.hub.clone(),
            session: self.id,
            outbox: self.outbox.clone(),
            pattern,
            budget: self.sub_budget(),
        };
        Ok(Some(Box::pin(plan.run(matches, since, trusted))))
    }

    fn unsubscribe(
        &mut self,
        id: RequestId,
        pattern: &Pattern,
    ) -> Option<LocalBoxFuture<'static, ()>> {
        self.subscriptions.drop_pending(pattern);
        self.reply(&ServerFrame::Ok { id, count: None });
        // A pattern the session does not hold costs nothing more.
        let position = self
            .subscriptions
            .patterns
            .iter()
            .position(|held| held == pattern)?;
        self.subscriptions.patterns.remove(position);
        self.subscriptions.in_flight = Some(pattern.clone());
        let actors = self.hub.unwatch(self.id, pattern);
        let (session, pattern) = (self.id, pattern.clone());
        let budget = self.sub_budget();
        Some(Box::pin(async move {
            let pattern = &pattern;
            in_chunks(actors, budget, |(_, actor)| async move {
                // A resource that stopped has no subscriber left to forget.
                let _ = actor
                    .send(Unsubscribe {
                        session,
                        pattern: pattern.clone(),
                    })
                    .await;
            })
            .await;
        }))
    }

    /// The budget `sub` and `unsub` spend per resource, when rate limits are on.
    fn sub_budget(&self) -> Option<Arc<SubWork>> {
        self.credentials
            .limits
            .as_ref()
            .map(|limits| limits.sub_work())
    }
}

/// A subscription being taken: who, where, and which pattern.
struct SubscribePlan {
    hub: Hub,
    session: SessionId,
    outbox: Outbox,
    pattern: Pattern,
    budget: Option<Arc<SubWork>>,
}

impl SubscribePlan {
    /// Sends every match (and every id of `since` that has no actor now but that
    /// the store knows) its `Subscribe`, and resolves once all have handled it.
    /// An id of `since` the hub never held is answered `removed` here.
    async fn run(
        self,
        matches: Vec<(ResourceId, Addr<ResourceActor>)>,
        mut since: BTreeMap<ResourceId, Seq>,
        trusted: bool,
    ) {
        let since_of = |seq: Option<Seq>| match seq {
            None => Since::Fresh,
            Some(_) if !trusted => Since::Untrusted,
            Some(seq) => Since::Resume(seq),
        };
        let mut targets: Vec<(ResourceId, Since, Addr<ResourceActor>)> = matches
            .into_iter()
            .map(|(id, actor)| {
                let since = since_of(since.remove(&id));
                (id, since, actor)
            })
            .collect();
        for (id, seq) in since {
            match self.hub.find_or_load(&id) {
                Some(actor) => targets.push((id, since_of(Some(seq)), actor)),
                None => self.removed(&id, seq),
            }
        }
        let plan = &self;
        let send = |(id, since, actor): (ResourceId, Since, Addr<ResourceActor>)| async move {
            if actor.send(plan.subscribe(since)).await.is_ok() {
                return;
            }
            // The actor retired or stopped meanwhile: ask the registry again.
            match plan.hub.find_or_load(&id) {
                Some(actor) if actor.send(plan.subscribe(since)).await.is_ok() => {}
                _ if since == Since::Fresh => {}
                _ => plan.removed(&id, 0),
            }
        };
        in_chunks(targets, self.budget.clone(), send).await;
    }

    fn subscribe(&self, since: Since) -> Subscribe {
        Subscribe {
            session: self.session,
            outbox: self.outbox.clone(),
            pattern: self.pattern.clone(),
            since,
        }
    }

    /// `removed` for an id the client knew and the hub has no record of.
    fn removed(&self, id: &ResourceId, seq: Seq) {
        let frame = self
            .outbox
            .codec()
            .encode(&ServerFrame::Removed(RemovedFrame {
                resource: id.to_string(),
                seq,
            }));
        self.outbox.deliver_reset(id, Some(frame));
    }
}

/// The `error` frame answering request `id`, reported once here.
fn refused(rejection: Rejection, id: RequestId) -> ServerFrame {
    let rejection = rejection.answering(Some(id));
    rejection.report();
    rejection.to_frame()
}
