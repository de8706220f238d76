//! The report's charts as inline SVG strings, drawn with plotters' SVG backend (text stays
//! `<text>`, so no fonts are needed): lines, box plots, a labelled scatter and a day's trace.
//! Legends are the page's (HTML under each chart), never drawn over the data; lines and points
//! carry `<title>` tooltips.

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

/// The `i`-th series colour.
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A colour as SVG writes it (`#1F77B4`), for the page's legends.
pub fn hex(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

/// Escapes text for SVG / HTML.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Gives `<element>`s a `<title>` (a tooltip in browsers): plotters writes no titles, so each
/// self-closing `<element ... attr="COLOUR" .../>` whose colour matches the next unused entry of
/// `titles` (colour, text), in drawing order, gets that entry's text. Axes and grid lines are
/// black or white and never match a series colour.
fn with_titles(svg: String, element: &str, attr: &str, titles: &[(String, String)]) -> String {
    let mut left: Vec<&(String, String)> = titles.iter().collect();
    let open = format!("<{element} ");
    let mut out = String::with_capacity(svg.len() + titles.len() * 40);
    let mut rest = svg.as_str();
    while let Some(start) = rest.find(&open) {
        out.push_str(&rest[..start]);
        let tag_end = rest[start..].find("/>").map(|e| start + e);
        let Some(end) = tag_end else {
            break;
        };
        let tag = &rest[start..end];
        let found = left
            .iter()
            .position(|(c, _)| tag.contains(&format!("{attr}=\"{c}\"")));
        match found {
            Some(k) => {
                let (_, text) = left.remove(k);
                out.push_str(&format!(
                    "{tag}><title>{}</title></{element}>",
                    escape(text)
                ));
            }
            None => out.push_str(&rest[start..end + 2]),
        }
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
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

/// An x-y chart over `xs` x `ys` with its axes drawn and described, x values labelled by
/// `x_label`.
fn xy_chart<'a, 'b>(
    root: &'a Area<'b>,
    title: &str,
    (xs, ys): (Range<f64>, Range<f64>),
    (x_desc, y_desc): (&str, &str),
    x_label: &dyn Fn(&f64) -> String,
) -> Result<XyChart<'a, 'b>, String> {
    let mut chart = frame(root, title)
        .build_cartesian_2d(xs, ys)
        .map_err(|x| x.to_string())?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(x_label)
        .y_label_formatter(&tick)
        .x_labels(6)
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

/// Axis numbers without needless decimals, thousands separated.
pub fn tick(v: &f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 {
        crate::format::thousands(*v, 0)
    } else {
        format!("{v:.2}")
    }
}

/// A line chart of series (x labelled as numbers).
pub fn lines(title: &str, x_desc: &str, y_desc: &str, series: &[Series]) -> Result<String, String> {
    lines_labelled(title, x_desc, y_desc, series, &tick)
}

/// A line chart of series whose x values are labelled by `x_label` (e.g. a day index as its
/// date). Each line's tooltip is its series name.
pub fn lines_labelled(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    x_label: &dyn Fn(&f64) -> String,
) -> Result<String, String> {
    let xs = padded(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let ys = padded(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let drawn = svg(|root| {
        let mut chart = xy_chart(root, title, (xs, ys), (x_desc, y_desc), x_label)?;
        for s in series {
            let c = colour(s.colour);
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), c.stroke_width(2)))
                .map_err(|x| x.to_string())?;
        }
        Ok(())
    })?;
    let titles: Vec<(String, String)> = series
        .iter()
        .map(|s| (hex(colour(s.colour)), s.name.clone()))
        .collect();
    Ok(with_titles(drawn, "polyline", "stroke", &titles))
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
    let titles: Vec<(String, String)> = points
        .iter()
        .map(|(name, i, x, y)| {
            let (x, y) = (
                crate::format::thousands(*x, 1),
                crate::format::thousands(*y, 1),
            );
            (
                hex(colour(*i)),
                format!("{name}: {x_desc} {x}, {y_desc} {y}"),
            )
        })
        .collect();
    let drawn = svg(|root| {
        let mut chart = xy_chart(root, title, (xs, ys), (x_desc, y_desc), &tick)?;
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
    })?;
    Ok(with_titles(drawn, "circle", "fill", &titles))
}

/// Draws a day panel's axes: clock labels on x (`label`), readable type (plotters shrinks fonts
/// in a split area). A macro because plotters' mesh builder type is unwieldy to name.
macro_rules! clock_mesh {
    ($chart:expr, $x_desc:expr, $y_desc:expr, $label:expr) => {
        $chart
            .configure_mesh()
            .x_desc($x_desc)
            .y_desc($y_desc)
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 15))
            .x_labels(9)
            .x_label_formatter($label)
            .y_label_formatter(&tick)
            .light_line_style(WHITE)
            .draw()
            .map_err(|x| x.to_string())
    };
}

/// One day of a policy in two panels over the same clock: the price above, grid power and SoC
/// below (power as a step line, blue; SoC at each quarter-hour's end, green). `clock` labels
/// each quarter-hour (Brussels time, `HH:MM`).
pub fn day(
    title: &str,
    clock: &[String],
    price: &[f64],
    power_mw: &[f64],
    soc_mwh: &[f64],
) -> Result<String, String> {
    let n = price.len().max(1) as f64;
    let label = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            clock.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let drawn = svg(|root| {
        let (top, bottom) = root.split_vertically(SIZE.1 / 2 + 10);
        let mut upper = frame(&top, title)
            .build_cartesian_2d(0f64..n, padded(price.iter().copied()))
            .map_err(|x| x.to_string())?;
        clock_mesh!(upper, "", "price, EUR/MWh", &label)?;
        let grey = grey_of();
        upper
            .draw_series(LineSeries::new(
                price.iter().enumerate().map(|(i, p)| (i as f64 + 0.5, *p)),
                grey.stroke_width(2),
            ))
            .map_err(|x| x.to_string())?;
        let mut lower = ChartBuilder::on(&bottom)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..n, padded(power_mw.iter().chain(soc_mwh).copied()))
            .map_err(|x| x.to_string())?;
        clock_mesh!(lower, "Brussels time", "MW / MWh", &label)?;
        // Power holds over each quarter-hour: a step line.
        let steps: Vec<(f64, f64)> = power_mw
            .iter()
            .enumerate()
            .flat_map(|(i, p)| [(i as f64, *p), (i as f64 + 1.0, *p)])
            .collect();
        lower
            .draw_series(LineSeries::new(steps, colour(0).stroke_width(2)))
            .map_err(|x| x.to_string())?;
        lower
            .draw_series(LineSeries::new(
                soc_mwh
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (i as f64 + 1.0, *s)),
                colour(2).stroke_width(2),
            ))
            .map_err(|x| x.to_string())?;
        Ok(())
    })?;
    let titles = [
        (hex(grey_of()), "price, EUR/MWh".to_string()),
        (hex(colour(0)), "grid power, MW (> 0 discharge)".to_string()),
        (hex(colour(2)), "state of charge, MWh".to_string()),
    ];
    Ok(with_titles(drawn, "polyline", "stroke", &titles))
}

/// The price line's colour in day charts.
fn grey_of() -> RGBColor {
    RGBColor(90, 90, 90)
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
        let clock = ["00:00".to_string(), "00:15".to_string()];
        let d = day("day", &clock, &[10.0, 20.0], &[1.0, -1.0], &[1.5, 2.0]).unwrap();
        assert!(d.contains("price") && d.contains("Brussels time") && d.contains("\n00:15\n"));
        // Tooltips: the lines carry their series' names, the points their figures.
        assert!(s.contains("<title>alpha</title></polyline>"), "{s}");
        assert!(d.contains("<title>state of charge, MWh</title>"), "{d}");
        assert!(
            p.contains("<title>dsac: x 1.0, y 2.0</title></circle>"),
            "{p}"
        );
        // No legend box is drawn over the data.
        assert!(!s.contains("fill-opacity=\"0.85\""), "{s}");
    }
}
