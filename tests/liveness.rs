//! Liveness: the hub pings, and a peer that answers nothing for two heartbeats is closed.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use fillstack_protocol::{ClientFrame, Codec, ServerFrame};
use support::*;

#[actix_web::test]
async fn a_peer_that_answers_no_ping_for_two_heartbeats_is_closed_4010() {
    let hub = TestHub::builder().heartbeat(ms(150)).start().await;
    let mut silent = RawSocket::connect(hub.addr()).await;
    silent
        .send(&Codec::MsgPack.encode(&ClientFrame::Hello {
            id: 1,
            token: None,
            client: None,
        }))
        .await;
    assert!(matches!(
        silent.next_frame(secs(5)).await,
        Some(ServerFrame::Welcome {
            heartbeat_ms: 150,
            ..
        })
    ));
    // It never answers the hub's pings, so within a few heartbeats the hub gives up
    // with the code that says so.
    assert_eq!(silent.read_until_close(secs(5)).await, Some(4010));
}

#[actix_web::test]
async fn a_peer_that_answers_pings_stays_connected() {
    let hub = TestHub::builder().heartbeat(ms(100)).start().await;
    let mut client = hub.client().await;
    // The client answers pings while it reads; after many heartbeats it still works.
    assert_quiet(&mut client, ms(700)).await;
    assert_answers_ping(&mut client).await;
}
