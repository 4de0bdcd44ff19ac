//! The outcome checks of a rule-following call (docs/rules.md, "The outcome checks"): how
//! the call ended, tool calls, mentions and forbidden words over the whole call, who ended
//! it, and how many caller lines it took.

use super::tools::check_tools;
use super::{StepResult, rows_needed, unanswered_check};
use crate::call::conversation::{Fault, Row, RulesRun};
use crate::case::{CallerAct, Case, EndedBy, Speaker, ToolCall, Turn};
use crate::message;
use crate::normalize::{Words, lowercase};
use crate::tool_match;

/// The outcome checks of a rule-following call (docs/rules.md), numbered as its "steps": 1
/// the call ended (not at `max_turns`, no agent failure); then, with `tools`, every call
/// answered by a mock; then each given check in the order `tool_calls`,
/// `forbidden_tool_calls`, `mentions`, `forbidden_keywords`, `ended_by`, `max_turns`.
pub(crate) fn validate_outcome(
    case: &Case,
    transcript: &[Row],
    fault: Option<&Fault>,
    tool_problems: &[(u32, String)],
    run: &RulesRun,
    cut: Option<usize>,
    not_started: Option<&str>,
) -> Vec<StepResult> {
    let rules = case.rules.as_ref().expect("a rule-following case");
    let checks = &rules.outcome;
    let numbers = case.spoken_numbers;
    let mut out: Vec<StepResult> = Vec::new();

    let ended = match (fault, cut, run.ended_by) {
        _ if not_started.is_some() => not_started.map(message::never_started),
        (Some(fault), _, _) => Some(message::agent_failed_at_line(
            fault.step_order,
            &fault.message,
        )),
        (None, Some(rows), _) => Some(message::transcript_cut(rows, rows_needed(case))),
        (None, None, EndedBy::MaxTurns) => Some(message::call_looped(
            rules.max_turns,
            transcript.iter().rev().find_map(|r| r.rule.as_deref()),
        )),
        _ => None,
    };
    push_check(&mut out, message::OUTCOME_CALL_ENDED.to_owned(), ended);

    if case.tools.is_some() {
        let problems: Vec<String> = tool_problems
            .iter()
            .map(|(line, p)| message::at_caller_line(*line, p))
            .collect();
        push_check(
            &mut out,
            message::OUTCOME_EVERY_CALL_MOCKED.to_owned(),
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
        let problem = probe
            .details
            .map(|details| message::with_calls_made(&details, &made));
        let i = push_check(
            &mut out,
            message::outcome_check("tool_calls", &wanted.join(", ")),
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
            message::outcome_check(
                "forbidden_tool_calls",
                &checks.forbidden_tool_calls.join(", "),
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
        let problem = (!missing.is_empty()).then(|| message::no_agent_line_said(&missing));
        let label = checks
            .mentions
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>();
        let i = push_check(
            &mut out,
            message::outcome_check("mentions", &label.join(", ")),
            problem,
        );
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
                .map(|(k, n)| message::said_after_caller_line(k, *n))
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
            message::outcome_check("forbidden_keywords", &label.join(", ")),
            problem,
        );
        out[i].forbidden_found = found.into_iter().map(|(k, _)| k).collect();
    }
    if let Some(want) = checks.ended_by {
        let problem = (run.ended_by != want).then(|| {
            message::ended_by_other(
                want.as_str(),
                (run.ended_by != EndedBy::MaxTurns).then(|| run.ended_by.as_str()),
            )
        });
        push_check(
            &mut out,
            message::outcome_check("ended_by", want.as_str()),
            problem,
        );
    }
    if let Some(max) = checks.max_turns {
        let problem =
            (run.caller_turns > max).then(|| message::too_many_caller_lines(run.caller_turns, max));
        push_check(
            &mut out,
            message::outcome_check("max_turns", &max.to_string()),
            problem,
        );
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

/// A turn with nothing expected: the frame for checking a call's tool calls as a step's.
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
