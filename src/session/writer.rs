//! The session's writer: drains the outbox into the socket, several frames per wakeup.
//!
//! It is the only task that writes the socket: each batch taken from the outbox is
//! encoded into one buffer and written straight to the connection, with no channel
//! or dispatcher task between. A write that finds no room within the unread bound
//! means the client stopped reading: the session closes 4009.

use std::time::Duration;

use actix::prelude::*;
use actix_http::ws::OpCode;
use bytes::BytesMut;
use fillstack_protocol::{CloseCode, Codec};

use super::socket::{self, Connection};
use super::{SessionActor, WriterStopped};
use crate::hub::Hub;
use crate::metrics::METRICS;
use crate::outbox::{Outbound, Outbox};
use crate::resource::messages::{Resync, SessionId};

/// Bytes taken from the outbox per batch (one write, as the socket allows).
const BATCH_BYTES: usize = 64 * 1024;
/// How long a close frame may wait for room on a socket that is not being read.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Everything the writer needs, moved into its task.
pub struct Writer {
    pub outbox: Outbox,
    pub connection: Connection,
    pub hub: Hub,
    pub session_id: SessionId,
    pub session: Addr<SessionActor>,
    pub unread_timeout: Duration,
}

/// How a writer's run ended.
enum Ended {
    /// The outbox asked for a close, now written (or given up on).
    Closed,
    /// The connection failed, or the client stopped reading (closed 4009).
    Gone,
}

impl Writer {
    /// Runs until the outbox closes or the socket goes away, then tells the session
    /// and lets the connection end.
    pub async fn run(mut self) {
        let ended = self.write_until_closed().await;
        let _ = self.session.try_send(WriterStopped);
        if matches!(ended, Ended::Closed) {
            // Boxed, like every rare wait here: the task's future is as large as its
            // largest wait, and an idle session should pay only for `ready()`.
            Box::pin(self.connection.linger()).await;
        }
    }

    async fn write_until_closed(&mut self) -> Ended {
        // Both grown on first use and let go when the outbox runs dry: an idle
        // session holds neither.
        let mut batch = Vec::new();
        let mut buffer = BytesMut::new();
        let opcode = match self.outbox.codec() {
            Codec::MsgPack => OpCode::Binary,
            // JSON frames are produced by serde_json, so they are valid UTF-8.
            Codec::Json => OpCode::Text,
        };
        loop {
            self.outbox.take(BATCH_BYTES, &mut batch);
            if batch.is_empty() {
                batch = Vec::new();
                buffer = BytesMut::new();
                self.outbox.release_idle();
                self.outbox.ready().await;
                continue;
            }
            // Counted per batch, not per frame: one shared atomic add per wakeup.
            let (frames, close) = self.encode(&mut batch, &mut buffer, opcode).await;
            let bytes = buffer.len() as u64;
            if let Some((code, reason)) = close {
                socket::encode_close(&mut buffer, code, &reason);
                let _ = Box::pin(self.connection.write_all(&mut buffer, CLOSE_GRACE)).await;
                return Ended::Closed;
            }
            // Most batches fit in the socket at once: no future, no timer.
            let written = match self.connection.try_write_all(&mut buffer) {
                Ok(true) => Ok(()),
                Ok(false) => {
                    Box::pin(self.connection.write_all(&mut buffer, self.unread_timeout)).await
                }
                Err(error) => Err(Some(error)),
            };
            match written {
                Ok(()) => {
                    METRICS.deliveries.inc_by(frames);
                    METRICS.delivered_bytes.inc_by(bytes);
                }
                Err(Some(_gone)) => return Ended::Gone,
                Err(None) => {
                    tracing::debug!(
                        session = %self.session_id,
                        "client stopped reading; closing 4009"
                    );
                    let reason = "slow consumer: unread too long";
                    self.outbox.close(CloseCode::SlowConsumer, reason, false);
                    // What is left of the batch goes first, so the close frame
                    // never lands inside a frame that was half written.
                    socket::encode_close(&mut buffer, CloseCode::SlowConsumer, reason);
                    return match Box::pin(self.connection.write_all(&mut buffer, CLOSE_GRACE)).await
                    {
                        Ok(()) => Ended::Closed,
                        Err(_) => Ended::Gone,
                    };
                }
            }
        }
    }

    /// Encodes `batch` into `buffer`: the frames it holds and, if it ends with a
    /// close, the close's code and reason (nothing after a close is sent).
    async fn encode(
        &self,
        batch: &mut Vec<Outbound>,
        buffer: &mut BytesMut,
        opcode: OpCode,
    ) -> (u64, Option<(CloseCode, String)>) {
        let mut frames = 0u64;
        for item in batch.drain(..) {
            match item {
                Outbound::Delta { frame, .. }
                | Outbound::ResetDone {
                    frame: Some(frame), ..
                }
                | Outbound::Reply { frame } => {
                    socket::encode(buffer, opcode, &frame);
                    frames += 1;
                }
                Outbound::ResetDone { frame: None, .. } => {}
                Outbound::Reset { resource } => Box::pin(self.resync(resource)).await,
                Outbound::Pong => {
                    if let Some(frame) = self.outbox.take_pong(false) {
                        socket::encode(buffer, opcode, &frame);
                        frames += 1;
                    }
                }
                Outbound::WsPong => {
                    if let Some(payload) = self.outbox.take_pong(true) {
                        socket::encode(buffer, OpCode::Pong, &payload);
                    }
                }
                Outbound::WsPing => {
                    self.outbox.take_ping();
                    socket::encode(buffer, OpCode::Ping, b"");
                }
                Outbound::Close { code, reason } => return (frames, Some((code, reason))),
            }
        }
        (frames, None)
    }

    /// Asks the resource for what ends the reset of `resource` in this outbox: it
    /// queues the fresh snapshot in order with its later deltas, or an empty end
    /// when the session no longer watches it. A resource without an actor (it
    /// never existed, or its actor stopped) ends the reset here, so none stays open.
    async fn resync(&self, resource: fillstack_protocol::ResourceId) {
        let resync = || Resync {
            session: self.session_id,
            outbox: self.outbox.clone(),
        };
        for _attempt in 0..2 {
            let Some(actor) = self.hub.find_or_load(&resource) else {
                break;
            };
            if actor.send(resync()).await.is_ok() {
                return;
            }
        }
        self.outbox.deliver_reset(&resource, None);
    }
}
