//! `slow-reader`: K subscribers stop reading while a publisher keeps going; then
//! they read everything. The hub must conflate (reset snapshots), keep its memory
//! bounded, and never leave a gap (README: slow-reader row).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Tracker, count_event, read_to, shared_latency, stamped};
use crate::Client;
use crate::report::{Report, rss_kib};

#[derive(Debug, Clone, Serialize, clap::Args)]
pub struct SlowReaderParams {
    #[arg(long, default_value_t = 10)]
    pub readers: usize,
    #[arg(long, default_value_t = 20000)]
    pub messages: u64,
    /// Bytes of padding per publish, to fill buffers sooner.
    #[arg(long, default_value_t = 200)]
    pub padding: usize,
    #[arg(long)]
    pub hub_pid: Option<u32>,
    #[arg(long, default_value_t = 60)]
    pub max_seconds: u64,
}

const RESOURCE: &str = "bench/slow";

pub async fn run(url: &str, params: SlowReaderParams) -> anyhow::Result<Report> {
    let mut readers = Vec::new();
    for _ in 0..params.readers {
        let mut client = Client::connect_hello(url, super::codec()).await?;
        client.subscribe(RESOURCE, None).await?;
        readers.push(client);
    }
    let before = params.hub_pid.and_then(rss_kib);
    let mut publisher = Client::connect_hello(url, super::codec()).await?;
    let first = publisher
        .publish(RESOURCE, Some("up"), Default::default())
        .await?;
    let deadline = Instant::now() + Duration::from_secs(params.max_seconds);
    let started = Instant::now();
    // The readers are not polled while this runs: they read nothing. Every change
    // carries `padding` bytes that differ each time, so nothing is absorbed for free.
    let mut sent = 0;
    while sent < params.messages && Instant::now() < deadline {
        let batch = (params.messages - sent).min(32);
        for n in sent + 1..=sent + batch {
            let mut frame = stamped(n, RESOURCE.into(), n);
            if let fillstack_protocol::ClientFrame::Pub(publish) = &mut frame {
                let pad = format!("{n:0>width$}", width = params.padding.clamp(1, 250));
                publish
                    .fields
                    .get_or_insert_default()
                    .insert("pad".into(), Some(fillstack_protocol::Scalar::Str(pad)));
            }
            publisher.send(&frame).await?;
        }
        let mut acked = 0;
        while acked < batch {
            if let fillstack_protocol::ServerFrame::Ack { .. } =
                publisher.frame_within(Duration::from_secs(30)).await?
            {
                acked += 1;
                count_event();
            }
        }
        sent += batch;
    }
    let during = params.hub_pid.and_then(rss_kib);
    let target = first + sent;
    let mut report = Report {
        scenario: "slow-reader".into(),
        acks: sent,
        ..Report::default()
    };
    let recorder = shared_latency();
    for mut client in readers {
        let mut tracker = Tracker::new(&recorder);
        read_to(&mut client, &mut tracker, RESOURCE, target).await;
        tracker.add_to(&mut report, RESOURCE, target);
    }
    report.latency = recorder.borrow().percentiles();
    if let (Some(before), Some(during)) = (before, during) {
        report.rss_kib = Some(during - before);
        report.notes.push(format!(
            "hub RSS {before:.0} KiB before, {during:.0} KiB after publishing"
        ));
    }
    report.params = serde_json::to_value(&params)?;
    Ok(report.finish(started.elapsed()))
}
