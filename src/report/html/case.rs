//! A case's share of the HTML page: its `<article>`, with the summary line (badge, test id,
//! file, why it is not as expected, its sweep's pass rate) and its call, either drawn as
//! HTML or kept as JSON for the script. Rendered on the thread that ran the case, with a
//! placeholder for the id the case gets from its place in the page.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::conversation::View;
use super::text::{clean, esc, script_json};
use crate::report::{CaseReport, ReportStatus};

/// The tightest budget (`max_latency_ms`) of `step` in `case`.
fn budget_of(case: &CaseReport, step: u32) -> Option<u64> {
    case.facts
        .as_ref()?
        .steps
        .iter()
        .find(|s| s.step_order == step)?
        .budget
}

/// Where a case's id goes in its [`CasePage`]: the id is its place in the page, known only
/// where cases are handed on in order. (No text from a case can hold it: [`clean`] shows
/// control characters as pictures, and JSON escapes them.)
const ID: char = '\0';

/// A case's share of the page, rendered on the thread that ran it
/// ([`crate::report::SuiteOptions::page`]) or when it is added: its `<article>` in pieces, with
/// [`ID`] where its id goes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CasePage {
    /// `<article ...>` up to `<details data-c="…"` (the page adds ` open` and `>`).
    head: String,
    /// From `<summary>` to the opening of the body.
    summary: String,
    /// The call drawn as HTML: only for a case not as expected.
    drawn: Option<String>,
    /// The call as JSON for the script.
    data: Vec<u8>,
    /// Per step: its number, latency and budget (for the suite's chart).
    pub(super) steps: Vec<(u32, Option<u64>, Option<u64>)>,
}

impl CasePage {
    /// Renders `case`.
    pub(crate) fn of(case: &CaseReport) -> io::Result<Self> {
        let status = match case.status {
            ReportStatus::Pass => "pass",
            ReportStatus::Fail => "fail",
            ReportStatus::Error => "error",
        };
        let tags = case
            .facts
            .as_ref()
            .map(|f| f.tags.as_slice())
            .unwrap_or(&[]);
        let test_id = case.test_id.as_deref().unwrap_or("");
        let reason = case.reason().unwrap_or("");
        let mut head = String::with_capacity(512);
        let _ = write!(
            head,
            "<article class=\"case s-{status}{}\" id=\"c{ID}\" data-status=\"{status}\" data-ok=\"{}\" data-test-id=\"{}\" data-tags=\"{}\">\n<details data-c=\"{ID}\"",
            if case.as_expected { "" } else { " flagged" },
            u8::from(case.as_expected),
            esc(&clean(test_id, 200)),
            esc(&clean(&tags.join("\n"), 500)),
        );
        let mut h = String::with_capacity(512);
        h.push_str("\n<summary>");
        badge(&mut h, case.status, case.as_expected);
        let _ = write!(
            h,
            " <span class=\"tid\">{}</span> <span class=\"file\">{}</span>",
            esc(&clean(
                if test_id.is_empty() {
                    "(no test_id)"
                } else {
                    test_id
                },
                200
            )),
            esc(&clean(&case.file, 300))
        );
        if !case.as_expected && !reason.is_empty() {
            let _ = write!(
                h,
                " <span class=\"why\">{}</span>",
                esc(&clean(reason, 300))
            );
        }
        if let Some(sweep) = &case.sweep {
            let _ = write!(
                h,
                " <span class=\"rate\">{}/{} passed{}</span>",
                sweep.passes,
                sweep.runs,
                if sweep.flaky { ", FLAKY" } else { "" }
            );
        }
        h.push_str("</summary>\n<div class=\"body\">");
        let view = View::of(case);
        let drawn = (!case.as_expected).then(|| {
            let mut d = String::with_capacity(4 * 1024);
            let _ = writeln!(
                d,
                "<p class=\"permalink\"><a href=\"#c{ID}\">Link to this case</a></p>"
            );
            view.draw(&mut d);
            d
        });
        let mut data = Vec::with_capacity(2 * 1024);
        script_json(&mut data, &view)?;
        let steps = case
            .steps
            .iter()
            .map(|s| (s.step_order, s.latency_ms, budget_of(case, s.step_order)))
            .collect();
        Ok(Self {
            head,
            summary: h,
            drawn,
            data,
            steps,
        })
    }

    /// Writes the `<article>` with `id` to `out`, its call drawn (`drawn`, for a case not
    /// as expected) or its JSON to `data` for the script.
    pub(super) fn write(
        &self,
        out: &mut impl Write,
        data: &mut impl Write,
        id: usize,
        drawn: bool,
        open: bool,
    ) -> io::Result<()> {
        let id = id.to_string();
        let put = |out: &mut dyn Write, text: &str| -> io::Result<()> {
            for (i, piece) in text.split(ID).enumerate() {
                if i > 0 {
                    out.write_all(id.as_bytes())?;
                }
                out.write_all(piece.as_bytes())?;
            }
            Ok(())
        };
        put(out, &self.head)?;
        out.write_all(if open { b" open>" } else { b">" })?;
        out.write_all(self.summary.as_bytes())?;
        match (&self.drawn, drawn) {
            (Some(body), true) => put(out, body)?,
            _ => {
                // Kept in the page's one data block, drawn when opened: a script element
                // per case made a 10,000-case page take twice as long to open
                // (BENCHMARKS.md).
                write!(data, "\"{id}\":")?;
                data.write_all(&self.data)?;
                data.write_all(b",\n")?;
            }
        }
        out.write_all(b"</div>\n</details>\n</article>\n")
    }
}

/// `PASS`, `FAIL`, `ERROR`, or `FAIL (expected)`: colour and words, never colour alone.
fn badge(h: &mut String, status: ReportStatus, as_expected: bool) {
    let (class, text) = match (status, as_expected) {
        (ReportStatus::Pass, true) => ("b-pass", "PASS"),
        (ReportStatus::Pass, false) => ("b-bad", "PASS (expected fail)"),
        (ReportStatus::Fail, true) => ("b-xfail", "FAIL (as expected)"),
        (ReportStatus::Fail, false) => ("b-fail", "FAIL"),
        (ReportStatus::Error, _) => ("b-error", "ERROR"),
    };
    let _ = write!(h, "<span class=\"badge {class}\">{text}</span>");
}
