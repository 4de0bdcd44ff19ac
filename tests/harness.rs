//! The generated test's behaviour, by calling the harness function directly on temp folders:
//! readable failures, both snapshots checked, duplicate test ids, bad environment values.

mod common;

use std::path::Path;

use voice_harness::__private::{CaseFailure, HarnessConfig, check_case_file};
use voice_harness::{Agent, AgentError, BuiltinAgent, CallerLine, Case, Reply, RunOptions};

const BILLING: &str = r#"{
  "test_id": "billing", "persona": "Calm Customer",
  "turns": [
    {"step_order": 1, "user_input": "Hi, my bill jumped.", "expected_agent_response_keywords": ["account", "review"]},
    {"step_order": 2, "user_input": "Explain the charges?", "expected_agent_response_keywords": ["overage", "usage"]},
    {"step_order": 3, "user_input": "What did you say?", "exact_match_required": true, "expected_agent_response": "I said we will review the overage"}
  ]
}"#;

fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, &'static str) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join("cases").join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let manifest: &'static str =
        Box::leak(dir.path().to_string_lossy().into_owned().into_boxed_str());
    (dir, manifest)
}

fn config(manifest_dir: &'static str) -> HarnessConfig {
    common::harness_config(Path::new(manifest_dir))
}

/// Snapshots that always match, so a message is about the call alone.
fn snapshots_match(_: &str, _: &str) {}

/// The generated test of `cases/<file>` under `root`, with the built-in agent and
/// snapshots that match: what the case file alone decides.
fn check_builtin(root: &'static str, file: &str) -> Result<(), CaseFailure> {
    let path = Path::new(root).join("cases").join(file);
    check_case_file(
        &config(root),
        &path,
        BuiltinAgent::for_case,
        RunOptions::default,
        snapshots_match,
    )
}

/// Snapshots that never match (as insta does: by panicking).
fn snapshots_differ(name: &str, _: &str) {
    panic!("snapshot assertion for '{name}' failed");
}

/// A deployed agent whose replies drifted from what the script expects.
struct DriftedAgent;

impl Agent for DriftedAgent {
    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        Ok(Reply::Say(match line.step_order {
            1 => "Let me review your account.".into(),
            2 => "That is from your usage this month.".into(),
            _ => "I said we will look at the overage".into(),
        }))
    }
}

#[test]
fn a_changed_agent_reply_fails_with_a_readable_message() {
    let (_dir, root) = project(&[("billing/billing.json", BILLING)]);
    let path = Path::new(root).join("cases/billing/billing.json");
    let err = check_case_file(
        &config(root),
        &path,
        |_: &Case| DriftedAgent,
        RunOptions::default,
        snapshots_match,
    )
    .unwrap_err();
    insta::assert_snapshot!("changed_agent_reply", err.to_string());
    // The error's Debug (what test harnesses print) is the same readable text.
    assert_eq!(format!("{err:?}"), err.to_string());
}

#[test]
fn the_ideal_agent_passes_the_same_case() {
    let (_dir, root) = project(&[("billing.json", BILLING)]);
    check_builtin(root, "billing.json").unwrap();
}

#[test]
fn both_snapshots_are_checked_before_failing() {
    let (_dir, root) = project(&[("billing.json", BILLING)]);
    let path = Path::new(root).join("cases/billing.json");
    let err = check_case_file(
        &config(root),
        &path,
        BuiltinAgent::for_case,
        RunOptions::default,
        snapshots_differ,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("snapshot mismatch in snapshots/billing/: transcript.snap is missing, metrics.snap is missing"),
        "{text}"
    );
    assert!(
        text.contains("cargo test --test cases -- --exact case::billing.json"),
        "{text}"
    );
}

#[test]
fn a_bad_file_fails_its_own_test_with_the_loader_message() {
    let (_dir, root) = project(&[(
        "bad.json",
        r#"{"test_id": "x", "persona": "P", "turns": [{"step_order": 1, "user_inptu": "Hi"}]}"#,
    )]);
    let err = check_builtin(root, "bad.json").unwrap_err();
    insta::assert_snapshot!("bad_file", err.to_string());
}

#[test]
fn duplicate_test_ids_fail_every_file_naming_the_others() {
    let one =
        r#"{"test_id": "same", "persona": "P", "turns": [{"step_order": 1, "user_input": "Hi"}]}"#;
    let (_dir, root) = project(&[("a.json", one), ("sub/b.json", one), ("c.json", one)]);
    let messages: Vec<String> = ["a.json", "sub/b.json", "c.json"]
        .iter()
        .map(|f| check_builtin(root, f).unwrap_err().to_string())
        .collect();
    insta::assert_snapshot!("duplicate_test_ids", messages.join("\n\n"));
}

#[test]
fn a_missing_tool_call_reads_well() {
    let case = r#"{
      "test_id": "booking", "persona": "Busy Parent",
      "tools": {"ReserveRestaurant": [{"result": {"confirmation": "K7Q2"}}]},
      "agent": {"replay": [{"text": "You're booked at half past twelve.",
                            "tool_calls": [{"name": "ReserveRestaurant", "arguments": {"time": "12:30", "party_size": 4}}]}]},
      "turns": [{"step_order": 1, "user_input": "Four at eleven thirty, please.",
                 "expected_agent_response_keywords": ["booked"],
                 "expected_tool_calls": [{"name": "ReserveRestaurant", "arguments": {"time": "11:30", "party_size": 4}}],
                 "expected_mentions": [{"tool": "ReserveRestaurant", "path": "confirmation"}]}]
    }"#;
    let (_dir, root) = project(&[("booking.json", case)]);
    let err = check_builtin(root, "booking.json").unwrap_err();
    insta::assert_snapshot!("missing_tool_call", err.to_string());
}

#[test]
fn a_misheard_line_shows_what_was_said_and_what_was_heard() {
    let case = r#"{
      "test_id": "misheard", "persona": "Caller on a Bad Line",
      "agent": {"replay": ["Booked: a table for four at seven."]},
      "turns": [{"step_order": 1, "user_input": "A table for two at seven.",
                 "said": "A table for two at seven.", "heard": "a table four two at seven",
                 "expected_agent_response_keywords": [["for two", "for 2"]]}]
    }"#;
    let (_dir, root) = project(&[("misheard.json", case)]);
    let err = check_builtin(root, "misheard.json").unwrap_err();
    insta::assert_snapshot!("misheard_line", err.to_string());
}

#[test]
fn a_missing_or_empty_cases_folder_is_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let root: &'static str = Box::leak(dir.path().to_string_lossy().into_owned().into_boxed_str());
    let missing = voice_harness::__private::check_root(&config(root)).unwrap_err();
    assert!(
        missing.starts_with("voice_harness::harness!: could not read the cases folder `cases` ("),
        "{missing}"
    );
    assert!(
        missing.contains("`voice_harness::harness!(root = \"path/to/cases\")`"),
        "{missing}"
    );
    std::fs::create_dir(dir.path().join("cases")).unwrap();
    std::fs::write(dir.path().join("cases/notes.txt"), "not a case").unwrap();
    let empty = voice_harness::__private::check_root(&config(root)).unwrap_err();
    assert!(
        empty.starts_with(
            "voice_harness::harness!: no case file (*.json) in the cases folder `cases` ("
        ),
        "{empty}"
    );
    std::fs::write(dir.path().join("cases/a.json"), "{}").unwrap();
    assert_eq!(voice_harness::__private::check_root(&config(root)), Ok(()));
}

/// An agent whose `start` fails.
struct NoLicence;

impl Agent for NoLicence {
    async fn start(&mut self, _: &voice_harness::CallStart<'_>) -> Result<(), AgentError> {
        Err("no licence".into())
    }
    async fn reply(&mut self, _: &CallerLine<'_>) -> Result<Reply, AgentError> {
        unreachable!("a call that failed to start gets no lines")
    }
}

#[test]
fn a_call_that_never_started_fails_its_test_for_every_kind_of_case() {
    let rules = r#"{"test_id": "rules", "persona": "P",
      "caller": {"opening": "Hi", "rules": [{"when": ["bye"], "say": "Bye", "then": "hang_up"}]},
      "outcome": {"mentions": ["bye"]}}"#;
    let negative = r#"{"test_id": "negative", "persona": "P", "expect": {"status": "fail"},
      "turns": [{"step_order": 1, "user_input": "Hi", "expected_agent_response_keywords": ["x"]}]}"#;
    let (_dir, root) = project(&[("rules.json", rules), ("negative.json", negative)]);
    for file in ["rules.json", "negative.json"] {
        let path = Path::new(root).join("cases").join(file);
        let err = check_case_file(
            &config(root),
            &path,
            |_: &Case| NoLicence,
            RunOptions::default,
            snapshots_match,
        )
        .expect_err(file)
        .to_string();
        assert!(
            err.starts_with("the call never started: agent error: no licence"),
            "{file}: {err}"
        );
    }
}

static GREETING_SNAPSHOTS: std::sync::Mutex<Vec<(String, String)>> =
    std::sync::Mutex::new(Vec::new());

fn record_greeting(name: &str, contents: &str) {
    if name == "transcript" {
        GREETING_SNAPSHOTS
            .lock()
            .unwrap()
            .push((name.to_owned(), contents.to_owned()));
    }
}

#[test]
fn a_greeting_reads_well_in_the_transcript_snapshot() {
    // The ideal agent greets with the keywords; the replay agent does not greet at all.
    let greeted = r#"{"test_id": "greeted", "persona": "P", "greeting": ["welcome", ["how can i help", "what can i do"]],
      "turns": [{"step_order": 1, "user_input": "Hi, a table for two", "expected_agent_response_keywords": ["booked"]}]}"#;
    let silent = r#"{"test_id": "silent", "persona": "P", "greeting": ["welcome"],
      "agent": {"replay": ["Booked."]},
      "turns": [{"step_order": 1, "user_input": "Hi, a table for two", "expected_agent_response_keywords": ["booked"]}]}"#;
    let (_dir, root) = project(&[("greeted.json", greeted), ("silent.json", silent)]);
    let mut messages = Vec::new();
    for file in ["greeted.json", "silent.json"] {
        let path = Path::new(root).join("cases").join(file);
        let result = check_case_file(
            &config(root),
            &path,
            BuiltinAgent::for_case,
            RunOptions::default,
            record_greeting,
        );
        messages.push(match result {
            Ok(()) => "ok".to_owned(),
            Err(err) => err.to_string().replace(root, "[ROOT]"),
        });
    }
    let transcripts = GREETING_SNAPSHOTS.lock().unwrap();
    let text: Vec<&str> = transcripts.iter().map(|(_, t)| t.as_str()).collect();
    insta::assert_snapshot!(
        "greeting_transcripts",
        format!(
            "{}\n---\n{}",
            text.join("\n---\n"),
            messages.join("\n---\n")
        )
    );
}
