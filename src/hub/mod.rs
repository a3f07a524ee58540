//! Hub: a cheap handle to the registry of resource actors, the pattern index and
//! the live sessions. It is not an actor: finding a resource reads one shard of a
//! concurrent map, and only creating one takes a shard's write lock, so the publish
//! path crosses no central actor and no global lock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use actix::prelude::*;
use dashmap::DashMap;
use fillstack_protocol::{CloseCode, Pattern, ResourceId, Seq};

pub mod health;
mod patterns;

use patterns::PatternIndex;

use crate::outbox::Outbox;
use crate::resource::ResourceActor;
use crate::resource::messages::{Subscribe, SubscriberGone, SubscriberId, Unsubscribe};
use crate::resource::state::ResourceState;
use crate::store::{Store, StoreError};

/// Messages a resource actor may hold before senders wait (`send().await`).
const RESOURCE_MAILBOX: usize = 1024;

#[derive(Clone)]
struct ResourceEntry {
    actor: Addr<ResourceActor>,
    live: Arc<AtomicBool>,
}

/// A handle to the hub's registries; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    resources: DashMap<ResourceId, ResourceEntry>,
    watchers: RwLock<PatternIndex>,
    arbiters: Vec<ArbiterHandle>,
    next_arbiter: AtomicUsize,
    store: Store,
    sessions: DashMap<SubscriberId, Outbox>,
    next_session: AtomicU64,
}

/// The resources a new subscription covers, found when it was taken.
pub struct Matches {
    /// (id, actor) of every known resource matching, live or deleted.
    pub resources: Vec<(ResourceId, Addr<ResourceActor>)>,
    /// How many of them exist now.
    pub live: usize,
}

impl Hub {
    /// Loads every resource from the store and starts its actor, spreading actors
    /// over `arbiters`.
    pub fn open(store: Store, arbiters: Vec<ArbiterHandle>) -> Result<Self, StoreError> {
        assert!(
            !arbiters.is_empty(),
            "resource actors need at least one arbiter"
        );
        let hub = Self {
            inner: Arc::new(Inner {
                resources: DashMap::new(),
                watchers: RwLock::new(PatternIndex::default()),
                arbiters,
                next_arbiter: AtomicUsize::new(0),
                store: store.clone(),
                sessions: DashMap::new(),
                next_session: AtomicU64::new(1),
            }),
        };
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
            let entry = hub.start(id.clone(), state, Vec::new());
            hub.inner.resources.insert(id, entry);
        }
        Ok(hub)
    }

    fn start(
        &self,
        id: ResourceId,
        state: ResourceState,
        watchers: Vec<(SubscriberId, Outbox, Pattern)>,
    ) -> ResourceEntry {
        self.start_with(id, state, watchers, |actor| actor)
    }

    fn start_with(
        &self,
        id: ResourceId,
        state: ResourceState,
        watchers: Vec<(SubscriberId, Outbox, Pattern)>,
        prepare: impl FnOnce(ResourceActor) -> ResourceActor,
    ) -> ResourceEntry {
        let index =
            self.inner.next_arbiter.fetch_add(1, Ordering::Relaxed) % self.inner.arbiters.len();
        crate::metrics::METRICS.actor_started(index);
        let live = Arc::new(AtomicBool::new(state.exists));
        let actor = prepare(ResourceActor::new(
            id,
            state,
            self.inner.store.clone(),
            live.clone(),
            watchers,
        ));
        let actor = ResourceActor::start_in_arbiter(&self.inner.arbiters[index], move |ctx| {
            ctx.set_mailbox_capacity(RESOURCE_MAILBOX);
            actor
        });
        ResourceEntry { actor, live }
    }

    /// The actor of a known resource (live or deleted). An actor that stopped
    /// (a panic in one of its handlers) is replaced from the store first.
    pub fn find(&self, id: &ResourceId) -> Option<Addr<ResourceActor>> {
        let actor = self.inner.resources.get(id)?.actor.clone();
        if actor.connected() {
            return Some(actor);
        }
        Some(self.replace_dead(id))
    }

    /// Starts a new actor for `id` from its stored state, with every subscriber
    /// whose pattern matches; it sends each a reset snapshot.
    fn replace_dead(&self, id: &ResourceId) -> Addr<ResourceActor> {
        let Some(mut slot) = self.inner.resources.get_mut(id) else {
            return self.find_or_create(id);
        };
        if slot.actor.connected() {
            // Someone else replaced it meanwhile: use theirs.
            return slot.actor.clone();
        }
        tracing::error!(resource = %id, "resource actor stopped unexpectedly; restarting it from the store");
        let state = match self.inner.store.state(id.as_str()) {
            Ok(Some(bytes)) => ResourceActor::decode_state(&bytes).unwrap_or_default(),
            Ok(None) => ResourceState::default(),
            Err(error) => {
                tracing::error!(resource = %id, %error, "cannot read the resource's state");
                ResourceState::default()
            }
        };
        let watchers = self.watchers().matching(id);
        *slot = self.start_with(
            id.clone(),
            state,
            watchers,
            ResourceActor::replacing_a_dead_one,
        );
        slot.actor.clone()
    }

    /// The actor of `id`, started (with every matching subscriber) if unknown.
    pub fn find_or_create(&self, id: &ResourceId) -> Addr<ResourceActor> {
        if let Some(actor) = self.find(id) {
            return actor;
        }
        // The shard stays write-locked while the watchers are read, so a concurrent
        // `sub` either is among them or finds this resource when it scans.
        self.inner
            .resources
            .entry(id.clone())
            .or_insert_with(|| {
                let watchers = self.watchers().matching(id);
                self.start(id.clone(), ResourceState::default(), watchers)
            })
            .actor
            .clone()
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

    /// Registers `pattern` for resources created from now on, and returns those that
    /// already match. The caller then sends each a `Subscribe`.
    pub fn watch(&self, subscriber: SubscriberId, outbox: &Outbox, pattern: &Pattern) -> Matches {
        self.watchers_mut()
            .add(pattern.clone(), subscriber, outbox.clone());
        let mut live = 0;
        let resources = self
            .inner
            .resources
            .iter()
            .filter(|entry| pattern.matches(entry.key()))
            .map(|entry| {
                live += usize::from(entry.live.load(Ordering::Acquire));
                (entry.key().clone(), entry.actor.clone())
            })
            .collect();
        Matches { resources, live }
    }

    /// Subscribes to every match, with `since` for resuming; resolves when every
    /// resource has queued its first frames.
    pub async fn subscribe_all(
        matches: Vec<(ResourceId, Addr<ResourceActor>)>,
        subscriber: SubscriberId,
        outbox: Outbox,
        pattern: Pattern,
        since: BTreeMap<ResourceId, Seq>,
    ) {
        let sends = matches.into_iter().map(|(id, actor)| {
            let since = since.get(&id).copied();
            let subscribe = Subscribe {
                subscriber,
                outbox: outbox.clone(),
                pattern: pattern.clone(),
                since,
            };
            actor.send(subscribe)
        });
        // A resource that stopped has nothing to send; the others are unaffected.
        let _ = futures_util::future::join_all(sends).await;
    }

    /// Stops watching `pattern`, here and in every resource it matched.
    pub fn unwatch(&self, subscriber: SubscriberId, pattern: &Pattern) {
        self.watchers_mut().remove(pattern, subscriber);
        for entry in self
            .inner
            .resources
            .iter()
            .filter(|entry| pattern.matches(entry.key()))
        {
            let actor = entry.actor.clone();
            let unsubscribe = Unsubscribe {
                subscriber,
                pattern: pattern.clone(),
            };
            actix::spawn(async move { actor.send(unsubscribe).await });
        }
    }

    /// A new session: its id, and its outbox registered for shutdown.
    pub fn open_session(&self, outbox: &Outbox) -> SubscriberId {
        let id = self.inner.next_session.fetch_add(1, Ordering::Relaxed);
        self.inner.sessions.insert(id, outbox.clone());
        id
    }

    /// A session ended: forget it everywhere it subscribed.
    pub fn close_session(&self, subscriber: SubscriberId, patterns: &[Pattern]) {
        self.inner.sessions.remove(&subscriber);
        let mut watchers = self.watchers_mut();
        for pattern in patterns {
            watchers.remove(pattern, subscriber);
        }
        drop(watchers);
        for entry in self
            .inner
            .resources
            .iter()
            .filter(|entry| patterns.iter().any(|p| p.matches(entry.key())))
        {
            let actor = entry.actor.clone();
            actix::spawn(async move { actor.send(SubscriberGone { subscriber }).await });
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

    /// Resources that exist now (deleted ones not counted).
    pub fn resource_count(&self) -> usize {
        self.inner
            .resources
            .iter()
            .filter(|entry| entry.live.load(Ordering::Acquire))
            .count()
    }

    /// Registered (session, pattern) subscriptions.
    pub fn subscription_count(&self) -> usize {
        self.watchers().len()
    }

    /// Every known resource matching `pattern` (live or deleted), for queries that
    /// read many resources.
    pub fn resources_matching(&self, pattern: &Pattern) -> Vec<ResourceId> {
        let mut ids: Vec<ResourceId> = self
            .inner
            .resources
            .iter()
            .filter(|entry| pattern.matches(entry.key()))
            .map(|entry| entry.key().clone())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The store, for health checks and shutdown.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
}

#[cfg(test)]
mod tests;
