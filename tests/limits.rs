//! Rate limits: every budget hit and recovered from, with the hub still serving
//! others; sustained abuse closes 4008.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use fillstack::limits::LimitSettings;
use fillstack_loadtest::{Client, ClientError};
use fillstack_protocol::{ClientFrame, Codec, ErrorCode, PublishFrame, ServerFrame};
use support::*;

fn publish(id: u64) -> ClientFrame {
    ClientFrame::Pub(PublishFrame {
        id,
        resource: "svc/noisy".into(),
        status: Some("up".into()),
        ..PublishFrame::default()
    })
}

#[actix_web::test]
async fn a_session_over_its_publish_rate_is_told_when_to_retry_and_others_are_served() {
    let hub = TestHub::builder()
        .limits(LimitSettings {
            publishes_per_session: 5,
            ..LimitSettings::default()
        })
        .start()
        .await;
    let mut noisy = hub.client().await;
    let mut quiet = hub.client().await;
    for id in 1..=6 {
        noisy.send(&publish(id)).await.unwrap();
    }
    let mut retry_after = None;
    for _ in 1..=6 {
        match next(&mut noisy).await {
            ServerFrame::Ack { .. } => {}
            ServerFrame::Error {
                id,
                code,
                message,
                retry_after_ms,
            } => {
                assert_eq!(
                    (id, code, message.as_str()),
                    (
                        Some(6),
                        ErrorCode::RateLimited,
                        "publishes of this session is over 5/s; retry later"
                    )
                );
                retry_after = retry_after_ms;
            }
            other => panic!("{other:?}"),
        }
    }
    let wait = retry_after.expect("the sixth publish is refused with retry_after_ms");
    assert!(wait > 0 && wait <= 200, "{wait}");
    assert!(
        quiet
            .publish("svc/calm", Some("up"), fields(&[]))
            .await
            .is_ok(),
        "another session has its own budget"
    );
    actix_web::rt::time::sleep(ms(wait)).await;
    assert!(
        noisy
            .publish("svc/noisy", Some("down"), fields(&[]))
            .await
            .is_ok(),
        "recovered after retry_after_ms"
    );
}

#[actix_web::test]
async fn a_session_that_keeps_going_over_its_budget_is_closed_4008() {
    let limits = LimitSettings {
        frames_per_session: 10,
        abuse_after: 20,
        ..LimitSettings::default()
    };
    let hub = TestHub::builder().limits(limits).start().await;
    let mut abuser = hub.client().await;
    for id in 1..=100 {
        if abuser.send(&ClientFrame::Ping { id }).await.is_err() {
            break;
        }
    }
    assert_eq!(
        abuser.closed_within(secs(5)).await.unwrap().code,
        Some(4008)
    );
    assert!(
        hub.client()
            .await
            .publish("svc/after", Some("up"), fields(&[]))
            .await
            .is_ok()
    );
}

#[actix_web::test]
async fn subscriptions_per_session_are_bounded() {
    let hub = TestHub::builder()
        .limits(LimitSettings {
            subscriptions_per_session: 2,
            ..LimitSettings::default()
        })
        .start()
        .await;
    let mut client = hub.client().await;
    client.subscribe("svc/*", None).await.unwrap();
    client.subscribe("host/*", None).await.unwrap();
    client.subscribe("host/*", None).await.unwrap();
    let Err(ClientError::Unexpected(answer)) = client.subscribe("job/*", None).await else {
        panic!("a third pattern is refused")
    };
    assert!(
        answer.contains("this session already holds 2 subscriptions; the limit is 2"),
        "{answer}"
    );
}

#[actix_web::test]
async fn rest_clients_get_429_with_retry_after_and_upgrades_are_limited_per_address() {
    let hub = TestHub::builder()
        .limits(LimitSettings {
            rest_per_ip: 3,
            upgrades_per_ip: 2,
            ..LimitSettings::default()
        })
        .start()
        .await;
    let http = awc::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = http.get(hub.http("/api/v1/status")).send().await.unwrap();
        statuses.push(response.status().as_u16());
        if response.status().as_u16() == 429 {
            let wait: f64 = response
                .headers()
                .get("retry-after")
                .unwrap()
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(wait >= 1.0);
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    let _first = Client::connect(&hub.url(), Codec::MsgPack).await.unwrap();
    let _second = Client::connect(&hub.url(), Codec::MsgPack).await.unwrap();
    assert!(
        matches!(
            Client::connect(&hub.url(), Codec::MsgPack).await,
            Err(ClientError::Connect { .. })
        ),
        "third upgrade within a second"
    );
    // Both budgets refill: a second later the same client is served again.
    actix_web::rt::time::sleep(secs(1)).await;
    let again = http.get(hub.http("/api/v1/status")).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 200);
    assert!(Client::connect(&hub.url(), Codec::MsgPack).await.is_ok());
}
