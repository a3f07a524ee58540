//! The hub's own health as ordinary resources under `hub/<node>/`: sessions,
//! publishing and the store, republished every interval with a TTL of three
//! intervals, so a node that stops reporting turns `stale` like any resource.
//! Clients may subscribe to `hub/**`; only the hub publishes there.

use std::time::Duration;

use fillstack_protocol::{ResourceId, Scalar, Status};

use super::Hub;
use crate::metrics::METRICS;
use crate::resource::ask;
use crate::resource::messages::Publish;
use crate::resource::state::Change;

/// Mean store commit time over an interval past which `hub/<node>/store` is degraded.
const SLOW_COMMIT: Duration = Duration::from_millis(100);
/// Conflations per interval past which `hub/<node>/sessions` is degraded.
const MANY_CONFLATIONS: u64 = 100;

/// The reserved first segment.
pub const RESERVED_PREFIX: &str = "hub";

/// A node id made safe as a resource id segment (`[A-Za-z0-9][A-Za-z0-9_.:-]*`).
pub fn node_segment(node: &str) -> String {
    let mut segment: String = node
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.:-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if !segment.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        segment.insert(0, 'n');
    }
    segment
}

/// Figures of the previous report, to turn counters into per-interval rates.
#[derive(Default)]
struct Previous {
    commits: u64,
    commit_seconds: f64,
    conflations: u64,
    publishes: u64,
    deliveries: u64,
}

/// Publishes the hub's health every `every` until the returned task is aborted.
pub fn report_every(hub: Hub, node: &str, every: Duration) -> tokio::task::JoinHandle<()> {
    let prefix = format!("{RESERVED_PREFIX}/{}", node_segment(node));
    actix_web::rt::spawn(async move {
        let mut previous = Previous::default();
        // The first report comes one interval after start, like every later one.
        let mut ticks = actix::clock::interval_at(actix::clock::Instant::now() + every, every);
        loop {
            ticks.tick().await;
            for (name, change) in figures(&hub, &mut previous, every) {
                let Ok(id) = ResourceId::parse(&format!("{prefix}/{name}")) else {
                    continue;
                };
                let actor = hub.find_or_create(&id);
                if let Err(rejection) = ask(&actor, |reply| Publish {
                    change,
                    by: crate::limits::Writer::Hub,
                    reply,
                })
                .await
                {
                    tracing::warn!(resource = %id, message = %rejection.message, "hub health not recorded");
                }
            }
        }
    })
}

fn change(status: Status, ttl: Duration, fields: Vec<(&str, Scalar)>) -> Change {
    Change {
        status: Some(status),
        fields: fields
            .into_iter()
            .map(|(name, value)| (name.to_owned(), Some(value)))
            .collect(),
        ttl: Some(Some(ttl)),
        ..Change::default()
    }
}

fn count(value: u64) -> Scalar {
    Scalar::Int(i64::try_from(value).unwrap_or(i64::MAX))
}

fn figures(hub: &Hub, previous: &mut Previous, every: Duration) -> Vec<(&'static str, Change)> {
    let ttl = every * 3;
    let seconds = every.as_secs_f64();
    let commits = METRICS.store_commit_seconds.get_sample_count();
    let commit_seconds = METRICS.store_commit_seconds.get_sample_sum();
    let publishes = METRICS.publishes_changed.get() + METRICS.publishes_unchanged.get();
    let (conflations, deliveries) = (METRICS.conflations.get(), METRICS.deliveries.get());
    let batches = commits - previous.commits;
    let mean_commit_ms = if batches == 0 {
        0.0
    } else {
        (commit_seconds - previous.commit_seconds) * 1000.0 / batches as f64
    };
    let conflated = conflations - previous.conflations;
    let published = publishes - previous.publishes;
    let delivered = deliveries - previous.deliveries;
    *previous = Previous {
        commits,
        commit_seconds,
        conflations,
        publishes,
        deliveries,
    };
    let store_status = match hub.store().is_healthy() {
        false => Status::Down,
        true if mean_commit_ms > SLOW_COMMIT.as_secs_f64() * 1000.0 => Status::Degraded,
        true => Status::Up,
    };
    let sessions_status = if conflated > MANY_CONFLATIONS {
        Status::Degraded
    } else {
        Status::Up
    };
    vec![
        (
            "sessions",
            change(
                sessions_status,
                ttl,
                vec![
                    ("sessions", count(hub.session_count() as u64)),
                    ("subscriptions", count(hub.subscription_count() as u64)),
                    ("queued_bytes", count(hub.queued_bytes() as u64)),
                    ("conflations", count(conflated)),
                    (
                        "deliveries_per_s",
                        Scalar::Float((delivered as f64 / seconds).round()),
                    ),
                ],
            ),
        ),
        (
            "publish",
            change(
                Status::Up,
                ttl,
                vec![
                    (
                        "publishes_per_s",
                        Scalar::Float((published as f64 / seconds).round()),
                    ),
                    ("resources", count(hub.resource_count() as u64)),
                ],
            ),
        ),
        (
            "store",
            change(
                store_status,
                ttl,
                vec![
                    (
                        "commit_ms",
                        Scalar::Float((mean_commit_ms * 100.0).round() / 100.0),
                    ),
                    ("batches", count(batches)),
                    ("healthy", Scalar::Bool(hub.store().is_healthy())),
                ],
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_become_valid_segments() {
        assert_eq!(node_segment("web-1.example"), "web-1.example");
        assert_eq!(node_segment("my host/x"), "my-host-x");
        assert_eq!(node_segment("-odd"), "n-odd");
        assert!(ResourceId::parse(&format!("hub/{}/store", node_segment("é!"))).is_ok());
    }
}
