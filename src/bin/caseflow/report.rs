//! `simulate --report FILE.html`: a self-contained page with the summary and charts drawn
//! by plotters' SVG backend.

use plotters::prelude::*;

use crate::summary::Summary;

const WIDTH: u32 = 960;
const COLORS: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A line chart of daily series.
fn lines(title: &str, days: &[String], series: &[(&str, &[u64])]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let n = days.len().max(2);
        let top = series
            .iter()
            .flat_map(|(_, s)| s.iter().copied())
            .max()
            .unwrap_or(0)
            .max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(0..n - 1, 0..top + top / 10 + 1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("day")
            .x_labels(10)
            .x_label_formatter(&|i| days.get(*i).cloned().unwrap_or_default())
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (name, data)) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(
                    data.iter().enumerate().map(|(d, v)| (d, *v)),
                    color.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// A horizontal bar per rule: its firings.
fn rule_bars(summary: &Summary) -> Result<String, String> {
    let rules = &summary.rules;
    let mut svg = String::new();
    {
        let height = 120 + 28 * rules.len().max(1) as u32;
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let top = rules.iter().map(|r| r.firings).max().unwrap_or(0).max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption("Rule firings per rule", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(240)
            .build_cartesian_2d(
                0..top + top / 10 + 1,
                (0..rules.len().max(1)).into_segmented(),
            )
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("firings")
            .y_labels(rules.len().max(1))
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => {
                    rules.get(*i).map_or(String::new(), |r| r.rule.clone())
                }
                _ => String::new(),
            })
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                Histogram::horizontal(&chart)
                    .style(COLORS[0].filled())
                    .margin(4)
                    .data(rules.iter().enumerate().map(|(i, r)| (i, r.firings))),
            )
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

fn section(summary: &Summary) -> Result<String, String> {
    let d = &summary.daily;
    let backlog = lines(
        "Open backlog by category, at the end of each day",
        &d.days,
        &[
            ("new", &d.backlog[0]),
            ("open", &d.backlog[1]),
            ("pending", &d.backlog[2]),
            ("on-hold", &d.backlog[3]),
            ("resolved, not closed", &d.backlog[4]),
        ],
    )?;
    let flow = lines(
        "Resolutions and auto-closes per day",
        &d.days,
        &[
            ("resolutions", &d.resolutions),
            ("auto-closes", &d.auto_closes),
        ],
    )?;
    let rules = rule_bars(summary)?;
    let mut rows = String::new();
    for r in summary.rows() {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td></tr>\n",
            escape(&r.label),
            escape(&r.value)
        ));
    }
    Ok(format!(
        "<h2>{}</h2>\n<p>{}</p>\n<div class=\"row\"><table>\n{rows}</table>\n<div>{backlog}\n{flow}\n{rules}</div></div>\n",
        escape(&summary.account),
        escape(&summary.workload)
    ))
}

/// The whole page: one section per account.
pub fn html(a: &Summary, b: Option<&Summary>) -> Result<String, String> {
    let mut body = section(a)?;
    if let Some(b) = b {
        body.push_str(&section(b)?);
    }
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>caseflow simulation</title>\n<style>\
body {{ font-family: sans-serif; margin: 24px; color: #222; }}\
.row {{ display: flex; gap: 24px; align-items: flex-start; }}\
table {{ border-collapse: collapse; font-size: 13px; }}\
td {{ border-bottom: 1px solid #ddd; padding: 3px 8px; white-space: nowrap; }}\
td:last-child {{ text-align: right; }}\
</style></head>\n<body><h1>caseflow simulation</h1>\n{body}</body></html>\n"
    ))
}
