//! `fillstack-loadtest`: a small command-line client and the load scenarios.
//!
//! Every run is bounded by count and time, and talks to 127.0.0.1 unless
//! `--allow-remote` is given.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use std::io::Write;

use fillstack_loadtest::probe_target::{ProbeTarget, TargetParams};
use fillstack_loadtest::scenario::fanout::{self, FanoutParams};
use fillstack_loadtest::scenario::idle::{self, IdleParams};
use fillstack_loadtest::scenario::probes::{self, ProbesParams};
use fillstack_loadtest::scenario::publish::{self, PublishParams};
use fillstack_loadtest::scenario::reconnect::{self, ReconnectParams};
use fillstack_loadtest::scenario::slow_reader::{self, SlowReaderParams};
use fillstack_loadtest::scenario::topics::{self, TopicsParams};
use fillstack_loadtest::{Client, Hubs, Report, plot, timeline};
use fillstack_protocol::{Codec, FieldChanges, Scalar};

#[derive(Parser)]
#[command(
    name = "fillstack-loadtest",
    about = "Drive a FILLSTACK hub: watch, publish, measure"
)]
struct Cli {
    /// The hub's WebSocket URL.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws", global = true)]
    url: String,
    /// Several hubs of one cluster instead of --url, comma-separated. `fanout` and
    /// `rate` spread their subscribers over them round-robin and publish through
    /// the first; `publish` spreads its publishers round-robin. Every other
    /// command uses the first hub only.
    #[arg(
        long,
        global = true,
        value_delimiter = ',',
        conflicts_with = "url",
        value_name = "URL,URL,..."
    )]
    hubs: Vec<String>,
    /// Allow a hub that is not on 127.0.0.1 / localhost.
    #[arg(long, global = true)]
    allow_remote: bool,
    /// Append the run's report to this file as one JSON line.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
    /// Draw the run's latency and throughput over time into this SVG file.
    #[arg(long, global = true, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// The subprotocol every session of the run speaks.
    #[arg(long, global = true, default_value = "msgpack", value_parser = ["msgpack", "json"])]
    codec: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print every frame for resources matching PATTERN (JSON lines) until --for runs out.
    Watch {
        pattern: String,
        /// Stop after this many seconds.
        #[arg(long = "for", default_value_t = 3600)]
        seconds: u64,
    },
    /// Publish one change: `send svc/api up latency_ms=12 region=eu`.
    Send {
        resource: String,
        status: String,
        fields: Vec<String>,
    },
    /// S subscribers on one resource (spread over --hubs), one publisher as fast as a
    /// window allows: deliveries/s.
    Fanout {
        #[arg(long, default_value_t = 1000)]
        subscribers: usize,
        #[arg(long, default_value_t = 2000)]
        messages: u64,
        #[arg(long, default_value_t = 64)]
        window: u64,
        #[arg(long, default_value_t = 60)]
        max_seconds: u64,
    },
    /// The fanout topology at a fixed publish rate: latency and undelivered changes.
    Rate {
        #[arg(long, default_value_t = 1000)]
        subscribers: usize,
        /// Publishes per second.
        #[arg(long, default_value_t = 200)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// C subscribers on C resources, publishes to random ones: deliveries/s.
    Topics(TopicsParams),
    /// N subscribed connections doing nothing: the hub's RSS per connection.
    Idle(IdleParams),
    /// P publishers (spread over --hubs) over R resources: durable acks/s and ack latency.
    Publish(PublishParams),
    /// Subscribers that stop reading while changes flow: conflations, no gap, bounded RSS.
    SlowReader(SlowReaderParams),
    /// N clients drop and resume with `since`: time until all are live, gaps (must be 0).
    Reconnect(ReconnectParams),
    /// A hub probing a `probe-target`, then also taking the publish load: checks/s,
    /// CPU share for probing, acks/s with vs without probes.
    Probes(ProbesParams),
    /// Serve HTTP checks for a hub's probes and count them; write its config file.
    ProbeTarget(TargetParams),
}

impl Command {
    /// The scenario this command runs, if it runs one.
    fn scenario_name(&self) -> Option<&'static str> {
        Some(match self {
            Self::Watch { .. } | Self::Send { .. } | Self::ProbeTarget(_) => return None,
            Self::Fanout { .. } => "fanout",
            Self::Rate { .. } => "rate",
            Self::Topics(_) => "topics",
            Self::Idle(_) => "idle",
            Self::Publish(_) => "publish",
            Self::SlowReader(_) => "slow-reader",
            Self::Reconnect(_) => "reconnect",
            Self::Probes(_) => "probes",
        })
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let hubs = cli.hubs()?;
    let mut places = hubs.urls().to_vec();
    match &cli.command {
        Command::Probes(params) => places.push(params.target.clone()),
        Command::ProbeTarget(params) if !params.listen.ip().is_loopback() => {
            places.push(params.listen.to_string());
        }
        _ => {}
    }
    let is_local = |url: &str| url.contains("://127.0.0.1") || url.contains("://localhost");
    if let Some(remote) = places.iter().find(|url| !is_local(url))
        && !cli.allow_remote
    {
        bail!("{remote} is not on this machine; pass --allow-remote to use it anyway");
    }
    // Found out before the run rather than after it.
    if let Some(path) = &cli.plot {
        if cli.command.scenario_name().is_none() {
            bail!("--plot draws a scenario's run: `watch`, `send` and `probe-target` have none");
        }
        let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty());
        if dir.is_some_and(|dir| !dir.is_dir()) {
            bail!(
                "cannot write the plot {}: no such directory",
                path.display()
            );
        }
    }
    actix_rt::System::new().block_on(run(cli, hubs))
}

impl Cli {
    /// `--hubs`, or the one hub of `--url`.
    fn hubs(&self) -> anyhow::Result<Hubs> {
        if self.hubs.is_empty() {
            Ok(Hubs::one(&self.url))
        } else {
            Hubs::new(&self.hubs)
        }
    }
}

async fn run(cli: Cli, hubs: Hubs) -> anyhow::Result<()> {
    // Every command but fanout, rate and publish talks to the first hub only.
    let url = hubs.first().to_owned();
    let codec = match cli.codec.as_str() {
        "json" => Codec::Json,
        _ => Codec::MsgPack,
    };
    fillstack_loadtest::scenario::use_codec(codec);
    if let Some(name) = cli.command.scenario_name() {
        // On a terminal only: indicatif draws nothing when stderr is not one.
        fillstack_loadtest::scenario::show_progress(name);
    }
    timeline::start();
    let mut report = match cli.command {
        Command::Watch { pattern, seconds } => {
            return watch(&url, &pattern, Duration::from_secs(seconds)).await;
        }
        Command::Send {
            resource,
            status,
            fields,
        } => {
            let mut client = Client::connect_hello(&url, codec).await?;
            let seq = client
                .publish(&resource, Some(&status), parse_fields(&fields)?)
                .await?;
            println!("{resource} is at seq {seq}");
            return Ok(());
        }
        Command::ProbeTarget(params) => return serve_checks(params).await,
        Command::Fanout {
            subscribers,
            messages,
            window,
            max_seconds,
        } => {
            let params = FanoutParams {
                subscribers,
                messages,
                window,
                rate: None,
                max_seconds,
            };
            fanout::run_on(&hubs, params).await?
        }
        Command::Rate {
            subscribers,
            rate,
            seconds,
        } => {
            let messages = rate * seconds;
            let params = FanoutParams {
                subscribers,
                messages,
                window: 0,
                rate: Some(rate),
                max_seconds: seconds + 5,
            };
            fanout::run_on(&hubs, params).await?
        }
        Command::Topics(params) => topics::run(&url, params).await?,
        Command::Idle(params) => idle::run(&url, params).await?,
        Command::Publish(params) => publish::run_on(&hubs, params).await?,
        Command::SlowReader(params) => slow_reader::run(&url, params).await?,
        Command::Reconnect(params) => reconnect::run(&url, params).await?,
        Command::Probes(params) => probes::run(&url, params).await?,
    };
    fillstack_loadtest::scenario::finish_progress();
    if report.codec.is_empty() {
        // `probes` reports what it compared, not one run's sessions.
        report.codec = cli.codec;
    }
    if report.hubs.is_empty() {
        report.hubs = vec![url];
    }
    report.timeline = timeline::take();
    write_out(&report, cli.json.as_deref(), cli.plot.as_deref())
}

/// Prints `report`'s table, appends it to `json` and draws it into `plot`.
fn write_out(report: &Report, json: Option<&Path>, plot: Option<&Path>) -> anyhow::Result<()> {
    print!("{}", report.table());
    if let Some(path) = json {
        append_json(path, report)?;
    }
    if let Some(path) = plot {
        plot::write(path, report)?;
        println!("plot written to {}", path.display());
    }
    Ok(())
}

/// Appends `report` to `path` as one JSON line.
fn append_json(path: &Path, report: &Report) -> anyhow::Result<()> {
    let mut line = serde_json::to_string(report)?;
    line.push('\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(line.as_bytes()))
        .with_context(|| format!("cannot append the report to {}", path.display()))
}

fn parse_fields(pairs: &[String]) -> anyhow::Result<FieldChanges> {
    pairs
        .iter()
        .map(|pair| {
            let (name, value) = pair
                .split_once('=')
                .with_context(|| format!("`{pair}` is not name=value"))?;
            let value = if let Ok(int) = value.parse::<i64>() {
                Scalar::Int(int)
            } else if let Ok(float) = value.parse::<f64>() {
                Scalar::Float(float)
            } else if let Ok(flag) = value.parse::<bool>() {
                Scalar::Bool(flag)
            } else {
                Scalar::Str(value.to_owned())
            };
            Ok((name.to_owned(), Some(value)))
        })
        .collect()
}

/// `probe-target`: writes the hub's config (if asked), then prints the address, so
/// a script that waits for `listening on` finds the config already there; serves
/// until `--seconds`, SIGTERM or Ctrl-C, and prints what it served.
async fn serve_checks(params: TargetParams) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let plan = params.plan();
    let target = ProbeTarget::bind(params.listen, &plan)
        .await
        .with_context(|| format!("cannot listen on {}", params.listen))?;
    if let Some(path) = &params.config_out {
        std::fs::write(path, plan.config_toml(target.addr())?)
            .with_context(|| format!("cannot write the hub config {}", path.display()))?;
        eprintln!("{} probes written to {}", plan.probes, path.display());
    }
    println!("listening on http://{}", target.addr());
    let mut terminate = signal(SignalKind::terminate())?;
    let limit = Duration::from_secs(params.seconds);
    let stats = target
        .serve(async move {
            tokio::select! {
                () = actix_rt::time::sleep(limit) => {}
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        })
        .await;
    println!(
        "served {} checks in {:.1} s ({:.0} checks/s); refused {} connections",
        stats.requests,
        stats.seconds,
        stats.checks_per_s(),
        stats.refused
    );
    Ok(())
}

async fn watch(url: &str, pattern: &str, limit: Duration) -> anyhow::Result<()> {
    let mut client = Client::connect_hello(url, Codec::Json).await?;
    let count = client.subscribe(pattern, None).await?;
    eprintln!("watching {pattern}: {count} resources match now");
    let deadline = Instant::now() + limit;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match client.frame_within(left).await {
            Ok(frame) => println!("{}", serde_json::to_string(&frame)?),
            Err(fillstack_loadtest::ClientError::Timeout { .. }) => break,
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}
