//! Voice events on the virtual clock (docs/case-format.md, "Voice events"): silence, keypad
//! tones, and a caller who cuts the agent off; what every kind of agent is told.

mod common;

use rstest::rstest;
use serde_json::json;
use voice_harness::agent::CallerEvent;
use voice_harness::{
    Agent, AgentError, CallerLine, CommandAgent, Outcome, Reply, RunOptions, Status, run_case,
};

/// A replayed 10-word reply cut off `ms` after it began, at `wpm`.
fn cut_at(ms: u64, wpm: u64) -> Outcome {
    common::run_builtin(json!({
        "test_id": "t", "persona": "P", "speech_wpm": wpm,
        "agent": {"replay": ["one two three four five six seven eight nine ten", "ok"]},
        "turns": [
            {"step_order": 1, "user_input": "Hi", "expected_agent_response_keywords": ["one"]},
            {"step_order": 2, "user_input": "Stop", "barge_in_after_ms": ms}
        ]
    }))
}

#[rstest]
// 150 wpm is 400 ms a word: ⌊ms × 150 / 60,000⌋ words are heard.
#[case::at_once(0, 150, Some(""))]
#[case::just_before_one_word(399, 150, Some(""))]
#[case::exactly_one_word(400, 150, Some("one"))]
#[case::two_words(800, 150, Some("one two"))]
#[case::all_but_one(3600, 150, Some("one two three four five six seven eight nine"))]
#[case::exactly_the_whole_reply(4000, 150, None)]
#[case::past_the_end(60_000, 150, None)]
#[case::fast_speaker(400, 300, Some("one two"))]
#[case::huge_barge_in(u64::MAX, 1000, None)]
fn the_words_heard_before_a_barge_in(
    #[case] ms: u64,
    #[case] wpm: u64,
    #[case] heard: Option<&str>,
) {
    let out = cut_at(ms, wpm);
    assert_eq!(out.steps[0].heard.as_deref(), heard);
    let interrupted = out.transcript[1].cut.is_some();
    assert_eq!(interrupted, heard.is_some());
    assert_eq!(
        out.metrics.voice.as_ref().unwrap().interruptions,
        u32::from(interrupted)
    );
    // The cut reply's keywords are checked against what was heard.
    let one_heard = heard.is_none_or(|h| h.split(' ').any(|w| w == "one"));
    assert_eq!(out.steps[0].passed, one_heard, "{:?}", out.steps[0].details);
}

#[test]
fn a_silent_step_passes_quiet_or_with_its_reprompt() {
    let out = common::run_builtin(json!({
        "test_id": "t", "persona": "P",
        "agent": {"replay": ["Hello, how can I help?", "", {"text": "Still there?", "latency_ms": 250}, "Bye"]},
        "turns": [
            {"step_order": 1, "user_input": "Hi"},
            {"step_order": 2, "silence_ms": 3000},
            {"step_order": 3, "silence_ms": 8000, "expected_agent_response_keywords": ["still there"]},
            {"step_order": 4, "user_input": "Sorry, bye"}
        ]
    }));
    assert_eq!(out.status, Status::Pass, "{:?}", out.steps);
    assert_eq!(out.steps[1].agent_response, None);
    let voice = out.metrics.voice.unwrap();
    assert_eq!(voice.latency_ms_after_silence_max, Some(250));
    assert_eq!(voice.interruptions, 0);
}

/// Records what it is told, and answers each kind of event in kind.
#[derive(Default)]
struct Listener {
    told: Vec<String>,
}

impl Agent for Listener {
    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        let what = match line.event {
            CallerEvent::Said(text) => format!("said {text:?}"),
            CallerEvent::Silence { ms } => format!("silent {ms} ms"),
            CallerEvent::Dtmf(digits) => format!("keypad {digits}"),
            _ => "something else".to_owned(),
        };
        let heard = line
            .interrupted
            .map(|h| format!(", heard {h:?}"))
            .unwrap_or_default();
        self.told.push(format!("{what}{heard}"));
        Ok(Reply::Say(match line.event {
            CallerEvent::Silence { .. } => String::new(),
            _ => "alpha beta gamma delta epsilon".to_owned(),
        }))
    }
}

#[test]
fn a_rust_agent_is_told_what_the_caller_did() {
    let case = common::case(json!({
        "test_id": "t", "persona": "P",
        "turns": [
            {"step_order": 1, "user_input": "Hello"},
            {"step_order": 2, "dtmf": "12*#"},
            {"step_order": 3, "silence_ms": 5000},
            {"step_order": 4, "user_input": "Wait", "barge_in_after_ms": 1000}
        ]
    }));
    let mut agent = Listener::default();
    let out = run_case(&case, &mut agent, &RunOptions::default());
    assert_eq!(
        agent.told,
        [
            "said \"Hello\"",
            "keypad 12*#",
            "silent 5000 ms",
            // Step 3's agent stayed quiet: the barge-in cuts step 3's reply, and there is none.
            "said \"Wait\""
        ]
    );
    assert_eq!(out.status, Status::Pass);
    // Now cut a reply that was said.
    let case = common::case(json!({
        "test_id": "t", "persona": "P",
        "turns": [
            {"step_order": 1, "user_input": "Hello"},
            {"step_order": 2, "user_input": "Wait", "barge_in_after_ms": 1000}
        ]
    }));
    let mut agent = Listener::default();
    run_case(&case, &mut agent, &RunOptions::default());
    assert_eq!(agent.told[1], "said \"Wait\", heard \"alpha beta\"");
}

#[test]
fn a_program_gets_the_events_of_the_protocol() {
    // Echoes each event back as its reply text, so the transcript shows what it received.
    let source = "import sys, json\nfor line in sys.stdin:\n    e = json.loads(line)\n    if e['event'] in ('user', 'silence', 'dtmf'):\n        e.pop('call_id')\n        print(json.dumps({'text': json.dumps(e, sort_keys=True) + ' one two three four five'}), flush=True)\n";
    let case = common::case(json!({
        "test_id": "t", "persona": "P",
        "turns": [
            {"step_order": 1, "user_input": "Hi"},
            {"step_order": 2, "silence_ms": 6000},
            {"step_order": 3, "dtmf": "4521#"},
            {"step_order": 4, "user_input": "No", "barge_in_after_ms": 400}
        ]
    }));
    let mut agent = CommandAgent::new(["python3", "-c", source]);
    let out = run_case(&case, &mut agent, &RunOptions::default());
    let replies: Vec<&str> = out
        .transcript
        .iter()
        .filter(|r| r.speaker == voice_harness::case::Speaker::Agent)
        .map(|r| r.text.as_str())
        .collect();
    assert_eq!(
        replies,
        [
            r#"{"event": "user", "step_order": 1, "text": "Hi"} one two three four five"#,
            r#"{"event": "silence", "ms": 6000, "step_order": 2} one two three four five"#,
            r#"{"digits": "4521#", "event": "dtmf", "step_order": 3} one two three four five"#,
            r#"{"event": "user", "interrupted": {"heard": "{\"digits\":"}, "step_order": 4, "text": "No"} one two three four five"#,
        ]
    );
}

#[test]
fn a_quiet_agent_does_not_pass_a_step_that_expects_a_mention() {
    // Before: a keypad or silent step the agent answered with nothing skipped its
    // `expected_mentions`, so "no tool called, nothing said" passed.
    let case = |reply: serde_json::Value| {
        json!({
            "test_id": "t", "persona": "P",
            "tools": {"lookup_balance": [{"result": {"balance": "42"}}]},
            "agent": {"replay": [reply]},
            "turns": [{"step_order": 1, "dtmf": "1234#",
                       "expected_mentions": [{"tool": "lookup_balance", "path": "balance"}]}]
        })
    };
    let quiet = common::run_builtin(case(json!("")));
    assert!(!quiet.steps[0].passed, "{:?}", quiet.steps[0]);
    assert_eq!(
        quiet.steps[0].details.as_deref(),
        Some(
            "missing mention: lookup_balance result balance: lookup_balance was not called in this step"
        )
    );
    // Called, then said nothing: the value was not said.
    let called = common::run_builtin(case(
        json!({"text": "", "tool_calls": [{"name": "lookup_balance", "arguments": {}}]}),
    ));
    assert!(!called.steps[0].passed, "{:?}", called.steps[0]);
    assert!(
        called.steps[0].details.as_deref().unwrap().contains("42"),
        "{:?}",
        called.steps[0].details
    );
    // Saying the value passes, as for a spoken step.
    let said = common::run_builtin(case(
        json!({"text": "Your balance is 42.", "tool_calls": [{"name": "lookup_balance", "arguments": {}}]}),
    ));
    assert!(said.steps[0].passed, "{:?}", said.steps[0]);
}
