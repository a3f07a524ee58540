//! `idle`: N connections, each subscribed to its own resource, then nothing; the
//! hub's resident memory per connection (README: idle row). Needs the hub's PID.

use std::time::Duration;

use serde::Serialize;

use crate::Client;
use crate::report::{Report, rss_kib};

#[derive(Debug, Clone, Serialize, clap::Args)]
pub struct IdleParams {
    #[arg(long, default_value_t = 5000)]
    pub connections: usize,
    /// How many connect (and subscribe) at the same time.
    #[arg(long, default_value_t = 100)]
    pub at_once: usize,
    /// The hub's process id, for `/proc/PID/status`.
    #[arg(long)]
    pub hub_pid: u32,
}

pub async fn run(url: &str, params: IdleParams) -> anyhow::Result<Report> {
    // Each connection watches its own resource, which exists.
    let mut setup = Client::connect_hello(url, super::codec()).await?;
    for n in 0..params.connections {
        setup
            .publish(&format!("bench/idle/{n}"), Some("up"), Default::default())
            .await?;
    }
    drop(setup);
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(params.hub_pid);
    let started = std::time::Instant::now();
    let mut clients = super::subscribers_at_once(url, params.connections, params.at_once, |n| {
        format!("bench/idle/{n}")
    })
    .await?;
    for client in &mut clients {
        client.frame_within(Duration::from_secs(10)).await?;
        super::count_event();
    }
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(params.hub_pid);
    let mut report = Report {
        scenario: "idle".into(),
        params: serde_json::to_value(&params)?,
        ..Report::default()
    };
    if let (Some(before), Some(after)) = (before, after) {
        report.rss_kib = Some((after - before) / params.connections.max(1) as f64);
        report.notes.push(format!(
            "hub RSS {before:.0} KiB before, {after:.0} KiB with {} connections",
            params.connections
        ));
    } else {
        report.notes.push(format!(
            "no /proc/{}/status: RSS not measured",
            params.hub_pid
        ));
    }
    drop(clients);
    Ok(report.finish(started.elapsed()))
}
