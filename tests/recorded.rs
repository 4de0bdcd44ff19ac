//! Recorded transcripts that keep a reply the caller cut off (`"interrupted": true` on an
//! agent row) and what the agent heard of a caller line (`"heard"` on a user row): they
//! become the same transcript rows as a simulated barge-in and a misheard line, so the
//! validation, metrics, snapshots and report treat them alike (docs/case-format.md,
//! "Recorded transcripts").

mod common;

use std::sync::Mutex;

use serde_json::json;
use voice_harness::case::Speaker;
use voice_harness::{BuiltinAgent, RunOptions, Status, parse_case};

/// A recorded call: the caller cut the first reply off, and the agent misheard "two" as
/// "you".
fn cut_call() -> serde_json::Value {
    json!({
        "test_id": "recorded_cut", "persona": "Caller",
        "transcript": [
            {"speaker": "agent", "text": "Thanks for calling."},
            {"speaker": "user", "text": "A table for two tonight", "heard": "A table for you tonight"},
            {"speaker": "agent", "text": "Sure, for what time would", "latency_ms": 640, "interrupted": true},
            {"speaker": "user", "text": "Seven pm"},
            {"speaker": "agent", "text": "Booked for seven.", "latency_ms": 900, "interrupted": false}
        ],
        "turns": [
            {"step_order": 1, "user_input": "A table for two tonight", "expected_agent_response_keywords": ["what time"]},
            {"step_order": 2, "user_input": "Seven pm", "expected_agent_response_keywords": ["booked"]}
        ]
    })
}

#[test]
fn a_recorded_cut_and_a_misheard_line_load_and_become_the_rows_a_simulation_makes() {
    let case = common::case(cut_call());
    let rows = case.transcript().unwrap();
    let flags: Vec<(Speaker, bool, Option<&str>)> = rows
        .iter()
        .map(|r| (r.speaker(), r.interrupted(), r.heard()))
        .collect();
    assert_eq!(
        flags,
        [
            (Speaker::Agent, false, None),
            (Speaker::User, false, Some("A table for you tonight")),
            (Speaker::Agent, true, None),
            (Speaker::User, false, None),
            (Speaker::Agent, false, None),
        ]
    );

    let out = common::run(&case);
    assert_eq!((out.status, out.as_expected), (Status::Pass, true));
    // The cut reply: the recording holds what was said before the cut, so that is what the
    // caller heard; when the cut came is not recorded.
    let cut = out.transcript[2].cut.as_ref().expect("the reply is cut");
    assert_eq!(cut.heard, "Sure, for what time would");
    assert_eq!(cut.at_ms, None);
    assert!(out.transcript[4].cut.is_none());
    assert_eq!(
        out.steps[0].heard.as_deref(),
        Some("Sure, for what time would")
    );
    assert_eq!(out.steps[1].heard, None);
    // What the agent heard: on the row, and on the step, as a pinned `heard` gives it.
    assert_eq!(
        out.transcript[1].heard.as_deref(),
        Some("A table for you tonight")
    );
    assert_eq!(
        out.steps[0].agent_heard.as_deref(),
        Some("A table for you tonight")
    );
    // The script is compared with what was said, not with what was heard.
    assert_eq!(out.steps[0].user_match, Some(true));
    assert_eq!(out.metrics.voice.as_ref().unwrap().interruptions, 1);
}

#[test]
fn a_heard_line_equal_to_what_was_said_is_no_mishearing() {
    let mut value = cut_call();
    value["transcript"][1]["heard"] = json!("A table for two tonight");
    let out = common::run(&common::case(value));
    assert_eq!(out.transcript[1].heard, None);
    assert_eq!(out.steps[0].agent_heard, None);
}

#[test]
fn the_keywords_of_a_cut_reply_are_checked_against_what_was_recorded() {
    let mut value = cut_call();
    value["turns"][0]["expected_agent_response_keywords"] = json!(["what time", "party size"]);
    let out = common::run(&common::case(value));
    assert!(!out.steps[0].passed);
    assert_eq!(out.steps[0].missing_keywords, ["party size"]);
}

#[test]
fn a_recorded_case_without_the_fields_has_no_voice_metrics() {
    let mut value = cut_call();
    for row in value["transcript"].as_array_mut().unwrap() {
        let row = row.as_object_mut().unwrap();
        row.remove("interrupted");
        row.remove("heard");
    }
    let out = common::run(&common::case(value));
    assert!(out.metrics.voice.is_none());
    assert!(
        out.transcript
            .iter()
            .all(|r| r.cut.is_none() && r.heard.is_none())
    );
}

static SNAPSHOTS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn record(name: &str, contents: &str) {
    SNAPSHOTS
        .lock()
        .unwrap()
        .push((name.to_owned(), contents.to_owned()));
}

#[test]
fn the_transcript_snapshot_metrics_and_report_rows_show_the_cut_and_the_mishearing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases/recorded_cut.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, serde_json::to_vec_pretty(&cut_call()).unwrap()).unwrap();
    let config = common::harness_config(dir.path());
    let result = voice_harness::__private::check_case_file(
        &config,
        &file,
        BuiltinAgent::for_case,
        RunOptions::default,
        record,
    );
    assert!(result.is_ok(), "{:?}", result.err());
    let mut shown: Vec<String> = SNAPSHOTS
        .lock()
        .unwrap()
        .iter()
        .map(|(name, text)| format!("--- {name}\n{text}"))
        .collect();

    // The JSON report's rows.
    let bytes = std::fs::read(&file).unwrap();
    let case = parse_case("cases/recorded_cut.json", &bytes).unwrap();
    let out = common::run(&case);
    shown.push("--- report rows".to_owned());
    shown.extend(
        out.transcript
            .iter()
            .map(|row| serde_json::to_string(row).unwrap()),
    );
    insta::assert_snapshot!("recorded_cut", shown.join("\n"));
}

#[test]
fn misplaced_or_mistyped_fields_are_errors_with_their_paths() {
    let case = json!({
        "test_id": "t", "persona": "P",
        "transcript": [
            {"speaker": "user", "text": "Hi", "interrupted": true},
            {"speaker": "agent", "text": "Hello", "interrupted": "yes"},
            {"speaker": "agent", "text": "Hello", "heard": "Hell"},
            {"speaker": "user", "text": "Hi", "heard": 5},
            {"speaker": "user", "text": "Hi", "heard": "  "},
            {"speaker": "tool", "name": "lookup", "interrupted": true},
            {"speaker": "tool", "name": "lookup", "heard": "x"}
        ],
        "turns": [{"step_order": 1, "user_input": "Hi"}]
    });
    let bytes = serde_json::to_vec_pretty(&case).unwrap();
    let err = parse_case("bad.json", &bytes).unwrap_err();
    insta::assert_snapshot!("misplaced_fields", err.to_string());
}

#[test]
fn the_documented_example_loads_and_counts_its_cut() {
    let doc = include_str!("../docs/case-format.md");
    let section = &doc[doc.find("### Recorded transcripts").unwrap()..];
    let start = section.find("```json\n").unwrap() + "```json\n".len();
    let end = start + section[start..].find("```").unwrap();
    let text = format!(
        r#"{{"test_id": "doc", "persona": "P", {},
          "turns": [{{"step_order": 1, "user_input": "A table for two tonight"}},
                    {{"step_order": 2, "user_input": "Seven pm"}}]}}"#,
        &section[start..end]
    );
    let case = parse_case("docs/case-format.md", text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let out = common::run(&case);
    assert_eq!(out.status, Status::Pass);
    assert_eq!(out.metrics.voice.unwrap().interruptions, 1);
    assert_eq!(
        out.steps[0].agent_heard.as_deref(),
        Some("A table for you tonight")
    );
}

#[test]
fn a_recorded_heard_is_the_same_call_as_a_simulated_pinned_heard() {
    let turns = json!([
        {"step_order": 1, "user_input": "A table for two tonight", "heard": "A table for you tonight", "expected_agent_response_keywords": ["what time"]},
        {"step_order": 2, "user_input": "Seven pm", "expected_agent_response_keywords": ["booked"]}
    ]);
    let simulated = common::run_builtin(json!({
        "test_id": "t", "persona": "P",
        "agent": {"replay": [
            {"text": "Sure, for what time would", "latency_ms": 640},
            {"text": "Booked for seven.", "latency_ms": 900}
        ]},
        "turns": turns
    }));
    let mut recorded = cut_call();
    recorded["test_id"] = json!("t");
    recorded["persona"] = json!("P");
    let rows = recorded["transcript"].as_array_mut().unwrap();
    rows.remove(0);
    rows[1].as_object_mut().unwrap().remove("interrupted");
    let recorded = common::run(&common::case(recorded));
    assert_eq!(recorded.transcript, simulated.transcript);
    assert_eq!(recorded.steps, simulated.steps);
    assert_eq!(recorded.metrics, simulated.metrics);
}
