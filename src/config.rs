//! Config: everything the hub needs to run, with working defaults, parsed once.
//!
//! Sources, strongest first: command-line flags, their environment variables, the
//! TOML file given by `--config`, and the defaults below. Every problem is a
//! `ConfigError` naming the option and what is wrong; `main` exits 2 with it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::auth::token::{KeySource, TokenVerifier, asymmetric_algorithm};

use crate::session::SessionSettings;

/// A configuration problem, naming the option.
#[derive(Debug, thiserror::Error)]
#[error("{option}: {problem}")]
pub struct ConfigError {
    /// The flag or key at fault, as in `--listen`.
    pub option: String,
    /// What is wrong with it.
    pub problem: String,
}

impl ConfigError {
    fn new(option: &str, problem: impl Into<String>) -> Self {
        Self {
            option: option.to_owned(),
            problem: problem.into(),
        }
    }
}

/// The hub's whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// A second address serving only `/metrics`, `/healthz` and `/readyz` (for
    /// probes and scrapers); when set, those routes leave the public port.
    pub internal_listen: Option<SocketAddr>,
    /// The embedded store's directory.
    pub data: PathBuf,
    /// Log entries kept per resource for `history` and resume.
    pub history: u64,
    /// The store's cache, bytes.
    pub cache_bytes: u64,
    /// Allow a non-loopback bind with no auth.
    pub insecure_no_auth: bool,
    /// HTTP worker threads (sessions live on them).
    pub workers: usize,
    /// Arbiters (threads) that resource actors are spread over.
    pub resource_threads: usize,
    /// Session limits and timers.
    pub session: SessionSettings,
    /// This hub's name in `/api/v1/status` and in a cluster.
    pub node_id: String,
    /// Cluster mode: the NATS (JetStream) server joining the hubs; `None` for one node.
    pub nats: Option<crate::cluster::ClusterSettings>,
    /// Token verification; `None` means no auth (loopback only, everyone admin).
    pub auth: Option<AuthConfig>,
    /// Browser origins allowed on `/ws` and by CORS, besides the hub's own origin
    /// and localhost.
    pub allowed_origins: Vec<String>,
    /// `Host` names answered besides loopback ones when no auth is configured.
    pub allowed_hosts: Vec<String>,
    /// The configured `iss`, which minted tokens carry.
    pub auth_issuer: Option<String>,
    /// The configured `aud`, which minted tokens carry.
    pub auth_audience: Option<String>,
    /// How often the hub publishes its own health under `hub/<node>/`.
    pub health_interval: Duration,
    /// Rate limits; `None` when off (no auth and no `[limits]` in the file).
    pub limits: Option<crate::limits::LimitSettings>,
    /// Quotas; they always apply (`[limits]` keys, with their defaults).
    pub quotas: crate::limits::QuotaSettings,
    /// The hub's clock (the wall clock; tests move a manual one).
    pub clock: crate::clock::Clock,
    /// How long a deleted resource's actor stays before it leaves the registry.
    pub retire_after: Duration,
    /// Probes, alerts and rollups (`[[probe]]`, `[[alert]]`, `[[rollup]]`).
    pub monitor: crate::monitor::spec::MonitorSpec,
    /// The `--config` file, read again on SIGHUP.
    pub file: Option<PathBuf>,
}

/// How tokens are checked, and the HS256 secret when there is one (to mint tokens).
#[derive(Clone)]
pub struct AuthConfig {
    /// Checks every token.
    pub verifier: TokenVerifier,
    /// The HS256 secret, for `fillstack token`.
    pub secret: Option<Vec<u8>>,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.secret.is_some() {
            "AuthConfig(HS256)"
        } else {
            "AuthConfig(public key)"
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            internal_listen: None,
            data: PathBuf::from("./data"),
            history: 1000,
            cache_bytes: 64 * 1024 * 1024,
            insecure_no_auth: false,
            workers: cores,
            resource_threads: cores,
            session: SessionSettings::default(),
            node_id: host_name(),
            nats: None,
            auth: None,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            auth_issuer: None,
            auth_audience: None,
            limits: None,
            quotas: crate::limits::QuotaSettings::default(),
            health_interval: Duration::from_secs(5),
            clock: crate::clock::Clock::system(),
            retire_after: crate::resource::RETIRE_AFTER,
            monitor: crate::monitor::spec::MonitorSpec::default(),
            file: None,
        }
    }
}

/// Options as given on the command line or in the environment (all optional).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub listen: Option<String>,
    pub internal_listen: Option<String>,
    pub data: Option<PathBuf>,
    pub history: Option<u64>,
    pub cache_mb: Option<u64>,
    pub heartbeat: Option<String>,
    pub insecure_no_auth: bool,
    pub node_id: Option<String>,
    pub nats: Option<String>,
    pub nats_replicas: Option<usize>,
    pub auth: AuthOverrides,
    pub allowed_origins: Option<String>,
    pub allowed_hosts: Option<String>,
}

/// Auth options as given on the command line or in the environment.
#[derive(Debug, Default, Clone)]
pub struct AuthOverrides {
    pub jwt_secret_file: Option<PathBuf>,
    /// `FILLSTACK_JWT_SECRET`: the secret itself.
    pub jwt_secret: Option<String>,
    pub jwt_public_key_file: Option<PathBuf>,
    pub jwks_file: Option<PathBuf>,
    pub jwt_alg: Option<String>,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
}

/// The cluster settings of `--nats` and `--nats-replicas`, checked.
fn cluster_settings(
    url: Option<String>,
    replicas: Option<usize>,
    node_id: &str,
) -> Result<Option<crate::cluster::ClusterSettings>, ConfigError> {
    let Some(url) = url.filter(|url| !url.is_empty()) else {
        return match replicas {
            Some(_) => Err(ConfigError::new(
                "--nats-replicas",
                "is for cluster mode: set --nats too",
            )),
            None => Ok(None),
        };
    };
    if !(url.starts_with("nats://") || url.starts_with("tls://") || !url.contains("://")) {
        return Err(ConfigError::new(
            "--nats",
            format!("`{url}` is not a NATS URL such as nats://127.0.0.1:4222"),
        ));
    }
    let replicas = replicas.unwrap_or(1);
    if !(1..=5).contains(&replicas) {
        return Err(ConfigError::new(
            "--nats-replicas",
            format!("{replicas} is out of range 1..=5 (JetStream's limit)"),
        ));
    }
    if node_id.is_empty()
        || !node_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ConfigError::new(
            "--node-id",
            format!("`{node_id}` cannot name a cluster node: use letters, digits, `-` and `_`"),
        ));
    }
    Ok(Some(crate::cluster::ClusterSettings {
        url,
        replicas,
        node_id: node_id.to_owned(),
    }))
}

/// Shortest HS256 secret accepted, in bytes.
const MIN_SECRET_BYTES: usize = 32;

/// The `--config` TOML file; keys are the flags' names with `_` for `-`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    internal_listen: Option<String>,
    data: Option<PathBuf>,
    history: Option<u64>,
    cache_mb: Option<u64>,
    heartbeat: Option<String>,
    insecure_no_auth: Option<bool>,
    node_id: Option<String>,
    nats: Option<String>,
    nats_replicas: Option<usize>,
    jwt_secret_file: Option<PathBuf>,
    jwt_public_key_file: Option<PathBuf>,
    jwks_file: Option<PathBuf>,
    jwt_alg: Option<String>,
    jwt_issuer: Option<String>,
    jwt_audience: Option<String>,
    allowed_origins: Option<Vec<String>>,
    allowed_hosts: Option<Vec<String>>,
    limits: Option<crate::limits::LimitSettings>,
    /// Whether `[limits]` sets a rate (not only quotas): read apart in `read_file`.
    #[serde(skip)]
    limits_set_rates: bool,
    #[serde(default)]
    probe: Vec<toml::Table>,
    #[serde(default)]
    alert: Vec<toml::Table>,
    #[serde(default)]
    rollup: Vec<toml::Table>,
}

impl FileConfig {
    /// The monitoring tables, checked.
    fn monitor(&self) -> Result<crate::monitor::spec::MonitorSpec, ConfigError> {
        crate::monitor::spec::MonitorSpec::parse(&crate::monitor::spec::RawTables {
            probe: self.probe.clone(),
            alert: self.alert.clone(),
            rollup: self.rollup.clone(),
        })
    }
}

impl Config {
    /// Builds the configuration from flags/env over the file over the defaults.
    pub fn load(overrides: Overrides) -> Result<Self, ConfigError> {
        let file = match &overrides.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let mut config = Self {
            monitor: file.monitor()?,
            file: overrides.config.clone(),
            auth: load_auth(overrides.auth.clone(), &file, overrides.config.as_deref())?,
            auth_issuer: overrides
                .auth
                .jwt_issuer
                .clone()
                .or_else(|| file.jwt_issuer.clone()),
            auth_audience: overrides
                .auth
                .jwt_audience
                .clone()
                .or_else(|| file.jwt_audience.clone()),
            ..Self::default()
        };
        config.quotas = file
            .limits
            .map(|limits| limits.quotas())
            .unwrap_or_default();
        // With auth, rate limits are on with their defaults; without, only when the
        // file sets a rate (a `[limits]` table of quotas alone leaves them off).
        config.limits = match (&config.auth, file.limits) {
            (Some(_), limits) => Some(limits.unwrap_or_default()),
            (None, Some(limits)) if file.limits_set_rates => Some(limits),
            (None, _) => None,
        };
        if let Some(listen) = overrides.listen.or(file.listen) {
            config.listen = listen.parse().map_err(|_| {
                ConfigError::new(
                    "--listen",
                    format!("`{listen}` is not an address such as 127.0.0.1:8080"),
                )
            })?;
        }
        if let Some(internal) = overrides.internal_listen.or(file.internal_listen) {
            config.internal_listen = Some(internal.parse().map_err(|_| {
                ConfigError::new(
                    "--internal-listen",
                    format!("`{internal}` is not an address such as 0.0.0.0:9090"),
                )
            })?);
        }
        if let Some(data) = overrides.data.or(file.data) {
            config.data = data;
        }
        if let Some(history) = overrides.history.or(file.history) {
            if !(1..=100_000).contains(&history) {
                return Err(ConfigError::new(
                    "--history",
                    format!("{history} is out of range 1..=100000"),
                ));
            }
            config.history = history;
        }
        if let Some(mb) = overrides.cache_mb.or(file.cache_mb) {
            config.cache_bytes = mb.max(1) * 1024 * 1024;
        }
        if let Some(heartbeat) = overrides.heartbeat.or(file.heartbeat) {
            config.session.heartbeat = duration("--heartbeat", &heartbeat)?;
        }
        if let Some(node_id) = overrides.node_id.or(file.node_id) {
            config.node_id = node_id;
        }
        config.nats = cluster_settings(
            overrides.nats.or(file.nats),
            overrides.nats_replicas.or(file.nats_replicas),
            &config.node_id,
        )?;
        config.insecure_no_auth =
            overrides.insecure_no_auth || file.insecure_no_auth.unwrap_or(false);
        config.allowed_origins = list(overrides.allowed_origins, file.allowed_origins.clone());
        config.allowed_hosts = list(overrides.allowed_hosts, file.allowed_hosts.clone());
        config.check()?;
        Ok(config)
    }

    /// The probes, alerts and rollups of the `--config` file as it is now (for a
    /// reload); the same errors as at start.
    pub fn read_monitor(&self) -> Result<crate::monitor::spec::MonitorSpec, ConfigError> {
        match &self.file {
            Some(path) => read_file(path)?.monitor(),
            None => Ok(crate::monitor::spec::MonitorSpec::default()),
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        if !self.listen.ip().is_loopback() && !self.insecure_no_auth && self.auth.is_none() {
            return Err(ConfigError::new(
                "--listen",
                format!(
                    "{} is not a loopback address and no auth is configured; \
                     configure auth or pass --insecure-no-auth to serve everyone as admin",
                    self.listen
                ),
            ));
        }
        // The internal port serves no session and no write, only health and
        // counts, so it needs no auth to bind beyond loopback (that is what it is
        // for: kubelet and Prometheus reach it on the pod's address).
        if let Some(internal) = self.internal_listen
            && internal.port() != 0
            && internal.port() == self.listen.port()
            && (internal.ip() == self.listen.ip()
                || internal.ip().is_unspecified()
                || self.listen.ip().is_unspecified())
        {
            return Err(ConfigError::new(
                "--internal-listen",
                format!(
                    "{internal} overlaps --listen {}; give the internal port a port of its own",
                    self.listen
                ),
            ));
        }
        if self.session.heartbeat < Duration::from_millis(100) {
            return Err(ConfigError::new("--heartbeat", "must be at least 100ms"));
        }
        Ok(())
    }
}

/// An HS256 secret and where it came from, named as the user gave it, so that a
/// problem with it names the flag, the environment variable or the file's key.
struct Secret {
    bytes: Vec<u8>,
    source: String,
}

impl Secret {
    /// The secret from `--jwt-secret-file`, else `FILLSTACK_JWT_SECRET`, else the
    /// `jwt_secret_file` key of the `--config` file (flags over env over the file).
    fn load(
        given: &AuthOverrides,
        file: &FileConfig,
        config: Option<&Path>,
    ) -> Result<Option<Self>, ConfigError> {
        let from_file = |source: String, path: &Path| {
            Ok(Self {
                bytes: read_bytes(&source, path)?.trim_ascii().to_vec(),
                source,
            })
        };
        if let Some(path) = &given.jwt_secret_file {
            return from_file(format!("--jwt-secret-file {}", path.display()), path).map(Some);
        }
        if let Some(secret) = &given.jwt_secret {
            return Ok(Some(Self {
                bytes: secret.clone().into_bytes(),
                source: "FILLSTACK_JWT_SECRET".to_owned(),
            }));
        }
        let Some(path) = &file.jwt_secret_file else {
            return Ok(None);
        };
        let config = config.map_or_else(
            || "the config file".to_owned(),
            |config| config.display().to_string(),
        );
        let source = format!("jwt_secret_file = \"{}\" in {config}", path.display());
        from_file(source, path).map(Some)
    }

    /// The secret as a key source, if it is long enough.
    fn into_key_source(self) -> Result<KeySource, ConfigError> {
        if self.bytes.len() < MIN_SECRET_BYTES {
            return Err(ConfigError::new(
                &self.source,
                format!(
                    "the HS256 secret is {} bytes; use at least {MIN_SECRET_BYTES}",
                    self.bytes.len()
                ),
            ));
        }
        Ok(KeySource::Secret(self.bytes))
    }
}

/// The key source from flags/env over the file: one of a secret, a public key or a JWKS.
fn load_auth(
    given: AuthOverrides,
    file: &FileConfig,
    config: Option<&Path>,
) -> Result<Option<AuthConfig>, ConfigError> {
    let secret = Secret::load(&given, file, config)?;
    let public_key_file = given
        .jwt_public_key_file
        .or_else(|| file.jwt_public_key_file.clone());
    let jwks_file = given.jwks_file.or_else(|| file.jwks_file.clone());
    let algorithm = given.jwt_alg.or_else(|| file.jwt_alg.clone());
    let issuer = given.jwt_issuer.or_else(|| file.jwt_issuer.clone());
    let audience = given.jwt_audience.or_else(|| file.jwt_audience.clone());
    let pinned = |option: &str| -> Result<jsonwebtoken::Algorithm, ConfigError> {
        let name = algorithm
            .as_deref()
            .ok_or_else(|| ConfigError::new(option, "needs --jwt-alg RS256, ES256 or EdDSA"))?;
        asymmetric_algorithm(name).map_err(|e| ConfigError::new("--jwt-alg", e.to_string()))
    };
    let hs256 = secret.as_ref().map(|secret| secret.bytes.clone());
    let source = match (secret, public_key_file, jwks_file) {
        (None, None, None) => return Ok(None),
        (Some(secret), None, None) => secret.into_key_source()?,
        (None, Some(path), None) => KeySource::PublicKey {
            pem: read_bytes("--jwt-public-key-file", &path)?,
            algorithm: pinned("--jwt-public-key-file")?,
        },
        (None, None, Some(path)) => {
            let set = serde_json::from_slice(&read_bytes("--jwks-file", &path)?).map_err(|e| {
                ConfigError::new(
                    "--jwks-file",
                    format!("{} is not a JWKS document: {e}", path.display()),
                )
            })?;
            KeySource::Jwks {
                set,
                algorithm: pinned("--jwks-file")?,
            }
        }
        _ => {
            return Err(ConfigError::new(
                "--jwt-secret-file",
                "give one of a secret (--jwt-secret-file or FILLSTACK_JWT_SECRET), --jwt-public-key-file or --jwks-file",
            ));
        }
    };
    let verifier = TokenVerifier::new(&source, issuer.as_deref(), audience.as_deref())
        .map_err(|e| ConfigError::new("--jwt-public-key-file", e.to_string()))?;
    Ok(Some(AuthConfig {
        verifier,
        secret: hs256,
    }))
}

fn read_bytes(option: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path)
        .map_err(|e| ConfigError::new(option, format!("cannot read {}: {e}", path.display())))
}

/// The machine's host name, or `local` when it cannot be read.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "local".to_owned())
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new("--config", format!("cannot read {}: {e}", path.display()))
    })?;
    let mut file: FileConfig = toml::from_str(&text).map_err(|e| {
        ConfigError::new("--config", format!("{}: {}", path.display(), e.message()))
    })?;
    const QUOTA_KEYS: [&str; 4] = [
        "resources_total",
        "resources_per_subject",
        "sessions_per_subject",
        "sessions_total",
    ];
    file.limits_set_rates = text
        .parse::<toml::Table>()
        .ok()
        .and_then(|table| table.get("limits")?.as_table().cloned())
        .is_some_and(|limits| limits.keys().any(|key| !QUOTA_KEYS.contains(&key.as_str())));
    Ok(file)
}

/// A comma-separated list from a flag or its variable, else the file's list.
fn list(given: Option<String>, file: Option<Vec<String>>) -> Vec<String> {
    match given {
        Some(list) => list
            .split(',')
            .map(|item| item.trim().to_owned())
            .filter(|item| !item.is_empty())
            .collect(),
        None => file.unwrap_or_default(),
    }
}

/// Parses `"500ms"`, `"10s"`, `"5m"`.
pub fn duration(option: &str, text: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(text).map_err(|e| {
        ConfigError::new(
            option,
            format!("`{text}` is not a duration such as 500ms, 10s or 5m: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_loopback_8080_and_data() {
        let config = Config::load(Overrides::default()).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.data, PathBuf::from("./data"));
        assert_eq!(config.history, 1000);
    }

    #[test]
    fn the_internal_port_is_off_by_default_and_must_not_overlap_the_public_one() {
        assert_eq!(
            Config::load(Overrides::default()).unwrap().internal_listen,
            None
        );
        let internal = |listen: &str, internal: &str| {
            Config::load(Overrides {
                listen: Some(listen.into()),
                internal_listen: Some(internal.into()),
                ..Overrides::default()
            })
        };
        let config = internal("127.0.0.1:8080", "127.0.0.1:9090").unwrap();
        assert_eq!(
            config.internal_listen.map(|addr| addr.to_string()),
            Some("127.0.0.1:9090".to_owned())
        );
        // No auth is needed for a non-loopback internal port: it serves no session.
        assert!(internal("127.0.0.1:8080", "0.0.0.0:9090").is_ok());
        assert!(internal("127.0.0.1:0", "127.0.0.1:0").is_ok());
        for (listen, overlapping) in [
            ("127.0.0.1:8080", "127.0.0.1:8080"),
            ("127.0.0.1:8080", "0.0.0.0:8080"),
        ] {
            let error = internal(listen, overlapping).unwrap_err().to_string();
            assert!(error.starts_with("--internal-listen: "), "{error}");
        }
        let error = internal("127.0.0.1:8080", "9090").unwrap_err().to_string();
        assert!(
            error.starts_with("--internal-listen: `9090` is not an address"),
            "{error}"
        );
    }

    #[test]
    fn a_non_loopback_listen_without_auth_names_the_flag_that_allows_it() {
        let overrides = Overrides {
            listen: Some("0.0.0.0:8080".into()),
            ..Overrides::default()
        };
        let error = Config::load(overrides.clone()).unwrap_err().to_string();
        assert!(
            error.starts_with("--listen: 0.0.0.0:8080 is not a loopback address"),
            "{error}"
        );
        assert!(error.contains("--insecure-no-auth"), "{error}");
        assert!(
            Config::load(Overrides {
                insecure_no_auth: true,
                ..overrides
            })
            .is_ok()
        );
    }

    #[test]
    fn quotas_alone_leave_rate_limits_off_without_auth_and_a_rate_turns_them_on() {
        let dir = tempfile::tempdir().unwrap();
        let load = |table: &str| {
            let path = dir.path().join("hub.toml");
            std::fs::write(&path, format!("[limits]\n{table}\n")).unwrap();
            Config::load(Overrides {
                config: Some(path),
                ..Overrides::default()
            })
        };
        let quotas_only =
            load("resources_total = 10\nsessions_per_subject = 3\nsessions_total = 9").unwrap();
        assert!(quotas_only.limits.is_none());
        assert_eq!(
            (
                quotas_only.quotas.resources_total,
                quotas_only.quotas.sessions_per_subject,
                quotas_only.quotas.resources_per_subject,
                quotas_only.quotas.sessions_total
            ),
            (10, 3, 100_000, 9)
        );
        let with_rate = load("resources_total = 10\nrest_per_ip = 7").unwrap();
        assert_eq!(with_rate.limits.map(|limits| limits.rest_per_ip), Some(7));
        assert_eq!(with_rate.quotas.resources_total, 10);
        let error = load("resources_totl = 10").unwrap_err().to_string();
        assert!(error.contains("resources_totl"), "{error}");
    }

    #[test]
    fn flags_win_over_the_file_and_bad_values_name_their_option() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nhistory = 50\nheartbeat = \"2s\"\n",
        )
        .unwrap();
        let config = Config::load(Overrides {
            config: Some(path.clone()),
            ..Overrides::default()
        })
        .unwrap();
        assert_eq!((config.listen.port(), config.history), (9000, 50));
        assert_eq!(config.session.heartbeat, Duration::from_secs(2));
        let flag = Overrides {
            config: Some(path.clone()),
            listen: Some("127.0.0.1:9001".into()),
            ..Overrides::default()
        };
        assert_eq!(Config::load(flag).unwrap().listen.port(), 9001);
        let bad = Overrides {
            listen: Some("localhost".into()),
            ..Overrides::default()
        };
        assert!(
            Config::load(bad)
                .unwrap_err()
                .to_string()
                .starts_with("--listen: `localhost`")
        );
        std::fs::write(&path, "listne = \"x\"\n").unwrap();
        let error = Config::load(Overrides {
            config: Some(path),
            ..Overrides::default()
        })
        .unwrap_err()
        .to_string();
        assert!(error.contains("unknown field `listne`"), "{error}");
    }
}
