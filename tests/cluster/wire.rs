//! Speaking to a hub of the cluster: sessions with their `welcome.epoch`, tagged
//! publishes (one unique string field per change, so a delta names the publish
//! that made it), snapshots, history, resume with `since` and `epoch`, and the
//! REST routes as JSON.

use std::collections::BTreeMap;
use std::time::Duration;

use fillstack_loadtest::Client;
use fillstack_protocol::{
    ClientFrame, Codec, DeltaFrame, ErrorCode, FieldChanges, HistoryEntry, PublishFrame, Scalar,
    ServerFrame, SnapshotFrame,
};
use serde_json::Value;

use crate::harness::{Hub, eventually, long};
use crate::support::secs;

/// The field every tagged publish sets.
pub const TAG: &str = "tag";

/// A session on `hub` after `hello`, and the `epoch` of its `welcome`.
pub async fn session(hub: &Hub) -> (Client, String) {
    let mut client = Client::connect(&hub.url(), Codec::MsgPack)
        .await
        .unwrap_or_else(|e| panic!("connect to {}: {e}", hub.name));
    match client.hello(None).await {
        Ok(ServerFrame::Welcome { epoch, .. }) => (client, epoch),
        other => panic!("hello on {} got {other:?}", hub.name),
    }
}

pub async fn connect(hub: &Hub) -> Client {
    session(hub).await.0
}

/// `{"tag": tag}`.
pub fn tagged(tag: &str) -> FieldChanges {
    BTreeMap::from([(TAG.to_owned(), Some(Scalar::Str(tag.to_owned())))])
}

/// The tag a delta carries, when it carries exactly a tag and nothing else.
pub fn tag_of(delta: &DeltaFrame) -> Option<String> {
    let fields = delta.fields.as_ref()?;
    if fields.len() != 1 || delta.status.is_some() || delta.labels.is_some() {
        return None;
    }
    match fields.get(TAG)? {
        Some(Scalar::Str(tag)) => Some(tag.clone()),
        _ => None,
    }
}

/// The tag a delta sets, whatever else it carries (a creation's delta also
/// carries its first status, `unknown` when none was given).
pub fn tag_in(delta: &DeltaFrame) -> Option<String> {
    match delta.fields.as_ref()?.get(TAG)? {
        Some(Scalar::Str(tag)) => Some(tag.clone()),
        _ => None,
    }
}

/// A history entry as (seq, the tag it set); a removal has no tag.
pub fn tagged_entry(entry: &HistoryEntry) -> (u64, Option<String>) {
    match entry {
        HistoryEntry::Delta(delta) => (delta.seq, tag_in(delta)),
        HistoryEntry::Removed(removed) => (removed.seq, None),
    }
}

/// Publishes `{"tag": tag}` to `resource`; the hub's answer (`ack` or `error`).
pub async fn publish_tag(client: &mut Client, resource: &str, tag: &str) -> ServerFrame {
    let id = client.next_id();
    let frame = ClientFrame::Pub(PublishFrame {
        id,
        resource: resource.to_owned(),
        fields: Some(tagged(tag)),
        ..PublishFrame::default()
    });
    client
        .request(&frame, secs(15))
        .await
        .unwrap_or_else(|e| panic!("pub {resource} {tag}: {e}"))
}

/// Publishes `{"tag": tag}` and returns its acked seq, failing on anything else.
pub async fn acked(client: &mut Client, resource: &str, tag: &str) -> u64 {
    match publish_tag(client, resource, tag).await {
        ServerFrame::Ack { seq, .. } => seq,
        other => panic!("pub {resource} {tag} was not acked: {other:?}"),
    }
}

/// Publishes with retries while the hub answers `unavailable` (what a client
/// is told to do); the acked seq and how many times it was refused.
pub async fn acked_retrying(client: &mut Client, resource: &str, tag: &str) -> (u64, u32) {
    let mut refusals = 0;
    loop {
        match publish_tag(client, resource, tag).await {
            ServerFrame::Ack { seq, .. } => return (seq, refusals),
            ServerFrame::Error {
                code: ErrorCode::Unavailable,
                retry_after_ms,
                ..
            } if refusals < 20 => {
                refusals += 1;
                let wait = retry_after_ms.unwrap_or(50).min(1000);
                crate::harness::pause(Duration::from_millis(wait)).await;
            }
            other => panic!("pub {resource} {tag} after {refusals} refusals: {other:?}"),
        }
    }
}

/// `get`: the snapshot, or `None` on `not_found`.
pub async fn snapshot(client: &mut Client, resource: &str) -> Option<SnapshotFrame> {
    let id = client.next_id();
    let frame = ClientFrame::Get {
        id,
        resource: resource.to_owned(),
    };
    match client.request(&frame, secs(10)).await.unwrap() {
        ServerFrame::Snapshot(snapshot) => Some(snapshot),
        ServerFrame::Error {
            code: ErrorCode::NotFound,
            ..
        } => None,
        other => panic!("get {resource}: {other:?}"),
    }
}

/// Every delta of `resource` after `since` through `history` (following `more`);
/// and whether the first answer was `complete`.
pub async fn history(client: &mut Client, resource: &str, since: u64) -> (Vec<HistoryEntry>, bool) {
    let mut entries = Vec::new();
    let mut after = since;
    let mut complete = None;
    loop {
        let id = client.next_id();
        let frame = ClientFrame::History {
            id,
            resource: resource.to_owned(),
            since: after,
            limit: Some(1000),
        };
        let answer = client.request(&frame, secs(10)).await.unwrap();
        let ServerFrame::History {
            deltas,
            complete: whole,
            more,
            ..
        } = answer
        else {
            panic!("history {resource} since {after}: {answer:?}")
        };
        complete.get_or_insert(whole);
        after = deltas.last().map_or(after, HistoryEntry::seq);
        let empty = deltas.is_empty();
        entries.extend(deltas);
        if !more || empty {
            return (entries, complete.unwrap_or(true));
        }
    }
}

/// `sub` carrying `since` and `epoch`; the `count` of its `ok`.
pub async fn resume(
    client: &mut Client,
    pattern: &str,
    since: BTreeMap<String, u64>,
    epoch: &str,
) -> u64 {
    let id = client.next_id();
    let frame = ClientFrame::Sub {
        id,
        pattern: pattern.to_owned(),
        since: Some(since),
        epoch: Some(epoch.to_owned()),
        more: false,
    };
    match client.request(&frame, secs(10)).await.unwrap() {
        ServerFrame::Ok { count, .. } => count.unwrap_or(0),
        other => panic!("sub {pattern} with since: {other:?}"),
    }
}

/// Reads frames until every delta of `resource` up to `last` arrived; the deltas
/// in the order received. Fails on a snapshot with `reset`, a removal, a gap or
/// a delta of `resource` that goes backwards.
pub async fn deltas_until(
    client: &mut Client,
    who: &str,
    resource: &str,
    after: u64,
    last: u64,
) -> Vec<DeltaFrame> {
    let mut seen: Vec<DeltaFrame> = Vec::new();
    let mut at = after;
    while at < last {
        let frame = client.frame_within(long()).await.unwrap_or_else(|e| {
            panic!(
                "{who}: waiting for {resource} seq {} of {last}: {e}",
                at + 1
            )
        });
        match frame {
            ServerFrame::Delta(delta) if delta.resource == resource => {
                assert_eq!(delta.seq, at + 1, "{who}: {resource} jumped from {at}");
                at = delta.seq;
                seen.push(delta);
            }
            ServerFrame::Delta(_) => {}
            other => panic!("{who}: expected deltas of {resource} after {at}, got {other:?}"),
        }
    }
    seen
}

/// The next frame, which must be `resource`'s snapshot; it is returned.
pub async fn first_snapshot(client: &mut Client, who: &str, resource: &str) -> SnapshotFrame {
    match client.frame_within(long()).await {
        Ok(ServerFrame::Snapshot(snapshot)) if snapshot.resource == resource => snapshot,
        other => panic!("{who}: expected the snapshot of {resource}, got {other:?}"),
    }
}

fn http() -> awc::Client {
    awc::Client::builder().timeout(secs(15)).finish()
}

/// GET `url`: the status and the body as JSON (`Null` when it is not JSON).
pub async fn get_json(url: &str) -> (u16, Value) {
    let (status, body) = get_text(url).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// GET `url`: the status and the body as text.
pub async fn get_text(url: &str) -> (u16, String) {
    let mut response = http()
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let body = response.body().limit(16 << 20).await.unwrap();
    (
        response.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// POST `body` as JSON to `url`: the status and the answer as JSON.
pub async fn post_json(url: &str, body: &Value) -> (u16, Value) {
    let mut response = http()
        .post(url)
        .send_json(body)
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let answer = response.body().await.unwrap();
    (
        response.status().as_u16(),
        serde_json::from_slice(&answer).unwrap_or(Value::Null),
    )
}

/// `/api/v1/status` of `hub`.
pub async fn status(hub: &Hub) -> Value {
    let (code, body) = get_json(&hub.http("/api/v1/status")).await;
    assert_eq!(code, 200, "status of {}: {body}", hub.name);
    body
}

/// `nodes` of `hub`'s `/api/v1/status`.
pub async fn nodes(hub: &Hub) -> Vec<String> {
    let body = status(hub).await;
    serde_json::from_value(body["nodes"].clone())
        .unwrap_or_else(|e| panic!("nodes of {}: {e} in {body}", hub.name))
}

/// Waits until `hub` reports exactly `expected` as its live nodes.
pub async fn await_nodes(hub: &Hub, expected: &[&str], limit: Duration) {
    eventually(
        &format!("{} listing nodes {expected:?}", hub.name),
        limit,
        async || {
            let nodes = nodes(hub).await;
            if nodes == expected {
                Ok(())
            } else {
                Err(format!("{nodes:?}"))
            }
        },
    )
    .await;
}

/// Waits until `hub` holds `resource` at seq `seq` or later (REST snapshot).
pub async fn await_seq(hub: &Hub, resource: &str, seq: u64) -> Value {
    eventually(
        &format!("{} holding {resource} at seq {seq}", hub.name),
        long(),
        async || {
            let (code, body) = get_json(&hub.http(&format!("/api/v1/resources/{resource}"))).await;
            match body["seq"].as_u64() {
                Some(at) if code == 200 && at >= seq => Ok(body),
                _ => Err(format!("{code} {body}")),
            }
        },
    )
    .await
}

/// The value of the first sample of `metric` in a Prometheus text, if any.
pub fn metric_value(text: &str, metric: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| {
            line.strip_prefix(metric)
                .is_some_and(|rest| rest.starts_with([' ', '{']))
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}
