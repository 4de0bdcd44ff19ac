//! `voice-harness run` and `sweep`: a run's steps, in order. Check the flags, the
//! environment and the case files (every problem that would fail every case is one usage
//! error, before any call); open the reports; choose the agent and the scheduler; call the
//! cases; write the reports; say how it went.

use std::io;
use std::num::NonZeroUsize;
use std::time::Instant;

use crate::agent::{HttpPool, processes};
use crate::report::{
    CaseFiles, CaseJson, CaseReport, InFlight, SuiteOptions, Summary, in_flight_erased,
    run_suite_erased, sweep_suite_erased,
};
use crate::sweep::DEFAULT_SEEDS;
use crate::{Case, RunOptions};

use crate::cli::Usage;
use crate::cli::agents::{Agents, probe_agents};
use crate::cli::args::{DEFAULT_CONCURRENCY, RunArgs};
use crate::cli::output::{self, Output, usage};
use crate::cli::pages::Pages;
use crate::cli::progress::Progress;
use crate::cli::reports::{Reports, run_meta};
use crate::cli::sinks::same_file;
use crate::cli::sweep::{Pacer, SweepPlan};

/// Runs (or, with `sweep`, sweeps) the cases `args` names: `Ok(true)` when every case is as
/// expected.
pub(crate) fn run(args: &RunArgs, sweep: Option<&SweepPlan>) -> Result<bool, Usage> {
    let started = Instant::now();
    // The environment's limits, read the same way as under `cargo test`; a bad value is a
    // usage error, before any case runs.
    let run_options = RunOptions::from_env()
        .map_err(usage::said)?
        .with_turn_timeout(args.turn_timeout)
        .with_seed(args.seed);
    let agents = Agents::check(args)?;
    if same_file(&args.json, &args.junit) {
        return Err(usage::same_report_file());
    }
    let files = CaseFiles::find(&args.paths).map_err(usage::said)?;
    let mut meta = run_meta(files.meta(args.shard), args, sweep);
    check_files(args, &files)?;
    probe_agents(args)?;
    let selection = Selection::new(files, args);
    let mut reports = Reports::open(args)?;
    let mut out = Output::new(reports.on_stdout(), args.quiet, args.verbose);
    let progress = out.progress(
        (selection.files.len() as u64).saturating_mul(calls_per_case(sweep)),
        sweep.is_some(),
    );
    let options = suite_options(args, run_options, reports.pages(), sweep)?;
    reports.start()?;
    let run = Run { args, sweep };
    let summary = run.call(
        agents,
        &selection.files,
        &options,
        &mut reports,
        &mut out,
        &progress,
    );
    progress.finish();
    // Ctrl-C or SIGTERM stopped the run: the reports hold the cases that finished, and
    // say so.
    let interrupted = processes::stopped();
    meta.interrupted = interrupted;
    let written = reports.finish(args, sweep, &summary, &meta, started, &mut out)?;
    let end = run.ended_early(
        &selection,
        &options,
        &summary,
        interrupted,
        started,
        &mut out,
    );
    if let Some(verdict) = end? {
        return Ok(verdict);
    }
    if sweep.is_some() {
        out.sweep_table();
    }
    out.summary(&summary, started.elapsed());
    out.written(
        written.json.as_deref(),
        written.junit.as_deref(),
        written.html.as_deref(),
    );
    Ok(summary.as_expected == summary.total)
}

/// The command being run: its flags, and its sweep (`sweep`).
struct Run<'a> {
    args: &'a RunArgs,
    sweep: Option<&'a SweepPlan>,
}

/// The case files a run calls, and (`--shard`) the suite they were chosen from.
struct Selection {
    /// The files this run (this shard) calls.
    files: CaseFiles,
    /// Case files in the whole suite.
    all: usize,
    /// The whole suite, for a shard whose part of the selection turns out empty.
    suite: Option<CaseFiles>,
}

impl Selection {
    /// `--shard`'s part of `files`.
    fn new(files: CaseFiles, args: &RunArgs) -> Self {
        let all = files.len();
        let suite = args.shard.map(|_| files.clone());
        let files = match args.shard {
            Some(shard) => files.shard(shard),
            None => files,
        };
        Self { files, all, suite }
    }
}

/// No case files, or a report that would be written over one.
fn check_files(args: &RunArgs, files: &CaseFiles) -> Result<(), Usage> {
    if files.is_empty() {
        let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        return Err(usage::no_case_files(&paths));
    }
    // A report written over one of the run's case files would replace that case.
    for (flag, path) in [("--json", &args.json), ("--junit", &args.junit)] {
        let Some(path) = path.as_ref().filter(|p| p.as_os_str() != "-") else {
            continue;
        };
        if let Some(case) = files.named(path) {
            return Err(usage::report_over_case(flag, path, case));
        }
    }
    Ok(())
}

/// Calls a case makes, for the progress bar: an estimate when cases sweep their own number
/// of seeds; saturating: `--seeds` may be as large as a u64 (the bar then never fills).
fn calls_per_case(sweep: Option<&SweepPlan>) -> u64 {
    sweep.map_or(1, |s| {
        s.options
            .seeds
            .unwrap_or(DEFAULT_SEEDS)
            .saturating_mul(u64::from(s.options.repeat))
    })
}

/// The suite's options from the flags: the selection, the limits, the jobs, what the
/// reports need of each case, and (feature `llm`) the LLM.
fn suite_options(
    args: &RunArgs,
    run_options: RunOptions,
    pages: &Pages,
    sweep: Option<&SweepPlan>,
) -> Result<SuiteOptions, Usage> {
    #[cfg(feature = "llm")]
    let run_options = {
        let mut run_options = run_options;
        let mut llm =
            crate::llm::LlmConfig::from_env(std::path::Path::new("")).map_err(usage::said)?;
        if let Some(url) = &args.llm_url {
            llm.url = Some(url.clone());
        }
        if let Some(model) = &args.llm_model {
            llm.model = model.clone();
        }
        if args.record {
            llm.mode = crate::llm::LockMode::Record;
        }
        if args.offline {
            llm.mode = crate::llm::LockMode::Offline;
        }
        run_options.llm = Some(llm);
        run_options
    };
    let mut options = SuiteOptions {
        filter: args.filter.clone(),
        tags: args.tags.clone(),
        run: run_options,
        jobs: args.jobs,
        facts: pages.wanted(),
        page: pages.html(),
    };
    if sweep.is_some() {
        // A sweep runs its calls on threads, one call each: --concurrency calls in flight
        // are that many threads (issue 23, fault 17: it was silently ignored).
        if let Some(concurrency) = args.concurrency {
            options.jobs = Some(concurrency);
        }
    }
    Ok(options)
}

impl Run<'_> {
    /// Calls every case of `files` with the scheduler the run needs: many calls in flight
    /// on one thread (`run` with an agent in another process), the cores (`run` with a
    /// built-in agent), or a sweep's threads. Prints and reports each case in file order, as
    /// soon as the files before it are done.
    fn call(
        &self,
        agents: Agents<'_>,
        files: &CaseFiles,
        options: &SuiteOptions,
        reports: &mut Reports,
        out: &mut Output,
        progress: &Progress,
    ) -> Summary {
        let (args, sweep) = (self.args, self.sweep);
        // A sweep's calls start at most --rate a second, spaced evenly across its threads.
        let pacer = sweep.and(args.rate).map(Pacer::new);
        // Calls in flight share one pool of keep-alive connections (`run` only: a sweep runs
        // its calls on -j threads, each with its own). 32 by default for programs and HTTP
        // services alike (SPEC §14): an agent in another process mostly waits (on a model, a
        // network), and a program that is CPU-bound is told so with --concurrency.
        let in_flight = (agents.external() && sweep.is_none()).then(|| {
            InFlight::new(
                args.concurrency
                    .map_or(DEFAULT_CONCURRENCY, NonZeroUsize::get),
            )
            .with_rate(args.rate)
        });
        let agents = agents.with_pool(in_flight.map(|_| HttpPool::new()));
        let make_agent = |case: &Case| {
            // An agent is made for each call just before the call starts.
            if let Some(pacer) = &pacer {
                pacer.wait();
            }
            agents.make(case)
        };
        let wants_json = reports.wants_json();
        let quiet = args.quiet;
        let mut print_and_report = |case: CaseReport, line: Option<io::Result<CaseJson>>| {
            out.case(progress, &case);
            reports.case(case, line);
        };
        match (sweep, in_flight) {
            (None, Some(in_flight)) => in_flight_erased(
                files,
                options,
                in_flight,
                &make_agent,
                &mut || progress.tick(),
                &mut |case| print_and_report(case, None),
            ),
            (None, None) => run_suite_erased(
                files,
                options,
                &make_agent,
                &|case| {
                    let line = wants_json.then(|| CaseJson::of(case));
                    // The lines and JUnit need none of this: freed here, on the worker; but
                    // the exchange under a failing case's line needs its steps and transcript.
                    if !output::shows_exchange(quiet, case) {
                        drop((
                            std::mem::take(&mut case.transcript),
                            std::mem::take(&mut case.steps),
                        ));
                    }
                    drop(case.metrics.take());
                    line
                },
                &mut || progress.tick(),
                &mut print_and_report,
            ),
            (Some(plan), _) => sweep_suite_erased(
                files,
                options,
                &plan.options,
                plan.shrink.as_ref(),
                &make_agent,
                &|| progress.tick(),
                &mut |case| {
                    out.swept(&case);
                    reports.case(case, None);
                },
            ),
        }
    }

    /// The ends of a run other than its summary: an empty shard, an interrupt, a selection
    /// that runs no case. `Some(verdict)` when the run ends here.
    fn ended_early(
        &self,
        selection: &Selection,
        options: &SuiteOptions,
        summary: &Summary,
        interrupted: bool,
        started: Instant,
        out: &mut Output,
    ) -> Result<Option<bool>, Usage> {
        let args = self.args;
        let all = selection.all;
        // A selection that runs no case of the whole suite is an error in every shard, empty
        // ones too: else a CI matrix would pass having run nothing.
        let selecting = args.filter.is_some() || !args.tags.is_empty();
        let none_selected = |suite: &CaseFiles| selecting && !suite.any_selected(options);
        if let (Some(shard), true) = (args.shard, selection.files.is_empty()) {
            if selection.suite.as_ref().is_some_and(none_selected) {
                return Err(usage::none_selected(all));
            }
            // Not an error: a small suite on a wide matrix leaves some shards empty.
            out.empty_shard(shard, all);
            return Ok(Some(true));
        }
        if interrupted {
            out.interrupted(summary, started.elapsed());
            return Ok(Some(false));
        }
        if summary.total == 0 {
            // A shard with none of the selection is an empty shard when another shard has
            // some (review P7): the selection is judged over the whole suite.
            if let (Some(shard), Some(suite)) = (args.shard, &selection.suite) {
                if !none_selected(suite) {
                    out.unselected_shard(shard);
                    return Ok(Some(true));
                }
            }
            return Err(usage::none_selected(all));
        }
        Ok(None)
    }
}
