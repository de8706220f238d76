//! The report's charts as inline SVG strings, drawn with plotters' SVG backend (text stays
//! `<text>`, so no fonts are needed): lines, box plots, a labelled scatter and a day's trace.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::ops::Range;

/// Width and height of a chart in pixels.
pub const SIZE: (u32, u32) = (900, 360);

/// Distinct series colours (the Tableau 10 palette).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The legend's sample of a line series in colour `c`.
fn legend_line(c: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
}

/// Draws a chart's legend box in the upper left (any plotters chart context).
macro_rules! legend {
    ($chart:expr) => {
        $chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|x| x.to_string())
    };
}

/// The `i`-th series colour.
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A chart frame on `root`: caption, margins and room for the axis labels.
fn frame<'a, 'b>(root: &'a Area<'b>, title: &str) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut b = ChartBuilder::on(root);
    b.caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64);
    b
}

/// A chart with f64 axes.
type XyChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// An x-y chart over `xs` x `ys` with its axes drawn and described.
fn xy_chart<'a, 'b>(
    root: &'a Area<'b>,
    title: &str,
    xs: Range<f64>,
    ys: Range<f64>,
    x_desc: &str,
    y_desc: &str,
) -> Result<XyChart<'a, 'b>, String> {
    let mut chart = frame(root, title)
        .build_cartesian_2d(xs, ys)
        .map_err(|x| x.to_string())?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .light_line_style(WHITE)
        .draw()
        .map_err(|x| x.to_string())?;
    Ok(chart)
}

/// Draws into a fresh SVG string of `SIZE`.
fn svg(draw: impl FnOnce(&Area) -> Result<(), String>) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The range spanned by `values`, padded by 5 % (a unit range around a constant).
pub fn padded(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    if hi - lo < 1e-12 {
        return lo - 0.5..hi + 0.5;
    }
    lo - pad..hi + pad
}

/// A named series of (x, y) points in palette colour `colour` (the same policy keeps its colour
/// from chart to chart).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Palette index.
    pub colour: usize,
    /// Points.
    pub points: Vec<(f64, f64)>,
}

/// Axis numbers without needless decimals.
fn tick(v: &f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A line chart of series.
pub fn lines(title: &str, x_desc: &str, y_desc: &str, series: &[Series]) -> Result<String, String> {
    let xs = padded(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let ys = padded(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    svg(|root| {
        let mut chart = xy_chart(root, title, xs, ys, x_desc, y_desc)?;
        for s in series {
            let c = colour(s.colour);
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), c.stroke_width(2)))
                .map_err(|x| x.to_string())?
                .label(s.name.as_str())
                .legend(legend_line(c));
        }
        legend!(chart)
    })
}

/// Quartiles and 5 / 95 % points of `values` (linear interpolation between order statistics).
pub fn five_numbers(values: &[f64]) -> [f64; 5] {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return [0.0; 5];
    }
    let q = |p: f64| {
        let pos = p * (v.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
    };
    [q(0.05), q(0.25), q(0.5), q(0.75), q(0.95)]
}

/// Box plots, one per named sample: box from the 25 to the 75 % point, a line at the median,
/// whiskers to the 5 and 95 % points, and a dot at the mean.
pub fn boxes(title: &str, y_desc: &str, samples: &[(String, Vec<f64>)]) -> Result<String, String> {
    let stats: Vec<[f64; 5]> = samples.iter().map(|s| five_numbers(&s.1)).collect();
    let ys = padded(stats.iter().flat_map(|s| [s[0], s[4]]));
    let n = samples.len().max(1);
    let names: Vec<String> = samples.iter().map(|s| s.0.clone()).collect();
    svg(|root| {
        let mut chart = frame(root, title)
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, ys)
            .map_err(|x| x.to_string())?;
        chart
            .configure_mesh()
            .y_desc(y_desc)
            .y_label_formatter(&tick)
            .x_labels(n)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .light_line_style(WHITE)
            .draw()
            .map_err(|x| x.to_string())?;
        for (i, (s, (_, values))) in stats.iter().zip(samples).enumerate() {
            let x = i as f64;
            let c = colour(i);
            let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
            let w = 0.3;
            chart
                .draw_series([
                    Rectangle::new([(x - w, s[1]), (x + w, s[3])], c.mix(0.35).filled()),
                    Rectangle::new([(x - w, s[1]), (x + w, s[3])], c.stroke_width(2)),
                ])
                .map_err(|x| x.to_string())?;
            chart
                .draw_series([
                    PathElement::new(vec![(x - w, s[2]), (x + w, s[2])], c.stroke_width(3)),
                    PathElement::new(vec![(x, s[0]), (x, s[1])], c.stroke_width(1)),
                    PathElement::new(vec![(x, s[3]), (x, s[4])], c.stroke_width(1)),
                    PathElement::new(
                        vec![(x - w / 2.0, s[0]), (x + w / 2.0, s[0])],
                        c.stroke_width(1),
                    ),
                    PathElement::new(
                        vec![(x - w / 2.0, s[4]), (x + w / 2.0, s[4])],
                        c.stroke_width(1),
                    ),
                ])
                .map_err(|x| x.to_string())?;
            chart
                .draw_series([Circle::new((x, mean), 4, BLACK.filled())])
                .map_err(|x| x.to_string())?;
        }
        Ok(())
    })
}

/// A scatter of labelled points (name, palette colour, x, y).
pub fn scatter(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    points: &[(String, usize, f64, f64)],
) -> Result<String, String> {
    let xs = padded(points.iter().map(|p| p.2));
    let ys = padded(points.iter().map(|p| p.3));
    // Room on the right for the last labels.
    let xs = xs.start..xs.end + (xs.end - xs.start) * 0.25;
    svg(|root| {
        let mut chart = xy_chart(root, title, xs, ys, x_desc, y_desc)?;
        for (name, i, x, y) in points {
            let c = colour(*i);
            chart
                .draw_series([Circle::new((*x, *y), 5, c.filled())])
                .map_err(|x| x.to_string())?;
            chart
                .draw_series([Text::new(
                    name.clone(),
                    (*x, *y),
                    ("sans-serif", 13).into_font().color(&BLACK),
                )])
                .map_err(|x| x.to_string())?;
        }
        Ok(())
    })
}

/// One day of a policy: the price (left axis) with grid power and SoC (right axis) by
/// quarter-hour.
pub fn day(
    title: &str,
    price: &[f64],
    power_mw: &[f64],
    soc_mwh: &[f64],
) -> Result<String, String> {
    let n = price.len().max(1) as f64;
    let ys = padded(price.iter().copied());
    let right = padded(power_mw.iter().chain(soc_mwh).copied());
    svg(|root| {
        let mut chart = frame(root, title)
            .right_y_label_area_size(56)
            .build_cartesian_2d(0f64..n, ys)
            .map_err(|x| x.to_string())?
            .set_secondary_coord(0f64..n, right);
        chart
            .configure_mesh()
            .x_desc("quarter-hour of the day")
            .y_desc("price, EUR/MWh")
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .light_line_style(WHITE)
            .draw()
            .map_err(|x| x.to_string())?;
        chart
            .configure_secondary_axes()
            .y_desc("power MW (> 0 discharge), SoC MWh")
            .draw()
            .map_err(|x| x.to_string())?;
        let grey = RGBColor(90, 90, 90);
        chart
            .draw_series(LineSeries::new(
                price.iter().enumerate().map(|(i, p)| (i as f64 + 0.5, *p)),
                grey.stroke_width(2),
            ))
            .map_err(|x| x.to_string())?
            .label("price")
            .legend(legend_line(grey));
        // Power holds over each quarter-hour: a step line.
        let steps: Vec<(f64, f64)> = power_mw
            .iter()
            .enumerate()
            .flat_map(|(i, p)| [(i as f64, *p), (i as f64 + 1.0, *p)])
            .collect();
        let (blue, green) = (colour(0), colour(2));
        chart
            .draw_secondary_series(LineSeries::new(steps, blue.stroke_width(2)))
            .map_err(|x| x.to_string())?
            .label("power")
            .legend(legend_line(blue));
        chart
            .draw_secondary_series(LineSeries::new(
                soc_mwh
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (i as f64 + 1.0, *s)),
                green.stroke_width(2),
            ))
            .map_err(|x| x.to_string())?
            .label("SoC")
            .legend(legend_line(green));
        legend!(chart)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_numbers_by_hand() {
        // 0..=100: the p-quantile is 100 p.
        let v: Vec<f64> = (0..=100).rev().map(f64::from).collect();
        assert_eq!(five_numbers(&v), [5.0, 25.0, 50.0, 75.0, 95.0]);
        assert_eq!(five_numbers(&[]), [0.0; 5]);
        assert_eq!(five_numbers(&[3.0]), [3.0; 5]);
    }

    #[test]
    fn charts_are_svg_with_their_series() {
        let series = |name: &str, colour, points| Series {
            name: name.into(),
            colour,
            points,
        };
        let s = lines(
            "cumulative",
            "day",
            "EUR",
            &[
                series("alpha", 0, vec![(0.0, 0.0), (1.0, 2.0)]),
                series("beta", 3, vec![(0.0, 1.0), (1.0, -1.0)]),
            ],
        )
        .unwrap();
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert!(s.contains("alpha") && s.contains("beta") && s.contains("<polyline"));
        // Each series in its own palette colour.
        assert!(s.contains("#1F77B4") && s.contains("#D62728"), "{s}");
        let b = boxes("daily", "EUR", &[("a".into(), vec![1.0, 2.0, 3.0])]).unwrap();
        assert!(b.contains("<rect") && b.contains("<circle"));
        let p = scatter("frontier", "x", "y", &[("dsac".into(), 1, 1.0, 2.0)]).unwrap();
        assert!(p.contains("dsac") && p.contains("<circle"));
        let d = day("day", &[10.0, 20.0], &[1.0, -1.0], &[1.5, 2.0]).unwrap();
        assert!(d.contains("price") && d.contains("SoC"));
    }
}
