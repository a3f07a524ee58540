//! Every hub applies every change: an ordered consumer reads the whole stream
//! from this hub's cursor and hands each message to its resource's actor, which
//! writes it to the local copy and fans it out. The [`Tracker`] bounds the
//! messages handed out and not yet durable here, and yields the cursor: the
//! stream sequence up to which everything is applied and durable.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use futures_util::StreamExt;

use super::{Cluster, Record, STREAM, resource_of};
use crate::hub::Hub;
use crate::metrics::METRICS;
use crate::resource::messages::Replicated;
use crate::store::Store;

/// Messages handed to resource actors and not yet durable here. When full, the
/// consumer waits (the broker keeps the rest): a hub that falls behind lags, and
/// its lag gauge says by how much, but its memory stays bounded.
pub const MAX_UNCONFIRMED: usize = 8192;
/// Wait before reading the stream again after the consumer failed, doubling to
/// [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// How often the cursor is written to the local copy.
const CURSOR_EVERY: Duration = Duration::from_secs(1);

/// The messages in flight between the consumer and the local copy.
pub struct Tracker {
    state: Mutex<TrackerState>,
    room: tokio::sync::Notify,
}

struct TrackerState {
    /// Handed to an actor, not yet confirmed durable.
    unconfirmed: BTreeSet<u64>,
    /// The last message handed out (or the cursor the hub started from).
    handed: u64,
}

impl Tracker {
    /// A tracker whose every message up to `cursor` is applied.
    pub fn new(cursor: u64) -> Self {
        Self {
            state: Mutex::new(TrackerState {
                unconfirmed: BTreeSet::new(),
                handed: cursor,
            }),
            room: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TrackerState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for room, then records `stream_seq` as handed out: `None` if it was
    /// handed out before (the consumer was made again), else the messages now
    /// handed out and not yet durable.
    async fn hand(&self, stream_seq: u64) -> Option<usize> {
        loop {
            let notified = self.room.notified();
            {
                let mut state = self.lock();
                if stream_seq <= state.handed {
                    return None;
                }
                if state.unconfirmed.len() < MAX_UNCONFIRMED {
                    state.unconfirmed.insert(stream_seq);
                    state.handed = stream_seq;
                    return Some(state.unconfirmed.len());
                }
            }
            notified.await;
        }
    }

    /// `stream_seq` is durable here.
    pub fn confirm(&self, stream_seq: u64) {
        let mut state = self.lock();
        if state.unconfirmed.remove(&stream_seq) && state.unconfirmed.len() < MAX_UNCONFIRMED {
            self.room.notify_waiters();
        }
    }

    /// Every message up to this one is durable here.
    pub fn applied(&self) -> u64 {
        let state = self.lock();
        state
            .unconfirmed
            .first()
            .map_or(state.handed, |first| first - 1)
    }

    /// The last message handed out: the consumer resumes after it.
    fn handed(&self) -> u64 {
        self.lock().handed
    }
}

/// Hands a message to its resource's actor, in order: a full mailbox is waited
/// for (the tracker bounds what is in flight anyway), and an actor that died is
/// replaced from the local copy first.
async fn deliver(hub: &Hub, id: &fillstack_protocol::ResourceId, message: Replicated) {
    let mut message = message;
    for _ in 0..3 {
        let actor = hub.find_or_create(id);
        match actor.try_send(message) {
            Ok(()) => return,
            Err(actix::prelude::SendError::Full(full)) => {
                if actor.send(full).await.is_ok() {
                    return;
                }
                tracing::error!(resource = %id, "a resource actor stopped while taking a message of the stream");
                return;
            }
            Err(actix::prelude::SendError::Closed(closed)) => message = closed,
        }
    }
    tracing::error!(resource = %id, "no resource actor takes the stream's messages; a restart applies them");
}

impl Cluster {
    /// Reads the stream for as long as the hub runs, from the message after the
    /// last one handed out; a broken consumer (the broker restarted, a cut) is
    /// made again after a backoff. Also writes the cursor every second.
    pub fn spawn_consumer(&self, hub: Hub) -> Vec<tokio::task::JoinHandle<()>> {
        let cluster = self.clone();
        let store = hub.store().clone();
        let reader = actix_web::rt::spawn(async move {
            let mut retry = RETRY_FIRST;
            loop {
                match cluster.consume(&hub).await {
                    Ok(()) => retry = RETRY_FIRST,
                    Err(error) => {
                        tracing::warn!(%error, retry_in = ?retry, "the cluster's stream could not be read; reading it again");
                        actix_web::rt::time::sleep(retry).await;
                        retry = (retry * 2).min(RETRY_MAX);
                    }
                }
            }
        });
        let cluster = self.clone();
        let cursor = actix_web::rt::spawn(async move {
            let mut written = cluster.inner.tracker.applied();
            let mut every = actix_web::rt::time::interval(CURSOR_EVERY);
            loop {
                every.tick().await;
                written = cluster.write_cursor(&store, written);
            }
        });
        vec![reader, cursor]
    }

    /// Writes the cursor if it moved; the cursor written.
    pub fn write_cursor(&self, store: &Store, written: u64) -> u64 {
        let applied = self.inner.tracker.applied();
        if applied > written
            && let Err(error) = store.set_meta("cursor", &applied.to_be_bytes())
        {
            tracing::warn!(%error, "cannot write the cluster cursor");
            return written;
        }
        if applied >= self.inner.joined_at && !self.inner.ready.swap(true, Ordering::AcqRel) {
            tracing::info!(applied, "caught up with the cluster's stream");
        }
        applied
    }

    /// One ordered consumer, until it ends or fails.
    async fn consume(&self, hub: &Hub) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let tracker = &self.inner.tracker;
        let start = tracker.handed() + 1;
        let stream = self.inner.js.get_stream(STREAM).await?;
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: start,
                },
                ..Default::default()
            })
            .await?;
        let mut messages = consumer.messages().await?;
        loop {
            let reconnected = self.inner.reconnected.notified();
            let message = tokio::select! {
                message = messages.next() => message,
                () = reconnected => return Ok(()),
            };
            let Some(message) = message else {
                return Ok(());
            };
            let message = message?;
            let info = message.info()?;
            let stream_seq = info.stream_sequence;
            let Some(unconfirmed) = tracker.hand(stream_seq).await else {
                continue; // Already handed out, before the consumer was made again.
            };
            METRICS
                .cluster_lag_messages
                .set(i64::try_from(info.pending as usize + unconfirmed).unwrap_or(i64::MAX));
            let Some(id) = resource_of(message.subject.as_str()) else {
                tracing::error!(subject = %message.subject, stream_seq, "a message of the stream names no resource; skipped");
                tracker.confirm(stream_seq);
                continue;
            };
            let record: Record = match rmp_serde::from_slice(&message.payload) {
                Ok(record) => record,
                Err(error) => {
                    tracing::error!(resource = %id, stream_seq, %error, "a message of the stream is unreadable; skipped");
                    tracker.confirm(stream_seq);
                    continue;
                }
            };
            deliver(hub, &id, Replicated { stream_seq, record }).await;
        }
    }
}
