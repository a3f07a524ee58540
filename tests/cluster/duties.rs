//! Duties done by one hub: a TTL expiry turns a resource `stale` once cluster-wide
//! (one delta, not one per hub), and when a hub is SIGKILLed the others take its
//! expiries over, still once each. The hub's own `hub/<node>/**` resources, with
//! their TTL of three health intervals, go stale once after their node died.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use fillstack_loadtest::Client;
use fillstack_protocol::{ClientFrame, HistoryEntry, PublishFrame, ServerFrame, Status};

use crate::harness::{Cluster, Hub, eventually, long, pause, within};
use crate::support::{assert_quiet, ms, secs};
use crate::wire::{connect, deltas_until, first_snapshot, get_json, history};

/// Publishes `status: up` with `ttl_ms` to `resource`; its acked seq.
async fn up_with_ttl(client: &mut Client, resource: &str, ttl: Duration) -> u64 {
    let id = client.next_id();
    let publish = PublishFrame {
        id,
        resource: resource.to_owned(),
        status: Some("up".into()),
        ttl_ms: Some(u64::try_from(ttl.as_millis()).unwrap()),
        ..PublishFrame::default()
    };
    client
        .publish_frame(ClientFrame::Pub(publish))
        .await
        .unwrap()
}

/// The statuses of `resource`'s history on `hub`, by seq.
async fn statuses(hub: &Hub, resource: &str) -> Vec<(u64, Option<Status>)> {
    let mut client = connect(hub).await;
    let (entries, _) = history(&mut client, resource, 0).await;
    entries
        .iter()
        .map(|entry| match entry {
            HistoryEntry::Delta(delta) => (delta.seq, delta.status),
            HistoryEntry::Removed(removed) => (removed.seq, None),
        })
        .collect()
}

#[actix_web::test]
async fn a_ttl_expiry_turns_the_resource_stale_once_cluster_wide() {
    let cluster = Cluster::start();
    within(secs(60), async {
        let mut watchers = Vec::new();
        for hub in cluster.hubs() {
            let mut watcher = connect(hub).await;
            watcher.subscribe("ttl/**", None).await.unwrap();
            watchers.push((hub.name.clone(), watcher));
        }
        let mut agent = connect(&cluster.a).await;
        assert_eq!(up_with_ttl(&mut agent, "ttl/one", ms(1000)).await, 1);
        for (who, watcher) in &mut watchers {
            assert_eq!(first_snapshot(watcher, who, "ttl/one").await.seq, 1);
            let stale = deltas_until(watcher, who, "ttl/one", 1, 2).await;
            assert_eq!(
                stale[0].status,
                Some(Status::Stale),
                "{who}: seq 2 is the expiry"
            );
        }
        // Three hubs, three chances to expire it: only one change may come of it.
        pause(secs(3)).await;
        for (who, watcher) in &mut watchers {
            if let Ok(more) = watcher.recv_within(ms(100)).await {
                panic!("{who}: after the one stale delta came {more:?}");
            }
        }
        for hub in cluster.hubs() {
            assert_eq!(
                statuses(hub, "ttl/one").await,
                [(1, Some(Status::Up)), (2, Some(Status::Stale))],
                "{}: ttl/one's history",
                hub.name
            );
        }
    })
    .await;
}

/// Resources with a TTL created just before hub-a dies: with three nodes, the
/// chance that hub-a owned none of them is (2/3)^24, about 6 in 100 000.
const MANY: usize = 24;
const TTL: Duration = Duration::from_secs(6);

#[actix_web::test]
async fn expiries_of_a_killed_hub_are_taken_over_and_each_goes_stale_once() {
    let mut cluster = Cluster::start();
    within(secs(120), async {
        let ids: Vec<String> = (0..MANY).map(|n| format!("own/r{n:02}")).collect();
        let mut watchers = Vec::new();
        for hub in [&cluster.b, &cluster.c] {
            let mut watcher = connect(hub).await;
            watcher.subscribe("own/**", None).await.unwrap();
            watchers.push((hub.name.clone(), watcher));
        }
        // hub-a reports its health one interval (5 s) after its start.
        await_health_of(&cluster.b, "hub-a").await;
        let mut agent = connect(&cluster.b).await;
        let created = Instant::now();
        for id in &ids {
            assert_eq!(up_with_ttl(&mut agent, id, TTL).await, 1, "{id}");
        }
        cluster.a.kill9();
        assert!(
            created.elapsed() < TTL / 2,
            "creating {MANY} resources took {:?}: too slow to kill hub-a before they expire",
            created.elapsed()
        );
        let mut when = Vec::new();
        for (who, watcher) in &mut watchers {
            when.push(each_stale_once(watcher, who, &ids, created).await);
        }
        // Timed by the first watcher read (the second's frames waited meanwhile).
        let stale_after = when.swap_remove(0);
        pause(secs(2)).await;
        for (who, watcher) in &mut watchers {
            assert_quiet(watcher, ms(200)).await;
            eprintln!("{who}: quiet after the expiries");
        }
        let late = stale_after.values().filter(|after| **after > TTL + secs(3)).count();
        eprintln!(
            "{late} of {MANY} went stale more than 3 s late (taken over from hub-a): {stale_after:?}"
        );
        for id in &ids {
            assert_eq!(
                statuses(&cluster.c, id).await,
                [(1, Some(Status::Up)), (2, Some(Status::Stale))],
                "hub-c: {id}'s history"
            );
        }
        dead_nodes_health_goes_stale_once(&cluster.b).await;
    })
    .await;
}

/// Reads until every one of `ids` went stale (within TTL + 30 s): a creation
/// snapshot at seq 1, then one stale delta at seq 2, nothing else. When each
/// went stale, counted from `created`.
async fn each_stale_once(
    watcher: &mut Client,
    who: &str,
    ids: &[String],
    created: Instant,
) -> BTreeMap<String, Duration> {
    let deadline = created + TTL + secs(30);
    let mut stale_after: BTreeMap<String, Duration> = BTreeMap::new();
    let mut snapshots = 0;
    while stale_after.len() < ids.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = watcher.frame_within(left).await.unwrap_or_else(|e| {
            let missing: Vec<&String> = ids
                .iter()
                .filter(|id| !stale_after.contains_key(*id))
                .collect();
            panic!("{who}: never went stale: {missing:?} ({e})")
        });
        match frame {
            ServerFrame::Snapshot(snapshot) if snapshot.seq == 1 && !snapshot.reset => {
                snapshots += 1
            }
            ServerFrame::Delta(delta) if delta.seq == 2 && delta.status == Some(Status::Stale) => {
                let first = stale_after.insert(delta.resource.clone(), created.elapsed());
                assert!(
                    first.is_none(),
                    "{who}: {} went stale twice",
                    delta.resource
                );
            }
            other => panic!("{who}: expected creations then one stale delta each, got {other:?}"),
        }
    }
    assert_eq!(snapshots, ids.len(), "{who}: creation snapshots");
    stale_after
}

/// Waits until `hub` lists resources under `hub/<node>/`.
async fn await_health_of(hub: &Hub, node: &str) {
    let url = hub.http(&format!("/api/v1/resources?pattern=hub/{node}/**"));
    eventually(
        &format!("{}'s health resources on {}", node, hub.name),
        long(),
        async || {
            let (code, list) = get_json(&url).await;
            match list["resources"].as_array() {
                Some(resources) if code == 200 && !resources.is_empty() => Ok(()),
                _ => Err(format!("{code} {list}")),
            }
        },
    )
    .await;
}

/// hub-a's own health resources (TTL three health intervals) go stale after its
/// death, once each: their last delta is the expiry and the one before is not.
async fn dead_nodes_health_goes_stale_once(survivor: &Hub) {
    let listed = eventually("hub/hub-a/** all stale on a survivor", long(), async || {
        let (code, list) = get_json(&survivor.http("/api/v1/resources?pattern=hub/hub-a/**")).await;
        let resources = list["resources"].as_array().cloned().unwrap_or_default();
        let all_stale = resources.iter().all(|s| s["status"] == "stale");
        if code == 200 && !resources.is_empty() && all_stale {
            Ok(resources)
        } else {
            Err(format!("{code} {list}"))
        }
    })
    .await;
    pause(secs(1)).await;
    for resource in listed {
        let id = resource["resource"].as_str().unwrap();
        let trail = statuses(survivor, id).await;
        let tail: Vec<Option<Status>> = trail.iter().rev().take(2).map(|(_, s)| *s).collect();
        assert!(
            tail.first() == Some(&Some(Status::Stale)) && tail.get(1) != Some(&Some(Status::Stale)),
            "{id}: expected one stale delta after hub-a's death, history ends {:?}",
            trail.iter().rev().take(3).collect::<Vec<_>>()
        );
    }
}
