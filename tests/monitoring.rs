//! Monitoring against real local targets: HTTP and TCP servers started here,
//! an alert receiver counting POSTs, the in-process hub and the real binary
//! (SIGKILL and SIGHUP). Intervals are short; waits are generous bounds, never
//! timing assertions.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_web::http::StatusCode;
use serde_json::{Value, json};
use support::{HubProcess, TestHub, ms, secs};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An HTTP target answering every request with `code` after `delay_ms`.
#[derive(Clone)]
struct Target {
    port: u16,
    code: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
}

impl Target {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = Self {
            port: listener.local_addr().unwrap().port(),
            code: Arc::new(AtomicU16::new(200)),
            delay_ms: Arc::new(AtomicU64::new(0)),
        };
        let answer = target.clone();
        actix_web::rt::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let answer = answer.clone();
                actix_web::rt::spawn(async move {
                    read_head(&mut stream).await;
                    let delay = answer.delay_ms.load(Ordering::Acquire);
                    actix_web::rt::time::sleep(ms(delay)).await;
                    let code = answer.code.load(Ordering::Acquire);
                    let reply = format!(
                        "HTTP/1.1 {code} X\r\ncontent-length: 7\r\nconnection: close\r\n\r\nhealthy"
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                });
            }
        });
        target
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/health", self.port)
    }

    fn answer(&self, code: u16, delay_ms: u64) {
        self.code.store(code, Ordering::Release);
        self.delay_ms.store(delay_ms, Ordering::Release);
    }
}

/// Reads a request's head and, when it has one, its body.
async fn read_head(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(read) = stream.read(&mut chunk).await else {
            return Vec::new();
        };
        if read == 0 {
            return Vec::new();
        }
        buffer.extend_from_slice(&chunk[..read]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .map_or(0, |n| n.trim().parse().unwrap_or(0));
        while buffer.len() < end + 4 + length {
            let Ok(read) = stream.read(&mut chunk).await else {
                break;
            };
            if read == 0 {
                break;
            }
            buffer.extend_from_slice(&chunk[..read]);
        }
        return buffer[end + 4..].to_vec();
    }
}

/// An alert receiver: keeps every POSTed JSON body; the first `fail_first`
/// requests are answered 500.
#[derive(Clone)]
struct Receiver {
    port: u16,
    bodies: Arc<Mutex<Vec<Value>>>,
    requests: Arc<AtomicUsize>,
    fail_first: Arc<AtomicUsize>,
    /// Requests still to be kept unanswered (their bodies are recorded).
    hold_first: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start(fail_first: usize) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Self {
            port: listener.local_addr().unwrap().port(),
            bodies: Arc::default(),
            requests: Arc::default(),
            fail_first: Arc::new(AtomicUsize::new(fail_first)),
            hold_first: Arc::default(),
        };
        let keep = receiver.clone();
        actix_web::rt::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let keep = keep.clone();
                actix_web::rt::spawn(async move {
                    let body = read_head(&mut stream).await;
                    let held = keep
                        .hold_first
                        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                        .is_ok();
                    if held {
                        // Received, never answered: the sender cannot know.
                        keep.bodies
                            .lock()
                            .unwrap()
                            .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                        std::future::pending::<()>().await;
                    }
                    let seen = keep.requests.fetch_add(1, Ordering::AcqRel);
                    let code = if seen < keep.fail_first.load(Ordering::Acquire) {
                        500
                    } else {
                        keep.bodies
                            .lock()
                            .unwrap()
                            .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                        200
                    };
                    let reply = format!(
                        "HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                });
            }
        });
        receiver
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Keeps the next `count` requests unanswered (recording their bodies).
    fn hold(&self, count: usize) {
        self.hold_first.store(count, Ordering::Release);
    }

    /// Each notification's episode `id`, in arrival order.
    fn ids(&self) -> Vec<String> {
        self.each("id")
    }

    /// Each notification's `state`, in arrival order.
    fn states(&self) -> Vec<String> {
        self.each("state")
    }

    fn each(&self, key: &str) -> Vec<String> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|body| body[key].as_str().unwrap_or("?").to_owned())
            .collect()
    }

    /// Waits until `count` notifications arrived (at most 20 s).
    async fn wait_for(&self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + secs(20);
        while self.states().len() < count && Instant::now() < deadline {
            actix_web::rt::time::sleep(ms(50)).await;
        }
        self.states()
    }
}

fn http() -> awc::Client {
    awc::Client::builder().timeout(secs(30)).finish()
}

async fn get(url: &str) -> (StatusCode, Value) {
    let mut response = http().get(url).send().await.unwrap();
    let body = response.body().limit(8 << 20).await.unwrap();
    (
        response.status(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

async fn post(url: &str, body: &Value) -> (StatusCode, Value) {
    let mut response = http().post(url).send_json(body).await.unwrap();
    let body = response.body().await.unwrap();
    (
        response.status(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// Polls a resource's snapshot at `base` until `holds` says yes (at most 20 s).
async fn wait_until(base: &str, id: &str, what: &str, holds: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + secs(20);
    loop {
        let (code, snapshot) = get(&format!("{base}/api/v1/resources/{id}")).await;
        if code == StatusCode::OK && holds(&snapshot) {
            return snapshot;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never became {what}; last seen {code} {snapshot}"
        );
        actix_web::rt::time::sleep(ms(50)).await;
    }
}

fn status_is(status: &'static str) -> impl Fn(&Value) -> bool {
    move |snapshot| snapshot["status"] == status
}

#[actix_web::test]
async fn a_probe_follows_its_target_and_a_closed_port_is_down() {
    let target = Target::start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let hub = TestHub::builder()
        .monitor(&format!(
            "[[probe]]\nresource = \"svc/web\"\nkind = \"http\"\ntarget = \"{}\"\ninterval = \"1s\"\n\
             timeout = \"3s\"\ndegraded_after = \"400ms\"\nexpect_status = 200\n\
             [[probe]]\nresource = \"svc/db\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:{closed_port}\"\n\
             interval = \"1s\"\ntimeout = \"500ms\"\n\
             [[probe]]\nresource = \"svc/tls\"\nkind = \"http\"\ntarget = \"{}\"\ninterval = \"1s\"\n",
            target.url(),
            target.url().replace("http://", "https://")
        ))
        .start()
        .await;
    let base = hub.http("");
    let up = wait_until(&base, "svc/web", "up", status_is("up")).await;
    assert_eq!(up["fields"]["code"], 200);
    assert_eq!(up["ttl_ms"], 3000, "three intervals");
    assert!(up["fields"]["latency_ms"].is_number());

    target.answer(500, 0);
    let down = wait_until(&base, "svc/web", "down", status_is("down")).await;
    assert_eq!(down["fields"]["code"], 500);
    assert_eq!(down["fields"]["error"], "answered 500, expected 200");

    target.answer(200, 900);
    let degraded = wait_until(&base, "svc/web", "degraded", status_is("degraded")).await;
    assert!(degraded["fields"].get("error").is_none(), "{degraded}");

    target.answer(200, 0);
    let back = wait_until(&base, "svc/web", "up", status_is("up")).await;
    assert!(
        back["fields"].get("error").is_none(),
        "the error is removed: {back}"
    );

    // Deleting a probed resource: the next check creates it again (the file wins).
    let deleted = http()
        .delete(format!("{base}/api/v1/resources/svc/web"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let again = wait_until(&base, "svc/web", "created again", status_is("up")).await;
    assert!(again["seq"].as_u64() > back["seq"].as_u64(), "{again}");

    let db = wait_until(&base, "svc/db", "down", status_is("down")).await;
    assert!(
        db["fields"]["error"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1"),
        "{db}"
    );
    assert!(
        db["fields"].get("code").is_none(),
        "no code without an answer: {db}"
    );

    // An https probe speaks TLS: a plain-text target is down, with the reason.
    let tls = wait_until(&base, "svc/tls", "down", status_is("down")).await;
    assert!(tls["fields"]["error"].is_string(), "{tls}");

    // The installed probes are listed for dashboards.
    let (_, listed) = get(&format!("{base}/api/v1/monitoring")).await;
    assert_eq!(listed["probes"].as_array().unwrap().len(), 3);
    hub.stop().await;
}

fn alert_config(receiver: &Receiver, extra: &str) -> String {
    format!(
        "[[alert]]\nname = \"svc-down\"\npattern = \"svc/**\"\non = [\"down\", \"stale\"]\n\
         url = \"{}\"\nbackoff = \"100ms\"\n{extra}\n",
        receiver.url()
    )
}

#[actix_web::test]
async fn an_alert_fires_once_after_holding_resolves_once_and_retries_a_failing_receiver() {
    let receiver = Receiver::start(2).await;
    let hub = TestHub::builder()
        .monitor(&alert_config(&receiver, "after = \"600ms\""))
        .start()
        .await;
    let base = hub.http("");
    let url = format!("{base}/api/v1/resources/svc/api");
    post(&url, &json!({"status": "up"})).await;
    // Down for less than `after`: nothing.
    post(&url, &json!({"status": "down"})).await;
    post(&url, &json!({"status": "up"})).await;
    actix_web::rt::time::sleep(ms(1000)).await;
    assert!(receiver.states().is_empty(), "{:?}", receiver.states());

    post(
        &url,
        &json!({"status": "down", "fields": {"reason": "disk"}}),
    )
    .await;
    assert_eq!(receiver.wait_for(1).await, ["firing"]);
    assert!(
        receiver.requests.load(Ordering::Acquire) >= 3,
        "two answers of 500 were retried"
    );
    let firing = receiver.bodies.lock().unwrap()[0].clone();
    assert_eq!(firing["alert"], "svc-down");
    assert_eq!(firing["resource"], "svc/api");
    assert_eq!(firing["status"], "down");
    assert_eq!(firing["previous"], "up");
    assert_eq!(firing["fields"]["reason"], "disk");
    let shown = wait_until(&base, "alert/svc-down/svc.api", "down", status_is("down")).await;
    assert_eq!(shown["labels"]["resource"], "svc/api");
    assert_eq!(shown["fields"]["since"], firing["since"]);

    // Down to stale is still inside `on`: no second fire.
    post(&url, &json!({"status": "stale"})).await;
    post(&url, &json!({"status": "up"})).await;
    assert_eq!(receiver.wait_for(2).await, ["firing", "resolved"]);
    let resolved = receiver.bodies.lock().unwrap()[1].clone();
    assert_eq!(resolved["id"], firing["id"], "one episode, one id");
    wait_until(&base, "alert/svc-down/svc.api", "up", status_is("up")).await;
    actix_web::rt::time::sleep(ms(500)).await;
    assert_eq!(receiver.states().len(), 2);
    // Clients do not write alerts.
    let (code, _) = post(
        &format!("{base}/api/v1/resources/alert/svc-down/svc.api"),
        &json!({"status": "up"}),
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    hub.stop().await;
}

#[actix_web::test]
async fn a_flapping_member_sends_one_flapping_notice_not_a_storm() {
    let receiver = Receiver::start(0).await;
    let hub = TestHub::builder()
        .monitor(&alert_config(
            &receiver,
            "flap_max = 2\nflap_window = \"2s\"",
        ))
        .start()
        .await;
    let url = hub.http("/api/v1/resources/svc/flappy");
    for _ in 0..10 {
        post(&url, &json!({"status": "down"})).await;
        post(&url, &json!({"status": "up"})).await;
    }
    actix_web::rt::time::sleep(ms(500)).await;
    let states = receiver.states();
    assert_eq!(
        states,
        ["firing", "resolved", "firing", "resolved", "flapping"],
        "two fires, then one flapping, then silence"
    );
    // Once it has held one state (up) for a whole window, its state is sent.
    assert_eq!(receiver.wait_for(6).await[5], "resolved");
    hub.stop().await;
}

#[actix_web::test]
async fn maintenance_silences_an_alert_and_never_goes_stale() {
    let receiver = Receiver::start(0).await;
    let hub = TestHub::builder()
        .monitor(&alert_config(&receiver, ""))
        .start()
        .await;
    let base = hub.http("");
    let url = format!("{base}/api/v1/resources/svc/batch");
    post(&url, &json!({"status": "down", "ttl_ms": 300})).await;
    assert_eq!(receiver.wait_for(1).await, ["firing"]);
    post(&url, &json!({"status": "maintenance", "ttl_ms": 300})).await;
    assert_eq!(receiver.wait_for(2).await, ["firing", "resolved"]);
    actix_web::rt::time::sleep(ms(1200)).await;
    let (_, snapshot) = get(&url).await;
    assert_eq!(snapshot["status"], "maintenance", "never stale: {snapshot}");
    assert_eq!(receiver.states().len(), 2, "no alert while in maintenance");
    hub.stop().await;
}

#[actix_web::test]
async fn a_rollup_follows_its_members_through_create_change_and_delete() {
    let hub = TestHub::builder()
        .monitor(
            "[[rollup]]\nresource = \"rollup/svc\"\npattern = \"svc/**\"\n\
             [[rollup]]\nresource = \"rollup/all\"\npattern = \"rollup/svc\"\n",
        )
        .start()
        .await;
    let base = hub.http("");
    let empty = wait_until(&base, "rollup/svc", "published", |_| true).await;
    assert_eq!(
        (empty["status"].as_str(), empty["fields"]["total"].as_i64()),
        (Some("unknown"), Some(0))
    );
    let publish = |id: &'static str, status: &'static str| {
        let url = format!("{base}/api/v1/resources/{id}");
        async move { post(&url, &json!({"status": status})).await }
    };
    publish("svc/a", "up").await;
    publish("svc/b/deep", "down").await;
    publish("other/x", "down").await;
    let counted = |up: i64, down: i64, total: i64| {
        move |s: &Value| {
            s["fields"]["up"] == up && s["fields"]["down"] == down && s["fields"]["total"] == total
        }
    };
    let rollup = wait_until(&base, "rollup/svc", "1 up 1 down", counted(1, 1, 2)).await;
    assert_eq!(rollup["status"], "down", "the worst of its members");
    wait_until(
        &base,
        "rollup/all",
        "down through rollup/svc",
        status_is("down"),
    )
    .await;
    publish("svc/b/deep", "degraded").await;
    wait_until(&base, "rollup/svc", "degraded", status_is("degraded")).await;
    let (code, _) = http()
        .delete(format!("{base}/api/v1/resources/svc/b/deep"))
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(code, StatusCode::NO_CONTENT);
    wait_until(&base, "rollup/svc", "only svc/a", counted(1, 0, 1)).await;
    wait_until(&base, "rollup/all", "up", status_is("up")).await;
    let (code, body) = publish("rollup/svc", "up").await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");
    hub.stop().await;
}

#[actix_web::test]
async fn uptime_is_kept_per_utc_day_and_leaves_out_maintenance() {
    // 2026-12-03 00:00 UTC on a hand-moved clock.
    let midnight = 20_790 * 86_400_000;
    let clock = fillstack::clock::Clock::manual(midnight);
    let hub = TestHub::builder().clock(clock.clone()).start().await;
    let url = hub.http("/api/v1/resources/svc/up-down");
    post(&url, &json!({"status": "up"})).await;
    clock.advance(secs(3 * 3600));
    post(&url, &json!({"status": "down"})).await;
    clock.advance(secs(3600));
    post(&url, &json!({"status": "maintenance"})).await;
    clock.advance(secs(3600));
    let (code, report) = get(&hub.http("/api/v1/uptime/svc/up-down?days=2")).await;
    assert_eq!(code, StatusCode::OK, "{report}");
    let days = report["days"].as_array().unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0]["date"], "2026-12-02");
    assert_eq!(days[0]["availability"], Value::Null, "before it existed");
    assert_eq!(days[1]["date"], "2026-12-03");
    assert_eq!(days[1]["seconds"]["up"], 10_800.0);
    assert_eq!(days[1]["seconds"]["down"], 3600.0);
    assert_eq!(days[1]["seconds"]["maintenance"], 3600.0);
    assert_eq!(days[1]["availability"], 0.75);
    assert_eq!(report["total"]["availability"], 0.75);
    assert_eq!(report["last_24h"]["availability"], 0.75);
    let (code, _) = get(&hub.http("/api/v1/uptime/svc/up-down?days=91")).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let (code, _) = get(&hub.http("/api/v1/uptime/svc/none")).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    hub.stop().await;
}

#[actix_web::test]
async fn a_restarted_hub_neither_fires_twice_nor_forgets_an_open_alert() {
    let receiver = Receiver::start(0).await;
    let files = AlertHubFiles::new(&receiver);
    let hub = files.start();
    let url = svc_api(&hub);
    post(&url, &json!({"status": "down"})).await;
    assert_eq!(receiver.wait_for(1).await, ["firing"]);
    // The hub counts the notification sent and, in the same turn of the member's
    // actor, stores it as sent; a change acked after that turn is flushed with it.
    // (A crash before that store sends it again: the next test.)
    wait_for_metric(
        &format!("http://{}/metrics", hub.addr),
        r#"fillstack_alert_notifications_total{alert="svc-down",state="firing"} 1"#,
    )
    .await;
    let (code, _) = post(&url, &json!({"status": "down", "fields": {"n": 1}})).await;
    assert!(code.is_success(), "{code}");
    hub.kill9();

    let hub = files.start();
    actix_web::rt::time::sleep(ms(1500)).await;
    assert_eq!(
        receiver.states(),
        ["firing"],
        "no second fire after a restart"
    );
    post(&svc_api(&hub), &json!({"status": "up"})).await;
    assert_eq!(receiver.wait_for(2).await, ["firing", "resolved"]);
    let ids = receiver.ids();
    assert_eq!(ids[0], ids[1], "one episode: {ids:?}");
}

#[actix_web::test]
async fn a_notification_a_crash_interrupted_is_sent_again_with_its_id() {
    let receiver = Receiver::start(0).await;
    receiver.hold(1);
    let files = AlertHubFiles::new(&receiver);
    let hub = files.start();
    let url = svc_api(&hub);
    post(&url, &json!({"status": "down"})).await;
    // Received but never answered: the hub cannot know it arrived.
    assert_eq!(receiver.wait_for(1).await, ["firing"]);
    hub.kill9();

    let hub = files.start();
    assert_eq!(receiver.wait_for(2).await, ["firing", "firing"]);
    let ids = receiver.ids();
    assert_eq!(ids[0], ids[1], "the same notification again: {ids:?}");
    actix_web::rt::time::sleep(ms(1000)).await;
    assert_eq!(receiver.states().len(), 2, "answered once, sent no more");
    post(&svc_api(&hub), &json!({"status": "up"})).await;
    assert_eq!(receiver.wait_for(3).await, ["firing", "firing", "resolved"]);
    assert_eq!(receiver.ids()[2], ids[0], "one episode");
}

/// A hub's data dir and alert configuration (aimed at a receiver), kept across
/// its restarts.
struct AlertHubFiles {
    _dir: tempfile::TempDir,
    config: String,
    data: std::path::PathBuf,
}

impl AlertHubFiles {
    fn new(receiver: &Receiver) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("hub.toml");
        std::fs::write(&config, alert_config(receiver, "")).unwrap();
        Self {
            config: config.to_str().unwrap().to_owned(),
            data: dir.path().join("data"),
            _dir: dir,
        }
    }

    /// A hub process on these files.
    fn start(&self) -> HubProcess {
        HubProcess::start(&self.data, &["--config", &self.config])
    }
}

/// The REST address of `svc/api` on `hub`.
fn svc_api(hub: &HubProcess) -> String {
    format!("http://{}/api/v1/resources/svc/api", hub.addr)
}

/// Polls a Prometheus scrape at `url` until one of its lines is `line` (at most 20 s).
async fn wait_for_metric(url: &str, line: &str) {
    let deadline = Instant::now() + secs(20);
    loop {
        let mut response = http().get(url).send().await.unwrap();
        let body = response.body().limit(8 << 20).await.unwrap();
        let scrape = String::from_utf8_lossy(&body);
        if scrape.lines().any(|l| l == line) {
            return;
        }
        assert!(Instant::now() < deadline, "no line {line} in {scrape}");
        actix_web::rt::time::sleep(ms(50)).await;
    }
}

#[actix_web::test]
async fn sighup_adds_and_removes_a_probe_keeps_sessions_and_refuses_a_bad_file() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hub.toml");
    std::fs::write(&config, "").unwrap();
    let hub = HubProcess::start(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let base = format!("http://{}", hub.addr);
    let mut session =
        fillstack_loadtest::Client::connect_hello(&hub.url(), fillstack_protocol::Codec::MsgPack)
            .await
            .unwrap();
    let probe = format!(
        "[[probe]]\nresource = \"svc/added\"\nkind = \"http\"\ntarget = \"{}\"\ninterval = \"1s\"\n",
        target.url()
    );
    std::fs::write(&config, &probe).unwrap();
    hub.signal("HUP");
    wait_until(&base, "svc/added", "probed", status_is("up")).await;

    // A bad file is refused; the running probe goes on.
    std::fs::write(&config, "[[probe]]\nkind = \"icmp\"\n").unwrap();
    hub.signal("HUP");
    let (_, before) = get(&format!("{base}/api/v1/resources/svc/added")).await;
    actix_web::rt::time::sleep(ms(2500)).await;
    let (_, after) = get(&format!("{base}/api/v1/resources/svc/added")).await;
    assert!(
        after["seq"].as_u64() > before["seq"].as_u64(),
        "still probing: {before} {after}"
    );

    // Removed: no more checks, so three intervals later it is stale.
    std::fs::write(&config, "").unwrap();
    hub.signal("HUP");
    wait_until(&base, "svc/added", "stale", status_is("stale")).await;
    support::assert_answers_ping(&mut session).await;
}

#[test]
fn a_bad_monitoring_table_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hub.toml");
    std::fs::write(
        &config,
        "[[probe]]\nresource = \"svc/a\"\nkind = \"http\"\ntarget = \"http://127.0.0.1:1/\"\ninterval = \"1s\"\n\
         [[probe]]\nresource = \"svc/b\"\nkind = \"http\"\ntarget = \"not a url\"\ninterval = \"1s\"\n",
    )
    .unwrap();
    let output = std::process::Command::new(support::binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("probe[2].target: `not a url`"), "{stderr}");
}
