//! The bodies of the fuzz targets (`fuzz/`), kept in the crate so that `cargo test` replays
//! the saved inputs (`fuzz/regressions/`) and every case file of the repo through exactly the
//! code the fuzzer ran (`tests/fuzz_regressions.rs`). Not part of the public API.
//!
//! Each body takes any bytes and must neither panic nor hang; a body also checks what SPEC
//! promises of the result ([`invariants`]), so a wrong answer is a finding too.

use serde_json::{Value, json};

use crate::agent::{BuiltinAgent, IdealAgent};
use crate::case::{Case, parse_case};
use crate::run::{RunOptions, run_case};

#[cfg(feature = "cli")]
mod import;
mod invariants;
mod loopback;
mod matching;
#[cfg(feature = "cli")]
mod merge;
mod protocol;
#[cfg(feature = "retell")]
mod retell;
mod sse;

#[cfg(feature = "cli")]
pub use import::import;
pub use matching::{numbers, tool_arguments};
#[cfg(feature = "cli")]
pub use merge::merge;
pub use protocol::protocol;
#[cfg(feature = "retell")]
pub use retell::retell;
pub use sse::sse;

/// The transcript rows a fuzzed call may keep: enough for every feature, small enough that
/// one input runs in well under a millisecond.
const MAX_ROWS: usize = 64;

/// Seeds a fuzzed case with a random caller is also swept over (SPEC §13).
const SWEEP_SEEDS: u64 = 3;

/// Loader target: any bytes give a case or an error; a case also runs (bounded), twice to
/// the same result, and a case whose caller is random runs under a few more seeds and as a
/// sweep of them.
pub fn load(data: &[u8]) {
    let Ok(case) = parse_case("fuzz.json", data) else {
        return;
    };
    let options = RunOptions::default().with_max_transcript_rows(MAX_ROWS);
    let outcome = run_case(&case, &mut BuiltinAgent::for_case(&case), &options);
    invariants::check_outcome(&case, &outcome, MAX_ROWS);
    let again = run_case(&case, &mut BuiltinAgent::for_case(&case), &options);
    assert!(
        outcome == again,
        "the same case and seed gave a different call"
    );
    let random_caller = case.disfluency_rate > 0.0 || case.asr_wer.is_some();
    if case.transcript.is_none() && !case.uses_llm() && (random_caller || case.sweep.is_some()) {
        sweep(&case, &options);
    }
}

/// The case under [`SWEEP_SEEDS`] seeds from its own, one by one and as a sweep: each call
/// holds the invariants, and the sweep counts what the calls found.
fn sweep(case: &Case, options: &RunOptions) {
    let from = case.seed();
    let mut passes = 0;
    for i in 0..SWEEP_SEEDS {
        let options = options.clone().with_seed(Some(from.wrapping_add(i)));
        let outcome = run_case(case, &mut BuiltinAgent::for_case(case), &options);
        invariants::check_outcome(case, &outcome, MAX_ROWS);
        passes += u64::from(outcome.as_expected);
    }
    let sweep = crate::sweep::SweepOptions::new(SWEEP_SEEDS)
        .with_min_pass_rate(case.sweep.as_ref().and_then(|s| s.min_pass_rate));
    let (result, failing, first) = crate::sweep::sweep_case(
        case,
        &|case| crate::agent::Erased::new(BuiltinAgent::for_case(case)),
        options,
        &sweep,
        &|| {},
    );
    invariants::check_sweep(&result, passes);
    assert_eq!(result.from, from, "a sweep starts at the case's own seed");
    for outcome in failing.iter().chain(&first) {
        invariants::check_outcome(case, outcome, MAX_ROWS);
    }
    assert_eq!(
        failing.is_some(),
        passes < SWEEP_SEEDS,
        "a failing run is kept exactly when one failed"
    );
}

/// Validator target: the bytes become a script and a recorded transcript.
///
/// The first line is the script, turns separated by `|`, each `input;keyword,keyword;flags`
/// (`flags` containing `x` makes the step exact, `f` adds a forbidden word, `l` a budget).
/// Every other line is a transcript row: `u…` a caller row, `a…` an agent row whose second
/// byte is its latency (a `-` for none), anything else a tone marker.
pub fn validate(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let script = lines.next().unwrap_or_default();
    let turns: Vec<Value> = script
        .split('|')
        .take(32)
        .enumerate()
        .map(|(i, turn)| {
            let mut parts = turn.split(';');
            let input = parts.next().unwrap_or_default();
            let keywords: Vec<&str> = parts.next().unwrap_or_default().split(',').filter(|k| !k.is_empty()).collect();
            let flags = parts.next().unwrap_or_default();
            let mut t = json!({"step_order": i + 1, "user_input": input, "expected_agent_response_keywords": keywords});
            if flags.contains('x') {
                t["exact_match_required"] = json!(true);
            }
            if flags.contains('f') {
                t["forbidden_keywords"] = json!([input]);
            }
            if flags.contains('l') {
                t["max_latency_ms"] = json!(input.len());
            }
            t
        })
        .collect();
    let mut rows = Vec::new();
    let mut markers = Vec::new();
    for line in lines.take(256) {
        let mut chars = line.chars();
        match chars.next() {
            Some('u') => rows.push(json!({"speaker": "user", "text": chars.as_str()})),
            Some('a') => {
                let mut row = json!({"speaker": "agent"});
                match chars.next() {
                    Some('-') | None => {}
                    Some(c) => row["latency_ms"] = json!(u64::from(c)),
                }
                row["text"] = json!(chars.as_str());
                rows.push(row);
            }
            _ => markers.push(line.to_owned()),
        }
    }
    let case = json!({"test_id": "fuzz", "persona": "Fuzz", "tone_markers": markers, "transcript": rows, "turns": turns});
    let Ok(case) = parse_case("fuzz.json", case.to_string().as_bytes()) else {
        return;
    };
    let options = RunOptions::default();
    let outcome = run_case(&case, &mut IdealAgent::new(&case), &options);
    invariants::check_outcome(&case, &outcome, options.limits.max_transcript_rows);
}
