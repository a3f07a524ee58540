//! The `Handler` impls of `ResourceActor`, one per message in `messages.rs`.

use std::time::Instant;

use actix::prelude::*;
use fillstack_protocol::Seq;

use super::messages::*;
use super::{ResourceActor, Subscriber};
use crate::error::Rejection;
use crate::metrics::METRICS;

impl Handler<Publish> for ResourceActor {
    type Result = ();

    fn handle(&mut self, publish: Publish, ctx: &mut Context<Self>) {
        let started = Some(Instant::now());
        if self.is_clustered() {
            let Publish { change, by, reply } = publish;
            let intent = super::cluster::Intent::Change {
                change,
                by,
                reply: Some(reply),
                started,
            };
            return self.submit(intent, ctx);
        }
        match self.decide_and_commit(&publish.change, &publish.by, ctx) {
            Ok(seq) => self.wait(seq, publish.reply, started),
            Err(rejection) => publish.reply.send(Err(rejection)),
        }
    }
}

impl ResourceActor {
    /// Decides `change` on the head and hands it to the store; the seq to wait
    /// for (the head's when nothing changed).
    pub(super) fn decide_and_commit(
        &mut self,
        change: &crate::resource::state::Change,
        by: &crate::limits::Writer,
        ctx: &mut Context<Self>,
    ) -> Result<Seq, Rejection> {
        // A creation takes its quota unit first; a refusal (or a change that fails
        // to decide) gives it back as the unit drops.
        let admitted = match self.pipeline.head().exists {
            true => None,
            false => match self.quotas.admit_resource(by) {
                Ok(unit) => Some(unit),
                Err(rejection) => {
                    METRICS.publishes_refused.inc();
                    return Err(rejection);
                }
            },
        };
        match self.pipeline.decide(change, self.clock.now_ms()) {
            Err(rejection) => {
                METRICS.publishes_refused.inc();
                Err(rejection)
            }
            Ok(None) => {
                METRICS.publishes_unchanged.inc();
                Ok(self.pipeline.head().seq)
            }
            Ok(Some(mut decided)) => {
                METRICS.publishes_changed.inc();
                if decided.delta.is_creation() {
                    // Only a creation records its creator: no allocation per publish.
                    decided.created_by(by.subject().map(|subject| subject.to_string()));
                }
                if admitted.is_some() {
                    // The head is about to exist: this unit is its hold.
                    self.held = admitted;
                }
                let committed = self.commit(decided, ctx);
                if committed.is_err() {
                    // Not handed to the store: the head did not change, nor may the hold.
                    self.hold_for_head();
                }
                committed
            }
        }
    }
}

impl Handler<Remove> for ResourceActor {
    type Result = ();

    fn handle(&mut self, remove: Remove, ctx: &mut Context<Self>) {
        if self.is_clustered() {
            let intent = super::cluster::Intent::Remove {
                reply: remove.reply,
            };
            return self.submit(intent, ctx);
        }
        let committed = match self.pipeline.decide_removal(self.clock.now_ms()) {
            Ok(Some(decided)) => self.commit(decided, ctx),
            Ok(None) => Err(Rejection::not_found(&self.id)),
            Err(rejection) => Err(rejection),
        };
        match committed {
            Ok(seq) => self.wait(seq, remove.reply, None),
            Err(rejection) => remove.reply.send(Err(rejection)),
        }
    }
}

impl Handler<Subscribe> for ResourceActor {
    type Result = ();

    /// The first frames and the subscription are taken in one handler, so no
    /// change can fall between them.
    fn handle(&mut self, subscribe: Subscribe, _: &mut Context<Self>) {
        let Subscribe {
            session,
            outbox,
            pattern,
            since,
        } = subscribe;
        let codec = outbox.codec();
        let entry = self
            .subscribers
            .entry(session)
            .or_insert_with(|| Subscriber {
                outbox,
                patterns: Vec::new(),
                is_greeted: false,
            });
        // Another pattern of this session already delivers this resource: nothing new.
        let is_new = !entry.is_greeted;
        entry.is_greeted = true;
        if !entry.patterns.contains(&pattern) {
            entry.patterns.push(pattern);
        }
        if is_new {
            let outbox = entry.outbox.clone();
            let mut frames = self.initial_frames(since, codec).into_iter();
            // The first frames of a new subscription follow from what the client
            // says it has, so they end any reset the outbox still holds for this
            // resource from an earlier subscription (never absorbed by it).
            if let Some((_, first)) = frames.next() {
                outbox.deliver_reset(&self.id, Some(first));
            }
            for (seq, frame) in frames {
                outbox.deliver(&self.id, seq, frame);
            }
        }
    }
}

impl Handler<Unsubscribe> for ResourceActor {
    type Result = ();

    fn handle(&mut self, unsubscribe: Unsubscribe, _: &mut Context<Self>) {
        if let Some(entry) = self.subscribers.get_mut(&unsubscribe.session) {
            entry
                .patterns
                .retain(|pattern| *pattern != unsubscribe.pattern);
            if entry.patterns.is_empty() {
                self.subscribers.remove(&unsubscribe.session);
            }
        }
    }
}

impl Handler<SessionClosed> for ResourceActor {
    type Result = ();

    fn handle(&mut self, closed: SessionClosed, _: &mut Context<Self>) {
        self.subscribers.remove(&closed.session);
    }
}

impl Handler<Resync> for ResourceActor {
    type Result = ();

    /// Ends a conflation: the fresh snapshot (every delta absorbed meanwhile is in
    /// it) for a subscriber; an empty end for a session that no longer watches.
    fn handle(&mut self, resync: Resync, _: &mut Context<Self>) {
        match self.subscribers.get(&resync.session) {
            Some(subscriber) => self.send_reset(subscriber),
            None => {
                resync.outbox.deliver_reset(&self.id, None);
            }
        }
    }
}

impl Handler<CheckTtl> for ResourceActor {
    type Result = ();

    fn handle(&mut self, _: CheckTtl, ctx: &mut Context<Self>) {
        if self.ttl_timer.is_some() {
            self.expire_if_due(ctx);
        }
    }
}

impl Handler<TakeSnapshot> for ResourceActor {
    type Result = ();

    fn handle(&mut self, take: TakeSnapshot, _: &mut Context<Self>) {
        let snapshot = if self.committed().exists {
            Ok(self.committed().to_snapshot(&self.id, false))
        } else {
            Err(Rejection::not_found(&self.id))
        };
        take.reply.send(snapshot);
    }
}

impl Handler<ReadHistory> for ResourceActor {
    type Result = ();

    fn handle(&mut self, read: ReadHistory, _: &mut Context<Self>) {
        let page = if self.committed().seq == 0 {
            Err(Rejection::not_found(&self.id))
        } else {
            self.read_deltas(read.since, read.limit)
                .map(|(deltas, complete)| HistoryPage {
                    entries: deltas
                        .iter()
                        .map(|delta| delta.to_entry(&self.id))
                        .collect(),
                    complete,
                })
        };
        read.reply.send(page);
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
