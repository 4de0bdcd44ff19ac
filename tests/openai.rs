//! Agents behind an OpenAI-compatible chat-completions API (issue 27): a fake server on
//! loopback streams its answers in small fragments, calls tools over several rounds, answers
//! plain JSON, and misbehaves; each fault fails only its step and says what came back.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};
use voice_harness::{OpenAiAgent, RunOptions, run_case};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_voice-harness");

/// One request the fake server took: its headers (lowercase names) and JSON body.
#[derive(Debug, Clone)]
struct Request {
    headers: Vec<(String, String)>,
    body: Value,
}

type Handler = dyn Fn(&Request, &mut TcpStream) + Send + Sync;

/// An HTTP server on 127.0.0.1 (an ephemeral port), one connection at a time, one request a
/// connection; stopped and joined when dropped, so it ends with the test.
struct FakeServer {
    base: String,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<Request>>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeServer {
    fn start(handler: impl Fn(&Request, &mut TcpStream) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/v1", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Box<Handler> = Box::new(handler);
        let thread = {
            let (stop, requests) = (stop.clone(), requests.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming().take(200) {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(mut stream) = stream else { return };
                    stream
                        .set_read_timeout(Some(Duration::from_secs(5)))
                        .unwrap();
                    let Some(request) = read_request(&stream) else {
                        continue;
                    };
                    requests.lock().unwrap().push(request.clone());
                    handler(&request, &mut stream);
                }
            })
        };
        Self {
            base,
            stop,
            requests,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let addr = self
            .base
            .trim_start_matches("http://")
            .trim_end_matches("/v1");
        let _ = TcpStream::connect(addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut headers = Vec::new();
    let mut length = 0;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            if name == "content-length" {
                length = value.trim().parse().unwrap_or(0);
            }
            headers.push((name, value.trim().to_owned()));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    })
}

/// Answers with server-sent events, each chunk's JSON cut into 7-byte pieces written (and
/// flushed) one by one: the client must put events together across reads. `done` ends the
/// stream with `data: [DONE]`.
fn stream(stream: &mut TcpStream, chunks: &[Value], done: bool) {
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    let mut text: String = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
    if done {
        text.push_str("data: [DONE]\n\n");
    }
    for piece in text.as_bytes().chunks(7) {
        let _ = write!(stream, "{:x}\r\n", piece.len());
        let _ = stream.write_all(piece);
        let _ = stream.write_all(b"\r\n");
        let _ = stream.flush();
    }
    let _ = stream.write_all(b"0\r\n\r\n");
}

fn reply(stream: &mut TcpStream, status: &str, content_type: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Streamed text, two words a chunk.
fn text_chunks(text: &str) -> Vec<Value> {
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    let mut chunks =
        vec![json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})];
    for pair in words.chunks(2) {
        chunks.push(json!({"choices": [{"index": 0, "delta": {"content": pair.concat()}}]}));
    }
    chunks.push(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}));
    chunks
}

/// A tool call streamed as OpenAI does: id and name first, then the arguments in pieces.
fn tool_call_chunks(index: u64, id: &str, name: &str, arguments: &str) -> Vec<Value> {
    let mut chunks = vec![json!({"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}
    ]}}]})];
    for piece in arguments.as_bytes().chunks(4) {
        let piece = String::from_utf8(piece.to_vec()).unwrap();
        chunks.push(json!({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": index, "function": {"arguments": piece}}
        ]}}]}));
    }
    chunks
}

/// The last message of a request, and the number of tool messages since the last user one.
fn last_turn(request: &Request) -> (Value, usize) {
    let messages = request.body["messages"].as_array().unwrap();
    let last = messages.last().unwrap().clone();
    let rounds = messages
        .iter()
        .rev()
        .take_while(|m| m["role"] != "user")
        .filter(|m| m["role"] == "assistant")
        .count();
    (last, rounds)
}

/// The restaurant agent: looks an order up, then books, then says so; faults on request.
fn restaurant(request: &Request, out: &mut TcpStream) {
    let (last, rounds) = last_turn(request);
    let user = request.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(|m| m["content"].as_str().unwrap_or("").to_owned())
        .unwrap_or_default();
    match user.as_str() {
        "fault: not json" => return reply(out, "200 OK", "text/html", "<html>Bad gateway</html>"),
        "fault: cut" => return stream(out, &text_chunks("Your order is"), false),
        "fault: 503" => {
            return reply(
                out,
                "503 Service Unavailable",
                "application/json",
                r#"{"error": {"message": "model overloaded"}}"#,
            );
        }
        "fault: unmocked" => {
            if rounds == 0 {
                return stream(
                    out,
                    &tool_call_chunks(0, "call_x", "cancel_order", r#"{"order_id": "5512"}"#),
                    true,
                );
            }
            return stream(out, &text_chunks("I could not cancel it."), true);
        }
        "plain" => {
            let body = json!({"id": "c", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "A plain hello."}, "finish_reason": "stop"}]});
            return reply(out, "200 OK", "application/json", &body.to_string());
        }
        _ => {}
    }
    if user.contains("order") {
        match rounds {
            // Round 1: two calls in one answer, their fragments interleaved by index.
            0 => {
                let mut a =
                    tool_call_chunks(0, "call_a", "lookup_order", r#"{"order_id": "5512"}"#);
                let b = tool_call_chunks(1, "call_b", "get_weather", r#"{"city": "Rome"}"#);
                let mut chunks = vec![a.remove(0)];
                chunks.extend(
                    b.iter()
                        .cloned()
                        .zip(a.iter().cloned())
                        .flat_map(|(x, y)| [x, y]),
                );
                chunks.extend(a.into_iter().skip(b.len()));
                return stream(out, &chunks, true);
            }
            // Round 2: the results are in; one more call.
            1 => {
                assert_eq!(last["role"], "tool");
                return stream(
                    out,
                    &tool_call_chunks(0, "call_c", "book_table", r#"{"time": "7 pm"}"#),
                    true,
                );
            }
            _ => {
                return stream(
                    out,
                    &text_chunks("Your order 5512 has shipped and your table at 7 pm is booked."),
                    true,
                );
            }
        }
    }
    stream(out, &text_chunks("Hello, how can I help?"), true)
}

fn restaurant_case(turns: &[(&str, &[&str])]) -> voice_harness::Case {
    let mut value = common::script(turns);
    value["tools"] = json!({
        "lookup_order": [{"match": {"order_id": "5512"}, "result": {"status": "shipped"}}],
        "get_weather": [{"result": {"sky": "clear"}}],
        "book_table": [{"result": {"ref": "B7"}}]
    });
    common::case(value)
}

fn options() -> RunOptions {
    RunOptions::default().with_turn_timeout(Duration::from_secs(10))
}

#[test]
fn streamed_fragments_and_several_tool_rounds_make_one_reply() {
    let server = FakeServer::start(restaurant);
    let mut value = common::script(&[
        ("Hi", &["help"]),
        ("Where is my order 5512?", &["shipped", "booked"]),
    ]);
    value["tools"] = json!({
        "lookup_order": [{"match": {"order_id": "5512"}, "result": {"status": "shipped"}}],
        "get_weather": [{"result": {"sky": "clear"}}],
        "book_table": [{"result": {"ref": "B7"}}]
    });
    value["turns"][1]["expected_tool_calls"] = json!([
        {"name": "lookup_order", "arguments": {"order_id": "5512"}},
        {"name": "book_table", "arguments": {"time": "7 pm"}}
    ]);
    let case = common::case(value);
    let mut agent = OpenAiAgent::new(&server.base)
        .with_model("luigi-1")
        .with_system_prompt("You book tables.")
        .with_header("Authorization", "Bearer sk-secret");
    let outcome = run_case(&case, &mut agent, &options());
    let details: Vec<_> = outcome.steps.iter().map(|s| s.details.clone()).collect();
    assert_eq!(details, [None, None], "{:?}", outcome.failures());
    assert_eq!(
        outcome.steps[1].agent_response.as_deref(),
        Some("Your order 5512 has shipped and your table at 7 pm is booked.")
    );
    let calls: Vec<(String, Value, Value)> = outcome
        .transcript
        .iter()
        .filter_map(|r| r.call.as_ref())
        .map(|c| (c.name.clone(), c.arguments.clone(), c.result.clone()))
        .collect();
    assert_eq!(
        calls,
        [
            (
                "lookup_order".into(),
                json!({"order_id": "5512"}),
                json!({"status": "shipped"})
            ),
            (
                "get_weather".into(),
                json!({"city": "Rome"}),
                json!({"sky": "clear"})
            ),
            (
                "book_table".into(),
                json!({"time": "7 pm"}),
                json!({"ref": "B7"})
            ),
        ]
    );
    let requests = server.requests();
    // Step 1: one request; step 2: three (two tool rounds, then the text).
    assert_eq!(requests.len(), 4);
    let first = &requests[0];
    assert!(
        first
            .headers
            .contains(&("authorization".into(), "Bearer sk-secret".into()))
    );
    assert_eq!(first.body["model"], "luigi-1");
    assert_eq!(first.body["stream"], true);
    let declared: Vec<&str> = first.body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(declared, ["book_table", "get_weather", "lookup_order"]);
    assert_eq!(
        first.body["tools"][0]["function"]["parameters"],
        json!({"type": "object"})
    );
    assert_eq!(
        first.body["messages"],
        json!([{"role": "system", "content": "You book tables."}, {"role": "user", "content": "Hi"}])
    );
    // The last request carries the whole conversation, tool messages answering their ids.
    let last = requests[3].body["messages"].as_array().unwrap();
    let roles: Vec<&str> = last.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        [
            "system",
            "user",
            "assistant",
            "user",
            "assistant",
            "tool",
            "tool",
            "assistant",
            "tool"
        ]
    );
    assert_eq!(last[2]["content"], "Hello, how can I help?");
    assert_eq!(last[4]["tool_calls"][0]["id"], "call_a");
    assert_eq!(
        last[4]["tool_calls"][1]["function"]["arguments"],
        r#"{"city": "Rome"}"#
    );
    assert_eq!(last[5]["tool_call_id"], "call_a");
    assert_eq!(last[5]["content"], r#"{"status":"shipped"}"#);
    assert_eq!(last[6]["tool_call_id"], "call_b");
    assert_eq!(last[8]["tool_call_id"], "call_c");
    // Timings: one request for step 1, three for step 2.
    let requests: Vec<u32> = agent.timings().iter().map(|t| t.requests).collect();
    assert_eq!(requests, [1, 3]);
}

#[test]
fn a_sweeps_hint_names_the_runner_flags_but_no_header_value() {
    use voice_harness::Agent;
    let agent = OpenAiAgent::new("http://127.0.0.1:8000/v1")
        .with_model("luigi-1")
        .with_system_prompt("Be brief.")
        .with_header("Authorization", "Bearer sk-secret");
    assert_eq!(
        agent.__runner_flags().as_deref(),
        Some(
            " --agent-openai http://127.0.0.1:8000/v1 --agent-model luigi-1 \
             --agent-system-prompt 'Be brief.' --agent-header 'Authorization: <value>'"
        )
    );
    let retell = voice_harness::RetellAgent::new("ws://127.0.0.1:8080/llm-websocket");
    assert_eq!(
        retell.__runner_flags().as_deref(),
        Some(" --agent-retell ws://127.0.0.1:8080/llm-websocket")
    );
}

#[test]
fn a_plain_json_answer_is_accepted() {
    let server = FakeServer::start(restaurant);
    let case = common::case(common::script(&[("plain", &["plain hello"])]));
    let outcome = run_case(&case, &mut OpenAiAgent::new(&server.base), &options());
    assert_eq!(outcome.steps[0].details, None, "{:?}", outcome.failures());
    assert_eq!(
        outcome.steps[0].agent_response.as_deref(),
        Some("A plain hello.")
    );
}

/// Runs Hi → `fault` and returns step 2's details; step 1 must pass.
fn fault(server: &FakeServer, fault: &str) -> String {
    let case = restaurant_case(&[("Hi", &["help"]), (fault, &["anything"])]);
    let outcome = run_case(&case, &mut OpenAiAgent::new(&server.base), &options());
    assert_eq!(
        outcome.steps[0].details,
        None,
        "step 1: {:?}",
        outcome.failures()
    );
    outcome.steps[1].details.clone().unwrap()
}

#[test]
fn each_fault_fails_only_its_step_and_says_what_came_back() {
    let server = FakeServer::start(restaurant);
    let url = format!("{}/chat/completions", server.base);
    assert_eq!(
        fault(&server, "fault: not json"),
        format!(
            "the OpenAI-compatible server at {url}: its answer is neither server-sent events \
             nor JSON (expected value at line 1 column 1): \"<html>Bad gateway</html>\""
        )
    );
    let cut = fault(&server, "fault: cut");
    assert!(
        cut.starts_with(&format!(
            "the OpenAI-compatible server at {url}: its stream ended before `data: [DONE]` \
             (after 4 events; the text so far \"Your order is\", the last event \"{{"
        )),
        "{cut}"
    );
    assert!(cut.contains("finish_reason"), "{cut}");
    assert_eq!(
        fault(&server, "fault: 503"),
        format!(
            "the OpenAI-compatible server at {url} answered HTTP 503 Service Unavailable: \
             \"model overloaded\""
        )
    );
    // A tool the case does not mock: the step fails, and the model hears of the failure.
    let unmocked = fault(&server, "fault: unmocked");
    assert!(unmocked.contains("cancel_order"), "{unmocked}");
    let last = server.requests().last().unwrap().body["messages"].clone();
    let tool = last
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "tool")
        .unwrap();
    assert!(
        tool["content"].as_str().unwrap().contains("error"),
        "{tool}"
    );
    // The next case is unaffected.
    let case = restaurant_case(&[("Hi", &["help"])]);
    let outcome = run_case(&case, &mut OpenAiAgent::new(&server.base), &options());
    assert_eq!(outcome.steps[0].details, None);
}

#[test]
fn a_refused_connection_is_said_at_the_step() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}/v1");
    let case = common::case(common::script(&[("Hi", &["help"])]));
    let outcome = run_case(&case, &mut OpenAiAgent::new(&base), &options());
    assert_eq!(
        outcome.steps[0].details.as_deref(),
        Some(format!("cannot reach the OpenAI-compatible server at {base}/chat/completions: connection refused").as_str())
    );
}

#[test]
fn latency_is_the_time_to_the_first_content_token() {
    let server = FakeServer::start(|_, out| {
        let _ = write!(
            out,
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
        );
        let _ = write!(
            out,
            "data: {}\n\n",
            json!({"choices": [{"delta": {"content": "Hello"}}]})
        );
        let _ = out.flush();
        std::thread::sleep(Duration::from_millis(400));
        let _ = write!(
            out,
            "data: {}\n\ndata: [DONE]\n\n",
            json!({"choices": [{"delta": {"content": ", how can I help?"}}]})
        );
    });
    let case = common::case(common::script(&[("Hi", &["help"])]));
    let mut agent = OpenAiAgent::new(&server.base);
    let outcome = run_case(&case, &mut agent, &options());
    assert_eq!(outcome.steps[0].details, None, "{:?}", outcome.failures());
    let latency = outcome.steps[0].latency_ms.unwrap();
    let timing = agent.timings()[0];
    assert!(
        latency < 400,
        "latency {latency} ms is the first token's, not the whole answer's"
    );
    assert_eq!(timing.first_token_ms, Some(latency));
    assert!(timing.total_ms >= 400, "{timing:?}");
}

#[test]
fn the_runner_names_the_agent_in_the_report_and_never_its_headers() {
    let server = FakeServer::start(restaurant);
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("hi.json");
    std::fs::write(&case, common::script(&[("Hi", &["help"])]).to_string()).unwrap();
    let page = dir.path().join("page.html");
    let output = std::process::Command::new(BIN)
        .args(["run", "-v", "--json", "-", "--agent-openai", &server.base])
        .args([
            "--agent-model",
            "luigi-1",
            "--agent-header",
            "Authorization: Bearer sk-secret",
        ])
        .arg("--html")
        .arg(&page)
        .args(["--agent-system-prompt", "Be brief."])
        .arg(&case)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("sk-secret") && !stderr.contains("sk-secret"));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        report["run"]["agent"],
        json!(format!("openai: {} (model luigi-1)", server.base))
    );
    // The HTML page names it too (it said "built-in"), and no header either.
    let page = std::fs::read_to_string(&page).unwrap();
    assert!(
        page.contains(&format!("openai: {} (model luigi-1)", server.base)),
        "the page does not name the agent"
    );
    assert!(!page.contains("built-in") && !page.contains("sk-secret"));
    let requests = server.requests();
    assert!(
        requests[0]
            .headers
            .contains(&("authorization".into(), "Bearer sk-secret".into()))
    );
    assert_eq!(
        requests[0].body["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    // A header that is not "Name: value" is a usage error that does not repeat it.
    let output = std::process::Command::new(BIN)
        .args([
            "run",
            "--agent-openai",
            &server.base,
            "--agent-header",
            "sk-secret",
        ])
        .arg(&case)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--agent-header number 1"), "{stderr}");
    assert!(!stderr.contains("sk-secret"), "{stderr}");
}

#[test]
fn the_example_openai_agent_passes_the_sample_suite() {
    let root = env!("CARGO_MANIFEST_DIR");
    let agent = std::path::Path::new(root).join("examples/agents/openai_agent.py");
    let server = common::PythonServer::run(&agent, &[std::path::Path::new("0")], "/v1");
    // Chat completions have no silence: the agent is never asked after one, so the two
    // cases that judge what it says after a silence are for the other protocols.
    let cases = common::sample_cases(&["voice/reprompt_after_silence", "voice/never_reprompts"]);
    let out = std::process::Command::new(BIN)
        .args(["run", "--agent-openai", &server.url])
        .args(&cases)
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A sweep too: rules-following callers over several seeds, each call its own agent.
    let out = std::process::Command::new(BIN)
        .args(["sweep", "cases/rules", "--seeds", "3"])
        .args(["--agent-openai", &server.url, "--json", "-"])
        .current_dir(root)
        .output()
        .unwrap();
    drop(server);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        report["run"]["agent"]
            .as_str()
            .unwrap()
            .starts_with("openai: http://")
    );
    let passes: Vec<u64> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sweep"]["passes"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(passes, [3, 3], "{stdout}");
}

#[test]
fn reads_are_bounded() {
    // One event line over 512 KiB, never ended: the step fails, nothing past it is read.
    let server = FakeServer::start(|_, out| {
        let _ = write!(
            out,
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\ndata: "
        );
        let _ = out.write_all(&vec![b'x'; 600 * 1024]);
    });
    let case = common::case(common::script(&[("Hi", &["help"])]));
    let outcome = run_case(&case, &mut OpenAiAgent::new(&server.base), &options());
    assert_eq!(
        outcome.steps[0].details.as_deref(),
        Some(
            format!(
                "the OpenAI-compatible server at {}/chat/completions: its stream has a line over \
                 524288 bytes; nothing more was read",
                server.base
            )
            .as_str()
        )
    );
}
