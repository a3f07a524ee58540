//! Auth on every door: tokens on hello and on the upgrade, roles and scopes on
//! sockets and REST, expiry mid-session, origins, and `fillstack token`.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use fillstack_loadtest::{Client, ClientError};
use fillstack_protocol::{ClientFrame, Codec, ErrorCode, ServerFrame};
use serde_json::json;
use support::*;

/// Sends the frame `frame` builds around a fresh request id; the error it gets.
async fn refused(
    client: &mut Client,
    frame: impl FnOnce(fillstack_protocol::RequestId) -> ClientFrame,
) -> (ErrorCode, String) {
    let frame = frame(client.next_id());
    match client.request(&frame, secs(5)).await.unwrap() {
        ServerFrame::Error { code, message, .. } => (code, message),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// A publish of `resource` (no change), refused: the error it gets.
async fn refused_publish(client: &mut Client, resource: &str) -> (ErrorCode, String) {
    refused(client, |id| {
        ClientFrame::Pub(fillstack_protocol::PublishFrame {
            id,
            resource: resource.into(),
            ..Default::default()
        })
    })
    .await
}

#[actix_web::test]
async fn a_hello_without_a_valid_token_is_refused_and_closed_4001() {
    let hub = TestHub::builder().auth().start().await;
    let mut anonymous = Client::connect(&hub.url(), Codec::MsgPack).await.unwrap();
    let ClientError::Unexpected(answer) = anonymous.hello(None).await.unwrap_err() else {
        panic!()
    };
    assert!(answer.contains("this hub requires a token"), "{answer}");
    assert_eq!(
        anonymous.closed_within(secs(5)).await.unwrap().code,
        Some(4001)
    );
    let mut forged = Client::connect(&hub.url(), Codec::MsgPack).await.unwrap();
    let wrong = fillstack::auth::token::mint(
        b"not-the-secret-not-the-secret-32",
        &fillstack::auth::Claims {
            sub: "x".into(),
            roles: vec!["admin".into()],
            res: None,
            exp: u64::MAX / 2,
            nbf: None,
            iat: None,
            iss: None,
            aud: None,
        },
    )
    .unwrap();
    let ClientError::Unexpected(answer) = forged.hello(Some(&wrong)).await.unwrap_err() else {
        panic!()
    };
    assert!(answer.contains("signature does not match"), "{answer}");
    assert_eq!(
        forged.closed_within(secs(5)).await.unwrap().code,
        Some(4001)
    );
}

#[actix_web::test]
async fn roles_and_scopes_limit_every_socket_operation() {
    let hub = TestHub::builder().auth().start().await;
    let mut admin = hub.client_with(&token(&["admin"], None, 3600)).await;
    set_status(&mut admin, "host/db", "up").await;
    let mut viewer = hub.client_with(&token(&["viewer"], None, 3600)).await;
    assert_eq!(viewer.subscribe("**", None).await.unwrap(), 1);
    let (code, message) = refused_publish(&mut viewer, "host/db").await;
    assert_eq!(
        (code, message.as_str()),
        (
            ErrorCode::Forbidden,
            "publish on `host/db` needs the publisher role"
        )
    );
    let mut agent = hub
        .client_with(&token(&["publisher"], Some(&["svc/**"]), 3600))
        .await;
    assert_eq!(set_status(&mut agent, "svc/api", "up").await, 1);
    let (code, message) = refused_publish(&mut agent, "host/db").await;
    assert_eq!(
        (code, message.as_str()),
        (
            ErrorCode::Forbidden,
            "the token's scope does not include `host/db`"
        )
    );
    let (code, message) = refused(&mut agent, |id| ClientFrame::Sub {
        id,
        pattern: "**".into(),
        since: None,
        epoch: None,
        more: false,
    })
    .await;
    assert_eq!(
        (code, message.as_str()),
        (
            ErrorCode::Forbidden,
            "pattern `**` is wider than the token's scope"
        )
    );
    let (code, _) = refused(&mut agent, |id| ClientFrame::Get {
        id,
        resource: "host/db".into(),
    })
    .await;
    assert_eq!(
        code,
        ErrorCode::Forbidden,
        "data outside the scope never reaches the session"
    );
    assert_eq!(agent.subscribe("svc/*", None).await.unwrap(), 1);
}

#[actix_web::test]
async fn a_token_that_expires_closes_the_session_4002_unless_a_hello_refreshed_it() {
    let hub = TestHub::builder().auth().start().await;
    let mut short = hub.client_with(&token(&["viewer"], None, 1)).await;
    let ServerFrame::Error { code, .. } = short.frame_within(secs(5)).await.unwrap() else {
        panic!()
    };
    assert_eq!(code, ErrorCode::Unauthorized);
    assert_eq!(short.closed_within(secs(5)).await.unwrap().code, Some(4002));

    // `exp` is whole seconds: 2 s leaves at least one second to refresh in.
    let mut refreshed = hub.client_with(&token(&["viewer"], None, 2)).await;
    refreshed
        .hello(Some(&token(&["viewer"], None, 3600)))
        .await
        .unwrap();
    assert_quiet(&mut refreshed, ms(3000)).await;
    assert_answers_ping(&mut refreshed).await;
}

#[actix_web::test]
async fn non_browser_clients_may_send_the_token_on_the_upgrade() {
    let hub = TestHub::builder().auth().start().await;
    let bearer = format!("Bearer {}", token(&["admin"], None, 60));
    let mut client = Client::connect_with(
        &hub.url(),
        Some(Codec::MsgPack),
        &[("Authorization", &bearer)],
    )
    .await
    .unwrap();
    let ServerFrame::Welcome { roles, .. } = client.hello(None).await.unwrap() else {
        panic!()
    };
    assert_eq!(roles, ["admin"]);
}

#[actix_web::test]
async fn pages_on_other_origins_are_refused_before_the_upgrade() {
    let hub = TestHub::builder()
        .allowed_origins(&["https://status.example.org"])
        .start()
        .await;
    let refused = Client::connect_with(
        &hub.url(),
        Some(Codec::MsgPack),
        &[("Origin", "https://evil.example.com")],
    )
    .await;
    assert!(
        matches!(refused, Err(ClientError::Connect { .. })),
        "the upgrade should fail"
    );
    let mut answer = awc::Client::new()
        .get(hub.http("/ws"))
        .insert_header(("Origin", "https://evil.example.com"))
        .insert_header(("Connection", "Upgrade"))
        .insert_header(("Upgrade", "websocket"))
        .insert_header(("Sec-WebSocket-Version", "13"))
        .insert_header(("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 403);
    let body: serde_json::Value = serde_json::from_slice(&answer.body().await.unwrap()).unwrap();
    assert_eq!(
        body["error"]["message"],
        "origin `https://evil.example.com` is not allowed; see --allowed-origins"
    );
    for origin in ["http://localhost:5173", "https://status.example.org"] {
        let mut client =
            Client::connect_with(&hub.url(), Some(Codec::MsgPack), &[("Origin", origin)])
                .await
                .unwrap();
        assert!(
            matches!(
                client.hello(None).await.unwrap(),
                ServerFrame::Welcome { .. }
            ),
            "{origin}"
        );
    }
}

#[actix_web::test]
async fn rest_routes_need_a_bearer_token_with_the_right_role_and_scope() {
    let hub = TestHub::builder().auth().start().await;
    let http = awc::Client::new();
    let url = hub.http("/api/v1/resources/svc/api");
    let none = http
        .post(&url)
        .send_json(&json!({"status": "up"}))
        .await
        .unwrap();
    assert_eq!(none.status().as_u16(), 401);
    let as_ = |token: String| format!("Bearer {token}");
    let viewer = as_(token(&["viewer"], None, 60));
    let agent = as_(token(&["publisher"], Some(&["svc/**"]), 60));
    let admin = as_(token(&["admin"], None, 60));
    let cases = [
        ("POST", url.clone(), &viewer, 403),
        ("POST", url.clone(), &agent, 200),
        ("POST", hub.http("/api/v1/resources/host/x"), &agent, 403),
        ("GET", url.clone(), &viewer, 200),
        // A list is filtered by the scope, never refused for its pattern.
        ("GET", hub.http("/api/v1/resources?pattern=**"), &agent, 200),
        (
            "GET",
            hub.http("/api/v1/resources?pattern=svc/**"),
            &agent,
            200,
        ),
        ("DELETE", url.clone(), &agent, 403),
        ("DELETE", url.clone(), &admin, 204),
        ("GET", hub.http("/api/v1/status"), &viewer, 200),
    ];
    for (method, url, bearer, status) in cases {
        let request = http
            .request(method.parse().unwrap(), &url)
            .insert_header(("Authorization", bearer.as_str()));
        let response = if method == "POST" {
            request.send_json(&json!({"status": "up"})).await
        } else {
            request.send().await
        };
        assert_eq!(
            response.unwrap().status().as_u16(),
            status,
            "{method} {url}"
        );
    }
}

#[actix_web::test]
async fn a_token_printed_by_fillstack_token_is_accepted_by_the_hub() {
    let secret = String::from_utf8(SECRET.to_vec()).unwrap();
    let output = std::process::Command::new(binary())
        .args([
            "token",
            "--sub",
            "ops",
            "--roles",
            "viewer,publisher",
            "--res",
            "svc/**",
            "--ttl",
            "1h",
        ])
        .env("FILLSTACK_JWT_SECRET", &secret)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let hub = TestHub::builder().auth().start().await;
    let mut client = Client::connect(&hub.url(), Codec::MsgPack).await.unwrap();
    let ServerFrame::Welcome { roles, .. } = client.hello(Some(&printed)).await.unwrap() else {
        panic!()
    };
    assert_eq!(roles, ["viewer", "publisher"]);
    let missing = std::process::Command::new(binary())
        .args(["token", "--sub", "x"])
        .env_remove("FILLSTACK_JWT_SECRET")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--jwt-secret-file"));
}

#[actix_web::test]
async fn rest_answers_cors_for_allowed_origins_only() {
    let hub = TestHub::builder()
        .allowed_origins(&["https://status.example.org"])
        .start()
        .await;
    let http = awc::Client::new();
    let preflight = |origin: &'static str| {
        http.request(awc::http::Method::OPTIONS, hub.http("/api/v1/resources"))
            .insert_header(("Origin", origin))
            .insert_header(("Access-Control-Request-Method", "GET"))
            .insert_header(("Access-Control-Request-Headers", "authorization"))
            .send()
    };
    let allowed = preflight("https://status.example.org").await.unwrap();
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .unwrap(),
        "https://status.example.org"
    );
    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert_eq!(refused.status().as_u16(), 400);
}

/// `fillstack serve` with `args` and `env`: its exit status and the stderr line
/// of the configuration problem.
fn serve_refused(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let data = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new(binary());
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .args(args)
        .env_remove("FILLSTACK_JWT_SECRET")
        .env_remove("FILLSTACK_CONFIG");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    (output.status.code(), stderr)
}

/// (flags, environment, what the error line says after `bad configuration: `)
type SecretCase<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], String);

#[test]
fn a_short_secret_exits_2_naming_the_source_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, "short\n").unwrap();
    let secret_path = secret_file.to_str().unwrap();
    let config = dir.path().join("hub.toml");
    std::fs::write(&config, format!("jwt_secret_file = \"{secret_path}\"\n")).unwrap();
    let config_path = config.to_str().unwrap();
    let problem = "the HS256 secret is 5 bytes; use at least 32";
    let cases: [SecretCase; 4] = [
        (
            &[],
            &[("FILLSTACK_JWT_SECRET", "short")],
            format!("FILLSTACK_JWT_SECRET: {problem}"),
        ),
        (
            &["--jwt-secret-file", secret_path],
            &[],
            format!("--jwt-secret-file {secret_path}: {problem}"),
        ),
        (
            &["--config", config_path],
            &[],
            format!("jwt_secret_file = \"{secret_path}\" in {config_path}: {problem}"),
        ),
        // The environment variable is stronger than the file, as for every option.
        (
            &["--config", config_path],
            &[("FILLSTACK_JWT_SECRET", "short")],
            format!("FILLSTACK_JWT_SECRET: {problem}"),
        ),
    ];
    for (args, env, says) in cases {
        let (code, stderr) = serve_refused(args, env);
        assert_eq!(
            (code, stderr.as_str()),
            (
                Some(2),
                format!("fillstack: bad configuration: {says}").as_str()
            ),
            "{args:?} {env:?}"
        );
    }
}

#[actix_web::test]
async fn an_admin_token_may_not_publish_under_hub_on_the_socket() {
    let hub = TestHub::builder().auth().start().await;
    let mut admin = hub.client_with(&token(&["admin"], None, 600)).await;
    let (code, message) = refused_publish(&mut admin, "hub/node-1/sessions").await;
    assert_eq!(
        (code, message.as_str()),
        (
            ErrorCode::Forbidden,
            "`hub/node-1/sessions` is under hub/, which only the hub itself writes"
        )
    );
    assert_eq!(set_status(&mut admin, "hubcap/ok", "up").await, 1);
}
