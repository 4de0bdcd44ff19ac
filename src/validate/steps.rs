//! The zipper (docs/case-format.md, "Validation"): pairs the i-th caller run with the agent
//! run after it and checks each step of a script: the caller's line, the reply's keywords or
//! exact phrase, forbidden words, latency, and what a fault or a cut left unanswered.

use std::collections::BTreeMap;

use super::tools::check_tools;
use super::{StepResult, join_reasons, rows_needed};
use crate::call::conversation::{Fault, Row};
use crate::case::{CallerAct, Case, Speaker, ToolCall, Turn};
use crate::message;
use crate::normalize::{Words, lowercase, split, strip_fillers};

/// A run of consecutive rows of one speaker, texts joined by one space.
struct SpeakerRun {
    speaker: Speaker,
    text: String,
    /// The first row's latency: the time to the first word.
    latency_ms: Option<u64>,
    /// A caller event (silence, keypad): a run of its own.
    event: bool,
    /// What the caller heard of a reply it cut off (the words heard of each row).
    heard: Option<String>,
    /// What the agent heard of a caller run, when it is not what was said.
    agent_heard: Option<String>,
}

/// The caller and agent runs of a transcript. Tool rows are not part of any run's text or
/// latency, and they do not split a run.
fn speaker_runs(transcript: &[Row]) -> Vec<SpeakerRun> {
    let mut runs: Vec<SpeakerRun> = Vec::new();
    for row in transcript.iter().filter(|r| r.speaker != Speaker::Tool) {
        let heard = row.cut.as_ref().map(|c| c.heard.as_str());
        match runs.last_mut() {
            // Silence and keypad tones never merge with what is said around them.
            Some(run) if run.speaker == row.speaker && !run.event && row.event.is_none() => {
                if row.heard.is_some() || run.agent_heard.is_some() {
                    let so_far = run.agent_heard.take().unwrap_or_else(|| run.text.clone());
                    let this = row.heard.as_deref().unwrap_or(&row.text);
                    run.agent_heard = Some(format!("{so_far} {this}"));
                }
                if let Some(so_far) = &mut run.heard {
                    so_far.push(' ');
                    so_far.push_str(heard.unwrap_or(&row.text));
                } else if let Some(heard) = heard {
                    run.heard = Some(format!("{} {heard}", run.text));
                }
                run.text.push(' ');
                run.text.push_str(&row.text);
            }
            _ => runs.push(SpeakerRun {
                speaker: row.speaker,
                text: row.text.clone(),
                latency_ms: row.latency_ms,
                event: row.event.is_some(),
                heard: heard.map(str::to_owned),
                agent_heard: row.heard.clone(),
            }),
        }
    }
    runs
}

/// Validates `transcript` against `case`'s script, step by step. `cut` is the row count
/// when the transcript was cut at the row limit: the first step it left incomplete says so.
pub(crate) fn validate_steps(
    case: &Case,
    transcript: &[Row],
    fault: Option<&Fault>,
    cut: Option<usize>,
    tool_problems: &[(u32, String)],
) -> Vec<StepResult> {
    let runs = speaker_runs(transcript);
    // A leading agent run is a greeting: kept in the transcript, not validated.
    let skip = usize::from(runs.first().is_some_and(|r| r.speaker == Speaker::Agent));
    let runs = &runs[skip..];
    // Each caller run with the agent run right after it, if any.
    let mut pairs: Vec<(&SpeakerRun, Option<&SpeakerRun>)> = Vec::with_capacity(runs.len() / 2 + 1);
    for run in runs {
        match (run.speaker, pairs.last_mut()) {
            (Speaker::Agent, Some((_, reply @ None))) => *reply = Some(run),
            (Speaker::Agent, _) => {}
            _ => pairs.push((run, None)),
        }
    }
    let tools_on = case.uses_tools();
    let numbers = case.spoken_numbers;
    let mut calls: BTreeMap<u32, Vec<&ToolCall>> = BTreeMap::new();
    // Tools called while the agent greeted (step 0) are checked with the first step: the
    // greeting has no tool checks of its own.
    let first = case.turns.first().map_or(1, |t| t.step_order);
    let step_of = |step: u32| if step == 0 { first } else { step };
    if tools_on {
        for row in transcript {
            if let Some(call) = &row.call {
                calls.entry(step_of(row.step_order)).or_default().push(call);
            }
        }
    }

    let mut ended = false;
    let steps = case.turns.iter().enumerate().map(|(i, turn)| {
        if ended {
            return unanswered(turn, None, None, message::NOT_REACHED.to_owned());
        }
        let user = pairs.get(i).map(|p| p.0);
        // An agent fault is the reason, even when it struck before the caller spoke.
        if let Some(fault) = fault.filter(|f| f.step_order == turn.step_order) {
            ended = true;
            let user_match = user.map(|u| user_matches(&turn.user_input, &u.text, numbers));
            let deviation = (user_match == Some(false)).then(|| message::USER_DEVIATION.to_owned());
            let reason = join_reasons(deviation.into_iter().chain([fault.message.clone()]));
            return unanswered(turn, user_match, user.map(|u| u.text.clone()), reason);
        }
        // Past the row limit, what is missing was cut, not left out by the agent.
        let why_missing = |plain: &str| match cut {
            Some(rows) => message::transcript_cut(rows, rows_needed(case)),
            None => plain.to_owned(),
        };
        let Some(user) = user else {
            ended = true;
            let reason = why_missing(message::MISSING_USER_INPUT);
            return unanswered(turn, None, None, reason);
        };
        let user_match = user_matches(&turn.user_input, &user.text, numbers);
        let deviation = (!user_match).then(|| message::USER_DEVIATION.to_owned());
        let Some(agent) = pairs.get(i).and_then(|p| p.1) else {
            if !matches!(turn.act, CallerAct::Say) && cut.is_none() {
                // After silence or keypad tones the agent may stay quiet; the call goes on.
                return quiet(turn, user_match, &user.text);
            }
            ended = true;
            let missing = why_missing(message::AGENT_NEVER_RESPONDED);
            let reason = join_reasons(deviation.into_iter().chain([missing]));
            return unanswered(turn, Some(user_match), Some(user.text.clone()), reason);
        };
        let mut step = answered(turn, user_match, &user.text, agent, numbers);
        step.agent_heard = user.agent_heard.clone();
        step
    });
    if !tools_on {
        return steps.collect();
    }
    steps
        .map(|mut step| {
            let order = step.step_order;
            let turn = &case.turns[order as usize - 1];
            let made = calls.get(&order).map_or(&[][..], Vec::as_slice);
            let problems = tool_problems
                .iter()
                .filter(|(s, _)| step_of(*s) == order)
                .map(|(_, p)| p.clone());
            check_tools(&mut step, turn, made, problems, numbers);
            step
        })
        .collect()
}

/// `user_match` (docs/case-format.md, "Validation"): the script's tokens, fillers removed, occur as a contiguous run in
/// the actual line's tokens, fillers removed.
pub(crate) fn user_matches(script: &str, actual: &str, numbers: bool) -> bool {
    // The same text has the same tokens: the usual turn, where the caller said the script.
    if script == actual {
        return true;
    }
    let (actual, script) = (lowercase(actual), lowercase(script));
    let actual = Words::from_tokens(strip_fillers(split(&actual)), numbers);
    let script = Words::from_tokens(strip_fillers(split(&script)), numbers);
    actual.contains(&script)
}

fn answered(
    turn: &Turn,
    user_match: bool,
    user_text: &str,
    agent: &SpeakerRun,
    numbers: bool,
) -> StepResult {
    // A reply the caller cut off is judged by what the caller heard of it.
    let reply_lower = lowercase(agent.heard.as_deref().unwrap_or(&agent.text));
    let reply = Words::new(&reply_lower, numbers);
    let mut reasons = Vec::new();
    if !user_match {
        reasons.push(message::USER_DEVIATION.to_owned());
    }
    let missing_keywords: Vec<String> = if turn.exact_match_required {
        let expected = turn.expected_phrase();
        let expected = lowercase(&expected);
        if !reply.same(&Words::new(&expected, numbers)) {
            reasons.push(message::EXACT_MATCH_FAILED.to_owned());
        }
        Vec::new()
    } else {
        turn.expected_agent_response_keywords
            .iter()
            .filter(|k| !k.met_by(&reply))
            .map(ToString::to_string)
            .collect()
    };
    if !missing_keywords.is_empty() {
        reasons.push(message::missing_keywords(&missing_keywords));
    }
    let forbidden_found: Vec<String> = turn
        .forbidden_keywords
        .iter()
        .filter(|k| k.met_by(&reply))
        .map(ToString::to_string)
        .collect();
    if !forbidden_found.is_empty() {
        reasons.push(message::forbidden_keywords(&forbidden_found));
    }
    if let Some(budget) = turn.max_latency_ms {
        match agent.latency_ms {
            None => reasons.push(message::LATENCY_UNKNOWN.to_owned()),
            Some(latency) if latency > budget => {
                reasons.push(message::over_budget(latency, budget))
            }
            Some(_) => {}
        }
    }
    StepResult {
        passed: reasons.is_empty(),
        user_match: Some(user_match),
        actual_user_input: Some(user_text.to_owned()),
        agent_response: Some(agent.text.clone()),
        missing_keywords,
        forbidden_found,
        latency_ms: agent.latency_ms,
        heard: agent.heard.clone(),
        details: (!reasons.is_empty()).then(|| reasons.join("; ")),
        ..StepResult::new(turn.step_order, turn.user_input.clone())
    }
}

/// A silent or keypad step where the agent said nothing: that passes unless the step
/// expects words.
fn quiet(turn: &Turn, user_match: bool, user_text: &str) -> StepResult {
    let expects_words =
        turn.exact_match_required || !turn.expected_agent_response_keywords.is_empty();
    let mut step = unanswered(
        turn,
        Some(user_match),
        Some(user_text.to_owned()),
        message::AGENT_STAYED_QUIET.to_owned(),
    );
    if !expects_words && user_match {
        step.passed = true;
        step.details = None;
    }
    step.quiet = true;
    step
}

/// A step with no agent reply: every keyword is missing.
fn unanswered(
    turn: &Turn,
    user_match: Option<bool>,
    actual: Option<String>,
    reason: String,
) -> StepResult {
    StepResult {
        passed: false,
        user_match,
        actual_user_input: actual,
        missing_keywords: if turn.exact_match_required {
            Vec::new()
        } else {
            turn.expected_agent_response_keywords
                .iter()
                .map(ToString::to_string)
                .collect()
        },
        details: Some(reason),
        ..StepResult::new(turn.step_order, turn.user_input.clone())
    }
}
