use fillstack_protocol::{Codec, ServerFrame};

use super::*;
use crate::outbox::{Outbound, OutboxLimits};
use crate::resource::ask;
use crate::resource::handlers::PanicForTest;
use crate::resource::messages::{Publish, TakeSnapshot};
use crate::resource::state::Change;

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
    let hub = Hub::open(
        store,
        vec![actix::Arbiter::current()],
        crate::clock::Clock::system(),
        crate::resource::RETIRE_AFTER,
        crate::monitor::spec::MonitorSpec::default(),
        crate::limits::Quotas::new(crate::limits::QuotaSettings::default()),
    )
    .unwrap();
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
    for (_, actor) in matches.resources {
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
    let hub = Hub::open(
        store.clone(),
        vec![actix::Arbiter::current()],
        clock.clone(),
        crate::resource::RETIRE_AFTER,
        crate::monitor::spec::MonitorSpec::default(),
        crate::limits::Quotas::new(crate::limits::QuotaSettings::default()),
    )
    .unwrap();
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
