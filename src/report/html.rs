//! The HTML report (docs/report.md): one self-contained page, written as cases arrive.
//!
//! Everything is inline (styles, script, charts as SVG), and a Content-Security-Policy
//! forbids the page any fetch. Without JavaScript the page shows the summary, the charts,
//! the coverage, and every case that is not as expected as a conversation in a `<details>`;
//! with it, cases can be filtered and the other cases are drawn when opened, from compact
//! JSON kept in a `<script type="application/json">` each (so 10,000 cases do not make
//! 10,000 conversations for the browser to lay out).
//!
//! Cases arrive in file order and go to one of two spools (temporary files, so memory does
//! not grow with the suite): those not as expected, and the rest. [`HtmlReport::finish`]
//! writes the head, the summary, the charts and the coverage, then both spools. Every byte
//! depends only on the cases, apart from the generation time and the run's duration (each
//! in an element of its own, `<time class="generated">` and `<span class="duration">`).
//!
//! All text from a case goes through [`clean`]: control and direction-changing characters
//! made visible, long texts cut with a visible note, then HTML-escaped (or, inside the JSON
//! data, escaped so that no `<` can end the script element).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, Write};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::coverage::{Coverage, matcher_text};
use super::{CaseReport, ReportMeta, ReportStatus, Summary};
use crate::call::RowEvent;
use crate::case::Speaker;

const STYLE: &str = include_str!("html/page.css");
const SCRIPT: &str = include_str!("html/page.js");

/// Texts longer than this many characters are cut, visibly.
pub(crate) const MAX_TEXT: usize = 2_000;
/// Cases not as expected drawn in the page itself (readable without JavaScript); the ones
/// after are drawn on demand like the rest.
const DRAWN_AHEAD: usize = 1_000;
/// Cases not as expected that the page shows open: the first failures are what people
/// came for.
const OPENED: usize = 5;
/// Links to cases not as expected in the summary.
const LINKED: usize = 200;
/// Steps shown in the latency charts.
const CHART_STEPS: usize = 40;
/// Cases shown in the pass-rate chart (the lowest bounds).
const CHART_CASES: usize = 60;

/// What the page says of the run, beside its cases: the agent, the seed, the time.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PageInfo {
    /// The agent under test: `built-in`, a program, a URL.
    pub agent: String,
    /// `--seed`, when every case used it.
    pub seed: Option<u64>,
    /// How long the run took (not deterministic: in its own element).
    pub duration: Duration,
    /// When the page was written (not deterministic: in its own element).
    pub generated: SystemTime,
    /// For a sweep: what was swept (`50 seeds from each case's own, 1 run each`).
    pub sweep: Option<String>,
}

impl PageInfo {
    /// A run of `agent` that took `duration`, written now.
    pub fn new(agent: impl Into<String>, duration: Duration) -> Self {
        Self {
            agent: agent.into(),
            seed: None,
            duration,
            generated: SystemTime::now(),
            sweep: None,
        }
    }

    /// Sets [`PageInfo::seed`].
    pub fn with_seed(mut self, seed: Option<u64>) -> Self {
        self.seed = seed;
        self
    }

    /// Sets [`PageInfo::sweep`].
    pub fn with_sweep(mut self, sweep: Option<String>) -> Self {
        self.sweep = sweep;
        self
    }

    /// Sets [`PageInfo::generated`].
    pub fn with_generated(mut self, generated: SystemTime) -> Self {
        self.generated = generated;
        self
    }
}

/// A case file spooled to a temporary file.
struct Spool {
    file: BufWriter<File>,
    cases: usize,
}

impl Spool {
    fn new() -> io::Result<Self> {
        Ok(Self {
            file: BufWriter::new(tempfile::tempfile()?),
            cases: 0,
        })
    }

    fn copy_to(self, out: &mut impl Write) -> io::Result<()> {
        let mut file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                return Ok(());
            }
            out.write_all(&buffer[..n])?;
        }
    }
}

/// Latencies of one step (`step_order`) over the suite, and its tightest budget.
#[derive(Default)]
struct StepLatencies {
    latencies: Vec<u64>,
    budget: Option<u64>,
}

/// A case's point in the pass-rate chart.
struct SweepPoint {
    id: usize,
    label: String,
    passes: u64,
    runs: u64,
    lower: f64,
    flaky: bool,
}

/// The HTML report, written as cases arrive (see the module's docs).
pub struct HtmlReport {
    /// Cases not as expected.
    flagged: Spool,
    /// Cases that fail as they are expected to (negative tests).
    failing: Spool,
    /// Cases that pass.
    rest: Spool,
    /// The calls the script draws, `"id": {...},` a line.
    data: Spool,
    cases: usize,
    linked: Vec<(usize, String)>,
    tags: BTreeSet<String>,
    steps: BTreeMap<u32, StepLatencies>,
    sweeps: Vec<SweepPoint>,
}

impl std::fmt::Debug for HtmlReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HtmlReport")
            .field("cases", &self.cases)
            .finish_non_exhaustive()
    }
}

impl HtmlReport {
    /// An empty report; its spools are temporary files.
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            flagged: Spool::new()?,
            failing: Spool::new()?,
            rest: Spool::new()?,
            data: Spool::new()?,
            cases: 0,
            linked: Vec::new(),
            tags: BTreeSet::new(),
            steps: BTreeMap::new(),
            sweeps: Vec::new(),
        })
    }

    /// Adds a case (in file order). Its conversation needs its transcript and steps, and
    /// its tags and expectations need [`super::SuiteOptions::facts`].
    pub fn case(&mut self, case: &CaseReport) -> io::Result<()> {
        let id = self.cases;
        self.cases += 1;
        let flagged = !case.as_expected;
        if let Some(facts) = &case.facts {
            self.tags.extend(facts.tags.iter().cloned());
        }
        let rendered;
        let page = match &case.page {
            Some(page) => page,
            None => {
                rendered = CasePage::of(case)?;
                &rendered
            }
        };
        for &(step, latency, budget) in &page.steps {
            let entry = self.steps.entry(step).or_default();
            if let Some(latency) = latency {
                entry.latencies.push(latency);
            }
            if let Some(budget) = budget {
                entry.budget = Some(entry.budget.map_or(budget, |b| b.min(budget)));
            }
        }
        if let Some(sweep) = &case.sweep {
            self.sweeps.push(SweepPoint {
                id,
                label: case.test_id.clone().unwrap_or_else(|| case.file.clone()),
                passes: sweep.passes,
                runs: sweep.runs,
                lower: sweep.wilson_lower,
                flaky: sweep.flaky,
            });
        }
        if flagged && self.linked.len() < LINKED {
            self.linked.push((id, label(case)));
        }
        let drawn = flagged && self.flagged.cases < DRAWN_AHEAD;
        let open = flagged && self.flagged.cases < OPENED;
        let spool = if flagged {
            &mut self.flagged
        } else if case.status != ReportStatus::Pass {
            &mut self.failing
        } else {
            &mut self.rest
        };
        spool.cases += 1;
        page.write(&mut spool.file, &mut self.data.file, id, drawn, open)
    }

    /// Writes the whole page to `out`.
    pub fn finish(
        self,
        mut out: impl Write,
        summary: &Summary,
        meta: &ReportMeta,
        coverage: &Coverage,
        info: &PageInfo,
    ) -> io::Result<()> {
        let mut head = String::with_capacity(64 * 1024);
        self.head(&mut head, summary, meta, coverage, info);
        out.write_all(head.as_bytes())?;
        self.flagged.copy_to(&mut out)?;
        self.failing.copy_to(&mut out)?;
        self.rest.copy_to(&mut out)?;
        // The data block: an object of the calls by case id (the last entry's comma is
        // followed by an empty key, so every entry can end in one).
        out.write_all(
            b"</div>\n</section>\n</main>\n<script type=\"application/json\" id=\"data\">{\n",
        )?;
        self.data.copy_to(&mut out)?;
        let mut tail = String::new();
        tail.push_str("\"\": null}</script>\n<script>\n");
        tail.push_str(SCRIPT);
        tail.push_str("</script>\n</body>\n</html>\n");
        out.write_all(tail.as_bytes())?;
        out.flush()
    }

    fn head(
        &self,
        h: &mut String,
        summary: &Summary,
        meta: &ReportMeta,
        coverage: &Coverage,
        info: &PageInfo,
    ) {
        let not_expected = summary.total - summary.as_expected;
        let verdict = if not_expected == 0 {
            "all as expected".to_owned()
        } else {
            format!("{not_expected} not as expected")
        };
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        // No fetch of any kind: the page must work from a CI artifact with no network.
        h.push_str(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; \
             form-action 'none'; base-uri 'none'\">\n",
        );
        h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        h.push_str("<meta name=\"color-scheme\" content=\"light dark\">\n");
        let _ = writeln!(
            h,
            "<title>voice-harness: {} cases, {}</title>",
            summary.total, verdict
        );
        // First of all, so it sees every fetch: one the policy blocks is a bug, said where a
        // test (or a person with the inspector) can see it.
        h.push_str(
            "<script>document.addEventListener('securitypolicyviolation', function (e) {\n  \
             var r = document.documentElement;\n  \
             r.setAttribute('data-blocked', (r.getAttribute('data-blocked') || '') + ' ' + e.blockedURI);\n\
             });</script>\n",
        );
        h.push_str("<style>\n");
        h.push_str(STYLE);
        h.push_str("</style>\n</head>\n<body>\n");
        h.push_str("<a class=\"skip\" href=\"#cases\">Skip to the cases</a>\n");
        h.push_str("<header>\n<h1>voice-harness report</h1>\n");
        let _ = writeln!(
            h,
            "<p class=\"verdict-line {}\"><strong>{}</strong>: {}</p>",
            if not_expected == 0 { "ok" } else { "bad" },
            if not_expected == 0 { "OK" } else { "NOT OK" },
            esc(&format!("{}; {verdict}", summary.counts()))
        );
        h.push_str(
            "<nav aria-label=\"Sections\"><ul><li><a href=\"#summary\">Summary</a></li>\
             <li><a href=\"#charts\">Charts</a></li><li><a href=\"#coverage\">Coverage</a></li>\
             <li><a href=\"#cases\">Cases</a></li></ul></nav>\n</header>\n<main>\n",
        );
        self.summary(h, summary, meta, info);
        self.charts(h);
        coverage_section(h, coverage);
        self.cases_head(h);
    }

    fn summary(&self, h: &mut String, s: &Summary, meta: &ReportMeta, info: &PageInfo) {
        h.push_str("<section id=\"summary\" aria-labelledby=\"summary-h\">\n<h2 id=\"summary-h\">Summary</h2>\n");
        h.push_str("<dl class=\"counts\">\n");
        let count = |h: &mut String, class: &str, what: &str, n: usize| {
            let _ = writeln!(
                h,
                "<div class=\"count {class}\"><dt>{what}</dt><dd>{n}</dd></div>"
            );
        };
        count(h, "total", "cases", s.total);
        count(h, "s-pass", "passed", s.passed);
        count(h, "s-fail", "failed", s.failed);
        count(h, "s-error", "errors", s.errors);
        count(h, "expected", "as expected", s.as_expected);
        count(h, "flagged", "not as expected", s.total - s.as_expected);
        h.push_str("</dl>\n<dl class=\"run\">\n");
        let item = |h: &mut String, what: &str, value: &str| {
            let _ = writeln!(h, "<div><dt>{what}</dt><dd>{value}</dd></div>");
        };
        item(h, "agent", &esc(&info.agent));
        item(
            h,
            "seed",
            &info
                .seed
                .map_or_else(|| "each case's own".to_owned(), |s| s.to_string()),
        );
        item(
            h,
            "shard",
            &esc(meta.shard.as_deref().unwrap_or("whole suite")),
        );
        if let Some(sweep) = &info.sweep {
            item(h, "sweep", &esc(sweep));
        }
        item(
            h,
            "files",
            &format!("{} in the suite ({})", meta.files, esc(&meta.suite)),
        );
        item(h, "voice-harness", &esc(&meta.version));
        item(
            h,
            "duration",
            &format!(
                "<span class=\"duration\">{:.2} s</span>",
                info.duration.as_secs_f64()
            ),
        );
        let stamp = timestamp(info.generated);
        item(
            h,
            "generated",
            &format!("<time class=\"generated\" datetime=\"{stamp}\">{stamp}</time>"),
        );
        h.push_str("</dl>\n");
        if self.linked.is_empty() {
            h.push_str("<p>Every case is as expected.</p>\n");
        } else {
            h.push_str("<h3>Not as expected</h3>\n<ul class=\"links\">\n");
            for (id, label) in &self.linked {
                let _ = writeln!(h, "<li><a href=\"#c{id}\">{}</a></li>", esc(label));
            }
            let more = (s.total - s.as_expected).saturating_sub(self.linked.len());
            if more > 0 {
                let _ = writeln!(h, "<li>(+{more} more below)</li>");
            }
            h.push_str("</ul>\n");
        }
        h.push_str("</section>\n");
    }

    fn charts(&self, h: &mut String) {
        h.push_str("<section id=\"charts\" aria-labelledby=\"charts-h\">\n<h2 id=\"charts-h\">Charts</h2>\n");
        latency_chart(h, &self.steps);
        if !self.sweeps.is_empty() {
            sweep_chart(h, &self.sweeps);
        }
        h.push_str("</section>\n");
    }

    fn cases_head(&self, h: &mut String) {
        h.push_str(
            "<section id=\"cases\" aria-labelledby=\"cases-h\">\n<h2 id=\"cases-h\">Cases</h2>\n",
        );
        let _ = writeln!(
            h,
            "<p>{} not as expected first, then {} failing as expected (negative tests), then {} passing, each in file order. Open a case to read its call. <span class=\"nojs\">Without JavaScript only the first cases not as expected show their call; the JSON report (<code>--json</code>) has every call.</span></p>",
            self.flagged.cases, self.failing.cases, self.rest.cases
        );
        h.push_str(
            "<form id=\"filters\" role=\"search\" aria-label=\"Filter the cases\" hidden>\n",
        );
        h.push_str(
            "<label>Status <select id=\"f-status\"><option value=\"\">all</option>\
             <option value=\"flagged\">not as expected</option><option value=\"fail\">fail</option>\
             <option value=\"error\">error</option><option value=\"pass\">pass</option></select></label>\n",
        );
        h.push_str("<label>Tag <select id=\"f-tag\"><option value=\"\">any</option>");
        for tag in &self.tags {
            let tag = esc(&clean(tag, 100));
            let _ = write!(h, "<option value=\"{tag}\">{tag}</option>");
        }
        h.push_str("</select></label>\n");
        h.push_str(
            "<label>Text <input type=\"search\" id=\"f-text\" placeholder=\"test id, file, reason\"></label>\n\
             <output id=\"f-count\" aria-live=\"polite\"></output>\n</form>\n",
        );
        h.push_str("<div id=\"list\">\n");
    }
}

/// `test_id (file)`, or the file alone.
fn label(case: &CaseReport) -> String {
    match &case.test_id {
        Some(id) => format!("{id} ({})", case.file),
        None => case.file.clone(),
    }
}

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
/// ([`super::SuiteOptions::page`]) or when it is added: its `<article>` in pieces, with
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
    steps: Vec<(u32, Option<u64>, Option<u64>)>,
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
    fn write(
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

/// JSON for a `<script type="application/json">`: `<`, `>` and `&` as `\u003c` and so on,
/// so nothing in it can close the element (they only occur inside JSON strings).
fn script_json(out: &mut Vec<u8>, value: &impl Serialize) -> io::Result<()> {
    let json = serde_json::to_vec(value).map_err(io::Error::other)?;
    out.reserve(json.len());
    for byte in json {
        match byte {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            _ => out.push(byte),
        }
    }
    Ok(())
}

/// A case's call as the page draws it: rows and step verdicts in order. The script draws
/// the same from its JSON (short keys, to keep big pages small).
#[derive(Serialize)]
struct View {
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
    fn of(case: &CaseReport) -> Self {
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
    fn draw(&self, h: &mut String) {
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
fn latency_chart(h: &mut String, steps: &BTreeMap<u32, StepLatencies>) {
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
fn case_chart(h: &mut String, steps: &[(u32, Option<u64>, Option<u64>)]) {
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
fn sweep_chart(h: &mut String, points: &[SweepPoint]) {
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

fn coverage_section(h: &mut String, c: &Coverage) {
    h.push_str("<section id=\"coverage\" aria-labelledby=\"coverage-h\">\n<h2 id=\"coverage-h\">Coverage</h2>\n");
    let _ = writeln!(
        h,
        "<p>What the {} cases that ran exercised (docs/report.md).</p>",
        c.cases
    );
    h.push_str("<h3>Tools and their mocks</h3>\n");
    if c.tools.is_empty() {
        h.push_str("<p>No tool is mocked or called in the suite.</p>\n");
    } else {
        h.push_str("<table class=\"tools\"><thead><tr><th scope=\"col\">tool</th><th scope=\"col\">calls</th><th scope=\"col\">unanswered</th><th scope=\"col\">mocks matched</th></tr></thead><tbody>\n");
        for (name, tool) in &c.tools {
            let _ = writeln!(
                h,
                "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td><td>{} of {}</td></tr>",
                esc(&clean(name, 200)),
                tool.calls,
                tool.unanswered,
                tool.mocks.len() as u64 - tool.never_matched,
                tool.mocks.len()
            );
        }
        h.push_str("</tbody></table>\n");
        let unused: Vec<_> = c.never_matched().collect();
        if unused.is_empty() {
            h.push_str("<p>Every mock answered at least one call.</p>\n");
        } else {
            let _ = writeln!(
                h,
                "<h4 id=\"unused-mocks\">Mocks that never matched ({}): a mock no call reaches tests nothing</h4>\n<ul class=\"unused\">",
                unused.len()
            );
            for (_, m) in unused.iter().take(LINKED) {
                let _ = writeln!(
                    h,
                    "<li class=\"unused-mock\"><code>{}</code> in {} ({}): match <code>{}</code></li>",
                    esc(&clean(&m.path, 300)),
                    esc(&clean(&m.file, 300)),
                    esc(&clean(&m.test_id, 200)),
                    esc(&clean(&matcher_text(m), 300))
                );
            }
            if unused.len() > LINKED {
                let _ = writeln!(h, "<li>(+{} more)</li>", unused.len() - LINKED);
            }
            h.push_str("</ul>\n");
        }
    }
    h.push_str("<h3>Caller rules</h3>\n");
    if c.rules.is_empty() {
        h.push_str("<p>No case has <code>caller.rules</code>.</p>\n");
    } else {
        h.push_str("<table class=\"rules\"><thead><tr><th scope=\"col\">case</th><th scope=\"col\">rule</th><th scope=\"col\">when</th><th scope=\"col\">fired</th></tr></thead><tbody>\n");
        for r in c.rules.iter().take(LINKED * 5) {
            let _ = writeln!(
                h,
                "<tr{}><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                if r.fired == 0 { " class=\"never\"" } else { "" },
                esc(&clean(&r.file, 300)),
                esc(&r.path),
                esc(&clean(&r.when, 300)),
                if r.fired == 0 {
                    "never".to_owned()
                } else {
                    r.fired.to_string()
                }
            );
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("<h3>Voice events and hearing</h3>\n<table class=\"voice\"><thead><tr><th scope=\"col\">feature</th><th scope=\"col\">cases</th><th scope=\"col\">times</th><th scope=\"col\">counting</th></tr></thead><tbody>\n");
    for f in &c.voice {
        let _ = writeln!(
            h,
            "<tr{}><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            if f.cases == 0 { " class=\"never\"" } else { "" },
            f.feature,
            f.cases,
            f.times,
            f.counts
        );
    }
    h.push_str("</tbody></table>\n<h3>Cases that check nothing</h3>\n");
    if c.checks_nothing.is_empty() {
        h.push_str("<p>Every case checks a keyword, a phrase, a tool call, a mention, a latency or an outcome.</p>\n");
    } else {
        let _ = writeln!(
            h,
            "<p>{} cases check no keyword, phrase, tool call, mention, latency or outcome: they pass whatever the agent says.</p>\n<ul class=\"unchecked\">",
            c.checks_nothing.len()
        );
        for case in c.checks_nothing.iter().take(LINKED) {
            let _ = writeln!(
                h,
                "<li>{} ({})</li>",
                esc(&clean(&case.file, 300)),
                esc(&clean(&case.test_id, 200))
            );
        }
        if c.checks_nothing.len() > LINKED {
            let _ = writeln!(h, "<li>(+{} more)</li>", c.checks_nothing.len() - LINKED);
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</section>\n");
}

/// Text from a case, made safe to show: control characters as their visible pictures
/// (`␛`), characters that reorder text (bidirectional overrides) and other invisible
/// format characters as `<U+202E>`, and text past `limit` characters cut with a note that
/// says how much is missing.
pub(crate) fn clean(text: &str, limit: usize) -> String {
    let mut out = String::with_capacity(text.len().min(limit.saturating_mul(4).saturating_add(64)));
    for (chars, c) in text.chars().enumerate() {
        if chars == limit {
            let total = text.chars().count();
            let _ = write!(
                out,
                " … [cut: {} more characters of {total}; the JSON report has the whole text]",
                total - chars
            );
            return out;
        }
        match c {
            '\n' | '\t' => out.push(c),
            '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?')),
            '\u{7f}' => out.push('␡'),
            '\u{80}'..='\u{9f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}' => {
                let _ = write!(out, "<U+{:04X}>", c as u32);
            }
            _ => out.push(c),
        }
    }
    out
}

/// [`clean`] text in at most `limit` characters, ending in `…` when cut (a label).
fn short(text: &str, limit: usize) -> String {
    let text = clean(text, usize::MAX);
    if text.chars().count() <= limit {
        return text;
    }
    let mut out: String = text.chars().take(limit.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `2026-11-30T09:41:36Z` (UTC, whole seconds).
fn timestamp(at: SystemTime) -> String {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-to-civil, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(timestamp(at(0)), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(at(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(timestamp(at(1_796_031_696)), "2026-11-30T09:41:36Z");
    }

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

    #[test]
    fn hostile_text_is_made_visible_cut_and_escaped() {
        assert_eq!(clean("a\u{1b}[31mb\u{0}", 100), "a␛[31mb␀");
        assert_eq!(clean("x\u{202e}y", 100), "x<U+202E>y");
        let long = "é".repeat(5000);
        let cut = clean(&long, 10);
        assert!(cut.starts_with(&"é".repeat(10)));
        assert!(
            cut.ends_with(
                "[cut: 4990 more characters of 5000; the JSON report has the whole text]"
            )
        );
        assert_eq!(esc("<script>'&\""), "&lt;script&gt;&#39;&amp;&quot;");
        let mut out = Vec::new();
        script_json(&mut out, &"</script><b>&").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""\u003c/script\u003e\u003cb\u003e\u0026""#
        );
    }
}
