//! Uptime: the time a resource spends in each status, kept in UTC day buckets.
//!
//! A day's bucket is a counter record of 24 x 6 numbers: milliseconds per hour
//! per status (hour-major, statuses in the contract's order). When a resource's
//! status changes, the interval it just ended is split over the hours it spans
//! and *added* to those days' buckets (the store sums additions, so two quick
//! changes never race). The interval still open is added when a report is made.
//! Pure: time is an argument.

use std::collections::BTreeMap;

use fillstack_protocol::Status;
use serde::Serialize;

pub const HOUR_MS: u64 = 3_600_000;
pub const DAY_MS: u64 = 24 * HOUR_MS;
/// Days kept; older buckets are dropped when a new day's bucket is first written.
pub const KEEP_DAYS: u64 = 90;
const SLOTS: usize = 24 * 6;

/// A day's number: whole days since 1970-01-01 UTC.
pub fn day_of(ms: u64) -> u64 {
    ms / DAY_MS
}

/// The side-record key of `resource`'s bucket for `day` (fixed width, so one
/// resource's days sort in order).
pub fn day_key(resource: &str, day: u64) -> String {
    format!("u\0{resource}\0{day:08}")
}

fn index(status: Status) -> usize {
    Status::ALL
        .iter()
        .position(|s| *s == status)
        .expect("every status is in ALL")
}

/// The additions `[from, to)` in `status` makes: per day touched, its counters.
pub fn split(status: Status, from: u64, to: u64) -> Vec<(u64, Vec<u32>)> {
    let mut days: Vec<(u64, Vec<u32>)> = Vec::new();
    let mut at = from;
    while at < to {
        let hour_end = (at / HOUR_MS + 1) * HOUR_MS;
        let end = hour_end.min(to);
        let day = day_of(at);
        if days.last().is_none_or(|(last, _)| *last != day) {
            days.push((day, vec![0; SLOTS]));
        }
        let hour = usize::try_from((at % DAY_MS) / HOUR_MS).unwrap_or(0);
        let counters = &mut days.last_mut().expect("pushed above").1;
        let ms = u32::try_from(end - at).unwrap_or(u32::MAX);
        counters[hour * 6 + index(status)] += ms;
        at = end;
    }
    days
}

/// `YYYY-MM-DD` of a day number (proleptic Gregorian, UTC).
pub fn date(day: u64) -> String {
    // Howard Hinnant's days-to-civil.
    let z = i64::try_from(day).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Time per status over some span.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// Seconds per status (every status named).
    pub seconds: BTreeMap<&'static str, f64>,
    /// Each status's fraction of the counted time.
    pub share: BTreeMap<&'static str, f64>,
    /// up / (all counted time but maintenance); `None` when nothing was counted.
    pub availability: Option<f64>,
}

impl Summary {
    fn from_ms(ms: [f64; 6]) -> Self {
        let total: f64 = ms.iter().sum();
        let maintenance = ms[index(Status::Maintenance)];
        let seconds = Status::ALL
            .iter()
            .map(|s| (s.as_str(), round(ms[index(*s)] / 1000.0, 3)))
            .collect();
        let share = Status::ALL
            .iter()
            .map(|s| {
                let share = if total > 0.0 {
                    ms[index(*s)] / total
                } else {
                    0.0
                };
                (s.as_str(), round(share, 6))
            })
            .collect();
        let counted = total - maintenance;
        let availability = (counted > 0.0).then(|| round(ms[index(Status::Up)] / counted, 6));
        Self {
            seconds,
            share,
            availability,
        }
    }
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// One day of a report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DayReport {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    #[serde(flatten)]
    pub summary: Summary,
}

/// The answer of the uptime route.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub resource: String,
    pub days: Vec<DayReport>,
    pub total: Summary,
    /// The last 24 hours, at hour resolution (the oldest hour counted pro rata).
    pub last_24h: Summary,
}

/// The report over the `days` UTC days ending today (`now`), from the stored
/// buckets (`stored`: day → counters) and the interval still open (its status
/// and when it began), if the resource exists.
pub fn report(
    resource: &str,
    stored: &BTreeMap<u64, Vec<u32>>,
    open: Option<(Status, u64)>,
    now: u64,
    days: u64,
) -> Report {
    let mut buckets = stored.clone();
    if let Some((status, since)) = open {
        for (day, counters) in split(status, since.min(now), now) {
            let bucket = buckets.entry(day).or_insert_with(|| vec![0; SLOTS]);
            if bucket.len() < SLOTS {
                bucket.resize(SLOTS, 0);
            }
            for (sum, add) in bucket.iter_mut().zip(counters) {
                *sum = sum.saturating_add(add);
            }
        }
    }
    let today = day_of(now);
    let first = today.saturating_sub(days.saturating_sub(1));
    let mut total = [0f64; 6];
    let day_reports = (first..=today)
        .map(|day| {
            let mut ms = [0f64; 6];
            if let Some(bucket) = buckets.get(&day) {
                for (slot, value) in bucket.iter().enumerate().take(SLOTS) {
                    ms[slot % 6] += f64::from(*value);
                }
            }
            for (sum, add) in total.iter_mut().zip(ms) {
                *sum += add;
            }
            DayReport {
                date: date(day),
                summary: Summary::from_ms(ms),
            }
        })
        .collect();
    Report {
        resource: resource.to_owned(),
        days: day_reports,
        total: Summary::from_ms(total),
        last_24h: Summary::from_ms(last_hours(&buckets, now, 24)),
    }
}

/// Milliseconds per status over the last `hours` hours before `now`; the hour
/// the window starts in is counted in proportion to the part inside it.
fn last_hours(buckets: &BTreeMap<u64, Vec<u32>>, now: u64, hours: u64) -> [f64; 6] {
    let start = now.saturating_sub(hours * HOUR_MS);
    let mut ms = [0f64; 6];
    let mut hour_start = start / HOUR_MS * HOUR_MS;
    while hour_start < now {
        let inside = (hour_start + HOUR_MS).min(now) - hour_start.max(start);
        // The counters of an hour hold only time up to now, so the part of the
        // hour before the window is what is left out, pro rata.
        let fraction = if hour_start < start {
            inside as f64 / HOUR_MS as f64
        } else {
            1.0
        };
        if let Some(bucket) = buckets.get(&day_of(hour_start)) {
            let hour = usize::try_from((hour_start % DAY_MS) / HOUR_MS).unwrap_or(0);
            for (status, sum) in ms.iter_mut().enumerate() {
                if let Some(value) = bucket.get(hour * 6 + status) {
                    *sum += f64::from(*value) * fraction;
                }
            }
        }
        hour_start += HOUR_MS;
    }
    ms
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 20_000; // 2024-10-04

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(DAY), "2024-10-04");
        assert_eq!(date(19_782), "2024-02-29");
    }

    #[test]
    fn an_interval_is_split_at_hour_and_day_boundaries() {
        let from = DAY * DAY_MS + 23 * HOUR_MS + 30 * 60_000; // 23:30
        let to = from + HOUR_MS; // 00:30 the next day
        let days = split(Status::Down, from, to);
        assert_eq!(days.len(), 2);
        assert_eq!((days[0].0, days[0].1[23 * 6 + 2]), (DAY, 1_800_000));
        assert_eq!((days[1].0, days[1].1[2]), (DAY + 1, 1_800_000));
        let total: u64 = days
            .iter()
            .flat_map(|(_, c)| c.iter().map(|v| u64::from(*v)))
            .sum();
        assert_eq!(total, HOUR_MS);
    }

    #[test]
    fn a_report_counts_stored_and_open_time_and_leaves_out_maintenance() {
        let midnight = DAY * DAY_MS;
        let mut stored = BTreeMap::new();
        for (day, counters) in split(Status::Up, midnight, midnight + 3 * HOUR_MS)
            .into_iter()
            .chain(split(
                Status::Maintenance,
                midnight + 3 * HOUR_MS,
                midnight + 4 * HOUR_MS,
            ))
        {
            let bucket: &mut Vec<u32> = stored.entry(day).or_insert_with(|| vec![0; SLOTS]);
            for (sum, add) in bucket.iter_mut().zip(counters) {
                *sum += add;
            }
        }
        let now = midnight + 5 * HOUR_MS;
        let report = report(
            "svc/a",
            &stored,
            Some((Status::Down, midnight + 4 * HOUR_MS)),
            now,
            2,
        );
        assert_eq!(report.days.len(), 2);
        assert_eq!(
            report.days[0].summary.availability, None,
            "before it existed"
        );
        let today = &report.days[1].summary;
        assert_eq!(today.seconds["up"], 3.0 * 3600.0);
        assert_eq!(today.seconds["down"], 3600.0);
        assert_eq!(today.availability, Some(0.75));
        assert_eq!(today.share["maintenance"], 0.2);
        assert_eq!(report.total, *today);
        assert_eq!(report.last_24h.availability, Some(0.75));
    }
}
