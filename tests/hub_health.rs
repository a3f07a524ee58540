//! The hub's own health arrives as resources under hub/**, and only the hub may
//! write there.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use fillstack_protocol::{ClientFrame, ErrorCode, ServerFrame, Status};
use support::*;

#[actix_web::test]
async fn the_hubs_own_health_arrives_as_resources_under_hub_and_only_the_hub_writes_there() {
    let hub = TestHub::builder().health_every(ms(200)).start().await;
    let mut watcher = hub.client().await;
    watcher.subscribe("hub/**", None).await.unwrap();
    let mut names = std::collections::BTreeSet::new();
    while names.len() < 3 {
        if let ServerFrame::Snapshot(snapshot) = next(&mut watcher).await {
            assert_eq!(snapshot.status, Status::Up, "{snapshot:?}");
            assert_eq!(snapshot.ttl_ms, Some(600));
            names.insert(snapshot.resource.rsplit('/').next().unwrap().to_owned());
        }
    }
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["publish", "sessions", "store"]
    );
    let ServerFrame::Delta(update) = next(&mut watcher).await else {
        panic!("the next report")
    };
    assert!(update.resource.starts_with("hub/"));
    let mut client = hub.client().await;
    let id = client.next_id();
    let frame = ClientFrame::Pub(fillstack_protocol::PublishFrame {
        id,
        resource: update.resource.clone(),
        ..Default::default()
    });
    let ServerFrame::Error { code, message, .. } = client.request(&frame, secs(5)).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(code, ErrorCode::Forbidden);
    assert!(
        message.ends_with("is under hub/, which only the hub itself writes"),
        "{message}"
    );
}
