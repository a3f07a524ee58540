//! Model test of rollups and alerts against a real hub: generated sequences of
//! publishes, deletions and reloads (which add, change and remove rollups), then
//! every rollup's counts must equal a recount of its members, and every alert
//! resource must say firing exactly for the members whose status is in `on`.
//! `FILLSTACK_MONITOR_CASES` sets the number of cases (default 16);
//! `FILLSTACK_MONITOR_SEED` replays one run; the seed is printed first.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Instant;

use fillstack::monitor::spec::MonitorSpec;
use fillstack_protocol::Status;
use proptest::prelude::*;
use support::{TestHub, fields, ms, secs};

const MEMBERS: [&str; 6] = ["m/a", "m/b", "m/c/d", "m/a/b", "x/a", "x/b/c"];
/// The rollups a reload may install: (resource, pattern).
const ROLLUPS: [(&str, &str); 4] = [
    ("rollup/m", "m/**"),
    ("rollup/m-top", "m/*"),
    ("rollup/x", "x/**"),
    ("top/all", "rollup/*"),
];

#[derive(Debug, Clone)]
enum Op {
    Publish(usize, Status),
    Delete(usize),
    /// Installs the rollups whose bits are set (and always the alert).
    Reload(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..MEMBERS.len(), 0..Status::ALL.len()).prop_map(|(m, s)| Op::Publish(m, Status::ALL[s])),
        2 => (0..MEMBERS.len()).prop_map(Op::Delete),
        1 => any::<u8>().prop_map(Op::Reload),
    ]
}

fn spec(rollups: u8) -> MonitorSpec {
    let mut text = String::from(
        "[[alert]]\nname = \"down\"\npattern = \"m/**\"\non = [\"down\"]\nurl = \"http://127.0.0.1:9/\"\ntries = 1\n",
    );
    for (bit, (resource, pattern)) in ROLLUPS.iter().enumerate() {
        if rollups & (1 << bit) != 0 {
            text.push_str(&format!(
                "[[rollup]]\nresource = \"{resource}\"\npattern = \"{pattern}\"\n"
            ));
        }
    }
    MonitorSpec::from_toml(&text).unwrap()
}

async fn run(ops: Vec<Op>) -> Result<(), String> {
    let hub = TestHub::builder().monitor("").start().await;
    hub.registry().install(spec(0b1111));
    let mut client = hub.client().await;
    let mut statuses: BTreeMap<&str, Status> = BTreeMap::new();
    let mut installed = 0b1111u8;
    for op in &ops {
        match op {
            Op::Publish(member, status) => {
                client
                    .publish(MEMBERS[*member], Some(status.as_str()), fields(&[]))
                    .await
                    .map_err(|e| format!("publish: {e}"))?;
                statuses.insert(MEMBERS[*member], *status);
            }
            Op::Delete(member) => {
                awc::Client::new()
                    .delete(hub.http(&format!("/api/v1/resources/{}", MEMBERS[*member])))
                    .send()
                    .await
                    .map_err(|e| format!("delete: {e}"))?;
                statuses.remove(MEMBERS[*member]);
            }
            Op::Reload(bits) => {
                installed = *bits & 0b1111;
                hub.registry().install(spec(installed));
            }
        }
    }
    let expected = recount(&statuses, installed);
    let deadline = Instant::now() + secs(10);
    for (resource, counts) in &expected {
        loop {
            let seen = fetch(&hub, resource).await;
            let matches = seen.as_ref().is_some_and(|fields| {
                Status::ALL
                    .iter()
                    .enumerate()
                    .all(|(i, s)| fields[s.as_str()] == counts[i])
                    && fields["total"] == counts[6]
            });
            if matches {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{resource} shows {seen:?}, a recount gives {counts:?} (up, degraded, down, unknown, stale, maintenance, total) after {ops:?}"
                ));
            }
            actix_web::rt::time::sleep(ms(50)).await;
        }
    }
    check_alerts(&hub, &statuses, deadline, &ops).await?;
    hub.stop().await;
    Ok(())
}

/// Every alert resource says firing exactly for the members that are down.
async fn check_alerts(
    hub: &TestHub,
    statuses: &BTreeMap<&str, Status>,
    deadline: Instant,
    ops: &[Op],
) -> Result<(), String> {
    for member in MEMBERS.iter().filter(|m| m.starts_with("m/")) {
        let id = fillstack_protocol::ResourceId::parse(member).unwrap();
        let alert = fillstack::monitor::alert_resource("down", &id);
        let firing = statuses.get(member) == Some(&Status::Down);
        loop {
            let shown = fetch_status(hub, alert.as_str()).await;
            // A member never down has no alert resource; one that was shows `up`.
            let ok = if firing {
                shown.as_deref() == Some("down")
            } else {
                shown.as_deref() != Some("down")
            };
            if ok {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{alert} is {shown:?}, the member is {:?}, after {ops:?}",
                    statuses.get(member)
                ));
            }
            actix_web::rt::time::sleep(ms(50)).await;
        }
    }
    Ok(())
}

/// What each installed rollup should show: its members counted per status (up,
/// degraded, down, unknown, stale, maintenance, total), rollups among them.
fn recount(statuses: &BTreeMap<&str, Status>, installed: u8) -> BTreeMap<String, [i64; 7]> {
    let mut expected: BTreeMap<String, [i64; 7]> = BTreeMap::new();
    let order = |s: Status| Status::ALL.iter().position(|x| *x == s).unwrap();
    let mut counted: BTreeMap<String, Status> = statuses
        .iter()
        .map(|(id, s)| ((*id).to_owned(), *s))
        .collect();
    // Leaf rollups first, then top/all over them.
    for (bit, (resource, pattern)) in ROLLUPS.iter().enumerate() {
        if installed & (1 << bit) == 0 {
            continue;
        }
        let pattern = fillstack_protocol::Pattern::parse(pattern).unwrap();
        let mut counts = [0i64; 7];
        for (id, status) in &counted {
            if pattern.matches(&fillstack_protocol::ResourceId::parse(id).unwrap()) {
                counts[order(*status)] += 1;
                counts[6] += 1;
            }
        }
        let worst = fillstack::monitor::rollup::WORST_FIRST
            .into_iter()
            .find(|s| counts[order(*s)] > 0)
            .unwrap_or(Status::Unknown);
        counted.insert((*resource).to_owned(), worst);
        expected.insert((*resource).to_owned(), counts);
    }
    expected
}

async fn snapshot(hub: &TestHub, id: &str) -> Option<serde_json::Value> {
    let mut response = awc::Client::new()
        .get(hub.http(&format!("/api/v1/resources/{id}")))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json::<serde_json::Value>().await.ok()
}

async fn fetch(hub: &TestHub, id: &str) -> Option<BTreeMap<String, i64>> {
    let snapshot = snapshot(hub, id).await?;
    serde_json::from_value(snapshot["fields"].clone()).ok()
}

async fn fetch_status(hub: &TestHub, id: &str) -> Option<String> {
    Some(snapshot(hub, id).await?["status"].as_str()?.to_owned())
}

#[test]
fn rollups_and_alerts_follow_their_members_whatever_the_sequence() {
    support::model::run_seeded(
        "monitoring model",
        "FILLSTACK_MONITOR",
        16,
        secs(30),
        prop::collection::vec(op(), 1..40),
        run,
    );
}
