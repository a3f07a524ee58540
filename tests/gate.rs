//! The gate before routing, tried as a hostile page would: a DNS-rebinding
//! `Host`, a foreign `Origin` on a write with no preflight, a body with no
//! `Content-Type`. Raw HTTP over 127.0.0.1, so every header is as written.
#![allow(clippy::unwrap_used)]

mod support;

use support::TestHub;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends one request with exactly `headers`; the status code and the body.
async fn raw(hub: &TestHub, head: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(hub.addr()).await.unwrap();
    let mut request = format!(
        "{head} HTTP/1.1\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let code = answer.split(' ').nth(1).unwrap().parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_owned();
    (code, body)
}

const JSON: (&str, &str) = ("content-type", "application/json");

#[actix_web::test]
async fn with_no_auth_a_rebinding_host_is_refused_before_anything_runs() {
    let hub = TestHub::start().await;
    let local = hub.addr().to_string();
    let (code, _) = raw(
        &hub,
        "POST /api/v1/resources/svc/a",
        &[("host", &local), JSON],
        r#"{"status":"up"}"#,
    )
    .await;
    assert_eq!(code, 200);
    let evil = format!("rebind.evil.example:{}", hub.addr().port());
    for head in [
        "DELETE /api/v1/resources/svc/a",
        "GET /api/v1/status",
        "GET /ws",
    ] {
        let (code, body) = raw(
            &hub,
            head,
            &[("host", &evil), ("origin", &format!("http://{evil}"))],
            "",
        )
        .await;
        assert_eq!(code, 403, "{head}: {body}");
        assert!(body.contains("host `rebind.evil.example"), "{head}: {body}");
    }
    let (code, _) = raw(
        &hub,
        "GET /api/v1/resources/svc/a",
        &[("host", "localhost")],
        "",
    )
    .await;
    assert_eq!(code, 200, "svc/a was not deleted");
    hub.stop().await;
}

#[actix_web::test]
async fn allowed_hosts_are_answered_too() {
    let mut builder = TestHub::builder();
    builder = builder.allowed_hosts(&["hub.internal"]);
    let hub = builder.start().await;
    let (code, _) = raw(
        &hub,
        "GET /api/v1/status",
        &[("host", "hub.internal:8080")],
        "",
    )
    .await;
    assert_eq!(code, 200);
    let (code, _) = raw(
        &hub,
        "GET /api/v1/status",
        &[("host", "other.internal:8080")],
        "",
    )
    .await;
    assert_eq!(code, 403);
    hub.stop().await;
}

#[actix_web::test]
async fn a_foreign_page_cannot_write_with_a_simple_request_nor_send_a_body_without_a_type() {
    let hub = TestHub::start().await;
    let local = hub.addr().to_string();
    // A `no-cors` fetch from another origin: no preflight, the Origin header says who.
    let (code, body) = raw(
        &hub,
        "POST /api/v1/resources/svc/x",
        &[
            ("host", &local),
            ("origin", "https://evil.example"),
            ("content-type", "text/plain"),
        ],
        r#"{"status":"down"}"#,
    )
    .await;
    assert_eq!(code, 403, "{body}");
    assert!(
        body.contains("origin `https://evil.example` is not allowed"),
        "{body}"
    );
    let (code, body) = raw(
        &hub,
        "POST /api/v1/resources/svc/x",
        &[("host", &local)],
        r#"{"status":"down"}"#,
    )
    .await;
    assert_eq!(code, 415, "{body}");
    assert!(body.contains("needs a Content-Type"), "{body}");
    let (code, _) = raw(&hub, "GET /api/v1/resources/svc/x", &[("host", &local)], "").await;
    assert_eq!(code, 404, "nothing was published");
    hub.stop().await;
}
