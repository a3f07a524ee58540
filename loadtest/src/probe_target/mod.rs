//! `probe-target`: the HTTP service a hub's probes check in the `probes` scenario.
//!
//! It answers every request `200 OK` with a tiny body, keeps connections alive, and
//! counts the requests: each one is a probe check. `GET /stats` (not counted) reports
//! the count as JSON, which is how the scenario reads it. [`ProbePlan`] writes the
//! hub's config file, one `[[probe]]` table per probe aimed at this target.
//! This is a load target, not an HTTP server: it reads request heads and
//! `Content-Length` bodies, and closes a connection on anything else.

use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fillstack_protocol::{IdError, ResourceId};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Connections open at once. A connection past the bound is closed unanswered and
/// counted in [`TargetStats::refused`]: the hub sees a failed check, and the report
/// shows why. A hub keeps about one connection per probe.
pub const MAX_CONNECTIONS: usize = 4096;

/// The longest request (head and body) a connection may buffer; past it, the
/// connection is closed.
const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// The probes a hub is given to check this target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbePlan {
    /// How many probes, each on its own resource.
    pub probes: usize,
    /// How often each probe checks.
    pub interval: Duration,
    /// How long a check may take.
    pub timeout: Duration,
    /// Probe `i` publishes into `<prefix>/p<i>`.
    pub prefix: String,
}

impl ProbePlan {
    /// The hub's config file (PROTOCOL-v1, "Configuration file"): one http
    /// `[[probe]]` per probe, probe `i` checking `http://ADDR/health?i=<i>`.
    pub fn config_toml(&self, addr: SocketAddr) -> Result<String, IdError> {
        let (interval, timeout) = (duration_text(self.interval), duration_text(self.timeout));
        let mut toml = format!(
            "# {} http probes every {interval} against the probe target at http://{addr}\n\
             # (written by `fillstack-loadtest probe-target`).\n",
            self.probes
        );
        for i in 0..self.probes {
            // A valid id holds no `"` or `\`, so it needs no escaping in a TOML string.
            let resource = ResourceId::parse(&format!("{}/p{i}", self.prefix))?;
            // Writing to a String cannot fail.
            let _ = write!(
                toml,
                "\n[[probe]]\nresource = \"{resource}\"\nkind = \"http\"\n\
                 target = \"http://{addr}/health?i={i}\"\ninterval = \"{interval}\"\n\
                 timeout = \"{timeout}\"\n"
            );
        }
        Ok(toml)
    }
}

/// `fillstack-loadtest probe-target`: serve checks and, with `--config-out`, write
/// the hub's config file aimed at this target.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetParams {
    /// Address to serve on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Write the hub's config file here: one `[[probe]]` table per probe.
    #[arg(long, value_name = "FILE.toml")]
    pub config_out: Option<PathBuf>,
    #[arg(long, default_value_t = 1000)]
    pub probes: usize,
    /// Each probe's interval, e.g. 500ms, 1s, 5m.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Each check's timeout.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Probe `i` publishes into `<prefix>/p<i>`.
    #[arg(long, default_value = "probe/load")]
    pub prefix: String,
    /// Stop after this many seconds (or at SIGTERM or Ctrl-C, whichever comes first).
    #[arg(long, default_value_t = 600)]
    pub seconds: u64,
}

impl TargetParams {
    /// The probes these parameters describe.
    pub fn plan(&self) -> ProbePlan {
        ProbePlan {
            probes: self.probes,
            interval: self.interval,
            timeout: self.timeout,
            prefix: self.prefix.clone(),
        }
    }
}

/// What the target has served, as `GET /stats` answers it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetStats {
    /// Requests answered: the probe checks. `/stats` itself is not counted.
    pub requests: u64,
    /// Connections closed unanswered because [`MAX_CONNECTIONS`] were open.
    pub refused: u64,
    /// Seconds since the target started.
    pub seconds: f64,
    /// The probes it was started for, and their interval in ms.
    pub probes: u64,
    pub interval_ms: u64,
}

impl TargetStats {
    /// Requests per second since the target started.
    pub fn checks_per_s(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Counts shared by the accept loop and every connection.
#[derive(Debug)]
struct Counts {
    requests: AtomicU64,
    refused: AtomicU64,
    started: Instant,
    probes: u64,
    interval_ms: u64,
}

impl Counts {
    fn stats(&self) -> TargetStats {
        TargetStats {
            requests: self.requests.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            seconds: self.started.elapsed().as_secs_f64(),
            probes: self.probes,
            interval_ms: self.interval_ms,
        }
    }
}

/// A bound listener, ready to [`serve`](Self::serve).
pub struct ProbeTarget {
    listener: TcpListener,
    addr: SocketAddr,
    counts: Arc<Counts>,
}

impl ProbeTarget {
    /// Binds `addr` (port 0 picks a free one); `plan` is what `/stats` reports.
    pub async fn bind(addr: SocketAddr, plan: &ProbePlan) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let counts = Arc::new(Counts {
            requests: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            started: Instant::now(),
            probes: plan.probes as u64,
            interval_ms: u64::try_from(plan.interval.as_millis()).unwrap_or(u64::MAX),
        });
        Ok(Self {
            listener,
            addr,
            counts,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers connections until `stop` completes; returns what was served.
    /// Connections still open then are answered until the runtime ends.
    pub async fn serve(self, stop: impl Future<Output = ()>) -> TargetStats {
        let open = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut stop = std::pin::pin!(stop);
        loop {
            let socket = tokio::select! {
                () = &mut stop => break,
                accepted = self.listener.accept() => accepted,
            };
            let socket = match socket {
                Ok((socket, _)) => socket,
                // Out of file descriptors, most likely: wait rather than spin.
                Err(_) => {
                    actix_rt::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
                self.counts.refused.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let counts = Arc::clone(&self.counts);
            actix_rt::spawn(async move {
                // A reset or a broken pipe ends this connection only.
                let _ = answer(socket, &counts).await;
                drop(permit);
            });
        }
        self.counts.stats()
    }
}

/// Answers the requests of one connection, in order, until it closes.
async fn answer(mut socket: TcpStream, counts: &Counts) -> std::io::Result<()> {
    let _ = socket.set_nodelay(true);
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let mut replies = Vec::new();
        let mut is_closing = false;
        loop {
            match parse(&buffer) {
                Parsed::Incomplete => break,
                Parsed::Unreadable => {
                    is_closing = true;
                    break;
                }
                Parsed::Request(request) => {
                    buffer.drain(..request.len);
                    replies.extend(reply(&request, counts));
                    if !request.keep_alive {
                        is_closing = true;
                        break;
                    }
                }
            }
        }
        if !replies.is_empty() {
            socket.write_all(&replies).await?;
        }
        if is_closing || buffer.len() > MAX_REQUEST_BYTES {
            return socket.shutdown().await;
        }
        let read = socket.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

/// The response to `request`, counting it unless it asks for `/stats`.
fn reply(request: &Request, counts: &Counts) -> Vec<u8> {
    let (content_type, body) = if request.is_stats {
        let stats = serde_json::to_string(&counts.stats()).expect("stats always encode");
        ("application/json", stats)
    } else {
        counts.requests.fetch_add(1, Ordering::Relaxed);
        ("text/plain", "ok\n".to_owned())
    };
    let connection = if request.keep_alive {
        ""
    } else {
        "connection: close\r\n"
    };
    let mut bytes = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n{connection}\r\n",
        body.len()
    )
    .into_bytes();
    if !request.is_head {
        bytes.extend_from_slice(body.as_bytes());
    }
    bytes
}

/// A whole request at the start of a connection's buffer.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    /// Its bytes, head and body.
    len: usize,
    is_stats: bool,
    is_head: bool,
    keep_alive: bool,
}

/// What the start of a connection's buffer holds.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// Not yet a whole request.
    Incomplete,
    Request(Request),
    /// Not a request this target reads (a chunked body, not HTTP/1.x): close.
    Unreadable,
}

fn parse(buffer: &[u8]) -> Parsed {
    let Some(head_end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Parsed::Incomplete;
    };
    let Ok(head) = std::str::from_utf8(&buffer[..head_end]) else {
        return Parsed::Unreadable;
    };
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (method, path, version) = (
        request_line.next().unwrap_or_default(),
        request_line.next().unwrap_or_default(),
        request_line.next().unwrap_or_default(),
    );
    if !version.starts_with("HTTP/1.") {
        return Parsed::Unreadable;
    }
    let mut keep_alive = version == "HTTP/1.1";
    let mut body = 0;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Parsed::Unreadable;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("connection") {
            for option in value.split(',').map(str::trim) {
                if option.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if option.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            match value.parse::<usize>() {
                Ok(len) if len <= MAX_REQUEST_BYTES => body = len,
                _ => return Parsed::Unreadable,
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Parsed::Unreadable;
        }
    }
    let len = head_end + 4 + body;
    if buffer.len() < len {
        return Parsed::Incomplete;
    }
    let path = path.split('?').next().unwrap_or_default();
    Parsed::Request(Request {
        len,
        is_stats: path == "/stats",
        is_head: method == "HEAD",
        keep_alive,
    })
}

/// A duration as the hub's config reads it: `500ms`, `2s`, `5m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let refused = || format!("`{text}` is not a duration such as 500ms, 10s or 5m");
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |at| text.split_at(at));
    let number: u64 = number.parse().map_err(|_| refused())?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number * 60)),
        _ => Err(refused()),
    }
}

/// `duration` as the hub's config writes it: whole seconds as `2s`, else `1500ms`.
fn duration_text(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests;
