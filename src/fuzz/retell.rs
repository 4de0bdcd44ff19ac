//! Retell's custom-LLM WebSocket (docs/agent-protocol.md, "Retell's LLM WebSocket"): the
//! frames a Retell server sends, played by a WebSocket server on loopback to the public
//! `RetellAgent`, so the real code reads them (`agent/retell.rs`, unchanged for the fuzzer):
//! responses for the current, an older and a later `response_id`, `content_complete` and
//! `end_call`, tool invocations and results, pings, garbage, binary, oversize and close
//! frames. Each caller line gets a reply, a fault or tool calls, never a panic, and what a
//! stale `response_id` carried is never part of a reply.

use std::net::{SocketAddr, TcpStream};
use std::sync::{Mutex, OnceLock};

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, WebSocket, accept};

use super::loopback::{self, AGENT_TIMEOUT, lock};
use crate::agent::protocol::MAX_REPLY_LINE;
use crate::agent::{Agent, CallStart, CallerEvent, CallerLine, Reply, RetellAgent, Tools};

/// What stale responses carry (and fuzzed text never does): a reply holding it took the
/// content of an older `response_id`.
const STALE: char = '\u{7}';

/// At most this many turns (the begin message and the caller lines) an input, and frames a
/// turn.
const MAX_TURNS: usize = 8;
const MAX_FRAMES: usize = 16;

/// The frames of the current input, by turn: 0 is the begin message (`response_id` 0),
/// then one turn per `response_required` or `reminder_required`.
static PLAN: Mutex<Vec<Vec<Frame>>> = Mutex::new(Vec::new());
/// One input at a time (the replay tests run bodies on several threads).
static BUSY: Mutex<()> = Mutex::new(());
static SERVER: OnceLock<SocketAddr> = OnceLock::new();

/// One frame the server sends in a turn; ids are relative to the turn's `response_id`.
#[derive(Debug, Clone)]
enum Frame {
    /// A `response`: which id, its content, and its flags.
    Response { id: Id, content: Content, flags: u8 },
    /// A `tool_call_invocation` (`kind` picks its id, name and arguments).
    Invocation(u8),
    /// A `tool_call_result` (`kind` picks its id and content).
    ToolResult(u8),
    /// A `ping_pong` (Retell's keep-alive, answered by the harness).
    PingPong,
    /// Another known `response_type` (`config`, `metadata`, …) or an unknown one.
    Other(u8),
    /// A text message of any bytes (lossy UTF-8).
    Garbage(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A `response` for the current id over the harness's message limit.
    Oversize,
    /// A WebSocket ping.
    Ping,
    /// A close frame; the server stops.
    Close,
}

#[derive(Debug, Clone, Copy)]
enum Id {
    Current,
    Older,
    Later,
    Missing,
    Text,
    Huge,
}

#[derive(Debug, Clone)]
enum Content {
    Text(String),
    Missing,
    Number,
}

/// Retell target. The bytes are ops, each a byte (mod 12) and what it reads after it:
/// 0 a `response` (an id byte: current, older, later, missing, a string, u64::MAX; a flags
/// byte: 1 `content_complete: true`, 2 `content_complete: false`, 4 `end_call: true`, 8 no
/// content, 16 a number as content; a length byte and that many bytes of content), 1 a tool
/// invocation and 2 a tool result (a byte each), 3 a `ping_pong`, 4 a text message and 5 a
/// binary one (a length byte and the bytes), 6 an oversize response, 7 a close frame, 8 and
/// 11 another response type (a byte), 9 the next turn (its first byte picks the caller's
/// event: said, silence, keypad tones, or said after cutting the agent off), 10 a ping.
/// After each turn's frames the server completes the turn's id with an empty
/// `content_complete`, so a turn never waits for the timeout.
pub fn retell(data: &[u8]) {
    let (turns, events) = read(data);
    let _busy = lock(&BUSY);
    let addr = *SERVER.get_or_init(|| loopback::listen("fuzz-retell", serve));
    *lock(&PLAN) = turns;
    loopback::block_on(async {
        let mut agent =
            RetellAgent::new(format!("ws://{addr}/llm-websocket")).with_timeout(AGENT_TIMEOUT);
        let tools = Tools::default();
        let start = CallStart {
            call_id: "fuzz_retell",
            test_id: "fuzz_retell",
            persona: "Fuzz",
            tools: &tools,
            expects_greeting: false,
        };
        if agent.start(&start).await.is_ok() {
            if let Some(greeting) = agent.greeting() {
                assert!(
                    !greeting.contains(STALE) && !greeting.is_empty(),
                    "the greeting is the begin message's own content: {greeting:?}"
                );
            }
        }
        for (i, event) in events.iter().enumerate() {
            let step = i as u32 + 1;
            tools.begin_step(step);
            let line = CallerLine {
                step_order: step,
                text: match event {
                    CallerEvent::Said(text) | CallerEvent::Dtmf(text) => text,
                    _ => "",
                },
                event: *event,
                interrupted: (i % 3 == 2).then_some("I heard"),
                tools: &tools,
            };
            let reply = agent.reply(&line).await;
            if let Ok(Reply::Say(text) | Reply::SayAndHangUp(text)) = &reply {
                assert!(
                    !text.contains(STALE),
                    "step {step}'s reply holds the content of a stale response_id: {text:?}"
                );
            }
            let calls = tools.take_step();
            for call in &calls.calls {
                assert!(
                    !call.name.trim().is_empty(),
                    "a recorded tool call has a name"
                );
                assert!(
                    call.arguments.is_object(),
                    "a recorded tool call's arguments are an object"
                );
                assert!(
                    !call.name.contains(STALE),
                    "a tool call is the server's own"
                );
            }
            if matches!(reply, Ok(Reply::HangUp | Reply::SayAndHangUp(_))) {
                break;
            }
        }
        agent.end().await;
    });
    lock(&PLAN).clear();
}

/// The turns' frames, and the caller's event of each turn after the first.
fn read(data: &[u8]) -> (Vec<Vec<Frame>>, Vec<CallerEvent<'static>>) {
    let mut turns = vec![Vec::new()];
    let mut events = Vec::new();
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next();
    while let Some(op) = next() {
        let frames = turns.last_mut().expect("there is a turn");
        let frame = match op % 12 {
            0 => {
                let id = match next().unwrap_or(0) % 6 {
                    0 => Id::Current,
                    1 => Id::Older,
                    2 => Id::Later,
                    3 => Id::Missing,
                    4 => Id::Text,
                    _ => Id::Huge,
                };
                let flags = next().unwrap_or(1);
                let content = if flags & 8 != 0 {
                    Content::Missing
                } else if flags & 16 != 0 {
                    Content::Number
                } else {
                    Content::Text(text(&mut next))
                };
                Frame::Response { id, content, flags }
            }
            1 => Frame::Invocation(next().unwrap_or(0)),
            2 => Frame::ToolResult(next().unwrap_or(0)),
            3 => Frame::PingPong,
            4 => Frame::Garbage(text(&mut next)),
            5 => {
                let n = next().unwrap_or(0);
                Frame::Binary((0..n).map_while(|_| next()).collect())
            }
            6 => Frame::Oversize,
            7 => Frame::Close,
            9 => {
                if turns.len() >= MAX_TURNS {
                    break;
                }
                events.push(match next().unwrap_or(0) % 4 {
                    1 => CallerEvent::Silence { ms: 3000 },
                    2 => CallerEvent::Dtmf("12#"),
                    _ => CallerEvent::Said("Hello?"),
                });
                turns.push(Vec::new());
                continue;
            }
            10 => Frame::Ping,
            other => Frame::Other(next().unwrap_or(other)),
        };
        if frames.len() < MAX_FRAMES {
            frames.push(frame);
        }
    }
    if events.is_empty() {
        events.push(CallerEvent::Said("Hello?"));
    }
    (turns, events)
}

/// A length byte and that many bytes, as text without the stale mark.
fn text(next: &mut impl FnMut() -> Option<u8>) -> String {
    let n = next().unwrap_or(0) % 48;
    let bytes: Vec<u8> = (0..n).map_while(|_| next()).collect();
    String::from_utf8_lossy(&bytes).replace(STALE, "")
}

/// Plays one call: the begin message, then a turn per request of the harness.
fn serve(stream: TcpStream) {
    let Ok(mut socket) = accept(stream) else {
        return;
    };
    let turns = lock(&PLAN).clone();
    let mut turns = turns.into_iter();
    if !play(&mut socket, 0, &turns.next().unwrap_or_default()) {
        return;
    }
    loop {
        let Ok(message) = socket.read() else { return };
        let Message::Text(text) = message else {
            if matches!(message, Message::Close(_)) {
                let _ = socket.flush();
                return;
            }
            continue;
        };
        let Ok(asked) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        let kind = asked.get("interaction_type").and_then(Value::as_str);
        if !matches!(kind, Some("response_required" | "reminder_required")) {
            continue; // update_only, ping_pong
        }
        let id = asked
            .get("response_id")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if !play(&mut socket, id, &turns.next().unwrap_or_default()) {
            return;
        }
    }
}

/// Sends a turn's frames for response `id`, then completes `id`; `false` once the socket
/// is closed or broken.
fn play(socket: &mut WebSocket<TcpStream>, id: u64, frames: &[Frame]) -> bool {
    for frame in frames {
        let message = match frame {
            Frame::Response {
                id: which,
                content,
                flags,
            } => {
                let mut response = json!({"response_type": "response"});
                let stale = matches!(which, Id::Older);
                match which {
                    Id::Current => response["response_id"] = json!(id),
                    Id::Older if id > 0 => response["response_id"] = json!(id - 1),
                    Id::Older => continue, // nothing is older than the begin message
                    Id::Later => response["response_id"] = json!(id + 1),
                    Id::Missing => {}
                    Id::Text => response["response_id"] = json!(id.to_string()),
                    Id::Huge => response["response_id"] = json!(u64::MAX),
                }
                match content {
                    Content::Text(_) if stale => {
                        response["content"] = json!(format!("{STALE}stale"))
                    }
                    Content::Text(text) => response["content"] = json!(text),
                    Content::Number => response["content"] = json!(7),
                    Content::Missing => {}
                }
                if flags & 1 != 0 {
                    response["content_complete"] = json!(true);
                } else if flags & 2 != 0 {
                    response["content_complete"] = json!(false);
                }
                if flags & 4 != 0 {
                    response["end_call"] = json!(true);
                }
                Message::text(response.to_string())
            }
            Frame::Invocation(kind) => {
                let mut call = json!({"response_type": "tool_call_invocation"});
                if kind & 1 == 0 {
                    call["tool_call_id"] = json!(format!("t{}", kind >> 6));
                }
                call["name"] = match (kind >> 1) & 3 {
                    0 => json!("book"),
                    1 => json!("lookup_order"),
                    2 => json!(" "),
                    _ => Value::Null,
                };
                call["arguments"] = match (kind >> 3) & 7 {
                    0 => json!("{\"party_size\": 4}"),
                    1 => json!({"order_id": "5512"}),
                    2 => json!(""),
                    3 => json!("[1]"),
                    4 => json!("{not json"),
                    5 => json!(12),
                    6 => Value::Null,
                    _ => json!("{\"a\": {\"b\": [1, 2.5, null]}}"),
                };
                Message::text(call.to_string())
            }
            Frame::ToolResult(kind) => {
                let content = match kind & 3 {
                    0 => json!("{\"ref\": \"B7\"}"),
                    1 => json!("done"),
                    2 => json!(3),
                    _ => Value::Null,
                };
                let result = json!({
                    "response_type": "tool_call_result",
                    "tool_call_id": format!("t{}", kind >> 6),
                    "content": content,
                });
                Message::text(result.to_string())
            }
            Frame::PingPong => Message::text(r#"{"response_type":"ping_pong","timestamp":1}"#),
            Frame::Other(kind) => {
                let kind = [
                    "config",
                    "metadata",
                    "agent_interrupt",
                    "update_agent",
                    "nonsense",
                ][usize::from(*kind) % 5];
                Message::text(json!({"response_type": kind, "response_id": id}).to_string())
            }
            Frame::Garbage(text) => Message::text(text.clone()),
            Frame::Binary(bytes) => Message::binary(bytes.clone()),
            Frame::Oversize => {
                let content = "x".repeat(MAX_REPLY_LINE);
                let response =
                    json!({"response_type": "response", "response_id": id, "content": content});
                Message::text(response.to_string())
            }
            Frame::Ping => Message::Ping(b"fuzz".to_vec().into()),
            Frame::Close => {
                let _ = socket.close(Some(CloseFrame {
                    code: CloseCode::Normal,
                    reason: "fuzz".into(),
                }));
                let _ = socket.flush();
                return false;
            }
        };
        if socket.send(message).is_err() {
            return false;
        }
    }
    let done = json!({"response_type": "response", "response_id": id, "content": "", "content_complete": true});
    socket.send(Message::text(done.to_string())).is_ok()
}
