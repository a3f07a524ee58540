//! Resume with `since`: missed deltas, reset snapshots, and removals while away.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use fillstack_protocol::{ServerFrame, Status};
use support::*;

#[actix_web::test]
async fn a_client_that_resumes_gets_exactly_the_deltas_it_missed() {
    let hub = TestHub::start().await;
    let mut publisher = hub.client().await;
    for status in ["up", "down", "up", "degraded"] {
        publisher
            .publish("svc/r", Some(status), fields(&[]))
            .await
            .unwrap();
    }
    let mut client = hub.client().await;
    assert_eq!(
        client
            .subscribe("svc/*", since(&[("svc/r", 2)]))
            .await
            .unwrap(),
        1
    );
    for seq in [3, 4] {
        let ServerFrame::Delta(delta) = next(&mut client).await else {
            panic!("delta {seq}")
        };
        assert_eq!(delta.seq, seq);
    }
    set_status(&mut publisher, "svc/r", "up").await;
    let ServerFrame::Delta(live) = next(&mut client).await else {
        panic!("live delta")
    };
    assert_eq!(live.seq, 5);
}

#[actix_web::test]
async fn a_client_up_to_date_gets_nothing_but_live_changes() {
    let hub = TestHub::start().await;
    let mut publisher = hub.client().await;
    set_status(&mut publisher, "svc/r", "up").await;
    let mut client = hub.client().await;
    client
        .subscribe("svc/r", since(&[("svc/r", 1)]))
        .await
        .unwrap();
    assert_quiet(&mut client, ms(200)).await;
}

#[actix_web::test]
async fn trimmed_history_or_a_since_ahead_of_the_hub_gives_a_reset_snapshot() {
    let hub = TestHub::builder().history(3).start().await;
    let mut publisher = hub.client().await;
    for n in 0..10 {
        publisher
            .publish(
                "svc/r",
                Some(if n % 2 == 0 { "up" } else { "down" }),
                fields(&[]),
            )
            .await
            .unwrap();
    }
    for since_seq in [2, 99] {
        let mut client = hub.client().await;
        client
            .subscribe("svc/r", since(&[("svc/r", since_seq)]))
            .await
            .unwrap();
        let ServerFrame::Snapshot(snapshot) = next(&mut client).await else {
            panic!("a reset snapshot")
        };
        assert_eq!(
            (snapshot.seq, snapshot.reset, snapshot.status),
            (10, true, Status::Down),
            "since {since_seq}"
        );
    }
}

#[actix_web::test]
async fn a_resource_removed_while_away_is_reported_removed_and_seq_continues_after_it() {
    let hub = TestHub::start().await;
    let mut publisher = hub.client().await;
    set_status(&mut publisher, "svc/gone", "up").await;
    let actor = hub_find(&hub, "svc/gone");
    assert_eq!(
        fillstack::resource::ask(&actor, |reply| fillstack::resource::messages::Remove {
            reply
        })
        .await
        .unwrap(),
        2
    );
    let mut client = hub.client().await;
    assert_eq!(
        client
            .subscribe("svc/**", since(&[("svc/gone", 1), ("svc/never", 4)]))
            .await
            .unwrap(),
        0
    );
    let mut removed: Vec<_> = Vec::new();
    for _ in 0..2 {
        let ServerFrame::Removed(frame) = next(&mut client).await else {
            panic!("removed")
        };
        removed.push((frame.resource, frame.seq));
    }
    removed.sort();
    assert_eq!(
        removed,
        [("svc/gone".to_owned(), 2), ("svc/never".to_owned(), 4)]
    );
    assert_eq!(
        set_status(&mut publisher, "svc/gone", "up").await,
        3,
        "seq continues"
    );
    let ServerFrame::Snapshot(recreated) = next(&mut client).await else {
        panic!("recreation snapshot")
    };
    assert_eq!(recreated.seq, 3);
}

fn hub_find(hub: &TestHub, id: &str) -> actix::Addr<fillstack::resource::ResourceActor> {
    hub.registry()
        .find(&fillstack_protocol::ResourceId::parse(id).unwrap())
        .unwrap()
}
