use fillstack_protocol::{Codec, ServerFrame};

use super::*;
use crate::outbox::{Outbound, OutboxLimits};
use crate::resource::ask;
use crate::resource::handlers::PanicForTest;
use crate::resource::messages::{Publish, TakeSnapshot};
use crate::resource::state::Change;

/// A hub whose resource actors run on the test's own arbiter, with default
/// rules and quotas.
fn open_on_this_thread(store: Store, clock: crate::clock::Clock) -> Hub {
    Hub::open(
        store,
        vec![actix::Arbiter::current()],
        clock,
        crate::resource::RETIRE_AFTER,
        crate::monitor::spec::MonitorSpec::default(),
        crate::limits::Quotas::new(crate::limits::QuotaSettings::default()),
        None,
    )
    .unwrap()
}

fn id(text: &str) -> ResourceId {
    ResourceId::parse(text).unwrap()
}

fn frames(outbox: &Outbox) -> Vec<ServerFrame> {
    let mut items = Vec::new();
    outbox.take(usize::MAX, &mut items);
    items
        .into_iter()
        .filter_map(|item| match item {
            Outbound::Delta { frame, .. }
            | Outbound::ResetDone {
                frame: Some(frame), ..
            }
            | Outbound::Reply { frame } => Some(Codec::MsgPack.decode(&frame).unwrap()),
            _ => None,
        })
        .collect()
}

fn up() -> Change {
    Change {
        status: Some(fillstack_protocol::Status::Up),
        ..Change::default()
    }
}

#[actix::test]
async fn a_resource_actor_that_panics_is_replaced_from_the_store_and_subscribers_get_a_reset() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 8 << 20, 100).unwrap();
    let hub = open_on_this_thread(store, crate::clock::Clock::system());
    let resource = id("svc/fragile");
    let actor = hub.find_or_create(&resource);
    assert_eq!(
        ask(&actor, |reply| Publish {
            change: up(),
            by: crate::limits::Writer::Anonymous,
            reply
        })
        .await
        .unwrap(),
        1
    );

    let outbox = Outbox::new(Codec::MsgPack, OutboxLimits::default());
    let pattern = Pattern::parse("svc/*").unwrap();
    let matches = hub.watch(SessionId(7), &outbox, &pattern);
    for (_, actor) in matches {
        let subscribe = crate::resource::messages::Subscribe {
            session: SessionId(7),
            outbox: outbox.clone(),
            pattern: pattern.clone(),
            since: crate::resource::Since::Fresh,
        };
        actor.send(subscribe).await.unwrap();
    }
    assert!(matches!(&frames(&outbox)[..], [ServerFrame::Snapshot(s)] if !s.reset));

    assert!(
        actor.send(PanicForTest).await.is_err(),
        "the handler panicked"
    );
    assert!(!actor.connected());
    let replacement = hub.find(&resource).unwrap();
    assert!(replacement.connected());
    let change = Change {
        status: Some(fillstack_protocol::Status::Down),
        ..Change::default()
    };
    assert_eq!(
        ask(&replacement, |reply| Publish {
            change,
            by: crate::limits::Writer::Anonymous,
            reply
        })
        .await
        .unwrap(),
        2,
        "seq goes on from the store"
    );
    let seen = frames(&outbox);
    assert!(
        matches!(&seen[..], [ServerFrame::Snapshot(s), ServerFrame::Delta(d)] if s.reset && s.seq == 1 && d.seq == 2),
        "{seen:?}"
    );
}

#[actix::test]
async fn a_ttl_expiry_that_meets_a_full_commit_queue_is_retried_until_it_lands() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 8 << 20, 100).unwrap();
    let clock = crate::clock::Clock::manual(1_000_000);
    let hub = open_on_this_thread(store.clone(), clock.clone());
    let resource = id("agent/7");
    let actor = hub.find_or_create(&resource);
    let change = Change {
        ttl: Some(Some(std::time::Duration::from_secs(60))),
        ..up()
    };
    assert_eq!(
        ask(&actor, |reply| Publish {
            change,
            by: crate::limits::Writer::Anonymous,
            reply
        })
        .await
        .unwrap(),
        1
    );
    // The agent dies; when its TTL runs out, the store refuses every commit.
    store.refuse_commits(true);
    clock.advance(std::time::Duration::from_secs(61));
    actor
        .send(crate::resource::messages::CheckTtl)
        .await
        .unwrap();
    actix::clock::sleep(std::time::Duration::from_millis(300)).await;
    let snapshot = ask(&actor, |reply| TakeSnapshot { reply }).await.unwrap();
    assert_eq!(snapshot.seq, 1, "nothing could be committed yet");
    // The store takes commits again: the retry (backoff, not a dropped expiry) lands.
    store.refuse_commits(false);
    let mut waited = 0;
    let stale = loop {
        let snapshot = ask(&actor, |reply| TakeSnapshot { reply }).await.unwrap();
        if snapshot.seq == 2 || waited > 100 {
            break snapshot;
        }
        actix::clock::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    };
    assert_eq!(
        (stale.seq, stale.status),
        (2, fillstack_protocol::Status::Stale)
    );
}

/// Lists page through any set of resources with any filter, limit and scan budget
/// and find exactly the model's matches, in id order, each once, while no page
/// examines more ids than its budget (the ids between two cursors never exceed it).
#[actix::test]
async fn list_pages_find_every_match_once_and_never_examine_past_their_budget() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 8 << 20, 100).unwrap();
    let hub = open_on_this_thread(store, crate::clock::Clock::system());
    // A fixed, seeded population of 2000: ids over three prefixes and two depths, with
    // statuses drawn from every status, some deleted again.
    // SplitMix64: enough for a fixed population, and the same on every run.
    let mut seed = 17u64;
    let mut next = move |below: usize| {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        usize::try_from((z ^ (z >> 31)) % below as u64).unwrap()
    };
    let mut model: std::collections::BTreeMap<String, Status> = Default::default();
    for n in 0..2000u32 {
        let prefix = ["a", "b", "ab"][next(3)];
        let text = match next(2) == 0 {
            true => format!("{prefix}/{n:04}"),
            false => format!("{prefix}/x/{n:04}"),
        };
        let status = Status::ALL[next(Status::ALL.len())];
        let actor = hub.find_or_create(&id(&text));
        let change = Change {
            status: Some(status),
            ..Change::default()
        };
        ask(&actor, |reply| Publish {
            change,
            by: crate::limits::Writer::Anonymous,
            reply,
        })
        .await
        .unwrap();
        if next(10) == 0 {
            ask(&actor, |reply| crate::resource::messages::Remove { reply })
                .await
                .unwrap();
        } else {
            model.insert(text, status);
        }
    }
    let all: Vec<String> = hub.ordered().iter().map(ToString::to_string).collect();
    let patterns = ["**", "a/**", "a/*", "ab/x/*", "b/**", "a/x/**", "zzz/**"];
    let query = (
        0..patterns.len(),
        proptest::option::of(0..Status::ALL.len()),
        1usize..12,
        1usize..40,
    );
    let mut runner = TestRunner::new(Config {
        cases: 256,
        ..Config::default()
    });
    runner
        .run(&query, |(pattern, status, limit, budget)| {
            let pattern = Pattern::parse(patterns[pattern]).unwrap();
            let status = status.map(|index| Status::ALL[index]);
            let wanted: Vec<&String> = model
                .iter()
                .filter(|(id, current)| {
                    pattern.matches(&ResourceId::parse(id).unwrap())
                        && status.is_none_or(|status| status == **current)
                })
                .map(|(id, _)| id)
                .collect();
            let mut found = Vec::new();
            let mut after: Option<ResourceId> = None;
            for _ in 0..all.len() + 2 {
                let page = hub.list_page(&pattern, after.as_ref(), limit, budget, |_, current| {
                    status.is_none_or(|status| status == current)
                });
                prop_assert!(page.found.len() <= limit);
                // Ids of the registry in (after, next]: what this page may have examined.
                let from = after.as_ref().map(ToString::to_string);
                let to = page.next.as_ref().map(ToString::to_string);
                let examined = all
                    .iter()
                    .filter(|id| from.as_ref().is_none_or(|from| *id > from))
                    .filter(|id| to.as_ref().is_none_or(|to| *id <= to))
                    .filter(|id| id.starts_with(&pattern.prefix()))
                    .count();
                prop_assert!(
                    page.next.is_none() || examined <= budget,
                    "a page went past its budget: {examined} ids for a budget of {budget}"
                );
                found.extend(page.found.into_iter().map(|(id, _)| id.to_string()));
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            prop_assert_eq!(found.iter().collect::<Vec<_>>(), wanted);
            Ok(())
        })
        .unwrap();
}
