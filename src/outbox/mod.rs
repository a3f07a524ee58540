//! Outbox: one session's bounded, conflating queue of encoded frames, fed by many
//! resource actors and drained by the session's writer.
//!
//! Deliveries never go through the session's actix mailbox (a mailbox can neither
//! conflate nor count bytes). Each outbox has its own lock, held only to push or to
//! take a batch; there is no lock shared between sessions. The outbox knows nothing
//! of sockets: the writer takes items and decides how to send them.

use std::cell::OnceCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use fillstack_protocol::{CloseCode, Codec, ResourceId, Seq, ServerFrame};
use futures_util::task::AtomicWaker;
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
    /// Woken when the writer takes a batch (room may have been made) and
    /// `room_waiters` says someone waits for room.
    drained: Notify,
    room_waiters: AtomicUsize,
    /// The session's reader, paused while the queue is over the soft limit.
    reader: AtomicWaker,
    /// Whether the queue holds more than its soft limit (kept by push and take).
    over_soft: AtomicBool,
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
                drained: Notify::new(),
                room_waiters: AtomicUsize::new(0),
                reader: AtomicWaker::new(),
                over_soft: AtomicBool::new(false),
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

    /// Changes the queue under its lock and keeps `over_soft` in step with it.
    fn change_queue<R>(&self, change: impl FnOnce(&mut OutboundQueue) -> R) -> R {
        let mut queue = self.queue();
        let outcome = change(&mut queue);
        self.shared
            .over_soft
            .store(queue.is_over_soft(), Ordering::Release);
        outcome
    }

    fn push(&self, item: Outbound) -> Pushed {
        if self.is_closed() {
            return Pushed::Closed;
        }
        let pushed = self.change_queue(|queue| queue.push(item));
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

    /// Queues what ends a reset of `resource` (a frame complete in itself, or
    /// nothing); never absorbed or conflated.
    pub fn deliver_reset(&self, resource: &ResourceId, frame: Option<Bytes>) -> Pushed {
        self.push(Outbound::ResetDone {
            resource: resource.clone(),
            frame,
        })
    }

    /// Queues a reply to the session's own request; never conflated, never an overflow.
    pub fn reply(&self, frame: &ServerFrame) -> Pushed {
        self.push(Outbound::Reply {
            frame: self.codec().encode(frame),
        })
    }

    /// Queues a reply once the queue has room for it under the hard limit: a large
    /// answer (history) waits for a reading client rather than close it 4009.
    pub async fn reply_when_room(&self, frame: Bytes) -> Pushed {
        // Counted before the room is checked, so a take after the check wakes it.
        self.shared.room_waiters.fetch_add(1, Ordering::SeqCst);
        let _waiting = RoomWaiter(&self.shared.room_waiters);
        loop {
            let drained = self.shared.drained.notified();
            if self.is_closed() {
                return Pushed::Closed;
            }
            if self.queue().has_room(frame.len()) {
                return self.push(Outbound::Reply { frame });
            }
            drained.await;
        }
    }

    /// Queues a `pong` (or a WebSocket pong's payload, when `websocket`); one waits at most.
    pub fn pong(&self, frame: Bytes, websocket: bool) {
        if self.is_closed() {
            return;
        }
        let pushed = self.change_queue(|queue| queue.push_pong(frame, websocket));
        if pushed == Pushed::Queued {
            self.shared.ready.notify_one();
        }
    }

    /// The payload of the pong marker just taken.
    pub fn take_pong(&self, websocket: bool) -> Option<Bytes> {
        self.queue().take_pong(websocket)
    }

    /// Queues the heartbeat's WebSocket ping; one waits at most.
    pub fn ping(&self) {
        if self.is_closed() {
            return;
        }
        if self.change_queue(OutboundQueue::push_ping) == Pushed::Queued {
            self.shared.ready.notify_one();
        }
    }

    /// The writer took the ping marker: the next heartbeat may queue another.
    pub fn take_ping(&self) {
        self.queue().take_ping();
    }

    /// Whether more than the soft limit waits: the session reads no request meanwhile.
    pub fn is_over_soft(&self) -> bool {
        // Read on every client frame: an atomic kept by push and take, not the lock.
        self.shared.over_soft.load(Ordering::Acquire)
    }

    /// Registers the reader to wake once the queue drains under the soft limit.
    pub fn wake_when_drained(&self, waker: &std::task::Waker) {
        self.shared.reader.register(waker);
    }

    /// Asks the writer to close the socket with `code`, after what is queued when
    /// `after_queued` (else at once); further pushes are ignored.
    pub fn close(&self, code: CloseCode, reason: &str, after_queued: bool) {
        if !self.shared.closed.swap(true, Ordering::AcqRel) {
            METRICS.closed(code.as_u16());
            self.queue().close(code, reason, after_queued);
            self.shared.ready.notify_one();
            self.shared.drained.notify_waiters();
            self.shared.reader.wake();
        }
    }

    /// Waits until there is something to take.
    pub async fn ready(&self) {
        self.shared.ready.notified().await;
    }

    /// Takes up to `max_bytes` of queued items (at least one, if any), and wakes
    /// whoever waits for room.
    pub fn take(&self, max_bytes: usize, into: &mut Vec<Outbound>) {
        // Read under the same lock as the take: a push in between must not be missed.
        let (was_over_soft, is_over_soft) = self.change_queue(|queue| {
            let was_over_soft = queue.is_over_soft();
            queue.take(max_bytes, into);
            (was_over_soft, queue.is_over_soft())
        });
        // On the delivery path: wake nobody (no lock, no syscall) unless someone waits.
        if into.is_empty() {
            return;
        }
        if self.shared.room_waiters.load(Ordering::SeqCst) > 0 {
            self.shared.drained.notify_waiters();
        }
        if was_over_soft && !is_over_soft {
            self.shared.reader.wake();
        }
    }

    /// Lets go of the queue's room while it is empty (the writer goes idle).
    pub fn release_idle(&self) {
        self.queue().release_idle();
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

/// Counts one `reply_when_room` as waiting until it is dropped.
struct RoomWaiter<'a>(&'a AtomicUsize);

impl Drop for RoomWaiter<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
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

#[cfg(test)]
mod tests;
