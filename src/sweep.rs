//! Sweeps (docs/sweeps.md): one case under many callers (seeds), pass rates with a Wilson
//! 95% lower bound, pass^k for agents that are not deterministic, and shrinking a failing
//! seed to a minimal case that fails without it.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::agent::Agent;
use crate::case::{Case, parse_case};
use crate::prepare;
use crate::run::{Outcome, RunOptions};

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
    ((centre - spread) / (1.0 + z2 / n)).max(0.0)
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

// ---- shrinking ----------------------------------------------------------------------------

/// One way a seed changed a turn: a filler in what was said, or noise in what was heard.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Perturbation {
    turn: usize,
    said: Option<String>,
    heard: Option<String>,
}

/// A minimal failing case for a failing seed: the seed's fillers and recognition noise are
/// written down as `said` / `heard` pins, every pin the failure does not need is removed
/// (removing any one that is left makes the case stop failing the same way), and the
/// random perturbations are turned off, so it fails under any seed. `None` when the
/// written-down case does not fail the same way (the agent itself is not deterministic).
pub(crate) fn shrink<A: Agent>(
    raw: &Value,
    case: &Case,
    failing: &Outcome,
    make_agent: &impl Fn(&Case) -> A,
    run: &RunOptions,
    source: &str,
) -> Option<Value> {
    let perturbations = perturbations(case, failing);
    let fails_the_same_way = |kept: &[Perturbation]| -> bool {
        let candidate = pinned(
            raw,
            case,
            failing.seed,
            kept,
            source,
            &failing.metrics.failure_steps,
        );
        let Ok(bytes) = serde_json::to_vec(&candidate) else {
            return false;
        };
        let Ok(shrunk) = parse_case("shrink.json", &bytes) else {
            return false;
        };
        match prepare::run(&shrunk, make_agent, run) {
            Ok(ran) => {
                !ran.outcome.as_expected
                    && ran.outcome.metrics.failure_steps == failing.metrics.failure_steps
                    && ran.outcome.status == failing.status
            }
            Err(_) => false,
        }
    };
    if !fails_the_same_way(&perturbations) {
        return None;
    }
    // Greedy 1-minimal reduction (delta debugging with single removals): drop each pin
    // the failure survives without, until none can go.
    let mut kept = perturbations;
    loop {
        let before = kept.len();
        let mut i = 0;
        while i < kept.len() {
            let mut without = kept.clone();
            without.remove(i);
            if fails_the_same_way(&without) {
                kept = without;
            } else {
                i += 1;
            }
        }
        if kept.len() == before {
            break;
        }
    }
    Some(pinned(
        raw,
        case,
        failing.seed,
        &kept,
        source,
        &failing.metrics.failure_steps,
    ))
}

/// Every filler and every misheard line of the failing run, one pin each: a `said` for a
/// line with a filler, a `heard` for a line the agent misheard (a turn may give both).
fn perturbations(case: &Case, outcome: &Outcome) -> Vec<Perturbation> {
    let mut found = Vec::new();
    for row in outcome
        .transcript
        .iter()
        .filter(|r| r.speaker == crate::case::Speaker::User && r.event.is_none())
    {
        let Some(index) = (row.step_order as usize).checked_sub(1) else {
            continue;
        };
        let Some(turn) = case.turns.get(index) else {
            continue;
        };
        if turn.said.is_some() || turn.heard.is_some() {
            continue;
        }
        if row.text != turn.user_input {
            found.push(Perturbation {
                turn: index,
                said: Some(row.text.clone()),
                heard: None,
            });
        }
        if let Some(heard) = &row.heard {
            found.push(Perturbation {
                turn: index,
                said: None,
                heard: Some(heard.clone()),
            });
        }
    }
    found
}

/// The case with `kept` written down, randomness off, and a name and description that say
/// where it came from.
fn pinned(
    raw: &Value,
    case: &Case,
    seed: u64,
    kept: &[Perturbation],
    source: &str,
    failing_steps: &[u32],
) -> Value {
    let mut value = raw.clone();
    let Some(object) = value.as_object_mut() else {
        return value;
    };
    object.remove("sweep");
    object.remove("seed");
    object.insert(
        "test_id".into(),
        Value::String(shrunk_id(&case.test_id, seed)),
    );
    object.insert(
        "description".into(),
        Value::String(format!(
            "Shrunk by `voice-harness sweep --shrink` from {source} ({}) at seed {seed}: it fails at steps {failing_steps:?} with only the fillers and misheard lines written down here, under any seed.",
            case.test_id
        )),
    );
    if let Some(caller) = object.get_mut("caller").and_then(Value::as_object_mut) {
        caller.remove("disfluency_rate");
        caller.remove("asr");
        if caller.is_empty() {
            object.remove("caller");
        }
    }
    if let Some(turns) = object.get_mut("turns").and_then(Value::as_array_mut) {
        for p in kept {
            let Some(turn) = turns.get_mut(p.turn).and_then(Value::as_object_mut) else {
                continue;
            };
            if let Some(said) = &p.said {
                turn.insert("said".into(), Value::String(said.clone()));
            }
            if let Some(heard) = &p.heard {
                turn.insert("heard".into(), Value::String(heard.clone()));
            }
        }
    }
    value
}

/// `billing_v1_seed42`, kept within the 128 characters a `test_id` may have.
pub(crate) fn shrunk_id(test_id: &str, seed: u64) -> String {
    let suffix = format!("_seed{seed}");
    let keep = 128 - suffix.len();
    let head: String = test_id.chars().take(keep).collect();
    format!("{head}{suffix}")
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

    #[test]
    fn shrunk_ids_stay_valid() {
        assert_eq!(shrunk_id("billing_v1", 42), "billing_v1_seed42");
        let long = "x".repeat(128);
        let id = shrunk_id(&long, u64::MAX);
        assert_eq!(id.len(), 128);
        assert!(id.ends_with("_seed18446744073709551615"));
    }
}
