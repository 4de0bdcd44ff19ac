//! The tool side of a step (docs/case-format.md, "Tool calls"): expected calls as an
//! ordered subsequence, forbidden calls, mentions of a call's result, and calls no mock
//! answered.

use super::{StepResult, join_reasons};
use crate::case::{ToolCall, Turn};
use crate::message;
use crate::normalize::{Words, lowercase};
use crate::tool_match;

/// The tool side of a step (docs/case-format.md, "Tool calls"): the expected calls as an
/// ordered subsequence of the step's calls, the forbidden ones, the mentions, and calls
/// that no mock answered.
pub(super) fn check_tools(
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
