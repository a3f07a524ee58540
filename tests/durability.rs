//! Durability: every acked change survives `kill -9` of the real binary.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use std::collections::BTreeMap;

use fillstack_loadtest::Client;
use fillstack_protocol::{ClientFrame, Codec, PublishFrame, Scalar, ServerFrame};
use support::*;

#[actix_web::test]
async fn every_acked_change_survives_kill_9_mid_stream() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let hub = HubProcess::start(&data, &[]);
    let mut client = Client::connect_hello(&hub.url(), Codec::MsgPack)
        .await
        .unwrap();
    // Publish far ahead of the acks, then kill the hub while changes are in flight.
    let total = 3000u64;
    let resource_of = |n: u64| format!("svc/s{}", n % 20);
    for n in 1..=total {
        let frame = ClientFrame::Pub(PublishFrame {
            id: n,
            resource: resource_of(n),
            fields: Some(fields(&[("n", Scalar::Int(i64::try_from(n).unwrap()))])),
            ..PublishFrame::default()
        });
        client.send(&frame).await.unwrap();
    }
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    let mut count = 0;
    while count < 1000 {
        if let ServerFrame::Ack { id, seq } = next(&mut client).await {
            let best = acked.entry(resource_of(id)).or_default();
            *best = (*best).max(seq);
            count += 1;
        }
    }
    hub.kill9();
    drop(client);

    let hub = HubProcess::start(&data, &[]);
    let mut reader = Client::connect_hello(&hub.url(), Codec::MsgPack)
        .await
        .unwrap();
    for (resource, seq) in &acked {
        let id = reader.next_id();
        let ServerFrame::Snapshot(snapshot) = reader
            .request(
                &ClientFrame::Get {
                    id,
                    resource: resource.clone(),
                },
                secs(5),
            )
            .await
            .unwrap()
        else {
            panic!("{resource} was acked but is gone")
        };
        assert!(
            snapshot.seq >= *seq,
            "{resource}: acked seq {seq}, found {}",
            snapshot.seq
        );
    }
    // And the seq goes on from where the store left it, never reusing one.
    let (resource, seq) = acked.iter().next().unwrap();
    let after = set_status(&mut reader, resource, "up").await;
    assert!(after > *seq);
}
