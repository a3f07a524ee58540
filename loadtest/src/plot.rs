//! Draws a run's timeline as one SVG: latency percentiles over time above,
//! throughput below, titled with the scenario and its parameters.
//!
//! Text goes into the SVG as `<text>` elements for the viewer to render; no font
//! is read here, so label widths are estimates.

use std::path::Path;

use anyhow::Context;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::Report;
use crate::report::Percentiles;
use crate::timeline::Point;

/// The picture's size in pixels.
pub const SIZE: (u32, u32) = (1200, 800);

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
/// Picks one percentile, in ms.
type Percentile = fn(&Percentiles) -> f64;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

const FONT: &str = "sans-serif";
const P50: RGBColor = RGBColor(31, 119, 180);
const P99: RGBColor = RGBColor(255, 127, 14);
const P999: RGBColor = RGBColor(214, 39, 40);
const EVENTS: RGBColor = RGBColor(44, 160, 44);

/// Writes [`svg`] of `report` to `path`.
pub fn write(path: &Path, report: &Report) -> anyhow::Result<()> {
    let svg = svg(report)?;
    std::fs::write(path, svg).with_context(|| format!("cannot write the plot {}", path.display()))
}

/// The SVG of `report`'s timeline: latency p50 / p99 / p99.9 per bucket in ms,
/// and events per second, over seconds since the run started.
pub fn svg(report: &Report) -> anyhow::Result<String> {
    let mut out = String::new();
    draw(
        report,
        SVGBackend::with_string(&mut out, SIZE).into_drawing_area(),
    )
    .context("cannot draw the plot")?;
    Ok(out)
}

fn draw(report: &Report, root: Area) -> anyhow::Result<()> {
    root.fill(&WHITE)?;
    let body = root.titled(&title(report), (FONT, 30))?;
    let (_, height) = body.dim_in_pixel();
    let (upper, lower) = body.split_vertically(height / 2);
    let points = &report.timeline;
    let x_end = points
        .last()
        .map_or(1.0, |last| last.t_s + last.width_s)
        .max(1e-3);
    latency_panel(&upper, points, x_end, latency_kind(&report.scenario))?;
    throughput_panel(&lower, points, x_end)?;
    root.present()?;
    Ok(())
}

/// "fillstack-loadtest fanout: messages=500, subscribers=50, …" (null params left
/// out), "fanout on 3 hubs: …" for a run spread over several.
fn title(report: &Report) -> String {
    let params = match &report.params {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(key, value)| match value {
                serde_json::Value::String(text) => format!("{key}={text}"),
                other => format!("{key}={other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let hubs = match report.hubs.len() {
        0 | 1 => String::new(),
        n => format!(" on {n} hubs"),
    };
    format!("fillstack-loadtest {}{hubs}: {params}", report.scenario)
}

/// What the scenario's latency measures (as `Report::latency` says).
fn latency_kind(scenario: &str) -> &'static str {
    if scenario == "publish" {
        "publish-to-ack"
    } else {
        "publish-to-receipt"
    }
}

fn latency_panel(area: &Area, points: &[Point], x_end: f64, kind: &str) -> anyhow::Result<()> {
    let caption = format!("{kind} latency per {} bucket", bucket_width(points));
    if points.iter().all(|point| point.latency.count == 0) {
        return empty_panel(area, &caption, "no latency samples in this run");
    }
    let y_end = points
        .iter()
        .map(|point| point.latency.p999_ms)
        .fold(0.0, f64::max)
        .max(0.01)
        * 1.1;
    let mut chart = chart(area, &caption, (x_end, y_end), "latency (ms)", &|ms| {
        decimal(*ms)
    })?;
    let lines: [(&str, RGBColor, Percentile); 3] = [
        ("p50", P50, |p| p.p50_ms),
        ("p99", P99, |p| p.p99_ms),
        ("p99.9", P999, |p| p.p999_ms),
    ];
    for (name, color, value) in lines {
        // A bucket without samples breaks the line rather than bridging it.
        let runs = points.split(|point| point.latency.count == 0);
        for (n, run) in runs.filter(|run| !run.is_empty()).enumerate() {
            let line = run
                .iter()
                .map(|point| (middle(point), value(&point.latency)));
            // A run of one bucket is a dot: a one-point line draws nothing.
            let dot = if run.len() == 1 { 2 } else { 0 };
            let series =
                chart.draw_series(LineSeries::new(line, color.stroke_width(2)).point_size(dot))?;
            if n == 0 {
                series.label(name).legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 24, y)], color.stroke_width(2))
                });
            }
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 18))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn throughput_panel(area: &Area, points: &[Point], x_end: f64) -> anyhow::Result<()> {
    let caption = format!(
        "throughput per {} bucket (acks, frames read, connections)",
        bucket_width(points)
    );
    if points.iter().all(|point| point.events == 0) {
        return empty_panel(area, &caption, "no events recorded in this run");
    }
    let y_end = points
        .iter()
        .map(|point| point.events_per_s)
        .fold(0.0, f64::max)
        * 1.1;
    let mut chart = chart(area, &caption, (x_end, y_end), "events/s", &|n| short(*n))?;
    let line = points
        .iter()
        .map(|point| (middle(point), point.events_per_s));
    chart.draw_series(LineSeries::new(line, EVENTS.stroke_width(2)))?;
    Ok(())
}

/// Axes from 0 to `end`, seconds across, with a caption and light grid lines.
fn chart<'a, 'b>(
    area: &'a Area<'b>,
    caption: &str,
    end: (f64, f64),
    y_desc: &str,
    y_format: &dyn Fn(&f64) -> String,
) -> anyhow::Result<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 22))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..end.0, 0.0..end.1)?;
    chart
        .configure_mesh()
        .x_desc("time since start (s)")
        .y_desc(y_desc)
        .y_label_formatter(y_format)
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .bold_line_style(BLACK.mix(0.15))
        .light_line_style(BLACK.mix(0.04))
        .draw()?;
    Ok(chart)
}

/// A panel with its caption and a line saying why there is no chart.
fn empty_panel(area: &Area, caption: &str, message: &str) -> anyhow::Result<()> {
    let body = area.titled(caption, (FONT, 22))?;
    let (width, height) = body.dim_in_pixel();
    let grey = BLACK.mix(0.6);
    let style = TextStyle::from((FONT, 22).into_font())
        .color(&grey)
        .pos(Pos::new(HPos::Center, VPos::Center));
    let center = (
        i32::try_from(width / 2).unwrap_or(0),
        i32::try_from(height / 2).unwrap_or(0),
    );
    body.draw_text(message, &style, center)?;
    Ok(())
}

/// The middle of a bucket, seconds.
fn middle(point: &Point) -> f64 {
    point.t_s + point.width_s / 2.0
}

/// "250 ms": the widest bucket (the last one may be cut short).
fn bucket_width(points: &[Point]) -> String {
    let widest = points.iter().map(|point| point.width_s).fold(0.0, f64::max);
    let width = if widest > 0.0 {
        widest
    } else {
        crate::timeline::BUCKET.as_secs_f64()
    };
    if width < 1.0 {
        format!("{} ms", decimal(width * 1000.0))
    } else {
        format!("{} s", decimal(width))
    }
}

/// 1500 → "1.5k", 2000000 → "2M".
fn short(value: f64) -> String {
    match value.abs() {
        v if v >= 1e6 => format!("{}M", decimal(value / 1e6)),
        v if v >= 1e3 => format!("{}k", decimal(value / 1e3)),
        _ => decimal(value),
    }
}

/// At most three decimals, without trailing zeros: 0.25 → "0.25", 90.0 → "90".
fn decimal(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fanout-like report over `points`.
    fn report(points: Vec<Point>) -> Report {
        Report {
            scenario: "fanout".into(),
            params: serde_json::json!({"subscribers": 50, "messages": 500, "rate": null}),
            timeline: points,
            ..Report::default()
        }
    }

    /// Bucket `index` of 250 ms with `events`, and as many latency samples around
    /// `p50_ms` (none if it is 0).
    fn point(index: u32, events: u64, p50_ms: f64) -> Point {
        Point {
            t_s: f64::from(index) * 0.25,
            width_s: 0.25,
            events,
            events_per_s: events as f64 * 4.0,
            latency: Percentiles {
                count: if p50_ms > 0.0 { events } else { 0 },
                p50_ms,
                p99_ms: p50_ms * 3.0,
                p999_ms: p50_ms * 4.0,
                max_ms: p50_ms * 5.0,
            },
        }
    }

    /// Whether `svg` has a `<text>` element saying exactly `text`.
    fn has_text(svg: &str, text: &str) -> bool {
        svg.contains(&format!(">\n{text}\n</text>"))
    }

    /// The `<polyline>` elements drawn in `color` with the series' stroke width.
    fn lines_in(svg: &str, color: RGBColor) -> usize {
        let stroke = format!(
            r##"stroke="#{:02X}{:02X}{:02X}" stroke-width="2""##,
            color.0, color.1, color.2
        );
        svg.lines()
            .filter(|line| line.starts_with("<polyline") && line.contains(&stroke))
            .count()
    }

    #[test]
    fn a_run_draws_a_titled_line_per_percentile_and_one_for_throughput() {
        // No latency while connecting (buckets 0..3), then deliveries with latency.
        let points = (0..20)
            .map(|i| point(i, 1000 + u64::from(i), if i < 3 { 0.0 } else { 2.0 }))
            .collect();
        let svg = svg(&report(points)).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(
            svg.contains("fillstack-loadtest fanout: ")
                && svg.contains("messages=500")
                && svg.contains("subscribers=50"),
            "the title names the scenario and its params"
        );
        assert!(!svg.contains("rate="), "null params are left out");
        let texts = [
            "p50",
            "p99",
            "p99.9",
            "latency (ms)",
            "events/s",
            "time since start (s)",
            "publish-to-receipt latency per 250 ms bucket",
        ];
        for text in texts {
            assert!(has_text(&svg, text), "{text} is missing");
        }
        // One line per series, plus each legend sample.
        for color in [P50, P99, P999] {
            assert_eq!(lines_in(&svg, color), 2, "{color:?}");
        }
        assert_eq!(lines_in(&svg, EVENTS), 1);
        assert!(!svg.contains("no latency samples"));
    }

    #[test]
    fn a_bucket_without_samples_breaks_the_latency_lines() {
        let points = (0..10)
            .map(|i| point(i, 10, if i == 5 { 0.0 } else { 1.0 }))
            .collect();
        let svg = svg(&report(points)).unwrap();
        assert_eq!(lines_in(&svg, P50), 3, "two runs and the legend");
        assert_eq!(lines_in(&svg, EVENTS), 1, "throughput is not broken");
    }

    #[test]
    fn without_latency_samples_the_panel_says_so() {
        let mut idle = report((0..8).map(|i| point(i, 100, 0.0)).collect());
        idle.scenario = "idle".into();
        let svg = svg(&idle).unwrap();
        assert!(svg.contains("no latency samples in this run"));
        assert!(!has_text(&svg, "p50"));
        assert_eq!(lines_in(&svg, P50), 0);
        assert_eq!(lines_in(&svg, EVENTS), 1);
        let svg = super::svg(&report(Vec::new())).unwrap();
        assert!(svg.contains("no latency samples in this run"));
        assert!(svg.contains("no events recorded in this run"));
    }

    #[test]
    fn a_run_over_several_hubs_says_how_many_in_its_title() {
        let mut run = report(Vec::new());
        run.hubs = vec!["ws://127.0.0.1:1/ws".into()];
        assert_eq!(
            title(&run),
            "fillstack-loadtest fanout: messages=500, subscribers=50"
        );
        run.hubs.push("ws://127.0.0.1:2/ws".into());
        run.hubs.push("ws://127.0.0.1:3/ws".into());
        assert_eq!(
            title(&run),
            "fillstack-loadtest fanout on 3 hubs: messages=500, subscribers=50"
        );
    }

    #[test]
    fn publish_latency_is_labelled_as_publish_to_ack() {
        let mut publish = report(vec![point(0, 5, 1.0), point(1, 5, 1.0)]);
        publish.scenario = "publish".into();
        assert!(svg(&publish).unwrap().contains("publish-to-ack latency"));
    }

    #[test]
    fn write_creates_the_file_or_names_the_path_it_could_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.svg");
        write(&path, &report(vec![point(0, 5, 1.0)])).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg") && has_text(&svg, "p50"));
        let missing = dir.path().join("no/such/dir/run.svg");
        let error = write(&missing, &report(Vec::new())).unwrap_err();
        assert!(
            format!("{error:#}").contains(&missing.display().to_string()),
            "{error:#}"
        );
    }

    #[test]
    fn axis_numbers_are_short() {
        assert_eq!(short(0.0), "0");
        assert_eq!(short(500.0), "500");
        assert_eq!(short(4500.0), "4.5k");
        assert_eq!(short(2_000_000.0), "2M");
        assert_eq!(decimal(0.30000000000000004), "0.3");
        assert_eq!(decimal(90.0), "90");
    }
}
