//! Sweeps (docs/sweeps.md): one case under many callers (seeds), pass rates with a Wilson
//! 95% lower bound, pass^k for agents that are not deterministic, and shrinking a failing
//! seed to a minimal case that fails without it. Here: the settings, the plan, the math and
//! the result; running the seeds is `seeds.rs`'s, shrinking `shrink.rs`'s.

pub use crate::stats::{pass_hat_k, seeds_needed, wilson_lower};
use std::fmt;

use serde::Serialize;

use crate::case::Case;
use crate::run::{Outcome, RunOptions};

mod seeds;
// Shrinking is the runner's (`sweep --shrink`).
#[cfg(feature = "cli")]
mod shrink;
#[cfg(feature = "cli")]
pub(crate) use seeds::in_parallel;
#[cfg(feature = "fuzz")]
pub(crate) use seeds::sweep_case;
pub(crate) use seeds::{Spread, sweep};
#[cfg(feature = "cli")]
pub(crate) use shrink::{shrink, shrunk_id};

/// Seeds per case when neither `--seeds` nor the case's `sweep.seeds` says (or, with a
/// bound, the fewest that can meet it when that is more; see [`seeds_needed`]).
pub const DEFAULT_SEEDS: u64 = 10;

/// How a sweep runs: `voice-harness sweep`'s flags. A field left `None` falls back to the
/// case's own `sweep` block, field by field, then to the default (docs/sweeps.md).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SweepOptions {
    /// Seeds per case (`--seeds N`); `None`: the case's `sweep.seeds`, else
    /// [`DEFAULT_SEEDS`].
    pub seeds: Option<u64>,
    /// The first seed (`--from S`, or `--seed S`); `None`: the run's seed override, else
    /// each case's own seed, so the sweep's first call is the one `cargo test` makes. Seeds
    /// count up from it, wrapping past `u64::MAX`.
    pub from: Option<u64>,
    /// Runs per seed (`--repeat K`), for agents that are not deterministic.
    pub repeat: u32,
    /// A case fails the sweep when its Wilson lower bound is under this; `None`: the case's
    /// `sweep.min_pass_rate`, else the case fails when any run is not as expected.
    pub min_pass_rate: Option<f64>,
}

impl Default for SweepOptions {
    fn default() -> Self {
        Self {
            seeds: None,
            from: None,
            repeat: 1,
            min_pass_rate: None,
        }
    }
}

impl SweepOptions {
    /// `seeds` seeds per case, once each; the rest from each case's own `sweep` block.
    pub fn new(seeds: u64) -> Self {
        Self {
            seeds: Some(seeds),
            ..Self::default()
        }
    }

    /// Sets [`SweepOptions::from`].
    pub fn with_from(mut self, from: Option<u64>) -> Self {
        self.from = from;
        self
    }

    /// Sets [`SweepOptions::repeat`].
    pub fn with_repeat(mut self, repeat: u32) -> Self {
        self.repeat = repeat.max(1);
        self
    }

    /// Sets [`SweepOptions::min_pass_rate`].
    pub fn with_min_pass_rate(mut self, rate: Option<f64>) -> Self {
        self.min_pass_rate = rate;
        self
    }
}

/// Why `runs` runs (of `repeat` each per seed) can never meet the bound `rate`, for a
/// message; `None` when they can.
pub fn why_unreachable(runs: u64, rate: f64, repeat: u32) -> Option<String> {
    let best = wilson_lower(runs, runs);
    match seeds_needed(rate, repeat) {
        None => Some(crate::message::sweep_bound_never(rate)),
        Some(needed) if best < rate => Some(crate::message::sweep_bound_unreachable(
            runs, best, rate, needed,
        )),
        Some(_) => None,
    }
}

/// Whether `case` is swept, and how: the one step `cargo test`, `run` and `sweep` share.
/// `asked` is `sweep`'s flags; `None` for `cargo test` and `run`, which sweep a case only
/// when it has a `sweep` block. A flag wins over the block, field by field; the first seed
/// is `--from`, else the run's seed (`--seed`), else the case's own. `Err`: the settings
/// can never pass (a bound no number of passes meets), said before any call.
pub(crate) fn plan(
    case: &Case,
    asked: Option<&SweepOptions>,
    run: &RunOptions,
) -> Result<Option<SweepOptions>, String> {
    let block = case.sweep.as_ref();
    if asked.is_none() && block.is_none() {
        return Ok(None);
    }
    let default = SweepOptions::default();
    let asked = asked.unwrap_or(&default);
    let repeat = asked.repeat.max(1);
    let min_pass_rate = asked.min_pass_rate.or(block.and_then(|b| b.min_pass_rate));
    let seeds = match asked.seeds.or(block.map(|b| b.seeds)) {
        Some(seeds) => seeds,
        None => min_pass_rate
            .and_then(|rate| seeds_needed(rate, repeat))
            .unwrap_or(0)
            .max(DEFAULT_SEEDS),
    };
    if let Some(rate) = min_pass_rate {
        let runs = seeds.saturating_mul(u64::from(repeat));
        if let Some(why) = why_unreachable(runs, rate, repeat) {
            return Err(crate::message::sweep_cannot_pass(&why));
        }
    }
    Ok(Some(SweepOptions {
        seeds: Some(seeds),
        from: Some(asked.from.or(run.seed).unwrap_or_else(|| case.seed())),
        repeat,
        min_pass_rate,
    }))
}

/// What sweeping one case found: the result, the first failing run, and the first run.
pub(crate) type Swept = (SweepResult, Option<Outcome>, Option<Outcome>);

/// The first seed of a sweep of `case`.
fn first_seed(case: &Case, options: &SweepOptions) -> u64 {
    options.from.unwrap_or_else(|| case.seed())
}

/// What a sweep of one case found: the report's `sweep` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SweepResult {
    /// Seeds swept.
    pub seeds: u64,
    /// The first seed.
    pub from: u64,
    /// Runs per seed.
    pub repeat: u32,
    /// Runs in all (`seeds × repeat`).
    pub runs: u64,
    /// Runs that were as expected.
    pub passes: u64,
    /// `passes / runs`.
    pub pass_rate: f64,
    /// The Wilson score 95% lower bound of the pass rate.
    pub wilson_lower: f64,
    /// With `repeat` K > 1: the chance that K runs in a row all pass, C(passes, K) / C(runs,
    /// K).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass_hat_k: Option<f64>,
    /// Some seed gave different verdicts on different runs: the agent varies.
    pub flaky: bool,
    /// The failing seeds, ascending (at most 100 listed).
    pub failing_seeds: Vec<u64>,
    /// The first failing seed and why it failed.
    pub first_failure: Option<FirstFailure>,
    /// The bound the case is held to (`min_pass_rate`), if any.
    pub min_pass_rate: Option<f64>,
    /// A recorded transcript: it has no caller to vary, so it ran once, not swept.
    pub recorded: bool,
    /// The case met it (or, without one, every run was as expected), and every call
    /// started.
    pub ok: bool,
    /// Some call never started: the swept case is an error, whatever the bound, and
    /// `first_failure` names the first such call.
    #[serde(skip)]
    pub(crate) errored: bool,
}

/// The first failing seed of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FirstFailure {
    /// The seed.
    pub seed: u64,
    /// Why, on one line (as the runner says it).
    pub reason: String,
}

impl SweepResult {
    /// The result of a case run once (a recorded transcript: not swept).
    pub(crate) fn once(options: &SweepOptions, passes: u64, reason: Option<String>) -> Self {
        let from = options.from.unwrap_or(0);
        Self {
            seeds: 1,
            from,
            repeat: 1,
            runs: 1,
            passes,
            pass_rate: passes as f64,
            wilson_lower: wilson_lower(passes, 1),
            pass_hat_k: None,
            flaky: false,
            failing_seeds: if passes == 1 { Vec::new() } else { vec![from] },
            first_failure: reason
                .filter(|_| passes == 0)
                .map(|reason| FirstFailure { seed: from, reason }),
            min_pass_rate: None,
            recorded: true,
            ok: passes == 1,
            errored: false,
        }
    }
}

impl fmt::Display for SweepResult {
    /// `7/10 passed (lower bound 0.40), pass^3 0.29, flaky; first failing seed 12: …`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} passed (lower bound {:.2})",
            self.passes, self.runs, self.wilson_lower
        )?;
        if let Some(k) = self.pass_hat_k {
            write!(f, ", pass^{} {k:.2}", self.repeat)?;
        }
        if self.flaky {
            f.write_str(", flaky")?;
        }
        if let Some(first) = &self.first_failure {
            write!(f, "; first failing seed {}: {}", first.seed, first.reason)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_lower_bound_matches_known_values() {
        for (passes, runs, expected) in [
            (10, 10, 0.722467),
            (0, 10, 0.0),
            (5, 10, 0.236593),
            (95, 100, 0.88825),
            (50, 50, 0.928652),
            (1, 1, 0.206549),
            (999, 1000, 0.994357),
        ] {
            let got = wilson_lower(passes, runs);
            assert!((got - expected).abs() < 1e-6, "{passes}/{runs}: {got}");
        }
        assert_eq!(wilson_lower(0, 0), 0.0);
    }

    #[test]
    fn seeds_needed_is_the_fewest_that_can_meet_the_bound() {
        for (rate, repeat, needed) in [(0.9, 1, 35), (0.9, 3, 12), (0.95, 1, 73), (0.5, 1, 4)] {
            let got = seeds_needed(rate, repeat).unwrap();
            assert_eq!(got, needed, "{rate} x{repeat}");
            let runs = got * u64::from(repeat);
            assert!(wilson_lower(runs, runs) >= rate);
            assert!(wilson_lower(runs - u64::from(repeat), runs - u64::from(repeat)) < rate);
        }
        assert_eq!(seeds_needed(0.0, 1), Some(1));
        assert_eq!(seeds_needed(1.0, 1), None);
    }

    #[test]
    fn wilson_lower_bound_is_never_above_the_rate() {
        // Found by the fuzzer (fuzz/regressions/load/sweep_of_failing_seeds_lower_bound_above_0):
        // with no pass, rounding left 1.4e-17 where the bound is exactly 0, above the rate.
        for runs in 1..=200 {
            assert_eq!(wilson_lower(0, runs), 0.0, "0/{runs}");
            for passes in 0..=runs {
                let rate = passes as f64 / runs as f64;
                assert!(wilson_lower(passes, runs) <= rate, "{passes}/{runs}");
            }
        }
    }

    #[test]
    fn pass_hat_k_matches_hand_computed_values() {
        // C(8,3)/C(10,3) = 56/120.
        assert!((pass_hat_k(8, 10, 3) - 56.0 / 120.0).abs() < 1e-12);
        // C(9,2)/C(10,2) = 36/45.
        assert!((pass_hat_k(9, 10, 2) - 0.8).abs() < 1e-12);
        assert_eq!(pass_hat_k(10, 10, 5), 1.0);
        assert_eq!(pass_hat_k(2, 10, 3), 0.0);
        assert_eq!(pass_hat_k(3, 3, 4), 0.0);
        // k = 1 is the pass rate.
        assert!((pass_hat_k(7, 10, 1) - 0.7).abs() < 1e-12);
    }
}
