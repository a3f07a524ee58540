//! Metrics move as the hub works. Metrics are per process: this file holds one
//! test so no other hub in the process moves them meanwhile.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use std::collections::BTreeMap;

use fillstack_protocol::{ClientFrame, ServerFrame};
use support::*;

/// `name{labels} value` lines of a scrape, by name with labels.
async fn scrape(hub: &TestHub) -> BTreeMap<String, f64> {
    let mut response = awc::Client::new()
        .get(hub.http("/metrics"))
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = String::from_utf8(response.body().limit(1 << 20).await.unwrap().to_vec()).unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            line.rsplit_once(' ')
                .map(|(name, value)| (name.to_owned(), value.parse().unwrap()))
        })
        .collect()
}

fn moved(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, name: &str) -> f64 {
    after.get(name).copied().unwrap_or(0.0) - before.get(name).copied().unwrap_or(0.0)
}

#[actix_web::test]
async fn metrics_move_with_sessions_publishes_deliveries_rejections_and_closes() {
    let hub = TestHub::builder().outbox(1024, 64 << 20).start().await;
    let before = scrape(&hub).await;
    let mut watcher = hub.json_client().await;
    watcher.subscribe("svc/*", None).await.unwrap();
    let mut publisher = hub.client().await;
    for n in 0..20 {
        publisher
            .publish(
                "svc/m",
                Some(if n % 2 == 0 { "up" } else { "down" }),
                fields(&[]),
            )
            .await
            .unwrap();
    }
    set_status(&mut publisher, "svc/m", "down").await;
    let id = publisher.next_id();
    publisher
        .request(
            &ClientFrame::Get {
                id,
                resource: "svc/none".into(),
            },
            secs(5),
        )
        .await
        .unwrap();
    let mut seen = 0;
    while seen < 20 {
        match next(&mut watcher).await {
            ServerFrame::Snapshot(s) => seen = s.seq,
            ServerFrame::Delta(d) => seen = d.seq,
            _ => {}
        }
    }
    let during = scrape(&hub).await;
    assert_eq!(
        moved(&before, &during, r#"fillstack_sessions{codec="json"}"#),
        1.0
    );
    assert_eq!(
        moved(&before, &during, r#"fillstack_sessions{codec="msgpack"}"#),
        1.0
    );
    assert_eq!(moved(&before, &during, "fillstack_subscriptions"), 1.0);
    assert_eq!(
        moved(
            &before,
            &during,
            r#"fillstack_publishes_total{outcome="changed"}"#
        ),
        20.0
    );
    assert_eq!(
        moved(
            &before,
            &during,
            r#"fillstack_publishes_total{outcome="unchanged"}"#
        ),
        1.0
    );
    assert_eq!(
        moved(
            &before,
            &during,
            r#"fillstack_rejections_total{code="not_found"}"#
        ),
        1.0
    );
    assert_eq!(
        moved(&before, &during, r#"fillstack_resources{status="down"}"#),
        1.0
    );
    assert!(moved(&before, &during, "fillstack_deliveries_total") >= 20.0);
    assert!(moved(&before, &during, "fillstack_delivered_bytes_total") > 0.0);
    assert!(moved(&before, &during, "fillstack_publish_ack_seconds_count") >= 21.0);
    assert!(moved(&before, &during, "fillstack_store_commit_seconds_count") >= 1.0);
    assert!(during.contains_key("process_resident_memory_bytes"));
    drop(watcher);
    let mut closing = hub.client().await;
    closing
        .send_raw(fillstack_protocol::Codec::MsgPack.encode(&vec![1]))
        .await
        .unwrap();
    assert_eq!(
        closing.closed_within(secs(5)).await.unwrap().code,
        Some(1007)
    );
    let after = scrape(&hub).await;
    assert_eq!(
        moved(
            &before,
            &after,
            r#"fillstack_sessions_closed_total{code="1007"}"#
        ),
        1.0
    );
    assert!(
        after.keys().all(|name| !name.contains("svc/m")),
        "no resource id in any label"
    );
}
