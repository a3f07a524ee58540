//! Publishing: acks after durability, seq per change, merge rules, concurrency.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use fillstack_protocol::{ClientFrame, PublishFrame, Scalar, ServerFrame};
use support::*;

#[actix_web::test]
async fn each_change_gets_the_next_seq_and_a_no_op_gets_the_current_one() {
    let hub = TestHub::start().await;
    let mut client = hub.client().await;
    assert_eq!(set_status(&mut client, "svc/a", "up").await, 1);
    assert_eq!(set_status(&mut client, "svc/a", "down").await, 2);
    assert_eq!(
        set_status(&mut client, "svc/a", "down").await,
        2,
        "nothing changed"
    );
    assert_eq!(
        client
            .publish("svc/b", None, fields(&[("x", Scalar::Bool(true))]))
            .await
            .unwrap(),
        1
    );
}

#[actix_web::test]
async fn pipelined_publishes_each_get_their_own_seq_and_subscribers_see_every_one_in_order() {
    let hub = TestHub::start().await;
    let mut watcher = hub.client().await;
    watcher.subscribe("svc/burst", None).await.unwrap();
    let mut publisher = hub.client().await;
    for n in 1..=200 {
        let frame = ClientFrame::Pub(PublishFrame {
            id: n,
            resource: "svc/burst".into(),
            fields: Some(fields(&[("n", Scalar::Int(i64::try_from(n).unwrap()))])),
            ..PublishFrame::default()
        });
        publisher.send(&frame).await.unwrap();
    }
    // Acks answer by id; pipelined ones may arrive in any order, but each publish
    // got the seq of its place in the stream.
    let mut acks = Vec::new();
    for _ in 1..=200 {
        let ServerFrame::Ack { id, seq } = next(&mut publisher).await else {
            panic!("an ack")
        };
        acks.push((id, seq));
    }
    acks.sort_unstable();
    assert_eq!(acks, (1..=200).map(|n| (n, n)).collect::<Vec<_>>());
    let ServerFrame::Snapshot(created) = next(&mut watcher).await else {
        panic!("creation snapshot")
    };
    assert_eq!(created.seq, 1);
    for seq in 2..=200 {
        let ServerFrame::Delta(delta) = next(&mut watcher).await else {
            panic!("delta {seq}")
        };
        assert_eq!(delta.seq, seq);
    }
}

#[actix_web::test]
async fn many_sessions_publishing_to_many_resources_all_get_acks() {
    let hub = TestHub::start().await;
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(hub.client().await);
    }
    let runs = clients
        .iter_mut()
        .enumerate()
        .map(|(c, client)| async move {
            for n in 0..50 {
                let resource = format!("host/h{}", n % 10);
                let seq = client
                    .publish(
                        &resource,
                        Some("up"),
                        fields(&[("c", Scalar::Int(c as i64)), ("n", Scalar::Int(n))]),
                    )
                    .await
                    .unwrap();
                assert!(seq >= 1);
            }
        });
    futures_util::future::join_all(runs).await;
    let mut reader = hub.client().await;
    assert_eq!(reader.subscribe("host/*", None).await.unwrap(), 10);
}

#[actix_web::test]
async fn the_json_codec_carries_the_same_maps() {
    let hub = TestHub::start().await;
    let mut client = hub.json_client().await;
    let seq = client
        .publish(
            "svc/json",
            Some("up"),
            fields(&[("ratio", Scalar::Float(0.5))]),
        )
        .await
        .unwrap();
    assert_eq!(seq, 1);
    let id = client.next_id();
    let ServerFrame::Snapshot(snapshot) = client
        .request(
            &ClientFrame::Get {
                id,
                resource: "svc/json".into(),
            },
            secs(5),
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(snapshot.fields["ratio"], Scalar::Float(0.5));
}
