//! The commit pipeline of one resource, as a pure core: no actix, no store, no clock.
//!
//! Changes are decided on the *head* (every change handed to the store, durable or
//! not) and become *committed* (what subscribers see and acks promise) when the
//! store says they are durable. Requests wait for a seq; a failed commit rolls the
//! head back to what is committed and hands every waiter back to be refused. The
//! actor only wires this to the store, the TTL timer and the outboxes.

use std::collections::VecDeque;

use fillstack_protocol::{Seq, Status};

use super::state::{Change, Delta, DeltaKind, ResourceState};
use crate::error::Rejection;

/// Changes handed to the store and not yet durable. When full, `decide` refuses
/// `unavailable` (retry shortly); nothing is queued past it.
pub const MAX_PENDING: usize = 4096;
/// Requests waiting for a seq to become durable (socket acks and REST callers).
/// When full, `wait` hands the reply back and the caller answers `unavailable`.
pub const MAX_WAITERS: usize = 4096;

/// Identifies one run of commits; a failure starts a new one, so the answer for a
/// commit of an earlier run is recognised and ignored.
pub type Generation = u64;

/// A change decided on the head, to be handed to the store.
#[derive(Debug)]
pub struct Decided {
    /// The delta, with its seq.
    pub delta: Delta,
    /// The head once this delta is applied: the record to store.
    pub state: ResourceState,
}

impl Decided {
    /// Records who created the resource, when this delta creates it.
    pub fn created_by(&mut self, subject: Option<String>) {
        if let DeltaKind::Change {
            created: true,
            creator,
            ..
        } = &mut self.delta.kind
        {
            self.state.creator.clone_from(&subject);
            *creator = subject;
        }
    }
}

/// A delta that became durable, with the status the resource had before it.
#[derive(Debug)]
pub struct Applied {
    /// The durable delta.
    pub delta: Delta,
    /// `Some(status)` if the resource existed before it.
    pub before: Option<Status>,
    /// When the status before it began.
    pub before_since: u64,
    /// `Some(status)` if the resource exists after it.
    pub after: Option<Status>,
    /// Cluster mode: the deltas before it are not here (a hub refilling from a
    /// stream that trimmed them), so subscribers get a reset, not this delta.
    pub gap: bool,
}

/// What `durable` made visible: deltas to fan out, then replies to answer.
#[derive(Debug)]
pub struct Durable<R> {
    /// Newly committed deltas, in seq order.
    pub applied: Vec<Applied>,
    /// Requests whose seq is now committed.
    pub ready: Vec<(Seq, R)>,
}

/// A delta handed to the store and not yet durable.
#[derive(Debug)]
struct Pending {
    delta: Delta,
    /// Cluster mode: the stream sequence of its message.
    stream_seq: u64,
    /// The state it makes, kept only when it does not follow the state before it
    /// (a gap: cluster mode, a copy refilled from a trimmed stream); otherwise the
    /// delta is applied to the committed state, so no state is copied per change.
    after_gap: Option<ResourceState>,
}

/// One resource's head, committed state, pending deltas and waiting requests.
#[derive(Debug)]
pub struct Pipeline<R> {
    committed: ResourceState,
    head: ResourceState,
    /// Handed to the store, not yet durable; in seq order.
    pending: VecDeque<Pending>,
    /// In seq order (a request waits for the head's seq, which only grows).
    waiters: VecDeque<(Seq, R)>,
    generation: Generation,
}

impl<R> Pipeline<R> {
    /// A pipeline at `state`, with nothing pending.
    pub fn new(state: ResourceState) -> Self {
        Self {
            head: state.clone(),
            committed: state,
            pending: VecDeque::new(),
            waiters: VecDeque::new(),
            generation: 0,
        }
    }

    /// What subscribers have seen: only durable deltas.
    pub fn committed(&self) -> &ResourceState {
        &self.committed
    }

    /// The committed state plus every change still in the store's hands.
    pub fn head(&self) -> &ResourceState {
        &self.head
    }

    /// The run that commits handed in now belong to.
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// Whether nothing is pending and nobody waits.
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.waiters.is_empty()
    }

    /// The delta `change` makes on the head: `Ok(None)` when it changes nothing.
    pub fn decide(&self, change: &Change, now_ms: u64) -> Result<Option<Decided>, Rejection> {
        let delta = self.head.decide(change, now_ms)?;
        delta.map(|delta| self.decided(delta)).transpose()
    }

    /// The deletion of the resource, or `None` when it does not exist on the head.
    pub fn decide_removal(&self, now_ms: u64) -> Result<Option<Decided>, Rejection> {
        self.head
            .decide_removal(now_ms)
            .map(|delta| self.decided(delta))
            .transpose()
    }

    /// The move to `stale`, once the head's TTL ran out at `now_ms`.
    pub fn decide_expiry(&self, now_ms: u64) -> Result<Option<Decided>, Rejection> {
        self.head
            .decide_expiry(now_ms)
            .map(|delta| self.decided(delta))
            .transpose()
    }

    fn decided(&self, delta: Delta) -> Result<Decided, Rejection> {
        if self.pending.len() >= MAX_PENDING {
            return Err(Rejection::unavailable(
                format!("{MAX_PENDING} changes of this resource are waiting for the disk; retry"),
                std::time::Duration::from_millis(100),
            ));
        }
        let mut state = self.head.clone();
        state.apply(&delta);
        Ok(Decided { delta, state })
    }

    /// The store took `decided`: it is the new head. Its seq is returned to wait on.
    pub fn handed(&mut self, decided: Decided) -> Seq {
        let seq = decided.delta.seq;
        let after_gap = (seq != self.head.seq + 1).then(|| decided.state.clone());
        self.pending.push_back(Pending {
            delta: decided.delta,
            stream_seq: decided.state.stream_seq,
            after_gap,
        });
        self.head = decided.state;
        seq
    }

    /// Waits for `seq` to be committed: `Ok(Some(reply))` when it already is (answer
    /// now), `Ok(None)` when queued, `Err(reply)` when too many wait (refuse it).
    pub fn wait(&mut self, seq: Seq, reply: R) -> Result<Option<R>, R> {
        if seq <= self.committed.seq {
            return Ok(Some(reply));
        }
        if self.waiters.len() >= MAX_WAITERS {
            return Err(reply);
        }
        self.waiters.push_back((seq, reply));
        Ok(None)
    }

    /// The store made everything up to `seq` of run `generation` durable.
    pub fn durable(&mut self, generation: Generation, seq: Seq) -> Durable<R> {
        let mut applied = Vec::new();
        if generation == self.generation {
            while self.pending.front().is_some_and(|p| p.delta.seq <= seq) {
                let Some(Pending {
                    delta,
                    stream_seq,
                    after_gap,
                }) = self.pending.pop_front()
                else {
                    break;
                };
                let before = self.committed.exists.then_some(self.committed.status);
                let before_since = self.committed.status_since;
                let gap = after_gap.is_some();
                match after_gap {
                    Some(state) => self.committed = state,
                    None => self.committed.apply(&delta),
                }
                self.committed.stream_seq = stream_seq;
                let after = self.committed.exists.then_some(self.committed.status);
                applied.push(Applied {
                    delta,
                    before,
                    before_since,
                    after,
                    gap,
                });
            }
        }
        let committed = self.committed.seq;
        let mut ready = Vec::new();
        while self
            .waiters
            .front()
            .is_some_and(|(seq, _)| *seq <= committed)
        {
            ready.extend(self.waiters.pop_front());
        }
        Durable { applied, ready }
    }

    /// A commit failed: nothing past `committed` is durable. The head rolls back, a
    /// new run starts, and every waiter is handed back to be refused.
    pub fn failed(&mut self) -> Vec<R> {
        self.pending.clear();
        self.head = self.committed.clone();
        self.generation += 1;
        self.waiters.drain(..).map(|(_, reply)| reply).collect()
    }
}

#[cfg(test)]
mod tests {
    use fillstack_protocol::ErrorCode;

    use super::*;

    fn up() -> Change {
        Change {
            status: Some(Status::Up),
            ..Change::default()
        }
    }

    fn down() -> Change {
        Change {
            status: Some(Status::Down),
            ..Change::default()
        }
    }

    fn hand(pipeline: &mut Pipeline<&'static str>, change: &Change) -> Seq {
        let decided = pipeline.decide(change, 1000).unwrap().unwrap();
        pipeline.handed(decided)
    }

    #[test]
    fn changes_are_decided_on_the_head_but_seen_only_once_durable() {
        let mut pipeline = Pipeline::new(ResourceState::default());
        assert_eq!(hand(&mut pipeline, &up()), 1);
        assert_eq!(hand(&mut pipeline, &down()), 2);
        assert_eq!(pipeline.head().seq, 2);
        assert_eq!(pipeline.committed().seq, 0, "nothing is durable yet");
        assert_eq!(pipeline.wait(1, "first").unwrap(), None);
        assert_eq!(pipeline.wait(2, "second").unwrap(), None);
        let durable = pipeline.durable(pipeline.generation(), 1);
        assert_eq!(durable.applied.len(), 1);
        assert_eq!(durable.applied[0].before, None, "seq 1 created it");
        assert_eq!(durable.ready, [(1, "first")]);
        let durable = pipeline.durable(pipeline.generation(), 2);
        assert_eq!(durable.applied[0].before, Some(Status::Up));
        assert_eq!(durable.ready, [(2, "second")]);
        assert!(pipeline.is_idle());
    }

    #[test]
    fn a_change_after_a_gap_brings_its_whole_state_and_says_so() {
        let mut pipeline = Pipeline::new(ResourceState::default());
        hand(&mut pipeline, &up());
        pipeline.durable(0, 1);
        // A message of the stream whose changes before seq 7 were trimmed.
        let mut far = ResourceState::default();
        for n in 0..7 {
            let change = if n % 2 == 0 { down() } else { up() };
            let delta = far.decide(&change, 5).unwrap().unwrap();
            far.apply(&delta);
        }
        far.stream_seq = 42;
        let delta = far.decide(&up(), 9).unwrap().unwrap();
        let mut state = far.clone();
        state.apply(&delta);
        state.stream_seq = 43;
        pipeline.handed(Decided {
            delta,
            state: state.clone(),
        });
        let durable = pipeline.durable(0, 8);
        assert_eq!(durable.applied.len(), 1);
        assert!(durable.applied[0].gap, "seq 8 does not follow seq 1");
        assert_eq!(pipeline.committed(), &state);
        // The next change follows: applied, not a gap, its stream seq kept.
        let mut next = Decided {
            delta: state.decide(&down(), 10).unwrap().unwrap(),
            state: state.clone(),
        };
        next.state.apply(&next.delta);
        next.state.stream_seq = 44;
        pipeline.handed(next);
        let durable = pipeline.durable(0, 9);
        assert!(!durable.applied[0].gap);
        assert_eq!(pipeline.committed().stream_seq, 44);
        assert_eq!(pipeline.committed().status, Status::Down);
    }

    #[test]
    fn a_change_that_changes_nothing_is_not_decided() {
        let mut pipeline: Pipeline<()> = Pipeline::new(ResourceState::default());
        let decided = pipeline.decide(&up(), 1).unwrap().unwrap();
        pipeline.handed(decided);
        assert!(pipeline.decide(&up(), 2).unwrap().is_none());
    }

    #[test]
    fn a_request_for_a_committed_seq_is_answered_at_once() {
        let mut pipeline = Pipeline::new(ResourceState::default());
        hand(&mut pipeline, &up());
        pipeline.durable(0, 1);
        assert_eq!(pipeline.wait(1, "late").unwrap(), Some("late"));
    }

    #[test]
    fn a_failed_commit_rolls_the_head_back_and_hands_back_every_waiter() {
        let mut pipeline = Pipeline::new(ResourceState::default());
        hand(&mut pipeline, &up());
        pipeline.durable(0, 1);
        hand(&mut pipeline, &down());
        pipeline.wait(2, "waiting").unwrap();
        assert_eq!(pipeline.failed(), ["waiting"]);
        assert_eq!(pipeline.head(), pipeline.committed());
        assert_eq!(pipeline.head().status, Status::Up);
        // The answer for the failed run's commit comes late: it changes nothing.
        let late = pipeline.durable(0, 2);
        assert!(late.applied.is_empty());
        // The next change takes seq 2 again, in the new run.
        assert_eq!(hand(&mut pipeline, &down()), 2);
        let durable = pipeline.durable(pipeline.generation(), 2);
        assert_eq!(durable.applied.len(), 1);
        assert_eq!(pipeline.committed().status, Status::Down);
    }

    #[test]
    fn the_pending_bound_refuses_unavailable_and_the_waiter_bound_hands_the_reply_back() {
        let mut pipeline = Pipeline::new(ResourceState::default());
        for n in 0..MAX_PENDING {
            let change = Change {
                fields: [(
                    "n".to_owned(),
                    Some(fillstack_protocol::Scalar::Int(n as i64)),
                )]
                .into(),
                ..Change::default()
            };
            hand(&mut pipeline, &change);
        }
        let refused = pipeline.decide(&down(), 1).unwrap_err();
        assert_eq!(refused.code, ErrorCode::Unavailable);
        assert!(refused.retry_after.is_some());
        for _ in 0..MAX_WAITERS {
            assert_eq!(pipeline.wait(1, "w").unwrap(), None);
        }
        assert_eq!(pipeline.wait(1, "one too many"), Err("one too many"));
    }

    #[test]
    fn expiry_is_decided_on_the_head_so_a_pending_refresh_postpones_it() {
        let mut pipeline: Pipeline<()> = Pipeline::new(ResourceState::default());
        let with_ttl = Change {
            ttl: Some(Some(std::time::Duration::from_millis(100))),
            ..up()
        };
        let decided = pipeline.decide(&with_ttl, 1000).unwrap().unwrap();
        pipeline.handed(decided);
        pipeline.durable(0, 1);
        // A refresh at 1050 is pending when the first deadline (1100) passes.
        let decided = pipeline.decide(&with_ttl, 1050).unwrap();
        pipeline.handed(decided.unwrap());
        assert!(pipeline.decide_expiry(1100).unwrap().is_none());
        assert_eq!(pipeline.head().expires_at(), Some(1150));
        let stale = pipeline.decide_expiry(1150).unwrap().unwrap();
        assert_eq!(stale.state.status, Status::Stale);
    }
}
