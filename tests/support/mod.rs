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
use fillstack_protocol::{Codec, FieldChanges, Scalar, ServerFrame};

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

    pub fn outbox(mut self, soft: usize, hard: usize) -> Self {
        self.config.session.outbox = OutboxLimits { soft, hard };
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
        let mut config = Config::default();
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.workers = 2;
        config.resource_threads = 2;
        TestHubBuilder { config }
    }

    pub async fn start() -> Self {
        Self::builder().start().await
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.running.as_ref().unwrap().addr)
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.as_ref().unwrap().addr)
    }

    pub async fn client(&self) -> Client {
        Client::connect_hello(&self.url(), Codec::MsgPack)
            .await
            .unwrap()
    }

    pub async fn json_client(&self) -> Client {
        Client::connect_hello(&self.url(), Codec::Json)
            .await
            .unwrap()
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

/// The real `fillstack` binary, started on 127.0.0.1:0 and stopped by PID.
pub struct HubProcess {
    pub child: Child,
    pub addr: String,
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
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("first line was {line:?}"));
        Self {
            addr: addr.to_owned(),
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

pub fn since(entries: &[(&str, u64)]) -> Option<BTreeMap<String, u64>> {
    Some(
        entries
            .iter()
            .map(|(id, seq)| ((*id).to_owned(), *seq))
            .collect(),
    )
}
