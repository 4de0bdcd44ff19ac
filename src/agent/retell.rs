//! Agents that speak Retell's custom-LLM WebSocket (docs/agent-protocol.md, "Retell's LLM
//! WebSocket"): the harness plays Retell's side of the call.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message, protocol::WebSocketConfig};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::protocol::MAX_REPLY_LINE;
use crate::agent::{Agent, AgentError, CallStart, CallerEvent, CallerLine, Reply, TurnTiming};
use crate::limits::MAX_REPLY_BYTES;
use crate::message;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An agent that speaks Retell's custom-LLM WebSocket protocol. The harness plays Retell:
///
/// - it opens `WS_URL/<call id>` (the case's `test_id`) and waits for the begin message
///   (a `response` with `response_id` 0): the agent's greeting, before the caller's first
///   line, a row of step 0 ([`Agent::greeting`]). A server whose agent waits for the caller sends
///   it empty, as Retell expects;
/// - each caller line is a `response_required` with a fresh `response_id` and the transcript
///   so far; the streamed `content` of that id is assembled up to `content_complete`, and
///   anything for an older id is ignored (stale). `end_call: true` hangs up after the reply;
/// - a silence is a `reminder_required`; keypad tones are the user's text; a barge-in is an
///   `update_only` (`"turntaking": "user_turn"`) with the agent's last line cut to the words
///   the caller heard, before the next `response_required`;
/// - `tool_call_invocation` / `tool_call_result` are the tools the server ran itself: they
///   are recorded as the step's tool calls (for `expected_tool_calls`); no mock is asked;
/// - a `ping_pong` is answered with one; `config`, `metadata`, `agent_interrupt` and
///   `update_agent` are accepted and change nothing.
///
/// The reply's latency is the time to its first `content`. Plain `ws://` only (no TLS). A
/// message is read up to 512 KiB; past that the step fails.
///
/// ```no_run
/// use voice_harness::RetellAgent;
/// voice_harness::harness!(agent = |_case| RetellAgent::new("ws://127.0.0.1:8080/llm-websocket"));
/// ```
#[derive(Debug)]
pub struct RetellAgent {
    url: String,
    call_url: String,
    timeout: Duration,
    socket: Option<Socket>,
    /// The conversation so far, as Retell's `transcript` (`{"role", "content"}`).
    transcript: Vec<Value>,
    next_id: u64,
    greeting: Option<String>,
    timings: Vec<TurnTiming>,
}

/// What came of waiting for one response.
struct Response {
    content: String,
    end_call: bool,
    first_token: Option<u64>,
}

/// A tool the server says it invoked, with its result once it says that too.
struct Invocation {
    id: String,
    name: String,
    arguments: Value,
    result: Option<Value>,
}

impl RetellAgent {
    /// An agent at `ws_url` (`ws://127.0.0.1:8080/llm-websocket`): each call opens
    /// `ws_url/<call id>`. Waiting for one response may take 10 s.
    pub fn new(ws_url: impl Into<String>) -> Self {
        Self {
            url: ws_url.into(),
            call_url: String::new(),
            timeout: Duration::from_secs(10),
            socket: None,
            transcript: Vec::new(),
            next_id: 1,
            greeting: None,
            timings: Vec::new(),
        }
    }

    /// Sets how long one response (the begin message included) may take; keep it at or
    /// below the run's per-turn timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The begin message of the current call, once: what the agent said before the caller's
    /// first line (`None` when it was empty). The harness takes it through
    /// [`Agent::greeting`] and records it as the greeting row, before step 1.
    pub fn take_greeting(&mut self) -> Option<String> {
        self.greeting.take()
    }

    /// How each turn of the current (or last) call went: time to the first `content`, and
    /// to `content_complete` (`requests` is 1: one `response_required` a turn).
    pub fn timings(&self) -> &[TurnTiming] {
        &self.timings
    }

    fn fault(&self, what: impl std::fmt::Display) -> AgentError {
        AgentError::fault(message::retell_fault(&self.call_url, &what))
    }

    async fn send(&mut self, message: Value) -> Result<(), AgentError> {
        let url = self.call_url.clone();
        let Some(socket) = self.socket.as_mut() else {
            return Err(self.fault(message::RETELL_NOT_OPEN));
        };
        socket
            .send(Message::text(message.to_string()))
            .await
            .map_err(|e| AgentError::fault(message::retell_send_failed(&url, &e)))
    }

    /// Reads messages until `response_id` `id` is complete; records the tools the server
    /// reports on `line`'s tools.
    async fn response(
        &mut self,
        id: u64,
        line: Option<&CallerLine<'_>>,
        started: Instant,
    ) -> Result<Response, AgentError> {
        let mut got = Response {
            content: String::new(),
            end_call: false,
            first_token: None,
        };
        let mut invocations: Vec<Invocation> = Vec::new();
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let Some(socket) = self.socket.as_mut() else {
                return Err(self.fault(message::RETELL_NOT_OPEN));
            };
            let next = match tokio::time::timeout_at(deadline, socket.next()).await {
                Ok(next) => next,
                Err(_) => {
                    return Err(self.fault(message::retell_incomplete(
                        id,
                        self.timeout,
                        &got.content,
                    )));
                }
            };
            let text = match next {
                None | Some(Ok(Message::Close(_))) => {
                    let how = match &next {
                        Some(Ok(Message::Close(Some(frame)))) => {
                            message::retell_close_frame(&frame.code, frame.reason.as_str())
                        }
                        _ => String::new(),
                    };
                    self.socket = None;
                    return Err(self.fault(message::retell_closed(&how, id, &got.content)));
                }
                Some(Err(e)) => {
                    self.socket = None;
                    return Err(self.fault(message::retell_socket_failed(&e, id)));
                }
                Some(Ok(Message::Text(text))) => text.as_str().to_owned(),
                Some(Ok(Message::Binary(bytes))) => {
                    return Err(self.fault(message::retell_binary(
                        bytes.len(),
                        &String::from_utf8_lossy(&bytes),
                    )));
                }
                // Pings are answered by the WebSocket layer.
                Some(Ok(_)) => continue,
            };
            let event: Value = serde_json::from_str(&text)
                .map_err(|e| self.fault(message::retell_not_json(&e, &text)))?;
            match event.get("response_type").and_then(Value::as_str) {
                Some("response") => {
                    let Some(rid) = event.get("response_id").and_then(Value::as_u64) else {
                        let id = event.get("response_id").map(Value::to_string);
                        return Err(
                            self.fault(message::retell_response_without_id(id.as_deref(), &text))
                        );
                    };
                    if rid != id {
                        continue; // stale (an older id), or not asked for: Retell drops it
                    }
                    if let Some(content) = event.get("content").and_then(Value::as_str) {
                        if !content.is_empty() && got.first_token.is_none() {
                            got.first_token = Some(started.elapsed().as_millis() as u64);
                        }
                        if got.content.len() + content.len() > MAX_REPLY_BYTES {
                            return Err(AgentError::fault(message::reply_too_long(
                                got.content.len() + content.len(),
                            )));
                        }
                        got.content.push_str(content);
                    }
                    let end_call = event.get("end_call").and_then(Value::as_bool) == Some(true);
                    got.end_call |= end_call;
                    if event.get("content_complete").and_then(Value::as_bool) == Some(true)
                        || end_call
                    {
                        break;
                    }
                }
                Some("ping_pong") => {
                    let timestamp = event.get("timestamp").cloned().unwrap_or(Value::Null);
                    self.send(json!({"interaction_type": "ping_pong", "timestamp": timestamp}))
                        .await?;
                }
                Some("tool_call_invocation") => {
                    let call = invocation(&event)
                        .map_err(|what| self.fault(message::retell_bad_invocation(&what, &text)))?;
                    invocations.push(call);
                }
                Some("tool_call_result") => {
                    let id = event.get("tool_call_id").and_then(Value::as_str);
                    let found = invocations
                        .iter_mut()
                        .find(|call| Some(call.id.as_str()) == id && call.result.is_none());
                    let Some(call) = found else {
                        return Err(self.fault(message::retell_orphan_result(&text)));
                    };
                    let content = event.get("content").cloned().unwrap_or(Value::Null);
                    // The result is a string; one that holds JSON is read as that JSON, so
                    // `expected_mentions` can find paths in it.
                    call.result = Some(match &content {
                        Value::String(s) => serde_json::from_str(s).unwrap_or(content),
                        _ => content,
                    });
                }
                Some("config" | "metadata" | "agent_interrupt" | "update_agent") => {}
                _ => {
                    return Err(self.fault(message::retell_unknown_type(&text)));
                }
            }
        }
        if let Some(line) = line {
            for call in invocations {
                line.tools.record(&call.name, call.arguments, call.result);
            }
            if line.tools.capped() {
                return Err(AgentError::fault(message::tool_cap(
                    line.step_order,
                    crate::agent::MAX_TOOL_CALLS_PER_TURN,
                )));
            }
        }
        Ok(got)
    }
}

/// `{"tool_call_id", "name", "arguments": "<a JSON object>"}`, or what is wrong with it.
fn invocation(event: &Value) -> Result<Invocation, String> {
    let id = event
        .get("tool_call_id")
        .and_then(Value::as_str)
        .ok_or(message::RETELL_INVOCATION_NO_ID)?;
    let name = event
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or(message::RETELL_INVOCATION_NO_NAME)?;
    let arguments = match event.get("arguments") {
        None => Value::Object(Default::default()),
        Some(Value::String(s)) if s.trim().is_empty() => Value::Object(Default::default()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(object @ Value::Object(_)) => object,
            _ => return Err(message::RETELL_INVOCATION_ARGUMENTS.into()),
        },
        Some(object @ Value::Object(_)) => object.clone(),
        Some(_) => return Err(message::RETELL_INVOCATION_ARGUMENTS.into()),
    };
    Ok(Invocation {
        id: id.to_owned(),
        name: name.to_owned(),
        arguments,
        result: None,
    })
}

/// Why a connection failed, with what the server answered if it answered HTTP.
fn cannot_connect(url: &str, error: &tungstenite::Error) -> AgentError {
    let why = match error {
        tungstenite::Error::Http(response) => {
            let body = response.body().as_ref().map(|b| String::from_utf8_lossy(b));
            message::retell_http_instead(&response.status(), body.as_deref())
        }
        tungstenite::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            message::CONNECTION_REFUSED.to_owned()
        }
        other => other.to_string(),
    };
    AgentError::fault(message::retell_unreachable(url, &why))
}

impl Agent for RetellAgent {
    async fn start(&mut self, call: &CallStart<'_>) -> Result<(), AgentError> {
        self.call_url = format!("{}/{}", self.url.trim_end_matches('/'), call.call_id);
        self.transcript.clear();
        self.next_id = 1;
        self.greeting = None;
        self.timings.clear();
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_REPLY_LINE))
            .max_frame_size(Some(MAX_REPLY_LINE));
        let connect = tokio_tungstenite::connect_async_with_config(
            self.call_url.as_str(),
            Some(config),
            true,
        );
        let (socket, _) = match tokio::time::timeout(self.timeout, connect).await {
            Ok(Ok(connected)) => connected,
            Ok(Err(e)) => return Err(cannot_connect(&self.call_url, &e)),
            Err(_) => {
                return Err(AgentError::fault(message::retell_no_websocket_within(
                    &self.call_url,
                    self.timeout,
                )));
            }
        };
        self.socket = Some(socket);
        // The begin message: response_id 0, the agent's first words (empty: the caller
        // speaks first).
        let begin = self
            .response(0, None, Instant::now())
            .await
            .map_err(|err| {
                AgentError::fault(format!(
                    "{err} (a Retell server sends its begin message, a `response` with \
                 response_id 0, as the call opens: empty when the caller speaks first)"
                ))
            })?;
        if !begin.content.is_empty() {
            self.transcript
                .push(json!({"role": "agent", "content": begin.content}));
            self.greeting = Some(begin.content);
        }
        Ok(())
    }

    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        let started = Instant::now();
        if let Some(heard) = line.interrupted {
            // The caller cut in: the agent's last line is what was heard of it.
            if let Some(last) = self
                .transcript
                .iter_mut()
                .rev()
                .find(|m| m["role"] == "agent")
            {
                last["content"] = Value::String(heard.to_owned());
            }
            let update = json!({
                "interaction_type": "update_only",
                "transcript": self.transcript,
                "turntaking": "user_turn",
            });
            self.send(update).await?;
        }
        let id = self.next_id;
        self.next_id += 1;
        let kind = match line.event {
            CallerEvent::Silence { .. } => "reminder_required",
            CallerEvent::Dtmf(digits) => {
                self.transcript
                    .push(json!({"role": "user", "content": digits}));
                "response_required"
            }
            _ => {
                self.transcript
                    .push(json!({"role": "user", "content": line.text}));
                "response_required"
            }
        };
        let ask = json!({
            "interaction_type": kind,
            "response_id": id,
            "transcript": self.transcript,
        });
        self.send(ask).await?;
        let got = self.response(id, Some(line), started).await?;
        let total_ms = started.elapsed().as_millis() as u64;
        self.timings.push(TurnTiming {
            step_order: line.step_order,
            first_token_ms: got.first_token,
            total_ms,
            requests: 1,
        });
        super::note_latency(got.first_token.unwrap_or(total_ms));
        if !got.content.is_empty() {
            self.transcript
                .push(json!({"role": "agent", "content": got.content}));
        }
        Ok(match (got.end_call, got.content.is_empty()) {
            (true, true) => Reply::HangUp,
            (true, false) => Reply::SayAndHangUp(got.content),
            (false, _) => Reply::Say(got.content),
        })
    }

    async fn end(&mut self) {
        if let Some(mut socket) = self.socket.take() {
            // Retell hangs up by closing the socket; a server that does not answer the
            // close is not waited for long.
            let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
        }
    }

    fn greeting(&mut self) -> Option<String> {
        self.greeting.take()
    }

    fn wall_clock(&self) -> bool {
        true
    }

    fn __runner_flags(&self) -> Option<String> {
        Some(format!(
            " --agent-retell {}",
            message::shell_word(&self.url)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocations_say_what_is_wrong() {
        let ok = invocation(
            &json!({"tool_call_id": "t1", "name": "book", "arguments": "{\"time\": \"7\"}"}),
        )
        .unwrap();
        assert_eq!((ok.id.as_str(), ok.name.as_str()), ("t1", "book"));
        assert_eq!(ok.arguments, json!({"time": "7"}));
        for (bad, what) in [
            (json!({"name": "book"}), "has no tool_call_id"),
            (json!({"tool_call_id": "t", "name": " "}), "has no name"),
            (
                json!({"tool_call_id": "t", "name": "b", "arguments": "[1]"}),
                "has arguments that are not a JSON object",
            ),
        ] {
            assert_eq!(invocation(&bad).err().as_deref(), Some(what));
        }
    }
}
