//! One answer of an OpenAI-compatible server, read for [`OpenAiAgent`](super::OpenAiAgent):
//! the request sent, and its answer read as server-sent events (or as one JSON completion)
//! into the text and the tool calls it makes, bounded before anything is buffered, with the
//! time to its first content token.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use serde_json::Value;

use crate::agent::AgentError;
use crate::agent::http::{HttpClient, io_error};
use crate::agent::protocol::MAX_REPLY_LINE;
use crate::agent::sse::SseReader;
use crate::limits::MAX_REPLY_BYTES;
use crate::message;

/// The most bytes read of one streamed answer: thousands of small events for a reply of
/// [`MAX_REPLY_BYTES`], with room to spare. Nothing past this is read.
const MAX_STREAM_BYTES: usize = 16 * MAX_REPLY_LINE;

/// Sends `request` (to `url`) and reads its whole answer within `timeout`. The time of its
/// first content token (milliseconds since `started`) is kept in `first_token` unless an
/// earlier round of the turn set it, even when the answer then fails.
pub(super) async fn complete(
    client: HttpClient,
    request: hyper::Request<http_body_util::Full<hyper::body::Bytes>>,
    url: &str,
    timeout: Duration,
    started: Instant,
    first_token: &mut Option<u64>,
) -> Result<Completion, AgentError> {
    let mut assembler = Assembler::new(url, started);
    let read = read_answer(client, request, &mut assembler);
    let answer = tokio::time::timeout(timeout, read).await;
    if assembler.first_token.is_some() {
        *first_token = first_token.or(assembler.first_token);
    }
    match answer {
        Ok(Ok(())) => Ok(assembler.done()),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(AgentError::fault(message::openai_unfinished_within(
            url,
            timeout,
            assembler.events,
            &assembler.content,
        ))),
    }
}

/// One answer of the model: its text, and the tools it calls.
#[derive(Debug, Default)]
pub(super) struct Completion {
    /// What the model said.
    pub(super) content: String,
    /// The tools it calls, in the order of their `index`.
    pub(super) calls: Vec<Call>,
}

/// One tool call of the model, assembled from its fragments.
#[derive(Debug, Default)]
pub(super) struct Call {
    /// The call's id (empty when the server sent none).
    pub(super) id: String,
    /// The tool's name.
    pub(super) name: String,
    /// The arguments as the model wrote them: JSON text, maybe empty.
    pub(super) arguments: String,
}

/// Builds one answer from a stream's events (or one JSON completion).
struct Assembler<'u> {
    url: &'u str,
    started: Instant,
    first_token: Option<u64>,
    content: String,
    /// Tool calls by their `index`.
    calls: BTreeMap<u64, Call>,
    events: usize,
    last: String,
}

impl<'u> Assembler<'u> {
    fn new(url: &'u str, started: Instant) -> Self {
        Self {
            url,
            started,
            first_token: None,
            content: String::new(),
            calls: BTreeMap::new(),
            events: 0,
            last: String::new(),
        }
    }

    fn fault(&self, what: String) -> AgentError {
        AgentError::fault(message::openai_fault(self.url, &what))
    }

    /// One event's data; `true` at `[DONE]`.
    fn event(&mut self, data: &str) -> Result<bool, AgentError> {
        if data.trim() == "[DONE]" {
            return Ok(true);
        }
        self.events += 1;
        let chunk: Value = serde_json::from_str(data)
            .map_err(|e| self.fault(message::openai_event_not_json(self.events, &e, data)))?;
        self.last = data.to_owned();
        if let Some(error) = chunk.get("error") {
            return Err(self.fault(message::openai_stream_error(&error.to_string())));
        }
        let Some(choice) = chunk.get("choices").and_then(|c| c.get(0)) else {
            // Usage chunks (`"choices": []`) and others: nothing to say.
            return Ok(false);
        };
        let delta = choice.get("delta").unwrap_or(&Value::Null);
        self.add(delta)?;
        Ok(false)
    }

    /// A `delta` (streamed) or a whole `message`: text, and tool calls by index.
    fn add(&mut self, delta: &Value) -> Result<(), AgentError> {
        if let Some(text) = delta.get("content").and_then(Value::as_str) {
            if !text.is_empty() && self.first_token.is_none() {
                self.first_token = Some(self.started.elapsed().as_millis() as u64);
            }
            if self.content.len() + text.len() > MAX_REPLY_BYTES {
                return Err(AgentError::fault(message::reply_too_long(
                    self.content.len() + text.len(),
                )));
            }
            self.content.push_str(text);
        }
        let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) else {
            return Ok(());
        };
        for (position, fragment) in calls.iter().enumerate() {
            let index = fragment
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(position as u64);
            if !self.calls.contains_key(&index)
                && self.calls.len() >= crate::agent::MAX_TOOL_CALLS_PER_TURN
            {
                return Err(self.fault(message::openai_too_many_tools(
                    crate::agent::MAX_TOOL_CALLS_PER_TURN,
                )));
            }
            let call = self.calls.entry(index).or_default();
            if let Some(id) = fragment.get("id").and_then(Value::as_str) {
                call.id = id.to_owned();
            }
            let function = fragment.get("function").unwrap_or(&Value::Null);
            if let Some(name) = function.get("name").and_then(Value::as_str) {
                // Sent once by OpenAI; a server that repeats it is not doubled.
                if call.name != name {
                    call.name.push_str(name);
                }
            }
            if let Some(arguments) = function.get("arguments").and_then(Value::as_str) {
                if call.arguments.len() + arguments.len() > MAX_REPLY_LINE {
                    let what = message::openai_arguments_too_long(&call.name, MAX_REPLY_LINE);
                    return Err(AgentError::fault(message::openai_fault(self.url, &what)));
                }
                call.arguments.push_str(arguments);
            }
        }
        Ok(())
    }

    /// A plain JSON completion (a server that ignores `stream`).
    fn whole(&mut self, body: &str) -> Result<(), AgentError> {
        let value: Value = serde_json::from_str(body)
            .map_err(|e| self.fault(message::openai_neither_sse_nor_json(&e, body.trim())))?;
        if let Some(error) = value.get("error") {
            return Err(self.fault(message::openai_answered_error(&error.to_string())));
        }
        let Some(message) = value.pointer("/choices/0/message") else {
            return Err(self.fault(message::openai_not_a_completion(body.trim())));
        };
        self.add(message)?;
        if self.first_token.is_none() && !self.content.is_empty() {
            self.first_token = Some(self.started.elapsed().as_millis() as u64);
        }
        Ok(())
    }

    fn done(self) -> Completion {
        Completion {
            content: self.content,
            calls: self.calls.into_values().collect(),
        }
    }
}

/// Sends `request` and reads its answer into `assembler`: a stream up to `[DONE]`, or a
/// whole JSON completion. Bounded before anything is buffered.
async fn read_answer(
    client: HttpClient,
    request: hyper::Request<http_body_util::Full<hyper::body::Bytes>>,
    assembler: &mut Assembler<'_>,
) -> Result<(), AgentError> {
    let url = assembler.url;
    let response = client.request(request).await.map_err(|e| {
        let why = match io_error(&e) {
            Some(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                message::CONNECTION_REFUSED.to_owned()
            }
            Some(io) => io.to_string(),
            None => e.to_string(),
        };
        AgentError::fault(message::openai_unreachable(url, &why))
    })?;
    let status = response.status();
    let streamed = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let mut body = response.into_body();
    if !status.is_success() || !streamed {
        // Bounded before it is buffered.
        let limited = http_body_util::Limited::new(body, MAX_REPLY_LINE);
        let bytes = match limited.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return Err(AgentError::fault(message::http_body_too_long(
                    url,
                    status.as_u16(),
                    MAX_REPLY_LINE as u64,
                )));
            }
            Err(e) => {
                return Err(AgentError::fault(message::openai_answer_unread(
                    url, &status, &e,
                )));
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        if !status.is_success() {
            // OpenAI's error shape, `{"error": {"message": ...}}`: its message says most in
            // the first bytes shown.
            let said = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
                v.pointer("/error/message")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
            return Err(AgentError::fault(message::openai_http_status(
                url,
                &status,
                said.as_deref(),
                &text,
            )));
        }
        if text.trim_start().starts_with("data:") {
            // Events under another content type: read them as events.
            let mut reader = SseReader::new(MAX_REPLY_LINE);
            let mut events = Vec::new();
            let mut text = text.into_owned();
            text.push_str("\n\n");
            let _ = reader.feed(text.as_bytes(), &mut events);
            for data in events {
                if assembler.event(&data)? {
                    return Ok(());
                }
            }
            return Err(cut(assembler));
        }
        return assembler.whole(&text);
    }
    let mut reader = SseReader::new(MAX_REPLY_LINE);
    let mut events = Vec::new();
    let mut read = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            assembler.fault(message::openai_stream_broke(
                &e,
                assembler.events,
                &assembler.last,
            ))
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        read += data.len();
        if read > MAX_STREAM_BYTES {
            return Err(assembler.fault(message::openai_stream_too_long(MAX_STREAM_BYTES)));
        }
        reader.feed(&data, &mut events).map_err(|too_long| {
            assembler.fault(message::openai_stream_line_too_long(too_long.0))
        })?;
        for data in events.drain(..) {
            if assembler.event(&data)? {
                return Ok(());
            }
        }
    }
    Err(cut(assembler))
}

/// The stream ended before `data: [DONE]`.
fn cut(assembler: &Assembler<'_>) -> AgentError {
    assembler.fault(message::openai_stream_cut(
        assembler.events,
        &assembler.content,
        &assembler.last,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_calls_are_assembled_from_fragments_by_index() {
        let mut a = Assembler::new("http://x/v1/chat/completions", Instant::now());
        for data in [
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"lookup","arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"c2","function":{"name":"book","arguments":"{\"t"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"id\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\":1}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"5}"}}]}}]}"#,
            r#"{"choices":[]}"#,
        ] {
            assert!(!a.event(data).unwrap());
        }
        assert!(a.event("[DONE]").unwrap());
        assert_eq!(a.first_token, None);
        let done = a.done();
        let calls: Vec<(&str, &str, &str)> = done
            .calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str()))
            .collect();
        assert_eq!(
            calls,
            [("c1", "lookup", "{\"id\":5}"), ("c2", "book", "{\"t\":1}")]
        );
    }

    #[test]
    fn faults_name_what_came_back() {
        let mut a = Assembler::new("http://x/v1/chat/completions", Instant::now());
        let err = a.event("not json").unwrap_err().to_string();
        assert!(err.starts_with("the OpenAI-compatible server at http://x/v1/chat/completions: its event 1 is not JSON ("), "{err}");
        assert!(err.ends_with(": \"not json\""), "{err}");
        let err = a.whole("<html>oops</html>").unwrap_err().to_string();
        assert!(err.contains("neither server-sent events nor JSON"), "{err}");
        assert!(err.ends_with("\"<html>oops</html>\""), "{err}");
        let err = a.whole(r#"{"id": 1}"#).unwrap_err().to_string();
        assert!(err.contains("no choices[0].message"), "{err}");
    }
}
