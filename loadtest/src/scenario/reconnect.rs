//! `reconnect`: N clients drop, changes happen while they are away, and they come
//! back with `since`: time until all are live again, and gaps (must be 0)
//! (README: reconnect row).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Tracker, read_to, send_windowed, shared_latency};
use crate::Client;
use crate::report::{Latency, Report};

#[derive(Debug, Clone, Serialize, clap::Args)]
pub struct ReconnectParams {
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// Changes published while the clients are away.
    #[arg(long, default_value_t = 100)]
    pub missed: u64,
    #[arg(long, default_value_t = 60)]
    pub max_seconds: u64,
}

const RESOURCE: &str = "bench/reconnect";

pub async fn run(url: &str, params: ReconnectParams) -> anyhow::Result<Report> {
    let mut publisher = Client::connect_hello(url, super::codec()).await?;
    let first = publisher
        .publish(RESOURCE, Some("up"), Default::default())
        .await?;
    let mut trackers = Vec::new();
    let recorder = shared_latency();
    for _ in 0..params.clients {
        let mut client = Client::connect_hello(url, super::codec()).await?;
        client.subscribe(RESOURCE, None).await?;
        let mut tracker = Tracker::new(&recorder);
        read_to(&mut client, &mut tracker, RESOURCE, first).await;
        // Count only what comes after the return.
        tracker.deliveries = 0;
        trackers.push(tracker);
        // The client goes away here (dropped), its tracker remembers what it saw.
    }
    let deadline = Instant::now() + Duration::from_secs(params.max_seconds);
    let mut acks = Latency::default();
    let sent = send_windowed(
        &mut publisher,
        params.missed,
        32,
        deadline,
        &mut acks,
        |_| RESOURCE.into(),
    )
    .await?;
    let target = first + sent;
    let started = Instant::now();
    let url = url.to_owned();
    let returns: Vec<_> = trackers
        .into_iter()
        .map(|mut tracker| {
            let url = url.clone();
            actix_rt::spawn(async move {
                let mut client = Client::connect_hello(&url, super::codec()).await?;
                client.subscribe(RESOURCE, Some(tracker.since())).await?;
                read_to(&mut client, &mut tracker, RESOURCE, target).await;
                anyhow::Ok(tracker)
            })
        })
        .collect();
    let mut report = Report {
        scenario: "reconnect".into(),
        acks: sent,
        ..Report::default()
    };
    for back in returns {
        let tracker = back.await??;
        tracker.add_to(&mut report, RESOURCE, target);
    }
    report.latency = recorder.borrow().percentiles();
    report.notes.push(format!(
        "all {} clients live again after {:.3} s",
        params.clients,
        started.elapsed().as_secs_f64()
    ));
    report.params = serde_json::to_value(&params)?;
    Ok(report.finish(started.elapsed()))
}
