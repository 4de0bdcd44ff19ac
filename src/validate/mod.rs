//! Zipper validation (docs/case-format.md, "Validation"): pairs the i-th caller run with the agent run after it and
//! checks each step; and the tone check (docs/case-format.md, "Metrics").

use serde::Serialize;

use std::collections::BTreeMap;

use crate::call::conversation::{Fault, Row};
use crate::case::{CallerAct, Case, EndedBy, Speaker, ToolCall, Turn};
use crate::message;
use crate::normalize::{Words, lowercase, split, strip_fillers};
use crate::tool_match;

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
    /// What the agent heard of the caller's line, when it is not what was said (recognition
    /// noise, or a pinned `heard`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_heard: Option<String>,
    /// What the caller heard of a reply it cut off (only then): the keyword rules were
    /// checked against this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heard: Option<String>,
    /// Why the step failed; `None` when it passed.
    pub details: Option<String>,
    /// The tool calls the agent made during the step (only when the case uses tools).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// Expected calls that no call matched, written `Name(key="value")` (only when the case
    /// uses tools).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_tool_calls: Option<Vec<String>>,
    /// Forbidden tools that were called (only when the case uses tools).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forbidden_tool_calls_found: Option<Vec<String>>,
    /// Expected calls that a call matched, for the metrics.
    #[serde(skip)]
    pub(crate) tool_calls_matched: u32,
    /// A silent or keypad step the agent answered with nothing: an empty reply, which every
    /// check of the step (mentions, the judge) still judges.
    #[serde(skip)]
    pub(crate) quiet: bool,
    /// The LLM judge's verdict on the step (a `judge` step, feature `llm`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judge: Option<JudgeVerdict>,
}

/// What the LLM judge said of a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct JudgeVerdict {
    /// `pass`, `fail` or `unsure`.
    pub verdict: String,
    /// Why, in one sentence.
    pub reason: String,
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

/// The tool side of a step (docs/case-format.md, "Tool calls"): the expected calls as an
/// ordered subsequence of the step's calls, the forbidden ones, the mentions, and calls
/// that no mock answered.
fn check_tools(
    step: &mut StepResult,
    turn: &Turn,
    made: &[&ToolCall],
    problems: impl Iterator<Item = String>,
    numbers: bool,
) {
    let mut reasons: Vec<String> = problems.collect();
    // Greedy earliest match is the right one for a subsequence: a later match never leaves
    // more room for the expected calls after it.
    let mut next = 0;
    let mut missing = Vec::new();
    let mut matched = 0;
    for expected in &turn.expected_tool_calls {
        let hit = made[next..].iter().position(|call| {
            call.name == expected.name
                && expected
                    .arguments
                    .as_ref()
                    .is_none_or(|want| tool_match::matches(want, &call.arguments))
        });
        let described = tool_match::describe(&expected.name, expected.arguments.as_ref());
        match hit {
            Some(offset) => {
                next += offset + 1;
                matched += 1;
            }
            None => {
                let closest = made
                    .iter()
                    .filter(|call| call.name == expected.name)
                    .min_by_key(|call| {
                        tool_match::differences(expected.arguments.as_ref(), &call.arguments)
                    });
                let got = closest.map(|call| {
                    let difference = expected
                        .arguments
                        .as_ref()
                        .and_then(|want| tool_match::first_difference(want, &call.arguments));
                    (
                        tool_match::describe(&call.name, Some(&call.arguments)),
                        difference,
                    )
                });
                reasons.push(message::missing_tool_call(
                    &described,
                    got.as_ref().map(|(g, d)| (g.as_str(), d.as_deref())),
                ));
                missing.push(described);
            }
        }
    }
    let forbidden: Vec<String> = turn
        .forbidden_tool_calls
        .iter()
        .filter(|name| made.iter().any(|call| call.name == **name))
        .cloned()
        .collect();
    if !forbidden.is_empty() {
        reasons.push(message::forbidden_tool_calls(&forbidden));
    }
    // A quiet step's reply is the empty string: what it should have said is still missing.
    let reply = match &step.agent_response {
        Some(reply) => Some(reply.as_str()),
        None => step.quiet.then_some(""),
    };
    if let Some(reply) = reply {
        let lower = lowercase(reply);
        let words = Words::new(&lower, numbers);
        for mention in &turn.expected_mentions {
            let calls: Vec<&&ToolCall> = made.iter().filter(|c| c.name == mention.tool).collect();
            if calls.is_empty() {
                reasons.push(message::mention_without_call(&mention.tool, &mention.path));
                continue;
            }
            // The latest call whose result has the value.
            let found = calls
                .iter()
                .rev()
                .find_map(|c| tool_match::at_path(&c.result, &mention.path));
            let value = found.and_then(tool_match::spoken);
            // A number is said by its value (`$10.00` says 10.0), not by its JSON text.
            let said = |value: &str| match found {
                Some(serde_json::Value::Number(n)) => {
                    tool_match::says_number(reply, n, &words, numbers)
                }
                _ => words.has(value),
            };
            match value {
                None => reasons.push(message::mention_without_value(&mention.tool, &mention.path)),
                Some(value) if !said(&value) => reasons.push(message::mention_missing(
                    &mention.tool,
                    &mention.path,
                    &value,
                )),
                Some(_) => {}
            }
        }
    }
    step.tool_calls = Some(made.iter().map(|c| (*c).clone()).collect());
    step.missing_tool_calls = Some(missing);
    step.forbidden_tool_calls_found = Some(forbidden);
    step.tool_calls_matched = matched;
    if !reasons.is_empty() {
        step.passed = false;
        let details = step.details.take().into_iter().chain(reasons);
        step.details = Some(join_reasons(details));
    }
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
        step_order: turn.step_order,
        passed: reasons.is_empty(),
        user_match: Some(user_match),
        expected_user_input: turn.user_input.clone(),
        actual_user_input: Some(user_text.to_owned()),
        agent_response: Some(agent.text.clone()),
        missing_keywords,
        forbidden_found,
        latency_ms: agent.latency_ms,
        agent_heard: None,
        heard: agent.heard.clone(),
        details: (!reasons.is_empty()).then(|| reasons.join("; ")),
        tool_calls: None,
        missing_tool_calls: None,
        forbidden_tool_calls_found: None,
        tool_calls_matched: 0,
        quiet: false,
        judge: None,
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
        step_order: turn.step_order,
        passed: false,
        user_match,
        expected_user_input: turn.user_input.clone(),
        actual_user_input: actual,
        agent_response: None,
        missing_keywords: if turn.exact_match_required {
            Vec::new()
        } else {
            turn.expected_agent_response_keywords
                .iter()
                .map(ToString::to_string)
                .collect()
        },
        forbidden_found: Vec::new(),
        latency_ms: None,
        agent_heard: None,
        heard: None,
        details: Some(reason),
        tool_calls: None,
        missing_tool_calls: None,
        forbidden_tool_calls_found: None,
        tool_calls_matched: 0,
        quiet: false,
        judge: None,
    }
}

fn join_reasons(reasons: impl Iterator<Item = String>) -> String {
    reasons.collect::<Vec<_>>().join("; ")
}

/// The rows a call of `case` takes without tool rows: its greeting, then a caller line and a
/// reply per turn (per caller line, at most `max_turns`, for a rule-following caller).
fn rows_needed(case: &Case) -> usize {
    let lines = match &case.rules {
        Some(rules) => rules.max_turns as usize,
        None => case.turns.len(),
    };
    usize::from(case.greeting.is_some()) + lines.saturating_mul(2)
}

/// The greeting check (docs/case-format.md, "The agent's greeting"), when the case has
/// `greeting`: the agent spoke before the caller's first line (the step-0 agent rows), and
/// every keyword appears in what it said. `None` when the case expects no greeting.
pub(crate) fn validate_greeting(case: &Case, transcript: &[Row]) -> Option<StepResult> {
    let keywords = case.greeting.as_ref()?;
    let rows: Vec<&Row> = transcript
        .iter()
        .take_while(|r| r.step_order == 0)
        .filter(|r| r.speaker == Speaker::Agent)
        .collect();
    let said = (!rows.is_empty()).then(|| {
        rows.iter()
            .map(|r| r.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let lower = lowercase(said.as_deref().unwrap_or_default());
    let words = Words::new(&lower, case.spoken_numbers);
    let missing: Vec<String> = keywords
        .iter()
        .filter(|k| !k.met_by(&words))
        .map(ToString::to_string)
        .collect();
    let mut reasons = Vec::new();
    if said.is_none() {
        reasons.push(message::NO_GREETING.to_owned());
    }
    if !missing.is_empty() {
        reasons.push(message::missing_keywords(&missing));
    }
    let mut check = unanswered_check(0, message::GREETING.to_owned());
    check.passed = reasons.is_empty();
    check.details = (!reasons.is_empty()).then(|| join_reasons(reasons.into_iter()));
    check.latency_ms = rows.first().and_then(|r| r.latency_ms);
    check.agent_response = said;
    check.missing_keywords = missing;
    Some(check)
}

/// The tone check (docs/case-format.md, "Validation"): fails when any tone marker appears in any agent line.
pub(crate) fn tone_check(markers: &[String], transcript: &[Row], numbers: bool) -> ToneCheck {
    let mut found = Vec::new();
    if !markers.is_empty() {
        // A marker's words can only be in a line that holds each of them as text (numbers
        // aside: "one" is heard as "1"), so most lines need no words at all.
        let marker_words: Vec<Vec<String>> = markers
            .iter()
            .map(|m| {
                split(&lowercase(m))
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            })
            .collect();
        for row in transcript.iter().filter(|r| r.speaker == Speaker::Agent) {
            let lower = lowercase(&row.text);
            let may_have = |words: &Vec<String>| words.iter().all(|w| lower.contains(w.as_str()));
            if !numbers && !marker_words.iter().any(may_have) {
                continue;
            }
            let said = Words::new(&lower, numbers);
            for marker in markers {
                if said.has(marker) {
                    found.push((row.step_order, marker.clone()));
                }
            }
        }
    }
    ToneCheck {
        passed: found.is_empty(),
        found,
    }
}

/// The outcome checks of a rule-following call (docs/rules.md), numbered as its "steps": 1
/// the call ended (not at `max_turns`, no agent failure); then, with `tools`, every call
/// answered by a mock; then each given check in the order `tool_calls`,
/// `forbidden_tool_calls`, `mentions`, `forbidden_keywords`, `ended_by`, `max_turns`.
pub(crate) fn validate_outcome(
    case: &Case,
    transcript: &[Row],
    fault: Option<&Fault>,
    tool_problems: &[(u32, String)],
    run: &crate::call::conversation::RulesRun,
    cut: Option<usize>,
    not_started: Option<&str>,
) -> Vec<StepResult> {
    let rules = case.rules.as_ref().expect("a rule-following case");
    let checks = &rules.outcome;
    let numbers = case.spoken_numbers;
    let mut out: Vec<StepResult> = Vec::new();

    let ended = match (fault, cut, run.ended_by) {
        _ if not_started.is_some() => not_started.map(message::never_started),
        (Some(fault), _, _) => Some(format!(
            "the agent failed at caller line {}: {}",
            fault.step_order, fault.message
        )),
        (None, Some(rows), _) => Some(message::transcript_cut(rows, rows_needed(case))),
        (None, None, EndedBy::MaxTurns) => Some(message::call_looped(
            rules.max_turns,
            transcript.iter().rev().find_map(|r| r.rule.as_deref()),
        )),
        _ => None,
    };
    push_check(&mut out, "the call ended".to_owned(), ended);

    if case.tools.is_some() {
        let problems: Vec<String> = tool_problems
            .iter()
            .map(|(line, p)| format!("caller line {line}: {p}"))
            .collect();
        push_check(
            &mut out,
            "every tool call answered by a mock".to_owned(),
            (!problems.is_empty()).then(|| problems.join("; ")),
        );
    }

    let calls: Vec<&ToolCall> = transcript.iter().filter_map(|r| r.call.as_ref()).collect();
    if !checks.tool_calls.is_empty() {
        let wanted: Vec<String> = checks
            .tool_calls
            .iter()
            .map(|c| tool_match::describe(&c.name, c.arguments.as_ref()))
            .collect();
        // The same subsequence rule as a step's, over every call of the call.
        let mut probe = unanswered_check(0, String::new());
        let turn = Turn {
            expected_tool_calls: checks.tool_calls.clone(),
            ..empty_turn()
        };
        check_tools(&mut probe, &turn, &calls, std::iter::empty(), numbers);
        let made: Vec<String> = calls
            .iter()
            .map(|c| tool_match::describe(&c.name, Some(&c.arguments)))
            .collect();
        let problem = probe.details.map(|details| {
            format!(
                "{details}; the calls made: {}",
                if made.is_empty() {
                    "none".to_owned()
                } else {
                    made.join(", ")
                }
            )
        });
        let i = push_check(
            &mut out,
            format!("tool_calls: {}", wanted.join(", ")),
            problem,
        );
        out[i].missing_tool_calls = probe.missing_tool_calls;
        out[i].tool_calls_matched = probe.tool_calls_matched;
        out[i].tool_calls = Some(calls.iter().map(|c| (*c).clone()).collect());
    }
    if !checks.forbidden_tool_calls.is_empty() {
        let found: Vec<String> = checks
            .forbidden_tool_calls
            .iter()
            .filter(|name| calls.iter().any(|c| c.name == **name))
            .cloned()
            .collect();
        let problem = (!found.is_empty()).then(|| message::forbidden_tool_calls(&found));
        let i = push_check(
            &mut out,
            format!(
                "forbidden_tool_calls: {}",
                checks.forbidden_tool_calls.join(", ")
            ),
            problem,
        );
        out[i].forbidden_tool_calls_found = Some(found);
    }
    let agent_lines: Vec<(u32, String)> = transcript
        .iter()
        .filter(|r| r.speaker == Speaker::Agent)
        .map(|r| (r.step_order, lowercase(&r.text).into_owned()))
        .collect();
    let said_somewhere = |k: &crate::case::Keyword| {
        agent_lines
            .iter()
            .find(|(_, line)| k.met_by(&Words::new(line, numbers)))
            .map(|(n, _)| *n)
    };
    if !checks.mentions.is_empty() {
        let missing: Vec<String> = checks
            .mentions
            .iter()
            .filter(|k| said_somewhere(k).is_none())
            .map(ToString::to_string)
            .collect();
        let problem =
            (!missing.is_empty()).then(|| format!("no agent line said: {}", missing.join(", ")));
        let label = checks
            .mentions
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>();
        let i = push_check(&mut out, format!("mentions: {}", label.join(", ")), problem);
        out[i].missing_keywords = missing;
    }
    if !checks.forbidden_keywords.is_empty() {
        let found: Vec<(String, u32)> = checks
            .forbidden_keywords
            .iter()
            .filter_map(|k| said_somewhere(k).map(|n| (k.to_string(), n)))
            .collect();
        let problem = (!found.is_empty()).then(|| {
            let said: Vec<String> = found
                .iter()
                .map(|(k, n)| format!("{k} (agent line after caller line {n})"))
                .collect();
            message::forbidden_keywords(&said)
        });
        let label = checks
            .forbidden_keywords
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>();
        let i = push_check(
            &mut out,
            format!("forbidden_keywords: {}", label.join(", ")),
            problem,
        );
        out[i].forbidden_found = found.into_iter().map(|(k, _)| k).collect();
    }
    if let Some(want) = checks.ended_by {
        let problem = (run.ended_by != want).then(|| {
            format!(
                "expected the {} to end the call; it was ended by {}",
                want.as_str(),
                match run.ended_by {
                    EndedBy::MaxTurns => "reaching max_turns".to_owned(),
                    other => format!("the {}", other.as_str()),
                }
            )
        });
        push_check(&mut out, format!("ended_by: {}", want.as_str()), problem);
    }
    if let Some(max) = checks.max_turns {
        let problem = (run.caller_turns > max).then(|| {
            format!(
                "the call took {} caller lines, more than {max}",
                run.caller_turns
            )
        });
        push_check(&mut out, format!("max_turns: {max}"), problem);
    }
    out
}

/// Adds a check, passed when there is no problem; its index.
fn push_check(out: &mut Vec<StepResult>, label: String, problem: Option<String>) -> usize {
    let mut step = unanswered_check(out.len() as u32 + 1, label);
    step.passed = problem.is_none();
    step.details = problem;
    out.push(step);
    out.len() - 1
}

/// A check's result before it is judged.
fn unanswered_check(order: u32, label: String) -> StepResult {
    StepResult {
        step_order: order,
        passed: true,
        user_match: None,
        expected_user_input: label,
        actual_user_input: None,
        agent_response: None,
        missing_keywords: Vec::new(),
        forbidden_found: Vec::new(),
        latency_ms: None,
        agent_heard: None,
        heard: None,
        details: None,
        tool_calls: None,
        missing_tool_calls: None,
        forbidden_tool_calls_found: None,
        tool_calls_matched: 0,
        quiet: false,
        judge: None,
    }
}

fn empty_turn() -> Turn {
    Turn {
        step_order: 0,
        act: CallerAct::Say,
        user_input: String::new(),
        barge_in_after_ms: None,
        expected_agent_response_keywords: Vec::new(),
        exact_match_required: false,
        expected_agent_response: None,
        forbidden_keywords: Vec::new(),
        said: None,
        heard: None,
        judge: None,
        max_latency_ms: None,
        expected_tool_calls: Vec::new(),
        forbidden_tool_calls: Vec::new(),
        expected_mentions: Vec::new(),
    }
}
