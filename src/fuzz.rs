//! The bodies of the fuzz targets (`fuzz/`), kept in the crate so that `cargo test` replays
//! the saved inputs (`fuzz/regressions/`) through exactly the code the fuzzer ran. Not part
//! of the public API.

use serde_json::{Value, json};

use crate::agent::{BuiltinAgent, IdealAgent};
use crate::case::parse_case;
use crate::case::{Speaker, Status};
use crate::run::{RunOptions, run_case};

/// Loader target: any bytes give a case or an error; a case also runs (bounded).
pub fn load(data: &[u8]) {
    let Ok(case) = parse_case("fuzz.json", data) else {
        return;
    };
    let options = RunOptions::default().with_max_transcript_rows(64);
    let outcome = run_case(&case, &mut BuiltinAgent::for_case(&case), &options);
    check_invariants(&outcome, case.turns.len());
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
    let outcome = run_case(&case, &mut IdealAgent::new(&case), &RunOptions::default());
    check_invariants(&outcome, case.turns.len());
}

/// The metrics' invariants (docs/case-format.md): a broken one is a bug even when nothing panicked.
fn check_invariants(outcome: &crate::run::Outcome, turns: usize) {
    let m = &outcome.metrics;
    assert_eq!(m.total_steps as usize, turns);
    assert_eq!(m.steps_passed + m.steps_failed, m.total_steps);
    assert_eq!(m.failure_steps.len() as u32, m.steps_failed);
    assert!(m.failure_steps.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(m.first_failure_step, m.failure_steps.first().copied());
    assert!(m.keyword_recall.is_none_or(|r| (0.0..=1.0).contains(&r)));
    if let (Some(p50), Some(p95), Some(max)) =
        (m.latency_ms_p50, m.latency_ms_p95, m.latency_ms_max)
    {
        assert!(p50 <= p95 && p95 <= max);
    }
    let agent_latencies = outcome
        .transcript
        .iter()
        .filter(|r| r.speaker == Speaker::Agent && r.latency_ms.is_some())
        .count();
    assert_eq!(m.latency_ms_max.is_some(), agent_latencies > 0);
    assert_eq!(
        outcome.status == Status::Pass,
        outcome.steps.iter().all(|s| s.passed) && outcome.tone.passed
    );
    for step in &outcome.steps {
        assert_eq!(step.passed, step.details.is_none());
    }
}
