//! Agents behind an OpenAI-compatible chat-completions API (docs/agent-protocol.md,
//! "OpenAI-compatible servers"): the "custom LLM" of Vapi and ElevenLabs, a model server
//! (vLLM, llama.cpp, Ollama), or an agent framework's proxy, tested unchanged.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use serde_json::{Value, json};

use super::external::{HttpClient, HttpPool, MAX_REPLY_LINE, io_error};
use super::sse::SseReader;
use crate::agent::{Agent, AgentError, CallStart, CallerEvent, CallerLine, Reply};
use crate::limits::MAX_REPLY_BYTES;
use crate::message::{self, quote};

/// The model named in requests unless [`OpenAiAgent::with_model`] says otherwise.
pub(crate) const DEFAULT_MODEL: &str = "voice-harness";

/// The most bytes read of one streamed answer: thousands of small events for a reply of
/// [`MAX_REPLY_BYTES`], with room to spare. Nothing past this is read.
const MAX_STREAM_BYTES: usize = 16 * MAX_REPLY_LINE;

/// How long one turn of an [`OpenAiAgent`] (or a `RetellAgent`) took, as it measured it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TurnTiming {
    /// The step of the caller line.
    pub step_order: u32,
    /// Milliseconds from the turn's first request to its first content token (`None` when
    /// the reply had no text). This is the reply's latency in the transcript.
    pub first_token_ms: Option<u64>,
    /// Milliseconds from the first request to the end of the last answer (tool rounds
    /// included).
    pub total_ms: u64,
    /// Requests the turn took: one, and one more per round of tool calls (a `RetellAgent`:
    /// always one `response_required` or `reminder_required`).
    pub requests: u32,
}

/// An agent behind an OpenAI-compatible chat-completions API: each caller line `POST`s the
/// whole conversation so far to `BASE_URL/chat/completions` with `"stream": true`.
///
/// - The answer is read as server-sent events (`data: {chunk}` … `data: [DONE]`), or as one
///   JSON completion from a server that ignores `stream`.
/// - The case's mocked tools are declared as OpenAI `tools` (each with a permissive
///   `{"type": "object"}` schema). A reply with `tool_calls` (streamed in fragments by
///   `index`) is answered from the mocks, as `tool` messages with the calls' ids, and the
///   model is asked again, for as many rounds as it needs (up to the per-turn cap of tool
///   calls); the text of every round is the reply.
/// - The reply's latency is the time to the first content token, what a voice pipeline's
///   speech synthesis waits for; the whole turn's time is kept too ([`OpenAiAgent::timings`]).
/// - The request's `user` (OpenAI's end-user id) is the call id (the case's `test_id`), so a
///   server can tell calls apart.
/// - Headers ([`OpenAiAgent::with_header`], e.g. an API key) are sent with every request and
///   never shown: not in messages, not in reports, not in `Debug`.
///
/// Plain `http://` only (no TLS), as for [`HttpAgent`](crate::HttpAgent). Silence has no
/// message in this protocol: the agent is not asked and stays quiet. Keypad tones are sent as
/// the user's text; after a barge-in the previous assistant message is cut to the words the
/// caller heard. The model cannot hang up.
///
/// ```no_run
/// use voice_harness::OpenAiAgent;
/// voice_harness::harness!(agent = |_case| {
///     OpenAiAgent::new("http://127.0.0.1:8000/v1")
///         .with_model("my-agent")
///         .with_system_prompt("You book tables for Luigi's.")
/// });
/// ```
#[derive(Clone)]
pub struct OpenAiAgent {
    url: String,
    model: String,
    headers: Vec<(String, String)>,
    system_prompt: Option<String>,
    timeout: Duration,
    pool: Option<HttpPool>,
    /// The call's id, sent as the request's `user` (OpenAI's end-user id) so a server can
    /// tell calls apart.
    call_id: String,
    /// The conversation so far, as chat messages.
    messages: Vec<Value>,
    /// The call's mocked tools, as OpenAI `tools`.
    tools: Vec<Value>,
    timings: Vec<TurnTiming>,
}

impl fmt::Debug for OpenAiAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values are secrets (API keys): only their names are shown.
        let headers: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("OpenAiAgent")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("headers", &headers)
            .field("system_prompt", &self.system_prompt.is_some())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OpenAiAgent {
    /// An agent at `base_url`, as OpenAI's SDKs take it (`http://127.0.0.1:8000/v1`): requests
    /// go to `base_url/chat/completions`. The model is `voice-harness` (see
    /// [`OpenAiAgent::with_model`]), and a request may
    /// take 10 s.
    pub fn new(base_url: impl Into<String>) -> Self {
        let base: String = base_url.into();
        Self {
            url: format!("{}/chat/completions", base.trim_end_matches('/')),
            model: DEFAULT_MODEL.to_owned(),
            headers: Vec::new(),
            system_prompt: None,
            timeout: Duration::from_secs(10),
            pool: None,
            call_id: String::new(),
            messages: Vec::new(),
            tools: Vec::new(),
            timings: Vec::new(),
        }
    }

    /// Names `model` in every request.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Sends this header with every request (`Authorization`, `Bearer sk-...`). Its value is
    /// never shown.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Starts every conversation with this `system` message.
    pub fn with_system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(prompt.into());
        self
    }

    /// Sets how long one request may take; keep it at or below the run's per-turn timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Uses `pool`'s connections (shared with the other agents of a run).
    pub fn with_pool(mut self, pool: HttpPool) -> Self {
        self.pool = Some(pool);
        self
    }

    /// The URL requests go to (`BASE_URL/chat/completions`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How each turn of the current (or last) call went: time to the first token, and in all.
    pub fn timings(&self) -> &[TurnTiming] {
        &self.timings
    }

    fn body(&self) -> String {
        let mut body = json!({
            "model": self.model,
            "messages": self.messages,
            "stream": true,
            "user": self.call_id,
        });
        if !self.tools.is_empty() {
            body["tools"] = Value::Array(self.tools.clone());
        }
        body.to_string()
    }

    /// One request and its whole answer, within the timeout.
    async fn complete(
        &mut self,
        started: Instant,
        first_token: &mut Option<u64>,
    ) -> Result<Completion, AgentError> {
        let client = self.pool.get_or_insert_with(HttpPool::new).0.clone();
        let request = self.request(self.body())?;
        let url = self.url.clone();
        let mut assembler = Assembler::new(&url, started);
        let read = read_answer(client, request, &mut assembler);
        let answer = tokio::time::timeout(self.timeout, read).await;
        if assembler.first_token.is_some() {
            *first_token = first_token.or(assembler.first_token);
        }
        match answer {
            Ok(Ok(())) => Ok(assembler.done()),
            Ok(Err(err)) => Err(err),
            Err(_) => Err(AgentError::fault(format!(
                "the OpenAI-compatible server at {url} did not finish its answer within {} \
                 ({}): {}",
                message::human_duration(self.timeout),
                assembler.so_far(),
                quote(&assembler.content)
            ))),
        }
    }

    fn request(
        &self,
        body: String,
    ) -> Result<hyper::Request<http_body_util::Full<hyper::body::Bytes>>, AgentError> {
        let mut request = hyper::Request::post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "text/event-stream, application/json");
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        request
            .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
            .map_err(|_| {
                // The error may quote a header's value: say which part is wrong, not what.
                let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
                AgentError::fault(format!(
                    "cannot send a request to {}: the URL or a header ({}) is not valid HTTP",
                    self.url,
                    names.join(", ")
                ))
            })
    }
}

/// One answer of the model: its text, and the tools it calls.
#[derive(Debug, Default)]
struct Completion {
    content: String,
    calls: Vec<Call>,
}

/// One tool call of the model, assembled from its fragments.
#[derive(Debug, Default)]
struct Call {
    id: String,
    name: String,
    arguments: String,
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

    fn so_far(&self) -> String {
        format!("{} events so far, text so far", self.events)
    }

    fn fault(&self, what: String) -> AgentError {
        AgentError::fault(format!(
            "the OpenAI-compatible server at {}: {what}",
            self.url
        ))
    }

    /// One event's data; `true` at `[DONE]`.
    fn event(&mut self, data: &str) -> Result<bool, AgentError> {
        if data.trim() == "[DONE]" {
            return Ok(true);
        }
        self.events += 1;
        let chunk: Value = serde_json::from_str(data).map_err(|e| {
            self.fault(format!(
                "its event {} is not JSON ({e}): {}",
                self.events,
                quote(data)
            ))
        })?;
        self.last = data.to_owned();
        if let Some(error) = chunk.get("error") {
            return Err(self.fault(format!(
                "it sent an error in its stream: {}",
                quote(&error.to_string())
            )));
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
                return Err(self.fault(format!(
                    "it called more than {} tools in one answer",
                    crate::agent::MAX_TOOL_CALLS_PER_TURN
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
                    let what = format!(
                        "the arguments of its call of `{}` are over {MAX_REPLY_LINE} bytes",
                        call.name
                    );
                    return Err(AgentError::fault(format!(
                        "the OpenAI-compatible server at {}: {what}",
                        self.url
                    )));
                }
                call.arguments.push_str(arguments);
            }
        }
        Ok(())
    }

    /// A plain JSON completion (a server that ignores `stream`).
    fn whole(&mut self, body: &str) -> Result<(), AgentError> {
        let value: Value = serde_json::from_str(body).map_err(|e| {
            self.fault(format!(
                "its answer is neither server-sent events nor JSON ({e}): {}",
                quote(body.trim())
            ))
        })?;
        if let Some(error) = value.get("error") {
            return Err(self.fault(format!(
                "it answered with an error: {}",
                quote(&error.to_string())
            )));
        }
        let Some(message) = value.pointer("/choices/0/message") else {
            return Err(self.fault(format!(
                "its answer is not a chat completion (no choices[0].message): {}",
                quote(body.trim())
            )));
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
                "connection refused".to_owned()
            }
            Some(io) => io.to_string(),
            None => e.to_string(),
        };
        AgentError::fault(format!(
            "cannot reach the OpenAI-compatible server at {url}: {why}"
        ))
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
                return Err(AgentError::fault(format!(
                    "cannot read the answer of the OpenAI-compatible server at {url} \
                     (HTTP {status}): {e}"
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
            let body = match said {
                Some(message) => format!(": {}", quote(&message)),
                None if text.trim().is_empty() => String::new(),
                None => format!(": {}", quote(text.trim())),
            };
            return Err(AgentError::fault(format!(
                "the OpenAI-compatible server at {url} answered HTTP {status}{body}"
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
            assembler.fault(format!(
                "its stream broke ({e}) after {} events: the last {}",
                assembler.events,
                quote(&assembler.last)
            ))
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        read += data.len();
        if read > MAX_STREAM_BYTES {
            return Err(assembler.fault(format!(
                "its stream is over {MAX_STREAM_BYTES} bytes; nothing more was read"
            )));
        }
        reader.feed(&data, &mut events).map_err(|too_long| {
            assembler.fault(format!(
                "its stream has a line over {} bytes; nothing more was read",
                too_long.0
            ))
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
    let last = if assembler.events == 0 {
        "no event".to_owned()
    } else {
        format!(
            "{} events; the text so far {}, the last event {}",
            assembler.events,
            quote(&assembler.content),
            quote(&assembler.last)
        )
    };
    assembler.fault(format!(
        "its stream ended before `data: [DONE]` (after {last})"
    ))
}

impl Agent for OpenAiAgent {
    async fn start(&mut self, call: &CallStart<'_>) -> Result<(), AgentError> {
        self.call_id = call.call_id.to_owned();
        self.messages.clear();
        self.timings.clear();
        if let Some(prompt) = &self.system_prompt {
            self.messages
                .push(json!({"role": "system", "content": prompt}));
        }
        self.tools = call
            .tools
            .mocked()
            .into_iter()
            .map(|name| {
                json!({
                    "type": "function",
                    "function": {"name": name, "parameters": {"type": "object"}},
                })
            })
            .collect();
        Ok(())
    }

    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        let started = Instant::now();
        let text = match line.event {
            // Chat completions have no silence: the agent is not asked, and says nothing.
            CallerEvent::Silence { .. } => {
                self.timings.push(TurnTiming {
                    step_order: line.step_order,
                    first_token_ms: None,
                    total_ms: 0,
                    requests: 0,
                });
                super::note_latency(0);
                return Ok(Reply::Say(String::new()));
            }
            CallerEvent::Dtmf(digits) => digits,
            _ => line.text,
        };
        if let Some(heard) = line.interrupted {
            // What a voice platform does after a barge-in: the model's last words become
            // those the caller heard.
            if let Some(last) = self
                .messages
                .iter_mut()
                .rev()
                .find(|m| m["role"] == "assistant" && m["content"].is_string())
            {
                last["content"] = Value::String(heard.to_owned());
            }
        }
        self.messages.push(json!({"role": "user", "content": text}));
        let mut first_token = None;
        let mut said: Vec<String> = Vec::new();
        let mut requests = 0;
        loop {
            requests += 1;
            let answer = self.complete(started, &mut first_token).await?;
            if !answer.content.is_empty() {
                said.push(answer.content.clone());
            }
            if answer.calls.is_empty() {
                self.messages
                    .push(json!({"role": "assistant", "content": answer.content}));
                break;
            }
            let calls: Vec<Value> = answer
                .calls
                .iter()
                .enumerate()
                .map(|(i, call)| {
                    json!({
                        "id": call_id(call, requests, i),
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    })
                })
                .collect();
            let content = if answer.content.is_empty() {
                Value::Null
            } else {
                Value::String(answer.content.clone())
            };
            self.messages
                .push(json!({"role": "assistant", "content": content, "tool_calls": calls}));
            for (i, call) in answer.calls.iter().enumerate() {
                let arguments = arguments(call, &self.url)?;
                let result = line
                    .tools
                    .call(&call.name, arguments)
                    .await
                    .unwrap_or_else(|e| e.to_result());
                if line.tools.capped() {
                    return Err(AgentError::fault(message::tool_cap(
                        line.step_order,
                        crate::agent::MAX_TOOL_CALLS_PER_TURN,
                    )));
                }
                self.messages.push(json!({
                    "role": "tool",
                    "tool_call_id": call_id(call, requests, i),
                    "content": result.to_string(),
                }));
            }
        }
        let total_ms = started.elapsed().as_millis() as u64;
        self.timings.push(TurnTiming {
            step_order: line.step_order,
            first_token_ms: first_token,
            total_ms,
            requests,
        });
        super::note_latency(first_token.unwrap_or(total_ms));
        Ok(Reply::Say(said.join(" ")))
    }

    fn wall_clock(&self) -> bool {
        true
    }

    /// The runner's flags for this agent; a header's value is a secret, so it is left for
    /// the user to fill in (`<value>`).
    fn __runner_flags(&self) -> Option<String> {
        let base = self
            .url
            .strip_suffix("/chat/completions")
            .unwrap_or(&self.url);
        let mut flags = format!(
            " --agent-openai {} --agent-model {}",
            message::shell_word(base),
            message::shell_word(&self.model)
        );
        if let Some(prompt) = &self.system_prompt {
            flags.push_str(" --agent-system-prompt ");
            flags.push_str(&message::shell_arg(prompt));
        }
        for (name, _) in &self.headers {
            flags.push_str(" --agent-header ");
            flags.push_str(&message::shell_arg(&format!("{name}: <value>")));
        }
        Some(flags)
    }
}

/// The call's id, or one made up for a server that sends none.
fn call_id(call: &Call, round: u32, index: usize) -> String {
    if call.id.is_empty() {
        format!("call_{round}_{index}")
    } else {
        call.id.clone()
    }
}

/// A call's arguments: a JSON object (an empty string is `{}`).
fn arguments(call: &Call, url: &str) -> Result<Value, AgentError> {
    if call.name.trim().is_empty() {
        return Err(AgentError::fault(format!(
            "the OpenAI-compatible server at {url}: it called a tool without a name (arguments {})",
            quote(&call.arguments)
        )));
    }
    if call.arguments.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_str::<Value>(&call.arguments) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(AgentError::fault(format!(
            "the OpenAI-compatible server at {url}: the arguments of its call of `{}` are not \
             a JSON object: {}",
            call.name,
            quote(&call.arguments)
        ))),
    }
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
        let call = Call {
            id: "c".into(),
            name: "book".into(),
            arguments: "[1]".into(),
        };
        let err = arguments(&call, "u").unwrap_err().to_string();
        assert!(
            err.ends_with("the arguments of its call of `book` are not a JSON object: \"[1]\""),
            "{err}"
        );
    }

    #[test]
    fn headers_are_never_shown() {
        let agent = OpenAiAgent::new("http://127.0.0.1:1/v1/")
            .with_header("Authorization", "Bearer sk-secret");
        let shown = format!("{agent:?}");
        assert!(shown.contains("Authorization"), "{shown}");
        assert!(!shown.contains("sk-secret"), "{shown}");
        assert_eq!(agent.url(), "http://127.0.0.1:1/v1/chat/completions");
    }
}
