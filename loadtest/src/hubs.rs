//! The hubs one run talks to: one (`--url`) or several hubs of one cluster
//! (`--hubs`). Sessions are placed round-robin, the `n`th on hub `n % hubs`, and
//! [`HubTally`] keeps what each hub's sessions did, for the report's `per_hub`.
//! A cluster delivers every change from every hub with the same seq, so a
//! scenario's checks (order, nothing undelivered, every publish acked) hold per
//! session whichever hub it is on.

use anyhow::bail;
use serde::Serialize;

use crate::report::{Latency, Percentiles};
use crate::scenario::Sent;

/// The hubs of a run, in the order given; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hubs {
    urls: Vec<String>,
}

impl Hubs {
    /// Several hubs (surrounding spaces trimmed); refuses an empty list or entry.
    pub fn new<S: AsRef<str>>(urls: &[S]) -> anyhow::Result<Self> {
        let urls: Vec<String> = urls.iter().map(|u| u.as_ref().trim().to_owned()).collect();
        if urls.is_empty() {
            bail!("--hubs needs at least one URL");
        }
        if let Some(n) = urls.iter().position(String::is_empty) {
            bail!("--hubs: URL {} of {} is empty", n + 1, urls.len());
        }
        Ok(Self { urls })
    }

    /// The one hub of a single-hub run.
    pub fn one(url: &str) -> Self {
        Self {
            urls: vec![url.to_owned()],
        }
    }

    /// The first hub: the one every single-hub part of a run uses.
    pub fn first(&self) -> &str {
        &self.urls[0]
    }

    /// The index of the hub the `n`th session goes to: round-robin.
    pub fn index_of(&self, n: usize) -> usize {
        n % self.urls.len()
    }

    /// The hub the `n`th session goes to, and its index.
    pub fn of(&self, n: usize) -> (usize, &str) {
        let index = self.index_of(n);
        (index, &self.urls[index])
    }

    pub fn len(&self) -> usize {
        self.urls.len()
    }

    /// Never true; here because `len` is.
    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }

    pub fn urls(&self) -> &[String] {
        &self.urls
    }
}

/// What one hub's sessions of a multi-hub run did (a report's `per_hub`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HubShare {
    /// The hub's URL, as given (the same URL given twice makes two shares).
    pub url: String,
    /// The run's sessions placed on this hub: subscribers (fanout, rate) or
    /// publishers (publish).
    pub sessions: u64,
    /// Frames its subscribers received.
    pub deliveries: u64,
    /// Changes its subscribers should have seen and did not.
    pub undelivered: u64,
    /// Deltas its subscribers saw skip a seq (must be 0).
    pub gaps: u64,
    /// Durable acks its publishers received.
    pub acks: u64,
    /// Publishes it answered `unavailable`, sent again.
    pub retries: u64,
    /// Publish-to-receipt (fanout, rate) or publish-to-ack (publish) latency of
    /// its sessions.
    pub latency: Percentiles,
}

impl HubShare {
    /// Its line in [`Report::table`](crate::Report::table).
    pub fn row(&self) -> String {
        let mut parts = vec![format!("{} sessions", self.sessions)];
        if self.deliveries > 0 || self.undelivered > 0 || self.gaps > 0 {
            parts.push(format!(
                "{} deliveries, {} undelivered, {} gaps",
                self.deliveries, self.undelivered, self.gaps
            ));
        }
        if self.acks > 0 && self.retries > 0 {
            parts.push(format!("{} acks ({} retried)", self.acks, self.retries));
        } else if self.acks > 0 {
            parts.push(format!("{} acks", self.acks));
        }
        if self.latency.count > 0 {
            parts.push(format!(
                "latency p50 {:.2} p99 {:.2} ms",
                self.latency.p50_ms, self.latency.p99_ms
            ));
        }
        format!("{}: {}", self.url, parts.join(", "))
    }
}

/// Adds up, hub by hub, what a run's sessions did.
pub struct HubTally {
    shares: Vec<HubShare>,
    latency: Vec<Latency>,
}

impl HubTally {
    pub fn new(hubs: &Hubs) -> Self {
        Self {
            shares: hubs
                .urls()
                .iter()
                .map(|url| HubShare {
                    url: url.clone(),
                    ..HubShare::default()
                })
                .collect(),
            latency: hubs.urls().iter().map(|_| Latency::default()).collect(),
        }
    }

    /// One subscriber on hub `hub`: what it received, missed and skipped, where
    /// `missed` is how many changes short of the target seq it stopped.
    pub fn subscriber(
        &mut self,
        hub: usize,
        tracker: &crate::scenario::Tracker,
        missed: u64,
    ) -> &mut Self {
        let share = &mut self.shares[hub];
        share.sessions += 1;
        share.deliveries += tracker.deliveries;
        share.gaps += tracker.gaps;
        share.undelivered += missed;
        self
    }

    /// The latencies of hub `hub`'s subscribers (their shared recorder).
    pub fn latency(&mut self, hub: usize, latency: &Latency) -> &mut Self {
        self.latency[hub].merge(latency);
        self
    }

    /// One publisher on hub `hub`: its acks, retries and ack latency.
    pub fn publisher(&mut self, hub: usize, sent: Sent, latency: &Latency) -> &mut Self {
        let share = &mut self.shares[hub];
        share.sessions += 1;
        share.acks += sent.acks;
        share.retries += sent.retries;
        self.latency[hub].merge(latency);
        self
    }

    /// Each hub's share, in the order the hubs were given.
    pub fn into_shares(self) -> Vec<HubShare> {
        self.shares
            .into_iter()
            .zip(self.latency)
            .map(|(share, latency)| HubShare {
                latency: latency.percentiles(),
                ..share
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn sessions_go_round_robin_in_the_order_the_hubs_were_given() {
        let hubs = Hubs::new(&["ws://a/ws", " ws://b/ws", "ws://c/ws "]).unwrap();
        let placed: Vec<_> = (0..7).map(|n| hubs.of(n).1).collect();
        assert_eq!(
            placed,
            [
                "ws://a/ws",
                "ws://b/ws",
                "ws://c/ws",
                "ws://a/ws",
                "ws://b/ws",
                "ws://c/ws",
                "ws://a/ws"
            ]
        );
        assert_eq!((hubs.first(), hubs.len()), ("ws://a/ws", 3));
        assert_eq!(Hubs::one("ws://x/ws").of(5), (0, "ws://x/ws"));
    }

    #[test]
    fn an_empty_list_or_entry_is_refused_naming_which() {
        let none: [&str; 0] = [];
        assert!(Hubs::new(&none).is_err());
        let error = Hubs::new(&["ws://a/ws", " "]).unwrap_err().to_string();
        assert_eq!(error, "--hubs: URL 2 of 2 is empty");
    }

    #[test]
    fn a_tally_keeps_each_hub_apart_even_for_the_same_url_twice() {
        let hubs = Hubs::new(&["ws://a/ws", "ws://a/ws"]).unwrap();
        let mut tally = HubTally::new(&hubs);
        let mut slow = Latency::default();
        slow.record(Duration::from_millis(40));
        let sent = |acks, retries| Sent { acks, retries };
        tally.publisher(1, sent(30, 1), &slow);
        tally.publisher(1, sent(20, 2), &slow);
        tally.publisher(0, sent(50, 0), &Latency::default());
        let shares = tally.into_shares();
        assert_eq!(shares.len(), 2);
        let counts = |share: &HubShare| (share.sessions, share.acks, share.retries);
        assert_eq!(counts(&shares[0]), (1, 50, 0));
        assert_eq!(counts(&shares[1]), (2, 50, 3));
        assert_eq!(shares[0].latency.count, 0);
        assert_eq!(shares[1].latency.count, 2);
        assert!((shares[1].latency.p50_ms - 40.0).abs() < 0.1);
        assert!(shares.iter().all(|share| share.url == "ws://a/ws"));
    }
}
