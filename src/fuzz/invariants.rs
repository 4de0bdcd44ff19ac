//! What SPEC (§3, §5, §6, §10–15) and docs/case-format.md promise of every judged call,
//! whatever kind of case it was: scripted, recorded, rule-following, with voice events,
//! recognition noise, tools, or a sweep. A broken one is a bug even when nothing panicked.
//!
//! Each check says which promise it is, so a failure names the broken sentence of the docs.

use crate::case::{Case, EndedBy, Speaker, Status};
use crate::hearing::word_errors;
use crate::run::Outcome;
use crate::sweep::SweepResult;

/// Checks `outcome`, the judged call of `case` with at most `max_rows` transcript rows.
pub(crate) fn check_outcome(case: &Case, outcome: &Outcome, max_rows: usize) {
    steps_counted(case, outcome);
    failures_ordered(outcome);
    status_and_expect(case, outcome);
    per_step(case, outcome);
    latency(case, outcome);
    optional_metrics(case, outcome);
    transcript(case, outcome, max_rows);
}

/// §6: `total_steps` is the number of turns (a rule-following case numbers its outcome
/// checks as steps, §15), `steps_passed + steps_failed = total_steps`, `coverage` their ratio.
fn steps_counted(case: &Case, outcome: &Outcome) {
    let m = &outcome.metrics;
    let expected_steps = match &case.rules {
        None => case.turns.len(),
        Some(rules) => {
            let o = &rules.outcome;
            // "the call ended" is always checked; each other check only when asked for.
            1 + usize::from(case.tools.is_some())
                + usize::from(!o.tool_calls.is_empty())
                + usize::from(!o.forbidden_tool_calls.is_empty())
                + usize::from(!o.mentions.is_empty())
                + usize::from(!o.forbidden_keywords.is_empty())
                + usize::from(o.ended_by.is_some())
                + usize::from(o.max_turns.is_some())
        }
    };
    assert_eq!(
        outcome.steps.len(),
        expected_steps,
        "one step per turn (or outcome check)"
    );
    assert_eq!(
        m.total_steps as usize, expected_steps,
        "total_steps counts the steps"
    );
    for (i, step) in outcome.steps.iter().enumerate() {
        assert_eq!(
            step.step_order as usize,
            i + 1,
            "steps are numbered 1, 2, 3, … in order"
        );
    }
    let passed = outcome.steps.iter().filter(|s| s.passed).count() as u32;
    assert_eq!(
        m.steps_passed, passed,
        "steps_passed counts the passed steps"
    );
    assert_eq!(
        m.steps_passed + m.steps_failed,
        m.total_steps,
        "passed + failed = total"
    );
    let coverage = if m.total_steps == 0 {
        0.0
    } else {
        f64::from(m.steps_passed) / f64::from(m.total_steps)
    };
    assert_eq!(
        m.coverage, coverage,
        "coverage = steps_passed / total_steps"
    );
}

/// §6, §7: `failure_steps` lists every failed step, ascending; `first_failure_step` is its
/// first; the report's failure lines are the failed steps in order, then the tone check's
/// finds in transcript order.
fn failures_ordered(outcome: &Outcome) {
    let m = &outcome.metrics;
    let failed: Vec<u32> = outcome
        .steps
        .iter()
        .filter(|s| !s.passed)
        .map(|s| s.step_order)
        .collect();
    assert_eq!(m.failure_steps, failed, "failure_steps: every failed step");
    assert!(
        m.failure_steps.windows(2).all(|w| w[0] < w[1]),
        "failure_steps ascending"
    );
    assert_eq!(
        m.failure_steps.len() as u32,
        m.steps_failed,
        "one failure step per failed step"
    );
    assert_eq!(
        m.first_failure_step,
        m.failure_steps.first().copied(),
        "first_failure_step"
    );
    assert!(
        outcome.tone.found.windows(2).all(|w| w[0].0 <= w[1].0),
        "tone finds in transcript order"
    );
    let lines = outcome.failures();
    assert_eq!(
        lines.len(),
        failed.len() + outcome.tone.found.len(),
        "one failure line each"
    );
    for (line, step) in lines.iter().zip(&failed) {
        assert!(
            line.starts_with(&format!("Step {step} ")),
            "failure lines in step order: {line}"
        );
    }
}

/// §6: `status` is pass exactly when every step and the tone check passed; a step passed
/// exactly when it has no `details`; the test is as expected when `status` is pass, or,
/// with `expect`, when it is `expect.status` (and `failure_steps` when given).
fn status_and_expect(case: &Case, outcome: &Outcome) {
    assert_eq!(
        outcome.tone.passed,
        outcome.tone.found.is_empty(),
        "tone passed: nothing found"
    );
    assert!(
        !case.tone_markers.is_empty() || outcome.tone.passed,
        "no tone markers, no tone failure"
    );
    let all_passed = outcome.steps.iter().all(|s| s.passed) && outcome.tone.passed;
    assert_eq!(
        outcome.status == Status::Pass,
        all_passed,
        "status consistent with steps"
    );
    for step in &outcome.steps {
        assert_eq!(
            step.passed,
            step.details.is_none(),
            "details exactly when failed"
        );
    }
    let as_expected = match &case.expect {
        None => outcome.status == Status::Pass,
        Some(expect) => {
            expect.status == outcome.status
                && expect
                    .failure_steps
                    .as_ref()
                    .is_none_or(|steps| *steps == outcome.metrics.failure_steps)
        }
    };
    assert_eq!(
        outcome.as_expected, as_expected,
        "as_expected consistent with expect"
    );
}

/// §5, §10, §11: what each step reports agrees with the turn it checks.
fn per_step(case: &Case, outcome: &Outcome) {
    let m = &outcome.metrics;
    let deviation = outcome.steps.iter().any(|s| s.user_match == Some(false));
    assert_eq!(
        m.user_deviation_detected, deviation,
        "user_deviation_detected"
    );
    if case.rules.is_some() {
        for step in &outcome.steps {
            assert_eq!(step.user_match, None, "an outcome check has no caller run");
            assert_eq!(
                step.latency_ms, None,
                "an outcome check has no reply latency"
            );
        }
        return;
    }
    let (mut expected, mut appeared) = (0usize, 0usize);
    for (turn, step) in case.turns.iter().zip(&outcome.steps) {
        let keywords: Vec<String> = turn
            .expected_agent_response_keywords
            .iter()
            .map(ToString::to_string)
            .collect();
        let forbidden: Vec<String> = turn
            .forbidden_keywords
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            is_subsequence(&step.missing_keywords, &keywords),
            "missing_keywords are the turn's, in the case's order"
        );
        assert!(
            is_subsequence(&step.forbidden_found, &forbidden),
            "forbidden_found are the turn's, in the case's order"
        );
        if turn.exact_match_required {
            assert!(
                step.missing_keywords.is_empty(),
                "no missing keywords on an exact step"
            );
        } else {
            expected += keywords.len();
            appeared += keywords.len() - step.missing_keywords.len();
        }
        if step.agent_response.is_none() {
            assert_eq!(step.latency_ms, None, "no reply, no latency");
            assert!(
                step.forbidden_found.is_empty(),
                "no reply, nothing forbidden said"
            );
            if !turn.exact_match_required {
                assert_eq!(
                    step.missing_keywords, keywords,
                    "no reply: every keyword is missing"
                );
            }
        }
        if step.user_match.is_some() {
            assert!(
                step.actual_user_input.is_some(),
                "user_match only with a caller run"
            );
        }
        if step.passed {
            assert_ne!(
                step.user_match,
                Some(false),
                "a step with a user deviation fails"
            );
            assert!(
                step.missing_keywords.is_empty(),
                "a passed step misses no keyword"
            );
            assert!(
                step.forbidden_found.is_empty(),
                "a passed step said nothing forbidden"
            );
            if let (Some(budget), Some(_)) = (turn.max_latency_ms, &step.agent_response) {
                let latency = step
                    .latency_ms
                    .expect("a passed budget has a known latency");
                assert!(latency <= budget, "a passed step is within its budget");
            }
        }
        if case.uses_tools() {
            assert!(
                step.tool_calls.is_some(),
                "tool calls listed when the case uses tools"
            );
            assert!(
                step.tool_calls_matched as usize <= turn.expected_tool_calls.len(),
                "no more matches than expected calls"
            );
        } else {
            assert!(
                step.tool_calls.is_none(),
                "no tool calls listed without tools"
            );
        }
    }
    let recall = (expected > 0).then(|| appeared as f64 / expected as f64);
    assert_eq!(
        m.keyword_recall, recall,
        "keyword_recall over non-exact steps"
    );
}

/// §6: the latency figures are present exactly when some agent row carries a latency, are
/// nearest-rank percentiles of those, and p50 ≤ p95 ≤ max.
fn latency(case: &Case, outcome: &Outcome) {
    let m = &outcome.metrics;
    let mut latencies: Vec<u64> = outcome
        .transcript
        .iter()
        .filter(|r| r.speaker == Speaker::Agent)
        .filter_map(|r| r.latency_ms)
        .collect();
    latencies.sort_unstable();
    let rank = |p: usize| {
        (!latencies.is_empty()).then(|| latencies[(p * latencies.len()).div_ceil(100).max(1) - 1])
    };
    assert_eq!(
        m.latency_ms_max,
        latencies.last().copied(),
        "latency_ms_max"
    );
    assert_eq!(m.latency_ms_p50, rank(50), "latency_ms_p50 by nearest rank");
    assert_eq!(m.latency_ms_p95, rank(95), "latency_ms_p95 by nearest rank");
    if let (Some(p50), Some(p95), Some(max)) =
        (m.latency_ms_p50, m.latency_ms_p95, m.latency_ms_max)
    {
        assert!(p50 <= p95 && p95 <= max, "p50 ≤ p95 ≤ max");
    }
    if case.transcript.is_none() {
        // A recording may time any row (§3); a simulated call times only the agent's.
        for row in outcome
            .transcript
            .iter()
            .filter(|r| r.speaker != Speaker::Agent)
        {
            assert_eq!(row.latency_ms, None, "only agent rows carry a latency");
        }
    }
}

/// §10–15: the optional metrics appear exactly for the cases that use them, and agree with
/// the transcript.
fn optional_metrics(case: &Case, outcome: &Outcome) {
    let m = &outcome.metrics;
    let recorded = case.transcript.is_some();
    assert_eq!(
        m.tool_calls_expected.is_some(),
        case.uses_tools(),
        "tool metrics only with tools"
    );
    assert_eq!(
        m.tool_calls_matched.is_some(),
        case.uses_tools(),
        "tool metrics only with tools"
    );
    if let (Some(expected), Some(matched)) = (m.tool_calls_expected, m.tool_calls_matched) {
        assert!(
            matched <= expected,
            "tool_calls_matched ≤ tool_calls_expected"
        );
    }
    assert_eq!(
        m.voice.is_some(),
        case.uses_voice_events(),
        "voice metrics only with voice events"
    );
    if let Some(voice) = &m.voice {
        let cut = outcome
            .transcript
            .iter()
            .filter(|r| r.cut.is_some())
            .count() as u32;
        assert_eq!(
            voice.interruptions, cut,
            "interruptions count the cut replies"
        );
    }
    assert_eq!(
        m.asr_wer.is_some(),
        case.asr_wer.is_some(),
        "asr_wer only with caller.asr"
    );
    if let Some(wer) = m.asr_wer {
        assert!(wer.is_finite() && wer >= 0.0, "asr_wer is a rate: {wer}");
        if !outcome.truncated {
            let (errors, words) = outcome
                .transcript
                .iter()
                .filter(|r| r.speaker == Speaker::User && r.event.is_none())
                .map(|r| word_errors(&r.text, r.heard.as_deref().unwrap_or(&r.text)))
                .fold((0, 0), |(e, w), (de, dw)| (e + de, w + dw));
            let measured = if words == 0 {
                0.0
            } else {
                errors as f64 / words as f64
            };
            assert_eq!(
                wer, measured,
                "asr_wer is the transcript's word errors over words said"
            );
        }
    }
    let spoken = outcome
        .transcript
        .iter()
        .filter(|r| r.speaker == Speaker::User && r.event.is_none())
        .count() as u32;
    if recorded || case.disfluency_rate == 0.0 {
        assert_eq!(
            m.disfluencies_injected, 0,
            "fillers only from a simulated caller's rate"
        );
    } else if !outcome.truncated {
        assert!(
            m.disfluencies_injected <= spoken,
            "at most one filler per spoken line"
        );
    }
    assert_eq!(
        m.rules.is_some(),
        case.rules.is_some(),
        "rules metrics only for rule-following callers"
    );
    if let (Some(rules), Some(run)) = (&case.rules, &m.rules) {
        let caller_rows = outcome
            .transcript
            .iter()
            .filter(|r| r.speaker == Speaker::User)
            .count();
        assert_eq!(
            run.caller_turns as usize, caller_rows,
            "caller_turns counts the caller's lines"
        );
        assert!(
            run.caller_turns <= rules.max_turns,
            "at most max_turns caller lines"
        );
        // Every line after the opening came from a rule or was `otherwise`.
        let answers = run.rules_fired + run.otherwise_lines;
        assert_eq!(
            answers,
            run.caller_turns.saturating_sub(1),
            "each line after the opening is a rule's or otherwise"
        );
        if run.ended_by == EndedBy::MaxTurns {
            assert!(
                !outcome.steps[0].passed,
                "a call that reached max_turns did not end"
            );
        }
    }
}

/// §3, §8, §12: rows are numbered by step in order, within the row limit; a recorded
/// transcript is validated as it is; `heard` is set only where it differs from the text.
fn transcript(case: &Case, outcome: &Outcome, max_rows: usize) {
    assert!(
        outcome.transcript.len() <= max_rows,
        "at most max_rows rows"
    );
    assert!(
        outcome
            .transcript
            .windows(2)
            .all(|w| w[0].step_order <= w[1].step_order),
        "rows in step order"
    );
    if let Some(rows) = &case.transcript {
        assert_eq!(
            outcome.truncated,
            rows.len() > max_rows,
            "a recording is cut only past the limit"
        );
        assert_eq!(
            outcome.transcript.len(),
            rows.len().min(max_rows),
            "a recording is kept as it is"
        );
        for (row, recorded) in outcome.transcript.iter().zip(rows) {
            assert_eq!(
                row.speaker, recorded.speaker,
                "recorded rows keep their speaker"
            );
            assert_eq!(row.text, recorded.text, "recorded rows keep their text");
            assert_eq!(
                row.latency_ms, recorded.latency_ms,
                "recorded rows keep their latency"
            );
        }
    }
    for row in &outcome.transcript {
        if let Some(heard) = &row.heard {
            assert_eq!(row.speaker, Speaker::User, "only caller rows have `heard`");
            assert_ne!(
                *heard, row.text,
                "`heard` only where it differs from what was said"
            );
        }
        assert_eq!(
            row.call.is_some(),
            row.speaker == Speaker::Tool,
            "tool rows carry a call"
        );
        assert_eq!(
            row.rule.is_some(),
            case.rules.is_some() && row.speaker == Speaker::User,
            "rule labels on a rule-following caller's lines"
        );
    }
}

/// §13: a sweep's figures agree with each other and with the runs behind them.
pub(crate) fn check_sweep(result: &SweepResult, passes_seen: u64) {
    assert_eq!(
        result.runs,
        result.seeds * u64::from(result.repeat),
        "runs = seeds × repeat"
    );
    assert_eq!(
        result.passes, passes_seen,
        "passes are the runs that were as expected"
    );
    assert!(result.passes <= result.runs, "passes ≤ runs");
    let rate = if result.runs == 0 {
        0.0
    } else {
        result.passes as f64 / result.runs as f64
    };
    assert_eq!(result.pass_rate, rate, "pass_rate = passes / runs");
    assert!(
        result.wilson_lower <= result.pass_rate,
        "the lower bound is at most the rate"
    );
    let offsets: Vec<u64> = result
        .failing_seeds
        .iter()
        .map(|s| s.wrapping_sub(result.from))
        .collect();
    assert!(
        offsets.windows(2).all(|w| w[0] < w[1]),
        "failing seeds in sweep order"
    );
    assert!(
        offsets.iter().all(|o| *o < result.seeds),
        "failing seeds are swept seeds"
    );
    assert_eq!(
        result.failing_seeds.is_empty(),
        result.passes == result.runs,
        "failing seeds exactly when a run failed"
    );
    assert_eq!(
        result.first_failure.as_ref().map(|f| f.seed),
        result.failing_seeds.first().copied(),
        "first_failure is the first failing seed"
    );
    let ok = match result.min_pass_rate {
        Some(rate) => result.wilson_lower >= rate,
        None => result.passes == result.runs,
    };
    assert_eq!(result.ok, ok, "ok: the bound is met (or every run passed)");
}

fn is_subsequence(part: &[String], whole: &[String]) -> bool {
    let mut rest = whole.iter();
    part.iter().all(|p| rest.any(|w| w == p))
}
