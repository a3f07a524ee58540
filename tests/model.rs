//! The model test: random sequences of sub / unsub / pub / delete / TTL expiry /
//! history / a session that stops reading and starts again / a session that
//! reconnects and resumes, over several sessions and overlapping patterns, run
//! against a real hub in-process (real sockets, a real store in a temp dir, the
//! hub's clock moved by hand). After each sequence, every session's view of every
//! resource must equal the model's state, reached with seqs in order and no gap
//! without a snapshot; the registry must hold no more than the resources that
//! exist plus those deleted lately.
//!
//! `FILLSTACK_MODEL_CASES` sets the number of sequences (default 48) and
//! `FILLSTACK_MODEL_SEED` replays one run; the seed is printed first.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use std::collections::{BTreeMap, BTreeSet};

use fillstack::clock::Clock;
use fillstack::resource::ask;
use fillstack::resource::messages::{Remove, TakeSnapshot};
use fillstack_loadtest::Client;
use fillstack_protocol::{
    ClientFrame, Codec, Pattern, PublishFrame, ResourceId, Scalar, ServerFrame, Status,
};
use proptest::prelude::*;
use support::*;

const RESOURCES: [&str; 5] = ["svc/a", "svc/b", "svc/x/c", "host/d", "host/e"];
const PATTERNS: [&str; 6] = ["svc/*", "svc/**", "**", "svc/a", "host/*", "svc/x/*"];
const SESSIONS: usize = 3;
const TTL_MS: u64 = 10_000;

#[derive(Debug, Clone)]
enum Op {
    Sub {
        session: usize,
        pattern: usize,
    },
    Unsub {
        session: usize,
        pattern: usize,
    },
    Pub {
        resource: usize,
        status: Status,
        value: i64,
        ttl: bool,
    },
    Delete {
        resource: usize,
    },
    Expire,
    History {
        session: usize,
        resource: usize,
    },
    /// `unsub` then at once `sub` of the same pattern.
    Resub {
        session: usize,
        pattern: usize,
    },
    Read {
        session: usize,
    },
    Reconnect {
        session: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let session = 0..SESSIONS;
    let resource = 0..RESOURCES.len();
    let pattern = 0..PATTERNS.len();
    let status = prop::sample::select(Status::ALL.to_vec());
    prop_oneof![
        3 => (session.clone(), pattern.clone()).prop_map(|(session, pattern)| Op::Sub { session, pattern }),
        2 => (session.clone(), pattern.clone()).prop_map(|(session, pattern)| Op::Unsub { session, pattern }),
        2 => (session.clone(), pattern).prop_map(|(session, pattern)| Op::Resub { session, pattern }),
        6 => (resource.clone(), status, 0..3i64, any::<bool>())
            .prop_map(|(resource, status, value, ttl)| Op::Pub { resource, status, value, ttl }),
        1 => resource.clone().prop_map(|resource| Op::Delete { resource }),
        1 => Just(Op::Expire),
        1 => (session.clone(), resource).prop_map(|(session, resource)| Op::History { session, resource }),
        2 => session.clone().prop_map(|session| Op::Read { session }),
        1 => session.prop_map(|session| Op::Reconnect { session }),
    ]
}

/// The model's truth about one resource.
#[derive(Debug, Clone, PartialEq)]
struct Truth {
    seq: u64,
    exists: bool,
    status: Status,
    value: Option<i64>,
    ttl: bool,
    updated_at: u64,
}

/// What one session has seen of one resource.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    seq: u64,
    status: Status,
    value: Option<i64>,
}

/// One test session: its socket, the patterns it holds, and its view.
struct Viewer {
    client: Client,
    epoch: String,
    /// Live patterns, followed as the hub does: a `sub` takes effect at its `ok`,
    /// an `unsub` at its `ok`. The `ok`s come in the hub's order among the frames,
    /// so a frame is read against the patterns live when the hub sent it.
    held: BTreeSet<usize>,
    /// Requests sent and not answered yet: request id → (pattern, is it a `sub`).
    asked: BTreeMap<u64, (usize, bool)>,
    view: BTreeMap<String, Seen>,
    next_id: u64,
}

impl Viewer {
    async fn connect(hub: &TestHub) -> Self {
        let mut client = Client::connect(&hub.url(), Codec::MsgPack).await.unwrap();
        let ServerFrame::Welcome { epoch, .. } = client.hello(None).await.unwrap() else {
            panic!("welcome")
        };
        Self {
            client,
            epoch,
            held: BTreeSet::new(),
            asked: BTreeMap::new(),
            view: BTreeMap::new(),
            next_id: 1,
        }
    }

    fn is_watched(&self, resource: &str) -> bool {
        let id = ResourceId::parse(resource).unwrap();
        self.held
            .iter()
            .any(|p| Pattern::parse(PATTERNS[*p]).unwrap().matches(&id))
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Folds one frame into the view; a gap or a step back is a violation.
    fn apply(&mut self, frame: ServerFrame) -> Result<(), String> {
        match frame {
            ServerFrame::Snapshot(snapshot) if snapshot.id.is_none() => {
                if !self.is_watched(&snapshot.resource) {
                    return Ok(()); // in flight from a pattern given up since
                }
                if let Some(known) = self.view.get(&snapshot.resource)
                    && snapshot.seq < known.seq
                {
                    return Err(format!("snapshot {snapshot:?} goes back from {known:?}"));
                }
                let value = match snapshot.fields.get("v") {
                    Some(Scalar::Int(v)) => Some(*v),
                    _ => None,
                };
                let seen = Seen {
                    seq: snapshot.seq,
                    status: snapshot.status,
                    value,
                };
                self.view.insert(snapshot.resource, seen);
            }
            ServerFrame::Delta(delta) => {
                let Some(known) = self.view.get_mut(&delta.resource) else {
                    return Ok(()); // not (or no longer) known: in flight, ignored
                };
                if delta.seq != known.seq + 1 {
                    return Err(format!("gap: delta {delta:?} after {known:?}"));
                }
                known.seq = delta.seq;
                if let Some(status) = delta.status {
                    known.status = status;
                }
                if let Some(fields) = &delta.fields
                    && let Some(change) = fields.get("v")
                {
                    known.value = match change {
                        Some(Scalar::Int(v)) => Some(*v),
                        _ => None,
                    };
                }
            }
            ServerFrame::Removed(removed) => {
                if let Some(known) = self.view.get(&removed.resource)
                    && removed.seq <= known.seq
                {
                    return Err(format!("removed {removed:?} not after {known:?}"));
                }
                self.view.remove(&removed.resource);
            }
            // The history of a resource that never existed (or whose actor retired).
            ServerFrame::Error {
                code: fillstack_protocol::ErrorCode::NotFound,
                ..
            } => {}
            ServerFrame::Error { code, message, .. } => {
                return Err(format!("error {code:?}: {message}"));
            }
            ServerFrame::Ok { id, .. } => match self.asked.remove(&id) {
                Some((pattern, true)) => {
                    self.held.insert(pattern);
                }
                Some((pattern, false)) => {
                    self.held.remove(&pattern);
                    // What no live pattern watches any more leaves the view.
                    let known: Vec<String> = self.view.keys().cloned().collect();
                    for resource in known {
                        if !self.is_watched(&resource) {
                            self.view.remove(&resource);
                        }
                    }
                }
                None => {}
            },
            ServerFrame::History { deltas, .. } => {
                let seqs: Vec<u64> = deltas.iter().map(|d| d.seq()).collect();
                if seqs.windows(2).any(|w| w[1] != w[0] + 1) {
                    return Err(format!("history out of order: {seqs:?}"));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Reads every frame that arrives until `quiet` passes with none.
    async fn drain(&mut self, quiet: std::time::Duration) -> Result<(), String> {
        while let Ok(frame) = self.client.frame_within(quiet).await {
            self.apply(frame)?;
        }
        Ok(())
    }

    /// Waits until every request sent so far is done and every frame queued before
    /// it is read: an `unsub` of a pattern never held runs after every earlier
    /// control request; a `ping` answer follows every delta queued before it.
    async fn settle(&mut self) -> Result<(), String> {
        let barrier = self.id();
        let unsub = ClientFrame::Unsub {
            id: barrier,
            pattern: "never/held".into(),
        };
        within("a send", self.client.send(&unsub)).await?.unwrap();
        self.read_until_answer(barrier).await?;
        let ping = self.id();
        self.client
            .send(&ClientFrame::Ping { id: ping })
            .await
            .unwrap();
        self.read_until_answer(ping).await?;
        self.drain(ms(60)).await
    }

    async fn read_until_answer(&mut self, id: u64) -> Result<(), String> {
        loop {
            let frame = self
                .client
                .frame_within(secs(10))
                .await
                .map_err(|e| format!("waiting for answer {id}: {e:?}"))?;
            let done = matches!(&frame, ServerFrame::Ok { id: got, .. } | ServerFrame::Pong { id: got, .. } if *got == id);
            self.apply(frame)?;
            if done {
                return Ok(());
            }
        }
    }

    fn sub(&mut self, pattern: usize, since: Option<BTreeMap<String, u64>>) -> ClientFrame {
        let id = self.id();
        self.asked.insert(id, (pattern, true));
        ClientFrame::Sub {
            id,
            pattern: PATTERNS[pattern].into(),
            since,
            epoch: Some(self.epoch.clone()),
            more: false,
        }
    }
}

/// One sequence against a fresh hub; `Err` names the first violation.
async fn run(ops: Vec<Op>) -> Result<(), String> {
    let clock = Clock::manual(1_700_000_000_000);
    let hub = TestHub::builder()
        .clock(clock.clone())
        .history(4)
        .retire_after(ms(30))
        .start()
        .await;
    let mut truth: BTreeMap<&str, Truth> = BTreeMap::new();
    let mut publisher = hub.client().await;
    let mut viewers = Vec::new();
    for _ in 0..SESSIONS {
        viewers.push(Viewer::connect(&hub).await);
    }
    for op in ops {
        step(&hub, &clock, &mut publisher, &mut viewers, &mut truth, op).await?;
        clock.advance(ms(5));
    }
    for viewer in &mut viewers {
        viewer.settle().await?;
        check_view(viewer, &truth)?;
    }
    let existing = truth.values().filter(|t| t.exists).count();
    if hub.registry().registry_len() > RESOURCES.len()
        || hub.registry().resource_count() != existing
    {
        return Err(format!(
            "registry holds {} actors, {} live; the model has {existing}",
            hub.registry().registry_len(),
            hub.registry().resource_count()
        ));
    }
    drop((publisher, viewers));
    // The contract gives a hub 10 s to shut down.
    actix_web::rt::time::timeout(secs(10), hub.stop())
        .await
        .map_err(|_| "the hub's shutdown took more than 10 s".to_owned())?;
    Ok(())
}

/// `future`, or an error naming `what` if it takes more than 5 s.
async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> Result<T, String> {
    actix_web::rt::time::timeout(secs(5), future)
        .await
        .map_err(|_| format!("{what} took more than 5 s"))
}

fn check_view(viewer: &Viewer, truth: &BTreeMap<&str, Truth>) -> Result<(), String> {
    for resource in RESOURCES {
        let expected = truth
            .get(resource)
            .filter(|t| t.exists && viewer.is_watched(resource))
            .map(|t| Seen {
                seq: t.seq,
                status: t.status,
                value: t.value,
            });
        let seen = viewer.view.get(resource).cloned();
        if seen != expected {
            return Err(format!(
                "{resource}: the session holding {:?} sees {seen:?}, the model says {expected:?}",
                viewer.held.iter().map(|p| PATTERNS[*p]).collect::<Vec<_>>()
            ));
        }
    }
    Ok(())
}

async fn step(
    hub: &TestHub,
    clock: &Clock,
    publisher: &mut Client,
    viewers: &mut [Viewer],
    truth: &mut BTreeMap<&'static str, Truth>,
    op: Op,
) -> Result<(), String> {
    match op {
        Op::Sub { session, pattern } => {
            let viewer = &mut viewers[session];
            let frame = viewer.sub(pattern, None);
            within("a send", viewer.client.send(&frame)).await?.unwrap();
        }
        Op::Resub { session, pattern } => {
            Box::pin(step(
                hub,
                clock,
                publisher,
                viewers,
                truth,
                Op::Unsub { session, pattern },
            ))
            .await?;
            Box::pin(step(
                hub,
                clock,
                publisher,
                viewers,
                truth,
                Op::Sub { session, pattern },
            ))
            .await?;
        }
        Op::Unsub { session, pattern } => {
            let viewer = &mut viewers[session];
            let id = viewer.id();
            viewer.asked.insert(id, (pattern, false));
            let frame = ClientFrame::Unsub {
                id,
                pattern: PATTERNS[pattern].into(),
            };
            within("a send", viewer.client.send(&frame)).await?.unwrap();
        }
        Op::Pub {
            resource,
            status,
            value,
            ttl,
        } => {
            publish(
                clock,
                publisher,
                truth,
                RESOURCES[resource],
                (status, value, ttl),
            )
            .await?;
        }
        Op::Delete { resource } => delete(hub, truth, RESOURCES[resource]).await?,
        Op::Expire => expire(hub, clock, truth).await?,
        Op::History { session, resource } => {
            let viewer = &mut viewers[session];
            let frame = ClientFrame::History {
                id: viewer.id(),
                resource: RESOURCES[resource].into(),
                since: 0,
                limit: None,
            };
            within("a send", viewer.client.send(&frame)).await?.unwrap();
        }
        Op::Read { session } => viewers[session].drain(ms(2)).await?,
        Op::Reconnect { session } => reconnect(hub, &mut viewers[session]).await?,
    }
    // Sessions read only when told (`Read`) and at the end, so requests pipeline.
    Ok(())
}

/// Publishes through the hub and moves the model the same way.
async fn publish(
    clock: &Clock,
    publisher: &mut Client,
    truth: &mut BTreeMap<&'static str, Truth>,
    name: &'static str,
    (status, value, ttl): (Status, i64, bool),
) -> Result<(), String> {
    let frame = ClientFrame::Pub(PublishFrame {
        id: 1,
        resource: name.into(),
        status: Some(status.as_str().into()),
        fields: Some([("v".to_owned(), Some(Scalar::Int(value)))].into()),
        ttl_ms: Some(if ttl { TTL_MS } else { 0 }),
        ..Default::default()
    });
    let seq = within("a publish", publisher.publish_frame(frame))
        .await?
        .map_err(|e| format!("publish to {name}: {e:?}"))?;
    let now = clock.now_ms();
    let entry = truth.entry(name).or_insert(Truth {
        seq: 0,
        exists: false,
        status: Status::Unknown,
        value: None,
        ttl: false,
        updated_at: now,
    });
    let changed = !entry.exists
        || entry.status != status
        || entry.value != Some(value)
        || entry.ttl != ttl
        || ttl;
    if changed {
        entry.seq += 1;
        entry.updated_at = now;
    }
    entry.exists = true;
    entry.status = status;
    entry.value = Some(value);
    entry.ttl = ttl;
    if seq != entry.seq {
        return Err(format!(
            "publish to {name} acked seq {seq}, the model says {}",
            entry.seq
        ));
    }
    Ok(())
}

/// Deletes in the hub (as the REST route does) and in the model.
async fn delete(
    hub: &TestHub,
    truth: &mut BTreeMap<&'static str, Truth>,
    name: &'static str,
) -> Result<(), String> {
    let id = ResourceId::parse(name).unwrap();
    let exists = truth.get(name).is_some_and(|t| t.exists);
    let outcome = match hub.registry().find(&id) {
        Some(actor) => within("a delete", ask(&actor, |reply| Remove { reply }))
            .await?
            .ok(),
        None => None,
    };
    match (exists, outcome) {
        (true, Some(seq)) => {
            let entry = truth.get_mut(name).unwrap();
            entry.seq += 1;
            entry.exists = false;
            entry.value = None;
            if seq != entry.seq {
                return Err(format!(
                    "delete of {name} at seq {seq}, the model says {}",
                    entry.seq
                ));
            }
        }
        (false, None) => {}
        (exists, outcome) => {
            return Err(format!(
                "delete of {name}: exists {exists}, hub said {outcome:?}"
            ));
        }
    }
    Ok(())
}

/// Drops the session's socket and resumes on a new one with `since` from its view.
async fn reconnect(hub: &TestHub, viewer: &mut Viewer) -> Result<(), String> {
    let mut fresh = within("a reconnect", Viewer::connect(hub)).await?;
    fresh.view = std::mem::take(&mut viewer.view);
    // What it would hold once every answer came, it asks again.
    let mut patterns = std::mem::take(&mut viewer.held);
    for (pattern, is_sub) in viewer.asked.values() {
        if *is_sub {
            patterns.insert(*pattern);
        } else {
            patterns.remove(pattern);
        }
    }
    fresh.epoch = viewer.epoch.clone();
    // What none of those watches, it lets go of.
    fresh.view.retain(|id, _| {
        let id = ResourceId::parse(id).unwrap();
        patterns
            .iter()
            .any(|p| Pattern::parse(PATTERNS[*p]).unwrap().matches(&id))
    });
    for pattern in patterns {
        let matcher = Pattern::parse(PATTERNS[pattern]).unwrap();
        let since: BTreeMap<String, u64> = fresh
            .view
            .iter()
            .filter(|(id, _)| matcher.matches(&ResourceId::parse(id).unwrap()))
            .map(|(id, seen)| (id.clone(), seen.seq))
            .collect();
        let frame = fresh.sub(pattern, Some(since));
        within("a send", fresh.client.send(&frame)).await?.unwrap();
    }
    *viewer = fresh;
    Ok(())
}

/// Moves the clock past every TTL and waits until the hub has marked them stale
/// (a resource in maintenance never goes stale).
async fn expire(
    hub: &TestHub,
    clock: &Clock,
    truth: &mut BTreeMap<&'static str, Truth>,
) -> Result<(), String> {
    clock.advance(ms(TTL_MS + 1));
    let now = clock.now_ms();
    hub.registry().check_ttls();
    for (name, entry) in truth.iter_mut() {
        if !(entry.exists
            && entry.ttl
            && entry.status != Status::Stale
            && entry.status != Status::Maintenance
            && entry.updated_at + TTL_MS <= now)
        {
            continue;
        }
        entry.seq += 1;
        entry.status = Status::Stale;
        let id = ResourceId::parse(name).unwrap();
        let mut tries = 0;
        loop {
            let actor = hub.registry().find(&id).unwrap();
            let snapshot = within("a snapshot", ask(&actor, |reply| TakeSnapshot { reply }))
                .await?
                .unwrap();
            if snapshot.seq == entry.seq && snapshot.status == Status::Stale {
                break;
            }
            tries += 1;
            if tries > 200 {
                return Err(format!(
                    "{name} did not go stale: {snapshot:?}, model {entry:?}"
                ));
            }
            actix_web::rt::time::sleep(ms(5)).await;
        }
    }
    Ok(())
}

#[test]
fn every_session_sees_the_models_state_whatever_the_sequence() {
    if std::env::var_os("FILLSTACK_MODEL_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("FILLSTACK_MODEL_LOG").unwrap_or_default())
            .with_writer(std::io::stderr)
            .try_init();
    }
    support::model::run_seeded(
        "model test",
        "FILLSTACK_MODEL",
        48,
        secs(20),
        prop::collection::vec(op(), 1..40),
        run,
    );
}
