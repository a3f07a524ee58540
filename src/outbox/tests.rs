//! The outbox's queue against a model: whatever the order of deliveries, answers
//! and takes, and whatever conflation does, a client reading what the writer sends
//! sees each resource's seqs without a gap except across a snapshot, ends at each
//! resource's latest seq, and the queue stays within its bounds.

use bytes::Bytes;
use fillstack_protocol::{ResourceId, Seq};
use proptest::prelude::*;

use super::queue::{Outbound, OutboundQueue, Pushed};

const RESOURCES: usize = 4;
const SOFT: usize = 600;
const HARD: usize = 64 * 1024;

#[derive(Debug, Clone)]
enum Op {
    /// A resource commits a change and fans it out (a delta of `size` bytes).
    Deliver { resource: usize, size: usize },
    /// An answer to the session's own request.
    Reply { size: usize },
    /// The writer takes about `bytes` and sends them.
    Take { bytes: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..RESOURCES, 20..200usize).prop_map(|(resource, size)| Op::Deliver { resource, size }),
        1 => (10..300usize).prop_map(|size| Op::Reply { size }),
        3 => (1..2000usize).prop_map(|bytes| Op::Take { bytes }),
    ]
}

fn id(resource: usize) -> ResourceId {
    ResourceId::parse(&format!("r/{resource}")).unwrap()
}

/// Frames carry what they are in their first bytes: kind, resource, seq; then padding.
fn frame(kind: u8, resource: usize, seq: Seq, size: usize) -> Bytes {
    let mut bytes = vec![kind, resource as u8];
    bytes.extend_from_slice(&seq.to_le_bytes());
    bytes.resize(size.max(10), 0);
    Bytes::from(bytes)
}

fn read(frame: &[u8]) -> (u8, usize, Seq) {
    let seq = Seq::from_le_bytes(frame[2..10].try_into().unwrap());
    (frame[0], usize::from(frame[1]), seq)
}

/// The resources' side and the client's side of one session's outbox.
struct World {
    queue: OutboundQueue,
    /// Each resource's latest seq.
    latest: [Seq; RESOURCES],
    /// What the client has seen of each resource.
    seen: [Seq; RESOURCES],
}

impl World {
    /// What the writer does with what it takes: send frames to the client, and
    /// for a `Reset` ask the resource, which queues its fresh snapshot.
    fn take(&mut self, bytes: usize) -> Result<(), String> {
        let mut batch = Vec::new();
        self.queue.take(bytes, &mut batch);
        for item in batch {
            match item {
                Outbound::Delta { frame, .. } => self.receive(&frame)?,
                Outbound::ResetDone {
                    frame: Some(frame), ..
                } => self.receive(&frame)?,
                Outbound::Reset { resource } => {
                    let index: usize = resource.as_str()[2..].parse().unwrap();
                    let snapshot = frame(b's', index, self.latest[index], 100);
                    self.queue.push(Outbound::ResetDone {
                        resource,
                        frame: Some(snapshot),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn receive(&mut self, bytes: &[u8]) -> Result<(), String> {
        let (kind, resource, seq) = read(bytes);
        let seen = &mut self.seen[resource];
        match kind {
            b'd' if seq == *seen + 1 => *seen = seq,
            b'd' => return Err(format!("r/{resource}: delta {seq} after {seen}: a gap")),
            b's' if seq >= *seen => *seen = seq,
            _ => return Err(format!("r/{resource}: snapshot {seq} after {seen}")),
        }
        Ok(())
    }
}

fn run(ops: Vec<Op>) -> Result<(), String> {
    let mut world = World {
        queue: OutboundQueue::new(SOFT, HARD),
        latest: [0; RESOURCES],
        seen: [0; RESOURCES],
    };
    for op in ops {
        match op {
            Op::Deliver { resource, size } => {
                world.latest[resource] += 1;
                let delta = Outbound::Delta {
                    resource: id(resource),
                    seq: world.latest[resource],
                    frame: frame(b'd', resource, world.latest[resource], size),
                };
                if world.queue.push(delta) == Pushed::Overflow {
                    return Err(format!("overflow at {} bytes", world.queue.queued_bytes()));
                }
            }
            Op::Reply { size } => {
                let reply = Outbound::Reply {
                    frame: frame(b'r', 0, 0, size),
                };
                world.queue.push(reply);
            }
            Op::Take { bytes } => world.take(bytes)?,
        }
        // Deliveries conflate past the soft bound: what is queued stays near it.
        let bound = SOFT + 300 * 64 + 200;
        if world.queue.queued_bytes() > bound {
            return Err(format!(
                "{} bytes queued, past {bound}",
                world.queue.queued_bytes()
            ));
        }
    }
    while !world.queue.is_empty() {
        world.take(usize::MAX)?;
    }
    if world.seen != world.latest {
        return Err(format!(
            "the client ends at {:?}, the resources at {:?}",
            world.seen, world.latest
        ));
    }
    Ok(())
}

proptest! {
    // 2000 sequences; PROPTEST_CASES sets another number for a longer search.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(2000)
    ))]

    #[test]
    fn a_conflating_outbox_never_shows_a_gap_without_a_snapshot(
        ops in prop::collection::vec(op(), 1..300)
    ) {
        run(ops).map_err(TestCaseError::fail)?;
    }
}
