//! The cluster's model test: generated sequences of publishes through any hub,
//! deletes, a publish sent again (which may change nothing), bursts (publishes
//! to one resource sent at once through two or three hubs, pipelined on each
//! hub's connection) and pauses, run against one nats-server and three real hubs
//! started once for the whole test. Each sequence writes under its own prefix
//! `m/<case>/`, so sequences do not meet.
//!
//! Every publish sets one of a few fields (or removes it), maybe a status, and
//! the field `op` to a value of its own, so each entry of a history names the op
//! that asked for it. After each sequence, per resource:
//! - every hub's history (REST and WS `history`) is one gapless sequence 1..N,
//!   the same on every hub;
//! - every entry was asked for by an op of the sequence: a publish acked at that
//!   seq, a `DELETE` answered 204, or an op answered `unavailable` (which may or
//!   may not be there); every 204 `DELETE` is a `removed`; entries come in the
//!   order their ops were answered in time (ops of one burst ran at once, in any
//!   order);
//! - every acked publish is at its acked seq: its own entry, or, when it changed
//!   nothing, a state that already held its whole change, at a seq in time order
//!   with the other ops;
//! - each delta is the one the model's merge makes on the state before it;
//! - every hub serves the model's final snapshot (REST) and lists the same ids;
//! - a subscriber per hub, subscribed before the ops, saw every seq without a
//!   gap (or after a `reset` snapshot), each with the history's content.
//!
//! `FILLSTACK_CLUSTER_MODEL_CASES` sets the number of sequences (default
//! `DEFAULT_CASES`) and `FILLSTACK_CLUSTER_MODEL_SEED` replays a run; the seed is
//! printed first and on failure. Shrinking runs real processes, so it is capped
//! (`SHRINK_ITERS`, `SHRINK_TIME`); every failing run prints its sequence and what
//! the hubs showed as it happens.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fillstack_loadtest::{Client, ClientError};
use fillstack_protocol::{
    ClientFrame, DeltaFrame, ErrorCode, FieldChanges, Fields, HistoryEntry, PublishFrame, Scalar,
    ServerFrame, SnapshotFrame, Status,
};
use futures_util::future::join_all;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

use crate::harness::{Cluster, Hub, NAMES, pause};
use crate::support::{ms, secs};
use crate::wire::{connect, get_json};

/// Sequences in a default run: about half a second each on a 2-core machine,
/// after the cluster's start (about 2 s).
const DEFAULT_CASES: u32 = 60;
/// Shrinking reruns sequences on the real cluster: a few tries, for at most 3 min.
const SHRINK_ITERS: u32 = 24;
const SHRINK_TIME: Duration = Duration::from_secs(180);
/// One sequence, its checks included (each wait inside is bounded on its own).
const CASE_LIMIT: Duration = Duration::from_secs(120);
/// How long the hubs may take to agree, and a subscriber to see it all.
const SETTLE: Duration = Duration::from_secs(30);

const HUBS: usize = 3;
/// Resources per sequence: `m/<case>/r0` ...
const RESOURCES: usize = 4;
const FIELDS: [&str; 3] = ["a", "b", "c"];
/// The field every publish sets to a value of its own.
const OP_FIELD: &str = "op";

/// What one publish asks: one field set (or removed with `None`), maybe a status.
#[derive(Debug, Clone)]
struct Change {
    field: usize,
    value: Option<i64>,
    status: Option<Status>,
}

#[derive(Debug, Clone)]
enum Op {
    Publish {
        hub: usize,
        resource: usize,
        change: Change,
    },
    /// REST `DELETE`.
    Delete {
        hub: usize,
        resource: usize,
    },
    /// A publish sent to `resource` before, again, its `op` value too: the last
    /// one (`back` 0) or one before it (nothing when there is none). Each may
    /// change nothing.
    Again {
        hub: usize,
        resource: usize,
        back: usize,
    },
    /// Publishes to one resource, (hub, change) each, sent all at once: those of a
    /// hub pipelined on its connection, the hubs concurrently.
    Burst {
        resource: usize,
        publishes: Vec<(usize, Change)>,
    },
    Pause {
        ms: u64,
    },
}

fn change() -> impl Strategy<Value = Change> {
    let value = prop_oneof![4 => (0..3i64).prop_map(Some), 1 => Just(None)];
    let status = prop::option::weighted(0.5, prop::sample::select(Status::ALL.to_vec()));
    (0..FIELDS.len(), value, status).prop_map(|(field, value, status)| Change {
        field,
        value,
        status,
    })
}

fn burst() -> impl Strategy<Value = Op> {
    let publishes = prop::collection::vec((0..HUBS, change()), 2..=20);
    (0..RESOURCES, 0..HUBS, 2..=HUBS, publishes).prop_map(
        |(resource, first, through, publishes)| {
            let publishes = publishes
                .into_iter()
                .enumerate()
                .map(|(n, (pick, change))| {
                    // The first ones go through each hub of the burst in turn.
                    let slot = if n < through { n } else { pick % through };
                    ((first + slot) % HUBS, change)
                })
                .collect();
            Op::Burst {
                resource,
                publishes,
            }
        },
    )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0..HUBS, 0..RESOURCES, change())
            .prop_map(|(hub, resource, change)| Op::Publish { hub, resource, change }),
        2 => (0..HUBS, 0..RESOURCES).prop_map(|(hub, resource)| Op::Delete { hub, resource }),
        2 => (0..HUBS, 0..RESOURCES, 0..3usize)
            .prop_map(|(hub, resource, back)| Op::Again { hub, resource, back }),
        2 => burst(),
        1 => (0..150u64).prop_map(|ms| Op::Pause { ms }),
    ]
}

/// How the hub answered an op.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    Acked(u64),
    /// 204.
    Deleted,
    /// 404.
    NotFound,
    /// `unavailable` (503): may or may not have happened.
    Unavailable,
}

/// One op as sent and answered.
#[derive(Debug)]
struct Sent {
    /// Ops of one step ran at once; a step starts once every op of the one
    /// before was answered.
    step: usize,
    hub: usize,
    resource: usize,
    /// The publish's change and its own `op` value; `None` for a delete.
    change: Option<(Change, String)>,
    answer: Answer,
}

/// What the runs saw besides violations.
#[derive(Debug, Default)]
struct Tally {
    cases: u64,
    acked: u64,
    unavailable: u64,
    /// Ops answered `unavailable` that are in the history all the same.
    unavailable_made: u64,
    deleted: u64,
    not_found: u64,
    /// `DELETE` answered 404 while the history says the resource existed when it was sent.
    not_found_existing: Vec<String>,
    /// Pairs of publishes pipelined on one connection acked in the other order.
    pipelined_inversions: Vec<String>,
    resets: u64,
    /// Acked publishes that changed nothing (acked at the seq that held their change).
    no_ops: u64,
    /// Consecutive seqs of a burst acked through different hubs: the race was real.
    switches: u64,
}

/// The model's state of one resource.
#[derive(Debug, Clone, PartialEq)]
struct State {
    exists: bool,
    seq: u64,
    status: Status,
    fields: Fields,
    updated_at: u64,
}

impl State {
    fn absent(seq: u64) -> Self {
        Self {
            exists: false,
            seq,
            status: Status::Unknown,
            fields: Fields::new(),
            updated_at: 0,
        }
    }

    /// The delta a publish of `change` (with `op` = `uid`) makes here at `at`, as
    /// the contract's merge says, and the state after it. It always changes `op`.
    fn publish(&self, id: &str, change: &Change, uid: &str, at: u64) -> (DeltaFrame, Self) {
        let created = !self.exists;
        let mut after = if created {
            Self::absent(self.seq)
        } else {
            self.clone()
        };
        let status = if created {
            Some(change.status.unwrap_or(Status::Unknown))
        } else {
            change.status.filter(|status| *status != self.status)
        };
        let mut changes = publish_fields(change, uid);
        changes.retain(|name, value| match value {
            Some(value) => after.fields.get(name) != Some(value),
            None => after.fields.contains_key(name),
        });
        for (name, value) in &changes {
            match value {
                Some(value) => after.fields.insert(name.clone(), value.clone()),
                None => after.fields.remove(name),
            };
        }
        after.exists = true;
        after.seq = self.seq + 1;
        after.updated_at = at;
        if let Some(status) = status {
            after.status = status;
        }
        let delta = DeltaFrame {
            resource: id.to_owned(),
            seq: after.seq,
            at,
            status,
            fields: Some(changes),
            labels: None,
            ttl_ms: None,
        };
        (delta, after)
    }

    /// Whether `snapshot` shows this state.
    fn shown_by(&self, snapshot: &SnapshotFrame) -> bool {
        self.exists
            && (
                snapshot.seq,
                snapshot.status,
                &snapshot.fields,
                snapshot.updated_at,
            ) == (self.seq, self.status, &self.fields, self.updated_at)
            && snapshot.labels.is_empty()
            && snapshot.ttl_ms.is_none()
    }
}

fn publish_fields(change: &Change, uid: &str) -> FieldChanges {
    BTreeMap::from([
        (
            FIELDS[change.field].to_owned(),
            change.value.map(Scalar::Int),
        ),
        (OP_FIELD.to_owned(), Some(Scalar::Str(uid.to_owned()))),
    ])
}

fn pub_frame(id: u64, resource: &str, change: &Change, uid: &str) -> ClientFrame {
    ClientFrame::Pub(PublishFrame {
        id,
        resource: resource.to_owned(),
        status: change.status.map(|status| status.as_str().to_owned()),
        fields: Some(publish_fields(change, uid)),
        ..PublishFrame::default()
    })
}

fn publish_answer(what: &str, frame: ServerFrame) -> Result<Answer, String> {
    match frame {
        ServerFrame::Ack { seq, .. } => Ok(Answer::Acked(seq)),
        ServerFrame::Error {
            code: ErrorCode::Unavailable,
            ..
        } => Ok(Answer::Unavailable),
        other => Err(format!("{what} was answered {other:?}")),
    }
}

/// One sequence on the cluster: its ids, a publishing session per hub, the log.
struct Case<'a> {
    cluster: &'a Cluster,
    case: u64,
    ids: Vec<String>,
    publishers: Vec<Client>,
    log: Vec<Sent>,
    next_uid: u64,
}

impl Case<'_> {
    fn hub(&self, n: usize) -> &Hub {
        self.cluster.hubs()[n]
    }

    fn uid(&mut self) -> String {
        self.next_uid += 1;
        format!("{}.{}", self.case, self.next_uid)
    }

    async fn step(&mut self, step: usize, op: &Op) -> Result<(), String> {
        match op {
            Op::Publish {
                hub,
                resource,
                change,
            } => {
                let uid = self.uid();
                self.publish(step, *hub, *resource, change.clone(), uid)
                    .await?;
            }
            Op::Again {
                hub,
                resource,
                back,
            } => {
                let earlier = self
                    .log
                    .iter()
                    .rev()
                    .filter(|sent| sent.resource == *resource)
                    .filter_map(|sent| sent.change.clone())
                    .nth(*back);
                if let Some((change, uid)) = earlier {
                    self.publish(step, *hub, *resource, change, uid).await?;
                }
            }
            Op::Delete { hub, resource } => {
                let answer = delete(self.hub(*hub), &self.ids[*resource]).await?;
                self.log.push(Sent {
                    step,
                    hub: *hub,
                    resource: *resource,
                    change: None,
                    answer,
                });
            }
            Op::Burst {
                resource,
                publishes,
            } => self.burst(step, *resource, publishes).await?,
            Op::Pause { ms: wait } => pause(ms(*wait)).await,
        }
        Ok(())
    }

    async fn publish(
        &mut self,
        step: usize,
        hub: usize,
        resource: usize,
        change: Change,
        uid: String,
    ) -> Result<(), String> {
        let client = &mut self.publishers[hub];
        let frame = pub_frame(client.next_id(), &self.ids[resource], &change, &uid);
        let what = format!(
            "pub {} {change:?} (op {uid}) through {}",
            self.ids[resource], NAMES[hub]
        );
        let answer = client
            .request(&frame, secs(15))
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        let answer = publish_answer(&what, answer)?;
        self.log.push(Sent {
            step,
            hub,
            resource,
            change: Some((change, uid)),
            answer,
        });
        Ok(())
    }

    async fn burst(
        &mut self,
        step: usize,
        resource: usize,
        publishes: &[(usize, Change)],
    ) -> Result<(), String> {
        // Per hub, in sending order: (request id, op value, change).
        let mut plans: Vec<Vec<(u64, String, Change)>> = vec![Vec::new(); HUBS];
        for (hub, change) in publishes {
            let uid = self.uid();
            let id = self.publishers[*hub].next_id();
            plans[*hub].push((id, uid, change.clone()));
        }
        let id = &self.ids[resource];
        let runs = self
            .publishers
            .iter_mut()
            .zip(&plans)
            .enumerate()
            .filter(|(_, (_, plan))| !plan.is_empty())
            .map(|(hub, (client, plan))| pipelined(client, NAMES[hub], id, plan));
        let answers = join_all(runs).await;
        let mut answers = answers.into_iter();
        for (hub, plan) in plans.into_iter().enumerate() {
            if plan.is_empty() {
                continue;
            }
            let answered = answers.next().unwrap()?;
            for (request, uid, change) in plan {
                self.log.push(Sent {
                    step,
                    hub,
                    resource,
                    change: Some((change, uid)),
                    answer: answered[&request],
                });
            }
        }
        Ok(())
    }
}

/// Sends every publish of `plan` on `client` before reading any answer; the
/// answer to each, by request id.
async fn pipelined(
    client: &mut Client,
    hub: &str,
    resource: &str,
    plan: &[(u64, String, Change)],
) -> Result<BTreeMap<u64, Answer>, String> {
    for (id, uid, change) in plan {
        client
            .send(&pub_frame(*id, resource, change, uid))
            .await
            .map_err(|e| format!("burst through {hub}: sending pub {id}: {e}"))?;
    }
    let deadline = Instant::now() + secs(20);
    let mut answers = BTreeMap::new();
    while answers.len() < plan.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = client.frame_within(left).await.map_err(|e| {
            format!(
                "burst through {hub}: {} of {} answers to pipelined pubs of {resource}: {e}",
                answers.len(),
                plan.len()
            )
        })?;
        let id = match &frame {
            ServerFrame::Ack { id, .. } | ServerFrame::Error { id: Some(id), .. } => *id,
            other => return Err(format!("burst through {hub}: unexpected {other:?}")),
        };
        let what = format!("pipelined pub {id} of {resource} through {hub}");
        answers.insert(id, publish_answer(&what, frame)?);
    }
    Ok(answers)
}

/// REST `DELETE` of `resource` through `hub`.
async fn delete(hub: &Hub, resource: &str) -> Result<Answer, String> {
    let url = hub.http(&format!("/api/v1/resources/{resource}"));
    let mut response = awc::Client::builder()
        .timeout(secs(15))
        .finish()
        .delete(&url)
        .send()
        .await
        .map_err(|e| format!("DELETE {url}: {e}"))?;
    match response.status().as_u16() {
        204 => Ok(Answer::Deleted),
        404 => Ok(Answer::NotFound),
        503 => Ok(Answer::Unavailable),
        code => {
            let body = response.body().await.unwrap_or_default();
            Err(format!(
                "DELETE {resource} through {}: {code} {}",
                hub.name,
                String::from_utf8_lossy(&body)
            ))
        }
    }
}

/// `hub`'s REST history of `resource` from seq 1 (404: none).
async fn rest_history(hub: &Hub, resource: &str) -> Result<Vec<HistoryEntry>, String> {
    let url = hub.http(&format!("/api/v1/history/{resource}?since=0&limit=1000"));
    let (code, body) = get_json(&url).await;
    match code {
        404 => Ok(Vec::new()),
        200 if body["complete"] == true && body.get("more").is_none_or(|more| more == false) => {
            serde_json::from_value(body["deltas"].clone())
                .map_err(|e| format!("{}: history of {resource}: {e} in {body}", hub.name))
        }
        _ => Err(format!(
            "{}: REST history of {resource}: {code} {body}",
            hub.name
        )),
    }
}

/// `hub`'s WS `history` of `resource` from seq 1 (`not_found`: none).
async fn ws_history(client: &mut Client, resource: &str) -> Result<Vec<HistoryEntry>, String> {
    let frame = ClientFrame::History {
        id: client.next_id(),
        resource: resource.to_owned(),
        since: 0,
        limit: Some(1000),
    };
    match client.request(&frame, secs(10)).await {
        Ok(ServerFrame::History {
            deltas,
            complete: true,
            more: false,
            ..
        }) => Ok(deltas),
        Ok(ServerFrame::Error {
            code: ErrorCode::NotFound,
            ..
        }) => Ok(Vec::new()),
        other => Err(format!("WS history of {resource}: {other:?}")),
    }
}

/// Waits until the three hubs serve the same REST history of `resource`, one
/// that reaches `at_least`; that history.
async fn agreed_history(
    cluster: &Cluster,
    resource: &str,
    at_least: u64,
) -> Result<Vec<HistoryEntry>, String> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let mut histories = Vec::new();
        for hub in cluster.hubs() {
            histories.push(rest_history(hub, resource).await?);
        }
        let last = histories[0].last().map_or(0, HistoryEntry::seq);
        if last >= at_least && histories.iter().all(|history| *history == histories[0]) {
            return Ok(histories.swap_remove(0));
        }
        if Instant::now() > deadline {
            let shown: Vec<String> = histories
                .iter()
                .zip(NAMES)
                .map(|(history, name)| format!("{name}: {}", entries(history)))
                .collect();
            return Err(format!(
                "the hubs did not agree on the history of {resource} (reaching seq {at_least}) \
                 within {SETTLE:?}:\n  {}",
                shown.join("\n  ")
            ));
        }
        pause(ms(100)).await;
    }
}

/// A history in short: `seq:op` per delta, `seq:removed`.
fn entries(history: &[HistoryEntry]) -> String {
    let shown: Vec<String> = history
        .iter()
        .map(|entry| match entry {
            HistoryEntry::Delta(delta) => {
                let op = delta
                    .fields
                    .as_ref()
                    .and_then(|fields| fields.get(OP_FIELD).cloned().flatten());
                match op {
                    Some(Scalar::Str(op)) => format!("{}:{op}", delta.seq),
                    other => format!("{}:{other:?}", delta.seq),
                }
            }
            HistoryEntry::Removed(removed) => format!("{}:removed", removed.seq),
        })
        .collect();
    format!("[{}]", shown.join(" "))
}

/// The `op` value a delta sets, if it sets one.
fn op_of(delta: &DeltaFrame) -> Option<&str> {
    match delta.fields.as_ref()?.get(OP_FIELD)? {
        Some(Scalar::Str(op)) => Some(op),
        _ => None,
    }
}

/// What one resource's history comes to: the state at each seq (index 0: before
/// any), the step of the op behind each entry, and how many acked publishes
/// changed nothing (no entry of their own).
struct Replayed {
    states: Vec<State>,
    steps: Vec<usize>,
    no_ops: u64,
    /// Entries made by ops answered `unavailable`.
    unavailable_made: u64,
}

/// The ops of one resource in the log, matched one by one to the entries of its
/// history.
struct Matcher<'a> {
    log: &'a [Sent],
    /// Publishes by `op` value (an `Again` shares its original's), as places in the log.
    by_uid: HashMap<&'a str, Vec<usize>>,
    /// Deletes that may be in the history.
    deletes: Vec<usize>,
    /// The seq of the entry each op made, by its place in the log.
    made: HashMap<usize, u64>,
    /// The step of the op behind the last entry matched.
    step_at: usize,
}

impl<'a> Matcher<'a> {
    fn new(log: &'a [Sent], resource: usize) -> Self {
        let mut by_uid: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut deletes = Vec::new();
        for (at, sent) in log.iter().enumerate() {
            match &sent.change {
                _ if sent.resource != resource => {}
                Some((_, uid)) => by_uid.entry(uid).or_default().push(at),
                None if matches!(sent.answer, Answer::Deleted | Answer::Unavailable) => {
                    deletes.push(at);
                }
                None => {}
            }
        }
        Self {
            log,
            by_uid,
            deletes,
            made: HashMap::new(),
            step_at: 0,
        }
    }

    fn step(&self, at: usize) -> usize {
        self.log[at].step
    }

    /// The op that made `delta` at `seq`: one acked at that seq, else one
    /// answered `unavailable` and sent after the last entry's op was answered.
    fn delta_op(&self, delta: &DeltaFrame, seq: u64) -> Result<usize, String> {
        let ats = op_of(delta)
            .and_then(|uid| self.by_uid.get(uid))
            .ok_or_else(|| format!("no op of the sequence asked for {delta:?}"))?;
        let free = |at: &&usize| !self.made.contains_key(*at);
        let answered = |answer: Answer| {
            ats.iter()
                .filter(free)
                .filter(move |at| self.log[**at].answer == answer)
        };
        answered(Answer::Acked(seq))
            .min_by_key(|at| self.step(**at))
            .or_else(|| {
                answered(Answer::Unavailable)
                    .filter(|at| self.step(**at) >= self.step_at)
                    .min_by_key(|at| self.step(**at))
            })
            .copied()
            .ok_or_else(|| {
                let asked: Vec<String> = ats.iter().map(|at| describe(&self.log[*at])).collect();
                format!(
                    "{delta:?} was asked for by {asked:?}: none acked at this seq or answered \
                     unavailable (and not in the history yet)"
                )
            })
    }

    /// The delete behind a `removed` followed by `rest`: one between the ops of
    /// the entries around it, answered 204 first (an `unavailable` one may not be
    /// there).
    fn removal_op(&self, rest: &[HistoryEntry]) -> Result<usize, String> {
        let latest_step = |entry: &HistoryEntry| match entry {
            HistoryEntry::Delta(delta) => op_of(delta)
                .and_then(|uid| self.by_uid.get(uid))
                .and_then(|ats| ats.iter().map(|at| self.step(*at)).max()),
            HistoryEntry::Removed(_) => None,
        };
        let until = rest.iter().find_map(latest_step).unwrap_or(usize::MAX);
        let fits = |at: &&usize| {
            let step = self.step(**at);
            !self.made.contains_key(*at) && step >= self.step_at && step <= until
        };
        self.deletes
            .iter()
            .filter(fits)
            .find(|at| self.log[**at].answer == Answer::Deleted)
            .or_else(|| self.deletes.iter().find(fits))
            .copied()
            .ok_or_else(|| {
                format!(
                    "removed, but no DELETE of steps {}..={until} was answered 204 or unavailable",
                    self.step_at
                )
            })
    }
}

/// Checks the history of `ids[resource]` against the log: every entry asked for
/// by one op, in time order, with the model's merge; every acked publish at its
/// seq (its own entry, or a state that already held its change); every 204
/// `DELETE` a `removed`.
fn replay(
    ids: &[String],
    resource: usize,
    log: &[Sent],
    history: &[HistoryEntry],
) -> Result<Replayed, String> {
    let id = &ids[resource];
    let mut matcher = Matcher::new(log, resource);
    let mut states = vec![State::absent(0)];
    let mut steps = Vec::new();
    for (n, entry) in history.iter().enumerate() {
        let seq = n as u64 + 1;
        let before = &states[n];
        let fail = |what: String| {
            format!(
                "{id} seq {seq}: {what}\n  the history: {}",
                entries(history)
            )
        };
        let (at, after) = match entry {
            _ if entry.seq() != seq => {
                return Err(fail(format!("the history is not 1..N: {entry:?}")));
            }
            HistoryEntry::Delta(delta) => {
                let at = matcher.delta_op(delta, seq).map_err(fail)?;
                let (change, uid) = log[at].change.as_ref().unwrap();
                let (expected, after) = before.publish(id, change, uid, delta.at);
                if *delta != expected {
                    return Err(fail(format!(
                        "{delta:?} is not the merge of {} on {before:?}, which is {expected:?}",
                        describe(&log[at])
                    )));
                }
                (at, after)
            }
            HistoryEntry::Removed(_) if !before.exists => {
                return Err(fail("removed while it did not exist".to_owned()));
            }
            HistoryEntry::Removed(_) => {
                let at = matcher.removal_op(&history[n + 1..]).map_err(fail)?;
                (at, State::absent(seq))
            }
        };
        let step = log[at].step;
        if step < matcher.step_at {
            return Err(fail(format!(
                "made by {}, but an op of step {} (answered before it was sent) is at an earlier seq",
                describe(&log[at]),
                matcher.step_at
            )));
        }
        matcher.made.insert(at, seq);
        matcher.step_at = step;
        steps.push(step);
        states.push(after);
    }
    let mut no_ops = 0;
    for (at, sent) in log.iter().enumerate() {
        if sent.resource != resource || matcher.made.contains_key(&at) {
            continue;
        }
        let unmatched = match sent.answer {
            Answer::Acked(seq) => no_op(sent, seq, &states, &steps).map(|()| no_ops += 1),
            Answer::Deleted => Err(format!(
                "{} was answered 204, but no `removed` is its",
                describe(sent)
            )),
            Answer::NotFound | Answer::Unavailable => Ok(()),
        };
        unmatched.map_err(|e| format!("{id}: {e}\n  the history: {}", entries(history)))?;
    }
    let unavailable_made = matcher
        .made
        .keys()
        .filter(|at| log[**at].answer == Answer::Unavailable)
        .count() as u64;
    Ok(Replayed {
        states,
        steps,
        no_ops,
        unavailable_made,
    })
}

/// An acked publish with no entry of its own changed nothing: the state at its
/// seq already held its whole change, and that seq lies after every entry of ops
/// answered before it was sent and before every entry of ops sent after it was
/// answered.
fn no_op(sent: &Sent, seq: u64, states: &[State], steps: &[usize]) -> Result<(), String> {
    let (change, uid) = sent.change.as_ref().unwrap();
    let at = usize::try_from(seq).unwrap();
    let state = states.get(at);
    let holds = state.is_some_and(|state| {
        state.exists
            && change.status.is_none_or(|status| status == state.status)
            && state.fields.get(FIELDS[change.field]) == change.value.map(Scalar::Int).as_ref()
            && state.fields.get(OP_FIELD) == Some(&Scalar::Str(uid.clone()))
    });
    let in_time = steps.iter().enumerate().all(|(k, step)| {
        let entry = k + 1;
        (*step >= sent.step || entry <= at) && (*step <= sent.step || entry > at)
    });
    if holds && in_time {
        return Ok(());
    }
    let why = if holds {
        "an op answered before it was sent is after that seq, or one sent after it was answered \
         is before it"
            .to_owned()
    } else {
        format!("the state at that seq is {state:?}")
    };
    Err(format!(
        "{} was acked at seq {seq} without an entry of its own (a publish that changes \
         nothing), but {why}",
        describe(sent)
    ))
}

/// An op of the log in short.
fn describe(sent: &Sent) -> String {
    match &sent.change {
        Some((change, uid)) => format!(
            "op {uid} ({change:?} through {}, step {}, answered {:?})",
            NAMES[sent.hub], sent.step, sent.answer
        ),
        None => format!(
            "DELETE through {} (step {}, answered {:?})",
            NAMES[sent.hub], sent.step, sent.answer
        ),
    }
}

/// Counts what the log shows besides violations.
fn observe(ids: &[String], resource: usize, log: &[Sent], replayed: &Replayed, tally: &mut Tally) {
    for sent in log.iter().filter(|sent| sent.resource == resource) {
        match sent.answer {
            Answer::Acked(_) => tally.acked += 1,
            Answer::Deleted => tally.deleted += 1,
            Answer::Unavailable => tally.unavailable += 1,
            Answer::NotFound => {
                tally.not_found += 1;
                // The state once every op answered before this one was sent.
                let before = replayed
                    .steps
                    .iter()
                    .filter(|step| **step < sent.step)
                    .count();
                let state = &replayed.states[before];
                if state.exists {
                    tally.not_found_existing.push(format!(
                        "DELETE {} through {} (step {}) answered 404 while it existed at seq {}",
                        ids[resource], NAMES[sent.hub], sent.step, state.seq
                    ));
                }
            }
        }
    }
    tally.no_ops += replayed.no_ops;
    tally.unavailable_made += replayed.unavailable_made;
    let mut by_burst: BTreeMap<usize, BTreeMap<u64, usize>> = BTreeMap::new();
    for sent in log.iter().filter(|sent| sent.resource == resource) {
        if let Answer::Acked(seq) = sent.answer {
            by_burst.entry(sent.step).or_default().insert(seq, sent.hub);
        }
    }
    for hubs in by_burst.values() {
        let hubs: Vec<usize> = hubs.values().copied().collect();
        tally.switches += hubs.windows(2).filter(|pair| pair[0] != pair[1]).count() as u64;
    }
    // Publishes pipelined on one connection: acked in the order sent?
    let mut by_connection: BTreeMap<(usize, usize), Vec<(u64, &str)>> = BTreeMap::new();
    for sent in log.iter().filter(|sent| sent.resource == resource) {
        if let (Some((_, uid)), Answer::Acked(seq)) = (&sent.change, sent.answer) {
            by_connection
                .entry((sent.step, sent.hub))
                .or_default()
                .push((seq, uid));
        }
    }
    for ((step, hub), acks) in by_connection {
        for (n, (seq, uid)) in acks.iter().enumerate() {
            if let Some((later, other)) = acks[n + 1..].iter().find(|(later, _)| later < seq) {
                tally.pipelined_inversions.push(format!(
                    "{}: step {step} through {}: op {uid} acked {seq}, op {other} sent after it acked {later}",
                    ids[resource], NAMES[hub]
                ));
            }
        }
    }
}

/// The truth about each id of a sequence: the history every hub agrees on, replayed.
type Truth = BTreeMap<String, (Vec<HistoryEntry>, Replayed)>;

/// A session per hub, subscribed to the sequence's pattern before its ops.
struct Viewer {
    name: &'static str,
    client: Client,
    /// The last seq seen of each resource.
    last: BTreeMap<String, u64>,
}

impl Viewer {
    /// Folds one frame in: the next seq of its resource (or a reset snapshot
    /// ahead), with the history's content at that seq.
    fn apply(
        &mut self,
        frame: &ServerFrame,
        truth: &Truth,
        resets: &mut u64,
    ) -> Result<(), String> {
        let (resource, seq) = match frame {
            ServerFrame::Snapshot(snapshot) if snapshot.id.is_none() => {
                (&snapshot.resource, snapshot.seq)
            }
            ServerFrame::Delta(delta) => (&delta.resource, delta.seq),
            ServerFrame::Removed(removed) => (&removed.resource, removed.seq),
            other => return Err(format!("{}'s subscriber got {other:?}", self.name)),
        };
        let Some((history, replayed)) = truth.get(resource) else {
            return Err(format!(
                "{}'s subscriber got {frame:?}: not an id of this sequence",
                self.name
            ));
        };
        let last = self.last.get(resource).copied().unwrap_or(0);
        let at = usize::try_from(seq).unwrap();
        let good = at >= 1
            && at <= history.len()
            && match (frame, &history[at - 1]) {
                (ServerFrame::Snapshot(snapshot), _) if snapshot.reset => {
                    *resets += 1;
                    seq > last && replayed.states[at].shown_by(snapshot)
                }
                // Not a reset: the creation, right after what was seen.
                (ServerFrame::Snapshot(snapshot), _) => {
                    seq == last + 1
                        && !replayed.states[at - 1].exists
                        && replayed.states[at].shown_by(snapshot)
                }
                (ServerFrame::Delta(delta), HistoryEntry::Delta(entry)) => {
                    last > 0 && seq == last + 1 && replayed.states[at - 1].exists && delta == entry
                }
                (ServerFrame::Removed(_), HistoryEntry::Removed(_)) => last > 0 && seq == last + 1,
                _ => false,
            };
        if !good {
            let model = replayed.states.get(at);
            return Err(format!(
                "{}'s subscriber got {frame:?} after seq {last} of {resource}; the model there: \
                 {model:?}\n  the history every hub serves: {}",
                self.name,
                entries(history)
            ));
        }
        self.last.insert(resource.clone(), seq);
        Ok(())
    }

    /// Reads until every resource's last seq arrived, then a little longer (nothing
    /// more may come).
    async fn watch(&mut self, truth: &Truth, resets: &mut u64) -> Result<(), String> {
        let deadline = Instant::now() + SETTLE;
        loop {
            let missing: Vec<String> = truth
                .iter()
                .filter(|(id, (history, _))| {
                    self.last.get(*id).copied().unwrap_or(0) != history.len() as u64
                })
                .map(|(id, (history, _))| {
                    format!("{id} at {:?} of {}", self.last.get(id), history.len())
                })
                .collect();
            let wait = if missing.is_empty() {
                ms(50)
            } else {
                deadline.saturating_duration_since(Instant::now())
            };
            match self.client.frame_within(wait).await {
                Ok(frame) => self.apply(&frame, truth, resets)?,
                Err(ClientError::Timeout { .. }) if missing.is_empty() => return Ok(()),
                Err(e) => {
                    return Err(format!(
                        "{}'s subscriber, waiting for {missing:?}: {e}",
                        self.name
                    ));
                }
            }
        }
    }
}

/// Every hub's WS history, REST snapshot and REST list against the truth.
async fn check_reads(run: &mut Case<'_>, truth: &Truth) -> Result<(), String> {
    for (hub, name) in NAMES.into_iter().enumerate() {
        for (id, (history, replayed)) in truth {
            let ws = ws_history(&mut run.publishers[hub], id)
                .await
                .map_err(|e| format!("{name}: {e}"))?;
            if ws != *history {
                return Err(format!(
                    "{name}: the WS history of {id} is {}, the REST history {}",
                    entries(&ws),
                    entries(history)
                ));
            }
            let state = replayed.states.last().unwrap();
            let (code, body) =
                get_json(&run.hub(hub).http(&format!("/api/v1/resources/{id}"))).await;
            let good = match code {
                200 => serde_json::from_value::<SnapshotFrame>(body.clone())
                    .is_ok_and(|snapshot| snapshot.resource == *id && state.shown_by(&snapshot)),
                404 => !state.exists,
                _ => false,
            };
            if !good {
                return Err(format!(
                    "{name}: GET {id} answered {code} {body}; the model says {state:?}"
                ));
            }
        }
        let url = run.hub(hub).http(&format!(
            "/api/v1/resources?pattern=m/{}/**&limit=1000",
            run.case
        ));
        let (code, body) = get_json(&url).await;
        let listed: Vec<SnapshotFrame> = serde_json::from_value(body["resources"].clone())
            .map_err(|e| format!("{name}: GET {url}: {code} {body}: {e}"))?;
        let expected: Vec<&String> = truth
            .iter()
            .filter(|(_, (_, replayed))| replayed.states.last().unwrap().exists)
            .map(|(id, _)| id)
            .collect();
        let ids: Vec<&String> = listed.iter().map(|snapshot| &snapshot.resource).collect();
        let shown = listed.iter().all(|snapshot| {
            truth[&snapshot.resource]
                .1
                .states
                .last()
                .unwrap()
                .shown_by(snapshot)
        });
        if code != 200 || ids != expected || !shown || !body["next_cursor"].is_null() {
            return Err(format!(
                "{name}: GET {url} answered {code} {body}; the model lists {expected:?}"
            ));
        }
    }
    Ok(())
}

/// One sequence on the cluster, then its checks.
async fn run(cluster: &Cluster, case: u64, ops: &[Op], tally: &Mutex<Tally>) -> Result<(), String> {
    let ids: Vec<String> = (0..RESOURCES).map(|n| format!("m/{case}/r{n}")).collect();
    let pattern = format!("m/{case}/**");
    let mut viewers = Vec::new();
    let mut publishers = Vec::new();
    for (hub, name) in cluster.hubs().into_iter().zip(NAMES) {
        let mut client = connect(hub).await;
        match client.subscribe(&pattern, None).await {
            Ok(0) => {}
            other => return Err(format!("{name}: sub {pattern} before the ops: {other:?}")),
        }
        viewers.push(Viewer {
            name,
            client,
            last: BTreeMap::new(),
        });
        publishers.push(connect(hub).await);
    }
    let mut run = Case {
        cluster,
        case,
        ids,
        publishers,
        log: Vec::new(),
        next_uid: 0,
    };
    for (step, op) in ops.iter().enumerate() {
        run.step(step, op).await?;
    }
    let mut seen = Tally::default();
    let mut truth = Truth::new();
    for (resource, id) in run.ids.iter().enumerate() {
        let at_least = run
            .log
            .iter()
            .filter(|sent| sent.resource == resource)
            .filter_map(|sent| match sent.answer {
                Answer::Acked(seq) => Some(seq),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let history = agreed_history(cluster, id, at_least).await?;
        let replayed = replay(&run.ids, resource, &run.log, &history)?;
        observe(&run.ids, resource, &run.log, &replayed, &mut seen);
        truth.insert(id.clone(), (history, replayed));
    }
    check_reads(&mut run, &truth).await?;
    for viewer in &mut viewers {
        viewer.watch(&truth, &mut seen.resets).await?;
    }
    let mut tally = tally.lock().unwrap();
    tally.cases += 1;
    tally.acked += seen.acked;
    tally.unavailable += seen.unavailable;
    tally.deleted += seen.deleted;
    tally.not_found += seen.not_found;
    tally
        .not_found_existing
        .append(&mut seen.not_found_existing);
    tally
        .pipelined_inversions
        .append(&mut seen.pipelined_inversions);
    tally.resets += seen.resets;
    tally.no_ops += seen.no_ops;
    tally.unavailable_made += seen.unavailable_made;
    tally.switches += seen.switches;
    Ok(())
}

/// Runs `test` on sequences from `strategy`, from a seed printed first
/// (`FILLSTACK_CLUSTER_MODEL_SEED` gives it back), `FILLSTACK_CLUSTER_MODEL_CASES`
/// of them; panics naming the seed and the smallest failing sequence found.
fn run_seeded<S>(strategy: S, test: impl Fn(&S::Value) -> Result<(), String>)
where
    S: Strategy,
    S::Value: Debug,
{
    const VAR: &str = "FILLSTACK_CLUSTER_MODEL";
    let seed: u64 = std::env::var(format!("{VAR}_SEED"))
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            use std::hash::{BuildHasher, RandomState};
            RandomState::new().hash_one(std::time::SystemTime::now())
        });
    let cases = std::env::var(format!("{VAR}_CASES"))
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    eprintln!("cluster model test: seed {seed}, {cases} cases (replay with {VAR}_SEED={seed})");
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: SHRINK_ITERS,
        max_shrink_time: u32::try_from(SHRINK_TIME.as_millis()).unwrap(),
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    let outcome = runner.run(&strategy, |sequence| {
        test(&sequence).map_err(TestCaseError::fail)
    });
    if let Err(failure) = outcome {
        panic!("cluster model test failed ({VAR}_SEED={seed}): {failure}");
    }
}

#[test]
fn every_hub_keeps_one_gapless_sequence_per_resource_whatever_the_ops_and_their_timing() {
    let cluster = Cluster::start();
    let next_case = AtomicU64::new(0);
    let tally = Mutex::new(Tally::default());
    let started = Instant::now();
    run_seeded(prop::collection::vec(op(), 1..16), |ops| {
        let case = next_case.fetch_add(1, Ordering::Relaxed);
        let began = Instant::now();
        let outcome = actix_web::rt::System::new().block_on(async {
            actix_web::rt::time::timeout(CASE_LIMIT, run(&cluster, case, ops, &tally))
                .await
                .unwrap_or_else(|_| {
                    Err(format!("the sequence did not finish within {CASE_LIMIT:?}"))
                })
        });
        match &outcome {
            Ok(()) => eprintln!(
                "cluster model: case {case} ({} ops) passed in {:?}",
                ops.len(),
                began.elapsed()
            ),
            Err(failure) => eprintln!(
                "cluster model: case {case} FAILED after {:?}: {failure}\n  its sequence: {ops:?}",
                began.elapsed()
            ),
        }
        outcome
    });
    let tally = tally.into_inner().unwrap();
    eprintln!(
        "cluster model: {} cases passed in {:?}: {} publishes acked ({} of them changing \
         nothing), consecutive seqs of a burst through different hubs {} times, {} unavailable \
         ({} of them in the history all the same), \
         {} deletes 204, {} 404 ({} of them while the resource existed), {} reset snapshots, {} \
         pipelined publishes acked out of their sending order",
        tally.cases,
        started.elapsed(),
        tally.acked,
        tally.no_ops,
        tally.switches,
        tally.unavailable,
        tally.unavailable_made,
        tally.deleted,
        tally.not_found,
        tally.not_found_existing.len(),
        tally.resets,
        tally.pipelined_inversions.len(),
    );
    for line in tally
        .not_found_existing
        .iter()
        .chain(&tally.pipelined_inversions)
        .take(20)
    {
        eprintln!("  {line}");
    }
}
