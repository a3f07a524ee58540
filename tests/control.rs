//! A session's control path: sub, unsub and resume reach resources in the order
//! sent; since in parts, under an epoch; deleted resources; history answers that
//! never make a reading client a slow consumer. One test per defect of issue 12.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use std::collections::BTreeMap;

use fillstack::resource::ask;
use fillstack::resource::messages::Remove;
use fillstack_loadtest::Client;
use fillstack_protocol::{
    ClientFrame, ErrorCode, HistoryEntry, ResourceId, Scalar, ServerFrame, Status,
};
use support::*;

fn id(text: &str) -> ResourceId {
    ResourceId::parse(text).unwrap()
}

async fn delete(hub: &TestHub, resource: &str) -> u64 {
    let actor = hub.registry().find(&id(resource)).unwrap();
    ask(&actor, |reply| Remove { reply }).await.unwrap()
}

fn sub(id: u64, pattern: &str, since: Option<BTreeMap<String, u64>>, more: bool) -> ClientFrame {
    ClientFrame::Sub {
        id,
        pattern: pattern.into(),
        since,
        epoch: None,
        more,
    }
}

/// Frames until `quiet` passes with none, failing past `limit` frames.
async fn frames_until_quiet(client: &mut Client, limit: usize) -> Vec<ServerFrame> {
    let mut seen = Vec::new();
    while let Ok(frame) = client.frame_within(ms(300)).await {
        seen.push(frame);
        assert!(seen.len() <= limit, "more than {limit} frames: {seen:?}");
    }
    seen
}

#[actix_web::test]
async fn unsub_followed_at_once_by_sub_is_a_fresh_subscription_every_time() {
    let hub = TestHub::start().await;
    let mut publisher = hub.client().await;
    for n in 0..20 {
        set_status(&mut publisher, &format!("svc/r{n}"), "up").await;
    }
    let mut client = hub.client().await;
    client.subscribe("svc/*", None).await.unwrap();
    assert_eq!(frames_until_quiet(&mut client, 20).await.len(), 20);
    for attempt in 0..30 {
        // Sent back to back, without waiting for the first answer.
        client
            .send(&ClientFrame::Unsub {
                id: 1000 + attempt,
                pattern: "svc/*".into(),
            })
            .await
            .unwrap();
        client
            .send(&sub(2000 + attempt, "svc/*", None, false))
            .await
            .unwrap();
        let seen = frames_until_quiet(&mut client, 22).await;
        let snapshots = seen
            .iter()
            .filter(|frame| matches!(frame, ServerFrame::Snapshot(_)))
            .count();
        assert_eq!(snapshots, 20, "attempt {attempt}: {seen:?}");
    }
    // And live changes still come.
    set_status(&mut publisher, "svc/r3", "down").await;
    let ServerFrame::Delta(delta) = next(&mut client).await else {
        panic!("a live delta")
    };
    assert_eq!((delta.resource.as_str(), delta.seq), ("svc/r3", 2));
}

#[actix_web::test]
async fn a_history_of_large_deltas_comes_in_parts_and_never_closes_a_reading_client() {
    let hub = TestHub::builder().history(1000).start().await;
    let mut publisher = hub.client().await;
    let filler = "x".repeat(250);
    for n in 0..1000u64 {
        let mut fields = BTreeMap::new();
        for f in 0..4 {
            fields.insert(format!("f{f}"), Some(Scalar::Str(format!("{n}{filler}"))));
        }
        let frame = ClientFrame::Pub(fillstack_protocol::PublishFrame {
            id: n,
            resource: "svc/big".into(),
            status: Some("up".into()),
            fields: Some(fields),
            ..Default::default()
        });
        publisher.send(&frame).await.unwrap();
    }
    for _ in 0..1000 {
        assert!(matches!(
            next(&mut publisher).await,
            ServerFrame::Ack { .. }
        ));
    }
    let mut reader = hub.client().await;
    let mut since = 0;
    let mut parts = 0;
    loop {
        let ask = ClientFrame::History {
            id: 7,
            resource: "svc/big".into(),
            since,
            limit: Some(1000),
        };
        reader.send(&ask).await.unwrap();
        let ServerFrame::History { deltas, more, .. } = next(&mut reader).await else {
            panic!("a history answer")
        };
        parts += 1;
        assert_eq!(deltas[0].seq(), since + 1, "parts follow on");
        since = deltas.last().unwrap().seq();
        if !more {
            break;
        }
    }
    assert_eq!(since, 1000);
    assert!(parts >= 4, "1000 deltas of over 1 KB in {parts} parts");
    assert_answers_ping(&mut reader).await;
}

#[actix_web::test]
async fn since_of_a_deleted_resource_gets_removed_whatever_its_seq() {
    let hub = TestHub::builder().retire_after(ms(50)).start().await;
    let mut publisher = hub.client().await;
    set_status(&mut publisher, "svc/gone", "up").await;
    assert_eq!(delete(&hub, "svc/gone").await, 2);
    for round in ["actor alive", "actor retired"] {
        for seq in [1, 2, 7] {
            let mut client = hub.client().await;
            client
                .subscribe("svc/*", since(&[("svc/gone", seq)]))
                .await
                .unwrap();
            let frame = next(&mut client).await;
            assert!(
                matches!(&frame, ServerFrame::Removed(r) if r.resource == "svc/gone" && r.seq == 2),
                "{round}, since {seq}: {frame:?}"
            );
        }
        actix_web::rt::time::sleep(ms(300)).await;
    }
    // An id the hub never held is gone too.
    let mut client = hub.client().await;
    client
        .subscribe("svc/*", since(&[("svc/never", 4)]))
        .await
        .unwrap();
    assert!(
        matches!(next(&mut client).await, ServerFrame::Removed(r) if r.resource == "svc/never")
    );
}

#[actix_web::test]
async fn a_resource_deleted_and_created_again_within_a_replay_is_removed_then_a_snapshot() {
    let hub = TestHub::start().await;
    let mut publisher = hub.client().await;
    set_status(&mut publisher, "svc/phoenix", "up").await; // 1
    set_status(&mut publisher, "svc/phoenix", "down").await; // 2
    delete(&hub, "svc/phoenix").await; // 3
    set_status(&mut publisher, "svc/phoenix", "degraded").await; // 4: created again
    set_status(&mut publisher, "svc/phoenix", "up").await; // 5
    let mut client = hub.client().await;
    client
        .subscribe("svc/*", since(&[("svc/phoenix", 1)]))
        .await
        .unwrap();
    let seen = frames_until_quiet(&mut client, 4).await;
    let shape: Vec<String> = seen
        .iter()
        .map(|frame| match frame {
            ServerFrame::Delta(d) => format!("delta {}", d.seq),
            ServerFrame::Removed(r) => format!("removed {}", r.seq),
            ServerFrame::Snapshot(s) => {
                format!("snapshot {} {} reset={}", s.seq, s.status, s.reset)
            }
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        shape,
        [
            "delta 2",
            "removed 3",
            "snapshot 4 degraded reset=false",
            "delta 5"
        ]
    );
}

#[actix_web::test]
async fn deleted_resources_leave_the_registry_and_are_not_loaded_again_at_start() {
    let hub = TestHub::builder().retire_after(ms(50)).start().await;
    let mut publisher = hub.client().await;
    for n in 0..10 {
        set_status(&mut publisher, &format!("job/{n}"), "up").await;
    }
    for n in 0..10 {
        delete(&hub, &format!("job/{n}")).await;
    }
    let mut waited = 0;
    while hub.registry().registry_len() > 0 && waited < 100 {
        actix_web::rt::time::sleep(ms(50)).await;
        waited += 1;
    }
    assert_eq!(hub.registry().registry_len(), 0);
    drop(publisher);
    let dir = hub.stop().await;
    let hub = TestHub::builder().start_in(dir).await;
    assert_eq!(hub.registry().registry_len(), 0);
    // Their seqs live on in the store: a publish continues it, a since learns of it.
    let mut client = hub.client().await;
    assert_eq!(set_status(&mut client, "job/3", "up").await, 3);
    client
        .subscribe("job/*", since(&[("job/4", 1)]))
        .await
        .unwrap();
    let seen = frames_until_quiet(&mut client, 2).await;
    assert!(
        seen.iter()
            .any(|f| matches!(f, ServerFrame::Removed(r) if r.resource == "job/4" && r.seq == 2)),
        "{seen:?}"
    );
}

#[actix_web::test]
async fn sub_of_a_held_pattern_changes_nothing_and_overlapping_patterns_send_a_resource_once() {
    let hub = TestHub::start().await;
    let mut publisher = hub.client().await;
    set_status(&mut publisher, "svc/api", "up").await;
    let mut client = hub.client().await;
    assert_eq!(client.subscribe("svc/*", None).await.unwrap(), 1);
    assert!(matches!(next(&mut client).await, ServerFrame::Snapshot(_)));
    assert_eq!(client.subscribe("svc/*", None).await.unwrap(), 1);
    assert_eq!(
        client
            .subscribe("svc/**", since(&[("svc/api", 0)]))
            .await
            .unwrap(),
        1
    );
    assert_quiet(&mut client, ms(300)).await;
    // One delta per change, whatever the number of patterns that match.
    set_status(&mut publisher, "svc/api", "down").await;
    assert!(matches!(next(&mut client).await, ServerFrame::Delta(d) if d.seq == 2));
    assert_quiet(&mut client, ms(300)).await;
}

#[actix_web::test]
async fn unsub_of_a_pattern_never_held_is_answered_and_touches_no_resource() {
    let hub = TestHub::start().await;
    let mut publisher = hub.client().await;
    for n in 0..200 {
        set_status(&mut publisher, &format!("svc/r{n}"), "up").await;
    }
    let mut client = hub.client().await;
    for n in 0..300 {
        client
            .send(&ClientFrame::Unsub {
                id: n,
                pattern: "**".into(),
            })
            .await
            .unwrap();
    }
    for n in 0..300 {
        assert_eq!(
            next(&mut client).await,
            ServerFrame::Ok { id: n, count: None }
        );
    }
}

#[actix_web::test]
async fn since_comes_in_parts_with_more_and_the_last_part_starts_the_subscription() {
    let hub = TestHub::start().await;
    let mut publisher = hub.client().await;
    for n in 0..6 {
        set_status(&mut publisher, &format!("svc/r{n}"), "up").await;
        set_status(&mut publisher, &format!("svc/r{n}"), "down").await;
    }
    let mut client = hub.client().await;
    let part = |first: usize| {
        since(&[
            (&format!("svc/r{first}"), 1),
            (&format!("svc/r{}", first + 1), 2),
        ])
    };
    client.send(&sub(1, "svc/*", part(0), true)).await.unwrap();
    client.send(&sub(2, "svc/*", part(2), true)).await.unwrap();
    client.send(&sub(3, "svc/*", part(4), false)).await.unwrap();
    assert_eq!(
        next(&mut client).await,
        ServerFrame::Ok { id: 1, count: None }
    );
    assert_eq!(
        next(&mut client).await,
        ServerFrame::Ok { id: 2, count: None }
    );
    assert_eq!(
        next(&mut client).await,
        ServerFrame::Ok {
            id: 3,
            count: Some(6)
        }
    );
    // Ids at seq 1 get their one missed delta; ids at seq 2 are up to date.
    let seen = frames_until_quiet(&mut client, 3).await;
    let mut resumed: Vec<_> = seen
        .iter()
        .map(|frame| match frame {
            ServerFrame::Delta(d) => (d.resource.clone(), d.seq),
            other => panic!("{other:?}"),
        })
        .collect();
    resumed.sort();
    assert_eq!(
        resumed,
        [
            ("svc/r0".into(), 2),
            ("svc/r2".into(), 2),
            ("svc/r4".into(), 2)
        ]
    );
}

#[actix_web::test]
async fn since_past_100000_ids_is_refused_too_large_and_its_parts_dropped() {
    let hub = TestHub::start().await;
    let mut client = hub.client().await;
    let mut sent = 0usize;
    let mut frame_id = 0;
    let mut refused = None;
    while sent <= 100_000 {
        let part: BTreeMap<String, u64> = (sent..sent + 4000)
            .map(|n| (format!("x/{n:06}"), 1))
            .collect();
        sent += part.len();
        frame_id += 1;
        client
            .send(&sub(frame_id, "x/*", Some(part), true))
            .await
            .unwrap();
    }
    for _ in 0..frame_id {
        if let ServerFrame::Error {
            id, code, message, ..
        } = next(&mut client).await
        {
            refused = Some((id, code, message));
        }
    }
    let (id, code, message) = refused.expect("one part refused");
    assert_eq!((id, code), (Some(frame_id), ErrorCode::TooLarge));
    assert_eq!(
        message,
        "`since` holds more than 100000 ids; the pending parts of `x/*` were dropped"
    );
    // The pattern starts afresh: its last part alone counts.
    client
        .send(&sub(99, "x/*", since(&[("x/000001", 1)]), false))
        .await
        .unwrap();
    assert_eq!(
        next(&mut client).await,
        ServerFrame::Ok {
            id: 99,
            count: Some(0)
        }
    );
    assert!(matches!(next(&mut client).await, ServerFrame::Removed(r) if r.resource == "x/000001"));
    assert_quiet(&mut client, ms(300)).await;
}

#[actix_web::test]
async fn since_under_another_epoch_is_not_trusted() {
    let hub = TestHub::start().await;
    let mut publisher = hub.client().await;
    set_status(&mut publisher, "svc/api", "up").await;
    let mut client = Client::connect(&hub.url(), fillstack_protocol::Codec::MsgPack)
        .await
        .unwrap();
    let ServerFrame::Welcome { epoch, .. } = client.hello(None).await.unwrap() else {
        panic!("welcome")
    };
    assert!(epoch.starts_with("e-"), "{epoch}");
    // Under the hub's own epoch, seq 1 is up to date.
    let frame = ClientFrame::Sub {
        id: 1,
        pattern: "svc/api".into(),
        since: since(&[("svc/api", 1)]),
        epoch: Some(epoch.clone()),
        more: false,
    };
    client.send(&frame).await.unwrap();
    assert!(matches!(next(&mut client).await, ServerFrame::Ok { .. }));
    assert_quiet(&mut client, ms(300)).await;
    // Under another epoch, the same seq gets a reset snapshot.
    let mut other = hub.client().await;
    let frame = ClientFrame::Sub {
        id: 1,
        pattern: "svc/api".into(),
        since: since(&[("svc/api", 1)]),
        epoch: Some("e-0000000000000000".into()),
        more: false,
    };
    other.send(&frame).await.unwrap();
    assert!(matches!(next(&mut other).await, ServerFrame::Ok { .. }));
    let ServerFrame::Snapshot(snapshot) = next(&mut other).await else {
        panic!("a reset snapshot")
    };
    assert!(snapshot.reset);
    // The epoch is the store's: the same after a restart on the same data dir.
    drop((client, other, publisher));
    let dir = hub.stop().await;
    let hub = TestHub::builder().start_in(dir).await;
    let mut client = Client::connect(&hub.url(), fillstack_protocol::Codec::MsgPack)
        .await
        .unwrap();
    let ServerFrame::Welcome { epoch: again, .. } = client.hello(None).await.unwrap() else {
        panic!("welcome")
    };
    assert_eq!(again, epoch);
}

#[actix_web::test]
async fn a_refreshing_hello_may_not_narrow_the_scope_under_live_subscriptions() {
    let hub = TestHub::builder().auth().start().await;
    let wide = token(&["viewer"], Some(&["svc/**"]), 3600);
    let narrow = token(&["viewer"], Some(&["svc/api/**"]), 3600);
    let mut client = hub.client_with(&wide).await;
    client.subscribe("svc/**", None).await.unwrap();
    let refresh = ClientFrame::Hello {
        id: 5,
        token: Some(narrow),
        client: None,
    };
    client.send(&refresh).await.unwrap();
    let ServerFrame::Error {
        id, code, message, ..
    } = next(&mut client).await
    else {
        panic!("refused")
    };
    assert_eq!(
        (id, code, message.as_str()),
        (
            Some(5),
            ErrorCode::Forbidden,
            "the new token's scope does not cover the live subscription `svc/**`; unsubscribe first"
        )
    );
    // Nothing changed: the wide token still holds.
    client.subscribe("svc/db/*", None).await.unwrap();
}

#[actix_web::test]
async fn a_ttl_runs_out_on_the_hubs_clock_without_sleeping() {
    let clock = fillstack::clock::Clock::manual(1_000_000);
    let hub = TestHub::builder().clock(clock.clone()).start().await;
    let mut publisher = hub.client().await;
    let ttl = ClientFrame::Pub(fillstack_protocol::PublishFrame {
        id: 1,
        resource: "agent/7".into(),
        status: Some("up".into()),
        ttl_ms: Some(60_000),
        ..Default::default()
    });
    assert_eq!(publisher.publish_frame(ttl).await.unwrap(), 1);
    let mut watcher = hub.client().await;
    watcher.subscribe("agent/*", None).await.unwrap();
    assert!(matches!(next(&mut watcher).await, ServerFrame::Snapshot(_)));
    clock.advance(secs(59));
    hub.registry().check_ttls();
    assert_quiet(&mut watcher, ms(200)).await;
    clock.advance(secs(2));
    hub.registry().check_ttls();
    let ServerFrame::Delta(stale) = next(&mut watcher).await else {
        panic!("the stale delta")
    };
    assert_eq!(
        (stale.seq, stale.status, stale.at),
        (2, Some(Status::Stale), 1_061_000)
    );
}

#[actix_web::test]
async fn history_entries_of_a_deleted_resource_end_with_removed() {
    let hub = TestHub::start().await;
    let mut publisher = hub.client().await;
    set_status(&mut publisher, "svc/h", "up").await;
    delete(&hub, "svc/h").await;
    let mut reader = hub.client().await;
    let ask = ClientFrame::History {
        id: 3,
        resource: "svc/h".into(),
        since: 0,
        limit: None,
    };
    reader.send(&ask).await.unwrap();
    let ServerFrame::History { deltas, more, .. } = next(&mut reader).await else {
        panic!("history")
    };
    assert!(!more);
    assert!(matches!(deltas.last(), Some(HistoryEntry::Removed(r)) if r.seq == 2));
}
