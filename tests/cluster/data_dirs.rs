//! What a hub refuses to start on: a data dir of the other mode (single-node vs
//! cluster), and a `--node-id` that a live hub already uses. Each exits 2 with a
//! message naming what is wrong.

use std::path::Path;

use fillstack_loadtest::Client;
use fillstack_protocol::Codec;

use crate::harness::{Broker, Hub, Refusal, serve_until_exit, within};
use crate::support::{HubProcess, secs};
use crate::wire::{acked, connect, nodes};

/// Long enough for a refusal that first waits one max age (10 s) of the node bucket.
const REFUSAL_WITHIN: std::time::Duration = std::time::Duration::from_secs(40);

fn cluster_args<'a>(data: &'a str, nats: &'a str, node: &'a str) -> Vec<&'a str> {
    vec![
        "--listen",
        "127.0.0.1:0",
        "--data",
        data,
        "--nats",
        nats,
        "--node-id",
        node,
        "--nats-replicas",
        "1",
    ]
}

fn assert_exit_2(refusal: &Refusal, what: &str) {
    assert_eq!(
        refusal.status.and_then(|status| status.code()),
        Some(2),
        "{what}: expected exit 2, got {:?} (None: still running after {REFUSAL_WITHIN:?}); stderr:\n{}",
        refusal.status,
        refusal.stderr
    );
}

fn assert_names_both_modes(refusal: &Refusal, what: &str) {
    let stderr = refusal.stderr.to_lowercase();
    assert!(
        stderr.contains("single") && stderr.contains("cluster"),
        "{what}: stderr should name both modes (single and cluster):\n{}",
        refusal.stderr
    );
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

// Each data dir gets a change before its hub is stopped: a real dir holds data, and
// the hub is surely past its start (a SIGTERM just after `listening on` can still
// find the default action: main.rs installs its handler after printing the line).
#[actix_web::test]
async fn a_single_node_data_dir_is_refused_in_cluster_mode() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut single = HubProcess::start(&data, &[]);
    within(secs(30), async {
        let mut client = Client::connect_hello(&single.url(), Codec::MsgPack)
            .await
            .unwrap();
        assert_eq!(acked(&mut client, "dirs/single", "kept").await, 1);
    })
    .await;
    single.signal("TERM");
    let stopped = single.child.wait().unwrap();
    assert_eq!(stopped.code(), Some(0), "the single-node hub's SIGTERM");

    let refusal = serve_until_exit(
        &cluster_args(text(&data), &broker.url(), "hub-a"),
        REFUSAL_WITHIN,
    );
    assert_exit_2(&refusal, "cluster mode on a single-node data dir");
    assert_names_both_modes(&refusal, "cluster mode on a single-node data dir");
}

#[actix_web::test]
async fn a_cluster_data_dir_is_refused_in_single_node_mode() {
    let broker = Broker::start();
    let mut hub = Hub::start("hub-a", &broker.url());
    within(secs(30), async {
        let mut client = connect(&hub).await;
        assert_eq!(acked(&mut client, "dirs/cluster", "kept").await, 1);
    })
    .await;
    let stopped = hub.terminate();
    assert_eq!(stopped.code(), Some(0), "the cluster hub's SIGTERM");

    let data = hub.data();
    let refusal = serve_until_exit(
        &["--listen", "127.0.0.1:0", "--data", text(&data)],
        REFUSAL_WITHIN,
    );
    assert_exit_2(&refusal, "single-node mode on a cluster data dir");
    assert_names_both_modes(&refusal, "single-node mode on a cluster data dir");
}

#[actix_web::test]
async fn a_second_live_hub_with_the_same_node_id_exits_2() {
    let broker = Broker::start();
    let live = Hub::start("hub-a", &broker.url());
    let other = tempfile::tempdir().unwrap();
    let data = other.path().join("data");
    let refusal = serve_until_exit(
        &cluster_args(text(&data), &broker.url(), "hub-a"),
        REFUSAL_WITHIN,
    );
    assert_exit_2(&refusal, "a second hub-a");
    assert!(
        refusal.stderr.contains("another live hub uses --node-id"),
        "a second hub-a: stderr should say another live hub uses --node-id:\n{}",
        refusal.stderr
    );
    within(secs(30), async {
        // The live one is untouched by the attempt.
        assert_eq!(nodes(&live).await, ["hub-a"]);
        let mut client = connect(&live).await;
        assert_eq!(acked(&mut client, "dup/still", "served").await, 1);
    })
    .await;
}
