//! Zipper validation (docs/case-format.md, "Validation"): pairs the i-th caller run with the agent run after it and
//! checks each step; and the tone check (docs/case-format.md, "Metrics").

use serde::Serialize;

use crate::call::{Fault, Row};
use crate::case::{Case, Speaker, Turn};
use crate::message;
use crate::normalize::{contains_run, lowercase, phrase_in, split, strip_fillers};

/// The verdict on one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StepResult {
    /// The step's number.
    pub step_order: u32,
    /// `user_match` and the agent's reply passed.
    pub passed: bool,
    /// The caller said the scripted line (fillers aside); `None` when the step has no caller run.
    pub user_match: Option<bool>,
    /// The scripted caller line.
    pub expected_user_input: String,
    /// What the caller actually said, if anything.
    pub actual_user_input: Option<String>,
    /// The agent's reply, if any.
    pub agent_response: Option<String>,
    /// Keywords that did not appear, in the case's order (always empty on exact steps).
    pub missing_keywords: Vec<String>,
    /// Forbidden keywords that appeared, in the case's order.
    pub forbidden_found: Vec<String>,
    /// The reply's latency, when there is a reply and its latency is known.
    pub latency_ms: Option<u64>,
    /// Why the step failed; `None` when it passed.
    pub details: Option<String>,
}

/// The verdict on the call's tone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ToneCheck {
    /// No tone marker appeared in any agent line.
    pub passed: bool,
    /// Each marker found, with the step of the agent row it was found in.
    pub found: Vec<(u32, String)>,
}

/// A run of consecutive rows of one speaker, texts joined by one space.
struct SpeakerRun<'a> {
    speaker: Speaker,
    text: String,
    /// The first row's latency: the time to the first word.
    latency_ms: Option<u64>,
    rows: &'a [Row],
}

fn speaker_runs(transcript: &[Row]) -> Vec<SpeakerRun<'_>> {
    let mut runs: Vec<SpeakerRun<'_>> = Vec::new();
    let mut start = 0;
    for i in 1..=transcript.len() {
        if i == transcript.len() || transcript[i].speaker != transcript[start].speaker {
            let rows = &transcript[start..i];
            let text = if rows.len() == 1 {
                rows[0].text.clone()
            } else {
                rows.iter()
                    .map(|r| r.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            runs.push(SpeakerRun {
                speaker: rows[0].speaker,
                text,
                latency_ms: rows[0].latency_ms,
                rows,
            });
            start = i;
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
) -> Vec<StepResult> {
    let runs = speaker_runs(transcript);
    // A leading agent run is a greeting: kept in the transcript, not validated.
    let skip = usize::from(runs.first().is_some_and(|r| r.speaker == Speaker::Agent));
    let runs = &runs[skip..];
    debug_assert!(runs.iter().all(|r| !r.rows.is_empty()));

    let mut ended = false;
    case.turns
        .iter()
        .enumerate()
        .map(|(i, turn)| {
            if ended {
                return unanswered(turn, None, None, message::NOT_REACHED.to_owned());
            }
            let user = runs.get(2 * i);
            // An agent fault is the reason, even when it struck before the caller spoke.
            if let Some(fault) = fault.filter(|f| f.step_order == turn.step_order) {
                ended = true;
                let user_match = user.map(|u| user_matches(&turn.user_input, &u.text));
                let deviation =
                    (user_match == Some(false)).then(|| message::USER_DEVIATION.to_owned());
                let reason = join_reasons(deviation.into_iter().chain([fault.message.clone()]));
                return unanswered(turn, user_match, user.map(|u| u.text.clone()), reason);
            }
            // Past the row limit, what is missing was cut, not left out by the agent.
            let why_missing = |plain: &str| match cut {
                Some(rows) => message::transcript_cut(rows),
                None => plain.to_owned(),
            };
            let Some(user) = user else {
                ended = true;
                let reason = why_missing(message::MISSING_USER_INPUT);
                return unanswered(turn, None, None, reason);
            };
            let user_match = user_matches(&turn.user_input, &user.text);
            let deviation = (!user_match).then(|| message::USER_DEVIATION.to_owned());
            let Some(agent) = runs.get(2 * i + 1) else {
                ended = true;
                let missing = why_missing(message::AGENT_NEVER_RESPONDED);
                let reason = join_reasons(deviation.into_iter().chain([missing]));
                return unanswered(turn, Some(user_match), Some(user.text.clone()), reason);
            };
            answered(turn, user_match, &user.text, agent)
        })
        .collect()
}

/// `user_match` (docs/case-format.md, "Validation"): the script's tokens, fillers removed, occur as a contiguous run in
/// the actual line's tokens, fillers removed.
pub(crate) fn user_matches(script: &str, actual: &str) -> bool {
    let (actual, script) = (lowercase(actual), lowercase(script));
    contains_run(
        &strip_fillers(split(&actual)),
        &strip_fillers(split(&script)),
    )
}

fn answered(turn: &Turn, user_match: bool, user_text: &str, agent: &SpeakerRun<'_>) -> StepResult {
    let reply_lower = lowercase(&agent.text);
    let reply = split(&reply_lower);
    let mut reasons = Vec::new();
    if !user_match {
        reasons.push(message::USER_DEVIATION.to_owned());
    }
    let missing_keywords: Vec<String> = if turn.exact_match_required {
        let expected = turn.expected_phrase();
        if reply != split(&lowercase(&expected)) {
            reasons.push(message::EXACT_MATCH_FAILED.to_owned());
        }
        Vec::new()
    } else {
        turn.expected_agent_response_keywords
            .iter()
            .filter(|k| !phrase_in(&reply, k))
            .cloned()
            .collect()
    };
    if !missing_keywords.is_empty() {
        reasons.push(message::missing_keywords(&missing_keywords));
    }
    let forbidden_found: Vec<String> = turn
        .forbidden_keywords
        .iter()
        .filter(|k| phrase_in(&reply, k))
        .cloned()
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
        step_order: turn.step_order,
        passed: reasons.is_empty(),
        user_match: Some(user_match),
        expected_user_input: turn.user_input.clone(),
        actual_user_input: Some(user_text.to_owned()),
        agent_response: Some(agent.text.clone()),
        missing_keywords,
        forbidden_found,
        latency_ms: agent.latency_ms,
        details: (!reasons.is_empty()).then(|| reasons.join("; ")),
    }
}

/// A step with no agent reply: every keyword is missing.
fn unanswered(
    turn: &Turn,
    user_match: Option<bool>,
    actual: Option<String>,
    reason: String,
) -> StepResult {
    StepResult {
        step_order: turn.step_order,
        passed: false,
        user_match,
        expected_user_input: turn.user_input.clone(),
        actual_user_input: actual,
        agent_response: None,
        missing_keywords: if turn.exact_match_required {
            Vec::new()
        } else {
            turn.expected_agent_response_keywords.clone()
        },
        forbidden_found: Vec::new(),
        latency_ms: None,
        details: Some(reason),
    }
}

fn join_reasons(reasons: impl Iterator<Item = String>) -> String {
    reasons.collect::<Vec<_>>().join("; ")
}

/// The tone check (docs/case-format.md, "Validation"): fails when any tone marker appears in any agent line.
pub(crate) fn tone_check(markers: &[String], transcript: &[Row]) -> ToneCheck {
    let lowered: Vec<_> = markers.iter().map(|m| lowercase(m)).collect();
    let markers: Vec<(&String, Vec<&str>)> = markers
        .iter()
        .zip(&lowered)
        .map(|(m, l)| (m, split(l)))
        .collect();
    let mut found = Vec::new();
    if !markers.is_empty() {
        for row in transcript.iter().filter(|r| r.speaker == Speaker::Agent) {
            let lower = lowercase(&row.text);
            let said = split(&lower);
            for (marker, marker_tokens) in &markers {
                if contains_run(&said, marker_tokens) {
                    found.push((row.step_order, (*marker).clone()));
                }
            }
        }
    }
    ToneCheck {
        passed: found.is_empty(),
        found,
    }
}
