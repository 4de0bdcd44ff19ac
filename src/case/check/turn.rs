//! The script: `turns`.

use super::{Checked, Checker, Fields, every};
use crate::case::json::{JsonPath, Node};
use crate::case::{CallerAct, Turn};
use crate::message;
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
    "silence_ms",
    "dtmf",
    "barge_in_after_ms",
    "said",
    "heard",
    "judge",
];

impl Checker {
    pub(super) fn turns(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<Vec<Turn>> {
        let items = self.array(node, path, "a list of turns")?;
        if items.is_empty() {
            self.rule(path, message::no_turns());
            return None;
        }
        every(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| self.turn(item, path.index(i), i)),
        )
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
                        message::step_order(expected_step, &found),
                    );
                    return None;
                }
                Some(expected_step as u32)
            });
        let act = self.act(&fields);
        let barge_in = fields
            .get("barge_in_after_ms")
            .map(|n| self.u64(n, &fields.at("barge_in_after_ms")));
        if let Some(Some(_)) = barge_in {
            let first = index == 0;
            if first || !matches!(act, Some((CallerAct::Say, _)) | None) {
                self.rule(
                    &fields.at("barge_in_after_ms"),
                    message::barge_in_misplaced(first),
                );
            }
        }
        let keywords = fields
            .get("expected_agent_response_keywords")
            .map(|n| self.keywords(n, &fields.at("expected_agent_response_keywords")));
        let exact = fields
            .get("exact_match_required")
            .map(|n| self.bool(n, &fields.at("exact_match_required")));
        let expected_response = fields.get("expected_agent_response").map(|n| {
            self.string(n, &fields.at("expected_agent_response"))
                .map(str::to_owned)
        });
        let forbidden = fields
            .get("forbidden_keywords")
            .map(|n| self.keywords(n, &fields.at("forbidden_keywords")));
        let said = fields
            .get("said")
            .map(|n| self.words(n, &fields.at("said")));
        let judge = fields.get("judge").map(|n| {
            let at = fields.at("judge");
            let criterion = self.words(n, &at)?;
            self.needs_llm(&at, "`judge`")?;
            Some(criterion)
        });
        // `heard` may be empty: every word of the line was lost on the way (a recognition
        // error a sweep's shrink writes down, SPEC §13), and the agent is sent an empty line.
        let heard = fields
            .get("heard")
            .map(|n| self.string(n, &fields.at("heard")).map(str::to_owned));
        if let Some((CallerAct::Silence(_) | CallerAct::Dtmf(_), _)) = &act {
            for pin in ["said", "heard"] {
                if fields.get(pin).is_some() {
                    self.rule(&fields.at(pin), message::pin_on_silent_turn(pin));
                }
            }
        }
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

        let (act, user_input) = act?;
        if !matches!(act, CallerAct::Say)
            && (fields.get("said").is_some() || fields.get("heard").is_some())
        {
            return None;
        }
        let turn = Turn {
            act,
            barge_in_after_ms: barge_in.checked()?,
            expected_tool_calls: expected_calls.checked()?.unwrap_or_default(),
            forbidden_tool_calls: forbidden_calls.checked()?.unwrap_or_default(),
            expected_mentions: mentions.checked()?.unwrap_or_default(),
            step_order: step_order?,
            user_input,
            expected_agent_response_keywords: keywords.checked()?.unwrap_or_default(),
            exact_match_required: exact.checked()?.unwrap_or(false),
            expected_agent_response: expected_response.checked()?,
            forbidden_keywords: forbidden.checked()?.unwrap_or_default(),
            said: said.checked()?,
            judge: judge.checked()?,
            heard: heard.checked()?,
            max_latency_ms: max_latency.checked()?,
        };
        if turn.exact_match_required
            && turn.expected_agent_response.is_none()
            && turn
                .expected_agent_response_keywords
                .iter()
                .any(|k| !matches!(k, crate::case::Keyword::Phrase(_)))
        {
            self.rule(&fields.path, message::exact_step_without_one_phrase());
            return None;
        }
        if turn.exact_match_required && !has_token(&turn.expected_phrase()) {
            self.rule(&fields.path, message::exact_step_without_words());
            return None;
        }
        if turn.barge_in_after_ms.is_some() && (index == 0 || !matches!(turn.act, CallerAct::Say)) {
            return None;
        }
        Some(turn)
    }

    /// Exactly one of `user_input`, `silence_ms`, `dtmf`: what the caller does, and the
    /// script's text for it (the digits of a keypad turn, nothing for a silent one).
    fn act(&mut self, fields: &Fields<'_, '_>) -> Option<(CallerAct, String)> {
        let given: Vec<&str> = ["user_input", "silence_ms", "dtmf"]
            .into_iter()
            .filter(|f| fields.get(f).is_some())
            .collect();
        match given.as_slice() {
            [] => {
                self.push(
                    message::missing_field(
                        &fields.path.to_string(),
                        "user_input",
                        "what the caller says",
                    )
                    .help(message::NO_ACT_HELP),
                );
                None
            }
            ["user_input"] => {
                let text = self.words(fields.get("user_input")?, &fields.at("user_input"))?;
                Some((CallerAct::Say, text))
            }
            ["silence_ms"] => {
                let at = fields.at("silence_ms");
                let ms = self.u64(fields.get("silence_ms")?, &at)?;
                if ms == 0 {
                    self.rule(&at, message::no_silence());
                    return None;
                }
                Some((CallerAct::Silence(ms), String::new()))
            }
            ["dtmf"] => {
                let at = fields.at("dtmf");
                let digits = self.string(fields.get("dtmf")?, &at)?;
                let bad = digits
                    .chars()
                    .find(|c| !matches!(c, '0'..='9' | '*' | '#' | 'A'..='D'));
                if digits.is_empty() || bad.is_some() {
                    self.rule(&at, message::bad_dtmf(digits, bad));
                    return None;
                }
                Some((CallerAct::Dtmf(digits.to_owned()), digits.to_owned()))
            }
            several => {
                self.rule(&fields.path, message::several_acts(several));
                None
            }
        }
    }
}
