//! The SVG sparkline of the user's recent scores (Me tab).

use std::fmt::Write as _;

/// The drawing area, in SVG user units.
pub const WIDTH: f64 = 120.0;
/// The drawing area's height.
pub const HEIGHT: f64 = 32.0;
const PAD: f64 = 3.0;
/// The SVG `viewBox` for [`WIDTH`] × [`HEIGHT`] (written out: no float formatting).
pub const VIEW_BOX: &str = "0 0 120 32";

/// A sparkline ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Sparkline {
    /// The `points` of the `<polyline>`, oldest score first.
    pub points: String,
    /// The last point (a dot marks it), as SVG numbers (`cx`, `cy`).
    pub last: (String, String),
}

/// A coordinate with one decimal, with integer formatting only (float formatting costs
/// the wasm a lot of code): `3.0`, `117.5`.
fn coord(v: f64) -> String {
    let tenths = (v * 10.0).round().max(0.0) as u64;
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// Lays out `scores` (oldest first) across the area: higher scores higher up. `None`
/// for no scores. One score draws a flat line; equal scores a line across the middle.
pub fn sparkline(scores: &[f64]) -> Option<Sparkline> {
    let scores: Vec<f64> = scores.iter().copied().filter(|s| s.is_finite()).collect();
    if scores.is_empty() {
        return None;
    }
    let lo = scores.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = hi - lo;
    let n = scores.len();
    let x = |i: usize| {
        if n == 1 {
            WIDTH / 2.0
        } else {
            PAD + (WIDTH - 2.0 * PAD) * i as f64 / (n - 1) as f64
        }
    };
    let y = |s: f64| {
        if span == 0.0 {
            HEIGHT / 2.0
        } else {
            PAD + (HEIGHT - 2.0 * PAD) * (hi - s) / span
        }
    };
    let mut points = String::new();
    if n == 1 {
        let _ = write!(points, "{},{} ", coord(PAD), coord(y(scores[0])));
    }
    for (i, s) in scores.iter().enumerate() {
        let _ = write!(points, "{},{} ", coord(x(i)), coord(y(*s)));
    }
    if n == 1 {
        let _ = write!(points, "{},{}", coord(WIDTH - PAD), coord(y(scores[0])));
    }
    let last = (coord(x(n - 1)), coord(y(scores[n - 1])));
    Some(Sparkline {
        points: points.trim_end().to_owned(),
        last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_scores_are_drawn_higher_and_the_line_spans_the_width() {
        let line = sparkline(&[10.0, 30.0, 20.0]).unwrap();
        assert_eq!(line.points, "3.0,29.0 60.0,3.0 117.0,16.0");
        assert_eq!(line.last, ("117.0".into(), "16.0".into()));
    }

    #[test]
    fn the_view_box_is_the_area() {
        assert_eq!(VIEW_BOX, format!("0 0 {WIDTH} {HEIGHT}"));
    }

    #[test]
    fn no_scores_no_line_and_flat_lines_sit_in_the_middle() {
        assert_eq!(sparkline(&[]), None);
        assert_eq!(sparkline(&[f64::NAN]), None);
        let one = sparkline(&[50.0]).unwrap();
        assert_eq!(one.points, "3.0,16.0 60.0,16.0 117.0,16.0");
        let flat = sparkline(&[7.0, 7.0]).unwrap();
        assert_eq!(flat.points, "3.0,16.0 117.0,16.0");
    }
}
