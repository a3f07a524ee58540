//! Hardening, tried as an attacker would: bad tokens that must be rate limited
//! before their signature is checked, tokens whose claims would overflow a timer
//! or widen a scope, quotas on what one subject (or everyone) may hold, and a
//! `sub **` whose reach is charged per resource.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use std::time::{Duration, Instant};

use fillstack::auth::Claims;
use fillstack::limits::{LimitSettings, QuotaSettings};
use fillstack_loadtest::{Client, ClientError, Received};
use fillstack_protocol::{ClientFrame, Codec, PublishFrame, ServerFrame};
use serde_json::{Value, json};
use support::*;

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A publisher token for `sub`.
fn token_of(sub: &str) -> String {
    let claims = Claims {
        sub: sub.into(),
        roles: vec!["publisher".into()],
        res: None,
        exp: now_s() + 600,
        nbf: None,
        iat: None,
        iss: None,
        aud: None,
    };
    fillstack::auth::token::mint(SECRET, &claims).unwrap()
}

/// A token signed with the test secret whose claims are exactly `claims`.
fn raw_token(claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

fn http() -> awc::Client {
    awc::Client::builder().timeout(secs(30)).finish()
}

/// POSTs `{"status":"up"}` to `id` with `bearer` (if any): status and body.
async fn post(hub: &TestHub, id: &str, bearer: Option<&str>) -> (u16, Value) {
    let mut request = http()
        .post(hub.http(&format!("/api/v1/resources/{id}")))
        .insert_header(("content-type", "application/json"));
    if let Some(bearer) = bearer {
        request = request.insert_header(("authorization", format!("Bearer {bearer}")));
    }
    let mut response = request.send_body(r#"{"status":"up"}"#).await.unwrap();
    let body = response.body().await.unwrap();
    (
        response.status().as_u16(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

async fn delete(hub: &TestHub, id: &str) -> u16 {
    http()
        .delete(hub.http(&format!("/api/v1/resources/{id}")))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn error_of(body: &Value) -> (&str, &str) {
    (
        body["error"]["code"].as_str().unwrap_or(""),
        body["error"]["message"].as_str().unwrap_or(""),
    )
}

#[actix_web::test]
async fn bad_tokens_meet_the_address_budget_before_any_signature_is_checked() {
    let hub = TestHub::builder()
        .auth()
        .limits(LimitSettings {
            rest_per_ip: 5,
            ..LimitSettings::default()
        })
        .start()
        .await;
    let mut statuses = Vec::new();
    for attempt in 0..12 {
        let bearer = match attempt % 3 {
            0 => None,
            1 => Some("not.a.token".to_owned()),
            _ => Some(token_of("x").replace('.', ".x")),
        };
        statuses.push(post(&hub, "svc/a", bearer.as_deref()).await.0);
    }
    assert!(
        statuses[..5].iter().all(|status| *status == 401),
        "{statuses:?}"
    );
    assert!(statuses[5..].contains(&429), "{statuses:?}");
    hub.stop().await;
}

#[actix_web::test]
async fn tokens_that_would_overflow_a_timer_or_widen_a_scope_are_refused_at_hello() {
    let hub = TestHub::builder().auth().start().await;
    let base = || json!({"sub": "x", "roles": ["viewer"], "exp": now_s() + 600});
    let mut far = base();
    far["exp"] = json!(u64::MAX - 1);
    let mut null_res = base();
    null_res["res"] = Value::Null;
    for (what, claims, expected) in [
        ("exp near 2^64", far, "past the year 9999"),
        ("res: null", null_res, "res a list"),
    ] {
        let mut client = Client::connect(&hub.url(), Codec::Json).await.unwrap();
        let refused = client.hello(Some(&raw_token(claims))).await.unwrap_err();
        let ClientError::Unexpected(answer) = refused else {
            panic!("{what}: {refused:?}");
        };
        assert!(answer.contains(expected), "{what}: {answer}");
        assert_eq!(
            client.closed_within(secs(5)).await.unwrap().code,
            Some(4001),
            "{what}"
        );
    }
    // `crit` over REST: refused, and the refusal names no part of the token.
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.crit = Some(vec!["exp-override".into()]);
    let critical = jsonwebtoken::encode(
        &header,
        &base(),
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    let (status, body) = post(&hub, "svc/a", Some(&critical)).await;
    let (code, message) = error_of(&body);
    assert_eq!((status, code), (401, "unauthorized"), "{body}");
    assert!(
        message.contains("crit") && !message.contains("exp-override"),
        "{message}"
    );
    hub.stop().await;
}

#[actix_web::test]
async fn the_hub_total_refuses_a_creation_past_it_and_deletes_make_room() {
    let hub = TestHub::builder()
        .quotas(QuotaSettings {
            resources_total: 5,
            ..QuotaSettings::default()
        })
        .start()
        .await;
    for n in 0..5 {
        assert_eq!(post(&hub, &format!("svc/{n}"), None).await.0, 200);
    }
    let (status, body) = post(&hub, "svc/5", None).await;
    let (code, message) = error_of(&body);
    assert_eq!((status, code), (413, "too_large"), "{body}");
    assert!(message.contains("limits.resources_total"), "{message}");
    // Existing resources still take changes at the limit.
    assert_eq!(post(&hub, "svc/0", None).await.0, 200);
    // Over the socket too, as the publish's error.
    let mut client = hub.client().await;
    let id = client.next_id();
    let refused = client
        .publish_frame(ClientFrame::Pub(PublishFrame {
            id,
            resource: "svc/socket".into(),
            status: Some("up".into()),
            ..PublishFrame::default()
        }))
        .await
        .unwrap_err();
    assert!(
        format!("{refused:?}").contains("limits.resources_total"),
        "{refused:?}"
    );
    assert_eq!(delete(&hub, "svc/0").await, 204);
    assert_eq!(post(&hub, "svc/5", None).await.0, 200);
    hub.stop().await;
}

#[actix_web::test]
async fn a_subject_may_hold_its_share_of_resources_even_across_a_restart() {
    let quotas = QuotaSettings {
        resources_per_subject: 3,
        ..QuotaSettings::default()
    };
    let hub = TestHub::builder().auth().quotas(quotas).start().await;
    let (greedy, other) = (token_of("greedy"), token_of("other"));
    for n in 0..3 {
        assert_eq!(post(&hub, &format!("svc/g{n}"), Some(&greedy)).await.0, 200);
    }
    let (status, body) = post(&hub, "svc/g3", Some(&greedy)).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        error_of(&body).1.contains("limits.resources_per_subject"),
        "{body}"
    );
    assert_eq!(
        post(&hub, "svc/o0", Some(&other)).await.0,
        200,
        "another subject has its own"
    );
    assert_eq!(
        post(&hub, "svc/g0", Some(&greedy)).await.0,
        200,
        "writing its own is fine"
    );
    // The creator is stored with the resource: a restart counts it again.
    let dir = hub.stop().await;
    let hub = TestHub::builder().auth().quotas(quotas).start_in(dir).await;
    let (status, body) = post(&hub, "svc/g3", Some(&greedy)).await;
    assert_eq!(status, 413, "after a restart: {body}");
    assert_eq!(post(&hub, "svc/o1", Some(&other)).await.0, 200);
    hub.stop().await;
}

#[actix_web::test]
async fn a_subject_past_its_sessions_is_refused_at_hello_and_a_close_makes_room() {
    let hub = TestHub::builder()
        .auth()
        .quotas(QuotaSettings {
            sessions_per_subject: 2,
            ..QuotaSettings::default()
        })
        .start()
        .await;
    let token = token_of("crowd");
    let first = hub.client_with(&token).await;
    let _second = hub.client_with(&token).await;
    let mut third = Client::connect(&hub.url(), Codec::Json).await.unwrap();
    let ClientError::Unexpected(answer) = third.hello(Some(&token)).await.unwrap_err() else {
        panic!("a third session of the subject is refused");
    };
    assert!(answer.contains("limits.sessions_per_subject"), "{answer}");
    assert_eq!(third.closed_within(secs(5)).await.unwrap().code, Some(1008));
    let _elsewhere = hub.client_with(&token_of("someone-else")).await;
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = Client::connect(&hub.url(), Codec::Json).await.unwrap();
        match again.hello(Some(&token)).await {
            Ok(_) => break,
            Err(error) if Instant::now() < deadline => {
                let _ = error;
                actix_web::rt::time::sleep(ms(50)).await;
            }
            Err(error) => panic!("the closed session's place was not given back: {error:?}"),
        }
    }
    hub.stop().await;
}

#[actix_web::test]
async fn a_sub_reaches_resources_no_faster_than_its_budget_and_still_reaches_them_all() {
    const RESOURCES: usize = 300;
    let hub = TestHub::builder()
        .limits(LimitSettings {
            sub_resources_per_session: 100,
            // The setup's 300 publishes, acked one by one, may come faster than the
            // default 200/s after its burst of 200: only the `sub` budget is tested.
            publishes_per_session: 1000,
            frames_per_session: 1000,
            ..LimitSettings::default()
        })
        .start()
        .await;
    let mut publisher = hub.client().await;
    for n in 0..RESOURCES {
        publisher
            .publish(&format!("svc/{n:03}"), Some("up"), fields(&[]))
            .await
            .unwrap();
    }
    let mut watcher = hub.client().await;
    let started = Instant::now();
    let subscribed = watcher.subscribe("svc/**", None).await.unwrap();
    assert_eq!(subscribed, RESOURCES as u64);
    let mut snapshots = 0;
    let mut by_half_second = None;
    while snapshots < RESOURCES {
        match watcher.recv_within(secs(10)).await.unwrap() {
            Received::Frame(ServerFrame::Snapshot(_)) => snapshots += 1,
            Received::Frame(_) => {}
            Received::Closed(closed) => panic!("closed: {closed:?}"),
        }
        if by_half_second.is_none() && started.elapsed() >= Duration::from_millis(500) {
            by_half_second = Some(snapshots);
        }
    }
    // A burst of 100 and 100/s: at most about 150 resources in the first half second.
    if let Some(early) = by_half_second {
        assert!(early <= 160, "{early} snapshots within 0.5 s at 100/s");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "300 resources at 100/s after a burst of 100 take two seconds, not {:?}",
        started.elapsed()
    );
    hub.stop().await;
}

#[actix_web::test]
async fn a_rest_list_with_a_sparse_filter_pages_on_with_a_cursor_and_finds_every_match() {
    let hub = TestHub::start().await;
    let mut publisher = hub.client().await;
    for n in 0..120 {
        let status = if n % 40 == 7 { "down" } else { "up" };
        publisher
            .publish(&format!("svc/{n:03}"), Some(status), fields(&[]))
            .await
            .unwrap();
    }
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut url = hub.http("/api/v1/resources?status=down&limit=2&pattern=svc/**");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let mut response = http().get(url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let page: Value = serde_json::from_slice(&response.body().await.unwrap()).unwrap();
        for resource in page["resources"].as_array().unwrap() {
            found.push(resource["resource"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(found, ["svc/007", "svc/047", "svc/087"]);
    hub.stop().await;
}

/// The release of these protections as users run them: the real binary, its
/// `[limits]` from the file and its secret from a file, over raw sockets.
#[actix_web::test]
async fn the_binary_limits_bad_tokens_per_address_and_takes_quotas_from_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    let config = dir.path().join("hub.toml");
    std::fs::write(
        &config,
        "[limits]\nrest_per_ip = 4\nresources_per_subject = 1\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let hub = HubProcess::start(
        &data,
        &[
            "--jwt-secret-file",
            secret.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let post = |bearer: String| {
        let url = format!(
            "http://{}/api/v1/resources/svc/{}",
            hub.addr,
            bearer.len() % 7
        );
        async move {
            let response = http()
                .post(url)
                .insert_header(("content-type", "application/json"))
                .insert_header(("authorization", format!("Bearer {bearer}")))
                .send_body(r#"{"status":"up"}"#)
                .await
                .unwrap();
            response.status().as_u16()
        }
    };
    let mut statuses = Vec::new();
    for n in 0..8 {
        statuses.push(post(format!("bad.token.{n}")).await);
    }
    assert_eq!(statuses[..4], [401; 4], "{statuses:?}");
    assert!(
        statuses[4..].iter().all(|status| *status == 429),
        "{statuses:?}"
    );
    actix_web::rt::time::sleep(secs(2)).await;
    let token = token_of("one-each");
    let first = http()
        .post(format!("http://{}/api/v1/resources/svc/first", hub.addr))
        .insert_header(("content-type", "application/json"))
        .insert_header(("authorization", format!("Bearer {token}")))
        .send_body(r#"{"status":"up"}"#)
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 200);
    let mut second = http()
        .post(format!("http://{}/api/v1/resources/svc/second", hub.addr))
        .insert_header(("content-type", "application/json"))
        .insert_header(("authorization", format!("Bearer {token}")))
        .send_body(r#"{"status":"up"}"#)
        .await
        .unwrap();
    assert_eq!(second.status().as_u16(), 413);
    let body = String::from_utf8_lossy(&second.body().await.unwrap()).into_owned();
    assert!(body.contains("limits.resources_per_subject"), "{body}");
    hub.kill9();
}
