//! ElevenLabs Agents: the conversation of `GET /v1/convai/conversations/{conversation_id}`
//! (or the `data` of a `post_call_transcription` webhook, or a list of conversations). The
//! lines are `transcript[]`: `role` (`agent` or `user`), `message`, `time_in_call_secs`,
//! `interrupted`, `tool_calls` (`request_id`, `tool_name`, `params_as_json`) and
//! `tool_results` (`request_id`, `result_value`, `is_error`). Times are whole seconds, too
//! coarse for a reply's latency: the latency kept is ElevenLabs' own per-turn figure, the
//! language model's time to its first sentence plus the voice's time to its first byte
//! (`conversation_turn_metrics`), when the export has them.

use super::json::{self, At};
use super::message::{self, Problem};
use super::model::{Call, Clock, Line, Notes, Who};
use super::sniff;

/// What one call of this platform's export looks like (for errors).
pub(super) const SHAPES: &str = "a conversation with `conversation_id` and `transcript`";

/// One call of the export.
pub(super) fn call(at: &At<'_>, notes: &mut Notes) -> Result<Call, Problem> {
    let conversation = match at.get("data").filter(|d| d.value.is_object()) {
        Some(data) if at.has("type") => data,
        _ => at.clone(),
    };
    let Some(transcript) = conversation
        .get("transcript")
        .filter(|_| conversation.has("conversation_id") || conversation.has("agent_id"))
    else {
        return Err(sniff::mismatch(at, "ElevenLabs", SHAPES));
    };
    let id = conversation
        .opt_str("conversation_id", "the conversation id (a string)")?
        .map(str::to_owned);
    let mut out = Call {
        id,
        path: at.path.clone(),
        lines: Vec::new(),
    };
    let mut clock = Clock::default();
    for entry in transcript.array("a list of transcript entries")? {
        let role = entry
            .req("role", "the entry's role")?
            .str("\"agent\" or \"user\"")?;
        let who = match role {
            "agent" => Who::Agent,
            "user" => Who::User,
            other => {
                notes.push((entry.path.clone(), message::unknown_role(other)));
                continue;
            }
        };
        let start = entry
            .opt_f64(
                "time_in_call_secs",
                "a time in seconds from the call's start",
            )?
            .map(json::ms);
        if let Some(start) = start {
            clock.at(
                start,
                &entry.key_path("time_in_call_secs"),
                message::seconds(start),
            )?;
        }
        // The calls the agent made in this entry come before what it says in it.
        let calls = match entry.get("tool_calls") {
            Some(c) => c.array("a list of tool calls")?,
            None => Vec::new(),
        };
        for c in &calls {
            out.lines.push(Line::tool_call(
                c,
                ("request_id", "the call's id (a string)"),
                c,
                "tool_name",
                "params_as_json",
            )?);
        }
        if let Some(results) = entry.get("tool_results") {
            for r in results.array("a list of tool results")? {
                let id = r
                    .req("request_id", "the id of the call this answers")?
                    .str("a call id (a string)")?;
                let result = r
                    .get("result_value")
                    .map(|v| json::result(v.value))
                    .unwrap_or_default();
                let failed = r.opt_bool("is_error", "true or false")?.unwrap_or(false);
                if !out.answer(id, result, failed) {
                    notes.push((r.path.clone(), message::unknown_result(id)));
                }
            }
        }
        // An entry that only carries tool calls has no words, and needs no note.
        let Some(text) = (if calls.is_empty() || entry.get("message").is_some() {
            super::text(&entry, "message", notes)?
        } else {
            None
        }) else {
            continue;
        };
        out.lines.push(Line::Say {
            who,
            text,
            start_ms: start,
            end_ms: None,
            platform_latency_ms: turn_latency(&entry)?,
            interrupted: entry
                .opt_bool("interrupted", "true or false")?
                .unwrap_or(false),
        });
    }
    Ok(out)
}

/// ElevenLabs' own latency of a reply: time to the first sentence (or first byte) of the
/// language model, plus the voice's time to its first byte.
fn turn_latency(entry: &At<'_>) -> Result<Option<u64>, Problem> {
    let Some(metrics) = entry
        .get("conversation_turn_metrics")
        .and_then(|m| m.get("metrics"))
    else {
        return Ok(None);
    };
    let elapsed = |name: &str| -> Result<Option<f64>, Problem> {
        match metrics.get(name) {
            Some(m) => m.opt_f64("elapsed_time", "a time in seconds"),
            None => Ok(None),
        }
    };
    let llm = match elapsed("convai_llm_service_ttf_sentence")? {
        Some(s) => Some(s),
        None => elapsed("convai_llm_service_ttfb")?,
    };
    let tts = elapsed("convai_tts_service_ttfb")?;
    Ok(match (llm, tts) {
        (None, None) => None,
        (llm, tts) => Some(json::ms(llm.unwrap_or(0.0) + tts.unwrap_or(0.0)).max(0) as u64),
    })
}
