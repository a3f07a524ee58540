//! TTL: silence past `ttl_ms` turns a resource `stale`, pushed like any change.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use fillstack_protocol::{ClientFrame, PublishFrame, ServerFrame, Status};
use support::*;

#[actix_web::test]
async fn a_silent_resource_turns_stale_with_a_new_seq_pushed_to_subscribers() {
    let hub = TestHub::start().await;
    let mut watcher = hub.client().await;
    watcher.subscribe("probe/*", None).await.unwrap();
    let mut agent = hub.client().await;
    let id = agent.next_id();
    let publish = PublishFrame {
        id,
        resource: "probe/db".into(),
        status: Some("up".into()),
        ttl_ms: Some(300),
        ..PublishFrame::default()
    };
    assert_eq!(
        agent
            .publish_frame(ClientFrame::Pub(publish))
            .await
            .unwrap(),
        1
    );
    let ServerFrame::Snapshot(created) = next(&mut watcher).await else {
        panic!()
    };
    assert_eq!(created.ttl_ms, Some(300));
    let ServerFrame::Delta(stale) = next(&mut watcher).await else {
        panic!("the stale delta")
    };
    assert_eq!((stale.seq, stale.status), (2, Some(Status::Stale)));
    // A publish revives it, and a later silence makes it stale again.
    set_status(&mut agent, "probe/db", "up").await;
    let ServerFrame::Delta(revived) = next(&mut watcher).await else {
        panic!()
    };
    assert_eq!(revived.status, Some(Status::Up));
    let ServerFrame::Delta(again) = next(&mut watcher).await else {
        panic!()
    };
    assert_eq!((again.seq, again.status), (4, Some(Status::Stale)));
}

#[actix_web::test]
async fn a_ttl_survives_a_restart_and_still_expires() {
    let hub = TestHub::start().await;
    let mut agent = hub.client().await;
    let id = agent.next_id();
    let publish = PublishFrame {
        id,
        resource: "probe/q".into(),
        status: Some("up".into()),
        ttl_ms: Some(400),
        ..PublishFrame::default()
    };
    agent
        .publish_frame(ClientFrame::Pub(publish))
        .await
        .unwrap();
    drop(agent);
    let dir = hub.stop().await;
    let hub = TestHub::builder().start_in(dir).await;
    let mut watcher = hub.client().await;
    watcher.subscribe("probe/q", None).await.unwrap();
    let mut statuses = Vec::new();
    while statuses.last() != Some(&Status::Stale) {
        match next(&mut watcher).await {
            ServerFrame::Snapshot(snapshot) => statuses.push(snapshot.status),
            ServerFrame::Delta(delta) => statuses.extend(delta.status),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(statuses.last(), Some(&Status::Stale));
}
