//! HTTP: the public port that serves the WebSocket upgrade, the REST facade, the
//! SPA and (unless an internal port is configured) health checks and metrics; and
//! the optional internal port that serves only `/metrics`, `/healthz` and `/readyz`.
//! Handlers here only translate; the work happens in sessions, the hub and
//! resource actors.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_http::HttpService;
use actix_service::{IntoServiceFactory as _, ServiceFactoryExt as _, map_config};
use actix_web::dev::{AppConfig, Server, ServerHandle};
use actix_web::{App, HttpResponse, HttpServer, web};

pub(crate) mod framing;
pub mod gate;
pub mod origin;
pub mod rest;
mod spa;
mod upgrade;

use crate::error::Rejection;
use crate::hub::Hub;
use crate::session::SessionSettings;
use fillstack_protocol::ErrorCode;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The hub's registries.
    pub hub: Hub,
    /// Settings for new sessions, shared by all of them.
    pub sessions: Arc<SessionSettings>,
    /// Set at shutdown: `/readyz` answers 503 and upgrades are refused.
    pub draining: Arc<AtomicBool>,
    /// When the hub started, for uptime.
    pub started: std::time::Instant,
    /// This hub's node id.
    pub node: String,
    /// Token verification; `None` when no auth is configured.
    pub auth: Option<Arc<crate::auth::TokenVerifier>>,
    /// Browser origins allowed besides the hub's own and localhost.
    pub allowed_origins: Arc<Vec<String>>,
    /// `Host` names answered besides loopback ones when no auth is configured.
    pub allowed_hosts: Arc<Vec<String>>,
    /// Rate limits, when on.
    pub limits: Option<Arc<crate::limits::Limits>>,
}

/// Where `/metrics`, `/healthz` and `/readyz` are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthRoutes {
    /// On the public port, beside everything else (no `--internal-listen`).
    Public,
    /// On the internal port alone; the public port answers them 404.
    Internal,
}

/// Binds `listen` and builds the public server (not yet running); returns the
/// bound address.
///
/// Built by hand rather than with `HttpServer`, which has no way to take upgraded
/// connections out of actix-http's dispatcher: WebSocket upgrades go to
/// [`upgrade::serve`], everything else to the `App`.
pub fn bind(
    state: AppState,
    listen: SocketAddr,
    workers: usize,
    health: HealthRoutes,
) -> std::io::Result<(Server, SocketAddr, ServerHandle)> {
    let allowed = state.allowed_origins.clone();
    let data = web::Data::new(state.clone());
    let app = move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(gate::gate))
            .wrap(cors(allowed.clone()))
            .wrap(actix_web::middleware::from_fn(request_span))
            .app_data(data.clone())
            .route("/ws", web::to(not_an_upgrade))
            .configure(|app| match health {
                HealthRoutes::Public => health_routes(app),
                HealthRoutes::Internal => moved_health_routes(app),
            })
            .configure(rest::routes)
            .default_service(web::get().to(spa::serve))
    };
    let listener = listen_socket(listen)?;
    let addr = listener.local_addr()?;
    let server = Server::build()
        .workers(workers)
        .disable_signals()
        .shutdown_timeout(5)
        .listen("fillstack", listener, move || {
            let state = state.clone();
            let upgrades = actix_service::fn_service(move |upgrade: upgrade::Upgrade| {
                upgrade::serve(state.clone(), upgrade)
            });
            let app = app()
                .into_factory()
                .map_err(|error: actix_web::Error| error.error_response());
            HttpService::build()
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                // A delta is one small write; Nagle's algorithm would hold it until
                // the previous one is acked, tens of milliseconds on a quiet socket.
                .tcp_nodelay(true)
                .local_addr(addr)
                .upgrade(upgrades)
                .finish(map_config(app, |()| AppConfig::default()))
                .tcp()
        })?
        .run();
    let handle = server.handle();
    Ok((server, addr, handle))
}

/// A listening socket with room for a burst of connections (the kernel's default
/// backlog of 128 would refuse some of 1000 clients connecting at once).
fn listen_socket(listen: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = if listen.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(listen)?;
    socket.listen(2048)?.into_std()
}

/// `/ws` without `Upgrade: websocket` (an upgrade never reaches the `App`).
async fn not_an_upgrade(request: actix_web::HttpRequest) -> Result<HttpResponse, Rejection> {
    Err(Rejection::new(
        ErrorCode::Invalid,
        format!(
            "{} /ws is not a WebSocket upgrade: /ws takes a GET with `Upgrade: websocket` and \
             `Connection: Upgrade`",
            request.method()
        ),
    ))
}

/// The one address a server was bound to.
fn bound_address(addrs: &[SocketAddr]) -> std::io::Result<SocketAddr> {
    addrs
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("bound to no address"))
}

/// Binds the internal port: `/metrics`, `/healthz` and `/readyz` only, for
/// kubelet probes and Prometheus scrapes; anything else is 404.
///
/// It has no Host/Origin gate and no CORS. The gate exists because, without
/// auth, every client of the public port is admin, and a DNS-rebinding page
/// (whose `Host` is its own name) must not get that. Nothing here acts as anyone:
/// no session, no write, only liveness, readiness and counts whose labels never
/// carry a resource id, session id or token subject. And the gate would refuse
/// exactly the callers this port is for: kubelet and Prometheus name the pod's
/// address in `Host`, which is not loopback. Who may reach the port is the
/// network's business (bind it where only probes and scrapers can connect).
pub fn bind_internal(
    state: AppState,
    listen: SocketAddr,
) -> std::io::Result<(Server, SocketAddr, ServerHandle)> {
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(request_span))
            .app_data(data.clone())
            .configure(health_routes)
            .default_service(web::to(not_on_internal_port))
    })
    // Probes and scrapes are a few requests a second: one worker thread is plenty.
    .workers(1)
    .disable_signals()
    .shutdown_timeout(5)
    .client_request_timeout(Duration::from_secs(5))
    .bind(listen)?;
    let addr = bound_address(&server.addrs())?;
    let server = server.run();
    let handle = server.handle();
    Ok((server, addr, handle))
}

/// The three routes for probes and scrapers.
fn health_routes(app: &mut web::ServiceConfig) {
    app.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

/// On the public port when an internal port serves them: 404, not the SPA's page.
fn moved_health_routes(app: &mut web::ServiceConfig) {
    for path in ["/healthz", "/readyz", "/metrics"] {
        app.route(path, web::to(moved_to_internal_port));
    }
}

async fn moved_to_internal_port(
    request: actix_web::HttpRequest,
) -> Result<HttpResponse, Rejection> {
    Err(Rejection::new(
        ErrorCode::NotFound,
        format!(
            "no route {} {} on this port: health and metrics are served on the internal port \
             (--internal-listen)",
            request.method(),
            request.path()
        ),
    ))
}

async fn not_on_internal_port(request: actix_web::HttpRequest) -> Result<HttpResponse, Rejection> {
    Err(Rejection::new(
        ErrorCode::NotFound,
        format!(
            "no route {} {} on the internal port: it serves /metrics, /healthz and /readyz only",
            request.method(),
            request.path()
        ),
    ))
}

/// The token of an `Authorization: Bearer` header, if any.
pub fn bearer_token(headers: &actix_web::http::header::HeaderMap) -> Option<String> {
    let value = headers
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

/// Gives every request a span with a request id (the client's `x-request-id`, or a
/// new one) and echoes the id in the answer.
async fn request_span(
    request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use tracing::Instrument;
    const HEADER: &str = "x-request-id";
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| format!("{:016x}", rand::random::<u64>()), str::to_owned);
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.path());
    let mut response = next.call(request).instrument(span.clone()).await?;
    tracing::debug!(parent: &span, status = response.status().as_u16(), "answered");
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&id) {
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static(HEADER),
            value,
        );
    }
    Ok(response)
}

/// CORS for pages on allowed origins (tokens travel in headers, never cookies).
fn cors(allowed: Arc<Vec<String>>) -> actix_cors::Cors {
    actix_cors::Cors::default()
        .allowed_origin_fn(move |page, head| {
            let host = head
                .headers()
                .get(actix_web::http::header::HOST)
                .and_then(|value| value.to_str().ok());
            page.to_str()
                .is_ok_and(|page| origin::is_allowed(page, host, &allowed))
        })
        .allowed_methods(["GET", "POST", "DELETE"])
        .allowed_headers(["authorization", "content-type", "accept", "if-none-match"])
        .expose_headers(["etag", "retry-after"])
        .max_age(600)
}

/// Prometheus text exposition; gauges that would cost the hot path are read now.
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let metrics = &crate::metrics::METRICS;
    metrics
        .outbox_queued_bytes
        .set(i64::try_from(state.hub.queued_bytes()).unwrap_or(i64::MAX));
    if let Some(limits) = &state.limits {
        metrics
            .rate_limit_keys
            .set(i64::try_from(limits.tracked_keys()).unwrap_or(i64::MAX));
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.draining.load(Ordering::Acquire) {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("draining\n")
    } else if !state.hub.store().is_healthy() {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("store failing\n")
    } else if let Some(cluster) = state.hub.cluster()
        && !cluster.is_ready()
    {
        let why = if cluster.is_connected() {
            "catching up with the cluster's stream\n"
        } else {
            "the cluster's broker is unreachable\n"
        };
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body(why)
    } else {
        HttpResponse::Ok()
            .content_type("text/plain")
            .body("ready\n")
    }
}
