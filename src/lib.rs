//! FILLSTACK, a realtime status hub.
//!
//! ```text
//!  client ──ws──► http ──► session ──(actix msg)──► resource ──► store (group commit, flush)
//!                            ▲                          │
//!                            └──── outbox ◄─────────────┘ fan-out: encoded once, same bytes
//! ```
//!
//! Modules in flow order: `config` (what to run), `http` (the port), `session` (one
//! actor per socket), `hub` (registry handle), `resource` (one actor per resource),
//! `outbox` (per-session bounded queue), `store` (durability). `auth` and `error`
//! are used throughout.

pub mod auth;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod error;
pub mod http;
pub mod hub;
pub mod limits;
pub mod metrics;
pub mod monitor;
pub mod outbox;
pub mod resource;
pub mod session;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use actix::{Arbiter, ArbiterHandle};
use actix_web::dev::ServerHandle;
use fillstack_protocol::CloseCode;

pub use config::Config;

use crate::http::AppState;
use crate::hub::Hub;
use crate::store::{Store, StoreError};

/// Why the hub could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The cluster could not be joined (cluster mode).
    #[error(transparent)]
    Cluster(#[from] cluster::JoinError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// The longest a shutdown waits for the server to stop (its own graceful bound is 5 s).
const SERVER_STOP: Duration = Duration::from_secs(5);
/// The longest a shutdown waits for any other step that should be immediate.
const SHUTDOWN_STEP: Duration = Duration::from_millis(500);

/// Awaits `step` for at most `within`, so a shutdown ends within the contract's
/// 10 s whatever a dependency does; a step cut short is logged.
async fn bounded<F: std::future::Future>(what: &str, within: Duration, step: F) {
    if actix_web::rt::time::timeout(within, step).await.is_err() {
        tracing::warn!(step = what, ?within, "shutdown step cut short");
    }
}

/// A running HTTP server: the handle that stops it and the task that drives it.
struct ServedPort {
    handle: ServerHandle,
    task: actix_web::rt::task::JoinHandle<std::io::Result<()>>,
}

impl ServedPort {
    fn spawn(server: actix_web::dev::Server, handle: ServerHandle) -> Self {
        Self {
            handle,
            task: actix_web::rt::spawn(server),
        }
    }

    /// Graceful: requests under way finish (the server gives them 5 s).
    async fn stop(&mut self, what: &str) {
        bounded(what, SERVER_STOP, self.handle.stop(true)).await;
        bounded(what, SHUTDOWN_STEP, &mut self.task).await;
    }
}

/// A hub that is serving; `shutdown` stops it the graceful way.
pub struct RunningHub {
    /// The address actually bound (the real port when 0 was asked).
    pub addr: SocketAddr,
    /// The internal port's bound address, when `--internal-listen` is set.
    pub internal_addr: Option<SocketAddr>,
    hub: Hub,
    public: ServedPort,
    internal: Option<ServedPort>,
    draining: Arc<AtomicBool>,
    arbiters: Vec<Arbiter>,
    /// Publishes `hub/<node>/…`; holds the hub (and so the store) until aborted.
    health: actix_web::rt::task::JoinHandle<()>,
    /// Cluster mode: the stream's consumer, the cursor writer, the heartbeat.
    cluster_tasks: Vec<actix_web::rt::task::JoinHandle<()>>,
}

/// Cluster mode: claims the data dir for it and joins the cluster. One node:
/// claims the data dir for one node.
async fn join_cluster(
    config: &Config,
    store: &Store,
) -> Result<Option<cluster::Cluster>, StartError> {
    store.claim_mode(&config.data, config.nats.is_some())?;
    let Some(settings) = &config.nats else {
        metrics::METRICS.cluster_nodes.set(1);
        return Ok(None);
    };
    Ok(Some(
        cluster::Cluster::join(settings, config.history, store).await?,
    ))
}

/// Keyed limiters keep a key until told to forget it: every 30 s, forever.
fn forget_idle_keys(limits: Arc<limits::Limits>) {
    actix_web::rt::spawn(async move {
        let mut every = actix_web::rt::time::interval(Duration::from_secs(30));
        loop {
            every.tick().await;
            limits.forget_idle();
        }
    });
}

/// Opens the store, loads every resource, binds and starts serving. Must run
/// inside an actix system.
pub async fn start(config: Config) -> Result<RunningHub, StartError> {
    let store = Store::open(&config.data, config.cache_bytes, config.history)?;
    let cluster = join_cluster(&config, &store).await?;
    let arbiters: Vec<Arbiter> = (0..config.resource_threads.max(1))
        .map(|_| Arbiter::new())
        .collect();
    let handles: Vec<ArbiterHandle> = arbiters.iter().map(Arbiter::handle).collect();
    let hub = Hub::open(
        store,
        handles,
        config.clock.clone(),
        config.retire_after,
        config.monitor.clone(),
        limits::Quotas::new(config.quotas),
        cluster.clone(),
    )?;
    let cluster_tasks = cluster
        .as_ref()
        .map(|cluster| cluster.spawn_tasks(&hub))
        .unwrap_or_default();
    let draining = Arc::new(AtomicBool::new(false));
    let state = AppState {
        hub: hub.clone(),
        sessions: Arc::new(config.session.clone()),
        draining: draining.clone(),
        started: Instant::now(),
        node: config.node_id.clone(),
        auth: config
            .auth
            .as_ref()
            .map(|auth| Arc::new(auth.verifier.clone())),
        allowed_origins: Arc::new(config.allowed_origins.clone()),
        allowed_hosts: Arc::new(config.allowed_hosts.clone()),
        limits: config.limits.map(limits::Limits::new),
    };
    if let Some(limits) = state.limits.clone() {
        forget_idle_keys(limits);
    }
    let health_routes = if config.internal_listen.is_some() {
        http::HealthRoutes::Internal
    } else {
        http::HealthRoutes::Public
    };
    let (server, addr, handle) = http::bind(
        state.clone(),
        config.listen,
        config.workers.max(1),
        health_routes,
    )
    .map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    let public = ServedPort::spawn(server, handle);
    let (internal, internal_addr) = match config.internal_listen {
        None => (None, None),
        Some(listen) => match http::bind_internal(state, listen) {
            Ok((server, addr, handle)) => (Some(ServedPort::spawn(server, handle)), Some(addr)),
            Err(source) => {
                // Do not leave the public port serving a hub that failed to start.
                public.handle.stop(false).await;
                return Err(StartError::Bind {
                    addr: listen,
                    source,
                });
            }
        },
    };
    let health = hub::health::report_every(hub.clone(), &config.node_id, config.health_interval);
    Ok(RunningHub {
        addr,
        internal_addr,
        hub,
        public,
        internal,
        draining,
        arbiters,
        health,
        cluster_tasks,
    })
}

impl RunningHub {
    /// Graceful stop: `/readyz` turns 503, every session is closed 1001, the servers
    /// (public and internal) stop, the store is flushed.
    pub async fn shutdown(mut self) -> Result<(), StoreError> {
        let started = Instant::now();
        self.draining.store(true, Ordering::Release);
        self.health.abort();
        self.hub.stop_monitoring();
        // Wait until the reporter (and the hub handle it holds) is really dropped.
        bounded("the health reporter", SHUTDOWN_STEP, &mut self.health).await;
        self.hub
            .close_all_sessions(CloseCode::GoingAway, "hub shutting down");
        let deadline = Instant::now() + Duration::from_secs(3);
        while self.hub.session_count() > 0 && Instant::now() < deadline {
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
        tracing::info!(elapsed = ?started.elapsed(), left = self.hub.session_count(), "sessions closed 1001");
        // Both ports stop together; until then the internal port's `/readyz`
        // answers 503 (draining), so a probe sees the drain, not a refused socket.
        let internal = async {
            if let Some(internal) = self.internal.as_mut() {
                internal.stop("the internal server's stop").await;
            }
        };
        futures_util::future::join(self.public.stop("the server's stop"), internal).await;
        tracing::info!(elapsed = ?started.elapsed(), "server stopped");
        for task in &self.cluster_tasks {
            task.abort();
        }
        if let Some(cluster) = self.hub.cluster() {
            // What is durable here is recorded, and the node leaves at once.
            cluster.write_cursor(self.hub.store(), 0);
            bounded("leaving the cluster", SHUTDOWN_STEP, cluster.leave()).await;
        }
        let flushed = self.hub.store().flush();
        for arbiter in self.arbiters {
            arbiter.stop();
            // The resource actors (and their store handles) are gone once it joins.
            let _ = arbiter.join();
        }
        self.hub.store().close().await;
        tracing::info!(elapsed = ?started.elapsed(), "store flushed and closed");
        flushed
    }

    /// Installs the probes, alerts and rollups of `config`'s file as it is now
    /// (SIGHUP). A bad file is refused with the message it gets at start, and
    /// the running set is kept.
    pub fn reload(&self, config: &Config) -> Result<(), config::ConfigError> {
        let spec = config.read_monitor()?;
        let counts = (spec.probes.len(), spec.alerts.len(), spec.rollups.len());
        self.hub.install(spec);
        tracing::info!(
            probes = counts.0,
            alerts = counts.1,
            rollups = counts.2,
            "monitoring reloaded"
        );
        Ok(())
    }

    /// The hub's registries (for in-process tests and status).
    pub fn hub(&self) -> &Hub {
        &self.hub
    }
}
