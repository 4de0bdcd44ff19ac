//! Running a folder of cases outside `cargo test` (SPEC §7): the same loader, simulator,
//! validation and metrics as the generated tests, in parallel, results in sorted file order.

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::agent::Agent;
use crate::case::{Case, Status};
use crate::error::{self, LoadError};
use crate::load::{case_files, display_path, load_case, peek_test_id, test_id_index};
use crate::metrics::Metrics;
use crate::run::{Outcome, RunOptions, run_case};
use crate::simulate::Row;
use crate::validate::StepResult;

/// How a suite is selected and run.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SuiteOptions {
    /// Run only cases whose `test_id` or file path contains this text.
    pub filter: Option<String>,
    /// Run only cases that carry every one of these tags.
    pub tags: Vec<String>,
    /// Use this seed for every case instead of its own.
    pub seed: Option<u64>,
    /// How each call is run.
    pub run: RunOptions,
}

/// A case's verdict in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    /// The call passed.
    Pass,
    /// The call failed.
    Fail,
    /// The case could not be loaded or run.
    Error,
}

/// One case of the report (SPEC §7), fields in the report's order.
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
    /// One verdict per turn.
    pub steps: Vec<StepResult>,
    /// `Step 2 Failed: …` lines, then tone findings.
    pub failures: Vec<String>,
    /// SPEC §6 metrics.
    pub metrics: Option<Metrics>,
    /// The tone check passed.
    pub tone_passed: Option<bool>,
    /// For status `error`: the first problem on one line (not part of the JSON report).
    #[serde(skip)]
    error_summary: Option<String>,
}

impl CaseReport {
    fn from_outcome(file: String, outcome: Outcome) -> Self {
        Self {
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
            steps: outcome.steps,
            metrics: Some(outcome.metrics),
            tone_passed: Some(outcome.tone.passed),
            error_summary: None,
        }
    }

    fn error(file: String, test_id: Option<String>, error: &LoadError) -> Self {
        Self {
            test_id,
            file,
            status: ReportStatus::Error,
            as_expected: false,
            error: Some(error.to_string()),
            error_summary: Some(error.summary()),
            seed: None,
            transcript: Vec::new(),
            steps: Vec::new(),
            failures: Vec::new(),
            metrics: None,
            tone_passed: None,
        }
    }

    /// The first reason the case is not as expected, on one line; `None` when it is.
    pub fn first_reason(&self) -> Option<String> {
        if self.as_expected {
            return None;
        }
        if let Some(summary) = &self.error_summary {
            return Some(summary.clone());
        }
        Some(match self.failures.first() {
            Some(failure) => failure.clone(),
            None => "passed, but the case expects it to fail".to_owned(),
        })
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

/// A path given to the runner that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPath(pub PathBuf);

impl std::fmt::Display for MissingPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no such file or folder: {}", self.0.display())
    }
}

impl std::error::Error for MissingPath {}

/// Every `.json` file under the given files and folders, sorted and without repeats. A file
/// named directly is taken whatever its extension.
pub fn find_case_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, MissingPath> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            files.extend(case_files(path));
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(MissingPath(path.clone()));
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// How a file is named in the report: relative to the current directory when it is below it,
/// with `/` separators and no `./`.
pub fn report_path(path: &Path) -> String {
    let relative = match std::env::current_dir() {
        Ok(cwd) if path.is_absolute() => path.strip_prefix(&cwd).unwrap_or(path),
        _ => path,
    };
    let clean: PathBuf = relative
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    display_path(&clean)
}

/// Files handled per parallel batch: results are handed out in file order after each batch,
/// so memory holds one batch of transcripts, not the whole suite.
const BATCH: usize = 256;

/// Runs `files` (from [`find_case_files`]) on the current rayon pool and hands each selected
/// case's report to `on_case`, in file order. `make_agent` is called once per simulated call.
///
/// A file that cannot be loaded, or shares its `test_id` with another file, is status
/// `error`; every other case still runs.
pub fn run_suite<A, F>(
    files: &[PathBuf],
    options: &SuiteOptions,
    make_agent: F,
    mut on_case: impl FnMut(CaseReport),
) -> Summary
where
    A: Agent,
    F: Fn(&Case) -> A + Sync,
{
    let ids = test_id_index(files, report_path);
    let mut summary = Summary::default();
    for batch in files.chunks(BATCH) {
        let reports: Vec<Option<CaseReport>> = batch
            .par_iter()
            .map(|file| run_file(file, options, &ids, &make_agent))
            .collect();
        for report in reports.into_iter().flatten() {
            summary.add(&report);
            on_case(report);
        }
    }
    summary
}

fn run_file<A: Agent>(
    file: &Path,
    options: &SuiteOptions,
    ids: &std::collections::BTreeMap<String, Vec<String>>,
    make_agent: &impl Fn(&Case) -> A,
) -> Option<CaseReport> {
    let shown = report_path(file);
    let mut case = match load_case(file) {
        Ok(case) => case,
        Err(err) => {
            // The case's tags are unknown: keep its error unless the filter rules it out.
            if options
                .filter
                .as_deref()
                .is_some_and(|f| !shown.contains(f))
            {
                return None;
            }
            let err = err.renamed(shown.clone());
            return Some(CaseReport::error(shown, peek_test_id(file), &err));
        }
    };
    if !selected(&case, &shown, options) {
        return None;
    }
    if let Some(others) = ids.get(&case.test_id).filter(|files| files.len() > 1) {
        let others: Vec<String> = others.iter().filter(|f| **f != shown).cloned().collect();
        let problem = error::duplicate_test_id(&case.test_id, &others);
        let err = LoadError::new(shown.clone(), vec![problem]);
        return Some(CaseReport::error(shown, Some(case.test_id), &err));
    }
    if options.seed.is_some() {
        case.seed_override = options.seed;
    }
    let outcome = run_case(&case, &mut make_agent(&case), &options.run);
    Some(CaseReport::from_outcome(shown, outcome))
}

fn selected(case: &Case, shown: &str, options: &SuiteOptions) -> bool {
    let filter_ok = options
        .filter
        .as_deref()
        .is_none_or(|f| case.test_id.contains(f) || shown.contains(f));
    filter_ok && options.tags.iter().all(|tag| case.tags.contains(tag))
}

/// Writes the JSON report of SPEC §7 as cases arrive: `{"cases": [...], "summary": {...}}`,
/// one case per line. The bytes depend only on the cases, never on timing or threads.
#[derive(Debug)]
pub struct JsonReportWriter<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> JsonReportWriter<W> {
    /// Starts the report.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(b"{\"cases\": [")?;
        Ok(Self { out, first: true })
    }

    /// Appends one case.
    pub fn case(&mut self, case: &CaseReport) -> io::Result<()> {
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        serde_json::to_writer(&mut self.out, case).map_err(io::Error::other)
    }

    /// Ends the report with its summary and flushes it; returns the writer.
    pub fn finish(mut self, summary: &Summary) -> io::Result<W> {
        self.out.write_all(b"\n],\n\"summary\": ")?;
        serde_json::to_writer(&mut self.out, summary).map_err(io::Error::other)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}
