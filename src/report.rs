//! The `--report` page: one self-contained HTML file (inline SVG plots drawn
//! with plotters, inline CSS, no scripts, no external resources), readable
//! offline.

use crate::plan::MixPlan;
use plotters::prelude::*;
use std::fmt::Write as _;

/// A named curve: `(x, y)` points.
pub type Curve = (String, Vec<(f64, f64)>);

/// What the report shows besides the plan itself.
#[derive(Clone, Debug, Default)]
pub struct ReportData {
    /// Bark-band spectra (band centre Hz, dB): mix before stage 2, mix after,
    /// reference.
    pub spectra: Vec<Curve>,
    /// Each bus's EQ magnitude response (Hz, dB).
    pub eq_curves: Vec<Curve>,
    /// Each bus's compressor static curve (input dB, output dB).
    pub comp_curves: Vec<Curve>,
}

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

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the whole page.
pub fn render_html(plan: &MixPlan, data: &ReportData) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>premix report: {}</title><style>{}</style></head><body>\n",
        esc(&plan.session),
        CSS
    );
    let _ = writeln!(
        h,
        "<header><h1>premix report</h1><p class=\"sub\">{}<br>{} groups · {} tracks · stage 1 by <b>{}</b>{}</p></header>",
        esc(&plan.session),
        plan.groups.len(),
        plan.tracks.len(),
        plan.measure.as_str(),
        plan.stage2
            .as_ref()
            .map_or(" · stage 2 not run (no reference)".to_string(), |s| format!(
                " · stage 2 fitted to <b>{}</b>",
                esc(&s.reference)
            ))
    );

    h.push_str("<section><h2>Stage 1: gain changes by group</h2>");
    h.push_str(&gain_chart(plan));
    h.push_str("</section>\n<section><h2>Loudness before and after stage 1</h2><p class=\"sub\">each track's level as it plays in the stage-1 measure: hollow before, filled after, coloured by group</p>");
    h.push_str(&loudness_chart(plan));
    h.push_str("</section>\n");

    if let Some(s2) = &plan.stage2 {
        let _ = write!(
            h,
            "<section><h2>Stage 2: style loss</h2><table><tr><th>feature</th><th>share of loss after</th></tr>"
        );
        for (name, v) in &s2.per_feature {
            let _ = write!(h, "<tr><td>{}</td><td>{v:.4}</td></tr>", esc(name));
        }
        let _ = writeln!(
            h,
            "<tr class=\"total\"><td>total</td><td>{:.4} (before: {:.4}, {:.0}% of it)</td></tr></table></section>",
            s2.loss_after,
            s2.loss_before,
            100.0 * s2.loss_after / s2.loss_before.max(1e-12)
        );
    }
    if !data.spectra.is_empty() {
        h.push_str("<section><h2>Mix and reference spectra (Bark bands)</h2>");
        h.push_str(&line_chart(
            &data.spectra,
            "frequency (Hz)",
            "level (dB)",
            true,
        ));
        h.push_str("</section>\n");
    }
    if !data.eq_curves.is_empty() {
        h.push_str("<section><h2>Bus EQ curves</h2>");
        h.push_str(&line_chart(
            &data.eq_curves,
            "frequency (Hz)",
            "gain (dB)",
            true,
        ));
        h.push_str("</section>\n");
    }
    if !data.comp_curves.is_empty() {
        h.push_str("<section><h2>Bus compressor curves</h2>");
        h.push_str(&line_chart(
            &data.comp_curves,
            "input (dB)",
            "output (dB)",
            false,
        ));
        h.push_str("</section>\n");
    }

    h.push_str("<section><h2>Groups and tracks</h2>");
    for g in &plan.groups {
        let _ = write!(
            h,
            "<h3>{}</h3><p class=\"sub\">bus: {:+.1} dB, pan {:+.2}{}{} · stage-1 spread {}</p>\
             <table><tr><th>track</th><th>role</th><th>class</th><th>measure</th><th>played</th><th>change</th><th>why</th></tr>",
            esc(&g.stage1.name),
            g.bus.gain_db,
            g.bus.pan,
            if g.bus.eq.is_empty() { "" } else { ", EQ" },
            if g.bus.comp.is_some() { ", compressor" } else { "" },
            g.stage1
                .spread_lu
                .map_or("-".into(), |s| format!("{s:.2} LU")),
        );
        for t in plan.tracks.iter().filter(|t| t.group == g.stage1.name) {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{:+.1} dB</td><td>{}</td></tr>",
                esc(&t.name),
                t.role.as_str(),
                t.class.as_str(),
                t.measure.as_str(),
                t.played.map_or("silent".into(), |p| format!("{p:.1}")),
                t.change_db,
                esc(&t.reasons.join("; "))
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</section>\n");
    if !plan.warnings.is_empty() {
        h.push_str("<section><h2>Warnings</h2><ul>");
        for w in &plan.warnings {
            let _ = write!(h, "<li>{}</li>", esc(w));
        }
        h.push_str("</ul></section>\n");
    }
    h.push_str("<footer>made by premix · every setting above is written into the session as an ordinary, editable setting</footer></body></html>\n");
    h
}

const CSS: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1000px;padding:1.5em;color:#222;background:#fafafa}\
h1{margin:0}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}h3{margin-bottom:.2em}\
.sub{color:#666;margin-top:.2em}section{background:#fff;border:1px solid #e5e5e5;border-radius:8px;padding:.6em 1.2em 1.2em;margin:1em 0}\
table{border-collapse:collapse;width:100%;font-size:.9em;table-layout:fixed}th:nth-child(1){width:18%}th:nth-child(2),th:nth-child(3),th:nth-child(4),th:nth-child(5),th:nth-child(6){width:10%}th,td{text-align:left;padding:.25em .5em;border-bottom:1px solid #eee;vertical-align:top}\
td.num{text-align:right;white-space:nowrap}tr.total td{font-weight:bold}svg{max-width:100%;height:auto}footer{color:#888;font-size:.8em;text-align:center;margin-top:2em}";

fn svg_wrap(s: String) -> String {
    // plotters writes a complete <svg> element; strip any XML prolog.
    match s.find("<svg") {
        Some(i) => s[i..].to_string(),
        None => s,
    }
}

/// Horizontal bars: each track's stage-1 change, coloured by group, one
/// labelled row per track (segmented y axis, labels centred on the bars).
fn gain_chart(plan: &MixPlan) -> String {
    let n = plan.tracks.len().max(1) as u32;
    let max = plan
        .tracks
        .iter()
        .map(|t| t.change_db.abs())
        .fold(3.0f64, f64::max)
        .ceil();
    let height = 60 + 20 * n;
    let names: Vec<String> = plan
        .tracks
        .iter()
        .map(|t| format!("{} · {}", t.group, t.name))
        .collect();
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (900, height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(220)
            .build_cartesian_2d(-max..max, (0u32..n).into_segmented());
        if let Ok(mut chart) = chart {
            // Row r (from the top) is track r; plotters counts from the bottom.
            let row = |v: &SegmentValue<u32>| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => names
                    .get((n - 1 - (*i).min(n - 1)) as usize)
                    .cloned()
                    .unwrap_or_default(),
                SegmentValue::Last => String::new(),
            };
            let _ = chart
                .configure_mesh()
                .x_desc("change (dB)")
                .y_labels(n as usize)
                .y_label_formatter(&row)
                .disable_y_mesh()
                .draw();
            for (i, t) in plan.tracks.iter().enumerate() {
                let gi = plan
                    .groups
                    .iter()
                    .position(|g| g.stage1.name == t.group)
                    .unwrap_or(0);
                let y = n - 1 - i as u32;
                let _ = chart.draw_series(std::iter::once(Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(y)),
                        (t.change_db, SegmentValue::Exact(y + 1)),
                    ],
                    colour(gi).filled(),
                )));
            }
        }
        let _ = root.present();
    }
    svg_wrap(s)
}

/// Each track's played loudness before (hollow) and after (filled) stage 1.
fn loudness_chart(plan: &MixPlan) -> String {
    let pts: Vec<(usize, f64, f64)> = plan
        .tracks
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.played.map(|p| (i, p, p + t.change_db)))
        .collect();
    let (lo, hi) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &(_, a, b)| {
            (lo.min(a).min(b), hi.max(a).max(b))
        });
    let (lo, hi) = if lo > hi {
        (-40.0, 0.0)
    } else {
        (lo.floor() - 2.0, hi.ceil() + 2.0)
    };
    let n = plan.tracks.len().max(1);
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (900, 320)).into_drawing_area();
        let _ = root.fill(&WHITE);
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..n as f64, lo..hi)
        {
            let _ = chart
                .configure_mesh()
                .x_desc("track")
                .y_desc(format!("{} (LUFS)", plan.measure.as_str()))
                .draw();
            for &(i, before, after) in &pts {
                let gi = plan
                    .groups
                    .iter()
                    .position(|g| g.stage1.name == plan.tracks[i].group)
                    .unwrap_or(0);
                let x = i as f64 + 0.5;
                let c = colour(gi);
                let _ = chart.draw_series(std::iter::once(PathElement::new(
                    vec![(x, before), (x, after)],
                    c.stroke_width(1),
                )));
                let _ = chart.draw_series(std::iter::once(Circle::new(
                    (x, before),
                    4,
                    c.stroke_width(1),
                )));
                let _ = chart.draw_series(std::iter::once(Circle::new((x, after), 4, c.filled())));
            }
        }
        let _ = root.present();
    }
    svg_wrap(s)
}

/// Named curves on one chart, with a legend; log-frequency x axis if `log_x`.
fn line_chart(curves: &[Curve], x_desc: &str, y_desc: &str, log_x: bool) -> String {
    let all = curves.iter().flat_map(|c| c.1.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all {
        if x.is_finite() && y.is_finite() {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    if x0 >= x1 {
        return String::from("<p>no data</p>");
    }
    let pad = ((y1 - y0) * 0.08).max(1.0);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (900, 360)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let mut builder = ChartBuilder::on(&root);
        builder
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(55);
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart;
                let _ = chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw();
                for (i, (name, pts)) in curves.iter().enumerate() {
                    let c = colour(i);
                    let pts: Vec<(f64, f64)> = pts
                        .iter()
                        .copied()
                        .filter(|(x, y)| x.is_finite() && y.is_finite())
                        .collect();
                    if let Ok(series) = chart.draw_series(LineSeries::new(pts, c.stroke_width(2))) {
                        series.label(name.clone()).legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2))
                        });
                    }
                }
                let _ = chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK.mix(0.3))
                    .draw();
            }};
        }
        if log_x {
            if let Ok(chart) = builder.build_cartesian_2d((x0.max(1.0)..x1).log_scale(), y0..y1) {
                draw!(chart);
            }
        } else if let Ok(chart) = builder.build_cartesian_2d(x0..x1, y0..y1) {
            draw!(chart);
        }
        let _ = root.present();
    }
    svg_wrap(s)
}
