//! OpenAI-compatible servers (docs/agent-protocol.md, "OpenAI-compatible servers"): the
//! bytes of the answers a server streams, split at any chunk boundaries, through the public
//! `OpenAiAgent` against a server on loopback, so the real code reads them: the HTTP client,
//! the server-sent-events reader (`agent/sse.rs`) and the chat-completion parsing
//! (`agent/openai.rs`), neither changed for the fuzzer.
//!
//! Each answer is checked against a small reference reading of its own, written from the
//! WHATWG event-stream rules and the documented protocol: the reply's text is exactly the
//! `content` of its deltas up to `data: [DONE]`, a broken answer is a fault, never a panic.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use super::loopback::{self, AGENT_TIMEOUT, lock};
use crate::agent::protocol::MAX_REPLY_LINE;
use crate::agent::{
    Agent, CallStart, CallerEvent, CallerLine, HttpPool, OpenAiAgent, Reply, Tools,
};
use crate::limits::MAX_REPLY_BYTES;

/// The most bytes of one streamed answer the agent reads (`MAX_STREAM_BYTES` of
/// `agent/openai.rs`, 16 lines of the longest).
const MAX_STREAM_BYTES: usize = 16 * MAX_REPLY_LINE;

/// At most this many answers an input; the server answers any request past them with an
/// empty stream (`data: [DONE]`), which ends a round of tool calls.
const MAX_ANSWERS: usize = 8;

/// One answer of the server: its status, content type and body.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    streamed: bool,
    body: Vec<u8>,
}

/// What the server answers, and how it cuts the bodies.
#[derive(Default)]
struct Plan {
    answers: VecDeque<Answer>,
    /// `None`: each body in one chunk; else the seed of the chunk sizes.
    chunking: Option<u8>,
    /// Requests taken so far.
    requests: usize,
}

static PLAN: Mutex<Option<Plan>> = Mutex::new(None);
/// One input at a time (the replay tests run bodies on several threads).
static BUSY: Mutex<()> = Mutex::new(());
static SERVER: OnceLock<SocketAddr> = OnceLock::new();

/// SSE target. The first byte seeds the chunk sizes; the rest are the answers, separated
/// by NUL bytes (at most [`MAX_ANSWERS`]). An answer's first byte says: bit 0, a JSON
/// content type instead of `text/event-stream`; bit 1, HTTP 500; bits 2–7, 61: the body
/// repeated to one byte over a line's limit, 62: to twice it, 63: to one byte over the
/// stream's limit (other values: as it is). Each caller line is answered by the next
/// answer (and the rounds of tool calls by the ones after it).
///
/// The call runs twice, each body in one chunk and cut by the seed, and gives the same
/// replies and faults both times; every reply that took one request is what the reference
/// reading of its answer says.
pub fn sse(data: &[u8]) {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    let answers: Vec<Answer> = rest
        .split(|b| *b == 0)
        .take(MAX_ANSWERS)
        .filter_map(Answer::read)
        .collect();
    let _busy = lock(&BUSY);
    let whole = call(&answers, None);
    let cut = call(&answers, Some(seed));
    assert_eq!(
        whole, cut,
        "the same answers cut into other chunks gave other replies"
    );
    for turn in &whole {
        let Some(answer) = answers.get(turn.first_request) else {
            continue; // the server's own empty answer
        };
        if turn.requests != 1 {
            continue; // rounds of tool calls
        }
        match (reference(answer), &turn.result) {
            (Expect::Text(text), Ok(Reply::Say(said))) => assert_eq!(
                said, &text,
                "the reply is not the text of the deltas (answer {})",
                turn.first_request
            ),
            (Expect::Text(text), got) => panic!(
                "answer {} reads as the reply {text:?}, but the agent gave {got:?}",
                turn.first_request
            ),
            (Expect::Fault, Err(_)) | (Expect::Unknown, _) => {}
            (Expect::Fault, Ok(reply)) => panic!(
                "answer {} is broken, but the agent replied {reply:?}",
                turn.first_request
            ),
        }
    }
}

impl Answer {
    fn read(bytes: &[u8]) -> Option<Self> {
        let (&head, body) = bytes.split_first()?;
        // Rare (3 in 64 answers): a long body takes most of an input's time.
        let target = match head >> 2 {
            61 => MAX_REPLY_LINE + 1,
            62 => 2 * MAX_REPLY_LINE,
            63 => MAX_STREAM_BYTES + 1,
            _ => body.len(),
        };
        let body = if body.is_empty() {
            Vec::new()
        } else {
            let mut long = body.repeat(target.div_ceil(body.len()));
            long.truncate(target);
            long
        };
        Some(Self {
            status: if head & 2 == 0 { 200 } else { 500 },
            streamed: head & 1 == 0,
            body,
        })
    }
}

/// One caller line and what came of it.
#[derive(Debug, PartialEq, Eq)]
struct Turn {
    /// The index of the answer of its first request.
    first_request: usize,
    requests: usize,
    result: Result<Reply, String>,
}

/// A call of one caller line per answer (fewer when tool rounds take several).
fn call(answers: &[Answer], chunking: Option<u8>) -> Vec<Turn> {
    let addr = *SERVER.get_or_init(|| loopback::listen("fuzz-sse", serve));
    *lock(&PLAN) = Some(Plan {
        answers: answers.iter().cloned().collect(),
        chunking,
        requests: 0,
    });
    let requests = || lock(&PLAN).as_ref().map_or(0, |p| p.requests);
    let turns = loopback::block_on(async {
        thread_local! {
            static POOL: HttpPool = HttpPool::new();
        }
        let pool = POOL.with(HttpPool::clone);
        let mut agent = OpenAiAgent::new(format!("http://{addr}/v1"))
            .with_timeout(AGENT_TIMEOUT)
            .with_pool(pool);
        let tools = Tools::default();
        let start = CallStart {
            call_id: "fuzz_sse",
            test_id: "fuzz_sse",
            persona: "Fuzz",
            tools: &tools,
            expects_greeting: false,
        };
        agent
            .start(&start)
            .await
            .expect("an OpenAI agent starts without the server");
        let mut turns = Vec::new();
        for step in 1..=MAX_ANSWERS as u32 {
            let first_request = requests();
            if first_request >= answers.len() && step > 1 {
                break;
            }
            tools.begin_step(step);
            let line = CallerLine {
                step_order: step,
                text: "Hello?",
                event: CallerEvent::Said("Hello?"),
                interrupted: None,
                tools: &tools,
            };
            let result = agent.reply(&line).await.map_err(|e| e.to_string());
            let calls = tools.take_step();
            for call in &calls.calls {
                assert!(!call.name.trim().is_empty(), "a tool call has a name");
                assert!(
                    call.arguments.is_object(),
                    "a tool call's arguments are an object"
                );
            }
            turns.push(Turn {
                first_request,
                requests: requests() - first_request,
                result,
            });
        }
        agent.end().await;
        turns
    });
    *lock(&PLAN) = None;
    turns
}

/// Answers one request with the plan's next answer, cut into chunks.
fn serve(mut stream: TcpStream) {
    if !loopback::read_request(&stream) {
        return;
    }
    let (answer, chunking) = {
        let mut plan = lock(&PLAN);
        let Some(plan) = plan.as_mut() else { return };
        plan.requests += 1;
        let answer = plan.answers.pop_front().unwrap_or(Answer {
            status: 200,
            streamed: true,
            body: b"data: [DONE]\n\n".to_vec(),
        });
        (answer, plan.chunking)
    };
    let status = if answer.status == 200 {
        "200 OK"
    } else {
        "500 Internal Server Error"
    };
    let content_type = if answer.streamed {
        "text/event-stream"
    } else {
        "application/json"
    };
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    for chunk in chunks(&answer.body, chunking) {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(chunk);
        frame.extend_from_slice(b"\r\n");
        if stream
            .write_all(&frame)
            .and_then(|()| stream.flush())
            .is_err()
        {
            return;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

/// `body` in one piece (`None`), or cut into pieces of sizes drawn from `seed`: one byte
/// each for seed 0 mod 8, up to 64 bytes (scaled for long bodies).
fn chunks(body: &[u8], chunking: Option<u8>) -> Vec<&[u8]> {
    let Some(seed) = chunking else {
        return if body.is_empty() {
            Vec::new()
        } else {
            vec![body]
        };
    };
    let scale = (body.len() / 4096).max(1);
    let most = (1 + usize::from(seed & 7) * 9) * scale;
    let mut state = u32::from(seed).wrapping_mul(2_654_435_761) | 1;
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = (1 + state as usize % most).min(rest.len());
        let (piece, after) = rest.split_at(size);
        out.push(piece);
        rest = after;
    }
    out
}

/// What the reference reading says of one answer.
#[derive(Debug)]
enum Expect {
    /// The reply is this text.
    Text(String),
    /// The step fails with a fault.
    Fault,
    /// Tool calls (more requests), or a limit met where the agent's reads fall: not said.
    Unknown,
}

/// The answer read the way docs/agent-protocol.md says, independently of the agent's code.
fn reference(answer: &Answer) -> Expect {
    if answer.status != 200 {
        return Expect::Fault;
    }
    if !answer.streamed {
        if answer.body.len() > MAX_REPLY_LINE {
            return Expect::Fault;
        }
        let text = String::from_utf8_lossy(&answer.body);
        if text.trim_start().starts_with("data:") {
            // Events under another content type are read as events (of the text, whose
            // lines may have grown past the limit where bytes were not UTF-8).
            let text = format!("{text}\n\n");
            let events = events(&text);
            if longest_line(text.as_bytes()) > MAX_REPLY_LINE {
                return Expect::Unknown;
            }
            return deltas(&events);
        }
        return whole(&text);
    }
    let text = String::from_utf8_lossy(&answer.body);
    // One leading U+FEFF (a byte order mark) is not part of the stream.
    let events = events(text.strip_prefix('\u{feff}').unwrap_or(&text));
    if answer.body.len() > MAX_STREAM_BYTES || longest_line(&answer.body) > MAX_REPLY_LINE {
        // Read up to a limit that falls within some read: a fault, unless `[DONE]` came
        // before it in an earlier read. (Not the deltas of every event: in a stream of 8 MiB
        // that would be most of the input's time.)
        return if events.iter().any(|data| data.trim() == "[DONE]") {
            Expect::Unknown
        } else {
            Expect::Fault
        };
    }
    deltas(&events)
}

/// The longest line of `bytes` (ended by CR or LF, or by the end).
fn longest_line(bytes: &[u8]) -> usize {
    bytes
        .split(|b| matches!(b, b'\r' | b'\n'))
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0)
}

/// The events (their data) of a stream, by the WHATWG rules for the `data` field.
fn events(text: &str) -> Vec<String> {
    let mut events = Vec::new();
    let mut data: Option<String> = None;
    let mut rest = text;
    // Each line ends at CR LF, CR or LF; a last line without an end is never dispatched.
    while let Some(end) = rest.find(['\r', '\n']) {
        let line = &rest[..end];
        let after = &rest[end..];
        rest = after.strip_prefix("\r\n").unwrap_or_else(|| &after[1..]);
        if line.is_empty() {
            if let Some(event) = data.take() {
                events.push(event);
            }
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        if field == "data" {
            match &mut data {
                Some(event) => {
                    event.push('\n');
                    event.push_str(value);
                }
                None => data = Some(value.to_owned()),
            }
        }
    }
    events
}

/// A stream's chunks up to `[DONE]`: the text of their deltas.
fn deltas(events: &[String]) -> Expect {
    let mut text = String::new();
    for data in events {
        if data.trim() == "[DONE]" {
            return Expect::Text(text);
        }
        let Ok(chunk) = serde_json::from_str::<Value>(data) else {
            return Expect::Fault;
        };
        if chunk.get("error").is_some() {
            return Expect::Fault;
        }
        let Some(choice) = chunk.get("choices").and_then(|c| c.get(0)) else {
            continue;
        };
        let delta = choice.get("delta").unwrap_or(&Value::Null);
        if let Some(more) = delta.get("content").and_then(Value::as_str) {
            if text.len() + more.len() > MAX_REPLY_BYTES {
                return Expect::Fault;
            }
            text.push_str(more);
        }
        if has_calls(delta) {
            return Expect::Unknown;
        }
    }
    Expect::Fault // the stream ended before `[DONE]`
}

/// A plain JSON completion: `choices[0].message`.
fn whole(text: &str) -> Expect {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Expect::Fault;
    };
    if value.get("error").is_some() {
        return Expect::Fault;
    }
    let Some(message) = value.pointer("/choices/0/message") else {
        return Expect::Fault;
    };
    let content = message.get("content").and_then(Value::as_str).unwrap_or("");
    if content.len() > MAX_REPLY_BYTES {
        return Expect::Fault;
    }
    if has_calls(message) {
        return Expect::Unknown;
    }
    Expect::Text(content.to_owned())
}

fn has_calls(message: &Value) -> bool {
    message
        .get("tool_calls")
        .and_then(Value::as_array)
        .is_some_and(|calls| !calls.is_empty())
}
