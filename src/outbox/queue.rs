//! The pure queue behind an outbox: bounded in bytes, conflating per resource.

use std::collections::{HashSet, VecDeque};

use bytes::Bytes;
use fillstack_protocol::{CloseCode, ResourceId, Seq};

/// What a reset placeholder counts for, in bytes, so that resets are bounded too.
const RESET_COST: usize = 64;

/// One item waiting for the socket.
#[derive(Debug, Clone, PartialEq)]
pub enum Outbound {
    /// A change of a resource the session watches; may be conflated.
    Delta {
        resource: ResourceId,
        seq: Seq,
        frame: Bytes,
    },
    /// Stands for deltas dropped by conflation: the writer asks the resource for a
    /// fresh snapshot with `reset: true`.
    Reset { resource: ResourceId },
    /// What ends a reset (a fresh snapshot, `removed`, a new subscription's first
    /// frame, or nothing when the session no longer watches the resource); from
    /// here on the resource's deltas queue again. Never absorbed or conflated.
    ResetDone {
        resource: ResourceId,
        frame: Option<Bytes>,
    },
    /// An answer to the session's own request; never dropped, never conflated and
    /// never the cause of an overflow (the session stops reading requests while
    /// its queue is over the soft limit, which bounds answers).
    Reply { frame: Bytes },
    /// The `pong` frame in `latest_pong`: one queued at most, however many `ping`s.
    Pong,
    /// A WebSocket pong with the payload in `latest_ws_pong`: one queued at most.
    WsPong,
    /// A WebSocket ping of the heartbeat: one queued at most.
    WsPing,
    /// Close the socket with this code; nothing follows it.
    Close { code: CloseCode, reason: String },
}

impl Outbound {
    fn cost(&self) -> usize {
        match self {
            Self::Delta { frame, .. } | Self::Reply { frame } => frame.len(),
            Self::ResetDone { frame, .. } => frame.as_ref().map_or(RESET_COST, Bytes::len),
            Self::Reset { .. } | Self::Close { .. } | Self::Pong | Self::WsPong | Self::WsPing => {
                RESET_COST
            }
        }
    }
}

/// What became of a pushed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Queued as it was.
    Queued,
    /// The resource's queued deltas were replaced by one reset.
    Conflated,
    /// The resource was already waiting for its reset: the delta is in it.
    Absorbed,
    /// The queue passed its hard limit: the session must close 4009.
    Overflow,
    /// The session is closing; the item was dropped.
    Closed,
}

/// Frames waiting for one session's socket, bounded in bytes.
///
/// Past `soft_limit`, a new delta drops that resource's queued deltas and leaves a
/// single `Reset` in their place; deltas of a resource being reset are absorbed until
/// its `ResetDone` arrives, so the client never sees a delta older than the snapshot
/// that replaces it, nor a gap. Past `hard_limit` a push returns `Overflow`.
#[derive(Debug)]
pub struct OutboundQueue {
    items: VecDeque<Outbound>,
    /// Resources whose deltas are absorbed until their `ResetDone` is pushed; each
    /// has a `Reset` queued, so this is bounded by the hard limit too.
    resetting: HashSet<ResourceId>,
    /// The newest `pong` frame, sent where its `Pong` marker is queued.
    latest_pong: Option<Bytes>,
    /// Whether a heartbeat's `WsPing` is queued and not yet taken.
    ping_queued: bool,
    /// The newest WebSocket ping's payload, answered where `WsPong` is queued.
    latest_ws_pong: Option<Bytes>,
    queued_bytes: usize,
    /// The most bytes ever queued at once.
    high_water: usize,
    soft_limit: usize,
    hard_limit: usize,
    closing: bool,
}

impl OutboundQueue {
    /// An empty queue with these bounds (bytes).
    pub fn new(soft_limit: usize, hard_limit: usize) -> Self {
        Self {
            items: VecDeque::new(),
            resetting: HashSet::new(),
            latest_pong: None,
            latest_ws_pong: None,
            ping_queued: false,
            queued_bytes: 0,
            high_water: 0,
            soft_limit,
            hard_limit,
            closing: false,
        }
    }

    /// Queues `item`, conflating deltas when over the soft limit. Only deliveries
    /// (deltas and resets) report `Overflow`: answers to requests never do.
    pub fn push(&mut self, item: Outbound) -> Pushed {
        if self.closing {
            return Pushed::Closed;
        }
        let is_delivery = matches!(item, Outbound::Delta { .. });
        let outcome = match item {
            Outbound::Delta { resource, .. } if self.resetting.contains(&resource) => {
                Pushed::Absorbed
            }
            Outbound::Delta { resource, .. }
                if self.queued_bytes + RESET_COST > self.soft_limit =>
            {
                self.conflate(resource);
                Pushed::Conflated
            }
            item => {
                if let Outbound::ResetDone { resource, .. } = &item {
                    self.resetting.remove(resource);
                }
                self.enqueue(item);
                Pushed::Queued
            }
        };
        if is_delivery && self.queued_bytes > self.hard_limit {
            Pushed::Overflow
        } else {
            outcome
        }
    }

    /// Queues a `pong` frame, replacing one still waiting: a session that pings
    /// faster than it reads gets a pong for its latest ping only.
    pub fn push_pong(&mut self, frame: Bytes, websocket: bool) -> Pushed {
        if self.closing {
            return Pushed::Closed;
        }
        let (slot, marker) = if websocket {
            (&mut self.latest_ws_pong, Outbound::WsPong)
        } else {
            (&mut self.latest_pong, Outbound::Pong)
        };
        if slot.replace(frame).is_none() {
            self.enqueue(marker);
        }
        Pushed::Queued
    }

    /// The payload of a `Pong` (or, when `websocket`, a `WsPong`) marker just taken.
    pub fn take_pong(&mut self, websocket: bool) -> Option<Bytes> {
        if websocket {
            self.latest_ws_pong.take()
        } else {
            self.latest_pong.take()
        }
    }

    /// Lets go of the items' room while none waits: an idle session keeps none.
    pub fn release_idle(&mut self) {
        if self.items.is_empty() {
            self.items = VecDeque::new();
        }
    }

    /// Queues the heartbeat's WebSocket ping, unless one still waits.
    pub fn push_ping(&mut self) -> Pushed {
        if self.closing {
            return Pushed::Closed;
        }
        if !std::mem::replace(&mut self.ping_queued, true) {
            self.enqueue(Outbound::WsPing);
        }
        Pushed::Queued
    }

    /// Marks the queued `WsPing` as taken: the next heartbeat queues another.
    pub fn take_ping(&mut self) {
        self.ping_queued = false;
    }

    /// Whether more than the soft limit is queued: the session stops reading
    /// requests until the writer drains it.
    pub fn is_over_soft(&self) -> bool {
        self.queued_bytes > self.soft_limit
    }

    /// Whether `bytes` more fit under the hard limit (an empty queue always has room).
    pub fn has_room(&self, bytes: usize) -> bool {
        self.queued_bytes == 0 || self.queued_bytes + bytes <= self.hard_limit
    }

    fn enqueue(&mut self, item: Outbound) {
        self.queued_bytes += item.cost();
        self.high_water = self.high_water.max(self.queued_bytes);
        self.items.push_back(item);
    }

    /// The most bytes ever queued at once.
    pub fn high_water(&self) -> usize {
        self.high_water
    }

    /// Replaces every queued delta of `resource` with one `Reset`.
    fn conflate(&mut self, resource: ResourceId) {
        let mut freed = 0;
        self.items.retain(|item| match item {
            Outbound::Delta {
                resource: queued,
                frame,
                ..
            } if *queued == resource => {
                freed += frame.len();
                false
            }
            _ => true,
        });
        self.queued_bytes -= freed;
        self.resetting.insert(resource.clone());
        self.enqueue(Outbound::Reset { resource });
    }

    /// Ends the queue with a close. Unless `after_queued`, what was queued is dropped
    /// (a slow consumer or a hub shutting down does not wait for it).
    pub fn close(&mut self, code: CloseCode, reason: &str, after_queued: bool) {
        if !after_queued {
            self.items.clear();
            self.queued_bytes = 0;
        }
        self.enqueue(Outbound::Close {
            code,
            reason: reason.to_owned(),
        });
        self.closing = true;
    }

    /// Moves items into `into` until about `max_bytes` are taken (at least one).
    pub fn take(&mut self, max_bytes: usize, into: &mut Vec<Outbound>) {
        let mut taken = 0;
        while taken < max_bytes {
            let Some(item) = self.items.pop_front() else {
                break;
            };
            let cost = item.cost();
            self.queued_bytes -= cost;
            taken += cost;
            into.push(item);
        }
    }

    /// Bytes waiting.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> ResourceId {
        ResourceId::parse(text).unwrap()
    }

    fn delta(resource: &str, seq: Seq, size: usize) -> Outbound {
        Outbound::Delta {
            resource: id(resource),
            seq,
            frame: Bytes::from(vec![0u8; size]),
        }
    }

    fn kinds(queue: &mut OutboundQueue) -> Vec<String> {
        let mut items = Vec::new();
        queue.take(usize::MAX, &mut items);
        items
            .iter()
            .map(|item| match item {
                Outbound::Delta { resource, seq, .. } => format!("delta {resource}@{seq}"),
                Outbound::Reset { resource } => format!("reset {resource}"),
                Outbound::ResetDone {
                    resource,
                    frame: Some(_),
                } => format!("snapshot {resource}"),
                Outbound::ResetDone { resource, .. } => format!("end of reset {resource}"),
                Outbound::Reply { .. } => "reply".into(),
                Outbound::Pong | Outbound::WsPong => "pong".into(),
                Outbound::WsPing => "ping".into(),
                Outbound::Close { code, .. } => format!("close {}", code.as_u16()),
            })
            .collect()
    }

    #[test]
    fn under_the_soft_limit_everything_queues_in_order() {
        let mut queue = OutboundQueue::new(1000, 4000);
        assert_eq!(queue.push(delta("a", 1, 100)), Pushed::Queued);
        assert_eq!(queue.push(delta("b", 1, 100)), Pushed::Queued);
        assert_eq!(
            queue.push(Outbound::Reply {
                frame: Bytes::from_static(b"ok")
            }),
            Pushed::Queued
        );
        assert_eq!(queue.queued_bytes(), 202);
        assert_eq!(kinds(&mut queue), ["delta a@1", "delta b@1", "reply"]);
        assert_eq!(queue.queued_bytes(), 0);
    }

    #[test]
    fn over_the_soft_limit_a_resource_keeps_one_reset_instead_of_its_deltas() {
        let mut queue = OutboundQueue::new(1000, 4000);
        for seq in 1..=9 {
            queue.push(delta("a", seq, 100));
        }
        queue.push(delta("b", 1, 50));
        assert_eq!(queue.push(delta("a", 10, 100)), Pushed::Conflated);
        assert_eq!(
            queue.push(delta("a", 11, 100)),
            Pushed::Absorbed,
            "absorbed while resetting"
        );
        assert_eq!(queue.queued_bytes(), 50 + RESET_COST);
        // The snapshot that ends the reset lets later deltas queue behind it.
        queue.push(Outbound::ResetDone {
            resource: id("a"),
            frame: Some(Bytes::from_static(b"snap")),
        });
        assert_eq!(queue.push(delta("a", 12, 10)), Pushed::Queued);
        assert_eq!(
            kinds(&mut queue),
            ["delta b@1", "reset a", "snapshot a", "delta a@12"]
        );
    }

    #[test]
    fn replies_never_overflow_but_a_delivery_past_the_hard_limit_does() {
        let mut queue = OutboundQueue::new(100, 300);
        queue.push(delta("a", 1, 90));
        for _ in 0..3 {
            assert_eq!(
                queue.push(Outbound::Reply {
                    frame: Bytes::from(vec![0; 150])
                }),
                Pushed::Queued
            );
        }
        assert!(!queue.has_room(1));
        assert_eq!(queue.push(delta("b", 1, 10)), Pushed::Overflow);
    }

    #[test]
    fn a_reset_ended_with_nothing_lets_later_deltas_queue_again() {
        let mut queue = OutboundQueue::new(100, 4000);
        queue.push(delta("a", 1, 90));
        assert_eq!(queue.push(delta("a", 2, 90)), Pushed::Conflated);
        assert_eq!(queue.push(delta("a", 3, 10)), Pushed::Absorbed);
        // The session no longer watches `a`: the resource ends the reset empty.
        queue.push(Outbound::ResetDone {
            resource: id("a"),
            frame: None,
        });
        let _ = kinds(&mut queue);
        assert_eq!(queue.push(delta("a", 9, 10)), Pushed::Queued);
    }

    #[test]
    fn pings_faster_than_reads_leave_one_pong_the_latest() {
        let mut queue = OutboundQueue::new(1000, 4000);
        for n in 0..100u8 {
            queue.push_pong(Bytes::from(vec![n]), false);
            queue.push_pong(Bytes::from(vec![n]), true);
        }
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.take_pong(false).unwrap()[0], 99);
        assert_eq!(queue.take_pong(true).unwrap()[0], 99);
    }

    #[test]
    fn heartbeats_over_a_stuck_writer_leave_one_ping_and_an_idle_queue_keeps_no_room() {
        let mut queue = OutboundQueue::new(1000, 4000);
        for _ in 0..10 {
            queue.push_ping();
        }
        assert_eq!(queue.len(), 1);
        let mut taken = Vec::new();
        queue.take(1000, &mut taken);
        assert_eq!(taken, [Outbound::WsPing]);
        queue.push_ping();
        assert_eq!(
            queue.len(),
            0,
            "the writer has not marked the ping taken yet"
        );
        queue.take_ping();
        queue.push_ping();
        assert_eq!(queue.len(), 1);
        queue.take(1000, &mut taken);
        queue.release_idle();
        assert_eq!(queue.items.capacity(), 0);
    }

    #[test]
    fn a_close_ends_the_queue_and_drops_what_was_queued_unless_asked_to_wait() {
        let mut queue = OutboundQueue::new(1000, 4000);
        queue.push(delta("a", 1, 10));
        queue.close(CloseCode::SlowConsumer, "slow", false);
        assert_eq!(queue.push(delta("a", 2, 10)), Pushed::Closed);
        assert_eq!(kinds(&mut queue), ["close 4009"]);
        let mut queue = OutboundQueue::new(1000, 4000);
        queue.push(Outbound::Reply {
            frame: Bytes::from_static(b"error"),
        });
        queue.close(CloseCode::Unauthorized, "no hello", true);
        assert_eq!(kinds(&mut queue), ["reply", "close 4001"]);
    }

    #[test]
    fn take_stops_near_the_byte_budget_but_always_takes_one() {
        let mut queue = OutboundQueue::new(10_000, 40_000);
        for seq in 1..=5 {
            queue.push(delta("a", seq, 1000));
        }
        let mut batch = Vec::new();
        queue.take(2500, &mut batch);
        assert_eq!(batch.len(), 3);
        batch.clear();
        queue.take(1, &mut batch);
        assert_eq!(batch.len(), 1);
        assert_eq!(queue.len(), 1);
    }
}
