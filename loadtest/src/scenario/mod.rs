//! The load scenarios, one file each. Every scenario is bounded by count and by
//! time, talks to the URL it is given, and returns a [`Report`].

use std::cell::Cell;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fillstack_protocol::{ClientFrame, FieldChanges, PublishFrame, Scalar, ServerFrame};

use crate::Client;
use crate::report::Latency;

pub mod fanout;
pub mod idle;
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

/// Follows what one subscriber receives: counts, latency, and gaps per resource.
/// Its latency samples go on the timeline: they are what scenarios report.
pub struct Tracker {
    last_seq: HashMap<String, u64>,
    pub deliveries: u64,
    pub gaps: u64,
    pub resets: u64,
    pub latency: Latency,
}

impl Default for Tracker {
    fn default() -> Self {
        Self {
            last_seq: HashMap::new(),
            deliveries: 0,
            gaps: 0,
            resets: 0,
            latency: Latency::timed(),
        }
    }
}

impl Tracker {
    /// Takes one frame; returns the resource and seq it brought, if any.
    pub fn observe(&mut self, frame: &ServerFrame) -> Option<(String, u64)> {
        let (resource, seq, stamp) = match frame {
            ServerFrame::Snapshot(snapshot) => {
                self.resets += u64::from(snapshot.reset);
                let last = self.last_seq.get(&snapshot.resource).copied().unwrap_or(0);
                if snapshot.seq < last {
                    self.gaps += 1;
                }
                (snapshot.resource.clone(), snapshot.seq, None)
            }
            ServerFrame::Delta(delta) => {
                let last = self.last_seq.get(&delta.resource).copied();
                if last.is_some_and(|last| delta.seq != last + 1) {
                    self.gaps += 1;
                }
                let stamp =
                    delta
                        .fields
                        .as_ref()
                        .and_then(|f| f.get(STAMP))
                        .and_then(|v| match v {
                            Some(Scalar::Int(us)) => Some(*us),
                            _ => None,
                        });
                (delta.resource.clone(), delta.seq, stamp)
            }
            _ => return None,
        };
        self.deliveries += 1;
        if let Some(sent) = stamp {
            self.latency.record(Duration::from_micros(
                u64::try_from(now_us() - sent).unwrap_or(0),
            ));
        }
        self.last_seq.insert(resource.clone(), seq);
        Some((resource, seq))
    }

    /// The last seq seen of `resource`.
    pub fn seq_of(&self, resource: &str) -> u64 {
        self.last_seq.get(resource).copied().unwrap_or(0)
    }

    /// Adds this subscriber's counts to `report` and `latency`; `target` is the seq
    /// of `resource` it should have reached.
    pub fn add_to(
        &self,
        report: &mut crate::Report,
        latency: &mut Latency,
        resource: &str,
        target: u64,
    ) {
        report.deliveries += self.deliveries;
        report.gaps += self.gaps;
        report.resets += self.resets;
        report.undelivered += target.saturating_sub(self.seq_of(resource));
        latency.merge(&self.latency);
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
    let (mut sent, mut acked) = (0u64, 0u64);
    let mut sent_at: HashMap<u64, Instant> = HashMap::new();
    while acked < sent || (sent < count && Instant::now() < deadline) {
        while sent < count && sent - acked < window && Instant::now() < deadline {
            sent += 1;
            sent_at.insert(sent, Instant::now());
            client.send(&stamped(sent, target(sent), sent)).await?;
        }
        match client.frame_within(Duration::from_secs(30)).await? {
            ServerFrame::Ack { id, .. } => {
                acked += 1;
                count_event();
                if let Some(at) = sent_at.remove(&id) {
                    latency.record(at.elapsed());
                }
            }
            ServerFrame::Error { code, message, .. } => {
                anyhow::bail!("publish refused: {code:?}: {message}")
            }
            _ => {}
        }
    }
    Ok(acked)
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
        match client.frame_within(POLL).await {
            Ok(frame) => {
                tracker.observe(&frame);
                count_event();
                silent = Duration::ZERO;
            }
            Err(crate::ClientError::Timeout { .. }) => silent += POLL,
            Err(_) => break,
        }
    }
}

/// `count` sessions, each subscribed to `pattern_of(n)`, connected 100 at a time.
pub async fn subscribers(
    url: &str,
    count: usize,
    pattern_of: impl Fn(usize) -> String,
) -> anyhow::Result<Vec<Client>> {
    use futures_util::{StreamExt, TryStreamExt};
    futures_util::stream::iter((0..count).map(|n| {
        let pattern = pattern_of(n);
        async move {
            let mut client = Client::connect_hello(url, fillstack_protocol::Codec::MsgPack).await?;
            client.subscribe(&pattern, None).await?;
            count_event();
            anyhow::Ok(client)
        }
    }))
    .buffer_unordered(100)
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
