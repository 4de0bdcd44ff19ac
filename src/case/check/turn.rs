//! The script: `turns`.

use super::{Checked, Checker};
use crate::case::Turn;
use crate::case::json::{JsonPath, Node};
use crate::normalize::has_token;

const TURN_FIELDS: &[&str] = &[
    "step_order",
    "user_input",
    "expected_agent_response_keywords",
    "exact_match_required",
    "expected_agent_response",
    "forbidden_keywords",
    "max_latency_ms",
    "expected_tool_calls",
    "forbidden_tool_calls",
    "expected_mentions",
];

impl Checker {
    pub(super) fn turns(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<Vec<Turn>> {
        let items = self.array(node, path, "a list of turns")?;
        if items.is_empty() {
            self.rule(
                path,
                "expected at least one turn, found an empty list",
                None,
            );
            return None;
        }
        let turns: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.turn(item, path.index(i), i))
            .collect();
        turns.into_iter().collect()
    }

    fn turn(&mut self, node: &Node<'_>, path: JsonPath<'_>, index: usize) -> Option<Turn> {
        let fields = self.object(node, path, TURN_FIELDS)?;
        let expected_step = index as u64 + 1;
        let step_order = self
            .required(
                &fields,
                "step_order",
                "the step's number: 1, 2, 3, … in file order",
            )
            .and_then(|n| {
                let step = match n {
                    Node::Number(num) => num.as_u64(),
                    _ => None,
                };
                if step != Some(expected_step) {
                    let found = match n {
                        Node::Number(num) => num.to_string(),
                        other => other.describe(),
                    };
                    self.rule(
                        &fields.at("step_order"),
                        format!("expected {expected_step}, found {found}"),
                        Some("number the turns 1, 2, 3, … in the order they appear in the file"),
                    );
                    return None;
                }
                Some(expected_step as u32)
            });
        let user_input = self
            .required(&fields, "user_input", "what the caller says")
            .and_then(|n| self.words(n, &fields.at("user_input")));
        let keywords = fields
            .get("expected_agent_response_keywords")
            .map(|n| self.phrases(n, &fields.at("expected_agent_response_keywords")));
        let exact = fields
            .get("exact_match_required")
            .map(|n| self.bool(n, &fields.at("exact_match_required")));
        let expected_response = fields.get("expected_agent_response").map(|n| {
            self.string(n, &fields.at("expected_agent_response"))
                .map(str::to_owned)
        });
        let forbidden = fields
            .get("forbidden_keywords")
            .map(|n| self.phrases(n, &fields.at("forbidden_keywords")));
        let max_latency = fields
            .get("max_latency_ms")
            .map(|n| self.u64(n, &fields.at("max_latency_ms")));

        let expected_calls = fields
            .get("expected_tool_calls")
            .map(|n| self.expected_calls(n, &fields.at("expected_tool_calls")));
        let forbidden_calls = fields
            .get("forbidden_tool_calls")
            .map(|n| self.tool_names(n, &fields.at("forbidden_tool_calls")));
        let mentions = fields
            .get("expected_mentions")
            .map(|n| self.mentions(n, &fields.at("expected_mentions")));

        let turn = Turn {
            expected_tool_calls: expected_calls.checked()?.unwrap_or_default(),
            forbidden_tool_calls: forbidden_calls.checked()?.unwrap_or_default(),
            expected_mentions: mentions.checked()?.unwrap_or_default(),
            step_order: step_order?,
            user_input: user_input?,
            expected_agent_response_keywords: keywords.checked()?.unwrap_or_default(),
            exact_match_required: exact.checked()?.unwrap_or(false),
            expected_agent_response: expected_response.checked()?,
            forbidden_keywords: forbidden.checked()?.unwrap_or_default(),
            max_latency_ms: max_latency.checked()?,
        };
        if turn.exact_match_required && !has_token(&turn.expected_phrase()) {
            self.rule(
                &fields.path,
                "an exact step needs an expected phrase with at least one word, found none",
                Some("set `expected_agent_response`, or give `expected_agent_response_keywords`"),
            );
            return None;
        }
        Some(turn)
    }
}
