//! The `fillstack` command line: parse flags, build the config, run the hub.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fillstack::config::{Config, Overrides};

#[derive(Parser)]
#[command(name = "fillstack", version, about = "A realtime status hub")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub (WebSocket, health and metrics on one port).
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to bind; port 0 picks a free port [default: 127.0.0.1:8080]
    #[arg(long, env = "FILLSTACK_LISTEN")]
    listen: Option<String>,
    /// The embedded store's directory (created if absent) [default: ./data]
    #[arg(long, env = "FILLSTACK_DATA")]
    data: Option<PathBuf>,
    /// TOML file with any of these options (flags win over it)
    #[arg(long, env = "FILLSTACK_CONFIG")]
    config: Option<PathBuf>,
    /// Deltas kept per resource for history and resume [default: 1000]
    #[arg(long, env = "FILLSTACK_HISTORY")]
    history: Option<u64>,
    /// The store's cache in MiB [default: 64]
    #[arg(long, env = "FILLSTACK_CACHE_MB")]
    cache_mb: Option<u64>,
    /// How often the hub pings each socket, e.g. 25s [default: 25s]
    #[arg(long, env = "FILLSTACK_HEARTBEAT")]
    heartbeat: Option<String>,
    /// Allow a non-loopback --listen without auth (every client is admin)
    #[arg(long, env = "FILLSTACK_INSECURE_NO_AUTH")]
    insecure_no_auth: bool,
    /// This hub's name in /api/v1/status [default: the host name]
    #[arg(long, env = "FILLSTACK_NODE_ID")]
    node_id: Option<String>,
    /// Log filter, e.g. info or fillstack=debug [default: info]
    #[arg(long = "log", env = "RUST_LOG", default_value = "info")]
    log: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log).unwrap_or_else(|_| "info".into()),
        )
        .init();
    let overrides = Overrides {
        config: args.config,
        listen: args.listen,
        data: args.data,
        history: args.history,
        cache_mb: args.cache_mb,
        heartbeat: args.heartbeat,
        insecure_no_auth: args.insecure_no_auth,
        node_id: args.node_id,
    };
    let config = match Config::load(overrides) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("fillstack: bad configuration: {error}");
            return ExitCode::from(2);
        }
    };
    actix::System::new().block_on(run(config))
}

async fn run(config: Config) -> ExitCode {
    let data = config.data.clone();
    let hub = match fillstack::start(config).await {
        Ok(hub) => hub,
        Err(error) => {
            eprintln!("fillstack: cannot start: {error}");
            return ExitCode::from(2);
        }
    };
    println!("listening on http://{}", hub.addr);
    tracing::info!(addr = %hub.addr, data = %data.display(), "hub started");
    wait_for_signal().await;
    tracing::info!("shutting down: closing sessions with 1001, flushing the store");
    match hub.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fillstack: the store did not flush: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn wait_for_signal() {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::error!(%error, "cannot watch SIGTERM; only Ctrl-C stops the hub");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
