//! The SPA route: index.html (or the not-built page) with the browser hardening
//! headers, and no SPA fallback for API paths or writes.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use support::*;

#[actix_web::test]
async fn the_root_serves_html_with_a_strict_content_security_policy() {
    let hub = TestHub::start().await;
    let client = awc::Client::new();
    for path in ["/", "/resources/some/route"] {
        let mut response = client.get(hub.http(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let headers = response.headers();
        assert!(
            headers
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let policy = headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            policy.contains("script-src 'self';") && policy.contains("frame-ancestors 'none'"),
            "{policy}"
        );
        assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(headers.get("referrer-policy").unwrap(), "no-referrer");
        let body = String::from_utf8(response.body().await.unwrap().to_vec()).unwrap();
        assert!(body.contains("<title>FILLSTACK"), "{body}");
        assert!(!body.contains("<script>"), "no inline script");
    }
}

#[actix_web::test]
async fn api_paths_and_writes_are_not_answered_by_the_spa() {
    let hub = TestHub::start().await;
    let client = awc::Client::new();
    let mut missing = client
        .get(hub.http("/api/v2/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let body = String::from_utf8(missing.body().await.unwrap().to_vec()).unwrap();
    assert_eq!(
        body,
        r#"{"error":{"code":"not_found","message":"no route GET /api/v2/nothing"}}"#
    );
    let write = client.post(hub.http("/somewhere")).send().await.unwrap();
    assert_eq!(write.status().as_u16(), 404);
}
