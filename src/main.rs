//! The `fillstack` command line: parse flags, build the config, run the hub or
//! mint a token.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fillstack::auth::token::{Audience, Claims, mint};
use fillstack::config::{AuthOverrides, Config, Overrides, duration};

#[derive(Parser)]
#[command(name = "fillstack", version, about = "A realtime status hub")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub (SPA, WebSocket, REST, health and metrics on one port, or the last
    /// two on --internal-listen).
    Serve(ServeArgs),
    /// Print a signed JWT for the configured HS256 secret.
    Token(TokenArgs),
    /// Exit 0 if the hub's /healthz answers 200, else 1 (a container's HEALTHCHECK).
    Healthcheck(HealthcheckArgs),
}

/// Options shared by `serve` and `token`.
#[derive(clap::Args)]
struct ConfigArgs {
    /// Address to bind; port 0 picks a free port [default: 127.0.0.1:8080]
    #[arg(long, env = "FILLSTACK_LISTEN")]
    listen: Option<String>,
    /// The embedded store's directory (created if absent) [default: ./data]
    #[arg(long, env = "FILLSTACK_DATA")]
    data: Option<PathBuf>,
    /// TOML file with any of these options (flags win over it)
    #[arg(long, env = "FILLSTACK_CONFIG")]
    config: Option<PathBuf>,
    /// File holding the HS256 secret (FILLSTACK_JWT_SECRET holds the secret itself)
    #[arg(long)]
    jwt_secret_file: Option<PathBuf>,
    /// PEM public key for --jwt-alg RS256, ES256 or EdDSA
    #[arg(long)]
    jwt_public_key_file: Option<PathBuf>,
    /// JWKS file (keys picked by `kid`) for --jwt-alg RS256, ES256 or EdDSA
    #[arg(long)]
    jwks_file: Option<PathBuf>,
    /// The algorithm of --jwt-public-key-file or --jwks-file
    #[arg(long)]
    jwt_alg: Option<String>,
    /// Required `iss` of every token
    #[arg(long)]
    jwt_issuer: Option<String>,
    /// Required `aud` of every token
    #[arg(long)]
    jwt_audience: Option<String>,
    /// Browser origins allowed on /ws and by CORS, comma-separated (besides the hub's own and localhost)
    #[arg(long, env = "FILLSTACK_ALLOWED_ORIGINS")]
    allowed_origins: Option<String>,
    /// With no auth configured, `Host` names answered besides loopback ones, comma-separated
    #[arg(long, env = "FILLSTACK_ALLOWED_HOSTS")]
    allowed_hosts: Option<String>,
    /// Allow a non-loopback --listen without auth (every client is admin)
    #[arg(long, env = "FILLSTACK_INSECURE_NO_AUTH")]
    insecure_no_auth: bool,
}

#[derive(clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    common: ConfigArgs,
    /// A second address serving only /metrics, /healthz and /readyz (which then
    /// leave the public port), for probes and scrapers [default: off]
    #[arg(long, env = "FILLSTACK_INTERNAL_LISTEN")]
    internal_listen: Option<String>,
    /// Deltas kept per resource for history and resume [default: 1000]
    #[arg(long, env = "FILLSTACK_HISTORY")]
    history: Option<u64>,
    /// The store's cache in MiB [default: 64]
    #[arg(long, env = "FILLSTACK_CACHE_MB")]
    cache_mb: Option<u64>,
    /// How often the hub pings each socket, e.g. 25s [default: 25s]
    #[arg(long, env = "FILLSTACK_HEARTBEAT")]
    heartbeat: Option<String>,
    /// This hub's name in /api/v1/status and in a cluster [default: the host name]
    #[arg(long, env = "FILLSTACK_NODE_ID")]
    node_id: Option<String>,
    /// Cluster mode: join the other hubs through this NATS (JetStream) server,
    /// e.g. nats://127.0.0.1:4222 [default: off, one node]
    #[arg(long, env = "FILLSTACK_NATS_URL")]
    nats: Option<String>,
    /// Replicas of the cluster's JetStream stream and node bucket [default: 1]
    #[arg(long, env = "FILLSTACK_NATS_REPLICAS")]
    nats_replicas: Option<usize>,
    /// Log filter, e.g. info or fillstack=debug [default: info]
    #[arg(long = "log", env = "RUST_LOG", default_value = "info")]
    log: String,
    /// Log lines for people (`text`) or for a pipeline (`json`, one object per line)
    #[arg(long, env = "FILLSTACK_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
}

#[derive(clap::Args)]
struct TokenArgs {
    #[command(flatten)]
    common: ConfigArgs,
    /// The token's subject
    #[arg(long)]
    sub: String,
    /// Comma-separated roles: viewer, publisher, admin
    #[arg(long, default_value = "viewer")]
    roles: String,
    /// Comma-separated patterns the token may touch [default: every resource]
    #[arg(long)]
    res: Option<String>,
    /// How long the token is valid, e.g. 15m, 1h, 30d
    #[arg(long, default_value = "1h")]
    ttl: String,
}

#[derive(clap::Args)]
struct HealthcheckArgs {
    /// The URL to GET [default: /healthz on the internal port if
    /// FILLSTACK_INTERNAL_LISTEN is set, else on FILLSTACK_LISTEN, else on
    /// 127.0.0.1:8080; an unspecified address such as 0.0.0.0 means loopback]
    url: Option<String>,
    /// The hub's internal address, as `serve` reads it
    #[arg(long, env = "FILLSTACK_INTERNAL_LISTEN")]
    internal_listen: Option<String>,
    /// The hub's public address, as `serve` reads it
    #[arg(long, env = "FILLSTACK_LISTEN")]
    listen: Option<String>,
    /// How long to wait for the answer, e.g. 3s
    #[arg(long, default_value = "3s")]
    timeout: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Token(args) => token(args),
        Command::Healthcheck(args) => healthcheck(args),
    }
}

fn overrides(common: ConfigArgs) -> Overrides {
    Overrides {
        config: common.config,
        listen: common.listen,
        data: common.data,
        insecure_no_auth: common.insecure_no_auth,
        allowed_origins: common.allowed_origins,
        allowed_hosts: common.allowed_hosts,
        auth: AuthOverrides {
            jwt_secret_file: common.jwt_secret_file,
            jwt_secret: std::env::var("FILLSTACK_JWT_SECRET")
                .ok()
                .filter(|s| !s.is_empty()),
            jwt_public_key_file: common.jwt_public_key_file,
            jwks_file: common.jwks_file,
            jwt_alg: common.jwt_alg,
            jwt_issuer: common.jwt_issuer,
            jwt_audience: common.jwt_audience,
        },
        ..Overrides::default()
    }
}

fn bad_configuration(error: impl std::fmt::Display) -> ExitCode {
    eprintln!("fillstack: bad configuration: {error}");
    ExitCode::from(2)
}

fn token(args: TokenArgs) -> ExitCode {
    let config = match Config::load(overrides(args.common)) {
        Ok(config) => config,
        Err(error) => return bad_configuration(error),
    };
    let Some(secret) = config.auth.and_then(|auth| auth.secret) else {
        return bad_configuration(
            "--jwt-secret-file: `fillstack token` needs the HS256 secret (or FILLSTACK_JWT_SECRET)",
        );
    };
    let ttl = match duration("--ttl", &args.ttl) {
        Ok(ttl) => ttl,
        Err(error) => return bad_configuration(error),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let split = |list: &str| {
        list.split(',')
            .map(|item| item.trim().to_owned())
            .filter(|item| !item.is_empty())
            .collect()
    };
    let claims = Claims {
        sub: args.sub,
        roles: split(&args.roles),
        res: args.res.as_deref().map(split),
        exp: now + ttl.as_secs(),
        nbf: None,
        iat: Some(now),
        iss: config.auth_issuer,
        aud: config.auth_audience.map(Audience::One),
    };
    match mint(&secret, &claims) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(error) => bad_configuration(error),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let filter =
        tracing_subscriber::EnvFilter::try_new(&args.log).unwrap_or_else(|_| "info".into());
    // Colour codes only for a person at a terminal: a redirected log stays plain text.
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter);
    if args.log_format == "json" {
        logs.json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        logs.init();
    }
    let overrides = Overrides {
        internal_listen: args.internal_listen,
        history: args.history,
        cache_mb: args.cache_mb,
        heartbeat: args.heartbeat,
        node_id: args.node_id,
        nats: args.nats,
        nats_replicas: args.nats_replicas,
        ..overrides(args.common)
    };
    let config = match Config::load(overrides) {
        Ok(config) => config,
        Err(error) => return bad_configuration(error),
    };
    actix::System::new().block_on(run(config))
}

async fn run(config: Config) -> ExitCode {
    let data = config.data.clone();
    let hub = match fillstack::start(config.clone()).await {
        Ok(hub) => hub,
        Err(error) => {
            eprintln!("fillstack: cannot start: {error}");
            return ExitCode::from(2);
        }
    };
    // One write for both lines, so a reader that takes the first line and closes
    // the pipe (as scripts that only want the public address do) cannot make the
    // second one fail.
    let mut bound = format!("listening on http://{}\n", hub.addr);
    if let Some(internal) = hub.internal_addr {
        bound.push_str(&format!("internal listening on http://{internal}\n"));
    }
    print!("{bound}");
    tracing::info!(addr = %hub.addr, internal = ?hub.internal_addr, data = %data.display(), "hub started");
    wait_for_signal(&hub, &config).await;
    tracing::info!("shutting down: closing sessions with 1001, flushing the store");
    match hub.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fillstack: the store did not flush: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Waits for SIGTERM or Ctrl-C; on SIGHUP, reloads the config file's probes,
/// alerts and rollups (a bad file is refused and the running set kept).
async fn wait_for_signal(hub: &fillstack::RunningHub, config: &Config) {
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let reloads = async {
        let Some(hangup) = hangup.as_mut() else {
            return std::future::pending().await;
        };
        while hangup.recv().await.is_some() {
            if let Err(error) = hub.reload(config) {
                eprintln!("fillstack: reload refused, keeping the running monitoring: {error}");
                tracing::error!(%error, "reload refused; the running probes, alerts and rollups are kept");
            }
        }
    };
    tokio::select! {
        () = reloads => {}
        () = wait_for_stop() => {}
    }
}

async fn wait_for_stop() {
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

/// `fillstack healthcheck`: a GET of the hub's `/healthz` with the client already
/// in the binary (awc), so a container image needs no curl or wget for its
/// HEALTHCHECK. Exit 0 on 200, 1 on anything else (Docker's "unhealthy"), 2 for
/// bad arguments.
fn healthcheck(args: HealthcheckArgs) -> ExitCode {
    let timeout = match duration("--timeout", &args.timeout) {
        Ok(timeout) => timeout,
        Err(error) => return bad_configuration(error),
    };
    let url = match args.url {
        Some(url) => url,
        None => {
            let listen = args
                .internal_listen
                .or(args.listen)
                .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
            let Ok(mut addr) = listen.parse::<std::net::SocketAddr>() else {
                return bad_configuration(format!(
                    "--listen: `{listen}` is not an address such as 127.0.0.1:8080"
                ));
            };
            if addr.ip().is_unspecified() {
                addr.set_ip(if addr.is_ipv4() {
                    std::net::Ipv4Addr::LOCALHOST.into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                });
            }
            format!("http://{addr}/healthz")
        }
    };
    let answer = actix::System::new().block_on(async {
        awc::Client::new()
            .get(&url)
            .timeout(timeout)
            .send()
            .await
            .map(|response| response.status())
    });
    match answer {
        Ok(status) if status == awc::http::StatusCode::OK => {
            println!("{url}: {status}");
            ExitCode::SUCCESS
        }
        Ok(status) => {
            eprintln!("fillstack healthcheck: {url} answered {status}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("fillstack healthcheck: {url}: {error}");
            ExitCode::FAILURE
        }
    }
}
