//! Agents that speak Retell's custom-LLM WebSocket (issue 27): a fake server on loopback
//! greets, streams in small fragments, reports its tools, sends stale and unasked-for
//! messages, and misbehaves; each fault fails only its step and says what came back.

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};
use voice_harness::tokens;
use voice_harness::{RetellAgent, RunOptions, run_case};
// The WebSocket crate the harness uses, here in its blocking form for a simple server.
use tokio_tungstenite::tungstenite::{Message, WebSocket, accept_hdr};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_voice-harness");

/// What the server saw: each call's path, and every message the harness sent.
#[derive(Debug, Default, Clone)]
struct Log {
    paths: Vec<String>,
    messages: Vec<Value>,
}

/// A Retell-style LLM WebSocket server on 127.0.0.1 (an ephemeral port), a thread per call;
/// stopped and joined when dropped, so it ends with the test.
struct FakeRetell {
    url: String,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Log>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeRetell {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/llm-websocket", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Log::default()));
        let thread = {
            let (stop, log) = (stop.clone(), log.clone());
            std::thread::spawn(move || {
                let mut calls = Vec::new();
                for stream in listener.incoming().take(5000) {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { break };
                    let log = log.clone();
                    calls.push(std::thread::spawn(move || call(stream, &log)));
                }
                for call in calls {
                    let _ = call.join();
                }
            })
        };
        Self {
            url,
            stop,
            log,
            thread: Some(thread),
        }
    }

    fn log(&self) -> Log {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for FakeRetell {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let addr = self
            .url
            .trim_start_matches("ws://")
            .trim_end_matches("/llm-websocket");
        let _ = TcpStream::connect(addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn send(ws: &mut WebSocket<TcpStream>, value: Value) {
    let _ = ws.send(Message::text(value.to_string()));
}

/// `text` streamed as `response`s of `id`, two words each, the last one complete.
fn respond(ws: &mut WebSocket<TcpStream>, id: u64, text: &str, end_call: bool) {
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    for pair in words.chunks(2) {
        send(
            ws,
            json!({"response_type": "response", "response_id": id, "content": pair.concat(), "content_complete": false}),
        );
    }
    let mut last = json!({"response_type": "response", "response_id": id, "content": "", "content_complete": true});
    if end_call {
        last["end_call"] = json!(true);
    }
    send(ws, last);
}

/// One call, as a Retell custom-LLM server plays it.
// The handshake callback's error type is tungstenite's (an HTTP response), not ours.
#[allow(clippy::result_large_err)]
fn call(stream: TcpStream, log: &Mutex<Log>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // Many small messages a turn: without this, Nagle's algorithm holds them for the
    // harness's delayed ACK (40 ms a turn on Linux).
    let _ = stream.set_nodelay(true);
    let mut path = String::new();
    let Ok(mut ws) = accept_hdr(
        stream,
        |request: &tokio_tungstenite::tungstenite::handshake::server::Request, response| {
            path = request.uri().path().to_owned();
            Ok(response)
        },
    ) else {
        return;
    };
    log.lock().unwrap().paths.push(path.clone());
    if path.ends_with("/mute") {
        // Never sends its begin message.
        let _ = ws.read();
        return;
    }
    if path.ends_with("/bench") {
        // The benchmark's server: one message per answer, at once.
        send(
            &mut ws,
            json!({"response_type": "response", "response_id": 0, "content": "", "content_complete": true}),
        );
        while let Ok(Message::Text(text)) = ws.read() {
            let event: Value = serde_json::from_str(text.as_str()).unwrap();
            let id = event["response_id"].as_u64().unwrap_or(0);
            send(
                &mut ws,
                json!({"response_type": "response", "response_id": id, "content": "hello", "content_complete": true}),
            );
        }
        return;
    }
    send(
        &mut ws,
        json!({"response_type": "config", "config": {"auto_reconnect": true, "call_details": false}}),
    );
    send(
        &mut ws,
        json!({"response_type": "ping_pong", "timestamp": 1}),
    );
    respond(&mut ws, 0, "Thanks for calling Luigi's.", false);
    while let Ok(message) = ws.read() {
        let Message::Text(text) = message else {
            continue;
        };
        let event: Value = serde_json::from_str(text.as_str()).unwrap();
        log.lock().unwrap().messages.push(event.clone());
        let id = event["response_id"].as_u64().unwrap_or(0);
        match event["interaction_type"].as_str() {
            Some("reminder_required") => respond(&mut ws, id, "Are you still there?", false),
            Some("response_required") => {
                let user = event["transcript"]
                    .as_array()
                    .unwrap()
                    .last()
                    .map(|m| m["content"].as_str().unwrap().to_owned())
                    .unwrap();
                match user.as_str() {
                    "fault: close" => {
                        send(
                            &mut ws,
                            json!({"response_type": "response", "response_id": id, "content": "Let me", "content_complete": false}),
                        );
                        let _ = ws.close(None);
                        let _ = ws.flush();
                    }
                    "fault: never" => send(
                        &mut ws,
                        json!({"response_type": "response", "response_id": id, "content": "Let me check", "content_complete": false}),
                    ),
                    "fault: not json" => {
                        let _ = ws.send(Message::text("oops, not json"));
                    }
                    "fault: string id" => send(
                        &mut ws,
                        json!({"response_type": "response", "response_id": id.to_string(), "content": "Hi", "content_complete": true}),
                    ),
                    "Book a table at 7 pm" => {
                        send(
                            &mut ws,
                            json!({"response_type": "tool_call_invocation", "tool_call_id": "t1", "name": "book_table", "arguments": "{\"time\": \"7 pm\"}"}),
                        );
                        send(
                            &mut ws,
                            json!({"response_type": "tool_call_result", "tool_call_id": "t1", "content": "{\"ref\": \"B7\"}"}),
                        );
                        respond(&mut ws, id, "Booked, your reference is B7.", false);
                    }
                    "Bye" => respond(&mut ws, id, "Goodbye!", true),
                    "slow" => {
                        send(
                            &mut ws,
                            json!({"response_type": "response", "response_id": id, "content": "Hello,", "content_complete": false}),
                        );
                        std::thread::sleep(Duration::from_millis(400));
                        respond(&mut ws, id, " how can I help?", false);
                    }
                    _ => {
                        // What an older response_id still streaming looks like: stale.
                        respond(&mut ws, id.saturating_sub(1), "stale words", false);
                        respond(
                            &mut ws,
                            id,
                            "Hello, how can I help you today with your order?",
                            false,
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

fn options() -> RunOptions {
    RunOptions::default().with_turn_timeout(Duration::from_secs(5))
}

fn agent(server: &FakeRetell) -> RetellAgent {
    RetellAgent::new(&server.url).with_timeout(Duration::from_secs(1))
}

/// The greeting, wherever this build keeps it: a row of step 0 when the harness records
/// greetings, else still with the agent.
fn greeting(agent: &mut RetellAgent, outcome: &voice_harness::Outcome) -> Option<String> {
    agent.take_greeting().or_else(|| {
        outcome
            .transcript
            .iter()
            .find(|r| r.step_order == 0)
            .map(|r| r.text.clone())
    })
}

#[test]
fn a_call_with_a_greeting_tools_stale_ids_and_a_hang_up() {
    let server = FakeRetell::start();
    let mut value = common::script(&[
        ("Hi", &["help"]),
        ("Book a table at 7 pm", &["booked", "B7"]),
        ("Bye", &["goodbye"]),
    ]);
    value["turns"][1]["expected_tool_calls"] =
        json!([{"name": "book_table", "arguments": {"time": "7 pm"}}]);
    let case = common::case(value);
    let mut agent = agent(&server);
    let outcome = run_case(&case, &mut agent, &options());
    let details: Vec<_> = outcome.steps.iter().map(|s| s.details.clone()).collect();
    assert_eq!(details, [None, None, None], "{:?}", outcome.failures());
    // The begin message is the greeting, a row before step 1, not step 1's reply; the stale
    // words are dropped.
    assert_eq!(
        greeting(&mut agent, &outcome).as_deref(),
        Some("Thanks for calling Luigi's.")
    );
    let first = &outcome.transcript[0];
    assert_eq!(
        (first.step_order, first.text.as_str()),
        (0, "Thanks for calling Luigi's.")
    );
    assert_eq!(
        outcome.steps[0].agent_response.as_deref(),
        Some("Hello, how can I help you today with your order?")
    );
    let tool: Vec<_> = outcome
        .transcript
        .iter()
        .filter_map(|r| r.call.as_ref())
        .map(|c| (c.name.as_str(), c.arguments.clone(), c.result.clone()))
        .collect();
    assert_eq!(
        tool,
        [("book_table", json!({"time": "7 pm"}), json!({"ref": "B7"}))]
    );
    let log = server.log();
    assert_eq!(log.paths, ["/llm-websocket/t"]);
    let kinds: Vec<(&str, Option<u64>)> = log
        .messages
        .iter()
        .map(|m| {
            (
                m["interaction_type"].as_str().unwrap(),
                m["response_id"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("ping_pong", None),
            ("response_required", Some(1)),
            ("response_required", Some(2)),
            ("response_required", Some(3)),
        ]
    );
    assert_eq!(log.messages[0]["timestamp"], 1);
    assert_eq!(
        log.messages[2]["transcript"],
        json!([
            {"role": "agent", "content": "Thanks for calling Luigi's."},
            {"role": "user", "content": "Hi"},
            {"role": "agent", "content": "Hello, how can I help you today with your order?"},
            {"role": "user", "content": "Book a table at 7 pm"},
        ])
    );
}

#[test]
fn a_barge_in_is_an_update_and_a_silence_a_reminder() {
    let server = FakeRetell::start();
    let case = common::case(json!({
        "test_id": "voice", "persona": "Tester",
        "turns": [
            {"step_order": 1, "user_input": "Hi", "expected_agent_response_keywords": ["hello"]},
            {"step_order": 2, "user_input": "Sorry, about my order", "barge_in_after_ms": 800,
             "expected_agent_response_keywords": ["help"]},
            {"step_order": 3, "silence_ms": 6000, "expected_agent_response_keywords": ["still there"]}
        ]
    }));
    let mut agent = agent(&server);
    let outcome = run_case(&case, &mut agent, &options());
    let details: Vec<_> = outcome.steps.iter().map(|s| s.details.clone()).collect();
    assert_eq!(details, [None, None, None], "{:?}", outcome.failures());
    let log = server.log();
    let kinds: Vec<&str> = log
        .messages
        .iter()
        .map(|m| m["interaction_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "ping_pong",
            "response_required",
            "update_only",
            "response_required",
            "reminder_required"
        ]
    );
    let update = &log.messages[2];
    assert_eq!(update["turntaking"], "user_turn");
    // The agent's line is cut to the words the caller heard (800 ms at 150 wpm: two).
    assert_eq!(
        update["transcript"].as_array().unwrap().last().unwrap(),
        &json!({"role": "agent", "content": "Hello, how"})
    );
    assert_eq!(log.messages[4]["response_id"], 3);
    assert_eq!(
        tokens(outcome.steps[2].agent_response.as_deref().unwrap()),
        ["are", "you", "still", "there"]
    );
}

/// Runs Hi → `fault` and returns step 2's details; step 1 must pass.
fn fault(server: &FakeRetell, fault: &str) -> String {
    let case = common::case(common::script(&[("Hi", &["help"]), (fault, &["anything"])]));
    let outcome = run_case(&case, &mut agent(server), &options());
    assert_eq!(outcome.steps[0].details, None, "{:?}", outcome.failures());
    outcome.steps[1].details.clone().unwrap()
}

#[test]
fn each_fault_fails_only_its_step_and_says_what_came_back() {
    let server = FakeRetell::start();
    let at = format!("{}/t", server.url);
    assert_eq!(
        fault(&server, "fault: close"),
        format!(
            "the Retell server at {at}: it closed the WebSocket before completing \
             response_id 2; content so far: \"Let me\""
        )
    );
    assert_eq!(
        fault(&server, "fault: never"),
        format!(
            "the Retell server at {at}: response_id 2 was not completed (no \
             `content_complete: true`) within 1 s; content so far: \"Let me check\""
        )
    );
    assert_eq!(
        fault(&server, "fault: not json"),
        format!(
            "the Retell server at {at}: it sent a message that is not JSON (expected value at \
             line 1 column 1): \"oops, not json\""
        )
    );
    // A response_id as a string is named as such, not as missing.
    let said = fault(&server, "fault: string id");
    assert!(
        said.starts_with(&format!(
            "the Retell server at {at}: it sent a `response` whose response_id is \"2\", not \
             a whole number (it must be the number of the `response_required` it answers): "
        )),
        "{said}"
    );
    // The next case is unaffected.
    let case = common::case(common::script(&[("Hi", &["help"])]));
    let outcome = run_case(&case, &mut agent(&server), &options());
    assert_eq!(outcome.steps[0].details, None);
}

#[test]
fn no_begin_message_and_no_server_fail_the_call_start() {
    let server = FakeRetell::start();
    let mut value = common::script(&[("Hi", &["help"])]);
    value["test_id"] = json!("mute");
    let outcome = run_case(&common::case(value), &mut agent(&server), &options());
    let details = outcome.steps[0].details.clone().unwrap();
    assert_eq!(
        details,
        format!(
            "the Retell server at {}/mute: response_id 0 was not completed (no \
             `content_complete: true`) within 1 s; content so far: \"\" (a Retell server \
             sends its begin message, a `response` with response_id 0, as the call opens: \
             empty when the caller speaks first) (at call start)",
            server.url
        )
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nobody = RetellAgent::new(format!("ws://127.0.0.1:{port}/ws"));
    let case = common::case(common::script(&[("Hi", &["help"])]));
    let outcome = run_case(&case, &mut { nobody }, &options());
    assert_eq!(
        outcome.steps[0].details.as_deref(),
        Some(
            format!(
                "cannot reach the Retell server at ws://127.0.0.1:{port}/ws/t: connection \
                 refused (at call start)"
            )
            .as_str()
        )
    );
}

#[test]
fn the_runner_names_the_agent_in_the_report() {
    let server = FakeRetell::start();
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("hi.json");
    std::fs::write(&case, common::script(&[("Hi", &["help"])]).to_string()).unwrap();
    let output = std::process::Command::new(BIN)
        .args(["run", "--json", "-", "--agent-retell", &server.url])
        .arg(&case)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        report["run"]["agent"],
        json!(format!("retell: {}", server.url))
    );
    assert_eq!(report["cases"][0]["status"], "pass");
    // A URL that is not ws:// is a usage error, said before any call.
    let output = std::process::Command::new(BIN)
        .args(["run", "--agent-retell", "wss://example.invalid/ws"])
        .arg(&case)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("expected a WebSocket URL starting with ws://")
    );
}

#[test]
fn the_example_retell_agent_passes_the_sample_suite() {
    let root = env!("CARGO_MANIFEST_DIR");
    let agent = std::path::Path::new(root).join("examples/agents/retell_agent.py");
    let server = common::PythonServer::run(&agent, &[std::path::Path::new("0")], "/llm-websocket");
    let url = server.url.replacen("http://", "ws://", 1);
    // A Retell server runs its tools itself (and reports them): the example has none, so
    // the cases that need the harness's mocks are for the other protocols.
    let cases = common::sample_cases(&["cases/tools/", "rules/booking_in_any_order"]);
    let out = std::process::Command::new(BIN)
        .args(["run", "--agent-retell", &url])
        .args(&cases)
        .current_dir(root)
        .output()
        .unwrap();
    drop(server);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_message_over_the_limit_fails_its_step() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = tokio_tungstenite::tungstenite::accept(stream).unwrap();
        let big = "x".repeat(600 * 1024);
        send(
            &mut ws,
            json!({"response_type": "response", "response_id": 0, "content": big, "content_complete": true}),
        );
        // Until the harness hangs up.
        while ws.read().is_ok() {}
    });
    let case = common::case(common::script(&[("Hi", &["help"])]));
    let outcome = run_case(
        &case,
        &mut RetellAgent::new(&url).with_timeout(Duration::from_secs(2)),
        &options(),
    );
    let details = outcome.steps[0].details.clone().unwrap();
    assert!(
        details.starts_with(&format!(
            "the Retell server at {url}/t: the WebSocket failed (Space limit exceeded: Message too long"
        )),
        "{details}"
    );
    server.join().unwrap();
}

// ---- overhead per turn (BENCHMARKS.md) -----------------------------------------------------

/// A keep-alive HTTP/1.1 server on loopback answering every request with `answer(body)`
/// (content type, body) at once; a thread per connection. Ends when the test process does
/// (it is only used by the ignored benchmark below).
fn keep_alive_server(answer: fn(&str) -> (&'static str, String)) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(1000) {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line.trim().is_empty() {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let (content_type, reply) = answer(&String::from_utf8_lossy(&body));
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n{reply}",
                        reply.len()
                    );
                    if writer.write_all(response.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// Microseconds per turn of `turns` turns, over `calls` calls, one after the other.
fn per_turn<A: voice_harness::Agent>(
    calls: usize,
    turns: usize,
    mut agent: impl FnMut() -> A,
) -> f64 {
    let script: Vec<(String, Vec<&str>)> = (0..turns)
        .map(|i| (format!("Line {i}"), vec!["hello"]))
        .collect();
    let script: Vec<(&str, &[&str])> = script
        .iter()
        .map(|(l, k)| (l.as_str(), k.as_slice()))
        .collect();
    let mut case = common::script(&script);
    case["test_id"] = json!("bench");
    let case = common::case(case);
    let options = RunOptions::default().with_turn_timeout(Duration::from_secs(10));
    let started = std::time::Instant::now();
    for _ in 0..calls {
        let outcome = run_case(&case, &mut agent(), &options);
        assert_eq!(
            outcome.metrics.steps_passed as usize,
            turns,
            "{:?}",
            outcome.failures()
        );
    }
    started.elapsed().as_secs_f64() * 1e6 / (calls * turns) as f64
}

/// The harness's own cost per turn for each transport, against servers that answer at once
/// on loopback: `cargo test --release --test retell -- --ignored overhead --nocapture`.
#[test]
#[ignore = "a benchmark: run it by name, in release"]
fn overhead_per_turn() {
    let http = keep_alive_server(|_| ("application/json", r#"{"text": "hello"}"#.into()));
    let openai = keep_alive_server(|_| {
        let chunk = r#"{"choices":[{"index":0,"delta":{"content":"hello"}}]}"#;
        (
            "text/event-stream",
            format!("data: {chunk}\n\ndata: [DONE]\n\n"),
        )
    });
    let openai_10 = keep_alive_server(|_| {
        let chunk = r#"{"choices":[{"index":0,"delta":{"content":"hello "}}]}"#;
        let body = format!("data: {chunk}\n\n").repeat(10);
        ("text/event-stream", format!("{body}data: [DONE]\n\n"))
    });
    let retell = FakeRetell::start();
    for (calls, turns) in [(10, 50), (100, 5)] {
        let mut best = [f64::MAX; 4];
        for round in 0..5 {
            let pool = voice_harness::agent::HttpPool::new();
            let h = per_turn(calls, turns, || {
                voice_harness::HttpAgent::new(&http).with_pool(pool.clone())
            });
            let o = per_turn(calls, turns, || {
                voice_harness::OpenAiAgent::new(&openai).with_pool(pool.clone())
            });
            let o10 = per_turn(calls, turns, || {
                voice_harness::OpenAiAgent::new(&openai_10).with_pool(pool.clone())
            });
            let r = per_turn(calls, turns, || RetellAgent::new(&retell.url));
            println!(
                "round {round}: µs per turn: http {h:.0}, openai {o:.0} ({:.2}×), openai 10 events {o10:.0} ({:.2}×), retell {r:.0} ({:.2}×)",
                o / h,
                o10 / h,
                r / h
            );
            for (best, now) in best.iter_mut().zip([h, o, o10, r]) {
                *best = best.min(now);
            }
        }
        let [h, o, o10, r] = best;
        println!(
            "{calls} calls of {turns} turns, best of 5: µs per turn: http {h:.0}, openai {o:.0} ({:.2}×), openai 10 events {o10:.0} ({:.2}×), retell {r:.0} ({:.2}×)",
            o / h,
            o10 / h,
            r / h
        );
    }
}

#[test]
fn latency_is_the_time_to_the_first_content() {
    let server = FakeRetell::start();
    let case = common::case(common::script(&[("slow", &["help"])]));
    let mut agent = agent(&server);
    let outcome = run_case(&case, &mut agent, &options());
    assert_eq!(outcome.steps[0].details, None, "{:?}", outcome.failures());
    let latency = outcome.steps[0].latency_ms.unwrap();
    let timing = agent.timings()[0];
    assert!(
        latency < 400,
        "latency {latency} ms is the first content's, not the whole reply's"
    );
    assert_eq!(timing.first_token_ms, Some(latency));
    assert!(timing.total_ms >= 400, "{timing:?}");
}
