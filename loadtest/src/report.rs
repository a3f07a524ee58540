//! What a scenario measured: a table for people and one JSON object per run.

use std::time::Duration;

use hdrhistogram::{Counter, Histogram};
use serde::Serialize;

use crate::hubs::HubShare;

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
    /// The subprotocol its sessions spoke (`--codec`): `msgpack` or `json`.
    pub codec: String,
    /// Its parameters, as given.
    pub params: serde_json::Value,
    /// The hubs its sessions were spread over (`--hubs`), or the one it used.
    pub hubs: Vec<String>,
    /// What the sessions on each hub did, in the order of `hubs`, when a run
    /// spread its sessions over several (fanout, rate, publish).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub per_hub: Vec<HubShare>,
    /// Wall time of the measured part, seconds.
    pub seconds: f64,
    /// Frames (snapshots and deltas) received by subscribers.
    pub deliveries: u64,
    pub deliveries_per_s: f64,
    /// Durable acks received by publishers.
    pub acks: u64,
    pub acks_per_s: f64,
    /// Publishes a hub answered `unavailable` and the harness sent again after
    /// its `retry_after_ms` (a cluster's hub answers so when other hubs keep
    /// writing the resource first); each was acked in the end.
    pub retries: u64,
    /// Publish-to-receipt latency (fanout, rate, topics) or publish-to-ack (publish).
    pub latency: Percentiles,
    /// Changes a subscriber should have seen and did not.
    pub undelivered: u64,
    /// Deltas that skipped a seq without a reset snapshot (must be 0).
    pub gaps: u64,
    /// Reset snapshots received (conflations).
    pub resets: u64,
    /// Acks that gave a resource a seq an earlier ack of the run had already given
    /// it (publish; must be 0: every publish of the run changes its resource, so
    /// a repeat means two changes got one seq, as two hubs of a cluster must never do).
    pub repeated_seqs: u64,
    /// Hub resident memory per connection, KiB (idle), or growth (slow-reader).
    pub rss_kib: Option<f64>,
    /// What the hub's probing cost and achieved (`probes` scenario only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probing: Option<Probing>,
    /// Anything else worth saying.
    pub notes: Vec<String>,
    /// Events and latency over time, when the caller kept a
    /// [`timeline`](crate::timeline) of the run (the CLI does).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<crate::timeline::Point>,
}

/// What the `probes` scenario measured of the hub's probes; the publish figures
/// with probes running are the report's own `acks_per_s` and `latency`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Probing {
    /// Probes in the hub's config, and each one's interval in ms.
    pub probes: u64,
    pub interval_ms: u64,
    /// Checks that reached the target per second, with only probes running.
    pub checks_per_s: f64,
    /// The same while the publish run went on.
    pub checks_per_s_publishing: f64,
    /// The hub's CPU time over wall time with only probes running: the share of
    /// one core that probing costs (the hub has no session then).
    pub hub_cpu_share: f64,
    /// Durable acks/s of the same publish run on a hub without probes.
    pub acks_per_s_without: Option<f64>,
    /// Durable acks/s with probes over those without.
    pub acks_ratio: Option<f64>,
}

impl Probing {
    /// Probe checks per second that the config asks for.
    pub fn expected_checks_per_s(&self) -> f64 {
        if self.interval_ms > 0 {
            self.probes as f64 * 1000.0 / self.interval_ms as f64
        } else {
            0.0
        }
    }
}

impl Report {
    /// Fills the rates from the counts and `elapsed`.
    pub fn finish(mut self, elapsed: Duration) -> Self {
        self.seconds = elapsed.as_secs_f64();
        self.codec = crate::scenario::codec_name().to_owned();
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
            ("codec", self.codec.clone()),
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
        if self.scenario == "publish" {
            rows.push(("seqs acked twice", self.repeated_seqs.to_string()));
        }
        if self.retries > 0 {
            rows.push(("retried (unavailable)", self.retries.to_string()));
        }
        if self.hubs.len() > 1 {
            rows.push(("hubs", self.hubs.join(" ")));
        }
        rows.extend(self.per_hub.iter().map(|share| ("per hub", share.row())));
        if let Some(rss) = self.rss_kib {
            rows.push(("hub RSS KiB", format!("{rss:.1}")));
        }
        if let Some(probing) = &self.probing {
            rows.extend(probing.rows(self.acks_per_s));
        }
        for note in &self.notes {
            rows.push(("note", note.clone()));
        }
        rows.iter()
            .map(|(k, v)| format!("{k:>28}  {v}\n"))
            .collect()
    }
}

impl Probing {
    /// Its rows in [`Report::table`], beside the run's `acks_per_s` (with probes).
    fn rows(&self, acks_per_s: f64) -> Vec<(&'static str, String)> {
        let compared = match (self.acks_per_s_without, self.acks_ratio) {
            (Some(without), Some(ratio)) => {
                format!("{acks_per_s:.0} with, {without:.0} without (x{ratio:.2})")
            }
            _ => format!("{acks_per_s:.0} with, not measured without"),
        };
        vec![
            (
                "probe checks/s",
                format!(
                    "{:.0} probes only, {:.0} publishing (config: {:.0})",
                    self.checks_per_s,
                    self.checks_per_s_publishing,
                    self.expected_checks_per_s()
                ),
            ),
            ("durable acks/s", compared),
            (
                "hub CPU for probing",
                format!("{:.1}% of one core", self.hub_cpu_share * 100.0),
            ),
        ]
    }
}

/// A process's CPU time, user and system, all threads, from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks = cpu_ticks(&stat)?;
    Some(Duration::from_secs_f64(ticks as f64 / clock_ticks_per_s()))
}

/// utime + stime (fields 14 and 15) in clock ticks, from the text of
/// `/proc/PID/stat`. Field 2, the command name in parentheses, may itself hold
/// spaces and `)`, so fields are counted from after its last `)`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Field 3 (state) comes first, so utime, field 14, is the twelfth.
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second, as `getconf CLK_TCK` says (asked once); Linux's
/// USER_HZ, 100, if that cannot be run.
fn clock_ticks_per_s() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|ticks| *ticks > 0.0)
            .unwrap_or(100.0)
    })
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
        assert!(
            json.get("probing").is_none(),
            "only the probes scenario has it"
        );
    }

    #[test]
    fn a_run_over_several_hubs_names_them_and_shows_each_ones_share() {
        let hubs = crate::Hubs::new(&["ws://127.0.0.1:1/ws", "ws://127.0.0.1:2/ws"]).unwrap();
        let mut tally = crate::hubs::HubTally::new(&hubs);
        let sent = |acks, retries| crate::scenario::Sent { acks, retries };
        tally.publisher(0, sent(70, 0), &Latency::default());
        tally.publisher(1, sent(30, 4), &Latency::default());
        let report = Report {
            scenario: "publish".into(),
            hubs: hubs.urls().to_vec(),
            per_hub: tally.into_shares(),
            acks: 100,
            retries: 4,
            ..Report::default()
        }
        .finish(Duration::from_secs(1));
        let table = report.table();
        for row in [
            "hubs  ws://127.0.0.1:1/ws ws://127.0.0.1:2/ws",
            "per hub  ws://127.0.0.1:1/ws: 1 sessions, 70 acks",
            "per hub  ws://127.0.0.1:2/ws: 1 sessions, 30 acks (4 retried)",
            "seqs acked twice  0",
            "retried (unavailable)  4",
        ] {
            assert!(table.contains(row), "{row:?} in\n{table}");
        }
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["hubs"][1], "ws://127.0.0.1:2/ws");
        assert_eq!(json["per_hub"][0]["acks"], 70);
        assert_eq!(json["repeated_seqs"], 0);
        let one = Report {
            hubs: vec!["ws://127.0.0.1:1/ws".into()],
            ..Report::default()
        };
        let json = serde_json::to_value(&one).unwrap();
        assert_eq!(json["hubs"], serde_json::json!(["ws://127.0.0.1:1/ws"]));
        assert!(json.get("per_hub").is_none(), "only with several hubs");
        assert!(!one.table().contains("hubs"));
    }

    #[test]
    fn cpu_ticks_are_utime_plus_stime_even_when_the_name_has_spaces_and_parens() {
        let stat = "4242 (fill stack) (x)) S 1 4242 4242 0 -1 4194560 1883 0 0 0 \
                    370 25 0 0 20 0 9 0 123456 75000000 2300 18446744073709551615";
        assert_eq!(cpu_ticks(stat), Some(395));
        assert_eq!(cpu_ticks("4242 (short) S 1 2 3"), None);
        assert_eq!(cpu_ticks("no name at all"), None);
    }

    #[test]
    fn this_process_has_spent_some_cpu_time() {
        let mut spin = 0u64;
        for n in 0..5_000_000u64 {
            spin = spin.wrapping_add(n * n);
        }
        assert!(spin > 0);
        let cpu = cpu_time(std::process::id()).expect("/proc/self/stat is readable");
        assert!(
            cpu > Duration::ZERO && cpu < Duration::from_secs(3600),
            "{cpu:?}"
        );
    }

    #[test]
    fn a_probes_report_shows_checks_acks_with_and_without_and_cpu_share() {
        let report = Report {
            scenario: "probes".into(),
            acks: 95_000,
            probing: Some(Probing {
                probes: 1000,
                interval_ms: 1000,
                checks_per_s: 999.0,
                checks_per_s_publishing: 990.0,
                hub_cpu_share: 0.0734,
                acks_per_s_without: Some(100_000.0),
                acks_ratio: Some(0.95),
            }),
            ..Report::default()
        }
        .finish(Duration::from_secs(1));
        let table = report.table();
        for row in [
            "probe checks/s  999 probes only, 990 publishing (config: 1000)",
            "durable acks/s  95000 with, 100000 without (x0.95)",
            "hub CPU for probing  7.3% of one core",
        ] {
            assert!(table.contains(row), "{row:?} in\n{table}");
        }
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["acks_per_s"], 95_000.0);
        assert_eq!(json["probing"]["checks_per_s"], 999.0);
        assert_eq!(json["probing"]["acks_ratio"], 0.95);
        assert_eq!(json["probing"]["hub_cpu_share"], 0.0734);
    }
}
