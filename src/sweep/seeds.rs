//! Running a sweep's seeds (docs/sweeps.md): each seed `repeat` times with a fresh agent,
//! one after another or a chunk at a time in parallel, counted in seed order so the result
//! is the same however the runs were spread.

use super::{DEFAULT_SEEDS, FirstFailure, SweepOptions, SweepResult, Swept, first_seed};
use super::{pass_hat_k, wilson_lower};
use crate::agent::Make;
#[cfg(feature = "cli")]
use crate::agent::MakeSync;
use crate::case::Case;
use crate::run::{self, Drive, Outcome, Ran, RunOptions};

/// Seeds whose outcomes are held at once: those that pass are dropped as counted.
const CHUNK: u64 = 256;

/// One seed's runs: the seed, and each run's call (`Err`: the case's error).
pub(crate) type SeedRuns = (u64, Vec<Result<Ran, String>>);

/// Runs the given seeds at once, each `repeat` times (the case, the run's options, `repeat`,
/// the seeds), their runs in the seeds' order: from a caller whose agent maker may be shared
/// between threads ([`in_parallel`]).
pub(crate) type Spread<'a> = &'a (dyn Fn(&Case, &RunOptions, u32, &[u64]) -> Vec<SeedRuns> + Sync);

/// Sweeps `case` as `options` (a plan's, see [`super::plan`]) say: each seed `repeat` times
/// with a fresh agent, each call driven as `drive` says; a chunk of seeds at a time through
/// `spread` when given (the runner's `sweep`: without it, a sweep of one case ran one call
/// at a time whatever `--concurrency` said, issue 23 fault 17), else one after another.
/// `on_run` is called after every run of the seeds run here (`spread` calls its own).
pub(crate) async fn sweep(
    case: &Case,
    make_agent: &Make<'_>,
    run: &RunOptions,
    options: &SweepOptions,
    drive: Drive,
    spread: Option<Spread<'_>>,
    on_run: &(dyn Fn() + Sync),
) -> Swept {
    let from = first_seed(case, options);
    let total = options.seeds.unwrap_or(DEFAULT_SEEDS);
    let repeat = options.repeat.max(1);
    let mut tally = Tally::default();
    for start in (0..total).step_by(CHUNK as usize) {
        let seeds: Vec<u64> = (start..total.min(start + CHUNK))
            .map(|i| from.wrapping_add(i))
            .collect();
        let ran = match spread {
            Some(spread) => spread(case, run, repeat, &seeds),
            None => {
                let mut ran = Vec::with_capacity(seeds.len());
                for &seed in &seeds {
                    ran.push(seed_runs(case, make_agent, run, repeat, seed, drive, on_run).await);
                }
                ran
            }
        };
        for (seed, runs) in ran {
            let verdicts: Vec<bool> = runs
                .into_iter()
                .map(|ran| tally.add(case, seed, ran))
                .collect();
            tally.seed_done(seed, &verdicts);
        }
    }
    tally.finish(case, options)
}

/// One seed's `repeat` runs, each with a fresh agent; `on_run` after each.
async fn seed_runs(
    case: &Case,
    make_agent: &Make<'_>,
    run: &RunOptions,
    repeat: u32,
    seed: u64,
    drive: Drive,
    on_run: &(dyn Fn() + Sync),
) -> SeedRuns {
    let run = run.clone().with_seed(Some(seed));
    let mut runs = Vec::with_capacity(repeat as usize);
    for _ in 0..repeat {
        runs.push(run::call(case, make_agent, &run, drive, None).await);
        on_run();
    }
    (seed, runs)
}

/// A [`Spread`] on the current rayon pool (the runner's `-j` or `--concurrency` threads):
/// each seed's runs block their thread ([`Drive::Block`]).
#[cfg(feature = "cli")]
pub(crate) fn in_parallel<'a>(
    make_agent: &'a MakeSync<'_>,
    on_run: &'a (dyn Fn() + Sync),
) -> impl Fn(&Case, &RunOptions, u32, &[u64]) -> Vec<SeedRuns> + Sync + 'a {
    use rayon::prelude::*;
    move |case, run, repeat, seeds| {
        seeds
            .par_iter()
            .map(|&seed| {
                run::block(seed_runs(
                    case,
                    make_agent,
                    run,
                    repeat,
                    seed,
                    Drive::Block,
                    on_run,
                ))
            })
            .collect()
    }
}

/// [`sweep`], one seed after another on this thread (the fuzz targets').
#[cfg(feature = "fuzz")]
pub(crate) fn sweep_case(
    case: &Case,
    make_agent: &Make<'_>,
    run: &RunOptions,
    options: &SweepOptions,
    on_run: &(dyn Fn() + Sync),
) -> Swept {
    run::block(sweep(
        case,
        make_agent,
        run,
        options,
        Drive::Block,
        None,
        on_run,
    ))
}

/// The runs of a sweep so far.
#[derive(Default)]
struct Tally {
    passes: u64,
    runs: u64,
    flaky: bool,
    failing_seeds: Vec<u64>,
    first: Option<(u64, Outcome, String)>,
    /// A run that errs (the call never started) has no outcome, but it is the failure.
    first_error: Option<(u64, String)>,
    first_run: Option<Outcome>,
    /// Some call never started.
    errored: bool,
}

impl Tally {
    /// Counts one run of `seed`; whether it was as expected.
    fn add(&mut self, case: &Case, seed: u64, ran: Result<Ran, String>) -> bool {
        // A call that never started is no verdict on the agent's words: it is an error,
        // named first whatever failed before it.
        let (ok, outcome, reason) = match ran {
            Ok(ran) => match ran.outcome.error.clone() {
                Some(error) => (false, None, Some(error)),
                None => {
                    let reason = run::reason(case, &ran.outcome);
                    (ran.outcome.as_expected, Some(ran.outcome), reason)
                }
            },
            Err(err) => (false, None, Some(err)),
        };
        self.runs += 1;
        self.passes += u64::from(ok);
        match &outcome {
            None => {
                self.errored = true;
                if self.first_error.is_none() {
                    self.first_error = Some((seed, reason.unwrap_or_default()));
                }
            }
            Some(outcome) if !ok && self.first.is_none() => {
                self.first = Some((seed, outcome.clone(), reason.unwrap_or_default()));
            }
            Some(_) => {}
        }
        if self.first_run.is_none() {
            self.first_run = outcome;
        }
        ok
    }

    /// Ends `seed`, whose runs gave `verdicts`.
    fn seed_done(&mut self, seed: u64, verdicts: &[bool]) {
        self.flaky |= verdicts.iter().any(|v| *v != verdicts[0]);
        if verdicts.iter().any(|v| !v) && self.failing_seeds.len() < 100 {
            self.failing_seeds.push(seed);
        }
    }

    fn finish(self, case: &Case, options: &SweepOptions) -> Swept {
        let Self {
            passes,
            runs,
            flaky,
            failing_seeds,
            first,
            first_error,
            first_run,
            errored,
        } = self;
        let wilson = wilson_lower(passes, runs);
        let ok = !errored
            && match options.min_pass_rate {
                Some(rate) => wilson >= rate,
                None => passes == runs,
            };
        let result = SweepResult {
            seeds: options.seeds.unwrap_or(DEFAULT_SEEDS),
            from: first_seed(case, options),
            repeat: options.repeat.max(1),
            runs,
            passes,
            pass_rate: if runs == 0 {
                0.0
            } else {
                passes as f64 / runs as f64
            },
            wilson_lower: wilson,
            pass_hat_k: (options.repeat > 1)
                .then(|| pass_hat_k(passes, runs, u64::from(options.repeat))),
            flaky,
            failing_seeds,
            first_failure: first_error
                .or_else(|| {
                    first
                        .as_ref()
                        .map(|(seed, _, reason)| (*seed, reason.clone()))
                })
                .map(|(seed, reason)| FirstFailure { seed, reason }),
            min_pass_rate: options.min_pass_rate,
            recorded: false,
            ok,
            errored,
        };
        if errored {
            // No run's outcome stands for the case: it is an error (see `errored`).
            return (result, None, None);
        }
        (result, first.map(|(_, outcome, _)| outcome), first_run)
    }
}
