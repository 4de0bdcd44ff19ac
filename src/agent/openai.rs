//! Agents behind an OpenAI-compatible chat-completions API (docs/agent-protocol.md,
//! "OpenAI-compatible servers"): the "custom LLM" of Vapi and ElevenLabs, a model server
//! (vLLM, llama.cpp, Ollama), or an agent framework's proxy, tested unchanged.
//!
//! This file is the agent ([`OpenAiAgent`]): the call as a conversation of chat messages,
//! the request of each round, the rounds of tool calls answered from the mocks, and each
//! turn's timing. Reading one answer of the server is in `completion`.

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http::HttpPool;
use crate::agent::{Agent, AgentError, CallStart, CallerEvent, CallerLine, Reply};
use crate::message;

mod completion;

use completion::{Call, Completion};

/// The model named in requests unless [`OpenAiAgent::with_model`] says otherwise.
pub(crate) const DEFAULT_MODEL: &str = "voice-harness";

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
        completion::complete(
            client,
            request,
            &self.url,
            self.timeout,
            started,
            first_token,
        )
        .await
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
                AgentError::fault(message::openai_invalid_request(&self.url, &names))
            })
    }
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
        return Err(AgentError::fault(message::openai_nameless_call(
            url,
            &call.arguments,
        )));
    }
    if call.arguments.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_str::<Value>(&call.arguments) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(AgentError::fault(message::openai_arguments_not_object(
            url,
            &call.name,
            &call.arguments,
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_that_are_not_an_object_are_a_fault() {
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
