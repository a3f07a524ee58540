//! Waiting for the store: one future per resource, not one per commit.
//!
//! The store answers one caller's commits in the order they were handed in, so a
//! resource only ever needs to watch the oldest ticket it holds. [`Watch`] polls
//! the tickets from the front, gathers every answered one of a run, and tells the
//! actor once for all of them (`on_durable` up to the newest seq): one wakeup and
//! one fan-out pass per flush instead of one spawned future, wakeup and pass per
//! commit (the actix context polls every spawned future on every wakeup).

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::Poll;

use actix::prelude::*;
use fillstack_protocol::Seq;

use super::ResourceActor;
use super::pipeline::Generation;
use crate::store::{CommitTicket, StoreError};

/// One resource's commits handed to the store and not answered yet, oldest first.
/// At most the pipeline's pending changes ([`super::pipeline::MAX_PENDING`]) plus
/// those of a run that just failed, whose answers are already on their way.
#[derive(Default)]
pub struct Tickets {
    queue: VecDeque<(Generation, Seq, CommitTicket)>,
    /// Whether a [`Watch`] runs for these tickets.
    is_watched: bool,
}

impl Tickets {
    /// Adds the ticket of `seq` (run `generation`); true when a [`Watch`] must be
    /// spawned for it (none runs).
    pub fn push(&mut self, generation: Generation, seq: Seq, ticket: CommitTicket) -> bool {
        self.queue.push_back((generation, seq, ticket));
        !std::mem::replace(&mut self.is_watched, true)
    }
}

/// Runs while a resource has tickets; ends when it has none left.
pub struct Watch;

impl ActorFuture<ResourceActor> for Watch {
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        resource: &mut ResourceActor,
        ctx: &mut Context<ResourceActor>,
        task: &mut std::task::Context<'_>,
    ) -> Poll<()> {
        // The newest answered seq of a run, not yet told to the actor.
        let mut answered: Option<(Generation, Seq)> = None;
        loop {
            let front = resource
                .tickets
                .queue
                .front_mut()
                .map(|(_, _, ticket)| Pin::new(ticket).poll(task));
            match front {
                Some(Poll::Ready(outcome)) => {
                    let Some((generation, seq, _)) = resource.tickets.queue.pop_front() else {
                        continue;
                    };
                    // A ticket whose sender was dropped was never made durable.
                    match outcome.unwrap_or(Err(StoreError::Failed)) {
                        Ok(()) => {
                            if let Some((run, upto)) = answered
                                && run != generation
                            {
                                resource.on_durable(run, upto, Ok(()), ctx);
                            }
                            answered = Some((generation, seq));
                        }
                        Err(error) => {
                            if let Some((run, upto)) = answered.take() {
                                resource.on_durable(run, upto, Ok(()), ctx);
                            }
                            resource.on_durable(generation, seq, Err(error), ctx);
                        }
                    }
                }
                // Telling the actor may commit again: look at the tickets once more.
                pending_or_empty => match answered.take() {
                    Some((run, upto)) => resource.on_durable(run, upto, Ok(()), ctx),
                    None if pending_or_empty.is_some() => return Poll::Pending,
                    None => {
                        resource.tickets.is_watched = false;
                        return Poll::Ready(());
                    }
                },
            }
        }
    }
}
