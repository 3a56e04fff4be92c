//! *Charts*: the pictures students paste into their coursework.
//!
//! Every chart is drawn with plotters, as SVG (the default) or PNG. Text uses the DejaVu Sans
//! font bundled in `assets/`, registered once, so no system font is needed (the PNG backend
//! rasterises it itself) and the same data always gives the same bytes. Colours come from the Okabe–Ito palette, which stays distinguishable for the
//! common forms of colour blindness.
//!
//! This is the only module that imports plotters. It draws from plain numbers the report
//! computed; tests snapshot those numbers, not the pixels.

use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{SegmentValue, SegmentedCoord};
use plotters::coord::types::{RangedCoordf64, RangedCoordusize};
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::series::TimeSeries;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The Okabe–Ito colour-blind-safe palette (blue, orange, green, vermillion, sky blue,
/// reddish purple, yellow, black).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xF0, 0xE4, 0x42),
    RGBColor(0x00, 0x00, 0x00),
];

/// The file format of the charts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChartFormat {
    /// Scalable vector graphics: sharp at any size, text stays text. The default.
    #[default]
    Svg,
    /// A PNG bitmap, 800 × 480 pixels, for tools that do not take SVG.
    Png,
}

impl ChartFormat {
    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ChartFormat::Svg => "svg",
            ChartFormat::Png => "png",
        }
    }
}

/// The bundled font.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// Registers the bundled font once per process.
static REGISTER: Once = Once::new();

/// Makes the bundled font the `sans-serif` family.
fn register_font() {
    REGISTER.call_once(|| {
        // The bytes are a valid TrueType font shipped with the crate.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// One bar of the load chart.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadBar {
    /// Server name.
    pub server: String,
    /// Requests it served.
    pub served: u64,
    /// Its share of all served requests, 0–1.
    pub share: f64,
    /// The share its weight entitles it to, 0–1 (equal shares when there is no balancer).
    pub ideal: f64,
}

/// `load.svg`: requests served per server, with each share in % and the ideal share marked.
pub fn load_chart(format: ChartFormat, title: &str, bars: &[LoadBar]) -> Result<Vec<u8>, String> {
    render(format, &LoadFigure { title, bars }).map_err(|e| format!("cannot draw load chart: {e}"))
}

/// The load chart's data.
struct LoadFigure<'a> {
    title: &'a str,
    bars: &'a [LoadBar],
}

impl Figure for LoadFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(text)?;
        let top = self.top();
        let mut chart = self.axes(&root, top)?;
        self.draw_served(&mut chart)?;
        self.draw_ideal(&mut chart)?;
        self.draw_counts(&mut chart, top)?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

impl LoadFigure<'_> {
    /// The top of the share axis, in %: the tallest bar or ideal mark, with head room.
    fn top(&self) -> f64 {
        self.bars
            .iter()
            .map(|b| b.share.max(b.ideal))
            .fold(0.0, f64::max)
            .max(0.1)
            * 100.0
            // Head room, so the legend never covers the tallest bar's label.
            * 1.4
    }

    /// The title, the axes up to `top` % and the grid, each bar's segment named after its
    /// server.
    fn axes<'a, DB: DrawingBackend>(
        &self,
        root: &'a DrawingArea<DB, Shift>,
        top: f64,
    ) -> Result<BarChart<'a, DB>, String> {
        let n = self.bars.len().max(1);
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            // A segmented range `0..k` has k + 1 segments, one per bar.
            .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..top)
            .map_err(text)?;
        let labels: Vec<String> = self.bars.iter().map(|b| b.server.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("server")
            .y_desc("share of requests served (%)")
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                    labels.get(*i).cloned().unwrap_or_default()
                }
                SegmentValue::Last => String::new(),
            })
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(text)?;
        Ok(chart)
    }

    /// One filled bar per server, as tall as its share: the legend's "served".
    fn draw_served<DB: DrawingBackend>(&self, chart: &mut BarChart<'_, DB>) -> Result<(), String> {
        chart
            .draw_series(self.bars.iter().enumerate().map(|(i, b)| {
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), b.share * 100.0),
                    ],
                    PALETTE[0].filled(),
                );
                bar.set_margin(0, 0, 18, 18);
                bar
            }))
            .map_err(text)?
            .label("served")
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], PALETTE[0].filled()));
        Ok(())
    }

    /// A thick line across each bar's segment at the share its weight entitles it to.
    fn draw_ideal<DB: DrawingBackend>(&self, chart: &mut BarChart<'_, DB>) -> Result<(), String> {
        chart
            .draw_series(self.bars.iter().enumerate().map(|(i, b)| {
                PathElement::new(
                    vec![
                        (SegmentValue::Exact(i), b.ideal * 100.0),
                        (SegmentValue::Exact(i + 1), b.ideal * 100.0),
                    ],
                    PALETTE[1].stroke_width(4),
                )
            }))
            .map_err(text)?
            .label("ideal share for its weight")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], PALETTE[1].stroke_width(4))
            });
        Ok(())
    }

    /// Above each bar (or its ideal mark, if higher): the requests it served and its share.
    fn draw_counts<DB: DrawingBackend>(
        &self,
        chart: &mut BarChart<'_, DB>,
        top: f64,
    ) -> Result<(), String> {
        chart
            .draw_series(self.bars.iter().enumerate().map(|(i, b)| {
                Text::new(
                    format!("{} ({:.1}%)", b.served, b.share * 100.0),
                    (
                        SegmentValue::CenterOf(i),
                        b.share.max(b.ideal) * 100.0 + top * 0.02,
                    ),
                    ("sans-serif", 14)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                )
            }))
            .map_err(text)?;
        Ok(())
    }
}

/// Chart size in pixels: legible at A4 page width.
const SIZE: (u32, u32) = (800, 480);

/// A chart's picture, drawn the same way on any plotters backend.
trait Figure {
    /// Draws the whole chart on `root`.
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// A chart with numbers on both axes: the over-time, latency and grouped bar charts.
type PlainChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The load chart's drawing area: one segment per server across, a share in % up.
type BarChart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<SegmentedCoord<RangedCoordusize>, RangedCoordf64>>;

/// Draws `figure` into a fresh file's bytes in `format`.
fn render(format: ChartFormat, figure: &impl Figure) -> Result<Vec<u8>, String> {
    register_font();
    match format {
        ChartFormat::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
                figure.draw(root.clone())?;
                root.present().map_err(text)?;
            }
            Ok(svg.into_bytes())
        }
        ChartFormat::Png => {
            let (width, height) = SIZE;
            let mut rgb = vec![0u8; width as usize * height as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
                figure.draw(root.clone())?;
                root.present().map_err(text)?;
            }
            encode_png(&rgb, width, height)
        }
    }
}

/// Encodes 8-bit RGB pixels as a PNG file. The encoder's settings are fixed, so the same
/// pixels always give the same bytes.
fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(text)?;
    writer.write_image_data(rgb).map_err(text)?;
    writer.finish().map_err(text)?;
    Ok(bytes)
}

/// Draws the legend box of `chart`'s labelled series at `position`, the same in every chart.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(text)
}

/// Turns any displayable error into text.
fn text<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// How many marker rows and columns fit in the list under an over-time chart.
const MARKER_ROWS: usize = 9;
/// Columns of the marker list.
const MARKER_COLUMNS: usize = 3;
/// Height of one line of the marker list, in pixels.
const MARKER_LINE: u32 = 14;

/// Draws event markers (faults, state changes) as dashed vertical lines, each numbered above
/// the plot on `numbers_on` (the area holding the chart); the numbers step up a row when they would touch their neighbour, so none
/// overlap. The list of what each number is goes under the chart ([`draw_marker_list`]).
fn draw_markers<DB: DrawingBackend>(
    chart: &mut PlainChart<'_, DB>,
    markers: &[(f64, String)],
    top: f64,
    numbers_on: Option<&DrawingArea<DB, Shift>>,
) -> Result<(), String> {
    let grey = RGBColor(0x66, 0x66, 0x66);
    let mut last_x = [i32::MIN / 2; 4];
    for (i, (at, _)) in markers.iter().enumerate() {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(*at, 0.0), (*at, top)],
                6,
                4,
                grey.stroke_width(1),
            ))
            .map_err(text)?;
        let Some(canvas) = numbers_on else {
            continue;
        };
        let (x, y) = chart.backend_coord(&(*at, top));
        let label = (i + 1).to_string();
        let width = 7 * label.len() as i32 + 4;
        // The lowest row with room; when none has, the row that ends first, the number moved
        // right of its neighbour: never on top of another.
        let row = (0..last_x.len())
            .find(|&r| x - last_x[r] >= width)
            .unwrap_or_else(|| (0..last_x.len()).min_by_key(|&r| last_x[r]).unwrap_or(0));
        let x = x.max(last_x[row] + width);
        last_x[row] = x;
        let (x0, y0) = canvas.get_base_pixel();
        canvas
            .draw(&Text::new(
                label,
                (x - x0, y - y0 - 4 - 12 * row as i32),
                ("sans-serif", 11)
                    .into_font()
                    .color(&RGBColor(0x33, 0x33, 0x33))
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            ))
            .map_err(text)?;
    }
    Ok(())
}

/// The marker list under an over-time chart: `N  time s  what`, in columns; markers beyond
/// what fits are counted, and all are in `events.csv`.
fn draw_marker_list<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    markers: &[(f64, String)],
) -> Result<(), String> {
    let fits = MARKER_ROWS * MARKER_COLUMNS;
    let shown = if markers.len() > fits {
        fits - 1
    } else {
        markers.len()
    };
    let column_width = (SIZE.0 as i32 - 32) / MARKER_COLUMNS as i32;
    let style = ("sans-serif", 11)
        .into_font()
        .color(&RGBColor(0x33, 0x33, 0x33));
    let rows = shown.div_ceil(MARKER_COLUMNS).max(1);
    let mut lines: Vec<String> = markers[..shown]
        .iter()
        .enumerate()
        .map(|(i, (at, label))| format!("{}  {at:.3} s  {label}", i + 1))
        .collect();
    if shown < markers.len() {
        lines.push(format!("... {} more: events.csv", markers.len() - shown));
    }
    for (i, line) in lines.iter().enumerate() {
        let (column, row) = (i / rows, i % rows);
        let x = 16 + column as i32 * column_width;
        let y = 4 + row as i32 * MARKER_LINE as i32;
        // A label longer than its column is cut, so columns never run into each other.
        let max_chars = (column_width / 6).max(8) as usize;
        let cut: String = if line.chars().count() > max_chars {
            line.chars().take(max_chars - 1).chain(['…']).collect()
        } else {
            line.clone()
        };
        area.draw(&Text::new(cut, (x, y), style.clone()))
            .map_err(text)?;
    }
    Ok(())
}

/// The height under an over-time chart that its marker list needs.
fn marker_list_height(markers: usize) -> u32 {
    if markers == 0 {
        return 0;
    }
    let rows = markers
        .min(MARKER_ROWS * MARKER_COLUMNS)
        .div_ceil(MARKER_COLUMNS) as u32;
    8 + rows * MARKER_LINE
}

/// Each bin as a step: a flat line across the whole bin, so a count is drawn over the time it
/// counts (not as a point at the bin's start, which made failures seem to begin a bin early).
fn steps(starts: &[f64], bin: f64, values: &[f64]) -> Vec<(f64, f64)> {
    starts
        .iter()
        .zip(values)
        .flat_map(|(&start, &v)| [(start, v), (start + bin, v)])
        .collect()
}

/// A line chart over the run's time bins: one line per `(label, values, colour)`, with the
/// event markers numbered and listed under it. Both over-time charts are this chart with
/// different lines (the load chart, when there are few servers).
fn time_lines_chart(
    format: ChartFormat,
    title: &str,
    y_desc: &str,
    series: &TimeSeries,
    lines: &[(String, &[f64], RGBColor)],
) -> Result<Vec<u8>, String> {
    render(
        format,
        &TimeLinesFigure {
            title,
            y_desc,
            series,
            lines,
        },
    )
}

/// An over-time chart's data.
struct TimeLinesFigure<'a> {
    title: &'a str,
    y_desc: &'a str,
    series: &'a TimeSeries,
    lines: &'a [(String, &'a [f64], RGBColor)],
}

impl Figure for TimeLinesFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String> {
        let TimeLinesFigure {
            title,
            y_desc,
            series,
            lines,
        } = *self;
        root.fill(&WHITE).map_err(text)?;
        let list_height = marker_list_height(series.markers.len());
        let (upper, lower) = root.split_vertically(SIZE.1 - list_height);
        let bin = series.bin.as_secs_f64();
        let end = series.starts_s.last().copied().unwrap_or(0.0) + bin;
        let top = lines
            .iter()
            .flat_map(|(_, values, _)| values.iter().copied())
            .fold(1.0, f64::max)
            * 1.25;
        let titled = upper.titled(title, ("sans-serif", 22)).map_err(text)?;
        let mut chart = ChartBuilder::on(&titled)
            .margin(16)
            // Room above the plot for the markers' numbers.
            .margin_top(if series.markers.is_empty() { 8 } else { 52 })
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..end, 0.0..top)
            .map_err(text)?;
        chart
            .configure_mesh()
            .x_desc("time (s), by request start; each step is one bin")
            .y_desc(y_desc)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(text)?;
        for (label, values, colour) in lines {
            let colour = *colour;
            chart
                .draw_series(LineSeries::new(
                    steps(&series.starts_s, bin, values),
                    colour.stroke_width(2),
                ))
                .map_err(text)?
                .label(label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
                });
        }
        draw_markers(&mut chart, &series.markers, top, Some(&upper))?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        draw_marker_list(&lower, &series.markers)?;
        Ok(())
    }
}

/// `outcomes-over-time.svg`: successful and failed requests per second, with event markers.
pub fn outcomes_over_time_chart(
    format: ChartFormat,
    title: &str,
    series: &TimeSeries,
) -> Result<Vec<u8>, String> {
    time_lines_chart(
        format,
        title,
        "requests per second",
        series,
        &[
            ("ok".to_string(), &series.ok_per_s, PALETTE[2]),
            ("failed".to_string(), &series.failed_per_s, PALETTE[3]),
        ],
    )
}

/// Servers up to which `load-over-time` draws one line each in one chart; with more, lines
/// would repeat colours and hide each other, so each server gets its own small panel.
pub const FACET_ABOVE: usize = 4;

/// `load-over-time.svg`: responses per second from each server, with event markers; small
/// multiples (a panel per server, one scale) when there are more than [`FACET_ABOVE`].
pub fn load_over_time_chart(
    format: ChartFormat,
    title: &str,
    series: &TimeSeries,
    servers: &[String],
) -> Result<Vec<u8>, String> {
    if servers.len() > FACET_ABOVE {
        return render(
            format,
            &FacetsFigure {
                title,
                series,
                servers,
            },
        );
    }
    let lines: Vec<(String, &[f64], RGBColor)> = series
        .served_per_s
        .iter()
        .zip(servers)
        .enumerate()
        .map(|(i, (values, name))| (name.clone(), values.as_slice(), PALETTE[i % PALETTE.len()]))
        .collect();
    time_lines_chart(format, title, "responses per second", series, &lines)
}

/// Small multiples of the load over time: one panel per server.
struct FacetsFigure<'a> {
    title: &'a str,
    series: &'a TimeSeries,
    servers: &'a [String],
}

impl Figure for FacetsFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String> {
        let FacetsFigure {
            title,
            series,
            servers,
        } = *self;
        root.fill(&WHITE).map_err(text)?;
        let root = root.titled(title, ("sans-serif", 22)).map_err(text)?;
        let (body, foot) = root.split_vertically(root.dim_in_pixel().1 - 22);
        foot.draw(&Text::new(
            "responses per second by request start, one panel per server, same scale; \
             dashed: faults on that server",
            (16, 4),
            ("sans-serif", 13).into_font().color(&BLACK),
        ))
        .map_err(text)?;
        let columns = if servers.len() <= 6 { 2 } else { 3 };
        let rows = servers.len().div_ceil(columns);
        let bin = series.bin.as_secs_f64();
        let end = series.starts_s.last().copied().unwrap_or(0.0) + bin;
        let top = series
            .served_per_s
            .iter()
            .flatten()
            .copied()
            .fold(1.0, f64::max)
            * 1.15;
        let panels = body.split_evenly((rows, columns));
        for ((panel, name), values) in panels.iter().zip(servers).zip(&series.served_per_s) {
            let mut chart = ChartBuilder::on(panel)
                .caption(name, ("sans-serif", 14))
                .margin(6)
                .x_label_area_size(20)
                .y_label_area_size(40)
                .build_cartesian_2d(0.0..end, 0.0..top)
                .map_err(text)?;
            chart
                .configure_mesh()
                .x_labels(5)
                .y_labels(4)
                .label_style(("sans-serif", 11))
                .draw()
                .map_err(text)?;
            chart
                .draw_series(LineSeries::new(
                    steps(&series.starts_s, bin, values),
                    PALETTE[0].stroke_width(1),
                ))
                .map_err(text)?;
            let own: Vec<(f64, String)> = series
                .markers
                .iter()
                .filter(|(_, label)| label.split(' ').next() == Some(name.as_str()))
                .cloned()
                .collect();
            draw_markers(&mut chart, &own, top, None)?;
        }
        Ok(())
    }
}

/// The most points the latency chart's curve is drawn from, whatever the number of requests:
/// at most about 30 KB of SVG. Its vertical step, 1/1,000 of the height, is under a pixel.
pub const LATENCY_POINTS: usize = 1_000;

/// What the latency chart draws: a bounded summary of the sorted latencies, not one point per
/// request.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyCdf {
    /// Points of the cumulative distribution, `(latency in ms, share of requests at most
    /// that fast)`: every request's when there are at most [`LATENCY_POINTS`], else those of
    /// the ranks `⌈j·n/LATENCY_POINTS⌉` and the first. Each is a point of the full curve, and
    /// the full curve between two of them stays within one step's height of the line joining
    /// them (it only goes up and to the right).
    pub points: Vec<(f64, f64)>,
    /// The percentiles marked, exact: `(p, latency in ms)` for p50, p95 and p99.
    pub marks: [(f64, f64); 3],
}

impl LatencyCdf {
    /// The summary of `sorted_ms` (latencies in ms, sorted; not empty).
    pub fn of(sorted_ms: &[f64]) -> LatencyCdf {
        let n = sorted_ms.len();
        let share = |rank: usize| rank as f64 / n.max(1) as f64;
        let ranks: Vec<usize> = if n <= LATENCY_POINTS {
            (1..=n).collect()
        } else {
            std::iter::once(1)
                .chain((1..=LATENCY_POINTS).map(|j| (j * n).div_ceil(LATENCY_POINTS)))
                .collect()
        };
        LatencyCdf {
            points: ranks
                .into_iter()
                .map(|rank| (sorted_ms[rank - 1], share(rank)))
                .collect(),
            marks: [50.0, 95.0, 99.0].map(|p| (p, super::percentile(sorted_ms, p))),
        }
    }
}

/// `latency.svg`: the distribution (CDF) of successful requests' latency, with p50, p95 and
/// p99 marked.
pub fn latency_chart(
    format: ChartFormat,
    title: &str,
    cdf: &LatencyCdf,
) -> Result<Vec<u8>, String> {
    render(format, &LatencyFigure { title, cdf })
}

/// The latency chart's data.
struct LatencyFigure<'a> {
    title: &'a str,
    cdf: &'a LatencyCdf,
}

impl Figure for LatencyFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String> {
        let LatencyFigure { title, cdf } = *self;
        root.fill(&WHITE).map_err(text)?;
        let right = cdf.points.last().map_or(1.0, |&(ms, _)| ms).max(0.001) * 1.05;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..right, 0.0..1.05)
            .map_err(text)?;
        chart
            .configure_mesh()
            .x_desc("latency of successful requests (ms)")
            .y_desc("fraction of requests at most this fast")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(text)?;
        chart
            .draw_series(LineSeries::new(
                cdf.points.iter().copied(),
                PALETTE[0].stroke_width(2),
            ))
            .map_err(text)?
            .label("cumulative share")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], PALETTE[0].stroke_width(2))
            });
        for ((p, value), colour) in cdf
            .marks
            .into_iter()
            .zip([PALETTE[2], PALETTE[1], PALETTE[3]])
        {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(value, 0.0), (value, 1.0)],
                    6,
                    4,
                    colour.stroke_width(2),
                ))
                .map_err(text)?
                .label(format!("p{p:.0} = {value:.3} ms"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    }
}

/// One series of a grouped bar chart: its name and, per group, (mean, min, max).
pub type BarSeries = (String, Vec<(f64, f64, f64)>);

/// A grouped bar chart: for each group (a scheduler, say), one bar per series (a server)
/// showing the mean, with a whisker from min to max (across seeds).
pub fn grouped_bars_chart(
    format: ChartFormat,
    title: &str,
    y_desc: &str,
    groups: &[String],
    series: &[BarSeries],
) -> Result<Vec<u8>, String> {
    render(
        format,
        &GroupedBarsFigure {
            title,
            y_desc,
            groups,
            series,
        },
    )
}

/// A grouped bar chart's data.
struct GroupedBarsFigure<'a> {
    title: &'a str,
    y_desc: &'a str,
    groups: &'a [String],
    series: &'a [BarSeries],
}

impl Figure for GroupedBarsFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(text)?;
        let top = self.top();
        let mut chart = self.axes(&root, top)?;
        let width = 0.8 / self.series.len().max(1) as f64;
        for (index, (name, values)) in self.series.iter().enumerate() {
            let bars = SeriesBars {
                index,
                width,
                colour: PALETTE[index % PALETTE.len()],
            };
            bars.draw_means(&mut chart, name, values)?;
            bars.draw_whiskers(&mut chart, values)?;
        }
        self.draw_group_names(&mut chart, top)?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

impl GroupedBarsFigure<'_> {
    /// The top of the value axis: the highest whisker, with head room.
    fn top(&self) -> f64 {
        self.series
            .iter()
            .flat_map(|(_, values)| values.iter().map(|v| v.2))
            .fold(0.0, f64::max)
            .max(1e-9)
            * 1.2
    }

    /// The title, the axes (one unit across per group, up to `top`) and the grid; the group
    /// names are drawn later, under the bars ([`GroupedBarsFigure::draw_group_names`]).
    fn axes<'a, DB: DrawingBackend>(
        &self,
        root: &'a DrawingArea<DB, Shift>,
        top: f64,
    ) -> Result<PlainChart<'a, DB>, String> {
        let n = self.groups.len().max(1) as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..n, 0.0..top)
            .map_err(text)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .disable_x_axis()
            .y_desc(self.y_desc)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(text)?;
        Ok(chart)
    }

    /// Each group's name, centred under its bars.
    fn draw_group_names<DB: DrawingBackend>(
        &self,
        chart: &mut PlainChart<'_, DB>,
        top: f64,
    ) -> Result<(), String> {
        chart
            .draw_series(self.groups.iter().enumerate().map(|(g, name)| {
                Text::new(
                    name.clone(),
                    (g as f64 + 0.5, -top * 0.04),
                    ("sans-serif", 14)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Center, VPos::Top)),
                )
            }))
            .map_err(text)?;
        Ok(())
    }
}

/// Where one series' bars stand in every group: the series' place among the bars of a group,
/// the width each bar's slot takes, and the series' colour.
struct SeriesBars {
    index: usize,
    width: f64,
    colour: RGBColor,
}

impl SeriesBars {
    /// The left edge of this series' slot in group `g`: the groups' bars fill the middle 80%.
    fn left(&self, g: usize) -> f64 {
        g as f64 + 0.1 + self.index as f64 * self.width
    }

    /// One filled bar per group, as tall as the mean, labelled `name` in the legend.
    fn draw_means<DB: DrawingBackend>(
        &self,
        chart: &mut PlainChart<'_, DB>,
        name: &str,
        values: &[(f64, f64, f64)],
    ) -> Result<(), String> {
        let colour = self.colour;
        chart
            .draw_series(values.iter().enumerate().map(|(g, &(mean, _, _))| {
                Rectangle::new(
                    [(self.left(g), 0.0), (self.left(g) + self.width * 0.9, mean)],
                    colour.filled(),
                )
            }))
            .map_err(text)?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], colour.filled()));
        Ok(())
    }

    /// A black whisker from min to max through the middle of each bar (none when every seed
    /// gave the same value).
    fn draw_whiskers<DB: DrawingBackend>(
        &self,
        chart: &mut PlainChart<'_, DB>,
        values: &[(f64, f64, f64)],
    ) -> Result<(), String> {
        chart
            .draw_series(values.iter().enumerate().filter(|(_, v)| v.2 > v.1).map(
                |(g, &(_, min, max))| {
                    let x = self.left(g) + self.width * 0.45;
                    PathElement::new(vec![(x, min), (x, max)], BLACK.stroke_width(1))
                },
            ))
            .map_err(text)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latency_chart_does_not_grow_with_the_requests() {
        // A long tail, so the curve's last points are far apart.
        let sorted: Vec<f64> = (1..=1_000_000)
            .map(|i| 2.0 + (i as f64 / 1e6).powi(40) * 5_000.0)
            .collect();
        let cdf = LatencyCdf::of(&sorted);
        assert_eq!(cdf.points.len(), LATENCY_POINTS + 1);
        assert_eq!(cdf.points.first(), Some(&(sorted[0], 1e-6)));
        assert_eq!(cdf.points.last(), Some(&(sorted[999_999], 1.0)));
        // Percentiles are exact, not read off the points.
        assert_eq!(
            cdf.marks[1],
            (95.0, crate::report::percentile(&sorted, 95.0))
        );
        let svg = latency_chart(ChartFormat::Svg, "t", &cdf).unwrap();
        assert!(svg.len() < 500_000, "{} bytes", svg.len());
        // A small run keeps every point: its chart is drawn as before.
        let few: Vec<f64> = (1..=300).map(f64::from).collect();
        assert_eq!(LatencyCdf::of(&few).points.len(), 300);
    }

    fn bars() -> Vec<LoadBar> {
        vec![
            LoadBar {
                server: "web1".into(),
                served: 60,
                share: 0.6,
                ideal: 0.5,
            },
            LoadBar {
                server: "web2".into(),
                served: 40,
                share: 0.4,
                ideal: 0.5,
            },
        ]
    }

    fn svg(bytes: Result<Vec<u8>, String>) -> String {
        String::from_utf8(bytes.unwrap()).unwrap()
    }

    #[test]
    fn the_load_chart_is_svg_with_its_labels() {
        let svg = svg(load_chart(ChartFormat::Svg, "load", &bars()));
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("web1") && svg.contains("60 (60.0%)"));
        assert!(svg.contains("share of requests served (%)"));
    }

    #[test]
    fn grouped_bars_label_their_groups_and_series() {
        let svg = svg(grouped_bars_chart(
            ChartFormat::Svg,
            "t",
            "share (%)",
            &["rr".to_string(), "wrr".to_string()],
            &[(
                "web1".to_string(),
                vec![(50.0, 48.0, 52.0), (60.0, 60.0, 60.0)],
            )],
        ));
        assert!(svg.contains("\nrr\n") && svg.contains("\nwrr\n") && svg.contains("web1"));
    }

    #[test]
    fn the_same_data_gives_the_same_bytes() {
        for format in [ChartFormat::Svg, ChartFormat::Png] {
            assert_eq!(
                load_chart(format, "t", &bars()).unwrap(),
                load_chart(format, "t", &bars()).unwrap()
            );
        }
    }

    #[test]
    fn png_charts_are_png_files_with_text_drawn() {
        let png = load_chart(ChartFormat::Png, "load", &bars()).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // The header's size is the chart's.
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), SIZE.0);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), SIZE.1);
        // Without the bundled font, text would be missing and the picture would differ from
        // the same chart with another title.
        let other = load_chart(ChartFormat::Png, "other title", &bars()).unwrap();
        assert_ne!(png, other);
    }
}
