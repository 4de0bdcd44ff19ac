//! What the runner and `cargo test` say about a run as a whole: a bad environment variable,
//! a missing cases folder, a `harness!` target without `harness = false`, a swept case under
//! its bound, a sweep that can never pass, and the runner's counts and JUnit lines. Read by
//! whoever runs the suite.

use std::fmt;

// ---- the environment ---------------------------------------------------------------------

impl fmt::Display for crate::limits::EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bad_env_value(self.var, &self.value, self.default))
    }
}

pub(crate) fn bad_env_value(var: &str, value: &str, default: usize) -> String {
    format!(
        "environment variable {var}: expected a whole number of at least 1, found {value:?}\n  help: fix it, or unset it to use the default ({default})"
    )
}

// ---- the runner's counts and lines --------------------------------------------------------

/// `1 case`, `2 cases`.
#[cfg(feature = "cli")]
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

// ---- cargo test's cases folder -------------------------------------------------------------

/// What the guard test says when cargo's own harness ran the `harness!` target.
#[cfg(feature = "harness")]
pub const HARNESS_NOT_FALSE: &str = "voice_harness::harness! needs its test target to have \
`harness = false`: cargo's own test harness ran instead, so no case was run.\n  \
help: in Cargo.toml, add\n\n[[test]]\nname = \"<this file's name>\"\nharness = false\n";

#[cfg(feature = "harness")]
pub(crate) fn cases_folder_missing(root: &str, absolute: &str, why: &str) -> String {
    format!(
        "voice_harness::harness!: could not read the cases folder `{root}` ({absolute}): {why}\n  \
         help: create it and add a case file, or point the macro at your folder with \
         `voice_harness::harness!(root = \"path/to/cases\")` (relative to the crate root)"
    )
}

#[cfg(feature = "harness")]
pub(crate) fn cases_folder_empty(root: &str, absolute: &str) -> String {
    format!(
        "voice_harness::harness!: no case file (*.json) in the cases folder `{root}` \
         ({absolute})\n  help: add a case file there (see docs/rust.md, \"Add a case\"), \
         or point the macro at your folder with `root = \"path/to/cases\"`"
    )
}

// ---- sweeps --------------------------------------------------------------------------------

/// A swept case under its bound: the failing seeds and how to shrink one. `bound` is the
/// lower bound and `min_pass_rate`, when the case has one; `first` the first failing seed
/// and why. `runner_flags` makes the runner call the same agent (`Agent::__runner_flags`);
/// `None` when it cannot (an agent in Rust): the hint then says what reproduces it.
#[cfg(feature = "harness")]
pub(crate) fn sweep_failed(
    file: &str,
    (passes, runs): (u64, u64),
    bound: Option<(f64, f64)>,
    failing_seeds: &[u64],
    first: Option<(u64, &str)>,
    (from, seeds): (u64, u64),
    runner_flags: Option<&str>,
) -> String {
    let bound = match bound {
        Some((lower, rate)) => {
            format!("the 95% lower bound {lower:.2} is under min_pass_rate {rate}")
        }
        None => "every seed must pass".to_owned(),
    };
    let listed: Vec<String> = failing_seeds.iter().take(20).map(u64::to_string).collect();
    let more = if failing_seeds.len() > 20 {
        ", …"
    } else {
        ""
    };
    let next = match (runner_flags, first) {
        (Some(flags), _) => format!(
            "shrink one to a minimal case (from the crate's folder): voice-harness sweep {file} \
             --from {from} --seeds {seeds}{flags} --shrink shrunk/"
        ),
        (None, Some((seed, _))) => format!(
            "reproduce one: a copy of the case with \"seed\": {seed} and without \"sweep\" \
             fails the same way under cargo test (the runner's `sweep --shrink` cannot call an \
             agent written in Rust)"
        ),
        (None, None) => "reproduce one: a copy of the case with \"seed\" set to a failing seed \
             and without \"sweep\" fails the same way under cargo test"
            .to_owned(),
    };
    let first = first
        .map(|(seed, reason)| format!("\n  first failing seed {seed}: {reason}"))
        .unwrap_or_default();
    format!(
        "sweep of {file}: {passes}/{runs} seeds passed; {bound}\n  failing seeds: {}{more}{first}\n  \
         {next}",
        listed.join(", "),
    )
}

/// A sweep's bound that `runs` runs, all passing, cannot meet (issue 23, fault 16).
pub(crate) fn sweep_bound_unreachable(runs: u64, best: f64, rate: f64, needed: u64) -> String {
    format!(
        "{runs} runs that all pass have a 95% lower bound of {best:.2}, under {rate}; use at least {needed} seeds"
    )
}

/// A bound of 1 (or more): no sweep ever meets it.
pub(crate) fn sweep_bound_never(rate: f64) -> String {
    format!(
        "a 95% lower bound is under 1 for any number of seeds, so {rate} can never be met; leave the bound out to require every run to pass"
    )
}

/// A case whose sweep, as the flags and its `sweep` block make it, can never pass.
pub(crate) fn sweep_cannot_pass(why: &str) -> String {
    format!("this sweep can never pass: {why}")
}

pub(crate) const LLM_NOT_SWEPT: &str = "a case that needs an LLM (a judge, a rephrasing caller) is not swept: every seed would need new LLM answers; run it with `voice-harness run`";

#[cfg(feature = "cli")]
pub(crate) const NOT_SHRUNK: &str = "not shrunk: the failing seed's fillers and misheard lines, written down, did not fail the same way (the agent varies between runs?)";

#[cfg(feature = "cli")]
pub(crate) const PASSED_BUT_EXPECTED_TO_FAIL: &str =
    "the call passed, but the case expects it to fail";

/// The `description` of a case `sweep --shrink` wrote: from the case `test_id` of
/// `source`, failing at `steps` at `seed`; `rules`: a rule-following case (its caller's lines
/// are written down as heard, not only its fillers and misheard words).
#[cfg(feature = "cli")]
pub(crate) fn shrunk_description(
    source: &str,
    test_id: &str,
    seed: u64,
    steps: &[u32],
    rules: bool,
) -> String {
    let written_down = if rules {
        "the caller's lines written as the agent heard them"
    } else {
        "only the fillers and misheard words written down here"
    };
    format!(
        "Shrunk by `voice-harness sweep --shrink` from {source} ({test_id}) at seed {seed}: it fails at steps {steps:?} with {written_down}, under any seed."
    )
}

// ---- the runner's paths and `merge` --------------------------------------------------------

#[cfg(feature = "cli")]
pub(crate) fn no_such_path(path: &std::path::Path) -> String {
    format!("no such file or folder: {}", path.display())
}

#[cfg(feature = "cli")]
pub(crate) fn folder_unread(path: &std::path::Path, error: &dyn std::fmt::Display) -> String {
    format!("could not read the folder {}: {error}", path.display())
}

#[cfg(feature = "cli")]
pub(crate) const MERGE_NOTHING: &str = "no report to merge";

#[cfg(feature = "cli")]
pub(crate) fn merge_not_a_report(name: &str, e: &dyn std::fmt::Display) -> String {
    format!(
        "{name} is not a voice-harness JSON report ({e}); write one with `voice-harness run --json FILE`"
    )
}

#[cfg(feature = "cli")]
pub(crate) fn merge_not_utf8(name: &str) -> String {
    format!("{name} is not UTF-8")
}

#[cfg(feature = "cli")]
pub(crate) fn merge_not_laid_out(name: &str) -> String {
    format!(
        "{name} is not laid out as voice-harness writes a report (one case per line); merge the reports it wrote, unchanged"
    )
}

#[cfg(feature = "cli")]
pub(crate) fn merge_interrupted(name: &str) -> String {
    format!(
        "{name} is the report of an interrupted run: it lacks the cases that had not \
         finished. Run that shard again, then merge"
    )
}

#[cfg(feature = "cli")]
pub(crate) fn merge_versions(first: &str, a: &str, name: &str, b: &str) -> String {
    format!(
        "{first} was written by voice-harness {a} and {name} by {b}: merge reports of one version"
    )
}

#[cfg(feature = "cli")]
pub(crate) fn merge_suites(first: &str, name: &str, a: usize, b: usize) -> String {
    format!(
        "{first} and {name} are reports of different suites ({a} and {b} case files in all): merge the shards of one run"
    )
}

#[cfg(feature = "cli")]
pub(crate) fn merge_runs(first: &str, name: &str, field: &str, a: &str, b: &str) -> String {
    format!(
        "{first} and {name} are shards of different runs: their run.{field} differ ({a} and {b}); merge the shards of one command"
    )
}

#[cfg(feature = "cli")]
pub(crate) fn merge_bad_shard(name: &str, text: &str) -> String {
    format!("{name}: its run.shard {text:?} is not K/N")
}

#[cfg(feature = "cli")]
pub(crate) fn merge_whole_run(name: &str) -> String {
    format!("{name} is a whole run, not a shard (`--shard K/N`): there is nothing to merge it with")
}

#[cfg(feature = "cli")]
pub(crate) fn merge_shard_of(name: &str, shard: &dyn std::fmt::Display, n: u64) -> String {
    format!("{name} is shard {shard}, but the others are shards of {n}")
}

#[cfg(feature = "cli")]
pub(crate) fn merge_shard_twice(shard: &dyn std::fmt::Display, other: &str, name: &str) -> String {
    format!("shard {shard} is given twice ({other} and {name}): the shards overlap")
}

#[cfg(feature = "cli")]
pub(crate) fn merge_coverage(with: &str, without: &str) -> String {
    format!(
        "{with} has a coverage block and {without} has none: write every shard with --coverage, or none"
    )
}

#[cfg(feature = "cli")]
pub(crate) fn merge_shard_missing(missing: u64, n: u64) -> String {
    format!("shard {missing}/{n} is missing: a merge of some shards is not the whole run")
}

#[cfg(feature = "cli")]
pub(crate) fn merge_overlap(file: &str) -> String {
    format!("{file} is in two of the reports: the shards overlap")
}

// ---- the runner's `--coverage` summary (report/coverage.rs) ------------------------------

#[cfg(feature = "cli")]
pub(crate) fn coverage_headline(
    cases: usize,
    calls: u64,
    tools: usize,
    matched: usize,
    mocks: usize,
) -> String {
    format!(
        "coverage of {}: {calls} tool calls, {} mocked or called; mocks: {matched} of {mocks} matched",
        count(cases, "case", "cases"),
        count(tools, "tool", "tools"),
    )
}

/// The heads of the summary's lists (each item follows on a line of its own).
#[cfg(feature = "cli")]
pub(crate) const COVERAGE_MOCKS_NEVER_MATCHED: &str = "  mocks never matched";
#[cfg(feature = "cli")]
pub(crate) const COVERAGE_RULES_NEVER_FIRED: &str = "  rules never fired";
#[cfg(feature = "cli")]
pub(crate) const COVERAGE_CHECK_NOTHING: &str = "  check nothing";
#[cfg(feature = "cli")]
pub(crate) const COVERAGE_NO_RULES: &str = "  caller rules: none in the suite";

#[cfg(feature = "cli")]
pub(crate) fn coverage_rules_fired(fired: usize, rules: usize) -> String {
    format!("  caller rules: {fired} of {rules} fired")
}

#[cfg(feature = "cli")]
pub(crate) fn coverage_voice(features: &[String]) -> String {
    format!("  voice (cases/times): {}", features.join(", "))
}

#[cfg(feature = "cli")]
pub(crate) fn coverage_checking_nothing(cases: usize) -> String {
    format!("  cases that check nothing: {cases}")
}
