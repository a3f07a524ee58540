//! `topics`: C subscribers each on its own resource, publishes to random ones;
//! deliveries/s when fan-out is one (README: topics row).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Tracker, count_event, send_windowed, shared_latency, subscribers};
use crate::Client;
use crate::report::{Latency, Report};

#[derive(Debug, Clone, Serialize, clap::Args)]
pub struct TopicsParams {
    #[arg(long, default_value_t = 1000)]
    pub subscribers: usize,
    #[arg(long, default_value_t = 20000)]
    pub messages: u64,
    #[arg(long, default_value_t = 64)]
    pub window: u64,
    #[arg(long, default_value_t = 60)]
    pub max_seconds: u64,
}

pub async fn run(url: &str, params: TopicsParams) -> anyhow::Result<Report> {
    let topics = params.subscribers.max(1) as u64;
    let watchers = subscribers(url, params.subscribers.max(1), |topic| {
        format!("bench/topic/{topic}")
    })
    .await?;
    let recorder = shared_latency();
    let readers: Vec<_> = watchers
        .into_iter()
        .map(|mut client| {
            let mut tracker = Tracker::new(&recorder);
            actix_rt::spawn(async move {
                while let Ok(raw) = client.raw_within(Duration::from_secs(2)).await {
                    if tracker.observe_raw(client.codec(), &raw).is_err() {
                        break;
                    }
                    count_event();
                }
                tracker
            })
        })
        .collect();
    let mut publisher = Client::connect_hello(url, super::codec()).await?;
    let deadline = Instant::now() + Duration::from_secs(params.max_seconds);
    let started = Instant::now();
    // A cheap spread over the topics (a multiplicative hash of the publish number).
    let pick = |n: u64| {
        format!(
            "bench/topic/{}",
            n.wrapping_mul(0x9E37_79B9_7F4A_7C15) % topics
        )
    };
    let mut acks = Latency::default();
    let sent = send_windowed(
        &mut publisher,
        params.messages,
        params.window,
        deadline,
        &mut acks,
        pick,
    )
    .await?;
    let mut report = Report {
        scenario: "topics".into(),
        acks: sent,
        ..Report::default()
    };
    for reader in readers {
        let tracker = reader.await?;
        report.deliveries += tracker.deliveries;
        report.gaps += tracker.gaps;
    }
    // The readers stop after 2 s of silence; that tail is not part of the rate.
    let elapsed = started.elapsed().saturating_sub(Duration::from_secs(2));
    report.undelivered = sent.saturating_sub(report.deliveries);
    report.latency = recorder.borrow().percentiles();
    report.params = serde_json::to_value(&params)?;
    Ok(report.finish(elapsed))
}
