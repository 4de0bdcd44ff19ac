//! Running many case files outside `cargo test` (docs/runner.md), for the command-line runner:
//! the same pipeline as the generated tests (`pipeline.rs`), in parallel, results in sorted
//! file order, and the reports. Behind the `cli` feature. Here: what a report says (its
//! types: [`CaseReport`], [`Summary`], [`ReportMeta`]…) and the suite's files; the
//! schedulers are `schedule.rs`'s, each file's job `job.rs`'s, the JSON report `json.rs`'s,
//! JUnit `junit.rs`'s, merging shards `merge.rs`'s.

use std::path::PathBuf;

use serde::Serialize;

use crate::case::{Case, Status};
use crate::message;
use crate::pipeline::Select;
use crate::prepare::{self, CaseFile, FindError, Ids, Namer};
use crate::run::{self, Metrics, Outcome, Row, RunOptions, StepResult};

mod coverage;
mod html;
mod job;
mod json;
mod junit;
mod line;
mod merge;
mod schedule;

pub use crate::prepare::Shard;
pub use coverage::{CaseRef, Coverage, FeatureCoverage, MockCoverage, RuleCoverage, ToolCoverage};
pub use html::{HtmlReport, PageInfo};
pub use json::{CaseJson, JsonReportWriter};
pub use junit::JunitReport;
pub use merge::{MergeError, Merged, merge};
pub use schedule::{InFlight, run_suite, run_suite_in_flight, run_suite_with, sweep_suite};
pub(crate) use schedule::{in_flight_erased, run_suite_erased, sweep_suite_erased};

/// How a suite is selected and run.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SuiteOptions {
    /// Run only cases whose `test_id` or file path contains this text.
    pub filter: Option<String>,
    /// Run only cases that carry every one of these tags.
    pub tags: Vec<String>,
    /// How each call is run (the seed override, the timeout, the limits).
    pub run: RunOptions,
    /// Calls run at a time. The default is the number of cores.
    pub jobs: Option<std::num::NonZeroUsize>,
    /// Keep in each report what the HTML page and the coverage need (tags, what each step
    /// expects, which mocks and rules the call used). The default is `false`.
    pub facts: bool,
    /// Render each case's part of the HTML page on the thread that ran it (with `facts`),
    /// so the page is built on all the cores. The default is `false`.
    pub page: bool,
}

/// A case's verdict in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    /// The call passed.
    Pass,
    /// The call failed.
    Fail,
    /// The case could not be loaded or run.
    Error,
}

/// One case of the report (docs/runner.md), fields in the report's order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CaseReport {
    /// The case's `test_id`; `None` when the file could not be read that far.
    pub test_id: Option<String>,
    /// The file, relative to the current directory, with `/` separators.
    pub file: String,
    /// `pass`, `fail`, or `error`.
    pub status: ReportStatus,
    /// The status is what the case expects.
    pub as_expected: bool,
    /// Why the case could not be run (status `error`).
    pub error: Option<String>,
    /// The seed the simulator used.
    pub seed: Option<u64>,
    /// The conversation.
    pub transcript: Vec<Row>,
    /// The transcript was cut at the row limit (`MAX_TRANSCRIPT_SIZE`).
    pub truncated: bool,
    /// One verdict per turn.
    pub steps: Vec<StepResult>,
    /// `Step 2 Failed: …` lines, then tone findings.
    pub failures: Vec<String>,
    /// The metrics (docs/case-format.md, "Metrics").
    pub metrics: Option<Metrics>,
    /// The tone check passed.
    pub tone_passed: Option<bool>,
    /// A sweep's findings: from `voice-harness sweep`, where the rest of the entry is the
    /// first failing run's (or the first run's when none failed); and from `run` for a case
    /// with a `sweep` block, where the rest is the case's own call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<crate::sweep::SweepResult>,
    /// Where the minimal failing case was written (`sweep --shrink`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shrunk: Option<String>,
    /// Why the case is not as expected, on one line (the runner's line, JUnit's message);
    /// `null` when it is.
    reason: Option<String>,
    /// What the HTML page and the coverage need of the case ([`SuiteOptions::facts`]).
    #[serde(skip)]
    pub(crate) facts: Option<Box<coverage::CaseFacts>>,
    /// Its part of the HTML page, rendered ahead ([`SuiteOptions::page`]).
    #[serde(skip)]
    pub(crate) page: Option<Box<html::CasePage>>,
    /// The steps the case expects to fail (`expect.failure_steps`).
    #[serde(skip)]
    expected_failing: Vec<u32>,
    /// The case follows rules: its steps are the outcome checks.
    #[serde(skip)]
    rules: bool,
}

impl CaseReport {
    fn from_outcome(file: String, case: &Case, outcome: Outcome, facts: bool) -> Self {
        Self {
            page: None,
            expected_failing: case
                .expect
                .as_ref()
                .and_then(|e| e.failure_steps.clone())
                .unwrap_or_default(),
            rules: case.rules.is_some(),
            facts: facts.then(|| Box::new(coverage::CaseFacts::of(case, &outcome))),
            reason: run::reason(case, &outcome),
            failures: outcome.failures(),
            test_id: Some(outcome.test_id),
            file,
            status: match outcome.status {
                Status::Pass => ReportStatus::Pass,
                Status::Fail => ReportStatus::Fail,
            },
            as_expected: outcome.as_expected,
            error: None,
            seed: Some(outcome.seed),
            transcript: outcome.transcript,
            truncated: outcome.truncated,
            steps: outcome.steps,
            metrics: Some(outcome.metrics),
            tone_passed: Some(outcome.tone.passed),
            sweep: None,
            shrunk: None,
        }
    }

    fn error(file: String, test_id: Option<String>, error: String, reason: String) -> Self {
        Self {
            test_id,
            file,
            status: ReportStatus::Error,
            as_expected: false,
            error: Some(error),
            reason: Some(reason),
            seed: None,
            transcript: Vec::new(),
            truncated: false,
            steps: Vec::new(),
            failures: Vec::new(),
            metrics: None,
            tone_passed: None,
            sweep: None,
            shrunk: None,
            facts: None,
            page: None,
            expected_failing: Vec::new(),
            rules: false,
        }
    }

    /// Why the case is not as expected, on one line; `None` when it is. The same words
    /// as the `cargo test` message: the first failure, or for a negative test expected vs
    /// got (`expected fail, failing steps [2]; got fail, failing steps [2, 3]; …`).
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// The failed steps the case does not expect to fail (`expect.failure_steps`), in
    /// order: the first is the one [`reason`](Self::reason) names.
    pub fn unexpected_failures(&self) -> impl Iterator<Item = &StepResult> {
        self.steps
            .iter()
            .filter(|s| !s.passed && !self.expected_failing.contains(&s.step_order))
    }

    /// The case follows rules (`caller.rules`): its steps are its outcome checks, each
    /// named by its `expected_user_input`.
    pub fn is_rules(&self) -> bool {
        self.rules
    }
}

/// The totals of a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// Cases run (after selection).
    pub total: usize,
    /// Cases with status `pass`.
    pub passed: usize,
    /// Cases with status `fail`.
    pub failed: usize,
    /// Cases with status `error`.
    pub errors: usize,
    /// Cases whose status is what they expect.
    pub as_expected: usize,
}

impl Summary {
    /// `12 cases: 10 passed, 1 failed, 1 error` (without the verdict).
    pub fn counts(&self) -> String {
        format!(
            "{}: {} passed, {} failed, {}",
            message::count(self.total, "case", "cases"),
            self.passed,
            self.failed,
            message::count(self.errors, "error", "errors"),
        )
    }

    fn add(&mut self, case: &CaseReport) {
        self.total += 1;
        match case.status {
            ReportStatus::Pass => self.passed += 1,
            ReportStatus::Fail => self.failed += 1,
            ReportStatus::Error => self.errors += 1,
        }
        self.as_expected += usize::from(case.as_expected);
    }
}

/// A path given to the runner that does not exist, or a folder that cannot be read.
#[derive(Debug)]
pub struct PathError(FindError);

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            FindError::Missing(path) => f.write_str(&crate::message::no_such_path(path)),
            FindError::Unreadable(err) => {
                f.write_str(&crate::message::folder_unread(&err.path, &err.error))
            }
        }
    }
}

impl std::error::Error for PathError {}

/// The case files of a run: every `.json` file under the given folders (by the same rules
/// as `cargo test`'s discovery), and each file named directly whatever its extension,
/// sorted by name and each once however it was named. Files are named relative to the
/// current directory.
#[derive(Debug, Clone)]
pub struct CaseFiles(Vec<CaseFile>, std::sync::OnceLock<std::sync::Arc<Ids>>);

impl CaseFiles {
    /// Finds the case files under `paths`.
    pub fn find(paths: &[PathBuf]) -> Result<Self, PathError> {
        prepare::find(paths, &Namer::current_dir())
            .map(|files| Self(files, std::sync::OnceLock::new()))
            .map_err(PathError)
    }

    /// How many files were found.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No file was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The case file (its name as shown) that `path` names, if any: the same file however
    /// either is spelt (`./`, `..`, an absolute path, a link to it). A report written there
    /// would replace the case, so the runner refuses it.
    pub fn named(&self, path: &std::path::Path) -> Option<&str> {
        // A file that does not exist yet is no case file: nothing to compare.
        let target = std::fs::metadata(path).ok()?;
        if !target.is_file() {
            return None;
        }
        let same = |case: &std::path::Path| -> bool {
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                std::fs::metadata(case)
                    .is_ok_and(|m| m.dev() == target.dev() && m.ino() == target.ino())
            }
            #[cfg(not(unix))]
            {
                let canonical = |p: &std::path::Path| std::fs::canonicalize(p).ok();
                canonical(case).is_some() && canonical(case) == canonical(path)
            }
        };
        self.0
            .iter()
            .find(|f| same(&f.path))
            .map(|f| f.shown.as_str())
    }

    /// Only the files of `shard` (see [`Shard::holds`]). Their `test_id`s are still checked
    /// against every file found: two files that share one are errors whichever shards they
    /// fall in.
    pub fn shard(self, shard: Shard) -> Self {
        let suite = prepare::Suite::new(self.0, Some(shard));
        Self(suite.files, std::sync::OnceLock::from(suite.ids))
    }

    /// Whether the selection (`--filter`, `--tag`) runs any of these files, as a suite run
    /// decides it: a file that does not load is run (as its error) unless the filter rules
    /// it out by name. Loads the files: for when a shard's part of the selection is empty.
    pub fn any_selected(&self, options: &SuiteOptions) -> bool {
        let select = Select {
            filter: options.filter.as_deref(),
            tags: &options.tags,
        };
        self.0.iter().any(|file| match prepare::load(file) {
            Ok(case) => select.takes(&case, &file.shown),
            Err(_) => select.takes_unloaded(&file.shown),
        })
    }

    /// The `test_id` index of the whole suite these files were taken from (unsharded: of
    /// these files, as [`prepare::Suite::new`] makes it).
    fn ids(&self) -> &Ids {
        self.1
            .get_or_init(|| std::sync::Arc::new(Ids::scan(&self.0)))
    }

    /// What the report says of the run: the crate's version, the shard, and the whole
    /// suite (its files before sharding), so `merge` can tell the shards of one run.
    pub fn meta(&self, shard: Option<Shard>) -> ReportMeta {
        let names: Vec<&str> = self.0.iter().map(|f| f.shown.as_str()).collect();
        ReportMeta {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            shard: shard.map(|s| s.to_string()),
            files: self.0.len(),
            suite: format!("{:016x}", crate::rng::seed_for_test_id(&names.join("\n"))),
            mode: "run".to_owned(),
            seed: None,
            filter: None,
            tags: Vec::new(),
            agent: None,
            sweep: None,
            interrupted: false,
        }
    }
}

/// The report's `run` object: which run of which suite it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ReportMeta {
    /// The version of voice-harness that wrote it.
    pub version: String,
    /// `K/N` for a shard, `null` for a whole run.
    pub shard: Option<String>,
    /// Case files in the whole suite (every shard's).
    pub files: usize,
    /// A hash of the whole suite's file names: shards of one suite share it.
    pub suite: String,
    /// `run` or `sweep`: the command that wrote it.
    #[serde(default = "run_mode")]
    pub mode: String,
    /// The seed every case ran with (`--seed`), `null` for each case's own.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The `--filter` text, if any.
    #[serde(default)]
    pub filter: Option<String>,
    /// The `--tag`s, in the order given.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The agent in another process (`command: <argv>` or `url: <URL>`), `null` for the
    /// built-in agents.
    #[serde(default)]
    pub agent: Option<String>,
    /// A sweep's settings as given on the command line (`sweep` only).
    #[serde(default)]
    pub sweep: Option<serde_json::Value>,
    /// The run was interrupted (Ctrl-C, SIGTERM): the report holds only the cases that
    /// finished. Written only when it is true, so a whole run's report is as before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

fn run_mode() -> String {
    "run".to_owned()
}

/// Where a sweep writes minimal failing cases (`--shrink DIR`).
#[derive(Debug, Clone)]
pub struct ShrinkTo(pub PathBuf);
