//! The `Handler` impls of `ResourceActor`, one per message in `messages.rs`.

use std::time::Instant;

use actix::prelude::*;
use fillstack_protocol::{Seq, SnapshotFrame};

use super::messages::*;
use super::{Reply, ResourceActor, Subscriber, now_ms};
use crate::error::Rejection;
use crate::metrics::METRICS;

impl Handler<Publish> for ResourceActor {
    type Result = ResponseFuture<Result<Seq, Rejection>>;

    fn handle(&mut self, publish: Publish, ctx: &mut Context<Self>) -> Self::Result {
        let started = Some(Instant::now());
        match self.decide_and_commit(&publish.change, ctx) {
            Ok(seq) => self.wait_for(seq, started),
            Err(rejection) => Box::pin(std::future::ready(Err(rejection))),
        }
    }
}

impl Handler<PublishFor> for ResourceActor {
    type Result = ();

    fn handle(&mut self, publish: PublishFor, ctx: &mut Context<Self>) {
        let started = Some(Instant::now());
        match self.decide_and_commit(&publish.change, ctx) {
            Ok(seq) => self.wait(seq, Reply::Session(publish.ack), started),
            Err(rejection) => publish.ack.answer(Err(rejection)),
        }
    }
}

impl ResourceActor {
    /// Decides `change` on the head and hands it to the store; the seq to wait
    /// for (the latest one when nothing changed).
    fn decide_and_commit(
        &mut self,
        change: &crate::resource::state::Change,
        ctx: &mut Context<Self>,
    ) -> Result<Seq, Rejection> {
        match self.head.decide(change, now_ms()) {
            Err(rejection) => {
                METRICS.publishes_refused.inc();
                Err(rejection)
            }
            Ok(None) => {
                METRICS.publishes_unchanged.inc();
                Ok(self.head.seq)
            }
            Ok(Some(delta)) => {
                METRICS.publishes_changed.inc();
                self.commit(delta, ctx)
            }
        }
    }
}

impl Handler<Remove> for ResourceActor {
    type Result = ResponseFuture<Result<Seq, Rejection>>;

    fn handle(&mut self, _: Remove, ctx: &mut Context<Self>) -> Self::Result {
        let Some(delta) = self.head.decide_removal(now_ms()) else {
            return Box::pin(std::future::ready(Err(Rejection::not_found(&self.id))));
        };
        match self.commit(delta, ctx) {
            Ok(seq) => self.wait_for(seq, None),
            Err(rejection) => Box::pin(std::future::ready(Err(rejection))),
        }
    }
}

impl Handler<Subscribe> for ResourceActor {
    type Result = ();

    /// The snapshot (or missed deltas) and the subscription are taken in one
    /// handler, so no change can fall between them.
    fn handle(&mut self, subscribe: Subscribe, _: &mut Context<Self>) {
        let Subscribe {
            subscriber,
            outbox,
            pattern,
            since,
        } = subscribe;
        let codec = outbox.codec();
        let entry = self
            .subscribers
            .entry(subscriber)
            .or_insert_with(|| Subscriber {
                outbox,
                patterns: Vec::new(),
            });
        let is_new = entry.patterns.is_empty();
        if !entry.patterns.contains(&pattern) {
            entry.patterns.push(pattern);
        }
        if is_new {
            let outbox = entry.outbox.clone();
            for (seq, frame) in self.initial_frames(since, codec) {
                outbox.deliver(&self.id, seq, frame);
            }
        }
    }
}

impl Handler<Unsubscribe> for ResourceActor {
    type Result = ();

    fn handle(&mut self, unsubscribe: Unsubscribe, _: &mut Context<Self>) {
        if let Some(entry) = self.subscribers.get_mut(&unsubscribe.subscriber) {
            entry
                .patterns
                .retain(|pattern| *pattern != unsubscribe.pattern);
            if entry.patterns.is_empty() {
                self.subscribers.remove(&unsubscribe.subscriber);
            }
        }
    }
}

impl Handler<SubscriberGone> for ResourceActor {
    type Result = ();

    fn handle(&mut self, gone: SubscriberGone, _: &mut Context<Self>) {
        self.subscribers.remove(&gone.subscriber);
    }
}

impl Handler<Resync> for ResourceActor {
    type Result = ();

    /// Pushes the snapshot that ends a conflation; every delta absorbed meanwhile
    /// is in it, and deltas after it queue normally.
    fn handle(&mut self, resync: Resync, _: &mut Context<Self>) {
        if let Some(subscriber) = self.subscribers.get(&resync.subscriber) {
            self.send_reset(subscriber);
        }
    }
}

impl Handler<TakeSnapshot> for ResourceActor {
    type Result = Result<SnapshotFrame, Rejection>;

    fn handle(&mut self, _: TakeSnapshot, _: &mut Context<Self>) -> Self::Result {
        if self.committed.exists {
            Ok(self.committed.to_snapshot(&self.id, false))
        } else {
            Err(Rejection::not_found(&self.id))
        }
    }
}

impl Handler<ReadHistory> for ResourceActor {
    type Result = Result<HistoryPage, Rejection>;

    fn handle(&mut self, read: ReadHistory, _: &mut Context<Self>) -> Self::Result {
        if self.committed.seq == 0 {
            return Err(Rejection::not_found(&self.id));
        }
        let (entries, complete) = self.read_deltas(read.since, read.limit)?;
        Ok(HistoryPage { entries, complete })
    }
}

/// Makes the actor panic, to test that the hub replaces a dead resource actor.
#[cfg(test)]
#[derive(actix::Message)]
#[rtype(result = "()")]
pub struct PanicForTest;

#[cfg(test)]
impl Handler<PanicForTest> for ResourceActor {
    type Result = ();

    fn handle(&mut self, _: PanicForTest, _: &mut Context<Self>) {
        panic!("a bug in a resource handler (test)");
    }
}
