//! Which platform a file came from, when it is not the one `--from` names: the error then
//! says which flag reads it.

use super::json::At;
use super::message::{self, Problem};

/// The problem for a value that is not an export of `platform`.
pub(crate) fn mismatch(at: &At<'_>, platform: &str, shapes: &str) -> Problem {
    let expected = message::expected_export(platform, shapes);
    match guess(at) {
        Some((name, flag, sign)) if name != platform => {
            let (found, help) = message::other_platform(name, flag, sign);
            Problem::new(at.path.clone(), expected, found).help(help)
        }
        _ => Problem::new(at.path.clone(), expected, found_keys(at)),
    }
}

/// (name, flag, what gave it away).
fn guess(at: &At<'_>) -> Option<(&'static str, &'static str, &'static str)> {
    let v = at.value;
    let has = |key: &str| v.get(key).is_some();
    let inner = |outer: &str, key: &str| v.get(outer).and_then(|o| o.get(key)).is_some();
    if has("transcript_with_tool_calls") || inner("call", "transcript_with_tool_calls") {
        return Some(("Retell", "retell", "`transcript_with_tool_calls`"));
    }
    if has("call_id") && (has("transcript_object") || has("call_status")) {
        return Some(("Retell", "retell", "`call_id` and `call_status`"));
    }
    if has("artifact") || inner("message", "artifact") {
        return Some(("Vapi", "vapi", "`artifact`"));
    }
    if has("conversation_id") || inner("data", "conversation_id") {
        return Some(("ElevenLabs", "elevenlabs", "`conversation_id`"));
    }
    if has("items") || has("chat_history") {
        return Some(("LiveKit", "livekit", "`items`"));
    }
    None
}

fn found_keys(at: &At<'_>) -> String {
    match at.value.as_object() {
        Some(map) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().take(6).map(|k| format!("`{k}`")).collect();
            let more = if map.len() > 6 { ", …" } else { "" };
            format!("an object with {}{more}", keys.join(", "))
        }
        _ => message::describe(at.value),
    }
}
