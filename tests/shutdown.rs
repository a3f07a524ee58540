//! Graceful stop: SIGTERM closes every session with 1001, flushes, exits 0.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use std::time::Instant;

use fillstack_loadtest::Client;
use fillstack_protocol::Codec;

use support::*;

#[actix_web::test]
async fn sigterm_closes_sessions_with_1001_and_exits_0_keeping_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut hub = HubProcess::start(&data, &[]);
    let mut watcher = Client::connect_hello(&hub.url(), Codec::MsgPack)
        .await
        .unwrap();
    watcher.subscribe("**", None).await.unwrap();
    let mut publisher = Client::connect_hello(&hub.url(), Codec::Json)
        .await
        .unwrap();
    let seq = set_status(&mut publisher, "svc/stay", "up").await;
    let ready = awc::Client::new()
        .get(format!("http://{}/readyz", hub.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);

    let asked = Instant::now();
    hub.signal("TERM");
    let closed = watcher.closed_within(secs(10)).await.unwrap();
    assert_eq!(
        (closed.code, closed.reason.as_str()),
        (Some(1001), "hub shutting down")
    );
    let status = hub.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        asked.elapsed() < secs(10),
        "stopped in {:?}",
        asked.elapsed()
    );

    let hub = HubProcess::start(&data, &[]);
    let mut reader = Client::connect_hello(&hub.url(), Codec::MsgPack)
        .await
        .unwrap();
    assert_eq!(reader.subscribe("svc/stay", None).await.unwrap(), 1);
    let fillstack_protocol::ServerFrame::Snapshot(snapshot) = next(&mut reader).await else {
        panic!()
    };
    assert_eq!(snapshot.seq, seq);
}

#[test]
fn a_non_loopback_listen_without_auth_exits_2_naming_the_flag() {
    let stderr = serve_refused(&["--listen", "0.0.0.0:0"]);
    assert!(
        stderr.contains("--listen") && stderr.contains("--insecure-no-auth"),
        "{stderr}"
    );
}

#[actix_web::test]
async fn json_logs_are_one_object_per_line_and_never_carry_a_token() {
    let secret = String::from_utf8(SECRET.to_vec()).unwrap();
    let (child, addr, _dir) = serve_logging(
        &["--log-format", "json", "--log", "debug"],
        &[("FILLSTACK_JWT_SECRET", &secret)],
    );
    let secret_token = token(&["admin"], None, 600);
    let mut client = Client::connect(&format!("ws://{addr}/ws"), Codec::MsgPack)
        .await
        .unwrap();
    client.hello(Some(&secret_token)).await.unwrap();
    set_status(&mut client, "svc/logged", "up").await;
    let answer = awc::Client::new()
        .get(format!("http://{addr}/api/v1/status"))
        .insert_header(("Authorization", format!("Bearer {secret_token}")))
        .insert_header(("x-request-id", "req-42"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers().get("x-request-id").unwrap(), "req-42");
    drop(client);
    let logs = stop_logs(child);
    let mut authenticated = false;
    for line in logs.lines() {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            !line.contains(&secret_token) && !line.contains(&secret),
            "a secret in the logs: {line}"
        );
        authenticated |= entry["fields"]["message"] == "session authenticated"
            && entry["fields"]["sub"] == "tester";
    }
    assert!(
        authenticated,
        "the session log names the token's sub: {logs}"
    );
    assert!(
        logs.contains("req-42"),
        "the request span carries the request id"
    );
}

#[test]
fn text_logs_written_to_a_file_carry_no_colour_codes() {
    let (child, _addr, _dir) = serve_logging(&[], &[]);
    let logs = stop_logs(child);
    assert!(logs.contains("hub started"), "{logs}");
    assert!(
        !logs.contains('\u{1b}'),
        "escape codes in a redirected log: {logs:?}"
    );
}

/// The real binary serving on 127.0.0.1:0 with `extra` flags and `env`, its
/// stderr kept: the child and the address it printed.
fn serve_logging(
    extra: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Child, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(binary())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .arg("--data")
        .arg(dir.path())
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line was {line:?}"))
        .to_owned();
    (child, addr, dir)
}

/// SIGTERM to `child`; what it wrote to stderr until it exited.
fn stop_logs(child: std::process::Child) -> String {
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stderr).unwrap()
}
