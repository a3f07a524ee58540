//! Outbox: one session's bounded, conflating queue of encoded frames, fed by many
//! resource actors and drained by the session's writer.
//!
//! Deliveries never go through the session's actix mailbox (a mailbox can neither
//! conflate nor count bytes). Each outbox has its own lock, held only to push or to
//! take a batch; there is no lock shared between sessions. The outbox knows nothing
//! of sockets: the writer takes items and decides how to send them.

use std::cell::OnceCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use fillstack_protocol::{CloseCode, Codec, ResourceId, Seq, ServerFrame};
use tokio::sync::Notify;

use crate::metrics::METRICS;

mod queue;

pub use queue::{Outbound, OutboundQueue, Pushed};

/// Queue bounds, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct OutboxLimits {
    /// Past this many queued bytes, deltas are conflated into one reset per resource.
    pub soft: usize,
    /// Past this many queued bytes, the session is closed 4009.
    pub hard: usize,
}

impl Default for OutboxLimits {
    fn default() -> Self {
        Self {
            soft: 256 * 1024,
            hard: 1024 * 1024,
        }
    }
}

/// A handle to one session's outbox; cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
}

struct Shared {
    codec: Codec,
    queue: Mutex<OutboundQueue>,
    ready: Notify,
    closed: AtomicBool,
}

impl Outbox {
    /// An empty outbox for a session speaking `codec`.
    pub fn new(codec: Codec, limits: OutboxLimits) -> Self {
        Self {
            shared: Arc::new(Shared {
                codec,
                queue: Mutex::new(OutboundQueue::new(limits.soft, limits.hard)),
                ready: Notify::new(),
                closed: AtomicBool::new(false),
            }),
        }
    }

    /// The codec the session speaks.
    pub fn codec(&self) -> Codec {
        self.shared.codec
    }

    /// Whether the session is gone (or going); pushes are then ignored.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    fn queue(&self) -> MutexGuard<'_, OutboundQueue> {
        // A panic while holding this lock can only come from a bug in the queue;
        // the queue's state is still consistent enough to drain, so keep going.
        self.shared
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn push(&self, item: Outbound) -> Pushed {
        if self.is_closed() {
            return Pushed::Closed;
        }
        let pushed = self.queue().push(item);
        if pushed == Pushed::Conflated {
            METRICS.conflations.inc();
        }
        if pushed == Pushed::Overflow {
            self.close(
                CloseCode::SlowConsumer,
                "slow consumer: outbound queue over its hard limit",
                false,
            );
        } else {
            self.shared.ready.notify_one();
        }
        pushed
    }

    /// Queues a change of `resource` at `seq`; may be conflated into a reset.
    pub fn deliver(&self, resource: &ResourceId, seq: Seq, frame: Bytes) -> Pushed {
        self.push(Outbound::Delta {
            resource: resource.clone(),
            seq,
            frame,
        })
    }

    /// Queues the fresh snapshot that ends a reset of `resource`; never conflated.
    pub fn deliver_reset(&self, resource: &ResourceId, frame: Bytes) -> Pushed {
        self.push(Outbound::ResetDone {
            resource: resource.clone(),
            frame,
        })
    }

    /// Queues a reply to the session's own request; never conflated.
    pub fn reply(&self, frame: &ServerFrame) -> Pushed {
        self.push(Outbound::Reply {
            frame: self.codec().encode(frame),
        })
    }

    /// Asks the writer to close the socket with `code`, after what is queued when
    /// `after_queued` (else at once); further pushes are ignored.
    pub fn close(&self, code: CloseCode, reason: &str, after_queued: bool) {
        if !self.shared.closed.swap(true, Ordering::AcqRel) {
            METRICS.closed(code.as_u16());
            self.queue().close(code, reason, after_queued);
            self.shared.ready.notify_one();
        }
    }

    /// Waits until there is something to take.
    pub async fn ready(&self) {
        self.shared.ready.notified().await;
    }

    /// Takes up to `max_bytes` of queued items (at least one, if any).
    pub fn take(&self, max_bytes: usize, into: &mut Vec<Outbound>) {
        self.queue().take(max_bytes, into);
    }

    /// The most bytes the queue ever held at once.
    pub fn high_water(&self) -> usize {
        self.queue().high_water()
    }

    /// Bytes waiting in the queue.
    pub fn queued_bytes(&self) -> usize {
        self.queue().queued_bytes()
    }
}

/// A frame encoded at most once per codec, shared by every subscriber of a change.
pub struct SharedFrame {
    frame: ServerFrame,
    msgpack: OnceCell<Bytes>,
    json: OnceCell<Bytes>,
}

impl SharedFrame {
    /// Wraps a frame; nothing is encoded until a codec asks.
    pub fn new(frame: ServerFrame) -> Self {
        Self {
            frame,
            msgpack: OnceCell::new(),
            json: OnceCell::new(),
        }
    }

    /// The frame's bytes in `codec`; the same `Bytes` for every caller.
    pub fn bytes(&self, codec: Codec) -> Bytes {
        let cell = match codec {
            Codec::MsgPack => &self.msgpack,
            Codec::Json => &self.json,
        };
        cell.get_or_init(|| codec.encode(&self.frame)).clone()
    }
}
