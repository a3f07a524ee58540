//! What a scenario measured: a table for people and one JSON object per run.

use std::time::Duration;

use hdrhistogram::{Counter, Histogram};
use serde::Serialize;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Samples recorded.
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// A latency recorder in microseconds, 1 µs to 60 s at 3 significant digits.
pub struct Latency {
    histogram: Histogram<u64>,
    /// Whether samples also go on the [`timeline`](crate::timeline).
    timed: bool,
}

impl Default for Latency {
    fn default() -> Self {
        Self {
            histogram: Histogram::new_with_bounds(1, 60_000_000, 3)
                .expect("valid histogram bounds"),
            timed: false,
        }
    }
}

impl Latency {
    /// A recorder whose samples also go on the [`timeline`](crate::timeline): the
    /// kind a scenario's reported latency is made from.
    pub fn timed() -> Self {
        Self {
            timed: true,
            ..Self::default()
        }
    }

    /// Records one sample (clamped to the histogram's range), and on the timeline
    /// too if this recorder is [`timed`](Self::timed).
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .clamp(1, 60_000_000);
        self.histogram.saturating_record(micros);
        if self.timed {
            crate::timeline::latency(latency);
        }
    }

    /// Adds another recorder's samples.
    pub fn merge(&mut self, other: &Latency) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.histogram.add(&other.histogram);
    }

    /// The percentiles of what was recorded.
    pub fn percentiles(&self) -> Percentiles {
        percentiles_of(&self.histogram)
    }
}

/// The percentiles of a histogram of microseconds.
pub(crate) fn percentiles_of<C: Counter>(histogram: &Histogram<C>) -> Percentiles {
    let ms = |micros: u64| micros as f64 / 1000.0;
    Percentiles {
        count: histogram.len(),
        p50_ms: ms(histogram.value_at_quantile(0.50)),
        p99_ms: ms(histogram.value_at_quantile(0.99)),
        p999_ms: ms(histogram.value_at_quantile(0.999)),
        max_ms: ms(histogram.max()),
    }
}

/// One run of one scenario.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// Its parameters, as given.
    pub params: serde_json::Value,
    /// Wall time of the measured part, seconds.
    pub seconds: f64,
    /// Frames (snapshots and deltas) received by subscribers.
    pub deliveries: u64,
    pub deliveries_per_s: f64,
    /// Durable acks received by publishers.
    pub acks: u64,
    pub acks_per_s: f64,
    /// Publish-to-receipt latency (fanout, rate, topics) or publish-to-ack (publish).
    pub latency: Percentiles,
    /// Changes a subscriber should have seen and did not.
    pub undelivered: u64,
    /// Deltas that skipped a seq without a reset snapshot (must be 0).
    pub gaps: u64,
    /// Reset snapshots received (conflations).
    pub resets: u64,
    /// Hub resident memory per connection, KiB (idle), or growth (slow-reader).
    pub rss_kib: Option<f64>,
    /// Anything else worth saying.
    pub notes: Vec<String>,
    /// Events and latency over time, when the caller kept a
    /// [`timeline`](crate::timeline) of the run (the CLI does).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<crate::timeline::Point>,
}

impl Report {
    /// Fills the rates from the counts and `elapsed`.
    pub fn finish(mut self, elapsed: Duration) -> Self {
        self.seconds = elapsed.as_secs_f64();
        let per_s = |n: u64| {
            if self.seconds > 0.0 {
                n as f64 / self.seconds
            } else {
                0.0
            }
        };
        self.deliveries_per_s = per_s(self.deliveries).round();
        self.acks_per_s = per_s(self.acks).round();
        self
    }

    /// A small table for the terminal.
    pub fn table(&self) -> String {
        let mut rows = vec![
            ("scenario", self.scenario.clone()),
            ("params", self.params.to_string()),
            ("seconds", format!("{:.2}", self.seconds)),
        ];
        if self.deliveries > 0 {
            rows.push((
                "deliveries",
                format!("{} ({:.0}/s)", self.deliveries, self.deliveries_per_s),
            ));
        }
        if self.acks > 0 {
            rows.push((
                "durable acks",
                format!("{} ({:.0}/s)", self.acks, self.acks_per_s),
            ));
        }
        if self.latency.count > 0 {
            let l = self.latency;
            rows.push((
                "latency ms",
                format!(
                    "p50 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
                    l.p50_ms, l.p99_ms, l.p999_ms, l.max_ms
                ),
            ));
        }
        rows.push((
            "undelivered / gaps / resets",
            format!("{} / {} / {}", self.undelivered, self.gaps, self.resets),
        ));
        if let Some(rss) = self.rss_kib {
            rows.push(("hub RSS KiB", format!("{rss:.1}")));
        }
        for note in &self.notes {
            rows.push(("note", note.clone()));
        }
        rows.iter()
            .map(|(k, v)| format!("{k:>28}  {v}\n"))
            .collect()
    }
}

/// A hub process's resident memory in KiB, from `/proc/PID/status`.
pub fn rss_kib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_recorded_samples() {
        let mut latency = Latency::default();
        for ms in 1..=1000u64 {
            latency.record(Duration::from_millis(ms));
        }
        let p = latency.percentiles();
        assert_eq!(p.count, 1000);
        assert!((p.p50_ms - 500.0).abs() < 1.0, "{p:?}");
        assert!((p.p99_ms - 990.0).abs() < 1.5, "{p:?}");
        assert!((p.max_ms - 1000.0).abs() < 1.0, "{p:?}");
        let mut other = Latency::default();
        other.record(Duration::from_secs(2));
        latency.merge(&other);
        assert!((latency.percentiles().max_ms - 2000.0).abs() < 2.0);
    }

    #[test]
    fn a_report_computes_rates_and_serializes_to_one_json_object() {
        let report = Report {
            scenario: "fanout".into(),
            deliveries: 5000,
            acks: 10,
            ..Report::default()
        }
        .finish(Duration::from_millis(500));
        assert_eq!(
            (report.deliveries_per_s, report.acks_per_s),
            (10_000.0, 20.0)
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["scenario"], "fanout");
        assert_eq!(json["deliveries_per_s"], 10_000.0);
        assert!(report.table().contains("deliveries"));
    }
}
