//! SIGKILL of a hub while others publish: its clients resume on another hub with
//! `since` and get exactly what they missed, the dead node leaves `nodes`, and the
//! hub restarted on its data dir catches up with everything.

use std::collections::BTreeMap;
use std::time::Instant;

use fillstack_loadtest::Client;
use fillstack_protocol::{HistoryEntry, ServerFrame};

use crate::harness::{Cluster, Hub, NAMES, long, pause, within};
use crate::support::{assert_quiet, ms, secs};
use crate::wire::{
    acked, acked_retrying, await_nodes, await_seq, connect, get_json, history, resume, session,
    tag_of, tagged_entry,
};

const SHARED: &str = "kill/shared";
const IDS: [&str; 3] = [SHARED, "kill/b", "kill/c"];
/// Changes each of B and C publishes after the watcher on A started reading.
const EACH: u64 = 120;
/// Frames the watcher on A reads before A is killed.
const READ_BEFORE_KILL: usize = 40;

#[actix_web::test]
async fn clients_of_a_killed_hub_resume_on_another_with_no_gap_and_the_hub_catches_up() {
    let mut cluster = Cluster::start();
    within(secs(150), async {
        let mut setup = connect(&cluster.b).await;
        for id in IDS {
            assert_eq!(acked(&mut setup, id, "created").await, 1);
            await_seq(&cluster.a, id, 1).await;
        }
        let (mut watcher, epoch) = session(&cluster.a).await;
        assert_eq!(watcher.subscribe("kill/**", None).await.unwrap(), 3);

        let mut on_b = connect(&cluster.b).await;
        let mut on_c = connect(&cluster.c).await;
        let (killed_at, seen) = {
            let hub_a = &mut cluster.a;
            let watch = async {
                let seen = watch_until(&mut watcher, READ_BEFORE_KILL).await;
                hub_a.kill9();
                (Instant::now(), seen)
            };
            let ((), (), outcome) = futures_util::join!(
                publish_run(&mut on_b, "b", "kill/b"),
                publish_run(&mut on_c, "c", "kill/c"),
                watch
            );
            outcome
        };
        drop(watcher);

        let mut heads = BTreeMap::new();
        for id in IDS {
            heads.insert(id.to_owned(), 1 + EACH);
        }
        heads.insert(SHARED.to_owned(), 1 + 2 * EACH);
        for (id, head) in &heads {
            let held = await_seq(&cluster.b, id, *head).await;
            assert_eq!(held["seq"], *head, "{id}: one seq per acked publish");
        }
        resume_on_b(&cluster.b, seen, &heads, &epoch).await;

        await_nodes(&cluster.b, &NAMES[1..], long()).await;
        let gone_after = killed_at.elapsed();
        assert!(
            gone_after < secs(20),
            "hub-a left `nodes` only {gone_after:?} after its SIGKILL"
        );
        await_nodes(&cluster.c, &NAMES[1..], long()).await;

        cluster.a.restart();
        catch_up(&cluster.a, &cluster.b, &heads).await;
        let (_, epoch_after) = session(&cluster.a).await;
        assert_eq!(
            epoch_after, epoch,
            "the restarted hub announces the same epoch"
        );
        await_nodes(&cluster.b, &NAMES, long()).await;
    })
    .await;
}

/// Reads `count` frames of `kill/**`, checking each resource's seqs go up by one;
/// the last seq seen of each resource.
async fn watch_until(watcher: &mut Client, count: usize) -> BTreeMap<String, u64> {
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for _ in 0..count {
        match watcher.frame_within(long()).await.unwrap() {
            ServerFrame::Snapshot(snapshot) => {
                seen.insert(snapshot.resource, snapshot.seq);
            }
            ServerFrame::Delta(delta) => {
                let before = seen.insert(delta.resource.clone(), delta.seq);
                assert_eq!(
                    before.map(|seq| seq + 1),
                    Some(delta.seq),
                    "hub-a delivered {} out of order",
                    delta.resource
                );
            }
            other => panic!("watcher on hub-a: {other:?}"),
        }
    }
    seen
}

/// `EACH` changes, alternating between the shared resource and `own`, paced so
/// that the kill falls in the middle of them.
async fn publish_run(client: &mut Client, who: &str, own: &str) {
    for k in 0..EACH {
        acked_retrying(client, SHARED, &format!("{who}/shared/{k}")).await;
        acked_retrying(client, own, &format!("{who}/own/{k}")).await;
        pause(ms(10)).await;
    }
}

/// The watcher's session comes back on B with `since` and `epoch`: exactly the
/// deltas it missed, in order, no reset, each equal to B's history.
async fn resume_on_b(
    hub_b: &Hub,
    seen: BTreeMap<String, u64>,
    heads: &BTreeMap<String, u64>,
    epoch: &str,
) {
    let missed: u64 = heads.iter().map(|(id, head)| head - seen[id]).sum();
    assert!(
        missed > 0,
        "the watcher saw everything before the kill ({seen:?}): the test proved nothing"
    );
    let mut client = connect(hub_b).await;
    assert_eq!(resume(&mut client, "kill/**", seen.clone(), epoch).await, 3);
    let mut at = seen.clone();
    let mut got: BTreeMap<String, Vec<(u64, Option<String>)>> = BTreeMap::new();
    while at != *heads {
        let frame = client
            .frame_within(long())
            .await
            .unwrap_or_else(|e| panic!("resumed on hub-b at {at:?}, heads {heads:?}: {e}"));
        let ServerFrame::Delta(delta) = frame else {
            panic!("resumed on hub-b at {at:?}: expected only missed deltas, got {frame:?}")
        };
        let last = at.get_mut(&delta.resource).unwrap();
        assert_eq!(delta.seq, *last + 1, "gap in {}", delta.resource);
        *last = delta.seq;
        got.entry(delta.resource.clone())
            .or_default()
            .push((delta.seq, tag_of(&delta)));
    }
    assert_quiet(&mut client, ms(500)).await;
    for (id, after) in &seen {
        let (entries, _) = history(&mut client, id, *after).await;
        let stored: Vec<(u64, Option<String>)> = entries.iter().map(tagged_entry).collect();
        assert_eq!(
            got.remove(id).unwrap_or_default(),
            stored,
            "{id}: the resumed deltas are not hub-b's history after {after}"
        );
    }
    eprintln!("resumed on hub-b: {missed} missed deltas after {seen:?}");
}

/// The restarted hub ends with the same snapshots and history as `reference`.
async fn catch_up(restarted: &Hub, reference: &Hub, heads: &BTreeMap<String, u64>) {
    let mut on_restarted = connect(restarted).await;
    let mut on_reference = connect(reference).await;
    for (id, head) in heads {
        let caught_up = await_seq(restarted, id, *head).await;
        let (_, expected) = get_json(&reference.http(&format!("/api/v1/resources/{id}"))).await;
        assert_eq!(
            caught_up, expected,
            "{id}: hub-a's snapshot after its restart"
        );
        let (mine, _) = history(&mut on_restarted, id, 0).await;
        let (theirs, _) = history(&mut on_reference, id, 0).await;
        assert!(
            mine == theirs,
            "{id}: hub-a's history ({} entries, last {:?}) is not hub-b's ({} entries, last {:?})",
            mine.len(),
            mine.last().map(HistoryEntry::seq),
            theirs.len(),
            theirs.last().map(HistoryEntry::seq)
        );
    }
}
