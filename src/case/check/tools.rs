//! The tool sections: `tools` (mocks), a turn's `expected_tool_calls`,
//! `forbidden_tool_calls` and `expected_mentions`, a replayed reply's `tool_calls`, and a
//! recorded tool row.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Checked, Checker, Fields, every};
use crate::case::json::{JsonPath, Node};
use crate::case::{ExpectedCall, Mention, Mock, MockAnswer, ToolCall};
use crate::message;

const MOCK_FIELDS: &[&str] = &["match", "result", "error", "latency_ms"];
const CALL_FIELDS: &[&str] = &["name", "arguments"];
const MENTION_FIELDS: &[&str] = &["tool", "path"];

impl Checker {
    pub(super) fn tools(
        &mut self,
        node: &Node<'_>,
        path: &JsonPath<'_>,
    ) -> Option<BTreeMap<String, Vec<Mock>>> {
        let Node::Object(entries) = node else {
            self.wrong_type(path, "an object of tool names to lists of mocks", node);
            return None;
        };
        let mut tools = BTreeMap::new();
        let mut ok = true;
        for (name, mocks) in entries {
            let tool_path = path.field(name);
            if name.trim().is_empty() {
                ok = false;
                self.rule(&tool_path, message::blank_tool_key());
                continue;
            }
            let Some(items) = self.array(mocks, &tool_path, "a list of mocks") else {
                ok = false;
                continue;
            };
            let mocks = every(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.mock(item, tool_path.index(i))),
            );
            match mocks {
                Some(mocks) => {
                    tools.insert(name.to_string(), mocks);
                }
                None => ok = false,
            }
        }
        ok.then_some(tools)
    }

    fn mock(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<Mock> {
        let fields = self.object(node, path, MOCK_FIELDS)?;
        let matcher = fields
            .get("match")
            .map(|n| self.arguments(n, &fields.at("match")));
        let error = fields
            .get("error")
            .map(|n| self.not_blank(n, &fields.at("error")));
        let latency = fields
            .get("latency_ms")
            .map(|n| self.u64(n, &fields.at("latency_ms")));
        let answer = match (fields.get("result"), error) {
            (Some(_), Some(_)) => {
                self.rule(&fields.path, message::mock_with_result_and_error());
                None
            }
            (Some(result), None) => Some(MockAnswer::Result(result.to_value())),
            (None, Some(Some(error))) => Some(MockAnswer::Error(error)),
            (None, Some(None)) => None,
            (None, None) => {
                self.rule(&fields.path, message::mock_without_answer());
                None
            }
        };
        Some(Mock {
            matcher: matcher.checked()?,
            latency_ms: latency.checked()?.unwrap_or(0),
            answer: answer?,
        })
    }

    /// An `arguments` (or `match`) object.
    fn arguments(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<Value> {
        if !matches!(node, Node::Object(_)) {
            self.wrong_type(
                path,
                "an object of arguments, such as {\"time\": \"11:30\"}",
                node,
            );
            return None;
        }
        Some(node.to_value())
    }

    fn tool_name(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<String> {
        let name = self.string(node, path)?;
        if name.trim().is_empty() {
            self.rule(path, message::blank_tool_name(name));
            return None;
        }
        Some(name.to_owned())
    }

    pub(super) fn expected_calls(
        &mut self,
        node: &Node<'_>,
        path: &JsonPath<'_>,
    ) -> Option<Vec<ExpectedCall>> {
        let items = self.array(
            node,
            path,
            "a list of calls {\"name\": …, \"arguments\": …}",
        )?;
        every(items.iter().enumerate().map(|(i, item)| {
            let fields = self.object(item, path.index(i), CALL_FIELDS)?;
            let name = self
                .required(&fields, "name", "the tool's name")
                .and_then(|n| self.tool_name(n, &fields.at("name")));
            let arguments = fields
                .get("arguments")
                .map(|n| self.arguments(n, &fields.at("arguments")));
            Some(ExpectedCall {
                name: name?,
                arguments: arguments.checked()?,
            })
        }))
    }

    pub(super) fn tool_names(
        &mut self,
        node: &Node<'_>,
        path: &JsonPath<'_>,
    ) -> Option<Vec<String>> {
        let items = self.array(node, path, "a list of tool names")?;
        every(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| self.tool_name(item, &path.index(i))),
        )
    }

    pub(super) fn mentions(
        &mut self,
        node: &Node<'_>,
        path: &JsonPath<'_>,
    ) -> Option<Vec<Mention>> {
        let items = self.array(node, path, "a list of mentions {\"tool\": …, \"path\": …}")?;
        every(items.iter().enumerate().map(|(i, item)| {
            let fields = self.object(item, path.index(i), MENTION_FIELDS)?;
            let tool = self
                .required(&fields, "tool", "the tool whose result holds the value")
                .and_then(|n| self.tool_name(n, &fields.at("tool")));
            let at = fields.at("path");
            let value_path = self
                .required(
                    &fields,
                    "path",
                    "where the value is in the result, e.g. \"booking.id\"",
                )
                .and_then(|n| self.string(n, &at));
            let value_path = match value_path {
                Some(p) if p.split('.').any(|part| part.trim().is_empty()) => {
                    self.rule(&at, message::bad_mention_path(p));
                    None
                }
                other => other.map(str::to_owned),
            };
            Some(Mention {
                tool: tool?,
                path: value_path?,
            })
        }))
    }

    /// A recorded tool row's `name`, `arguments` and `result`.
    pub(super) fn tool_row(&mut self, fields: &Fields<'_, '_>) -> Option<ToolCall> {
        let name = self
            .required(fields, "name", "the tool's name")
            .and_then(|n| self.tool_name(n, &fields.at("name")));
        let arguments = fields
            .get("arguments")
            .map(|n| self.arguments(n, &fields.at("arguments")));
        let result = fields.get("result").map(Node::to_value);
        if fields.get("text").is_some() {
            self.rule(&fields.at("text"), message::tool_row_with_text());
            return None;
        }
        Some(ToolCall {
            name: name?,
            arguments: arguments
                .checked()?
                .unwrap_or_else(|| Value::Object(Default::default())),
            result: result.unwrap_or(Value::Null),
            mock: None,
        })
    }

    /// With mocks, a call to a tool that has none can only fail: say so where it is named.
    pub(super) fn mocked(
        &mut self,
        tools: &BTreeMap<String, Vec<Mock>>,
        name: &str,
        path: &JsonPath<'_>,
    ) {
        if !tools.contains_key(name) {
            let mocked: Vec<&str> = tools.keys().map(String::as_str).collect();
            self.rule(path, message::tool_without_mock(name, &mocked));
        }
    }
}
