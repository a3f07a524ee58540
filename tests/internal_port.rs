//! The internal port (`--internal-listen`): `/metrics`, `/healthz` and `/readyz`
//! move there, for probes and scrapers, and the public port answers them 404;
//! without it the public port serves them as before.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use std::time::Instant;

use fillstack_loadtest::Client;
use fillstack_protocol::Codec;
use support::*;

/// Status and body of a GET of `url`, with `host` as the `Host` header if given.
async fn get(url: &str, host: Option<&str>) -> (u16, String) {
    let mut request = awc::Client::new().get(url);
    if let Some(host) = host {
        request = request.insert_header(("Host", host));
    }
    let mut response = request.send().await.unwrap();
    let body = response.body().limit(1 << 20).await.unwrap();
    (
        response.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

const HEALTH_ROUTES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

#[actix_web::test]
async fn the_internal_port_serves_health_and_metrics_and_the_public_port_answers_them_404() {
    let hub = TestHub::builder().internal_port().start().await;
    assert_ne!(hub.internal_http(""), hub.http(""));
    assert_eq!(
        get(&hub.internal_http("/healthz"), None).await,
        (200, "ok\n".into())
    );
    assert_eq!(
        get(&hub.internal_http("/readyz"), None).await,
        (200, "ready\n".into())
    );
    let (status, scrape) = get(&hub.internal_http("/metrics"), None).await;
    assert_eq!(status, 200);
    assert!(scrape.contains("fillstack_publishes_total"), "{scrape}");

    for path in HEALTH_ROUTES {
        let (status, body) = get(&hub.http(path), None).await;
        assert_eq!(status, 404, "public {path}: {body}");
        assert!(
            body.contains("\"not_found\"") && body.contains("--internal-listen"),
            "public {path}: {body}"
        );
    }
    // Everything else stays where it was, and is not on the internal port.
    for path in ["/api/v1/status", "/", "/ws"] {
        let (status, body) = get(&hub.internal_http(path), None).await;
        assert_eq!(status, 404, "internal {path}: {body}");
        assert!(body.contains("\"not_found\""), "internal {path}: {body}");
    }
    assert_eq!(get(&hub.http("/api/v1/status"), None).await.0, 200);
    assert_eq!(get(&hub.http("/"), None).await.0, 200);
    let mut client = hub.client().await;
    set_status(&mut client, "svc/internal", "up").await;
}

#[actix_web::test]
async fn without_an_internal_port_the_public_port_serves_health_and_metrics() {
    let hub = TestHub::start().await;
    assert_eq!(get(&hub.http("/healthz"), None).await, (200, "ok\n".into()));
    assert_eq!(
        get(&hub.http("/readyz"), None).await,
        (200, "ready\n".into())
    );
    let (status, scrape) = get(&hub.http("/metrics"), None).await;
    assert_eq!(status, 200);
    assert!(scrape.contains("fillstack_publishes_total"), "{scrape}");
}

#[actix_web::test]
async fn probes_naming_the_pod_address_reach_the_internal_port_of_a_hub_without_auth() {
    // Kubelet and Prometheus send the pod's address as `Host`: the public port
    // of a hub without auth refuses that name (DNS rebinding), the internal port
    // has no gate, since it serves no session and no write.
    let hub = TestHub::builder().internal_port().start().await;
    let pod = Some("10.1.2.3:9090");
    assert_eq!(get(&hub.http("/api/v1/status"), pod).await.0, 403);
    for path in HEALTH_ROUTES {
        assert_eq!(get(&hub.internal_http(path), pod).await.0, 200, "{path}");
    }
}

#[actix_web::test]
async fn sigterm_stops_both_ports_and_readyz_on_the_internal_port_is_503_while_draining() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = HubProcess::start(
        &dir.path().join("data"),
        &["--internal-listen", "127.0.0.1:0"],
    );
    let internal = hub.internal_addr.clone().unwrap();
    assert_ne!(internal, hub.addr);
    let readyz = format!("http://{internal}/readyz");
    assert_eq!(get(&readyz, None).await.0, 200);
    assert_eq!(
        get(&format!("http://{}/readyz", hub.addr), None).await.0,
        404
    );
    let mut watcher = Client::connect_hello(&hub.url(), Codec::MsgPack)
        .await
        .unwrap();
    watcher.subscribe("**", None).await.unwrap();

    let asked = Instant::now();
    hub.signal("TERM");
    // Until the internal port closes, it answers.
    let mut answers = Vec::new();
    while asked.elapsed() < secs(10) {
        match awc::Client::new().get(&readyz).send().await {
            Ok(response) => answers.push(response.status().as_u16()),
            Err(_) => break,
        }
        actix_web::rt::time::sleep(ms(2)).await;
    }
    // The drain waits for the sessions (the watcher here) to close: /readyz says
    // 503 meanwhile, and never `ready` again once it has.
    let first_503 = answers.iter().position(|status| *status == 503);
    assert!(first_503.is_some(), "no 503 while draining: {answers:?}");
    assert!(
        answers[..first_503.unwrap_or(0)]
            .iter()
            .all(|status| *status == 200)
            && answers[first_503.unwrap_or(0)..]
                .iter()
                .all(|status| *status == 503),
        "{answers:?}"
    );
    let closed = watcher.closed_within(secs(10)).await.unwrap();
    assert_eq!(closed.code, Some(1001));
    assert_eq!(hub.child.wait().unwrap().code(), Some(0));
    assert!(
        asked.elapsed() < secs(10),
        "stopped in {:?}",
        asked.elapsed()
    );
    for addr in [&internal, &hub.addr] {
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "{addr} still accepts connections"
        );
    }
}

#[test]
fn healthcheck_exits_0_on_a_healthy_hub_and_1_when_nothing_answers() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(
        &dir.path().join("data"),
        &["--internal-listen", "127.0.0.1:0"],
    );
    let internal = hub.internal_addr.clone().unwrap();
    // As the image runs it: the address from the same variable `serve` reads.
    let healthy = std::process::Command::new(binary())
        .arg("healthcheck")
        .env("FILLSTACK_INTERNAL_LISTEN", &internal)
        .env("FILLSTACK_LISTEN", &hub.addr)
        .output()
        .unwrap();
    assert_eq!(
        healthy.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&healthy.stderr)
    );
    // The public port no longer answers /healthz: 404 is unhealthy.
    let public = std::process::Command::new(binary())
        .args(["healthcheck", &format!("http://{}/healthz", hub.addr)])
        .output()
        .unwrap();
    assert_eq!(public.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&public.stderr).contains("404"),
        "{}",
        String::from_utf8_lossy(&public.stderr)
    );
    drop(hub);
    let gone = std::process::Command::new(binary())
        .arg("healthcheck")
        .env("FILLSTACK_INTERNAL_LISTEN", &internal)
        .output()
        .unwrap();
    assert_eq!(gone.status.code(), Some(1));
}

#[test]
fn an_internal_port_that_cannot_be_bound_stops_the_hub_with_exit_2_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let stderr = serve_refused(&["--listen", "127.0.0.1:0", "--internal-listen", &address]);
    assert!(
        stderr.contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );
}
