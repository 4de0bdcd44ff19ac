//! What went wrong with the agent under test during a call, rather than with its answers:
//! no reply in time, a panic, a reply too long, a program that writes out of step, a failed
//! start, too many tool calls, and what a tool with no matching mock answers. Read by the
//! author of the agent.

use std::time::Duration;

use super::{human_duration, inline_json};
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
