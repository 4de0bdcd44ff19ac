//! What goes wrong with an agent behind a vendor's protocol: an OpenAI-compatible
//! chat-completions server (`agent/openai`) and a Retell custom-LLM WebSocket server
//! (`agent/retell.rs`, behind the `retell` feature). Read by the author of that server.

use std::fmt::Display;
use std::time::Duration;

use super::{http_body, human_duration, quote};

// ---- OpenAI-compatible servers -----------------------------------------------------------

/// A fault of the server at `url`: `what` is one of the `openai_*` sentences below that
/// start with "it" or "its".
pub(crate) fn openai_fault(url: &str, what: &str) -> String {
    format!("the OpenAI-compatible server at {url}: {what}")
}

pub(crate) fn openai_unfinished_within(
    url: &str,
    timeout: Duration,
    events: usize,
    content: &str,
) -> String {
    format!(
        "the OpenAI-compatible server at {url} did not finish its answer within {} \
         ({events} events so far, text so far): {}",
        human_duration(timeout),
        quote(content)
    )
}

pub(crate) fn openai_event_not_json(event: usize, e: &dyn Display, data: &str) -> String {
    format!("its event {event} is not JSON ({e}): {}", quote(data))
}

pub(crate) fn openai_stream_error(error: &str) -> String {
    format!("it sent an error in its stream: {}", quote(error))
}

pub(crate) fn openai_too_many_tools(cap: usize) -> String {
    format!("it called more than {cap} tools in one answer")
}

pub(crate) fn openai_arguments_too_long(name: &str, limit: usize) -> String {
    format!("the arguments of its call of `{name}` are over {limit} bytes")
}

pub(crate) fn openai_neither_sse_nor_json(e: &dyn Display, body: &str) -> String {
    format!(
        "its answer is neither server-sent events nor JSON ({e}): {}",
        quote(body)
    )
}

pub(crate) fn openai_answered_error(error: &str) -> String {
    format!("it answered with an error: {}", quote(error))
}

pub(crate) fn openai_not_a_completion(body: &str) -> String {
    format!(
        "its answer is not a chat completion (no choices[0].message): {}",
        quote(body)
    )
}

pub(crate) fn openai_unreachable(url: &str, why: &str) -> String {
    format!("cannot reach the OpenAI-compatible server at {url}: {why}")
}

pub(crate) fn openai_answer_unread(url: &str, status: &dyn Display, e: &dyn Display) -> String {
    format!(
        "could not read the answer of the OpenAI-compatible server at {url} (HTTP {status}): {e}"
    )
}

/// `said`: the message of OpenAI's error shape, when the body has one; else the body shows.
pub(crate) fn openai_http_status(
    url: &str,
    status: &dyn Display,
    said: Option<&str>,
    text: &str,
) -> String {
    let body = match said {
        Some(message) => format!(": {}", quote(message)),
        None => http_body(text),
    };
    format!("the OpenAI-compatible server at {url} answered HTTP {status}{body}")
}

pub(crate) fn openai_stream_broke(e: &dyn Display, events: usize, last: &str) -> String {
    format!(
        "its stream broke ({e}) after {events} events: the last {}",
        quote(last)
    )
}

pub(crate) fn openai_stream_too_long(limit: usize) -> String {
    format!("its stream is over {limit} bytes; nothing more was read")
}

pub(crate) fn openai_stream_line_too_long(limit: usize) -> String {
    format!("its stream has a line over {limit} bytes; nothing more was read")
}

/// The stream ended before `data: [DONE]`, after `events` events.
pub(crate) fn openai_stream_cut(events: usize, content: &str, last: &str) -> String {
    let last = if events == 0 {
        "no event".to_owned()
    } else {
        format!(
            "{events} events; the text so far {}, the last event {}",
            quote(content),
            quote(last)
        )
    };
    format!("its stream ended before `data: [DONE]` (after {last})")
}

/// `headers`: the names of the configured headers (their values may be secret).
pub(crate) fn openai_invalid_request(url: &str, headers: &[&str]) -> String {
    format!(
        "cannot send a request to {url}: the URL or a header ({}) is not valid HTTP",
        headers.join(", ")
    )
}

pub(crate) fn openai_nameless_call(url: &str, arguments: &str) -> String {
    format!(
        "the OpenAI-compatible server at {url}: it called a tool without a name (arguments {})",
        quote(arguments)
    )
}

pub(crate) fn openai_arguments_not_object(url: &str, name: &str, arguments: &str) -> String {
    format!(
        "the OpenAI-compatible server at {url}: the arguments of its call of `{name}` are not \
         a JSON object: {}",
        quote(arguments)
    )
}

// ---- Retell custom-LLM servers -----------------------------------------------------------

#[cfg(feature = "retell")]
pub(crate) use retell::*;

#[cfg(feature = "retell")]
mod retell {
    use std::fmt::Display;
    use std::time::Duration;

    use super::super::{human_duration, quote};

    /// A fault of the server at `url`: `what` is one of the `retell_*` sentences below that
    /// start with "it" or "the WebSocket".
    pub(crate) fn retell_fault(url: &str, what: &dyn Display) -> String {
        format!("the Retell server at {url}: {what}")
    }

    pub(crate) const RETELL_NOT_OPEN: &str = "the WebSocket is not open (the call was not started)";

    pub(crate) fn retell_send_failed(url: &str, e: &dyn Display) -> String {
        format!("the Retell server at {url}: could not send on the WebSocket ({e})")
    }

    pub(crate) fn retell_incomplete(id: u64, timeout: Duration, content: &str) -> String {
        format!(
            "response_id {id} was not completed (no `content_complete: true`) within {}; \
             content so far: {}",
            human_duration(timeout),
            quote(content)
        )
    }

    /// How the server closed the WebSocket: its close code, and its reason if it gave one.
    pub(crate) fn retell_close_frame(code: &dyn Display, reason: &str) -> String {
        if reason.is_empty() {
            format!(" (code {code})")
        } else {
            format!(" (code {code}, {})", quote(reason))
        }
    }

    /// `how`: [`retell_close_frame`], or empty.
    pub(crate) fn retell_closed(how: &str, id: u64, content: &str) -> String {
        format!(
            "it closed the WebSocket{how} before completing response_id {id}; content so far: {}",
            quote(content)
        )
    }

    pub(crate) fn retell_socket_failed(e: &dyn Display, id: u64) -> String {
        format!("the WebSocket failed ({e}) while waiting for response_id {id}")
    }

    pub(crate) fn retell_binary(len: usize, text: &str) -> String {
        format!(
            "it sent a binary message ({len} bytes: {}); Retell's messages are JSON text",
            quote(text)
        )
    }

    pub(crate) fn retell_not_json(e: &dyn Display, text: &str) -> String {
        format!("it sent a message that is not JSON ({e}): {}", quote(text))
    }

    /// A `response` whose `response_id` is missing, or not a whole number (`id`: its JSON,
    /// such as `"3"` or `-1`).
    pub(crate) fn retell_response_without_id(id: Option<&str>, text: &str) -> String {
        match id {
            None => format!(
                "it sent a `response` without a response_id: {}",
                quote(text)
            ),
            Some(id) => format!(
                "it sent a `response` whose response_id is {id}, not a whole number (it must \
                 be the number of the `response_required` it answers): {}",
                quote(text)
            ),
        }
    }

    /// `what`: one of the `RETELL_INVOCATION_*` sentences.
    pub(crate) fn retell_bad_invocation(what: &str, text: &str) -> String {
        format!("its tool_call_invocation {what}: {}", quote(text))
    }

    pub(crate) const RETELL_INVOCATION_NO_ID: &str = "has no tool_call_id";
    pub(crate) const RETELL_INVOCATION_NO_NAME: &str = "has no name";
    pub(crate) const RETELL_INVOCATION_ARGUMENTS: &str = "has arguments that are not a JSON object";

    pub(crate) fn retell_orphan_result(text: &str) -> String {
        format!(
            "it sent a tool_call_result for no tool_call_invocation before it: {}",
            quote(text)
        )
    }

    pub(crate) fn retell_unknown_type(text: &str) -> String {
        format!(
            "it sent a message with no known response_type: {}",
            quote(text)
        )
    }

    /// `body`: what the server answered, if it sent a body.
    pub(crate) fn retell_http_instead(status: &dyn Display, body: Option<&str>) -> String {
        let body = body
            .map(|b| format!(": {}", quote(b.trim())))
            .unwrap_or_default();
        format!("it answered HTTP {status} instead of opening a WebSocket{body}")
    }

    pub(crate) fn retell_unreachable(url: &str, why: &str) -> String {
        format!("cannot reach the Retell server at {url}: {why}")
    }

    pub(crate) fn retell_no_websocket_within(url: &str, timeout: Duration) -> String {
        retell_unreachable(
            url,
            &format!("no WebSocket within {}", human_duration(timeout)),
        )
    }
}
