//! The runner's schedulers: a suite's files on the cores (a sliding window of rayon jobs,
//! [`run_suite`], [`sweep_suite`]) or in flight on one thread for agents in another process
//! ([`run_suite_in_flight`]), reports handed on in file order either way. What each file's
//! job does is `job.rs`'s.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use super::{CaseFiles, CaseReport, ShrinkTo, SuiteOptions, Summary, job};
use crate::agent::{Agent, Erased, Make, MakeSync};
use crate::case::Case;
use crate::prepare::{CaseFile, Ids};

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
/// output there, such as its line of the JSON report ([`CaseJson::of`](super::CaseJson::of)): the thread that
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
    mut on_progress: impl FnMut(),
    mut on_case: impl FnMut(CaseReport, T),
) -> Summary
where
    A: Agent,
    F: Fn(&Case) -> A + Sync,
    T: Send,
{
    let make_agent = |case: &Case| Erased::new(make_agent(case));
    run_suite_erased(
        files,
        options,
        &make_agent,
        &render,
        &mut on_progress,
        &mut on_case,
    )
}

/// [`run_suite_with`], for any agent (the runner's agents are erased already).
pub(crate) fn run_suite_erased<T: Send>(
    files: &CaseFiles,
    options: &SuiteOptions,
    make_agent: &MakeSync<'_>,
    render: &(dyn Fn(&mut CaseReport) -> T + Sync),
    on_progress: &mut dyn FnMut(),
    on_case: &mut dyn FnMut(CaseReport, T),
) -> Summary {
    let ids = files.ids();
    let job = |file: &CaseFile| {
        job::run_file(file, options, ids, make_agent).map(|mut report| {
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
    on_progress: &mut dyn FnMut(),
    on_case: &mut dyn FnMut(CaseReport, T),
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
        Ok(pool) => {
            pool.in_place_scope(|scope| run_window(scope, files, job, on_progress, &mut hand_on))
        }
        Err(_) => {
            rayon::in_place_scope(|scope| run_window(scope, files, job, on_progress, &mut hand_on))
        }
    }
    summary
}

fn run_window<'s, T: Send + 's>(
    scope: &rayon::Scope<'s>,
    files: &'s [CaseFile],
    job: &'s (dyn Fn(&CaseFile) -> Option<(CaseReport, T)> + Sync),
    on_progress: &mut dyn FnMut(),
    on_case: &mut dyn FnMut((CaseReport, T)),
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
    let make_agent = |case: &Case| Erased::new(make_agent(case));
    in_flight_erased(
        files,
        options,
        in_flight,
        &make_agent,
        &mut on_progress,
        &mut on_case,
    )
}

/// [`run_suite_in_flight`], for any agent (the runner's agents are erased already).
pub(crate) fn in_flight_erased(
    files: &CaseFiles,
    options: &SuiteOptions,
    in_flight: InFlight,
    make_agent: &MakeSync<'_>,
    on_progress: &mut dyn FnMut(),
    on_case: &mut dyn FnMut(CaseReport),
) -> Summary {
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
            return run_suite_serially(files, options, ids, make_agent, on_progress, on_case);
        }
    };
    let files = &files.0;
    let window = in_flight.concurrency.saturating_mul(4).max(1);
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
                            job::run_file_in_flight(file, options, ids, make_agent, scope).await;
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
fn run_suite_serially(
    files: &CaseFiles,
    options: &SuiteOptions,
    ids: &Ids,
    make_agent: &Make<'_>,
    on_progress: &mut dyn FnMut(),
    on_case: &mut dyn FnMut(CaseReport),
) -> Summary {
    let mut summary = Summary::default();
    for file in &files.0 {
        if stopped() {
            break;
        }
        on_progress();
        if let Some(report) = job::run_file(file, options, ids, make_agent) {
            summary.add(&report);
            on_case(report);
        }
    }
    summary
}

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
    let make_agent = |case: &Case| Erased::new(make_agent(case));
    sweep_suite_erased(
        files,
        options,
        sweep,
        shrink,
        &make_agent,
        on_call,
        &mut on_case,
    )
}

/// [`sweep_suite`], for any agent (the runner's agents are erased already).
pub(crate) fn sweep_suite_erased(
    files: &CaseFiles,
    options: &SuiteOptions,
    sweep: &crate::sweep::SweepOptions,
    shrink: Option<&ShrinkTo>,
    make_agent: &MakeSync<'_>,
    on_call: &(dyn Fn() + Sync),
    on_case: &mut dyn FnMut(CaseReport),
) -> Summary {
    let ids = files.ids();
    let job = |file: &CaseFile| {
        job::sweep_file(file, options, sweep, shrink, ids, make_agent, on_call).map(|r| (r, ()))
    };
    in_parallel(files, options.jobs, &job, &mut || {}, &mut |case, ()| {
        on_case(case)
    })
}
