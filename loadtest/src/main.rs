//! `fillstack-loadtest`: a small command-line client and the first load scenarios.
//!
//! Every run is bounded by count and time, and talks to 127.0.0.1 unless
//! `--allow-remote` is given.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use fillstack_loadtest::Client;
use fillstack_protocol::{ClientFrame, Codec, FieldChanges, PublishFrame, Scalar, ServerFrame};

#[derive(Parser)]
#[command(
    name = "fillstack-loadtest",
    about = "Drive a FILLSTACK hub: watch, publish, measure"
)]
struct Cli {
    /// The hub's WebSocket URL.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws", global = true)]
    url: String,
    /// Allow a hub that is not on 127.0.0.1 / localhost.
    #[arg(long, global = true)]
    allow_remote: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print every frame for resources matching PATTERN (JSON lines) until Ctrl-C or --for.
    Watch {
        pattern: String,
        /// Stop after this many seconds.
        #[arg(long = "for", default_value_t = 3600)]
        seconds: u64,
    },
    /// Publish one change: `publish svc/api up latency_ms=12 region=eu`.
    Publish {
        resource: String,
        status: String,
        fields: Vec<String>,
    },
    /// S subscribers on one resource, one publisher: deliveries per second.
    Fanout {
        #[arg(long, default_value_t = 1000)]
        subscribers: usize,
        #[arg(long, default_value_t = 2000)]
        messages: u64,
        /// Publishes in flight at once.
        #[arg(long, default_value_t = 64)]
        window: u64,
    },
    /// P publishers over R resources: durable acks per second.
    Publishes {
        #[arg(long, default_value_t = 100)]
        publishers: usize,
        #[arg(long, default_value_t = 1000)]
        resources: u64,
        #[arg(long, default_value_t = 500)]
        per_publisher: u64,
        #[arg(long, default_value_t = 32)]
        window: u64,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let is_local = cli.url.contains("://127.0.0.1") || cli.url.contains("://localhost");
    if !(cli.allow_remote || is_local) {
        bail!(
            "{} is not on this machine; pass --allow-remote to load it anyway",
            cli.url
        );
    }
    actix_rt::System::new().block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli.url;
    match cli.command {
        Command::Watch { pattern, seconds } => {
            watch(&url, &pattern, Duration::from_secs(seconds)).await
        }
        Command::Publish {
            resource,
            status,
            fields,
        } => {
            let mut client = Client::connect_hello(&url, Codec::MsgPack).await?;
            let seq = client
                .publish(&resource, Some(&status), parse_fields(&fields)?)
                .await?;
            println!("{resource} is at seq {seq}");
            Ok(())
        }
        Command::Fanout {
            subscribers,
            messages,
            window,
        } => fanout(&url, subscribers, messages, window).await,
        Command::Publishes {
            publishers,
            resources,
            per_publisher,
            window,
        } => publishes(&url, publishers, resources, per_publisher, window).await,
    }
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

/// One publisher, `subscribers` watchers of one resource; counts deliveries.
async fn fanout(url: &str, subscribers: usize, messages: u64, window: u64) -> anyhow::Result<()> {
    let mut watchers = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let mut client = Client::connect_hello(url, Codec::MsgPack).await?;
        client.subscribe("bench/fanout", None).await?;
        watchers.push(client);
    }
    let mut publisher = Client::connect_hello(url, Codec::MsgPack).await?;
    let start_seq = publisher
        .publish("bench/fanout", Some("up"), FieldChanges::new())
        .await?;
    let target = start_seq + messages;
    let readers: Vec<_> = watchers
        .into_iter()
        .map(|mut client| {
            actix_rt::spawn(async move {
                let mut delivered = 0u64;
                while let Ok(frame) = client.frame_within(Duration::from_secs(30)).await {
                    let seq = match frame {
                        ServerFrame::Delta(delta) => delta.seq,
                        ServerFrame::Snapshot(snapshot) => snapshot.seq,
                        _ => continue,
                    };
                    delivered += 1;
                    if seq >= target {
                        break;
                    }
                }
                delivered
            })
        })
        .collect();
    let started = Instant::now();
    send_windowed(&mut publisher, messages, window, |n| {
        ("bench/fanout".to_owned(), n)
    })
    .await?;
    let mut delivered = 0;
    for reader in readers {
        delivered += reader.await?;
    }
    let elapsed = started.elapsed();
    println!(
        "fanout: {subscribers} subscribers, {messages} publishes, {delivered} deliveries in {:.2}s = {:.0} deliveries/s",
        elapsed.as_secs_f64(),
        delivered as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

/// Sends `count` publishes keeping at most `window` unacked; returns when all are acked.
async fn send_windowed(
    client: &mut Client,
    count: u64,
    window: u64,
    target: impl Fn(u64) -> (String, u64),
) -> anyhow::Result<()> {
    let (mut sent, mut acked) = (0u64, 0u64);
    while acked < count {
        while sent < count && sent - acked < window {
            sent += 1;
            let (resource, n) = target(sent);
            let fields = [("n".to_owned(), Some(Scalar::Int(i64::try_from(n)?)))]
                .into_iter()
                .collect();
            let frame = PublishFrame {
                id: sent,
                resource,
                fields: Some(fields),
                ..PublishFrame::default()
            };
            client.send(&ClientFrame::Pub(frame)).await?;
        }
        match client.frame_within(Duration::from_secs(30)).await? {
            ServerFrame::Ack { .. } => acked += 1,
            ServerFrame::Error { code, message, .. } => {
                bail!("publish refused: {code:?}: {message}")
            }
            _ => {}
        }
    }
    Ok(())
}

async fn publishes(
    url: &str,
    publishers: usize,
    resources: u64,
    per_publisher: u64,
    window: u64,
) -> anyhow::Result<()> {
    let mut clients = Vec::with_capacity(publishers);
    for _ in 0..publishers {
        clients.push(Client::connect_hello(url, Codec::MsgPack).await?);
    }
    let started = Instant::now();
    let runs: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(p, mut client)| {
            actix_rt::spawn(async move {
                let offset = p as u64 * 7919;
                send_windowed(&mut client, per_publisher, window, |n| {
                    (format!("bench/r{}", (offset + n) % resources), n)
                })
                .await
            })
        })
        .collect();
    for run in runs {
        run.await??;
    }
    let elapsed = started.elapsed();
    let total = publishers as u64 * per_publisher;
    println!(
        "publish: {publishers} publishers over {resources} resources, {total} durable acks in {:.2}s = {:.0} acks/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
