//! Slow consumers: conflation into reset snapshots (never a gap), and 4009 for a
//! client that stays unreadable.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use fillstack_loadtest::Client;
use fillstack_protocol::{ClientFrame, Codec, PublishFrame, Scalar, ServerFrame};
use support::*;

/// Every field changes every time, so each delta is about 14 KB.
fn big_publish(id: u64, n: u64, resource: &str) -> ClientFrame {
    let value = format!("{n:0>200}");
    let fields = (0..64)
        .map(|f| (format!("f{f}"), Some(Scalar::Str(value.clone()))))
        .collect();
    ClientFrame::Pub(PublishFrame {
        id,
        resource: resource.into(),
        fields: Some(fields),
        ..PublishFrame::default()
    })
}

/// Publishes `count` big changes, to one resource or (`spread`) each to a new one.
async fn flood(publisher: &mut Client, count: u64, spread: bool) -> u64 {
    for n in 1..=count {
        let resource = if spread {
            format!("svc/r{n}")
        } else {
            "svc/firehose".to_owned()
        };
        publisher.send(&big_publish(n, n, &resource)).await.unwrap();
    }
    let mut last = 0;
    for _ in 1..=count {
        if let ServerFrame::Ack { seq, .. } = next(publisher).await {
            last = last.max(seq);
        }
    }
    last
}

#[actix_web::test]
async fn slow_subscriber_gets_one_reset_snapshot_not_a_gap() {
    let hub = TestHub::builder()
        .outbox(64 * 1024, 64 * 1024 * 1024)
        .unread_timeout(secs(60))
        .start()
        .await;
    let mut slow = RawSocket::connect(hub.addr()).await;
    slow.send(&Codec::MsgPack.encode(&ClientFrame::Hello {
        id: 1,
        token: None,
        client: None,
    }))
    .await;
    slow.send(&Codec::MsgPack.encode(&ClientFrame::Sub {
        id: 2,
        pattern: "svc/*".into(),
        since: None,
        epoch: None,
        more: false,
    }))
    .await;
    assert!(matches!(
        slow.next_frame(secs(5)).await,
        Some(ServerFrame::Welcome { .. })
    ));
    assert!(matches!(
        slow.next_frame(secs(5)).await,
        Some(ServerFrame::Ok { .. })
    ));
    let mut publisher = hub.client().await;
    // Not reading `slow` while ~10 MB are published fills the socket buffers, then the outbox.
    let last = flood(&mut publisher, 700, false).await;
    let (mut seen, mut resets) = (0, 0);
    while seen < last {
        match slow
            .next_frame(secs(5))
            .await
            .expect("frames until the last seq")
        {
            ServerFrame::Snapshot(snapshot) => {
                assert!(
                    snapshot.seq >= seen,
                    "a snapshot never goes back: {} after {seen}",
                    snapshot.seq
                );
                resets += usize::from(snapshot.reset);
                seen = snapshot.seq;
            }
            ServerFrame::Delta(delta) => {
                assert_eq!(
                    delta.seq,
                    seen + 1,
                    "a delta right after what was seen, never a gap"
                );
                seen = delta.seq;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(resets >= 1, "the outbox conflated at least once");
}

#[actix_web::test]
async fn a_client_that_stays_unreadable_is_closed_4009() {
    let hub = TestHub::builder().unread_timeout(ms(300)).start().await;
    let mut slow = RawSocket::connect(hub.addr()).await;
    slow.send(&Codec::MsgPack.encode(&ClientFrame::Hello {
        id: 1,
        token: None,
        client: None,
    }))
    .await;
    let sub = ClientFrame::Sub {
        id: 2,
        pattern: "svc/*".into(),
        since: None,
        epoch: None,
        more: false,
    };
    slow.send(&Codec::MsgPack.encode(&sub)).await;
    let mut publisher = hub.client().await;
    // Far more than the slow side's tiny receive buffer and the hub's send buffer
    // (about 10 MB), published while the slow side reads nothing. Each change goes
    // to a new resource, so conflation cannot shrink what must be sent.
    // Then stay unread past the 300 ms bound, and read within the 5 s the hub then
    // waits for room to send its close frame.
    flood(&mut publisher, 700, true).await;
    actix_web::rt::time::sleep(secs(1)).await;
    assert_eq!(slow.read_until_close(secs(20)).await, Some(4009));
}
