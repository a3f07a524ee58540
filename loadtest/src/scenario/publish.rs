//! `publish`: P publishers over R resources, each keeping a window of unacked
//! publishes; durable acks/s and publish-to-ack latency (README: publish row).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::send_windowed;
use crate::Client;
use crate::report::{Latency, Report};

#[derive(Debug, Clone, Serialize, clap::Args)]
pub struct PublishParams {
    #[arg(long, default_value_t = 100)]
    pub publishers: usize,
    #[arg(long, default_value_t = 1000)]
    pub resources: u64,
    #[arg(long, default_value_t = 500)]
    pub per_publisher: u64,
    #[arg(long, default_value_t = 32)]
    pub window: u64,
    #[arg(long, default_value_t = 60)]
    pub max_seconds: u64,
}

pub async fn run(url: &str, params: PublishParams) -> anyhow::Result<Report> {
    let mut clients = Vec::with_capacity(params.publishers);
    for _ in 0..params.publishers {
        clients.push(Client::connect_hello(url, super::codec()).await?);
    }
    let deadline = Instant::now() + Duration::from_secs(params.max_seconds);
    let started = Instant::now();
    let resources = params.resources.max(1);
    let runs: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(p, mut client)| {
            let (count, window) = (params.per_publisher, params.window);
            actix_rt::spawn(async move {
                // Publish-to-ack is what this scenario reports: on the timeline.
                let mut latency = Latency::timed();
                let offset = p as u64 * 7919;
                let pick = move |n: u64| format!("bench/r{}", (offset + n) % resources);
                let acks =
                    send_windowed(&mut client, count, window, deadline, &mut latency, pick).await;
                acks.map(|acks| (acks, latency))
            })
        })
        .collect();
    let mut report = Report {
        scenario: "publish".into(),
        ..Report::default()
    };
    let mut latency = Latency::default();
    for run in runs {
        let (acks, run_latency) = run.await??;
        report.acks += acks;
        latency.merge(&run_latency);
    }
    report.latency = latency.percentiles();
    report.params = serde_json::to_value(&params)?;
    Ok(report.finish(started.elapsed()))
}
