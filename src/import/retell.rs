//! Retell: the call object (`GET /v2/get-call/{call_id}`, or the `call` of a `call_ended` /
//! `call_analyzed` webhook, or a list of calls). The lines are `transcript_with_tool_calls`:
//! roles `agent`, `user`, `tool_call_invocation`, `tool_call_result`, `dtmf` and
//! `node_transition`, with word timings in seconds from the call's start; `latency.e2e.values`
//! is Retell's own latency of each reply.

use super::json::{self, At};
use super::message::{self, Problem};
use super::model::{Call, Clock, Line, Notes, Who};
use super::sniff;

/// What one call of this platform's export looks like (for errors).
pub(super) const SHAPES: &str = "a call object with `transcript_with_tool_calls`";

/// One call of the export.
pub(super) fn call(at: &At<'_>, notes: &mut Notes) -> Result<Call, Problem> {
    // A webhook's `{"event": ..., "call": {...}}`, or the call itself.
    let call = match at.get("call").filter(|c| c.value.is_object()) {
        Some(call) if at.has("event") => call,
        _ => at.clone(),
    };
    let transcript = if let Some(t) = call.get("transcript_with_tool_calls") {
        t
    } else if let Some(t) = call.get("transcript_object") {
        notes.push((t.path.clone(), message::RETELL_NO_TOOLS.to_owned()));
        t
    } else if call.has("call_id") {
        return Err(Problem::new(
            call.key_path("transcript_with_tool_calls"),
            "the call's transcript, `transcript_with_tool_calls`",
            message::NOTHING,
        )
        .help(message::RETELL_TRANSCRIPT_HELP));
    } else {
        return Err(sniff::mismatch(at, "Retell", SHAPES));
    };
    let id = call
        .opt_str("call_id", "the call id (a string)")?
        .map(str::to_owned);
    // Retell's own latency of each reply, in the order the replies came.
    let mut e2e = match call
        .get("latency")
        .and_then(|l| l.get("e2e"))
        .and_then(|e| e.get("values"))
    {
        Some(values) => values
            .array("a list of latencies in milliseconds")?
            .iter()
            .map(|v| {
                v.f64("a latency in milliseconds")
                    .map(|ms| ms.round().max(0.0) as u64)
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    }
    .into_iter();

    let mut out = Call {
        id,
        path: at.path.clone(),
        lines: Vec::new(),
    };
    let mut clock = Clock::default();
    let mut after_user = false;
    for u in transcript.array("a list of utterances")? {
        let role = u
            .req("role", "the row's role")?
            .str("a role such as \"agent\" or \"user\"")?;
        match role {
            "agent" | "user" => {
                let Some(text) = super::text(&u, "content", notes)? else {
                    continue;
                };
                let (start, end) = words(&u)?;
                if let Some(start) = start {
                    clock.at(start, &u.key_path("words"), message::seconds(start))?;
                }
                let who = if role == "user" {
                    Who::User
                } else {
                    Who::Agent
                };
                let platform_latency_ms = match who {
                    Who::Agent if after_user => e2e.next(),
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
            "dtmf" => {
                let digit = u
                    .req("digit", "the key pressed")?
                    .str("the key pressed (a string)")?;
                if !super::keypad(digit) {
                    notes.push((u.path.clone(), message::bad_digits(digit)));
                    continue;
                }
                after_user = true;
                out.lines.push(Line::Dtmf {
                    digits: digit.to_owned(),
                    start_ms: None,
                });
            }
            "tool_call_invocation" => {
                out.lines.push(Line::tool_call(
                    &u,
                    ("tool_call_id", "the tool call's id (a string)"),
                    &u,
                    "name",
                    "arguments",
                )?);
            }
            "tool_call_result" => {
                let id = u
                    .req("tool_call_id", "the id of the call this answers")?
                    .str("a tool call id (a string)")?;
                let result = u
                    .get("content")
                    .map(|r| json::result(r.value))
                    .unwrap_or_default();
                let failed = u
                    .opt_bool("successful", "true or false")?
                    .is_some_and(|ok| !ok);
                if !out.answer(id, result, failed) {
                    notes.push((u.path.clone(), message::unknown_result(id)));
                }
            }
            "node_transition" => {}
            other => notes.push((u.path.clone(), message::unknown_role(other))),
        }
    }
    Ok(out)
}

/// An utterance's start (its first word's) and end (its last word's), in milliseconds.
fn words(u: &At<'_>) -> Result<(Option<i64>, Option<i64>), Problem> {
    let Some(words) = u.get("words") else {
        return Ok((None, None));
    };
    let words = words.array("a list of words with `start` and `end` in seconds")?;
    let mut start = None;
    let mut end = None;
    let mut clock = Clock::default();
    for w in &words {
        let s = w.opt_f64("start", "a time in seconds")?.map(json::ms);
        let e = w.opt_f64("end", "a time in seconds")?.map(json::ms);
        if let Some(s) = s {
            clock.at(s, &w.key_path("start"), message::seconds(s))?;
            start = start.or(Some(s));
        }
        super::check_span(w, "end", s, e, message::seconds)?;
        end = e.or(end);
    }
    Ok((start, end))
}
