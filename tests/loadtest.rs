//! One short run of every load scenario against a real hub: the harness that
//! produces the README's figures works (small sizes, no performance assertion).
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a failure is the test failing

mod support;

use fillstack_loadtest::scenario::fanout::{self, FanoutParams};
use fillstack_loadtest::scenario::idle::{self, IdleParams};
use fillstack_loadtest::scenario::publish::{self, PublishParams};
use fillstack_loadtest::scenario::reconnect::{self, ReconnectParams};
use fillstack_loadtest::scenario::slow_reader::{self, SlowReaderParams};
use fillstack_loadtest::scenario::topics::{self, TopicsParams};
use fillstack_loadtest::{plot, timeline};
use support::*;

#[actix_web::test]
async fn fanout_and_rate_deliver_every_change_to_every_subscriber() {
    let hub = TestHub::start().await;
    timeline::start();
    let mut report = fanout::run(
        &hub.url(),
        FanoutParams {
            subscribers: 20,
            messages: 100,
            window: 16,
            rate: None,
            max_seconds: 30,
        },
    )
    .await
    .unwrap();
    report.timeline = timeline::take();
    assert_eq!(
        (report.gaps, report.undelivered),
        (0, 0),
        "{}",
        report.table()
    );
    assert_eq!(
        report.deliveries,
        20 * 101,
        "a snapshot and 100 deltas each"
    );
    assert!(report.latency.count >= 20 * 100);
    plot_has_the_whole_run(&report);
    let paced = FanoutParams {
        subscribers: 10,
        messages: 40,
        window: 0,
        rate: Some(200),
        max_seconds: 30,
    };
    let report = fanout::run(&hub.url(), paced).await.unwrap();
    assert_eq!(
        (report.scenario.as_str(), report.gaps, report.undelivered),
        ("rate", 0, 0),
        "{}",
        report.table()
    );
}

#[actix_web::test]
async fn topics_publish_and_reconnect_lose_nothing() {
    let hub = TestHub::start().await;
    let report = topics::run(
        &hub.url(),
        TopicsParams {
            subscribers: 10,
            messages: 200,
            window: 16,
            max_seconds: 30,
        },
    )
    .await
    .unwrap();
    assert_eq!((report.acks, report.gaps), (200, 0), "{}", report.table());
    assert_eq!(
        report.deliveries, 200,
        "each publish reaches its one subscriber"
    );
    let report = publish::run(
        &hub.url(),
        PublishParams {
            publishers: 5,
            resources: 20,
            per_publisher: 40,
            window: 8,
            max_seconds: 30,
        },
    )
    .await
    .unwrap();
    assert_eq!(report.acks, 200, "{}", report.table());
    assert_eq!(report.latency.count, 200);
    let report = reconnect::run(
        &hub.url(),
        ReconnectParams {
            clients: 10,
            missed: 30,
            max_seconds: 30,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (report.gaps, report.undelivered, report.resets),
        (0, 0, 0),
        "{}",
        report.table()
    );
    assert_eq!(
        report.deliveries,
        10 * 30,
        "exactly the missed deltas, resumed with since"
    );
}

#[actix_web::test]
async fn idle_and_slow_reader_report_memory_and_never_a_gap() {
    let hub = TestHub::builder().outbox(8 * 1024, 64 << 20).start().await;
    let report = idle::run(
        &hub.url(),
        IdleParams {
            connections: 20,
            at_once: 5,
            hub_pid: std::process::id(),
        },
    )
    .await
    .unwrap();
    assert!(report.rss_kib.is_some(), "{}", report.table());
    let params = SlowReaderParams {
        readers: 3,
        messages: 300,
        padding: 200,
        hub_pid: Some(std::process::id()),
        max_seconds: 30,
    };
    let report = slow_reader::run(&hub.url(), params).await.unwrap();
    assert_eq!(
        (report.gaps, report.undelivered),
        (0, 0),
        "{}",
        report.table()
    );
}

/// The fanout run's timeline holds its events and latency samples, and plots.
fn plot_has_the_whole_run(report: &fillstack_loadtest::Report) {
    let events: u64 = report.timeline.iter().map(|point| point.events).sum();
    // 20 connections, 100 acks, and 20 × 101 frames read.
    assert_eq!(
        events,
        20 + 100 + report.deliveries,
        "{:?}",
        report.timeline
    );
    let samples: u64 = report.timeline.iter().map(|p| p.latency.count).sum();
    assert_eq!(
        samples, report.latency.count,
        "the delivery latencies, not the acks"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fanout.svg");
    plot::write(&path, report).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("fillstack-loadtest fanout: ") && svg.contains("subscribers=20"));
    assert!(
        svg.contains("\np99.9\n</text>"),
        "the latency panel has its legend"
    );
}

#[actix_web::test]
async fn every_scenario_speaks_json_when_asked_and_loses_nothing() {
    let hub = TestHub::start().await;
    fillstack_loadtest::scenario::use_codec(fillstack_protocol::Codec::Json);
    let report = topics::run(
        &hub.url(),
        TopicsParams {
            subscribers: 20,
            messages: 200,
            window: 16,
            max_seconds: 30,
        },
    )
    .await
    .unwrap();
    fillstack_loadtest::scenario::use_codec(fillstack_protocol::Codec::MsgPack);
    assert_eq!(
        (report.gaps, report.undelivered, report.acks),
        (0, 0, 200),
        "{}",
        report.table()
    );
    // Every frame was read with the JSON decoder: one the hub sent as MessagePack
    // would not decode and would count as undelivered.
    assert!(report.deliveries >= 200, "{}", report.table());
    assert_eq!(report.codec, "json", "{}", report.table());
}
