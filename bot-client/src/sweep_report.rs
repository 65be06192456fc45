//! Turns the figures of a benchmark sweep (one [`BenchFigures`] per client count) into the
//! Markdown table and SVG plot that go into `docs/`, so the published numbers are generated
//! from the runs rather than copied by hand.
//!
//! The plot uses plotters' SVG backend without its `ttf` feature: text becomes plain `<text>`
//! elements laid out by an estimate, so no font files or system font libraries are needed.

use crate::BenchFigures;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Why a report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum SweepReportError {
    /// A plot needs at least one run to place points and scale axes.
    #[error("no benchmark runs to plot")]
    NoRuns,
    /// plotters failed while drawing; its error type is not exposed so the API does not
    /// depend on the plotters version.
    #[error("plotting the sweep failed: {0}")]
    Plot(String),
    /// Creating the output directory or writing a report file failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The directory or file being written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The table header: units live in the header so the cells stay plain numbers.
const TABLE_HEADER: &str = "| clients | achieved Hz | tick p50 (ms) | tick p99 (ms) | bytes/patch \
     | B/client/s | join B | server CPU % | CPU µs/client/tick | RSS KiB/client \
     | latency p50 (ms) | latency p99 (ms) | desyncs |\n\
     |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";

/// Markdown table, one row per run sorted by clients, columns: clients, achieved Hz,
/// tick ms p50/p99, bytes/patch, B/client/s, join B, server CPU %, CPU µs/client/tick,
/// RSS KiB/client, latency ms p50/p99, desyncs. Empty input gives the header only.
pub fn markdown_table(runs: &[BenchFigures]) -> String {
    let mut table = String::from(TABLE_HEADER);
    for run in sorted_by_clients(runs) {
        // Writing to a String cannot fail.
        let _ = writeln!(
            table,
            "| {} | {:.2} | {:.3} | {:.3} | {:.1} | {:.0} | {:.0} | {:.1} | {:.2} | {:.1} | {:.2} | {:.2} | {} |",
            run.clients,
            run.achieved_hz,
            run.tick_ms_p50,
            run.tick_ms_p99,
            run.patch_bytes_avg,
            run.down_bytes_per_client_per_sec,
            run.join_bytes,
            run.server_cpu_pct,
            run.server_cpu_us_per_client_tick,
            run.rss_kb_per_client,
            run.latency_ms_p50,
            run.latency_ms_p99,
            run.desyncs,
        );
    }
    table
}

/// Plot size in pixels: four panels stacked, each wide enough for a readable x axis.
const PLOT_SIZE: (u32, u32) = (800, 1240);
const HZ_COLOR: RGBColor = RGBColor(31, 119, 180);
const TARGET_COLOR: RGBColor = RGBColor(120, 120, 120);
const CPU_COLOR: RGBColor = RGBColor(214, 39, 40);
const BYTES_COLOR: RGBColor = RGBColor(44, 160, 44);
const DOWN_COLOR: RGBColor = RGBColor(148, 103, 189);

/// An SVG with four charts stacked over a shared "clients" x axis: achieved Hz (with a
/// dashed reference line at `tick_hz`), server CPU µs per client per tick, bytes per patch,
/// and bytes down per client per second. Errors on empty input, since there is nothing to scale the axes to.
pub fn svg_plot(runs: &[BenchFigures]) -> Result<String, SweepReportError> {
    if runs.is_empty() {
        return Err(SweepReportError::NoRuns);
    }
    let runs = sorted_by_clients(runs);
    let x_max = runs.last().map_or(0, |run| run.clients) as f64;
    // Start at zero so the spacing of client counts reads true; pad so end markers are not
    // clipped, and keep a non-empty range for a single run at zero clients.
    let x_range = 0.0..(x_max * 1.05).max(1.0);
    let series = |value: fn(&BenchFigures) -> f64| -> Vec<(f64, f64)> {
        runs.iter()
            .map(|run| (run.clients as f64, value(run)))
            .filter(|(_, y)| y.is_finite())
            .collect()
    };
    // The target line spans the whole x range; it follows the runs' tick_hz should they differ.
    let mut target = series(|run| run.tick_hz);
    if let (Some(&(_, first)), Some(&(_, last))) = (target.first(), target.last()) {
        target.insert(0, (x_range.start, first));
        target.push((x_range.end, last));
    }
    let panels = [
        Panel {
            caption: "Achieved snapshot rate",
            y_desc: "achieved rate (Hz)",
            color: HZ_COLOR,
            label: "achieved",
            points: series(|run| run.achieved_hz),
            target: Some(target),
        },
        Panel {
            caption: "Server CPU per client per tick",
            y_desc: "CPU (µs / client / tick)",
            color: CPU_COLOR,
            label: "CPU",
            points: series(|run| run.server_cpu_us_per_client_tick),
            target: None,
        },
        Panel {
            caption: "Average patch size",
            y_desc: "patch size (bytes)",
            color: BYTES_COLOR,
            label: "bytes/patch",
            points: series(|run| run.patch_bytes_avg),
            target: None,
        },
        Panel {
            caption: "Bytes down per client",
            y_desc: "bytes / client / s",
            color: DOWN_COLOR,
            label: "B/client/s",
            points: series(|run| run.down_bytes_per_client_per_sec),
            target: None,
        },
    ];

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, PLOT_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let title = format!("Tickwire sweep: {}", scenario_title(&runs));
        let body = root
            .titled(&title, ("sans-serif", 26))
            .map_err(plot_error)?;
        for (area, panel) in body.split_evenly((panels.len(), 1)).iter().zip(&panels) {
            draw_panel(area, panel, x_range.clone())?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// Writes `<stem>.md` and `<stem>.svg` into `dir` (creating it) and returns their paths.
/// Both are rendered before anything is written, so a failed plot leaves no half report.
pub fn write_report(
    dir: &Path,
    stem: &str,
    runs: &[BenchFigures],
) -> Result<(PathBuf, PathBuf), SweepReportError> {
    let table = markdown_table(runs);
    let svg = svg_plot(runs)?;
    std::fs::create_dir_all(dir).map_err(|source| SweepReportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let md_path = dir.join(format!("{stem}.md"));
    let svg_path = dir.join(format!("{stem}.svg"));
    for (path, contents) in [(&md_path, table), (&svg_path, svg)] {
        std::fs::write(path, contents).map_err(|source| SweepReportError::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok((md_path, svg_path))
}

/// One chart of the stacked plot.
struct Panel {
    caption: &'static str,
    y_desc: &'static str,
    color: RGBColor,
    /// Legend text; only shown when there is a reference line to tell apart.
    label: &'static str,
    points: Vec<(f64, f64)>,
    /// A dashed reference line (the configured tick rate).
    target: Option<Vec<(f64, f64)>>,
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    panel: &Panel,
    x_range: std::ops::Range<f64>,
) -> Result<(), SweepReportError> {
    let y_max = panel
        .points
        .iter()
        .chain(panel.target.iter().flatten())
        .map(|&(_, y)| y)
        .fold(0.0_f64, f64::max);
    // Headroom above the highest point; a flat-zero series still needs a non-empty range.
    let y_range = 0.0..if y_max > 0.0 { y_max * 1.15 } else { 1.0 };
    let decimals = tick_decimals(y_range.end);

    let mut chart = ChartBuilder::on(area)
        .caption(panel.caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, y_range)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("clients")
        .y_desc(panel.y_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.decimals$}"))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        // Major grid lines only: the minor ones clutter panels this small.
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(plot_error)?;

    let style = panel.color.filled().stroke_width(2);
    let drawn = chart
        .draw_series(LineSeries::new(panel.points.iter().copied(), style).point_size(4))
        .map_err(plot_error)?;
    if let Some(target) = &panel.target {
        drawn
            .label(panel.label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
        let dashed = TARGET_COLOR.stroke_width(2);
        chart
            .draw_series(DashedLineSeries::new(target.iter().copied(), 8, 6, dashed))
            .map_err(plot_error)?
            .label("target tick_hz")
            .legend(move |(x, y)| DashedPathElement::new([(x, y), (x + 20, y)], 5, 3, dashed));
        // The rate sits at the target for small sweeps and falls off at the right, so the
        // lower left is the corner least likely to cover a point.
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(plot_error)?;
    }
    Ok(())
}

/// Decimals for tick labels on an axis spanning `span`: plotters places at most ten ticks at
/// 1, 2 or 5 times a power of ten, so a tenth of the span bounds the step from below.
fn tick_decimals(span: f64) -> usize {
    let decimals = (-(span / 10.0).log10()).ceil();
    if decimals.is_finite() {
        decimals.clamp(0.0, 6.0) as usize
    } else {
        0
    }
}

/// The scenario names in the title; a sweep is normally one scenario, so several are listed
/// (first and last only when many, to keep the title on one line).
fn scenario_title(runs: &[&BenchFigures]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for run in runs {
        if !names.contains(&run.scenario.as_str()) {
            names.push(&run.scenario);
        }
    }
    match names.as_slice() {
        [] => String::new(),
        [first, .., last] if names.len() > 3 => {
            format!("{first} … {last} ({} scenarios)", names.len())
        }
        _ => names.join(", "),
    }
}

/// Stable, so runs with equal client counts keep their input order.
fn sorted_by_clients(runs: &[BenchFigures]) -> Vec<&BenchFigures> {
    let mut sorted: Vec<&BenchFigures> = runs.iter().collect();
    sorted.sort_by_key(|run| run.clients);
    sorted
}

fn plot_error(error: impl std::fmt::Display) -> SweepReportError {
    SweepReportError::Plot(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(clients: usize, achieved_hz: f64, cpu_us: f64, patch_bytes: f64) -> BenchFigures {
        BenchFigures {
            scenario: "sweep-test".into(),
            clients,
            tick_hz: 30.0,
            achieved_hz,
            tick_ms_p50: 0.4126,
            tick_ms_p99: 1.25,
            patch_bytes_avg: patch_bytes,
            down_bytes_per_client_per_sec: 4321.4,
            join_bytes: 9876.0,
            server_cpu_pct: 12.34,
            server_cpu_us_per_client_tick: cpu_us,
            server_rss_kb: 20480.0,
            rss_kb_per_client: 48.26,
            latency_ms_p50: 2.346,
            latency_ms_p99: 7.891,
            desyncs: 0,
        }
    }

    fn sweep() -> Vec<BenchFigures> {
        // Deliberately out of order.
        vec![
            run(200, 28.51, 3.456, 812.0),
            run(50, 29.98, 2.104, 240.5),
            run(100, 29.87, 2.5, 431.25),
        ]
    }

    #[test]
    fn table_has_one_row_per_run_sorted_with_values() {
        let table = markdown_table(&sweep());
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2 + 3, "{table}");
        assert!(lines[0].starts_with("| clients | achieved Hz |"));
        assert!(lines[1].starts_with("|---:|"));
        assert!(lines[2].starts_with("| 50 | 29.98 | 0.413 | 1.250 | 240.5 | 4321 | 9876 |"));
        assert!(lines[3].starts_with("| 100 | 29.87 |"));
        assert!(lines[4].starts_with("| 200 | 28.51 |"));
        assert!(lines[4].contains("| 3.46 |"));
        assert!(lines[2].ends_with("| 12.3 | 2.10 | 48.3 | 2.35 | 7.89 | 0 |"));
        let columns = lines[0].matches('|').count();
        assert!(
            lines
                .iter()
                .all(|line| line.matches('|').count() == columns)
        );
    }

    #[test]
    fn table_of_no_runs_is_the_header() {
        assert_eq!(markdown_table(&[]), TABLE_HEADER);
    }

    /// Data series are the only polylines with the series colour (dashes of the target line
    /// are separate grey segments, legend samples are 2-point lines).
    fn data_polylines(svg: &str, color: RGBColor) -> usize {
        let stroke = format!("stroke=\"#{:02X}{:02X}{:02X}\"", color.0, color.1, color.2);
        svg.split("<polyline")
            .skip(1)
            .filter(|element| element.contains(&stroke))
            .filter(|element| {
                let points = element.split("points=\"").nth(1).unwrap_or_default();
                let points = points.split('"').next().unwrap_or_default();
                points.split_whitespace().count() > 2
            })
            .count()
    }

    #[test]
    fn svg_has_titles_axes_and_one_line_per_series() {
        let svg = svg_plot(&sweep()).expect("plot");
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.trim_end().ends_with("</svg>"));
        for text in [
            "Tickwire sweep: sweep-test",
            "clients",
            "achieved rate (Hz)",
            "CPU (µs / client / tick)",
            "patch size (bytes)",
            "bytes / client / s",
            "target tick_hz",
        ] {
            assert!(svg.contains(text), "missing {text:?}");
        }
        for color in [HZ_COLOR, CPU_COLOR, BYTES_COLOR, DOWN_COLOR] {
            assert_eq!(data_polylines(&svg, color), 1, "{color:?}");
        }
        // Three markers per series.
        assert_eq!(svg.matches("<circle").count(), 12);
    }

    #[test]
    fn svg_of_a_single_run_and_of_no_runs() {
        let svg = svg_plot(&[run(0, 0.0, 0.0, 0.0)]).expect("single run at zero");
        assert!(svg.starts_with("<svg"));
        assert!(svg_plot(&[run(64, f64::NAN, f64::INFINITY, 100.0)]).is_ok());
        assert!(matches!(svg_plot(&[]), Err(SweepReportError::NoRuns)));
    }

    #[test]
    fn tick_decimals_follow_the_axis_span() {
        assert_eq!(tick_decimals(5000.0), 0);
        assert_eq!(tick_decimals(34.5), 0);
        assert_eq!(tick_decimals(4.7), 1);
        assert_eq!(tick_decimals(0.9), 2);
        assert_eq!(tick_decimals(0.0), 0);
    }

    #[test]
    fn write_report_writes_both_files() {
        let dir = std::env::temp_dir().join(format!(
            "tickwire-sweep-report-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
        ));
        let nested = dir.join("docs");
        let (md, svg) = write_report(&nested, "sweep", &sweep()).expect("write");
        assert_eq!(md, nested.join("sweep.md"));
        assert_eq!(svg, nested.join("sweep.svg"));
        let md_text = std::fs::read_to_string(&md).expect("read md");
        let svg_text = std::fs::read_to_string(&svg).expect("read svg");
        std::fs::remove_dir_all(&dir).expect("clean up");
        assert_eq!(md_text, markdown_table(&sweep()));
        assert!(svg_text.starts_with("<svg"));
    }

    #[test]
    fn write_report_of_no_runs_writes_nothing() {
        let dir = std::env::temp_dir().join(format!("tickwire-sweep-empty-{}", std::process::id()));
        assert!(matches!(
            write_report(&dir, "sweep", &[]),
            Err(SweepReportError::NoRuns)
        ));
        assert!(!dir.exists());
    }
}
