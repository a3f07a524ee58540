//! The stream keeps only the last `--history` messages of each resource, yet a
//! hub that joins later reaches every resource's whole current state (each
//! message carries the state it makes), its history says it is incomplete, and a
//! client resuming from before the kept history gets a reset snapshot, not a gap.

use std::collections::BTreeMap;

use fillstack_protocol::ServerFrame;
use serde_json::json;

use crate::harness::{Broker, Hub, within};
use crate::support::secs;
use crate::wire::{await_seq, connect, get_json, post_json, resume, session};

const RESOURCE: &str = "tr/accumulated";

#[actix_web::test]
async fn a_late_hub_reaches_the_whole_state_past_a_trimmed_history() {
    let broker = Broker::start();
    let first = Hub::start_with("hub-a", &broker.url(), &["--history", "4"]);
    within(secs(90), async {
        // Ten changes, each setting a field of its own: the last four messages
        // alone do not name the first six fields.
        for n in 0..10 {
            let (code, body) = post_json(
                &first.http(&format!("/api/v1/resources/{RESOURCE}")),
                &json!({"status": "up", "fields": {format!("f{n}"): n}}),
            )
            .await;
            assert_eq!(code, 200, "publish {n}: {body}");
        }
        let late = Hub::start_with("hub-d", &broker.url(), &["--history", "4"]);
        let snapshot = await_seq(&late, RESOURCE, 10).await;
        for n in 0..10 {
            assert_eq!(
                snapshot["fields"][format!("f{n}")],
                json!(n),
                "field f{n} of the late hub's snapshot: {snapshot}"
            );
        }
        let (code, history) =
            get_json(&late.http(&format!("/api/v1/history/{RESOURCE}?since=0&limit=100"))).await;
        assert_eq!(code, 200, "{history}");
        let seqs: Vec<u64> = history["deltas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(
            seqs,
            [7, 8, 9, 10],
            "the late hub holds what the stream kept"
        );
        assert_eq!(history["complete"], json!(false), "{history}");

        // A client of the first hub saw seq 2; resuming on the late hub, whose
        // history starts at 7, it gets one reset snapshot with the whole state.
        let (_, epoch) = session(&first).await;
        let mut client = connect(&late).await;
        let since = BTreeMap::from([(RESOURCE.to_owned(), 2)]);
        resume(&mut client, RESOURCE, since, &epoch).await;
        let reset = loop {
            match client.frame_within(secs(10)).await.unwrap() {
                ServerFrame::Snapshot(snapshot) => break snapshot,
                ServerFrame::Delta(delta) => panic!("a delta after a gap: {delta:?}"),
                _ => {}
            }
        };
        assert!(
            reset.reset,
            "a resume past the kept history is a reset: {reset:?}"
        );
        assert_eq!(reset.seq, 10);
        assert_eq!(reset.fields.len(), 10, "{reset:?}");
        drop(late);
    })
    .await;
    drop(first);
}
