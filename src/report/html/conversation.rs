//! A case's call as the HTML page shows it: the rows (caller, agent, tool, silence, keypad)
//! and each step's verdict in order, as a [`View`]. The view is drawn as HTML for the cases
//! not as expected, and kept as compact JSON (short keys) for the rest, which the page's
//! script draws the same way when a case is opened.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::charts::case_chart;
use super::text::{clean, esc};
use super::{CHART_STEPS, MAX_TEXT};
use crate::call::RowEvent;
use crate::case::Speaker;
use crate::report::CaseReport;

/// A case's call as the page draws it: rows and step verdicts in order. The script draws
/// the same from its JSON (short keys, to keep big pages small).
#[derive(Serialize)]
pub(super) struct View {
    /// Rows and verdicts in order.
    i: Vec<Item>,
    /// Per step: latency and budget, for the case's chart.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    g: Vec<(u32, Option<u64>, Option<u64>)>,
    /// Why the case could not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<String>,
    /// Failures not tied to a step (tone).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    f: Vec<String>,
    /// The transcript was cut at the row limit.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    t: bool,
}

/// A row of the call, or a step's verdict.
#[derive(Serialize, Default)]
struct Item {
    /// `user`, `agent`, `tool`, `silence`, `dtmf`, `step`.
    k: &'static str,
    /// The step.
    n: u32,
    /// Text.
    #[serde(skip_serializing_if = "String::is_empty")]
    t: String,
    /// A caller row: what the agent heard, when it differs. An agent row cut off: what the
    /// caller heard.
    #[serde(skip_serializing_if = "Option::is_none")]
    h: Option<String>,
    /// The cut: ms after the reply began (`null`: a recorded cut, whose time the recording
    /// does not say).
    #[serde(skip_serializing_if = "Option::is_none")]
    c: Option<Option<u64>>,
    /// Latency (agent rows, verdicts).
    #[serde(skip_serializing_if = "Option::is_none")]
    l: Option<u64>,
    /// Budget (agent rows, verdicts).
    #[serde(skip_serializing_if = "Option::is_none")]
    b: Option<u64>,
    /// The rule that produced a caller line; the tool's name; silence ms as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    r: Option<String>,
    /// Tool: arguments, result (JSON text); the mock that answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    a: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    o: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    m: Option<String>,
    /// Verdict: passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    p: Option<bool>,
    /// Verdict: expected keywords, with missing ones marked (`(missing, text)`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    x: Vec<(bool, String)>,
    /// Verdict: other findings (forbidden found, missing tool calls).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    y: Vec<String>,
}

impl View {
    /// The call of `case`, with its verdicts.
    pub(super) fn of(case: &CaseReport) -> Self {
        let facts = case.facts.as_deref();
        // A rule-following call's steps are checks of the whole call: they follow it.
        let outcome = facts.is_some_and(|f| f.outcome);
        let budget = |step: u32| {
            facts
                .and_then(|f| f.steps.iter().find(|s| s.step_order == step))
                .and_then(|s| s.budget)
        };
        let mut items = Vec::new();
        // A step's verdict follows its last row; steps without rows come at the end.
        let mut last_row: BTreeMap<u32, usize> = BTreeMap::new();
        for (i, row) in case.transcript.iter().enumerate() {
            last_row.insert(row.step_order, i);
        }
        let mut verdicts: BTreeMap<u32, Vec<&crate::run::StepResult>> = BTreeMap::new();
        for step in &case.steps {
            verdicts.entry(step.step_order).or_default().push(step);
        }
        let verdict = |step: &crate::run::StepResult| {
            let expected =
                facts.and_then(|f| f.steps.iter().find(|s| s.step_order == step.step_order));
            let mut x = Vec::new();
            if let Some(expected) = expected {
                for kw in &expected.expected {
                    let missing = step.missing_keywords.iter().any(|m| m == kw)
                        || (!step.passed
                            && kw.starts_with("= ")
                            && step.details.as_deref().is_some_and(|d| d.contains("exact")));
                    x.push((missing, clean(kw, 300)));
                }
                for t in &expected.tools {
                    // `Name(` of the expected call: how a missing call is written.
                    let name = &t[..t.find('(').map_or(t.len(), |i| i + 1)];
                    let missing = step
                        .missing_tool_calls
                        .as_ref()
                        .is_some_and(|m| m.iter().any(|m| m.starts_with(name)));
                    x.push((missing, format!("tool {}", clean(t, 300))));
                }
            }
            let mut y = Vec::new();
            for f in &step.forbidden_found {
                y.push(format!("forbidden said: {}", clean(f, 300)));
            }
            for m in step.missing_tool_calls.iter().flatten() {
                y.push(format!("missing tool call: {}", clean(m, 300)));
            }
            for f in step.forbidden_tool_calls_found.iter().flatten() {
                y.push(format!("forbidden tool called: {}", clean(f, 300)));
            }
            Item {
                k: "step",
                n: step.step_order,
                r: outcome.then(|| clean(&step.expected_user_input, 300)),
                t: step
                    .details
                    .as_deref()
                    .map(|d| clean(d, MAX_TEXT))
                    .unwrap_or_default(),
                l: step.latency_ms,
                b: budget(step.step_order),
                p: Some(step.passed),
                x,
                y,
                ..Item::default()
            }
        };
        for (i, row) in case.transcript.iter().enumerate() {
            let n = row.step_order;
            let item = match (row.speaker, &row.call, row.event) {
                (_, Some(call), _) => Item {
                    k: "tool",
                    n,
                    r: Some(clean(&call.name, 200)),
                    a: Some(clean(&call.arguments.to_string(), MAX_TEXT)),
                    o: Some(clean(&call.result.to_string(), MAX_TEXT)),
                    m: call
                        .mock
                        .map(|i| format!("tools.{}[{i}]", clean(&call.name, 200))),
                    ..Item::default()
                },
                (Speaker::User, None, Some(RowEvent::Silence(ms))) => Item {
                    k: "silence",
                    n,
                    r: Some(ms.to_string()),
                    ..Item::default()
                },
                (Speaker::User, None, Some(RowEvent::Dtmf)) => Item {
                    k: "dtmf",
                    n,
                    t: clean(&row.text, MAX_TEXT),
                    ..Item::default()
                },
                (Speaker::User, None, None) => Item {
                    k: "user",
                    n,
                    t: clean(&row.text, MAX_TEXT),
                    h: row.heard.as_deref().map(|h| clean(h, MAX_TEXT)),
                    r: row.rule.as_deref().map(|r| clean(r, 300)),
                    ..Item::default()
                },
                _ => Item {
                    k: "agent",
                    n,
                    t: clean(&row.text, MAX_TEXT),
                    h: row.cut.as_ref().map(|c| clean(&c.heard, MAX_TEXT)),
                    c: row.cut.as_ref().map(|c| c.at_ms),
                    l: row.latency_ms,
                    b: row.latency_ms.and(budget(n)),
                    ..Item::default()
                },
            };
            items.push(item);
            if !outcome && last_row.get(&n) == Some(&i) {
                for step in verdicts.remove(&n).unwrap_or_default() {
                    items.push(verdict(step));
                }
            }
        }
        for steps in verdicts.into_values() {
            for step in steps {
                items.push(verdict(step));
            }
        }
        let g = case
            .steps
            .iter()
            .take(CHART_STEPS)
            .map(|s| (s.step_order, s.latency_ms, budget(s.step_order)))
            .filter(|(_, l, b)| l.is_some() || b.is_some())
            .collect();
        let step_failures = case.steps.iter().filter(|s| !s.passed).count();
        Self {
            i: items,
            g,
            e: case.error.as_deref().map(|e| clean(e, 20 * MAX_TEXT)),
            f: case
                .failures
                .iter()
                .skip(step_failures)
                .map(|f| clean(f, MAX_TEXT))
                .collect(),
            t: case.truncated,
        }
    }

    /// The call as HTML (the script's `draw` makes the same from the JSON).
    pub(super) fn draw(&self, h: &mut String) {
        if let Some(error) = &self.e {
            let _ = writeln!(h, "<pre class=\"error\">{}</pre>", esc(error));
        }
        if !self.g.is_empty() {
            case_chart(h, &self.g);
        }
        if !self.i.is_empty() {
            h.push_str("<ol class=\"conv\">\n");
            for item in &self.i {
                draw_item(h, item);
            }
            h.push_str("</ol>\n");
        }
        if self.t {
            h.push_str("<p class=\"note\">The call was cut at the transcript row limit (MAX_TRANSCRIPT_SIZE).</p>\n");
        }
        for f in &self.f {
            let _ = writeln!(
                h,
                "<p class=\"tone\"><strong>FAILED</strong> {}</p>",
                esc(f)
            );
        }
    }
}

/// One row or verdict as an `<li>`.
fn draw_item(h: &mut String, it: &Item) {
    let n = it.n;
    match it.k {
        "user" => {
            let _ = write!(
                h,
                "<li class=\"msg m-user\"><span class=\"who\">caller · step {n}</span><p class=\"text\">{}</p>",
                esc(&it.t)
            );
            if let Some(heard) = &it.h {
                let _ = write!(
                    h,
                    "<p class=\"heard\"><span class=\"lbl\">agent heard:</span> {}</p>",
                    esc(heard)
                );
            }
            if let Some(rule) = &it.r {
                let _ = write!(h, "<p class=\"meta\">{}</p>", esc(rule));
            }
            h.push_str("</li>\n");
        }
        "silence" => {
            let _ = writeln!(
                h,
                "<li class=\"msg m-event\"><span class=\"who\">caller · step {n}</span><p class=\"text\">(silence, {} ms)</p></li>",
                esc(it.r.as_deref().unwrap_or(""))
            );
        }
        "dtmf" => {
            let _ = writeln!(
                h,
                "<li class=\"msg m-event\"><span class=\"who\">caller · step {n}</span><p class=\"text\">keypad tones: <kbd>{}</kbd></p></li>",
                esc(&it.t)
            );
        }
        "agent" => {
            let _ = write!(
                h,
                "<li class=\"msg m-agent{}\"><span class=\"who\">agent · step {n}</span>",
                if it.c.is_some() { " cut" } else { "" }
            );
            match (&it.h, it.c) {
                (Some(heard), Some(at)) => {
                    let at = at.map_or_else(|| "?".to_owned(), |ms| ms.to_string());
                    // The words the caller heard, then the cut, then the rest it never heard.
                    let rest = it.t.strip_prefix(heard.as_str()).unwrap_or("");
                    let _ = write!(
                        h,
                        "<p class=\"text\">{}<span class=\"cutmark\" role=\"img\" aria-label=\"caller cut in here\"> ✂ cut at {at} ms </span><span class=\"unheard\">{}</span></p>",
                        esc(heard),
                        esc(if rest.is_empty() && heard != &it.t {
                            &it.t
                        } else {
                            rest
                        })
                    );
                }
                _ => {
                    let _ = write!(h, "<p class=\"text\">{}</p>", esc(&it.t));
                }
            }
            latency(h, it.l, it.b);
            h.push_str("</li>\n");
        }
        "tool" => {
            let _ = write!(
                h,
                "<li class=\"msg m-tool\"><span class=\"who\">tool call · step {n}</span><p class=\"text\"><code>{}</code>(<code>{}</code>)</p><p class=\"result\"><span class=\"lbl\">result:</span> <code>{}</code></p>",
                esc(it.r.as_deref().unwrap_or("")),
                esc(it.a.as_deref().unwrap_or("")),
                esc(it.o.as_deref().unwrap_or(""))
            );
            let _ = writeln!(
                h,
                "<p class=\"meta\">{}</p></li>",
                match &it.m {
                    Some(m) => format!("answered by {}", esc(m)),
                    None => "no mock answered".to_owned(),
                }
            );
        }
        _ => {
            let passed = it.p.unwrap_or(false);
            // An outcome check of a rule-following call is named by what it checks.
            let what = match &it.r {
                Some(check) => format!("check {n}: {}", esc(check)),
                None => format!("step {n}"),
            };
            let _ = write!(
                h,
                "<li class=\"verdict {}\"><span class=\"badge {}\">{what} {}</span>",
                if passed { "v-pass" } else { "v-fail" },
                if passed { "b-pass" } else { "b-fail" },
                if passed { "passed" } else { "FAILED" }
            );
            if !it.t.is_empty() {
                let _ = write!(h, " <span class=\"why\">{}</span>", esc(&it.t));
            }
            if !it.x.is_empty() {
                h.push_str(" <span class=\"expected\"><span class=\"lbl\">expected:</span> ");
                for (i, (missing, kw)) in it.x.iter().enumerate() {
                    if i > 0 {
                        h.push_str(", ");
                    }
                    if *missing {
                        let _ = write!(h, "<mark class=\"miss\">{} (missing)</mark>", esc(kw));
                    } else {
                        let _ = write!(h, "<span class=\"hit\">{}</span>", esc(kw));
                    }
                }
                h.push_str("</span>");
            }
            for y in &it.y {
                let _ = write!(h, " <span class=\"finding\">{}</span>", esc(y));
            }
            latency(h, it.l, it.b);
            h.push_str("</li>\n");
        }
    }
}

/// `420 ms (budget 800 ms)`, with `OVER BUDGET` in words when it is.
fn latency(h: &mut String, latency: Option<u64>, budget: Option<u64>) {
    match (latency, budget) {
        (Some(l), Some(b)) if l > b => {
            let _ = write!(h, "<p class=\"lat over\">{l} ms, OVER BUDGET of {b} ms</p>");
        }
        (Some(l), Some(b)) => {
            let _ = write!(h, "<p class=\"lat\">{l} ms (budget {b} ms)</p>");
        }
        (Some(l), None) => {
            let _ = write!(h, "<p class=\"lat\">{l} ms</p>");
        }
        (None, Some(b)) => {
            let _ = write!(
                h,
                "<p class=\"lat over\">latency unknown (budget {b} ms)</p>"
            );
        }
        (None, None) => {}
    }
}
