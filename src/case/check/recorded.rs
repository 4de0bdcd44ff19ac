//! What a case records rather than scripts: `agent.replay` (the agent's replies, in order)
//! and `transcript` (a recorded call, validated as it is).

use super::{Checked, Checker, every};
use crate::case::json::{JsonPath, Node};
use crate::case::{RecordedRow, ReplayReply, Speaker};
use crate::message;

const AGENT_FIELDS: &[&str] = &["replay"];
const REPLAY_FIELDS: &[&str] = &["text", "latency_ms", "tool_calls"];
// `step_order` is accepted so that a transcript copied from a report loads as it is; it is
// recomputed by the zipper.
const ROW_FIELDS: &[&str] = &[
    "speaker",
    "text",
    "latency_ms",
    "step_order",
    "name",
    "arguments",
    "result",
    "interrupted",
    "heard",
];

impl Checker {
    pub(super) fn agent(
        &mut self,
        node: &Node<'_>,
        path: JsonPath<'_>,
    ) -> Option<Option<Vec<ReplayReply>>> {
        let fields = self.object(node, path, AGENT_FIELDS)?;
        let Some(replay) = fields.get("replay") else {
            return Some(None);
        };
        let path = fields.at("replay");
        let items = self.array(replay, &path, "a list of replies")?;
        let replies = every(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| self.replay_reply(item, path.index(i))),
        );
        Some(Some(replies?))
    }

    fn replay_reply(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<ReplayReply> {
        if let Node::String(text) = node {
            return Some(ReplayReply {
                text: text.to_string(),
                latency_ms: 0,
                tool_calls: Vec::new(),
            });
        }
        if !matches!(node, Node::Object(_)) {
            self.wrong_type(
                &path,
                "a string or an object {\"text\": …, \"latency_ms\": …}",
                node,
            );
            return None;
        }
        let fields = self.object(node, path, REPLAY_FIELDS)?;
        let text = self
            .required(&fields, "text", "what the agent says")
            .and_then(|n| self.string(n, &fields.at("text")));
        let latency = fields
            .get("latency_ms")
            .map(|n| self.u64(n, &fields.at("latency_ms")));
        let calls = fields
            .get("tool_calls")
            .map(|n| self.expected_calls(n, &fields.at("tool_calls")));
        Some(ReplayReply {
            text: text?.to_owned(),
            latency_ms: latency.checked()?.unwrap_or(0),
            tool_calls: calls.checked()?.unwrap_or_default(),
        })
    }

    pub(super) fn transcript(
        &mut self,
        node: &Node<'_>,
        path: &JsonPath<'_>,
    ) -> Option<Vec<RecordedRow>> {
        let items = self.array(node, path, "a list of rows")?;
        every(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| self.row(item, path.index(i))),
        )
    }

    fn row(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<RecordedRow> {
        let fields = self.object(node, path, ROW_FIELDS)?;
        let speaker = self
            .required(&fields, "speaker", "\"user\", \"agent\" or \"tool\"")
            .and_then(|n| {
                let choices = [
                    ("user", Speaker::User),
                    ("agent", Speaker::Agent),
                    ("tool", Speaker::Tool),
                ];
                self.choice(n, &fields.at("speaker"), &choices)
            });
        // `interrupted` is said of a reply, `heard` of a caller line: on any other row they
        // would mean nothing, so they are errors rather than ignored.
        let belongs = [
            (
                "interrupted",
                Speaker::Agent,
                "agent rows: the caller cut this reply off",
            ),
            (
                "heard",
                Speaker::User,
                "caller rows (\"speaker\": \"user\"): what the agent heard of the line",
            ),
        ];
        let mut misplaced = false;
        for (field, owner, meaning) in belongs {
            if fields.get(field).is_some() && speaker.is_some_and(|s| s != owner) {
                misplaced = true;
                self.rule(
                    &fields.at(field),
                    message::misplaced_row_field(field, meaning),
                );
            }
        }
        let interrupted = fields
            .get("interrupted")
            .map(|n| self.bool(n, &fields.at("interrupted")));
        let heard = fields
            .get("heard")
            .map(|n| self.not_blank(n, &fields.at("heard")));
        if speaker == Some(Speaker::Tool) {
            let call = self.tool_row(&fields);
            let step = fields
                .get("step_order")
                .map(|n| self.u64(n, &fields.at("step_order")));
            step.checked()?;
            if misplaced {
                return None;
            }
            return Some(RecordedRow {
                speaker: Speaker::Tool,
                text: String::new(),
                latency_ms: None,
                call: Some(call?),
                interrupted: false,
                heard: None,
            });
        }
        for field in ["name", "arguments", "result"] {
            if fields.get(field).is_some() {
                self.rule(&fields.at(field), message::tool_field_off_tool_row(field));
                return None;
            }
        }
        let text = self
            .required(&fields, "text", "what was said")
            .and_then(|n| self.string(n, &fields.at("text")));
        let latency = fields
            .get("latency_ms")
            .map(|n| self.u64(n, &fields.at("latency_ms")));
        let step = fields
            .get("step_order")
            .map(|n| self.u64(n, &fields.at("step_order")));
        step.checked()?;
        let (interrupted, heard) = (interrupted.checked()?, heard.checked()?);
        if misplaced {
            return None;
        }
        Some(RecordedRow {
            speaker: speaker?,
            text: text?.to_owned(),
            latency_ms: latency.checked()?,
            call: None,
            interrupted: interrupted.unwrap_or(false),
            heard,
        })
    }
}
