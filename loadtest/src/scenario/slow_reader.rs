//! `slow-reader`: K subscribers stop reading while a publisher keeps going; then
//! they read everything. The hub must conflate (reset snapshots), keep its memory
//! bounded, and never leave a gap (README: slow-reader row).

use std::time::{Duration, Instant};

use fillstack_protocol::Codec;
use serde::Serialize;

use super::{Tracker, read_until, send_windowed};
use crate::Client;
use crate::report::{Latency, Report, rss_kib};

#[derive(Debug, Clone, Serialize)]
pub struct SlowReaderParams {
    pub readers: usize,
    pub messages: u64,
    /// Bytes of padding per publish, to fill buffers sooner.
    pub padding: usize,
    pub hub_pid: Option<u32>,
    pub max_seconds: u64,
}

const RESOURCE: &str = "bench/slow";

pub async fn run(url: &str, params: SlowReaderParams) -> anyhow::Result<Report> {
    let mut readers = Vec::new();
    for _ in 0..params.readers {
        let mut client = Client::connect_hello(url, Codec::MsgPack).await?;
        client.subscribe(RESOURCE, None).await?;
        readers.push(client);
    }
    let before = params.hub_pid.and_then(rss_kib);
    let mut publisher = Client::connect_hello(url, Codec::MsgPack).await?;
    let pad = "x".repeat(params.padding.min(250));
    let first = publisher
        .publish(RESOURCE, Some("up"), Default::default())
        .await?;
    let deadline = Instant::now() + Duration::from_secs(params.max_seconds);
    let started = Instant::now();
    // The readers are not polled while this runs: they read nothing.
    let mut acks = Latency::default();
    let mut sent = 0;
    for chunk in 0..params.messages.div_ceil(100) {
        let count = (params.messages - chunk * 100).min(100);
        sent += send_windowed(&mut publisher, count, 32, deadline, &mut acks, |_| {
            RESOURCE.into()
        })
        .await?;
        let mut fields = fillstack_protocol::FieldChanges::new();
        fields.insert(
            "pad".into(),
            Some(fillstack_protocol::Scalar::Str(format!("{pad}{chunk}"))),
        );
        publisher.publish(RESOURCE, None, fields).await?;
        sent += 1;
    }
    let during = params.hub_pid.and_then(rss_kib);
    let target = first + sent;
    let mut report = Report {
        scenario: "slow-reader".into(),
        acks: sent,
        ..Report::default()
    };
    let mut latency = Latency::default();
    for mut client in readers {
        let mut tracker = Tracker::default();
        read_until(
            &mut client,
            &mut tracker,
            RESOURCE,
            target,
            Duration::from_secs(10),
        )
        .await;
        tracker.add_to(&mut report, &mut latency, RESOURCE, target);
    }
    report.latency = latency.percentiles();
    if let (Some(before), Some(during)) = (before, during) {
        report.rss_kib = Some(during - before);
        report.notes.push(format!(
            "hub RSS {before:.0} KiB before, {during:.0} KiB after publishing"
        ));
    }
    report.params = serde_json::to_value(&params)?;
    Ok(report.finish(started.elapsed()))
}
