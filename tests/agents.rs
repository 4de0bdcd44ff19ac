//! In-process agents that misbehave fail only their step, with a clear message; the call
//! ends there and nothing panics. The per-turn timeout runs on the virtual clock.

mod common;

use std::time::Duration;

use voice_harness::{Agent, AgentError, CallStart, CallerLine, Reply, RunOptions, run_case};

const SCRIPT: &[(&str, &[&str])] = &[("One", &["ok"]), ("Two", &["ok"]), ("Three", &["ok"])];

/// Answers step 1 well, then misbehaves as `on_step_2` says.
struct Misbehaving(fn() -> Result<Reply, AgentError>);

impl Agent for Misbehaving {
    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        if line.step_order == 1 {
            return Ok(Reply::Say("ok".into()));
        }
        (self.0)()
    }
}

struct Hangs;

impl Agent for Hangs {
    async fn reply(&mut self, _: &CallerLine<'_>) -> Result<Reply, AgentError> {
        std::future::pending().await
    }
}

struct FailsToStart;

impl Agent for FailsToStart {
    async fn start(&mut self, _: &CallStart<'_>) -> Result<(), AgentError> {
        Err("no licence".into())
    }
    async fn reply(&mut self, _: &CallerLine<'_>) -> Result<Reply, AgentError> {
        unreachable!("a call that failed to start gets no lines")
    }
}

fn details<A: Agent>(mut agent: A, options: &RunOptions) -> Vec<Option<String>> {
    let case = common::case(common::script(SCRIPT));
    run_case(&case, &mut agent, options)
        .steps
        .into_iter()
        .map(|s| s.details)
        .collect()
}

fn expected(step2: &str) -> Vec<Option<String>> {
    vec![None, Some(step2.to_owned()), Some("not reached".to_owned())]
}

#[test]
fn an_agent_error_fails_its_step_with_the_message() {
    let got = details(
        Misbehaving(|| Err("model overloaded".into())),
        &RunOptions::default(),
    );
    assert_eq!(got, expected("agent error: model overloaded"));
}

#[test]
fn a_panicking_agent_fails_its_step() {
    let got = details(
        Misbehaving(|| panic!("index out of bounds")),
        &RunOptions::default(),
    );
    assert_eq!(got, expected("agent panicked: index out of bounds"));
}

#[test]
fn a_hanging_agent_times_out_on_the_virtual_clock() {
    let started = std::time::Instant::now();
    let got = details(Hangs, &RunOptions::default());
    let message = got[0].as_deref().unwrap();
    assert!(
        message.starts_with("no reply within 10 s (the per-turn timeout); the virtual clock"),
        "{message}"
    );
    assert!(
        message.contains("fn wall_clock(&self) -> bool { true }"),
        "{message}"
    );
    // Not a timing target: the 10 s timeout is virtual, so it must not be waited out.
    assert!(started.elapsed() < Duration::from_secs(5));
    let got = details(
        Hangs,
        &RunOptions::default().with_turn_timeout(Duration::from_millis(250)),
    );
    assert_eq!(
        got[0].as_deref().unwrap().split(';').next(),
        Some("no reply within 250 ms (the per-turn timeout)")
    );
}

#[test]
fn hanging_up_without_a_reply_means_the_agent_never_responded() {
    let got = details(Misbehaving(|| Ok(Reply::HangUp)), &RunOptions::default());
    assert_eq!(got, expected("agent never responded"));
}

#[test]
fn hanging_up_after_a_reply_leaves_later_lines_unsaid() {
    let got = details(
        Misbehaving(|| Ok(Reply::SayAndHangUp("ok, bye".into()))),
        &RunOptions::default(),
    );
    assert_eq!(got, vec![None, None, Some("missing user input".to_owned())]);
}

#[test]
fn a_failed_start_fails_the_first_step() {
    let got = details(FailsToStart, &RunOptions::default());
    assert_eq!(
        got,
        vec![
            Some("agent error: no licence (at call start)".to_owned()),
            Some("not reached".to_owned()),
            Some("not reached".to_owned())
        ]
    );
}

#[test]
fn a_megabyte_reply_fails_its_step() {
    let got = details(
        Misbehaving(|| Ok(Reply::Say("ok ".repeat(350_000)))),
        &RunOptions::default(),
    );
    assert_eq!(
        got,
        expected("the agent's reply is 1050000 bytes; replies may be at most 65536 bytes")
    );
}

// ---- the clock (issue #10) -----------------------------------------------------------------

#[test]
fn a_replayed_reply_slower_than_the_timeout_takes_its_latency() {
    // Before: a replayed 15 s reply ended the call with "no reply within 10 s".
    let mut value = common::script(&[("Hi", &["hello"]), ("Bye", &["bye"])]);
    value["agent"] = serde_json::json!({"replay": [{"text": "hello", "latency_ms": 15000}, "bye"]});
    let case = common::case(value);
    let outcome = run_case(
        &case,
        &mut voice_harness::BuiltinAgent::for_case(&case),
        &RunOptions::default(),
    );
    assert_eq!(outcome.status, voice_harness::Status::Pass);
    assert_eq!(outcome.steps[0].latency_ms, Some(15000));
}

/// A Rust agent that delegates to the built-in one.
struct Wrapper(voice_harness::BuiltinAgent);

impl Agent for Wrapper {
    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        self.0.reply(line).await
    }
}

#[test]
fn a_wrapped_replay_agent_gets_the_verdict_of_the_agent_it_wraps() {
    // Wrapping an agent changes no verdict (#24): the built-in agent's waits are counted
    // whoever polls it, so a replayed latency is data through a wrapper too, never cut by
    // the turn timeout. (Before, a wrapper made a replayed 15 s reply "no reply within 10 s".)
    for latency in [300, 15000] {
        let mut value = common::script(&[("Hi", &["hello"])]);
        value["agent"] = serde_json::json!({"replay": [{"text": "hello", "latency_ms": latency}]});
        let case = common::case(value);
        let alone = run_case(
            &case,
            &mut voice_harness::BuiltinAgent::for_case(&case),
            &RunOptions::default(),
        );
        let mut agent = Wrapper(voice_harness::BuiltinAgent::for_case(&case));
        let wrapped = run_case(&case, &mut agent, &RunOptions::default());
        assert_eq!(
            wrapped.steps[0].latency_ms,
            Some(latency),
            "{:?}",
            wrapped.steps[0]
        );
        assert_eq!(wrapped.status, alone.status);
        assert_eq!(wrapped.steps, alone.steps);
    }
}

/// Waits for a thread (not a tokio timer) before answering.
struct WaitsOnAThread {
    real_time: bool,
}

impl Agent for WaitsOnAThread {
    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        let text = if line.step_order == 1 { "hello" } else { "bye" };
        // A thread that wakes this task when done: what a blocking client or a channel
        // from another thread amounts to.
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut started = false;
        std::future::poll_fn(|cx| {
            if done.load(std::sync::atomic::Ordering::SeqCst) {
                return std::task::Poll::Ready(());
            }
            if !started {
                started = true;
                let (done, waker) = (std::sync::Arc::clone(&done), cx.waker().clone());
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(30));
                    done.store(true, std::sync::atomic::Ordering::SeqCst);
                    waker.wake();
                });
            }
            std::task::Poll::Pending
        })
        .await;
        Ok(Reply::Say(text.to_owned()))
    }

    fn wall_clock(&self) -> bool {
        self.real_time
    }
}

#[test]
fn an_agent_that_waits_on_a_thread_is_told_to_use_real_time() {
    // Before: a false "no reply within 10 s" after microseconds, with no hint why.
    let case = common::two_steps();
    let outcome = run_case(
        &case,
        &mut WaitsOnAThread { real_time: false },
        &RunOptions::default(),
    );
    let details = outcome.steps[0].details.as_deref().unwrap();
    assert!(details.starts_with("no reply within 10 s"), "{details}");
    assert!(
        details.contains("`fn wall_clock(&self) -> bool { true }`"),
        "{details}"
    );
    // The fix it names works.
    let outcome = run_case(
        &case,
        &mut WaitsOnAThread { real_time: true },
        &RunOptions::default(),
    );
    assert_eq!(outcome.status, voice_harness::Status::Pass);
}

/// Talks to a loopback socket (tokio networking) before answering.
struct Networked {
    real_time: bool,
}

impl Agent for Networked {
    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let text = if line.step_order == 1 { "hello" } else { "bye" };
        server.write_all(text.as_bytes()).await.unwrap();
        drop(server);
        let mut got = String::new();
        client.read_to_string(&mut got).await.unwrap();
        Ok(Reply::Say(got))
    }

    fn wall_clock(&self) -> bool {
        self.real_time
    }
}

#[test]
fn an_agent_using_tokio_networking_is_told_to_use_real_time() {
    // Before: a bare "IO is disabled" panic, with no word of the fix.
    let case = common::two_steps();
    let outcome = run_case(
        &case,
        &mut Networked { real_time: false },
        &RunOptions::default(),
    );
    let details = outcome.steps[0].details.as_deref().unwrap();
    assert!(details.starts_with("agent panicked: "), "{details}");
    assert!(
        details.contains("`fn wall_clock(&self) -> bool { true }`"),
        "{details}"
    );
    let outcome = run_case(
        &case,
        &mut Networked { real_time: true },
        &RunOptions::default(),
    );
    assert_eq!(outcome.status, voice_harness::Status::Pass);
}

#[test]
fn a_call_that_never_started_is_never_as_expected() {
    // A negative test expecting step 1 to fail must not pass because the agent is down.
    let mut value = common::script(SCRIPT);
    value["expect"] = serde_json::json!({"status": "fail", "failure_steps": [1, 2, 3]});
    let case = common::case(value);
    let out = run_case(&case, &mut FailsToStart, &RunOptions::default());
    assert_eq!(out.metrics.failure_steps, [1, 2, 3]);
    assert_eq!(
        out.error.as_deref(),
        Some("the call never started: agent error: no licence")
    );
    assert!(!out.as_expected);
}

/// Sleeps on a tokio timer past the turn timeout: a slow agent, not a blocked one.
struct SleepsPastTheTimeout;

impl Agent for SleepsPastTheTimeout {
    async fn reply(&mut self, _: &CallerLine<'_>) -> Result<Reply, AgentError> {
        tokio::time::sleep(Duration::from_secs(20)).await;
        Ok(Reply::Say("ok".into()))
    }
}

#[test]
fn a_timeout_on_the_virtual_clock_says_only_what_is_known() {
    // Before: "the agent was not waiting on a tokio timer" (it was), with a real-time figure
    // that changed the snapshot on every run.
    let first = details(SleepsPastTheTimeout, &RunOptions::default());
    let message = first[0].as_deref().unwrap();
    assert!(
        !message.contains("not waiting on a tokio timer"),
        "{message}"
    );
    assert!(!message.contains("of real time"), "{message}");
    assert!(message.contains("on a tokio timer"), "{message}");
    assert!(
        message.contains("fn wall_clock(&self) -> bool { true }"),
        "{message}"
    );
    // The same words, run after run, whichever way the agent waited.
    assert_eq!(first, details(SleepsPastTheTimeout, &RunOptions::default()));
    assert_eq!(first, details(Hangs, &RunOptions::default()));
}

/// Tries one tool call more than the cap allows, ignores the refusal, then answers well.
struct OneCallTooMany;

impl Agent for OneCallTooMany {
    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        for _ in 0..=voice_harness::agent::MAX_TOOL_CALLS_PER_TURN {
            let _ = line.tools.call("spin", serde_json::json!({})).await;
        }
        Ok(Reply::Say("ok".into()))
    }
}

#[test]
fn the_tool_cap_stops_the_turn_for_scripted_and_rule_following_callers_alike() {
    // Before: a scripted case without tools kept the reply and dropped the cap (a pass),
    // while a rule-following call ended there: two call loops, two verdicts.
    let cap = format!(
        "the agent made more than {} tool calls in step 1 (the per-turn cap); it was stopped there",
        voice_harness::agent::MAX_TOOL_CALLS_PER_TURN
    );
    let got = details(OneCallTooMany, &RunOptions::default());
    assert_eq!(
        got,
        vec![
            Some(cap.clone()),
            Some("not reached".to_owned()),
            Some("not reached".to_owned())
        ]
    );
    let rules = common::case(serde_json::json!({
        "test_id": "t", "persona": "P",
        "caller": {"opening": "Hi", "rules": [{"when": ["ok"], "say": "Bye", "then": "hang_up"}]},
        "outcome": {"ended_by": "caller"}
    }));
    let out = run_case(&rules, &mut OneCallTooMany, &RunOptions::default());
    assert_eq!(
        out.steps[0].details,
        Some(format!("the agent failed at caller line 1: {cap}"))
    );
}
