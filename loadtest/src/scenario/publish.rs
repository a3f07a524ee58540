//! `publish`: P publishers over R resources, each keeping a window of unacked
//! publishes; durable acks/s and publish-to-ack latency (README: publish row).
//! With several hubs (`--hubs`) the publishers are spread over them (README: the
//! publish rows with 3 hubs), and every ack's seq is checked to be its resource's
//! own: a seq acked twice for one resource is counted in `repeated_seqs`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::send_windowed_acking;
use crate::Client;
use crate::hubs::{HubTally, Hubs};
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
    run_on(&Hubs::one(url), params).await
}

/// The run with its publishers spread round-robin over `hubs`: several hubs then
/// take publishes to the same resources at once, and no two acks may give one
/// resource the same seq.
pub async fn run_on(hubs: &Hubs, params: PublishParams) -> anyhow::Result<Report> {
    let mut clients = Vec::with_capacity(params.publishers);
    for p in 0..params.publishers {
        let (hub, url) = hubs.of(p);
        clients.push((hub, Client::connect_hello(url, super::codec()).await?));
    }
    let deadline = Instant::now() + Duration::from_secs(params.max_seconds);
    let started = Instant::now();
    let resources = params.resources.max(1);
    let runs: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(p, (hub, mut client))| {
            let (count, window) = (params.per_publisher, params.window);
            actix_rt::spawn(async move {
                // Publish-to-ack is what this scenario reports: on the timeline.
                let mut latency = Latency::timed();
                let offset = p as u64 * 7919;
                let resource_of = move |n: u64| (offset + n) % resources;
                let pick = move |n: u64| format!("bench/r{}", resource_of(n));
                // (resource, seq) of every ack: 16 bytes each, checked at the end.
                let mut acked = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
                let record = |n: u64, seq: u64| acked.push((resource_of(n), seq));
                let sent = send_windowed_acking(
                    &mut client,
                    count,
                    window,
                    deadline,
                    &mut latency,
                    pick,
                    record,
                )
                .await;
                sent.map(|sent| (hub, sent, latency, acked))
            })
        })
        .collect();
    let mut report = Report {
        scenario: "publish".into(),
        hubs: hubs.urls().to_vec(),
        ..Report::default()
    };
    let mut latency = Latency::default();
    let mut tally = HubTally::new(hubs);
    let mut seqs: HashSet<(u64, u64)> = HashSet::new();
    for run in runs {
        let (hub, sent, run_latency, acked) = run.await??;
        report.acks += sent.acks;
        report.retries += sent.retries;
        latency.merge(&run_latency);
        tally.publisher(hub, sent, &run_latency);
        report.repeated_seqs += acked.into_iter().filter(|ack| !seqs.insert(*ack)).count() as u64;
    }
    report.latency = latency.percentiles();
    report.params = serde_json::to_value(&params)?;
    if hubs.len() > 1 {
        report.per_hub = tally.into_shares();
        report.notes.push(format!(
            "publishers spread round-robin over {} hubs",
            hubs.len()
        ));
    }
    Ok(report.finish(started.elapsed()))
}
