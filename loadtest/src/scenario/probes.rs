//! `probes`: a hub that runs N http probes against a local `probe-target`, measured
//! first with nothing else to do, then while the `publish` scenario runs on it:
//! probe checks/s, the hub's CPU share for probing, and the publish acks/s beside
//! those of the same publish run on a hub without probes (README: probes row).
//! The hub must have been started with the target's `--config-out` file; the
//! scenario needs its PID (CPU time) and the target's URL (the check count).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;

use super::publish::{self, PublishParams};
use crate::probe_target::TargetStats;
use crate::report::{Probing, Report, cpu_time};

#[derive(Debug, Clone, Serialize, clap::Args)]
pub struct ProbesParams {
    /// The probe target's URL, as `probe-target` printed it (`/stats` is read there).
    #[arg(long)]
    pub target: String,
    /// The hub's process id, for its CPU time in `/proc/PID/stat`.
    #[arg(long)]
    pub hub_pid: u32,
    /// A `--json` file holding a `publish` run of the same sizes on a hub without
    /// probes: the acks/s to compare with. The last such run in it counts.
    #[arg(long, value_name = "FILE.jsonl")]
    pub baseline: Option<PathBuf>,
    /// Seconds to wait once checks arrive, so the first round's burst is over.
    #[arg(long, default_value_t = 3)]
    pub settle_seconds: u64,
    /// Seconds measured with only the probes running.
    #[arg(long, default_value_t = 10)]
    pub idle_seconds: u64,
    #[command(flatten)]
    #[serde(flatten)]
    pub publish: PublishParams,
}

/// How long the first check may take to reach the target.
const FIRST_CHECK_WITHIN: Duration = Duration::from_secs(15);

pub async fn run(url: &str, params: ProbesParams) -> anyhow::Result<Report> {
    // Found out before the run rather than after it.
    let without = match &params.baseline {
        Some(path) => Some(baseline_acks_per_s(path, &params.publish)?),
        None => None,
    };
    if cpu_time(params.hub_pid).is_none() {
        bail!(
            "cannot read /proc/{}/stat: is --hub-pid the hub's process id?",
            params.hub_pid
        );
    }
    let target = Target::new(&params.target);
    target.first_check().await?;
    actix_rt::time::sleep(Duration::from_secs(params.settle_seconds)).await;

    let window = Window::open(&target, params.hub_pid).await?;
    actix_rt::time::sleep(Duration::from_secs(params.idle_seconds)).await;
    let probes_only = window.close(&target).await?;

    let window = Window::open(&target, params.hub_pid).await?;
    let mut report = publish::run(url, params.publish.clone()).await?;
    let publishing = window.close(&target).await?;

    let stats = publishing.last;
    let probing = Probing {
        probes: stats.probes,
        interval_ms: stats.interval_ms,
        // Whole numbers, as `Report::finish` rounds its rates.
        checks_per_s: probes_only.checks_per_s().round(),
        checks_per_s_publishing: publishing.checks_per_s().round(),
        hub_cpu_share: probes_only.cpu_share(),
        acks_per_s_without: without,
        acks_ratio: without
            .filter(|without| *without > 0.0)
            .map(|without| report.acks_per_s / without),
    };
    report
        .notes
        .extend(notes(&probing, &probes_only, &publishing));
    if stats.refused > 0 {
        report.notes.push(format!(
            "the target refused {} connections (over its bound): those checks failed",
            stats.refused
        ));
    }
    let mut sizes = serde_json::to_value(&params)?;
    sizes["probes"] = stats.probes.into();
    sizes["interval_ms"] = stats.interval_ms.into();
    report.scenario = "probes".into();
    report.params = sizes;
    report.probing = Some(probing);
    Ok(report)
}

/// Where the measured figures came from, in words.
fn notes(probing: &Probing, probes_only: &Measured, publishing: &Measured) -> Vec<String> {
    let mut notes = vec![
        format!(
            "probes only, {:.1} s: {} checks, hub CPU {:.2} s ({:.3} ms per check)",
            probes_only.wall.as_secs_f64(),
            probes_only.checks,
            probes_only.cpu.as_secs_f64(),
            probes_only.cpu.as_secs_f64() * 1000.0 / probes_only.checks.max(1) as f64,
        ),
        format!(
            "publishing, {:.1} s: {} checks, hub CPU {:.0}% of one core",
            publishing.wall.as_secs_f64(),
            publishing.checks,
            publishing.cpu_share() * 100.0,
        ),
    ];
    if probing.acks_per_s_without.is_none() {
        notes.push("no --baseline: acks/s without probes not compared".into());
    }
    notes
}

/// The acks/s of the last `publish` report in `path` (JSON lines) with `params`,
/// spoken in the subprotocol this run speaks.
fn baseline_acks_per_s(path: &Path, params: &PublishParams) -> anyhow::Result<f64> {
    let lines = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the baseline {}", path.display()))?;
    let wanted = serde_json::to_value(params)?;
    let codec = super::codec_name();
    last_publish_acks_per_s(&lines, &wanted, codec).with_context(|| {
        format!(
            "{} holds no `publish` run in {codec} with {wanted}: run `publish` with the \
             same sizes and --codec on a hub without probes, with --json {0}",
            path.display()
        )
    })
}

/// The acks/s of the last line that is a `publish` report with these params in
/// `codec` (a report from before runs named their codec spoke MessagePack), on
/// one hub (as probes run: a run over `--hubs` measured a cluster).
fn last_publish_acks_per_s(lines: &str, params: &serde_json::Value, codec: &str) -> Option<f64> {
    // From the end: the newest run of those sizes counts.
    lines
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|run| run["scenario"] == "publish" && run["params"] == *params)
        .filter(|run| run["codec"].as_str().unwrap_or("msgpack") == codec)
        .filter(|run| run["hubs"].as_array().is_none_or(|hubs| hubs.len() <= 1))
        .filter_map(|run| run["acks_per_s"].as_f64())
        .next_back()
}

/// The probe target, read over HTTP.
struct Target {
    http: awc::Client,
    stats_url: String,
}

impl Target {
    fn new(url: &str) -> Self {
        Self {
            http: awc::Client::default(),
            stats_url: format!("{}/stats", url.trim_end_matches('/')),
        }
    }

    async fn stats(&self) -> anyhow::Result<TargetStats> {
        // awc's errors are not `Send`: they are kept as text.
        let mut response = self
            .http
            .get(&self.stats_url)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", self.stats_url))?;
        response
            .json::<TargetStats>()
            .await
            .map_err(|e| anyhow::anyhow!("{} is not a probe target's stats: {e}", self.stats_url))
    }

    /// Waits until a check reaches the target (the hub is probing).
    async fn first_check(&self) -> anyhow::Result<()> {
        let before = self.stats().await?.requests;
        let deadline = Instant::now() + FIRST_CHECK_WITHIN;
        while Instant::now() < deadline {
            actix_rt::time::sleep(Duration::from_millis(200)).await;
            if self.stats().await?.requests > before {
                return Ok(());
            }
        }
        bail!(
            "no probe check reached {} within {} s: was the hub started with \
             --config FILE from `probe-target --config-out FILE`?",
            self.stats_url,
            FIRST_CHECK_WITHIN.as_secs()
        )
    }
}

/// The hub's CPU time and the target's count at the start of a measured window.
struct Window {
    at: Instant,
    cpu: Duration,
    first: TargetStats,
    hub_pid: u32,
}

/// What happened during a window.
struct Measured {
    wall: Duration,
    cpu: Duration,
    checks: u64,
    last: TargetStats,
}

impl Window {
    async fn open(target: &Target, hub_pid: u32) -> anyhow::Result<Self> {
        let first = target.stats().await?;
        Ok(Self {
            at: Instant::now(),
            cpu: hub_cpu(hub_pid)?,
            first,
            hub_pid,
        })
    }

    async fn close(self, target: &Target) -> anyhow::Result<Measured> {
        let cpu = hub_cpu(self.hub_pid)?;
        let wall = self.at.elapsed();
        let last = target.stats().await?;
        Ok(Measured {
            wall,
            cpu: cpu.saturating_sub(self.cpu),
            checks: last.requests.saturating_sub(self.first.requests),
            last,
        })
    }
}

impl Measured {
    fn checks_per_s(&self) -> f64 {
        per_s(self.checks as f64, self.wall)
    }

    /// CPU seconds per wall second: the share of one core.
    fn cpu_share(&self) -> f64 {
        per_s(self.cpu.as_secs_f64(), self.wall)
    }
}

fn per_s(amount: f64, wall: Duration) -> f64 {
    if wall.is_zero() {
        0.0
    } else {
        amount / wall.as_secs_f64()
    }
}

fn hub_cpu(pid: u32) -> anyhow::Result<Duration> {
    cpu_time(pid).with_context(|| format!("the hub (pid {pid}) has gone: /proc/{pid}/stat"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(per_publisher: u64) -> PublishParams {
        PublishParams {
            publishers: 100,
            resources: 1000,
            per_publisher,
            window: 32,
            max_seconds: 60,
        }
    }

    fn line(scenario: &str, params: &PublishParams, acks_per_s: f64) -> String {
        line_in("msgpack", scenario, params, acks_per_s)
    }

    fn line_in(codec: &str, scenario: &str, params: &PublishParams, acks_per_s: f64) -> String {
        let report = Report {
            scenario: scenario.into(),
            codec: codec.into(),
            params: serde_json::to_value(params).unwrap(),
            acks_per_s,
            ..Report::default()
        };
        serde_json::to_string(&report).unwrap()
    }

    #[test]
    fn the_baseline_is_the_last_publish_run_of_the_same_sizes() {
        let lines = [
            line("publish", &sizes(1000), 60_000.0),
            line("fanout", &sizes(1000), 1.0),
            "not json".to_owned(),
            line("publish", &sizes(500), 70_000.0),
            line("publish", &sizes(1000), 66_000.0),
        ]
        .join("\n");
        let wanted = |p: u64| serde_json::to_value(sizes(p)).unwrap();
        assert_eq!(
            last_publish_acks_per_s(&lines, &wanted(1000), "msgpack"),
            Some(66_000.0)
        );
        assert_eq!(
            last_publish_acks_per_s(&lines, &wanted(500), "msgpack"),
            Some(70_000.0)
        );
        assert_eq!(
            last_publish_acks_per_s(&lines, &wanted(10), "msgpack"),
            None
        );
    }

    #[test]
    fn the_baseline_is_a_run_in_the_same_subprotocol() {
        // scripts/bench runs publish in MessagePack, then in JSON, then probes in
        // MessagePack: the JSON run must not be its baseline.
        let lines = [
            line_in("msgpack", "publish", &sizes(1000), 43_000.0),
            line_in("json", "publish", &sizes(1000), 32_000.0),
        ]
        .join("\n");
        let wanted = serde_json::to_value(sizes(1000)).unwrap();
        assert_eq!(
            last_publish_acks_per_s(&lines, &wanted, "msgpack"),
            Some(43_000.0)
        );
        assert_eq!(
            last_publish_acks_per_s(&lines, &wanted, "json"),
            Some(32_000.0)
        );
    }

    #[test]
    fn the_baseline_is_a_run_on_one_hub_not_on_a_cluster() {
        // scripts/bench --cluster also runs publish with these sizes over 3 hubs.
        let mut cluster = Report {
            scenario: "publish".into(),
            codec: "msgpack".into(),
            params: serde_json::to_value(sizes(1000)).unwrap(),
            acks_per_s: 9_000.0,
            ..Report::default()
        };
        cluster.hubs = vec!["ws://127.0.0.1:1/ws".into(); 3];
        let mut single = cluster.clone();
        single.hubs.truncate(1);
        single.acks_per_s = 43_000.0;
        let lines = [&single, &cluster]
            .map(|run| serde_json::to_string(run).unwrap())
            .join("\n");
        let wanted = serde_json::to_value(sizes(1000)).unwrap();
        assert_eq!(
            last_publish_acks_per_s(&lines, &wanted, "msgpack"),
            Some(43_000.0)
        );
    }

    #[test]
    fn a_missing_baseline_is_an_error_naming_the_file_and_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.jsonl");
        std::fs::write(&path, line("publish", &sizes(500), 1.0) + "\n").unwrap();
        let error = baseline_acks_per_s(&path, &sizes(1000)).unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.contains("runs.jsonl holds no `publish` run"),
            "{message}"
        );
        assert!(message.contains("\"per_publisher\":1000"), "{message}");
    }

    #[test]
    fn params_keep_the_publish_sizes_flat_beside_the_probe_options() {
        let params = ProbesParams {
            target: "http://127.0.0.1:9000".into(),
            hub_pid: 1,
            baseline: None,
            settle_seconds: 3,
            idle_seconds: 10,
            publish: sizes(1000),
        };
        let json = serde_json::to_value(&params).unwrap();
        assert_eq!(json["per_publisher"], 1000);
        assert_eq!(json["target"], "http://127.0.0.1:9000");
    }

    #[test]
    fn rates_over_a_window_are_per_wall_second() {
        let measured = Measured {
            wall: Duration::from_secs(10),
            cpu: Duration::from_millis(730),
            checks: 9_990,
            last: TargetStats::default(),
        };
        assert!((measured.checks_per_s() - 999.0).abs() < 1e-9);
        assert!((measured.cpu_share() - 0.073).abs() < 1e-9);
        assert!(per_s(5.0, Duration::ZERO).abs() < f64::EPSILON);
    }
}
