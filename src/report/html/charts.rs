//! The HTML report's charts, as inline SVG with their numbers in a table beside: reply
//! latency per step over the suite (p50, p95, the tightest budget), pass rate per case of a
//! sweep with its Wilson interval, and a case's latency per step against its budgets.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::text::{clean, esc, short};
use super::{CHART_CASES, CHART_STEPS};

/// Latencies of one step (`step_order`) over the suite, and its tightest budget.
#[derive(Default)]
pub(super) struct StepLatencies {
    /// Each reply's latency, in ms.
    pub(super) latencies: Vec<u64>,
    /// The tightest `max_latency_ms` of the step.
    pub(super) budget: Option<u64>,
}

/// A case's point in the pass-rate chart.
pub(super) struct SweepPoint {
    /// The case's id in the page.
    pub(super) id: usize,
    /// `test_id`, or the file.
    pub(super) label: String,
    /// Runs that passed.
    pub(super) passes: u64,
    /// Runs.
    pub(super) runs: u64,
    /// The Wilson 95% interval's lower bound.
    pub(super) lower: f64,
    /// One seed gave different verdicts.
    pub(super) flaky: bool,
}

/// Nearest-rank percentile (SPEC §6) of sorted values.
fn percentile(sorted: &[u64], p: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as u64).div_ceil(100).max(1);
    sorted.get(rank as usize - 1).copied()
}

/// Bars of p50 and p95 per step over the suite, the tightest budget as a mark; and the
/// numbers as a table.
pub(super) fn latency_chart(h: &mut String, steps: &BTreeMap<u32, StepLatencies>) {
    /// A step: its number, p50, p95, replies, tightest budget.
    type StepRow = (u32, Option<u64>, Option<u64>, usize, Option<u64>);
    let rows: Vec<StepRow> = steps
        .iter()
        .take(CHART_STEPS)
        .map(|(step, s)| {
            let mut sorted = s.latencies.clone();
            sorted.sort_unstable();
            (
                *step,
                percentile(&sorted, 50),
                percentile(&sorted, 95),
                sorted.len(),
                s.budget,
            )
        })
        .collect();
    h.push_str("<figure class=\"chart\">\n<figcaption>Reply latency per step over the suite: p50 and p95 (nearest rank), and the tightest budget (<code>max_latency_ms</code>) of the step</figcaption>\n");
    if rows.iter().all(|r| r.1.is_none() && r.4.is_none()) {
        h.push_str("<p>No reply in the suite has a latency.</p>\n</figure>\n");
        return;
    }
    let top = rows
        .iter()
        .flat_map(|r| [r.2, r.4])
        .flatten()
        .max()
        .unwrap_or(1)
        .max(1);
    let (bar, gap, height) = (14u64, 10u64, 160u64);
    let width = 50 + rows.len() as u64 * (2 * bar + gap) + 10;
    let y = |v: u64| 10 + height - v * height / top;
    let _ = writeln!(
        h,
        "<svg class=\"bars\" role=\"img\" aria-labelledby=\"lat-t\" viewBox=\"0 0 {width} {}\" width=\"{width}\" height=\"{}\"><title id=\"lat-t\">Latency per step: p50 and p95 against budgets (the table below has the numbers)</title>",
        height + 40,
        height + 40
    );
    let _ = writeln!(
        h,
        "<text x=\"2\" y=\"14\" class=\"axis\">{top} ms</text><line x1=\"48\" y1=\"{}\" x2=\"{width}\" y2=\"{}\" class=\"base\"/>",
        10 + height,
        10 + height
    );
    for (i, (step, p50, p95, n, budget)) in rows.iter().enumerate() {
        let x = 50 + i as u64 * (2 * bar + gap);
        if let Some(v) = p50 {
            let _ = write!(
                h,
                "<rect class=\"p50\" x=\"{x}\" y=\"{}\" width=\"{bar}\" height=\"{}\"><title>step {step}: p50 {v} ms ({n} replies)</title></rect>",
                y(*v),
                10 + height - y(*v)
            );
        }
        if let Some(v) = p95 {
            let _ = write!(
                h,
                "<rect class=\"p95\" x=\"{}\" y=\"{}\" width=\"{bar}\" height=\"{}\"><title>step {step}: p95 {v} ms</title></rect>",
                x + bar,
                y(*v),
                10 + height - y(*v)
            );
        }
        if let Some(b) = budget {
            let _ = write!(
                h,
                "<line class=\"budget\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"><title>step {step}: budget {b} ms</title></line>",
                x.saturating_sub(2),
                x + 2 * bar + 2,
                y(*b),
                y(*b)
            );
        }
        let _ = writeln!(
            h,
            "<text class=\"axis\" x=\"{}\" y=\"{}\">{step}</text>",
            x + 4,
            height + 26
        );
    }
    h.push_str("</svg>\n<p class=\"legend\"><span class=\"key k-p50\"></span> p50 <span class=\"key k-p95\"></span> p95 (the right bar of each pair) <span class=\"key k-budget\"></span> budget (dashed)</p>\n");
    h.push_str("<details><summary>The numbers</summary><table><thead><tr><th scope=\"col\">step</th><th scope=\"col\">replies</th><th scope=\"col\">p50 ms</th><th scope=\"col\">p95 ms</th><th scope=\"col\">tightest budget ms</th></tr></thead><tbody>\n");
    let opt = |v: Option<u64>| v.map_or_else(|| "–".to_owned(), |v| v.to_string());
    for (step, p50, p95, n, budget) in &rows {
        let _ = writeln!(
            h,
            "<tr><td>{step}</td><td>{n}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            opt(*p50),
            opt(*p95),
            opt(*budget)
        );
    }
    h.push_str("</tbody></table></details>\n</figure>\n");
}

/// A case's latency per step against its budgets.
pub(super) fn case_chart(h: &mut String, steps: &[(u32, Option<u64>, Option<u64>)]) {
    let top = steps
        .iter()
        .flat_map(|s| [s.1, s.2])
        .flatten()
        .max()
        .unwrap_or(1)
        .max(1);
    let (bar, gap, height) = (12u64, 8u64, 60u64);
    let width = 40 + steps.len() as u64 * (bar + gap);
    let y = |v: u64| 4 + height - v * height / top;
    let _ = write!(
        h,
        "<svg class=\"mini\" role=\"img\" viewBox=\"0 0 {width} {}\" width=\"{width}\" height=\"{}\"><title>Latency per step against budget (max {top} ms)</title><text class=\"axis\" x=\"0\" y=\"12\">{top} ms</text>",
        height + 20,
        height + 20
    );
    for (i, (step, latency, budget)) in steps.iter().enumerate() {
        let x = 40 + i as u64 * (bar + gap);
        if let Some(l) = latency {
            let over = budget.is_some_and(|b| *l > b);
            let _ = write!(
                h,
                "<rect class=\"{}\" x=\"{x}\" y=\"{}\" width=\"{bar}\" height=\"{}\"><title>step {step}: {l} ms{}</title></rect>",
                if over { "over" } else { "p50" },
                y(*l),
                4 + height - y(*l),
                if over { ", over budget" } else { "" }
            );
        }
        if let Some(b) = budget {
            let _ = write!(
                h,
                "<line class=\"budget\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"><title>step {step}: budget {b} ms</title></line>",
                x.saturating_sub(2),
                x + bar + 2,
                y(*b),
                y(*b)
            );
        }
        let _ = write!(
            h,
            "<text class=\"axis\" x=\"{}\" y=\"{}\">{step}</text>",
            x + 2,
            height + 17
        );
    }
    h.push_str("</svg>\n");
}

/// The Wilson 95% interval's upper bound (the lower one is the sweep's own).
fn wilson_upper(passes: u64, runs: u64) -> f64 {
    if runs == 0 {
        return 1.0;
    }
    let (n, p, z) = (runs as f64, passes as f64 / runs as f64, 1.959_964);
    let denominator = 1.0 + z * z / n;
    let centre = p + z * z / (2.0 * n);
    let margin = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((centre + margin) / denominator).min(1.0)
}

/// Pass rate per case with its Wilson interval, lowest bounds first; flaky cases marked.
pub(super) fn sweep_chart(h: &mut String, points: &[SweepPoint]) {
    let mut order: Vec<&SweepPoint> = points.iter().collect();
    order.sort_by(|a, b| a.lower.total_cmp(&b.lower).then(a.id.cmp(&b.id)));
    let shown = &order[..order.len().min(CHART_CASES)];
    let _ = writeln!(
        h,
        "<figure class=\"chart\">\n<figcaption>Pass rate per case with its Wilson 95% interval{}; flaky cases (one seed, different verdicts) marked FLAKY</figcaption>",
        if order.len() > shown.len() {
            format!(", the {} lowest of {} cases", shown.len(), order.len())
        } else {
            String::new()
        }
    );
    let (row, width, left) = (18u64, 760u64, 300u64);
    let plot = width - left - 70;
    let x = |v: f64| left as f64 + v.clamp(0.0, 1.0) * plot as f64;
    let height = 24 + shown.len() as u64 * row;
    let _ = writeln!(
        h,
        "<svg class=\"rates\" role=\"img\" aria-labelledby=\"rate-t\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\"><title id=\"rate-t\">Pass rate per case with its 95% interval (the table below has the numbers)</title>"
    );
    for tick in [0.0, 0.5, 1.0] {
        let _ = write!(
            h,
            "<line class=\"grid\" x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"12\" y2=\"{height}\"/><text class=\"axis\" x=\"{1:.1}\" y=\"10\">{2:.0}%</text>",
            x(tick),
            x(tick) - 8.0,
            tick * 100.0
        );
    }
    for (i, p) in shown.iter().enumerate() {
        let cy = 24 + i as u64 * row + row / 2;
        let rate = if p.runs == 0 {
            0.0
        } else {
            p.passes as f64 / p.runs as f64
        };
        let upper = wilson_upper(p.passes, p.runs);
        let _ = write!(
            h,
            "<a href=\"#c{}\"><text class=\"name\" x=\"0\" y=\"{}\">{}</text></a><line class=\"ci\" x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{cy}\" y2=\"{cy}\"/><circle class=\"{}\" cx=\"{:.1}\" cy=\"{cy}\" r=\"4\"><title>{}/{} passed, 95% interval {:.2}–{:.2}</title></circle>",
            p.id,
            cy + 4,
            esc(&short(&p.label, 44)),
            x(p.lower),
            x(upper),
            if p.flaky { "dot flaky" } else { "dot" },
            x(rate),
            p.passes,
            p.runs,
            p.lower,
            upper
        );
        let _ = writeln!(
            h,
            "<text class=\"axis\" x=\"{}\" y=\"{}\">{}/{}{}</text>",
            width - 66,
            cy + 4,
            p.passes,
            p.runs,
            if p.flaky { " FLAKY" } else { "" }
        );
    }
    h.push_str("</svg>\n<details><summary>The numbers</summary><table><thead><tr><th scope=\"col\">case</th><th scope=\"col\">passes</th><th scope=\"col\">95% interval</th><th scope=\"col\">flaky</th></tr></thead><tbody>\n");
    for p in shown {
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#c{}\">{}</a></td><td>{}/{}</td><td>{:.2}–{:.2}</td><td>{}</td></tr>",
            p.id,
            esc(&clean(&p.label, 200)),
            p.passes,
            p.runs,
            p.lower,
            wilson_upper(p.passes, p.runs),
            if p.flaky { "FLAKY" } else { "no" }
        );
    }
    h.push_str("</tbody></table></details>\n</figure>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
        assert_eq!(percentile(&values, 50), Some(50));
        assert_eq!(percentile(&values, 95), Some(100));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn wilson_interval_contains_the_rate() {
        assert!((wilson_upper(0, 10) - 0.277533).abs() < 1e-5);
        assert!((wilson_upper(10, 10) - 1.0).abs() < 1e-9);
        let (lower, upper) = (crate::sweep::wilson_lower(7, 10), wilson_upper(7, 10));
        assert!(lower < 0.7 && 0.7 < upper, "{lower} {upper}");
    }
}
