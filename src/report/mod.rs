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

mod junit;
mod line;
mod merge;

pub use crate::prepare::Shard;
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
    /// A sweep's findings (only from `voice-harness sweep`); the rest of the entry is the
    /// first failing run's, or the first run's when none failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<crate::sweep::SweepResult>,
    /// Where the minimal failing case was written (`sweep --shrink`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shrunk: Option<String>,
    /// Why the case is not as expected, on one line (the runner's line, JUnit's message);
    /// `null` when it is.
    reason: Option<String>,
}

impl CaseReport {
    fn from_outcome(file: String, case: &Case, outcome: Outcome) -> Self {
        Self {
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
        }
    }

    /// Why the case is not as expected, on one line; `None` when it is. The same words
    /// as the `cargo test` message: the first failure, or for a negative test expected vs
    /// got (`expected fail, failing steps [2]; got fail, failing steps [2, 3]; …`).
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
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
pub struct CaseFiles(Vec<CaseFile>);

impl CaseFiles {
    /// Finds the case files under `paths`.
    pub fn find(paths: &[PathBuf]) -> Result<Self, PathError> {
        prepare::find(paths, &Namer::current_dir())
            .map(Self)
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

    /// Only the files of `shard` (see [`Shard::holds`]).
    pub fn shard(mut self, shard: Shard) -> Self {
        self.0.retain(|f| shard.holds(&f.within));
        self
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
            agent: None,
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
    /// The agent the run tested when it speaks a protocol of its own (`--agent-openai`,
    /// `--agent-retell`): its kind and URL (and model). Absent otherwise; headers are never
    /// written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentMeta>,
}

/// The report's `run.agent`: which agent a run tested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct AgentMeta {
    /// `openai` or `retell`.
    pub kind: String,
    /// Its URL (the base URL for `openai`, the WebSocket URL for `retell`).
    pub url: String,
    /// The model named in requests (`openai` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl AgentMeta {
    /// An agent of `kind` at `url`.
    pub fn new(kind: impl Into<String>, url: impl Into<String>, model: Option<String>) -> Self {
        Self {
            kind: kind.into(),
            url: url.into(),
            model,
        }
    }
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
    let ids = Ids::scan(&files.0);
    let job = |file: &CaseFile| {
        run_file(file, options, &ids, &make_agent).map(|mut report| {
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
    F: Fn(&Case) -> A,
{
    use std::future::Future;
    use std::pin::Pin;
    use std::task::Poll;

    let ids = Ids::scan(&files.0);
    let mut summary = Summary::default();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(_) => {
            return run_suite_serially(files, options, &ids, &make_agent, on_progress, on_case);
        }
    };
    let files = &files.0;
    let window = in_flight.concurrency.saturating_mul(4).max(1);
    runtime.block_on(async {
        type Job<'a> = Pin<Box<dyn Future<Output = (usize, Option<CaseReport>)> + 'a>>;
        let mut running: Vec<Job<'_>> = Vec::new();
        let mut finished: std::collections::BTreeMap<usize, Option<CaseReport>> =
            std::collections::BTreeMap::new();
        let mut ticker = in_flight
            .rate
            .filter(|r| *r > 0.0)
            .map(|r| tokio::time::interval(Duration::from_secs_f64(1.0 / r)));
        let (mut next_start, mut next_out) = (0, 0);
        loop {
            while running.len() < in_flight.concurrency
                && next_start < files.len()
                && next_start < next_out + window
            {
                if let Some(ticker) = &mut ticker {
                    ticker.tick().await;
                }
                let (i, file) = (next_start, &files[next_start]);
                let (ids, make_agent) = (&ids, &make_agent);
                running.push(Box::pin(async move {
                    (i, run_file_here(file, options, ids, make_agent).await)
                }));
                next_start += 1;
            }
            if running.is_empty() {
                break;
            }
            // Polls every call in flight; takes the first that is done.
            let (i, report) = std::future::poll_fn(|cx| {
                for k in 0..running.len() {
                    if let Poll::Ready(done) = running[k].as_mut().poll(cx) {
                        drop(running.swap_remove(k));
                        return Poll::Ready(done);
                    }
                }
                Poll::Pending
            })
            .await;
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
        on_progress();
        if let Some(report) = run_file(file, options, ids, make_agent) {
            summary.add(&report);
            on_case(report);
        }
    }
    summary
}

/// [`run_file`] on the current runtime.
async fn run_file_here<A: Agent>(
    file: &CaseFile,
    options: &SuiteOptions,
    ids: &Ids,
    make_agent: &impl Fn(&Case) -> A,
) -> Option<CaseReport> {
    let case = match ready(file, options, ids) {
        Ok(case) => case,
        Err(report) => return report.map(|r| *r),
    };
    let here = std::path::Path::new("");
    Some(ran(
        file,
        &case,
        prepare::run_file_here(file, &case, make_agent, &options.run, here).await,
    ))
}

/// Where a sweep writes minimal failing cases (`--shrink DIR`).
#[derive(Debug, Clone)]
pub struct ShrinkTo(pub PathBuf);

/// Sweeps `files` (see [`crate::sweep`]): each selected simulated case runs `sweep.seeds`
/// seeds (`sweep.repeat` times each), cases in parallel on `options.jobs` threads, reports
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
    let ids = Ids::scan(&files.0);
    let job = |file: &CaseFile| {
        sweep_file(file, options, sweep, shrink, &ids, &make_agent, on_call).map(|r| (r, ()))
    };
    in_parallel(files, options.jobs, &job, || {}, |case, ()| on_case(case))
}

fn sweep_file<A: Agent>(
    file: &CaseFile,
    options: &SuiteOptions,
    sweep: &crate::sweep::SweepOptions,
    shrink: Option<&ShrinkTo>,
    ids: &Ids,
    make_agent: &impl Fn(&Case) -> A,
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
    let (result, failing, first) =
        crate::sweep::sweep_case(&case, make_agent, &options.run, sweep, on_call);
    let outcome = failing.clone().or(first)?;
    let mut report = CaseReport::from_outcome(file.shown.clone(), &case, outcome);
    report.as_expected = result.ok;
    if !result.ok {
        report.reason = Some(result.to_string());
    }
    if let (Some(ShrinkTo(dir)), Some(failing)) = (shrink, &failing) {
        report.shrunk = shrink_one(dir, file, &case, failing, make_agent, &options.run);
    }
    report.sweep = Some(result);
    Some(report)
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
    Some(call(file, &case, options, make_agent))
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
    ran(
        file,
        case,
        prepare::run_file(file, case, make_agent, &options.run, here),
    )
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
fn ran(file: &CaseFile, case: &Case, ran: Result<prepare::Ran, String>) -> CaseReport {
    match ran {
        Ok(ran) => CaseReport::from_outcome(file.shown.clone(), case, ran.outcome),
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
    pub fn finish(mut self, summary: &Summary, meta: &ReportMeta) -> io::Result<W> {
        self.out.write_all(b"\n],\n\"summary\": ")?;
        serde_json::to_writer(&mut self.out, summary).map_err(io::Error::other)?;
        self.out.write_all(b",\n\"run\": ")?;
        serde_json::to_writer(&mut self.out, meta).map_err(io::Error::other)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}
