//! LiveKit Agents: `session.history.to_dict(exclude_timestamp=False)` saved as JSON (or a
//! list of them). Its `items` are `message` (`role`, `content`, `interrupted`, `created_at`,
//! `metrics` with `started_speaking_at` / `stopped_speaking_at` in seconds since the epoch and
//! `e2e_latency` in seconds), `function_call` (`call_id`, `name`, `arguments` as a JSON
//! string) and `function_call_output` (`call_id`, `output`, `is_error`). The history has no
//! call id: the case is named from the file.

use super::json::{self, At};
use super::message::{self, Problem};
use super::model::{Call, Clock, Line, Notes, Who};
use super::sniff;

/// What one call of this platform's export looks like (for errors).
pub(super) const SHAPES: &str = "a chat history, `{\"items\": [...]}`";

/// One call of the export.
pub(super) fn call(at: &At<'_>, notes: &mut Notes) -> Result<Call, Problem> {
    // The history itself, or a session report that holds it as `chat_history`.
    let (history, id) = match at.get("chat_history") {
        Some(history) => {
            let id = at.get("room_id").or_else(|| at.get("job_id"));
            (history, id)
        }
        None if at.has("items") => (at.clone(), None),
        None => return Err(sniff::mismatch(at, "LiveKit", SHAPES)),
    };
    let id = id
        .map(|id| id.str("an id (a string)").map(str::to_owned))
        .transpose()?;
    let items = history.req("items", "the history's items (a list)")?;
    let mut out = Call {
        id,
        path: at.path.clone(),
        lines: Vec::new(),
    };
    let mut clock = Clock::default();
    for item in items.array("a list of items")? {
        if let Some(created) = item.opt_f64("created_at", "a time in seconds since the epoch")? {
            let ms = json::ms(created);
            clock.at(ms, &item.key_path("created_at"), message::seconds(ms))?;
        }
        let kind = match item.get("type") {
            Some(t) => t.str("an item type such as \"message\"")?,
            None => "message",
        };
        match kind {
            "message" => {
                let role = item
                    .req("role", "the message's role")?
                    .str("a role such as \"assistant\" or \"user\"")?;
                let who = match role {
                    "assistant" => Who::Agent,
                    "user" => Who::User,
                    "system" | "developer" => continue,
                    other => {
                        notes.push((item.path.clone(), message::unknown_role(other)));
                        continue;
                    }
                };
                let Some(text) = content(&item, notes)? else {
                    continue;
                };
                let metrics = item.get("metrics");
                let time = |key: &str| -> Result<Option<i64>, Problem> {
                    Ok(match &metrics {
                        Some(m) => m
                            .opt_f64(key, "a time in seconds since the epoch")?
                            .map(json::ms),
                        None => None,
                    })
                };
                let (start, end) = (time("started_speaking_at")?, time("stopped_speaking_at")?);
                if let Some(m) = &metrics {
                    super::check_span(m, "stopped_speaking_at", start, end, message::seconds)?;
                }
                let e2e = match &metrics {
                    Some(m) => m.opt_f64("e2e_latency", "a latency in seconds")?,
                    None => None,
                };
                out.lines.push(Line::Say {
                    who,
                    text,
                    start_ms: start,
                    end_ms: end,
                    platform_latency_ms: e2e.map(|s| json::ms(s).max(0) as u64),
                    interrupted: item
                        .opt_bool("interrupted", "true or false")?
                        .unwrap_or(false),
                });
            }
            "function_call" => {
                out.lines.push(Line::tool_call(
                    &item,
                    ("call_id", "the call's id (a string)"),
                    &item,
                    "name",
                    "arguments",
                )?);
            }
            "function_call_output" => {
                let id = item
                    .req("call_id", "the id of the call this answers")?
                    .str("a call id (a string)")?;
                let result = item
                    .get("output")
                    .map(|r| json::result(r.value))
                    .unwrap_or_default();
                let failed = item.opt_bool("is_error", "true or false")?.unwrap_or(false);
                if !out.answer(id, result, failed) {
                    notes.push((item.path.clone(), message::unknown_result(id)));
                }
            }
            "agent_handoff" | "agent_config_update" => {}
            other => notes.push((item.path.clone(), message::unknown_role(other))),
        }
    }
    Ok(out)
}

/// The text of a message's `content`: its strings joined by a space (images and audio
/// frames are not words). `None`, with a note, when it has none.
fn content(item: &At<'_>, notes: &mut Notes) -> Result<Option<String>, Problem> {
    let Some(content) = item.get("content") else {
        notes.push((item.key_path("content"), message::no_text()));
        return Ok(None);
    };
    let parts: Vec<&str> = match content.value {
        serde_json::Value::String(text) => vec![text.as_str()],
        _ => content
            .array("the message's content: a list of strings")?
            .iter()
            .filter_map(|part| part.value.as_str())
            .collect(),
    };
    let text = parts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if !crate::normalize::has_token(&text) {
        notes.push((content.path.clone(), message::no_text()));
        return Ok(None);
    }
    Ok(Some(text))
}
