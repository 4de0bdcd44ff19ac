//! What went wrong with the agent under test during a call, rather than with its answers:
//! no reply in time, a panic, a reply too long, a program that writes out of step, a failed
//! start, too many tool calls, and what a tool with no matching mock answers. Read by the
//! author of the agent.

use std::fmt::Display;
use std::time::Duration;

use super::{human_duration, inline_json, quote};
use crate::limits::MAX_REPLY_BYTES;

/// The turn timeout struck. On the virtual clock (`virtual_clock`) the harness cannot tell
/// an agent sleeping past the timeout on a tokio timer from one that hangs or waits on
/// something the paused clock cannot see, so the message names all three, with no wall-time
/// figure (it would change the snapshot on every run).
pub(crate) fn no_reply_within(timeout: Duration, virtual_clock: bool) -> String {
    let mut text = format!(
        "no reply within {} (the per-turn timeout)",
        human_duration(timeout)
    );
    if virtual_clock {
        text.push_str(
            "; the virtual clock reached it with no reply: the agent sleeps longer than that \
             on a tokio timer, hangs, or waits on something the virtual clock cannot see (a \
             thread, a blocking call, network I/O), which makes it jump straight to the \
             timeout. An agent that does real work must run on real time: \
             `fn wall_clock(&self) -> bool { true }` in its `impl Agent`",
        );
    }
    text
}

/// Whether `text` is a [`no_reply_within`] message.
pub(crate) fn is_no_reply_within(text: &str) -> bool {
    text.starts_with("no reply within ")
}

/// After a turn timeout, for a program that wrote nothing on its stdout in the whole call:
/// the usual cause is a reply left in its output buffer (Python buffers a pipe).
pub(crate) fn nothing_on_stdout(program: &str) -> String {
    format!(
        "agent program `{program}` wrote nothing on its stdout in this call: if it printed a \
         reply, the reply is still in its output buffer. Flush after each line (Python: \
         `print(..., flush=True)`)"
    )
}

/// A call whose agent failed to start: an error, whatever the case expects.
pub(crate) fn never_started(why: &str) -> String {
    format!("the call never started: {why}")
}

pub(crate) fn agent_panicked(message: &str) -> String {
    if message.contains("IO is disabled") {
        // tokio's words when an agent on the virtual clock opens a socket.
        return format!(
            "agent panicked: {message}; an agent that does real I/O runs on real time: \
             `fn wall_clock(&self) -> bool {{ true }}` in its `impl Agent`"
        );
    }
    format!("agent panicked: {message}")
}

pub(crate) fn reply_too_long(len: usize) -> String {
    format!("the agent's reply is {len} bytes; replies may be at most {MAX_REPLY_BYTES} bytes")
}

pub(crate) fn reply_line_too_long(program: &str, limit: usize) -> String {
    format!(
        "agent program `{program}` wrote {limit} bytes without ending its reply line; a reply \
         is one JSON object on one line, and its text may be at most {MAX_REPLY_BYTES} bytes, \
         so the rest was not read"
    )
}

pub(crate) fn http_body_too_long(url: &str, status: u16, limit: u64) -> String {
    format!(
        "the agent at {url} answered HTTP {status} with a body over {limit} bytes; a reply is \
         one JSON object whose text may be at most {MAX_REPLY_BYTES} bytes, so the rest was \
         not read"
    )
}

/// A program agent wrote a line after its answer to `event`, where nothing asked for one.
pub(crate) fn line_nobody_asked_for(program: &str, event: &str, line: &str) -> String {
    format!(
        "agent program `{program}` wrote a line nobody asked for: after its answer to {event} \
         it wrote {line}. One line answers each event (none for `start`, unless the case has \
         `greeting`, and none for `end`): a greeting or a second line for one event puts every \
         later reply out of step"
    )
}

/// An error the agent itself reported (`{"error": …}`, `AgentError::new`).
pub(crate) fn agent_reported_error(message: &str) -> String {
    format!("agent error: {message}")
}

pub(crate) fn agent_not_built(panic: &str) -> String {
    format!("the agent could not be built for this case: it panicked: {panic}")
}

pub(crate) fn no_mock_for(name: &str) -> String {
    format!("no mock for tool {name}")
}

/// A call no mock answers, with what the mocks do answer.
/// `matchers`: the `match` of each mock of the tool (`None`: any arguments); `None` when
/// the tool has no mock.
pub(crate) fn unmatched_mock(
    name: &str,
    arguments: &serde_json::Value,
    matchers: Option<Vec<Option<&serde_json::Value>>>,
) -> String {
    let answered = match matchers {
        None => "the case has no mock of that tool".to_owned(),
        Some(matchers) => {
            let matches: Vec<String> = matchers
                .into_iter()
                .map(|m| m.map_or_else(|| "any arguments".to_owned(), inline_json))
                .collect();
            format!("mocks match {}", matches.join(", "))
        }
    };
    format!(
        "no mock of {name} matches {}; {answered}",
        inline_json(arguments)
    )
}

pub(crate) fn tool_cap(step: u32, cap: usize) -> String {
    format!(
        "the agent made more than {cap} tool calls in step {step} (the per-turn cap); it was stopped there"
    )
}

// ---- agent programs (agent/command.rs) ---------------------------------------------------

/// How a fault names an agent program.
pub(crate) fn program_who(program: &str) -> String {
    format!("agent program `{program}`")
}

/// The end of a program's stderr, appended to its fault.
pub(crate) fn stderr_ends(text: &str) -> String {
    format!("; its stderr ends: {text}")
}

/// A program stopped talking: `how` ([`program_exited`] or [`PROGRAM_CLOSED_STDOUT`]),
/// `when` (one of the `PROGRAM_GONE_*` moments), `tail` ([`stderr_ends`] or empty).
pub(crate) fn program_gone(program: &str, how: &str, when: &str, tail: &str) -> String {
    format!("agent program `{program}` {how} {when}{tail}")
}

pub(crate) fn program_exited(status: &dyn Display) -> String {
    format!("exited ({status})")
}

pub(crate) const PROGRAM_CLOSED_STDOUT: &str = "closed its stdout";
pub(crate) const PROGRAM_GONE_BEFORE_FIRST_ANSWER: &str = "before its first answer";
pub(crate) const PROGRAM_GONE_BEFORE_CALL_ENDED: &str = "before the call ended";
pub(crate) const PROGRAM_GONE_BEFORE_NEXT_EVENT: &str = "before it was sent the next event";
pub(crate) const PROGRAM_GONE_BEFORE_REPLYING: &str = "before replying";

pub(crate) fn program_reply_unread(program: &str, e: &dyn Display, tail: &str) -> String {
    format!("could not read the reply of agent program `{program}`: {e}{tail}")
}

pub(crate) fn program_reply_not_utf8(program: &str, tail: &str) -> String {
    format!("the reply of agent program `{program}` is not UTF-8 text{tail}")
}

pub(crate) const PROGRAM_COMMAND_EMPTY: &str = "agent program: the command is empty";
pub(crate) const PROGRAM_PIPES_NOT_OPENED: &str = "agent program: its pipes could not be opened";
pub(crate) const PROGRAM_CALL_NOT_STARTED: &str = "agent program: the call was not started";

pub(crate) fn program_interrupted(program: &str) -> String {
    format!("agent program `{program}` was not started: the run was interrupted")
}

pub(crate) fn program_cannot_start(program: &str, e: &dyn Display) -> String {
    format!("cannot start agent program `{program}`: {e}")
}

// ---- HTTP agents (agent/http.rs) ---------------------------------------------------------

/// How a fault names an HTTP agent.
pub(crate) fn http_who(url: &str) -> String {
    format!("the agent at {url}")
}

pub(crate) fn http_unreachable(url: &str, why: &str) -> String {
    format!("cannot reach the agent at {url}: {why}")
}

pub(crate) fn http_no_response_within(url: &str, timeout: Duration) -> String {
    http_unreachable(
        url,
        &format!("no response within {}", human_duration(timeout)),
    )
}

pub(crate) fn not_a_url(e: &dyn Display) -> String {
    format!("not a URL ({e})")
}

/// Why a server could not be reached, for the `cannot reach` faults.
pub(crate) const CONNECTION_REFUSED: &str = "connection refused";
pub(crate) const CONNECTION_RESET: &str = "the connection was reset";

pub(crate) fn http_response_unread(url: &str, status: &dyn Display, e: &dyn Display) -> String {
    format!("could not read the response of the agent at {url} (HTTP {status}): {e}")
}

/// `: "the body"` after an HTTP status, or nothing for an empty body.
pub(crate) fn http_body(text: &str) -> String {
    if text.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", quote(text.trim()))
    }
}

pub(crate) fn http_status(url: &str, status: &dyn Display, body: &str) -> String {
    format!(
        "the agent at {url} answered HTTP {status}{}",
        http_body(body)
    )
}

// ---- the JSON-lines protocol (agent/protocol.rs) -----------------------------------------

const SHAPES: &str = r#"{"text": "..."} (optionally with "end_call": true and "tool_calls": [...]), {"tool_call": {"id": "...", "name": "...", "arguments": {...}}} or {"error": "..."}"#;

pub(crate) fn reply_not_json(e: &dyn Display, line: &str) -> String {
    format!("the agent's reply is not JSON ({e}): {}", quote(line))
}

pub(crate) fn reply_wrong_shape(line: &str) -> String {
    format!("the agent's reply is not {SHAPES}: {}", quote(line))
}

/// `what`: what is wrong with the `tool_call` (one of the `CALL_*` sentences).
pub(crate) fn reply_tool_call_wrong(what: &str, line: &str) -> String {
    format!("the agent's tool_call {what}: {}", quote(line))
}

pub(crate) fn reply_tool_calls_item_wrong(i: usize, what: &str, line: &str) -> String {
    format!("the agent's tool_calls[{i}] {what}: {}", quote(line))
}

pub(crate) fn reply_tool_calls_not_list(line: &str) -> String {
    format!(
        "the agent's tool_calls is not a list of calls: {}",
        quote(line)
    )
}

pub(crate) const CALL_NOT_A_REQUEST: &str = "is not an object {\"id\", \"name\", \"arguments\"}";
pub(crate) const CALL_NOT_A_REPORT: &str = "is not an object {\"name\", \"arguments\", \"result\"}";
pub(crate) const CALL_ID_NOT_STRING: &str = "has an `id` that is not a string";
pub(crate) const CALL_NO_ID: &str = "has no `id` (the harness sends it back with the result)";
pub(crate) const CALL_BLANK_NAME: &str = "has a blank `name`";
pub(crate) const CALL_NAME_NOT_STRING: &str = "has a `name` that is not a string";
pub(crate) const CALL_NO_NAME: &str = "has no `name`";
pub(crate) const CALL_ARGUMENTS_NOT_OBJECT: &str = "has `arguments` that are not an object";

pub(crate) fn call_unknown_field(key: &str) -> String {
    format!("has an unknown field `{key}`")
}

/// How a fault names an event: ``the `user` event of step 2``.
pub(crate) fn event_name(kind: &str, step: u32) -> String {
    format!("the `{kind}` event of step {step}")
}

pub(crate) fn greeting_is_tool_call(who: &str) -> String {
    format!(
        "{who} answered `start` with a tool_call; its greeting is {{\"text\": \"...\"}}, \
         with \"tool_calls\" for the tools it ran"
    )
}
