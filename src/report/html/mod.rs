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
//! All text from a case goes through [`clean`](text::clean): control and direction-changing
//! characters made visible, long texts cut with a visible note, then HTML-escaped (or,
//! inside the JSON data, escaped so that no `<` can end the script element).
//!
//! This module holds the report itself: what it keeps of each case as it arrives, and the
//! order in which [`HtmlReport::finish`] puts the page together. The page's parts each have
//! a file:
//!
//! - `spool`: the temporary files cases wait in;
//! - `head`: the top of the page (document head, header, summary, the charts' section, the
//!   cases' heading and filters), written when the run is over;
//! - `case`: a case's `<article>`, rendered on the thread that ran it;
//! - `conversation`: a case's call as rows and step verdicts, drawn as HTML or kept as JSON;
//! - `charts`: the SVG charts (latency per step, pass rate per case, a case's latencies);
//! - `coverage`: the coverage section;
//! - `text`: making text from a case safe to show (cutting, escaping), and formatting;
//! - `page.css` and `page.js`: the page's style and script, included as they are.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use super::coverage::Coverage;
use super::{CaseReport, ReportMeta, ReportStatus, Summary};

mod case;
mod charts;
mod conversation;
mod coverage;
mod head;
mod spool;
mod text;

pub(crate) use case::CasePage;
use charts::{StepLatencies, SweepPoint};
use spool::Spool;

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

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
}

/// `test_id (file)`, or the file alone.
fn label(case: &CaseReport) -> String {
    match &case.test_id {
        Some(id) => format!("{id} ({})", case.file),
        None => case.file.clone(),
    }
}
