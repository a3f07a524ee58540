//! `fanout` and `rate`: S subscribers on one resource, one publisher. `fanout`
//! publishes as fast as a window of unacked publishes allows and measures
//! deliveries/s (README: fanout row); `rate` paces publishes at a fixed rate and
//! measures latency and undelivered changes (README: rate row). With several
//! hubs (`--hubs`) the subscribers are spread over them and the publisher
//! publishes through the first (README: the fanout rows with 3 hubs).

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{
    Sent, Tracker, count_event, read_until, send_windowed_acking, shared_latency, stamped,
    subscribers_on,
};
use crate::Client;
use crate::hubs::{HubTally, Hubs};
use crate::report::{Latency, Report};

/// Sizes of a fanout or rate run.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutParams {
    pub subscribers: usize,
    /// Publishes in all.
    pub messages: u64,
    /// Unacked publishes at once (fanout).
    pub window: u64,
    /// Publishes per second (rate); `None` means as fast as the window allows.
    pub rate: Option<u64>,
    /// Stop publishing after this long, whatever is left.
    pub max_seconds: u64,
}

const RESOURCE: &str = "bench/fanout";

pub async fn run(url: &str, params: FanoutParams) -> anyhow::Result<Report> {
    run_on(&Hubs::one(url), params).await
}

/// The run with its subscribers spread round-robin over `hubs`, publishing
/// through the first: every subscriber, on whichever hub, must see every change
/// with the seq the first hub acked.
pub async fn run_on(hubs: &Hubs, params: FanoutParams) -> anyhow::Result<Report> {
    let watchers = subscribers_on(hubs, params.subscribers, |_| RESOURCE.to_owned()).await?;
    let mut publisher = Client::connect_hello(hubs.first(), super::codec()).await?;
    let first = publisher
        .publish(RESOURCE, Some("up"), Default::default())
        .await?;
    // Readers read while the publisher publishes; they learn the last seq at the end.
    // The subscribers of one hub share one latency recorder.
    let target = Rc::new(Cell::new(u64::MAX));
    let recorders: Vec<_> = hubs.urls().iter().map(|_| shared_latency()).collect();
    let readers: Vec<_> = watchers
        .into_iter()
        .map(|(hub, mut client)| {
            let target = target.clone();
            let mut tracker = Tracker::new(&recorders[hub]);
            actix_rt::spawn(async move {
                read_until(
                    &mut client,
                    &mut tracker,
                    RESOURCE,
                    &target,
                    Duration::from_secs(10),
                )
                .await;
                (hub, tracker)
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(params.max_seconds);
    let started = Instant::now();
    let Sent {
        acks: sent,
        retries,
    } = publish_all(&mut publisher, &params, deadline).await?;
    let last = first + sent;
    target.set(last);
    let scenario = if params.rate.is_some() {
        "rate"
    } else {
        "fanout"
    };
    let mut report = Report {
        scenario: scenario.into(),
        hubs: hubs.urls().to_vec(),
        retries,
        ..Report::default()
    };
    let mut latency = Latency::default();
    let mut tally = HubTally::new(hubs);
    for reader in readers {
        let (hub, tracker) = reader.await?;
        tracker.add_to(&mut report, RESOURCE, last);
        tally.subscriber(hub, &tracker, last.saturating_sub(tracker.seq_of(RESOURCE)));
    }
    for (hub, recorder) in recorders.iter().enumerate() {
        latency.merge(&recorder.borrow());
        tally.latency(hub, &recorder.borrow());
    }
    report.latency = latency.percentiles();
    report.params = serde_json::to_value(&params)?;
    report.notes.push(format!("{sent} publishes sent"));
    if hubs.len() > 1 {
        report.per_hub = tally.into_shares();
        report.notes.push(format!(
            "subscribers spread round-robin over {} hubs, publishing through the first",
            hubs.len()
        ));
    }
    Ok(report.finish(started.elapsed()))
}

/// The run's publishes: windowed (fanout) or paced (rate).
async fn publish_all(
    publisher: &mut Client,
    params: &FanoutParams,
    deadline: Instant,
) -> anyhow::Result<Sent> {
    Ok(match params.rate {
        None => {
            let mut acks = Latency::default();
            send_windowed_acking(
                publisher,
                params.messages,
                params.window,
                deadline,
                &mut acks,
                |_| RESOURCE.into(),
                |_, _| {},
            )
            .await?
        }
        Some(rate) => Sent {
            acks: paced(publisher, params.messages, rate, deadline).await?,
            retries: 0,
        },
    })
}

/// Publishes at `rate` per second without waiting for acks, then collects them.
async fn paced(
    publisher: &mut Client,
    count: u64,
    rate: u64,
    deadline: Instant,
) -> anyhow::Result<u64> {
    let mut ticks = actix_rt::time::interval(Duration::from_secs_f64(1.0 / rate.max(1) as f64));
    let mut sent = 0;
    while sent < count && Instant::now() < deadline {
        ticks.tick().await;
        sent += 1;
        publisher
            .send(&stamped(sent, RESOURCE.into(), sent))
            .await?;
    }
    let mut acked = 0;
    while acked < sent {
        if let fillstack_protocol::ServerFrame::Ack { .. } =
            publisher.frame_within(Duration::from_secs(30)).await?
        {
            acked += 1;
            count_event();
        }
    }
    Ok(sent)
}
