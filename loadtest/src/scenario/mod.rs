//! The load scenarios, one file each. Every scenario is bounded by count and by
//! time, talks to the URL it is given, and returns a [`Report`].

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fillstack_protocol::{
    ClientFrame, Codec, ErrorCode, FieldChanges, PublishFrame, Scalar, ServerFrame,
};
use serde::Deserialize;

use crate::client::Raw;
use crate::report::Latency;
use crate::{Client, Hubs};

pub mod fanout;
pub mod idle;
pub mod probes;
pub mod publish;
pub mod reconnect;
pub mod slow_reader;
pub mod topics;

/// Progress of the running scenario: acks and connections counted as they happen.
/// Hidden until [`show_progress`] is called (the CLI does, on a terminal).
static PROGRESS: std::sync::LazyLock<indicatif::ProgressBar> =
    std::sync::LazyLock::new(indicatif::ProgressBar::hidden);

/// Draws a live counter of events (acks, connections, deliveries read) on stderr.
pub fn show_progress(label: &str) {
    PROGRESS.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {elapsed:>4} {msg}: {pos} events ({per_sec})",
    ) {
        PROGRESS.set_style(style);
    }
    PROGRESS.set_message(label.to_owned());
    PROGRESS.enable_steady_tick(Duration::from_millis(200));
}

/// Ends the counter line.
pub fn finish_progress() {
    PROGRESS.finish_and_clear();
}

/// Counts one event (an ack, a frame read, a connection): on the progress line
/// and on the [`timeline`](crate::timeline).
fn count_event() {
    PROGRESS.inc(1);
    crate::timeline::event();
}

/// The field each benchmark publish carries: the publisher's clock, unix µs.
pub const STAMP: &str = "t_us";

/// Now, unix microseconds.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// A publish of `resource` carrying its sequence number `n` and the send time.
pub fn stamped(id: u64, resource: String, n: u64) -> ClientFrame {
    let mut fields = FieldChanges::new();
    fields.insert(
        "n".into(),
        Some(Scalar::Int(i64::try_from(n).unwrap_or(i64::MAX))),
    );
    fields.insert(STAMP.into(), Some(Scalar::Int(now_us())));
    ClientFrame::Pub(PublishFrame {
        id,
        resource,
        fields: Some(fields),
        ..PublishFrame::default()
    })
}

/// What a tracker needs of a frame, borrowed from its bytes: nothing is built or
/// allocated, so the load generator's own cost per frame stays small next to the
/// hub's (a whole `ServerFrame` costs several allocations to decode).
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(rename = "t")]
    kind: &'a str,
    #[serde(default)]
    resource: &'a str,
    #[serde(default)]
    seq: u64,
    #[serde(default)]
    reset: bool,
    #[serde(default)]
    fields: Option<Stamp>,
}

impl<'a> Peek<'a> {
    fn read(codec: Codec, bytes: &'a [u8]) -> Option<Self> {
        match codec {
            Codec::MsgPack => rmp_serde::from_slice(bytes).ok(),
            Codec::Json => serde_json::from_slice(bytes).ok(),
        }
    }
}

#[derive(Deserialize)]
struct Stamp {
    #[serde(default, rename = "t_us")]
    sent_us: Option<i64>,
}

/// One frame as a tracker counts it.
enum Seen<'a> {
    Snapshot {
        resource: &'a str,
        seq: u64,
        reset: bool,
    },
    Delta {
        resource: &'a str,
        seq: u64,
        sent_us: Option<i64>,
    },
    Other,
}

impl<'a> Seen<'a> {
    fn of_frame(frame: &'a ServerFrame) -> Self {
        match frame {
            ServerFrame::Snapshot(snapshot) => Self::Snapshot {
                resource: &snapshot.resource,
                seq: snapshot.seq,
                reset: snapshot.reset,
            },
            ServerFrame::Delta(delta) => {
                Self::Delta {
                    resource: &delta.resource,
                    seq: delta.seq,
                    sent_us: delta.fields.as_ref().and_then(|f| f.get(STAMP)).and_then(
                        |v| match v {
                            Some(Scalar::Int(us)) => Some(*us),
                            _ => None,
                        },
                    ),
                }
            }
            _ => Self::Other,
        }
    }

    fn of_peek(peek: &Peek<'a>) -> Self {
        match peek.kind {
            "snapshot" => Self::Snapshot {
                resource: peek.resource,
                seq: peek.seq,
                reset: peek.reset,
            },
            "delta" => Self::Delta {
                resource: peek.resource,
                seq: peek.seq,
                sent_us: peek.fields.as_ref().and_then(|f| f.sent_us),
            },
            _ => Self::Other,
        }
    }
}

/// A latency recorder that the subscribers of a run (or of one hub of it) share.
///
/// One histogram per subscriber was 139 KB each (1 µs to 60 s at 3 digits): 139 MB
/// for 1000 subscribers, zeroed and faulted in while the run's first deliveries
/// arrived, which stalled the generator's reads for about 150 ms at the start of
/// every run (the `rate` warm-up spike). Its samples go on the timeline: they are
/// what scenarios report.
pub type SharedLatency = Rc<RefCell<Latency>>;

/// A new [`SharedLatency`], timed.
pub fn shared_latency() -> SharedLatency {
    Rc::new(RefCell::new(Latency::timed()))
}

/// Follows what one subscriber receives: counts and gaps per resource, and the
/// latency of each stamped change, recorded into a [`SharedLatency`].
pub struct Tracker {
    last_seq: HashMap<String, u64>,
    pub deliveries: u64,
    pub gaps: u64,
    pub resets: u64,
    latency: SharedLatency,
}

impl Default for Tracker {
    /// A tracker with a recorder of its own.
    fn default() -> Self {
        Self::new(&shared_latency())
    }
}

impl Tracker {
    /// A tracker recording its latencies into `latency`.
    pub fn new(latency: &SharedLatency) -> Self {
        Self {
            last_seq: HashMap::new(),
            deliveries: 0,
            gaps: 0,
            resets: 0,
            latency: latency.clone(),
        }
    }

    /// The recorder its latencies go to.
    pub fn latency(&self) -> &SharedLatency {
        &self.latency
    }

    /// Takes one decoded frame.
    pub fn observe(&mut self, frame: &ServerFrame) {
        self.take(Seen::of_frame(frame));
    }

    /// Takes one frame as [`Client::raw_within`] returned it, reading only the
    /// parts it counts (a frame it cannot read that way is decoded whole).
    pub fn observe_raw(&mut self, codec: Codec, raw: &Raw) -> Result<(), crate::ClientError> {
        let bytes = match raw {
            Raw::Decoded(frame) => {
                self.observe(frame);
                return Ok(());
            }
            Raw::Bytes(bytes) => bytes,
        };
        match Peek::read(codec, bytes) {
            Some(peek) => self.take(Seen::of_peek(&peek)),
            None => {
                let frame: ServerFrame = codec
                    .decode(bytes)
                    .map_err(|e| crate::ClientError::Decode(e.to_string()))?;
                self.observe(&frame);
            }
        }
        Ok(())
    }

    fn take(&mut self, seen: Seen<'_>) {
        let (resource, seq, sent_us) = match seen {
            Seen::Snapshot {
                resource,
                seq,
                reset,
            } => {
                self.resets += u64::from(reset);
                if seq < self.seq_of(resource) {
                    self.gaps += 1;
                }
                (resource, seq, None)
            }
            Seen::Delta {
                resource,
                seq,
                sent_us,
            } => {
                if self
                    .last_seq
                    .get(resource)
                    .is_some_and(|last| seq != last + 1)
                {
                    self.gaps += 1;
                }
                (resource, seq, sent_us)
            }
            Seen::Other => return,
        };
        self.deliveries += 1;
        if let Some(sent) = sent_us {
            self.latency.borrow_mut().record(Duration::from_micros(
                u64::try_from(now_us() - sent).unwrap_or(0),
            ));
        }
        match self.last_seq.get_mut(resource) {
            Some(last) => *last = seq,
            None => {
                self.last_seq.insert(resource.to_owned(), seq);
            }
        }
    }

    /// The last seq seen of `resource`.
    pub fn seq_of(&self, resource: &str) -> u64 {
        self.last_seq.get(resource).copied().unwrap_or(0)
    }

    /// Adds this subscriber's counts to `report` (its latencies are in its
    /// recorder already); `target` is the seq of `resource` it should have reached.
    pub fn add_to(&self, report: &mut crate::Report, resource: &str, target: u64) {
        report.deliveries += self.deliveries;
        report.gaps += self.gaps;
        report.resets += self.resets;
        report.undelivered += target.saturating_sub(self.seq_of(resource));
    }

    /// Every resource seen with its last seq (for resuming with `since`).
    pub fn since(&self) -> std::collections::BTreeMap<String, u64> {
        self.last_seq.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

/// Sends `count` publishes keeping at most `window` unacked, until `deadline`;
/// returns the acks received and records publish-to-ack latency in `latency` (and
/// on the timeline if that recorder is timed).
pub async fn send_windowed(
    client: &mut Client,
    count: u64,
    window: u64,
    deadline: Instant,
    latency: &mut Latency,
    target: impl Fn(u64) -> String,
) -> anyhow::Result<u64> {
    let sent = send_windowed_acking(client, count, window, deadline, latency, target, |_, _| {});
    Ok(sent.await?.acks)
}

/// What [`send_windowed_acking`] sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// Publishes acked (each once).
    pub acks: u64,
    /// `unavailable` answers, each followed by the same publish again.
    pub retries: u64,
}

/// How many times one publish is sent again after `unavailable` before the run
/// fails with the hub's message.
const MAX_RETRIES: u32 = 20;

/// [`send_windowed`], also handing `on_ack` each ack's publish number (the `n`
/// given to `target`) and the seq it gave. A publish answered `unavailable` (a
/// cluster's hub does so when other hubs keep writing its resource first, or
/// without its broker) stays in the window and is sent again after the answer's
/// `retry_after_ms`, up to [`MAX_RETRIES`] times; its latency counts from its
/// first send. Any other error fails the run.
pub async fn send_windowed_acking(
    client: &mut Client,
    count: u64,
    window: u64,
    deadline: Instant,
    latency: &mut Latency,
    target: impl Fn(u64) -> String,
    mut on_ack: impl FnMut(u64, u64),
) -> anyhow::Result<Sent> {
    let (mut sent, mut done) = (0u64, Sent::default());
    let mut sent_at: HashMap<u64, Instant> = HashMap::new();
    // Refused publishes by when to send them again, and how often each was refused.
    let mut again: BTreeSet<(Instant, u64)> = BTreeSet::new();
    let mut refused: HashMap<u64, u32> = HashMap::new();
    while done.acks < sent || (sent < count && Instant::now() < deadline) {
        while sent < count && sent - done.acks < window && Instant::now() < deadline {
            sent += 1;
            sent_at.insert(sent, Instant::now());
            client.send(&stamped(sent, target(sent), sent)).await?;
        }
        while let Some(&(due, n)) = again.first()
            && due <= Instant::now()
        {
            again.pop_first();
            client.send(&stamped(n, target(n), n)).await?;
        }
        let wait = again.first().map_or(Duration::from_secs(30), |(due, _)| {
            due.saturating_duration_since(Instant::now())
        });
        match client.frame_within(wait).await {
            Ok(ServerFrame::Ack { id, seq }) => {
                done.acks += 1;
                count_event();
                on_ack(id, seq);
                refused.remove(&id);
                if let Some(at) = sent_at.remove(&id) {
                    latency.record(at.elapsed());
                }
            }
            Ok(ServerFrame::Error {
                id: Some(id),
                code: ErrorCode::Unavailable,
                message,
                retry_after_ms,
            }) if sent_at.contains_key(&id) => {
                let times = refused.entry(id).or_default();
                *times += 1;
                if *times > MAX_RETRIES {
                    anyhow::bail!("publish refused {MAX_RETRIES} times: unavailable: {message}");
                }
                done.retries += 1;
                let after = Duration::from_millis(retry_after_ms.unwrap_or(50));
                again.insert((Instant::now() + after, id));
            }
            Ok(ServerFrame::Error { code, message, .. }) => {
                anyhow::bail!("publish refused: {code:?}: {message}")
            }
            Ok(_) => {}
            Err(crate::ClientError::Timeout { .. }) if !again.is_empty() => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(done)
}

/// Reads until `resource` reaches the `target` seq (which may be set later, while
/// reading) or nothing comes for `quiet`.
pub async fn read_until(
    client: &mut Client,
    tracker: &mut Tracker,
    resource: &str,
    target: &Cell<u64>,
    quiet: Duration,
) {
    // Short waits, so a target set meanwhile is noticed within one of them.
    const POLL: Duration = Duration::from_millis(50);
    let mut silent = Duration::ZERO;
    while tracker.seq_of(resource) < target.get() && silent < quiet {
        match client.raw_within(POLL).await {
            Ok(raw) => {
                if tracker.observe_raw(client.codec(), &raw).is_err() {
                    break;
                }
                count_event();
                silent = Duration::ZERO;
            }
            Err(crate::ClientError::Timeout { .. }) => silent += POLL,
            Err(_) => break,
        }
    }
}

/// Reads until `resource` reaches `seq`, or nothing comes for 10 s.
pub async fn read_to(client: &mut Client, tracker: &mut Tracker, resource: &str, seq: u64) {
    let target = Cell::new(seq);
    read_until(client, tracker, resource, &target, Duration::from_secs(10)).await;
}

thread_local! {
    /// The subprotocol the sessions of runs on this thread speak (`--codec`;
    /// MessagePack by default). Per thread: a run and its tasks live on one actix
    /// thread, and tests running side by side do not change each other's.
    static CODEC: std::cell::Cell<Codec> = const { std::cell::Cell::new(Codec::MsgPack) };
}

/// Makes every session of the following runs on this thread speak `codec`.
pub fn use_codec(codec: Codec) {
    CODEC.set(codec);
}

/// The subprotocol runs on this thread speak now.
pub fn codec() -> Codec {
    CODEC.get()
}

/// The name reports give the subprotocol runs on this thread speak now.
pub fn codec_name() -> &'static str {
    match codec() {
        Codec::Json => "json",
        Codec::MsgPack => "msgpack",
    }
}

/// `count` sessions, each subscribed to `pattern_of(n)`, connected 100 at a time.
pub async fn subscribers(
    url: &str,
    count: usize,
    pattern_of: impl Fn(usize) -> String,
) -> anyhow::Result<Vec<Client>> {
    subscribers_at_once(url, count, 100, pattern_of).await
}

/// `count` sessions on `url`, connected `at_once` at a time, each subscribed to
/// `pattern_of(n)`.
pub async fn subscribers_at_once(
    url: &str,
    count: usize,
    at_once: usize,
    pattern_of: impl Fn(usize) -> String,
) -> anyhow::Result<Vec<Client>> {
    let hubs = Hubs::one(url);
    let placed = connect_subscribers(&hubs, count, at_once, pattern_of).await?;
    Ok(placed.into_iter().map(|(_, client)| client).collect())
}

/// `count` sessions, the `n`th on hub `hubs.of(n)` and subscribed to
/// `pattern_of(n)`, connected 100 at a time; each with its hub's index.
pub async fn subscribers_on(
    hubs: &Hubs,
    count: usize,
    pattern_of: impl Fn(usize) -> String,
) -> anyhow::Result<Vec<(usize, Client)>> {
    connect_subscribers(hubs, count, 100, pattern_of).await
}

async fn connect_subscribers(
    hubs: &Hubs,
    count: usize,
    at_once: usize,
    pattern_of: impl Fn(usize) -> String,
) -> anyhow::Result<Vec<(usize, Client)>> {
    use futures_util::{StreamExt, TryStreamExt};
    futures_util::stream::iter((0..count).map(|n| {
        let pattern = pattern_of(n);
        let (hub, url) = hubs.of(n);
        async move {
            let mut client = Client::connect_hello(url, codec()).await?;
            client.subscribe(&pattern, None).await?;
            count_event();
            anyhow::Ok((hub, client))
        }
    }))
    .buffer_unordered(at_once.max(1))
    .try_collect()
    .await
}

#[cfg(test)]
mod tests {
    use fillstack_protocol::{DeltaFrame, SnapshotFrame, Status};

    use super::*;

    fn delta(seq: u64) -> ServerFrame {
        ServerFrame::Delta(DeltaFrame {
            resource: "r".into(),
            seq,
            at: 0,
            status: None,
            fields: None,
            labels: None,
            ttl_ms: None,
        })
    }

    fn snapshot(seq: u64, reset: bool) -> ServerFrame {
        ServerFrame::Snapshot(SnapshotFrame {
            id: None,
            resource: "r".into(),
            seq,
            status: Status::Up,
            fields: Default::default(),
            labels: Default::default(),
            updated_at: 0,
            ttl_ms: None,
            reset,
        })
    }

    #[test]
    fn a_skipped_seq_is_a_gap_and_a_reset_snapshot_is_not() {
        let mut tracker = Tracker::default();
        for frame in [
            snapshot(1, false),
            delta(2),
            delta(3),
            snapshot(7, true),
            delta(8),
            delta(10),
        ] {
            tracker.observe(&frame);
        }
        assert_eq!(
            (tracker.deliveries, tracker.gaps, tracker.resets),
            (6, 1, 1)
        );
        assert_eq!(tracker.seq_of("r"), 10);
    }

    #[test]
    fn frames_read_from_their_bytes_count_as_decoded_ones() {
        let mut stamped = FieldChanges::new();
        stamped.insert(STAMP.into(), Some(Scalar::Int(now_us() - 2_000)));
        stamped.insert("note".into(), Some(Scalar::Str("x".into())));
        stamped.insert("gone".into(), None);
        let mut frames = vec![snapshot(1, false), delta(2), delta(4), snapshot(9, true)];
        if let ServerFrame::Delta(delta) = &mut frames[1] {
            delta.fields = Some(stamped);
        }
        frames.push(ServerFrame::Pong { id: 1, time: 0 });
        for codec in [Codec::MsgPack, Codec::Json] {
            let (mut decoded, mut raw) = (Tracker::default(), Tracker::default());
            for frame in &frames {
                decoded.observe(frame);
                let bytes = Raw::Bytes(codec.encode(frame));
                raw.observe_raw(codec, &bytes).unwrap();
            }
            let counts = |t: &Tracker| {
                (
                    t.deliveries,
                    t.gaps,
                    t.resets,
                    t.latency().borrow().percentiles().count,
                )
            };
            assert_eq!(counts(&raw), (4, 1, 1, 1), "{codec:?}");
            assert_eq!(counts(&raw), counts(&decoded), "{codec:?}");
            assert_eq!(raw.seq_of("r"), 9);
            assert!(
                raw.latency().borrow().percentiles().p50_ms >= 1.9,
                "{codec:?}"
            );
            // The borrowed read itself works (no fallback to a whole decode).
            for frame in &frames {
                let bytes = codec.encode(frame);
                assert!(Peek::read(codec, &bytes).is_some(), "{codec:?} {frame:?}");
            }
        }
    }

    #[test]
    fn trackers_given_one_recorder_each_add_their_samples_to_it() {
        let mut stamped = FieldChanges::new();
        stamped.insert(STAMP.into(), Some(Scalar::Int(now_us() - 2_000)));
        let mut frame = delta(2);
        if let ServerFrame::Delta(delta) = &mut frame {
            delta.fields = Some(stamped);
        }
        let shared = shared_latency();
        let (mut a, mut b) = (Tracker::new(&shared), Tracker::new(&shared));
        a.observe(&frame);
        b.observe(&frame);
        b.observe(&frame);
        assert_eq!(shared.borrow().percentiles().count, 3);
        assert_eq!((a.deliveries, b.deliveries), (1, 2));
        let own = Tracker::default();
        assert_eq!(own.latency().borrow().percentiles().count, 0, "apart");
    }

    #[test]
    fn stamped_publishes_carry_their_send_time() {
        let ClientFrame::Pub(frame) = stamped(1, "r".into(), 5) else {
            panic!()
        };
        let fields = frame.fields.unwrap();
        assert_eq!(fields["n"], Some(Scalar::Int(5)));
        let Some(Scalar::Int(stamp)) = fields[STAMP] else {
            panic!()
        };
        assert!((now_us() - stamp).abs() < 1_000_000);
    }
}
