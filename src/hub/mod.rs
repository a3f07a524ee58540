//! Hub: a cheap handle to the registry of resource actors, the pattern index and
//! the live sessions. It is not an actor: finding a resource reads one shard of a
//! concurrent map, and only creating one takes a shard's write lock, so the publish
//! path crosses no central actor and no global lock.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, Weak};

use actix::prelude::*;
use dashmap::DashMap;
use fillstack_protocol::{CloseCode, Pattern, ResourceId, Status};

pub mod health;
mod patterns;

use patterns::PatternIndex;

use crate::clock::Clock;
use crate::cluster::Cluster;
use crate::error::Rejection;
use crate::limits::Quotas;
use crate::monitor::Rules;
use crate::monitor::rollup::Rollup;
use crate::monitor::spec::MonitorSpec;
use crate::outbox::Outbox;
use crate::resource::messages::{CheckTtl, Rejoin, SessionClosed, SessionId};
use crate::resource::state::ResourceState;
use crate::resource::{Monitoring, Presence, ResourceActor, Retire};
use crate::store::{Store, StoreError};

/// Messages a resource actor may hold before senders wait (`send().await`) or
/// are refused (`try_send`: a publish answers `unavailable`).
const RESOURCE_MAILBOX: usize = 1024;

/// Ids one list page examines at most (matching or not): a page whose filter
/// matches little ends early with a cursor to go on, so its cost is bounded
/// whatever the hub holds.
pub const LIST_SCAN_BUDGET: usize = 10_000;

#[derive(Clone)]
struct ResourceEntry {
    actor: Addr<ResourceActor>,
    live: Arc<Presence>,
}

impl ResourceEntry {
    /// Whether the resource exists now (not deleted).
    fn is_live(&self) -> bool {
        self.live.is_live()
    }
}

/// One page of a list, found by [`Hub::list_page`].
pub struct ListPage {
    /// The resources to show, in id order, with their status when examined.
    pub found: Vec<(ResourceId, Addr<ResourceActor>)>,
    /// Where the next page starts (after this id), or `None` at the end.
    pub next: Option<ResourceId>,
}

/// A handle to the hub's registries; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    /// Every resource with an actor: the live ones and recently deleted ones
    /// (a deleted resource's actor retires after `RETIRE_AFTER`; its seq stays in
    /// the store). Bounded by the resources that exist plus those deleted lately.
    resources: DashMap<ResourceId, ResourceEntry>,
    /// What the resources and sessions hold of their quotas.
    quotas: Arc<Quotas>,
    /// The same ids in order, so a pattern finds its matches by a range scan,
    /// not by reading every id. Written only when an actor starts or retires.
    ordered: RwLock<BTreeSet<ResourceId>>,
    watchers: RwLock<PatternIndex>,
    arbiters: Vec<ArbiterHandle>,
    next_arbiter: AtomicUsize,
    store: Store,
    clock: Clock,
    retire_after: std::time::Duration,
    sessions: DashMap<SessionId, Outbox>,
    next_session: AtomicU64,
    /// The installed probes, alerts and rollups. Read by a resource's creation
    /// under the watchers lock, replaced by a reload under the watchers write
    /// lock (lock order: shard, watchers, rules, ordered).
    rules: RwLock<Arc<Rules>>,
    /// The publisher task of each live rollup.
    rollup_tasks: std::sync::Mutex<Vec<(Arc<Rollup>, tokio::task::JoinHandle<()>)>>,
    /// Cluster mode: the cluster this hub belongs to.
    cluster: Option<Cluster>,
    /// What `welcome.epoch` names: the cluster's stream, or this store.
    epoch: Arc<str>,
}

/// A hub handle that does not keep the hub alive (held by resource actors).
#[derive(Clone)]
pub struct WeakHub(Weak<Inner>);

impl WeakHub {
    /// The hub, unless it is gone.
    pub fn upgrade(&self) -> Option<Hub> {
        self.0.upgrade().map(|inner| Hub { inner })
    }
}

impl Hub {
    /// Loads every existing resource from the store and starts its actor,
    /// spreading actors over `arbiters`. Deleted resources stay in the store only.
    pub fn open(
        store: Store,
        arbiters: Vec<ArbiterHandle>,
        clock: Clock,
        retire_after: std::time::Duration,
        monitor: MonitorSpec,
        quotas: Arc<Quotas>,
        cluster: Option<Cluster>,
    ) -> Result<Self, StoreError> {
        assert!(
            !arbiters.is_empty(),
            "resource actors need at least one arbiter"
        );
        let hub = Self {
            inner: Arc::new(Inner {
                resources: DashMap::new(),
                quotas,
                ordered: RwLock::default(),
                watchers: RwLock::new(PatternIndex::default()),
                arbiters,
                next_arbiter: AtomicUsize::new(0),
                store: store.clone(),
                clock,
                retire_after,
                sessions: DashMap::new(),
                next_session: AtomicU64::new(1),
                rules: RwLock::default(),
                rollup_tasks: std::sync::Mutex::default(),
                epoch: cluster
                    .as_ref()
                    .map_or_else(|| store.epoch().into(), |cluster| cluster.epoch().clone()),
                cluster,
            }),
        };
        let (rules, changed) = Rules::new(monitor, None);
        *hub.inner
            .rules
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(rules);
        for record in store.states() {
            let (key, bytes) = record?;
            let Ok(id) = ResourceId::parse(&key) else {
                tracing::warn!(
                    key,
                    "skipping a stored record whose key is not a resource id"
                );
                continue;
            };
            let state = ResourceActor::decode_state(&bytes)?;
            if !state.exists {
                continue;
            }
            let entry = hub.start(id.clone(), state, Vec::new());
            hub.inner.resources.insert(id.clone(), entry);
            hub.ordered_mut().insert(id);
        }
        hub.apply(changed);
        Ok(hub)
    }

    fn start(
        &self,
        id: ResourceId,
        state: ResourceState,
        watchers: Vec<(SessionId, Outbox, Pattern)>,
    ) -> ResourceEntry {
        self.start_with(id, state, watchers, |actor| actor)
    }

    fn start_with(
        &self,
        id: ResourceId,
        state: ResourceState,
        watchers: Vec<(SessionId, Outbox, Pattern)>,
        prepare: impl FnOnce(ResourceActor) -> ResourceActor,
    ) -> ResourceEntry {
        let index =
            self.inner.next_arbiter.fetch_add(1, Ordering::Relaxed) % self.inner.arbiters.len();
        crate::metrics::METRICS.actor_started(index);
        let live = Arc::new(Presence::of(&state));
        let retire = retire(Arc::downgrade(&self.inner), id.clone(), live.clone());
        let monitoring = Monitoring::new(WeakHub(Arc::downgrade(&self.inner)), self.rules());
        let actor = prepare(
            ResourceActor::new(
                id,
                state,
                crate::resource::Shared {
                    store: self.inner.store.clone(),
                    clock: self.inner.clock.clone(),
                    quotas: self.inner.quotas.clone(),
                    cluster: self.inner.cluster.clone(),
                },
                live.clone(),
                watchers,
                monitoring,
            )
            .retiring_with(retire, self.inner.retire_after),
        );
        let actor = ResourceActor::start_in_arbiter(&self.inner.arbiters[index], move |ctx| {
            ctx.set_mailbox_capacity(RESOURCE_MAILBOX);
            actor
        });
        ResourceEntry { actor, live }
    }

    fn ordered_mut(&self) -> std::sync::RwLockWriteGuard<'_, BTreeSet<ResourceId>> {
        self.inner
            .ordered
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn ordered(&self) -> std::sync::RwLockReadGuard<'_, BTreeSet<ResourceId>> {
        self.inner
            .ordered
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What `welcome.epoch` names: the cluster's stream in cluster mode, else
    /// this hub's store. A client's `since` under another epoch is not trusted.
    pub fn epoch(&self) -> &str {
        &self.inner.epoch
    }

    /// The cluster this hub belongs to, in cluster mode.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.inner.cluster.as_ref()
    }

    /// Whether this hub does `resource`'s duties (always, on one node).
    pub fn does_duties(&self, resource: &ResourceId) -> bool {
        self.inner
            .cluster
            .as_ref()
            .is_none_or(|cluster| cluster.owns(resource))
    }

    /// The hub's clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The actor of a resource that has one (live or recently deleted). An actor
    /// that stopped without retiring (a panic in a handler) is replaced from the
    /// store first.
    pub fn find(&self, id: &ResourceId) -> Option<Addr<ResourceActor>> {
        let actor = self.inner.resources.get(id)?.actor.clone();
        if actor.connected() {
            return Some(actor);
        }
        self.replace_dead(id)
    }

    /// Starts a new actor for `id` from its stored state, with every subscriber
    /// whose pattern matches; it sends each a reset snapshot.
    fn replace_dead(&self, id: &ResourceId) -> Option<Addr<ResourceActor>> {
        let mut slot = self.inner.resources.get_mut(id)?;
        if slot.actor.connected() {
            // Someone else replaced it meanwhile: use theirs.
            return Some(slot.actor.clone());
        }
        tracing::error!(resource = %id, "resource actor stopped unexpectedly; restarting it from the store");
        let state = self.stored_state(id).unwrap_or_default();
        let watchers = self.watchers().matching(id);
        *slot = self.start_with(
            id.clone(),
            state,
            watchers,
            ResourceActor::replacing_a_dead_one,
        );
        Some(slot.actor.clone())
    }

    /// The stored state of `id` (a tombstone once deleted), if the store has one.
    fn stored_state(&self, id: &ResourceId) -> Option<ResourceState> {
        match self.inner.store.state(id.as_str()) {
            Ok(Some(bytes)) => match ResourceActor::decode_state(&bytes) {
                Ok(state) => Some(state),
                Err(error) => {
                    tracing::error!(resource = %id, %error, "cannot read the resource's state");
                    None
                }
            },
            Ok(None) => None,
            Err(error) => {
                tracing::error!(resource = %id, %error, "cannot read the resource's state");
                None
            }
        }
    }

    /// The actor of `id`, started (from its tombstone if it was deleted, with every
    /// matching subscriber) if it has none.
    pub fn find_or_create(&self, id: &ResourceId) -> Addr<ResourceActor> {
        if let Some(actor) = self.find(id) {
            return actor;
        }
        self.start_if_absent(id, true)
            .unwrap_or_else(|| unreachable!("a resource may always be created"))
    }

    /// The actor of `id` if it has one or the store knows it (a tombstone: its
    /// actor then answers `since` with `removed` and retires); `None` for an id
    /// the hub never held.
    pub fn find_or_load(&self, id: &ResourceId) -> Option<Addr<ResourceActor>> {
        if let Some(actor) = self.find(id) {
            return Some(actor);
        }
        self.start_if_absent(id, false)
    }

    fn start_if_absent(&self, id: &ResourceId, create: bool) -> Option<Addr<ResourceActor>> {
        // The shard stays write-locked, and the watchers read-locked, until the id
        // is in the ordered index: a concurrent `sub` or `unsub` of a matching
        // pattern either is among the watchers read here or finds this resource
        // when it scans, never neither. (Lock order: shard, watchers, ordered.)
        match self.inner.resources.entry(id.clone()) {
            dashmap::Entry::Occupied(entry) => Some(entry.get().actor.clone()),
            dashmap::Entry::Vacant(vacant) => {
                let state = match self.stored_state(id) {
                    Some(state) => state,
                    None if create => ResourceState::default(),
                    None => return None,
                };
                let watchers = self.watchers();
                let entry = self.start(id.clone(), state, watchers.matching(id));
                self.ordered_mut().insert(id.clone());
                drop(watchers);
                let actor = entry.actor.clone();
                vacant.insert(entry);
                Some(actor)
            }
        }
    }

    fn watchers(&self) -> std::sync::RwLockReadGuard<'_, PatternIndex> {
        self.inner
            .watchers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn watchers_mut(&self) -> std::sync::RwLockWriteGuard<'_, PatternIndex> {
        self.inner
            .watchers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers `pattern` for resources created from now on, and returns every
    /// resource with an actor now (live or lately deleted) that it matches. The
    /// caller (the session's ordered control path) then sends each a `Subscribe`.
    pub fn watch(
        &self,
        session: SessionId,
        outbox: &Outbox,
        pattern: &Pattern,
    ) -> Vec<(ResourceId, Addr<ResourceActor>)> {
        self.watchers_mut()
            .add(pattern.clone(), session, outbox.clone());
        self.matching(pattern)
    }

    /// How many existing resources `pattern` matches (for the `ok` of a `sub`).
    pub fn count_live(&self, pattern: &Pattern) -> usize {
        self.entries_matching(pattern)
            .iter()
            .filter(|(_, entry)| entry.is_live())
            .count()
    }

    /// Stops watching `pattern` for new resources; returns the actors it matches,
    /// which the caller sends an `Unsubscribe`.
    pub fn unwatch(
        &self,
        session: SessionId,
        pattern: &Pattern,
    ) -> Vec<(ResourceId, Addr<ResourceActor>)> {
        self.watchers_mut().remove(pattern, session);
        self.matching(pattern)
    }

    /// Every resource with an actor that `pattern` matches, found by a range scan
    /// of the ordered ids (work in proportion to the matches, not to the hub).
    pub fn matching(&self, pattern: &Pattern) -> Vec<(ResourceId, Addr<ResourceActor>)> {
        self.entries_matching(pattern)
            .into_iter()
            .map(|(id, entry)| (id, entry.actor))
            .collect()
    }

    fn entries_matching(&self, pattern: &Pattern) -> Vec<(ResourceId, ResourceEntry)> {
        self.ids_matching(pattern)
            .into_iter()
            .filter_map(|id| {
                let entry = self.inner.resources.get(&id)?.clone();
                Some((id, entry))
            })
            .collect()
    }

    fn ids_matching(&self, pattern: &Pattern) -> Vec<ResourceId> {
        let ordered = self.ordered();
        if let Pattern::Exact(id) = pattern {
            return ordered.get(id.as_str()).cloned().into_iter().collect();
        }
        let prefix = pattern.prefix();
        ordered
            .range::<str, _>((
                std::ops::Bound::Included(prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|id| id.as_str().starts_with(&prefix))
            .filter(|id| pattern.matches(id))
            .cloned()
            .collect()
    }

    /// A new session: its id, and its outbox registered for shutdown.
    pub fn open_session(&self, outbox: &Outbox) -> SessionId {
        let id = SessionId(self.inner.next_session.fetch_add(1, Ordering::Relaxed));
        self.inner.sessions.insert(id, outbox.clone());
        id
    }

    /// A session ended: forget it in the index and tell every resource its
    /// patterns match. A resource whose mailbox is full is not waited for: it
    /// drops the session at its next delivery, when the closed outbox refuses it.
    pub fn close_session(&self, session: SessionId, patterns: &[Pattern]) {
        self.inner.sessions.remove(&session);
        let mut watchers = self.watchers_mut();
        for pattern in patterns {
            watchers.remove(pattern, session);
        }
        drop(watchers);
        for pattern in patterns {
            for (_, actor) in self.matching(pattern) {
                let _ = actor.try_send(SessionClosed { session });
            }
        }
    }

    /// Asks every resource with a TTL to look at the clock now (for a test clock
    /// moved by hand; the wall clock needs no asking).
    pub fn check_ttls(&self) {
        for entry in self.inner.resources.iter() {
            let _ = entry.actor.try_send(CheckTtl);
        }
    }

    /// Asks every session to close with `code` (the writer sends it at once).
    pub fn close_all_sessions(&self, code: CloseCode, reason: &str) {
        for session in self.inner.sessions.iter() {
            session.value().close(code, reason, false);
        }
    }

    /// Bytes queued in every session's outbox (read at scrape time, not on the hot path).
    pub fn queued_bytes(&self) -> usize {
        self.inner
            .sessions
            .iter()
            .map(|session| session.value().queued_bytes())
            .sum()
    }

    /// Live sessions.
    pub fn session_count(&self) -> usize {
        self.inner.sessions.len()
    }

    /// Resources that exist now (deleted ones not counted), as the quota counts them.
    pub fn resource_count(&self) -> usize {
        self.inner.quotas.resources()
    }

    /// The quotas' counts, shared with sessions.
    pub fn quotas(&self) -> &Arc<Quotas> {
        &self.inner.quotas
    }

    /// Registered (session, pattern) subscriptions.
    pub fn subscription_count(&self) -> usize {
        self.watchers().len()
    }

    /// Up to `limit` live resources after `after` that match `pattern` and `keep`
    /// (given each one's id and status), examining at most `budget` ids: work in
    /// proportion to the budget, not to the hub. When the budget runs out first,
    /// `next` is the last id examined, so the caller's next page goes on from it.
    pub fn list_page(
        &self,
        pattern: &Pattern,
        after: Option<&ResourceId>,
        limit: usize,
        budget: usize,
        keep: impl Fn(&ResourceId, Status) -> bool,
    ) -> ListPage {
        // Ids are copied out under the ordered lock, then looked up without it
        // (lock order: shard before ordered).
        let (ids, exhausted) = {
            let ordered = self.ordered();
            let prefix = pattern.prefix();
            let start = match after {
                Some(after) if after.as_str() >= prefix.as_str() => {
                    std::ops::Bound::Excluded(after.as_str())
                }
                _ => std::ops::Bound::Included(prefix.as_str()),
            };
            let mut range = ordered
                .range::<str, _>((start, std::ops::Bound::Unbounded))
                .take_while(|id| id.as_str().starts_with(&prefix));
            let ids: Vec<ResourceId> = range.by_ref().take(budget).cloned().collect();
            (ids, range.next().is_none())
        };
        let mut found = Vec::new();
        for (index, id) in ids.iter().enumerate() {
            if !pattern.matches(id) {
                continue;
            }
            let Some(entry) = self.inner.resources.get(id).map(|entry| entry.clone()) else {
                continue;
            };
            let Some(status) = entry.live.status() else {
                continue;
            };
            if keep(id, status) {
                found.push((id.clone(), entry.actor));
                if found.len() == limit {
                    let more = index + 1 < ids.len() || !exhausted;
                    return ListPage {
                        next: more.then(|| id.clone()),
                        found,
                    };
                }
            }
        }
        let next = match exhausted {
            true => None,
            false => ids.last().cloned(),
        };
        ListPage { found, next }
    }

    /// Resources with an actor (live or lately deleted): what the registry holds.
    pub fn registry_len(&self) -> usize {
        self.inner.resources.len()
    }

    /// Asks the actor of an existing resource (see [`crate::resource::ask`]);
    /// `not_found` when it has none, or when it retired (a resource deleted a
    /// while ago) between being found and being asked.
    pub async fn ask<T, M>(
        &self,
        id: &ResourceId,
        make: impl FnOnce(crate::resource::messages::Reply<T>) -> M,
    ) -> Result<T, Rejection>
    where
        M: actix::Message<Result = ()> + Send + 'static,
        ResourceActor: actix::Handler<M>,
    {
        let actor = self.find(id).ok_or_else(|| Rejection::not_found(id))?;
        match crate::resource::ask(&actor, make).await {
            Err(_) if self.find(id).is_none() => Err(Rejection::not_found(id)),
            outcome => outcome,
        }
    }

    /// The installed monitoring rules.
    pub fn rules(&self) -> Arc<Rules> {
        self.inner
            .rules
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Refuses a client's write to a resource only the hub writes (`hub/**`,
    /// `alert/**`, rollups).
    pub fn check_writable(&self, id: &ResourceId) -> Result<(), Rejection> {
        if self.rules().is_hub_owned(id) {
            return Err(Rejection::new(
                fillstack_protocol::ErrorCode::Forbidden,
                format!("`{id}` is written by the hub itself (hub/, alert/ and rollups)"),
            ));
        }
        Ok(())
    }

    /// Installs a new set of probes, alerts and rollups (a reload): every
    /// resource whose part changed takes up the new rules; sessions are untouched.
    pub fn install(&self, spec: MonitorSpec) {
        let changed = {
            // The watchers write lock keeps resources from being created while
            // the rules change: one created before sees the old rules and is
            // found by `apply`'s scans; one created after sees the new.
            let _creations = self.watchers_mut();
            let mut rules = self
                .inner
                .rules
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let (new, changed) = Rules::new(spec, Some(&rules));
            *rules = Arc::new(new);
            changed
        };
        self.apply(changed);
    }

    /// Tells the resources a rules change concerns, and starts and stops rollup
    /// publishers.
    fn apply(&self, changed: crate::monitor::Changed) {
        let rules = self.rules();
        let mut told = std::collections::HashSet::new();
        let mut tell = |id: ResourceId, actor: Addr<ResourceActor>| {
            if told.insert(id) {
                deliver(
                    &actor,
                    Rejoin {
                        rules: rules.clone(),
                    },
                );
            }
        };
        for id in &changed.probed {
            // A probe's resource gets an actor now, so its timer runs.
            let actor = if rules.probe_for(id).is_some() {
                Some(self.find_or_create(id))
            } else {
                self.find(id)
            };
            if let Some(actor) = actor {
                tell(id.clone(), actor);
            }
        }
        for pattern in &changed.patterns {
            for (id, actor) in self.matching(pattern) {
                tell(id, actor);
            }
        }
        let mut tasks = self
            .inner
            .rollup_tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for rollup in &changed.retired {
            rollup.retire();
            tasks.retain(|(running, task)| {
                let keep = !Arc::ptr_eq(running, rollup);
                if !keep {
                    task.abort();
                }
                keep
            });
            if !rules.spec.is_rollup(&rollup.spec.resource)
                && let Some(actor) = self.find(&rollup.spec.resource)
            {
                let (reply, answer) = crate::resource::messages::Reply::caller();
                drop(answer);
                deliver(&actor, crate::resource::messages::Remove { reply });
            }
        }
        for rollup in changed.started {
            let task = actix_web::rt::spawn(publish_rollup(
                WeakHub(Arc::downgrade(&self.inner)),
                rollup.clone(),
            ));
            tasks.push((rollup, task));
        }
    }

    /// Stops every rollup publisher (at shutdown).
    pub fn stop_monitoring(&self) {
        let mut tasks = self
            .inner
            .rollup_tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (_, task) in tasks.drain(..) {
            task.abort();
        }
    }

    /// The store, for health checks and shutdown.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
}

/// Sends `message` to `actor`, waiting (in a task of its own) for room when its
/// mailbox is full rather than dropping it or growing the mailbox.
fn deliver<M>(actor: &Addr<ResourceActor>, message: M)
where
    M: actix::Message<Result = ()> + Send + 'static,
    ResourceActor: actix::Handler<M>,
{
    if let Err(SendError::Full(message)) = actor.try_send(message) {
        let actor = actor.clone();
        actix_web::rt::spawn(async move {
            let _ = actor.send(message).await;
        });
    }
}

/// Publishes a rollup's counts into its resource now and after every change of
/// a member (changes during a publish make one more publish, not one each).
async fn publish_rollup(hub: WeakHub, rollup: Arc<Rollup>) {
    while rollup.is_live() {
        let Some(current) = hub.upgrade() else {
            return;
        };
        if !current.does_duties(&rollup.spec.resource) {
            // In a cluster one hub publishes each rollup: look again shortly,
            // in case the duty moves here.
            drop(current);
            actix_web::rt::time::sleep(std::time::Duration::from_secs(1)).await;
            continue;
        }
        let change = crate::monitor::rollup::change(&rollup.counts());
        let actor = current.find_or_create(&rollup.spec.resource);
        drop(current);
        let outcome = crate::resource::ask(&actor, |reply| crate::resource::messages::Publish {
            by: crate::limits::Writer::Hub,
            change,
            reply,
        })
        .await;
        if let Err(rejection) = outcome {
            tracing::warn!(rollup = %rollup.spec.resource, message = %rejection.message, "rollup not published; retrying");
            actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
            continue;
        }
        rollup.changed().await;
    }
}

/// What a retiring actor calls: it leaves the registry, unless another actor
/// took its place meanwhile (the `live` flag is the actor's own).
fn retire(hub: Weak<Inner>, id: ResourceId, live: Arc<Presence>) -> Retire {
    Box::new(move || {
        let Some(inner) = hub.upgrade() else {
            return;
        };
        let removed = inner
            .resources
            .remove_if(&id, |_, entry| Arc::ptr_eq(&entry.live, &live))
            .is_some();
        if removed {
            inner
                .ordered
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(id.as_str());
        }
    })
}

#[cfg(test)]
mod tests;
