//! The session's writer: drains the outbox into the socket, several frames per wakeup.
//!
//! It is the only task that awaits the socket. A write that cannot complete within
//! the unread bound means the client stopped reading: the session closes 4009.

use std::pin::pin;
use std::time::Duration;

use actix::prelude::*;
use actix_ws::{CloseReason, Session as Socket};
use bytes::Bytes;
use bytestring::ByteString;
use fillstack_protocol::{CloseCode, Codec};
use futures_util::FutureExt;

use super::{SessionActor, WriterStopped};
use crate::hub::Hub;
use crate::metrics::METRICS;
use crate::outbox::{Outbound, Outbox};
use crate::resource::messages::{Resync, SessionId};

/// Bytes taken from the outbox per batch; the socket channel holds 32 frames more.
const BATCH_BYTES: usize = 64 * 1024;
/// How long a close frame may wait for room on a socket that is not being read.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Everything the writer needs, moved into its task.
pub struct Writer {
    pub outbox: Outbox,
    pub socket: Socket,
    pub hub: Hub,
    pub session_id: SessionId,
    pub session: Addr<SessionActor>,
    pub unread_timeout: Duration,
}

impl Writer {
    /// Runs until the outbox closes or the socket goes away, then tells the session.
    pub async fn run(mut self) {
        // Grown on first use, let go when the outbox runs dry after a large batch:
        // an idle session holds no batch buffer.
        let mut batch = Vec::new();
        let codec = self.outbox.codec();
        // Counted per batch, not per frame: one shared atomic add per wakeup.
        let (mut frames, mut bytes) = (0u64, 0u64);
        'writing: loop {
            METRICS.deliveries.inc_by(std::mem::take(&mut frames));
            METRICS.delivered_bytes.inc_by(std::mem::take(&mut bytes));
            self.outbox.take(BATCH_BYTES, &mut batch);
            if batch.is_empty() {
                if batch.capacity() > 64 {
                    batch = Vec::new();
                }
                self.outbox.ready().await;
                continue;
            }
            for item in batch.drain(..) {
                let frame = match item {
                    Outbound::Delta { frame, .. }
                    | Outbound::ResetDone {
                        frame: Some(frame), ..
                    }
                    | Outbound::Reply { frame } => frame,
                    Outbound::ResetDone { frame: None, .. } => continue,
                    Outbound::Reset { resource } => {
                        self.resync(resource).await;
                        continue;
                    }
                    Outbound::Pong => match self.outbox.take_pong(false) {
                        Some(frame) => frame,
                        None => continue,
                    },
                    Outbound::WsPong => {
                        if let Some(payload) = self.outbox.take_pong(true) {
                            let pong = tokio::time::timeout(
                                self.unread_timeout,
                                self.socket.pong(&payload),
                            );
                            if !matches!(pong.await, Ok(Ok(()))) {
                                break 'writing;
                            }
                        }
                        continue;
                    }
                    Outbound::Close { code, reason } => {
                        close(self.socket, code, &reason).await;
                        break 'writing;
                    }
                };
                let length = frame.len() as u64;
                match self.write(codec, frame).await {
                    Written::Yes => {
                        frames += 1;
                        bytes += length;
                    }
                    Written::SocketGone => break 'writing,
                    Written::TimedOut => {
                        tracing::debug!(
                            session = %self.session_id,
                            "client stopped reading; closing 4009"
                        );
                        self.outbox.close(
                            CloseCode::SlowConsumer,
                            "slow consumer: unread too long",
                            false,
                        );
                        close(
                            self.socket,
                            CloseCode::SlowConsumer,
                            "slow consumer: unread too long",
                        )
                        .await;
                        break 'writing;
                    }
                }
            }
        }
        let _ = self.session.try_send(WriterStopped);
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

    async fn write(&mut self, codec: Codec, frame: Bytes) -> Written {
        let outcome = {
            let send = match codec {
                Codec::MsgPack => self.socket.binary(frame).left_future(),
                // JSON frames are produced by serde_json, so they are valid UTF-8.
                Codec::Json => match ByteString::try_from(frame) {
                    Ok(text) => self.socket.text(text).right_future(),
                    Err(_) => return Written::Yes,
                },
            };
            let mut send = pin!(send);
            // Most writes find room at once; only a full channel pays for a timer.
            match send.as_mut().now_or_never() {
                Some(outcome) => Some(outcome),
                None => tokio::time::timeout(self.unread_timeout, send).await.ok(),
            }
        };
        match outcome {
            Some(Ok(())) => Written::Yes,
            Some(Err(_closed)) => Written::SocketGone,
            None => Written::TimedOut,
        }
    }
}

enum Written {
    Yes,
    SocketGone,
    TimedOut,
}

/// Sends a close frame, waiting a bounded time for room.
async fn close(socket: Socket, code: CloseCode, reason: &str) {
    // A close reason may hold at most 123 bytes.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let reason = CloseReason {
        code: code.as_u16().into(),
        description: Some(reason[..end].to_owned()),
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, socket.close(Some(reason))).await;
}
