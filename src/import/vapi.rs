//! Vapi: the `end-of-call-report` server message, or the call object of `GET /call/:id`
//! (and a list of either). The lines are `artifact.messages`: roles `bot`, `user`,
//! `system`, `tool_calls` and `tool_call_result`, with `time` and `endTime` in milliseconds
//! since the epoch; `artifact.performanceMetrics.turnLatencies` is Vapi's own latency of each
//! turn.

use super::json::{self, At};
use super::message::Problem;
use super::model::{Call, Clock, Line, Notes, Who};
use super::sniff;

/// What one call of this platform's export looks like (for errors).
pub(super) const SHAPES: &str =
    "an `end-of-call-report` message or a call object, with `artifact.messages`";

/// One call of the export.
pub(super) fn call(at: &At<'_>, notes: &mut Notes) -> Result<Call, Problem> {
    // The server message `{"message": {...}}`, the message itself, or a call object.
    let report = match at.get("message").filter(|m| m.value.is_object()) {
        Some(message) => Some(message),
        None if at.value.get("type").and_then(|t| t.as_str()) == Some("end-of-call-report") => {
            Some(at.clone())
        }
        None => None,
    };
    let (call, id) = match report {
        Some(report) => {
            // Other server messages (`status-update`, `transcript`, ...) hold a part of it.
            let kind = report.req("type", "\"end-of-call-report\"")?;
            if kind.str("\"end-of-call-report\"")? != "end-of-call-report" {
                return Err(kind
                    .wrong("\"end-of-call-report\"")
                    .help(super::message::VAPI_REPORT_HELP));
            }
            let id = report.get("call").and_then(|c| c.get("id"));
            (report, id)
        }
        None if at.has("artifact") || at.has("messages") => (at.clone(), at.get("id")),
        None => return Err(sniff::mismatch(at, "Vapi", SHAPES)),
    };
    // Older call objects keep the messages at the top.
    let messages = match (call.get("artifact"), call.get("messages")) {
        (Some(artifact), _) => artifact.req("messages", "the call's messages (a list)")?,
        (None, Some(messages)) => messages,
        (None, None) => call.req("artifact", "the call's `artifact` with its `messages`")?,
    };
    let id = id
        .map(|id| id.str("the call id (a string)").map(str::to_owned))
        .transpose()?;
    let mut out = Call {
        id,
        path: at.path.clone(),
        lines: Vec::new(),
    };
    // Vapi's own latency of each turn (`artifact.performanceMetrics.turnLatencies`), in the
    // order the replies came: used where a reply's timestamps are missing.
    let turn_latencies = match call
        .get("artifact")
        .and_then(|a| a.get("performanceMetrics"))
        .and_then(|p| p.get("turnLatencies"))
    {
        Some(list) => list
            .array("a list of turn latencies")?
            .iter()
            .map(|t| {
                t.opt_f64("turnLatency", "a latency in milliseconds")
                    .map(|ms| ms.map(|ms| ms.round().max(0.0) as u64))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let mut turn_latencies = turn_latencies.into_iter();
    let mut after_user = false;
    let mut clock = Clock::default();
    for m in messages.array("a list of messages")? {
        let role = m
            .req("role", "the message's role")?
            .str("a role such as \"bot\" or \"user\"")?;
        if let Some(time) = m.opt_f64("time", "a time in milliseconds since the epoch")? {
            let ms = time.round() as i64;
            clock.at(ms, &m.key_path("time"), ms.to_string())?;
        }
        match role {
            "system" => {}
            "bot" | "assistant" | "user" => {
                let who = if role == "user" {
                    Who::User
                } else {
                    Who::Agent
                };
                let Some(text) = super::text(&m, "message", notes)? else {
                    continue;
                };
                let start = m.opt_f64("time", "a time in milliseconds since the epoch")?;
                let end = m.opt_f64("endTime", "a time in milliseconds since the epoch")?;
                let (start, end) = (
                    start.map(|t| t.round() as i64),
                    end.map(|t| t.round() as i64),
                );
                super::check_span(&m, "endTime", start, end, |ms| ms.to_string())?;
                let platform_latency_ms = match who {
                    Who::Agent if after_user => turn_latencies.next().flatten(),
                    _ => None,
                };
                after_user = who == Who::User;
                out.lines.push(Line::Say {
                    who,
                    text,
                    start_ms: start,
                    end_ms: end,
                    platform_latency_ms,
                    interrupted: false,
                });
            }
            "tool_calls" => {
                let calls = m.req("toolCalls", "the tool calls (a list)")?;
                for c in calls.array("a list of tool calls")? {
                    let function = c.req(
                        "function",
                        "the called function, with `name` and `arguments`",
                    )?;
                    out.lines.push(Line::tool_call(
                        &c,
                        ("id", "the tool call's id (a string)"),
                        &function,
                        "name",
                        "arguments",
                    )?);
                }
            }
            "tool_call_result" => {
                let id = m
                    .req("toolCallId", "the id of the call this answers")?
                    .str("a tool call id (a string)")?;
                let result = m
                    .get("result")
                    .map(|r| json::result(r.value))
                    .unwrap_or_default();
                if !out.answer(id, result, false) {
                    notes.push((m.path.clone(), super::message::unknown_result(id)));
                }
            }
            other => notes.push((m.path.clone(), super::message::unknown_role(other))),
        }
    }
    Ok(out)
}
