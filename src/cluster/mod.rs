//! Cluster mode: several hubs joined by NATS JetStream (`--nats`). The design, its
//! choices and their failure cases are in `docs/cluster.md`; in short:
//!
//! - one stream, [`STREAM`], with one subject per resource; each message is one
//!   accepted change (the delta and the state it makes, see [`Record`]);
//! - a resource's next seq is decided by its actor on any hub and published with
//!   JetStream's expected-last-subject-sequence, so of two hubs deciding on the
//!   same head only one is stored: the other re-decides (`resource::cluster`);
//! - every hub reads the whole stream in order ([`consumer`]) and applies every
//!   change to its local copy (the sled store, a cache of the stream here);
//! - live nodes keep a key in the [`NODES_BUCKET`] key-value bucket, and duties
//!   (TTL expiry, probes, alert webhooks, rollups) go to one node per resource by
//!   rendezvous hashing over the settled live nodes ([`Cluster::owns`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv, stream};
use base64::Engine as _;
use bytes::Bytes;
use fillstack_protocol::ResourceId;
use serde::{Deserialize, Serialize};

pub mod consumer;

use crate::metrics::METRICS;
use crate::resource::state::{Delta, ResourceState};
use crate::store::{Store, StoreError};

/// The stream every hub of a cluster writes and reads.
pub const STREAM: &str = "FILLSTACK";
/// Its subjects: `fillstack.r.<resource id in unpadded base64url>`.
const SUBJECT_PREFIX: &str = "fillstack.r.";
/// The key-value bucket of live nodes: a key per node, refreshed every
/// [`HEARTBEAT`], gone [`NODE_MAX_AGE`] after its last refresh.
pub const NODES_BUCKET: &str = "fillstack_nodes";
const NODE_MAX_AGE: Duration = Duration::from_secs(10);
const HEARTBEAT: Duration = Duration::from_secs(3);
/// A node takes up duties once it has been live this long, so that every other
/// hub has seen it first (two heartbeats): a joining node never shares a duty.
const SETTLE: Duration = Duration::from_secs(6);
/// How long a publish waits for the broker's ack before answering `unavailable`.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);
/// How long `join` keeps trying to reach the broker before the hub gives up.
const CONNECT_FOR: Duration = Duration::from_secs(20);
/// JetStream's window for dropping a resent message id.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// What `--nats`, `--nats-replicas` and `--node-id` ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// The NATS server's URL.
    pub url: String,
    /// Replicas of the stream and of the node bucket.
    pub replicas: usize,
    /// This hub's name in the cluster.
    pub node_id: String,
}

/// Why a hub could not join its cluster.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The broker did not answer within [`CONNECT_FOR`].
    #[error("cannot reach the NATS server at {url} (--nats): {reason}")]
    Unreachable { url: String, reason: String },
    /// The broker answered, but refused a JetStream call.
    #[error("the NATS server at {url} (--nats) refused {what}: {reason}")]
    Broker {
        url: String,
        what: &'static str,
        reason: String,
    },
    /// Another live hub has this name.
    #[error("another live hub uses --node-id {0}: give every hub of a cluster its own name")]
    DuplicateNode(String),
    /// The local copy could not be read or reset.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One message of the stream: one or more accepted changes of one resource, with
/// consecutive seqs, decided together by one hub (the changes that waited while
/// its previous message was at the broker), and the state they make. The state
/// makes every message enough on its own, so a hub whose copy is behind a trimmed
/// history still reaches every resource's current state.
#[derive(Debug, Serialize, Deserialize)]
pub struct Record {
    /// The changes, in seq order, consecutive.
    pub deltas: Vec<Delta>,
    /// The resource once they are applied.
    pub state: ResourceState,
}

/// Why a publish was not stored.
#[derive(Debug)]
pub enum PublishFailure {
    /// Another hub wrote the resource since the expected message: re-decide.
    Conflict,
    /// The broker did not store it (unreachable, timed out, refused); the text
    /// says why. It may still have been stored: the next decision's check tells.
    Unavailable(String),
}

/// What a node's key in the bucket holds.
#[derive(Debug, Serialize, Deserialize)]
struct NodeValue {
    /// The data dir's cluster instance: a hub restarted on its own dir takes its
    /// key back at once; another hub with the same name is refused.
    instance: String,
    /// When this run of the node joined, unix ms.
    started: u64,
}

/// The nodes as this hub last read them.
#[derive(Debug, Default)]
struct Nodes {
    /// Every live node, sorted.
    live: Vec<String>,
    /// The live nodes settled long enough to take duties, sorted.
    duty: Vec<String>,
}

/// A handle to this hub's membership of the cluster; cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    settings: ClusterSettings,
    client: async_nats::Client,
    js: jetstream::Context,
    nodes_bucket: kv::Store,
    epoch: Arc<str>,
    node: NodeValue,
    nodes: RwLock<Arc<Nodes>>,
    /// The stream's last sequence when this hub joined: it is ready once applied.
    joined_at: u64,
    ready: AtomicBool,
    /// Woken at every (re)connection: the consumer is made again at once, not
    /// after its heartbeats time out.
    reconnected: Arc<tokio::sync::Notify>,
    tracker: consumer::Tracker,
}

impl Cluster {
    /// Connects to the broker, makes or finds the stream and the node bucket,
    /// checks the local copy against the stream (another stream: dropped and
    /// refilled), and takes this node's key (exit 2 if a live hub has it).
    pub async fn join(
        settings: &ClusterSettings,
        history: u64,
        store: &Store,
    ) -> Result<Self, JoinError> {
        let reconnected = Arc::new(tokio::sync::Notify::new());
        let client = connect(settings, reconnected.clone()).await?;
        let broker = |what: &'static str| {
            let url = settings.url.clone();
            move |error: &dyn std::fmt::Display| JoinError::Broker {
                url: url.clone(),
                what,
                reason: error.to_string(),
            }
        };
        let js = jetstream::ContextBuilder::new()
            .timeout(PUBLISH_TIMEOUT)
            .build(client.clone());
        let mut stream = js
            .get_or_create_stream(stream::Config {
                name: STREAM.to_owned(),
                subjects: vec![format!("{SUBJECT_PREFIX}>")],
                max_messages_per_subject: i64::try_from(history).unwrap_or(i64::MAX),
                discard: stream::DiscardPolicy::Old,
                storage: stream::StorageType::File,
                num_replicas: settings.replicas,
                duplicate_window: DUPLICATE_WINDOW,
                allow_direct: true,
                ..Default::default()
            })
            .await
            .map_err(|e| broker("to create the stream")(&e))?;
        let info = stream
            .info()
            .await
            .map_err(|e| broker("to describe the stream")(&e))?;
        let epoch: Arc<str> = format!("c-{:x}", info.created.unix_timestamp_nanos() / 1000).into();
        let joined_at = info.state.last_sequence;
        let kept = info.config.max_messages_per_subject;
        if kept != i64::try_from(history).unwrap_or(i64::MAX) {
            tracing::warn!(
                stream_keeps = kept,
                history,
                "the stream keeps another number of changes per resource than --history; the stream's setting holds for history"
            );
        }
        let nodes_bucket = node_bucket(&js, settings.replicas)
            .await
            .map_err(|e| broker("to create the node bucket")(&e))?;
        let cursor = local_copy(store, &epoch)?;
        let node = NodeValue {
            instance: instance(store)?,
            started: crate::resource::now_ms(),
        };
        take_node_key(&nodes_bucket, &settings.node_id, &node, &settings.url).await?;
        let cluster = Self {
            inner: Arc::new(Inner {
                settings: settings.clone(),
                client,
                js,
                nodes_bucket,
                epoch,
                node,
                nodes: RwLock::default(),
                joined_at,
                ready: AtomicBool::new(false),
                reconnected,
                tracker: consumer::Tracker::new(cursor),
            }),
        };
        cluster.read_nodes().await;
        tracing::info!(node = settings.node_id, epoch = %cluster.inner.epoch, cursor, stream_last = joined_at, "joined the cluster");
        Ok(cluster)
    }

    /// This hub's name.
    pub fn node(&self) -> &str {
        &self.inner.settings.node_id
    }

    /// The cluster's epoch: names the stream, so a recreated stream is a new one.
    pub fn epoch(&self) -> &Arc<str> {
        &self.inner.epoch
    }

    /// Whether the broker is reachable now.
    pub fn is_connected(&self) -> bool {
        self.inner.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Ready to serve: connected, and caught up with the stream as it was at join.
    pub fn is_ready(&self) -> bool {
        self.is_connected() && self.inner.ready.load(Ordering::Acquire)
    }

    /// The live nodes, sorted.
    pub fn nodes(&self) -> Vec<String> {
        self.nodes_now().live.clone()
    }

    fn nodes_now(&self) -> Arc<Nodes> {
        self.inner
            .nodes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Whether this hub does `resource`'s duties (its TTL expiry, its probe, the
    /// webhooks of alerts on it, a rollup's publishes): the settled live node of
    /// highest weight for it. Hubs agree once they have read the same nodes.
    pub fn owns(&self, resource: &ResourceId) -> bool {
        let nodes = self.nodes_now();
        owner(&nodes.duty, resource.as_str()) == Some(self.node())
    }

    /// Publishes one decided change, expecting `expected` to be the resource's
    /// last message in the stream; the stored message's stream sequence, once
    /// the broker has it (with the configured replicas).
    pub async fn publish(
        &self,
        id: &ResourceId,
        record: Bytes,
        expected: u64,
    ) -> Result<u64, PublishFailure> {
        if !self.is_connected() {
            return Err(PublishFailure::Unavailable(
                "the cluster's broker is unreachable".into(),
            ));
        }
        let started = Instant::now();
        let message = jetstream::message::PublishMessage::build()
            .payload(record)
            .expected_last_subject_sequence(expected)
            .header("Fillstack-Node", self.node());
        let sent = self.inner.js.send_publish(subject(id), message).await;
        let acked = match sent {
            Ok(ack) => ack.await,
            Err(error) => Err(error),
        };
        match acked {
            Ok(ack) => {
                METRICS
                    .cluster_publish_seconds
                    .observe(started.elapsed().as_secs_f64());
                Ok(ack.sequence)
            }
            Err(error) => match error.kind() {
                jetstream::context::PublishErrorKind::WrongLastSequence => {
                    Err(PublishFailure::Conflict)
                }
                _ => Err(PublishFailure::Unavailable(format!(
                    "the cluster's broker did not store the change: {error}"
                ))),
            },
        }
    }

    /// A message is applied and durable here (or was found applied already).
    pub fn confirm(&self, stream_seq: u64) {
        self.inner.tracker.confirm(stream_seq);
    }

    /// The tasks of a member: the stream's consumer, the cursor writer and the
    /// heartbeat. They run until aborted (a stop leaves the cluster first).
    pub fn spawn_tasks(&self, hub: &crate::hub::Hub) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = self.spawn_consumer(hub.clone());
        tasks.push(self.spawn_heartbeat());
        tasks
    }

    /// Refreshes this node's key, then reads the live nodes. Runs every
    /// [`HEARTBEAT`] for as long as the hub runs.
    pub fn spawn_heartbeat(&self) -> tokio::task::JoinHandle<()> {
        let cluster = self.clone();
        actix_web::rt::spawn(async move {
            let mut every = actix_web::rt::time::interval(HEARTBEAT);
            every.tick().await;
            loop {
                every.tick().await;
                cluster.heartbeat().await;
                cluster.read_nodes().await;
            }
        })
    }

    async fn heartbeat(&self) {
        let inner = &self.inner;
        let value = node_value(&inner.node);
        // A put, not a compare-and-set: this run owns the key since `join`, and a
        // key lapsed during a cut is taken back.
        if let Err(error) = inner.nodes_bucket.put(&inner.settings.node_id, value).await {
            tracing::warn!(%error, "could not refresh this node's key in the cluster");
        }
    }

    async fn read_nodes(&self) {
        let Ok(keys) = self.inner.nodes_bucket.keys().await else {
            return;
        };
        let names: Vec<String> = futures_util::StreamExt::collect::<Vec<_>>(keys)
            .await
            .into_iter()
            .filter_map(Result::ok)
            .collect();
        let now = crate::resource::now_ms();
        let settle = u64::try_from(SETTLE.as_millis()).unwrap_or(u64::MAX);
        let mut nodes = Nodes::default();
        for name in names {
            let Ok(Some(value)) = self.inner.nodes_bucket.get(&name).await else {
                continue;
            };
            let Ok(value) = serde_json::from_slice::<NodeValue>(&value) else {
                continue;
            };
            if now.saturating_sub(value.started) >= settle {
                nodes.duty.push(name.clone());
            }
            nodes.live.push(name);
        }
        nodes.live.sort();
        nodes.duty.sort();
        METRICS.cluster_nodes.set(nodes.live.len() as i64);
        *self
            .inner
            .nodes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(nodes);
    }

    /// Leaves the cluster at a clean stop: this node's key goes at once.
    pub async fn leave(&self) {
        let _ = self
            .inner
            .nodes_bucket
            .delete(&self.inner.settings.node_id)
            .await;
        let _ = self.inner.client.flush().await;
    }
}

/// Connects, retrying for [`CONNECT_FOR`]; once connected, the client reconnects
/// by itself with backoff, for as long as the hub runs.
async fn connect(
    settings: &ClusterSettings,
    reconnected: Arc<tokio::sync::Notify>,
) -> Result<async_nats::Client, JoinError> {
    let deadline = Instant::now() + CONNECT_FOR;
    loop {
        let reconnected = reconnected.clone();
        let options = async_nats::ConnectOptions::new()
            .name(format!("fillstack-{}", settings.node_id))
            .connection_timeout(Duration::from_secs(2))
            .max_reconnects(None)
            .event_callback(move |event| {
                let reconnected = reconnected.clone();
                async move {
                match event {
                    async_nats::Event::Connected => {
                        tracing::info!("connected to the cluster's broker");
                        reconnected.notify_waiters();
                    }
                    async_nats::Event::Disconnected => tracing::warn!("lost the cluster's broker; publishes answer unavailable until it is back"),
                    other => tracing::debug!(event = %other, "broker event"),
                }
                }
            });
        match options.connect(settings.url.as_str()).await {
            Ok(client) => return Ok(client),
            Err(error) if Instant::now() < deadline => {
                tracing::warn!(url = settings.url, %error, "cannot reach the cluster's broker yet; retrying");
                actix_web::rt::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => {
                return Err(JoinError::Unreachable {
                    url: settings.url.clone(),
                    reason: error.to_string(),
                });
            }
        }
    }
}

async fn node_bucket(
    js: &jetstream::Context,
    replicas: usize,
) -> Result<kv::Store, Box<dyn std::error::Error + Send + Sync>> {
    if let Ok(bucket) = js.get_key_value(NODES_BUCKET).await {
        return Ok(bucket);
    }
    let config = kv::Config {
        bucket: NODES_BUCKET.to_owned(),
        history: 1,
        max_age: NODE_MAX_AGE,
        num_replicas: replicas,
        storage: stream::StorageType::File,
        ..Default::default()
    };
    match js.create_key_value(config).await {
        Ok(bucket) => Ok(bucket),
        // Another hub made it meanwhile.
        Err(error) => js
            .get_key_value(NODES_BUCKET)
            .await
            .map_err(|_| error.into()),
    }
}

/// Takes this node's key: created if absent; taken back if this data dir's own
/// instance holds it (a restart after a kill); otherwise waited for until it
/// lapses, and refused if a live hub keeps it.
async fn take_node_key(
    bucket: &kv::Store,
    name: &str,
    node: &NodeValue,
    url: &str,
) -> Result<(), JoinError> {
    let deadline = Instant::now() + NODE_MAX_AGE + HEARTBEAT;
    loop {
        let error = match bucket.create(name, node_value(node)).await {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        if error.kind() != kv::CreateErrorKind::AlreadyExists {
            return Err(JoinError::Broker {
                url: url.to_owned(),
                what: "this node's key",
                reason: error.to_string(),
            });
        }
        if let Ok(Some(entry)) = bucket.entry(name).await
            && serde_json::from_slice::<NodeValue>(&entry.value)
                .is_ok_and(|held| held.instance == node.instance)
            && bucket
                .update(name, node_value(node), entry.revision)
                .await
                .is_ok()
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(JoinError::DuplicateNode(name.to_owned()));
        }
        tracing::warn!(
            node = name,
            "another hub holds this node's name; waiting for its key to lapse"
        );
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    }
}

fn node_value(node: &NodeValue) -> Bytes {
    Bytes::from(serde_json::to_vec(node).expect("a node value always encodes"))
}

/// The local copy's cursor. A copy of another stream (another cluster, or a
/// stream recreated since) is dropped first, so it is refilled from this one.
fn local_copy(store: &Store, epoch: &str) -> Result<u64, StoreError> {
    let copied = store.meta("cluster_epoch")?;
    if copied.as_deref() != Some(epoch.as_bytes()) {
        if copied.is_some() {
            tracing::warn!(
                epoch,
                "the local copy is of another stream; dropping it and refilling from the broker"
            );
        }
        store.clear_resources()?;
        store.set_meta("cursor", &0u64.to_be_bytes())?;
        store.set_meta("cluster_epoch", epoch.as_bytes())?;
        store.flush()?;
        return Ok(0);
    }
    Ok(store
        .meta("cursor")?
        .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_ref()).ok())
        .map_or(0, u64::from_be_bytes))
}

/// This data dir's cluster instance, made on its first cluster run.
fn instance(store: &Store) -> Result<String, StoreError> {
    if let Some(instance) = store.meta("instance")? {
        return Ok(String::from_utf8_lossy(&instance).into_owned());
    }
    let instance = format!("{:016x}", rand::random::<u64>());
    store.set_meta("instance", instance.as_bytes())?;
    store.flush()?;
    Ok(instance)
}

/// A resource's subject.
pub fn subject(id: &ResourceId) -> String {
    let mut subject = String::with_capacity(SUBJECT_PREFIX.len() + id.as_str().len() * 4 / 3 + 4);
    subject.push_str(SUBJECT_PREFIX);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(id.as_str(), &mut subject);
    subject
}

/// The resource a subject names, if it names one.
pub fn resource_of(subject: &str) -> Option<ResourceId> {
    let encoded = subject.strip_prefix(SUBJECT_PREFIX)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()?;
    ResourceId::parse(std::str::from_utf8(&bytes).ok()?).ok()
}

/// The node of highest weight for `key` (rendezvous hashing): every hub that
/// reads the same nodes picks the same one, and a node joining or leaving moves
/// only the keys it wins or held.
fn owner<'a>(nodes: &'a [String], key: &str) -> Option<&'a str> {
    nodes
        .iter()
        .max_by_key(|node| weight(node, key))
        .map(String::as_str)
}

/// FNV-1a over the node, a separator and the key, then a final mix: stable
/// across builds and platforms, unlike the standard library's hasher.
fn weight(node: &str, key: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in node.bytes().chain([0xff]).chain(key.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // splitmix64's finaliser, so near keys spread.
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

#[cfg(test)]
mod tests;
