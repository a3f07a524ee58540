//! `fanout` and `publish` over several hubs (`--hubs`), against real hubs started
//! in-process. Separate single-node hubs share no state, so the spreading is
//! checked with one hub given three times (each place a session of its own), and
//! two unconnected hubs show what the publish check catches: they are no cluster.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

use std::process::Command;
use std::time::Duration;

use fillstack_loadtest::Hubs;
use fillstack_loadtest::scenario::fanout::{self, FanoutParams};
use fillstack_loadtest::scenario::publish::{self, PublishParams};

/// A single-node hub on 127.0.0.1:0 with its own temp store.
struct Hub {
    running: fillstack::RunningHub,
    _dir: tempfile::TempDir,
}

impl Hub {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = fillstack::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data: dir.path().join("data"),
            workers: 2,
            resource_threads: 2,
            // The hub's own `hub/**` resources are not part of these runs.
            health_interval: Duration::from_secs(3600),
            ..fillstack::Config::default()
        };
        let running = fillstack::start(config).await.unwrap();
        Self { running, _dir: dir }
    }

    fn url(&self) -> String {
        format!("ws://{}/ws", self.running.addr)
    }
}

fn publish_sizes() -> PublishParams {
    PublishParams {
        publishers: 5,
        resources: 20,
        per_publisher: 40,
        window: 8,
        max_seconds: 30,
    }
}

#[actix_web::test]
async fn fanout_spreads_its_subscribers_and_each_sees_every_change_in_order() {
    let hub = Hub::start().await;
    let hubs = Hubs::new(&[hub.url(), hub.url(), hub.url()]).unwrap();
    let params = FanoutParams {
        subscribers: 20,
        messages: 100,
        window: 16,
        rate: None,
        max_seconds: 30,
    };
    let report = fanout::run_on(&hubs, params).await.unwrap();
    let table = report.table();
    assert_eq!((report.gaps, report.undelivered), (0, 0), "{table}");
    assert_eq!(
        report.deliveries,
        20 * 101,
        "a snapshot and 100 deltas each"
    );
    assert_eq!(report.hubs, [hub.url(), hub.url(), hub.url()]);
    let spread: Vec<_> = report
        .per_hub
        .iter()
        .map(|share| {
            (
                share.sessions,
                share.deliveries,
                share.undelivered,
                share.gaps,
            )
        })
        .collect();
    assert_eq!(
        spread,
        [(7, 7 * 101, 0, 0), (7, 7 * 101, 0, 0), (6, 6 * 101, 0, 0)],
        "round-robin: 20 subscribers over 3 places\n{table}"
    );
    assert!(
        report
            .per_hub
            .iter()
            .all(|share| share.latency.count >= 100)
    );
    assert!(table.contains("publishing through the first"), "{table}");
}

#[actix_web::test]
async fn publish_spreads_its_publishers_and_no_seq_is_acked_twice() {
    let hub = Hub::start().await;
    let hubs = Hubs::new(&[hub.url(), hub.url(), hub.url()]).unwrap();
    let report = publish::run_on(&hubs, publish_sizes()).await.unwrap();
    let table = report.table();
    assert_eq!((report.acks, report.repeated_seqs), (200, 0), "{table}");
    assert_eq!(report.latency.count, 200);
    let spread: Vec<_> = report
        .per_hub
        .iter()
        .map(|share| (share.sessions, share.acks, share.latency.count))
        .collect();
    assert_eq!(spread, [(2, 80, 80), (2, 80, 80), (1, 40, 40)], "{table}");
}

#[actix_web::test]
async fn two_unconnected_hubs_are_no_cluster_and_the_publish_check_says_so() {
    let (one, other) = (Hub::start().await, Hub::start().await);
    let hubs = Hubs::new(&[one.url(), other.url()]).unwrap();
    let report = publish::run_on(&hubs, publish_sizes()).await.unwrap();
    // Both hubs count each resource's seqs from 1 on their own: a cluster must not.
    assert_eq!(report.acks, 200, "{}", report.table());
    assert!(report.repeated_seqs > 0, "{}", report.table());
}

/// The binary's `--hubs`: the JSON line names the hubs and each one's share.
#[actix_web::test]
async fn the_command_line_takes_hubs_and_its_json_names_them() {
    let hub = Hub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("runs.jsonl");
    let hubs = format!("{0},{0}", hub.url());
    let args: Vec<String> = [
        "--hubs",
        &hubs,
        "--json",
        json.to_str().unwrap(),
        "publish",
        "--publishers",
        "4",
        "--resources",
        "8",
        "--per-publisher",
        "10",
    ]
    .map(str::to_owned)
    .to_vec();
    // The hub serves on its own threads; the harness's process is waited for off
    // this one.
    let out = actix_rt::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_fillstack-loadtest"))
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("hubs  {0} {0}", hub.url())),
        "{stdout}"
    );
    let line = std::fs::read_to_string(&json).unwrap();
    let report: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(report["hubs"], serde_json::json!([hub.url(), hub.url()]));
    assert_eq!(report["acks"], 40);
    assert_eq!(report["per_hub"][0]["acks"], 20);
    assert_eq!(report["per_hub"][1]["sessions"], 2);
}

/// What the binary says to `args` that fail before any run.
fn refusal(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fillstack-loadtest"))
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} ran");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn hubs_must_be_local_non_empty_and_not_given_with_url() {
    let local = "ws://127.0.0.1:1/ws";
    let message = refusal(&[
        "--hubs",
        &format!("{local},ws://10.1.2.3:8080/ws"),
        "publish",
    ]);
    assert!(
        message.contains("ws://10.1.2.3:8080/ws is not on this machine"),
        "{message}"
    );
    let message = refusal(&["--hubs", &format!("{local},,{local}"), "publish"]);
    assert!(message.contains("--hubs: URL 2 of 3 is empty"), "{message}");
    let message = refusal(&["--url", local, "--hubs", local, "publish"]);
    assert!(message.contains("cannot be used with"), "{message}");
}
