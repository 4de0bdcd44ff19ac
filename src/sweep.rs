//! Sweeps (docs/sweeps.md): one case under many callers (seeds), pass rates with a Wilson
//! 95% lower bound, pass^k for agents that are not deterministic, and shrinking a failing
//! seed to a minimal case that fails without it.

use std::fmt;

use serde::Serialize;

use crate::agent::Agent;
use crate::case::Case;
use crate::prepare;
use crate::run::{Outcome, RunOptions};

// Shrinking is the runner's (`sweep --shrink`).
#[cfg(feature = "cli")]
mod shrink;
#[cfg(feature = "cli")]
pub(crate) use shrink::{shrink, shrunk_id};

/// How a sweep runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SweepOptions {
    /// Seeds per case (`--seeds N`, or the case's `sweep.seeds`).
    pub seeds: u64,
    /// The first seed; `None`: each case's own seed, so the sweep's first call is the one
    /// `cargo test` makes. Seeds count up from it, wrapping past `u64::MAX`.
    pub from: Option<u64>,
    /// Runs per seed (`--repeat K`), for agents that are not deterministic.
    pub repeat: u32,
    /// A case fails the sweep when its Wilson lower bound is under this; `None`: when any
    /// run is not as expected.
    pub min_pass_rate: Option<f64>,
}

impl Default for SweepOptions {
    fn default() -> Self {
        Self {
            seeds: 10,
            from: None,
            repeat: 1,
            min_pass_rate: None,
        }
    }
}

impl SweepOptions {
    /// `seeds` seeds from `from`, once each.
    pub fn new(seeds: u64) -> Self {
        Self {
            seeds,
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
    /// The case met it (or, without one, every run was as expected).
    pub ok: bool,
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

/// The Wilson score lower bound of a pass rate at 95% confidence (z = 1.96): how low the
/// true rate may be, given `passes` of `runs`. 0 for no runs.
pub fn wilson_lower(passes: u64, runs: u64) -> f64 {
    if runs == 0 {
        return 0.0;
    }
    const Z: f64 = 1.959_963_984_540_054;
    let n = runs as f64;
    let p = passes as f64 / n;
    let z2 = Z * Z;
    let centre = p + z2 / (2.0 * n);
    let spread = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // Never above the rate (exactly 0 with no pass), whatever the rounding.
    ((centre - spread) / (1.0 + z2 / n)).clamp(0.0, p)
}

/// pass^k: the chance that `k` runs drawn from these, without replacement, all pass:
/// C(passes, k) / C(runs, k). 0 when `k` exceeds `passes`.
pub fn pass_hat_k(passes: u64, runs: u64, k: u64) -> f64 {
    if k > runs || k > passes {
        return 0.0;
    }
    // The product form, without large binomials: ∏ (passes - i) / (runs - i).
    (0..k).fold(1.0, |acc, i| acc * (passes - i) as f64 / (runs - i) as f64)
}

/// Sweeps one case: each seed `repeat` times, with a fresh agent each run. `on_run` is
/// called after every run (for a progress bar).
/// Returns the result, the first failing run, and the first run.
pub(crate) fn sweep_case<A: Agent>(
    case: &Case,
    make_agent: &impl Fn(&Case) -> A,
    run: &RunOptions,
    options: &SweepOptions,
    on_run: &(dyn Fn() + Sync),
) -> (SweepResult, Option<Outcome>, Option<Outcome>) {
    let from = options.from.unwrap_or_else(|| case.seed());
    if case.uses_llm() {
        // Every seed would need new LLM answers: not swept (run it with `voice-harness run`).
        let mut result = SweepResult::once(&options.clone().with_from(Some(from)), 0, None);
        result.first_failure = Some(FirstFailure {
            seed: from,
            reason: crate::message::LLM_NOT_SWEPT.to_owned(),
        });
        return (result, None, None);
    }
    let mut passes = 0;
    let mut runs = 0;
    let mut flaky = false;
    let mut failing_seeds = Vec::new();
    let mut first: Option<(u64, Outcome, String)> = None;
    let mut first_run: Option<Outcome> = None;
    for i in 0..options.seeds {
        let seed = from.wrapping_add(i);
        let run = run.clone().with_seed(Some(seed));
        let mut verdicts = Vec::with_capacity(options.repeat as usize);
        for _ in 0..options.repeat.max(1) {
            let (ok, outcome, reason) = match prepare::run(case, make_agent, &run) {
                Ok(ran) => {
                    let reason = prepare::reason(case, &ran.outcome);
                    (ran.outcome.as_expected, Some(ran.outcome), reason)
                }
                Err(err) => (false, None, Some(err)),
            };
            on_run();
            runs += 1;
            passes += u64::from(ok);
            verdicts.push(ok);
            if !ok && first.is_none() {
                if let Some(outcome) = &outcome {
                    first = Some((seed, outcome.clone(), reason.unwrap_or_default()));
                }
            }
            if first_run.is_none() {
                first_run = outcome;
            }
        }
        flaky |= verdicts.iter().any(|v| *v != verdicts[0]);
        if verdicts.iter().any(|v| !v) && failing_seeds.len() < 100 {
            failing_seeds.push(seed);
        }
    }
    let wilson = wilson_lower(passes, runs);
    let ok = match options.min_pass_rate {
        Some(rate) => wilson >= rate,
        None => passes == runs,
    };
    let result = SweepResult {
        seeds: options.seeds,
        from,
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
        first_failure: first.as_ref().map(|(seed, _, reason)| FirstFailure {
            seed: *seed,
            reason: reason.clone(),
        }),
        min_pass_rate: options.min_pass_rate,
        recorded: false,
        ok,
    };
    (result, first.map(|(_, outcome, _)| outcome), first_run)
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
