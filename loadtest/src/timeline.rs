//! The running scenario over time: events and latency samples counted in time
//! buckets since the scenario started, for `--plot` and the JSON report.
//!
//! The caller brackets a run with [`start`] and [`take`]; the scenarios record with
//! [`event`] and [`latency`] (through `Latency::timed` recorders). Recording costs a
//! clock read and a few additions; memory grows only when a new bucket is reached.
//!
//! The recorder belongs to the current thread. A scenario runs on one thread (an
//! actix `System`), and the integration tests run scenarios on parallel test
//! threads, each of which must see only its own events. Whatever is recorded on
//! another thread, before [`start`] or after [`take`], is not kept.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::report::{Percentiles, percentiles_of};

/// The width of a bucket when a run starts: fine enough that a run of a fraction
/// of a second still has a shape.
pub const BUCKET: Duration = Duration::from_millis(10);

/// The most buckets kept (each with a latency histogram of about 10 KiB once it
/// has a sample). When an event falls past the last bucket, neighbouring buckets
/// are merged in pairs and the width doubles, as often as needed: a run keeps its
/// whole span, in 250 to 500 buckets once it is past 5 s (a 60 s run ends with
/// 160 ms buckets), and memory stays bounded.
pub const MAX_BUCKETS: usize = 500;

/// Latency bounds in microseconds, as in `Latency`, at 2 significant digits.
const LOWEST_US: u64 = 1;
const HIGHEST_US: u64 = 60_000_000;
const DIGITS: u8 = 2;

thread_local! {
    static RECORDER: RefCell<Option<Recorder>> = const { RefCell::new(None) };
}

/// Starts a new timeline on this thread, dropping any previous one.
pub fn start() {
    RECORDER.with_borrow_mut(|recorder| *recorder = Some(Recorder::default()));
}

/// Counts one event (an ack, a frame read, a connection) now.
pub fn event() {
    RECORDER.with_borrow_mut(|recorder| {
        if let Some(recorder) = recorder {
            recorder.event_at(recorder.started.elapsed());
        }
    });
}

/// Records one latency sample, in the bucket of now (when it was observed).
pub fn latency(sample: Duration) {
    RECORDER.with_borrow_mut(|recorder| {
        if let Some(recorder) = recorder {
            recorder.latency_at(recorder.started.elapsed(), sample);
        }
    });
}

/// Ends this thread's timeline and returns its buckets, oldest first, up to now
/// (a quiet end of the run is there as empty buckets); empty if [`start`] was not
/// called.
pub fn take() -> Vec<Point> {
    RECORDER
        .with_borrow_mut(Option::take)
        .map(|mut recorder| {
            let elapsed = recorder.started.elapsed();
            recorder.bucket_at(elapsed);
            recorder.points(elapsed)
        })
        .unwrap_or_default()
}

/// One bucket of a finished timeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Point {
    /// When the bucket starts, seconds since the run started.
    pub t_s: f64,
    /// How long it lasts, seconds: the bucket width, or less for the last bucket
    /// if the timeline was taken before that bucket's end.
    pub width_s: f64,
    /// Events counted in it.
    pub events: u64,
    /// `events` over `width_s`.
    pub events_per_s: f64,
    /// Latency samples observed in it (`count` 0 if none).
    pub latency: Percentiles,
}

/// Buckets since `started`; [`MAX_BUCKETS`] at most.
struct Recorder {
    started: Instant,
    width: Duration,
    buckets: Vec<Bucket>,
}

#[derive(Default)]
struct Bucket {
    events: u64,
    /// Allocated with the bucket's first sample.
    latency: Option<Histogram<u32>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            width: BUCKET,
            buckets: Vec::new(),
        }
    }
}

impl Recorder {
    fn event_at(&mut self, at: Duration) {
        self.bucket_at(at).events += 1;
    }

    fn latency_at(&mut self, at: Duration, sample: Duration) {
        let micros = u64::try_from(sample.as_micros())
            .unwrap_or(u64::MAX)
            .clamp(LOWEST_US, HIGHEST_US);
        let bucket = self.bucket_at(at);
        if bucket.latency.is_none() {
            bucket.latency = Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, DIGITS).ok();
        }
        if let Some(histogram) = &mut bucket.latency {
            histogram.saturating_record(micros);
        }
    }

    /// The bucket `at` falls in, coarsening first if it is past the last one.
    fn bucket_at(&mut self, at: Duration) -> &mut Bucket {
        let index = loop {
            let index = at.as_nanos() / self.width.as_nanos().max(1);
            match usize::try_from(index) {
                Ok(index) if index < MAX_BUCKETS => break index,
                _ => self.coarsen(),
            }
        };
        if index >= self.buckets.len() {
            self.buckets.resize_with(index + 1, Bucket::default);
        }
        &mut self.buckets[index]
    }

    /// Doubles the width, merging buckets in pairs.
    fn coarsen(&mut self) {
        self.width = self.width.saturating_mul(2);
        let mut old = std::mem::take(&mut self.buckets).into_iter();
        while let Some(mut first) = old.next() {
            if let Some(second) = old.next() {
                first.events += second.events;
                first.latency = match (first.latency, second.latency) {
                    (Some(mut a), Some(b)) => {
                        // Same bounds on both sides, so adding cannot fail.
                        let _ = a.add(&b);
                        Some(a)
                    }
                    (a, b) => a.or(b),
                };
            }
            self.buckets.push(first);
        }
    }

    /// The buckets as points, the last one ending at `elapsed` at the latest.
    fn points(&self, elapsed: Duration) -> Vec<Point> {
        let width = self.width.as_secs_f64();
        let elapsed = elapsed.as_secs_f64();
        self.buckets
            .iter()
            .enumerate()
            .map(|(index, bucket)| {
                let t_s = index as f64 * width;
                // At least a microsecond, so a rate is always defined.
                let width_s = width.min(elapsed - t_s).max(1e-6);
                Point {
                    t_s,
                    width_s,
                    events: bucket.events,
                    events_per_s: bucket.events as f64 / width_s,
                    latency: bucket
                        .latency
                        .as_ref()
                        .map(percentiles_of)
                        .unwrap_or_default(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// `n` bucket widths (at the start) into the run.
    fn at(n: f64) -> Duration {
        BUCKET.mul_f64(n)
    }

    #[test]
    fn events_and_samples_land_in_the_bucket_of_their_time() {
        let mut recorder = Recorder::default();
        for n in [0.0, 0.04, 0.996, 1.0, 3.6] {
            recorder.event_at(at(n));
        }
        // Bucket 1: 1..=100 ms; bucket 3: one slow sample.
        for sample in 1..=100 {
            recorder.latency_at(at(1.2), ms(sample));
        }
        recorder.latency_at(at(3.04), ms(2000));
        let points = recorder.points(at(4.0));
        let events: Vec<u64> = points.iter().map(|p| p.events).collect();
        assert_eq!(events, [3, 1, 0, 1]);
        let width = BUCKET.as_secs_f64();
        let starts: Vec<f64> = points.iter().map(|p| p.t_s / width).collect();
        assert_eq!(starts, [0.0, 1.0, 2.0, 3.0]);
        assert!((points[0].events_per_s * width - 3.0).abs() < 1e-9);
        assert!((points[1].events_per_s * width - 1.0).abs() < 1e-9);
        assert_eq!(points[0].latency.count, 0);
        let second = points[1].latency;
        assert_eq!(second.count, 100);
        assert!((second.p50_ms - 50.0).abs() < 1.0, "{second:?}");
        assert!((second.p99_ms - 99.0).abs() < 1.5, "{second:?}");
        assert_eq!(points[2].latency.count, 0);
        let fourth = points[3].latency;
        assert_eq!(fourth.count, 1);
        assert!((fourth.p999_ms - 2000.0).abs() < 20.0, "{fourth:?}");
    }

    #[test]
    fn the_last_bucket_rate_is_over_the_time_it_covered() {
        let mut recorder = Recorder::default();
        for _ in 0..10 {
            recorder.event_at(at(1.04));
        }
        let points = recorder.points(at(1.2));
        assert_eq!(points.len(), 2);
        let width = BUCKET.as_secs_f64();
        assert!(
            (points[1].width_s - 0.2 * width).abs() < 1e-9,
            "{:?}",
            points[1]
        );
        assert!((points[1].events_per_s * 0.2 * width - 10.0).abs() < 1e-6);
    }

    #[test]
    fn past_the_cap_buckets_merge_in_pairs_and_double_in_width() {
        let mut recorder = Recorder::default();
        let last = BUCKET * (MAX_BUCKETS as u32 - 1);
        recorder.event_at(Duration::ZERO);
        recorder.latency_at(Duration::ZERO, ms(1));
        recorder.event_at(BUCKET);
        recorder.latency_at(BUCKET, ms(5));
        recorder.latency_at(BUCKET * 3, ms(9));
        recorder.event_at(last);
        assert_eq!(recorder.buckets.len(), MAX_BUCKETS);
        assert_eq!(recorder.width, BUCKET);
        // One bucket past the cap: everything is kept, at half the resolution.
        recorder.event_at(last + BUCKET);
        assert_eq!(recorder.width, BUCKET * 2);
        assert_eq!(recorder.buckets.len(), MAX_BUCKETS / 2 + 1);
        let points = recorder.points(last + BUCKET * 2);
        assert_eq!(points[0].events, 2, "buckets 0 and 1 merged");
        assert_eq!(points[0].latency.count, 2);
        assert!((points[0].latency.max_ms - 5.0).abs() < 0.1);
        assert_eq!(points[1].latency.count, 1, "bucket 3 alone");
        assert_eq!(points.iter().map(|p| p.events).sum::<u64>(), 4);
        assert_eq!(points[MAX_BUCKETS / 2].events, 1);
        // Far past it: coarsened as often as needed, never more buckets.
        recorder.event_at(BUCKET * (MAX_BUCKETS as u32) * 100);
        assert!(recorder.buckets.len() <= MAX_BUCKETS);
        assert_eq!(recorder.width, BUCKET * 128);
        let total: u64 = recorder
            .points(Duration::MAX)
            .iter()
            .map(|p| p.events)
            .sum();
        assert_eq!(total, 5);
    }

    #[test]
    fn start_resets_and_take_ends_the_timeline() {
        event();
        assert!(take().is_empty(), "nothing is kept before start");
        start();
        event();
        event();
        latency(ms(3));
        start();
        event();
        latency(ms(7));
        let points = take();
        assert!(!points.is_empty());
        let events: u64 = points.iter().map(|p| p.events).sum();
        assert_eq!(events, 1, "the second start dropped the first run");
        let sampled: Vec<_> = points.iter().filter(|p| p.latency.count > 0).collect();
        assert_eq!(sampled.len(), 1);
        assert_eq!(sampled[0].latency.count, 1);
        assert!((sampled[0].latency.p50_ms - 7.0).abs() < 0.1);
        event();
        assert!(take().is_empty(), "nothing is kept after take");
    }

    #[test]
    fn take_covers_the_quiet_end_of_a_run() {
        start();
        event();
        std::thread::sleep(BUCKET * 3);
        let points = take();
        assert!(points.len() >= 4, "{points:?}");
        assert_eq!(points.iter().map(|p| p.events).sum::<u64>(), 1);
        let end = points.last().map(|p| p.t_s + p.width_s).unwrap();
        assert!(end >= (BUCKET * 3).as_secs_f64(), "{points:?}");
    }

    #[test]
    fn each_thread_has_its_own_timeline() {
        let events = || take().iter().map(|p| p.events).sum::<u64>();
        start();
        event();
        std::thread::spawn(move || {
            start();
            event();
            event();
            assert_eq!(events(), 2);
        })
        .join()
        .unwrap();
        assert_eq!(events(), 1);
    }
}
