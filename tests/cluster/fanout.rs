//! Every hub sees every change: a publish through one hub reaches subscribers of
//! the others as the same frame with the same seq, and snapshots, `sub` counts,
//! REST lists, history, `/api/v1/status` and the cluster metrics agree on every hub.

use std::collections::BTreeMap;

use fillstack_protocol::Scalar;
use serde_json::Value;

use crate::harness::{Cluster, Hub, NAMES, eventually, long, within};
use crate::support::{assert_quiet, ms, secs};
use crate::wire::{
    TAG, acked, await_nodes, await_seq, connect, deltas_until, first_snapshot, get_json, get_text,
    history, metric_value, resume, session, status, tag_of, tagged_entry,
};

#[actix_web::test]
async fn a_publish_through_a_reaches_subscribers_on_b_and_c_with_the_same_seq() {
    let cluster = Cluster::start();
    within(secs(60), async {
        let (mut publisher, epoch_a) = session(&cluster.a).await;
        let (mut on_b, epoch_b) = session(&cluster.b).await;
        let (mut on_c, epoch_c) = session(&cluster.c).await;
        assert!(!epoch_a.is_empty());
        assert_eq!(
            (&epoch_b, &epoch_c),
            (&epoch_a, &epoch_a),
            "welcome.epoch names the cluster's stream on every hub"
        );
        on_b.subscribe("fan/**", None).await.unwrap();
        on_c.subscribe("fan/**", None).await.unwrap();

        assert_eq!(acked(&mut publisher, "fan/one", "first").await, 1);
        let first = Some(&Scalar::Str("first".into()));
        for (who, watcher) in [("hub-b", &mut on_b), ("hub-c", &mut on_c)] {
            let created = first_snapshot(watcher, who, "fan/one").await;
            assert_eq!(
                (created.seq, created.reset, created.fields.get(TAG)),
                (1, false, first),
                "{who}: the creation's snapshot"
            );
        }
        assert_eq!(acked(&mut publisher, "fan/one", "second").await, 2);
        for (who, watcher) in [("hub-b", &mut on_b), ("hub-c", &mut on_c)] {
            let deltas = deltas_until(watcher, who, "fan/one", 1, 2).await;
            assert_eq!(tag_of(&deltas[0]).as_deref(), Some("second"), "{who}");
        }

        // A client of B that saw seq 2 moves to C: nothing missed, nothing sent.
        drop(on_b);
        let mut moved = connect(&cluster.c).await;
        let since = BTreeMap::from([("fan/one".to_owned(), 2)]);
        assert_eq!(resume(&mut moved, "fan/**", since, &epoch_a).await, 1);
        assert_quiet(&mut moved, ms(500)).await;
        // ... and gets the next change live, whichever hub it goes through.
        let mut through_b = connect(&cluster.b).await;
        assert_eq!(acked(&mut through_b, "fan/one", "third").await, 3);
        let deltas = deltas_until(&mut moved, "moved to hub-c", "fan/one", 2, 3).await;
        assert_eq!(tag_of(&deltas[0]).as_deref(), Some("third"));
    })
    .await;
}

/// `list/x` at seq 2 through A, `list/y` at 1 through B, `list/z` at 3 through C.
const WRITES: [(&str, usize, u64); 3] = [("list/x", 0, 2), ("list/y", 1, 1), ("list/z", 2, 3)];

#[actix_web::test]
async fn every_hub_serves_the_same_snapshots_counts_lists_history_status_and_metrics() {
    let cluster = Cluster::start();
    within(secs(90), async {
        for (resource, writer, times) in WRITES {
            let mut client = connect(cluster.hubs()[writer]).await;
            for n in 1..=times {
                assert_eq!(
                    acked(&mut client, resource, &format!("{resource}#{n}")).await,
                    n
                );
            }
        }
        for hub in cluster.hubs() {
            for (resource, _, times) in WRITES {
                await_seq(hub, resource, times).await;
            }
            reads_agree(hub).await;
        }
        for hub in cluster.hubs() {
            await_nodes(hub, &NAMES, long()).await;
        }
        resources_counted_cluster_wide(&cluster).await;
        for hub in cluster.hubs() {
            cluster_metrics(hub).await;
        }
    })
    .await;
}

/// A `sub` count and its snapshots, the REST list, WS and REST history on `hub`.
async fn reads_agree(hub: &Hub) {
    let expected: BTreeMap<String, u64> = WRITES
        .iter()
        .map(|(resource, _, times)| ((*resource).to_owned(), *times))
        .collect();
    let mut client = connect(hub).await;
    assert_eq!(
        client.subscribe("list/**", None).await.unwrap(),
        3,
        "{}",
        hub.name
    );
    let mut snapshots = BTreeMap::new();
    for _ in 0..3 {
        let frame = client.frame_within(secs(10)).await.unwrap();
        let fillstack_protocol::ServerFrame::Snapshot(snapshot) = frame else {
            panic!("{}: expected snapshots, got {frame:?}", hub.name)
        };
        snapshots.insert(snapshot.resource, snapshot.seq);
    }
    assert_eq!(snapshots, expected, "{}: sub snapshots", hub.name);

    let (code, list) = get_json(&hub.http("/api/v1/resources?pattern=list/**")).await;
    assert_eq!(code, 200, "{}: {list}", hub.name);
    let listed: BTreeMap<String, u64> = list["resources"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: list {list}", hub.name))
        .iter()
        .map(|s| {
            (
                s["resource"].as_str().unwrap().to_owned(),
                s["seq"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, expected, "{}: REST list", hub.name);

    let (entries, complete) = history(&mut client, "list/z", 0).await;
    let tags: Vec<(u64, Option<String>)> = entries.iter().map(tagged_entry).collect();
    let written: Vec<(u64, Option<String>)> =
        (1..=3).map(|n| (n, Some(format!("list/z#{n}")))).collect();
    assert_eq!(
        (tags, complete),
        (written, true),
        "{}: WS history",
        hub.name
    );

    let (code, rest) = get_json(&hub.http("/api/v1/history/list/z?since=1")).await;
    let seqs: Vec<u64> = rest["deltas"]
        .as_array()
        .map(|deltas| deltas.iter().filter_map(|d| d["seq"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(
        (code, seqs),
        (200, vec![2, 3]),
        "{}: REST history {rest}",
        hub.name
    );
}

/// Every hub holds every resource: `resources` is the same number everywhere.
async fn resources_counted_cluster_wide(cluster: &Cluster) {
    eventually("the same `resources` on every hub", long(), async || {
        let mut counts = Vec::new();
        for hub in cluster.hubs() {
            let body: Value = status(hub).await;
            counts.push((hub.name.clone(), body["resources"].as_u64()));
        }
        let first = counts[0].1;
        if first.is_some_and(|n| n >= 3) && counts.iter().all(|(_, n)| *n == first) {
            Ok(())
        } else {
            Err(format!("{counts:?}"))
        }
    })
    .await;
}

/// `fillstack_cluster_nodes` 3, a publish-to-ack histogram that has counted
/// this hub's publishes, and a lag gauge.
async fn cluster_metrics(hub: &Hub) {
    eventually(
        &format!("{}'s cluster metrics", hub.name),
        long(),
        async || {
            let (code, text) = get_text(&hub.http("/metrics")).await;
            let nodes = metric_value(&text, "fillstack_cluster_nodes");
            let published = metric_value(&text, "fillstack_cluster_publish_seconds_count");
            let buckets = metric_value(&text, "fillstack_cluster_publish_seconds_bucket");
            let lag = metric_value(&text, "fillstack_cluster_lag_messages");
            let good = code == 200
                && nodes == Some(3.0)
                && published.is_some_and(|n| n >= 1.0)
                && buckets.is_some()
                && lag.is_some_and(|lag| lag >= 0.0);
            if good {
                Ok(())
            } else {
                Err(format!(
                    "{code}: nodes {nodes:?}, publish_seconds_count {published:?}, \
                 a bucket {buckets:?}, lag {lag:?}"
                ))
            }
        },
    )
    .await;
}
