//! Test harness: an in-process hub on 127.0.0.1:0 with a temp store (`TestHub`),
//! the real binary for kill -9 and signal tests (`HubProcess`), and small helpers.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fillstack::Config;
use fillstack::outbox::OutboxLimits;
use fillstack_loadtest::Client;
use fillstack_protocol::{ClientFrame, Codec, FieldChanges, Scalar, ServerFrame};

pub mod frames;
pub mod model;

/// The HS256 secret of `TestHub::builder().auth()`.
pub const SECRET: &[u8] = b"test-secret-that-is-32-bytes-long";

/// A token for `roles` over `res` (None: everything), valid for `ttl_s` seconds.
pub fn token(roles: &[&str], res: Option<&[&str]>, ttl_s: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = fillstack::auth::Claims {
        sub: "tester".into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        res: res.map(|patterns| patterns.iter().map(|p| (*p).to_owned()).collect()),
        exp: now + ttl_s,
        nbf: None,
        iat: Some(now),
        iss: None,
        aud: None,
    };
    fillstack::auth::token::mint(SECRET, &claims).unwrap()
}

pub fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

pub fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

/// `fields(&[("cpu", 3.into())])`
pub fn fields(entries: &[(&str, Scalar)]) -> FieldChanges {
    entries
        .iter()
        .map(|(name, value)| ((*name).to_owned(), Some(value.clone())))
        .collect()
}

pub struct TestHubBuilder {
    config: Config,
}

impl TestHubBuilder {
    pub fn history(mut self, keep: u64) -> Self {
        self.config.history = keep;
        self
    }

    pub fn hello_timeout(mut self, timeout: Duration) -> Self {
        self.config.session.hello_timeout = timeout;
        self
    }

    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.config.session.heartbeat = every;
        self
    }

    pub fn unread_timeout(mut self, timeout: Duration) -> Self {
        self.config.session.unread_timeout = timeout;
        self
    }

    /// Requires HS256 tokens signed with `SECRET`.
    pub fn auth(mut self) -> Self {
        let source = fillstack::auth::KeySource::Secret(SECRET.to_vec());
        let verifier = fillstack::auth::TokenVerifier::new(&source, None, None).unwrap();
        self.config.auth = Some(fillstack::config::AuthConfig {
            verifier,
            secret: Some(SECRET.to_vec()),
        });
        self
    }

    pub fn health_every(mut self, every: Duration) -> Self {
        self.config.health_interval = every;
        self
    }

    pub fn limits(mut self, limits: fillstack::limits::LimitSettings) -> Self {
        self.config.limits = Some(limits);
        self.config.quotas = limits.quotas();
        self
    }

    pub fn quotas(mut self, quotas: fillstack::limits::QuotaSettings) -> Self {
        self.config.quotas = quotas;
        self
    }

    /// Serves `/metrics`, `/healthz` and `/readyz` on a second port (127.0.0.1:0)
    /// and no longer on the public one.
    pub fn internal_port(mut self) -> Self {
        self.config.internal_listen = Some("127.0.0.1:0".parse().unwrap());
        self
    }

    pub fn allowed_hosts(mut self, hosts: &[&str]) -> Self {
        self.config.allowed_hosts = hosts.iter().map(|h| (*h).to_owned()).collect();
        self
    }

    pub fn allowed_origins(mut self, origins: &[&str]) -> Self {
        self.config.allowed_origins = origins.iter().map(|o| (*o).to_owned()).collect();
        self
    }

    /// Drives the hub's time by hand (TTL expiry without sleeping).
    pub fn clock(mut self, clock: fillstack::clock::Clock) -> Self {
        self.config.clock = clock;
        self
    }

    /// How long a deleted resource's actor stays in the registry.
    pub fn retire_after(mut self, after: Duration) -> Self {
        self.config.retire_after = after;
        self
    }

    pub fn outbox(mut self, soft: usize, hard: usize) -> Self {
        self.config.session.outbox = OutboxLimits { soft, hard };
        self
    }

    /// Probes, alerts and rollups from a TOML text, as in a config file.
    pub fn monitor(mut self, toml: &str) -> Self {
        self.config.monitor = fillstack::monitor::spec::MonitorSpec::from_toml(toml).unwrap();
        self
    }

    pub async fn start(self) -> TestHub {
        let dir = tempfile::tempdir().unwrap();
        self.start_in(dir).await
    }

    pub async fn start_in(mut self, dir: tempfile::TempDir) -> TestHub {
        self.config.data = dir.path().join("data");
        let running = fillstack::start(self.config).await.unwrap();
        TestHub {
            running: Some(running),
            dir,
        }
    }
}

/// An in-process hub with its own temp data dir.
pub struct TestHub {
    running: Option<fillstack::RunningHub>,
    pub dir: tempfile::TempDir,
}

impl TestHub {
    pub fn builder() -> TestHubBuilder {
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            workers: 2,
            resource_threads: 2,
            // Tests that want the hub's own resources ask for them.
            health_interval: secs(3600),
            ..Config::default()
        };
        TestHubBuilder { config }
    }

    pub async fn start() -> Self {
        Self::builder().start().await
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.running.as_ref().unwrap().addr)
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.running.as_ref().unwrap().addr
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.as_ref().unwrap().addr)
    }

    /// A URL on the internal port (built with `internal_port()`).
    pub fn internal_http(&self, path: &str) -> String {
        let internal = self.running.as_ref().unwrap().internal_addr;
        format!("http://{}{path}", internal.expect("no internal port"))
    }

    pub async fn client(&self) -> Client {
        Client::connect_hello(&self.url(), Codec::MsgPack)
            .await
            .unwrap()
    }

    /// A session that said hello with `token`.
    pub async fn client_with(&self, token: &str) -> Client {
        let mut client = Client::connect(&self.url(), Codec::MsgPack).await.unwrap();
        client.hello(Some(token)).await.unwrap();
        client
    }

    pub async fn json_client(&self) -> Client {
        Client::connect_hello(&self.url(), Codec::Json)
            .await
            .unwrap()
    }

    /// The hub's registry, for tests that reach past the wire.
    pub fn registry(&self) -> &fillstack::hub::Hub {
        self.running.as_ref().unwrap().hub()
    }

    /// Stops the hub gracefully and hands back its data dir (to restart on it).
    pub async fn stop(mut self) -> tempfile::TempDir {
        self.running.take().unwrap().shutdown().await.unwrap();
        self.dir
    }
}

/// The next frame, failing with what was seen if none comes within 5 s.
pub async fn next(client: &mut Client) -> ServerFrame {
    client.frame_within(secs(5)).await.unwrap()
}

/// Asserts nothing arrives within `quiet`.
pub async fn assert_quiet(client: &mut Client, quiet: Duration) {
    if let Ok(received) = client.recv_within(quiet).await {
        panic!("expected silence, got {received:?}");
    }
}

/// Publishes `status` (and no field) for `resource`; the seq it was given.
pub async fn set_status(client: &mut Client, resource: &str, status: &str) -> u64 {
    client
        .publish(resource, Some(status), fields(&[]))
        .await
        .unwrap()
}

/// Asserts the session still answers: a `ping` gets its `pong`.
pub async fn assert_answers_ping(client: &mut Client) {
    let id = client.next_id();
    let answer = client.request(&ClientFrame::Ping { id }, secs(5)).await;
    assert!(
        matches!(answer, Ok(ServerFrame::Pong { .. })),
        "ping {id} got {answer:?}"
    );
}

/// The real `fillstack` binary, started on 127.0.0.1:0 and stopped by PID.
pub struct HubProcess {
    pub child: Child,
    pub addr: String,
    /// The internal port's address, when started with `--internal-listen`.
    pub internal_addr: Option<String>,
}

impl HubProcess {
    pub fn start(data: &Path, extra: &[&str]) -> Self {
        Self::start_on(data, "127.0.0.1:0", extra)
    }

    pub fn start_on(data: &Path, listen: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(binary())
            .args(["serve", "--listen", listen, "--data"])
            .arg(data)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("first line was {line:?}"))
            .to_owned();
        let internal_addr = extra.contains(&"--internal-listen").then(|| {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            line.trim()
                .strip_prefix("internal listening on http://")
                .unwrap_or_else(|| panic!("second line was {line:?}"))
                .to_owned()
        });
        Self {
            addr,
            internal_addr,
            child,
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn kill9(mut self) {
        self.signal("KILL");
        self.child.wait().unwrap();
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fillstack"))
}

/// Runs `fillstack serve ARGS --data <a temp dir>`, which must refuse to start
/// with exit 2; what it wrote to stderr.
pub fn serve_refused(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(binary())
        .arg("serve")
        .args(args)
        .arg("--data")
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    stderr
}

pub fn since(entries: &[(&str, u64)]) -> Option<BTreeMap<String, u64>> {
    Some(
        entries
            .iter()
            .map(|(id, seq)| ((*id).to_owned(), *seq))
            .collect(),
    )
}

/// A WebSocket client with a tiny receive buffer that reads only when told to:
/// the kernel cannot hide a slow consumer behind megabytes of buffering.
pub struct RawSocket {
    stream: tokio::net::TcpStream,
    buffer: Vec<u8>,
}

impl RawSocket {
    pub async fn connect(addr: std::net::SocketAddr) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(addr).await.unwrap();
        let handshake = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(handshake.as_bytes()).await.unwrap();
        let mut buffer = Vec::new();
        while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut chunk = [0u8; 1024];
            let read = stream.read(&mut chunk).await.unwrap();
            assert!(read > 0, "handshake cut short");
            buffer.extend_from_slice(&chunk[..read]);
        }
        let end = buffer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert!(
            buffer.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&buffer)
        );
        buffer.drain(..end);
        Self { stream, buffer }
    }

    /// Sends one binary frame, masked with a zero key (so the payload is as is).
    pub async fn send(&mut self, payload: &[u8]) {
        use tokio::io::AsyncWriteExt;
        let mut frame = vec![0x82];
        match payload.len() {
            len @ 0..=125 => frame.push(0x80 | len as u8),
            len => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
        }
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend_from_slice(payload);
        self.stream.write_all(&frame).await.unwrap();
    }

    /// The next MessagePack frame (`None` on close, end or timeout).
    pub async fn next_frame(&mut self, within: Duration) -> Option<ServerFrame> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match self.next_raw(deadline).await? {
                (0x2, payload) => return Some(Codec::MsgPack.decode(&payload).unwrap()),
                (0x8, _) => return None,
                _ => {}
            }
        }
    }

    /// Reads frames until a close frame; returns its code.
    pub async fn read_until_close(&mut self, within: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let (0x8, payload) = self.next_raw(deadline).await? {
                return payload
                    .get(..2)
                    .map(|code| u16::from_be_bytes([code[0], code[1]]));
            }
        }
    }

    /// The next frame's opcode and payload (`None` on end or at `deadline`).
    async fn next_raw(&mut self, deadline: tokio::time::Instant) -> Option<(u8, Vec<u8>)> {
        use tokio::io::AsyncReadExt;
        loop {
            if let Some((opcode, payload, used)) = parse_frame(&self.buffer) {
                self.buffer.drain(..used);
                return Some((opcode, payload));
            }
            let mut chunk = vec![0u8; 64 * 1024];
            let read = tokio::time::timeout_at(deadline, self.stream.read(&mut chunk))
                .await
                .ok()?
                .ok()?;
            if read == 0 {
                return None;
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }
}

/// (opcode, payload, bytes used) of the first complete unmasked frame in `bytes`.
fn parse_frame(bytes: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    let (first, second) = (*bytes.first()?, *bytes.get(1)?);
    let (len, header) = match second & 0x7f {
        126 => (
            usize::from(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?])),
            4,
        ),
        127 => (
            usize::try_from(u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?)).ok()?,
            10,
        ),
        len => (usize::from(len), 2),
    };
    let payload = bytes.get(header..header + len)?.to_vec();
    Some((first & 0x0f, payload, header + len))
}
