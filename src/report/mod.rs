//! Running many case files outside `cargo test` (docs/runner.md), for the command-line runner:
//! the same preparation path as the generated tests (`prepare`), in parallel, results in
//! sorted file order, and the JSON and JUnit reports. Behind the `cli` feature.

use std::io::{self, Write};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::agent::Agent;
use crate::case::discover::peek_test_id;
use crate::case::{Case, LoadError, Status};
use crate::message;
use crate::prepare::{self, CaseFile, FindError, Ids, Namer};
use crate::run::{Metrics, Outcome, Row, RunOptions, StepResult};

mod coverage;
mod html;
mod junit;
mod line;
mod merge;

pub use crate::prepare::Shard;
pub use coverage::{CaseRef, Coverage, FeatureCoverage, MockCoverage, RuleCoverage, ToolCoverage};
pub use html::{HtmlReport, PageInfo};
pub use junit::JunitReport;
pub use merge::{MergeError, Merged, merge};

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
            reason: prepare::reason(case, &outcome),
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
            FindError::Missing(path) => write!(f, "no such file or folder: {}", path.display()),
            FindError::Unreadable(err) => {
                write!(
                    f,
                    "cannot read the folder {}: {}",
                    err.path.display(),
                    err.error
                )
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
        self.0.iter().any(|file| match prepare::load(file) {
            Ok(case) => selected(&case, &file.shown, options),
            Err(_) => options
                .filter
                .as_deref()
                .is_none_or(|f| file.shown.contains(f)),
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

/// The run was interrupted (Ctrl-C, SIGTERM: see [`crate::agent::processes::stop_all`]).
fn stopped() -> bool {
    crate::agent::processes::stopped()
}

/// Files started ahead of the first one not yet handed on: reports are handed on in file
/// order, so memory holds this many reports at most, not the whole suite's.
const WINDOW: usize = 512;

/// The loop that hands reports on sleeps until this many more files are done.
const WAKE_EVERY: usize = 32;

/// Runs `files` on `options.jobs` threads. `on_progress` is called as each file is done (in
/// any order: for a progress bar); each selected case's report is handed to `on_case` in
/// file order, as soon as every file before it is done, so output streams while it stays
/// in a stable order. `make_agent` is called once per simulated call.
///
/// A file that cannot be loaded, shares its `test_id` with another file, or whose agent
/// cannot be built, is status `error`; every other case still runs.
pub fn run_suite<A, F>(
    files: &CaseFiles,
    options: &SuiteOptions,
    make_agent: F,
    on_progress: impl FnMut(),
    mut on_case: impl FnMut(CaseReport),
) -> Summary
where
    A: Agent,
    F: Fn(&Case) -> A + Sync,
{
    run_suite_with(
        files,
        options,
        make_agent,
        |_: &mut CaseReport| (),
        on_progress,
        |case, ()| on_case(case),
    )
}

/// [`run_suite`], with `render` called on each report on the thread that ran its case, in
/// parallel; what it returns comes to `on_case` with the report. Put a report's costly
/// output there, such as its line of the JSON report ([`CaseJson::of`]): the thread that
/// hands reports on in order then only writes. `render` may also take out of the report
/// what `on_case` does not need (its transcript and steps, the bulk of it), so that they
/// are freed on that thread too; the summary counts only statuses.
///
/// ```
/// # use voice_harness::report::*;
/// # fn demo(files: &CaseFiles) -> std::io::Result<()> {
/// let mut json = JsonReportWriter::new(Vec::new())?;
/// let summary = run_suite_with(
///     files,
///     &SuiteOptions::default(),
///     voice_harness::BuiltinAgent::for_case,
///     |case| {
///         let line = CaseJson::of(case);
///         std::mem::take(&mut case.transcript);
///         line
///     },
///     || {},
///     |case, line| {
///         assert!(case.transcript.is_empty(), "taken by render");
///         let _ = line.and_then(|line| json.rendered(&line));
///     },
/// );
/// # let _ = summary; Ok(()) }
/// ```
pub fn run_suite_with<A, F, T>(
    files: &CaseFiles,
    options: &SuiteOptions,
    make_agent: F,
    render: impl Fn(&mut CaseReport) -> T + Sync,
    on_progress: impl FnMut(),
    on_case: impl FnMut(CaseReport, T),
) -> Summary
where
    A: Agent,
    F: Fn(&Case) -> A + Sync,
    T: Send,
{
    let ids = files.ids();
    let job = |file: &CaseFile| {
        run_file(file, options, ids, &make_agent).map(|mut report| {
            let rendered = render(&mut report);
            (report, rendered)
        })
    };
    in_parallel(files, options.jobs, &job, on_progress, on_case)
}

/// Runs `job` for every file on `jobs` threads, handing reports on in file order (see
/// [`run_suite`]), and adds them up.
fn in_parallel<T: Send>(
    files: &CaseFiles,
    jobs: Option<std::num::NonZeroUsize>,
    job: &(dyn Fn(&CaseFile) -> Option<(CaseReport, T)> + Sync),
    mut on_progress: impl FnMut(),
    mut on_case: impl FnMut(CaseReport, T),
) -> Summary {
    let mut summary = Summary::default();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.map_or(0, std::num::NonZeroUsize::get))
        .build();
    let mut hand_on = |(report, rendered): (CaseReport, T)| {
        summary.add(&report);
        on_case(report, rendered);
    };
    // Once the run is interrupted, no file starts, and a call that ends counts for nothing
    // (its agent was stopped); the calls that ended before are handed on as usual.
    let job = &|file: &CaseFile| {
        if stopped() {
            return None;
        }
        job(file).filter(|_| !stopped())
    };
    let files = &files.0;
    match &pool {
        // The scope's body (the loop that hands results on) runs on this thread, so the
        // pool's threads all run calls.
        Ok(pool) => pool
            .in_place_scope(|scope| run_window(scope, files, job, &mut on_progress, &mut hand_on)),
        Err(_) => rayon::in_place_scope(|scope| {
            run_window(scope, files, job, &mut on_progress, &mut hand_on)
        }),
    }
    summary
}

fn run_window<'s, T: Send + 's>(
    scope: &rayon::Scope<'s>,
    files: &'s [CaseFile],
    job: &'s (dyn Fn(&CaseFile) -> Option<(CaseReport, T)> + Sync),
    on_progress: &mut impl FnMut(),
    on_case: &mut impl FnMut((CaseReport, T)),
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex, PoisonError};

    // A job's result: `Ok(None)` is done and not selected; `Err` a panic, re-raised here.
    type Done<T> = std::thread::Result<Option<(CaseReport, T)>>;
    /// Slot `i % WINDOW` holds file i's result until it is handed on.
    struct Window<T> {
        slots: Vec<Option<Done<T>>>,
        /// Results in all (`finished`) at which the job that brings it wakes this thread.
        wake_at: usize,
    }
    struct Shared<T> {
        window: Mutex<Window<T>>,
        ready: Condvar,
        finished: AtomicUsize,
    }
    impl<T> Shared<T> {
        fn lock(&self) -> std::sync::MutexGuard<'_, Window<T>> {
            self.window.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }
    // Jobs must live as long as the scope (`'s`), longer than this function's locals.
    let shared = std::sync::Arc::new(Shared::<T> {
        window: Mutex::new(Window {
            slots: (0..WINDOW).map(|_| None).collect(),
            wake_at: 0,
        }),
        ready: Condvar::new(),
        finished: AtomicUsize::new(0),
    });

    // A sliding window: file i starts once file i - WINDOW is handed on, so the cores never
    // wait for a batch's last call, and memory holds at most WINDOW reports. A job wakes
    // this thread only when it brings the count of results to the one this thread waits
    // for (`wake_at`), not once per file.
    let mut started = 0;
    let start_up_to = |started: &mut usize, limit: usize| {
        while *started < limit.min(files.len()) {
            let (i, file, shared) = (*started, &files[*started], shared.clone());
            scope.spawn(move |_| {
                // A job reports even when it panics, so this loop never waits for it forever.
                let result = std::panic::catch_unwind(AssertUnwindSafe(|| job(file)));
                let mut window = shared.lock();
                window.slots[i % WINDOW] = Some(result);
                // Counted under the lock: a result taken is a result counted.
                let finished = shared.finished.fetch_add(1, Ordering::Relaxed) + 1;
                let wake = finished == window.wake_at;
                drop(window);
                if wake {
                    shared.ready.notify_one();
                }
            });
            *started += 1;
        }
    };
    start_up_to(&mut started, WINDOW);
    let (mut next, mut progressed) = (0, 0);
    let mut taken: Vec<Done<T>> = Vec::new();
    while next < files.len() {
        let mut window = shared.lock();
        while next + taken.len() < files.len() {
            match window.slots[(next + taken.len()) % WINDOW].take() {
                Some(done) => taken.push(done),
                None => break,
            }
        }
        let finished = shared.finished.load(Ordering::Relaxed);
        // Sleeps until WAKE_EVERY more results are in (all that were started, near the
        // end), or 100 ms: waking once per file cost a context switch per file.
        let wake_at = (finished + WAKE_EVERY).min(started);
        if taken.is_empty() && finished < wake_at {
            window.wake_at = wake_at;
            // Wakes at least every 100 ms, so a progress bar moves while a slow case holds
            // the ones after it.
            drop(
                shared
                    .ready
                    .wait_timeout(window, Duration::from_millis(100))
                    .unwrap_or_else(PoisonError::into_inner),
            );
        } else {
            drop(window);
        }
        let finished = shared.finished.load(Ordering::Relaxed);
        for _ in progressed..finished {
            on_progress();
        }
        progressed = finished;
        for done in taken.drain(..) {
            next += 1;
            // A bug, not a case's error (those are reports): it ends the run, as before.
            if let Some(report) = done.unwrap_or_else(|payload| std::panic::resume_unwind(payload))
            {
                on_case(report);
            }
        }
        start_up_to(&mut started, next + WINDOW);
    }
}

/// How many calls to an agent in another process are in flight at once.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct InFlight {
    /// Calls in flight at once (`--concurrency`, default 32).
    pub concurrency: usize,
    /// Calls started per second at most (`--rate`), for agents behind paid APIs.
    pub rate: Option<f64>,
}

impl InFlight {
    /// `concurrency` calls at once, no rate limit.
    pub fn new(concurrency: usize) -> Self {
        Self {
            concurrency: concurrency.max(1),
            rate: None,
        }
    }

    /// Sets [`InFlight::rate`].
    pub fn with_rate(mut self, rate: Option<f64>) -> Self {
        self.rate = rate;
        self
    }
}

/// Like [`run_suite`], for agents in another process: up to `in_flight.concurrency` calls
/// at once on one thread (their waits are I/O, not work), started at most `rate` a second.
/// Reports come in file order as in [`run_suite`]; memory holds a window of
/// 4 × concurrency cases.
///
/// A case that needs an LLM (a `judge`, a rephrasing caller) runs on a thread of its own,
/// with a runtime of its own (`make_agent` is called there): the LLM's requests block
/// their thread, and must not stop the calls in flight. Give its agent no [`HttpPool`] of
/// this runtime's ([`Case::uses_llm`] tells it).
///
/// [`HttpPool`]: crate::agent::HttpPool
pub fn run_suite_in_flight<A, F>(
    files: &CaseFiles,
    options: &SuiteOptions,
    in_flight: InFlight,
    make_agent: F,
    mut on_progress: impl FnMut(),
    mut on_case: impl FnMut(CaseReport),
) -> Summary
where
    A: Agent,
    F: Fn(&Case) -> A + Sync,
{
    use std::future::Future;
    use std::pin::Pin;
    use std::task::Poll;

    let ids = files.ids();
    let mut summary = Summary::default();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(_) => {
            return run_suite_serially(files, options, ids, &make_agent, on_progress, on_case);
        }
    };
    let files = &files.0;
    let window = in_flight.concurrency.saturating_mul(4).max(1);
    let make_agent = &make_agent;
    // The scope holds the threads of the cases that need an LLM (see above).
    std::thread::scope(|scope| {
        runtime.block_on(async {
            type Job<'a> = Pin<Box<dyn Future<Output = (usize, Option<CaseReport>)> + 'a>>;
            let mut running: Vec<Job<'_>> = Vec::new();
            let mut finished: std::collections::BTreeMap<usize, Option<CaseReport>> =
                std::collections::BTreeMap::new();
            // Starts are spaced 1/rate apart, counted from the previous start as it happened:
            // after a stall (every slot taken by slow calls) the next call waits its turn again
            // instead of catching up in a burst (#23). Waiting is one more thing polled beside
            // the calls in flight, never a wait that stops them.
            let spacing = in_flight
                .rate
                .filter(|r| *r > 0.0 && r.is_finite())
                .map(|r| Duration::from_secs_f64(1.0 / r));
            let mut next_start_at: Option<tokio::time::Instant> = None;
            let (mut next_start, mut next_out) = (0, 0);
            loop {
                let may_start = |running: &Vec<Job<'_>>, next_start: usize, next_out: usize| {
                    running.len() < in_flight.concurrency
                        && next_start < files.len()
                        && next_start < next_out + window
                };
                while !stopped()
                    && may_start(&running, next_start, next_out)
                    && next_start_at.is_none_or(|at| tokio::time::Instant::now() >= at)
                {
                    let (i, file) = (next_start, &files[next_start]);
                    let ids = &ids;
                    running.push(Box::pin(async move {
                        let report =
                            run_file_in_flight(file, options, ids, make_agent, scope).await;
                        // A call that ends once the run is interrupted counts for nothing: its
                        // agent was stopped.
                        (i, report.filter(|_| !stopped()))
                    }));
                    next_start += 1;
                    next_start_at = spacing.map(|d| tokio::time::Instant::now() + d);
                }
                if stopped() || (running.is_empty() && next_start >= files.len()) {
                    break;
                }
                // The next start, when one waits only for its time to come.
                let mut start_timer = next_start_at
                    .filter(|_| may_start(&running, next_start, next_out))
                    .map(|at| Box::pin(tokio::time::sleep_until(at)));
                let mut interrupted = std::pin::pin!(crate::agent::processes::interrupted());
                // Polls every call in flight, the next start's timer and the interruption; takes
                // the first call that is done (`None`: time to start one, or to stop).
                let done = std::future::poll_fn(|cx| {
                    if interrupted.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(None);
                    }
                    for k in 0..running.len() {
                        if let Poll::Ready(done) = running[k].as_mut().poll(cx) {
                            drop(running.swap_remove(k));
                            return Poll::Ready(Some(done));
                        }
                    }
                    match start_timer.as_mut().map(|timer| timer.as_mut().poll(cx)) {
                        Some(Poll::Ready(())) => Poll::Ready(None),
                        _ => Poll::Pending,
                    }
                })
                .await;
                let Some((i, report)) = done else {
                    continue;
                };
                on_progress();
                finished.insert(i, report);
                while let Some(report) = finished.remove(&next_out) {
                    next_out += 1;
                    if let Some(report) = report {
                        summary.add(&report);
                        on_case(report);
                    }
                }
            }
            // Interrupted: the calls in flight end here (dropping an agent ends its program),
            // and the calls that ended before are handed on, in file order.
            drop(running);
            for report in finished.into_values().flatten() {
                summary.add(&report);
                on_case(report);
            }
        })
    });
    summary
}

/// One file after another on this thread: the fallback when no runtime can be built.
fn run_suite_serially<A: Agent>(
    files: &CaseFiles,
    options: &SuiteOptions,
    ids: &Ids,
    make_agent: &impl Fn(&Case) -> A,
    mut on_progress: impl FnMut(),
    mut on_case: impl FnMut(CaseReport),
) -> Summary {
    let mut summary = Summary::default();
    for file in &files.0 {
        if stopped() {
            break;
        }
        on_progress();
        if let Some(report) = run_file(file, options, ids, make_agent) {
            summary.add(&report);
            on_case(report);
        }
    }
    summary
}

/// [`run_file`] among the calls in flight: on the current runtime, or for a case that
/// needs an LLM, on a thread of `scope` (whose requests block it), awaited here.
async fn run_file_in_flight<'scope, 'env, A: Agent>(
    file: &'env CaseFile,
    options: &'env SuiteOptions,
    ids: &'env Ids,
    make_agent: &'env (impl Fn(&Case) -> A + Sync),
    scope: &'scope std::thread::Scope<'scope, 'env>,
) -> Option<CaseReport> {
    let case = match ready(file, options, ids) {
        Ok(case) => case,
        Err(report) => return report.map(|r| *r),
    };
    if case.uses_llm() {
        let (done, report) = tokio::sync::oneshot::channel();
        scope.spawn(move || {
            let report = std::panic::catch_unwind(AssertUnwindSafe(|| {
                call(file, &case, options, make_agent)
            }));
            let _ = done.send(report);
        });
        // A panic is a bug, not a case's error: it ends the run, as on the cores.
        return match report.await {
            Ok(Ok(report)) => Some(report),
            Ok(Err(payload)) => std::panic::resume_unwind(payload),
            Err(_) => unreachable!("the thread sends its report or its panic"),
        };
    }
    let here = std::path::Path::new("");
    let mut report = ran(
        file,
        &case,
        prepare::run_file_here(file, &case, make_agent, &options.run, here).await,
        options.facts,
    );
    if report.status != ReportStatus::Error {
        let swept = crate::sweep::sweep_if_asked_here(&case, make_agent, &options.run, None).await;
        with_sweep(&mut report, &file.shown, swept);
    }
    Some(rendered(report, options))
}

/// A case's own call, and its sweep when its `sweep` block asks for one (`run`, as
/// `cargo test` does): the report gains the `sweep` object, and a sweep that fails makes
/// the case not as expected, its reason saying so after the call's own.
fn with_sweep(
    report: &mut CaseReport,
    shown: &str,
    swept: Result<Option<crate::sweep::Swept>, String>,
) {
    match swept {
        Ok(None) => {}
        // A call of the sweep never started: the case is an error, whatever its own call did.
        Ok(Some((result, ..))) if result.errored => {
            let why = result.first_failure.as_ref().map(|f| f.reason.clone());
            *report = CaseReport::error(
                shown.to_owned(),
                report.test_id.clone(),
                why.unwrap_or_default(),
                result.to_string(),
            );
            report.sweep = Some(result);
        }
        Ok(Some((result, ..))) => {
            if !result.ok {
                report.as_expected = false;
                let sweep = format!("sweep: {result}");
                report.reason = Some(match report.reason.take() {
                    Some(own) => format!("{own}; {sweep}"),
                    None => sweep,
                });
            }
            report.sweep = Some(result);
        }
        Err(err) => {
            *report = CaseReport::error(shown.to_owned(), report.test_id.clone(), err.clone(), err);
        }
    }
}

/// Where a sweep writes minimal failing cases (`--shrink DIR`).
#[derive(Debug, Clone)]
pub struct ShrinkTo(pub PathBuf);

/// Sweeps `files` (see [`crate::sweep`]): each selected simulated case runs its seeds
/// (`sweep.seeds`, else its own `sweep` block's, else the default; `sweep.repeat` times
/// each), cases in parallel on `options.jobs` threads, reports
/// in file order with a `sweep` object each; a recorded transcript runs once. `on_call` is
/// called after every call, from any thread (for a progress bar). With `shrink`, each case
/// with a failing seed gets a minimal failing case file there.
pub fn sweep_suite<A, F>(
    files: &CaseFiles,
    options: &SuiteOptions,
    sweep: &crate::sweep::SweepOptions,
    shrink: Option<&ShrinkTo>,
    make_agent: F,
    on_call: &(dyn Fn() + Sync),
    mut on_case: impl FnMut(CaseReport),
) -> Summary
where
    A: Agent,
    F: Fn(&Case) -> A + Sync,
{
    let ids = files.ids();
    let job = |file: &CaseFile| {
        sweep_file(file, options, sweep, shrink, ids, &make_agent, on_call).map(|r| (r, ()))
    };
    in_parallel(files, options.jobs, &job, || {}, |case, ()| on_case(case))
}

fn sweep_file<A: Agent>(
    file: &CaseFile,
    options: &SuiteOptions,
    sweep: &crate::sweep::SweepOptions,
    shrink: Option<&ShrinkTo>,
    ids: &Ids,
    make_agent: &(impl Fn(&Case) -> A + Sync),
    on_call: &(dyn Fn() + Sync),
) -> Option<CaseReport> {
    // Errors as in a run (each counts as one call on the progress bar).
    let case = match ready(file, options, ids) {
        Ok(case) => case,
        Err(report) => {
            if report.is_some() {
                on_call();
            }
            return report.map(|r| *r);
        }
    };
    if case.transcript.is_some() {
        // A recorded transcript has no caller to vary: it runs once.
        let mut report = call(file, &case, options, make_agent);
        on_call();
        if report.status != ReportStatus::Error {
            let once = crate::sweep::SweepOptions::new(1).with_from(report.seed);
            let passes = u64::from(report.as_expected);
            report.sweep = Some(crate::sweep::SweepResult::once(
                &once,
                passes,
                report.reason.clone(),
            ));
        }
        return Some(report);
    }
    if case.uses_llm() {
        let why = crate::message::LLM_NOT_SWEPT.to_owned();
        return Some(CaseReport::error(
            file.shown.clone(),
            Some(case.test_id.clone()),
            why.clone(),
            why,
        ));
    }
    let swept =
        crate::sweep::sweep_if_asked_par(&case, make_agent, &options.run, Some(sweep), on_call);
    let (result, failing, first) = match swept {
        Ok(Some(swept)) => swept,
        Ok(None) => return Some(call(file, &case, options, make_agent)),
        // Settings that can never pass: said before any call.
        Err(err) => {
            on_call();
            let test_id = Some(case.test_id.clone());
            return Some(CaseReport::error(
                file.shown.clone(),
                test_id,
                err.clone(),
                err,
            ));
        }
    };
    let Some(outcome) = failing.clone().or(first) else {
        // Some call never started (see `SweepResult::errored`): an error, not a lost case.
        let why = result.first_failure.as_ref().map(|f| f.reason.clone());
        let mut report = CaseReport::error(
            file.shown.clone(),
            Some(case.test_id.clone()),
            why.unwrap_or_default(),
            result.to_string(),
        );
        report.sweep = Some(result);
        return Some(report);
    };
    let mut report = CaseReport::from_outcome(file.shown.clone(), &case, outcome, options.facts);
    report.as_expected = result.ok;
    if !result.ok {
        report.reason = Some(result.to_string());
    }
    if let (Some(ShrinkTo(dir)), Some(failing)) = (shrink, &failing) {
        report.shrunk = shrink_one(dir, file, &case, failing, make_agent, &options.run);
    }
    report.sweep = Some(result);
    Some(rendered(report, options))
}

/// Writes the minimal failing case of `failing` into `dir`; its path, or why not.
fn shrink_one<A: Agent>(
    dir: &std::path::Path,
    file: &CaseFile,
    case: &Case,
    failing: &Outcome,
    make_agent: &impl Fn(&Case) -> A,
    run: &RunOptions,
) -> Option<String> {
    let raw: serde_json::Value = serde_json::from_slice(&std::fs::read(&file.path).ok()?).ok()?;
    let Some(shrunk) = crate::sweep::shrink(&raw, case, failing, make_agent, run, &file.shown)
    else {
        return Some(crate::message::NOT_SHRUNK.to_owned());
    };
    let name = format!(
        "{}.json",
        crate::sweep::shrunk_id(&case.test_id, failing.seed)
    );
    let path = dir.join(name);
    let mut text = serde_json::to_string_pretty(&shrunk).ok()?;
    text.push('\n');
    match std::fs::write(&path, text) {
        Ok(()) => Some(crate::case::discover::display_path(&path)),
        Err(e) => Some(format!("could not write {}: {e}", path.display())),
    }
}

fn run_file<A: Agent>(
    file: &CaseFile,
    options: &SuiteOptions,
    ids: &Ids,
    make_agent: &impl Fn(&Case) -> A,
) -> Option<CaseReport> {
    let case = match ready(file, options, ids) {
        Ok(case) => case,
        Err(report) => return report.map(|r| *r),
    };
    let mut report = call(file, &case, options, make_agent);
    if report.status != ReportStatus::Error {
        let swept = crate::sweep::sweep_if_asked(&case, make_agent, &options.run, None, &|| {});
        with_sweep(&mut report, &file.shown, swept);
    }
    Some(report)
}

/// The report of a ready case's call.
fn call<A: Agent>(
    file: &CaseFile,
    case: &Case,
    options: &SuiteOptions,
    make_agent: &impl Fn(&Case) -> A,
) -> CaseReport {
    // LLM lock files go under the current folder: `llm/<file as shown>`.
    let here = std::path::Path::new("");
    rendered(
        ran(
            file,
            case,
            prepare::run_file(file, case, make_agent, &options.run, here),
            options.facts,
        ),
        options,
    )
}

/// `report` with its part of the HTML page rendered, when [`SuiteOptions::page`] asks.
fn rendered(mut report: CaseReport, options: &SuiteOptions) -> CaseReport {
    if options.page {
        // Serializing strings and numbers does not fail; if it did, the case would be
        // rendered again when it is added to the page.
        report.page = html::CasePage::of(&report).ok().map(Box::new);
    }
    report
}

/// The case of `file`, loaded, selected and unique; else its report (`None`: not
/// selected).
fn ready(
    file: &CaseFile,
    options: &SuiteOptions,
    ids: &Ids,
) -> Result<Case, Option<Box<CaseReport>>> {
    let shown = &file.shown;
    let case = match prepare::load(file) {
        Ok(case) => case,
        Err(err) => {
            // An unloadable case's tags are unknown: keep its error unless the filter rules
            // it out by name.
            if options
                .filter
                .as_deref()
                .is_some_and(|f| !shown.contains(f))
            {
                return Err(None);
            }
            let test_id = peek_test_id(&file.path);
            return Err(Some(Box::new(load_error(shown.clone(), test_id, &err))));
        }
    };
    if !selected(&case, shown, options) {
        return Err(None);
    }
    if let Err(err) = prepare::unique(&case, file, ids) {
        return Err(Some(Box::new(load_error(
            shown.clone(),
            Some(case.test_id.clone()),
            &err,
        ))));
    }
    Ok(case)
}

/// The report of a call that ran (or whose agent could not be built).
fn ran(file: &CaseFile, case: &Case, ran: Result<prepare::Ran, String>, facts: bool) -> CaseReport {
    match ran {
        Ok(ran) => CaseReport::from_outcome(file.shown.clone(), case, ran.outcome, facts),
        Err(err) => CaseReport::error(
            file.shown.clone(),
            Some(case.test_id.clone()),
            err.clone(),
            err,
        ),
    }
}

fn load_error(file: String, test_id: Option<String>, err: &LoadError) -> CaseReport {
    CaseReport::error(file, test_id, err.to_string(), err.summary())
}

fn selected(case: &Case, shown: &str, options: &SuiteOptions) -> bool {
    let filter_ok = options
        .filter
        .as_deref()
        .is_none_or(|f| case.test_id.contains(f) || shown.contains(f));
    filter_ok && options.tags.iter().all(|tag| case.tags.contains(tag))
}

/// One case's line of the JSON report, rendered ahead of writing it (on the thread that ran
/// the case, with [`run_suite_with`]): the same bytes [`JsonReportWriter::case`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseJson(Vec<u8>);

impl CaseJson {
    /// Renders `case` as it is now.
    pub fn of(case: &CaseReport) -> io::Result<Self> {
        // A realistic case's line is about 10 KB: start there rather than grow to it.
        let mut line = Vec::with_capacity(16 * 1024);
        line::write_case(&mut line, case)?;
        Ok(Self(line))
    }
}

/// Writes the JSON report of docs/runner.md as cases arrive: `{"cases": [...], "summary": {...}}`,
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
        self.rendered(&CaseJson::of(case)?)
    }

    /// Appends one case rendered ahead with [`CaseJson::of`] (see [`run_suite_with`]).
    pub fn rendered(&mut self, case: &CaseJson) -> io::Result<()> {
        self.raw_case(&case.0)
    }

    /// Appends one case already written as JSON on one line (from another report).
    pub(crate) fn raw_case(&mut self, line: &[u8]) -> io::Result<()> {
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        self.out.write_all(line)
    }

    /// Ends the report with its summary and what run it was, and flushes it; returns the
    /// writer.
    pub fn finish(self, summary: &Summary, meta: &ReportMeta) -> io::Result<W> {
        self.finish_with(summary, meta, None)
    }

    /// Like [`JsonReportWriter::finish`], with the suite's `coverage` block after `run`
    /// when there is one (`--coverage`; docs/report.md).
    pub fn finish_with(
        mut self,
        summary: &Summary,
        meta: &ReportMeta,
        coverage: Option<&Coverage>,
    ) -> io::Result<W> {
        self.out.write_all(b"\n],\n\"summary\": ")?;
        serde_json::to_writer(&mut self.out, summary).map_err(io::Error::other)?;
        self.out.write_all(b",\n\"run\": ")?;
        serde_json::to_writer(&mut self.out, meta).map_err(io::Error::other)?;
        if let Some(coverage) = coverage {
            self.out.write_all(b",\n\"coverage\": ")?;
            serde_json::to_writer(&mut self.out, coverage).map_err(io::Error::other)?;
        }
        self.out.write_all(b"}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}
