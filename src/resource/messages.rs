//! Everything a `ResourceActor` accepts: its API at a glance.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix::Message;
use fillstack_protocol::{Pattern, RequestId, Seq, ServerFrame, SnapshotFrame};

use tokio::sync::oneshot;

use super::state::Change;
use crate::error::Rejection;
use crate::outbox::Outbox;

/// One session, as every resource it watches and the hub's registries know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s-{}", self.0)
    }
}

/// Where a resource's answer to one request goes. Every request a resource answers
/// carries one, and it is answered exactly once: by [`Reply::send`], or, when the
/// handle is dropped unanswered (the actor stopped with the request in its mailbox
/// or waiting on the store), with `unavailable`.
pub enum Reply<T> {
    /// A caller awaiting the answer: REST, the session's ordered control path, the
    /// hub's own reporter (see [`super::ask`]).
    Caller(oneshot::Sender<Result<T, Rejection>>),
    /// Straight into a session's outbox, rendered there: the answer takes no task,
    /// channel or wakeup of its own (a session's publishes).
    Session(AckTo<T>),
}

impl<T> Reply<T> {
    /// A handle for a caller, and where its answer arrives.
    pub fn caller() -> (Self, oneshot::Receiver<Result<T, Rejection>>) {
        let (to, answer) = oneshot::channel();
        (Self::Caller(to), answer)
    }

    /// Answers the request.
    pub fn send(self, outcome: Result<T, Rejection>) {
        match self {
            // A caller that went away needs no answer.
            Self::Caller(to) => drop(to.send(outcome)),
            Self::Session(ack) => ack.answer(outcome),
        }
    }
}

/// Publish a change; answered with the seq once it is durable and fanned out.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Publish {
    /// What the publisher asks for.
    pub change: Change,
    /// Who asks: a creation counts against its quotas.
    pub by: crate::limits::Writer,
    /// Where the answer goes.
    pub reply: Reply<Seq>,
}

/// Cluster mode: a message of the stream, in stream order, from this hub's
/// consumer: applied to the local copy and fanned out (a change this hub decided
/// becomes visible here too, as every hub's does).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Replicated {
    /// Its position in the stream.
    pub stream_seq: u64,
    /// The change and the state it makes.
    pub record: crate::cluster::Record,
}

/// A session's request answered in its outbox. It is answered exactly once: by
/// [`AckTo::answer`], or, if it is dropped unanswered, with `unavailable`.
pub struct AckTo<T> {
    id: RequestId,
    session: SessionId,
    outbox: Outbox,
    in_flight: Arc<AtomicUsize>,
    /// How an answer becomes a frame.
    render: fn(RequestId, T) -> ServerFrame,
    answered: bool,
}

impl AckTo<Seq> {
    /// Publish `id` of session `session`, acked in `outbox`; the answer takes one
    /// off `in_flight`, the session's count of publishes waiting.
    pub fn ack(
        id: RequestId,
        session: SessionId,
        outbox: Outbox,
        in_flight: Arc<AtomicUsize>,
    ) -> Self {
        Self {
            id,
            session,
            outbox,
            in_flight,
            render: |id, seq| ServerFrame::Ack { id, seq },
            answered: false,
        }
    }
}

impl<T> AckTo<T> {
    /// Queues the answer (rendered, or an `error`) in the session's outbox.
    pub fn answer(mut self, outcome: Result<T, Rejection>) {
        self.send(Some(outcome));
    }

    fn send(&mut self, outcome: Option<Result<T, Rejection>>) {
        self.answered = true;
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        let outcome = outcome.unwrap_or_else(|| Err(super::stopped()));
        let frame = match outcome {
            Ok(answer) => (self.render)(self.id, answer),
            Err(rejection) => {
                let rejection = rejection.answering(Some(self.id));
                // Answered from a resource's thread: name the session in the log line.
                let _in_session = tracing::info_span!("session", session = %self.session).entered();
                rejection.report();
                rejection.to_frame()
            }
        };
        self.outbox.reply(&frame);
    }
}

impl<T> Drop for AckTo<T> {
    fn drop(&mut self) {
        if !self.answered {
            self.send(None);
        }
    }
}

/// Delete the resource; answered with the seq of the deletion once durable.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Remove {
    /// Where the answer goes.
    pub reply: Reply<Seq>,
}

/// Start sending this resource's changes to a session, beginning with a snapshot,
/// the deltas after `since`, or `removed`. A session this resource already
/// delivers to (through another pattern) gets nothing new.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    /// Who subscribes.
    pub session: SessionId,
    /// Where its frames go.
    pub outbox: Outbox,
    /// The pattern that matched (a session may match through several).
    pub pattern: Pattern,
    /// How the first frames are chosen.
    pub since: super::Since,
}

/// Stop sending through `pattern`; the subscriber goes when no pattern is left.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    /// Who unsubscribes.
    pub session: SessionId,
    /// The pattern it no longer watches.
    pub pattern: Pattern,
}

/// A session ended: forget it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SessionClosed {
    /// Who left.
    pub session: SessionId,
}

/// The session's outbox dropped deltas of this resource: end its reset with one
/// fresh snapshot (`reset: true`), `removed`, or, if the session no longer
/// watches this resource, an empty end. Always answered, so no reset stays open.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Resync {
    /// Whose outbox conflated.
    pub session: SessionId,
    /// That outbox (the session may no longer be a subscriber here).
    pub outbox: Outbox,
}

/// Look at the clock now: a hand-moved test clock may have passed a TTL.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CheckTtl;

/// The current (durable) snapshot, or `not_found`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TakeSnapshot {
    /// Where the answer goes.
    pub reply: Reply<SnapshotFrame>,
}

/// Deltas after `since`, oldest first, at most `limit`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReadHistory {
    /// Exclusive lower bound.
    pub since: Seq,
    /// Most entries to return.
    pub limit: usize,
    /// Where the answer goes.
    pub reply: Reply<HistoryPage>,
}

/// The monitoring rules changed (a reload): take up this resource's probe,
/// alerts and rollups from them.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Rejoin {
    pub rules: Arc<crate::monitor::Rules>,
}

/// Time per status per UTC day over the last `days` days, or `not_found`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReadUptime {
    pub days: u64,
    pub reply: Reply<crate::monitor::uptime::Report>,
}

/// One page of history.
#[derive(Debug)]
pub struct HistoryPage {
    /// The entries, oldest first.
    pub entries: Vec<fillstack_protocol::HistoryEntry>,
    /// False when entries after `since` were no longer kept.
    pub complete: bool,
}

#[cfg(test)]
mod tests {
    use fillstack_protocol::{Codec, ErrorCode};

    use super::*;
    use crate::outbox::{Outbound, OutboxLimits};

    fn replies(outbox: &Outbox) -> Vec<ServerFrame> {
        let mut items = Vec::new();
        outbox.take(usize::MAX, &mut items);
        items
            .iter()
            .map(|item| match item {
                Outbound::Reply { frame } => Codec::Json.decode(frame).unwrap(),
                _ => panic!("not a reply"),
            })
            .collect()
    }

    #[test]
    fn every_ack_is_answered_once_even_when_dropped_unanswered() {
        let outbox = Outbox::new(Codec::Json, OutboxLimits::default());
        let in_flight = Arc::new(AtomicUsize::new(2));
        // The resource actor died with this one in its mailbox.
        drop(AckTo::ack(
            7,
            SessionId(1),
            outbox.clone(),
            in_flight.clone(),
        ));
        AckTo::ack(8, SessionId(1), outbox.clone(), in_flight.clone()).answer(Ok(3));
        assert_eq!(in_flight.load(Ordering::Acquire), 0);
        let frames = replies(&outbox);
        assert_eq!(frames.len(), 2, "{frames:?}");
        assert!(
            matches!(
                &frames[0],
                ServerFrame::Error {
                    id: Some(7),
                    code: ErrorCode::Unavailable,
                    retry_after_ms: Some(_),
                    ..
                }
            ),
            "{frames:?}"
        );
        assert_eq!(frames[1], ServerFrame::Ack { id: 8, seq: 3 });
    }
}
