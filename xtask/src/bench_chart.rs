//! The fan-out chart of `BENCHMARKS.md`: latency against sockets, one line per
//! server and percentile, log-scaled latency (the servers differ by orders of
//! magnitude). SVG through plotters; text is left to the viewer's fonts.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

/// One line of the chart: (sockets, milliseconds) points.
pub struct Series {
    /// Legend text.
    pub name: String,
    /// The points, in socket order.
    pub points: Vec<(f64, f64)>,
}

const COLOURS: [RGBColor; 4] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0x17, 0x4a, 0x7c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x8c, 0x1a, 0x1b),
];

/// Draws `series` into an SVG file at `path`.
pub fn draw(path: &Path, series: &[Series]) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow!("chart: {e}");
    let all = series.iter().flat_map(|s| s.points.iter());
    let x_max = all.clone().map(|p| p.0).fold(1.0, f64::max);
    let y_max = all.clone().map(|p| p.1).fold(1.0, f64::max) * 2.0;
    let y_min = all
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min)
        .clamp(0.01, 1.0)
        / 2.0;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let root = SVGBackend::new(path, (760, 440)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Fan-out: upload to last socket (ms, log scale)",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max * 1.05, (y_min..y_max).log_scale())
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("sockets following the quiz")
        .y_desc("ms")
        .draw()
        .map_err(|e| err(&e))?;
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let style = if i % 2 == 0 {
            colour.stroke_width(2)
        } else {
            colour.stroke_width(1)
        };
        chart
            .draw_series(LineSeries::new(s.points.iter().copied(), style))
            .map_err(|e| err(&e))?
            .label(s.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(s.points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
