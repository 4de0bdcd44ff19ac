//! The case files: a recorded case (the call as it happened, validated as it is) or, with
//! `--as-script`, a scripted one that replays the caller's lines against the agent under
//! test. Written by hand, field by field, so the bytes depend only on the export: keys in a
//! fixed order (objects from the export with their keys sorted), one transcript row or turn
//! per line.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::model::{Derived, Row, Step};
use crate::case::DEFAULT_TONE_MARKERS;

/// What names and describes the case.
pub(crate) struct Meta<'a> {
    pub(crate) test_id: &'a str,
    /// `Vapi`, `Retell`, `LiveKit`, `ElevenLabs`.
    pub(crate) platform: &'a str,
    /// `vapi`, … (a tag).
    pub(crate) flag: &'a str,
    /// The call id as the export has it (or the file it came from).
    pub(crate) call: &'a str,
}

/// A latency budget: the observed latency plus half, rounded up to 100 ms (at least 100).
pub(crate) fn budget(latency_ms: u64) -> u64 {
    let with_margin = latency_ms.saturating_add(latency_ms.div_ceil(2));
    with_margin.div_ceil(100).saturating_mul(100).max(100)
}

pub(crate) fn recorded(meta: &Meta<'_>, d: &Derived) -> String {
    // A reply the caller cut off is marked on its row (`"interrupted": true`), so the
    // description need not say it.
    let description = format!(
        "{} call {}, imported by voice-harness import: the recording is validated as it is. \
         The turns expect no keywords yet: add what the agent must say.",
        meta.platform, meta.call
    );
    let mut out = head(meta, &description, &[], d);
    out.push_str("  \"transcript\": [\n");
    let rows: Vec<String> = d.rows.iter().map(row).collect();
    push_lines(&mut out, &rows);
    out.push_str("  ],\n  \"turns\": [\n");
    let turns: Vec<String> = d
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| turn(i, step, d, false))
        .collect();
    push_lines(&mut out, &turns);
    out.push_str("  ]\n}\n");
    out
}

pub(crate) fn script(meta: &Meta<'_>, d: &Derived) -> String {
    let mut description = format!(
        "{} call {}, imported by voice-harness import --as-script: the caller's lines, replayed \
         against the agent under test (with no agent bound, `agent.replay` plays the call's own \
         replies, so the case passes as imported). Turn the replies into keywords; latency \
         budgets are the observed latency plus 50%, rounded up to 100 ms.",
        meta.platform, meta.call
    );
    if let Some(greeting) = &d.greeting {
        let _ = write!(
            description,
            " The agent greeted first: {}",
            quote_plain(greeting)
        );
    }
    if let Some(note) = interrupted_note(&d.interrupted) {
        description.push(' ');
        description.push_str(&note);
    }
    let mut out = head(meta, &description, &["script"], d);

    out.push_str("  \"agent\": {\"replay\": [\n");
    let replies: Vec<String> = d.steps.iter().map(|step| reply(step, d)).collect();
    push_lines(&mut out, &replies);
    out.push_str("  ]},\n");

    // Mocks answer the calls the agent made with what the call saw, by tool, in call order.
    let mut mocks: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for &i in &d.tools {
        if let Row::Tool {
            name,
            arguments,
            result,
            is_error,
        } = &d.rows[i]
        {
            let answer = if *is_error {
                format!("\"error\": {}", string(&error_text(result)))
            } else {
                format!("\"result\": {}", value(result))
            };
            let mock = format!("{{\"match\": {}, {answer}}}", value(arguments));
            let list = mocks.entry(name).or_default();
            if !list.contains(&mock) {
                list.push(mock);
            }
        }
    }
    if !mocks.is_empty() {
        out.push_str("  \"tools\": {\n");
        let n = mocks.len();
        for (k, (name, list)) in mocks.iter().enumerate() {
            let _ = writeln!(out, "    {}: [", string(name));
            let lines: Vec<String> = list.iter().map(|m| format!("  {m}")).collect();
            push_lines(&mut out, &lines);
            out.push_str(if k + 1 < n { "    ],\n" } else { "    ]\n" });
        }
        out.push_str("  },\n");
    }

    out.push_str("  \"turns\": [\n");
    let turns: Vec<String> = d
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| turn(i, step, d, true))
        .collect();
    push_lines(&mut out, &turns);
    out.push_str("  ]\n}\n");
    out
}

/// `{`, then `test_id`, `persona`, `description`, `tags` and `tone_markers` when needed.
fn head(meta: &Meta<'_>, description: &str, extra_tags: &[&str], d: &Derived) -> String {
    let mut out = String::from("{\n");
    let _ = writeln!(out, "  \"test_id\": {},", string(meta.test_id));
    let _ = writeln!(
        out,
        "  \"persona\": {},",
        string(&format!("Caller ({} call)", meta.platform))
    );
    let _ = writeln!(out, "  \"description\": {},", string(description));
    let mut tags = vec![string("imported"), string(meta.flag)];
    tags.extend(extra_tags.iter().map(|t| string(t)));
    let _ = writeln!(out, "  \"tags\": [{}],", tags.join(", "));
    if !d.tone_markers_said.is_empty() {
        let kept: Vec<String> = DEFAULT_TONE_MARKERS
            .iter()
            .filter(|m| !d.tone_markers_said.contains(m))
            .map(|m| string(m))
            .collect();
        let _ = writeln!(out, "  \"tone_markers\": [{}],", kept.join(", "));
    }
    out
}

fn interrupted_note(steps: &[u32]) -> Option<String> {
    match steps {
        [] => None,
        [one] => Some(format!(
            "The caller cut off the agent's reply in step {one}."
        )),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(u32::to_string).collect();
            Some(format!(
                "The caller cut off the agent's replies in steps {} and {last}.",
                rest.join(", ")
            ))
        }
    }
}

fn row(row: &Row) -> String {
    match row {
        Row::User { text } => format!("{{\"speaker\": \"user\", \"text\": {}}}", string(text)),
        Row::Agent {
            text,
            latency_ms,
            interrupted,
        } => {
            let mut out = format!("{{\"speaker\": \"agent\", \"text\": {}", string(text));
            if let Some(ms) = latency_ms {
                let _ = write!(out, ", \"latency_ms\": {ms}");
            }
            if *interrupted {
                out.push_str(", \"interrupted\": true");
            }
            out.push('}');
            out
        }
        Row::Tool {
            name,
            arguments,
            result,
            is_error,
        } => {
            let result = if *is_error {
                format!("{{\"error\": {}}}", string(&error_text(result)))
            } else {
                value(result)
            };
            format!(
                "{{\"speaker\": \"tool\", \"name\": {}, \"arguments\": {}, \"result\": {result}}}",
                string(name),
                value(arguments)
            )
        }
    }
}

fn turn(i: usize, step: &Step, d: &Derived, script: bool) -> String {
    let mut out = format!("{{\"step_order\": {}, ", i + 1);
    if step.keypad {
        let _ = write!(out, "\"dtmf\": {}", string(&step.user));
    } else {
        let _ = write!(out, "\"user_input\": {}", string(&step.user));
    }
    if script {
        if let Some(ms) = step.barge_in_after_ms {
            let _ = write!(out, ", \"barge_in_after_ms\": {ms}");
        }
    }
    out.push_str(", \"expected_agent_response_keywords\": []");
    if script {
        if let Some(ms) = step.latency_ms {
            let _ = write!(out, ", \"max_latency_ms\": {}", budget(ms));
        }
    }
    if !step.calls.is_empty() {
        let _ = write!(out, ", \"expected_tool_calls\": [{}]", calls(step, d));
    }
    out.push('}');
    out
}

fn reply(step: &Step, d: &Derived) -> String {
    let mut out = format!("{{\"text\": {}", string(&step.reply));
    if let Some(ms) = step.latency_ms {
        let _ = write!(out, ", \"latency_ms\": {ms}");
    }
    if !step.calls.is_empty() {
        let _ = write!(out, ", \"tool_calls\": [{}]", calls(step, d));
    }
    out.push('}');
    out
}

/// The step's calls as `{"name", "arguments"}`.
fn calls(step: &Step, d: &Derived) -> String {
    step.calls
        .iter()
        .filter_map(|&k| match &d.rows[d.tools[k]] {
            Row::Tool {
                name, arguments, ..
            } => Some(format!(
                "{{\"name\": {}, \"arguments\": {}}}",
                string(name),
                value(arguments)
            )),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Indented lines joined by commas.
fn push_lines(out: &mut String, lines: &[String]) {
    for (i, line) in lines.iter().enumerate() {
        out.push_str("    ");
        out.push_str(line);
        out.push_str(if i + 1 < lines.len() { ",\n" } else { "\n" });
    }
}

/// A failed call's result as the text of its error.
fn error_text(result: &Value) -> String {
    match result {
        Value::String(text) if !text.trim().is_empty() => text.clone(),
        Value::String(_) | Value::Null => "error".to_owned(),
        other => value(other),
    }
}

/// A JSON string.
pub(crate) fn string(text: &str) -> String {
    Value::from(text).to_string()
}

/// `text` in quotes, for prose.
fn quote_plain(text: &str) -> String {
    format!("\u{201c}{text}\u{201d}")
}

/// A JSON value on one line, `{"a": 1, "b": [2, 3]}`, object keys sorted: the same bytes
/// whatever order the export had them in.
pub(crate) fn value(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&string(key));
                out.push_str(": ");
                write_value(out, &map[key.as_str()]);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}
