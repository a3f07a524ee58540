//! One resource, one sequence: publishes racing through two hubs get distinct
//! seqs that together run 1..N with no gap, and every hub delivers the same seq
//! with the same content.

use std::collections::BTreeMap;

use fillstack_loadtest::Client;
use futures_util::future::join_all;

use crate::harness::{Cluster, Hub, within};
use crate::support::secs;
use crate::wire::{
    acked, acked_retrying, await_seq, connect, deltas_until, first_snapshot, tag_of,
};

const RESOURCE: &str = "race/one";
/// Publishing sessions per hub (A and B), each publishing `EACH` changes one
/// after the other: 2 × 2 × 100 = 400 racing changes.
const PUBLISHERS_PER_HUB: usize = 2;
const EACH: u64 = 100;

#[actix_web::test]
async fn concurrent_publishes_through_a_and_b_form_one_gapless_sequence_seen_alike_everywhere() {
    let cluster = Cluster::start();
    within(secs(150), async {
        let mut creator = connect(&cluster.a).await;
        assert_eq!(acked(&mut creator, RESOURCE, "created").await, 1);
        let mut watchers = Vec::new();
        for hub in cluster.hubs() {
            await_seq(hub, RESOURCE, 1).await;
            let mut watcher = connect(hub).await;
            watcher.subscribe(RESOURCE, None).await.unwrap();
            let snapshot = first_snapshot(&mut watcher, &hub.name, RESOURCE).await;
            assert_eq!(snapshot.seq, 1, "{}", hub.name);
            watchers.push((hub.name.clone(), watcher));
        }

        let mut runs = Vec::new();
        for hub in [&cluster.a, &cluster.b] {
            for n in 0..PUBLISHERS_PER_HUB {
                runs.push(publish_run(hub, format!("{}-{n}", hub.name)));
            }
        }
        let mut by_seq: BTreeMap<u64, String> = BTreeMap::new();
        let mut refusals = 0;
        for (acks, refused) in join_all(runs).await {
            refusals += refused;
            for (seq, tag) in acks {
                if let Some(other) = by_seq.insert(seq, tag.clone()) {
                    panic!("seq {seq} acked twice: to {other} and to {tag}");
                }
            }
        }
        let total = PUBLISHERS_PER_HUB as u64 * 2 * EACH;
        let last = total + 1;
        let seqs: Vec<u64> = by_seq.keys().copied().collect();
        assert_eq!(
            seqs,
            (2..=last).collect::<Vec<_>>(),
            "the acked seqs are not 2..={last} ({refusals} publishes were refused `unavailable` and retried)"
        );
        // How often consecutive seqs came through different hubs: the race was real.
        let hubs: Vec<&str> = by_seq.values().map(|tag| &tag[..5]).collect();
        let switches = hubs.windows(2).filter(|pair| pair[0] != pair[1]).count();
        assert!(switches > 0, "the publishes through A and B never interleaved");
        eprintln!(
            "{total} racing publishes acked; consecutive seqs through different hubs \
             {switches} times; {refusals} refusals retried"
        );

        for (who, watcher) in &mut watchers {
            let seen: Vec<(u64, Option<String>)> = deltas_until(watcher, who, RESOURCE, 1, last)
                .await
                .iter()
                .map(|delta| (delta.seq, tag_of(delta)))
                .collect();
            let expected: Vec<(u64, Option<String>)> = by_seq
                .iter()
                .map(|(seq, tag)| (*seq, Some(tag.clone())))
                .collect();
            assert!(
                seen == expected,
                "{who} delivered another sequence than the acks: first difference at {:?}",
                seen.iter().zip(&expected).find(|(s, e)| s != e)
            );
        }
    })
    .await;
}

/// One session on `hub` publishing `EACH` tagged changes one after the other:
/// (seq, tag) per ack, and how many refusals it retried.
async fn publish_run(hub: &Hub, name: String) -> (Vec<(u64, String)>, u32) {
    let mut client: Client = connect(hub).await;
    let mut acks = Vec::new();
    let mut refusals = 0;
    for k in 0..EACH {
        let tag = format!("{name}/{k}");
        let (seq, refused) = acked_retrying(&mut client, RESOURCE, &tag).await;
        refusals += refused;
        acks.push((seq, tag));
    }
    (acks, refusals)
}
