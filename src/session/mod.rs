//! SessionActor: one per WebSocket. Frames in, one dispatch, answers out through
//! the session's outbox.
//!
//! Every client frame is decoded, checked, allowed and routed in `on_frame`, and
//! every failure becomes exactly one `error` frame (or a close, for bytes that are
//! not a frame). Requests go to resource actors as actix messages; deliveries come
//! back through the outbox, never through this actor's mailbox.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use fillstack_protocol::{
    ClientFrame, CloseCode, Codec, ErrorCode, FrameErrorKind, RequestId, ResourceId, ServerFrame,
};

mod answers;
mod control;
pub mod cut;
pub mod gate;
mod hello;
pub mod request;
pub mod socket;
mod writer;

pub use answers::MAX_HISTORY_FRAME_BYTES;
use control::Subscriptions;
pub use control::{CONTROL_QUEUE, MAX_PENDING_SINCE};

pub use hello::Credentials;

use request::Request;
use socket::{Broken, Connection, Incoming};
use writer::Writer;

use crate::auth::{Action, Grants};
use crate::error::Rejection;
use crate::hub::Hub;
use crate::limits::Verdict;
use crate::metrics::METRICS;
use crate::outbox::{Outbox, OutboxLimits};
use crate::resource::messages::{AckTo, Publish, Reply, SessionId};
use crate::resource::state::Change;
use crate::resource::stopped;

/// Publishes one session may have waiting for their acks at once; past it, a
/// `pub` is refused `rate_limited` until acks come back.
const MAX_IN_FLIGHT: usize = 4096;

/// Per-session settings, shared by every session of a hub.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// How often the hub pings; two silent heartbeats close the session.
    pub heartbeat: Duration,
    /// How long after the upgrade a `hello` may come.
    pub hello_timeout: Duration,
    /// Largest client frame, bytes.
    pub max_frame_bytes: usize,
    /// How long the socket may stay unwritable before 4009.
    pub unread_timeout: Duration,
    /// Outbox bounds.
    pub outbox: OutboxLimits,
    /// `name/version` for `welcome`.
    pub server: String,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(25),
            hello_timeout: Duration::from_secs(5),
            max_frame_bytes: 64 * 1024,
            unread_timeout: Duration::from_secs(10),
            outbox: OutboxLimits::default(),
            server: concat!("fillstack/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// The writer ended (socket gone, closed, or slow consumer): stop the session.
#[derive(Message)]
#[rtype(result = "()")]
pub struct WriterStopped;

/// One client connection.
pub struct SessionActor {
    id: SessionId,
    hub: Hub,
    /// Handed to the writer when the session starts.
    connection: Option<Connection>,
    outbox: Outbox,
    settings: Arc<SessionSettings>,
    credentials: Credentials,
    /// Every log line of this session carries its id, peer and (once known) `sub`.
    span: tracing::Span,
    /// Fires when the session's token expires (4002 unless a `hello` refreshed it).
    expiry: Option<SpawnHandle>,
    /// Fires when no `hello` came in time; cancelled by the first valid one.
    hello_timer: Option<SpawnHandle>,
    /// `None` until a valid `hello`.
    grants: Option<Grants>,
    /// Who this session's publishes are by (set by `hello`), for the quotas.
    writer: crate::limits::Writer,
    /// Its unit of its subject's session quota, once authenticated.
    quota: Option<crate::limits::quota::SessionHold>,
    /// Its unit of the hub's `sessions_total`, taken at the upgrade.
    _seat: crate::limits::quota::ConnectionHold,
    /// What the session watches; owned here and nowhere else.
    subscriptions: Subscriptions,
    /// Control requests waiting for the ordered path, bounded by `CONTROL_QUEUE`.
    control: VecDeque<Request>,
    /// Whether a control request is running.
    control_busy: bool,
    last_heard: Instant,
    /// Publishes waiting for their acks; shared with the resources that answer them.
    in_flight: Arc<AtomicUsize>,
}

impl SessionActor {
    /// A session on a freshly upgraded connection speaking `codec`.
    pub fn new(
        hub: Hub,
        connection: Connection,
        codec: Codec,
        settings: Arc<SessionSettings>,
        credentials: Credentials,
        seat: crate::limits::quota::ConnectionHold,
    ) -> Self {
        let outbox = Outbox::new(codec, settings.outbox);
        let id = hub.open_session(&outbox);
        Self {
            id,
            hub,
            connection: Some(connection),
            outbox,
            settings,
            // At debug, not info: an enabled span costs every session about 300
            // bytes for its whole life (the registry's slot and its formatted
            // fields), most of an idle session's budget. Lines at info and above
            // name the session themselves.
            span: tracing::debug_span!(
                "session",
                session = %id,
                peer = credentials
                    .peer
                    .map(|peer| peer.to_string())
                    .unwrap_or_default(),
                sub = tracing::field::Empty
            ),
            credentials,
            expiry: None,
            hello_timer: None,
            grants: None,
            writer: crate::limits::Writer::Anonymous,
            quota: None,
            _seat: seat,
            subscriptions: Subscriptions::default(),
            control: VecDeque::new(),
            control_busy: false,
            last_heard: Instant::now(),
            in_flight: Arc::default(),
        }
    }

    /// The session's outbox (the reader pauses while it is over its soft limit).
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    fn reply(&self, frame: &ServerFrame) {
        self.outbox.reply(frame);
    }

    /// Answers a refused request: logged (at debug unless it is the hub's fault) and
    /// rendered as one `error` frame. Every refusal of the session ends here.
    fn refuse(&self, rejection: Rejection) {
        if rejection.is_hub_fault() {
            // The hub's own failures are logged at warn: with whose request it was.
            let peer = self.credentials.peer.map(|peer| peer.to_string());
            let span =
                tracing::warn_span!("session", session = %self.id, peer = peer.unwrap_or_default());
            let _in_session = span.enter();
            rejection.report();
        } else {
            rejection.report();
        }
        self.reply(&rejection.to_frame());
    }

    /// One client frame in; every failure becomes exactly one `error` frame.
    fn on_frame(&mut self, codec: Codec, bytes: &[u8], ctx: &mut Context<Self>) {
        let outcome = match codec.decode::<ClientFrame>(bytes) {
            Ok(frame) => {
                let id = frame.request_id();
                if let Err(over) = self.take_budget(&frame) {
                    return self.on_over_budget(over, id);
                }
                self.handle(frame, ctx)
                    .map_err(|rejection| rejection.answering(Some(id)))
            }
            Err(error) if error.kind == FrameErrorKind::Undecodable => {
                tracing::debug!(session = %self.id, %error, "undecodable frame; closing 1007");
                self.outbox
                    .close(CloseCode::Undecodable, &error.message, true);
                return;
            }
            Err(error) => Err(Rejection::from(error)),
        };
        if let Err(rejection) = outcome {
            self.refuse(rejection);
            if self.grants.is_none() {
                self.outbox
                    .close(CloseCode::Unauthorized, "no valid hello", true);
            }
        }
    }

    fn take_budget(&mut self, frame: &ClientFrame) -> Result<(), Verdict> {
        match &mut self.credentials.limits {
            Some(limits) => limits.take_frame(matches!(frame, ClientFrame::Pub(_))),
            None => Ok(()),
        }
    }

    fn on_over_budget(&mut self, over: Verdict, id: RequestId) {
        match over {
            Verdict::Refuse(rejection) => self.refuse(rejection.answering(Some(id))),
            Verdict::Abuse => {
                tracing::info!(
                    session = %self.id,
                    "closing a session that kept going over its rate limits"
                );
                self.outbox
                    .close(CloseCode::RateLimitAbuse, "rate limit abuse", false);
            }
        }
    }

    fn handle(&mut self, frame: ClientFrame, ctx: &mut Context<Self>) -> Result<(), Rejection> {
        let request = Request::try_from(frame)?;
        if let Request::Hello { id, token } = request {
            return self.hello(id, token, ctx);
        }
        let Some(grants) = &self.grants else {
            return Err(Rejection::new(
                ErrorCode::Unauthorized,
                "the first frame must be hello",
            ));
        };
        match &request {
            Request::Subscribe { pattern, .. } => {
                grants.allow_pattern(pattern)?;
                if let Some(limits) = &self.credentials.limits
                    && !self.subscriptions.patterns.contains(pattern)
                {
                    limits.allow_subscription(self.subscriptions.patterns.len())?;
                }
            }
            Request::Publish { resource, .. } => {
                grants.allow(Action::Publish, resource)?;
                self.hub.check_writable(resource)?;
            }
            Request::Get { resource, .. } | Request::History { resource, .. } => {
                grants.allow(Action::Read, resource)?;
            }
            Request::Hello { .. } | Request::Unsubscribe { .. } | Request::Ping { .. } => {}
        }
        match request {
            Request::Publish {
                id,
                resource,
                change,
            } => self.publish(id, resource, change)?,
            Request::Ping { id } => {
                let pong = ServerFrame::Pong {
                    id,
                    time: self.hub.clock().now_ms(),
                };
                self.outbox.pong(self.outbox.codec().encode(&pong), false);
            }
            // sub, unsub, get and history: one at a time, in the order sent.
            control => self.enqueue(control, ctx)?,
        }
        Ok(())
    }

    fn admit(&mut self) -> Result<(), Rejection> {
        if self.in_flight.load(Ordering::Acquire) >= MAX_IN_FLIGHT {
            return Err(Rejection {
                retry_after: Some(Duration::from_millis(100)),
                ..Rejection::new(
                    ErrorCode::RateLimited,
                    format!(
                        "{MAX_IN_FLIGHT} requests of this session are still waiting for answers"
                    ),
                )
            });
        }
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    fn publish(
        &mut self,
        id: RequestId,
        resource: ResourceId,
        change: Change,
    ) -> Result<(), Rejection> {
        self.admit()?;
        let actor = self.hub.find_or_create(&resource);
        // Queued now, in frame order: a client pipelining publishes to one resource
        // gets seqs in the order it sent them. The resource answers straight into
        // the outbox; a full mailbox refuses at once rather than reorder.
        let ack = AckTo::ack(id, self.id, self.outbox.clone(), self.in_flight.clone());
        let publish = Publish {
            by: self.writer.clone(),
            change,
            reply: Reply::Session(ack),
        };
        // A message handed back unsent is answered here, once.
        match actor.try_send(publish) {
            Ok(()) => {}
            Err(SendError::Full(publish)) => publish.reply.send(Err(Rejection::unavailable(
                format!("{resource} has too many changes waiting; retry"),
                Duration::from_millis(100),
            ))),
            Err(SendError::Closed(publish)) => publish.reply.send(Err(stopped())),
        }
        Ok(())
    }

    fn on_broken(&mut self, broken: &Broken) {
        tracing::debug!(session = %self.id, reason = %broken.reason, code = broken.code.as_u16(), "websocket protocol error");
        self.outbox.close(broken.code, &broken.reason, false);
    }

    fn heartbeat(&mut self, _: &mut Context<Self>) {
        // A session whose reading the hub paused (its outbox over the soft limit)
        // is not blamed for silence; the writer's unread bound covers it.
        if self.last_heard.elapsed() > 2 * self.settings.heartbeat && !self.outbox.is_over_soft() {
            self.outbox.close(
                CloseCode::HeartbeatMissed,
                "no answer to pings for two heartbeats",
                false,
            );
            return;
        }
        // One ping per heartbeat, through the writer (one waits at most).
        self.outbox.ping();
    }
}

impl SessionActor {
    fn sessions_gauge(&self) -> &'static prometheus::IntGauge {
        match self.outbox.codec() {
            Codec::MsgPack => &METRICS.sessions_msgpack,
            Codec::Json => &METRICS.sessions_json,
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let span = self.span.clone();
        let _in_session = span.enter();
        self.sessions_gauge().inc();
        let peer = self
            .credentials
            .peer
            .map(|peer| peer.to_string())
            .unwrap_or_default();
        tracing::debug!(session = %self.id, %peer, codec = self.outbox.codec().subprotocol(), "session opened");
        let Some(connection) = self.connection.take() else {
            return;
        };
        let writer = Writer {
            outbox: self.outbox.clone(),
            connection,
            hub: self.hub.clone(),
            session_id: self.id,
            session: ctx.address(),
            unread_timeout: self.settings.unread_timeout,
        };
        // A task of its own, not a future of this context: a wakeup of one must
        // not poll the other.
        actix::spawn(writer.run());
        self.hello_timer = Some(ctx.run_later(self.settings.hello_timeout, |session, _| {
            if session.grants.is_none() {
                let timeout = session.settings.hello_timeout;
                let message = format!("no hello within {} ms", timeout.as_millis());
                session.refuse(Rejection::new(ErrorCode::Unauthorized, message.clone()));
                session
                    .outbox
                    .close(CloseCode::Unauthorized, &message, true);
            }
        }));
        ctx.run_interval(self.settings.heartbeat, Self::heartbeat);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        let span = self.span.clone();
        let _in_session = span.enter();
        self.sessions_gauge().dec();
        // Debug, not info: 10 000 reconnecting clients would write 20 000 lines.
        tracing::debug!(
            session = %self.id,
            subscriptions = self.subscriptions.patterns.len(),
            "session closed"
        );
        METRICS
            .outbox_high_water_bytes
            .observe(self.outbox.high_water() as f64);
        self.outbox.close(CloseCode::Normal, "session ended", false);
        let patterns: Vec<_> = self.subscriptions.every_pattern().cloned().collect();
        self.hub.close_session(self.id, &patterns);
    }
}

impl StreamHandler<Result<Incoming, Broken>> for SessionActor {
    fn handle(&mut self, item: Result<Incoming, Broken>, ctx: &mut Context<Self>) {
        let span = self.span.clone();
        let _in_session = span.enter();
        // Once the session closes, nothing the client sends after is acted on.
        if self.outbox.is_closed() {
            return;
        }
        self.last_heard = Instant::now();
        let codec = self.outbox.codec();
        match item {
            Ok(Incoming::Binary(bytes)) if codec == Codec::MsgPack => {
                self.on_frame(Codec::MsgPack, &bytes, ctx);
            }
            Ok(Incoming::Text(text)) if codec == Codec::Json => {
                self.on_frame(Codec::Json, &text, ctx);
            }
            Ok(Incoming::Binary(_) | Incoming::Text(_)) => {
                let reason = format!(
                    "this session speaks {}: {} frames only",
                    codec.subprotocol(),
                    if codec == Codec::MsgPack {
                        "binary"
                    } else {
                        "text"
                    }
                );
                self.outbox
                    .close(CloseCode::UnsupportedData, &reason, false);
            }
            Ok(Incoming::Ping(bytes)) => self.outbox.pong(bytes, true),
            Ok(Incoming::Pong) => {}
            Ok(Incoming::Close) => {
                self.outbox
                    .close(CloseCode::Normal, "closed by the client", false)
            }
            Err(broken) => self.on_broken(&broken),
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Handler<WriterStopped> for SessionActor {
    type Result = ();

    fn handle(&mut self, _: WriterStopped, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
